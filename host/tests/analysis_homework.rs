//! `host homework --quick`: the reduced replay runs every section and its summary holds.

use std::process::Command;

#[test]
fn quick_homework_replay_passes_and_writes_its_chart() {
    let dir = std::env::temp_dir().join(format!("analysis-homework-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let out = Command::new(env!("CARGO_BIN_EXE_host"))
        .args(["homework", "--quick", "--out", dir.to_str().unwrap()])
        .output()
        .expect("runs host");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for section in [
        "== 1-3. Toy model",
        "== 4-5. Backward pass",
        "== 6. Train the toy network",
        "== 7-8. Train on MNIST",
        "== 9. Debug the training",
        "== 10. Tune your hyperparameters",
        "== 10-11. The homework's grid with learning rates x30",
        "== Summary ==",
    ] {
        assert!(stdout.contains(section), "missing {section:?} in\n{stdout}");
    }
    // Our numbers beside the homework's: the section-7 loss table starts with both.
    assert!(stdout.contains("2.302571"), "{stdout}");

    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("homework.json")).unwrap()).unwrap();
    let checks = report["checks"].as_array().unwrap();
    let verdict = |what: &str| {
        checks
            .iter()
            .find(|c| c["what"].as_str().unwrap().starts_with(what))
            .unwrap_or_else(|| panic!("no check {what:?}"))["verdict"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    for judged in [
        "toy scores",
        "toy loss",
        "gradient check W1",
        "gradient check b2",
        "toy training final loss",
        "fixed-LR run",
        "LR-decay run",
        "decay beats fixed LR",
        "final loss, decay vs fixed",
    ] {
        assert_eq!(verdict(judged), "pass", "{judged}");
    }
    // The quick grids are too short to judge against the homework's goals: reported only.
    assert_eq!(verdict("grid with rates x30: best validation"), "info");
    assert!(checks.iter().all(|c| c["verdict"] != "fail"));
    assert!(stdout.contains(" 0 fail,"), "{stdout}");

    // The scaled quick grid (lr 0.3) must learn far more in 500 iterations than the homework's
    // rate on our scaling (lr 1e-2): the reason the scaled grid exists.
    let hw = report["homework_grid"]["best_val"].as_f64().unwrap();
    let scaled = report["scaled_grid"]["best_val"].as_f64().unwrap();
    assert!(scaled > hw + 0.05, "scaled {scaled} vs as printed {hw}");

    let png = std::fs::read(dir.join("lr_comparison.png")).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    let width = u32::from_be_bytes(png[16..20].try_into().unwrap());
    let height = u32::from_be_bytes(png[20..24].try_into().unwrap());
    assert_eq!((width, height), host::report::pictures::COMPARISON_SIZE);
    assert!(dir.join("section8-decay/model.ckpt").is_file());
    assert!(dir.join("grid-scaled/results.csv").is_file());
    std::fs::remove_dir_all(&dir).unwrap();
}
