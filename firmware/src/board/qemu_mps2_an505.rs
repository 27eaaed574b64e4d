//! QEMU `mps2-an505`: Cortex-M33 at 20 MHz (thumbv8m.main-none-eabihf), running in the Secure
//! state it boots in (code at 0x1000_0000, RAM at 0x3800_0000: memory-qemu-mps2-an505.x).
//! CMSDK UART0 at its Secure alias 0x5020_0000, receive interrupt 32; SysTick tick = 50
//! instructions.

/// UART0's Secure alias (the SAU is off at reset, so every address is Secure).
const UART0: usize = 0x5020_0000;

/// The board name reported by `Info` and printed at boot.
pub const NAME: &str = "qemu-mps2-an505";

/// Board entry.
pub fn run(model_bytes: &'static [u8]) -> ! {
    super::mps2::run::<50, 1, 32>(model_bytes, "SysTick x 50", UART0)
}
