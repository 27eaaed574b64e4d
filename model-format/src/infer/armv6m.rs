//! The Cortex-M0/M0+ kernel (thumbv6m: Thumb-1 only; also thumbv8m.base, the M23). Per weight
//! one LDRSB (register offset: Thumb-1 has no immediate form for signed byte loads), one MULS
//! and one ADD into an accumulator kept in a high register. There is no multiply-accumulate,
//! so 3 instructions per multiply-accumulate is the floor, and the way to fewer instructions
//! is fewer multiplies: MNIST images are mostly black (19 % of the test set's pixels are
//! nonzero), so layer 1 skips the zero pixels.
//!
//! 1. Once per inference, `model_format_armv6m_nonzero_list` writes one word per nonzero
//!    pixel `i = 4g + j` (group `g`, lane `j`) to a list on the stack (384 words, 1,536
//!    bytes): the pixel `x` in byte 0 and `off = 16g + j` in the upper halfword, the offset
//!    of the pixel's unit-0 weight in a layout-1 block (its 4 units' weights are at `off`,
//!    `off + 4`, `off + 8` and `off + 12`). With word-aligned pixels a group of 4 zero
//!    pixels costs 4 instructions (LDR, CMP, BEQ, the offset step), a nonzero group 16 plus 4
//!    per nonzero pixel (2 more per nonzero group: the test for room), and the loop 1 per
//!    group; unaligned pixels (the firmware aligns its buffers) take a compact bytewise loop,
//!    ~10 instructions per pixel. The build stops when the list is full.
//! 2. Sparse loop (`model_format_armv6m_sparse_dot`), per block: per entry LDRB x, LDRH off
//!    (immediate offsets into the entry), then per unit LDRSB w = [unit base + off], MULS,
//!    ADD: 14 instructions per entry, the 4 unit bases (block, +4, +8, +12) in r4-r7.
//!    Unrolled by 8 entries (3 instructions of loop control per 8); instead of padding the
//!    list or testing the end per entry, the loop is entered at slot `(-n) mod 8` of its body
//!    (a computed `mov pc`, 11 instructions per block).
//! 3. Dense loop (`model_format_armv6m_block_dot`, the kernel before the sparse one): per
//!    pixel LDRB x, then the same LDRSB + MULS + ADD per unit, the 4 unit offsets 0, 4, 8, 12
//!    in r4-r7 and the weight pointer moving; 56 instructions per group, 396 per 7 groups.
//!
//! Switch-over: the sparse loop runs when the list holds all nonzero pixels ([`LIST_LEN`] =
//! 384 entries; any 380 fit), the dense loop otherwise. For speed alone the limit would be 770: per
//! block the sparse loop costs 14 instructions per entry, 3 per 8 and 16 to set up, the dense
//! loop 11,096 (28 × 396 + 8), equal at 770 entries (measured on 784-128-10 with a 3,136-byte
//! list: 770 random pixels 382,800 instructions, 771 383,080). But the 16 KiB micro:bit
//! cannot spare the stack: its parity mode keeps ~5 KiB of stack for the rest of RAM to hold
//! the models it tests. 384 costs the test set nothing (no test image has more than 311
//! nonzero pixels, the mean is 151), and denser images run the dense loop after a list build
//! that stopped when full (at most ~3,300 instructions; measured on 784-128-10, the worst
//! image of a sweep of every density costs 383,400, the dense kernel alone at most 378,960:
//! 1.2 % more). One compare of
//! the count the list build returns decides, once per inference; both loops have the same
//! signature, so one block loop calls either.
//!
//! The loops need all eight low registers, and Rust's `asm!` cannot name r6 or r7 on Thumb
//! (LLVM's base and frame pointers). So they are `global_asm!` functions that follow the
//! AAPCS and save r4-r11 themselves (one shared epilogue). The 4 accumulators live in r8-r11
//! (Thumb-1 has `add rHi, rLo`), the loop end in r12 (`cmp rLo, rHi` exists too) and the
//! pointer to the accumulator array in lr (saved on entry).

