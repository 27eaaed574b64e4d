//! The integer forward pass (`FORMAT.md`, "Inference"). No float, no heap, no panics:
//! a fixed `[u8; MAX_HIDDEN]` scratch on the stack and i32/i64 arithmetic that the decode-time
//! range checks keep exact (nothing overflows, nothing wraps).

use crate::file::le_i32s;
use crate::layout::{BLOCK_BYTES, BLOCK_BYTES16, GROUP};
use crate::{Model, INPUT, MAX_CLASSES, MAX_HIDDEN, ROW_BLOCK};

/// The result of one inference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Prediction {
    /// Index of the largest logit (the lowest index among equal maxima).
    pub class: u8,
    /// Number of valid entries in `logits`.
    pub classes: u8,
    /// Integer logits; entries at and beyond `classes` are 0.
    pub logits: [i32; MAX_CLASSES],
}

/// Index of the largest value, ties going to the lowest index (as numpy's argmax); 0 for
/// no values. The one argmax of the workspace: integer logits here, float scores on the host.
pub fn argmax<T: PartialOrd + Copy>(values: impl IntoIterator<Item = T>) -> usize {
    let mut best: Option<(usize, T)> = None;
    for (i, v) in values.into_iter().enumerate() {
        // Strictly greater replaces: ties go to the lowest index.
        if best.is_none_or(|(_, b)| v > b) {
            best = Some((i, v));
        }
    }
    best.map_or(0, |(i, _)| i)
}

impl Prediction {
    /// The prediction for `logits`, of which the first `classes` (clamped to
    /// 1..=MAX_CLASSES) are valid: the rest are zeroed, and the class is the index of the
    /// largest valid logit, ties going to the lowest index. Every forward pass (this crate's
    /// and the host's batched engine) ends here, so they classify alike.
    pub fn from_logits(mut logits: [i32; MAX_CLASSES], classes: usize) -> Self {
        let classes = classes.clamp(1, MAX_CLASSES);
        logits.iter_mut().skip(classes).for_each(|l| *l = 0);
        let class = argmax(logits.iter().take(classes).copied());
        Prediction {
            class: class as u8,
            classes: classes as u8,
            logits,
        }
    }

    /// The first `classes` logits.
    pub fn logits(&self) -> &[i32] {
        self.logits
            .get(..usize::from(self.classes))
            .unwrap_or(&self.logits)
    }
}

/// Fixed-point requantisation of one hidden accumulator to an unsigned 8-bit activation:
/// `clamp((acc * multiplier + 2^(shift-1)) >> shift, 0, 255)` in i64 with an arithmetic
/// (flooring) shift, i.e. round half up. The clamp at 0 is the ReLU. `shift` is clamped to
/// 1..=62 (decoded models always satisfy that).
#[inline]
pub fn requantize(acc: i32, multiplier: i32, shift: u8) -> u8 {
    let shift = u32::from(shift.clamp(*crate::SHIFT_RANGE.start(), *crate::SHIFT_RANGE.end()));
    // |acc * multiplier| < 2^62 and the rounding term is <= 2^61: no i64 overflow.
    let product = i64::from(acc) * i64::from(multiplier);
    // ReLU early: product <= 0 gives product + 2^(shift-1) < 2^shift, which floors to <= 0
    // and clamps to 0. (Same result as below, about half the work skipped on the chip.)
    if product <= 0 {
        return 0;
    }
    // Positive from here, so the unsigned shift equals the arithmetic one.
    let rounded = (product as u64 + (1u64 << (shift - 1))) >> shift;
    rounded.min(255) as u8
}

/// Sum of `x[i] * w[i]` (u8 activations times int8 weights) over the common length.
/// Bounded by 1024 * 255 * 128 < 2^25 for any slice a decoded model passes in.
#[inline]
fn dot(x: &[u8], w: &[u8]) -> i32 {
    x.iter()
        .zip(w)
        .map(|(&x, &w)| i32::from(x) * i32::from(w as i8))
        .sum()
}

