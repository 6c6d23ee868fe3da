//! Sparse V from nalgebra-sparse's [`CsrMatrix`] and [`CscMatrix`] (cargo feature `sparse`, on
//! by default).
//!
//! This is an adapter and nothing more: the sparse kernels are written once in
//! [`nmf_core::sparse`] on the raw compressed arrays (offsets, indices, values), which is what
//! nalgebra-sparse stores. So
//! - [`csr_view`] borrows a `CsrMatrix` as a [`CsrRef`] without copying anything, for the
//!   kernels of [`nmf_core::sparse`] (products, losses) on data you keep in nalgebra-sparse;
//! - [`sparse_data`] and [`sparse_data_from_csc`] build the [`SparseData`] a fit takes, which
//!   owns V compressed **both** ways (a half-step for W reads V by rows, one for H by
//!   columns; transposing at every half-step would cost more than the copy, made once).
//!
//! nalgebra-sparse already guarantees the structure (offsets, sorted unique indices in
//! range); what it does not promise for NMF data is checked here: values finite and ≥ 0 (a
//! negative, NaN or infinite value is an error naming its row and column), with the structure
//! checked again as [`CsrRef::new`] does (O(nnz), next to a fit's cost nothing).
//!
//! The feature: nalgebra-sparse builds in a few seconds on top of nalgebra (it depends on
//! nalgebra and num-traits only, with its default features off), but a user who has no sparse
//! data can leave it out with `default-features = false`.
//!
//! ```
//! use nalgebra_sparse::{CooMatrix, CsrMatrix};
//! use nmf_core::Nmf;
//! use nmf_nalgebra::Nalgebra;
//!
//! // A 3×4 count matrix with 5 stored entries.
//! let mut coo = CooMatrix::new(3, 4);
//! for (i, j, v) in [(0, 0, 2.0), (0, 3, 1.0), (1, 1, 4.0), (2, 0, 1.0), (2, 2, 3.0)] {
//!     coo.push(i, j, v);
//! }
//! let x = CsrMatrix::from(&coo);
//! let v = nmf_nalgebra::sparse_input::sparse_data(&x).unwrap();
//! let model = Nmf::params(2).seed(0).fit(&Nalgebra, &v).unwrap();
//! assert_eq!(model.w().nrows(), 3);
//! ```

use nalgebra_sparse::{CscMatrix, CsrMatrix};
use nmf_core::sparse::{CsrRef, SparseData};
use nmf_core::{NmfError, Scalar};

/// `x` as a [`CsrRef`], borrowing its arrays (no copy).
///
/// # Errors
/// [`NmfError::NegativeEntry`] or [`NmfError::NonFiniteEntry`] naming the first bad value;
/// [`NmfError::EmptyMatrix`] for a matrix without rows or columns.
pub fn csr_view<T: Scalar>(x: &CsrMatrix<T>) -> Result<CsrRef<'_, T>, NmfError> {
    let (offsets, indices, values) = x.csr_data();
    CsrRef::new(x.nrows(), x.ncols(), offsets, indices, values)
}

/// The [`SparseData`] of `x` for a fit (V compressed by rows and by columns, copied).
///
/// # Errors
/// As [`csr_view`], and [`NmfError::TooLarge`] when the copies cannot be allocated.
pub fn sparse_data<T: Scalar>(x: &CsrMatrix<T>) -> Result<SparseData<T>, NmfError> {
    SparseData::from_view(csr_view(x)?)
}

/// The [`SparseData`] of `x` stored by columns (its arrays are the compressed rows of Vᵀ; V's
/// rows are built from them).
///
/// # Errors
/// As [`sparse_data`] (the places named are V's).
pub fn sparse_data_from_csc<T: Scalar>(x: &CscMatrix<T>) -> Result<SparseData<T>, NmfError> {
    let (offsets, indices, values) = x.csc_data();
    SparseData::from_csc_arrays(x.nrows(), x.ncols(), offsets, indices, values)
}

#[cfg(test)]
mod tests {
    use super::*;
    use nalgebra_sparse::CooMatrix;
    use nmf_core::testing::{
        SPARSE_INPUT as T, check_sparse_input_bad_values, dense_of_both as dense,
        sparse_input_dense,
    };

    fn coo(t: &[(usize, usize, f64)]) -> CooMatrix<f64> {
        let mut c = CooMatrix::new(3, 4);
        for &(i, j, v) in t {
            c.push(i, j, v);
        }
        c
    }

    #[test]
    fn round_trips_from_csr_and_csc() {
        let want = sparse_input_dense();
        let x = CsrMatrix::from(&coo(&T));
        let view = csr_view(&x).unwrap();
        assert!(core::ptr::eq(view.data(), x.values()));
        assert_eq!(
            dense(&sparse_data(&x).unwrap()),
            (want.clone(), want.clone())
        );
        let y = CscMatrix::from(&coo(&T));
        assert_eq!(
            dense(&sparse_data_from_csc(&y).unwrap()),
            (want.clone(), want)
        );
    }

    #[test]
    fn bad_values_are_errors_with_their_place() {
        check_sparse_input_bad_values(&|t| {
            let (x, y) = (CsrMatrix::from(&coo(t)), CscMatrix::from(&coo(t)));
            vec![
                sparse_data(&x).map(|_| ()).unwrap_err(),
                sparse_data_from_csc(&y).map(|_| ()).unwrap_err(),
            ]
        });
    }
}
