//! Sparse data: compressed sparse rows ([`Csr`], [`CsrRef`]) and the kernels a half-step needs
//! from a sparse V at O(nnz·k), written once on the raw compressed arrays so that each
//! backend's sparse type (faer's, nalgebra-sparse's `CsrMatrix`, sprs's `CsMat`, all with
//! `usize` indices) is viewed without a copy.
//!
//! - [`spmm_rows`]: X·B for the Frobenius statistics (VHᵀ on V, (WᵀV)ᵀ on Vᵀ); [`spmm_par`]
//!   runs it over rayon's threads as the data term does.
//! - [`kl_rows`]: the KL statistic (V/WH)·Hᵀ (on V) or (Wᵀ(V/WH))ᵀ (on Vᵀ), with WH sampled at
//!   the stored entries only and the ratio never stored.
//! - [`frobenius_loss`], [`kl_loss`]: the losses without forming WH, in `f64`, with their
//!   accuracy stated.
//! - [`row_blocks`]: ranges of rows of equal work, for threads; every kernel gives the same bits
//!   whatever the split.
//!
//! - [`beta_rows`], [`beta_loss_rows`]: the general β-divergence's statistics and loss. These
//!   need WH at every entry (the zeros of V contribute (WH)^(β−1) and (WH)^β/β there), so they
//!   cost O(m·n·k) per half-step whatever the sparsity; WH is formed in blocks of
//!   [`BLOCK_ROWS`] rows (one block per thread, no m×n buffer).

mod beta;
pub(crate) mod csr;
mod data;
mod loss;
pub(crate) mod pass;
mod products;

