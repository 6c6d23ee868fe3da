//! The data term of a [`Streamed`] V: every statistic accumulated over its row blocks (see the
//! [module docs](super)).

use core::ops::Range;

use super::{RowBlock, RowSource, Streamed};
use crate::data::DataEvaluation;
use crate::sparse::SparseData;
use crate::{
    DataOps, DenseBackend, Loss, MatrixBackend, MatrixRole, NmfError, RunAxis, Scalar, TruncatedSvd,
};

/// The rows-by-k buffers of one block size: the block's rows of W and the block's outputs.
#[derive(Debug, Clone)]
struct Bufs<M> {
    w: M,
    out1: M,
    /// The second output of the β W half-step; 0×0 otherwise.
    out2: M,
}

/// The buffers of one block size: [`Bufs`], and for dense blocks the block as the backend's
/// matrix with the dense data term's work (made at the first dense block of this size).
#[derive(Debug, Clone)]
struct Slot<M, DW> {
    rows: usize,
    bufs: Bufs<M>,
    dense: Option<(M, DW)>,
}

/// The buffers of a streamed data term for one fit (see the [module docs](super), "Memory").
#[derive(Debug, Clone)]
pub struct StreamedWork<T, M, DW> {
    k: usize,
    loss: Loss,
    /// Blocks of `block_rows` rows, and the shorter last block (if m is not a multiple).
    full: Slot<M, DW>,
    tail: Option<Slot<M, DW>>,
    /// A block's k×n statistics (the second for β; 0×0 otherwise), k×k, and k sums.
    kn1: M,
    kn2: M,
    kk: M,
    ksums: Vec<T>,
    /// The row sums of H (the KL evaluation of dense blocks).
    hsums: Vec<T>,
    /// The H statistics summed over the blocks in `f64`, and the staging of one block's.
    acc: Vec<f64>,
    stage: Vec<T>,
    /// m×k row-major: the rows of W read by the blocks, overwritten by the W half-step's
    /// output rows (each block reads its rows before it writes them).
    rows_a: Vec<T>,
    /// m×k row-major: the β W half-step's second output; empty otherwise.
    rows_b: Vec<T>,
}

/// A block as the wrapped data term takes it.
enum Block<'a, T, M, DW, SW> {
    Dense(&'a M, &'a mut DW),
    Sparse(&'a SparseData<T>, &'a mut SW),
}

/// Calls the wrapped data term's method `$f` on a [`Block`], with the block and its work as
/// the first two arguments after the backend.
macro_rules! on_block {
    ($b:expr, $blk:expr, $f:ident ( $($arg:expr),* )) => {
        match $blk {
            Block::Dense(x, xw) => <B as DataOps<T, B::Mat>>::$f($b, x, xw, $($arg),*),
            Block::Sparse(x, xw) => <B as DataOps<T, SparseData<T>>>::$f($b, x, xw, $($arg),*),
        }
    };
}

fn general(loss: Loss) -> bool {
    !matches!(loss, Loss::Frobenius | Loss::KullbackLeibler)
}

/// The ranges of the blocks of `m` rows, `rows` at a time.
fn blocks(m: usize, rows: usize) -> impl Iterator<Item = Range<usize>> {
    (0..m.div_ceil(rows)).map(move |i| i * rows..((i + 1) * rows).min(m))
}

/// `dst` ← `src` (row-major), entry by entry.
fn fill<T: Scalar, B: MatrixBackend<T>>(b: &B, dst: &mut B::Mat, src: &[T]) {
    let cols = b.ncols(dst);
    b.zip_mut(&mut [dst], &[], &|run, o, _| match run.axis {
        RunAxis::Row => {
            let from = run.row * cols + run.col;
            o[0].copy_from_slice(&src[from..from + run.len]);
        }
        RunAxis::Column => {
            for (r, x) in o[0].iter_mut().enumerate() {
                *x = src[(run.row + r) * cols + run.col];
            }
        }
    });
}

