//! QEMU `mps2-an386` (Cortex-M4F at 25 MHz): CMSDK UART0 for the protocol, semihosting for
//! the console, files and exit codes, SysTick for instruction counts.
//!
//! The mode comes from the semihosting command line (`-semihosting-config arg=...`; the first
//! argument is the program name):
//!
//! * `serve` (or nothing): the framed protocol on UART0, forever.
//! * `batch IN OUT`: classify the raw images of host file IN, write the records to OUT
//!   (format in [`crate::batch`]), print a summary line, exit.
//! * `check`: report the boot check and a self-test inference, exit.
//! * `parity IN OUT` (only with the cargo feature `parity`): run the models and images of host
//!   file IN (format in `crate::parity`), write the logits to OUT, exit: the kernel-parity test.
//!
//! Exit codes: 0 success, 2 usage, 3 model rejected at boot, 4 host file I/O error.

use core::cell::UnsafeCell;
use core::fmt::Write as _;

use cortex_m::interrupt::InterruptNumber;
use cortex_m::peripheral::{syst::SystClkSource, NVIC, SYST};
use cortex_m_semihosting::{hio, nr, syscall};
use model_format::{Model, INPUT};
use panic_semihosting as _;

use crate::batch::{self, BatchError, Buffers};
use crate::boot::check_model;
use crate::cmsdk_uart::{CmsdkUart, MPS2_UART0};
use crate::protocol::{CycleCounter, ModelStatus};
use crate::server::{Device, Server};
use crate::{stack, NoLed, Stopwatch, BOARD, FIRMWARE_VERSION};
use model_format::protocol::ExitCode;

/// Under `-icount shift=0` QEMU advances virtual time 1 ns per instruction, and SysTick on the
/// 25 MHz core clock ticks every 40 ns: one tick is 40 instructions.
const INSTRUCTIONS_PER_TICK: u32 = 40;
const SYST_MASK: u32 = 0x00FF_FFFF;

#[cfg(feature = "parity")]
const USAGE: &str =
    "usage: firmware [serve | check | batch IN OUT | parity IN OUT] (semihosting arguments)";
#[cfg(not(feature = "parity"))]
const USAGE: &str = "usage: firmware [serve | check | batch IN OUT] (semihosting arguments)";

const EXIT_OK: u32 = ExitCode::Ok as u32;
const EXIT_USAGE: u32 = ExitCode::Usage as u32;
const EXIT_MODEL_REJECTED: u32 = ExitCode::ModelRejected as u32;
const EXIT_IO: u32 = ExitCode::Io as u32;

/// Free-running 24-bit SysTick; elapsed readings are correct up to 2^24 ticks
/// (671 million instructions), far above one inference.
struct SysTickStopwatch {
    start: u32,
}

impl SysTickStopwatch {
    fn new(mut syst: SYST) -> Self {
        syst.set_clock_source(SystClkSource::Core);
        syst.set_reload(SYST_MASK);
        syst.clear_current();
        syst.enable_counter();
        Self { start: 0 }
    }
}

impl Stopwatch for SysTickStopwatch {
    fn start(&mut self) {
        self.start = SYST::get_current();
    }
    fn elapsed(&mut self) -> u32 {
        // SysTick counts down.
        let ticks = self.start.wrapping_sub(SYST::get_current()) & SYST_MASK;
        ticks * INSTRUCTIONS_PER_TICK
    }
}

