//! The Cortex-M3 kernel (thumbv7m: Thumb-2, no DSP extension), with two layer-1 loops: a
//! sparse one over the nonzero pixels (MNIST images are ~80 % zeros) and the dense one over
//! all 784, chosen once per inference by the number of nonzero pixels.
//!
//! **Sparse** ([`sparse_block_dot`]): the nonzero pixels are listed once per inference
//! ([`NonzeroList::build`]), one word per pixel `i = 4g + j`: `x | off << 8` with `x` the
//! pixel and `off = 16g + j` the offset, in a layout-1 block, of unit 0's weight for that
//! pixel (units 1..3 follow at +4, +8, +12). Every block then runs over the list: per entry
//! one LDR, an ADD (weight address `pw + (e >> 8)`), a UXTB (`x`) and 4 × (LDRSB with
//! immediate offset + MLA): 11 instructions per 4 multiply-accumulates. The list's length is
//! the same for every block, so the loop (16 entries per pass) is entered part-way, where
//! the remainder `n mod 16` begins (every instruction of the body is 32-bit, so an entry is
//! 44 bytes and the entry point is a computed ADD PC): no padding entries, no per-entry end
//! test. Skipping single pixels beats skipping 4-pixel groups here: 151 nonzero pixels per
//! test image on average against 223 pixel slots in groups with any nonzero pixel.
//!
//! **Dense** ([`block_dot`], today's loop): one LDM loads a group's 4 inputs, pre-widened to
//! words, and each weight costs one LDRSB (post-increment) and one MLA: 33 instructions per
//! group of 16 multiply-accumulates, 8.25 per pixel and block against the sparse loop's ~11.1
//! per listed pixel.
//!
//! **Switch-over**: the sparse loop runs when the list has at most [`SPARSE_MAX`] entries,
//! the count where its cost per block reaches the dense loop's (see there): the choice costs
//! one compare, and neither loop runs for an image where the other would be cheaper. The
//! widened input of the dense loop reuses the list's 3,136-byte buffer (rebuilt from the
//! pixels), so the dense path pays the wasted list build (~2 % of its cost at worst, all 784
//! pixels nonzero) but no extra stack.
//!
//! (Loading a unit's 4 weights with one LDR and sign-extending each with SXTB ROR #n costs
//! 1 + 4 x 2 = 9 per unit, 37 per group: LDRSB is cheaper, and the count is what QEMU measures.)

use super::BlockIo;
use crate::layout::{BLOCK_BYTES, GROUP};
use crate::{INPUT, ROW_BLOCK};

#[cfg(mf_layout2)]
pub(super) use super::portable::layer1_smlad16;

/// Groups per unrolled iteration of the dense loop (784 / 4 = 196 = 28 x 7).
const UNROLL: usize = 7;
const _: () = assert!((INPUT / GROUP).is_multiple_of(UNROLL));

/// Entries per pass of the sparse loop.
const SPARSE_UNROLL: usize = 16;
/// Bytes of code per sparse entry: 11 instructions, all 32-bit (checked by the assembler).
const SPARSE_ENTRY_BYTES: usize = 44;

/// The longest list the sparse loop is used for. Per block the dense loop costs
/// 196 x 33 + 28 x 2 = 6,524 instructions, the sparse one 11 per entry + 2 per 16 entries
/// + 3: they meet at 586 entries.
const SPARSE_MAX: usize = 586;

/// Groups per unrolled iteration of the list build (196 = 28 x 7; the `.irp` list of the
/// asm names them).
const BUILD_UNROLL: usize = 7;
const _: () = assert!((INPUT / GROUP).is_multiple_of(BUILD_UNROLL));

/// Layer 1 of a layout-1 model: each block's accumulators, in order, into `io`, by the sparse
/// loop for images with at most [`SPARSE_MAX`] nonzero pixels, else by the dense loop.
pub(super) fn layer1_smlad(pixels: &[u8; INPUT], w1: &[u8], io: &mut impl BlockIo) {
    let mut buf = core::mem::MaybeUninit::uninit();
    let list = NonzeroList::build(pixels, &mut buf);
    if list.len() <= SPARSE_MAX {
        for block in w1.chunks_exact(BLOCK_BYTES) {
            let acc = sparse_block_dot(&list, block, io.init());
            io.store(acc);
        }
    } else {
        let x = widen(pixels, &mut buf);
        for block in w1.chunks_exact(BLOCK_BYTES) {
            let acc = block_dot(x, block, io.init());
            io.store(acc);
        }
    }
}

/// The nonzero pixels of one image, one word each (`x | off << 8`, see the module doc), in
/// pixel order, at the start of a caller's buffer. Only [`NonzeroList::build`] makes one, so
/// every entry's `off` is that of a pixel (at most 16 x 195 + 3 = 3,123): the sparse loop's
/// weight reads at `off + 0..=12` stay inside a block.
struct NonzeroList<'a> {
    /// The entries, at least one: an image without a nonzero pixel gets one entry `0` (pixel
    /// 0 with value 0, which adds nothing), so that the sparse loop needs no empty case.
    entries: &'a [u32],
    /// The offset of the sparse loop's entry point from its first entry's code:
    /// `(16 - n mod 16) mod 16` entries' worth of code, so that the first pass runs
    /// `n mod 16` entries (or 16) and every later pass 16.
    skip: usize,
}

