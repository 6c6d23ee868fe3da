//! The data term: what a half-step needs from the data matrix V, computed by the data's own
//! type as small statistics.
//!
//! The update rules of [`crate::update`] never touch V. A half-step for H asks the data term
//! for k×n and k×k statistics of V at the current W (and H), and a half-step for W for their
//! m×k and k×k mirrors:
//!
//! | loss | H half-step | W half-step |
//! |---|---|---|
//! | Frobenius | WᵀV (k×n), WᵀW (k×k) | VHᵀ (m×k), HHᵀ (k×k) |
//! | KL | Wᵀ(V/WH) (k×n), the column sums of W (k) | (V/WH)Hᵀ (m×k), the row sums of H (k) |
//! | β | Wᵀ(V∘Λ^(β−2)), WᵀΛ^(β−1) (k×n) with Λ = WH | (V∘Λ^(β−2))Hᵀ, Λ^(β−1)Hᵀ (m×k) |
//!
//! plus the loss at (W, H) in `f64` and the sizes [`Evaluation`](crate::Evaluation) bounds its
//! rounding by ([`DataEvaluation`]). The rules (MU for every β, HALS) consume these and add
//! the penalties; the statistics are what the data term is asked for, so the rules do not
//! change with the data's type.
//!
//! # Other data types
//! The trait is written so that these implement it without changing it (none is implemented
//! yet):
//! - **CSR V.** Every statistic is a sum over the stored entries of V (Wᵀ(V/WH) needs WH only
//!   at the stored entries, where V/WH is non-zero) plus terms that do not involve V (WᵀW, the
//!   column sums of W, and for β the dense WᵀΛ^(β−1)); the loss is a sum over stored entries
//!   plus a closed form for the zeros (ΣWH for KL, ½‖WH‖² = ½·tr(WᵀW·HHᵀ) for Frobenius). Its
//!   [`Work`](DataOps::Work) holds a buffer of V's pattern instead of an m×n matrix.
//! - **Masked V** (missing values; implemented in [`crate::masked`]). The statistics become
//!   sums over the observed entries: Wᵀ(M∘V), and for KL Wᵀ(M∘V/WH) with the column sums
//!   replaced by Wᵀ(M) per column. A masked data term gives the multiplicative rules their
//!   statistics through the β form (β = 2 and β = 1 included,
//!   [`DataOps::data_weighted`]), where the denominator is a product with the mask; the
//!   Frobenius Gram form does not exist for it, and the rules that need it (HALS) reject it.
//! - **Minibatch accumulator.** Each statistic is a sum over the columns (or rows) of V, so an
//!   accumulator adds the statistics of each batch into the caller's buffers and the
//!   rules consume them unchanged.
//! - **Distributed V.** Each node holds a block of V and the matching rows of W (or columns of
//!   H); each statistic is the sum of the nodes' statistics (WᵀV = Σ_p W_pᵀV_p, WᵀW =
//!   Σ_p W_pᵀW_p, and the loss and its sizes are sums too), so a distributed data term
//!   computes its local statistics and all-reduces them before returning. This is why the
//!   Gram matrices and the column sums of W belong to the data term and not to the rule.
//!   Implemented by [`Distributed`](crate::distributed::Distributed) (blocks of rows, H on
//!   every node).
//! - **V read from a file by blocks of rows** (out of core): the same sums, over blocks in
//!   turn, re-read at every pass ([`Streamed`](crate::streamed::Streamed)); a read that fails
//!   mid-fit is reported through [`DataOps::data_error`].
//!
//! Every method writes into caller-owned buffers and the data term's own
//! [`Work`](DataOps::Work), allocated once per fit by [`DataOps::data_work`]: the iteration
//! loop allocates nothing.
//!
//! # Dense V
//! [`dense_data_ops!`](crate::dense_data_ops) implements the trait for a backend's own matrix
//! type from its [`MatrixBackend`] primitives ([`dense`] holds the code); its work buffer is
//! one m×n matrix (two for β), allocated once per fit.

use crate::{Accum, Loss, MatrixBackend, Scalar, Trans, TruncatedSvd};

/// The loss at (W, H) with the sizes of what its evaluation sums, from which
/// [`Evaluation::rise_bound`](crate::Evaluation::rise_bound) follows (see
/// [`MuSolver::evaluate`](crate::MuSolver::evaluate) for what each is, per loss).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DataEvaluation {
    /// The loss, in `f64`.
    pub loss: f64,
    /// An upper bound on the scale S of the terms whose entries of WH carry the rounding of
    /// `T`.
    pub scale: f64,
    /// An upper bound on the sum M of the absolute values of the terms evaluated in `f64`.
    pub f64_terms: f64,
}

/// The data term for data of type `V`: checks of V for a fit, the products of the randomized
/// SVD, and the statistics a half-step needs (see the [module docs](crate::data)).
///
/// For dense V (`V = Self::Mat`) every backend gets it from
/// [`dense_data_ops!`](crate::dense_data_ops).
///
/// # Contracts
/// Shapes must agree (the rules allocate every buffer with the right shape; a mismatch is a
/// programming error and panics). `work` must come from [`data_work`](Self::data_work) for the
/// same V, loss and rank.
pub trait DataOps<T: Scalar, V>: MatrixBackend<T> {
    /// The data term's own buffers for one fit (for dense V: an m×n matrix for WH and the KL
    /// ratio; two for β).
    type Work;

