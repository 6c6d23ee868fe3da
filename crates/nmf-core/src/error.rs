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
    /// The weights (or mask) of a weighted V ([`crate::masked`]).
    Weights,
}

impl fmt::Display for MatrixRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            MatrixRole::V => "V",
            MatrixRole::W0 => "the initial W",
            MatrixRole::H0 => "the initial H",
            MatrixRole::H => "H",
            MatrixRole::Weights => "the weights",
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
    /// The compressed arrays or triplets of a sparse matrix are inconsistent (an index out of
    /// range, pointers that decrease, unsorted or repeated column indices, lengths that differ):
    /// the reason says which and where.
    #[error("{matrix}'s sparse structure is invalid: {reason}")]
    InvalidSparse {
        /// Which matrix.
        matrix: MatrixRole,
        /// What is wrong, and where (row, column, position in the arrays, all 0-based).
        reason: String,
    },
    /// The loss cannot be fitted on this type of data (a β-divergence on a sparse V).
    #[error("the {loss} loss is not available for {data}: {reason}")]
    LossNotForData {
        /// The loss asked for.
        loss: crate::Loss,
        /// The data type.
        data: &'static str,
        /// Why, and what to use instead.
        reason: String,
    },
    /// A buffer the input needs cannot be allocated (for example the row pointers of a sparse
    /// matrix that declares 10¹⁵ rows).
    #[error("{what} needs {} of memory, which cannot be allocated", bytes_text(*bytes))]
    TooLarge {
        /// What the memory is for.
        what: String,
        /// The bytes needed, `None` when the count itself exceeds the address space.
        bytes: Option<usize>,
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
    /// The loss or the factors stopped being finite numbers. `reason` says why: the loss of
    /// V ≈ WH in V's own units beyond the range of `f64` (V's scale to the power β), or an
    /// overflow inside the scalar type (entries of V spanning too many orders of magnitude
    /// for it).
    #[error("the loss became {loss} at iteration {iteration} ({scalar}): {reason}")]
    NonFiniteResult {
        /// The iteration at which it was seen (0: at the initial factors).
        iteration: usize,
        /// The loss computed there.
        loss: f64,
        /// The scalar type.
        scalar: &'static str,
        /// The cause, in words.
        reason: String,
    },
    /// The objective rose between two evaluations by more than the rounding bound of the
    /// loss evaluation (see [`NmfValidParams::tol`](crate::NmfValidParams::tol)): the updates
    /// could not keep their guarantee in floating point, so the fit stops with this error
    /// rather than reporting convergence. Figures are in V's own units.
    #[error(
        "the objective rose from {before:e} to {after:e} at iteration {iteration}, more than \
         rounding allows ({bound:e}): the multiplicative updates could not keep their guarantee \
         in {scalar} on this input, so the fit stops instead of reporting convergence{hint}",
        hint = if *scalar == "f32" { "; try f64" } else { "" }
    )]
    ObjectiveIncreased {
        /// The iteration at which the rise was seen.
        iteration: usize,
        /// The objective at the previous evaluation.
        before: f64,
        /// The objective at this one.
        after: f64,
        /// The largest rise rounding can explain (8·(k+2)·u·S + 16·u₆₄·M, see the crate docs).
        bound: f64,
        /// The scalar type.
        scalar: &'static str,
    },
    /// ε is outside the range a fit can use for this V and scalar type.
    #[error("{}", eps_message(*eps, *min, *max, scalar))]
    EpsOutOfRange {
        /// The ε given.
        eps: f64,
        /// The smallest ε allowed for this V and scalar type.
        min: f64,
        /// The largest ε allowed for this V.
        max: f64,
        /// The scalar type.
        scalar: &'static str,
    },
    /// β of a magnitude for which the powers (WH)^(β−2) of the updates over- or underflow.
    #[error(
        "beta = {} is outside [{}, {}]: beyond that the powers (WH)^(β−2) of the updates \
         overflow or underflow f64 for any data whose entries differ by more than a few \
         orders of magnitude", short(*beta), -max, max
    )]
    BetaOutOfRange {
        /// The β given.
        beta: f64,
        /// The largest |β| allowed.
        max: f64,
    },
    /// V has an entry so much smaller than its mean that it underflows to 0 in the scalar
    /// type once V is scaled to a mean near 1 (see the crate docs), where a β-divergence with
    /// β ≤ 0 is infinite.
    #[error(
        "V's entry at row {row}, column {col} (0-based) is too small for {scalar} next to the \
         rest of V (mean {mean:e}): the fit works on V scaled to a mean near 1, where this \
         entry underflows to 0, and the β-divergence with β = {beta} is infinite at 0; use f64 \
         or a β > 0"
    )]
    EntryBelowRange {
        /// Row of the first such entry in row-major order.
        row: usize,
        /// Its column.
        col: usize,
        /// The mean entry of V.
        mean: f64,
        /// The β of the loss.
        beta: f64,
        /// The scalar type.
        scalar: &'static str,
    },
    /// The solver chosen does not minimise this loss.
    #[error(
        "the solver {solver} supports only the {supported} loss, not {loss}: use the solver \
         mu (every loss) or auto"
    )]
    SolverLossMismatch {
        /// The solver asked for.
        solver: crate::Solver,
        /// The loss asked for.
        loss: crate::Loss,
        /// The losses the solver supports.
        supported: &'static str,
    },
    /// An option of a solver is out of its range.
    #[error("{option} {reason}")]
    InvalidSolverOption {
        /// The option.
        option: &'static str,
        /// What is wrong with its value.
        reason: String,
    },
    /// Every weight is 0 (or no entry is observed): the weighted loss is 0 whatever W and H.
    #[error("{data} has no observed entry with a positive weight: there is nothing to fit")]
    NothingObserved {
        /// What was given ("the weights", "the observed entries").
        data: &'static str,
    },
    /// The solver cannot minimise a loss on this kind of data (weighted or masked V, for
    /// the solvers whose statistics need every entry of V).
    #[error("the solver {solver} does not support {data}: {reason}")]
    SolverNotForData {
        /// The solver asked for.
        solver: crate::Solver,
        /// The kind of data.
        data: &'static str,
        /// Why, and what to use instead.
        reason: String,
    },
    /// A (row, column) pair outside the matrix, given to [`crate::NmfModel::predict`] or as
    /// a held-out entry.
    #[error(
        "pair {position} is at row {row}, column {col}, outside the {rows}×{cols} matrix (0-based)"
    )]
    IndexOutOfRange {
        /// The position of the pair in the list given.
        position: usize,
        /// Its row.
        row: usize,
        /// Its column.
        col: usize,
        /// Rows of the matrix.
        rows: usize,
        /// Columns of the matrix.
        cols: usize,
    },
    /// The row and column indices of (row, column) pairs differ in number.
    #[error("{rows} row indices but {cols} column indices: each pair needs one of each")]
    PairLengths {
        /// Row indices given.
        rows: usize,
        /// Column indices given.
        cols: usize,
    },
    /// The held-out set of a fit is not usable.
    #[error("invalid held-out set: {reason}")]
    InvalidHoldout {
        /// What is wrong.
        reason: String,
    },
    /// The buffers of a fit at this rank cannot be allocated.
    #[error(
        "rank {rank} needs {} for a {rows}×{cols} V (W, H, their numerators and denominators{}, \
         the m×n work buffers and the initialisation), more than can be allocated: use a \
         lower rank", bytes_text(*bytes), if *gram { ", the k×k Gram matrices" } else { "" }
    )]
    RankTooLarge {
        /// The rank asked for.
        rank: usize,
        /// Rows of V.
        rows: usize,
        /// Columns of V.
        cols: usize,
        /// The bytes needed, `None` when the count itself exceeds the address space.
        bytes: Option<usize>,
        /// Whether the count includes k×k matrices.
        gram: bool,
    },
}

