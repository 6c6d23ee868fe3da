//! The observed entries of V in compressed sparse rows ([`Observed`]), and their data term:
//! the β-form statistics over the observed set Ω at O(|Ω|·k) per half-step.
//!
//! Like [`SparseData`](crate::sparse::SparseData) it keeps V compressed both ways (by rows for
//! the W half-step, by columns for the H half-step) and lays W and Hᵀ out as rows of k
//! contiguous entries in its own buffers; unlike it, a stored 0 is an observed 0 and an entry
//! not stored is missing (not a 0), so no closed form for the unstored entries appears in the
//! statistics or the loss: every sum runs over Ω only.

use core::ops::Range;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::{cols_of, dot, rows_of, weighted_parts, write_back};
use crate::data::DataEvaluation;
use crate::kernels::{F64Sum, beta_term};
use crate::sparse::csr::{check_entry, check_triplets, invalid};
use crate::sparse::pass::{PerRow, par_blocks};
use crate::sparse::{Csr, CsrRef, row_blocks};
use crate::{DataOps, Loss, MatrixBackend, MatrixRole, NmfError, Scalar, TruncatedSvd};

/// The observed entries of an m×n matrix V, with optional non-negative weights (1 when not
/// given): the data of a masked fit. Every stored entry is observed (a stored 0 included); an
/// entry not stored is missing and plays no part in the fit.
///
/// Memory: about 2·(16·|Ω| + 8·(m + n)) bytes, plus 2·|Ω| scalars for weights.
///
/// ```
/// use nmf_core::{MatrixBackend, Nmf, masked::Observed, reference::Reference};
/// // Five ratings of a 3×3 matrix; (1, 2) is an observed 0, the rest is missing.
/// let v = Observed::from_triplets(3, 3, &[0, 0, 1, 1, 2], &[0, 1, 0, 2, 1], &[5.0_f64, 3.0, 4.0, 0.0, 1.0]).unwrap();
/// let model = Nmf::params(1).seed(1).fit(&Reference, &v).unwrap();
/// let p = model.predict(&Reference, &[2], &[2]).unwrap(); // a missing entry, predicted
/// assert!(p[0] >= 0.0);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Observed<T> {
    rows: Csr<T>,
    cols: Csr<T>,
    /// The weights in the order of `rows`' entries and of `cols`' entries (`None`: all 1).
    row_weights: Option<Vec<T>>,
    col_weights: Option<Vec<T>>,
    row_blocks: Vec<Range<usize>>,
    col_blocks: Vec<Range<usize>>,
}

/// A borrowed view of [`Observed`] data for the solvers that sweep its entries
/// ([`DataOps::data_observed`]).
#[derive(Debug, Clone, Copy)]
pub struct ObservedRef<'a, T> {
    pub(crate) rows: CsrRef<'a, T>,
    pub(crate) cols: CsrRef<'a, T>,
    pub(crate) row_weights: Option<&'a [T]>,
    pub(crate) col_weights: Option<&'a [T]>,
    pub(crate) row_blocks: &'a [Range<usize>],
    pub(crate) col_blocks: &'a [Range<usize>],
}

impl<'a, T: Copy> ObservedRef<'a, T> {
    /// `(rows, columns)` of V.
    pub fn shape(&self) -> (usize, usize) {
        (self.rows.nrows(), self.rows.ncols())
    }
    /// The observed entries by rows, and their weights in the same order (`None`: all 1).
    pub fn by_rows(&self) -> (CsrRef<'a, T>, Option<&'a [T]>) {
        (self.rows, self.row_weights)
    }
    /// The observed entries by columns (the rows of Vᵀ), and their weights in that order.
    pub fn by_cols(&self) -> (CsrRef<'a, T>, Option<&'a [T]>) {
        (self.cols, self.col_weights)
    }
}

impl<T: Scalar> Observed<T> {
    /// The observed entries `(rows[p], cols[p], vals[p])` in any order, each weighted 1.
    ///
    /// # Errors
    /// As [`from_weighted_triplets`](Self::from_weighted_triplets).
    pub fn from_triplets(
        nrows: usize,
        ncols: usize,
        rows: &[usize],
        cols: &[usize],
        vals: &[T],
    ) -> Result<Self, NmfError> {
        Self::build(nrows, ncols, rows, cols, vals, None)
    }

