//! A fit on the chosen backend and scalar type ([`fit_input`]): the fit as a
//! [`Job`](crate::dispatch::Job), its progress and interruption, the library's errors named
//! with the files they are about, and the result in `f64` ([`Fitted`]).

use std::ops::ControlFlow;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Instant;

use nmf_core::{DataOps, LossRecord, MatrixRole, NmfError, Progress, SavedModel, Scalar};

use crate::CliError;
use crate::dispatch::{Job, dispatch, limit_threads, threads_used, to_scalar};
use crate::interrupt::{self, INTERRUPTED};
use crate::matrix::Matrix;
use crate::progress::Reporter;
use crate::read::Input;
use crate::settings::Settings;
use crate::summary::loss_label;

/// A finished fit, with the factors in `f64` (exact for both scalar types).
#[derive(Debug, Clone)]
pub(crate) struct Fitted {
    pub(crate) w: Matrix,
    pub(crate) h: Matrix,
    pub(crate) history: Vec<LossRecord>,
    pub(crate) n_iter: usize,
    pub(crate) converged: bool,
    pub(crate) eps: f64,
    pub(crate) seconds: f64,
    pub(crate) threads: usize,
    /// The model, for model.json / model.npz.
    pub(crate) saved: SavedModel,
}

/// The sources of V, W0 and H0, for messages.
pub(crate) struct Sources<'a> {
    pub(crate) v: &'a str,
    pub(crate) w0: &'a str,
    pub(crate) h0: &'a str,
}

/// A library error as the command reports it: naming the file of the matrix it is about, the
/// option it concerns, or the signal that stopped the run.
pub(crate) fn fit_error(e: NmfError, s: &Sources<'_>) -> CliError {
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

/// Fits V (`v`, dense or sparse) with the settings `s`, from the custom start `init` if
/// given, showing the progress.
pub(crate) fn fit_input(
    s: &Settings,
    v: Input,
    init: Option<(&Matrix, &Matrix)>,
    sources: &Sources<'_>,
) -> Result<Fitted, CliError> {
    let mut reporter = Reporter::new(
        s.verbosity,
        s.params.max_iter(),
        s.params.n_init(),
        s.restart_threads,
    );
    limit_threads(s.threads)?;
    let job = FitJob {
        s,
        init,
        sources,
        reporter: &mut reporter,
        threads: threads_used(s.backend),
    };
    dispatch(s.backend, s.threads, s.dtype, v, sources.v, job)
}

/// The fit as a [`Job`].
struct FitJob<'a, 'r> {
    s: &'a Settings,
    init: Option<(&'a Matrix, &'a Matrix)>,
    sources: &'a Sources<'a>,
    reporter: &'r mut Reporter,
    threads: usize,
}

impl Job for FitJob<'_, '_> {
    type Output = Fitted;

    fn run<T, B, V>(self, b: &B, vm: V) -> Result<Fitted, CliError>
    where
        T: Scalar,
        B: DataOps<T, V> + Sync,
        V: Sync,
    {
        let FitJob {
            s,
            init,
            sources,
            reporter,
            threads,
        } = self;
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
        let params = &s.params;
        let start = Instant::now();
        // Shared by the restarts' threads with --parallel-restarts (uncontended otherwise).
        let silent = reporter.is_silent();
        let shared = Mutex::new(&mut *reporter);
        // The last iteration finished, for an interruption seen by a streamed V's read in the
        // middle of the next (which cannot know the iteration).
        let done = AtomicUsize::new(0);
        let observer = |p: &Progress| {
            done.fetch_max(p.iteration, Ordering::Relaxed);
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
        let fitting = params.fitting(b, &vm);
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
        let model = result
            .map_err(|e| match e {
                NmfError::Interrupted { iteration } => NmfError::Interrupted {
                    iteration: iteration.max(done.load(Ordering::Relaxed)),
                },
                e => e,
            })
            .map_err(lib)?;
        let seconds = start.elapsed().as_secs_f64();
        // V is no longer needed: freed before the factors are copied out.
        drop(vm);
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
}

/// The line that says how the fit went.
pub(crate) fn describe_run(f: &Fitted, s: &Settings) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;

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
