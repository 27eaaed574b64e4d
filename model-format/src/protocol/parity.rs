//! The kernel-parity stream (QEMU `parity` mode of the firmware): many models and images in,
//! every logit out. All integers little-endian.
//!
//! ```text
//! input  = case*           case   = model_len u32 | model bytes | images u32 | images x 784 pixels
//! output = per case: status u8 (STATUS_DECODED or STATUS_REJECTED: no records follow),
//!          then per image a record: class u8 | logits i32 x 16 (entries past the model's classes are 0)
//! ```

use crate::{Prediction, MAX_CLASSES};

/// Status byte of a case whose model decoded.
pub const STATUS_DECODED: u8 = 0;
/// Status byte of a case whose model was rejected (no records follow).
pub const STATUS_REJECTED: u8 = 1;
/// Bytes of one output record.
pub const RECORD_LEN: usize = 1 + 4 * MAX_CLASSES;

/// The record of one classified image.
pub fn encode_record(p: &Prediction) -> [u8; RECORD_LEN] {
    let mut record = [0u8; RECORD_LEN];
    record[0] = p.class;
    for (dst, l) in record[1..].chunks_exact_mut(4).zip(p.logits) {
        dst.copy_from_slice(&l.to_le_bytes());
    }
    record
}

/// Class and logits of one record.
pub fn decode_record(record: &[u8; RECORD_LEN]) -> (u8, [i32; MAX_CLASSES]) {
    let mut logits = [0i32; MAX_CLASSES];
    for (l, b) in logits.iter_mut().zip(record[1..].chunks_exact(4)) {
        *l = i32::from_le_bytes([b[0], b[1], b[2], b[3]]);
    }
    (record[0], logits)
}

/// Append one case (a model file and `images`, whole 784-byte images) to an input stream.
#[cfg(feature = "std")]
pub fn encode_case(out: &mut std::vec::Vec<u8>, model: &[u8], images: &[u8]) {
    out.extend((model.len() as u32).to_le_bytes());
    out.extend(model);
    out.extend(((images.len() / crate::INPUT) as u32).to_le_bytes());
    out.extend(images);
}
