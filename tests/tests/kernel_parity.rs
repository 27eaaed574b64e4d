//! The chip's layer-1 kernels against the portable kernel on the host, on random models, for
//! each kernel family: DSP (SMLAD assembly, Cortex-M4 on mps2-an386), Armv7-M (Cortex-M3 on
//! mps2-an385), Armv6-M (the thumbv6m-none-eabi build, also on mps2-an385: an M3 executes
//! Armv6-M code, and the 16 KiB micro:bit cannot hold the large models) and RISC-V (sifive_e,
//! 16 KiB of RAM: small hidden sizes only). Proptest generates the models (random and edge
//! hidden sizes, extreme weights, images of every density from all 0 to all 255, layouts 0,
//! 1 and 2), ONE QEMU boot per family runs them all in the firmware's `parity` mode (cargo feature `parity`, built by
//! `tests::parity_firmware_for`; models loaded at run time, no rebuild per model), and every
//! logit must equal `Model::infer` on the host.
//!
//! Needs `qemu-system-arm` and `qemu-system-riscv32`; without them the tests FAIL with the
//! install command.

use host::device::board::Board;
use model_format::protocol::parity::{self, RECORD_LEN, STATUS_DECODED};
use model_format::{Dims, Layout, Model, ModelParams, INPUT};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, TestRunner};
use tests::{parity_firmware, parity_firmware_for};

fn weights(n: usize) -> impl Strategy<Value = Vec<i8>> {
    // Extremes often: -128 and 127 stress the sign extension and the accumulator bounds.
    let w = prop_oneof![3 => any::<i8>(), 1 => Just(-128i8), 1 => Just(127i8), 1 => Just(0i8)];
    proptest::collection::vec(w, n)
}

fn params(hidden: usize) -> impl Strategy<Value = ModelParams> {
    let classes = 10usize;
    // Shifts that keep activations inside 0..255 for typical sums, and any shift sometimes.
    let shift = prop_oneof![4 => 14u8..=26, 1 => 1u8..=62];
    let bias = prop_oneof![4 => -100_000i32..=100_000, 1 => -(1i32 << 30)..=(1 << 30)];
    (
        weights(hidden * INPUT),
        proptest::collection::vec(bias.clone(), hidden),
        proptest::collection::vec(0i32..=i32::MAX, hidden),
        proptest::collection::vec(shift, hidden),
        weights(classes * hidden),
        proptest::collection::vec(bias, classes),
    )
        .prop_map(move |(w1, b1, multiplier, shift, w2, b2)| ModelParams {
            dims: Dims {
                input: INPUT,
                hidden,
                classes,
            },
            w1,
            b1,
            multiplier,
            shift,
            w2,
            b2,
            logit_scale: 0.01,
        })
}

/// The input densities the sparse kernels must handle alike: they skip zero pixels (or
/// all-zero 4-pixel groups) and switch to the dense loop past some count, so every density
/// from empty to full is a different path through them.
#[derive(Debug, Clone, Copy)]
enum Density {
    /// Any byte, extremes often (mostly dense).
    Random,
    AllZero,
    /// One nonzero pixel anywhere.
    SinglePixel,
    /// One nonzero pixel in every aligned group of 4 (every group nonzero, 3/4 of pixels 0).
    OnePerGroup,
    AllFull,
    /// Each pixel nonzero with a random probability of 1..99 %.
    Sparse,
}

const DENSITIES: [Density; 6] = [
    Density::Random,
    Density::AllZero,
    Density::SinglePixel,
    Density::OnePerGroup,
    Density::AllFull,
    Density::Sparse,
];

fn image(density: Density) -> BoxedStrategy<Vec<u8>> {
    let nonzero = prop_oneof![1 => Just(1u8), 1 => Just(255u8), 3 => 1u8..=255];
    match density {
        Density::Random => {
            let px = prop_oneof![2 => any::<u8>(), 1 => Just(0u8), 1 => Just(255u8)];
            proptest::collection::vec(px, INPUT).boxed()
        }
        Density::AllZero => Just(vec![0u8; INPUT]).boxed(),
        Density::AllFull => Just(vec![255u8; INPUT]).boxed(),
        Density::SinglePixel => (0..INPUT, nonzero)
            .prop_map(|(at, v)| {
                let mut px = vec![0u8; INPUT];
                px[at] = v;
                px
            })
            .boxed(),
        Density::OnePerGroup => proptest::collection::vec((0..4usize, nonzero), INPUT / 4)
            .prop_map(|lanes| {
                let mut px = vec![0u8; INPUT];
                for (g, (lane, v)) in lanes.into_iter().enumerate() {
                    px[4 * g + lane] = v;
                }
                px
            })
            .boxed(),
        Density::Sparse => (1u32..=99)
            .prop_flat_map(move |pct| {
                let px = prop_oneof![100 - pct => Just(0u8), pct => nonzero.clone()];
                proptest::collection::vec(px, INPUT)
            })
            .boxed(),
    }
}

struct Case {
    file: Vec<u8>,
    images: Vec<u8>,
}

fn sample<T: std::fmt::Debug>(runner: &mut TestRunner, s: impl Strategy<Value = T>) -> T {
    s.new_tree(runner).expect("strategy").current()
}

/// Hidden sizes: edge sizes (1, 3, 4, 5: below, at and above one block of 4; 127, 128; the
/// maximum 1024; 9 and 12: an odd number of blocks, partial and whole, for the kernels that
/// take two blocks per pass), then random ones up to 260.
fn large_hiddens(runner: &mut TestRunner) -> Vec<usize> {
    let mut hiddens = vec![1, 3, 4, 5, 127, 128, 1024, 9, 12];
    for _ in 0..23 {
        hiddens.push(sample(runner, 1usize..=260));
    }
    hiddens
}

