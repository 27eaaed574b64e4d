//! `host train` (and the bare `host`): load MNIST, train with a progress bar, write the run
//! folder and print what was measured.

use std::path::PathBuf;

use clap::Args;
use serde_json::json;

use super::limits;
use crate::data::augment;
use crate::data::mnist;
use crate::device::board::Board;
use crate::device::deploy::deploy_command;
use crate::report::run_folder::RunReport;
use crate::report::training::train_and_write;
use crate::train::describe::settings_line;
use crate::train::optimizer::{Optimizer, Schedule};
use crate::train::presets::{Preset, RunSettings};
use crate::train::trainer::Extras;

#[derive(Args, Debug, Default)]
pub struct TrainArgs {
    /// Named settings to start from; the flags below override them.
    #[arg(long, value_enum, default_value_t = Preset::Default)]
    pub preset: Preset,
    /// Hidden units: 16, 32, 50, 64, 100, 128, 200, 256, 512 or 1024.
    #[arg(long, value_parser = limits::hidden)]
    pub hidden: Option<usize>,
    /// Training iterations (minibatches).
    #[arg(long, conflicts_with = "epochs", value_parser = limits::iters)]
    pub iters: Option<usize>,
    /// Train for this many epochs instead of --iters.
    #[arg(long, value_parser = limits::epochs)]
    pub epochs: Option<usize>,
    /// Minibatch size: images per gradient step (at most the 55,000 training images).
    #[arg(long, value_parser = limits::batch)]
    pub batch: Option<usize>,
    /// Initial learning rate.
    #[arg(long, value_parser = limits::positive)]
    pub lr: Option<f64>,
    /// L2 regularisation strength (loss adds 0.5 * reg * ΣW²).
    #[arg(long, value_parser = limits::non_negative)]
    pub reg: Option<f64>,
    /// Learning-rate multiplier applied once per epoch.
    #[arg(long, value_parser = limits::positive)]
    pub lr_decay: Option<f64>,
    /// SGD momentum in [0, 1): the share of the last step kept in the next (0.9 default).
    #[arg(long, value_parser = limits::fraction)]
    pub momentum: Option<f64>,
    /// Seeds weight init and batch sampling (numpy-compatible MT19937).
    #[arg(long)]
    pub seed: Option<u32>,
    /// Std of the initial weights.
    #[arg(long, value_parser = limits::positive)]
    pub init_std: Option<f64>,
    /// Optimiser: sgd (momentum, the homework's) or adamw.
    #[arg(long, value_enum)]
    pub optimizer: Option<OptimizerArg>,
    /// AdamW's decoupled weight decay.
    #[arg(long, value_parser = limits::non_negative)]
    pub weight_decay: Option<f64>,
    /// Cosine learning-rate schedule (with --warmup iterations) instead of per-epoch decay.
    #[arg(long)]
    pub cosine: bool,
    /// With --cosine: iterations over which the rate rises linearly from 0 to --lr first.
    #[arg(long, requires = "cosine", value_parser = limits::warmup)]
    pub warmup: Option<usize>,
    /// Dropout probability on the input pixels.
    #[arg(long, value_parser = limits::fraction)]
    pub dropout_input: Option<f64>,
    /// Dropout probability on the hidden units.
    #[arg(long, value_parser = limits::fraction)]
    pub dropout_hidden: Option<f64>,
    /// Random affine distortions: max rotation (degrees), scale (fraction), shift (pixels), e.g. 10,0.1,2.
    #[arg(long, value_parser = parse_affine)]
    pub augment: Option<augment::Affine>,
    /// Turn the preset's distortions (affine and elastic) off.
    #[arg(long, conflicts_with_all = ["augment", "elastic"])]
    pub no_augment: bool,
    /// Random elastic distortions: ALPHA,SIGMA in pixels (Simard et al. 2003 use 34,4).
    #[arg(long, value_parser = parse_elastic)]
    pub elastic: Option<augment::Elastic>,
    /// Label smoothing EPS in [0, 1): train against (1 - EPS) onehot + EPS / 10, e.g. 0.1.
    #[arg(long, value_parser = limits::fraction)]
    pub label_smoothing: Option<f64>,
    /// Keep an exponential moving average of the weights with this decay in (0, 1), e.g. 0.999;
    /// the epoch lines, the evaluation and the written models use the average.
    #[arg(long, value_parser = limits::decay)]
    pub ema: Option<f64>,
    /// Run folder (default runs/<date>-<time>-h<hidden>).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Folder with the four MNIST IDX files (.gz or raw) [default: data/mnist of this repository].
    #[arg(long, default_value_os_t = mnist::default_data_dir(), hide_default_value = true)]
    pub data: PathBuf,
    /// Print one JSON object as the last line of stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum OptimizerArg {
    Sgd,
    Adamw,
}

fn parse_affine(s: &str) -> Result<augment::Affine, String> {
    let v: Vec<f64> = s
        .split(',')
        .map(|p| p.trim().parse::<f64>().map_err(|e| format!("{p:?}: {e}")))
        .collect::<Result<_, _>>()?;
    match v[..] {
        [r, sc, sh]
            if (0.0..=360.0).contains(&r) && (0.0..1.0).contains(&sc) && (0.0..=28.0).contains(&sh) => Ok(augment::Affine {
            max_rotation_deg: r,
            max_scale: sc,
            max_shift_px: sh,
        }),
        _ => Err("expected ROTATION_DEG,SCALE,SHIFT_PX with rotation in [0, 360], scale in [0, 1) and shift in [0, 28], e.g. 10,0.1,2".into()),
    }
}

