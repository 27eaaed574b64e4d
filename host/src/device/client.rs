//! Protocol client: speaks the firmware's framed protocol over any byte stream (a serial port
//! to a real board, QEMU's emulated UART through a socket, or an in-memory fake).

use std::io::{self, Read, Write};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use model_format::protocol::{
    decode_response, encode_frame, Classification, CycleCounter, ErrorReply, FrameReader,
    ModelStatus, Request, RequestBody, ResponseBody, MAX_FRAME, PROTOCOL_VERSION,
};
use model_format::INPUT;

/// What the device said about itself (`Info`), owned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceInfo {
    pub firmware_version: String,
    pub board: String,
    pub counter: CycleCounter,
    pub model: ModelStatus,
    pub stack_high_water: u32,
}

/// One reply of the device, owned. (`PartialEq` only: a classification carries an `f32`.)
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    Info(DeviceInfo),
    Classified(Classification),
    Error(ErrorReply),
}

impl Reply {
    fn from_body(body: ResponseBody<'_>) -> Self {
        match body {
            ResponseBody::Info(i) => Reply::Info(DeviceInfo {
                firmware_version: i.firmware_version.to_owned(),
                board: i.board.to_owned(),
                counter: i.counter,
                model: i.model,
                stack_high_water: i.stack_high_water,
            }),
            ResponseBody::Classified(c) => Reply::Classified(c),
            ResponseBody::Error(e) => Reply::Error(e),
        }
    }
}

/// Encode a request as the bytes a client sends: a leading 0x00 (ends any half frame the
/// device holds) and the frame.
pub fn request_bytes(body: RequestBody<'_>) -> Vec<u8> {
    let mut buf = vec![0u8; MAX_FRAME + 1];
    let request = Request {
        version: PROTOCOL_VERSION,
        body,
    };
    // The protocol's requests always fit MAX_FRAME (checked by model-format's tests).
    let n = encode_frame(&request, &mut buf[1..]).unwrap_or(0);
    buf.truncate(n + 1);
    buf
}

/// Longest [`Client::resync`] spends discarding what the line holds before it asks.
const DRAIN_LIMIT: Duration = Duration::from_secs(2);

/// The device sent no reply within the client's reply timeout: a typed error, so that a caller
/// can tell silence (no firmware, wrong port) from a broken reply and say what to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("no reply from the device within {0:?}")]
pub struct NoReply(pub Duration);

/// A client on one byte stream. The stream's own read timeout (if any) bounds each read;
/// `reply_timeout` bounds the wait for a whole reply.
pub struct Client<S> {
    stream: S,
    reader: FrameReader<MAX_FRAME>,
    reply_timeout: Duration,
}

impl<S: Read + Write> Client<S> {
    pub fn new(stream: S, reply_timeout: Duration) -> Self {
        Self {
            stream,
            reader: FrameReader::new(),
            reply_timeout,
        }
    }

    /// Start a conversation as PROTOCOL.md prescribes for opening the line, and return the
    /// device description: drop what the line holds (replies a previous, interrupted client
    /// left unread; the echo of bytes typed into a console), then send `00` and `Info` and read
    /// frames until the `Info` reply, discarding the error replies that a half frame left on
    /// the line earns and any late reply to someone else's request.
    pub fn resync(&mut self) -> anyhow::Result<DeviceInfo> {
        self.drain()?;
        self.reader = FrameReader::new();
        let deadline = Instant::now() + self.reply_timeout;
        let request = request_bytes(RequestBody::Info);
        self.stream
            .write_all(&request)
            .and_then(|()| self.stream.flush())
            .context("writing to the device")?;
        loop {
            match self.read_reply()? {
                Reply::Info(i) => return Ok(i),
                // A reply to a request that is not ours, or the error for a half frame.
                Reply::Error(_) | Reply::Classified(_) if Instant::now() < deadline => {}
                other => bail!("no Info reply from the device; the last frame was {other:?}"),
            }
        }
    }

