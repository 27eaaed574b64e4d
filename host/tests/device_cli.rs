//! The device commands through the `host` binary: argument handling, and `qemu-eval --json`
//! end to end on a few images (needs `qemu-system-arm`; fails with an install hint without it).

use std::process::Command;

fn host() -> Command {
    Command::new(env!("CARGO_BIN_EXE_host"))
}

#[test]
fn qemu_eval_json_reports_the_documented_keys() {
    let out = host()
        .args(["qemu-eval", "--images", "50", "--json"])
        .output()
        .expect("run host");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "qemu-eval failed:\n{stderr}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout.lines().last().expect("one JSON line");
    let v: serde_json::Value = serde_json::from_str(line).expect("JSON");
    for key in [
        "images",
        "identical",
        "accuracy",
        "instructions_per_inference",
        "flash_bytes",
        "ram_bytes",
    ] {
        assert!(v.get(key).is_some(), "missing `{key}` in {line}");
    }
    assert_eq!(v["images"], 50);
    assert_eq!(v["identical"], 50);
    assert!(v["flash_bytes"].as_u64().unwrap() > v["rodata_bytes"].as_u64().unwrap());
    assert!(v["ram_bytes"].as_u64().unwrap() > v["bss_bytes"].as_u64().unwrap());
}

#[test]
fn classify_needs_a_port_or_qemu() {
    let out = host().arg("classify").output().expect("run host");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--port"), "{stderr}");
}

#[test]
fn classify_on_a_missing_port_fails_cleanly() {
    let out = host()
        .args([
            "classify",
            "--port",
            "/dev/does-not-exist-fw",
            "--images",
            "1",
        ])
        .output()
        .expect("run host");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("/dev/does-not-exist-fw"), "{stderr}");
}

#[test]
fn qemu_eval_rejects_a_bad_model_file() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.postcard");
    std::fs::write(&bad, b"not a model").unwrap();
    let out = host()
        .args(["qemu-eval", "--images", "1", "--model"])
        .arg(&bad)
        .output()
        .expect("run host");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("bad.postcard"), "{stderr}");
}
