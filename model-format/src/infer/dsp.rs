//! The kernel for Cortex-M cores with the DSP extension: thumbv7em (M4, M7) and thumbv8m.main
//! (M33, M35P, M55; the DSP extension is optional there but present on every such core this
//! project targets, e.g. the M33 of QEMU's mps2-an505): SXTB16 + SMLAD on halfword pairs.
//!
//! rustc does not let `cfg` see the DSP extension (`target_feature = "dsp"` is never set on
//! stable) and refuses SMLAD without `-C target-feature=+dsp`, which thumbv8m.main does not
//! enable by default (the extension is optional on Armv8-M). So the build script picks this
//! kernel by target name, and on thumbv8m.main every SMLAD asm block starts with the directive
//! `.cpu cortex-m33`, which tells the assembler the core has DSP for that block only (LLVM
//! knows no `.arch_extension dsp`; `.arch armv7e-m` would also work but relabels the object's
//! architecture). No flag for the user to remember.

use super::{portable, BlockIo};

/// The first line of every SMLAD asm block (see the module doc).
#[cfg(mf_dsp_v8m)]
macro_rules! enable_dsp {
    () => {
        ".cpu cortex-m33"
    };
}
/// The first line of every SMLAD asm block: nothing, thumbv7em has DSP.
#[cfg(not(mf_dsp_v8m))]
macro_rules! enable_dsp {
    () => {
        ""
    };
}
#[cfg(mf_layout2)]
use crate::layout::BLOCK_BYTES16;
use crate::layout::{BLOCK_BYTES, GROUP};
use crate::{INPUT, ROW_BLOCK};

/// Layer 1 of a layout-1 model: each block's accumulators, in order, into `io`. A list of
/// the nonzero 4-pixel groups is built once per inference ([`nonzero_groups`]); each block
/// then multiplies only those groups ([`block_dot_sparse`]), unless the list is longer than
/// [`DENSE_ABOVE`] groups, where the dense loop over all 196 is cheaper ([`block_dot`], on the
/// pixels widened once). Both write into one stack buffer, in place (returning a 1,576-byte
/// array by value made the compiler copy it with memcpy, ~1,000 instructions per inference).
/// Weights that are not word-aligned (LDRD faults on them; the firmware aligns its model)
/// take the portable kernel.
pub(super) fn layer1_smlad(pixels: &[u8; INPUT], w1: &[u8], io: &mut impl BlockIo) {
    if !aligned(w1) {
        return portable::layer1_smlad(pixels, w1, io);
    }
    layer1(
        pixels,
        w1,
        io,
        BLOCK_BYTES,
        DENSE_ABOVE,
        block_dot_sparse,
        block_dot,
    );
}

/// The layer-1 driver of both layouts: the sparse loop over `nonzero_groups`' list when it
/// has at most `dense_above` groups, else the dense loop over the widened pixels, one block
/// of `block_bytes` at a time. Inlined into each caller, so each keeps its own loops.
#[inline(always)]
fn layer1(
    pixels: &[u8; INPUT],
    w1: &[u8],
    io: &mut impl BlockIo,
    block_bytes: usize,
    dense_above: usize,
    sparse: impl Fn(&[u32], &[u8], [i32; ROW_BLOCK]) -> [i32; ROW_BLOCK],
    dense: impl Fn(&[u32; WIDE], &[u8], [i32; ROW_BLOCK]) -> [i32; ROW_BLOCK],
) {
    let mut buf = core::mem::MaybeUninit::uninit();
    if let Some(list) = nonzero_groups(pixels, &mut buf, dense_above) {
        for block in w1.chunks_exact(block_bytes) {
            let acc = sparse(list, block, io.init());
            io.store(acc);
        }
        return;
    }
    let x = widen(pixels, &mut buf);
    for block in w1.chunks_exact(block_bytes) {
        let acc = dense(x, block, io.init());
        io.store(acc);
    }
}

