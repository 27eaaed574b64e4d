//! Stack high-water mark by painting: cortex-m-rt's `paint-stack` feature fills the stack
//! region with `STACK_PAINT_VALUE` at reset; the deepest word that no longer holds it marks
//! the most stack ever used.

use core::ptr::{addr_of, read_volatile};

extern "C" {
    // Provided by cortex-m-rt's link.x: the stack grows down from `_stack_start` to at most
    // `_stack_end` (the end of .bss/.uninit).
    static _stack_start: u32;
    static _stack_end: u32;
}

/// Bytes of stack used so far at most (deepest scrubbed word up to the top of the stack).
pub fn high_water() -> u32 {
    // Only the addresses of the linker symbols are taken (safe since Rust 1.82).
    let (bottom, top) = (addr_of!(_stack_end), addr_of!(_stack_start));
    let mut p = bottom;
    while p < top {
        // SAFETY: every word between `_stack_end` and `_stack_start` is RAM owned by the
        // stack; reading words below the current stack pointer is harmless.
        if unsafe { read_volatile(p) } != cortex_m_rt::STACK_PAINT_VALUE {
            break;
        }
        // SAFETY: `p < top`, so one more word stays within (or at the end of) the region.
        p = unsafe { p.add(1) };
    }
    (top as usize - p as usize) as u32
}

/// Bytes of the stack region kept for the stack by [`spare_ram`] (the firmware needs < 8 KiB).
pub const STACK_RESERVE: usize = 64 * 1024;

/// The bottom of the stack region, all but its top [`STACK_RESERVE`] bytes, as a scratch
/// buffer (word-aligned). For the QEMU kernel-parity mode, which loads models of up to 823 kB
/// at run time without a static buffer (which would count as .bss in every mode). The stack
/// high-water mark is meaningless afterwards.
///
/// # Safety
/// Call at most once, and only in a mode that never nests deeper than `STACK_RESERVE` bytes
/// of stack while the buffer is alive.
pub unsafe fn spare_ram() -> &'static mut [u8] {
    let (bottom, top) = (addr_of!(_stack_end), addr_of!(_stack_start));
    let len = (top as usize - bottom as usize).saturating_sub(STACK_RESERVE);
    // SAFETY: `bottom..bottom + len` is RAM below the reserved top of the stack, owned by
    // nothing else (the caller promises a single use and a shallow stack).
    unsafe { core::slice::from_raw_parts_mut(bottom as *mut u8, len) }
}
