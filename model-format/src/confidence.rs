//! The confidence of a prediction: the softmax probability of its class, computed from the
//! integer logits in `f32` with libm's `expf`.
//!
//! Host and firmware call this one function, and every step is an IEEE-754 single-precision
//! operation (correctly rounded on an FPU and in the soft-float routines alike; Rust never
//! fuses a multiply and an add) or libm's software `expf` (the same code on every target), so
//! the chip and the host get the same `f32` bits. `model-format/PROTOCOL.md` spells the
//! steps out for clients in other languages.

use libm::expf;

/// Softmax probability of the largest logit after scaling by `logit_scale` (the float value
/// of one logit unit, [`crate::Model::logit_scale`]): `1 / Σ_j exp((l_j - max) * scale)`.
///
/// Exactly, in this order: `m` = the largest logit; for each logit `l_j` in index order,
/// `d = (l_j - m)` computed exactly (it may exceed i32) and rounded to `f32`, `t = expf(d * scale)` (the
/// product rounded to `f32`), `sum += t` (in `f32`, starting from `0.0`); the result is
/// `1.0 / sum`. The largest logit contributes exactly 1, so `sum` is in `1..=n` and the
/// result in `1/n..=1`. Subtracting the maximum first keeps `expf` from overflowing whatever
/// the logits. Returns 0 for no logits; a non-finite `logit_scale` (which a decoded model
/// never has) gives NaN, never a panic.
///
/// Never inlined: the firmware calls it from its server and its `check` mode, and one copy
/// (~750 B of Cortex-M4 code with `expf`) is enough.
#[inline(never)]
pub fn top_probability(logits: &[i32], logit_scale: f32) -> f32 {
    let Some(&max) = logits.iter().max() else {
        return 0.0;
    };
    let mut sum = 0.0f32;
    for &l in logits {
        // l - max, exact as a u32 magnitude (max >= l), rounded to f32 (to nearest, even on
        // ties) and negated: the same bits as rounding the negative difference, since that
        // rounding is symmetric, but a single VCVT on the M4 instead of a soft i64 -> f32.
        let d = -(max.abs_diff(l) as f32);
        sum += expf(d * logit_scale);
    }
    1.0 / sum
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_logits_share_the_probability() {
        assert_eq!(top_probability(&[7; 10], 0.5), 0.1);
        assert_eq!(top_probability(&[-3; 4], 0.01), 0.25);
        assert_eq!(top_probability(&[123], 0.01), 1.0);
    }

    #[test]
    fn matches_a_double_precision_softmax() {
        let logits = [120, -40, 300, 299, 0, -1_000, 5, 77, 300 - 64, 18];
        let scale = 0.0123f32;
        let max = 300.0f64;
        let sum: f64 = logits
            .iter()
            .map(|&l| ((f64::from(l) - max) * f64::from(scale)).exp())
            .sum();
        let got = f64::from(top_probability(&logits, scale));
        assert!((got - 1.0 / sum).abs() < 1e-6, "{got} vs {}", 1.0 / sum);
    }

    #[test]
    fn extreme_logits_neither_overflow_nor_panic() {
        let p = top_probability(&[i32::MIN, i32::MAX, 0], f32::MAX);
        assert_eq!(p, 1.0);
        let p = top_probability(&[i32::MAX, i32::MAX - 1], 1e-30);
        assert_eq!(p, 0.5);
        assert_eq!(top_probability(&[], 1.0), 0.0);
        assert!(top_probability(&[1, 2], f32::NAN).is_nan());
        assert!(top_probability(&[1, 2], f32::INFINITY).is_nan());
    }

    /// The negated u32 magnitude rounds like the i64 difference it stands for.
    #[test]
    fn the_difference_rounds_as_the_exact_i64_would() {
        let mut state = 0x9e37_79b9_u32;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state as i32
        };
        for _ in 0..100_000 {
            let (a, b) = (next(), next() >> (next() & 31));
            let (max, l) = (a.max(b), a.min(b));
            let exact = (i64::from(l) - i64::from(max)) as f32;
            assert_eq!((-(max.abs_diff(l) as f32)).to_bits(), exact.to_bits());
        }
    }

    /// Pins the bits: a change in libm, in the order of the sum or in the rounding steps
    /// would break the host/device agreement that the protocol's `confidence` relies on.
    #[test]
    fn bits_are_stable() {
        let logits = [-1_210, 310, 2_745, -56, 891, 12, -3_300, 1_999, 404, 2_700];
        let got = top_probability(&logits, 0.003_17);
        assert_eq!(
            got.to_bits(),
            0x3f02_4484,
            "{got} = {:#010x}",
            got.to_bits()
        );
    }
}
