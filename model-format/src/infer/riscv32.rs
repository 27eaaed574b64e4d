//! The RV32IMAC kernel (riscv32 with the M extension): per weight one LB (sign-extending byte
//! load, immediate offset), one MUL and one ADD. RISC-V has no multiply-accumulate, so 3 per
//! weight is the floor; what is left to save is the work on zero pixels and the pixel loads.
//!
//! Sparse (most images): MNIST digits are ~80 % zero pixels (151 of 784 nonzero on average),
//! so [`build_list`] first writes one 4-byte entry per NONZERO pixel `4 * g + j` (group g,
//! lane j): halfword 0 = `off` = `16 * g + j`, the offset of its unit-0 weight in a block
//! (units 1..3 at `off + 4`, `+ 8`, `+ 12`), byte 2 = the pixel. 2 instructions per zero
//! pixel (LBU, BEQZ), 6 per nonzero one. Every pass then runs two blocks (8 units) over the
//! list: LHU `off`, LBU x, one ADD `q = off + pm`, and 8 x (LB, MUL, ADD): 27 instructions
//! per entry, 3.375 per MAC. One ADD serves both blocks because `pm` points half a block
//! (1,568 bytes) into the first one: the two blocks' weights are then at immediates -1,568 ..
//! -1,553 and +1,568 .. +1,583, both within RISC-V's +-2 KiB. The loop is unrolled by 4
//! entries and the list padded with x = 0 entries (they add 0) up to a multiple of 4, so loop
//! control is 2 instructions per 4 entries. Measured, 784-128-10: ~442 instructions per
//! nonzero pixel per inference, mean 87.5 k instead of 333 k.
//!
//! Dense (a list longer than [`SPARSE_MAX`] = 384 entries): each pass runs two blocks over all
//! 784 pixels, so each group's 4 pixel loads (LBU) serve 32 multiply-accumulates: 100
//! instructions per 32 plus 4 of loop control per 7 groups (25.1 per pixel per pass, against
//! 27.5 per list entry). A trailing odd block runs alone, sparse (15 per entry) or dense (52
//! per 16 weights).
//!
//! The switch-over: by speed alone the list pays up to ~716 entries (27.5 n < 19,712 per
//! pass), but the list lives on the stack and the 16 KiB sifive_e board has little to spare,
//! so it holds 384 entries (+ 28 of overshoot: the build tests the count once per 28 pixels
//! and gives up past 384). No MNIST test image has more than 311 nonzero pixels; the images
//! that do pay the dense passes plus the abandoned build (<= ~3.3 k instructions, ~1 % of the
//! dense cost). The decision is the count the build returns, tested once per pass.
//!
//! Offsets are immediates (`16 * g + 4 * unit + input` in the dense loop, g = group of the
//! unrolled 7), so the pointers move once per iteration; `.irp` repeats the group or entry,
//! and the macros spell out its body (the assembler cannot index operands by a loop
//! variable).

use super::BlockIo;
use crate::layout::{BLOCK_BYTES, GROUP};
use crate::{INPUT, ROW_BLOCK};
use core::marker::PhantomData;
use core::mem::MaybeUninit;

#[cfg(mf_layout2)]
pub(super) use super::portable::layer1_smlad16;

/// Groups per unrolled loop iteration of the dense loop and of the list build (784 / 4 =
/// 196 = 28 x 7).
const UNROLL: usize = 7;
const _: () = assert!((INPUT / GROUP).is_multiple_of(UNROLL));

/// List entries per unrolled iteration of the sparse loops; the list is padded to a multiple.
const LIST_UNROLL: usize = 4;

/// The longest list the sparse passes run: a longer one goes dense. Set by RAM, not by
/// speed (see the module doc): the list lives on the stack of 16 KiB boards. The MNIST test
/// images have at most 311 nonzero pixels.
const SPARSE_MAX: usize = 384;

/// Entries the list has room for: the build checks the count once per unrolled iteration
/// (28 pixels), so it may write that many past [`SPARSE_MAX`] before it gives up.
const LIST_ROOM: usize = SPARSE_MAX + UNROLL * GROUP;
const _: () = assert!(SPARSE_MAX.next_multiple_of(LIST_UNROLL) <= LIST_ROOM);

/// Half a block: the pair loop's pointer sits this far into the first block, so both blocks'
/// weights are within an immediate offset (-1568 ..= 1583, the reach is +-2 KiB).
const MID: usize = BLOCK_BYTES / 2;
const _: () = assert!(MID + GROUP * (ROW_BLOCK - 1) < 2048);

