//! BBC micro:bit v2 (nRF52833, Cortex-M4F @ 64 MHz): the protocol on UARTE0, which the board's
//! interface chip (DAPLink or J-Link OB) bridges to a USB virtual COM port, at 115200 baud 8N1
//! (nRF TXD P0.06, RXD P1.08). DWT CYCCNT times each inference in CPU cycles; the centre LED of
//! the 5x5 matrix (row 3 = P0.15, column 3 = P0.31) is on while the chip classifies.
//!
//! Flash and run with the on-board probe: `cargo run --profile firmware --no-default-features
//! --features microbit-v2` inside `firmware/` (the runner calls
//! `probe-rs run --chip nRF52833_xxAA`, which then shows the RTT boot log, [`crate::rtt_log`]).

use cortex_m::peripheral::DWT;
use nrf52833_hal::clocks::Clocks;
use nrf52833_hal::gpio::{p0, p1, Level};
use nrf52833_hal::pac::{self, UARTE0};
use nrf52833_hal::uarte::{self, Baudrate, Parity, Uarte, UarteRx, UarteTx};
use panic_probe as _;

use crate::boot::check_model;
use crate::protocol::CycleCounter;
use crate::server::{Device, Server};
use crate::{rtt_log, stack, Stopwatch, BOARD};

/// The board name reported by `Info`.
pub const NAME: &str = "microbit-v2";

/// DWT CYCCNT: a 32-bit cycle counter (wraps after 67 s at 64 MHz; one inference is ms).
struct CycleStopwatch {
    start: u32,
}

impl Stopwatch for CycleStopwatch {
    fn start(&mut self) {
        self.start = DWT::cycle_count();
    }
    fn elapsed(&mut self) -> u32 {
        DWT::cycle_count().wrapping_sub(self.start)
    }
}

/// UARTE0's two halves as one `embedded-io` 0.6 stream (nrf-hal implements 0.7, whose traits
/// have the same blocking semantics). The halves already block: a read returns one byte (a
/// 1-byte EasyDMA transfer, restarted by the next call; the receiver stays on in between and
/// its small RX FIFO keeps the next bytes, so the server must come back within a few byte
/// times, which its per-byte work does), a write hands its DMA buffer to the transmitter.
struct UarteIo {
    tx: UarteTx<UARTE0>,
    rx: UarteRx<UARTE0>,
}

/// A UARTE error as an `embedded-io` 0.6 kind (the server only needs to know that it failed).
fn kind(e: uarte::Error) -> embedded_io::ErrorKind {
    match e {
        uarte::Error::Timeout(_) => embedded_io::ErrorKind::TimedOut,
        _ => embedded_io::ErrorKind::Other,
    }
}

impl embedded_io::ErrorType for UarteIo {
    type Error = embedded_io::ErrorKind;
}

impl embedded_io::Read for UarteIo {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Self::Error> {
        embedded_io_07::Read::read(&mut self.rx, buf).map_err(kind)
    }
}

impl embedded_io::Write for UarteIo {
    fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
        embedded_io_07::Write::write(&mut self.tx, buf).map_err(kind)
    }
    fn flush(&mut self) -> Result<(), Self::Error> {
        embedded_io_07::Write::flush(&mut self.tx).map_err(kind)
    }
}

/// Board entry: clocks, cycle counter, LED, UARTE0, then serve forever.
pub fn run(model_bytes: &'static [u8]) -> ! {
    rtt_log::init();
    let (Some(dp), Some(mut cp)) = (pac::Peripherals::take(), pac::CorePeripherals::take()) else {
        halt()
    };
    // The 32 MHz crystal instead of the internal RC oscillator: the baud rate derives from it
    // (the CPU runs at 64 MHz either way).
    let _clocks = Clocks::new(dp.CLOCK).enable_ext_hfosc();
    cp.DCB.enable_trace();
    cp.DWT.enable_cycle_counter();

    let port0 = p0::Parts::new(dp.P0);
    let port1 = p1::Parts::new(dp.P1);
    // An LED of the matrix lights when its row is high and its column low: hold column 3 low
    // and drive row 3 as the LED (the other rows and columns stay unconnected inputs).
    let _col3 = port0.p0_31.into_push_pull_output(Level::Low);
    let mut led = port0.p0_15.into_push_pull_output(Level::Low);

    let pins = uarte::Pins {
        txd: port0.p0_06.into_push_pull_output(Level::High).degrade(),
        rxd: port1.p1_08.into_floating_input().degrade(),
        cts: None,
        rts: None,
    };
    let uarte = Uarte::new(dp.UARTE0, pins, Parity::EXCLUDED, Baudrate::BAUD115200);
    // EasyDMA reads and writes RAM only: the halves get static buffers.
    let (Some(tx_buf), Some(rx_buf)) = (
        cortex_m::singleton!(: [u8; 64] = [0; 64]),
        cortex_m::singleton!(: [u8; 1] = [0; 1]),
    ) else {
        halt()
    };
    let Ok((tx, rx)) = uarte.split(tx_buf, rx_buf) else {
        halt()
    };
    let mut io = UarteIo { tx, rx };

    let device = Device::new(
        BOARD,
        CycleCounter::CpuCycles,
        check_model(model_bytes),
        stack::high_water,
    );
    rtt_log::report_boot(
        &device,
        "cycle counter: DWT CYCCNT",
        "UARTE0 (the interface chip's virtual COM port, 115200 8N1)",
    );
    // A rejected model leaves the LED on (it otherwise only lights while classifying); the
    // host sees the reason in the `Info` reply.
    if device.model.is_err() {
        let _ = embedded_hal::digital::OutputPin::set_high(&mut led);
    }
    let mut server = Server::new(&device, CycleStopwatch { start: 0 }, led);
    loop {
        // `serve` returns only on a line error: the bytes of that frame are lost, its CRC check
        // fails and the host gets an error reply. Keep going.
        let _ = server.serve(&mut io);
    }
}

fn halt() -> ! {
    loop {
        cortex_m::asm::wfi();
    }
}
