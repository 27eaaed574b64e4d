//! The `host` binary as a user runs it.

use std::process::Command;

fn host(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_host"))
        .args(args)
        .output()
        .expect("runs host")
}

fn last_json(out: &std::process::Output) -> serde_json::Value {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let last = stdout.lines().last().unwrap_or_default();
    serde_json::from_str(last).unwrap_or_else(|e| panic!("last line is not JSON ({e}): {stdout}"))
}

#[test]
fn toy_json_has_the_documented_keys() {
    let out = host(&["toy", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = last_json(&out);
    let scores = v["scores"].as_array().unwrap();
    assert_eq!(scores.len(), 5);
    assert!(scores.iter().all(|r| r.as_array().unwrap().len() == 3));
    assert!((v["loss"].as_f64().unwrap() - 1.30378789133).abs() < 1e-12);
    for p in ["W1", "b1", "W2", "b2"] {
        assert!(v["grad_rel_error"][p].as_f64().unwrap() < 1e-8, "{p}");
    }
    assert!(v["train_final_loss"].as_f64().unwrap() < 0.05);
}

#[test]
fn train_json_and_run_folder() {
    let dir = std::env::temp_dir().join(format!("host-cli-train-{}", std::process::id()));
    let out = host(&[
        "train",
        "--hidden",
        "64",
        "--iters",
        "60",
        "--lr",
        "0.1",
        "--out",
        dir.to_str().unwrap(),
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = last_json(&out);
    for k in ["val_acc", "test_acc", "train_seconds", "hidden", "iters"] {
        assert!(!v[k].is_null(), "missing {k}: {v}");
    }
    assert_eq!(v["hidden"], 64);
    assert_eq!(v["iters"], 60);
    assert!(
        v["val_acc"].as_f64().unwrap() > 0.25,
        "learned beyond chance: {v}"
    );
    assert!(dir.join("model.ckpt").is_file() && dir.join("metrics.json").is_file());

    // The checkpoint evaluates to the same test accuracy.
    let ckpt = dir.join("model.ckpt");
    let eval = host(&["eval", "--checkpoint", ckpt.to_str().unwrap(), "--json"]);
    assert!(
        eval.status.success(),
        "{}",
        String::from_utf8_lossy(&eval.stderr)
    );
    assert_eq!(last_json(&eval)["float_test_acc"], v["test_acc"]);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The smallest built-in widths (16 and 32 hidden units, for the smallest flash budgets) train,
/// quantise and evaluate end to end: the int8 model file decodes, runs the shared integer kernel
/// and gives the test accuracy the run reported.
#[test]
fn sixteen_and_thirty_two_hidden_units_train_quantise_and_evaluate() {
    for hidden in ["16", "32"] {
        let dir = tempfile::tempdir().unwrap();
        let run = dir.path().join("run");
        let out = host(&[
            "train",
            "--hidden",
            hidden,
            "--iters",
            "300",
            "--lr",
            "0.1",
            "--init-std",
            "0.01",
            "--out",
            run.to_str().unwrap(),
            "--json",
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v = last_json(&out);
        assert_eq!(v["hidden"].to_string(), hidden);
        let float = v["test_acc"].as_f64().unwrap();
        let int8 = v["int8_test_acc"].as_f64().expect("an int8 accuracy");
        assert!(float > 0.85, "hidden {hidden} learned: {v}");
        assert!(
            (int8 - float).abs() < 0.02,
            "hidden {hidden} int8 close to float: {v}"
        );

        let model = run.join("model.postcard");
        let ckpt = run.join("model.ckpt");
        let eval = host(&[
            "eval",
            "--checkpoint",
            ckpt.to_str().unwrap(),
            "--model",
            model.to_str().unwrap(),
            "--json",
        ]);
        assert!(
            eval.status.success(),
            "{}",
            String::from_utf8_lossy(&eval.stderr)
        );
        let e = last_json(&eval);
        assert_eq!(e["hidden"].to_string(), hidden);
        assert_eq!(e["float_test_acc"], v["test_acc"]);
        assert_eq!(e["int8_test_acc"], v["int8_test_acc"]);
    }
}

/// metrics.json of an `--epochs` run: the iterations it made (not the preset's 2,000) and
/// the model id in hex, as every other output writes it.
#[test]
fn metrics_json_records_the_iterations_made_and_a_hex_model_id() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    let out = host(&[
        "train",
        "--hidden",
        "50",
        "--epochs",
        "1",
        "--batch",
        "5500",
        "--out",
        run.to_str().unwrap(),
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("metrics.json")).unwrap()).unwrap();
    assert_eq!(m["iters"], 10, "{m}");
    assert_eq!(m["settings"]["train"]["num_iters"], 10, "{m}");
    let id = m["model_id"].as_str().expect("model_id is a string");
    assert!(
        id.len() == 16 && id.chars().all(|c| c.is_ascii_hexdigit()),
        "{id}"
    );
    assert_eq!(last_json(&out)["model_id"], id);
}

/// The epoch lines count from 1 to N (no line for the untrained net), and the last one is
/// the final model's, so it agrees with the summary.
#[test]
fn epoch_lines_count_from_one_and_the_last_agrees_with_the_summary() {
    let dir = tempfile::tempdir().unwrap();
    let out = host(&[
        "train",
        "--hidden",
        "50",
        "--epochs",
        "3",
        "--batch",
        "5500",
        "--out",
        dir.path().join("run").to_str().unwrap(),
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    let epochs: Vec<&str> = text.lines().filter(|l| l.starts_with("epoch")).collect();
    assert_eq!(epochs.len(), 3, "{text}");
    for (k, line) in epochs.iter().enumerate() {
        assert!(line.starts_with(&format!("epoch {}/3:", k + 1)), "{line}");
    }
    let val = |line: &str, key: &str| -> String {
        let at = line
            .find(key)
            .unwrap_or_else(|| panic!("no {key:?} in {line}"))
            + key.len();
        line[at..].chars().take(6).collect()
    };
    let summary = text
        .lines()
        .find(|l| l.starts_with("validation accuracy"))
        .expect("summary line");
    assert_eq!(
        val(epochs[2], "val acc "),
        val(summary, "validation accuracy "),
        "{text}"
    );
    assert!(!text.contains("extras: {"), "settings as raw JSON: {text}");
}

#[test]
fn bad_input_gives_clear_errors_not_panics() {
    let out = host(&["train", "--hidden", "77", "--iters", "1"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("hidden size 77") && !err.contains("panicked"),
        "{err}"
    );

    let out = host(&["train", "--data", "/nonexistent", "--iters", "1"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("/nonexistent/train-images-idx3-ubyte") && !err.contains("panicked"),
        "{err}"
    );

    let out = host(&[
        "train",
        "--lr",
        "1e30",
        "--iters",
        "50",
        "--out",
        "/tmp/host-cli-diverge",
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("diverged at iteration 1") && err.contains("learning rate 9.5e29"),
        "{err}"
    );

    let out = host(&["eval", "--checkpoint", "/nonexistent.ckpt"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent.ckpt"));
}

/// A user error is one line, whatever RUST_BACKTRACE says (it is set on many developers'
/// machines, and returning an error from `main` then printed a stack backtrace).
#[test]
fn user_errors_are_one_line_without_a_backtrace() {
    let out = Command::new(env!("CARGO_BIN_EXE_host"))
        .args(["inspect", "/nonexistent.postcard"])
        .env("RUST_BACKTRACE", "1")
        .output()
        .expect("runs host");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.starts_with("error: "), "{err}");
    assert!(err.contains("/nonexistent.postcard"), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(!err.to_lowercase().contains("backtrace"), "{err}");
}

/// `classify` with neither device names both ways to get one.
#[test]
fn classify_without_a_device_names_port_and_qemu() {
    let out = host(&["classify"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("--port") && err.contains("--qemu"), "{err}");
}

/// Run `host` with `args` (plus `--out DIR`), expect a non-zero exit, an error naming
/// `want`, no panic and no run folder; return stderr.
fn rejected_before_running(args: &[&str], want: &[&str]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("run");
    let mut full = args.to_vec();
    full.extend(["--out", out_dir.to_str().unwrap()]);
    let out = host(&full);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "{args:?} was accepted:\n{err}");
    assert_eq!(out.status.code(), Some(2), "a usage error: {err}");
    for w in want {
        assert!(err.contains(w), "{args:?}: no `{w}` in:\n{err}");
    }
    assert!(
        !err.contains("panicked") && !err.contains("memory allocation"),
        "{err}"
    );
    assert!(!out_dir.exists(), "{args:?} wrote {}", out_dir.display());
    err
}

#[test]
fn zero_iterations_or_epochs_are_rejected() {
    rejected_before_running(
        &["train", "--iters", "0"],
        &[
            "'0' for '--iters <ITERS>'",
            "must be from 1 to 10000000",
            "untrained net",
        ],
    );
    rejected_before_running(
        &["train", "--epochs", "0"],
        &[
            "'0' for '--epochs <EPOCHS>'",
            "must be from 1 to 10000",
            "untrained net",
        ],
    );
}

#[test]
fn size_flags_are_bounded_before_anything_is_allocated() {
    rejected_before_running(
        &["train", "--iters", "1", "--batch", "100000000"],
        &[
            "--batch",
            "must be from 1 to 55000",
            "55000 training images",
        ],
    );
    rejected_before_running(&["train", "--iters", "1", "--batch", "55001"], &["55000"]);
    rejected_before_running(&["train", "--iters", "1", "--batch", "0"], &["--batch"]);
    rejected_before_running(&["train", "--iters", "10000001"], &["10000000"]);
    rejected_before_running(&["train", "--epochs", "10001"], &["10000"]);
    rejected_before_running(
        &["train", "--iters", "1", "--hidden", "100000000"],
        &["hidden size 100000000 is not built in"],
    );
    rejected_before_running(
        &["train", "--iters", "1", "--cosine", "--warmup", "10000001"],
        &["--warmup"],
    );
    rejected_before_running(&["tune", "--batch", "200,55001"], &["--batch", "55000"]);
    rejected_before_running(&["tune", "--iters", "0"], &["--iters"]);
    rejected_before_running(&["tune", "--epochs", "10001"], &["--epochs"]);
    rejected_before_running(&["tune", "--jobs", "0"], &["--jobs", "from 1 to 256"]);
    rejected_before_running(&["tune", "--jobs", "257"], &["--jobs", "from 1 to 256"]);
    rejected_before_running(&["tune", "--random", "0"], &["--random"]);
    rejected_before_running(&["tune", "--hidden", "64,77"], &["hidden size 77"]);
    rejected_before_running(&["homework", "--jobs", "100000"], &["--jobs"]);
}

#[test]
fn epochs_times_small_batches_are_bounded_too() {
    // 10,000 epochs of batch 1 = 550 million iterations: refused before the data is read.
    let out = host(&[
        "train",
        "--epochs",
        "10000",
        "--batch",
        "1",
        "--data",
        "/nonexistent",
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("10000 epochs at batch 1 make 550000000 iterations, more than the 10000000"),
        "{err}"
    );
}

#[test]
fn test_set_image_counts_are_bounded() {
    for cmd in ["classify", "qemu-eval"] {
        for n in ["0", "10001"] {
            let mut args = vec![cmd, "--images", n];
            if cmd == "classify" {
                args.extend(["--port", "/dev/null"]);
            }
            let out = host(&args);
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{cmd} --images {n}: {err}");
            assert!(
                err.contains("must be from 1 to 10000: the MNIST test set has 10000 images"),
                "{err}"
            );
        }
    }
}

#[test]
fn real_flags_reject_nan_infinity_and_out_of_range() {
    for (flag, value, want) in [
        ("--init-std", "nan", "must be a finite number, not NaN"),
        ("--init-std", "0", "must be greater than 0"),
        ("--lr", "inf", "must be a finite number, not inf"),
        ("--lr", "-0.1", "must be greater than 0"),
        ("--reg", "-1e-3", "must be 0 or more"),
        ("--reg", "nan", "finite"),
        ("--lr-decay", "0", "must be greater than 0"),
        ("--momentum", "1", "must be at least 0 and below 1"),
        ("--momentum", "-0.5", "below 1"),
        ("--dropout-input", "1", "below 1"),
        ("--dropout-hidden", "nan", "finite"),
        ("--weight-decay", "-1", "must be 0 or more"),
        ("--label-smoothing", "1", "below 1"),
        ("--label-smoothing", "-0.1", "must be at least 0"),
        ("--ema", "1", "must be above 0 and below 1"),
        ("--ema", "0", "must be above 0 and below 1"),
    ] {
        let arg = format!("{flag}={value}");
        let err = rejected_before_running(&["train", "--iters", "1", &arg], &[want]);
        assert!(!err.contains("diverged"), "{err}");
    }
    let out = host(&["gradcheck", "--reg=nan"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("finite"));
}
