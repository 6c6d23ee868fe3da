//! The data term of a sparse V ([`SparseData`]): the statistics of the half-steps at
//! O(nnz·k) from the kernels of [`crate::sparse`], for every backend.
//!
//! The kernels read the factors as rows of k contiguous entries (W m×k row-major, Hᵀ n×k
//! row-major), so each half-step lays W or H out that way in the data term's own buffers:
//! O((m + n)·k) copies, next to the O(nnz·k) of the products, and no m×n buffer anywhere.
//! The outputs come back into the backend's k×n or m×k matrices the same way.
//!
//! Every loss: Frobenius and KL at O(nnz·k) per half-step (and every rule that consumes
//! their statistics: MU, HALS); the general β-divergence through [`super::beta`], which needs
//! WH at every entry of V, zeros included, so it costs O(m·n·k) per half-step whatever the
//! sparsity (as much as dense V), with WH formed in blocks of rows (one block of
//! [`BLOCK_ROWS`](super::BLOCK_ROWS)×max(m, n) scalars per thread, never an m×n buffer).

use core::ops::Range;

use super::beta::{
    BLOCK_ROWS, BetaFactors, BetaSums, beta_loss_rows, beta_rows, par_lambda_blocks,
};
use super::pass::{PerRow, cols_of, par_blocks, rows_of, write_back};
use super::{
    Csr, CsrRef, Duplicates, frobenius_loss, frobenius_parts, kl_loss, kl_rows, row_blocks,
    spmm_rows, wh_sum,
};
use crate::data::DataEvaluation;
use crate::kernels::F64Sum;
use crate::{Accum, DataOps, Loss, MatrixBackend, NmfError, Scalar, Trans, TruncatedSvd};

/// A sparse data matrix V for a fit, compressed both ways: by rows (V) and by columns (the
/// rows of Vᵀ), so that both half-steps read their products without a transpose at fit time.
/// Memory: about 2·(16·nnz + 8·(m + n)) bytes.
///
/// ```
/// use nmf_core::{MatrixBackend, Nmf, reference::Reference, sparse::SparseData};
/// // A 4×3 count matrix with 5 stored entries.
/// let v = SparseData::from_triplets(4, 3, &[0, 1, 2, 3, 3], &[0, 1, 2, 0, 2], &[3.0_f64, 1.0, 2.0, 1.0, 4.0]).unwrap();
/// let model = Nmf::params(2).seed(1).check().unwrap().fit(&Reference, &v).unwrap();
/// assert_eq!(Reference.shape(model.w()), (4, 2));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct SparseData<T> {
    rows: Csr<T>,
    cols: Csr<T>,
    /// Blocks of rows of V and of Vᵀ with about equal work ([`row_blocks`]), made once so that
    /// the half-steps allocate nothing to spread their passes over threads.
    row_blocks: Vec<Range<usize>>,
    col_blocks: Vec<Range<usize>>,
}

impl<T: Scalar> SparseData<T> {
    /// V from its compressed rows (the compressed columns are built here, O(nnz + n)).
    ///
    /// # Errors
    /// [`NmfError::TooLarge`] when the compressed columns cannot be allocated.
    pub fn from_csr(rows: Csr<T>) -> Result<Self, NmfError> {
        let cols = rows.transpose()?;
        Ok(Self::with_blocks(rows, cols))
    }

    /// V from its compressed columns, given as the compressed rows of Vᵀ (`cols` is n×m; V's
    /// rows are built here, O(nnz + m)): for data stored by columns (CSC).
    ///
    /// # Errors
    /// [`NmfError::TooLarge`] when the compressed rows cannot be allocated.
    pub fn from_csc(cols: Csr<T>) -> Result<Self, NmfError> {
        let rows = cols.transpose()?;
        Ok(Self::with_blocks(rows, cols))
    }

    /// V (`nrows`×`ncols`) from its compressed columns, borrowed and copied: column j holds
    /// the row indices `indices[indptr[j]..indptr[j+1]]`, strictly increasing, and their
    /// values (the CSC layout of faer, nalgebra-sparse and sprs).
    ///
    /// # Errors
    /// As [`CsrRef::new`] on these arrays read as the rows of Vᵀ, with the places of bad
    /// values given as V's (row, column); [`NmfError::TooLarge`] when the copies cannot be
    /// allocated.
    pub fn from_csc_arrays(
        nrows: usize,
        ncols: usize,
        indptr: &[usize],
        indices: &[usize],
        data: &[T],
    ) -> Result<Self, NmfError> {
        let cols = CsrRef::new(ncols, nrows, indptr, indices, data).map_err(|e| match e {
            NmfError::NegativeEntry {
                matrix,
                row,
                col,
                value,
            } => NmfError::NegativeEntry {
                matrix,
                row: col,
                col: row,
                value,
            },
            NmfError::NonFiniteEntry {
                matrix,
                row,
                col,
                value,
            } => NmfError::NonFiniteEntry {
                matrix,
                row: col,
                col: row,
                value,
            },
            NmfError::InvalidSparse { matrix, reason } => NmfError::InvalidSparse {
                matrix,
                reason: format!(
                    "in its compressed columns (read as the rows of the transpose): {reason}"
                ),
            },
            e => e,
        })?;
        Self::from_csc(owned(cols)?)
    }

