//! Train with a progress bar (epoch lines above it) and write the run folder: what `host train`
//! and `host frontier` do with a [`RunSettings`].

use std::path::{Path, PathBuf};
use std::time::Instant;

use indicatif::{ProgressBar, ProgressState, ProgressStyle};

use crate::data::mnist::{self, Dataset};
use crate::report::run_folder::{default_run_dir, RunFolder, RunReport};
use crate::train::presets::RunSettings;
use crate::train::run::train_run;
use crate::train::trainer::Observer;

/// Progress bar over iterations; epoch lines printed above it.
struct Progress {
    bar: ProgressBar,
    quiet: bool,
    /// Epochs the run makes (the last one may be partial).
    epochs: usize,
}

impl Progress {
    fn line(&self, line: String) {
        if self.quiet {
            return;
        }
        // A bar on a non-terminal is hidden and would swallow its println.
        if self.bar.is_hidden() {
            println!("{line}");
        } else {
            self.bar.println(line);
        }
    }
}

impl Observer for Progress {
    fn iteration(&mut self, it: usize, loss: f64) {
        if it.is_multiple_of(10) {
            self.bar.set_message(format!("loss {loss:.4}"));
        }
        self.bar.inc(1);
    }
    fn epoch(&mut self, epoch: usize, train_acc: f64, val_acc: f64, learning_rate: f64) {
        // The trainer records at the homework's epoch marks, right after the first step of
        // an epoch: mark k (k >= 1) is the net after epoch k (and one step), mark 0 the
        // untrained net, not worth a line. The last epoch's line comes from the final
        // evaluation (`final_line`), so it and the summary agree.
        if epoch == 0 || epoch >= self.epochs {
            return;
        }
        let n = self.epochs;
        let w = n.to_string().len();
        self.line(format!(
            "epoch {epoch:>w$}/{n}: batch acc {train_acc:.4}  val acc {val_acc:.4}  lr {learning_rate:.3e}"
        ));
    }
}

/// Train with `settings` on the MNIST files in `data_dir` (a progress bar unless `quiet`),
/// write the run folder (default `runs/<date>-<time>-h<hidden>`), and return what was measured.
pub fn train_and_write(
    settings: &RunSettings,
    data_dir: &Path,
    out_dir: Option<PathBuf>,
    quiet: bool,
) -> anyhow::Result<RunReport> {
    let start = Instant::now();
    let raw = mnist::load_raw(data_dir)?;
    let ds: Dataset<f32> = Dataset::from_raw(&raw);
    let load_seconds = start.elapsed().as_secs_f64();
    let iters = settings.iterations(ds.train.len());
    let bar = if quiet {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(iters as u64)
    };
    bar.set_style(
        ProgressStyle::with_template("{bar:40.cyan/blue} {pos}/{len} it  {rate}  eta {eta}  {msg}")
            .expect("static template")
            .with_key("rate", |s: &ProgressState, w: &mut dyn std::fmt::Write| {
                let _ = write!(w, "{:.0} it/s", s.per_sec());
            }),
    );
    let per_epoch = settings.train.iterations_per_epoch(ds.train.len());
    let mut progress = Progress {
        bar,
        quiet,
        epochs: iters.div_ceil(per_epoch),
    };
    let trained = train_run(settings, &ds, &mut progress)?;
    progress.bar.finish_and_clear();
    let n = progress.epochs;
    let done = if iters.is_multiple_of(per_epoch) {
        format!("epoch {n}/{n}")
    } else {
        format!("epoch {n}/{n} ({} of {per_epoch} it)", iters % per_epoch)
    };
    progress.line(format!(
        "{done}: val acc {:.4} (the final model)",
        trained.val_acc
    ));
    let folder = RunFolder {
        dir: out_dir.unwrap_or_else(|| default_run_dir(settings.hidden)),
        data_dir,
        int8: true,
        pictures: true,
        load_seconds,
    };
    let written = folder.write(settings, &trained, &raw)?;
    match written.int8_error {
        Some(e) => Err(e),
        None => Ok(written.report),
    }
}
