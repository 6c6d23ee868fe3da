//! Fitting V at a scale where floating point keeps the guarantee: the exact power-of-two
//! rescaling of a fit, and the range of ε it allows.
//!
//! NMF is equivariant to the scale of V. With `c = 2^e`, `V′ = V/c²`, `W′ = W/c`, `H′ = H/c`
//! and `ε′ = ε/c`, the β-divergence satisfies `d_β(c²·v | c²·y) = c^(2β)·d_β(v | y)`, so
//!
//! ```text
//! D_β(V | WH) + l1_w‖W‖₁ + ½·l2_w‖W‖² + l1_h‖H‖₁ + ½·l2_h‖H‖²
//!   = c^(2β) · [ D_β(V′ | W′H′) + l1_w′‖W′‖₁ + ½·l2_w′‖W′‖² + l1_h′‖H′‖₁ + ½·l2_h′‖H′‖² ]
//! ```
//!
//! with `l1′ = l1·c^(1−2β)` and `l2′ = l2·c^(2−2β)`, and the constraints `W, H ≥ ε` become
//! `W′, H′ ≥ ε′`. Every multiplicative update is equivariant too (each ratio num/den is
//! unchanged), so the scaled fit follows the same path in exact arithmetic, and its objective
//! is the user's objective divided by `c^(2β)`. Dividing by a power of two is exact in floating
//! point (away from overflow and underflow), so V′, the initial factors and ε′ are exactly the
//! user's, scaled; for the Frobenius and KL losses (sums, products and quotients only) the
//! scaled iteration is even bit for bit the unscaled one wherever the latter stays in range.
//! Only the penalty weights and the reported losses are rounded (to `f64`, by one rounding each).
//!
//! Why V and not only the factors: WH must approximate V, so the entries of WH, and the powers
//! (WH)^(β−2) and (WH)^(β−1) of the β updates, have V's magnitude whatever the split between W
//! and H. In `f32` at V ≈ 10³⁰, (WH)^(−2) underflows to 0 and every numerator of the
//! Itakura–Saito update vanishes; only a V near 1 keeps them in range. The scaled copy V′ costs
//! one m×n buffer, so it is made only when mean(V) is outside the range where the unscaled fit
//! is safe ([`Scaling::for_mean`]), once per fit (shared by the restarts), and never in the
//! iterations.

use crate::Scalar;

/// The exponent e of the scale `c = 2^e` of a fit (`V′ = V/c²`, `W′ = W/c`, `H′ = H/c`), and
/// whether the data is actually rescaled.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Scaling {
    /// e with `c = 2^e ≈ √mean(V)` (0 for an all-zero V).
    exp: i32,
    /// Whether the fit works on V/c² (mean(V) outside the safe range of the scalar type).
    applied: bool,
}

/// |e| up to which the data is fitted as it is: mean(V) within about 2^±17 in `f32` and
/// 2^±65 in `f64`. There every intermediate of the updates (WᵀW·H, (WH)^(β−2) for
/// β ∈ [−0.5, 3.5] over data spanning several orders of magnitude) stays far inside the range.
fn safe_exp<T: Scalar>() -> i32 {
    if T::unit_roundoff() > 1e-10 { 8 } else { 32 }
}

/// The smallest ε′ (on the scaled problem) for a scalar type: ε′³ is then a normal number,
/// so the smallest Frobenius denominator m·ε′³ (every entry at ε) and the smallest entry
/// k·ε′² of WH keep full precision. `2^-40` (9.1e-13) in `f32`, `2^-330` (4.6e-100) in `f64`.
pub(crate) fn eps_floor<T: Scalar>() -> f64 {
    if T::unit_roundoff() > 1e-10 {
        2f64.powi(-40)
    } else {
        2f64.powi(-330)
    }
}

impl Scaling {
    /// The scale for V with the given mean entry, in scalar type `T`.
    pub(crate) fn for_mean<T: Scalar>(mean: f64) -> Scaling {
        // e = round(log2(mean)/2), kept where c² and 1/c² are normal numbers of T.
        let limit = if T::unit_roundoff() > 1e-10 { 62 } else { 510 };
        let exp = if mean > 0.0 && mean.is_finite() {
            ((mean.log2() / 2.0).round() as i32).clamp(-limit, limit)
        } else {
            0
        };
        Scaling {
            exp,
            applied: exp.abs() > safe_exp::<T>(),
        }
    }

