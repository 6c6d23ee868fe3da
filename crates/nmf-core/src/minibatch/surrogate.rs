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
//!
//! # The penalty on H
//! With `alpha_H > 0`, a batch of r rows brings, besides its auxiliary function, scikit-learn's
//! penalty scaled by the batch, `r·α_H·(ρ₁‖H‖₁ + ½(1−ρ₁)‖H‖²)` (ρ₁ = `l1_ratio`; the weights
//! `l1_h`, `l2_h` of [`MiniBatchValidParams::batch_penalty`](super::MiniBatchValidParams::batch_penalty)),
//! and it is **forgotten with the batch**: the surrogate is
//! `S_t(H) = Σ_s ρ^(t−s)·[G_s(H) + l1_h(r_s)‖H‖₁ + ½·l2_h(r_s)‖H‖²]`. This is scikit-learn's
//! weighting (its `_minibatch_step` scales the penalty by the batch's `n_samples` and adds it to
//! the denominator B that is multiplied by ρ with the rest). So the penalty keeps, against the
//! forgotten sum of batch losses, the weight `α_H` per row that the full-batch fit gives it
//! against the loss over all m rows (`m·α_H`): with batches of equal size, the accumulated
//! penalty weights are the batch's weights times the same geometric sum `Σ ρ^s` as the data.
//! The accumulators are two numbers (every entry has the same weights):
//! `L₁ ← ρ·L₁ + l1_h(r)` and `L₂ ← ρ·L₂ + l2_h(r)`.
//!
//! The penalty is added **exactly** (not majorised): it is separable and convex, so each
//! entry's surrogate stays a convex function of one variable,
//! `f(h) = P·φ₁(h) − Q·φ₂(h) + L₁·h + ½·L₂·h²`, with derivative
//! `f′(h) = P·φ₁′(h) − Q·φ₂′(h) + L₁ + L₂·h`, `φ₁′(h) = h^(β−1)` (1 for β < 1),
//! `φ₂′(h) = h^(β−2)` (1 for β > 2). f′ is increasing (f″ = P·φ₁″ − Q·φ₂″ + L₂ > 0, each
//! term ≥ 0 and P > 0), so f has one stationary point h* on (0, ∞) (or none, when f′ > 0
//! everywhere) and its minimiser over `{h ≥ ε}` is `max(ε, h*)`, or ε when f′(ε) ≥ 0:
//! - β = 2 (φ₁ = h²/2, φ₂ = h): `f′ = (P + L₂)h − (Q − L₁)`, so
//!   `h = max(ε, (Q − L₁)/(P + L₂))`. (scikit-learn instead adds L₁ to B, i.e. majorises
//!   the L1 term with curvature L₁/h_t: the exact form is lower.)
//! - β = 1 (φ₁ = h, φ₂ = ln h): `f′ = 0` is `L₂h² + (P + L₁)h − Q = 0`, whose positive root is
//!   `h = 2Q / ((P + L₁) + √((P + L₁)² + 4L₂Q))` (the form without cancellation); with
//!   `L₂ = 0`, `Q/(P + L₁)`. Then `max(ε, h)`.
//! - other β: no closed form (f′ mixes powers h^(β−1), h^(β−2) and h); the root of the
//!   increasing f′ lies in `(ε, x₀]` with `x₀ = (Q/P)^γ(β)` the unpenalised minimiser (there
//!   `f′(x₀) = L₁ + L₂x₀ ≥ 0`), and is found by Newton's method safeguarded by bisection of
//!   that bracket, to a few units of `f64` rounding.
//!
//! Without penalties (L₁ = L₂ = 0) the update is the formula above, `max(ε, (Q/P)^γ(β))`,
//! computed as before the penalties were added (the same bits).
//!
//! **Guaranteed**: each dictionary update does not raise the penalised surrogate `S_t`
//! (H_{t−1} is feasible and H_t its minimiser over `{H ≥ ε}`), and with ρ = 0 the surrogate is
//! the batch's auxiliary function plus its penalty, so the batch's penalised loss at W_b does
//! not rise either. As without penalties, nothing is guaranteed of the full-data objective at
//! each step.

use crate::Scalar;

/// The exponents `(a, c, γ)`: `P += den·h_t^a`, `Q += num·h_t^c`, `h = (Q/P)^γ`.
pub(super) fn exponents(beta: f64) -> (f64, f64, f64) {
    let a = if beta >= 1.0 { 1.0 - beta } else { 0.0 };
    let c = if beta <= 2.0 { 2.0 - beta } else { 0.0 };
    (a, c, crate::kernels::beta_gamma(beta))
}

