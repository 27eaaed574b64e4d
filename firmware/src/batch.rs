//! Batch mode: classify a stream of raw images and write every logit back, timing each
//! inference. On QEMU both streams are semihosting files (about 30 times faster than the
//! emulated UART), which is how the whole test set is checked against the host.
//!
//! The stream layout is `model_format::protocol::batch`.

use embedded_io::{Read, Write};
use model_format::protocol::batch::{self as stream, record_len, MAX_RECORD};
use model_format::{Model, INPUT, MAX_CLASSES};

use crate::Stopwatch;

/// Images read (and records written) per I/O call on boards with RAM to spare: fewer
/// semihosting traps. Boards with 16 KiB of RAM use a smaller [`Buffers`] (their board module
/// picks the size).
pub const CHUNK_IMAGES: usize = 16;

/// Totals of one batch run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Summary {
    /// Images classified.
    pub images: u32,
    /// Sum of the per-inference counter readings.
    pub cycles_total: u64,
    /// Smallest per-inference reading (0 when no image).
    pub cycles_min: u32,
    /// Largest per-inference reading.
    pub cycles_max: u32,
}

/// Why a batch run stopped early.
#[derive(Debug, PartialEq, Eq)]
pub enum BatchError<R, W> {
    /// Reading the images failed.
    Read(R),
    /// Writing the results failed.
    Write(W),
    /// The input ended inside an image: its length is not a multiple of 784.
    PartialImage {
        /// Bytes of the incomplete last image.
        bytes: usize,
    },
}

/// Buffers for [`run`] holding `N` images and their records, kept out of the stack so a board
/// can place them in `.bss` (and size them to its RAM: `N * 829` bytes).
/// Word-aligned, so every image (784 bytes apart) is: the SMLAD kernel widens aligned pixels
/// with word loads (unaligned ones take a slower bytewise path).
#[repr(C, align(4))]
pub struct Buffers<const N: usize = CHUNK_IMAGES> {
    images: [[u8; INPUT]; N],
    records: [[u8; MAX_RECORD]; N],
}

impl<const N: usize> Default for Buffers<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> Buffers<N> {
    /// Zeroed buffers.
    pub const fn new() -> Self {
        Self {
            images: [[0; INPUT]; N],
            records: [[0; MAX_RECORD]; N],
        }
    }
}

/// Fill `buf` from `r` until it is full or the input ends; returns the bytes read.
fn fill<R: Read>(r: &mut R, buf: &mut [u8]) -> Result<usize, R::Error> {
    let mut filled = 0;
    while let Some(rest) = buf.get_mut(filled..).filter(|rest| !rest.is_empty()) {
        match r.read(rest)? {
            0 => break,
            n => filled += n,
        }
    }
    Ok(filled)
}

