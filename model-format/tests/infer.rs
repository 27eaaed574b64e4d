//! The integer forward pass against a straightforward reference written from FORMAT.md
//! with i64 arithmetic and explicit floor division (no shifts, no i32 accumulators).

mod common;

use common::{arb_params, arb_pixels, small_params};
use model_format::{requantize, Dims, Model, ModelParams, INPUT, MAX_BIAS_ABS, MAX_HIDDEN};
use proptest::prelude::*;

/// Returns (hidden activations, logits, class) as FORMAT.md defines them.
fn reference(p: &ModelParams, px: &[u8; INPUT]) -> (Vec<i64>, Vec<i64>, usize) {
    let Dims {
        hidden, classes, ..
    } = p.dims;
    let mut h = vec![0i64; hidden];
    for (j, hj) in h.iter_mut().enumerate() {
        let mut acc = i64::from(p.b1[j]);
        for (i, &x) in px.iter().enumerate() {
            acc += i64::from(p.w1[j * INPUT + i]) * i64::from(x);
        }
        // Round half up: floor((acc * m + 2^(s-1)) / 2^s), then clamp to 0..=255.
        let s = 1i64 << p.shift[j];
        let r = (acc * i64::from(p.multiplier[j]) + s / 2).div_euclid(s);
        *hj = r.clamp(0, 255);
    }
    let logits: Vec<i64> = (0..classes)
        .map(|k| {
            i64::from(p.b2[k])
                + (0..hidden)
                    .map(|j| i64::from(p.w2[k * hidden + j]) * h[j])
                    .sum::<i64>()
        })
        .collect();
    let max = *logits.iter().max().unwrap();
    let class = logits.iter().position(|&l| l == max).unwrap();
    (h, logits, class)
}

/// Both layouts (0: hidden-major, 1: SMLAD blocks) against the reference.
fn check(p: &ModelParams, px: &[u8; INPUT]) -> Result<(), TestCaseError> {
    let (_, logits, class) = reference(p, px);
    for layout in [
        model_format::Layout::HiddenMajor,
        model_format::Layout::Smlad,
    ] {
        let bytes = p.encode_with_layout(layout).unwrap();
        let got = Model::from_bytes(&bytes).unwrap().infer(px);
        let got_logits: Vec<i64> = got.logits().iter().map(|&l| i64::from(l)).collect();
        prop_assert_eq!(got_logits, logits.clone(), "layout {}", layout);
        prop_assert_eq!(usize::from(got.class), class, "layout {}", layout);
    }
    Ok(())
}

proptest! {
    #[test]
    fn infer_matches_the_reference(params in arb_params(), px in arb_pixels()) {
        check(&params, &px)?;
    }

    #[test]
    fn requantize_is_round_half_up_then_clamp(acc in any::<i32>(), m in 0..=i32::MAX, s in 1u8..=62) {
        let d = 1i128 << s;
        let want = ((i128::from(acc) * i128::from(m) + d / 2).div_euclid(d)).clamp(0, 255) as u8;
        prop_assert_eq!(requantize(acc, m, s), want);
    }
}

/// The rounding and the clamp edge, for every shift that fits: products at the half-way
/// points (2k + 1) * 2^(s-1) for k near 255 (where 255 turns into the clamp), one unit of
/// the multiplier either side (m = 2^(s-1)), and one unit of the product either side (m = 1).
#[test]
fn requantize_is_exact_at_every_half_way_point_and_the_clamp() {
    let reference = |acc: i32, m: i32, s: u8| {
        let d = 1i128 << s;
        ((i128::from(acc) * i128::from(m) + d / 2).div_euclid(d)).clamp(0, 255) as u8
    };
    for s in 1u8..=62 {
        let half = 1i128 << (s - 1);
        for k in 250i128..=258 {
            for delta in [-1i128, 0, 1] {
                let cases = [(2 * k + 1 + delta, half), ((2 * k + 1) * half + delta, 1)];
                for (acc, m) in cases {
                    if let (Ok(acc), Ok(m)) = (i32::try_from(acc), i32::try_from(m)) {
                        assert_eq!(requantize(acc, m, s), reference(acc, m, s), "{acc} {m} {s}");
                    }
                }
            }
        }
    }
}

#[test]
fn requantize_rounding_examples() {
    // multiplier 1, shift 1: acc / 2 rounded half up.
    assert_eq!(requantize(1, 1, 1), 1); // 0.5 -> 1
    assert_eq!(requantize(3, 1, 1), 2); // 1.5 -> 2
    assert_eq!(requantize(-1, 1, 1), 0); // -0.5 -> 0 (and ReLU)
    assert_eq!(requantize(511, 1, 1), 255); // 255.5 -> 256 -> clamped
    assert_eq!(requantize(509, 1, 1), 255); // 254.5 -> 255
    assert_eq!(requantize(i32::MAX, i32::MAX, 1), 255);
    assert_eq!(requantize(i32::MIN, i32::MAX, 62), 0);
}

/// The extreme model the range checks allow: largest dims, weights and pixels at the int8/u8
/// limits, biases at +-2^30, multipliers at i32::MAX. In this (debug, overflow-checked) build
/// any i32/i64 overflow in the kernel would panic.
#[test]
fn largest_values_do_not_overflow() {
    for (w, bias, shift) in [
        (-128i8, -MAX_BIAS_ABS, 1u8),
        (127, MAX_BIAS_ABS, 1),
        (-128, MAX_BIAS_ABS, 62),
        (127, -MAX_BIAS_ABS, 62),
    ] {
        let mut p = small_params(MAX_HIDDEN, 16);
        p.w1.fill(w);
        p.w2.fill(w);
        p.b1.fill(bias);
        p.b2.fill(bias);
        p.multiplier.fill(i32::MAX);
        p.shift.fill(shift);
        check(&p, &[255; INPUT]).unwrap();
        check(&p, &[0; INPUT]).unwrap();
    }
}

#[test]
fn ties_go_to_the_lowest_class() {
    let mut p = small_params(3, 5);
    p.w2.fill(0);
    p.b2 = vec![1, 7, 3, 7, 7];
    let bytes = p.encode().unwrap();
    let pred = Model::from_bytes(&bytes).unwrap().infer(&[9; INPUT]);
    assert_eq!(pred.logits(), &[1, 7, 3, 7, 7]);
    assert_eq!(pred.class, 1);
}

#[test]
fn a_deterministic_small_model_matches_the_reference() {
    let p = small_params(16, 10);
    let px: [u8; INPUT] = core::array::from_fn(|i| ((i * 7) % 256) as u8);
    check(&p, &px).unwrap();
    // The check has teeth: activations strictly inside 0..255 exist, so rounding matters.
    let (h, _, _) = reference(&p, &px);
    assert!(
        h.iter().filter(|&&v| v > 0 && v < 255).count() >= 4,
        "{h:?}"
    );
}
