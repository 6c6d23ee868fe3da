//! # nmf-ndarray
//!
//! Non-negative matrix factorization on [`ndarray`] arrays: the [`Ndarray`] backend for
//! [`nmf_core`], with everything needed to fit a model re-exported.
//!
//! ```
//! use nmf_ndarray::{Loss, Ndarray, Nmf, ndarray::Array2};
//!
//! // 6 documents × 4 words, two topics: V is exactly of rank 2.
//! let v = Array2::from_shape_fn((6, 4), |(i, j)| if (i < 3) == (j < 2) { ((1 + i) * (1 + j)) as f64 } else { 0.0 });
//! let model = Nmf::params(2).loss(Loss::KullbackLeibler).max_iter(500).seed(3).fit(&Ndarray, &v)?;
//! let (w, h) = (model.w(), model.h()); // Array2<f64>, 6×2 and 2×4
//! assert_eq!((w.nrows(), h.ncols()), (6, 4));
//! assert!(model.final_loss() < 1e-3);
//! # Ok::<(), nmf_ndarray::NmfError>(())
//! ```
//!
//! This crate re-exports the whole API of [`nmf_core`] (parameters, [`NmfModel`],
//! [`TransformParams`], [`Fixed`], [`Penalty`], [`Progress`], [`LossRecord`], [`NmfError`], the
//! backend traits and the [`reference::Reference`] backend), so it is the only dependency to add:
//! `nmf-ndarray = { path = "../nmf-rs/crates/nmf-ndarray" }` from a clone of the repository, or
//! `nmf-ndarray = "0.1"` once published. Its feature `io` adds saving and loading models
//! (`SavedModel`, JSON and `.npz`); a saved model loads into any backend in either scalar type,
//! which `into_model` is told: `SavedModel::load(path)?.into_model::<f64, _>(&backend)?`.
//!
//! V may have any memory layout (row-major, column-major, or a transposed array); W, H and the
//! work buffers are row-major. Products are `ndarray::linalg::general_mat_mul` on `.t()` views
//! (a transpose is a change of strides, never a copy), which runs matrixmultiply's kernels
//! (with AVX-512 enabled by this workspace) on one thread. The entry-wise steps are nmf-core's
//! kernels, handed one contiguous row at a time (one column at a time when every operand is
//! column-major, as the buffers made for a column-major V are; one entry at a time when the
//! layouts differ), on one thread.
//!
//! Sparse V (feature `sparse`, on by default): [`sparse_input`] builds the data of a fit
//! from sprs's `CsMat` (CSR or CSC), the sparse matrices ndarray users have, checked, at
//! O(nnz·k) per half-step for Frobenius and KL:
//!
//! ```
//! # #[cfg(feature = "sparse")] {
//! use nmf_ndarray::{Ndarray, Nmf};
//! let mut t = sprs::TriMat::new((3, 3));
//! t.add_triplet(0, 0, 3.0);
//! t.add_triplet(1, 2, 1.0);
//! t.add_triplet(2, 1, 2.0);
//! let x: sprs::CsMat<f64> = t.to_csr();
//! let v = nmf_ndarray::sparse_input::sparse_data(&x).unwrap();
//! let model = Nmf::params(1).seed(0).fit(&Ndarray, &v).unwrap();
//! # }
//! ```
//!
#![warn(missing_docs)]

pub use ndarray;
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
    masked, minibatch, nndsvd, rank_selection, reference, sparse, streamed, svd, update,
};
// Saving and loading fitted models (feature `io`).
#[cfg(feature = "io")]
pub use nmf_core::{FORMAT, SavedModel, VERSION, npy_header};

#[cfg(feature = "sparse")]
pub mod sparse_input;

use ndarray::linalg::general_mat_mul;
use ndarray::{Array2, ArrayView2};
use nmf_core::lane::{BlockShape, LaneBlock, LaneBlockMut};

/// The scalar types this backend computes in: `f32` and `f64`.
pub trait NdarrayScalar: Scalar + ndarray::LinalgScalar {}
impl<T: Scalar + ndarray::LinalgScalar> NdarrayScalar for T {}

/// The ndarray backend: matrices are `ndarray::Array2<T>`.
///
/// ```
/// use nmf_ndarray::{MatrixBackend, Ndarray};
/// let a = MatrixBackend::<f32>::from_row_major(&Ndarray, 2, 2, &[1.0, 2.0, 3.0, 4.0]).unwrap();
/// assert_eq!(a[[1, 0]], 3.0);
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Ndarray;

fn op<T>(a: &Array2<T>, t: Trans) -> ArrayView2<'_, T> {
    match t {
        Trans::No => a.view(),
        Trans::Yes => a.t(),
    }
}

fn assert_same_shape<T>(a: &Array2<T>, b: &Array2<T>, what: &str) {
    assert!(
        a.dim() == b.dim(),
        "{what}: shapes {:?} and {:?} differ",
        a.dim(),
        b.dim()
    );
}

