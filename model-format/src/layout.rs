//! The stored order of the layer-1 weights: [`Layout`], the file's layout tag.

use crate::{DecodeError, INPUT};

/// Hidden units per layer-1 block in the blocked layouts ([`Layout::Smlad`],
/// [`Layout::Smlad16`]).
pub const ROW_BLOCK: usize = 4;
/// Inputs per weight word (and per group of a block) in the blocked layouts.
pub(crate) const GROUP: usize = 4;
/// Stored weights in one layer-1 block (4 units x 784 inputs).
pub(crate) const BLOCK_WEIGHTS: usize = ROW_BLOCK * INPUT;
/// Bytes of one layer-1 block in [`Layout::Smlad`].
pub(crate) const BLOCK_BYTES: usize = BLOCK_WEIGHTS;
/// Bytes of one layer-1 block in [`Layout::Smlad16`] (only the layout-2 kernels use it).
#[cfg_attr(not(mf_layout2), allow(dead_code))]
pub(crate) const BLOCK_BYTES16: usize = 2 * BLOCK_WEIGHTS;

/// Position in [`Layout::Smlad16`] of weight `k` (0..4) of a unit's group: (w0, w2, w1, w3).
const SMLAD16_ORDER: [usize; GROUP] = [0, 2, 1, 3];

/// How a model file stores its layer-1 weights (`w2` is class-major in every layout). Every
/// layout gives the same logits for the same parameters; readers reject tags they do not
/// implement, and new kernels get new tags.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Layout {
    /// Tag 0: `w1` hidden-major (each hidden unit's 784 weights contiguous).
    HiddenMajor,
    /// Tag 1 (what the encoder writes by default): `w1` in blocks of [`ROW_BLOCK`] hidden
    /// units, each block a sequence of 16-byte groups holding 4 consecutive input weights of
    /// each of its 4 units (see `FORMAT.md`). One load of 4 inputs then serves 4 units, and each
    /// 32-bit weight word sign-extends with SXTB16 / SXTB16 ROR #8 into the halfword pairs that
    /// SMLAD multiplies with the input pairs (x0, x2) and (x1, x3). `H` is padded to a multiple
    /// of 4 with zero rows.
    #[default]
    Smlad,
    /// Tag 2 (optional; twice the `w1` bytes for fewer instructions on a Cortex-M4): the
    /// block/group order of tag 1, but every layer-1 weight stored as an int16 (LE) holding the
    /// int8 value sign-extended (each must be in -128..=127). Within a group each unit's 4
    /// weights are stored in the order (w0, w2, w1, w3): the two 32-bit words are then directly
    /// the halfword pairs SMLAD multiplies with the input pairs (x0, x2) and (x1, x3), with no
    /// SXTB16, and LDM loads two units' weights in one instruction. Padding units are zero.
    Smlad16,
}

impl TryFrom<u8> for Layout {
    type Error = DecodeError;

    /// The layout of a tag, or `UnsupportedLayout(tag)` for a tag no reader implements.
    fn try_from(tag: u8) -> Result<Self, DecodeError> {
        match tag {
            0 => Ok(Layout::HiddenMajor),
            1 => Ok(Layout::Smlad),
            2 => Ok(Layout::Smlad16),
            other => Err(DecodeError::UnsupportedLayout(other)),
        }
    }
}

/// The tag, as the file and the docs number layouts.
impl core::fmt::Display for Layout {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{}", self.tag())
    }
}

impl Layout {
    /// Every layout, in tag order.
    pub const ALL: [Layout; 3] = [Layout::HiddenMajor, Layout::Smlad, Layout::Smlad16];

    /// The tag stored in the file.
    pub const fn tag(self) -> u8 {
        match self {
            Layout::HiddenMajor => 0,
            Layout::Smlad => 1,
            Layout::Smlad16 => 2,
        }
    }

    /// Whether `w1` is stored in blocks of [`ROW_BLOCK`] units.
    pub const fn is_blocked(self) -> bool {
        matches!(self, Layout::Smlad | Layout::Smlad16)
    }

    /// Whether this build reads and runs the layout: tags 0 and 1 always, 2 only with
    /// `cfg(mf_layout2)` (every hosted build; bare-metal builds with the cargo feature
    /// `layout-smlad16`).
    pub const fn is_built_in(self) -> bool {
        match self {
            Layout::HiddenMajor | Layout::Smlad => true,
            Layout::Smlad16 => cfg!(mf_layout2),
        }
    }

    /// Bytes per stored layer-1 weight: 2 for [`Layout::Smlad16`], else 1.
    pub const fn bytes_per_weight(self) -> usize {
        match self {
            Layout::Smlad16 => 2,
            Layout::HiddenMajor | Layout::Smlad => 1,
        }
    }

    /// Hidden units stored in `w1`: `hidden` itself for [`Layout::HiddenMajor`], rounded up to a
    /// multiple of [`ROW_BLOCK`] in the blocked layouts (the extra units are zero padding).
    pub const fn stored_hidden(self, hidden: usize) -> usize {
        if self.is_blocked() {
            hidden.div_ceil(ROW_BLOCK) * ROW_BLOCK
        } else {
            hidden
        }
    }

    /// Bytes of the stored `w1` of a net with `hidden` units.
    pub const fn w1_bytes(self, hidden: usize) -> usize {
        self.stored_hidden(hidden) * INPUT * self.bytes_per_weight()
    }

    /// Index (in stored weights: bytes, or int16 entries for [`Layout::Smlad16`]) inside the
    /// stored `w1` of the weight from input `i` to hidden unit `j`.
    /// Blocked layouts: block `j / 4`, group `i / 4`, row `j % 4` inside the group, weight
    /// `i % 4` (in the order (w0, w2, w1, w3) for [`Layout::Smlad16`]).
    #[inline]
    pub const fn weight_index(self, j: usize, i: usize) -> usize {
        let k = match self {
            Layout::HiddenMajor => return j * INPUT + i,
            Layout::Smlad => i % GROUP,
            Layout::Smlad16 => SMLAD16_ORDER[i % GROUP],
        };
        (j / ROW_BLOCK) * BLOCK_WEIGHTS
            + (i / GROUP) * (ROW_BLOCK * GROUP)
            + (j % ROW_BLOCK) * GROUP
            + k
    }

    /// The stored weight at `index` (see [`Layout::weight_index`]) of a `w1` in this layout,
    /// as stored: the byte as i8, or the LE int16. `None` past the end.
    #[inline]
    pub(crate) fn stored_weight(self, w1: &[u8], index: usize) -> Option<i16> {
        if self.bytes_per_weight() == 2 {
            let at = index.checked_mul(2)?;
            match w1.get(at..at.checked_add(2)?)? {
                &[lo, hi] => Some(i16::from_le_bytes([lo, hi])),
                _ => None,
            }
        } else {
            w1.get(index).map(|&b| i16::from(b as i8))
        }
    }

    /// A short description for reports.
    pub const fn describe(self) -> &'static str {
        match self {
            Layout::HiddenMajor => "hidden-major w1",
            Layout::Smlad => "w1 in SMLAD blocks of 4 hidden units",
            Layout::Smlad16 => "w1 as int16 in SMLAD blocks of 4 hidden units",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_round_trip_and_unknown_tags_are_rejected() {
        for l in Layout::ALL {
            assert_eq!(Layout::try_from(l.tag()), Ok(l));
        }
        assert_eq!(Layout::try_from(3), Err(DecodeError::UnsupportedLayout(3)));
    }
}