/// Layer 1 of a layout-1 model: each block's accumulators, in order, into `io`. Builds the
/// nonzero-pixel list once, then each pass runs over it if it has at most [`SPARSE_MAX`]
/// entries, else over all pixels (one test per pass: a pass is >= 1,000 instructions).
pub(super) fn layer1_smlad(pixels: &[u8; INPUT], w1: &[u8], io: &mut impl BlockIo) {
    let mut room = MaybeUninit::<[u32; LIST_ROOM]>::uninit();
    let list = build_list(pixels, &mut room);
    let mut pairs = w1.chunks_exact(2 * BLOCK_BYTES);
    for pair in &mut pairs {
        let (a, b) = (io.init(), io.init());
        let (a, b) = match &list {
            Some(list) => sparse_pair_dot(list, pair, a, b),
            None => block_pair_dot(pixels, pair, a, b),
        };
        io.store(a);
        io.store(b);
    }
    if let Some(block) = pairs.remainder().get(..BLOCK_BYTES) {
        let acc = match &list {
            Some(list) => sparse_block_dot(list, block, io.init()),
            None => block_dot(pixels, block, io.init()),
        };
        io.store(acc);
    }
}

/// A built and padded list in a `room`: the entries `start..end` (a multiple of
/// [`LIST_UNROLL`], at most [`LIST_ROOM`]), in the format [`build_list`] writes; only the
/// asm reads them.
struct Entries<'room> {
    start: *const u32,
    end: *const u32,
    room: PhantomData<&'room [u32]>,
}

/// The asm of pixel `j` of group `\g` in [`build_list`]: a zero costs its LBU and BEQZ;
/// else its entry goes to the list and the list pointer steps.
macro_rules! entry {
    ($j:literal) => {
        concat!(
            "lbu {x}, 4*\\g+",
            $j,
            "({px})\n",
            "beqz {x}, 1f\n",
            "addi {t}, {e}, 16*\\g+",
            $j,
            "\n",
            "sh {t}, 0({lp})\n",
            "sb {x}, 2({lp})\n",
            "addi {lp}, {lp}, 4\n",
            "1:\n",
        )
    };
}

/// The list of the nonzero pixels of `pixels` in `room`, padded to a multiple of
/// [`LIST_UNROLL`] with entries of x = 0 (off 0: in range, they add 0); `None` if there are
/// more than [`SPARSE_MAX`].
///
/// One entry per nonzero pixel, in pixel order: halfword 0 = `off` = `16 * g + j` for pixel
/// `4 * g + j` (the offset of its unit-0 weight in a block), byte 2 = the pixel, byte 3 not
/// written. A zero pixel costs 2 instructions (LBU, BEQZ), a nonzero one 6.
fn build_list<'room>(
    pixels: &[u8; INPUT],
    room: &'room mut MaybeUninit<[u32; LIST_ROOM]>,
) -> Option<Entries<'room>> {
    let start = room.as_mut_ptr().cast::<u32>();
    let mut end: *mut u32;
    // SAFETY: reads the INPUT bytes of `pixels` (28 iterations x 28 bytes, `px` up to
    // `pend`). Writes one 4-byte entry per nonzero pixel from `start` (u32-aligned: SH at +0,
    // SB at +2), and stops after the iteration that takes `lp` past `cap`: each iteration
    // starts at most at `cap` = SPARSE_MAX entries and writes at most 28, so at most
    // LIST_ROOM entries: inside `room`. No stack.
    unsafe {
        let px = pixels.as_ptr();
        core::arch::asm!(
            "2:",
            ".irp g, 0, 1, 2, 3, 4, 5, 6",
            entry!(0),
            entry!(1),
            entry!(2),
            entry!(3),
            ".endr",
            "addi {px}, {px}, {unroll} * 4",
            "addi {e}, {e}, {unroll} * 16",
            "bltu {cap}, {lp}, 3f",
            "bne {px}, {pend}, 2b",
            "3:",
            px = inout(reg) px => _,
            pend = in(reg) px.add(INPUT),
            lp = inout(reg) start => end,
            cap = in(reg) start.add(SPARSE_MAX),
            e = inout(reg) 0usize => _,
            x = out(reg) _,
            t = out(reg) _,
            unroll = const UNROLL,
            options(nostack),
        );
    }
    // SAFETY: `end` is `start` plus 4 bytes per entry written, inside `room` (above).
    let mut n = unsafe { end.offset_from(start) } as usize;
    if n > SPARSE_MAX {
        return None;
    }
    while !n.is_multiple_of(LIST_UNROLL) {
        // SAFETY: n < SPARSE_MAX rounded up to LIST_UNROLL <= LIST_ROOM (asserted): `end`
        // and the entry after it are inside `room`.
        unsafe {
            end.write(0);
            end = end.add(1);
        }
        n += 1;
    }
    Some(Entries {
        start: start.cast_const(),
        end: end.cast_const(),
        room: PhantomData,
    })
}

