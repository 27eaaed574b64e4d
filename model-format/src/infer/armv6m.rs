//! The Cortex-M0/M0+ kernel (thumbv6m: Thumb-1 only; also thumbv8m.base, the M23). Per weight
//! one LDRSB (register offset: Thumb-1 has no immediate form for signed byte loads), one MULS
//! and one ADD into an accumulator kept in a high register; no multiply-accumulate, so 3 per
//! multiply-accumulate is the floor, and the only way to fewer instructions is fewer
//! multiplies. MNIST images are mostly black (19 % of the test set's pixels are nonzero), so
//! layer 1 skips the zero pixels:
//!
//! 1. Once per inference, [`nonzero_list`] writes one word per nonzero pixel `i = 4g + j`
//!    (group `g`, lane `j`): the pixel `x` in byte 0 and `off = 16g + j` in the upper
//!    halfword, the offset of the pixel's unit-0 weight in a layout-1 block (its 4 units'
//!    weights are at `off`, `off + 4`, `off + 8`, `off + 12`). 3 instructions per zero pixel,
//!    7 per nonzero one, 1.75 per group of loop control.
//! 2. Sparse loop (`model_format_armv6m_sparse_dot`), per block: per entry LDRB x, LDRH off
//!    (immediate offsets into the entry), then per unit LDRSB w = [unit base + off], MULS, ADD:
//!    14 instructions per entry, the 4 unit bases (block, +4, +8, +12) in r4-r7. Unrolled by 8
//!    entries (3 instructions of loop control per 8); the list is padded with `x = 0, off = 0`
//!    entries (they add 0) to a multiple of 8 instead of testing the end per entry.
//! 3. Dense loop (`model_format_armv6m_block_dot`, the kernel before the sparse one): per
//!    pixel LDRB x, then the same LDRSB + MULS + ADD per unit, the 4 unit offsets 0, 4, 8, 12
//!    in r4-r7 and the weight pointer moving; 14 instructions per pixel, 396 per 7 groups.
//!
//! Switch-over: the sparse loop runs when the padded list has at most [`SPARSE_MAX`] = 768
//! entries, the dense loop otherwise. A block costs 14.375 instructions per padded entry
//! sparse and 11,087 dense (28 × 396 - 1): sparse is cheaper up to 771 entries, so each image
//! takes the cheaper loop, and the worst case is dense plus the list it built for nothing
//! (~6,300 instructions for an all-nonzero image, under 2 % of a 784-128-10 inference).
//! The decision costs one compare of the count the list build returns.
//!
//! The loops need all eight low registers, and Rust's `asm!` cannot name r6 or r7 on Thumb
//! (LLVM's base and frame pointers). So both are `global_asm!` functions that follow the
//! AAPCS and save r4-r11 themselves. The 4 accumulators live in r8-r11 (Thumb-1 has
//! `add rHi, rLo`), the loop end in r12 (`cmp rLo, rHi` exists too) and the pointer to the
//! accumulator array in lr (saved on entry). The list is 784 words (3,136 bytes) on the stack.

use core::mem::MaybeUninit;

use super::BlockIo;
use crate::layout::BLOCK_BYTES;
use crate::{INPUT, ROW_BLOCK};

#[cfg(mf_layout2)]
pub(super) use super::portable::layer1_smlad16;

/// Entries per iteration of the sparse loop; the list is padded to a multiple of it.
const UNROLL: usize = 8;

/// Longest (padded) list the sparse loop takes; a longer one runs the dense loop. Per block
/// the sparse loop costs 14 instructions per entry + 3 per 8, the dense one 11,087: equal at
/// 771 entries, and 768 is the largest multiple of 8 below.
const SPARSE_MAX: usize = 768;

const _: () = assert!(SPARSE_MAX.is_multiple_of(UNROLL) && SPARSE_MAX <= INPUT);

