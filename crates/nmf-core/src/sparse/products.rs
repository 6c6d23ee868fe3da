//! The products a half-step needs from a sparse V, at O(nnz·k): X·B, and the KL statistic
//! Σ_j (v_ij/(WH)_ij)·b_j fused with WH sampled at the stored entries.
//!
//! Dense factors are read as rows of k contiguous entries: W as m×k row-major and H as Hᵀ
//! (n×k row-major, that is H column-major). Each kernel computes the output rows of a range
//! of X's rows, each row by one sequence of operations in a fixed order, so splitting the rows
//! among threads (see [`row_blocks`]) gives bit-identical results whatever the split.
//!
//! For V m×n in CSR and its transpose Vᵀ in CSR (V's columns, compressed):
//! - Frobenius, H half-step: `(WᵀV)ᵀ = Vᵀ·W`, [`spmm_rows`] on Vᵀ with B = W;
//!   W half-step: `V·Hᵀ`, [`spmm_rows`] on V with B = Hᵀ.
//! - KL, H half-step: `(Wᵀ(V/WH))ᵀ`, [`kl_rows`] on Vᵀ with A = Hᵀ and B = W;
//!   W half-step: `(V/WH)·Hᵀ`, [`kl_rows`] on V with A = W and B = Hᵀ. The ratio is formed at
//!   the stored entries only (it is 0 where V is) and never stored.

use core::ops::Range;

use multiversion::multiversion;

use super::CsrRef;
use super::pass::{PerRow, par_blocks};
use crate::kernels::kl_ratio;
use crate::{Accum, Scalar};

/// Splits the rows of `x` into at most `parts` consecutive ranges with about the same number of
/// stored entries plus rows (a row costs its entries and its output), for spreading a kernel
/// over threads. Every row is in exactly one range; empty ranges are not returned.
///
/// ```
/// use nmf_core::sparse::{CsrRef, row_blocks};
/// let x = CsrRef::new(4, 2, &[0, 2, 2, 3, 4], &[0, 1, 0, 1], &[1.0_f64; 4]).unwrap();
/// let blocks = row_blocks(x, 2);
/// assert_eq!(blocks.first().unwrap().start, 0);
/// assert_eq!(blocks.last().unwrap().end, 4);
/// ```
pub fn row_blocks<T>(x: CsrRef<'_, T>, parts: usize) -> Vec<Range<usize>> {
    let m = x.nrows();
    let parts = parts.clamp(1, m.max(1));
    let total = x.nnz() + m;
    let mut out = Vec::with_capacity(parts);
    let mut start = 0;
    for part in 1..=parts {
        let target = total * part / parts;
        let mut end = start;
        while end < m && x.indptr()[end] + end < target {
            end += 1;
        }
        if part == parts {
            end = m;
        }
        if end > start {
            out.push(start..end);
            start = end;
        }
    }
    out
}

/// `y += α·x`, inlined into the kernels below, which are compiled once per instruction set
/// (`multiversion`): one dispatch per call of a kernel, not one per stored entry (k is small,
/// and an indirect call per entry cost as much as the entry's arithmetic).
#[inline(always)]
fn axpy<T: Scalar>(y: &mut [T], alpha: T, x: &[T]) {
    for (y, &x) in y.iter_mut().zip(x) {
        *y += alpha * x;
    }
}

#[inline(always)]
fn dot<T: Scalar>(a: &[T], b: &[T]) -> T {
    let mut s = T::zero();
    for (&a, &b) in a.iter().zip(b) {
        s += a * b;
    }
    s
}

fn check_shapes<T>(x: CsrRef<'_, T>, rows: &Range<usize>, b: &[T], k: usize, out: &[T]) {
    assert!(rows.end <= x.nrows(), "row range beyond the matrix");
    assert_eq!(b.len(), x.ncols() * k, "B must be ncols×k row-major");
    assert_eq!(out.len(), rows.len() * k, "out must be (rows)×k row-major");
}

/// Rows `rows` of X·B (B ncols×k row-major) into `out` ((rows.len())×k row-major): for each
/// row i, `out_i = Σ_p x_p·B_(j_p)` over its stored entries in order, replacing or adding to
/// `out` ([`Accum`]). O(k·nnz of the rows).
///
/// # Panics
/// If the range is beyond X or the lengths of `b` and `out` do not match the shapes.
///
/// ```
/// use nmf_core::{Accum, sparse::{CsrRef, spmm_rows}};
/// // X = [[1, 0, 2], [0, 0, 3]], B = [[1, 10], [2, 20], [3, 30]]
/// let x = CsrRef::new(2, 3, &[0, 2, 3], &[0, 2, 2], &[1.0_f64, 2.0, 3.0]).unwrap();
/// let b = [1.0, 10.0, 2.0, 20.0, 3.0, 30.0];
/// let mut out = [f64::NAN; 4];
/// spmm_rows(x, 0..2, &b, 2, &mut out, Accum::Replace);
/// assert_eq!(out, [7.0, 70.0, 9.0, 90.0]);
/// ```
pub fn spmm_rows<T: Scalar>(
    x: CsrRef<'_, T>,
    rows: Range<usize>,
    b: &[T],
    k: usize,
    out: &mut [T],
    accum: Accum,
) {
    check_shapes(x, &rows, b, k, out);
    if k == 0 {
        return;
    }
    spmm_kernel(x, rows, b, k, out, accum == Accum::Replace);
}

