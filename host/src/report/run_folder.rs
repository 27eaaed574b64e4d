//! The run folder: what `host train`, the best run of `host tune` and the homework's runs
//! leave behind, written in one place. `model.ckpt` (float checkpoint), `metrics.json` (the
//! [`RunReport`]), optionally `model.postcard` (the int8 export with the standard calibration
//! images) and the pictures. `host report` reads such a folder back.

use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::Serialize;

use crate::data::mnist::RawMnist;
use crate::quantize;
use crate::report::pictures::{self, FinalAccuracy, RunView};
use crate::train::describe::settings_line;
use crate::train::presets::RunSettings;
use crate::train::run::Trained;
use crate::train::trainer::{TrainConfig, TrainStats};

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
    /// Its model id (hash of the payload), as 16 hex digits like everywhere else (a JSON
    /// number would lose digits in jq and JavaScript, whose numbers are f64).
    #[serde(serialize_with = "hex_id")]
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
            // The iterations the run made: `--epochs` runs leave the preset's `num_iters`
            // (2,000) in the settings, which metrics.json would then misreport.
            settings: RunSettings {
                train: TrainConfig {
                    num_iters: trained.iters,
                    ..settings.train.clone()
                },
                ..settings.clone()
            },
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

/// `runs/<prefix>-<date>-<time>`.
pub fn stamped_dir(prefix: &str) -> PathBuf {
    let stamp = chrono::Local::now().format("%Y%m%d-%H%M%S");
    PathBuf::from("runs").join(format!("{prefix}-{stamp}"))
}

/// `runs/<date>-<time>-h<hidden>`, the default folder of `host train`.
pub fn default_run_dir(hidden: usize) -> PathBuf {
    let stamp = chrono::Local::now().format("%Y%m%d-%H%M%S");
    PathBuf::from("runs").join(format!("{stamp}-h{hidden}"))
}

fn hex_id<S: serde::Serializer>(id: &Option<u64>, s: S) -> Result<S::Ok, S::Error> {
    match id {
        Some(id) => s.serialize_str(&format!("{id:016x}")),
        None => s.serialize_none(),
    }
}

/// A written int8 model file and how it did on the test set.
pub struct Int8Export {
    pub path: PathBuf,
    pub accuracy: f64,
    pub model_id: u64,
    /// The class it predicts for each test image (for the confusion matrix and samples).
    pub classes: Vec<u8>,
}

/// Quantise with the standard calibration images, measure the model's test accuracy with the
/// shared integer kernel, and write the model file.
pub fn int8_export(t: &Trained, raw: &RawMnist, path: &Path) -> anyhow::Result<Int8Export> {
    let calib = quantize::calibration_images(&raw.train_images);
    let bytes = quantize::quantize(&t.checkpoint, calib, model_format::Layout::default())?.bytes;
    let model = model_format::Model::from_bytes(&bytes)
        .map_err(|e| anyhow::anyhow!("the exported model does not decode: {e}"))?;
    let eval = quantize::evaluate_int8(&model, &raw.test_images, &raw.test_labels);
    std::fs::write(path, &bytes).with_context(|| format!("writing {}", path.display()))?;
    Ok(Int8Export {
        path: path.to_owned(),
        accuracy: eval.accuracy,
        model_id: eval.model_id,
        classes: quantize::int8_classes(&model, &raw.test_images),
    })
}

/// Where a run folder goes and what goes into it.
pub struct RunFolder<'a> {
    pub dir: PathBuf,
    /// The MNIST folder the run was trained on (recorded in metrics.json).
    pub data_dir: &'a Path,
    /// Write `model.postcard` and record its test accuracy and id.
    pub int8: bool,
    /// Draw the pictures.
    pub pictures: bool,
    /// Recorded in metrics.json (0 when the data was loaded for several runs).
    pub load_seconds: f64,
}

/// A written run folder.
pub struct WrittenRun {
    pub report: RunReport,
    /// model.ckpt, metrics.json, model.postcard (if exported), pictures (if drawn).
    pub files: Vec<PathBuf>,
    /// Why the int8 export failed (it was asked for but there is no model.postcard).
    pub int8_error: Option<anyhow::Error>,
}

impl RunFolder<'_> {
    /// Write the folder of `trained` (trained with `settings` on `raw`). An int8 export that
    /// fails does not stop the rest: it comes back as [`WrittenRun::int8_error`].
    pub fn write(
        &self,
        settings: &RunSettings,
        trained: &Trained,
        raw: &RawMnist,
    ) -> anyhow::Result<WrittenRun> {
        let dir = &self.dir;
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let ckpt_path = dir.join("model.ckpt");
        trained.checkpoint.save(&ckpt_path)?;
        // The int8 export first: metrics.json records its accuracy and id.
        let int8 = self
            .int8
            .then(|| int8_export(trained, raw, &dir.join("model.postcard")));
        let per_epoch = settings
            .train
            .iterations_per_epoch(crate::data::mnist::TRAIN);
        let figures = match &int8 {
            Some(Ok(e)) => Some((e.accuracy, e.model_id)),
            _ => None,
        };
        let mut report = RunReport::new(settings, trained, per_epoch, figures, self.data_dir, dir);
        report.load_seconds = self.load_seconds;
        let mut files = vec![ckpt_path, report.write()?];
        let (int8_error, int8_classes) = match int8 {
            Some(Ok(e)) => {
                files.push(e.path);
                (None, Some(e.classes))
            }
            Some(Err(e)) => (Some(e), None),
            None => (None, None),
        };
        if self.pictures {
            let view = RunView {
                subtitle: settings_line(settings.hidden, &settings.train, &settings.extras),
                stats: &trained.stats,
                checkpoint: &trained.checkpoint,
                test_images: &raw.test_images,
                test_labels: &raw.test_labels,
                epochs: report.epochs,
                final_acc: Some(FinalAccuracy {
                    val: report.val_acc,
                    test: report.test_acc,
                    int8_test: report.int8_test_acc,
                }),
                int8_classes,
            };
            files.extend(pictures::write_pictures(dir, &view)?);
        }
        Ok(WrittenRun {
            report,
            files,
            int8_error,
        })
    }
}
