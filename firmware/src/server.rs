//! The framed request/response server, generic over the byte stream (`embedded-io`), the
//! user LED (`embedded-hal` `OutputPin`) and the cycle counter ([`Stopwatch`]).

use embedded_hal::digital::OutputPin;
use embedded_io::{Read, Write};
use model_format::{top_probability, Model, INPUT};

use crate::boot::{model_status, ModelFault};
use crate::protocol::{
    decode_request, encode_frame, Classification, CycleCounter, DeviceInfo, ErrorReply, Feed,
    FrameReader, ModelStatus, RequestBody, Response, ResponseBody, MAX_FRAME, PROTOCOL_VERSION,
};
use crate::Stopwatch;

/// What the device is: fixed at boot.
pub struct Device<'m> {
    /// Board name reported by `Info`.
    pub board: &'static str,
    /// What the board's [`Stopwatch`] counts.
    pub counter: CycleCounter,
    /// The checked built-in model, or why it was rejected.
    pub model: Result<Model<'m>, ModelFault>,
    /// The model status as reported by `Info` (computed once at boot).
    pub status: ModelStatus,
    /// Reads the stack high-water mark in bytes (0 where unknown).
    pub stack_high_water: fn() -> u32,
}

impl<'m> Device<'m> {
    /// A device running `model` (already checked with [`crate::boot::check_model`]).
    pub fn new(
        board: &'static str,
        counter: CycleCounter,
        model: Result<Model<'m>, ModelFault>,
        stack_high_water: fn() -> u32,
    ) -> Self {
        let status = model_status(&model);
        Self {
            board,
            counter,
            model,
            status,
            stack_high_water,
        }
    }
}

/// Answers one request frame (its bytes without the delimiter). Never panics, whatever the
/// bytes: every malformation becomes an [`ErrorReply`].
pub fn answer<'d, S: Stopwatch, L: OutputPin>(
    device: &'d Device<'_>,
    stopwatch: &mut S,
    led: &mut L,
    frame: &mut [u8],
) -> ResponseBody<'d> {
    let request = match decode_request(frame) {
        Ok(r) => r,
        Err(e) => return ResponseBody::Error(e),
    };
    match request.body {
        RequestBody::Info => ResponseBody::Info(DeviceInfo {
            firmware_version: crate::FIRMWARE_VERSION,
            board: device.board,
            counter: device.counter,
            model: device.status.clone(),
            stack_high_water: (device.stack_high_water)(),
        }),
        RequestBody::Classify { pixels } => {
            let Ok(pixels) = <&[u8; INPUT]>::try_from(pixels) else {
                return ResponseBody::Error(ErrorReply::BadPixelCount {
                    expected: INPUT as u16,
                    received: u32::try_from(pixels.len()).unwrap_or(u32::MAX),
                });
            };
            let Ok(model) = &device.model else {
                return ResponseBody::Error(ErrorReply::ModelUnavailable);
            };
            // The LED is on while the chip classifies: a steady stream of requests makes it
            // blink. A failing LED must not stop the service, so its errors are ignored.
            let _ = led.set_high();
            stopwatch.start();
            let prediction = model.infer(pixels);
            let cycles = stopwatch.elapsed();
            // After the stopwatch: `cycles` counts the inference alone, as before version 2
            // (the softmax adds ~600 instructions on the M4: `cargo firmware -- check`).
            let confidence = top_probability(prediction.logits(), model.logit_scale());
            let _ = led.set_low();
            let mut logits = heapless::Vec::new();
            // `logits()` has at most MAX_CLASSES entries, the Vec's capacity.
            let _ = logits.extend_from_slice(prediction.logits());
            ResponseBody::Classified(Classification {
                class: prediction.class,
                logits,
                cycles,
                confidence,
            })
        }
    }
}

/// Why [`Server::serve`] stopped.
#[derive(Debug, PartialEq, Eq)]
pub enum ServeError<E> {
    /// The byte stream failed.
    Io(E),
    /// A response did not fit [`MAX_FRAME`] (cannot happen with this protocol's messages;
    /// reported rather than panicking).
    Encode,
}

/// Serves the protocol on one byte stream: reads frames, answers each with one frame.
pub struct Server<'d, 'm, S, L> {
    device: &'d Device<'m>,
    stopwatch: S,
    led: L,
    rx: FrameReader<MAX_FRAME>,
    tx: [u8; MAX_FRAME],
}

impl<'d, 'm, S: Stopwatch, L: OutputPin> Server<'d, 'm, S, L> {
    /// A server for `device`, timing inferences with `stopwatch` and blinking `led`.
    pub fn new(device: &'d Device<'m>, stopwatch: S, led: L) -> Self {
        Self {
            device,
            stopwatch,
            led,
            rx: FrameReader::new(),
            tx: [0; MAX_FRAME],
        }
    }

