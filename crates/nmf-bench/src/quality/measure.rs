//! A whole time-to-quality run: every solver asked for on one V, peers skipped (with a note)
//! when they are not installed, then the target errors.

use std::path::{Path, PathBuf};

use nmf_cli::matrix::Matrix;

use super::input::{self, Data};
use super::target::{self, Target};
use super::{Curve, Sample, library};
use crate::{rcppml, sklearn};

/// The peers' solvers the mode knows, with what they are: `(name, description)`.
pub const PEERS: [(&str, &str); 3] = [
    (
        "sklearn-cd",
        "scikit-learn's coordinate descent (fast HALS), its default solver",
    ),
    ("sklearn-mu", "scikit-learn's multiplicative updates"),
    (
        "rcppml",
        "RcppML's alternating NNLS by coordinate descent (R, Debian r-cran-rcppml)",
    ),
];

/// The solver whose errors at [`Config::target_iters`] are the targets.
pub const REFERENCE: &str = "sklearn-cd";

/// Every solver name `--solvers` accepts: this library's ([`library::SOLVERS`]), then the
/// peers' ([`PEERS`]).
pub fn known_solvers() -> Vec<&'static str> {
    library::SOLVERS
        .iter()
        .map(|s| s.name)
        .chain(PEERS.iter().map(|p| p.0))
        .collect()
}

/// Checks that every name is known and none repeats.
///
/// # Errors
/// The first unknown or repeated name, with the known ones.
///
/// ```
/// use nmf_bench::quality::measure::check_solvers;
/// assert!(check_solvers(&["mu".into(), "sklearn-cd".into()]).is_ok());
/// let e = check_solvers(&["hals2".into()]).unwrap_err();
/// assert!(e.contains("unknown solver 'hals2'") && e.contains("mu"), "{e}");
/// ```
pub fn check_solvers(names: &[String]) -> Result<(), String> {
    let known = known_solvers();
    if names.is_empty() {
        return Err(format!(
            "--solvers: no solver given (known: {})",
            known.join(", ")
        ));
    }
    for (i, n) in names.iter().enumerate() {
        if !known.contains(&n.as_str()) {
            return Err(format!(
                "--solvers: unknown solver '{n}' (known: {})",
                known.join(", ")
            ));
        }
        if names[..i].contains(n) {
            return Err(format!("--solvers: '{n}' is named twice"));
        }
    }
    Ok(())
}

/// What to run.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// The rank.
    pub k: usize,
    /// The iteration budgets (each a separate fit from the start).
    pub iters: Vec<usize>,
    /// Fits per budget (the median time is kept).
    pub repeats: usize,
    /// Threads of every solver.
    pub threads: usize,
    /// The solvers, by name ([`known_solvers`]), in the order of the tables.
    pub solvers: Vec<String>,
    /// The Python interpreter for scikit-learn.
    pub python: String,
    /// The R front end for RcppML.
    pub rscript: String,
    /// The seed of every start that uses one.
    pub seed: u64,
    /// The budgets at which [`REFERENCE`]'s errors are the targets (added to `iters`).
    pub target_iters: Vec<usize>,
    /// More target errors, given as numbers.
    pub targets: Vec<f64>,
}

impl Config {
    /// The budgets to run: `iters` and `target_iters` when [`REFERENCE`] runs, sorted, without
    /// repeats.
    pub fn budgets(&self) -> Vec<usize> {
        let mut b = self.iters.clone();
        if self.solvers.iter().any(|s| s == REFERENCE) {
            b.extend(&self.target_iters);
        }
        b.sort_unstable();
        b.dedup();
        b
    }

    /// Checks the settings.
    ///
    /// # Errors
    /// A message naming the option that is out of range.
    pub fn check(&self) -> Result<(), String> {
        check_solvers(&self.solvers)?;
        if self.k == 0 {
            return Err("--rank must be at least 1".into());
        }
        if self.iters.is_empty() || self.iters.contains(&0) {
            return Err("--iters: give one or more budgets, each at least 1".into());
        }
        if self.target_iters.contains(&0) {
            return Err("--target-iters: each budget must be at least 1".into());
        }
        if let Some(t) = self.targets.iter().find(|t| !(t.is_finite() && **t >= 0.0)) {
            return Err(format!(
                "--targets: {t} is not a relative error (finite, ≥ 0)"
            ));
        }
        if self.repeats == 0 {
            return Err("--repeats must be at least 1".into());
        }
        if self.threads == 0 {
            return Err("--threads must be at least 1".into());
        }
        Ok(())
    }
}

/// The outcome of a run.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// One curve per solver that ran, in the order asked.
    pub curves: Vec<Curve>,
    /// The target errors.
    pub targets: Vec<Target>,
    /// What the reader should know: versions, starts, and every peer skipped and why.
    pub notes: Vec<String>,
}

