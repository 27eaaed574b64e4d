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

use crate::{DecodeError, Field, INPUT, MAX_BIAS_ABS, MAX_CLASSES, MAX_HIDDEN, SHIFT_RANGE};

/// The first four bytes of every model file.
pub const MAGIC: [u8; 4] = *b"MNI8";
/// The envelope/payload version this crate writes and reads.
pub const FORMAT_VERSION: u16 = 1;
/// Layout tag 0: `w1` hidden-major (each hidden unit's 784 weights contiguous), `w2`
/// class-major (each class's `hidden` weights contiguous). New kernels (e.g. an SMLAD-friendly
/// interleaving) get new tags; a reader rejects tags it does not implement.
pub const LAYOUT_HIDDEN_MAJOR: u8 = 0;
/// Layout tag 1 (what the encoder writes by default): `w1` in blocks of [`ROW_BLOCK`] hidden
/// units, each block a sequence of 16-byte groups holding 4 consecutive input weights of each
/// of its 4 units (see `FORMAT.md`). One load of 4 inputs then serves 4 units, and each 32-bit
/// weight word sign-extends with SXTB16 / SXTB16 ROR #8 into the halfword pairs that SMLAD
/// multiplies with the input pairs (x0, x2) and (x1, x3). `H` is padded to a multiple of 4
/// with zero rows. `w2` is class-major as in layout 0.
pub const LAYOUT_SMLAD: u8 = 1;

/// Layout tag 2 (optional; twice the `w1` bytes for fewer instructions on a Cortex-M4): the
/// block/group order of layout 1, but every layer-1 weight stored as an int16 (LE) holding the
/// int8 value sign-extended (each must be in -128..=127, so the logits are those of layouts 0
/// and 1 for the same parameters). Within a group each unit's 4 weights are stored in the
/// order (w0, w2, w1, w3): the two 32-bit words are then directly the halfword pairs SMLAD
/// multiplies with the input pairs (x0, x2) and (x1, x3), with no SXTB16, and LDM loads two
/// units' weights in one instruction. Padding units are zero, `w2` class-major as in layout 0.
pub const LAYOUT_SMLAD16: u8 = 2;

/// Hidden units per layer-1 block in layouts 1 and 2.
pub const ROW_BLOCK: usize = 4;
/// Inputs per weight word (and per group of a block) in layout 1.
pub(crate) const GROUP: usize = 4;
/// Bytes of one layer-1 block in layout 1 (4 units x 784 inputs).
pub(crate) const BLOCK_BYTES: usize = ROW_BLOCK * INPUT;
/// Bytes of one layer-1 block in layout 2 (4 units x 784 inputs x 2 bytes).
pub(crate) const BLOCK_BYTES16: usize = 2 * BLOCK_BYTES;

/// Whether `layout` stores `w1` in blocks of [`ROW_BLOCK`] units (layouts 1 and 2).
pub(crate) const fn is_blocked(layout: u8) -> bool {
    layout == LAYOUT_SMLAD || layout == LAYOUT_SMLAD16
}

/// Whether this build reads and runs `layout`: 0 and 1 always, 2 only with `cfg(mf_layout2)`
/// (every hosted build; bare-metal builds with the cargo feature `layout-smlad16`).
pub(crate) const fn layout_supported(layout: u8) -> bool {
    layout == LAYOUT_HIDDEN_MAJOR
        || layout == LAYOUT_SMLAD
        || (cfg!(mf_layout2) && layout == LAYOUT_SMLAD16)
}

/// Bytes per stored layer-1 weight: 2 in layout 2, else 1.
pub(crate) const fn w1_width(layout: u8) -> usize {
    if layout == LAYOUT_SMLAD16 {
        2
    } else {
        1
    }
}

/// Hidden units stored in `w1` for `layout`: `hidden` itself in layout 0, rounded up to a
/// multiple of [`ROW_BLOCK`] in layouts 1 and 2 (the extra units are zero padding, never used).
pub(crate) const fn stored_hidden(layout: u8, hidden: usize) -> usize {
    if is_blocked(layout) {
        hidden.div_ceil(ROW_BLOCK) * ROW_BLOCK
    } else {
        hidden
    }
}

/// Position in layout 2 of weight `k` (0..4) of a unit's group: (w0, w2, w1, w3).
const SMLAD16_ORDER: [usize; GROUP] = [0, 2, 1, 3];

/// Index (in stored weights, i.e. bytes for layouts 0/1 and int16 entries for layout 2) inside
/// the stored `w1` of the weight from input `i` to hidden unit `j`.
/// Layout 1: block `j / 4`, group `i / 4`, row `j % 4` inside the group, byte `i % 4`.
/// Layout 2: the same, with the 4 weights of a row in the order (w0, w2, w1, w3).
#[inline]
pub(crate) const fn w1_index(layout: u8, j: usize, i: usize) -> usize {
    if is_blocked(layout) {
        let k = if layout == LAYOUT_SMLAD16 {
            SMLAD16_ORDER[i % GROUP]
        } else {
            i % GROUP
        };
        (j / ROW_BLOCK) * BLOCK_BYTES
            + (i / GROUP) * (ROW_BLOCK * GROUP)
            + (j % ROW_BLOCK) * GROUP
            + k
    } else {
        j * INPUT + i
    }
}

/// The stored weight at `index` (see [`w1_index`]) of a `w1` in `layout`, as stored: the byte
/// as i8, or (layout 2) the LE int16. `None` past the end.
#[inline]
pub(crate) fn w1_stored(layout: u8, w1: &[u8], index: usize) -> Option<i16> {
    if layout == LAYOUT_SMLAD16 {
        let at = index.checked_mul(2)?;
        match w1.get(at..at.checked_add(2)?)? {
            &[lo, hi] => Some(i16::from_le_bytes([lo, hi])),
            _ => None,
        }
    } else {
        w1.get(index).map(|&b| i16::from(b as i8))
    }
}

/// CRC-32/ISO-HDLC (the zlib/PNG CRC) over every byte before the CRC field.
pub(crate) const CRC32: Crc<u32> = Crc::<u32>::new(&CRC_32_ISO_HDLC);
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
    /// int8, `hidden * input` as laid out by `layout` (see [`w1_offset`]).
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
    validate(&payload)?;
    Ok(Decoded {
        version: header.version,
        model_id: envelope.model_id,
        crc32: trailer.crc32,
        payload_len: envelope.payload.len(),
        payload,
    })
}

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
fn validate(p: &Payload<'_>) -> Result<(), DecodeError> {
    if !layout_supported(p.layout) {
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
        (
            Field::Weights1,
            p.w1.len(),
            stored_hidden(p.layout, hidden) * input * w1_width(p.layout),
        ),
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
    // Layout 1/2 padding units must be zero: one model, one file (and one id).
    if let Some(index) = (hidden..stored_hidden(p.layout, hidden))
        .flat_map(|j| (0..INPUT).map(move |i| w1_index(p.layout, j, i)))
        .find(|&o| w1_stored(p.layout, p.w1, o).is_some_and(|w| w != 0))
    {
        return Err(DecodeError::ParamOutOfRange {
            field: Field::Weights1,
            index,
        });
    }
    // Layout 2 stores int8 values in int16 slots: anything outside -128..=127 would give
    // logits no int8 model has (and could overflow the i32 accumulator bound). The index is
    // that of the int16 entry.
    if p.layout == LAYOUT_SMLAD16 {
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
    Ok(())
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
