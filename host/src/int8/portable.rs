//! The portable kernel: plain Rust over the packed weights (any CPU). Same algorithm and
//! the same exact integers as the AVX2 kernel; LLVM vectorises the inner loops for the
//! baseline instruction set.

use super::layer1::{NonzeroPairs, PackedLayer1, Scratch};
use super::{Int8Engine, Kernel, LANES, MAX_CLASSES, TILE_VECTORS, V8};
use model_format::{requantize, INPUT, MAX_HIDDEN};

/// Low and high i16 halves of a packed pair, widened.
#[inline]
fn halves(pair: i32) -> (i32, i32) {
    (i32::from(pair as i16), pair >> 16)
}

pub(super) fn layer1(l1: &PackedLayer1, nz: &NonzeroPairs, acc: &mut [V8]) {
    let mut rest = acc;
    for tile in &l1.tiles {
        let n = tile.vectors.min(TILE_VECTORS);
        let (out, tail) = rest.split_at_mut(n.min(rest.len()));
        rest = tail;
        let mut a = [[0i32; LANES]; TILE_VECTORS];
        for (a, b) in a.iter_mut().zip(&tile.bias) {
            *a = b.0;
        }
        for (p, x) in nz.pairs() {
            let (x0, x1) = halves(x);
            let row = tile.rows.get(p * n..(p + 1) * n).unwrap_or(&[]);
            for (a, w) in a.iter_mut().zip(row) {
                for (a, w) in a.iter_mut().zip(w.0.as_chunks::<2>().0) {
                    *a += x0 * i32::from(w[0]) + x1 * i32::from(w[1]);
                }
            }
        }
        for (o, a) in out.iter_mut().zip(a) {
            o.0 = a;
        }
    }
}

pub(super) fn infer(
    e: &Int8Engine,
    pixels: &[u8; INPUT],
    s: &mut Scratch,
    logits: &mut [i32; MAX_CLASSES],
) {
    let acc = e.layer1.accumulate_into(Kernel::Portable, pixels, s);
    let mut hidden = [0u8; MAX_HIDDEN];
    let r = &e.requant;
    for ((h, a), (&m, &sh)) in hidden
        .iter_mut()
        .zip(acc.iter().flat_map(|v| v.0))
        .zip(r.multiplier.iter().zip(&r.shift))
    {
        *h = requantize(a, m, sh);
    }

    let mut out = [e.layer2.bias[0].0, e.layer2.bias[1].0];
    for (h, w) in hidden.as_chunks::<2>().0.iter().zip(&e.layer2.w) {
        let (h0, h1) = (i32::from(h[0]), i32::from(h[1]));
        for (o, w) in out.iter_mut().zip(w) {
            for (o, &w) in o.iter_mut().zip(&w.0) {
                let (w0, w1) = halves(w);
                *o += h0 * w0 + h1 * w1;
            }
        }
    }
    for (l, o) in logits.iter_mut().zip(out.iter().flatten()) {
        *l = *o;
    }
}
