//! CLI subcommands that talk to the firmware (real board or QEMU), flattened into `host`'s command list.

#[derive(clap::Subcommand, Debug)]
pub enum DeviceCommand {
    /// Boot the firmware in QEMU batch mode on the test set and compare every logit with the host.
    QemuEval,
}

pub fn run(cmd: DeviceCommand) -> anyhow::Result<()> {
    match cmd {
        DeviceCommand::QemuEval => anyhow::bail!("qemu-eval: not implemented yet"),
    }
}