use core::mem::MaybeUninit;

use super::BlockIo;
use crate::layout::BLOCK_BYTES;
use crate::{INPUT, ROW_BLOCK};

#[cfg(mf_layout2)]
pub(super) use super::portable::layer1_smlad16;

/// Entries the list has room for (1,536 bytes of stack), and so the longest list the sparse
/// loop takes; a longer one runs the dense loop (module doc: set by the 16 KiB micro:bit's
/// RAM, below the 770 entries up to which the sparse loop is the cheaper one).
const LIST_LEN: usize = 384;

/// `model_format_armv6m_nonzero_list` stops when fewer than 4 entries are free before a
/// group (4 x 95 = 380 entries written).
const LIST_ROOM: usize = (LIST_LEN - 4) / 4;
const _: () = assert!(LIST_LEN.is_multiple_of(4) && LIST_ROOM <= 255 && LIST_LEN <= INPUT);

/// A block's dot product: `acc[r] += Σ w[r][·] · x` over `input` (the pixels, or the list)
/// for the layout-1 block at `block` (`BLOCK_BYTES` bytes); `end` is the list's end (unused
/// by the dense loop).
type BlockDot = unsafe extern "C" fn(
    input: *const u8,
    block: *const u8,
    acc: *mut [i32; ROW_BLOCK],
    end: *const u8,
);

extern "C" {
    /// [`BlockDot`] over the `INPUT` pixels at `input` (no alignment needed): the dense loop.
    fn model_format_armv6m_block_dot(
        pixels: *const u8,
        block: *const u8,
        acc: *mut [i32; ROW_BLOCK],
        unused: *const u8,
    );

    /// [`BlockDot`] over the list entries from `list` to `end` (word-aligned words, each
    /// `x | off << 16` with `off + 12 < BLOCK_BYTES`; none if `end == list`): the sparse loop.
    fn model_format_armv6m_sparse_dot(
        list: *const u8,
        block: *const u8,
        acc: *mut [i32; ROW_BLOCK],
        end: *const u8,
    );

    /// Writes the entry `x | (16g + j) << 16` of every nonzero pixel `x = pixels[4g + j]`, in
    /// pixel order, to `list` (room for `LIST_LEN` words, word-aligned) and returns their
    /// number, or `usize::MAX` when they do not fit (it then stops; at most `LIST_LEN` words
    /// written).
    fn model_format_armv6m_nonzero_list(pixels: *const u8, list: *mut u32) -> usize;
}

/// Layer 1 of a layout-1 model: each block's accumulators, in order, into `io`.
pub(super) fn layer1_smlad(pixels: &[u8; INPUT], w1: &[u8], io: &mut impl BlockIo) {
    let mut list = [const { MaybeUninit::<u32>::uninit() }; LIST_LEN];
    // SAFETY: reads the INPUT bytes of `pixels` and writes at most LIST_LEN words into `list`
    // (LIST_LEN words, aligned as u32), from its start and in order; an AAPCS function.
    let n = unsafe { model_format_armv6m_nonzero_list(pixels.as_ptr(), list.as_mut_ptr().cast()) };
    let (dot, input, end): (BlockDot, *const u8, *const u8) = if n > LIST_LEN {
        let p = pixels.as_ptr();
        (model_format_armv6m_block_dot, p, p)
    } else {
        let start = list.as_ptr().cast::<u8>();
        // `n <= LIST_LEN` words: inside (or one past) `list`.
        (
            model_format_armv6m_sparse_dot,
            start,
            start.wrapping_add(4 * n),
        )
    };
    for block in w1.chunks_exact(BLOCK_BYTES) {
        let mut acc = io.init();
        // SAFETY: `block` has BLOCK_BYTES (chunks_exact). The dense loop reads the INPUT bytes
        // of `pixels`; the sparse loop the `n` words from the list's start, which the list
        // build initialised, and per entry the 4 weights at `off`..=`off + 12` of `block`,
        // with `off` <= 16 × 195 + 3 (BLOCK_BYTES = 16 × 196). Either writes only the 4 words
        // of `acc`, and as an AAPCS function preserves r4-r11, sp and the stack above it.
        unsafe { dot(input, block.as_ptr(), &mut acc, end) };
        io.store(acc);
    }
}

