//! `host deploy`, `host classify` and `host qemu-eval`: the firmware on a board or in QEMU
//! against the host.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::bail;

use crate::device::board::Board;
use crate::device::classify_image::{self, ImageDevice};
use crate::device::{classify, deploy, firmware_build, qemu_eval};

#[derive(clap::Subcommand, Debug)]
pub enum DeviceCommand {
    /// Build the firmware with a model, flash it (probe-rs, or the Pico's UF2 drive; QEMU for a
    /// QEMU board), check the board runs that model and classify a few test images on it.
    Deploy(DeployArgs),
    /// Classify test images through the firmware's serial protocol (a board on --port, or the
    /// firmware in QEMU with --qemu) and compare with the host reference; or classify a
    /// picture of a digit (--image FILE), on the host alone or on the device too.
    Classify(ClassifyArgs),
    /// Boot the firmware in QEMU batch mode on the test set and compare every logit with the host.
    QemuEval(QemuEvalArgs),
}

#[derive(clap::Args, Debug)]
// One of these is required, and the error names them all (a plain `required` on --port hid
// --qemu from a user who has no board). --image alone classifies on the host.
#[command(group(
    clap::ArgGroup::new("source")
        .required(true)
        .multiple(true)
        .args(["port", "qemu", "image"])
))]
pub struct ClassifyArgs {
    /// Serial port of a board running the firmware (e.g. /dev/ttyACM0 for a Nucleo's ST-LINK).
    #[arg(long, conflicts_with = "qemu")]
    pub port: Option<String>,
    /// Baud rate for --port.
    #[arg(long, default_value_t = 115_200)]
    pub baud: u32,
    /// Build the firmware and run it in QEMU, talking to its emulated UART.
    #[arg(long)]
    pub qemu: bool,
    /// Classify this picture of a digit instead of test images: a PNG or PGM/PPM of any size
    /// (a photo of paper or a drawing, dark on light or light on dark), preprocessed as MNIST
    /// was (crop to the ink, fit into 20x20, centre of mass in 28x28). Prints the class, the
    /// logits and a confidence; with --port or --qemu the device's logits beside the host's.
    #[arg(long, value_name = "FILE")]
    pub image: Option<PathBuf>,
    /// With --image: write the 28x28 image the net saw to this PNG, enlarged 8 times.
    #[arg(long, value_name = "OUT.png", requires = "image")]
    pub show: Option<PathBuf>,
    /// Number of test images (the first N of the MNIST test set, at most 10,000).
    #[arg(long, default_value_t = 100, value_parser = super::limits::test_images, conflicts_with = "image")]
    pub images: usize,
    /// Model file the device runs (the host reference; embedded in the QEMU build).
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// With --qemu: boot this firmware ELF instead of building one.
    #[arg(long, requires = "qemu")]
    pub elf: Option<PathBuf>,
    /// With --qemu: the QEMU board to build for and boot (its machine comes with it).
    #[arg(long, value_enum, default_value = "mps2-an386", requires = "qemu")]
    pub board: Board,
}

#[derive(clap::Args, Debug)]
pub struct DeployArgs {
    /// The board: a real one (nucleo-f411re, microbit-v2: flashed with probe-rs; rp-pico: UF2
    /// file) or a QEMU board (mps2-an386, ...: runs in QEMU, no hardware needed).
    #[arg(long, value_enum)]
    pub board: Board,
    /// Model file to embed (default: data/model.postcard).
    #[arg(long, conflicts_with = "run")]
    pub model: Option<PathBuf>,
    /// Run folder whose model.postcard to embed (what `host train` wrote).
    #[arg(long)]
    pub run: Option<PathBuf>,
    /// The board's serial port (default: found by its USB VID/PID).
    #[arg(long)]
    pub port: Option<String>,
    /// Baud rate of the serial port (ignored by the Pico's USB port).
    #[arg(long, default_value_t = 115_200)]
    pub baud: u32,
    /// Test images to classify on the board (the first N of the MNIST test set).
    #[arg(long, default_value_t = 10, value_parser = super::limits::test_images)]
    pub images: usize,
    /// rp-pico: seconds to wait for its USB serial port after the UF2 is written (time to
    /// copy the file onto the RPI-RP2 drive).
    #[arg(long, default_value_t = 120)]
    pub wait: u64,
}

#[derive(clap::Args, Debug)]
pub struct QemuEvalArgs {
    /// Model file to embed in the firmware (default: data/model.postcard).
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Number of test images (the first N of the MNIST test set, at most 10,000).
    #[arg(long, default_value_t = 10_000, value_parser = super::limits::test_images)]
    pub images: usize,
    /// Print one JSON object instead of the text report.
    #[arg(long)]
    pub json: bool,
    /// Boot this firmware ELF instead of building one (it must embed the same model and be
    /// built for --board).
    #[arg(long)]
    pub elf: Option<PathBuf>,
    /// The QEMU board to build for and boot (its machine, core and Rust target come with it).
    #[arg(long, value_enum, default_value = "mps2-an386")]
    pub board: Board,
}

pub fn run(cmd: DeviceCommand) -> anyhow::Result<()> {
    match cmd {
        DeviceCommand::Deploy(a) => {
            let model = match (a.model, a.run) {
                (Some(m), _) => m,
                (None, Some(run)) => deploy::run_model(&run)?,
                (None, None) => firmware_build::default_model_path(),
            };
            deploy::deploy(&deploy::Deploy {
                board: a.board,
                model,
                port: a.port,
                baud: a.baud,
                images: a.images,
                wait: Duration::from_secs(a.wait),
            })?;
            Ok(())
        }
        DeviceCommand::Classify(a) => {
            let model = a.model.unwrap_or_else(firmware_build::default_model_path);
            if let Some(image) = a.image {
                let device = match (a.port, a.qemu) {
                    (None, false) => ImageDevice::None,
                    (Some(port), false) => ImageDevice::Port { port, baud: a.baud },
                    (None, true) => ImageDevice::Qemu {
                        board: a.board,
                        elf: a.elf,
                    },
                    _ => bail!("pass at most one of --port PATH and --qemu"),
                };
                let report =
                    classify_image::classify_image(&image, &model, &device, a.show.as_deref())?;
                println!("{report}");
                if !report.identical() {
                    bail!("the device's answer differs from the host's (class, logits or confidence bits)");
                }
                return Ok(());
            }
            match (a.port, a.qemu) {
                (Some(port), false) => classify::classify_port(&port, a.baud, &model, a.images),
                (None, true) => {
                    classify::classify_qemu(a.board, &model, a.elf.as_deref(), a.images)
                }
                _ => bail!("pass exactly one of --port PATH and --qemu"),
            }
        }
        DeviceCommand::QemuEval(a) => {
            let model = a.model.unwrap_or_else(firmware_build::default_model_path);
            let report =
                qemu_eval::qemu_eval(a.board, &model, a.images, a.elf.as_deref(), !a.json)?;
            if a.json {
                println!("{}", serde_json::to_string(&report)?);
            } else {
                println!("{report}");
            }
            if report.identical != report.images {
                bail!(
                    "the firmware differs from the host on {} of {} images",
                    report.images - report.identical,
                    report.images
                );
            }
            if report.synthetic_identical != report.synthetic.len() {
                bail!(
                    "the firmware differs from the host on {} of the {} synthetic images",
                    report.synthetic.len() - report.synthetic_identical,
                    report.synthetic.len()
                );
            }
            Ok(())
        }
    }
}
