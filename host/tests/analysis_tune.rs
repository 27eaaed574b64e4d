//! `host tune` on tiny grids: the table, CSV/JSON, best-run selection and export,
//! reproducibility, and errors for bad input.

use std::path::PathBuf;
use std::process::Command;

use host::data::mnist;
use host::train::checkpoint::Checkpoint;
use host::train::presets::Preset;
use host::tune::search_space::{Length, RealDim, Space};
use host::tune::{self, RunResult, TuneOptions};

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("analysis-tune-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

/// hidden 50, 120 iterations of batch 100: three learning rates, one of which diverges.
fn tiny_space() -> Space {
    Space {
        hidden: vec![50],
        lr: RealDim::List(vec![0.1, 1e4, 0.3]),
        batch: vec![100],
        length: Length::Iters(vec![120]),
        ..Space::single(&Preset::Default.settings())
    }
}

fn options(out_dir: PathBuf, jobs: usize, export: bool) -> TuneOptions {
    TuneOptions {
        jobs,
        out_dir,
        pictures: export,
        int8: export,
        quiet: true,
        data_dir: mnist::default_data_dir(),
    }
}

#[test]
fn tiny_grid_table_files_best_run_and_reproducibility() {
    let raw = mnist::load_raw(&mnist::default_data_dir()).expect("data/mnist ships with the repo");
    let ds = mnist::Dataset::from_raw(&raw);
    let out_dir = temp_dir("grid");
    let out =
        tune::tune(&tiny_space(), &raw, &ds, &options(out_dir.clone(), 2, true)).expect("tune");

    // Three rows: two trained, the lr 1e4 run diverged and is listed last with its error.
    assert_eq!(out.results.len(), 3);
    let failed = &out.results[2];
    assert_eq!((failed.index, failed.learning_rate), (2, 1e4));
    assert!(failed.val_acc.is_none());
    assert!(
        failed.error.as_deref().unwrap_or("").contains("diverged"),
        "{failed:?}"
    );
    let vals: Vec<f64> = out.results[..2]
        .iter()
        .map(|r| r.val_acc.unwrap())
        .collect();
    assert!(vals[0] >= vals[1], "sorted best first: {vals:?}");
    assert!(
        vals.iter().all(|v| (0.5..=1.0).contains(v)),
        "both learn: {vals:?}"
    );

    // The best run is the highest validation accuracy, whatever the order of the runs.
    let best = out.best.as_ref().expect("a best run");
    let top = out.results[..2]
        .iter()
        .max_by(|a, b| a.val_acc.unwrap().total_cmp(&b.val_acc.unwrap()))
        .unwrap();
    assert_eq!(best.result.index, top.index);
    assert_eq!(best.result, out.results[0]);

    // Its folder: checkpoint with the right shape, metrics that `host report` reads, int8 file.
    let ckpt = Checkpoint::load(&best.dir.join("model.ckpt")).unwrap();
    assert_eq!(ckpt.hidden, 50);
    let metrics = host::report::pictures::RunMetrics::load(&best.dir.join("metrics.json"))
        .expect("metrics.json of the best run");
    assert_eq!(metrics.val_acc, best.result.val_acc.unwrap());
    assert_eq!(
        metrics.settings.train.learning_rate,
        best.result.learning_rate
    );
    assert_eq!(metrics.stats.loss_history.len(), 120);
    let bytes = std::fs::read(best.dir.join("model.postcard")).unwrap();
    let model = model_format::Model::from_bytes(&bytes).expect("int8 model decodes");
    assert_eq!(model.dims().hidden, 50);
    let int8 = best.int8_test_acc.expect("int8 accuracy measured");
    let float = best.result.test_acc.unwrap();
    assert!((int8 - float).abs() < 0.02, "int8 {int8} vs float {float}");
    let raw_metrics: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(best.dir.join("metrics.json")).unwrap())
            .unwrap();
    assert_eq!(
        raw_metrics["int8_test_acc"], int8,
        "metrics.json records the int8 export"
    );
    assert_eq!(
        raw_metrics["model_id"],
        format!("{:016x}", model.model_id()),
        "metrics.json writes the model id in hex"
    );
    assert_eq!(
        raw_metrics["settings"]["train"]["num_iters"], raw_metrics["iters"],
        "metrics.json records the iterations the run made"
    );
    for name in host::report::pictures::RUN_PICTURES {
        assert!(best.dir.join(name).is_file(), "{name}");
    }

    // CSV: header + one line per run, best first, the failed run's error quoted in.
    let csv = std::fs::read_to_string(out_dir.join("results.csv")).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 4, "{csv}");
    assert!(
        lines[0].starts_with("index,hidden,learning_rate,reg,"),
        "{}",
        lines[0]
    );
    assert!(lines[0].contains("val_acc") && lines[0].contains("test_acc"));
    assert!(
        lines[1].starts_with(&format!("{},50,", best.result.index)),
        "{csv}"
    );
    assert!(
        lines[3].starts_with("2,50,10000.0,") && lines[3].contains("diverged"),
        "{csv}"
    );

    // JSON: the same rows, the best run, the space.
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out_dir.join("results.json")).unwrap())
            .unwrap();
    assert_eq!(json["runs"].as_array().unwrap().len(), 3);
    assert_eq!(json["best"]["result"]["index"], best.result.index);
    assert_eq!(json["runs"][0]["val_acc"], vals[0]);
    assert!(json["runs"][2]["val_acc"].is_null());
    assert_eq!(json["space"]["hidden"][0], 50);

    // The table lists every run with its rank.
    let table = tune::format_table(&out.results);
    assert_eq!(table.lines().count(), 4);
    assert!(table.lines().nth(3).unwrap().contains("failed"));

    // Each run is seeded: one job at a time gives the same numbers as two.
    let again = tune::tune(
        &tiny_space(),
        &raw,
        &ds,
        &options(temp_dir("grid-again"), 1, false),
    )
    .unwrap();
    let key = |r: &RunResult| (r.index, r.val_acc, r.test_acc, r.final_loss);
    assert_eq!(
        again.results.iter().map(key).collect::<Vec<_>>(),
        out.results.iter().map(key).collect::<Vec<_>>()
    );
    std::fs::remove_dir_all(&out_dir).unwrap();
    std::fs::remove_dir_all(temp_dir("grid-again")).ok();
}

