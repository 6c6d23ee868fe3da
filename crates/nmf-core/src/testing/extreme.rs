//! Extreme inputs: magnitudes from 1e-30 to 1e30, single non-zeros, the smallest accepted ε.
//!
//! Every tolerance is derived from the floating-point accuracy of what is computed; the comment
//! beside each says how. `u` is the unit roundoff of the scalar type (6.0e-8 for f32, 1.1e-16
//! for f64) and `u64` that of f64.

use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

use super::{ExtremeCase, extreme_case, runner_with_cases};
use crate::{DenseBackend, Loss, Nmf, Scalar};

use super::common::*;

/// The guarantee at extreme scales, through the fitting API: V of scale 10^e for e across
/// ±30, in `f64` and in `f32` (both ends drawn often), dense, sparse or with a single
/// non-zero, fitted with the default ε or the smallest the library accepts
/// ([`NmfValidParams::eps_range`](crate::NmfValidParams::eps_range)), from random and
/// NNDSVDA starts, without or with an L1 or L2 penalty whose share of the objective does not
/// depend on the scale: every fit succeeds, its factors are finite and ≥ ε, and the objective
/// after j + 1 iterations is at most the objective after j (for j < 6) plus the rounding bound
/// of [`check_loss_never_increases`](super::check_loss_never_increases) (or
/// [`check_beta_loss_never_increases`](super::check_beta_loss_never_increases)), plus 8·(k+2)·u·P
/// for the penalty terms as in
/// [`check_regularized_objective_never_increases`](super::check_regularized_objective_never_increases).
///
/// The bound is computed from V and the returned factors, in V's units: 8·(k+2)·u·S + 16·u64·M
/// with S and M the sizes of the loss's terms (not the loss). The library fits V/c² for
/// extreme V; the loss and S then both carry the factor c^(2β) exactly, so the bound is the
/// same relative to the scaled problem's terms. For β ≤ 0 the zeros of V (infinite loss there)
/// are replaced by 10⁻³ times its smallest non-zero (by the scale if V is all zero).
pub fn check_extreme_scales<T: Scalar, B: DenseBackend<T>>(b: &B, loss: Loss) {
    runner_with_cases(128)
        .run(
            &(extreme_case::<T>(8), any::<bool>(), extreme_penalty()),
            |(c, random, pen)| extreme_scale_case(b, c, loss, random, pen),
        )
        .unwrap();
}

/// No penalty in half the cases; else pure L1 or pure L2 (`l1_ratio` 1 or 0) with the weight
/// a·mean(V)^(β−½) or a·mean(V)^(β−1), a ∈ [0, 1): the weights that keep the penalty's share
/// of the objective the same at every scale of V (with W, H ∝ √mean(V), the loss scales as
/// mean^β, ‖W‖₁ as mean^½ and ‖W‖² as mean).
fn extreme_penalty() -> impl Strategy<Value = Option<(f64, bool)>> {
    prop_oneof![
        1 => Just(None),
        1 => (0.0f64..1.0, any::<bool>()).prop_map(Some),
    ]
}

/// [`check_extreme_scales`] for the β-divergences: Itakura–Saito and β drawn as in
/// [`check_beta_loss_never_increases`](super::check_beta_loss_never_increases) (through
/// [`Loss::beta`], so the dedicated paths at β = 0, 1, 2).
pub fn check_extreme_scales_beta<T: Scalar, B: DenseBackend<T>>(b: &B) {
    let betas = prop_oneof![1 => Just(0.0), 3 => betas()];
    runner_with_cases(128)
        .run(
            &(
                extreme_case::<T>(8),
                any::<bool>(),
                betas,
                extreme_penalty(),
            ),
            |(c, random, beta, pen)| extreme_scale_case(b, c, Loss::beta(beta), random, pen),
        )
        .unwrap();
}

fn extreme_scale_case<T: Scalar, B: DenseBackend<T>>(
    b: &B,
    mut c: ExtremeCase,
    loss: Loss,
    random: bool,
    penalty: Option<(f64, bool)>,
) -> Result<(), TestCaseError> {
    let beta = loss.beta_value();
    if beta <= 0.0 {
        let fill =
            c.v.iter()
                .copied()
                .filter(|&x| x > 0.0)
                .fold(f64::INFINITY, f64::min)
                * 1e-3;
        // An all-zero V (a sparse draw) becomes constant at the scale.
        let fill = if fill.is_finite() {
            fill
        } else {
            10f64.powi(c.scale_exp)
        };
        let fill = T::from_f64(fill).as_f64();
        c.v.iter_mut()
            .filter(|x| **x == 0.0)
            .for_each(|x| *x = fill);
    }
    let v = mat::<T, B>(b, c.m, c.n, &c.v);
    let init = if random {
        crate::Init::Random
    } else {
        crate::Init::Auto
    };
    let mut p = Nmf::params(c.k).loss(loss).init(init).tol(0.0).seed(c.seed);
    if c.smallest_eps {
        let (lo, _) = p.clone().check().unwrap().eps_range::<T>(c.mean());
        p = p.eps(lo);
    }
    if let Some((a, l1)) = penalty {
        let power = if l1 { beta - 0.5 } else { beta - 1.0 };
        let alpha = a * c.mean().max(f64::MIN_POSITIVE).powf(power);
        p = p.alpha_w(alpha).l1_ratio(if l1 { 1.0 } else { 0.0 });
    }
    let u = T::unit_roundoff();
    let mut prev: Option<(f64, f64, f64)> = None;
    for iters in 1..=6 {
        let model = match p.clone().max_iter(iters).fit(b, &v) {
            Ok(model) => model,
            Err(e) => {
                return Err(TestCaseError::fail(format!(
                    "{loss} at 1e{} ({:?}, k = {}, smallest ε: {}): {e}",
                    c.scale_exp, c.pattern, c.k, c.smallest_eps
                )));
            }
        };
        let eps = model.eps();
        all_at_least(b, model.w(), eps, "W")?;
        all_at_least(b, model.h(), eps, "H")?;
        let (w, h) = (export(b, model.w()), export(b, model.h()));
        let wh = product(&w, &h, c.m, c.k, c.n);
        let (s, m) = match loss {
            Loss::Frobenius => (c.v.iter().chain(&wh).map(|x| 0.5 * x * x).sum(), 0.0),
            Loss::KullbackLeibler => (
                c.v.iter().chain(&wh).sum(),
                c.v.iter()
                    .zip(&wh)
                    .map(|(&v, &y)| {
                        if v > 0.0 {
                            (v * (v / y).ln()).abs()
                        } else {
                            0.0
                        }
                    })
                    .sum(),
            ),
            _ => beta_scales(&c.v, &wh, beta),
        };
        let (s, m) = (s + penalty_scale(&model.penalty(), &w, &h), m);
        let now = model.final_loss();
        prop_assert!(now.is_finite(), "{loss}: the loss is {now}");
        if let Some((before, s0, m0)) = prev {
            let tol = 8.0 * (c.k as f64 + 2.0) * u * s.max(s0) + 16.0 * U64 * m.max(m0);
            prop_assert!(
                now <= before + tol,
                "{loss} at 1e{} ({:?}, k = {}, smallest ε: {}): the loss rose from {before:e} \
                 after {} iterations to {now:e} after {iters} (tolerance {tol:e})",
                c.scale_exp,
                c.pattern,
                c.k,
                c.smallest_eps,
                iters - 1
            );
        }
        prev = Some((now, s, m));
    }
    Ok(())
}
