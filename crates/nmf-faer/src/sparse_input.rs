//! Sparse V from faer's own sparse matrices: [`SparseRowMatRef`] (compressed rows) and
//! [`SparseColMatRef`] (compressed columns), with `usize` indices.
//!
//! This is an adapter and nothing more: the sparse kernels are written once in
//! [`nmf_core::sparse`] on the raw compressed arrays (row pointers, column indices, values),
//! and faer stores exactly those arrays. So
//! - [`csr_view`] borrows a faer CSR matrix as a [`CsrRef`] without copying anything, for the
//!   kernels of [`nmf_core::sparse`] (products, losses) on data you keep in faer's type;
//! - [`sparse_data`] and [`sparse_data_from_csc`] build the [`SparseData`] a fit takes, which
//!   owns V compressed **both** ways (a half-step for W reads V by rows, one for H by
//!   columns; transposing at every half-step would cost more than the copy, made once).
//!
//! Both check what faer does not promise for NMF data: values finite and ≥ 0 (a negative, NaN
//! or infinite value is an error naming its row and column), and the structure as
//! [`CsrRef::new`] does (the view needs each row's column indices sorted; a matrix made with
//! faer's unsorted constructors, or with per-row counts, goes through [`sparse_data`], which
//! sorts it).
//!
//! faer's sparse module needs no cargo feature in faer 0.24 (its `sparse` feature only adds
//! prelude names and operator overloads), so this adds nothing to the build.
//!
//! ```
//! use faer::sparse::{SparseRowMat, Triplet};
//! use nmf_core::Nmf;
//! use nmf_faer::Faer;
//!
//! // A 3×4 count matrix with 5 stored entries.
//! let t = [(0, 0, 2.0), (0, 3, 1.0), (1, 1, 4.0), (2, 0, 1.0), (2, 2, 3.0)];
//! let t: Vec<_> = t.iter().map(|&(i, j, v)| Triplet::new(i, j, v)).collect();
//! let x = SparseRowMat::<usize, f64>::try_new_from_triplets(3, 4, &t).unwrap();
//! let v = nmf_faer::sparse_input::sparse_data(x.as_ref()).unwrap();
//! let model = Nmf::params(2).seed(0).fit(&Faer::default(), &v).unwrap();
//! assert_eq!(model.w().nrows(), 3);
//! ```

use faer::sparse::{SparseColMatRef, SparseRowMatRef};
use nmf_core::sparse::{CsrRef, SparseData};
use nmf_core::{MatrixRole, NmfError, Scalar};

