//! Host int8 inference over the 10,000 MNIST test images. One iteration classifies all
//! 10,000 images; criterion reports images/s via `Throughput::Elements`.
//!
//! * `int8_engine_test_set`: the batched engine (`host::int8`) on 1 thread and on a
//!   rayon pool of 2, plus its portable kernel, for the default model and a synthetic H=200.
//!   Compare with `host/benches/numpy_forward.py` (numpy's batched float32 forward pass).
//! * `int8_single_image`: latency of one image, `Model::infer` vs the engine (each iteration
//!   takes the next test image, so this is the mean over the test set).
//! * `int8_test_set`: the portable `Model::infer` (the chip's kernel) for several hidden sizes.
//!
//! Models: the committed default (`data/model.postcard`) when present, plus synthetic models of
//! several hidden sizes. `Model::infer` has no data-dependent work, so random weights time the
//! same as trained ones; the engine's work depends on the images (nonzero pixel pairs), which
//! are the real test images here.
//!
//! Run: `cargo bench -p host --bench int8_inference` (add a group name to run one group).

use std::hint::black_box;
use std::path::Path;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use host::data::mnist;
use host::int8::{as_images, Int8Engine, Kernel};
use model_format::{testing, Model, INPUT};

fn synthetic(hidden: usize) -> Vec<u8> {
    testing::random_model(hidden, 10, testing::Weights::Uniform, 0x2545_f491_4f6c_dd1d)
}

fn classify_all(model: &Model<'_>, images: &[u8]) -> u32 {
    images
        .chunks_exact(INPUT)
        .map(|px| u32::from(model.infer(px.try_into().unwrap()).class))
        .sum()
}

fn bench(c: &mut Criterion) {
    let raw = mnist::load_raw(&mnist::default_data_dir()).expect("MNIST in data/mnist");
    let images = &raw.test_images;
    let n = images.len() / INPUT;

    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    let default = Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/model.postcard");
    if let Ok(bytes) = std::fs::read(&default) {
        files.push(("default".into(), bytes));
    }
    for hidden in [50, 128, 200, 256, 512] {
        files.push((format!("synthetic-h{hidden}"), synthetic(hidden)));
    }

    engine_benches(c, &files, images);

    let mut group = c.benchmark_group("int8_test_set");
    group.throughput(Throughput::Elements(n as u64));
    group.sample_size(10);
    for (name, bytes) in &files {
        let model = Model::from_bytes(bytes).expect("valid model file");
        let id = BenchmarkId::new(name.as_str(), model.dims().hidden);
        group.bench_with_input(id, &model, |b, m| {
            b.iter(|| classify_all(m, black_box(images)))
        });
    }
    group.finish();

    // Decoding cost (CRC-32 + CRC-64 over the file): what a board pays once at start-up.
    let h200 = synthetic(200);
    c.bench_function("decode_h200", |b| {
        b.iter(|| Model::from_bytes(black_box(&h200)).map(|m| m.model_id()))
    });
}

fn engine_benches(c: &mut Criterion, files: &[(String, Vec<u8>)], images: &[u8]) {
    let images = as_images(images);
    let two = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .expect("a rayon pool of 2");
    let h200: Vec<_> = files
        .iter()
        .filter(|(name, _)| name == "default" || name == "synthetic-h200")
        .collect();

    let mut group = c.benchmark_group("int8_engine_test_set");
    group.throughput(Throughput::Elements(images.len() as u64));
    for (name, bytes) in &h200 {
        let model = Model::from_bytes(bytes).expect("valid model file");
        let engine = Int8Engine::new(&model);
        let portable = Int8Engine::with_kernel(&model, Kernel::Portable);
        let kernel = format!("{:?}", engine.kernel()).to_lowercase();
        group.bench_function(format!("{name}/{kernel}/1-thread"), |b| {
            b.iter(|| engine.infer_images(black_box(images)))
        });
        group.bench_function(format!("{name}/{kernel}/2-threads"), |b| {
            two.install(|| b.iter(|| engine.infer_images_par(black_box(images))))
        });
        group.bench_function(format!("{name}/portable/1-thread"), |b| {
            b.iter(|| portable.infer_images(black_box(images)))
        });
    }
    group.finish();

    let mut group = c.benchmark_group("int8_single_image");
    group.throughput(Throughput::Elements(1));
    for (name, bytes) in &h200 {
        let model = Model::from_bytes(bytes).expect("valid model file");
        let engine = Int8Engine::new(&model);
        let mut next = images.iter().cycle();
        group.bench_function(format!("{name}/Model::infer"), |b| {
            b.iter(|| model.infer(black_box(next.next().unwrap_or(&[0; INPUT]))))
        });
        group.bench_function(format!("{name}/engine"), |b| {
            b.iter(|| engine.infer(black_box(next.next().unwrap_or(&[0; INPUT]))))
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    // Criterion's plots need system fonts, which this machine lacks (the run panics in
    // plotters otherwise); the figures are in the text output and target/criterion.
    config = Criterion::default().without_plots();
    targets = bench
}
criterion_main!(benches);
