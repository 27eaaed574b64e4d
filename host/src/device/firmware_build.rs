//! Building the firmware from the host (for `qemu-eval`, `classify --qemu` and the tests),
//! with the model chosen at build time through `FIRMWARE_MODEL`.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{bail, Context};

pub use super::board::Board;

/// The workspace root (this crate lives in `<root>/host`).
pub fn workspace_root() -> PathBuf {
    crate::paths::repo_root()
}

/// The committed default model, `<root>/data/model.postcard`.
pub fn default_model_path() -> PathBuf {
    workspace_root().join("data").join("model.postcard")
}

/// Where nested firmware builds go: `<target dir>/firmware-build`, next to the running
/// binary's own target directory (found by cargo's `CACHEDIR.TAG`), so that they never wait
/// on the lock of the cargo that runs us.
pub fn firmware_target_dir() -> PathBuf {
    let from_exe = std::env::current_exe().ok().and_then(|exe| {
        exe.ancestors()
            .find(|dir| dir.join("CACHEDIR.TAG").is_file())
            .map(Path::to_path_buf)
    });
    let target = from_exe
        .or_else(|| std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from))
        .unwrap_or_else(|| workspace_root().join("target"));
    target.join("firmware-build")
}

/// Build the release firmware for `board` with the model file `model` embedded, and return
/// the path of a private copy of the ELF (named after the board and the model bytes, so that
/// concurrent builds with other models cannot swap it under a running QEMU).
///
/// A layout-2 model (int16 weights) gets the firmware feature `layout-smlad16`, which the
/// production firmware leaves out (without it the firmware rejects such a model at boot).
///
/// `verbose` shows cargo's progress; otherwise its output is shown only on failure.
pub fn build_firmware(board: Board, model: &Path, verbose: bool) -> anyhow::Result<PathBuf> {
    let bytes = std::fs::read(model).with_context(|| format!("reading {}", model.display()))?;
    // A model that does not decode is built as it is: the firmware reports it at boot.
    let layout2 = model_format::Model::from_bytes(&bytes)
        .is_ok_and(|m| m.layout() == model_format::Layout::Smlad16);
    let features: &[&str] = if layout2 { &["layout-smlad16"] } else { &[] };
    build_firmware_with(board, model, verbose, features)
}

/// [`build_firmware`] with exactly these extra cargo features of the firmware crate (none
/// added for the model's layout), e.g. `parity` for the kernel-parity test mode (left out of
/// the production firmware to keep it small).
pub fn build_firmware_with(
    board: Board,
    model: &Path,
    verbose: bool,
    features: &[&str],
) -> anyhow::Result<PathBuf> {
    build_firmware_for(board, board.spec().target, model, verbose, features)
}

/// [`build_firmware_with`] for the Rust target `target` instead of the board's own, e.g. the
/// Armv6-M (thumbv6m-none-eabi) build on mps2-an385, whose Cortex-M3 runs Armv6-M code and has
/// the RAM the 16 KiB micro:bit lacks.
pub fn build_firmware_for(
    board: Board,
    target: &str,
    model: &Path,
    verbose: bool,
    features: &[&str],
) -> anyhow::Result<PathBuf> {
    let model =
        std::fs::canonicalize(model).with_context(|| format!("model file {}", model.display()))?;
    let bytes = std::fs::read(&model).with_context(|| format!("reading {}", model.display()))?;
    let target_dir = firmware_target_dir();
    std::fs::create_dir_all(&target_dir)
        .with_context(|| format!("creating {}", target_dir.display()))?;

    // One build at a time per target dir, and the copy taken before anyone else can rebuild.
    let lock = std::fs::File::create(target_dir.join("build.lock"))?;
    lock.lock()
        .context("locking the firmware build directory")?;

    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let root = workspace_root();
    let mut cmd = Command::new(cargo);
    cmd.current_dir(&root)
        .args([
            "build",
            "--profile",
            "firmware",
            "-p",
            "firmware",
            "--target",
            target,
        ])
        .arg("--target-dir")
        .arg(&target_dir)
        .args(["--no-default-features", "--features"])
        .arg(
            std::iter::once(board.feature())
                .chain(features.iter().copied())
                .collect::<Vec<_>>()
                .join(","),
        )
        .env("FIRMWARE_MODEL", &model);
    if verbose {
        cmd.stdout(Stdio::inherit()).stderr(Stdio::inherit());
        let status = cmd
            .status()
            .context("running cargo to build the firmware")?;
        if !status.success() {
            bail!("building the firmware failed ({status})");
        }
    } else {
        let out = cmd
            .output()
            .context("running cargo to build the firmware")?;
        if !out.status.success() {
            bail!(
                "building the firmware failed ({}):\n{}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }

    let built = target_dir.join(target).join("firmware").join("firmware");
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    bytes.hash(&mut hasher);
    // The features are part of the name too: a parity build must not replace the production
    // ELF of the same model (or the other way round) under a running QEMU.
    let on_other_target = if target == board.spec().target {
        String::new()
    } else {
        format!("@{target}")
    };
    let copy = target_dir.join("elves").join(format!(
        "firmware-{}{on_other_target}{}-{:016x}.elf",
        board.feature(),
        features.iter().map(|f| format!("+{f}")).collect::<String>(),
        hasher.finish()
    ));
    std::fs::create_dir_all(copy.parent().unwrap_or(&target_dir))?;
    std::fs::copy(&built, &copy)
        .with_context(|| format!("copying {} to {}", built.display(), copy.display()))?;
    Ok(copy)
}
