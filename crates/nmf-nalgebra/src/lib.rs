//! # nmf-nalgebra
//!
//! Non-negative matrix factorization on [`nalgebra`] matrices: the [`Nalgebra`] backend for
//! [`nmf_core`], with everything needed to fit a model re-exported.
//!
//! ```
//! use nmf_nalgebra::{Loss, Nalgebra, Nmf, nalgebra::DMatrix};
//!
//! // 6 documents × 4 words, two topics: V is exactly of rank 2.
//! let v = DMatrix::from_fn(6, 4, |i, j| if (i < 3) == (j < 2) { ((1 + i) * (1 + j)) as f64 } else { 0.0 });
//! let model = Nmf::params(2).loss(Loss::KullbackLeibler).max_iter(500).seed(3).fit(&Nalgebra, &v)?;
//! let (w, h) = (model.w(), model.h()); // DMatrix<f64>, 6×2 and 2×4
//! assert_eq!((w.nrows(), h.ncols()), (6, 4));
//! assert!(model.final_loss() < 1e-3);
//! # Ok::<(), nmf_nalgebra::NmfError>(())
//! ```
//!
//! This crate re-exports the whole API of [`nmf_core`] (parameters, [`NmfModel`],
//! [`TransformParams`], [`Fixed`], [`Penalty`], [`Progress`], [`LossRecord`], [`NmfError`], the
//! backend traits and the [`reference::Reference`] backend), so it is the only dependency to add:
//! `nmf-nalgebra = { path = "../nmf-rs/crates/nmf-nalgebra" }` from a clone of the repository, or
//! `nmf-nalgebra = "0.1"` once published. Its feature `io` adds saving and loading models
//! (`SavedModel`, JSON and `.npz`); a saved model loads into any backend in either scalar type,
//! which `into_model` is told: `SavedModel::load(path)?.into_model::<f64, _>(&backend)?`.
//!
//! ## Products
//! nalgebra's own `gemm` on transposed or strided views writes out of bounds when a dimension
//! is 5 or less (dimforge/nalgebra#1616), and its `tr_mul`/`gemm_tr` do not use an optimised
//! kernel (5–17 GFLOP/s instead of 70–100). So this backend multiplies with
//! [`matrixmultiply`] directly, on the matrices' own storage: a transpose is a swap of the row
//! and column strides, correct at every size and as fast as nalgebra's fastest path. The
//! workspace enables matrixmultiply's AVX-512 kernels. Products run on one thread.
//!
//! Sparse V (feature `sparse`, on by default): [`sparse_input`] builds the data of a fit
//! from nalgebra-sparse's `CsrMatrix` or `CscMatrix`, checked, at O(nnz·k) per half-step for
//! Frobenius and KL:
//!
//! ```
//! # #[cfg(feature = "sparse")] {
//! use nmf_nalgebra::{Nalgebra, Nmf};
//! let mut coo = nalgebra_sparse::CooMatrix::new(3, 3);
//! coo.push(0, 0, 3.0);
//! coo.push(1, 2, 1.0);
//! coo.push(2, 1, 2.0);
//! let x = nalgebra_sparse::CsrMatrix::from(&coo);
//! let v = nmf_nalgebra::sparse_input::sparse_data(&x).unwrap();
//! let model = Nmf::params(1).seed(0).fit(&Nalgebra, &v).unwrap();
//! # }
//! ```
//!
#![warn(missing_docs)]

pub use nalgebra;
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

#[cfg(feature = "sparse")]
pub mod sparse_input;
mod svd;

use nalgebra::DMatrix;
use nmf_core::lane::{BlockShape, LaneBlock, LaneBlockMut};

/// The scalar types this backend computes in: `f32` and `f64`.
pub trait NalgebraScalar: Scalar + nalgebra::Scalar {
    /// `C = α·A·B + β·C` on raw strided storage (matrixmultiply's `sgemm`/`dgemm`).
    ///
    /// # Safety
    /// As [`matrixmultiply::dgemm`]: the pointers and strides must describe valid m×k, k×n and
    /// m×n matrices, `c` not aliasing `a` or `b`.
    #[allow(clippy::too_many_arguments)]
    unsafe fn gemm(
        m: usize,
        k: usize,
        n: usize,
        alpha: Self,
        a: (*const Self, isize, isize),
        b: (*const Self, isize, isize),
        beta: Self,
        c: (*mut Self, isize, isize),
    );
}

