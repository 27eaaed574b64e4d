//! `host deploy --board B`: build the firmware with a model, put it on the board (probe-rs,
//! the Pico's UF2 drive, or QEMU for a QEMU board), wait for the board's `Info`, check it runs
//! that model, and classify a few test images against the host reference.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context};
use model_format::Model;

use super::board::Board;
use super::classify::{classify_on, ClassifyReport};
use super::client::Client;
use super::elf;
use super::firmware_build::build_firmware;
use super::flash::{self, Method};
use super::ports;
use super::qemu::SerialSession;

/// What to deploy where.
#[derive(Debug, Clone)]
pub struct Deploy {
    pub board: Board,
    /// The model file to embed.
    pub model: PathBuf,
    /// The board's serial port (default: found by USB VID/PID).
    pub port: Option<String>,
    pub baud: u32,
    /// Test images to classify once it runs.
    pub images: usize,
    /// How long to wait for the Pico to show up after its UF2 was written.
    pub wait: Duration,
}

/// `path` as the user would type it from the current directory: relative when it is inside
/// it (no `/.../host/../data`), else absolute.
pub fn shown_path(path: &Path) -> PathBuf {
    let Ok(abs) = std::path::absolute(path) else {
        return path.to_path_buf();
    };
    // Lexically, without `..`: `absolute` keeps them, and the folders exist anyway.
    let mut clean = PathBuf::new();
    for c in abs.components() {
        match c {
            std::path::Component::ParentDir => {
                clean.pop();
            }
            std::path::Component::CurDir => {}
            c => clean.push(c),
        }
    }
    match std::env::current_dir() {
        Ok(cwd) => match clean.strip_prefix(&cwd) {
            Ok(rel) if !rel.as_os_str().is_empty() => rel.to_path_buf(),
            _ => clean,
        },
        Err(_) => clean,
    }
}

/// The command line that deploys the run folder `run` to `board`, to print after training.
pub fn deploy_command(board: Board, run: &Path) -> String {
    let run = shown_path(run).display().to_string();
    let quoted = if run
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._-+:,@".contains(c))
    {
        run
    } else {
        format!("'{}'", run.replace('\'', r"'\''"))
    };
    format!(
        "cargo run -p host --release -- deploy --board {} --run {quoted}",
        board.cli_name()
    )
}

/// The model file of a run folder.
pub fn run_model(run: &Path) -> anyhow::Result<PathBuf> {
    let model = run.join("model.postcard");
    if !model.is_file() {
        bail!(
            "{}: no model.postcard in this run folder (training writes it; or pass --model FILE)",
            run.display()
        );
    }
    Ok(model)
}

/// Where the firmware goes, found before the build.
enum Target {
    Qemu,
    ProbeRs { chip: &'static str, exe: PathBuf },
    Uf2,
}

/// Build, flash, check and classify; prints each step and the result.
pub fn deploy(d: &Deploy) -> anyhow::Result<ClassifyReport> {
    let bytes = std::fs::read(&d.model)
        .with_context(|| format!("reading the model {}", d.model.display()))?;
    let model =
        Model::from_bytes(&bytes).map_err(|e| anyhow::anyhow!("{}: {e}", d.model.display()))?;
    let dims = model.dims();
    println!(
        "model: {} (id {:016x}, {}-{}-{})",
        shown_path(&d.model).display(),
        model.model_id(),
        dims.input,
        dims.hidden,
        dims.classes
    );

    // A missing tool is said before the build, which takes minutes from nothing.
    let target = match d.board.spec().qemu {
        Some(_) if d.port.is_some() => bail!(
            "--port: {} runs in QEMU, whose UART is not a serial port of this machine \
             (--port is for nucleo-f411re, microbit-v2, rp-pico)",
            d.board.cli_name()
        ),
        Some(_) => Target::Qemu,
        None => match flash::method(d.board)? {
            Method::ProbeRs { chip } => Target::ProbeRs {
                chip,
                exe: flash::find_probe_rs()?,
            },
            Method::Uf2 => Target::Uf2,
        },
    };

    println!("building the firmware for {}", d.board.feature());
    let elf = build_firmware(d.board, &d.model, true)?;
    let fp = elf::footprint(&elf)?;
    println!(
        "firmware: {} (flash {} B, static RAM {} B)",
        shown_path(&elf).display(),
        fp.flash(),
        fp.static_ram()
    );

    let report = match target {
        Target::Qemu => on_qemu(&elf, &model, d.images)?,
        Target::ProbeRs { chip, exe } => {
            println!("flashing with probe-rs --chip {chip}");
            flash::probe_rs_flash(&exe, chip, &elf)?;
            let port = match &d.port {
                Some(p) => p.clone(),
                None => ports::wait_for_board_port(d.board, Duration::from_secs(5))?,
            };
            on_port(&port, d.baud, &model, d.images)?
        }
        Target::Uf2 => {
            let uf2 = flash::write_uf2(&elf)?;
            let uf2 = shown_path(&uf2);
            println!("wrote {}", uf2.display());
            match flash::find_rpi_rp2_drive() {
                Some(drive) => {
                    let to = drive.join("firmware.uf2");
                    std::fs::copy(&uf2, &to).with_context(|| {
                        format!("copying {} to {}", uf2.display(), to.display())
                    })?;
                    println!(
                        "copied it to {} (the Pico reboots into the firmware)",
                        to.display()
                    );
                }
                None => println!(
                    "to flash it: hold BOOTSEL on the Pico while plugging it in, then copy\n  {}\n\
                     to the RPI-RP2 drive that appears (the Pico reboots into the firmware)",
                    uf2.display()
                ),
            }
            let port = match &d.port {
                // The Pico's port appears once the firmware runs.
                Some(p) => {
                    wait_for_path(Path::new(p), d.wait);
                    p.clone()
                }
                None => {
                    println!(
                        "waiting up to {} s for the Pico's USB serial port ({})",
                        d.wait.as_secs(),
                        usb_ids_text(d.board)
                    );
                    ports::wait_for_board_port(d.board, d.wait)?
                }
            };
            on_port(&port, d.baud, &model, d.images)?
        }
    };
    println!("model id {:016x}: the board runs it", model.model_id());
    println!("{report}");
    if report.identical != report.images {
        bail!(
            "the board differs from the host on {} of {} images",
            report.images - report.identical,
            report.images
        );
    }
    Ok(report)
}

/// Wait up to `within` for `path` to exist (whatever happens, opening it says what is wrong).
fn wait_for_path(path: &Path, within: Duration) {
    let deadline = std::time::Instant::now() + within;
    while !path.exists() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(250));
    }
}

