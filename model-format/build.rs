//! Selects the layer-1 kernel at compile time: `cfg(mf_dsp)` on Cortex-M cores with the DSP
//! extension (SMLAD, SXTB16), i.e. `thumbv7em-*` (M4, M7). Stable Rust does not expose
//! `target_feature = "dsp"` to `cfg`, so the target name decides. Everything else (thumbv7m,
//! thumbv6m, the host) uses the portable kernel, which gives the same bits.

//!
//! Also decides whether layout 2 (`LAYOUT_SMLAD16`) is supported: `cfg(mf_layout2)` on every
//! hosted target (the host always reads and runs all layouts, with the portable kernel), and on
//! bare-metal targets (`target_os = "none"`) only with the cargo feature `layout-smlad16`, so a
//! firmware that does not ask for it carries no layout-2 kernel (~2.5 KB of .text) and rejects
//! layout-2 files with `DecodeError::UnsupportedLayout(2)`.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(mf_dsp)");
    println!("cargo::rustc-check-cfg=cfg(mf_layout2)");
    let bare_metal = std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("none");
    if !bare_metal || std::env::var_os("CARGO_FEATURE_LAYOUT_SMLAD16").is_some() {
        println!("cargo::rustc-cfg=mf_layout2");
    }
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-env-changed=TARGET");
    let target = std::env::var("TARGET").unwrap_or_default();
    if target.starts_with("thumbv7em-") {
        println!("cargo::rustc-cfg=mf_dsp");
    }
}
