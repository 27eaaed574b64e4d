//! The boot-time check of the built-in model: a model that fails it is reported and never used.

use core::fmt::{self, Write};

use model_format::{DecodeError, Model, INPUT, MAX_CLASSES};

use crate::protocol::{ModelStatus, MAX_REASON};

/// Why the built-in model was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelFault {
    /// The decoder refused the bytes (bad magic, CRC mismatch, unsupported dims, ...).
    Decode(DecodeError),
    /// The model decoded but does not take 784-pixel images or has too many classes for the
    /// protocol (a decoder that accepts more than this firmware can serve).
    Dims {
        /// Input size of the model.
        input: usize,
        /// Classes of the model.
        classes: usize,
    },
}

impl fmt::Display for ModelFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ModelFault::Decode(e) => write!(f, "{e}"),
            ModelFault::Dims { input, classes } => write!(
                f,
                "model takes {input} inputs and {classes} classes; this firmware serves \
                 {INPUT} inputs and at most {MAX_CLASSES} classes"
            ),
        }
    }
}

/// Decode and check the embedded model bytes (magic, version, CRC, dims, parameter ranges:
/// everything `Model::from_bytes` verifies, plus the dims this firmware can serve).
pub fn check_model(bytes: &[u8]) -> Result<Model<'_>, ModelFault> {
    let model = Model::from_bytes(bytes).map_err(ModelFault::Decode)?;
    let dims = model.dims();
    if dims.input != INPUT || dims.classes == 0 || dims.classes > MAX_CLASSES {
        return Err(ModelFault::Dims {
            input: dims.input,
            classes: dims.classes,
        });
    }
    Ok(model)
}

/// The model status as the protocol reports it.
pub fn model_status(model: &Result<Model<'_>, ModelFault>) -> ModelStatus {
    match model {
        Ok(m) => {
            let d = m.dims();
            ModelStatus::Loaded {
                model_id: m.model_id(),
                // `check_model` bounds input to 784 and classes to 16; hidden is bounded by
                // the decoder's MAX_HIDDEN (1024), so these conversions cannot saturate.
                input: u16::try_from(d.input).unwrap_or(u16::MAX),
                hidden: u16::try_from(d.hidden).unwrap_or(u16::MAX),
                classes: u8::try_from(d.classes).unwrap_or(u8::MAX),
            }
        }
        Err(fault) => {
            let mut reason = Truncating(heapless::String::new());
            // Truncating never fails; an over-long message is cut at MAX_REASON bytes.
            let _ = write!(reason, "{fault}");
            ModelStatus::Rejected { reason: reason.0 }
        }
    }
}

/// A `fmt::Write` into a fixed string that silently drops what does not fit.
struct Truncating(heapless::String<MAX_REASON>);

impl Write for Truncating {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for c in s.chars() {
            if self.0.push(c).is_err() {
                break;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_is_rejected_with_a_reason() {
        let status = model_status(&check_model(b"definitely not a model"));
        match status {
            ModelStatus::Rejected { reason } => {
                assert!(!reason.is_empty());
                assert!(reason.len() <= MAX_REASON);
            }
            other => panic!("accepted garbage: {other:?}"),
        }
    }

    #[test]
    fn empty_model_is_rejected() {
        assert!(check_model(&[]).is_err());
    }

    #[test]
    fn long_reasons_are_truncated_not_dropped() {
        let mut t = Truncating(heapless::String::new());
        for _ in 0..20 {
            write!(t, "0123456789").unwrap();
        }
        assert_eq!(t.0.len(), MAX_REASON);
    }
}