    /// Read and discard until the line is quiet for one read timeout of the stream (at most
    /// [`DRAIN_LIMIT`]: a line that never goes quiet is left to the frame check).
    fn drain(&mut self) -> anyhow::Result<()> {
        let give_up = Instant::now() + DRAIN_LIMIT;
        let mut buf = [0u8; 256];
        while Instant::now() < give_up {
            match self.stream.read(&mut buf) {
                Ok(0) => bail!("the device closed the connection"),
                Ok(_) => {}
                Err(e) if is_timeout(&e) => break,
                Err(e) => return Err(e).context("reading from the device"),
            }
        }
        Ok(())
    }

    /// Change how long [`Client::read_reply`] waits for a whole reply.
    pub fn set_reply_timeout(&mut self, reply_timeout: Duration) {
        self.reply_timeout = reply_timeout;
    }

    /// Ask for the device description.
    pub fn info(&mut self) -> anyhow::Result<DeviceInfo> {
        match self.request(RequestBody::Info)? {
            Reply::Info(i) => Ok(i),
            other => bail!("device answered Info with {other:?}"),
        }
    }

    /// Classify one image.
    pub fn classify(&mut self, pixels: &[u8; INPUT]) -> anyhow::Result<Classification> {
        match self.request(RequestBody::Classify { pixels })? {
            Reply::Classified(c) => Ok(c),
            Reply::Error(e) => bail!("device refused to classify: {e}"),
            other => bail!("device answered Classify with {other:?}"),
        }
    }

    /// Send one request and wait for its reply.
    pub fn request(&mut self, body: RequestBody<'_>) -> anyhow::Result<Reply> {
        self.send_raw(&request_bytes(body))
    }

    /// Send arbitrary bytes (e.g. a deliberately broken frame) and wait for the next reply.
    pub fn send_raw(&mut self, bytes: &[u8]) -> anyhow::Result<Reply> {
        self.stream
            .write_all(bytes)
            .and_then(|()| self.stream.flush())
            .context("writing to the device")?;
        self.read_reply()
    }

    /// Wait for the next reply frame.
    pub fn read_reply(&mut self) -> anyhow::Result<Reply> {
        let deadline = Instant::now() + self.reply_timeout;
        let mut byte = [0u8; 1];
        loop {
            if Instant::now() > deadline {
                return Err(NoReply(self.reply_timeout).into());
            }
            match self.stream.read(&mut byte) {
                Ok(0) => bail!("the device closed the connection"),
                Ok(_) => {}
                Err(e) if is_timeout(&e) => continue,
                Err(e) => return Err(e).context("reading from the device"),
            }
            match self.reader.push(byte[0]) {
                model_format::protocol::Feed::Pending => {}
                model_format::protocol::Feed::Oversized => {
                    bail!("the device sent a frame longer than {MAX_FRAME} bytes")
                }
                model_format::protocol::Feed::Frame(frame) => {
                    let response = decode_response(frame).map_err(reply_error)?;
                    return Ok(Reply::from_body(response.body));
                }
            }
        }
    }
}

/// Why a reply frame could not be read. A reply of another protocol version (a device that
/// answers everything with `UnsupportedVersion` in its own version) says which side to update.
fn reply_error(e: ErrorReply) -> anyhow::Error {
    match e {
        ErrorReply::UnsupportedVersion {
            received,
            supported,
        } => anyhow::anyhow!(
            "the device speaks protocol version {received}, this host speaks version \
             {supported}: flash firmware built from the same source as this host"
        ),
        e => anyhow::anyhow!("the device sent a bad frame: {e}"),
    }
}

fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stream that answers with canned bytes and records what was written.
    struct Canned {
        replies: io::Cursor<Vec<u8>>,
        written: Vec<u8>,
    }

    impl Read for Canned {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            self.replies.read(buf)
        }
    }

    impl Write for Canned {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.written.extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn request_starts_with_a_delimiter_and_reply_is_decoded() {
        let reply = model_format::protocol::Response {
            version: PROTOCOL_VERSION,
            body: ResponseBody::Error(ErrorReply::Malformed),
        };
        let mut buf = vec![0u8; MAX_FRAME];
        let n = encode_frame(&reply, &mut buf).unwrap();
        let stream = Canned {
            replies: io::Cursor::new(buf[..n].to_vec()),
            written: Vec::new(),
        };
        let mut client = Client::new(stream, Duration::from_secs(1));
        assert_eq!(
            client.request(RequestBody::Info).unwrap(),
            Reply::Error(ErrorReply::Malformed)
        );
        assert_eq!(client.stream.written[0], 0);
        assert_eq!(client.stream.written.last(), Some(&0));
        // The stream is now exhausted: a further request reports the closed connection.
        let err = client.request(RequestBody::Info).unwrap_err();
        assert!(err.to_string().contains("closed"), "{err}");
    }

    /// A stream whose reads time out once the canned bytes are consumed (a serial port with a
    /// read timeout), and that answers a write with the next canned reply.
    struct Scripted {
        pending: Vec<u8>,
        replies: Vec<Vec<u8>>,
        written: Vec<u8>,
    }

    impl Read for Scripted {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.pending.is_empty() {
                return Err(io::ErrorKind::TimedOut.into());
            }
            let n = buf.len().min(self.pending.len());
            buf[..n].copy_from_slice(&self.pending[..n]);
            self.pending.drain(..n);
            Ok(n)
        }
    }

    impl Write for Scripted {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.written.extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            if !self.replies.is_empty() {
                let reply = self.replies.remove(0);
                self.pending.extend(reply);
            }
            Ok(())
        }
    }

    fn frame(body: ResponseBody<'_>) -> Vec<u8> {
        let mut buf = vec![0u8; MAX_FRAME];
        let resp = model_format::protocol::Response {
            version: PROTOCOL_VERSION,
            body,
        };
        let n = encode_frame(&resp, &mut buf).unwrap();
        buf.truncate(n);
        buf
    }

    /// PROTOCOL.md's resynchronisation: stale bytes on the line (an old reply, typed text)
    /// are dropped, and the error reply that the half frame earns before the Info reply is
    /// skipped.
    #[test]
    fn resync_drops_stale_bytes_and_skips_error_replies() {
        let info = model_format::protocol::DeviceInfo {
            firmware_version: "0.1.0",
            board: "b",
            counter: CycleCounter::CpuCycles,
            model: ModelStatus::Loaded {
                model_id: 7,
                input: 784,
                hidden: 3,
                classes: 10,
            },
            stack_high_water: 9,
        };
        let mut stale = frame(ResponseBody::Info(info.clone()));
        stale.extend_from_slice(b"hello\r");
        let mut answer = frame(ResponseBody::Error(ErrorReply::Cobs));
        answer.extend(frame(ResponseBody::Info(info)));
        let stream = Scripted {
            pending: stale,
            replies: vec![answer],
            written: Vec::new(),
        };
        let mut client = Client::new(stream, Duration::from_secs(1));
        let got = client.resync().unwrap();
        assert_eq!((got.board.as_str(), got.stack_high_water), ("b", 9));
        assert_eq!(client.stream.written, request_bytes(RequestBody::Info));
        assert!(client.stream.pending.is_empty());
    }

    /// A device of protocol version 1 answers a version-2 request with its version error,
    /// in version 1: the client says which versions meet instead of "bad frame".
    #[test]
    fn a_reply_of_another_version_names_both_versions() {
        let reply = model_format::protocol::Response {
            version: 1,
            body: ResponseBody::Error(ErrorReply::UnsupportedVersion {
                received: PROTOCOL_VERSION,
                supported: 1,
            }),
        };
        let mut buf = vec![0u8; MAX_FRAME];
        let n = encode_frame(&reply, &mut buf).unwrap();
        let stream = Canned {
            replies: io::Cursor::new(buf[..n].to_vec()),
            written: Vec::new(),
        };
        let mut client = Client::new(stream, Duration::from_secs(1));
        let err = client.info().unwrap_err().to_string();
        assert!(
            err.contains("protocol version 1") && err.contains("version 2"),
            "{err}"
        );
    }
}
