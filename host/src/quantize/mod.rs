//! Float checkpoint -> int8 model file, and int8 evaluation with the shared kernel.
//!
//! The arithmetic the file must satisfy is in `model-format/FORMAT.md`; this module chooses
//! the numbers:
//! * fold `/255` and the mean image into layer 1 (the chip takes raw pixels);
//! * layer 1: per-output-channel int8 weight scales;
//! * hidden activations: u8 with a scale calibrated on training images. Several candidates
//!   (per-tensor or per-channel, maximum or high percentile) are built into real model files
//!   and run through the shared integer kernel on the calibration images. The one whose
//!   dequantised logits are closest to the float scores (RMS) wins. Measured on five trained
//!   nets (hidden 50..1024): class agreement with the float net on 10,000 calibration images
//!   separates the candidates by only 1-3 images (noise), and choosing by it picked a
//!   candidate with 4x the logit error and 8 more test-set disagreements for the default
//!   net; the logit error ranks candidates consistently with test-set agreement;
//! * layer 2: int8 weights with one per-tensor scale, so integer logits compare directly.
//!
//! Everything here is deterministic (fixed summation orders, no threads in float code), so
//! the same checkpoint and images always give the same bytes: `data/model.postcard` can be
//! checked against `data/model.ckpt`.

use std::time::Instant;

use anyhow::{bail, ensure, Context};
use model_format::{
    argmax, Dims, Layout, Model, ModelParams, INPUT, MAX_BIAS_ABS, MAX_CLASSES, MAX_HIDDEN,
};
use rayon::prelude::*;

use crate::int8::{as_images, Int8Engine, PackedLayer1};
use crate::train::checkpoint::{Checkpoint, SCORE_BLOCK};

/// How many training images calibrate the activation scales: the first ones of the
/// training split (never validation or test images).
pub const CALIBRATION_IMAGES: usize = 10_000;

/// How the hidden activation scale is chosen.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ActivationScale {
    /// One scale for all hidden units: this quantile of all positive pre-activations.
    PerTensor { quantile: f64 },
    /// One scale per hidden unit: this quantile of the unit's positive pre-activations.
    PerChannel { quantile: f64 },
}

impl std::fmt::Display for ActivationScale {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (kind, q) = match *self {
            ActivationScale::PerTensor { quantile } => ("per-tensor", quantile),
            ActivationScale::PerChannel { quantile } => ("per-channel", quantile),
        };
        if q >= 1.0 {
            write!(f, "{kind} max")
        } else {
            write!(f, "{kind} p{}", q * 100.0)
        }
    }
}

/// The candidates, in order of preference when their logit errors are equal.
pub const CANDIDATES: [ActivationScale; 8] = [
    ActivationScale::PerTensor { quantile: 1.0 },
    ActivationScale::PerTensor { quantile: 0.9999 },
    ActivationScale::PerTensor { quantile: 0.999 },
    ActivationScale::PerTensor { quantile: 0.99 },
    ActivationScale::PerChannel { quantile: 1.0 },
    ActivationScale::PerChannel { quantile: 0.9999 },
    ActivationScale::PerChannel { quantile: 0.999 },
    ActivationScale::PerChannel { quantile: 0.99 },
];

/// One calibration candidate and how it did.
#[derive(Debug, Clone)]
pub struct CandidateResult {
    pub scale: ActivationScale,
    /// Calibration images where the int8 class equals the float class.
    pub agree: usize,
    /// Root-mean-square difference between the dequantised int8 logits
    /// (`logit * logit_scale`) and the float scores over the calibration images: the
    /// selection criterion (lowest wins, earlier candidates win exact ties).
    pub logit_rmse: f64,
}

/// The chosen file and the measurements behind the choice.
#[derive(Debug, Clone)]
pub struct Quantized {
    pub bytes: Vec<u8>,
    pub chosen: ActivationScale,
    pub candidates: Vec<CandidateResult>,
    pub calibration_images: usize,
}

