//! QEMU `mps2-an386`: Cortex-M4F at 25 MHz (thumbv7em-none-eabihf), the default board. CMSDK
//! UART0 at 0x4000_4000, receive interrupt 0; SysTick tick = 40 instructions.

use crate::cmsdk_uart::MPS2_UART0;

/// The board name reported by `Info` and printed at boot.
pub const NAME: &str = "qemu-mps2-an386";

/// Board entry.
pub fn run(model_bytes: &'static [u8]) -> ! {
    super::mps2::run::<40, 1, 0>(model_bytes, "SysTick x 40", MPS2_UART0)
}
