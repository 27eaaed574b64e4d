//! What every QEMU board runs: the mode chosen on the semihosting command line
//! (`-semihosting-config arg=...`; the first argument is the program name):
//!
//! * `serve` (or nothing): the framed protocol on the board's UART, forever.
//! * `batch IN OUT`: classify the raw images of host file IN, write the records to OUT
//!   (format in [`crate::batch`]), print a summary line, exit.
//! * `check`: report the boot check and a self-test inference, exit.
//! * `parity IN OUT` (only with the cargo feature `parity`): run the models and images of host
//!   file IN (format in `crate::parity`), write the logits to OUT, exit: the kernel-parity test.
//!
//! Exit codes: 0 success, 2 usage, 3 model rejected at boot, 4 host file I/O error, 101 panic.
//! A board module supplies only its peripherals ([`QemuBoard`]).

use core::fmt::Write as _;

use embedded_io::{Read, Write};
use model_format::protocol::ExitCode;
use model_format::{top_probability, Model, INPUT};

use crate::batch::{self, BatchError, Buffers};
use crate::boot::check_model;
use crate::protocol::CycleCounter;
use crate::semihosting::{self, exit, Console, HostFile, Mode};
use crate::server::{Device, Server};
use crate::{stack, NoLed, Stopwatch, BOARD};

#[cfg(feature = "parity")]
const USAGE: &str =
    "usage: firmware [serve | check | batch IN OUT | parity IN OUT] (semihosting arguments)";
#[cfg(not(feature = "parity"))]
const USAGE: &str = "usage: firmware [serve | check | batch IN OUT] (semihosting arguments)";

const EXIT_OK: u32 = ExitCode::Ok as u32;
const EXIT_USAGE: u32 = ExitCode::Usage as u32;
const EXIT_MODEL_REJECTED: u32 = ExitCode::ModelRejected as u32;
const EXIT_IO: u32 = ExitCode::Io as u32;

/// What a QEMU board brings: its instruction counter, its UART (opened only to serve) and its
/// RAM budget.
pub struct QemuBoard<S, U, const N: usize> {
    /// Counts instructions under `-icount shift=0`.
    pub stopwatch: S,
    /// How the counter counts, printed by `check` (e.g. "SysTick x 40").
    pub counter: &'static str,
    /// Opens the UART the protocol is served on.
    pub open_uart: U,
    /// Buffers of the batch mode (`N` images at a time), a static of the board.
    pub batch_buffers: &'static mut Buffers<N>,
    /// Bytes at the top of the stack region that the `parity` mode leaves to the stack when
    /// it borrows the rest for its models.
    pub parity_stack_reserve: usize,
}

