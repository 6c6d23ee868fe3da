//! # nmf-faer
//!
//! Non-negative matrix factorization on [`faer`] matrices: the [`Faer`] backend for
//! [`nmf_core`], with everything needed to fit a model re-exported, so this crate is the only
//! dependency you add.
//!
//! ```
//! use nmf_faer::{Faer, Loss, Nmf, faer::Mat};
//!
//! // 6 documents × 4 words, two topics: V is exactly of rank 2.
//! let v = Mat::from_fn(6, 4, |i, j| if (i < 3) == (j < 2) { ((1 + i) * (1 + j)) as f64 } else { 0.0 });
//! let model = Nmf::params(2).loss(Loss::KullbackLeibler).max_iter(500).seed(3).fit(&Faer::default(), &v)?;
//! let (w, h) = (model.w(), model.h()); // faer::Mat<f64>, 6×2 and 2×4
//! assert_eq!((w.nrows(), h.ncols()), (6, 4));
//! assert!(model.final_loss() < 1e-3);
//! # Ok::<(), nmf_faer::NmfError>(())
//! ```
//!
//! This crate re-exports the whole API of [`nmf_core`] (parameters, [`NmfModel`],
//! [`TransformParams`], [`Fixed`], [`Penalty`], [`Progress`], [`LossRecord`], [`NmfError`], the
//! backend traits and the [`reference::Reference`] backend), so it is the only dependency to add:
//! `nmf-faer = { path = "../nmf-rs/crates/nmf-faer" }` from a clone of the repository, or
//! `nmf-faer = "0.1"` once published. Its feature `io` adds saving and loading models
//! (`SavedModel`, JSON and `.npz`); a saved model loads into any backend in either scalar type,
//! which `into_model` is told: `SavedModel::load(path)?.into_model::<f64, _>(&backend)?`.
//!
//! Threads: products use faer's [`Par`]: [`Faer::default`] uses every thread of rayon's global
//! pool for products of at least [`Faer::PARALLEL_MIN_FLOPS`] flops and
//! [`Faer::PARALLEL_MIN_OUTPUT`] output entries, and runs smaller ones (the k×k Gram matrices,
//! small problems) on one thread, where threads only cost time. The entry-wise steps
//! (nmf-core's kernels, handed one contiguous column at a time) run on the same threads for
//! matrices of at least [`Faer::PARALLEL_MIN_ELEMENTS`] entries, with the same results on any
//! number of threads; the `f64` sums are cut into blocks fixed by the shape and merged in
//! order, so they too have the same bits on any number of threads.
//!
//! Sparse V: [`sparse_input`] builds the data of a fit from faer's own sparse matrices
//! (`SparseRowMat`, `SparseColMat`), checked, at O(nnz·k) per half-step for Frobenius and KL:
//!
//! ```
//! use nmf_faer::{Faer, Nmf, faer::sparse::{SparseRowMat, Triplet}};
//! let t = [Triplet::new(0, 0, 3.0), Triplet::new(1, 2, 1.0), Triplet::new(2, 1, 2.0)];
//! let x = SparseRowMat::<usize, f64>::try_new_from_triplets(3, 3, &t).unwrap();
//! let v = nmf_faer::sparse_input::sparse_data(x.as_ref())?;
//! let model = Nmf::params(1).seed(0).fit(&Faer::default(), &v)?;
//! # Ok::<(), nmf_faer::NmfError>(())
//! ```
//!
#![warn(missing_docs)]

