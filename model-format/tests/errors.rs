//! One test (at least) per typed decode error: each malformation maps to its own variant.
//! Files with a wrong field but a correct CRC come from the FORMAT.md writer in `common`.

mod common;

use common::{le_i32, small_params, RawFile};
use model_format::{DecodeError, Field, Model, MAX_BIAS_ABS};

fn good() -> Vec<u8> {
    small_params(4, 10).encode().unwrap()
}

fn raw() -> RawFile {
    RawFile::from_params(&small_params(4, 10))
}

fn decode(bytes: &[u8]) -> Result<(), DecodeError> {
    Model::from_bytes(bytes).map(|_| ())
}

#[test]
fn the_reference_writer_makes_a_valid_file() {
    assert_eq!(decode(&raw().build()), Ok(()));
}

#[test]
fn bad_magic() {
    let mut f = good();
    f[0] = b'X';
    assert_eq!(decode(&f), Err(DecodeError::BadMagic));
    assert_eq!(decode(b"PK\x03\x04 a zip file"), Err(DecodeError::BadMagic));
    assert_eq!(decode(b"MX"), Err(DecodeError::BadMagic));
}

#[test]
fn truncated() {
    let f = good();
    assert_eq!(decode(&f[..f.len() - 1]), Err(DecodeError::Truncated));
    assert_eq!(decode(&f[..20]), Err(DecodeError::Truncated));
    assert_eq!(decode(b"MNI8\x01"), Err(DecodeError::Truncated));
    assert_eq!(decode(b"MN"), Err(DecodeError::Truncated));
    assert_eq!(decode(b""), Err(DecodeError::Truncated));
}

#[test]
fn unsupported_version() {
    // Checked before the CRC: a newer file may be laid out differently after the header.
    let mut f = good();
    f[4] = 2;
    assert_eq!(decode(&f), Err(DecodeError::UnsupportedVersion(2)));
    let mut r = raw();
    r.version = 0x0100;
    assert_eq!(
        decode(&r.build()),
        Err(DecodeError::UnsupportedVersion(256))
    );
}

#[test]
fn malformed_varint_or_payload() {
    // A payload length varint longer than any usize allows.
    let mut f = b"MNI8\x01\x00".to_vec();
    f.extend_from_slice(&[0u8; 8]);
    f.extend_from_slice(&[0xff; 11]);
    assert_eq!(decode(&f), Err(DecodeError::Malformed));
    // CRC-valid file whose payload has extra bytes after its last field.
    let mut r = raw();
    r.payload_extra = vec![0];
    assert_eq!(decode(&r.build()), Err(DecodeError::Malformed));
    // CRC-valid file whose payload ends inside a field.
    let mut r = raw();
    r.b2.clear();
    r.w2.clear();
    let mut payload = r.payload();
    payload.truncate(payload.len() - 2);
    let mut f = b"MNI8\x01\x00".to_vec();
    f.extend_from_slice(&common::CRC64.checksum(&payload).to_le_bytes());
    common::varint(payload.len() as u64, &mut f);
    f.extend_from_slice(&payload);
    let crc = common::CRC32.checksum(&f);
    f.extend_from_slice(&crc.to_le_bytes());
    assert_eq!(decode(&f), Err(DecodeError::Malformed));
}

