//! Pictures of a run folder (`write_run_pictures`, `host report`) and their failure modes.

use std::path::{Path, PathBuf};
use std::process::Command;

use host::data::mnist;
use host::report::pictures::{
    self, ACCURACY_SIZE, COMPARISON_SIZE, CONFUSION_SIZE, LOSS_SIZE, SAMPLES_SIZE,
};
use host::train::presets::Preset;
use host::train::trainer::TrainStats;

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("analysis-pictures-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

/// Decode a PNG fully; returns (width, height, share of pixels that are not white).
fn decode_png(path: &Path) -> (u32, u32, f64) {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut reader = png::Decoder::new(std::io::BufReader::new(file))
        .read_info()
        .unwrap_or_else(|e| panic!("{}: not a PNG: {e}", path.display()));
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader
        .next_frame(&mut buf)
        .unwrap_or_else(|e| panic!("{}: broken PNG data: {e}", path.display()));
    let channels = info.color_type.samples();
    assert!(channels >= 3, "{}: colour PNG expected", path.display());
    let pixels = &buf[..info.buffer_size()];
    let ink = pixels
        .chunks_exact(channels)
        .filter(|p| p[..3] != [255, 255, 255])
        .count();
    (
        info.width,
        info.height,
        ink as f64 / (info.width * info.height) as f64,
    )
}

/// A short real training run written by `report::training::train_and_write`, as `host train` does.
fn trained_run_folder(name: &str) -> PathBuf {
    let dir = temp_dir(name);
    let mut s = Preset::Default.settings();
    s.hidden = 50;
    s.epochs = None;
    s.train.num_iters = 300; // two epoch marks (0 and 275)
    host::report::training::train_and_write(
        &s,
        &mnist::default_data_dir(),
        Some(dir.clone()),
        true,
    )
    .expect("short training run");
    dir
}

#[test]
fn run_pictures_are_valid_pngs_of_the_documented_sizes_and_report_redraws_them() {
    let dir = trained_run_folder("run");
    let files = host::report::pictures::write_run_pictures(&dir, None).expect("pictures");
    let names: Vec<String> = files
        .iter()
        .map(|f| f.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, pictures::RUN_PICTURES);
    let expected = [
        LOSS_SIZE,
        ACCURACY_SIZE,
        pictures::weights_size(50),
        SAMPLES_SIZE,
        CONFUSION_SIZE,
    ];
    for (f, size) in files.iter().zip(expected) {
        assert_eq!(f.parent().unwrap(), dir);
        let (w, h, ink) = decode_png(f);
        assert_eq!((w, h), size, "{}", f.display());
        // Something was drawn (a blank canvas would pass the size check).
        assert!(
            ink > 0.01,
            "{}: only {:.4} of the pixels drawn",
            f.display(),
            ink
        );
    }
    // The weight grid is mostly grey tiles, not white canvas.
    assert!(decode_png(&files[2]).2 > 0.5);

    // `host report` writes them again (delete one to see it come back).
    std::fs::remove_file(&files[4]).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_host"))
        .args(["report", dir.to_str().unwrap()])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        stdout.lines().filter(|l| l.starts_with("wrote ")).count(),
        5,
        "{stdout}"
    );
    assert_eq!(decode_png(&files[4]).0, CONFUSION_SIZE.0);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn lr_comparison_chart() {
    let dir = temp_dir("comparison");
    std::fs::create_dir_all(&dir).unwrap();
    let curve = |rate: f64| TrainStats {
        loss_history: (0..500)
            .map(|i| 2.3 * (-(i as f64) * rate).exp() + 0.1)
            .collect(),
        train_acc_history: vec![0.1, 0.6, 0.8],
        val_acc_history: vec![0.1, 0.65, 0.85],
    };
    let path = pictures::write_lr_comparison(
        &dir.join("lr_comparison.png"),
        &curve(0.002),
        &curve(0.01),
        "synthetic curves",
    )
    .unwrap();
    let (w, h, ink) = decode_png(&path);
    assert_eq!((w, h), COMPARISON_SIZE);
    assert!(ink > 0.01);
    std::fs::remove_dir_all(&dir).unwrap();
}

fn report_err(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_host"))
        .arg("report")
        .args(args)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "expected failure for {args:?}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    stderr
}

#[test]
fn bad_run_folders_give_clear_errors() {
    let missing = temp_dir("missing");
    let e = report_err(&[missing.to_str().unwrap()]);
    assert!(e.contains("does not exist"), "{e}");

    let empty = temp_dir("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let e = report_err(&[empty.to_str().unwrap()]);
    assert!(e.contains("metrics.json"), "{e}");

    std::fs::write(empty.join("metrics.json"), "{\"hidden\": 50}").unwrap();
    let e = report_err(&[empty.to_str().unwrap()]);
    assert!(
        e.contains("not the metrics.json of a `host train` run"),
        "{e}"
    );

    // Good metrics, damaged checkpoint.
    let src = temp_dir("src");
    let mut s = Preset::Default.settings();
    s.hidden = 50;
    s.epochs = None;
    s.train.num_iters = 5;
    host::report::training::train_and_write(
        &s,
        &mnist::default_data_dir(),
        Some(src.clone()),
        true,
    )
    .unwrap();
    std::fs::copy(src.join("metrics.json"), empty.join("metrics.json")).unwrap();
    std::fs::write(empty.join("model.ckpt"), b"not a checkpoint").unwrap();
    let e = report_err(&[empty.to_str().unwrap()]);
    assert!(e.contains("not a float checkpoint"), "{e}");

    // Good run folder, MNIST folder gone.
    let e = report_err(&[src.to_str().unwrap(), "--data", missing.to_str().unwrap()]);
    assert!(e.contains("loading the MNIST test set"), "{e}");
    assert!(e.contains("not found"), "{e}");

    std::fs::remove_dir_all(&empty).unwrap();
    std::fs::remove_dir_all(&src).unwrap();
}
