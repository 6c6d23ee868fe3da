//! The truncated SVD of the faer backend: faer's thin SVD (`faer::linalg::svd::svd`, run with
//! the backend's parallelism), keeping the `k` leading triplets.

use crate::FaerScalar;
use faer::dyn_stack::{MemBuffer, MemStack};
use faer::linalg::svd::{self, ComputeSvdVectors};
use faer::{Mat, Par};
use nmf_core::TruncatedSvd;

/// The `k` leading singular triplets of `a` (m×n) in row-major order, σ non-increasing;
/// `None` only if faer reports that its SVD did not converge.
///
/// # Panics
/// If `k > min(m, n)`.
pub(crate) fn truncated_svd<T: FaerScalar>(
    par: Par,
    a: &Mat<T>,
    k: usize,
) -> Option<TruncatedSvd<T>> {
    let (m, n) = (a.nrows(), a.ncols());
    let r = m.min(n);
    assert!(
        k <= r,
        "a truncated SVD of rank {k} needs k ≤ min(m, n) = {r} for a {m}×{n} matrix"
    );
    if k == 0 {
        return Some(TruncatedSvd {
            u: Vec::new(),
            s: Vec::new(),
            vt: Vec::new(),
            rows: m,
            cols: n,
            rank: 0,
        });
    }
    let mut s = faer::diag::Diag::<T>::zeros(r);
    let mut u = Mat::<T>::zeros(m, r);
    let mut v = Mat::<T>::zeros(n, r);
    let thin = ComputeSvdVectors::Thin;
    let mut mem = MemBuffer::new(svd::svd_scratch::<T>(
        m,
        n,
        thin,
        thin,
        par,
        Default::default(),
    ));
    svd::svd(
        a.as_ref(),
        s.as_mut(),
        Some(u.as_mut()),
        Some(v.as_mut()),
        par,
        MemStack::new(&mut mem),
        Default::default(),
    )
    .ok()?;
    let s = s.column_vector();
    // faer returns σ non-increasing; sorting again (stable) costs nothing and makes the
    // contract of `TruncatedSvd` independent of that promise.
    let mut order: Vec<usize> = (0..r).collect();
    order.sort_by(|&p, &q| s[q].as_f64().total_cmp(&s[p].as_f64()));
    order.truncate(k);
    let mut uk = Vec::with_capacity(m * k);
    for i in 0..m {
        uk.extend(order.iter().map(|&c| u[(i, c)]));
    }
    let mut vt = Vec::with_capacity(k * n);
    for &c in &order {
        vt.extend((0..n).map(|j| v[(j, c)]));
    }
    Some(TruncatedSvd {
        u: uk,
        s: order.iter().map(|&c| s[c]).collect(),
        vt,
        rows: m,
        cols: n,
        rank: k,
    })
}

#[cfg(test)]
mod tests {
    use crate::{Faer, MatrixBackend};
    use nmf_core::TruncatedSvd;
    use nmf_core::svd::randomized_svd;

    /// A 7×5 matrix with well separated singular values: 31.69, 13.76, 9.41, 5.12, 0.84
    /// (numpy), every gap above 4.
    fn matrix() -> faer::Mat<f64> {
        faer::Mat::from_fn(7, 5, |i, j| {
            ((5 * i + 4 * j) % 11) as f64 + if i == j { 1.0 } else { 0.0 }
        })
    }

    /// Both SVDs, with each pair (u_j, v_j) given the sign that makes the largest |u_ij| positive.
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
        let a = matrix();
        for par in [faer::Par::Seq, faer::Par::rayon(2)] {
            let b = Faer::with_threads(if par == faer::Par::Seq { 1 } else { 2 });
            for k in [1, 3, 5] {
                let ours = canonical(b.truncated_svd(&a, k).expect("faer's SVD converges"));
                let rand = canonical(randomized_svd(&b, &a, k, 1));
                assert_eq!((ours.rows, ours.cols, ours.rank), (7, 5, k));
                assert!(ours.s.windows(2).all(|w| w[0] > w[1]), "{:?}", ours.s);
                // min(m, n) = 5 ≤ k + 10: the randomized SVD is exact up to rounding, and
                // the gaps between the σ (> 4 here) keep the vectors nearly that accurate too.
                let full = b.truncated_svd(&a, 5).unwrap().s;
                let gap = full
                    .windows(2)
                    .map(|w| w[0] - w[1])
                    .fold(f64::MAX, f64::min);
                assert!(gap > 4.0, "gap {gap}");
                // (m + n)·u·σ₁ for the values, divided by the gap for the vectors, times 16
                // (the observed differences are below 0.03 of that).
                let tol_s = 16.0 * 12.0 * (f64::EPSILON / 2.0) * ours.s[0];
                let tol_v = tol_s / gap;
                assert!(max_diff(&ours.s, &rand.s) <= tol_s, "σ");
                assert!(max_diff(&ours.u, &rand.u) <= tol_v, "U");
                assert!(max_diff(&ours.vt, &rand.vt) <= tol_v, "Vᵀ");
            }
        }
    }

    #[test]
    fn known_matrix_and_edge_cases() {
        let b = Faer::sequential();
        // diag(1, 3, 2) padded with a zero row: σ = 3, 2, 1 with coordinate vectors.
        let a = faer::Mat::from_fn(4, 3, |i, j| if i == j { [1.0, 3.0, 2.0][i] } else { 0.0 });
        let svd = canonical(b.truncated_svd(&a, 2).unwrap());
        assert_eq!(svd.s, vec![3.0, 2.0]);
        assert_eq!(svd.u, vec![0.0, 0.0, 1.0, 0.0, 0.0, 1.0, 0.0, 0.0]);
        assert_eq!(svd.vt, vec![0.0, 1.0, 0.0, 0.0, 0.0, 1.0]);
        // f32, the wide shape, k = 0 and the zero matrix.
        let a32 = faer::Mat::from_fn(3, 6, |i, j| (i + 2 * j) as f32);
        let s32 = b.truncated_svd(&a32, 3).unwrap();
        assert_eq!((s32.u.len(), s32.vt.len()), (9, 18));
        assert_eq!(b.truncated_svd(&a32, 0).unwrap().rank, 0);
        let z = faer::Mat::<f64>::zeros(3, 4);
        let sz = b.truncated_svd(&z, 3).unwrap();
        assert!(sz.s.iter().all(|&s| s == 0.0) && sz.u.iter().all(|x| x.is_finite()));
    }

    #[test]
    fn truncated_svd_of_nmf_core_uses_faer() {
        let (b, a) = (Faer::sequential(), matrix());
        assert_eq!(
            nmf_core::svd::truncated_svd(&b, &a, 2, 0),
            b.truncated_svd(&a, 2).unwrap()
        );
    }
}
