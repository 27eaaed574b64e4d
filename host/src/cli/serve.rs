//! `host serve`: the browser playground (see `crate::serve`).

use std::path::PathBuf;

use anyhow::bail;

use crate::device::board::Board;
use crate::device::firmware_build;
use crate::serve::chip::ChipSource;
use crate::serve::{self, ServeConfig};

#[derive(clap::Args, Debug)]
pub struct ServeArgs {
    /// A run folder written by `host train`: its model.postcard, pictures and metrics.json.
    #[arg(long, value_name = "DIR", conflicts_with = "model")]
    pub run: Option<PathBuf>,
    /// A model file (default: the committed data/model.postcard); its folder's pictures and
    /// metrics.json too when it is a run folder.
    #[arg(long, value_name = "FILE")]
    pub model: Option<PathBuf>,
    /// TCP port on 127.0.0.1 (0: any free port; the URL is printed).
    #[arg(long, default_value_t = 8080)]
    pub port: u16,
    /// Run the firmware in QEMU beside the browser: each drawing is classified on the chip too.
    #[arg(long, conflicts_with = "port_device")]
    pub qemu: bool,
    /// With --qemu: the QEMU board to build the firmware for and boot.
    #[arg(long, value_enum, default_value = "mps2-an386", requires = "qemu")]
    pub board: Board,
    /// A board running the firmware on this serial port (e.g. /dev/ttyACM0), beside the browser.
    #[arg(long, value_name = "DEV")]
    pub port_device: Option<String>,
    /// Baud rate for --port-device.
    #[arg(long, default_value_t = 115_200, requires = "port_device")]
    pub baud: u32,
    /// MNIST folder for the browser of test-set mistakes (default: data/mnist).
    #[arg(long, value_name = "DIR")]
    pub data: Option<PathBuf>,
}

pub fn run(a: ServeArgs) -> anyhow::Result<()> {
    let (model_path, run_dir) = match (a.run, a.model) {
        (Some(run), _) => {
            if !run.is_dir() {
                bail!("--run {}: not a folder", run.display());
            }
            (run.join("model.postcard"), Some(run))
        }
        (None, Some(model)) => {
            let run = serve::run_dir_of(&model);
            (model, run)
        }
        (None, None) => (firmware_build::default_model_path(), None),
    };
    let chip = match (a.qemu, a.port_device) {
        (true, _) => Some(ChipSource::Qemu(a.board)),
        (false, Some(port)) => Some(ChipSource::Port { port, baud: a.baud }),
        (false, None) => None,
    };
    serve::serve(&ServeConfig {
        model_path,
        run_dir,
        data_dir: a.data.unwrap_or_else(crate::data::mnist::default_data_dir),
        port: a.port,
        chip,
    })
}
