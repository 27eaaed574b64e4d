//! The RV32IMAC kernel (riscv32 with the M extension): per weight one LB (sign-extending byte
//! load, immediate offset), one MUL and one ADD. RISC-V has no multiply-accumulate, so 3 per
//! weight is the floor; what is left to save is the pixel loads: the kernel runs two blocks
//! (8 units) per pass over the input, so each group's 4 pixel loads (LBU) serve 32
//! multiply-accumulates: 100 instructions per 32, plus 4 of loop control per 7 groups.
//! A trailing odd block runs alone (52 per 16).
//!
//! Offsets are immediates (`16 * g + 4 * unit + input`, g = group of the unrolled 7), so the
//! pointers move once per iteration; `.irp` repeats the group, and `group!` spells out its
//! body (the assembler cannot index operands by a loop variable).

use super::BlockIo;
use crate::layout::{BLOCK_BYTES, GROUP};
use crate::{INPUT, ROW_BLOCK};

#[cfg(mf_layout2)]
pub(super) use super::portable::layer1_smlad16;

/// Groups per unrolled loop iteration (784 / 4 = 196 = 28 x 7).
const UNROLL: usize = 7;
const _: () = assert!((INPUT / GROUP).is_multiple_of(UNROLL));

/// Layer 1 of a layout-1 model: each block's accumulators, in order, into `io`.
pub(super) fn layer1_smlad(pixels: &[u8; INPUT], w1: &[u8], io: &mut impl BlockIo) {
    let mut pairs = w1.chunks_exact(2 * BLOCK_BYTES);
    for pair in &mut pairs {
        let (a, b) = (io.init(), io.init());
        let (a, b) = block_pair_dot(pixels, pair, a, b);
        io.store(a);
        io.store(b);
    }
    if let Some(block) = pairs.remainder().get(..BLOCK_BYTES) {
        let acc = block_dot(pixels, block, io.init());
        io.store(acc);
    }
}

/// The asm of one unit of a group: 4 x (LB weight, MUL, ADD), weights at `16*\g + 4*unit`
/// from the pointer operand `p`, into the accumulator operand `acc`.
macro_rules! unit {
    ($p:literal, $acc:literal, $unit:literal) => {
        concat!(
            "lb {t}, 16*\\g+4*",
            $unit,
            "+0({",
            $p,
            "})\n",
            "mul {t}, {t}, {x0}\n",
            "add {",
            $acc,
            "}, {",
            $acc,
            "}, {t}\n",
            "lb {t}, 16*\\g+4*",
            $unit,
            "+1({",
            $p,
            "})\n",
            "mul {t}, {t}, {x1}\n",
            "add {",
            $acc,
            "}, {",
            $acc,
            "}, {t}\n",
            "lb {t}, 16*\\g+4*",
            $unit,
            "+2({",
            $p,
            "})\n",
            "mul {t}, {t}, {x2}\n",
            "add {",
            $acc,
            "}, {",
            $acc,
            "}, {t}\n",
            "lb {t}, 16*\\g+4*",
            $unit,
            "+3({",
            $p,
            "})\n",
            "mul {t}, {t}, {x3}\n",
            "add {",
            $acc,
            "}, {",
            $acc,
            "}, {t}\n",
        )
    };
}

/// The asm loading group `\g`'s 4 pixels.
macro_rules! pixels {
    () => {
        concat!(
            "lbu {x0}, 4*\\g+0({px})\n",
            "lbu {x1}, 4*\\g+1({px})\n",
            "lbu {x2}, 4*\\g+2({px})\n",
            "lbu {x3}, 4*\\g+3({px})\n",
        )
    };
}

