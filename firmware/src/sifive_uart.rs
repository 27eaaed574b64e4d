//! Driver for the SiFive UART (UART0 at 0x1001_3000 on the FE310 / QEMU `sifive_e`), polled,
//! as blocking `embedded-io` Read/Write.
//!
//! Why not `e310x-hal`: its serial port wants the clock tree and GPIO set up and is built on
//! `riscv` 0.12, while this firmware runs on riscv-rt 0.18 / `riscv` 0.16; four registers do.

use core::ptr::{read_volatile, write_volatile};

/// Base address of UART0 on the FE310.
pub const SIFIVE_UART0: usize = 0x1001_3000;

const TXDATA: usize = 0x0;
const RXDATA: usize = 0x4;
const TXCTRL: usize = 0x8;
const RXCTRL: usize = 0xC;
/// TXDATA: transmit FIFO full. RXDATA: receive FIFO empty (the low byte is invalid).
const FLAG: u32 = 1 << 31;
const ENABLE: u32 = 1;

/// One SiFive UART, owned exclusively by this value.
pub struct SifiveUart {
    base: usize,
}

impl SifiveUart {
    /// Take the UART at `base` and enable its transmitter and receiver.
    ///
    /// # Safety
    /// `base` must be the address of a SiFive UART that nothing else accesses while this
    /// value lives.
    pub unsafe fn new(base: usize) -> Self {
        let uart = Self { base };
        uart.write(TXCTRL, ENABLE);
        uart.write(RXCTRL, ENABLE);
        uart
    }

    fn read(&self, offset: usize) -> u32 {
        // SAFETY: `base + offset` is a register of the exclusively owned UART (see `new`).
        unsafe { read_volatile((self.base + offset) as *const u32) }
    }

    fn write(&self, offset: usize, value: u32) {
        // SAFETY: as in `read`.
        unsafe { write_volatile((self.base + offset) as *mut u32, value) }
    }

    /// The next received byte, if one is waiting (one read of RXDATA pops it).
    pub fn try_read_byte(&mut self) -> Option<u8> {
        let rx = self.read(RXDATA);
        (rx & FLAG == 0).then_some(rx as u8)
    }

    /// Send one byte, waiting while the transmit FIFO is full.
    pub fn write_byte(&mut self, byte: u8) {
        while self.read(TXDATA) & FLAG != 0 {}
        self.write(TXDATA, u32::from(byte));
    }
}

crate::uart_read::polled_uart_io!(SifiveUart);
