//! `nmf fit --batch-size N`: the online (minibatch) fit of [`nmf_core::minibatch`] over blocks
//! of N rows read from a `.npy` file by seeking ([`NpyRows`]), so that V is never held whole:
//! memory is one block of V (and its work buffers), W (m×k) and O(k·n) for H and the
//! accumulated statistics.
//!
//! The options of `nmf fit` that apply: the rank, --loss/--beta, --max-iter (epochs), --tol
//! (on the relative change of H over one batch), --eps, --seed, --backend, --dtype,
//! --threads, --out, --csv, --quiet/--verbose. Not applied (a usage error if given): initial
//! factors from files, restarts, penalties, solvers other than auto/mu. Writes W.npy, H.npy
//! and summary.json (no model file: `nmf transform` needs a full fit's model).
//!
//! Matrix Market and .npz inputs are not streamed: this mode reads `.npy` only.

use std::ops::Range;
use std::sync::atomic::Ordering;
use std::time::Instant;

use nmf_core::minibatch::{MiniBatchNmf, MiniBatchProgress};
use nmf_core::{DenseBackend, NmfError, Scalar};

use crate::cli::{BackendArg, DtypeArg, FitArgs};
use crate::commands::fit::FIT_DEFAULTS;
use crate::interrupt::{self, INTERRUPTED};
use crate::matrix::Matrix;
use crate::outputs::write_matrices;
use crate::read::npy_rows::NpyRows;
use crate::settings::{Verbosity, settings};
use crate::write::{self, Staged, check_out};
use crate::{CliError, console};

/// What the online fit returns to be written.
struct Online {
    w: Matrix,
    h: Matrix,
    epochs: usize,
    steps: usize,
    converged: bool,
    eps: f64,
}

/// `nmf fit INPUT.npy -k K --batch-size N`.
///
/// # Errors
/// Every problem as a one-line [`CliError`].
pub(crate) fn fit_online(args: &FitArgs, batch_size: usize) -> Result<(), CliError> {
    let total = Instant::now();
    let s = settings(args.rank, &args.opts, &FIT_DEFAULTS)?;
    if s.init.is_some() || s.params.n_init() > 1 || s.alpha_w != 0.0 || s.alpha_h != 0.0 {
        return Err(CliError::usage(
            "--batch-size fits online: initial factors from files, --n-init and penalties \
             are not available with it",
        ));
    }
    if !matches!(
        s.params.solver(),
        nmf_core::Solver::Auto | nmf_core::Solver::Mu
    ) {
        return Err(CliError::usage(
            "--batch-size uses the online multiplicative updates: --solver must be auto or mu",
        ));
    }
    let is_npy = args
        .input
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("npy"));
    if !is_npy {
        return Err(CliError::usage(format!(
            "{}: --batch-size reads a .npy file by row blocks; Matrix Market and .npz inputs \
             are not streamed (fit them without --batch-size)",
            args.input.display()
        )));
    }
    check_out(&s.out, write::Command::Fit, false)?;
    let source = args.input.display().to_string();
    let mut reader = NpyRows::open(&args.input, &source)?;
    let (m, n) = reader.shape();
    let mut b = MiniBatchNmf::params(s.params.rank())
        .batch_size(batch_size)
        .loss(s.params.loss())
        .max_iter(s.params.max_iter())
        .tol(s.params.tol())
        .seed(s.params.seed());
    if let Some(fb) = args.forget_factor {
        b = b.forget_factor(fb);
    }
    if let Some(eps) = s.params.eps() {
        b = b.eps(eps);
    }
    let params = b
        .check()
        .map_err(|e| CliError::usage(format!("--batch-size: {e}")))?;
    let quiet = s.verbosity == Verbosity::Quiet;
    let started = Instant::now();
    let mut last = Instant::now();
    let mut observer = |p: &MiniBatchProgress| {
        if INTERRUPTED.load(Ordering::SeqCst) {
            return false;
        }
        if !quiet && (last.elapsed().as_secs_f64() >= 1.0 || p.rows_done == p.rows) {
            last = Instant::now();
            let _ = console::err(&format!(
                "epoch {}, rows {}/{} (batch {}), smoothed batch cost {}, {:.1} s",
                p.epoch + 1,
                p.rows_done,
                p.rows,
                p.step,
                p.ewa_cost.map_or("-".to_string(), |c| format!("{c:.6e}")),
                started.elapsed().as_secs_f64()
            ));
        }
        true
    };
    let fitted = match (s.backend, s.dtype) {
        (BackendArg::Faer, DtypeArg::F32) => run::<f32, _>(
            &nmf_faer::Faer::with_threads(s.threads.unwrap_or(0)),
            &params,
            &mut reader,
            &mut observer,
        ),
        (BackendArg::Faer, DtypeArg::F64) => run::<f64, _>(
            &nmf_faer::Faer::with_threads(s.threads.unwrap_or(0)),
            &params,
            &mut reader,
            &mut observer,
        ),
        (BackendArg::Nalgebra, DtypeArg::F32) => {
            run::<f32, _>(&nmf_nalgebra::Nalgebra, &params, &mut reader, &mut observer)
        }
        (BackendArg::Nalgebra, DtypeArg::F64) => {
            run::<f64, _>(&nmf_nalgebra::Nalgebra, &params, &mut reader, &mut observer)
        }
        (BackendArg::Ndarray, DtypeArg::F32) => {
            run::<f32, _>(&nmf_ndarray::Ndarray, &params, &mut reader, &mut observer)
        }
        (BackendArg::Ndarray, DtypeArg::F64) => {
            run::<f64, _>(&nmf_ndarray::Ndarray, &params, &mut reader, &mut observer)
        }
    };
    let f = fitted.map_err(|e| match e {
        Failure::Cli(e) => e,
        Failure::Nmf(NmfError::Interrupted { iteration }) => CliError::interrupted(format!(
            "interrupted ({}) after {iteration} batches; nothing was written",
            interrupt::SIGNALS
        )),
        Failure::Nmf(e) => CliError::data(format!("{source}: {e}")),
    })?;
    let mut staged = Staged::new(&s.out, write::Command::Fit, false)?;
    let mut outputs = write_matrices(&mut staged, &[("W", &f.w), ("H", &f.h)], s.dtype, s.csv)?;
    outputs.push("summary.json".into());
    let summary = serde_json::json!({
        "command": "fit",
        "mode": "online",
        "input": { "path": source, "format": "npy", "rows": m, "cols": n },
        "rank": params.rank(),
        "loss": params.loss().to_string(),
        "batch_size": params.batch_size(),
        "forget_factor": params.forget_factor(),
        "max_iter": params.max_iter(),
        "tol": params.tol(),
        "eps": f.eps,
        "epochs": f.epochs,
        "batches": f.steps,
        "converged": f.converged,
        "seconds": total.elapsed().as_secs_f64(),
        "outputs": outputs,
    });
    let mut text = serde_json::to_string_pretty(&summary).unwrap_or_else(|_| "{}".into());
    text.push('\n');
    staged.add("summary.json", text.as_bytes())?;
    let paths = staged.commit()?;
    if !quiet {
        console::out(&format!(
            "online fit of {m}×{n} at rank {} in batches of {}: {} epochs, {} batches, {}",
            params.rank(),
            params.batch_size(),
            f.epochs,
            f.steps,
            if f.converged {
                "converged"
            } else {
                "stopped at --max-iter"
            }
        ))?;
        for p in &paths {
            console::out(&format!("wrote {}", p.display()))?;
        }
    }
    Ok(())
}