/// `dst` ← `src` (row-major, `f64`), rounded to `T` once.
fn fill_f64<T: Scalar, B: MatrixBackend<T>>(b: &B, dst: &mut B::Mat, src: &[f64]) {
    let cols = b.ncols(dst);
    b.zip_mut(&mut [dst], &[], &|run, o, _| match run.axis {
        RunAxis::Row => {
            let from = run.row * cols + run.col;
            for (x, &s) in o[0].iter_mut().zip(&src[from..from + run.len]) {
                *x = T::from_f64(s);
            }
        }
        RunAxis::Column => {
            for (r, x) in o[0].iter_mut().enumerate() {
                *x = T::from_f64(src[(run.row + r) * cols + run.col]);
            }
        }
    });
}

/// `acc += a` (row-major), through `stage`.
fn add_into<T: Scalar, B: MatrixBackend<T>>(b: &B, acc: &mut [f64], stage: &mut [T], a: &B::Mat) {
    let len = b.nrows(a) * b.ncols(a);
    b.copy_to_row_major(a, &mut stage[..len]);
    for (s, x) in acc[..len].iter_mut().zip(&stage[..len]) {
        *s += x.as_f64();
    }
}

/// The first entry of a block that a fit cannot take (negative, NaN, infinite), as V's
/// `(row, column, value)`.
fn first_invalid_in<T: Scalar>(block: &RowBlock<T>, row0: usize) -> Option<(usize, usize, T)> {
    let ok = |x: T| crate::kernels::is_valid_entry(x);
    match block {
        RowBlock::Dense { cols, data, .. } => data
            .iter()
            .position(|&x| !ok(x))
            .map(|p| (row0 + p / cols, p % cols, data[p])),
        RowBlock::Sparse(c) => {
            let v = c.view();
            (0..v.nrows()).find_map(|i| {
                let (idx, val) = v.row(i);
                idx.iter()
                    .zip(val)
                    .find(|(_, x)| !ok(**x))
                    .map(|(&j, &x)| (row0 + i, j, x))
            })
        }
    }
}

impl<S> Streamed<S> {
    /// Rows `r` of V from the source, with their shape checked (nothing recorded).
    fn fetch<T: Scalar>(&self, r: Range<usize>) -> Result<RowBlock<T>, NmfError>
    where
        S: RowSource<T>,
    {
        let n = self.source.shape().1;
        let block = self.source.read_rows(r.clone())?;
        let shape = block.shape();
        let length_ok = match &block {
            RowBlock::Dense { rows, cols, data } => rows.checked_mul(*cols) == Some(data.len()),
            RowBlock::Sparse(_) => true,
        };
        if shape != (r.len(), n) || !length_ok {
            return Err(NmfError::Io {
                path: format!("rows {}..{} of V", r.start, r.end),
                message: format!(
                    "the source gave a {}×{} block{}, where {}×{} was asked for",
                    shape.0,
                    shape.1,
                    if length_ok {
                        ""
                    } else {
                        " with the wrong number of values"
                    },
                    r.len(),
                    n
                ),
            });
        }
        Ok(block)
    }

    /// Rows `r` of V, checked (shape, entries); `None` after a failure (recorded).
    fn read<T: Scalar>(&self, r: Range<usize>) -> Option<RowBlock<T>>
    where
        S: RowSource<T>,
    {
        if self.failed() {
            return None;
        }
        let block = match self.fetch(r.clone()) {
            Ok(block) => block,
            Err(e) => {
                self.fail(e);
                return None;
            }
        };
        if let Some((row, col, value)) = first_invalid_in(&block, r.start) {
            self.fail(entry_error(row, col, value.as_f64()));
            return None;
        }
        Some(block)
    }

    /// Every block in order, checked, until `f` breaks or a read fails.
    fn each_raw<T: Scalar>(
        &self,
        mut f: impl FnMut(Range<usize>, &RowBlock<T>) -> core::ops::ControlFlow<()>,
    ) where
        S: RowSource<T>,
    {
        let m = self.source.shape().0;
        for r in blocks(m, self.block_rows) {
            let Some(block) = self.read(r.clone()) else {
                return;
            };
            if f(r, &block).is_break() {
                return;
            }
        }
    }
}

/// The error of an entry of V that a fit cannot take.
fn entry_error(row: usize, col: usize, value: f64) -> NmfError {
    if value.is_finite() {
        NmfError::NegativeEntry {
            matrix: MatrixRole::V,
            row,
            col,
            value,
        }
    } else {
        NmfError::NonFiniteEntry {
            matrix: MatrixRole::V,
            row,
            col,
            value,
        }
    }
}