/// Board entry: check the model, then run the mode the command line asks for.
pub fn run(model_bytes: &'static [u8]) -> ! {
    let Some(cp) = cortex_m::Peripherals::take() else {
        exit(EXIT_USAGE) // only reachable if something took the peripherals before main
    };
    let mut stopwatch = SysTickStopwatch::new(cp.SYST);
    let device = Device::new(
        BOARD,
        CycleCounter::QemuInstructions,
        check_model(model_bytes),
        stack::high_water,
    );
    let mut out = Console::new();
    report_boot(&mut out, &device);

    let mut cmdline = [0u8; 512];
    let args = command_line(&mut cmdline);
    let mut args = args.split_ascii_whitespace().skip(1); // skip the program name
    match (args.next(), args.next(), args.next(), args.next()) {
        (None | Some("serve"), None, None, None) => serve(&device, stopwatch, &mut out),
        (Some("check"), None, None, None) => {
            let code = self_test(&device, &mut stopwatch, &mut out);
            exit(code)
        }
        (Some("batch"), Some(input), Some(output), None) => {
            let code = run_batch(&device, &mut stopwatch, &mut out, input, output);
            exit(code)
        }
        #[cfg(feature = "parity")]
        (Some("parity"), Some(input), Some(output), None) => {
            exit(run_parity(&mut out, input, output))
        }
        _ => {
            let _ = writeln!(out, "{USAGE}");
            exit(EXIT_USAGE)
        }
    }
}

fn report_boot(out: &mut Console, device: &Device<'_>) {
    let _ = writeln!(out, "firmware {FIRMWARE_VERSION} on {BOARD}");
    match &device.status {
        ModelStatus::Loaded {
            model_id,
            input,
            hidden,
            classes,
        } => {
            let _ = writeln!(
                out,
                "boot: model ok id={model_id:016x} dims={input}-{hidden}-{classes}"
            );
        }
        ModelStatus::Rejected { reason } => {
            let _ = writeln!(out, "boot: model rejected: {reason}");
        }
    }
}

/// UART0's receive interrupt on mps2-an386 (CMSDK UART0 RX is external interrupt 0).
#[derive(Clone, Copy)]
struct Uart0Rx;

// SAFETY: 0 is a valid external interrupt number of this board.
unsafe impl InterruptNumber for Uart0Rx {
    fn number(self) -> u16 {
        0
    }
}

/// Sleep until UART0 has received something: WFI wakes on the pending RX interrupt even
/// though PRIMASK keeps it from being taken; then forget it.
fn sleep_until_uart0_rx() {
    cortex_m::asm::wfi();
    NVIC::unpend(Uart0Rx);
}

fn serve(device: &Device<'_>, stopwatch: SysTickStopwatch, out: &mut Console) -> ! {
    let _ = writeln!(
        out,
        "serve: protocol v{} on UART0",
        crate::protocol::PROTOCOL_VERSION
    );
    // Interrupts stay masked for good: the RX line only wakes the core (see above).
    cortex_m::interrupt::disable();
    // SAFETY: with PRIMASK set no handler can run, so unmasking the line breaks no critical
    // section; it only lets the pending RX interrupt end a WFI.
    unsafe { NVIC::unmask(Uart0Rx) };
    // SAFETY: UART0 is used by nothing else in this program.
    let mut uart = unsafe { CmsdkUart::new(MPS2_UART0, 16) }.sleep_while_idle(sleep_until_uart0_rx);
    let mut server = Server::new(device, stopwatch, NoLed);
    // The UART never reports end of input and cannot fail, so this does not return.
    let _ = server.serve(&mut uart);
    exit(EXIT_IO)
}

/// `check`: the boot report plus one timed inference of a blank and of a striped image.
fn self_test(device: &Device<'_>, stopwatch: &mut SysTickStopwatch, out: &mut Console) -> u32 {
    let Ok(model) = &device.model else {
        return EXIT_MODEL_REJECTED;
    };
    let blank = [0u8; INPUT];
    let striped: [u8; INPUT] = core::array::from_fn(|i| if i % 28 < 14 { 255 } else { 0 });
    for (name, image) in [("blank", &blank), ("striped", &striped)] {
        let (class, cost) = timed(model, image, stopwatch);
        let _ = writeln!(
            out,
            "check: {name} image -> class {class}, {cost} instructions"
        );
    }
    let _ = writeln!(out, "check: stack_high_water={}", stack::high_water());
    EXIT_OK
}

