//! The AVX2 kernel (`std::arch::x86_64`). Every function here is compiled with AVX2 enabled
//! and may only be called once the CPU is known to have it (see `Kernel::detect`).

use std::arch::x86_64::*;

use super::layer1::{NonzeroPairs, PackedLayer1, Scratch, Tile, W16};
use super::{Int8Engine, Kernel, Requant, V4x64, LANES, MAX_CLASSES, V8};
use model_format::{INPUT, MAX_HIDDEN};

#[target_feature(enable = "avx2")]
#[inline]
fn load(v: &V8) -> __m256i {
    // SAFETY: `V8` is 32 bytes with 32-byte alignment, and the reference is valid.
    unsafe { _mm256_load_si256((v as *const V8).cast()) }
}

#[target_feature(enable = "avx2")]
#[inline]
fn load64(v: &V4x64) -> __m256i {
    // SAFETY: `V4x64` is 32 bytes with 32-byte alignment, and the reference is valid.
    unsafe { _mm256_load_si256((v as *const V4x64).cast()) }
}

#[target_feature(enable = "avx2")]
#[inline]
fn store(v: &mut V8, x: __m256i) {
    // SAFETY: as for `load`, and the reference is unique.
    unsafe { _mm256_store_si256((v as *mut V8).cast(), x) }
}

/// Layer-1 accumulators of all padded hidden units.
#[target_feature(enable = "avx2")]
pub(super) fn layer1(l1: &PackedLayer1, nz: &NonzeroPairs, acc: &mut [V8]) {
    let mut rest = acc;
    for tile in &l1.tiles {
        let (dst, tail) = rest.split_at_mut(tile.vectors.min(rest.len()));
        rest = tail;
        // One monomorphised loop per tile width keeps the accumulators in registers.
        match tile.vectors {
            1 => tile_n::<1>(tile, nz, dst),
            2 => tile_n::<2>(tile, nz, dst),
            3 => tile_n::<3>(tile, nz, dst),
            4 => tile_n::<4>(tile, nz, dst),
            5 => tile_n::<5>(tile, nz, dst),
            6 => tile_n::<6>(tile, nz, dst),
            7 => tile_n::<7>(tile, nz, dst),
            8 => tile_n::<8>(tile, nz, dst),
            9 => tile_n::<9>(tile, nz, dst),
            10 => tile_n::<10>(tile, nz, dst),
            11 => tile_n::<11>(tile, nz, dst),
            _ => tile_n::<12>(tile, nz, dst),
        }
    }
}

#[target_feature(enable = "avx2")]
fn tile_n<const N: usize>(tile: &Tile, nz: &NonzeroPairs, dst: &mut [V8]) {
    let rows = tile.rows.as_chunks::<N>().0;
    let mut a: [__m256i; N] = std::array::from_fn(|v| match tile.bias.get(v) {
        Some(b) => load(b),
        None => _mm256_setzero_si256(),
    });
    for (p, x) in nz.pairs() {
        let Some(row) = rows.get(p) else { continue };
        let x = _mm256_set1_epi32(x);
        for (a, w) in a.iter_mut().zip(row) {
            // x0*w0 + x1*w1 per i32 lane: exact (|sum| <= 2 * 255 * 128).
            // SAFETY: `W16` is 16 bytes with 16-byte alignment, and the reference is valid.
            let w = _mm256_cvtepi8_epi16(unsafe { _mm_load_si128((w as *const W16).cast()) });
            *a = _mm256_add_epi32(*a, _mm256_madd_epi16(x, w));
        }
    }
    for (d, a) in dst.iter_mut().zip(a) {
        store(d, a);
    }
}

/// Requantise 8 units per step into hidden *pairs* `h[2q] | h[2q+1] << 16` for layer 2.
///
/// `(acc * m + 2^(s-1)) >> s` clamped to 0..=255, in i64 like `model_format::requantize`.
/// AVX2 has no variable arithmetic 64-bit shift, but none is needed: a negative sum floors
/// to a negative number, which the clamp makes 0 anyway, so negative sums are zeroed and
/// the others shifted logically (identical for non-negative values).
#[target_feature(enable = "avx2")]
fn requant(r: &Requant, acc: &[V8], pairs: &mut [i32]) {
    let zero = _mm256_setzero_si256();
    let max = _mm256_set1_epi64x(255);
    // Gathers the low i32 of each i64 lane into the low 128 bits.
    let compact = _mm256_setr_epi32(0, 2, 4, 6, 0, 2, 4, 6);
    let per_vector = r
        .mult_v
        .iter()
        .zip(r.round_even.iter().zip(&r.round_odd))
        .zip(r.shift_even.iter().zip(&r.shift_odd));
    for ((a, ((m, (re, ro)), (se, so))), out) in
        acc.iter().zip(per_vector).zip(pairs.as_chunks_mut::<4>().0)
    {
        let (a, m) = (load(a), load(m));
        // `_mm256_mul_epi32` multiplies the (signed) low i32 of each i64 lane.
        let even = _mm256_mul_epi32(a, m);
        let odd = _mm256_mul_epi32(_mm256_srli_epi64::<32>(a), _mm256_srli_epi64::<32>(m));
        let finish = |product: __m256i, round: &V4x64, shift: &V4x64| {
            let t = _mm256_add_epi64(product, load64(round));
            let q = _mm256_srlv_epi64(t, load64(shift));
            let q = _mm256_andnot_si256(_mm256_cmpgt_epi64(zero, t), q);
            _mm256_blendv_epi8(q, max, _mm256_cmpgt_epi64(q, max))
        };
        let (he, ho) = (finish(even, re, se), finish(odd, ro, so));
        let packed =
            _mm256_permutevar8x32_epi32(_mm256_or_si256(he, _mm256_slli_epi64::<16>(ho)), compact);
        // SAFETY: `out` is a valid, unique `[i32; 4]` (16 bytes); the store is unaligned.
        unsafe { _mm_storeu_si128(out.as_mut_ptr().cast(), _mm256_castsi256_si128(packed)) };
    }
}

