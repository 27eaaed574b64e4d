//! The Cortex-M3 kernel (thumbv7m: Thumb-2, no DSP extension), with two layer-1 loops: a
//! sparse one over the nonzero pixels (MNIST test images are ~81 % zeros) and the dense one
//! over all 784, chosen once per inference by the number of nonzero pixels.
//!
//! **Sparse**: the nonzero pixels are listed once per inference ([`NonzeroList::build`]), one
//! word per pixel `i = 4g + j`: `e = x | off << 8`, with `x` the pixel and `off = 16g + j` the
//! offset, in a layout-1 block, of unit 0's weight for that pixel (units 1..3 follow at +4,
//! +8, +12; the next block's at + BLOCK_BYTES = 3,136, still within LDRSB's 12-bit immediate
//! offset). Two blocks per pass then run over the list ([`sparse_pair_dot`]): per entry one
//! LDR, an ADD (weight address `pw + (e >> 8)`), a UXTB (`x`) and 8 × (LDRSB with immediate
//! offset + MLA): 19 instructions per 8 multiply-accumulates, 9.5 per block. An odd last block
//! runs alone ([`sparse_block_dot`], 11 per entry). The list's length is the same for every
//! block, so each loop (16 entries per pass) is entered part-way, where the remainder
//! `n mod 16` begins (a computed jump: ADD PC or TBH), and ends at a sentinel after the last
//! entry: no padding entries, no per-entry end test. Skipping single pixels beats skipping
//! 4-pixel groups here: 151 nonzero pixels per test image on average against 223 pixel slots
//! in groups with any nonzero pixel.
//!
//! **Dense** ([`block_dot`]): one LDM loads a group's 4 inputs, pre-widened to words, and each
//! weight costs one LDRSB (post-increment) and one MLA: 33 instructions per group of 16
//! multiply-accumulates, 8.25 per pixel and block, 6,524 per block with the loop control.
//!
//! **Switch-over**: the sparse loops run when the list has at most [`sparse_max`] entries,
//! the count at which they cost as much as the dense loop for the model's blocks (680 for 32
//! blocks): no image runs the loop that is more expensive for it, beyond the loop overheads
//! left out of that count. The choice costs a compare (and a division per inference). The
//! widened input of the dense loop reuses the list's 3,136-byte buffer (rebuilt from the
//! pixels), so the dense path pays the wasted list build (~1.5 % of its cost with all 784
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

/// Entries per pass of the sparse loops (the two-block loop's `.irp` lists name them).
const SPARSE_UNROLL: usize = 16;
/// Bytes of code per entry of the one-block sparse loop: 11 instructions, all 32-bit
/// (checked by the assembler).
const SPARSE_ENTRY_BYTES: usize = 44;
/// The word after the last entry, which the sparse loops test with CMN #1 (compare with -1):
/// no entry is all ones (`off` < 2^12).
const SENTINEL: u32 = u32::MAX;

/// Instructions per block of the dense loop: 196 groups x 33 + 28 iterations x 2.
const DENSE_BLOCK_COST: usize = 196 * 33 + 28 * 2;
/// Instructions per 16 list entries of the two-block sparse loop (19 per entry, and 3 to test
/// for the sentinel per pass of 16) and of the one-block loop (11 per entry, 3 per pass).
const PAIR_COST_16: usize = 16 * 19 + 3;
const SINGLE_COST_16: usize = 16 * 11 + 3;

/// The longest list the sparse loops are used for, for `blocks` blocks of 4 hidden units: the
/// count at which they cost as much as the dense loop, 13,048 x 16 / 307 = 680 for a pair of
/// blocks, 583 for one (the list build, the per-call and per-block overheads are left out:
/// they are about the same for both, and ~1 % of either), and less than INPUT, to leave room
/// for the sentinel.
fn sparse_max(blocks: usize) -> usize {
    let per_16_entries = blocks / 2 * PAIR_COST_16 + blocks % 2 * SINGLE_COST_16;
    (blocks * DENSE_BLOCK_COST * 16 / per_16_entries.max(1)).min(INPUT - 1)
}

/// Groups per unrolled iteration of the list build (196 = 28 x 7; the `.irp` list of the
/// asm names them).
const BUILD_UNROLL: usize = 7;
const _: () = assert!((INPUT / GROUP).is_multiple_of(BUILD_UNROLL));

