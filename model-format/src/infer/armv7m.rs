//! The Cortex-M3 kernel (thumbv7m: Thumb-2, no DSP extension): one LDM loads a group's 4
//! inputs, pre-widened to words, and each weight costs one LDRSB (sign-extending byte load
//! with post-increment) and one MLA: 33 instructions per group of 16 multiply-accumulates.
//!
//! (Loading a unit's 4 weights with one LDR and sign-extending each with SXTB ROR #n costs
//! 1 + 4 x 2 = 9 per unit, 37 per group: LDRSB is cheaper, and the count is what QEMU measures.)

use super::BlockIo;
use crate::layout::{BLOCK_BYTES, GROUP};
use crate::{INPUT, ROW_BLOCK};

#[cfg(mf_layout2)]
pub(super) use super::portable::layer1_smlad16;

/// Groups per unrolled loop iteration (784 / 4 = 196 = 28 x 7).
const UNROLL: usize = 7;
const _: () = assert!((INPUT / GROUP).is_multiple_of(UNROLL));

/// Layer 1 of a layout-1 model: each block's accumulators, in order, into `io`. The input is
/// widened once to one word per pixel (3,136 bytes of stack), so that one LDM loads the 4
/// multiplicands of a group for all 196 groups of every block.
pub(super) fn layer1_smlad(pixels: &[u8; INPUT], w1: &[u8], io: &mut impl BlockIo) {
    let mut buf = core::mem::MaybeUninit::uninit();
    let x = widen(pixels, &mut buf);
    for block in w1.chunks_exact(BLOCK_BYTES) {
        let acc = block_dot(x, block, io.init());
        io.store(acc);
    }
}

/// The pixels as words, written into `out` in place and returned as a reference (building the
/// array by value, e.g. with `array::from_fn`, made the compiler build it on the stack and
/// then memcpy it: 3 KB more stack and ~1,000 more instructions per inference). Per 4 pixels
/// 4 LDRB and one STM.
#[inline]
fn widen<'a>(
    pixels: &[u8; INPUT],
    out: &'a mut core::mem::MaybeUninit<[u32; INPUT]>,
) -> &'a [u32; INPUT] {
    let src = pixels.as_ptr();
    // SAFETY: reads the INPUT bytes of `pixels` (byte loads: no alignment needed) and writes
    // the INPUT words of `out` (word-aligned, as STM needs), 16 per iteration up to `end`.
    // Writes only its register operands (r0-r3 declared clobbered), the flags and `out`; no
    // stack. Every word of `out` is written, so it may then be read as an initialised array.
    unsafe {
        core::arch::asm!(
            "2:",
            ".rept 4",
            "ldrb r0, [{src}], #1",
            "ldrb r1, [{src}], #1",
            "ldrb r2, [{src}], #1",
            "ldrb r3, [{src}], #1",
            "stm {dst}!, {{r0, r1, r2, r3}}",
            ".endr",
            "cmp {src}, {end}",
            "bne 2b",
            src = inout(reg) src => _,
            dst = inout(reg) out.as_mut_ptr().cast::<u32>() => _,
            end = in(reg) src.add(INPUT),
            out("r0") _,
            out("r1") _,
            out("r2") _,
            out("r3") _,
            options(nostack),
        );
        out.assume_init_ref()
    }
}

const _: () = assert!(INPUT.is_multiple_of(16));

/// `acc[r] + Σ_i w[r][i] · x[i]` for one block (`BLOCK_BYTES` long; anything else returns
/// `acc` unchanged, which never happens: the caller iterates `chunks_exact(BLOCK_BYTES)`).
/// MLA wraps, but the sums are exact (bounded far below 2^31, see `FORMAT.md`).
#[inline]
fn block_dot(x: &[u32; INPUT], block: &[u8], acc: [i32; ROW_BLOCK]) -> [i32; ROW_BLOCK] {
    if block.len() != BLOCK_BYTES {
        return acc;
    }
    let [mut a0, mut a1, mut a2, mut a3] = acc;
    // SAFETY: the loop reads exactly INPUT words from `x` (196 groups x one LDM of 4 words,
    // via `px` up to `end`; `x` is a word-aligned array, as LDM needs) and BLOCK_BYTES bytes
    // from `block` (196 groups x 16 LDRSB). It writes only its register operands (r0-r3
    // declared clobbered) and the flags, touches no stack, and leaves the pointers advanced.
    unsafe {
        let px = x.as_ptr();
        let end = px.add(INPUT);
        core::arch::asm!(
            "2:",
            ".rept {unroll}",
            "ldm {px}!, {{r0, r1, r2, r3}}",
            ".irp a, {a0}, {a1}, {a2}, {a3}",
            "ldrsb {t}, [{pw}], #1",
            "mla \\a, {t}, r0, \\a",
            "ldrsb {t}, [{pw}], #1",
            "mla \\a, {t}, r1, \\a",
            "ldrsb {t}, [{pw}], #1",
            "mla \\a, {t}, r2, \\a",
            "ldrsb {t}, [{pw}], #1",
            "mla \\a, {t}, r3, \\a",
            ".endr",
            ".endr",
            "cmp {px}, {end}",
            "bne 2b",
            a0 = inout(reg) a0,
            a1 = inout(reg) a1,
            a2 = inout(reg) a2,
            a3 = inout(reg) a3,
            px = inout(reg) px => _,
            pw = inout(reg) block.as_ptr() => _,
            end = in(reg) end,
            t = out(reg) _,
            out("r0") _,
            out("r1") _,
            out("r2") _,
            out("r3") _,
            unroll = const UNROLL,
            options(pure, readonly, nostack),
        );
    }
    [a0, a1, a2, a3]
}
