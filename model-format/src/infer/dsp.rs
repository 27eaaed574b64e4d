//! The kernel for Cortex-M cores with the DSP extension: thumbv7em (M4, M7) and thumbv8m.main
//! (M33, M35P, M55; the DSP extension is optional there but present on every such core this
//! project targets, e.g. the M33 of QEMU's mps2-an505): SXTB16 + SMLAD on halfword pairs.
//!
//! rustc does not let `cfg` see the DSP extension (`target_feature = "dsp"` is never set on
//! stable) and refuses SMLAD without `-C target-feature=+dsp`, which thumbv8m.main does not
//! enable by default (the extension is optional on Armv8-M). So the build script picks this
//! kernel by target name, and on thumbv8m.main every SMLAD asm block starts with the directive
//! `.cpu cortex-m33`, which tells the assembler the core has DSP for that block only (LLVM
//! knows no `.arch_extension dsp`; `.arch armv7e-m` would also work but relabels the object's
//! architecture). No flag for the user to remember.

use super::{portable, BlockIo};

/// The first line of every SMLAD asm block (see the module doc).
#[cfg(mf_dsp_v8m)]
macro_rules! enable_dsp {
    () => {
        ".cpu cortex-m33"
    };
}
/// The first line of every SMLAD asm block: nothing, thumbv7em has DSP.
#[cfg(not(mf_dsp_v8m))]
macro_rules! enable_dsp {
    () => {
        ""
    };
}
#[cfg(mf_layout2)]
use crate::layout::BLOCK_BYTES16;
use crate::layout::{BLOCK_BYTES, GROUP};
use crate::{INPUT, ROW_BLOCK};

/// Layer 1 of a layout-1 model: each block's accumulators, in order, into `io`. The input is
/// widened once, here (one copy of `widen` in the binary, written in place: returning the
/// 1,576-byte array by value made the compiler copy it with memcpy, ~1,000 instructions per
/// inference). Weights that are not word-aligned (LDRD faults on them; the firmware aligns
/// its model) take the portable kernel.
pub(super) fn layer1_smlad(pixels: &[u8; INPUT], w1: &[u8], io: &mut impl BlockIo) {
    if !aligned(w1) {
        return portable::layer1_smlad(pixels, w1, io);
    }
    let mut buf = core::mem::MaybeUninit::uninit();
    let x = widen(pixels, &mut buf);
    for block in w1.chunks_exact(BLOCK_BYTES) {
        let acc = block_dot(x, block, io.init());
        io.store(acc);
    }
}

/// Layer 1 of a layout-2 model (int16 weights), as [`layer1_smlad`].
#[cfg(mf_layout2)]
pub(super) fn layer1_smlad16(pixels: &[u8; INPUT], w1: &[u8], io: &mut impl BlockIo) {
    if !aligned(w1) {
        return portable::layer1_smlad16(pixels, w1, io);
    }
    let mut buf = core::mem::MaybeUninit::uninit();
    let x = widen(pixels, &mut buf);
    for block in w1.chunks_exact(BLOCK_BYTES16) {
        let acc = block_dot16(x, block, io.init());
        io.store(acc);
    }
}

/// Input words per group: (x0 | x2 << 16) and (x1 | x3 << 16).
const WORDS: usize = 2 * INPUT / GROUP;
/// The widened input: `WORDS` words, then two `SENTINEL` words that end the layout-2 loop.
const WIDE: usize = WORDS + 2;
/// Never a pixel pair (those are at most 0x00FF_00FF).
const SENTINEL: u32 = u32::MAX;

