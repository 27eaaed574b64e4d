//! Host-side (feature `std`): owned model parameters and the encoder.

use std::vec::Vec;

use crate::file::{Envelope, Header, Payload, Trailer, CRC32, CRC64};
use crate::{DecodeError, Dims, Layout, Model, FORMAT_VERSION, MAGIC};

/// The integer parameters of a model, owned: what the quantiser produces and the encoder
/// writes. Arrays are in the logical order below (that of layout 0) whatever layout a file
/// stores; the encoder rearranges `w1` for the layout it writes.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelParams {
    pub dims: Dims,
    /// `hidden * input`, hidden-major: `w1[j * input + i]`.
    pub w1: Vec<i8>,
    /// `hidden` layer-1 biases in accumulator units.
    pub b1: Vec<i32>,
    /// `hidden` requantisation multipliers (>= 0).
    pub multiplier: Vec<i32>,
    /// `hidden` requantisation shifts (1..=62).
    pub shift: Vec<u8>,
    /// `classes * hidden`, class-major: `w2[k * hidden + j]`.
    pub w2: Vec<i8>,
    /// `classes` layer-2 biases in logit units.
    pub b2: Vec<i32>,
    /// Float value of one logit unit (informational).
    pub logit_scale: f32,
}

/// Why [`ModelParams::encode`] refused to write a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EncodeError {
    /// The parameters would make a file that readers reject, for this reason.
    Invalid(DecodeError),
    /// A dimension does not fit the file's u32 fields.
    DimsTooLarge,
    /// postcard failed to serialise (not expected for these types).
    Serialize,
}

impl core::fmt::Display for EncodeError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            EncodeError::Invalid(e) => write!(f, "parameters do not make a valid model file: {e}"),
            EncodeError::DimsTooLarge => f.write_str("a dimension does not fit in u32"),
            EncodeError::Serialize => f.write_str("postcard serialisation failed"),
        }
    }
}

impl std::error::Error for EncodeError {}

fn le_bytes(values: &[i32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

fn i8_bytes(values: &[i8]) -> Vec<u8> {
    values.iter().map(|&v| v as u8).collect()
}

impl ModelParams {
    /// Encode as a model file in the default layout ([`Layout::Smlad`], the one the
    /// Cortex-M4 kernel reads fastest), current version. The result is decoded again before
    /// it is returned, so a file this returns is one every reader accepts.
    pub fn encode(&self) -> Result<Vec<u8>, EncodeError> {
        self.encode_with_layout(Layout::default())
    }

    /// Encode with the weight layout `layout`. All layouts give the same logits everywhere;
    /// [`Layout::Smlad16`] doubles the layer-1 weight bytes.
    pub fn encode_with_layout(&self, layout: Layout) -> Result<Vec<u8>, EncodeError> {
        let dim = |d: usize| u32::try_from(d).map_err(|_| EncodeError::DimsTooLarge);
        let (w1, b1, multiplier) = (
            self.w1_bytes(layout),
            le_bytes(&self.b1),
            le_bytes(&self.multiplier),
        );
        let (w2, b2) = (i8_bytes(&self.w2), le_bytes(&self.b2));
        let payload = Payload {
            layout: layout.tag(),
            input: dim(self.dims.input)?,
            hidden: dim(self.dims.hidden)?,
            classes: dim(self.dims.classes)?,
            logit_scale: self.logit_scale,
            w1: &w1,
            b1: &b1,
            multiplier: &multiplier,
            shift: &self.shift,
            w2: &w2,
            b2: &b2,
        };
        let payload = postcard::to_allocvec(&payload).map_err(|_| EncodeError::Serialize)?;
        let header = Header {
            magic: MAGIC,
            version: FORMAT_VERSION,
        };
        let envelope = Envelope {
            model_id: CRC64.checksum(&payload),
            payload: &payload,
        };
        let mut file = postcard::to_allocvec(&header).map_err(|_| EncodeError::Serialize)?;
        file.extend(postcard::to_allocvec(&envelope).map_err(|_| EncodeError::Serialize)?);
        let trailer = Trailer {
            crc32: CRC32.checksum(&file),
        };
        file.extend(postcard::to_allocvec(&trailer).map_err(|_| EncodeError::Serialize)?);
        Model::from_bytes(&file).map_err(EncodeError::Invalid)?;
        Ok(file)
    }
}

impl ModelParams {
    /// `w1` rearranged for `layout` (layout 2: each int8 sign-extended to an LE int16). A `w1`
    /// of the wrong length for the dims is written as given (layouts 0 and 1) and then refused
    /// by the decode check.
    fn w1_bytes(&self, layout: Layout) -> Vec<u8> {
        let (input, hidden) = (self.dims.input, self.dims.hidden);
        if !layout.is_blocked() || input != crate::INPUT || self.w1.len() != hidden * input {
            return i8_bytes(&self.w1);
        }
        let width = layout.bytes_per_weight();
        let mut out = std::vec![0u8; layout.w1_bytes(hidden)];
        for (j, row) in self.w1.chunks_exact(input).enumerate() {
            for (i, &w) in row.iter().enumerate() {
                let at = layout.weight_index(j, i) * width;
                if let Some(slot) = out.get_mut(at..at + width) {
                    slot.copy_from_slice(&i16::from(w).to_le_bytes()[..width]);
                }
            }
        }
        out
    }
}

impl Model<'_> {
    /// Copy the parameters out (host-side inspection, tests, re-encoding).
    pub fn to_params(&self) -> ModelParams {
        ModelParams {
            dims: self.dims,
            w1: self.w1().collect(),
            b1: self.b1().collect(),
            multiplier: self.requant().map(|(m, _)| m).collect(),
            shift: self.requant().map(|(_, s)| s).collect(),
            w2: self.w2().collect(),
            b2: self.b2().collect(),
            logit_scale: self.logit_scale,
        }
    }
}
