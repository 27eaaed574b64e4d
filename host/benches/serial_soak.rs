//! Serial soak (not in CI): the firmware in QEMU serving the protocol on its emulated UART gets a
//! long mixed stream of valid requests (Info, Classify) and broken frames (bad CRC, truncated,
//! garbage, oversized, wrong version), a few in flight at a time. Every reply must arrive, in
//! order, and be exactly the one its request calls for: each Classify carries a different test
//! image and its logits are checked against the host's inference; each bad-CRC frame carries a
//! CRC unique to it, which the device echoes in `Crc { received }`. One wrong or missing reply
//! stops the run with the request's number.
//!
//! ```text
//! cargo bench -p host --bench serial_soak                    # 100,000 requests
//! SOAK_REQUESTS=5000 cargo bench -p host --bench serial_soak # a short run to measure the rate
//! SOAK_SECONDS=1200 ...                                      # stop after 20 minutes whatever the count
//! SOAK_ELF=path/to/firmware.elf ...                          # boot this ELF instead of building one
//! SOAK_WINDOW=4 ...                                          # requests in flight (default 4)
//! ```
//! The ELF must embed data/model.postcard (the default build does).

use std::collections::VecDeque;
use std::io::Write;
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context};
use host::device::client::{request_bytes, Client, Reply};
use host::device::firmware_build::{build_firmware, default_model_path, Board};
use host::device::qemu::SerialSession;
use model_format::protocol::{ErrorReply, ModelStatus, RequestBody, MAX_FRAME};
use model_format::{Model, INPUT};

/// What one request must be answered with.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Expect {
    Info,
    /// The class and logits of this test image.
    Classified(usize),
    /// `Crc { received }` with this CRC.
    Crc(u32),
    /// Any error reply (the frame was cut short or is noise: which error depends on the cut).
    AnyError,
    Oversized,
    UnsupportedVersion,
}

/// The kinds of request, in the order of the mix.
const KINDS: [&str; 8] = [
    "info",
    "classify",
    "classify",
    "bad-crc",
    "truncated",
    "garbage",
    "oversized",
    "bad-version",
];

/// Bytes on the wire for `payload` with `crc`: leading delimiter, COBS, delimiter.
fn frame_with_crc(payload: &[u8], crc: u32) -> Vec<u8> {
    let mut raw = payload.to_vec();
    raw.extend_from_slice(&crc.to_le_bytes());
    let mut out = vec![0u8; raw.len() + raw.len() / 254 + 3];
    let n = cobs::encode(&raw, &mut out[1..]);
    out.truncate(n + 1);
    out.push(0);
    out
}

/// A small deterministic generator for the noise frames.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn nonzero_byte(&mut self) -> u8 {
        (self.next() % 255) as u8 + 1
    }
}

/// Request number `i`: its bytes and what it must be answered with.
fn request(i: usize, images: &[u8], rng: &mut XorShift) -> (Vec<u8>, Expect) {
    let n_images = images.len() / INPUT;
    let image = |k: usize| -> &[u8; INPUT] {
        let k = k % n_images;
        images[k * INPUT..(k + 1) * INPUT]
            .try_into()
            .expect("784 pixels")
    };
    match KINDS[i % KINDS.len()] {
        "info" => (request_bytes(RequestBody::Info), Expect::Info),
        "classify" => (
            request_bytes(RequestBody::Classify { pixels: image(i) }),
            Expect::Classified(i % n_images),
        ),
        "bad-crc" => {
            // A valid Info or Classify payload with a CRC that is wrong and unique to `i`.
            let mut payload = vec![1u8, 0];
            if i.is_multiple_of(2) {
                payload = vec![1u8, 1, 0x90, 0x06];
                payload.extend_from_slice(image(i));
            }
            let crc = model_format::CRC32.checksum(&payload) ^ (i as u32 | 0x8000_0000);
            (frame_with_crc(&payload, crc), Expect::Crc(crc))
        }
        "truncated" => {
            // A Classify frame cut somewhere inside (at least one byte kept), then a delimiter.
            let full = request_bytes(RequestBody::Classify { pixels: image(i) });
            let body = &full[1..full.len() - 1];
            let keep = 1 + (rng.next() as usize) % (body.len() - 1);
            let mut out = vec![0u8];
            out.extend_from_slice(&body[..keep]);
            out.push(0);
            (out, Expect::AnyError)
        }
        "garbage" => {
            let len = 1 + (rng.next() as usize) % 900;
            let mut out = vec![0u8];
            out.extend((0..len).map(|_| rng.nonzero_byte()));
            out.push(0);
            (out, Expect::AnyError)
        }
        "oversized" => {
            // Well past the limit (the exact boundary is tested elsewhere).
            let len = MAX_FRAME + 50 + (rng.next() as usize) % 2000;
            let mut out = vec![0u8];
            out.extend((0..len).map(|_| rng.nonzero_byte()));
            out.push(0);
            (out, Expect::Oversized)
        }
        _ => {
            // Version 2 (varint 0x02), Info: a correct frame the device does not speak.
            let payload = [2u8, 0];
            (
                frame_with_crc(&payload, model_format::CRC32.checksum(&payload)),
                Expect::UnsupportedVersion,
            )
        }
    }
}

