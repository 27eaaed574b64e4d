//! Every QEMU board other than the default (mps2-an386, covered by `tests/qemu.rs`): boot
//! check, the whole test set bit-exact in batch mode, and the protocol on the board's UART
//! (logits and confidence).
//!
//! These tests need `qemu-system-arm` and `qemu-system-riscv32` (Debian `qemu-system-misc`);
//! without them they FAIL with the install command.

use std::time::{Duration, Instant};

use host::device::board::Board;
use host::device::classify::classify_on;
use host::device::client::Client;
use host::device::qemu::{run_check, SerialSession};
use host::device::qemu_eval::qemu_eval;
use model_format::protocol::{CycleCounter, ExitCode};
use model_format::Model;
use tests::{board_firmware, default_model, default_model_bytes};

/// Boot check, 10,000 images bit-exact in batch mode, 20 through the UART protocol.
fn board_is_bit_exact(board: Board) {
    let elf = board_firmware(board).unwrap();
    let name = board.feature();

    let check = run_check(&elf).unwrap();
    assert_eq!(check.exit_code, Some(ExitCode::Ok.code()), "{check:?}");
    assert!(
        check.stdout.starts_with("firmware ") && check.stdout.contains(name),
        "the boot report names the board: {}",
        check.stdout
    );

    let started = Instant::now();
    let report = qemu_eval(board, &default_model(), 10_000, Some(&elf), false).unwrap();
    eprintln!(
        "{report}\n(test wall time {:.1} s)",
        started.elapsed().as_secs_f64()
    );
    assert_eq!(report.images, 10_000);
    assert_eq!(
        report.identical, 10_000,
        "{name}: first difference at image {:?}",
        report.first_mismatch
    );
    assert!(report.accuracy > 0.9, "accuracy {}", report.accuracy);
    assert!(report.instructions_per_inference > 10_000.0);
    assert!(report.stack_high_water_bytes > 0);

    let bytes = default_model_bytes().unwrap();
    let model = Model::from_bytes(&bytes).unwrap();
    let session = SerialSession::start(&elf).unwrap();
    let mut client = Client::new(
        session.stream.try_clone().expect("clone the UART socket"),
        Duration::from_secs(20),
    );
    let info = client.info().unwrap();
    assert_eq!(info.board, name);
    assert_eq!(info.counter, CycleCounter::QemuInstructions);
    let served = classify_on(&mut client, &model, 20, |_| {}).unwrap();
    assert_eq!(served.identical, 20, "{name}: {served}");
    // The confidence (softmax in f32, libm's expf): hardware FPU on the M7 and M33, soft
    // float on the M0, M3 and RV32IMAC, the same bits as the host's everywhere.
    assert_eq!(served.confidence_identical, 20, "{name}: {served}");
    assert!(served.cycles_min > 0, "{name}: the counter counted nothing");
}

#[test]
fn mps2_an385_cortex_m3() {
    board_is_bit_exact(Board::QemuMps2An385);
}

#[test]
fn mps2_an500_cortex_m7() {
    board_is_bit_exact(Board::QemuMps2An500);
}

#[test]
fn mps2_an505_cortex_m33() {
    board_is_bit_exact(Board::QemuMps2An505);
}

#[test]
fn microbit_cortex_m0() {
    board_is_bit_exact(Board::QemuMicrobit);
}

#[test]
fn sifive_e_rv32imac() {
    board_is_bit_exact(Board::QemuSifiveE);
}