    /// The same scale, with the data not rescaled (a data type that cannot be).
    pub(crate) fn without_rescaling(self) -> Scaling {
        Scaling {
            applied: false,
            ..self
        }
    }

    /// e, with c = 2^e.
    pub(crate) fn exponent(&self) -> i32 {
        self.exp
    }

    /// Whether the fit works on V/c².
    pub(crate) fn applied(&self) -> bool {
        self.applied
    }

    /// `c = 2^e`, the data's typical factor entry (1 for an all-zero V).
    pub(crate) fn typical(&self) -> f64 {
        2f64.powi(self.exp)
    }

    /// The factor c by which W′ and H′ are multiplied back (1 when not applied).
    pub(crate) fn factor(&self) -> f64 {
        if self.applied { self.typical() } else { 1.0 }
    }

    /// `c^(2β)`: user objective = this × scaled objective.
    pub(crate) fn objective_factor(&self, beta: f64) -> f64 {
        if self.applied {
            2f64.powf(2.0 * f64::from(self.exp) * beta)
        } else {
            1.0
        }
    }

    /// The penalty weights of the scaled problem: `l1·c^(1−2β)`, `l2·c^(2−2β)`.
    pub(crate) fn penalty(&self, p: crate::Penalty, beta: f64) -> crate::Penalty {
        if !self.applied {
            return p;
        }
        let e = f64::from(self.exp);
        let (f1, f2) = (
            2f64.powf(e * (1.0 - 2.0 * beta)),
            2f64.powf(e * (2.0 - 2.0 * beta)),
        );
        crate::Penalty {
            l1_w: p.l1_w * f1,
            l2_w: p.l2_w * f2,
            l1_h: p.l1_h * f1,
            l2_h: p.l2_h * f2,
        }
    }

    /// The range `[min, max]` of ε (in V's units) for this V in scalar type `T`: ε/c must be
    /// at least [`eps_floor`] when the data is rescaled by c (else ε itself), and at most
    /// `1024·c ≈ 1024·√mean(V)` (a lower bound on every factor entry far above the factors'
    /// typical size makes WH ≥ k·ε² dwarf the data, and overflows).
    pub(crate) fn eps_range<T: Scalar>(&self) -> (f64, f64) {
        (eps_floor::<T>() * self.factor(), 1024.0 * self.typical())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typical_data_is_not_rescaled() {
        for mean in [0.0, 1e-4, 1.0, 3.0, 1e4] {
            assert!(!Scaling::for_mean::<f32>(mean).applied(), "{mean}");
            assert!(!Scaling::for_mean::<f64>(mean).applied(), "{mean}");
        }
        let s = Scaling::for_mean::<f64>(16.0);
        assert_eq!(
            (s.typical(), s.factor(), s.objective_factor(2.0)),
            (4.0, 1.0, 1.0)
        );
    }

    #[test]
    fn extreme_data_is_rescaled_to_a_mean_near_one() {
        for (mean, f32_applied) in [(1e30, true), (1e-30, true), (1e10, true), (1e25, true)] {
            let s = Scaling::for_mean::<f32>(mean);
            assert_eq!(s.applied(), f32_applied);
            let scaled = mean / (s.factor() * s.factor());
            assert!((0.5..=2.0).contains(&scaled), "{mean}: {scaled}");
        }
        assert!(!Scaling::for_mean::<f64>(1e10).applied());
        let s = Scaling::for_mean::<f64>(1e300);
        assert!(s.applied() && (0.5..=2.0).contains(&(1e300 / s.factor().powi(2))));
    }

    #[test]
    fn the_objective_and_penalties_scale_consistently() {
        // c = 2^20: c^(2β) for β = 2 is 2^80; l1 scales by c^(1−2β) = 2^-60, l2 by 2^-40.
        let s = Scaling::for_mean::<f32>(2f64.powi(40));
        assert_eq!(s.factor(), 2f64.powi(20));
        assert_eq!(s.objective_factor(2.0), 2f64.powi(80));
        let p = crate::Penalty {
            l1_w: 1.0,
            l2_w: 2.0,
            l1_h: 3.0,
            l2_h: 4.0,
        };
        let q = s.penalty(p, 2.0);
        assert_eq!(
            (q.l1_w, q.l2_w, q.l1_h, q.l2_h),
            (
                2f64.powi(-60),
                2.0 * 2f64.powi(-40),
                3.0 * 2f64.powi(-60),
                4.0 * 2f64.powi(-40)
            )
        );
    }
}
