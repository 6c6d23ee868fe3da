//! Truncated SVDs for the NNDSVD initialisation ([`crate::nndsvd`]).
//!
//! - [`truncated_svd`]: the backend's own SVD
//!   ([`DataOps::data_truncated_svd`]) when it has one, else [`randomized_svd`].
//! - [`randomized_svd`]: the randomized subspace iteration of Halko, Martinsson & Tropp
//!   (2011, Algorithm 4.4 followed by Algorithm 5.1), written once for every backend and every
//!   data type: it touches V only through the products [`DataOps::x_ht`] (V·Ωᵀ) and
//!   [`DataOps::wt_x`] (Qᵀ·V), so it also works for a sparse V.
//!
//! Both panic if `k > min(m, n)`: the fitting API rejects such a rank before it gets here.
//!
//! # Accuracy of the randomized SVD
//! With l = min(k + [`OVERSAMPLES`], min(m, n)) random directions and [`POWER_ITERATIONS`]
//! power iterations:
//! - If rank(V) ≤ l, in particular whenever min(m, n) ≤ k + 10, the range of V is captured
//!   exactly and the result is the SVD of V up to rounding: singular values to within a small
//!   multiple of (m + n)·u·‖V‖₂ (u the unit roundoff of `T`), singular vectors to within that
//!   divided by the gap to the neighbouring singular values. The unit tests check this.
//! - Otherwise the result is the SVD of Q·Qᵀ·V, the projection on an l-dimensional subspace,
//!   and the error ‖V − U·diag(σ)·Vᵀ‖ exceeds the optimal σₖ₊₁ by a factor that the power
//!   iterations drive to 1 like (σₗ₊₁/σₖ)^(2q+1) (Halko et al., Corollary 10.10): on the
//!   slowly decaying spectra of real data the leading triplets are accurate to a few digits,
//!   the trailing ones less so, which is plenty for an initialisation.
//!
//! The products run in `T` on the backend; orthonormalisation and the small SVD run in `f64`.
//! The singular vectors are always orthonormal, also for zero singular values (a zero V gives
//! σ = 0 with orthonormal U and Vᵀ, which [`orthonormalize_rows`] completes from the
//! coordinate vectors). Their signs are arbitrary, as in every SVD.

use crate::{DataOps, Scalar, TruncatedSvd};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

/// Extra random directions beyond `k` (capped so that k + p ≤ min(m, n)), as in scikit-learn.
pub const OVERSAMPLES: usize = 10;

/// Power iterations of the randomized SVD, each followed by re-orthonormalisation.
pub const POWER_ITERATIONS: usize = 4;

/// Most sweeps of the one-sided Jacobi SVD; it converges quadratically and needs 5–10.
const MAX_JACOBI_SWEEPS: usize = 60;

/// The `k` leading singular triplets of V: the backend's own SVD
/// ([`DataOps::data_truncated_svd`]) if it has one, otherwise [`randomized_svd`] with `seed`.
///
/// # Panics
/// If `k > min(m, n)`.
///
/// ```
/// use nmf_core::{MatrixBackend, reference::Reference, svd::truncated_svd};
/// let v = Reference.from_row_major(2, 3, &[3.0_f64, 0.0, 0.0, 0.0, 4.0, 0.0]).unwrap();
/// let svd = truncated_svd(&Reference, &v, 1, 0);
/// assert!((svd.s[0] - 4.0).abs() < 1e-12);
/// ```
pub fn truncated_svd<T: Scalar, B: DataOps<T, V>, V>(
    backend: &B,
    v: &V,
    k: usize,
    seed: u64,
) -> TruncatedSvd<T> {
    let (m, n) = backend.data_shape(v);
    assert_rank(m, n, k);
    match backend.data_truncated_svd(v, k) {
        Some(svd) => {
            debug_assert!(
                svd.rows == m && svd.cols == n && svd.rank == k,
                "the backend's SVD has the wrong shape"
            );
            svd
        }
        None => randomized_svd(backend, v, k, seed),
    }
}

