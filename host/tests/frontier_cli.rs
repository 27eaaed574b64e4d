//! `host frontier` end to end on a quick setting (one epoch, 200 test images): train, the
//! firmware in QEMU on the M4 and the M0, the table, picture and JSON; a second call reuses the
//! run instead of training again. Needs qemu-system-arm (tests/run-all.sh installs it).

use std::process::{Command, Output};

fn host(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_host"))
        .args(args)
        .output()
        .expect("runs host")
}

fn rows(out: &Output) -> Vec<serde_json::Value> {
    assert!(
        out.status.success(),
        "host frontier failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let last = stdout.lines().last().unwrap_or_default();
    serde_json::from_str::<Vec<serde_json::Value>>(last)
        .unwrap_or_else(|e| panic!("last line is not a JSON array ({e}): {stdout}"))
}

#[test]
fn frontier_measures_each_preset_on_both_cores_and_reuses_its_runs() {
    let dir = std::env::temp_dir().join(format!("host-frontier-{}", std::process::id()));
    let d = dir.to_str().unwrap();
    let args = [
        "frontier",
        "--presets",
        "h16",
        "--epochs",
        "1",
        "--images",
        "200",
        "--out",
        d,
        "--json",
    ];
    let first = host(&args);
    let r = rows(&first);
    assert_eq!(r.len(), 1);
    let row = &r[0];
    assert_eq!(row["preset"], "h16");
    assert_eq!(row["hidden"], 16);
    assert_eq!(row["images"], 200);
    assert_eq!(row["identical_m4"], 200, "{row}");
    assert_eq!(row["identical_m0"], 200, "{row}");
    let model_bytes = std::fs::metadata(dir.join("h16/model.postcard"))
        .unwrap()
        .len();
    assert_eq!(row["model_bytes"], model_bytes);
    assert!(row["flash_bytes"].as_u64().unwrap() > model_bytes);
    // The M0 has no SIMD multiply-accumulate: more instructions than the M4 for the same net.
    let m4 = row["m4_instructions"].as_f64().unwrap();
    let m0 = row["m0_instructions"].as_f64().unwrap();
    assert!(m4 > 1000.0 && m0 > m4, "M4 {m4}, M0 {m0}");
    let chip = row["chip_test_pct"].as_f64().unwrap();
    assert!(
        (50.0..=100.0).contains(&chip),
        "one epoch of h16 reached {chip} %"
    );

    let md = std::fs::read_to_string(dir.join("frontier.md")).unwrap();
    assert!(md.contains("| `h16` | 784-16-10 |"), "{md}");
    let png = std::fs::read(dir.join("frontier.png")).unwrap();
    assert_eq!(&png[1..4], b"PNG");
    let json: Vec<serde_json::Value> =
        serde_json::from_str(&std::fs::read_to_string(dir.join("frontier.json")).unwrap()).unwrap();
    assert_eq!(json, r);

    // Same settings: the run is reused (no training), the figures are the same.
    let again = host(&args);
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&again.stdout),
        String::from_utf8_lossy(&again.stderr)
    );
    assert!(said.contains("reusing"), "{said}");
    assert!(!said.contains("epoch 1/1"), "trained again:\n{said}");
    let r2 = rows(&again);
    assert_eq!(r2[0]["chip_test_pct"], row["chip_test_pct"]);
    assert_eq!(r2[0]["train_seconds"], row["train_seconds"]);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn an_unknown_preset_is_a_one_line_error() {
    let out = host(&["frontier", "--presets", "h17"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("invalid value 'h17'"), "{stderr}");
    assert!(
        stderr.contains("h16"),
        "the error lists the presets: {stderr}"
    );
}
