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