/// A scratch folder for the peers' copy of V, removed when dropped.
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn scratch() -> Result<Scratch, String> {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let dir = std::env::temp_dir().join(format!("nmf-bench-ttq-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    Ok(Scratch(dir))
}

fn write_err(p: &Path, e: std::io::Error) -> String {
    format!("{}: {e}", p.display())
}

/// Runs every solver of `cfg` on a dense `v`: [`run_data`] on [`Data::Dense`].
///
/// # Errors
/// As [`run_data`].
pub fn run(v: &Matrix, cfg: &Config, progress: impl FnMut(&str) + Send) -> Result<Report, String> {
    run_data(&Data::Dense(v.clone()), cfg, progress)
}

/// Runs every solver of `cfg` on `v`, dense or sparse. This library's solvers must run (their
/// errors are returned); a peer that is not installed, or whose script fails, is skipped with
/// a note. A sparse V stays sparse for everyone: this library's sparse data term, a SciPy CSR
/// matrix for scikit-learn, a `Matrix::dgCMatrix` for RcppML. `progress` is told what is
/// going on, one line at a time.
///
/// # Errors
/// Bad settings ([`Config::check`]), or an error of this library's fit.
pub fn run_data(
    v: &Data,
    cfg: &Config,
    mut progress: impl FnMut(&str) + Send,
) -> Result<Report, String> {
    cfg.check()?;
    let budgets = cfg.budgets();
    let (m, n) = v.shape();
    let mut curves = Vec::new();
    let mut notes = Vec::new();
    let mut scratch_dir: Option<Scratch> = None;
    let mut sklearn_done = false;
    for name in &cfg.solvers {
        if let Some(s) = library::find(name) {
            progress(&format!("{}: fitting…", s.label));
            let c = library::run_data(
                s,
                v,
                cfg.k,
                &budgets,
                cfg.repeats,
                cfg.threads,
                |x: &Sample| {
                    progress(&format!(
                        "  {} it.: {:.4} in {:.3} s",
                        x.iters, x.rel_err, x.seconds
                    ));
                },
            )?;
            curves.push(c);
            continue;
        }
        if scratch_dir.is_none() {
            scratch_dir = Some(scratch()?);
        }
        let dir = &scratch_dir.as_ref().expect("just made").0;
        if name.starts_with("sklearn-") {
            // Both scikit-learn solvers run in one child, at the place of the first.
            if sklearn_done {
                continue;
            }
            sklearn_done = true;
            let wanted: Vec<&str> = cfg
                .solvers
                .iter()
                .filter_map(|s| s.strip_prefix("sklearn-"))
                .collect();
            let label = format!("scikit-learn ({})", wanted.join(", "));
            if let Err(e) = sklearn::available(&cfg.python) {
                progress(&format!("skipping {label}: {e}"));
                notes.push(format!("{label} skipped: {e}"));
                continue;
            }
            progress(&format!("{label}: fitting…"));
            let input = match v {
                Data::Dense(d) => {
                    let npy = dir.join("v.npy");
                    sklearn::write_npy(&npy, m, n, &d.data, false)
                        .map_err(|e| write_err(&npy, e))?;
                    sklearn::TtqInput::Dense(npy)
                }
                Data::Sparse(c) => {
                    let prefix = dir.join("v.csr");
                    input::write_compressed(&prefix, c.view())?;
                    sklearn::TtqInput::Csr(prefix, (m, n))
                }
            };
            match sklearn::time_to_quality(
                &cfg.python,
                &input,
                cfg.k,
                &budgets,
                cfg.repeats,
                cfg.threads,
                &wanted,
                cfg.seed,
            ) {
                Ok((cs, ns)) => {
                    // In the order of --solvers.
                    for w in &wanted {
                        if let Some(c) = cs.iter().find(|c| c.solver == format!("sklearn-{w}")) {
                            curves.push(c.clone());
                        }
                    }
                    notes.extend(ns);
                }
                Err(e) => {
                    progress(&format!("skipping {label}: {e}"));
                    notes.push(format!("{label} skipped: {e}"));
                }
            }
        } else if name == "rcppml" {
            if let Err(e) = rcppml::available(&cfg.rscript) {
                progress(&format!("skipping RcppML: {e}"));
                notes.push(format!("RcppML skipped: {e}"));
                continue;
            }
            progress("RcppML: fitting…");
            let (f, sparse) = match v {
                Data::Dense(d) => {
                    let f = dir.join("v.f64");
                    rcppml::write_col_major(&f, m, n, &d.data).map_err(|e| write_err(&f, e))?;
                    (f, false)
                }
                Data::Sparse(c) => {
                    // R's dgCMatrix holds compressed columns: the compressed rows of Vᵀ.
                    let f = dir.join("v.csc");
                    let t = c.transpose().map_err(|e| e.to_string())?;
                    input::write_compressed(&f, t.view())?;
                    (f, true)
                }
            };
            match rcppml::time_to_quality(
                &cfg.rscript,
                &f,
                sparse,
                (m, n),
                cfg.k,
                &budgets,
                cfg.repeats,
                cfg.threads,
                cfg.seed,
            ) {
                Ok((c, ns)) => {
                    curves.push(c);
                    notes.extend(ns);
                }
                Err(e) => {
                    progress(&format!("skipping RcppML: {e}"));
                    notes.push(format!("RcppML skipped: {e}"));
                }
            }
        }
    }
    let targets = target::targets(
        &curves,
        REFERENCE,
        if cfg.solvers.iter().any(|s| s == REFERENCE) {
            &cfg.target_iters
        } else {
            &[]
        },
        &cfg.targets,
        &mut notes,
    );
    Ok(Report {
        curves,
        targets,
        notes,
    })
}
