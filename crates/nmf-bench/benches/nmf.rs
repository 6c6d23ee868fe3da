//! Criterion benchmarks, one group per question:
//!
//! - `products`: every product shape the updates use, through `MatrixBackend::matmul`, with
//!   the transpose flags the updates pass (`WtV`, `VHt`, …) and, for the two dominant
//!   products, on an explicitly transposed copy instead (`WtV_copied`, `VHt_copied`).
//!   Throughput is in flops (2·rows·cols·inner), so criterion's "elem/s" is flop/s.
//! - `elementwise`: the fused entry-wise steps and the sums (throughput in entries).
//! - `iteration_frobenius`, `iteration_kl`: one `MuSolver::step` (throughput in exact flops of
//!   an iteration, see `nmf_bench::flops`).
//! - `fit`: a fit to tol = 1e-3 (checked every 10 iterations, at most 2000 iterations) from
//!   seed 0, 500×500, k = 10.
//!
//! Backends: faer on 1 and 2 threads (`faer-1t`, `faer-2t`), nalgebra and ndarray (one
//! thread), each in f32 and f64. Shapes: `nmf_bench::SHAPES`. IDs are
//! `GROUP/BACKEND/SCALAR/SHAPE/WHAT`, so `cargo bench -p nmf-bench -- 'iteration_kl/faer-2t'`
//! runs a subset (the argument is a regular expression).
//!
//! The defaults keep a full run short: 10 samples, 0.3 s warm-up and 1 s of measurement per
//! benchmark (2 s for shapes of 10⁶ entries or more). Criterion stretches the measurement when
//! 10 samples do not fit.
#![allow(missing_docs)]

use std::hint::black_box;
use std::time::Duration;

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion, Throughput, criterion_group, criterion_main};
use nmf_bench::data::Problem;
use nmf_bench::runner::{LossKind, default_eps, matrix};
use nmf_bench::{SHAPES, flops};
use nmf_core::{Accum, DenseBackend, Loss, MatrixBackend, MuSolver, Nmf, Scalar, Trans};
use nmf_faer::Faer;
use nmf_nalgebra::Nalgebra;
use nmf_ndarray::Ndarray;

type Group<'a> = BenchmarkGroup<'a, WallTime>;

fn configure(g: &mut Group<'_>, p: &Problem) {
    let big = p.m * p.n >= 1_000_000;
    g.sample_size(10);
    g.warm_up_time(Duration::from_millis(300));
    g.measurement_time(Duration::from_secs(if big { 2 } else { 1 }));
}

/// Calls `$f::<T, _>(group, backend, label, problem, shape)` for every backend and scalar.
macro_rules! each_backend {
    ($f:ident, $g:expr, $p:expr, $shape:expr) => {
        for_scalar!($f, f64, $g, $p, $shape);
        for_scalar!($f, f32, $g, $p, $shape);
    };
}
macro_rules! for_scalar {
    ($f:ident, $t:ty, $g:expr, $p:expr, $shape:expr) => {
        $f::<$t, _>($g, &Faer::sequential(), "faer-1t", $p, $shape);
        $f::<$t, _>($g, &Faer::with_threads(2), "faer-2t", $p, $shape);
        $f::<$t, _>($g, &Nalgebra, "nalgebra", $p, $shape);
        $f::<$t, _>($g, &Ndarray, "ndarray", $p, $shape);
    };
}

fn id<T: Scalar>(label: &str, shape: &str, what: &str) -> String {
    format!("{label}/{}/{shape}/{what}", T::NAME)
}

fn transposed(rows: usize, cols: usize, x: &[f64]) -> Vec<f64> {
    let mut t = vec![0.0; x.len()];
    for i in 0..rows {
        for j in 0..cols {
            t[j * rows + i] = x[i * cols + j];
        }
    }
    t
}

