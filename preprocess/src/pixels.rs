//! The pixel formats a caller can hand in, each read as (luma, alpha) per pixel.

use crate::Error;

/// Row-major pixel bytes of an image, 8 bits per channel, no padding between rows.
///
/// A file decoder (the host's `image` crate) or a browser canvas (`getImageData` is `Rgba8`)
/// passes its buffer as it is; the conversion to luma happens here, once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pixels<'a> {
    /// One byte per pixel: grayscale.
    Luma8(&'a [u8]),
    /// Two bytes per pixel: grayscale, alpha.
    LumaAlpha8(&'a [u8]),
    /// Three bytes per pixel: red, green, blue.
    Rgb8(&'a [u8]),
    /// Four bytes per pixel: red, green, blue, alpha.
    Rgba8(&'a [u8]),
}

impl<'a> Pixels<'a> {
    /// Bytes per pixel.
    pub const fn channels(&self) -> usize {
        match self {
            Pixels::Luma8(_) => 1,
            Pixels::LumaAlpha8(_) => 2,
            Pixels::Rgb8(_) => 3,
            Pixels::Rgba8(_) => 4,
        }
    }

    /// The raw buffer.
    pub const fn bytes(&self) -> &'a [u8] {
        match self {
            Pixels::Luma8(b) | Pixels::LumaAlpha8(b) | Pixels::Rgb8(b) | Pixels::Rgba8(b) => b,
        }
    }

    /// (luma, alpha) of pixel `i`; alpha 255 for formats without one.
    #[inline]
    pub(crate) fn luma_alpha(&self, i: usize) -> (u8, u8) {
        match self {
            Pixels::Luma8(b) => (b[i], 255),
            Pixels::LumaAlpha8(b) => (b[2 * i], b[2 * i + 1]),
            Pixels::Rgb8(b) => (luma(b[3 * i], b[3 * i + 1], b[3 * i + 2]), 255),
            Pixels::Rgba8(b) => (luma(b[4 * i], b[4 * i + 1], b[4 * i + 2]), b[4 * i + 3]),
        }
    }
}

/// Luma of an sRGB colour with the Rec. 709 weights (the ones the `image` crate uses), in
/// integers so every platform rounds alike.
#[inline]
fn luma(r: u8, g: u8, b: u8) -> u8 {
    let y = 2126 * u32::from(r) + 7152 * u32::from(g) + 722 * u32::from(b);
    // At most 255 * 10_000 / 10_000: fits.
    ((y + 5_000) / 10_000) as u8
}

/// A picture of a digit: its size and its pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Image<'a> {
    width: usize,
    height: usize,
    pixels: Pixels<'a>,
}

impl<'a> Image<'a> {
    /// Check that the buffer holds exactly `width * height` pixels of its format.
    pub fn new(width: usize, height: usize, pixels: Pixels<'a>) -> Result<Self, Error> {
        if width == 0 || height == 0 {
            return Err(Error::Empty);
        }
        let expected = width
            .checked_mul(height)
            .and_then(|n| n.checked_mul(pixels.channels()));
        if expected != Some(pixels.bytes().len()) {
            return Err(Error::SizeMismatch {
                width,
                height,
                channels: pixels.channels(),
                bytes: pixels.bytes().len(),
            });
        }
        Ok(Image {
            width,
            height,
            pixels,
        })
    }

    pub fn width(&self) -> usize {
        self.width
    }

    pub fn height(&self) -> usize {
        self.height
    }

    pub fn pixels(&self) -> Pixels<'a> {
        self.pixels
    }

    /// (luma, alpha) at column `x`, row `y`.
    #[inline]
    pub(crate) fn at(&self, x: usize, y: usize) -> (u8, u8) {
        self.pixels.luma_alpha(y * self.width + x)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn luma_weights_match_rec709() {
        assert_eq!(luma(0, 0, 0), 0);
        assert_eq!(luma(255, 255, 255), 255);
        assert_eq!(luma(255, 0, 0), 54);
        assert_eq!(luma(0, 255, 0), 182);
        assert_eq!(luma(0, 0, 255), 18);
    }

    #[test]
    fn a_buffer_of_the_wrong_size_is_an_error() {
        assert_eq!(Image::new(0, 5, Pixels::Luma8(&[])), Err(Error::Empty));
        assert_eq!(
            Image::new(3, 2, Pixels::Rgb8(&[0; 17])),
            Err(Error::SizeMismatch {
                width: 3,
                height: 2,
                channels: 3,
                bytes: 17
            })
        );
        assert!(Image::new(usize::MAX, 2, Pixels::Luma8(&[0; 4])).is_err());
        assert!(Image::new(3, 2, Pixels::LumaAlpha8(&[0; 12])).is_ok());
    }
}
