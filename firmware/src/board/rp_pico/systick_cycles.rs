//! CPU cycles on the RP2040, which has no DWT cycle counter (Cortex-M0+): SysTick counts down
//! at the core clock from 2^24 - 1, and its exception, once per wrap (every 134 ms at
//! 125 MHz), extends it to 32 bits (wraps after 34 s; one inference takes milliseconds).
//! The unit is the same as DWT CYCCNT's on the other real boards: `CycleCounter::CpuCycles`.

use core::sync::atomic::{AtomicU32, Ordering};

use cortex_m::peripheral::syst::SystClkSource;
use cortex_m::peripheral::SYST;
use cortex_m_rt::exception;

use crate::Stopwatch;

/// SysTick's 24-bit reload value: a full period is 2^24 cycles.
const RELOAD: u32 = 0x00FF_FFFF;

/// SysTick wraps so far. Written only by the exception handler, read by thread code, so a
/// plain load and store suffice (Armv6-M has no atomic read-modify-write).
static WRAPS: AtomicU32 = AtomicU32::new(0);

#[exception]
fn SysTick() {
    WRAPS.store(
        WRAPS.load(Ordering::Relaxed).wrapping_add(1),
        Ordering::Relaxed,
    );
}

/// Cycles since SysTick was started, modulo 2^32.
fn now() -> u32 {
    loop {
        let wraps = WRAPS.load(Ordering::Acquire);
        let down = SYST::get_current();
        // A wrap between the two reads pends the exception, which runs before the next
        // instruction: the second read then differs and we read again.
        if WRAPS.load(Ordering::Acquire) == wraps {
            return (wraps << 24).wrapping_add(RELOAD - down);
        }
    }
}

/// Times inferences in core clock cycles (SysTick plus its wrap count).
pub struct SysTickStopwatch {
    start: u32,
    // Owning SYST keeps anyone else from reconfiguring the counter.
    _syst: SYST,
}

impl SysTickStopwatch {
    /// Start SysTick free-running on the core clock, with its wrap exception enabled.
    pub fn start_counting(mut syst: SYST) -> Self {
        syst.disable_counter();
        syst.set_clock_source(SystClkSource::Core);
        syst.set_reload(RELOAD);
        syst.clear_current();
        syst.enable_interrupt();
        syst.enable_counter();
        Self {
            start: 0,
            _syst: syst,
        }
    }
}

impl Stopwatch for SysTickStopwatch {
    fn start(&mut self) {
        self.start = now();
    }
    fn elapsed(&mut self) -> u32 {
        now().wrapping_sub(self.start)
    }
}
