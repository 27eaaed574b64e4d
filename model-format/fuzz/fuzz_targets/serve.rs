//! Byte streams through the firmware's frame reader and server loop (`firmware::server`,
//! host build, an in-memory serial line). The input is a script: byte 0 sets how many bytes
//! each `read` returns (1..=64), then each op appends to the stream either raw bytes, a
//! correctly framed arbitrary payload, a `Classify` request with a fuzzer-chosen pixel count,
//! or delimiters. Random bytes alone would almost never pass the frame CRC.
//!
//! Checks: no panic; exactly one response per non-empty frame (0x00-terminated; a trailing
//! unterminated half frame gets none), in order; every response is a valid frame; a frame of
//! more than 1024 bytes (delimiter included) is `Oversized` and no shorter one is; a
//! well-formed request gets the answer it asks for (a `Classify` of 784 pixels: the model's
//! logits and the confidence, bit for bit).
#![no_main]

use std::sync::OnceLock;

use firmware::server::{Device, Server};
use firmware::{NoLed, NoStopwatch};
use libfuzzer_sys::fuzz_target;
use model_format::protocol::{
    decode_request, decode_response, encode_frame, CycleCounter, ErrorReply, Request, RequestBody,
    ResponseBody, MAX_FRAME, PROTOCOL_VERSION,
};
use model_format::testing::{random_model, Weights};
use model_format::{Model, INPUT};

fn model_bytes() -> &'static [u8] {
    static MODEL: OnceLock<Vec<u8>> = OnceLock::new();
    MODEL.get_or_init(|| random_model(8, 10, Weights::Uniform, 13))
}

/// The serial line: reads from `input` in chunks of at most `max_read`, records writes.
struct Line<'a> {
    input: &'a [u8],
    max_read: usize,
    output: Vec<u8>,
}

impl embedded_io::ErrorType for Line<'_> {
    type Error = core::convert::Infallible;
}

impl embedded_io::Read for Line<'_> {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Self::Error> {
        let n = buf.len().min(self.max_read).min(self.input.len());
        buf[..n].copy_from_slice(&self.input[..n]);
        self.input = &self.input[n..];
        Ok(n)
    }
}

impl embedded_io::Write for Line<'_> {
    fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
        self.output.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }
}

/// A frame (delimiter included) around `payload`: CRC-32 + COBS.
fn frame_raw(payload: &[u8], out: &mut Vec<u8>) {
    let mut raw = payload.to_vec();
    raw.extend_from_slice(&model_format::CRC32.checksum(payload).to_le_bytes());
    let mut enc = vec![0u8; raw.len() + raw.len() / 254 + 2];
    let n = cobs::encode(&raw, &mut enc);
    out.extend_from_slice(&enc[..n]);
    out.push(0);
}

/// The stream the script describes.
fn stream(script: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut s = script.iter().copied();
    while let Some(op) = s.next() {
        let len = usize::from(s.next().unwrap_or(0));
        match op % 5 {
            0 => out.extend(s.by_ref().take(len)),
            1 => {
                let payload: Vec<u8> = s.by_ref().take(len).collect();
                frame_raw(&payload, &mut out);
            }
            2 => {
                // Classify with 784 + (len - 128) * 3 pixels (400..=1165), pixels from the script.
                let count = (INPUT as isize + (len as isize - 128) * 3) as usize;
                let seed: Vec<u8> = s.by_ref().take(16).collect();
                let pixels: Vec<u8> = (0..count)
                    .map(|i| seed.get(i % seed.len().max(1)).copied().unwrap_or(0) ^ (i as u8))
                    .collect();
                let req = Request {
                    version: PROTOCOL_VERSION,
                    body: RequestBody::Classify { pixels: &pixels },
                };
                let mut buf = vec![0u8; 2 * MAX_FRAME];
                let n = encode_frame(&req, &mut buf).expect("fits 2 KB");
                out.push(0);
                out.extend_from_slice(&buf[..n]);
            }
            3 => {
                let mut buf = [0u8; 16];
                let req = Request {
                    version: PROTOCOL_VERSION,
                    body: RequestBody::Info,
                };
                let n = encode_frame(&req, &mut buf).expect("fits");
                out.extend_from_slice(&buf[..n]);
            }
            _ => out.extend(std::iter::repeat_n(0, len % 3)),
        }
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let Some((&first, script)) = data.split_first() else {
        return;
    };
    let input = stream(script);
    let model = Model::from_bytes(model_bytes()).expect("valid model");
    let device = Device::new("fuzz", CycleCounter::QemuInstructions, Ok(model), || 0);
    let mut server = Server::new(&device, NoStopwatch, NoLed);
    let mut line = Line {
        input: &input,
        max_read: 1 + usize::from(first % 64),
        output: Vec::new(),
    };
    server.serve(&mut line).expect("infallible line");

    // The frames the device was sent: non-empty runs ended by a 0x00.
    let mut sent: Vec<&[u8]> = input.split(|&b| b == 0).filter(|f| !f.is_empty()).collect();
    if input.last().is_some_and(|&b| b != 0) {
        sent.pop(); // unterminated: no reply (yet)
    }
    assert_eq!(
        line.output.last().copied().unwrap_or(0),
        0,
        "reply ends with 0x00"
    );
    let mut replies: Vec<Vec<u8>> = line
        .output
        .split(|&b| b == 0)
        .filter(|f| !f.is_empty())
        .map(<[u8]>::to_vec)
        .collect();
    assert_eq!(replies.len(), sent.len(), "one reply per non-empty frame");
    for (frame, reply) in sent.iter().zip(replies.iter_mut()) {
        let body = decode_response(reply).expect("a valid response frame").body;
        let oversized = ResponseBody::Error(ErrorReply::Oversized {
            max: MAX_FRAME as u16,
        });
        if frame.len() + 1 > MAX_FRAME {
            assert_eq!(body, oversized, "{}-byte frame", frame.len() + 1);
            continue;
        }
        let mut copy = frame.to_vec();
        match decode_request(&mut copy) {
            Err(e) => assert_eq!(body, ResponseBody::Error(e)),
            Ok(req) => match req.body {
                RequestBody::Info => assert!(matches!(body, ResponseBody::Info(_)), "{body:?}"),
                RequestBody::Classify { pixels } => match <&[u8; INPUT]>::try_from(pixels) {
                    Ok(px) => {
                        let want = model.infer(px);
                        let ResponseBody::Classified(c) = body else {
                            panic!("{body:?}")
                        };
                        assert_eq!((c.class, &c.logits[..]), (want.class, want.logits()));
                        let confidence =
                            model_format::top_probability(want.logits(), model.logit_scale());
                        assert_eq!(c.confidence.to_bits(), confidence.to_bits());
                    }
                    Err(_) => assert_eq!(
                        body,
                        ResponseBody::Error(ErrorReply::BadPixelCount {
                            expected: INPUT as u16,
                            received: pixels.len() as u32,
                        })
                    ),
                },
            },
        }
    }
});
