//! What `host tune` searches: one list (or, for random search, a range) per hyper-parameter,
//! read from flags or a small TOML file, and expanded into the list of runs.
//!
//! TOML keys (all optional; a scalar counts as a one-element list):
//! ```toml
//! mode = "grid"          # or "random"
//! samples = 20           # random mode: how many settings to draw
//! search_seed = 0        # random mode: seeds the sampler
//! hidden = [100, 200]
//! lr = [0.1, 0.3]        # random mode also takes { min = 0.01, max = 1.0 } (log-uniform)
//! reg = [1e-4, 1e-3]     # range: log-uniform
//! lr_decay = 0.95        # range: uniform
//! momentum = 0.9         # range: uniform
//! batch = 200
//! iters = 3000           # or epochs = [5, 10], not both
//! seed = [0, 1]
//! init_std = 1e-4
//! ```

use std::path::Path;

use anyhow::{bail, ensure, Context};
use serde::{Deserialize, Serialize};

use crate::cli::limits::{MAX_EPOCHS, MAX_ITERS, MAX_SAMPLES};
use crate::data::mnist::TRAIN;
use crate::rng::NumpyRng;
use crate::train::hidden_widths::SUPPORTED;
use crate::train::presets::{Preset, RunSettings};
use crate::train::trainer::{Extras, TrainConfig};

/// Grids larger than this are refused (a typo like `--hidden 50,...` x 10 lists explodes fast).
pub const MAX_RUNS: usize = 10_000;

/// Values of one real-valued hyper-parameter.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RealDim {
    List(Vec<f64>),
    /// Random search only: drawn between `min` and `max`, log-uniformly when `log`.
    Range {
        min: f64,
        max: f64,
        log: bool,
    },
}

/// Run length: iterations or epochs.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Length {
    Iters(Vec<usize>),
    Epochs(Vec<usize>),
}

#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    Grid,
    Random { samples: usize, seed: u32 },
}

/// A search space: every combination (grid) or `samples` draws (random).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Space {
    pub mode: Mode,
    pub hidden: Vec<usize>,
    pub lr: RealDim,
    pub reg: RealDim,
    pub lr_decay: RealDim,
    pub momentum: RealDim,
    pub batch: Vec<usize>,
    pub length: Length,
    pub seed: Vec<u32>,
    pub init_std: Vec<f64>,
    /// Optimiser, schedule, dropout and augmentation of every run (not searched: taken from
    /// the base preset).
    pub extras: Extras,
}

impl Space {
    /// One point: these settings (e.g. a preset's).
    pub fn single(s: &RunSettings) -> Self {
        Space {
            mode: Mode::Grid,
            hidden: vec![s.hidden],
            lr: RealDim::List(vec![s.train.learning_rate]),
            reg: RealDim::List(vec![s.train.reg]),
            lr_decay: RealDim::List(vec![s.train.learning_rate_decay]),
            momentum: RealDim::List(vec![s.train.momentum]),
            batch: vec![s.train.batch_size],
            length: match s.epochs {
                Some(e) => Length::Epochs(vec![e]),
                None => Length::Iters(vec![s.train.num_iters]),
            },
            seed: vec![s.seed],
            init_std: vec![s.init_std],
            extras: s.extras.clone(),
        }
    }

    /// The homework's section-10 grid exactly as printed, learning rates in its order.
    pub fn homework() -> Self {
        Self::homework_with_rates(HOMEWORK_LRS.to_vec())
    }

    /// The homework's grid with every learning rate x30: right for our [0, 1]-scaled inputs
    /// (the default preset's 0.3 is the homework's best 1e-2 x30).
    pub fn scaled() -> Self {
        Self::homework_with_rates(SCALED_LRS.to_vec())
    }

    fn homework_with_rates(lr: Vec<f64>) -> Self {
        let base = Preset::Default.settings();
        Space {
            hidden: HOMEWORK_HIDDEN.to_vec(),
            lr: RealDim::List(lr),
            reg: RealDim::List(HOMEWORK_REGS.to_vec()),
            lr_decay: RealDim::List(vec![0.95]),
            length: Length::Iters(vec![3000]),
            batch: vec![200],
            ..Space::single(&base)
        }
    }