    /// The observed entries `(rows[p], cols[p], vals[p])` in any order with their weights
    /// `weights[p]`. A value of 0 is an observed 0 and is kept.
    ///
    /// # Errors
    /// [`NmfError::EmptyMatrix`] when `nrows` or `ncols` is 0; [`NmfError::InvalidSparse`]
    /// when the slices differ in length, an index is out of range or two triplets share a
    /// place (an entry is observed once; both positions named); [`NmfError::NegativeEntry`]
    /// or [`NmfError::NonFiniteEntry`] for a bad value (matrix V) or weight (matrix
    /// [`MatrixRole::Weights`]) with its row and column; [`NmfError::NothingObserved`] when
    /// no entry is given or every weight is 0.
    pub fn from_weighted_triplets(
        nrows: usize,
        ncols: usize,
        rows: &[usize],
        cols: &[usize],
        vals: &[T],
        weights: &[T],
    ) -> Result<Self, NmfError> {
        if weights.len() != vals.len() {
            return Err(invalid(format!(
                "{} values but {} weights: they must be as many",
                vals.len(),
                weights.len()
            )));
        }
        Self::build(nrows, ncols, rows, cols, vals, Some(weights))
    }

    fn build(
        nrows: usize,
        ncols: usize,
        rows: &[usize],
        cols: &[usize],
        vals: &[T],
        weights: Option<&[T]>,
    ) -> Result<Self, NmfError> {
        check_triplets(nrows, ncols, rows, cols, vals, weights)?;
        let mut order: Vec<usize> = (0..rows.len()).collect();
        order.sort_unstable_by_key(|&p| (rows[p], cols[p]));
        for pair in order.windows(2) {
            let (p, q) = (pair[0].min(pair[1]), pair[0].max(pair[1]));
            if rows[p] == rows[q] && cols[p] == cols[q] {
                return Err(invalid(format!(
                    "triplets {p} and {q} are both at row {}, column {}: an entry is observed \
                     once",
                    rows[p], cols[p]
                )));
            }
        }
        let mut indptr = vec![0usize; nrows + 1];
        for &i in rows {
            indptr[i + 1] += 1;
        }
        for i in 0..nrows {
            indptr[i + 1] += indptr[i];
        }
        let indices = order.iter().map(|&p| cols[p]).collect();
        let data = order.iter().map(|&p| vals[p]).collect();
        let w = weights.map(|w| order.iter().map(|&p| w[p]).collect());
        let csr = Csr::from_compressed(nrows, ncols, indptr, indices, data)?;
        Self::from_parts(csr, w)
    }

    /// The entries of an m×n matrix in row-major order, NaN marking a missing entry (how a
    /// CSV cell left empty or a `.npy` NaN reads), each observed entry weighted 1.
    ///
    /// ```
    /// use nmf_core::masked::Observed;
    /// let v = Observed::from_row_major(2, 2, &[1.0_f64, f64::NAN, 0.0, 4.0]).unwrap();
    /// assert_eq!(v.nnz(), 3); // the 0 is observed
    /// ```
    ///
    /// # Errors
    /// [`NmfError::DataLength`] when `values` does not hold m·n entries;
    /// [`NmfError::NegativeEntry`] or [`NmfError::NonFiniteEntry`] (an infinity) naming the
    /// first bad entry; [`NmfError::NothingObserved`] when every entry is NaN; as
    /// [`from_triplets`](Self::from_triplets).
    pub fn from_row_major(nrows: usize, ncols: usize, values: &[T]) -> Result<Self, NmfError> {
        if nrows.checked_mul(ncols) != Some(values.len()) {
            return Err(NmfError::DataLength {
                rows: nrows,
                cols: ncols,
                len: values.len(),
            });
        }
        let (mut r, mut c, mut v) = (vec![], vec![], vec![]);
        for (t, &x) in values.iter().enumerate() {
            if x.is_nan() {
                continue;
            }
            r.push(t / ncols);
            c.push(t % ncols);
            v.push(x);
        }
        Self::from_triplets(nrows, ncols, &r, &c, &v)
    }