// The list build: r0 = pixels, r1 = list. Registers: r0 pixel pointer (advances 16 per
// iteration of 4 groups), r1 where the next entry goes, r2 16g of the current group, r3 the
// group's word or a pixel, r4 scratch, r5 the list's start (for the count), r6 the last
// entry address with room for 4 more (a nonzero group or pixel there ends the build: full),
// r12 the pixels' end. Per nonzero pixel: STRB x, ADDS off = 16g + j, STRH off, ADDS. The word loop's body
// (~260 bytes) is longer than BNE's 256-byte reach: hence BEQ out + B.
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
    "push {{r4, r5, r6, lr}}",
    "mov r5, r1",
    "movs r6, #{room}",
    "lsls r6, r6, #4",
    "adds r6, r6, r1",
    "movs r2, #0",
    "movs r3, #{groups}",
    "lsls r3, r3, #2",
    "adds r3, r3, r0",
    "mov r12, r3",
    "lsls r3, r0, #30",
    "beq 2f",
    // Unaligned pixels (the firmware aligns its buffers): bytewise, r2 = off of the pixel.
    "5:",
    "ldrb r3, [r0]",
    "cmp r3, #0",
    "beq 6f",
    "cmp r1, r6",
    "bhi 8f",
    "strb r3, [r1]",
    "strh r2, [r1, #2]",
    "adds r1, #4",
    "6:",
    "adds r0, #1",
    "adds r2, #1",
    "lsls r3, r2, #30",
    "bne 7f",
    "adds r2, #12",
    "7:",
    "cmp r0, r12",
    "bne 5b",
    "b 4f",
    // The list is full: return usize::MAX.
    "8:",
    "movs r0, #0",
    "mvns r0, r0",
    "pop {{r4, r5, r6, pc}}",
    // Word-aligned pixels: one LDR tests a group of 4 (most are zero).
    "2:",
    ".irp at, 0, 4, 8, 12",
    "ldr r3, [r0, #\\at]",
    "cmp r3, #0",
    "beq 3f",
    "cmp r1, r6",
    "bhi 8b",
    "model_format_armv6m_pixel \\at+0, 0",
    "model_format_armv6m_pixel \\at+1, 1",
    "model_format_armv6m_pixel \\at+2, 2",
    "model_format_armv6m_pixel \\at+3, 3",
    "3:",
    "adds r2, #16",
    ".endr",
    "adds r0, #16",
    "cmp r0, r12",
    "beq 4f",
    "b 2b",
    "4:",
    "subs r0, r1, r5",
    "lsrs r0, r0, #2",
    "pop {{r4, r5, r6, pc}}",
    ".size model_format_armv6m_nonzero_list, . - model_format_armv6m_nonzero_list",
    ".purgem model_format_armv6m_pixel",
    ".popsection",
    groups = const INPUT / 4,
    room = const LIST_ROOM,
);

// The word loop handles 4 groups (16 pixels) per iteration.
const _: () = assert!(INPUT.is_multiple_of(16) && INPUT / 4 <= 255);