#[test]
fn malformed_over_long_varints() {
    // postcard itself accepts over-long varints; the format does not (one model, one file,
    // one id). Both files below have a correct id and CRC.
    let r = raw();
    let payload = r.payload();
    // Payload byte 3 is `hidden` (layout 1 byte, input 784 = 0x90 0x06): 4 -> 0x84 0x00.
    assert_eq!(payload[3], 4);
    let mut long = payload[..3].to_vec();
    long.extend_from_slice(&[0x84, 0x00]);
    long.extend_from_slice(&payload[4..]);
    let mut len = Vec::new();
    common::varint(long.len() as u64, &mut len);
    let f = common::wrap(*b"MNI8", 1, common::CRC64.checksum(&long), &len, &long);
    assert_eq!(decode(&f), Err(DecodeError::Malformed));
    // The envelope's payload length with one extra continuation byte.
    let mut len = Vec::new();
    common::varint(payload.len() as u64, &mut len);
    let last = len.len() - 1;
    len[last] |= 0x80;
    len.push(0x00);
    let f = common::wrap(
        *b"MNI8",
        1,
        common::CRC64.checksum(&payload),
        &len,
        &payload,
    );
    assert_eq!(decode(&f), Err(DecodeError::Malformed));
}

#[test]
fn trailing_bytes() {
    let mut f = good();
    f.extend_from_slice(&[0, 0, 0]);
    assert_eq!(decode(&f), Err(DecodeError::TrailingBytes(3)));
}

#[test]
fn crc_mismatch() {
    let f = good();
    // A weight byte (deep inside the payload), then the stored CRC itself.
    let mut bad = f.clone();
    bad[100] ^= 0x01;
    assert!(matches!(decode(&bad), Err(DecodeError::CrcMismatch { .. })));
    let mut bad = f.clone();
    let n = bad.len();
    bad[n - 1] ^= 0x80;
    let stored = u32::from_le_bytes(bad[n - 4..].try_into().unwrap());
    let computed = u32::from_le_bytes(f[n - 4..].try_into().unwrap());
    assert_eq!(
        decode(&bad),
        Err(DecodeError::CrcMismatch { stored, computed })
    );
    // The model id is covered by the CRC too.
    let mut bad = f.clone();
    bad[7] ^= 0x10;
    assert!(matches!(decode(&bad), Err(DecodeError::CrcMismatch { .. })));
}

#[test]
fn id_mismatch() {
    let mut r = raw();
    let correct = common::CRC64.checksum(&r.payload());
    r.model_id = Some(correct ^ 1);
    assert_eq!(
        decode(&r.build()),
        Err(DecodeError::IdMismatch {
            stored: correct ^ 1,
            computed: correct
        })
    );
}

#[test]
fn unsupported_layout() {
    for tag in [3, 255] {
        let mut r = raw();
        r.layout = tag;
        assert_eq!(decode(&r.build()), Err(DecodeError::UnsupportedLayout(tag)));
    }
    // The implemented layouts decode; the encoder refuses the others with the same error.
    assert_eq!(
        decode(&RawFile::from_params_layout0(&small_params(4, 10)).build()),
        Ok(())
    );
    assert_eq!(
        decode(&RawFile::from_params_layout2(&small_params(4, 10)).build()),
        Ok(())
    );
    assert_eq!(
        model_format::Layout::try_from(3),
        Err(DecodeError::UnsupportedLayout(3))
    );
}

#[test]
fn layout2_weights_must_be_int8_values_and_padding_zero() {
    // H = 3: 4 stored units, 2 bytes per weight.
    let good = RawFile::from_params_layout2(&small_params(3, 10));
    assert_eq!(good.w1.len(), 2 * 4 * 784);
    assert_eq!(decode(&good.build()), Ok(()));
    // int16 entries outside -128..=127 (a file no int8 model makes); the index counts int16
    // entries. Entry 40 belongs to unit 1 (group 1), a real unit.
    for bad in [128i16, -129, i16::MAX, i16::MIN] {
        let mut r = good.clone();
        r.w1[80..82].copy_from_slice(&bad.to_le_bytes());
        assert_eq!(
            decode(&r.build()),
            Err(DecodeError::ParamOutOfRange {
                field: Field::Weights1,
                index: 40
            }),
            "{bad}"
        );
    }
    // The extremes themselves are fine.
    for ok in [127i16, -128] {
        let mut r = good.clone();
        r.w1[80..82].copy_from_slice(&ok.to_le_bytes());
        assert_eq!(decode(&r.build()), Ok(()), "{ok}");
    }
    // Padding unit 3 (entries 12..16 of every 16-entry group) must be zero.
    let mut r = good.clone();
    r.w1[2 * (16 * 5 + 13)] = 1;
    assert_eq!(
        decode(&r.build()),
        Err(DecodeError::ParamOutOfRange {
            field: Field::Weights1,
            index: 16 * 5 + 13
        })
    );
    // Layout 2 stores 2 bytes per weight; the layout-1 size is a size mismatch.
    let mut r = good;
    r.w1.truncate(4 * 784);
    assert_eq!(
        decode(&r.build()),
        Err(DecodeError::SizeMismatch {
            field: Field::Weights1,
            expected: 2 * 4 * 784,
            found: 4 * 784
        })
    );
}

