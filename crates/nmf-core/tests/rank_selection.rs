//! Rank selection recovers the planted rank of a noisy low-rank matrix in most seeds.

use nmf_core::masked::Observed;
use nmf_core::rank_selection::RankSelection;
use nmf_core::reference::Reference;
use nmf_core::{Nmf, Solver};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// A 40×30 matrix W·H of rank 4 (entries of W and H uniform in [0, 1)) plus Gaussian-like
/// noise of standard deviation about 5% of the mean entry, clamped at 0, every entry observed.
fn planted(seed: u64) -> Observed<f64> {
    let (m, n, k) = (40, 30, 4);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let w: Vec<f64> = (0..m * k).map(|_| rng.random::<f64>()).collect();
    let h: Vec<f64> = (0..k * n).map(|_| rng.random::<f64>()).collect();
    let mut v = Vec::with_capacity(m * n);
    for i in 0..m {
        for j in 0..n {
            let x: f64 = (0..k).map(|a| w[i * k + a] * h[a * n + j]).sum();
            // Sum of 12 uniforms − 6: mean 0, variance 1.
            let z: f64 = (0..12).map(|_| rng.random::<f64>()).sum::<f64>() - 6.0;
            v.push((x + 0.05 * z).max(0.0));
        }
    }
    Observed::from_row_major(m, n, &v).unwrap()
}

#[test]
fn rank_selection_recovers_the_planted_rank_in_most_seeds() {
    let seeds = 10;
    let (mut best_hits, mut one_se_hits) = (0, 0);
    let mut seen = Vec::new();
    for seed in 0..seeds {
        let v = planted(seed);
        let report = RankSelection::new(vec![2, 3, 4, 5, 6, 7])
            .replicates(3)
            .holdout(0.1)
            .seed(100 + seed)
            .run(&Reference, &v, |k| {
                Nmf::params(k).solver(Solver::Auto).max_iter(150).tol(1e-6)
            })
            .unwrap();
        best_hits += usize::from(report.best == 4);
        one_se_hits += usize::from(report.one_se == 4);
        seen.push((report.best, report.one_se));
    }
    // Measured on this machine: rank 4 in 10 of 10 seeds by both rules. Asserted: a clear
    // majority (8 of 10 for the lowest error, 7 of 10 for the one-SE rule).
    eprintln!("(best, one-SE) per seed: {seen:?}");
    assert!(
        best_hits >= 8,
        "lowest test error at rank 4 in {best_hits}/10: {seen:?}"
    );
    assert!(
        one_se_hits >= 7,
        "one-SE rule at rank 4 in {one_se_hits}/10: {seen:?}"
    );
}
