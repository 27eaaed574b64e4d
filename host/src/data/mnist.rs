//! MNIST IDX files (gzip or raw), checked header by header, and the homework's
//! split and preprocessing: 55,000 train / 5,000 validation / 10,000 test,
//! pixels scaled to [0, 1] with the mean training image subtracted.

use std::io::Read;
use std::path::{Path, PathBuf};

use crate::data::sparse_rows::SparseRows;
use crate::real::Real;

pub const ROWS: usize = 28;
pub const COLS: usize = 28;
pub const PIXELS: usize = ROWS * COLS;
pub const CLASSES: usize = 10;
pub const TRAIN_TOTAL: usize = 60_000;
pub const TRAIN: usize = 55_000;
pub const VAL: usize = 5_000;
pub const TEST: usize = 10_000;

const IMAGES_MAGIC: u32 = 0x0000_0803;
const LABELS_MAGIC: u32 = 0x0000_0801;

/// File names as distributed by LeCun et al.; a raw (un-gzipped) file of the
/// same name without `.gz` is accepted too.
pub const TRAIN_IMAGES: &str = "train-images-idx3-ubyte";
pub const TRAIN_LABELS: &str = "train-labels-idx1-ubyte";
pub const TEST_IMAGES: &str = "t10k-images-idx3-ubyte";
pub const TEST_LABELS: &str = "t10k-labels-idx1-ubyte";

/// What was wrong with an MNIST file; every variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum MnistError {
    #[error("{path}: not found (looked for it and for its .gz form); the MNIST files ship in data/mnist/")]
    Missing { path: PathBuf },
    #[error("{path}: {what}, not an MNIST file")]
    NotAFile { path: PathBuf, what: String },
    #[error("{path}: holds no images (the header gives 0 rows of data)")]
    Empty { path: PathBuf },
    #[error("{path}: cannot read: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: truncated: {what} needs {need} bytes, the file has {have}")]
    Truncated {
        path: PathBuf,
        what: &'static str,
        need: usize,
        have: usize,
    },
    #[error("{path}: wrong magic number 0x{found:08x}, expected 0x{expected:08x} ({kind} file)")]
    BadMagic {
        path: PathBuf,
        found: u32,
        expected: u32,
        kind: &'static str,
    },
    #[error("{path}: the header gives images of {rows} rows by {cols} columns of pixels, expected {ROWS} by {COLS}")]
    BadDims { path: PathBuf, rows: u32, cols: u32 },
    #[error("{path}: {len} bytes of data after the {expected} expected ones (trailing garbage)")]
    TrailingBytes {
        path: PathBuf,
        len: usize,
        expected: usize,
    },
    #[error("{path}: holds {found} items, expected {expected}")]
    CountMismatch {
        path: PathBuf,
        found: usize,
        expected: usize,
    },
    #[error("{path}: label {label} at index {index} is not a digit 0-9")]
    BadLabel {
        path: PathBuf,
        index: usize,
        label: u8,
    },
}

/// The four files as raw bytes: images row-major, 784 bytes each.
#[derive(Clone)]
pub struct RawMnist {
    pub train_images: Vec<u8>,
    pub train_labels: Vec<u8>,
    pub test_images: Vec<u8>,
    pub test_labels: Vec<u8>,
}

/// `<repo>/data/mnist`, where the project ships the data set.
pub fn default_data_dir() -> PathBuf {
    crate::paths::repo_root().join("data").join("mnist")
}

