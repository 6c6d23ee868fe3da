//! A data term distributed over processes by blocks of rows (the 1-D distribution of PLANC):
//! [`Distributed`] wraps the local block of V (dense, or [`SparseData`](crate::sparse::SparseData),
//! or any data type with a [`DataOps`] implementation) and a [`Collective`], the all-reduce of
//! the processes (an MPI communicator in the crate `nmf-mpi`; this crate has no MPI
//! dependency).
//!
//! # What is distributed
//! Process p holds the rows `r_p..r_{p+1}` of V and the same rows of W; every process holds all
//! of H. Each statistic of the H half-step is a sum over the rows of V:
//!
//! | loss | H half-step | summed over processes |
//! |---|---|---|
//! | Frobenius (MU, HALS) | WᵀV = Σ_p W_pᵀV_p, WᵀW = Σ_p W_pᵀW_p | k×n + k×k |
//! | KL | Wᵀ(V/WH), the column sums of W | k×n + k |
//! | β | Wᵀ(V∘Λ^(β−2)), WᵀΛ^(β−1) | 2·k×n |
//!
//! so each process computes its local statistics with the wrapped data term and one
//! all-reduce adds them: every process then holds the same statistics and makes the same H
//! half-step, so H stays the same on every process. The W half-step needs V_p, W_p and H
//! only (VHᵀ, HHᵀ, (V/WH)Hᵀ, …): it is local, with no communication. The loss and the sizes
//! of its evaluation ([`DataEvaluation`]) are sums over rows too and are all-reduced, so every
//! process sees the same loss, takes the same stopping decision and runs the same number of
//! iterations. The checks of V are collective as well: the first invalid entry (negative,
//! NaN, infinite) or the first zero of V is the same on every process, with its global row,
//! so a bad entry in any block stops every process with the same error.
//!
//! Every process calls the same methods in the same order (a fit does: its calls depend only
//! on the parameters, the shape, and all-reduced values), so the collectives match.
//!
//! # Rounding
//! The local statistics are computed in the scalar type `T` and added across processes in
//! `f64` (then rounded to `T` once), so a sum of m non-negative terms is split into P partial
//! sums and added in another order than a single process adds it; each way is within
//! γ_m = m·u/(1 − m·u) of the exact sum, so the two differ by at most 2γ_m relative (u the
//! unit roundoff of `T`). The [`Collective`] must give every process the same bits (the
//! nmf-mpi communicator exchanges the buffers of two processes, each adding b₀ + b₁, and
//! reduces to one process and broadcasts for more).
//!
//! # What is not distributed
//! - The factors' penalties: a rule adds ‖W‖ terms from the local W, and the H weights of
//!   scikit-learn's scaling count the local rows. Fit without penalties (nmf-mpi refuses them).
//! - HALS's repeated inner sweeps ([`HalsOptions::alpha`](crate::HalsOptions::alpha) > 0):
//!   their budget counts the local rows and their early stop uses the local change of W, so
//!   they differ between processes; use `alpha = 0` (one sweep per half-step).
//! - NNDSVD (it needs the SVD of all of V; [`DataOps::data_truncated_svd`] is `None` here) and
//!   KL coordinate descent (it sweeps whole columns of V; [`DataOps::data_to_row_major`] is
//!   `false`). Start from [`Fitting::start`](crate::Fitting::start) with the local rows of W.

use crate::data::DataEvaluation;
use crate::{DataOps, Loss, MatrixBackend, MatrixRole, NmfError, RunAxis, Scalar, TruncatedSvd};

/// The collective operations of a group of processes that a [`Distributed`] data term needs.
///
/// Every process of the group must call each method in the same order (they are
/// collective): a call on one process waits for the same call on the others.
pub trait Collective {
    /// This process's index in the group, `0..size()`.
    fn rank(&self) -> usize;
    /// The number of processes.
    fn size(&self) -> usize;
    /// `buf ← Σ_p buf_p` over the processes, entry by entry, with the same bits on every
    /// process. Every process passes a buffer of the same length.
    fn all_reduce_sum(&self, buf: &mut [f64]);
}