fn timed(model: &Model<'_>, image: &[u8; INPUT], sw: &mut SysTickStopwatch) -> (u8, u32) {
    sw.start();
    let p = model.infer(image);
    (p.class, sw.elapsed())
}

fn run_batch(
    device: &Device<'_>,
    stopwatch: &mut SysTickStopwatch,
    out: &mut Console,
    input: &str,
    output: &str,
) -> u32 {
    let Ok(model) = &device.model else {
        return EXIT_MODEL_REJECTED;
    };
    let (mut src, mut dst) = match (
        HostFile::open(input, nr::open::R_BINARY),
        HostFile::open(output, nr::open::W_TRUNC_BINARY),
    ) {
        (Ok(s), Ok(d)) => (s, d),
        (Err(e), _) | (_, Err(e)) => {
            let _ = writeln!(out, "batch: cannot open {}", e.0);
            return EXIT_IO;
        }
    };
    static mut BUFFERS: Buffers = Buffers::new();
    // SAFETY: `run_batch` runs at most once per boot (the program exits after it), so this
    // is the only reference to BUFFERS ever made.
    let buffers = unsafe { &mut *core::ptr::addr_of_mut!(BUFFERS) };
    match batch::run(model, &mut src, &mut dst, stopwatch, buffers) {
        Ok(s) => {
            let _ = writeln!(
                out,
                "batch: images={} instructions_total={} instructions_min={} instructions_max={} \
                 stack_high_water={}",
                s.images,
                s.cycles_total,
                s.cycles_min,
                s.cycles_max,
                stack::high_water()
            );
            EXIT_OK
        }
        Err(BatchError::PartialImage { bytes }) => {
            let _ = writeln!(
                out,
                "batch: input ends inside an image ({bytes} stray bytes)"
            );
            EXIT_IO
        }
        Err(BatchError::Read(_)) => {
            let _ = writeln!(out, "batch: reading {input} failed");
            EXIT_IO
        }
        Err(BatchError::Write(_)) => {
            let _ = writeln!(out, "batch: writing {output} failed");
            EXIT_IO
        }
    }
}

/// `parity IN OUT`: the kernel-parity cases of IN (see [`crate::parity`]).
#[cfg(feature = "parity")]
fn run_parity(out: &mut Console, input: &str, output: &str) -> u32 {
    let (mut src, mut dst) = match (
        HostFile::open(input, nr::open::R_BINARY),
        HostFile::open(output, nr::open::W_TRUNC_BINARY),
    ) {
        (Ok(s), Ok(d)) => (s, d),
        (Err(e), _) | (_, Err(e)) => {
            let _ = writeln!(out, "parity: cannot open {}", e.0);
            return EXIT_IO;
        }
    };
    // SAFETY: called once (the program exits afterwards); `parity::run` and the semihosting
    // calls below it use a few KiB of stack, far less than `STACK_RESERVE`.
    let buf = unsafe { stack::spare_ram() };
    match crate::parity::run(&mut src, &mut dst, buf) {
        Ok(cases) => {
            let _ = writeln!(out, "parity: cases={cases}");
            EXIT_OK
        }
        Err(e) => {
            // Fixed messages rather than `{e:?}`: Debug formatting costs ~700 B of flash.
            use crate::parity::ParityError;
            let why = match e {
                ParityError::Read(_) => "read error",
                ParityError::Write(_) => "write error",
                ParityError::Truncated => "input truncated inside a case",
                ParityError::TooLarge(_) => "model larger than the RAM buffer",
            };
            let _ = writeln!(out, "parity: failed: {why}");
            EXIT_IO
        }
    }
}

/// The semihosting console (QEMU's stdout). Output errors are ignored: there is nobody to
/// report them to.
struct Console(Option<hio::HostStream>);

impl Console {
    fn new() -> Self {
        Self(hio::hstdout().ok())
    }
}

impl core::fmt::Write for Console {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        if let Some(h) = &mut self.0 {
            let _ = h.write_all(s.as_bytes());
        }
        Ok(())
    }
}