/// The `k` leading singular triplets of V by randomized subspace iteration (Halko, Martinsson &
/// Tropp 2011): a Gaussian test matrix Ω (n×l, l = min(k + [`OVERSAMPLES`], min(m, n)), drawn
/// from a ChaCha8 generator seeded with `seed`), Y = V·Ω, [`POWER_ITERATIONS`] rounds of
/// Q ← orth(V·orth(Vᵀ·Q)), then the SVD of the small l×n matrix B = Qᵀ·V (one-sided Jacobi in
/// `f64`) and U = Q·U_B. See the [module documentation](self) for its accuracy.
///
/// Only [`DataOps::x_ht`] and [`DataOps::wt_x`] touch V. The result depends only on V, `k`,
/// `seed` and the rounding of the backend's products.
///
/// # Panics
/// If `k > min(m, n)`.
///
/// ```
/// use nmf_core::{MatrixBackend, reference::Reference, svd::randomized_svd};
/// // The rank-one matrix (1, 2)ᵀ·(3, 4, 0).
/// let v = Reference.from_row_major(2, 3, &[3.0_f64, 4.0, 0.0, 6.0, 8.0, 0.0]).unwrap();
/// let svd = randomized_svd(&Reference, &v, 2, 7);
/// assert!((svd.s[0] - 5.0 * 5.0_f64.sqrt()).abs() < 1e-12);
/// assert!(svd.s[1].abs() < 1e-12);
/// ```
pub fn randomized_svd<T: Scalar, B: DataOps<T, V>, V>(
    backend: &B,
    v: &V,
    k: usize,
    seed: u64,
) -> TruncatedSvd<T> {
    let (m, n) = backend.data_shape(v);
    assert_rank(m, n, k);
    if k == 0 {
        return TruncatedSvd {
            u: Vec::new(),
            s: Vec::new(),
            vt: Vec::new(),
            rows: m,
            cols: n,
            rank: 0,
        };
    }
    let l = (k + OVERSAMPLES).min(m.min(n));
    let to_t = |x: &[f64], rows: usize, cols: usize| {
        backend.from_fn(rows, cols, |i, j| T::from_f64(x[i * cols + j]))
    };
    let to_f64 = |a: &B::Mat| -> Vec<f64> {
        backend
            .to_row_major(a)
            .into_iter()
            .map(Scalar::as_f64)
            .collect()
    };

    // Ωᵀ (l×n), drawn row by row.
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let omega: Vec<f64> = (0..l * n)
        .map(|_| StandardNormal.sample(&mut rng))
        .collect();
    let mut omega_t = to_t(&omega, l, n);

    let mut y = backend.zeros(m, l); // Y = V·Ω, m×l
    let mut b = backend.zeros(l, n); // Qᵀ·V, l×n
    // Qᵀ (l×m) in f64, rows orthonormal, from Y = V·Ω.
    let range_basis = |y: &mut B::Mat, omega_t: &B::Mat| -> Vec<f64> {
        backend.x_ht(y, v, omega_t);
        let mut qt = transpose(&to_f64(y), m, l);
        orthonormalize_rows(&mut qt, l, m);
        qt
    };
    let mut qt = range_basis(&mut y, &omega_t);
    let mut q = backend.from_fn(m, l, |i, j| T::from_f64(qt[j * m + i]));
    for _ in 0..POWER_ITERATIONS {
        // Z = Vᵀ·Q (n×l), kept as Zᵀ = Qᵀ·V (l×n) and orthonormalised row by row.
        backend.wt_x(&mut b, &q, v);
        let mut zt = to_f64(&b);
        orthonormalize_rows(&mut zt, l, n);
        omega_t = to_t(&zt, l, n);
        qt = range_basis(&mut y, &omega_t);
        q = backend.from_fn(m, l, |i, j| T::from_f64(qt[j * m + i]));
    }

    // B = Qᵀ·V = U_B·diag(σ)·V_Bᵀ, then U = Q·U_B.
    backend.wt_x(&mut b, &q, v);
    let small = jacobi_svd(to_f64(&b), l, n);
    let mut u = vec![T::zero(); m * k];
    for (i, row) in u.chunks_exact_mut(k).enumerate() {
        for (c, out) in row.iter_mut().enumerate() {
            let dot: f64 = (0..l).map(|j| qt[j * m + i] * small.u[j * l + c]).sum();
            *out = T::from_f64(dot);
        }
    }
    TruncatedSvd {
        u,
        s: small.s[..k].iter().map(|&x| T::from_f64(x)).collect(),
        vt: small.vt[..k * n].iter().map(|&x| T::from_f64(x)).collect(),
        rows: m,
        cols: n,
        rank: k,
    }
}