fn parse_elastic(s: &str) -> Result<augment::Elastic, String> {
    match s
        .split_once(',')
        .map(|(a, b)| (a.trim().parse::<f64>(), b.trim().parse::<f64>()))
    {
        Some((Ok(alpha), Ok(sigma)))
            if (0.0..=1000.0).contains(&alpha) && sigma > 0.0 && sigma <= 10.0 =>
        {
            Ok(augment::Elastic { alpha, sigma })
        }
        _ => Err(
            "expected ALPHA,SIGMA with 0 <= alpha <= 1000 and 0 < sigma <= 10, e.g. 34,4".into(),
        ),
    }
}

/// The preset's settings with the flags applied.
pub fn settings_from_args(a: &TrainArgs) -> anyhow::Result<RunSettings> {
    let mut s = a.preset.settings();
    s.hidden = a.hidden.unwrap_or(s.hidden);
    if let Some(i) = a.iters {
        s.train.num_iters = i;
        s.epochs = None;
    }
    s.epochs = a.epochs.or(s.epochs);
    s.train.batch_size = a.batch.unwrap_or(s.train.batch_size);
    s.train.learning_rate = a.lr.unwrap_or(s.train.learning_rate);
    s.train.reg = a.reg.unwrap_or(s.train.reg);
    s.train.learning_rate_decay = a.lr_decay.unwrap_or(s.train.learning_rate_decay);
    s.train.momentum = a.momentum.unwrap_or(s.train.momentum);
    s.seed = a.seed.unwrap_or(s.seed);
    s.init_std = a.init_std.unwrap_or(s.init_std);
    apply_extras(a, &mut s.extras)?;
    let iters = s.iterations(mnist::TRAIN);
    anyhow::ensure!(
        iters <= limits::MAX_ITERS,
        "{} epochs at batch {} make {iters} iterations, more than the {} a run may have",
        s.epochs.unwrap_or(0),
        s.train.batch_size,
        limits::MAX_ITERS
    );
    Ok(s)
}

/// Optimiser, schedule, dropout and distortion flags.
fn apply_extras(a: &TrainArgs, x: &mut Extras) -> anyhow::Result<()> {
    match a.optimizer {
        Some(OptimizerArg::Sgd) => x.optimizer = Optimizer::Sgd,
        Some(OptimizerArg::Adamw) if !matches!(x.optimizer, Optimizer::AdamW { .. }) => {
            x.optimizer = Optimizer::AdamW {
                beta1: 0.9,
                beta2: 0.999,
                eps: 1e-8,
                weight_decay: 0.01,
            }
        }
        _ => {}
    }
    if let Some(wd) = a.weight_decay {
        match &mut x.optimizer {
            Optimizer::AdamW { weight_decay, .. } => *weight_decay = wd,
            Optimizer::Sgd => {
                anyhow::bail!("--weight-decay applies to --optimizer adamw (use --reg with sgd)")
            }
        }
    }
    if a.cosine {
        x.schedule = Schedule::Cosine {
            warmup_iters: a.warmup.unwrap_or(0),
            min_ratio: 0.0,
        };
    }
    x.dropout_input = a.dropout_input.unwrap_or(x.dropout_input);
    x.dropout_hidden = a.dropout_hidden.unwrap_or(x.dropout_hidden);
    if a.no_augment {
        x.augment = None;
        x.elastic = None;
    }
    x.augment = a.augment.or(x.augment);
    x.elastic = a.elastic.or(x.elastic);
    x.label_smoothing = a.label_smoothing.unwrap_or(x.label_smoothing);
    x.ema = a.ema.or(x.ema);
    Ok(())
}

/// `host train`.
pub fn run(a: TrainArgs) -> anyhow::Result<()> {
    let s = settings_from_args(&a)?;
    println!(
        "training {} for {}, seed {}, on {}",
        settings_line(s.hidden, &s.train, &s.extras),
        match s.epochs {
            Some(e) => format!("{e} epochs"),
            None => format!("{} iterations", s.train.num_iters),
        },
        s.seed,
        crate::paths::shown(&a.data).display()
    );
    let r = train_and_write(&s, &a.data, a.out, false)?;
    print_report(&r, a.json)
}

fn print_report(r: &RunReport, json: bool) -> anyhow::Result<()> {
    println!(
        "validation accuracy {:.4}, test accuracy {:.4} ({} iterations, {:.1} s training, {:.1} s loading)",
        r.val_acc, r.test_acc, r.iters, r.train_seconds, r.load_seconds
    );
    if let (Some(acc), Some(id)) = (r.int8_test_acc, r.model_id) {
        println!(
            "int8 model: test accuracy {acc:.4} ({:+.2} points vs float), id {id:016x}",
            100.0 * (acc - r.test_acc)
        );
    }
    println!(
        "wrote {} (model.ckpt, model.postcard, metrics.json, pictures)",
        r.out_dir.display()
    );
    // The next step: this model on a chip, in QEMU (no board needed), then on a real board.
    println!(
        "next: {}   # in QEMU, no board needed",
        deploy_command(Board::QemuMps2An386, &r.out_dir)
    );
    println!(
        "      {}   # a real board (or microbit-v2, rp-pico)",
        deploy_command(Board::NucleoF411re, &r.out_dir)
    );
    if json {
        let v = json!({
            "val_acc": r.val_acc, "test_acc": r.test_acc, "train_seconds": r.train_seconds,
            "load_seconds": r.load_seconds, "hidden": r.hidden, "iters": r.iters, "epochs": r.epochs,
            "final_loss": r.final_loss, "out_dir": r.out_dir, "int8_test_acc": r.int8_test_acc,
            "model_id": r.model_id.map(|id| format!("{id:016x}")),
        });
        println!("{v}");
    }
    Ok(())
}
