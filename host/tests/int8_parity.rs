//! Int8 vs float on the real MNIST test set, and consistency of the committed model pair.
//!
//! * `data/model.ckpt` quantised with the standard calibration subset must be within
//!   0.3 percentage points of the float checkpoint on the 10,000 test images.
//! * `data/model.postcard` must decode and equal that quantisation byte for byte, so the
//!   committed file is the export of the committed checkpoint (re-export both together).
//!
//! `PARITY_CKPT=path/to/model.ckpt` checks the accuracy bound for another checkpoint.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use host::data::mnist::{self, RawMnist};
use host::quantize::{calibration_images, evaluate_int8, quantize};
use host::train::checkpoint::Checkpoint;
use model_format::Layout;
use model_format::{Model, INPUT};

/// Largest allowed |int8 - float| test accuracy, in percentage points.
const MAX_GAP_POINTS: f64 = 0.3;

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../data")
}

fn mnist() -> &'static RawMnist {
    static RAW: OnceLock<RawMnist> = OnceLock::new();
    RAW.get_or_init(|| mnist::load_raw(&mnist::default_data_dir()).expect("MNIST in data/mnist"))
}

fn load_ckpt(path: &Path) -> Checkpoint {
    Checkpoint::load(path).unwrap_or_else(|e| {
        panic!(
            "{}: {e:#} (the default float checkpoint must be committed with its export)",
            path.display()
        )
    })
}

#[test]
fn int8_is_within_0_3_points_of_float_on_the_test_set() {
    let path = std::env::var_os("PARITY_CKPT")
        .map(PathBuf::from)
        .unwrap_or_else(|| data_dir().join("model.ckpt"));
    let ckpt = load_ckpt(&path);
    let raw = mnist();
    let bytes = quantize(
        &ckpt,
        calibration_images(&raw.train_images),
        Layout::default(),
    )
    .unwrap()
    .bytes;
    let model = Model::from_bytes(&bytes).unwrap();

    let int8 = evaluate_int8(&model, &raw.test_images, &raw.test_labels);
    let float_correct = raw
        .test_images
        .chunks_exact(INPUT)
        .zip(&raw.test_labels)
        .filter(|(px, &label)| ckpt.predict(px) == usize::from(label))
        .count();
    assert_eq!(int8.images, 10_000);
    let float_acc = float_correct as f64 / raw.test_labels.len() as f64;
    let gap = 100.0 * (int8.accuracy - float_acc);
    eprintln!(
        "{}: float {:.2} %, int8 {:.2} % ({} / {}), gap {gap:+.2} points",
        path.display(),
        100.0 * float_acc,
        100.0 * int8.accuracy,
        int8.correct,
        int8.images
    );
    assert!(
        gap.abs() <= MAX_GAP_POINTS,
        "int8 {:.4} vs float {float_acc:.4}: gap {gap:+.2} points exceeds {MAX_GAP_POINTS}",
        int8.accuracy
    );
}

#[test]
fn committed_model_is_the_export_of_the_committed_checkpoint() {
    let file = data_dir().join("model.postcard");
    let committed = std::fs::read(&file)
        .unwrap_or_else(|e| panic!("{}: {e} (commit the default int8 model)", file.display()));
    let model = Model::from_bytes(&committed)
        .unwrap_or_else(|e| panic!("{}: invalid model file: {e}", file.display()));
    let ckpt = load_ckpt(&data_dir().join("model.ckpt"));
    assert_eq!(model.dims().hidden, ckpt.hidden);
    let fresh = quantize(
        &ckpt,
        calibration_images(&mnist().train_images),
        Layout::default(),
    )
    .unwrap()
    .bytes;
    let fresh_id = Model::from_bytes(&fresh).unwrap().model_id();
    assert!(
        fresh == committed,
        "data/model.postcard (id {:016x}) is not the export of data/model.ckpt (id {fresh_id:016x}): \
         re-run `host quantize --checkpoint data/model.ckpt --out data/model.postcard`",
        model.model_id()
    );
}
