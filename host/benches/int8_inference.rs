//! Host int8 inference throughput, single thread, over the 10,000 MNIST test images with the
//! shared `model_format` kernel. One iteration classifies all 10,000 images; criterion reports
//! images/s via `Throughput::Elements`.
//!
//! Models: the committed default (`data/model.postcard`) when present, plus synthetic models of
//! several hidden sizes (the kernel has no data-dependent work, so random weights time the
//! same as trained ones).
//!
//! Run: `cargo bench -p host --bench int8_inference`

use std::hint::black_box;
use std::path::Path;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use host::mnist;
use model_format::{Dims, Model, ModelParams, INPUT};

fn synthetic(hidden: usize) -> Vec<u8> {
    // A fixed LCG: deterministic weights in the full int8 range.
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 33) as u32
    };
    let mut i8s = |n: usize| -> Vec<i8> { (0..n).map(|_| next() as u8 as i8).collect() };
    ModelParams {
        dims: Dims {
            input: INPUT,
            hidden,
            classes: 10,
        },
        w1: i8s(hidden * INPUT),
        w2: i8s(10 * hidden),
        b1: vec![-20_000; hidden],
        multiplier: vec![1 << 30; hidden],
        shift: vec![44; hidden],
        b2: vec![0; 10],
        logit_scale: 1.0,
    }
    .encode()
    .expect("valid synthetic model")
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

criterion_group!(benches, bench);
criterion_main!(benches);
