//! Losses of a sparse V without forming WH: O(nnz·k + (m+n)·k²) time, no m×n buffer, in `f64`.
//!
//! The products at the stored entries, `(WH)_ij = Σ_a w_ia·h_aj`, are formed in `f64` from the
//! factors' entries (exact products for `f32` factors), summed in the order a = 0, …, k−1.

use super::CsrRef;
use crate::Scalar;
use crate::kernels::F64Sum;

#[inline(always)]
fn dot64<T: Scalar>(a: &[T], b: &[T]) -> f64 {
    let mut s = 0.0;
    for (&a, &b) in a.iter().zip(b) {
        s += a.as_f64() * b.as_f64();
    }
    s
}

fn check<T>(x: CsrRef<'_, T>, w: &[T], ht: &[T], k: usize) {
    assert_eq!(w.len(), x.nrows() * k, "W must be m×k row-major");
    assert_eq!(ht.len(), x.ncols() * k, "Hᵀ must be n×k row-major");
}

/// `½‖V − WH‖²_F` for a sparse V (W m×k row-major, Hᵀ n×k row-major), as
/// `½·(Σ_stored (v − wh)² + Z)` with `Z = ⟨WᵀW, HHᵀ⟩ − Σ_stored wh²` the sum of (WH)² over the
/// entries V does not store.
///
/// Accuracy: the first sum is of non-negative terms, each within (k+2)·u₆₄ relative (the
/// sampled product in `f64`), so it is as accurate as the dense loss. Z is a difference: its
/// absolute error is at most about `(m + n + k + 2)·u₆₄·Σ_ac |(WᵀW)_ac·(HHᵀ)_ac|` (the Gram
/// sums over m and n terms, their k²-term inner product, the subtraction), at most that
/// factor times ‖WH‖²_F when the factors are non-negative. Relative to the loss this is
/// `(m+n)·u₆₄·‖WH‖²/loss`: about 10⁻¹⁰ for a million rows and a fit whose loss is 1% of
/// ‖WH‖². A computed Z below 0 (rounding of a true Z near 0) is taken as 0.
///
/// # Panics
/// If the lengths of `w` and `ht` do not match X and k.
///
/// ```
/// use nmf_core::sparse::{CsrRef, frobenius_loss};
/// // V = [[2, 0], [0, 4]], WH = [[1, 1], [2, 2]]: ½(1 + 1 + 4 + 4) = 5.
/// let v = CsrRef::new(2, 2, &[0, 1, 2], &[0, 1], &[2.0_f64, 4.0]).unwrap();
/// assert_eq!(frobenius_loss(v, &[1.0, 2.0], &[1.0, 1.0], 1), 5.0);
/// ```
pub fn frobenius_loss<T: Scalar>(x: CsrRef<'_, T>, w: &[T], ht: &[T], k: usize) -> f64 {
    frobenius_parts(x, w, ht, k).0
}

/// [`frobenius_loss`] and `‖WH‖²_F = ⟨WᵀW, HHᵀ⟩` as it computed it (the size its rounding is
/// proportional to).
///
/// # Panics
/// As [`frobenius_loss`].
pub fn frobenius_parts<T: Scalar>(x: CsrRef<'_, T>, w: &[T], ht: &[T], k: usize) -> (f64, f64) {
    check(x, w, ht, k);
    let (m, n) = x.shape();
    let (mut resid, mut stored_wh) = (F64Sum::default(), F64Sum::default());
    for i in 0..m {
        let wi = &w[i * k..(i + 1) * k];
        let (cols, vals) = x.row(i);
        for (&j, &v) in cols.iter().zip(vals) {
            let wh = dot64(wi, &ht[j * k..(j + 1) * k]);
            let r = v.as_f64() - wh;
            resid.add(r * r);
            stored_wh.add(wh * wh);
        }
    }
    // ⟨WᵀW, HHᵀ⟩ = Σ_ac (Σ_i w_ia·w_ic)(Σ_j h_aj·h_cj), by symmetry twice the a < c terms.
    let mut gram = F64Sum::default();
    for a in 0..k {
        for c in a..k {
            let gw: f64 = (0..m)
                .map(|i| w[i * k + a].as_f64() * w[i * k + c].as_f64())
                .sum();
            let gh: f64 = (0..n)
                .map(|j| ht[j * k + a].as_f64() * ht[j * k + c].as_f64())
                .sum();
            gram.add(if a == c { gw * gh } else { 2.0 * gw * gh });
        }
    }
    let zeros = (gram.value() - stored_wh.value()).max(0.0);
    (0.5 * (resid.value() + zeros), gram.value())
}

