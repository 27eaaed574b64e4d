//! QEMU `microbit`: nRF51822, Cortex-M0 at 16 MHz (thumbv6m-none-eabi), 256 KiB flash and
//! 16 KiB RAM. UART0 polled; SysTick tick = 62.5 instructions.
//!
//! RAM budget (16 KiB for everything): batch buffers for 4 images (3.3 KiB of .bss), the
//! rest is stack (the protocol server's two 1 KiB frame buffers and the 1 KiB inference
//! scratch live there).

use crate::batch::Buffers;
use crate::modes::{self, QemuBoard};
use crate::nrf51_uart::{Nrf51Uart, NRF51_UART0};
use crate::semihosting::exit;
use crate::systick::SysTickStopwatch;

/// The board name reported by `Info` and printed at boot.
pub const NAME: &str = "qemu-microbit";

/// Images per batch read: 4 x 829 bytes of buffers.
const BATCH_IMAGES: usize = 4;

/// Board entry.
pub fn run(model_bytes: &'static [u8]) -> ! {
    let Some(cp) = cortex_m::Peripherals::take() else {
        exit(2) // only reachable if something took the peripherals before main
    };
    static mut BATCH: Buffers<BATCH_IMAGES> = Buffers::new();
    // SAFETY: `run` is called once, from `main`, and never returns: this is the only
    // reference to BATCH ever made.
    let batch_buffers = unsafe { &mut *core::ptr::addr_of_mut!(BATCH) };
    modes::run(
        model_bytes,
        QemuBoard {
            // 16 MHz SysTick: 62.5 instructions per tick.
            stopwatch: SysTickStopwatch::<125, 2>::new(cp.SYST),
            counter: "SysTick x 62.5",
            // SAFETY: UART0 is used by nothing else in this program.
            open_uart: || unsafe { Nrf51Uart::new(NRF51_UART0) },
            batch_buffers,
            // The parity mode needs ~5 KiB of stack (1.5 KiB of it the sparse kernel's list of
            // nonzero pixels); the rest of RAM holds its models.
            parity_stack_reserve: 5632,
        },
    )
}
