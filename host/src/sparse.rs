//! The training step on sparse pixels.
//!
//! The homework feeds `x = pixel/255 - mean` to layer 1, which is dense. But
//! `x W1 = (pixel/255) W1 - mean W1`, and about 81 % of MNIST's raw pixels
//! are 0. So the step keeps the raw images as sparse rows, adds one
//! per-step offset `b1 - mean W1`, and touches W1 only along each image's
//! nonzero pixels; likewise `dW1 = (pixel/255)ᵀ dH - meanᵀ Σ_rows dH`. That
//! is the same arithmetic up to float rounding, with a fifth of the
//! multiply-adds of the dense products (`net::TwoLayerNet::loss_and_grads`,
//! which stays the reference and the path for distorted or dropped-out
//! inputs).

use multiversion::multiversion;
use nalgebra::{Const, Dyn, MatrixView, OMatrix, U1};
use rayon::prelude::*;

use crate::net::{gemm_into, softmax_loss, Batch, Grads, Real, TwoLayerNet};

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

    /// Fraction of entries that are nonzero.
    pub fn density(&self) -> f64 {
        self.cols.len() as f64 / (self.len() * self.width).max(1) as f64
    }
}

/// Buffers of the sparse step, allocated once per batch size.
pub struct SparseScratch<T: Real, const H: usize, const C: usize> {
    /// `b1 - mean W1`: the dense part of every pre-activation.
    offset: Vec<T>,
    /// ReLU activations, `H x n` column-major = `n x H` row-major.
    hidden_t: OMatrix<T, Const<H>, Dyn>,
    /// d loss / d hidden, same layout.
    dhidden_t: OMatrix<T, Const<H>, Dyn>,
    scores: Batch<T, C>,
    dscores: Batch<T, C>,
    by_pixel: ByPixel<T>,
}

impl<T: Real, const H: usize, const C: usize> Default for SparseScratch<T, H, C> {
    fn default() -> Self {
        Self {
            offset: vec![T::zero(); H],
            hidden_t: OMatrix::zeros_generic(Const::<H>, Dyn(0)),
            dhidden_t: OMatrix::zeros_generic(Const::<H>, Dyn(0)),
            scores: Batch::zeros(0),
            dscores: Batch::zeros(0),
            by_pixel: ByPixel {
                starts: Vec::new(),
                batch_rows: Vec::new(),
                vals: Vec::new(),
            },
        }
    }
}

impl<T: Real, const H: usize, const C: usize> SparseScratch<T, H, C> {
    fn fit(&mut self, n: usize) {
        if self.hidden_t.ncols() != n {
            self.hidden_t = OMatrix::zeros_generic(Const::<H>, Dyn(n));
            self.dhidden_t = OMatrix::zeros_generic(Const::<H>, Dyn(n));
            self.scores = Batch::zeros(n);
            self.dscores = Batch::zeros(n);
        }
    }
}

/// Largest batch the sparse step takes (batch rows are kept as u16).
pub const MAX_BATCH: usize = 1 << 16;

/// Images per rayon task in the forward pass: enough work per task (about
/// 100 images x 150 pixels x H multiply-adds) to hide the scheduling, and
/// enough images to reuse each W1 tile loaded into L2.
const ROWS_PER_TASK: usize = 100;