/// Dims the model format can hold (the checkpoint's own shapes and values are checked when it
/// is loaded or built: [`Checkpoint::validate`]).
fn check_fits(net: &Checkpoint) -> anyhow::Result<()> {
    ensure!(
        net.input == INPUT,
        "input size {} (need {INPUT})",
        net.input
    );
    ensure!(
        (1..=MAX_HIDDEN).contains(&net.hidden),
        "hidden size {} (the model format supports 1..={MAX_HIDDEN})",
        net.hidden
    );
    ensure!(
        (1..=MAX_CLASSES).contains(&net.classes),
        "{} classes (the model format supports 1..={MAX_CLASSES})",
        net.classes
    );
    net.validate()
}

/// The standard calibration subset: the first [`CALIBRATION_IMAGES`] images of the training
/// set (all of them if there are fewer). Everyone who writes a model file (the default
/// training run, `host quantize`, the parity test) uses this, so the bytes agree.
pub fn calibration_images(train_images: &[u8]) -> &[u8] {
    &train_images[..train_images.len().min(CALIBRATION_IMAGES * INPUT)]
}

/// Quantise a checkpoint (see the module docs for the method) and write the model file in
/// `layout` (every layout gives the same logits, so the choice does not depend on it).
/// `calib_images` are raw training pixels, `n * 784` bytes (use [`calibration_images`] for the
/// standard subset).
pub fn quantize(
    net: &Checkpoint,
    calib_images: &[u8],
    layout: Layout,
) -> anyhow::Result<Quantized> {
    check_fits(net)?;
    ensure!(
        !calib_images.is_empty() && calib_images.len().is_multiple_of(INPUT),
        "calibration data must be a non-empty whole number of {INPUT}-byte images, got {} bytes",
        calib_images.len()
    );
    let layer1 = Layer1::fold_and_quantize(net);
    let pre = layer1.pre_activations(calib_images);
    let float_scores: Vec<Vec<f32>> = as_images(calib_images)
        .par_chunks(SCORE_BLOCK)
        .flat_map_iter(|block| net.scores_block(block))
        .collect();
    let by_channel = channel_major(&pre, net.hidden);
    let n = float_scores.len();

    // Candidates are independent: score them in parallel (each one's sum runs
    // in a fixed order, so the result does not depend on the thread count).
    let scored: Vec<(CandidateResult, ModelParams)> = CANDIDATES
        .par_iter()
        .map(|&scale| {
            let act = activation_scales(scale, &pre, &by_channel);
            let params = layer1.with_layer2(net, &act)?;
            let result = score_candidate(scale, &params, calib_images, &float_scores)?;
            Ok((result, params))
        })
        .collect::<anyhow::Result<_>>()?;
    // Lowest logit error wins; earlier candidates win exact ties.
    let mut best: Option<(f64, ModelParams, ActivationScale)> = None;
    let mut candidates = Vec::with_capacity(scored.len());
    for (c, params) in scored {
        if best.as_ref().is_none_or(|(r, _, _)| c.logit_rmse < *r) {
            best = Some((c.logit_rmse, params, c.scale));
        }
        candidates.push(c);
    }
    let (_, params, chosen) = best.context("no candidates")?;
    let bytes = params
        .encode_with_layout(layout)
        .with_context(|| format!("encoding the {chosen} candidate in layout {}", layout.tag()))?;
    Ok(Quantized {
        bytes,
        chosen,
        candidates,
        calibration_images: n,
    })
}