impl<C: Collective + ?Sized> Collective for &C {
    fn rank(&self) -> usize {
        (**self).rank()
    }
    fn size(&self) -> usize {
        (**self).size()
    }
    fn all_reduce_sum(&self, buf: &mut [f64]) {
        (**self).all_reduce_sum(buf)
    }
}

/// One process alone: the all-reduce is the identity. A [`Distributed`] data term on it is
/// the wrapped data term.
#[derive(Debug, Clone, Copy, Default)]
pub struct SingleProcess;

impl Collective for SingleProcess {
    fn rank(&self) -> usize {
        0
    }
    fn size(&self) -> usize {
        1
    }
    fn all_reduce_sum(&self, _buf: &mut [f64]) {}
}

/// This process's block of rows of V with the collective of the group (see the
/// [module docs](self)). Built collectively by [`Distributed::new`].
#[derive(Debug, Clone)]
pub struct Distributed<V, C> {
    local: V,
    comm: C,
    /// The global row of the first local row.
    offset: usize,
    /// Rows of V over all processes.
    rows: usize,
    /// Columns of V.
    cols: usize,
}

impl<V, C: Collective> Distributed<V, C> {
    /// Wraps this process's block `local` of V. Collective: every process calls it, with the
    /// blocks in rank order (process p holds the rows after those of processes 0..p).
    ///
    /// # Errors
    /// The same on every process: [`NmfError::EmptyMatrix`] if a process's block has no row
    /// (its rows and columns are reported; use fewer processes than V has rows), or
    /// [`NmfError::ShapeMismatch`] if the blocks do not have the same number of columns (the
    /// first block that differs from process 0's).
    pub fn new<T: Scalar, B: DataOps<T, V>>(b: &B, local: V, comm: C) -> Result<Self, NmfError> {
        let (p, size) = (comm.rank(), comm.size());
        let (m, n) = b.data_shape(&local);
        let mut shapes = vec![0.0; 2 * size];
        shapes[2 * p] = m as f64;
        shapes[2 * p + 1] = n as f64;
        comm.all_reduce_sum(&mut shapes);
        let shape = |q: usize| (shapes[2 * q] as usize, shapes[2 * q + 1] as usize);
        let cols = shape(0).1;
        for q in 0..size {
            let (mq, nq) = shape(q);
            if mq == 0 {
                return Err(NmfError::EmptyMatrix {
                    matrix: MatrixRole::V,
                    rows: mq,
                    cols: nq,
                });
            }
            if nq != cols {
                return Err(NmfError::ShapeMismatch {
                    matrix: MatrixRole::V,
                    expected: (mq, cols),
                    found: (mq, nq),
                });
            }
        }
        let offset = (0..p).map(|q| shape(q).0).sum();
        let rows = (0..size).map(|q| shape(q).0).sum();
        Ok(Self {
            local,
            comm,
            offset,
            rows,
            cols,
        })
    }

    /// This process's block of V.
    pub fn local(&self) -> &V {
        &self.local
    }
    /// The collective.
    pub fn comm(&self) -> &C {
        &self.comm
    }
    /// The global row of this process's first row.
    pub fn row_offset(&self) -> usize {
        self.offset
    }
    /// `(rows, columns)` of all of V.
    pub fn global_shape(&self) -> (usize, usize) {
        (self.rows, self.cols)
    }
    /// The block of V, giving up the collective.
    pub fn into_local(self) -> V {
        self.local
    }
}

