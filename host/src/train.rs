//! Minibatch SGD with momentum, as the homework trains: batches drawn with
//! replacement (`np.random.choice`), learning-rate decay once per epoch, and
//! train (batch) / validation accuracy recorded per epoch.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::mnist::Split;
use crate::net::{Real, TwoLayerNet};
use crate::rng::NumpyRng;

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct TrainConfig {
    pub learning_rate: f64,
    /// Multiplies the learning rate once per epoch.
    pub learning_rate_decay: f64,
    pub momentum: f64,
    pub reg: f64,
    pub num_iters: usize,
    pub batch_size: usize,
}

impl TrainConfig {
    /// Iterations per epoch as the homework counts them: `max(n / batch, 1)`.
    pub fn iterations_per_epoch(&self, num_train: usize) -> usize {
        (num_train / self.batch_size.max(1)).max(1)
    }
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct TrainStats {
    pub loss_history: Vec<f64>,
    /// Accuracy on the current minibatch at each epoch start (as the homework).
    pub train_acc_history: Vec<f64>,
    pub val_acc_history: Vec<f64>,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum TrainError {
    #[error(
        "training diverged at iteration {iteration}: loss is {loss} with learning rate {learning_rate:e}; \
         try a smaller --lr"
    )]
    Diverged {
        iteration: usize,
        learning_rate: f64,
        loss: f64,
    },
    #[error("invalid training setting: {0}")]
    Invalid(String),
}

/// Receives progress while training runs.
pub trait Observer {
    fn iteration(&mut self, _iteration: usize, _loss: f64) {}
    fn epoch(&mut self, _epoch: usize, _train_acc: f64, _val_acc: f64, _learning_rate: f64) {}
}

pub struct NoObserver;
impl Observer for NoObserver {}

/// Fraction of rows of `data` the net classifies correctly (parallel chunks).
pub fn accuracy<T: Real, const I: usize, const H: usize, const C: usize>(
    net: &TwoLayerNet<T, I, H, C>,
    data: &Split<T>,
) -> f64 {
    if data.is_empty() {
        return 0.0;
    }
    const CHUNK: usize = 500;
    let correct: usize = data
        .x
        .par_chunks(CHUNK * I)
        .zip(data.y.par_chunks(CHUNK))
        .map(|(x, y)| net.predict(x).iter().zip(y).filter(|(p, t)| p == t).count())
        .sum();
    correct as f64 / data.len() as f64
}

fn validate(cfg: &TrainConfig, train: usize) -> Result<(), TrainError> {
    let bad = |m: &str| Err(TrainError::Invalid(m.into()));
    if train == 0 {
        return bad("no training data");
    }
    if cfg.batch_size == 0 {
        return bad("batch size must be at least 1");
    }
    if !(cfg.learning_rate.is_finite() && cfg.learning_rate > 0.0) {
        return bad("learning rate must be a positive number");
    }
    if !(cfg.learning_rate_decay.is_finite() && cfg.learning_rate_decay > 0.0) {
        return bad("learning-rate decay must be a positive number");
    }
    if !(0.0..1.0).contains(&cfg.momentum) {
        return bad("momentum must be in [0, 1)");
    }
    if !(cfg.reg.is_finite() && cfg.reg >= 0.0) {
        return bad("reg must be >= 0");
    }
    if train > u32::MAX as usize {
        return bad("more than 2^32 training rows");
    }
    Ok(())
}

/// One SGD-with-momentum learner: its buffers are allocated once and reused
/// by every step. Update as the homework: `v = mu*v - lr*dW; W += v`.
pub struct Sgd<T: Real, const I: usize, const H: usize, const C: usize> {
    grads: TwoLayerNet<T, I, H, C>,
    velocity: TwoLayerNet<T, I, H, C>,
    indices: Vec<usize>,
    x_batch: Vec<T>,
    y_batch: Vec<u8>,
    /// The rate in force; `train` decays it once per epoch.
    pub learning_rate: f64,
    momentum: T,
    reg: T,
}

