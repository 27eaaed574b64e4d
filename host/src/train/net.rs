//! The homework's `TwoLayerNet`: affine - ReLU - affine - softmax cross-entropy
//! with L2 regularisation `0.5 * reg * (ΣW1² + ΣW2²)`.
//!
//! Weights are nalgebra matrices with const-generic shapes (input `I`, hidden
//! `H`, classes `C`) kept on the heap (`VecStorage`): 784x1024 f64 would not fit
//! a stack. The batch dimension is `Dyn`, which is what sends nalgebra's `gemm`
//! to the fast `matrixmultiply` kernels (with every dimension static it uses
//! plain loops). Transposes are strided views, never copies.

use nalgebra::{Const, Dyn, MatrixView, OMatrix, SMatrix, U1};

use model_format::argmax;

use crate::real::Real;
use crate::rng::NumpyRng;

/// A boxed matrix with static shape (nalgebra's `VecStorage` needs a `Dyn`
/// dimension, so static heap matrices are boxed `ArrayStorage`).
pub type HeapMatrix<T, const R: usize, const C: usize> = Box<SMatrix<T, R, C>>;
/// A batch of rows (`Dyn` x `N`), column-major.
pub type Batch<T, const N: usize> = OMatrix<T, Dyn, Const<N>>;

/// Parameter names in the order `params`/`Grads::slices` list them.
pub const PARAM_NAMES: [&str; 4] = ["W1", "b1", "W2", "b2"];

/// A zeroed boxed matrix, allocated in place: `Box::new(SMatrix::zeros())`
/// would build a 784x1024 f64 (6.4 MB) on the stack first.
fn heap_zeros<T: Real, const R: usize, const C: usize>() -> HeapMatrix<T, R, C> {
    // SAFETY: `T` is f32 or f64 (sealed), for which all-zero bits are 0.0, and
    // an `SMatrix` is plain arrays of `T` plus zero-sized markers.
    unsafe { Box::<SMatrix<T, R, C>>::new_zeroed().assume_init() }
}

/// `std * randn(R, C)` filled in numpy's row-major order.
fn heap_randn<T: Real, const R: usize, const C: usize>(
    std: f64,
    rng: &mut NumpyRng,
) -> HeapMatrix<T, R, C> {
    let mut m = heap_zeros::<T, R, C>();
    for r in 0..R {
        for c in 0..C {
            m[(r, c)] = nalgebra::convert(std * rng.randn());
        }
    }
    m
}

/// Row-major `n x N` data seen as an `n x N` matrix (no copy).
fn rows_view<T: Real, const N: usize>(x: &[T]) -> MatrixView<'_, T, Dyn, Const<N>, Const<N>, U1> {
    MatrixView::from_slice_with_strides_generic(x, Dyn(x.len() / N), Const::<N>, Const::<N>, U1)
}

/// The transpose of a column-major `n x N` batch as a view.
fn batch_t<T: Real, const N: usize>(b: &Batch<T, N>) -> MatrixView<'_, T, Const<N>, Dyn, Dyn, U1> {
    let n = b.nrows();
    MatrixView::from_slice_with_strides_generic(b.as_slice(), Const::<N>, Dyn(n), Dyn(n), U1)
}

/// The transpose of a heap matrix as a view.
fn heap_t<T: Real, const R: usize, const C: usize>(
    m: &HeapMatrix<T, R, C>,
) -> MatrixView<'_, T, Const<C>, Const<R>, Const<R>, U1> {
    MatrixView::from_slice_with_strides_generic(
        m.as_slice(),
        Const::<C>,
        Const::<R>,
        Const::<R>,
        U1,
    )
}

/// `y = a * b` through nalgebra's `gemm`. For large products (the MNIST
/// case) `gemm` hands any strides to `matrixmultiply`, so transposes stay
/// zero-copy views. Its fallback for products with a dimension <= 5 (toy
/// model, tiny batches) walks a strided left operand past its end (nalgebra
/// 0.35 `axcpy_uninit` uses the slice length as the element count), so
/// there the left operand is copied to contiguous storage first.
macro_rules! gemm_into {
    ($y:expr, $a:expr, $b:expr) => {{
        let a = $a;
        let (ar, ac) = a.shape();
        let (yr, yc) = $y.shape();
        if ar.min(ac).min(yr).min(yc) <= 5 && a.strides().0 != 1 {
            $y.gemm(T::one(), &a.clone_owned(), $b, T::zero());
        } else {
            $y.gemm(T::one(), &a, $b, T::zero());
        }
    }};
}

