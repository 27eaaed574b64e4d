//! The model file format and the integer forward pass, shared by host and firmware.
//!
//! One definition of the bytes on disk / in flash ([`Model::from_bytes`], see `FORMAT.md`)
//! and one integer forward pass ([`Model::infer`]) used unchanged by the workstation and the
//! microcontroller, so the two agree bit for bit.
//!
//! * `#![no_std]`, no allocator: decoding borrows the weight bytes from the input buffer, so
//!   on a chip the weights stay in flash.
//! * No panics on any input: every malformed file is a typed [`DecodeError`].
//! * The feature `std` adds the host-side encoder ([`ModelParams`]).
#![no_std]

#[cfg(feature = "std")]
extern crate std;

mod confidence;
mod error;
mod file;
mod infer;
mod layout;
mod model;
#[cfg(feature = "std")]
mod params;
pub mod protocol;
#[cfg(feature = "testing")]
pub mod testing;

pub use confidence::top_probability;
pub use error::{DecodeError, Field};
pub use file::{CRC32, FORMAT_VERSION, MAGIC};
pub use infer::{argmax, requantize, Prediction};
pub use layout::{Layout, ROW_BLOCK};
pub use model::{Dims, Model};
#[cfg(feature = "std")]
pub use params::{EncodeError, ModelParams};

/// Pixels per image (28 x 28 MNIST). A file with another input size is rejected.
pub const INPUT: usize = 784;
/// Largest hidden layer a reader supports (sizes the stack scratch of [`Model::infer`]).
pub const MAX_HIDDEN: usize = 1024;
/// Largest number of classes a reader supports (sizes [`Prediction::logits`]).
pub const MAX_CLASSES: usize = 16;

/// Largest magnitude allowed for a stored bias (2^30). With |int8 x u8| sums bounded by
/// 1024 * 128 * 255 < 2^25, this keeps every i32 accumulator exact (no overflow, no wrap).
pub const MAX_BIAS_ABS: i32 = 1 << 30;
/// Allowed range of the requantisation shift (the product `acc * multiplier` is an i64 below
/// 2^62 in magnitude, so adding the rounding term `1 << (shift - 1)` cannot overflow).
pub const SHIFT_RANGE: core::ops::RangeInclusive<u8> = 1..=62;
