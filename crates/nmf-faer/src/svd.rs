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

    /// A 7×5 matrix with well separated singular values: 31.69, 13.76, 9.41, 5.12, 0.84
    /// (numpy), every gap above 4.
    fn matrix() -> faer::Mat<f64> {
        faer::Mat::from_fn(7, 5, |i, j| {
            ((5 * i + 4 * j) % 11) as f64 + if i == j { 1.0 } else { 0.0 }
        })
    }

    #[test]
    fn known_matrix_and_edge_cases() {
        let b = Faer::sequential();
        // diag(1, 3, 2) padded with a zero row: σ = 3, 2, 1 with coordinate vectors.
        let a = faer::Mat::from_fn(4, 3, |i, j| if i == j { [1.0, 3.0, 2.0][i] } else { 0.0 });
        let svd = b.truncated_svd(&a, 2).unwrap().with_canonical_signs();
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
