//! Driver for the nRF51 UART (UART0 at 0x4000_2000 on the micro:bit / QEMU `microbit`),
//! polled, as blocking `embedded-io` Read/Write.
//!
//! Why not `nrf51-hal`: its UART wants pin and baud configuration QEMU ignores, speaks only
//! the `embedded-hal` 0.2 serial traits, and brings a PAC and a second embedded-hal stack for
//! five registers. QEMU needs ENABLE = 4 and both STARTTX and STARTRX, or it silently drops
//! the bytes (verified).

use core::ptr::{read_volatile, write_volatile};

/// Base address of UART0 on the nRF51.
pub const NRF51_UART0: usize = 0x4000_2000;

const TASKS_STARTRX: usize = 0x000;
const TASKS_STARTTX: usize = 0x008;
const EVENTS_RXDRDY: usize = 0x108;
const EVENTS_TXDRDY: usize = 0x11C;
const ENABLE: usize = 0x500;
const RXD: usize = 0x518;
const TXD: usize = 0x51C;
const ENABLE_UART: u32 = 4;

/// One nRF51 UART, owned exclusively by this value.
pub struct Nrf51Uart {
    base: usize,
}

impl Nrf51Uart {
    /// Take the UART at `base`, enable it and start both directions.
    ///
    /// # Safety
    /// `base` must be the address of an nRF51 UART that nothing else accesses while this
    /// value lives.
    pub unsafe fn new(base: usize) -> Self {
        let uart = Self { base };
        uart.write(ENABLE, ENABLE_UART);
        uart.write(TASKS_STARTTX, 1);
        uart.write(TASKS_STARTRX, 1);
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

    /// The next received byte, if one is waiting.
    pub fn try_read_byte(&mut self) -> Option<u8> {
        if self.read(EVENTS_RXDRDY) == 0 {
            return None;
        }
        // Clear the event before reading RXD: reading pops the FIFO, and a further byte
        // raises the event again.
        self.write(EVENTS_RXDRDY, 0);
        Some(self.read(RXD) as u8)
    }

    /// Send one byte and wait until it has gone.
    pub fn write_byte(&mut self, byte: u8) {
        self.write(TXD, u32::from(byte));
        while self.read(EVENTS_TXDRDY) == 0 {}
        self.write(EVENTS_TXDRDY, 0);
    }
}

crate::uart_read::polled_uart_io!(Nrf51Uart);
