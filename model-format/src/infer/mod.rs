//! The integer forward pass (`FORMAT.md`, "Inference"). No float, no heap, no panics:
//! a fixed `[u8; MAX_HIDDEN]` scratch on the stack (only its first `hidden` bytes touched)
//! and i32/i64 arithmetic that the decode-time range checks keep exact (nothing overflows,
//! nothing wraps).

//!
//! Layer 1 of the blocked layouts is the hot loop; it has one kernel per core family, in a
//! file of its own, chosen at compile time by `cfg(mf_kernel = "...")` (see `build.rs`):
//!
//! | `mf_kernel` | targets | layer-1 inner loop (layout 1) |
//! | --- | --- | --- |
//! | `dsp` | thumbv7em (M4, M7), thumbv8m.main (M33) | SXTB16 + SMLAD ([`dsp`]) |
//! | `armv7m` | thumbv7m (M3) | LDM of the widened input, LDRSB + MLA per weight ([`armv7m`]) |
//! | `armv6m` | thumbv6m, thumbv8m.base (M0, M0+, M23) | LDRSB + MULS + ADD per weight ([`armv6m`]) |
//! | `riscv32` | riscv32 with M | two blocks per pass, LB + MUL + ADD per weight ([`riscv32`]) |
//! | `portable` | everything else (the host) | plain Rust ([`portable`]), the reference |
//!
//! Layout 0 runs the portable row loop everywhere, and layout 2 (an SMLAD format) the
//! portable kernel everywhere but on `dsp`.

use crate::file::le_i32s;
use crate::{Model, INPUT, MAX_CLASSES, MAX_HIDDEN, ROW_BLOCK};

mod portable;

#[cfg(test)]
mod kernel_models;

#[cfg(mf_kernel = "armv6m")]
mod armv6m;
#[cfg(mf_kernel = "armv7m")]
mod armv7m;
#[cfg(mf_kernel = "dsp")]
mod dsp;
#[cfg(mf_kernel = "riscv32")]
mod riscv32;

#[cfg(mf_kernel = "armv6m")]
use armv6m as kernel;
#[cfg(mf_kernel = "armv7m")]
use armv7m as kernel;
#[cfg(mf_kernel = "dsp")]
use dsp as kernel;
#[cfg(not(any(
    mf_kernel = "armv6m",
    mf_kernel = "armv7m",
    mf_kernel = "dsp",
    mf_kernel = "riscv32"
)))]
use portable as kernel;
#[cfg(mf_kernel = "riscv32")]
use riscv32 as kernel;

// Layer 2 (hidden x classes, ~1 % of the MACs of 784-128-10, but 6,000 of the M4's
// instructions in plain Rust) has a kernel of its own only where SMLAD pays.
#[cfg(mf_kernel = "dsp")]
use dsp::layer2;
#[cfg(not(mf_kernel = "dsp"))]
use portable::layer2;

/// The result of one inference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Prediction {
    /// Index of the largest logit (the lowest index among equal maxima).
    pub class: u8,
    /// Number of valid entries in `logits`.
    pub classes: u8,
    /// Integer logits; entries at and beyond `classes` are 0.
    pub logits: [i32; MAX_CLASSES],
}

/// Index of the largest value, ties going to the lowest index (as numpy's argmax); 0 for
/// no values. The one argmax of the workspace: integer logits here, float scores on the host.
pub fn argmax<T: PartialOrd + Copy>(values: impl IntoIterator<Item = T>) -> usize {
    let mut best: Option<(usize, T)> = None;
    for (i, v) in values.into_iter().enumerate() {
        // Strictly greater replaces: ties go to the lowest index.
        if best.is_none_or(|(_, b)| v > b) {
            best = Some((i, v));
        }
    }
    best.map_or(0, |(i, _)| i)
}

impl Prediction {
    /// The prediction for `logits`, of which the first `classes` (clamped to
    /// 1..=MAX_CLASSES) are valid: the rest are zeroed, and the class is the index of the
    /// largest valid logit, ties going to the lowest index. Every forward pass (this crate's
    /// and the host's batched engine) ends here, so they classify alike.
    pub fn from_logits(mut logits: [i32; MAX_CLASSES], classes: usize) -> Self {
        let classes = classes.clamp(1, MAX_CLASSES);
        logits.iter_mut().skip(classes).for_each(|l| *l = 0);
        let class = argmax(logits.iter().take(classes).copied());
        Prediction {
            class: class as u8,
            classes: classes as u8,
            logits,
        }
    }

    /// The first `classes` logits.
    pub fn logits(&self) -> &[i32] {
        self.logits
            .get(..usize::from(self.classes))
            .unwrap_or(&self.logits)
    }
}

