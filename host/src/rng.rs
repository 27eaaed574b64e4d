//! numpy-compatible random numbers: MT19937 seeded like `np.random.seed(s)`,
//! `random_sample`, the legacy polar-method Gaussian (`randn`) and the legacy
//! masked-rejection `randint` that `np.random.choice(n, size)` uses.
//!
//! Matching numpy bit for bit is what makes the homework's toy numbers come
//! out exactly, and lets a numpy user reproduce a Rust run.

const N: usize = 624;
const M: usize = 397;
const MATRIX_A: u32 = 0x9908_b0df;
const UPPER_MASK: u32 = 0x8000_0000;
const LOWER_MASK: u32 = 0x7fff_ffff;

/// The legacy `numpy.random.RandomState` generator.
#[derive(Clone)]
pub struct NumpyRng {
    mt: [u32; N],
    index: usize,
    /// numpy's polar method makes two normals per draw and caches the second.
    cached_gauss: Option<f64>,
}

impl NumpyRng {
    /// Same state as `np.random.seed(seed)` (numpy's `init_genrand`).
    pub fn new(seed: u32) -> Self {
        let mut mt = [0u32; N];
        mt[0] = seed;
        for i in 1..N {
            mt[i] = 1_812_433_253u32
                .wrapping_mul(mt[i - 1] ^ (mt[i - 1] >> 30))
                .wrapping_add(i as u32);
        }
        Self {
            mt,
            index: N,
            cached_gauss: None,
        }
    }

    fn generate(&mut self) {
        for i in 0..N {
            let y = (self.mt[i] & UPPER_MASK) | (self.mt[(i + 1) % N] & LOWER_MASK);
            let mut next = self.mt[(i + M) % N] ^ (y >> 1);
            if y & 1 != 0 {
                next ^= MATRIX_A;
            }
            self.mt[i] = next;
        }
        self.index = 0;
    }

    /// One raw 32-bit output (`genrand_int32`).
    pub fn next_u32(&mut self) -> u32 {
        if self.index >= N {
            self.generate();
        }
        let mut y = self.mt[self.index];
        self.index += 1;
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c_5680;
        y ^= (y << 15) & 0xefc6_0000;
        y ^= y >> 18;
        y
    }

    /// Uniform in [0, 1) with 53 random bits (`np.random.random_sample`).
    pub fn next_f64(&mut self) -> f64 {
        let a = (self.next_u32() >> 5) as f64;
        let b = (self.next_u32() >> 6) as f64;
        (a * 67_108_864.0 + b) / 9_007_199_254_740_992.0
    }

    /// Standard normal (`np.random.randn`, legacy polar Box-Muller).
    pub fn randn(&mut self) -> f64 {
        if let Some(g) = self.cached_gauss.take() {
            return g;
        }
        loop {
            let x1 = 2.0 * self.next_f64() - 1.0;
            let x2 = 2.0 * self.next_f64() - 1.0;
            let r2 = x1 * x1 + x2 * x2;
            if r2 < 1.0 && r2 != 0.0 {
                let f = (-2.0 * r2.ln() / r2).sqrt();
                self.cached_gauss = Some(f * x1);
                return f * x2;
            }
        }
    }

    /// Uniform integer in `[0, high)` exactly as `np.random.randint(0, high)`
    /// (and so `np.random.choice(high, size)`) draws it. `high` must be > 0.
    pub fn randint(&mut self, high: u32) -> u32 {
        debug_assert!(high > 0);
        let range = high.saturating_sub(1);
        if range == 0 {
            return 0;
        }
        let mask = u32::MAX >> range.leading_zeros();
        loop {
            let v = self.next_u32() & mask;
            if v <= range {
                return v;
            }
        }
    }

    /// `np.random.choice(high, n)`: `n` indices sampled with replacement.
    pub fn choice_into(&mut self, high: u32, out: &mut [usize]) {
        for o in out {
            *o = self.randint(high) as usize;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_outputs_match_numpy_seed_0() {
        let mut r = NumpyRng::new(0);
        assert_eq!(
            [r.next_u32(), r.next_u32(), r.next_u32()],
            [2_357_136_044, 2_546_248_239, 3_071_714_933]
        );
    }

    fn assert_close(got: &[f64], want: &[f64]) {
        for (g, w) in got.iter().zip(want) {
            assert!((g - w).abs() < 5e-9, "got {got:?}, numpy gives {want:?}");
        }
    }

    #[test]
    fn randn_matches_numpy() {
        let mut r = NumpyRng::new(0);
        let got: Vec<f64> = (0..4).map(|_| r.randn()).collect();
        assert_close(&got, &[1.76405235, 0.40015721, 0.97873798, 2.2408932]);
        let mut r = NumpyRng::new(1);
        let got: Vec<f64> = (0..3).map(|_| r.randn()).collect();
        assert_close(&got, &[1.62434536, -0.61175641, -0.52817175]);
    }

    #[test]
    fn random_sample_matches_numpy() {
        // np.random.seed(0); np.random.random_sample(2)
        let mut r = NumpyRng::new(0);
        assert_close(
            &[r.next_f64(), r.next_f64()],
            &[0.5488135039273248, 0.7151893663724195],
        );
    }

    #[test]
    fn choice_matches_numpy() {
        // np.random.seed(0); np.random.choice(5, 10) and np.random.choice(55000, 3)
        let mut r = NumpyRng::new(0);
        let mut out = [0usize; 10];
        r.choice_into(5, &mut out);
        assert_eq!(out, [4, 0, 3, 3, 3, 1, 3, 2, 4, 0]);
        let mut r = NumpyRng::new(0);
        let mut out = [0usize; 3];
        r.choice_into(55_000, &mut out);
        assert_eq!(out, [2732, 43567, 42613]);
    }

    #[test]
    fn randint_stays_in_range() {
        let mut r = NumpyRng::new(7);
        for high in [1u32, 2, 3, 10, 1000, 65_537] {
            for _ in 0..1000 {
                assert!(r.randint(high) < high);
            }
        }
    }
}
