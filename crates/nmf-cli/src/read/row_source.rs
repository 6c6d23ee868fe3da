//! V read from its file by blocks of rows at every pass of a fit (`nmf fit --out-of-core
//! ROWS`): any [`RowSource`] that gives blocks in both scalar types ([`Rows`]) becomes an
//! [`Input::Rows`](super::Input::Rows), fitted by the ordinary fit as a
//! [`Streamed`](nmf_core::streamed::Streamed) V. [`FileSource`] reads `.npy`, row-sorted `.mtx`
//! and csr `.npz` files through [`nmf_io`]; other sources plug in by implementing
//! [`RowSource`] for `f32` and `f64`.

use std::fmt;
use std::marker::PhantomData;
use std::ops::Range;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use nmf_core::streamed::{RowBlock, RowSource};
use nmf_core::{NmfError, Scalar};

use crate::CliError;
use crate::interrupt::INTERRUPTED;
use nmf_io::RowFile;

/// A source of V's row blocks in both scalar types of the command (`--dtype`).
pub trait Rows: RowSource<f32> + RowSource<f64> + Send + Sync {}

impl<S: RowSource<f32> + RowSource<f64> + Send + Sync> Rows for S {}

/// V read by blocks of `block_rows` rows from a [`Rows`] source, as the fit's input.
#[derive(Clone)]
pub struct RowInput {
    /// The source (shared: the input is cloned cheaply, never the data).
    pub source: Arc<dyn Rows>,
    /// The rows of a block (`--out-of-core ROWS`).
    pub block_rows: usize,
}

impl RowInput {
    /// `(rows, columns)` of V.
    pub fn shape(&self) -> (usize, usize) {
        RowSource::<f64>::shape(&*self.source)
    }
}

impl fmt::Debug for RowInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (m, n) = self.shape();
        write!(f, "RowInput({m}×{n}, blocks of {} rows)", self.block_rows)
    }
}

impl PartialEq for RowInput {
    /// The same source (not the same values) and block size.
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.source, &other.source) && self.block_rows == other.block_rows
    }
}

/// A [`RowInput`]'s source seen in the scalar type `T` (f32 or f64) of the fit.
pub struct AsScalar<T> {
    source: Arc<dyn Rows>,
    scalar: PhantomData<fn() -> T>,
}

impl<T> AsScalar<T> {
    /// `input`'s source in `T`.
    pub fn new(input: &RowInput) -> Self {
        Self {
            source: Arc::clone(&input.source),
            scalar: PhantomData,
        }
    }
}

macro_rules! as_scalar {
    ($t:ty) => {
        impl RowSource<$t> for AsScalar<$t> {
            fn shape(&self) -> (usize, usize) {
                RowSource::<$t>::shape(&*self.source)
            }
            fn read_rows(&self, rows: Range<usize>) -> Result<RowBlock<$t>, NmfError> {
                RowSource::<$t>::read_rows(&*self.source, rows)
            }
        }
    };
}
as_scalar!(f32);
as_scalar!(f64);

/// A matrix file read by blocks of rows through [`nmf_io::RowFile`] (a `.npy` by seeking,
/// dense blocks; a row-sorted Matrix Market coordinate file or a SciPy csr `.npz`, sparse
/// blocks), its entries checked by the reader (negative, not finite, beyond the range of the
/// scalar type: errors with their place). A Ctrl-C stops the next read with
/// [`NmfError::Interrupted`], so that a pass over a large file is interrupted at the next
/// block.
pub struct FileSource {
    file: RowFile,
}

impl FileSource {
    /// Opens `path` (a Ctrl-C stops the indexing pass of a `.mtx`).
    ///
    /// # Errors
    /// As [`RowFile::open_cancellable`], as a one-line [`CliError`].
    pub fn open(path: &Path) -> Result<Self, CliError> {
        let file = RowFile::open_cancellable(path, Some(&INTERRUPTED)).map_err(|e| match e {
            NmfError::Interrupted { .. } => CliError::interrupted(format!(
                "interrupted ({}) while reading {}; nothing was written",
                crate::interrupt::SIGNALS,
                path.display()
            )),
            e => CliError::data(e.to_string()),
        })?;
        Ok(Self { file })
    }

    /// `"npy"`, `"mtx"` or `"npz"`.
    pub fn format(&self) -> &'static str {
        self.file.format()
    }

    fn read<T: Scalar>(&self, range: Range<usize>) -> Result<RowBlock<T>, NmfError>
    where
        RowFile: RowSource<T>,
    {
        if INTERRUPTED.load(Ordering::SeqCst) {
            return Err(NmfError::Interrupted { iteration: 0 });
        }
        self.file.read_rows(range)
    }
}

impl RowSource<f32> for FileSource {
    fn shape(&self) -> (usize, usize) {
        self.file.shape()
    }
    fn read_rows(&self, rows: Range<usize>) -> Result<RowBlock<f32>, NmfError> {
        self.read(rows)
    }
}

impl RowSource<f64> for FileSource {
    fn shape(&self) -> (usize, usize) {
        self.file.shape()
    }
    fn read_rows(&self, rows: Range<usize>) -> Result<RowBlock<f64>, NmfError> {
        self.read(rows)
    }
}
