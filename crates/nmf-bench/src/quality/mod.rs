//! Time to quality: wall time against the relative error ‖V − WH‖_F / ‖V‖_F, for this
//! library's solvers and, where installed, scikit-learn and RcppML, each from its own default
//! start, on the same matrix, rank, number of threads, Frobenius loss and `f64`.
//!
//! # What is timed
//! Every point is one complete fit, from the solver's default start, with a budget of N
//! iterations and no early stop (tolerance 0), timed from the call of the fit to its return:
//!
//! - this library ([`library`]): `NmfValidParams::fit` on a faer backend with the given threads,
//!   so the time includes the check of V, its mean, the start (a randomized SVD for NNDSVDA),
//!   the N iterations, the loss at the start and after the last iteration (`check_every` = N),
//!   and the final finiteness check of W and H. Converting V into the backend's matrix is not
//!   timed.
//! - scikit-learn ([`crate::sklearn::time_to_quality`]): `NMF(...).fit_transform(V)`, which
//!   includes its input validation, its start (NNDSVDA for `init=None` when k ≤ min(m, n)),
//!   the N iterations and its final `reconstruction_err_`.
//! - RcppML ([`crate::rcppml`]): `RcppML::nmf(A, k, maxit = N, ...)`, with its random start.
//!
//! A sparse V (a Matrix Market coordinate file or a SciPy `.npz`, see [`input::load_data`])
//! stays sparse for everyone: this library fits it through its sparse data term
//! (`SparseData`, built once before the fits, untimed, on a rayon pool of the run's threads),
//! scikit-learn gets a `scipy.sparse` CSR matrix and RcppML a `Matrix::dgCMatrix`, and every
//! relative error is computed without forming WH ([`sparse_rel_error`] and the same formula
//! in the peers' scripts).
//!
//! Not timed: starting the interpreter (Python, R), importing the packages, reading V, one
//! untimed warm-up fit of each solver (so lazy imports and thread pools are not charged to
//! the first point), and the relative error, computed after the fit in `f64` from the
//! returned factors. A curve is a sequence of independent fits of 10, 30, 100, … iterations
//! from the same start (deterministic for every solver), not checkpoints of one run; each
//! fit is repeated and its median time kept.

pub mod cli;
pub mod input;
pub mod library;
pub mod measure;
pub mod plot;
pub mod table;
pub mod target;

use nmf_core::sparse::CsrRef;

use crate::runner::median;

/// One timed fit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    /// The iteration budget (`max_iter`, `maxit`).
    pub iters: usize,
    /// The iterations the solver reports it performed (fewer than `iters` if it stopped
    /// early).
    pub n_iter: usize,
    /// Wall time of the fit, in seconds.
    pub seconds: f64,
    /// ‖V − WH‖_F / ‖V‖_F of the result.
    pub rel_err: f64,
}

/// The median of the repeats of one iteration budget.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Checkpoint {
    /// The iteration budget.
    pub iters: usize,
    /// The fewest iterations performed over the repeats.
    pub n_iter: usize,
    /// Median wall time over the repeats, in seconds.
    pub seconds: f64,
    /// Median relative error over the repeats (they agree for a deterministic solver).
    pub rel_err: f64,
    /// How many repeats.
    pub repeats: usize,
}

/// The measurements of one solver.
#[derive(Debug, Clone, PartialEq)]
pub struct Curve {
    /// The solver's name in `--solvers` (`mu`, `sklearn-cd`, `rcppml`, …).
    pub solver: String,
    /// What it is, for the table (`nmf-rs mu (faer)`, `scikit-learn 1.9.1 cd`, …).
    pub label: String,
    /// Every timed fit, in the order run.
    pub samples: Vec<Sample>,
}

