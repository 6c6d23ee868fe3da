//! Time per iteration and error of HALS against MU-Frobenius on a CSV matrix, from the same
//! NNDSVDA start (issue 11 measurement; not a test). Usage:
//! `cargo run --release -p nmf-bench --example hals_digits -- FILE.csv RANK THREADS`
//! (FILE.csv: numbers only, no header; for the bundled digits, the 64 pixel columns:
//! `zcat crates/nmf-cli/data/digits.csv.gz | cut -d, -f1-64 > digits64.csv`). Prints the
//! milliseconds per half-step of plain HALS and MU, then for MU and HALS with α = 0, 0.1 and
//! 0.5 the relative error ‖V − WH‖/‖V‖ after 10, 30 and 100 iterations and the median (of 5)
//! wall time to get there.
use std::time::Instant;

use nmf_core::{HalsOptions, HalsSolver, Loss, MatrixBackend, MuSolver};
use nmf_faer::Faer;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let text = std::fs::read_to_string(&args[1]).unwrap();
    let k: usize = args[2].parse().unwrap();
    let threads: usize = args[3].parse().unwrap();
    let rows: Vec<Vec<f64>> = text
        .lines()
        .map(|l| l.split(',').map(|x| x.trim().parse().unwrap()).collect())
        .collect();
    let (m, n) = (rows.len(), rows[0].len());
    let b = Faer::with_threads(threads);
    let v = MatrixBackend::<f64>::from_fn(&b, m, n, |i, j| rows[i][j]);
    let norm = rows.iter().flatten().map(|x| x * x).sum::<f64>().sqrt();
    // The same seeded random start (scikit-learn's scaling) for every solver.
    let (w0, h0) = nmf_core::init::random_factors(
        m,
        n,
        k,
        rows.iter().flatten().sum::<f64>() / (m * n) as f64,
        0,
    );
    let w0 = MatrixBackend::<f64>::from_fn(&b, m, k, |i, a| w0[i * k + a]);
    let h0 = MatrixBackend::<f64>::from_fn(&b, k, n, |a, j| h0[a * n + j]);
    let eps = 1e-12;
    {
        let o = HalsOptions {
            alpha: 0.0,
            ..HalsOptions::default()
        };
        let mut s = HalsSolver::new(&b, &v, w0.clone(), h0.clone(), eps, o).unwrap();
        let mut mu = MuSolver::new(&b, &v, w0.clone(), h0.clone(), Loss::Frobenius, eps).unwrap();
        let t = Instant::now();
        for _ in 0..100 {
            s.update_h();
        }
        let th = t.elapsed().as_secs_f64() * 10.0;
        let t = Instant::now();
        for _ in 0..100 {
            s.update_w();
        }
        let tw = t.elapsed().as_secs_f64() * 10.0;
        let t = Instant::now();
        for _ in 0..100 {
            mu.update_h();
        }
        let mh = t.elapsed().as_secs_f64() * 10.0;
        let t = Instant::now();
        for _ in 0..100 {
            mu.update_w();
        }
        let mw = t.elapsed().as_secs_f64() * 10.0;
        println!("ms per half-step: hals H {th:.3} W {tw:.3}; mu H {mh:.3} W {mw:.3}");
    }
    let marks = [10usize, 30, 100];
    let reps = 5;
    for (name, alpha) in [
        ("mu", -1.0),
        ("hals α=0", 0.0),
        ("hals α=0.5", 0.5),
        ("hals α=0.1", 0.1),
    ] {
        let mut times = vec![Vec::new(); marks.len()];
        let mut errs = vec![0.0; marks.len()];
        let mut sweeps = (0, 0);
        for _ in 0..reps {
            let t0 = Instant::now();
            let mut elapsed = vec![0.0; marks.len()];
            if alpha < 0.0 {
                let mut s =
                    MuSolver::new(&b, &v, w0.clone(), h0.clone(), Loss::Frobenius, eps).unwrap();
                for it in 1..=100 {
                    s.step();
                    if let Some(p) = marks.iter().position(|&x| x == it) {
                        elapsed[p] = t0.elapsed().as_secs_f64();
                        errs[p] = (2.0 * s.loss()).sqrt() / norm;
                    }
                }
            } else {
                let o = HalsOptions {
                    alpha,
                    ..HalsOptions::default()
                };
                let mut s = HalsSolver::new(&b, &v, w0.clone(), h0.clone(), eps, o).unwrap();
                for it in 1..=100 {
                    s.step();
                    if it == 1 {
                        sweeps = s.last_sweeps();
                    }
                    if let Some(p) = marks.iter().position(|&x| x == it) {
                        elapsed[p] = t0.elapsed().as_secs_f64();
                        errs[p] = (2.0 * s.loss()).sqrt() / norm;
                    }
                }
            }
            for (t, e) in times.iter_mut().zip(&elapsed) {
                t.push(*e);
            }
        }
        let med = |t: &mut Vec<f64>| {
            t.sort_by(f64::total_cmp);
            t[t.len() / 2]
        };
        let meds: Vec<f64> = times.iter_mut().map(med).collect();
        println!(
            "{name:12} sweeps(it1) {sweeps:?}  err@10 {:.4} @30 {:.4} @100 {:.4}  time@10 {:.1} ms @30 {:.1} ms @100 {:.1} ms  per-iter (10→100) {:.3} ms",
            errs[0],
            errs[1],
            errs[2],
            meds[0] * 1e3,
            meds[1] * 1e3,
            meds[2] * 1e3,
            (meds[2] - meds[0]) / 90.0 * 1e3
        );
    }
}
