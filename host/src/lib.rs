//! Host side of the toolkit, one folder per layer (each imports only the ones above it):
//!
//! * [`rng`], [`real`], [`paths`]: the numpy-compatible RNG, the float element type, the
//!   repository's paths;
//! * [`data`]: MNIST reader, sparse rows, augmentation;
//! * [`train`]: the float net, the sparse training step, optimiser, trainer, presets,
//!   checkpoints;
//! * [`int8`]: the batched host int8 engine; [`quantize`]: checkpoint -> model file;
//! * [`device`]: firmware build, QEMU and board clients;
//! * [`report`]: run folders (checkpoint, model, metrics.json, pictures);
//! * [`frontier`]: the size presets' accuracy against flash and instructions;
//! * [`tune`]: hyper-parameter search; [`homework`]: the homework replay and its toy checks;
//! * [`cli`]: clap types and one file per subcommand (`main.rs` only dispatches).

pub mod cli;
pub mod data;
pub mod device;
pub mod frontier;
pub mod homework;
pub mod int8;
pub mod paths;
pub mod quantize;
pub mod real;
pub mod report;
pub mod rng;
pub mod serve;
pub mod train;
pub mod tune;
