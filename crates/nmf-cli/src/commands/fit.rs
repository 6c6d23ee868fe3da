//! `nmf fit` (and `nmf topics`, a fit that must read its topics): read V dense or sparse,
//! fit, write the factors, the model, topics.json with a vocabulary, and summary.json.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use crate::cli::{FIT_OUT, FitArgs, LossArg};
use crate::fitting::{Fitted, Sources, describe_run};
use crate::interrupt::{INTERRUPTED, check as check_interrupt};
use crate::outputs::{write_matrices, write_model};
use crate::read::row_source::{FileSource, RowInput};
use crate::read::{Format, Input, ReadOptions, read_input};
use crate::settings::{Defaults, Verbosity, print_settings, read_init, settings};
use crate::summary::{FitSummary, InputInfo, to_text};
use crate::write::{self, Staged, check_out};
use crate::{CliError, console, topics};

/// The defaults of `nmf fit` (and `nmf topics`).
pub(crate) const FIT_DEFAULTS: Defaults = Defaults {
    loss: LossArg::Frobenius,
    max_iter: 200,
    tol: 1e-4,
    out: FIT_OUT,
};

/// `nmf fit`.
///
/// # Errors
/// Every problem as a one-line [`CliError`].
pub fn fit(args: &FitArgs) -> Result<(), CliError> {
    fit_as(args, "fit")
}

/// The fit of `nmf fit` and `nmf topics` (`command`, for summary.json).
pub(crate) fn fit_as(args: &FitArgs, command: &'static str) -> Result<(), CliError> {
    if let Some(batch_size) = args.batch_size {
        return super::fit_online::fit_online(args, batch_size);
    }
    let total = Instant::now();
    let s = settings(args.rank, &args.opts, &FIT_DEFAULTS)?;
    if let Some(rows) = args.out_of_core {
        check_out_of_core(args, &s, rows)?;
    }
    check_out(&s.out, write::Command::Fit, false)?;
    let csv_opts = ReadOptions {
        delimiter: args.delimiter,
        header: args.header,
        max_bytes: args.max_input_bytes,
        cancel: Some(&INTERRUPTED),
        nan_missing: args.masked.nan == crate::masked_input::Nan::Missing,
    };
    let v_source = args.input.display().to_string();
    let (v, format) = match args.out_of_core {
        // V stays in its file, re-read by blocks of rows at every pass of the fit.
        Some(block_rows) => {
            let file = FileSource::open(&args.input)?;
            let format = match file.format() {
                "npy" => Format::Npy,
                "mtx" => Format::Mtx,
                _ => Format::Npz,
            };
            (
                Input::Rows(RowInput {
                    source: Arc::new(file),
                    block_rows,
                }),
                format,
            )
        }
        None => read_input(&args.input, args.format, csv_opts, args.dense)?,
    };
    let shape = v.shape();
    let masked = crate::commands::fit_masked::prepare(
        &args.masked,
        v,
        s.params.seed(),
        &v_source,
        csv_opts,
    )?;
    let input = InputInfo {
        format: format.name().to_string(),
        nnz: Some(masked.nnz()),
        path: Some(v_source.clone()),
        storage: Some(masked.storage()),
    };
    let init = read_init(&s, shape, &v_source, csv_opts)?;
    let topic_files = match &args.vocab {
        None => None,
        Some(path) => {
            let terms = topics::read_lines(path, shape.1, "columns", &csv_opts)?;
            let labels = match &args.doc_labels {
                None => None,
                Some(p) => Some(topics::read_lines(p, shape.0, "rows", &csv_opts)?),
            };
            Some((terms, labels))
        }
    };
    let read_seconds = total.elapsed().as_secs_f64();
    check_interrupt("while reading")?;
    print_settings(&s, shape, &v_source)?;
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
    let start = init.as_ref().map(|(a, b)| (a, b));
    let (f, holdout) = masked.fit(&s, start, &sources)?;

    let mut staged = Staged::new(&s.out, write::Command::Fit, false)?;
    let mut outputs = write_matrices(&mut staged, &[("W", &f.w), ("H", &f.h)], s.dtype, s.csv)?;
    outputs.extend(write_model(&mut staged, &f.saved, s.model_format)?);
    let topics_text = match &topic_files {
        None => None,
        Some((terms, labels)) => {
            let k = s.params.rank();
            let found = topics::top_terms(&f.w.data, &f.h.data, k, terms, args.top_terms);
            let docs = labels
                .as_ref()
                .map(|l| topics::dominant(&f.w.data, &f.h.data, k, Some(l)));
            let json = topics::topics_json(&found, docs.as_deref());
            let mut text = serde_json::to_string_pretty(&json).unwrap_or_else(|_| "{}".into());
            text.push('\n');
            staged.add("topics.json", text.as_bytes())?;
            outputs.push("topics.json".into());
            Some(topics::format_topics(&found))
        }
    };
    outputs.push("summary.json".into());
    let summary = FitSummary::new(
        command,
        input,
        &s,
        shape,
        &f,
        read_seconds,
        total.elapsed(),
        &outputs,
    );
    let mut summary = summary;
    summary.holdout.clone_from(&holdout);
    staged.add("summary.json", to_text(&summary).as_bytes())?;
    let paths = staged.commit()?;
    if s.verbosity != Verbosity::Quiet {
        console::out(&describe_run(&f, &s))?;
        if let Some(h) = &holdout {
            console::out(&crate::commands::fit_masked::describe(h))?;
        }
        if let Some(text) = &topics_text {
            console::out(text.trim_end())?;
        }
        for p in &paths {
            console::out(&format!("wrote {}", shape_note(p, &f)))?;
        }
    }
    Ok(())
}

