//! `host homework`: replay the homework and print the summary of its checks.

use clap::Args;

use crate::homework::{self, HomeworkOptions, Verdict};

#[derive(Args, Debug)]
#[command(after_help = "\
The homework is the two-layer-net assignment of Stanford's CS231n (sections as in its notebook).
The full replay trains 2 + 72 nets (sections 7-8, then both 36-run grids): about 15 minutes on
2 cores. --grid homework or --grid scaled halves that; --quick takes about 15 s.
Writes lr_comparison.png, homework.json, run folders of the section 7 and 8 runs (with pictures)
and one tune folder per grid into the output folder. Exits non-zero if a judged check fails.")]
pub struct HomeworkArgs {
    /// Reduced version (same toy checks and section 7/8 runs, a 2-run grid): about 15 s.
    #[arg(long)]
    pub quick: bool,
    /// Which grid to replay for sections 10-11.
    #[arg(long, value_enum, default_value_t = homework::GridChoice::Both)]
    pub grid: homework::GridChoice,
    /// `--jobs`, `--out` (charts, tables and best model; default runs/homework-<date>-<time>),
    /// `--data`.
    #[command(flatten)]
    pub runs: super::many_runs::ManyRunsArgs,
}

/// `host homework`.
pub fn run(a: HomeworkArgs) -> anyhow::Result<()> {
    let jobs = a.runs.jobs()?;
    let opts = HomeworkOptions {
        quick: a.quick,
        grid: a.grid,
        jobs,
        out_dir: a.runs.out_dir("homework"),
        data_dir: a.runs.data,
        quiet: false,
    };
    println!(
        "Replaying the two-layer-net homework{} into {} ({jobs} jobs)",
        if opts.quick { " (quick)" } else { "" },
        opts.out_dir.display()
    );
    let report = homework::run(&opts)?;
    println!("\n== Summary ==");
    print!("{}", homework::format_checks(&report.checks));
    let pass = report
        .checks
        .iter()
        .filter(|c| c.verdict == Verdict::Pass)
        .count();
    let info = report
        .checks
        .iter()
        .filter(|c| c.verdict == Verdict::Info)
        .count();
    println!(
        "homework replay: {pass} checks pass, {} fail, {info} reported only ({:.1} s)",
        report.failed(),
        report.seconds
    );
    println!(
        "wrote {} files under {}",
        report.files.len(),
        opts.out_dir.display()
    );
    anyhow::ensure!(
        report.failed() == 0,
        "{} homework checks failed",
        report.failed()
    );
    Ok(())
}