/// Layer 2, as [`portable::layer2`]: two rows (classes) per pass over the hidden
/// activations, 4 at a time: one LDR of 4 activations widened by UXTB16 to the pairs SMLAD
/// takes, per row one LDR of 4 weights, 2 SXTB16 and 2 SMLAD: 15 instructions for 8
/// multiply-accumulates (the plain loop took 19 for 4). Activations and rows must be
/// word-aligned for the word loads (the scratch is; rows are when `w2` is and the hidden
/// count is a multiple of 4, as in every model `train` makes); otherwise the portable loop.
pub(super) fn layer2(hidden: &[u8], w2: &[u8], logits: &mut [i32]) {
    let h = hidden.len();
    if h == 0
        || !h.is_multiple_of(GROUP)
        || !aligned(hidden)
        || !aligned(w2)
        || w2.len() < h * logits.len()
    {
        return portable::layer2(hidden, w2, logits);
    }
    let mut rows = w2.chunks_exact(h);
    let mut pairs = logits.chunks_exact_mut(2);
    for pair in &mut pairs {
        if let ([l0, l1], Some(r0), Some(r1)) = (pair, rows.next(), rows.next()) {
            (*l0, *l1) = dot_rows(hidden, r0, r1, (*l0, *l1));
        }
    }
    if let ([l], Some(r)) = (pairs.into_remainder(), rows.next()) {
        // The odd row pairs with itself: the second sum is discarded.
        (*l, _) = dot_rows(hidden, r, r, (*l, 0));
    }
}

/// `(acc.0 + hidden · r0, acc.1 + hidden · r1)`; all three word-aligned, the same length, a
/// multiple of 4 and nonzero (checked by [`layer2`]).
#[inline]
fn dot_rows(hidden: &[u8], r0: &[u8], r1: &[u8], acc: (i32, i32)) -> (i32, i32) {
    let (mut a0, mut a1) = acc;
    // SAFETY: reads hidden.len() bytes from each of the three word-aligned slices (one word
    // of each per iteration until `ph` reaches the end of `hidden`; the rows are as long,
    // checked by the caller's chunks_exact). Writes only its register operands and the
    // flags, no stack.
    unsafe {
        core::arch::asm!(
            enable_dsp!(),
            "2:",
            "ldr {h}, [{ph}], #4",
            "ldr {wa}, [{pa}], #4",
            "ldr {wb}, [{pb}], #4",
            "uxtb16 {x0}, {h}",
            "uxtb16 {x1}, {h}, ror #8",
            "sxtb16 {t}, {wa}",
            "smlad {a0}, {t}, {x0}, {a0}",
            "sxtb16 {wa}, {wa}, ror #8",
            "smlad {a0}, {wa}, {x1}, {a0}",
            "sxtb16 {t}, {wb}",
            "smlad {a1}, {t}, {x0}, {a1}",
            "sxtb16 {wb}, {wb}, ror #8",
            "smlad {a1}, {wb}, {x1}, {a1}",
            "cmp {ph}, {end}",
            "bne 2b",
            a0 = inout(reg) a0,
            a1 = inout(reg) a1,
            ph = inout(reg) hidden.as_ptr() => _,
            pa = inout(reg) r0.as_ptr() => _,
            pb = inout(reg) r1.as_ptr() => _,
            end = in(reg) hidden.as_ptr().add(hidden.len()),
            h = out(reg) _,
            x0 = out(reg) _,
            x1 = out(reg) _,
            wa = out(reg) _,
            wb = out(reg) _,
            t = out(reg) _,
            options(pure, readonly, nostack),
        );
    }
    (a0, a1)
}

/// Layer 1 of a layout-2 model (int16 weights), as [`layer1_smlad`].
#[cfg(mf_layout2)]
pub(super) fn layer1_smlad16(pixels: &[u8; INPUT], w1: &[u8], io: &mut impl BlockIo) {
    if !aligned(w1) {
        return portable::layer1_smlad16(pixels, w1, io);
    }
    layer1(
        pixels,
        w1,
        io,
        BLOCK_BYTES16,
        DENSE16_ABOVE,
        block_dot16_sparse,
        block_dot16,
    );
}

/// Input words per group: (x0 | x2 << 16) and (x1 | x3 << 16).
const WORDS: usize = 2 * INPUT / GROUP;
/// The widened input: `WORDS` words, then two `SENTINEL` words that end the layout-2 loop.
const WIDE: usize = WORDS + 2;
/// Never a pixel pair (those are at most 0x00FF_00FF).
const SENTINEL: u32 = u32::MAX;

