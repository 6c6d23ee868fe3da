//! # nmf-core
//!
//! Non-negative matrix factorization V ≈ WH (V m×n, W m×k, H k×n, all entries ≥ 0) by the
//! multiplicative updates of Lee & Seung (Frobenius, KL) and of Févotte & Idier (every
//! β-divergence), written once for every linear-algebra backend, with NNDSVD initialisations
//! ([`Init`]), L1/L2 penalties ([`Penalty`]), restarts, `transform`, and saving models (feature
//! `io`).
//!
//! - [`MatrixBackend`] and [`DataOps`]: what a backend implements (see the crates
//!   `nmf-faer`, `nmf-nalgebra` and `nmf-ndarray`; [`reference::Reference`] is a plain one).
//! - [`Nmf::params`] → [`NmfParams`] → [`NmfValidParams::fit`] → [`NmfModel`]: the user API.
//! - [`MuSolver`]: the half-steps, for those who want to watch every one.
//! - [`auxiliary`]: the auxiliary functions G(h, hᵗ) of the monotonicity proof.
//! - [`NmfError`]: every way user input can be wrong.
//!
//! ## The guarantee
//! Every half-step is `x ← max(ε, x·num/den)` (for a β-divergence outside 1 ≤ β ≤ 2,
//! `max(ε, x·(num/den)^γ(β))`; with penalties, their terms join the denominator), the exact
//! minimiser of an auxiliary function over `{x ≥ ε}`, so the objective never increases (up to
//! rounding), no entry of W or H
//! is ever 0 (so none is locked there), and no denominator is 0. Zero rows of V give rows of
//! W equal to ε after the first W half-step, zero columns give columns of H equal to ε after
//! the first H half-step, and an all-zero V gives W = H = ε: finite, never NaN.
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
mod error;
pub mod init;
pub mod kernels;
mod model;
pub mod nndsvd;
mod params;
pub mod reference;
#[cfg(feature = "io")]
mod saved;
mod scalar;
pub mod svd;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
pub mod update;

pub use backend::{Accum, DataOps, DenseBackend, MatrixBackend, Trans, TruncatedSvd};
pub use error::{MatrixRole, NmfError};
pub use model::{LossRecord, NmfModel, Progress, TransformParams};
pub use params::{Fixed, Init, Loss, Nmf, NmfParams, NmfValidParams};
#[cfg(feature = "io")]
pub use saved::{FORMAT, SavedModel, VERSION};
pub use scalar::Scalar;
pub use update::{MuSolver, Penalty};

#[doc(hidden)]
pub use num_traits;