pub(crate) use gemm_into;

/// Weights and biases of the two-layer net.
pub struct TwoLayerNet<T: Real, const I: usize, const H: usize, const C: usize> {
    /// W1 stored transposed (`H x I`): column `i` holds input `i`'s `H`
    /// outgoing weights contiguously, i.e. the flat storage is W1 row-major
    /// (numpy's order). The sparse-input step (`crate::train::sparse_step`) adds whole
    /// such columns per nonzero pixel.
    pub w1t: HeapMatrix<T, H, I>,
    pub b1: HeapMatrix<T, 1, H>,
    pub w2: HeapMatrix<T, H, C>,
    pub b2: HeapMatrix<T, 1, C>,
}

impl<T: Real, const I: usize, const H: usize, const C: usize> Clone for TwoLayerNet<T, I, H, C> {
    /// Copies into fresh boxes (a derived clone would go through the stack).
    fn clone(&self) -> Self {
        Self::from_slices(self.slices())
    }
}

/// Gradients, shaped like the net.
pub type Grads<T, const I: usize, const H: usize, const C: usize> = TwoLayerNet<T, I, H, C>;

/// Intermediate values of one forward pass, reused by the backward pass.
pub struct Forward<T: Real, const H: usize, const C: usize> {
    /// ReLU(X W1 + b1)
    pub hidden: Batch<T, H>,
    /// hidden W2 + b2
    pub scores: Batch<T, C>,
}

impl<T: Real, const I: usize, const H: usize, const C: usize> TwoLayerNet<T, I, H, C> {
    /// Like the homework: `W = std * randn(...)` (W1 then W2), biases zero.
    pub fn init(std: f64, rng: &mut NumpyRng) -> Self {
        // W1's flat storage is row-major I x H: numpy's fill order.
        let mut w1t = heap_zeros::<T, H, I>();
        for w in w1t.as_mut_slice() {
            *w = nalgebra::convert(std * rng.randn());
        }
        let w2 = heap_randn(std, rng);
        Self {
            w1t,
            b1: heap_zeros(),
            w2,
            b2: heap_zeros(),
        }
    }

    pub fn zeros() -> Self {
        Self {
            w1t: heap_zeros(),
            b1: heap_zeros(),
            w2: heap_zeros(),
            b2: heap_zeros(),
        }
    }

    /// A net from flat column-major parameter slices (as `slices` gives them),
    /// converting the float type on the way.
    pub fn from_slices<U: Real>(params: [&[U]; 4]) -> Self {
        let mut net = Self::zeros();
        for (dst, src) in net.slices_mut().into_iter().zip(params) {
            assert_eq!(dst.len(), src.len(), "parameter shape mismatch");
            for (d, &s) in dst.iter_mut().zip(src) {
                *d = nalgebra::convert::<f64, T>(s.into());
            }
        }
        net
    }

    /// The same net in another float type.
    pub fn cast<U: Real>(&self) -> TwoLayerNet<U, I, H, C> {
        TwoLayerNet::from_slices(self.slices())
    }

    /// Parameters as flat slices, in `PARAM_NAMES` order: W1 row-major (see
    /// `w1t`), b1, W2 column-major, b2.
    pub fn slices(&self) -> [&[T]; 4] {
        [
            self.w1t.as_slice(),
            self.b1.as_slice(),
            self.w2.as_slice(),
            self.b2.as_slice(),
        ]
    }

    pub fn slices_mut(&mut self) -> [&mut [T]; 4] {
        [
            self.w1t.as_mut_slice(),
            self.b1.as_mut_slice(),
            self.w2.as_mut_slice(),
            self.b2.as_mut_slice(),
        ]
    }

    /// Forward pass on row-major `x` (`n x I`).
    pub fn forward(&self, x: &[T]) -> Forward<T, H, C> {
        self.forward_masked(x, None)
    }