impl Curve {
    /// One [`Checkpoint`] per iteration budget, in increasing order of the budget: the median
    /// time and error of its repeats.
    ///
    /// ```
    /// use nmf_bench::quality::{Curve, Sample};
    /// let s = |iters, seconds, rel_err| Sample { iters, n_iter: iters, seconds, rel_err };
    /// let c = Curve {
    ///     solver: "mu".into(),
    ///     label: "mu".into(),
    ///     samples: vec![s(30, 0.3, 0.5), s(10, 0.2, 0.6), s(10, 0.1, 0.6), s(10, 0.9, 0.6)],
    /// };
    /// let cp = c.checkpoints();
    /// assert_eq!((cp[0].iters, cp[0].seconds, cp[0].repeats), (10, 0.2, 3));
    /// assert_eq!((cp[1].iters, cp[1].rel_err), (30, 0.5));
    /// ```
    pub fn checkpoints(&self) -> Vec<Checkpoint> {
        let mut budgets: Vec<usize> = self.samples.iter().map(|s| s.iters).collect();
        budgets.sort_unstable();
        budgets.dedup();
        budgets
            .into_iter()
            .map(|iters| {
                let of: Vec<&Sample> = self.samples.iter().filter(|s| s.iters == iters).collect();
                let secs: Vec<f64> = of.iter().map(|s| s.seconds).collect();
                let errs: Vec<f64> = of.iter().map(|s| s.rel_err).collect();
                Checkpoint {
                    iters,
                    n_iter: of.iter().map(|s| s.n_iter).min().unwrap_or(0),
                    seconds: median(&secs),
                    rel_err: median(&errs),
                    repeats: of.len(),
                }
            })
            .collect()
    }

    /// The checkpoint of budget `iters`, if measured.
    pub fn at(&self, iters: usize) -> Option<Checkpoint> {
        self.checkpoints().into_iter().find(|c| c.iters == iters)
    }
}

/// Parses the lines a peer's script prints: `point<TAB>solver<TAB>iters<TAB>n_iter<TAB>
/// seconds<TAB>rel_err` for each fit and `info<TAB>key<TAB>value` for what the reader should
/// know; other lines are ignored. Returns the samples per solver (in the order first seen)
/// and the `(key, value)` pairs.
///
/// # Errors
/// A `point` or `info` line with missing or unparsable fields, quoted.
///
/// ```
/// let out = "info\tsklearn\t1.9.1\npoint\tsklearn-cd\t10\t10\t0.25\t0.53\nnoise\n";
/// let (curves, info) = nmf_bench::quality::parse_points(out).unwrap();
/// assert_eq!(curves[0].0, "sklearn-cd");
/// assert_eq!(curves[0].1[0].rel_err, 0.53);
/// assert_eq!(info, [("sklearn".to_string(), "1.9.1".to_string())]);
/// ```
#[allow(clippy::type_complexity)] // (solver, samples) and (key, value) pairs
pub fn parse_points(
    out: &str,
) -> Result<(Vec<(String, Vec<Sample>)>, Vec<(String, String)>), String> {
    let mut curves: Vec<(String, Vec<Sample>)> = Vec::new();
    let mut info = Vec::new();
    for line in out.lines() {
        let f: Vec<&str> = line.trim_end_matches('\r').split('\t').collect();
        match f[0] {
            "point" => {
                let bad = || format!("unreadable line from the script: {line:?}");
                if f.len() != 6 {
                    return Err(bad());
                }
                let int = |s: &str| s.trim().parse::<usize>().map_err(|_| bad());
                let num = |s: &str| s.trim().parse::<f64>().map_err(|_| bad());
                let s = Sample {
                    iters: int(f[2])?,
                    n_iter: int(f[3])?,
                    seconds: num(f[4])?,
                    rel_err: num(f[5])?,
                };
                if !(s.seconds.is_finite() && s.seconds >= 0.0 && s.rel_err.is_finite()) {
                    return Err(format!(
                        "the script reported a non-finite time or error: {line:?}"
                    ));
                }
                match curves.iter_mut().find(|c| c.0 == f[1]) {
                    Some(c) => c.1.push(s),
                    None => curves.push((f[1].to_string(), vec![s])),
                }
            }
            "info" => {
                if f.len() != 3 {
                    return Err(format!("unreadable line from the script: {line:?}"));
                }
                info.push((f[1].to_string(), f[2].trim().to_string()));
            }
            _ => {}
        }
    }
    Ok((curves, info))
}