impl<T: Real, const I: usize, const H: usize, const C: usize> TwoLayerNet<T, I, H, C> {
    /// `loss_and_grads_masked` for the batch `rows[batch[0]], rows[batch[1]], ...`
    /// minus `mean` (the preprocessing of `mnist::Dataset`), without forming
    /// the dense batch. Equal to the dense step up to float rounding.
    #[allow(clippy::too_many_arguments)]
    pub fn loss_and_grads_sparse(
        &self,
        rows: &SparseRows<T>,
        batch: &[usize],
        mean: &[T],
        y: &[u8],
        reg: T,
        hidden_scale: Option<&[T]>,
        grads: &mut Grads<T, I, H, C>,
        s: &mut SparseScratch<T, H, C>,
    ) -> T {
        assert_eq!(rows.width(), I, "rows are not {I} wide");
        assert_eq!(mean.len(), I, "mean image is not {I} long");
        assert_eq!(batch.len(), y.len(), "one label per row");
        assert!(
            batch.len() <= MAX_BATCH,
            "batches of the sparse step hold at most {MAX_BATCH} rows"
        );
        let n = batch.len();
        s.fit(n);
        let w1 = self.w1t.as_slice();

        // Three independent pieces, which overlap when there are two threads:
        // the sparse sums Σ_nonzero v W1[k, :] of layer 1, the dense part
        // offset = b1 - mean W1, and the batch grouped by pixel (for dW1).
        let (offset, by_pixel) = (&mut s.offset, &mut s.by_pixel);
        let hidden = s.hidden_t.as_mut_slice();
        rayon::join(
            || {
                hidden
                    .par_chunks_mut(H * ROWS_PER_TASK)
                    .zip(batch.par_chunks(ROWS_PER_TASK))
                    .for_each(|(out, idx)| sparse_sums(out, idx, rows, w1, H))
            },
            || {
                offset.copy_from_slice(self.b1.as_slice());
                for (m, row) in mean.iter().zip(w1.chunks_exact(H)) {
                    axpy(offset, -*m, row);
                }
                by_pixel.rebuild(rows, batch, I);
            },
        );
        // hidden = ReLU(sums + offset) (⊙ dropout scale)
        add_relu(hidden, offset);
        if let Some(scale) = hidden_scale {
            assert_eq!(
                scale.len(),
                n * H,
                "one dropout scale per hidden activation"
            );
            scale_rows(s.hidden_t.as_mut_slice(), scale, n);
        }

        // Layer 2 and the loss, as the dense path (these products are small).
        // hidden as n x H (row-major) without copying
        let hidden = MatrixView::from_slice_with_strides_generic(
            s.hidden_t.as_slice(),
            Dyn(n),
            Const::<H>,
            Const::<H>,
            U1,
        );
        gemm_into!(s.scores, hidden, &*self.w2);
        for (k, mut col) in s.scores.column_iter_mut().enumerate() {
            col.add_scalar_mut(self.b2[k]);
        }
        let data_loss = softmax_loss(&s.scores, y, Some(&mut s.dscores));
        grads.w2.gemm(T::one(), &s.hidden_t, &s.dscores, T::zero());
        grads.w2.zip_apply(&*self.w2, |g, w| *g += reg * w);
        for (k, col) in s.dscores.column_iter().enumerate() {
            grads.b2[k] = col.sum();
        }

        // dH = (dS W2ᵀ) ⊙ [hidden > 0] (⊙ scale), stored transposed.
        let dscores_t = MatrixView::from_slice_with_strides_generic(
            s.dscores.as_slice(),
            Const::<C>,
            Dyn(n),
            Dyn(n),
            U1,
        );
        s.dhidden_t.gemm(T::one(), &*self.w2, &dscores_t, T::zero());
        relu_backward(s.dhidden_t.as_mut_slice(), s.hidden_t.as_slice(), H);
        if let Some(scale) = hidden_scale {
            scale_rows(s.dhidden_t.as_mut_slice(), scale, n);
        }
        let db1 = grads.b1.as_mut_slice();
        row_sums(db1, s.dhidden_t.as_slice());
        let db1 = &*db1;

        // dW1 = (pixel/255)ᵀ dH - meanᵀ db1 + reg W1, by pixel (so each
        // dW1 row is summed in registers and written once), split over
        // pixel ranges for the threads.
        let dw1 = grads.w1t.as_mut_slice();
        let dh = s.dhidden_t.as_slice();
        let by_pixel = &s.by_pixel;
        let rows_per_part = I.div_ceil(rayon::current_num_threads().max(1));
        dw1.par_chunks_mut(H * rows_per_part)
            .zip(w1.par_chunks(H * rows_per_part))
            .enumerate()
            .for_each(|(part, (dw, w))| {
                let first = part * rows_per_part;
                let m = &mean[first..first + dw.len() / H];
                let grad = WeightGrad { db1, reg, dh };
                weight_grad_rows(dw, w, m, first, by_pixel, &grad);
            });

        data_loss + self.reg_loss(reg)
    }
}

