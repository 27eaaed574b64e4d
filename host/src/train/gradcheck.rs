//! Numerical gradient check, as the homework's `eval_numerical_gradient`
//! (centred differences) and `rel_error`.

use crate::real::Real;
use crate::train::net::{TwoLayerNet, PARAM_NAMES};

/// `max |a - b| / max(1e-8, |a| + |b|)`, the homework's `rel_error`.
pub fn rel_error(a: &[f64], b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs() / (x.abs() + y.abs()).max(1e-8))
        .fold(0.0, f64::max)
}

/// Centred-difference gradient of `f` with respect to parameter `param`
/// (index into `PARAM_NAMES`), step `h`, in the parameter's storage order.
pub fn numerical_gradient<T: Real, const I: usize, const H: usize, const C: usize>(
    net: &mut TwoLayerNet<T, I, H, C>,
    param: usize,
    h: f64,
    f: impl Fn(&TwoLayerNet<T, I, H, C>) -> T,
) -> Vec<f64> {
    let len = net.slices()[param].len();
    let h_t: T = nalgebra::convert(h);
    (0..len)
        .map(|idx| {
            let old = net.slices()[param][idx];
            net.slices_mut()[param][idx] = old + h_t;
            let plus: f64 = f(net).into();
            net.slices_mut()[param][idx] = old - h_t;
            let minus: f64 = f(net).into();
            net.slices_mut()[param][idx] = old;
            (plus - minus) / (2.0 * h)
        })
        .collect()
}

/// Max relative error between analytic and numerical gradients of the loss
/// on (`x`, `y`) with regularisation `reg`, per parameter, in `PARAM_NAMES` order.
pub fn check<const I: usize, const H: usize, const C: usize>(
    net: &TwoLayerNet<f64, I, H, C>,
    x: &[f64],
    y: &[u8],
    reg: f64,
    h: f64,
) -> [(&'static str, f64); 4] {
    let mut grads = TwoLayerNet::<f64, I, H, C>::zeros();
    net.loss_and_grads(x, y, reg, &mut grads);
    let mut probe = net.clone();
    let analytic = grads.slices();
    std::array::from_fn(|p| {
        let numeric = numerical_gradient(&mut probe, p, h, |n| n.loss(x, y, reg));
        (PARAM_NAMES[p], rel_error(&numeric, analytic[p]))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::NumpyRng;

    #[test]
    fn rel_error_like_numpy() {
        assert_eq!(rel_error(&[1.0, 2.0], &[1.0, 2.0]), 0.0);
        assert!((rel_error(&[1.0], &[3.0]) - 0.5).abs() < 1e-15);
        assert_eq!(rel_error(&[0.0], &[1e-12]), 1e-12 / 1e-8);
    }

    #[test]
    fn a_wrong_gradient_is_caught() {
        // The check must be able to fail: compare against a corrupted gradient.
        let mut rng = NumpyRng::new(2);
        let mut net = TwoLayerNet::<f64, 5, 6, 3>::init(0.5, &mut rng);
        let x: Vec<f64> = (0..20).map(|_| rng.randn()).collect();
        let y = [0, 1, 2, 1];
        let mut grads = TwoLayerNet::zeros();
        net.loss_and_grads(&x, &y, 0.1, &mut grads);
        let numeric = numerical_gradient(&mut net, 0, 1e-5, |n| n.loss(&x, &y, 0.1));
        assert!(rel_error(&numeric, grads.slices()[0]) < 1e-7);
        grads.slices_mut()[0][3] *= 1.01;
        assert!(rel_error(&numeric, grads.slices()[0]) > 1e-3);
    }
}