/// Layer 2 from hidden pairs: 16 class lanes in two vectors, two independent chains each.
#[target_feature(enable = "avx2")]
fn layer2(e: &Int8Engine, pairs: &[i32], logits: &mut [i32; MAX_CLASSES]) {
    let l2 = &e.layer2;
    let mut acc = [
        load(&l2.bias[0]),
        load(&l2.bias[1]),
        _mm256_setzero_si256(),
        _mm256_setzero_si256(),
    ];
    let (pairs2, rest) = pairs.as_chunks::<2>();
    let (w2, wrest) = l2.w.as_chunks::<2>();
    for (h, w) in pairs2.iter().zip(w2) {
        let (x0, x1) = (_mm256_set1_epi32(h[0]), _mm256_set1_epi32(h[1]));
        acc[0] = _mm256_add_epi32(acc[0], _mm256_madd_epi16(x0, load(&w[0][0])));
        acc[1] = _mm256_add_epi32(acc[1], _mm256_madd_epi16(x0, load(&w[0][1])));
        acc[2] = _mm256_add_epi32(acc[2], _mm256_madd_epi16(x1, load(&w[1][0])));
        acc[3] = _mm256_add_epi32(acc[3], _mm256_madd_epi16(x1, load(&w[1][1])));
    }
    for (&h, w) in rest.iter().zip(wrest) {
        let x = _mm256_set1_epi32(h);
        acc[0] = _mm256_add_epi32(acc[0], _mm256_madd_epi16(x, load(&w[0])));
        acc[1] = _mm256_add_epi32(acc[1], _mm256_madd_epi16(x, load(&w[1])));
    }
    let mut out = [V8::default(); 2];
    store(&mut out[0], _mm256_add_epi32(acc[0], acc[2]));
    store(&mut out[1], _mm256_add_epi32(acc[1], acc[3]));
    for (l, o) in logits.iter_mut().zip(out.iter().flat_map(|v| v.0)) {
        *l = o;
    }
}

/// The nonzero pixel pairs of an image: 16 pairs per compare, then one step per set bit
/// (~88 of the 392 pairs in an MNIST digit) instead of a pass over every pair.
#[target_feature(enable = "avx2")]
pub(super) fn nonzero_pairs(pixels: &[u8; INPUT], nz: &mut NonzeroPairs) {
    let mut len = 0;
    // `mask` has bit 2k set when pair `base + k` is nonzero.
    let mut push = |mut mask: u32, base: usize| {
        while mask != 0 {
            let p = base + mask.trailing_zeros() as usize / 2;
            mask &= mask - 1;
            let (Some(&x0), Some(&x1)) = (pixels.get(2 * p), pixels.get(2 * p + 1)) else {
                break;
            };
            if let (Some(i), Some(v)) = (nz.index.get_mut(len), nz.value.get_mut(len)) {
                *i = p as u32;
                *v = i32::from(x0) | (i32::from(x1) << 16);
                len += 1;
            }
        }
    };
    let (chunks, tail) = pixels.as_chunks::<32>();
    for (c, chunk) in chunks.iter().enumerate() {
        // SAFETY: `chunk` is 32 readable bytes; the load is unaligned.
        let v = unsafe { _mm256_loadu_si256(chunk.as_ptr().cast()) };
        let zero = _mm256_movemask_epi8(_mm256_cmpeq_epi16(v, _mm256_setzero_si256())) as u32;
        push(!zero & 0x5555_5555, c * 16);
    }
    let (tail, _) = tail.as_chunks::<16>();
    for (c, chunk) in tail.iter().enumerate() {
        // SAFETY: `chunk` is 16 readable bytes; the load is unaligned.
        let v = unsafe { _mm_loadu_si128(chunk.as_ptr().cast()) };
        let zero = _mm_movemask_epi8(_mm_cmpeq_epi16(v, _mm_setzero_si128())) as u32;
        push(!zero & 0x5555, chunks.len() * 16 + c * 8);
    }
    nz.len = len;
}

/// One image through both layers.
#[target_feature(enable = "avx2")]
pub(super) fn infer(
    e: &Int8Engine,
    pixels: &[u8; INPUT],
    s: &mut Scratch,
    logits: &mut [i32; MAX_CLASSES],
) {
    let vectors = e.layer1.accumulate_into(Kernel::Avx2, pixels, s).len();
    let acc = &s.acc[..vectors.min(s.acc.len())];
    let pairs = &mut s.pairs[..(vectors * LANES / 2).min(MAX_HIDDEN / 2)];
    requant(&e.requant, acc, pairs);
    layer2(e, pairs, logits);
}
