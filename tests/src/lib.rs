//! Helpers for the QEMU integration tests (`tests/qemu.rs`, `tests/boards.rs`,
//! `tests/kernel_parity.rs`): the firmware is built once per test process and board with the
//! committed model, and variants with broken models on demand.
//!
//! Every helper fails (never skips) when QEMU or the model is missing, with a hint.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

use anyhow::Context;
use host::device::firmware_build::{build_firmware_for, default_model_path, Board};

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

/// One firmware build: board, Rust target, extra cargo features.
type BuildKey = (Board, &'static str, &'static [&'static str]);

/// Build (once per test process) the firmware for `board` on `target` with `features` and the
/// committed model. Tests asking for the same build wait for the one build.
fn built_once(key: BuildKey) -> anyhow::Result<PathBuf> {
    type Slot = Arc<OnceLock<Result<PathBuf, String>>>;
    static BUILDS: OnceLock<Mutex<HashMap<BuildKey, Slot>>> = OnceLock::new();
    let slot: Slot = {
        let mut map = BUILDS
            .get_or_init(Default::default)
            .lock()
            .map_err(|_| anyhow::anyhow!("a firmware build panicked"))?;
        Arc::clone(map.entry(key).or_default())
    };
    let (board, target, features) = key;
    let built = slot.get_or_init(|| {
        // Fail early with the install hint rather than after a build.
        host::device::qemu::find_qemu(board)
            .and_then(|_| build_firmware_for(board, target, &default_model(), false, features))
            .map_err(|e| format!("{e:#}"))
    });
    built.clone().map_err(|e| anyhow::anyhow!("{e}"))
}

/// The production firmware for `board` with the default model, built once per test process.
pub fn board_firmware(board: Board) -> anyhow::Result<PathBuf> {
    built_once((board, board.spec().target, &[]))
}

/// The default QEMU board's (mps2-an386) firmware with the default model.
pub fn default_firmware() -> anyhow::Result<PathBuf> {
    board_firmware(Board::QemuMps2An386)
}

/// The firmware with the `parity` mode (cargo feature `parity`, not in the production build)
/// for `board`, built for the Rust target `target` (normally the board's own), with `features`
/// on top (e.g. `layout-smlad16` for the layout-2 kernel, off by default).
pub fn parity_firmware_for(
    board: Board,
    target: &'static str,
    features: &'static [&'static str],
) -> anyhow::Result<PathBuf> {
    built_once((board, target, features))
}

/// mps2-an386 with the `parity` mode and the layout-2 kernel (the parity cases include
/// layout-2 models).
pub fn parity_firmware() -> anyhow::Result<PathBuf> {
    parity_firmware_for(
        Board::QemuMps2An386,
        Board::QemuMps2An386.spec().target,
        &["parity", "layout-smlad16"],
    )
}

/// Build the default QEMU firmware (no optional features, whatever the model's layout) with the
/// model bytes `model` (written to a temporary file).
pub fn firmware_with_model(model: &[u8]) -> anyhow::Result<PathBuf> {
    let board = Board::QemuMps2An386;
    host::device::qemu::find_qemu(board)?;
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("model.postcard");
    std::fs::write(&path, model)?;
    build_firmware_for(board, board.spec().target, &path, false, &[])
}
