//! Driver for the ARM CMSDK APB UART (the UARTs of the MPS2 boards, e.g. UART0 at
//! 0x4000_4000 on mps2-an386), exposed as blocking `embedded-io` Read/Write.
//!
//! Registers (32-bit, offsets from the base): DATA 0x00, STATE 0x04 (bit 0 TX full, bit 1 RX
//! full, bits 2/3 TX/RX overrun, write 1 to clear), CTRL 0x08 (bit 0 TX enable, bit 1 RX
//! enable), INTSTATUS 0x0C, BAUDDIV 0x10 (>= 16).

use core::convert::Infallible;
use core::ptr::{addr_of, addr_of_mut, read_volatile, write_volatile};

/// The register block, `repr(C)` so that it matches the hardware layout.
#[repr(C)]
pub struct Registers {
    data: u32,
    state: u32,
    ctrl: u32,
    int_status: u32,
    baud_div: u32,
}

const STATE_TX_FULL: u32 = 1 << 0;
const STATE_RX_FULL: u32 = 1 << 1;
const STATE_OVERRUNS: u32 = (1 << 2) | (1 << 3);
const CTRL_TX_EN: u32 = 1 << 0;
const CTRL_RX_EN: u32 = 1 << 1;
const CTRL_RX_INT_EN: u32 = 1 << 3;
const INT_RX: u32 = 1 << 1;

/// Base address of UART0 on the MPS2 AN385/AN386 boards.
pub const MPS2_UART0: usize = 0x4000_4000;

/// One CMSDK UART, owned exclusively by this value.
pub struct CmsdkUart {
    regs: *mut Registers,
    sleep: Option<fn()>,
}

impl CmsdkUart {
    /// Take the UART at `base`, set its baud divider and enable TX and RX.
    ///
    /// # Safety
    /// `base` must be the address of a CMSDK UART register block (or of memory laid out like
    /// one) that nothing else accesses while this value lives.
    pub unsafe fn new(base: usize, baud_div: u32) -> Self {
        let regs = base as *mut Registers;
        // SAFETY: the caller guarantees `regs` points at an exclusive register block.
        unsafe {
            write_volatile(addr_of_mut!((*regs).baud_div), baud_div.max(16));
            write_volatile(addr_of_mut!((*regs).state), STATE_OVERRUNS);
            write_volatile(addr_of_mut!((*regs).ctrl), CTRL_TX_EN | CTRL_RX_EN);
        }
        Self { regs, sleep: None }
    }

    /// Sleep instead of busy-polling while waiting for a byte: enables the RX interrupt and
    /// calls `sleep` whenever nothing has arrived. `sleep` must return once the UART's RX
    /// interrupt line has risen (e.g. WFI with the line enabled in the NVIC but masked by
    /// PRIMASK, then clear its pending bit); spurious returns are fine.
    ///
    /// Why: under QEMU a polling CPU keeps the emulator's I/O thread from delivering the
    /// next byte promptly; a sleeping one lets it run, which makes the emulated UART several
    /// times faster.
    pub fn sleep_while_idle(mut self, sleep: fn()) -> Self {
        // SAFETY: as in `state`.
        unsafe {
            let ctrl = read_volatile(addr_of!((*self.regs).ctrl));
            write_volatile(addr_of_mut!((*self.regs).ctrl), ctrl | CTRL_RX_INT_EN);
        }
        self.sleep = Some(sleep);
        self
    }

    /// Wait until a byte may have arrived.
    fn idle(&mut self) {
        if let Some(sleep) = self.sleep {
            // Clear the (write-1-to-clear) RX interrupt first, so that any byte arriving from
            // now on raises the line afresh; then look once more before sleeping.
            // SAFETY: as in `state`.
            unsafe { write_volatile(addr_of_mut!((*self.regs).int_status), INT_RX) };
            if self.state() & STATE_RX_FULL == 0 {
                sleep();
            }
        }
    }

    fn state(&self) -> u32 {
        // SAFETY: `regs` is valid and exclusive for the life of `self` (see `new`).
        unsafe { read_volatile(addr_of!((*self.regs).state)) }
    }

    /// The next received byte, if one is waiting.
    pub fn try_read_byte(&mut self) -> Option<u8> {
        if self.state() & STATE_RX_FULL == 0 {
            return None;
        }
        // SAFETY: as in `state`. Reading DATA pops the byte and clears RX full.
        Some(unsafe { read_volatile(addr_of!((*self.regs).data)) } as u8)
    }

    /// Send one byte, waiting while the transmit buffer is full.
    pub fn write_byte(&mut self, byte: u8) {
        while self.state() & STATE_TX_FULL != 0 {}
        // SAFETY: as in `state`.
        unsafe { write_volatile(addr_of_mut!((*self.regs).data), u32::from(byte)) }
    }
}