    /// `(rows, columns)` of V.
    fn data_shape(&self, v: &V) -> (usize, usize);
    /// The first stored entry (in row-major order) that is negative, NaN or infinite.
    fn data_first_invalid(&self, v: &V) -> Option<(usize, usize, T)>;
    /// `Σ_ij v_ij`, accumulated in `f64`.
    fn data_sum(&self, v: &V) -> f64;
    /// The mean entry of V, `Σ_ij v_ij / (m·n)`, from which a fit chooses its scale and its
    /// default ε. The default divides [`data_sum`](Self::data_sum) by the shape; a data term
    /// whose [`data_shape`](Self::data_shape) is a part of V (a
    /// [`Distributed`](crate::distributed::Distributed) block) gives the mean of all of V, and
    /// weighted data the weighted mean of the observed entries `Σ M_ij v_ij / Σ M_ij` (an
    /// unobserved entry is not a 0).
    fn data_mean(&self, v: &V) -> f64 {
        let (m, n) = self.data_shape(v);
        self.data_sum(v) / (m as f64 * n as f64)
    }
    /// The `k` leading singular triplets of V from the backend's own SVD, if it has one.
    fn data_truncated_svd(&self, v: &V, k: usize) -> Option<TruncatedSvd<T>>;
    /// The first stored zero (in row-major order); for a sparse V, an entry not stored.
    fn data_first_zero(&self, v: &V) -> Option<(usize, usize)>;
    /// `dst = Wᵀ·V` (k×n), for the randomized SVD.
    ///
    /// # Panics
    /// If the shapes do not agree.
    fn wt_x(&self, dst: &mut Self::Mat, w: &Self::Mat, v: &V);
    /// `dst = V·Hᵀ` (m×k), for the randomized SVD.
    ///
    /// # Panics
    /// If the shapes do not agree.
    fn x_ht(&self, dst: &mut Self::Mat, v: &V, h: &Self::Mat);
    /// A new buffer holding `V / d`, entry by entry, for a power of two `d` (so exact): the
    /// data of a fit rescaled for floating point (see the crate docs, "The guarantee"). Made
    /// once per fit, and only for data whose mean lies outside the range where the fit is
    /// safe as it is. `None` (the default) if this data type cannot be rescaled; the fit
    /// then runs on V as it is.
    fn data_scaled(&self, v: &V, d: T) -> Option<V> {
        let _ = (v, d);
        None
    }

    /// Writes V's entries into `out` (m·n of them) in row-major order and returns `true`, for
    /// the rules that sweep V's rows and columns themselves (KL coordinate descent,
    /// [`CdKlSolver`](crate::CdKlSolver)); `false` (the default) if this data type has no
    /// dense entries to give, leaving `out` as it was.
    ///
    /// # Panics
    /// If `out.len()` is not m·n (for a data type that writes).
    fn data_to_row_major(&self, v: &V, out: &mut [T]) -> bool {
        let _ = (v, out);
        false
    }

