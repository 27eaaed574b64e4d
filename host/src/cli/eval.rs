//! `host eval`: accuracy of a float checkpoint and/or an int8 model file on MNIST.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use serde_json::json;

use crate::data::mnist::{self, Dataset, CLASSES, PIXELS};
use crate::train::checkpoint::Checkpoint;
use crate::with_hidden;

#[derive(Args, Debug)]
#[command(group(clap::ArgGroup::new("what").required(true).multiple(true).args(["checkpoint", "model"])))]
pub struct EvalArgs {
    /// Float checkpoint (model.ckpt of a run folder).
    #[arg(long)]
    pub checkpoint: Option<PathBuf>,
    /// int8 model file (model.postcard), run with the shared integer kernel on the 10,000 test images.
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Folder with the four MNIST IDX files [default: data/mnist of this repository].
    #[arg(long, default_value_os_t = mnist::default_data_dir(), hide_default_value = true)]
    pub data: PathBuf,
    /// Print one JSON object as the last line of stdout.
    #[arg(long)]
    pub json: bool,
}

fn float_eval<const H: usize>(ckpt: &Checkpoint, ds: &Dataset<f32>) -> anyhow::Result<(f64, f64)> {
    let net = ckpt.to_net::<f32, PIXELS, H, CLASSES>()?;
    Ok((
        crate::train::trainer::accuracy(&net, &ds.val),
        crate::train::trainer::accuracy(&net, &ds.test),
    ))
}

/// `host eval`.
pub fn run(a: EvalArgs) -> anyhow::Result<()> {
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
        let r = crate::quantize::evaluate_int8(&model, &raw.test_images, &raw.test_labels);
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