    /// Every stored entry of `csr` observed (a stored 0 included), each weighted 1.
    ///
    /// # Errors
    /// [`NmfError::NothingObserved`] when `csr` stores no entry; [`NmfError::TooLarge`] when
    /// the compressed columns cannot be allocated.
    pub fn from_csr(csr: Csr<T>) -> Result<Self, NmfError> {
        Self::from_parts(csr, None)
    }

    /// Every stored entry of `csr` observed, with `weights` in the order of its stored
    /// entries.
    ///
    /// # Errors
    /// [`NmfError::InvalidSparse`] when there are not as many weights as stored entries;
    /// [`NmfError::NegativeEntry`] or [`NmfError::NonFiniteEntry`] (matrix
    /// [`MatrixRole::Weights`]) naming a bad weight's place; as [`from_csr`](Self::from_csr).
    pub fn from_csr_weighted(csr: Csr<T>, weights: Vec<T>) -> Result<Self, NmfError> {
        if weights.len() != csr.nnz() {
            return Err(invalid(format!(
                "{} stored entries but {} weights: they must be as many",
                csr.nnz(),
                weights.len()
            )));
        }
        let x = csr.view();
        for i in 0..x.nrows() {
            let (cs, _) = x.row(i);
            let start = x.indptr()[i];
            for (t, &j) in cs.iter().enumerate() {
                check_entry(MatrixRole::Weights, i, j, weights[start + t])?;
            }
        }
        Self::from_parts(csr, Some(weights))
    }

    /// Checks the weights' sum and builds the columns (and the weights in their order).
    fn from_parts(rows: Csr<T>, row_weights: Option<Vec<T>>) -> Result<Self, NmfError> {
        let positive = match &row_weights {
            Some(w) => w.iter().any(|&x| x > T::zero()),
            None => rows.nnz() > 0,
        };
        if !positive {
            return Err(NmfError::NothingObserved {
                data: if row_weights.is_some() {
                    "the weights"
                } else {
                    "the observed entries"
                },
            });
        }
        let cols = rows.transpose()?;
        // The weights in the columns' order: the same stable transpose on the weights.
        let col_weights = match &row_weights {
            Some(w) => Some(rows.with_values(w.clone())?.transpose()?.into_parts().2),
            None => None,
        };
        let parts = 4 * rayon::current_num_threads();
        let (row_blocks, col_blocks) = (
            row_blocks(rows.view(), parts),
            row_blocks(cols.view(), parts),
        );
        Ok(Self {
            rows,
            cols,
            row_weights,
            col_weights,
            row_blocks,
            col_blocks,
        })
    }

    /// A reproducible random split of the observed entries: `round(fraction·|Ω|)` of them
    /// (drawn uniformly without replacement from `seed`) for the second part (a held-out test
    /// set), the rest for the first (the training set), each with its weight.
    ///
    /// # Errors
    /// [`NmfError::InvalidHoldout`] when `fraction` is not in (0, 1) or leaves either part
    /// empty (naming the counts); [`NmfError::NothingObserved`] when every weight left for
    /// training is 0.
    pub fn split(&self, fraction: f64, seed: u64) -> Result<(Observed<T>, Observed<T>), NmfError> {
        let nnz = self.nnz();
        if !(fraction > 0.0 && fraction < 1.0) {
            return Err(NmfError::InvalidHoldout {
                reason: format!("the held-out fraction must lie in (0, 1), got {fraction}"),
            });
        }
        let count = (fraction * nnz as f64).round() as usize;
        if count == 0 || count == nnz {
            return Err(NmfError::InvalidHoldout {
                reason: format!(
                    "a fraction {fraction} of {nnz} observed entries holds out {count}: both \
                     the training and the held-out set need at least one entry"
                ),
            });
        }
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut held = vec![false; nnz];
        for p in rand::seq::index::sample(&mut rng, nnz, count) {
            held[p] = true;
        }
        let x = self.rows.view();
        let (m, n) = self.shape();
        let mut parts: [Triplets<T>; 2] = Default::default();
        for i in 0..m {
            let (cs, vs) = x.row(i);
            let start = x.indptr()[i];
            for (t, (&j, &v)) in cs.iter().zip(vs).enumerate() {
                let p = start + t;
                let part = &mut parts[usize::from(held[p])];
                part.0.push(i);
                part.1.push(j);
                part.2.push(v);
                part.3
                    .push(self.row_weights.as_ref().map_or(T::one(), |w| w[p]));
            }
        }
        let [train, test] = parts;
        let make = |(r, c, v, w): Triplets<T>| {
            if self.row_weights.is_some() {
                Self::from_weighted_triplets(m, n, &r, &c, &v, &w)
            } else {
                Self::from_triplets(m, n, &r, &c, &v)
            }
        };
        Ok((make(train)?, make(test)?))
    }
}