/// `m ⊙ scale` for `m` row-major `n x H` and `scale` column-major `n x H` (the
/// layout of `Forward::hidden` and of the dropout masks).
fn scale_rows<T: Real>(m: &mut [T], scale: &[T], n: usize) {
    for (r, row) in m.chunks_exact_mut(m.len() / n.max(1)).enumerate() {
        for (j, v) in row.iter_mut().enumerate() {
            *v *= scale[j * n + r];
        }
    }
}

/// Back through the ReLU: zero `dh` where the activation was not positive
/// (both `n x h` row-major).
#[multiversion(targets("x86_64+avx2+fma", "x86_64+avx", "aarch64+neon"))]
fn relu_backward<T: Real>(dh: &mut [T], hidden: &[T], h: usize) {
    for (d, &x) in dh.iter_mut().zip(hidden) {
        *d = if x > T::zero() { *d } else { T::zero() };
    }
    debug_assert_eq!(dh.len() % h, 0);
}

/// `sums = Σ_rows m` for `m` row-major with `sums.len()` columns.
#[multiversion(targets("x86_64+avx2+fma", "x86_64+avx", "aarch64+neon"))]
fn row_sums<T: Real>(sums: &mut [T], m: &[T]) {
    sums.fill(T::zero());
    for row in m.chunks_exact(sums.len()) {
        for (s, &v) in sums.iter_mut().zip(row) {
            *s += v;
        }
    }
}