    /// V's stored entries by rows (CSR) and by columns (CSR of Vᵀ), for the rules that sweep
    /// V's rows and columns themselves over the stored entries only (KL coordinate descent,
    /// [`CdKlSolver`](crate::CdKlSolver), at O(nnz·k) per sweep); `None` (the default) for
    /// dense V, which gives its entries through [`data_to_row_major`](Self::data_to_row_major).
    fn data_compressed<'v>(
        &self,
        v: &'v V,
    ) -> Option<(crate::sparse::CsrRef<'v, T>, crate::sparse::CsrRef<'v, T>)> {
        let _ = v;
        None
    }

    /// The bytes this data term allocates for a fit of V at rank `k` with `loss`: its
    /// [`Work`](Self::Work), a rescaled copy of V when `scaled`
    /// ([`data_scaled`](Self::data_scaled)), and the copy of V an exact SVD makes when `svd`.
    /// The driver adds these to the factors' buffers and refuses a fit whose buffers cannot be
    /// allocated before it starts. `None` when the count overflows. The default is dense V's:
    /// m·n scalars per buffer (one, two for the general β path, one more when scaled) and m·n
    /// `f64` for the SVD.
    fn data_bytes(&self, v: &V, k: usize, loss: Loss, scaled: bool, svd: bool) -> Option<usize> {
        let _ = k;
        let (m, n) = self.data_shape(v);
        let mn = m.checked_mul(n)?;
        let general = !matches!(loss, Loss::Frobenius | Loss::KullbackLeibler);
        let copies = 1 + usize::from(general) + usize::from(scaled);
        let scalars = mn.checked_mul(copies)?.checked_mul(size_of::<T>())?;
        scalars.checked_add(if svd { mn.checked_mul(8)? } else { 0 })
    }

    /// Whether this data type can give the statistics of `loss`: `Ok` (the default), or
    /// [`NmfError::LossNotForData`](crate::NmfError::LossNotForData) saying why not (checked before a fit starts).
    ///
    /// # Errors
    /// [`NmfError::LossNotForData`](crate::NmfError::LossNotForData).
    fn data_supports(&self, v: &V, loss: Loss) -> Result<(), crate::NmfError> {
        let _ = (v, loss);
        Ok(())
    }

    /// Whether this data term weights its entries (a mask of observed entries or weights,
    /// see [`crate::masked`]): then the loss is `Σ_ij M_ij·d(V_ij, (WH)_ij)`, and its
    /// statistics exist only in the β form, for every loss (β = 2 and β = 1 included):
    /// the multiplicative updates ask for [`beta_stats_h`](Self::beta_stats_h) and
    /// [`beta_stats_w`](Self::beta_stats_w) whatever the loss, and the rules that need the
    /// Frobenius Gram form or every entry of V (HALS, KL coordinate descent) refuse the data.
    /// `false` (the default): the unweighted statistics of the table in the module docs.
    fn data_weighted(&self, v: &V) -> bool {
        let _ = v;
        false
    }

    /// The observed entries and their weights by rows and by columns, for the solvers that
    /// sweep them directly (masked least squares, [`crate::masked::AnlsSolver`]); `None`
    /// (the default) for data that does not hold them in that form.
    fn data_observed<'v>(&self, v: &'v V) -> Option<crate::masked::ObservedRef<'v, T>> {
        let _ = v;
        None
    }

    /// A reproducible random split of the observed entries for held-out evaluation: a
    /// `fraction` of them (drawn from `seed`) for the test set, the rest for training
    /// ([`NmfParams::holdout`](crate::NmfParams::holdout)). The default refuses: only data
    /// that tells observed entries from missing ones can leave some out
    /// ([`crate::masked`]).
    ///
    /// # Errors
    /// [`NmfError::InvalidHoldout`](crate::NmfError::InvalidHoldout).
    fn data_holdout(&self, v: &V, fraction: f64, seed: u64) -> Result<(V, V), crate::NmfError>
    where
        V: Sized,
    {
        let _ = (v, fraction, seed);
        Err(crate::NmfError::InvalidHoldout {
            reason: "held-out entries need data with observed and missing entries \
                     (masked::Observed or masked::Weighted); this data has every entry observed"
                .into(),
        })
    }

    /// The errors of (W, H) on V as a held-out set (RMSE, MAE, mean divergence over its
    /// weighted entries, [`crate::masked::HoldoutError`]), with `work` from
    /// [`data_work`](Self::data_work) for V; `None` (the default) for data that is not a
    /// held-out set.
    fn data_errors(
        &self,
        v: &V,
        work: &mut Self::Work,
        w: &Self::Mat,
        h: &Self::Mat,
        loss: Loss,
    ) -> Option<crate::masked::HoldoutError> {
        let _ = (v, work, w, h, loss);
        None
    }

    /// The failure of a data term that reads V while a fit runs (a
    /// [`Streamed`](crate::streamed::Streamed) V re-read from its file at every pass): the
    /// statistics methods return nothing, so such a term records its first failure (the rest
    /// of that pass does nothing) and the driver asks here after each iteration and each
    /// evaluation of the loss, and after the checks of V, returning the error instead of a
    /// result computed from part of V. `Ok` (the default) for data held in memory.
    ///
    /// # Errors
    /// The recorded failure (for a file: [`NmfError::Io`](crate::NmfError::Io) with its path,
    /// or an entry's error with its row).
    fn data_error(&self, v: &V) -> Result<(), crate::NmfError> {
        let _ = v;
        Ok(())
    }

    /// The buffers of [`Work`](Self::Work) for a fit of V at rank `k` with `loss` (the only
    /// allocation of the data term in a fit).
    fn data_work(&self, v: &V, k: usize, loss: Loss) -> Self::Work;
    /// `num = WᵀV` (k×n) and `gram = WᵀW` (k×k): the Frobenius statistics of the H half-step.
    fn frobenius_stats_h(
        &self,
        v: &V,
        work: &mut Self::Work,
        w: &Self::Mat,
        num: &mut Self::Mat,
        gram: &mut Self::Mat,
    );
    /// `num = VHᵀ` (m×k) and `gram = HHᵀ` (k×k): the Frobenius statistics of the W half-step.
    fn frobenius_stats_w(
        &self,
        v: &V,
        work: &mut Self::Work,
        h: &Self::Mat,
        num: &mut Self::Mat,
        gram: &mut Self::Mat,
    );
    /// `num = Wᵀ(V/WH)` (k×n, the ratio exactly 0 where V is 0) and `sums` = the k column
    /// sums of W: the KL statistics of the H half-step.
    fn kl_stats_h(
        &self,
        v: &V,
        work: &mut Self::Work,
        w: &Self::Mat,
        h: &Self::Mat,
        num: &mut Self::Mat,
        sums: &mut [T],
    );
    /// `num = (V/WH)Hᵀ` (m×k) and `sums` = the k row sums of H: the KL statistics of the W
    /// half-step.
    fn kl_stats_w(
        &self,
        v: &V,
        work: &mut Self::Work,
        w: &Self::Mat,
        h: &Self::Mat,
        num: &mut Self::Mat,
        sums: &mut [T],
    );
    /// `num = Wᵀ(V∘Λ^(β−2))` and `den = WᵀΛ^(β−1)` (k×n) with Λ = WH (see
    /// [`kernels::beta_parts`](crate::kernels::beta_parts)): the β statistics of the H
    /// half-step.
    #[allow(clippy::too_many_arguments)]
    fn beta_stats_h(
        &self,
        v: &V,
        work: &mut Self::Work,
        w: &Self::Mat,
        h: &Self::Mat,
        beta: T,
        num: &mut Self::Mat,
        den: &mut Self::Mat,
    );
    /// `num = (V∘Λ^(β−2))Hᵀ` and `den = Λ^(β−1)Hᵀ` (m×k): the β statistics of the W
    /// half-step.
    #[allow(clippy::too_many_arguments)]
    fn beta_stats_w(
        &self,
        v: &V,
        work: &mut Self::Work,
        w: &Self::Mat,
        h: &Self::Mat,
        beta: T,
        num: &mut Self::Mat,
        den: &mut Self::Mat,
    );
    /// The loss at (W, H) in `f64`: `½‖V − WH‖²`, `D(V‖WH)` or `D_β(V‖WH)`.
    fn data_loss(
        &self,
        v: &V,
        work: &mut Self::Work,
        w: &Self::Mat,
        h: &Self::Mat,
        loss: Loss,
    ) -> f64;
    /// The loss at (W, H) with the sizes of its rounding (see [`DataEvaluation`]).
    fn data_evaluate(
        &self,
        v: &V,
        work: &mut Self::Work,
        w: &Self::Mat,
        h: &Self::Mat,
        loss: Loss,
    ) -> DataEvaluation;
}

