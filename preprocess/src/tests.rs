//! The whole pipeline on synthetic drawings.

use super::*;

/// A grayscale canvas to draw test digits on.
struct Canvas {
    w: usize,
    h: usize,
    px: Vec<u8>,
}

impl Canvas {
    fn new(w: usize, h: usize, paper: u8) -> Self {
        Canvas {
            w,
            h,
            px: vec![paper; w * h],
        }
    }

    fn rect(&mut self, x: usize, y: usize, w: usize, h: usize, ink: u8) {
        for yy in y..y + h {
            self.px[yy * self.w + x..yy * self.w + x + w].fill(ink);
        }
    }

    /// A round pen of radius `r` from (x0, y0) to (x1, y1).
    fn line(&mut self, (x0, y0): (f64, f64), (x1, y1): (f64, f64), r: f64, ink: u8) {
        for y in 0..self.h {
            for x in 0..self.w {
                let (px, py) = (x as f64 + 0.5, y as f64 + 0.5);
                let (dx, dy) = (x1 - x0, y1 - y0);
                let t = (((px - x0) * dx + (py - y0) * dy) / (dx * dx + dy * dy)).clamp(0.0, 1.0);
                let (qx, qy) = (x0 + t * dx - px, y0 + t * dy - py);
                if qx * qx + qy * qy <= r * r {
                    self.px[y * self.w + x] = ink;
                }
            }
        }
    }

    fn run(&self) -> Result<Digit, Error> {
        preprocess(&Image::new(self.w, self.h, Pixels::Luma8(&self.px)).unwrap())
    }
}

/// Box of the nonzero pixels of a 28x28 image: (x0, y0, width, height).
fn nonzero_box(p: &[u8; PIXELS]) -> (usize, usize, usize, usize) {
    let (mut x0, mut y0, mut x1, mut y1) = (SIDE, SIDE, 0, 0);
    for y in 0..SIDE {
        for x in 0..SIDE {
            if p[y * SIDE + x] > 0 {
                (x0, y0, x1, y1) = (x0.min(x), y0.min(y), x1.max(x), y1.max(y));
            }
        }
    }
    (x0, y0, x1 - x0 + 1, y1 - y0 + 1)
}

fn field_centre_of_mass(p: &[u8; PIXELS]) -> (f64, f64) {
    let (mut m, mut mx, mut my) = (0.0, 0.0, 0.0);
    for (i, &v) in p.iter().enumerate() {
        let v = f64::from(v);
        m += v;
        mx += v * (i % SIDE) as f64;
        my += v * (i / SIDE) as f64;
    }
    (mx / m, my / m)
}

/// A "7" drawn off-centre in a 300x200 landscape image.
fn seven(paper: u8, ink: u8) -> Canvas {
    let mut c = Canvas::new(300, 200, paper);
    c.line((30.0, 20.0), (110.0, 22.0), 7.0, ink);
    c.line((110.0, 22.0), (60.0, 150.0), 7.0, ink);
    c
}

#[test]
fn the_centre_of_mass_lands_on_14_14() {
    for c in [seven(255, 0), {
        // An "L": heavy at the bottom left.
        let mut c = Canvas::new(120, 90, 0);
        c.rect(70, 10, 6, 60, 255);
        c.rect(70, 64, 40, 6, 255);
        c
    }] {
        let d = c.run().unwrap();
        let (cx, cy) = field_centre_of_mass(&d.pixels);
        assert!(
            (cx - 14.0).abs() <= 1.0 && (cy - 14.0).abs() <= 1.0,
            "({cx}, {cy})"
        );
    }
}

#[test]
fn the_digit_fits_20x20_keeping_its_aspect_ratio() {
    // A 100x50 bar of ink: 20x10 after fitting.
    let mut c = Canvas::new(300, 200, 255);
    c.rect(40, 30, 100, 50, 0);
    let d = c.run().unwrap();
    assert_eq!(
        d.ink_box,
        InkBox {
            x: 40,
            y: 30,
            width: 100,
            height: 50
        }
    );
    assert_eq!(d.scaled, (20, 10));
    let (_, _, w, h) = nonzero_box(&d.pixels);
    assert_eq!((w, h), (20, 10));
    // A tall one: 30x90 -> 7x20 (30 * 20 / 90 = 6.67).
    let mut c = Canvas::new(200, 300, 255);
    c.rect(150, 200, 30, 90, 0);
    let d = c.run().unwrap();
    assert_eq!(d.scaled, (7, 20));
    let (_, _, w, h) = nonzero_box(&d.pixels);
    assert_eq!((w, h), (7, 20));
}

#[test]
fn dark_on_light_is_inverted_to_match_light_on_dark() {
    let dark_on_light = seven(255, 0).run().unwrap();
    let light_on_dark = seven(0, 255).run().unwrap();
    assert!(dark_on_light.inverted);
    assert!(!light_on_dark.inverted);
    assert_eq!(dark_on_light.pixels, light_on_dark.pixels);
    // Ink bright on black, the field's corners empty.
    assert_eq!(dark_on_light.pixels[0], 0);
    assert_eq!(*dark_on_light.pixels.iter().max().unwrap(), 255);
}