/// Hidden sizes for a 16 KiB board, whose firmware loads each model into the ~8 KiB of RAM it
/// leaves free: below, at and above one block of 4 (1, 3, 4, 5). H = 5 comes third, in layout
/// 1 (3.9 KB); layout-2 models (cases 1 and 3 of every 5, 2 bytes per weight) stay at H <= 4
/// (6.3 KB), as do the random sizes.
fn small_hiddens(runner: &mut TestRunner) -> Vec<usize> {
    let mut hiddens = vec![1, 3, 5, 4];
    for _ in 0..11 {
        hiddens.push(sample(runner, 1usize..=4));
    }
    hiddens
}

#[test]
fn dsp_kernel_matches_the_portable_kernel_on_random_models_in_qemu() {
    let elf = parity_firmware().unwrap();
    let mut runner = TestRunner::new(Config::default());
    let hiddens = large_hiddens(&mut runner);
    check_kernel(&elf, &mut runner, &hiddens);
}

#[test]
fn armv7m_kernel_matches_the_portable_kernel_on_mps2_an385() {
    let board = Board::QemuMps2An385;
    let elf =
        parity_firmware_for(board, board.spec().target, &["parity", "layout-smlad16"]).unwrap();
    let mut runner = TestRunner::new(Config::default());
    let hiddens = large_hiddens(&mut runner);
    check_kernel(&elf, &mut runner, &hiddens);
}

/// The Armv6-M (Cortex-M0, micro:bit) build, run on mps2-an385: the M3 executes Armv6-M code
/// and has the RAM for the large models the 16 KiB micro:bit cannot hold.
#[test]
fn armv6m_kernel_matches_the_portable_kernel_on_mps2_an385() {
    let elf = parity_firmware_for(
        Board::QemuMps2An385,
        "thumbv6m-none-eabi",
        &["parity", "layout-smlad16"],
    )
    .unwrap();
    let mut runner = TestRunner::new(Config::default());
    let hiddens = large_hiddens(&mut runner);
    check_kernel(&elf, &mut runner, &hiddens);
}

#[test]
fn riscv_kernel_matches_the_portable_kernel_on_sifive_e() {
    let board = Board::QemuSifiveE;
    let elf =
        parity_firmware_for(board, board.spec().target, &["parity", "layout-smlad16"]).unwrap();
    let mut runner = TestRunner::new(Config::default());
    let hiddens = small_hiddens(&mut runner);
    check_kernel(&elf, &mut runner, &hiddens);
}

/// One model per hidden size (layouts in turn), each with an all-255 image and images of
/// the densities in turn, run in ONE boot of `elf`'s parity mode; every logit must equal the host's.
fn check_kernel(elf: &std::path::Path, runner: &mut TestRunner, hiddens: &[usize]) {
    let mut cases = Vec::new();
    for (n, &hidden) in hiddens.iter().enumerate() {
        let p = sample(runner, params(hidden));
        // Layout 1 (the SMLAD kernel) and layout 2 (the int16 SMLAD kernel) in turn, every
        // fifth in layout 0 (old files on the chip). Case 6 is H = 1024 in layout 2 (a 1.6 MB
        // file; the firmware's RAM buffer holds ~4 MB).
        let layout = match n % 5 {
            4 => Layout::HiddenMajor,
            1 | 3 => Layout::Smlad16,
            _ => Layout::Smlad,
        };
        let file = p.encode_with_layout(layout).unwrap();
        let count = if hidden >= 512 { 2 } else { 4 };
        // One all-255 image per case (the largest |sums| the kernel can see), then the
        // densities in turn, so every hidden size meets several and every density many.
        let mut imgs = vec![255u8; INPUT];
        for k in 1..count {
            let density = DENSITIES[(n * count + k) % DENSITIES.len()];
            imgs.extend(sample(runner, image(density)));
        }
        cases.push(Case { file, images: imgs });
    }

    let mut input = Vec::new();
    for c in &cases {
        parity::encode_case(&mut input, &c.file, &c.images);
    }
    let output = host::device::qemu::run_parity(elf, &input).unwrap();

    let mut at = 0;
    let mut checked = 0;
    for (n, c) in cases.iter().enumerate() {
        let model = Model::from_bytes(&c.file).unwrap();
        assert_eq!(
            output.get(at),
            Some(&STATUS_DECODED),
            "case {n}: the firmware rejected the model"
        );
        at += 1;
        for (k, img) in c.images.chunks_exact(INPUT).enumerate() {
            let want = model.infer(img.try_into().unwrap());
            let rec = output
                .get(at..at + RECORD_LEN)
                .unwrap_or_else(|| panic!("case {n}: output ends at image {k}"));
            let (class, logits) = parity::decode_record(rec.try_into().unwrap());
            assert_eq!(
                (class, &logits[..]),
                (want.class, &want.logits[..]),
                "case {n} (hidden {}, layout {}), image {k}",
                model.dims().hidden,
                model.layout().tag()
            );
            at += RECORD_LEN;
            checked += 1;
        }
    }
    assert_eq!(at, output.len(), "trailing output");
    let wide = cases
        .iter()
        .filter(|c| Model::from_bytes(&c.file).map(|m| m.layout()) == Ok(Layout::Smlad16))
        .count();
    assert!(wide >= 5, "only {wide} layout-2 models");
    eprintln!(
        "{} models ({wide} in layout 2), {checked} images: chip == host",
        cases.len()
    );
}