#[multiversion(targets("x86_64+avx512f+avx512vl+avx512dq+avx512bw", "x86_64+avx2+fma"))]
fn spmm_kernel<T: Scalar>(
    x: CsrRef<'_, T>,
    rows: Range<usize>,
    b: &[T],
    k: usize,
    out: &mut [T],
    replace: bool,
) {
    for (i, o) in rows.zip(out.chunks_exact_mut(k)) {
        if replace {
            o.fill(T::zero());
        }
        let (cols, vals) = x.row(i);
        for (&j, &v) in cols.iter().zip(vals) {
            axpy(o, v, &b[j * k..(j + 1) * k]);
        }
    }
}

/// Rows `rows` of the KL statistic `R·B` with `R = V/(A·Bᵀ)` at the stored entries of X = V
/// (0 elsewhere): for each row i, `out_i = Σ_p kl_ratio(x_p, A_i·B_(j_p))·B_(j_p)`, with the
/// sampled product `A_i·B_j = Σ_a A_ia·B_ja` summed in the order a = 0, 1, …, k−1 and
/// [`kl_ratio`] as in the dense kernels. A is nrows×k and B ncols×k, both row-major. The ratio
/// is never stored. O(2k·nnz of the rows).
///
/// # Panics
/// If the range is beyond X or a length does not match the shapes.
///
/// ```
/// use nmf_core::sparse::{CsrRef, kl_rows};
/// // V = [[2, 0], [0, 4]], W = [[1], [2]], H = [[1, 1]]: WH = [[1, 1], [2, 2]].
/// let v = CsrRef::new(2, 2, &[0, 1, 2], &[0, 1], &[2.0_f64, 4.0]).unwrap();
/// let (w, ht) = ([1.0, 2.0], [1.0, 1.0]);
/// let mut out = [0.0; 2];
/// kl_rows(v, 0..2, &w, &ht, 1, &mut out); // (V/WH)·Hᵀ
/// assert_eq!(out, [2.0, 2.0]);
/// ```
pub fn kl_rows<T: Scalar>(
    x: CsrRef<'_, T>,
    rows: Range<usize>,
    a: &[T],
    b: &[T],
    k: usize,
    out: &mut [T],
) {
    check_shapes(x, &rows, b, k, out);
    assert_eq!(a.len(), x.nrows() * k, "A must be nrows×k row-major");
    if k == 0 {
        return;
    }
    kl_kernel(x, rows, a, b, k, out);
}

#[multiversion(targets("x86_64+avx512f+avx512vl+avx512dq+avx512bw", "x86_64+avx2+fma"))]
fn kl_kernel<T: Scalar>(
    x: CsrRef<'_, T>,
    rows: Range<usize>,
    a: &[T],
    b: &[T],
    k: usize,
    out: &mut [T],
) {
    for (i, o) in rows.zip(out.chunks_exact_mut(k)) {
        o.fill(T::zero());
        let ai = &a[i * k..(i + 1) * k];
        let (cols, vals) = x.row(i);
        for (&j, &v) in cols.iter().zip(vals) {
            let bj = &b[j * k..(j + 1) * k];
            let r = kl_ratio(v, dot(ai, bj));
            axpy(o, r, bj);
        }
    }
}