    /// V from a borrowed view of its compressed rows (copied: a fit needs both compressions,
    /// and owns them).
    ///
    /// # Errors
    /// [`NmfError::TooLarge`] when the copies cannot be allocated.
    pub fn from_view(x: CsrRef<'_, T>) -> Result<Self, NmfError> {
        Self::from_csr(owned(x)?)
    }

    /// V from both compressions, with its blocks for threads (4 per thread of rayon's pool).
    fn with_blocks(rows: Csr<T>, cols: Csr<T>) -> Self {
        let parts = 4 * rayon::current_num_threads();
        let (row_blocks, col_blocks) = (
            row_blocks(rows.view(), parts),
            row_blocks(cols.view(), parts),
        );
        Self {
            rows,
            cols,
            row_blocks,
            col_blocks,
        }
    }

    /// V from triplets (see [`Csr::from_triplets`]; repeated places are summed).
    ///
    /// # Errors
    /// As [`Csr::from_triplets`].
    pub fn from_triplets(
        nrows: usize,
        ncols: usize,
        rows: &[usize],
        cols: &[usize],
        vals: &[T],
    ) -> Result<Self, NmfError> {
        Self::from_csr(Csr::from_triplets(
            nrows,
            ncols,
            rows,
            cols,
            vals,
            Duplicates::Sum,
        )?)
    }
}

/// A copy of `x`'s arrays, or [`NmfError::TooLarge`] (never an abort) if they cannot be
/// allocated.
fn owned<T: Scalar>(x: CsrRef<'_, T>) -> Result<Csr<T>, NmfError> {
    fn copy<X: Copy>(a: &[X], what: &str, x: (usize, usize)) -> Result<Vec<X>, NmfError> {
        let mut v = Vec::new();
        v.try_reserve_exact(a.len())
            .map_err(|_| NmfError::TooLarge {
                what: format!("the {what} of a copy of a sparse {}×{} matrix", x.0, x.1),
                bytes: a.len().checked_mul(size_of::<X>()),
            })?;
        v.extend_from_slice(a);
        Ok(v)
    }
    let shape = x.shape();
    Csr::from_compressed(
        x.nrows(),
        x.ncols(),
        copy(x.indptr(), "row pointers", shape)?,
        copy(x.indices(), "column indices", shape)?,
        copy(x.data(), "values", shape)?,
    )
}

impl<T> SparseData<T> {
    /// V by rows.
    pub fn csr(&self) -> CsrRef<'_, T> {
        self.rows.view()
    }
    /// Vᵀ by rows (V by columns).
    pub fn csc(&self) -> CsrRef<'_, T> {
        self.cols.view()
    }
    /// V by rows with its blocks for threads.
    fn by_rows(&self) -> (CsrRef<'_, T>, &[Range<usize>]) {
        (self.rows.view(), &self.row_blocks)
    }
    /// Vᵀ by rows with its blocks for threads.
    fn by_cols(&self) -> (CsrRef<'_, T>, &[Range<usize>]) {
        (self.cols.view(), &self.col_blocks)
    }
    /// `(rows, columns)` of V.
    pub fn shape(&self) -> (usize, usize) {
        self.rows.shape()
    }
    /// Stored entries.
    pub fn nnz(&self) -> usize {
        self.rows.nnz()
    }
}

/// The buffers of a sparse data term for one fit: the factors laid out k-contiguous and the
/// outputs of the kernels, O((m + n)·k); for the general β also one block of 64 rows of WH
/// per thread (64·max(m, n) scalars each).
#[derive(Debug, Clone)]
pub struct SparseWork<T> {
    /// W, m×k row-major.
    w_rows: Vec<T>,
    /// Hᵀ, n×k row-major.
    ht_rows: Vec<T>,
    /// An m×k or n×k output (the larger).
    out: Vec<T>,
    /// `½‖V‖²` (Frobenius) or `ΣV` (KL), at the first evaluation.
    data_scale: Option<f64>,
    /// The general β only (empty otherwise), see [`BetaWork`].
    beta: BetaWork<T>,
}

