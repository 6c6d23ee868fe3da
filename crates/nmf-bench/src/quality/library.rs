//! This library's solvers, by name: the ones `--solvers` can name, each a way to configure
//! [`Nmf::params`]. A new solver (HALS, coordinate descent) joins the mode by one entry in
//! [`SOLVERS`].

use std::time::Instant;

use nmf_core::sparse::SparseData;
use nmf_core::{DataOps, Loss, MatrixBackend, Nmf, NmfParams, Solver};
use nmf_faer::Faer;

use super::input::Data;
use super::{Curve, Sample, rel_error, sparse_rel_error};

/// One solver of this library.
#[derive(Debug, Clone, Copy)]
pub struct LibrarySolver {
    /// Its name in `--solvers`.
    pub name: &'static str,
    /// What it is, for the table.
    pub label: &'static str,
    /// The parameters of a Frobenius fit of rank `k` with this solver, at their defaults
    /// otherwise (the mode sets `max_iter`, `tol` and `check_every`).
    pub params: fn(usize) -> NmfParams,
}

fn mu(k: usize) -> NmfParams {
    // (pinned: the default, Solver::Auto, is HALS for Frobenius)
    Nmf::params(k).loss(Loss::Frobenius).solver(Solver::Mu)
}

fn hals(k: usize) -> NmfParams {
    Nmf::params(k).loss(Loss::Frobenius).solver(Solver::Hals)
}

// HALS without the repeated inner sweeps of Gillis & Glineur (one sweep per half-step), to
// measure what the default acceleration (α = 0.5, δ = 0.1) buys.

fn hals_plain(k: usize) -> NmfParams {
    hals(k).hals_acceleration(0.0, 0.1)
}

/// Every solver of this library the mode knows, for the Frobenius loss, the one all peers
/// share.
pub const SOLVERS: &[LibrarySolver] = &[
    LibrarySolver {
        name: "hals",
        label: "nmf-rs hals",
        params: hals,
    },
    LibrarySolver {
        name: "mu",
        label: "nmf-rs mu",
        params: mu,
    },
    LibrarySolver {
        name: "hals-plain",
        label: "nmf-rs hals α=0",
        params: hals_plain,
    },
];

/// The solver called `name`, if this library has it.
pub fn find(name: &str) -> Option<&'static LibrarySolver> {
    SOLVERS.iter().find(|s| s.name == name)
}

/// Fits `v` (m×n, row-major) at rank `k` with `solver` on a faer backend of `threads`
/// threads, once untimed (warm-up), then `repeats` times for each budget of `iters` (the
/// budgets in turn within each repeat), each fit from the default start with `tol` 0 and the
/// loss evaluated only at the start and the end. `progress` is told each sample.
///
/// # Errors
/// The library's error for a bad V or rank, as text.
#[allow(clippy::too_many_arguments)] // the problem, the schedule and the threads
pub fn run(
    solver: &LibrarySolver,
    m: usize,
    n: usize,
    v: &[f64],
    k: usize,
    iters: &[usize],
    repeats: usize,
    threads: usize,
    progress: impl FnMut(&Sample),
) -> Result<Curve, String> {
    let b = Faer::with_threads(threads);
    let vm = b
        .from_row_major(m, n, v)
        .map_err(|e| format!("{}: {e}", solver.name))?;
    let err = |w: &[f64], h: &[f64]| rel_error(m, n, k, v, w, h);
    schedule(solver, &b, &vm, k, iters, repeats, progress, err)
}

/// As [`run`] on V dense or sparse: a sparse V is fitted through the library's sparse data
/// term ([`SparseData`], built once, untimed, like the conversion of a dense V) and its error
/// computed by [`sparse_rel_error`].
///
/// # Errors
/// As [`run`].
#[allow(clippy::too_many_arguments)] // the problem, the schedule and the threads
pub fn run_data(
    solver: &LibrarySolver,
    v: &Data,
    k: usize,
    iters: &[usize],
    repeats: usize,
    threads: usize,
    progress: impl FnMut(&Sample) + Send,
) -> Result<Curve, String> {
    match v {
        Data::Dense(d) => run(
            solver, d.rows, d.cols, &d.data, k, iters, repeats, threads, progress,
        ),
        Data::Sparse(c) => {
            // The sparse passes run on rayon's current pool (and SparseData splits V into
            // blocks for its threads): a pool of `threads` threads holds them to the run's
            // threads, as faer's products are.
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .map_err(|e| format!("{}: cannot start {threads} threads: {e}", solver.name))?;
            pool.install(|| {
                let b = Faer::with_threads(threads);
                let sv =
                    SparseData::from_csr(c.clone()).map_err(|e| format!("{}: {e}", solver.name))?;
                let err = |w: &[f64], h: &[f64]| sparse_rel_error(c.view(), k, w, h);
                schedule(solver, &b, &sv, k, iters, repeats, progress, err)
            })
        }
    }
}

/// The warm-up fit and the timed fits of every budget, on V in whatever form the backend
/// fits (`vm`); `err` gives the relative error of row-major W and H.
#[allow(clippy::too_many_arguments)] // the problem, the schedule and the threads
fn schedule<V>(
    solver: &LibrarySolver,
    b: &Faer,
    vm: &V,
    k: usize,
    iters: &[usize],
    repeats: usize,
    mut progress: impl FnMut(&Sample),
    err: impl Fn(&[f64], &[f64]) -> f64,
) -> Result<Curve, String>
where
    Faer: DataOps<f64, V>,
{
    let fit = |budget: usize| -> Result<Sample, String> {
        let params = (solver.params)(k)
            .max_iter(budget)
            .tol(0.0)
            .check_every(budget)
            .check()
            .map_err(|e| format!("{}: {e}", solver.name))?;
        let t = Instant::now();
        let model = params
            .fit(b, vm)
            .map_err(|e| format!("{}: {e}", solver.name))?;
        let seconds = t.elapsed().as_secs_f64();
        let (w, h) = (b.to_row_major(model.w()), b.to_row_major(model.h()));
        Ok(Sample {
            iters: budget,
            n_iter: model.n_iter(),
            seconds,
            rel_err: err(&w, &h),
        })
    };
    fit(1)?;
    let mut samples = Vec::with_capacity(repeats * iters.len());
    for _ in 0..repeats {
        for &it in iters {
            let s = fit(it)?;
            progress(&s);
            samples.push(s);
        }
    }
    Ok(Curve {
        solver: solver.name.to_string(),
        label: solver.label.to_string(),
        samples,
    })
}