pub use faer;
pub use faer::Par;
// The whole public API of nmf-core, so that this crate is the only dependency a user adds
// (checked against nmf-core's lib.rs by nmf-crosscheck's `reexports` test, and used through
// this crate alone by tests/one_crate.rs).
pub use nmf_core::{
    self, Accum, CdKlOptions, CdKlSolver, Collective, DataEvaluation, DataOps, DenseBackend,
    Distributed, Evaluation, Fitting, Fixed, HalsOptions, HalsSolver, Init, LaneFn, Lanes, Loss,
    LossRecord, MAX_BETA, MAX_ZIP_INS, MAX_ZIP_OUTS, MatrixBackend, MatrixRole, MuSolver, Nmf,
    NmfError, NmfModel, NmfParams, NmfValidParams, NoObserver, Penalty, Progress, ReduceFn, Run,
    RunAxis, Scalar, Sequential, Solver, Threaded, Trans, TransformParams, Transforming,
    TruncatedSvd, VisitFn, ZipFn, auxiliary, check_zip, data, distributed, init, kernels, lane,
    masked, minibatch, nndsvd, rank_selection, reference, sparse, streamed, update,
};
// Saving and loading fitted models (feature `io`). nmf-core's `svd` module is reachable as
// `nmf_core::svd` (this crate has its own private `svd`).
#[cfg(feature = "io")]
pub use nmf_core::{FORMAT, SavedModel, VERSION, npy_header};

pub mod sparse_input;
mod svd;

use faer::linalg::matmul::matmul;
use faer::{Mat, MatRef};
use nmf_core::lane::{BlockShape, LaneBlock, LaneBlockMut};

/// The scalar types this backend computes in: `f32` and `f64`.
pub trait FaerScalar: Scalar + faer::traits::ComplexField {}
impl<T: Scalar + faer::traits::ComplexField> FaerScalar for T {}

/// The faer backend: matrices are `faer::Mat<T>`, products are `faer::linalg::matmul`.
///
/// ```
/// use nmf_faer::{Faer, MatrixBackend};
/// let b = Faer::with_threads(2);
/// let a = MatrixBackend::<f32>::from_row_major(&b, 2, 2, &[1.0, 2.0, 3.0, 4.0]).unwrap();
/// assert_eq!(a[(1, 0)], 3.0);
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Faer {
    par: faer::Par,
}

impl Default for Faer {
    /// All threads of rayon's global pool for large products.
    fn default() -> Self {
        Self {
            par: faer::Par::rayon(0),
        }
    }
}

impl Faer {
    /// Products of fewer flops (2·m·n·k) than this run on one thread whatever the setting.
    pub const PARALLEL_MIN_FLOPS: usize = 1 << 22;
    /// Products with fewer output entries than this run on one thread whatever the setting:
    /// the k×k Gram matrices WᵀW and HHᵀ (k ≤ 128) are slower on two threads than on one
    /// (nmf-bench measured 224 → 288 µs for 2000×50 at k = 50).
    pub const PARALLEL_MIN_OUTPUT: usize = 1 << 14;

    /// Elementwise passes over matrices with fewer entries than this run on one thread.
    pub const PARALLEL_MIN_ELEMENTS: usize = 1 << 16;

    /// `Σ_j f(j)` over the columns `0..n` of an m×n matrix, in `f64`: the columns are cut into
    /// blocks of about [`Self::PARALLEL_MIN_ELEMENTS`] entries (fixed by the shape, never by
    /// the number of threads), each block is summed into its own compensated sum, and the
    /// blocks are merged in order. So the result has the same bits on any number of threads;
    /// the blocks run in parallel when the backend has threads.
    fn reduce_cols(
        &self,
        m: usize,
        n: usize,
        f: impl Fn(usize, &mut kernels::F64Sum) + Sync,
    ) -> f64 {
        let block = (Self::PARALLEL_MIN_ELEMENTS / m.max(1)).max(1);
        let blocks = n.div_ceil(block);
        let run = |b: usize| {
            let mut acc = kernels::F64Sum::default();
            (b * block..((b + 1) * block).min(n)).for_each(|j| f(j, &mut acc));
            acc
        };
        let mut total = kernels::F64Sum::default();
        if self.par.degree() <= 1 || blocks < 2 {
            (0..blocks).for_each(|b| total.merge(run(b)));
        } else {
            use rayon::prelude::*;
            // One small vector of partial sums per reduction (not matrix-sized).
            let parts: Vec<kernels::F64Sum> = (0..blocks).into_par_iter().map(run).collect();
            parts.into_iter().for_each(|p| total.merge(p));
        }
        total.value()
    }

