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

/// The boot report, the same lines on every board (the QEMU boards print it on the
/// semihosting console, the real boards in their RTT log): the firmware and board, then the
/// model check, e.g.
///
/// ```text
/// firmware 0.1.0 on nucleo-f411re (cycle counter: DWT CYCCNT)
/// boot: model ok id=e546781948dc65ba H=200 classes=10 dims=784-200-10
/// ```
///
/// or `boot: model rejected: <reason>`.
pub fn write_report(
    out: &mut impl Write,
    board: &str,
    counter: impl fmt::Display,
    status: &ModelStatus,
) -> fmt::Result {
    writeln!(
        out,
        "firmware {} on {board} ({counter})",
        crate::FIRMWARE_VERSION
    )?;
    match status {
        ModelStatus::Loaded {
            model_id,
            input,
            hidden,
            classes,
        } => writeln!(
            out,
            "boot: model ok id={model_id:016x} H={hidden} classes={classes} \
             dims={input}-{hidden}-{classes}"
        ),
        ModelStatus::Rejected { reason } => writeln!(out, "boot: model rejected: {reason}"),
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
    fn the_report_names_board_model_and_dims_or_the_reason() {
        let bytes = crate::test_support::tiny_model(12, 1);
        let model = check_model(&bytes);
        let id = model.as_ref().unwrap().model_id();
        let mut out = std::string::String::new();
        write_report(&mut out, "b", "cycle counter: X", &model_status(&model)).unwrap();
        assert_eq!(
            out,
            format!(
                "firmware {} on b (cycle counter: X)\n\
                 boot: model ok id={id:016x} H=12 classes=10 dims=784-12-10\n",
                crate::FIRMWARE_VERSION
            )
        );
        let mut out = std::string::String::new();
        let rejected = model_status(&check_model(&[]));
        write_report(&mut out, "b", "c", &rejected).unwrap();
        assert!(
            out.lines()
                .nth(1)
                .unwrap()
                .starts_with("boot: model rejected: "),
            "{out}"
        );
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
