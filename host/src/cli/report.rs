//! `host report`: draw the pictures of a run folder again.

use std::path::PathBuf;

use clap::Args;

use crate::report::pictures;

#[derive(Args, Debug)]
pub struct ReportArgs {
    /// A run folder written by `host train` (holds model.ckpt and metrics.json).
    pub run_dir: PathBuf,
    /// MNIST folder to use instead of the one named in metrics.json.
    #[arg(long)]
    pub data: Option<PathBuf>,
}

/// `host report`.
pub fn run(a: ReportArgs) -> anyhow::Result<()> {
    let files = pictures::write_run_pictures(&a.run_dir, a.data.as_deref())?;
    for f in files {
        println!("wrote {}", f.display());
    }
    Ok(())
}
