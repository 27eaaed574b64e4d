//! Firmware library: everything that does not touch a register.
//!
//! The application logic ([`server`] for the framed protocol, [`batch`] for semihosting
//! batch runs, [`boot`] for the model check) is generic over `embedded-io` Read/Write, the
//! `embedded-hal` 1.0 `OutputPin` and the small [`Stopwatch`] trait, so the same code runs on
//! every board and in host unit tests with fakes. The board layers (`board::*`, Cortex-M
//! only) provide the peripherals and pick the mode.
#![cfg_attr(not(test), no_std)]

pub mod batch;
pub mod boot;
pub mod cmsdk_uart;
#[cfg(all(target_arch = "riscv32", target_os = "none"))]
pub mod minstret;
#[cfg(all(feature = "qemu", target_os = "none"))]
pub mod modes;
pub mod nrf51_uart;
// The real boards' RTT log (feature `rtt`, which each of them enables).
#[cfg(all(feature = "rtt", target_os = "none"))]
pub mod rtt_log;
// Only in test builds of the firmware (feature `parity`) and in host unit tests: production
// firmware does not need it, and it costs ~2 KB of flash.
#[cfg(any(test, feature = "parity"))]
pub mod parity;
#[cfg(all(feature = "qemu", target_os = "none"))]
pub mod semihosting;
pub mod server;
pub mod sifive_uart;
#[cfg(all(target_arch = "arm", target_os = "none"))]
pub mod systick;
#[cfg(test)]
mod test_support;
pub mod uart_read;

#[cfg(target_os = "none")]
pub mod board;
#[cfg(target_os = "none")]
pub mod stack;

/// The wire protocol, shared with the host (`model-format/src/protocol.rs`).
pub use model_format::protocol;

/// The firmware version reported by `Info` (the crate version).
pub const FIRMWARE_VERSION: &str = env!("CARGO_PKG_VERSION");

/// The board this build targets, reported by `Info` and printed at boot.
/// (The runner script also finds it in the ELF to choose QEMU's machine, or probe-rs.)
#[cfg(target_os = "none")]
pub use board::NAME as BOARD;

/// Measures the cost of one inference in the board's counter unit
/// ([`protocol::CycleCounter`]): CPU cycles on a real chip, instructions under QEMU `-icount`.
pub trait Stopwatch {
    /// Start (or restart) a measurement.
    fn start(&mut self);
    /// Counter units elapsed since the last [`Stopwatch::start`].
    fn elapsed(&mut self) -> u32;
}

/// A stopwatch that always reads 0, for boards or tests without a counter.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoStopwatch;

impl Stopwatch for NoStopwatch {
    fn start(&mut self) {}
    fn elapsed(&mut self) -> u32 {
        0
    }
}

/// An `OutputPin` that does nothing, for boards without a user LED (QEMU).
#[derive(Debug, Default, Clone, Copy)]
pub struct NoLed;

impl embedded_hal::digital::ErrorType for NoLed {
    type Error = core::convert::Infallible;
}

impl embedded_hal::digital::OutputPin for NoLed {
    fn set_low(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }
    fn set_high(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }
}
