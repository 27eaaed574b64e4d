//! Minibatch SGD with momentum, as the homework trains: batches drawn with
//! replacement (`np.random.choice`), learning-rate decay once per epoch, and
//! train (batch) / validation accuracy recorded per epoch.

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::data::augment::{Affine, Distorter, Elastic};
use crate::data::mnist::Split;
use crate::data::sparse_rows::SparseRows;
use crate::real::Real;
use crate::rng::NumpyRng;
use crate::train::net::TwoLayerNet;
use crate::train::optimizer::{self, Optimizer, Schedule};
use crate::train::sparse_step::SparseScratch;

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
pub trait Observer: Send {
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

/// Beyond the homework: optimiser, schedule, dropout and augmentation.
/// `Extras::default()` is the homework's plain SGD-with-momentum run.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Extras {
    pub optimizer: Optimizer,
    pub schedule: Schedule,
    /// Probability of zeroing an input pixel during training (inverted dropout).
    pub dropout_input: f64,
    /// Probability of zeroing a hidden unit during training (inverted dropout).
    pub dropout_hidden: f64,
    /// Random affine distortion of every training image, when set.
    pub augment: Option<Affine>,
    /// Random elastic distortion of every training image, when set.
    #[serde(default)]
    pub elastic: Option<Elastic>,
    /// Label smoothing: the loss is the cross-entropy against `(1 - eps) onehot + eps / classes`
    /// (0: the plain cross-entropy).
    #[serde(default)]
    pub label_smoothing: f64,
    /// Decay of an exponential moving average of the weights, updated after every step,
    /// when set: the epoch marks evaluate the average and training ends with the net set to
    /// it (so the checkpoint and the int8 model are the average).
    #[serde(default)]
    pub ema: Option<f64>,
}

impl Default for Extras {
    fn default() -> Self {
        Self {
            optimizer: Optimizer::Sgd,
            schedule: Schedule::StepPerEpoch,
            dropout_input: 0.0,
            dropout_hidden: 0.0,
            augment: None,
            elastic: None,
            label_smoothing: 0.0,
            ema: None,
        }
    }
}

impl Extras {
    fn needs_aux_rng(&self) -> bool {
        self.dropout_input > 0.0 || self.dropout_hidden > 0.0 || self.distorts()
    }

    fn distorts(&self) -> bool {
        self.augment.is_some() || self.elastic.is_some()
    }
}

/// What the trainer reads: the splits and the mean image subtracted from
/// them (augmentation warps `x + mean`).
#[derive(Clone, Copy)]
pub struct TrainData<'a, T> {
    pub train: &'a Split<T>,
    pub val: &'a Split<T>,
    pub mean_image: &'a [f32],
    /// The training images as sparse raw pixels (`train.x` is `pixels/255 -
    /// mean_image`). With them, steps on undistorted inputs use the sparse
    /// step (`crate::train::sparse_step`), the same arithmetic at a fifth of the cost.
    pub pixels: Option<&'a SparseRows<T>>,
}

impl<'a, T> TrainData<'a, T> {
    /// Dense preprocessed splits only: no mean image, no sparse pixels (the toy model and
    /// the plain homework runs).
    pub fn dense(train: &'a Split<T>, val: &'a Split<T>) -> Self {
        Self {
            train,
            val,
            mean_image: &[],
            pixels: None,
        }
    }
}

/// Inverted-dropout scales: 0 with probability `p`, else `1/(1-p)`.
fn dropout_scales<T: Real>(out: &mut [T], p: f64, rng: &mut SmallRng) {
    let keep: T = nalgebra::convert(1.0 / (1.0 - p));
    for o in out {
        *o = if rng.random::<f64>() < p {
            T::zero()
        } else {
            keep
        };
    }
}

/// One learner: its buffers and optimiser state are allocated once and
/// reused by every step.
pub struct Learner<T: Real, const I: usize, const H: usize, const C: usize> {
    grads: TwoLayerNet<T, I, H, C>,
    /// SGD velocity, or Adam's first moment.
    moment1: TwoLayerNet<T, I, H, C>,
    /// Adam's second moment.
    moment2: Option<TwoLayerNet<T, I, H, C>>,
    indices: Vec<usize>,
    x_batch: Vec<T>,
    /// Whether `x_batch` holds the last batch (the sparse step does not form it).
    x_batch_filled: bool,
    y_batch: Vec<u8>,
    sparse: SparseScratch<T, H, C>,
    mean_t: Vec<T>,
    hidden_scale: Vec<T>,
    aux: SmallRng,
    distorter: Option<Distorter>,
    /// The rate in force.
    pub learning_rate: f64,
    steps: u64,
    cfg: TrainConfig,
    extras: Extras,
    mean_image: Vec<f32>,
}

