//! The accumulated surrogate of the dictionary H and its exact minimiser over `{h ≥ ε}`.
//!
//! For a batch V_b with its factor W_b fixed and the current dictionary H_t, Févotte & Idier's
//! auxiliary function of `D_β(V_b‖W_b H)` is separable across the entries of H; written with
//! the batch's statistics `num = W_bᵀ(V_b∘Λ^(β−2))` and `den = W_bᵀΛ^(β−1)` (Λ = W_b H_t;
//! for β = 2 these are W_bᵀV_b and W_bᵀW_b H_t, for β = 1 Wᵀ(V/WH) and the column sums of
//! W), its entry (a, j) is, up to a constant, with h_t = (H_t)_aj:
//!
//! | β | G(h) |
//! |---|---|
//! | 1 ≤ β ≤ 2 | `den·h_t^(1−β)·h^β/β − num·h_t^(2−β)·h^(β−1)/(β−1)` (β = 1: `den·h − num·h_t·ln h`) |
//! | β > 2 | `den·h_t^(1−β)·h^β/β − num·h` |
//! | β < 1 | `den·h − num·h_t^(2−β)·h^(β−1)/(β−1)` |
//!
//! (its derivative is `den·(h/h_t)^(β−1) − num·(h/h_t)^(β−2)` for 1 ≤ β ≤ 2, with the concave
//! part linearised outside). So each is `P·φ₁(h) − Q·φ₂(h)` with coefficients
//! `P = den·h_t^a`, `Q = num·h_t^c` and fixed functions φ₁, φ₂, and a weighted sum of them over
//! batches is again of that form: the accumulators are two k×n arrays,
//! `P ← ρ·P + den·h_t^a` and `Q ← ρ·Q + num·h_t^c`. Each entry's sum is convex in h with a
//! single stationary point `(Q/P)^γ(β)`, so its minimiser over `{h ≥ ε}` is
//! `max(ε, (Q/P)^γ(β))`. With ρ = 0 this is the ordinary MU step `h_t·(num/den)^γ`.
//!
//! scikit-learn accumulates `A ← ρA + h_t^(1/γ)·num`, `B ← ρB + den` and sets `H = (A/B)^γ`:
//! the same for β = 1 and for one batch, but for other β and more than one batch that is not
//! the minimiser of the accumulated auxiliary functions.

use crate::Scalar;

/// The exponents `(a, c, γ)`: `P += den·h_t^a`, `Q += num·h_t^c`, `h = (Q/P)^γ`.
pub(super) fn exponents(beta: f64) -> (f64, f64, f64) {
    let a = if beta >= 1.0 { 1.0 - beta } else { 0.0 };
    let c = if beta <= 2.0 { 2.0 - beta } else { 0.0 };
    (a, c, crate::kernels::beta_gamma(beta))
}

/// One entry of the accumulated surrogate, `P·φ₁(h) − Q·φ₂(h)` (up to a constant), and the sum
/// of the absolute values of its two terms (the size its `f64` rounding is proportional to).
pub fn surrogate_entry(beta: f64, p: f64, q: f64, h: f64) -> (f64, f64) {
    let (t1, t2) = if beta == 1.0 {
        (p * h, q * h.ln())
    } else if beta > 2.0 {
        (p * h.powf(beta) / beta, q * h)
    } else if beta < 1.0 {
        (p * h, q * h.powf(beta - 1.0) / (beta - 1.0))
    } else {
        (
            p * h.powf(beta) / beta,
            q * h.powf(beta - 1.0) / (beta - 1.0),
        )
    };
    (t1 - t2, t1.abs() + t2.abs())
}

/// The accumulated surrogate `Σ P·φ₁(h) − Q·φ₂(h)` at `h` (row-major k×n), with the size of
/// its terms.
pub fn surrogate<T: Scalar>(beta: f64, p: &[f64], q: &[f64], h: &[T]) -> (f64, f64) {
    p.iter()
        .zip(q)
        .zip(h)
        .map(|((&p, &q), &h)| surrogate_entry(beta, p, q, h.as_f64()))
        .fold((0.0, 0.0), |(s, m), (v, a)| (s + v, m + a))
}

/// Adds one batch's statistics to the accumulators (after multiplying them by ρ) and writes the
/// minimiser of the accumulated surrogate over `{h ≥ ε}` into `h_new`.
///
/// A minimiser that is not a finite number (P or Q out of range) keeps the entry where it was,
/// which does not raise the surrogate.
#[allow(clippy::too_many_arguments)]
pub(super) fn accumulate_and_minimise<T: Scalar>(
    beta: f64,
    rho: f64,
    eps: T,
    p: &mut [f64],
    q: &mut [f64],
    num: &[T],
    den: &[T],
    h: &[T],
    h_new: &mut [T],
) {
    let (a, c, gamma) = exponents(beta);
    let eps64 = eps.as_f64();
    for idx in 0..p.len() {
        let ht = h[idx].as_f64();
        let pw = |e: f64| if e == 0.0 { 1.0 } else { ht.powf(e) };
        p[idx] = rho * p[idx] + den[idx].as_f64() * pw(a);
        q[idx] = rho * q[idx] + num[idx].as_f64() * pw(c);
        let ratio = q[idx] / p[idx];
        let x = if gamma == 1.0 {
            ratio
        } else {
            ratio.powf(gamma)
        };
        h_new[idx] = if x.is_finite() {
            T::from_f64(x.max(eps64))
        } else {
            h[idx]
        };
    }
}
