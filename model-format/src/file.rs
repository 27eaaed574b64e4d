//! The byte layout of a model file (see `FORMAT.md`) and its checked decoding.
//!
//! A file is a postcard-encoded envelope around a postcard-encoded payload:
//!
//! ```text
//! magic "MNI8" | version u16 LE | model_id u64 LE | varint len | payload (len bytes) | crc32 u32 LE
//! ```
//!
//! The payload holds the dims and the parameter arrays. Arrays are postcard byte strings
//! (varint length + raw bytes) so that decoding can borrow them from the buffer; int32 entries
//! inside them are little-endian, read with `i32::from_le_bytes` when used.

use crc::{Crc, CRC_32_ISO_HDLC, CRC_64_XZ};
use serde::{Deserialize, Serialize};

use crate::layout::{BLOCK_WEIGHTS, GROUP, ROW_BLOCK};
use crate::{
    DecodeError, Field, Layout, INPUT, MAX_BIAS_ABS, MAX_CLASSES, MAX_HIDDEN, SHIFT_RANGE,
};

/// The first four bytes of every model file.
pub const MAGIC: [u8; 4] = *b"MNI8";
/// The envelope/payload version this crate writes and reads.
pub const FORMAT_VERSION: u16 = 1;
/// CRC-32/ISO-HDLC (the zlib/PNG CRC): over every byte of a model file before its CRC field,
/// and over the payload of every protocol frame.
pub const CRC32: Crc<u32> = Crc::<u32>::new(&CRC_32_ISO_HDLC);
/// CRC-64/XZ of the payload bytes: the model id.
pub(crate) const CRC64: Crc<u64> = Crc::<u64>::new(&CRC_64_XZ);

/// Bytes 0..6: fixed-size so any reader (or `xxd`) can identify the file and its version
/// before knowing anything else about the layout.
#[derive(Serialize, Deserialize)]
pub(crate) struct Header {
    pub magic: [u8; 4],
    #[serde(with = "postcard::fixint::le")]
    pub version: u16,
}

/// The version-1 envelope following the header.
#[derive(Serialize, Deserialize)]
pub(crate) struct Envelope<'a> {
    #[serde(with = "postcard::fixint::le")]
    pub model_id: u64,
    #[serde(borrow)]
    pub payload: &'a [u8],
}

/// The CRC trailer (separate so the CRC can be computed over the bytes written before it).
#[derive(Serialize, Deserialize)]
pub(crate) struct Trailer {
    #[serde(with = "postcard::fixint::le")]
    pub crc32: u32,
}

/// The version-1 payload: layout tag, dims, quantisation parameters and weights.
#[derive(Serialize, Deserialize)]
pub(crate) struct Payload<'a> {
    pub layout: u8,
    pub input: u32,
    pub hidden: u32,
    pub classes: u32,
    /// Float value of one logit unit (informational: inference never uses it).
    pub logit_scale: f32,
    /// int8 (int16 LE in layout 2), `stored_hidden * input` as laid out by `layout` (see
    /// [`Layout::weight_index`]).
    #[serde(borrow)]
    pub w1: &'a [u8],
    /// int32 LE, `hidden`.
    #[serde(borrow)]
    pub b1: &'a [u8],
    /// int32 LE, `hidden`, each in 0..=i32::MAX.
    #[serde(borrow)]
    pub multiplier: &'a [u8],
    /// u8, `hidden`, each in 1..=62.
    #[serde(borrow)]
    pub shift: &'a [u8],
    /// int8, `classes * hidden`, `w2[k * hidden + j]`.
    #[serde(borrow)]
    pub w2: &'a [u8],
    /// int32 LE, `classes`.
    #[serde(borrow)]
    pub b2: &'a [u8],
}

/// A checked, decoded file: everything [`crate::Model`] needs.
pub(crate) struct Decoded<'a> {
    pub layout: Layout,
    pub version: u16,
    pub model_id: u64,
    pub crc32: u32,
    pub payload_len: usize,
    pub payload: Payload<'a>,
}

/// Map postcard's error to ours: running out of bytes is truncation, anything else is a
/// malformed encoding (bad varint, invalid bool/utf8, ...).
fn pc_err(e: postcard::Error) -> DecodeError {
    match e {
        postcard::Error::DeserializeUnexpectedEnd => DecodeError::Truncated,
        _ => DecodeError::Malformed,
    }
}

