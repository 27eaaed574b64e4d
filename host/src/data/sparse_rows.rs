//! Images as compressed sparse rows of `pixel / 255`.

use crate::real::Real;

/// Images as sparse rows of `pixel / 255` (compressed sparse rows: per
/// image the positions and values of its nonzero pixels, in pixel order).
#[derive(Clone, Debug, PartialEq)]
pub struct SparseRows<T> {
    /// `starts[i]..starts[i + 1]` indexes row `i`'s entries.
    starts: Vec<usize>,
    cols: Vec<u16>,
    vals: Vec<T>,
    width: usize,
}

impl<T: Real> SparseRows<T> {
    /// Rows of `width` raw 0..=255 pixels.
    pub fn from_pixels(images: &[u8], width: usize) -> Self {
        assert!(
            width > 0 && width <= usize::from(u16::MAX) + 1,
            "row width {width} out of range"
        );
        assert_eq!(images.len() % width, 0, "a partial image");
        let nonzero = images.iter().filter(|&&p| p != 0).count();
        let mut rows = Self {
            starts: Vec::with_capacity(images.len() / width + 1),
            cols: Vec::with_capacity(nonzero),
            vals: Vec::with_capacity(nonzero),
            width,
        };
        rows.starts.push(0);
        for img in images.chunks_exact(width) {
            for (k, &p) in img.iter().enumerate().filter(|(_, &p)| p != 0) {
                rows.cols.push(k as u16);
                // The dense path computes p / 255 in f32; do the same so the
                // two differ only by the regrouping of sums.
                rows.vals.push(From::from(f32::from(p) / 255.0));
            }
            rows.starts.push(rows.cols.len());
        }
        rows
    }

    pub fn len(&self) -> usize {
        self.starts.len() - 1
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn width(&self) -> usize {
        self.width
    }

    /// Positions and values of row `i`'s nonzero entries.
    pub fn row(&self, i: usize) -> (&[u16], &[T]) {
        let r = self.starts[i]..self.starts[i + 1];
        (&self.cols[r.clone()], &self.vals[r])
    }

    /// Asks the CPU to start loading row `i` (a hint: a no-op where there
    /// is no prefetch instruction). A batch's rows come from anywhere in
    /// the training set (50 MB for MNIST), mostly from memory.
    #[inline(always)]
    pub fn prefetch(&self, i: usize) {
        #[cfg(target_arch = "x86_64")]
        {
            use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
            let (cols, vals) = self.row(i);
            let cols = cols.chunks(32).map(|line| line.as_ptr().cast::<i8>());
            let vals = vals
                .chunks(64 / size_of::<T>())
                .map(|line| line.as_ptr().cast());
            for line in cols.chain(vals) {
                // SAFETY: SSE is part of x86_64, and a prefetch neither
                // faults nor changes memory.
                unsafe { _mm_prefetch::<_MM_HINT_T0>(line) };
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = i;
    }

    /// Fraction of entries that are nonzero.
    pub fn density(&self) -> f64 {
        self.cols.len() as f64 / (self.len() * self.width).max(1) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_hold_the_nonzero_pixels() {
        let rows = SparseRows::<f32>::from_pixels(&[0, 255, 0, 51, 0, 0, 0, 0], 4);
        assert_eq!(rows.len(), 2);
        assert_eq!(rows.row(0), (&[1u16, 3][..], &[1.0f32, 0.2][..]));
        assert_eq!(rows.row(1), (&[][..], &[][..]));
        assert_eq!(rows.density(), 0.25);
    }
}
