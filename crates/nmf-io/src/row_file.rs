//! The reader of a file chosen by its extension.

use std::ops::Range;
use std::path::Path;
use std::sync::atomic::AtomicBool;

use nmf_core::streamed::{RowBlock, RowSource};
use nmf_core::{NmfError, Scalar};

use crate::entry::io;
use crate::{MtxRows, NpyRows, NpzRows};

/// A `.npy`, `.mtx` or `.npz` file read by blocks of rows: dense blocks for `.npy`, sparse
/// ones for the others.
#[derive(Debug)]
pub enum RowFile {
    /// A dense `.npy` file.
    Npy(NpyRows),
    /// A Matrix Market coordinate file, sorted by row.
    Mtx(MtxRows),
    /// A SciPy csr `.npz` file (boxed: its reader is the largest).
    Npz(Box<NpzRows>),
}

impl RowFile {
    /// Opens `path` with the reader its extension names (`.npy`, `.mtx`, `.npz`, in any case).
    ///
    /// # Errors
    /// An [`NmfError::Io`] for another extension (naming the three), and the errors of the
    /// reader's `open`.
    pub fn open(path: &Path) -> Result<Self, NmfError> {
        Self::open_cancellable(path, None)
    }

    /// [`open`](Self::open), with the indexing pass of a `.mtx` file stopped when `cancel`
    /// becomes true ([`MtxRows::open_cancellable`]).
    ///
    /// # Errors
    /// As [`open`](Self::open), and [`NmfError::Interrupted`].
    pub fn open_cancellable(path: &Path, cancel: Option<&AtomicBool>) -> Result<Self, NmfError> {
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        match ext.as_deref() {
            Some("npy") => NpyRows::open(path).map(RowFile::Npy),
            Some("mtx") => MtxRows::open_cancellable(path, cancel).map(RowFile::Mtx),
            Some("npz") => NpzRows::open(path).map(|r| RowFile::Npz(Box::new(r))),
            _ => Err(io(
                path.display().to_string(),
                "only .npy (dense), .mtx (Matrix Market coordinate) and .npz (SciPy csr) files \
                 are read by blocks of rows",
            )),
        }
    }

    /// `(rows, columns)`.
    pub fn shape(&self) -> (usize, usize) {
        match self {
            RowFile::Npy(r) => r.shape(),
            RowFile::Mtx(r) => r.shape(),
            RowFile::Npz(r) => r.shape(),
        }
    }

    /// Whether the blocks are sparse.
    pub fn is_sparse(&self) -> bool {
        !matches!(self, RowFile::Npy(_))
    }

    /// `"npy"`, `"mtx"` or `"npz"`.
    pub fn format(&self) -> &'static str {
        match self {
            RowFile::Npy(_) => "npy",
            RowFile::Mtx(_) => "mtx",
            RowFile::Npz(_) => "npz",
        }
    }
}

impl<T: Scalar> RowSource<T> for RowFile {
    fn shape(&self) -> (usize, usize) {
        RowFile::shape(self)
    }

    fn read_rows(&self, rows: Range<usize>) -> Result<RowBlock<T>, NmfError> {
        match self {
            RowFile::Npy(r) => r.read_rows(rows),
            RowFile::Mtx(r) => r.read_rows(rows),
            RowFile::Npz(r) => r.read_rows(rows),
        }
    }
}

#[cfg(test)]
mod tests {
    /// The readers can be shared between threads (a fit may read from several).
    #[test]
    fn readers_are_send_and_sync() {
        fn check<S: Send + Sync>() {}
        check::<super::RowFile>();
        check::<crate::NpyRows>();
        check::<crate::MtxRows>();
        check::<crate::NpzRows>();
    }
}
