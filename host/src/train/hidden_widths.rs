//! Hidden sizes the CLI can build. Each is a separate monomorphised
//! `TwoLayerNet<_, 784, H, 10>` (static shapes let the compiler size every
//! buffer), so a size must be listed here to be usable.

/// The hidden-layer widths `with_hidden!` dispatches to.
pub const SUPPORTED: [usize; 10] = [16, 32, 50, 64, 100, 128, 200, 256, 512, 1024];

#[derive(Debug, thiserror::Error, PartialEq)]
#[error(
    "hidden size {0} is not built in; choose one of 16, 32, 50, 64, 100, 128, 200, 256, 512, 1024"
)]
pub struct UnsupportedHidden(pub usize);

/// `with_hidden!(h, f(args...))` calls `f::<H>(args...)` for the listed
/// size `H == h`, or evaluates to `Err(UnsupportedHidden(h).into())`.
#[macro_export]
macro_rules! with_hidden {
    ($h:expr, $f:ident ( $($arg:expr),* $(,)? )) => {
        match $h {
            16 => $f::<16>($($arg),*),
            32 => $f::<32>($($arg),*),
            50 => $f::<50>($($arg),*),
            64 => $f::<64>($($arg),*),
            100 => $f::<100>($($arg),*),
            128 => $f::<128>($($arg),*),
            200 => $f::<200>($($arg),*),
            256 => $f::<256>($($arg),*),
            512 => $f::<512>($($arg),*),
            1024 => $f::<1024>($($arg),*),
            other => Err($crate::train::hidden_widths::UnsupportedHidden(other).into()),
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    fn width<const H: usize>() -> Result<usize, UnsupportedHidden> {
        Ok(H)
    }

    #[test]
    fn dispatches_every_listed_size_and_rejects_others() {
        for h in SUPPORTED {
            assert_eq!(with_hidden!(h, width()), Ok(h));
        }
        assert_eq!(with_hidden!(77, width()), Err(UnsupportedHidden(77)));
    }
}
