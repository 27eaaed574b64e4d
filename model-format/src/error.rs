//! Typed decode errors: every way a model file can be malformed has its own variant.

use core::fmt;

/// A parameter array of the file (used in error details).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// Layer-1 int8 weights (`hidden * input`).
    Weights1,
    /// Layer-1 int32 biases (`hidden`).
    Bias1,
    /// Per-hidden-unit requantisation multipliers (`hidden`).
    Multiplier,
    /// Per-hidden-unit requantisation shifts (`hidden`).
    Shift,
    /// Layer-2 int8 weights (`classes * hidden`).
    Weights2,
    /// Layer-2 int32 biases (`classes`).
    Bias2,
    /// The informational float scale of the logits.
    LogitScale,
}

impl Field {
    /// A short human name, as used in `FORMAT.md`.
    pub const fn name(self) -> &'static str {
        match self {
            Field::Weights1 => "w1",
            Field::Bias1 => "b1",
            Field::Multiplier => "multiplier",
            Field::Shift => "shift",
            Field::Weights2 => "w2",
            Field::Bias2 => "b2",
            Field::LogitScale => "logit_scale",
        }
    }
}

/// Why a byte buffer is not a usable model file. The checks run in the order of the variants
/// below (see `FORMAT.md`, "Decoding order"), so each malformation maps to one error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecodeError {
    /// The first bytes are not the magic `MNI8`: not a model file at all.
    BadMagic,
    /// The file ends before its last field (the CRC) is complete.
    Truncated,
    /// A format version this reader does not implement.
    UnsupportedVersion(u16),
    /// The postcard encoding is invalid: a varint that overflows or is not minimal, or a
    /// payload that ends inside a field or continues after its last one.
    Malformed,
    /// Bytes follow the CRC; the count of extra bytes.
    TrailingBytes(usize),
    /// The CRC-32 stored in the file does not match the bytes it covers.
    CrcMismatch { stored: u32, computed: u32 },
    /// The stored model id is not the CRC-64 of the payload.
    IdMismatch { stored: u64, computed: u64 },
    /// A weight layout this reader does not implement.
    UnsupportedLayout(u8),
    /// Dimensions this reader was not built for (input must be 784, 1 <= hidden <= 1024,
    /// 1 <= classes <= 16).
    DimsUnsupported {
        input: u32,
        hidden: u32,
        classes: u32,
    },
    /// A parameter array has the wrong length for the dims (lengths in bytes).
    SizeMismatch {
        field: Field,
        expected: usize,
        found: usize,
    },
    /// A quantisation parameter is outside its allowed range; `index` is the entry.
    ParamOutOfRange { field: Field, index: usize },
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            DecodeError::BadMagic => {
                f.write_str("not a model file: the first 4 bytes are not the magic \"MNI8\"")
            }
            DecodeError::Truncated => f.write_str("file is truncated: it ends before the CRC"),
            DecodeError::UnsupportedVersion(v) => write!(
                f,
                "unsupported format version {v} (this reader implements version {})",
                crate::FORMAT_VERSION
            ),
            DecodeError::Malformed => f.write_str("malformed encoding (invalid varint or field)"),
            DecodeError::TrailingBytes(n) => {
                write!(f, "{n} unexpected trailing byte(s) after the CRC")
            }
            DecodeError::CrcMismatch { stored, computed } => write!(
                f,
                "CRC mismatch: file says {stored:#010x}, contents give {computed:#010x} (corrupted file)"
            ),
            DecodeError::IdMismatch { stored, computed } => write!(
                f,
                "model id mismatch: file says {stored:#018x}, payload hashes to {computed:#018x}"
            ),
            #[cfg(mf_layout2)]
            DecodeError::UnsupportedLayout(l) => write!(
                f,
                "unsupported weight layout {l} (this reader implements layouts {}, {} and {})",
                crate::Layout::HiddenMajor.tag(),
                crate::Layout::Smlad.tag(),
                crate::Layout::Smlad16.tag()
            ),
            // Bare metal without the feature: say how to get layout 2 (the message must fit
            // the protocol's 96-byte reason, which truncates it).
            #[cfg(not(mf_layout2))]
            DecodeError::UnsupportedLayout(l) if l == crate::Layout::Smlad16.tag() => {
                f.write_str("layout 2 (int16) not built in: rebuild with feature layout-smlad16")
            }
            #[cfg(not(mf_layout2))]
            DecodeError::UnsupportedLayout(l) => write!(
                f,
                "unsupported weight layout {l} (this reader implements layouts {} and {})",
                crate::Layout::HiddenMajor.tag(),
                crate::Layout::Smlad.tag()
            ),
            DecodeError::DimsUnsupported {
                input,
                hidden,
                classes,
            } => write!(
                f,
                "unsupported dims {input}-{hidden}-{classes} (need input {}, hidden 1..={}, classes 1..={})",
                crate::INPUT,
                crate::MAX_HIDDEN,
                crate::MAX_CLASSES
            ),
            DecodeError::SizeMismatch {
                field,
                expected,
                found,
            } => write!(
                f,
                "array {} has {found} bytes, the dims need {expected}",
                field.name()
            ),
            DecodeError::ParamOutOfRange { field, index } => write!(
                f,
                "quantisation parameter {}[{index}] is out of range",
                field.name()
            ),
        }
    }
}

impl core::error::Error for DecodeError {}
