//! β-divergence half-steps (Févotte & Idier 2011) with the ε lower bound:
//! `H ← max(ε, H ∘ (Wᵀ(V∘Λ^(β−2)) / Wᵀ Λ^(β−1))^γ(β))` with Λ = WH, and symmetrically for W.
//! The auxiliary function of their majorisation–minimisation step is separable and convex in
//! each entry, so the ε-clamped step is its exact minimiser over `{h ≥ ε}`. Penalties add
//! `l1 + l2·H` to the denominator, and with L2 and β < 2 the exponent becomes 1/(3 − β)
//! (see [`MuSolver::set_penalty`]).

use super::MuSolver;
use crate::{Accum, DataOps, Scalar, Trans};

/// `scratch ← V∘Λ^(β−2)`, `scratch2 ← Λ^(β−1)` with Λ = WH.
fn parts<T: Scalar, B: DataOps<T, V>, V>(s: &mut MuSolver<'_, T, B, V>) {
    let beta = T::from_f64(s.loss.beta_value());
    let b = s
        .scratch2
        .as_mut()
        .expect("β buffers are allocated for β losses");
    s.backend
        .beta_parts(&mut s.scratch, b, s.v, &s.w, &s.h, beta);
}

/// The exponent of a penalised half-step: γ(β), or 1/(3 − β) when an L2 weight is in force
/// and β < 2 (see [`MuSolver::set_penalty`]).
fn exponent<T: Scalar>(gamma: T, beta: f64, l2: f64) -> T {
    if l2 > 0.0 && beta < 2.0 {
        T::from_f64(1.0 / (3.0 - beta))
    } else {
        gamma
    }
}

/// `H ← max(ε, H ∘ (Wᵀ(V∘Λ^(β−2)) / (Wᵀ Λ^(β−1) + l1 + l2·H))^γ')`.
pub(super) fn update_h<T: Scalar, B: DataOps<T, V>, V>(s: &mut MuSolver<'_, T, B, V>) {
    parts(s);
    let (b, a, den) = (
        s.backend,
        &s.scratch,
        s.scratch2.as_ref().expect("β buffers"),
    );
    let (l1, l2) = (s.penalty.l1_h, s.penalty.l2_h);
    b.wt_x(&mut s.num_h, &s.w, a);
    b.wt_x(&mut s.den_h, &s.w, den);
    if let Some(p) = &s.pen {
        if l2 > 0.0 {
            b.matmul(
                &mut s.den_h,
                Accum::Add,
                T::from_f64(l2),
                &p.eye_k,
                Trans::No,
                &s.h,
                Trans::No,
            );
        }
        p.add_l1_h(b, &mut s.den_h, l1);
    }
    let gamma = exponent(s.gamma, s.loss.beta_value(), l2);
    b.mu_update_pow(&mut s.h, &s.num_h, &s.den_h, gamma, s.eps);
}

/// `W ← max(ε, W ∘ ((V∘Λ^(β−2))Hᵀ / (Λ^(β−1)Hᵀ + l1 + l2·W))^γ')`.
pub(super) fn update_w<T: Scalar, B: DataOps<T, V>, V>(s: &mut MuSolver<'_, T, B, V>) {
    parts(s);
    let (b, a, den) = (
        s.backend,
        &s.scratch,
        s.scratch2.as_ref().expect("β buffers"),
    );
    let (l1, l2) = (s.penalty.l1_w, s.penalty.l2_w);
    b.x_ht(&mut s.num_w, a, &s.h);
    b.x_ht(&mut s.den_w, den, &s.h);
    if let Some(p) = &s.pen {
        if l2 > 0.0 {
            b.matmul(
                &mut s.den_w,
                Accum::Add,
                T::from_f64(l2),
                &s.w,
                Trans::No,
                &p.eye_k,
                Trans::No,
            );
        }
        p.add_l1_w(b, &mut s.den_w, l1);
    }
    let gamma = exponent(s.gamma, s.loss.beta_value(), l2);
    b.mu_update_pow(&mut s.w, &s.num_w, &s.den_w, gamma, s.eps);
}
