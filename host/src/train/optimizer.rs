//! Parameter updates and learning-rate schedules.

use serde::{Deserialize, Serialize};

use multiversion::multiversion;

use crate::real::Real;

#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Optimizer {
    /// The homework's SGD with momentum (`TrainConfig::momentum`).
    Sgd,
    /// Adam with decoupled weight decay (Loshchilov & Hutter, AdamW).
    AdamW {
        beta1: f64,
        beta2: f64,
        eps: f64,
        weight_decay: f64,
    },
}

#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Schedule {
    /// The homework's: multiply by `TrainConfig::learning_rate_decay` once per epoch.
    StepPerEpoch,
    /// Linear warm-up, then half a cosine down to `min_ratio` times the start rate.
    Cosine { warmup_iters: usize, min_ratio: f64 },
}

impl Schedule {
    /// Rate for iteration `it` of `total` under a cosine schedule; `None` for
    /// the per-epoch step schedule, which the trainer applies itself.
    pub fn rate_at(&self, base: f64, it: usize, total: usize) -> Option<f64> {
        match *self {
            Schedule::StepPerEpoch => None,
            Schedule::Cosine {
                warmup_iters,
                min_ratio,
            } => {
                if it < warmup_iters {
                    return Some(base * (it + 1) as f64 / warmup_iters as f64);
                }
                let span = total.saturating_sub(warmup_iters).max(1) as f64;
                let progress = ((it - warmup_iters) as f64 / span).min(1.0);
                let cos = 0.5 * (1.0 + (std::f64::consts::PI * progress).cos());
                Some(base * (min_ratio + (1.0 - min_ratio) * cos))
            }
        }
    }
}

/// `v = mu*v - lr*g; w += v`
#[multiversion(targets("x86_64+avx2+fma", "x86_64+avx", "aarch64+neon"))]
pub fn sgd_momentum<T: Real>(w: &mut [T], v: &mut [T], g: &[T], lr: T, mu: T) {
    for ((w, v), &g) in w.iter_mut().zip(v.iter_mut()).zip(g) {
        *v = mu * *v - lr * g;
        *w += *v;
    }
}

/// One AdamW step at time `t` (1-based) on a parameter tensor.
#[allow(clippy::too_many_arguments)]
pub fn adamw<T: Real>(
    w: &mut [T],
    m: &mut [T],
    v: &mut [T],
    g: &[T],
    lr: f64,
    t: u64,
    (beta1, beta2, eps, weight_decay): (f64, f64, f64, f64),
    decay_this: bool,
) {
    let bc1 = 1.0 - beta1.powi(t.min(i32::MAX as u64) as i32);
    let bc2 = 1.0 - beta2.powi(t.min(i32::MAX as u64) as i32);
    let step: T = nalgebra::convert(lr / bc1);
    let inv_bc2: T = nalgebra::convert(1.0 / bc2);
    let (b1, b2): (T, T) = (nalgebra::convert(beta1), nalgebra::convert(beta2));
    let (one, eps): (T, T) = (T::one(), nalgebra::convert(eps));
    let shrink: T = nalgebra::convert(if decay_this {
        1.0 - lr * weight_decay
    } else {
        1.0
    });
    adamw_update(w, m, v, g, [b1, b2, one, eps, shrink, step, inv_bc2]);
}

#[multiversion(targets("x86_64+avx2+fma", "x86_64+avx", "aarch64+neon"))]
fn adamw_update<T: Real>(w: &mut [T], m: &mut [T], v: &mut [T], g: &[T], k: [T; 7]) {
    let [b1, b2, one, eps, shrink, step, inv_bc2] = k;
    for (((w, m), v), &g) in w.iter_mut().zip(m.iter_mut()).zip(v.iter_mut()).zip(g) {
        *m = b1 * *m + (one - b1) * g;
        *v = b2 * *v + (one - b2) * g * g;
        *w = *w * shrink - step * *m / ((*v * inv_bc2).sqrt() + eps);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cosine_warms_up_then_decays_to_the_floor() {
        let s = Schedule::Cosine {
            warmup_iters: 10,
            min_ratio: 0.01,
        };
        assert!((s.rate_at(1.0, 0, 110).unwrap() - 0.1).abs() < 1e-12);
        assert!((s.rate_at(1.0, 9, 110).unwrap() - 1.0).abs() < 1e-12);
        assert!((s.rate_at(1.0, 10, 110).unwrap() - 1.0).abs() < 1e-12);
        assert!((s.rate_at(1.0, 60, 110).unwrap() - 0.505).abs() < 1e-12);
        assert!((s.rate_at(1.0, 110, 110).unwrap() - 0.01).abs() < 1e-12);
        assert_eq!(Schedule::StepPerEpoch.rate_at(1.0, 5, 10), None);
    }

    #[test]
    fn adamw_first_step_moves_by_lr_against_the_gradient() {
        // With bias correction the first step is lr * g/|g| (plus decay).
        let (mut w, mut m, mut v) = (vec![1.0f64, -2.0], vec![0.0; 2], vec![0.0; 2]);
        adamw(
            &mut w,
            &mut m,
            &mut v,
            &[0.5, -3.0],
            0.01,
            1,
            (0.9, 0.999, 1e-12, 0.0),
            true,
        );
        assert!(
            (w[0] - 0.99).abs() < 1e-9 && (w[1] + 1.99).abs() < 1e-9,
            "{w:?}"
        );
        let (mut w, mut m, mut v) = (vec![1.0f64], vec![0.0], vec![0.0]);
        adamw(
            &mut w,
            &mut m,
            &mut v,
            &[0.0],
            0.1,
            1,
            (0.9, 0.999, 1e-8, 0.5),
            true,
        );
        assert!((w[0] - 0.95).abs() < 1e-12, "decoupled decay: {w:?}");
    }
}
