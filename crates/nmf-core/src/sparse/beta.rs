//! The general β-divergence on a sparse V: its statistics and its loss, from Λ = WH formed in
//! blocks of rows, never as an m×n buffer.
//!
//! With Λ = WH, the W half-step needs `(V∘Λ^(β−2))·Hᵀ` and `Λ^(β−1)·Hᵀ` (m×k), the H half-step
//! their mirrors `Wᵀ(V∘Λ^(β−2))` and `WᵀΛ^(β−1)` (k×n), which are the same products on Vᵀ
//! with the roles of W and Hᵀ exchanged. The first needs Λ only at the stored entries of V,
//! but the second, and the loss, need it at **every** entry (an unstored zero of V contributes
//! λ^(β−1) to the denominator and λ^β/β to the loss). So a β half-step costs O(m·n·k)
//! whatever the sparsity, like the dense one, and only the memory is saved: Λ is computed for
//! [`BLOCK_ROWS`] rows at a time into a block of `BLOCK_ROWS × ncols` scalars (one block per
//! thread, made once per fit), the elementwise rules applied there, and the block's share of
//! the products accumulated.
//!
//! The rules are the dense ones, written once in [`crate::kernels`]: [`beta_parts`] for the two
//! factors of the statistics and [`beta_term`] for the loss; Λ is formed in `T` as the dense
//! data term forms WH, each entry a k-term sum in the order a = 0, …, k−1.
//!
//! Each row of the output (a statistic's row, a block's partial loss) is computed by one fixed
//! sequence of operations, and the blocks of rows are fixed (not chosen by thread count), so the
//! results are the same bits on any number of threads.

use core::ops::Range;

use multiversion::multiversion;

use super::CsrRef;
use crate::Scalar;
use crate::kernels::{F64Sum, beta_parts, beta_term};

/// Rows of Λ formed at a time.
pub const BLOCK_ROWS: usize = 64;
/// Columns of Λ per tile inside a block: a tile of Bᵀ (k×`TILE` scalars) stays in cache while
/// every row of the block uses it.
const TILE: usize = 256;

#[multiversion(targets("x86_64+avx512f+avx512vl+avx512dq+avx512bw", "x86_64+avx2+fma"))]
fn axpy<T: Scalar>(y: &mut [T], alpha: T, x: &[T]) {
    for (y, &x) in y.iter_mut().zip(x) {
        *y += alpha * x;
    }
}

/// `Σ aᵢ·bᵢ` as eight interleaved partial sums added in a fixed order (vectorised, and the same
/// bits on every call with the same inputs).
#[multiversion(targets("x86_64+avx512f+avx512vl+avx512dq+avx512bw", "x86_64+avx2+fma"))]
fn dot8<T: Scalar>(a: &[T], b: &[T]) -> T {
    let mut s = [T::zero(); 8];
    let ((ac, ar), (bc, br)) = (a.as_chunks::<8>(), b.as_chunks::<8>());
    for (a8, b8) in ac.iter().zip(bc) {
        for l in 0..8 {
            s[l] += a8[l] * b8[l];
        }
    }
    for (l, (&a, &b)) in ar.iter().zip(br).enumerate() {
        s[l] += a * b;
    }
    ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]))
}

/// The factors of a β pass over the rows of X (V, or Vᵀ for the H half-step): Λ_ij = A_i·B_j,
/// with `a` nrows×k and `b` ncols×k row-major (A = W, B = Hᵀ on V; A = Hᵀ, B = W on Vᵀ) and
/// `bt` = Bᵀ, k×ncols row-major.
#[derive(Debug, Clone, Copy)]
pub struct BetaFactors<'a, T> {
    /// A, nrows×k row-major.
    pub a: &'a [T],
    /// B, ncols×k row-major.
    pub b: &'a [T],
    /// Bᵀ, k×ncols row-major.
    pub bt: &'a [T],
    /// The rank.
    pub k: usize,
}

