//! Layer 1 packed in pixel pairs and hidden tiles, and its exact i32 accumulators.

use super::{Kernel, LANES, PAIRS, TILE_VECTORS, V8};

/// The int8 weights of one pixel pair for 8 hidden units, interleaved: bytes `2l` and `2l+1`
/// are unit `l`'s weights for the pair's two pixels. Sign-extended to i16 (`vpmovsxbw`) this is
/// exactly the i16-pair operand `vpmaddwd` wants, at half the memory traffic of storing i16s.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[repr(C, align(16))]
pub(super) struct W16(pub(super) [i8; 2 * LANES]);
use model_format::{INPUT, MAX_HIDDEN};

/// One tile of `vectors` x 8 hidden units: for each pixel pair `p`, `vectors` consecutive
/// [`W16`]s (`rows[p * vectors + v]`), vector `v` holding the weights of units
/// `first + 8v ..= first + 8v + 7` for pixels `2p` and `2p + 1`.
#[derive(Debug, Clone)]
pub(super) struct Tile {
    pub(super) vectors: usize,
    pub(super) rows: Vec<W16>,
    /// Accumulator start values (the biases), `vectors` of them.
    pub(super) bias: Vec<V8>,
}

/// Layer-1 weights and biases repacked for the engine (also used by the quantiser, which
/// needs the accumulators before requantisation).
#[derive(Debug, Clone)]
pub struct PackedLayer1 {
    hidden: usize,
    pub(super) tiles: Vec<Tile>,
}

/// The nonzero pixel pairs of one image: pair index and `x[2p] | x[2p+1] << 16`.
pub(super) struct NonzeroPairs {
    pub(super) index: [u32; PAIRS],
    pub(super) value: [i32; PAIRS],
    pub(super) len: usize,
}

impl NonzeroPairs {
    pub(super) fn new() -> NonzeroPairs {
        NonzeroPairs {
            index: [0; PAIRS],
            value: [0; PAIRS],
            len: 0,
        }
    }

    /// The nonzero pairs of `pixels`, with the fastest method `kernel` allows.
    pub(super) fn fill(&mut self, kernel: Kernel, pixels: &[u8; INPUT]) {
        match kernel {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `Kernel::Avx2` only exists where the CPU has AVX2 (see `Kernel::detect`).
            Kernel::Avx2 => unsafe { super::x86::nonzero_pairs(pixels, self) },
            _ => self.fill_portable(pixels),
        }
    }

    fn fill_portable(&mut self, pixels: &[u8; INPUT]) {
        self.len = 0;
        // Branch-free compaction: always write, advance only past nonzero pairs.
        for (p, px) in pixels.as_chunks::<2>().0.iter().enumerate() {
            let v = i32::from(px[0]) | (i32::from(px[1]) << 16);
            let at = self.len.min(PAIRS - 1);
            self.index[at] = p as u32;
            self.value[at] = v;
            self.len += usize::from(v != 0);
        }
    }

    pub(super) fn pairs(&self) -> impl Iterator<Item = (usize, i32)> + '_ {
        let len = self.len.min(PAIRS);
        self.index[..len]
            .iter()
            .zip(&self.value[..len])
            .map(|(&i, &v)| (i as usize, v))
    }
}

/// Per-image working memory, reused across a batch (zeroing ~9 KB per image is measurable).
pub(super) struct Scratch {
    pub(super) nz: NonzeroPairs,
    pub(super) acc: [V8; MAX_HIDDEN / LANES],
    /// Hidden activations as pairs `h[2q] | h[2q+1] << 16` (AVX2 layer 2).
    pub(super) pairs: [i32; MAX_HIDDEN / 2],
}

impl Scratch {
    pub(super) fn new() -> Scratch {
        Scratch {
            nz: NonzeroPairs::new(),
            acc: [V8::default(); MAX_HIDDEN / LANES],
            pairs: [0; MAX_HIDDEN / 2],
        }
    }
}

