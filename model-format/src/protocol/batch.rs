//! The batch stream: the firmware's answer to a file of raw images (QEMU batch mode, over
//! semihosting files). All integers little-endian:
//!
//! ```text
//! header  = "FWBATCH1" (8 bytes) | model_id u64 | classes u32 | record_len u32
//! record  = class u8 | logits i32 x classes | cycles u32        (record_len = 5 + 4 * classes)
//! ```
//!
//! One record per input image, in input order. The input is `N * 784` bytes of raw pixels.

use crate::{Prediction, MAX_CLASSES};

/// First bytes of a batch output stream.
pub const MAGIC: [u8; 8] = *b"FWBATCH1";
/// Length of the header.
pub const HEADER_LEN: usize = 24;
/// The longest record (16 classes).
pub const MAX_RECORD: usize = record_len(MAX_CLASSES);

/// Bytes of one record for a model with `classes` outputs.
pub const fn record_len(classes: usize) -> usize {
    1 + 4 * classes + 4
}

/// The header of a batch stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Id of the model that classified the images.
    pub model_id: u64,
    /// Logits per record (1..=[`MAX_CLASSES`]).
    pub classes: usize,
}

/// Why a batch stream does not parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamError {
    /// Shorter than its header.
    Truncated,
    /// Does not start with [`MAGIC`].
    BadMagic,
    /// Class count and record length disagree, or the class count is out of range.
    Inconsistent { classes: u32, record_len: u32 },
    /// The records do not fill the body exactly.
    PartialRecord,
}

impl core::fmt::Display for StreamError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            StreamError::Truncated => f.write_str("batch output shorter than its header"),
            StreamError::BadMagic => f.write_str("batch output does not start with FWBATCH1"),
            StreamError::Inconsistent {
                classes,
                record_len,
            } => write!(
                f,
                "batch output header is inconsistent: {classes} classes, records of {record_len} bytes"
            ),
            StreamError::PartialRecord => f.write_str("batch output ends inside a record"),
        }
    }
}

impl Header {
    /// Bytes of one record of this stream.
    pub const fn record_len(&self) -> usize {
        record_len(self.classes)
    }

    /// The header bytes.
    pub fn encode(&self) -> [u8; HEADER_LEN] {
        let mut h = [0u8; HEADER_LEN];
        h[..8].copy_from_slice(&MAGIC);
        h[8..16].copy_from_slice(&self.model_id.to_le_bytes());
        h[16..20].copy_from_slice(&(self.classes as u32).to_le_bytes());
        h[20..24].copy_from_slice(&(self.record_len() as u32).to_le_bytes());
        h
    }

    /// Parse the header of `stream` and check that the rest is whole records; returns the
    /// header and the records' bytes.
    pub fn decode(stream: &[u8]) -> Result<(Header, &[u8]), StreamError> {
        let (h, body) = (
            stream.get(..HEADER_LEN).ok_or(StreamError::Truncated)?,
            stream.get(HEADER_LEN..).unwrap_or(&[]),
        );
        if h[..8] != MAGIC {
            return Err(StreamError::BadMagic);
        }
        let mut id = [0u8; 8];
        id.copy_from_slice(&h[8..16]);
        let (classes, rec_len) = (le_u32(&h[16..20]), le_u32(&h[20..24]));
        if classes == 0
            || classes as usize > MAX_CLASSES
            || rec_len as usize != record_len(classes as usize)
        {
            return Err(StreamError::Inconsistent {
                classes,
                record_len: rec_len,
            });
        }
        if !body.len().is_multiple_of(rec_len as usize) {
            return Err(StreamError::PartialRecord);
        }
        let header = Header {
            model_id: u64::from_le_bytes(id),
            classes: classes as usize,
        };
        Ok((header, body))
    }
}

fn le_u32(b: &[u8]) -> u32 {
    u32::from_le_bytes([b[0], b[1], b[2], b[3]])
}

/// Write the record of one classified image into `out` (exactly `record_len(classes)` bytes,
/// where `classes` is the number of logits written).
pub fn encode_record(prediction: &Prediction, cycles: u32, out: &mut [u8]) {
    let n = out.len();
    if let Some(first) = out.first_mut() {
        *first = prediction.class;
    }
    if let Some(logits) = out.get_mut(1..n.saturating_sub(4)) {
        for (dst, logit) in logits.chunks_exact_mut(4).zip(prediction.logits()) {
            dst.copy_from_slice(&logit.to_le_bytes());
        }
    }
    if let Some(tail) = out.get_mut(n.saturating_sub(4)..) {
        tail.copy_from_slice(&cycles.to_le_bytes());
    }
}

/// One record read back: class, logits (the first `classes` entries) and counter reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Record {
    pub class: u8,
    pub logits: [i32; MAX_CLASSES],
    pub cycles: u32,
}

/// Parse one record of a stream with `classes` logits (`bytes` is `record_len(classes)` long).
pub fn decode_record(bytes: &[u8], classes: usize) -> Record {
    let mut logits = [0i32; MAX_CLASSES];
    for (l, b) in logits
        .iter_mut()
        .zip(bytes[1..].chunks_exact(4))
        .take(classes)
    {
        *l = le_u32(b) as i32;
    }
    Record {
        class: bytes[0],
        logits,
        cycles: le_u32(&bytes[bytes.len() - 4..]),
    }
}