#[test]
fn layout1_padding_units_must_be_zero() {
    // H = 3: block 0 holds units 0..2 and one padding unit (row 3 of every 16-byte group).
    let mut r = RawFile::from_params(&small_params(3, 10));
    assert_eq!(r.w1.len(), 4 * 784);
    assert_eq!(decode(&r.build()), Ok(()));
    r.w1[16 * 5 + 12 + 2] = 1; // group 5, unit 3, byte 2
    assert_eq!(
        decode(&r.build()),
        Err(DecodeError::ParamOutOfRange {
            field: Field::Weights1,
            index: 16 * 5 + 12 + 2
        })
    );
    // Layout 1 stores the padded size; the unpadded one is a size mismatch.
    let mut r = RawFile::from_params(&small_params(3, 10));
    r.w1.truncate(3 * 784);
    assert_eq!(
        decode(&r.build()),
        Err(DecodeError::SizeMismatch {
            field: Field::Weights1,
            expected: 4 * 784,
            found: 3 * 784
        })
    );
}

#[test]
fn dims_unsupported() {
    // Arrays sized consistently with the wrong dims, so only the dims check can object.
    for (input, hidden, classes) in [
        (783, 4, 10),
        (784, 0, 10),
        (784, 1025, 10),
        (784, 4, 0),
        (784, 4, 17),
    ] {
        let mut r = raw();
        r.input = input;
        r.hidden = hidden;
        r.classes = classes;
        let (i, h, c) = (input as usize, hidden as usize, classes as usize);
        r.w1 = vec![1; i * h];
        r.b1 = vec![0; 4 * h];
        r.multiplier = le_i32(&vec![1 << 30; h]);
        r.shift = vec![40; h];
        r.w2 = vec![1; c * h];
        r.b2 = vec![0; 4 * c];
        assert_eq!(
            decode(&r.build()),
            Err(DecodeError::DimsUnsupported {
                input,
                hidden,
                classes
            }),
            "dims {input}-{hidden}-{classes}"
        );
    }
    // The largest supported dims are accepted.
    let big = small_params(1024, 16).encode().unwrap();
    assert_eq!(decode(&big), Ok(()));
}

#[test]
fn size_mismatch() {
    let mut r = raw();
    r.w1.pop();
    assert_eq!(
        decode(&r.build()),
        Err(DecodeError::SizeMismatch {
            field: Field::Weights1,
            expected: 4 * 784,
            found: 4 * 784 - 1
        })
    );
    let mut r = raw();
    r.b2.extend_from_slice(&[0; 4]);
    assert_eq!(
        decode(&r.build()),
        Err(DecodeError::SizeMismatch {
            field: Field::Bias2,
            expected: 40,
            found: 44
        })
    );
    let mut r = raw();
    r.shift.push(40);
    assert!(matches!(
        decode(&r.build()),
        Err(DecodeError::SizeMismatch {
            field: Field::Shift,
            ..
        })
    ));
}

fn set_i32(bytes: &mut [u8], index: usize, v: i32) {
    bytes[4 * index..4 * index + 4].copy_from_slice(&v.to_le_bytes());
}

