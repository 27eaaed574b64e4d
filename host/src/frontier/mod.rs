//! The accuracy frontier (`host frontier`): for each size preset (`h16` … `h256`, and `best`
//! with 512 hidden units), the int8 model's test accuracy on the chip against the flash it
//! takes, with the instructions per inference on a Cortex-M4 and a Cortex-M0 (QEMU -icount).
//!
//! Each preset trains into `<out>/<preset>` (a run folder like `host train`'s), unless a run
//! with the same settings is already there; then the firmware runs that model in QEMU on all
//! 10,000 test images, on mps2-an386 (M4) and on the micro:bit (M0) when it fits its 256 KiB
//! flash. The rows go to `frontier.json`, `frontier.md` and `frontier.png` in `<out>`.

pub mod picture;
pub mod table;

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use serde::{Deserialize, Serialize};

use crate::data::mnist;
use crate::device::board::Board;
use crate::device::qemu_eval::{qemu_eval, EvalReport};
use crate::report::training::train_and_write;
use crate::train::presets::{Preset, RunSettings};

/// The presets of the frontier, smallest first.
pub const PRESETS: [Preset; 6] = [
    Preset::H16,
    Preset::H32,
    Preset::H64,
    Preset::H128,
    Preset::H256,
    Preset::Best,
];

/// Flash of the M0 board (the micro:bit's nRF51822): a model that does not fit is not run there.
pub const M0_FLASH_BYTES: u64 = 256 * 1024;

/// One preset's measured row.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Row {
    /// `--preset` name.
    pub preset: String,
    pub hidden: usize,
    pub epochs: f64,
    /// Training time of the run, seconds (as `host train` measured it).
    pub train_seconds: f64,
    /// Test accuracy (%) of the float model and of the int8 model on the host.
    pub float_test_pct: f64,
    pub int8_test_pct: f64,
    /// Test accuracy (%) of the firmware in QEMU (M4), and how many of the images gave the
    /// host's class and logits bit for bit.
    pub chip_test_pct: f64,
    pub images: usize,
    pub identical_m4: usize,
    /// Mean instructions per inference over the test images.
    pub m4_instructions: f64,
    /// `None` when the firmware does not fit the M0 board's flash.
    pub m0_instructions: Option<f64>,
    pub identical_m0: Option<usize>,
    /// The model file (`model.postcard`) and the M4 firmware image with it.
    pub model_bytes: u64,
    pub flash_bytes: u64,
    pub ram_bytes: u64,
}

impl Row {
    /// int8 minus float test accuracy, percentage points.
    pub fn int8_gap_pp(&self) -> f64 {
        self.int8_test_pct - self.float_test_pct
    }
}

/// What `host frontier` was asked to do.
pub struct Frontier<'a> {
    pub presets: &'a [Preset],
    pub out: &'a Path,
    pub data: &'a Path,
    /// Train again even when `<out>/<preset>` holds a run with the same settings.
    pub retrain: bool,
    /// Test images the firmware classifies (10,000: the whole test set).
    pub images: usize,
    /// Train each preset for this many epochs instead of its own (a quick look).
    pub epochs: Option<usize>,
}

/// Train (or reuse) and measure every preset; write the table, picture and JSON.
pub fn run(f: &Frontier<'_>) -> anyhow::Result<Vec<Row>> {
    std::fs::create_dir_all(f.out).with_context(|| format!("creating {}", f.out.display()))?;
    let mut rows = Vec::new();
    for (i, &preset) in f.presets.iter().enumerate() {
        let name = preset.name();
        eprintln!("== {}/{}: --preset {name}", i + 1, f.presets.len());
        let row = measure(preset, f)?;
        eprintln!("{}", table::row_line(&row));
        rows.push(row);
    }
    std::fs::write(
        f.out.join("frontier.json"),
        serde_json::to_string_pretty(&rows)?,
    )
    .context("writing frontier.json")?;
    std::fs::write(f.out.join("frontier.md"), table::markdown(&rows))
        .context("writing frontier.md")?;
    picture::write(&f.out.join("frontier.png"), &rows)?;
    Ok(rows)
}

