//! The error of the command: one line of text and an exit code.

use std::fmt;
use std::path::Path;

/// Exit code of a problem with a file, its data, or the fit.
pub const EXIT_DATA: u8 = 1;
/// Exit code of a bad command line (unknown option value, missing option, bad parameter).
pub const EXIT_USAGE: u8 = 2;
/// Exit code after Ctrl-C (128 + SIGINT, as shells report it).
pub const EXIT_INTERRUPTED: u8 = 130;

/// Everything that stops the command: a one-line message (printed as `error: {message}`) and
/// the process exit code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CliError {
    /// The message, one line, without the `error: ` prefix.
    pub message: String,
    /// The exit code: [`EXIT_DATA`], [`EXIT_USAGE`] or [`EXIT_INTERRUPTED`].
    pub code: u8,
}

impl CliError {
    /// A problem with a file, its data, or the fit (exit code 1).
    pub fn data(message: impl Into<String>) -> Self {
        Self {
            message: one_line(message.into()),
            code: EXIT_DATA,
        }
    }
    /// A bad command line (exit code 2).
    pub fn usage(message: impl Into<String>) -> Self {
        Self {
            message: one_line(message.into()),
            code: EXIT_USAGE,
        }
    }
    /// Ctrl-C (exit code 130).
    pub fn interrupted(message: impl Into<String>) -> Self {
        Self {
            message: one_line(message.into()),
            code: EXIT_INTERRUPTED,
        }
    }
    /// A file that cannot be read or written, with the system's reason.
    pub fn io(what: &str, path: &Path, err: &std::io::Error) -> Self {
        Self::data(format!("cannot {what} '{}': {err}", path.display()))
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CliError {}

/// Joins the lines of a message so that every error is one line on stderr.
fn one_line(s: String) -> String {
    if s.contains('\n') {
        s.lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect::<Vec<_>>()
            .join(" ")
    } else {
        s
    }
}