/// The rows `[start, end)` of block `p` of `rows` rows split over `size` processes as evenly
/// as possible (the first `rows mod size` blocks have one row more): the distribution nmf-mpi
/// uses.
///
/// ```
/// use nmf_core::distributed::block_rows;
/// assert_eq!(block_rows(10, 3, 0), 0..4);
/// assert_eq!(block_rows(10, 3, 1), 4..7);
/// assert_eq!(block_rows(10, 3, 2), 7..10);
/// ```
pub fn block_rows(rows: usize, size: usize, p: usize) -> core::ops::Range<usize> {
    let (q, r) = (rows / size, rows % size);
    let start = p * q + p.min(r);
    start..start + q + usize::from(p < r)
}

/// The buffers of a distributed data term for one fit: the wrapped term's, and the buffer of
/// the all-reduce (at most 2·k·n + k·k values in `f64`).
#[derive(Debug, Clone)]
pub struct DistributedWork<T, W> {
    local: W,
    sums: Vec<f64>,
    _scalar: core::marker::PhantomData<T>,
}

/// All-reduces the `mats` (backend matrices) and `extra` (plain values) in one message: the
/// entries are written into `sums` in `f64` in row-major order (one pass over each matrix's
/// storage), added over the processes, and written back rounded to `T`.
fn reduce_into<T: Scalar, B: MatrixBackend<T>, C: Collective>(
    b: &B,
    comm: &C,
    sums: &mut [f64],
    mats: &mut [&mut B::Mat],
    extra: &mut [T],
) {
    let mut at = 0;
    for a in mats.iter() {
        let cols = b.ncols(a);
        let part = &mut sums[at..at + b.nrows(a) * cols];
        b.visit(&[&**a], &mut |run, i| match run.axis {
            RunAxis::Row => {
                let from = run.row * cols + run.col;
                for (s, &x) in part[from..from + run.len].iter_mut().zip(i[0]) {
                    *s = x.as_f64();
                }
            }
            RunAxis::Column => {
                for (r, &x) in i[0].iter().enumerate() {
                    part[(run.row + r) * cols + run.col] = x.as_f64();
                }
            }
        });
        at += part.len();
    }
    for (s, &x) in sums[at..at + extra.len()].iter_mut().zip(extra.iter()) {
        *s = x.as_f64();
    }
    let len = at + extra.len();
    comm.all_reduce_sum(&mut sums[..len]);
    let mut at = 0;
    for a in mats.iter_mut() {
        let cols = b.ncols(a);
        let part = &sums[at..at + b.nrows(a) * cols];
        b.zip_mut(&mut [&mut **a], &[], &|run, o, _| match run.axis {
            RunAxis::Row => {
                let from = run.row * cols + run.col;
                for (x, &s) in o[0].iter_mut().zip(&part[from..from + run.len]) {
                    *x = T::from_f64(s);
                }
            }
            RunAxis::Column => {
                for (r, x) in o[0].iter_mut().enumerate() {
                    *x = T::from_f64(part[(run.row + r) * cols + run.col]);
                }
            }
        });
        at += part.len();
    }
    for (x, &s) in extra.iter_mut().zip(&sums[at..len]) {
        *x = T::from_f64(s);
    }
}

/// The first flagged place over the processes, in rank order (so in the row-major order of V,
/// as the blocks are in rank order): each process writes `slot` values into its own slot of
/// a zeroed buffer (a flag 1 then its values), one all-reduce, and every process reads the
/// same answer.
fn first_over<C: Collective>(comm: &C, mine: Option<&[f64]>, slot: usize) -> Option<Vec<f64>> {
    let (p, size) = (comm.rank(), comm.size());
    let mut all = vec![0.0; (slot + 1) * size];
    if let Some(values) = mine {
        let at = p * (slot + 1);
        all[at] = 1.0;
        all[at + 1..at + 1 + slot].copy_from_slice(values);
    }
    comm.all_reduce_sum(&mut all);
    all.chunks(slot + 1)
        .find(|c| c[0] != 0.0)
        .map(|c| c[1..].to_vec())
}