enum Failure {
    Cli(CliError),
    Nmf(NmfError),
}

/// The fit on one backend and scalar type: each block is read from the file, converted to
/// `T` (an entry beyond its range, negative or not finite is an error naming its row and
/// column in the file) and given to [`nmf_core::minibatch::MiniBatchValidParams::fit_batches`].
fn run<T: Scalar, B: DenseBackend<T>>(
    b: &B,
    params: &nmf_core::minibatch::MiniBatchValidParams,
    reader: &mut NpyRows,
    observer: &mut dyn FnMut(&MiniBatchProgress) -> bool,
) -> Result<Online, Failure> {
    let (m, n) = reader.shape();
    let mut buf: Vec<T> = Vec::new();
    let mut read_error = None;
    let result = params.fit_batches(
        b,
        m,
        n,
        |r: Range<usize>| {
            let rows = r.len();
            if let Err(e) = reader.read_block(r, &mut buf, |x, i, j| {
                let y = T::from_f64(x);
                if y.is_finite() {
                    Ok(y)
                } else {
                    Err(CliError::data(format!(
                        "the entry {x} at row {i}, column {j} (0-based) is beyond the range of {} \
                         (use --dtype f64)",
                        T::NAME
                    )))
                }
            }) {
                read_error = Some(e);
                return Err(NmfError::Interrupted { iteration: 0 });
            }
            b.from_row_major(rows, n, &buf)
        },
        |p| observer(p),
    );
    if let Some(e) = read_error {
        return Err(Failure::Cli(e));
    }
    let model = result.map_err(Failure::Nmf)?;
    let to = |a: &B::Mat| {
        let (r, c) = b.shape(a);
        Matrix::new(
            r,
            c,
            b.to_row_major(a).into_iter().map(Scalar::as_f64).collect(),
        )
    };
    Ok(Online {
        w: to(model.w()),
        h: to(model.h()),
        epochs: model.epochs(),
        steps: model.steps(),
        converged: model.converged(),
        eps: model.eps().as_f64(),
    })
}
