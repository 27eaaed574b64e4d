//! The device commands through the `host` binary: argument handling, `qemu-eval --json` and
//! `deploy --board mps2-an386` end to end on a few images (need `qemu-system-arm`; fail with an
//! install hint without it), and the hints for a serial port that is missing or never answers
//! (a pseudo-terminal pair stands in for a board without firmware).

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

/// The default model's id, as `deploy` prints it.
fn default_model_id() -> String {
    let path = host::device::firmware_build::default_model_path();
    let bytes = std::fs::read(&path).expect("data/model.postcard");
    let model = model_format::Model::from_bytes(&bytes).expect("the committed model decodes");
    format!("{:016x}", model.model_id())
}

#[test]
fn deploy_to_a_qemu_board_classifies_identically_and_counts_instructions() {
    let out = host()
        .args(["deploy", "--board", "mps2-an386", "--images", "5"])
        .output()
        .expect("run host");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "deploy failed:\n{stdout}\n{stderr}");
    let id = default_model_id();
    assert!(
        stdout.contains(&format!("model id {id}: the board runs it")),
        "{stdout}"
    );
    assert!(stdout.contains("board: qemu-mps2-an386"), "{stdout}");
    assert!(
        stdout.contains("identical to the host reference: 5/5"),
        "{stdout}"
    );
    let per = stdout
        .lines()
        .find_map(|l| l.strip_prefix("per inference: "))
        .unwrap_or_else(|| panic!("no instruction count in:\n{stdout}"));
    let count: f64 = per.split_whitespace().next().unwrap().parse().unwrap();
    assert!(
        per.contains("instructions (QEMU -icount)") && count > 10_000.0,
        "{per}"
    );
}

#[test]
fn deploy_run_takes_the_run_folders_model() {
    let run = tempfile::tempdir().unwrap();
    std::fs::copy(
        host::device::firmware_build::default_model_path(),
        run.path().join("model.postcard"),
    )
    .unwrap();
    let out = host()
        .args(["deploy", "--board", "mps2-an386", "--images", "2", "--run"])
        .arg(run.path())
        .output()
        .expect("run host");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let want = format!("model: {}", run.path().join("model.postcard").display());
    assert!(stdout.contains(&want), "wanted `{want}` in:\n{stdout}");
    assert!(
        stdout.contains("identical to the host reference: 2/2"),
        "{stdout}"
    );

    // A run folder without a model says so (before building anything).
    let empty = tempfile::tempdir().unwrap();
    let out = host()
        .args(["deploy", "--board", "mps2-an386", "--run"])
        .arg(empty.path())
        .output()
        .expect("run host");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("no model.postcard"), "{stderr}");
}

#[test]
fn deploy_without_probe_rs_names_the_install_command() {
    // A PATH with no probe-rs on it: the error comes before any build.
    let empty = tempfile::tempdir().unwrap();
    for board in ["nucleo-f411re", "microbit-v2"] {
        let out = host()
            .args(["deploy", "--board", board])
            .env("PATH", empty.path())
            .output()
            .expect("run host");
        assert!(!out.status.success());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("probe-rs not found")
                && stderr.contains("cargo install probe-rs-tools --locked"),
            "{stderr}"
        );
        assert!(!String::from_utf8_lossy(&out.stdout).contains("building"));
    }
}

#[test]
fn classify_on_a_nonexistent_port_lists_the_ports_or_says_none() {
    let out = host()
        .args(["classify", "--port", "/nonexistent", "--images", "1"])
        .output()
        .expect("run host");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("/nonexistent: no such serial port;")
            && (stderr.contains("serial ports found: ")
                || stderr.contains("no serial ports found: is the board plugged in?")),
        "{stderr}"
    );
    assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr}");
}

#[test]
fn classify_on_a_port_that_never_answers_asks_whether_the_firmware_is_flashed() {
    // A pseudo-terminal pair (no extra package): the host opens the slave side, nobody
    // answers on the master side, which this test holds open until the host gave up.
    let (master, slave) = serialport::TTYPort::pair().expect("a pty pair");
    let name = serialport::SerialPort::name(&slave).expect("the pty's name");
    drop(slave);
    let out = host()
        .args(["classify", "--port", &name, "--images", "1"])
        .output()
        .expect("run host");
    drop(master);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("{name} does not answer: is the firmware flashed?"))
            && stderr.contains("host deploy --board"),
        "{stderr}"
    );
    assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr}");
}

