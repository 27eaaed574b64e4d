//! The real boards' log (Nucleo-F411RE, Raspberry Pi Pico, micro:bit v2): RTT, SEGGER's
//! Real-Time Transfer, through `rtt-target`. The firmware writes into a ring buffer in RAM that
//! the debug probe reads over SWD while the core runs, so logging needs no pin and no UART
//! (the UART carries the binary protocol). `probe-rs run` (the cargo runner) shows it after
//! flashing, `probe-rs attach` later (`firmware/README.md`). With no probe attached the writes
//! are dropped, never blocking. `panic-probe` prints a panic's message on the same channel.

use core::fmt;

use crate::protocol::PROTOCOL_VERSION;
use crate::server::Device;
use crate::BOARD;

/// Set up the RTT control block and its one up-channel (1 KiB, `NoBlockSkip`: a line that
/// does not fit the unread buffer is dropped). Call once, first thing in `run`.
pub fn init() {
    rtt_target::rtt_init_print!();
}

/// The RTT channel as a `fmt::Write`.
struct Rtt;

impl fmt::Write for Rtt {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        rtt_target::rprint!(s);
        Ok(())
    }
}

/// Log the boot report (`crate::boot::write_report`: board, model ok with its id and dims, or
/// why it was rejected) and what the serial port speaks: `port` names it, e.g. "USART2 (the
/// ST-LINK's virtual COM port, 115200 8N1)". The host tool is named by its binary: a
/// `cargo run` of it would wait while `cargo run` of the firmware (probe-rs reading this log)
/// holds the target directory's lock.
pub fn report_boot(device: &Device<'_>, counter: &str, port: &str) {
    let mut out = Rtt;
    let _ = crate::boot::write_report(&mut out, BOARD, counter, &device.status);
    let _ = fmt::Write::write_fmt(
        &mut out,
        format_args!(
            "serve: binary protocol v{PROTOCOL_VERSION} on {port}: COBS frames, not a \
             shell\n\
             serve: talk to it with target/release/host classify --port <device> (the device: \
             firmware/README.md)\n"
        ),
    );
}