/// Run one candidate's integer model over the calibration images: class agreement with the
/// float scores and the RMS error of its dequantised logits.
fn score_candidate(
    scale: ActivationScale,
    params: &ModelParams,
    calib_images: &[u8],
    float_scores: &[Vec<f32>],
) -> anyhow::Result<CandidateResult> {
    let bytes = params
        .encode()
        .with_context(|| format!("encoding the {scale} candidate"))?;
    let model = Model::from_bytes(&bytes).context("decoding our own file")?;
    let logit_scale = f64::from(model.logit_scale());
    // The batched engine gives exactly `model.infer`'s logits (tested); the sum runs in
    // image order.
    let predictions = Int8Engine::new(&model).infer_images(as_images(calib_images));
    let (mut agree, mut sq) = (0usize, 0f64);
    for (p, float) in predictions.iter().zip(float_scores) {
        if usize::from(p.class) == argmax(float.iter().copied()) {
            agree += 1;
        }
        for (&l, &f) in p.logits().iter().zip(float) {
            sq += (f64::from(l) * logit_scale - f64::from(f)).powi(2);
        }
    }
    let n = float_scores.len();
    let logit_rmse = (sq / (n * params.dims.classes) as f64).sqrt();
    Ok(CandidateResult {
        scale,
        agree,
        logit_rmse,
    })
}

/// Layer 1 after folding and per-channel quantisation.
struct Layer1 {
    hidden: usize,
    /// Hidden-major int8 weights, `w[j*INPUT + i]`.
    w: Vec<i8>,
    b: Vec<i32>,
    /// Per-channel weight scale: float pre-activation = accumulator * scale.
    scale: Vec<f64>,
}

impl Layer1 {
    fn fold_and_quantize(net: &Checkpoint) -> Layer1 {
        let h = net.hidden;
        let mut w = Vec::with_capacity(h * INPUT);
        let mut b = Vec::with_capacity(h);
        let mut scale = Vec::with_capacity(h);
        for j in 0..h {
            // x = p/255 - mean: weights on raw pixels are W1/255, the mean moves to the bias.
            let col: Vec<f64> = (0..INPUT)
                .map(|i| f64::from(net.w1[i * h + j]) / 255.0)
                .collect();
            let bias = f64::from(net.b1[j])
                - (0..INPUT)
                    .map(|i| f64::from(net.mean_image[i]) * f64::from(net.w1[i * h + j]))
                    .sum::<f64>();
            let max_abs = col.iter().fold(0.0f64, |m, v| m.max(v.abs()));
            // The weights decide the scale; the bias only raises it where it would not fit
            // the format's +-2^30, and a dead channel gets an arbitrary positive scale.
            let s = (max_abs / 127.0)
                .max(bias.abs() / f64::from(MAX_BIAS_ABS - 1))
                .max(f64::MIN_POSITIVE * 1e10);
            w.extend(
                col.iter()
                    .map(|v| (v / s).round().clamp(-127.0, 127.0) as i8),
            );
            b.push(round_bias(bias / s));
            scale.push(s);
        }
        Layer1 {
            hidden: h,
            w,
            b,
            scale,
        }
    }

    /// Float pre-activations `acc * scale` of every calibration image, image-major
    /// (`pre[n*hidden + j]`), from the exact integer accumulators of the int8 weights
    /// (computed by the engine's layer 1, in parallel; the integers do not depend on how).
    fn pre_activations(&self, images: &[u8]) -> Vec<f32> {
        let packed = PackedLayer1::new(&self.w, &self.b, self.hidden);
        let acc: Vec<Vec<i32>> = as_images(images)
            .par_chunks(256)
            .map(|chunk| packed.accumulate_images(chunk))
            .collect();
        acc.iter()
            .flat_map(|chunk| chunk.chunks_exact(self.hidden))
            .flat_map(|acc| {
                acc.iter()
                    .zip(&self.scale)
                    .map(|(&a, &s)| (f64::from(a) * s) as f32)
            })
            .collect()
    }