macro_rules! impl_scalar {
    ($t:ty, $gemm:path) => {
        impl NalgebraScalar for $t {
            unsafe fn gemm(
                m: usize,
                k: usize,
                n: usize,
                alpha: $t,
                a: (*const $t, isize, isize),
                b: (*const $t, isize, isize),
                beta: $t,
                c: (*mut $t, isize, isize),
            ) {
                // SAFETY: forwarded from the caller.
                unsafe {
                    $gemm(
                        m, k, n, alpha, a.0, a.1, a.2, b.0, b.1, b.2, beta, c.0, c.1, c.2,
                    )
                }
            }
        }
    };
}
impl_scalar!(f32, matrixmultiply::sgemm);
impl_scalar!(f64, matrixmultiply::dgemm);

/// The nalgebra backend: matrices are `nalgebra::DMatrix<T>` (column-major).
///
/// ```
/// use nmf_nalgebra::{MatrixBackend, Nalgebra};
/// let a = MatrixBackend::<f64>::from_row_major(&Nalgebra, 2, 2, &[1.0, 2.0, 3.0, 4.0]).unwrap();
/// assert_eq!(a[(1, 0)], 3.0);
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Nalgebra;

fn assert_same_shape<T>(a: &DMatrix<T>, b: &DMatrix<T>, what: &str) {
    assert!(
        a.shape() == b.shape(),
        "{what}: shapes {:?} and {:?} differ",
        a.shape(),
        b.shape()
    );
}

/// `(pointer, row stride, column stride)` of op(a), for column-major storage.
fn strided<T>(a: &DMatrix<T>, t: Trans) -> (*const T, isize, isize) {
    let rows = a.nrows() as isize;
    match t {
        Trans::No => (a.as_ptr(), 1, rows),
        Trans::Yes => (a.as_ptr(), rows, 1),
    }
}

impl<T: NalgebraScalar> MatrixBackend<T> for Nalgebra {
    type Mat = DMatrix<T>;

    fn nrows(&self, a: &DMatrix<T>) -> usize {
        a.nrows()
    }
    fn ncols(&self, a: &DMatrix<T>) -> usize {
        a.ncols()
    }
    fn from_fn(&self, rows: usize, cols: usize, f: impl FnMut(usize, usize) -> T) -> DMatrix<T> {
        DMatrix::from_fn(rows, cols, f)
    }
    fn to_row_major(&self, a: &DMatrix<T>) -> Vec<T> {
        let mut out = Vec::with_capacity(a.len());
        for i in 0..a.nrows() {
            for j in 0..a.ncols() {
                out.push(a[(i, j)]);
            }
        }
        out
    }

    fn matmul(
        &self,
        dst: &mut DMatrix<T>,
        accum: Accum,
        alpha: T,
        a: &DMatrix<T>,
        trans_a: Trans,
        b: &DMatrix<T>,
        trans_b: Trans,
    ) {
        let (m, k) = trans_a.apply(a.shape());
        let (kb, n) = trans_b.apply(b.shape());
        assert!(
            k == kb && dst.shape() == (m, n),
            "matmul: {m}×{k} times {kb}×{n} into {:?}",
            dst.shape()
        );
        if m == 0 || n == 0 {
            return;
        }
        let beta = match accum {
            Accum::Replace => T::zero(),
            Accum::Add => T::one(),
        };
        if k == 0 {
            if accum == Accum::Replace {
                dst.fill(T::zero());
            }
            return;
        }
        let c = (dst.as_mut_ptr(), 1, m as isize);
        // SAFETY: the shapes were checked above; the strides describe the column-major
        // storage of each matrix (a transpose swaps them); `dst` is borrowed mutably, so it
        // aliases neither operand. With β = 0 matrixmultiply does not read `dst`.
        unsafe {
            T::gemm(
                m,
                k,
                n,
                alpha,
                strided(a, trans_a),
                strided(b, trans_b),
                beta,
                c,
            )
        }
    }

