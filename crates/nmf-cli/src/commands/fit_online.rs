//! `nmf fit --batch-size N`: the online (minibatch) fit of [`nmf_core::minibatch`] over blocks
//! of N rows read from the file by [`nmf_io`] (a `.npy` file by seeking, dense blocks; a
//! Matrix Market coordinate file sorted by row, or a SciPy csr `.npz`, sparse blocks), so that
//! V is never held whole: memory is one block of V (and its work buffers), W (m×k) and O(k·n)
//! for H and the accumulated statistics.
//!
//! The options of `nmf fit` that apply: the rank, --loss/--beta, --max-iter (epochs), --tol
//! (on the relative change of H over one batch), --eps, --seed, --alpha-w/--alpha-h/--l1-ratio
//! (scikit-learn's `MiniBatchNMF` penalties, the H penalty scaled by the rows of each batch:
//! see [`nmf_core::minibatch`]), --backend, --dtype, --threads, --out, --csv,
//! --quiet/--verbose. Not applied (a usage error if given): initial factors from files,
//! restarts, solvers other than auto/mu. Writes W.npy, H.npy
//! and summary.json (no model file: `nmf transform` needs a full fit's model).

use std::ops::Range;
use std::sync::atomic::Ordering;
use std::time::Instant;

use nmf_core::minibatch::{MiniBatchNmf, MiniBatchProgress};
use nmf_core::sparse::SparseData;
use nmf_core::streamed::{RowBlock, RowSource};
use nmf_core::{DenseBackend, NmfError, Scalar};
use nmf_io::RowFile;

