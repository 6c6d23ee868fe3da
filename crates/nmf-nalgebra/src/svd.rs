//! The truncated SVD of the nalgebra backend: nalgebra's `SVD` (Golub–Kahan bidiagonalisation
//! and implicit-shift QR), keeping the `k` leading triplets.
//!
//! nalgebra's SVD needs `nalgebra::RealField`, which [`NalgebraScalar`] does not require, so the
//! matrix is converted to `f64` (exact for `f32` and `f64`) and the result rounded back to `T`.

use crate::NalgebraScalar;
use nalgebra::DMatrix;
use nmf_core::TruncatedSvd;

/// The `k` leading singular triplets of `a` (m×n) in row-major order, σ non-increasing;
/// `None` if nalgebra's iteration does not converge within `100·min(m, n)` sweeps (it needs a
/// few per singular value) or its result fails the accuracy check below, in which case the
/// NNDSVD initialisation falls back to nmf-core's randomized SVD (exact up to rounding when
/// min(m, n) ≤ k + 10).
///
/// The check: nalgebra's SVD can lose accuracy on graded matrices (dimforge/nalgebra#1172:
/// on random non-negative matrices whose entries span many orders of magnitude we measured
/// ‖UᵀAV − Σ‖ up to 2e-5·‖A‖_F, where a backward-stable SVD gives about 1e-15). So the k
/// triplets are accepted only if ‖A·v_j − σ_j·u_j‖, ‖Aᵀ·u_j − σ_j·v_j‖ and the departure of
/// U's and V's columns from orthonormality are all within 4·(m + n)·ε (times ‖A‖_F for the
/// residuals), which costs O(m·n·k), less than one iteration of a fit.
///
/// # Panics
/// If `k > min(m, n)`.
pub(crate) fn truncated_svd<T: NalgebraScalar>(
    a: &DMatrix<T>,
    k: usize,
) -> Option<TruncatedSvd<T>> {
    let (m, n) = a.shape();
    let r = m.min(n);
    assert!(
        k <= r,
        "a truncated SVD of rank {k} needs k ≤ min(m, n) = {r} for a {m}×{n} matrix"
    );
    if k == 0 {
        // nalgebra refuses empty matrices; nothing to compute anyway.
        return Some(TruncatedSvd {
            u: Vec::new(),
            s: Vec::new(),
            vt: Vec::new(),
            rows: m,
            cols: n,
            rank: 0,
        });
    }
    let a64 = DMatrix::<f64>::from_fn(m, n, |i, j| a[(i, j)].as_f64());
    // The tolerance of `DMatrix::svd`; max_niter = 0 would mean "no limit".
    let svd = a64
        .clone()
        .try_svd_unordered(true, true, 5.0 * f64::EPSILON, 100 * r)?;
    let (u, vt) = (svd.u?, svd.v_t?);
    let s = svd.singular_values;
    // Sort the singular values in non-increasing order (nalgebra does not guarantee it for
    // the unordered variant), stable, and keep the first k.
    let mut order: Vec<usize> = (0..r).collect();
    order.sort_by(|&p, &q| s[q].total_cmp(&s[p]));
    order.truncate(k);
    if !accurate(&a64, &u, &s, &vt, &order) {
        return None;
    }
    let mut uk = Vec::with_capacity(m * k);
    for i in 0..m {
        uk.extend(order.iter().map(|&c| T::from_f64(u[(i, c)])));
    }
    let mut vtk = Vec::with_capacity(k * n);
    for &c in &order {
        vtk.extend((0..n).map(|j| T::from_f64(vt[(c, j)])));
    }
    Some(TruncatedSvd {
        u: uk,
        s: order.iter().map(|&c| T::from_f64(s[c])).collect(),
        vt: vtk,
        rows: m,
        cols: n,
        rank: k,
    })
}

