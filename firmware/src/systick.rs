//! Instruction counting on the Cortex-M QEMU boards: SysTick on the core clock, free-running.
//!
//! Under `-icount shift=0` QEMU advances virtual time 1 ns per instruction, so a SysTick tick
//! is a fixed number of instructions: 40 on mps2-an385/386/500 (25 MHz), 50 on mps2-an505
//! (20 MHz), 62.5 on microbit (16 MHz). `INSTR_NUM / INSTR_DEN` is that ratio; one tick is
//! also the resolution of a reading.

use cortex_m::peripheral::{syst::SystClkSource, SYST};

use crate::Stopwatch;

const SYST_MASK: u32 = 0x00FF_FFFF;

/// Free-running 24-bit SysTick; elapsed readings are correct up to 2^24 ticks (at least
/// 671 million instructions), far above one inference.
pub struct SysTickStopwatch<const INSTR_NUM: u32, const INSTR_DEN: u32> {
    start: u32,
}

impl<const INSTR_NUM: u32, const INSTR_DEN: u32> SysTickStopwatch<INSTR_NUM, INSTR_DEN> {
    /// Start SysTick counting down on the core clock, from 2^24 - 1, without interrupts.
    pub fn new(mut syst: SYST) -> Self {
        syst.set_clock_source(SystClkSource::Core);
        syst.set_reload(SYST_MASK);
        syst.clear_current();
        syst.enable_counter();
        Self { start: 0 }
    }
}

impl<const INSTR_NUM: u32, const INSTR_DEN: u32> Stopwatch
    for SysTickStopwatch<INSTR_NUM, INSTR_DEN>
{
    fn start(&mut self) {
        self.start = SYST::get_current();
    }
    fn elapsed(&mut self) -> u32 {
        // SysTick counts down.
        let ticks = self.start.wrapping_sub(SYST::get_current()) & SYST_MASK;
        (u64::from(ticks) * u64::from(INSTR_NUM) / u64::from(INSTR_DEN)) as u32
    }
}