fn products_for<T: Scalar, B: DenseBackend<T>>(
    g: &mut Group<'_>,
    b: &B,
    label: &str,
    p: &Problem,
    shape: &str,
) {
    let (m, n, k) = (p.m, p.n, p.k);
    let v = matrix::<T, B>(b, m, n, &p.v);
    let w = matrix::<T, B>(b, m, k, &p.w0);
    let h = matrix::<T, B>(b, k, n, &p.h0);
    let wt = matrix::<T, B>(b, k, m, &transposed(m, k, &p.w0));
    let ht = matrix::<T, B>(b, n, k, &transposed(k, n, &p.h0));
    let gram = matrix::<T, B>(b, k, k, &vec![1.0 / k as f64; k * k]);
    let (mut kn, mut mk, mut kk, mut mn) =
        (b.zeros(k, n), b.zeros(m, k), b.zeros(k, k), b.zeros(m, n));
    let one = T::one();
    // (name, flops, destination, a, trans a, b, trans b)
    let cases = [
        (
            "WtV",
            flops::product(k, n, m),
            &mut kn,
            &w,
            Trans::Yes,
            &v,
            Trans::No,
        ),
        (
            "VHt",
            flops::product(m, k, n),
            &mut mk,
            &v,
            Trans::No,
            &h,
            Trans::Yes,
        ),
        (
            "WH",
            flops::product(m, n, k),
            &mut mn,
            &w,
            Trans::No,
            &h,
            Trans::No,
        ),
        (
            "WtW",
            flops::product(k, k, m),
            &mut kk,
            &w,
            Trans::Yes,
            &w,
            Trans::No,
        ),
        (
            "HHt",
            flops::product(k, k, n),
            &mut b.zeros(k, k),
            &h,
            Trans::No,
            &h,
            Trans::Yes,
        ),
        (
            "GH",
            flops::product(k, n, k),
            &mut b.zeros(k, n),
            &gram,
            Trans::No,
            &h,
            Trans::No,
        ),
        (
            "WG",
            flops::product(m, k, k),
            &mut b.zeros(m, k),
            &w,
            Trans::No,
            &gram,
            Trans::No,
        ),
        (
            "WtV_copied",
            flops::product(k, n, m),
            &mut b.zeros(k, n),
            &wt,
            Trans::No,
            &v,
            Trans::No,
        ),
        (
            "VHt_copied",
            flops::product(m, k, n),
            &mut b.zeros(m, k),
            &v,
            Trans::No,
            &ht,
            Trans::No,
        ),
    ];
    for (name, fl, dst, a, ta, bb, tb) in cases {
        g.throughput(Throughput::Elements(fl));
        g.bench_function(id::<T>(label, shape, name), |bench| {
            bench.iter(|| b.matmul(dst, Accum::Replace, one, black_box(a), ta, bb, tb));
        });
    }
}

fn products(c: &mut Criterion) {
    let mut g = c.benchmark_group("products");
    for (shape, m, n, k) in SHAPES {
        let p = Problem::new(m, n, k, 0);
        configure(&mut g, &p);
        each_backend!(products_for, &mut g, &p, shape);
    }
    g.finish();
}

fn elementwise_for<T: Scalar, B: DenseBackend<T>>(
    g: &mut Group<'_>,
    b: &B,
    label: &str,
    p: &Problem,
    shape: &str,
) {
    let (m, n, k) = (p.m, p.n, p.k);
    let eps = default_eps::<T>(p);
    let v = matrix::<T, B>(b, m, n, &p.v);
    let mut h = matrix::<T, B>(b, k, n, &p.h0);
    let mut w = matrix::<T, B>(b, m, k, &p.w0);
    // num = den entry by entry (two different buffers), so repeated steps keep x where it is.
    let num_h = matrix::<T, B>(b, k, n, &p.h0);
    let den_h = b.clone_mat(&num_h);
    let num_w = matrix::<T, B>(b, m, k, &p.w0);
    let den_w = b.clone_mat(&num_w);
    // Rows (columns) of num equal to the row (column) denominators.
    let row_den: Vec<T> = (0..k).map(|i| T::from_f64(1.0 + i as f64)).collect();
    let num_rows = b.from_fn(k, n, |i, _| row_den[i]);
    let num_cols = b.from_fn(m, k, |_, j| row_den[j]);
    let mut r = matrix::<T, B>(b, m, n, &p.v);
    let mut sums = vec![T::zero(); k];
    g.throughput(Throughput::Elements((k * n) as u64));
    g.bench_function(id::<T>(label, shape, "mu_update_H"), |bench| {
        bench.iter(|| b.mu_update(&mut h, &num_h, &den_h, eps));
    });
    g.bench_function(id::<T>(label, shape, "mu_update_row_den_H"), |bench| {
        bench.iter(|| b.mu_update_row_den(&mut h, &num_rows, &row_den, eps));
    });
    g.bench_function(id::<T>(label, shape, "row_sums_H"), |bench| {
        bench.iter(|| b.row_sums(black_box(&h), &mut sums));
    });
    g.throughput(Throughput::Elements((m * k) as u64));
    g.bench_function(id::<T>(label, shape, "mu_update_W"), |bench| {
        bench.iter(|| b.mu_update(&mut w, &num_w, &den_w, eps));
    });
    g.bench_function(id::<T>(label, shape, "mu_update_col_den_W"), |bench| {
        bench.iter(|| b.mu_update_col_den(&mut w, &num_cols, &row_den, eps));
    });
    g.bench_function(id::<T>(label, shape, "col_sums_W"), |bench| {
        bench.iter(|| b.col_sums(black_box(&w), &mut sums));
    });
    g.throughput(Throughput::Elements((m * n) as u64));
    // r ← V/r twice gives r back (to rounding): the values stay in range.
    g.bench_function(id::<T>(label, shape, "kl_ratio_in_place"), |bench| {
        bench.iter(|| b.kl_ratio_in_place(&mut r, &v));
    });
}

