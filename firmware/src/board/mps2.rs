//! What the QEMU MPS2 boards share (mps2-an385/386/500 and mps2-an505): a CMSDK UART0 for the
//! protocol, SysTick for instruction counts, 4 MiB of RAM.

use cortex_m::interrupt::InterruptNumber;
use cortex_m::peripheral::NVIC;

use crate::batch::{Buffers, CHUNK_IMAGES};
use crate::cmsdk_uart::CmsdkUart;
use crate::modes::{self, QemuBoard};
use crate::semihosting::exit;
use crate::systick::SysTickStopwatch;

/// The parity mode may use all RAM but the top 64 KiB of the stack region.
const PARITY_STACK_RESERVE: usize = 64 * 1024;

/// Board entry for an MPS2 board whose UART0 is at `uart_base` and raises its receive
/// interrupt on external interrupt `RX_IRQ`; one SysTick tick is `NUM / DEN` instructions.
pub fn run<const NUM: u32, const DEN: u32, const RX_IRQ: u16>(
    model_bytes: &'static [u8],
    counter: &'static str,
    uart_base: usize,
) -> ! {
    let Some(cp) = cortex_m::Peripherals::take() else {
        exit(2) // only reachable if something took the peripherals before main
    };
    static mut BATCH: Buffers<CHUNK_IMAGES> = Buffers::new();
    // SAFETY: `run` is called once, from `main`, and never returns: this is the only
    // reference to BATCH ever made.
    let batch_buffers = unsafe { &mut *core::ptr::addr_of_mut!(BATCH) };
    modes::run(
        model_bytes,
        QemuBoard {
            stopwatch: SysTickStopwatch::<NUM, DEN>::new(cp.SYST),
            counter,
            open_uart: move || open_uart0::<RX_IRQ>(uart_base),
            batch_buffers,
            parity_stack_reserve: PARITY_STACK_RESERVE,
        },
    )
}

/// The UART0 receive interrupt line.
#[derive(Clone, Copy)]
struct UartRx(u16);

// SAFETY: each board passes the external interrupt number of its UART0 receive line.
unsafe impl InterruptNumber for UartRx {
    fn number(self) -> u16 {
        self.0
    }
}

/// UART0, sleeping between bytes: WFI wakes on the pending RX interrupt even though PRIMASK
/// keeps it from being taken (under QEMU a polling CPU keeps the emulator's I/O thread from
/// delivering the next byte promptly).
fn open_uart0<const RX_IRQ: u16>(base: usize) -> CmsdkUart {
    // Interrupts stay masked for good: the RX line only wakes the core.
    cortex_m::interrupt::disable();
    // SAFETY: with PRIMASK set no handler can run, so unmasking the line breaks no critical
    // section; it only lets the pending RX interrupt end a WFI.
    unsafe { NVIC::unmask(UartRx(RX_IRQ)) };
    // SAFETY: UART0 is used by nothing else in this program.
    unsafe { CmsdkUart::new(base, 16) }.sleep_while_idle(sleep_until_rx::<RX_IRQ>)
}

/// Sleep until UART0 has received something, then forget the pending interrupt.
fn sleep_until_rx<const RX_IRQ: u16>() {
    cortex_m::asm::wfi();
    NVIC::unpend(UartRx(RX_IRQ));
}
