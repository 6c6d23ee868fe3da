//! Compressed sparse rows: the borrowed view [`CsrRef`] every kernel reads, and the owned
//! [`Csr`] built from triplets or from compressed arrays, both validated on construction.

use crate::{MatrixRole, NmfError, Scalar};

/// What [`Csr::from_triplets`] does with two triplets at the same place.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Duplicates {
    /// Adds them (the Matrix Market and SciPy convention for coordinate data).
    #[default]
    Sum,
    /// Refuses them with [`NmfError::InvalidSparse`], naming the place.
    Reject,
}

/// A borrowed m×n matrix in compressed sparse rows: row `i` holds the column indices
/// `indices[indptr[i]..indptr[i+1]]`, strictly increasing, and their values
/// `data[indptr[i]..indptr[i+1]]`, finite and ≥ 0 (an NMF data matrix). Every constructor
/// checks all of this, so the kernels of [`crate::sparse`] never index out of bounds and never
/// see a negative or non-finite value. Explicit zeros are allowed.
///
/// The arrays are plain slices, so the compressed storage of faer, nalgebra-sparse or sprs
/// (all with `usize` indices) can be viewed without a copy.
///
/// ```
/// use nmf_core::sparse::CsrRef;
/// // [[1, 0, 2],
/// //  [0, 0, 3]]
/// let x = CsrRef::new(2, 3, &[0, 2, 3], &[0, 2, 2], &[1.0_f64, 2.0, 3.0]).unwrap();
/// assert_eq!((x.nrows(), x.ncols(), x.nnz()), (2, 3, 3));
/// assert_eq!(x.row(0), (&[0usize, 2][..], &[1.0, 2.0][..]));
/// assert!(CsrRef::new(2, 3, &[0, 2, 3], &[2, 0, 2], &[1.0_f64, 2.0, 3.0]).is_err()); // unsorted
/// ```
#[derive(Debug, Clone, Copy)]
pub struct CsrRef<'a, T> {
    nrows: usize,
    ncols: usize,
    indptr: &'a [usize],
    indices: &'a [usize],
    data: &'a [T],
}

/// `len` copies of `x`, or [`NmfError::TooLarge`] (never an abort) when they cannot be allocated.
fn filled<X: Clone>(len: usize, x: X, what: &dyn Fn() -> String) -> Result<Vec<X>, NmfError> {
    let mut v = Vec::new();
    v.try_reserve_exact(len).map_err(|_| NmfError::TooLarge {
        what: what(),
        bytes: len.checked_mul(size_of::<X>()),
    })?;
    v.resize(len, x);
    Ok(v)
}

/// An entry of `matrix` (V, or the weights of masked data) at (i, j): finite and ≥ 0, or the
/// error naming its place.
pub(crate) fn check_entry<T: Scalar>(
    matrix: MatrixRole,
    i: usize,
    j: usize,
    x: T,
) -> Result<(), NmfError> {
    let (row, col, value) = (i, j, x.as_f64());
    if !x.is_finite() {
        return Err(NmfError::NonFiniteEntry {
            matrix,
            row,
            col,
            value,
        });
    }
    if x < T::zero() {
        return Err(NmfError::NegativeEntry {
            matrix,
            row,
            col,
            value,
        });
    }
    Ok(())
}

/// A malformed sparse V, with the reason.
pub(crate) fn invalid(reason: String) -> NmfError {
    NmfError::InvalidSparse {
        matrix: MatrixRole::V,
        reason,
    }
}

