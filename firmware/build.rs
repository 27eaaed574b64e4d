//! Build script: for bare-metal builds, pick the board's memory script and embed the model.
//!
//! * The memory script `memory-<board>.x` is copied to `OUT_DIR/memory.x`, where cortex-m-rt's
//!   `link.x` finds it (riscv-rt's `link.x` does not include it: RISC-V links with
//!   `-Tmemory.x -Tlink.x`). (A file literally named `memory.x` in the package root would win
//!   over the copy, so the per-board scripts have other names.)
//! * The model is `data/model.postcard` of the workspace, or the file named by the environment
//!   variable `FIRMWARE_MODEL` (absolute, or relative to the workspace root). It is copied to
//!   `OUT_DIR/model.bin` for `include_bytes!`. The bytes are not checked here: the firmware
//!   checks them at boot (so a corrupt model is *reported by the device*, as it would be after
//!   a bad flash).
//! * `model.bin` starts with 0 to 3 zero bytes (`MODEL_PAD` in `OUT_DIR/model_pad.rs`) so that,
//!   in the word-aligned static, the layer-1 weights start on a word boundary: the SMLAD kernel
//!   reads them with LDRD, which faults on unaligned addresses (unaligned weights would fall
//!   back to the slower portable kernel). A model that does not decode gets no padding; the
//!   firmware rejects it at boot anyway.
//!
//! Host builds (unit tests of the library) need neither and skip both.

use std::env;
use std::fs;
use std::path::{Path, PathBuf};

/// Every board feature, one per line (each has its `memory-<board>.x`).
const BOARDS: &[&str] = &[
    "qemu-mps2-an386",
    "qemu-mps2-an385",
    "qemu-mps2-an500",
    "qemu-mps2-an505",
    "qemu-microbit",
    "qemu-sifive-e",
    "nucleo-f411re",
    "rp-pico",
    "microbit-v2",
];

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=FIRMWARE_MODEL");
    if env::var("CARGO_CFG_TARGET_OS").as_deref() != Ok("none") {
        return;
    }
    if let Err(msg) = configure() {
        // A build script reports errors by failing; the message is what the user sees.
        eprintln!("error: {msg}");
        std::process::exit(1);
    }
}

fn configure() -> Result<(), String> {
    let out = PathBuf::from(env::var("OUT_DIR").map_err(|e| format!("OUT_DIR: {e}"))?);
    let manifest = PathBuf::from(
        env::var("CARGO_MANIFEST_DIR").map_err(|e| format!("CARGO_MANIFEST_DIR: {e}"))?,
    );

    let enabled: Vec<&str> = BOARDS
        .iter()
        .copied()
        .filter(|b| {
            env::var_os(format!(
                "CARGO_FEATURE_{}",
                b.to_uppercase().replace('-', "_")
            ))
            .is_some()
        })
        .collect();
    let board = match enabled.as_slice() {
        [one] => *one,
        [] => return Err(format!("enable one board feature: {}", BOARDS.join(", "))),
        many => {
            return Err(format!(
                "enable exactly one board feature, got {}; use --no-default-features \
                 --features <board> for a board other than the default",
                many.join(" + ")
            ))
        }
    };
    let script = manifest.join(format!("memory-{board}.x"));
    println!("cargo:rerun-if-changed={}", script.display());
    fs::copy(&script, out.join("memory.x"))
        .map_err(|e| format!("copy {}: {e}", script.display()))?;
    println!("cargo:rustc-link-search={}", out.display());
    // Linker arguments here rather than in .cargo/config.toml, so that builds driven from
    // elsewhere (the tests crate, the host CLI, RUSTFLAGS set by CI) still link correctly.
    if env::var("CARGO_CFG_TARGET_ARCH").as_deref() == Ok("riscv32") {
        println!("cargo:rustc-link-arg-bins=-Tmemory.x");
    } else {
        println!("cargo:rustc-link-arg-bins=--nmagic");
    }
    println!("cargo:rustc-link-arg-bins=-Tlink.x");

    let workspace = manifest.parent().unwrap_or(&manifest).to_path_buf();
    let model = match env::var_os("FIRMWARE_MODEL") {
        Some(p) if !p.is_empty() => {
            let p = PathBuf::from(p);
            if p.is_absolute() {
                p
            } else {
                workspace.join(p)
            }
        }
        _ => workspace.join("data").join("model.postcard"),
    };
    println!("cargo:rerun-if-changed={}", model.display());
    copy_model(&model, &out.join("model.bin"))?;
    println!("cargo:rustc-env=FIRMWARE_MODEL_PATH={}", model.display());
    Ok(())
}

fn copy_model(model: &Path, dest: &Path) -> Result<(), String> {
    let bytes = fs::read(model).map_err(|e| {
        format!(
            "cannot read the model {}: {e}. Train one (`cargo run -p host --release`) or point \
             FIRMWARE_MODEL at a model file (absolute, or relative to the workspace root)",
            model.display()
        )
    })?;
    let pad = model_format::Model::from_bytes(&bytes).map_or(0, |m| m.w1_align_pad());
    let mut padded = vec![0u8; pad];
    padded.extend_from_slice(&bytes);
    write_if_changed(dest, &padded)?;
    let pad_rs = dest.with_file_name("model_pad.rs");
    write_if_changed(
        &pad_rs,
        format!(
            "/// Zero bytes before the model in `model.bin` (word-aligns its layer-1 weights).\n\
             pub const MODEL_PAD: usize = {pad};\n"
        )
        .as_bytes(),
    )
}

/// Write only when changed, so an unchanged model does not relink the firmware.
fn write_if_changed(dest: &Path, bytes: &[u8]) -> Result<(), String> {
    if fs::read(dest).ok().as_deref() != Some(bytes) {
        fs::write(dest, bytes).map_err(|e| format!("write {}: {e}", dest.display()))?;
    }
    Ok(())
}
