//! Selects the layer-1 kernel at compile time: `cfg(mf_dsp)` on Cortex-M cores with the DSP
//! extension (SMLAD, SXTB16), i.e. `thumbv7em-*` (M4, M7). Stable Rust does not expose
//! `target_feature = "dsp"` to `cfg`, so the target name decides. Everything else (thumbv7m,
//! thumbv6m, the host) uses the portable kernel, which gives the same bits.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(mf_dsp)");
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-env-changed=TARGET");
    let target = std::env::var("TARGET").unwrap_or_default();
    if target.starts_with("thumbv7em-") {
        println!("cargo::rustc-cfg=mf_dsp");
    }
}
