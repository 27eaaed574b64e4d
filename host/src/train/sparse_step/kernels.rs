//! The loops of the sparse step: layer-1 sums and dW1 in register tiles,
//! and the elementwise passes around them.

use multiversion::multiversion;

use super::SparseRows;
use crate::real::Real;

/// `m ⊙ scale` for `m` rows `first..` (row-major, `h` wide) of a batch of
/// `n`, with `scale` column-major `n x h` (the layout of the dropout masks).
pub fn scale_rows<T: Real>(m: &mut [T], scale: &[T], n: usize, first: usize, h: usize) {
    for (r, row) in m.chunks_exact_mut(h).enumerate() {
        for (j, v) in row.iter_mut().enumerate() {
            *v *= scale[j * n + first + r];
        }
    }
}

/// Back through the ReLU: zero `dh` where the activation was not positive
/// (both `n x h` row-major).
#[multiversion(targets("x86_64+avx2+fma", "x86_64+avx", "aarch64+neon"))]
pub fn relu_backward<T: Real>(dh: &mut [T], hidden: &[T], h: usize) {
    for (d, &x) in dh.iter_mut().zip(hidden) {
        *d = if x > T::zero() { *d } else { T::zero() };
    }
    debug_assert_eq!(dh.len() % h, 0);
}

/// `sums = Σ_rows m` for `m` row-major with `sums.len()` columns.
#[multiversion(targets("x86_64+avx2+fma", "x86_64+avx", "aarch64+neon"))]
pub fn row_sums<T: Real>(sums: &mut [T], m: &[T]) {
    sums.fill(T::zero());
    for row in m.chunks_exact(sums.len()) {
        for (s, &v) in sums.iter_mut().zip(row) {
            *s += v;
        }
    }
}

/// `y += a x`
#[multiversion(targets("x86_64+avx2+fma", "x86_64+avx", "aarch64+neon"))]
pub fn axpy<T: Real>(y: &mut [T], a: T, x: &[T]) {
    for (y, &x) in y.iter_mut().zip(x) {
        *y += a * x;
    }
}

/// Hidden units per register tile: 96 f32 accumulators are 12 AVX registers,
/// so a tile's sums stay in registers while the pixels stream by. What is
/// left over goes in tiles of 8 (one register), then singles.
const TILE: usize = 96;
const SMALL_TILE: usize = 8;

/// `(first, width)` of the tiles covering `0..h`.
fn tiles(h: usize) -> impl Iterator<Item = (usize, usize)> {
    let big = h / TILE * TILE;
    let small = big + (h - big) / SMALL_TILE * SMALL_TILE;
    let big_tiles = (0..big).step_by(TILE).map(|f| (f, TILE));
    let small_tiles = (big..small).step_by(SMALL_TILE).map(|f| (f, SMALL_TILE));
    big_tiles
        .chain(small_tiles)
        .chain((small < h).then_some((small, h - small)))
}

/// `acc[j] += v * w[j]` for every `(k, v)`, where `w` is row `k` of
/// `weights` (rows `stride` apart) from column `first` on, for `acc` as
/// long as a tile: fixed sizes the compiler keeps in registers.
#[inline(always)]
fn accumulate<T: Real>(
    acc: &mut [T],
    cols: &[u16],
    vals: &[T],
    weights: &[T],
    stride: usize,
    first: usize,
) {
    match acc.len() {
        TILE => accumulate_fixed::<T, TILE>(acc, cols, vals, weights, stride, first),
        SMALL_TILE => accumulate_fixed::<T, SMALL_TILE>(acc, cols, vals, weights, stride, first),
        width => {
            for (&k, &v) in cols.iter().zip(vals) {
                let at = usize::from(k) * stride + first;
                for (a, &w) in acc.iter_mut().zip(&weights[at..at + width]) {
                    *a += v * w;
                }
            }
        }
    }
}

#[inline(always)]
fn accumulate_fixed<T: Real, const N: usize>(
    out: &mut [T],
    cols: &[u16],
    vals: &[T],
    weights: &[T],
    stride: usize,
    first: usize,
) {
    let out: &mut [T; N] = out.try_into().expect("tile width");
    let mut acc = *out;
    for (&k, &v) in cols.iter().zip(vals) {
        let at = usize::from(k) * stride + first;
        let w: &[T; N] = weights[at..at + N].try_into().expect("tile in bounds");
        for (a, &w) in acc.iter_mut().zip(w) {
            *a += v * w;
        }
    }
    *out = acc;
}

/// Layer-1 sums over the nonzero pixels of the images `idx`, one `h`-wide
/// row each in `out`.
#[multiversion(targets("x86_64+avx2+fma", "x86_64+avx", "aarch64+neon"))]
pub fn sparse_sums<T: Real>(
    out: &mut [T],
    idx: &[usize],
    rows: &SparseRows<T>,
    w1: &[T],
    h: usize,
) {
    // Tile-outer: one tile's W1 columns (784 x 96 f32 = 300 KB) stay in L2
    // for all the images, where image-outer pulls all of W1 (627 KB) through
    // per image.
    for (first, width) in tiles(h) {
        for (out, &i) in out.chunks_exact_mut(h).zip(idx) {
            let (cols, vals) = rows.row(i);
            let tile = &mut out[first..first + width];
            tile.fill(T::zero());
            accumulate(tile, cols, vals, w1, h, first);
        }
    }
}

