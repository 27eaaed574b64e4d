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
//!
//! The step runs in two parallel sections, each a fork-join on a helper
//! thread that spins between jobs (`spin_pair`: a sleeping rayon worker
//! took 30-90 µs to wake here, at each fork and join, against a 2-thread
//! step of about 1.1 ms):
//! 1. each half of the batch, on its own: layer 1, ReLU, layer 2, softmax
//!    and back to dH, plus its entries grouped by pixel;
//! 2. dW1 by pixel range, beside dW2 and the biases.
//!
//! The halves are fixed by the batch, not by the thread count, and every
//! sum runs in batch order, so the result is the same bits on 1 or 2
//! threads.

use nalgebra::{Const, Dyn, MatrixView, MatrixViewMut, OMatrix, U1};

mod kernels;

use kernels::{
    add_outer, add_relu, axpy, relu_backward, row_sums, scale_rows, sparse_sums, weight_grad_rows,
    ByPixel, WeightGrad,
};

use crate::data::sparse_rows::SparseRows;
use crate::real::Real;
use crate::train::fork_join::{fork, SpinPair};
use crate::train::net::{gemm_into, softmax_rows, Batch, Grads, TwoLayerNet};

/// Buffers of the sparse step, allocated once per batch size.
pub struct SparseScratch<T: Real, const H: usize, const C: usize> {
    /// ReLU activations, `H x n` column-major = `n x H` row-major.
    hidden_t: OMatrix<T, Const<H>, Dyn>,
    /// d loss / d hidden, same layout.
    dhidden_t: OMatrix<T, Const<H>, Dyn>,
    halves: [Half<T, C>; 2],
    /// The second thread, when the pool has one (see `spin_pair`).
    pair: Option<SpinPair>,
}

/// What one half of the batch needs and gives in section 1.
struct Half<T: Real, const C: usize> {
    /// `b1 - mean W1`, the dense part of every pre-activation (each half
    /// its own copy, so that neither waits for the other).
    offset: Vec<T>,
    scores: Batch<T, C>,
    dscores: Batch<T, C>,
    by_pixel: ByPixel<T>,
    /// Σ_rows dH over the half.
    db1: Vec<T>,
    /// The half's share of the data loss.
    loss: T,
}

impl<T: Real, const C: usize> Half<T, C> {
    fn new(h: usize) -> Self {
        Self {
            offset: vec![T::zero(); h],
            scores: Batch::zeros(0),
            dscores: Batch::zeros(0),
            by_pixel: ByPixel::default(),
            db1: vec![T::zero(); h],
            loss: T::zero(),
        }
    }
}

impl<T: Real, const H: usize, const C: usize> Default for SparseScratch<T, H, C> {
    fn default() -> Self {
        Self {
            hidden_t: OMatrix::zeros_generic(Const::<H>, Dyn(0)),
            dhidden_t: OMatrix::zeros_generic(Const::<H>, Dyn(0)),
            halves: [Half::new(H), Half::new(H)],
            pair: None,
        }
    }
}

impl<T: Real, const H: usize, const C: usize> SparseScratch<T, H, C> {
    fn fit(&mut self, n: usize) {
        if self.hidden_t.ncols() != n {
            self.hidden_t = OMatrix::zeros_generic(Const::<H>, Dyn(n));
            self.dhidden_t = OMatrix::zeros_generic(Const::<H>, Dyn(n));
            for (half, rows) in self.halves.iter_mut().zip(halves(n)) {
                half.scores = Batch::zeros(rows.len());
                half.dscores = Batch::zeros(rows.len());
            }
        }
    }
}

impl<T: Real, const H: usize, const C: usize> SparseScratch<T, H, C> {
    /// The second thread the step uses, if any, for other work of the same
    /// training loop (the optimiser update).
    pub fn pair(&self) -> Option<&SpinPair> {
        self.pair
            .as_ref()
            .filter(|_| rayon::current_num_threads() > 1)
    }
}

/// The batch rows of each half.
fn halves(n: usize) -> [std::ops::Range<usize>; 2] {
    [0..n / 2, n / 2..n]
}

/// Largest batch the sparse step takes (batch rows are kept as u16).
pub const MAX_BATCH: usize = 1 << 16;