fn bytes_text(bytes: Option<usize>) -> String {
    match bytes {
        None => "more bytes than the address space holds".to_string(),
        Some(b) if b >= 1 << 30 => format!("{:.1} GiB", b as f64 / (1u64 << 30) as f64),
        Some(b) if b >= 1 << 20 => format!("{:.1} MiB", b as f64 / (1u64 << 20) as f64),
        Some(b) => format!("{b} bytes"),
    }
}

fn eps_message(eps: f64, min: f64, max: f64, scalar: &str) -> String {
    if eps < min {
        let tiny = if scalar == "f32" {
            f64::from(f32::MIN_POSITIVE)
        } else {
            f64::MIN_POSITIVE
        };
        let below = if eps < tiny {
            format!(", below the smallest normal {scalar} ({tiny:e}) too")
        } else {
            String::new()
        };
        format!(
            "eps = {eps:e} is too small for a fit in {scalar}{below}: it must be at least \
             {min:e} for this V (ε³, on V scaled to entries near 1, must be a normal {scalar} \
             number, or the denominators of the updates lose their precision)"
        )
    } else {
        format!(
            "eps = {eps:e} is too large for this V: it must be at most {max:e} (1024·√mean(V)); \
             ε bounds every entry of W and H from below, so WH ≥ k·ε² would dwarf the data"
        )
    }
}

/// A number as `{}` prints it, or in scientific notation when that would be long.
fn short(x: f64) -> String {
    if x != 0.0 && !(1e-4..1e6).contains(&x.abs()) {
        format!("{x:e}")
    } else {
        format!("{x}")
    }
}
