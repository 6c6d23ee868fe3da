//! [`Reference`]: a plain, obviously correct backend on row-major `Vec`s.
//!
//! It has no dependencies and no speed: its products are triple loops and its traversals hand
//! one row at a time, on one thread. It is the reference the shared test suite checks every
//! backend's primitives against, and it lets the documentation of this crate run without a
//! linear-algebra crate.

use crate::lane::{BlockShape, LaneBlock, LaneBlockMut, Lanes};
use crate::{
    Accum, LaneFn, MAX_ZIP_INS, MAX_ZIP_OUTS, MatrixBackend, ReduceFn, Run, RunAxis, Scalar, Trans,
    VisitFn, ZipFn, check_zip, kernels,
};

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

    fn zip_mut(&self, outs: &mut [&mut RefMat<T>], ins: &[&RefMat<T>], f: &ZipFn<'_, T>) {
        let shapes = outs.iter().map(|a| (a.rows, a.cols));
        let (rows, cols) = check_zip(
            outs.len(),
            ins.len(),
            shapes.chain(ins.iter().map(|a| (a.rows, a.cols))),
            "zip_mut",
        );
        let (n_out, n_in) = (outs.len(), ins.len());
        assert!(n_out > 0, "zip_mut: nothing to write");
        // Row-major: one run per row.
        for i in 0..rows {
            let at = i * cols..(i + 1) * cols;
            let mut o: [&mut [T]; MAX_ZIP_OUTS] = Default::default();
            for (slot, a) in o.iter_mut().zip(outs.iter_mut()) {
                *slot = &mut a.data[at.clone()];
            }
            let mut r: [&[T]; MAX_ZIP_INS] = Default::default();
            for (slot, a) in r.iter_mut().zip(ins) {
                *slot = &a.data[at.clone()];
            }
            f(row_run(i, cols), &mut o[..n_out], &r[..n_in]);
        }
    }
    fn reduce(&self, ins: &[&RefMat<T>], f: &ReduceFn<'_, T>) -> f64 {
        let mut acc = kernels::F64Sum::default();
        self.visit(ins, &mut |run, i| f(run, i, &mut acc));
        acc.value()
    }
    fn visit(&self, ins: &[&RefMat<T>], f: &mut VisitFn<'_, T>) {
        let (rows, cols) = check_zip(0, ins.len(), ins.iter().map(|a| (a.rows, a.cols)), "visit");
        for i in 0..rows {
            let mut r: [&[T]; MAX_ZIP_INS] = Default::default();
            for (slot, a) in r.iter_mut().zip(ins) {
                *slot = &a.data[i * cols..(i + 1) * cols];
            }
            f(row_run(i, cols), &r[..ins.len()]);
        }
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
}

/// Row `i` of a matrix with `cols` columns, as a run.
fn row_run(i: usize, cols: usize) -> Run {
    Run {
        row: i,
        col: 0,
        axis: RunAxis::Row,
        len: cols,
    }
}

impl<T: Scalar> crate::DataOps<T, RefMat<T>> for Reference {
    crate::dense_data_ops!(T);
}
