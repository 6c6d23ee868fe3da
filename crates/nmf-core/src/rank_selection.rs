//! Choosing the rank by cross-validation over held-out entries, and the consensus metrics of
//! Brunet et al. (2004) and Kim & Park (2007).
//!
//! [`RankSelection::run`] fits, for every rank in a list, `R` replicates, each leaving out a
//! different reproducible random subset of the observed entries ([`Observed::split`] with the
//! seed `seed + q` for replicate `q`, the fit seeded the same), and records each fit's error on
//! its training entries and on its held-out entries ([`holdout_error`]): the RMSE for the
//! Frobenius loss, the mean divergence of the loss otherwise. [`RankReport`] gives the mean and
//! standard error per rank, the rank of lowest mean test error ([`RankReport::best`]) and the
//! smallest rank whose mean test error is within one standard error of that lowest mean
//! ([`RankReport::one_se`], the usual "one-standard-error rule": the simplest model not
//! clearly worse).
//!
//! With [`RankSelection::consensus`] set to N, every rank also gets N restarts on all the
//! observed entries (seeds `seed`, …, `seed + N − 1`). Each restart assigns sample j (column j
//! of V) to the factor with the largest entry of column j of H (the lowest index on a tie);
//! the consensus matrix C holds, for each pair of samples, the fraction of restarts that put
//! them together ([`consensus_metrics`]).
//!
//! ```
//! use nmf_core::{Nmf, masked::Observed, rank_selection::RankSelection, reference::Reference};
//! // A rank-2 matrix, every entry observed.
//! let (m, n) = (12, 10);
//! let mut v = Vec::new();
//! for i in 0..m {
//!     for j in 0..n {
//!         v.push((1 + i % 3) as f64 * (1 + j % 2) as f64 + (i % 2) as f64 * (1 + j % 5) as f64);
//!     }
//! }
//! let v = Observed::from_row_major(m, n, &v).unwrap();
//! let report = RankSelection::new(vec![1, 2, 3])
//!     .replicates(2)
//!     .holdout(0.1)
//!     .run(&Reference, &v, |k| Nmf::params(k).max_iter(300).tol(0.0))
//!     .unwrap();
//! assert_eq!(report.ranks.len(), 3);
//! assert!(report.ranks[1].test.mean < report.ranks[0].test.mean);
//! ```

use crate::masked::{HoldoutError, Observed, holdout_error};
use crate::{DataOps, Loss, MatrixBackend, NmfError, NmfParams, Scalar};

/// What to fit for [`RankSelection::run`]; build with [`RankSelection::new`] and its setters.
#[derive(Debug, Clone, PartialEq)]
pub struct RankSelection {
    ranks: Vec<usize>,
    replicates: usize,
    fraction: f64,
    seed: u64,
    consensus: usize,
}

/// The mean and standard error of a list of errors (the standard error
/// `s/√R` with the sample standard deviation `s`, 0 for one replicate).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MeanSe {
    /// The mean.
    pub mean: f64,
    /// The standard error of the mean.
    pub se: f64,
}

impl MeanSe {
    /// The mean and standard error of `xs` (not empty).
    pub fn of(xs: &[f64]) -> Self {
        let r = xs.len() as f64;
        let mean = xs.iter().sum::<f64>() / r;
        let se = if xs.len() < 2 {
            0.0
        } else {
            let var = xs.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (r - 1.0);
            (var / r).sqrt()
        };
        MeanSe { mean, se }
    }
}

/// The consensus metrics of N restarts at one rank.
#[derive(Debug, Clone, PartialEq)]
pub struct Consensus {
    /// The number of samples n (columns of V).
    pub samples: usize,
    /// The consensus matrix C (n×n, row-major): `C_ij` is the fraction of restarts that
    /// assigned samples i and j to the same factor (1 on the diagonal).
    pub matrix: Vec<f64>,
    /// The cophenetic correlation coefficient (Brunet et al. 2004): Pearson's correlation,
    /// over the pairs i < j, between the distances `1 − C_ij` and the cophenetic distances of
    /// their average-linkage hierarchical clustering. 1 when the distances are all equal (the
    /// clustering reproduces them exactly).
    pub cophenetic: f64,
    /// The dispersion coefficient (Kim & Park 2007): `(1/n²)·Σ_ij 4·(C_ij − ½)²`, 1 for a
    /// consensus of 0s and 1s only.
    pub dispersion: f64,
}