impl Model<'_> {
    /// Classify one image of raw 0..=255 pixels (the mean-image subtraction and the /255 are
    /// folded into the layer-1 weights and biases). Integer only, no heap, cannot panic.
    pub fn infer(&self, pixels: &[u8; INPUT]) -> Prediction {
        let hidden_len = self.dims.hidden.min(MAX_HIDDEN);
        let mut scratch = [0u8; MAX_HIDDEN];

        // Layer 1 into the scratch, by the kernel for the stored layout.
        if self.layout.is_blocked() {
            self.layer1_blocks(pixels, &mut scratch);
        } else {
            self.layer1_rows(pixels, &mut scratch);
        }
        let hidden = scratch.get(..hidden_len).unwrap_or(&scratch);

        // Layer 2: one per-tensor scale, so logits of all classes are directly comparable.
        let mut logits = [0i32; MAX_CLASSES];
        for ((logit, row), bias) in logits
            .iter_mut()
            .zip(self.w2.chunks_exact(hidden_len.max(1)))
            .zip(le_i32s(self.b2))
        {
            *logit = bias + dot(hidden, row);
        }

        Prediction::from_logits(logits, self.dims.classes)
    }
}

/// Layer-1 accumulators of one layout-1 block: `acc[r] += Σ_i w[unit r][i] · x[i]` for the 4
/// units of `block` (784 groups of 16 bytes, see `FORMAT.md`). Portable version.
#[inline]
fn block_dot_portable(
    pixels: &[u8; INPUT],
    block: &[u8],
    mut acc: [i32; ROW_BLOCK],
) -> [i32; ROW_BLOCK] {
    for (x, group) in pixels
        .chunks_exact(GROUP)
        .zip(block.chunks_exact(ROW_BLOCK * GROUP))
    {
        for (a, w) in acc.iter_mut().zip(group.chunks_exact(GROUP)) {
            *a += dot(x, w);
        }
    }
    acc
}

#[cfg(mf_layout2)]
/// [`block_dot_portable`] for a layout-2 block: int16 weights, each unit's group stored in the
/// order (w0, w2, w1, w3).
#[inline]
fn block_dot16_portable(
    pixels: &[u8; INPUT],
    block: &[u8],
    mut acc: [i32; ROW_BLOCK],
) -> [i32; ROW_BLOCK] {
    for (x, group) in pixels
        .chunks_exact(GROUP)
        .zip(block.chunks_exact(ROW_BLOCK * GROUP * 2))
    {
        let &[x0, x1, x2, x3] = x else { continue };
        let xs = [x0, x2, x1, x3];
        for (a, w) in acc.iter_mut().zip(group.chunks_exact(GROUP * 2)) {
            *a += xs
                .iter()
                .zip(w.chunks_exact(2))
                .map(|(&x, w)| i32::from(x) * i32::from(i16::from_le_bytes([w[0], w[1]])))
                .sum::<i32>();
        }
    }
    acc
}