impl<T: Real, const I: usize, const H: usize, const C: usize> Sgd<T, I, H, C> {
    pub fn new(cfg: &TrainConfig) -> Self {
        Self {
            grads: TwoLayerNet::zeros(),
            velocity: TwoLayerNet::zeros(),
            indices: vec![0; cfg.batch_size],
            x_batch: vec![T::zero(); cfg.batch_size * I],
            y_batch: vec![0; cfg.batch_size],
            learning_rate: cfg.learning_rate,
            momentum: nalgebra::convert(cfg.momentum),
            reg: nalgebra::convert(cfg.reg),
        }
    }

    /// Draw a minibatch with replacement, compute loss and gradients, update
    /// `net`. Returns the loss (before the update); a non-finite loss leaves
    /// `net` untouched and is returned as is.
    pub fn step(
        &mut self,
        net: &mut TwoLayerNet<T, I, H, C>,
        train: &Split<T>,
        rng: &mut NumpyRng,
    ) -> f64 {
        rng.choice_into(train.len() as u32, &mut self.indices);
        for (b, &i) in self.indices.iter().enumerate() {
            self.x_batch[b * I..(b + 1) * I].copy_from_slice(train.image_of::<I>(i));
            self.y_batch[b] = train.y[i];
        }
        let loss: f64 = net
            .loss_and_grads(&self.x_batch, &self.y_batch, self.reg, &mut self.grads)
            .into();
        if !loss.is_finite() {
            return loss;
        }
        let (mu, lr): (T, T) = (self.momentum, nalgebra::convert(self.learning_rate));
        for ((w, v), g) in net
            .slices_mut()
            .into_iter()
            .zip(self.velocity.slices_mut())
            .zip(self.grads.slices())
        {
            for ((w, v), &g) in w.iter_mut().zip(v.iter_mut()).zip(g) {
                *v = mu * *v - lr * g;
                *w += *v;
            }
        }
        loss
    }

    /// Accuracy of `net` on the last minibatch drawn.
    pub fn batch_accuracy(&self, net: &TwoLayerNet<T, I, H, C>) -> f64 {
        let pred = net.predict(&self.x_batch);
        let correct = pred
            .iter()
            .zip(&self.y_batch)
            .filter(|(p, t)| p == t)
            .count();
        correct as f64 / self.y_batch.len() as f64
    }
}

