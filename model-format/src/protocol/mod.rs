//! Wire protocol between a host and the firmware (UART / USB serial / QEMU's emulated UART).
//!
//! Every message travels in one *frame*:
//!
//! ```text
//! frame   = COBS( payload || crc32_le(payload) ) || 0x00
//! payload = postcard( Request | Response )        // both start with the u16 protocol version
//! ```
//!
//! * CRC-32 is CRC-32/ISO-HDLC (the zlib / Ethernet CRC), stored little-endian.
//! * A 0x00 byte ends a frame; an empty frame (two delimiters in a row) is ignored, so a client
//!   should *start* every frame with a 0x00 too: that cleanly terminates any garbage or half
//!   frame the device may have buffered.
//! * The device answers every non-empty frame with exactly one response frame, in order.
//!
//! Besides the serial messages, the module owns the other byte streams between host and
//! firmware: [`batch`] (QEMU batch mode), [`parity`] (kernel-parity mode) and the QEMU exit
//! codes ([`ExitCode`]). `model-format/PROTOCOL.md` documents the byte-level layout for
//! clients in other languages.

use core::fmt;

use heapless::{String, Vec};
use serde::{Deserialize, Serialize};

use crate::MAX_CLASSES;

pub mod batch;
pub mod parity;

/// How the firmware's QEMU modes (`check`, `batch`, `parity`) end: the semihosting exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum ExitCode {
    /// The mode ran to the end.
    Ok = 0,
    /// Unknown mode or missing arguments.
    Usage = 2,
    /// The embedded model failed to decode at boot.
    ModelRejected = 3,
    /// A semihosting file could not be opened, read or written.
    Io = 4,
}

impl ExitCode {
    /// The process exit status QEMU reports.
    pub const fn code(self) -> i32 {
        self as i32
    }
}

/// Version of this protocol. The first field of every request and response.
///
/// History: 1 = the first release; 2 = [`Classification::confidence`] added (a version-1
/// client gets [`ErrorReply::UnsupportedVersion`] from a version-2 device, and the reverse).
pub const PROTOCOL_VERSION: u16 = 2;

/// Largest frame (COBS-encoded, including the 0x00 delimiter) either side may send: a
/// [`FrameReader<MAX_FRAME>`] takes at most 1023 bytes before the delimiter. A `Classify`
/// request frame is 794 to 797 bytes (see `PROTOCOL.md`); longer frames get
/// [`ErrorReply::Oversized`].
pub const MAX_FRAME: usize = 1024;

/// Length of the CRC trailer inside a decoded frame.
pub const CRC_LEN: usize = 4;

/// Maximum length of the human-readable reason of a rejected model.
pub const MAX_REASON: usize = 96;

/// Maximum length of the board and firmware-version strings in [`DeviceInfo`].
pub const MAX_NAME: usize = 32;

/// A request from the host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Request<'a> {
    /// Must be [`PROTOCOL_VERSION`].
    pub version: u16,
    /// What the host asks for.
    #[serde(borrow)]
    pub body: RequestBody<'a>,
}

/// The operations a host can request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum RequestBody<'a> {
    /// Describe the device: firmware, board, model status. Answered with [`ResponseBody::Info`].
    Info,
    /// Classify one image of 784 raw pixels (0..=255, row-major 28 x 28).
    /// Answered with [`ResponseBody::Classified`] or an [`ErrorReply`].
    Classify {
        /// Exactly 784 bytes; any other length gets [`ErrorReply::BadPixelCount`].
        pixels: &'a [u8],
    },
}

/// A response from the device. (`PartialEq` only: a [`Classification`] carries an `f32`.)
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Response<'a> {
    /// The device's [`PROTOCOL_VERSION`].
    pub version: u16,
    /// The answer.
    #[serde(borrow)]
    pub body: ResponseBody<'a>,
}

/// The answers the device can give.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ResponseBody<'a> {
    /// Answer to [`RequestBody::Info`].
    #[serde(borrow)]
    Info(DeviceInfo<'a>),
    /// Answer to [`RequestBody::Classify`].
    Classified(Classification),
    /// The request could not be served; the device keeps serving.
    Error(ErrorReply),
}