impl<T: NdarrayScalar> MatrixBackend<T> for Ndarray {
    type Mat = Array2<T>;

    fn nrows(&self, a: &Array2<T>) -> usize {
        a.nrows()
    }
    fn ncols(&self, a: &Array2<T>) -> usize {
        a.ncols()
    }
    fn from_fn(&self, rows: usize, cols: usize, mut f: impl FnMut(usize, usize) -> T) -> Array2<T> {
        Array2::from_shape_fn((rows, cols), |(i, j)| f(i, j))
    }
    fn zeros_like(&self, a: &Array2<T>) -> Array2<T> {
        use ndarray::ShapeBuilder;
        // A column-major V gets column-major buffers: its traversals then hand whole columns.
        let column_major = !a.is_standard_layout() && a.t().is_standard_layout();
        Array2::zeros(a.dim().set_f(column_major))
    }
    fn to_row_major(&self, a: &Array2<T>) -> Vec<T> {
        a.iter().copied().collect()
    }

    fn matmul(
        &self,
        dst: &mut Array2<T>,
        accum: Accum,
        alpha: T,
        a: &Array2<T>,
        trans_a: Trans,
        b: &Array2<T>,
        trans_b: Trans,
    ) {
        let (lhs, rhs) = (op(a, trans_a), op(b, trans_b));
        assert!(
            lhs.ncols() == rhs.nrows() && dst.dim() == (lhs.nrows(), rhs.ncols()),
            "matmul: {:?} times {:?} into {:?}",
            lhs.dim(),
            rhs.dim(),
            dst.dim()
        );
        // β = 0: general_mat_mul overwrites the destination without reading it.
        let beta = match accum {
            Accum::Replace => T::zero(),
            Accum::Add => T::one(),
        };
        general_mat_mul(alpha, &lhs, &rhs, beta, dst);
    }

    fn zip_mut(&self, outs: &mut [&mut Array2<T>], ins: &[&Array2<T>], f: &ZipFn<'_, T>) {
        let shapes = outs.iter().map(|a| a.dim());
        let (m, n) = check_zip(
            outs.len(),
            ins.len(),
            shapes.chain(ins.iter().map(|a| a.dim())),
            "zip_mut",
        );
        let (n_out, n_in) = (outs.len(), ins.len());
        assert!(n_out > 0, "zip_mut: nothing to write");
        let layout = common_layout(outs.iter().map(|a| &**a).chain(ins.iter().copied()));
        let len = match layout {
            Layout::Rows => n.max(1),
            Layout::Columns => m.max(1),
            Layout::Mixed => 1,
        };
        // One run per row, per column, or (mixed layouts) per entry in row-major order.
        let count = if layout == Layout::Mixed {
            m * n
        } else {
            m * n / len
        };
        for r in 0..count {
            let mut o: [&mut [T]; MAX_ZIP_OUTS] = Default::default();
            let mut x: [&[T]; MAX_ZIP_INS] = Default::default();
            let run = run_of(layout, r, m, n);
            match layout {
                Layout::Mixed => {
                    let (i, j) = (run.row, run.col);
                    for (slot, a) in o.iter_mut().zip(outs.iter_mut()) {
                        *slot = core::slice::from_mut(&mut a[[i, j]]);
                    }
                    for (slot, a) in x.iter_mut().zip(ins) {
                        *slot = core::slice::from_ref(&a[[i, j]]);
                    }
                }
                _ => {
                    let at = r * len..(r + 1) * len;
                    for (slot, a) in o.iter_mut().zip(outs.iter_mut()) {
                        let s = a.as_slice_memory_order_mut().expect("contiguous");
                        *slot = &mut s[at.clone()];
                    }
                    for (slot, a) in x.iter_mut().zip(ins) {
                        *slot = &a.as_slice_memory_order().expect("contiguous")[at.clone()];
                    }
                }
            }
            f(run, &mut o[..n_out], &x[..n_in]);
        }
    }
    fn reduce(&self, ins: &[&Array2<T>], f: &ReduceFn<'_, T>) -> f64 {
        let mut acc = kernels::F64Sum::default();
        self.visit(ins, &mut |run, i| f(run, i, &mut acc));
        acc.value()
    }
    fn visit(&self, ins: &[&Array2<T>], f: &mut VisitFn<'_, T>) {
        let (m, n) = check_zip(0, ins.len(), ins.iter().map(|a| a.dim()), "visit");
        let layout = common_layout(ins.iter().copied());
        let len = match layout {
            Layout::Rows => n.max(1),
            Layout::Columns => m.max(1),
            Layout::Mixed => 1,
        };
        let count = if layout == Layout::Mixed {
            m * n
        } else {
            m * n / len
        };
        for r in 0..count {
            let mut x: [&[T]; MAX_ZIP_INS] = Default::default();
            let run = run_of(layout, r, m, n);
            for (slot, a) in x.iter_mut().zip(ins) {
                *slot = match layout {
                    Layout::Mixed => core::slice::from_ref(&a[[run.row, run.col]]),
                    _ => &a.as_slice_memory_order().expect("contiguous")[r * len..(r + 1) * len],
                };
            }
            f(run, &x[..ins.len()]);
        }
    }
    fn copy_from(&self, dst: &mut Array2<T>, src: &Array2<T>) {
        assert_same_shape(dst, src, "copy_from");
        dst.assign(src);
    }