use crate::cli::{BackendArg, DtypeArg, FitArgs};
use crate::commands::fit::FIT_DEFAULTS;
use crate::interrupt::{self, INTERRUPTED};
use crate::matrix::Matrix;
use crate::outputs::write_matrices;
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
    if s.init.is_some() || s.params.n_init() > 1 {
        return Err(CliError::usage(
            "--batch-size fits online: initial factors from files and --n-init are not \
             available with it",
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
    let streamed = args.input.extension().is_some_and(|e| {
        ["npy", "mtx", "npz"]
            .iter()
            .any(|x| e.eq_ignore_ascii_case(x))
    });
    if !streamed {
        return Err(CliError::usage(format!(
            "{}: --batch-size reads a .npy file (dense), or a Matrix Market .mtx or SciPy .npz \
             file (sparse), by blocks of rows; other inputs are not streamed (fit them without \
             --batch-size)",
            args.input.display()
        )));
    }
    check_out(&s.out, write::Command::Fit, false)?;
    let source = args.input.display().to_string();
    let opened = Instant::now();
    let reader = RowFile::open_cancellable(&args.input, Some(&INTERRUPTED))
        .map_err(|e| read_error(e, &source))?;
    let (m, n) = reader.shape();
    if let RowFile::Mtx(r) = &reader
        && s.verbosity != Verbosity::Quiet
    {
        let _ = console::err(&format!(
            "indexed the rows of {source} ({m}×{n}, {} entries) in {:.1} s",
            r.entries(),
            opened.elapsed().as_secs_f64()
        ));
    }
    let mut b = MiniBatchNmf::params(s.params.rank())
        .batch_size(batch_size)
        .loss(s.params.loss())
        .max_iter(s.params.max_iter())
        .tol(s.params.tol())
        .seed(s.params.seed())
        .alpha_w(s.alpha_w)
        .alpha_h(s.alpha_h)
        .l1_ratio(s.l1_ratio);
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
            &reader,
            &mut observer,
        ),
        (BackendArg::Faer, DtypeArg::F64) => run::<f64, _>(
            &nmf_faer::Faer::with_threads(s.threads.unwrap_or(0)),
            &params,
            &reader,
            &mut observer,
        ),
        (BackendArg::Nalgebra, DtypeArg::F32) => {
            run::<f32, _>(&nmf_nalgebra::Nalgebra, &params, &reader, &mut observer)
        }
        (BackendArg::Nalgebra, DtypeArg::F64) => {
            run::<f64, _>(&nmf_nalgebra::Nalgebra, &params, &reader, &mut observer)
        }
        (BackendArg::Ndarray, DtypeArg::F32) => {
            run::<f32, _>(&nmf_ndarray::Ndarray, &params, &reader, &mut observer)
        }
        (BackendArg::Ndarray, DtypeArg::F64) => {
            run::<f64, _>(&nmf_ndarray::Ndarray, &params, &reader, &mut observer)
        }
    };
    let f = fitted.map_err(|e| match e {
        NmfError::Interrupted { iteration } => CliError::interrupted(format!(
            "interrupted ({}) after {iteration} batches; nothing was written",
            interrupt::SIGNALS
        )),
        // (a penalty weight that overflows once scaled by a batch names its option)
        e @ NmfError::InvalidRegularization { .. } => {
            crate::error::option_error(&e).unwrap_or_else(|| CliError::usage(e.to_string()))
        }
        e => read_error(e, &source),
    })?;
    let mut staged = Staged::new(&s.out, write::Command::Fit, false)?;
    let mut outputs = write_matrices(&mut staged, &[("W", &f.w), ("H", &f.h)], s.dtype, s.csv)?;
    outputs.push("summary.json".into());
    let summary = serde_json::json!({
        "command": "fit",
        "mode": "online",
        "input": {
            "path": source,
            "format": reader.format(),
            "storage": if reader.is_sparse() { "sparse" } else { "dense" },
            "rows": m,
            "cols": n,
        },
        "rank": params.rank(),
        "loss": params.loss().to_string(),
        "batch_size": params.batch_size(),
        "forget_factor": params.forget_factor(),
        "alpha_w": params.alpha_w(),
        "alpha_h": params.alpha_h(),
        "l1_ratio": params.l1_ratio(),
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

/// The message of a reader's or the fit's error: the reader's [`NmfError::Io`] names its file
/// (and line) itself; other errors are prefixed with the file.
fn read_error(e: NmfError, source: &str) -> CliError {
    match e {
        NmfError::Io { .. } => CliError::data(e.to_string()),
        NmfError::Interrupted { .. } => CliError::interrupted(format!(
            "interrupted ({}) while reading {source}; nothing was written",
            interrupt::SIGNALS
        )),
        e => CliError::data(format!("{source}: {e}")),
    }
}

/// The fit on one backend and scalar type: each block of the file, checked by the reader
/// (an entry negative, not finite or beyond the range of `T` is an error naming its place),
/// dense (`.npy`) or sparse (`.mtx`, `.npz`), is given to
/// [`nmf_core::minibatch::MiniBatchValidParams::fit_batches`].
fn run<T: Scalar, B: DenseBackend<T>>(
    b: &B,
    params: &nmf_core::minibatch::MiniBatchValidParams,
    reader: &RowFile,
    observer: &mut dyn FnMut(&MiniBatchProgress) -> bool,
) -> Result<Online, NmfError> {
    let (m, n) = reader.shape();
    let model = if reader.is_sparse() {
        params.fit_batches::<T, B, SparseData<T>, _, _>(
            b,
            m,
            n,
            |r: Range<usize>| match RowSource::<T>::read_rows(reader, r)? {
                RowBlock::Sparse(c) => SparseData::from_csr(c),
                // (the sparse files give sparse blocks; a dense one is kept sparse all the same)
                RowBlock::Dense { rows, cols, data } => {
                    let (mut ri, mut ci, mut vi) = (vec![], vec![], vec![]);
                    for (p, &x) in data.iter().enumerate().filter(|(_, x)| **x != T::zero()) {
                        ri.push(p / cols);
                        ci.push(p % cols);
                        vi.push(x);
                    }
                    let dup = nmf_core::sparse::Duplicates::Sum;
                    SparseData::from_csr(nmf_core::sparse::Csr::from_triplets(
                        rows, cols, &ri, &ci, &vi, dup,
                    )?)
                }
            },
            |p| observer(p),
        )?
    } else {
        params.fit_batches(
            b,
            m,
            n,
            |r: Range<usize>| match RowSource::<T>::read_rows(reader, r)? {
                RowBlock::Dense { rows, cols, data } => b.from_row_major(rows, cols, &data),
                RowBlock::Sparse(c) => {
                    let (rows, cols) = c.shape();
                    let mut data = vec![T::zero(); rows * cols];
                    let v = c.view();
                    for i in 0..rows {
                        let (js, xs) = v.row(i);
                        for (&j, &x) in js.iter().zip(xs) {
                            data[i * cols + j] = x;
                        }
                    }
                    b.from_row_major(rows, cols, &data)
                }
            },
            |p| observer(p),
        )?
    };
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
