//! Frobenius half-steps (Lee & Seung eq. 4) with the ε lower bound. The m×n product WH is
//! never formed: the denominators use the k×k Gram matrices WᵀW and HHᵀ. With penalties, L2
//! adds l2·I to the Gram matrix and L1 adds l1 to every denominator (see
//! [`MuSolver::set_penalty`]).

use super::MuSolver;
use crate::{Accum, DataOps, Scalar, Trans};

/// `H ← max(ε, H ∘ (WᵀV) / ((WᵀW + l2·I)·H + l1))`.
pub(super) fn update_h<T: Scalar, B: DataOps<T, V>, V>(s: &mut MuSolver<'_, T, B, V>) {
    let b = s.backend;
    let l2 = T::from_f64(s.penalty.l2_h);
    b.wt_x(&mut s.num_h, &s.w, s.v);
    let (w, h) = (&s.w, &s.h);
    b.matmul(
        &mut s.gram,
        Accum::Replace,
        T::one(),
        w,
        Trans::Yes,
        w,
        Trans::No,
    );
    if let Some(p) = &s.pen
        && l2 > T::zero()
    {
        b.matmul(
            &mut s.gram,
            Accum::Add,
            l2,
            &p.eye_k,
            Trans::No,
            &p.eye_k,
            Trans::No,
        );
    }
    b.matmul(
        &mut s.den_h,
        Accum::Replace,
        T::one(),
        &s.gram,
        Trans::No,
        h,
        Trans::No,
    );
    if let Some(p) = &s.pen {
        p.add_l1_h(b, &mut s.den_h, s.penalty.l1_h);
    }
    b.mu_update(&mut s.h, &s.num_h, &s.den_h, s.eps);
}

/// `W ← max(ε, W ∘ (VHᵀ) / (W·(HHᵀ + l2·I) + l1))`.
pub(super) fn update_w<T: Scalar, B: DataOps<T, V>, V>(s: &mut MuSolver<'_, T, B, V>) {
    let b = s.backend;
    let l2 = T::from_f64(s.penalty.l2_w);
    b.x_ht(&mut s.num_w, s.v, &s.h);
    let (w, h) = (&s.w, &s.h);
    b.matmul(
        &mut s.gram,
        Accum::Replace,
        T::one(),
        h,
        Trans::No,
        h,
        Trans::Yes,
    );
    if let Some(p) = &s.pen
        && l2 > T::zero()
    {
        b.matmul(
            &mut s.gram,
            Accum::Add,
            l2,
            &p.eye_k,
            Trans::No,
            &p.eye_k,
            Trans::No,
        );
    }
    b.matmul(
        &mut s.den_w,
        Accum::Replace,
        T::one(),
        w,
        Trans::No,
        &s.gram,
        Trans::No,
    );
    if let Some(p) = &s.pen {
        p.add_l1_w(b, &mut s.den_w, s.penalty.l1_w);
    }
    b.mu_update(&mut s.w, &s.num_w, &s.den_w, s.eps);
}