    /// Two short runs for smoke tests.
    pub fn quick() -> Self {
        let base = Preset::Default.settings();
        Space {
            hidden: vec![50],
            lr: RealDim::List(vec![0.03, 0.3]),
            length: Length::Iters(vec![300]),
            ..Space::single(&base)
        }
    }

    /// Number of runs this space expands to.
    pub fn len(&self) -> usize {
        match self.mode {
            Mode::Random { samples, .. } => samples,
            Mode::Grid => {
                let real = |d: &RealDim| match d {
                    RealDim::List(v) => v.len(),
                    RealDim::Range { .. } => 1,
                };
                let length = match &self.length {
                    Length::Iters(v) | Length::Epochs(v) => v.len(),
                };
                [
                    self.hidden.len(),
                    real(&self.lr),
                    real(&self.reg),
                    real(&self.lr_decay),
                    real(&self.momentum),
                    self.batch.len(),
                    length,
                    self.seed.len(),
                    self.init_std.len(),
                ]
                .iter()
                .fold(1usize, |a, &n| a.saturating_mul(n))
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Check every dimension; errors name the offending key.
    pub fn validate(&self) -> anyhow::Result<()> {
        let nonempty = |name: &str, n: usize| {
            ensure!(n > 0, "{name}: needs at least one value");
            Ok(())
        };
        nonempty("hidden", self.hidden.len())?;
        for &h in &self.hidden {
            ensure!(
                SUPPORTED.contains(&h),
                "hidden: {h} is not built in; choose from {SUPPORTED:?}"
            );
        }
        let grid = self.mode == Mode::Grid;
        let reals = [
            ("lr", &self.lr, 0.0, f64::INFINITY, false),
            ("reg", &self.reg, 0.0, f64::INFINITY, true),
            ("lr_decay", &self.lr_decay, 0.0, f64::INFINITY, false),
            ("momentum", &self.momentum, 0.0, 1.0, true),
        ];
        for (name, dim, lo, hi, lo_ok) in reals {
            let ok = |v: f64| v.is_finite() && v < hi && (v > lo || (lo_ok && v == lo));
            let range_txt = if lo_ok { "[" } else { "(" };
            match dim {
                RealDim::List(v) => {
                    nonempty(name, v.len())?;
                    if let Some(bad) = v.iter().find(|&&x| !ok(x)) {
                        bail!("{name}: {bad} is outside {range_txt}{lo}, {hi})");
                    }
                }
                RealDim::Range { min, max, log } => {
                    ensure!(
                        !grid,
                        "{name}: a range ({min}..{max}) needs random search (--random N or mode = \"random\")"
                    );
                    ensure!(
                        ok(*min) && ok(*max) && min <= max,
                        "{name}: range {min}..{max} must lie in {range_txt}{lo}, {hi}) with min <= max"
                    );
                    ensure!(
                        !log || *min > 0.0,
                        "{name}: a log-uniform range needs min > 0"
                    );
                }
            }
        }
        nonempty("batch", self.batch.len())?;
        ensure!(
            self.batch.iter().all(|&b| (1..=TRAIN).contains(&b)),
            "batch: sizes must be from 1 to {TRAIN} (the training images)"
        );
        match &self.length {
            Length::Iters(v) => {
                nonempty("iters", v.len())?;
                ensure!(
                    v.iter().all(|&n| (1..=MAX_ITERS).contains(&n)),
                    "iters: must be from 1 to {MAX_ITERS}"
                );
            }
            Length::Epochs(v) => {
                nonempty("epochs", v.len())?;
                ensure!(
                    v.iter().all(|&n| (1..=MAX_EPOCHS).contains(&n)),
                    "epochs: must be from 1 to {MAX_EPOCHS}"
                );
                for &b in &self.batch {
                    let iters = v.iter().max().copied().unwrap_or(0) * (TRAIN / b).max(1);
                    ensure!(
                        iters <= MAX_ITERS,
                        "epochs: {} epochs at batch {b} make {iters} iterations, more than {MAX_ITERS}",
                        v.iter().max().copied().unwrap_or(0)
                    );
                }
            }
        }
        nonempty("seed", self.seed.len())?;
        nonempty("init_std", self.init_std.len())?;
        ensure!(
            self.init_std.iter().all(|s| s.is_finite() && *s > 0.0),
            "init_std: must be > 0"
        );
        if let Mode::Random { samples, .. } = self.mode {
            ensure!(
                (1..=MAX_SAMPLES).contains(&samples),
                "random search draws from 1 to {MAX_SAMPLES} samples"
            );
        }
        ensure!(
            self.len() <= MAX_RUNS,
            "the search space has {} runs, more than the {MAX_RUNS} allowed",
            self.len()
        );
        Ok(())
    }

    /// The runs, in grid order (hidden outermost, then lr, reg, ... as the homework's loops) or
    /// in draw order. Deterministic: the same space always gives the same list.
    pub fn runs(&self) -> anyhow::Result<Vec<RunSettings>> {
        self.validate()?;
        match self.mode {
            Mode::Grid => Ok(self.grid()),
            Mode::Random { samples, seed } => Ok(self.random(samples, seed)),
        }
    }

    fn settings(&self, p: Point) -> RunSettings {
        let (num_iters, epochs) = match p.length {
            LengthValue::Iters(n) => (n, None),
            LengthValue::Epochs(e) => (0, Some(e)),
        };
        RunSettings {
            hidden: p.hidden,
            init_std: p.init_std,
            seed: p.seed,
            train: TrainConfig {
                learning_rate: p.lr,
                learning_rate_decay: p.lr_decay,
                momentum: p.momentum,
                reg: p.reg,
                num_iters,
                batch_size: p.batch,
            },
            epochs,
            extras: self.extras.clone(),
        }
    }

    fn grid(&self) -> Vec<RunSettings> {
        let list = |d: &RealDim| match d {
            RealDim::List(v) => v.clone(),
            RealDim::Range { .. } => unreachable!("validate() rejects ranges in grid mode"),
        };
        let lengths: Vec<LengthValue> = match &self.length {
            Length::Iters(v) => v.iter().map(|&n| LengthValue::Iters(n)).collect(),
            Length::Epochs(v) => v.iter().map(|&n| LengthValue::Epochs(n)).collect(),
        };
        let (lrs, regs, decays, moms) = (
            list(&self.lr),
            list(&self.reg),
            list(&self.lr_decay),
            list(&self.momentum),
        );
        let mut out = Vec::with_capacity(self.len());
        for &hidden in &self.hidden {
            for &lr in &lrs {
                for &reg in &regs {
                    for &lr_decay in &decays {
                        for &momentum in &moms {
                            for &batch in &self.batch {
                                for &length in &lengths {
                                    for &seed in &self.seed {
                                        for &init_std in &self.init_std {
                                            out.push(self.settings(Point {
                                                hidden,
                                                lr,
                                                reg,
                                                lr_decay,
                                                momentum,
                                                batch,
                                                length,
                                                seed,
                                                init_std,
                                            }));
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        out
    }

    fn random(&self, samples: usize, seed: u32) -> Vec<RunSettings> {
        fn pick<T: Copy>(v: &[T], rng: &mut NumpyRng) -> T {
            v[rng.randint(v.len() as u32) as usize]
        }
        let mut rng = NumpyRng::new(seed);
        let lengths: Vec<LengthValue> = match &self.length {
            Length::Iters(v) => v.iter().map(|&n| LengthValue::Iters(n)).collect(),
            Length::Epochs(v) => v.iter().map(|&n| LengthValue::Epochs(n)).collect(),
        };
        (0..samples)
            .map(|_| {
                let p = Point {
                    hidden: pick(&self.hidden, &mut rng),
                    lr: draw(&self.lr, &mut rng),
                    reg: draw(&self.reg, &mut rng),
                    lr_decay: draw(&self.lr_decay, &mut rng),
                    momentum: draw(&self.momentum, &mut rng),
                    batch: pick(&self.batch, &mut rng),
                    length: pick(&lengths, &mut rng),
                    seed: pick(&self.seed, &mut rng),
                    init_std: pick(&self.init_std, &mut rng),
                };
                self.settings(p)
            })
            .collect()
    }
}

/// One value from a dimension: a list entry, or a draw from a range rounded to 3 significant
/// digits (so the table stays readable and a run can be repeated from its printed settings).
fn draw(dim: &RealDim, rng: &mut NumpyRng) -> f64 {
    match dim {
        RealDim::List(v) => v[rng.randint(v.len() as u32) as usize],
        RealDim::Range { min, max, log } => {
            let u = rng.next_f64();
            let x = if *log {
                (min.ln() + u * (max.ln() - min.ln())).exp()
            } else {
                min + u * (max - min)
            };
            round_sig(x, 3).clamp(*min, *max)
        }
    }
}

fn round_sig(x: f64, digits: i32) -> f64 {
    if x == 0.0 || !x.is_finite() {
        return x;
    }
    let p = 10f64.powi(digits - 1 - x.abs().log10().floor() as i32);
    (x * p).round() / p
}

#[derive(Clone, Copy)]
enum LengthValue {
    Iters(usize),
    Epochs(usize),
}

struct Point {
    hidden: usize,
    lr: f64,
    reg: f64,
    lr_decay: f64,
    momentum: f64,
    batch: usize,
    length: LengthValue,
    seed: u32,
    init_std: f64,
}

pub const HOMEWORK_HIDDEN: [usize; 4] = [50, 100, 128, 200];
pub const HOMEWORK_LRS: [f64; 3] = [1e-3, 1e-2, 5e-4];
pub const HOMEWORK_REGS: [f64; 3] = [1e-3, 5e-4, 5e-6];
/// `HOMEWORK_LRS` x `LR_SCALE`, written out so they print as typed.
pub const SCALED_LRS: [f64; 3] = [3e-2, 3e-1, 1.5e-2];
/// Our inputs are pixel/255 - mean; the homework's rates were chosen for inputs ~30x larger
/// in effect (its best 1e-2 corresponds to our default 0.3).
pub const LR_SCALE: f64 = 30.0;

/// Parse a real-valued dimension from a flag: `a,b,c` (a list) or `a..b` (a range, log-uniform
/// when `log`).
pub fn parse_real_dim(name: &str, text: &str, log: bool) -> anyhow::Result<RealDim> {
    let num = |s: &str| -> anyhow::Result<f64> {
        s.trim()
            .parse::<f64>()
            .with_context(|| format!("--{name}: {s:?} is not a number"))
    };
    if let Some((a, b)) = text.split_once("..") {
        return Ok(RealDim::Range {
            min: num(a)?,
            max: num(b)?,
            log,
        });
    }
    let v = text
        .split(',')
        .map(num)
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(RealDim::List(v))
}

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany<T> {
    One(T),
    Many(Vec<T>),
}

impl<T> OneOrMany<T> {
    fn into_vec(self) -> Vec<T> {
        match self {
            OneOrMany::One(x) => vec![x],
            OneOrMany::Many(v) => v,
        }
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RealToml {
    One(f64),
    Many(Vec<f64>),
    Range {
        min: f64,
        max: f64,
        log: Option<bool>,
    },
}

impl RealToml {
    fn into_dim(self, log_default: bool) -> RealDim {
        match self {
            RealToml::One(x) => RealDim::List(vec![x]),
            RealToml::Many(v) => RealDim::List(v),
            RealToml::Range { min, max, log } => RealDim::Range {
                min,
                max,
                log: log.unwrap_or(log_default),
            },
        }
    }
}

#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "lowercase")]
enum ModeToml {
    Grid,
    Random,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SpaceToml {
    preset: Option<String>,
    mode: Option<ModeToml>,
    samples: Option<usize>,
    search_seed: Option<u32>,
    hidden: Option<OneOrMany<usize>>,
    lr: Option<RealToml>,
    reg: Option<RealToml>,
    lr_decay: Option<RealToml>,
    momentum: Option<RealToml>,
    batch: Option<OneOrMany<usize>>,
    iters: Option<OneOrMany<usize>>,
    epochs: Option<OneOrMany<usize>>,
    seed: Option<OneOrMany<u32>>,
    init_std: Option<OneOrMany<f64>>,
}

/// Parse a TOML search space; keys it leaves out keep `base`'s values (or, with
/// `preset = "NAME"`, that preset's).
pub fn from_toml(text: &str, base: Space) -> anyhow::Result<Space> {
    let t: SpaceToml = toml::from_str(text).map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut s = match &t.preset {
        None => base,
        Some(name) => {
            let p = <Preset as clap::ValueEnum>::from_str(name, true).map_err(|_| {
                let names: Vec<String> = <Preset as clap::ValueEnum>::value_variants()
                    .iter()
                    .filter_map(clap::ValueEnum::to_possible_value)
                    .map(|v| v.get_name().to_owned())
                    .collect();
                anyhow::anyhow!(
                    "preset: unknown {name:?}; choose one of {}",
                    names.join(", ")
                )
            })?;
            Space::single(&p.settings())
        }
    };
    if let Some(v) = t.hidden {
        s.hidden = v.into_vec();
    }
    if let Some(v) = t.lr {
        s.lr = v.into_dim(true);
    }
    if let Some(v) = t.reg {
        s.reg = v.into_dim(true);
    }
    if let Some(v) = t.lr_decay {
        s.lr_decay = v.into_dim(false);
    }
    if let Some(v) = t.momentum {
        s.momentum = v.into_dim(false);
    }
    if let Some(v) = t.batch {
        s.batch = v.into_vec();
    }
    match (t.iters, t.epochs) {
        (Some(_), Some(_)) => bail!("give iters or epochs, not both"),
        (Some(v), None) => s.length = Length::Iters(v.into_vec()),
        (None, Some(v)) => s.length = Length::Epochs(v.into_vec()),
        (None, None) => {}
    }
    if let Some(v) = t.seed {
        s.seed = v.into_vec();
    }
    if let Some(v) = t.init_std {
        s.init_std = v.into_vec();
    }
    let random = matches!(t.mode, Some(ModeToml::Random)) || t.samples.is_some();
    match (t.mode, random) {
        (Some(ModeToml::Grid), true) => bail!("mode = \"grid\" takes no samples"),
        (_, true) => {
            s.mode = Mode::Random {
                samples: t.samples.unwrap_or(20),
                seed: t.search_seed.unwrap_or(0),
            }
        }
        (_, false) => ensure!(
            t.search_seed.is_none(),
            "search_seed only applies to mode = \"random\""
        ),
    }
    Ok(s)
}

/// Read a TOML search space from a file.
pub fn from_toml_file(path: &Path, base: Space) -> anyhow::Result<Space> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading search space {}", path.display()))?;
    from_toml(&text, base).with_context(|| format!("{}: bad search space", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn homework_grid_is_36_runs_in_its_loop_order() {
        let runs = Space::homework().runs().unwrap();
        assert_eq!(runs.len(), 36);
        let first = &runs[0];
        assert_eq!(
            (first.hidden, first.train.learning_rate, first.train.reg),
            (50, 1e-3, 1e-3)
        );
        assert_eq!(
            (
                runs[1].hidden,
                runs[1].train.learning_rate,
                runs[1].train.reg
            ),
            (50, 1e-3, 5e-4)
        );
        assert_eq!(
            (runs[3].train.learning_rate, runs[3].train.reg),
            (1e-2, 1e-3)
        );
        let last = runs.last().unwrap();
        assert_eq!(
            (last.hidden, last.train.learning_rate, last.train.reg),
            (200, 5e-4, 5e-6)
        );
        for r in &runs {
            assert_eq!(
                (r.train.num_iters, r.epochs, r.train.batch_size),
                (3000, None, 200)
            );
            assert_eq!(r.train.learning_rate_decay, 0.95);
        }
        for (a, b) in HOMEWORK_LRS.iter().zip(SCALED_LRS) {
            assert!((a * LR_SCALE - b).abs() < 1e-12);
        }
        let scaled = Space::scaled().runs().unwrap();
        assert!((scaled[3].train.learning_rate - 0.3).abs() < 1e-12);
    }

    #[test]
    fn toml_lists_scalars_and_ranges() {
        let s = from_toml(
            "hidden = [50, 100]\nlr = 0.1\nreg = [0, 1e-4]\nepochs = 2\n",
            Space::single(&Preset::Default.settings()),
        )
        .unwrap();
        assert_eq!(s.hidden, vec![50, 100]);
        assert_eq!(s.lr, RealDim::List(vec![0.1]));
        assert_eq!(s.reg, RealDim::List(vec![0.0, 1e-4]));
        assert_eq!(s.length, Length::Epochs(vec![2]));
        assert_eq!(s.runs().unwrap().len(), 4);

        let r = from_toml(
            "mode = \"random\"\nsamples = 7\nlr = { min = 0.01, max = 1.0 }\nhidden = [50, 100]\n",
            Space::single(&Preset::Default.settings()),
        )
        .unwrap();
        let runs = r.runs().unwrap();
        assert_eq!(runs.len(), 7);
        for run in &runs {
            assert!((0.01..=1.0).contains(&run.train.learning_rate));
            assert!([50, 100].contains(&run.hidden));
        }
        assert_eq!(runs, r.runs().unwrap(), "same sampler seed, same draws");
    }

    #[test]
    fn toml_preset_sets_the_base_including_extras() {
        let s = from_toml(
            "preset = \"best\"\nhidden = [256, 512]\n",
            Space::single(&Preset::Default.settings()),
        )
        .unwrap();
        let best = Preset::Best.settings();
        let runs = s.runs().unwrap();
        assert_eq!(runs.len(), 2);
        assert_eq!(runs[1], best, "hidden 512 is the best preset itself");
        assert_eq!(runs[0].extras, best.extras);
        let err = from_toml("preset = \"fastest\"", Space::single(&best)).unwrap_err();
        assert!(format!("{err:#}").contains("homework-fixed"), "{err:#}");
    }

    #[test]
    fn bad_spaces_name_the_key() {
        let base = || Space::single(&Preset::Default.settings());
        for (text, want) in [
            ("hidden = [77]", "hidden: 77"),
            ("lr = -1", "lr: -1"),
            ("momentum = 1.0", "momentum: 1"),
            ("lr = { min = 0.1, max = 1 }", "needs random search"),
            ("batch = []", "batch: needs at least one value"),
        ] {
            let err = from_toml(text, base()).and_then(|s| s.runs()).unwrap_err();
            assert!(format!("{err:#}").contains(want), "{text}: {err:#}");
        }
        for text in [
            "hiden = [50]",
            "lr = \"fast\"",
            "iters = 1\nepochs = 1",
            "x = [",
        ] {
            assert!(from_toml(text, base()).is_err(), "{text}");
        }
    }

    #[test]
    fn flag_syntax() {
        assert_eq!(
            parse_real_dim("lr", "0.1,0.3", true).unwrap(),
            RealDim::List(vec![0.1, 0.3])
        );
        assert_eq!(
            parse_real_dim("lr", "1e-3..1", true).unwrap(),
            RealDim::Range {
                min: 1e-3,
                max: 1.0,
                log: true
            }
        );
        assert!(parse_real_dim("lr", "fast", true).is_err());
        assert_eq!(round_sig(0.0123456, 3), 0.0123);
    }
}