#[test]
fn grey_paper_and_grey_ink_give_the_same_digit() {
    // A photo: the paper is not white and the pencil not black.
    assert_eq!(
        seven(200, 90).run().unwrap().pixels,
        seven(255, 0).run().unwrap().pixels
    );
}

#[test]
fn thin_strokes_are_stretched_to_full_contrast() {
    let mut c = Canvas::new(600, 600, 255);
    c.line((300.0, 40.0), (300.0, 560.0), 1.0, 0);
    c.line((200.0, 300.0), (400.0, 300.0), 1.0, 0);
    let d = c.run().unwrap();
    assert_eq!(*d.pixels.iter().max().unwrap(), 255);
    // 3-pixel lines in a 520-pixel digit: fitted into 18 and thickened back to 20, every row
    // of the upright stroke at least 2 pixels wide, as MNIST's strokes are.
    assert_eq!(d.scaled, (9, 20));
    let (_, top, _, _) = nonzero_box(&d.pixels);
    for y in top + 1..top + 19 {
        let row = &d.pixels[y * SIDE..(y + 1) * SIDE];
        assert!(
            row.iter().filter(|&&v| v >= 64).count() >= 2,
            "row {y}: {row:?}"
        );
    }
}

#[test]
fn strokes_as_wide_as_mnist_ones_are_not_thickened() {
    // A pen of 1/10 of the digit's height: 2 pixels of 20.
    let d = seven(255, 0).run().unwrap();
    assert_eq!(d.scaled.1, 20);
    let mut c = Canvas::new(300, 300, 255);
    c.rect(100, 50, 20, 200, 0);
    assert_eq!(c.run().unwrap().scaled, (2, 20));
}

#[test]
fn colour_and_transparency_reduce_to_the_same_digit() {
    let gray = seven(255, 0);
    let want = gray.run().unwrap().pixels;
    // Dark blue ink on white, as RGB.
    let rgb: Vec<u8> = gray
        .px
        .iter()
        .flat_map(|&v| if v == 0 { [0, 0, 60] } else { [255, 255, 255] })
        .collect();
    let d = preprocess(&Image::new(300, 200, Pixels::Rgb8(&rgb)).unwrap()).unwrap();
    assert_eq!(d.pixels, want);
    // Black ink on a transparent canvas whose hidden colour is black too (as a browser
    // canvas starts).
    let rgba: Vec<u8> = gray
        .px
        .iter()
        .flat_map(|&v| if v == 0 { [0, 0, 0, 255] } else { [0, 0, 0, 0] })
        .collect();
    let d = preprocess(&Image::new(300, 200, Pixels::Rgba8(&rgba)).unwrap()).unwrap();
    assert!(d.inverted);
    assert_eq!(d.pixels, want);
}

#[test]
fn a_blank_image_is_an_error() {
    assert_eq!(Canvas::new(50, 40, 255).run(), Err(Error::Blank));
    assert_eq!(Canvas::new(50, 40, 0).run(), Err(Error::Blank));
    // Faint smudges below the minimum contrast are no digit either.
    let mut c = Canvas::new(50, 40, 240);
    c.rect(10, 10, 5, 5, 240 - ink::MIN_CONTRAST + 1);
    assert_eq!(c.run(), Err(Error::Blank));
    assert!(Error::Blank.to_string().contains("blank"));
}

#[test]
fn a_tiny_image_and_a_single_pixel_work() {
    let mut c = Canvas::new(1, 1, 0);
    c.px[0] = 255;
    assert_eq!(c.run(), Err(Error::Blank), "one pixel is all border");
    let mut c = Canvas::new(3, 3, 0);
    c.px[4] = 255;
    let d = c.run().unwrap();
    assert_eq!(d.scaled, (20, 20));
    assert_eq!(d.pixels.iter().filter(|&&v| v == 255).count(), 400);
}

#[test]
fn an_mnist_sized_digit_keeps_its_shape() {
    // A 20-pixel-tall stroke already the size MNIST uses comes out unscaled.
    let mut c = Canvas::new(28, 28, 0);
    c.rect(12, 4, 3, 20, 255);
    let d = c.run().unwrap();
    assert_eq!(d.scaled, (3, 20));
    // Centre of mass (1, 9.5) in the bar: left 14 - 1, top 14 - 9.5 = 4.5 rounded up.
    assert_eq!(nonzero_box(&d.pixels), (13, 5, 3, 20));
}

#[test]
fn floor_rounds_towards_negative_infinity() {
    assert_eq!(floor(2.7), 2);
    assert_eq!(floor(-0.5), -1);
    assert_eq!(floor(-3.0), -3);
    assert_eq!(floor(0.0), 0);
}