fn assert_rank(m: usize, n: usize, k: usize) {
    assert!(
        k <= m.min(n),
        "a truncated SVD of rank {k} needs k ≤ min(m, n) = {} for a {m}×{n} matrix",
        m.min(n)
    );
}

/// The transpose of a row-major `rows × cols` matrix.
fn transpose(a: &[f64], rows: usize, cols: usize) -> Vec<f64> {
    let mut t = vec![0.0; a.len()];
    for (i, row) in a.chunks_exact(cols.max(1)).enumerate().take(rows) {
        for (j, &x) in row.iter().enumerate() {
            t[j * rows + i] = x;
        }
    }
    t
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn norm(a: &[f64]) -> f64 {
    dot(a, a).sqrt()
}

/// Multiplies `a` by the power of two that brings its largest magnitude into [1, 2), so that
/// squares neither overflow nor underflow; exact, and a no-op on a zero vector.
fn rescale(a: &mut [f64]) {
    let amax = a.iter().fold(0.0_f64, |s, x| s.max(x.abs()));
    if amax > 0.0 && amax.is_finite() {
        let scale = 2.0_f64.powi(-(amax.log2().floor() as i32));
        a.iter_mut().for_each(|x| *x *= scale);
    }
}

/// `x ← x − Σ_p (q_p·x)·q_p` over the orthonormal rows `q_p` of `prev` (one modified
/// Gram–Schmidt pass: each coefficient is taken from the updated `x`).
fn project_out(prev: &[f64], cols: usize, x: &mut [f64]) {
    for q in prev.chunks_exact(cols) {
        let c = dot(q, x);
        x.iter_mut().zip(q).for_each(|(x, q)| *x -= c * q);
    }
}

/// Makes the rows of a row-major `rows × cols` matrix (`rows ≤ cols`) orthonormal, in order:
/// row i becomes the normalised part of row i orthogonal to rows 0..i, by modified Gram–Schmidt
/// applied twice ("twice is enough", Kahan–Parlett).
///
/// A row that is zero, or numerically in the span of the previous ones (the second pass
/// removes more than half of what the first left), is replaced by the coordinate vector
/// e_j least represented in that span (j maximising 1 − Σ_p q_pj², which is ≥ (cols − i)/cols),
/// orthonormalised the same way. So the result always has orthonormal rows, whatever the input.
///
/// # Panics
/// If `rows > cols` or `a.len() != rows * cols`.
pub fn orthonormalize_rows(a: &mut [f64], rows: usize, cols: usize) {
    assert!(
        rows <= cols,
        "{rows} orthonormal rows need at least as many columns"
    );
    assert_eq!(a.len(), rows * cols, "orthonormalize_rows: wrong length");
    for i in 0..rows {
        let (prev, rest) = a.split_at_mut(i * cols);
        let x = &mut rest[..cols];
        rescale(x);
        project_out(prev, cols, x);
        let n1 = norm(x);
        project_out(prev, cols, x);
        let n2 = norm(x);
        if n2 > 0.5 * n1 && n2.is_finite() {
            x.iter_mut().for_each(|x| *x /= n2);
        } else {
            complete(prev, cols, x);
        }
    }
}

/// Overwrites `x` with a unit vector orthogonal to the orthonormal rows of `prev`
/// (fewer than `cols` of them): the coordinate vector least represented in their span,
/// orthogonalised twice.
fn complete(prev: &[f64], cols: usize, x: &mut [f64]) {
    let mut weight = vec![0.0; cols];
    for q in prev.chunks_exact(cols) {
        weight.iter_mut().zip(q).for_each(|(w, q)| *w += q * q);
    }
    // Σ_j weight_j = number of rows < cols, so the smallest weight is < 1.
    let j = (0..cols)
        .min_by(|&a, &b| weight[a].total_cmp(&weight[b]))
        .expect("at least one column");
    x.fill(0.0);
    x[j] = 1.0;
    project_out(prev, cols, x);
    project_out(prev, cols, x);
    let nx = norm(x);
    x.iter_mut().for_each(|x| *x /= nx);
}

/// The SVD `B = U·diag(s)·Vt` of a small matrix, all row-major `f64`.
#[derive(Debug, Clone, PartialEq)]
struct SmallSvd {
    /// l×l, orthogonal.
    u: Vec<f64>,
    /// l values, non-increasing.
    s: Vec<f64>,
    /// l×n, orthonormal rows.
    vt: Vec<f64>,
}

/// The SVD of a row-major l×n matrix B (l ≤ n) by one-sided Jacobi (Hestenes) on its rows.
///
/// Each rotation G acts on a pair of rows (p, q) and makes them orthogonal: B ← G·B, and the
/// accumulated U ← U·Gᵀ keeps B_input = U·B. Sweeps over all pairs repeat until no pair has
/// |b_p·b_q| > tol·‖b_p‖·‖b_q‖ (tol = √n·ε, the rounding level of the dot product). Then the
/// rows of B are σ_i·v_iᵀ: σ_i is the row norm, v_i the normalised row, in non-increasing order
/// of σ. Rows with σ_i = 0, or at the rounding level n·ε·σ_max (noise left by a rank-deficient
/// B), get σ_i = 0 and orthonormal completions (see [`orthonormalize_rows`]). One-sided
/// Jacobi computes small singular values to high relative accuracy (Demmel & Veselić 1992),
/// unlike the eigenvalues of B·Bᵀ.
fn jacobi_svd(mut b: Vec<f64>, l: usize, n: usize) -> SmallSvd {
    assert!(l <= n && b.len() == l * n);
    // An exact power-of-two scaling keeps the squared norms in range.
    let amax = b.iter().fold(0.0_f64, |s, x| s.max(x.abs()));
    let scale = if amax > 0.0 && amax.is_finite() {
        2.0_f64.powi(-(amax.log2().floor() as i32))
    } else {
        1.0
    };
    b.iter_mut().for_each(|x| *x *= scale);

    let mut u = vec![0.0; l * l];
    (0..l).for_each(|i| u[i * l + i] = 1.0);
    let tol = f64::EPSILON * (n as f64).sqrt().max(1.0);
    for _ in 0..MAX_JACOBI_SWEEPS {
        let mut rotated = false;
        for p in 0..l {
            for q in p + 1..l {
                let (head, tail) = b.split_at_mut(q * n);
                let (bp, bq) = (&mut head[p * n..(p + 1) * n], &mut tail[..n]);
                let (alpha, beta, gamma) = (dot(bp, bp), dot(bq, bq), dot(bp, bq));
                if gamma == 0.0 || gamma.abs() <= tol * alpha.sqrt() * beta.sqrt() {
                    continue;
                }
                rotated = true;
                // The smaller root t of t² + 2ζt − 1 = 0 makes the rotated rows orthogonal.
                let zeta = (beta - alpha) / (2.0 * gamma);
                let t = zeta.signum() / (zeta.abs() + (1.0 + zeta * zeta).sqrt());
                let c = 1.0 / (1.0 + t * t).sqrt();
                let s = c * t;
                rotate(bp, bq, c, s);
                // Columns p and q of U: U ← U·Gᵀ.
                for row in u.chunks_exact_mut(l) {
                    let (up, uq) = (row[p], row[q]);
                    row[p] = c * up - s * uq;
                    row[q] = s * up + c * uq;
                }
            }
        }
        if !rotated {
            break;
        }
    }

    // Rows at the rounding level of B (a rank-deficient B leaves rows of noise, as small as
    // 1e-157 after the power iterations) are zero: their squares underflow, so neither their
    // norms nor their directions can be resolved, and their σ is below B's own rounding error
    // (ε·‖B‖ per entry) anyway. They get σ = 0 and an orthonormal completion.
    let mut norms: Vec<f64> = b.chunks_exact(n).map(norm).collect();
    let floor = f64::EPSILON * (n as f64) * norms.iter().fold(0.0_f64, |a, &x| a.max(x));
    norms
        .iter_mut()
        .filter(|x| **x <= floor)
        .for_each(|x| *x = 0.0);
    let mut order: Vec<usize> = (0..l).collect();
    order.sort_by(|&a, &c| norms[c].total_cmp(&norms[a]));
    let mut vt = vec![0.0; l * n];
    let mut su = vec![0.0; l * l];
    let mut s = vec![0.0; l];
    for (dst, &src) in order.iter().enumerate() {
        s[dst] = norms[src] / scale;
        for r in 0..l {
            su[r * l + dst] = u[r * l + src];
        }
        let (prev, rest) = vt.split_at_mut(dst * n);
        let row = &mut rest[..n];
        if norms[src] > 0.0 {
            row.iter_mut()
                .zip(&b[src * n..(src + 1) * n])
                .for_each(|(v, x)| *v = x / norms[src]);
        } else {
            complete(prev, n, row);
        }
    }
    SmallSvd { u: su, s, vt }
}

/// `(x, y) ← (c·x − s·y, s·x + c·y)`.
fn rotate(x: &mut [f64], y: &mut [f64], c: f64, s: f64) {
    for (x, y) in x.iter_mut().zip(y.iter_mut()) {
        let (a, b) = (*x, *y);
        *x = c * a - s * b;
        *y = s * a + c * b;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MatrixBackend;
    use crate::reference::Reference;

    const U64: f64 = f64::EPSILON / 2.0;

    /// Column j < r of the orthonormal DCT-II basis of ℝᵐ, an exactly known orthonormal set.
    fn dct(m: usize, j: usize) -> Vec<f64> {
        let scale = if j == 0 {
            (1.0 / m as f64).sqrt()
        } else {
            (2.0 / m as f64).sqrt()
        };
        (0..m)
            .map(|i| scale * (core::f64::consts::PI * (i as f64 + 0.5) * j as f64 / m as f64).cos())
            .collect()
    }

    /// Row-major m×n matrix Σ_j σ_j·u_j·v_jᵀ with DCT singular vectors (the v_j in reverse
    /// order of frequency, so that U and V differ).
    fn low_rank(m: usize, n: usize, sigma: &[f64]) -> Vec<f64> {
        let mut a = vec![0.0; m * n];
        for (j, &s) in sigma.iter().enumerate() {
            let (u, v) = (dct(m, j), dct(n, n - 1 - j));
            for i in 0..m {
                for c in 0..n {
                    a[i * n + c] += s * u[i] * v[c];
                }
            }
        }
        a
    }

    fn max_abs_diff(a: &[f64], b: &[f64]) -> f64 {
        assert_eq!(a.len(), b.len());
        a.iter().zip(b).fold(0.0, |s, (x, y)| s.max((x - y).abs()))
    }

    /// max |QᵀQ − I| for the `k` columns of a row-major `rows × k` matrix.
    fn orthonormality_error_cols(q: &[f64], rows: usize, k: usize) -> f64 {
        let mut err = 0.0_f64;
        for a in 0..k {
            for b in 0..k {
                let d: f64 = (0..rows).map(|i| q[i * k + a] * q[i * k + b]).sum();
                err = err.max((d - if a == b { 1.0 } else { 0.0 }).abs());
            }
        }
        err
    }

    fn orthonormality_error_rows(q: &[f64], k: usize, cols: usize) -> f64 {
        orthonormality_error_cols(&transpose(q, k, cols), cols, k)
    }

    fn reconstruct(svd: &TruncatedSvd<f64>) -> Vec<f64> {
        let (m, n, k) = (svd.rows, svd.cols, svd.rank);
        let mut a = vec![0.0; m * n];
        for i in 0..m {
            for c in 0..n {
                a[i * n + c] = (0..k)
                    .map(|j| svd.u[i * k + j] * svd.s[j] * svd.vt[j * n + c])
                    .sum();
            }
        }
        a
    }

    /// Checks the randomized SVD of an exactly known matrix against its σ, its
    /// reconstruction and the orthonormality of the vectors, to `c·(m + n)·u·σ_max`.
    fn check_exact(m: usize, n: usize, sigma: &[f64], k: usize) {
        let a = low_rank(m, n, sigma);
        let v = Reference.from_row_major(m, n, &a).unwrap();
        let svd = randomized_svd(&Reference, &v, k, 11);
        assert_eq!((svd.rows, svd.cols, svd.rank), (m, n, k));
        assert_eq!((svd.u.len(), svd.s.len(), svd.vt.len()), (m * k, k, k * n));
        // Rounding of the products (n or m terms each) and of the O(l) Gram–Schmidt and
        // Jacobi steps, with a safety factor of 16.
        let smax = sigma.iter().fold(0.0_f64, |s, &x| s.max(x));
        let tol = 16.0 * (m + n) as f64 * U64 * smax.max(1.0);
        let mut expected: Vec<f64> = sigma.to_vec();
        expected.resize(m.min(n), 0.0);
        expected.sort_by(|a, b| b.total_cmp(a));
        assert!(
            max_abs_diff(&svd.s, &expected[..k]) <= tol,
            "{m}×{n} k = {k}: σ = {:?}, expected {:?}",
            svd.s,
            &expected[..k]
        );
        assert!(svd.s.windows(2).all(|w| w[0] >= w[1]), "σ non-increasing");
        // The best rank-k approximation is known (the spectrum has gaps ≥ 1, so the vectors
        // are as accurate as the values up to a factor σ_max/gap ≤ 5).
        let best = low_rank(m, n, &sigma[..k.min(sigma.len())]);
        let err = max_abs_diff(&reconstruct(&svd), &best);
        assert!(
            err <= 5.0 * tol,
            "{m}×{n} k = {k}: reconstruction error {err:e} > 5·{tol:e}"
        );
        let unit_tol = 16.0 * (m + n) as f64 * U64;
        let eu = orthonormality_error_cols(&svd.u, m, k);
        let ev = orthonormality_error_rows(&svd.vt, k, n);
        assert!(
            eu <= unit_tol && ev <= unit_tol,
            "orthonormality {eu:e} {ev:e}"
        );
    }

    #[test]
    fn exact_rank_matrices_are_reproduced() {
        let sigma = [5.0, 3.0, 2.0, 0.5];
        // k = rank, k < rank, k = min(m, n) beyond the rank; m < n and m > n.
        for &(m, n) in &[(8, 6), (6, 8), (7, 7), (4, 9), (9, 4)] {
            for k in [1, 2, 4, m.min(n)] {
                check_exact(m, n, &sigma, k);
            }
        }
    }

    #[test]
    fn larger_matrix_where_l_is_below_min_dimension() {
        // l = k + 10 = 13 < 30: the range of the rank-5 matrix is still captured exactly.
        check_exact(40, 30, &[9.0, 7.0, 4.0, 2.0, 1.0], 3);
        check_exact(30, 40, &[9.0, 7.0, 4.0, 2.0, 1.0], 5);
    }

    #[test]
    fn full_rank_matrix_is_nearly_optimal() {
        // σ_j = 0.8^j on 60×50: k = 4 sees σ₅/σ₄ = 0.8, a slowly decaying spectrum, and
        // l = 14. The error of the rank-4 approximation must be close to the optimal
        // ‖V − V₄‖_F = √(Σ_{j≥4} σ_j²).
        let sigma: Vec<f64> = (0..50).map(|j| 0.8_f64.powi(j)).collect();
        let (m, n, k) = (60, 50, 4);
        let a = low_rank(m, n, &sigma);
        let v = Reference.from_row_major(m, n, &a).unwrap();
        let svd = randomized_svd(&Reference, &v, k, 3);
        let err = reconstruct(&svd)
            .iter()
            .zip(&a)
            .map(|(x, y)| (x - y) * (x - y))
            .sum::<f64>()
            .sqrt();
        let best = sigma[k..].iter().map(|s| s * s).sum::<f64>().sqrt();
        assert!(err <= 1.001 * best, "error {err} vs optimal {best}");
        assert!(max_abs_diff(&svd.s, &sigma[..k]) < 1e-6, "σ = {:?}", svd.s);
    }

    #[test]
    fn zero_matrix_gives_zero_values_and_orthonormal_vectors() {
        for &(m, n) in &[(5, 3), (3, 5), (4, 4)] {
            let v = Reference.zeros(m, n);
            let k = m.min(n);
            let svd: TruncatedSvd<f64> = randomized_svd(&Reference, &v, k, 0);
            assert!(svd.s.iter().all(|&s| s == 0.0));
            assert!(svd.u.iter().chain(&svd.vt).all(|x| x.is_finite()));
            assert!(orthonormality_error_cols(&svd.u, m, k) < 1e-15);
            assert!(orthonormality_error_rows(&svd.vt, k, n) < 1e-15);
        }
    }

    #[test]
    fn rank_zero_and_empty() {
        let v = Reference.from_row_major(2, 3, &[1.0_f64; 6]).unwrap();
        let svd = randomized_svd(&Reference, &v, 0, 0);
        assert_eq!((svd.rank, svd.u.len(), svd.vt.len()), (0, 0, 0));
        let e: <Reference as MatrixBackend<f64>>::Mat = Reference.zeros(0, 3);
        assert_eq!(randomized_svd(&Reference, &e, 0, 0).rows, 0);
    }

    #[test]
    #[should_panic(expected = "needs k ≤ min(m, n)")]
    fn rank_above_min_dimension_panics() {
        let v = Reference.from_row_major(2, 3, &[1.0_f64; 6]).unwrap();
        randomized_svd(&Reference, &v, 3, 0);
    }

    #[test]
    fn tiny_and_huge_scales() {
        for scale in [1e-200, 1e200] {
            let sigma = [3.0 * scale, 1.0 * scale];
            let a = low_rank(5, 4, &sigma);
            let v = Reference.from_row_major(5, 4, &a).unwrap();
            let svd = randomized_svd(&Reference, &v, 2, 1);
            for (s, e) in svd.s.iter().zip(&sigma) {
                assert!(((s - e) / e).abs() < 1e-13, "{s:e} vs {e:e}");
            }
        }
    }

    #[test]
    fn f32_data() {
        let sigma = [4.0, 2.0, 1.0];
        let a = low_rank(7, 5, &sigma);
        let a32: Vec<f32> = a.iter().map(|&x| x as f32).collect();
        let v = Reference.from_row_major(7, 5, &a32).unwrap();
        let svd = randomized_svd(&Reference, &v, 3, 5);
        let tol = 16.0 * 12.0 * f64::from(f32::EPSILON) / 2.0 * 4.0;
        for (s, e) in svd.s.iter().zip(&sigma) {
            assert!((f64::from(*s) - e).abs() <= tol, "{s} vs {e}");
        }
    }

    #[test]
    fn deterministic_and_dispatches_to_randomized_without_backend_svd() {
        let a = low_rank(6, 5, &[3.0, 2.0, 1.0]);
        let v = Reference.from_row_major(6, 5, &a).unwrap();
        let r = randomized_svd(&Reference, &v, 2, 9);
        assert_eq!(r, randomized_svd(&Reference, &v, 2, 9));
        assert_eq!(r, truncated_svd(&Reference, &v, 2, 9));
    }

    #[test]
    fn orthonormalize_handles_dependent_and_zero_rows() {
        // Rows: a vector, the same vector, zero, a combination, e_0.
        let mut a = vec![
            1.0, 2.0, 0.0, 1.0, 0.0, //
            1.0, 2.0, 0.0, 1.0, 0.0, //
            0.0, 0.0, 0.0, 0.0, 0.0, //
            2.0, 4.0, 0.0, 2.0, 0.0, //
            1.0, 0.0, 0.0, 0.0, 0.0,
        ];
        orthonormalize_rows(&mut a, 5, 5);
        assert!(orthonormality_error_rows(&a, 5, 5) < 1e-15);
        // The first row keeps its direction.
        let r = 6.0_f64.sqrt();
        assert!(max_abs_diff(&a[..5], &[1.0 / r, 2.0 / r, 0.0, 1.0 / r, 0.0]) < 1e-16);
    }

    #[test]
    fn jacobi_on_known_matrices() {
        // Rows already orthogonal, in increasing order of norm.
        let svd = jacobi_svd(vec![3.0, 0.0, 0.0, 0.0, 4.0, 0.0], 2, 3);
        assert_eq!(svd.s, vec![4.0, 3.0]);
        assert_eq!(svd.vt, vec![0.0, 1.0, 0.0, 1.0, 0.0, 0.0]);
        assert_eq!(svd.u, vec![0.0, 1.0, 1.0, 0.0]);
        // [[1, 1], [0, 1]]: σ = (√5 ± 1)/2.
        let b = vec![1.0, 1.0, 0.0, 1.0];
        let svd = jacobi_svd(b.clone(), 2, 2);
        let phi = (5.0_f64.sqrt() + 1.0) / 2.0;
        assert!(max_abs_diff(&svd.s, &[phi, phi - 1.0]) < 4.0 * U64 * phi);
        let mut rec = vec![0.0; 4];
        for i in 0..2 {
            for c in 0..2 {
                rec[i * 2 + c] = (0..2)
                    .map(|j| svd.u[i * 2 + j] * svd.s[j] * svd.vt[j * 2 + c])
                    .sum();
            }
        }
        assert!(max_abs_diff(&rec, &b) < 8.0 * U64);
        assert!(orthonormality_error_cols(&svd.u, 2, 2) < 4.0 * U64);
        assert!(orthonormality_error_rows(&svd.vt, 2, 2) < 4.0 * U64);
        // A zero row gets a completed singular vector.
        let svd = jacobi_svd(vec![0.0, 0.0, 0.0, 1.0, 1.0, 0.0], 2, 3);
        assert_eq!(svd.s[1], 0.0);
        assert!(orthonormality_error_rows(&svd.vt, 2, 3) < 4.0 * U64);
    }
}
