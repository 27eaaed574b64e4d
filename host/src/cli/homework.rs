//! `host homework`: replay the homework and print the summary of its checks.

use std::path::PathBuf;

use clap::Args;

use crate::data::mnist;
use crate::homework::{self, HomeworkOptions, Verdict};
use crate::report::run_folder::stamped_dir;

#[derive(Args, Debug)]
#[command(after_help = "\
The full replay trains 2 + 72 nets (sections 7-8, then both 36-run grids): about 15 minutes on
2 cores. --grid homework or --grid scaled halves that; --quick takes well under a minute.
Writes lr_comparison.png, homework.json, run folders of the section 7 and 8 runs (with pictures)
and one tune folder per grid into the output folder. Exits non-zero if a judged check fails.")]
pub struct HomeworkArgs {
    /// Reduced version (same toy checks and section 7/8 runs, a 2-run grid): about half a minute.
    #[arg(long)]
    pub quick: bool,
    /// Which grid to replay for sections 10-11.
    #[arg(long, value_enum, default_value_t = homework::GridChoice::Both)]
    pub grid: homework::GridChoice,
    /// Runs at the same time (default: one per core).
    #[arg(long, value_parser = super::limits::jobs)]
    pub jobs: Option<usize>,
    /// Output folder for the charts, tables and best model (default runs/homework-<date>-<time>).
    #[arg(long)]
    pub out: Option<PathBuf>,
    #[arg(long, default_value_os_t = mnist::default_data_dir())]
    pub data: PathBuf,
}

/// `host homework`.
pub fn run(a: HomeworkArgs) -> anyhow::Result<()> {
    let jobs = crate::tune::resolve_jobs(a.jobs)?;
    crate::tune::limit_matmul_threads(jobs);
    let opts = HomeworkOptions {
        quick: a.quick,
        grid: a.grid,
        jobs,
        out_dir: a.out.unwrap_or_else(|| stamped_dir("homework")),
        data_dir: a.data,
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
