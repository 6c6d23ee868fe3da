//! The comparison runner: every backend on the same problem from the same initial factors.
//!
//! Each iteration ([`MuSolver::step`]) is timed on its own; between two iterations, outside
//! the timed region, the runner evaluates the loss (every `loss_every` iterations) and times
//! each dominant product of the iteration once, with the same backend, threads and current
//! factors. Interleaving the two keeps them under the same machine load, so the ratio of the
//! iteration time to the products' time is meaningful even on a shared machine.

use std::time::Instant;

use nmf_core::{Accum, DenseBackend, Loss, MatrixBackend, MuSolver, Nmf, Scalar, Trans};

use crate::data::Problem;
use crate::flops;

/// The losses the runner knows (`nmf_core::Loss` is non-exhaustive).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LossKind {
    /// ½‖V − WH‖².
    Frobenius,
    /// D(V‖WH).
    KullbackLeibler,
}

impl LossKind {
    /// The library's loss.
    pub fn core(self) -> Loss {
        match self {
            LossKind::Frobenius => Loss::Frobenius,
            LossKind::KullbackLeibler => Loss::KullbackLeibler,
        }
    }
    /// `"Frobenius"` or `"KL"`.
    pub fn name(self) -> &'static str {
        match self {
            LossKind::Frobenius => "Frobenius",
            LossKind::KullbackLeibler => "KL",
        }
    }
    /// Exact flops of one iteration on `p` ([`crate::flops`]).
    pub fn iteration_flops(self, p: &Problem) -> u64 {
        match self {
            LossKind::Frobenius => flops::frobenius_iteration(p.m, p.n, p.k),
            LossKind::KullbackLeibler => flops::kl_iteration(p.m, p.n, p.k, p.nnz),
        }
    }
}

/// What to run.
#[derive(Debug, Clone)]
pub struct Config {
    /// The loss minimised.
    pub loss: LossKind,
    /// Number of iterations (each timed).
    pub iters: usize,
    /// Evaluate the loss every this many iterations (for the plot); 0: only at the start and
    /// the end.
    pub loss_every: usize,
}

/// The measurements of one backend (or of scikit-learn) on one problem.
#[derive(Debug, Clone)]
pub struct Row {
    /// Backend name (`faer`, `nalgebra`, `ndarray`, `scikit-learn`).
    pub backend: String,
    /// `f32` or `f64`.
    pub scalar: String,
    /// Threads used by the products.
    pub threads: usize,
    /// Wall time of each iteration, in seconds.
    pub iter_times: Vec<f64>,
    /// Wall time of the dominant products of one iteration (the sum of the median of each),
    /// in seconds.
    pub product_time: f64,
    /// Exact flops of one iteration ([`crate::flops`]).
    pub flops_per_iter: u64,
    /// `(cumulative iteration time in seconds, loss)`, starting with `(0, initial loss)`.
    pub trace: Vec<(f64, f64)>,
    /// The loss after the last iteration.
    pub final_loss: f64,
    /// Final W, row-major.
    pub w: Vec<f64>,
    /// Final H, row-major.
    pub h: Vec<f64>,
    /// Largest normwise relative difference of W from the other rows it is compared with.
    pub diff_w: Option<f64>,
    /// Same for H.
    pub diff_h: Option<f64>,
    /// Anything the reader should know (BLAS core type for scikit-learn).
    pub note: String,
}

impl Row {
    /// The median iteration time, in seconds.
    pub fn median_iter(&self) -> f64 {
        median(&self.iter_times)
    }
    /// The fastest iteration, in seconds (less sensitive than the median to other load on
    /// the machine).
    pub fn min_iter(&self) -> f64 {
        self.iter_times
            .iter()
            .copied()
            .fold(f64::INFINITY, f64::min)
    }
    /// Achieved GFLOP/s: exact flops of an iteration over its median time.
    pub fn gflops(&self) -> f64 {
        self.flops_per_iter as f64 / self.median_iter() / 1e9
    }
    /// Median iteration time over the time of its dominant products.
    pub fn product_ratio(&self) -> f64 {
        self.median_iter() / self.product_time
    }
}

