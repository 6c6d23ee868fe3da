//! [`Reference`]: a plain, obviously correct backend on row-major `Vec`s.
//!
//! It has no dependencies and no speed: its products are triple loops. It is the reference the
//! shared test suite checks every backend's kernels against, and it lets the documentation of
//! this crate run without a linear-algebra crate.

use crate::lane::{BlockShape, LaneBlock, LaneBlockMut, Lanes};
use crate::{Accum, LaneFn, MatrixBackend, Scalar, Trans, kernels};

/// The reference backend. Its matrices are [`RefMat`].
///
/// ```
/// use nmf_core::{MatrixBackend, Nmf, reference::Reference};
/// let v = Reference.from_row_major(2, 2, &[1.0_f32, 2.0, 2.0, 4.0]).unwrap();
/// let model = Nmf::params(1).fit(&Reference, &v).unwrap();
/// assert!(model.final_loss() < 1e-6);
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Reference;

/// A dense row-major matrix.
#[derive(Debug, Clone, PartialEq)]
pub struct RefMat<T> {
    rows: usize,
    cols: usize,
    data: Vec<T>,
}

impl<T> RefMat<T> {
    /// The entries in row-major order.
    pub fn as_slice(&self) -> &[T] {
        &self.data
    }
}

fn same_shape<T>(a: &RefMat<T>, b: &RefMat<T>, what: &str) {
    assert!(
        a.rows == b.rows && a.cols == b.cols,
        "{what}: shapes {}×{} and {}×{} differ",
        a.rows,
        a.cols,
        b.rows,
        b.cols
    );
}

impl<T: Scalar> MatrixBackend<T> for Reference {
    type Mat = RefMat<T>;

    fn nrows(&self, a: &RefMat<T>) -> usize {
        a.rows
    }
    fn ncols(&self, a: &RefMat<T>) -> usize {
        a.cols
    }
    fn from_fn(&self, rows: usize, cols: usize, mut f: impl FnMut(usize, usize) -> T) -> RefMat<T> {
        let mut data = Vec::with_capacity(rows * cols);
        for i in 0..rows {
            for j in 0..cols {
                data.push(f(i, j));
            }
        }
        RefMat { rows, cols, data }
    }
    fn to_row_major(&self, a: &RefMat<T>) -> Vec<T> {
        a.data.clone()
    }

    fn matmul(
        &self,
        dst: &mut RefMat<T>,
        accum: Accum,
        alpha: T,
        a: &RefMat<T>,
        trans_a: Trans,
        b: &RefMat<T>,
        trans_b: Trans,
    ) {
        let (m, ka) = trans_a.apply((a.rows, a.cols));
        let (kb, n) = trans_b.apply((b.rows, b.cols));
        assert!(
            ka == kb && dst.rows == m && dst.cols == n,
            "matmul: {m}×{ka} times {kb}×{n} into {}×{}",
            dst.rows,
            dst.cols
        );
        let at = |i: usize, p: usize| match trans_a {
            Trans::No => a.data[i * a.cols + p],
            Trans::Yes => a.data[p * a.cols + i],
        };
        let bt = |p: usize, j: usize| match trans_b {
            Trans::No => b.data[p * b.cols + j],
            Trans::Yes => b.data[j * b.cols + p],
        };
        for i in 0..m {
            for j in 0..n {
                let mut s = T::zero();
                for p in 0..ka {
                    s += at(i, p) * bt(p, j);
                }
                let d = &mut dst.data[i * n + j];
                *d = match accum {
                    Accum::Replace => alpha * s,
                    Accum::Add => *d + alpha * s,
                };
            }
        }
    }

