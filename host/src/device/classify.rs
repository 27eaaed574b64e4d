//! `host classify`: test images through the protocol, on a real board (`--port`) or the
//! firmware in QEMU (`--qemu`), compared with the host reference.

use std::path::Path;
use std::time::Duration;

use anyhow::{bail, Context};
use model_format::protocol::{CycleCounter, ModelStatus};
use model_format::{top_probability, Model, INPUT};

use super::client::{Client, DeviceInfo};
use super::firmware_build::{build_firmware, Board};
use super::qemu::{check_elf, SerialSession};
use super::qemu_eval::test_set;

/// Totals of a protocol classification run.
#[derive(Debug, Clone, PartialEq)]
pub struct ClassifyReport {
    pub images: usize,
    pub correct: usize,
    pub identical: usize,
    pub cycles_total: u64,
    pub cycles_min: u32,
    pub cycles_max: u32,
    pub counter: CycleCounter,
    /// Replies whose confidence has the same `f32` bits as the host's
    /// [`top_probability`] of the host's logits.
    pub confidence_identical: usize,
    /// Sum and minimum of the device's confidences (the top class's softmax probability).
    pub confidence_total: f64,
    pub confidence_min: f32,
    pub board: String,
    /// The device's stack high-water mark after the run (bytes; 0 if it cannot measure).
    pub stack_high_water: u32,
}

/// Check the device runs `model`, then classify the first `images` test images and compare
/// every reply with the host's inference.
pub fn classify_on<S: std::io::Read + std::io::Write>(
    client: &mut Client<S>,
    model: &Model<'_>,
    images: usize,
    mut progress: impl FnMut(usize),
) -> anyhow::Result<ClassifyReport> {
    // Resynchronise first: a half frame or typed bytes on the line (a console user, an
    // interrupted client) would otherwise put every reply one behind.
    let info = client.resync().context("asking the device for Info")?;
    check_device_model(&info, model)?;
    let (pixels, labels) = test_set(images)?;
    let mut report = ClassifyReport {
        images: 0,
        correct: 0,
        identical: 0,
        cycles_total: 0,
        cycles_min: u32::MAX,
        cycles_max: 0,
        counter: info.counter,
        confidence_identical: 0,
        confidence_total: 0.0,
        confidence_min: 1.0,
        board: info.board.clone(),
        stack_high_water: 0,
    };
    for (i, (img, &label)) in pixels.chunks_exact(INPUT).zip(&labels).enumerate() {
        let img: &[u8; INPUT] = img.try_into().context("image size")?;
        let got = client
            .classify(img)
            .with_context(|| format!("classifying test image {i}"))?;
        let want = model.infer(img);
        report.images += 1;
        report.correct += usize::from(got.class == label);
        report.identical +=
            usize::from(got.class == want.class && got.logits[..] == *want.logits());
        // Bit for bit: both sides run model-format's `top_probability` (IEEE f32 steps and
        // libm's software `expf`), so any difference is a bug, not rounding.
        let confidence = top_probability(want.logits(), model.logit_scale());
        report.confidence_identical +=
            usize::from(got.confidence.to_bits() == confidence.to_bits());
        report.confidence_total += f64::from(got.confidence);
        report.confidence_min = report.confidence_min.min(got.confidence);
        report.cycles_total += u64::from(got.cycles);
        report.cycles_min = report.cycles_min.min(got.cycles);
        report.cycles_max = report.cycles_max.max(got.cycles);
        progress(i + 1);
    }
    if report.images == 0 {
        report.cycles_min = 0;
        report.confidence_min = 0.0;
    }
    report.stack_high_water = client
        .info()
        .context("asking the device for Info after the run")?
        .stack_high_water;
    Ok(report)
}

