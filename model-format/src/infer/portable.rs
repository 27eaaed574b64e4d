//! The portable layer-1 kernels: plain Rust, the reference every other kernel must match bit
//! for bit, and what runs on targets without a kernel of their own (the host among them).
//! The DSP kernel falls back to it for unaligned weights; the other chip kernels use only its
//! layout-2 kernel.
#![cfg_attr(
    any(mf_kernel = "armv7m", mf_kernel = "armv6m", mf_kernel = "riscv32"),
    allow(dead_code)
)]

use super::{dot, BlockIo};
use crate::layout::{BLOCK_BYTES, GROUP};
use crate::{INPUT, ROW_BLOCK};

/// Layer 2: `logits[k] += Σ_j hidden[j] · w2[k][j]` for each row `k` of `w2` (rows of
/// `hidden.len()` weights, class-major) that `logits` has room for.
pub(super) fn layer2(hidden: &[u8], w2: &[u8], logits: &mut [i32]) {
    for (logit, row) in logits.iter_mut().zip(w2.chunks_exact(hidden.len().max(1))) {
        *logit += dot(hidden, row);
    }
}

/// Layer 1 of a layout-1 model: each block's accumulators, in order, into `io`.
pub(super) fn layer1_smlad(pixels: &[u8; INPUT], w1: &[u8], io: &mut impl BlockIo) {
    for block in w1.chunks_exact(BLOCK_BYTES) {
        let acc = block_dot(pixels, block, io.init());
        io.store(acc);
    }
}

/// Layer 1 of a layout-2 model (int16 weights), as [`layer1_smlad`].
#[cfg(mf_layout2)]
pub(super) fn layer1_smlad16(pixels: &[u8; INPUT], w1: &[u8], io: &mut impl BlockIo) {
    for block in w1.chunks_exact(crate::layout::BLOCK_BYTES16) {
        let acc = block_dot16(pixels, block, io.init());
        io.store(acc);
    }
}

/// Layer-1 accumulators of one layout-1 block: `acc[r] += Σ_i w[unit r][i] · x[i]` for the 4
/// units of `block` (784 groups of 16 bytes, see `FORMAT.md`).
#[inline]
pub(super) fn block_dot(
    pixels: &[u8; INPUT],
    block: &[u8],
    mut acc: [i32; ROW_BLOCK],
) -> [i32; ROW_BLOCK] {
    for (x, group) in pixels
        .chunks_exact(GROUP)
        .zip(block.chunks_exact(ROW_BLOCK * GROUP))
    {
        for (a, w) in acc.iter_mut().zip(group.chunks_exact(GROUP)) {
            *a += dot(x, w);
        }
    }
    acc
}

/// [`block_dot`] for a layout-2 block: int16 weights, each unit's group stored in the order
/// (w0, w2, w1, w3).
#[cfg(mf_layout2)]
#[inline]
pub(super) fn block_dot16(
    pixels: &[u8; INPUT],
    block: &[u8],
    mut acc: [i32; ROW_BLOCK],
) -> [i32; ROW_BLOCK] {
    for (x, group) in pixels
        .chunks_exact(GROUP)
        .zip(block.chunks_exact(ROW_BLOCK * GROUP * 2))
    {
        let &[x0, x1, x2, x3] = x else { continue };
        let xs = [x0, x2, x1, x3];
        for (a, w) in acc.iter_mut().zip(group.chunks_exact(GROUP * 2)) {
            *a += xs
                .iter()
                .zip(w.chunks_exact(2))
                .map(|(&x, w)| i32::from(x) * i32::from(i16::from_le_bytes([w[0], w[1]])))
                .sum::<i32>();
        }
    }
    acc
}
