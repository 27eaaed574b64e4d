//! Batched host int8 inference, bit-identical to the portable kernel [`Model::infer`].
//!
//! [`Model::infer`] is written for a microcontroller: one dot product of 784 bytes per hidden
//! unit, no allocation. On the workstation the same integer arithmetic runs much faster with
//! the weights repacked once:
//!
//! * Layer 1 is stored input-major in *pixel pairs*: for pixel pair `p` and 8 hidden units,
//!   16 bytes holding each unit's two int8 weights `w1[j][2p]`, `w1[j][2p+1]` side by side.
//!   Sign-extended to i16 (`vpmovsxbw`) and multiplied by the broadcast pixel pair
//!   `x[2p] | x[2p+1] << 16`, one `vpmaddwd` (`_mm256_madd_epi16`) adds `x0*w0 + x1*w1` to
//!   eight hidden units at once, exactly (u8 x i8 pair sums fit easily in i32; `vpmaddubsw`
//!   would skip the widening but saturates at 2 * 255 * 127). Keeping the weights as bytes
//!   rather than pre-widened i16 halves the memory traffic, which measured 22 % faster.
//! * MNIST pixels are ~80 % zero. Each image visits only its nonzero pixel pairs; skipping a
//!   zero term changes nothing in integer arithmetic, so the sums are those of `Model::infer`.
//! * Hidden units are processed in tiles of up to [`TILE_VECTORS`] x 8 so the accumulators of
//!   one tile stay in registers while the image's nonzero pairs stream past.
//! * Requantisation and layer 2 run vectorised on the same exact integers; the hidden layer is
//!   padded to a multiple of 8 units with zero weights, zero multipliers and zero layer-2
//!   weights, which contribute exactly nothing.
//!
//! The AVX2 kernel is chosen at run time (`is_x86_feature_detected!`); every other CPU gets
//! a portable kernel over the same packed weights. Both are tested against `Model::infer`.

mod layer1;
mod portable;
#[cfg(target_arch = "x86_64")]
mod x86;

use model_format::{Model, Prediction, INPUT, MAX_CLASSES, MAX_HIDDEN};
use rayon::prelude::*;

pub use layer1::PackedLayer1;
use layer1::Scratch;

/// Pixel pairs per image (784 is even).
const PAIRS: usize = INPUT / 2;
/// Hidden units per SIMD vector (8 x i32 in a 256-bit register).
const LANES: usize = 8;
/// Largest tile, in vectors of [`LANES`] hidden units: 12 accumulators + the broadcast pixel
/// pair + a product temporary fit the 16 ymm registers (`vpmaddwd` takes the weights straight
/// from memory). Fewer, wider tiles mean fewer passes over the image's nonzero pairs.
const TILE_VECTORS: usize = 12;
/// Images per rayon task in [`Int8Engine::infer_images_par`]: large enough that scheduling
/// is negligible next to ~1 µs of work per image, small enough to balance two threads.
const PAR_CHUNK: usize = 256;

/// Eight i32 lanes aligned for 256-bit loads.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[repr(C, align(32))]
struct V8([i32; LANES]);

/// Four i64 lanes aligned for 256-bit loads.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[repr(C, align(32))]
struct V4x64([i64; 4]);

/// Which implementation runs the arithmetic (the results are identical).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kernel {
    /// Plain Rust over the packed weights; any CPU.
    Portable,
    /// `std::arch` AVX2 intrinsics; only selected when the CPU has AVX2.
    Avx2,
}

impl Kernel {
    /// The fastest kernel this CPU supports.
    pub fn detect() -> Kernel {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            return Kernel::Avx2;
        }
        Kernel::Portable
    }
}

/// Requantisation constants per hidden unit, in the shapes the kernels want.
#[derive(Debug, Clone)]
struct Requant {
    /// Per unit (padded): multiplier and shift as stored, for the portable kernel.
    multiplier: Vec<i32>,
    shift: Vec<u8>,
    /// Per vector of 8 units: multipliers; rounding terms `1 << (shift - 1)` and shifts as
    /// i64, split into the even and odd lanes (`_mm256_mul_epi32` multiplies even lanes).
    mult_v: Vec<V8>,
    round_even: Vec<V4x64>,
    round_odd: Vec<V4x64>,
    shift_even: Vec<V4x64>,
    shift_odd: Vec<V4x64>,
}

impl Requant {
    fn new(model: &Model<'_>, padded: usize) -> Requant {
        let (mut multiplier, mut shift): (Vec<i32>, Vec<u8>) = model.requant().unzip();
        // Padding units: multiplier 0 makes (0 + 2^(s-1)) >> s = 0 for any s >= 1.
        multiplier.resize(padded, 0);
        shift.resize(padded, 1);
        // The same clamp as `model_format::requantize` (decoded models are already in range).
        let shift: Vec<u8> = shift
            .iter()
            .map(|&s| {
                s.clamp(
                    *model_format::SHIFT_RANGE.start(),
                    *model_format::SHIFT_RANGE.end(),
                )
            })
            .collect();
        let vectors = padded / LANES;
        let mut r = Requant {
            mult_v: Vec::with_capacity(vectors),
            round_even: Vec::with_capacity(vectors),
            round_odd: Vec::with_capacity(vectors),
            shift_even: Vec::with_capacity(vectors),
            shift_odd: Vec::with_capacity(vectors),
            multiplier,
            shift,
        };
        for v in 0..vectors {
            let m = &r.multiplier[v * LANES..(v + 1) * LANES];
            let s = &r.shift[v * LANES..(v + 1) * LANES];
            let mut mv = [0i32; LANES];
            mv.copy_from_slice(m);
            r.mult_v.push(V8(mv));
            let lanes =
                |odd: usize, f: &dyn Fn(u8) -> i64| V4x64([0, 1, 2, 3].map(|i| f(s[2 * i + odd])));
            r.round_even.push(lanes(0, &|s| 1i64 << (s - 1)));
            r.round_odd.push(lanes(1, &|s| 1i64 << (s - 1)));
            r.shift_even.push(lanes(0, &|s| i64::from(s)));
            r.shift_odd.push(lanes(1, &|s| i64::from(s)));
        }
        r
    }
}