/// The data term of dense V, on any backend's primitives: what
/// [`dense_data_ops!`](crate::dense_data_ops) forwards to.
pub mod dense {
    use super::*;

    /// The work buffers of a dense data term.
    #[derive(Debug, Clone)]
    pub struct DenseWork<T, M> {
        /// m×n: WH, the KL ratio, V∘Λ^(β−2).
        scratch: M,
        /// m×n for β (Λ^(β−1)), 0×0 otherwise.
        scratch2: M,
        /// KL: the column sums of W and the row sums of H (ΣWH of the evaluation).
        wh_sums: Vec<T>,
        /// `½‖V‖²` (Frobenius) or `ΣV` (KL), at the first evaluation.
        data_scale: Option<f64>,
    }

    /// The buffers for V (m×n) at rank `k` with `loss`.
    pub fn work<T: Scalar, B: MatrixBackend<T>>(
        b: &B,
        v: &B::Mat,
        k: usize,
        loss: Loss,
    ) -> DenseWork<T, B::Mat> {
        let general = !matches!(loss, Loss::Frobenius | Loss::KullbackLeibler);
        DenseWork {
            scratch: b.zeros_like(v),
            scratch2: if general {
                b.zeros_like(v)
            } else {
                b.zeros(0, 0)
            },
            wh_sums: vec![
                T::zero();
                if loss == Loss::KullbackLeibler {
                    2 * k
                } else {
                    0
                }
            ],
            data_scale: None,
        }
    }

    /// `dst = α·op(a)·op(b)`.
    fn product<T: Scalar, B: MatrixBackend<T>>(
        b: &B,
        dst: &mut B::Mat,
        x: &B::Mat,
        tx: Trans,
        y: &B::Mat,
        ty: Trans,
    ) {
        b.matmul(dst, Accum::Replace, T::one(), x, tx, y, ty);
    }

    /// `scratch = WH`.
    fn wh<T: Scalar, B: MatrixBackend<T>>(
        b: &B,
        work: &mut DenseWork<T, B::Mat>,
        w: &B::Mat,
        h: &B::Mat,
    ) {
        product(b, &mut work.scratch, w, Trans::No, h, Trans::No);
    }

    /// See [`DataOps::frobenius_stats_h`].
    pub fn frobenius_stats_h<T: Scalar, B: MatrixBackend<T>>(
        b: &B,
        v: &B::Mat,
        w: &B::Mat,
        num: &mut B::Mat,
        gram: &mut B::Mat,
    ) {
        product(b, num, w, Trans::Yes, v, Trans::No);
        product(b, gram, w, Trans::Yes, w, Trans::No);
    }

    /// See [`DataOps::frobenius_stats_w`].
    pub fn frobenius_stats_w<T: Scalar, B: MatrixBackend<T>>(
        b: &B,
        v: &B::Mat,
        h: &B::Mat,
        num: &mut B::Mat,
        gram: &mut B::Mat,
    ) {
        product(b, num, v, Trans::No, h, Trans::Yes);
        product(b, gram, h, Trans::No, h, Trans::Yes);
    }

    /// See [`DataOps::kl_stats_h`].
    pub fn kl_stats_h<T: Scalar, B: MatrixBackend<T>>(
        b: &B,
        v: &B::Mat,
        work: &mut DenseWork<T, B::Mat>,
        w: &B::Mat,
        h: &B::Mat,
        num: &mut B::Mat,
        sums: &mut [T],
    ) {
        wh(b, work, w, h);
        b.kl_ratio_in_place(&mut work.scratch, v);
        product(b, num, w, Trans::Yes, &work.scratch, Trans::No);
        b.col_sums(w, sums);
    }