    /// Serve until the stream reports end of input (`read` returns 0; a UART never does) or
    /// fails. Bad frames get error replies and do not stop the loop.
    pub fn serve<IO: Read + Write>(&mut self, io: &mut IO) -> Result<(), ServeError<IO::Error>> {
        let mut chunk = [0u8; 64];
        loop {
            let n = io.read(&mut chunk).map_err(ServeError::Io)?;
            if n == 0 {
                return Ok(());
            }
            for &byte in chunk.get(..n).unwrap_or(&[]) {
                self.push(byte, io)?;
            }
        }
    }

    /// Feed one received byte; when it completes a frame, answer it on `io`.
    pub fn push<W: Write>(&mut self, byte: u8, io: &mut W) -> Result<(), ServeError<W::Error>> {
        let body = match self.rx.push(byte) {
            Feed::Pending => return Ok(()),
            Feed::Oversized => ResponseBody::Error(ErrorReply::Oversized {
                max: MAX_FRAME as u16,
            }),
            Feed::Frame(frame) => answer(self.device, &mut self.stopwatch, &mut self.led, frame),
        };
        let response = Response {
            version: PROTOCOL_VERSION,
            body,
        };
        let n = encode_frame(&response, &mut self.tx).map_err(|_| ServeError::Encode)?;
        io.write_all(&self.tx[..n]).map_err(ServeError::Io)?;
        io.flush().map_err(ServeError::Io)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::boot::check_model;
    use crate::protocol::{decode_response, Request};
    use crate::test_support::{tiny_model, FakeIo, FakeLed, TickingStopwatch};

    fn request_frame(body: RequestBody<'_>) -> Vec<u8> {
        let mut buf = [0u8; MAX_FRAME];
        let req = Request {
            version: PROTOCOL_VERSION,
            body,
        };
        let n = encode_frame(&req, &mut buf).unwrap();
        let mut out = vec![0u8]; // leading delimiter, as PROTOCOL.md recommends
        out.extend_from_slice(&buf[..n]);
        out
    }

    /// Runs the server over `input`; returns the raw response frames (without delimiters).
    fn run(device: &Device<'_>, input: Vec<u8>) -> (Vec<Vec<u8>>, FakeLed) {
        let mut io = FakeIo::new(input);
        let mut led = FakeLed::default();
        let mut server = Server::new(device, TickingStopwatch::default(), &mut led);
        server.serve(&mut io).unwrap();
        let frames = io
            .output
            .split(|&b| b == 0)
            .filter(|f| !f.is_empty())
            .map(<[u8]>::to_vec)
            .collect();
        (frames, led)
    }

    /// Decodes every response frame; a frame the device got wrong fails the test.
    fn bodies(frames: &mut [Vec<u8>]) -> Vec<ResponseBody<'_>> {
        frames
            .iter_mut()
            .map(|f| {
                let resp = decode_response(f).expect("device sent a bad frame");
                assert_eq!(resp.version, PROTOCOL_VERSION);
                resp.body
            })
            .collect()
    }