impl<T: Real, const I: usize, const H: usize, const C: usize> Learner<T, I, H, C> {
    /// `aux_seed` drives dropout masks and distortions (unused without them).
    pub fn new(cfg: &TrainConfig, extras: &Extras, aux_seed: u64, mean_image: &[f32]) -> Self {
        let mut aux = SmallRng::seed_from_u64(aux_seed);
        let distorter = (extras.distorts() && mean_image.len() == I)
            .then(|| Distorter::new(extras.augment, extras.elastic, &mut aux));
        Self {
            grads: TwoLayerNet::zeros(),
            moment1: TwoLayerNet::zeros(),
            moment2: matches!(extras.optimizer, Optimizer::AdamW { .. }).then(TwoLayerNet::zeros),
            indices: vec![0; cfg.batch_size],
            x_batch: vec![T::zero(); cfg.batch_size * I],
            x_batch_filled: false,
            y_batch: vec![0; cfg.batch_size],
            sparse: SparseScratch::default(),
            mean_t: mean_image.iter().map(|&m| T::from(m)).collect(),
            hidden_scale: if extras.dropout_hidden > 0.0 {
                vec![T::zero(); cfg.batch_size * H]
            } else {
                Vec::new()
            },
            aux,
            distorter,
            learning_rate: cfg.learning_rate,
            steps: 0,
            cfg: cfg.clone(),
            extras: extras.clone(),
            mean_image: mean_image.to_vec(),
        }
    }

    fn distort_batch(&mut self) {
        let Some(distorter) = &self.distorter else {
            return;
        };
        let seeds: Vec<u64> = (0..self.y_batch.len()).map(|_| self.aux.random()).collect();
        let mean = &self.mean_image;
        self.x_batch
            .par_chunks_mut(I)
            .zip(seeds)
            .for_each(|(img, seed)| {
                let mut rng = SmallRng::seed_from_u64(seed);
                let mut tmp: Vec<f32> = img.iter().map(|&v| v.into() as f32).collect();
                distorter.apply(&mut tmp, mean, &mut rng);
                for (d, s) in img.iter_mut().zip(tmp) {
                    *d = From::from(s);
                }
            });
    }

    /// Draw a minibatch with replacement, distort it and drop out inputs if
    /// asked, compute loss and gradients, update `net`. Returns the loss
    /// (before the update); a non-finite loss leaves `net` untouched. When
    /// `pixels` (the raw images of `train`) are given and the inputs are used
    /// as they are, the gradients come from the sparse step.
    pub fn step(
        &mut self,
        net: &mut TwoLayerNet<T, I, H, C>,
        train: &Split<T>,
        pixels: Option<&SparseRows<T>>,
        rng: &mut NumpyRng,
    ) -> f64 {
        rng.choice_into(train.len() as u32, &mut self.indices);
        for (b, &i) in self.indices.iter().enumerate() {
            self.y_batch[b] = train.y[i];
        }
        let raw_inputs = self.extras.dropout_input == 0.0 && !self.extras.distorts();
        let sparse = pixels.filter(|p| {
            raw_inputs
                && p.len() == train.len()
                && self.mean_t.len() == I
                && self.indices.len() <= crate::train::sparse_step::MAX_BATCH
        });
        self.x_batch_filled = sparse.is_none();
        if sparse.is_none() {
            self.fill_x_batch(train);
            self.distort_batch();
            self.drop_inputs();
        }
        let loss = self.loss_and_grads(net, sparse);
        if !loss.is_finite() {
            return loss;
        }
        self.steps += 1;
        self.update(net);
        loss
    }

    /// Loss and gradients of the drawn batch (with the hidden dropout mask, if any) into
    /// `self.grads`: sparse when `sparse` rows are given, else from `x_batch`.
    fn loss_and_grads(
        &mut self,
        net: &TwoLayerNet<T, I, H, C>,
        sparse: Option<&SparseRows<T>>,
    ) -> f64 {
        let mask = if self.extras.dropout_hidden > 0.0 {
            dropout_scales(
                &mut self.hidden_scale,
                self.extras.dropout_hidden,
                &mut self.aux,
            );
            Some(&self.hidden_scale[..])
        } else {
            None
        };
        let reg: T = nalgebra::convert(self.cfg.reg);
        let smoothing: T = nalgebra::convert(self.extras.label_smoothing);
        match sparse {
            Some(rows) => net.loss_and_grads_sparse(
                rows,
                &self.indices,
                &self.mean_t,
                &self.y_batch,
                reg,
                smoothing,
                mask,
                &mut self.grads,
                &mut self.sparse,
            ),
            None => net.loss_and_grads_masked(
                &self.x_batch,
                &self.y_batch,
                reg,
                smoothing,
                mask,
                &mut self.grads,
            ),
        }
        .into()
    }