    /// See [`DataOps::kl_stats_w`].
    pub fn kl_stats_w<T: Scalar, B: MatrixBackend<T>>(
        b: &B,
        v: &B::Mat,
        work: &mut DenseWork<T, B::Mat>,
        w: &B::Mat,
        h: &B::Mat,
        num: &mut B::Mat,
        sums: &mut [T],
    ) {
        wh(b, work, w, h);
        b.kl_ratio_in_place(&mut work.scratch, v);
        product(b, num, &work.scratch, Trans::No, h, Trans::Yes);
        b.row_sums(h, sums);
    }

    /// `scratch ← V∘Λ^(β−2)`, `scratch2 ← Λ^(β−1)` with Λ = WH.
    fn beta_parts<T: Scalar, B: MatrixBackend<T>>(
        b: &B,
        v: &B::Mat,
        work: &mut DenseWork<T, B::Mat>,
        w: &B::Mat,
        h: &B::Mat,
        beta: T,
    ) {
        wh(b, work, w, h);
        b.beta_parts_in_place(&mut work.scratch, &mut work.scratch2, v, beta);
    }

    /// See [`DataOps::beta_stats_h`].
    #[allow(clippy::too_many_arguments)]
    pub fn beta_stats_h<T: Scalar, B: MatrixBackend<T>>(
        b: &B,
        v: &B::Mat,
        work: &mut DenseWork<T, B::Mat>,
        w: &B::Mat,
        h: &B::Mat,
        beta: T,
        num: &mut B::Mat,
        den: &mut B::Mat,
    ) {
        beta_parts(b, v, work, w, h, beta);
        product(b, num, w, Trans::Yes, &work.scratch, Trans::No);
        product(b, den, w, Trans::Yes, &work.scratch2, Trans::No);
    }

    /// See [`DataOps::beta_stats_w`].
    #[allow(clippy::too_many_arguments)]
    pub fn beta_stats_w<T: Scalar, B: MatrixBackend<T>>(
        b: &B,
        v: &B::Mat,
        work: &mut DenseWork<T, B::Mat>,
        w: &B::Mat,
        h: &B::Mat,
        beta: T,
        num: &mut B::Mat,
        den: &mut B::Mat,
    ) {
        beta_parts(b, v, work, w, h, beta);
        product(b, num, &work.scratch, Trans::No, h, Trans::Yes);
        product(b, den, &work.scratch2, Trans::No, h, Trans::Yes);
    }

    /// See [`DataOps::data_loss`].
    pub fn loss<T: Scalar, B: MatrixBackend<T>>(
        b: &B,
        v: &B::Mat,
        work: &mut DenseWork<T, B::Mat>,
        w: &B::Mat,
        h: &B::Mat,
        loss: Loss,
    ) -> f64 {
        wh(b, work, w, h);
        match loss {
            Loss::Frobenius => b.frobenius_loss(v, &work.scratch),
            Loss::KullbackLeibler => b.kl_loss(v, &work.scratch),
            Loss::ItakuraSaito | Loss::Beta(_) => b.beta_loss(v, &work.scratch, loss.beta_value()),
        }
    }

    /// See [`DataOps::data_evaluate`]; the sizes are derived in
    /// [`MuSolver::evaluate`](crate::MuSolver::evaluate).
    pub fn evaluate<T: Scalar, B: MatrixBackend<T>>(
        b: &B,
        v: &B::Mat,
        work: &mut DenseWork<T, B::Mat>,
        w: &B::Mat,
        h: &B::Mat,
        kind: Loss,
    ) -> DataEvaluation {
        let value = loss(b, v, work, w, h, kind);
        let (scale, f64_terms) = match kind {
            Loss::Frobenius => {
                let sv = *work.data_scale.get_or_insert_with(|| 0.5 * b.sq_norm(v));
                (3.0 * sv + 2.0 * value, 0.0)
            }
            Loss::KullbackLeibler => {
                let sv = *work.data_scale.get_or_insert_with(|| b.sum(v));
                let k = work.wh_sums.len() / 2;
                let (cols, rows) = work.wh_sums.split_at_mut(k);
                b.col_sums(w, cols);
                b.row_sums(h, rows);
                let swh: f64 = cols
                    .iter()
                    .zip(rows.iter())
                    .map(|(c, r)| c.as_f64() * r.as_f64())
                    .sum();
                (sv + swh, value + sv + swh)
            }
            Loss::ItakuraSaito | Loss::Beta(_) => {
                let beta = kind.beta_value();
                // scratch ← V∘λ^(β−1), scratch2 ← λ^β (the update recomputes both).
                beta_parts(b, v, work, w, h, T::from_f64(beta + 1.0));
                let c = b.sum(&work.scratch);
                let bb = b.sum(&work.scratch2);
                return beta_evaluation(value, bb, c, beta);
            }
        };
        DataEvaluation {
            loss: value,
            scale,
            f64_terms,
        }
    }
}