fn usb_ids_text(board: Board) -> String {
    ports::usb_ids(board)
        .iter()
        .map(|id| format!("USB {:04x}:{:04x}", id.vid, id.pid))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Boot `elf` in QEMU and classify over its emulated UART.
fn on_qemu(elf: &Path, model: &Model<'_>, images: usize) -> anyhow::Result<ClassifyReport> {
    let mut session = SerialSession::start(elf)?;
    println!("booted in QEMU (no hardware needed)");
    let stream = session.stream.try_clone()?;
    let mut client = Client::new(stream, Duration::from_secs(10));
    let run = |client: &mut Client<_>| -> anyhow::Result<ClassifyReport> {
        let info = client.info().context("asking the firmware for Info")?;
        announce(&info);
        classify_on(client, model, images, |_| {})
    };
    run(&mut client).map_err(|e| session.explain(e))
}

/// Open the board's serial port, wait for its `Info` (it may still be booting) and classify.
fn on_port(
    port: &str,
    baud: u32,
    model: &Model<'_>,
    images: usize,
) -> anyhow::Result<ClassifyReport> {
    println!("talking to the board on {port}");
    let serial = ports::open(port, baud)?;
    let mut client = Client::new(serial, Duration::from_secs(5));
    let info = ports::wait_for_info(
        &mut client,
        Duration::from_secs(10),
        Duration::from_secs(5),
        &format!(
            "{port} does not answer: is it the board's serial port (--port)? \
             The firmware was just flashed"
        ),
    )?;
    announce(&info);
    classify_on(&mut client, model, images, |_| {})
}

fn announce(info: &super::client::DeviceInfo) {
    println!(
        "the board answers: firmware {} on {}",
        info.firmware_version, info.board
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deploy_lines_are_relative_to_the_current_directory_and_quoted() {
        let cwd = std::env::current_dir().unwrap();
        assert_eq!(
            deploy_command(Board::QemuMps2An386, &cwd.join("runs/a/../b-h64")),
            "cargo run -p host --release -- deploy --board mps2-an386 --run runs/b-h64"
        );
        assert_eq!(
            deploy_command(Board::NucleoF411re, Path::new("runs/x")),
            "cargo run -p host --release -- deploy --board nucleo-f411re --run runs/x"
        );
        assert!(deploy_command(Board::RpPico, Path::new("/tmp/my run"))
            .ends_with("--run '/tmp/my run'"));
    }

    #[test]
    fn a_run_folder_without_a_model_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let err = run_model(dir.path()).unwrap_err().to_string();
        assert!(err.contains("no model.postcard"), "{err}");
        std::fs::write(dir.path().join("model.postcard"), b"x").unwrap();
        assert_eq!(
            run_model(dir.path()).unwrap(),
            dir.path().join("model.postcard")
        );
    }
}