/// Train `net` in place for `cfg.num_iters` steps. `rng` drives minibatch
/// sampling (seed it for a reproducible run). At each epoch start (as the
/// homework counts them) it records batch and validation accuracy, then
/// decays the learning rate.
pub fn train<T: Real, const I: usize, const H: usize, const C: usize>(
    net: &mut TwoLayerNet<T, I, H, C>,
    train: &Split<T>,
    val: &Split<T>,
    cfg: &TrainConfig,
    rng: &mut NumpyRng,
    observer: &mut dyn Observer,
) -> Result<TrainStats, TrainError> {
    validate(cfg, train.len())?;
    let per_epoch = cfg.iterations_per_epoch(train.len());
    let mut sgd = Sgd::new(cfg);
    let mut stats = TrainStats::default();
    for it in 0..cfg.num_iters {
        let loss = sgd.step(net, train, rng);
        if !loss.is_finite() {
            return Err(TrainError::Diverged {
                iteration: it,
                learning_rate: sgd.learning_rate,
                loss,
            });
        }
        stats.loss_history.push(loss);
        observer.iteration(it, loss);
        if it.is_multiple_of(per_epoch) {
            let train_acc = sgd.batch_accuracy(net);
            let val_acc = accuracy(net, val);
            stats.train_acc_history.push(train_acc);
            stats.val_acc_history.push(val_acc);
            observer.epoch(it / per_epoch, train_acc, val_acc, sgd.learning_rate);
            sgd.learning_rate *= cfg.learning_rate_decay;
        }
    }
    Ok(stats)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blobs(rng: &mut NumpyRng, n: usize) -> Split<f64> {
        // Three well-separated Gaussian blobs in 2-D.
        let centres = [[3.0, 0.0], [-3.0, 0.0], [0.0, 3.0]];
        let mut x = Vec::new();
        let mut y = Vec::new();
        for i in 0..n {
            let k = i % 3;
            x.push(centres[k][0] + 0.5 * rng.randn());
            x.push(centres[k][1] + 0.5 * rng.randn());
            y.push(k as u8);
        }
        Split { x, y }
    }

    fn cfg() -> TrainConfig {
        TrainConfig {
            learning_rate: 0.1,
            learning_rate_decay: 0.95,
            momentum: 0.9,
            reg: 1e-4,
            num_iters: 200,
            batch_size: 32,
        }
    }

    #[test]
    fn learns_separable_blobs_reproducibly() {
        let mut rng = NumpyRng::new(0);
        let data = blobs(&mut rng, 300);
        let run = || {
            let mut rng = NumpyRng::new(42);
            let mut net = TwoLayerNet::<f64, 2, 8, 3>::init(0.1, &mut rng);
            let stats = train(&mut net, &data, &data, &cfg(), &mut rng, &mut NoObserver).unwrap();
            (accuracy(&net, &data), stats.loss_history)
        };
        let (acc, losses) = run();
        assert!(acc > 0.98, "accuracy {acc}");
        assert!(
            losses.last().unwrap() < &0.2,
            "final loss {:?}",
            losses.last()
        );
        assert_eq!(run().1, losses, "same seed, same run");
        // Per-epoch records: 300/32 = 9 iterations per epoch, 200 iterations -> 23 epoch marks.
        let mut net = TwoLayerNet::<f64, 2, 8, 3>::init(0.1, &mut NumpyRng::new(1));
        let stats = train(
            &mut net,
            &data,
            &data,
            &cfg(),
            &mut NumpyRng::new(1),
            &mut NoObserver,
        )
        .unwrap();
        assert_eq!(stats.val_acc_history.len(), 23);
    }

    #[test]
    fn divergence_is_reported_with_iteration_and_rate() {
        let mut rng = NumpyRng::new(0);
        let data = blobs(&mut rng, 60);
        let mut net = TwoLayerNet::<f64, 2, 8, 3>::init(1.0, &mut rng);
        let bad = TrainConfig {
            learning_rate: 1e12,
            ..cfg()
        };
        match train(&mut net, &data, &data, &bad, &mut rng, &mut NoObserver) {
            Err(TrainError::Diverged {
                learning_rate,
                loss,
                ..
            }) => {
                // the rate in force when it blew up: 1e12 decayed by 0.95 per epoch
                assert!(
                    learning_rate <= 1e12 && learning_rate > 1e11,
                    "{learning_rate}"
                );
                assert!(!loss.is_finite());
            }
            other => panic!("expected divergence, got {other:?}"),
        }
    }

    #[test]
    fn nonsense_settings_are_rejected() {
        let data = blobs(&mut NumpyRng::new(0), 30);
        let mut net = TwoLayerNet::<f64, 2, 4, 3>::zeros();
        for bad in [
            TrainConfig {
                batch_size: 0,
                ..cfg()
            },
            TrainConfig {
                learning_rate: -1.0,
                ..cfg()
            },
            TrainConfig {
                momentum: 1.0,
                ..cfg()
            },
            TrainConfig {
                reg: f64::NAN,
                ..cfg()
            },
        ] {
            let r = train(
                &mut net,
                &data,
                &data,
                &bad,
                &mut NumpyRng::new(0),
                &mut NoObserver,
            );
            assert!(
                matches!(r, Err(TrainError::Invalid(_))),
                "{bad:?} gave {r:?}"
            );
        }
    }
}
