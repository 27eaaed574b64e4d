//! The Cortex-M0/M0+ kernel (thumbv6m: Thumb-1 only; also thumbv8m.base, the M23): per weight
//! one LDRSB (register offset: Thumb-1 has no immediate form for signed byte loads), one MULS
//! and one ADD into an accumulator kept in a high register, 14 instructions per input and
//! unit block, 3.5 per multiply-accumulate.
//!
//! The loop needs all eight low registers (pixel pointer, weight pointer, pixel, product and
//! the four weight offsets 0, 4, 8, 12 of a group's units), and Rust's `asm!` cannot name r6
//! or r7 on Thumb (LLVM's base and frame pointers). So the kernel is a `global_asm!` function
//! that follows the AAPCS and saves r4-r11 itself. The 4 accumulators live in r8-r11 (Thumb-1
//! has `add rHi, rLo`), the loop end in r12 (`cmp rLo, rHi` exists too) and the pointer to the
//! accumulator array in lr (saved on entry).

use super::BlockIo;
use crate::layout::BLOCK_BYTES;
use crate::{INPUT, ROW_BLOCK};

#[cfg(mf_layout2)]
pub(super) use super::portable::layer1_smlad16;

extern "C" {
    /// `acc[r] += Σ_i w[r][i] · x[i]` for the layout-1 block at `block` (`BLOCK_BYTES` bytes)
    /// and the `INPUT` pixels at `pixels`; no alignment needed.
    fn model_format_armv6m_block_dot(
        pixels: *const u8,
        block: *const u8,
        acc: *mut [i32; ROW_BLOCK],
    );
}

/// Layer 1 of a layout-1 model: each block's accumulators, in order, into `io`.
pub(super) fn layer1_smlad(pixels: &[u8; INPUT], w1: &[u8], io: &mut impl BlockIo) {
    for block in w1.chunks_exact(BLOCK_BYTES) {
        let mut acc = io.init();
        // SAFETY: `pixels` has INPUT bytes and `block` BLOCK_BYTES (chunks_exact), exactly what
        // the function reads; it writes only the 4 words of `acc`, and as an AAPCS function
        // preserves r4-r11, sp and the stack above it.
        unsafe { model_format_armv6m_block_dot(pixels.as_ptr(), block.as_ptr(), &mut acc) };
        io.store(acc);
    }
}

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
