//! The homework's toy model and toy data, and its reference numbers.
//!
//! `np.random.seed(0)` then `TwoLayerNet(4, 10, 3, std=1e-1)`;
//! `np.random.seed(1)` then `X = 10 * np.random.randn(5, 4)`, `y = [0, 1, 2, 2, 1]`.

use serde::Serialize;

use crate::data::mnist::Split;
use crate::rng::NumpyRng;
use crate::train::gradcheck;
use crate::train::net::TwoLayerNet;
use crate::train::trainer::{train, Extras, NoObserver, TrainConfig, TrainData, TrainError};

pub const INPUT: usize = 4;
pub const HIDDEN: usize = 10;
pub const CLASSES: usize = 3;
pub const INPUTS: usize = 5;
pub const LABELS: [u8; INPUTS] = [0, 1, 2, 2, 1];

pub type ToyNet = TwoLayerNet<f64, INPUT, HIDDEN, CLASSES>;

/// The homework's `correct_scores`.
pub const CORRECT_SCORES: [[f64; CLASSES]; INPUTS] = [
    [-0.81233741, -1.27654624, -0.70335995],
    [-0.17129677, -1.18803311, -0.47310444],
    [-0.51590475, -1.01354314, -0.8504215],
    [-0.15419291, -0.48629638, -0.52901952],
    [-0.00618733, -0.12435261, -0.15226949],
];
/// The homework's `correct_loss` (reg 0.1).
pub const CORRECT_LOSS: f64 = 1.30378789133;
/// Gradient-check errors the homework printed (reg 0.05); ours must be < 1e-8.
pub const HOMEWORK_GRAD_REL_ERROR: [(&str, f64); 4] = [
    ("W1", 4.090897e-09),
    ("b1", 2.738421e-09),
    ("W2", 3.440708e-09),
    ("b2", 3.865080e-11),
];
/// Final toy training loss the homework printed; ours must be < 0.05.
pub const HOMEWORK_TRAIN_FINAL_LOSS: f64 = 0.017143643532923733;

/// The toy training the homework runs: lr 0.1, reg 5e-6, 100 iterations,
/// batch 200 drawn with replacement from the 5 inputs.
pub fn toy_train_config() -> TrainConfig {
    TrainConfig {
        learning_rate: 0.1,
        learning_rate_decay: 0.95,
        momentum: 0.9,
        reg: 5e-6,
        num_iters: 100,
        batch_size: 200,
    }
}

/// The toy model, its data, and the RNG as the homework leaves it afterwards.
pub fn toy_setup() -> (ToyNet, Vec<f64>, NumpyRng) {
    let net = ToyNet::init(1e-1, &mut NumpyRng::new(0));
    let mut rng = NumpyRng::new(1);
    let x = (0..INPUTS * INPUT).map(|_| 10.0 * rng.randn()).collect();
    (net, x, rng)
}

#[derive(Debug, Serialize)]
pub struct ToyReport {
    pub scores: Vec<[f64; CLASSES]>,
    /// Σ|scores - correct_scores|
    pub scores_diff: f64,
    pub loss: f64,
    pub loss_diff: f64,
    #[serde(rename = "grad_rel_error")]
    pub grad_rel_error: std::collections::BTreeMap<&'static str, f64>,
    pub train_final_loss: f64,
}

/// Run every toy check of the homework.
pub fn run() -> Result<ToyReport, TrainError> {
    let (net, x, mut rng) = toy_setup();
    let s = net.scores(&x);
    let scores: Vec<[f64; CLASSES]> = (0..INPUTS)
        .map(|r| std::array::from_fn(|k| s[(r, k)]))
        .collect();
    let scores_diff = scores
        .iter()
        .flatten()
        .zip(CORRECT_SCORES.iter().flatten())
        .map(|(a, b)| (a - b).abs())
        .sum();
    let loss = net.loss(&x, &LABELS, 0.1);
    let grad_rel_error = gradcheck::check(&net, &x, &LABELS, 0.05, 1e-5)
        .into_iter()
        .collect();

    let mut trained = net.clone();
    let data = Split {
        x: x.clone(),
        y: LABELS.to_vec(),
    };
    let stats = train(
        &mut trained,
        TrainData::dense(&data, &data),
        &toy_train_config(),
        &Extras::default(),
        &mut rng,
        &mut NoObserver,
    )?;
    Ok(ToyReport {
        scores,
        scores_diff,
        loss,
        loss_diff: (loss - CORRECT_LOSS).abs(),
        grad_rel_error,
        train_final_loss: stats.loss_history.last().copied().unwrap_or(f64::NAN),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn homework_toy_numbers() {
        let r = run().unwrap();
        assert!(r.scores_diff < 1e-7, "scores differ by {}", r.scores_diff);
        assert!(r.loss_diff < 1e-12, "loss {} vs {CORRECT_LOSS}", r.loss);
        for (name, err) in &r.grad_rel_error {
            assert!(*err < 1e-8, "{name} relative error {err}");
        }
        assert!(
            r.train_final_loss < 0.05,
            "toy training ended at {}",
            r.train_final_loss
        );
    }
}