extern "C" {
    /// `acc[r] += Σ_i w[r][i] · x[i]` for the layout-1 block at `block` (`BLOCK_BYTES` bytes)
    /// and the `INPUT` pixels at `pixels`; no alignment needed.
    fn model_format_armv6m_block_dot(
        pixels: *const u8,
        block: *const u8,
        acc: *mut [i32; ROW_BLOCK],
    );

    /// `acc[r] += Σ_e w[r][off_e] · x_e` for the list entries from `list` to `end` (a
    /// multiple of `UNROLL` entries, word-aligned, each `x | off << 16` with `off + 12 <
    /// BLOCK_BYTES`) and the layout-1 block at `block`.
    fn model_format_armv6m_sparse_dot(
        list: *const u32,
        end: *const u32,
        block: *const u8,
        acc: *mut [i32; ROW_BLOCK],
    );

    /// Writes the entry `x | (16g + j) << 16` of every nonzero pixel `x = pixels[4g + j]`, in
    /// pixel order, to `list` (room for `INPUT` words, word-aligned) and returns their number.
    fn model_format_armv6m_nonzero_list(pixels: *const u8, list: *mut u32) -> usize;
}

/// Layer 1 of a layout-1 model: each block's accumulators, in order, into `io`.
pub(super) fn layer1_smlad(pixels: &[u8; INPUT], w1: &[u8], io: &mut impl BlockIo) {
    let mut list = [const { MaybeUninit::<u32>::uninit() }; INPUT];
    let n = nonzero_list(pixels, &mut list);
    let padded = n.next_multiple_of(UNROLL);
    if padded > SPARSE_MAX {
        for block in w1.chunks_exact(BLOCK_BYTES) {
            let mut acc = io.init();
            // SAFETY: `pixels` has INPUT bytes and `block` BLOCK_BYTES (chunks_exact), exactly
            // what the function reads; it writes only the 4 words of `acc`, and as an AAPCS
            // function preserves r4-r11, sp and the stack above it.
            unsafe { model_format_armv6m_block_dot(pixels.as_ptr(), block.as_ptr(), &mut acc) };
            io.store(acc);
        }
        return;
    }
    // Padding: x = 0 adds nothing (off = 0 reads a weight inside the block).
    for e in list.iter_mut().take(padded).skip(n) {
        e.write(0);
    }
    let start = list.as_ptr().cast::<u32>();
    // `padded <= SPARSE_MAX <= INPUT`: within (or one past) `list`.
    let end = start.wrapping_add(padded);
    for block in w1.chunks_exact(BLOCK_BYTES) {
        let mut acc = io.init();
        // SAFETY: the `padded` words from `start` are initialised (`n` by the list build, the
        // rest just above) and inside `list`; every entry's `off` is at most 16 × 195 + 3, so
        // the function reads only inside `block` (BLOCK_BYTES = 16 × 196, chunks_exact). It
        // writes only the 4 words of `acc`, and as an AAPCS function preserves r4-r11, sp and
        // the stack above it.
        unsafe { model_format_armv6m_sparse_dot(start, end, block.as_ptr(), &mut acc) };
        io.store(acc);
    }
}

/// The sparse list of `pixels` (module doc) in `list`; returns the number of entries, whose
/// words are then initialised.
#[inline(always)]
fn nonzero_list(pixels: &[u8; INPUT], list: &mut [MaybeUninit<u32>; INPUT]) -> usize {
    // SAFETY: reads the INPUT bytes of `pixels` and writes at most one word per pixel into
    // `list` (INPUT words, aligned as u32), from its start and in order; an AAPCS function.
    let n = unsafe { model_format_armv6m_nonzero_list(pixels.as_ptr(), list.as_mut_ptr().cast()) };
    n.min(INPUT)
}