/// Rows, columns, values and weights of entries.
type Triplets<T> = (Vec<usize>, Vec<usize>, Vec<T>, Vec<T>);

impl<T> Observed<T> {
    /// The observed entries by rows.
    pub fn csr(&self) -> CsrRef<'_, T> {
        self.rows.view()
    }
    /// The weights in the order of [`csr`](Self::csr)'s entries (`None`: all 1).
    pub fn weights(&self) -> Option<&[T]> {
        self.row_weights.as_deref()
    }
    /// `(rows, columns)` of V.
    pub fn shape(&self) -> (usize, usize) {
        self.rows.shape()
    }
    /// The number of observed entries |Ω|.
    pub fn nnz(&self) -> usize {
        self.rows.nnz()
    }
    /// The view the solvers read.
    pub fn view(&self) -> ObservedRef<'_, T> {
        ObservedRef {
            rows: self.rows.view(),
            cols: self.cols.view(),
            row_weights: self.row_weights.as_deref(),
            col_weights: self.col_weights.as_deref(),
            row_blocks: &self.row_blocks,
            col_blocks: &self.col_blocks,
        }
    }
}

/// The buffers of the observed data term for one fit: W and Hᵀ laid out k-contiguous and the
/// two outputs of a half-step, O((m + n)·k).
#[derive(Debug, Clone)]
pub struct ObservedWork<T> {
    w_rows: Vec<T>,
    ht_rows: Vec<T>,
    num: Vec<T>,
    den: Vec<T>,
}

/// The β statistics of rows `r` of `x` (V, or Vᵀ for the H half-step): for each row,
/// `num_r = Σ_c m·v·λ^(β−2)·other_c`, `den_r = Σ_c m·λ^(β−1)·other_c` with
/// `λ = own_r·other_c`, into `num`, `den` (the block's rows, k apiece).
#[allow(clippy::too_many_arguments)]
fn beta_rows<T: Scalar>(
    x: CsrRef<'_, T>,
    weights: Option<&[T]>,
    r: Range<usize>,
    own: &[T],
    other: &[T],
    k: usize,
    beta: f64,
    num: &mut [T],
    den: &mut [T],
) {
    let first = r.start;
    for row in r {
        let o = (row - first) * k;
        let (num_r, den_r) = (&mut num[o..o + k], &mut den[o..o + k]);
        num_r.fill(T::zero());
        den_r.fill(T::zero());
        let own_r = &own[row * k..row * k + k];
        let (cs, vs) = x.row(row);
        let start = x.indptr()[row];
        for (t, (&c, &v)) in cs.iter().zip(vs).enumerate() {
            let m = weights.map_or(T::one(), |w| w[start + t]);
            let oc = &other[c * k..c * k + k];
            let lambda = dot(own_r, oc);
            let (a, b) = weighted_parts(v, lambda, m, beta);
            for ((n, d), &y) in num_r.iter_mut().zip(den_r.iter_mut()).zip(oc) {
                *n += a * y;
                *d += b * y;
            }
        }
    }
}