/// `x` as a [`CsrRef`], borrowing faer's arrays (no copy).
///
/// # Errors
/// [`NmfError::InvalidSparse`] if `x` stores a count per row (faer's non-compact layout, whose
/// arrays are not plain compressed rows) or a row's column indices are not increasing;
/// [`NmfError::NegativeEntry`] or [`NmfError::NonFiniteEntry`] naming the first bad value;
/// [`NmfError::EmptyMatrix`] for a matrix without rows or columns.
pub fn csr_view<T: Scalar>(x: SparseRowMatRef<'_, usize, T>) -> Result<CsrRef<'_, T>, NmfError> {
    let (nrows, ncols, row_ptr, row_nnz, col_idx) = x.symbolic().parts();
    if row_nnz.is_some() {
        return Err(NmfError::InvalidSparse {
            matrix: MatrixRole::V,
            reason: "the faer matrix stores a count per row (non-compact): use sparse_data, \
                     which copies it"
                .into(),
        });
    }
    CsrRef::new(nrows, ncols, row_ptr, col_idx, x.val())
}

/// The [`SparseData`] of `x` for a fit (V compressed by rows and by columns, copied from
/// faer's arrays; unsorted rows and faer's non-compact layout are accepted and sorted).
///
/// # Errors
/// [`NmfError::NegativeEntry`] or [`NmfError::NonFiniteEntry`] naming the bad value's place;
/// [`NmfError::EmptyMatrix`]; [`NmfError::TooLarge`] when the copies cannot be allocated.
pub fn sparse_data<T: Scalar>(x: SparseRowMatRef<'_, usize, T>) -> Result<SparseData<T>, NmfError> {
    match csr_view(x) {
        Ok(view) => SparseData::from_view(view),
        // Structure faer allows but a view cannot take (unsorted, per-row counts): through
        // triplets, which sorts; a bad value is found there too, with its place.
        Err(NmfError::InvalidSparse { .. }) => {
            let (r, c, v) = triplets(x);
            SparseData::from_triplets(x.nrows(), x.ncols(), &r, &c, &v)
        }
        Err(e) => Err(e),
    }
}

/// The [`SparseData`] of `x` stored by columns (its arrays are the compressed rows of Vᵀ;
/// V's rows are built from them).
///
/// # Errors
/// As [`sparse_data`] (the places named are V's).
pub fn sparse_data_from_csc<T: Scalar>(
    x: SparseColMatRef<'_, usize, T>,
) -> Result<SparseData<T>, NmfError> {
    let (m, n, col_ptr, col_nnz, row_idx) = x.symbolic().parts();
    if col_nnz.is_none() {
        match SparseData::from_csc_arrays(m, n, col_ptr, row_idx, x.val()) {
            Err(NmfError::InvalidSparse { .. }) => {}
            done => return done,
        }
    }
    // Unsorted columns or per-column counts: V's triplets (the rows of Vᵀ, swapped).
    let (c, r, v) = triplets(x.transpose());
    SparseData::from_triplets(m, n, &r, &c, &v)
}

/// The entries of `x` (any faer layout) as triplets `(rows, columns, values)`.
fn triplets<T: Scalar>(x: SparseRowMatRef<'_, usize, T>) -> (Vec<usize>, Vec<usize>, Vec<T>) {
    let (m, _, row_ptr, row_nnz, col_idx) = x.symbolic().parts();
    let val = x.val();
    let (mut r, mut c, mut v) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..m {
        let start = row_ptr[i];
        let end = row_nnz.map_or(row_ptr[i + 1], |nnz| start + nnz[i]);
        for p in start..end {
            r.push(i);
            c.push(col_idx[p]);
            v.push(val[p]);
        }
    }
    (r, c, v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use faer::sparse::{SparseColMat, SparseRowMat, Triplet};
    use nmf_core::testing::{
        SPARSE_INPUT as T, check_sparse_input_bad_values, dense_of_both as dense,
        sparse_input_dense as want,
    };

    fn triplets(t: &[(usize, usize, f64)]) -> Vec<Triplet<usize, usize, f64>> {
        t.iter().map(|&(i, j, v)| Triplet::new(i, j, v)).collect()
    }

    #[test]
    fn round_trips_from_csr_and_csc() {
        let t = triplets(&T);
        let x = SparseRowMat::<usize, f64>::try_new_from_triplets(3, 4, &t).unwrap();
        let view = csr_view(x.as_ref()).unwrap();
        // Borrowed: the very same arrays.
        assert!(core::ptr::eq(view.data(), x.as_ref().val()));
        let v = sparse_data(x.as_ref()).unwrap();
        assert_eq!(dense(&v), (want(), want()));
        let y = SparseColMat::<usize, f64>::try_new_from_triplets(3, 4, &t).unwrap();
        let v = sparse_data_from_csc(y.as_ref()).unwrap();
        assert_eq!(dense(&v), (want(), want()));
    }

    #[test]
    fn unsorted_rows_are_sorted_by_sparse_data() {
        // Row 0 with its column indices in decreasing order (faer's unsorted layout).
        let sym = faer::sparse::SymbolicSparseRowMat::new_unsorted_checked(
            1,
            3,
            vec![0usize, 2],
            None,
            vec![2usize, 0],
        );
        let x = SparseRowMat::new(sym, vec![5.0f64, 1.0]);
        let e = csr_view(x.as_ref()).unwrap_err();
        assert!(e.to_string().contains("column index 0 after 2"), "{e}");
        let v = sparse_data(x.as_ref()).unwrap();
        assert_eq!(v.csr().row(0), (&[0usize, 2][..], &[1.0, 5.0][..]));
    }

    #[test]
    fn bad_values_are_errors_with_their_place() {
        check_sparse_input_bad_values(&|t| {
            let t = triplets(t);
            let x = SparseRowMat::<usize, f64>::try_new_from_triplets(3, 4, &t).unwrap();
            let y = SparseColMat::<usize, f64>::try_new_from_triplets(3, 4, &t).unwrap();
            vec![
                csr_view(x.as_ref()).map(|_| ()).unwrap_err(),
                sparse_data(x.as_ref()).map(|_| ()).unwrap_err(),
                sparse_data_from_csc(y.as_ref()).map(|_| ()).unwrap_err(),
            ]
        });
    }
}