/// Fixed-point requantisation of one hidden accumulator to an unsigned 8-bit activation:
/// `clamp((acc * multiplier + 2^(shift-1)) >> shift, 0, 255)` in i64 with an arithmetic
/// (flooring) shift, i.e. round half up. The clamp at 0 is the ReLU. `shift` is clamped to
/// 1..=62 (decoded models always satisfy that).
#[inline]
pub fn requantize(acc: i32, multiplier: i32, shift: u8) -> u8 {
    let shift = u32::from(shift.clamp(*crate::SHIFT_RANGE.start(), *crate::SHIFT_RANGE.end()));
    // |acc * multiplier| < 2^62 and the rounding term is <= 2^61: no i64 overflow.
    let product = i64::from(acc) * i64::from(multiplier);
    // ReLU early: product <= 0 gives product + 2^(shift-1) < 2^shift, which floors to <= 0
    // and clamps to 0. (Same result as below, about half the work skipped on the chip.)
    if product <= 0 {
        return 0;
    }
    // Positive from here, so the unsigned shift equals the arithmetic one. With
    // q = floor(product / 2^(shift-1)), floor((product + 2^(shift-1)) / 2^shift) equals
    // floor((q + 1) / 2), which is above 255 exactly when q > 510: one 64-bit shift and no
    // 64-bit add (measured on the M4: ~20 instructions a unit fewer than shifting the sum).
    let q = (product as u64) >> (shift - 1);
    if q > 510 {
        255
    } else {
        ((q as u32 + 1) >> 1) as u8
    }
}

/// Sum of `x[i] * w[i]` (u8 activations times int8 weights) over the common length.
/// Bounded by 1024 * 255 * 128 < 2^25 for any slice a decoded model passes in.
#[inline]
fn dot(x: &[u8], w: &[u8]) -> i32 {
    x.iter()
        .zip(w)
        .map(|(&x, &w)| i32::from(x) * i32::from(w as i8))
        .sum()
}

impl Model<'_> {
    /// Classify one image of raw 0..=255 pixels (the mean-image subtraction and the /255 are
    /// folded into the layer-1 weights and biases). Integer only, no heap, cannot panic.
    pub fn infer(&self, pixels: &[u8; INPUT]) -> Prediction {
        let hidden_len = self.dims.hidden.min(MAX_HIDDEN);
        let mut scratch = core::mem::MaybeUninit::<Scratch>::uninit();
        let scratch = scratch_for(&mut scratch, hidden_len);

        // Layer 1 into the scratch, by the kernel for the stored layout.
        if self.layout.is_blocked() {
            self.layer1_blocks(pixels, scratch);
        } else {
            self.layer1_rows(pixels, scratch);
        }
        let hidden = scratch.get(..hidden_len).unwrap_or(&[]);

        // Layer 2: one per-tensor scale, so logits of all classes are directly comparable.
        let mut logits = [0i32; MAX_CLASSES];
        for (logit, bias) in logits.iter_mut().zip(le_i32s(self.b2)) {
            *logit = bias;
        }
        let classes = self.dims.classes.min(MAX_CLASSES);
        layer2(
            hidden,
            self.w2,
            logits.get_mut(..classes).unwrap_or(&mut []),
        );

        Prediction::from_logits(logits, self.dims.classes)
    }
}

impl Model<'_> {
    /// Layer 1, layout 0: one contiguous 784-byte weight row per hidden unit.
    fn layer1_rows(&self, pixels: &[u8; INPUT], scratch: &mut [u8]) {
        let params = le_i32s(self.b1).zip(le_i32s(self.multiplier).zip(self.shift));
        for ((h, row), (bias, (mult, &shift))) in scratch
            .iter_mut()
            .zip(self.w1.chunks_exact(INPUT))
            .zip(params)
        {
            *h = requantize(bias + dot(pixels, row), mult, shift);
        }
    }

    /// Layer 1, layouts 1 and 2: four hidden units per pass over the input, by the kernel
    /// family this target was built with (`kernel`). Integer sums are exact (no overflow, see
    /// `FORMAT.md`), so the order of additions cannot change the result: every kernel gives
    /// the bits of [`portable`].
    fn layer1_blocks(&self, pixels: &[u8; INPUT], scratch: &mut [u8]) {
        let mut io = Blocks {
            b1: self.b1,
            multiplier: self.multiplier,
            shift: self.shift,
            hidden: scratch,
            next_init: 0,
            next_store: 0,
        };
        // One loop per layout: a layout test inside the loop would cost instructions on every
        // group. Without `cfg(mf_layout2)` (bare metal without the feature `layout-smlad16`)
        // the decoder rejects layout 2, so only the layout-1 kernel is compiled in.
        #[cfg(mf_layout2)]
        if self.layout == crate::Layout::Smlad16 {
            kernel::layer1_smlad16(pixels, self.w1, &mut io);
            return;
        }
        kernel::layer1_smlad(pixels, self.w1, &mut io);
    }
}

