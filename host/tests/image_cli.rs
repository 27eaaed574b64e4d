//! `host classify --image FILE` as a user runs it: the drawn digits of `tests/data/drawn/`
//! (made by `scripts/draw-test-digits.py`) classified with the committed model, bad files
//! refused with one-line errors, and the firmware in QEMU agreeing with the host.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn host(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_host"))
        .args(args)
        .output()
        .expect("runs host")
}

fn drawn(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/drawn")
        .join(name)
}

fn classify(path: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["classify", "--image", path.to_str().unwrap()];
    args.extend(extra);
    host(&args)
}

/// The `class: N` line of a successful run.
fn printed_class(out: &Output) -> u8 {
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
        .lines()
        .find_map(|l| l.strip_prefix("class: "))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no `class: N` line in:\n{stdout}"))
}

/// Every drawn digit (dark on light, light on dark, off-centre, large, grey paper, coloured ink,
/// transparent background, a fine pen, a photo-like one with uneven light and noise, one PGM)
/// is classified as the digit it shows.
#[test]
fn every_drawn_digit_is_classified_correctly() {
    let cases = [
        ("zero-dark-on-light.png", 0),
        ("one-light-on-dark.png", 1),
        ("two-off-centre.png", 2),
        ("three-grey-paper.pgm", 3),
        ("four-blue-ink.png", 4),
        ("five-transparent.png", 5),
        ("five-photo-uneven-light.png", 5),
        ("six-large.png", 6),
        ("seven-small-corner.png", 7),
        ("eight-chalkboard.png", 8),
        ("eight-thin-pen.png", 8),
        ("nine-red-ink.png", 9),
    ];
    let dir = drawn("");
    let on_disk = std::fs::read_dir(&dir).unwrap().count();
    assert_eq!(
        on_disk,
        cases.len(),
        "a drawn image without a case in {dir:?}"
    );
    let wrong: Vec<String> = cases
        .iter()
        .filter_map(|&(name, want)| {
            let got = printed_class(&classify(&drawn(name), &[]));
            (got != want).then(|| format!("{name}: {got}, want {want}"))
        })
        .collect();
    assert!(wrong.is_empty(), "misclassified: {wrong:?}");
}

/// The report: ten logits, a confidence, what the preprocessing did; `--show` writes the
/// enlarged 28x28 picture.
#[test]
fn the_report_has_the_logits_and_show_writes_the_picture() {
    let dir = tempfile::tempdir().unwrap();
    let show = dir.path().join("seen.png");
    let out = classify(
        &drawn("two-off-centre.png"),
        &["--show", show.to_str().unwrap()],
    );
    assert_eq!(printed_class(&out), 2);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("300x200") && stdout.contains("inverted"),
        "{stdout}"
    );
    assert!(stdout.contains("confidence"), "{stdout}");
    let rows = stdout
        .lines()
        .filter(|l| l.trim_end().ends_with('%') || l.ends_with("% <"))
        .count();
    assert_eq!(rows, 10, "{stdout}");
    let img = image::open(&show).expect("--show wrote a PNG").to_luma8();
    assert_eq!(img.dimensions(), (224, 224));
    // Ink bright on black: the corners are background, something is at full brightness.
    assert_eq!(img.get_pixel(0, 0).0, [0]);
    assert!(img.pixels().any(|p| p.0 == [255]));
}

fn one_line_error(out: &Output) -> String {
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.starts_with("error: "), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(!err.contains("panicked"), "{err}");
    err
}

#[test]
fn bad_images_give_one_line_errors() {
    let dir = tempfile::tempdir().unwrap();

    let text = dir.path().join("notes.png");
    std::fs::write(&text, "this is not a picture\n").unwrap();
    let err = one_line_error(&classify(&text, &[]));
    assert!(err.contains("notes.png"), "{err}");

    let unknown = dir.path().join("digit.bin");
    std::fs::write(&unknown, [0u8, 1, 2, 3, 4, 5, 6, 7]).unwrap();
    let err = one_line_error(&classify(&unknown, &[]));
    assert!(err.contains("not a PNG or PNM"), "{err}");

    let white = dir.path().join("white.png");
    image::GrayImage::from_pixel(120, 80, image::Luma([255]))
        .save(&white)
        .unwrap();
    let err = one_line_error(&classify(&white, &[]));
    assert!(err.contains("white.png") && err.contains("blank"), "{err}");

    // The header alone claims 50 megapixels: refused before decoding.
    let huge = dir.path().join("huge.pgm");
    std::fs::write(&huge, "P5\n10000 5000\n255\n").unwrap();
    let err = one_line_error(&classify(&huge, &[]));
    assert!(
        err.contains("10000x5000") && err.contains("limit is 40 megapixels"),
        "{err}"
    );

    // Cut short after the header.
    let cut = dir.path().join("cut.pgm");
    std::fs::write(&cut, "P5\n30 30\n255\nabc").unwrap();
    let err = one_line_error(&classify(&cut, &[]));
    assert!(err.contains("cut.pgm"), "{err}");

    let err = one_line_error(&classify(&dir.path().join("missing.png"), &[]));
    assert!(err.contains("missing.png"), "{err}");
}

#[test]
fn image_arguments_are_checked() {
    // --show needs --image; --images (test-set count) and --image exclude each other.
    let out = host(&["classify", "--qemu", "--show", "/tmp/x.png"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--image"), "{err}");
    let two = drawn("two-off-centre.png");
    let out = host(&[
        "classify",
        "--image",
        two.to_str().unwrap(),
        "--images",
        "5",
    ]);
    assert_eq!(out.status.code(), Some(2));
}

/// The firmware in QEMU (mps2-an386, the default board) gets the same 28x28 image and answers
/// with the host's logits exactly (needs `qemu-system-arm`; fails with an install hint
/// without it).
#[test]
fn qemu_logits_equal_the_hosts_for_a_drawn_digit() {
    let out = classify(&drawn("four-blue-ink.png"), &["--qemu"]);
    assert_eq!(printed_class(&out), 4);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("device identical to the host (class, logits, confidence bits): yes"),
        "{stdout}"
    );
    assert!(stdout.contains("instructions (QEMU -icount)"), "{stdout}");
    // Each of the ten rows: class, host logit, device logit (equal), probability.
    let rows: Vec<Vec<&str>> = stdout
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .filter(|w| w.len() >= 4 && w[0].parse::<u8>().is_ok() && w[3].parse::<f64>().is_ok())
        .collect();
    assert_eq!(rows.len(), 10, "{stdout}");
    assert!(rows.iter().all(|w| w[1] == w[2]), "{stdout}");
}
