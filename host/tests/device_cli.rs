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

#[test]
fn classify_with_a_missing_elf_says_so() {
    let out = host()
        .args([
            "classify",
            "--qemu",
            "--images",
            "1",
            "--elf",
            "/nonexistent.elf",
        ])
        .output()
        .expect("run host");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("firmware ELF /nonexistent.elf: No such file or directory"),
        "{stderr}"
    );
    assert!(!stderr.contains("Connection reset"), "{stderr}");
}

#[test]
fn a_qemu_that_exits_on_the_uart_shows_its_own_error() {
    // Bypass the CLI's up-front check: QEMU accepts the UART connection, then fails to load the
    // kernel and exits; the client's error must carry QEMU's stderr.
    let mut session = host::device::qemu::SerialSession::start_on(
        host::device::board::Board::QemuMps2An386,
        std::path::Path::new("/nonexistent.elf"),
    )
    .expect("QEMU starts and opens its UART socket");
    let stream = session.stream.try_clone().unwrap();
    let mut client = host::device::client::Client::new(stream, std::time::Duration::from_secs(5));
    let err = client.info().unwrap_err();
    let err = format!("{:#}", session.explain(err));
    assert!(
        err.contains("QEMU exited") && err.contains("Could not load kernel '/nonexistent.elf'"),
        "{err}"
    );
}