/// The checks of triplets before anything is built from them ([`Csr::from_triplets`],
/// [`Observed`](crate::masked::Observed)'s): a non-empty shape, as many row indices, column
/// indices and values, every index in range, every value finite and ≥ 0, and so is every
/// weight when there are weights (as many as the values: the caller checks it), each triplet
/// in turn.
pub(crate) fn check_triplets<T: Scalar>(
    nrows: usize,
    ncols: usize,
    rows: &[usize],
    cols: &[usize],
    vals: &[T],
    weights: Option<&[T]>,
) -> Result<(), NmfError> {
    if nrows == 0 || ncols == 0 {
        return Err(NmfError::EmptyMatrix {
            matrix: MatrixRole::V,
            rows: nrows,
            cols: ncols,
        });
    }
    if rows.len() != cols.len() || rows.len() != vals.len() {
        return Err(invalid(format!(
            "{} row indices, {} column indices and {} values: they must be as many",
            rows.len(),
            cols.len(),
            vals.len()
        )));
    }
    for (p, ((&i, &j), &x)) in rows.iter().zip(cols).zip(vals).enumerate() {
        if i >= nrows || j >= ncols {
            return Err(invalid(format!(
                "triplet {p} is at row {i}, column {j}, outside the {nrows}×{ncols} matrix"
            )));
        }
        check_entry(MatrixRole::V, i, j, x)?;
        if let Some(w) = weights {
            check_entry(MatrixRole::Weights, i, j, w[p])?;
        }
    }
    Ok(())
}

/// The non-zeros of a dense m×n matrix `d` (row-major) as compressed rows: the sparse
/// modules' tests build their cases with it.
#[cfg(test)]
pub(crate) fn csr_of_dense(m: usize, n: usize, d: &[f64]) -> Csr<f64> {
    let (mut r, mut c, mut v) = (vec![], vec![], vec![]);
    for (t, &x) in d.iter().enumerate() {
        if x != 0.0 {
            r.push(t / n);
            c.push(t % n);
            v.push(x);
        }
    }
    Csr::from_triplets(m, n, &r, &c, &v, Duplicates::Reject).unwrap()
}

impl<'a, T: Scalar> CsrRef<'a, T> {
    /// Checks and views compressed sparse rows.
    ///
    /// # Errors
    /// [`NmfError::InvalidSparse`] when `indptr` does not have `nrows + 1` entries starting at 0
    /// and never decreasing, when its last entry is not the length of `indices` and `data`, or
    /// when a row's column indices are not strictly increasing and below `ncols` (the reason
    /// names the row and the position); [`NmfError::NegativeEntry`] or
    /// [`NmfError::NonFiniteEntry`] with the row and column of the first bad value;
    /// [`NmfError::EmptyMatrix`] when `nrows` or `ncols` is 0.
    pub fn new(
        nrows: usize,
        ncols: usize,
        indptr: &'a [usize],
        indices: &'a [usize],
        data: &'a [T],
    ) -> Result<Self, NmfError> {
        if nrows == 0 || ncols == 0 {
            return Err(NmfError::EmptyMatrix {
                matrix: MatrixRole::V,
                rows: nrows,
                cols: ncols,
            });
        }
        if indptr.len() != nrows + 1 {
            return Err(invalid(format!(
                "the row pointers have {} entries, a matrix of {nrows} rows needs {}",
                indptr.len(),
                nrows + 1
            )));
        }
        if indptr[0] != 0 {
            return Err(invalid(format!(
                "the row pointers start at {}, not 0",
                indptr[0]
            )));
        }
        if indices.len() != data.len() {
            return Err(invalid(format!(
                "{} column indices but {} values",
                indices.len(),
                data.len()
            )));
        }
        if indptr[nrows] != data.len() {
            return Err(invalid(format!(
                "the last row pointer is {}, but there are {} values",
                indptr[nrows],
                data.len()
            )));
        }
        for i in 0..nrows {
            let (start, end) = (indptr[i], indptr[i + 1]);
            if end < start {
                return Err(invalid(format!(
                    "the row pointers decrease at row {i} ({start} then {end})"
                )));
            }
            let mut prev: Option<usize> = None;
            for p in start..end {
                let j = indices[p];
                if j >= ncols {
                    return Err(invalid(format!(
                        "row {i} has column index {j} at position {p}, but there are {ncols} \
                         columns"
                    )));
                }
                if let Some(q) = prev
                    && j <= q
                {
                    return Err(invalid(format!(
                        "row {i} has column index {j} after {q} at position {p}: the indices of \
                         a row must be strictly increasing (sorted, without repeats)"
                    )));
                }
                prev = Some(j);
                check_entry(MatrixRole::V, i, j, data[p])?;
            }
        }
        Ok(Self {
            nrows,
            ncols,
            indptr,
            indices,
            data,
        })
    }
}