/// The evaluation of a β-divergence loss `value` from `bb = Σ Λ^β` and `c = Σ V∘Λ^(β−1)`
/// (each entry of Λ = WH formed in `T`): the sizes derived in
/// [`MuSolver::evaluate`](crate::MuSolver::evaluate), for every data type that forms WH.
pub(crate) fn beta_evaluation(value: f64, bb: f64, c: f64, beta: f64) -> DataEvaluation {
    let terms = if beta == 0.0 || beta == 1.0 {
        value + 2.0 * bb + 2.0 * c
    } else {
        value + 2.0 * bb / beta.abs() + 2.0 * c / (beta - 1.0).abs()
    };
    DataEvaluation {
        loss: value,
        scale: bb + c,
        f64_terms: terms,
    }
}

/// Implements [`DataOps<T, Self::Mat>`](DataOps) (dense V) from a backend's
/// [`MatrixBackend`] primitives (the code is in [`dense`]). Use it inside the impl block,
/// naming the scalar type parameter:
///
/// ```ignore
/// impl<T: MyScalar> nmf_core::DataOps<T, MyMat<T>> for MyBackend {
///     nmf_core::dense_data_ops!(T);
/// }
/// ```
///
/// (A blanket impl over every backend would forbid a backend from also implementing
/// `DataOps` for a sparse type, so each backend opts in with this one line.)
#[macro_export]
macro_rules! dense_data_ops {
    ($t:ty) => {
        type Work = $crate::data::dense::DenseWork<$t, <Self as $crate::MatrixBackend<$t>>::Mat>;

        fn data_shape(&self, v: &<Self as $crate::MatrixBackend<$t>>::Mat) -> (usize, usize) {
            <Self as $crate::MatrixBackend<$t>>::shape(self, v)
        }
        fn data_first_invalid(
            &self,
            v: &<Self as $crate::MatrixBackend<$t>>::Mat,
        ) -> Option<(usize, usize, $t)> {
            <Self as $crate::MatrixBackend<$t>>::first_invalid(self, v)
        }
        fn data_sum(&self, v: &<Self as $crate::MatrixBackend<$t>>::Mat) -> f64 {
            <Self as $crate::MatrixBackend<$t>>::sum(self, v)
        }
        fn data_truncated_svd(
            &self,
            v: &<Self as $crate::MatrixBackend<$t>>::Mat,
            k: usize,
        ) -> Option<$crate::TruncatedSvd<$t>> {
            <Self as $crate::MatrixBackend<$t>>::truncated_svd(self, v, k)
        }
        fn data_first_zero(
            &self,
            v: &<Self as $crate::MatrixBackend<$t>>::Mat,
        ) -> Option<(usize, usize)> {
            <Self as $crate::MatrixBackend<$t>>::first_zero(self, v)
        }
        fn wt_x(
            &self,
            dst: &mut <Self as $crate::MatrixBackend<$t>>::Mat,
            w: &<Self as $crate::MatrixBackend<$t>>::Mat,
            x: &<Self as $crate::MatrixBackend<$t>>::Mat,
        ) {
            <Self as $crate::MatrixBackend<$t>>::matmul(
                self,
                dst,
                $crate::Accum::Replace,
                <$t as $crate::num_traits::One>::one(),
                w,
                $crate::Trans::Yes,
                x,
                $crate::Trans::No,
            )
        }
        fn x_ht(
            &self,
            dst: &mut <Self as $crate::MatrixBackend<$t>>::Mat,
            x: &<Self as $crate::MatrixBackend<$t>>::Mat,
            h: &<Self as $crate::MatrixBackend<$t>>::Mat,
        ) {
            <Self as $crate::MatrixBackend<$t>>::matmul(
                self,
                dst,
                $crate::Accum::Replace,
                <$t as $crate::num_traits::One>::one(),
                x,
                $crate::Trans::No,
                h,
                $crate::Trans::Yes,
            )
        }
        fn data_scaled(
            &self,
            v: &<Self as $crate::MatrixBackend<$t>>::Mat,
            d: $t,
        ) -> Option<<Self as $crate::MatrixBackend<$t>>::Mat> {
            let (m, n) = <Self as $crate::MatrixBackend<$t>>::shape(self, v);
            let mut out = <Self as $crate::MatrixBackend<$t>>::from_fn(self, m, n, |_, _| d);
            // kl_ratio_in_place: out ← v / out, exactly 0 where v is 0.
            <Self as $crate::MatrixBackend<$t>>::kl_ratio_in_place(self, &mut out, v);
            Some(out)
        }
        fn data_to_row_major(
            &self,
            v: &<Self as $crate::MatrixBackend<$t>>::Mat,
            out: &mut [$t],
        ) -> bool {
            <Self as $crate::MatrixBackend<$t>>::copy_to_row_major(self, v, out);
            true
        }
        fn data_work(
            &self,
            v: &<Self as $crate::MatrixBackend<$t>>::Mat,
            k: usize,
            loss: $crate::Loss,
        ) -> Self::Work {
            $crate::data::dense::work(self, v, k, loss)
        }
        fn frobenius_stats_h(
            &self,
            v: &<Self as $crate::MatrixBackend<$t>>::Mat,
            _work: &mut Self::Work,
            w: &<Self as $crate::MatrixBackend<$t>>::Mat,
            num: &mut <Self as $crate::MatrixBackend<$t>>::Mat,
            gram: &mut <Self as $crate::MatrixBackend<$t>>::Mat,
        ) {
            $crate::data::dense::frobenius_stats_h(self, v, w, num, gram)
        }
        fn frobenius_stats_w(
            &self,
            v: &<Self as $crate::MatrixBackend<$t>>::Mat,
            _work: &mut Self::Work,
            h: &<Self as $crate::MatrixBackend<$t>>::Mat,
            num: &mut <Self as $crate::MatrixBackend<$t>>::Mat,
            gram: &mut <Self as $crate::MatrixBackend<$t>>::Mat,
        ) {
            $crate::data::dense::frobenius_stats_w(self, v, h, num, gram)
        }
        fn kl_stats_h(
            &self,
            v: &<Self as $crate::MatrixBackend<$t>>::Mat,
            work: &mut Self::Work,
            w: &<Self as $crate::MatrixBackend<$t>>::Mat,
            h: &<Self as $crate::MatrixBackend<$t>>::Mat,
            num: &mut <Self as $crate::MatrixBackend<$t>>::Mat,
            sums: &mut [$t],
        ) {
            $crate::data::dense::kl_stats_h(self, v, work, w, h, num, sums)
        }
        fn kl_stats_w(
            &self,
            v: &<Self as $crate::MatrixBackend<$t>>::Mat,
            work: &mut Self::Work,
            w: &<Self as $crate::MatrixBackend<$t>>::Mat,
            h: &<Self as $crate::MatrixBackend<$t>>::Mat,
            num: &mut <Self as $crate::MatrixBackend<$t>>::Mat,
            sums: &mut [$t],
        ) {
            $crate::data::dense::kl_stats_w(self, v, work, w, h, num, sums)
        }
        fn beta_stats_h(
            &self,
            v: &<Self as $crate::MatrixBackend<$t>>::Mat,
            work: &mut Self::Work,
            w: &<Self as $crate::MatrixBackend<$t>>::Mat,
            h: &<Self as $crate::MatrixBackend<$t>>::Mat,
            beta: $t,
            num: &mut <Self as $crate::MatrixBackend<$t>>::Mat,
            den: &mut <Self as $crate::MatrixBackend<$t>>::Mat,
        ) {
            $crate::data::dense::beta_stats_h(self, v, work, w, h, beta, num, den)
        }
        fn beta_stats_w(
            &self,
            v: &<Self as $crate::MatrixBackend<$t>>::Mat,
            work: &mut Self::Work,
            w: &<Self as $crate::MatrixBackend<$t>>::Mat,
            h: &<Self as $crate::MatrixBackend<$t>>::Mat,
            beta: $t,
            num: &mut <Self as $crate::MatrixBackend<$t>>::Mat,
            den: &mut <Self as $crate::MatrixBackend<$t>>::Mat,
        ) {
            $crate::data::dense::beta_stats_w(self, v, work, w, h, beta, num, den)
        }
        fn data_loss(
            &self,
            v: &<Self as $crate::MatrixBackend<$t>>::Mat,
            work: &mut Self::Work,
            w: &<Self as $crate::MatrixBackend<$t>>::Mat,
            h: &<Self as $crate::MatrixBackend<$t>>::Mat,
            loss: $crate::Loss,
        ) -> f64 {
            $crate::data::dense::loss(self, v, work, w, h, loss)
        }
        fn data_evaluate(
            &self,
            v: &<Self as $crate::MatrixBackend<$t>>::Mat,
            work: &mut Self::Work,
            w: &<Self as $crate::MatrixBackend<$t>>::Mat,
            h: &<Self as $crate::MatrixBackend<$t>>::Mat,
            loss: $crate::Loss,
        ) -> $crate::data::DataEvaluation {
            $crate::data::dense::evaluate(self, v, work, w, h, loss)
        }
    };
}

