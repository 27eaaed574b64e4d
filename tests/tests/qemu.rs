//! The firmware in QEMU against the host reference: the whole test set in batch mode, the
//! serial protocol (valid and broken frames), and a corrupted model at boot.
//!
//! These tests need `qemu-system-arm`; without it they FAIL with the install hint.

use std::time::{Duration, Instant};

use host::device::board::Board;
use host::device::classify::classify_on;
use host::device::client::{request_bytes, Client, Reply};
use host::device::qemu::{run_check, SerialSession};
use host::device::qemu_eval::qemu_eval;
use model_format::protocol::ExitCode;
use model_format::protocol::{
    CycleCounter, ErrorReply, ModelStatus, RequestBody, MAX_FRAME, PROTOCOL_VERSION,
};
use model_format::{top_probability, Model, INPUT};
use tests::{default_firmware, default_model, default_model_bytes, firmware_with_model};

/// The class and logits of a reply (the cycle count varies by one SysTick tick, 40
/// instructions, with where the tick boundaries fall).
fn result_of(reply: Reply) -> (u8, Vec<i32>) {
    match reply {
        Reply::Classified(c) => (c.class, c.logits.to_vec()),
        other => panic!("expected a classification, got {other:?}"),
    }
}

fn client(session: &SerialSession) -> Client<std::os::unix::net::UnixStream> {
    Client::new(
        session.stream.try_clone().expect("clone the UART socket"),
        Duration::from_secs(20),
    )
}

#[test]
fn all_10000_test_images_are_bit_exact_in_qemu_batch_mode() {
    let elf = default_firmware().unwrap();
    let started = Instant::now();
    let report = qemu_eval(
        Board::QemuMps2An386,
        &default_model(),
        10_000,
        Some(&elf),
        false,
    )
    .unwrap();
    eprintln!(
        "{report}\n(test wall time {:.1} s)",
        started.elapsed().as_secs_f64()
    );
    assert_eq!(report.images, 10_000);
    assert_eq!(
        report.identical, 10_000,
        "first difference at image {:?}",
        report.first_mismatch
    );
    // Sanity of the measurements, not a performance gate.
    assert!(report.accuracy > 0.9, "accuracy {}", report.accuracy);
    assert!(report.instructions_per_inference > 10_000.0);
    assert!(report.stack_high_water_bytes > 0);
    assert!(report.flash_bytes > report.rodata_bytes);
}

#[test]
fn uart_protocol_is_bit_exact_on_100_images() {
    let bytes = default_model_bytes().unwrap();
    let model = Model::from_bytes(&bytes).unwrap();
    let session = SerialSession::start(&default_firmware().unwrap()).unwrap();
    let mut client = client(&session);
    let info = client.info().unwrap();
    assert_eq!(info.board, "qemu-mps2-an386");
    assert_eq!(info.counter, CycleCounter::QemuInstructions);
    let report = classify_on(&mut client, &model, 100, |_| {}).unwrap();
    eprintln!("{report}");
    assert_eq!(report.images, 100);
    assert_eq!(report.identical, 100);
    assert_eq!(report.confidence_identical, 100, "confidence bits differ");
    assert!(report.cycles_min > 0, "SysTick counted nothing");
    let boot = session
        .wait_for_console("boot:", Duration::from_secs(5))
        .unwrap();
    assert!(boot.starts_with("boot: model ok"), "{boot}");
}

#[test]
fn broken_frames_get_error_replies_and_the_next_frame_is_answered() {
    let session = SerialSession::start(&default_firmware().unwrap()).unwrap();
    let mut client = client(&session);
    let image = [17u8; INPUT];
    let good = request_bytes(RequestBody::Classify { pixels: &image });
    let expected = result_of(client.send_raw(&good).unwrap());

    // Garbled: one bit flipped in the pixels.
    let mut garbled = good.clone();
    garbled[400] ^= 0x04;
    let reply = client.send_raw(&garbled).unwrap();
    assert!(
        matches!(
            reply,
            Reply::Error(ErrorReply::Crc { .. } | ErrorReply::Cobs)
        ),
        "{reply:?}"
    );
    assert_eq!(result_of(client.send_raw(&good).unwrap()), expected);

    // Truncated: the first half of a frame, no delimiter; the next request's leading 0x00
    // ends it. One error for the fragment, then the request is answered.
    let mut both = good[..good.len() / 2].to_vec();
    both.extend_from_slice(&good);
    let reply = client.send_raw(&both).unwrap();
    assert!(
        matches!(
            reply,
            Reply::Error(ErrorReply::Crc { .. } | ErrorReply::Cobs | ErrorReply::TooShort { .. })
        ),
        "{reply:?}"
    );
    assert_eq!(result_of(client.read_reply().unwrap()), expected);

    // Truncated to a few bytes, with its delimiter.
    let reply = client.send_raw(&[0, 0x03, 0x01, 0x00]).unwrap();
    assert!(
        matches!(
            reply,
            Reply::Error(ErrorReply::TooShort { .. } | ErrorReply::Cobs)
        ),
        "{reply:?}"
    );

    // Oversized: longer than any frame.
    let mut oversized = vec![0x55u8; 3 * MAX_FRAME];
    oversized.push(0);
    assert_eq!(
        client.send_raw(&oversized).unwrap(),
        Reply::Error(ErrorReply::Oversized {
            max: MAX_FRAME as u16
        })
    );

    // Wrong pixel count, then the service still answers normally.
    let short = request_bytes(RequestBody::Classify {
        pixels: &image[..100],
    });
    assert_eq!(
        client.send_raw(&short).unwrap(),
        Reply::Error(ErrorReply::BadPixelCount {
            expected: 784,
            received: 100
        })
    );
    assert_eq!(result_of(client.send_raw(&good).unwrap()), expected);
    assert!(matches!(
        client.request(RequestBody::Info).unwrap(),
        Reply::Info(_)
    ));
}