    /// One thread.
    pub fn sequential() -> Self {
        Self {
            par: faer::Par::Seq,
        }
    }
    /// `n` threads of rayon's global pool for large products (0: all of them).
    pub fn with_threads(n: usize) -> Self {
        if n == 1 {
            Self::sequential()
        } else {
            Self {
                par: faer::Par::rayon(n),
            }
        }
    }
    /// The parallelism setting.
    pub fn par(&self) -> faer::Par {
        self.par
    }
}

/// A pointer to the entries of a matrix that the blocks of [`MatrixBackend::for_each_lane`]
/// share across threads (each thread touches its own lanes only).
#[derive(Clone, Copy)]
struct SendPtr<T>(*mut T);
// SAFETY: used only to reach disjoint entries from several threads, see for_each_lane.
unsafe impl<T> Send for SendPtr<T> {}
// SAFETY: as above.
unsafe impl<T> Sync for SendPtr<T> {}
impl<T> SendPtr<T> {
    fn get(self) -> *mut T {
        self.0
    }
}

/// As [`SendPtr`], read-only.
#[derive(Clone, Copy)]
struct SendConstPtr<T>(*const T);
// SAFETY: only read, while no one writes, see for_each_lane.
unsafe impl<T> Send for SendConstPtr<T> {}
// SAFETY: as above.
unsafe impl<T> Sync for SendConstPtr<T> {}
impl<T> SendConstPtr<T> {
    fn get(self) -> *const T {
        self.0
    }
}

fn assert_same_shape<T>(a: &Mat<T>, b: &Mat<T>, what: &str) {
    assert!(
        a.nrows() == b.nrows() && a.ncols() == b.ncols(),
        "{what}: shapes {}×{} and {}×{} differ",
        a.nrows(),
        a.ncols(),
        b.nrows(),
        b.ncols()
    );
}

fn op<T>(a: &Mat<T>, t: Trans) -> MatRef<'_, T> {
    match t {
        Trans::No => a.as_ref(),
        Trans::Yes => a.as_ref().transpose(),
    }
}

impl<T: FaerScalar> MatrixBackend<T> for Faer {
    type Mat = Mat<T>;

    fn nrows(&self, a: &Mat<T>) -> usize {
        a.nrows()
    }
    fn ncols(&self, a: &Mat<T>) -> usize {
        a.ncols()
    }
    fn from_fn(&self, rows: usize, cols: usize, f: impl FnMut(usize, usize) -> T) -> Mat<T> {
        Mat::from_fn(rows, cols, f)
    }
    fn to_row_major(&self, a: &Mat<T>) -> Vec<T> {
        let mut out = Vec::with_capacity(a.nrows() * a.ncols());
        for i in 0..a.nrows() {
            for j in 0..a.ncols() {
                out.push(a[(i, j)]);
            }
        }
        out
    }

    fn matmul(
        &self,
        dst: &mut Mat<T>,
        accum: Accum,
        alpha: T,
        a: &Mat<T>,
        trans_a: Trans,
        b: &Mat<T>,
        trans_b: Trans,
    ) {
        let (lhs, rhs) = (op(a, trans_a), op(b, trans_b));
        assert!(
            lhs.ncols() == rhs.nrows() && dst.nrows() == lhs.nrows() && dst.ncols() == rhs.ncols(),
            "matmul: {}×{} times {}×{} into {}×{}",
            lhs.nrows(),
            lhs.ncols(),
            rhs.nrows(),
            rhs.ncols(),
            dst.nrows(),
            dst.ncols()
        );
        let flops = 2 * lhs.nrows() * rhs.ncols() * lhs.ncols();
        let par = if flops < Self::PARALLEL_MIN_FLOPS {
            faer::Par::Seq
        } else {
            self.par
        };
        let accum = match accum {
            Accum::Replace => faer::Accum::Replace,
            Accum::Add => faer::Accum::Add,
        };
        matmul(dst.as_mut(), accum, lhs, rhs, alpha, par);
    }