/// Words of a list entry of [`nonzero_groups`]: the group's two input pair words (as
/// [`widen`] makes them) and its weights' byte offset in a block (16 per group).
const ENTRY: usize = 3;
/// Groups per unrolled iteration of the sparse loop; the list is padded to a multiple.
const SPARSE_UNROLL: usize = 4;
/// The list's room: every group, the padding, and the end entry.
const LIST_WORDS: usize = ENTRY * (INPUT / GROUP + SPARSE_UNROLL);
/// The one stack buffer of an inference: the list, or the widened input.
const BUF_WORDS: usize = if LIST_WORDS > WIDE { LIST_WORDS } else { WIDE };
type Buf = core::mem::MaybeUninit<[u32; BUF_WORDS]>;

/// Above this many nonzero groups the dense loop is cheaper. Per block, the sparse loop costs
/// 20 instructions a listed group (LDM of the entry, ADD of the address, then the dense
/// loop's 2 LDRD, 8 SXTB16 and 8 SMLAD), 0.5 of loop control and ~40 for the padding and
/// the start; the dense loop 196 x (19 + 2/7) = 3,780. Measured (QEMU, `qemu-eval`'s density
/// sweep) both meet here.
const DENSE_ABOVE: usize = 180;
/// The same for layout 2: 15 a listed group against the dense loop's 11 + 2/7.
#[cfg(mf_layout2)]
const DENSE16_ABOVE: usize = 140;

/// The nonzero 4-pixel groups of `pixels` as list entries ([`ENTRY`]), padded with entries
/// of zero inputs to a multiple of [`SPARSE_UNROLL`] and ended by an entry whose first word is
/// [`SENTINEL`], written into `out` in place; `None` when there are more than `dense_above`
/// (the caller then takes the dense loop). One word test per group.
#[inline]
fn nonzero_groups<'a>(
    pixels: &[u8; INPUT],
    out: &'a mut Buf,
    dense_above: usize,
) -> Option<&'a [u32]> {
    let start = out.as_mut_ptr().cast::<u32>();
    let src = pixels.as_ptr();
    let mut end = start;
    if (src as usize).is_multiple_of(4) {
        // SAFETY: reads the INPUT bytes of the word-aligned `pixels` (196 words) and writes
        // at most 196 entries (ENTRY words each) from `start`, inside `out` (LIST_WORDS <=
        // BUF_WORDS words). Writes only its register operands (r0-r3 declared clobbered),
        // the flags and `out`; no stack. CBZ needs a low register: the pixel word is r3, and
        // STM an ascending list: x0, x1, offset are r0, r1, r2.
        unsafe {
            core::arch::asm!(
                "movs r2, #0",
                "2:",
                ".rept 4",
                "ldr r3, [{src}], #4",
                "cbz r3, 3f",
                "and r0, r3, {mask}",
                "and r1, {mask}, r3, lsr #8",
                "stm {lp}!, {{r0, r1, r2}}",
                "3:",
                "adds r2, #16",
                ".endr",
                "cmp {src}, {stop}",
                "bne 2b",
                src = inout(reg) src => _,
                lp = inout(reg) end,
                stop = in(reg) src.add(INPUT),
                mask = in(reg) 0x00FF_00FFu32,
                out("r0") _,
                out("r1") _,
                out("r2") _,
                out("r3") _,
                options(nostack),
            );
        }
    } else {
        // Unaligned pixels (possible from a byte buffer): the same entries, bytewise.
        for (g, px) in pixels.chunks_exact(GROUP).enumerate() {
            if let Ok(px) = <[u8; 4]>::try_from(px) {
                let p = u32::from_le_bytes(px);
                if p != 0 {
                    // SAFETY: at most 196 entries of ENTRY words from `start`: inside `out`.
                    unsafe {
                        end.write(p & 0x00FF_00FF);
                        end.add(1).write((p >> 8) & 0x00FF_00FF);
                        end.add(2).write((g * ROW_BLOCK * GROUP) as u32);
                        end = end.add(ENTRY);
                    }
                }
            }
        }
    }
    // SAFETY: `end` is `start` advanced by whole entries, inside `out`.
    let words = unsafe { end.offset_from(start) } as usize;
    let groups = words / ENTRY;
    if groups > dense_above.min(DENSE_ABOVE) {
        return None;
    }
    let padded = groups.next_multiple_of(SPARSE_UNROLL);
    // SAFETY: padded + 1 <= DENSE_ABOVE + SPARSE_UNROLL entries fit in LIST_WORDS; the
    // entries below `groups` were written above and these write the rest, so the first
    // ENTRY * (padded + 1) words are initialised and may be read as a slice.
    unsafe {
        for e in groups..padded {
            // Zero inputs (they add 0) at offset 0 (inside every block).
            start.add(ENTRY * e).write_bytes(0, ENTRY);
        }
        start.add(ENTRY * padded).write_bytes(0, ENTRY);
        start.add(ENTRY * padded).write(SENTINEL);
        Some(core::slice::from_raw_parts(start, ENTRY * (padded + 1)))
    }
}

