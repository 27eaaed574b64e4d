//! The batched int8 engine must give exactly the [`Model::infer`] prediction (logits and
//! class) for every image: on random models of many shapes, with extreme weights and
//! images, for both kernels, and on the committed model over the whole MNIST test set.

use host::int8_engine::{as_images, Int8Engine, Kernel, PackedLayer1};
use host::mnist;
use model_format::{Dims, Model, ModelParams, INPUT};
use proptest::prelude::*;

/// splitmix64: cheap deterministic bulk data from one proptest-chosen seed.
struct Mix(u64);

impl Mix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

#[derive(Debug, Clone, Copy)]
enum Weights {
    /// Uniform over all of i8.
    Uniform,
    /// Only -128 and 127: the largest products, both signs.
    Extreme,
    /// All -128 (the most negative sums).
    AllMin,
    /// All 127.
    AllMax,
}

#[derive(Debug, Clone, Copy)]
enum Pixels {
    Zero,
    Full,
    Uniform,
    /// MNIST-like: mostly 0, some 255, some in between.
    Sparse,
}

fn weights(kind: Weights, n: usize, rng: &mut Mix) -> Vec<i8> {
    (0..n)
        .map(|_| match kind {
            Weights::Uniform => rng.next() as u8 as i8,
            Weights::Extreme => [-128, 127][rng.below(2) as usize],
            Weights::AllMin => -128,
            Weights::AllMax => 127,
        })
        .collect()
}

fn image(kind: Pixels, rng: &mut Mix) -> [u8; INPUT] {
    std::array::from_fn(|_| match kind {
        Pixels::Zero => 0,
        Pixels::Full => 255,
        Pixels::Uniform => rng.next() as u8,
        Pixels::Sparse => match rng.below(10) {
            0..=6 => 0,
            7 => rng.next() as u8,
            _ => 255,
        },
    })
}

/// A valid random model. Shifts are mostly in the range where trained models put them
/// (activations spread over 0..255), sometimes anywhere in 1..=62 (saturating).
fn model(hidden: usize, classes: usize, w: Weights, seed: u64) -> Vec<u8> {
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
    .encode()
    .expect("valid random model")
}

fn check_all_kernels(model: &Model<'_>, images: &[[u8; INPUT]]) -> Result<(), TestCaseError> {
    let engines = [
        Int8Engine::new(model),
        Int8Engine::with_kernel(model, Kernel::Portable),
    ];
    for engine in &engines {
        let batch = engine.infer_images(images);
        let par = engine.infer_images_par(images);
        prop_assert_eq!(batch.len(), images.len());
        for (i, px) in images.iter().enumerate() {
            let want = model.infer(px);
            prop_assert_eq!(engine.infer(px), want, "{:?} image {}", engine.kernel(), i);
            prop_assert_eq!(batch[i], want);
            prop_assert_eq!(par[i], want);
        }
    }
    // The raw layer-1 accumulators the quantiser uses, against a direct sum.
    let params = model.to_params();
    let packed = PackedLayer1::new(&params.w1, &params.b1, params.dims.hidden);
    let mut acc = vec![0; params.dims.hidden];
    for px in images.iter().take(3) {
        packed.accumulate(px, &mut acc);
        for (j, &a) in acc.iter().enumerate() {
            let row = &params.w1[j * INPUT..(j + 1) * INPUT];
            let want = params.b1[j]
                + row
                    .iter()
                    .zip(px)
                    .map(|(&w, &x)| i32::from(w) * i32::from(x))
                    .sum::<i32>();
            prop_assert_eq!(a, want, "unit {}", j);
        }
    }
    Ok(())
}

fn weights_kind() -> impl Strategy<Value = Weights> {
    prop_oneof![
        4 => Just(Weights::Uniform),
        2 => Just(Weights::Extreme),
        1 => Just(Weights::AllMin),
        1 => Just(Weights::AllMax),
    ]
}

fn pixels_kind() -> impl Strategy<Value = Pixels> {
    prop_oneof![
        1 => Just(Pixels::Zero),
        1 => Just(Pixels::Full),
        2 => Just(Pixels::Uniform),
        3 => Just(Pixels::Sparse),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Hidden sizes around and between the tile widths (8 units per vector, 64 per tile).
    #[test]
    fn engine_equals_model_infer(
        hidden in prop_oneof![1usize..=80, 120usize..=140, 190usize..=210, Just(1024)],
        classes in 1usize..=16,
        w in weights_kind(),
        kinds in prop::collection::vec(pixels_kind(), 1..6),
        seed in any::<u64>(),
    ) {
        let bytes = model(hidden, classes, w, seed);
        let model = Model::from_bytes(&bytes).unwrap();
        let mut rng = Mix(seed ^ 0x5555);
        let images: Vec<[u8; INPUT]> = kinds.iter().map(|&k| image(k, &mut rng)).collect();
        check_all_kernels(&model, &images)?;
    }
}

#[test]
fn partial_trailing_image_is_left_out() {
    let pixels = vec![0u8; 2 * INPUT + 5];
    assert_eq!(as_images(&pixels).len(), 2);
    assert!(as_images(&pixels[..INPUT - 1]).is_empty());
}

#[test]
fn committed_model_on_the_whole_test_set() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/model.postcard");
    let bytes = std::fs::read(&path).expect("data/model.postcard");
    let model = Model::from_bytes(&bytes).expect("valid committed model");
    let raw = mnist::load_raw(&mnist::default_data_dir()).expect("MNIST in data/mnist");
    let images = as_images(&raw.test_images);
    assert_eq!(images.len(), 10_000);
    let fast = Int8Engine::new(&model);
    let portable = Int8Engine::with_kernel(&model, Kernel::Portable);
    let (a, b) = (
        fast.infer_images_par(images),
        portable.infer_images_par(images),
    );
    for (i, px) in images.iter().enumerate() {
        let want = model.infer(px);
        assert_eq!(a[i], want, "{:?} kernel, test image {i}", fast.kernel());
        assert_eq!(b[i], want, "portable kernel, test image {i}");
    }
}
