//! Training data: the MNIST IDX reader and splits, images as sparse rows, random distortions.
//! Imports nothing from training, quantisation or the CLI.

pub mod augment;
pub mod mnist;
pub mod sparse_rows;
