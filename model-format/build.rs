//! Selects the layer-1 kernel family at compile time: `cfg(mf_kernel = "...")`, one value per
//! file of `src/infer/`, by the TARGET name (stable Rust exposes neither the DSP extension nor
//! the architecture profile to `cfg`):
//!
//! * `dsp`: `thumbv7em-*` (M4, M7) and `thumbv8m.main-*` (M33, M35P, M55): SXTB16 + SMLAD
//!   (with `cfg(mf_dsp_v8m)` on the latter, see `src/infer/dsp.rs`).
//! * `armv7m`: `thumbv7m-*` (M3).
//! * `armv6m`: `thumbv6m-*` (M0, M0+, M1) and `thumbv8m.base-*` (M23): Thumb-1 only.
//! * `riscv32`: `riscv32*` targets with the M extension (MUL).
//! * `portable`: everything else, the host included.
//!
//! The environment variable `MODEL_FORMAT_KERNEL` (one of the values above) overrides the
//! choice, e.g. `MODEL_FORMAT_KERNEL=portable` to measure the plain Rust loop on a chip; a
//! kernel that cannot run on the target fails to assemble.
//!
//! Also decides whether layout 2 (`LAYOUT_SMLAD16`) is supported: `cfg(mf_layout2)` on every
//! hosted target (the host always reads and runs all layouts, with the portable kernel), and on
//! bare-metal targets (`target_os = "none"`) only with the cargo feature `layout-smlad16`, so a
//! firmware that does not ask for it carries no layout-2 kernel (~2.5 KB of .text) and rejects
//! layout-2 files with `DecodeError::UnsupportedLayout(2)`.

const KERNELS: [&str; 5] = ["portable", "dsp", "armv7m", "armv6m", "riscv32"];

fn main() {
    println!("cargo::rustc-check-cfg=cfg(mf_layout2)");
    println!("cargo::rustc-check-cfg=cfg(mf_dsp_v8m)");
    println!(
        "cargo::rustc-check-cfg=cfg(mf_kernel, values(\"{}\"))",
        KERNELS.join("\", \"")
    );
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-env-changed=TARGET");
    println!("cargo::rerun-if-env-changed=MODEL_FORMAT_KERNEL");

    let bare_metal = std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("none");
    if !bare_metal || std::env::var_os("CARGO_FEATURE_LAYOUT_SMLAD16").is_some() {
        println!("cargo::rustc-cfg=mf_layout2");
    }

    let kernel = match std::env::var("MODEL_FORMAT_KERNEL") {
        Ok(k) if !k.is_empty() => {
            if !KERNELS.contains(&k.as_str()) {
                eprintln!(
                    "error: MODEL_FORMAT_KERNEL={k:?} is not a kernel; use one of {}",
                    KERNELS.join(", ")
                );
                std::process::exit(1);
            }
            k
        }
        _ => {
            let target = std::env::var("TARGET").unwrap_or_default();
            let features = std::env::var("CARGO_CFG_TARGET_FEATURE").unwrap_or_default();
            kernel_for(&target, features.split(',').any(|f| f == "m")).to_string()
        }
    };
    println!("cargo::rustc-cfg=mf_kernel=\"{kernel}\"");
    // Armv8-M Mainline: the DSP extension is optional there, so rustc's assembler refuses
    // SMLAD unless told the core has it (see src/infer/dsp.rs).
    if std::env::var("TARGET")
        .unwrap_or_default()
        .starts_with("thumbv8m.main-")
    {
        println!("cargo::rustc-cfg=mf_dsp_v8m");
    }
}

/// The kernel family for a target triple (`has_mul`: the RISC-V M extension).
fn kernel_for(target: &str, has_mul: bool) -> &'static str {
    if target.starts_with("thumbv7em-") || target.starts_with("thumbv8m.main-") {
        "dsp"
    } else if target.starts_with("thumbv7m-") {
        "armv7m"
    } else if target.starts_with("thumbv6m-") || target.starts_with("thumbv8m.base-") {
        "armv6m"
    } else if target.starts_with("riscv32") && has_mul {
        "riscv32"
    } else {
        "portable"
    }
}