    /// Apply `self.grads` to `net` with the configured optimiser.
    fn update(&mut self, net: &mut TwoLayerNet<T, I, H, C>) {
        let params = net
            .slices_mut()
            .into_iter()
            .zip(self.moment1.slices_mut())
            .zip(self.grads.slices());
        match (self.extras.optimizer, &mut self.moment2) {
            (
                Optimizer::AdamW {
                    beta1,
                    beta2,
                    eps,
                    weight_decay,
                },
                Some(m2),
            ) => {
                for (p, ((w, m), g)) in params.enumerate() {
                    // Decay weights, not biases (p = 0: W1, p = 2: W2).
                    let decay = p % 2 == 0;
                    let v = &mut m2.slices_mut()[p];
                    let hyper = (beta1, beta2, eps, weight_decay);
                    optimizer::adamw(w, m, v, g, self.learning_rate, self.steps, hyper, decay);
                }
            }
            _ => {
                let mu: T = nalgebra::convert(self.cfg.momentum);
                let lr: T = nalgebra::convert(self.learning_rate);
                let pair = self.sparse.pair();
                for ((w, v), g) in params {
                    // Elementwise, so the halves give the same bits; only
                    // W1 is worth a second thread.
                    let pair = pair.filter(|_| w.len() > 1 << 15);
                    let half = w.len() / 2;
                    let (w0, w1) = w.split_at_mut(half);
                    let (v0, v1) = v.split_at_mut(half);
                    let (g0, g1) = g.split_at(half);
                    crate::train::fork_join::fork(
                        pair,
                        || optimizer::sgd_momentum(w0, v0, g0, lr, mu),
                        || optimizer::sgd_momentum(w1, v1, g1, lr, mu),
                    );
                }
            }
        }
    }

    fn fill_x_batch(&mut self, train: &Split<T>) {
        for (b, &i) in self.indices.iter().enumerate() {
            self.x_batch[b * I..(b + 1) * I].copy_from_slice(train.image_of::<I>(i));
        }
    }

    fn drop_inputs(&mut self) {
        if self.extras.dropout_input > 0.0 {
            let keep: T = nalgebra::convert(1.0 / (1.0 - self.extras.dropout_input));
            for x in &mut self.x_batch {
                *x = if self.aux.random::<f64>() < self.extras.dropout_input {
                    T::zero()
                } else {
                    *x * keep
                };
            }
        }
    }

    /// Accuracy of `net` on the last minibatch drawn (as distorted), rows
    /// taken from `train` when the step did not form the batch.
    pub fn batch_accuracy(&mut self, net: &TwoLayerNet<T, I, H, C>, train: &Split<T>) -> f64 {
        if !self.x_batch_filled {
            self.fill_x_batch(train);
            self.x_batch_filled = true;
        }
        let pred = net.predict(&self.x_batch);
        let correct = pred
            .iter()
            .zip(&self.y_batch)
            .filter(|(p, t)| p == t)
            .count();
        correct as f64 / self.y_batch.len() as f64
    }
}

/// The exponential moving average of the weights (`Extras::ema`).
struct WeightAverage<T: Real, const I: usize, const H: usize, const C: usize> {
    net: TwoLayerNet<T, I, H, C>,
    decay: f64,
    updates: u64,
}

impl<T: Real, const I: usize, const H: usize, const C: usize> WeightAverage<T, I, H, C> {
    fn new(net: &TwoLayerNet<T, I, H, C>, decay: f64) -> Self {
        Self {
            net: net.clone(),
            decay,
            updates: 0,
        }
    }

    /// `avg += (1 - d) (w - avg)` with `d = min(decay, (1 + t) / (10 + t))` after `t` updates:
    /// the ramp (as TensorFlow's `ExponentialMovingAverage` with `num_updates`) lets the
    /// average leave the random initial weights within a few steps, where a fixed 0.999 would
    /// still hold e^-1 of them after 1,000 steps (2.3 epochs at batch 128). The ramp reaches
    /// 0.999 after about 9,000 steps (21 epochs at batch 128).
    fn update(&mut self, net: &TwoLayerNet<T, I, H, C>) {
        let t = self.updates as f64;
        let d = self.decay.min((1.0 + t) / (10.0 + t));
        self.updates += 1;
        let rate: T = nalgebra::convert(1.0 - d);
        for (avg, w) in self.net.slices_mut().into_iter().zip(net.slices()) {
            for (a, &w) in avg.iter_mut().zip(w) {
                *a += rate * (w - *a);
            }
        }
    }
}

