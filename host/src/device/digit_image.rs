//! A picture file of a digit (PNG or PNM) into the net's 28x28 input, and that input back out as
//! a picture a person can look at (`classify --image FILE --show OUT.png`).
//!
//! Decoding is the `image` crate's; the preprocessing is the `digit-preprocess` crate, the one
//! implementation the browser playground shares.

use std::io::BufReader;
use std::path::Path;

use anyhow::{bail, Context};
use digit_preprocess::{Digit, Image, Pixels, PIXELS, SIDE};
use image::{DynamicImage, ImageFormat, ImageReader};

/// Largest picture decoded: 40 megapixels (a 7,300 x 5,500 photo), about 160 MB as RGBA. More
/// than any phone camera's, and a bound on what a bad file can make us allocate.
pub const MAX_PIXELS: u64 = 40_000_000;

/// How many times `--show` enlarges the 28x28 image.
pub const SHOW_SCALE: u32 = 8;

/// A decoded and preprocessed picture.
#[derive(Debug, Clone)]
pub struct DigitImage {
    pub width: u32,
    pub height: u32,
    pub format: ImageFormat,
    pub digit: Digit,
}

/// Decode `path` (PNG, or PGM / PPM / PBM / PAM) and preprocess it.
pub fn load(path: &Path) -> anyhow::Result<DigitImage> {
    let open = || -> anyhow::Result<ImageReader<BufReader<std::fs::File>>> {
        let file = std::fs::File::open(path).with_context(|| path.display().to_string())?;
        // The format comes from the file's first bytes, not its name.
        let reader = ImageReader::new(BufReader::new(file))
            .with_guessed_format()
            .with_context(|| path.display().to_string())?;
        match reader.format() {
            Some(ImageFormat::Png | ImageFormat::Pnm) => Ok(reader),
            _ => bail!(
                "{}: not a PNG or PNM (PGM, PPM, PBM, PAM) image",
                path.display()
            ),
        }
    };
    // The header first: refuse a huge image before decoding a byte of it.
    let (width, height) = open()?
        .into_dimensions()
        .with_context(|| format!("reading the header of {}", path.display()))?;
    let pixels = u64::from(width) * u64::from(height);
    if pixels > MAX_PIXELS {
        bail!(
            "{}: {width}x{height} is {:.1} megapixels; the limit is {} megapixels (scale it down first)",
            path.display(),
            pixels as f64 / 1e6,
            MAX_PIXELS / 1_000_000
        );
    }
    let reader = open()?;
    let format = reader.format().unwrap_or(ImageFormat::Png);
    let decoded = reader
        .decode()
        .with_context(|| format!("decoding {}", path.display()))?;
    let digit = preprocess(&decoded).with_context(|| path.display().to_string())?;
    Ok(DigitImage {
        width,
        height,
        format,
        digit,
    })
}

/// Preprocess a decoded image: 8-bit layouts are handed over as they are, 16-bit ones (PNG
/// has them) are narrowed here, channel by channel, and anything else (float) is converted
/// to RGBA8 by the `image` crate.
pub fn preprocess(img: &DynamicImage) -> anyhow::Result<Digit> {
    let (w, h) = (img.width() as usize, img.height() as usize);
    let converted: Vec<u8>;
    let pixels = match img {
        DynamicImage::ImageLuma8(b) => Pixels::Luma8(b.as_raw()),
        DynamicImage::ImageLumaA8(b) => Pixels::LumaAlpha8(b.as_raw()),
        DynamicImage::ImageRgb8(b) => Pixels::Rgb8(b.as_raw()),
        DynamicImage::ImageRgba8(b) => Pixels::Rgba8(b.as_raw()),
        DynamicImage::ImageLuma16(b) => {
            converted = narrow(b.as_raw());
            Pixels::Luma8(&converted)
        }
        DynamicImage::ImageLumaA16(b) => {
            converted = narrow(b.as_raw());
            Pixels::LumaAlpha8(&converted)
        }
        DynamicImage::ImageRgb16(b) => {
            converted = narrow(b.as_raw());
            Pixels::Rgb8(&converted)
        }
        DynamicImage::ImageRgba16(b) => {
            converted = narrow(b.as_raw());
            Pixels::Rgba8(&converted)
        }
        other => {
            converted = other.to_rgba8().into_raw();
            Pixels::Rgba8(&converted)
        }
    };
    let image = Image::new(w, h, pixels)?;
    Ok(digit_preprocess::preprocess(&image)?)
}