/// Board entry: check the model, report, then run the mode the command line asks for.
pub fn run<S, U, IO, const N: usize>(model_bytes: &'static [u8], board: QemuBoard<S, U, N>) -> !
where
    S: Stopwatch,
    U: FnOnce() -> IO,
    IO: Read + Write,
{
    let QemuBoard {
        mut stopwatch,
        counter,
        open_uart,
        batch_buffers,
        parity_stack_reserve,
    } = board;
    let device = Device::new(
        BOARD,
        CycleCounter::QemuInstructions,
        check_model(model_bytes),
        stack::high_water,
    );
    let mut out = Console::new();
    report_boot(&mut out, &device, counter);

    let mut cmdline = [0u8; 512];
    let args = semihosting::command_line(&mut cmdline);
    let mut args = args.split_ascii_whitespace().skip(1); // skip the program name
    let code = match (args.next(), args.next(), args.next(), args.next()) {
        (None | Some("serve"), None, None, None) => serve(&device, stopwatch, open_uart, &mut out),
        (Some("check"), None, None, None) => self_test(&device, &mut stopwatch, &mut out),
        (Some("batch"), Some(input), Some(output), None) => run_batch(
            &device,
            &mut stopwatch,
            &mut out,
            batch_buffers,
            input,
            output,
        ),
        #[cfg(feature = "parity")]
        (Some("parity"), Some(input), Some(output), None) => {
            run_parity(&mut out, input, output, parity_stack_reserve)
        }
        _ => {
            let _ = writeln!(out, "{USAGE}");
            EXIT_USAGE
        }
    };
    #[cfg(not(feature = "parity"))]
    let _ = parity_stack_reserve;
    exit(code)
}

/// `serve`: the protocol on the UART. Not inlined, so the server's frame buffers (2 KiB) take
/// stack only in this mode (the 16 KiB boards need it elsewhere).
#[inline(never)]
fn serve<S: Stopwatch, IO: Read + Write>(
    device: &Device<'_>,
    stopwatch: S,
    open_uart: impl FnOnce() -> IO,
    out: &mut Console,
) -> u32 {
    // A user who types into the QEMU console gets nothing back (a binary protocol that
    // answers only whole frames, then in binary): say what it is and how to reach it. The host
    // tool is named by its binary: `cargo run` would wait for the lock on the target
    // directory that `cargo firmware` holds while QEMU runs.
    let _ = writeln!(
        out,
        "serve: binary protocol v{} on UART0: COBS frames, not a shell (typed text gets no \
         answer)\n\
         serve: to talk to it, boot with QEMU_EXTRA=\"-serial pty\" cargo firmware, read \
         \"char device redirected to /dev/pts/N\", then run \
         target/release/host classify --port /dev/pts/N (built beforehand)\n\
         serve: quit QEMU with Ctrl-A x, or `quit` at the (qemu) prompt when UART0 is on a pty",
        crate::protocol::PROTOCOL_VERSION
    );
    let mut uart = open_uart();
    let mut server = Server::new(device, stopwatch, NoLed);
    // The UART never reports end of input and cannot fail, so this does not return.
    let _ = server.serve(&mut uart);
    EXIT_IO
}

fn report_boot(out: &mut Console, device: &Device<'_>, counter: &str) {
    let counter = format_args!("instruction counter: {counter}");
    let _ = crate::boot::write_report(out, BOARD, counter, &device.status);
}

/// `check`: the boot report plus one timed inference of a blank and of a striped image, and
/// the cost of its confidence (the softmax the `Classify` reply adds, timed on its own).
fn self_test<S: Stopwatch>(device: &Device<'_>, stopwatch: &mut S, out: &mut Console) -> u32 {
    let Ok(model) = &device.model else {
        return EXIT_MODEL_REJECTED;
    };
    let blank = [0u8; INPUT];
    let striped: [u8; INPUT] = core::array::from_fn(|i| if i % 28 < 14 { 255 } else { 0 });
    for (name, image) in [("blank", &blank), ("striped", &striped)] {
        let (class, cost, confidence, softmax_cost) = timed(model, image, stopwatch);
        // Per mille, printed as an integer: float formatting would cost kilobytes of flash.
        let permille = (confidence * 1000.0 + 0.5) as u32;
        let _ = writeln!(
            out,
            "check: {name} image -> class {class}, {cost} instructions; confidence {}.{}% \
             (f32 {:#010x}) in {softmax_cost} instructions",
            permille / 10,
            permille % 10,
            confidence.to_bits()
        );
    }
    let _ = writeln!(out, "check: stack_high_water={}", stack::high_water());
    EXIT_OK
}

/// One inference and its confidence, each timed: (class, cost, confidence, cost).
fn timed<S: Stopwatch>(model: &Model<'_>, image: &[u8; INPUT], sw: &mut S) -> (u8, u32, f32, u32) {
    sw.start();
    let p = model.infer(image);
    let cost = sw.elapsed();
    // `black_box` keeps the softmax between the two counter reads (pure arithmetic could
    // otherwise be scheduled across them).
    sw.start();
    let logits = core::hint::black_box(p.logits());
    let confidence = core::hint::black_box(top_probability(logits, model.logit_scale()));
    let softmax_cost = sw.elapsed();
    (p.class, cost, confidence, softmax_cost)
}

/// Open IN for reading and OUT for writing, or say which one failed.
fn open_pair(
    out: &mut Console,
    mode: &str,
    input: &str,
    output: &str,
) -> Option<(HostFile, HostFile)> {
    match (
        HostFile::open(input, Mode::ReadBinary),
        HostFile::open(output, Mode::WriteTruncateBinary),
    ) {
        (Ok(s), Ok(d)) => Some((s, d)),
        (Err(e), _) | (_, Err(e)) => {
            let _ = writeln!(out, "{mode}: cannot open {}", e.0);
            None
        }
    }
}

fn run_batch<S: Stopwatch, const N: usize>(
    device: &Device<'_>,
    stopwatch: &mut S,
    out: &mut Console,
    buffers: &mut Buffers<N>,
    input: &str,
    output: &str,
) -> u32 {
    let Ok(model) = &device.model else {
        return EXIT_MODEL_REJECTED;
    };
    let Some((mut src, mut dst)) = open_pair(out, "batch", input, output) else {
        return EXIT_IO;
    };
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
fn run_parity(out: &mut Console, input: &str, output: &str, stack_reserve: usize) -> u32 {
    let Some((mut src, mut dst)) = open_pair(out, "parity", input, output) else {
        return EXIT_IO;
    };
    // SAFETY: called once (the program exits afterwards); `parity::run` and the semihosting
    // calls below it stay within the board's `parity_stack_reserve`.
    let buf = unsafe { stack::spare_ram(stack_reserve) };
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