/// ‖V − WH‖_F / ‖V‖_F in `f64`, all three row-major (V m×n, W m×k, H k×n); 0 for V = 0 = WH.
///
/// ```
/// let e = nmf_bench::quality::rel_error(2, 2, 1, &[1.0, 2.0, 2.0, 4.0], &[1.0, 2.0], &[1.0, 2.0]);
/// assert_eq!(e, 0.0);
/// let e = nmf_bench::quality::rel_error(1, 2, 1, &[3.0, 4.0], &[1.0], &[0.0, 0.0]);
/// assert_eq!(e, 1.0);
/// ```
pub fn rel_error(m: usize, n: usize, k: usize, v: &[f64], w: &[f64], h: &[f64]) -> f64 {
    assert_eq!(
        (v.len(), w.len(), h.len()),
        (m * n, m * k, k * n),
        "rel_error: shapes"
    );
    let mut num = 0.0;
    let mut row = vec![0.0; n];
    for i in 0..m {
        row.fill(0.0);
        for l in 0..k {
            let a = w[i * k + l];
            for (x, &b) in row.iter_mut().zip(&h[l * n..(l + 1) * n]) {
                *x += a * b;
            }
        }
        for (x, &y) in row.iter().zip(&v[i * n..(i + 1) * n]) {
            num += (y - x) * (y - x);
        }
    }
    let den: f64 = v.iter().map(|x| x * x).sum();
    if den == 0.0 {
        if num == 0.0 { 0.0 } else { f64::INFINITY }
    } else {
        (num / den).sqrt()
    }
}

/// ‖V − WH‖_F / ‖V‖_F in `f64` for a sparse V (compressed rows, m×n) and row-major W (m×k),
/// H (k×n), without forming WH: ‖V − WH‖² = ‖V‖² − 2 Σ_nnz v·(WH) + ⟨WᵀW, HHᵀ⟩, clamped
/// at 0. Cost O(nnz·k + (m + n)·k²).
///
/// Accuracy: the three terms are sums of O(nnz + (m + n)·k) products of non-negative numbers,
/// each within a relative γ_N ≈ N·u of its exact value (u = 2⁻⁵³), so the squared relative
/// error is off by at most about N·u·(1 + 2·‖WH‖²/‖V‖²) in absolute terms: 3·10⁻¹⁰ for
/// N = 10⁶ and ‖WH‖ ≤ ‖V‖. That moves a relative error e by about that over 2e, 10⁻⁶ at
/// e = 10⁻⁴: far below the differences the mode reports for sparse data (errors of 0.1–0.9).
///
/// ```
/// use nmf_core::sparse::Csr;
/// // V = [[1, 2], [2, 4]] = W·H with W = [1, 2]ᵀ, H = [1, 2]: error 0.
/// let v = Csr::from_compressed(2, 2, vec![0, 2, 4], vec![0, 1, 0, 1], vec![1.0, 2.0, 2.0, 4.0]).unwrap();
/// assert!(nmf_bench::quality::sparse_rel_error(v.view(), 1, &[1.0, 2.0], &[1.0, 2.0]) < 1e-7);
/// // V = [[3, 0], [0, 4]] against WH = 0: error 1.
/// let v = Csr::from_compressed(2, 2, vec![0, 1, 2], vec![0, 1], vec![3.0, 4.0]).unwrap();
/// assert_eq!(nmf_bench::quality::sparse_rel_error(v.view(), 1, &[0.0, 0.0], &[0.0, 0.0]), 1.0);
/// ```
pub fn sparse_rel_error(v: CsrRef<'_, f64>, k: usize, w: &[f64], h: &[f64]) -> f64 {
    let (m, n) = v.shape();
    assert_eq!(
        (w.len(), h.len()),
        (m * k, k * n),
        "sparse_rel_error: shapes"
    );
    let mut vv = 0.0;
    let mut cross = 0.0;
    for i in 0..m {
        let (js, xs) = v.row(i);
        let wi = &w[i * k..(i + 1) * k];
        for (&j, &x) in js.iter().zip(xs) {
            let wh: f64 = wi.iter().enumerate().map(|(l, a)| a * h[l * n + j]).sum();
            vv += x * x;
            cross += x * wh;
        }
    }
    // ⟨WᵀW, HHᵀ⟩ from the two k×k Gram matrices.
    let mut wtw = vec![0.0; k * k];
    for wi in w.chunks_exact(k) {
        for a in 0..k {
            for b in 0..k {
                wtw[a * k + b] += wi[a] * wi[b];
            }
        }
    }
    let mut gram = 0.0;
    for a in 0..k {
        for b in 0..k {
            let hh: f64 = h[a * n..(a + 1) * n]
                .iter()
                .zip(&h[b * n..(b + 1) * n])
                .map(|(x, y)| x * y)
                .sum();
            gram += wtw[a * k + b] * hh;
        }
    }
    let num = (vv - 2.0 * cross + gram).max(0.0);
    if vv == 0.0 {
        if num == 0.0 { 0.0 } else { f64::INFINITY }
    } else {
        (num / vv).sqrt()
    }
}
