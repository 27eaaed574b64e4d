//! Kernel-parity mode: run `Model::infer` (on a Cortex-M4 the SMLAD kernel for layout-1
//! models) on many models sent by the host, so the host can compare every logit with its
//! portable kernel. The models are read into RAM at run time: one QEMU boot checks dozens of
//! random models without rebuilding the firmware (`tests/tests/kernel_parity.rs`).
//!
//! The stream layout is `model_format::protocol::parity`.
//!
//! The model is placed in the buffer so that its layer-1 weights are word-aligned, as the
//! firmware's build script does for the embedded model (the kernel's LDRD needs it).

use embedded_io::{Read, Write};
use model_format::protocol::parity::{encode_record, STATUS_DECODED, STATUS_REJECTED};
use model_format::{Model, INPUT};

/// Why a parity run stopped.
#[derive(Debug, PartialEq, Eq)]
pub enum ParityError<R, W> {
    Read(R),
    Write(W),
    /// The input ended inside a case.
    Truncated,
    /// A model longer than the buffer (length given).
    TooLarge(usize),
}

fn read_exact<R: Read, W>(r: &mut R, buf: &mut [u8]) -> Result<usize, ParityError<R::Error, W>> {
    let mut filled = 0;
    while let Some(rest) = buf.get_mut(filled..).filter(|rest| !rest.is_empty()) {
        match r.read(rest).map_err(ParityError::Read)? {
            0 => break,
            n => filled += n,
        }
    }
    Ok(filled)
}

fn read_u32<R: Read, W>(r: &mut R) -> Result<Option<u32>, ParityError<R::Error, W>> {
    let mut b = [0u8; 4];
    match read_exact(r, &mut b)? {
        0 => Ok(None),
        4 => Ok(Some(u32::from_le_bytes(b))),
        _ => Err(ParityError::Truncated),
    }
}

/// Word-aligned pixel buffer (the kernel widens aligned pixels with word loads).
#[repr(C, align(4))]
struct Pixels([u8; INPUT]);

/// Run every case of `input`, writing the records to `out`; `buf` holds one model (it must
/// be word-aligned for the SMLAD kernel to be used). Returns the number of cases.
pub fn run<R: Read, W: Write>(
    input: &mut R,
    out: &mut W,
    buf: &mut [u8],
) -> Result<u32, ParityError<R::Error, W::Error>> {
    let mut cases = 0;
    let mut pixels = Pixels([0; INPUT]);
    while let Some(len) = read_u32(input)? {
        let len = len as usize;
        // Up to 3 bytes of room to align the weights.
        let Some(model_buf) = buf.get_mut(..len.saturating_add(3)) else {
            return Err(ParityError::TooLarge(len));
        };
        if read_exact(input, &mut model_buf[..len])? != len {
            return Err(ParityError::Truncated);
        }
        // `buf` is word-aligned, so the file's own pad aligns the weights in it.
        let pad = Model::from_bytes(&model_buf[..len]).map_or(0, |m| m.w1_align_pad());
        model_buf.copy_within(..len, pad);
        let model = Model::from_bytes(&model_buf[pad..pad + len]);
        let images = read_u32(input)?.ok_or(ParityError::Truncated)?;
        let status = if model.is_ok() {
            STATUS_DECODED
        } else {
            STATUS_REJECTED
        };
        out.write_all(&[status]).map_err(ParityError::Write)?;
        for _ in 0..images {
            if read_exact(input, &mut pixels.0)? != INPUT {
                return Err(ParityError::Truncated);
            }
            if let Ok(model) = &model {
                let record = encode_record(&model.infer(&pixels.0));
                out.write_all(&record).map_err(ParityError::Write)?;
            }
        }
        cases += 1;
    }
    out.flush().map_err(ParityError::Write)?;
    Ok(cases)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{tiny_model, FakeIo};
    use model_format::protocol::parity::RECORD_LEN;

    #[test]
    fn records_match_infer_for_every_case() {
        let (a, b) = (tiny_model(10, 3), tiny_model(5, 4));
        let images: Vec<u8> = (0..2 * INPUT).map(|i| (i * 13 % 256) as u8).collect();
        let mut input = Vec::new();
        for (m, n) in [(&a, 2u32), (&b, 1)] {
            input.extend((m.len() as u32).to_le_bytes());
            input.extend(m.iter());
            input.extend(n.to_le_bytes());
            input.extend(&images[..n as usize * INPUT]);
        }
        // A broken model: status 1, its image is skipped.
        input.extend(3u32.to_le_bytes());
        input.extend(b"MNI");
        input.extend(1u32.to_le_bytes());
        input.extend(&images[..INPUT]);
        let mut src = FakeIo::new(input);
        src.max_read = 1000;
        let mut out = FakeIo::new(Vec::new());
        let mut buf = vec![0u8; 1 << 20];
        assert_eq!(run(&mut src, &mut out, &mut buf), Ok(3));
        let out = out.output;
        let mut at = 0;
        for (m, n) in [(&a, 2usize), (&b, 1)] {
            let model = Model::from_bytes(m).unwrap();
            assert_eq!(out[at], 0);
            at += 1;
            for img in images.chunks_exact(INPUT).take(n) {
                let want = model.infer(img.try_into().unwrap());
                assert_eq!(out[at], want.class);
                let logits: Vec<i32> = out[at + 1..at + RECORD_LEN]
                    .chunks_exact(4)
                    .map(|c| i32::from_le_bytes(c.try_into().unwrap()))
                    .collect();
                assert_eq!(logits, want.logits);
                at += RECORD_LEN;
            }
        }
        assert_eq!(&out[at..], &[1]);
    }

    #[test]
    fn oversized_and_truncated_cases_are_errors() {
        let m = tiny_model(10, 3);
        let mut input = (m.len() as u32).to_le_bytes().to_vec();
        input.extend(m.iter());
        let mut buf = vec![0u8; 100];
        let mut out = FakeIo::new(Vec::new());
        assert_eq!(
            run(&mut FakeIo::new(input.clone()), &mut out, &mut buf),
            Err(ParityError::TooLarge(m.len()))
        );
        let mut buf = vec![0u8; 1 << 20];
        assert_eq!(
            run(&mut FakeIo::new(input), &mut out, &mut buf),
            Err(ParityError::Truncated)
        );
    }
}