    fn zip_mut(&self, outs: &mut [&mut Mat<T>], ins: &[&Mat<T>], f: &ZipFn<'_, T>) {
        use rayon::prelude::*;
        let shapes = outs.iter().map(|a| (a.nrows(), a.ncols()));
        let (m, n) = check_zip(
            outs.len(),
            ins.len(),
            shapes.chain(ins.iter().map(|a| (a.nrows(), a.ncols()))),
            "zip_mut",
        );
        let (n_out, n_in) = (outs.len(), ins.len());
        assert!(n_out > 0, "zip_mut: nothing to write");
        if m == 0 || n == 0 {
            return;
        }
        // Column j of each matrix: `m` contiguous entries from its column pointer.
        let mut op = [(SendPtr(core::ptr::null_mut()), 0isize); MAX_ZIP_OUTS];
        for (slot, a) in op.iter_mut().zip(outs.iter_mut()) {
            let a = a.as_mut();
            *slot = (SendPtr(a.as_ptr_mut()), a.col_stride());
        }
        let mut ip = [(SendConstPtr(core::ptr::null()), 0isize); MAX_ZIP_INS];
        for (slot, a) in ip.iter_mut().zip(ins) {
            let a = a.as_ref();
            *slot = (SendConstPtr(a.as_ptr()), a.col_stride());
        }
        let column = |j: usize| {
            let mut o: [&mut [T]; MAX_ZIP_OUTS] = Default::default();
            for (slot, &(p, cs)) in o.iter_mut().zip(&op[..n_out]) {
                // SAFETY: column j of a faer matrix is `m` contiguous entries at j·col_stride
                // from entry (0, 0); the written matrices are distinct (`&mut` borrows), each
                // column is handed to one call only, and the matrices outlive this call.
                *slot =
                    unsafe { core::slice::from_raw_parts_mut(p.get().offset(j as isize * cs), m) };
            }
            let mut r: [&[T]; MAX_ZIP_INS] = Default::default();
            for (slot, &(p, cs)) in r.iter_mut().zip(&ip[..n_in]) {
                // SAFETY: as above; read only, and not written during the call (shared borrows).
                *slot = unsafe { core::slice::from_raw_parts(p.get().offset(j as isize * cs), m) };
            }
            let run = Run {
                row: 0,
                col: j,
                axis: RunAxis::Column,
                len: m,
            };
            f(run, &mut o[..n_out], &r[..n_in]);
        };
        let threads = self.par.degree();
        if threads <= 1 || n < 2 || m * n < Self::PARALLEL_MIN_ELEMENTS {
            (0..n).for_each(column);
            return;
        }
        // Blocks of columns on the threads; each entry's result is the same on any blocking.
        let chunk = n.div_ceil(threads);
        (0..n.div_ceil(chunk))
            .into_par_iter()
            .for_each(|c| (c * chunk..((c + 1) * chunk).min(n)).for_each(column));
    }
    fn reduce(&self, ins: &[&Mat<T>], f: &ReduceFn<'_, T>) -> f64 {
        let (m, n) = check_zip(
            0,
            ins.len(),
            ins.iter().map(|a| (a.nrows(), a.ncols())),
            "reduce",
        );
        self.reduce_cols(m, n, |j, acc| {
            let mut r: [&[T]; MAX_ZIP_INS] = Default::default();
            for (slot, a) in r.iter_mut().zip(ins) {
                *slot = a.col_as_slice(j);
            }
            let run = Run {
                row: 0,
                col: j,
                axis: RunAxis::Column,
                len: m,
            };
            f(run, &r[..ins.len()], acc)
        })
    }
    fn visit(&self, ins: &[&Mat<T>], f: &mut VisitFn<'_, T>) {
        let (m, n) = check_zip(
            0,
            ins.len(),
            ins.iter().map(|a| (a.nrows(), a.ncols())),
            "visit",
        );
        for j in 0..n {
            let mut r: [&[T]; MAX_ZIP_INS] = Default::default();
            for (slot, a) in r.iter_mut().zip(ins) {
                *slot = a.col_as_slice(j);
            }
            let run = Run {
                row: 0,
                col: j,
                axis: RunAxis::Column,
                len: m,
            };
            f(run, &r[..ins.len()]);
        }
    }
    fn copy_from(&self, dst: &mut Mat<T>, src: &Mat<T>) {
        assert_same_shape(dst, src, "copy_from");
        dst.copy_from(src);
    }

