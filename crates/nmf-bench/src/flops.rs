//! Exact flop counts of one multiplicative iteration, as `nmf_core` implements it.
//!
//! # Convention
//! One flop is one floating-point addition, subtraction, multiplication or division.
//! Comparisons and `max` (the ε lower bound, the `x/0` guard) are not counted. A product
//! `op(A)·op(B)` of shape `r×c` with inner dimension `p` is counted as `2·r·c·p` flops, the
//! GEMM convention (one multiplication and one addition per term; a product computed from
//! scratch needs `r·c·(2p − 1)`, so the convention over-counts by `1/(2p)`, 1% at `p = 50`).
//! The same counts are used for every backend and for scikit-learn, whose multiplicative
//! updates perform the same products.
//!
//! Loss evaluations are not part of an iteration (the runner evaluates the loss outside the
//! timed region).

/// Flops of one product `op(A)·op(B)` with a `rows × cols` result and inner dimension `inner`:
/// `2·rows·cols·inner`.
///
/// ```
/// assert_eq!(nmf_bench::flops::product(2, 3, 4), 48);
/// ```
pub fn product(rows: usize, cols: usize, inner: usize) -> u64 {
    2 * rows as u64 * cols as u64 * inner as u64
}

/// One Frobenius iteration (H half-step, then W half-step) on an `m×n` V at rank `k`:
///
/// | step | flops |
/// |---|---|
/// | WᵀV (k×n, inner m) | 2mnk |
/// | WᵀW (k×k, inner m) | 2mk² |
/// | (WᵀW)·H (k×n, inner k) | 2nk² |
/// | `mu_update` on H: `x·num`, `/den` | 2kn |
/// | VHᵀ (m×k, inner n) | 2mnk |
/// | HHᵀ (k×k, inner n) | 2nk² |
/// | W·(HHᵀ) (m×k, inner k) | 2mk² |
/// | `mu_update` on W | 2mk |
///
/// Total `4mnk + 4k²(m + n) + 2k(m + n)`. The two dominant products are WᵀV and VHᵀ
/// ([`frobenius_dominant`]).
///
/// ```
/// use nmf_bench::flops::frobenius_iteration;
/// assert_eq!(frobenius_iteration(2000, 2000, 50), 4 * 2000 * 2000 * 50 + 4 * 2500 * 4000 + 2 * 50 * 4000);
/// ```
pub fn frobenius_iteration(m: usize, n: usize, k: usize) -> u64 {
    let (m, n, k) = (m as u64, n as u64, k as u64);
    4 * m * n * k + 4 * k * k * (m + n) + 2 * k * (m + n)
}

/// Flops of the two dominant products of a Frobenius iteration, WᵀV and VHᵀ: `4mnk`.
pub fn frobenius_dominant(m: usize, n: usize, k: usize) -> u64 {
    product(k, n, m) + product(m, k, n)
}

/// One KL iteration on an `m×n` V with `nnz` nonzero entries, at rank `k`:
///
/// | step | flops |
/// |---|---|
/// | WH (m×n, inner k) | 2mnk |
/// | V/(WH): one division per nonzero of V (0 where V is 0, no flop) | nnz |
/// | Wᵀ(V/WH) (k×n, inner m) | 2mnk |
/// | column sums of W (k sums of m terms, from 0) | mk |
/// | `mu_update_row_den` on H: `x·num`, `/den` | 2kn |
/// | WH again, with the new H | 2mnk |
/// | V/(WH) | nnz |
/// | (V/WH)Hᵀ (m×k, inner n) | 2mnk |
/// | row sums of H (k sums of n terms, from 0) | kn |
/// | `mu_update_col_den` on W | 2mk |
///
/// Total `8mnk + 2·nnz + 3k(m + n)`. The four dominant products are the two WH, Wᵀ(V/WH)
/// and (V/WH)Hᵀ ([`kl_dominant`]).
///
/// ```
/// use nmf_bench::flops::kl_iteration;
/// assert_eq!(kl_iteration(10, 20, 3, 200), 8 * 10 * 20 * 3 + 400 + 3 * 3 * 30);
/// ```
pub fn kl_iteration(m: usize, n: usize, k: usize, nnz: usize) -> u64 {
    let (m, n, k, nnz) = (m as u64, n as u64, k as u64, nnz as u64);
    8 * m * n * k + 2 * nnz + 3 * k * (m + n)
}

/// Flops of the four dominant products of a KL iteration: `8mnk`.
pub fn kl_dominant(m: usize, n: usize, k: usize) -> u64 {
    2 * product(m, n, k) + product(k, n, m) + product(m, k, n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dominant_products_are_most_of_an_iteration() {
        let (m, n, k) = (2000, 2000, 50);
        assert_eq!(frobenius_dominant(m, n, k), 4 * 2000 * 2000 * 50);
        assert_eq!(kl_dominant(m, n, k), 8 * 2000 * 2000 * 50);
        let f = frobenius_iteration(m, n, k) as f64 / frobenius_dominant(m, n, k) as f64;
        assert!(f > 1.0 && f < 1.06, "{f}");
    }
}
