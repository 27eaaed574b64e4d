//! CLI subcommands for looking at training (tune, report, homework), flattened into `host`'s command list.
//!
//! The work is done in the modules under `analysis/`: `space` (what to search), `tune` (running
//! it in parallel), `pictures` (PNG charts of a run) and `homework` (the section-by-section replay).

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use crate::mnist;

#[path = "analysis/homework.rs"]
pub mod homework;
#[path = "analysis/pictures.rs"]
pub mod pictures;
#[path = "analysis/space.rs"]
pub mod space;
#[path = "analysis/tune.rs"]
pub mod tune;

pub use pictures::write_run_pictures;

#[derive(clap::Subcommand, Debug)]
pub enum AnalysisCommand {
    /// Grid or random search over hidden size, learning rate, reg, decay, length and batch, in parallel.
    Tune(Box<TuneArgs>),
    /// Write the pictures of a run folder again (loss, accuracy, weights, samples, confusion matrix).
    Report {
        /// A run folder written by `host train` (holds model.ckpt and metrics.json).
        run_dir: PathBuf,
        /// MNIST folder to use instead of the one named in metrics.json.
        #[arg(long)]
        data: Option<PathBuf>,
    },
    /// Replay the homework section by section, our numbers beside its own, with a pass/fail summary.
    Homework(HomeworkArgs),
}

/// Named search spaces for `--grid`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum GridName {
    /// The homework's grid as printed: hidden 50/100/128/200 x lr 1e-3/1e-2/5e-4 x reg 1e-3/5e-4/5e-6,
    /// 3,000 iterations, batch 200, decay 0.95 (36 runs). Its rates were chosen for another input
    /// scaling and are ~30x too small for our [0, 1] pixels.
    Homework,
    /// The homework's grid with every learning rate x30 (3e-2/3e-1/1.5e-2), right for our scaling.
    Scaled,
    /// Two short runs (hidden 50, 300 iterations): a smoke test of the machinery.
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
    pub preset: Option<crate::presets::Preset>,
    /// Same as `--grid homework`.
    #[arg(long, conflicts_with_all = ["grid", "config"])]
    pub homework_grid: bool,
    /// Random search: draw this many settings instead of running every combination.
    #[arg(long)]
    pub random: Option<usize>,
    /// Seeds the random search's sampler.
    #[arg(long)]
    pub search_seed: Option<u32>,
    /// Hidden sizes, comma-separated (each one of 50, 64, 100, 128, 200, 256, 512, 1024).
    #[arg(long, value_delimiter = ',')]
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
    #[arg(long, value_delimiter = ',')]
    pub batch: Vec<usize>,
    /// Run lengths in iterations, comma-separated.
    #[arg(long, value_delimiter = ',', conflicts_with = "epochs")]
    pub iters: Vec<usize>,
    /// Run lengths in epochs, comma-separated.
    #[arg(long, value_delimiter = ',')]
    pub epochs: Vec<usize>,
    /// Training seeds (weight init and batch sampling), comma-separated.
    #[arg(long, value_delimiter = ',')]
    pub seed: Vec<u32>,
    /// Runs at the same time (default: one per core). Each run then does its matrix products on
    /// one thread (MATMUL_NUM_THREADS=1 unless set), so cores are not oversubscribed.
    #[arg(long)]
    pub jobs: Option<usize>,
    /// Output folder (default runs/tune-<date>-<time>).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Folder with the four MNIST IDX files.
    #[arg(long, default_value_os_t = mnist::default_data_dir())]
    pub data: PathBuf,
    /// Skip the best run's pictures.
    #[arg(long)]
    pub no_pictures: bool,
    /// Print one JSON object (the best run and the output files) as the last line.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
#[command(after_help = "\
The full replay trains 2 + 72 nets (sections 7-8, then both 36-run grids): about 15 minutes on
2 cores. --grid homework or --grid scaled halves that; --quick takes well under a minute.
Writes lr_comparison.png, homework.json, run folders of the section 7 and 8 runs (with pictures)
and one tune folder per grid into the output folder. Exits non-zero if a judged check fails.")]
pub struct HomeworkArgs {
    /// Reduced version (same toy checks and section 7/8 runs, a 2-run grid): about half a minute.
    #[arg(long)]
    pub quick: bool,
    /// Which grid to replay for sections 10-11.
    #[arg(long, value_enum, default_value_t = homework::GridChoice::Both)]
    pub grid: homework::GridChoice,
    /// Runs at the same time (default: one per core).
    #[arg(long)]
    pub jobs: Option<usize>,
    /// Output folder for the charts, tables and best model (default runs/homework-<date>-<time>).
    #[arg(long)]
    pub out: Option<PathBuf>,
    #[arg(long, default_value_os_t = mnist::default_data_dir())]
    pub data: PathBuf,
}

pub fn run(cmd: AnalysisCommand) -> anyhow::Result<()> {
    match cmd {
        AnalysisCommand::Report { run_dir, data } => {
            let files = pictures::write_run_pictures_with(&run_dir, data.as_deref())?;
            for f in files {
                println!("wrote {}", f.display());
            }
            Ok(())
        }
        AnalysisCommand::Tune(args) => {
            let jobs = tune::resolve_jobs(args.jobs)?;
            tune::limit_matmul_threads(jobs);
            tune::cli(*args, jobs)
        }
        AnalysisCommand::Homework(args) => {
            let jobs = tune::resolve_jobs(args.jobs)?;
            tune::limit_matmul_threads(jobs);
            homework::cli(args, jobs)
        }
    }
}

/// `runs/<prefix>-<date>-<time>`.
fn stamped_dir(prefix: &str) -> PathBuf {
    let stamp = chrono::Local::now().format("%Y%m%d-%H%M%S");
    PathBuf::from("runs").join(format!("{prefix}-{stamp}"))
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
        let s = space::from_toml(
            &toml,
            space::Space::single(&crate::presets::Preset::Default.settings()),
        )
        .unwrap_or_else(|e| panic!("{e:#}\n{toml}"));
        assert_eq!(
            s.mode,
            space::Mode::Random {
                samples: 20,
                seed: 0
            }
        );
        assert_eq!(s.runs().unwrap().len(), 20);
    }
}
