//! From pixels to ink: which side is the background, how much each pixel stands out from it,
//! and where the digit is.

use crate::pixels::Image;
use crate::{Error, InkBox};

/// Below this much contrast (of 255) between the strongest ink and the background there is no
/// digit: a blank sheet, or a photo's uneven lighting alone.
pub const MIN_CONTRAST: u8 = 32;

/// How an image's pixels turn into ink (0 = background, 255 = the strongest possible ink).
#[derive(Debug, Clone, Copy)]
pub struct InkModel {
    /// The background's luma: paper in a photo is grey, not 255, and its ink is measured
    /// from there.
    pub background: u8,
    /// The background is lighter than the ink (dark ink on paper): the image gets inverted,
    /// since MNIST's ink is bright on black.
    pub light_background: bool,
}

impl InkModel {
    /// Estimate the background from the image.
    ///
    /// Mostly opaque border: the border's median luma (the median, because strokes may touch
    /// the edge). Mostly transparent border (a drawing on a transparent canvas): the visible
    /// pixels are the ink, and the background is the opposite extreme of their median.
    pub fn estimate(image: &Image<'_>) -> Result<Self, Error> {
        let (w, h) = (image.width(), image.height());
        let mut border = Histogram::default();
        let mut count = 0u64;
        let mut add = |x: usize, y: usize| {
            let (l, a) = image.at(x, y);
            border.add(l, a);
            count += 1;
        };
        for x in 0..w {
            add(x, 0);
            if h > 1 {
                add(x, h - 1);
            }
        }
        for y in 1..h.saturating_sub(1) {
            add(0, y);
            if w > 1 {
                add(w - 1, y);
            }
        }
        // Alpha is a weight of 0..=255 per pixel: opaque on average at least half way.
        if border.total * 2 >= count * 255 {
            let background = border.median();
            return Ok(InkModel {
                background,
                light_background: background >= 128,
            });
        }
        let mut all = Histogram::default();
        for y in 0..h {
            for x in 0..w {
                let (l, a) = image.at(x, y);
                all.add(l, a);
            }
        }
        if all.total == 0 {
            // Fully transparent: nothing drawn.
            return Err(Error::Blank);
        }
        let light_background = all.median() < 128;
        Ok(InkModel {
            background: if light_background { 255 } else { 0 },
            light_background,
        })
    }

    /// Ink at a pixel: how far its luma, composited over the background by its alpha (a
    /// transparent pixel is background), lies from the background towards the ink side.
    #[inline]
    pub fn ink(&self, (luma, alpha): (u8, u8)) -> u8 {
        let (l, a, bg) = (
            u32::from(luma),
            u32::from(alpha),
            u32::from(self.background),
        );
        // At most 255 * 255 / 255: fits.
        let c = ((a * l + (255 - a) * bg + 127) / 255) as u8;
        if self.light_background {
            self.background.saturating_sub(c)
        } else {
            c.saturating_sub(self.background)
        }
    }
}

/// A histogram of luma or ink values, weighted (by alpha, or 1 per pixel).
#[derive(Debug, Clone)]
struct Histogram {
    bins: [u64; 256],
    total: u64,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram {
            bins: [0; 256],
            total: 0,
        }
    }
}

impl Histogram {
    fn add(&mut self, value: u8, weight: u8) {
        self.bins[usize::from(value)] += u64::from(weight);
        self.total += u64::from(weight);
    }

    /// The weighted median (the lowest value with at least half the weight at or below it).
    fn median(&self) -> u8 {
        let mut seen = 0;
        for (v, &n) in self.bins.iter().enumerate() {
            seen += n;
            if seen * 2 >= self.total {
                return v as u8;
            }
        }
        255
    }

    /// Otsu's threshold: the `t` that best splits the values into two classes, `<= t` and
    /// `> t` (largest between-class variance). `None` when all weight is in one bin.
    fn otsu(&self) -> Option<u8> {
        let total = self.total as f64;
        let sum_all: f64 = self
            .bins
            .iter()
            .enumerate()
            .map(|(v, &n)| v as f64 * n as f64)
            .sum();
        let (mut w0, mut sum0) = (0.0, 0.0);
        let mut best: Option<(f64, u8)> = None;
        for (t, &n) in self.bins.iter().enumerate().take(255) {
            w0 += n as f64;
            sum0 += t as f64 * n as f64;
            let w1 = total - w0;
            if w0 == 0.0 || w1 == 0.0 {
                continue;
            }
            let (m0, m1) = (sum0 / w0, (sum_all - sum0) / w1);
            let between = w0 * w1 * (m0 - m1) * (m0 - m1);
            if best.is_none_or(|(b, _)| between > b) {
                best = Some((between, t as u8));
            }
        }
        best.map(|(_, t)| t)
    }
}

