//! `host tune`: train every setting of a search space in parallel (rayon, `--jobs` runs at a
//! time), print a table sorted by validation accuracy, write it as CSV and JSON, and keep the
//! best run (highest validation accuracy; ties go to the earlier run, as the homework's `>`)
//! as a run folder: float checkpoint, metrics.json, int8 model file and pictures.
//!
//! Threads: each run trains on one rayon worker. nalgebra's products go to `matrixmultiply`,
//! whose `threading` feature starts its own pool sized by `MATMUL_NUM_THREADS` (default: the
//! number of physical cores), read once at the first product. With several runs in flight that
//! would put jobs x cores threads on the cores, so the CLI sets `MATMUL_NUM_THREADS=1` before
//! any product when `--jobs` > 1 (unless the user set it). The accuracy evaluations inside a
//! run use rayon and so stay within the tune pool.

pub mod search_space;

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Instant;

use anyhow::{bail, ensure, Context};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use rayon::prelude::*;
use serde::Serialize;
use serde_json::json;

use crate::data::mnist::{Dataset, RawMnist};
use crate::report::run_folder::RunFolder;
use crate::train::describe::fmt_g;
use crate::train::presets::RunSettings;
use crate::train::run::{train_run, Trained};
use crate::train::trainer::{Observer, TrainStats};
use search_space::Space;

/// `--jobs`, or one per core.
pub fn resolve_jobs(jobs: Option<usize>) -> anyhow::Result<usize> {
    match jobs {
        Some(0) => bail!("--jobs must be at least 1"),
        Some(n) => Ok(n),
        None => Ok(std::thread::available_parallelism().map_or(1, |n| n.get())),
    }
}

/// With several runs at once, give each run's matrix products one thread (see the module
/// docs). Must run before the first matrix product of the process: the CLI calls it first thing.
pub fn limit_matmul_threads(jobs: usize) {
    if jobs > 1 && std::env::var_os("MATMUL_NUM_THREADS").is_none() {
        // Called from the main thread before any other thread of ours exists.
        std::env::set_var("MATMUL_NUM_THREADS", "1");
    }
}

/// How to run a search.
#[derive(Clone, Debug)]
pub struct TuneOptions {
    pub jobs: usize,
    pub out_dir: PathBuf,
    /// Draw the best run's pictures.
    pub pictures: bool,
    /// Export the best run as an int8 model file and measure it (a few seconds).
    pub int8: bool,
    /// No progress bars and no per-run lines (tests).
    pub quiet: bool,
    /// The MNIST folder, recorded in the best run's metrics.json.
    pub data_dir: PathBuf,
}

/// One row of the results table.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct RunResult {
    /// 1-based position in the space's run list (grid order or draw order).
    pub index: usize,
    pub hidden: usize,
    pub learning_rate: f64,
    pub reg: f64,
    pub lr_decay: f64,
    pub momentum: f64,
    pub batch: usize,
    pub iters: usize,
    pub epochs: f64,
    pub seed: u32,
    pub init_std: f64,
    /// Empty when the run failed (see `error`).
    pub val_acc: Option<f64>,
    pub test_acc: Option<f64>,
    /// Accuracy on the last epoch-start minibatch (the homework's "train" accuracy).
    pub train_batch_acc: Option<f64>,
    pub final_loss: Option<f64>,
    pub seconds: f64,
    pub error: Option<String>,
}

/// The best run, saved as a run folder.
#[derive(Debug, Serialize)]
pub struct BestRun {
    pub result: RunResult,
    pub dir: PathBuf,
    pub files: Vec<PathBuf>,
    /// Test accuracy of the int8 model file (shared integer kernel).
    pub int8_test_acc: Option<f64>,
    /// Why there is no int8 model, if there is none.
    pub int8_error: Option<String>,
    #[serde(skip)]
    pub stats: TrainStats,
}

#[derive(Debug)]
pub struct TuneOutcome {
    /// Sorted by validation accuracy, best first; failed runs last.
    pub results: Vec<RunResult>,
    pub best: Option<BestRun>,
    pub wall_seconds: f64,
    pub jobs: usize,
    /// results.csv, results.json.
    pub files: Vec<PathBuf>,
}

/// Progress of one run: its own line in the MultiProgress.
struct BarObserver {
    bar: ProgressBar,
}

impl Observer for BarObserver {
    fn iteration(&mut self, it: usize, loss: f64) {
        if it.is_multiple_of(20) {
            self.bar.set_message(format!("loss {loss:.4}"));
        }
        self.bar.inc(1);
    }
    fn epoch(&mut self, _epoch: usize, _train_acc: f64, val_acc: f64, _lr: f64) {
        self.bar.set_message(format!("val {val_acc:.4}"));
    }
}

