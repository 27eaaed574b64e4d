//! Placing the scaled digit in the 28x28 field by its centre of mass, as MNIST did.

use crate::resample::Scaled;
use crate::{floor, BOX, SIDE};

/// Where MNIST's centres of mass lie, in pixel indices: the 60,000 training digits average
/// (13.996, 14.007) with a spread of 0.29 px, the spread of rounding to whole pixels.
pub const CENTRE: f64 = 14.0;

/// Centre of mass (x, y) of the scaled digit in its own pixel indices.
pub fn centre_of_mass(s: &Scaled) -> (f64, f64) {
    let (mut m, mut mx, mut my) = (0.0, 0.0, 0.0);
    for y in 0..s.height {
        for x in 0..s.width {
            let v = f64::from(s.pixels[y * BOX + x]);
            m += v;
            mx += v * x as f64;
            my += v * y as f64;
        }
    }
    if m == 0.0 {
        return ((s.width - 1) as f64 / 2.0, (s.height - 1) as f64 / 2.0);
    }
    (mx / m, my / m)
}

/// Copy the scaled digit into the field, shifted by whole pixels so its centre of mass lands
/// on [`CENTRE`]. A lopsided digit whose shift would push ink out of the field is moved only
/// as far as the edge: all of the digit is worth more than a centre a pixel or two off.
pub fn place(s: &Scaled) -> [u8; SIDE * SIDE] {
    let (cx, cy) = centre_of_mass(s);
    let offset = |c: f64, len: usize| -> usize {
        // `len <= BOX < SIDE`, so the clamp range is not empty.
        floor(CENTRE - c + 0.5).clamp(0, (SIDE - len) as i64) as usize
    };
    let (left, top) = (offset(cx, s.width), offset(cy, s.height));
    let mut field = [0u8; SIDE * SIDE];
    for y in 0..s.height {
        let dst = (top + y) * SIDE + left;
        field[dst..dst + s.width].copy_from_slice(&s.pixels[y * BOX..y * BOX + s.width]);
    }
    field
}