fn measure(preset: Preset, f: &Frontier<'_>) -> anyhow::Result<Row> {
    let mut settings = preset.settings();
    settings.epochs = f.epochs.or(settings.epochs);
    let dir = f.out.join(preset.name());
    let metrics = match (f.retrain, reusable_run(&dir, &settings)) {
        (false, Some(m)) => {
            eprintln!(
                "reusing {} (same settings)",
                crate::paths::shown(&dir).display()
            );
            m
        }
        _ => {
            train_and_write(&settings, f.data, Some(dir.clone()), false)?;
            read_metrics(&dir)?
        }
    };
    let model = dir.join("model.postcard");
    let model_bytes = std::fs::metadata(&model)
        .with_context(|| format!("reading {}", model.display()))?
        .len();
    let m4 = on_chip(Board::QemuMps2An386, &model, f.images)?;
    let m0 = if model_bytes >= M0_FLASH_BYTES {
        None
    } else {
        match on_chip(Board::QemuMicrobit, &model, f.images) {
            Ok(r) => Some(r),
            // The model alone fits, model and code do not: the linker says so.
            Err(e) if format!("{e:#}").contains("will not fit in region") => None,
            Err(e) => return Err(e),
        }
    };
    if m0.is_none() {
        eprintln!(
            "M0: the firmware with the {model_bytes} B model does not fit the micro:bit's {} KiB \
             flash; not run",
            M0_FLASH_BYTES / 1024
        );
    }
    let int8 = metrics
        .int8_test_acc
        .context("the run wrote no int8 model (metrics.json has no int8_test_acc)")?;
    Ok(Row {
        preset: preset.name().to_owned(),
        hidden: settings.hidden,
        epochs: metrics.epochs,
        train_seconds: metrics.train_seconds,
        float_test_pct: 100.0 * metrics.test_acc,
        int8_test_pct: 100.0 * int8,
        chip_test_pct: 100.0 * m4.accuracy,
        images: m4.images,
        identical_m4: m4.identical,
        m4_instructions: m4.instructions_per_inference,
        m0_instructions: m0.as_ref().map(|r| r.instructions_per_inference),
        identical_m0: m0.as_ref().map(|r| r.identical),
        model_bytes,
        flash_bytes: m4.flash_bytes,
        ram_bytes: m4.ram_bytes,
    })
}

/// The firmware on `board` in QEMU; an error unless every image matches the host.
fn on_chip(board: Board, model: &Path, images: usize) -> anyhow::Result<EvalReport> {
    let r = qemu_eval(board, model, images, None, false)?;
    if r.identical != r.images {
        bail!(
            "{}: the firmware differs from the host on {} of {} images (first: {:?})",
            board.cli_name(),
            r.images - r.identical,
            r.images,
            r.first_mismatch
        );
    }
    Ok(r)
}

/// The parts of `metrics.json` the frontier reads back.
#[derive(Deserialize)]
struct Metrics {
    epochs: f64,
    test_acc: f64,
    int8_test_acc: Option<f64>,
    train_seconds: f64,
    settings: serde_json::Value,
}

fn read_metrics(dir: &Path) -> anyhow::Result<Metrics> {
    let path = dir.join("metrics.json");
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))
}

/// The run in `dir` when it was trained with `settings` and wrote its int8 model.
fn reusable_run(dir: &Path, settings: &RunSettings) -> Option<Metrics> {
    let m = read_metrics(dir).ok()?;
    let mut want = settings.clone();
    // metrics.json records the iterations made in place of the preset's `num_iters`.
    want.train.num_iters = want.iterations(mnist::TRAIN);
    let same = serde_json::to_value(&want).ok()? == m.settings;
    (same && m.int8_test_acc.is_some() && dir.join("model.postcard").is_file()).then_some(m)
}

/// `runs/frontier`.
pub fn default_out() -> PathBuf {
    PathBuf::from("runs").join("frontier")
}
