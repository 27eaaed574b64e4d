//! ST Nucleo-F411RE (STM32F411RE, Cortex-M4F): the protocol on USART2, which the on-board
//! ST-LINK exposes as a USB virtual COM port, at 115200 baud 8N1. DWT CYCCNT times each
//! inference in CPU cycles; the user LED LD2 (PA5) is on while the chip classifies.
//!
//! Flash and run with `cargo run --profile firmware --no-default-features --features nucleo-f411re`
//! inside `firmware/` (the runner calls `probe-rs run --chip STM32F411RETx`, which then shows
//! the RTT boot log, [`crate::rtt_log`]).

use cortex_m::peripheral::DWT;
use embedded_hal_nb::serial::{Read as NbRead, Write as NbWrite};
use panic_probe as _;
use stm32f4xx_hal::pac::USART2;
use stm32f4xx_hal::prelude::*;
use stm32f4xx_hal::rcc::Config;
use stm32f4xx_hal::serial::{self, Serial};

use crate::boot::check_model;
use crate::protocol::CycleCounter;
use crate::server::{Device, Server};
use crate::{rtt_log, stack, Stopwatch, BOARD};

/// The board name reported by `Info`.
pub const NAME: &str = "nucleo-f411re";

/// System clock: the F411's maximum, from the internal 16 MHz oscillator through the PLL (no
/// dependence on the ST-LINK's MCO solder bridges).
const SYSCLK_MHZ: u32 = 100;
const BAUD: u32 = 115_200;

/// DWT CYCCNT: a 32-bit cycle counter (wraps after 42 s at 100 MHz; one inference is ms).
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

/// USART2 as blocking `embedded-io` Read/Write. (The HAL's own `embedded_io::Write` returns
/// `Ok(0)` while the transmitter is busy, which `write_all` treats as an error, so this goes
/// through the HAL's non-blocking `embedded-hal-nb` traits instead.)
struct Usart2(Serial<USART2, u8>);

impl embedded_io::ErrorType for Usart2 {
    type Error = serial::Error;
}

impl embedded_io::Read for Usart2 {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, serial::Error> {
        let Some((first, rest)) = buf.split_first_mut() else {
            return Ok(0);
        };
        *first = nb::block!(NbRead::read(&mut self.0))?;
        let mut n = 1;
        for slot in rest {
            match NbRead::read(&mut self.0) {
                Ok(b) => {
                    *slot = b;
                    n += 1;
                }
                // Return what we have; a line error will surface on the next call.
                Err(_) => break,
            }
        }
        Ok(n)
    }
}

impl embedded_io::Write for Usart2 {
    fn write(&mut self, buf: &[u8]) -> Result<usize, serial::Error> {
        for &b in buf {
            nb::block!(NbWrite::write(&mut self.0, b))?;
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> Result<(), serial::Error> {
        nb::block!(NbWrite::flush(&mut self.0))
    }
}

/// Board entry: clocks, cycle counter, LED, USART2, then serve forever.
pub fn run(model_bytes: &'static [u8]) -> ! {
    rtt_log::init();
    let (Some(dp), Some(mut cp)) = (
        stm32f4xx_hal::pac::Peripherals::take(),
        cortex_m::Peripherals::take(),
    ) else {
        halt()
    };
    let mut rcc = dp.RCC.freeze(Config::hsi().sysclk(SYSCLK_MHZ.MHz()));
    cp.DCB.enable_trace();
    cp.DWT.enable_cycle_counter();

    let gpioa = dp.GPIOA.split(&mut rcc);
    let mut led = gpioa.pa5.into_push_pull_output();
    let serial = match dp
        .USART2
        .serial((gpioa.pa2, gpioa.pa3), BAUD.bps(), &mut rcc)
    {
        Ok(s) => s,
        Err(_) => halt(),
    };
    let mut usart = Usart2(serial);

    let device = Device::new(
        BOARD,
        CycleCounter::CpuCycles,
        check_model(model_bytes),
        stack::high_water,
    );
    rtt_log::report_boot(
        &device,
        "cycle counter: DWT CYCCNT",
        "USART2 (the ST-LINK's virtual COM port, 115200 8N1)",
    );
    // A rejected model leaves the LED on (it otherwise only lights while classifying); the
    // host sees the reason in the `Info` reply.
    if device.model.is_err() {
        led.set_high();
    }
    let mut server = Server::new(&device, CycleStopwatch { start: 0 }, led);
    loop {
        // `serve` returns only on a line error (overrun, framing, noise): the bytes of that
        // frame are lost, its CRC check will fail and the host gets an error reply. Keep going.
        let _ = server.serve(&mut usart);
    }
}

fn halt() -> ! {
    loop {
        cortex_m::asm::wfi();
    }
}
