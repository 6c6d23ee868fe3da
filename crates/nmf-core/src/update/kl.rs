//! Generalized Kullback–Leibler half-steps (Lee & Seung eq. 5) with the ε lower bound.
//! The data term gives Wᵀ(V/WH) (the ratio exactly 0 where V is 0) and the column sums of W;
//! the denominators stay vectors (one value per row of H, per column of W), penalties
//! included.

use super::MuSolver;
use crate::{DataOps, MatrixBackend, RunAxis, Scalar, kernels};

/// `H ← max(ε, H ∘ (Wᵀ(V/WH)) / (Wᵀ1 + l1))`: the denominator of row a of H is the sum of
/// column a of W. With an L2 weight, each entry is instead the positive root of
/// `l2·h² + (Wᵀ1 + l1)·h − hᵗ·[Wᵀ(V/WH)] = 0`, lifted to ε.
pub(super) fn update_h<T: Scalar, B: DataOps<T, V>, V>(s: &mut MuSolver<'_, T, B, V>) {
    let b = s.backend;
    b.kl_stats_h(s.v, &mut s.work, &s.w, &s.h, &mut s.num_h, &mut s.sums);
    let (l1, l2) = (s.penalty.l1_h, s.penalty.l2_h);
    add_l1(&mut s.sums, l1);
    if l2 > 0.0 {
        update_l2(b, &mut s.h, &s.num_h, &s.sums, RunAxis::Column, l2, s.eps);
    } else {
        b.mu_update_row_den(&mut s.h, &s.num_h, &s.sums, s.eps);
    }
}

/// `W ← max(ε, W ∘ ((V/WH)Hᵀ) / (1Hᵀ + l1))`: the denominator of column a of W is the sum
/// of row a of H. With an L2 weight, the positive root as in [`update_h`].
pub(super) fn update_w<T: Scalar, B: DataOps<T, V>, V>(s: &mut MuSolver<'_, T, B, V>) {
    let b = s.backend;
    b.kl_stats_w(s.v, &mut s.work, &s.w, &s.h, &mut s.num_w, &mut s.sums);
    let (l1, l2) = (s.penalty.l1_w, s.penalty.l2_w);
    add_l1(&mut s.sums, l1);
    if l2 > 0.0 {
        update_l2(b, &mut s.w, &s.num_w, &s.sums, RunAxis::Row, l2, s.eps);
    } else {
        b.mu_update_col_den(&mut s.w, &s.num_w, &s.sums, s.eps);
    }
}

/// `x ← mu_step_l2(x, num, den, l2, ε)` entry by entry ([`kernels::mu_step_l2`]), with one
/// denominator per row (`per = RunAxis::Column`: the denominator varies down a column) or
/// per column (`per = RunAxis::Row`).
fn update_l2<T: Scalar, B: MatrixBackend<T>>(
    b: &B,
    x: &mut B::Mat,
    num: &B::Mat,
    den: &[T],
    per: RunAxis,
    l2: f64,
    eps: T,
) {
    let l2 = T::from_f64(l2);
    b.zip_mut(&mut [x], &[num], &|run, o, i| {
        if run.axis == per {
            kernels::mu_step_l2_slice(o[0], i[0], &den[run.span()], l2, eps)
        } else {
            let d = match per {
                RunAxis::Column => den[run.row],
                RunAxis::Row => den[run.col],
            };
            kernels::mu_step_l2_slice_scalar_den(o[0], i[0], d, l2, eps)
        }
    });
}

/// The L1 penalty adds its weight to every denominator (the derivative of the linear term).
fn add_l1<T: Scalar>(sums: &mut [T], l1: f64) {
    if l1 > 0.0 {
        let l1 = T::from_f64(l1);
        sums.iter_mut().for_each(|s| *s += l1);
    }
}