pub use beta::{BLOCK_ROWS, BetaFactors, BetaSums, beta_loss_rows, beta_rows};
pub use csr::{Csr, CsrRef, Duplicates};
pub use data::{SparseData, SparseWork};
pub use loss::{frobenius_loss, frobenius_parts, kl_loss, wh_sum};
pub use products::{kl_rows, row_blocks, spmm_par, spmm_rows};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{MatrixRole, NmfError};
    use proptest::prelude::*;

    #[test]
    fn bad_compressed_arrays_are_errors_with_their_place() {
        let bad = |r: Result<CsrRef<'_, f64>, NmfError>, has: &str| {
            let e = r.unwrap_err();
            assert!(e.to_string().contains(has), "{e} lacks {has:?}");
        };
        let d = [1.0, 2.0, 3.0];
        bad(
            CsrRef::new(2, 3, &[0, 2], &[0, 1, 2], &d),
            "2 entries, a matrix of 2 rows needs 3",
        );
        bad(CsrRef::new(2, 3, &[1, 2, 3], &[0, 1, 2], &d), "start at 1");
        bad(
            CsrRef::new(2, 3, &[0, 2, 3], &[0, 1], &d),
            "2 column indices but 3 values",
        );
        bad(
            CsrRef::new(2, 3, &[0, 2, 2], &[0, 1, 2], &d),
            "last row pointer is 2",
        );
        bad(
            CsrRef::new(3, 3, &[0, 3, 1, 3], &[0, 1, 2], &d),
            "decrease at row 1",
        );
        bad(
            CsrRef::new(2, 3, &[0, 2, 3], &[0, 3, 2], &d),
            "row 0 has column index 3",
        );
        bad(
            CsrRef::new(2, 3, &[0, 2, 3], &[1, 1, 2], &d),
            "row 0 has column index 1 after 1",
        );
        assert_eq!(
            CsrRef::new(2, 3, &[0, 2, 3], &[0, 2, 1], &[1.0, -2.0, 3.0]).unwrap_err(),
            NmfError::NegativeEntry {
                matrix: MatrixRole::V,
                row: 0,
                col: 2,
                value: -2.0
            }
        );
        assert!(matches!(
            CsrRef::new(2, 3, &[0, 2, 3], &[0, 2, 1], &[1.0, 2.0, f64::NAN]).unwrap_err(),
            NmfError::NonFiniteEntry { row: 1, col: 1, .. }
        ));
        assert!(matches!(
            CsrRef::new(0, 3, &[0], &[], &[] as &[f64]).unwrap_err(),
            NmfError::EmptyMatrix { .. }
        ));
    }

    #[test]
    fn bad_triplets_are_errors_with_their_place() {
        let e = Csr::from_triplets(2, 2, &[0, 2], &[0, 0], &[1.0f64, 1.0], Duplicates::Sum);
        assert!(
            e.unwrap_err()
                .to_string()
                .contains("triplet 1 is at row 2, column 0")
        );
        let e = Csr::from_triplets(2, 2, &[1, 1], &[0, 0], &[1.0f64, 1.0], Duplicates::Reject);
        assert!(
            e.unwrap_err()
                .to_string()
                .contains("triplets 0 and 1 are both at row 1, column 0")
        );
        let e = Csr::from_triplets(2, 2, &[0], &[0, 1], &[1.0f64], Duplicates::Sum);
        assert!(
            e.unwrap_err()
                .to_string()
                .contains("1 row indices, 2 column indices")
        );
        // A negative entry is refused even when a duplicate would make the sum positive.
        let e = Csr::from_triplets(2, 2, &[0, 0], &[1, 1], &[-1.0f64, 5.0], Duplicates::Sum);
        assert!(matches!(
            e.unwrap_err(),
            NmfError::NegativeEntry { row: 0, col: 1, .. }
        ));
        // Finite duplicates whose sum overflows.
        let e = Csr::from_triplets(
            1,
            1,
            &[0, 0],
            &[0, 0],
            &[f32::MAX, f32::MAX],
            Duplicates::Sum,
        );
        assert!(matches!(
            e.unwrap_err(),
            NmfError::NonFiniteEntry { row: 0, col: 0, .. }
        ));
    }

    proptest! {
        /// Triplets in any order, with duplicates, give the matrix their sums make (zeros not
        /// stored), and the transpose of the transpose is the matrix.
        #[test]
        fn triplets_sum_and_transpose_round_trips(
            (m, n, trips) in (1usize..7, 1usize..7).prop_flat_map(|(m, n)| {
                (Just(m), Just(n), prop::collection::vec((0..m, 0..n, prop_oneof![Just(0.0f64), 0.0f64..5.0]), 0..30))
            })
        ) {
            let rows: Vec<usize> = trips.iter().map(|t| t.0).collect();
            let cols: Vec<usize> = trips.iter().map(|t| t.1).collect();
            let vals: Vec<f64> = trips.iter().map(|t| t.2).collect();
            let x = Csr::from_triplets(m, n, &rows, &cols, &vals, Duplicates::Sum).unwrap();
            // Dense sums in input order (the order the builder sums in).
            let mut dense = vec![0.0; m * n];
            for t in &trips {
                dense[t.0 * n + t.1] += t.2;
            }
            let mut back = vec![0.0; m * n];
            let v = x.view();
            for i in 0..m {
                let (cs, vs) = v.row(i);
                prop_assert!(cs.windows(2).all(|p| p[0] < p[1]));
                for (&j, &val) in cs.iter().zip(vs) {
                    prop_assert!(val != 0.0);
                    back[i * n + j] = val;
                }
            }
            prop_assert_eq!(&back, &dense);
            prop_assert!(CsrRef::new(m, n, v.indptr(), v.indices(), v.data()).is_ok());
            let t = x.transpose().unwrap();
            prop_assert_eq!(t.shape(), (n, m));
            prop_assert_eq!(t.transpose().unwrap(), x.clone());
            // Built in place from owned triplets: the same matrix, bit for bit (the same sums
            // in the same order).
            let owned = Csr::from_triplet_vecs(m, n, rows, cols, vals).unwrap();
            prop_assert_eq!(owned, x);
        }

        /// Owned triplets give the errors of borrowed ones: an index out of range, a negative
        /// or non-finite value (each naming its place), a length mismatch, an empty shape.
        #[test]
        fn owned_triplets_fail_as_borrowed_ones(
            (m, n, trips) in (0usize..5, 0usize..5).prop_flat_map(|(m, n)| {
                (Just(m), Just(n), prop::collection::vec(
                    (0..m + 2, 0..n + 2, prop_oneof![Just(-1.0f64), Just(f64::NAN), 0.0f64..5.0]),
                    0..12,
                ))
            }),
            drop_value in any::<bool>(),
        ) {
            let rows: Vec<usize> = trips.iter().map(|t| t.0).collect();
            let cols: Vec<usize> = trips.iter().map(|t| t.1).collect();
            let mut vals: Vec<f64> = trips.iter().map(|t| t.2).collect();
            if drop_value {
                vals.pop();
            }
            let borrowed = Csr::from_triplets(m, n, &rows, &cols, &vals, Duplicates::Sum);
            let owned = Csr::from_triplet_vecs(m, n, rows, cols, vals);
            // (NaN values make errors unequal under ==: compare their messages.)
            prop_assert_eq!(
                borrowed.map_err(|e| e.to_string()),
                owned.map_err(|e| e.to_string())
            );
        }
    }
}
