//! Times a masked fit at the size of the MovieLens 100k ratings (943 users × 1,682 items,
//! 90,000 observed entries; synthetic ratings 1–5 from a rank-10 model plus noise, so no data
//! file is needed), with 10% of the entries held out:
//!
//! ```text
//! RAYON_NUM_THREADS=2 cargo run --release -p nmf-core --example masked_timing [rank] [solver] [max_iter]
//! ```
//!
//! (`solver`: `auto` (masked least squares), `mu`.) Prints the time, the iterations, and the
//! held-out RMSE beside the RMSE of predicting every entry by the training mean.

use std::time::Instant;

use nmf_core::masked::Observed;
use nmf_core::reference::Reference;
use nmf_core::{Nmf, Solver};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let rank: usize = args.get(1).map_or(15, |s| s.parse().expect("a rank"));
    let max_iter: usize = args.get(3).map_or(200, |s| s.parse().expect("max_iter"));
    let solver = match args.get(2).map(String::as_str) {
        Some("mu") => Solver::Mu,
        _ => Solver::Auto,
    };
    let (m, n, nnz, r) = (943, 1682, 90_000, 10);
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let w: Vec<f64> = (0..m * r).map(|_| rng.random_range(0.0..1.0)).collect();
    let h: Vec<f64> = (0..r * n).map(|_| rng.random_range(0.0..1.0)).collect();
    let mut seen = std::collections::HashSet::new();
    let (mut rows, mut cols, mut vals) = (vec![], vec![], vec![]);
    while rows.len() < nnz {
        let (i, j) = (rng.random_range(0..m), rng.random_range(0..n));
        if seen.insert((i, j)) {
            let x: f64 = (0..r).map(|a| w[i * r + a] * h[a * n + j]).sum::<f64>() * 1.6;
            let noisy = (x + rng.random_range(-0.5..0.5)).round().clamp(1.0, 5.0);
            rows.push(i);
            cols.push(j);
            vals.push(noisy);
        }
    }
    let v = Observed::from_triplets(m, n, &rows, &cols, &vals).unwrap();
    let (train, test) = v.split(0.1, 7).unwrap();
    let mean = train.csr().data().iter().sum::<f64>() / train.nnz() as f64;
    let baseline = (test
        .csr()
        .data()
        .iter()
        .map(|x| (x - mean) * (x - mean))
        .sum::<f64>()
        / test.nnz() as f64)
        .sqrt();
    let params = Nmf::params(rank)
        .solver(solver)
        .max_iter(max_iter)
        .seed(1)
        .check()
        .unwrap();
    let start = Instant::now();
    let model = params
        .fitting(&Reference, &train)
        .test(&test)
        .run()
        .unwrap();
    let secs = start.elapsed().as_secs_f64();
    let e = model.holdout().unwrap();
    println!(
        "{m}×{n}, {} training and {} held-out entries, rank {rank}, {solver}, {} threads: \
         {secs:.2} s, {} iterations (converged: {}), final loss {:.1}; held-out RMSE {:.4}, \
         MAE {:.4} (training mean: RMSE {baseline:.4})",
        train.nnz(),
        test.nnz(),
        rayon::current_num_threads(),
        model.n_iter(),
        model.converged(),
        model.final_loss(),
        e.rmse,
        e.mae
    );
}