fn read_maybe_gz(dir: &Path, name: &str) -> Result<(PathBuf, Vec<u8>), MnistError> {
    let gz = dir.join(format!("{name}.gz"));
    let raw = dir.join(name);
    let (path, gzipped) = if gz.is_file() {
        (gz, true)
    } else if raw.is_file() {
        (raw, false)
    } else {
        // Something by either name that is not a readable file is named as what it is.
        for path in [gz.clone(), raw] {
            if let Some(what) = not_a_file(&path) {
                return Err(MnistError::NotAFile { path, what });
            }
        }
        return Err(MnistError::Missing { path: gz });
    };
    let io = |source| MnistError::Io {
        path: path.clone(),
        source,
    };
    let bytes = std::fs::read(&path).map_err(io)?;
    if !gzipped {
        return Ok((path, bytes));
    }
    let mut out = Vec::with_capacity(bytes.len() * 6);
    flate2::read::GzDecoder::new(&bytes[..])
        .read_to_end(&mut out)
        .map_err(io)?;
    Ok((path, out))
}

/// What `path` is when something is there but it is not a file (None if nothing is there).
fn not_a_file(path: &Path) -> Option<String> {
    let meta = std::fs::symlink_metadata(path).ok()?;
    if meta.file_type().is_symlink() {
        let target = std::fs::read_link(path)
            .map(|t| t.display().to_string())
            .unwrap_or_else(|_| "?".into());
        return Some(match std::fs::metadata(path) {
            Err(_) => format!("a dangling symbolic link (to {target}, which does not exist)"),
            Ok(m) if m.is_dir() => format!("a symbolic link to a directory ({target})"),
            Ok(_) => format!("a symbolic link to {target}, which is not a regular file"),
        });
    }
    Some(if meta.is_dir() {
        "a directory".to_owned()
    } else {
        "not a regular file (a device, socket or pipe)".to_owned()
    })
}

fn be_u32(path: &Path, bytes: &[u8], at: usize, what: &'static str) -> Result<u32, MnistError> {
    match bytes.get(at..at + 4) {
        Some(b) => Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]])),
        None => Err(MnistError::Truncated {
            path: path.to_owned(),
            what,
            need: at + 4,
            have: bytes.len(),
        }),
    }
}

fn check_magic(
    path: &Path,
    found: u32,
    expected: u32,
    kind: &'static str,
) -> Result<(), MnistError> {
    if found != expected {
        return Err(MnistError::BadMagic {
            path: path.to_owned(),
            found,
            expected,
            kind,
        });
    }
    Ok(())
}

fn check_payload(path: &Path, bytes: &[u8], header: usize, len: usize) -> Result<(), MnistError> {
    let expected = header + len;
    if bytes.len() < expected {
        return Err(MnistError::Truncated {
            path: path.to_owned(),
            what: "the data its header announces",
            need: expected,
            have: bytes.len(),
        });
    }
    if bytes.len() > expected {
        return Err(MnistError::TrailingBytes {
            path: path.to_owned(),
            len: bytes.len() - expected,
            expected,
        });
    }
    Ok(())
}

/// Parse an IDX3 image file's bytes: returns the pixels (count x 784).
pub fn parse_images(path: &Path, bytes: &[u8]) -> Result<Vec<u8>, MnistError> {
    check_magic(
        path,
        be_u32(path, bytes, 0, "the header")?,
        IMAGES_MAGIC,
        "image",
    )?;
    let count = be_u32(path, bytes, 4, "the header")? as usize;
    let rows = be_u32(path, bytes, 8, "the header")?;
    let cols = be_u32(path, bytes, 12, "the header")?;
    if rows as usize != ROWS || cols as usize != COLS {
        return Err(MnistError::BadDims {
            path: path.to_owned(),
            rows,
            cols,
        });
    }
    if count == 0 {
        return Err(MnistError::Empty {
            path: path.to_owned(),
        });
    }
    check_payload(path, bytes, 16, count * PIXELS)?;
    Ok(bytes[16..].to_vec())
}

/// Parse an IDX1 label file's bytes.
pub fn parse_labels(path: &Path, bytes: &[u8]) -> Result<Vec<u8>, MnistError> {
    check_magic(
        path,
        be_u32(path, bytes, 0, "the header")?,
        LABELS_MAGIC,
        "label",
    )?;
    let count = be_u32(path, bytes, 4, "the header")? as usize;
    check_payload(path, bytes, 8, count)?;
    let labels = bytes[8..].to_vec();
    if let Some((index, &label)) = labels
        .iter()
        .enumerate()
        .find(|(_, &l)| l as usize >= CLASSES)
    {
        return Err(MnistError::BadLabel {
            path: path.to_owned(),
            index,
            label,
        });
    }
    Ok(labels)
}