impl embedded_io::ErrorType for CmsdkUart {
    type Error = Infallible;
}

impl embedded_io::Read for CmsdkUart {
    /// Blocks until at least one byte arrived, then returns what is available (never 0 for a
    /// non-empty buffer, as `embedded-io` requires).
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Infallible> {
        let mut n = 0;
        for slot in buf.iter_mut() {
            let byte = loop {
                match self.try_read_byte() {
                    Some(b) => break Some(b),
                    None if n == 0 => self.idle(),
                    None => break None,
                }
            };
            match byte {
                Some(b) => {
                    *slot = b;
                    n += 1;
                }
                None => break,
            }
        }
        Ok(n)
    }
}

impl embedded_io::Write for CmsdkUart {
    fn write(&mut self, buf: &[u8]) -> Result<usize, Infallible> {
        for &b in buf {
            self.write_byte(b);
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> Result<(), Infallible> {
        while self.state() & STATE_TX_FULL != 0 {}
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use embedded_io::{Read, Write};

    /// The driver against plain memory laid out like the registers: checks the init sequence
    /// and the status-bit handshakes (a fake "hardware" that always has a byte ready).
    #[test]
    fn init_read_and_write_against_a_fake_register_block() {
        let mut fake = Registers {
            data: 0xAA,
            state: 0,
            ctrl: 0,
            int_status: 0,
            baud_div: 0,
        };
        let base = core::ptr::addr_of_mut!(fake) as usize;
        // SAFETY: `fake` outlives `uart` and is only touched through it until it is dropped.
        let mut uart = unsafe { CmsdkUart::new(base, 3) };
        let regs = base as *mut Registers;
        // SAFETY: as above. Plain memory does not clear the write-1-to-clear overrun bits that
        // `new` wrote; play the hardware: overruns cleared, a received byte waiting.
        unsafe {
            assert_eq!(read_volatile(addr_of!((*regs).state)), STATE_OVERRUNS);
            write_volatile(addr_of_mut!((*regs).state), STATE_RX_FULL);
        }
        let mut buf = [0u8; 3];
        assert_eq!(uart.read(&mut buf).unwrap(), 3);
        assert_eq!(buf, [0xAA; 3]);
        uart.write_all(b"hi").unwrap();
        uart.flush().unwrap();
        assert_eq!(fake.baud_div, 16, "BAUDDIV is clamped to its minimum");
        assert_eq!(fake.ctrl, CTRL_TX_EN | CTRL_RX_EN);
        assert_eq!(fake.data, u32::from(b'i'));
        assert_eq!(fake.int_status, 0);
    }

    /// The sleeping wait: RX interrupt enabled, the RX interrupt status cleared before each
    /// sleep, and the byte read once the (fake) hardware delivered it during the sleep.
    #[test]
    fn sleeping_read_clears_the_rx_interrupt_and_wakes_on_data() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static REGS: AtomicUsize = AtomicUsize::new(0);
        static SLEEPS: AtomicUsize = AtomicUsize::new(0);
        fn deliver_byte_while_asleep() {
            let regs = REGS.load(Ordering::SeqCst) as *mut Registers;
            // SAFETY: the test's register block outlives the read that calls this.
            unsafe {
                assert_eq!(read_volatile(addr_of!((*regs).int_status)), INT_RX);
                write_volatile(addr_of_mut!((*regs).int_status), 0);
                write_volatile(addr_of_mut!((*regs).data), 0x5A);
                write_volatile(addr_of_mut!((*regs).state), STATE_RX_FULL);
            }
            SLEEPS.fetch_add(1, Ordering::SeqCst);
        }

        let mut fake = Registers {
            data: 0,
            state: 0,
            ctrl: 0,
            int_status: 0,
            baud_div: 0,
        };
        let base = core::ptr::addr_of_mut!(fake) as usize;
        REGS.store(base, Ordering::SeqCst);
        // SAFETY: `fake` outlives `uart`.
        let mut uart =
            unsafe { CmsdkUart::new(base, 16) }.sleep_while_idle(deliver_byte_while_asleep);
        let regs = base as *mut Registers;
        // SAFETY: as above; nothing waiting yet.
        unsafe {
            assert_eq!(
                read_volatile(addr_of!((*regs).ctrl)),
                CTRL_TX_EN | CTRL_RX_EN | CTRL_RX_INT_EN
            );
            write_volatile(addr_of_mut!((*regs).state), 0);
        }
        let mut buf = [0u8; 1];
        assert_eq!(uart.read(&mut buf).unwrap(), 1);
        assert_eq!(buf, [0x5A]);
        assert_eq!(SLEEPS.load(Ordering::SeqCst), 1);
    }
}
