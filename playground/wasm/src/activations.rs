//! What the page asks of a model, in safe Rust: the logits ([`model_format::Model::infer`], the
//! chip's forward pass) and the hidden layer's activations for the heat map.
//!
//! `Model::infer` keeps its activations in a stack scratch, so they are recomputed here from
//! the model's public parameters with the same `requantize`; [`Activations::agree`] checks them
//! by running layer 2 on them and comparing with `infer`'s logits, so the heat map cannot show
//! numbers the net did not use.

use model_format::{requantize, Model, Prediction, INPUT, MAX_CLASSES, MAX_HIDDEN};

/// The hidden layer of one inference.
pub struct Activations {
    /// `u8` activations after requantisation and ReLU; the first `len` are valid.
    pub values: [u8; MAX_HIDDEN],
    pub len: usize,
}

impl Activations {
    /// Layer 1 of `model` on `pixels`: `requantize(b1 + w1 . x, multiplier, shift)` per unit.
    pub fn of(model: &Model<'_>, pixels: &[u8; INPUT]) -> Self {
        let mut values = [0u8; MAX_HIDDEN];
        let len = model.dims().hidden.min(MAX_HIDDEN);
        // `w1()` is hidden-major whatever the stored layout: one row of INPUT weights per unit.
        let mut w1 = model.w1();
        for ((h, bias), (mult, shift)) in values
            .iter_mut()
            .take(len)
            .zip(model.b1())
            .zip(model.requant())
        {
            let dot: i32 = w1
                .by_ref()
                .take(INPUT)
                .zip(pixels)
                .map(|(w, &x)| i32::from(w) * i32::from(x))
                .sum();
            *h = requantize(bias + dot, mult, shift);
        }
        Activations { values, len }
    }

    /// The valid activations.
    pub fn values(&self) -> &[u8] {
        self.values.get(..self.len).unwrap_or(&[])
    }

    /// Layer 2 on these activations gives `prediction`'s logits (they are what `infer` used).
    pub fn agree(&self, model: &Model<'_>, prediction: &Prediction) -> bool {
        let hidden = self.values();
        let mut w2 = model.w2();
        let mut logits = [0i32; MAX_CLASSES];
        for (logit, bias) in logits.iter_mut().zip(model.b2()) {
            // `w2()` is class-major: one row of `hidden` weights per class.
            let dot: i32 = w2
                .by_ref()
                .take(hidden.len())
                .zip(hidden)
                .map(|(w, &h)| i32::from(w) * i32::from(h))
                .sum();
            *logit = bias + dot;
        }
        Prediction::from_logits(logits, model.dims().classes) == *prediction
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn committed_model() -> Vec<u8> {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/model.postcard");
        std::fs::read(path).expect("the committed model data/model.postcard")
    }

    #[test]
    fn activations_reproduce_the_logits_of_infer() {
        let bytes = committed_model();
        let model = Model::from_bytes(&bytes).unwrap();
        // A few synthetic images: blank, saturated, a gradient and a bar.
        let images: [[u8; INPUT]; 4] = [
            [0; INPUT],
            [255; INPUT],
            core::array::from_fn(|i| (i % 256) as u8),
            core::array::from_fn(|i| if (i % 28).abs_diff(14) < 3 { 255 } else { 0 }),
        ];
        for pixels in &images {
            let prediction = model.infer(pixels);
            let act = Activations::of(&model, pixels);
            assert_eq!(act.values().len(), model.dims().hidden);
            assert!(act.agree(&model, &prediction));
        }
    }

    #[test]
    fn changed_activations_disagree() {
        let bytes = committed_model();
        let model = Model::from_bytes(&bytes).unwrap();
        let pixels: [u8; INPUT] = core::array::from_fn(|i| (i * 7 % 256) as u8);
        let prediction = model.infer(&pixels);
        let mut act = Activations::of(&model, &pixels);
        // Some unit with a nonzero layer-2 weight to class 0 changes class 0's logit.
        let unit = model.w2().take(act.len).position(|w| w != 0).unwrap();
        act.values[unit] = act.values[unit].wrapping_add(1);
        assert!(!act.agree(&model, &prediction));
    }
}