fn check(
    i: usize,
    want: &Expect,
    got: &Reply,
    model: &Model<'_>,
    images: &[u8],
) -> anyhow::Result<()> {
    let ok = match (want, got) {
        (Expect::Info, Reply::Info(_)) => true,
        (Expect::Classified(k), Reply::Classified(c)) => {
            let img: &[u8; INPUT] = images[k * INPUT..(k + 1) * INPUT].try_into()?;
            let r = model.infer(img);
            c.class == r.class && c.logits[..] == *r.logits()
        }
        (Expect::Crc(crc), Reply::Error(ErrorReply::Crc { received, .. })) => received == crc,
        (Expect::AnyError, Reply::Error(_)) => true,
        (Expect::Oversized, Reply::Error(ErrorReply::Oversized { .. })) => true,
        (Expect::UnsupportedVersion, Reply::Error(ErrorReply::UnsupportedVersion { .. })) => true,
        _ => false,
    };
    ensure!(
        ok,
        "request {i}: expected {want:?}, got {got:?} (a lost or misordered reply)"
    );
    Ok(())
}

fn env_usize(name: &str) -> anyhow::Result<Option<usize>> {
    std::env::var(name)
        .ok()
        .map(|v| v.parse().with_context(|| format!("{name}={v}")))
        .transpose()
}

fn main() -> anyhow::Result<()> {
    let requests = env_usize("SOAK_REQUESTS")?.unwrap_or(100_000);
    let seconds = env_usize("SOAK_SECONDS")?;
    let window = env_usize("SOAK_WINDOW")?.unwrap_or(4).max(1);
    let model_path = default_model_path();
    let model_bytes =
        std::fs::read(&model_path).with_context(|| format!("reading {}", model_path.display()))?;
    let model = Model::from_bytes(&model_bytes).map_err(|e| anyhow::anyhow!("{e}"))?;
    let elf = match std::env::var_os("SOAK_ELF") {
        Some(p) => p.into(),
        None => build_firmware(Board::QemuMps2An386, &model_path, true)?,
    };
    let (images, _) = host::device::qemu_eval::test_set(1000)?;
    // This file's frame encoder agrees with the client's (PROTOCOL.md's example, and a
    // Classify frame that crosses COBS block boundaries).
    ensure!(frame_with_crc(&[1, 0], 0x58C2_23BE) == request_bytes(RequestBody::Info));
    let mut payload = vec![1u8, 1, 0x90, 0x06];
    payload.extend_from_slice(&images[..INPUT]);
    let pixels: &[u8; INPUT] = images[..INPUT].try_into()?;
    ensure!(
        frame_with_crc(&payload, model_format::CRC32.checksum(&payload))
            == request_bytes(RequestBody::Classify { pixels }),
        "the soak's COBS/CRC encoder disagrees with the client's"
    );

    let mut session = SerialSession::start(&elf)?;
    let mut writer = session.stream.try_clone()?;
    let mut client = Client::new(session.stream.try_clone()?, Duration::from_secs(30));
    match client.info().map_err(|e| session.explain(e))?.model {
        ModelStatus::Loaded { model_id, .. } if model_id == model.model_id() => {}
        other => bail!(
            "the firmware's model is {other:?}, not {}",
            model_path.display()
        ),
    }
    println!(
        "serial soak: {requests} requests, {window} in flight, mix {KINDS:?}{}",
        seconds.map_or(String::new(), |s| format!(", at most {s} s"))
    );

    let deadline = seconds.map(|s| Instant::now() + Duration::from_secs(s as u64));
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    let mut in_flight: VecDeque<(usize, Expect)> = VecDeque::new();
    let mut counts = [0usize; KINDS.len()];
    let (mut sent, mut answered, mut bytes_out) = (0usize, 0usize, 0usize);
    let start = Instant::now();
    let mut last_report = start;
    loop {
        let stop = deadline.is_some_and(|d| Instant::now() >= d);
        while sent < requests && !stop && in_flight.len() < window {
            let (bytes, want) = request(sent, &images, &mut rng);
            writer.write_all(&bytes).context("writing to the UART")?;
            counts[sent % KINDS.len()] += 1;
            bytes_out += bytes.len();
            in_flight.push_back((sent, want));
            sent += 1;
        }
        let Some((i, want)) = in_flight.pop_front() else {
            break;
        };
        let got = client
            .read_reply()
            .with_context(|| format!("waiting for the reply to request {i} ({want:?})"))
            .map_err(|e| session.explain(e))?;
        check(i, &want, &got, &model, &images)?;
        answered += 1;
        if last_report.elapsed() > Duration::from_secs(30) {
            last_report = Instant::now();
            let t = start.elapsed().as_secs_f64();
            eprintln!(
                "  {answered} answered in {t:.0} s ({:.0} requests/s)",
                answered as f64 / t
            );
        }
    }
    let t = start.elapsed().as_secs_f64();
    // The device still answers, and its stack stayed in bounds.
    let info = client.info().map_err(|e| session.explain(e))?;
    let mut kinds = KINDS.to_vec();
    kinds.dedup();
    let mix: Vec<String> = kinds
        .iter()
        .map(|k| {
            let n: usize = KINDS
                .iter()
                .zip(&counts)
                .filter(|(kind, _)| *kind == k)
                .map(|(_, n)| n)
                .sum();
            format!("{k} {n}")
        })
        .collect();
    println!(
        "serial soak: {answered} of {sent} requests answered in order with the right reply, \
         0 lost or misordered, in {t:.1} s ({:.0} requests/s, {:.0} kB/s to the device)",
        answered as f64 / t,
        bytes_out as f64 / t / 1000.0
    );
    println!("  mix: {}", mix.join(", "));
    println!(
        "  device stack high-water after the run: {} bytes",
        info.stack_high_water
    );
    ensure!(answered == sent, "{} replies missing", sent - answered);
    Ok(())
}