// The two block loops, in one section: the dense one ends in the sparse one's epilogue.
// Arguments: r0 = pixels or list, r1 = block, r2 = &mut [i32; 4], r3 = end of the list.
//
// Sparse loop registers: r0 entry pointer (advances 32 per iteration of 8 entries), r1 x, r2
// off, r3 product, r4-r7 the unit bases block + 0, 4, 8, 12, r8-r11 accumulators, r12 end of
// the list, lr the accumulator pointer. One entry at byte offset `at` of the iteration: LDRB
// x, LDRH off, then per unit LDRSB w, MULS w = w * x, ADD acc += w. The loop body (228
// bytes) stays within BNE's 256-byte reach.
//
// Dense loop registers: r0 pixel pointer (advances 28 per iteration of 7 groups), r1 weight
// pointer (advances 1 per input, 13 after the 4th input of a group: the next input's 4
// weights are at offsets r4..r7 = 0, 4, 8, 12 from it), r2 product, r3 pixel, r8-r11
// accumulators, r12 end of the pixels, lr the accumulator pointer. One input x of a group
// (`off` = its byte offset from r0, `step` = how far r1 moves after): LDRB x, then per unit
// LDRSB w, MULS w = w * x, ADD acc += w. B<cond> reaches only 256 bytes back, less than the
// 784-byte loop body: hence BNE over a B to the epilogue + B back.
core::arch::global_asm!(
    ".pushsection .text.model_format_armv6m_block_loops,\"ax\",%progbits",
    ".syntax unified",
    ".thumb",
    // Saves r4-r11 and lr, loads the accumulators from [r2] into r8-r11, lr = r2.
    ".macro model_format_armv6m_prologue",
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
    ".endm",
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
    // The sparse loop.
    ".global model_format_armv6m_sparse_dot",
    ".type model_format_armv6m_sparse_dot, %function",
    ".p2align 2",
    ".thumb_func",
    "model_format_armv6m_sparse_dot:",
    "model_format_armv6m_prologue",
    "mov r12, r3",
    "mov r4, r1",
    "adds r5, r4, #4",
    "adds r6, r5, #4",
    "adds r7, r6, #4",
    // Enter the 8-entry body at slot m = (-n) mod 8 with r0 moved back m entries (slots
    // 0..m-1 are skipped, so nothing before the list is read): the body then runs
    // ceil(n / 8) times and r0 reaches the end exactly. r1 = 4m, r2 = 28m: a slot is 14
    // 16-bit instructions (the .org below fails the build if the first is longer).
    "subs r1, r3, r0",
    "beq 3f",
    "negs r1, r1",
    "lsls r1, r1, #27",
    "lsrs r1, r1, #27",
    "subs r0, r0, r1",
    "lsls r2, r1, #3",
    "subs r2, r2, r1",
    "adr r3, 2f",
    "adds r3, r3, r2",
    "mov pc, r3",
    ".p2align 2",
    "2:",
    ".Lmodel_format_armv6m_slot0:",
    "model_format_armv6m_entry 0",
    ".org .Lmodel_format_armv6m_slot0 + 28",
    ".irp at, 4, 8, 12, 16, 20, 24, 28",
    "model_format_armv6m_entry \\at",
    ".endr",
    "adds r0, #32",
    "cmp r0, r12",
    "bne 2b",
    "3:",
    ".Lmodel_format_armv6m_epilogue:",
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
    // The dense loop.
    ".global model_format_armv6m_block_dot",
    ".type model_format_armv6m_block_dot, %function",
    ".p2align 2",
    ".thumb_func",
    "model_format_armv6m_block_dot:",
    "model_format_armv6m_prologue",
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
    "bne 3f",
    "b .Lmodel_format_armv6m_epilogue",
    "3:",
    "b 2b",
    ".size model_format_armv6m_block_dot, . - model_format_armv6m_block_dot",
    ".purgem model_format_armv6m_prologue",
    ".purgem model_format_armv6m_entry",
    ".purgem model_format_armv6m_input",
    ".popsection",
    groups = const INPUT / 4,
);

// The dense loop handles 7 groups (28 pixels) per iteration.
const _: () = assert!(INPUT.is_multiple_of(28) && INPUT / 4 <= 255);