impl<T> BetaFactors<'_, T> {
    fn check(&self, x: CsrRef<'_, T>, rows: &Range<usize>, lam: &[T]) {
        let (m, n, k) = (x.nrows(), x.ncols(), self.k);
        assert!(rows.end <= m, "row range beyond the matrix");
        assert!(rows.len() <= BLOCK_ROWS, "more rows than a block");
        assert_eq!(self.a.len(), m * k, "A must be nrows×k row-major");
        assert_eq!(self.b.len(), n * k, "B must be ncols×k row-major");
        assert_eq!(self.bt.len(), n * k, "Bᵀ must be k×ncols row-major");
        assert!(lam.len() >= rows.len() * n, "the block is too small");
    }
}

/// `lam[r·n + j] ← Λ_ij = Σ_a A_ia·B_ja` for the rows i = rows.start + r, summed in the order
/// a = 0, …, k−1 (tile by tile, the same order).
fn fill_lambda<T: Scalar>(n: usize, rows: &Range<usize>, f: &BetaFactors<'_, T>, lam: &mut [T]) {
    let k = f.k;
    let lam = &mut lam[..rows.len() * n];
    lam.fill(T::zero());
    for c0 in (0..n).step_by(TILE) {
        let c1 = (c0 + TILE).min(n);
        for (r, i) in rows.clone().enumerate() {
            let li = &mut lam[r * n + c0..r * n + c1];
            for a in 0..k {
                axpy(li, f.a[i * k + a], &f.bt[a * n + c0..a * n + c1]);
            }
        }
    }
}

/// Rows `rows` (at most [`BLOCK_ROWS`]) of the two β statistics on X:
/// `num_i = Σ_(j stored) beta_parts(x_ij, Λ_ij, β).0 · B_j` and
/// `den_i = Σ_(all j) beta_parts(0, Λ_ij, β).1 · B_j = Σ_j Λ_ij^(β−1)·B_j`, into `num` and `den`
/// ((rows.len())×k row-major), with `lam` (at least rows.len()·ncols scalars) as the block of Λ.
/// O(rows·ncols·k).
///
/// # Panics
/// If a length does not match the shapes, or the range is beyond X or longer than a block.
///
/// ```
/// use nmf_core::sparse::{BetaFactors, CsrRef, beta_rows};
/// // V = [[2, 0]], W = [[1]], H = [[1, 4]]: Λ = [[1, 4]]; at β = 3, num = 2·1·1 = 2 and
/// // den = 1²·1 + 4²·4 = 65.
/// let v = CsrRef::new(1, 2, &[0, 1], &[0], &[2.0_f64]).unwrap();
/// let f = BetaFactors { a: &[1.0], b: &[1.0, 4.0], bt: &[1.0, 4.0], k: 1 };
/// let (mut num, mut den, mut lam) = ([0.0], [0.0], [0.0; 2]);
/// beta_rows(v, 0..1, f, 3.0, &mut lam, &mut num, &mut den);
/// assert_eq!((num, den), ([2.0], [65.0]));
/// ```
pub fn beta_rows<T: Scalar>(
    x: CsrRef<'_, T>,
    rows: Range<usize>,
    f: BetaFactors<'_, T>,
    beta: T,
    lam: &mut [T],
    num: &mut [T],
    den: &mut [T],
) {
    f.check(x, &rows, lam);
    let (n, k) = (x.ncols(), f.k);
    assert_eq!(num.len(), rows.len() * k, "num must be (rows)×k row-major");
    assert_eq!(den.len(), rows.len() * k, "den must be (rows)×k row-major");
    if k == 0 {
        return;
    }
    fill_lambda(n, &rows, &f, lam);
    // The numerator from the stored entries (Λ read before it is overwritten below).
    for (r, i) in rows.clone().enumerate() {
        let o = &mut num[r * k..(r + 1) * k];
        o.fill(T::zero());
        let (cols, vals) = x.row(i);
        for (&j, &v) in cols.iter().zip(vals) {
            let (p, _) = beta_parts(v, lam[r * n + j], beta);
            axpy(o, p, &f.b[j * k..(j + 1) * k]);
        }
    }
    // Λ^(β−1) everywhere, in place, then its product with B, tile by tile.
    for l in &mut lam[..rows.len() * n] {
        *l = beta_parts(T::zero(), *l, beta).1;
    }
    den.fill(T::zero());
    for c0 in (0..n).step_by(TILE) {
        let c1 = (c0 + TILE).min(n);
        for r in 0..rows.len() {
            let li = &lam[r * n + c0..r * n + c1];
            for a in 0..k {
                den[r * k + a] += dot8(li, &f.bt[a * n + c0..a * n + c1]);
            }
        }
    }
}

