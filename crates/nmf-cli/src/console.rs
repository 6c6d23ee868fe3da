//! Lines to standard output and standard error that fail with an error instead of panicking
//! (as `println!` and `eprintln!` do on a closed pipe or a full disk).
//!
//! A failed write ends the command with exit code [`EXIT_DATA`](crate::error::EXIT_DATA) (1):
//! `nmf fit … -v 2>&1 | head -1` stops the fit at its next line of progress, and nothing is
//! written. A failure after the outputs are in place (the `wrote …` lines) still exits with 1;
//! the outputs are then complete.

use std::io::Write;

use crate::CliError;

/// Writes `line` and a newline to standard output.
///
/// # Errors
/// If standard output cannot be written (a closed pipe, a full disk).
pub fn out(line: &str) -> Result<(), CliError> {
    let mut o = std::io::stdout().lock();
    writeln!(o, "{line}")
        .and_then(|()| o.flush())
        .map_err(|e| stream_error("standard output", &e))
}

/// Writes `line` and a newline to standard error.
///
/// # Errors
/// If standard error cannot be written (a closed pipe, a full disk).
pub fn err(line: &str) -> Result<(), CliError> {
    let mut o = std::io::stderr().lock();
    writeln!(o, "{line}")
        .and_then(|()| o.flush())
        .map_err(|e| stream_error("standard error", &e))
}

/// The error of a stream that cannot be written.
pub fn stream_error(which: &str, e: &std::io::Error) -> CliError {
    CliError::data(format!("cannot write to {which}: {e}"))
}
