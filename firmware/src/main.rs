//! Firmware entry point. On the bare-metal targets the board layer (`firmware::board`) takes over; built for
//! the host (e.g. by `cargo test --workspace`) this binary only explains how to build it.
#![cfg_attr(target_os = "none", no_std)]
#![cfg_attr(target_os = "none", no_main)]

#[cfg(target_os = "none")]
mod embedded {
    /// The model, embedded at build time (`build.rs` copies `data/model.postcard`, or the file
    /// named by `FIRMWARE_MODEL`), after `MODEL_PAD` zero bytes. The static is word-aligned
    /// and the padding puts the layer-1 weights on a word boundary, as the SMLAD kernel needs.
    #[repr(C, align(4))]
    struct Aligned<B: ?Sized>(B);

    include!(concat!(env!("OUT_DIR"), "/model_pad.rs"));

    static MODEL: &Aligned<[u8]> =
        &Aligned(*include_bytes!(concat!(env!("OUT_DIR"), "/model.bin")));

    #[cfg_attr(target_arch = "arm", cortex_m_rt::entry)]
    #[cfg_attr(target_arch = "riscv32", riscv_rt::entry)]
    fn main() -> ! {
        // cortex-m-rt paints the stack before main; riscv-rt cannot (see firmware::stack).
        #[cfg(target_arch = "riscv32")]
        firmware::stack::paint();
        firmware::board::run(MODEL.0.get(MODEL_PAD..).unwrap_or(&MODEL.0))
    }
}

#[cfg(not(target_os = "none"))]
fn main() {
    eprintln!(
        "the firmware runs on Cortex-M and RISC-V boards: build it with `cargo firmware` from the workspace root, \
         or `cargo run` inside firmware/ (see firmware/README.md)"
    );
    std::process::exit(2);
}