/// An error unless the device (its `Info`) runs `model`, the host's reference.
pub fn check_device_model(info: &DeviceInfo, model: &Model<'_>) -> anyhow::Result<()> {
    match &info.model {
        ModelStatus::Loaded { model_id, .. } if *model_id == model.model_id() => Ok(()),
        ModelStatus::Loaded { model_id, .. } => bail!(
            "the device runs model {model_id:016x}, the host reference is {:016x}: \
             pass the device's model file with --model",
            model.model_id()
        ),
        ModelStatus::Rejected { reason } => {
            bail!("the device rejected its built-in model at boot: {reason}")
        }
    }
}

impl ClassifyReport {
    /// An error unless every reply equals the host's: class and logits, and confidence bits.
    pub fn check(&self) -> anyhow::Result<()> {
        if self.identical != self.images {
            bail!(
                "the device differs from the host on {} of {} images (class or logits)",
                self.images - self.identical,
                self.images
            );
        }
        if self.confidence_identical != self.images {
            bail!(
                "the device's confidence differs from the host's f32 bits on {} of {} images",
                self.images - self.confidence_identical,
                self.images
            );
        }
        Ok(())
    }
}

impl std::fmt::Display for ClassifyReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.images.max(1) as f64;
        let unit = match self.counter {
            CycleCounter::CpuCycles => "CPU cycles",
            CycleCounter::QemuInstructions => "instructions (QEMU -icount)",
        };
        writeln!(f, "board: {}", self.board)?;
        writeln!(
            f,
            "accuracy: {:.2}% ({}/{})",
            100.0 * self.correct as f64 / n,
            self.correct,
            self.images
        )?;
        writeln!(
            f,
            "identical to the host reference: {}/{}",
            self.identical, self.images
        )?;
        writeln!(
            f,
            "confidence (softmax probability of the class, computed on the device): mean {:.1}%, \
             lowest {:.1}%; the host's f32 bits: {}/{}",
            100.0 * self.confidence_total / n,
            100.0 * self.confidence_min,
            self.confidence_identical,
            self.images
        )?;
        writeln!(
            f,
            "per inference: {:.0} {unit} (min {}, max {})",
            self.cycles_total as f64 / n,
            self.cycles_min,
            self.cycles_max
        )?;
        write!(
            f,
            "device stack high-water: {} bytes",
            self.stack_high_water
        )
    }
}

/// `host classify --port PATH`.
pub fn classify_port(
    port: &str,
    baud: u32,
    model_path: &Path,
    images: usize,
) -> anyhow::Result<()> {
    let bytes = std::fs::read(model_path)
        .with_context(|| format!("reading the model {}", model_path.display()))?;
    let model =
        Model::from_bytes(&bytes).map_err(|e| anyhow::anyhow!("{}: {e}", model_path.display()))?;
    let mut client = super::ports::connect(port, baud)?;
    let report = classify_on(&mut client, &model, images, progress_dots)?;
    println!("\n{report}");
    report.check()
}

/// `host classify --qemu --board B`.
pub fn classify_qemu(
    board: Board,
    model_path: &Path,
    elf: Option<&Path>,
    images: usize,
) -> anyhow::Result<()> {
    board.qemu()?;
    let bytes = std::fs::read(model_path)
        .with_context(|| format!("reading the model {}", model_path.display()))?;
    let model =
        Model::from_bytes(&bytes).map_err(|e| anyhow::anyhow!("{}: {e}", model_path.display()))?;
    let elf = match elf {
        Some(e) => {
            check_elf(e)?;
            e.to_path_buf()
        }
        None => build_firmware(board, model_path, true)?,
    };
    let mut session = SerialSession::start(&elf)?;
    let stream = session.stream.try_clone()?;
    let mut client = Client::new(stream, Duration::from_secs(10));
    let report =
        classify_on(&mut client, &model, images, progress_dots).map_err(|e| session.explain(e))?;
    println!("\n{report}");
    report.check()
}

fn progress_dots(done: usize) {
    if done.is_multiple_of(10) {
        eprint!(".");
    }
}