/// `Clone` of a backend matrix, through the trait (the matrix types are `Clone`).
trait CloneMat<T: Scalar>: MatrixBackend<T> {
    fn clone_mat(&self, a: &Self::Mat) -> Self::Mat {
        a.clone()
    }
}
impl<T: Scalar, B: MatrixBackend<T>> CloneMat<T> for B {}

fn elementwise(c: &mut Criterion) {
    let mut g = c.benchmark_group("elementwise");
    for (shape, m, n, k) in SHAPES {
        let p = Problem::new(m, n, k, 0);
        configure(&mut g, &p);
        each_backend!(elementwise_for, &mut g, &p, shape);
    }
    g.finish();
}

fn iteration_for<T: Scalar, B: DenseBackend<T>>(
    g: &mut Group<'_>,
    b: &B,
    label: &str,
    (p, loss): &(Problem, LossKind),
    shape: &str,
) {
    let v = matrix::<T, B>(b, p.m, p.n, &p.v);
    let w0 = matrix::<T, B>(b, p.m, p.k, &p.w0);
    let h0 = matrix::<T, B>(b, p.k, p.n, &p.h0);
    let mut s = MuSolver::new(b, &v, w0, h0, loss.core(), default_eps::<T>(p)).expect("valid");
    g.throughput(Throughput::Elements(loss.iteration_flops(p)));
    g.bench_function(id::<T>(label, shape, "step"), |bench| {
        bench.iter(|| s.step())
    });
}

fn iteration(c: &mut Criterion, name: &str, loss: LossKind) {
    let mut g = c.benchmark_group(name);
    for (shape, m, n, k) in SHAPES {
        let p = (Problem::new(m, n, k, 0), loss);
        configure(&mut g, &p.0);
        each_backend!(iteration_for, &mut g, &p, shape);
    }
    g.finish();
}

fn iteration_frobenius(c: &mut Criterion) {
    iteration(c, "iteration_frobenius", LossKind::Frobenius);
}

fn iteration_kl(c: &mut Criterion) {
    iteration(c, "iteration_kl", LossKind::KullbackLeibler);
}

/// The fit group's stopping rule: relative decrease below 1e-3 over 10 iterations (at most
/// 2000 iterations; the number reached is printed before each benchmark).
const FIT_TOL: f64 = 1e-3;
const FIT_MAX_ITER: usize = 2000;

fn fit_for<T: Scalar, B: DenseBackend<T>>(
    g: &mut Group<'_>,
    b: &B,
    label: &str,
    p: &Problem,
    shape: &str,
) {
    let v = matrix::<T, B>(b, p.m, p.n, &p.v);
    for (loss, name) in [
        (Loss::Frobenius, "frobenius"),
        (Loss::KullbackLeibler, "kl"),
    ] {
        let params = Nmf::params(p.k)
            .loss(loss)
            .tol(FIT_TOL)
            .max_iter(FIT_MAX_ITER)
            .seed(0)
            .check()
            .expect("valid parameters");
        let model = params.fit(b, &v).expect("fit");
        eprintln!(
            "fit/{label}/{}/{shape}/{name}: {} iterations, converged: {}",
            T::NAME,
            model.n_iter(),
            model.converged()
        );
        g.bench_function(id::<T>(label, shape, name), |bench| {
            bench.iter(|| params.fit(b, &v).expect("fit"));
        });
    }
}

fn fit(c: &mut Criterion) {
    let mut g = c.benchmark_group("fit");
    let (shape, m, n, k) = SHAPES[0];
    let p = Problem::new(m, n, k, 0);
    configure(&mut g, &p);
    each_backend!(fit_for, &mut g, &p, shape);
    g.finish();
}

criterion_group!(
    benches,
    products,
    elementwise,
    iteration_frobenius,
    iteration_kl,
    fit
);
criterion_main!(benches);
