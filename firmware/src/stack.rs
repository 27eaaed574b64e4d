//! Stack high-water mark by painting: the stack region is filled with [`PAINT`] at boot; the
//! deepest word that no longer holds it marks the most stack ever used.
//!
//! * Cortex-M: cortex-m-rt's `paint-stack` feature paints the region at reset, before `main`.
//! * RISC-V: riscv-rt has no such feature, so [`paint`] does it first thing in `main` (all of
//!   the region below the current stack pointer; the few bytes above it are used already).

use core::ptr::{addr_of, read_volatile};

#[cfg(target_arch = "arm")]
extern "C" {
    // Provided by cortex-m-rt's link.x: the stack grows down from `_stack_start` to at most
    // `_stack_end` (the end of .bss/.uninit).
    static _stack_start: u32;
    static _stack_end: u32;
}

#[cfg(target_arch = "arm")]
use cortex_m_rt::STACK_PAINT_VALUE as PAINT;

#[cfg(target_arch = "riscv32")]
extern "C" {
    // Provided by riscv-rt's link.x: the `.stack` region runs from `__estack` (its bottom) up
    // to `_stack_start` (the initial stack pointer).
    #[link_name = "_stack_start"]
    static _stack_start: u32;
    #[link_name = "__estack"]
    static _stack_end: u32;
}

/// The value painted into unused stack (cortex-m-rt's choice, reused on RISC-V).
#[cfg(target_arch = "riscv32")]
const PAINT: u32 = 0xCCCC_CCCC;

/// Paint the unused part of the stack (RISC-V; cortex-m-rt does it before `main` on ARM).
/// Call once, first thing in `main`.
#[cfg(target_arch = "riscv32")]
pub fn paint() {
    let sp: usize;
    // SAFETY: reads the stack pointer into a register; no memory is touched.
    unsafe { core::arch::asm!("mv {}, sp", out(reg) sp, options(nomem, nostack)) };
    let mut p = addr_of!(_stack_end) as usize;
    // Leave a margin below the current stack pointer: this function's own spills live there.
    let end = sp.saturating_sub(64);
    while p < end {
        // SAFETY: `p` lies in the stack region below the current stack pointer (less a
        // margin), which nothing uses yet; word-aligned because the region is.
        unsafe { core::ptr::write_volatile(p as *mut u32, PAINT) };
        p += 4;
    }
}

/// Bytes of stack used so far at most (deepest scrubbed word up to the top of the stack).
pub fn high_water() -> u32 {
    // Only the addresses of the linker symbols are taken (safe since Rust 1.82).
    let (bottom, top) = (addr_of!(_stack_end), addr_of!(_stack_start));
    let mut p = bottom;
    while p < top {
        // SAFETY: every word between `_stack_end` and `_stack_start` is RAM owned by the
        // stack; reading words below the current stack pointer is harmless.
        if unsafe { read_volatile(p) } != PAINT {
            break;
        }
        // SAFETY: `p < top`, so one more word stays within (or at the end of) the region.
        p = unsafe { p.add(1) };
    }
    (top as usize - p as usize) as u32
}

/// The bottom of the stack region, all but its top `reserve` bytes, as a scratch buffer
/// (word-aligned). For the QEMU kernel-parity mode, which loads models of up to 823 kB at run
/// time without a static buffer (which would count as .bss in every mode). The stack
/// high-water mark is meaningless afterwards.
///
/// # Safety
/// Call at most once, and only in a mode that never nests deeper than `reserve` bytes of
/// stack while the buffer is alive.
#[cfg(feature = "parity")]
pub unsafe fn spare_ram(reserve: usize) -> &'static mut [u8] {
    let (bottom, top) = (addr_of!(_stack_end), addr_of!(_stack_start));
    let len = (top as usize - bottom as usize).saturating_sub(reserve);
    // SAFETY: `bottom..bottom + len` is RAM below the reserved top of the stack, owned by
    // nothing else (the caller promises a single use and a shallow stack).
    unsafe { core::slice::from_raw_parts_mut(bottom as *mut u8, len) }
}
