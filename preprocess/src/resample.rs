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

/// Strokes narrower than this (in output pixels) after the fit are thickened by a pixel on each
/// side. MNIST's strokes are 2 to 3 pixels wide (median 2.6 over its test set, by the measure
/// of [`InkMap::stroke_width`](crate::ink::InkMap::stroke_width)); a pen line in a photo or a large drawing shrinks to a faint
/// hairline that the net has rarely seen.
pub const THIN_STROKE: f64 = 1.5;

/// The side that fits `long` into `fit` keeps `fit`; the other side keeps the ratio (at
/// least 1).
fn fitted(side: usize, long: usize, fit: usize) -> usize {
    // `side <= long`, so the result is in 1..=fit.
    (floor(side as f64 * fit as f64 / long as f64 + 0.5) as usize).clamp(1, fit)
}

/// Resample the ink box of `image` into [`Scaled`], then stretch the contrast so the strongest
/// output pixel is 255 (thin strokes of a large drawing come out faint otherwise). Thin strokes
/// (see [`THIN_STROKE`]) are fitted into a box 2 pixels smaller and thickened back to it.
pub fn scale_into_box(image: &Image<'_>, ink: &InkMap) -> Scaled {
    let b = ink.ink_box;
    let long = b.width.max(b.height);
    let thin = ink.stroke_width * BOX as f64 / (long as f64) < THIN_STROKE;
    let fit = if thin { BOX - 2 } else { BOX };
    let (tw, th) = (fitted(b.width, long, fit), fitted(b.height, long, fit));
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
    let scaled = Scaled {
        pixels,
        width: tw,
        height: th,
    };
    if thin {
        thicken(&scaled)
    } else {
        scaled
    }
}

/// Widen every stroke by one pixel on each side, softly: each pixel becomes the mean of itself
/// and the brightest of its 3x3 neighbourhood, so a 1-pixel line of 255 turns into 128, 255,
/// 128 across. The digit grows by 2 in each direction (it was fitted 2 smaller for that).
fn thicken(s: &Scaled) -> Scaled {
    let (w, h) = (s.width + 2, s.height + 2);
    // Source pixel of output (x, y) is (x - 1, y - 1); `None` outside.
    let src = |x: usize, y: usize| -> u8 {
        match (x.checked_sub(1), y.checked_sub(1)) {
            (Some(sx), Some(sy)) if sx < s.width && sy < s.height => s.pixels[sy * BOX + sx],
            _ => 0,
        }
    };
    let mut pixels = [0u8; BOX * BOX];
    for y in 0..h {
        for x in 0..w {
            let mut brightest = 0u8;
            for ny in y.saturating_sub(1)..=y + 1 {
                for nx in x.saturating_sub(1)..=x + 1 {
                    brightest = brightest.max(src(nx, ny));
                }
            }
            // The mean of two u8 values (rounded up) fits.
            pixels[y * BOX + x] = (u16::from(brightest) + u16::from(src(x, y))).div_ceil(2) as u8;
        }
    }
    Scaled {
        pixels,
        width: w,
        height: h,
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
        assert_eq!(fitted(300, 300, BOX), 20);
        assert_eq!(fitted(150, 300, BOX), 10);
        assert_eq!(fitted(1, 300, BOX), 1);
        assert_eq!(fitted(3, 7, BOX), 9);
        assert_eq!(fitted(150, 300, BOX - 2), 9);
    }

    #[test]
    fn thicken_widens_a_hairline_softly() {
        let mut s = Scaled {
            pixels: [0; BOX * BOX],
            width: 3,
            height: 2,
        };
        s.pixels[1] = 255;
        s.pixels[BOX + 1] = 255;
        let t = thicken(&s);
        assert_eq!((t.width, t.height), (5, 4));
        let row = |y: usize| &t.pixels[y * BOX..y * BOX + 5];
        assert_eq!(row(0), [0, 128, 128, 128, 0]);
        assert_eq!(row(1), [0, 128, 255, 128, 0]);
        assert_eq!(row(3), [0, 128, 128, 128, 0]);
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
