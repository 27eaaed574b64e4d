//! The command line: clap types and one file per subcommand. Each file turns its arguments
//! into calls of the library and prints the results; `main.rs` only parses and dispatches.

pub mod device;
pub mod eval;
pub mod frontier;
pub mod homework;
pub mod limits;
pub mod many_runs;
pub mod model;
pub mod report;
pub mod serve;
pub mod toy;
pub mod train;
pub mod tune;

use clap::{Parser, Subcommand};

/// Train the homework's two-layer MNIST net and run it bit-exact on microcontrollers.
///
/// "The homework" is the two-layer-net assignment of Stanford's CS231n (affine - ReLU - affine -
/// softmax, SGD with momentum, learning-rate decay); its numbers are our reference.
/// With no command, trains the default preset on data/mnist (same as `host train`, ~10 s).
/// Then: `host deploy --board mps2-an386` runs the model on an emulated Cortex-M4.
#[derive(Parser, Debug)]
#[command(version)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Train on MNIST and write a run folder (checkpoint, metrics.json).
    Train(Box<train::TrainArgs>),
    /// The homework's toy checks (scores, loss, gradient check, toy training) beside its numbers.
    Toy {
        /// Print one JSON object as the last line.
        #[arg(long)]
        json: bool,
    },
    /// Numerical gradient check of the toy model (centred differences, h = 1e-5).
    Gradcheck {
        /// Regularisation strength used in the loss.
        #[arg(long, default_value_t = 0.05, value_parser = limits::non_negative)]
        reg: f64,
    },
    /// Accuracy of a float checkpoint on the validation and test sets.
    Eval(eval::EvalArgs),
    #[command(flatten)]
    Model(model::ModelCommand),
    #[command(flatten)]
    Device(device::DeviceCommand),
    /// Grid or random search over hidden size, learning rate, reg, decay, length and batch, in
    /// parallel (`--grid quick` first: a few seconds).
    Tune(Box<tune::TuneArgs>),
    /// Write the pictures of a run folder again (loss, accuracy, weights, samples, confusion matrix).
    Report(report::ReportArgs),
    /// Replay the homework section by section, our numbers beside its own, with a pass/fail
    /// summary (~15 min; --quick ~15 s).
    Homework(homework::HomeworkArgs),
    /// The browser playground on 127.0.0.1: draw a digit, see the int8 net (compiled to
    /// WebAssembly) classify it, with --qemu or --port-device beside the chip's own answer.
    Serve(serve::ServeArgs),
    /// The accuracy frontier: train each size preset (h16 ... best), run its int8 model in QEMU
    /// on an M4 and an M0, and write the table and picture of accuracy against flash (~30 min).
    Frontier(Box<frontier::FrontierArgs>),
}

/// Run one parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        None => train::run(train::TrainArgs {
            data: crate::data::mnist::default_data_dir(),
            ..train::TrainArgs::default()
        }),
        Some(Command::Train(a)) => train::run(*a),
        Some(Command::Toy { json }) => toy::run_toy(json),
        Some(Command::Gradcheck { reg }) => toy::run_gradcheck(reg),
        Some(Command::Eval(a)) => eval::run(a),
        Some(Command::Model(c)) => model::run(c),
        Some(Command::Device(c)) => device::run(c),
        Some(Command::Tune(a)) => tune::run(*a),
        Some(Command::Report(a)) => report::run(a),
        Some(Command::Homework(a)) => homework::run(a),
        Some(Command::Serve(a)) => serve::run(a),
        Some(Command::Frontier(a)) => frontier::run(*a),
    }
}