/// Layer 1 of a layout-1 model: each block's accumulators, in order, into `io`, by the sparse
/// loops (two blocks per pass, and one for an odd last block) for images with at most
/// [`sparse_max`] nonzero pixels, else by the dense loop.
pub(super) fn layer1_smlad(pixels: &[u8; INPUT], w1: &[u8], io: &mut impl BlockIo) {
    let mut buf = core::mem::MaybeUninit::uninit();
    let max = sparse_max(w1.len() / BLOCK_BYTES);
    if let Some(list) = NonzeroList::build(pixels, max, &mut buf) {
        let mut pairs = w1.chunks_exact(2 * BLOCK_BYTES);
        for pair in &mut pairs {
            let (acc0, acc1) = (io.init(), io.init());
            let [acc0, acc1] = sparse_pair_dot(&list, pair, [acc0, acc1]);
            io.store(acc0);
            io.store(acc1);
        }
        // At most one block is left: an `if`, not a loop, which the compiler peeled into two
        // copies of the 704-byte loop body.
        let last = pairs.remainder();
        if last.len() == BLOCK_BYTES {
            let acc = sparse_block_dot(&list, last, io.init());
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
/// pixel order, at the start of a caller's buffer, followed by [`SENTINEL`]. Only
/// [`NonzeroList::build`] makes one, so every entry's `off` is that of a pixel (at most
/// 16 x 195 + 3 = 3,123): the sparse loops' weight reads at `off + 0..=12` stay inside a block.
struct NonzeroList<'a> {
    /// The first entry; at least one precedes the sentinel: an image without a nonzero pixel
    /// gets one entry `0` (pixel 0 with value 0, which adds nothing), so that the sparse loops
    /// need no empty case.
    entries: *const u32,
    /// How far into the loop body the sparse loops start, in entries:
    /// `(16 - n mod 16) mod 16`, so that the first pass runs `n mod 16` entries (or 16) and
    /// every later pass 16.
    skip: usize,
    /// The list lives in the caller's buffer.
    _buffer: core::marker::PhantomData<&'a [u32]>,
}

impl<'a> NonzeroList<'a> {
    /// List the nonzero pixels into `out`; `None` (with `out` partly written) if there are
    /// more than `max` (< INPUT). Per group of 4 pixels one (unaligned) LDR of the 4 and a
    /// CBZ; for a group with a nonzero pixel, per pixel a UBFX and a CBZ, and per nonzero
    /// pixel two ADDs and a STR: ~1,400 instructions for a mean test image.
    fn build(
        pixels: &[u8; INPUT],
        max: usize,
        out: &'a mut core::mem::MaybeUninit<[u32; INPUT]>,
    ) -> Option<Self> {
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
            if len > max.min(INPUT - 1) {
                return None;
            }
            if len == 0 {
                base.write(0);
                len = 1;
            }
            // len < INPUT: the sentinel's word is inside `out`.
            base.add(len).write(SENTINEL);
            Some(NonzeroList {
                entries: base,
                skip: (SPARSE_UNROLL - len % SPARSE_UNROLL) % SPARSE_UNROLL,
                _buffer: core::marker::PhantomData,
            })
        }
    }
}

extern "C" {
    /// `acc[b][r] += Σ w[b][r][i] · x[i]` over the pixels `i` of the list at `entries` (see
    /// [`NonzeroList`]) for the two layout-1 blocks `b` at `pair` (`2 * BLOCK_BYTES` bytes),
    /// entering the 16-entry loop body at entry `skip` (< 16).
    fn model_format_armv7m_sparse_pair(
        acc: *mut [[i32; ROW_BLOCK]; 2],
        entries: *const u32,
        pair: *const u8,
        skip: usize,
    );
}

/// `acc[b][r] + Σ w[b][r][i] · x[i]` over the listed pixels `i` for the two blocks `b` of
/// `pair` (`2 * BLOCK_BYTES` long; anything else returns `acc` unchanged, which never
/// happens: the caller iterates `chunks_exact(2 * BLOCK_BYTES)`). Equal to [`block_dot`] over
/// all pixels: the unlisted ones are 0 and the sums are exact (MLA wraps, but they are
/// bounded far below 2^31, see `FORMAT.md`).
#[inline]
fn sparse_pair_dot(
    list: &NonzeroList<'_>,
    pair: &[u8],
    mut acc: [[i32; ROW_BLOCK]; 2],
) -> [[i32; ROW_BLOCK]; 2] {
    if pair.len() != 2 * BLOCK_BYTES {
        return acc;
    }
    // SAFETY: the function reads the list's entries and its sentinel (which ends the loop;
    // the entry point `skip` < 16 entries in makes the first pass run `n mod 16` entries, or
    // 16, and every later pass 16, see the asm) and, for each entry (made by
    // `NonzeroList::build`: `off` <= 3,123), the weights at `pair + off + 0..=12` and
    // `pair + BLOCK_BYTES + off + 0..=12`, inside `pair`. It writes only the 8 words of `acc`
    // and, as an AAPCS function, preserves r4-r11, sp and the stack above it.
    unsafe {
        model_format_armv7m_sparse_pair(&mut acc, list.entries, pair.as_ptr(), list.skip);
    }
    acc
}

// The two-block sparse loop: r0 = &mut [[i32; 4]; 2], r1 = list, r2 = weights of the pair,
// r3 = entries of the loop body to skip. A `global_asm!` AAPCS function because it needs 13
// registers, more than `asm!` can have on Thumb (no r6, r7): r4-r11 the accumulators, r1 the
// list pointer, r2 the weights, r0 the entry (then its `x`), r12 the weight address, lr the
// weight. Per entry 19 instructions. TBH enters the body at entry r3 (through a table: the
// firmware's linker-plugin LTO reads module asm before layout, so `.if` cannot check code
// sizes here as it does in `sparse_block_dot`). The second block's weights are
// BLOCK_BYTES = 3,136 on, within LDRSB's 12-bit immediate offsets. The loop ends at the
// sentinel (CMN #1: compare with -1). Call overhead per pair of blocks: ~10 instructions.
const _: () = assert!(
    BLOCK_BYTES + 12 < 4096,
    "LDRSB's immediate offset reaches block 2"
);
core::arch::global_asm!(
    ".pushsection .text.model_format_armv7m_sparse_pair,\"ax\",%progbits",
    ".syntax unified",
    ".thumb",
    ".global model_format_armv7m_sparse_pair",
    ".type model_format_armv7m_sparse_pair, %function",
    ".p2align 2",
    ".thumb_func",
    "model_format_armv7m_sparse_pair:",
    "push {{r0, r4, r5, r6, r7, r8, r9, r10, r11, lr}}",
    "ldm r0, {{r4, r5, r6, r7, r8, r9, r10, r11}}",
    // PC reads as the TBH's address + 4: the table.
    "tbh [pc, r3, lsl #1]",
    "1:",
    ".irp k, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15",
    ".hword (.Lmodel_format_armv7m_sparse_pair_\\k - 1b) / 2",
    ".endr",
    "2:",
    ".irp k, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15",
    ".Lmodel_format_armv7m_sparse_pair_\\k:",
    "ldr r0, [r1], #4",
    "add r12, r2, r0, lsr #8",
    "uxtb r0, r0",
    "ldrsb lr, [r12]",
    "mla r4, lr, r0, r4",
    "ldrsb lr, [r12, #4]",
    "mla r5, lr, r0, r5",
    "ldrsb lr, [r12, #8]",
    "mla r6, lr, r0, r6",
    "ldrsb lr, [r12, #12]",
    "mla r7, lr, r0, r7",
    "ldrsb lr, [r12, #{block}]",
    "mla r8, lr, r0, r8",
    "ldrsb lr, [r12, #{block} + 4]",
    "mla r9, lr, r0, r9",
    "ldrsb lr, [r12, #{block} + 8]",
    "mla r10, lr, r0, r10",
    "ldrsb lr, [r12, #{block} + 12]",
    "mla r11, lr, r0, r11",
    ".endr",
    "ldr r0, [r1]",
    "cmn r0, #1",
    "bne 2b",
    "pop {{r0}}",
    "stm r0, {{r4, r5, r6, r7, r8, r9, r10, r11}}",
    "pop {{r4, r5, r6, r7, r8, r9, r10, r11, pc}}",
    ".size model_format_armv7m_sparse_pair, . - model_format_armv7m_sparse_pair",
    ".popsection",
    block = const BLOCK_BYTES,
);

/// [`sparse_pair_dot`] for one block (the last of an odd number): 11 instructions per entry.
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
    // SAFETY: as in `sparse_pair_dot`, for the weight reads at `pw + off + 0..=12`, inside
    // `block`.
    unsafe {
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
            "ldr.w {e}, [{pl}]",
            "cmn.w {e}, #1",
            "bne 2b",
            a0 = inout(reg) a0,
            a1 = inout(reg) a1,
            a2 = inout(reg) a2,
            a3 = inout(reg) a3,
            pl = inout(reg) list.entries => _,
            pw = in(reg) block.as_ptr(),
            skip = in(reg) list.skip * SPARSE_ENTRY_BYTES,
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
