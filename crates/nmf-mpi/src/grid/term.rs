//! The grid's data term: [`GridData`] wraps this process's block V_ij and gives nmf-core's
//! rules the statistics of its pieces of W and H (see the [grid docs](super)): every
//! statistic is the wrapped data term's partial product at the gathered W_i and H_j, summed
//! over the grid column (H half-step) or row (W half-step) by a reduce-scatter.

use faer::Mat;
use nmf_core::data::DataEvaluation;
use nmf_core::{Collective, DataOps, Loss, MatrixRole, NmfError, TruncatedSvd};
use nmf_faer::Faer;

use super::exchange::{
    Pieces, all_reduce_mat, gather_cols, gather_rows, reduce_scatter_cols, reduce_scatter_rows,
};
use super::{Collectives, GridComm, Layout};

/// This process's block V_ij with the grid's communicators (see the [grid docs](super)).
/// Its [`data_shape`](DataOps::data_shape) is that of its pieces: (its rows of W, its
/// columns of H).
pub struct GridData<'g, V> {
    local: V,
    g: &'g GridComm,
    coll: Collectives<'g>,
}

impl<'g, V> GridData<'g, V> {
    /// Wraps this process's block `local` of V (m_i × n_j). Collective.
    ///
    /// # Errors
    /// [`NmfError::ShapeMismatch`] on every process if any block is not m_i × n_j (each
    /// reports its own).
    pub fn new(local: V, g: &'g GridComm) -> Result<Self, NmfError>
    where
        Faer: DataOps<f64, V>,
    {
        let d = Self::from_parts(local, g);
        let l = g.layout;
        let want = (l.rows().len(), l.cols().len());
        let found = DataOps::<f64, V>::data_shape(&Faer::sequential(), &d.local);
        let mut bad = [f64::from(u8::from(want != found))];
        d.coll.world.all_reduce_sum(&mut bad);
        if bad[0] != 0.0 {
            return Err(NmfError::ShapeMismatch {
                matrix: MatrixRole::V,
                expected: want,
                found,
            });
        }
        Ok(d)
    }
    fn from_parts(local: V, g: &'g GridComm) -> Self {
        Self {
            local,
            g,
            coll: Collectives::new(g),
        }
    }
    /// This process's block V_ij.
    pub fn local(&self) -> &V {
        &self.local
    }
    /// Where each piece lies.
    pub fn layout(&self) -> Layout {
        self.g.layout
    }
    /// The pieces of W_i in the grid row and of H_j in the grid column.
    fn pieces(&self, k: usize) -> (Pieces, Pieces) {
        let l = self.g.layout;
        (
            Pieces::new(l.rows().len(), l.pc, k),
            Pieces::new(l.cols().len(), l.pr, k),
        )
    }
}

/// The buffers of a grid data term for one fit: the wrapped term's, the gathered W_i and H_j,
/// the block's partial products, and the flat buffers of the exchanges.
pub struct GridWork<W> {
    local: W,
    w_pieces: Pieces,
    h_pieces: Pieces,
    /// W_i, m_i × k.
    w_full: Mat<f64>,
    /// H_j, k × n_j.
    h_full: Mat<f64>,
    /// The H half-step's partial products (k × n_j; `den` for β only).
    num_h: Mat<f64>,
    den_h: Mat<f64>,
    /// The W half-step's (m_i × k).
    num_w: Mat<f64>,
    den_w: Mat<f64>,
    send: Vec<f64>,
    recv: Vec<f64>,
}

/// `(send, recv, full matrices, β matrices)` lengths of a fit's buffers.
fn lens(w: &Pieces, h: &Pieces, k: usize, loss: Loss) -> (usize, usize, usize, usize) {
    let (mi, nj) = (w.len, h.len);
    let send = [w.max * k, h.max * k, w.padded(), h.padded(), k * k]
        .into_iter()
        .max()
        .unwrap_or(0);
    let recv = [mi * k, nj * k, k * k].into_iter().max().unwrap_or(0);
    let full = 2 * (mi * k + nj * k);
    let beta = if matches!(loss, Loss::Frobenius | Loss::KullbackLeibler) {
        0
    } else {
        mi * k + nj * k
    };
    (send, recv, full, beta)
}

/// The first flagged place over all processes in V's row-major order: each process puts its
/// candidate `(global row, global column, value)` in its slot, one all-reduce, the smallest
/// place wins (the same answer everywhere).
fn first_over(d: &GridData<'_, impl Sized>, mine: Option<[f64; 3]>) -> Option<[f64; 3]> {
    let (p, size) = (d.coll.world.rank(), d.coll.world.size());
    let mut all = vec![0.0; 4 * size];
    if let Some(v) = mine {
        all[4 * p] = 1.0;
        all[4 * p + 1..4 * p + 4].copy_from_slice(&v);
    }
    d.coll.world.all_reduce_sum(&mut all);
    all.chunks(4)
        .filter(|c| c[0] != 0.0)
        .map(|c| [c[1], c[2], c[3]])
        .min_by(|a, b| (a[0], a[1]).partial_cmp(&(b[0], b[1])).expect("places"))
}

impl<V> GridData<'_, V>
where
    Faer: DataOps<f64, V>,
{
    /// W_i into `work.w_full` from the pieces `w` of the grid row.
    fn gather_w(&self, work: &mut GridWork<<Faer as DataOps<f64, V>>::Work>, w: &Mat<f64>) {
        let GridWork {
            w_pieces,
            w_full,
            send,
            recv,
            ..
        } = work;
        gather_rows(&self.g.row, w_pieces, w, (send, recv), w_full);
    }
    /// H_j into `work.h_full` from the pieces `h` of the grid column.
    fn gather_h(&self, work: &mut GridWork<<Faer as DataOps<f64, V>>::Work>, h: &Mat<f64>) {
        let GridWork {
            h_pieces,
            h_full,
            send,
            recv,
            ..
        } = work;
        gather_cols(&self.g.col, h_pieces, h, (send, recv), h_full);
    }
}

impl<'g, V> DataOps<f64, GridData<'g, V>> for Faer
where
    Faer: DataOps<f64, V>,
{
    type Work = GridWork<<Faer as DataOps<f64, V>>::Work>;

    /// The shape of this process's pieces: (its rows of W, its columns of H).
    fn data_shape(&self, v: &GridData<'g, V>) -> (usize, usize) {
        let l = v.g.layout;
        (l.w_rows(l.i, l.j).len(), l.h_cols(l.i, l.j).len())
    }
    fn data_first_invalid(&self, v: &GridData<'g, V>) -> Option<(usize, usize, f64)> {
        let l = v.g.layout;
        let mine = DataOps::<f64, V>::data_first_invalid(self, &v.local)
            .map(|(i, j, x)| [(l.rows().start + i) as f64, (l.cols().start + j) as f64, x]);
        first_over(v, mine).map(|a| (a[0] as usize, a[1] as usize, a[2]))
    }
    fn data_sum(&self, v: &GridData<'g, V>) -> f64 {
        let mut s = [DataOps::<f64, V>::data_sum(self, &v.local)];
        v.coll.world.all_reduce_sum(&mut s);
        s[0]
    }
    /// The mean of all of V (the same on every process).
    fn data_mean(&self, v: &GridData<'g, V>) -> f64 {
        let l = v.g.layout;
        DataOps::<f64, GridData<'g, V>>::data_sum(self, v) / (l.m as f64 * l.n as f64)
    }
    /// `None`: the SVD of V needs all of it.
    fn data_truncated_svd(&self, _v: &GridData<'g, V>, _k: usize) -> Option<TruncatedSvd<f64>> {
        None
    }
    fn data_first_zero(&self, v: &GridData<'g, V>) -> Option<(usize, usize)> {
        let l = v.g.layout;
        let mine = DataOps::<f64, V>::data_first_zero(self, &v.local).map(|(i, j)| {
            [
                (l.rows().start + i) as f64,
                (l.cols().start + j) as f64,
                0.0,
            ]
        });
        first_over(v, mine).map(|a| (a[0] as usize, a[1] as usize))
    }
    /// `WᵀV` for this process's columns (allocates its buffers: for the SVD, not the
    /// iterations).
    fn wt_x(&self, dst: &mut Mat<f64>, w: &Mat<f64>, v: &GridData<'g, V>) {
        let k = w.ncols();
        let mut work = DataOps::<f64, GridData<'g, V>>::data_work(self, v, k, Loss::Frobenius);
        v.gather_w(&mut work, w);
        let GridWork {
            local: _,
            w_full,
            num_h,
            h_pieces,
            send,
            recv,
            ..
        } = &mut work;
        DataOps::<f64, V>::wt_x(self, num_h, w_full, &v.local);
        reduce_scatter_cols(&v.g.col, h_pieces, num_h, (send, recv), dst);
    }
    /// `VHᵀ` for this process's rows (allocates, as `wt_x`).
    fn x_ht(&self, dst: &mut Mat<f64>, v: &GridData<'g, V>, h: &Mat<f64>) {
        let k = h.nrows();
        let mut work = DataOps::<f64, GridData<'g, V>>::data_work(self, v, k, Loss::Frobenius);
        v.gather_h(&mut work, h);
        let GridWork {
            h_full,
            num_w,
            w_pieces,
            send,
            recv,
            ..
        } = &mut work;
        DataOps::<f64, V>::x_ht(self, num_w, &v.local, h_full);
        reduce_scatter_rows(&v.g.row, w_pieces, num_w, (send, recv), dst);
    }
    fn data_scaled(&self, v: &GridData<'g, V>, d: f64) -> Option<GridData<'g, V>> {
        DataOps::<f64, V>::data_scaled(self, &v.local, d)
            .map(|local| GridData::from_parts(local, v.g))
    }
    fn data_bytes(
        &self,
        v: &GridData<'g, V>,
        k: usize,
        loss: Loss,
        scaled: bool,
        svd: bool,
    ) -> Option<usize> {
        let local = DataOps::<f64, V>::data_bytes(self, &v.local, k, loss, scaled, svd)?;
        let (w, h) = v.pieces(k);
        let (send, recv, full, beta) = lens(&w, &h, k, loss);
        local.checked_add((send + recv + full + beta).checked_mul(8)?)
    }
    fn data_supports(&self, v: &GridData<'g, V>, loss: Loss) -> Result<(), NmfError> {
        DataOps::<f64, V>::data_supports(self, &v.local, loss)
    }
    fn data_work(&self, v: &GridData<'g, V>, k: usize, loss: Loss) -> Self::Work {
        let (w_pieces, h_pieces) = v.pieces(k);
        let (send, recv, _, beta) = lens(&w_pieces, &h_pieces, k, loss);
        let (mi, nj) = (w_pieces.len, h_pieces.len);
        let b = beta > 0;
        GridWork {
            local: DataOps::<f64, V>::data_work(self, &v.local, k, loss),
            w_full: Mat::zeros(mi, k),
            h_full: Mat::zeros(k, nj),
            num_h: Mat::zeros(k, nj),
            den_h: if b {
                Mat::zeros(k, nj)
            } else {
                Mat::zeros(0, 0)
            },
            num_w: Mat::zeros(mi, k),
            den_w: if b {
                Mat::zeros(mi, k)
            } else {
                Mat::zeros(0, 0)
            },
            send: vec![0.0; send],
            recv: vec![0.0; recv],
            w_pieces,
            h_pieces,
        }
    }
    /// W_i gathered in the grid row; W_iᵀV_ij reduce-scattered and W_iᵀW_i all-reduced in
    /// the grid column.
    fn frobenius_stats_h(
        &self,
        v: &GridData<'g, V>,
        work: &mut Self::Work,
        w: &Mat<f64>,
        num: &mut Mat<f64>,
        gram: &mut Mat<f64>,
    ) {
        v.gather_w(work, w);
        let GridWork {
            local,
            w_full,
            num_h,
            h_pieces,
            send,
            recv,
            ..
        } = work;
        DataOps::<f64, V>::frobenius_stats_h(self, &v.local, local, w_full, num_h, gram);
        reduce_scatter_cols(&v.g.col, h_pieces, num_h, (send, recv), num);
        all_reduce_mat(&v.coll.col, gram, send);
    }
    /// H_j gathered in the grid column; V_ijH_jᵀ reduce-scattered and H_jH_jᵀ all-reduced in
    /// the grid row.
    fn frobenius_stats_w(
        &self,
        v: &GridData<'g, V>,
        work: &mut Self::Work,
        h: &Mat<f64>,
        num: &mut Mat<f64>,
        gram: &mut Mat<f64>,
    ) {
        v.gather_h(work, h);
        let GridWork {
            local,
            h_full,
            num_w,
            w_pieces,
            send,
            recv,
            ..
        } = work;
        DataOps::<f64, V>::frobenius_stats_w(self, &v.local, local, h_full, num_w, gram);
        reduce_scatter_rows(&v.g.row, w_pieces, num_w, (send, recv), num);
        all_reduce_mat(&v.coll.row, gram, send);
    }
    fn kl_stats_h(
        &self,
        v: &GridData<'g, V>,
        work: &mut Self::Work,
        w: &Mat<f64>,
        h: &Mat<f64>,
        num: &mut Mat<f64>,
        sums: &mut [f64],
    ) {
        v.gather_w(work, w);
        v.gather_h(work, h);
        let GridWork {
            local,
            w_full,
            h_full,
            num_h,
            h_pieces,
            send,
            recv,
            ..
        } = work;
        DataOps::<f64, V>::kl_stats_h(self, &v.local, local, w_full, h_full, num_h, sums);
        reduce_scatter_cols(&v.g.col, h_pieces, num_h, (send, recv), num);
        v.coll.col.all_reduce_sum(sums);
    }
    fn kl_stats_w(
        &self,
        v: &GridData<'g, V>,
        work: &mut Self::Work,
        w: &Mat<f64>,
        h: &Mat<f64>,
        num: &mut Mat<f64>,
        sums: &mut [f64],
    ) {
        v.gather_w(work, w);
        v.gather_h(work, h);
        let GridWork {
            local,
            w_full,
            h_full,
            num_w,
            w_pieces,
            send,
            recv,
            ..
        } = work;
        DataOps::<f64, V>::kl_stats_w(self, &v.local, local, w_full, h_full, num_w, sums);
        reduce_scatter_rows(&v.g.row, w_pieces, num_w, (send, recv), num);
        v.coll.row.all_reduce_sum(sums);
    }
    fn beta_stats_h(
        &self,
        v: &GridData<'g, V>,
        work: &mut Self::Work,
        w: &Mat<f64>,
        h: &Mat<f64>,
        beta: f64,
        num: &mut Mat<f64>,
        den: &mut Mat<f64>,
    ) {
        v.gather_w(work, w);
        v.gather_h(work, h);
        let GridWork {
            local,
            w_full,
            h_full,
            num_h,
            den_h,
            h_pieces,
            send,
            recv,
            ..
        } = work;
        DataOps::<f64, V>::beta_stats_h(self, &v.local, local, w_full, h_full, beta, num_h, den_h);
        reduce_scatter_cols(&v.g.col, h_pieces, num_h, (send, recv), num);
        reduce_scatter_cols(&v.g.col, h_pieces, den_h, (send, recv), den);
    }
    fn beta_stats_w(
        &self,
        v: &GridData<'g, V>,
        work: &mut Self::Work,
        w: &Mat<f64>,
        h: &Mat<f64>,
        beta: f64,
        num: &mut Mat<f64>,
        den: &mut Mat<f64>,
    ) {
        v.gather_w(work, w);
        v.gather_h(work, h);
        let GridWork {
            local,
            w_full,
            h_full,
            num_w,
            den_w,
            w_pieces,
            send,
            recv,
            ..
        } = work;
        DataOps::<f64, V>::beta_stats_w(self, &v.local, local, w_full, h_full, beta, num_w, den_w);
        reduce_scatter_rows(&v.g.row, w_pieces, num_w, (send, recv), num);
        reduce_scatter_rows(&v.g.row, w_pieces, den_w, (send, recv), den);
    }
    /// The block's loss at (W_i, H_j), gathered, summed over all processes.
    fn data_loss(
        &self,
        v: &GridData<'g, V>,
        work: &mut Self::Work,
        w: &Mat<f64>,
        h: &Mat<f64>,
        loss: Loss,
    ) -> f64 {
        v.gather_w(work, w);
        v.gather_h(work, h);
        let mut s = [DataOps::<f64, V>::data_loss(
            self,
            &v.local,
            &mut work.local,
            &work.w_full,
            &work.h_full,
            loss,
        )];
        v.coll.world.all_reduce_sum(&mut s);
        s[0]
    }
    fn data_evaluate(
        &self,
        v: &GridData<'g, V>,
        work: &mut Self::Work,
        w: &Mat<f64>,
        h: &Mat<f64>,
        loss: Loss,
    ) -> DataEvaluation {
        v.gather_w(work, w);
        v.gather_h(work, h);
        let e = DataOps::<f64, V>::data_evaluate(
            self,
            &v.local,
            &mut work.local,
            &work.w_full,
            &work.h_full,
            loss,
        );
        let mut s = [e.loss, e.scale, e.f64_terms];
        v.coll.world.all_reduce_sum(&mut s);
        DataEvaluation {
            loss: s[0],
            scale: s[1],
            f64_terms: s[2],
        }
    }
}