    fn copy_from(&self, dst: &mut RefMat<T>, src: &RefMat<T>) {
        same_shape(dst, src, "copy_from");
        dst.data.copy_from_slice(&src.data);
    }
    fn clamp_min(&self, a: &mut RefMat<T>, lo: T) {
        kernels::clamp_min_slice(&mut a.data, lo);
    }
    fn mu_update(&self, x: &mut RefMat<T>, num: &RefMat<T>, den: &RefMat<T>, eps: T) {
        same_shape(x, num, "mu_update");
        same_shape(x, den, "mu_update");
        kernels::mu_step_slice(&mut x.data, &num.data, &den.data, eps);
    }
    fn mu_update_row_den(&self, x: &mut RefMat<T>, num: &RefMat<T>, den: &[T], eps: T) {
        same_shape(x, num, "mu_update_row_den");
        assert_eq!(
            den.len(),
            x.rows,
            "mu_update_row_den: one denominator per row"
        );
        let c = x.cols;
        if c == 0 {
            return;
        }
        for ((xr, nr), &d) in x
            .data
            .chunks_exact_mut(c)
            .zip(num.data.chunks_exact(c))
            .zip(den)
        {
            kernels::mu_step_slice_scalar_den(xr, nr, d, eps);
        }
    }
    fn mu_update_col_den(&self, x: &mut RefMat<T>, num: &RefMat<T>, den: &[T], eps: T) {
        same_shape(x, num, "mu_update_col_den");
        assert_eq!(
            den.len(),
            x.cols,
            "mu_update_col_den: one denominator per column"
        );
        let c = x.cols;
        if c == 0 {
            return;
        }
        for (xr, nr) in x.data.chunks_exact_mut(c).zip(num.data.chunks_exact(c)) {
            kernels::mu_step_slice(xr, nr, den, eps);
        }
    }
    fn mu_update_l2(&self, x: &mut RefMat<T>, num: &RefMat<T>, den: &RefMat<T>, l2: T, eps: T) {
        same_shape(x, num, "mu_update_l2");
        same_shape(x, den, "mu_update_l2");
        kernels::mu_step_l2_slice(&mut x.data, &num.data, &den.data, l2, eps);
    }
    fn mu_update_pow(&self, x: &mut RefMat<T>, num: &RefMat<T>, den: &RefMat<T>, gamma: T, eps: T) {
        same_shape(x, num, "mu_update_pow");
        same_shape(x, den, "mu_update_pow");
        kernels::mu_step_pow_slice(&mut x.data, &num.data, &den.data, gamma, eps);
    }
    fn beta_parts_in_place(&self, a: &mut RefMat<T>, b: &mut RefMat<T>, v: &RefMat<T>, beta: T) {
        same_shape(a, b, "beta_parts_in_place");
        same_shape(a, v, "beta_parts_in_place");
        kernels::beta_parts_slice(&mut a.data, &mut b.data, &v.data, beta);
    }
    fn kl_ratio_in_place(&self, r: &mut RefMat<T>, v: &RefMat<T>) {
        same_shape(r, v, "kl_ratio_in_place");
        kernels::kl_ratio_slice(&mut r.data, &v.data);
    }

    fn for_each_lane(
        &self,
        x: &mut RefMat<T>,
        num: &RefMat<T>,
        lanes: Lanes,
        out: &mut [f64],
        f: &LaneFn<'_, T>,
    ) {
        same_shape(x, num, "for_each_lane");
        let (rows, cols) = (x.rows, x.cols);
        // Row-major: entry (i, j) at i·cols + j.
        let shape = match lanes {
            Lanes::Columns => BlockShape {
                lanes: cols,
                len: rows,
                lane_stride: 1,
                coord_stride: cols as isize,
            },
            Lanes::Rows => BlockShape {
                lanes: rows,
                len: cols,
                lane_stride: cols as isize,
                coord_stride: 1,
            },
        };
        assert_eq!(out.len(), shape.lanes, "for_each_lane: one result per lane");
        f(
            &mut LaneBlockMut::from_slice(&mut x.data, shape),
            &LaneBlock::from_slice(&num.data, shape),
            out,
        );
    }
    fn copy_to_row_major(&self, a: &RefMat<T>, out: &mut [T]) {
        out.copy_from_slice(&a.data);
    }
    fn row_sums(&self, a: &RefMat<T>, out: &mut [T]) {
        assert_eq!(out.len(), a.rows, "row_sums: one output per row");
        for (i, o) in out.iter_mut().enumerate() {
            *o = a.data[i * a.cols..(i + 1) * a.cols]
                .iter()
                .fold(T::zero(), |s, &x| s + x);
        }
    }
    fn col_sums(&self, a: &RefMat<T>, out: &mut [T]) {
        assert_eq!(out.len(), a.cols, "col_sums: one output per column");
        for (j, o) in out.iter_mut().enumerate() {
            *o = (0..a.rows).fold(T::zero(), |s, i| s + a.data[i * a.cols + j]);
        }
    }
    fn sum(&self, a: &RefMat<T>) -> f64 {
        let mut acc = kernels::F64Sum::default();
        kernels::sum_slice(&mut acc, &a.data);
        acc.value()
    }
    fn frobenius_loss(&self, v: &RefMat<T>, wh: &RefMat<T>) -> f64 {
        same_shape(v, wh, "frobenius_loss");
        let mut acc = kernels::F64Sum::default();
        kernels::frobenius_slice(&mut acc, &v.data, &wh.data);
        acc.value()
    }
    fn kl_loss(&self, v: &RefMat<T>, wh: &RefMat<T>) -> f64 {
        same_shape(v, wh, "kl_loss");
        let mut acc = kernels::F64Sum::default();
        kernels::kl_slice(&mut acc, &v.data, &wh.data);
        acc.value()
    }
    fn beta_loss(&self, v: &RefMat<T>, wh: &RefMat<T>, beta: f64) -> f64 {
        same_shape(v, wh, "beta_loss");
        let mut acc = kernels::F64Sum::default();
        kernels::beta_slice(&mut acc, &v.data, &wh.data, beta);
        acc.value()
    }
    fn first_invalid(&self, a: &RefMat<T>) -> Option<(usize, usize, T)> {
        let idx = a.data.iter().position(|&x| !kernels::is_valid_entry(x))?;
        Some((idx / a.cols, idx % a.cols, a.data[idx]))
    }
}

impl<T: Scalar> crate::DataOps<T, RefMat<T>> for Reference {
    crate::dense_data_ops!(T);
}
