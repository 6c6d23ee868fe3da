//! The settings of a fit (`nmf fit`, `nmf topics`, `nmf demo`): the options checked and their
//! defaults resolved, the custom start read, and the settings printed with `--verbose`.

use std::path::PathBuf;

use nmf_core::{Init, Loss, Nmf, NmfError, NmfValidParams, Solver};

use crate::cli::{BackendArg, DtypeArg, FitOptions, InitArg, LossArg, ModelFormat, SolverArg};
use crate::matrix::Matrix;
use crate::read::{ReadOptions, read_matrix};
use crate::summary::loss_label;
use crate::{CliError, console};

/// How much to print.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verbosity {
    /// Errors only.
    Quiet,
    /// Progress and where the outputs are.
    Normal,
    /// Also the settings and every loss evaluation.
    Verbose,
}

impl Verbosity {
    /// From `--quiet` and `--verbose` (quiet wins).
    pub(crate) fn from_flags(quiet: bool, verbose: bool) -> Self {
        if quiet {
            Verbosity::Quiet
        } else if verbose {
            Verbosity::Verbose
        } else {
            Verbosity::Normal
        }
    }
}

/// The warning for `--threads` with a backend whose dense products ignore it.
pub(crate) fn warn_threads(
    threads: Option<usize>,
    backend: BackendArg,
    verbosity: Verbosity,
) -> Result<(), CliError> {
    if threads.is_some() && backend != BackendArg::Faer && verbosity != Verbosity::Quiet {
        console::err(&format!(
            "warning: {}'s dense products run on one thread; --threads applies to faer's \
             products and to the passes over sparse or masked V",
            backend.name()
        ))?;
    }
    Ok(())
}

/// How many threads run the restarts: `--parallel-restarts`, but at most the restarts and
/// the cores (more threads than cores would only compete for them, and each holds its own
/// copy of W and H); 0 (one after another) without restarts.
fn restart_threads(requested: usize, n_init: usize) -> usize {
    if requested == 0 || n_init <= 1 {
        return 0;
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    requested.min(n_init).min(cores)
}

/// Every setting of a fit, defaults resolved.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub(crate) params: NmfValidParams,
    /// --alpha-w, --alpha-h (resolved) and --l1-ratio, for the summary.
    pub(crate) alpha_w: f64,
    pub(crate) alpha_h: f64,
    pub(crate) l1_ratio: f64,
    pub(crate) backend: BackendArg,
    pub(crate) dtype: DtypeArg,
    pub(crate) threads: Option<usize>,
    /// --parallel-restarts: threads asked for to run the --n-init restarts (0: one after
    /// another).
    pub(crate) parallel_restarts: usize,
    /// The threads that run them ([`restart_threads`]).
    pub(crate) restart_threads: usize,
    pub(crate) init: Option<(PathBuf, PathBuf)>,
    pub(crate) init_arg: InitArg,
    pub(crate) out: PathBuf,
    pub(crate) csv: bool,
    pub(crate) model_format: ModelFormat,
    pub(crate) verbosity: Verbosity,
}

/// The defaults that differ between the commands that fit.
pub(crate) struct Defaults {
    pub(crate) loss: LossArg,
    pub(crate) max_iter: usize,
    pub(crate) tol: f64,
    pub(crate) out: &'static str,
}

