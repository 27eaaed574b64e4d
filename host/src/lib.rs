//! Host side of the toolkit: MNIST loading, the numpy-compatible RNG, the
//! two-layer net and its trainer, quantisation/export and the device clients.

pub mod analysis_cli;
pub mod augment;
pub mod checkpoint;
pub mod device_cli;
pub mod gradcheck;
pub mod hidden;
pub mod int8_engine;
pub mod mnist;
pub mod model_cli;
pub mod net;
pub mod optim;
pub mod presets;
pub mod quantize;
pub mod rng;
pub mod sparse;
pub mod spin_pair;
pub mod toy;
pub mod train;
pub mod train_cmd;