/// The errors of every replicate at one rank.
#[derive(Debug, Clone, PartialEq)]
pub struct RankScore {
    /// The rank.
    pub rank: usize,
    /// The training error of each replicate (on the entries it was fitted to).
    pub train_errors: Vec<f64>,
    /// The held-out error of each replicate.
    pub test_errors: Vec<f64>,
    /// The full held-out figures of each replicate (RMSE, MAE, divergence).
    pub test_details: Vec<HoldoutError>,
    /// Mean and standard error of `train_errors`.
    pub train: MeanSe,
    /// Mean and standard error of `test_errors`.
    pub test: MeanSe,
    /// The consensus metrics, when [`RankSelection::consensus`] was set.
    pub consensus: Option<Consensus>,
}

/// The result of [`RankSelection::run`].
#[derive(Debug, Clone, PartialEq)]
pub struct RankReport {
    /// What the errors measure: `"rmse"` (Frobenius loss) or `"divergence"`.
    pub measure: &'static str,
    /// One score per rank, in the order of the ranks given.
    pub ranks: Vec<RankScore>,
    /// The rank with the lowest mean test error (the smallest such rank on a tie).
    pub best: usize,
    /// The smallest rank whose mean test error is at most the lowest mean test error plus its
    /// standard error.
    pub one_se: usize,
}

impl RankSelection {
    /// Rank selection over `ranks`, with 3 replicates, 10% of the observed entries held out,
    /// seed 0 and no consensus restarts. The fits run as the backend runs them (its own
    /// threads, if it has any).
    pub fn new(ranks: Vec<usize>) -> Self {
        RankSelection {
            ranks,
            replicates: 3,
            fraction: 0.1,
            seed: 0,
            consensus: 0,
        }
    }
    /// The number of replicates per rank (≥ 1), each with its own held-out subset.
    pub fn replicates(mut self, replicates: usize) -> Self {
        self.replicates = replicates;
        self
    }
    /// The fraction of the observed entries held out in each replicate, in (0, 1).
    pub fn holdout(mut self, fraction: f64) -> Self {
        self.fraction = fraction;
        self
    }
    /// The first seed: replicate q and consensus restart q use `seed + q` (wrapping).
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }
    /// The number of consensus restarts per rank (0: none; otherwise ≥ 2).
    pub fn consensus(mut self, restarts: usize) -> Self {
        self.consensus = restarts;
        self
    }

    fn check(&self) -> Result<(), NmfError> {
        let bad = |option, reason: &str| {
            Err(NmfError::InvalidSolverOption {
                option,
                reason: reason.into(),
            })
        };
        if self.ranks.is_empty() {
            return bad("ranks", "must name at least one rank");
        }
        if self.ranks.contains(&0) {
            return bad("ranks", "must all be at least 1");
        }
        if self.replicates == 0 {
            return bad("replicates", "must be at least 1");
        }
        if self.consensus == 1 {
            return bad(
                "consensus",
                "must be 0 (none) or at least 2 restarts (one restart always agrees with itself)",
            );
        }
        Ok(())
    }

    /// Fits every rank and replicate (and the consensus restarts) on `v`, with the
    /// parameters `params(rank)` (their seed replaced by each replicate's).
    ///
    /// # Errors
    /// [`NmfError::InvalidSolverOption`] naming `ranks`, `replicates` or `consensus` when out
    /// of range; [`NmfError::InvalidHoldout`] when the fraction leaves either part empty; any
    /// error of a fit.
    pub fn run<T: Scalar, B: DataOps<T, Observed<T>>>(
        &self,
        backend: &B,
        v: &Observed<T>,
        params: impl Fn(usize) -> NmfParams,
    ) -> Result<RankReport, NmfError> {
        self.check()?;
        let splits = (0..self.replicates as u64)
            .map(|q| v.split(self.fraction, self.seed.wrapping_add(q)))
            .collect::<Result<Vec<_>, _>>()?;
        let mut measure = "rmse";
        let mut scores = Vec::with_capacity(self.ranks.len());
        for &rank in &self.ranks {
            let (mut train_errors, mut test_errors, mut test_details) =
                (Vec::new(), Vec::new(), Vec::new());
            for (q, (train, test)) in splits.iter().enumerate() {
                let p = params(rank).seed(self.seed.wrapping_add(q as u64));
                let model = p.fit(backend, train)?;
                let pick = |e: HoldoutError| match model.loss() {
                    Loss::Frobenius => e.rmse,
                    _ => e.divergence,
                };
                if model.loss() != Loss::Frobenius {
                    measure = "divergence";
                }
                let on_train = holdout_error(backend, &model, train)?;
                let on_test = holdout_error(backend, &model, test)?;
                train_errors.push(pick(on_train));
                test_errors.push(pick(on_test));
                test_details.push(on_test);
            }
            let consensus = if self.consensus >= 2 {
                let mut labels = Vec::with_capacity(self.consensus);
                for q in 0..self.consensus as u64 {
                    let p = params(rank).seed(self.seed.wrapping_add(q));
                    let model = p.fit(backend, v)?;
                    labels.push(argmax_columns(backend, model.h()));
                }
                Some(consensus_metrics(&labels))
            } else {
                None
            };
            scores.push(RankScore {
                rank,
                train: MeanSe::of(&train_errors),
                test: MeanSe::of(&test_errors),
                train_errors,
                test_errors,
                test_details,
                consensus,
            });
        }
        let (best, one_se) = choose(&scores);
        Ok(RankReport {
            measure,
            ranks: scores,
            best,
            one_se,
        })
    }
}