/// Checks the options of a fit and resolves their defaults.
pub(crate) fn settings(rank: usize, o: &FitOptions, d: &Defaults) -> Result<Settings, CliError> {
    let loss = match (o.beta, o.loss.unwrap_or(d.loss)) {
        (Some(beta), _) => {
            if !beta.is_finite() {
                return Err(CliError::usage(format!(
                    "--beta must be a finite number, got {beta}"
                )));
            }
            Loss::beta(beta)
        }
        (None, LossArg::Frobenius) => Loss::Frobenius,
        (None, LossArg::Kl) => Loss::KullbackLeibler,
        (None, LossArg::ItakuraSaito) => Loss::ItakuraSaito,
    };
    let alpha_h = o.alpha_h.unwrap_or(o.alpha_w);
    for (name, a) in [("--alpha-w", o.alpha_w), ("--alpha-h", alpha_h)] {
        if !(a.is_finite() && a >= 0.0) {
            return Err(CliError::usage(format!(
                "{name} must be finite and ≥ 0, got {}",
                crate::matrix::fmt_num(a)
            )));
        }
    }
    if !(0.0..=1.0).contains(&o.l1_ratio) {
        return Err(CliError::usage(format!(
            "--l1-ratio must be in [0, 1], got {}",
            crate::matrix::fmt_num(o.l1_ratio)
        )));
    }
    let mut p = Nmf::params(rank)
        .loss(loss)
        .max_iter(o.max_iter.unwrap_or(d.max_iter))
        .tol(o.tol.unwrap_or(d.tol))
        .check_every(o.check_every)
        .seed(o.seed)
        .init(match o.init {
            InitArg::Auto => Init::Auto,
            InitArg::Nndsvd => Init::Nndsvd,
            InitArg::Nndsvda => Init::Nndsvda,
            InitArg::Nndsvdar => Init::Nndsvdar,
            // (a custom start does not use it)
            InitArg::Random | InitArg::Custom => Init::Random,
        })
        .n_init(o.n_init)
        .alpha_w(o.alpha_w)
        .alpha_h(alpha_h)
        .l1_ratio(o.l1_ratio)
        .solver(match o.solver {
            SolverArg::Auto => Solver::Auto,
            SolverArg::Mu => Solver::Mu,
            SolverArg::Hals => Solver::Hals,
            SolverArg::Cd => Solver::CdKl,
        });
    if let Some(eps) = o.eps {
        p = p.eps(eps);
    }
    let params = p.check().map_err(|e| {
        CliError::usage(match e {
            NmfError::ZeroRank => "--rank must be at least 1".to_string(),
            NmfError::ZeroMaxIter => "--max-iter must be at least 1".to_string(),
            NmfError::ZeroCheckEvery => "--check-every must be at least 1".to_string(),
            NmfError::ZeroNInit => "--n-init must be at least 1".to_string(),
            NmfError::InvalidTol(t) => format!("--tol must be finite and ≥ 0, got {t}"),
            NmfError::InvalidEps(e) => format!("--eps must be finite and > 0, got {e}"),
            NmfError::InvalidBeta(b) => format!("--beta must be a finite number, got {b}"),
            NmfError::SolverLossMismatch {
                solver,
                loss,
                supported,
            } => format!(
                "--solver {solver} supports only --loss {supported}, not {loss}: use --solver \
                 mu or auto"
            ),
            other => crate::error::option_error(&other).map_or(other.to_string(), |e| e.message),
        })
    })?;
    match o.init {
        InitArg::Random | InitArg::Nndsvdar => {}
        _ if o.n_init > 1 => {
            return Err(CliError::usage(format!(
                "--n-init restarts from random starts: --init {} starts the same way every \
                 time; use --init random or nndsvdar",
                o.init.name()
            )));
        }
        _ => {}
    }
    let init = match (o.init, &o.w0, &o.h0) {
        (InitArg::Custom, Some(w0), Some(h0)) => Some((w0.clone(), h0.clone())),
        (InitArg::Custom, _, _) => {
            return Err(CliError::usage(
                "--init custom needs both --w0 FILE and --h0 FILE",
            ));
        }
        (_, None, None) => None,
        (_, _, _) => {
            return Err(CliError::usage(
                "--w0 and --h0 are used only with --init custom",
            ));
        }
    };
    let verbosity = Verbosity::from_flags(o.quiet, o.verbose);
    warn_threads(o.threads, o.backend, verbosity)?;
    let restart_threads = restart_threads(o.parallel_restarts, o.n_init);
    if verbosity != Verbosity::Quiet {
        if o.parallel_restarts > 0 && o.n_init == 1 {
            console::err(
                "warning: --parallel-restarts runs the --n-init restarts in parallel; with --n-init 1 it has no effect",
            )?;
        } else if restart_threads > 0 && restart_threads < o.parallel_restarts.min(o.n_init) {
            console::err(&format!(
                "warning: --parallel-restarts {}: running {restart_threads} restart{} at a \
                 time, one per core",
                o.parallel_restarts,
                if restart_threads == 1 { "" } else { "s" }
            ))?;
        }
    }
    Ok(Settings {
        params,
        alpha_w: o.alpha_w,
        alpha_h,
        l1_ratio: o.l1_ratio,
        backend: o.backend,
        dtype: o.dtype,
        threads: o.threads,
        parallel_restarts: o.parallel_restarts,
        restart_threads,
        init,
        init_arg: o.init,
        out: o.out.clone().unwrap_or_else(|| PathBuf::from(d.out)),
        csv: o.csv,
        model_format: o.model_format,
        verbosity,
    })
}

/// Reads the custom initial factors and checks their shapes against V and the rank.
pub(crate) fn read_init(
    s: &Settings,
    (rows, cols): (usize, usize),
    v_source: &str,
    csv_opts: ReadOptions,
) -> Result<Option<(Matrix, Matrix)>, CliError> {
    let Some((w0p, h0p)) = &s.init else {
        return Ok(None);
    };
    let k = s.params.rank();
    let (w0, _) = read_matrix(w0p, None, csv_opts)?;
    let (h0, _) = read_matrix(h0p, None, csv_opts)?;
    for (m, path, name, want) in [(&w0, w0p, "W0", (rows, k)), (&h0, h0p, "H0", (k, cols))] {
        if (m.rows, m.cols) != want {
            return Err(CliError::data(format!(
                "{}: {name} is {}×{}, but V ({}×{} in {v_source}) and rank {k} require {}×{}",
                path.display(),
                m.rows,
                m.cols,
                rows,
                cols,
                want.0,
                want.1
            )));
        }
    }
    Ok(Some((w0, h0)))
}

/// The initialisation actually used: `auto` resolved for the rank and the shape of V.
pub(crate) fn init_used(s: &Settings, (rows, cols): (usize, usize)) -> &'static str {
    match s.init_arg {
        InitArg::Auto => match s.params.init().nndsvd_variant(s.params.rank(), rows, cols) {
            Some(_) => InitArg::Nndsvda.name(),
            None => InitArg::Random.name(),
        },
        other => other.name(),
    }
}

/// Prints the settings with `--verbose`.
pub(crate) fn print_settings(
    s: &Settings,
    (rows, cols): (usize, usize),
    what: &str,
) -> Result<(), CliError> {
    if s.verbosity == Verbosity::Verbose {
        let p = &s.params;
        console::err(&format!(
            "{what}: V is {}×{}; rank {}, loss {}, backend {}, {}, max-iter {}, tol {}, check-every {}, seed {}, init {}, n-init {}, parallel-restarts {}, alpha-w {}, alpha-h {}, l1-ratio {}",
            rows,
            cols,
            p.rank(),
            loss_label(p.loss()),
            s.backend.name(),
            s.dtype.name(),
            p.max_iter(),
            p.tol(),
            p.check_every(),
            p.seed(),
            init_used(s, (rows, cols)),
            p.n_init(),
            s.parallel_restarts,
            s.alpha_w,
            s.alpha_h,
            s.l1_ratio,
        ))?;
    }
    Ok(())
}