/// The pattern of every statistic of the H half-step: the wrapped term computes its local
/// value into `mats` (backend matrices) and `extra` (plain values) with its own buffers, then
/// one all-reduce adds them over the processes ([`reduce_into`]).
fn local_then_sum<T, B, V, C, const N: usize>(
    b: &B,
    v: &Distributed<V, C>,
    work: &mut DistributedWork<T, <B as DataOps<T, V>>::Work>,
    mut mats: [&mut B::Mat; N],
    extra: &mut [T],
    local: impl FnOnce(&V, &mut <B as DataOps<T, V>>::Work, &mut [&mut B::Mat; N], &mut [T]),
) where
    T: Scalar,
    B: DataOps<T, V>,
    C: Collective,
{
    local(&v.local, &mut work.local, &mut mats, extra);
    reduce_into(b, &v.comm, &mut work.sums, &mut mats, extra);
}

/// `N` values summed over the processes (the loss and the sums of V): one all-reduce.
fn sum_over<C: Collective, const N: usize>(comm: &C, mut values: [f64; N]) -> [f64; N] {
    comm.all_reduce_sum(&mut values);
    values
}

impl<T, B, V, C> DataOps<T, Distributed<V, C>> for B
where
    T: Scalar,
    B: DataOps<T, V>,
    C: Collective + Clone,
{
    type Work = DistributedWork<T, <B as DataOps<T, V>>::Work>;

    /// The local block's shape: W has the local rows.
    fn data_shape(&self, v: &Distributed<V, C>) -> (usize, usize) {
        <B as DataOps<T, V>>::data_shape(self, &v.local)
    }
    fn data_first_invalid(&self, v: &Distributed<V, C>) -> Option<(usize, usize, T)> {
        let mine = self
            .data_first_invalid(&v.local)
            .map(|(i, j, x)| [(v.offset + i) as f64, j as f64, x.as_f64()]);
        first_over(&v.comm, mine.as_ref().map(|a| &a[..]), 3)
            .map(|a| (a[0] as usize, a[1] as usize, T::from_f64(a[2])))
    }
    fn data_sum(&self, v: &Distributed<V, C>) -> f64 {
        let [s] = sum_over(&v.comm, [<B as DataOps<T, V>>::data_sum(self, &v.local)]);
        s
    }
    /// The mean of all of V (the same on every process, so every process rescales V, chooses
    /// ε and starts alike); for observed entries ([`DataOps::data_observed`]), the weighted
    /// mean of the observed entries of all of V, `Σ M_ij v_ij / Σ M_ij`, as the wrapped term
    /// gives it for its block.
    fn data_mean(&self, v: &Distributed<V, C>) -> f64 {
        let sum = <B as DataOps<T, V>>::data_sum(self, &v.local);
        let total = match <B as DataOps<T, V>>::data_observed(self, &v.local) {
            Some(obs) => match obs.by_rows() {
                (_, Some(weights)) => weights.iter().map(|x| x.as_f64()).sum(),
                (rows, None) => rows.data().len() as f64,
            },
            None => {
                let (m, n) = <B as DataOps<T, V>>::data_shape(self, &v.local);
                m as f64 * n as f64
            }
        };
        let [sum, total] = sum_over(&v.comm, [sum, total]);
        sum / total
    }
    /// Whether the wrapped term weights its entries (the same on every process: it is the
    /// wrapped type's).
    fn data_weighted(&self, v: &Distributed<V, C>) -> bool {
        <B as DataOps<T, V>>::data_weighted(self, &v.local)
    }
    /// `None`: the SVD of V needs all of it.
    fn data_truncated_svd(&self, _v: &Distributed<V, C>, _k: usize) -> Option<TruncatedSvd<T>> {
        None
    }
    fn data_first_zero(&self, v: &Distributed<V, C>) -> Option<(usize, usize)> {
        let mine = self
            .data_first_zero(&v.local)
            .map(|(i, j)| [(v.offset + i) as f64, j as f64]);
        first_over(&v.comm, mine.as_ref().map(|a| &a[..]), 2)
            .map(|a| (a[0] as usize, a[1] as usize))
    }
    /// `WᵀV`, all-reduced (allocates its buffer: for the SVD, not the iterations).
    fn wt_x(&self, dst: &mut Self::Mat, w: &Self::Mat, v: &Distributed<V, C>) {
        <B as DataOps<T, V>>::wt_x(self, dst, w, &v.local);
        let mut sums = vec![0.0; self.nrows(dst) * self.ncols(dst)];
        reduce_into(self, &v.comm, &mut sums, &mut [dst], &mut []);
    }
    /// `VHᵀ` for the local rows (local).
    fn x_ht(&self, dst: &mut Self::Mat, v: &Distributed<V, C>, h: &Self::Mat) {
        <B as DataOps<T, V>>::x_ht(self, dst, &v.local, h);
    }
    fn data_scaled(&self, v: &Distributed<V, C>, d: T) -> Option<Distributed<V, C>> {
        <B as DataOps<T, V>>::data_scaled(self, &v.local, d).map(|local| Distributed {
            local,
            comm: v.comm.clone(),
            offset: v.offset,
            rows: v.rows,
            cols: v.cols,
        })
    }
    fn data_bytes(
        &self,
        v: &Distributed<V, C>,
        k: usize,
        loss: Loss,
        scaled: bool,
        svd: bool,
    ) -> Option<usize> {
        let local = <B as DataOps<T, V>>::data_bytes(self, &v.local, k, loss, scaled, svd)?;
        let weighted = <B as DataOps<T, V>>::data_weighted(self, &v.local);
        let message = message_len(k, v.cols, loss, weighted)?;
        local.checked_add(message.checked_mul(8)?)
    }
    /// The wrapped term's answer; weighted data only as observed entries
    /// ([`masked::Observed`](crate::masked::Observed)), whose weighted mean the processes can
    /// add up (dense weights, [`masked::Weighted`](crate::masked::Weighted), are refused).
    fn data_supports(&self, v: &Distributed<V, C>, loss: Loss) -> Result<(), NmfError> {
        let local = &v.local;
        if <B as DataOps<T, V>>::data_weighted(self, local)
            && <B as DataOps<T, V>>::data_observed(self, local).is_none()
        {
            return Err(NmfError::LossNotForData {
                loss,
                data: "distributed weighted V",
                reason: "give it as masked::Observed (the processes add up its weights for the \
                         mean of V); dense weights (masked::Weighted) are not distributed"
                    .into(),
            });
        }
        <B as DataOps<T, V>>::data_supports(self, local, loss)
    }
    fn data_work(&self, v: &Distributed<V, C>, k: usize, loss: Loss) -> Self::Work {
        let weighted = <B as DataOps<T, V>>::data_weighted(self, &v.local);
        let len = message_len(k, v.cols, loss, weighted).expect("data_bytes counted these buffers");
        DistributedWork {
            local: <B as DataOps<T, V>>::data_work(self, &v.local, k, loss),
            sums: vec![0.0; len],
            _scalar: core::marker::PhantomData,
        }
    }
    fn frobenius_stats_h(
        &self,
        v: &Distributed<V, C>,
        work: &mut Self::Work,
        w: &Self::Mat,
        num: &mut Self::Mat,
        gram: &mut Self::Mat,
    ) {
        local_then_sum(
            self,
            v,
            work,
            [num, gram],
            &mut [],
            |vl, wl, [num, gram], _| {
                <B as DataOps<T, V>>::frobenius_stats_h(self, vl, wl, w, num, gram)
            },
        );
    }
    fn frobenius_stats_w(
        &self,
        v: &Distributed<V, C>,
        work: &mut Self::Work,
        h: &Self::Mat,
        num: &mut Self::Mat,
        gram: &mut Self::Mat,
    ) {
        <B as DataOps<T, V>>::frobenius_stats_w(self, &v.local, &mut work.local, h, num, gram);
    }
    fn kl_stats_h(
        &self,
        v: &Distributed<V, C>,
        work: &mut Self::Work,
        w: &Self::Mat,
        h: &Self::Mat,
        num: &mut Self::Mat,
        sums: &mut [T],
    ) {
        local_then_sum(self, v, work, [num], sums, |vl, wl, [num], sums| {
            <B as DataOps<T, V>>::kl_stats_h(self, vl, wl, w, h, num, sums)
        });
    }
    fn kl_stats_w(
        &self,
        v: &Distributed<V, C>,
        work: &mut Self::Work,
        w: &Self::Mat,
        h: &Self::Mat,
        num: &mut Self::Mat,
        sums: &mut [T],
    ) {
        <B as DataOps<T, V>>::kl_stats_w(self, &v.local, &mut work.local, w, h, num, sums);
    }
    fn beta_stats_h(
        &self,
        v: &Distributed<V, C>,
        work: &mut Self::Work,
        w: &Self::Mat,
        h: &Self::Mat,
        beta: T,
        num: &mut Self::Mat,
        den: &mut Self::Mat,
    ) {
        local_then_sum(
            self,
            v,
            work,
            [num, den],
            &mut [],
            |vl, wl, [num, den], _| {
                <B as DataOps<T, V>>::beta_stats_h(self, vl, wl, w, h, beta, num, den)
            },
        );
    }
    fn beta_stats_w(
        &self,
        v: &Distributed<V, C>,
        work: &mut Self::Work,
        w: &Self::Mat,
        h: &Self::Mat,
        beta: T,
        num: &mut Self::Mat,
        den: &mut Self::Mat,
    ) {
        <B as DataOps<T, V>>::beta_stats_w(self, &v.local, &mut work.local, w, h, beta, num, den);
    }
    fn data_loss(
        &self,
        v: &Distributed<V, C>,
        work: &mut Self::Work,
        w: &Self::Mat,
        h: &Self::Mat,
        loss: Loss,
    ) -> f64 {
        let local = <B as DataOps<T, V>>::data_loss(self, &v.local, &mut work.local, w, h, loss);
        let [s] = sum_over(&v.comm, [local]);
        s
    }
    fn data_evaluate(
        &self,
        v: &Distributed<V, C>,
        work: &mut Self::Work,
        w: &Self::Mat,
        h: &Self::Mat,
        loss: Loss,
    ) -> DataEvaluation {
        let e = <B as DataOps<T, V>>::data_evaluate(self, &v.local, &mut work.local, w, h, loss);
        let [loss, scale, f64_terms] = sum_over(&v.comm, [e.loss, e.scale, e.f64_terms]);
        DataEvaluation {
            loss,
            scale,
            f64_terms,
        }
    }
}