/// `acc + Σ_i w[r][i] · x[i]` for two consecutive blocks (`pair` is `2 * BLOCK_BYTES` long;
/// anything else returns the accumulators unchanged, which never happens: the caller iterates
/// `chunks_exact`). MUL and ADD wrap, but the sums are exact (see `FORMAT.md`).
#[inline]
fn block_pair_dot(
    pixels: &[u8; INPUT],
    pair: &[u8],
    a: [i32; ROW_BLOCK],
    b: [i32; ROW_BLOCK],
) -> ([i32; ROW_BLOCK], [i32; ROW_BLOCK]) {
    if pair.len() != 2 * BLOCK_BYTES {
        return (a, b);
    }
    let [mut a0, mut a1, mut a2, mut a3] = a;
    let [mut b0, mut b1, mut b2, mut b3] = b;
    // SAFETY: reads the INPUT bytes of `pixels` (28 iterations x 28 bytes, `px` up to `end`)
    // and the 2 * BLOCK_BYTES bytes of `pair` (`pa` the first block, `pb` the second, 28 x
    // 112 bytes each), byte loads only (no alignment). Writes only its register operands;
    // no stack.
    unsafe {
        let px = pixels.as_ptr();
        core::arch::asm!(
            "2:",
            ".irp g, 0, 1, 2, 3, 4, 5, 6",
            pixels!(),
            unit!("pa", "a0", 0),
            unit!("pb", "b0", 0),
            unit!("pa", "a1", 1),
            unit!("pb", "b1", 1),
            unit!("pa", "a2", 2),
            unit!("pb", "b2", 2),
            unit!("pa", "a3", 3),
            unit!("pb", "b3", 3),
            ".endr",
            "addi {px}, {px}, {unroll} * 4",
            "addi {pa}, {pa}, {unroll} * 16",
            "addi {pb}, {pb}, {unroll} * 16",
            "bne {px}, {end}, 2b",
            a0 = inout(reg) a0,
            a1 = inout(reg) a1,
            a2 = inout(reg) a2,
            a3 = inout(reg) a3,
            b0 = inout(reg) b0,
            b1 = inout(reg) b1,
            b2 = inout(reg) b2,
            b3 = inout(reg) b3,
            px = inout(reg) px => _,
            pa = inout(reg) pair.as_ptr() => _,
            pb = inout(reg) pair.as_ptr().add(BLOCK_BYTES) => _,
            end = in(reg) px.add(INPUT),
            x0 = out(reg) _,
            x1 = out(reg) _,
            x2 = out(reg) _,
            x3 = out(reg) _,
            t = out(reg) _,
            unroll = const UNROLL,
            options(pure, readonly, nostack),
        );
    }
    ([a0, a1, a2, a3], [b0, b1, b2, b3])
}

/// [`block_pair_dot`] for one block (`BLOCK_BYTES` long, else `acc` comes back unchanged).
#[inline]
fn block_dot(pixels: &[u8; INPUT], block: &[u8], acc: [i32; ROW_BLOCK]) -> [i32; ROW_BLOCK] {
    if block.len() != BLOCK_BYTES {
        return acc;
    }
    let [mut a0, mut a1, mut a2, mut a3] = acc;
    // SAFETY: as in `block_pair_dot`, for the one block at `pa`.
    unsafe {
        let px = pixels.as_ptr();
        core::arch::asm!(
            "2:",
            ".irp g, 0, 1, 2, 3, 4, 5, 6",
            pixels!(),
            unit!("pa", "a0", 0),
            unit!("pa", "a1", 1),
            unit!("pa", "a2", 2),
            unit!("pa", "a3", 3),
            ".endr",
            "addi {px}, {px}, {unroll} * 4",
            "addi {pa}, {pa}, {unroll} * 16",
            "bne {px}, {end}, 2b",
            a0 = inout(reg) a0,
            a1 = inout(reg) a1,
            a2 = inout(reg) a2,
            a3 = inout(reg) a3,
            px = inout(reg) px => _,
            pa = inout(reg) block.as_ptr() => _,
            end = in(reg) px.add(INPUT),
            x0 = out(reg) _,
            x1 = out(reg) _,
            x2 = out(reg) _,
            x3 = out(reg) _,
            t = out(reg) _,
            unroll = const UNROLL,
            options(pure, readonly, nostack),
        );
    }
    [a0, a1, a2, a3]
}
