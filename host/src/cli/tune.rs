//! `host tune`: the search space from flags or a TOML file, the search, and its printout.

use std::path::PathBuf;

use anyhow::{bail, ensure};
use clap::{Args, ValueEnum};
use serde_json::json;

use crate::data::mnist::{self, Dataset};
use crate::homework;
use crate::train::presets::Preset;
use crate::train::trainer::Extras;
use crate::tune::search_space::{self, Length, Mode, Space};
use crate::tune::{self, BestRun, TuneOptions};

/// Named search spaces for `--grid`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum GridName {
    /// The homework's grid as printed: hidden 50/100/128/200 x lr 1e-3/1e-2/5e-4 x reg 1e-3/5e-4/5e-6,
    /// 3,000 iterations, batch 200, decay 0.95 (36 runs, about 7 minutes on 2 cores). Its rates
    /// were chosen for another input scaling and are ~30x too small for our [0, 1] pixels.
    Homework,
    /// The homework's grid with every learning rate x30 (3e-2/3e-1/1.5e-2), right for our scaling
    /// (36 runs, about 7 minutes on 2 cores).
    Scaled,
    /// Two short runs (hidden 50, 300 iterations), a few seconds: try the machinery first.
    Quick,
}

const TUNE_HELP: &str = "\
Examples:
  host tune --homework-grid --jobs 2      the homework's 36-run grid as printed
  host tune --grid scaled                 the same grid with learning rates x30 (right for our inputs)
  host tune --hidden 100,200 --lr 0.1,0.3 --epochs 5
  host tune --random 20 --lr 0.01..1 --reg 1e-6..1e-3 --hidden 128,256 --iters 3000
  host tune --config space.toml
  host tune --preset best --hidden 256,512 --epochs 20,40

A TOML search space (every key optional; a scalar is a one-element list; flags override keys):
  preset = \"default\"       # the base settings, as --preset
  mode = \"random\"          # or \"grid\" (the default)
  samples = 20             # random mode: settings to draw
  search_seed = 0          # random mode: seeds the sampler
  hidden = [100, 200]
  lr = { min = 0.01, max = 1.0 }   # a range (random mode): log-uniform for lr and reg
  reg = [1e-4, 1e-3]
  lr_decay = 0.95          # ranges: uniform for lr_decay and momentum
  momentum = 0.9
  batch = 200
  iters = 3000             # or epochs = [5, 10], not both
  seed = [0, 1]
  init_std = 1e-4

Writes results.csv and results.json (every run, best validation accuracy first) and best/ (model.ckpt,
metrics.json, model.postcard, pictures) into the output folder.";

