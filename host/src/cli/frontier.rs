//! `host frontier`: the accuracy you get for each flash budget (see [`crate::frontier`]).

use std::path::PathBuf;

use clap::Args;

use crate::data::mnist;
use crate::frontier::{self, Frontier};
use crate::train::presets::Preset;

#[derive(Args, Debug)]
pub struct FrontierArgs {
    /// Folder for the runs (one per preset) and frontier.{json,md,png}.
    #[arg(long, default_value_os_t = frontier::default_out())]
    pub out: PathBuf,
    /// Presets to run, comma-separated [default: h16,h32,h64,h128,h256,best].
    #[arg(long, value_enum, value_delimiter = ',')]
    pub presets: Vec<Preset>,
    /// Train again even where <out>/<preset> holds a run with the same settings.
    #[arg(long)]
    pub retrain: bool,
    /// Test images the firmware classifies in QEMU (the first N of the test set).
    #[arg(long, default_value_t = 10_000, value_parser = super::limits::test_images)]
    pub images: usize,
    /// Train every preset for this many epochs instead of its own (a quick look: the figures
    /// are then not the frontier's).
    #[arg(long, value_parser = super::limits::epochs)]
    pub epochs: Option<usize>,
    /// Folder with the four MNIST IDX files [default: data/mnist of this repository].
    #[arg(long, default_value_os_t = mnist::default_data_dir(), hide_default_value = true)]
    pub data: PathBuf,
    /// Print the rows as one JSON array as the last line.
    #[arg(long)]
    pub json: bool,
}

/// `host frontier`.
pub fn run(a: FrontierArgs) -> anyhow::Result<()> {
    let presets = if a.presets.is_empty() {
        frontier::PRESETS.to_vec()
    } else {
        a.presets
    };
    let rows = frontier::run(&Frontier {
        presets: &presets,
        out: &a.out,
        data: &a.data,
        retrain: a.retrain,
        images: a.images,
        epochs: a.epochs,
    })?;
    print!("{}", frontier::table::markdown(&rows));
    println!(
        "wrote {} (frontier.json, frontier.md, frontier.png; a run folder per preset)",
        crate::paths::shown(&a.out).display()
    );
    if a.json {
        println!("{}", serde_json::to_string(&rows)?);
    }
    Ok(())
}
