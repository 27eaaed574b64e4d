use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use serde_json::json;

use host::checkpoint::Checkpoint;
use host::mnist::{self, Dataset, CLASSES, PIXELS};
use host::optim::{Optimizer, Schedule};
use host::presets::Preset;
use host::{toy, train_cmd, with_hidden};

/// Train the homework's two-layer MNIST net and run it bit-exact on microcontrollers.
///
/// With no command, trains the default preset on data/mnist (same as `host train`).
#[derive(Parser, Debug)]
#[command(version)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Train on MNIST and write a run folder (checkpoint, metrics.json).
    Train(Box<TrainArgs>),
    /// The homework's toy checks (scores, loss, gradient check, toy training) beside its numbers.
    Toy {
        /// Print one JSON object as the last line.
        #[arg(long)]
        json: bool,
    },
    /// Numerical gradient check of the toy model (centred differences, h = 1e-5).
    Gradcheck {
        /// Regularisation strength used in the loss.
        #[arg(long, default_value_t = 0.05)]
        reg: f64,
    },
    /// Accuracy of a float checkpoint on the validation and test sets.
    Eval(EvalArgs),
    #[command(flatten)]
    Model(host::model_cli::ModelCommand),
    #[command(flatten)]
    Device(host::device_cli::DeviceCommand),
    #[command(flatten)]
    Analysis(host::analysis_cli::AnalysisCommand),
}