/// Layer 2 in hidden pairs: for hidden pair `q` and class `k` (padded to 16), one i32
/// holding `w2[k][2q]` and `w2[k][2q+1]` as i16 halves; classes 0..8 in the first vector.
#[derive(Debug, Clone)]
struct Layer2 {
    w: Vec<[V8; 2]>,
    bias: [V8; 2],
}

impl Layer2 {
    fn new(model: &Model<'_>, padded: usize) -> Layer2 {
        let d = model.dims();
        let (hidden, classes) = (d.hidden, d.classes.min(MAX_CLASSES));
        let w2: Vec<i8> = model.w2().collect(); // class-major: w2[k * hidden + j]
        let weight = |k: usize, j: usize| -> i32 {
            if k < classes && j < hidden {
                w2.get(k * hidden + j).map_or(0, |&w| i32::from(w))
            } else {
                0
            }
        };
        let w = (0..padded / 2)
            .map(|q| {
                let mut v = [V8::default(); 2];
                for k in 0..2 * LANES {
                    let pair = (weight(k, 2 * q) & 0xffff) | (weight(k, 2 * q + 1) << 16);
                    v[k / LANES].0[k % LANES] = pair;
                }
                v
            })
            .collect();
        let mut bias = [V8::default(); 2];
        for (k, b) in model.b2().take(classes).enumerate() {
            bias[k / LANES].0[k % LANES] = b;
        }
        Layer2 { w, bias }
    }
}

/// A model repacked for fast host inference. Build once per model (it visits every weight),
/// then classify any number of images; `Send + Sync`, so threads can share one.
#[derive(Debug, Clone)]
pub struct Int8Engine {
    kernel: Kernel,
    hidden: usize,
    classes: usize,
    layer1: PackedLayer1,
    requant: Requant,
    layer2: Layer2,
}

impl Int8Engine {
    /// Repack `model` for the fastest kernel this CPU supports.
    pub fn new(model: &Model<'_>) -> Int8Engine {
        Int8Engine::with_kernel(model, Kernel::detect())
    }

    /// Repack `model` for a given kernel. Asking for [`Kernel::Avx2`] on a CPU without AVX2
    /// gets the portable kernel (see [`Int8Engine::kernel`]).
    pub fn with_kernel(model: &Model<'_>, kernel: Kernel) -> Int8Engine {
        let kernel = if kernel == Kernel::detect() {
            kernel
        } else {
            Kernel::Portable
        };
        let d = model.dims();
        let hidden = d.hidden.min(MAX_HIDDEN);
        let w1: Vec<i8> = model.w1().collect();
        let b1: Vec<i32> = model.b1().collect();
        let layer1 = PackedLayer1::new(&w1, &b1, hidden);
        let padded = layer1.padded();
        Int8Engine {
            kernel,
            hidden,
            classes: d.classes.min(MAX_CLASSES),
            requant: Requant::new(model, padded),
            layer2: Layer2::new(model, padded),
            layer1,
        }
    }

    /// The kernel in use.
    pub fn kernel(&self) -> Kernel {
        self.kernel
    }

    /// Hidden units of the model.
    pub fn hidden(&self) -> usize {
        self.hidden
    }

    /// Classify one image: the same [`Prediction`] as [`Model::infer`].
    pub fn infer(&self, pixels: &[u8; INPUT]) -> Prediction {
        self.infer_with(pixels, &mut Scratch::new())
    }

    fn infer_with(&self, pixels: &[u8; INPUT], s: &mut Scratch) -> Prediction {
        let mut logits = [0i32; MAX_CLASSES];
        match self.kernel {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `Kernel::Avx2` is only stored after `is_x86_feature_detected!("avx2")`
            // returned true (`with_kernel` falls back to portable otherwise).
            Kernel::Avx2 => unsafe { x86::infer(self, pixels, s, &mut logits) },
            _ => portable::infer(self, pixels, s, &mut logits),
        }
        Prediction::from_logits(logits, self.classes)
    }

    /// Classify a batch of images on the calling thread.
    pub fn infer_images(&self, images: &[[u8; INPUT]]) -> Vec<Prediction> {
        let mut s = Box::new(Scratch::new());
        images
            .iter()
            .map(|px| self.infer_with(px, &mut s))
            .collect()
    }

    /// Classify a batch of images on the current rayon pool, in order.
    pub fn infer_images_par(&self, images: &[[u8; INPUT]]) -> Vec<Prediction> {
        let empty = Prediction {
            class: 0,
            classes: 0,
            logits: [0; MAX_CLASSES],
        };
        // Each task writes its own slice of the result: no per-task vectors to stitch.
        let mut out = vec![empty; images.len()];
        out.par_chunks_mut(PAR_CHUNK)
            .zip(images.par_chunks(PAR_CHUNK))
            .for_each(|(out, images)| {
                let mut s = Box::new(Scratch::new());
                for (o, px) in out.iter_mut().zip(images) {
                    *o = self.infer_with(px, &mut s);
                }
            });
        out
    }
}

/// Whole 784-byte images of a flat pixel buffer (a trailing partial image is left out).
pub fn as_images(pixels: &[u8]) -> &[[u8; INPUT]] {
    pixels.as_chunks::<INPUT>().0
}
