use clap::{Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(version, about = "Train the two-layer MNIST net and run it bit-exact on microcontrollers")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
    #[command(flatten)]
    Model(host::model_cli::ModelCommand),
    #[command(flatten)]
    Device(host::device_cli::DeviceCommand),
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Model(c)) => host::model_cli::run(c),
        Some(Command::Device(c)) => host::device_cli::run(c),
        None => anyhow::bail!("training not wired yet"),
    }
}
