//! Sparse V from sprs's [`CsMatBase`] (`CsMat`, `CsMatView`: the sparse matrices ndarray users
//! have), by rows or by columns, with `usize` indices (cargo feature `sparse`, on by default).
//!
//! This is an adapter and nothing more: the sparse kernels are written once in
//! [`nmf_core::sparse`] on the raw compressed arrays (pointers, indices, values), which is what
//! sprs stores. So
//! - [`csr_view`] borrows a CSR `CsMat` as a [`CsrRef`] without copying anything, for the
//!   kernels of [`nmf_core::sparse`] (products, losses) on data you keep in sprs;
//! - [`sparse_data`] builds the [`SparseData`] a fit takes from a CSR or CSC `CsMat`, which
//!   owns V compressed **both** ways (a half-step for W reads V by rows, one for H by
//!   columns; transposing at every half-step would cost more than the copy, made once).
//!
//! Both check what sprs does not promise for NMF data: values finite and ≥ 0 (a negative, NaN
//! or infinite value is an error naming its row and column), and the structure as
//! [`CsrRef::new`] does.
//!
//! The feature: sprs is taken with its default features off (no `alga`, no threads: it
//! depends on ndarray, num-traits, num-complex and smallvec, a few seconds of build on top of
//! ndarray); a user who has no sparse data can leave it out with `default-features = false`.
//!
//! ```
//! use nmf_core::Nmf;
//! use nmf_ndarray::Ndarray;
//! use sprs::TriMat;
//!
//! // A 3×4 count matrix with 5 stored entries.
//! let mut t = TriMat::new((3, 4));
//! for (i, j, v) in [(0, 0, 2.0), (0, 3, 1.0), (1, 1, 4.0), (2, 0, 1.0), (2, 2, 3.0)] {
//!     t.add_triplet(i, j, v);
//! }
//! let x: sprs::CsMat<f64> = t.to_csr();
//! let v = nmf_ndarray::sparse_input::sparse_data(&x).unwrap();
//! let model = Nmf::params(2).seed(0).fit(&Ndarray, &v).unwrap();
//! assert_eq!(model.w().nrows(), 3);
//! ```

use core::ops::Deref;

use nmf_core::sparse::{CsrRef, SparseData};
use nmf_core::{MatrixRole, NmfError, Scalar};
use sprs::CsMatBase;

/// `x` (in CSR storage) as a [`CsrRef`], borrowing sprs's arrays (no copy).
///
/// # Errors
/// [`NmfError::InvalidSparse`] if `x` is stored by columns (CSC) or is a slice of a larger
/// matrix (its pointers do not start at 0: use [`sparse_data`], which copies);
/// [`NmfError::NegativeEntry`] or [`NmfError::NonFiniteEntry`] naming the first bad value;
/// [`NmfError::EmptyMatrix`] for a matrix without rows or columns.
pub fn csr_view<T, IpS, IS, DS>(
    x: &CsMatBase<T, usize, IpS, IS, DS, usize>,
) -> Result<CsrRef<'_, T>, NmfError>
where
    T: Scalar,
    IpS: Deref<Target = [usize]>,
    IS: Deref<Target = [usize]>,
    DS: Deref<Target = [T]>,
{
    let invalid = |reason: &str| NmfError::InvalidSparse {
        matrix: MatrixRole::V,
        reason: reason.into(),
    };
    if !x.is_csr() {
        return Err(invalid(
            "the sprs matrix is stored by columns (CSC): use sparse_data, which reads both",
        ));
    }
    // Borrowed exactly when the pointers start at 0 (a slice's are shifted into a copy).
    let std::borrow::Cow::Borrowed(indptr) = x.proper_indptr() else {
        return Err(invalid(
            "the sprs matrix is a slice (its row pointers do not start at 0): use \
             sparse_data, which copies it",
        ));
    };
    CsrRef::new(x.rows(), x.cols(), indptr, x.indices(), x.data())
}

/// The [`SparseData`] of `x` for a fit, from CSR or CSC storage (V compressed by rows and by
/// columns, copied from sprs's arrays).
///
/// # Errors
/// [`NmfError::NegativeEntry`] or [`NmfError::NonFiniteEntry`] naming the bad value's place in
/// V; [`NmfError::InvalidSparse`] for a structure [`CsrRef::new`] refuses;
/// [`NmfError::EmptyMatrix`]; [`NmfError::TooLarge`] when the copies cannot be allocated.
pub fn sparse_data<T, IpS, IS, DS>(
    x: &CsMatBase<T, usize, IpS, IS, DS, usize>,
) -> Result<SparseData<T>, NmfError>
where
    T: Scalar,
    IpS: Deref<Target = [usize]>,
    IS: Deref<Target = [usize]>,
    DS: Deref<Target = [T]>,
{
    // A slice's pointers are offsets into its indices and values: made to start at 0.
    let indptr = x.proper_indptr();
    if x.is_csr() {
        SparseData::from_view(CsrRef::new(
            x.rows(),
            x.cols(),
            &indptr,
            x.indices(),
            x.data(),
        )?)
    } else {
        SparseData::from_csc_arrays(x.rows(), x.cols(), &indptr, x.indices(), x.data())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nmf_core::testing::{
        SPARSE_INPUT as T, check_sparse_input_bad_values, dense_of_both as dense,
        sparse_input_dense,
    };
    use sprs::{CsMat, TriMat};

    fn tri(t: &[(usize, usize, f64)]) -> TriMat<f64> {
        let mut m = TriMat::new((3, 4));
        for &(i, j, v) in t {
            m.add_triplet(i, j, v);
        }
        m
    }

    #[test]
    fn round_trips_from_csr_csc_and_slices() {
        let want = sparse_input_dense();
        let x: CsMat<f64> = tri(&T).to_csr();
        let view = csr_view(&x).unwrap();
        assert!(core::ptr::eq(view.data(), x.data()));
        assert_eq!(
            dense(&sparse_data(&x).unwrap()),
            (want.clone(), want.clone())
        );
        let y: CsMat<f64> = tri(&T).to_csc();
        assert!(csr_view(&y).is_err());
        assert_eq!(
            dense(&sparse_data(&y).unwrap()),
            (want.clone(), want.clone())
        );
        // Rows 1..3 as a slice (pointers that do not start at 0).
        let s = x.slice_outer(1..3);
        assert!(csr_view(&s).is_err());
        assert_eq!(dense(&sparse_data(&s).unwrap()).0, want[4..].to_vec());
    }

    #[test]
    fn bad_values_are_errors_with_their_place() {
        check_sparse_input_bad_values(&|t| {
            let x: CsMat<f64> = tri(t).to_csr();
            let y: CsMat<f64> = tri(t).to_csc();
            vec![
                csr_view(&x).map(|_| ()).unwrap_err(),
                sparse_data(&x).map(|_| ()).unwrap_err(),
                sparse_data(&y).map(|_| ()).unwrap_err(),
            ]
        });
    }
}