    /// Complete the integer model for hidden activation scales `act` (float per u8 step).
    fn with_layer2(&self, net: &Checkpoint, act: &[f64]) -> anyhow::Result<ModelParams> {
        let (h, c) = (net.hidden, net.classes);
        // A unit whose calibrated step is tiny next to its weight scale saturates anyway;
        // bounding the ratio keeps the multiplier representable (< 2^30).
        let act: Vec<f64> = act
            .iter()
            .zip(&self.scale)
            .map(|(&a, &s)| a.max(s / f64::from(1u32 << 29)))
            .collect();
        let mut multiplier = Vec::with_capacity(h);
        let mut shift = Vec::with_capacity(h);
        for (&s, &a) in self.scale.iter().zip(&act) {
            let (m, sh) = fixed_point(s / a)?;
            multiplier.push(m);
            shift.push(sh);
        }
        // Layer 2 sees h in units of act[j]: fold those into W2, then one scale for all.
        let w2f: Vec<f64> = (0..c * h)
            .map(|kj| {
                let (k, j) = (kj / h, kj % h);
                act[j] * f64::from(net.w2[j * c + k])
            })
            .collect();
        let max_w = w2f.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        let max_b = net
            .b2
            .iter()
            .fold(0.0f64, |m, &v| m.max(f64::from(v).abs()));
        let mut s2 = (max_w / 127.0).max(max_b / f64::from(MAX_BIAS_ABS - 1));
        if s2 == 0.0 || !s2.is_finite() || s2 as f32 == 0.0 {
            s2 = 1.0; // an all-zero layer: any scale represents it exactly
        }
        let w2 = w2f
            .iter()
            .map(|v| (v / s2).round().clamp(-127.0, 127.0) as i8)
            .collect();
        let b2 = net
            .b2
            .iter()
            .map(|&b| round_bias(f64::from(b) / s2))
            .collect();
        Ok(ModelParams {
            dims: Dims {
                input: INPUT,
                hidden: h,
                classes: c,
            },
            w1: self.w.clone(),
            b1: self.b.clone(),
            multiplier,
            shift,
            w2,
            b2,
            logit_scale: s2 as f32,
        })
    }
}

fn round_bias(v: f64) -> i32 {
    v.round()
        .clamp(-f64::from(MAX_BIAS_ABS), f64::from(MAX_BIAS_ABS)) as i32
}

/// `real ≈ multiplier * 2^-shift` with multiplier in [2^30, 2^31) and shift in 1..=62
/// (fewer multiplier bits only when the shift would exceed 62, i.e. for tiny `real`).
pub fn fixed_point(real: f64) -> anyhow::Result<(i32, u8)> {
    if !(real.is_finite() && real > 0.0) {
        bail!("requantisation multiplier {real} is not a positive number");
    }
    let mut shift = 30 - real.log2().floor() as i64;
    // log2 may be off by one near powers of two: settle so real * 2^shift is in [2^30, 2^31).
    while real * 2f64.powi(shift as i32) >= 2f64.powi(31) {
        shift -= 1;
    }
    while real * 2f64.powi(shift as i32) < 2f64.powi(30) {
        shift += 1;
    }
    if shift < 1 {
        bail!("requantisation multiplier {real} is too large for the format");
    }
    let shift = shift.min(62);
    let mut m = (real * 2f64.powi(shift as i32)).round();
    let mut shift = shift as u8;
    if m >= 2f64.powi(31) {
        // Rounded up to 2^31: halve (exactly representable) and shift one less.
        m /= 2.0;
        shift -= 1;
    }
    Ok((m as i32, shift))
}

/// Image-major pre-activations (`pre[n*hidden + j]`) regrouped per hidden unit, each unit's
/// values in image order.
fn channel_major(pre: &[f32], hidden: usize) -> Vec<Vec<f32>> {
    let mut by_channel = vec![Vec::with_capacity(pre.len() / hidden.max(1)); hidden];
    for image in pre.chunks_exact(hidden.max(1)) {
        for (c, &v) in by_channel.iter_mut().zip(image) {
            c.push(v);
        }
    }
    by_channel
}

