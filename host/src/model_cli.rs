//! CLI subcommands about model files (`inspect`, ...), flattened into `host`'s command list.

#[derive(clap::Subcommand, Debug)]
pub enum ModelCommand {
    /// Print a model file's header, dims, sizes, quantisation parameters, CRC and id.
    Inspect { file: std::path::PathBuf },
}

pub fn run(cmd: ModelCommand) -> anyhow::Result<()> {
    match cmd {
        ModelCommand::Inspect { file } => {
            anyhow::bail!("inspect {}: not implemented yet", file.display())
        }
    }
}