    fn device(bytes: &[u8]) -> Device<'_> {
        Device::new(
            "test-board",
            CycleCounter::QemuInstructions,
            check_model(bytes),
            || 321,
        )
    }

    #[test]
    fn info_reports_board_model_and_stack() {
        let bytes = tiny_model(12, 1);
        let dev = device(&bytes);
        let id = dev.model.as_ref().unwrap().model_id();
        let (mut frames, _) = run(&dev, request_frame(RequestBody::Info));
        let out = bodies(&mut frames);
        assert_eq!(
            out,
            vec![ResponseBody::Info(DeviceInfo {
                firmware_version: crate::FIRMWARE_VERSION,
                board: "test-board",
                counter: CycleCounter::QemuInstructions,
                model: ModelStatus::Loaded {
                    model_id: id,
                    input: 784,
                    hidden: 12,
                    classes: 10
                },
                stack_high_water: 321,
            })]
        );
    }

    #[test]
    fn classify_matches_the_reference_and_blinks() {
        let bytes = tiny_model(16, 2);
        let dev = device(&bytes);
        let model = Model::from_bytes(&bytes).unwrap();
        let mut input = Vec::new();
        let images: Vec<[u8; INPUT]> = (0..5u8)
            .map(|k| core::array::from_fn(|i| (i as u8).wrapping_mul(k).wrapping_add(k)))
            .collect();
        for img in &images {
            input.extend(request_frame(RequestBody::Classify { pixels: img }));
        }
        let (mut frames, led) = run(&dev, input);
        let out = bodies(&mut frames);
        assert_eq!(out.len(), images.len());
        for (resp, img) in out.iter().zip(&images) {
            let want = model.infer(img);
            let ResponseBody::Classified(c) = resp else {
                panic!("{resp:?}")
            };
            assert_eq!(c.class, want.class);
            assert_eq!(&c.logits[..], want.logits());
            let confidence = top_probability(want.logits(), model.logit_scale());
            assert_eq!(c.confidence.to_bits(), confidence.to_bits());
            assert!(
                c.confidence > 0.0 && c.confidence <= 1.0,
                "{}",
                c.confidence
            );
            assert_eq!(c.cycles, 1, "stopwatch read once per inference");
        }
        assert_eq!(led.rising, images.len());
        assert!(!led.high, "LED off when idle");
    }

    #[test]
    fn bad_frames_get_errors_and_the_next_frame_is_answered() {
        let bytes = tiny_model(8, 3);
        let dev = device(&bytes);
        let img = [9u8; INPUT];
        let good = request_frame(RequestBody::Classify { pixels: &img });

        let mut garbled = good.clone();
        garbled[100] ^= 0x55;
        let truncated = good[..good.len() / 2].to_vec(); // no delimiter: the next 0x00 ends it
        let short_pixels = request_frame(RequestBody::Classify { pixels: &img[..10] });
        let oversized = vec![0x42u8; MAX_FRAME * 3];
        let mut input = Vec::new();
        for part in [
            &garbled,
            &truncated,
            &good,
            &short_pixels,
            &oversized,
            &[0u8][..],
            &good,
        ] {
            input.extend_from_slice(part);
        }
        let (mut frames, _) = run(&dev, input);
        let out = bodies(&mut frames);
        assert_eq!(out.len(), 6, "{out:?}");
        assert!(matches!(
            out[0],
            ResponseBody::Error(ErrorReply::Crc { .. } | ErrorReply::Cobs)
        ));
        assert!(matches!(
            out[1],
            ResponseBody::Error(ErrorReply::Crc { .. } | ErrorReply::Cobs)
        ));
        assert!(matches!(out[2], ResponseBody::Classified(_)));
        assert_eq!(
            out[3],
            ResponseBody::Error(ErrorReply::BadPixelCount {
                expected: 784,
                received: 10
            })
        );
        assert_eq!(
            out[4],
            ResponseBody::Error(ErrorReply::Oversized {
                max: MAX_FRAME as u16
            })
        );
        assert_eq!(out[5], out[2]);
    }

    /// A client of protocol version 1 (the request bytes of PROTOCOL.md version 1) gets
    /// `UnsupportedVersion`, in the reply layout every version keeps; the next request of the
    /// current version is served.
    #[test]
    fn a_version_1_request_gets_the_version_error() {
        let bytes = tiny_model(8, 8);
        let dev = device(&bytes);
        let img = [5u8; INPUT];
        let mut input = vec![0x00, 0x02, 0x01, 0x05, 0xbe, 0x23, 0xc2, 0x58, 0x00];
        input.extend(request_frame(RequestBody::Classify { pixels: &img }));
        let (mut frames, led) = run(&dev, input);
        let out = bodies(&mut frames);
        assert_eq!(
            out[0],
            ResponseBody::Error(ErrorReply::UnsupportedVersion {
                received: 1,
                supported: PROTOCOL_VERSION
            })
        );
        assert!(matches!(out[1], ResponseBody::Classified(_)), "{out:?}");
        assert_eq!(led.rising, 1);
    }

    #[test]
    fn rejected_model_is_reported_and_never_used() {
        let mut bytes = tiny_model(8, 4);
        let last = bytes.len() - 1;
        bytes[last / 2] ^= 1; // corrupt a weight: the CRC no longer matches
        let dev = device(&bytes);
        assert!(dev.model.is_err());
        let img = [1u8; INPUT];
        let mut input = request_frame(RequestBody::Info);
        input.extend(request_frame(RequestBody::Classify { pixels: &img }));
        let (mut frames, led) = run(&dev, input);
        let out = bodies(&mut frames);
        let ResponseBody::Info(info) = &out[0] else {
            panic!("{out:?}")
        };
        let ModelStatus::Rejected { reason } = &info.model else {
            panic!("{info:?}")
        };
        assert!(reason.to_lowercase().contains("crc"), "{reason}");
        assert_eq!(out[1], ResponseBody::Error(ErrorReply::ModelUnavailable));
        assert_eq!(led.rising, 0);
    }

    #[test]
    fn random_bytes_never_panic_and_every_frame_is_answered() {
        let bytes = tiny_model(8, 5);
        let dev = device(&bytes);
        let mut state = 0x1234_5678u32;
        let mut input = Vec::new();
        for _ in 0..20_000 {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            input.push(if state.is_multiple_of(50) {
                0
            } else {
                state as u8
            });
        }
        input.push(0);
        let expected_frames = {
            let mut r = FrameReader::<MAX_FRAME>::new();
            input
                .iter()
                .filter(|&&b| !matches!(r.push(b), Feed::Pending))
                .count()
        };
        let (mut frames, _) = run(&dev, input);
        let out = bodies(&mut frames);
        assert_eq!(out.len(), expected_frames);
    }

    /// A `Classify` request frame (delimiter included, no leading 0x00) exactly `len` bytes
    /// long, and its pixel count: all-zero pixels make 1 byte of COBS overhead, nonzero ones
    /// one more per 254 bytes, so some pixel count and fill hits every length.
    fn classify_frame_of_len(len: usize) -> (Vec<u8>, usize) {
        for count in 700..1100 {
            for fill in [0u8, 1] {
                let pixels = vec![fill; count];
                let mut buf = [0u8; 2 * MAX_FRAME];
                let req = Request {
                    version: PROTOCOL_VERSION,
                    body: RequestBody::Classify { pixels: &pixels },
                };
                let n = encode_frame(&req, &mut buf).unwrap();
                if n == len {
                    return (buf[..n].to_vec(), count);
                }
            }
        }
        panic!("no Classify frame of {len} bytes");
    }

    /// PROTOCOL.md: a frame is at most 1024 bytes including its delimiter. 1023 and 1024 are
    /// read and answered for what they are; 1025 and 1026 are `Oversized`; the device stays
    /// in step either way.
    #[test]
    fn frame_limit_is_1024_bytes_including_the_delimiter() {
        let bytes = tiny_model(8, 6);
        let dev = device(&bytes);
        let img = [3u8; INPUT];
        let good = request_frame(RequestBody::Classify { pixels: &img });
        for len in [1023, 1024, 1025, 1026] {
            // A well-formed request of `len` bytes, and `len - 1` nonzero bytes (not COBS-valid
            // after the first block) before a delimiter.
            let (request, count) = classify_frame_of_len(len);
            let mut junk = vec![0x42u8; len - 1];
            junk.push(0);
            for (frame, fits) in [
                (
                    &request,
                    ResponseBody::Error(ErrorReply::BadPixelCount {
                        expected: INPUT as u16,
                        received: count as u32,
                    }),
                ),
                (&junk, ResponseBody::Error(ErrorReply::Cobs)),
            ] {
                assert_eq!(frame.len(), len);
                let mut input = vec![0u8];
                input.extend_from_slice(frame);
                input.extend_from_slice(&good);
                let (mut frames, _) = run(&dev, input);
                let out = bodies(&mut frames);
                assert_eq!(out.len(), 2, "{len} bytes: {out:?}");
                let want = if len <= MAX_FRAME {
                    fits
                } else {
                    ResponseBody::Error(ErrorReply::Oversized {
                        max: MAX_FRAME as u16,
                    })
                };
                assert_eq!(out[0], want, "{len}-byte frame");
                assert!(matches!(out[1], ResponseBody::Classified(_)), "{out:?}");
            }
        }
    }

    /// PROTOCOL.md: a half frame that the client's leading 0x00 cuts short is a frame of its
    /// own and gets its own error reply (`Cobs`, `TooShort` or `Crc`, never a regular answer),
    /// before the request's reply. Checked for a `Classify` and an `Info` request cut at every
    /// length.
    #[test]
    fn a_half_frame_cut_by_the_leading_delimiter_gets_its_own_error_reply() {
        let bytes = tiny_model(8, 7);
        let dev = device(&bytes);
        let img: [u8; INPUT] = core::array::from_fn(|i| (i % 7) as u8 * 40);
        let classify = request_frame(RequestBody::Classify { pixels: &img });
        let info = request_frame(RequestBody::Info);
        for (req, is_answer) in [
            (
                &classify,
                (|b| matches!(b, ResponseBody::Classified(_))) as fn(&ResponseBody<'_>) -> bool,
            ),
            (&info, |b| matches!(b, ResponseBody::Info(_))),
        ] {
            // `req` is 0x00, frame bytes, 0x00: a half frame is its first `cut` frame bytes.
            for cut in 1..req.len() - 2 {
                let mut input = req[..1 + cut].to_vec();
                input.extend_from_slice(req);
                let (mut frames, _) = run(&dev, input);
                let out = bodies(&mut frames);
                assert_eq!(out.len(), 2, "cut {cut}: {out:?}");
                assert!(
                    matches!(
                        out[0],
                        ResponseBody::Error(
                            ErrorReply::Cobs | ErrorReply::TooShort { .. } | ErrorReply::Crc { .. }
                        )
                    ),
                    "cut {cut}: {:?}",
                    out[0]
                );
                assert!(is_answer(&out[1]), "cut {cut}: {:?}", out[1]);
            }
        }
    }
}
