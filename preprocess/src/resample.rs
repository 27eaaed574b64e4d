//! Area-averaging (box filter) resampling of the ink box into the 20x20 box, keeping the aspect
//! ratio: every output pixel is the mean ink over the source area it covers, so a large drawing
//! shrinks anti-aliased, as MNIST's normalisation did, instead of dropping pixels.

use crate::ink::InkMap;
use crate::pixels::Image;
use crate::{floor, BOX};

/// The digit scaled into at most BOX x BOX, row-major in the first `width * height` entries.
#[derive(Debug, Clone)]
pub struct Scaled {
    pub pixels: [u8; BOX * BOX],
    pub width: usize,
    pub height: usize,
}

/// The side that fits `long` into BOX keeps BOX; the other side keeps the ratio (at least 1).
fn fitted(side: usize, long: usize) -> usize {
    // `side <= long`, so the result is in 1..=BOX.
    (floor(side as f64 * BOX as f64 / long as f64 + 0.5) as usize).clamp(1, BOX)
}

/// Resample the ink box of `image` into [`Scaled`], then stretch the contrast so the strongest
/// output pixel is 255 (thin strokes of a large drawing come out faint otherwise).
pub fn scale_into_box(image: &Image<'_>, ink: &InkMap) -> Scaled {
    let b = ink.ink_box;
    let long = b.width.max(b.height);
    let (tw, th) = (fitted(b.width, long), fitted(b.height, long));
    // Source pixels per output pixel along each axis.
    let (fx, fy) = (b.width as f64 / tw as f64, b.height as f64 / th as f64);
    let mut sums = [0.0f64; BOX * BOX];
    for (oy, row) in sums.chunks_exact_mut(BOX).take(th).enumerate() {
        let (ya, yb) = (oy as f64 * fy, (oy + 1) as f64 * fy);
        for iy in span(ya, yb, b.height) {
            let wy = overlap(ya, yb, iy);
            for (ox, sum) in row.iter_mut().take(tw).enumerate() {
                let (xa, xb) = (ox as f64 * fx, (ox + 1) as f64 * fx);
                for ix in span(xa, xb, b.width) {
                    let v = ink.value(image, b.x + ix, b.y + iy);
                    if v != 0 {
                        *sum += f64::from(v) * wy * overlap(xa, xb, ix);
                    }
                }
            }
        }
    }
    let area = fx * fy;
    let strongest = sums.iter().fold(0.0f64, |m, &s| m.max(s)) / area;
    let gain = if strongest > 0.0 {
        255.0 / strongest
    } else {
        0.0
    };
    let mut pixels = [0u8; BOX * BOX];
    for (p, s) in pixels.iter_mut().zip(sums) {
        // In 0..=255 by construction; the cast saturates anyway.
        *p = floor(s / area * gain + 0.5) as u8;
    }
    Scaled {
        pixels,
        width: tw,
        height: th,
    }
}

/// Source indices (within 0..len) that the interval [a, b) touches.
fn span(a: f64, b: f64, len: usize) -> core::ops::Range<usize> {
    let start = floor(a) as usize;
    let end = (floor(b) as usize + usize::from(b > floor(b) as f64)).min(len);
    start..end
}

/// Length of [a, b) inside source pixel [i, i + 1).
fn overlap(a: f64, b: f64, i: usize) -> f64 {
    let (lo, hi) = (i as f64, i as f64 + 1.0);
    (b.min(hi) - a.max(lo)).max(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fitted_keeps_the_ratio_and_never_collapses() {
        assert_eq!(fitted(300, 300), 20);
        assert_eq!(fitted(150, 300), 10);
        assert_eq!(fitted(1, 300), 1);
        assert_eq!(fitted(3, 7), 9);
    }

    #[test]
    fn spans_and_overlaps_cover_each_source_pixel_once() {
        assert_eq!(span(0.0, 2.5, 10), 0..3);
        assert_eq!(span(2.5, 5.0, 10), 2..5);
        assert_eq!(span(9.5, 10.0, 10), 9..10);
        let total: f64 = (0..7)
            .flat_map(|o| {
                let (a, b) = (o as f64 * 10.0 / 7.0, (o + 1) as f64 * 10.0 / 7.0);
                span(a, b, 10).map(move |i| overlap(a, b, i))
            })
            .sum();
        assert!((total - 10.0).abs() < 1e-9, "{total}");
    }
}
