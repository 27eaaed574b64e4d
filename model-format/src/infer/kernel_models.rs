//! Host-side models of the chip kernels' data movement: each test replays, in Rust, the loads,
//! pointer steps and loop ends of one assembly kernel (same offsets, same unrolling, same
//! wrapping arithmetic) on random blocks and pixels, and compares with the portable kernel.
//! They catch an offset or a loop bound written wrong in the asm's design; the asm itself is
//! proven in QEMU (`tests/tests/kernel_parity.rs` and the batch runs of BENCHMARKS.md).

use std::vec::Vec;

use super::portable;
use crate::layout::{BLOCK_BYTES, GROUP};
use crate::{INPUT, ROW_BLOCK};

/// Groups per loop iteration in every chip kernel.
const UNROLL: usize = 7;

/// xorshift64: deterministic test data without dependencies.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    /// Bytes with the extremes (0, 127, 128, 255) often.
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n)
            .map(|_| match self.next() % 6 {
                0 => 0,
                1 => 127,
                2 => 128,
                3 => 255,
                _ => self.next() as u8,
            })
            .collect()
    }
}

/// Pixels, `w1` of whole blocks, and each block's starting accumulators.
type Case = ([u8; INPUT], Vec<u8>, Vec<[i32; ROW_BLOCK]>);

/// Random pixels, blocks and starting accumulators (one all-255 image among them).
fn cases(blocks: usize) -> Vec<Case> {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    (0..6)
        .map(|n| {
            let mut pixels: [u8; INPUT] = rng.bytes(INPUT).try_into().unwrap();
            if n == 0 {
                pixels = [255; INPUT];
            }
            let w1 = rng.bytes(blocks * BLOCK_BYTES);
            let init = (0..blocks)
                .map(|_| core::array::from_fn(|_| (rng.next() % 2_000_001) as i32 - 1_000_000))
                .collect();
            (pixels, w1, init)
        })
        .collect()
}

fn portable_all(pixels: &[u8; INPUT], w1: &[u8], init: &[[i32; ROW_BLOCK]]) -> Vec<[i32; 4]> {
    w1.chunks_exact(BLOCK_BYTES)
        .zip(init)
        .map(|(b, &a)| portable::block_dot(pixels, b, a))
        .collect()
}

/// `armv7m`: widened words, LDM of 4 per group, LDRSB with post-increment, MLA.
#[test]
fn armv7m_data_movement() {
    for (pixels, w1, init) in cases(3) {
        let x: Vec<u32> = pixels.iter().map(|&p| u32::from(p)).collect();
        let got: Vec<_> = w1
            .chunks_exact(BLOCK_BYTES)
            .zip(&init)
            .map(|(block, &acc)| {
                let (mut a, mut px, mut pw) = (acc, 0, 0);
                loop {
                    for _ in 0..UNROLL {
                        let r = [x[px], x[px + 1], x[px + 2], x[px + 3]];
                        px += 4;
                        for acc in a.iter_mut() {
                            for &xk in &r {
                                let t = i32::from(block[pw] as i8);
                                pw += 1;
                                *acc = acc.wrapping_add(t.wrapping_mul(xk as i32));
                            }
                        }
                    }
                    if px == INPUT {
                        break;
                    }
                }
                a
            })
            .collect();
        assert_eq!(got, portable_all(&pixels, &w1, &init));
    }
}

/// `armv6m`: LDRB at `28 * iteration + g + k`, LDRSB at the weight pointer plus 0, 4, 8, 12,
/// the weight pointer stepping 1, 1, 1, 13 per group.
#[test]
fn armv6m_data_movement() {
    for (pixels, w1, init) in cases(3) {
        let got: Vec<_> = w1
            .chunks_exact(BLOCK_BYTES)
            .zip(&init)
            .map(|(block, &acc)| {
                let (mut a, mut r0, mut r1) = (acc, 0, 0);
                let offsets = [0, 4, 8, 12];
                loop {
                    for g in (0..UNROLL * GROUP).step_by(GROUP) {
                        for (k, step) in [(0, 1), (1, 1), (2, 1), (3, 13)] {
                            let x = i32::from(pixels[r0 + g + k]);
                            for (acc, off) in a.iter_mut().zip(offsets) {
                                let t = i32::from(block[r1 + off] as i8);
                                *acc = acc.wrapping_add(t.wrapping_mul(x));
                            }
                            r1 += step;
                        }
                    }
                    r0 += UNROLL * GROUP;
                    if r0 == INPUT {
                        break;
                    }
                }
                a
            })
            .collect();
        assert_eq!(got, portable_all(&pixels, &w1, &init));
    }
}

