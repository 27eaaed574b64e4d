//! The float element type of nets and data sets.

use nalgebra::RealField;

mod sealed {
    pub trait Sealed {}
    impl Sealed for f32 {}
    impl Sealed for f64 {}
}

/// The float types a net can be trained in: f32 and f64 only (sealed), whose
/// all-zero bit pattern is 0.0, which `heap_zeros` relies on.
pub trait Real:
    RealField + Copy + From<f32> + Into<f64> + Send + Sync + sealed::Sealed + 'static
{
}
impl Real for f32 {}
impl Real for f64 {}