/// The partial sums of a β loss over a block of rows of V ([`beta_loss_rows`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct BetaSums {
    /// `Σ d_β(v_ij | Λ_ij)` ([`beta_term`], in `f64`).
    pub loss: F64Sum,
    /// `Σ Λ_ij^β` (from [`beta_parts`] at β + 1, in `T`, as the dense evaluation sums it).
    pub lambda_pow: F64Sum,
    /// `Σ v_ij·Λ_ij^(β−1)` (likewise).
    pub cross: F64Sum,
}

/// The β loss over rows `rows` (at most [`BLOCK_ROWS`]) of V, every entry included (an
/// unstored entry is a zero of V), with Λ = A·Bᵀ formed in `lam` as in [`beta_rows`]; with
/// `sizes`, also the two sums the evaluation's rounding bound needs ([`BetaSums`]).
/// O(rows·ncols·k).
///
/// # Panics
/// As [`beta_rows`].
pub fn beta_loss_rows<T: Scalar>(
    x: CsrRef<'_, T>,
    rows: Range<usize>,
    f: BetaFactors<'_, T>,
    beta: f64,
    sizes: bool,
    lam: &mut [T],
) -> BetaSums {
    f.check(x, &rows, lam);
    let n = x.ncols();
    let mut s = BetaSums::default();
    fill_lambda(n, &rows, &f, lam);
    let beta1 = T::from_f64(beta + 1.0);
    for (r, i) in rows.enumerate() {
        let (cols, vals) = x.row(i);
        let mut stored = cols.iter().zip(vals).peekable();
        for (j, &y) in lam[r * n..(r + 1) * n].iter().enumerate() {
            let v = match stored.peek() {
                Some(&(&c, &v)) if c == j => {
                    stored.next();
                    v
                }
                _ => T::zero(),
            };
            s.loss.add(beta_term(v.as_f64(), y.as_f64(), beta));
            if sizes {
                let (p, q) = beta_parts(v, y, beta1);
                s.cross.add(p.as_f64());
                s.lambda_pow.add(q.as_f64());
            }
        }
    }
    s
}

/// What [`par_lambda_blocks`] runs on a block: `(rows, Λ's buffer, num rows, den rows, sums)`.
pub(super) type BlockFn<'a, T> =
    dyn Fn(Range<usize>, &mut [T], &mut [T], &mut [T], &mut BetaSums) + Sync + 'a;

