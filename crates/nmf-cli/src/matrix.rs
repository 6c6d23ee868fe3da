//! A dense row-major matrix of `f64`: what every reader returns and every writer takes.

use crate::CliError;
use crate::error::fmt_bytes;

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
        self.check_entries_allowing_nan(source, false)
    }

    /// [`check_entries`](Self::check_entries), letting NaN entries through when `allow_nan`
    /// (they are missing values, `--nan missing`).
    ///
    /// # Errors
    /// As [`check_entries`](Self::check_entries).
    pub fn check_entries_allowing_nan(
        &self,
        source: &str,
        allow_nan: bool,
    ) -> Result<(), CliError> {
        let cols = self.cols.max(1);
        let bad = self
            .data
            .iter()
            .position(|&x| !(valid_entry(x) || allow_nan && x.is_nan()))
            .map(|p| (p / cols, p % cols, self.data[p]));
        match bad {
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

/// The memory the system can give now, in bytes: `MemAvailable` of `/proc/meminfo` on Linux
/// (free memory and caches it can drop), `None` where unknown.
pub fn available_memory() -> Option<u64> {
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = info.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    kib.checked_mul(1024)
}

/// Reserves room for `len` values of `T` in `v`, or explains how much memory that needs
/// (never an abort): `what` says what the memory is for ("a dense 30000×30000 matrix").
///
/// The request is refused when it exceeds the memory the system has available now: on
/// Linux, which promises more memory than it has, an allocation that succeeds could still
/// end with the process killed when the pages are first written.
///
/// # Errors
/// A [`CliError::data`] `"{source}: {what} needs 7.2 GB (7200000000 bytes) of memory, …"`.
pub fn try_reserve<T>(
    v: &mut Vec<T>,
    len: usize,
    source: &str,
    what: &dyn Fn() -> String,
) -> Result<(), CliError> {
    let need = len.checked_mul(size_of::<T>()).map(|b| b as u64);
    let refuse = |why: String| {
        let need = need.map_or_else(|| format!("more than {}", fmt_bytes(u64::MAX)), fmt_bytes);
        CliError::data(format!(
            "{source}: {} needs {need} of memory, {why}",
            what()
        ))
    };
    let Some(bytes) = need.filter(|&b| b <= isize::MAX as u64) else {
        return Err(refuse("more than any computer can address".into()));
    };
    if let Some(free) = available_memory()
        && bytes > free
    {
        return Err(refuse(format!("but only {} is available", fmt_bytes(free))));
    }
    v.try_reserve_exact(len.saturating_sub(v.len()))
        .map_err(|_| refuse("which cannot be allocated".into()))
}

/// A zero-filled buffer of `rows × cols` entries, or an error (never an abort) when the size
/// overflows or the memory cannot be had.
///
/// # Errors
/// A [`CliError::data`] naming the source, the shape and the memory it needs.
pub fn alloc_dense(source: &str, rows: usize, cols: usize) -> Result<Vec<f64>, CliError> {
    let what = || format!("a dense {rows}×{cols} matrix");
    // (an overflowing product is refused as usize::MAX entries: more than can be addressed)
    let len = rows.saturating_mul(cols);
    let mut v = Vec::new();
    try_reserve(&mut v, len, source, &what)?;
    v.resize(len, 0.0);
    Ok(v)
}

/// Refuses a matrix with no rows or no columns at once, before anything loops over the other
/// dimension (a file may declare 0 × 10¹²).
///
/// # Errors
/// A [`CliError::data`] with the shape.
pub fn check_not_empty(source: &str, rows: u64, cols: u64) -> Result<(), CliError> {
    if rows == 0 || cols == 0 {
        return Err(CliError::data(format!(
            "{source}: the matrix is empty ({rows}×{cols}): it needs at least one row and one column"
        )));
    }
    Ok(())
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
        let e = alloc_dense("big.mtx", usize::MAX, 2).unwrap_err().message;
        assert!(
            e.starts_with("big.mtx: a dense 18446744073709551615×2 matrix needs more than "),
            "{e}"
        );
        assert!(e.ends_with("more than any computer can address"), "{e}");
        // 2⁴⁰·2²⁰ entries overflow usize·8 bytes on a 64-bit machine.
        let e = alloc_dense("big.mtx", 1 << 40, 1 << 20)
            .unwrap_err()
            .message;
        assert!(e.contains("any computer can address"), "{e}");
        // 2⁴⁰ entries are 8 TiB: no machine running these tests has that available.
        let e = alloc_dense("big.mtx", 1 << 20, 1 << 20)
            .unwrap_err()
            .message;
        assert!(
            e.starts_with(
                "big.mtx: a dense 1048576×1048576 matrix needs 8.8 TB (8796093022208 bytes) of memory, "
            ),
            "{e}"
        );
        assert_eq!(alloc_dense("ok.mtx", 2, 3).unwrap(), vec![0.0; 6]);
        assert_eq!(alloc_dense("ok.mtx", 0, usize::MAX).unwrap().len(), 0);
    }

    #[test]
    fn empty_shapes_are_refused() {
        assert_eq!(
            check_not_empty("z.npy", 0, 1_000_000_000_000)
                .unwrap_err()
                .message,
            "z.npy: the matrix is empty (0×1000000000000): it needs at least one row and one column"
        );
        assert!(check_not_empty("z.npy", 1, 1).is_ok());
    }
}
