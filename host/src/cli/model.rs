//! CLI subcommands about model files (`inspect`, `quantize`), flattened into `host`'s command list.

use std::path::{Path, PathBuf};

use anyhow::Context;
use model_format::{Field, Layout, Model};

use crate::quantize::{calibration_images, quantize};
use crate::train::checkpoint::Checkpoint;

#[derive(clap::Subcommand, Debug)]
pub enum ModelCommand {
    /// Print a model file's header, dims, sizes, quantisation parameters, CRC and id
    /// (for a damaged file: what is wrong, and a non-zero exit).
    Inspect {
        /// The int8 model file (e.g. data/model.postcard).
        file: PathBuf,
    },
    /// Quantise a float checkpoint to an int8 model file, calibrating on training images.
    Quantize {
        /// Float checkpoint (model.ckpt of a run folder).
        #[arg(long)]
        checkpoint: PathBuf,
        /// Where to write the model file.
        #[arg(long)]
        out: PathBuf,
        /// Folder with the MNIST IDX files (calibration uses the first training images)
        /// [default: data/mnist of this repository].
        #[arg(
            long,
            default_value_os_t = crate::data::mnist::default_data_dir(),
            hide_default_value = true
        )]
        data: PathBuf,
        /// Layer-1 weight layout of the file (same logits in every layout): `smlad` (layout 1,
        /// int8 in blocks for the Cortex-M4 SMLAD kernel), `smlad16` (layout 2, int16 weights:
        /// fewer instructions on the M4 for twice the layer-1 bytes) or `portable` (layout 0).
        #[arg(long, value_enum, default_value_t = LayoutArg::Smlad)]
        layout: LayoutArg,
    },
}

/// The `--layout` choices of `host quantize` (clap names for [`Layout`]).
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum LayoutArg {
    /// Layout 1 (the default).
    Smlad,
    /// Layout 2.
    Smlad16,
    /// Layout 0 (hidden-major rows).
    Portable,
}

impl From<LayoutArg> for Layout {
    fn from(a: LayoutArg) -> Layout {
        match a {
            LayoutArg::Smlad => Layout::Smlad,
            LayoutArg::Smlad16 => Layout::Smlad16,
            LayoutArg::Portable => Layout::HiddenMajor,
        }
    }
}

pub fn run(cmd: ModelCommand) -> anyhow::Result<()> {
    match cmd {
        ModelCommand::Inspect { file } => inspect(&file),
        ModelCommand::Quantize {
            checkpoint,
            out,
            data,
            layout,
        } => quantize_cmd(&checkpoint, &out, &data, layout.into()),
    }
}

fn inspect(path: &Path) -> anyhow::Result<()> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let model = Model::from_bytes(&bytes)
        .map_err(|e| anyhow::anyhow!("{}: invalid model file: {e}", path.display()))?;
    print!("{}", describe(&model));
    Ok(())
}

fn range<T: Copy + Ord + std::fmt::Display>(values: impl Iterator<Item = T>) -> String {
    let (lo, hi) = values.fold((None::<T>, None::<T>), |(lo, hi), v| {
        (
            Some(lo.map_or(v, |l| l.min(v))),
            Some(hi.map_or(v, |h| h.max(v))),
        )
    });
    match (lo, hi) {
        (Some(lo), Some(hi)) => format!("[{lo}, {hi}]"),
        _ => "(empty)".into(),
    }
}

/// The human-readable report of `host inspect`.
pub fn describe(model: &Model<'_>) -> String {
    let d = model.dims();
    let mut s = String::new();
    let mut line = |k: &str, v: String| s.push_str(&format!("{k:<14}{v}\n"));
    line(
        "format",
        format!(
            "MNI8 version {}, layout {} ({}, class-major w2)",
            model.version(),
            model.layout().tag(),
            model.layout().describe()
        ),
    );
    line(
        "dims",
        format!(
            "{}-{}-{} (input-hidden-classes)",
            d.input, d.hidden, d.classes
        ),
    );
    line(
        "size",
        format!(
            "{} bytes (payload {} bytes)",
            model.file_len(),
            model.payload_len()
        ),
    );
    let sizes: Vec<String> = [
        Field::Weights1,
        Field::Bias1,
        Field::Multiplier,
        Field::Shift,
        Field::Weights2,
        Field::Bias2,
    ]
    .iter()
    .map(|&f| format!("{} {}", f.name(), model.raw(f).len()))
    .collect();
    line("arrays", format!("{} (bytes)", sizes.join(", ")));
    line("model id", format!("{:016x}", model.model_id()));
    line("crc32", format!("{:08x} (verified)", model.crc32()));
    line("w1 int8", range(model.w1()));
    line("b1 int32", range(model.b1()));
    let effective: Vec<f64> = model
        .requant()
        .map(|(m, s)| f64::from(m) / 2f64.powi(i32::from(s)))
        .collect();
    let (lo, hi) = effective
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(v), hi.max(v))
        });
    line(
        "requant",
        format!(
            "per hidden unit: multiplier {} shift {} => scale {lo:.4e} .. {hi:.4e}",
            range(model.requant().map(|(m, _)| m)),
            range(model.requant().map(|(_, s)| s)),
        ),
    );
    line("w2 int8", range(model.w2()));
    line("b2 int32", range(model.b2()));
    line(
        "logit scale",
        format!("{:e} (float score per logit unit)", model.logit_scale()),
    );
    s
}

fn quantize_cmd(checkpoint: &Path, out: &Path, data: &Path, layout: Layout) -> anyhow::Result<()> {
    let ckpt = Checkpoint::load(checkpoint)?;
    let raw = crate::data::mnist::load_raw(data)?;
    let calib = calibration_images(&raw.train_images);
    let q = quantize(&ckpt, calib, layout)
        .with_context(|| format!("quantising {}", checkpoint.display()))?;
    println!(
        "calibration on the first {} training images (class agreement with the float net; \
         the lowest RMS logit error is chosen)",
        q.calibration_images
    );
    for c in &q.candidates {
        let mark = if c.scale == q.chosen {
            "  <- chosen"
        } else {
            ""
        };
        println!(
            "  {:<22} {:>6} / {} ({:.2} %)  logit rmse {:.4}{mark}",
            c.scale.to_string(),
            c.agree,
            q.calibration_images,
            100.0 * c.agree as f64 / q.calibration_images as f64,
            c.logit_rmse
        );
    }
    let bytes = q.bytes;
    std::fs::write(out, &bytes).with_context(|| format!("writing {}", out.display()))?;
    let model = Model::from_bytes(&bytes).context("decoding the written model")?;
    println!(
        "wrote {} ({} bytes, layout {}, model id {:016x})",
        out.display(),
        bytes.len(),
        model.layout().tag(),
        model.model_id()
    );
    Ok(())
}