/// The semihosting command line, or "" if the host provides none.
fn command_line(buf: &mut [u8]) -> &str {
    // SYS_GET_CMDLINE takes a block {buffer, length} and writes the actual length back.
    let block = UnsafeCell::new([buf.as_mut_ptr() as usize, buf.len()]);
    // SAFETY: the block and the buffer it points to are valid for the call; the host writes
    // only within `buf.len()` bytes and into the block (through the UnsafeCell).
    let status = unsafe { cortex_m_semihosting::syscall(nr::GET_CMDLINE, &block) };
    let len = block.into_inner()[1];
    if status != 0 || len > buf.len() {
        return "";
    }
    core::str::from_utf8(&buf[..len]).unwrap_or("")
}

/// Exit QEMU with `code` (SYS_EXIT_EXTENDED carries any status to the host shell).
fn exit(code: u32) -> ! {
    const SYS_EXIT_EXTENDED: usize = 0x20;
    const ADP_STOPPED_APPLICATION_EXIT: usize = 0x20026;
    let block = [ADP_STOPPED_APPLICATION_EXIT, code as usize];
    // SAFETY: the parameter block is valid for the call; QEMU does not return.
    unsafe {
        cortex_m_semihosting::syscall(SYS_EXIT_EXTENDED, &block);
    }
    loop {
        cortex_m::asm::wfi();
    }
}

/// Why a host file could not be opened (carries the path for the message).
struct OpenError<'a>(&'a str);

/// A host file opened through semihosting, as `embedded-io` Read/Write.
struct HostFile {
    handle: usize,
}

/// A semihosting file operation failed.
#[derive(Debug)]
struct HostIoError;

impl embedded_io::Error for HostIoError {
    fn kind(&self) -> embedded_io::ErrorKind {
        embedded_io::ErrorKind::Other
    }
}

impl HostFile {
    fn open(path: &str, mode: usize) -> Result<Self, OpenError<'_>> {
        // SYS_OPEN wants a NUL-terminated name and its length without the NUL.
        let mut name = heapless::Vec::<u8, 256>::new();
        if name.extend_from_slice(path.as_bytes()).is_err() || name.push(0).is_err() {
            return Err(OpenError(path));
        }
        // SAFETY: `name` is NUL-terminated and lives across the call.
        let handle = unsafe { syscall!(OPEN, name.as_ptr(), mode, path.len()) };
        if handle as isize == -1 {
            return Err(OpenError(path));
        }
        Ok(Self { handle })
    }
}

impl Drop for HostFile {
    fn drop(&mut self) {
        // SAFETY: `handle` is an open semihosting handle owned by this value.
        unsafe {
            syscall!(CLOSE, self.handle);
        }
    }
}

impl embedded_io::ErrorType for HostFile {
    type Error = HostIoError;
}

impl embedded_io::Read for HostFile {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, HostIoError> {
        // SYS_READ returns the number of bytes NOT read (== len at end of file).
        // SAFETY: the buffer is valid for writes of `buf.len()` bytes.
        let left = unsafe { syscall!(READ, self.handle, buf.as_mut_ptr(), buf.len()) };
        buf.len().checked_sub(left).ok_or(HostIoError)
    }
}

impl embedded_io::Write for HostFile {
    fn write(&mut self, buf: &[u8]) -> Result<usize, HostIoError> {
        if buf.is_empty() {
            return Ok(0);
        }
        // SYS_WRITE returns the number of bytes NOT written.
        // SAFETY: the buffer is valid for reads of `buf.len()` bytes.
        let left = unsafe { syscall!(WRITE, self.handle, buf.as_ptr(), buf.len()) };
        match buf.len().checked_sub(left) {
            Some(n) if n > 0 => Ok(n),
            _ => Err(HostIoError),
        }
    }
    fn flush(&mut self) -> Result<(), HostIoError> {
        Ok(())
    }
}