/// What the device is and what model it runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceInfo<'a> {
    /// The firmware crate version, e.g. `0.1.0`.
    pub firmware_version: &'a str,
    /// The board the firmware was built for, e.g. `qemu-mps2-an386` or `nucleo-f411re`.
    pub board: &'a str,
    /// What [`Classification::cycles`] counts on this board.
    pub counter: CycleCounter,
    /// The built-in model, or why it was rejected at boot.
    pub model: ModelStatus,
    /// Largest stack depth (bytes) used since boot, measured by stack painting; 0 if unknown.
    pub stack_high_water: u32,
}

/// What the per-inference counter measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CycleCounter {
    /// CPU clock cycles (DWT CYCCNT) of a real chip.
    CpuCycles,
    /// Instructions executed, from SysTick under QEMU `-icount shift=0` (resolution 40);
    /// meaningless when QEMU runs without `-icount shift=0`.
    QemuInstructions,
}

/// The built-in model as checked at boot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ModelStatus {
    /// The model decoded and passed every check; it is used for `Classify`.
    Loaded {
        /// The model's id (CRC-64 of its payload), as `model_format::Model::model_id`.
        model_id: u64,
        /// Input size (784).
        input: u16,
        /// Hidden units.
        hidden: u16,
        /// Output classes.
        classes: u8,
    },
    /// The model failed its boot check and is never used; `Classify` gets
    /// [`ErrorReply::ModelUnavailable`].
    Rejected {
        /// Human-readable reason (the decoder's message, truncated to [`MAX_REASON`] bytes).
        reason: String<MAX_REASON>,
    },
}

/// The result of one inference.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Classification {
    /// Index of the largest logit.
    pub class: u8,
    /// The integer logits, one per class (bit-exact with `model_format::Model::infer`).
    pub logits: Vec<i32, MAX_CLASSES>,
    /// Cost of the inference alone, not of the confidence; the unit is
    /// [`DeviceInfo::counter`].
    pub cycles: u32,
    /// Softmax probability of `class`: [`crate::top_probability`] of the logits and the
    /// model's `logit_scale`, computed on the device, the same `f32` bits as on the host.
    /// On the wire: 4 bytes, IEEE-754 binary32 little-endian (postcard's `f32`).
    pub confidence: f32,
}

/// Why a frame got no regular answer. The device keeps serving after every one of these.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ErrorReply {
    /// The frame is not valid COBS (garbled in transit).
    Cobs,
    /// The decoded frame is too short to hold a payload and its CRC (truncated).
    TooShort {
        /// Decoded length in bytes.
        len: u16,
    },
    /// The CRC does not match the payload (garbled or truncated in transit).
    Crc {
        /// CRC carried by the frame.
        received: u32,
        /// CRC computed over the payload.
        computed: u32,
    },
    /// The frame was longer than [`MAX_FRAME`]; it was discarded up to its delimiter.
    Oversized {
        /// The limit, [`MAX_FRAME`].
        max: u16,
    },
    /// The payload's protocol version is not the device's.
    UnsupportedVersion {
        /// Version in the request.
        received: u16,
        /// The only version the device speaks.
        supported: u16,
    },
    /// The CRC is right but the payload is not a valid request (unknown operation, missing or
    /// trailing bytes).
    Malformed,
    /// `Classify` carried the wrong number of pixels.
    BadPixelCount {
        /// 784.
        expected: u16,
        /// What the request carried.
        received: u32,
    },
    /// The built-in model was rejected at boot (see [`DeviceInfo::model`]); nothing can be
    /// classified.
    ModelUnavailable,
}

