//! QEMU `sifive_e` (qemu-system-riscv32): SiFive E31 core, RV32IMAC
//! (riscv32imac-unknown-none-elf), code in the XIP flash at 0x2040_0000, 16 KiB DTIM RAM.
//! UART0 polled; `minstret` counts instructions exactly.
//!
//! RAM budget (16 KiB for everything): batch buffers for 4 images (3.3 KiB of .bss), the
//! rest is stack.

use crate::batch::Buffers;
use crate::minstret::MinstretStopwatch;
use crate::modes::{self, QemuBoard};
use crate::sifive_uart::{SifiveUart, SIFIVE_UART0};

/// The board name reported by `Info` and printed at boot.
pub const NAME: &str = "qemu-sifive-e";

/// Images per batch read: 4 x 829 bytes of buffers.
const BATCH_IMAGES: usize = 4;

/// Board entry.
pub fn run(model_bytes: &'static [u8]) -> ! {
    static mut BATCH: Buffers<BATCH_IMAGES> = Buffers::new();
    // SAFETY: `run` is called once, from `main`, and never returns: this is the only
    // reference to BATCH ever made.
    let batch_buffers = unsafe { &mut *core::ptr::addr_of_mut!(BATCH) };
    modes::run(
        model_bytes,
        QemuBoard {
            stopwatch: MinstretStopwatch::default(),
            counter: "minstret (exact)",
            // SAFETY: UART0 is used by nothing else in this program.
            open_uart: || unsafe { SifiveUart::new(SIFIVE_UART0) },
            batch_buffers,
            // The parity mode needs ~5 KiB of stack (1.6 KiB of it the sparse kernel's list of
            // nonzero pixels); the rest of RAM holds its models.
            parity_stack_reserve: 5632,
        },
    )
}