#[test]
fn param_out_of_range() {
    let out = |field, index| Err(DecodeError::ParamOutOfRange { field, index });

    let mut r = raw();
    set_i32(&mut r.multiplier, 2, -1);
    assert_eq!(decode(&r.build()), out(Field::Multiplier, 2));

    for bad_shift in [0u8, 63, 255] {
        let mut r = raw();
        r.shift[3] = bad_shift;
        assert_eq!(decode(&r.build()), out(Field::Shift, 3));
    }

    let mut r = raw();
    set_i32(&mut r.b1, 1, MAX_BIAS_ABS + 1);
    assert_eq!(decode(&r.build()), out(Field::Bias1, 1));
    let mut r = raw();
    set_i32(&mut r.b2, 9, -MAX_BIAS_ABS - 1);
    assert_eq!(decode(&r.build()), out(Field::Bias2, 9));

    for bad_scale in [0.0f32, -1.0, f32::NAN, f32::INFINITY] {
        let mut r = raw();
        r.logit_scale = bad_scale;
        assert_eq!(decode(&r.build()), out(Field::LogitScale, 0));
    }

    // The bounds themselves are allowed.
    let mut r = raw();
    set_i32(&mut r.b1, 0, MAX_BIAS_ABS);
    set_i32(&mut r.b2, 0, -MAX_BIAS_ABS);
    set_i32(&mut r.multiplier, 0, i32::MAX);
    set_i32(&mut r.multiplier, 1, 0);
    r.shift[0] = 1;
    r.shift[1] = 62;
    assert_eq!(decode(&r.build()), Ok(()));
}

#[test]
fn the_encoder_refuses_invalid_params() {
    let mut p = small_params(4, 10);
    p.shift[0] = 0;
    assert_eq!(
        p.encode(),
        Err(model_format::EncodeError::Invalid(
            DecodeError::ParamOutOfRange {
                field: Field::Shift,
                index: 0
            }
        ))
    );
}

#[test]
fn errors_read_as_plain_words() {
    let msg = DecodeError::CrcMismatch {
        stored: 1,
        computed: 2,
    }
    .to_string();
    assert!(msg.contains("CRC mismatch"), "{msg}");
    assert!(DecodeError::Truncated.to_string().contains("truncated"));
}

/// Whether stored weight `n` (a byte in layout 1, an `i16` entry in layout 2) belongs to a
/// padding unit, by FORMAT.md's block formula: block `n / 3136`, row `(n % 16) / 4`.
fn is_padding(n: usize, hidden: usize) -> bool {
    4 * (n / 3136) + (n % 16) / 4 >= hidden
}

