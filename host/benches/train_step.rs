//! One SGD training iteration of the default net (784-200-10, batch 200, f32)
//! on real MNIST data: the figure to compare with numpy/PyTorch per 1,000
//! iterations (multiply the reported time by 1,000).
//!
//! `sparse` is the step training uses (`host::train::sparse_step`), `dense` the
//! reference dense products; each on rayon pools of 1 and 2 threads. The
//! bench sets MATMUL_NUM_THREADS=1 (as `host` does), so the dense products
//! do not start a pool of their own beside rayon's.

use criterion::{criterion_group, criterion_main, Criterion};
use host::data::mnist::{self, Dataset, CLASSES, PIXELS};
use host::rng::NumpyRng;
use host::train::net::TwoLayerNet;
use host::train::trainer::{Extras, Learner, TrainConfig};

fn bench(c: &mut Criterion) {
    // Before any product runs: matrixmultiply reads it once.
    std::env::set_var("MATMUL_NUM_THREADS", "1");
    let raw = mnist::load_raw(&mnist::default_data_dir()).expect("data/mnist ships with the repo");
    let ds: Dataset<f32> = Dataset::from_raw(&raw);
    let cfg = TrainConfig {
        learning_rate: 0.3,
        learning_rate_decay: 0.95,
        momentum: 0.9,
        reg: 1e-4,
        num_iters: 1,
        batch_size: 200,
    };
    let mut rng = NumpyRng::new(0);
    let mut net = TwoLayerNet::<f32, PIXELS, 200, CLASSES>::init(1e-4, &mut rng);
    let mut sgd = Learner::new(&cfg, &Extras::default(), 0, &ds.mean_image);
    let mut group = c.benchmark_group("train_step_h200_b200_f32");
    for threads in [1, 2] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("a rayon pool");
        // Inside the pool, as `trainer::train` runs its loop.
        group.bench_function(format!("sparse/{threads}_threads"), |b| {
            pool.install(|| {
                b.iter(|| sgd.step(&mut net, &ds.train, Some(&ds.train_pixels), &mut rng))
            })
        });
        group.bench_function(format!("dense/{threads}_threads"), |b| {
            pool.install(|| b.iter(|| sgd.step(&mut net, &ds.train, None, &mut rng)))
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    // Criterion's plots need system fonts (plotters panics without them).
    config = Criterion::default().without_plots();
    targets = bench
}
criterion_main!(benches);
