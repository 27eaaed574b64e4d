//! MNIST-style preprocessing: a picture of a handwritten digit (a photo of paper, a drawing,
//! any size) into the 28x28 image the net was trained on.
//!
//! The steps are MNIST's own, as its authors describe them: the digit is cropped, fitted into a
//! 20x20 box keeping its aspect ratio (anti-aliased), and centred by its centre of mass in the
//! 28x28 field, bright ink on black. Before that, a picture needs what MNIST's scans did not:
//!
//! 1. **Background and polarity** ([`ink`]): the background is the border's median luma; dark
//!    ink on a light background is inverted. Transparent pixels are background.
//! 2. **Crop to the ink**: the box of the pixels above Otsu's threshold; ink below half of it
//!    is noise and counts as nothing.
//! 3. **Fit into 20x20** ([`resample`]) by area averaging (a box filter), then a contrast stretch
//!    so the strongest pixel is 255: thin strokes of a large drawing would come out faint.
//!    Strokes that end up under 1.5 pixels wide (a fine pen, photographed) are fitted into
//!    18x18 and thickened by a pixel on each side, to MNIST's 2 to 3.
//! 4. **Centre** ([`centre`]) by whole pixels, the centre of mass on (14, 14).
//!
//! `no_std` and no allocation: the host's `classify --image` and a WebAssembly build (the
//! browser playground) run this one implementation.

#![cfg_attr(not(test), no_std)]

pub mod centre;
pub mod ink;
pub mod pixels;
pub mod resample;

pub use pixels::{Image, Pixels};

/// Side of the net's input image.
pub const SIDE: usize = 28;
/// Pixels of the net's input image (`SIDE * SIDE`, the model's `INPUT`).
pub const PIXELS: usize = SIDE * SIDE;
/// Side of the box the digit is fitted into (MNIST: 20 of the 28).
pub const BOX: usize = 20;

/// Why an image yields no digit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Error {
    /// Width or height is 0.
    Empty,
    /// The buffer does not hold `width * height` pixels of its format.
    SizeMismatch {
        width: usize,
        height: usize,
        channels: usize,
        bytes: usize,
    },
    /// Nothing stands out from the background: a blank (or fully transparent) image.
    Blank,
}

impl core::fmt::Display for Error {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Error::Empty => f.write_str("the image has no pixels"),
            Error::SizeMismatch {
                width,
                height,
                channels,
                bytes,
            } => write!(
                f,
                "a {width}x{height} image of {channels} byte(s) per pixel does not fit a buffer of {bytes} bytes"
            ),
            Error::Blank => write!(
                f,
                "no digit found: the image is blank (no ink differs from the background by {} of 255 or more)",
                ink::MIN_CONTRAST
            ),
        }
    }
}

impl core::error::Error for Error {}

/// The rectangle of the source image that holds the digit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InkBox {
    pub x: usize,
    pub y: usize,
    pub width: usize,
    pub height: usize,
}

/// The preprocessed digit and what the preprocessing found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Digit {
    /// The 28x28 input, row-major, ink bright on black.
    pub pixels: [u8; PIXELS],
    /// The source had dark ink on a light background and was inverted.
    pub inverted: bool,
    /// The crop in the source image.
    pub ink_box: InkBox,
    /// Size of the digit after fitting into the 20x20 box (width, height).
    pub scaled: (usize, usize),
}

/// Preprocess `image` into the net's 28x28 input.
pub fn preprocess(image: &Image<'_>) -> Result<Digit, Error> {
    let ink = ink::InkMap::find(image)?;
    let scaled = resample::scale_into_box(image, &ink);
    Ok(Digit {
        pixels: centre::place(&scaled),
        inverted: ink.model.light_background,
        ink_box: ink.ink_box,
        scaled: (scaled.width, scaled.height),
    })
}

/// `x.floor()` as an integer, without `std` or `libm` (for the magnitudes here: pixel
/// coordinates and values).
pub(crate) fn floor(x: f64) -> i64 {
    let i = x as i64;
    if (i as f64) > x {
        i - 1
    } else {
        i
    }
}

#[cfg(test)]
mod tests;