fn load_pair(
    dir: &Path,
    images: &str,
    labels: &str,
    expected: usize,
) -> Result<(Vec<u8>, Vec<u8>), MnistError> {
    let (ipath, ibytes) = read_maybe_gz(dir, images)?;
    let imgs = parse_images(&ipath, &ibytes)?;
    let (lpath, lbytes) = read_maybe_gz(dir, labels)?;
    let labs = parse_labels(&lpath, &lbytes)?;
    for (path, found) in [(ipath, imgs.len() / PIXELS), (lpath, labs.len())] {
        if found != expected {
            return Err(MnistError::CountMismatch {
                path,
                found,
                expected,
            });
        }
    }
    Ok((imgs, labs))
}

/// Load the four MNIST files from `dir`, checking every header.
pub fn load_raw(dir: &Path) -> Result<RawMnist, MnistError> {
    let (train_images, train_labels) = load_pair(dir, TRAIN_IMAGES, TRAIN_LABELS, TRAIN_TOTAL)?;
    let (test_images, test_labels) = load_pair(dir, TEST_IMAGES, TEST_LABELS, TEST)?;
    Ok(RawMnist {
        train_images,
        train_labels,
        test_images,
        test_labels,
    })
}

/// Load the test images and labels alone from `dir` (10,000 of each), checking the headers.
pub fn load_test(dir: &Path) -> Result<(Vec<u8>, Vec<u8>), MnistError> {
    load_pair(dir, TEST_IMAGES, TEST_LABELS, TEST)
}

/// One preprocessed split: `x` is row-major (n x 784), `y` the labels.
#[derive(Clone)]
pub struct Split<T> {
    pub x: Vec<T>,
    pub y: Vec<u8>,
}

impl<T> Split<T> {
    pub fn len(&self) -> usize {
        self.y.len()
    }
    pub fn is_empty(&self) -> bool {
        self.y.is_empty()
    }
    pub fn image(&self, i: usize) -> &[T] {
        self.image_of::<PIXELS>(i)
    }
    /// Row `i` when rows are `N` values wide.
    pub fn image_of<const N: usize>(&self, i: usize) -> &[T] {
        &self.x[i * N..(i + 1) * N]
    }
}

/// The homework's data: split, scaled to [0, 1], mean training image removed.
pub struct Dataset<T> {
    pub train: Split<T>,
    pub val: Split<T>,
    pub test: Split<T>,
    /// Mean of pixel/255 over the 55,000 training images (f64 sum, like numpy).
    pub mean_image: Vec<f32>,
    /// The training images once more, as sparse `pixel/255` rows (for the
    /// sparse training step; about 19 % of MNIST's pixels are nonzero).
    pub train_pixels: SparseRows<T>,
}

/// Mean of `pixel / 255` per position over the first `n` images.
pub fn mean_image(images: &[u8], n: usize) -> Vec<f32> {
    let mut sum = vec![0f64; PIXELS];
    for img in images[..n * PIXELS].chunks_exact(PIXELS) {
        for (s, &p) in sum.iter_mut().zip(img) {
            *s += p as f64 / 255.0;
        }
    }
    sum.iter().map(|s| (s / n as f64) as f32).collect()
}

fn preprocess<T: From<f32>>(images: &[u8], labels: &[u8], mean: &[f32]) -> Split<T> {
    let x = images
        .chunks_exact(PIXELS)
        .flat_map(|img| {
            img.iter()
                .zip(mean)
                .map(|(&p, &m)| T::from(p as f32 / 255.0 - m))
        })
        .collect();
    Split {
        x,
        y: labels.to_vec(),
    }
}