/// QEMU, killed when dropped (a failed assertion must not leave it running).
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The default firmware serving in QEMU with its UART on a pseudo-terminal: the same path as a
/// board's /dev/ttyACM0 (open, the Info handshake, then the images), no hardware needed.
/// Returns QEMU (killed when dropped) and the pty's name.
fn firmware_on_a_pty() -> (KillOnDrop, String) {
    use std::io::{BufRead, BufReader};
    let board = host::device::board::Board::QemuMps2An386;
    let elf = host::device::firmware_build::build_firmware(
        board,
        &host::device::firmware_build::default_model_path(),
        false,
    )
    .expect("firmware builds");
    let mut child = std::process::Command::new(host::device::qemu::find_qemu(board).unwrap())
        .args([
            "-machine",
            "mps2-an386",
            "-display",
            "none",
            "-monitor",
            "none",
        ])
        .args(["-icount", "shift=0", "-serial", "pty"])
        .args([
            "-semihosting-config",
            "enable=on,target=native,arg=firmware,arg=serve",
        ])
        .arg("-kernel")
        .arg(&elf)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("QEMU starts");
    let stdout = child.stdout.take().unwrap();
    let qemu = KillOnDrop(child);
    // QEMU 7.2 names the pty on stdout first thing ("char device redirected to /dev/pts/N
    // (label serial0)"), then the firmware's semihosting console follows: read it all on a
    // thread (a full pipe would stop QEMU) and pass the pty's name on.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(pts) = line.split_whitespace().find(|w| w.starts_with("/dev/pts/")) {
                let _ = tx.send(pts.to_owned());
            }
        }
    });
    let pts = rx
        .recv_timeout(std::time::Duration::from_secs(30))
        .expect("QEMU names its pty within 30 s");
    (qemu, pts)
}

#[test]
fn classify_port_talks_to_the_firmware_on_a_real_tty() {
    let (_qemu, pts) = firmware_on_a_pty();
    let out = host()
        .args(["classify", "--port", &pts, "--images", "3"])
        .output()
        .expect("run host");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("identical to the host reference: 3/3"),
        "{stdout}"
    );
}

#[test]
fn deploy_to_a_probe_rs_board_flashes_then_talks_to_its_port() {
    // The Nucleo's flow with a stand-in probe-rs that records its calls, and the firmware in
    // QEMU on a pty as the board's serial port (it runs the same model, so the id matches).
    use std::os::unix::fs::PermissionsExt;
    let bin = tempfile::tempdir().unwrap();
    let log = bin.path().join("calls.log");
    let fake = bin.path().join("probe-rs");
    std::fs::write(
        &fake,
        format!("#!/bin/sh\necho \"$*\" >> '{}'\n", log.display()),
    )
    .unwrap();
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!(
        "{}:{}",
        bin.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let (_qemu, pts) = firmware_on_a_pty();
    let out = host()
        .args([
            "deploy",
            "--board",
            "nucleo-f411re",
            "--images",
            "3",
            "--port",
            &pts,
        ])
        .env("PATH", path)
        .output()
        .expect("run host");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let calls = std::fs::read_to_string(&log).expect("probe-rs was called");
    let calls: Vec<&str> = calls.lines().collect();
    assert_eq!(calls.len(), 2, "{calls:?}");
    assert!(
        calls[0].starts_with("download --chip STM32F411RETx ")
            && calls[0].contains("firmware-nucleo-f411re-")
            && calls[0].ends_with(".elf"),
        "{calls:?}"
    );
    assert_eq!(calls[1], "reset --chip STM32F411RETx");
    assert!(
        stdout.contains(&format!(
            "model id {}: the board runs it",
            default_model_id()
        )) && stdout.contains("identical to the host reference: 3/3"),
        "{stdout}"
    );
}
