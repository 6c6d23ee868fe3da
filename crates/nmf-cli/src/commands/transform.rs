//! `nmf transform`: load a saved model, find H for new data X (dense, or sparse for a Matrix
//! Market coordinate or SciPy `.npz` file) with W fixed, and write H and summary.json.

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::time::Instant;

use nmf_core::{DataOps, Loss, NmfError, Progress, SavedModel, Scalar, TransformParams};

use crate::cli::{DtypeArg, TransformArgs};
use crate::dispatch::{Job, dispatch, threads_used};
use crate::fitting::{Sources, fit_error};
use crate::interrupt::{INTERRUPTED, check as check_interrupt};
use crate::matrix::Matrix;
use crate::outputs::write_matrices;
use crate::progress::Reporter;
use crate::read::{ReadOptions, read_file, read_input};
use crate::settings::{Verbosity, warn_threads};
use crate::summary::{
    InputInfo, ModelInfo, TransformParameters, TransformShapes, TransformSummary, TransformTimes,
    loss_label, loss_name, to_text,
};
use crate::write::{self, Staged, check_out};
use crate::{CliError, console};

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
pub(crate) fn load_model(
    path: &Path,
    opts: &ReadOptions,
) -> Result<(SavedModel, String), CliError> {
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
}

/// The transform as a [`Job`]: X dense or sparse, on any backend and scalar type.
struct TransformJob<'a> {
    saved: &'a SavedModel,
    model_src: &'a str,
    x_src: &'a str,
    params: TransformParams,
    reporter: &'a mut Reporter,
}

impl Job for TransformJob<'_> {
    type Output = Transformed;

    fn run<T, B, V>(self, b: &B, xm: V) -> Result<Transformed, CliError>
    where
        T: Scalar,
        B: DataOps<T, V> + Sync,
        V: Sync,
    {
        let TransformJob {
            saved,
            model_src,
            x_src,
            params,
            reporter,
        } = self;
        let model = saved
            .into_model::<T, B>(b)
            .map_err(|e| CliError::data(format!("{model_src}: {e}")))?;
        let (m, k) = b.shape(model.w());
        let (rows, cols) = b.data_shape(&xm);
        if rows != m {
            return Err(CliError::data(format!(
                "{x_src}: X is {rows}×{cols}, but the model in {model_src} has W of {m}×{k}: X \
                 needs {m} rows, as the training data had (its columns are the samples; \
                 transpose it if they are its rows)"
            )));
        }
        let sources = Sources {
            v: x_src,
            w0: model_src,
            h0: model_src,
        };
        let lib = |e: NmfError| fit_error(e, &sources);
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
            .params(params)
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
        // X is no longer needed: freed before H is copied out.
        drop(xm);
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
        })
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
        nan_missing: false,
    };
    let (saved, model_src) = load_model(&args.model, &csv_opts)?;
    let (x, format) = read_input(&args.input, args.format, csv_opts, args.dense)?;
    let x_src = args.input.display().to_string();
    let (x_rows, x_cols) = x.shape();
    let input = InputInfo {
        format: format.name().to_string(),
        nnz: Some(x.nnz()),
        path: Some(x_src.clone()),
        storage: Some(x.storage()),
    };
    let read_seconds = total.elapsed().as_secs_f64();
    check_interrupt("while reading")?;
    let dtype = args.dtype.unwrap_or(if saved.scalar == "f32" {
        DtypeArg::F32
    } else {
        DtypeArg::F64
    });
    let params = TransformParams::default()
        .max_iter(args.max_iter)
        .tol(args.tol)
        .check_every(args.check_every);
    if verbosity == Verbosity::Verbose {
        console::err(&format!(
            "{x_src}: X is {x_rows}×{x_cols}; model {model_src} (W {}×{}, loss {}), backend {}, {}, max-iter {}, tol {}, check-every {}; X {}, {} stored entries",
            saved.rows,
            saved.rank,
            loss_label(Loss::beta(saved.beta)),
            args.backend.name(),
            dtype.name(),
            args.max_iter,
            args.tol,
            args.check_every,
            x.storage(),
            x.nnz()
        ))?;
    }
    let mut reporter = Reporter::new(verbosity, args.max_iter, 1, 1);
    let job = TransformJob {
        saved: &saved,
        model_src: &model_src,
        x_src: &x_src,
        params,
        reporter: &mut reporter,
    };
    let t = dispatch(args.backend, args.threads, dtype, x, &x_src, job)?;
    check_interrupt("while transforming")?;

    let mut staged = Staged::new(&args.out, write::Command::Transform, args.force)?;
    let h = &t.h;
    let mut outputs = write_matrices(&mut staged, &[("H", h)], dtype, args.csv)?;
    outputs.push("summary.json".to_string());
    let summary = TransformSummary {
        backend: args.backend.name(),
        command: "transform",
        final_loss: t.final_loss,
        input,
        model: ModelInfo {
            beta: t.loss.beta_value(),
            eps: t.eps,
            loss: loss_name(t.loss),
            path: model_src.clone(),
            rank: t.w_shape.1,
            scalar: saved.scalar.clone(),
        },
        outputs,
        parameters: TransformParameters {
            check_every: args.check_every,
            max_iter: args.max_iter,
            tol: args.tol,
        },
        scalar: dtype.name(),
        shapes: TransformShapes {
            h: [h.rows, h.cols],
            w: [t.w_shape.0, t.w_shape.1],
            x: [x_rows, x_cols],
        },
        threads: threads_used(args.backend),
        wall_time_seconds: TransformTimes {
            read: read_seconds,
            total: total.elapsed().as_secs_f64(),
            transform: t.seconds,
        },
    };
    staged.add("summary.json", to_text(&summary).as_bytes())?;
    let paths = staged.commit()?;
    if verbosity != Verbosity::Quiet {
        console::out(&format!(
            "transformed {x_cols} samples with the rank-{} model in {model_src} in {:.2} s: {} loss {:.6e}",
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
