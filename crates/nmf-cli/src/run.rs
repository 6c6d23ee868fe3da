//! Running `nmf fit`, `nmf demo` and `nmf transform`: settings, reading, the fit (or the
//! transform) on the chosen backend and scalar, progress, signals (see
//! [`interrupt`]), and the outputs (see [`write`](mod@crate::write)).

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use nmf_core::sparse::{Csr, SparseData};
use nmf_core::{
    DataOps, DenseBackend, Init, Loss, LossRecord, MatrixRole, Nmf, NmfError, NmfValidParams,
    Progress, SavedModel, Scalar, Solver, TransformParams,
};

use crate::cli::{
    BackendArg, DEMO_MAX_ITER, DEMO_OUT, DemoArgs, DtypeArg, FIT_OUT, FitArgs, FitOptions, InitArg,
    LossArg, ModelFormat, SolverArg, TransformArgs,
};
use crate::console;
use crate::interrupt::{self, check as check_interrupt};
use crate::matrix::Matrix;
use crate::read::{Input, ReadOptions, csv, npy, read_file, read_input, read_matrix};
use crate::write::{self, Staged, check_out};
use crate::{CliError, digits, picture};

/// Set by the handler of Ctrl-C, SIGTERM and SIGHUP (see [`interrupt`]);
/// the observer of the fit (every restart's, with `--parallel-restarts`) or of the transform
/// stops it when it sees it.
pub use crate::interrupt::INTERRUPTED;

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
    fn from_flags(quiet: bool, verbose: bool) -> Self {
        if quiet {
            Verbosity::Quiet
        } else if verbose {
            Verbosity::Verbose
        } else {
            Verbosity::Normal
        }
    }
}