/// A block owned in the wrapped data term's type, for the products of the SVD (which may
/// allocate; one at a time, so the variants' sizes do not matter).
#[allow(clippy::large_enum_variant)]
enum Owned<M, T> {
    Dense(M),
    Sparse(SparseData<T>),
}

impl<T: Scalar, B: DenseBackend<T>, S: RowSource<T>> DataOps<T, Streamed<S>> for B {
    type Work = StreamedWork<T, B::Mat, <B as DataOps<T, B::Mat>>::Work>;

    fn data_shape(&self, v: &Streamed<S>) -> (usize, usize) {
        v.source.shape()
    }
    /// The first invalid entry over the blocks (one pass). A read that fails is recorded
    /// ([`data_error`](DataOps::data_error)); an invalid entry is returned here.
    fn data_first_invalid(&self, v: &Streamed<S>) -> Option<(usize, usize, T)> {
        let mut found = None;
        let m = v.source.shape().0;
        for r in blocks(m, v.block_rows) {
            if v.failed() {
                break;
            }
            match v.fetch::<T>(r.clone()) {
                Ok(block) => {
                    if let Some(bad) = first_invalid_in(&block, r.start) {
                        found = Some(bad);
                        break;
                    }
                }
                Err(NmfError::NegativeEntry {
                    matrix: MatrixRole::V,
                    row,
                    col,
                    value,
                })
                | Err(NmfError::NonFiniteEntry {
                    matrix: MatrixRole::V,
                    row,
                    col,
                    value,
                }) => {
                    found = Some((row, col, T::from_f64(value)));
                    break;
                }
                Err(e) => {
                    v.fail(e);
                    break;
                }
            }
        }
        found
    }
    fn data_sum(&self, v: &Streamed<S>) -> f64 {
        let mut s = 0.0;
        v.each_raw::<T>(|_, block| {
            s += match block {
                RowBlock::Dense { data, .. } => data.iter().map(|x| x.as_f64()).sum::<f64>(),
                RowBlock::Sparse(c) => c.view().data().iter().map(|x| x.as_f64()).sum(),
            };
            core::ops::ControlFlow::Continue(())
        });
        s
    }
    /// `None`: a fit takes the randomized SVD, from [`wt_x`](DataOps::wt_x) and
    /// [`x_ht`](DataOps::x_ht) by blocks.
    fn data_truncated_svd(&self, _v: &Streamed<S>, _k: usize) -> Option<TruncatedSvd<T>> {
        None
    }
    fn data_first_zero(&self, v: &Streamed<S>) -> Option<(usize, usize)> {
        let mut found = None;
        v.each_raw::<T>(|r, block| {
            found = match block {
                RowBlock::Dense { cols, data, .. } => data
                    .iter()
                    .position(|&x| x == T::zero())
                    .map(|p| (r.start + p / cols, p % cols)),
                RowBlock::Sparse(c) => {
                    let c = c.view();
                    (0..c.nrows()).find_map(|i| {
                        let (idx, val) = c.row(i);
                        // The first column not stored, or stored as 0.
                        (0..c.ncols())
                            .find(|&j| match idx.binary_search(&j) {
                                Ok(p) => val[p] == T::zero(),
                                Err(_) => true,
                            })
                            .map(|j| (r.start + i, j))
                    })
                }
            };
            if found.is_some() {
                core::ops::ControlFlow::Break(())
            } else {
                core::ops::ControlFlow::Continue(())
            }
        });
        found
    }
    /// `WᵀV` by blocks, summed in `f64` (allocates per block: for the SVD, not the
    /// iterations). Zero if a read fails (recorded).
    fn wt_x(&self, dst: &mut Self::Mat, w: &Self::Mat, v: &Streamed<S>) {
        let (l, n) = self.shape(dst);
        let wr = self.to_row_major(w);
        let mut acc = vec![0.0; l * n];
        let mut stage = vec![T::zero(); l * n];
        let mut part = self.zeros(l, n);
        v.each_raw::<T>(|r, block| {
            let Some(x) = owned(self, v, block) else {
                return core::ops::ControlFlow::Break(());
            };
            let wb = self
                .from_row_major(r.len(), l, &wr[r.start * l..r.end * l])
                .expect("the block's rows of W");
            match &x {
                Owned::Dense(x) => <B as DataOps<T, B::Mat>>::wt_x(self, &mut part, &wb, x),
                Owned::Sparse(x) => <B as DataOps<T, SparseData<T>>>::wt_x(self, &mut part, &wb, x),
            }
            add_into(self, &mut acc, &mut stage, &part);
            core::ops::ControlFlow::Continue(())
        });
        if v.failed() {
            acc.fill(0.0);
        }
        fill_f64(self, dst, &acc);
    }
    /// `VHᵀ` by blocks (allocates per block: for the SVD). Zero if a read fails (recorded).
    fn x_ht(&self, dst: &mut Self::Mat, v: &Streamed<S>, h: &Self::Mat) {
        let (m, l) = self.shape(dst);
        let mut out = vec![T::zero(); m * l];
        v.each_raw::<T>(|r, block| {
            let Some(x) = owned(self, v, block) else {
                return core::ops::ControlFlow::Break(());
            };
            let mut part = self.zeros(r.len(), l);
            match &x {
                Owned::Dense(x) => <B as DataOps<T, B::Mat>>::x_ht(self, &mut part, x, h),
                Owned::Sparse(x) => <B as DataOps<T, SparseData<T>>>::x_ht(self, &mut part, x, h),
            }
            self.copy_to_row_major(&part, &mut out[r.start * l..r.end * l]);
            core::ops::ControlFlow::Continue(())
        });
        if v.failed() {
            out.fill(T::zero());
        }
        fill(self, dst, &out);
    }
    /// The buffers that do not depend on how the blocks are stored: the m×k staging (two for
    /// the general β), the k×n, k×k and block×k matrices and the `f64` sums. The blocks
    /// themselves (as read, and their copies and work buffers in the backend's type) are not
    /// counted: their size depends on their storage, which the source tells only when read;
    /// they are bounded by the block size chosen.
    fn data_bytes(
        &self,
        v: &Streamed<S>,
        k: usize,
        loss: Loss,
        _scaled: bool,
        _svd: bool,
    ) -> Option<usize> {
        let (m, n) = v.source.shape();
        let g = usize::from(general(loss));
        let rows = m.checked_mul(k)?.checked_mul(1 + g)?;
        let kn = k.checked_mul(n)?;
        let mats = kn
            .checked_mul(2 + g)?
            .checked_add(k.checked_mul(k)?)?
            .checked_add(
                v.block_rows
                    .min(m)
                    .checked_mul(k)?
                    .checked_mul(2 * (2 + g))?,
            )?;
        let acc = kn.checked_mul(2)?.checked_add(k.checked_mul(k)?)?;
        rows.checked_add(mats)?
            .checked_add(k)?
            .checked_mul(size_of::<T>())?
            .checked_add(acc.checked_mul(8)?)
    }
    fn data_error(&self, v: &Streamed<S>) -> Result<(), NmfError> {
        match v.error() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
    fn data_work(&self, v: &Streamed<S>, k: usize, loss: Loss) -> Self::Work {
        let (m, n) = v.source.shape();
        let g = general(loss);
        let slot = |rows: usize| Slot {
            rows,
            bufs: Bufs {
                w: self.zeros(rows, k),
                out1: self.zeros(rows, k),
                out2: if g {
                    self.zeros(rows, k)
                } else {
                    self.zeros(0, 0)
                },
            },
            dense: None,
        };
        let full_rows = v.block_rows.min(m);
        let tail = m % v.block_rows;
        let acc_len = 2 * k * n + k * k;
        StreamedWork {
            k,
            loss,
            full: slot(full_rows),
            tail: (tail != 0 && tail != full_rows).then(|| slot(tail)),
            kn1: self.zeros(k, n),
            kn2: if g {
                self.zeros(k, n)
            } else {
                self.zeros(0, 0)
            },
            kk: self.zeros(k, k),
            ksums: vec![T::zero(); k],
            hsums: vec![T::zero(); k],
            acc: vec![0.0; acc_len],
            stage: vec![T::zero(); (k * n).max(k * k)],
            rows_a: vec![T::zero(); m * k],
            rows_b: if g {
                vec![T::zero(); m * k]
            } else {
                Vec::new()
            },
        }
    }
    fn frobenius_stats_h(
        &self,
        v: &Streamed<S>,
        work: &mut Self::Work,
        w: &Self::Mat,
        num: &mut Self::Mat,
        gram: &mut Self::Mat,
    ) {
        let k = work.k;
        self.copy_to_row_major(w, &mut work.rows_a);
        let (kn, kk) = (self.nrows(num) * self.ncols(num), k * k);
        let StreamedWork {
            full,
            tail,
            kn1,
            kk: kkm,
            acc,
            stage,
            rows_a,
            loss,
            ..
        } = work;
        acc[..kn + kk].fill(0.0);
        passes(self, v, *loss, k, full, tail, |r, blk, bufs| {
            fill(self, &mut bufs.w, &rows_a[r.start * k..r.end * k]);
            on_block!(self, blk, frobenius_stats_h(&bufs.w, kn1, kkm));
            add_into(self, &mut acc[..kn], stage, kn1);
            add_into(self, &mut acc[kn..kn + kk], stage, kkm);
        });
        fill_f64(self, num, &acc[..kn]);
        fill_f64(self, gram, &acc[kn..kn + kk]);
    }
    fn frobenius_stats_w(
        &self,
        v: &Streamed<S>,
        work: &mut Self::Work,
        h: &Self::Mat,
        num: &mut Self::Mat,
        gram: &mut Self::Mat,
    ) {
        let k = work.k;
        let StreamedWork {
            full,
            tail,
            rows_a,
            loss,
            ..
        } = work;
        passes(self, v, *loss, k, full, tail, |r, blk, bufs| {
            // HHᵀ is the same for every block.
            on_block!(self, blk, frobenius_stats_w(h, &mut bufs.out1, &mut *gram));
            self.copy_to_row_major(&bufs.out1, &mut rows_a[r.start * k..r.end * k]);
        });
        fill(self, num, rows_a);
    }
    fn kl_stats_h(
        &self,
        v: &Streamed<S>,
        work: &mut Self::Work,
        w: &Self::Mat,
        h: &Self::Mat,
        num: &mut Self::Mat,
        sums: &mut [T],
    ) {
        let k = work.k;
        self.copy_to_row_major(w, &mut work.rows_a);
        let kn = self.nrows(num) * self.ncols(num);
        let StreamedWork {
            full,
            tail,
            kn1,
            ksums,
            acc,
            stage,
            rows_a,
            loss,
            ..
        } = work;
        acc[..kn + k].fill(0.0);
        passes(self, v, *loss, k, full, tail, |r, blk, bufs| {
            fill(self, &mut bufs.w, &rows_a[r.start * k..r.end * k]);
            on_block!(self, blk, kl_stats_h(&bufs.w, h, kn1, ksums));
            add_into(self, &mut acc[..kn], stage, kn1);
            for (s, x) in acc[kn..kn + k].iter_mut().zip(ksums.iter()) {
                *s += x.as_f64();
            }
        });
        fill_f64(self, num, &acc[..kn]);
        for (s, &x) in sums.iter_mut().zip(&acc[kn..kn + k]) {
            *s = T::from_f64(x);
        }
    }
    fn kl_stats_w(
        &self,
        v: &Streamed<S>,
        work: &mut Self::Work,
        w: &Self::Mat,
        h: &Self::Mat,
        num: &mut Self::Mat,
        sums: &mut [T],
    ) {
        let k = work.k;
        self.copy_to_row_major(w, &mut work.rows_a);
        let StreamedWork {
            full,
            tail,
            rows_a,
            loss,
            ..
        } = work;
        passes(self, v, *loss, k, full, tail, |r, blk, bufs| {
            let rows = r.start * k..r.end * k;
            fill(self, &mut bufs.w, &rows_a[rows.clone()]);
            // The row sums of H are the same for every block.
            on_block!(
                self,
                blk,
                kl_stats_w(&bufs.w, h, &mut bufs.out1, &mut *sums)
            );
            self.copy_to_row_major(&bufs.out1, &mut rows_a[rows]);
        });
        fill(self, num, rows_a);
    }
    fn beta_stats_h(
        &self,
        v: &Streamed<S>,
        work: &mut Self::Work,
        w: &Self::Mat,
        h: &Self::Mat,
        beta: T,
        num: &mut Self::Mat,
        den: &mut Self::Mat,
    ) {
        let k = work.k;
        self.copy_to_row_major(w, &mut work.rows_a);
        let kn = self.nrows(num) * self.ncols(num);
        let StreamedWork {
            full,
            tail,
            kn1,
            kn2,
            acc,
            stage,
            rows_a,
            loss,
            ..
        } = work;
        acc[..2 * kn].fill(0.0);
        passes(self, v, *loss, k, full, tail, |r, blk, bufs| {
            fill(self, &mut bufs.w, &rows_a[r.start * k..r.end * k]);
            on_block!(self, blk, beta_stats_h(&bufs.w, h, beta, kn1, kn2));
            add_into(self, &mut acc[..kn], stage, kn1);
            add_into(self, &mut acc[kn..2 * kn], stage, kn2);
        });
        fill_f64(self, num, &acc[..kn]);
        fill_f64(self, den, &acc[kn..2 * kn]);
    }
    fn beta_stats_w(
        &self,
        v: &Streamed<S>,
        work: &mut Self::Work,
        w: &Self::Mat,
        h: &Self::Mat,
        beta: T,
        num: &mut Self::Mat,
        den: &mut Self::Mat,
    ) {
        let k = work.k;
        self.copy_to_row_major(w, &mut work.rows_a);
        let StreamedWork {
            full,
            tail,
            rows_a,
            rows_b,
            loss,
            ..
        } = work;
        passes(self, v, *loss, k, full, tail, |r, blk, bufs| {
            let rows = r.start * k..r.end * k;
            fill(self, &mut bufs.w, &rows_a[rows.clone()]);
            let Bufs { w, out1, out2 } = bufs;
            on_block!(self, blk, beta_stats_w(w, h, beta, out1, out2));
            self.copy_to_row_major(out1, &mut rows_a[rows.clone()]);
            self.copy_to_row_major(out2, &mut rows_b[rows]);
        });
        fill(self, num, rows_a);
        fill(self, den, rows_b);
    }
    fn data_loss(
        &self,
        v: &Streamed<S>,
        work: &mut Self::Work,
        w: &Self::Mat,
        h: &Self::Mat,
        loss: Loss,
    ) -> f64 {
        <Self as DataOps<T, Streamed<S>>>::data_evaluate(self, v, work, w, h, loss).loss
    }
    /// The sums over the blocks of their losses and sizes. For a dense block the sizes of
    /// the Frobenius and KL losses are formed here from the block (as
    /// [`data::dense`](crate::data::dense) forms them: `3·½‖V_b‖² + 2·loss_b`, and
    /// `ΣV_b + Σ_a (ΣW_b)_a (ΣH)_a` with `loss_b` added for the `f64` terms), because the
    /// dense data term keeps ‖V‖ of the first matrix it evaluates in its work, which the
    /// blocks share; the β sizes and the sparse blocks' (whose work is made per block) come
    /// from the wrapped data term.
    fn data_evaluate(
        &self,
        v: &Streamed<S>,
        work: &mut Self::Work,
        w: &Self::Mat,
        h: &Self::Mat,
        loss: Loss,
    ) -> DataEvaluation {
        let k = work.k;
        self.copy_to_row_major(w, &mut work.rows_a);
        let StreamedWork {
            full,
            tail,
            ksums,
            hsums,
            rows_a,
            loss: wloss,
            ..
        } = work;
        let mut total = [0.0_f64; 3];
        // The row sums of H, for the KL size of dense blocks.
        if loss == Loss::KullbackLeibler {
            self.row_sums(h, hsums);
        }
        let h_rows = &*hsums;
        passes(self, v, *wloss, k, full, tail, |r, blk, bufs| {
            fill(self, &mut bufs.w, &rows_a[r.start * k..r.end * k]);
            let e = match (blk, loss) {
                (Block::Dense(x, xw), Loss::Frobenius) => {
                    let value = <B as DataOps<T, B::Mat>>::data_loss(self, x, xw, &bufs.w, h, loss);
                    let sv = 0.5 * self.sq_norm(x);
                    DataEvaluation {
                        loss: value,
                        scale: 3.0 * sv + 2.0 * value,
                        f64_terms: 0.0,
                    }
                }
                (Block::Dense(x, xw), Loss::KullbackLeibler) => {
                    let value = <B as DataOps<T, B::Mat>>::data_loss(self, x, xw, &bufs.w, h, loss);
                    let sv = self.sum(x);
                    self.col_sums(&bufs.w, ksums);
                    let swh: f64 = ksums
                        .iter()
                        .zip(h_rows.iter())
                        .map(|(c, r)| c.as_f64() * r.as_f64())
                        .sum();
                    DataEvaluation {
                        loss: value,
                        scale: sv + swh,
                        f64_terms: value + sv + swh,
                    }
                }
                (blk, _) => on_block!(self, blk, data_evaluate(&bufs.w, h, loss)),
            };
            total[0] += e.loss;
            total[1] += e.scale;
            total[2] += e.f64_terms;
        });
        DataEvaluation {
            loss: total[0],
            scale: total[1],
            f64_terms: total[2],
        }
    }
}

/// A checked block as an owned value of the wrapped data term's type; `None` (recorded) if
/// the sparse compression cannot be allocated.
fn owned<T: Scalar, B: DenseBackend<T>, S>(
    b: &B,
    v: &Streamed<S>,
    block: &RowBlock<T>,
) -> Option<Owned<B::Mat, T>> {
    match block {
        RowBlock::Dense { rows, cols, data } => Some(Owned::Dense(
            b.from_row_major(*rows, *cols, data)
                .expect("the block's length is checked"),
        )),
        RowBlock::Sparse(c) => match SparseData::from_csr(c.clone()) {
            Ok(x) => Some(Owned::Sparse(x)),
            Err(e) => {
                v.fail(e);
                None
            }
        },
    }
}

/// The [`Slot`] of backend `B`.
type SlotOf<T, B> =
    Slot<<B as MatrixBackend<T>>::Mat, <B as DataOps<T, <B as MatrixBackend<T>>::Mat>>::Work>;
/// The [`Block`] of backend `B`.
type BlockOf<'a, T, B> = Block<
    'a,
    T,
    <B as MatrixBackend<T>>::Mat,
    <B as DataOps<T, <B as MatrixBackend<T>>::Mat>>::Work,
    <B as DataOps<T, SparseData<T>>>::Work,
>;

/// One pass over the blocks of V: each block read, checked and made the wrapped data term's
/// type (dense blocks into the slot's matrix, made at the first dense block of that size;
/// sparse blocks compressed with their own work), then `f(rows, block, buffers)`. Stops at
/// the first failure (recorded in `v`).
#[allow(clippy::too_many_arguments)]
fn passes<T, B, S>(
    b: &B,
    v: &Streamed<S>,
    loss: Loss,
    k: usize,
    full: &mut SlotOf<T, B>,
    tail: &mut Option<SlotOf<T, B>>,
    mut f: impl FnMut(Range<usize>, BlockOf<'_, T, B>, &mut Bufs<B::Mat>),
) where
    T: Scalar,
    B: DenseBackend<T>,
    S: RowSource<T>,
{
    let (m, n) = v.source.shape();
    for r in blocks(m, v.block_rows) {
        let Some(block) = v.read::<T>(r.clone()) else {
            return;
        };
        let slot = if r.len() == full.rows {
            &mut *full
        } else {
            tail.as_mut()
                .expect("a block shorter than the others is the last")
        };
        match block {
            RowBlock::Dense { data, .. } => {
                let (x, xw) = slot.dense.get_or_insert_with(|| {
                    let x = b.zeros(r.len(), n);
                    let xw = <B as DataOps<T, B::Mat>>::data_work(b, &x, k, loss);
                    (x, xw)
                });
                fill(b, x, &data);
                f(r, Block::Dense(&*x, xw), &mut slot.bufs);
            }
            RowBlock::Sparse(c) => {
                let x = match SparseData::from_csr(c) {
                    Ok(x) => x,
                    Err(e) => {
                        v.fail(e);
                        return;
                    }
                };
                let mut xw = <B as DataOps<T, SparseData<T>>>::data_work(b, &x, k, loss);
                f(r, Block::Sparse(&x, &mut xw), &mut slot.bufs);
            }
        }
    }
}
