//! Missing values on the command line: how `nmf fit` and `nmf rank` read unobserved entries
//! (`--missing zero|unobserved`), the held-out fraction of `nmf fit` (`--holdout`), the
//! conversion of the input to the library's masked data ([`Observed`]), which
//! the one dispatch (`dispatch.rs`) runs like any other input.

use clap::Args;
use nmf_core::masked::{HoldoutError, Observed};
use nmf_core::sparse::Csr;
use nmf_core::{NmfError, Scalar};
use serde::Serialize;

use crate::CliError;
use crate::read::Input;

/// How the entries a sparse input does not store are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Missing {
    /// Zeros, as counts (every entry of V is observed).
    #[default]
    Zero,
    /// Unobserved, as ratings: the stored entries are the observed ones (a stored 0 too), and
    /// the fit minimises the loss over them only.
    Unobserved,
}

impl Missing {
    /// The value's name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Missing::Zero => "zero",
            Missing::Unobserved => "unobserved",
        }
    }
}

/// The missing-value options of `nmf fit`.
#[derive(Debug, Clone, Args)]
pub struct MaskArgs {
    /// How a Matrix Market coordinate or .npz input's unstored entries are read: `zero` (as
    /// counts) or `unobserved` (as ratings: the stored entries are the observed ones, and the
    /// fit, by alternating non-negative least squares for the Frobenius loss, touches only
    /// them).
    #[arg(long, value_enum, default_value_t)]
    pub missing: Missing,
    /// Leave this fraction of the observed entries out of the fit (drawn with --seed) and
    /// report the fitted model's error on them (RMSE, MAE, mean divergence) on the console
    /// and in summary.json.
    #[arg(long, value_name = "F")]
    pub holdout: Option<f64>,
    /// A dense matrix of V's shape (any input format) of non-negative weights: the fit
    /// minimises Σ weight·loss over the observed entries (a weight of 0 leaves an entry out).
    #[arg(long, value_name = "FILE")]
    pub weights: Option<std::path::PathBuf>,
    /// How NaN entries and empty cells of a CSV or .npy input are read: `error` (refused,
    /// naming the cell) or `missing` (unobserved entries: the fit minimises the loss over the
    /// others).
    #[arg(long, value_enum, default_value_t)]
    pub nan: Nan,
}

/// How NaN entries and empty cells of a dense input are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Nan {
    /// Refused, naming the cell.
    #[default]
    Error,
    /// Missing values (unobserved entries).
    Missing,
}

impl MaskArgs {
    /// Whether the fit needs masked data.
    pub fn active(&self) -> bool {
        self.missing == Missing::Unobserved
            || self.holdout.is_some()
            || self.weights.is_some()
            || self.nan == Nan::Missing
    }
}

/// The held-out error as summary.json records it.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct HoldoutInfo {
    /// The number of held-out entries.
    pub(crate) count: usize,
    /// The mean divergence of the fit's loss on them.
    pub(crate) divergence: f64,
    /// The fraction held out (of the observed entries).
    pub(crate) fraction: f64,
    /// The mean absolute error.
    pub(crate) mae: f64,
    /// The root mean squared error.
    pub(crate) rmse: f64,
    /// The seed of the draw (--seed).
    pub(crate) seed: u64,
}

impl HoldoutInfo {
    pub(crate) fn new(e: &HoldoutError, fraction: f64, seed: u64) -> Self {
        HoldoutInfo {
            count: e.count,
            divergence: e.divergence,
            fraction,
            mae: e.mae,
            rmse: e.rmse,
            seed,
        }
    }
}

/// The observed entries of the input: every entry of a dense input, the stored entries of a
/// sparse one with `--missing unobserved`, every entry of a sparse one otherwise.
///
/// # Errors
/// A [`CliError::data`] naming the file and what is wrong (such as nothing observed).
pub(crate) fn observed(
    input: Input,
    missing: Missing,
    source: &str,
) -> Result<Observed<f64>, CliError> {
    let fail = |e: NmfError| CliError::data(format!("{source}: {e}"));
    match (input, missing) {
        (Input::Observed(o), _) => Ok(*o),
        (Input::Rows(_), _) => Err(CliError::usage(format!(
            "{source}: --out-of-core streams V from its file; missing values, weights and \
             held-out entries need V in memory (fit without --out-of-core)"
        ))),
        (Input::Dense(m), _) => Observed::from_row_major(m.rows, m.cols, &m.data).map_err(fail),
        (Input::Sparse(c), Missing::Unobserved) => Observed::from_csr(c).map_err(fail),
        (Input::Sparse(c), Missing::Zero) => {
            let full = every_entry(&c, source)?;
            drop(c);
            Observed::from_csr(full).map_err(fail)
        }
    }
}