/// Decode and check a whole file, in the order documented in `FORMAT.md`.
pub(crate) fn decode(bytes: &[u8]) -> Result<Decoded<'_>, DecodeError> {
    // 1. Magic: a short buffer that still agrees with the magic is truncated, not foreign.
    let prefix = bytes.get(..MAGIC.len()).unwrap_or(bytes);
    if MAGIC.get(..prefix.len()) != Some(prefix) {
        return Err(DecodeError::BadMagic);
    }
    // 2. Header (magic + version); the version decides how the rest is laid out.
    let (header, rest): (Header, &[u8]) = postcard::take_from_bytes(bytes).map_err(pc_err)?;
    if header.version != FORMAT_VERSION {
        return Err(DecodeError::UnsupportedVersion(header.version));
    }
    // 3. Envelope and CRC trailer; nothing may follow.
    check_payload_len_varint(rest.get(8..).unwrap_or(&[]))?;
    let (envelope, rest): (Envelope<'_>, &[u8]) =
        postcard::take_from_bytes(rest).map_err(pc_err)?;
    let covered = bytes.len() - rest.len(); // everything before the CRC field
    let (trailer, rest): (Trailer, &[u8]) = postcard::take_from_bytes(rest).map_err(pc_err)?;
    if !rest.is_empty() {
        return Err(DecodeError::TrailingBytes(rest.len()));
    }
    // 4. Integrity: CRC over header + envelope, then the id over the payload.
    let computed = CRC32.checksum(bytes.get(..covered).unwrap_or(bytes));
    if computed != trailer.crc32 {
        return Err(DecodeError::CrcMismatch {
            stored: trailer.crc32,
            computed,
        });
    }
    let id = CRC64.checksum(envelope.payload);
    if id != envelope.model_id {
        return Err(DecodeError::IdMismatch {
            stored: envelope.model_id,
            computed: id,
        });
    }
    // 5. Payload structure, then its contents.
    let (payload, extra): (Payload<'_>, &[u8]) = postcard::take_from_bytes(envelope.payload)
        .map_err(|e| match e {
            // The payload's own length is known, so running short inside it is malformed.
            postcard::Error::DeserializeUnexpectedEnd => DecodeError::Malformed,
            other => pc_err(other),
        })?;
    if !extra.is_empty() {
        return Err(DecodeError::Malformed);
    }
    // 6. Canonical encoding: postcard accepts over-long varints (e.g. 0x80 0x00 for 0); a
    // file using one would decode to the same model under a different id. Minimal varints
    // make the byte lengths exact, so comparing lengths rejects every over-long one.
    if covered != HEADER_LEN + 8 + varint_len(envelope.payload.len()) + envelope.payload.len()
        || envelope.payload.len() != canonical_payload_len(&payload)
    {
        return Err(DecodeError::Malformed);
    }
    let layout = validate(&payload)?;
    Ok(Decoded {
        layout,
        version: header.version,
        model_id: envelope.model_id,
        crc32: trailer.crc32,
        payload_len: envelope.payload.len(),
        payload,
    })
}

/// The envelope's payload length (`bytes` starts at it) must be a varint of at most 5 bytes
/// with a value below 2^32, on every platform: postcard reads it as a `usize`, which would
/// take up to 10 bytes on a 64-bit host but only 5 (and values below 2^32) on a 32-bit chip, so
/// without this check one malformation (say a length of 2^32) would be `Truncated` on the host
/// and `Malformed` on the chip. A file that ends inside the varint is `Truncated`. A
/// non-minimal varint passes here and is `Malformed` after the CRC and id checks.
fn check_payload_len_varint(bytes: &[u8]) -> Result<(), DecodeError> {
    for (n, &b) in bytes.iter().take(MAX_LEN_VARINT).enumerate() {
        if b & 0x80 == 0 {
            // The 5th byte carries bits 28..35: only 4 of them fit a u32.
            return if n + 1 == MAX_LEN_VARINT && b > 0x0F {
                Err(DecodeError::Malformed)
            } else {
                Ok(())
            };
        }
    }
    if bytes.len() < MAX_LEN_VARINT {
        Err(DecodeError::Truncated)
    } else {
        Err(DecodeError::Malformed)
    }
}

/// Longest varint for a `u32` value (and so for a length, see `check_payload_len_varint`).
const MAX_LEN_VARINT: usize = 5;

/// Bytes of the fixed header (magic + version).
const HEADER_LEN: usize = 6;

/// Length of the minimal LEB128 encoding of `v`.
fn varint_len(mut v: usize) -> usize {
    let mut n = 1;
    while v >= 0x80 {
        v >>= 7;
        n += 1;
    }
    n
}

/// The payload's length when every varint in it is minimal.
fn canonical_payload_len(p: &Payload<'_>) -> usize {
    let dims = [p.input, p.hidden, p.classes].map(|d| varint_len(d as usize));
    let arrays = [p.w1, p.b1, p.multiplier, p.shift, p.w2, p.b2]
        .map(|a| varint_len(a.len()).saturating_add(a.len()));
    // layout u8 + 3 dims + logit_scale f32 + 6 arrays; each array lies inside the payload,
    // so the sum cannot overflow.
    1 + dims.iter().sum::<usize>() + 4 + arrays.iter().sum::<usize>()
}

/// Layout tag, dims, array lengths and parameter ranges.
fn validate(p: &Payload<'_>) -> Result<Layout, DecodeError> {
    let layout = Layout::try_from(p.layout)?;
    if !layout.is_built_in() {
        return Err(DecodeError::UnsupportedLayout(p.layout));
    }
    let (input, hidden, classes) = (p.input as usize, p.hidden as usize, p.classes as usize);
    if input != INPUT
        || !(1..=MAX_HIDDEN).contains(&hidden)
        || !(1..=MAX_CLASSES).contains(&classes)
    {
        return Err(DecodeError::DimsUnsupported {
            input: p.input,
            hidden: p.hidden,
            classes: p.classes,
        });
    }
    // Products cannot overflow: all factors are bounded by the dims check above.
    let sizes = [
        (Field::Weights1, p.w1.len(), layout.w1_bytes(hidden)),
        (Field::Bias1, p.b1.len(), hidden * 4),
        (Field::Multiplier, p.multiplier.len(), hidden * 4),
        (Field::Shift, p.shift.len(), hidden),
        (Field::Weights2, p.w2.len(), classes * hidden),
        (Field::Bias2, p.b2.len(), classes * 4),
    ];
    for (field, found, expected) in sizes {
        if found != expected {
            return Err(DecodeError::SizeMismatch {
                field,
                expected,
                found,
            });
        }
    }
    // Layout 1/2 padding units must be zero: one model, one file (and one id). The error
    // names the lowest stored index (byte in layout 1, int16 entry in layout 2), so the
    // stored entries are scanned in storage order, not unit by unit.
    if let Some(index) = padding_entries(layout, hidden)
        .find(|&n| layout.stored_weight(p.w1, n).is_some_and(|w| w != 0))
    {
        return Err(DecodeError::ParamOutOfRange {
            field: Field::Weights1,
            index,
        });
    }
    // Layout 2 stores int8 values in int16 slots: anything outside -128..=127 would give
    // logits no int8 model has (and could overflow the i32 accumulator bound). The index is
    // that of the int16 entry.
    if layout == Layout::Smlad16 {
        if let Some(index) =
            p.w1.chunks_exact(2)
                .position(|w| !(-128..=127).contains(&i16::from_le_bytes([w[0], w[1]])))
        {
            return Err(DecodeError::ParamOutOfRange {
                field: Field::Weights1,
                index,
            });
        }
    }
    check_each_i32(p.b1, Field::Bias1, |b| {
        (-MAX_BIAS_ABS..=MAX_BIAS_ABS).contains(&b)
    })?;
    check_each_i32(p.multiplier, Field::Multiplier, |m| m >= 0)?;
    if let Some(index) = p.shift.iter().position(|s| !SHIFT_RANGE.contains(s)) {
        return Err(DecodeError::ParamOutOfRange {
            field: Field::Shift,
            index,
        });
    }
    check_each_i32(p.b2, Field::Bias2, |b| {
        (-MAX_BIAS_ABS..=MAX_BIAS_ABS).contains(&b)
    })?;
    if !(p.logit_scale.is_finite() && p.logit_scale > 0.0) {
        return Err(DecodeError::ParamOutOfRange {
            field: Field::LogitScale,
            index: 0,
        });
    }
    Ok(layout)
}

/// The stored indices (see [`Layout::weight_index`]) of the padding units' weights, in
/// increasing order. Padding units (`hidden..stored_hidden`) all lie in the last block, where
/// the row of entry `n` is `(n % 16) / 4`.
fn padding_entries(layout: Layout, hidden: usize) -> impl Iterator<Item = usize> {
    let stored = layout.stored_hidden(hidden);
    // Layout 0 has no padding: an empty range.
    let first = if layout.is_blocked() {
        (hidden / ROW_BLOCK) * BLOCK_WEIGHTS
    } else {
        stored * INPUT
    };
    let last_block_start = (hidden / ROW_BLOCK) * ROW_BLOCK;
    (first..stored * INPUT)
        .filter(move |&n| last_block_start + (n % (ROW_BLOCK * GROUP)) / GROUP >= hidden)
}

fn check_each_i32(bytes: &[u8], field: Field, ok: impl Fn(i32) -> bool) -> Result<(), DecodeError> {
    match le_i32s(bytes).position(|v| !ok(v)) {
        Some(index) => Err(DecodeError::ParamOutOfRange { field, index }),
        None => Ok(()),
    }
}

/// The little-endian int32 entries of a byte array (a trailing partial entry is ignored;
/// lengths are validated to be multiples of 4 before use).
pub(crate) fn le_i32s(bytes: &[u8]) -> impl Iterator<Item = i32> + '_ {
    bytes
        .chunks_exact(4)
        .map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]))
}
