//! The error of a fitted model on held-out entries ([`holdout_error`]): RMSE and MAE (the
//! Frobenius loss's natural figures, for ratings) and the mean divergence of the model's loss,
//! each weighted by the entries' weights.

use super::{Observed, cols_of, dot};
use crate::kernels::{F64Sum, beta_term};
use crate::{Loss, MatrixBackend, MatrixRole, NmfError, NmfModel, Scalar};

/// A model's error on a set of held-out entries Ω' with weights M (1 unless given): with
/// `r_ij = v_ij − (WH)_ij` and `|M| = Σ_{Ω'} M_ij`,
/// `rmse = √(Σ M_ij r_ij² / |M|)`, `mae = Σ M_ij |r_ij| / |M|`, and
/// `divergence = Σ M_ij d(v_ij, (WH)_ij) / |M|` for the model's loss d (½r² for Frobenius).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HoldoutError {
    /// The number of held-out entries.
    pub count: usize,
    /// The root mean squared error.
    pub rmse: f64,
    /// The mean absolute error.
    pub mae: f64,
    /// The mean divergence of the model's loss.
    pub divergence: f64,
}

impl HoldoutError {
    /// The errors of a fit on V/c² (factors W/c, H/c) in V's units: RMSE and MAE times c²,
    /// the divergence times `to_user` (c^(2β), the loss's own factor).
    pub(crate) fn in_units(self, c2: f64, to_user: f64) -> Self {
        HoldoutError {
            count: self.count,
            rmse: self.rmse * c2,
            mae: self.mae * c2,
            divergence: self.divergence * to_user,
        }
    }
}

/// One held-out evaluation during a fit ([`NmfModel::holdout_history`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HoldoutRecord {
    /// Iterations completed when it was evaluated (0: the initial factors).
    pub iteration: usize,
    /// The errors there.
    pub error: HoldoutError,
}

/// The error of `(W, H)` (m×k, Hᵀ as n×k, both row-major) on `test`, in `f64`.
pub(crate) fn holdout_error_rows<T: Scalar>(
    test: &Observed<T>,
    w_rows: &[T],
    ht_rows: &[T],
    k: usize,
    loss: Loss,
) -> HoldoutError {
    let beta = loss.beta_value();
    let (mut sq, mut abs, mut div, mut total) = (
        F64Sum::default(),
        F64Sum::default(),
        F64Sum::default(),
        F64Sum::default(),
    );
    let x = test.csr();
    let weights = test.weights();
    for i in 0..x.nrows() {
        let (cs, vs) = x.row(i);
        let start = x.indptr()[i];
        for (t, (&j, &v)) in cs.iter().zip(vs).enumerate() {
            let m = weights.map_or(1.0, |w| w[start + t].as_f64());
            let lambda = dot(&w_rows[i * k..i * k + k], &ht_rows[j * k..j * k + k]).as_f64();
            let (v, r) = (v.as_f64(), v.as_f64() - lambda);
            total.add(m);
            if m == 0.0 {
                continue;
            }
            sq.add(m * r * r);
            abs.add(m * r.abs());
            div.add(m * beta_term(v, lambda, beta));
        }
    }
    let t = total.value();
    HoldoutError {
        count: x.nnz(),
        rmse: (sq.value() / t).sqrt(),
        mae: abs.value() / t,
        divergence: div.value() / t,
    }
}

/// The error of a fitted model on held-out entries `test` (see [`HoldoutError`]), computed from
/// W and H at those entries only (O(|Ω'|·k), no m×n buffer).
///
/// ```
/// use nmf_core::{Nmf, masked::{Observed, holdout_error}, reference::Reference};
/// let all = Observed::from_triplets(2, 2, &[0, 0, 1, 1], &[0, 1, 0, 1], &[1.0_f64, 2.0, 3.0, 6.0]).unwrap();
/// let (train, test) = all.split(0.25, 7).unwrap();
/// let model = Nmf::params(1).seed(1).max_iter(400).tol(0.0).fit(&Reference, &train).unwrap();
/// let e = holdout_error(&Reference, &model, &test).unwrap();
/// assert_eq!(e.count, 1);
/// assert!(e.rmse < 1e-3, "{e:?}"); // a rank-one matrix: the missing entry is determined
/// ```
///
/// # Errors
/// [`NmfError::ShapeMismatch`] (matrix V) when `test` is not the shape of WH.
pub fn holdout_error<T: Scalar, B: MatrixBackend<T>>(
    backend: &B,
    model: &NmfModel<T, B>,
    test: &Observed<T>,
) -> Result<HoldoutError, NmfError> {
    let (w, h) = (model.w(), model.h());
    let expected = (backend.nrows(w), backend.ncols(h));
    if test.shape() != expected {
        return Err(NmfError::ShapeMismatch {
            matrix: MatrixRole::V,
            expected,
            found: test.shape(),
        });
    }
    let k = backend.ncols(w);
    let w_rows = backend.to_row_major(w);
    let mut ht = vec![T::zero(); expected.1 * k];
    cols_of(backend, h, &mut ht);
    Ok(holdout_error_rows(test, &w_rows, &ht, k, model.loss()))
}