/// The values one all-reduce of the H half-step carries: k×n + k×k (Frobenius), k×n + k
/// (KL) or 2·k×n (β, and every loss on weighted data, whose statistics take the β form).
fn message_len(k: usize, n: usize, loss: Loss, weighted: bool) -> Option<usize> {
    let kn = k.checked_mul(n)?;
    match loss {
        _ if weighted => kn.checked_mul(2),
        Loss::Frobenius => kn.checked_add(k.checked_mul(k)?),
        Loss::KullbackLeibler => kn.checked_add(k),
        _ => kn.checked_mul(2),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reference::Reference;

    #[test]
    fn blocks_cover_the_rows_in_order() {
        for rows in 1..20 {
            for size in 1..=rows {
                let mut next = 0;
                for p in 0..size {
                    let r = block_rows(rows, size, p);
                    assert_eq!(r.start, next);
                    assert!(r.len() == rows / size || r.len() == rows / size + 1);
                    next = r.end;
                }
                assert_eq!(next, rows);
            }
        }
    }

    /// Dense weights are refused by name (their weighted mean is not added over the
    /// processes); observed entries are accepted and weighted, with the mean of the observed
    /// entries.
    #[test]
    fn dense_weights_refused_observed_entries_accepted() {
        use crate::masked::{Observed, Weighted};
        let b = Reference;
        let v = b.from_fn(3, 2, |i, j| (i + j) as f64 + 1.0);
        let wts = b.from_fn(3, 2, |i, _| if i == 0 { 0.0 } else { 1.0 });
        let weighted = Weighted::new::<f64, Reference>(&b, v, wts).unwrap();
        let d = Distributed::new::<f64, Reference>(&b, weighted, SingleProcess).unwrap();
        match DataOps::<f64, _>::data_supports(&b, &d, Loss::Frobenius) {
            Err(NmfError::LossNotForData { reason, .. }) => {
                assert!(reason.contains("masked::Observed"), "{reason}")
            }
            other => panic!("dense weights: {other:?}"),
        }
        let o = Observed::from_triplets(3, 2, &[0, 2], &[1, 0], &[4.0_f64, 2.0]).unwrap();
        let d = Distributed::new::<f64, Reference>(&b, o, SingleProcess).unwrap();
        assert!(DataOps::<f64, _>::data_supports(&b, &d, Loss::Frobenius).is_ok());
        assert!(DataOps::<f64, _>::data_weighted(&b, &d));
        assert_eq!(DataOps::<f64, _>::data_mean(&b, &d), 3.0);
    }

    /// On one process the distributed data term is the wrapped one: the same statistics and
    /// losses, bit for bit (the all-reduce adds nothing; `T → f64 → T` is exact).
    #[test]
    fn single_process_is_the_local_term() {
        let b = Reference;
        let v = b.from_fn(5, 4, |i, j| ((i * 3 + j) % 4) as f64 * 0.5);
        let w = b.from_fn(5, 2, |i, a| 0.5 + (i + a) as f64);
        let h = b.from_fn(2, 4, |a, j| 1.0 + (a * j) as f64 * 0.25);
        let d = Distributed::new(&b, v.clone(), SingleProcess).unwrap();
        assert_eq!(d.global_shape(), (5, 4));
        for loss in [Loss::Frobenius, Loss::KullbackLeibler, Loss::Beta(0.5)] {
            let mut lw = DataOps::<f64, _>::data_work(&b, &v, 2, loss);
            let mut dw = DataOps::<f64, _>::data_work(&b, &d, 2, loss);
            let (mut n1, mut n2, mut g1, mut g2) =
                (b.zeros(2, 4), b.zeros(2, 4), b.zeros(2, 2), b.zeros(2, 4));
            match loss {
                Loss::Frobenius => {
                    b.frobenius_stats_h(&v, &mut lw, &w, &mut n1, &mut g1);
                    let mut g3 = b.zeros(2, 2);
                    b.frobenius_stats_h(&d, &mut dw, &w, &mut n2, &mut g3);
                    assert_eq!(b.to_row_major(&g1), b.to_row_major(&g3));
                }
                Loss::KullbackLeibler => {
                    let (mut s1, mut s2) = (vec![0.0; 2], vec![0.0; 2]);
                    b.kl_stats_h(&v, &mut lw, &w, &h, &mut n1, &mut s1);
                    b.kl_stats_h(&d, &mut dw, &w, &h, &mut n2, &mut s2);
                    assert_eq!(s1, s2);
                }
                _ => {
                    let mut g4 = b.zeros(2, 4);
                    b.beta_stats_h(&v, &mut lw, &w, &h, 0.5, &mut n1, &mut g4);
                    b.beta_stats_h(&d, &mut dw, &w, &h, 0.5, &mut n2, &mut g2);
                    assert_eq!(b.to_row_major(&g4), b.to_row_major(&g2));
                }
            }
            assert_eq!(b.to_row_major(&n1), b.to_row_major(&n2), "{loss}");
            let (l1, l2) = (
                b.data_loss(&v, &mut lw, &w, &h, loss),
                b.data_loss(&d, &mut dw, &w, &h, loss),
            );
            assert_eq!(l1.to_bits(), l2.to_bits(), "{loss}");
        }
    }
}