/// The median of `x` (the mean of the two middle values for an even length); NaN if empty.
///
/// ```
/// assert_eq!(nmf_bench::runner::median(&[3.0, 1.0, 2.0]), 2.0);
/// assert_eq!(nmf_bench::runner::median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
/// ```
pub fn median(x: &[f64]) -> f64 {
    if x.is_empty() {
        return f64::NAN;
    }
    let mut s = x.to_vec();
    s.sort_by(f64::total_cmp);
    let h = s.len() / 2;
    if s.len() % 2 == 1 {
        s[h]
    } else {
        0.5 * (s[h - 1] + s[h])
    }
}

/// The ε of the fitting API for this problem and scalar type.
pub fn default_eps<T: Scalar>(p: &Problem) -> T {
    let params = Nmf::params(p.k).check().expect("rank > 0");
    T::from_f64(params.eps_for(p.mean, T::unit_roundoff()))
}

/// Converts row-major `f64` data to a backend matrix of scalar `T`, rounding to nearest.
pub fn matrix<T: Scalar, B: MatrixBackend<T>>(
    b: &B,
    rows: usize,
    cols: usize,
    x: &[f64],
) -> B::Mat {
    let data: Vec<T> = x.iter().map(|&x| T::from_f64(x)).collect();
    b.from_row_major(rows, cols, &data).expect("data length")
}

fn timed(f: impl FnOnce()) -> f64 {
    let t = Instant::now();
    f();
    t.elapsed().as_secs_f64()
}

/// Runs `cfg.iters` iterations of `backend` on `p` from its initial factors and measures them.
///
/// # Panics
/// If `cfg.iters == 0` or the problem is invalid (it never is when made by [`Problem::new`]).
pub fn run_backend<T: Scalar, B: DenseBackend<T>>(
    backend: &B,
    name: &str,
    threads: usize,
    p: &Problem,
    cfg: &Config,
) -> Row {
    assert!(cfg.iters > 0, "at least one iteration");
    let (m, n, k) = (p.m, p.n, p.k);
    let v = matrix::<T, B>(backend, m, n, &p.v);
    let w0 = matrix::<T, B>(backend, m, k, &p.w0);
    let h0 = matrix::<T, B>(backend, k, n, &p.h0);
    let mut s = MuSolver::new(backend, &v, w0, h0, cfg.loss.core(), default_eps::<T>(p))
        .expect("valid benchmark problem");
    // Buffers of the dominant products, timed outside the iteration.
    let mut kn = backend.zeros(k, n);
    let mut mk = backend.zeros(m, k);
    let mut mn = match cfg.loss {
        LossKind::KullbackLeibler => backend.zeros(m, n),
        LossKind::Frobenius => backend.zeros(0, 0),
    };
    let mut iter_times = Vec::with_capacity(cfg.iters);
    let mut prod: [Vec<f64>; 3] = Default::default();
    let mut trace = vec![(0.0, s.loss())];
    let mut elapsed = 0.0;
    let one = T::one();
    for it in 1..=cfg.iters {
        let t = timed(|| s.step());
        iter_times.push(t);
        elapsed += t;
        let (w, h) = (s.w(), s.h());
        match cfg.loss {
            LossKind::Frobenius => {
                prod[0].push(timed(|| {
                    backend.matmul(&mut kn, Accum::Replace, one, w, Trans::Yes, &v, Trans::No)
                }));
                prod[1].push(timed(|| {
                    backend.matmul(&mut mk, Accum::Replace, one, &v, Trans::No, h, Trans::Yes)
                }));
            }
            LossKind::KullbackLeibler => {
                prod[2].push(timed(|| {
                    backend.matmul(&mut mn, Accum::Replace, one, w, Trans::No, h, Trans::No)
                }));
                prod[0].push(timed(|| {
                    backend.matmul(&mut kn, Accum::Replace, one, w, Trans::Yes, &mn, Trans::No)
                }));
                prod[1].push(timed(|| {
                    backend.matmul(&mut mk, Accum::Replace, one, &mn, Trans::No, h, Trans::Yes)
                }));
            }
        }
        if it == cfg.iters || (cfg.loss_every > 0 && it % cfg.loss_every == 0) {
            trace.push((elapsed, s.loss()));
        }
    }
    let product_time = match cfg.loss {
        LossKind::Frobenius => median(&prod[0]) + median(&prod[1]),
        LossKind::KullbackLeibler => 2.0 * median(&prod[2]) + median(&prod[0]) + median(&prod[1]),
    };
    let flops_per_iter = cfg.loss.iteration_flops(p);
    let final_loss = trace.last().expect("trace").1;
    let to_f64 = |x: &B::Mat| -> Vec<f64> {
        backend
            .to_row_major(x)
            .into_iter()
            .map(Scalar::as_f64)
            .collect()
    };
    Row {
        backend: name.to_string(),
        scalar: T::NAME.to_string(),
        threads,
        iter_times,
        product_time,
        flops_per_iter,
        trace,
        final_loss,
        w: to_f64(s.w()),
        h: to_f64(s.h()),
        diff_w: None,
        diff_h: None,
        note: String::new(),
    }
}