/// 16-bit channels to 8, rounded (as the `image` crate does, here in our optimised code: the
/// `image` crate compiles unoptimised, and a 40-megapixel 16-bit PNG took 6 s through it).
fn narrow(channels: &[u16]) -> Vec<u8> {
    channels
        .iter()
        // At most (65535 * 255 + 32767) / 65535 = 255.
        .map(|&v| ((u32::from(v) * 255 + 32_767) / 65_535) as u8)
        .collect()
}

/// Write the 28x28 input as a grayscale PNG enlarged [`SHOW_SCALE`] times (each pixel a
/// block, so what the net saw stays visible: no smoothing), ink bright on black as MNIST.
pub fn write_show(path: &Path, pixels: &[u8; PIXELS]) -> anyhow::Result<()> {
    let side = SIDE as u32 * SHOW_SCALE;
    let big = image::GrayImage::from_fn(side, side, |x, y| {
        let (col, row) = ((x / SHOW_SCALE) as usize, (y / SHOW_SCALE) as usize);
        image::Luma([pixels[row * SIDE + col]])
    });
    big.save_with_format(path, ImageFormat::Png)
        .with_context(|| format!("writing {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A dark bar on white, `w` x `h`.
    fn bar(w: u32, h: u32) -> image::GrayImage {
        image::GrayImage::from_fn(w, h, |x, y| {
            let ink = (w / 3..w / 3 + w / 10).contains(&x) && (h / 5..h * 4 / 5).contains(&y);
            image::Luma([if ink { 0 } else { 255 }])
        })
    }

    #[test]
    fn every_pixel_layout_gives_the_same_digit() {
        let gray = DynamicImage::ImageLuma8(bar(90, 60));
        let want = preprocess(&gray).unwrap();
        assert!(want.inverted);
        for other in [
            DynamicImage::ImageLuma16(gray.to_luma16()),
            DynamicImage::ImageLumaA16(gray.to_luma_alpha16()),
            DynamicImage::ImageRgb16(gray.to_rgb16()),
            DynamicImage::ImageLumaA8(gray.to_luma_alpha8()),
            DynamicImage::ImageRgb8(gray.to_rgb8()),
            DynamicImage::ImageRgba16(gray.to_rgba16()),
            DynamicImage::ImageRgb32F(gray.to_rgb32f()),
        ] {
            assert_eq!(preprocess(&other).unwrap(), want, "{:?}", other.color());
        }
    }

    #[test]
    fn narrowing_16_bits_rounds_like_the_image_crate() {
        let wide: Vec<u16> = (0..=u16::MAX).step_by(7).collect();
        let theirs = image::DynamicImage::ImageLuma16(
            image::ImageBuffer::from_raw(wide.len() as u32, 1, wide.clone()).unwrap(),
        )
        .to_luma8()
        .into_raw();
        assert_eq!(narrow(&wide), theirs);
    }

    #[test]
    fn show_writes_the_input_enlarged() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("show.png");
        let mut pixels = [0u8; PIXELS];
        pixels[SIDE + 2] = 200;
        write_show(&path, &pixels).unwrap();
        let img = image::open(&path).unwrap().to_luma8();
        assert_eq!(img.dimensions(), (224, 224));
        assert_eq!(img.get_pixel(16, 8).0, [200]);
        assert_eq!(img.get_pixel(23, 15).0, [200]);
        assert_eq!(img.get_pixel(24, 8).0, [0]);
        assert!(write_show(&dir.path().join("no/such/dir.png"), &pixels).is_err());
    }
}
