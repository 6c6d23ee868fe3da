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
#![warn(missing_docs)]

pub use nalgebra;
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

    fn copy_from(&self, dst: &mut DMatrix<T>, src: &DMatrix<T>) {
        assert_same_shape(dst, src, "copy_from");
        dst.copy_from(src);
    }
    fn clamp_min(&self, a: &mut DMatrix<T>, lo: T) {
        kernels::clamp_min_slice(a.as_mut_slice(), lo);
    }
    fn mu_update(&self, x: &mut DMatrix<T>, num: &DMatrix<T>, den: &DMatrix<T>, eps: T) {
        assert_same_shape(x, num, "mu_update");
        assert_same_shape(x, den, "mu_update");
        kernels::mu_step_slice(x.as_mut_slice(), num.as_slice(), den.as_slice(), eps);
    }
    fn mu_update_row_den(&self, x: &mut DMatrix<T>, num: &DMatrix<T>, den: &[T], eps: T) {
        assert_same_shape(x, num, "mu_update_row_den");
        assert_eq!(
            den.len(),
            x.nrows(),
            "mu_update_row_den: one denominator per row"
        );
        let rows = x.nrows();
        if rows == 0 {
            return;
        }
        for (xc, nc) in x
            .as_mut_slice()
            .chunks_exact_mut(rows)
            .zip(num.as_slice().chunks_exact(rows))
        {
            kernels::mu_step_slice(xc, nc, den, eps);
        }
    }
    fn mu_update_col_den(&self, x: &mut DMatrix<T>, num: &DMatrix<T>, den: &[T], eps: T) {
        assert_same_shape(x, num, "mu_update_col_den");
        assert_eq!(
            den.len(),
            x.ncols(),
            "mu_update_col_den: one denominator per column"
        );
        let rows = x.nrows();
        if rows == 0 {
            return;
        }
        for ((xc, nc), &d) in x
            .as_mut_slice()
            .chunks_exact_mut(rows)
            .zip(num.as_slice().chunks_exact(rows))
            .zip(den)
        {
            kernels::mu_step_slice_scalar_den(xc, nc, d, eps);
        }
    }
    fn mu_update_l2(&self, x: &mut DMatrix<T>, num: &DMatrix<T>, den: &DMatrix<T>, l2: T, eps: T) {
        assert_same_shape(x, num, "mu_update_l2");
        assert_same_shape(x, den, "mu_update_l2");
        kernels::mu_step_l2_slice(x.as_mut_slice(), num.as_slice(), den.as_slice(), l2, eps);
    }
    fn mu_update_pow(
        &self,
        x: &mut DMatrix<T>,
        num: &DMatrix<T>,
        den: &DMatrix<T>,
        gamma: T,
        eps: T,
    ) {
        assert_same_shape(x, num, "mu_update_pow");
        assert_same_shape(x, den, "mu_update_pow");
        kernels::mu_step_pow_slice(x.as_mut_slice(), num.as_slice(), den.as_slice(), gamma, eps);
    }
    fn beta_parts_in_place(&self, a: &mut DMatrix<T>, b: &mut DMatrix<T>, v: &DMatrix<T>, beta: T) {
        assert_same_shape(a, b, "beta_parts_in_place");
        assert_same_shape(a, v, "beta_parts_in_place");
        kernels::beta_parts_slice(a.as_mut_slice(), b.as_mut_slice(), v.as_slice(), beta);
    }
    fn kl_ratio_in_place(&self, r: &mut DMatrix<T>, v: &DMatrix<T>) {
        assert_same_shape(r, v, "kl_ratio_in_place");
        kernels::kl_ratio_slice(r.as_mut_slice(), v.as_slice());
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
    fn copy_to_row_major(&self, a: &DMatrix<T>, out: &mut [T]) {
        let (rows, cols) = a.shape();
        assert_eq!(out.len(), rows * cols, "copy_to_row_major: length");
        for (j, col) in a.column_iter().enumerate() {
            for (i, &x) in col.iter().enumerate() {
                out[i * cols + j] = x;
            }
        }
    }
    fn row_sums(&self, a: &DMatrix<T>, out: &mut [T]) {
        assert_eq!(out.len(), a.nrows(), "row_sums: one output per row");
        out.fill(T::zero());
        let rows = a.nrows();
        if rows == 0 {
            return;
        }
        for col in a.as_slice().chunks_exact(rows) {
            for (o, &x) in out.iter_mut().zip(col) {
                *o += x;
            }
        }
    }
    fn col_sums(&self, a: &DMatrix<T>, out: &mut [T]) {
        assert_eq!(out.len(), a.ncols(), "col_sums: one output per column");
        let rows = a.nrows();
        if rows == 0 {
            out.fill(T::zero());
            return;
        }
        for (o, col) in out.iter_mut().zip(a.as_slice().chunks_exact(rows)) {
            *o = col.iter().fold(T::zero(), |s, &x| s + x);
        }
    }
    fn sum(&self, a: &DMatrix<T>) -> f64 {
        let mut acc = kernels::F64Sum::default();
        kernels::sum_slice(&mut acc, a.as_slice());
        acc.value()
    }
    fn frobenius_loss(&self, v: &DMatrix<T>, wh: &DMatrix<T>) -> f64 {
        assert_same_shape(v, wh, "frobenius_loss");
        let mut acc = kernels::F64Sum::default();
        kernels::frobenius_slice(&mut acc, v.as_slice(), wh.as_slice());
        acc.value()
    }
    fn kl_loss(&self, v: &DMatrix<T>, wh: &DMatrix<T>) -> f64 {
        assert_same_shape(v, wh, "kl_loss");
        let mut acc = kernels::F64Sum::default();
        kernels::kl_slice(&mut acc, v.as_slice(), wh.as_slice());
        acc.value()
    }
    fn beta_loss(&self, v: &DMatrix<T>, wh: &DMatrix<T>, beta: f64) -> f64 {
        assert_same_shape(v, wh, "beta_loss");
        let mut acc = kernels::F64Sum::default();
        kernels::beta_slice(&mut acc, v.as_slice(), wh.as_slice(), beta);
        acc.value()
    }
    fn truncated_svd(&self, a: &DMatrix<T>, k: usize) -> Option<nmf_core::TruncatedSvd<T>> {
        svd::truncated_svd(a, k)
    }
    fn first_invalid(&self, a: &DMatrix<T>) -> Option<(usize, usize, T)> {
        // Scan contiguous columns; keep the first bad entry in row-major order.
        let rows = a.nrows();
        if rows == 0 {
            return None;
        }
        let mut best: Option<(usize, usize, T)> = None;
        for (j, col) in a.as_slice().chunks_exact(rows).enumerate() {
            if let Some(i) = col.iter().position(|&x| !kernels::is_valid_entry(x))
                && best.is_none_or(|(bi, _, _)| i < bi)
            {
                best = Some((i, j, col[i]));
            }
        }
        best
    }
}

impl<T: NalgebraScalar> DataOps<T, DMatrix<T>> for Nalgebra {
    nmf_core::dense_data_ops!(T);
}