/// The buffers of the general β passes: O((m + n)·k) plus one block of Λ per thread.
#[derive(Debug, Clone)]
struct BetaWork<T> {
    /// H (k×n row-major) or Wᵀ (k×m row-major): the factor B of a pass, transposed.
    bt: Vec<T>,
    /// The second output (the denominator), like `SparseWork::out`.
    den: Vec<T>,
    /// One block of Λ (`block_len` scalars) per thread.
    blocks: Vec<T>,
    block_len: usize,
    /// The loss's partial sums, one per block of rows of V.
    sums: Vec<BetaSums>,
}

impl<T: Scalar> BetaWork<T> {
    fn empty() -> Self {
        Self {
            bt: Vec::new(),
            den: Vec::new(),
            blocks: Vec::new(),
            block_len: 0,
            sums: Vec::new(),
        }
    }

    /// The scalars and threads of the buffers for an m×n V at rank k: (block length, blocks).
    fn sizes(m: usize, n: usize) -> (usize, usize) {
        let big = m.max(n);
        let threads = rayon::current_num_threads().clamp(1, big.div_ceil(BLOCK_ROWS));
        (BLOCK_ROWS.min(big) * big, threads)
    }

    fn new(m: usize, n: usize, k: usize) -> Self {
        let (block_len, threads) = Self::sizes(m, n);
        Self {
            bt: vec![T::zero(); m.max(n) * k],
            den: vec![T::zero(); m.max(n) * k],
            blocks: vec![T::zero(); threads * block_len],
            block_len,
            sums: vec![BetaSums::default(); m.div_ceil(BLOCK_ROWS)],
        }
    }
}

/// Whether `loss` takes the general β path.
fn general(loss: Loss) -> bool {
    !matches!(loss, Loss::Frobenius | Loss::KullbackLeibler)
}

/// The β statistics of the H half-step (`on_h`: on the rows of Vᵀ with A = Hᵀ, B = W and
/// Bᵀ = Wᵀ, into k×n `num` and `den`) or of the W half-step (on the rows of V with A = W,
/// B = Hᵀ and Bᵀ = H, into m×k ones), the factors laid out in `work` here.
#[allow(clippy::too_many_arguments)]
fn beta_stats<T: Scalar, B: MatrixBackend<T>>(
    backend: &B,
    v: &SparseData<T>,
    work: &mut SparseWork<T>,
    w: &B::Mat,
    h: &B::Mat,
    beta: T,
    (num, den): (&mut B::Mat, &mut B::Mat),
    on_h: bool,
) {
    let k = backend.ncols(w);
    let (m, n) = v.shape();
    rows_of(backend, w, &mut work.w_rows);
    cols_of(backend, h, &mut work.ht_rows);
    let bw = &mut work.beta;
    let (x, a, b) = if on_h {
        cols_of(backend, w, &mut bw.bt[..m * k]);
        (v.csc(), &work.ht_rows, &work.w_rows)
    } else {
        rows_of(backend, h, &mut bw.bt[..k * n]);
        (v.csr(), &work.w_rows, &work.ht_rows)
    };
    let rows = x.nrows();
    let (out, den_rows) = (&mut work.out[..rows * k], &mut bw.den[..rows * k]);
    let f = BetaFactors {
        a,
        b,
        bt: &bw.bt[..x.ncols() * k],
        k,
    };
    par_lambda_blocks(
        rows,
        k,
        &mut bw.blocks,
        bw.block_len,
        out,
        den_rows,
        &mut [],
        &|r, lam, nb, db, _| beta_rows(x, r, f, beta, lam, nb, db),
    );
    write_back(backend, num, out, k, on_h);
    write_back(backend, den, den_rows, k, on_h);
}

/// The β loss of V at W (m×k row-major in `w_rows`) and H (k×n row-major in `beta.bt`), with
/// Hᵀ in `ht_rows`: the sums of [`BetaSums`] over every entry, merged in the order of the
/// blocks (the same bits on any number of threads).
fn beta_loss<T: Scalar>(
    v: CsrRef<'_, T>,
    w_rows: &[T],
    ht_rows: &[T],
    work: &mut BetaWork<T>,
    k: usize,
    beta: f64,
    sizes: bool,
) -> (f64, f64, f64) {
    let (m, n) = v.shape();
    let f = BetaFactors {
        a: w_rows,
        b: ht_rows,
        bt: &work.bt[..n * k],
        k,
    };
    let sums = &mut work.sums[..m.div_ceil(BLOCK_ROWS)];
    par_lambda_blocks(
        m,
        0,
        &mut work.blocks,
        work.block_len,
        &mut [],
        &mut [],
        sums,
        &|r, lam, _, _, s| *s = beta_loss_rows(v, r, f, beta, sizes, lam),
    );
    let mut total = BetaSums::default();
    for s in sums.iter() {
        total.loss.merge(s.loss);
        total.lambda_pow.merge(s.lambda_pow);
        total.cross.merge(s.cross);
    }
    (
        total.loss.value(),
        total.lambda_pow.value(),
        total.cross.value(),
    )
}

