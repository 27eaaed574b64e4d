//! `host qemu-eval`: the firmware in QEMU batch mode on the MNIST test set, every logit
//! compared with the host's `model_format` inference.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context};
use model_format::{Model, INPUT};
use rayon::prelude::*;
use serde::Serialize;

use super::density::{self, Density};
use super::elf::footprint;
use super::firmware_build::{build_firmware, Board};
use super::qemu::run_batch;

/// The test images and labels (`count` first images of the MNIST test set).
pub fn test_set(count: usize) -> anyhow::Result<(Vec<u8>, Vec<u8>)> {
    let dir = crate::data::mnist::default_data_dir();
    let raw = crate::data::mnist::load_raw(&dir)
        .with_context(|| format!("loading MNIST from {}", dir.display()))?;
    let n = count.min(raw.test_labels.len());
    Ok((
        raw.test_images[..n * INPUT].to_vec(),
        raw.test_labels[..n].to_vec(),
    ))
}

/// The result of one `qemu-eval` run (also its JSON output).
#[derive(Debug, Clone, Serialize)]
pub struct EvalReport {
    /// The board (`--board` name), its core and Rust target.
    pub board: String,
    pub core: String,
    pub target: String,
    /// What `instructions_*` count on this board, and their resolution.
    pub counter: String,
    /// Images classified.
    pub images: usize,
    /// Images whose class and every logit equal the host reference.
    pub identical: usize,
    /// Index of the first image that differs, if any.
    pub first_mismatch: Option<usize>,
    /// Firmware accuracy against the labels.
    pub accuracy: f64,
    /// Mean instructions per inference (QEMU -icount shift=0; SysTick or minstret, see
    /// `counter`).
    pub instructions_per_inference: f64,
    pub instructions_min: u64,
    pub instructions_max: u64,
    /// Median and 99th percentile (nearest rank) over the test images.
    pub instructions_median: u64,
    pub instructions_p99: u64,
    /// Mean nonzero pixels and nonzero 4-pixel groups per test image (what the sparse
    /// kernels' cost follows).
    pub mean_nonzero_pixels: f64,
    pub mean_nonzero_groups: f64,
    /// The most nonzero pixels of any test image.
    pub max_nonzero_pixels: usize,
    /// The synthetic density sweep (`density::sweep`), run after the test images: the worst
    /// case of the sparse kernels.
    pub synthetic: Vec<SyntheticResult>,
    /// Synthetic images whose class and every logit equal the host reference.
    pub synthetic_identical: usize,
    /// The largest count of the sweep, and the all-255 image's.
    pub synthetic_max_instructions: u64,
    pub all_255_instructions: u64,
    /// Vector table + .text + .rodata + .data.
    pub flash_bytes: u64,
    /// .data + .bss + measured stack high-water mark.
    pub ram_bytes: u64,
    pub text_bytes: u64,
    pub rodata_bytes: u64,
    pub data_bytes: u64,
    pub bss_bytes: u64,
    pub stack_high_water_bytes: u64,
    /// Model id, hex.
    pub model_id: String,
    pub hidden: usize,
    /// Wall time of the QEMU run alone.
    pub qemu_seconds: f64,
    pub elf: PathBuf,
}

/// One synthetic image's run.
#[derive(Debug, Clone, Serialize)]
pub struct SyntheticResult {
    pub name: String,
    #[serde(flatten)]
    pub density: Density,
    pub instructions: u64,
    pub identical: bool,
}

/// Nearest-rank percentile `p` (0..=100) of sorted `v`; 0 for none.
fn percentile(sorted: &[u64], p: usize) -> u64 {
    let rank = (p * sorted.len()).div_ceil(100).max(1);
    sorted.get(rank - 1).copied().unwrap_or(0)
}

