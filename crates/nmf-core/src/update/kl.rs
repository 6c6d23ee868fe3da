//! Generalized Kullback–Leibler half-steps (Lee & Seung eq. 5) with the ε lower bound.
//! The ratio V/(WH) is exactly 0 where V is 0.

use super::MuSolver;
use crate::{Accum, DataOps, Scalar, Trans};

/// `H ← max(ε, H ∘ (Wᵀ(V/WH)) / (Wᵀ1 + l1))`: the denominator of row a of H is the sum of
/// column a of W. With an L2 weight, each entry is instead the positive root of
/// `l2·h² + (Wᵀ1 + l1)·h − hᵗ·[Wᵀ(V/WH)] = 0`, lifted to ε.
pub(super) fn update_h<T: Scalar, B: DataOps<T, V>, V>(s: &mut MuSolver<'_, T, B, V>) {
    let b = s.backend;
    b.kl_ratio(&mut s.scratch, s.v, &s.w, &s.h);
    b.wt_x(&mut s.num_h, &s.w, &s.scratch);
    let (l1, l2) = (s.penalty.l1_h, s.penalty.l2_h);
    if let Some(p) = s.pen.as_mut()
        && l2 > 0.0
    {
        // den = (Wᵀ1)·1ᵀ + l1·11ᵀ (k×n), by two products of width 1.
        b.matmul(
            &mut p.sums_k_col,
            Accum::Replace,
            T::one(),
            &s.w,
            Trans::Yes,
            &p.ones_m_col,
            Trans::No,
        );
        b.matmul(
            &mut s.den_h,
            Accum::Replace,
            T::one(),
            &p.sums_k_col,
            Trans::No,
            &p.ones_n_row,
            Trans::No,
        );
        p.add_l1_h(b, &mut s.den_h, l1);
        b.mu_update_l2(&mut s.h, &s.num_h, &s.den_h, T::from_f64(l2), s.eps);
        return;
    }
    b.col_sums(&s.w, &mut s.sums);
    add_l1(&mut s.sums, l1);
    b.mu_update_row_den(&mut s.h, &s.num_h, &s.sums, s.eps);
}

/// `W ← max(ε, W ∘ ((V/WH)Hᵀ) / (1Hᵀ + l1))`: the denominator of column a of W is the sum
/// of row a of H. With an L2 weight, the positive root as in [`update_h`].
pub(super) fn update_w<T: Scalar, B: DataOps<T, V>, V>(s: &mut MuSolver<'_, T, B, V>) {
    let b = s.backend;
    b.kl_ratio(&mut s.scratch, s.v, &s.w, &s.h);
    b.x_ht(&mut s.num_w, &s.scratch, &s.h);
    let (l1, l2) = (s.penalty.l1_w, s.penalty.l2_w);
    if let Some(p) = s.pen.as_mut()
        && l2 > 0.0
    {
        // den = 1·(1ᵀHᵀ) + l1·11ᵀ (m×k).
        b.matmul(
            &mut p.sums_k_row,
            Accum::Replace,
            T::one(),
            &p.ones_n_row,
            Trans::No,
            &s.h,
            Trans::Yes,
        );
        b.matmul(
            &mut s.den_w,
            Accum::Replace,
            T::one(),
            &p.ones_m_col,
            Trans::No,
            &p.sums_k_row,
            Trans::No,
        );
        p.add_l1_w(b, &mut s.den_w, l1);
        b.mu_update_l2(&mut s.w, &s.num_w, &s.den_w, T::from_f64(l2), s.eps);
        return;
    }
    b.row_sums(&s.h, &mut s.sums);
    add_l1(&mut s.sums, l1);
    b.mu_update_col_den(&mut s.w, &s.num_w, &s.sums, s.eps);
}

/// The L1 penalty adds its weight to every denominator (the derivative of the linear term).
fn add_l1<T: Scalar>(sums: &mut [T], l1: f64) {
    if l1 > 0.0 {
        let l1 = T::from_f64(l1);
        sums.iter_mut().for_each(|s| *s += l1);
    }
}
