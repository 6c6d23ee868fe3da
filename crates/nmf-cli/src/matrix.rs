//! A dense row-major matrix of `f64`: what every reader returns and every writer takes.

use crate::CliError;

/// A dense matrix, row-major, in `f64` (every supported file type converts to it exactly,
/// except 64-bit integers beyond 2⁵³, which are rounded).
#[derive(Debug, Clone, PartialEq)]
pub struct Matrix {
    /// Number of rows.
    pub rows: usize,
    /// Number of columns.
    pub cols: usize,
    /// The entries, row after row (`rows * cols` of them).
    pub data: Vec<f64>,
}

impl Matrix {
    /// A matrix from its row-major entries.
    ///
    /// # Panics
    /// If `data.len() != rows * cols` (a programming error: readers check their sizes).
    pub fn new(rows: usize, cols: usize, data: Vec<f64>) -> Self {
        assert_eq!(Some(data.len()), rows.checked_mul(cols), "Matrix::new");
        Self { rows, cols, data }
    }

    /// Entry `(i, j)`.
    pub fn get(&self, i: usize, j: usize) -> f64 {
        self.data[i * self.cols + j]
    }

    /// The transpose.
    pub fn transpose(&self) -> Matrix {
        let mut data = Vec::with_capacity(self.data.len());
        for j in 0..self.cols {
            for i in 0..self.rows {
                data.push(self.get(i, j));
            }
        }
        Matrix::new(self.cols, self.rows, data)
    }

    /// The first entry (in row-major order) that is negative, NaN or infinite, as
    /// `(row, column, value)`.
    pub fn first_invalid(&self) -> Option<(usize, usize, f64)> {
        let cols = self.cols.max(1);
        self.data
            .iter()
            .position(|&x| !valid_entry(x))
            .map(|p| (p / cols, p % cols, self.data[p]))
    }

    /// Checks that every entry is finite and ≥ 0, naming the file and the first bad entry.
    ///
    /// # Errors
    /// A [`CliError::data`] naming the entry's row and column (0-based).
    pub fn check_entries(&self, source: &str) -> Result<(), CliError> {
        match self.first_invalid() {
            None => Ok(()),
            Some((i, j, x)) => Err(CliError::data(format!(
                "{source}: {} at row {i}, column {j} (0-based)",
                describe_invalid(x)
            ))),
        }
    }
}

/// Whether an entry is allowed in a matrix to factorize: finite and ≥ 0.
pub fn valid_entry(x: f64) -> bool {
    x.is_finite() && x >= 0.0
}

/// A number for messages: as written (`-0.5`, `16`) unless very large or very small
/// (`1e300`, `-2.5e-9`).
pub fn fmt_num(x: f64) -> String {
    let a = x.abs();
    if x.is_finite() && a != 0.0 && !(1e-5..1e16).contains(&a) {
        format!("{x:e}")
    } else {
        format!("{x}")
    }
}

/// "negative entry -1" or "non-finite entry (NaN)".
pub fn describe_invalid(x: f64) -> String {
    if x.is_finite() {
        format!("negative entry {}", fmt_num(x))
    } else {
        format!("non-finite entry ({x})")
    }
}

/// A zero-filled buffer of `rows × cols` entries, or an error (never an abort) when the size
/// overflows or the memory cannot be had.
///
/// # Errors
/// A [`CliError::data`] naming the source and the shape.
pub fn alloc_dense(source: &str, rows: usize, cols: usize) -> Result<Vec<f64>, CliError> {
    let too_big = || {
        CliError::data(format!(
            "{source}: a dense {rows}×{cols} matrix does not fit in memory"
        ))
    };
    let len = rows.checked_mul(cols).ok_or_else(too_big)?;
    if len > isize::MAX as usize / 8 {
        return Err(too_big());
    }
    let mut v = Vec::new();
    v.try_reserve_exact(len).map_err(|_| too_big())?;
    v.resize(len, 0.0);
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transpose_and_first_invalid() {
        let m = Matrix::new(2, 3, vec![1.0, 2.0, 3.0, 4.0, -5.0, f64::NAN]);
        let t = m.transpose();
        assert_eq!((t.rows, t.cols), (3, 2));
        assert_eq!(t.data[..4], [1.0, 4.0, 2.0, -5.0]);
        assert_eq!(m.first_invalid(), Some((1, 1, -5.0)));
        assert_eq!(describe_invalid(-1e300), "negative entry -1e300");
        assert_eq!(describe_invalid(-2.5e-9), "negative entry -2.5e-9");
        assert_eq!(describe_invalid(-0.125), "negative entry -0.125");
        let e = m.check_entries("x.csv").unwrap_err();
        assert_eq!(
            e.message,
            "x.csv: negative entry -5 at row 1, column 1 (0-based)"
        );
        let inf = Matrix::new(1, 2, vec![0.0, f64::INFINITY]);
        assert_eq!(
            inf.check_entries("a.npy").unwrap_err().message,
            "a.npy: non-finite entry (inf) at row 0, column 1 (0-based)"
        );
    }

    #[test]
    fn huge_shapes_are_errors_not_aborts() {
        assert!(alloc_dense("big.mtx", usize::MAX, 2).is_err());
        assert!(alloc_dense("big.mtx", 1 << 40, 1 << 20).is_err());
        assert_eq!(alloc_dense("ok.mtx", 2, 3).unwrap().len(), 6);
    }
}