impl PackedLayer1 {
    /// Pack `hidden` units of hidden-major weights `w1[j * 784 + i]` and biases `b1[j]`.
    /// Missing entries (short slices) count as 0; callers pass consistent lengths.
    pub fn new(w1: &[i8], b1: &[i32], hidden: usize) -> PackedLayer1 {
        let weight = |j: usize, i: usize| -> i8 {
            if j < hidden {
                w1.get(j * INPUT + i).copied().unwrap_or(0)
            } else {
                0
            }
        };
        let vectors = hidden.div_ceil(LANES).max(1);
        let mut tiles = Vec::new();
        let mut first_vector = 0;
        while first_vector < vectors {
            let n = (vectors - first_vector).min(TILE_VECTORS);
            let first = first_vector * LANES;
            let mut rows = vec![W16::default(); PAIRS * n];
            for (p, row) in rows.chunks_exact_mut(n).enumerate() {
                for (v, vec) in row.iter_mut().enumerate() {
                    for (l, lane) in vec.0.chunks_exact_mut(2).enumerate() {
                        let j = first + v * LANES + l;
                        lane[0] = weight(j, 2 * p);
                        lane[1] = weight(j, 2 * p + 1);
                    }
                }
            }
            let bias = (0..n)
                .map(|v| {
                    V8(std::array::from_fn(|l| {
                        let j = first + v * LANES + l;
                        if j < hidden {
                            b1.get(j).copied().unwrap_or(0)
                        } else {
                            0
                        }
                    }))
                })
                .collect();
            tiles.push(Tile {
                vectors: n,
                rows,
                bias,
            });
            first_vector += n;
        }
        PackedLayer1 { hidden, tiles }
    }

    /// Hidden units (before padding).
    pub fn hidden(&self) -> usize {
        self.hidden
    }

    /// Hidden units after padding to whole vectors.
    pub(super) fn padded(&self) -> usize {
        self.tiles.iter().map(|t| t.vectors * LANES).sum()
    }

    /// `b1[j] + sum_i x[i] * w1[j][i]` for every hidden unit, exactly (the i32 accumulators
    /// of [`model_format::Model::infer`] before requantisation), into `out[..hidden]`.
    pub fn accumulate(&self, pixels: &[u8; INPUT], out: &mut [i32]) {
        let mut s = Box::new(Scratch::new());
        let acc = self.accumulate_into(Kernel::detect(), pixels, &mut s);
        for (o, &a) in out.iter_mut().zip(acc.iter().flat_map(|v| &v.0)) {
            *o = a;
        }
    }

    /// [`PackedLayer1::accumulate`] for a batch: `hidden` accumulators per image,
    /// image-major (`out[n * hidden + j]`), on the calling thread.
    pub fn accumulate_images(&self, images: &[[u8; INPUT]]) -> Vec<i32> {
        let kernel = Kernel::detect();
        let mut s = Box::new(Scratch::new());
        let mut out = Vec::with_capacity(images.len() * self.hidden);
        for px in images {
            let acc = self.accumulate_into(kernel, px, &mut s);
            out.extend(acc.iter().flat_map(|v| v.0).take(self.hidden));
        }
        out
    }

    /// Accumulators of all padded units (`padded / 8` vectors) in `s.acc`.
    pub(super) fn accumulate_into<'s>(
        &self,
        kernel: Kernel,
        pixels: &[u8; INPUT],
        s: &'s mut Scratch,
    ) -> &'s [V8] {
        s.nz.fill(kernel, pixels);
        let vectors = (self.padded() / LANES).min(s.acc.len());
        let acc = &mut s.acc[..vectors];
        match kernel {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: callers pass `Kernel::Avx2` only from `Kernel::detect()` or an engine
            // whose kernel was checked against it, i.e. when the CPU has AVX2.
            Kernel::Avx2 => unsafe { super::x86::layer1(self, &s.nz, acc) },
            _ => super::portable::layer1(self, &s.nz, acc),
        }
        acc
    }
}