impl<'a, T> CsrRef<'a, T> {
    /// Rows.
    pub fn nrows(&self) -> usize {
        self.nrows
    }
    /// Columns.
    pub fn ncols(&self) -> usize {
        self.ncols
    }
    /// `(rows, columns)`.
    pub fn shape(&self) -> (usize, usize) {
        (self.nrows, self.ncols)
    }
    /// Stored entries (explicit zeros included).
    pub fn nnz(&self) -> usize {
        self.data.len()
    }
    /// The row pointers (`nrows + 1` entries).
    pub fn indptr(&self) -> &'a [usize] {
        self.indptr
    }
    /// The column index of every stored entry, row after row.
    pub fn indices(&self) -> &'a [usize] {
        self.indices
    }
    /// The value of every stored entry, row after row.
    pub fn data(&self) -> &'a [T] {
        self.data
    }
    /// The column indices and values of row `i`.
    ///
    /// # Panics
    /// If `i ≥ nrows`.
    #[inline]
    pub fn row(&self, i: usize) -> (&'a [usize], &'a [T]) {
        let (s, e) = (self.indptr[i], self.indptr[i + 1]);
        (&self.indices[s..e], &self.data[s..e])
    }
}

/// An owned m×n matrix in compressed sparse rows (see [`CsrRef`] for what is guaranteed).
///
/// ```
/// use nmf_core::sparse::{Csr, Duplicates};
/// // Triplets in any order; the two at (1, 2) are summed, the explicit zero is dropped.
/// let x = Csr::from_triplets(2, 3, &[1, 0, 1, 0, 1], &[2, 0, 2, 2, 1], &[1.0_f64, 1.0, 2.0, 2.0, 0.0], Duplicates::Sum).unwrap();
/// assert_eq!(x.view().indptr(), &[0, 2, 3]);
/// assert_eq!(x.view().indices(), &[0, 2, 2]);
/// assert_eq!(x.view().data(), &[1.0, 2.0, 3.0]);
/// let t = x.transpose().unwrap(); // 3×2
/// assert_eq!(t.view().indptr(), &[0, 1, 1, 3]);
/// assert_eq!(t.view().data(), &[1.0, 2.0, 3.0]);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Csr<T> {
    nrows: usize,
    ncols: usize,
    indptr: Vec<usize>,
    indices: Vec<usize>,
    data: Vec<T>,
}

impl<T: Scalar> Csr<T> {
    /// Checks and takes compressed sparse rows.
    ///
    /// # Errors
    /// As [`CsrRef::new`].
    pub fn from_compressed(
        nrows: usize,
        ncols: usize,
        indptr: Vec<usize>,
        indices: Vec<usize>,
        data: Vec<T>,
    ) -> Result<Self, NmfError> {
        CsrRef::new(nrows, ncols, &indptr, &indices, &data)?;
        Ok(Self {
            nrows,
            ncols,
            indptr,
            indices,
            data,
        })
    }

    /// The same structure (row pointers and column indices, copied) with other values `data`,
    /// in the order of the stored entries: a rescaled copy, or weights laid out like V.
    ///
    /// # Errors
    /// As [`from_compressed`](Self::from_compressed) (the values are checked).
    pub(crate) fn with_values(&self, data: Vec<T>) -> Result<Self, NmfError> {
        Self::from_compressed(
            self.nrows,
            self.ncols,
            self.indptr.clone(),
            self.indices.clone(),
            data,
        )
    }

