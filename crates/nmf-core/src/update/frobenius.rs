//! Frobenius half-steps (Lee & Seung eq. 4) with the ε lower bound. The m×n product WH is
//! never formed: the denominators use the k×k Gram matrices WᵀW and HHᵀ.

use super::MuSolver;
use crate::{Accum, DataOps, Scalar, Trans};

/// `H ← max(ε, H ∘ (WᵀV) / (WᵀW·H))`.
pub(super) fn update_h<T: Scalar, B: DataOps<T, V>, V>(s: &mut MuSolver<'_, T, B, V>) {
    let b = s.backend;
    b.wt_x(&mut s.num_h, &s.w, s.v);
    b.matmul(
        &mut s.gram,
        Accum::Replace,
        T::one(),
        &s.w,
        Trans::Yes,
        &s.w,
        Trans::No,
    );
    b.matmul(
        &mut s.den_h,
        Accum::Replace,
        T::one(),
        &s.gram,
        Trans::No,
        &s.h,
        Trans::No,
    );
    b.mu_update(&mut s.h, &s.num_h, &s.den_h, s.eps);
}

/// `W ← max(ε, W ∘ (VHᵀ) / (W·HHᵀ))`.
pub(super) fn update_w<T: Scalar, B: DataOps<T, V>, V>(s: &mut MuSolver<'_, T, B, V>) {
    let b = s.backend;
    b.x_ht(&mut s.num_w, s.v, &s.h);
    b.matmul(
        &mut s.gram,
        Accum::Replace,
        T::one(),
        &s.h,
        Trans::No,
        &s.h,
        Trans::Yes,
    );
    b.matmul(
        &mut s.den_w,
        Accum::Replace,
        T::one(),
        &s.w,
        Trans::No,
        &s.gram,
        Trans::No,
    );
    b.mu_update(&mut s.w, &s.num_w, &s.den_w, s.eps);
}
