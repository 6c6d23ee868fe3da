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
//! (with AVX-512 enabled by this workspace) on one thread; elementwise steps use `Zip`.
#![warn(missing_docs)]

pub use ndarray;
// The whole public API of nmf-core, so that this crate is the only dependency a user adds
// (checked against nmf-core's lib.rs by nmf-crosscheck's `reexports` test, and used through
// this crate alone by tests/one_crate.rs).
pub use nmf_core::{
    self, Accum, CdKlOptions, CdKlSolver, DataOps, DenseBackend, Evaluation, Fixed, HalsOptions,
    HalsSolver, Init, LaneFn, Lanes, Loss, LossRecord, MAX_BETA, MatrixBackend, MatrixRole,
    MuSolver, Nmf, NmfError, NmfModel, NmfParams, NmfValidParams, Penalty, Progress, Scalar,
    Solver, Trans, TransformParams, TruncatedSvd, auxiliary, init, kernels, lane, nndsvd,
    reference, sparse, svd, update,
};
// Saving and loading fitted models (feature `io`).
#[cfg(feature = "io")]
pub use nmf_core::{FORMAT, SavedModel, VERSION, npy_header};

use ndarray::linalg::general_mat_mul;
use ndarray::{Array2, ArrayView2, Axis, Zip};
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

    fn copy_from(&self, dst: &mut Array2<T>, src: &Array2<T>) {
        assert_same_shape(dst, src, "copy_from");
        dst.assign(src);
    }
    fn clamp_min(&self, a: &mut Array2<T>, lo: T) {
        match a.as_slice_memory_order_mut() {
            Some(s) => kernels::clamp_min_slice(s, lo),
            None => a.mapv_inplace(|x| x.max(lo)),
        }
    }
    fn mu_update(&self, x: &mut Array2<T>, num: &Array2<T>, den: &Array2<T>, eps: T) {
        assert_same_shape(x, num, "mu_update");
        assert_same_shape(x, den, "mu_update");
        // The work buffers are row-major: one vectorised pass over the slices.
        if let (Some(n), Some(d)) = (num.as_slice(), den.as_slice())
            && let Some(xs) = x.as_slice_mut()
        {
            return kernels::mu_step_slice(xs, n, d, eps);
        }
        Zip::from(x)
            .and(num)
            .and(den)
            .for_each(|x, &n, &d| *x = kernels::mu_step(*x, n, d, eps));
    }
    fn mu_update_row_den(&self, x: &mut Array2<T>, num: &Array2<T>, den: &[T], eps: T) {
        assert_same_shape(x, num, "mu_update_row_den");
        assert_eq!(
            den.len(),
            x.nrows(),
            "mu_update_row_den: one denominator per row"
        );
        Zip::from(x.rows_mut())
            .and(num.rows())
            .and(den)
            .for_each(|mut x, n, &d| match (x.as_slice_mut(), n.as_slice()) {
                (Some(xs), Some(ns)) => kernels::mu_step_slice_scalar_den(xs, ns, d, eps),
                _ => Zip::from(x)
                    .and(n)
                    .for_each(|x, &n| *x = kernels::mu_step(*x, n, d, eps)),
            });
    }
    fn mu_update_col_den(&self, x: &mut Array2<T>, num: &Array2<T>, den: &[T], eps: T) {
        assert_same_shape(x, num, "mu_update_col_den");
        assert_eq!(
            den.len(),
            x.ncols(),
            "mu_update_col_den: one denominator per column"
        );
        Zip::from(x.rows_mut())
            .and(num.rows())
            .for_each(|mut x, n| match (x.as_slice_mut(), n.as_slice()) {
                (Some(xs), Some(ns)) => kernels::mu_step_slice(xs, ns, den, eps),
                _ => Zip::from(x)
                    .and(n)
                    .and(den)
                    .for_each(|x, &n, &d| *x = kernels::mu_step(*x, n, d, eps)),
            });
    }
    fn mu_update_l2(&self, x: &mut Array2<T>, num: &Array2<T>, den: &Array2<T>, l2: T, eps: T) {
        assert_same_shape(x, num, "mu_update_l2");
        assert_same_shape(x, den, "mu_update_l2");
        if let (Some(n), Some(d)) = (num.as_slice(), den.as_slice())
            && let Some(xs) = x.as_slice_mut()
        {
            return kernels::mu_step_l2_slice(xs, n, d, l2, eps);
        }
        Zip::from(x)
            .and(num)
            .and(den)
            .for_each(|x, &n, &d| *x = kernels::mu_step_l2(*x, n, d, l2, eps));
    }
    fn mu_update_pow(&self, x: &mut Array2<T>, num: &Array2<T>, den: &Array2<T>, gamma: T, eps: T) {
        assert_same_shape(x, num, "mu_update_pow");
        assert_same_shape(x, den, "mu_update_pow");
        Zip::from(x)
            .and(num)
            .and(den)
            .for_each(|x, &n, &d| *x = kernels::mu_step_pow(*x, n, d, gamma, eps));
    }
    fn beta_parts_in_place(&self, a: &mut Array2<T>, b: &mut Array2<T>, v: &Array2<T>, beta: T) {
        assert_same_shape(a, b, "beta_parts_in_place");
        assert_same_shape(a, v, "beta_parts_in_place");
        Zip::from(a)
            .and(b)
            .and(v)
            .for_each(|a, b, &v| (*a, *b) = kernels::beta_parts(v, *a, beta));
    }
    fn kl_ratio_in_place(&self, r: &mut Array2<T>, v: &Array2<T>) {
        assert_same_shape(r, v, "kl_ratio_in_place");
        if let Some(vs) = v.as_slice()
            && let Some(rs) = r.as_slice_mut()
        {
            return kernels::kl_ratio_slice(rs, vs);
        }
        Zip::from(r)
            .and(v)
            .for_each(|r, &v| *r = kernels::kl_ratio(v, *r));
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
    fn copy_to_row_major(&self, a: &Array2<T>, out: &mut [T]) {
        let cols = a.ncols();
        assert_eq!(out.len(), a.len(), "copy_to_row_major: length");
        for ((i, j), &x) in a.indexed_iter() {
            out[i * cols + j] = x;
        }
    }
    fn row_sums(&self, a: &Array2<T>, out: &mut [T]) {
        assert_eq!(out.len(), a.nrows(), "row_sums: one output per row");
        for (o, row) in out.iter_mut().zip(a.axis_iter(Axis(0))) {
            *o = row.iter().fold(T::zero(), |s, &x| s + x);
        }
    }
    fn col_sums(&self, a: &Array2<T>, out: &mut [T]) {
        assert_eq!(out.len(), a.ncols(), "col_sums: one output per column");
        out.fill(T::zero());
        for row in a.axis_iter(Axis(0)) {
            for (o, &x) in out.iter_mut().zip(row) {
                *o += x;
            }
        }
    }
    fn sum(&self, a: &Array2<T>) -> f64 {
        let mut acc = kernels::F64Sum::default();
        a.for_each(|&x| acc.add(x.as_f64()));
        acc.value()
    }
    fn frobenius_loss(&self, v: &Array2<T>, wh: &Array2<T>) -> f64 {
        assert_same_shape(v, wh, "frobenius_loss");
        let mut acc = kernels::F64Sum::default();
        Zip::from(v).and(wh).for_each(|&v, &y| {
            let d = v.as_f64() - y.as_f64();
            acc.add(0.5 * d * d);
        });
        acc.value()
    }
    fn kl_loss(&self, v: &Array2<T>, wh: &Array2<T>) -> f64 {
        assert_same_shape(v, wh, "kl_loss");
        let mut acc = kernels::F64Sum::default();
        Zip::from(v)
            .and(wh)
            .for_each(|&v, &y| acc.add(kernels::kl_term(v.as_f64(), y.as_f64())));
        acc.value()
    }
    fn beta_loss(&self, v: &Array2<T>, wh: &Array2<T>, beta: f64) -> f64 {
        assert_same_shape(v, wh, "beta_loss");
        let mut acc = kernels::F64Sum::default();
        Zip::from(v)
            .and(wh)
            .for_each(|&v, &y| acc.add(kernels::beta_term(v.as_f64(), y.as_f64(), beta)));
        acc.value()
    }
    fn first_invalid(&self, a: &Array2<T>) -> Option<(usize, usize, T)> {
        // indexed_iter visits entries in logical row-major order, whatever the layout.
        a.indexed_iter()
            .find(|(_, x)| !kernels::is_valid_entry(**x))
            .map(|((i, j), &x)| (i, j, x))
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
}