/// The β statistics of the H half-step (`on_h`: on the rows of Vᵀ, row j giving
/// λ_ij = h_j·w_i and the sums over i ∈ Ω_j of the parts times w_i, into k×n `num` and `den`)
/// or of the W half-step (on the rows of V, into m×k ones), W and Hᵀ laid out in `work`.
#[allow(clippy::too_many_arguments)]
fn beta_stats<T: Scalar, B: MatrixBackend<T>>(
    backend: &B,
    v: &Observed<T>,
    work: &mut ObservedWork<T>,
    w: &B::Mat,
    h: &B::Mat,
    beta: f64,
    (num, den): (&mut B::Mat, &mut B::Mat),
    on_h: bool,
) {
    let k = backend.ncols(w);
    rows_of(backend, w, &mut work.w_rows);
    cols_of(backend, h, &mut work.ht_rows);
    let o = v.view();
    let ((x, weights, blocks), own, other) = if on_h {
        let by_cols = (o.cols, o.col_weights, o.col_blocks);
        (by_cols, &work.ht_rows, &work.w_rows)
    } else {
        let by_rows = (o.rows, o.row_weights, o.row_blocks);
        (by_rows, &work.w_rows, &work.ht_rows)
    };
    let len = x.nrows() * k;
    let (out_num, out_den) = (&mut work.num[..len], &mut work.den[..len]);
    let outs = (PerRow(&mut *out_num, k), PerRow(&mut *out_den, k));
    par_blocks(blocks, outs, &|r, (PerRow(n, _), PerRow(d, _))| {
        beta_rows(x, weights, r, own, other, k, beta, n, d)
    });
    write_back(backend, num, out_num, k, on_h);
    write_back(backend, den, out_den, k, on_h);
}

/// The weighted loss and the sizes of its rounding over the observed entries.
fn evaluate_observed<T: Scalar>(
    x: CsrRef<'_, T>,
    weights: Option<&[T]>,
    w_rows: &[T],
    ht_rows: &[T],
    k: usize,
    loss: Loss,
) -> DataEvaluation {
    let beta = loss.beta_value();
    let (mut l, mut s, mut terms, mut bb, mut cc) = Default::default();
    let (l, s, terms, bb, cc): (
        &mut F64Sum,
        &mut F64Sum,
        &mut F64Sum,
        &mut F64Sum,
        &mut F64Sum,
    ) = (&mut l, &mut s, &mut terms, &mut bb, &mut cc);
    for i in 0..x.nrows() {
        let (cs, vs) = x.row(i);
        let start = x.indptr()[i];
        for (t, (&j, &v)) in cs.iter().zip(vs).enumerate() {
            let m = weights.map_or(1.0, |w| w[start + t].as_f64());
            if m == 0.0 {
                continue;
            }
            let lambda = dot(&w_rows[i * k..i * k + k], &ht_rows[j * k..j * k + k]).as_f64();
            let v = v.as_f64();
            let d = m * beta_term(v, lambda, beta);
            l.add(d);
            match loss {
                Loss::Frobenius => s.add(m * 0.5 * (v * v + lambda * lambda)),
                Loss::KullbackLeibler => {
                    s.add(m * (v + lambda));
                    let log = if v == 0.0 {
                        0.0
                    } else {
                        (v * (v / lambda).ln()).abs()
                    };
                    terms.add(m * (log + v + lambda));
                }
                Loss::ItakuraSaito | Loss::Beta(_) => {
                    bb.add(m * lambda.powf(beta));
                    cc.add(m * v * lambda.powf(beta - 1.0));
                }
            }
        }
    }
    let loss_value = l.value();
    let (scale, f64_terms) = match loss {
        Loss::Frobenius => (s.value(), loss_value),
        Loss::KullbackLeibler => (s.value(), terms.value()),
        Loss::ItakuraSaito | Loss::Beta(_) => {
            return crate::data::beta_evaluation(loss_value, bb.value(), cc.value(), beta);
        }
    };
    DataEvaluation {
        loss: loss_value,
        scale,
        f64_terms,
    }
}

/// `out` (rows of x, k apiece) ← `Σ_c m·v·other_c` over each row's entries.
fn weighted_product<T: Scalar>(
    x: CsrRef<'_, T>,
    weights: Option<&[T]>,
    other: &[T],
    k: usize,
    out: &mut [T],
) {
    out.fill(T::zero());
    for row in 0..x.nrows() {
        let (cs, vs) = x.row(row);
        let start = x.indptr()[row];
        for (t, (&c, &v)) in cs.iter().zip(vs).enumerate() {
            let a = weights.map_or(T::one(), |w| w[start + t]) * v;
            for (o, &y) in out[row * k..row * k + k]
                .iter_mut()
                .zip(&other[c * k..c * k + k])
            {
                *o += a * y;
            }
        }
    }
}

const NOT_WEIGHTED: &str = "observed data is weighted: the rules ask for the β statistics \
                            (DataOps::data_weighted), and the others refuse it";

