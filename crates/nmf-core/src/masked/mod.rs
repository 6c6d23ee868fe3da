//! Missing values and weights: the weighted objective
//!
//! `Σ_ij M_ij·d(V_ij, (WH)_ij) + penalties`, with M ≥ 0,
//!
//! for collaborative filtering (a ratings matrix whose unobserved entries are not ratings of 0)
//! and for weighted least squares. Two data terms implement [`DataOps`](crate::DataOps) for
//! every backend:
//!
//! - [`Observed`]: the observed entries of V as compressed sparse rows (every stored entry is
//!   observed, a stored 0 included; an entry not stored is missing), with optional per-entry
//!   weights (1 otherwise). Its statistics touch the observed set Ω only: O(|Ω|·k) per
//!   multiplicative half-step, no m×n buffer anywhere.
//! - [`Weighted`]: a dense V with a dense non-negative weight matrix of the same shape (a 0/1
//!   mask is the special case). Its statistics cost O(m·n·k), as dense V's.
//!
//! # The statistics
//! Weighted data gives every loss its statistics in the β form
//! ([`DataOps::data_weighted`](crate::DataOps::data_weighted)): for the H half-step
//! `num = Wᵀ(M∘V∘Λ^(β−2))`, `den = Wᵀ(M∘Λ^(β−1))` with Λ = WH, and β = 2 for Frobenius
//! (`Wᵀ(M∘V)`, `Wᵀ(M∘WH)`), β = 1 for KL (`Wᵀ(M∘V/WH)`, `WᵀM`); for W their mirrors. Each
//! auxiliary function of the multiplicative updates is a sum over entries of per-entry bounds,
//! so weighting each term by M_ij keeps it an auxiliary function, separable and convex in each
//! entry of the factor updated: the ε-clamped update ([`crate::MuSolver`]) stays its exact
//! minimiser and the weighted objective never rises. HALS and KL coordinate descent need the
//! unweighted Gram form or every entry of V, and refuse weighted data with
//! [`NmfError::SolverNotForData`](crate::NmfError::SolverNotForData).
//!
//! For masked Frobenius fits, [`AnlsSolver`] (alternating non-negative least squares, one k×k
//! Gram matrix per column of H and per row of W over its observed entries, solved by exact
//! coordinate descent) is faster; [`Solver::Auto`](crate::Solver::Auto) picks it for
//! [`Observed`] data with the Frobenius loss.
//!
//! # A full mask
//! [`Weighted`] with every weight 1 is reported as unweighted and forwards every statistic to
//! the dense data term, so its fit is the unmasked fit bit for bit (whatever the solver). An
//! [`Observed`] V with every entry stored is a different computation (sums over the stored
//! entries instead of dense products): its fit agrees with the dense fit to rounding.
//!
//! # Prediction and held-out entries
//! [`NmfModel::predict`](crate::NmfModel::predict) gives WH at (row, column) pairs without
//! forming WH; [`Observed::split`] and [`holdout_error`] leave a reproducible random subset of
//! the observed entries out of a fit and measure the fitted model there.

pub mod anls;
pub mod holdout;
pub mod observed;
pub mod weighted;

pub use anls::{AnlsOptions, AnlsSolver};
pub use holdout::{HoldoutError, HoldoutRecord, holdout_error};
pub use observed::{Observed, ObservedRef};
pub use weighted::{Weighted, WeightedWork};

// The layout of the factors and of the outputs is the compressed sparse passes' (the model's
// predictions read Hᵀ through `cols_of` here too).
pub(crate) use crate::sparse::pass::{cols_of, rows_of, write_back};

use crate::Scalar;

/// The two factors of the β statistics at one entry, weight applied:
/// `(m·v·λ^(β−2), m·λ^(β−1))`, with the exact forms of β = 2 (`(m·v, m·λ)`) and β = 1
/// (`(m·v/λ, m)`, the ratio 0 where v is 0).
#[inline(always)]
pub(crate) fn weighted_parts<T: Scalar>(v: T, lambda: T, m: T, beta: f64) -> (T, T) {
    if beta == 2.0 {
        (m * v, m * lambda)
    } else if beta == 1.0 {
        (m * crate::kernels::kl_ratio(v, lambda), m)
    } else {
        let (a, b) = crate::kernels::beta_parts(v, lambda, T::from_f64(beta));
        (m * a, m * b)
    }
}

/// `Σ_a x_a·y_a` over k entries, in `T`, in increasing `a`.
#[inline(always)]
pub(crate) fn dot<T: Scalar>(x: &[T], y: &[T]) -> T {
    let mut s = T::zero();
    for (&a, &b) in x.iter().zip(y) {
        s += a * b;
    }
    s
}
