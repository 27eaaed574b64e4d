//! Synthetic images of every input density, for the worst case of the chip's sparse kernels:
//! they skip zero pixels (or all-zero 4-pixel groups), so their cost grows with the count of
//! nonzero inputs, and switch to the dense loop past some count. `qemu-eval` runs these after
//! the test set and reports each one's instruction count; the largest is the worst case.

use model_format::INPUT;
use serde::Serialize;

use crate::rng::NumpyRng;

/// Pixels per aligned group (the kernels' unit of work: 4 pixels = one word).
const GROUP: usize = 4;

/// One synthetic image and what it is.
#[derive(Debug, Clone)]
pub struct SyntheticImage {
    pub name: String,
    pub pixels: Vec<u8>,
}

/// Counts that decide a sparse kernel's cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Density {
    /// Pixels that are not 0 (of 784).
    pub nonzero_pixels: usize,
    /// Aligned 4-pixel groups with any nonzero pixel (of 196).
    pub nonzero_groups: usize,
}

/// The density of one 784-pixel image.
pub fn density(pixels: &[u8]) -> Density {
    Density {
        nonzero_pixels: pixels.iter().filter(|&&p| p != 0).count(),
        nonzero_groups: pixels
            .chunks(GROUP)
            .filter(|g| g.iter().any(|&p| p != 0))
            .count(),
    }
}

/// The sweep: all 0; all 255; one nonzero pixel in every group (the most groups for the
/// fewest pixels); then k random nonzero pixels (values 1..=255, random places) for k = 8,
/// 16, ..., 776, a step fine enough to land near any kernel's switch-over count.
/// Deterministic (seeded), so runs compare.
pub fn sweep() -> Vec<SyntheticImage> {
    let mut rng = NumpyRng::new(14);
    let mut out = vec![
        SyntheticImage {
            name: "all 0".into(),
            pixels: vec![0; INPUT],
        },
        SyntheticImage {
            name: "all 255".into(),
            pixels: vec![255; INPUT],
        },
    ];
    let mut one_per_group = vec![0u8; INPUT];
    for g in one_per_group.chunks_mut(GROUP) {
        let lane = rng.randint(GROUP as u32) as usize;
        g[lane] = 1 + rng.randint(255) as u8;
    }
    out.push(SyntheticImage {
        name: "one pixel per group".into(),
        pixels: one_per_group,
    });
    for k in (8..INPUT).step_by(8) {
        let mut places: Vec<usize> = (0..INPUT).collect();
        // Fisher-Yates: the first k places are a uniform random k-subset.
        for i in 0..k {
            let j = i + rng.randint((INPUT - i) as u32) as usize;
            places.swap(i, j);
        }
        let mut pixels = vec![0u8; INPUT];
        for &p in &places[..k] {
            pixels[p] = 1 + rng.randint(255) as u8;
        }
        out.push(SyntheticImage {
            name: format!("{k} random pixels"),
            pixels,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sweep_covers_every_density_from_empty_to_full() {
        let s = sweep();
        let d: Vec<Density> = s.iter().map(|i| density(&i.pixels)).collect();
        assert_eq!(d[0].nonzero_pixels, 0);
        assert_eq!(d[1].nonzero_pixels, INPUT);
        assert_eq!(
            d[2],
            Density {
                nonzero_pixels: INPUT / GROUP,
                nonzero_groups: INPUT / GROUP
            }
        );
        for (k, img) in (8..INPUT).step_by(8).zip(&s[3..]) {
            assert_eq!(density(&img.pixels).nonzero_pixels, k, "{}", img.name);
        }
        assert_eq!(s.len(), 3 + INPUT / 8 - 1);
        assert!(s.iter().all(|i| i.pixels.len() == INPUT));
    }
}
