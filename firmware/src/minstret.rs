//! Instruction counting on RISC-V: the `minstret` CSR (instructions retired), exact under QEMU
//! `-icount shift=0` (QEMU fills it from the virtual clock, 1 instruction per ns; without
//! `-icount` it returns host time stamps).

use crate::Stopwatch;

/// Reads `minstret` (low 32 bits; one inference is far below 2^32 instructions).
#[derive(Default)]
pub struct MinstretStopwatch {
    start: u32,
}

impl Stopwatch for MinstretStopwatch {
    fn start(&mut self) {
        self.start = riscv::register::minstret::read() as u32;
    }
    fn elapsed(&mut self) -> u32 {
        // The difference of two reads counts the first read too: subtract it, so the reading
        // is exactly the instructions executed between them.
        let end = riscv::register::minstret::read() as u32;
        end.wrapping_sub(self.start).wrapping_sub(1)
    }
}
