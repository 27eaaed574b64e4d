//! `host train` (and the bare `host`): load MNIST, train, evaluate, and write
//! the run folder (float checkpoint, int8 model, metrics.json, pictures).

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

use crate::analysis_cli::pictures;
use crate::checkpoint::Checkpoint;
use crate::mnist::{self, Dataset, CLASSES, PIXELS};
use crate::net::TwoLayerNet;
use crate::presets::RunSettings;
use crate::quantize;
use crate::rng::NumpyRng;
use crate::train::{accuracy, train_with, Observer, TrainData, TrainStats};
use crate::with_hidden;

/// What a finished run measured; written as `metrics.json`.
#[derive(Debug, Serialize)]
pub struct RunReport {
    pub hidden: usize,
    pub iters: usize,
    pub epochs: f64,
    pub val_acc: f64,
    pub test_acc: f64,
    /// Test accuracy of the int8 export (`model.postcard`) with the shared kernel,
    /// when the run exported one.
    pub int8_test_acc: Option<f64>,
    /// Its model id (hash of the payload).
    pub model_id: Option<u64>,
    pub final_loss: f64,
    pub load_seconds: f64,
    pub train_seconds: f64,
    pub settings: RunSettings,
    /// The MNIST folder it was trained on.
    pub data_dir: PathBuf,
    pub out_dir: PathBuf,
    pub stats: TrainStats,
}

impl RunReport {
    /// The report of a finished run; `int8` is the export's (test accuracy,
    /// model id) when the run wrote one. `load_seconds` starts at 0.
    pub fn new(
        settings: &RunSettings,
        trained: &Trained,
        per_epoch: usize,
        int8: Option<(f64, u64)>,
        data_dir: &Path,
        out_dir: &Path,
    ) -> Self {
        Self {
            hidden: settings.hidden,
            iters: trained.iters,
            epochs: trained.iters as f64 / per_epoch as f64,
            val_acc: trained.val_acc,
            test_acc: trained.test_acc,
            int8_test_acc: int8.map(|(acc, _)| acc),
            model_id: int8.map(|(_, id)| id),
            final_loss: trained
                .stats
                .loss_history
                .last()
                .copied()
                .unwrap_or(f64::NAN),
            load_seconds: 0.0,
            train_seconds: trained.seconds,
            settings: settings.clone(),
            data_dir: data_dir.to_owned(),
            out_dir: out_dir.to_owned(),
            stats: trained.stats.clone(),
        }
    }

    /// Write `metrics.json` into the run folder; returns its path.
    pub fn write(&self) -> anyhow::Result<PathBuf> {
        let path = self.out_dir.join("metrics.json");
        std::fs::write(&path, serde_json::to_string_pretty(self)?)
            .with_context(|| format!("writing {}", path.display()))?;
        Ok(path)
    }
}

/// Progress bar over iterations; epoch lines printed above it.
struct Progress {
    bar: ProgressBar,
    quiet: bool,
}

impl Observer for Progress {
    fn iteration(&mut self, it: usize, loss: f64) {
        if it.is_multiple_of(10) {
            self.bar.set_message(format!("loss {loss:.4}"));
        }
        self.bar.inc(1);
    }
    fn epoch(&mut self, epoch: usize, train_acc: f64, val_acc: f64, learning_rate: f64) {
        if self.quiet {
            return;
        }
        let line = format!("epoch {epoch:>3}: batch acc {train_acc:.4}  val acc {val_acc:.4}  lr {learning_rate:.3e}");
        // A bar on a non-terminal is hidden and would swallow its println.
        if self.bar.is_hidden() {
            println!("{line}");
        } else {
            self.bar.println(line);
        }
    }
}

fn default_out_dir(hidden: usize) -> PathBuf {
    let stamp = chrono::Local::now().format("%Y%m%d-%H%M%S");
    PathBuf::from("runs").join(format!("{stamp}-h{hidden}"))
}

