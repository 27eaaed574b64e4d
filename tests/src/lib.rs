//! Helpers for the QEMU integration tests (`tests/qemu.rs`): the firmware is built once per
//! test process with the committed model, and variants with broken models on demand.
//!
//! Every helper fails (never skips) when QEMU or the model is missing, with a hint.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use anyhow::Context;
use host::device::firmware_build::{
    build_firmware, build_firmware_with, default_model_path, Board,
};

/// The committed model file the firmware embeds by default.
pub fn default_model() -> PathBuf {
    default_model_path()
}

/// The bytes of the committed model.
pub fn default_model_bytes() -> anyhow::Result<Vec<u8>> {
    let path = default_model();
    std::fs::read(&path).with_context(|| {
        format!(
            "reading {} (the committed default model; `cargo run -p host --release` trains one)",
            path.display()
        )
    })
}

/// The QEMU firmware with the default model, built once per test process.
pub fn default_firmware() -> anyhow::Result<&'static Path> {
    static ELF: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let built = ELF.get_or_init(|| {
        // Fail early with the install hint rather than after a build.
        host::device::qemu::find_qemu()
            .and_then(|_| build_firmware(Board::QemuMps2An386, &default_model(), false))
            .map_err(|e| format!("{e:#}"))
    });
    match built {
        Ok(p) => Ok(p.as_path()),
        Err(e) => Err(anyhow::anyhow!("{e}")),
    }
}

/// The QEMU firmware with the default model, the `parity` mode (cargo feature `parity`, not
/// in the production build) and the layout-2 kernel (feature `layout-smlad16`, also off by
/// default; the parity cases include layout-2 models), built once per test process.
pub fn parity_firmware() -> anyhow::Result<&'static Path> {
    static ELF: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let built = ELF.get_or_init(|| {
        host::device::qemu::find_qemu()
            .and_then(|_| {
                build_firmware_with(
                    Board::QemuMps2An386,
                    &default_model(),
                    false,
                    &["parity", "layout-smlad16"],
                )
            })
            .map_err(|e| format!("{e:#}"))
    });
    match built {
        Ok(p) => Ok(p.as_path()),
        Err(e) => Err(anyhow::anyhow!("{e}")),
    }
}

/// Build the default QEMU firmware (no optional features, whatever the model's layout) with the
/// model bytes `model` (written to a temporary file).
pub fn firmware_with_model(model: &[u8]) -> anyhow::Result<PathBuf> {
    host::device::qemu::find_qemu()?;
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("model.postcard");
    std::fs::write(&path, model)?;
    build_firmware_with(Board::QemuMps2An386, &path, false, &[])
}