    fn for_each_lane(
        &self,
        x: &mut Array2<T>,
        num: &Array2<T>,
        lanes: Lanes,
        out: &mut [f64],
        f: &LaneFn<'_, T>,
    ) {
        assert_eq!(x.dim(), num.dim(), "for_each_lane: shapes differ");
        let (rows, cols) = x.dim();
        // Any layout: entry (i, j) at i·s0 + j·s1 from entry (0, 0) (either may be negative).
        let shape = |s: &[isize]| match lanes {
            Lanes::Columns => BlockShape {
                lanes: cols,
                len: rows,
                lane_stride: s[1],
                coord_stride: s[0],
            },
            Lanes::Rows => BlockShape {
                lanes: rows,
                len: cols,
                lane_stride: s[0],
                coord_stride: s[1],
            },
        };
        let (sx, sn) = (shape(x.strides()), shape(num.strides()));
        assert_eq!(out.len(), sx.lanes, "for_each_lane: one result per lane");
        // SAFETY: the entries of an owned Array2 lie at those offsets from its first entry,
        // distinct entries at distinct places; `x` is borrowed mutably and `num` shared for
        // the whole call, and the blocks do not outlive it.
        let (mut bx, bn) = unsafe {
            (
                LaneBlockMut::from_raw_parts(x.as_mut_ptr(), sx),
                LaneBlock::from_raw_parts(num.as_ptr(), sn),
            )
        };
        f(&mut bx, &bn, out);
    }
}

/// How the operands of a traversal are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layout {
    /// All row-major and contiguous: one run per row.
    Rows,
    /// All column-major and contiguous: one run per column.
    Columns,
    /// Anything else: one run per entry.
    Mixed,
}

/// The layout shared by `mats` (all of one shape).
fn common_layout<'a, T: 'a>(mats: impl Iterator<Item = &'a Array2<T>> + Clone) -> Layout {
    if mats.clone().all(|a| a.is_standard_layout()) {
        Layout::Rows
    } else if mats.clone().all(|a| a.t().is_standard_layout()) {
        Layout::Columns
    } else {
        Layout::Mixed
    }
}

/// Run number `r` of an m×n matrix traversed with `layout`.
fn run_of(layout: Layout, r: usize, m: usize, n: usize) -> Run {
    match layout {
        Layout::Rows => Run {
            row: r,
            col: 0,
            axis: RunAxis::Row,
            len: n,
        },
        Layout::Columns => Run {
            row: 0,
            col: r,
            axis: RunAxis::Column,
            len: m,
        },
        Layout::Mixed => Run {
            row: r / n,
            col: r % n,
            axis: RunAxis::Row,
            len: 1,
        },
    }
}

impl<T: NdarrayScalar> DataOps<T, Array2<T>> for Ndarray {
    nmf_core::dense_data_ops!(T);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_in_column_major_layout_gives_the_same_fit() {
        use ndarray::ShapeBuilder;
        let data: Vec<f64> = (0..35).map(|x| ((x * 7) % 11) as f64).collect();
        let c = Array2::from_shape_vec((5, 7), data.clone()).unwrap();
        let f = Array2::from_shape_fn((5, 7).f(), |(i, j)| data[i * 7 + j]);
        assert_eq!(c, f);
        assert!(!f.is_standard_layout());
        for loss in [Loss::Frobenius, Loss::KullbackLeibler] {
            let p = Nmf::params(3).loss(loss).max_iter(30).seed(5);
            let (a, b) = (p.fit(&Ndarray, &c).unwrap(), p.fit(&Ndarray, &f).unwrap());
            // The same data in another layout: the same IEEE operations on every entry.
            assert_eq!(a.w(), b.w());
            assert_eq!(a.h(), b.h());
        }
    }

    /// The buffers made for a column-major V are column-major, so that a traversal of V with
    /// them hands whole columns (and not one entry at a time).
    #[test]
    fn buffers_for_a_column_major_v_are_column_major() {
        use ndarray::ShapeBuilder;
        let f = Array2::<f64>::zeros((5, 7).f());
        let c = Array2::<f64>::zeros((5, 7));
        let zf = MatrixBackend::<f64>::zeros_like(&Ndarray, &f);
        assert!(zf.t().is_standard_layout() && !zf.is_standard_layout());
        assert!(MatrixBackend::<f64>::zeros_like(&Ndarray, &c).is_standard_layout());
        let mut runs = Vec::new();
        MatrixBackend::<f64>::visit(&Ndarray, &[&f, &zf], &mut |run, _| runs.push(run));
        assert_eq!(runs.len(), 7, "one run per column");
        assert!(runs.iter().all(|r| r.axis == RunAxis::Column && r.len == 5));
    }
}