    /// Forward pass with the hidden activations multiplied by `hidden_scale`
    /// (`n x H`, column-major like `Forward::hidden`): inverted dropout, where
    /// an entry is 0 (dropped) or 1/(1-p) (kept).
    pub fn forward_masked(&self, x: &[T], hidden_scale: Option<&[T]>) -> Forward<T, H, C> {
        assert_eq!(x.len() % I, 0, "input length is not a multiple of {I}");
        let n = x.len() / I;
        let mut hidden = Batch::<T, H>::zeros(n);
        gemm_into!(hidden, rows_view::<T, I>(x), &heap_t(&self.w1t));
        for (j, mut col) in hidden.column_iter_mut().enumerate() {
            let b = self.b1[j];
            col.apply(|v| *v = (*v + b).max(T::zero()));
        }
        if let Some(scale) = hidden_scale {
            assert_eq!(
                scale.len(),
                n * H,
                "one dropout scale per hidden activation"
            );
            for (h, &s) in hidden.as_mut_slice().iter_mut().zip(scale) {
                *h *= s;
            }
        }
        let mut scores = Batch::<T, C>::zeros(n);
        gemm_into!(scores, &hidden, &*self.w2);
        for (k, mut col) in scores.column_iter_mut().enumerate() {
            let b = self.b2[k];
            col.add_scalar_mut(b);
        }
        Forward { hidden, scores }
    }

    /// Class scores for row-major `x` (`n x I`).
    pub fn scores(&self, x: &[T]) -> Batch<T, C> {
        self.forward(x).scores
    }

    /// Predicted class per row of `x`.
    pub fn predict(&self, x: &[T]) -> Vec<u8> {
        let scores = self.scores(x);
        scores
            .row_iter()
            .map(|r| argmax(r.iter().copied()) as u8)
            .collect()
    }

    /// `0.5 * reg * (ΣW1² + ΣW2²)`
    pub fn reg_loss(&self, reg: T) -> T {
        let half: T = From::from(0.5f32);
        half * reg * (self.w1t.norm_squared() + self.w2.norm_squared())
    }

    /// Softmax cross-entropy data loss plus L2 loss; no gradients.
    pub fn loss(&self, x: &[T], y: &[u8], reg: T) -> T {
        let fwd = self.forward(x);
        softmax_loss(&fwd.scores, y, None, T::zero()) + self.reg_loss(reg)
    }

    /// Loss and all four gradients (written into `grads`).
    pub fn loss_and_grads(&self, x: &[T], y: &[u8], reg: T, grads: &mut Grads<T, I, H, C>) -> T {
        self.loss_and_grads_masked(x, y, reg, T::zero(), None, grads)
    }

    /// `loss_and_grads` with label smoothing `label_smoothing` (see `softmax_loss`) and
    /// inverted dropout on the hidden layer (see `forward_masked`).
    pub fn loss_and_grads_masked(
        &self,
        x: &[T],
        y: &[u8],
        reg: T,
        label_smoothing: T,
        hidden_scale: Option<&[T]>,
        grads: &mut Grads<T, I, H, C>,
    ) -> T {
        let fwd = self.forward_masked(x, hidden_scale);
        let mut dscores = fwd.scores.clone();
        let data_loss = softmax_loss(&fwd.scores, y, Some(&mut dscores), label_smoothing);

        // Layer 2: dW2 = hiddenᵀ dS + reg W2, db2 = Σ_rows dS
        gemm_into!(grads.w2, batch_t(&fwd.hidden), &dscores);
        grads.w2.zip_apply(&*self.w2, |g, w| *g += reg * w);
        for (k, col) in dscores.column_iter().enumerate() {
            grads.b2[k] = col.sum();
        }

        // Back through ReLU (and dropout): dH = (dS W2ᵀ) ⊙ [hidden > 0] ⊙ scale.
        // A dropped unit has hidden == 0, so the ReLU test zeroes it too.
        let mut dhidden = Batch::<T, H>::zeros(dscores.nrows());
        gemm_into!(dhidden, &dscores, &heap_t(&self.w2));
        dhidden.zip_apply(&fwd.hidden, |d, h| {
            if h <= T::zero() {
                *d = T::zero();
            }
        });
        if let Some(scale) = hidden_scale {
            for (d, &s) in dhidden.as_mut_slice().iter_mut().zip(scale) {
                *d *= s;
            }
        }

        // Layer 1: dW1ᵀ = dHᵀ X + reg W1ᵀ, db1 = Σ_rows dH
        gemm_into!(grads.w1t, batch_t(&dhidden), &rows_view::<T, I>(x));
        grads.w1t.zip_apply(&*self.w1t, |g, w| *g += reg * w);
        for (j, col) in dhidden.column_iter().enumerate() {
            grads.b1[j] = col.sum();
        }
        data_loss + self.reg_loss(reg)
    }
}

