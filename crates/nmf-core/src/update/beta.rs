//! β-divergence half-steps (Févotte & Idier 2011) with the ε lower bound:
//! `H ← max(ε, H ∘ (Wᵀ(V∘Λ^(β−2)) / Wᵀ Λ^(β−1))^γ(β))` with Λ = WH, and symmetrically for W.
//! The auxiliary function of their majorisation–minimisation step is separable and convex in
//! each entry, so the ε-clamped step is its exact minimiser over `{h ≥ ε}`.

use super::MuSolver;
use crate::{DataOps, Scalar};

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

/// `H ← max(ε, H ∘ (Wᵀ(V∘Λ^(β−2)) / Wᵀ Λ^(β−1))^γ)`.
pub(super) fn update_h<T: Scalar, B: DataOps<T, V>, V>(s: &mut MuSolver<'_, T, B, V>) {
    parts(s);
    let (b, a, den) = (
        s.backend,
        &s.scratch,
        s.scratch2.as_ref().expect("β buffers"),
    );
    b.wt_x(&mut s.num_h, &s.w, a);
    b.wt_x(&mut s.den_h, &s.w, den);
    b.mu_update_pow(&mut s.h, &s.num_h, &s.den_h, s.gamma, s.eps);
}

/// `W ← max(ε, W ∘ ((V∘Λ^(β−2))Hᵀ / Λ^(β−1)Hᵀ)^γ)`.
pub(super) fn update_w<T: Scalar, B: DataOps<T, V>, V>(s: &mut MuSolver<'_, T, B, V>) {
    parts(s);
    let (b, a, den) = (
        s.backend,
        &s.scratch,
        s.scratch2.as_ref().expect("β buffers"),
    );
    b.x_ht(&mut s.num_w, a, &s.h);
    b.x_ht(&mut s.den_w, den, &s.h);
    b.mu_update_pow(&mut s.w, &s.num_w, &s.den_w, s.gamma, s.eps);
}
