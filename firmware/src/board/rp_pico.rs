//! Raspberry Pi Pico (RP2040, Cortex-M0+ @ 125 MHz): the protocol over the RP2040's own USB
//! port, as a CDC-ACM serial device (usb-device + usbd-serial on rp2040-hal's USB driver; the
//! host sees `/dev/ttyACM*`, USB ID 16c0:27dd). SysTick on the core clock times each inference
//! in CPU cycles; the LED on GPIO25 is on while the chip classifies.
//!
//! Flash by drag-and-drop of the UF2 file that `build-all-targets.sh` writes onto the RPI-RP2
//! drive (hold BOOTSEL while plugging in), or with a debug probe on the SWD pins:
//! `cargo run --profile firmware --target thumbv6m-none-eabi --no-default-features --features rp-pico`
//! inside `firmware/` (the runner calls `probe-rs run --chip RP2040`, which then shows the RTT
//! boot log, [`crate::rtt_log`]; without a probe the log is not visible).

mod systick_cycles;
mod usb_serial;

use panic_probe as _;
use rp2040_hal::clocks::init_clocks_and_plls;
use rp2040_hal::gpio::Pins;
use rp2040_hal::pac;
use rp2040_hal::sio::Sio;
use rp2040_hal::usb::UsbBus;
use rp2040_hal::Watchdog;
use usb_device::bus::UsbBusAllocator;

use crate::boot::check_model;
use crate::protocol::CycleCounter;
use crate::server::{Device, Server};
use crate::{rtt_log, stack, BOARD};
use systick_cycles::SysTickStopwatch;
use usb_serial::UsbSerial;

/// The RP2040's second-stage bootloader: the boot ROM copies these 256 bytes from the start of
/// flash to RAM and runs them; they set up the Pico's W25Q080 QSPI flash for execute-in-place
/// and jump to the vector table after them. `memory-rp-pico.x` places the `.boot2` section at
/// 0x10000000 and names this symbol with `EXTERN`, so the linker keeps it.
#[link_section = ".boot2"]
#[no_mangle]
#[used]
pub static BOOT2_FIRMWARE: [u8; 256] = rp2040_boot2::BOOT_LOADER_W25Q080;

/// The board name reported by `Info`.
pub const NAME: &str = "rp-pico";

/// The Pico's crystal.
const XOSC_HZ: u32 = 12_000_000;

/// Board entry: clocks, cycle counter, LED, USB serial, then serve forever.
pub fn run(model_bytes: &'static [u8]) -> ! {
    // SAFETY: first thing after reset, before anything uses a spinlock. The RP2040 keeps its
    // spinlocks across a soft reset (e.g. after probe-rs flashed it); rp2040-hal's own `entry`
    // macro does the same, but main.rs uses cortex-m-rt's, shared by every board.
    unsafe { rp2040_hal::sio::spinlock_reset() };
    rtt_log::init();
    let (Some(mut dp), Some(cp)) = (pac::Peripherals::take(), pac::CorePeripherals::take()) else {
        halt()
    };
    let mut watchdog = Watchdog::new(dp.WATCHDOG);
    // 125 MHz system clock from the PLL, 48 MHz USB clock.
    let Ok(clocks) = init_clocks_and_plls(
        XOSC_HZ,
        dp.XOSC,
        dp.CLOCKS,
        dp.PLL_SYS,
        dp.PLL_USB,
        &mut dp.RESETS,
        &mut watchdog,
    ) else {
        halt()
    };
    let stopwatch = SysTickStopwatch::start_counting(cp.SYST);

    let sio = Sio::new(dp.SIO);
    let pins = Pins::new(dp.IO_BANK0, dp.PADS_BANK0, sio.gpio_bank0, &mut dp.RESETS);
    let mut led = pins.gpio25.into_push_pull_output();

    // The model check (a CRC over 160 kB of flash) runs before the USB device exists, so that
    // the first poll follows the pull-up's connection to the host without a delay.
    let device = Device::new(
        BOARD,
        CycleCounter::CpuCycles,
        check_model(model_bytes),
        stack::high_water,
    );

    rtt_log::report_boot(
        &device,
        "cycle counter: SysTick, extended to 32 bits",
        "USB CDC-ACM (the Pico's own USB port, 16c0:27dd)",
    );

    // `true`: the Pico has no VBUS-detect wiring to the RP2040, so tell the controller that
    // VBUS is present (as rp-hal's Pico examples do).
    let usb_bus = UsbBusAllocator::new(UsbBus::new(
        dp.USBCTRL_REGS,
        dp.USBCTRL_DPRAM,
        clocks.usb_clock,
        true,
        &mut dp.RESETS,
    ));
    let Some(mut usb) = UsbSerial::new(&usb_bus) else {
        halt()
    };

    // A rejected model leaves the LED on (it otherwise only lights while classifying); the
    // host sees the reason in the `Info` reply.
    if device.model.is_err() {
        let _ = embedded_hal::digital::OutputPin::set_high(&mut led);
    }
    let mut server = Server::new(&device, stopwatch, led);
    loop {
        // `serve` returns only on a USB error; the device keeps polling and serving.
        let _ = server.serve(&mut usb);
    }
}

fn halt() -> ! {
    loop {
        cortex_m::asm::wfi();
    }
}