    fn for_each_lane(
        &self,
        x: &mut Mat<T>,
        num: &Mat<T>,
        lanes: Lanes,
        out: &mut [f64],
        f: &LaneFn<'_, T>,
    ) {
        use rayon::prelude::*;
        assert_same_shape(x, num, "for_each_lane");
        let (rows, cols) = (x.nrows(), x.ncols());
        let (xm, nm) = (x.as_mut(), num.as_ref());
        // Entry (i, j) at i·row_stride + j·col_stride from entry (0, 0).
        let shape = |rs: isize, cs: isize, count: usize| match lanes {
            Lanes::Columns => BlockShape {
                lanes: count,
                len: rows,
                lane_stride: cs,
                coord_stride: rs,
            },
            Lanes::Rows => BlockShape {
                lanes: count,
                len: cols,
                lane_stride: rs,
                coord_stride: cs,
            },
        };
        let total = match lanes {
            Lanes::Columns => cols,
            Lanes::Rows => rows,
        };
        assert_eq!(out.len(), total, "for_each_lane: one result per lane");
        let (xrs, xcs, nrs, ncs) = (
            xm.row_stride(),
            xm.col_stride(),
            nm.row_stride(),
            nm.col_stride(),
        );
        let (xs, ns) = (shape(xrs, xcs, 0), shape(nrs, ncs, 0));
        let (xp, np) = (SendPtr(xm.as_ptr_mut()), SendConstPtr(nm.as_ptr()));
        // Lanes l0..l0 + count as one block.
        let block = |l0: usize, out: &mut [f64]| {
            let count = out.len();
            // SAFETY: the entries of a faer matrix lie at those offsets from entry (0, 0),
            // distinct entries at distinct places; the blocks cover disjoint lanes l0..l0 +
            // count of `total`; `x` is borrowed mutably and `num` shared for the whole call.
            let (mut bx, bn) = unsafe {
                (
                    LaneBlockMut::from_raw_parts(
                        xp.get().offset(l0 as isize * xs.lane_stride),
                        BlockShape { lanes: count, ..xs },
                    ),
                    LaneBlock::from_raw_parts(
                        np.get().offset(l0 as isize * ns.lane_stride),
                        BlockShape { lanes: count, ..ns },
                    ),
                )
            };
            f(&mut bx, &bn, out);
        };
        let threads = self.par.degree();
        if threads <= 1 || total < 2 || rows * cols < Self::PARALLEL_MIN_ELEMENTS / 4 {
            block(0, out);
            return;
        }
        // Blocks of lanes on the threads; each lane's result is the same on any blocking.
        let chunk = total.div_ceil(threads);
        out.par_chunks_mut(chunk)
            .enumerate()
            .for_each(|(c, o)| block(c * chunk, o));
    }
    fn truncated_svd(&self, a: &Mat<T>, k: usize) -> Option<nmf_core::TruncatedSvd<T>> {
        svd::truncated_svd(self.par, a, k)
    }
}

impl<T: FaerScalar> DataOps<T, Mat<T>> for Faer {
    nmf_core::dense_data_ops!(T);
}