/// `y += a x`
#[multiversion(targets("x86_64+avx2+fma", "x86_64+avx", "aarch64+neon"))]
fn axpy<T: Real>(y: &mut [T], a: T, x: &[T]) {
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
fn sparse_sums<T: Real>(out: &mut [T], idx: &[usize], rows: &SparseRows<T>, w1: &[T], h: usize) {
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
fn add_relu<T: Real>(m: &mut [T], offset: &[T]) {
    for row in m.chunks_exact_mut(offset.len()) {
        for (v, &o) in row.iter_mut().zip(offset) {
            *v = (*v + o).max(T::zero());
        }
    }
}

/// The batch's nonzero pixels grouped by pixel (compressed sparse
/// columns of the batch): for pixel `k`, which batch rows have it and with
/// what value.
struct ByPixel<T> {
    starts: Vec<usize>,
    batch_rows: Vec<u16>,
    vals: Vec<T>,
}

impl<T: Real> ByPixel<T> {
    /// Counting sort of the batch's entries by pixel. Batch rows must fit
    /// u16 (the caller keeps batches to at most 65,536 rows).
    fn rebuild(&mut self, rows: &SparseRows<T>, batch: &[usize], width: usize) {
        self.starts.clear();
        self.starts.resize(width + 1, 0);
        for &i in batch {
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
        // `next[k]` is where pixel k's next entry goes; reuse the tail of
        // `starts` shifted by one, then shift back.
        let mut next = self.starts[..width].to_vec();
        for (b, &i) in batch.iter().enumerate() {
            let (cols, vals) = rows.row(i);
            for (&k, &v) in cols.iter().zip(vals) {
                let at = &mut next[usize::from(k)];
                self.batch_rows[*at] = b as u16;
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
struct WeightGrad<'a, T> {
    db1: &'a [T],
    reg: T,
    /// dH, `n x H` row-major.
    dh: &'a [T],
}

/// dW1 rows `first..` (as many as `dw` holds): `reg W1[k] - mean[k] db1 +
/// Σ_b v_bk dH[b]` over the batch rows that have pixel `k`.
#[multiversion(targets("x86_64+avx2+fma", "x86_64+avx", "aarch64+neon"))]
fn weight_grad_rows<T: Real>(
    dw: &mut [T],
    w: &[T],
    mean: &[T],
    first: usize,
    by_pixel: &ByPixel<T>,
    g: &WeightGrad<'_, T>,
) {
    let h = g.db1.len();
    for (k, ((dw, w), &m)) in dw
        .chunks_exact_mut(h)
        .zip(w.chunks_exact(h))
        .zip(mean)
        .enumerate()
    {
        let (batch_rows, vals) = by_pixel.pixel(first + k);
        for (first, width) in tiles(h) {
            let tile = &mut dw[first..first + width];
            let (w, db1) = (&w[first..first + width], &g.db1[first..first + width]);
            for (o, (&w, &d)) in tile.iter_mut().zip(w.iter().zip(db1)) {
                *o = g.reg * w - m * d;
            }
            accumulate(tile, batch_rows, vals, g.dh, h, first);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::NumpyRng;

    /// Sparse-ish random images: about a third of the pixels nonzero.
    fn images(n: usize, width: usize, rng: &mut NumpyRng) -> Vec<u8> {
        (0..n * width)
            .map(|_| {
                let r = rng.next_f64();
                if r < 0.66 {
                    0
                } else {
                    (r * 255.0) as u8
                }
            })
            .collect()
    }

    fn dense<T: Real>(images: &[u8], mean: &[T]) -> Vec<T> {
        images
            .chunks_exact(mean.len())
            .flat_map(|img| {
                img.iter()
                    .zip(mean)
                    .map(|(&p, &m)| T::from(f32::from(p) / 255.0) - m)
            })
            .collect()
    }

    fn check<const I: usize, const H: usize, const C: usize>(masked: bool) {
        let mut rng = NumpyRng::new(11);
        let net = TwoLayerNet::<f64, I, H, C>::init(0.3, &mut rng);
        let pixels = images(30, I, &mut rng);
        let rows = SparseRows::<f64>::from_pixels(&pixels, I);
        let mean: Vec<f64> = (0..I).map(|_| rng.next_f64() * 0.5).collect();
        let batch = [3usize, 0, 29, 3, 17, 8, 8, 21];
        let y: Vec<u8> = batch.iter().map(|&i| (i % C) as u8).collect();
        let picked: Vec<u8> = batch
            .iter()
            .flat_map(|&i| pixels[i * I..(i + 1) * I].to_vec())
            .collect();
        let x = dense(&picked, &mean);
        let scale: Vec<f64> = (0..batch.len() * H)
            .map(|i| if i % 4 == 1 { 0.0 } else { 4.0 / 3.0 })
            .collect();
        let scale = masked.then_some(&scale[..]);

        let mut want = TwoLayerNet::zeros();
        let want_loss = net.loss_and_grads_masked(&x, &y, 0.01, scale, &mut want);
        let mut got = TwoLayerNet::zeros();
        let mut s = SparseScratch::default();
        let got_loss =
            net.loss_and_grads_sparse(&rows, &batch, &mean, &y, 0.01, scale, &mut got, &mut s);
        assert!(
            (got_loss - want_loss).abs() < 1e-12,
            "{got_loss} vs {want_loss}"
        );
        for (p, name) in crate::net::PARAM_NAMES.iter().enumerate() {
            let err = crate::gradcheck::rel_error(got.slices()[p], want.slices()[p]);
            assert!(err < 1e-10, "{name}: {err}");
        }
    }

    #[test]
    fn sparse_step_equals_the_dense_step() {
        check::<37, 9, 4>(false);
        check::<64, 200, 10>(false);
    }

    #[test]
    fn sparse_step_equals_the_dense_step_with_hidden_dropout() {
        check::<37, 9, 4>(true);
    }

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

    #[test]
    fn rows_hold_the_nonzero_pixels() {
        let rows = SparseRows::<f32>::from_pixels(&[0, 255, 0, 51, 0, 0, 0, 0], 4);
        assert_eq!(rows.len(), 2);
        assert_eq!(rows.row(0), (&[1u16, 3][..], &[1.0f32, 0.2][..]));
        assert_eq!(rows.row(1), (&[][..], &[][..]));
        assert_eq!(rows.density(), 0.25);
    }
}
