//! # nmf-core
//!
//! Non-negative matrix factorization V ≈ WH (V m×n, W m×k, H k×n, all entries ≥ 0) by the
//! multiplicative updates of Lee & Seung (Frobenius, KL) and of Févotte & Idier (every
//! β-divergence), and for the Frobenius loss by hierarchical ALS (HALS, the default there:
//! [`Solver`]), written once for every linear-algebra backend, with NNDSVD initialisations
//! ([`Init`]), L1/L2 penalties ([`Penalty`]), restarts, `transform`, and saving models (feature
//! `io`).
//!
//! The core is in layers:
//! - [`MatrixBackend`]: what a backend implements (see the crates `nmf-faer`, `nmf-nalgebra`
//!   and `nmf-ndarray`; [`reference::Reference`] is a plain one): storage, products with
//!   transposes as flags, and a few traversals of the storage through which the entry-wise
//!   rules of [`kernels`] are applied, written once here.
//! - [`DataOps`], the data term ([`data`]): what a half-step needs from V, as small
//!   statistics computed by the data's own type (dense V on every backend through
//!   [`dense_data_ops!`]); [`Distributed`] spreads any data term over processes by blocks of
//!   rows ([`distributed`]; MPI in the crate `nmf-mpi`).
//! - The update rules ([`update`]) consume those statistics.
//! - [`Nmf::params`] → [`NmfParams`] → [`NmfValidParams::fit`] → [`NmfModel`]: the user API;
//!   [`NmfValidParams::fitting`] → [`Fitting`] for the options (a custom start, an observer,
//!   restarts on threads), [`NmfModel::transform`] for new data and [`NmfModel::score`] for
//!   the loss of a model on data.
//! - [`MuSolver`] and [`HalsSolver`]: the half-steps, for those who want to watch every one;
//!   [`Solver`] chooses between them in a fit.
//! - [`masked`]: missing values and weights (`Σ M_ij·d(V_ij, (WH)_ij)`): observed entries
//!   ([`masked::Observed`]) or dense weights ([`masked::Weighted`]) as data terms, masked
//!   least squares ([`masked::AnlsSolver`], [`Solver::Anls`]), predictions
//!   ([`NmfModel::predict`]) and held-out errors ([`NmfParams::holdout`]).
//! - [`auxiliary`]: the auxiliary functions G(h, hᵗ) of the monotonicity proof.
//! - [`NmfError`]: every way user input can be wrong.
//! - [`minibatch`]: minibatch and online NMF (scikit-learn's `MiniBatchNMF`, `partial_fit`)
//!   over blocks of rows of V.
//!
//! ## The guarantee
//! A HALS half-step ([`HalsSolver`]) is a sequence of coordinate steps, each the exact
//! minimiser of the penalised Frobenius objective in one entry over `{x ≥ ε}`
//! ([`kernels::coordinate_sweep`]), so what follows holds for it too. A multiplicative
//! half-step is `x ← max(ε, x·num/den)` (for a β-divergence outside 1 ≤ β ≤ 2,
//! `max(ε, x·(num/den)^γ(β))`; with penalties, their terms join the denominator), the exact
//! minimiser of an auxiliary function over `{x ≥ ε}`, so the objective never increases (up to
//! rounding), no entry of W or H
//! is ever 0 (so none is locked there), and no denominator is 0. Zero rows of V give rows of
//! W equal to ε after the first W half-step, zero columns give columns of H equal to ε after
//! the first H half-step, and an all-zero V gives W = H = ε: finite, never NaN.
//!
//! ### In floating point
//! What a fit ([`NmfValidParams::fit`], or with options [`NmfValidParams::fitting`]) guarantees, in `f32` and
//! in `f64`, for every V with finite non-negative entries and every accepted parameter:
//! - **Monotone or an error.** Each evaluation of the objective (every `check_every`
//!   iterations) is at most the previous one plus the rounding bound
//!   `8·(k+2)·u·S + 16·u₆₄·M` ([`Evaluation::rise_bound`]; u is the unit roundoff of the
//!   scalar, 6.0e-8 in `f32` and 1.1e-16 in `f64`; S and M are the sizes of the terms the
//!   evaluation sums, never the loss itself). A larger rise ends the fit with
//!   [`NmfError::ObjectiveIncreased`] (iteration and figures), never with "converged".
//! - **Finite factors ≥ ε, or an error.** W and H are finite with every entry ≥ ε; a loss or
//!   factor that leaves the range of the scalar (or of `f64` for the loss, in V's units) ends
//!   the fit with [`NmfError::NonFiniteResult`], which says which.
//! - **Scale.** V is fitted at a scale where the updates stay in range: when mean(V) is
//!   outside about 2^±17 in `f32` (2^±65 in `f64`), the fit runs on V/c² with c = 2^e ≈
//!   √mean(V), W/c, H/c and ε/c, an exact rescaling of the same problem: since
//!   d_β(c²v | c²y) = c^(2β)·d_β(v | y), the user's objective is c^(2β) times the objective
//!   of the scaled problem when its penalty weights are l1·c^(1−2β) and l2·c^(2−2β) (as
//!   l1‖W‖₁ = l1·c‖W/c‖₁ and ½l2‖W‖² = ½l2·c²‖W/c‖²). Dividing by a power of two is exact, so
//!   V/c², the starts and ε/c are exactly the user's, scaled; only the penalty weights and the
//!   reported losses are rounded, once, in `f64`. The factors, ε and the losses are reported
//!   in V's units. V itself must be scaled (not only the factors): WH approximates V, so the
//!   powers (WH)^(β−2) have V's magnitude whatever the split between W and H. This costs one
//!   more m×n buffer ([`DataOps::data_scaled`]) for such V only, made once per fit and shared
//!   by its restarts, never in the iterations.
//!   Tested for V from 10⁻³⁰ to 10³⁰, in `f64` and in `f32`, with single
//!   non-zero matrices, every loss, β in [−0.5, 3.5] and the smallest accepted ε
//!   (the shared property suite, `nmf_core::testing` with the feature `testing`, on every
//!   backend).
//! - **Refused inputs.** ε outside [`NmfValidParams::eps_range`] (ε′³ must be a normal
//!   number on the rescaled problem, and ε at most 1024·√mean(V)), |β| above [`MAX_BETA`],
//!   penalty weights that overflow `f64`, and ranks whose buffers cannot be allocated
//!   ([`NmfError::RankTooLarge`]) are errors that name the parameter, before any iteration.
//!
//! Outside these conditions the updates themselves still never make a step that is not a
//! finite number: such a step keeps the entry where it was ([`kernels::mu_step`]), which is
//! always monotone. Data whose entries span more orders of magnitude than the scalar type
//! holds around their mean (beyond about 10^±30 in `f32`) can still overflow, which is
//! reported ([`NmfError::NonFiniteResult`]), or underflow to 0 once rescaled, which β ≤ 0
//! cannot take ([`NmfError::EntryBelowRange`]).
//!
//! ```
//! use nmf_core::{Loss, MatrixBackend, Nmf, reference::Reference};
//! let v = Reference.from_row_major(3, 2, &[1.0_f64, 0.0, 2.0, 1.0, 0.0, 3.0]).unwrap();
//! let model = Nmf::params(2).loss(Loss::KullbackLeibler).seed(1).fit(&Reference, &v).unwrap();
//! let w = Reference.to_row_major(model.w());
//! assert!(w.iter().all(|&x| x > 0.0 && x.is_finite()));
//! ```
#![warn(missing_docs)]