    /// Builds the matrix from triplets `(rows[p], cols[p], vals[p])` in any order, in
    /// O(nnz + nrows) time and memory besides the result (a counting sort by row, then a sort
    /// of each row by column). Entries at the same place are summed or refused (`dup`);
    /// entries that are zero after summing are not stored.
    ///
    /// # Errors
    /// [`NmfError::InvalidSparse`] when the three slices differ in length, an index is out of
    /// range (naming the triplet's position) or, with [`Duplicates::Reject`], two triplets
    /// share a place; [`NmfError::NegativeEntry`] or [`NmfError::NonFiniteEntry`] for a bad
    /// value (before summing, so a negative entry is never hidden by a positive one);
    /// [`NmfError::EmptyMatrix`] when `nrows` or `ncols` is 0; [`NmfError::TooLarge`] when the
    /// row pointers (8 bytes a row) or the entries cannot be allocated.
    pub fn from_triplets(
        nrows: usize,
        ncols: usize,
        rows: &[usize],
        cols: &[usize],
        vals: &[T],
        dup: Duplicates,
    ) -> Result<Self, NmfError> {
        check_triplets(nrows, ncols, rows, cols, vals, None)?;
        // Counting sort by row (stable: triplets of a row keep their order).
        let what = || {
            format!(
                "a sparse {nrows}×{ncols} matrix with {} entries",
                rows.len()
            )
        };
        let mut indptr = filled(nrows.saturating_add(1), 0usize, &what)?;
        for &i in rows {
            indptr[i + 1] += 1;
        }
        for i in 0..nrows {
            indptr[i + 1] += indptr[i];
        }
        let mut next = filled(nrows + 1, 0usize, &what)?;
        next.copy_from_slice(&indptr);
        let mut order = filled(rows.len(), 0usize, &what)?;
        for (p, &i) in rows.iter().enumerate() {
            order[next[i]] = p;
            next[i] += 1;
        }
        drop(next);
        // Sort each row by column (stable, so repeated places are summed in input order), sum or
        // refuse repeats, drop zeros, compact in place.
        let mut indices = filled(rows.len(), 0usize, &what)?;
        indices.clear();
        let mut data = filled(rows.len(), T::zero(), &what)?;
        data.clear();
        let mut out_ptr = filled(nrows + 1, 0usize, &what)?;
        for i in 0..nrows {
            let seg = &mut order[indptr[i]..indptr[i + 1]];
            seg.sort_by_key(|&p| cols[p]);
            let mut q = 0;
            while q < seg.len() {
                let j = cols[seg[q]];
                let mut x = vals[seg[q]];
                let mut r = q + 1;
                while r < seg.len() && cols[seg[r]] == j {
                    if dup == Duplicates::Reject {
                        return Err(invalid(format!(
                            "triplets {} and {} are both at row {i}, column {j}",
                            seg[q], seg[r]
                        )));
                    }
                    x += vals[seg[r]];
                    r += 1;
                }
                // Finite entries ≥ 0 whose sum overflows (the only way the sum can be bad).
                check_entry(MatrixRole::V, i, j, x)?;
                if x != T::zero() {
                    indices.push(j);
                    data.push(x);
                }
                q = r;
            }
            out_ptr[i + 1] = data.len();
        }
        Ok(Self {
            nrows,
            ncols,
            indptr: out_ptr,
            indices,
            data,
        })
    }

