//! The flags every command that trains many nets at once shares (`tune`, `homework`).

use std::path::PathBuf;

use clap::Args;

use crate::data::mnist;
use crate::report::run_folder::stamped_dir;

/// Parallelism, output folder and data folder of a many-run command.
#[derive(Args, Debug)]
pub struct ManyRunsArgs {
    /// Runs at the same time (default: one per core). Each run then does its matrix products on
    /// one thread (MATMUL_NUM_THREADS=1 unless set), so cores are not oversubscribed.
    #[arg(long, value_parser = super::limits::jobs)]
    pub jobs: Option<usize>,
    /// Output folder (default runs/<command>-<date>-<time>).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Folder with the four MNIST IDX files [default: data/mnist of this repository].
    #[arg(long, default_value_os_t = mnist::default_data_dir(), hide_default_value = true)]
    pub data: PathBuf,
}

impl Default for ManyRunsArgs {
    /// What the command line gives with none of these flags.
    fn default() -> Self {
        Self {
            jobs: None,
            out: None,
            data: mnist::default_data_dir(),
        }
    }
}

impl ManyRunsArgs {
    /// The number of jobs (one per core unless given), with the matrix-product threads
    /// limited to match.
    pub fn jobs(&self) -> anyhow::Result<usize> {
        let jobs = crate::tune::resolve_jobs(self.jobs)?;
        crate::tune::limit_matmul_threads(jobs);
        Ok(jobs)
    }

    /// `--out`, or a new `runs/<command>-<date>-<time>`.
    pub fn out_dir(&self, command: &str) -> PathBuf {
        self.out.clone().unwrap_or_else(|| stamped_dir(command))
    }
}