impl<T: Real> Dataset<T> {
    /// The homework's preprocessing with the mean of the 55,000 training images.
    pub fn from_raw(raw: &RawMnist) -> Self {
        Self::with_mean(raw, &mean_image(&raw.train_images, TRAIN))
    }

    /// Preprocess with a given mean image (e.g. the one a checkpoint was trained with).
    pub fn with_mean(raw: &RawMnist, mean: &[f32]) -> Self {
        let mean = mean.to_vec();
        let (tr_x, va_x) = raw.train_images.split_at(TRAIN * PIXELS);
        let (tr_y, va_y) = raw.train_labels.split_at(TRAIN);
        Dataset {
            train: preprocess(tr_x, tr_y, &mean),
            val: preprocess(va_x, va_y, &mean),
            test: preprocess(&raw.test_images, &raw.test_labels, &mean),
            mean_image: mean,
            train_pixels: SparseRows::from_pixels(tr_x, PIXELS),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn idx_images(count: u32, rows: u32, cols: u32, payload: usize) -> Vec<u8> {
        let mut v = Vec::new();
        for w in [IMAGES_MAGIC, count, rows, cols] {
            v.extend_from_slice(&w.to_be_bytes());
        }
        v.extend((0..payload).map(|i| i as u8));
        v
    }

    fn idx_labels(count: u32, labels: &[u8]) -> Vec<u8> {
        let mut v = LABELS_MAGIC.to_be_bytes().to_vec();
        v.extend_from_slice(&count.to_be_bytes());
        v.extend_from_slice(labels);
        v
    }

    fn p() -> PathBuf {
        PathBuf::from("x-idx3-ubyte")
    }

    #[test]
    fn good_files_parse() {
        let imgs = parse_images(&p(), &idx_images(2, 28, 28, 2 * PIXELS)).unwrap();
        assert_eq!(imgs.len(), 2 * PIXELS);
        assert_eq!(imgs[1], 1);
        assert_eq!(
            parse_labels(&p(), &idx_labels(3, &[0, 9, 4])).unwrap(),
            vec![0, 9, 4]
        );
    }

    #[test]
    fn truncated_header_and_payload() {
        let e = parse_images(&p(), &idx_images(2, 28, 28, 0)[..10]).unwrap_err();
        assert!(
            matches!(
                e,
                MnistError::Truncated {
                    need: 12,
                    have: 10,
                    ..
                }
            ),
            "{e}"
        );
        let e = parse_images(&p(), &idx_images(2, 28, 28, PIXELS)).unwrap_err();
        assert!(matches!(e, MnistError::Truncated { .. }), "{e}");
        assert!(
            e.to_string().contains("x-idx3-ubyte"),
            "names the file: {e}"
        );
        let e = parse_labels(&p(), &idx_labels(3, &[1, 2])).unwrap_err();
        assert!(matches!(e, MnistError::Truncated { .. }), "{e}");
    }

    #[test]
    fn wrong_magic() {
        let e = parse_images(&p(), &idx_labels(1, &[1])).unwrap_err();
        assert!(
            matches!(e, MnistError::BadMagic { found: 0x801, .. }),
            "{e}"
        );
        let e = parse_labels(&p(), &idx_images(1, 28, 28, PIXELS)).unwrap_err();
        assert!(
            matches!(e, MnistError::BadMagic { found: 0x803, .. }),
            "{e}"
        );
    }

    #[test]
    fn wrong_dims_trailing_and_bad_label() {
        let e = parse_images(&p(), &idx_images(1, 32, 32, 1024)).unwrap_err();
        assert!(matches!(e, MnistError::BadDims { rows: 32, .. }), "{e}");
        let e = parse_images(&p(), &idx_images(1, 28, 28, PIXELS + 3)).unwrap_err();
        assert!(matches!(e, MnistError::TrailingBytes { len: 3, .. }), "{e}");
        let e = parse_labels(&p(), &idx_labels(2, &[3, 10])).unwrap_err();
        assert!(
            matches!(
                e,
                MnistError::BadLabel {
                    index: 1,
                    label: 10,
                    ..
                }
            ),
            "{e}"
        );
    }

    #[test]
    fn zero_rows_or_images_read_as_words_not_hex() {
        let e = parse_images(&p(), &idx_images(1, 0, 28, 0)).unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.contains("images of 0 rows by 28 columns of pixels, expected 28 by 28")
                && !msg.contains("0x28"),
            "{msg}"
        );
        let e = parse_images(&p(), &idx_images(0, 28, 28, 0)).unwrap_err();
        assert!(matches!(e, MnistError::Empty { .. }), "{e}");
        assert!(e.to_string().contains("holds no images"), "{e}");
    }

    #[test]
    fn a_directory_or_dangling_link_is_named_as_such() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join(format!("{TRAIN_IMAGES}.gz"))).unwrap();
        let msg = load_raw(dir.path()).err().unwrap().to_string();
        assert!(
            msg.contains("train-images-idx3-ubyte.gz: a directory, not an MNIST file"),
            "{msg}"
        );