    /// As [`from_triplets`](Self::from_triplets) with [`Duplicates::Sum`], but taking the
    /// triplets by value and building the compressed rows in their place: the column indices
    /// and values become `indices` and `data` (a counting sort by row applied as a permutation
    /// in place, then each row sorted by column), so the memory besides the triplets is
    /// O(nrows + the longest row) instead of another copy of the entries. For readers of
    /// large files, whose triplets are not needed afterwards.
    ///
    /// # Errors
    /// As [`from_triplets`](Self::from_triplets), the same for the same triplets.
    pub fn from_triplet_vecs(
        nrows: usize,
        ncols: usize,
        mut rows: Vec<usize>,
        mut cols: Vec<usize>,
        mut vals: Vec<T>,
    ) -> Result<Self, NmfError> {
        check_triplets(nrows, ncols, &rows, &cols, &vals, None)?;
        let nnz = rows.len();
        let what = move || format!("a sparse {nrows}×{ncols} matrix with {nnz} entries");
        let mut indptr = filled(nrows.saturating_add(1), 0usize, &what)?;
        for &i in &rows {
            indptr[i + 1] += 1;
        }
        for i in 0..nrows {
            indptr[i + 1] += indptr[i];
        }
        // Each triplet's place in row order (stable), written over its row index.
        let mut next = filled(nrows, 0usize, &what)?;
        next.copy_from_slice(&indptr[..nrows]);
        for i in &mut rows {
            let place = next[*i];
            next[*i] += 1;
            *i = place;
        }
        drop(next);
        // Apply the permutation in place, one cycle at a time: each swap puts one triplet at
        // its place for good.
        for start in 0..rows.len() {
            while rows[start] != start {
                let to = rows[start];
                rows.swap(start, to);
                cols.swap(start, to);
                vals.swap(start, to);
            }
        }
        drop(rows);
        // Sort each row by column (stable: repeated places are summed in input order), sum
        // repeats, drop zeros, compact in place.
        let longest = indptr.windows(2).map(|w| w[1] - w[0]).max().unwrap_or(0);
        let mut row: Vec<(usize, T)> = Vec::new();
        row.try_reserve_exact(longest)
            .map_err(|_| NmfError::TooLarge {
                what: what(),
                bytes: longest.checked_mul(size_of::<(usize, T)>()),
            })?;
        let mut w = 0;
        // The row's start before compaction (indptr[i] already holds its compacted start).
        let mut lo = 0;
        for i in 0..nrows {
            let hi = indptr[i + 1];
            row.clear();
            row.extend(
                cols[lo..hi]
                    .iter()
                    .copied()
                    .zip(vals[lo..hi].iter().copied()),
            );
            row.sort_by_key(|&(j, _)| j);
            let mut q = 0;
            while q < row.len() {
                let (j, mut x) = row[q];
                let mut r = q + 1;
                while r < row.len() && row[r].0 == j {
                    x += row[r].1;
                    r += 1;
                }
                // Finite entries ≥ 0 whose sum overflows (the only way the sum can be bad).
                check_entry(MatrixRole::V, i, j, x)?;
                if x != T::zero() {
                    // w ≤ lo + q: the row was copied out, nothing unread is overwritten.
                    cols[w] = j;
                    vals[w] = x;
                    w += 1;
                }
                q = r;
            }
            indptr[i + 1] = w;
            lo = hi;
        }
        cols.truncate(w);
        vals.truncate(w);
        Ok(Self {
            nrows,
            ncols,
            indptr,
            indices: cols,
            data: vals,
        })
    }

    /// The transpose, in compressed sparse rows (so the columns of `self`, compressed): O(nnz +
    /// ncols) time and memory. Kernels that need V's columns (WᵀV) read this.
    ///
    /// # Errors
    /// [`NmfError::TooLarge`] when its arrays cannot be allocated.
    pub fn transpose(&self) -> Result<Csr<T>, NmfError> {
        let nnz = self.data.len();
        let what = || {
            format!(
                "the transpose of a sparse {}×{} matrix with {nnz} entries",
                self.nrows, self.ncols
            )
        };
        let mut indptr = filled(self.ncols.saturating_add(1), 0usize, &what)?;
        for &j in &self.indices {
            indptr[j + 1] += 1;
        }
        for j in 0..self.ncols {
            indptr[j + 1] += indptr[j];
        }
        let mut next = filled(self.ncols + 1, 0usize, &what)?;
        next.copy_from_slice(&indptr);
        let mut indices = filled(nnz, 0usize, &what)?;
        let mut data = filled(nnz, T::zero(), &what)?;
        // Rows in increasing order, so each column's row indices come out sorted.
        for i in 0..self.nrows {
            for p in self.indptr[i]..self.indptr[i + 1] {
                let j = self.indices[p];
                indices[next[j]] = i;
                data[next[j]] = self.data[p];
                next[j] += 1;
            }
        }
        Ok(Csr {
            nrows: self.ncols,
            ncols: self.nrows,
            indptr,
            indices,
            data,
        })
    }
}

impl<T> Csr<T> {
    /// The borrowed view the kernels read.
    pub fn view(&self) -> CsrRef<'_, T> {
        CsrRef {
            nrows: self.nrows,
            ncols: self.ncols,
            indptr: &self.indptr,
            indices: &self.indices,
            data: &self.data,
        }
    }
    /// `(rows, columns)`.
    pub fn shape(&self) -> (usize, usize) {
        (self.nrows, self.ncols)
    }
    /// Stored entries.
    pub fn nnz(&self) -> usize {
        self.data.len()
    }
    /// The arrays `(indptr, indices, data)`, for handing to another library's sparse type.
    pub fn into_parts(self) -> (Vec<usize>, Vec<usize>, Vec<T>) {
        (self.indptr, self.indices, self.data)
    }
}
