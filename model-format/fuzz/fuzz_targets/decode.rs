//! Arbitrary bytes into the decoder, twice:
//! 1. as a whole file (exercises magic, version, framing, CRC and id checks);
//! 2. as a payload wrapped in a correct envelope (valid magic, version, id and CRC), so that
//!    the payload, layout, dims, size and range checks see arbitrary input too — random
//!    bytes would otherwise almost never get past the CRC.
//!
//! The decoder must return Ok or a typed error, never panic; anything it accepts must
//! re-encode to the same bytes and run inference without panicking.
#![no_main]

use crc::{Crc, CRC_32_ISO_HDLC, CRC_64_XZ};
use libfuzzer_sys::fuzz_target;
use model_format::{Model, FORMAT_VERSION, INPUT, MAGIC};

const CRC32: Crc<u32> = Crc::<u32>::new(&CRC_32_ISO_HDLC);
const CRC64: Crc<u64> = Crc::<u64>::new(&CRC_64_XZ);

/// A version-1 file around `payload`, per FORMAT.md.
fn wrap(payload: &[u8]) -> Vec<u8> {
    let mut f = MAGIC.to_vec();
    f.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    f.extend_from_slice(&CRC64.checksum(payload).to_le_bytes());
    let mut n = payload.len();
    loop {
        let byte = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            f.push(byte);
            break;
        }
        f.push(byte | 0x80);
    }
    f.extend_from_slice(payload);
    let crc = CRC32.checksum(&f);
    f.extend_from_slice(&crc.to_le_bytes());
    f
}

fn check(bytes: &[u8]) {
    if let Ok(model) = Model::from_bytes(bytes) {
        let again = model
            .to_params()
            .encode()
            .expect("a decoded model re-encodes");
        assert_eq!(again, bytes, "decoded file does not re-encode to itself");
        let _ = model.infer(&[0; INPUT]);
        let _ = model.infer(&[255; INPUT]);
    }
}

fuzz_target!(|data: &[u8]| {
    check(data);
    check(&wrap(data));
});