impl Model<'_> {
    /// Layer 1, layout 0: one contiguous 784-byte weight row per hidden unit.
    fn layer1_rows(&self, pixels: &[u8; INPUT], scratch: &mut [u8; MAX_HIDDEN]) {
        let params = le_i32s(self.b1).zip(le_i32s(self.multiplier).zip(self.shift));
        for ((h, row), (bias, (mult, &shift))) in scratch
            .iter_mut()
            .zip(self.w1.chunks_exact(INPUT))
            .zip(params)
        {
            *h = requantize(bias + dot(pixels, row), mult, shift);
        }
    }

    /// Layer 1, layouts 1 and 2: four hidden units per pass over the input. On Cortex-M with
    /// the DSP extension (and word-aligned weights, which the firmware arranges) the inner loop
    /// is SMLAD assembly; everywhere else the same sums in portable Rust. Integer sums are exact
    /// (no overflow, see `FORMAT.md`), so the order of additions cannot change the result.
    fn layer1_blocks(&self, pixels: &[u8; INPUT], scratch: &mut [u8; MAX_HIDDEN]) {
        // The input is widened once, here, for both layouts: one copy of `widen` in the
        // binary, written in place (returning the 1,576-byte array by value made the compiler
        // copy it with memcpy, ~1,000 instructions per inference).
        #[cfg(mf_dsp)]
        let mut buf = core::mem::MaybeUninit::uninit();
        #[cfg(mf_dsp)]
        let x = dsp::widen(pixels, &mut buf);
        #[cfg(not(mf_dsp))]
        let x = &();
        // One loop per layout: a layout test inside the loop would cost instructions on every
        // group.
        // Without `cfg(mf_layout2)` (bare metal without the feature `layout-smlad16`) the
        // decoder rejects layout 2, so only the layout-1 loop is compiled in.
        #[cfg(mf_layout2)]
        if self.layout == crate::Layout::Smlad16 {
            self.layer1_blocks_of::<true>(pixels, x, scratch);
            return;
        }
        self.layer1_blocks_of::<false>(pixels, x, scratch);
    }

    /// [`Model::layer1_blocks`] for layout 2 (`WIDE`) or layout 1; `widened` is the input
    /// as [`dsp::widen`] gives it (nothing without the DSP kernel).
    #[inline(always)]
    fn layer1_blocks_of<const WIDE: bool>(
        &self,
        pixels: &[u8; INPUT],
        widened: &Widened,
        scratch: &mut [u8; MAX_HIDDEN],
    ) {
        #[cfg(mf_dsp)]
        let aligned = dsp::aligned(self.w1);
        #[cfg(not(mf_dsp))]
        let _ = widened;
        let block_bytes = if WIDE { BLOCK_BYTES16 } else { BLOCK_BYTES };

        let mut biases = le_i32s(self.b1);
        let mut requant = le_i32s(self.multiplier).zip(self.shift);
        for (hs, block) in scratch
            .chunks_mut(ROW_BLOCK)
            .zip(self.w1.chunks_exact(block_bytes))
        {
            // Padding units (past `hidden`) start from 0 and are never stored.
            let mut init = [0i32; ROW_BLOCK];
            for a in init.iter_mut().take(hs.len()) {
                *a = biases.next().unwrap_or(0);
            }
            #[cfg(all(mf_dsp, mf_layout2))]
            let acc = match (aligned, WIDE) {
                (true, false) => dsp::block_dot(widened, block, init),
                (true, true) => dsp::block_dot16(widened, block, init),
                (false, false) => block_dot_portable(pixels, block, init),
                (false, true) => block_dot16_portable(pixels, block, init),
            };
            // WIDE is never true here (see `layer1_blocks`).
            #[cfg(all(mf_dsp, not(mf_layout2)))]
            let acc = if aligned {
                dsp::block_dot(widened, block, init)
            } else {
                block_dot_portable(pixels, block, init)
            };
            #[cfg(all(not(mf_dsp), mf_layout2))]
            let acc = if WIDE {
                block_dot16_portable(pixels, block, init)
            } else {
                block_dot_portable(pixels, block, init)
            };
            #[cfg(all(not(mf_dsp), not(mf_layout2)))]
            let acc = block_dot_portable(pixels, block, init);
            for (h, &a) in hs.iter_mut().zip(&acc) {
                if let Some((mult, &shift)) = requant.next() {
                    *h = requantize(a, mult, shift);
                }
            }
        }
    }
}

/// The widened input the DSP kernels read (`()` where there are none).
#[cfg(mf_dsp)]
type Widened = [u32; dsp::WIDE];
#[cfg(not(mf_dsp))]
type Widened = ();

/// The Cortex-M4/M7 (DSP extension) kernel: SXTB16 + SMLAD on halfword pairs.
#[cfg(mf_dsp)]
mod dsp {
    #[cfg(mf_layout2)]
    use super::BLOCK_BYTES16;
    use super::{BLOCK_BYTES, GROUP, INPUT, ROW_BLOCK};

    /// Input words per group: (x0 | x2 << 16) and (x1 | x3 << 16).
    const WORDS: usize = 2 * INPUT / GROUP;
    /// The widened input: `WORDS` words, then two `SENTINEL` words that end the layout-2 loop.
    pub(super) const WIDE: usize = WORDS + 2;
    /// Never a pixel pair (those are at most 0x00FF_00FF).
    const SENTINEL: u32 = u32::MAX;

