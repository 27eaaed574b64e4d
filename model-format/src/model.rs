//! A decoded, validated model borrowing its arrays from the file bytes.

use crate::file::{self, le_i32s};
use crate::{DecodeError, Field, Layout, INPUT};

/// Layer sizes of a model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Dims {
    pub input: usize,
    pub hidden: usize,
    pub classes: usize,
}

/// A validated model file. Zero-copy: the weight arrays are slices of the buffer passed to
/// [`Model::from_bytes`], so on a chip they stay in flash. Cheap to copy.
///
/// Invariants established by `from_bytes` (and relied on by [`Model::infer`] for exact,
/// overflow-free arithmetic): dims within the supported ranges, every array exactly as long
/// as the dims require, |biases| <= 2^30, multipliers >= 0, shifts in 1..=62.
#[derive(Debug, Clone, Copy)]
pub struct Model<'a> {
    pub(crate) dims: Dims,
    pub(crate) version: u16,
    pub(crate) layout: Layout,
    /// Bytes from the start of the file to its layer-1 weights.
    pub(crate) w1_offset: usize,
    pub(crate) model_id: u64,
    pub(crate) crc32: u32,
    pub(crate) file_len: usize,
    pub(crate) payload_len: usize,
    pub(crate) logit_scale: f32,
    pub(crate) w1: &'a [u8],
    pub(crate) b1: &'a [u8],
    pub(crate) multiplier: &'a [u8],
    pub(crate) shift: &'a [u8],
    pub(crate) w2: &'a [u8],
    pub(crate) b2: &'a [u8],
}

impl<'a> Model<'a> {
    /// Decode and fully check a model file (magic, version, framing, CRC-32, model id,
    /// layout, dims, array sizes, parameter ranges). Runs in time linear in the file size
    /// (two CRC passes), so decode once and keep the `Model`.
    pub fn from_bytes(bytes: &'a [u8]) -> Result<Model<'a>, DecodeError> {
        let d = file::decode(bytes)?;
        let p = d.payload;
        // `p.w1` is a subslice of `bytes`, so the difference is its offset in the file.
        let w1_offset = (p.w1.as_ptr() as usize).wrapping_sub(bytes.as_ptr() as usize);
        Ok(Model {
            dims: Dims {
                input: p.input as usize,
                hidden: p.hidden as usize,
                classes: p.classes as usize,
            },
            version: d.version,
            layout: d.layout,
            w1_offset,
            model_id: d.model_id,
            crc32: d.crc32,
            file_len: bytes.len(),
            payload_len: d.payload_len,
            logit_scale: p.logit_scale,
            w1: p.w1,
            b1: p.b1,
            multiplier: p.multiplier,
            shift: p.shift,
            w2: p.w2,
            b2: p.b2,
        })
    }

    pub fn dims(&self) -> Dims {
        self.dims
    }

    /// CRC-64/XZ of the payload bytes: identifies the weights, whatever the file name.
    pub fn model_id(&self) -> u64 {
        self.model_id
    }

    /// Format version of the file (always [`crate::FORMAT_VERSION`] once decoded).
    pub fn version(&self) -> u16 {
        self.version
    }

    /// How the file stores its layer-1 weights.
    pub fn layout(&self) -> Layout {
        self.layout
    }

    /// Bytes from the start of the file to its layer-1 weights.
    pub fn w1_offset(&self) -> usize {
        self.w1_offset
    }

    /// Zero bytes to place before the file (in a word-aligned buffer) so that its layer-1
    /// weights start on a word boundary: the SMLAD kernel loads them with LDRD.
    pub fn w1_align_pad(&self) -> usize {
        (4 - self.w1_offset % 4) % 4
    }

    /// The stored (and verified) CRC-32 of the file.
    pub fn crc32(&self) -> u32 {
        self.crc32
    }

    /// Total file size in bytes.
    pub fn file_len(&self) -> usize {
        self.file_len
    }

    /// Payload size in bytes (what the model id hashes).
    pub fn payload_len(&self) -> usize {
        self.payload_len
    }

    /// Float value of one logit unit: `logit * logit_scale` approximates the float model's
    /// score. Informational only; inference does not use it.
    pub fn logit_scale(&self) -> f32 {
        self.logit_scale
    }

    /// Raw parameter array as stored (int8 arrays as bytes, int32 arrays as LE bytes). For
    /// `w1` that is the file's layout (see [`Model::layout`]); [`Model::w1`] gives it in
    /// hidden-major order whatever the layout.
    pub fn raw(&self, field: Field) -> &'a [u8] {
        match field {
            Field::Weights1 => self.w1,
            Field::Bias1 => self.b1,
            Field::Multiplier => self.multiplier,
            Field::Shift => self.shift,
            Field::Weights2 => self.w2,
            Field::Bias2 => self.b2,
            Field::LogitScale => &[],
        }
    }

    /// Layer-1 weights (int8, hidden-major: `w1[j * input + i]`), whatever the stored layout
    /// (the zero padding units of layouts 1 and 2 are not included).
    pub fn w1(&self) -> impl Iterator<Item = i8> + 'a {
        let (w1, layout) = (self.w1, self.layout);
        (0..self.dims.hidden).flat_map(move |j| {
            (0..INPUT).map(move |i| {
                // Decoding checked the length for these dims (so the entry exists) and, for
                // layout 2, that every int16 is in i8 range (so the cast is exact).
                layout
                    .stored_weight(w1, layout.weight_index(j, i))
                    .map_or(0, |w| w as i8)
            })
        })
    }

    /// Layer-1 biases (int32, one per hidden unit).
    pub fn b1(&self) -> impl Iterator<Item = i32> + 'a {
        le_i32s(self.b1)
    }

    /// Requantisation `(multiplier, shift)` per hidden unit.
    pub fn requant(&self) -> impl Iterator<Item = (i32, u8)> + 'a {
        le_i32s(self.multiplier).zip(self.shift.iter().copied())
    }

    /// Layer-2 weights (int8, class-major: `w2[k * hidden + j]`).
    pub fn w2(&self) -> impl Iterator<Item = i8> + 'a {
        self.w2.iter().map(|&w| w as i8)
    }

    /// Layer-2 biases (int32, one per class).
    pub fn b2(&self) -> impl Iterator<Item = i32> + 'a {
        le_i32s(self.b2)
    }
}
