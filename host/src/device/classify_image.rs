//! `host classify --image FILE`: one picture of a digit, preprocessed as MNIST was, classified
//! on the host and, with `--port` or `--qemu`, on the device too (its logits beside the host's).

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context};
use model_format::protocol::{Classification, CycleCounter};
use model_format::{top_probability, Model, Prediction};

use super::classify::check_device_model;
use super::client::Client;
use super::digit_image::{self, DigitImage};
use super::firmware_build::{build_firmware, Board};
use super::qemu::{check_elf, SerialSession};

/// Where the image is classified besides the host.
#[derive(Debug, Clone)]
pub enum ImageDevice {
    /// The host alone.
    None,
    /// A board on a serial port.
    Port { port: String, baud: u32 },
    /// The firmware in QEMU (built for `board` unless `elf` is given).
    Qemu { board: Board, elf: Option<PathBuf> },
}

/// What the device answered.
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceAnswer {
    pub board: String,
    pub counter: CycleCounter,
    pub reply: Classification,
}

/// One picture's classification.
#[derive(Debug, Clone)]
pub struct ImageReport {
    pub image: PathBuf,
    pub loaded: DigitImage,
    pub model_id: u64,
    pub host: Prediction,
    /// The confidence, as the protocol defines it ([`top_probability`], the `f32` bits the
    /// device must send too).
    pub confidence: f32,
    /// softmax(logit x logit_scale) in f64, one per class, for the table (the class's entry
    /// is `confidence` to f32 precision).
    pub probabilities: Vec<f64>,
    pub device: Option<DeviceAnswer>,
}

impl ImageReport {
    /// The device's class and logits equal the host's, and its confidence has the host's
    /// `f32` bits (trivially true without a device).
    pub fn identical(&self) -> bool {
        self.device.as_ref().is_none_or(|d| {
            d.reply.class == self.host.class
                && d.reply.logits[..] == *self.host.logits()
                && d.reply.confidence.to_bits() == self.confidence.to_bits()
        })
    }
}

/// softmax(logits x scale): the float model's class probabilities, as far as the integer
/// logits (`logit x logit_scale ≈` the float score) carry them; every class's, where the
/// protocol's [`top_probability`] gives the top one's.
pub fn confidences(logits: &[i32], scale: f32) -> Vec<f64> {
    let scores: Vec<f64> = logits
        .iter()
        .map(|&l| f64::from(l) * f64::from(scale))
        .collect();
    let max = scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let exps: Vec<f64> = scores.iter().map(|s| (s - max).exp()).collect();
    let sum: f64 = exps.iter().sum();
    exps.iter().map(|e| e / sum).collect()
}

/// Classify the picture at `image` with the model at `model_path` (and on `device`), write the
/// 28x28 input to `show` if given, and return the report.
pub fn classify_image(
    image: &Path,
    model_path: &Path,
    device: &ImageDevice,
    show: Option<&Path>,
) -> anyhow::Result<ImageReport> {
    let bytes = std::fs::read(model_path)
        .with_context(|| format!("reading the model {}", model_path.display()))?;
    let model =
        Model::from_bytes(&bytes).map_err(|e| anyhow::anyhow!("{}: {e}", model_path.display()))?;
    let loaded = digit_image::load(image)?;
    if let Some(show) = show {
        digit_image::write_show(show, &loaded.digit.pixels)?;
    }
    let host = model.infer(&loaded.digit.pixels);
    let device = match device {
        ImageDevice::None => None,
        ImageDevice::Port { port, baud } => {
            let mut client = super::ports::connect(port, *baud)?;
            Some(ask_device(&mut client, &model, &loaded)?)
        }
        ImageDevice::Qemu { board, elf } => {
            board.qemu()?;
            let elf = match elf {
                Some(e) => {
                    check_elf(e)?;
                    e.clone()
                }
                None => build_firmware(*board, model_path, true)?,
            };
            let mut session = SerialSession::start(&elf)?;
            let mut client = Client::new(session.stream.try_clone()?, Duration::from_secs(10));
            Some(ask_device(&mut client, &model, &loaded).map_err(|e| session.explain(e))?)
        }
    };
    Ok(ImageReport {
        image: image.to_path_buf(),
        model_id: model.model_id(),
        confidence: top_probability(host.logits(), model.logit_scale()),
        probabilities: confidences(host.logits(), model.logit_scale()),
        host,
        loaded,
        device,
    })
}

