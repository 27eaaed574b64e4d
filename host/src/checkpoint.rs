//! Float checkpoints: the trained net plus the mean image it was trained
//! against, in postcard with a format tag, so `eval`, the quantiser and the
//! plots can pick up a run later.

use std::path::Path;

use anyhow::{bail, Context};
use serde::{Deserialize, Serialize};

use crate::net::{argmax, Real, TwoLayerNet};

const FORMAT: &str = "two-layer-net-checkpoint/1";

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Checkpoint {
    pub format: String,
    pub input: usize,
    pub hidden: usize,
    pub classes: usize,
    /// `input x hidden`, row-major: `w1[i * hidden + j]`.
    pub w1: Vec<f32>,
    pub b1: Vec<f32>,
    /// `hidden x classes`, row-major: `w2[j * classes + k]`.
    pub w2: Vec<f32>,
    pub b2: Vec<f32>,
    /// Mean of pixel/255 over the training images, subtracted before layer 1.
    pub mean_image: Vec<f32>,
}

fn row_major<T: Real>(col_major: &[T], rows: usize, cols: usize) -> Vec<f32> {
    let mut out = vec![0f32; rows * cols];
    for r in 0..rows {
        for c in 0..cols {
            out[r * cols + c] = col_major[c * rows + r].into() as f32;
        }
    }
    out
}

fn col_major(row_major: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    let mut out = vec![0f32; rows * cols];
    for r in 0..rows {
        for c in 0..cols {
            out[c * rows + r] = row_major[r * cols + c];
        }
    }
    out
}

impl Checkpoint {
    pub fn from_net<T: Real, const I: usize, const H: usize, const C: usize>(
        net: &TwoLayerNet<T, I, H, C>,
        mean_image: &[f32],
    ) -> Self {
        let [w1, b1, w2, b2] = net.slices();
        let flat = |v: &[T]| v.iter().map(|&x| x.into() as f32).collect();
        Self {
            format: FORMAT.into(),
            input: I,
            hidden: H,
            classes: C,
            w1: flat(w1),
            b1: flat(b1),
            w2: row_major(w2, H, C),
            b2: flat(b2),
            mean_image: mean_image.to_vec(),
        }
    }

    /// The net, if the checkpoint has exactly these dimensions.
    pub fn to_net<T: Real, const I: usize, const H: usize, const C: usize>(
        &self,
    ) -> anyhow::Result<TwoLayerNet<T, I, H, C>> {
        if (self.input, self.hidden, self.classes) != (I, H, C) {
            bail!(
                "checkpoint is {}-{}-{}, expected {I}-{H}-{C}",
                self.input,
                self.hidden,
                self.classes
            );
        }
        let w2 = col_major(&self.w2, H, C);
        Ok(TwoLayerNet::from_slices([
            &self.w1, &self.b1, &w2, &self.b2,
        ]))
    }

    fn validate(&self) -> anyhow::Result<()> {
        if self.format != FORMAT {
            bail!(
                "unknown checkpoint format {:?} (this build reads {FORMAT:?})",
                self.format
            );
        }
        let (i, h, c) = (self.input, self.hidden, self.classes);
        let shapes = [
            ("W1", self.w1.len(), i * h),
            ("b1", self.b1.len(), h),
            ("W2", self.w2.len(), h * c),
            ("b2", self.b2.len(), c),
            ("mean_image", self.mean_image.len(), i),
        ];
        for (name, got, want) in shapes {
            if got != want {
                bail!("{name} has {got} values, expected {want} for a {i}-{h}-{c} net");
            }
        }
        let all = [&self.w1, &self.b1, &self.w2, &self.b2, &self.mean_image];
        if all.iter().any(|v| v.iter().any(|x| !x.is_finite())) {
            bail!("checkpoint holds NaN or infinite values");
        }
        Ok(())
    }

    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let bytes = std::fs::read(path)
            .with_context(|| format!("reading checkpoint {}", path.display()))?;
        let ckpt: Self = postcard::from_bytes(&bytes).with_context(|| {
            format!(
                "{}: not a float checkpoint (postcard decode failed)",
                path.display()
            )
        })?;
        ckpt.validate()
            .with_context(|| format!("{}: invalid checkpoint", path.display()))?;
        Ok(ckpt)
    }

    pub fn save(&self, path: &Path) -> anyhow::Result<()> {
        let bytes = postcard::to_stdvec(self)?;
        std::fs::write(path, bytes)
            .with_context(|| format!("writing checkpoint {}", path.display()))
    }

    /// Float hidden layer (after ReLU) for one raw 784-byte image.
    pub fn hidden_float(&self, pixels: &[u8]) -> Vec<f32> {
        let h = self.hidden;
        let mut hid = self.b1.clone();
        for (i, (&p, &m)) in pixels.iter().zip(&self.mean_image).enumerate() {
            let x = p as f32 / 255.0 - m;
            if x != 0.0 {
                for (a, &w) in hid.iter_mut().zip(&self.w1[i * h..(i + 1) * h]) {
                    *a += x * w;
                }
            }
        }
        hid.iter_mut().for_each(|a| *a = a.max(0.0));
        hid
    }

    /// Float scores for one raw 784-byte image.
    pub fn scores_float(&self, pixels: &[u8]) -> Vec<f32> {
        let hid = self.hidden_float(pixels);
        let c = self.classes;
        let mut s = self.b2.clone();
        for (j, &a) in hid.iter().enumerate() {
            for (o, &w) in s.iter_mut().zip(&self.w2[j * c..(j + 1) * c]) {
                *o += a * w;
            }
        }
        s
    }

    /// Predicted class for one raw 784-byte image.
    pub fn predict_float(&self, pixels: &[u8]) -> usize {
        argmax(self.scores_float(pixels))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::NumpyRng;

    #[test]
    fn round_trip_through_file_and_net() {
        let mut rng = NumpyRng::new(5);
        let net = TwoLayerNet::<f32, 6, 4, 3>::init(0.3, &mut rng);
        let ckpt = Checkpoint::from_net(&net, &[0.1; 6]);
        assert_eq!(ckpt.w1[1], net.w1t[(1, 0)], "row-major W1");
        let path = std::env::temp_dir().join(format!("ckpt-{}.bin", std::process::id()));
        ckpt.save(&path).unwrap();
        let back = Checkpoint::load(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        assert_eq!(back, ckpt);
        let net2: TwoLayerNet<f32, 6, 4, 3> = back.to_net().unwrap();
        assert_eq!(net2.w1t, net.w1t);
        assert!(back.to_net::<f32, 6, 5, 3>().is_err());
    }

    #[test]
    fn damaged_file_is_an_error() {
        let path = std::env::temp_dir().join(format!("ckpt-bad-{}.bin", std::process::id()));
        std::fs::write(&path, b"garbage").unwrap();
        let err = Checkpoint::load(&path).unwrap_err();
        std::fs::remove_file(&path).unwrap();
        assert!(
            format!("{err:#}").contains("not a float checkpoint"),
            "{err:#}"
        );
    }
}