/// Short description of a setting for progress lines.
pub fn describe(s: &RunSettings) -> String {
    let length = match s.epochs {
        Some(e) => format!("{e} ep"),
        None => format!("{} it", s.train.num_iters),
    };
    format!(
        "h{:<4} lr {:<6} reg {:<6} decay {} mom {} batch {} {} seed {}",
        s.hidden,
        fmt_g(s.train.learning_rate),
        fmt_g(s.train.reg),
        s.train.learning_rate_decay,
        s.train.momentum,
        s.train.batch_size,
        length,
        s.seed
    )
}

struct Best {
    val: f64,
    index: usize,
    trained: Trained,
    settings: RunSettings,
}

/// Run every setting of `space` on the MNIST data (`ds` preprocessed from `raw`), save the
/// best run, write the tables.
pub fn tune(
    space: &Space,
    raw: &RawMnist,
    ds: &Dataset<f32>,
    opts: &TuneOptions,
) -> anyhow::Result<TuneOutcome> {
    let runs = space.runs()?;
    ensure!(!runs.is_empty(), "the search space is empty");
    ensure!(opts.jobs > 0, "jobs must be at least 1");
    std::fs::create_dir_all(&opts.out_dir)
        .with_context(|| format!("creating {}", opts.out_dir.display()))?;
    let start = Instant::now();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(opts.jobs)
        .build()
        .context("starting the tune thread pool")?;
    let bars = Bars::new(opts.quiet, runs.len());
    let best: Mutex<Option<Best>> = Mutex::new(None);
    let mut results: Vec<RunResult> = pool.install(|| {
        runs.par_iter()
            .enumerate()
            .with_max_len(1) // one run per task: runs differ a lot in cost
            .map(|(i, s)| run_one(i, s, ds, &bars, &best))
            .collect()
    });
    let wall_seconds = start.elapsed().as_secs_f64();
    sort_results(&mut results);

    let best = match best.into_inner().unwrap_or_else(|p| p.into_inner()) {
        None => None,
        Some(b) => {
            let row = results
                .iter()
                .find(|r| r.index == b.index + 1)
                .cloned()
                .expect("the best run has a row");
            Some(save_best(b, row, raw, opts)?)
        }
    };
    let files = write_tables(space, &results, best.as_ref(), wall_seconds, opts)?;
    Ok(TuneOutcome {
        results,
        best,
        wall_seconds,
        jobs: opts.jobs,
        files,
    })
}

/// The progress bars of the runs in flight, and their result lines.
struct Bars {
    mp: MultiProgress,
    style: ProgressStyle,
    quiet: bool,
    runs: usize,
}

impl Bars {
    fn new(quiet: bool, runs: usize) -> Self {
        let mp = if quiet {
            MultiProgress::with_draw_target(ProgressDrawTarget::hidden())
        } else {
            MultiProgress::new()
        };
        let style =
            ProgressStyle::with_template("{prefix} {bar:24.cyan/blue} {pos:>5}/{len} {msg}")
                .expect("static template");
        Self {
            mp,
            style,
            quiet,
            runs,
        }
    }

    fn say(&self, line: String) {
        if self.quiet {
            return;
        }
        if self.mp.is_hidden() {
            println!("{line}");
        } else {
            let _ = self.mp.println(line);
        }
    }
}

/// Train run `i` (0-based) with settings `s`, keep it in `best` if it is the best so far.
fn run_one(
    i: usize,
    s: &RunSettings,
    ds: &Dataset<f32>,
    bars: &Bars,
    best: &Mutex<Option<Best>>,
) -> RunResult {
    let n = bars.runs;
    let iters = s.iterations(ds.train.len());
    let per_epoch = s.train.iterations_per_epoch(ds.train.len());
    let bar = bars.mp.add(ProgressBar::new(iters as u64));
    bar.set_style(bars.style.clone());
    bar.set_prefix(format!("[{:>3}/{n}] {}", i + 1, describe(s)));
    let mut obs = BarObserver { bar: bar.clone() };
    let t0 = Instant::now();
    let outcome = train_run(s, ds, &mut obs);
    bar.finish_and_clear();
    bars.mp.remove(&bar);
    let mut row = RunResult {
        index: i + 1,
        hidden: s.hidden,
        learning_rate: s.train.learning_rate,
        reg: s.train.reg,
        lr_decay: s.train.learning_rate_decay,
        momentum: s.train.momentum,
        batch: s.train.batch_size,
        iters,
        epochs: iters as f64 / per_epoch as f64,
        seed: s.seed,
        init_std: s.init_std,
        val_acc: None,
        test_acc: None,
        train_batch_acc: None,
        final_loss: None,
        seconds: t0.elapsed().as_secs_f64(),
        error: None,
    };
    match outcome {
        Ok(t) => {
            row.val_acc = Some(t.val_acc);
            row.test_acc = Some(t.test_acc);
            row.train_batch_acc = t.stats.train_acc_history.last().copied();
            row.final_loss = t.stats.loss_history.last().copied();
            row.seconds = t.seconds;
            bars.say(format!(
                "[{:>3}/{n}] {}: val {:.4}  ({:.1} s)",
                i + 1,
                describe(s),
                t.val_acc,
                t.seconds
            ));
            keep_if_best(best, i, s, t);
        }
        Err(e) => {
            bars.say(format!("[{:>3}/{n}] {}: FAILED: {e:#}", i + 1, describe(s)));
            row.error = Some(format!("{e:#}"));
        }
    }
    row
}

