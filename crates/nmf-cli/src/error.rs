//! The error of the command: one line of text and an exit code.

use std::fmt;
use std::path::Path;

use nmf_core::NmfError;

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

/// The command-line option behind a parameter that the library rejected, if any:
/// `-k/--rank`, `--eps`, `--alpha-w`…
pub fn option_of(e: &NmfError) -> Option<&'static str> {
    Some(match e {
        NmfError::ZeroRank
        | NmfError::RankTooLargeForSvdInit { .. }
        | NmfError::RankTooLarge { .. } => "-k/--rank",
        NmfError::ZeroMaxIter => "--max-iter",
        NmfError::ZeroCheckEvery => "--check-every",
        NmfError::ZeroNInit => "--n-init",
        NmfError::InvalidTol(_) => "--tol",
        NmfError::InvalidEps(_) | NmfError::EpsOutOfRange { .. } => "--eps",
        NmfError::InvalidBeta(_) | NmfError::BetaOutOfRange { .. } => "--beta",
        // The library names its parameters in the reason (alpha_W, alpha_H, l1_ratio); the
        // penalty weights it derives from them (scaled by n and m) are --alpha-w and --alpha-h.
        NmfError::InvalidRegularization { reason } => {
            if reason.contains("l1_ratio") {
                "--l1-ratio"
            } else if reason.contains("alpha_H") && !reason.contains("alpha_W") {
                "--alpha-h"
            } else {
                "--alpha-w/--alpha-h"
            }
        }
        _ => return None,
    })
}

/// A parameter error of the library as a usage error (exit code 2) that names the option,
/// or `None` for an error that is not about a parameter. The library's name of the
/// parameter (`eps`, `max_iter`, `l1_ratio`…) at the start of its message becomes the
/// option's (`--eps must be finite and > 0, got 0`); other messages are prefixed with it.
///
/// ```
/// use nmf_core::NmfError;
/// use nmf_cli::error::option_error;
/// let e = option_error(&NmfError::InvalidTol(-1.0)).unwrap();
/// assert_eq!(e.message, "--tol must be finite and ≥ 0, got -1");
/// assert!(option_error(&NmfError::ZeroRank).unwrap().message.starts_with("-k/--rank "));
/// ```
pub fn option_error(e: &NmfError) -> Option<CliError> {
    let option = option_of(e)?;
    let text = match e {
        NmfError::InvalidRegularization { reason } => match reason.split_once(", got Penalty") {
            // The weights derived from the options (a debug dump of them is no help).
            Some((head, _)) => format!(
                "{head}: they are n·α_W·ρ, n·α_W·(1−ρ), m·α_H·ρ and m·α_H·(1−ρ), n and m the \
                 columns and rows of V; use smaller values"
            ),
            None => reason.clone(),
        },
        _ => e.to_string(),
    };
    let names = [
        "the rank ",
        "max_iter ",
        "check_every ",
        "n_init ",
        "tol ",
        "eps ",
        "beta ",
        "alpha_W and alpha_H ",
        "l1_ratio ",
    ];
    let mut message = match names.iter().find_map(|n| text.strip_prefix(n)) {
        Some(rest) => format!("{option} {rest}"),
        None => format!("{option}: {text}"),
    };
    if *e == NmfError::InvalidEps(0.0) {
        // (a positive --eps is refused as 0 only once converted to the scalar type)
        message.push_str(
            " (--eps is below the smallest positive number of --dtype and rounds to 0 there: \
             use a larger value)",
        );
    }
    Some(CliError::usage(message))
}

/// The most characters of a piece of the input (a cell, a token) that a message shows.
pub const EXCERPT_CHARS: usize = 40;

/// A piece of the input as a message shows it: control characters (and other characters
/// that are not printable, such as the escape of terminal sequences) escaped as Rust does
/// (`\n`, `\u{1b}`), and cut after [`EXCERPT_CHARS`] characters with `…` and the full length,
/// so that neither terminal codes nor megabytes of a bad field reach the terminal.
///
/// ```
/// use nmf_cli::error::excerpt;
/// assert_eq!(excerpt("x\u{1b}[31m"), "x\\u{1b}[31m");
/// assert_eq!(excerpt(&"9".repeat(100)), format!("{}… (100 characters)", "9".repeat(40)));
/// ```
pub fn excerpt(s: &str) -> String {
    excerpt_with(s, EXCERPT_CHARS)
}

