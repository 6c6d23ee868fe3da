//! V read from its file by blocks of rows at every pass of a fit (`nmf fit --out-of-core
//! ROWS`): any [`RowSource`] that gives blocks in both scalar types ([`Rows`]) becomes an
//! [`Input::Rows`](super::Input::Rows), fitted by the ordinary fit as a
//! [`Streamed`](nmf_core::streamed::Streamed) V. [`NpySource`] is the `.npy` one (a C-order
//! float32/float64 file read by seeking, [`NpyRows`]); other formats plug in by implementing
//! [`RowSource`] for `f32` and `f64`.

use std::fmt;
use std::marker::PhantomData;
use std::ops::Range;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, PoisonError};

use nmf_core::streamed::{RowBlock, RowSource};
use nmf_core::{MatrixRole, NmfError, Scalar};

use super::npy_rows::NpyRows;
use crate::CliError;
use crate::interrupt::INTERRUPTED;

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

/// A `.npy` file (2-D float32 or float64, C order) as a [`RowSource`]: each block read by
/// seeking ([`NpyRows`], behind a lock), its entries checked (negative, not finite, beyond
/// the range of the scalar type: errors with their row and column in V). A Ctrl-C stops the
/// read with [`NmfError::Interrupted`], so that a pass over a large file is interrupted at
/// the next block.
pub struct NpySource {
    rows: Mutex<NpyRows>,
    path: String,
    shape: (usize, usize),
}

impl NpySource {
    /// Opens `path` (named `source` in messages).
    ///
    /// # Errors
    /// As [`NpyRows::open`].
    pub fn open(path: &Path, source: &str) -> Result<Self, CliError> {
        let rows = NpyRows::open(path, source)?;
        let shape = rows.shape();
        Ok(Self {
            rows: Mutex::new(rows),
            path: source.to_string(),
            shape,
        })
    }

    fn read<T: Scalar>(&self, range: Range<usize>) -> Result<RowBlock<T>, NmfError> {
        if INTERRUPTED.load(Ordering::SeqCst) {
            return Err(NmfError::Interrupted { iteration: 0 });
        }
        let mut rows = self.rows.lock().unwrap_or_else(PoisonError::into_inner);
        let mut data = Vec::new();
        // The entry's own error, kept as the library's (the closure must give a CliError).
        let bad = std::cell::Cell::new(None);
        let (first, last) = (range.start, range.end);
        let read = rows.read_block(range.clone(), &mut data, |x, i, j| {
            let y = T::from_f64(x);
            let e = if x.is_nan() || x.is_infinite() {
                NmfError::NonFiniteEntry {
                    matrix: MatrixRole::V,
                    row: i,
                    col: j,
                    value: x,
                }
            } else if x < 0.0 {
                NmfError::NegativeEntry {
                    matrix: MatrixRole::V,
                    row: i,
                    col: j,
                    value: x,
                }
            } else if !y.is_finite() {
                NmfError::Io {
                    path: self.path.clone(),
                    message: format!(
                        "the entry {} at row {i}, column {j} (0-based) is beyond the range of \
                         {}; use --dtype f64",
                        crate::matrix::fmt_num(x),
                        T::NAME
                    ),
                }
            } else {
                return Ok(y);
            };
            bad.set(Some(e));
            Err(CliError::data(String::new()))
        });
        match read {
            Ok(()) => Ok(RowBlock::Dense {
                rows: range.len(),
                cols: self.shape.1,
                data,
            }),
            Err(e) => Err(bad.take().unwrap_or_else(|| NmfError::Io {
                path: self.path.clone(),
                message: format!(
                    "reading rows {first}..{last} during the fit: {} (the file changed or was \
                     cut short while it was being fitted?)",
                    e.message
                ),
            })),
        }
    }
}

impl RowSource<f32> for NpySource {
    fn shape(&self) -> (usize, usize) {
        self.shape
    }
    fn read_rows(&self, rows: Range<usize>) -> Result<RowBlock<f32>, NmfError> {
        self.read(rows)
    }
}

impl RowSource<f64> for NpySource {
    fn shape(&self) -> (usize, usize) {
        self.shape
    }
    fn read_rows(&self, rows: Range<usize>) -> Result<RowBlock<f64>, NmfError> {
        self.read(rows)
    }
}
