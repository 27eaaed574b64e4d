//! Random affine distortions of 28x28 digits (rotation, scale, shift), the
//! augmentation that lifts a single hidden layer past 99 % on MNIST.
//!
//! Works on images in the trainer's preprocessed form (`pixel/255 - mean`):
//! the warp is done on the intensity `x + mean`, with 0 (black) outside the
//! frame, and the mean subtracted again.

use rand::{Rng, RngCore};
use serde::{Deserialize, Serialize};

use crate::mnist::{COLS, PIXELS, ROWS};

#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq)]
pub struct Affine {
    /// Largest rotation either way, degrees.
    pub max_rotation_deg: f64,
    /// Largest relative scale change either way (0.1 = 90 %..110 %).
    pub max_scale: f64,
    /// Largest shift either way along each axis, pixels.
    pub max_shift_px: f64,
}

/// The inverse map of one random draw: output pixel -> source position.
struct Warp {
    a: f32,
    b: f32,
    c: f32,
    d: f32,
    tx: f32,
    ty: f32,
}

impl Affine {
    fn draw(&self, rng: &mut impl RngCore) -> Warp {
        let mut sym = |m: f64| {
            if m > 0.0 {
                rng.random_range(-m..=m)
            } else {
                0.0
            }
        };
        let theta = sym(self.max_rotation_deg).to_radians();
        let scale = 1.0 + sym(self.max_scale);
        let (dx, dy) = (sym(self.max_shift_px), sym(self.max_shift_px));
        // source = R(-theta) / scale * (out - centre - shift) + centre
        let (s, c) = theta.sin_cos();
        let centre_x = (COLS as f64 - 1.0) / 2.0;
        let centre_y = (ROWS as f64 - 1.0) / 2.0;
        let (a, b, cc, d) = (c / scale, s / scale, -s / scale, c / scale);
        let (ox, oy) = (-centre_x - dx, -centre_y - dy);
        Warp {
            a: a as f32,
            b: b as f32,
            c: cc as f32,
            d: d as f32,
            tx: (a * ox + b * oy + centre_x) as f32,
            ty: (cc * ox + d * oy + centre_y) as f32,
        }
    }

    /// Distort one preprocessed image in place.
    pub fn apply(&self, image: &mut [f32], mean: &[f32], rng: &mut impl RngCore) {
        debug_assert_eq!(image.len(), PIXELS);
        let w = self.draw(rng);
        let mut src = [0f32; PIXELS];
        for ((s, &x), &m) in src.iter_mut().zip(image.iter()).zip(mean) {
            *s = x + m;
        }
        let at = |x: isize, y: isize| -> f32 {
            if (0..COLS as isize).contains(&x) && (0..ROWS as isize).contains(&y) {
                src[y as usize * COLS + x as usize]
            } else {
                0.0
            }
        };
        for oy in 0..ROWS {
            for ox in 0..COLS {
                let (fx, fy) = (ox as f32, oy as f32);
                let sx = w.a * fx + w.b * fy + w.tx;
                let sy = w.c * fx + w.d * fy + w.ty;
                let (x0, y0) = (sx.floor(), sy.floor());
                let (wx, wy) = (sx - x0, sy - y0);
                let (x0, y0) = (x0 as isize, y0 as isize);
                let v = (1.0 - wy) * ((1.0 - wx) * at(x0, y0) + wx * at(x0 + 1, y0))
                    + wy * ((1.0 - wx) * at(x0, y0 + 1) + wx * at(x0 + 1, y0 + 1));
                let i = oy * COLS + ox;
                image[i] = v - mean[i];
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn square() -> Vec<f32> {
        // A bright 6x6 square in the middle, zero mean for simplicity.
        (0..PIXELS)
            .map(|i| {
                if (11..17).contains(&(i / 28)) && (11..17).contains(&(i % 28)) {
                    1.0
                } else {
                    0.0
                }
            })
            .collect()
    }

    #[test]
    fn zero_distortion_is_the_identity() {
        let none = Affine {
            max_rotation_deg: 0.0,
            max_scale: 0.0,
            max_shift_px: 0.0,
        };
        let mean: Vec<f32> = (0..PIXELS).map(|i| (i % 7) as f32 * 0.01).collect();
        let orig: Vec<f32> = square().iter().zip(&mean).map(|(x, m)| x - m).collect();
        let mut img = orig.clone();
        none.apply(&mut img, &mean, &mut rand::rngs::SmallRng::seed_from_u64(1));
        for (a, b) in img.iter().zip(&orig) {
            assert!((a - b).abs() < 1e-5);
        }
    }

    #[test]
    fn distortions_stay_within_bounds() {
        let aff = Affine {
            max_rotation_deg: 10.0,
            max_scale: 0.1,
            max_shift_px: 2.0,
        };
        let mean = vec![0f32; PIXELS];
        let mut rng = rand::rngs::SmallRng::seed_from_u64(7);
        for _ in 0..200 {
            let mut img = square();
            aff.apply(&mut img, &mean, &mut rng);
            // Intensities stay in [0, 1]; the mass stays within what a 6x6
            // square scaled by at most 1.1 can cover; the centre moves <= 2 px per axis.
            assert!(img.iter().all(|&v| (-1e-6..=1.0 + 1e-6).contains(&v)));
            let mass: f32 = img.iter().sum();
            assert!(
                (36.0 * 0.9 * 0.9 - 1.0..=36.0 * 1.1 * 1.1 + 1.0).contains(&mass),
                "{mass}"
            );
            let cx: f32 = img
                .iter()
                .enumerate()
                .map(|(i, v)| (i % 28) as f32 * v)
                .sum::<f32>()
                / mass;
            let cy: f32 = img
                .iter()
                .enumerate()
                .map(|(i, v)| (i / 28) as f32 * v)
                .sum::<f32>()
                / mass;
            assert!(
                (cx - 13.5).abs() <= 2.05 && (cy - 13.5).abs() <= 2.05,
                "centre {cx},{cy}"
            );
        }
    }
}