/// A backend whose data matrix V is its own dense matrix type: what every backend crate
/// provides, and the bound to write when generic over backends with dense data.
///
/// ```
/// use nmf_core::{DenseBackend, Nmf, NmfError, Scalar, reference::Reference};
/// fn rank_one_loss<T: Scalar, B: DenseBackend<T>>(b: &B, v: &B::Mat) -> Result<f64, NmfError> {
///     Ok(Nmf::params(1).fit(b, v)?.final_loss())
/// }
/// let v = nmf_core::MatrixBackend::<f64>::from_row_major(&Reference, 1, 2, &[1.0, 2.0]).unwrap();
/// assert!(rank_one_loss(&Reference, &v).unwrap() < 1e-10);
/// ```
pub trait DenseBackend<T: Scalar>:
    MatrixBackend<T> + DataOps<T, <Self as MatrixBackend<T>>::Mat>
{
}

impl<T: Scalar, B> DenseBackend<T> for B where
    B: MatrixBackend<T> + DataOps<T, <B as MatrixBackend<T>>::Mat>
{
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reference::Reference;

    /// The dense data term's statistics against the formulas, entry by entry, on small
    /// matrices. Each statistic is a sum of at most max(m, k) products of positive terms
    /// computed in f64 by both sides, in possibly different orders: they agree within
    /// 1e-12 relative (a few hundred units of roundoff at these sizes).
    #[test]
    fn dense_statistics_are_the_formulas() {
        let b = Reference;
        let (m, n, k) = (5, 4, 3);
        let v = b.from_fn(m, n, |i, j| {
            if (i + j) % 3 == 0 {
                0.0
            } else {
                1.0 + (i * n + j) as f64
            }
        });
        let w = b.from_fn(m, k, |i, a| 0.5 + ((i * 7 + a * 3) % 5) as f64);
        let h = b.from_fn(k, n, |a, j| 0.25 + ((a * 5 + j * 2) % 7) as f64);
        let (vr, wr, hr) = (b.to_row_major(&v), b.to_row_major(&w), b.to_row_major(&h));
        let wh = |i: usize, j: usize| (0..k).map(|a| wr[i * k + a] * hr[a * n + j]).sum::<f64>();
        let close = |what: &str, got: &[f64], want: &[f64]| {
            assert_eq!(got.len(), want.len(), "{what}");
            for (idx, (g, x)) in got.iter().zip(want).enumerate() {
                assert!(
                    (g - x).abs() <= 1e-12 * x.abs().max(1.0),
                    "{what}[{idx}]: {g} vs {x}"
                );
            }
        };
        for loss in [Loss::Frobenius, Loss::KullbackLeibler, Loss::Beta(1.5)] {
            let mut work = DataOps::<f64, _>::data_work(&b, &v, k, loss);
            let (mut num_h, mut num_w) = (b.zeros(k, n), b.zeros(m, k));
            match loss {
                Loss::Frobenius => {
                    let mut gram = b.zeros(k, k);
                    b.frobenius_stats_h(&v, &mut work, &w, &mut num_h, &mut gram);
                    let want: Vec<f64> = (0..k * n)
                        .map(|p| (0..m).map(|i| wr[i * k + p / n] * vr[i * n + p % n]).sum())
                        .collect();
                    close("WᵀV", &b.to_row_major(&num_h), &want);
                    let want: Vec<f64> = (0..k * k)
                        .map(|p| (0..m).map(|i| wr[i * k + p / k] * wr[i * k + p % k]).sum())
                        .collect();
                    close("WᵀW", &b.to_row_major(&gram), &want);
                    b.frobenius_stats_w(&v, &mut work, &h, &mut num_w, &mut gram);
                    let want: Vec<f64> = (0..m * k)
                        .map(|p| {
                            (0..n)
                                .map(|j| vr[(p / k) * n + j] * hr[(p % k) * n + j])
                                .sum()
                        })
                        .collect();
                    close("VHᵀ", &b.to_row_major(&num_w), &want);
                }
                Loss::KullbackLeibler => {
                    let mut sums = vec![0.0; k];
                    b.kl_stats_h(&v, &mut work, &w, &h, &mut num_h, &mut sums);
                    let want: Vec<f64> = (0..k * n)
                        .map(|p| {
                            let (a, j) = (p / n, p % n);
                            (0..m)
                                .map(|i| wr[i * k + a] * vr[i * n + j] / wh(i, j))
                                .sum()
                        })
                        .collect();
                    close("Wᵀ(V/WH)", &b.to_row_major(&num_h), &want);
                    let want: Vec<f64> = (0..k)
                        .map(|a| (0..m).map(|i| wr[i * k + a]).sum())
                        .collect();
                    close("column sums of W", &sums, &want);
                    b.kl_stats_w(&v, &mut work, &w, &h, &mut num_w, &mut sums);
                    let want: Vec<f64> = (0..k)
                        .map(|a| (0..n).map(|j| hr[a * n + j]).sum())
                        .collect();
                    close("row sums of H", &sums, &want);
                }
                _ => {
                    let mut den_h = b.zeros(k, n);
                    b.beta_stats_h(&v, &mut work, &w, &h, 1.5, &mut num_h, &mut den_h);
                    let (num, den): (Vec<f64>, Vec<f64>) = (0..k * n)
                        .map(|p| {
                            let (a, j) = (p / n, p % n);
                            let f = |i: usize, e: f64| wr[i * k + a] * wh(i, j).powf(e);
                            (
                                (0..m).map(|i| f(i, -0.5) * vr[i * n + j]).sum::<f64>(),
                                (0..m).map(|i| f(i, 0.5)).sum::<f64>(),
                            )
                        })
                        .unzip();
                    close("Wᵀ(V∘Λ^(β−2))", &b.to_row_major(&num_h), &num);
                    close("WᵀΛ^(β−1)", &b.to_row_major(&den_h), &den);
                }
            }
            // The evaluation's loss is the loss, and its sizes bound it.
            let l = b.data_loss(&v, &mut work, &w, &h, loss);
            let e = b.data_evaluate(&v, &mut work, &w, &h, loss);
            assert_eq!(l.to_bits(), e.loss.to_bits(), "{loss}");
            assert!(e.scale > 0.0 && e.f64_terms >= 0.0, "{loss}: {e:?}");
        }
    }
}