impl<T: Scalar, B: MatrixBackend<T>> DataOps<T, Observed<T>> for B {
    type Work = ObservedWork<T>;

    fn data_shape(&self, v: &Observed<T>) -> (usize, usize) {
        v.shape()
    }
    fn data_first_invalid(&self, _v: &Observed<T>) -> Option<(usize, usize, T)> {
        // Checked when it was built.
        None
    }
    fn data_sum(&self, v: &Observed<T>) -> f64 {
        let mut s = F64Sum::default();
        let x = v.csr();
        for (p, &a) in x.data().iter().enumerate() {
            let m = v.row_weights.as_ref().map_or(1.0, |w| w[p].as_f64());
            s.add(m * a.as_f64());
        }
        s.value()
    }
    fn data_mean(&self, v: &Observed<T>) -> f64 {
        let total = match &v.row_weights {
            Some(w) => w.iter().map(|x| x.as_f64()).sum(),
            None => v.nnz() as f64,
        };
        self.data_sum(v) / total
    }
    fn data_weighted(&self, _v: &Observed<T>) -> bool {
        true
    }
    fn data_observed<'v>(&self, v: &'v Observed<T>) -> Option<ObservedRef<'v, T>> {
        Some(v.view())
    }
    fn data_holdout(
        &self,
        v: &Observed<T>,
        fraction: f64,
        seed: u64,
    ) -> Result<(Observed<T>, Observed<T>), NmfError> {
        v.split(fraction, seed)
    }
    fn data_errors(
        &self,
        v: &Observed<T>,
        work: &mut ObservedWork<T>,
        w: &Self::Mat,
        h: &Self::Mat,
        loss: Loss,
    ) -> Option<super::HoldoutError> {
        let k = self.ncols(w);
        rows_of(self, w, &mut work.w_rows);
        cols_of(self, h, &mut work.ht_rows);
        Some(super::holdout::holdout_error_rows(
            v,
            &work.w_rows,
            &work.ht_rows,
            k,
            loss,
        ))
    }
    fn data_truncated_svd(&self, _v: &Observed<T>, _k: usize) -> Option<TruncatedSvd<T>> {
        None
    }
    fn data_first_zero(&self, v: &Observed<T>) -> Option<(usize, usize)> {
        // The first observed 0 with a positive weight (β ≤ 0 cannot take it); a missing entry
        // is not in the loss.
        let x = v.csr();
        for i in 0..x.nrows() {
            let (cs, vs) = x.row(i);
            let start = x.indptr()[i];
            for (t, (&j, &a)) in cs.iter().zip(vs).enumerate() {
                let m = v.row_weights.as_ref().map_or(T::one(), |w| w[start + t]);
                if a == T::zero() && m > T::zero() {
                    return Some((i, j));
                }
            }
        }
        None
    }
    fn data_bytes(
        &self,
        v: &Observed<T>,
        k: usize,
        _loss: Loss,
        scaled: bool,
        _svd: bool,
    ) -> Option<usize> {
        let (m, n) = v.shape();
        let work = m
            .checked_add(n)?
            .checked_add(m.max(n).checked_mul(2)?)?
            .checked_mul(k)?;
        let mut bytes = work.checked_mul(size_of::<T>())?;
        if scaled {
            let arrays = v
                .nnz()
                .checked_mul(size_of::<T>() + size_of::<usize>())?
                .checked_add(m.checked_add(n)?.checked_add(2)?.checked_mul(8)?)?;
            bytes = bytes.checked_add(arrays.checked_mul(2)?)?;
        }
        Some(bytes)
    }
    fn wt_x(&self, dst: &mut Self::Mat, w: &Self::Mat, v: &Observed<T>) {
        // Wᵀ(M∘V), the missing entries as 0: the products of the randomized SVD of the start.
        let (m, n) = v.shape();
        let k = self.ncols(w);
        let mut w_rows = vec![T::zero(); m * k];
        let mut out = vec![T::zero(); n * k];
        rows_of(self, w, &mut w_rows);
        let (x, wt) = v.view().by_cols();
        weighted_product(x, wt, &w_rows, k, &mut out);
        write_back(self, dst, &out, k, true);
    }
    fn x_ht(&self, dst: &mut Self::Mat, v: &Observed<T>, h: &Self::Mat) {
        let (m, n) = v.shape();
        let k = self.nrows(h);
        let mut ht = vec![T::zero(); n * k];
        let mut out = vec![T::zero(); m * k];
        cols_of(self, h, &mut ht);
        let (x, wt) = v.view().by_rows();
        weighted_product(x, wt, &ht, k, &mut out);
        write_back(self, dst, &out, k, false);
    }
    fn data_scaled(&self, v: &Observed<T>, d: T) -> Option<Observed<T>> {
        let scale = |c: &Csr<T>| {
            c.with_values(c.view().data().iter().map(|&a| a / d).collect())
                .ok()
        };
        Some(Observed {
            rows: scale(&v.rows)?,
            cols: scale(&v.cols)?,
            row_weights: v.row_weights.clone(),
            col_weights: v.col_weights.clone(),
            row_blocks: v.row_blocks.clone(),
            col_blocks: v.col_blocks.clone(),
        })
    }
    fn data_work(&self, v: &Observed<T>, k: usize, _loss: Loss) -> ObservedWork<T> {
        let (m, n) = v.shape();
        ObservedWork {
            w_rows: vec![T::zero(); m * k],
            ht_rows: vec![T::zero(); n * k],
            num: vec![T::zero(); m.max(n) * k],
            den: vec![T::zero(); m.max(n) * k],
        }
    }
    fn frobenius_stats_h(
        &self,
        _v: &Observed<T>,
        _work: &mut ObservedWork<T>,
        _w: &Self::Mat,
        _num: &mut Self::Mat,
        _gram: &mut Self::Mat,
    ) {
        unreachable!("{NOT_WEIGHTED}");
    }
    fn frobenius_stats_w(
        &self,
        _v: &Observed<T>,
        _work: &mut ObservedWork<T>,
        _h: &Self::Mat,
        _num: &mut Self::Mat,
        _gram: &mut Self::Mat,
    ) {
        unreachable!("{NOT_WEIGHTED}");
    }
    fn kl_stats_h(
        &self,
        _v: &Observed<T>,
        _work: &mut ObservedWork<T>,
        _w: &Self::Mat,
        _h: &Self::Mat,
        _num: &mut Self::Mat,
        _sums: &mut [T],
    ) {
        unreachable!("{NOT_WEIGHTED}");
    }
    fn kl_stats_w(
        &self,
        _v: &Observed<T>,
        _work: &mut ObservedWork<T>,
        _w: &Self::Mat,
        _h: &Self::Mat,
        _num: &mut Self::Mat,
        _sums: &mut [T],
    ) {
        unreachable!("{NOT_WEIGHTED}");
    }
    fn beta_stats_h(
        &self,
        v: &Observed<T>,
        work: &mut ObservedWork<T>,
        w: &Self::Mat,
        h: &Self::Mat,
        beta: T,
        num: &mut Self::Mat,
        den: &mut Self::Mat,
    ) {
        beta_stats(self, v, work, w, h, beta.as_f64(), (num, den), true);
    }
    fn beta_stats_w(
        &self,
        v: &Observed<T>,
        work: &mut ObservedWork<T>,
        w: &Self::Mat,
        h: &Self::Mat,
        beta: T,
        num: &mut Self::Mat,
        den: &mut Self::Mat,
    ) {
        beta_stats(self, v, work, w, h, beta.as_f64(), (num, den), false);
    }
    fn data_loss(
        &self,
        v: &Observed<T>,
        work: &mut ObservedWork<T>,
        w: &Self::Mat,
        h: &Self::Mat,
        loss: Loss,
    ) -> f64 {
        self.data_evaluate(v, work, w, h, loss).loss
    }
    fn data_evaluate(
        &self,
        v: &Observed<T>,
        work: &mut ObservedWork<T>,
        w: &Self::Mat,
        h: &Self::Mat,
        loss: Loss,
    ) -> DataEvaluation {
        let k = self.ncols(w);
        rows_of(self, w, &mut work.w_rows);
        cols_of(self, h, &mut work.ht_rows);
        let (x, wt) = v.view().by_rows();
        evaluate_observed(x, wt, &work.w_rows, &work.ht_rows, k, loss)
    }
}