/// The shape checks of `loss_and_grads_sparse` (panics on a caller's bug).
fn check_inputs<T: Real, const I: usize, const H: usize>(
    rows: &SparseRows<T>,
    batch: &[usize],
    mean: &[T],
    y: &[u8],
    hidden_scale: Option<&[T]>,
) {
    assert_eq!(rows.width(), I, "rows are not {I} wide");
    assert_eq!(mean.len(), I, "mean image is not {I} long");
    assert_eq!(batch.len(), y.len(), "one label per row");
    assert!(
        batch.len() <= MAX_BATCH,
        "batches of the sparse step hold at most {MAX_BATCH} rows"
    );
    if let Some(scale) = hidden_scale {
        assert_eq!(
            scale.len(),
            batch.len() * H,
            "one dropout scale per hidden activation"
        );
    }
}

/// The batch as the step sees it.
struct Inputs<'a, T> {
    rows: &'a SparseRows<T>,
    batch: &'a [usize],
    mean: &'a [T],
    y: &'a [u8],
    label_smoothing: T,
    hidden_scale: Option<&'a [T]>,
}

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
        label_smoothing: T,
        hidden_scale: Option<&[T]>,
        grads: &mut Grads<T, I, H, C>,
        s: &mut SparseScratch<T, H, C>,
    ) -> T {
        let n = batch.len();
        check_inputs::<T, I, H>(rows, batch, mean, y, hidden_scale);
        s.fit(n);
        let inputs = Inputs {
            rows,
            batch,
            mean,
            y,
            label_smoothing,
            hidden_scale,
        };

        // Section 1: the halves, each on its own.
        let [r0, r1] = halves(n);
        let (h0, h1) = s.hidden_t.as_mut_slice().split_at_mut(r0.len() * H);
        let (d0, d1) = s.dhidden_t.as_mut_slice().split_at_mut(r0.len() * H);
        let [half0, half1] = &mut s.halves;
        let pair =
            (rayon::current_num_threads() > 1).then(|| &*s.pair.get_or_insert_with(SpinPair::new));
        fork(
            pair,
            || self.half_step(&inputs, r0, h0, d0, half0),
            || self.half_step(&inputs, r1, h1, d1, half1),
        );
        let [half0, half1] = &s.halves;
        for ((db1, &a), &b) in grads.b1.iter_mut().zip(&half0.db1).zip(&half1.db1) {
            *db1 = a + b;
        }

        // Section 2: dW1 = (pixel/255)ᵀ dH - meanᵀ db1 + reg W1 by pixel (so
        // each dW1 row is summed in registers and written once), split over
        // pixel ranges, beside dW2 and db2.
        let grad = WeightGrad {
            db1: grads.b1.as_slice(),
            reg,
            dh: s.dhidden_t.as_slice(),
        };
        let parts = [&half0.by_pixel, &half1.by_pixel];
        let w1 = self.w1t.as_slice();
        let (dw1, dw2, db2) = (&mut grads.w1t, &mut grads.w2, &mut grads.b2);
        // Even halves: the first part also does dW2, about what the helper
        // loses by running ~10 % slower (measured; the two share L3 and
        // memory).
        let split = I / 2;
        let (dw1_0, dw1_1) = dw1.as_mut_slice().split_at_mut(split * H);
        let (w1_0, w1_1) = w1.split_at(split * H);
        let (mean0, mean1) = mean.split_at(split);
        fork(
            pair,
            || {
                weight_grad_rows(dw1_0, w1_0, mean0, 0, &parts, &grad);
                // dW2 = hiddenᵀ dS + reg W2, db2 = Σ_rows dS, in batch order.
                dw2.fill(T::zero());
                let hidden = s.hidden_t.as_slice();
                let (hid0, hid1) = hidden.split_at(half0.scores.nrows() * H);
                add_outer(dw2.as_mut_slice(), hid0, half0.dscores.as_slice(), H);
                add_outer(dw2.as_mut_slice(), hid1, half1.dscores.as_slice(), H);
                dw2.zip_apply(&*self.w2, |g, w| *g += reg * w);
                for (k, db2) in db2.iter_mut().enumerate() {
                    *db2 = half0.dscores.column(k).sum() + half1.dscores.column(k).sum();
                }
            },
            || weight_grad_rows(dw1_1, w1_1, mean1, split, &parts, &grad),
        );

        half0.loss + half1.loss + self.reg_loss(reg)
    }

    /// Section 1 for batch rows `rows` (`hidden` and `dhidden` are theirs):
    /// forward to the loss and back to dH.
    fn half_step(
        &self,
        x: &Inputs<'_, T>,
        rows: std::ops::Range<usize>,
        hidden: &mut [T],
        dhidden: &mut [T],
        half: &mut Half<T, C>,
    ) {
        let (n, m) = (x.batch.len(), rows.len());
        let batch = &x.batch[rows.clone()];
        let w1 = self.w1t.as_slice();
        half.by_pixel.rebuild(x.rows, batch, rows.start, I);

        // hidden = ReLU(Σ_nonzero v W1[k, :] + b1 - mean W1) (⊙ dropout scale)
        sparse_sums(hidden, batch, x.rows, w1, H);
        half.offset.copy_from_slice(self.b1.as_slice());
        for (mean, row) in x.mean.iter().zip(w1.chunks_exact(H)) {
            axpy(&mut half.offset, -*mean, row);
        }
        add_relu(hidden, &half.offset);
        if let Some(scale) = x.hidden_scale {
            scale_rows(hidden, scale, n, rows.start, H);
        }

        // Layer 2 and the loss, as the dense path (these products are
        // small); hidden as m x H (row-major) without copying.
        let hidden_rows =
            MatrixView::from_slice_with_strides_generic(hidden, Dyn(m), Const::<H>, Const::<H>, U1);
        gemm_into!(half.scores, hidden_rows, &*self.w2);
        for (k, mut col) in half.scores.column_iter_mut().enumerate() {
            col.add_scalar_mut(self.b2[k]);
        }
        let inv_n = T::one() / nalgebra::convert::<f64, T>(n as f64);
        half.loss = softmax_rows(
            &half.scores,
            &x.y[rows.clone()],
            &mut half.dscores,
            inv_n,
            x.label_smoothing,
        );

        // dH = (dS W2ᵀ) ⊙ [hidden > 0] (⊙ scale), stored transposed.
        let dscores_t = MatrixView::from_slice_with_strides_generic(
            half.dscores.as_slice(),
            Const::<C>,
            Dyn(m),
            Dyn(m),
            U1,
        );
        MatrixViewMut::from_slice_generic(&mut *dhidden, Const::<H>, Dyn(m)).gemm(
            T::one(),
            &*self.w2,
            &dscores_t,
            T::zero(),
        );
        relu_backward(dhidden, hidden, H);
        if let Some(scale) = x.hidden_scale {
            scale_rows(dhidden, scale, n, rows.start, H);
        }
        row_sums(&mut half.db1, dhidden);
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

    fn check<const I: usize, const H: usize, const C: usize>(masked: bool, smoothing: f64) {
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
        let want_loss = net.loss_and_grads_masked(&x, &y, 0.01, smoothing, scale, &mut want);
        let mut got = TwoLayerNet::zeros();
        let mut s = SparseScratch::default();
        let got_loss = net.loss_and_grads_sparse(
            &rows, &batch, &mean, &y, 0.01, smoothing, scale, &mut got, &mut s,
        );
        assert!(
            (got_loss - want_loss).abs() < 1e-12,
            "{got_loss} vs {want_loss}"
        );
        for (p, name) in crate::train::net::PARAM_NAMES.iter().enumerate() {
            let err = crate::train::gradcheck::rel_error(got.slices()[p], want.slices()[p]);
            assert!(err < 1e-10, "{name}: {err}");
        }
    }

    #[test]
    fn sparse_step_equals_the_dense_step() {
        check::<37, 9, 4>(false, 0.0);
        check::<64, 200, 10>(false, 0.0);
    }

    #[test]
    fn sparse_step_equals_the_dense_step_with_label_smoothing() {
        check::<37, 9, 4>(false, 0.1);
        check::<64, 200, 10>(true, 0.2);
    }

    /// The halves are fixed by the batch and every sum runs in batch
    /// order: 1 and 2 threads give the same bits.
    #[test]
    fn one_and_two_threads_give_the_same_bits() {
        let mut rng = NumpyRng::new(5);
        let net = TwoLayerNet::<f32, 64, 200, 10>::init(0.3, &mut rng);
        let rows = SparseRows::<f32>::from_pixels(&images(50, 64, &mut rng), 64);
        let mean: Vec<f32> = (0..64).map(|_| rng.next_f64() as f32 * 0.5).collect();
        let batch: Vec<usize> = (0..37).map(|b| (b * 13) % 50).collect();
        let y: Vec<u8> = batch.iter().map(|&i| (i % 10) as u8).collect();
        let run = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .expect("a rayon pool");
            let mut grads = TwoLayerNet::zeros();
            let mut s = SparseScratch::default();
            let loss = pool.install(|| {
                net.loss_and_grads_sparse(
                    &rows, &batch, &mean, &y, 0.01, 0.0, None, &mut grads, &mut s,
                )
            });
            let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            (loss.to_bits(), grads.slices().map(bits))
        };
        assert_eq!(run(1), run(2));
    }

    #[test]
    fn sparse_step_equals_the_dense_step_with_hidden_dropout() {
        check::<37, 9, 4>(true, 0.0);
    }
}