/// `riscv32`: two blocks per pass (immediate offsets `16 g + 4 unit + k`, pointers stepping
/// 112 and 28 per iteration), a trailing odd block alone.
#[test]
fn riscv32_data_movement() {
    for blocks in [1, 2, 3, 4] {
        for (pixels, w1, init) in cases(blocks) {
            let pass = |ptrs: &[usize], accs: &mut [[i32; ROW_BLOCK]]| {
                let (mut px, mut ps) = (0, ptrs.to_vec());
                loop {
                    for g in 0..UNROLL {
                        let x: [i32; 4] =
                            core::array::from_fn(|k| i32::from(pixels[px + 4 * g + k]));
                        for (acc, &p) in accs.iter_mut().zip(&ps) {
                            for (u, a) in acc.iter_mut().enumerate() {
                                for (k, &xk) in x.iter().enumerate() {
                                    let t = i32::from(w1[p + 16 * g + 4 * u + k] as i8);
                                    *a = a.wrapping_add(t.wrapping_mul(xk));
                                }
                            }
                        }
                    }
                    px += 4 * UNROLL;
                    ps.iter_mut().for_each(|p| *p += 16 * UNROLL);
                    if px == INPUT {
                        break;
                    }
                }
            };
            let mut got = init.clone();
            let mut b = 0;
            while b + 2 <= blocks {
                pass(
                    &[b * BLOCK_BYTES, (b + 1) * BLOCK_BYTES],
                    &mut got[b..b + 2],
                );
                b += 2;
            }
            if b < blocks {
                pass(&[b * BLOCK_BYTES], &mut got[b..b + 1]);
            }
            assert_eq!(got, portable_all(&pixels, &w1, &init), "{blocks} blocks");
        }
    }
}

/// SMLAD: `acc + lo(a) lo(b) + hi(a) hi(b)`, signed halfwords, wrapping.
fn smlad(a: u32, b: u32, acc: i32) -> i32 {
    let lo = i32::from(a as i16) * i32::from(b as i16);
    let hi = i32::from((a >> 16) as i16) * i32::from((b >> 16) as i16);
    acc.wrapping_add(lo).wrapping_add(hi)
}

/// SXTB16: bytes 0 and 2 sign-extended into the two halfwords.
fn sxtb16(w: u32) -> u32 {
    let lo = (w as u8 as i8 as i16) as u16;
    let hi = ((w >> 16) as u8 as i8 as i16) as u16;
    u32::from(lo) | (u32::from(hi) << 16)
}

/// `dsp`: pixels widened to the pairs (x0, x2) and (x1, x3), weight words through SXTB16 and
/// SXTB16 ROR #8, SMLAD.
#[test]
fn dsp_data_movement() {
    for (pixels, w1, init) in cases(3) {
        let x: Vec<u32> = pixels
            .chunks_exact(4)
            .flat_map(|p| {
                let p = u32::from_le_bytes([p[0], p[1], p[2], p[3]]);
                [p & 0x00FF_00FF, (p >> 8) & 0x00FF_00FF]
            })
            .collect();
        let got: Vec<_> = w1
            .chunks_exact(BLOCK_BYTES)
            .zip(&init)
            .map(|(block, &acc)| {
                let mut a = acc;
                for (xs, group) in x.chunks_exact(2).zip(block.chunks_exact(16)) {
                    for (acc, w) in a.iter_mut().zip(group.chunks_exact(4)) {
                        let w = u32::from_le_bytes([w[0], w[1], w[2], w[3]]);
                        *acc = smlad(sxtb16(w), xs[0], *acc);
                        *acc = smlad(sxtb16(w.rotate_right(8)), xs[1], *acc);
                    }
                }
                a
            })
            .collect();
        assert_eq!(got, portable_all(&pixels, &w1, &init));
    }
}