/// Float value of one u8 hidden step per hidden unit, for a candidate. `pre` is image-major,
/// `by_channel` the same values per hidden unit ([`channel_major`]).
fn activation_scales(how: ActivationScale, pre: &[f32], by_channel: &[Vec<f32>]) -> Vec<f64> {
    let hidden = by_channel.len();
    let tensor = |q: f64| {
        let positive: Vec<f32> = pre.iter().copied().filter(|&v| v > 0.0).collect();
        quantile(positive, q).map_or(1.0, |v| f64::from(v) / 255.0)
    };
    match how {
        ActivationScale::PerTensor { quantile } => vec![tensor(quantile); hidden],
        ActivationScale::PerChannel { quantile: q } => {
            // Units never active in calibration get the per-tensor maximum (computed only
            // when needed: it sorts through every pre-activation).
            let mut fallback = None;
            by_channel
                .iter()
                .map(|values| {
                    let positive: Vec<f32> = values.iter().copied().filter(|&v| v > 0.0).collect();
                    quantile(positive, q).map_or_else(
                        || *fallback.get_or_insert_with(|| tensor(1.0)),
                        |v| f64::from(v) / 255.0,
                    )
                })
                .collect()
        }
    }
}

/// The value below which a fraction `q` of `values` lies (nearest rank), `None` if empty.
fn quantile(mut values: Vec<f32>, q: f64) -> Option<f32> {
    if values.is_empty() {
        return None;
    }
    let rank = ((q * values.len() as f64).ceil() as usize).clamp(1, values.len());
    let (_, v, _) = values.select_nth_unstable_by(rank - 1, f32::total_cmp);
    Some(*v)
}

/// Result of running the int8 model over a labelled set.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Int8Eval {
    pub correct: usize,
    pub images: usize,
    /// `correct / images` (0 when there are no images).
    pub accuracy: f64,
    pub model_id: u64,
    /// Wall time of the inference loop.
    pub seconds: f64,
}

/// Classify every image, single thread, with the batched engine (bit-identical to the shared
/// integer kernel `Model::infer`). `images` holds `n * 784` raw pixels and `labels` n labels;
/// if the counts disagree only the common prefix is evaluated (and `images` says how many).
/// `seconds` includes repacking the weights for the engine.
pub fn evaluate_int8(model: &Model<'_>, images: &[u8], labels: &[u8]) -> Int8Eval {
    let start = Instant::now();
    let images = as_images(images);
    let images = &images[..images.len().min(labels.len())];
    let predictions = Int8Engine::new(model).infer_images(images);
    let n = predictions.len();
    let correct = predictions
        .iter()
        .zip(labels)
        .filter(|(p, &label)| p.class == label)
        .count();
    let seconds = start.elapsed().as_secs_f64();
    Int8Eval {
        correct,
        images: n,
        accuracy: if n == 0 {
            0.0
        } else {
            correct as f64 / n as f64
        },
        model_id: model.model_id(),
        seconds,
    }
}

