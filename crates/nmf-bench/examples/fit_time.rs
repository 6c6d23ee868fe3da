//! The library side of the `nmf fit` comparison (scripts/cli-vs-library.sh): one Frobenius
//! fit as `nmf fit INPUT -k K --solver SOLVER --max-iter N --tol 0 --init random --threads T
//! --dtype f64` runs it (the same parameters: seeded random start, seed 0; loss checked every 10), through
//! `NmfValidParams::fit` on a faer backend of T threads. Prints the fit's seconds, timed as
//! the command times `wall_time_seconds.fit` in its summary.json (from the call of the fit to its
//! return; converting V not included). Usage:
//! `cargo run --release -p nmf-bench --example fit_time -- INPUT K THREADS N SOLVER [CHECK_EVERY]`.
use std::time::Instant;

use nmf_core::{Init, Loss, MatrixBackend, Nmf, Solver};
use nmf_faer::Faer;

fn main() {
    let a: Vec<String> = std::env::args().collect();
    let (v, _) = nmf_bench::quality::input::load(&a[1], None, false).unwrap();
    let k: usize = a[2].parse().unwrap();
    let threads: usize = a[3].parse().unwrap();
    let iters: usize = a[4].parse().unwrap();
    let solver = match a[5].as_str() {
        "mu" => Solver::Mu,
        "hals" => Solver::Hals,
        s => panic!("unknown solver {s}"),
    };
    // (Optional: the loss check interval, default the command's 10.)
    let every: usize = a.get(6).map_or(10, |e| e.parse().unwrap());
    let b = Faer::with_threads(threads);
    let vm = MatrixBackend::<f64>::from_row_major(&b, v.rows, v.cols, &v.data).unwrap();
    let p = Nmf::params(k)
        .loss(Loss::Frobenius)
        .solver(solver)
        .max_iter(iters)
        .tol(0.0)
        .init(Init::Random)
        .check_every(every)
        .check()
        .unwrap();
    let t = Instant::now();
    let m = p.fit(&b, &vm).unwrap();
    let s = t.elapsed().as_secs_f64();
    println!("{s:.6} {}", m.final_loss());
}
