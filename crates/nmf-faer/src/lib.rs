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
//! small problems) on one thread, where threads only cost time.
#![warn(missing_docs)]

pub use faer;
pub use faer::Par;
// The whole public API of nmf-core, so that this crate is the only dependency a user adds
// (checked against nmf-core's lib.rs by nmf-crosscheck's `reexports` test, and used through
// this crate alone by tests/one_crate.rs).
pub use nmf_core::{
    self, Accum, CdKlOptions, CdKlSolver, DataOps, DenseBackend, Evaluation, Fixed, HalsOptions,
    HalsSolver, Init, LaneFn, Lanes, Loss, LossRecord, MAX_BETA, MatrixBackend, MatrixRole,
    MuSolver, Nmf, NmfError, NmfModel, NmfParams, NmfValidParams, Penalty, Progress, Scalar,
    Solver, Trans, TransformParams, TruncatedSvd, auxiliary, init, kernels, lane, nndsvd,
    reference, sparse, update,
};
// Saving and loading fitted models (feature `io`). nmf-core's `svd` module is reachable as
// `nmf_core::svd` (this crate has its own private `svd`).
#[cfg(feature = "io")]
pub use nmf_core::{FORMAT, SavedModel, VERSION, npy_header};

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

    /// Runs `f(j, column j of x)` for every column, split across the backend's threads (rayon)
    /// when the matrix has at least [`Self::PARALLEL_MIN_ELEMENTS`] entries. Each entry is
    /// computed by the same operations either way, so the result does not depend on it.
    fn for_each_col<T: FaerScalar>(&self, x: &mut Mat<T>, f: impl Fn(usize, &mut [T]) + Sync) {
        use faer::reborrow::ReborrowMut;
        use rayon::prelude::*;
        let (m, n) = (x.nrows(), x.ncols());
        let threads = self.par.degree();
        if threads <= 1 || n < 2 || m * n < Self::PARALLEL_MIN_ELEMENTS {
            for j in 0..n {
                f(j, x.col_as_slice_mut(j));
            }
            return;
        }
        let chunk = n.div_ceil(threads);
        x.as_mut()
            .par_col_chunks_mut(chunk)
            .enumerate()
            .for_each(|(i, mut cols)| {
                for jj in 0..cols.ncols() {
                    let col = cols.rb_mut().col_mut(jj).try_as_col_major_mut();
                    f(
                        i * chunk + jj,
                        col.expect("a faer::Mat has contiguous columns")
                            .as_slice_mut(),
                    );
                }
            });
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

    fn copy_from(&self, dst: &mut Mat<T>, src: &Mat<T>) {
        assert_same_shape(dst, src, "copy_from");
        dst.copy_from(src);
    }
    fn clamp_min(&self, a: &mut Mat<T>, lo: T) {
        self.for_each_col(a, |_, col| kernels::clamp_min_slice(col, lo));
    }
    fn mu_update(&self, x: &mut Mat<T>, num: &Mat<T>, den: &Mat<T>, eps: T) {
        assert_same_shape(x, num, "mu_update");
        assert_same_shape(x, den, "mu_update");
        self.for_each_col(x, |j, col| {
            kernels::mu_step_slice(col, num.col_as_slice(j), den.col_as_slice(j), eps)
        });
    }
    fn mu_update_row_den(&self, x: &mut Mat<T>, num: &Mat<T>, den: &[T], eps: T) {
        assert_same_shape(x, num, "mu_update_row_den");
        assert_eq!(
            den.len(),
            x.nrows(),
            "mu_update_row_den: one denominator per row"
        );
        self.for_each_col(x, |j, col| {
            kernels::mu_step_slice(col, num.col_as_slice(j), den, eps)
        });
    }
    fn mu_update_col_den(&self, x: &mut Mat<T>, num: &Mat<T>, den: &[T], eps: T) {
        assert_same_shape(x, num, "mu_update_col_den");
        assert_eq!(
            den.len(),
            x.ncols(),
            "mu_update_col_den: one denominator per column"
        );
        self.for_each_col(x, |j, col| {
            kernels::mu_step_slice_scalar_den(col, num.col_as_slice(j), den[j], eps)
        });
    }
    fn mu_update_l2(&self, x: &mut Mat<T>, num: &Mat<T>, den: &Mat<T>, l2: T, eps: T) {
        assert_same_shape(x, num, "mu_update_l2");
        assert_same_shape(x, den, "mu_update_l2");
        self.for_each_col(x, |j, col| {
            kernels::mu_step_l2_slice(col, num.col_as_slice(j), den.col_as_slice(j), l2, eps)
        });
    }
    fn mu_update_pow(&self, x: &mut Mat<T>, num: &Mat<T>, den: &Mat<T>, gamma: T, eps: T) {
        assert_same_shape(x, num, "mu_update_pow");
        assert_same_shape(x, den, "mu_update_pow");
        self.for_each_col(x, |j, col| {
            kernels::mu_step_pow_slice(col, num.col_as_slice(j), den.col_as_slice(j), gamma, eps)
        });
    }
    fn beta_parts_in_place(&self, a: &mut Mat<T>, b: &mut Mat<T>, v: &Mat<T>, beta: T) {
        assert_same_shape(a, b, "beta_parts_in_place");
        assert_same_shape(a, v, "beta_parts_in_place");
        for j in 0..a.ncols() {
            kernels::beta_parts_slice(
                a.col_as_slice_mut(j),
                b.col_as_slice_mut(j),
                v.col_as_slice(j),
                beta,
            );
        }
    }
    fn kl_ratio_in_place(&self, r: &mut Mat<T>, v: &Mat<T>) {
        assert_same_shape(r, v, "kl_ratio_in_place");
        self.for_each_col(r, |j, col| kernels::kl_ratio_slice(col, v.col_as_slice(j)));
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
    fn copy_to_row_major(&self, a: &Mat<T>, out: &mut [T]) {
        let cols = a.ncols();
        assert_eq!(out.len(), a.nrows() * cols, "copy_to_row_major: length");
        for j in 0..cols {
            for (i, &x) in a.col_as_slice(j).iter().enumerate() {
                out[i * cols + j] = x;
            }
        }
    }
    fn row_sums(&self, a: &Mat<T>, out: &mut [T]) {
        assert_eq!(out.len(), a.nrows(), "row_sums: one output per row");
        out.fill(T::zero());
        for j in 0..a.ncols() {
            for (o, &x) in out.iter_mut().zip(a.col_as_slice(j)) {
                *o += x;
            }
        }
    }
    fn col_sums(&self, a: &Mat<T>, out: &mut [T]) {
        assert_eq!(out.len(), a.ncols(), "col_sums: one output per column");
        for (j, o) in out.iter_mut().enumerate() {
            *o = a.col_as_slice(j).iter().fold(T::zero(), |s, &x| s + x);
        }
    }
    fn sum(&self, a: &Mat<T>) -> f64 {
        self.reduce_cols(a.nrows(), a.ncols(), |j, acc| {
            kernels::sum_slice(acc, a.col_as_slice(j))
        })
    }
    fn frobenius_loss(&self, v: &Mat<T>, wh: &Mat<T>) -> f64 {
        assert_same_shape(v, wh, "frobenius_loss");
        self.reduce_cols(v.nrows(), v.ncols(), |j, acc| {
            kernels::frobenius_slice(acc, v.col_as_slice(j), wh.col_as_slice(j))
        })
    }
    fn kl_loss(&self, v: &Mat<T>, wh: &Mat<T>) -> f64 {
        assert_same_shape(v, wh, "kl_loss");
        self.reduce_cols(v.nrows(), v.ncols(), |j, acc| {
            kernels::kl_slice(acc, v.col_as_slice(j), wh.col_as_slice(j))
        })
    }
    fn beta_loss(&self, v: &Mat<T>, wh: &Mat<T>, beta: f64) -> f64 {
        assert_same_shape(v, wh, "beta_loss");
        self.reduce_cols(v.nrows(), v.ncols(), |j, acc| {
            kernels::beta_slice(acc, v.col_as_slice(j), wh.col_as_slice(j), beta)
        })
    }
    fn truncated_svd(&self, a: &Mat<T>, k: usize) -> Option<nmf_core::TruncatedSvd<T>> {
        svd::truncated_svd(self.par, a, k)
    }
    fn first_invalid(&self, a: &Mat<T>) -> Option<(usize, usize, T)> {
        // Scan contiguous columns; keep the first bad entry in row-major order.
        let mut best: Option<(usize, usize, T)> = None;
        for j in 0..a.ncols() {
            if let Some(i) = a
                .col_as_slice(j)
                .iter()
                .position(|&x| !kernels::is_valid_entry(x))
                && best.is_none_or(|(bi, _, _)| i < bi)
            {
                best = Some((i, j, a[(i, j)]));
            }
        }
        best
    }
}

impl<T: FaerScalar> DataOps<T, Mat<T>> for Faer {
    nmf_core::dense_data_ops!(T);
}