/// Train `net` in place for `cfg.num_iters` steps the homework's way (SGD with momentum,
/// per-epoch decay; `Extras::default()` adds nothing else). `rng` drives minibatch sampling. At
/// each epoch start (as the homework counts them) it records batch and validation accuracy;
/// the step schedule then decays the learning rate.
pub fn train<T: Real, const I: usize, const H: usize, const C: usize>(
    net: &mut TwoLayerNet<T, I, H, C>,
    data: TrainData<'_, T>,
    cfg: &TrainConfig,
    extras: &Extras,
    rng: &mut NumpyRng,
    observer: &mut dyn Observer,
) -> Result<TrainStats, TrainError> {
    validate(cfg, data.train.len())?;
    validate_extras(extras, data.mean_image.len(), I)?;
    let per_epoch = cfg.iterations_per_epoch(data.train.len());
    // Only runs that use them draw the aux seed, so plain runs keep numpy's stream.
    let aux_seed = if extras.needs_aux_rng() {
        rng.next_u32() as u64
    } else {
        0
    };
    let mut learner = Learner::new(cfg, extras, aux_seed, data.mean_image);
    let mut average = extras.ema.map(|decay| WeightAverage::new(net, decay));
    let mut stats = TrainStats::default();
    // The loop runs on a rayon worker: the step's parallel passes then start
    // without a hand-off from this thread (with one rayon thread they run
    // inline), which matters at ~1 ms per step.
    rayon::scope(|_| {
        for it in 0..cfg.num_iters {
            if let Some(lr) = extras
                .schedule
                .rate_at(cfg.learning_rate, it, cfg.num_iters)
            {
                learner.learning_rate = lr;
            }
            let loss = learner.step(net, data.train, data.pixels, rng);
            if !loss.is_finite() {
                return Err(TrainError::Diverged {
                    iteration: it,
                    learning_rate: learner.learning_rate,
                    loss,
                });
            }
            if let Some(average) = &mut average {
                average.update(net);
            }
            stats.loss_history.push(loss);
            observer.iteration(it, loss);
            if it.is_multiple_of(per_epoch) {
                // The net evaluated (and in the end kept): the average, when there is one.
                let evaluated = average.as_ref().map_or(&*net, |a| &a.net);
                let train_acc = learner.batch_accuracy(evaluated, data.train);
                let val_acc = accuracy(evaluated, data.val);
                stats.train_acc_history.push(train_acc);
                stats.val_acc_history.push(val_acc);
                observer.epoch(it / per_epoch, train_acc, val_acc, learner.learning_rate);
                if extras.schedule == Schedule::StepPerEpoch {
                    learner.learning_rate *= cfg.learning_rate_decay;
                }
            }
        }
        Ok(())
    })?;
    if let Some(average) = average {
        *net = average.net;
    }
    Ok(stats)
}

