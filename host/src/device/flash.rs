//! Putting a built firmware ELF on a real board: probe-rs through the on-board debug probe
//! (Nucleo-F411RE, micro:bit v2), or a UF2 file for the Pico's boot ROM drive.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context};

use super::board::Board;
use super::uf2;

/// How a board is flashed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// probe-rs with this `--chip` (the names `firmware/runner.sh` uses).
    ProbeRs { chip: &'static str },
    /// A UF2 file copied to the RPI-RP2 drive (the Pico in BOOTSEL mode).
    Uf2,
}

/// How `board` is flashed, or an error for a QEMU board.
pub fn method(board: Board) -> anyhow::Result<Method> {
    Ok(match board {
        Board::NucleoF411re => Method::ProbeRs {
            chip: "STM32F411RETx",
        },
        Board::MicrobitV2 => Method::ProbeRs {
            chip: "nRF52833_xxAA",
        },
        Board::RpPico => Method::Uf2,
        _ => bail!("{} runs in QEMU: nothing to flash", board.feature()),
    })
}

/// The install command shown when probe-rs is missing.
pub const PROBE_RS_INSTALL: &str = "cargo install probe-rs-tools --locked";

/// Find `probe-rs` on the given `PATH` value (before a minutes-long firmware build, so that a
/// missing tool is said at once).
pub fn find_probe_rs_in(path: Option<&OsStr>) -> anyhow::Result<PathBuf> {
    if let Some(path) = path {
        for dir in std::env::split_paths(path) {
            let candidate = dir.join("probe-rs");
            if candidate.is_file() {
                return Ok(candidate);
            }
        }
    }
    bail!(
        "probe-rs not found on PATH; install it with `{PROBE_RS_INSTALL}` \
         (https://probe.rs; on Linux also its udev rules)"
    )
}

/// [`find_probe_rs_in`] on this process's `PATH`.
pub fn find_probe_rs() -> anyhow::Result<PathBuf> {
    find_probe_rs_in(std::env::var_os("PATH").as_deref())
}

/// Flash `elf` with probe-rs and start it: `download` (which leaves the core halted in the
/// probe-rs versions without `download --reset`) then `reset`.
pub fn probe_rs_flash(probe_rs: &Path, chip: &str, elf: &Path) -> anyhow::Result<()> {
    let run = |args: &[&OsStr]| -> anyhow::Result<()> {
        let status = Command::new(probe_rs)
            .args(args)
            .status()
            .with_context(|| format!("running {}", probe_rs.display()))?;
        if !status.success() {
            bail!(
                "probe-rs {} failed ({status}): is the board plugged in, and no other \
                 program (probe-rs, a debugger) using its probe? On Linux probe-rs needs its \
                 udev rules: https://probe.rs/docs/getting-started/probe-setup/",
                args[0].to_string_lossy()
            );
        }
        Ok(())
    };
    run(&[
        "download".as_ref(),
        "--chip".as_ref(),
        chip.as_ref(),
        elf.as_os_str(),
    ])?;
    run(&["reset".as_ref(), "--chip".as_ref(), chip.as_ref()])
}

/// Write the UF2 of `elf` next to it (same name, `.uf2`) and return its path.
pub fn write_uf2(elf: &Path) -> anyhow::Result<PathBuf> {
    let bytes = std::fs::read(elf).with_context(|| format!("reading {}", elf.display()))?;
    let uf2 =
        uf2::from_elf(&bytes).with_context(|| format!("{}: making its UF2", elf.display()))?;
    let out = elf.with_extension("uf2");
    std::fs::write(&out, uf2).with_context(|| format!("writing {}", out.display()))?;
    Ok(out)
}

/// A mounted RPI-RP2 drive (the Pico's boot ROM in BOOTSEL mode: it holds `INFO_UF2.TXT`),
/// where desktop Linux mounts removable drives.
pub fn find_rpi_rp2_drive() -> Option<PathBuf> {
    let user = std::env::var("USER").unwrap_or_default();
    let mut candidates = vec![
        PathBuf::from("/media").join(&user).join("RPI-RP2"),
        PathBuf::from("/run/media").join(&user).join("RPI-RP2"),
        PathBuf::from("/media/RPI-RP2"),
        PathBuf::from("/mnt/RPI-RP2"),
    ];
    // macOS
    candidates.push(PathBuf::from("/Volumes/RPI-RP2"));
    candidates
        .into_iter()
        .find(|d| d.join("INFO_UF2.TXT").is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_boards_have_a_method_and_qemu_boards_none() {
        assert_eq!(
            method(Board::NucleoF411re).unwrap(),
            Method::ProbeRs {
                chip: "STM32F411RETx"
            }
        );
        assert_eq!(method(Board::RpPico).unwrap(), Method::Uf2);
        assert!(method(Board::QemuMps2An386).is_err());
    }

    #[test]
    fn a_missing_probe_rs_names_the_install_command() {
        let empty = tempfile::tempdir().unwrap();
        let err = find_probe_rs_in(Some(empty.path().as_os_str())).unwrap_err();
        assert!(err.to_string().contains(PROBE_RS_INSTALL), "{err}");
        assert!(find_probe_rs_in(None).is_err());
        std::fs::write(empty.path().join("probe-rs"), b"").unwrap();
        assert_eq!(
            find_probe_rs_in(Some(empty.path().as_os_str())).unwrap(),
            empty.path().join("probe-rs")
        );
    }
}