/// [`excerpt`] with another length: at most `max_chars` characters shown.
pub fn excerpt_with(s: &str, max_chars: usize) -> String {
    let mut out = String::new();
    let mut chars = s.chars();
    for (shown, c) in chars.by_ref().enumerate() {
        if shown == max_chars {
            let total = shown + 1 + chars.count();
            out.push_str(&format!("… ({total} characters)"));
            return out;
        }
        // Quotes and backslashes are kept as they are: only what a terminal would act on or
        // not show (control and format characters) is escaped.
        match c {
            '\\' | '"' | '\'' => out.push(c),
            _ => out.extend(c.escape_debug()),
        }
    }
    out
}

/// A number of bytes for messages: `7.2 GB (7200000000 bytes)`, or `512 bytes`.
pub fn fmt_bytes(n: u64) -> String {
    if n < 10_000 {
        return format!("{n} bytes");
    }
    let (value, unit) = [(1e12, "TB"), (1e9, "GB"), (1e6, "MB"), (1e3, "kB")]
        .into_iter()
        .find(|&(u, _)| n as f64 >= u)
        .map_or((n as f64, ""), |(u, name)| (n as f64 / u, name));
    format!("{value:.1} {unit} ({n} bytes)")
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn library_errors_name_the_option() {
        let m = |e: NmfError| option_error(&e).map(|c| (c.message, c.code));
        assert_eq!(
            m(NmfError::ZeroRank),
            Some(("-k/--rank must be at least 1".to_string(), EXIT_USAGE))
        );
        assert_eq!(
            m(NmfError::ZeroMaxIter).unwrap().0,
            "--max-iter must be at least 1"
        );
        assert_eq!(
            m(NmfError::InvalidBeta(f64::NAN)).unwrap().0,
            "--beta must be a finite number, got NaN"
        );
        assert_eq!(
            m(NmfError::InvalidEps(0.0)).unwrap().0,
            "--eps must be finite and > 0, got 0 (--eps is below the smallest positive number \
             of --dtype and rounds to 0 there: use a larger value)"
        );
        // The range errors of the library, found once V is known, name their option too.
        let e = m(NmfError::EpsOutOfRange {
            eps: 1e-50,
            min: 1e-12,
            max: 1e3,
            scalar: "f32",
        })
        .unwrap();
        assert!(
            e.0.starts_with("--eps = 1e-50 is too small for a fit in f32"),
            "{}",
            e.0
        );
        assert_eq!(e.1, EXIT_USAGE);
        let e = m(NmfError::BetaOutOfRange {
            beta: 1e308,
            max: 100.0,
        })
        .unwrap()
        .0;
        assert!(
            e.starts_with("--beta = 1e308 is outside [-100, 100]"),
            "{e}"
        );
        let e = m(NmfError::RankTooLarge {
            rank: 1_000_000_000,
            rows: 5,
            cols: 5,
            bytes: None,
            gram: true,
        })
        .unwrap()
        .0;
        assert!(e.starts_with("-k/--rank: rank 1000000000 needs"), "{e}");
        let reg = |reason: &str| NmfError::InvalidRegularization {
            reason: reason.into(),
        };
        assert_eq!(
            m(reg("l1_ratio must be in [0, 1], got 2")).unwrap().0,
            "--l1-ratio must be in [0, 1], got 2"
        );
        let e = m(reg(
            "penalty weights must be finite and ≥ 0, got Penalty { l1_w: 0.0, l2_w: inf }",
        ))
        .unwrap()
        .0;
        assert!(
            e.starts_with("--alpha-w/--alpha-h: penalty weights must be finite"),
            "{e}"
        );
        assert!(!e.contains("Penalty {"), "{e}");
        // Not about a parameter.
        assert_eq!(m(NmfError::Interrupted { iteration: 3 }), None);
    }

    #[test]
    fn excerpts_and_sizes() {
        assert_eq!(excerpt("1.5e3"), "1.5e3");
        assert_eq!(excerpt("a\tb\r\n\u{0}"), "a\\tb\\r\\n\\0");
        assert_eq!(excerpt("\u{9b}\u{202e}x\"'\\"), "\\u{9b}\\u{202e}x\"'\\");
        assert_eq!(excerpt(&"é".repeat(40)), "é".repeat(40));
        assert_eq!(excerpt_with("abcdef", 3), "abc… (6 characters)");
        assert_eq!(fmt_bytes(512), "512 bytes");
        assert_eq!(fmt_bytes(7_200_000_000), "7.2 GB (7200000000 bytes)");
        assert_eq!(fmt_bytes(4 << 30), "4.3 GB (4294967296 bytes)");
    }
}