/// Runs `f(rows, Λ's block buffer, num rows, den rows, sums)` for the fixed
/// blocks of [`BLOCK_ROWS`] rows of an `nrows`-row matrix, on at most `bufs.len() / buf_len`
/// threads of rayon's pool (recursive `join`: nothing is allocated), each group of consecutive
/// blocks with its own part of `bufs`. `num` and `den` hold `kout` scalars per row (0 for a
/// pass without them), `sums` one entry per block (or none).
#[allow(clippy::too_many_arguments)]
pub(super) fn par_lambda_blocks<T: Scalar>(
    nrows: usize,
    kout: usize,
    bufs: &mut [T],
    buf_len: usize,
    num: &mut [T],
    den: &mut [T],
    sums: &mut [BetaSums],
    f: &BlockFn<'_, T>,
) {
    #[allow(clippy::too_many_arguments)]
    fn go<T: Scalar>(
        nrows: usize,
        blocks: Range<usize>,
        groups: usize,
        kout: usize,
        bufs: &mut [T],
        buf_len: usize,
        num: &mut [T],
        den: &mut [T],
        sums: &mut [BetaSums],
        f: &BlockFn<'_, T>,
    ) {
        if groups <= 1 || blocks.len() <= 1 {
            let mut dummy = BetaSums::default();
            let (mut num, mut den) = (num, den);
            for (t, blk) in blocks.clone().enumerate() {
                let rows = blk * BLOCK_ROWS..((blk + 1) * BLOCK_ROWS).min(nrows);
                let len = rows.len() * kout;
                let (nb, nrest) = core::mem::take(&mut num).split_at_mut(len);
                let (db, drest) = core::mem::take(&mut den).split_at_mut(len);
                (num, den) = (nrest, drest);
                let s = sums.get_mut(t).unwrap_or(&mut dummy);
                f(rows, &mut bufs[..buf_len], nb, db, s);
            }
            return;
        }
        let left = groups / 2;
        let mid = blocks.start + (blocks.len() * left / groups).max(1);
        let split_rows = (mid - blocks.start) * BLOCK_ROWS * kout;
        let (nl, nr) = num.split_at_mut(split_rows.min(num.len()));
        let (dl, dr) = den.split_at_mut(split_rows.min(den.len()));
        let (bl, br) = bufs.split_at_mut(left * buf_len);
        let (sl, sr) = sums.split_at_mut((mid - blocks.start).min(sums.len()));
        rayon::join(
            || {
                go(
                    nrows,
                    blocks.start..mid,
                    left,
                    kout,
                    bl,
                    buf_len,
                    nl,
                    dl,
                    sl,
                    f,
                )
            },
            || {
                go(
                    nrows,
                    mid..blocks.end,
                    groups - left,
                    kout,
                    br,
                    buf_len,
                    nr,
                    dr,
                    sr,
                    f,
                )
            },
        );
    }
    let blocks = nrows.div_ceil(BLOCK_ROWS);
    let groups = (bufs.len() / buf_len.max(1)).max(1);
    go(
        nrows,
        0..blocks,
        groups,
        kout,
        bufs,
        buf_len,
        num,
        den,
        sums,
        f,
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sparse::csr::csr_of_dense as csr_of;
    use proptest::prelude::*;

    proptest! {
        /// The blocked statistics equal the formulas evaluated naively in f64, entry by entry,
        /// within the rounding of the k-term Λ (relative γ_k, raised to a power |β − 1| or
        /// |β − 2| ≤ 3: ≤ 3·γ_k), of the power itself (a few u) and of the n-term sum of
        /// non-negative terms (γ_n): (3k + n + 8)·u·1.01 of the value, doubled for the naive
        /// side. Wide shapes (n > TILE) cover the tiles, and every split over threads gives
        /// the same bits.
        #[test]
        fn beta_rows_match_the_formulas(
            (m, n) in (1usize..80, prop_oneof![1usize..9, 250usize..300]),
            k in 1usize..4,
            beta in prop::sample::select(vec![0.0, 0.5, 1.5, 3.0, -0.5]),
            seed in 0u64..1000,
            groups in 1usize..4,
        ) {
            let d: Vec<f64> = (0..m * n).map(|t| {
                let h = (t as u64).wrapping_mul(2654435761).wrapping_add(seed) % 17;
                if h < 11 { 0.0 } else { h as f64 / 3.0 }
            }).collect();
            let x = csr_of(m, n, &d);
            let a: Vec<f64> = (0..m * k).map(|t| 0.1 + ((t as u64 * 5 + seed) % 13) as f64 / 4.0).collect();
            let b: Vec<f64> = (0..n * k).map(|t| 0.1 + ((t as u64 * 3 + seed) % 7) as f64 / 2.0).collect();
            let bt: Vec<f64> = (0..k * n).map(|t| b[(t % n) * k + t / n]).collect();
            let f = BetaFactors { a: &a, b: &b, bt: &bt, k };
            let buf_len = BLOCK_ROWS.min(m) * n;
            let (mut num, mut den) = (vec![f64::NAN; m * k], vec![f64::NAN; m * k]);
            let mut bufs = vec![0.0; groups * buf_len];
            par_lambda_blocks(m, k, &mut bufs, buf_len, &mut num, &mut den, &mut [], &|rows, lam, nb, db, _| {
                beta_rows(x.view(), rows, f, beta, lam, nb, db)
            });
            let (mut num1, mut den1) = (vec![f64::NAN; m * k], vec![f64::NAN; m * k]);
            let mut one = vec![0.0; buf_len];
            par_lambda_blocks(m, k, &mut one, buf_len, &mut num1, &mut den1, &mut [], &|rows, lam, nb, db, _| {
                beta_rows(x.view(), rows, f, beta, lam, nb, db)
            });
            prop_assert_eq!(num.iter().map(|x| x.to_bits()).collect::<Vec<_>>(), num1.iter().map(|x| x.to_bits()).collect::<Vec<_>>());
            prop_assert_eq!(den.iter().map(|x| x.to_bits()).collect::<Vec<_>>(), den1.iter().map(|x| x.to_bits()).collect::<Vec<_>>());
            let g = 2.0 * 1.01 * (3 * k + n + 8) as f64 * f64::EPSILON / 2.0;
            for i in 0..m {
                for c in 0..k {
                    let (mut en, mut ed) = (0.0, 0.0);
                    for j in 0..n {
                        let l: f64 = (0..k).map(|q| a[i * k + q] * b[j * k + q]).sum();
                        en += d[i * n + j] * l.powf(beta - 2.0) * b[j * k + c];
                        ed += l.powf(beta - 1.0) * b[j * k + c];
                    }
                    let (gn, gd) = (num[i * k + c], den[i * k + c]);
                    prop_assert!((gn - en).abs() <= g * en, "num ({i},{c}): {gn} vs {en}");
                    prop_assert!((gd - ed).abs() <= g * ed, "den ({i},{c}): {gd} vs {ed}");
                }
            }
            // The loss over blocks, summed in block order, is the naive loss (β > 0: the zeros
            // are finite there) within the rounding of Λ (k·u relative in each λ moves a term
            // by λ^(β−1)|λ − v|·k·u) and of the terms (a few u₆₄ of Σ|terms|, see beta_term).
            if beta > 0.0 {
                let blocks = m.div_ceil(BLOCK_ROWS);
                let mut sums = vec![BetaSums::default(); blocks];
                par_lambda_blocks(m, 0, &mut bufs, buf_len, &mut [], &mut [], &mut sums, &|rows, lam, _, _, s| {
                    *s = beta_loss_rows(x.view(), rows, f, beta, true, lam)
                });
                let mut total = F64Sum::default();
                for s in &sums {
                    total.merge(s.loss);
                }
                // (the naive side compensated too: a plain sum of m·n terms would carry m·n·u)
                let (mut want, mut sens, mut terms) = (F64Sum::default(), 0.0, 0.0);
                for i in 0..m {
                    for j in 0..n {
                        let l: f64 = (0..k).map(|q| a[i * k + q] * b[j * k + q]).sum();
                        let v = d[i * n + j];
                        let t = beta_term(v, l, beta);
                        want.add(t);
                        terms += t.abs() + l.powf(beta) / beta + v * l.powf(beta - 1.0) / (beta - 1.0).abs();
                        sens += l.powf(beta - 1.0) * (l - v).abs();
                    }
                }
                let tol = 4.0 * (k + 2) as f64 * f64::EPSILON * sens + 16.0 * f64::EPSILON * terms;
                let want = want.value();
                prop_assert!((total.value() - want).abs() <= tol, "loss {} vs {want}", total.value());
            }
        }
    }
}