#[derive(Args, Debug, Default)]
#[command(after_help = TUNE_HELP)]
pub struct TuneArgs {
    /// TOML file with the search space (format below).
    #[arg(long, conflicts_with = "grid")]
    pub config: Option<PathBuf>,
    /// Start from a named search space; the flags below override its dimensions.
    #[arg(long, value_enum)]
    pub grid: Option<GridName>,
    /// Settings to start from (every dimension a single value; optimiser, schedule, dropout and
    /// augmentation always come from here). Default: the default preset.
    #[arg(long, value_enum, conflicts_with_all = ["grid", "homework_grid"])]
    pub preset: Option<Preset>,
    /// Same as `--grid homework`.
    #[arg(long, conflicts_with_all = ["grid", "config"])]
    pub homework_grid: bool,
    /// Random search: draw this many settings instead of running every combination.
    #[arg(long, value_parser = super::limits::samples)]
    pub random: Option<usize>,
    /// Seeds the random search's sampler.
    #[arg(long)]
    pub search_seed: Option<u32>,
    /// Hidden sizes, comma-separated (each one of 16, 32, 50, 64, 100, 128, 200, 256, 512, 1024).
    #[arg(long, value_delimiter = ',', value_parser = super::limits::hidden)]
    pub hidden: Vec<usize>,
    /// Learning rates: a list `0.1,0.3` or, with --random, a range `0.01..1` (drawn log-uniformly).
    #[arg(long, allow_hyphen_values = true)]
    pub lr: Option<String>,
    /// L2 strengths: a list, or with --random a range (log-uniform).
    #[arg(long, allow_hyphen_values = true)]
    pub reg: Option<String>,
    /// Learning-rate decays per epoch: a list, or with --random a range (uniform).
    #[arg(long)]
    pub lr_decay: Option<String>,
    /// Momentum values: a list, or with --random a range (uniform).
    #[arg(long)]
    pub momentum: Option<String>,
    /// Batch sizes, comma-separated.
    #[arg(long, value_delimiter = ',', value_parser = super::limits::batch)]
    pub batch: Vec<usize>,
    /// Run lengths in iterations, comma-separated.
    #[arg(long, value_delimiter = ',', conflicts_with = "epochs", value_parser = super::limits::iters)]
    pub iters: Vec<usize>,
    /// Run lengths in epochs, comma-separated.
    #[arg(long, value_delimiter = ',', value_parser = super::limits::epochs)]
    pub epochs: Vec<usize>,
    /// Training seeds (weight init and batch sampling), comma-separated.
    #[arg(long, value_delimiter = ',')]
    pub seed: Vec<u32>,
    /// `--jobs`, `--out` (default runs/tune-<date>-<time>), `--data`.
    #[command(flatten)]
    pub runs: super::many_runs::ManyRunsArgs,
    /// Skip the best run's pictures.
    #[arg(long)]
    pub no_pictures: bool,
    /// Print one JSON object (the best run and the output files) as the last line.
    #[arg(long)]
    pub json: bool,
}

/// Build the search space from the CLI arguments: a named grid or TOML file (or the default
/// preset as a single point), then each flag replaces its dimension.
pub fn space_from_args(a: &TuneArgs) -> anyhow::Result<Space> {
    let base = Space::single(&a.preset.unwrap_or_default().settings());
    let mut s = match (&a.config, a.grid, a.homework_grid) {
        (Some(path), _, _) => search_space::from_toml_file(path, base)?,
        (None, _, true) | (None, Some(GridName::Homework), _) => Space::homework(),
        (None, Some(GridName::Scaled), _) => Space::scaled(),
        (None, Some(GridName::Quick), _) => Space::quick(),
        (None, None, false) => base,
    };
    if !a.hidden.is_empty() {
        s.hidden = a.hidden.clone();
    }
    for (name, flag, log, dim) in [
        ("lr", &a.lr, true, &mut s.lr),
        ("reg", &a.reg, true, &mut s.reg),
        ("lr-decay", &a.lr_decay, false, &mut s.lr_decay),
        ("momentum", &a.momentum, false, &mut s.momentum),
    ] {
        if let Some(text) = flag {
            *dim = search_space::parse_real_dim(name, text, log)?;
        }
    }
    if !a.batch.is_empty() {
        s.batch = a.batch.clone();
    }
    if !a.iters.is_empty() {
        s.length = Length::Iters(a.iters.clone());
    }
    if !a.epochs.is_empty() {
        s.length = Length::Epochs(a.epochs.clone());
    }
    if !a.seed.is_empty() {
        s.seed = a.seed.clone();
    }
    match (a.random, a.search_seed, s.mode) {
        (
            Some(samples),
            seed,
            Mode::Random {
                seed: file_seed, ..
            },
        ) => {
            s.mode = Mode::Random {
                samples,
                seed: seed.unwrap_or(file_seed),
            }
        }
        (Some(samples), seed, Mode::Grid) => {
            s.mode = Mode::Random {
                samples,
                seed: seed.unwrap_or(0),
            }
        }
        (None, Some(seed), Mode::Random { samples, .. }) => s.mode = Mode::Random { samples, seed },
        (None, Some(_), Mode::Grid) => bail!("--search-seed needs --random N"),
        (None, None, _) => {}
    }
    s.validate()?;
    Ok(s)
}