/// The rank of lowest mean test error, and the smallest rank within one standard error of it.
fn choose(scores: &[RankScore]) -> (usize, usize) {
    let mut best = &scores[0];
    for s in scores {
        if s.test.mean < best.test.mean || (s.test.mean == best.test.mean && s.rank < best.rank) {
            best = s;
        }
    }
    let bound = best.test.mean + best.test.se;
    let one_se = scores
        .iter()
        .filter(|s| s.test.mean <= bound)
        .map(|s| s.rank)
        .min()
        .unwrap_or(best.rank);
    (best.rank, one_se)
}

/// For each column of H (k×n), the row of its largest entry (the lowest on a tie).
fn argmax_columns<T: Scalar, B: MatrixBackend<T>>(backend: &B, h: &B::Mat) -> Vec<usize> {
    let (k, n) = (backend.nrows(h), backend.ncols(h));
    let rows = backend.to_row_major(h);
    (0..n)
        .map(|j| {
            let mut at = 0;
            for a in 1..k {
                if rows[a * n + j] > rows[at * n + j] {
                    at = a;
                }
            }
            at
        })
        .collect()
}

/// The consensus matrix, cophenetic correlation and dispersion of `labels` (one assignment of
/// the same n samples per restart, at least one restart; see [`Consensus`]).
///
/// ```
/// use nmf_core::rank_selection::consensus_metrics;
/// // Two restarts that agree: a consensus of 0s and 1s.
/// let c = consensus_metrics(&[vec![0, 0, 1], vec![1, 1, 0]]);
/// assert_eq!(c.matrix, vec![1.0, 1.0, 0.0, 1.0, 1.0, 0.0, 0.0, 0.0, 1.0]);
/// assert_eq!((c.cophenetic, c.dispersion), (1.0, 1.0));
/// ```
///
/// # Panics
/// When `labels` is empty or its assignments differ in length (a caller's bug, not data).
pub fn consensus_metrics(labels: &[Vec<usize>]) -> Consensus {
    assert!(
        !labels.is_empty(),
        "consensus_metrics needs one restart at least"
    );
    let n = labels[0].len();
    assert!(
        labels.iter().all(|l| l.len() == n),
        "every restart must label the same samples"
    );
    let runs = labels.len() as f64;
    let mut matrix = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..n {
            let together = labels.iter().filter(|l| l[i] == l[j]).count();
            matrix[i * n + j] = together as f64 / runs;
        }
    }
    let dispersion = if n == 0 {
        1.0
    } else {
        matrix
            .iter()
            .map(|c| 4.0 * (c - 0.5) * (c - 0.5))
            .sum::<f64>()
            / (n * n) as f64
    };
    Consensus {
        samples: n,
        cophenetic: cophenetic_correlation(&matrix, n),
        matrix,
        dispersion,
    }
}

/// Pearson's correlation between `1 − C_ij` (i < j) and the cophenetic distances of their
/// average-linkage clustering (kodama); 1 when fewer than two pairs or constant distances.
fn cophenetic_correlation(c: &[f64], n: usize) -> f64 {
    if n < 3 {
        return 1.0;
    }
    // The condensed distances, pairs (i, j) with i < j in row-major order (kodama's layout).
    let mut dist = Vec::with_capacity(n * (n - 1) / 2);
    for i in 0..n {
        for j in i + 1..n {
            dist.push(1.0 - c[i * n + j]);
        }
    }
    let mut work = dist.clone();
    let dendrogram = kodama::linkage(&mut work, n, kodama::Method::Average);
    // Cophenetic distance of (i, j): the height of the step that first joins them.
    let mut members: Vec<Vec<usize>> = (0..n).map(|i| vec![i]).collect();
    let mut coph = vec![0.0; dist.len()];
    let at = |i: usize, j: usize| {
        let (i, j) = if i < j { (i, j) } else { (j, i) };
        n * i - i * (i + 1) / 2 + (j - i - 1)
    };
    for step in dendrogram.steps() {
        let a = std::mem::take(&mut members[step.cluster1]);
        let b = std::mem::take(&mut members[step.cluster2]);
        for &i in &a {
            for &j in &b {
                coph[at(i, j)] = step.dissimilarity;
            }
        }
        let mut joined = a;
        joined.extend(b);
        members.push(joined);
    }
    pearson(&dist, &coph)
}