/// The padding error names the lowest offending index (FORMAT.md, decoding order step 9):
/// the lowest byte index in layout 1, the lowest `i16` index in layout 2 (where pixels 1 and 2
/// of a group are stored swapped), whatever order the units and pixels come in.
#[test]
fn padding_error_is_the_lowest_offending_index_with_several_nonzero_entries() {
    // (layout, H, nonzero padding entries, expected index). The cases from issue 13 first.
    let cases: &[(u8, usize, &[usize], usize)] = &[
        (1, 1, &[20, 8], 8),
        (1, 197, &[153_684, 153_672], 153_672),
        (2, 3, &[13, 14], 13),
        (2, 3, &[14, 13], 13),
        (2, 1, &[20, 8], 8),
        (2, 1, &[5, 6, 9], 5),
        (1, 2, &[3 * 16 + 8, 16 + 12 + 3, 2 * 16 + 9], 16 + 12 + 3),
    ];
    for &(layout, hidden, set, want) in cases {
        let params = small_params(hidden, 10);
        let mut r = match layout {
            1 => RawFile::from_params(&params),
            _ => RawFile::from_params_layout2(&params),
        };
        let width = usize::from(layout); // bytes per stored weight
        for &n in set {
            assert!(is_padding(n, hidden), "test case: {n} is not padding");
            r.w1[width * n] = 1;
        }
        assert_eq!(
            decode(&r.build()),
            Err(DecodeError::ParamOutOfRange {
                field: Field::Weights1,
                index: want
            }),
            "layout {layout}, H = {hidden}, nonzero {set:?}"
        );
    }
    // Random sets of nonzero padding entries: the error is always their minimum.
    let mut state = 0x9e37_79b9_u32;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        state as usize
    };
    for (layout, hidden) in [(1u8, 1usize), (1, 2), (1, 7), (2, 1), (2, 3), (2, 5)] {
        let params = small_params(hidden, 10);
        let good = match layout {
            1 => RawFile::from_params(&params),
            _ => RawFile::from_params_layout2(&params),
        };
        let width = usize::from(layout);
        let entries = good.w1.len() / width;
        let last_block = (entries / 3136 - 1) * 3136;
        let padding: Vec<usize> = (last_block..entries)
            .filter(|&n| is_padding(n, hidden))
            .collect();
        for _ in 0..40 {
            let mut r = good.clone();
            let picks: Vec<usize> = (0..1 + next() % 5)
                .map(|_| padding[next() % padding.len()])
                .collect();
            for &n in &picks {
                r.w1[width * n + next() % width] = 0x80;
            }
            let want = *picks.iter().min().unwrap();
            assert_eq!(
                decode(&r.build()),
                Err(DecodeError::ParamOutOfRange {
                    field: Field::Weights1,
                    index: want
                }),
                "layout {layout}, H = {hidden}, nonzero {picks:?}"
            );
        }
    }
}

/// FORMAT.md: a length is a varint of at most 5 bytes below 2^32, whatever the reader's
/// `usize`, so each of these files gives the same error on a 32-bit chip as on a 64-bit host
/// (this test also runs with `--target i686-unknown-linux-gnu`).
#[test]
fn payload_length_beyond_u32_is_malformed_on_every_platform() {
    let file = |len_prefix: &[u8], tail: usize| {
        let mut f = b"MNI8\x01\x00".to_vec();
        f.extend_from_slice(&[0x11; 8]);
        f.extend_from_slice(len_prefix);
        f.extend(std::iter::repeat_n(0x22u8, tail));
        f
    };
    let cases: &[(&[u8], usize, DecodeError)] = &[
        // 2^32: one more than u32 holds.
        (&[0x80, 0x80, 0x80, 0x80, 0x10], 64, DecodeError::Malformed),
        (&[0xff, 0xff, 0xff, 0xff, 0x7f], 64, DecodeError::Malformed),
        // 2^35 (6 bytes), 2^63 (10 bytes): minimal, but longer than 5 bytes.
        (
            &[0x80, 0x80, 0x80, 0x80, 0x80, 0x01],
            64,
            DecodeError::Malformed,
        ),
        (
            &[0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01],
            64,
            DecodeError::Malformed,
        ),
        // 0 in 6 bytes: non-minimal and too long; Malformed before the CRC check.
        (
            &[0x80, 0x80, 0x80, 0x80, 0x80, 0x00],
            64,
            DecodeError::Malformed,
        ),
        // 2^32 - 1 fits u32: the file is just too short for it.
        (&[0xff, 0xff, 0xff, 0xff, 0x0f], 64, DecodeError::Truncated),
        // The file ends inside the varint.
        (&[0x80, 0x80], 0, DecodeError::Truncated),
        (&[0x80, 0x80, 0x80, 0x80], 0, DecodeError::Truncated),
        (&[0x80, 0x80, 0x80, 0x80, 0x80], 0, DecodeError::Malformed),
    ];
    for &(prefix, tail, want) in cases {
        assert_eq!(decode(&file(prefix, tail)), Err(want), "{prefix:02x?}");
    }
}
