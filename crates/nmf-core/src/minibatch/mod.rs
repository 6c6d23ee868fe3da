//! Minibatch and online NMF ([`MiniBatchNmf`]): scikit-learn's `MiniBatchNMF` (the online
//! multiplicative updates of Lefèvre, Bach & Févotte 2011) on this crate's data terms, with
//! [`OnlineNmf::partial_fit`] for data that arrives in pieces.
//!
//! # Orientation
//! scikit-learn factors X (samples × features) ≈ W·H with H (components × features) the
//! dictionary and batches of samples, i.e. of rows of X. Here V (m×n) ≈ WH in the same
//! orientation: **a batch is a block of rows of V**, its rows of W (the batch factor W_b,
//! r×k) are found with H fixed, and H (k×n) is the dictionary, updated from statistics
//! accumulated over the batches. So scikit-learn's `components_` is H, its `batch_size` is
//! rows of V, and `fit_transform(X)` is [`MiniBatchModel::w`].
//!
//! # Penalties
//! scikit-learn's `alpha_W`, `alpha_H` (`"same"` by default) and `l1_ratio`
//! ([`MiniBatchParams::alpha_w`], [`MiniBatchParams::alpha_h`], [`MiniBatchParams::l1_ratio`]),
//! scaled as its `MiniBatchNMF` scales them, **per batch**: a batch of r rows has the
//! penalised loss `D_β(V_b‖W_b H) + l1_w‖W_b‖₁ + ½l2_w‖W_b‖² + l1_h‖H‖₁ + ½l2_h‖H‖²` with
//! `l1_w = n·α_W·ρ₁`, `l2_w = n·α_W·(1−ρ₁)` (as the full-batch fit's, on the batch's rows of
//! W) and `l1_h = r·α_H·ρ₁`, `l2_h = r·α_H·(1−ρ₁)` (the full-batch fit's m·α_H with m the
//! batch's rows) ([`MiniBatchValidParams::batch_penalty`]). The H penalty is forgotten with its
//! batch, as in scikit-learn ([`surrogate`] says how it is weighted and how H is updated).
//!
//! # One batch
//! 1. **W_b**, with H fixed: MM steps `W_b ← max(ε, W_b∘num/den)` (γ(β)-powered outside
//!    1 ≤ β ≤ 2; with penalties, the penalised steps of
//!    [`MuSolver::set_penalty`](crate::MuSolver::set_penalty)), each the exact minimiser over
//!    `{W_b ≥ ε}` of Lee & Seung's (Févotte & Idier's) auxiliary function of the batch's
//!    penalised loss, so that never rises: up to
//!    `fresh_restarts_max_iter` of them from the constant `√(mean(V_b)/k)` (a fresh solve),
//!    or one from W_b's value in the previous epoch.
//! 2. **H**: the batch's statistics at (W_b, H_t) define the auxiliary function G_t(H) of its
//!    loss at H_t; the accumulated surrogate is `S_t = ρ·S_{t−1} + G_t + pen_t` (pen_t the
//!    batch's penalty on H), and H moves to its exact minimiser over `{H ≥ ε}` (see
//!    [`surrogate`] for the formulas: two k×n accumulators P, Q, two numbers for the
//!    penalty, and without penalties `H = max(ε, (Q/P)^γ(β))`).
//!
//! # What is guaranteed
//! - Every entry of W and H is ≥ ε (and finite).
//! - Each W_b step never raises the batch's penalised loss (`D_β(V_b‖W_b H)` without
//!   penalties; MM step, observable with [`OnlineNmf::batch_solver`]).
//! - Each dictionary update never raises the accumulated (penalised) surrogate:
//!   `S_t(H_t) ≤ S_t(H_{t−1})`
//!   ([`BatchStep::surrogate_before`], [`BatchStep::surrogate_after`]), as H_t is its
//!   minimiser over `{H ≥ ε}` and H_{t−1} is feasible.
//! - **Not** guaranteed: that the loss over all of V, or even over the batch, decreases after
//!   a dictionary update. The surrogate weighs past batches at past dictionaries; a stochastic
//!   method does not descend on the full objective at each step (scikit-learn's neither).
//! - Fitting the batches of V in order with [`MiniBatchValidParams::fit`] for one epoch gives
//!   bit for bit what [`OnlineNmf::partial_fit`] gives over the same batches (with
//!   [`OnlineNmf::with_total_rows`], so that the past is weighted the same).
//!
//! # Differences from scikit-learn
//! - The dictionary update is the minimiser of the accumulated auxiliary functions (above);
//!   scikit-learn's `A/B` form equals it for KL and for a single batch, not otherwise
//!   ([`surrogate`]).
//! - The initial H is seeded random at the scale of the first batch (`|N(0,1)|·√(mean/k)`);
//!   scikit-learn's `fit` initialises from the whole X (NNDSVDa by default), which a stream
//!   does not have. No shuffling, and no rescaling of V of extreme scale (the full-batch
//!   fit's, see the crate docs): the data is fitted as it is.
//! - In the first epoch each W_b is solved afresh (up to `fresh_restarts_max_iter` steps);
//!   scikit-learn's `fit` takes one step from its initial W there.
//! - With penalties, H is the exact minimiser of the surrogate plus the penalty (scikit-learn
//!   majorises the L1 term, and its L2 step for β < 2 is not an MM step), and the batch cost
//!   counts the L2 terms as `½·l2‖·‖²` (the objective's; scikit-learn's batch cost omits the ½).
//!
//! ```
//! use nmf_core::{MatrixBackend, minibatch::MiniBatchNmf, reference::Reference};
//! let b = Reference;
//! let v = b.from_fn(6, 4, |i, j| 1.0 + ((i * 3 + j) % 5) as f64);
//! let params = MiniBatchNmf::params(2).batch_size(2).max_iter(5).check().unwrap();
//! let model = params.fit(&b, &v).unwrap();
//! assert_eq!(b.shape(model.w()), (6, 2));
//! // Data arriving in pieces:
//! let mut online = params.online::<f64, Reference>(4).unwrap();
//! let first = b.from_fn(2, 4, |i, j| 1.0 + (i + j) as f64);
//! let (_w_b, step) = online.partial_fit(&b, &first).unwrap();
//! assert!(step.surrogate_after <= step.surrogate_before);
//! ```

mod fit;
mod online;
mod params;
pub mod surrogate;

pub use fit::{MiniBatchModel, MiniBatchProgress};
pub use online::{BatchStep, OnlineNmf};
pub use params::{MiniBatchNmf, MiniBatchParams, MiniBatchValidParams};