impl<'a> NonzeroList<'a> {
    /// List the nonzero pixels into `out`. Per group of 4 pixels one (unaligned) LDR of the
    /// 4 and a CBZ; for a group with a nonzero pixel, per pixel a UBFX and a CBZ, and per
    /// nonzero pixel two ADDs and a STR: ~1,400 instructions for a mean test image.
    fn build(pixels: &[u8; INPUT], out: &'a mut core::mem::MaybeUninit<[u32; INPUT]>) -> Self {
        let base = out.as_mut_ptr().cast::<u32>();
        let mut end = base;
        // SAFETY: reads the INPUT bytes of `pixels` with word loads through `src`, 4 per group
        // for 196 groups up to `src_end` (LDR may be unaligned on Armv7-M: the firmware never
        // sets CCR.UNALIGN_TRP, and `pixels` lies in normal RAM). Writes at most one word of
        // `out` per pixel, in order from `base` (word-aligned), so at most INPUT words; `end`
        // is left one past the last written word. Writes only its register operands (r0, r1
        // declared clobbered) and the flags; no stack.
        unsafe {
            core::arch::asm!(
                "2:",
                ".irp m, 0, 1, 2, 3, 4, 5, 6",
                "ldr r0, [{src}], #4",
                "cbz r0, 3f",
                ".irp j, 0, 1, 2, 3",
                "ubfx r1, r0, #(8 * \\j), #8",
                "cbz r1, 1f",
                "add r1, r1, {q}",
                ".if \\m + \\j",
                "add r1, r1, #((16 * \\m + \\j) << 8)",
                ".endif",
                "str r1, [{dst}], #4",
                "1:",
                ".endr",
                "3:",
                ".endr",
                "add {q}, {q}, #({step} << 8)",
                "cmp {src}, {src_end}",
                "bne 2b",
                step = const 16 * BUILD_UNROLL,
                src = inout(reg) pixels.as_ptr() => _,
                src_end = in(reg) pixels.as_ptr().add(INPUT),
                dst = inout(reg) end,
                q = inout(reg) 0u32 => _,
                out("r0") _,
                out("r1") _,
                options(nostack),
            );
            let mut len = end.offset_from(base) as usize;
            if len == 0 {
                base.write(0);
                len = 1;
            }
            let entries = core::slice::from_raw_parts(base, len);
            let skip = (SPARSE_UNROLL - len % SPARSE_UNROLL) % SPARSE_UNROLL * SPARSE_ENTRY_BYTES;
            NonzeroList { entries, skip }
        }
    }

    /// Number of entries.
    fn len(&self) -> usize {
        self.entries.len()
    }
}

/// `acc[r] + Σ w[r][i] · x[i]` over the listed pixels `i` for one block (`BLOCK_BYTES` long;
/// anything else returns `acc` unchanged, which never happens: the caller iterates
/// `chunks_exact(BLOCK_BYTES)`). Equal to [`block_dot`] over all pixels: the unlisted ones
/// are 0 and the sums are exact (MLA wraps, but they are bounded far below 2^31, see
/// `FORMAT.md`).
#[inline]
fn sparse_block_dot(
    list: &NonzeroList<'_>,
    block: &[u8],
    acc: [i32; ROW_BLOCK],
) -> [i32; ROW_BLOCK] {
    if block.len() != BLOCK_BYTES {
        return acc;
    }
    let [mut a0, mut a1, mut a2, mut a3] = acc;
    // SAFETY: the ADD PC jumps into the loop body (PC reads as the ADD's address + 4, where
    // the body starts: the assembler checks both distances), `skip` < 16 entries' code, so
    // the first pass runs `len mod 16` entries (16 when that is 0) and every later pass 16:
    // the loop reads exactly the `len` words of `entries` (via `pl` up to `end`). Each entry
    // comes from `NonzeroList::build` (`off` <= 3,123), so the 4 weight reads at
    // `pw + off + 0..=12` lie inside `block` (BLOCK_BYTES = 12,544). It writes only its
    // register operands and the flags, touches no stack, and leaves the pointer advanced.
    unsafe {
        let pl = list.entries.as_ptr();
        let end = pl.add(list.entries.len());
        core::arch::asm!(
            "1:",
            "add pc, {skip}",
            "nop",
            "2:",
            ".rept {unroll}",
            "ldr.w {e}, [{pl}], #4",
            "add.w {t}, {pw}, {e}, lsr #8",
            "uxtb.w {e}, {e}",
            "ldrsb.w {w}, [{t}]",
            "mla {a0}, {w}, {e}, {a0}",
            "ldrsb.w {w}, [{t}, #4]",
            "mla {a1}, {w}, {e}, {a1}",
            "ldrsb.w {w}, [{t}, #8]",
            "mla {a2}, {w}, {e}, {a2}",
            "ldrsb.w {w}, [{t}, #12]",
            "mla {a3}, {w}, {e}, {a3}",
            ".endr",
            "4:",
            ".if (2b - 1b) != 4 || (4b - 2b) != {unroll} * {entry_bytes}",
            ".error \"sparse loop: the computed entry point needs 4 + 44-byte entries\"",
            ".endif",
            "cmp {pl}, {end}",
            "bne 2b",
            a0 = inout(reg) a0,
            a1 = inout(reg) a1,
            a2 = inout(reg) a2,
            a3 = inout(reg) a3,
            pl = inout(reg) pl => _,
            pw = in(reg) block.as_ptr(),
            end = in(reg) end,
            skip = in(reg) list.skip,
            e = out(reg) _,
            t = out(reg) _,
            w = out(reg) _,
            unroll = const SPARSE_UNROLL,
            entry_bytes = const SPARSE_ENTRY_BYTES,
            options(pure, readonly, nostack),
        );
    }
    [a0, a1, a2, a3]
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
