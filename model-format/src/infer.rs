//! The integer forward pass (`FORMAT.md`, "Inference"). No float, no heap, no panics:
//! a fixed `[u8; MAX_HIDDEN]` scratch on the stack and i32/i64 arithmetic that the decode-time
//! range checks keep exact (nothing overflows, nothing wraps).

use crate::file::le_i32s;
use crate::{Model, INPUT, MAX_CLASSES, MAX_HIDDEN};

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

impl Prediction {
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
    let rounded = (product + (1i64 << (shift - 1))) >> shift;
    rounded.clamp(0, 255) as u8
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
        let mut scratch = [0u8; MAX_HIDDEN];

        // Layer 1: one contiguous 784-byte weight row per hidden unit (layout 0).
        let params = le_i32s(self.b1).zip(le_i32s(self.multiplier).zip(self.shift));
        for ((h, row), (bias, (mult, &shift))) in scratch
            .iter_mut()
            .zip(self.w1.chunks_exact(INPUT))
            .zip(params)
        {
            *h = requantize(bias + dot(pixels, row), mult, shift);
        }
        let hidden = scratch.get(..hidden_len).unwrap_or(&scratch);

        // Layer 2: one per-tensor scale, so logits of all classes are directly comparable.
        let mut logits = [0i32; MAX_CLASSES];
        for ((logit, row), bias) in logits
            .iter_mut()
            .zip(self.w2.chunks_exact(hidden_len.max(1)))
            .zip(le_i32s(self.b2))
        {
            *logit = bias + dot(hidden, row);
        }

        let classes = self.dims.classes.min(MAX_CLASSES);
        let valid = logits.get(..classes).unwrap_or(&logits);
        // Strictly greater replaces: ties go to the lowest index.
        let (mut class, mut best) = (0usize, i32::MIN);
        for (k, &l) in valid.iter().enumerate() {
            if k == 0 || l > best {
                (class, best) = (k, l);
            }
        }
        Prediction {
            class: class as u8,
            classes: classes as u8,
            logits,
        }
    }
}
