//! The contract between a stored matrix and the fits that stream it.

use core::ops::Range;

use crate::NmfError;
use crate::sparse::Csr;

/// A block of consecutive rows of V, as the source stores them.
#[derive(Debug, Clone, PartialEq)]
pub enum RowBlock<T> {
    /// `rows × cols` entries in row-major order.
    Dense {
        /// Rows in the block.
        rows: usize,
        /// Columns of V.
        cols: usize,
        /// `rows · cols` entries, row by row.
        data: Vec<T>,
    },
    /// The block's stored entries, rows numbered from the block's first row.
    Sparse(Csr<T>),
}

impl<T> RowBlock<T> {
    /// `(rows, columns)` of the block.
    pub fn shape(&self) -> (usize, usize) {
        match self {
            RowBlock::Dense { rows, cols, .. } => (*rows, *cols),
            RowBlock::Sparse(c) => c.shape(),
        }
    }
}

/// A matrix V (m×n) that gives any block of its rows on demand, without being held in memory.
///
/// A streamed fit calls [`read_rows`](RowSource::read_rows) with consecutive ranges that
/// cover `0..m` in order, once or more per iteration (each half-step is a pass), so a source
/// that reads a file re-reads it every pass. It takes `&self` (a file source keeps its handle
/// behind a lock) and must return the same values on every pass.
pub trait RowSource<T> {
    /// `(rows, columns)` of V.
    fn shape(&self) -> (usize, usize);
    /// Rows `rows` of V (`rows.end ≤ m`).
    ///
    /// # Errors
    /// The source's failure, with where it happened: [`NmfError::Io`] for a file that cannot
    /// be read (its path and the system's message, with the line or row), or the entry
    /// errors ([`NmfError::NegativeEntry`], [`NmfError::NonFiniteEntry`]) with the entry's row
    /// in V (not in the block).
    fn read_rows(&self, rows: Range<usize>) -> Result<RowBlock<T>, NmfError>;
}

impl<T, S: RowSource<T> + ?Sized> RowSource<T> for &S {
    fn shape(&self) -> (usize, usize) {
        (**self).shape()
    }
    fn read_rows(&self, rows: Range<usize>) -> Result<RowBlock<T>, NmfError> {
        (**self).read_rows(rows)
    }
}
