//! Penalties: the penalised objective never rises (Frobenius, KL, every β) and L1 makes factors
//! sparser.
//!
//! Every tolerance is derived from the floating-point accuracy of what is computed; the comment
//! beside each says how. `u` is the unit roundoff of the scalar type (6.0e-8 for f32, 1.1e-16
//! for f64) and `u64` that of f64.

use proptest::prelude::*;

use super::{data_case, runner, runner_with_cases};
use crate::{DenseBackend, Loss, MuSolver, Nmf, Scalar};

use super::common::*;
use super::monotone::beta_objective_case;

/// With L1 and L2 penalties (pure L1, pure L2 and half of each), the penalised objective of
/// the Frobenius or KL loss never increases, after every half-step. Tolerance as in
/// [`check_loss_never_increases`](super::check_loss_never_increases), plus the rounding of the
/// penalty terms: each is a sum of non-negative entries times a weight, off by a few (len)·u of its
/// value, covered by 8·(k+2)·u·P with P the penalty total and len ≤ the number of entries absorbed
/// in the (k+2) factor's slack (the sums are compensated in f64).
pub fn check_regularized_objective_never_increases<T: Scalar, B: DenseBackend<T>>(
    b: &B,
    loss: Loss,
) {
    let weights = (
        0.0f64..1.0,
        0.0f64..1.0,
        prop::sample::select(vec![0.0, 0.5, 1.0]),
        -4i32..=1,
    );
    runner()
        .run(&(data_case::<T>(12), weights), |(c, (aw, ah, ratio, exp))| {
            // Weights relative to the data's scale, so the penalties matter at every scale.
            let scale = c.mean().max(f64::MIN_POSITIVE) * 10f64.powi(exp);
            let pen = crate::Penalty::sklearn(c.m, c.n, aw * scale, ah * scale, ratio);
            let (v, w0, h0, eps) = start(b, &c);
            let mut s = MuSolver::new(b, &v, w0, h0, loss, eps).unwrap();
            s.set_penalty(pen).unwrap();
            let scales = |s: &MuSolver<'_, T, B, B::Mat>| -> f64 {
                let (w, h) = (export(b, s.w()), export(b, s.h()));
                let wh = product(&w, &h, c.m, c.k, c.n);
                let base: f64 = match loss {
                    Loss::Frobenius => c.v.iter().chain(&wh).map(|x| 0.5 * x * x).sum(),
                    _ => c.v.iter().chain(&wh).sum::<f64>()
                        + c.v.iter().zip(&wh).map(|(&v, &y)| if v > 0.0 { (v * (v / y).ln()).abs() } else { 0.0 }).sum::<f64>(),
                };
                base + penalty_scale(&pen, &w, &h)
            };
            let mut prev = s.objective();
            let mut prev_scale = scales(&s);
            for it in 0..15 {
                for half in ["H", "W"] {
                    if half == "H" { s.update_h() } else { s.update_w() }
                    let now = s.objective();
                    let scale = scales(&s);
                    let tol = 8.0 * (c.k as f64 + 2.0) * T::unit_roundoff() * prev_scale.max(scale);
                    prop_assert!(
                        now <= prev + tol,
                        "{loss} with {pen:?}: the objective rose in the {half} half-step of iteration {it}: {prev} → {now} (tolerance {tol})"
                    );
                    prev = now;
                    prev_scale = scale;
                }
            }
            Ok(())
        })
        .unwrap();
}

/// With L1 and L2 penalties (pure L1, pure L2 and half of each), the penalised objective of
/// the general β path never increases, after every half-step, for β drawn as in
/// [`check_beta_loss_never_increases`](super::check_beta_loss_never_increases) (which gives the
/// tolerance of the loss terms), plus 8·(k+2)·u·P for the penalty terms, as in
/// [`check_regularized_objective_never_increases`].
pub fn check_regularized_beta_objective_never_increases<T: Scalar, B: DenseBackend<T>>(b: &B) {
    let weights = (
        0.0f64..1.0,
        0.0f64..1.0,
        prop::sample::select(vec![0.0, 0.5, 1.0]),
        -4i32..=1,
    );
    runner()
        .run(
            &(data_case::<T>(12), betas(), weights),
            |(c, beta, (aw, ah, ratio, exp))| {
                let scale = c.mean().max(f64::MIN_POSITIVE) * 10f64.powi(exp);
                let pen = crate::Penalty::sklearn(c.m, c.n, aw * scale, ah * scale, ratio);
                beta_objective_case(b, c, beta, pen)
            },
        )
        .unwrap();
}

/// The share of entries of W and H at the lower bound ε (exactly sparse, for a
/// multiplicative method) after a fit.
fn share_at_eps<T: Scalar, B: DenseBackend<T>>(b: &B, model: &crate::NmfModel<T, B>) -> f64 {
    let all: Vec<T> = b
        .to_row_major(model.w())
        .into_iter()
        .chain(b.to_row_major(model.h()))
        .collect();
    all.iter().filter(|&&x| x == model.eps()).count() as f64 / all.len() as f64
}

/// An L1 penalty makes the factors sparser: from the same start, fits with `l1_ratio = 1` and
/// α_W = α_H = 0.5·mean(V)/k have more entries at ε in total than the fits without, and at
/// least as many in at least 3/4 of the cases. (Not in every case: the penalty changes the
/// path of a non-convex iteration, which can end in another local minimum.)
pub fn check_l1_sparsity<T: Scalar, B: DenseBackend<T>>(b: &B, loss: Loss) {
    let totals = std::cell::Cell::new((0.0, 0.0, 0usize, 0usize));
    runner_with_cases(32)
        .run(&(4usize..=12, 4usize..=12, any::<u64>()), |(m, n, seed)| {
            let (k, vd) = low_rank_case(m, n, seed);
            let k = (k + 1).min(m.min(n));
            let v = mat::<T, B>(b, m, n, &vd);
            let mean = vd.iter().sum::<f64>() / (m * n) as f64;
            let p = Nmf::params(k).loss(loss).max_iter(300).tol(0.0).seed(seed);
            let plain = p.clone().fit(b, &v).unwrap();
            let l1 = p
                .alpha_w(0.5 * mean / k as f64)
                .l1_ratio(1.0)
                .fit(b, &v)
                .unwrap();
            let (sp, sl) = (share_at_eps(b, &plain), share_at_eps(b, &l1));
            let (a, c, ok, cases) = totals.get();
            totals.set((a + sp, c + sl, ok + usize::from(sl >= sp), cases + 1));
            Ok(())
        })
        .unwrap();
    let (plain_total, l1_total, ok, cases) = totals.get();
    assert!(
        l1_total > plain_total,
        "L1 did not make the factors sparser ({plain_total} vs {l1_total})"
    );
    assert!(
        4 * ok >= 3 * cases,
        "L1 made the factors at least as sparse in only {ok} of {cases} cases"
    );
}