/// `‖a − b‖ / ‖b‖` (Frobenius norms).
///
/// ```
/// assert_eq!(nmf_bench::runner::rel_diff(&[3.0, 4.0], &[3.0, 4.0]), 0.0);
/// assert_eq!(nmf_bench::runner::rel_diff(&[3.0, 4.5], &[3.0, 4.0]), 0.1);
/// ```
pub fn rel_diff(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len(), "rel_diff: lengths differ");
    let d: f64 = a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum();
    let nb: f64 = b.iter().map(|y| y * y).sum();
    (d / nb).sqrt()
}

/// Fills `diff_w`/`diff_h` of every row: the largest [`rel_diff`] from the library rows of the
/// same scalar type (rows whose `backend` is not `reference_excluded`). Library rows are
/// compared with the other library rows only; an excluded row (scikit-learn) with every
/// library row.
pub fn fill_diffs(rows: &mut [Row], reference_excluded: &str) {
    let n = rows.len();
    for i in 0..n {
        let (mut dw, mut dh) = (None::<f64>, None::<f64>);
        for j in 0..n {
            if i == j || rows[j].backend == reference_excluded || rows[i].scalar != rows[j].scalar {
                continue;
            }
            let w = rel_diff(&rows[i].w, &rows[j].w);
            let h = rel_diff(&rows[i].h, &rows[j].h);
            dw = Some(dw.map_or(w, |d| d.max(w)));
            dh = Some(dh.map_or(h, |d| d.max(h)));
        }
        rows[i].diff_w = dw;
        rows[i].diff_h = dh;
    }
}

/// Every library backend on `p`: faer with each thread count of `threads`, then nalgebra and
/// ndarray (one thread: their products are single-threaded), for each scalar type of
/// `scalars` (`"f32"`, `"f64"`). `progress` is told each row as it finishes.
pub fn run_all(
    p: &Problem,
    cfg: &Config,
    scalars: &[String],
    threads: &[usize],
    mut progress: impl FnMut(&Row),
) -> Vec<Row> {
    let mut rows = Vec::new();
    for scalar in scalars {
        let mut push = |r: Row| {
            progress(&r);
            rows.push(r);
        };
        match scalar.as_str() {
            "f32" => run_scalar::<f32>(p, cfg, threads, &mut push),
            "f64" => run_scalar::<f64>(p, cfg, threads, &mut push),
            other => panic!("unknown scalar type {other:?} (expected f32 or f64)"),
        }
    }
    rows
}

fn run_scalar<T>(p: &Problem, cfg: &Config, threads: &[usize], push: &mut impl FnMut(Row))
where
    T: Scalar + nmf_faer::FaerScalar + nmf_nalgebra::NalgebraScalar + nmf_ndarray::NdarrayScalar,
{
    for &t in threads {
        push(run_backend::<T, _>(
            &nmf_faer::Faer::with_threads(t),
            "faer",
            t,
            p,
            cfg,
        ));
    }
    push(run_backend::<T, _>(
        &nmf_nalgebra::Nalgebra,
        "nalgebra",
        1,
        p,
        cfg,
    ));
    push(run_backend::<T, _>(
        &nmf_ndarray::Ndarray,
        "ndarray",
        1,
        p,
        cfg,
    ));
}
