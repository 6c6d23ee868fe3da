//! Frobenius half-steps (Lee & Seung eq. 4) with the ε lower bound. The m×n product WH is
//! never formed: the data term gives WᵀV and the k×k Gram matrix WᵀW (VHᵀ and HHᵀ for W), and
//! the denominator is (WᵀW)·H. With penalties, L2 adds l2 to the Gram diagonal
//! ([`add_diag`](crate::MatrixBackend::add_diag)) and L1 adds l1 to every denominator
//! ([`add_scalar`](crate::MatrixBackend::add_scalar)) (see [`MuSolver::set_penalty`]).

use super::MuSolver;
use crate::{Accum, DataOps, Scalar, Trans};

/// `H ← max(ε, H ∘ (WᵀV) / ((WᵀW + l2·I)·H + l1))`.
pub(super) fn update_h<T: Scalar, B: DataOps<T, V>, V>(s: &mut MuSolver<'_, T, B, V>) {
    let b = s.backend;
    let (l1, l2) = (s.penalty.l1_h, s.penalty.l2_h);
    b.frobenius_stats_h(s.v, &mut s.work, &s.w, &mut s.num_h, &mut s.gram);
    if l2 > 0.0 {
        b.add_diag(&mut s.gram, T::from_f64(l2));
    }
    let h = &s.h;
    b.matmul(
        &mut s.den_h,
        Accum::Replace,
        T::one(),
        &s.gram,
        Trans::No,
        h,
        Trans::No,
    );
    if l1 > 0.0 {
        b.add_scalar(&mut s.den_h, T::from_f64(l1));
    }
    b.mu_update(&mut s.h, &s.num_h, &s.den_h, s.eps);
}

/// `W ← max(ε, W ∘ (VHᵀ) / (W·(HHᵀ + l2·I) + l1))`.
pub(super) fn update_w<T: Scalar, B: DataOps<T, V>, V>(s: &mut MuSolver<'_, T, B, V>) {
    let b = s.backend;
    let (l1, l2) = (s.penalty.l1_w, s.penalty.l2_w);
    b.frobenius_stats_w(s.v, &mut s.work, &s.h, &mut s.num_w, &mut s.gram);
    if l2 > 0.0 {
        b.add_diag(&mut s.gram, T::from_f64(l2));
    }
    b.matmul(
        &mut s.den_w,
        Accum::Replace,
        T::one(),
        &s.w,
        Trans::No,
        &s.gram,
        Trans::No,
    );
    if l1 > 0.0 {
        b.add_scalar(&mut s.den_w, T::from_f64(l1));
    }
    b.mu_update(&mut s.w, &s.num_w, &s.den_w, s.eps);
}
