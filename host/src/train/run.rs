//! One training run from named settings: initialise a 784-`hidden`-10 net, train it on a
//! loaded data set and evaluate it on validation and test. Writes nothing (the run folder is
//! `report::run_folder`'s job).

use std::time::Instant;

use crate::data::mnist::{Dataset, CLASSES, PIXELS};
use crate::rng::NumpyRng;
use crate::train::checkpoint::Checkpoint;
use crate::train::net::TwoLayerNet;
use crate::train::presets::RunSettings;
use crate::train::trainer::{accuracy, train, Observer, TrainConfig, TrainData, TrainStats};
use crate::with_hidden;

/// A trained net with what its training measured.
pub struct Trained {
    pub checkpoint: Checkpoint,
    pub stats: TrainStats,
    pub val_acc: f64,
    pub test_acc: f64,
    /// Wall time of the training loop alone.
    pub seconds: f64,
    pub iters: usize,
}

fn train_hidden<const H: usize>(
    settings: &RunSettings,
    ds: &Dataset<f32>,
    observer: &mut dyn Observer,
) -> anyhow::Result<Trained> {
    let mut rng = NumpyRng::new(settings.seed);
    let mut net = TwoLayerNet::<f32, PIXELS, H, CLASSES>::init(settings.init_std, &mut rng);
    let iters = settings.iterations(ds.train.len());
    let cfg = TrainConfig {
        num_iters: iters,
        ..settings.train.clone()
    };
    let start = Instant::now();
    let data = TrainData {
        train: &ds.train,
        val: &ds.val,
        mean_image: &ds.mean_image,
        pixels: Some(&ds.train_pixels),
    };
    let stats = train(&mut net, data, &cfg, &settings.extras, &mut rng, observer)?;
    let seconds = start.elapsed().as_secs_f64();
    Ok(Trained {
        checkpoint: Checkpoint::from_net(&net, &ds.mean_image),
        stats,
        val_acc: accuracy(&net, &ds.val),
        test_acc: accuracy(&net, &ds.test),
        seconds,
        iters,
    })
}

/// Train a 784-`settings.hidden`-10 net on an already loaded data set and
/// evaluate it on validation and test. Writes nothing.
pub fn train_run(
    settings: &RunSettings,
    ds: &Dataset<f32>,
    observer: &mut dyn Observer,
) -> anyhow::Result<Trained> {
    with_hidden!(settings.hidden, train_hidden(settings, ds, observer))
}