fn row(index: usize, val: Option<f64>) -> RunResult {
    RunResult {
        index,
        hidden: 50,
        learning_rate: 0.1,
        reg: 0.0,
        lr_decay: 1.0,
        momentum: 0.9,
        batch: 10,
        iters: 1,
        epochs: 1.0,
        seed: 0,
        init_std: 1e-4,
        val_acc: val,
        test_acc: val,
        train_batch_acc: None,
        final_loss: None,
        seconds: 0.0,
        error: None,
    }
}

#[test]
fn ties_go_to_the_earlier_run_and_failures_sort_last() {
    let mut rows = vec![
        row(1, Some(0.9)),
        row(2, None),
        row(3, Some(0.95)),
        row(4, Some(0.9)),
        row(5, Some(0.95)),
    ];
    tune::sort_results(&mut rows);
    let order: Vec<usize> = rows.iter().map(|r| r.index).collect();
    assert_eq!(order, vec![3, 5, 1, 4, 2]);
}

fn host(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_host"))
        .args(args)
        .output()
        .expect("runs host")
}

fn expect_error(args: &[&str], want: &str) {
    let out = host(args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{args:?} should fail");
    assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    assert!(
        stderr.contains(want),
        "{args:?}: wanted {want:?} in {stderr}"
    );
}

#[test]
fn bad_search_spaces_are_clear_errors() {
    let dir = temp_dir("bad");
    std::fs::create_dir_all(&dir).unwrap();
    let file = |name: &str, text: &str| {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p.to_str().unwrap().to_owned()
    };
    let out = dir.join("out");
    let out = out.to_str().unwrap();
    let typo = file("typo.toml", "hiden = [50]\n");
    expect_error(
        &["tune", "--config", &typo, "--out", out],
        "unknown field `hiden`",
    );
    let syntax = file("syntax.toml", "hidden = [50\n");
    expect_error(&["tune", "--config", &syntax, "--out", out], "syntax.toml");
    let range = file("range.toml", "lr = { min = 0.01, max = 1 }\n");
    expect_error(
        &["tune", "--config", &range, "--out", out],
        "needs random search",
    );
    expect_error(
        &["tune", "--config", "/nonexistent/space.toml", "--out", out],
        "reading search space /nonexistent/space.toml",
    );
    expect_error(
        &["tune", "--hidden", "77", "--out", out],
        "77 is not built in",
    );
    expect_error(
        &["tune", "--lr", "fast", "--out", out],
        "--lr: \"fast\" is not a number",
    );
    expect_error(
        &["tune", "--jobs", "0", "--out", out],
        "--jobs <JOBS>': must be from 1 to 256",
    );
    expect_error(
        &["tune", "--search-seed", "3", "--out", out],
        "--search-seed needs --random",
    );
    assert!(
        !std::path::Path::new(out).exists(),
        "nothing trained, nothing written"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn random_search_from_the_command_line() {
    let dir = temp_dir("random");
    let out = host(&[
        "tune",
        "--random",
        "3",
        "--search-seed",
        "7",
        "--hidden",
        "50,64",
        "--lr",
        "0.05..0.5",
        "--iters",
        "40",
        "--batch",
        "100",
        "--no-pictures",
        "--out",
        dir.to_str().unwrap(),
        "--json",
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("random search, sampler seed 7"), "{stdout}");
    assert!(stdout.contains("rank  run hidden"), "{stdout}");
    let v: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    assert_eq!(v["runs"], 3);
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("results.json")).unwrap()).unwrap();
    for r in json["runs"].as_array().unwrap() {
        let lr = r["learning_rate"].as_f64().unwrap();
        assert!((0.05..=0.5).contains(&lr), "{lr}");
        assert!([50, 64].contains(&r["hidden"].as_u64().unwrap()));
        assert_eq!(r["iters"], 40);
    }
    assert!(dir.join("best/model.postcard").is_file());
    std::fs::remove_dir_all(&dir).unwrap();
}