/// Highest validation accuracy wins; ties go to the earlier run, as the homework's `>`.
fn keep_if_best(best: &Mutex<Option<Best>>, i: usize, s: &RunSettings, t: Trained) {
    let mut best = best.lock().unwrap_or_else(|p| p.into_inner());
    let better = match &*best {
        None => true,
        Some(b) => t.val_acc > b.val || (t.val_acc == b.val && i < b.index),
    };
    if better {
        *best = Some(Best {
            val: t.val_acc,
            index: i,
            trained: t,
            settings: s.clone(),
        });
    }
}

/// results.csv and results.json in the output folder; returns their paths.
fn write_tables(
    space: &Space,
    results: &[RunResult],
    best: Option<&BestRun>,
    wall_seconds: f64,
    opts: &TuneOptions,
) -> anyhow::Result<Vec<PathBuf>> {
    let csv_path = opts.out_dir.join("results.csv");
    write_csv(&csv_path, results)?;
    let json_path = opts.out_dir.join("results.json");
    let doc = json!({
        "space": space,
        "runs_total": results.len(),
        "jobs": opts.jobs,
        "wall_seconds": wall_seconds,
        "data_dir": opts.data_dir,
        "best": best,
        "runs": results,
    });
    std::fs::write(&json_path, serde_json::to_string_pretty(&doc)?)
        .with_context(|| format!("writing {}", json_path.display()))?;
    Ok(vec![csv_path, json_path])
}

/// Best validation accuracy first; equal ones in run order; failed runs last.
pub fn sort_results(results: &mut [RunResult]) {
    results.sort_by(|a, b| match (a.val_acc, b.val_acc) {
        (Some(x), Some(y)) => y.total_cmp(&x).then(a.index.cmp(&b.index)),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => a.index.cmp(&b.index),
    });
}

fn write_csv(path: &Path, results: &[RunResult]) -> anyhow::Result<()> {
    let mut w =
        csv::Writer::from_path(path).with_context(|| format!("writing {}", path.display()))?;
    for r in results {
        w.serialize(r)?;
    }
    w.flush()
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

/// Save the best run as a run folder `<out>/best` that `host report` understands.
fn save_best(
    b: Best,
    row: RunResult,
    raw: &RawMnist,
    opts: &TuneOptions,
) -> anyhow::Result<BestRun> {
    let folder = RunFolder {
        dir: opts.out_dir.join("best"),
        data_dir: &opts.data_dir,
        int8: opts.int8,
        pictures: opts.pictures,
        load_seconds: 0.0,
    };
    let written = folder.write(&b.settings, &b.trained, raw)?;
    Ok(BestRun {
        result: row,
        dir: folder.dir,
        files: written.files,
        int8_test_acc: written.report.int8_test_acc,
        int8_error: written.int8_error.map(|e| format!("{e:#}")),
        stats: b.trained.stats,
    })
}

/// The results as a text table, best first.
pub fn format_table(results: &[RunResult]) -> String {
    let mut s = format!(
        "{:>4} {:>4} {:>6} {:>9} {:>8} {:>6} {:>5} {:>5} {:>6} {:>6} {:>5} {:>8} {:>7}\n",
        "rank",
        "run",
        "hidden",
        "lr",
        "reg",
        "decay",
        "mom",
        "batch",
        "iters",
        "epochs",
        "seed",
        "val_acc",
        "seconds"
    );
    for (rank, r) in results.iter().enumerate() {
        let val = match (r.val_acc, &r.error) {
            (Some(v), _) => format!("{v:.4}"),
            (None, Some(_)) => "failed".into(),
            (None, None) => "-".into(),
        };
        s += &format!(
            "{:>4} {:>4} {:>6} {:>9} {:>8} {:>6} {:>5} {:>5} {:>6} {:>6.2} {:>5} {:>8} {:>7.1}\n",
            rank + 1,
            r.index,
            r.hidden,
            fmt_g(r.learning_rate),
            fmt_g(r.reg),
            r.lr_decay,
            r.momentum,
            r.batch,
            r.iters,
            r.epochs,
            r.seed,
            val,
            r.seconds
        );
    }
    s
}
