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
/// few per singular value), in which case the NNDSVD initialisation falls back to the
/// randomized SVD.
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
    let svd = a64.try_svd_unordered(true, true, 5.0 * f64::EPSILON, 100 * r)?;
    let (u, vt) = (svd.u?, svd.v_t?);
    let s = svd.singular_values;
    // Sort the singular values in non-increasing order (nalgebra does not guarantee it for
    // the unordered variant), stable, and keep the first k.
    let mut order: Vec<usize> = (0..r).collect();
    order.sort_by(|&p, &q| s[q].total_cmp(&s[p]));
    order.truncate(k);
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

#[cfg(test)]
mod tests {
    use crate::{MatrixBackend, Nalgebra};
    use nalgebra::DMatrix;
    use nmf_core::TruncatedSvd;
    use nmf_core::svd::randomized_svd;

    /// A 7×5 matrix with well separated singular values: 31.69, 13.76, 9.41, 5.12, 0.84
    /// (numpy), every gap above 4.
    fn matrix() -> DMatrix<f64> {
        DMatrix::from_fn(7, 5, |i, j| {
            ((5 * i + 4 * j) % 11) as f64 + if i == j { 1.0 } else { 0.0 }
        })
    }

    /// Each pair (u_j, v_j) with the sign that makes its largest |u_ij| positive.
    fn canonical(mut svd: TruncatedSvd<f64>) -> TruncatedSvd<f64> {
        let (m, n, k) = (svd.rows, svd.cols, svd.rank);
        for j in 0..k {
            let big = (0..m)
                .map(|i| svd.u[i * k + j])
                .fold(0.0_f64, |b, x| if x.abs() > b.abs() { x } else { b });
            if big < 0.0 {
                (0..m).for_each(|i| svd.u[i * k + j] = -svd.u[i * k + j]);
                svd.vt[j * n..(j + 1) * n].iter_mut().for_each(|x| *x = -*x);
            }
        }
        svd
    }

    fn max_diff(a: &[f64], b: &[f64]) -> f64 {
        a.iter().zip(b).fold(0.0, |s, (x, y)| s.max((x - y).abs()))
    }

    #[test]
    fn agrees_with_the_randomized_svd() {
        let (b, a) = (Nalgebra, matrix());
        let full = b.truncated_svd(&a, 5).unwrap().s;
        let expected = [31.68960273, 13.75916755, 9.40901229, 5.12005771, 0.84254608];
        assert!(max_diff(&full, &expected) < 1e-8, "{full:?}");
        let gap = full
            .windows(2)
            .map(|w| w[0] - w[1])
            .fold(f64::MAX, f64::min);
        assert!(gap > 4.0);
        for k in [1, 3, 5] {
            let ours = canonical(b.truncated_svd(&a, k).expect("nalgebra's SVD converges"));
            let rand = canonical(randomized_svd(&b, &a, k, 1));
            assert_eq!((ours.rows, ours.cols, ours.rank), (7, 5, k));
            // min(m, n) = 5 ≤ k + 10: the randomized SVD is exact up to rounding. Tolerance:
            // (m + n)·u·σ₁ for the values, divided by the gap for the vectors, times 16.
            let tol_s = 16.0 * 12.0 * (f64::EPSILON / 2.0) * ours.s[0];
            let tol_v = tol_s / gap;
            assert!(max_diff(&ours.s, &rand.s) <= tol_s, "σ");
            assert!(max_diff(&ours.u, &rand.u) <= tol_v, "U");
            assert!(max_diff(&ours.vt, &rand.vt) <= tol_v, "Vᵀ");
        }
    }

    #[test]
    fn known_matrix_sorted_and_edge_cases() {
        let b = Nalgebra;
        // diag(1, 3, 2) padded with a zero column: σ = 3, 2, 1 (unsorted on the diagonal).
        let a = DMatrix::from_fn(3, 4, |i, j| if i == j { [1.0, 3.0, 2.0][i] } else { 0.0 });
        let svd = canonical(b.truncated_svd(&a, 3).unwrap());
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
