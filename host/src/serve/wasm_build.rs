//! Building the playground's WebAssembly module (`playground/wasm`, crate `tinynet-wasm`) the
//! way the firmware is built: by cargo, on first use, into a directory of the running binary's
//! own target dir (so it never waits on the lock of the cargo that runs us). Later runs find
//! it up to date in a fraction of a second; its dependencies are the model-format ones the host
//! already built with, so no network is needed.

use std::path::PathBuf;
use std::process::Command;

use anyhow::{bail, Context};

use crate::device::firmware_build::{firmware_target_dir, workspace_root};

/// The Rust target of the module (pinned in rust-toolchain.toml).
pub const WASM_TARGET: &str = "wasm32-unknown-unknown";
/// The cargo profile it is built with (the workspace Cargo.toml: optimised for size).
pub const WASM_PROFILE: &str = "wasm";

/// Where the module builds: `<target dir>/wasm-build`, beside the firmware's builds.
pub fn wasm_target_dir() -> PathBuf {
    firmware_target_dir().with_file_name("wasm-build")
}

/// Build the module (or find it up to date) and return the path of the `.wasm`.
pub fn build_wasm() -> anyhow::Result<PathBuf> {
    let target_dir = wasm_target_dir();
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let out = Command::new(cargo)
        .current_dir(workspace_root())
        .args(["build", "-p", "tinynet-wasm", "--target", WASM_TARGET])
        .args(["--profile", WASM_PROFILE])
        .arg("--target-dir")
        .arg(&target_dir)
        .output()
        .context("running cargo to build the WebAssembly module")?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let hint = if stderr.contains(WASM_TARGET) && stderr.contains("target may not be installed")
        {
            format!("\nthe Rust target is missing: rustup target add {WASM_TARGET}")
        } else {
            String::new()
        };
        bail!(
            "building the WebAssembly module failed ({}):\n{stderr}{hint}",
            out.status
        );
    }
    let wasm = target_dir
        .join(WASM_TARGET)
        .join(WASM_PROFILE)
        .join("tinynet_wasm.wasm");
    if !wasm.is_file() {
        bail!("cargo built the module but {} is missing", wasm.display());
    }
    Ok(wasm)
}