/// All the rows of X·B (B ncols×k row-major) into `out` (nrows×k row-major), spread over
/// rayon's current pool by `blocks` (consecutive ranges covering X's rows, as
/// [`row_blocks`] makes them): the pass the sparse data term runs for VHᵀ (on V) and for
/// (WᵀV)ᵀ (on Vᵀ), with the same bits whatever the blocks and threads. Nothing is allocated.
///
/// # Panics
/// If the lengths of `b` and `out` do not match the shapes.
///
/// ```
/// use nmf_core::sparse::{CsrRef, row_blocks, spmm_par};
/// let x = CsrRef::new(2, 3, &[0, 2, 3], &[0, 2, 2], &[1.0_f64, 2.0, 3.0]).unwrap();
/// let b = [1.0, 10.0, 2.0, 20.0, 3.0, 30.0];
/// let mut out = [0.0; 4];
/// spmm_par(x, &row_blocks(x, 2), &b, 2, &mut out);
/// assert_eq!(out, [7.0, 70.0, 9.0, 90.0]);
/// ```
pub fn spmm_par<T: Scalar>(
    x: CsrRef<'_, T>,
    blocks: &[Range<usize>],
    b: &[T],
    k: usize,
    out: &mut [T],
) {
    assert_eq!(out.len(), x.nrows() * k, "out must be nrows×k row-major");
    par_blocks(blocks, PerRow(out, k), &|r, PerRow(o, _)| {
        spmm_rows(x, r, b, k, o, Accum::Replace)
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sparse::csr::csr_of_dense as csr_of;
    use crate::sparse::{Csr, Duplicates};
    use proptest::prelude::*;

    /// A random sparse matrix with empty rows and columns, and its dense copy.
    fn sparse_case() -> impl Strategy<Value = (usize, usize, Vec<f64>)> {
        (1usize..9, 1usize..9).prop_flat_map(|(m, n)| {
            let cell = prop_oneof![3 => Just(0.0), 1 => 0.0f64..10.0, 1 => 1e-20f64..1e-10];
            (Just(m), Just(n), prop::collection::vec(cell, m * n))
        })
    }

    proptest! {
        /// `spmm_rows` over any split of the rows equals the dense product within the rounding
        /// of a sum of at most n non-negative products: |error| ≤ γ_n·Σ_j x_ij·b_ja with
        /// γ_n = n·u/(1 − n·u) ≤ 1.01·n·u; and the split does not change a bit.
        #[test]
        fn spmm_matches_dense((m, n, d) in sparse_case(), k in 1usize..5, parts in 1usize..5, seed in 0u64..1000) {
            let x = csr_of(m, n, &d);
            let b: Vec<f64> = (0..n * k).map(|t| ((t as u64 * 7 + seed) % 11) as f64 / 3.0).collect();
            let mut whole = vec![f64::NAN; m * k];
            spmm_rows(x.view(), 0..m, &b, k, &mut whole, Accum::Replace);
            let mut split = vec![f64::NAN; m * k];
            for r in row_blocks(x.view(), parts) {
                let (s, e) = (r.start * k, r.end * k);
                spmm_rows(x.view(), r, &b, k, &mut split[s..e], Accum::Replace);
            }
            prop_assert_eq!(whole.iter().map(|x| x.to_bits()).collect::<Vec<_>>(), split.iter().map(|x| x.to_bits()).collect::<Vec<_>>());
            for i in 0..m {
                for a in 0..k {
                    let exact: f64 = (0..n).map(|j| d[i * n + j] * b[j * k + a]).sum();
                    let size: f64 = (0..n).map(|j| (d[i * n + j] * b[j * k + a]).abs()).sum();
                    let tol = 1.01 * n as f64 * f64::EPSILON / 2.0 * size * 2.0;
                    prop_assert!((whole[i * k + a] - exact).abs() <= tol, "({i},{a}) {} vs {exact}", whole[i * k + a]);
                }
            }
            // Accumulate adds to what is there.
            let mut acc = vec![1.0; m * k];
            spmm_rows(x.view(), 0..m, &b, k, &mut acc, Accum::Add);
            for t in 0..m * k {
                prop_assert!((acc[t] - 1.0 - whole[t]).abs() <= 4.0 * f64::EPSILON * (1.0 + whole[t]));
            }
        }

        /// `kl_rows` equals the dense (V/WH)·Hᵀ, within the rounding of the sampled product
        /// (k terms: relative γ_k in each ratio) and of the n-term sum (γ_n), so within
        /// (k + n + 2)·u·1.01 of Σ_j (v_ij/wh_ij)·h_ja.
        #[test]
        fn kl_matches_dense((m, n, d) in sparse_case(), k in 1usize..5, seed in 0u64..1000) {
            let x = csr_of(m, n, &d);
            let w: Vec<f64> = (0..m * k).map(|t| 0.1 + ((t as u64 * 5 + seed) % 13) as f64 / 4.0).collect();
            let ht: Vec<f64> = (0..n * k).map(|t| 0.1 + ((t as u64 * 3 + seed) % 7) as f64 / 2.0).collect();
            let mut out = vec![f64::NAN; m * k];
            kl_rows(x.view(), 0..m, &w, &ht, k, &mut out);
            for i in 0..m {
                for a in 0..k {
                    let mut exact = 0.0;
                    for j in 0..n {
                        let wh: f64 = (0..k).map(|c| w[i * k + c] * ht[j * k + c]).sum();
                        exact += d[i * n + j] / wh * ht[j * k + a];
                    }
                    let tol = 1.01 * (k + n + 2) as f64 * f64::EPSILON / 2.0 * exact * 2.0;
                    prop_assert!((out[i * k + a] - exact).abs() <= tol, "({i},{a}) {} vs {exact}", out[i * k + a]);
                }
            }
        }
    }

    #[test]
    fn row_blocks_cover_every_row_once() {
        let x = Csr::from_triplets(
            6,
            3,
            &[0, 0, 0, 3, 5],
            &[0, 1, 2, 0, 2],
            &[1.0f64; 5],
            Duplicates::Sum,
        )
        .unwrap();
        for parts in 1..9 {
            let blocks = row_blocks(x.view(), parts);
            assert!(blocks.len() <= parts);
            let mut next = 0;
            for b in &blocks {
                assert_eq!(b.start, next);
                assert!(b.end > b.start);
                next = b.end;
            }
            assert_eq!(next, 6);
        }
    }
}
