//! Semihosting for the QEMU boards: the console, the command line, host files and the exit
//! status, the same on every architecture. Only [`syscall`] differs: ARM traps with `BKPT
//! 0xAB` (cortex-m-semihosting), RISC-V with the `slli/ebreak/srai` sequence
//! (riscv-semihosting); QEMU implements the same operations behind both.

mod console;
mod host_file;

use core::cell::UnsafeCell;

pub use console::Console;
pub use host_file::{HostFile, Mode, OpenError};

/// Semihosting operation numbers (the ARM semihosting specification, which RISC-V reuses).
mod op {
    pub const OPEN: usize = 0x01;
    pub const CLOSE: usize = 0x02;
    pub const WRITE: usize = 0x05;
    pub const READ: usize = 0x06;
    pub const GET_CMDLINE: usize = 0x15;
    pub const EXIT_EXTENDED: usize = 0x20;
}

/// One semihosting call: operation `op` with the parameter block at `block`.
///
/// # Safety
/// `block` must point at the parameter block `op` expects, and every buffer the block names
/// must be valid for what the host does with it (read or write) during the call.
unsafe fn syscall(op: usize, block: *const usize) -> usize {
    // SAFETY: forwarded from the caller.
    #[cfg(target_arch = "arm")]
    let ret = unsafe { cortex_m_semihosting::syscall1(op, block as usize) };
    // SAFETY: forwarded from the caller.
    #[cfg(target_arch = "riscv32")]
    let ret = unsafe { riscv_semihosting::syscall1(op, block as usize) };
    ret
}

/// The semihosting command line, or "" if the host provides none.
pub fn command_line(buf: &mut [u8]) -> &str {
    // SYS_GET_CMDLINE takes a block {buffer, length} and writes the actual length back.
    let block = UnsafeCell::new([buf.as_mut_ptr() as usize, buf.len()]);
    // SAFETY: the block and the buffer it points to are valid for the call; the host writes
    // only within `buf.len()` bytes and into the block (through the UnsafeCell).
    let status = unsafe { syscall(op::GET_CMDLINE, block.get().cast()) };
    let len = block.into_inner()[1];
    if status != 0 || len > buf.len() {
        return "";
    }
    core::str::from_utf8(&buf[..len]).unwrap_or("")
}

/// Exit QEMU with `code` (SYS_EXIT_EXTENDED carries any status to the host shell).
pub fn exit(code: u32) -> ! {
    const ADP_STOPPED_APPLICATION_EXIT: usize = 0x20026;
    let block = [ADP_STOPPED_APPLICATION_EXIT, code as usize];
    // SAFETY: the parameter block is valid for the call; QEMU does not return.
    unsafe {
        syscall(op::EXIT_EXTENDED, block.as_ptr());
    }
    #[allow(clippy::empty_loop)] // unreachable: QEMU has exited
    loop {}
}

/// Panics print their message on the console and exit with status 101 (as a Rust program's
/// panic does on a host), so a test sees the reason instead of a hang.
#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    use core::fmt::Write as _;
    let _ = writeln!(Console::new(), "{info}");
    exit(101)
}