/// `m[r] = max(m[r] + offset, 0)` for every `offset`-wide row of `m`.
#[multiversion(targets("x86_64+avx2+fma", "x86_64+avx", "aarch64+neon"))]
pub fn add_relu<T: Real>(m: &mut [T], offset: &[T]) {
    for row in m.chunks_exact_mut(offset.len()) {
        for (v, &o) in row.iter_mut().zip(offset) {
            *v = (*v + o).max(T::zero());
        }
    }
}

/// The batch's nonzero pixels grouped by pixel (compressed sparse
/// columns of the batch): for pixel `k`, which batch rows have it and with
/// what value.
pub struct ByPixel<T> {
    starts: Vec<usize>,
    batch_rows: Vec<u16>,
    vals: Vec<T>,
    /// Where each pixel's next entry goes, while sorting.
    next: Vec<usize>,
}

impl<T: Real> Default for ByPixel<T> {
    fn default() -> Self {
        Self {
            starts: Vec::new(),
            batch_rows: Vec::new(),
            vals: Vec::new(),
            next: Vec::new(),
        }
    }
}

impl<T: Real> ByPixel<T> {
    /// Counting sort of the entries of `rows[batch[0]], rows[batch[1]],
    /// ...` by pixel, numbered as batch rows `first..`. Batch rows must fit
    /// u16 (the caller keeps batches to at most 65,536 rows).
    pub fn rebuild(&mut self, rows: &SparseRows<T>, batch: &[usize], first: usize, width: usize) {
        // Rows a few images ahead are requested while these are counted.
        const AHEAD: usize = 4;
        self.starts.clear();
        self.starts.resize(width + 1, 0);
        for (b, &i) in batch.iter().enumerate() {
            if let Some(&ahead) = batch.get(b + AHEAD) {
                rows.prefetch(ahead);
            }
            for &k in rows.row(i).0 {
                self.starts[usize::from(k) + 1] += 1;
            }
        }
        for k in 0..width {
            self.starts[k + 1] += self.starts[k];
        }
        let total = self.starts[width];
        self.batch_rows.resize(total, 0);
        self.vals.resize(total, T::zero());
        self.next.clear();
        self.next.extend_from_slice(&self.starts[..width]);
        for (b, &i) in batch.iter().enumerate() {
            let (cols, vals) = rows.row(i);
            for (&k, &v) in cols.iter().zip(vals) {
                let at = &mut self.next[usize::from(k)];
                self.batch_rows[*at] = (first + b) as u16;
                self.vals[*at] = v;
                *at += 1;
            }
        }
    }

    fn pixel(&self, k: usize) -> (&[u16], &[T]) {
        let r = self.starts[k]..self.starts[k + 1];
        (&self.batch_rows[r.clone()], &self.vals[r])
    }
}

/// What every dW1 row needs besides its own weights.
pub struct WeightGrad<'a, T> {
    pub db1: &'a [T],
    pub reg: T,
    /// dH, `n x H` row-major.
    pub dh: &'a [T],
}

/// dW1 rows `first_pixel..` (as many as `dw` holds): `reg W1[k] - mean[k] db1 +
/// Σ_b v_bk dH[b]` over the batch rows that have pixel `k`, taken from each
/// of `parts` in turn (parts of the batch in order, so the sum runs in
/// batch order).
#[multiversion(targets("x86_64+avx2+fma", "x86_64+avx", "aarch64+neon"))]
pub fn weight_grad_rows<T: Real>(
    dw: &mut [T],
    w: &[T],
    mean: &[T],
    first_pixel: usize,
    parts: &[&ByPixel<T>],
    g: &WeightGrad<'_, T>,
) {
    let h = g.db1.len();
    for (k, ((dw, w), &m)) in dw
        .chunks_exact_mut(h)
        .zip(w.chunks_exact(h))
        .zip(mean)
        .enumerate()
    {
        for (first, width) in tiles(h) {
            let tile = &mut dw[first..first + width];
            let (w, db1) = (&w[first..first + width], &g.db1[first..first + width]);
            for (o, (&w, &d)) in tile.iter_mut().zip(w.iter().zip(db1)) {
                *o = g.reg * w - m * d;
            }
            for part in parts {
                let (batch_rows, vals) = part.pixel(first_pixel + k);
                accumulate(tile, batch_rows, vals, g.dh, h, first);
            }
        }
    }
}

/// `dw2 += hiddenᵀ dscores` for `hidden` row-major `m x h` and `dscores`
/// column-major `m x c` (`dw2` column-major `h x c`, 8 KB: it stays in L1
/// while each hidden row is read once). Rows are added in order.
#[multiversion(targets("x86_64+avx2+fma", "x86_64+avx", "aarch64+neon"))]
pub fn add_outer<T: Real>(dw2: &mut [T], hidden: &[T], dscores: &[T], h: usize) {
    let m = hidden.len() / h;
    for (r, row) in hidden.chunks_exact(h).enumerate() {
        for (c, col) in dw2.chunks_exact_mut(h).enumerate() {
            let d = dscores[c * m + r];
            for (o, &x) in col.iter_mut().zip(row) {
                *o += x * d;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiles_cover_every_width_once() {
        for h in [1, 7, 8, 9, 63, 64, 65, 72, 200, 1024] {
            let mut next = 0;
            for (first, width) in tiles(h) {
                assert_eq!(first, next, "h {h}");
                assert!(width > 0);
                next += width;
            }
            assert_eq!(next, h);
        }
        assert_eq!(tiles(200).map(|t| t.1).collect::<Vec<_>>(), [96, 96, 8]);
    }
}
