//! β-divergence half-steps (Févotte & Idier 2011) with the ε lower bound:
//! `H ← max(ε, H ∘ (Wᵀ(V∘Λ^(β−2)) / Wᵀ Λ^(β−1))^γ(β))` with Λ = WH, and symmetrically for W;
//! the data term gives the two products. The auxiliary function of their
//! majorisation–minimisation step is separable and convex in each entry, so the ε-clamped
//! step is its exact minimiser over `{h ≥ ε}`. Penalties add `l1 + l2·H` to the denominator
//! ([`add_scalar`](crate::MatrixBackend::add_scalar), [`axpy`](crate::MatrixBackend::axpy)),
//! and with L2 and β < 2 the exponent becomes 1/(3 − β) (see [`MuSolver::set_penalty`]).

use super::MuSolver;
use crate::{DataOps, MatrixBackend, Scalar};

/// The exponent of a penalised half-step: γ(β), or 1/(3 − β) when an L2 weight is in force
/// and β < 2 (see [`MuSolver::set_penalty`]).
fn exponent<T: Scalar>(gamma: T, beta: f64, l2: f64) -> T {
    if l2 > 0.0 && beta < 2.0 {
        T::from_f64(1.0 / (3.0 - beta))
    } else {
        gamma
    }
}

/// `den ← den + l2·x + l1`.
fn add_penalty<T: Scalar, B: MatrixBackend<T>>(
    b: &B,
    den: &mut B::Mat,
    x: &B::Mat,
    l1: f64,
    l2: f64,
) {
    if l2 > 0.0 {
        b.axpy(den, T::from_f64(l2), x);
    }
    if l1 > 0.0 {
        b.add_scalar(den, T::from_f64(l1));
    }
}

/// `H ← max(ε, H ∘ (Wᵀ(V∘Λ^(β−2)) / (Wᵀ Λ^(β−1) + l1 + l2·H))^γ')`.
pub(super) fn update_h<T: Scalar, B: DataOps<T, V>, V>(s: &mut MuSolver<'_, T, B, V>) {
    let b = s.backend;
    let beta = s.loss.beta_value();
    b.beta_stats_h(
        s.v,
        &mut s.work,
        &s.w,
        &s.h,
        T::from_f64(beta),
        &mut s.num_h,
        &mut s.den_h,
    );
    let (l1, l2) = (s.penalty.l1_h, s.penalty.l2_h);
    add_penalty(b, &mut s.den_h, &s.h, l1, l2);
    let gamma = exponent(s.gamma, beta, l2);
    b.mu_update_pow(&mut s.h, &s.num_h, &s.den_h, gamma, s.eps);
}

/// `W ← max(ε, W ∘ ((V∘Λ^(β−2))Hᵀ / (Λ^(β−1)Hᵀ + l1 + l2·W))^γ')`.
pub(super) fn update_w<T: Scalar, B: DataOps<T, V>, V>(s: &mut MuSolver<'_, T, B, V>) {
    let b = s.backend;
    let beta = s.loss.beta_value();
    b.beta_stats_w(
        s.v,
        &mut s.work,
        &s.w,
        &s.h,
        T::from_f64(beta),
        &mut s.num_w,
        &mut s.den_w,
    );
    let (l1, l2) = (s.penalty.l1_w, s.penalty.l2_w);
    add_penalty(b, &mut s.den_w, &s.w, l1, l2);
    let gamma = exponent(s.gamma, beta, l2);
    b.mu_update_pow(&mut s.w, &s.num_w, &s.den_w, gamma, s.eps);
}