/// Whether the kept triplets (u_j, σ_j, v_j) of nalgebra's thin SVD are accurate to
/// 4·(m + n)·ε (see [`truncated_svd`]).
fn accurate(
    a: &DMatrix<f64>,
    u: &DMatrix<f64>,
    s: &nalgebra::DVector<f64>,
    vt: &DMatrix<f64>,
    keep: &[usize],
) -> bool {
    let (m, n) = a.shape();
    // 4·(m + n)·ε = 8·(m + n)·u: then |u_iᵀ·A·v_j − σ_j·δ_ij| ≤ σ_j·|u_iᵀu_j − δ_ij| +
    // ‖A·v_j − σ_j·u_j‖ ≤ 16·(m + n)·u·‖A‖_F, the accuracy nmf-core's SVD property asks.
    let tol = 4.0 * (m + n) as f64 * f64::EPSILON;
    let scale = a.norm();
    let uk = u.select_columns(keep);
    let vk = vt.select_rows(keep).transpose();
    let residual = |x: DMatrix<f64>, y: &DMatrix<f64>| {
        (0..keep.len()).all(|c| (x.column(c) - y.column(c) * s[keep[c]]).norm() <= tol * scale)
    };
    let eye = |x: DMatrix<f64>| {
        let r = x.nrows();
        (x - DMatrix::<f64>::identity(r, r)).amax() <= tol
    };
    residual(a * &vk, &uk)
        && residual(a.transpose() * &uk, &vk)
        && eye(uk.transpose() * &uk)
        && eye(vk.transpose() * &vk)
}

#[cfg(test)]
mod tests {
    use crate::{MatrixBackend, Nalgebra};
    use nalgebra::DMatrix;

    /// A 7×5 matrix with well separated singular values: 31.69, 13.76, 9.41, 5.12, 0.84
    /// (numpy), every gap above 4.
    fn matrix() -> DMatrix<f64> {
        DMatrix::from_fn(7, 5, |i, j| {
            ((5 * i + 4 * j) % 11) as f64 + if i == j { 1.0 } else { 0.0 }
        })
    }

    #[test]
    fn matches_numpy_singular_values() {
        let full = Nalgebra.truncated_svd(&matrix(), 5).unwrap().s;
        // numpy.linalg.svd, printed to 8 decimals (so ±5e-9).
        let expected = [31.68960273, 13.75916755, 9.40901229, 5.12005771, 0.84254608];
        for (x, y) in full.iter().zip(expected) {
            assert!((x - y).abs() < 1e-8, "{full:?}");
        }
    }

    #[test]
    fn known_matrix_sorted_and_edge_cases() {
        let b = Nalgebra;
        // diag(1, 3, 2) padded with a zero column: σ = 3, 2, 1 (unsorted on the diagonal).
        let a = DMatrix::from_fn(3, 4, |i, j| if i == j { [1.0, 3.0, 2.0][i] } else { 0.0 });
        let svd = b.truncated_svd(&a, 3).unwrap().with_canonical_signs();
        assert_eq!(svd.s, vec![3.0, 2.0, 1.0]);
        assert_eq!(svd.u, vec![0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 0.0, 1.0, 0.0]);
        assert_eq!(
            svd.vt,
            vec![0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 1.0, 0.0, 0.0, 0.0]
        );
        // f32, k = 0, the zero matrix.
        let a32 = DMatrix::from_fn(6, 3, |i, j| (i + 2 * j) as f32);
        let s32 = b.truncated_svd(&a32, 3).unwrap();
        assert_eq!((s32.u.len(), s32.vt.len()), (18, 9));
        assert!(s32.s.windows(2).all(|w| w[0] >= w[1]));
        assert_eq!(b.truncated_svd(&a32, 0).unwrap().rank, 0);
        let z = DMatrix::<f64>::zeros(4, 3);
        let sz = b.truncated_svd(&z, 2).unwrap();
        assert!(sz.s.iter().all(|&s| s == 0.0) && sz.u.iter().all(|x| x.is_finite()));
    }

    #[test]
    fn truncated_svd_of_nmf_core_uses_nalgebra() {
        let a = matrix();
        assert_eq!(
            nmf_core::svd::truncated_svd(&Nalgebra, &a, 2, 0),
            Nalgebra.truncated_svd(&a, 2).unwrap()
        );
    }
}