/// The generalized KL divergence `D(V‖WH) = Σ_ij v·log(v/wh) − v + wh` for a sparse V, as
/// `Σ_stored (v·log(v/wh) − v) + Σ_a (Σ_i w_ia)(Σ_j h_aj)` (the last term is ΣWH; a stored 0
/// contributes only there, 0·log 0 = 0).
///
/// Accuracy: the stored terms as in the dense loss (each within a few u₆₄ of its size); ΣWH
/// within (m + n + k)·u₆₄ relative (sums of non-negative terms). The sum mixes signs (the
/// stored terms can be negative), so its absolute error is a few u₆₄ times
/// `Σ_stored |v·log(v/wh) − v| + ΣWH`.
///
/// # Panics
/// If the lengths of `w` and `ht` do not match X and k.
///
/// ```
/// use nmf_core::sparse::{CsrRef, kl_loss};
/// // V = [[2, 0], [0, 4]], WH = [[1, 1], [2, 2]].
/// let v = CsrRef::new(2, 2, &[0, 1, 2], &[0, 1], &[2.0_f64, 4.0]).unwrap();
/// let want = 2.0 * 2f64.ln() - 2.0 + 4.0 * 2f64.ln() - 4.0 + 6.0;
/// assert!((kl_loss(v, &[1.0, 2.0], &[1.0, 1.0], 1) - want).abs() < 1e-15);
/// ```
pub fn kl_loss<T: Scalar>(x: CsrRef<'_, T>, w: &[T], ht: &[T], k: usize) -> f64 {
    check(x, w, ht, k);
    let m = x.nrows();
    let mut total = F64Sum::default();
    for i in 0..m {
        let wi = &w[i * k..(i + 1) * k];
        let (cols, vals) = x.row(i);
        for (&j, &v) in cols.iter().zip(vals) {
            let v = v.as_f64();
            if v > 0.0 {
                let wh = dot64(wi, &ht[j * k..(j + 1) * k]);
                total.add(v * (v / wh).ln() - v);
            }
        }
    }
    total.add(wh_sum(w, ht, k));
    total.value()
}

/// `ΣWH = Σ_a (Σ_i w_ia)(Σ_j h_aj)` in `f64` from W (m×k row-major) and Hᵀ (n×k row-major),
/// within (m + n + k)·u₆₄ relative (sums of non-negative terms).
pub fn wh_sum<T: Scalar>(w: &[T], ht: &[T], k: usize) -> f64 {
    if k == 0 {
        return 0.0;
    }
    let (m, n) = (w.len() / k, ht.len() / k);
    (0..k)
        .map(|a| {
            let sw: f64 = (0..m).map(|i| w[i * k + a].as_f64()).sum();
            let sh: f64 = (0..n).map(|j| ht[j * k + a].as_f64()).sum();
            sw * sh
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::kl_term;
    use crate::sparse::csr::csr_of_dense as csr_of;
    use proptest::prelude::*;

    fn case() -> impl Strategy<Value = (usize, usize, usize, Vec<f64>, Vec<f64>, Vec<f64>)> {
        (1usize..8, 1usize..8, 1usize..5).prop_flat_map(|(m, n, k)| {
            let cell = prop_oneof![3 => Just(0.0), 2 => 0.0f64..10.0, 1 => 1e-8f64..1e-4];
            let fac = 1e-3f64..3.0;
            (
                Just(m),
                Just(n),
                Just(k),
                prop::collection::vec(cell, m * n),
                prop::collection::vec(fac.clone(), m * k),
                prop::collection::vec(fac, n * k),
            )
        })
    }

    proptest! {
        /// Both losses equal the dense ones within the bounds in their docs: Frobenius within
        /// (m + n + k + 4)·u₆₄ times (Σ|terms| + Σ_ac (WᵀW)_ac(HHᵀ)_ac); KL within
        /// (m + n + k + 4)·u₆₄ times (Σ_stored |v log(v/wh) − v| + ΣWH) — the dense sums
        /// carry the same order of rounding, so the tolerance covers both, doubled.
        #[test]
        fn losses_match_dense((m, n, k, d, w, ht) in case()) {
            let x = csr_of(m, n, &d);
            let wh = |i: usize, j: usize| (0..k).map(|a| w[i * k + a] * ht[j * k + a]).sum::<f64>();
            let (mut fro, mut kl, mut size_f, mut size_k) = (0.0, 0.0, 0.0, 0.0);
            for i in 0..m {
                for j in 0..n {
                    let (v, y) = (d[i * n + j], wh(i, j));
                    fro += 0.5 * (v - y) * (v - y);
                    size_f += (v - y) * (v - y) + y * y;
                    kl += kl_term(v, y);
                    size_k += if v > 0.0 { (v * (v / y).ln() - v).abs() } else { 0.0 } + y;
                }
            }
            let g = (m + n + k + 4) as f64 * f64::EPSILON;
            let fs = frobenius_loss(x.view(), &w, &ht, k);
            prop_assert!((fs - fro).abs() <= 2.0 * g * size_f, "frobenius {fs} vs {fro}");
            let ks = kl_loss(x.view(), &w, &ht, k);
            prop_assert!((ks - kl).abs() <= 2.0 * g * size_k, "kl {ks} vs {kl}");
        }
    }
}