/// Protocol version 2: a version-1 client (PROTOCOL.md's version-1 `Info` request, byte for
/// byte) gets `UnsupportedVersion`, the service goes on, and the confidence the chip computes
/// (softmax in f32 with libm's expf, hardware FPU) has the host's bits on real test images and
/// on images whose logits are close (low confidence) or far apart.
#[test]
fn version_1_requests_get_the_version_error_and_confidence_is_bit_exact() {
    assert_eq!(PROTOCOL_VERSION, 2);
    let bytes = default_model_bytes().unwrap();
    let model = Model::from_bytes(&bytes).unwrap();
    let session = SerialSession::start(&default_firmware().unwrap()).unwrap();
    let mut client = client(&session);
    let v1_info = [0x00, 0x02, 0x01, 0x05, 0xbe, 0x23, 0xc2, 0x58, 0x00];
    for _ in 0..2 {
        assert_eq!(
            client.send_raw(&v1_info).unwrap(),
            Reply::Error(ErrorReply::UnsupportedVersion {
                received: 1,
                supported: 2
            })
        );
    }
    let (pixels, _) = host::device::qemu_eval::test_set(30).unwrap();
    let blank = [0u8; INPUT];
    let striped: [u8; INPUT] = std::array::from_fn(|i| if i % 28 < 14 { 255 } else { 0 });
    let images = pixels.chunks_exact(INPUT).chain([&blank[..], &striped[..]]);
    let mut lowest = 1.0f32;
    for (i, img) in images.enumerate() {
        let img: &[u8; INPUT] = img.try_into().unwrap();
        let got = client.classify(img).unwrap();
        let want = model.infer(img);
        let confidence = top_probability(want.logits(), model.logit_scale());
        assert_eq!((got.class, &got.logits[..]), (want.class, want.logits()));
        assert_eq!(
            got.confidence.to_bits(),
            confidence.to_bits(),
            "image {i}: device {} vs host {confidence}",
            got.confidence
        );
        lowest = lowest.min(confidence);
    }
    // Not all near 1: the check covers the interesting range of expf too.
    assert!(lowest < 0.9, "lowest confidence {lowest}");
}

/// Runs `elf` in `check` mode, which must exit with "model rejected", and returns its
/// boot report line ("boot: model rejected: ...").
fn rejected_at_boot(elf: &std::path::Path) -> String {
    let run = run_check(elf).unwrap();
    assert_eq!(
        run.exit_code,
        Some(ExitCode::ModelRejected.code()),
        "{run:?}"
    );
    let boot = run
        .stdout
        .lines()
        .find(|l| l.starts_with("boot:"))
        .unwrap_or_else(|| panic!("no boot report: {run:?}"))
        .to_owned();
    assert!(boot.starts_with("boot: model rejected:"), "{boot}");
    boot
}

#[test]
fn corrupted_model_is_reported_at_boot_and_never_used() {
    let mut bytes = default_model_bytes().unwrap();
    let middle = bytes.len() / 2; // inside the layer-1 weights
    bytes[middle] ^= 0x01;
    let elf = firmware_with_model(&bytes).unwrap();

    // `check` mode: the boot report names the problem and the exit code says "rejected".
    let boot = rejected_at_boot(&elf);
    assert!(boot.to_lowercase().contains("crc"), "{boot}");

    // Serving: Info reports the rejection, Classify refuses, the firmware keeps answering.
    let session = SerialSession::start(&elf).unwrap();
    let mut client = client(&session);
    match client.info().unwrap().model {
        ModelStatus::Rejected { reason } => assert!(reason.to_lowercase().contains("crc")),
        other => panic!("corrupted model accepted: {other:?}"),
    }
    let image = [0u8; INPUT];
    for _ in 0..2 {
        assert_eq!(
            client
                .request(RequestBody::Classify { pixels: &image })
                .unwrap(),
            Reply::Error(ErrorReply::ModelUnavailable)
        );
    }
}

/// The default firmware leaves the layout-2 kernel out (feature `layout-smlad16`): a layout-2
/// model must be rejected at boot through the decoder's typed error, with a message that says
/// how to get it, and never run (the portable kernel is not a silent fallback on the chip).
#[test]
fn layout2_model_is_rejected_by_the_default_firmware() {
    let bytes = default_model_bytes().unwrap();
    let layout2 = Model::from_bytes(&bytes)
        .unwrap()
        .to_params()
        .encode_with_layout(model_format::Layout::Smlad16)
        .unwrap();
    let elf = firmware_with_model(&layout2).unwrap();
    let boot = rejected_at_boot(&elf);
    assert!(boot.contains("layout-smlad16"), "{boot}");
}
