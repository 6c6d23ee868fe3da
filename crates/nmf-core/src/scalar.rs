//! The floating-point types the library computes in.

use core::fmt::{Debug, Display};

/// A real floating-point scalar: `f32` or `f64`.
///
/// Every algorithm in the workspace is generic over this trait, and every backend implements
/// its operations for both types. Losses are always accumulated in `f64`, whatever the scalar.
///
/// ```
/// use nmf_core::Scalar;
/// assert_eq!(f32::NAME, "f32");
/// assert_eq!(<f64 as Scalar>::from_f64(0.5), 0.5);
/// assert!(f32::unit_roundoff() > f64::unit_roundoff());
/// ```
pub trait Scalar:
    num_traits::Float + num_traits::NumAssign + Default + Debug + Display + Send + Sync + 'static
{
    /// The type's name, `"f32"` or `"f64"`, for messages and reports.
    const NAME: &'static str;

    /// Converts from `f64`, rounding to nearest.
    fn from_f64(x: f64) -> Self;

    /// Converts to `f64` (exact for `f32` and `f64`).
    fn as_f64(self) -> f64;

    /// The unit roundoff u = 2⁻ᵖ (half the machine epsilon): the relative error bound of one
    /// correctly rounded operation.
    fn unit_roundoff() -> f64 {
        <Self as num_traits::Float>::epsilon().as_f64() / 2.0
    }
}

impl Scalar for f32 {
    const NAME: &'static str = "f32";
    #[inline(always)]
    fn from_f64(x: f64) -> Self {
        x as f32
    }
    #[inline(always)]
    fn as_f64(self) -> f64 {
        f64::from(self)
    }
}

impl Scalar for f64 {
    const NAME: &'static str = "f64";
    #[inline(always)]
    fn from_f64(x: f64) -> Self {
        x
    }
    #[inline(always)]
    fn as_f64(self) -> f64 {
        self
    }
}