/// The pixels widened once per inference to u16 pairs in the order SXTB16 produces the
/// weights: for each group of 4 pixels, (x0 | x2 << 16) then (x1 | x3 << 16); then two
/// [`SENTINEL`] words (only the layout-2 kernel reads them). Written into `out` in place
/// and returned as a reference: a by-value return was copied (a 1,576-byte memcpy).
#[inline]
fn widen<'a>(
    pixels: &[u8; INPUT],
    out: &'a mut core::mem::MaybeUninit<[u32; WIDE]>,
) -> &'a [u32; WIDE] {
    let src = pixels.as_ptr();
    let dst = out.as_mut_ptr().cast::<u32>();
    if (src as usize).is_multiple_of(4) {
        // SAFETY: reads INPUT bytes from the word-aligned `pixels` (196 words) and writes
        // the first WORDS words of `out` (2 per pixel word; `out` is a word-aligned array
        // of WIDE > WORDS words). Writes only its register operands, the flags and `out`;
        // no stack.
        unsafe {
            core::arch::asm!(
                "2:",
                ".rept 4",
                "ldr {p}, [{src}], #4",
                "and {a}, {p}, {mask}",
                "and {b}, {mask}, {p}, lsr #8",
                "strd {a}, {b}, [{dst}], #8",
                ".endr",
                "cmp {src}, {end}",
                "bne 2b",
                src = inout(reg) src => _,
                dst = inout(reg) dst => _,
                end = in(reg) src.add(INPUT),
                mask = in(reg) 0x00FF_00FFu32,
                p = out(reg) _,
                a = out(reg) _,
                b = out(reg) _,
                options(nostack),
            );
        }
    } else {
        // Unaligned pixels (possible from a byte buffer): the same words, bytewise.
        for (k, px) in pixels.chunks_exact(GROUP).enumerate() {
            if let Ok(px) = <[u8; 4]>::try_from(px) {
                let p = u32::from_le_bytes(px);
                // SAFETY: k < INPUT / GROUP, so 2k + 1 < WORDS < WIDE: inside `out`.
                unsafe {
                    dst.add(2 * k).write(p & 0x00FF_00FF);
                    dst.add(2 * k + 1).write((p >> 8) & 0x00FF_00FF);
                }
            }
        }
    }
    // SAFETY: words WORDS and WORDS + 1 are the last two of `out`; with the WORDS words
    // written above (every group of the exact INPUT / GROUP chunks), all of `out` is
    // initialised, so it may be read as an array.
    unsafe {
        dst.add(WORDS).write(SENTINEL);
        dst.add(WORDS + 1).write(SENTINEL);
        out.assume_init_ref()
    }
}

const _: () = assert!((INPUT / GROUP).is_multiple_of(4));

/// LDRD needs word-aligned addresses (an unaligned one faults); blocks are 3,136 bytes,
/// so if `w1` starts aligned every block does.
#[inline]
fn aligned(w1: &[u8]) -> bool {
    (w1.as_ptr() as usize).is_multiple_of(4)
}

/// Groups per unrolled loop iteration (784 / 4 = 196 = 28 x 7).
const UNROLL: usize = 7;
const _: () = assert!((INPUT / GROUP).is_multiple_of(UNROLL));

/// `acc[r] + Σ_i w[r][i] · x[i]` for one block. `block` must be word-aligned and
/// `BLOCK_BYTES` long (anything else returns `acc` unchanged, which never happens: the
/// caller checks alignment and iterates `chunks_exact(BLOCK_BYTES)`).
///
/// Per group of 4 inputs: one LDRD of the input pair words, two LDRD of the 4 units'
/// weight words, and per unit SXTB16 / SMLAD / SXTB16 ROR #8 / SMLAD: 19 instructions
/// for 16 multiply-accumulates. SMLAD adds without saturating; the sums are exact.
#[inline]
fn block_dot(x: &[u32; WIDE], block: &[u8], acc: [i32; ROW_BLOCK]) -> [i32; ROW_BLOCK] {
    if block.len() != BLOCK_BYTES || !(block.as_ptr() as usize).is_multiple_of(4) {
        return acc;
    }
    let [mut a0, mut a1, mut a2, mut a3] = acc;
    let px = x.as_ptr();
    // SAFETY: the loop reads exactly WORDS words from `x` (196 groups x 2 words, via `px`
    // up to `end`) and BLOCK_BYTES bytes from `block` (196 groups x 16 bytes), both
    // word-aligned (checked above / by the array type). It writes only its register
    // operands and the flags, touches no stack, and leaves the pointers advanced.
    unsafe {
        let end = px.add(WORDS);
        core::arch::asm!(
            enable_dsp!(),
            "2:",
            ".rept {unroll}",
            "ldrd {x0}, {x1}, [{px}], #8",
            "ldrd {wa}, {wb}, [{pw}], #8",
            "sxtb16 {t}, {wa}",
            "smlad {a0}, {t}, {x0}, {a0}",
            "sxtb16 {wa}, {wa}, ror #8",
            "smlad {a0}, {wa}, {x1}, {a0}",
            "sxtb16 {t}, {wb}",
            "smlad {a1}, {t}, {x0}, {a1}",
            "sxtb16 {wb}, {wb}, ror #8",
            "smlad {a1}, {wb}, {x1}, {a1}",
            "ldrd {wa}, {wb}, [{pw}], #8",
            "sxtb16 {t}, {wa}",
            "smlad {a2}, {t}, {x0}, {a2}",
            "sxtb16 {wa}, {wa}, ror #8",
            "smlad {a2}, {wa}, {x1}, {a2}",
            "sxtb16 {t}, {wb}",
            "smlad {a3}, {t}, {x0}, {a3}",
            "sxtb16 {wb}, {wb}, ror #8",
            "smlad {a3}, {wb}, {x1}, {a3}",
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
            x0 = out(reg) _,
            x1 = out(reg) _,
            wa = out(reg) _,
            wb = out(reg) _,
            t = out(reg) _,
            unroll = const UNROLL,
            options(pure, readonly, nostack),
        );
    }
    [a0, a1, a2, a3]
}

