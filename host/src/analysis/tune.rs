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

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Instant;

use anyhow::{bail, ensure, Context};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use rayon::prelude::*;
use serde::Serialize;
use serde_json::json;

use super::pictures::{self, fmt_g, RunView};
use super::space::{self, Length, Mode, Space};
use super::{stamped_dir, GridName, TuneArgs};
use crate::mnist::{self, Dataset, RawMnist};
use crate::presets::RunSettings;
use crate::train::{Observer, TrainStats};
use crate::train_cmd::{train_on, RunReport, Trained};

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

/// Run every setting of `space` on the MNIST files, save the best run, write the tables.
pub fn tune(space: &Space, raw: &RawMnist, opts: &TuneOptions) -> anyhow::Result<TuneOutcome> {
    tune_on(space, raw, &Dataset::from_raw(raw), opts)
}

/// As [`tune`] with the data set already preprocessed (`ds` must come from `raw`).
pub fn tune_on(
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
    let mp = if opts.quiet {
        MultiProgress::with_draw_target(ProgressDrawTarget::hidden())
    } else {
        MultiProgress::new()
    };
    let style = ProgressStyle::with_template("{prefix} {bar:24.cyan/blue} {pos:>5}/{len} {msg}")
        .expect("static template");
    let best: Mutex<Option<Best>> = Mutex::new(None);
    let n = runs.len();
    let say = |line: String| {
        if opts.quiet {
            return;
        }
        if mp.is_hidden() {
            println!("{line}");
        } else {
            let _ = mp.println(line);
        }
    };

    let mut results: Vec<RunResult> = pool.install(|| {
        runs.par_iter()
            .enumerate()
            .with_max_len(1) // one run per task: runs differ a lot in cost
            .map(|(i, s)| {
                let iters = s.iterations(ds.train.len());
                let per_epoch = s.train.iterations_per_epoch(ds.train.len());
                let bar = mp.add(ProgressBar::new(iters as u64));
                bar.set_style(style.clone());
                bar.set_prefix(format!("[{:>3}/{n}] {}", i + 1, describe(s)));
                let mut obs = BarObserver { bar: bar.clone() };
                let t0 = Instant::now();
                let outcome = train_on(s, ds, &mut obs);
                bar.finish_and_clear();
                mp.remove(&bar);
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
                        say(format!(
                            "[{:>3}/{n}] {}: val {:.4}  ({:.1} s)",
                            i + 1,
                            describe(s),
                            t.val_acc,
                            t.seconds
                        ));
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
                    Err(e) => {
                        say(format!("[{:>3}/{n}] {}: FAILED: {e:#}", i + 1, describe(s)));
                        row.error = Some(format!("{e:#}"));
                    }
                }
                row
            })
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
            Some(save_best(b, row, raw, ds, opts)?)
        }
    };

    let csv_path = opts.out_dir.join("results.csv");
    write_csv(&csv_path, &results)?;
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
    Ok(TuneOutcome {
        results,
        best,
        wall_seconds,
        jobs: opts.jobs,
        files: vec![csv_path, json_path],
    })
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
    ds: &Dataset<f32>,
    opts: &TuneOptions,
) -> anyhow::Result<BestRun> {
    let dir = opts.out_dir.join("best");
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let t = b.trained;
    let ckpt_path = dir.join("model.ckpt");
    t.checkpoint.save(&ckpt_path)?;
    // The int8 export first: metrics.json records its accuracy and id, as `host train` does.
    let int8 = if opts.int8 {
        Some(int8_export(&t, raw, &dir.join("model.postcard")))
    } else {
        None
    };
    let per_epoch = b.settings.train.iterations_per_epoch(ds.train.len());
    let int8_figures = match &int8 {
        Some(Ok(e)) => Some((e.accuracy, e.model_id)),
        _ => None,
    };
    let report = RunReport::new(
        &b.settings,
        &t,
        per_epoch,
        int8_figures,
        &opts.data_dir,
        &dir,
    );
    let mut files = vec![ckpt_path, report.write()?];
    let (int8_test_acc, int8_error) = match int8 {
        None => (None, None),
        Some(Ok(e)) => {
            files.push(e.path);
            (Some(e.accuracy), None)
        }
        Some(Err(e)) => (None, Some(format!("{e:#}"))),
    };
    if opts.pictures {
        let view = RunView {
            subtitle: pictures::settings_line(b.settings.hidden, &b.settings.train),
            stats: &t.stats,
            checkpoint: &t.checkpoint,
            test_images: &raw.test_images,
            test_labels: &raw.test_labels,
        };
        files.extend(pictures::write_pictures(&dir, &view)?);
    }
    Ok(BestRun {
        result: row,
        dir,
        files,
        int8_test_acc,
        int8_error,
        stats: t.stats,
    })
}

/// A written int8 model file and how it did on the test set.
pub struct Int8Export {
    pub path: PathBuf,
    pub accuracy: f64,
    pub model_id: u64,
}

/// Quantise with the standard calibration images, write the model file, and measure its test
/// accuracy with the shared integer kernel.
pub fn int8_export(t: &Trained, raw: &RawMnist, path: &Path) -> anyhow::Result<Int8Export> {
    let calib = crate::quantize::calibration_images(&raw.train_images);
    let bytes = crate::quantize::quantize(&t.checkpoint, calib)?;
    let model = model_format::Model::from_bytes(&bytes)
        .map_err(|e| anyhow::anyhow!("the exported model does not decode: {e}"))?;
    let eval = crate::quantize::evaluate_int8(&model, &raw.test_images, &raw.test_labels);
    std::fs::write(path, &bytes).with_context(|| format!("writing {}", path.display()))?;
    Ok(Int8Export {
        path: path.to_owned(),
        accuracy: eval.accuracy,
        model_id: eval.model_id,
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

/// Build the search space from the CLI arguments: a named grid or TOML file (or the default
/// preset as a single point), then each flag replaces its dimension.
pub fn space_from_args(a: &TuneArgs) -> anyhow::Result<Space> {
    let base = Space::single(&a.preset.unwrap_or_default().settings());
    let mut s = match (&a.config, a.grid, a.homework_grid) {
        (Some(path), _, _) => space::from_toml_file(path, base)?,
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
            *dim = space::parse_real_dim(name, text, log)?;
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

pub fn cli(a: TuneArgs, jobs: usize) -> anyhow::Result<()> {
    let space = space_from_args(&a)?;
    let out_dir = a.out.clone().unwrap_or_else(|| stamped_dir("tune"));
    println!(
        "{} runs ({}), {jobs} at a time, data {}",
        space.len(),
        match space.mode {
            Mode::Grid => "grid".to_string(),
            Mode::Random { seed, .. } => format!("random search, sampler seed {seed}"),
        },
        a.data.display()
    );
    if space.extras != crate::train::Extras::default() {
        println!("every run: {:?}", space.extras);
    }
    let raw = mnist::load_raw(&a.data)?;
    let opts = TuneOptions {
        jobs,
        out_dir,
        pictures: !a.no_pictures,
        int8: true,
        quiet: false,
        data_dir: a.data.clone(),
    };
    let out = tune(&space, &raw, &opts)?;
    println!();
    print!("{}", format_table(&out.results));
    println!(
        "{} runs in {:.1} s wall time with {} jobs",
        out.results.len(),
        out.wall_seconds,
        out.jobs
    );
    if let Some(best) = &out.best {
        print_best(best);
        let (hw_val, hw_test) = (
            super::homework::HOMEWORK_BEST_VAL,
            super::homework::HOMEWORK_TEST,
        );
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