/// The warning for `--threads` with a backend that ignores it.
fn warn_threads(
    threads: Option<usize>,
    backend: BackendArg,
    verbosity: Verbosity,
) -> Result<(), CliError> {
    if threads.is_some() && backend != BackendArg::Faer && verbosity != Verbosity::Quiet {
        console::err(&format!(
            "warning: --threads applies to the faer backend only; {} runs on one thread",
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
struct Settings {
    params: NmfValidParams,
    /// --alpha-w, --alpha-h (resolved) and --l1-ratio, for the summary.
    alpha_w: f64,
    alpha_h: f64,
    l1_ratio: f64,
    backend: BackendArg,
    dtype: DtypeArg,
    threads: Option<usize>,
    /// --parallel-restarts: threads asked for to run the --n-init restarts (0: one after
    /// another).
    parallel_restarts: usize,
    /// The threads that run them ([`restart_threads`]).
    restart_threads: usize,
    init: Option<(PathBuf, PathBuf)>,
    init_arg: InitArg,
    out: PathBuf,
    csv: bool,
    model_format: ModelFormat,
    verbosity: Verbosity,
}

fn settings(
    rank: usize,
    o: &FitOptions,
    default_loss: LossArg,
    default_max_iter: usize,
    default_tol: f64,
    default_out: &str,
) -> Result<Settings, CliError> {
    let loss = match (o.beta, o.loss.unwrap_or(default_loss)) {
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
        .max_iter(o.max_iter.unwrap_or(default_max_iter))
        .tol(o.tol.unwrap_or(default_tol))
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
        out: o.out.clone().unwrap_or_else(|| PathBuf::from(default_out)),
        csv: o.csv,
        model_format: o.model_format,
        verbosity,
    })
}

/// The progress display: a bar on a terminal, plain lines otherwise, nothing when quiet.
/// With `--n-init` restarts the bar runs over all of them (the sum of their iterations) and
/// the lines name the restart; with `--parallel-restarts` the restarts report from their own
/// threads, through a [`Mutex`] around the reporter. Its memory does not grow with
/// `--max-iter` or `--n-init`: it keeps only the restarts that may still be running.
struct Reporter {
    mode: Mode,
    verbose: bool,
    max_iter: usize,
    n_init: usize,
    /// How many restarts run at once (1, or the restart threads): restart r counts as over
    /// (all its --max-iter iterations done, or converged) once restart r + lanes has begun,
    /// as restart r + lanes runs on the thread of restart r, after it. (Restarts on other
    /// threads say nothing about r: one thread may be several restarts ahead of another.)
    lanes: usize,
    /// How many restarts are over.
    over: usize,
    /// The restarts begun and not yet over (one per thread): their iterations so far, and
    /// the iteration from which their next plain line is due.
    active: BTreeMap<usize, (usize, usize)>,
    /// The iterations run, over all restarts and threads.
    ran: usize,
    start: Instant,
    /// The first failure to write to standard error: the run stops with it.
    failed: Option<CliError>,
}

enum Mode {
    Silent,
    Bar(ProgressBar),
    Plain,
}

impl Reporter {
    fn new(verbosity: Verbosity, max_iter: usize, n_init: usize, lanes: usize) -> Self {
        let mode = match verbosity {
            Verbosity::Quiet => Mode::Silent,
            _ if std::io::stderr().is_terminal() => {
                let bar = ProgressBar::with_draw_target(
                    Some(max_iter.saturating_mul(n_init) as u64),
                    ProgressDrawTarget::stderr(),
                );
                let style = ProgressStyle::with_template(
                    "{spinner:.green} {elapsed_precise} [{bar:32.cyan/blue}] {pos}/{len} it · loss {msg} · {rate} · {eta} left",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .with_key(
                    "rate",
                    |state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                        let _ = write!(w, "{:.0} it/s", state.per_sec());
                    },
                )
                .progress_chars("=> ");
                bar.set_style(style);
                bar.set_message("…");
                Mode::Bar(bar)
            }
            _ => Mode::Plain,
        };
        let n_init = n_init.max(1);
        Self {
            mode,
            verbose: verbosity == Verbosity::Verbose,
            max_iter,
            n_init,
            lanes: lanes.clamp(1, n_init),
            over: 0,
            active: BTreeMap::new(),
            ran: 0,
            start: Instant::now(),
            failed: None,
        }
    }

    fn is_silent(&self) -> bool {
        matches!(self.mode, Mode::Silent)
    }

    /// The progress over all restarts, in iterations: a restart that is over counts in full
    /// (it may have converged early).
    fn done(&self) -> usize {
        let running: usize = self.active.values().map(|&(it, _)| it).sum();
        self.over
            .saturating_mul(self.max_iter)
            .saturating_add(running)
    }

    /// Shows `p`; false once standard error cannot be written (see `failed`).
    fn update(&mut self, p: &Progress) -> bool {
        if self.failed.is_some() {
            return false;
        }
        let r = p.restart.min(self.n_init - 1);
        if !self.active.contains_key(&r)
            && let Some(before) = r.checked_sub(self.lanes)
            && self.active.remove(&before).is_some()
        {
            // Restart r follows `before` on its thread: `before` is over (counted in full).
            self.over += 1;
        }
        let state = self.active.entry(r).or_insert((0, 0));
        self.ran = self.ran.saturating_add(p.iteration.saturating_sub(state.0));
        state.0 = p.iteration;
        let next_line = state.1;
        let restart = if self.n_init > 1 {
            format!("restart {}/{}: ", r + 1, self.n_init)
        } else {
            String::new()
        };
        match &self.mode {
            Mode::Silent => {}
            Mode::Bar(bar) => {
                bar.set_position(self.done() as u64);
                if let Some(l) = p.loss {
                    bar.set_message(format!("{restart}{l:.6e}"));
                    if self.verbose {
                        bar.println(format!("{restart}iteration {}: loss {l:.6e}", p.iteration));
                    }
                }
            }
            Mode::Plain => {
                // A line at every loss evaluation past each tenth of the run (every one with
                // --verbose), and at the end.
                if let Some(l) = p.loss
                    && (self.verbose || p.iteration >= next_line || p.iteration == self.max_iter)
                {
                    let secs = self.start.elapsed().as_secs_f64();
                    // The rate counts the iterations run, over all threads; the time left
                    // is for the iterations of the restarts that are not over.
                    let rate = self.ran as f64 / secs.max(1e-9);
                    let left = self
                        .max_iter
                        .saturating_mul(self.n_init)
                        .saturating_sub(self.done()) as f64
                        / rate;
                    let line = format!(
                        "{restart}iteration {}/{}  loss {l:.6e}  {rate:.1} it/s  {} left",
                        p.iteration,
                        self.max_iter,
                        fmt_duration(left)
                    );
                    if let Err(e) = console::err(&line) {
                        self.failed = Some(e);
                        return false;
                    }
                    let step = (self.max_iter / 10).max(1);
                    if let Some(state) = self.active.get_mut(&r) {
                        state.1 = (p.iteration / step).saturating_add(1).saturating_mul(step);
                    }
                }
            }
        }
        true
    }

    fn finish(&self) {
        if let Mode::Bar(bar) = &self.mode {
            bar.finish_and_clear();
        }
    }

    /// The failure to write to standard error, if any.
    fn take_failure(&mut self) -> Option<CliError> {
        self.failed.take()
    }
}

fn fmt_duration(secs: f64) -> String {
    if !secs.is_finite() {
        "?".into()
    } else if secs < 60.0 {
        format!("{secs:.1} s")
    } else {
        let s = secs.round() as u64;
        format!("{}m{:02}s", s / 60, s % 60)
    }
}

/// A finished fit, with the factors in `f64` (exact for both scalar types).
#[derive(Debug, Clone)]
struct Fitted {
    w: Matrix,
    h: Matrix,
    history: Vec<LossRecord>,
    n_iter: usize,
    converged: bool,
    eps: f64,
    seconds: f64,
    threads: usize,
    /// The model, for model.json / model.npz.
    saved: SavedModel,
}

/// Converts a matrix to the scalar type, refusing entries beyond its range.
fn to_scalar<T: Scalar>(m: &Matrix, source: &str) -> Result<Vec<T>, CliError> {
    let mut out = Vec::with_capacity(m.data.len());
    for (p, &x) in m.data.iter().enumerate() {
        let y = T::from_f64(x);
        if !y.is_finite() {
            return Err(CliError::data(format!(
                "{source}: the entry {} at row {}, column {} (0-based) is beyond the range of {}; use --dtype f64 or rescale the data",
                crate::matrix::fmt_num(x),
                p / m.cols.max(1),
                p % m.cols.max(1),
                T::NAME
            )));
        }
        out.push(y);
    }
    Ok(out)
}

/// The sources of V, W0 and H0, for messages.
struct Sources<'a> {
    v: &'a str,
    w0: &'a str,
    h0: &'a str,
}

fn fit_error(e: NmfError, s: &Sources<'_>) -> CliError {
    let role = match &e {
        NmfError::RankTooLargeForSvdInit {
            init,
            rank,
            rows,
            cols,
        } => {
            return CliError::usage(format!(
                "--init {} needs --rank ({rank}) at most min(m, n) = {} for the {rows}×{cols} V in \
                 {}; use --init random or a lower --rank",
                format!("{init:?}").to_lowercase(),
                rows.min(cols),
                s.v
            ));
        }
        NmfError::LossNotForData { .. } => {
            return CliError::usage(format!("{}: {e}; --dense reads the file dense", s.v));
        }
        NmfError::Interrupted { iteration } => {
            return CliError::interrupted(format!(
                "interrupted ({}) after {iteration} iterations; nothing was written",
                interrupt::SIGNALS
            ));
        }
        NmfError::EmptyMatrix { matrix, .. }
        | NmfError::NegativeEntry { matrix, .. }
        | NmfError::NonFiniteEntry { matrix, .. }
        | NmfError::ShapeMismatch { matrix, .. } => Some(*matrix),
        NmfError::ZeroEntryForBeta { .. } => Some(MatrixRole::V),
        _ => None,
    };
    match role {
        Some(MatrixRole::V) => CliError::data(format!("{}: {e}", s.v)),
        Some(MatrixRole::W0) => CliError::data(format!("{}: {e}", s.w0)),
        Some(MatrixRole::H0) => CliError::data(format!("{}: {e}", s.h0)),
        _ => crate::error::option_error(&e).unwrap_or_else(|| CliError::data(e.to_string())),
    }
}

/// A sparse V in the scalar type, refusing values beyond its range.
fn sparse_to_scalar<T: Scalar>(c: &Csr<f64>, source: &str) -> Result<SparseData<T>, CliError> {
    let v = c.view();
    let mut data = Vec::with_capacity(c.nnz());
    for i in 0..v.nrows() {
        let (js, xs) = v.row(i);
        for (&j, &x) in js.iter().zip(xs) {
            let y = T::from_f64(x);
            if !y.is_finite() {
                return Err(CliError::data(format!(
                    "{source}: the entry {} at row {i}, column {j} (0-based) is beyond the range of {}; use --dtype f64 or rescale the data",
                    crate::matrix::fmt_num(x),
                    T::NAME
                )));
            }
            data.push(y);
        }
    }
    let (rows, cols) = c.shape();
    Csr::from_compressed(rows, cols, v.indptr().to_vec(), v.indices().to_vec(), data)
        .and_then(SparseData::from_csr)
        .map_err(|e| CliError::data(format!("{source}: {e}")))
}

#[allow(clippy::too_many_arguments)]
fn fit_on<T: Scalar, B: DenseBackend<T> + Sync>(
    b: &B,
    threads: usize,
    s: &Settings,
    v: &Input,
    init: Option<(&Matrix, &Matrix)>,
    sources: &Sources<'_>,
    reporter: &mut Reporter,
) -> Result<Fitted, CliError> {
    let lib = |e: NmfError| fit_error(e, sources);
    let factors = match init {
        None => None,
        Some((w0, h0)) => Some((
            b.from_row_major(w0.rows, w0.cols, &to_scalar::<T>(w0, sources.w0)?)
                .map_err(lib)?,
            b.from_row_major(h0.rows, h0.cols, &to_scalar::<T>(h0, sources.h0)?)
                .map_err(lib)?,
        )),
    };
    match v {
        Input::Dense(v) => {
            let vm = b
                .from_row_major(v.rows, v.cols, &to_scalar::<T>(v, sources.v)?)
                .map_err(lib)?;
            run_fit::<T, B, B::Mat>(b, threads, s, &vm, factors, sources, reporter)
        }
        Input::Sparse(c) => {
            let vm = sparse_to_scalar::<T>(c, sources.v)?;
            run_fit::<T, B, SparseData<T>>(b, threads, s, &vm, factors, sources, reporter)
        }
    }
}

/// Runs the fit on V of the data type `V` (dense or sparse), with the progress reporter.
#[allow(clippy::too_many_arguments)]
fn run_fit<T: Scalar, B: DataOps<T, V> + Sync, V: Sync>(
    b: &B,
    threads: usize,
    s: &Settings,
    vm: &V,
    factors: Option<(B::Mat, B::Mat)>,
    sources: &Sources<'_>,
    reporter: &mut Reporter,
) -> Result<Fitted, CliError> {
    let lib = |e: NmfError| fit_error(e, sources);
    let params = &s.params;
    let start = Instant::now();
    // Shared by the restarts' threads with --parallel-restarts (uncontended otherwise).
    let silent = reporter.is_silent();
    let shared = Mutex::new(&mut *reporter);
    let observer = |p: &Progress| {
        let shown = silent
            || shared
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .update(p);
        if !shown || INTERRUPTED.load(Ordering::SeqCst) {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    };
    let fitting = params.fitting(b, vm);
    let result = match &factors {
        None if s.restart_threads > 0 => {
            fitting.threads(s.restart_threads).observer(observer).run()
        }
        None => fitting.observer(observer).run(),
        Some((w0, h0)) => fitting.start(w0, h0).observer(observer).run(),
    };
    reporter.finish();
    if let Some(e) = reporter.take_failure() {
        return Err(e);
    }
    let model = result.map_err(lib)?;
    let seconds = start.elapsed().as_secs_f64();
    let export = |a: &B::Mat| {
        let (r, c) = b.shape(a);
        Matrix::new(r, c, b.to_row_major(a).into_iter().map(T::as_f64).collect())
    };
    Ok(Fitted {
        w: export(model.w()),
        h: export(model.h()),
        history: model.loss_history().to_vec(),
        n_iter: model.n_iter(),
        converged: model.converged(),
        eps: model.eps().as_f64(),
        seconds,
        threads,
        saved: model.to_saved(b),
    })
}

fn fit_with<B: DenseBackend<f32> + DenseBackend<f64> + Sync>(
    b: &B,
    threads: usize,
    s: &Settings,
    v: &Input,
    init: Option<(&Matrix, &Matrix)>,
    sources: &Sources<'_>,
    reporter: &mut Reporter,
) -> Result<Fitted, CliError> {
    match s.dtype {
        DtypeArg::F32 => fit_on::<f32, B>(b, threads, s, v, init, sources, reporter),
        DtypeArg::F64 => fit_on::<f64, B>(b, threads, s, v, init, sources, reporter),
    }
}

fn dispatch(
    s: &Settings,
    v: &Input,
    init: Option<(&Matrix, &Matrix)>,
    sources: &Sources<'_>,
) -> Result<Fitted, CliError> {
    let mut reporter = Reporter::new(
        s.verbosity,
        s.params.max_iter(),
        s.params.n_init(),
        s.restart_threads,
    );
    match s.backend {
        BackendArg::Faer => {
            let n = s.threads.unwrap_or(0);
            let threads = if n == 0 {
                std::thread::available_parallelism().map_or(1, |n| n.get())
            } else {
                n
            };
            let b = nmf_faer::Faer::with_threads(n);
            fit_with(&b, threads, s, v, init, sources, &mut reporter)
        }
        BackendArg::Nalgebra => fit_with(
            &nmf_nalgebra::Nalgebra,
            1,
            s,
            v,
            init,
            sources,
            &mut reporter,
        ),
        BackendArg::Ndarray => {
            fit_with(&nmf_ndarray::Ndarray, 1, s, v, init, sources, &mut reporter)
        }
    }
}

/// Reads the custom initial factors and checks their shapes against V and the rank.
fn read_init(
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

/// The loss as `summary.json` names it: its --loss value, or `beta` (β in the summary).
fn loss_name(l: Loss) -> &'static str {
    match l {
        Loss::Frobenius => "frobenius",
        Loss::KullbackLeibler => "kl",
        Loss::ItakuraSaito => "itakura-saito",
        _ => "beta",
    }
}

/// The loss in messages: `frobenius`, `kl`, `itakura-saito` or `beta(0.5)`.
fn loss_label(l: Loss) -> String {
    match l {
        Loss::Frobenius | Loss::KullbackLeibler | Loss::ItakuraSaito => loss_name(l).into(),
        _ => format!("beta({})", l.beta_value()),
    }
}

fn write_factors(
    staged: &mut Staged,
    f: &Fitted,
    dtype: DtypeArg,
    csv_too: bool,
) -> Result<Vec<String>, CliError> {
    let mut names = Vec::new();
    for (name, m) in [("W", &f.w), ("H", &f.h)] {
        let bytes = match dtype {
            DtypeArg::F64 => npy::to_npy_bytes(m.rows, m.cols, &m.data),
            DtypeArg::F32 => {
                let d: Vec<f32> = m.data.iter().map(|&x| x as f32).collect();
                npy::to_npy_bytes(m.rows, m.cols, &d)
            }
        };
        staged.add(&format!("{name}.npy"), &bytes)?;
        names.push(format!("{name}.npy"));
    }
    if csv_too {
        for (name, m) in [("W", &f.w), ("H", &f.h)] {
            let text = match dtype {
                DtypeArg::F64 => csv::to_csv_string(m.rows, m.cols, &m.data),
                DtypeArg::F32 => {
                    let d: Vec<f32> = m.data.iter().map(|&x| x as f32).collect();
                    csv::to_csv_string(m.rows, m.cols, &d)
                }
            };
            staged.add(&format!("{name}.csv"), text.as_bytes())?;
            names.push(format!("{name}.csv"));
        }
    }
    Ok(names)
}

/// The initialisation actually used: `auto` resolved for the rank and the shape of V.
fn init_used(s: &Settings, (rows, cols): (usize, usize)) -> &'static str {
    match s.init_arg {
        InitArg::Auto => match s.params.init().nndsvd_variant(s.params.rank(), rows, cols) {
            Some(_) => InitArg::Nndsvda.name(),
            None => InitArg::Random.name(),
        },
        other => other.name(),
    }
}

/// Writes model.json and/or model.npz, returning their names.
fn write_model(
    staged: &mut Staged,
    saved: &SavedModel,
    format: ModelFormat,
) -> Result<Vec<String>, CliError> {
    let mut names = Vec::new();
    if matches!(format, ModelFormat::Json | ModelFormat::Both) {
        let mut text = saved.to_json();
        text.push('\n');
        staged.add("model.json", text.as_bytes())?;
        names.push("model.json".to_string());
    }
    if matches!(format, ModelFormat::Npz | ModelFormat::Both) {
        let mut buf = std::io::Cursor::new(Vec::new());
        saved.write_npz(&mut buf).map_err(|e| {
            CliError::data(format!(
                "cannot write '{}': {e}",
                staged.dir().join("model.npz").display()
            ))
        })?;
        staged.add("model.npz", buf.get_ref())?;
        names.push("model.npz".to_string());
    }
    Ok(names)
}

#[allow(clippy::too_many_arguments)]
fn summary(
    command: &str,
    input: serde_json::Value,
    s: &Settings,
    (rows, cols): (usize, usize),
    f: &Fitted,
    read_seconds: f64,
    total: Duration,
    outputs: &[String],
) -> String {
    let p = &s.params;
    let penalty = p.penalty(rows, cols);
    let json = serde_json::json!({
        "command": command,
        "input": input,
        "shapes": {
            "V": [rows, cols],
            "W": [f.w.rows, f.w.cols],
            "H": [f.h.rows, f.h.cols],
        },
        "backend": s.backend.name(),
        "threads": f.threads,
        "scalar": match s.dtype { DtypeArg::F32 => "f32", DtypeArg::F64 => "f64" },
        "parameters": {
            "rank": p.rank(),
            "loss": loss_name(p.loss()),
            "beta": p.loss().beta_value(),
            "solver": p.effective_solver().to_string(),
            "alpha_w": s.alpha_w,
            "alpha_h": s.alpha_h,
            "l1_ratio": s.l1_ratio,
            "penalty": {
                "l1_w": penalty.l1_w,
                "l2_w": penalty.l2_w,
                "l1_h": penalty.l1_h,
                "l2_h": penalty.l2_h,
            },
            "n_init": p.n_init(),
            "parallel_restarts": s.parallel_restarts,
            "max_iter": p.max_iter(),
            "tol": p.tol(),
            "check_every": p.check_every(),
            "seed": p.seed(),
            "init": match &s.init {
                None => serde_json::json!(s.init_arg.name()),
                Some((w0, h0)) => serde_json::json!({
                    "w0": w0.display().to_string(),
                    "h0": h0.display().to_string(),
                }),
            },
            "init_used": init_used(s, (rows, cols)),
            "eps": f.eps,
            "eps_given": p.eps().is_some(),
        },
        "iterations": f.n_iter,
        "converged": f.converged,
        "final_loss": f.history.last().map(|r| r.loss),
        "loss_includes_penalty": !penalty.is_zero(),
        "loss_history": f.history.iter().map(|r| serde_json::json!({
            "iteration": r.iteration,
            "loss": r.loss,
        })).collect::<Vec<_>>(),
        "wall_time_seconds": {
            "read": read_seconds,
            "fit": f.seconds,
            "total": total.as_secs_f64(),
        },
        "outputs": outputs,
    });
    let mut text = serde_json::to_string_pretty(&json).unwrap_or_else(|_| "{}".into());
    text.push('\n');
    text
}

fn describe_run(f: &Fitted, s: &Settings) -> String {
    let loss = f.history.last().map_or(f64::NAN, |r| r.loss);
    let what = if s.alpha_w == 0.0 && s.alpha_h == 0.0 {
        format!("{} loss", loss_label(s.params.loss()))
    } else {
        format!("{} loss + regularisation", loss_label(s.params.loss()))
    };
    let restarts = if s.restart_threads > 0 {
        let threads = s.restart_threads;
        format!(
            " (best of {} restarts, on {threads} thread{})",
            s.params.n_init(),
            if threads == 1 { "" } else { "s" }
        )
    } else if s.params.n_init() > 1 {
        format!(" (best of {} restarts)", s.params.n_init())
    } else {
        String::new()
    };
    if f.converged {
        format!(
            "converged after {} iterations{restarts} in {:.2} s: {what} {loss:.6e}",
            f.n_iter, f.seconds,
        )
    } else {
        format!(
            "ran {} iterations (--max-iter){restarts} in {:.2} s: {what} {loss:.6e}",
            f.n_iter, f.seconds,
        )
    }
}

fn print_settings(s: &Settings, (rows, cols): (usize, usize), what: &str) -> Result<(), CliError> {
    if s.verbosity == Verbosity::Verbose {
        let p = &s.params;
        console::err(&format!(
            "{what}: V is {}×{}; rank {}, loss {}, backend {}, {}, max-iter {}, tol {}, check-every {}, seed {}, init {}, n-init {}, parallel-restarts {}, alpha-w {}, alpha-h {}, l1-ratio {}",
            rows,
            cols,
            p.rank(),
            loss_label(p.loss()),
            s.backend.name(),
            match s.dtype {
                DtypeArg::F32 => "f32",
                DtypeArg::F64 => "f64",
            },
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

/// `nmf fit`.
///
/// # Errors
/// Every problem as a one-line [`CliError`].
pub fn fit(args: &FitArgs) -> Result<(), CliError> {
    let total = Instant::now();
    let s = settings(
        args.rank,
        &args.opts,
        LossArg::Frobenius,
        200,
        1e-4,
        FIT_OUT,
    )?;
    check_out(&s.out, write::Command::Fit, false)?;
    let csv_opts = ReadOptions {
        delimiter: args.delimiter,
        header: args.header,
        max_bytes: args.max_input_bytes,
        cancel: Some(&INTERRUPTED),
    };
    let (v, format) = read_input(&args.input, args.format, csv_opts, args.dense)?;
    let v_source = args.input.display().to_string();
    let init = read_init(&s, v.shape(), &v_source, csv_opts)?;
    let topic_files = match &args.vocab {
        None => None,
        Some(path) => {
            let terms = read_lines(path, v.shape().1, "columns", &csv_opts)?;
            let labels = match &args.doc_labels {
                None => None,
                Some(p) => Some(read_lines(p, v.shape().0, "rows", &csv_opts)?),
            };
            Some((terms, labels))
        }
    };
    let read_seconds = total.elapsed().as_secs_f64();
    check_interrupt("while reading")?;
    print_settings(&s, v.shape(), &v_source)?;
    let (w0s, h0s) = s
        .init
        .as_ref()
        .map_or((String::new(), String::new()), |(a, b)| {
            (a.display().to_string(), b.display().to_string())
        });
    let sources = Sources {
        v: &v_source,
        w0: &w0s,
        h0: &h0s,
    };
    let f = dispatch(&s, &v, init.as_ref().map(|(a, b)| (a, b)), &sources)?;

    let mut staged = Staged::new(&s.out, write::Command::Fit, false)?;
    let mut outputs = write_factors(&mut staged, &f, s.dtype, s.csv)?;
    outputs.extend(write_model(&mut staged, &f.saved, s.model_format)?);
    let topics_text = match &topic_files {
        None => None,
        Some((terms, labels)) => {
            let k = s.params.rank();
            let topics = crate::topics::top_terms(&f.w.data, &f.h.data, k, terms, args.top_terms);
            let docs = labels
                .as_ref()
                .map(|l| crate::topics::dominant(&f.w.data, &f.h.data, k, Some(l)));
            let json = crate::topics::topics_json(&topics, docs.as_deref());
            let mut text = serde_json::to_string_pretty(&json).unwrap_or_else(|_| "{}".into());
            text.push('\n');
            staged.add("topics.json", text.as_bytes())?;
            outputs.push("topics.json".into());
            Some(crate::topics::format_topics(&topics))
        }
    };
    outputs.push("summary.json".into());
    let input = serde_json::json!({
        "path": v_source,
        "format": format.name(),
        "storage": v.storage(),
        "nnz": v.nnz(),
    });
    let text = summary(
        "fit",
        input,
        &s,
        v.shape(),
        &f,
        read_seconds,
        total.elapsed(),
        &outputs,
    );
    staged.add("summary.json", text.as_bytes())?;
    let paths = staged.commit()?;
    if s.verbosity != Verbosity::Quiet {
        console::out(&describe_run(&f, &s))?;
        if let Some(text) = &topics_text {
            console::out(text.trim_end())?;
        }
        for p in &paths {
            console::out(&format!("wrote {}", shape_note(p, &f)))?;
        }
    }
    Ok(())
}

/// The lines of a text file (optionally gzipped), for --vocab and --doc-labels: exactly `n`
/// of them.
fn read_lines(
    path: &Path,
    n: usize,
    what: &str,
    opts: &ReadOptions,
) -> Result<Vec<String>, CliError> {
    let gunzip = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("gz"));
    let bytes = read_file(path, "read", gunzip, opts)?;
    let source = path.display().to_string();
    let text = std::str::from_utf8(&bytes).map_err(|e| {
        CliError::data(format!(
            "{source}: not UTF-8 text (byte {})",
            e.valid_up_to()
        ))
    })?;
    crate::topics::parse_terms(text, &source, n, what)
}

fn shape_note(p: &Path, f: &Fitted) -> String {
    let name = p.file_stem().and_then(|s| s.to_str()).unwrap_or("");
    match name {
        "W" => format!("{} ({}×{})", p.display(), f.w.rows, f.w.cols),
        "H" => format!("{} ({}×{})", p.display(), f.h.rows, f.h.cols),
        "model" => format!("{} (for nmf transform --model)", p.display()),
        _ => p.display().to_string(),
    }
}

/// The model file behind `--model`: the file itself, or in a directory its model.json (else
/// model.npz).
fn model_file(path: &Path) -> Result<PathBuf, CliError> {
    if !path.is_dir() {
        return Ok(path.to_path_buf());
    }
    for name in ["model.json", "model.npz"] {
        let p = path.join(name);
        if p.exists() {
            return Ok(p);
        }
    }
    Err(CliError::data(format!(
        "{}: no model.json or model.npz in this directory; `nmf fit … --out {}` writes one",
        path.display(),
        path.display()
    )))
}

/// Reads a saved model (JSON, or .npz by its extension or its zip signature).
fn load_model(path: &Path, opts: &ReadOptions) -> Result<(SavedModel, String), CliError> {
    let file = model_file(path)?;
    let src = file.display().to_string();
    let bytes = read_file(&file, "read the model", false, opts)?;
    let npz = file
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("npz"))
        || bytes.starts_with(b"PK\x03\x04");
    let saved = if npz {
        SavedModel::read_npz_with_limit(std::io::Cursor::new(bytes), opts.max_bytes)
    } else {
        let text = std::str::from_utf8(&bytes).map_err(|_| {
            CliError::data(format!(
                "{src}: not a saved model (neither JSON text nor a .npz zip)"
            ))
        })?;
        SavedModel::from_json(text)
    }
    .map_err(|e| CliError::data(format!("{src}: {e}")))?;
    Ok((saved, src))
}

/// What `nmf transform` found.
struct Transformed {
    w_shape: (usize, usize),
    h: Matrix,
    loss: Loss,
    final_loss: f64,
    eps: f64,
    seconds: f64,
    threads: usize,
}

#[allow(clippy::too_many_arguments)]
fn transform_on<T: Scalar, B: DenseBackend<T>>(
    b: &B,
    threads: usize,
    saved: &SavedModel,
    model_src: &str,
    x: &Matrix,
    x_src: &str,
    params: &TransformParams,
    reporter: &mut Reporter,
) -> Result<Transformed, CliError> {
    let model = saved
        .into_model::<T, B>(b)
        .map_err(|e| CliError::data(format!("{model_src}: {e}")))?;
    let (m, k) = b.shape(model.w());
    if x.rows != m {
        return Err(CliError::data(format!(
            "{x_src}: X is {}×{}, but the model in {model_src} has W of {m}×{k}: X needs {m} rows, \
             as the training data had (its columns are the samples; transpose it if they are \
             its rows)",
            x.rows, x.cols
        )));
    }
    let sources = Sources {
        v: x_src,
        w0: model_src,
        h0: model_src,
    };
    let lib = |e: NmfError| fit_error(e, &sources);
    let xm = b
        .from_row_major(x.rows, x.cols, &to_scalar::<T>(x, x_src)?)
        .map_err(lib)?;
    let start = Instant::now();
    let observer = |p: &Progress| {
        if !reporter.update(p) || INTERRUPTED.load(Ordering::SeqCst) {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    };
    let result = model
        .transforming(b, &xm)
        .params(*params)
        .observer(observer)
        .run();
    reporter.finish();
    if let Some(e) = reporter.take_failure() {
        return Err(e);
    }
    let h = result.map_err(lib)?;
    let seconds = start.elapsed().as_secs_f64();
    let final_loss = nmf_core::MuSolver::new(
        b,
        &xm,
        model.w().clone(),
        h.clone(),
        model.loss(),
        model.eps(),
    )
    .map_or(f64::NAN, |mut solver| solver.loss());
    let (r, c) = b.shape(&h);
    Ok(Transformed {
        w_shape: (m, k),
        h: Matrix::new(
            r,
            c,
            b.to_row_major(&h).into_iter().map(T::as_f64).collect(),
        ),
        loss: model.loss(),
        final_loss,
        eps: model.eps().as_f64(),
        seconds,
        threads,
    })
}

#[allow(clippy::too_many_arguments)]
fn transform_with<B: DenseBackend<f32> + DenseBackend<f64>>(
    b: &B,
    threads: usize,
    dtype: DtypeArg,
    saved: &SavedModel,
    model_src: &str,
    x: &Matrix,
    x_src: &str,
    params: &TransformParams,
    reporter: &mut Reporter,
) -> Result<Transformed, CliError> {
    match dtype {
        DtypeArg::F32 => {
            transform_on::<f32, B>(b, threads, saved, model_src, x, x_src, params, reporter)
        }
        DtypeArg::F64 => {
            transform_on::<f64, B>(b, threads, saved, model_src, x, x_src, params, reporter)
        }
    }
}

/// `nmf transform`.
///
/// # Errors
/// Every problem as a one-line [`CliError`].
pub fn transform(args: &TransformArgs) -> Result<(), CliError> {
    let total = Instant::now();
    if args.max_iter == 0 {
        return Err(CliError::usage("--max-iter must be at least 1"));
    }
    if args.check_every == 0 {
        return Err(CliError::usage("--check-every must be at least 1"));
    }
    if !(args.tol.is_finite() && args.tol >= 0.0) {
        return Err(CliError::usage(format!(
            "--tol must be finite and ≥ 0, got {}",
            args.tol
        )));
    }
    let verbosity = Verbosity::from_flags(args.quiet, args.verbose);
    warn_threads(args.threads, args.backend, verbosity)?;
    check_out(&args.out, write::Command::Transform, args.force)?;
    let csv_opts = ReadOptions {
        delimiter: args.delimiter,
        header: args.header,
        max_bytes: args.max_input_bytes,
        cancel: Some(&INTERRUPTED),
    };
    let (saved, model_src) = load_model(&args.model, &csv_opts)?;
    let (x, format) = read_matrix(&args.input, args.format, csv_opts)?;
    let x_src = args.input.display().to_string();
    let read_seconds = total.elapsed().as_secs_f64();
    check_interrupt("while reading")?;
    let dtype = args.dtype.unwrap_or(if saved.scalar == "f32" {
        DtypeArg::F32
    } else {
        DtypeArg::F64
    });
    let dtype_name = match dtype {
        DtypeArg::F32 => "f32",
        DtypeArg::F64 => "f64",
    };
    let params = TransformParams::default()
        .max_iter(args.max_iter)
        .tol(args.tol)
        .check_every(args.check_every);
    if verbosity == Verbosity::Verbose {
        console::err(&format!(
            "{x_src}: X is {}×{}; model {model_src} (W {}×{}, loss {}), backend {}, {dtype_name}, max-iter {}, tol {}, check-every {}",
            x.rows,
            x.cols,
            saved.rows,
            saved.rank,
            loss_label(Loss::beta(saved.beta)),
            args.backend.name(),
            args.max_iter,
            args.tol,
            args.check_every
        ))?;
    }
    let mut reporter = Reporter::new(verbosity, args.max_iter, 1, 1);
    let t = match args.backend {
        BackendArg::Faer => {
            let n = args.threads.unwrap_or(0);
            let threads = if n == 0 {
                std::thread::available_parallelism().map_or(1, |n| n.get())
            } else {
                n
            };
            let b = nmf_faer::Faer::with_threads(n);
            transform_with(
                &b,
                threads,
                dtype,
                &saved,
                &model_src,
                &x,
                &x_src,
                &params,
                &mut reporter,
            )?
        }
        BackendArg::Nalgebra => transform_with(
            &nmf_nalgebra::Nalgebra,
            1,
            dtype,
            &saved,
            &model_src,
            &x,
            &x_src,
            &params,
            &mut reporter,
        )?,
        BackendArg::Ndarray => transform_with(
            &nmf_ndarray::Ndarray,
            1,
            dtype,
            &saved,
            &model_src,
            &x,
            &x_src,
            &params,
            &mut reporter,
        )?,
    };
    check_interrupt("while transforming")?;

    let mut staged = Staged::new(&args.out, write::Command::Transform, args.force)?;
    let h = &t.h;
    let mut outputs = Vec::new();
    let (npy_bytes, csv_text) = match dtype {
        DtypeArg::F64 => (
            npy::to_npy_bytes(h.rows, h.cols, &h.data),
            csv::to_csv_string(h.rows, h.cols, &h.data),
        ),
        DtypeArg::F32 => {
            let d: Vec<f32> = h.data.iter().map(|&v| v as f32).collect();
            (
                npy::to_npy_bytes(h.rows, h.cols, &d),
                csv::to_csv_string(h.rows, h.cols, &d),
            )
        }
    };
    staged.add("H.npy", &npy_bytes)?;
    outputs.push("H.npy".to_string());
    if args.csv {
        staged.add("H.csv", csv_text.as_bytes())?;
        outputs.push("H.csv".to_string());
    }
    outputs.push("summary.json".to_string());
    let json = serde_json::json!({
        "command": "transform",
        "model": {
            "path": model_src,
            "loss": loss_name(t.loss),
            "beta": t.loss.beta_value(),
            "rank": t.w_shape.1,
            "eps": t.eps,
            "scalar": saved.scalar,
        },
        "input": { "path": x_src, "format": format.name() },
        "shapes": {
            "X": [x.rows, x.cols],
            "W": [t.w_shape.0, t.w_shape.1],
            "H": [h.rows, h.cols],
        },
        "backend": args.backend.name(),
        "threads": t.threads,
        "scalar": dtype_name,
        "parameters": {
            "max_iter": args.max_iter,
            "tol": args.tol,
            "check_every": args.check_every,
        },
        "final_loss": t.final_loss,
        "wall_time_seconds": {
            "read": read_seconds,
            "transform": t.seconds,
            "total": total.elapsed().as_secs_f64(),
        },
        "outputs": outputs,
    });
    let mut text = serde_json::to_string_pretty(&json).unwrap_or_else(|_| "{}".into());
    text.push('\n');
    staged.add("summary.json", text.as_bytes())?;
    let paths = staged.commit()?;
    if verbosity != Verbosity::Quiet {
        console::out(&format!(
            "transformed {} samples with the rank-{} model in {model_src} in {:.2} s: {} loss {:.6e}",
            x.cols,
            t.w_shape.1,
            t.seconds,
            loss_label(t.loss),
            t.final_loss
        ))?;
        for p in &paths {
            if p.file_stem().is_some_and(|s| s == "H") {
                console::out(&format!("wrote {} ({}×{})", p.display(), h.rows, h.cols))?;
            } else {
                console::out(&format!("wrote {}", p.display()))?;
            }
        }
    }
    Ok(())
}

/// Where `nmf demo` wrote its pictures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoPictures {
    /// The basis images.
    pub basis: PathBuf,
    /// Digits beside their reconstructions.
    pub reconstructions: PathBuf,
    /// The loss curve.
    pub loss: PathBuf,
}

/// `nmf demo`.
///
/// # Errors
/// Every problem as a one-line [`CliError`].
pub fn demo(args: &DemoArgs) -> Result<(), CliError> {
    let total = Instant::now();
    let s = settings(
        args.rank,
        &args.opts,
        LossArg::Kl,
        DEMO_MAX_ITER,
        0.0,
        DEMO_OUT,
    )?;
    check_out(&s.out, write::Command::Demo, false)?;
    let d = digits::load()?;
    let v = &d.pixels;
    let v_source = "the bundled digits";
    let init = read_init(&s, (v.rows, v.cols), v_source, ReadOptions::default())?;
    let read_seconds = total.elapsed().as_secs_f64();
    check_interrupt("while reading")?;
    print_settings(&s, (v.rows, v.cols), "demo")?;
    let (w0s, h0s) = s
        .init
        .as_ref()
        .map_or((String::new(), String::new()), |(a, b)| {
            (a.display().to_string(), b.display().to_string())
        });
    let sources = Sources {
        v: v_source,
        w0: &w0s,
        h0: &h0s,
    };
    let input_v = Input::Dense(v.clone());
    let f = dispatch(&s, &input_v, init.as_ref().map(|(a, b)| (a, b)), &sources)?;

    let mut staged = Staged::new(&s.out, write::Command::Demo, false)?;
    let mut outputs = write_factors(&mut staged, &f, s.dtype, s.csv)?;
    outputs.extend(write_model(&mut staged, &f.saved, s.model_format)?);
    let pics = ["basis.png", "reconstructions.png", "loss.svg"];
    let (basis, recon, loss) =
        demo_pictures(&f, &d, s.params.loss(), s.alpha_w > 0.0 || s.alpha_h > 0.0)?;
    staged.add(pics[0], &basis)?;
    staged.add(pics[1], &recon)?;
    staged.add(pics[2], loss.as_bytes())?;
    outputs.extend(pics.iter().map(|p| p.to_string()));
    outputs.push("summary.json".into());
    let input = serde_json::json!({
        "path": null,
        "format": "embedded UCI handwritten digits (64×1797 pixels by images)",
    });
    let text = summary(
        "demo",
        input,
        &s,
        (v.rows, v.cols),
        &f,
        read_seconds,
        total.elapsed(),
        &outputs,
    );
    staged.add("summary.json", text.as_bytes())?;
    staged.commit()?;
    if s.verbosity != Verbosity::Quiet {
        let dir = &s.out;
        console::out(&format!(
            "Factorized the 64×1797 matrix of handwritten digits (pixels × images) as W (64×{k}) times H ({k}×1797).",
            k = f.w.cols
        ))?;
        console::out(&describe_run(&f, &s))?;
        console::out(&format!(
            "  {}  the {} basis images (columns of W as 8×8 pictures, most used first): strokes and parts of digits",
            dir.join(pics[0]).display(),
            f.w.cols
        ))?;
        console::out(&format!(
            "  {}  20 digits (left) beside their reconstructions W·h (right), each a sum of parts",
            dir.join(pics[1]).display()
        ))?;
        console::out(&format!(
            "  {}  the loss against the iteration",
            dir.join(pics[2]).display()
        ))?;
        let data: Vec<String> = outputs
            .iter()
            .filter(|o| !pics.contains(&o.as_str()))
            .map(|o| dir.join(o).display().to_string())
            .collect();
        let what = if outputs.iter().any(|o| o.starts_with("model.")) {
            format!(
                "the factors, the model (for `nmf transform --model {}`) and the summary",
                dir.display()
            )
        } else {
            "the factors and the summary".to_string()
        };
        console::out(&format!("  {}  {what}", data.join(", ")))?;
    }
    Ok(())
}

/// The demo's three pictures: basis PNG, reconstructions PNG, loss SVG.
fn demo_pictures(
    f: &Fitted,
    d: &digits::Digits,
    loss: Loss,
    penalised: bool,
) -> Result<(Vec<u8>, Vec<u8>, String), CliError> {
    let (w, h) = (&f.w, &f.h);
    let k = w.cols;
    let side = digits::SIDE;
    let grid = picture::Grid {
        img_rows: side,
        img_cols: side,
        scale: 12,
        gap: 6,
    };
    // Basis images, ordered by their share of the reconstruction: Σ_i W_ik · Σ_j H_kj.
    let mut order: Vec<(usize, f64)> = (0..k)
        .map(|c| {
            let ws: f64 = (0..w.rows).map(|i| w.get(i, c)).sum();
            let hs: f64 = (0..h.cols).map(|j| h.get(c, j)).sum();
            (c, ws * hs)
        })
        .collect();
    order.sort_by(|a, b| b.1.total_cmp(&a.1));
    let images: Vec<Vec<f64>> = order
        .iter()
        .map(|&(c, _)| (0..w.rows).map(|i| w.get(i, c)).collect())
        .collect();
    let per_row = (k as f64).sqrt().ceil() as usize;
    let labels: Vec<String> = order.iter().map(|&(c, _)| format!("W[:,{c}]")).collect();
    let title = [
        format!(
            "{k} basis image{} (columns of W)",
            if k == 1 { "" } else { "s" }
        ),
        "most used first".to_string(),
    ];
    let basis = picture::image_grid(&images, &labels, per_row, grid, &title).to_png()?;

    // Two examples of each digit: originals beside W·H[:, j].
    let mut picked = Vec::new();
    for round in 0..2 {
        for digit in 0..10u8 {
            if let Some(j) = d
                .labels
                .iter()
                .enumerate()
                .filter(|(_, l)| **l == digit)
                .map(|(j, _)| j)
                .nth(round)
            {
                picked.push(j);
            }
        }
    }
    let v = &d.pixels;
    let pairs: Vec<(Vec<f64>, Vec<f64>)> = picked
        .iter()
        .map(|&j| {
            let orig = (0..v.rows).map(|i| v.get(i, j)).collect();
            let rec = (0..w.rows)
                .map(|i| (0..k).map(|c| w.get(i, c) * h.get(c, j)).sum())
                .collect();
            (orig, rec)
        })
        .collect();
    let title = [
        format!("{} digits beside their NMF reconstructions", pairs.len()),
        "left: original, right: W·h, a sum of basis images".to_string(),
    ];
    let recon = picture::pair_grid(&pairs, 5, 16.0, grid, &title, ("original", "W·h")).to_png()?;

    let points: Vec<(usize, f64)> = f.history.iter().map(|r| (r.iteration, r.loss)).collect();
    let (title, label) = match loss {
        Loss::KullbackLeibler => (
            "nmf demo: KL divergence D(V‖WH) of the digits".to_string(),
            "D(V‖WH)".to_string(),
        ),
        Loss::Frobenius => (
            "nmf demo: ½‖V − WH‖² of the digits".to_string(),
            "½‖V − WH‖²".to_string(),
        ),
        Loss::ItakuraSaito => (
            "nmf demo: Itakura–Saito divergence of the digits".to_string(),
            "D_IS(V‖WH)".to_string(),
        ),
        _ => (
            format!(
                "nmf demo: β-divergence (β = {}) of the digits",
                loss.beta_value()
            ),
            "D_β(V‖WH)".to_string(),
        ),
    };
    let (title, label) = if penalised {
        (
            format!("{title}, with regularisation"),
            format!("{label} + penalty"),
        )
    } else {
        (title, label)
    };
    let svg = picture::loss_svg(&points, &title, &label);
    Ok((basis, recon, svg))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn f32_range_is_checked() {
        let m = Matrix::new(1, 2, vec![1.0, 1e300]);
        let e = to_scalar::<f32>(&m, "big.csv").unwrap_err();
        assert_eq!(
            e.message,
            "big.csv: the entry 1e300 at row 0, column 1 (0-based) is beyond the range of f32; use --dtype f64 or rescale the data"
        );
        assert_eq!(to_scalar::<f64>(&m, "big.csv").unwrap(), vec![1.0, 1e300]);
    }

    #[test]
    fn progress_sums_the_restarts() {
        let p = |restart, iteration| Progress {
            iteration,
            max_iter: 10,
            loss: None,
            restart,
            n_init: 4,
        };
        // One after another: earlier restarts are over (even when they converged early).
        let mut r = Reporter::new(Verbosity::Quiet, 10, 4, 0);
        r.update(&p(0, 4));
        assert_eq!(r.done(), 4);
        r.update(&p(1, 3));
        assert_eq!(r.done(), 10 + 3);
        // Two at a time: restart 2 begins when restart 0 is over.
        let mut r = Reporter::new(Verbosity::Quiet, 10, 4, 2);
        r.update(&p(0, 5));
        r.update(&p(1, 3));
        assert_eq!(r.done(), 5 + 3);
        r.update(&p(2, 1));
        assert_eq!(r.done(), 10 + 3 + 1);
        r.update(&p(1, 10));
        r.update(&p(3, 2));
        assert_eq!(r.done(), 10 + 10 + 1 + 2);
        // One thread may run ahead: restarts 1 and 3 (thread 1) before restart 0 (thread 0)
        // reports; restart 0 is still running, and only restart 1 is over.
        let mut r = Reporter::new(Verbosity::Quiet, 10, 4, 2);
        r.update(&p(1, 10));
        r.update(&p(3, 4));
        assert_eq!(r.done(), 10 + 4);
        r.update(&p(0, 6));
        assert_eq!(r.done(), 10 + 4 + 6);
        r.update(&p(2, 1));
        assert_eq!(r.done(), 10 + 10 + 4 + 1);
    }

    #[test]
    fn durations() {
        assert_eq!(fmt_duration(1.34), "1.3 s");
        assert_eq!(fmt_duration(125.0), "2m05s");
        assert_eq!(fmt_duration(f64::INFINITY), "?");
    }

    #[test]
    fn library_errors_name_the_file() {
        let s = Sources {
            v: "v.csv",
            w0: "w0.csv",
            h0: "h0.npy",
        };
        let e = fit_error(
            NmfError::EmptyMatrix {
                matrix: MatrixRole::V,
                rows: 0,
                cols: 3,
            },
            &s,
        );
        assert_eq!(e.code, 1);
        assert!(e.message.starts_with("v.csv: V is empty (0×3)"));
        let e = fit_error(NmfError::Interrupted { iteration: 7 }, &s);
        assert_eq!(e.code, 130);
        assert_eq!(
            e.message,
            "interrupted (Ctrl-C, SIGTERM or SIGHUP) after 7 iterations; nothing was written"
        );
    }
}