/// The sparse input with every one of its m·n entries stored (the unstored ones as stored
/// zeros): with `--missing zero`, every entry is observed, so a masked fit of a sparse input
/// is O(m·n) by the nature of the question. Built as compressed rows directly (16 bytes an
/// entry, no dense copy besides), with a note of the size on stderr, and a clear error
/// instead of an abort when it cannot be allocated.
fn every_entry(c: &Csr<f64>, source: &str) -> Result<Csr<f64>, CliError> {
    let (m, n) = c.shape();
    let too_large = || {
        let bytes = m
            .checked_mul(n)
            .and_then(|e| e.checked_mul(16))
            .map_or_else(
                || "more than the address space".into(),
                |b| crate::error::fmt_bytes(b as u64),
            );
        CliError::data(format!(
            "{source}: --missing zero observes all {m}×{n} entries of this sparse input, which needs {bytes}; \
             --missing unobserved fits only its stored entries"
        ))
    };
    let total = m.checked_mul(n).ok_or_else(too_large)?;
    crate::console::err(&format!(
        "note: --missing zero observes all {m}×{n} = {total} entries of {source} ({}), not only its {} stored ones; --missing unobserved fits the stored ones alone",
        crate::error::fmt_bytes((total as u64).saturating_mul(16)),
        c.nnz()
    ))?;
    let (mut indices, mut data) = (Vec::new(), Vec::new());
    indices.try_reserve_exact(total).map_err(|_| too_large())?;
    data.try_reserve_exact(total).map_err(|_| too_large())?;
    let v = c.view();
    for i in 0..m {
        let (js, xs) = v.row(i);
        let start = data.len();
        indices.extend(0..n);
        data.resize(start + n, 0.0);
        for (&j, &x) in js.iter().zip(xs) {
            data[start + j] = x;
        }
    }
    let indptr = (0..=m).map(|i| i * n).collect();
    Csr::from_compressed(m, n, indptr, indices, data)
        .map_err(|e| CliError::data(format!("{source}: {e}")))
}

/// The observed entries in the scalar type `T`, refusing values beyond its range.
fn to_scalar<T: Scalar>(v: &Observed<f64>, source: &str) -> Result<Observed<T>, CliError> {
    let x = v.csr();
    let (m, n) = v.shape();
    let (mut rows, mut cols, mut vals) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..m {
        let (js, xs) = x.row(i);
        for (&j, &a) in js.iter().zip(xs) {
            let y = T::from_f64(a);
            if !y.is_finite() {
                return Err(CliError::data(format!(
                    "{source}: the entry {} at row {i}, column {j} (0-based) is beyond the range of {}; use --dtype f64 or rescale the data",
                    crate::matrix::fmt_num(a),
                    T::NAME
                )));
            }
            rows.push(i);
            cols.push(j);
            vals.push(y);
        }
    }
    let fail = |e: NmfError| CliError::data(format!("{source}: {e}"));
    match v.weights() {
        None => Observed::from_triplets(m, n, &rows, &cols, &vals).map_err(fail),
        Some(w) => {
            let w: Vec<T> = w.iter().map(|&a| T::from_f64(a.as_f64())).collect();
            Observed::from_weighted_triplets(m, n, &rows, &cols, &vals, &w).map_err(fail)
        }
    }
}

/// The observed entries in the scalar type `T` (for [`dispatch`](crate::dispatch::dispatch)):
/// moved without a copy when `T` is `f64`, else converted, refusing values beyond its range.
///
/// # Errors
/// A [`CliError::data`] naming the first entry beyond the range of `T`.
pub(crate) fn observed_to_scalar<T: Scalar>(
    v: Observed<f64>,
    source: &str,
) -> Result<Observed<T>, CliError> {
    let mut slot = Some(v);
    let same = (&mut slot as &mut dyn std::any::Any)
        .downcast_mut::<Option<Observed<T>>>()
        .and_then(Option::take);
    match (same, slot) {
        (Some(v), _) => Ok(v),
        (None, Some(v)) => to_scalar(&v, source),
        (None, None) => Err(CliError::data(format!(
            "{source}: the observed entries were lost on the way to the fit"
        ))),
    }
}

/// `v` with the weights of a dense matrix `w` (read from `wsource`) at its observed entries.
///
/// # Errors
/// A usage error when `w` is not V's shape; a data error naming the file and the place of a
/// negative or non-finite weight, or saying that every weight is 0.
pub(crate) fn with_weights(
    v: Observed<f64>,
    w: &crate::matrix::Matrix,
    wsource: &str,
) -> Result<Observed<f64>, CliError> {
    let (m, n) = v.shape();
    if (w.rows, w.cols) != (m, n) {
        return Err(CliError::usage(format!(
            "--weights {wsource} is {}×{}, but V is {m}×{n}: the weights need V's shape",
            w.rows, w.cols
        )));
    }
    let x = v.csr();
    let (mut rows, mut cols, mut vals, mut ws) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for i in 0..m {
        let (js, xs) = x.row(i);
        for (&j, &a) in js.iter().zip(xs) {
            rows.push(i);
            cols.push(j);
            vals.push(a);
            ws.push(w.data[i * n + j]);
        }
    }
    Observed::from_weighted_triplets(m, n, &rows, &cols, &vals, &ws)
        .map_err(|e| CliError::data(format!("{wsource}: {e}")))
}
