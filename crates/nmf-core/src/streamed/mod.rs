//! V read from where it is stored, a block of rows at a time, so that a matrix larger than
//! memory can be fitted: a [`RowSource`] gives any block of rows on demand (a `.npy`, `.mtx`
//! or `.npz` file, read by the crate that reads files), as a [`RowBlock`], dense or sparse,
//! and [`Streamed`] makes it a data term ([`DataOps`](crate::DataOps)), so every full-batch
//! solver that needs only the statistics of the half-steps (MU for every β, HALS), the
//! penalties, the stopping rule and the model of an ordinary fit work on it unchanged.
//!
//! # What is streamed
//! Each statistic of a half-step is a sum over the rows of V (the table of
//! [`crate::data`]): the H half-step's WᵀV, WᵀW, Wᵀ(V/WH), the β parts and the column sums of
//! W are sums over the row blocks V_b and the matching rows W_b of W; the W half-step's VHᵀ,
//! (V/WH)Hᵀ and β parts are per block, rows of the m×k result; the loss and the sizes of its
//! evaluation are sums over blocks. So a pass reads V once, block by block: each block is
//! made the backend's dense matrix (a [`RowBlock::Dense`]) or a
//! [`SparseData`](crate::sparse::SparseData) (a [`RowBlock::Sparse`]) and the data term of
//! that type computes the block's statistics; the H statistics are added in `f64` and
//! rounded to `T` once at the end of the pass. The same decomposition as
//! [`Distributed`](crate::Distributed), with blocks in turn instead of processes at once.
//!
//! Per iteration the file is read twice (one pass per half-step), and once more at each
//! evaluation of the loss (every [`check_every`](crate::NmfParams::check_every) iterations);
//! the checks before a fit (invalid entries, the mean, zeros for β ≤ 0) are a pass each.
//!
//! # Memory
//! Besides W and H (and the rules' own m×k and k×n buffers) a fit holds one block of V as
//! read, its copy in the backend's matrix type with the block's work buffers (for dense
//! blocks: one or two block-sized matrices, as an in-memory fit of the block), the rows of
//! W for the block and its outputs (block×k), one m×k row-major staging buffer (two for the
//! general β), and the `f64` sums of the k×n statistics. The block buffers are made at the
//! first pass and reused; reading a block from its source necessarily allocates it (and a
//! sparse block is compressed both ways with its own work buffers, per block): these are the
//! only allocations of the iterations, bounded by the block.
//!
//! # Errors while fitting
//! The statistics of [`DataOps`](crate::DataOps) return nothing, so a read that fails in the
//! middle of a fit (a file truncated or changed on disk) is recorded in the [`Streamed`]
//! value: the rest of that pass does nothing, and the fit returns that error
//! ([`DataOps::data_error`](crate::DataOps::data_error), checked by the driver after each
//! iteration and each evaluation) instead of a result. A block of the wrong shape is an
//! error too. Nothing is returned from a fit whose data could not be read whole.
//!
//! # What cannot stream
//! - KL coordinate descent (`Solver::CdKl`) sweeps whole columns of V: it is refused with
//!   the solver's error (the data gives neither dense nor compressed entries; use MU), or
//!   before that with [`NmfError::RankTooLarge`] when the
//!   two dense copies of V that the driver counts for it cannot be allocated.
//! - The NNDSVD starts (and [`Init::Auto`](crate::Init::Auto), which is NNDSVDA when
//!   k ≤ min(m, n)) take the randomized SVD (there is no backend SVD of a streamed V): its
//!   products read V 2·(1 + power iterations) more times and hold a few m×(k + 10) `f64`
//!   matrices; [`Init::Random`](crate::Init::Random) needs neither.
//! - V is not rescaled for floating point ([`DataOps::data_scaled`](crate::DataOps::data_scaled)
//!   is `None`): the fit runs on V as it is, with ε checked against its range, as for any
//!   data type that cannot be rescaled.

mod data;
mod source;

use std::sync::Mutex;

pub use data::StreamedWork;
pub use source::{RowBlock, RowSource};

use crate::NmfError;

/// A matrix V read from a [`RowSource`] in blocks of `block_rows` rows at every pass of a fit:
/// a data term (see the [module docs](self)).
///
/// ```
/// use nmf_core::streamed::{RowBlock, RowSource, Streamed};
/// use nmf_core::{MatrixBackend, Nmf, NmfError, reference::Reference};
/// /// A 6×3 matrix made on demand, row by row.
/// struct Rows;
/// impl RowSource<f64> for Rows {
///     fn shape(&self) -> (usize, usize) {
///         (6, 3)
///     }
///     fn read_rows(&self, rows: core::ops::Range<usize>) -> Result<RowBlock<f64>, NmfError> {
///         let data = rows.clone().flat_map(|i| (0..3).map(move |j| (1 + i + j) as f64)).collect();
///         Ok(RowBlock::Dense { rows: rows.len(), cols: 3, data })
///     }
/// }
/// let v = Streamed::new(Rows, 4).unwrap();
/// let model = Nmf::params(2).init(nmf_core::Init::Random).max_iter(50).fit(&Reference, &v).unwrap();
/// assert_eq!(Reference.shape(model.w()), (6, 2));
/// ```
#[derive(Debug)]
pub struct Streamed<S> {
    source: S,
    block_rows: usize,
    /// The first failure of a read during a fit (see the module docs).
    error: Mutex<Option<NmfError>>,
}

impl<S> Streamed<S> {
    /// V from `source`, read `block_rows` rows at a time (the last block may be shorter).
    ///
    /// # Errors
    /// [`NmfError::InvalidSolverOption`] if `block_rows` is 0.
    pub fn new(source: S, block_rows: usize) -> Result<Self, NmfError> {
        if block_rows == 0 {
            return Err(NmfError::InvalidSolverOption {
                option: "block rows (out of core)",
                reason: "a block needs at least one row".into(),
            });
        }
        Ok(Self {
            source,
            block_rows,
            error: Mutex::new(None),
        })
    }
    /// The source.
    pub fn source(&self) -> &S {
        &self.source
    }
    /// The rows of a block.
    pub fn block_rows(&self) -> usize {
        self.block_rows
    }
    /// The first read failure recorded during a fit, if any (it stays until
    /// [`clear_error`](Self::clear_error)).
    pub fn error(&self) -> Option<NmfError> {
        self.slot().clone()
    }
    /// Forgets a recorded failure (to fit again once the source is readable).
    pub fn clear_error(&self) {
        *self.slot() = None;
    }
    /// Records `e` unless a failure is already recorded (the first one is the cause).
    fn fail(&self, e: NmfError) {
        let mut slot = self.slot();
        if slot.is_none() {
            *slot = Some(e);
        }
    }
    fn failed(&self) -> bool {
        self.slot().is_some()
    }
    fn slot(&self) -> std::sync::MutexGuard<'_, Option<NmfError>> {
        // A panic while the lock was held leaves a valid Option.
        self.error.lock().unwrap_or_else(|p| p.into_inner())
    }
}