fn validate_extras(extras: &Extras, mean_len: usize, input: usize) -> Result<(), TrainError> {
    let bad = |m: String| Err(TrainError::Invalid(m));
    for (name, p) in [
        ("input", extras.dropout_input),
        ("hidden", extras.dropout_hidden),
    ] {
        if !(0.0..1.0).contains(&p) {
            return bad(format!("{name} dropout must be in [0, 1), got {p}"));
        }
    }
    if !(0.0..1.0).contains(&extras.label_smoothing) {
        return bad(format!(
            "label smoothing must be in [0, 1), got {}",
            extras.label_smoothing
        ));
    }
    if let Some(d) = extras.ema {
        if !(d > 0.0 && d < 1.0) {
            return bad(format!("the EMA decay must be in (0, 1), got {d}"));
        }
    }
    if extras.distorts() && (input != crate::data::mnist::PIXELS || mean_len != input) {
        return bad("augmentation needs 28x28 images and their mean image".into());
    }
    if let Optimizer::AdamW {
        beta1,
        beta2,
        eps,
        weight_decay,
    } = extras.optimizer
    {
        if !((0.0..1.0).contains(&beta1)
            && (0.0..1.0).contains(&beta2)
            && eps > 0.0
            && weight_decay >= 0.0)
        {
            return bad("AdamW needs 0 <= beta1, beta2 < 1, eps > 0, weight decay >= 0".into());
        }
    }
    Ok(())
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
            let stats = train(
                &mut net,
                TrainData::dense(&data, &data),
                &cfg(),
                &Extras::default(),
                &mut rng,
                &mut NoObserver,
            )
            .unwrap();
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
            TrainData::dense(&data, &data),
            &cfg(),
            &Extras::default(),
            &mut NumpyRng::new(1),
            &mut NoObserver,
        )
        .unwrap();
        assert_eq!(stats.val_acc_history.len(), 23);
    }

    #[test]
    fn weight_average_follows_its_ramped_decay() {
        // From zeros towards a constant net of ones: after t updates the average is
        // 1 - Π d_i with d_i = min(decay, (1 + i) / (10 + i)).
        let mut avg = WeightAverage::new(&TwoLayerNet::<f64, 2, 4, 3>::zeros(), 0.5);
        let mut ones = TwoLayerNet::<f64, 2, 4, 3>::zeros();
        ones.slices_mut()
            .into_iter()
            .flatten()
            .for_each(|w| *w = 1.0);
        let mut keep = 1.0;
        for i in 0..20 {
            avg.update(&ones);
            keep *= f64::min(0.5, (1.0 + i as f64) / (10.0 + i as f64));
            for w in avg.net.slices().into_iter().flatten() {
                assert!((w - (1.0 - keep)).abs() < 1e-12, "update {i}: {w}");
            }
        }
    }

    /// The average only watches: the steps (losses) are the same as without it, and the net
    /// training returns is the average, not the last step's weights.
    #[test]
    fn ema_keeps_the_trajectory_and_returns_the_average() {
        let data = blobs(&mut NumpyRng::new(0), 300);
        let run = |ema: Option<f64>| {
            let mut rng = NumpyRng::new(42);
            let mut net = TwoLayerNet::<f64, 2, 8, 3>::init(0.1, &mut rng);
            let extras = Extras {
                ema,
                ..Extras::default()
            };
            let stats = train(
                &mut net,
                TrainData::dense(&data, &data),
                &cfg(),
                &extras,
                &mut rng,
                &mut NoObserver,
            )
            .unwrap();
            (net, stats)
        };
        let (plain, plain_stats) = run(None);
        let (averaged, ema_stats) = run(Some(0.9));
        assert_eq!(plain_stats.loss_history, ema_stats.loss_history);
        assert_ne!(plain.slices()[0], averaged.slices()[0]);
        assert!(accuracy(&averaged, &data) > 0.98);
    }

    #[test]
    fn label_smoothing_trains_and_changes_the_loss() {
        let data = blobs(&mut NumpyRng::new(0), 300);
        let run = |label_smoothing: f64| {
            let mut rng = NumpyRng::new(42);
            let mut net = TwoLayerNet::<f64, 2, 8, 3>::init(0.1, &mut rng);
            let extras = Extras {
                label_smoothing,
                ..Extras::default()
            };
            let stats = train(
                &mut net,
                TrainData::dense(&data, &data),
                &cfg(),
                &extras,
                &mut rng,
                &mut NoObserver,
            )
            .unwrap();
            (accuracy(&net, &data), stats.loss_history)
        };
        let (acc, smoothed) = run(0.1);
        assert!(acc > 0.98, "accuracy {acc}");
        // The smoothed targets cannot be fitted exactly: the loss stays above the entropy
        // of (0.9333, 0.0333, 0.0333), about 0.28, where the plain loss falls below 0.2.
        assert!(*smoothed.last().unwrap() > 0.25, "{:?}", smoothed.last());
        assert!(*run(0.0).1.last().unwrap() < 0.2);
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
        match train(
            &mut net,
            TrainData::dense(&data, &data),
            &bad,
            &Extras::default(),
            &mut rng,
            &mut NoObserver,
        ) {
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
                TrainData::dense(&data, &data),
                &bad,
                &Extras::default(),
                &mut NumpyRng::new(0),
                &mut NoObserver,
            );
            assert!(
                matches!(r, Err(TrainError::Invalid(_))),
                "{bad:?} gave {r:?}"
            );
        }
        for bad in [
            Extras {
                label_smoothing: 1.0,
                ..Extras::default()
            },
            Extras {
                label_smoothing: -0.1,
                ..Extras::default()
            },
            Extras {
                ema: Some(1.0),
                ..Extras::default()
            },
            Extras {
                ema: Some(0.0),
                ..Extras::default()
            },
        ] {
            let r = train(
                &mut net,
                TrainData::dense(&data, &data),
                &cfg(),
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