/// A trained net with what its training measured.
pub struct Trained {
    pub checkpoint: Checkpoint,
    pub stats: TrainStats,
    pub val_acc: f64,
    pub test_acc: f64,
    /// Wall time of the training loop alone.
    pub seconds: f64,
    pub iters: usize,
}

fn train_hidden<const H: usize>(
    settings: &RunSettings,
    ds: &Dataset<f32>,
    observer: &mut dyn Observer,
) -> anyhow::Result<Trained> {
    let mut rng = NumpyRng::new(settings.seed);
    let mut net = TwoLayerNet::<f32, PIXELS, H, CLASSES>::init(settings.init_std, &mut rng);
    let iters = settings.iterations(ds.train.len());
    let cfg = crate::train::TrainConfig {
        num_iters: iters,
        ..settings.train.clone()
    };
    let start = Instant::now();
    let data = TrainData {
        train: &ds.train,
        val: &ds.val,
        mean_image: &ds.mean_image,
        pixels: Some(&ds.train_pixels),
    };
    let stats = train_with(&mut net, data, &cfg, &settings.extras, &mut rng, observer)?;
    let seconds = start.elapsed().as_secs_f64();
    Ok(Trained {
        checkpoint: Checkpoint::from_net(&net, &ds.mean_image),
        stats,
        val_acc: accuracy(&net, &ds.val),
        test_acc: accuracy(&net, &ds.test),
        seconds,
        iters,
    })
}

/// Train a 784-`settings.hidden`-10 net on an already loaded data set and
/// evaluate it on validation and test. Writes nothing.
pub fn train_on(
    settings: &RunSettings,
    ds: &Dataset<f32>,
    observer: &mut dyn Observer,
) -> anyhow::Result<Trained> {
    with_hidden!(settings.hidden, train_hidden(settings, ds, observer))
}

/// Train with `settings` on the MNIST files in `data_dir`, write the run
/// folder, and return what was measured.
pub fn run(
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
    let per_epoch = settings.train.iterations_per_epoch(ds.train.len());

    let bar = if quiet {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(iters as u64)
    };
    bar.set_style(
        ProgressStyle::with_template(
            "{bar:40.cyan/blue} {pos}/{len} it  {per_sec}  eta {eta}  {msg}",
        )
        .expect("static template"),
    );
    let mut progress = Progress { bar, quiet };
    let trained = train_on(settings, &ds, &mut progress)?;
    progress.bar.finish_and_clear();

    let out_dir = out_dir.unwrap_or_else(|| default_out_dir(settings.hidden));
    std::fs::create_dir_all(&out_dir).with_context(|| format!("creating {}", out_dir.display()))?;
    trained.checkpoint.save(&out_dir.join("model.ckpt"))?;
    let model_bytes = quantize::quantize(
        &trained.checkpoint,
        quantize::calibration_images(&raw.train_images),
    )?;
    let model_path = out_dir.join("model.postcard");
    std::fs::write(&model_path, &model_bytes)
        .with_context(|| format!("writing {}", model_path.display()))?;
    let model = model_format::Model::from_bytes(&model_bytes)
        .map_err(|e| anyhow::anyhow!("the fresh export does not decode: {e}"))?;
    let int8 = quantize::evaluate_int8(&model, &raw.test_images, &raw.test_labels);
    let mut report = RunReport::new(
        settings,
        &trained,
        per_epoch,
        Some((int8.accuracy, int8.model_id)),
        data_dir,
        &out_dir,
    );
    report.load_seconds = load_seconds;
    report.write()?;
    let view = pictures::RunView {
        subtitle: pictures::settings_line(settings.hidden, &settings.train),
        stats: &report.stats,
        checkpoint: &trained.checkpoint,
        test_images: &raw.test_images,
        test_labels: &raw.test_labels,
    };
    pictures::write_pictures(&out_dir, &view)?;
    Ok(report)
}