/// The options `--out-of-core ROWS` cannot take, refused before anything is read: V is
/// re-read from a `.npy` file (float32/float64, C order) at every pass of the ordinary fit,
/// which takes every other option of `nmf fit` (solvers mu and hals, every loss, penalties,
/// the stopping rule, initial factors, restarts, the model file).
///
/// # Errors
/// A usage error naming the option.
fn check_out_of_core(
    args: &FitArgs,
    s: &crate::settings::Settings,
    rows: usize,
) -> Result<(), CliError> {
    let refuse = |what: &str| Err(CliError::usage(format!("--out-of-core: {what}")));
    if rows == 0 {
        return refuse("a block needs at least 1 row");
    }
    if s.params.solver() == nmf_core::Solver::CdKl {
        return refuse(
            "--solver cd sweeps whole columns of V, which a fit that streams V by rows does not \
             hold; use --solver mu (or auto)",
        );
    }
    if args.masked.active() {
        return refuse(
            "missing values, weights and held-out entries need V in memory (--missing, \
             --weights, --holdout, --nan missing)",
        );
    }
    if args.dense {
        return refuse("V is read by row blocks as stored; --dense does not apply");
    }
    let streamed = match args.format {
        Some(f) => matches!(f, Format::Npy | Format::Mtx | Format::Npz),
        None => matches!(
            Format::from_path(&args.input),
            Some(Format::Npy | Format::Mtx | Format::Npz)
        ),
    };
    if !streamed {
        return refuse(&format!(
            "{} is streamed by row blocks from a .npy file (float32 or float64, C order), a \
             Matrix Market coordinate file sorted by row, or a SciPy csr .npz; other inputs \
             are fitted in memory (without --out-of-core)",
            args.input.display()
        ));
    }
    Ok(())
}

/// A written file with what it holds.
fn shape_note(p: &Path, f: &Fitted) -> String {
    let name = p.file_stem().and_then(|s| s.to_str()).unwrap_or("");
    match name {
        "W" => format!("{} ({}×{})", p.display(), f.w.rows, f.w.cols),
        "H" => format!("{} ({}×{})", p.display(), f.h.rows, f.h.cols),
        "model" => format!("{} (for nmf transform --model)", p.display()),
        _ => p.display().to_string(),
    }
}