// The list build. r0 = pixels (advances 16 per iteration of 4 groups), r1 = where the next
// entry goes, r2 = 16g of the current group, r3 pixel, r4 scratch, r5 the list's start (for
// the count), r12 the pixels' end. Per pixel: LDRB, CMP, BEQ past the entry if zero, else
// STRB x, ADDS off = 16g + j, STRH off, ADDS. The loop body (236 bytes) stays within BNE's
// 256-byte reach.
core::arch::global_asm!(
    ".pushsection .text.model_format_armv6m_nonzero_list,\"ax\",%progbits",
    ".syntax unified",
    ".thumb",
    ".macro model_format_armv6m_pixel at, j",
    "ldrb r3, [r0, #\\at]",
    "cmp r3, #0",
    "beq 1f",
    "strb r3, [r1]",
    "adds r4, r2, #\\j",
    "strh r4, [r1, #2]",
    "adds r1, #4",
    "1:",
    ".endm",
    ".global model_format_armv6m_nonzero_list",
    ".type model_format_armv6m_nonzero_list, %function",
    ".p2align 2",
    ".thumb_func",
    "model_format_armv6m_nonzero_list:",
    "push {{r4, r5, lr}}",
    "mov r5, r1",
    "movs r2, #0",
    "movs r3, #{groups}",
    "lsls r3, r3, #2",
    "adds r3, r3, r0",
    "mov r12, r3",
    "2:",
    ".irp g, 0, 4, 8, 12",
    "model_format_armv6m_pixel \\g+0, 0",
    "model_format_armv6m_pixel \\g+1, 1",
    "model_format_armv6m_pixel \\g+2, 2",
    "model_format_armv6m_pixel \\g+3, 3",
    "adds r2, #16",
    ".endr",
    "adds r0, #16",
    "cmp r0, r12",
    "bne 2b",
    "subs r0, r1, r5",
    "lsrs r0, r0, #2",
    "pop {{r4, r5, pc}}",
    ".size model_format_armv6m_nonzero_list, . - model_format_armv6m_nonzero_list",
    ".purgem model_format_armv6m_pixel",
    ".popsection",
    groups = const INPUT / 4,
);

// The list build handles 4 groups (16 pixels) per iteration.
const _: () = assert!(INPUT.is_multiple_of(16) && INPUT / 4 <= 255);

// The sparse loop. r0 = list, r1 = end, r2 = block, r3 = &mut [i32; 4].
// Registers in the loop: r0 entry pointer (advances 32 per iteration of 8 entries), r1 x, r2
// off, r3 product, r4-r7 the unit bases block + 0, 4, 8, 12, r8-r11 accumulators, r12 end of
// the list, lr the accumulator pointer. One entry at byte offset `at` of the iteration:
// LDRB x, LDRH off, then per unit LDRSB w, MULS w = w * x, ADD acc += w. The loop body
// (228 bytes) stays within BNE's 256-byte reach.
core::arch::global_asm!(
    ".pushsection .text.model_format_armv6m_sparse_dot,\"ax\",%progbits",
    ".syntax unified",
    ".thumb",
    ".macro model_format_armv6m_entry at",
    "ldrb r1, [r0, #\\at]",
    "ldrh r2, [r0, #\\at+2]",
    "ldrsb r3, [r4, r2]",
    "muls r3, r1, r3",
    "add r8, r3",
    "ldrsb r3, [r5, r2]",
    "muls r3, r1, r3",
    "add r9, r3",
    "ldrsb r3, [r6, r2]",
    "muls r3, r1, r3",
    "add r10, r3",
    "ldrsb r3, [r7, r2]",
    "muls r3, r1, r3",
    "add r11, r3",
    ".endm",
    ".global model_format_armv6m_sparse_dot",
    ".type model_format_armv6m_sparse_dot, %function",
    ".p2align 2",
    ".thumb_func",
    "model_format_armv6m_sparse_dot:",
    "push {{r4, r5, r6, r7, lr}}",
    "mov r4, r8",
    "mov r5, r9",
    "mov r6, r10",
    "mov r7, r11",
    "push {{r4, r5, r6, r7}}",
    "mov lr, r3",
    "mov r12, r1",
    "ldm r3!, {{r4, r5, r6, r7}}",
    "mov r8, r4",
    "mov r9, r5",
    "mov r10, r6",
    "mov r11, r7",
    "mov r4, r2",
    "adds r5, r4, #4",
    "adds r6, r5, #4",
    "adds r7, r6, #4",
    "cmp r0, r12",
    "beq 3f",
    "2:",
    ".irp at, 0, 4, 8, 12, 16, 20, 24, 28",
    "model_format_armv6m_entry \\at",
    ".endr",
    "adds r0, #32",
    "cmp r0, r12",
    "bne 2b",
    "3:",
    "mov r2, lr",
    "mov r4, r8",
    "mov r5, r9",
    "mov r6, r10",
    "mov r7, r11",
    "stm r2!, {{r4, r5, r6, r7}}",
    "pop {{r4, r5, r6, r7}}",
    "mov r8, r4",
    "mov r9, r5",
    "mov r10, r6",
    "mov r11, r7",
    "pop {{r4, r5, r6, r7, pc}}",
    ".size model_format_armv6m_sparse_dot, . - model_format_armv6m_sparse_dot",
    ".purgem model_format_armv6m_entry",
    ".popsection",
);

