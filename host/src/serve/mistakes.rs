//! The test-set images the model gets wrong, for the page's browser of mistakes.

use std::path::Path;

use model_format::{Model, INPUT};
use serde::Serialize;

use crate::data::mnist;

/// The MNIST test set and the model's mistakes on it.
pub struct TestSet {
    /// 10,000 images of 784 pixels, row-major.
    pub images: Vec<u8>,
    pub mistakes: Vec<Mistake>,
}

/// One misclassified test image.
#[derive(Debug, Clone, Serialize)]
pub struct Mistake {
    /// Index in the MNIST test set (0..10,000).
    pub index: usize,
    pub label: u8,
    pub predicted: u8,
    pub logits: Vec<i32>,
}

impl TestSet {
    /// Load the test set from `data_dir` and classify every image with `model`.
    pub fn load(data_dir: &Path, model: &Model<'_>) -> anyhow::Result<Self> {
        let (images, labels) = mnist::load_test(data_dir)?;
        let mistakes = images
            .chunks_exact(INPUT)
            .zip(&labels)
            .enumerate()
            .filter_map(|(index, (pixels, &label))| {
                let pixels: &[u8; INPUT] = pixels.try_into().ok()?;
                let p = model.infer(pixels);
                (p.class != label).then(|| Mistake {
                    index,
                    label,
                    predicted: p.class,
                    logits: p.logits().to_vec(),
                })
            })
            .collect();
        Ok(TestSet { images, mistakes })
    }

    /// Test image `index` (784 bytes), if there is one.
    pub fn image(&self, index: usize) -> Option<&[u8]> {
        self.images.get(index * INPUT..(index + 1) * INPUT)
    }

    /// The pixels of every mistake, 784 bytes each, in the order of `mistakes`: the page gets
    /// them in one request rather than hundreds.
    pub fn mistake_images(&self) -> Vec<u8> {
        self.mistakes
            .iter()
            .filter_map(|m| self.image(m.index))
            .flatten()
            .copied()
            .collect()
    }

    pub fn len(&self) -> usize {
        self.images.len() / INPUT
    }

    pub fn is_empty(&self) -> bool {
        self.images.is_empty()
    }
}