#[derive(Args, Debug, Default)]
struct TrainArgs {
    /// Named settings to start from; the flags below override them.
    #[arg(long, value_enum, default_value_t = Preset::Default)]
    preset: Preset,
    /// Hidden units: 50, 64, 100, 128, 200, 256, 512 or 1024.
    #[arg(long)]
    hidden: Option<usize>,
    /// Training iterations (minibatches).
    #[arg(long, conflicts_with = "epochs")]
    iters: Option<usize>,
    /// Train for this many epochs instead of --iters.
    #[arg(long)]
    epochs: Option<usize>,
    #[arg(long)]
    batch: Option<usize>,
    /// Initial learning rate.
    #[arg(long)]
    lr: Option<f64>,
    /// L2 regularisation strength (loss adds 0.5 * reg * ΣW²).
    #[arg(long)]
    reg: Option<f64>,
    /// Learning-rate multiplier applied once per epoch.
    #[arg(long)]
    lr_decay: Option<f64>,
    #[arg(long)]
    momentum: Option<f64>,
    /// Seeds weight init and batch sampling (numpy-compatible MT19937).
    #[arg(long)]
    seed: Option<u32>,
    /// Std of the initial weights.
    #[arg(long)]
    init_std: Option<f64>,
    /// Optimiser: sgd (momentum, the homework's) or adamw.
    #[arg(long, value_enum)]
    optimizer: Option<OptimizerArg>,
    /// AdamW's decoupled weight decay.
    #[arg(long)]
    weight_decay: Option<f64>,
    /// Cosine learning-rate schedule (with --warmup iterations) instead of per-epoch decay.
    #[arg(long)]
    cosine: bool,
    #[arg(long, requires = "cosine")]
    warmup: Option<usize>,
    /// Dropout probability on the input pixels.
    #[arg(long)]
    dropout_input: Option<f64>,
    /// Dropout probability on the hidden units.
    #[arg(long)]
    dropout_hidden: Option<f64>,
    /// Random affine distortions: max rotation (degrees), scale (fraction), shift (pixels), e.g. 10,0.1,2.
    #[arg(long, value_parser = parse_affine)]
    augment: Option<host::augment::Affine>,
    /// Turn the preset's distortions (affine and elastic) off.
    #[arg(long, conflicts_with_all = ["augment", "elastic"])]
    no_augment: bool,
    /// Random elastic distortions: ALPHA,SIGMA in pixels (Simard et al. 2003 use 34,4).
    #[arg(long, value_parser = parse_elastic)]
    elastic: Option<host::augment::Elastic>,
    /// Run folder (default runs/<date>-<time>-h<hidden>).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Folder with the four MNIST IDX files (.gz or raw).
    #[arg(long, default_value_os_t = mnist::default_data_dir())]
    data: PathBuf,
    /// Print one JSON object as the last line of stdout.
    #[arg(long)]
    json: bool,
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
enum OptimizerArg {
    Sgd,
    Adamw,
}

fn parse_affine(s: &str) -> Result<host::augment::Affine, String> {
    let v: Vec<f64> = s
        .split(',')
        .map(|p| p.trim().parse::<f64>().map_err(|e| format!("{p:?}: {e}")))
        .collect::<Result<_, _>>()?;
    match v[..] {
        [r, sc, sh] if r >= 0.0 && (0.0..1.0).contains(&sc) && sh >= 0.0 => Ok(host::augment::Affine {
            max_rotation_deg: r,
            max_scale: sc,
            max_shift_px: sh,
        }),
        _ => Err("expected ROTATION_DEG,SCALE,SHIFT_PX with non-negative values and scale < 1, e.g. 10,0.1,2".into()),
    }
}

fn parse_elastic(s: &str) -> Result<host::augment::Elastic, String> {
    match s
        .split_once(',')
        .map(|(a, b)| (a.trim().parse::<f64>(), b.trim().parse::<f64>()))
    {
        Some((Ok(alpha), Ok(sigma))) if alpha >= 0.0 && sigma > 0.0 && sigma <= 10.0 => {
            Ok(host::augment::Elastic { alpha, sigma })
        }
        _ => Err("expected ALPHA,SIGMA with alpha >= 0 and 0 < sigma <= 10, e.g. 34,4".into()),
    }
}

#[derive(Args, Debug)]
#[command(group(clap::ArgGroup::new("what").required(true).multiple(true).args(["checkpoint", "model"])))]
struct EvalArgs {
    /// Float checkpoint (model.ckpt of a run folder).
    #[arg(long)]
    checkpoint: Option<PathBuf>,
    /// int8 model file (model.postcard), run with the shared integer kernel on the 10,000 test images.
    #[arg(long)]
    model: Option<PathBuf>,
    #[arg(long, default_value_os_t = mnist::default_data_dir())]
    data: PathBuf,
    /// Print one JSON object as the last line of stdout.
    #[arg(long)]
    json: bool,
}

fn cmd_train(a: TrainArgs) -> anyhow::Result<()> {
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
    let x = &mut s.extras;
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

    println!(
        "training 784-{}-10 on {} (lr {}, decay {}, momentum {}, reg {}, batch {}, {}, seed {})",
        s.hidden,
        a.data.display(),
        s.train.learning_rate,
        s.train.learning_rate_decay,
        s.train.momentum,
        s.train.reg,
        s.train.batch_size,
        match s.epochs {
            Some(e) => format!("{e} epochs"),
            None => format!("{} iterations", s.train.num_iters),
        },
        s.seed
    );
    if s.extras != host::train::Extras::default() {
        println!("  extras: {}", serde_json::to_string(&s.extras)?);
    }
    let r = train_cmd::run(&s, &a.data, a.out, false)?;
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
    println!(
        "firmware with this model: FIRMWARE_MODEL={} cargo firmware",
        std::path::absolute(r.out_dir.join("model.postcard"))?.display()
    );
    if a.json {
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

fn cmd_toy(json: bool) -> anyhow::Result<()> {
    let r = toy::run()?;
    println!("scores:");
    for (row, want) in r.scores.iter().zip(toy::CORRECT_SCORES) {
        println!("  {row:>12.8?}   homework {want:>12.8?}");
    }
    println!(
        "  sum |difference| = {:.3e}   (homework: 3.68e-08, must be < 1e-7)",
        r.scores_diff
    );
    println!(
        "loss (reg 0.1) = {:.14}   homework {}   |difference| = {:.3e} (must be < 1e-12)",
        r.loss,
        toy::CORRECT_LOSS,
        r.loss_diff
    );
    for (name, hw) in toy::HOMEWORK_GRAD_REL_ERROR {
        println!(
            "{name} max relative error: {:.6e}   homework {hw:.6e}   (must be < 1e-8)",
            r.grad_rel_error[name]
        );
    }
    println!(
        "final toy training loss: {:.6}   homework {:.6}   (must be < 0.05)",
        r.train_final_loss,
        toy::HOMEWORK_TRAIN_FINAL_LOSS
    );
    let ok = r.scores_diff < 1e-7
        && r.loss_diff < 1e-12
        && r.grad_rel_error.values().all(|&e| e < 1e-8)
        && r.train_final_loss < 0.05;
    println!(
        "{}",
        if ok {
            "all toy checks pass"
        } else {
            "TOY CHECKS FAIL"
        }
    );
    if json {
        println!("{}", serde_json::to_string(&r)?);
    }
    anyhow::ensure!(ok, "toy checks failed");
    Ok(())
}

fn cmd_gradcheck(reg: f64) -> anyhow::Result<()> {
    let (net, x, _) = toy::toy_setup();
    let errors = host::gradcheck::check(&net, &x, &toy::LABELS, reg, 1e-5);
    for (name, err) in errors {
        println!("{name} max relative error: {err:e}");
    }
    anyhow::ensure!(
        errors.iter().all(|(_, e)| *e < 1e-8),
        "gradient check failed (> 1e-8)"
    );
    Ok(())
}

fn float_eval<const H: usize>(ckpt: &Checkpoint, ds: &Dataset<f32>) -> anyhow::Result<(f64, f64)> {
    let net = ckpt.to_net::<f32, PIXELS, H, CLASSES>()?;
    Ok((
        host::train::accuracy(&net, &ds.val),
        host::train::accuracy(&net, &ds.test),
    ))
}

fn cmd_eval(a: EvalArgs) -> anyhow::Result<()> {
    let raw = mnist::load_raw(&a.data)?;
    let mut out = serde_json::Map::new();
    out.insert("images".into(), json!(raw.test_labels.len()));
    if let Some(path) = &a.checkpoint {
        let ckpt = Checkpoint::load(path)?;
        anyhow::ensure!(
            ckpt.input == PIXELS && ckpt.classes == CLASSES,
            "{}: a {}-{}-{} net is not an MNIST net",
            path.display(),
            ckpt.input,
            ckpt.hidden,
            ckpt.classes
        );
        let ds = Dataset::<f32>::with_mean(&raw, &ckpt.mean_image);
        let (val, test) = with_hidden!(ckpt.hidden, float_eval(&ckpt, &ds))
            .with_context(|| format!("evaluating {}", path.display()))?;
        println!("{}: 784-{}-10 float", path.display(), ckpt.hidden);
        println!("  validation accuracy {val:.4} ({} images)", ds.val.len());
        println!("  test accuracy       {test:.4} ({} images)", ds.test.len());
        out.insert("float_val_acc".into(), json!(val));
        out.insert("float_test_acc".into(), json!(test));
        out.insert("hidden".into(), json!(ckpt.hidden));
    }
    if let Some(path) = &a.model {
        let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        let model = model_format::Model::from_bytes(&bytes)
            .map_err(|e| anyhow::anyhow!("{}: not a usable model file: {e}", path.display()))?;
        let r = host::quantize::evaluate_int8(&model, &raw.test_images, &raw.test_labels);
        let d = model.dims();
        println!(
            "{}: {}-{}-{} int8, id {:016x}",
            path.display(),
            d.input,
            d.hidden,
            d.classes,
            r.model_id
        );
        println!(
            "  test accuracy       {:.4} ({} images, {:.0} images/s single thread)",
            r.accuracy,
            r.images,
            r.images as f64 / r.seconds
        );
        out.insert("int8_test_acc".into(), json!(r.accuracy));
        out.insert("model_id".into(), json!(format!("{:016x}", r.model_id)));
        out.insert(
            "images_per_second".into(),
            json!(r.images as f64 / r.seconds),
        );
        out.insert("hidden".into(), json!(d.hidden));
    }
    if let (Some(f), Some(q)) = (out.get("float_test_acc"), out.get("int8_test_acc")) {
        let delta = 100.0 * (q.as_f64().unwrap_or(0.0) - f.as_f64().unwrap_or(0.0));
        println!("  int8 - float: {delta:+.2} percentage points");
    }
    if a.json {
        println!("{}", serde_json::Value::Object(out));
    }
    Ok(())
}

fn main() -> anyhow::Result<()> {
    // matrixmultiply's second thread makes a 200x784x200 training step slower
    // (criterion, quiet machine: 2.29 ms with 1 thread, 2.60 ms with 2); parallel
    // work is done by rayon instead. An explicit MATMUL_NUM_THREADS still wins.
    if std::env::var_os("MATMUL_NUM_THREADS").is_none() {
        std::env::set_var("MATMUL_NUM_THREADS", "1");
    }
    let cli = Cli::parse();
    match cli.command {
        None => cmd_train(TrainArgs {
            data: mnist::default_data_dir(),
            ..TrainArgs::default()
        }),
        Some(Command::Train(a)) => cmd_train(*a),
        Some(Command::Toy { json }) => cmd_toy(json),
        Some(Command::Gradcheck { reg }) => cmd_gradcheck(reg),
        Some(Command::Eval(a)) => cmd_eval(a),
        Some(Command::Model(c)) => host::model_cli::run(c),
        Some(Command::Device(c)) => host::device_cli::run(c),
        Some(Command::Analysis(c)) => host::analysis_cli::run(c),
    }
}