impl fmt::Display for ErrorReply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ErrorReply::Cobs => f.write_str("frame is not valid COBS"),
            ErrorReply::TooShort { len } => {
                write!(f, "frame too short ({len} bytes) for a payload and its CRC")
            }
            ErrorReply::Crc { received, computed } => write!(
                f,
                "frame CRC mismatch (received {received:#010x}, computed {computed:#010x})"
            ),
            ErrorReply::Oversized { max } => write!(f, "frame longer than {max} bytes"),
            ErrorReply::UnsupportedVersion {
                received,
                supported,
            } => write!(
                f,
                "protocol version {received} not supported (device speaks {supported})"
            ),
            ErrorReply::Malformed => f.write_str("payload is not a valid request"),
            ErrorReply::BadPixelCount { expected, received } => {
                write!(f, "expected {expected} pixels, got {received}")
            }
            ErrorReply::ModelUnavailable => {
                f.write_str("the built-in model was rejected at boot; nothing to classify with")
            }
        }
    }
}

/// Why a message could not be encoded into a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EncodeError {
    /// The output buffer is too small for the frame.
    BufferTooSmall,
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EncodeError::BufferTooSmall => f.write_str("frame does not fit the output buffer"),
        }
    }
}

/// Encode `msg` as one complete frame (COBS of payload + CRC, then the 0x00 delimiter) into
/// `buf`; returns the frame length. Does not write the optional leading delimiter.
pub fn encode_frame<T: Serialize>(msg: &T, buf: &mut [u8]) -> Result<usize, EncodeError> {
    use postcard::ser_flavors::{crc::CrcModifier, Cobs, Slice};
    let flavor = CrcModifier::new(
        Cobs::try_new(Slice::new(buf)).map_err(|_| EncodeError::BufferTooSmall)?,
        crate::CRC32.digest(),
    );
    postcard::serialize_with_flavor::<T, _, _>(msg, flavor)
        .map(|frame: &mut [u8]| frame.len())
        .map_err(|_| EncodeError::BufferTooSmall)
}

/// Undo the framing of one frame (its bytes without the 0x00 delimiter): COBS-decode in place,
/// check the CRC, and return the payload.
pub fn unframe(frame: &mut [u8]) -> Result<&[u8], ErrorReply> {
    let len = cobs::decode_in_place(frame).map_err(|_| ErrorReply::Cobs)?;
    let decoded = frame.get(..len).ok_or(ErrorReply::Cobs)?;
    let Some(payload_len) = len.checked_sub(CRC_LEN).filter(|&n| n > 0) else {
        return Err(ErrorReply::TooShort {
            len: u16::try_from(len).unwrap_or(u16::MAX),
        });
    };
    let (payload, trailer) = decoded.split_at(payload_len);
    let mut received = [0u8; CRC_LEN];
    received.copy_from_slice(trailer);
    let received = u32::from_le_bytes(received);
    let computed = crate::CRC32.checksum(payload);
    if received != computed {
        return Err(ErrorReply::Crc { received, computed });
    }
    Ok(payload)
}

/// Read the protocol version at the start of a payload, then the rest as `T`; trailing bytes
/// are an error. Checking the version first means a future, incompatible request still gets
/// the precise [`ErrorReply::UnsupportedVersion`] rather than [`ErrorReply::Malformed`].
fn decode_versioned<'a, T: Deserialize<'a>>(payload: &'a [u8]) -> Result<T, ErrorReply> {
    let (version, _) =
        postcard::take_from_bytes::<u16>(payload).map_err(|_| ErrorReply::Malformed)?;
    if version != PROTOCOL_VERSION {
        return Err(ErrorReply::UnsupportedVersion {
            received: version,
            supported: PROTOCOL_VERSION,
        });
    }
    match postcard::take_from_bytes::<T>(payload) {
        Ok((msg, [])) => Ok(msg),
        _ => Err(ErrorReply::Malformed),
    }
}

/// Decode one request frame (without its delimiter). The error is the reply to send.
pub fn decode_request(frame: &mut [u8]) -> Result<Request<'_>, ErrorReply> {
    let payload = unframe(frame)?;
    decode_versioned(payload)
}