const _: () = assert!(UNROLL == 8);
// The kernel. r0 = pixels, r1 = weights, r2 = &mut [i32; 4].
// Registers in the loop: r0 pixel pointer (advances 28 per iteration of 7 groups), r1 weight
// pointer (advances 1 per input, 13 after the 4th input of a group: the next input's 4 weights
// are at offsets r4..r7 = 0, 4, 8, 12 from it), r2 product, r3 pixel, r8-r11 accumulators,
// r12 end of the pixels, lr the accumulator pointer.
// One input x of a group (`off` = its byte offset from r0, `step` = how far r1 moves after):
// LDRB x, then per unit LDRSB w, MULS w = w * x, ADD acc += w.
// B<cond> reaches only 256 bytes back, less than the 784-byte loop body: hence BEQ out + B.
core::arch::global_asm!(
    ".pushsection .text.model_format_armv6m_block_dot,\"ax\",%progbits",
    ".syntax unified",
    ".thumb",
    ".macro model_format_armv6m_input off, step",
    "ldrb r3, [r0, #\\off]",
    "ldrsb r2, [r1, r4]",
    "muls r2, r3, r2",
    "add r8, r2",
    "ldrsb r2, [r1, r5]",
    "muls r2, r3, r2",
    "add r9, r2",
    "ldrsb r2, [r1, r6]",
    "muls r2, r3, r2",
    "add r10, r2",
    "ldrsb r2, [r1, r7]",
    "muls r2, r3, r2",
    "add r11, r2",
    "adds r1, #\\step",
    ".endm",
    ".global model_format_armv6m_block_dot",
    ".type model_format_armv6m_block_dot, %function",
    ".p2align 2",
    ".thumb_func",
    "model_format_armv6m_block_dot:",
    "push {{r4, r5, r6, r7, lr}}",
    "mov r4, r8",
    "mov r5, r9",
    "mov r6, r10",
    "mov r7, r11",
    "push {{r4, r5, r6, r7}}",
    "mov lr, r2",
    "ldm r2!, {{r4, r5, r6, r7}}",
    "mov r8, r4",
    "mov r9, r5",
    "mov r10, r6",
    "mov r11, r7",
    "movs r3, #{groups}",
    "lsls r3, r3, #2",
    "adds r3, r3, r0",
    "mov r12, r3",
    "movs r4, #0",
    "movs r5, #4",
    "movs r6, #8",
    "movs r7, #12",
    "2:",
    ".irp g, 0, 4, 8, 12, 16, 20, 24",
    "model_format_armv6m_input \\g+0, 1",
    "model_format_armv6m_input \\g+1, 1",
    "model_format_armv6m_input \\g+2, 1",
    "model_format_armv6m_input \\g+3, 13",
    ".endr",
    "adds r0, #28",
    "cmp r0, r12",
    "beq 3f",
    "b 2b",
    "3:",
    "mov r2, lr",
    "mov r4, r8",
    "mov r5, r9",
    "mov r6, r10",
    "mov r7, r11",
    "stm r2!, {{r4, r5, r6, r7}}",
    "pop {{r4, r5, r6, r7}}",
    "mov r8, r4",
    "mov r9, r5",
    "mov r10, r6",
    "mov r11, r7",
    "pop {{r4, r5, r6, r7, pc}}",
    ".size model_format_armv6m_block_dot, . - model_format_armv6m_block_dot",
    ".purgem model_format_armv6m_input",
    ".popsection",
    groups = const INPUT / 4,
);

// The loop handles 7 groups (28 pixels) per iteration.
const _: () = assert!(INPUT.is_multiple_of(28) && INPUT / 4 <= 255);