        let dir = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink("/nonexistent-mnist", dir.path().join(TRAIN_IMAGES)).unwrap();
        let msg = load_raw(dir.path()).err().unwrap().to_string();
        assert!(
            msg.contains("train-images-idx3-ubyte: a dangling symbolic link (to /nonexistent-mnist, which does not exist)"),
            "{msg}"
        );
        assert!(!msg.contains("not found"), "{msg}");
    }

    fn write_gz(path: &Path, bytes: &[u8]) {
        let f = std::fs::File::create(path).unwrap();
        let mut enc = flate2::write::GzEncoder::new(f, flate2::Compression::fast());
        enc.write_all(bytes).unwrap();
        enc.finish().unwrap();
    }

    #[test]
    fn directory_errors_name_the_file() {
        let dir = std::env::temp_dir().join(format!("mnist-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let e = load_raw(&dir).err().unwrap();
        assert!(matches!(e, MnistError::Missing { .. }), "{e}");
        assert!(e.to_string().contains("train-images-idx3-ubyte.gz"), "{e}");

        // Right format, wrong count: 2 images where 60,000 are expected.
        write_gz(
            &dir.join(format!("{TRAIN_IMAGES}.gz")),
            &idx_images(2, 28, 28, 2 * PIXELS),
        );
        std::fs::write(dir.join(TRAIN_LABELS), idx_labels(2, &[1, 2])).unwrap();
        let e = load_raw(&dir).err().unwrap();
        assert!(
            matches!(
                e,
                MnistError::CountMismatch {
                    found: 2,
                    expected: 60_000,
                    ..
                }
            ),
            "{e}"
        );

        // A corrupt gzip stream is an I/O error naming the file, not a panic.
        std::fs::write(
            dir.join(format!("{TRAIN_IMAGES}.gz")),
            b"\x1f\x8bnot really gzip",
        )
        .unwrap();
        let e = load_raw(&dir).err().unwrap();
        assert!(matches!(e, MnistError::Io { .. }), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn shipped_data_loads_and_splits() {
        let raw = load_raw(&default_data_dir()).unwrap();
        let ds: Dataset<f32> = Dataset::from_raw(&raw);
        assert_eq!(
            (ds.train.len(), ds.val.len(), ds.test.len()),
            (TRAIN, VAL, TEST)
        );
        // Mean-subtracted training data averages to zero at every pixel.
        let mut col = vec![0f64; PIXELS];
        for i in 0..TRAIN {
            for (c, &v) in col.iter_mut().zip(ds.train.image(i)) {
                *c += v as f64;
            }
        }
        assert!(col.iter().all(|c| (c / TRAIN as f64).abs() < 1e-5));
        assert_eq!(&ds.val.y[..], &raw.train_labels[TRAIN..]);
    }
}