const _: () = assert!(DENSE_ABOVE + SPARSE_UNROLL < LIST_WORDS / ENTRY);

/// The pixels widened once per inference to u16 pairs in the order SXTB16 produces the
/// weights: for each group of 4 pixels, (x0 | x2 << 16) then (x1 | x3 << 16); then two
/// [`SENTINEL`] words (only the layout-2 kernel reads them). Written into `out` in place
/// and returned as a reference: a by-value return was copied (a 1,576-byte memcpy).
#[inline]
fn widen<'a>(pixels: &[u8; INPUT], out: &'a mut Buf) -> &'a [u32; WIDE] {
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
    // SAFETY: words WORDS and WORDS + 1 are inside `out` (BUF_WORDS >= WIDE); with the
    // WORDS words written above (every group of the exact INPUT / GROUP chunks), the first
    // WIDE words of `out` are initialised, so they may be read as a [u32; WIDE] (same
    // alignment as the buffer's words).
    unsafe {
        dst.add(WORDS).write(SENTINEL);
        dst.add(WORDS + 1).write(SENTINEL);
        &*dst.cast_const().cast::<[u32; WIDE]>()
    }
}

const _: () = assert!((INPUT / GROUP).is_multiple_of(4));

/// LDRD needs word-aligned addresses (an unaligned one faults; plain LDR is held to the same
/// so no core configuration can fault it); blocks are 3,136 bytes, so if `w1` starts
/// aligned every block does.
#[inline]
fn aligned(bytes: &[u8]) -> bool {
    (bytes.as_ptr() as usize).is_multiple_of(4)
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
fn block_dot(x: &[u32; WIDE], block: &[u8], acc: [i32; ROW_BLOCK]) -> [i32; ROW_BLOCK] {
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
            enable_dsp!(),
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

/// The loop both sparse kernels share, around `$group`, the asm of one listed group: the
/// entry (x0, x1, offset) is in r0, r1, r2; the weights' block at `{pw}`; accumulators
/// `{a0}`..`{a3}`, scratch `{wa}`, `{wb}` and any `$scratch` operands the group declares. The next entry is loaded at the end of
/// each group (so the end test needs no register of its own: 12 are all `asm!` has) and the
/// loop stops after an unrolled pass that loaded the end entry. `list` must be whole unrolls
/// of entries then the end entry, `block` word-aligned and `$bytes` long (anything else
/// returns `acc` unchanged, which never happens: the callers pass `nonzero_groups`' list and
/// `chunks_exact` blocks of an aligned `w1`).
macro_rules! sparse_block_dot {
    ($list:expr, $block:expr, $bytes:expr, $acc:expr, [$($group:literal,)+] $($scratch:tt)*) => {{
        let (list, block, acc): (&[u32], &[u8], [i32; ROW_BLOCK]) = ($list, $block, $acc);
        if block.len() != $bytes
            || !aligned(block)
            || list.len() % (ENTRY * SPARSE_UNROLL) != ENTRY
            || list.get(list.len() - ENTRY) != Some(&SENTINEL)
        {
            return acc;
        }
        let [mut a0, mut a1, mut a2, mut a3] = acc;
        // SAFETY: the list is whole unrolls of entries then the end entry (checked above);
        // the loop reads the entries in order and stops after loading the end entry, whose
        // SENTINEL no pixel pair equals. Every offset is 16 g with g < 196 (or 0 in the
        // padding), and `$group` reads only the group's weights at that offset (scaled to
        // the layout's group size) inside the word-aligned `$bytes` block. Writes only its
        // register operands (r0-r2 declared clobbered) and the flags, no stack.
        unsafe {
            core::arch::asm!(
                enable_dsp!(),
                "ldm {lp}!, {{r0, r1, r2}}",
                "cmn r0, #1",
                "beq 4f",
                "2:",
                ".rept {unroll}",
                $($group,)+
                "ldm {lp}!, {{r0, r1, r2}}",
                ".endr",
                "cmn r0, #1",
                "bne 2b",
                "4:",
                a0 = inout(reg) a0,
                a1 = inout(reg) a1,
                a2 = inout(reg) a2,
                a3 = inout(reg) a3,
                lp = inout(reg) list.as_ptr() => _,
                pw = in(reg) block.as_ptr(),
                wa = out(reg) _,
                wb = out(reg) _,
                $($scratch)*
                out("r0") _,
                out("r1") _,
                out("r2") _,
                unroll = const SPARSE_UNROLL,
                options(pure, readonly, nostack),
            );
        }
        [a0, a1, a2, a3]
    }};
}

/// [`block_dot`] over the listed groups only (a list from [`nonzero_groups`]). Per listed
/// group: LDM of the entry, ADD of the weights' address, then the dense loop's 2 LDRD,
/// 8 SXTB16 and 8 SMLAD: 20 for 16 multiply-accumulates.
#[inline]
fn block_dot_sparse(list: &[u32], block: &[u8], acc: [i32; ROW_BLOCK]) -> [i32; ROW_BLOCK] {
    sparse_block_dot!(
        list,
        block,
        BLOCK_BYTES,
        acc,
        [
            "add r2, {pw}",
            "ldrd {wa}, {wb}, [r2]",
            "sxtb16 {t}, {wa}",
            "smlad {a0}, {t}, r0, {a0}",
            "sxtb16 {wa}, {wa}, ror #8",
            "smlad {a0}, {wa}, r1, {a0}",
            "sxtb16 {t}, {wb}",
            "smlad {a1}, {t}, r0, {a1}",
            "sxtb16 {wb}, {wb}, ror #8",
            "smlad {a1}, {wb}, r1, {a1}",
            "ldrd {wa}, {wb}, [r2, #8]",
            "sxtb16 {t}, {wa}",
            "smlad {a2}, {t}, r0, {a2}",
            "sxtb16 {wa}, {wa}, ror #8",
            "smlad {a2}, {wa}, r1, {a2}",
            "sxtb16 {t}, {wb}",
            "smlad {a3}, {t}, r0, {a3}",
            "sxtb16 {wb}, {wb}, ror #8",
            "smlad {a3}, {wb}, r1, {a3}",
        ]
        t = out(reg) _,
    )
}

/// [`block_dot_sparse`] for a layout-2 block: the weights are already SMLAD's int16 pairs
/// and a group's are 32 bytes (the list's offset doubled by the address ADD's shift), so per
/// listed group: LDM of the entry, ADD, 4 LDRD and 8 SMLAD: 14 for 16 multiply-accumulates.
#[cfg(mf_layout2)]
#[inline]
fn block_dot16_sparse(list: &[u32], block: &[u8], acc: [i32; ROW_BLOCK]) -> [i32; ROW_BLOCK] {
    sparse_block_dot!(
        list,
        block,
        BLOCK_BYTES16,
        acc,
        [
            "add.w r2, {pw}, r2, lsl #1",
            "ldrd {wa}, {wb}, [r2]",
            "smlad {a0}, {wa}, r0, {a0}",
            "smlad {a0}, {wb}, r1, {a0}",
            "ldrd {wa}, {wb}, [r2, #8]",
            "smlad {a1}, {wa}, r0, {a1}",
            "smlad {a1}, {wb}, r1, {a1}",
            "ldrd {wa}, {wb}, [r2, #16]",
            "smlad {a2}, {wa}, r0, {a2}",
            "smlad {a2}, {wb}, r1, {a2}",
            "ldrd {wa}, {wb}, [r2, #24]",
            "smlad {a3}, {wa}, r0, {a3}",
            "smlad {a3}, {wb}, r1, {a3}",
        ]
    )
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
fn block_dot16(x: &[u32; WIDE], block: &[u8], acc: [i32; ROW_BLOCK]) -> [i32; ROW_BLOCK] {
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
            enable_dsp!(),
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