/// One entry of the accumulated surrogate, `P·φ₁(h) − Q·φ₂(h) + L₁·h + ½·L₂·h²` (up to a
/// constant), and the sum of the absolute values of its terms (the size its `f64` rounding is
/// proportional to).
pub fn surrogate_entry(beta: f64, p: f64, q: f64, l1: f64, l2: f64, h: f64) -> (f64, f64) {
    // (β = 1 and 2 without `powf`: the surrogate is evaluated twice per batch, and `powf`
    // dominated the time of a Frobenius batch of digits-sized data)
    let (t1, t2) = if beta == 1.0 {
        (p * h, q * h.ln())
    } else if beta == 2.0 {
        (0.5 * p * h * h, q * h)
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
    if l1 == 0.0 && l2 == 0.0 {
        return (t1 - t2, t1.abs() + t2.abs());
    }
    let t3 = l1 * h + 0.5 * l2 * h * h;
    (t1 - t2 + t3, t1.abs() + t2.abs() + t3)
}

/// The accumulated surrogate `Σ P·φ₁(h) − Q·φ₂(h) + L₁·h + ½·L₂·h²` at `h` (row-major k×n),
/// with the size of its terms.
pub fn surrogate<T: Scalar>(
    beta: f64,
    p: &[f64],
    q: &[f64],
    (l1, l2): (f64, f64),
    h: &[T],
) -> (f64, f64) {
    p.iter()
        .zip(q)
        .zip(h)
        .map(|((&p, &q), &h)| surrogate_entry(beta, p, q, l1, l2, h.as_f64()))
        .fold((0.0, 0.0), |(s, m), (v, a)| (s + v, m + a))
}

/// The minimiser over `{h ≥ ε}` of one entry's surrogate `P·φ₁ − Q·φ₂ + L₁·h + ½·L₂·h²`
/// (P > 0, Q ≥ 0, L₁, L₂ ≥ 0), before the clamp at ε: a value ≤ ε means ε. Not finite when
/// P or Q is out of range. See the [module docs](self) for the formulas.
pub fn minimiser(beta: f64, p: f64, q: f64, l1: f64, l2: f64, eps: f64) -> f64 {
    let gamma = crate::kernels::beta_gamma(beta);
    let ratio = q / p;
    let x0 = if gamma == 1.0 {
        ratio
    } else {
        ratio.powf(gamma)
    };
    if l1 == 0.0 && l2 == 0.0 {
        return x0;
    }
    if beta == 2.0 {
        return (q - l1) / (p + l2);
    }
    if beta == 1.0 {
        let c = p + l1;
        return if l2 == 0.0 {
            q / c
        } else {
            2.0 * q / (c + (c * c + 4.0 * l2 * q).sqrt())
        };
    }
    if !(x0.is_finite() && p.is_finite()) || x0 <= eps {
        // f′ is increasing and f′(x₀) ≥ 0: the root is at most x₀, so the minimiser is ε.
        return x0;
    }
    let d1 = |h: f64| {
        let p1 = if beta >= 1.0 { h.powf(beta - 1.0) } else { 1.0 };
        let p2 = if beta <= 2.0 { h.powf(beta - 2.0) } else { 1.0 };
        let dd = if beta >= 1.0 {
            p * (beta - 1.0) * p1 / h
        } else {
            0.0
        } + if beta <= 2.0 {
            q * (2.0 - beta) * p2 / h
        } else {
            0.0
        } + l2;
        (p * p1 - q * p2 + l1 + l2 * h, dd)
    };
    let (mut lo, mut hi) = (eps, x0);
    if d1(lo).0 >= 0.0 {
        return eps;
    }
    let mut x = hi;
    for _ in 0..200 {
        let (g, dd) = d1(x);
        if g == 0.0 {
            return x;
        }
        if g < 0.0 {
            lo = x;
        } else {
            hi = x;
        }
        let newton = x - g / dd;
        let next = if newton > lo && newton < hi && newton.is_finite() {
            newton
        } else {
            // Bisection in the ratio (the bracket may span many orders of magnitude).
            (lo * hi).sqrt()
        };
        // Within 4u₆₄ relative of the root (the shared suite's bound counts on it).
        if (next - x).abs() <= 2.0 * f64::EPSILON * x || hi - lo <= 2.0 * f64::EPSILON * hi {
            return next;
        }
        x = next;
    }
    x
}

/// Adds one batch's statistics to the accumulators (after multiplying them by ρ) and writes the
/// minimiser of the accumulated surrogate (with the accumulated penalty weights `(L₁, L₂)`)
/// over `{h ≥ ε}` into `h_new`.
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
    (l1, l2): (f64, f64),
    num: &[T],
    den: &[T],
    h: &[T],
    h_new: &mut [T],
) {
    let (a, c, _) = exponents(beta);
    let eps64 = eps.as_f64();
    for idx in 0..p.len() {
        let ht = h[idx].as_f64();
        let pw = |e: f64| if e == 0.0 { 1.0 } else { ht.powf(e) };
        p[idx] = rho * p[idx] + den[idx].as_f64() * pw(a);
        q[idx] = rho * q[idx] + num[idx].as_f64() * pw(c);
        let x = minimiser(beta, p[idx], q[idx], l1, l2, eps64);
        h_new[idx] = if x.is_finite() {
            T::from_f64(x.max(eps64))
        } else {
            h[idx]
        };
    }
}