/// Decode one response frame (without its delimiter). The error says what was wrong with the
/// frame (the host side uses it to report a broken link).
pub fn decode_response(frame: &mut [u8]) -> Result<Response<'_>, ErrorReply> {
    let payload = unframe(frame)?;
    decode_versioned(payload)
}

/// What one byte fed to a [`FrameReader`] completed.
#[derive(Debug, PartialEq, Eq)]
pub enum Feed<'a> {
    /// No frame ended (or an empty frame, which is ignored).
    Pending,
    /// A frame ended; its bytes without the delimiter, still COBS-encoded.
    Frame(&'a mut [u8]),
    /// A frame longer than the buffer ended; its bytes were discarded.
    Oversized,
}

/// Splits a byte stream into frames at 0x00 delimiters, with a fixed buffer (no heap). `N` is
/// the longest frame accepted *including its delimiter*, as [`MAX_FRAME`] counts it: at most
/// `N - 1` bytes before the 0x00. A longer frame is discarded up to its delimiter and reported
/// once ([`Feed::Oversized`]).
pub struct FrameReader<const N: usize> {
    buf: [u8; N],
    len: usize,
    overflowed: bool,
}

impl<const N: usize> Default for FrameReader<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> FrameReader<N> {
    /// An empty reader.
    pub const fn new() -> Self {
        Self {
            buf: [0; N],
            len: 0,
            overflowed: false,
        }
    }

