//! CLI subcommands for looking at training (tune, report, homework), flattened into `host`'s command list.

#[derive(clap::Subcommand, Debug)]
pub enum AnalysisCommand {
    /// Write the pictures of a run folder again (loss, accuracy, weights, samples, confusion matrix).
    Report { run_dir: std::path::PathBuf },
}

pub fn run(cmd: AnalysisCommand) -> anyhow::Result<()> {
    match cmd {
        AnalysisCommand::Report { run_dir } => {
            anyhow::bail!("report {}: not implemented yet", run_dir.display())
        }
    }
}