/// Print the best run's summary lines.
pub fn print_best(best: &BestRun) {
    let r = &best.result;
    println!(
        "best: run {} (hidden {}, lr {:.2e}, reg {:.1e}, decay {}, {} iterations): val {:.4}, test {:.4}",
        r.index,
        r.hidden,
        r.learning_rate,
        r.reg,
        r.lr_decay,
        r.iters,
        r.val_acc.unwrap_or(f64::NAN),
        r.test_acc.unwrap_or(f64::NAN)
    );
    match (best.int8_test_acc, &best.int8_error) {
        (Some(a), _) => println!("best int8 model: test {a:.4}"),
        (None, Some(e)) => println!("best int8 model: not written: {e}"),
        (None, None) => {}
    }
    println!("best run folder: {}", best.dir.display());
}

/// `host tune`.
pub fn run(a: TuneArgs) -> anyhow::Result<()> {
    let jobs = a.runs.jobs()?;
    search(a, jobs)
}

fn search(a: TuneArgs, jobs: usize) -> anyhow::Result<()> {
    let space = space_from_args(&a)?;
    let out_dir = a.runs.out_dir("tune");
    println!(
        "{} runs ({}), {jobs} at a time, data {}",
        space.len(),
        match space.mode {
            Mode::Grid => "grid".to_string(),
            Mode::Random { seed, .. } => format!("random search, sampler seed {seed}"),
        },
        a.runs.data.display()
    );
    if space.extras != Extras::default() {
        println!("every run: {:?}", space.extras);
    }
    let raw = mnist::load_raw(&a.runs.data)?;
    let opts = TuneOptions {
        jobs,
        out_dir,
        pictures: !a.no_pictures,
        int8: true,
        quiet: false,
        data_dir: a.runs.data.clone(),
    };
    let out = tune::tune(&space, &raw, &Dataset::from_raw(&raw), &opts)?;
    println!();
    print!("{}", tune::format_table(&out.results));
    println!(
        "{} runs in {:.1} s wall time with {} jobs",
        out.results.len(),
        out.wall_seconds,
        out.jobs
    );
    if let Some(best) = &out.best {
        print_best(best);
        let (hw_val, hw_test) = (homework::HOMEWORK_BEST_VAL, homework::HOMEWORK_TEST);
        if space == Space::homework() {
            println!(
                "homework (its own input scaling): best val {hw_val}, test {hw_test}; its learning rates are \
                 ~30x too small for our [0, 1] inputs (try --grid scaled)"
            );
        } else if space == Space::scaled() {
            println!(
                "homework (same grid, its rates /30 on its own input scaling): best val {hw_val}, test {hw_test}"
            );
        }
    } else {
        println!("every run failed; no best model");
    }
    for f in out
        .files
        .iter()
        .chain(out.best.iter().flat_map(|b| b.files.iter()))
    {
        println!("wrote {}", f.display());
    }
    if a.json {
        let v = json!({
            "runs": out.results.len(),
            "wall_seconds": out.wall_seconds,
            "jobs": out.jobs,
            "best": out.best,
            "out_dir": opts.out_dir,
        });
        println!("{v}");
    }
    ensure!(out.best.is_some(), "every run failed");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The TOML example in `host tune --help` parses and expands as documented.
    #[test]
    fn help_toml_example_is_valid() {
        let toml: String = TUNE_HELP
            .lines()
            .skip_while(|l| !l.starts_with("A TOML search space"))
            .skip(1)
            .take_while(|l| !l.is_empty())
            .map(|l| format!("{}\n", l.trim()))
            .collect();
        assert!(toml.contains("init_std"), "{toml}");
        let s = search_space::from_toml(&toml, Space::single(&Preset::Default.settings()))
            .unwrap_or_else(|e| panic!("{e:#}\n{toml}"));
        assert_eq!(
            s.mode,
            Mode::Random {
                samples: 20,
                seed: 0
            }
        );
        assert_eq!(s.runs().unwrap().len(), 20);
    }
}