/// The class the model gives each of `images` (`n * 784` raw pixels), in parallel with the
/// batched engine: the same classes as `Model::infer` on the chip.
pub fn int8_classes(model: &Model<'_>, images: &[u8]) -> Vec<u8> {
    Int8Engine::new(model)
        .infer_images_par(as_images(images))
        .iter()
        .map(|p| p.class)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::NumpyRng;

    fn as_image(px: &[u8]) -> &[u8; INPUT] {
        px.try_into()
            .expect("chunks_exact(INPUT) yields INPUT bytes")
    }

    /// A random float net (weights ~ N(0, std)) with a nonzero mean image.
    fn random_net(hidden: usize, seed: u32) -> Checkpoint {
        let mut rng = NumpyRng::new(seed);
        let mut v = |n: usize, std: f64| -> Vec<f32> {
            (0..n).map(|_| (rng.randn() * std) as f32).collect()
        };
        Checkpoint {
            format: crate::train::checkpoint::FORMAT.into(),
            input: INPUT,
            hidden,
            classes: 10,
            w1: v(INPUT * hidden, 0.05),
            b1: v(hidden, 0.1),
            w2: v(hidden * 10, 0.3),
            b2: v(10, 0.1),
            mean_image: (0..INPUT).map(|i| ((i % 28) as f32 / 28.0) * 0.3).collect(),
        }
    }

    /// MNIST-like images: mostly zero, some bright strokes.
    fn images(n: usize, seed: u32) -> Vec<u8> {
        let mut rng = NumpyRng::new(seed);
        (0..n * INPUT)
            .map(|_| match rng.randint(10) {
                0..=6 => 0,
                7 => rng.randint(256) as u8,
                _ => 255,
            })
            .collect()
    }

    #[test]
    fn int8_tracks_a_random_float_net() {
        let net = random_net(48, 1);
        let calib = images(600, 2);
        let q = quantize(&net, &calib, Layout::default()).unwrap();
        assert_eq!(q.candidates.len(), CANDIDATES.len());
        let model = Model::from_bytes(&q.bytes).unwrap();
        assert_eq!(model.dims().hidden, 48);
        // Held-out images: classes agree, and dequantised logits follow the float scores.
        let test = images(400, 3);
        let mut agree = 0;
        let (mut err_sum, mut err_n) = (0f32, 0);
        for px in test.chunks_exact(INPUT) {
            let p = model.infer(as_image(px));
            if usize::from(p.class) == argmax(net.scores(px)) {
                agree += 1;
            }
            let float = float_scores(&net, px);
            let spread = float.iter().fold(0f32, |m, v| m.max(v.abs()));
            for (l, f) in p.logits().iter().zip(&float) {
                err_sum += (*l as f32 * model.logit_scale() - f).abs() / spread;
                err_n += 1;
            }
        }
        assert!(agree >= 390, "int8 agrees with float on {agree}/400");
        let mean_err = err_sum / err_n as f32;
        assert!(mean_err < 0.01, "mean relative logit error {mean_err}");
    }

    fn float_scores(net: &Checkpoint, px: &[u8]) -> Vec<f32> {
        let h: Vec<f32> = (0..net.hidden)
            .map(|j| {
                let z: f32 = (0..INPUT)
                    .map(|i| {
                        (f32::from(px[i]) / 255.0 - net.mean_image[i]) * net.w1[i * net.hidden + j]
                    })
                    .sum();
                (z + net.b1[j]).max(0.0)
            })
            .collect();
        (0..net.classes)
            .map(|k| {
                net.b2[k]
                    + (0..net.hidden)
                        .map(|j| h[j] * net.w2[j * net.classes + k])
                        .sum::<f32>()
            })
            .collect()
    }

    #[test]
    fn block_scores_are_bit_identical_to_single_image_scores() {
        let net = random_net(37, 15);
        let imgs = images(SCORE_BLOCK + 3, 16);
        let block: Vec<Vec<f32>> = as_images(&imgs)
            .chunks(SCORE_BLOCK)
            .flat_map(|b| net.scores_block(b))
            .collect();
        assert_eq!(block.len(), SCORE_BLOCK + 3);
        for (px, b) in imgs.chunks_exact(INPUT).zip(&block) {
            let single: Vec<u32> = net.scores(px).iter().map(|v| v.to_bits()).collect();
            let b: Vec<u32> = b.iter().map(|v| v.to_bits()).collect();
            assert_eq!(single, b);
        }
    }

    #[test]
    fn same_inputs_give_the_same_bytes() {
        let net = random_net(20, 5);
        let calib = images(200, 6);
        let a = quantize(&net, &calib, Layout::default()).unwrap();
        let b = quantize(&net, &calib, Layout::default()).unwrap();
        assert_eq!(a.bytes, b.bytes);
    }

    #[test]
    fn the_best_candidate_is_chosen() {
        let net = random_net(24, 7);
        let q = quantize(&net, &images(300, 8), Layout::default()).unwrap();
        let min_rmse = q
            .candidates
            .iter()
            .map(|c| c.logit_rmse)
            .fold(f64::INFINITY, f64::min);
        let first_best = q
            .candidates
            .iter()
            .find(|c| c.logit_rmse == min_rmse)
            .unwrap();
        assert_eq!(q.chosen, first_best.scale);
        assert!(q
            .candidates
            .iter()
            .all(|c| c.logit_rmse.is_finite() && c.logit_rmse > 0.0));
    }

    #[test]
    fn bad_inputs_are_errors() {
        let net = random_net(8, 9);
        let calib = images(10, 10);
        assert!(quantize(&net, &calib[..INPUT * 3 - 1], Layout::default()).is_err());
        assert!(quantize(&net, &[], Layout::default()).is_err());
        let mut bad = random_net(8, 9);
        bad.w1[5] = f32::NAN;
        assert!(quantize(&bad, &calib, Layout::default()).is_err());
        let mut short = net.clone();
        short.b1.truncate(7);
        assert!(quantize(&short, &calib, Layout::default()).is_err());
        let mut wide = net.clone();
        wide.hidden = MAX_HIDDEN + 1;
        assert!(quantize(&wide, &calib, Layout::default()).is_err());
    }

    #[test]
    fn dead_and_zero_units_still_make_a_valid_file() {
        let mut net = random_net(8, 11);
        net.w1.iter_mut().skip(3).step_by(8).for_each(|w| *w = 0.0); // unit 3: no weights
        net.b1[5] = -1e6; // unit 5: never active
        net.w2.fill(0.0); // layer 2 all zero
        let q = quantize(&net, &images(50, 12), Layout::default()).unwrap();
        Model::from_bytes(&q.bytes).unwrap();
    }

    #[test]
    fn evaluate_counts_correct_labels() {
        let net = random_net(16, 13);
        let imgs = images(50, 14);
        let q = quantize(&net, &imgs, Layout::default()).unwrap();
        let model = Model::from_bytes(&q.bytes).unwrap();
        let labels: Vec<u8> = imgs
            .chunks_exact(INPUT)
            .map(|px| model.infer(as_image(px)).class)
            .collect();
        let e = evaluate_int8(&model, &imgs, &labels);
        assert_eq!((e.correct, e.images, e.accuracy), (50, 50, 1.0));
        let wrong: Vec<u8> = labels.iter().map(|l| (l + 1) % 10).collect();
        assert_eq!(evaluate_int8(&model, &imgs, &wrong).correct, 0);
        // Mismatched counts evaluate the common prefix.
        assert_eq!(evaluate_int8(&model, &imgs, &labels[..20]).images, 20);
        assert_eq!(e.model_id, model.model_id());
    }

    #[test]
    fn fixed_point_is_accurate_and_in_range() {
        for real in [1e-9, 3.7e-6, 0.001234, 0.5, 1.0, 2.0, 1234.5, 1e8] {
            let (m, s) = fixed_point(real).unwrap();
            assert!((1..=62).contains(&s), "{real}: shift {s}");
            let back = f64::from(m) / 2f64.powi(i32::from(s));
            assert!(((back - real) / real).abs() < 1e-9, "{real} -> {m} >> {s}");
            if s < 62 {
                assert!(m >= 1 << 30, "{real}: multiplier {m} not normalised");
            }
        }
        // Tiny values lose precision gracefully instead of failing.
        let (m, s) = fixed_point(1e-15).unwrap();
        assert_eq!(s, 62);
        assert!(m > 0);
        assert!(fixed_point(0.0).is_err());
        assert!(fixed_point(f64::NAN).is_err());
        assert!(fixed_point(2f64.powi(31)).is_err());
    }

    #[test]
    fn quantile_is_nearest_rank() {
        let v: Vec<f32> = (1..=1000).map(|i| i as f32).collect();
        assert_eq!(quantile(v.clone(), 1.0), Some(1000.0));
        assert_eq!(quantile(v.clone(), 0.999), Some(999.0));
        assert_eq!(quantile(v.clone(), 0.5), Some(500.0));
        assert_eq!(quantile(Vec::new(), 0.5), None);
    }
}