/// Classify every image of `images`, writing the header and one record per image to `out`.
pub fn run<R: Read, W: Write, S: Stopwatch, const N: usize>(
    model: &Model<'_>,
    images: &mut R,
    out: &mut W,
    stopwatch: &mut S,
    buffers: &mut Buffers<N>,
) -> Result<Summary, BatchError<R::Error, W::Error>> {
    let classes = model.dims().classes.min(MAX_CLASSES);
    let rec_len = record_len(classes);
    let header = stream::Header {
        model_id: model.model_id(),
        classes,
    };
    out.write_all(&header.encode()).map_err(BatchError::Write)?;

    let mut summary = Summary::default();
    loop {
        let image_bytes = buffers.images.as_flattened_mut();
        let got = fill(images, image_bytes).map_err(BatchError::Read)?;
        if got % INPUT != 0 {
            return Err(BatchError::PartialImage { bytes: got % INPUT });
        }
        let mut used = 0;
        let records = buffers.records.as_flattened_mut();
        for (image, record) in image_bytes[..got]
            .chunks_exact(INPUT)
            .zip(records.chunks_exact_mut(rec_len))
        {
            let Ok(image) = <&[u8; INPUT]>::try_from(image) else {
                continue; // chunks_exact yields exactly INPUT bytes
            };
            stopwatch.start();
            let prediction = model.infer(image);
            let cycles = stopwatch.elapsed();

            stream::encode_record(&prediction, cycles, record);
            used += rec_len;

            summary.cycles_min = if summary.images == 0 {
                cycles
            } else {
                summary.cycles_min.min(cycles)
            };
            summary.cycles_max = summary.cycles_max.max(cycles);
            summary.cycles_total += u64::from(cycles);
            summary.images += 1;
        }
        out.write_all(&records[..used]).map_err(BatchError::Write)?;
        if got < image_bytes.len() {
            out.flush().map_err(BatchError::Write)?;
            return Ok(summary);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{tiny_model, FakeIo, TickingStopwatch};
    use model_format::protocol::batch::{HEADER_LEN, MAGIC};

    fn images(n: usize) -> Vec<u8> {
        (0..n * INPUT).map(|i| (i * 7 % 251) as u8).collect()
    }

    #[test]
    fn every_record_matches_the_reference() {
        let bytes = tiny_model(10, 7);
        let model = Model::from_bytes(&bytes).unwrap();
        // 37 images: two full chunks and a partial one.
        let input = images(37);
        let mut src = FakeIo::new(input.clone());
        src.max_read = 1000; // reads that do not align with images
        let mut out = FakeIo::new(Vec::new());
        let mut sw = TickingStopwatch::default();
        let mut buffers = Box::new(<Buffers>::new());
        let summary = run(&model, &mut src, &mut out, &mut sw, &mut buffers).unwrap();
        assert_eq!(summary.images, 37);
        assert_eq!((summary.cycles_min, summary.cycles_max), (1, 1));
        assert_eq!(summary.cycles_total, 37);

        let out = out.output;
        assert_eq!(&out[..8], &MAGIC);
        assert_eq!(out[8..16], model.model_id().to_le_bytes());
        assert_eq!(out[16..20], 10u32.to_le_bytes());
        let rec = record_len(10);
        assert_eq!(out[20..24], (rec as u32).to_le_bytes());
        assert_eq!(out.len(), HEADER_LEN + 37 * rec);
        for (k, (img, r)) in input
            .chunks_exact(INPUT)
            .zip(out[HEADER_LEN..].chunks_exact(rec))
            .enumerate()
        {
            let want = model.infer(img.try_into().unwrap());
            assert_eq!(r[0], want.class, "image {k}");
            let logits: Vec<i32> = r[1..rec - 4]
                .chunks_exact(4)
                .map(|b| i32::from_le_bytes(b.try_into().unwrap()))
                .collect();
            assert_eq!(logits, want.logits(), "image {k}");
        }
    }

    #[test]
    fn exact_multiple_of_the_chunk_and_empty_input() {
        let bytes = tiny_model(4, 8);
        let model = Model::from_bytes(&bytes).unwrap();
        for n in [0, CHUNK_IMAGES, 2 * CHUNK_IMAGES] {
            let mut src = FakeIo::new(images(n));
            let mut out = FakeIo::new(Vec::new());
            let mut buffers = Box::new(<Buffers>::new());
            let s = run(
                &model,
                &mut src,
                &mut out,
                &mut crate::NoStopwatch,
                &mut buffers,
            )
            .unwrap();
            assert_eq!(s.images as usize, n);
            assert_eq!(out.output.len(), HEADER_LEN + n * record_len(10));
        }
    }

    /// The small buffers of the 16 KiB boards: same records, in more and smaller chunks.
    #[test]
    fn small_buffers_give_the_same_stream() {
        let bytes = tiny_model(4, 8);
        let model = Model::from_bytes(&bytes).unwrap();
        let input = images(11);
        let mut outs = Vec::new();
        for small in [false, true] {
            let mut src = FakeIo::new(input.clone());
            let mut out = FakeIo::new(Vec::new());
            let mut sw = TickingStopwatch::default();
            let s = if small {
                run(
                    &model,
                    &mut src,
                    &mut out,
                    &mut sw,
                    &mut Buffers::<3>::new(),
                )
            } else {
                run(&model, &mut src, &mut out, &mut sw, &mut <Buffers>::new())
            };
            assert_eq!(s.unwrap().images, 11);
            outs.push(out.output);
        }
        assert_eq!(outs[0], outs[1]);
    }

    #[test]
    fn partial_image_is_an_error() {
        let bytes = tiny_model(4, 9);
        let model = Model::from_bytes(&bytes).unwrap();
        let mut input = images(3);
        input.truncate(3 * INPUT - 5);
        let mut src = FakeIo::new(input);
        let mut out = FakeIo::new(Vec::new());
        let mut buffers = Box::new(<Buffers>::new());
        assert_eq!(
            run(
                &model,
                &mut src,
                &mut out,
                &mut crate::NoStopwatch,
                &mut buffers
            ),
            Err(BatchError::PartialImage { bytes: INPUT - 5 })
        );
    }
}
