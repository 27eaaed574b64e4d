//! Random valid models for tests and benchmarks (cargo feature `testing`): one generator for
//! every crate, deterministic per seed.

use std::vec::Vec;

use crate::{Dims, ModelParams, INPUT};

/// splitmix64: cheap deterministic bulk data from one proptest-chosen seed.
pub struct Mix(pub u64);

impl Mix {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Weights {
    /// Uniform over all of i8.
    Uniform,
    /// Only -128 and 127: the largest products, both signs.
    Extreme,
    /// All -128 (the most negative sums).
    AllMin,
    /// All 127.
    AllMax,
}

/// `n` weights of the given kind.
pub fn weights(kind: Weights, n: usize, rng: &mut Mix) -> Vec<i8> {
    (0..n)
        .map(|_| match kind {
            Weights::Uniform => rng.next_u64() as u8 as i8,
            Weights::Extreme => [-128, 127][rng.below(2) as usize],
            Weights::AllMin => -128,
            Weights::AllMax => 127,
        })
        .collect()
}

/// A valid random model. Shifts are mostly in the range where trained models put them
/// (activations spread over 0..255), sometimes anywhere in 1..=62 (saturating).
pub fn random_params(hidden: usize, classes: usize, w: Weights, seed: u64) -> ModelParams {
    let mut rng = Mix(seed);
    let bias = |rng: &mut Mix, bound: i64| (rng.below(2 * bound as u64 + 1) as i64 - bound) as i32;
    let b1 = (0..hidden)
        .map(|_| match rng.below(4) {
            0 => bias(&mut rng, 1 << 30),
            _ => bias(&mut rng, 1 << 22),
        })
        .collect();
    let multiplier = (0..hidden)
        .map(|_| match rng.below(8) {
            0 => 0,
            1 => i32::MAX,
            _ => (1 << 30) + rng.below(1 << 30) as i32,
        })
        .collect();
    let shift = (0..hidden)
        .map(|_| match rng.below(4) {
            0 => 1 + rng.below(62) as u8,
            _ => 44 + rng.below(12) as u8,
        })
        .collect();
    let b2 = (0..classes).map(|_| bias(&mut rng, 1 << 30)).collect();
    ModelParams {
        dims: Dims {
            input: INPUT,
            hidden,
            classes,
        },
        w1: weights(w, hidden * INPUT, &mut rng),
        b1,
        multiplier,
        shift,
        w2: weights(w, classes * hidden, &mut rng),
        b2,
        logit_scale: 1.0,
    }
}

/// [`random_params`] encoded in the default layout.
pub fn random_model(hidden: usize, classes: usize, w: Weights, seed: u64) -> Vec<u8> {
    random_params(hidden, classes, w, seed)
        .encode()
        .expect("valid random model")
}
