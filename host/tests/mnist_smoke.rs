//! A short run on the real MNIST files: the whole pipeline learns.

use host::data::mnist::{self, Dataset, CLASSES, PIXELS};
use host::rng::NumpyRng;
use host::train::net::TwoLayerNet;
use host::train::trainer::{accuracy, train, Extras, NoObserver, TrainConfig, TrainData};

#[test]
fn few_hundred_iterations_reach_85_percent_validation() {
    let raw = mnist::load_raw(&mnist::default_data_dir()).expect("data/mnist ships with the repo");
    let ds: Dataset<f32> = Dataset::from_raw(&raw);
    let mut rng = NumpyRng::new(0);
    let mut net = TwoLayerNet::<f32, PIXELS, 50, CLASSES>::init(1e-4, &mut rng);
    let cfg = TrainConfig {
        learning_rate: 0.1,
        learning_rate_decay: 0.95,
        momentum: 0.9,
        reg: 1e-4,
        num_iters: 300,
        batch_size: 200,
    };
    let stats = train(
        &mut net,
        TrainData::dense(&ds.train, &ds.val),
        &cfg,
        &Extras::default(),
        &mut rng,
        &mut NoObserver,
    )
    .unwrap();
    let val = accuracy(&net, &ds.val);
    assert!(val > 0.85, "validation accuracy {val}");
    assert_eq!(stats.loss_history.len(), 300);
    assert!(
        stats.loss_history[299] < stats.loss_history[0] / 3.0,
        "loss fell: {:?}",
        &stats.loss_history[..3]
    );
    // 300 iterations at 275 per epoch: epoch marks at iterations 0 and 275.
    assert_eq!(stats.val_acc_history.len(), 2);
}