pub mod auxiliary;
mod backend;
pub mod data;
pub mod distributed;
mod driver;
mod error;
pub mod init;
pub mod kernels;
pub mod lane;
pub mod masked;
pub mod minibatch;
mod model;
pub mod nndsvd;
#[cfg(feature = "io")]
pub mod npy_header;
mod params;
pub mod rank_selection;
pub mod reference;
mod rule;
#[cfg(feature = "io")]
mod saved;
mod scalar;
mod scale;
pub mod sparse;
pub mod streamed;
pub mod svd;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
mod transform;
pub mod update;

pub use backend::{
    Accum, LaneFn, MAX_ZIP_INS, MAX_ZIP_OUTS, MatrixBackend, ReduceFn, Run, RunAxis, Trans,
    TruncatedSvd, VisitFn, ZipFn, check_zip,
};
pub use data::{DataEvaluation, DataOps, DenseBackend};
pub use distributed::{Collective, Distributed};
pub use driver::{Fitting, NoObserver, Progress, Sequential, Threaded};
pub use error::{MatrixRole, NmfError};
pub use lane::Lanes;
pub use model::{LossRecord, NmfModel};
pub use params::{Fixed, Init, Loss, MAX_BETA, Nmf, NmfParams, NmfValidParams, Solver};
#[cfg(feature = "io")]
pub use saved::{FORMAT, SavedModel, VERSION};
pub use scalar::Scalar;
pub use transform::{TransformParams, Transforming};
pub use update::{CdKlOptions, CdKlSolver, Evaluation, HalsOptions, HalsSolver, MuSolver, Penalty};

#[doc(hidden)]
pub use num_traits;
