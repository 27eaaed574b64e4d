//! Test helpers: random models, and an independent byte-level writer that follows FORMAT.md
//! by hand (LEB128 varints, little-endian integers, crc catalogue algorithms) without the
//! crate's serde structs, so the tests check the document as well as the code.
#![allow(dead_code)] // each test file uses a different subset

use model_format::testing::{random_params, Weights};
use model_format::{Dims, ModelParams, INPUT};
use proptest::prelude::*;

/// Every field of a version-1 file, as raw values (so tests can make any of them wrong).
#[derive(Debug, Clone)]
pub struct RawFile {
    pub magic: [u8; 4],
    pub version: u16,
    /// `None`: compute the CRC-64/XZ of the payload (the correct id).
    pub model_id: Option<u64>,
    pub layout: u8,
    pub input: u32,
    pub hidden: u32,
    pub classes: u32,
    pub logit_scale: f32,
    pub w1: Vec<u8>,
    pub b1: Vec<u8>,
    pub multiplier: Vec<u8>,
    pub shift: Vec<u8>,
    pub w2: Vec<u8>,
    pub b2: Vec<u8>,
    /// Bytes appended to the payload after its last field.
    pub payload_extra: Vec<u8>,
}

pub fn varint(mut v: u64, out: &mut Vec<u8>) {
    loop {
        let byte = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

fn bytes_field(b: &[u8], out: &mut Vec<u8>) {
    varint(b.len() as u64, out);
    out.extend_from_slice(b);
}

pub fn le_i32(values: &[i32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

pub const CRC32: crc::Crc<u32> = crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC);
pub const CRC64: crc::Crc<u64> = crc::Crc::<u64>::new(&crc::CRC_64_XZ);

/// `w1` (hidden-major, `w1[j*784 + i]`) in layout 1 as FORMAT.md describes it: units padded
/// with zero rows to a multiple of 4; for each block of 4 units, for each group of 4 inputs,
/// the 4 weights of unit 0, then unit 1, unit 2, unit 3 of the block.
pub fn layout1_w1(w1: &[i8], hidden: usize) -> Vec<u8> {
    let padded = hidden.div_ceil(4) * 4;
    let weight = |j: usize, i: usize| {
        if j < hidden {
            w1[j * INPUT + i] as u8
        } else {
            0
        }
    };
    let mut out = Vec::with_capacity(padded * INPUT);
    for block in 0..padded / 4 {
        for group in 0..INPUT / 4 {
            for unit in 0..4 {
                for k in 0..4 {
                    out.push(weight(4 * block + unit, 4 * group + k));
                }
            }
        }
    }
    out
}

/// `w1` in layout 2 as FORMAT.md describes it: the block/group/unit order of layout 1, each
/// weight an int16 LE (the int8 sign-extended), a unit's 4 weights of a group in the order
/// w0, w2, w1, w3.
pub fn layout2_w1(w1: &[i8], hidden: usize) -> Vec<u8> {
    let padded = hidden.div_ceil(4) * 4;
    let weight = |j: usize, i: usize| if j < hidden { w1[j * INPUT + i] } else { 0 };
    let mut out = Vec::with_capacity(2 * padded * INPUT);
    for block in 0..padded / 4 {
        for group in 0..INPUT / 4 {
            for unit in 0..4 {
                for k in [0, 2, 1, 3] {
                    let w = i16::from(weight(4 * block + unit, 4 * group + k));
                    out.extend(w.to_le_bytes());
                }
            }
        }
    }
    out
}

impl RawFile {
    /// The file in layout 2 (`encode_with_layout(Layout::Smlad16)`).
    pub fn from_params_layout2(p: &ModelParams) -> RawFile {
        RawFile {
            layout: 2,
            w1: layout2_w1(&p.w1, p.dims.hidden),
            ..RawFile::from_params_layout0(p)
        }
    }

    /// The file in layout 1 (what `ModelParams::encode` writes).
    pub fn from_params(p: &ModelParams) -> RawFile {
        RawFile {
            layout: 1,
            w1: layout1_w1(&p.w1, p.dims.hidden),
            ..RawFile::from_params_layout0(p)
        }
    }

    /// The file in layout 0 (hidden-major `w1`).
    pub fn from_params_layout0(p: &ModelParams) -> RawFile {
        RawFile {
            magic: *b"MNI8",
            version: 1,
            model_id: None,
            layout: 0,
            input: p.dims.input as u32,
            hidden: p.dims.hidden as u32,
            classes: p.dims.classes as u32,
            logit_scale: p.logit_scale,
            w1: p.w1.iter().map(|&w| w as u8).collect(),
            b1: le_i32(&p.b1),
            multiplier: le_i32(&p.multiplier),
            shift: p.shift.clone(),
            w2: p.w2.iter().map(|&w| w as u8).collect(),
            b2: le_i32(&p.b2),
            payload_extra: Vec::new(),
        }
    }

    pub fn payload(&self) -> Vec<u8> {
        let mut p = vec![self.layout];
        varint(self.input.into(), &mut p);
        varint(self.hidden.into(), &mut p);
        varint(self.classes.into(), &mut p);
        p.extend_from_slice(&self.logit_scale.to_le_bytes());
        for array in [
            &self.w1,
            &self.b1,
            &self.multiplier,
            &self.shift,
            &self.w2,
            &self.b2,
        ] {
            bytes_field(array, &mut p);
        }
        p.extend_from_slice(&self.payload_extra);
        p
    }

    /// The file bytes, with a correct CRC-32 over everything before it.
    pub fn build(&self) -> Vec<u8> {
        let payload = self.payload();
        let id = self.model_id.unwrap_or_else(|| CRC64.checksum(&payload));
        let mut len = Vec::new();
        varint(payload.len() as u64, &mut len);
        wrap(self.magic, self.version, id, &len, &payload)
    }
}

/// magic | version | id | `len_prefix` | payload | CRC-32 of all before it.
pub fn wrap(magic: [u8; 4], version: u16, id: u64, len_prefix: &[u8], payload: &[u8]) -> Vec<u8> {
    let mut f = magic.to_vec();
    f.extend_from_slice(&version.to_le_bytes());
    f.extend_from_slice(&id.to_le_bytes());
    f.extend_from_slice(len_prefix);
    f.extend_from_slice(payload);
    let crc = CRC32.checksum(&f);
    f.extend_from_slice(&crc.to_le_bytes());
    f
}

/// A small valid model with deterministic contents.
pub fn small_params(hidden: usize, classes: usize) -> ModelParams {
    let w = |n: usize, k: usize| {
        (0..n)
            .map(|i| ((i * 37 + k * 11) % 256) as u8 as i8)
            .collect()
    };
    ModelParams {
        dims: Dims {
            input: INPUT,
            hidden,
            classes,
        },
        w1: w(hidden * INPUT, 1),
        b1: (0..hidden as i32).map(|j| j * 1000 - 5000).collect(),
        multiplier: (0..hidden as i32).map(|j| 1_500_000_000 - j).collect(),
        shift: (0..hidden).map(|j| 39 + (j % 3) as u8).collect(),
        w2: w(classes * hidden, 2),
        b2: (0..classes as i32).map(|k| k * 7 - 20).collect(),
        logit_scale: 0.01,
    }
}

/// Random valid models from the one generator of the workspace (`model_format::testing`):
/// any hidden width 1..=24 and class count 1..=16, every weight kind (uniform, extreme, all
/// -128, all 127), and a random logit scale (a stored field the generator leaves at 1.0).
pub fn arb_params() -> impl Strategy<Value = ModelParams> {
    let kind = prop_oneof![
        4 => Just(Weights::Uniform),
        2 => Just(Weights::Extreme),
        1 => Just(Weights::AllMin),
        1 => Just(Weights::AllMax),
    ];
    (1usize..=24, 1usize..=16, kind, any::<u64>(), 1e-6f32..10.0).prop_map(
        |(hidden, classes, kind, seed, logit_scale)| ModelParams {
            logit_scale,
            ..random_params(hidden, classes, kind, seed)
        },
    )
}

/// Random images: mostly-black MNIST-like ones and uniformly random ones.
pub fn arb_pixels() -> impl Strategy<Value = [u8; INPUT]> {
    prop_oneof![
        proptest::collection::vec(prop_oneof![3 => Just(0u8), 1 => any::<u8>()], INPUT),
        proptest::collection::vec(any::<u8>(), INPUT),
    ]
    .prop_map(|v| v.try_into().expect("INPUT pixels"))
}
