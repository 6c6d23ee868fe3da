//! Matrix files read by blocks of rows, for the fits that stream V instead of holding it
//! ([`nmf_core::streamed::RowSource`]): the online fit (`nmf fit --batch-size`), the
//! out-of-core fit, and the ranks of the MPI fit, each of which needs some rows of V at a time.
//!
//! | File | Reader | Blocks | How a block is found |
//! |---|---|---|---|
//! | `.npy` (2-D float32/float64, C order, either byte order) | [`NpyRows`] | dense | a seek to its first row |
//! | Matrix Market `coordinate` (real, integer, pattern; general) | [`MtxRows`] | sparse | entries sorted by row, indexed once at open; a seek to the indexed place before the block |
//! | SciPy `.npz` (`scipy.sparse.save_npz`), csr | [`NpzRows`] | sparse | `indptr` gives the block's entries; stored members are seeked, deflated ones inflated forward |
//!
//! Memory is bounded by the block asked for (and a small index for `.mtx`), never by the
//! file. [`RowFile`] chooses the reader by the extension.
//!
//! Every reader checks what it reads: a negative, NaN or infinite entry, an index out of
//! range or an entry beyond the range of the scalar type is an error naming where it is (the
//! file's line and column for `.mtx`, the row and column in V, the place in `data.npy`).
//! Errors are [`NmfError::Io`] whose `path` is the file (followed by `:line:column` for a
//! line of a `.mtx` file, as compilers write it), except the entry errors of a `.npy`
//! file, which are [`NmfError::NegativeEntry`] and [`NmfError::NonFiniteEntry`] with their row
//! in V. A reader returns the same values on every pass.
//!
//! ```no_run
//! use nmf_core::streamed::{RowBlock, RowSource};
//! let v = nmf_io::RowFile::open("ratings.mtx".as_ref())?;
//! let (m, _n) = RowSource::<f32>::shape(&v);
//! for start in (0..m).step_by(10_000) {
//!     let block: RowBlock<f32> = v.read_rows(start..(start + 10_000).min(m))?;
//!     // ...
//! }
//! # Ok::<(), nmf_core::NmfError>(())
//! ```

mod entry;
mod lines;
pub mod mtx;
pub mod npy;
mod npy_header;
pub mod npz;
mod row_file;

pub use mtx::MtxRows;
pub use npy::NpyRows;
pub use npz::NpzRows;
pub use row_file::RowFile;

#[cfg(doc)]
use nmf_core::NmfError;