/// Pearson's correlation of x and y; 1 when either is constant and they are equal, 0 when
/// one is constant and they differ.
fn pearson(x: &[f64], y: &[f64]) -> f64 {
    let len = x.len() as f64;
    let (mx, my) = (x.iter().sum::<f64>() / len, y.iter().sum::<f64>() / len);
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (&a, &b) in x.iter().zip(y) {
        sxy += (a - mx) * (b - my);
        sxx += (a - mx) * (a - mx);
        syy += (b - my) * (b - my);
    }
    if sxx == 0.0 || syy == 0.0 {
        return if x == y { 1.0 } else { 0.0 };
    }
    sxy / (sxx * syy).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Three restarts of four samples, computed by hand (see the comments).
    #[test]
    fn consensus_metrics_of_a_hand_computed_case() {
        let c = consensus_metrics(&[vec![0, 0, 1, 1], vec![0, 0, 1, 1], vec![0, 0, 0, 1]]);
        let third = 1.0 / 3.0;
        // C01 = 1, C02 = C12 = 1/3, C23 = 2/3, C03 = C13 = 0.
        #[rustfmt::skip]
        let expected = [
            1.0, 1.0, third, 0.0,
            1.0, 1.0, third, 0.0,
            third, third, 1.0, 2.0 * third,
            0.0, 0.0, 2.0 * third, 1.0,
        ];
        // Each C_ij is a count over 3, divided once: exact to one rounding (u = 2^-53).
        for (a, b) in c.matrix.iter().zip(expected) {
            assert!((a - b).abs() <= f64::EPSILON, "{:?}", c.matrix);
        }
        // Dispersion: diagonal 4·¼ = 1 each (4); off-diagonal pairs, twice each:
        // 2·(1 + 1/9 + 1 + 1/9 + 1 + 1/9) = 20/3; total 32/3 over 16 = 2/3.
        // A sum of 16 terms each within a few ulps: 1e-14 is far above the rounding.
        assert!((c.dispersion - 2.0 / 3.0).abs() < 1e-14, "{}", c.dispersion);
        // Distances 1 − C over (01, 02, 03, 12, 13, 23): (0, 2/3, 1, 2/3, 1, 1/3).
        // Average linkage: {0,1} at 0, {2,3} at 1/3, then both at (2/3+1+2/3+1)/4 = 5/6:
        // cophenetic (0, 5/6, 5/6, 5/6, 5/6, 1/3). Both means 11/18; deviations in 18ths
        // (−11, 1, 7, 1, 7, −5) and (−11, 4, 4, 4, 4, −5): Σxy = 210, Σx² = 246, Σy² = 210,
        // so r = √(210/246) = √(35/41).
        let r = (35.0_f64 / 41.0).sqrt();
        assert!((c.cophenetic - r).abs() < 1e-14, "{} vs {r}", c.cophenetic);
    }

    #[test]
    fn one_standard_error_rule_picks_the_smallest_rank_within_reach() {
        let score = |rank, test: &[f64]| RankScore {
            rank,
            train_errors: vec![],
            test_errors: test.to_vec(),
            test_details: vec![],
            train: MeanSe { mean: 0.0, se: 0.0 },
            test: MeanSe::of(test),
            consensus: None,
        };
        // Means 2.0, 1.1, 1.0 (se 0.2), 1.05: best 3, and 2 is within 1.0 + 0.2.
        let s = [
            score(1, &[2.0, 2.0]),
            score(2, &[1.1, 1.1]),
            score(3, &[0.8, 1.2]),
            score(4, &[1.05, 1.05]),
        ];
        assert_eq!(choose(&s), (3, 2));
    }

    #[test]
    fn bad_options_are_named() {
        let v = Observed::from_row_major(2, 2, &[1.0_f64, 2.0, 3.0, 4.0]).unwrap();
        let run = |s: RankSelection| {
            s.run(&crate::reference::Reference, &v, crate::Nmf::params)
                .unwrap_err()
                .to_string()
        };
        assert!(run(RankSelection::new(vec![])).starts_with("ranks"));
        assert!(run(RankSelection::new(vec![0, 1])).starts_with("ranks"));
        assert!(run(RankSelection::new(vec![1]).replicates(0)).starts_with("replicates"));
        assert!(run(RankSelection::new(vec![1]).consensus(1)).starts_with("consensus"));
    }
}