    /// Feed one received byte.
    pub fn push(&mut self, byte: u8) -> Feed<'_> {
        if byte != 0 {
            // Room for N - 1 bytes: the delimiter is the frame's N-th byte.
            match self.buf.get_mut(self.len).filter(|_| self.len + 1 < N) {
                Some(slot) if !self.overflowed => {
                    *slot = byte;
                    self.len += 1;
                }
                _ => self.overflowed = true,
            }
            return Feed::Pending;
        }
        let len = core::mem::take(&mut self.len);
        if core::mem::take(&mut self.overflowed) {
            Feed::Oversized
        } else if len == 0 {
            Feed::Pending
        } else {
            Feed::Frame(&mut self.buf[..len])
        }
    }

    /// Whether a partial frame is buffered.
    pub fn is_idle(&self) -> bool {
        self.len == 0 && !self.overflowed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame_of<T: Serialize>(msg: &T) -> ([u8; MAX_FRAME], usize) {
        let mut buf = [0u8; MAX_FRAME];
        let n = encode_frame(msg, &mut buf).unwrap();
        (buf, n)
    }

    #[test]
    fn classify_request_round_trips_and_fits_the_frame_limit() {
        let pixels = [0xABu8; crate::INPUT];
        let req = Request {
            version: PROTOCOL_VERSION,
            body: RequestBody::Classify { pixels: &pixels },
        };
        let (mut buf, n) = frame_of(&req);
        assert!(n <= MAX_FRAME);
        assert_eq!(buf[n - 1], 0, "frame ends with the delimiter");
        assert!(!buf[..n - 1].contains(&0), "no zero inside a COBS frame");
        let got = decode_request(&mut buf[..n - 1]).unwrap();
        assert_eq!(got, req);
    }

    /// PROTOCOL.md: a `Classify` request frame is 794 to 797 bytes with its delimiter (795 to
    /// 798 with the recommended leading 0x00): 792 bytes of payload + CRC, plus COBS's 1 byte,
    /// plus 1 per further 254-byte run without a 0x00 (3 more at most).
    #[test]
    fn classify_request_frames_are_794_to_797_bytes() {
        let len = |pixels: &[u8; crate::INPUT]| {
            let req = Request {
                version: PROTOCOL_VERSION,
                body: RequestBody::Classify { pixels },
            };
            frame_of(&req).1
        };
        // MNIST-like: a zero border, so no run reaches 254 bytes.
        let mut digit = [0u8; crate::INPUT];
        for (i, p) in digit.iter_mut().enumerate() {
            let (row, col) = (i / 28, i % 28);
            if (6..22).contains(&row) && (10..18).contains(&col) {
                *p = 255;
            }
        }
        assert_eq!(len(&digit), 794);
        assert_eq!(len(&[0; crate::INPUT]), 794);
        let mut lens = [0usize; 2];
        let mut state = 0x2545_f491_u32;
        for fill in 0..=255u8 {
            let mut img = [fill; crate::INPUT];
            for _ in 0..4 {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                img[state as usize % crate::INPUT] = state as u8;
                let n = len(&img);
                assert!((794..=797).contains(&n), "{n}");
                lens = [lens[0].max(n), lens[1] + usize::from(n == 797)];
            }
        }
        // All pixels (and the CRC bytes) nonzero: the maximum, reached.
        assert_eq!(lens[0], 797);
        assert!(lens[1] > 0);
    }

    #[test]
    fn wire_bytes_of_info_request_are_stable() {
        // version 2, variant 0 (Info), then CRC-32 of [2, 0] little-endian, all COBS-encoded.
        let req = Request {
            version: PROTOCOL_VERSION,
            body: RequestBody::Info,
        };
        let (buf, n) = frame_of(&req);
        let crc = crate::CRC32.checksum(&[2, 0]).to_le_bytes();
        let mut raw = [2u8, 0, crc[0], crc[1], crc[2], crc[3]];
        let mut expected = [0u8; 16];
        let m = cobs::encode(&raw, &mut expected);
        assert_eq!(&buf[..n - 1], &expected[..m]);
        raw[0] = 1;
        assert_ne!(&buf[..n - 1], &raw[..]);
    }

    #[test]
    fn info_request_matches_the_example_in_protocol_md() {
        let req = Request {
            version: PROTOCOL_VERSION,
            body: RequestBody::Info,
        };
        let (buf, n) = frame_of(&req);
        assert_eq!(&buf[..n], &[0x02, 0x02, 0x05, 0x7d, 0x70, 0xef, 0x73, 0x00]);
    }

    /// PROTOCOL.md, "Versioning": a version-1 request (the previous protocol, e.g. an old
    /// host) gets `UnsupportedVersion { received: 1, supported: 2 }`, whose payload layout is
    /// the same in every version: version, variant 2 (`Error`), variant 4, two varints.
    #[test]
    fn a_version_1_request_gets_the_version_error_in_its_stable_layout() {
        // The version-1 Info request of PROTOCOL.md version 1, byte for byte.
        let mut v1_info = [0x02, 0x01, 0x05, 0xbe, 0x23, 0xc2, 0x58];
        let err = decode_request(&mut v1_info).unwrap_err();
        assert_eq!(
            err,
            ErrorReply::UnsupportedVersion {
                received: 1,
                supported: 2
            }
        );
        let reply = Response {
            version: PROTOCOL_VERSION,
            body: ResponseBody::Error(err),
        };
        let (mut buf, n) = frame_of(&reply);
        assert_eq!(unframe(&mut buf[..n - 1]).unwrap(), &[2, 2, 4, 1, 2]);
    }

    /// PROTOCOL.md: the `Classified` payload, byte for byte (the confidence as 4 bytes LE).
    #[test]
    fn classified_reply_bytes_match_protocol_md() {
        let mut logits = Vec::new();
        logits.extend_from_slice(&[-2, 300]).unwrap();
        let reply = Response {
            version: PROTOCOL_VERSION,
            body: ResponseBody::Classified(Classification {
                class: 1,
                logits,
                cycles: 46_560,
                confidence: 0.75,
            }),
        };
        let (mut buf, n) = frame_of(&reply);
        assert_eq!(
            unframe(&mut buf[..n - 1]).unwrap(),
            &[0x02, 0x01, 0x01, 0x02, 0x03, 0xd8, 0x04, 0xe0, 0xeb, 0x02, 0x00, 0x00, 0x40, 0x3f]
        );
    }

    #[test]
    fn flipped_byte_is_a_crc_error() {
        let req = Request {
            version: PROTOCOL_VERSION,
            body: RequestBody::Info,
        };
        let (mut buf, n) = frame_of(&req);
        buf[2] ^= 0x10;
        assert!(matches!(
            decode_request(&mut buf[..n - 1]),
            Err(ErrorReply::Crc { .. } | ErrorReply::Cobs)
        ));
    }

    #[test]
    fn truncated_frame_is_rejected() {
        let pixels = [7u8; crate::INPUT];
        let req = Request {
            version: PROTOCOL_VERSION,
            body: RequestBody::Classify { pixels: &pixels },
        };
        let (mut buf, n) = frame_of(&req);
        for cut in [1, 3, 5, n / 2, n - 2] {
            let mut copy = buf;
            let err = decode_request(&mut copy[..cut]).unwrap_err();
            assert!(
                matches!(
                    err,
                    ErrorReply::Crc { .. } | ErrorReply::Cobs | ErrorReply::TooShort { .. }
                ),
                "cut {cut}: {err:?}"
            );
        }
        assert!(decode_request(&mut buf[..n - 1]).is_ok());
    }

    #[test]
    fn other_version_is_reported_as_such() {
        let req = Request {
            version: 9,
            body: RequestBody::Info,
        };
        let (mut buf, n) = frame_of(&req);
        assert_eq!(
            decode_request(&mut buf[..n - 1]),
            Err(ErrorReply::UnsupportedVersion {
                received: 9,
                supported: PROTOCOL_VERSION
            })
        );
    }

    #[test]
    fn unknown_operation_and_trailing_bytes_are_malformed() {
        for payload in [&[2u8, 7][..], &[2, 0, 0][..]] {
            let mut raw = [0u8; 8];
            raw[..payload.len()].copy_from_slice(payload);
            let crc = crate::CRC32.checksum(payload).to_le_bytes();
            raw[payload.len()..payload.len() + 4].copy_from_slice(&crc);
            let mut enc = [0u8; 16];
            let m = cobs::encode(&raw[..payload.len() + 4], &mut enc);
            assert_eq!(
                decode_request(&mut enc[..m]),
                Err(ErrorReply::Malformed),
                "{payload:?}"
            );
        }
    }

    #[test]
    fn responses_round_trip() {
        let mut logits = Vec::new();
        logits
            .extend_from_slice(&[-5, 0, 123_456, i32::MIN])
            .unwrap();
        let bodies = [
            ResponseBody::Classified(Classification {
                class: 2,
                logits,
                cycles: 123_456,
                confidence: 0.987_654_3,
            }),
            ResponseBody::Info(DeviceInfo {
                firmware_version: "0.1.0",
                board: "qemu-mps2-an386",
                counter: CycleCounter::QemuInstructions,
                model: ModelStatus::Rejected {
                    reason: String::try_from("CRC mismatch").unwrap(),
                },
                stack_high_water: 1234,
            }),
            ResponseBody::Error(ErrorReply::Oversized {
                max: MAX_FRAME as u16,
            }),
        ];
        for body in bodies {
            let resp = Response {
                version: PROTOCOL_VERSION,
                body,
            };
            let (mut buf, n) = frame_of(&resp);
            assert_eq!(decode_response(&mut buf[..n - 1]).unwrap(), resp);
        }
    }

    #[test]
    fn reader_splits_frames_ignores_empty_ones_and_reports_oversize_once() {
        let mut r = FrameReader::<4>::new();
        let mut frames = 0;
        let mut oversized = 0;
        // Frames of 3 bytes + delimiter fit N = 4; 4 bytes + delimiter do not.
        for &b in &[0u8, 0, 1, 2, 0, 1, 2, 3, 4, 0, 1, 2, 3, 0, 9, 0] {
            match r.push(b) {
                Feed::Pending => {}
                Feed::Frame(f) => {
                    frames += 1;
                    assert!(f == [1, 2] || f == [1, 2, 3] || f == [9], "{f:?}");
                }
                Feed::Oversized => oversized += 1,
            }
        }
        assert_eq!((frames, oversized), (3, 1));
        assert!(r.is_idle());
    }
}