/// The asm of one unit of a list entry: LB of its weight at immediate offset `imm` from
/// `q`, MUL by the pixel `x`, ADD into the accumulator operand `acc`.
macro_rules! sunit {
    ($acc:literal, $imm:literal) => {
        concat!(
            "lb {t}, ",
            $imm,
            "({q})\n",
            "mul {t}, {t}, {x}\n",
            "add {",
            $acc,
            "}, {",
            $acc,
            "}, {t}\n",
        )
    };
}

/// The asm unpacking list entry `\k` of the unrolled 4: `q` = `off` + the operand `base`,
/// `x` = the pixel.
macro_rules! unpack {
    ($base:literal) => {
        concat!(
            "lhu {q}, 4*\\k({lp})\n",
            "lbu {x}, 4*\\k+2({lp})\n",
            "add {q}, {q}, {",
            $base,
            "}\n",
        )
    };
}

/// [`block_pair_dot`] over the list: per entry 27 instructions for 8 MACs (LHU, LBU, one
/// ADD for both blocks, 8 x (LB, MUL, ADD)), plus 2 of loop control per 4 entries.
#[inline]
fn sparse_pair_dot(
    list: &Entries<'_>,
    pair: &[u8],
    a: [i32; ROW_BLOCK],
    b: [i32; ROW_BLOCK],
) -> ([i32; ROW_BLOCK], [i32; ROW_BLOCK]) {
    if pair.len() != 2 * BLOCK_BYTES {
        return (a, b);
    }
    let [mut a0, mut a1, mut a2, mut a3] = a;
    let [mut b0, mut b1, mut b2, mut b3] = b;
    // SAFETY: reads the list words `start..end` (written by `build_list` or padded, a
    // multiple of 4 entries) and bytes of `pair` at `pm + off + 4 * unit - MID` (first block)
    // and `pm + off + 4 * unit + MID` (second), `pm` = `pair + MID`, `off` <= 16 * 195 + 3:
    // within `pair`'s 2 * BLOCK_BYTES. Byte and halfword loads, halfwords 4-aligned. Writes
    // only its register operands; no stack.
    unsafe {
        core::arch::asm!(
            "beq {lp}, {end}, 3f",
            "2:",
            ".irp k, 0, 1, 2, 3",
            unpack!("pm"),
            sunit!("a0", "0-{mid}"),
            sunit!("b0", "0+{mid}"),
            sunit!("a1", "4-{mid}"),
            sunit!("b1", "4+{mid}"),
            sunit!("a2", "8-{mid}"),
            sunit!("b2", "8+{mid}"),
            sunit!("a3", "12-{mid}"),
            sunit!("b3", "12+{mid}"),
            ".endr",
            "addi {lp}, {lp}, {lu} * 4",
            "bne {lp}, {end}, 2b",
            "3:",
            a0 = inout(reg) a0,
            a1 = inout(reg) a1,
            a2 = inout(reg) a2,
            a3 = inout(reg) a3,
            b0 = inout(reg) b0,
            b1 = inout(reg) b1,
            b2 = inout(reg) b2,
            b3 = inout(reg) b3,
            lp = inout(reg) list.start => _,
            end = in(reg) list.end,
            pm = in(reg) pair.as_ptr().add(MID),
            q = out(reg) _,
            x = out(reg) _,
            t = out(reg) _,
            mid = const MID,
            lu = const LIST_UNROLL,
            options(pure, readonly, nostack),
        );
    }
    ([a0, a1, a2, a3], [b0, b1, b2, b3])
}

/// [`sparse_pair_dot`] for one block (`BLOCK_BYTES` long, else `acc` comes back unchanged):
/// 15 instructions per entry.
#[inline]
fn sparse_block_dot(list: &Entries<'_>, block: &[u8], acc: [i32; ROW_BLOCK]) -> [i32; ROW_BLOCK] {
    if block.len() != BLOCK_BYTES {
        return acc;
    }
    let [mut a0, mut a1, mut a2, mut a3] = acc;
    // SAFETY: as in `sparse_pair_dot`, for the one block at `pa` (offsets `off + 4 * unit`).
    unsafe {
        core::arch::asm!(
            "beq {lp}, {end}, 3f",
            "2:",
            ".irp k, 0, 1, 2, 3",
            unpack!("pa"),
            sunit!("a0", "0"),
            sunit!("a1", "4"),
            sunit!("a2", "8"),
            sunit!("a3", "12"),
            ".endr",
            "addi {lp}, {lp}, {lu} * 4",
            "bne {lp}, {end}, 2b",
            "3:",
            a0 = inout(reg) a0,
            a1 = inout(reg) a1,
            a2 = inout(reg) a2,
            a3 = inout(reg) a3,
            lp = inout(reg) list.start => _,
            end = in(reg) list.end,
            pa = in(reg) block.as_ptr(),
            q = out(reg) _,
            x = out(reg) _,
            t = out(reg) _,
            lu = const LIST_UNROLL,
            options(pure, readonly, nostack),
        );
    }
    [a0, a1, a2, a3]
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