fn ask_device<S: std::io::Read + std::io::Write>(
    client: &mut Client<S>,
    model: &Model<'_>,
    loaded: &DigitImage,
) -> anyhow::Result<DeviceAnswer> {
    // Resynchronise first (PROTOCOL.md): bytes left on the line would put the reply behind.
    let info = client.resync().context("asking the device for Info")?;
    check_device_model(&info, model)?;
    let reply = client
        .classify(&loaded.digit.pixels)
        .context("sending the image to the device")?;
    if reply.logits.len() != model.dims().classes {
        bail!(
            "the device sent {} logits, the model has {} classes",
            reply.logits.len(),
            model.dims().classes
        );
    }
    Ok(DeviceAnswer {
        board: info.board,
        counter: info.counter,
        reply,
    })
}

impl std::fmt::Display for ImageReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let l = &self.loaded;
        let d = &l.digit;
        writeln!(
            f,
            "image: {} ({:?}, {}x{}, {}), ink box {}x{} at ({}, {}), fitted to {}x{} in 28x28",
            self.image.display(),
            l.format,
            l.width,
            l.height,
            if d.inverted {
                "dark ink on light: inverted"
            } else {
                "light ink on dark"
            },
            d.ink_box.width,
            d.ink_box.height,
            d.ink_box.x,
            d.ink_box.y,
            d.scaled.0,
            d.scaled.1
        )?;
        let class = usize::from(self.host.class);
        writeln!(
            f,
            "class: {class} (confidence {:.1} %, model {:016x})",
            100.0 * self.confidence,
            self.model_id
        )?;
        match &self.device {
            None => write!(f, "class    logit  probability")?,
            Some(_) => write!(f, "class  logit (host)  logit (device)  probability")?,
        }
        // Each row starts a new line, so the report ends without one (`println!` adds it).
        for (k, (&logit, p)) in self
            .host
            .logits()
            .iter()
            .zip(&self.probabilities)
            .enumerate()
        {
            let mark = if k == class { " <" } else { "" };
            match &self.device {
                None => write!(f, "\n{k:>5}  {logit:>7}  {:>9.1} %{mark}", 100.0 * p)?,
                Some(dev) => {
                    let theirs = dev.reply.logits.get(k).copied().unwrap_or_default();
                    write!(
                        f,
                        "\n{k:>5}  {logit:>12}  {theirs:>14}  {:>9.1} %{mark}",
                        100.0 * p
                    )?
                }
            }
        }
        if let Some(dev) = &self.device {
            writeln!(f)?;
            let unit = match dev.counter {
                CycleCounter::CpuCycles => "CPU cycles",
                CycleCounter::QemuInstructions => "instructions (QEMU -icount)",
            };
            writeln!(
                f,
                "device: {}, class {}, confidence {:.1} %, {} {unit}",
                dev.board,
                dev.reply.class,
                100.0 * dev.reply.confidence,
                dev.reply.cycles
            )?;
            write!(
                f,
                "device identical to the host (class, logits, confidence bits): {}",
                if self.identical() { "yes" } else { "NO" }
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn confidences_are_a_softmax_of_the_scaled_logits() {
        let p = confidences(&[0, 2, -1], 0.5);
        assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        let e = [1.0f64, 1f64.exp(), (-0.5f64).exp()];
        let s: f64 = e.iter().sum();
        for (got, want) in p.iter().zip(e) {
            assert!((got - want / s).abs() < 1e-12);
        }
        // Huge logits do not overflow.
        let p = confidences(&[i32::MAX, 0], 1.0);
        assert_eq!(p, vec![1.0, 0.0]);
    }

    #[test]
    fn the_table_agrees_with_the_protocols_confidence() {
        let logits = [-1_210, 310, 2_745, -56, 891, 12, -3_300, 1_999, 404, 2_700];
        let p = confidences(&logits, 0.003_17);
        let top = f64::from(top_probability(&logits, 0.003_17));
        assert!((p[2] - top).abs() < 1e-6, "{} vs {top}", p[2]);
    }
}
