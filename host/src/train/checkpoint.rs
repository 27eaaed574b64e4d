//! Float checkpoints: the trained net plus the mean image it was trained
//! against, in postcard with a format tag, so `eval`, the quantiser and the
//! plots can pick up a run later. [`Checkpoint`] is also the float net outside training:
//! its forward pass (`x = pixel/255 - mean_image`, `h = relu(x·W1 + b1)`,
//! `scores = h·W2 + b2`) is what the quantiser calibrates against.

use std::path::Path;

use anyhow::{bail, Context};
use serde::{Deserialize, Serialize};

use model_format::{argmax, INPUT};

use crate::real::Real;
use crate::train::net::TwoLayerNet;

pub(crate) const FORMAT: &str = "two-layer-net-checkpoint/1";

/// Images per block in [`Checkpoint::scores_block`]: their hidden vectors stay in L1.
pub const SCORE_BLOCK: usize = 8;

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

    /// Format tag, array lengths consistent with the dims, values finite. Every checkpoint
    /// read from a file has passed it.
    pub fn validate(&self) -> anyhow::Result<()> {
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

    /// Float scores of one image, in the checkpoint's formulation (f32, fixed order).
    /// `pixels` holds the raw 784 (`input`) bytes of the image.
    pub fn scores(&self, pixels: &[u8]) -> Vec<f32> {
        let mut h = self.b1.to_vec();
        for (i, (&p, &m)) in pixels.iter().zip(&self.mean_image).enumerate() {
            let x = f32::from(p) / 255.0 - m;
            let row = &self.w1[i * self.hidden..(i + 1) * self.hidden];
            for (hj, &w) in h.iter_mut().zip(row) {
                *hj += x * w;
            }
        }
        self.layer2(&h)
    }

    /// [`Checkpoint::scores`] of several images with each W1 row read once for all of them
    /// (W1 of a 784-200 net does not fit L2, so one image at a time streams it from L3).
    /// Every image's operations and their order are those of `scores`: the same bits.
    pub fn scores_block(&self, images: &[[u8; INPUT]]) -> Vec<Vec<f32>> {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2, the only feature `scores_block_avx2` is compiled for.
            return unsafe { self.scores_block_avx2(images) };
        }
        self.scores_block_inline(images)
    }

    /// The same code compiled for AVX2 (8 lanes instead of SSE2's 4). Rust never contracts
    /// `x * w + h` into an FMA, so every lane does the same IEEE multiply and add: same bits.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    fn scores_block_avx2(&self, images: &[[u8; INPUT]]) -> Vec<Vec<f32>> {
        self.scores_block_inline(images)
    }

    #[inline(always)]
    fn scores_block_inline(&self, images: &[[u8; INPUT]]) -> Vec<Vec<f32>> {
        let mut hs = vec![self.b1.to_vec(); images.len()];
        for (i, (row, &m)) in self
            .w1
            .chunks_exact(self.hidden)
            .zip(&self.mean_image)
            .enumerate()
        {
            for (h, px) in hs.iter_mut().zip(images) {
                let x = f32::from(px[i]) / 255.0 - m;
                for (hj, &w) in h.iter_mut().zip(row) {
                    *hj += x * w;
                }
            }
        }
        hs.iter().map(|h| self.layer2(h)).collect()
    }

    /// ReLU and layer 2 of [`Checkpoint::scores`].
    fn layer2(&self, h: &[f32]) -> Vec<f32> {
        let mut scores = self.b2.to_vec();
        for (j, &hj) in h.iter().enumerate() {
            let hj = hj.max(0.0);
            if hj > 0.0 {
                let row = &self.w2[j * self.classes..(j + 1) * self.classes];
                for (s, &w) in scores.iter_mut().zip(row) {
                    *s += hj * w;
                }
            }
        }
        scores
    }

    /// Predicted class for one raw 784-byte image.
    pub fn predict(&self, pixels: &[u8]) -> usize {
        argmax(self.scores(pixels))
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
