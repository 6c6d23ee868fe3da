//! Generalized Kullback–Leibler half-steps (Lee & Seung eq. 5) with the ε lower bound.
//! The ratio V/(WH) is exactly 0 where V is 0.

use super::MuSolver;
use crate::{DataOps, Scalar};

/// `H ← max(ε, H ∘ (Wᵀ(V/WH)) / (Wᵀ1))`: the denominator of row a of H is the sum of
/// column a of W.
pub(super) fn update_h<T: Scalar, B: DataOps<T, V>, V>(s: &mut MuSolver<'_, T, B, V>) {
    let b = s.backend;
    b.kl_ratio(&mut s.scratch, s.v, &s.w, &s.h);
    b.wt_x(&mut s.num_h, &s.w, &s.scratch);
    b.col_sums(&s.w, &mut s.sums);
    add_l1(&mut s.sums, s.penalty.l1_h);
    b.mu_update_row_den(&mut s.h, &s.num_h, &s.sums, s.eps);
}

/// `W ← max(ε, W ∘ ((V/WH)Hᵀ) / (1Hᵀ))`: the denominator of column a of W is the sum of
/// row a of H.
pub(super) fn update_w<T: Scalar, B: DataOps<T, V>, V>(s: &mut MuSolver<'_, T, B, V>) {
    let b = s.backend;
    b.kl_ratio(&mut s.scratch, s.v, &s.w, &s.h);
    b.x_ht(&mut s.num_w, &s.scratch, &s.h);
    b.row_sums(&s.h, &mut s.sums);
    add_l1(&mut s.sums, s.penalty.l1_w);
    b.mu_update_col_den(&mut s.w, &s.num_w, &s.sums, s.eps);
}

/// The L1 penalty adds its weight to every denominator (the derivative of the linear term).
fn add_l1<T: Scalar>(sums: &mut [T], l1: f64) {
    if l1 > 0.0 {
        let l1 = T::from_f64(l1);
        sums.iter_mut().for_each(|s| *s += l1);
    }
}
