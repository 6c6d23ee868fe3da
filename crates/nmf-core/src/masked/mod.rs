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

use core::ops::Range;

use crate::{MatrixBackend, RunAxis, Scalar};

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

/// A (m×k) into `out`, row-major.
pub(crate) fn rows_of<T: Scalar, B: MatrixBackend<T>>(b: &B, a: &B::Mat, out: &mut [T]) {
    b.copy_to_row_major(a, out);
}

/// H (k×n) into `out` as Hᵀ, n×k row-major.
pub(crate) fn cols_of<T: Scalar, B: MatrixBackend<T>>(b: &B, h: &B::Mat, out: &mut [T]) {
    let k = b.nrows(h);
    b.visit(&[h], &mut |run, s| {
        let x = s[0];
        match run.axis {
            RunAxis::Row => {
                for (t, &x) in x.iter().enumerate() {
                    out[(run.col + t) * k + run.row] = x;
                }
            }
            RunAxis::Column => {
                for (t, &x) in x.iter().enumerate() {
                    out[run.col * k + run.row + t] = x;
                }
            }
        }
    });
}

/// `dst` (rows×k) ← `src` (rows×k row-major), or, when `transposed`, `dst` (k×rows) ← `srcᵀ`.
pub(crate) fn write_back<T: Scalar, B: MatrixBackend<T>>(
    b: &B,
    dst: &mut B::Mat,
    src: &[T],
    k: usize,
    transposed: bool,
) {
    b.zip_mut(&mut [dst], &[], &|run, outs, _| {
        let o = &mut *outs[0];
        let at = |r: usize, c: usize| if transposed { c * k + r } else { r * k + c };
        match run.axis {
            RunAxis::Row => {
                for (t, o) in o.iter_mut().enumerate() {
                    *o = src[at(run.row, run.col + t)];
                }
            }
            RunAxis::Column => {
                for (t, o) in o.iter_mut().enumerate() {
                    *o = src[at(run.row + t, run.col)];
                }
            }
        }
    });
}

/// What [`par_blocks`] and the solvers' block runners apply to each block: its rows and two
/// buffers split for it.
pub(crate) type BlockFn<'f, T> = dyn Fn(Range<usize>, &mut [T], &mut [T]) + Sync + 'f;

/// Runs `f(rows, out rows, out2 rows)` over `blocks` (consecutive ranges from row 0) on
/// rayon's threads by recursive `join` (nothing allocated), with `out` and `out2` split
/// `stride` entries per row. Each row is computed by one call whatever the split, so the
/// result has the same bits for every number of threads.
pub(crate) fn par_blocks<T: Send>(
    blocks: &[Range<usize>],
    out: &mut [T],
    out2: &mut [T],
    stride: usize,
    f: &BlockFn<'_, T>,
) {
    match blocks {
        [] => {}
        [r] => f(r.clone(), out, out2),
        _ => {
            let (left, right) = blocks.split_at(blocks.len() / 2);
            let cut = (right[0].start - left[0].start) * stride;
            let (lo, hi) = out.split_at_mut(cut.min(out.len()));
            let (lo2, hi2) = out2.split_at_mut(cut.min(out2.len()));
            rayon::join(
                || par_blocks(left, lo, lo2, stride, f),
                || par_blocks(right, hi, hi2, stride, f),
            );
        }
    }
}