#[cfg(mf_layout2)]
/// [`block_dot`] for a layout-2 block (`BLOCK_BYTES16` long, word-aligned; anything else
/// returns `acc` unchanged, which never happens for the same reasons).
///
/// The weights are already the int16 pairs SMLAD needs, so per group of 4 inputs: one LDRD
/// of the input pair words and two LDM of 4 weight words (2 units each), then one SMLAD
/// per unit and pair: 11 instructions for 16 multiply-accumulates (19 in layout 1). LDM
/// needs an ascending register list, hence the explicit r0-r3. The 13th register a plain
/// `px != end` loop would need is saved by loading the next group's inputs at the end of
/// each group and stopping on the sentinel word `widen` puts after the input words.
#[inline]
fn block_dot16(x: &[u32; WIDE], block: &[u8], acc: [i32; ROW_BLOCK]) -> [i32; ROW_BLOCK] {
    if block.len() != BLOCK_BYTES16 || !(block.as_ptr() as usize).is_multiple_of(4) {
        return acc;
    }
    let [mut a0, mut a1, mut a2, mut a3] = acc;
    // SAFETY: the loop reads the WORDS input words and the 2 sentinel words of `x` (a
    // 28 x 7 groups pass, the last group's LDRD reading the sentinels, at which point the
    // loop stops: no pixel pair equals SENTINEL) and BLOCK_BYTES16 bytes from `block`
    // (196 groups x 32 bytes), both word-aligned (checked above / by the array type). It
    // writes only its register operands (r0-r3 declared clobbered) and the flags, touches
    // no stack.
    unsafe {
        core::arch::asm!(
            enable_dsp!(),
            "ldrd {x0}, {x1}, [{px}], #8",
            "2:",
            ".rept {unroll}",
            "ldm {pw}!, {{r0, r1, r2, r3}}",
            "smlad {a0}, r0, {x0}, {a0}",
            "smlad {a0}, r1, {x1}, {a0}",
            "smlad {a1}, r2, {x0}, {a1}",
            "smlad {a1}, r3, {x1}, {a1}",
            "ldm {pw}!, {{r0, r1, r2, r3}}",
            "smlad {a2}, r0, {x0}, {a2}",
            "smlad {a2}, r1, {x1}, {a2}",
            "smlad {a3}, r2, {x0}, {a3}",
            "smlad {a3}, r3, {x1}, {a3}",
            "ldrd {x0}, {x1}, [{px}], #8",
            ".endr",
            "cmn {x0}, #1",
            "bne 2b",
            a0 = inout(reg) a0,
            a1 = inout(reg) a1,
            a2 = inout(reg) a2,
            a3 = inout(reg) a3,
            px = inout(reg) x.as_ptr() => _,
            pw = inout(reg) block.as_ptr() => _,
            x0 = out(reg) _,
            x1 = out(reg) _,
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
