//! The one error type of the library.

use core::fmt;

/// Which matrix an error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MatrixRole {
    /// The data matrix V (m×n).
    V,
    /// A custom initial W (m×k).
    W0,
    /// A custom initial H (k×n).
    H0,
    /// An H given to [`crate::NmfModel::inverse_transform`].
    H,
}

impl fmt::Display for MatrixRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            MatrixRole::V => "V",
            MatrixRole::W0 => "the initial W",
            MatrixRole::H0 => "the initial H",
            MatrixRole::H => "H",
        })
    }
}

/// Everything that can go wrong with user data or parameters.
///
/// Each variant carries what is needed to fix the input. Rows and columns are 0-based.
/// Programming errors inside the library (a buffer of the wrong shape passed to a kernel) are
/// panics, documented on the method that panics; user data never causes a panic.
///
/// ```
/// use nmf_core::{MatrixRole, NmfError};
/// let e = NmfError::NegativeEntry { matrix: MatrixRole::V, row: 3, col: 7, value: -0.5 };
/// assert_eq!(e.to_string(), "V has a negative entry -0.5 at row 3, column 7 (0-based)");
/// ```
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum NmfError {
    /// The matrix has no rows or no columns.
    #[error("{matrix} is empty ({rows}×{cols}): it needs at least one row and one column")]
    EmptyMatrix {
        /// Which matrix.
        matrix: MatrixRole,
        /// Its number of rows.
        rows: usize,
        /// Its number of columns.
        cols: usize,
    },
    /// An entry is below zero.
    #[error("{matrix} has a negative entry {value} at row {row}, column {col} (0-based)")]
    NegativeEntry {
        /// Which matrix.
        matrix: MatrixRole,
        /// Row of the first such entry in row-major order.
        row: usize,
        /// Column of that entry.
        col: usize,
        /// The entry.
        value: f64,
    },
    /// An entry is NaN or infinite.
    #[error("{matrix} has a non-finite entry ({value}) at row {row}, column {col} (0-based)")]
    NonFiniteEntry {
        /// Which matrix.
        matrix: MatrixRole,
        /// Row of the first such entry in row-major order.
        row: usize,
        /// Column of that entry.
        col: usize,
        /// The entry (NaN, +∞ or −∞).
        value: f64,
    },
    /// A matrix does not have the shape the others require.
    #[error("{matrix} is {}×{}, but V and the rank require {}×{}", found.0, found.1, expected.0, expected.1)]
    ShapeMismatch {
        /// Which matrix.
        matrix: MatrixRole,
        /// The shape required, (rows, columns).
        expected: (usize, usize),
        /// The shape given.
        found: (usize, usize),
    },
    /// Row-major data whose length is not rows × columns.
    #[error("{len} values cannot fill a {rows}×{cols} matrix (it needs {})", rows * cols)]
    DataLength {
        /// Rows asked for.
        rows: usize,
        /// Columns asked for.
        cols: usize,
        /// Values given.
        len: usize,
    },
    /// A zero entry in V with a β-divergence of β ≤ 0 (such as Itakura–Saito), which is
    /// infinite there.
    #[error(
        "V has a zero at row {row}, column {col} (0-based), but the β-divergence with β = {beta} \
         is infinite at zero entries: use β > 0, or add a small offset to V"
    )]
    ZeroEntryForBeta {
        /// Row of the first zero in row-major order.
        row: usize,
        /// Its column.
        col: usize,
        /// The β of the loss.
        beta: f64,
    },
    /// Regularisation weights out of range or not supported by the loss.
    #[error("invalid regularisation: {reason}")]
    InvalidRegularization {
        /// What is wrong.
        reason: String,
    },
    /// A saved model that cannot be used.
    #[error("invalid saved model: {reason}")]
    InvalidModel {
        /// What is wrong.
        reason: String,
    },
    /// Reading or writing a file failed.
    #[error("{path}: {message}")]
    Io {
        /// The file.
        path: String,
        /// The system's message.
        message: String,
    },
    /// β is not a finite number.
    #[error("beta must be a finite number, got {0}")]
    InvalidBeta(f64),
    /// An SVD-based initialisation with a rank above min(m, n).
    #[error(
        "init {init:?} needs the rank ({rank}) to be at most min(m, n) = {} for a {rows}×{cols} V; \
         use Init::Random or a lower rank", rows.min(cols)
    )]
    RankTooLargeForSvdInit {
        /// The initialisation asked for.
        init: crate::Init,
        /// The rank.
        rank: usize,
        /// Rows of V.
        rows: usize,
        /// Columns of V.
        cols: usize,
    },
    /// The rank is 0.
    #[error("the rank must be at least 1")]
    ZeroRank,
    /// `max_iter` is 0.
    #[error("max_iter must be at least 1")]
    ZeroMaxIter,
    /// `n_init` is 0.
    #[error("n_init must be at least 1")]
    ZeroNInit,
    /// `check_every` is 0.
    #[error("check_every must be at least 1")]
    ZeroCheckEvery,
    /// The tolerance is negative or not finite.
    #[error("tol must be finite and ≥ 0, got {0}")]
    InvalidTol(f64),
    /// The lower bound ε is not a positive finite number.
    #[error("eps must be finite and > 0, got {0}")]
    InvalidEps(f64),
    /// The fit was stopped by its observer (for example on Ctrl-C).
    #[error("the fit was interrupted after {iteration} iterations")]
    Interrupted {
        /// Iterations completed.
        iteration: usize,
    },
    /// The iteration left the range of the scalar type (an overflow to infinity), which
    /// happens only when V's entries are near the largest representable number.
    #[error(
        "the loss became {loss} at iteration {iteration}: the data exceed the range of {scalar}; \
         rescale V (NMF of c·V is c times that of V) or use f64"
    )]
    NonFiniteResult {
        /// The iteration at which it was seen (0: at the initial factors).
        iteration: usize,
        /// The loss computed there.
        loss: f64,
        /// The scalar type.
        scalar: &'static str,
    },
}