/// One statistic from the stored entries of `x` (V, or Vᵀ for the H half-step): the rows of
/// `X·B` (Frobenius), or of the KL statistic `(X/(A·Bᵀ))·B` when `a` is given, into `out`
/// (x.nrows×k), then into `num` (as it is, or transposed when `num` is k×x.nrows).
#[allow(clippy::too_many_arguments)]
fn sparse_pass<T: Scalar, B: MatrixBackend<T>>(
    backend: &B,
    (x, blocks): (CsrRef<'_, T>, &[Range<usize>]),
    a: Option<&[T]>,
    b: &[T],
    k: usize,
    out: &mut [T],
    num: &mut B::Mat,
    transposed: bool,
) {
    let out = &mut out[..x.nrows() * k];
    match a {
        None => par_blocks(blocks, PerRow(&mut *out, k), &|r, PerRow(o, _)| {
            spmm_rows(x, r, b, k, o, Accum::Replace)
        }),
        Some(a) => par_blocks(blocks, PerRow(&mut *out, k), &|r, PerRow(o, _)| {
            kl_rows(x, r, a, b, k, o)
        }),
    }
    write_back(backend, num, out, k, transposed);
}

/// The Frobenius statistic (`kl` false: `X·B`) or the KL one of the H half-step (`on_h`: on
/// the rows of Vᵀ with B = W, A = Hᵀ, into k×n `num`) or of the W half-step (on the rows of
/// V with B = Hᵀ, A = W, into m×k `num`), from the factors laid out in `work` (W, and Hᵀ
/// when it is read).
fn stat_pass<T: Scalar, B: MatrixBackend<T>>(
    backend: &B,
    v: &SparseData<T>,
    work: &mut SparseWork<T>,
    k: usize,
    kl: bool,
    num: &mut B::Mat,
    on_h: bool,
) {
    let (x, a, b) = if on_h {
        (v.by_cols(), &work.ht_rows, &work.w_rows)
    } else {
        (v.by_rows(), &work.w_rows, &work.ht_rows)
    };
    let a = kl.then_some(&a[..]);
    sparse_pass(backend, x, a, b, k, &mut work.out, num, on_h);
}

impl<T: Scalar, B: MatrixBackend<T>> DataOps<T, SparseData<T>> for B {
    type Work = SparseWork<T>;

    fn data_shape(&self, v: &SparseData<T>) -> (usize, usize) {
        v.shape()
    }
    fn data_first_invalid(&self, _v: &SparseData<T>) -> Option<(usize, usize, T)> {
        // Checked when it was built (CsrRef::new's guarantees).
        None
    }
    fn data_sum(&self, v: &SparseData<T>) -> f64 {
        let mut s = F64Sum::default();
        crate::kernels::sum_slice(&mut s, v.csr().data());
        s.value()
    }
    fn data_truncated_svd(&self, _v: &SparseData<T>, _k: usize) -> Option<TruncatedSvd<T>> {
        // The randomized SVD on sparse products (wt_x, x_ht).
        None
    }
    fn data_first_zero(&self, v: &SparseData<T>) -> Option<(usize, usize)> {
        let x = v.csr();
        for i in 0..x.nrows() {
            let (cols, vals) = x.row(i);
            // The first column not stored, or stored as 0, in this row.
            let mut j = 0;
            for (&c, &val) in cols.iter().zip(vals) {
                if c > j {
                    return Some((i, j));
                }
                if val == T::zero() {
                    return Some((i, c));
                }
                j = c + 1;
            }
            if j < x.ncols() {
                return Some((i, j));
            }
        }
        None
    }
    fn data_bytes(
        &self,
        v: &SparseData<T>,
        k: usize,
        loss: Loss,
        scaled: bool,
        _svd: bool,
    ) -> Option<usize> {
        // The work buffers: W and Hᵀ laid out k-contiguous and one output, (m + n + max)·k
        // scalars; a rescaled copy holds both compressions again (values, indices, pointers).
        // The SVD is the randomized one, on (m + n)·(k + oversampling) scalars counted with the
        // factors by the driver.
        let (m, n) = v.shape();
        let mut work = m.checked_add(n)?.checked_add(m.max(n))?.checked_mul(k)?;
        if general(loss) {
            // Bᵀ and the denominator, (2·max(m, n))·k, and one block of Λ per thread; the
            // partial sums of the loss are counted as scalars too (they are larger: 48 bytes
            // per block of rows, next to the block's 64·n scalars).
            let (block_len, threads) = BetaWork::<T>::sizes(m, n);
            work = work
                .checked_add(m.max(n).checked_mul(k)?.checked_mul(2)?)?
                .checked_add(threads.checked_mul(block_len)?)?;
            let sums = m.div_ceil(BLOCK_ROWS).checked_mul(size_of::<BetaSums>())?;
            work = work.checked_add(sums.div_ceil(size_of::<T>()))?;
        }
        let mut bytes = work.checked_mul(size_of::<T>())?;
        if scaled {
            let nnz = v.nnz();
            let arrays = nnz
                .checked_mul(size_of::<T>() + size_of::<usize>())?
                .checked_add(
                    m.checked_add(n)?
                        .checked_add(2)?
                        .checked_mul(size_of::<usize>())?,
                )?;
            bytes = bytes.checked_add(arrays.checked_mul(2)?)?;
        }
        Some(bytes)
    }
    fn wt_x(&self, dst: &mut Self::Mat, w: &Self::Mat, v: &SparseData<T>) {
        let (m, n) = v.shape();
        let k = self.ncols(w);
        let mut w_rows = vec![T::zero(); m * k];
        let mut out = vec![T::zero(); n * k];
        rows_of(self, w, &mut w_rows);
        sparse_pass(self, v.by_cols(), None, &w_rows, k, &mut out, dst, true);
    }
    fn x_ht(&self, dst: &mut Self::Mat, v: &SparseData<T>, h: &Self::Mat) {
        let (m, n) = v.shape();
        let k = self.nrows(h);
        let mut ht = vec![T::zero(); n * k];
        let mut out = vec![T::zero(); m * k];
        cols_of(self, h, &mut ht);
        sparse_pass(self, v.by_rows(), None, &ht, k, &mut out, dst, false);
    }
    fn data_scaled(&self, v: &SparseData<T>, d: T) -> Option<SparseData<T>> {
        let scale = |c: &Csr<T>| {
            c.with_values(c.view().data().iter().map(|&a| a / d).collect())
                .ok()
        };
        Some(SparseData::with_blocks(scale(&v.rows)?, scale(&v.cols)?))
    }
    fn data_compressed<'v>(&self, v: &'v SparseData<T>) -> Option<(CsrRef<'v, T>, CsrRef<'v, T>)> {
        Some((v.csr(), v.csc()))
    }
    fn data_work(&self, v: &SparseData<T>, k: usize, loss: Loss) -> SparseWork<T> {
        let (m, n) = v.shape();
        SparseWork {
            w_rows: vec![T::zero(); m * k],
            ht_rows: vec![T::zero(); n * k],
            out: vec![T::zero(); m.max(n) * k],
            data_scale: None,
            beta: if general(loss) {
                BetaWork::new(m, n, k)
            } else {
                BetaWork::empty()
            },
        }
    }
    fn frobenius_stats_h(
        &self,
        v: &SparseData<T>,
        work: &mut SparseWork<T>,
        w: &Self::Mat,
        num: &mut Self::Mat,
        gram: &mut Self::Mat,
    ) {
        let k = self.ncols(w);
        rows_of(self, w, &mut work.w_rows);
        // (WᵀV)ᵀ = Vᵀ·W, from the rows of Vᵀ.
        stat_pass(self, v, work, k, false, num, true);
        self.matmul(gram, Accum::Replace, T::one(), w, Trans::Yes, w, Trans::No);
    }
    fn frobenius_stats_w(
        &self,
        v: &SparseData<T>,
        work: &mut SparseWork<T>,
        h: &Self::Mat,
        num: &mut Self::Mat,
        gram: &mut Self::Mat,
    ) {
        let k = self.nrows(h);
        cols_of(self, h, &mut work.ht_rows);
        stat_pass(self, v, work, k, false, num, false);
        self.matmul(gram, Accum::Replace, T::one(), h, Trans::No, h, Trans::Yes);
    }
    fn kl_stats_h(
        &self,
        v: &SparseData<T>,
        work: &mut SparseWork<T>,
        w: &Self::Mat,
        h: &Self::Mat,
        num: &mut Self::Mat,
        sums: &mut [T],
    ) {
        let k = self.ncols(w);
        rows_of(self, w, &mut work.w_rows);
        cols_of(self, h, &mut work.ht_rows);
        // On Vᵀ: row j gives Σ_i (v_ij/(WH)_ij)·W_i, with A = Hᵀ and B = W.
        stat_pass(self, v, work, k, true, num, true);
        self.col_sums(w, sums);
    }
    fn kl_stats_w(
        &self,
        v: &SparseData<T>,
        work: &mut SparseWork<T>,
        w: &Self::Mat,
        h: &Self::Mat,
        num: &mut Self::Mat,
        sums: &mut [T],
    ) {
        let k = self.ncols(w);
        rows_of(self, w, &mut work.w_rows);
        cols_of(self, h, &mut work.ht_rows);
        stat_pass(self, v, work, k, true, num, false);
        self.row_sums(h, sums);
    }
    fn beta_stats_h(
        &self,
        v: &SparseData<T>,
        work: &mut SparseWork<T>,
        w: &Self::Mat,
        h: &Self::Mat,
        beta: T,
        num: &mut Self::Mat,
        den: &mut Self::Mat,
    ) {
        beta_stats(self, v, work, w, h, beta, (num, den), true);
    }
    fn beta_stats_w(
        &self,
        v: &SparseData<T>,
        work: &mut SparseWork<T>,
        w: &Self::Mat,
        h: &Self::Mat,
        beta: T,
        num: &mut Self::Mat,
        den: &mut Self::Mat,
    ) {
        beta_stats(self, v, work, w, h, beta, (num, den), false);
    }
    fn data_loss(
        &self,
        v: &SparseData<T>,
        work: &mut SparseWork<T>,
        w: &Self::Mat,
        h: &Self::Mat,
        loss: Loss,
    ) -> f64 {
        let k = self.ncols(w);
        rows_of(self, w, &mut work.w_rows);
        cols_of(self, h, &mut work.ht_rows);
        match loss {
            Loss::Frobenius => frobenius_loss(v.csr(), &work.w_rows, &work.ht_rows, k),
            Loss::KullbackLeibler => kl_loss(v.csr(), &work.w_rows, &work.ht_rows, k),
            Loss::ItakuraSaito | Loss::Beta(_) => {
                let n = v.shape().1;
                rows_of(self, h, &mut work.beta.bt[..k * n]);
                let (w, ht) = (&work.w_rows[..], &work.ht_rows[..]);
                beta_loss(v.csr(), w, ht, &mut work.beta, k, loss.beta_value(), false).0
            }
        }
    }
    fn data_evaluate(
        &self,
        v: &SparseData<T>,
        work: &mut SparseWork<T>,
        w: &Self::Mat,
        h: &Self::Mat,
        loss: Loss,
    ) -> DataEvaluation {
        let k = self.ncols(w);
        let (m, n) = v.shape();
        rows_of(self, w, &mut work.w_rows);
        cols_of(self, h, &mut work.ht_rows);
        // The sizes as for dense V (see MuSolver::evaluate; the stored entries' WH is formed
        // in f64 here, more accurately than the dense WH in T, so the dense `scale` bounds
        // it), plus the rounding of the closed forms for the entries V does not store:
        // ⟨WᵀW, HHᵀ⟩ is off by at most (m + n + k² + 2)·u₆₄·‖WH‖² (non-negative terms: Gram
        // sums of m and n terms, k² products), and ΣWH by (m + n + k)·u₆₄·ΣWH. Two
        // evaluations are compared, and `rise_bound` charges 16·u₆₄ per unit of `f64_terms`:
        // each closed form's size enters divided by 8.
        match loss {
            Loss::Frobenius => {
                let (value, wh_sq) = frobenius_parts(v.csr(), &work.w_rows, &work.ht_rows, k);
                let sv = *work.data_scale.get_or_insert_with(|| {
                    let mut s = F64Sum::default();
                    for &x in v.csr().data() {
                        s.add(0.5 * x.as_f64() * x.as_f64());
                    }
                    s.value()
                });
                DataEvaluation {
                    loss: value,
                    scale: 3.0 * sv + 2.0 * value,
                    f64_terms: (m + n + k * k + 2) as f64 * wh_sq / 8.0,
                }
            }
            Loss::KullbackLeibler => {
                let value = kl_loss(v.csr(), &work.w_rows, &work.ht_rows, k);
                let sv = *work.data_scale.get_or_insert_with(|| self.data_sum(v));
                let swh = wh_sum(&work.w_rows, &work.ht_rows, k);
                DataEvaluation {
                    loss: value,
                    scale: sv + swh,
                    f64_terms: value + sv + swh + (m + n + k) as f64 * swh / 8.0,
                }
            }
            Loss::ItakuraSaito | Loss::Beta(_) => {
                // Every entry of WH is formed in T, as for dense V: the dense sizes, from the
                // same sums.
                let beta = loss.beta_value();
                rows_of(self, h, &mut work.beta.bt[..k * n]);
                let (w, ht) = (&work.w_rows[..], &work.ht_rows[..]);
                let (value, bb, c) = beta_loss(v.csr(), w, ht, &mut work.beta, k, beta, true);
                crate::data::beta_evaluation(value, bb, c, beta)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reference::Reference;
    use crate::sparse::csr::csr_of_dense;
    use crate::{HalsOptions, HalsSolver, MuSolver, Nmf};
    use proptest::prelude::*;

    fn sparse_of(m: usize, n: usize, d: &[f64]) -> SparseData<f64> {
        SparseData::from_csr(csr_of_dense(m, n, d)).unwrap()
    }

    /// A random m×n count-like matrix with empty rows and columns (about 70% zeros), and
    /// positive factors.
    fn case() -> impl Strategy<Value = (usize, usize, usize, Vec<f64>, Vec<f64>, Vec<f64>)> {
        (1usize..9, 1usize..9, 1usize..5).prop_flat_map(|(m, n, k)| {
            let cell = prop_oneof![7 => Just(0.0), 2 => 0.0f64..5.0, 1 => 1.0f64..1e3];
            let fac = 1e-3f64..2.0;
            (
                Just(m),
                Just(n),
                Just(k),
                prop::collection::vec(cell, m * n),
                prop::collection::vec(fac.clone(), m * k),
                prop::collection::vec(fac, k * n),
            )
        })
    }

    /// Entry-wise closeness of two products of non-negative terms: each entry is a sum of at
    /// most max(m, n) non-negative products computed in two orders, so the two differ by at
    /// most 2·γ_len of the entry's size; `size` bounds the sizes (both are ≥ 0 here, so the
    /// sizes are the entries themselves).
    fn close(a: &[f64], b: &[f64], len: usize) -> Result<(), TestCaseError> {
        let g = 2.02 * (len + 2) as f64 * f64::EPSILON / 2.0;
        for (p, (&x, &y)) in a.iter().zip(b).enumerate() {
            prop_assert!(
                (x - y).abs() <= g * x.abs().max(y.abs()),
                "entry {p}: {x} vs {y}"
            );
        }
        Ok(())
    }

    proptest! {
        /// Every statistic of the sparse data term equals the dense one (Reference backend)
        /// within the rounding of sums of non-negative terms in another order; the losses
        /// within the bounds of `frobenius_loss` and `kl_loss`.
        #[test]
        fn statistics_match_dense((m, n, k, d, w, h) in case()) {
            let b = Reference;
            let sv = sparse_of(m, n, &d);
            let dv = b.from_row_major(m, n, &d).unwrap();
            let (w, h) = (b.from_row_major(m, k, &w).unwrap(), b.from_row_major(k, n, &h).unwrap());
            let len = m.max(n) + k;
            let mut sw = DataOps::<f64, SparseData<f64>>::data_work(&b, &sv, k, Loss::KullbackLeibler);
            let mut dw = DataOps::<f64, _>::data_work(&b, &dv, k, Loss::KullbackLeibler);
            let (mut n1, mut n2, mut g1, mut g2) = (b.zeros(k, n), b.zeros(k, n), b.zeros(k, k), b.zeros(k, k));
            b.frobenius_stats_h(&sv, &mut sw, &w, &mut n1, &mut g1);
            b.frobenius_stats_h(&dv, &mut dw, &w, &mut n2, &mut g2);
            close(&b.to_row_major(&n1), &b.to_row_major(&n2), len)?;
            prop_assert_eq!(b.to_row_major(&g1), b.to_row_major(&g2));
            let (mut m1, mut m2) = (b.zeros(m, k), b.zeros(m, k));
            b.frobenius_stats_w(&sv, &mut sw, &h, &mut m1, &mut g1);
            b.frobenius_stats_w(&dv, &mut dw, &h, &mut m2, &mut g2);
            close(&b.to_row_major(&m1), &b.to_row_major(&m2), len)?;
            let (mut s1, mut s2) = (vec![0.0; k], vec![0.0; k]);
            b.kl_stats_h(&sv, &mut sw, &w, &h, &mut n1, &mut s1);
            b.kl_stats_h(&dv, &mut dw, &w, &h, &mut n2, &mut s2);
            // (the ratio carries the rounding of the k-term WH besides the sum)
            close(&b.to_row_major(&n1), &b.to_row_major(&n2), 2 * len)?;
            prop_assert_eq!(&s1, &s2);
            b.kl_stats_w(&sv, &mut sw, &w, &h, &mut m1, &mut s1);
            b.kl_stats_w(&dv, &mut dw, &w, &h, &mut m2, &mut s2);
            close(&b.to_row_major(&m1), &b.to_row_major(&m2), 2 * len)?;
            prop_assert_eq!(&s1, &s2);
            b.wt_x(&mut n1, &w, &sv);
            b.wt_x(&mut n2, &w, &dv);
            close(&b.to_row_major(&n1), &b.to_row_major(&n2), len)?;
            b.x_ht(&mut m1, &sv, &h);
            b.x_ht(&mut m2, &dv, &h);
            close(&b.to_row_major(&m1), &b.to_row_major(&m2), len)?;
            for loss in [Loss::Frobenius, Loss::KullbackLeibler] {
                let a = b.data_evaluate(&sv, &mut sw, &w, &h, loss);
                let c = b.data_evaluate(&dv, &mut dw, &w, &h, loss);
                // Both within (m + n + k + 4)·u₆₄ of their terms' sizes (the evaluation's
                // `scale` and `f64_terms` bound them), doubled for the two computations.
                let tol = 4.0 * (m + n + k + 4) as f64 * f64::EPSILON * (c.scale + c.f64_terms + c.loss);
                prop_assert!((a.loss - c.loss).abs() <= tol, "{loss}: {} vs {}", a.loss, c.loss);
            }
        }

        /// MU (Frobenius, KL) and HALS on a sparse V never raise the objective after a
        /// half-step beyond the suite's rounding bound, and keep every entry ≥ ε.
        #[test]
        fn rules_are_monotone_on_sparse((m, n, k, d, w, h) in case()) {
            let b = Reference;
            let sv = sparse_of(m, n, &d);
            let eps = 1e-9;
            let (w0, h0) = (b.from_row_major(m, k, &w).unwrap(), b.from_row_major(k, n, &h).unwrap());
            for loss in [Loss::Frobenius, Loss::KullbackLeibler] {
                let mut s = MuSolver::new(&b, &sv, w0.clone(), h0.clone(), loss, eps).unwrap();
                let mut prev = s.evaluate();
                for half in 0..10 {
                    if half % 2 == 0 { s.update_h() } else { s.update_w() }
                    let next = s.evaluate();
                    let bound = prev.rise_bound(&next, k, f64::EPSILON / 2.0);
                    prop_assert!(next.objective <= prev.objective + bound, "{loss} half-step {half}: {} → {}", prev.objective, next.objective);
                    prev = next;
                }
                prop_assert!(b.to_row_major(s.w()).iter().chain(b.to_row_major(s.h()).iter()).all(|&x| x >= eps && x.is_finite()));
            }
            let mut s = HalsSolver::new(&b, &sv, w0, h0, eps, HalsOptions::default()).unwrap();
            let mut prev = s.evaluate();
            for half in 0..10 {
                if half % 2 == 0 { s.update_h() } else { s.update_w() }
                let next = s.evaluate();
                let bound = prev.rise_bound(&next, k, f64::EPSILON / 2.0);
                prop_assert!(next.objective <= prev.objective + bound, "HALS half-step {half}: {} → {}", prev.objective, next.objective);
                prev = next;
            }
        }
    }

    #[test]
    fn beta_divergences_fit_and_zeros_are_refused_for_beta_at_most_0() {
        let v = SparseData::from_triplets(2, 2, &[0, 1], &[0, 1], &[1.0f64, 2.0]).unwrap();
        let fit = |loss| {
            Nmf::params(1)
                .loss(loss)
                .check()
                .unwrap()
                .fit(&Reference, &v)
        };
        assert!(fit(Loss::beta(1.5)).is_ok());
        // β ≤ 0: the zeros (unstored entries) are refused, whatever the storage.
        let e = fit(Loss::ItakuraSaito).unwrap_err();
        assert!(matches!(e, NmfError::ZeroEntryForBeta { .. }), "{e}");
    }

    /// A fit of a sparse V reaches the same loss as the fit of its dense copy (same seed,
    /// same start): the two runs differ only in the order of the products' additions.
    #[test]
    fn a_fit_matches_the_dense_fit() {
        let (m, n) = (30, 20);
        let d: Vec<f64> = (0..m * n)
            .map(|t| {
                if (t * 7) % 5 < 2 {
                    ((t * 13) % 9) as f64
                } else {
                    0.0
                }
            })
            .collect();
        let sv = sparse_of(m, n, &d);
        let dv = Reference.from_row_major(m, n, &d).unwrap();
        for loss in [
            Loss::Frobenius,
            Loss::KullbackLeibler,
            Loss::Beta(1.5),
            Loss::Beta(3.0),
        ] {
            let p = Nmf::params(3)
                .loss(loss)
                .max_iter(200)
                .tol(0.0)
                .seed(4)
                .check()
                .unwrap();
            let (a, c) = (
                p.fit(&Reference, &sv).unwrap(),
                p.fit(&Reference, &dv).unwrap(),
            );
            let rel = (a.final_loss() - c.final_loss()).abs() / c.final_loss();
            // 200 iterations amplify the rounding differences of the products, but the fits
            // follow the same path: agreement to 1e-6 relative is far beyond chance.
            assert!(
                rel < 1e-6,
                "{loss}: {} vs {}",
                a.final_loss(),
                c.final_loss()
            );
        }
    }
}