/// Mean softmax cross-entropy of `scores` against the targets `t = (1 - eps) onehot(y) + eps / C`
/// (label smoothing `eps`; 0 is the plain cross-entropy, computed exactly as before smoothing
/// existed); when `dscores` is given it receives d(loss)/d(scores) = (softmax - t) / n.
pub fn softmax_loss<T: Real, const C: usize>(
    scores: &Batch<T, C>,
    y: &[u8],
    dscores: Option<&mut Batch<T, C>>,
    label_smoothing: T,
) -> T {
    let inv_n = T::one() / nalgebra::convert::<f64, T>(scores.nrows() as f64);
    softmax_terms(scores, y, dscores, inv_n, label_smoothing)
}

/// The rows' share of the mean softmax cross-entropy of a batch of `1 /
/// inv_n` rows, and its d(loss)/d(scores) (`softmax_loss` over part of a
/// batch).
pub fn softmax_rows<T: Real, const C: usize>(
    scores: &Batch<T, C>,
    y: &[u8],
    dscores: &mut Batch<T, C>,
    inv_n: T,
    label_smoothing: T,
) -> T {
    softmax_terms(scores, y, Some(dscores), inv_n, label_smoothing)
}

fn softmax_terms<T: Real, const C: usize>(
    scores: &Batch<T, C>,
    y: &[u8],
    mut dscores: Option<&mut Batch<T, C>>,
    inv_n: T,
    label_smoothing: T,
) -> T {
    assert_eq!(scores.nrows(), y.len(), "one label per row");
    // Targets: `off` for every class, `on` for the label. With no smoothing these are
    // exactly 0 and 1, so the gradient keeps its bits.
    let off = label_smoothing / nalgebra::convert::<f64, T>(C as f64);
    let on = T::one() - label_smoothing + off;
    let mut loss = T::zero();
    let mut probs = [T::zero(); C];
    for (r, row) in scores.row_iter().enumerate() {
        let max = row.max();
        let mut sum = T::zero();
        for (p, &s) in probs.iter_mut().zip(row.iter()) {
            *p = (s - max).exp();
            sum += *p;
        }
        let label = y[r] as usize;
        // log softmax computed from the shifted scores keeps it finite
        if label_smoothing == T::zero() {
            loss -= row[label] - max - sum.ln();
        } else {
            // -Σ_k t_k log p_k with Σ_k t_k = 1: ln(sum) - Σ_k t_k (s_k - max).
            let mut dot = T::zero();
            for (k, &s) in row.iter().enumerate() {
                let target = if k == label { on } else { off };
                dot += target * (s - max);
            }
            loss += sum.ln() - dot;
        }
        if let Some(d) = dscores.as_deref_mut() {
            for (k, p) in probs.iter().enumerate() {
                let target = if k == label { on } else { off };
                d[(r, k)] = (*p / sum - target) * inv_n;
            }
        }
    }
    loss * inv_n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn init_fills_like_numpy_row_major() {
        // np.random.seed(0); 1e-1 * np.random.randn(4, 10): W1[0, 1] is the 2nd draw.
        let mut rng = NumpyRng::new(0);
        let net = TwoLayerNet::<f64, 4, 10, 3>::init(0.1, &mut rng);
        assert!((net.w1t[(0, 0)] - 0.176405235).abs() < 1e-8);
        assert!((net.w1t[(1, 0)] - 0.040015721).abs() < 1e-8);
        assert!(net.b1.iter().chain(net.b2.iter()).all(|&b| b == 0.0));
    }

    #[test]
    fn f32_and_f64_agree() {
        let mut rng = NumpyRng::new(3);
        let n64 = TwoLayerNet::<f64, 12, 8, 5>::init(0.5, &mut rng);
        let n32: TwoLayerNet<f32, 12, 8, 5> = n64.cast();
        let x64: Vec<f64> = (0..12 * 7).map(|_| rng.randn()).collect();
        let x32: Vec<f32> = x64.iter().map(|&v| v as f32).collect();
        let y = [0u8, 1, 2, 3, 4, 0, 1];
        let (l64, l32) = (n64.loss(&x64, &y, 0.1), n32.loss(&x32, &y, 0.1));
        assert!((l64 - l32 as f64).abs() < 1e-5, "{l64} vs {l32}");
    }

    #[test]
    fn dropout_gradients_match_numerical() {
        // With a fixed mask the masked loss is a smooth function of the weights.
        let mut rng = NumpyRng::new(9);
        let mut net = TwoLayerNet::<f64, 7, 9, 4>::init(0.5, &mut rng);
        let x: Vec<f64> = (0..7 * 8).map(|_| rng.randn()).collect();
        let y = [0u8, 1, 2, 3, 0, 1, 2, 3];
        let mask: Vec<f64> = (0..8 * 9)
            .map(|i| if i % 3 == 0 { 0.0 } else { 1.5 })
            .collect();
        let mut grads = TwoLayerNet::zeros();
        net.loss_and_grads_masked(&x, &y, 0.01, 0.0, Some(&mask), &mut grads);
        for (p, name) in PARAM_NAMES.iter().enumerate() {
            let num = crate::train::gradcheck::numerical_gradient(&mut net, p, 1e-5, |n| {
                let fwd = n.forward_masked(&x, Some(&mask));
                softmax_loss(&fwd.scores, &y, None, 0.0) + n.reg_loss(0.01)
            });
            let err = crate::train::gradcheck::rel_error(&num, grads.slices()[p]);
            assert!(err < 1e-6, "{name}: {err}");
        }
    }

    #[test]
    fn label_smoothing_gradients_match_numerical() {
        let mut rng = NumpyRng::new(4);
        let mut net = TwoLayerNet::<f64, 6, 8, 5>::init(0.5, &mut rng);
        let x: Vec<f64> = (0..6 * 7).map(|_| rng.randn()).collect();
        let y = [0u8, 1, 2, 3, 4, 0, 2];
        let mask: Vec<f64> = (0..7 * 8)
            .map(|i| if i % 4 == 0 { 0.0 } else { 4.0 / 3.0 })
            .collect();
        for eps in [0.1, 0.5] {
            for scale in [None, Some(&mask[..])] {
                let mut grads = TwoLayerNet::zeros();
                let loss = net.loss_and_grads_masked(&x, &y, 0.01, eps, scale, &mut grads);
                let f = |n: &TwoLayerNet<f64, 6, 8, 5>| {
                    softmax_loss(&n.forward_masked(&x, scale).scores, &y, None, eps)
                        + n.reg_loss(0.01)
                };
                assert!((loss - f(&net)).abs() < 1e-12, "the loss it returns");
                for (p, name) in PARAM_NAMES.iter().enumerate() {
                    let num = crate::train::gradcheck::numerical_gradient(&mut net, p, 1e-5, f);
                    let err = crate::train::gradcheck::rel_error(&num, grads.slices()[p]);
                    assert!(err < 1e-6, "eps {eps} {name}: {err}");
                }
            }
        }
    }

    /// The smoothed loss is the cross-entropy against the soft targets, written out.
    #[test]
    fn label_smoothing_is_cross_entropy_against_soft_targets() {
        let scores = Batch::<f64, 3>::from_row_slice(&[2.0, -1.0, 0.5, 0.0, 3.0, 1.0]);
        let y = [0u8, 2];
        let eps = 0.3;
        let mut want = 0.0;
        for (r, &label) in y.iter().enumerate() {
            let row: Vec<f64> = (0..3).map(|k| scores[(r, k)]).collect();
            let z: f64 = row.iter().map(|s| s.exp()).sum();
            for (k, s) in row.iter().enumerate() {
                let t = if k == label as usize { 1.0 - eps } else { 0.0 } + eps / 3.0;
                want -= t * (s.exp() / z).ln();
            }
        }
        want /= 2.0;
        let got = softmax_loss(&scores, &y, None, eps);
        assert!((got - want).abs() < 1e-12, "{got} vs {want}");
    }

    #[test]
    fn argmax_takes_first_of_ties() {
        assert_eq!(argmax([1.0, 3.0, 3.0, 2.0]), 1);
        assert_eq!(argmax([5, 1]), 0);
    }
}