    fn zip_mut(&self, outs: &mut [&mut DMatrix<T>], ins: &[&DMatrix<T>], f: &ZipFn<'_, T>) {
        let shapes = outs.iter().map(|a| a.shape());
        let (m, n) = check_zip(
            outs.len(),
            ins.len(),
            shapes.chain(ins.iter().map(|a| a.shape())),
            "zip_mut",
        );
        let (n_out, n_in) = (outs.len(), ins.len());
        assert!(n_out > 0, "zip_mut: nothing to write");
        // Column-major and contiguous: one run per column, on one thread.
        for j in 0..n {
            let at = j * m..(j + 1) * m;
            let mut o: [&mut [T]; MAX_ZIP_OUTS] = Default::default();
            for (slot, a) in o.iter_mut().zip(outs.iter_mut()) {
                *slot = &mut a.as_mut_slice()[at.clone()];
            }
            let mut r: [&[T]; MAX_ZIP_INS] = Default::default();
            for (slot, a) in r.iter_mut().zip(ins) {
                *slot = &a.as_slice()[at.clone()];
            }
            f(column_run(j, m), &mut o[..n_out], &r[..n_in]);
        }
    }
    fn reduce(&self, ins: &[&DMatrix<T>], f: &ReduceFn<'_, T>) -> f64 {
        let mut acc = kernels::F64Sum::default();
        self.visit(ins, &mut |run, i| f(run, i, &mut acc));
        acc.value()
    }
    fn visit(&self, ins: &[&DMatrix<T>], f: &mut VisitFn<'_, T>) {
        let (m, n) = check_zip(0, ins.len(), ins.iter().map(|a| a.shape()), "visit");
        for j in 0..n {
            let mut r: [&[T]; MAX_ZIP_INS] = Default::default();
            for (slot, a) in r.iter_mut().zip(ins) {
                *slot = &a.as_slice()[j * m..(j + 1) * m];
            }
            f(column_run(j, m), &r[..ins.len()]);
        }
    }
    fn copy_from(&self, dst: &mut DMatrix<T>, src: &DMatrix<T>) {
        assert_same_shape(dst, src, "copy_from");
        dst.copy_from(src);
    }

    fn for_each_lane(
        &self,
        x: &mut DMatrix<T>,
        num: &DMatrix<T>,
        lanes: Lanes,
        out: &mut [f64],
        f: &LaneFn<'_, T>,
    ) {
        assert_eq!(x.shape(), num.shape(), "for_each_lane: shapes differ");
        let (rows, cols) = x.shape();
        // Column-major and contiguous: entry (i, j) at i + j·rows.
        let shape = match lanes {
            Lanes::Columns => BlockShape {
                lanes: cols,
                len: rows,
                lane_stride: rows as isize,
                coord_stride: 1,
            },
            Lanes::Rows => BlockShape {
                lanes: rows,
                len: cols,
                lane_stride: 1,
                coord_stride: rows as isize,
            },
        };
        assert_eq!(out.len(), shape.lanes, "for_each_lane: one result per lane");
        f(
            &mut LaneBlockMut::from_slice(x.as_mut_slice(), shape),
            &LaneBlock::from_slice(num.as_slice(), shape),
            out,
        );
    }
    fn truncated_svd(&self, a: &DMatrix<T>, k: usize) -> Option<nmf_core::TruncatedSvd<T>> {
        svd::truncated_svd(a, k)
    }
}

/// Column `j` of a matrix with `m` rows, as a run.
fn column_run(j: usize, m: usize) -> Run {
    Run {
        row: 0,
        col: j,
        axis: RunAxis::Column,
        len: m,
    }
}

impl<T: NalgebraScalar> DataOps<T, DMatrix<T>> for Nalgebra {
    nmf_core::dense_data_ops!(T);
}