/// The hidden activations, word-aligned so a kernel may load them 4 at a time.
#[repr(C, align(4))]
struct Scratch([u8; MAX_HIDDEN]);

/// The first `hidden` bytes of `scratch` rounded up to whole blocks of 4, zeroed: the only
/// part an inference touches. Zeroing all 1,024 bytes cost the M4 ~690 instructions per
/// inference (a memclr), 128 of them ~40.
#[inline(always)]
fn scratch_for(scratch: &mut core::mem::MaybeUninit<Scratch>, hidden: usize) -> &mut [u8] {
    let len = hidden.next_multiple_of(ROW_BLOCK).min(MAX_HIDDEN);
    let start = scratch.as_mut_ptr().cast::<u8>();
    // SAFETY: `len` <= MAX_HIDDEN, the size of `Scratch`: the zeroed bytes are inside it,
    // initialised by this write, and borrowed for as long as `scratch` is (u8 has no invalid
    // values and no alignment need); the rest of it is never read.
    unsafe {
        start.write_bytes(0, len);
        core::slice::from_raw_parts_mut(start, len)
    }
}

/// What a layer-1 kernel needs besides the pixels and the weights: each block's starting
/// accumulators (the biases) and where its 4 results go (requantised into the hidden
/// activations). Kernels call [`BlockIo::init`] and [`BlockIo::store`] once per block, in
/// block order; a kernel working on two blocks at once may take both `init`s first.
trait BlockIo {
    /// The next block's starting accumulators: its units' biases, 0 for padding units.
    fn init(&mut self) -> [i32; ROW_BLOCK];
    /// Requantise the next block's accumulators into the hidden activations.
    fn store(&mut self, acc: [i32; ROW_BLOCK]);
}

/// The [`BlockIo`] of [`Model::layer1_blocks`]: the parameter arrays as stored (little-endian
/// i32 bytes, no alignment) and the unit each next call starts at. Whole blocks take a path
/// of fixed-size arrays (no per-unit bounds or padding tests: on the M4 ~60 instructions a
/// block fewer than iterator chains); the last, partial block of a hidden size that is not a
/// multiple of 4 the per-unit path, padding units getting 0 and storing nothing.
struct Blocks<'m, 's> {
    b1: &'m [u8],
    multiplier: &'m [u8],
    shift: &'m [u8],
    hidden: &'s mut [u8],
    next_init: usize,
    next_store: usize,
}

/// Little-endian i32 `k` of `bytes`, 0 past the end.
#[inline(always)]
fn le_i32_at(bytes: &[u8], k: usize) -> i32 {
    bytes
        .get(4 * k..4 * k + 4)
        .and_then(|b| <[u8; 4]>::try_from(b).ok())
        .map_or(0, i32::from_le_bytes)
}

impl BlockIo for Blocks<'_, '_> {
    #[inline(always)]
    fn init(&mut self) -> [i32; ROW_BLOCK] {
        let u = self.next_init;
        self.next_init += ROW_BLOCK;
        if let Some(b) = self.b1.get(4 * u..4 * u + 16) {
            if let Ok(b) = <&[u8; 16]>::try_from(b) {
                return core::array::from_fn(|r| {
                    i32::from_le_bytes([b[4 * r], b[4 * r + 1], b[4 * r + 2], b[4 * r + 3]])
                });
            }
        }
        core::array::from_fn(|r| le_i32_at(self.b1, u + r))
    }

    #[inline(always)]
    fn store(&mut self, acc: [i32; ROW_BLOCK]) {
        let u = self.next_store;
        self.next_store += ROW_BLOCK;
        let whole = (
            self.multiplier.get(4 * u..4 * u + 16),
            self.shift.get(u..u + ROW_BLOCK),
            self.hidden.get_mut(u..u + ROW_BLOCK),
        );
        if let (Some(m), Some(sh), Some(h)) = whole {
            if let (Ok(m), Ok(sh), Ok(h)) = (
                <&[u8; 16]>::try_from(m),
                <&[u8; ROW_BLOCK]>::try_from(sh),
                <&mut [u8; ROW_BLOCK]>::try_from(h),
            ) {
                for r in 0..ROW_BLOCK {
                    let mult =
                        i32::from_le_bytes([m[4 * r], m[4 * r + 1], m[4 * r + 2], m[4 * r + 3]]);
                    h[r] = requantize(acc[r], mult, sh[r]);
                }
                return;
            }
        }
        for (r, &a) in acc.iter().enumerate() {
            if let (Some(&sh), Some(h)) = (self.shift.get(u + r), self.hidden.get_mut(u + r)) {
                *h = requantize(a, le_i32_at(self.multiplier, u + r), sh);
            }
        }
    }
}