    /// The pixels widened once per inference to u16 pairs in the order SXTB16 produces the
    /// weights: for each group of 4 pixels, (x0 | x2 << 16) then (x1 | x3 << 16); then two
    /// [`SENTINEL`] words (only the layout-2 kernel reads them). Written into `out` in place
    /// and returned as a reference: a by-value return was copied (a 1,576-byte memcpy).
    #[inline]
    pub(super) fn widen<'a>(
        pixels: &[u8; INPUT],
        out: &'a mut core::mem::MaybeUninit<[u32; WIDE]>,
    ) -> &'a [u32; WIDE] {
        let src = pixels.as_ptr();
        let dst = out.as_mut_ptr().cast::<u32>();
        if (src as usize).is_multiple_of(4) {
            // SAFETY: reads INPUT bytes from the word-aligned `pixels` (196 words) and writes
            // the first WORDS words of `out` (2 per pixel word; `out` is a word-aligned array
            // of WIDE > WORDS words). Writes only its register operands, the flags and `out`;
            // no stack.
            unsafe {
                core::arch::asm!(
                    "2:",
                    ".rept 4",
                    "ldr {p}, [{src}], #4",
                    "and {a}, {p}, {mask}",
                    "and {b}, {mask}, {p}, lsr #8",
                    "strd {a}, {b}, [{dst}], #8",
                    ".endr",
                    "cmp {src}, {end}",
                    "bne 2b",
                    src = inout(reg) src => _,
                    dst = inout(reg) dst => _,
                    end = in(reg) src.add(INPUT),
                    mask = in(reg) 0x00FF_00FFu32,
                    p = out(reg) _,
                    a = out(reg) _,
                    b = out(reg) _,
                    options(nostack),
                );
            }
        } else {
            // Unaligned pixels (possible from a byte buffer): the same words, bytewise.
            for (k, px) in pixels.chunks_exact(GROUP).enumerate() {
                if let Ok(px) = <[u8; 4]>::try_from(px) {
                    let p = u32::from_le_bytes(px);
                    // SAFETY: k < INPUT / GROUP, so 2k + 1 < WORDS < WIDE: inside `out`.
                    unsafe {
                        dst.add(2 * k).write(p & 0x00FF_00FF);
                        dst.add(2 * k + 1).write((p >> 8) & 0x00FF_00FF);
                    }
                }
            }
        }
        // SAFETY: words WORDS and WORDS + 1 are the last two of `out`; with the WORDS words
        // written above (every group of the exact INPUT / GROUP chunks), all of `out` is
        // initialised, so it may be read as an array.
        unsafe {
            dst.add(WORDS).write(SENTINEL);
            dst.add(WORDS + 1).write(SENTINEL);
            out.assume_init_ref()
        }
    }

    const _: () = assert!((INPUT / GROUP).is_multiple_of(4));

    /// LDRD needs word-aligned addresses (an unaligned one faults); blocks are 3,136 bytes,
    /// so if `w1` starts aligned every block does.
    #[inline]
    pub(super) fn aligned(w1: &[u8]) -> bool {
        (w1.as_ptr() as usize).is_multiple_of(4)
    }

    /// Groups per unrolled loop iteration (784 / 4 = 196 = 28 x 7).
    const UNROLL: usize = 7;
    const _: () = assert!((INPUT / GROUP).is_multiple_of(UNROLL));

    /// `acc[r] + Σ_i w[r][i] · x[i]` for one block. `block` must be word-aligned and
    /// `BLOCK_BYTES` long (anything else returns `acc` unchanged, which never happens: the
    /// caller checks alignment and iterates `chunks_exact(BLOCK_BYTES)`).
    ///
    /// Per group of 4 inputs: one LDRD of the input pair words, two LDRD of the 4 units'
    /// weight words, and per unit SXTB16 / SMLAD / SXTB16 ROR #8 / SMLAD: 19 instructions
    /// for 16 multiply-accumulates. SMLAD adds without saturating; the sums are exact.
    #[inline]
    pub(super) fn block_dot(
        x: &[u32; WIDE],
        block: &[u8],
        acc: [i32; ROW_BLOCK],
    ) -> [i32; ROW_BLOCK] {
        if block.len() != BLOCK_BYTES || !(block.as_ptr() as usize).is_multiple_of(4) {
            return acc;
        }
        let [mut a0, mut a1, mut a2, mut a3] = acc;
        let px = x.as_ptr();
        // SAFETY: the loop reads exactly WORDS words from `x` (196 groups x 2 words, via `px`
        // up to `end`) and BLOCK_BYTES bytes from `block` (196 groups x 16 bytes), both
        // word-aligned (checked above / by the array type). It writes only its register
        // operands and the flags, touches no stack, and leaves the pointers advanced.
        unsafe {
            let end = px.add(WORDS);
            core::arch::asm!(
                "2:",
                ".rept {unroll}",
                "ldrd {x0}, {x1}, [{px}], #8",
                "ldrd {wa}, {wb}, [{pw}], #8",
                "sxtb16 {t}, {wa}",
                "smlad {a0}, {t}, {x0}, {a0}",
                "sxtb16 {wa}, {wa}, ror #8",
                "smlad {a0}, {wa}, {x1}, {a0}",
                "sxtb16 {t}, {wb}",
                "smlad {a1}, {t}, {x0}, {a1}",
                "sxtb16 {wb}, {wb}, ror #8",
                "smlad {a1}, {wb}, {x1}, {a1}",
                "ldrd {wa}, {wb}, [{pw}], #8",
                "sxtb16 {t}, {wa}",
                "smlad {a2}, {t}, {x0}, {a2}",
                "sxtb16 {wa}, {wa}, ror #8",
                "smlad {a2}, {wa}, {x1}, {a2}",
                "sxtb16 {t}, {wb}",
                "smlad {a3}, {t}, {x0}, {a3}",
                "sxtb16 {wb}, {wb}, ror #8",
                "smlad {a3}, {wb}, {x1}, {a3}",
                ".endr",
                "cmp {px}, {end}",
                "bne 2b",
                a0 = inout(reg) a0,
                a1 = inout(reg) a1,
                a2 = inout(reg) a2,
                a3 = inout(reg) a3,
                px = inout(reg) px => _,
                pw = inout(reg) block.as_ptr() => _,
                end = in(reg) end,
                x0 = out(reg) _,
                x1 = out(reg) _,
                wa = out(reg) _,
                wb = out(reg) _,
                t = out(reg) _,
                unroll = const UNROLL,
                options(pure, readonly, nostack),
            );
        }
        [a0, a1, a2, a3]
    }

    #[cfg(mf_layout2)]
    /// [`block_dot`] for a layout-2 block (`BLOCK_BYTES16` long, word-aligned; anything else
    /// returns `acc` unchanged, which never happens for the same reasons).
    ///
    /// The weights are already the int16 pairs SMLAD needs, so per group of 4 inputs: one LDRD
    /// of the input pair words and two LDM of 4 weight words (2 units each), then one SMLAD
    /// per unit and pair: 11 instructions for 16 multiply-accumulates (19 in layout 1). LDM
    /// needs an ascending register list, hence the explicit r0-r3. The 13th register a plain
    /// `px != end` loop would need is saved by loading the next group's inputs at the end of
    /// each group and stopping on the sentinel word `widen` puts after the input words.
    #[inline]
    pub(super) fn block_dot16(
        x: &[u32; WIDE],
        block: &[u8],
        acc: [i32; ROW_BLOCK],
    ) -> [i32; ROW_BLOCK] {
        if block.len() != BLOCK_BYTES16 || !(block.as_ptr() as usize).is_multiple_of(4) {
            return acc;
        }
        let [mut a0, mut a1, mut a2, mut a3] = acc;
        // SAFETY: the loop reads the WORDS input words and the 2 sentinel words of `x` (a
        // 28 x 7 groups pass, the last group's LDRD reading the sentinels, at which point the
        // loop stops: no pixel pair equals SENTINEL) and BLOCK_BYTES16 bytes from `block`
        // (196 groups x 32 bytes), both word-aligned (checked above / by the array type). It
        // writes only its register operands (r0-r3 declared clobbered) and the flags, touches
        // no stack.
        unsafe {
            core::arch::asm!(
                "ldrd {x0}, {x1}, [{px}], #8",
                "2:",
                ".rept {unroll}",
                "ldm {pw}!, {{r0, r1, r2, r3}}",
                "smlad {a0}, r0, {x0}, {a0}",
                "smlad {a0}, r1, {x1}, {a0}",
                "smlad {a1}, r2, {x0}, {a1}",
                "smlad {a1}, r3, {x1}, {a1}",
                "ldm {pw}!, {{r0, r1, r2, r3}}",
                "smlad {a2}, r0, {x0}, {a2}",
                "smlad {a2}, r1, {x1}, {a2}",
                "smlad {a3}, r2, {x0}, {a3}",
                "smlad {a3}, r3, {x1}, {a3}",
                "ldrd {x0}, {x1}, [{px}], #8",
                ".endr",
                "cmn {x0}, #1",
                "bne 2b",
                a0 = inout(reg) a0,
                a1 = inout(reg) a1,
                a2 = inout(reg) a2,
                a3 = inout(reg) a3,
                px = inout(reg) x.as_ptr() => _,
                pw = inout(reg) block.as_ptr() => _,
                x0 = out(reg) _,
                x1 = out(reg) _,
                out("r0") _,
                out("r1") _,
                out("r2") _,
                out("r3") _,
                unroll = const UNROLL,
                options(pure, readonly, nostack),
            );
        }
        [a0, a1, a2, a3]
    }
}
