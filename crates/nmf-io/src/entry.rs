//! What every reader shares: its errors, the check of an entry, and the compressed rows of a
//! sparse block built from its entries as they come.

use std::path::Path;

use nmf_core::sparse::Csr;
use nmf_core::{MatrixRole, NmfError, Scalar};

/// An [`NmfError::Io`] about `path`.
pub(crate) fn io(path: impl Into<String>, message: impl Into<String>) -> NmfError {
    NmfError::Io {
        path: path.into(),
        message: message.into(),
    }
}

/// An [`NmfError::Io`] about a place in a text file: its path is `source:line:column`, so that
/// the message reads as the whole-file readers' do (`v.mtx:3:5: ...`).
pub(crate) fn at(source: &str, line: u64, col: usize, message: impl Into<String>) -> NmfError {
    io(format!("{source}:{line}:{col}"), message)
}

/// The system's error reading `path`.
pub(crate) fn system(path: &Path, e: &std::io::Error) -> NmfError {
    io(path.display().to_string(), format!("cannot read ({e})"))
}

/// A number for messages: as written (`-0.5`, `16`) unless very large or very small
/// (`1e300`, `-2.5e-9`), as the `nmf` command writes them.
pub(crate) fn fmt_num(x: f64) -> String {
    let a = x.abs();
    if x.is_finite() && a != 0.0 && !(1e-5..1e16).contains(&a) {
        format!("{x:e}")
    } else {
        format!("{x}")
    }
}

/// "negative entry -1" or "non-finite entry (NaN)"; `None` for an entry that is finite and ≥ 0.
pub(crate) fn invalid(x: f64) -> Option<String> {
    if x.is_finite() && x >= 0.0 {
        None
    } else if x.is_finite() {
        Some(format!("negative entry {}", fmt_num(x)))
    } else {
        Some(format!("non-finite entry ({x})"))
    }
}

/// `x` in `T`, or the message for an entry beyond `T`'s range (at `row`, `col` of V).
pub(crate) fn to_scalar<T: Scalar>(x: f64, row: usize, col: usize) -> Result<T, String> {
    let y = T::from_f64(x);
    if y.is_finite() {
        Ok(y)
    } else {
        Err(format!(
            "the entry {} at row {row}, column {col} (0-based) is beyond the range of {}: read \
             the file as f64",
            fmt_num(x),
            T::NAME
        ))
    }
}

/// A too-short or out-of-range request for rows of an m-row matrix.
pub(crate) fn check_range(
    source: &str,
    rows: &core::ops::Range<usize>,
    m: usize,
) -> Result<(), NmfError> {
    if rows.start >= rows.end || rows.end > m {
        return Err(io(
            source,
            format!(
                "rows {}..{} were asked for, but a block must be non-empty and within the \
                 matrix's {m} rows",
                rows.start, rows.end
            ),
        ));
    }
    Ok(())
}

/// The compressed rows of a sparse block, built row after row from entries in any column
/// order: each row is sorted by column (stably), entries at the same place are summed in the
/// file's order (as SciPy and the whole-file readers do) and zeros are not stored. Values are
/// kept in `f64` until the block is finished.
#[derive(Debug, Default)]
pub(crate) struct RowsBuilder {
    indptr: Vec<usize>,
    indices: Vec<usize>,
    data: Vec<f64>,
    /// (column, value) of the current row, sorted then merged.
    pairs: Vec<(usize, f64)>,
}

impl RowsBuilder {
    /// A builder for a new block.
    pub(crate) fn new() -> Self {
        Self {
            indptr: vec![0],
            ..Self::default()
        }
    }

    /// Rows finished so far.
    pub(crate) fn rows(&self) -> usize {
        self.indptr.len() - 1
    }

    /// An entry of the current row (checked by the caller).
    #[inline]
    pub(crate) fn push(&mut self, col: usize, x: f64) {
        self.pairs.push((col, x));
    }

    /// Ends the current row (`global_row` is its row in V, for messages): sorted, summed.
    ///
    /// # Errors
    /// [`NmfError::NonFiniteEntry`] when finite entries at one place sum beyond `f64`.
    pub(crate) fn end_row(&mut self, global_row: usize) -> Result<(), NmfError> {
        self.pairs.sort_by_key(|&(j, _)| j);
        let mut q = 0;
        while q < self.pairs.len() {
            let (j, mut x) = self.pairs[q];
            let mut r = q + 1;
            while r < self.pairs.len() && self.pairs[r].0 == j {
                x += self.pairs[r].1;
                r += 1;
            }
            if !x.is_finite() {
                return Err(NmfError::NonFiniteEntry {
                    matrix: MatrixRole::V,
                    row: global_row,
                    col: j,
                    value: x,
                });
            }
            if x != 0.0 {
                self.indices.push(j);
                self.data.push(x);
            }
            q = r;
        }
        self.pairs.clear();
        self.indptr.push(self.data.len());
        Ok(())
    }

    /// Ends rows (empty ones after the current) until `rows` are finished.
    pub(crate) fn end_rows_until(&mut self, rows: usize, first_row: usize) -> Result<(), NmfError> {
        while self.rows() < rows {
            let r = first_row + self.rows();
            self.end_row(r)?;
        }
        Ok(())
    }

    /// The block (`first_row` is its first row in V), its values in `T`.
    ///
    /// # Errors
    /// An [`NmfError::Io`] about `source` for an entry beyond `T`'s range.
    pub(crate) fn finish<T: Scalar>(
        self,
        source: &str,
        ncols: usize,
        first_row: usize,
    ) -> Result<Csr<T>, NmfError> {
        let nrows = self.rows();
        let mut data = Vec::with_capacity(self.data.len());
        for i in 0..nrows {
            for p in self.indptr[i]..self.indptr[i + 1] {
                let y = to_scalar::<T>(self.data[p], first_row + i, self.indices[p])
                    .map_err(|m| io(source, m))?;
                data.push(y);
            }
        }
        Csr::from_compressed(nrows, ncols, self.indptr, self.indices, data).map_err(|e| {
            // (the entries were checked as they came: only a reader's own mistake lands here)
            io(
                source,
                format!("the block of rows from {first_row} is inconsistent: {e}"),
            )
        })
    }
}
