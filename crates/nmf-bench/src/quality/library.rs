//! This library's solvers, by name: the ones `--solvers` can name, each a way to configure
//! [`Nmf::params`]. A new solver (HALS, coordinate descent) joins the mode by one entry in
//! [`SOLVERS`].

use std::time::Instant;

use nmf_core::{Loss, MatrixBackend, Nmf, NmfParams, Solver};
use nmf_faer::Faer;

use super::{Curve, Sample, rel_error};

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
    mut progress: impl FnMut(&Sample),
) -> Result<Curve, String> {
    let b = Faer::with_threads(threads);
    let vm = b
        .from_row_major(m, n, v)
        .map_err(|e| format!("{}: {e}", solver.name))?;
    let fit = |budget: usize| -> Result<Sample, String> {
        let params = (solver.params)(k)
            .max_iter(budget)
            .tol(0.0)
            .check_every(budget)
            .check()
            .map_err(|e| format!("{}: {e}", solver.name))?;
        let t = Instant::now();
        let model = params
            .fit(&b, &vm)
            .map_err(|e| format!("{}: {e}", solver.name))?;
        let seconds = t.elapsed().as_secs_f64();
        let (w, h) = (b.to_row_major(model.w()), b.to_row_major(model.h()));
        Ok(Sample {
            iters: budget,
            n_iter: model.n_iter(),
            seconds,
            rel_err: rel_error(m, n, k, v, &w, &h),
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
