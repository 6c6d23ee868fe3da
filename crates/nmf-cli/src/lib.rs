//! # nmf-cli
//!
//! The `nmf` command: non-negative matrix factorization V ≈ WH of a matrix file in one
//! command, and a demo that needs no file at all.
//!
//! - `nmf fit INPUT --rank K`: reads CSV (comma or tab, optional header), Matrix Market
//!   (`.mtx`, coordinate or array) or NumPy (`.npy`) files, fits with the faer, nalgebra or
//!   ndarray backend in f32 or f64, and writes `W.npy`, `H.npy` (and CSV on request), the
//!   model (`model.json` and/or `model.npz`) and `summary.json` into the output directory.
//! - `nmf topics INPUT --vocab TERMS --rank K`: the fit of `nmf fit` for a document-term
//!   matrix (documents × terms; `nmf fit --vocab` does the same), which prints the top terms
//!   of each component and writes them to `topics.json`, with each document's dominant topic
//!   given `--doc-labels` (see [`topics`](mod@topics)).
//! - `nmf transform INPUT --model DIR`: loads a saved model into any backend and finds H for
//!   new data (columns are samples) with W fixed, writing `H.npy` and `summary.json`; a
//!   Matrix Market coordinate or SciPy `.npz` input stays sparse, as for `nmf fit`.
//! - `nmf demo`: factorizes the bundled UCI handwritten digits (64×1797, pixels by images)
//!   and draws the learned basis images, digits beside their reconstructions, and the loss.
//!
//! Every error is one line on stderr with a non-zero exit code ([`error::EXIT_DATA`] for a
//! file or its data, and for standard output or error that cannot be written;
//! [`error::EXIT_USAGE`] for the command line; [`error::EXIT_INTERRUPTED`] after Ctrl-C,
//! SIGTERM or SIGHUP, which stop the run at any point: see [`interrupt`]). No message
//! panics on a closed pipe or a full disk ([`console`]).
//!
//! The outputs are all-or-nothing as a set ([`write`](mod@write)): they are written into a fresh
//! directory beside `--out`, which then replaces the output directory in one atomic exchange
//! (Linux `renameat2(RENAME_EXCHANGE)`), so a failed, interrupted or concurrent run never
//! leaves a partial or mixed set. A manifest (`.nmf-output.json`) lists every file of the
//! set with its size and CRC-32. nmf only replaces a directory that is new, empty or holds
//! nothing but an nmf output set, and `nmf transform` replaces the outputs of `nmf fit` only
//! with `--force`.
#![warn(missing_docs)]

pub mod cli;
pub mod commands;
pub mod console;
pub mod digits;
mod dispatch;
pub mod error;
mod fitting;
pub mod interrupt;
pub mod masked_input;
pub mod matrix;
mod outputs;
pub mod picture;
mod progress;
pub mod read;
mod settings;
mod summary;
pub mod topics;
pub mod write;

pub use settings::Verbosity;

use std::ffi::OsString;
use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

pub use error::CliError;

/// Turns a clap error into one line: its message and hints, without the usage block.
fn clap_one_line(e: &clap::Error) -> String {
    let text = e.render().to_string();
    let mut parts = Vec::new();
    let mut skip = false;
    for line in text.lines() {
        let t = line.trim();
        if t.starts_with("Usage:") {
            skip = true;
            continue;
        }
        if t.is_empty() {
            skip = false;
            continue;
        }
        if skip || t.starts_with("For more information") {
            continue;
        }
        parts.push(t.strip_prefix("error: ").unwrap_or(t).to_string());
    }
    parts.join(" ")
}

/// Runs the command with these arguments (the first is the program name) and returns the
/// exit code: parses, runs, and prints an error as one line `error: …` on stderr.
pub fn main_with_args<I, T>(args: I) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = match cli::Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            use clap::error::ErrorKind;
            return match e.kind() {
                ErrorKind::DisplayHelp
                | ErrorKind::DisplayVersion
                | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
                    let code = u8::try_from(e.exit_code()).unwrap_or(2);
                    match e.print() {
                        Ok(()) => ExitCode::from(code),
                        Err(io) => {
                            let which = if code == 0 {
                                "standard output"
                            } else {
                                "standard error"
                            };
                            report(&console::stream_error(which, &io))
                        }
                    }
                }
                _ => report(&CliError::usage(clap_one_line(&e))),
            };
        }
    };
    let result = match &cli.command {
        cli::Command::Fit(a) => commands::fit(a),
        cli::Command::Topics(a) => commands::topics(a),
        cli::Command::Transform(a) => commands::transform(a),
        cli::Command::Demo(a) => commands::demo(a),
        cli::Command::Rank(a) => commands::rank(a),
        cli::Command::Predict(a) => commands::predict(a),
    };
    interrupt::done();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => report(&e),
    }
}

/// Prints `error: …` on stderr (if it can) and returns the error's exit code.
fn report(e: &CliError) -> ExitCode {
    let _ = writeln!(std::io::stderr(), "error: {e}");
    ExitCode::from(e.code)
}
