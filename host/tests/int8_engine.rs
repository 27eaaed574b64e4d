//! The batched int8 engine must give exactly the [`Model::infer`] prediction (logits and
//! class) for every image: on random models of many shapes, with extreme weights and
//! images, for both kernels, and on the committed model over the whole MNIST test set.

use host::data::mnist;
use host::int8::{as_images, Int8Engine, Kernel, PackedLayer1};
use model_format::testing::{random_model as model, Mix, Weights};
use model_format::{Model, INPUT};
use proptest::prelude::*;

#[derive(Debug, Clone, Copy)]
enum Pixels {
    Zero,
    Full,
    Uniform,
    /// MNIST-like: mostly 0, some 255, some in between.
    Sparse,
}

fn image(kind: Pixels, rng: &mut Mix) -> [u8; INPUT] {
    std::array::from_fn(|_| match kind {
        Pixels::Zero => 0,
        Pixels::Full => 255,
        Pixels::Uniform => rng.next_u64() as u8,
        Pixels::Sparse => match rng.below(10) {
            0..=6 => 0,
            7 => rng.next_u64() as u8,
            _ => 255,
        },
    })
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