/// Build for `board` (unless `elf` is given: it must have been built for `board`) and run the
/// firmware on the first `images` test images with the model file `model`, and compare with
/// the host.
pub fn qemu_eval(
    board: Board,
    model_path: &Path,
    images: usize,
    elf: Option<&Path>,
    verbose: bool,
) -> anyhow::Result<EvalReport> {
    let bytes = std::fs::read(model_path)
        .with_context(|| format!("reading the model {}", model_path.display()))?;
    let model =
        Model::from_bytes(&bytes).map_err(|e| anyhow::anyhow!("{}: {e}", model_path.display()))?;
    let spec = board.spec();
    board.qemu()?;
    let (pixels, labels) = test_set(images)?;
    let elf = match elf {
        Some(e) => {
            super::qemu::check_elf(e)?;
            let built_for = Board::of_elf(e)?;
            if built_for != board {
                bail!(
                    "{} was built for {}, not {}: pass --board {}",
                    e.display(),
                    built_for.cli_name(),
                    board.cli_name(),
                    built_for.cli_name()
                );
            }
            e.to_path_buf()
        }
        None => build_firmware(board, model_path, verbose)?,
    };

    let synthetic = density::sweep();
    let mut all_pixels = pixels.clone();
    for img in &synthetic {
        all_pixels.extend_from_slice(&img.pixels);
    }
    let started = Instant::now();
    let mut run = run_batch(&elf, &all_pixels)?;
    let qemu_seconds = started.elapsed().as_secs_f64();
    if run.model_id != model.model_id() {
        bail!(
            "the firmware {} runs model {:016x}, not {:016x} from {}",
            elf.display(),
            run.model_id,
            model.model_id(),
            model_path.display()
        );
    }
    if run.records.len() != labels.len() + synthetic.len() {
        bail!(
            "the firmware classified {} images, expected {}",
            run.records.len(),
            labels.len() + synthetic.len()
        );
    }

    let all_matches: Vec<bool> = all_pixels
        .par_chunks_exact(INPUT)
        .zip(run.records.par_iter())
        .map(|(img, rec)| {
            let img: &[u8; INPUT] = img.try_into().expect("chunks of INPUT bytes");
            let want = model.infer(img);
            rec.class == want.class && rec.logits == want.logits()
        })
        .collect();
    let synthetic_records = run.records.split_off(labels.len());
    let (matches, synthetic_matches) = all_matches.split_at(labels.len());
    let synthetic: Vec<SyntheticResult> = synthetic
        .into_iter()
        .zip(&synthetic_records)
        .zip(synthetic_matches)
        .map(|((img, rec), &identical)| SyntheticResult {
            density: density::density(&img.pixels),
            name: img.name,
            instructions: u64::from(rec.instructions),
            identical,
        })
        .collect();
    let mut counts: Vec<u64> = run
        .records
        .iter()
        .map(|r| u64::from(r.instructions))
        .collect();
    counts.sort_unstable();
    let densities: Vec<Density> = pixels.chunks_exact(INPUT).map(density::density).collect();
    let identical = matches.iter().filter(|&&m| m).count();
    let correct = run
        .records
        .iter()
        .zip(&labels)
        .filter(|(r, &l)| r.class == l)
        .count();
    let n = labels.len().max(1) as f64;
    let fp = footprint(&elf)?;
    Ok(EvalReport {
        board: board.cli_name(),
        core: spec.core.to_owned(),
        target: spec.target.to_owned(),
        counter: spec.counter.to_owned(),
        images: labels.len(),
        identical,
        first_mismatch: matches.iter().position(|&m| !m),
        accuracy: correct as f64 / n,
        instructions_per_inference: counts.iter().sum::<u64>() as f64 / n,
        instructions_min: counts.first().copied().unwrap_or(0),
        instructions_max: counts.last().copied().unwrap_or(0),
        instructions_median: percentile(&counts, 50),
        instructions_p99: percentile(&counts, 99),
        mean_nonzero_pixels: densities.iter().map(|d| d.nonzero_pixels).sum::<usize>() as f64 / n,
        mean_nonzero_groups: densities.iter().map(|d| d.nonzero_groups).sum::<usize>() as f64 / n,
        max_nonzero_pixels: densities
            .iter()
            .map(|d| d.nonzero_pixels)
            .max()
            .unwrap_or(0),
        synthetic_identical: synthetic.iter().filter(|s| s.identical).count(),
        synthetic_max_instructions: synthetic.iter().map(|s| s.instructions).max().unwrap_or(0),
        all_255_instructions: synthetic
            .iter()
            .find(|s| s.density.nonzero_pixels == INPUT)
            .map_or(0, |s| s.instructions),
        synthetic,
        flash_bytes: fp.flash(),
        ram_bytes: fp.static_ram() + run.summary.stack_high_water,
        text_bytes: fp.text,
        rodata_bytes: fp.rodata,
        data_bytes: fp.data,
        bss_bytes: fp.bss,
        stack_high_water_bytes: run.summary.stack_high_water,
        model_id: format!("{:016x}", model.model_id()),
        hidden: model.dims().hidden,
        qemu_seconds,
        elf,
    })
}

impl std::fmt::Display for EvalReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "board {} ({}, {}), model {} (784-{}-10), firmware {}",
            self.board,
            self.core,
            self.target,
            self.model_id,
            self.hidden,
            self.elf.display()
        )?;
        writeln!(
            f,
            "identical to the host: {}/{} images (class and every logit){}",
            self.identical,
            self.images,
            match self.first_mismatch {
                Some(i) => format!(", first difference at image {i}"),
                None => String::new(),
            }
        )?;
        writeln!(f, "accuracy: {:.2}%", 100.0 * self.accuracy)?;
        writeln!(
            f,
            "instructions per inference: {:.0} (median {}, p99 {}, min {}, max {}; QEMU -icount, {})",
            self.instructions_per_inference,
            self.instructions_median,
            self.instructions_p99,
            self.instructions_min,
            self.instructions_max,
            self.counter
        )?;
        writeln!(
            f,
            "synthetic density sweep ({} images, 0 to 784 nonzero pixels): max {} instructions, \
             all-255 image {}; identical to the host: {}/{}",
            self.synthetic.len(),
            self.synthetic_max_instructions,
            self.all_255_instructions,
            self.synthetic_identical,
            self.synthetic.len()
        )?;
        writeln!(
            f,
            "flash: {} bytes (.text {}, .rodata {}, .data {}); RAM: {} bytes (.data {}, .bss {}, \
             stack high-water {})",
            self.flash_bytes,
            self.text_bytes,
            self.rodata_bytes,
            self.data_bytes,
            self.ram_bytes,
            self.data_bytes,
            self.bss_bytes,
            self.stack_high_water_bytes
        )?;
        write!(f, "QEMU wall time: {:.1} s", self.qemu_seconds)
    }
}
