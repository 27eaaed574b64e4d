//! Bounds of the size-like and real-valued flags, checked by clap before anything is loaded or
//! allocated: a value outside them is a typo or a run nobody wants (a 313 GB batch buffer, an
//! untrained net), and the error says which bound and why.

use crate::data::mnist;
use crate::train::hidden_widths::{UnsupportedHidden, SUPPORTED};

/// Longest run in iterations (`--iters`, and `--epochs` times iterations per epoch).
pub const MAX_ITERS: usize = 10_000_000;
/// Longest run in epochs (the best preset uses 80).
pub const MAX_EPOCHS: usize = 10_000;
/// Most runs at once for `tune` and `homework` (each run holds its own net and batch buffers).
pub const MAX_JOBS: usize = 256;
/// Most settings a random search draws.
pub const MAX_SAMPLES: usize = 100_000;

fn count(s: &str, lo: usize, hi: usize, why: &str) -> Result<usize, String> {
    let n: usize = s
        .trim()
        .parse()
        .map_err(|e| format!("{e} (expected a whole number from {lo} to {hi})"))?;
    if n < lo || n > hi {
        return Err(format!("must be from {lo} to {hi}: {why}"));
    }
    Ok(n)
}

/// `--iters`: 1 ..= [`MAX_ITERS`].
pub fn iters(s: &str) -> Result<usize, String> {
    count(
        s,
        1,
        MAX_ITERS,
        "0 iterations would write an untrained net, and a longer run is surely a typo",
    )
}

/// `--epochs`: 1 ..= [`MAX_EPOCHS`].
pub fn epochs(s: &str) -> Result<usize, String> {
    count(
        s,
        1,
        MAX_EPOCHS,
        "0 epochs would write an untrained net, and a longer run is surely a typo",
    )
}

/// `--batch`: 1 ..= the training rows.
pub fn batch(s: &str) -> Result<usize, String> {
    count(
        s,
        1,
        mnist::TRAIN,
        "a batch holds at most the 55000 training images (60000 minus 5000 held out for validation)",
    )
}

/// `--warmup`: 0 ..= [`MAX_ITERS`].
pub fn warmup(s: &str) -> Result<usize, String> {
    count(
        s,
        0,
        MAX_ITERS,
        "the warmup cannot be longer than the longest run",
    )
}

/// `--jobs`: 1 ..= [`MAX_JOBS`].
pub fn jobs(s: &str) -> Result<usize, String> {
    count(
        s,
        1,
        MAX_JOBS,
        "at least one run, and each run at once holds its own net and buffers",
    )
}

/// `--random`: 1 ..= [`MAX_SAMPLES`].
pub fn samples(s: &str) -> Result<usize, String> {
    count(
        s,
        1,
        MAX_SAMPLES,
        "a random search draws at least one setting, and more than that is surely a typo",
    )
}

/// `--images` of the test-set commands: 1 ..= the 10,000 test images.
pub fn test_images(s: &str) -> Result<usize, String> {
    count(s, 1, mnist::TEST, "the MNIST test set has 10000 images")
}

/// `--hidden`: one of the built-in widths.
pub fn hidden(s: &str) -> Result<usize, String> {
    let h: usize = s
        .trim()
        .parse()
        .map_err(|e| format!("{e} (expected one of {SUPPORTED:?})"))?;
    if SUPPORTED.contains(&h) {
        Ok(h)
    } else {
        Err(UnsupportedHidden(h).to_string())
    }
}

fn real(s: &str) -> Result<f64, String> {
    let v: f64 = s
        .trim()
        .parse()
        .map_err(|e| format!("{e} (expected a number)"))?;
    if v.is_finite() {
        Ok(v)
    } else {
        Err(format!("must be a finite number, not {v}"))
    }
}

/// A finite number > 0 (`--lr`, `--init-std`, `--lr-decay`).
pub fn positive(s: &str) -> Result<f64, String> {
    let v = real(s)?;
    if v > 0.0 {
        Ok(v)
    } else {
        Err(format!("must be greater than 0, not {v}"))
    }
}

/// A finite number >= 0 (`--reg`, `--weight-decay`).
pub fn non_negative(s: &str) -> Result<f64, String> {
    let v = real(s)?;
    if v >= 0.0 {
        Ok(v)
    } else {
        Err(format!("must be 0 or more, not {v}"))
    }
}

/// A fraction in [0, 1) (`--momentum`, the dropout probabilities).
pub fn fraction(s: &str) -> Result<f64, String> {
    let v = real(s)?;
    if (0.0..1.0).contains(&v) {
        Ok(v)
    } else {
        Err(format!("must be at least 0 and below 1, not {v}"))
    }
}

/// A decay strictly between 0 and 1 (`--ema`).
pub fn decay(s: &str) -> Result<f64, String> {
    let v = real(s)?;
    if v > 0.0 && v < 1.0 {
        Ok(v)
    } else {
        Err(format!("must be above 0 and below 1, not {v}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_at_their_bounds() {
        assert!(iters("0").is_err());
        assert_eq!(iters("1"), Ok(1));
        assert_eq!(iters("10000000"), Ok(MAX_ITERS));
        assert!(iters("10000001").is_err());
        assert!(epochs("0").is_err());
        assert_eq!(epochs("10000"), Ok(MAX_EPOCHS));
        assert!(epochs("10001").is_err());
        assert!(batch("0").is_err());
        assert_eq!(batch("55000"), Ok(55_000));
        assert!(batch("55001")
            .unwrap_err()
            .contains("55000 training images"));
        assert!(jobs("0").is_err());
        assert_eq!(jobs("256"), Ok(256));
        assert!(jobs("257").is_err());
        assert!(test_images("0").is_err());
        assert_eq!(test_images("10000"), Ok(10_000));
        assert!(test_images("10001").is_err());
        assert_eq!(warmup("0"), Ok(0));
        assert!(samples("0").is_err());
        assert!(iters("-1").is_err());
        assert!(hidden("77").unwrap_err().contains("hidden size 77"));
        assert_eq!(hidden("1024"), Ok(1024));
        assert_eq!(hidden("16"), Ok(16));
        assert_eq!(hidden("32"), Ok(32));
    }

    #[test]
    fn reals_reject_non_finite_and_out_of_range() {
        for bad in ["nan", "NaN", "inf", "-inf", "0", "-1e-4"] {
            assert!(positive(bad).is_err(), "{bad}");
        }
        assert_eq!(positive("1e-4"), Ok(1e-4));
        assert_eq!(non_negative("0"), Ok(0.0));
        assert!(non_negative("-0.1").is_err());
        assert!(non_negative("nan").is_err());
        assert_eq!(fraction("0"), Ok(0.0));
        assert_eq!(fraction("0.99"), Ok(0.99));
        assert!(fraction("1").is_err());
        assert!(fraction("-0.1").is_err());
        assert!(fraction("nan").is_err());
        assert_eq!(decay("0.999"), Ok(0.999));
        for bad in ["0", "1", "-0.5", "nan"] {
            assert!(decay(bad).is_err(), "{bad}");
        }
    }
}