/// Where the ink is and how to read it.
#[derive(Debug, Clone, Copy)]
pub struct InkMap {
    pub model: InkModel,
    /// Ink at or below this is noise (paper texture, JPEG-era artefacts, uneven light) and
    /// counts as 0; what is above keeps its shading, less the floor.
    pub noise_floor: u8,
    /// The bounding box of the pixels that are clearly ink (above Otsu's threshold): a stray
    /// faint speck does not widen the crop.
    pub ink_box: InkBox,
    /// Mean width of the strokes in source pixels (2 x ink area / edge pixels; about 2 for
    /// strokes of 1 or 2 pixels, the least this measure can tell apart).
    pub stroke_width: f64,
}

impl InkMap {
    pub fn find(image: &Image<'_>) -> Result<Self, Error> {
        let model = InkModel::estimate(image)?;
        let mut hist = Histogram::default();
        let mut strongest = 0u8;
        for y in 0..image.height() {
            for x in 0..image.width() {
                let ink = model.ink(image.at(x, y));
                hist.add(ink, 1);
                strongest = strongest.max(ink);
            }
        }
        if strongest < MIN_CONTRAST {
            return Err(Error::Blank);
        }
        let threshold = hist.otsu().ok_or(Error::Blank)?;
        let (w, h) = (image.width(), image.height());
        let is_ink = |x: usize, y: usize| model.ink(image.at(x, y)) > threshold;
        let (mut x0, mut y0, mut x1, mut y1) = (usize::MAX, usize::MAX, 0, 0);
        let (mut area, mut edge) = (0u64, 0u64);
        for y in 0..h {
            for x in 0..w {
                if is_ink(x, y) {
                    x0 = x0.min(x);
                    y0 = y0.min(y);
                    x1 = x1.max(x);
                    y1 = y1.max(y);
                    area += 1;
                    let inside = x > 0
                        && y > 0
                        && x + 1 < w
                        && y + 1 < h
                        && is_ink(x - 1, y)
                        && is_ink(x + 1, y)
                        && is_ink(x, y - 1)
                        && is_ink(x, y + 1);
                    edge += u64::from(!inside);
                }
            }
        }
        if x0 > x1 {
            return Err(Error::Blank);
        }
        Ok(InkMap {
            model,
            noise_floor: threshold / 2,
            // A stroke of width w and length L has area wL and 2L edge pixels.
            stroke_width: 2.0 * area as f64 / edge.max(1) as f64,
            ink_box: InkBox {
                x: x0,
                y: y0,
                width: x1 - x0 + 1,
                height: y1 - y0 + 1,
            },
        })
    }

    /// The ink of pixel (x, y) after the noise floor.
    #[inline]
    pub fn value(&self, image: &Image<'_>, x: usize, y: usize) -> u8 {
        self.model
            .ink(image.at(x, y))
            .saturating_sub(self.noise_floor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pixels::Pixels;

    #[test]
    fn otsu_splits_a_two_level_histogram_between_the_levels() {
        let mut h = Histogram::default();
        for _ in 0..90 {
            h.add(10, 1);
        }
        for _ in 0..10 {
            h.add(200, 1);
        }
        let t = h.otsu().unwrap();
        assert!((10..200).contains(&t), "{t}");
        let mut flat = Histogram::default();
        flat.add(7, 1);
        assert_eq!(flat.otsu(), None);
    }

    #[test]
    fn background_comes_from_the_border_median() {
        // Grey paper (180) with a dark stroke touching the left edge.
        let mut px = [180u8; 25];
        for y in 0..5 {
            px[y * 5] = 20;
        }
        let image = Image::new(5, 5, Pixels::Luma8(&px)).unwrap();
        let m = InkModel::estimate(&image).unwrap();
        assert_eq!((m.background, m.light_background), (180, true));
        assert_eq!(m.ink((20, 255)), 160);
        assert_eq!(m.ink((200, 255)), 0, "lighter than the paper is no ink");
    }

    #[test]
    fn transparent_pixels_are_background_whatever_their_colour() {
        // White strokes on a transparent canvas whose hidden colour is also white.
        let mut px = [255u8, 0].repeat(16);
        px[2 * 5 + 1] = 255;
        let image = Image::new(4, 4, Pixels::LumaAlpha8(&px)).unwrap();
        let m = InkModel::estimate(&image).unwrap();
        assert!(!m.light_background);
        assert_eq!(m.ink((255, 0)), 0);
        assert_eq!(m.ink((255, 255)), 255);
        let none = [0u8; 32];
        let image = Image::new(4, 4, Pixels::LumaAlpha8(&none)).unwrap();
        assert_eq!(InkMap::find(&image).unwrap_err(), Error::Blank);
    }
}
