//! Readers (and the matching writers) of the supported file types, and the choice among them.

pub mod csv;
pub mod mtx;
pub mod npy;

use std::io::Read;
use std::path::Path;

use crate::CliError;
use crate::matrix::Matrix;
pub use csv::{Delimiter, Header};

/// The type of an input file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Comma- or tab-separated text (`.csv`, `.txt`).
    Csv,
    /// Tab-separated text (`.tsv`, `.tab`): CSV with the tab delimiter.
    Tsv,
    /// Matrix Market (`.mtx`).
    Mtx,
    /// NumPy (`.npy`).
    Npy,
}

impl Format {
    /// The name used in messages and in `summary.json`.
    pub fn name(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Tsv => "tsv",
            Format::Mtx => "mtx",
            Format::Npy => "npy",
        }
    }

    /// The format of a file name's extension (after a `.gz`, if any), if known.
    pub fn from_path(path: &Path) -> Option<Format> {
        let name = path.file_name()?.to_str()?.to_ascii_lowercase();
        let name = name.strip_suffix(".gz").unwrap_or(&name);
        let ext = name.rsplit_once('.')?.1;
        match ext {
            "csv" | "txt" => Some(Format::Csv),
            "tsv" | "tab" => Some(Format::Tsv),
            "mtx" => Some(Format::Mtx),
            "npy" => Some(Format::Npy),
            _ => None,
        }
    }
}

/// How to read delimited text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CsvOptions {
    /// The delimiter.
    pub delimiter: Delimiter,
    /// The header line.
    pub header: Header,
}

/// Reads a matrix file: the format is `format` if given, else chosen by the extension
/// (`.csv`, `.txt`, `.tsv`, `.tab`, `.mtx`, `.npy`, each optionally followed by `.gz`, which is
/// decompressed). Every entry is checked to be finite and ≥ 0.
///
/// # Errors
/// A usage error (exit code 2) when the format cannot be told from the name, and a data error
/// (exit code 1) for an unreadable file or bad contents, with the file, line and column or the
/// row and column of the bad entry.
pub fn read_matrix(
    path: &Path,
    format: Option<Format>,
    csv: CsvOptions,
) -> Result<(Matrix, Format), CliError> {
    let source = path.display().to_string();
    let format = match format.or_else(|| Format::from_path(path)) {
        Some(f) => f,
        None => {
            return Err(CliError::usage(format!(
                "cannot tell the format of '{source}' from its extension: name it .csv, .tsv, .mtx or .npy, or pass --format csv|tsv|mtx|npy"
            )));
        }
    };
    let mut bytes = std::fs::read(path).map_err(|e| CliError::io("read", path, &e))?;
    if path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("gz"))
    {
        let mut out = Vec::new();
        flate2::read::MultiGzDecoder::new(&bytes[..])
            .read_to_end(&mut out)
            .map_err(|e| CliError::data(format!("{source}: cannot decompress: {e}")))?;
        bytes = out;
    }
    let m = parse_bytes(&bytes, &source, format, csv)?;
    Ok((m, format))
}

/// Parses the contents of a file of a known format.
///
/// # Errors
/// As [`read_matrix`].
pub fn parse_bytes(
    bytes: &[u8],
    source: &str,
    format: Format,
    csv: CsvOptions,
) -> Result<Matrix, CliError> {
    let text = || {
        std::str::from_utf8(bytes).map_err(|e| {
            let at = e.valid_up_to();
            let line = bytes[..at].iter().filter(|&&b| b == b'\n').count() + 1;
            CliError::data(format!(
                "{source}:{line}: not UTF-8 text (byte {at}); is it a {} file?",
                format.name()
            ))
        })
    };
    match format {
        Format::Csv => csv::parse(text()?, source, csv.delimiter, csv.header),
        Format::Tsv => {
            let delimiter = match csv.delimiter {
                Delimiter::Auto => Delimiter::Tab,
                d => d,
            };
            csv::parse(text()?, source, delimiter, csv.header)
        }
        Format::Mtx => mtx::parse(text()?, source),
        Format::Npy => {
            let m = npy::parse(bytes, source)?;
            m.check_entries(source)?;
            Ok(m)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_from_extension() {
        let f = |s: &str| Format::from_path(Path::new(s));
        assert_eq!(f("a/b.CSV"), Some(Format::Csv));
        assert_eq!(f("x.tsv.gz"), Some(Format::Tsv));
        assert_eq!(f("m.mtx"), Some(Format::Mtx));
        assert_eq!(f("v.npy"), Some(Format::Npy));
        assert_eq!(f("v.dat"), None);
        assert_eq!(f("noext"), None);
    }

    #[test]
    fn binary_data_as_text_is_a_clear_error() {
        let e = parse_bytes(
            b"1,2\n\xff\xfe",
            "b.csv",
            Format::Csv,
            CsvOptions::default(),
        )
        .unwrap_err();
        assert_eq!(
            e.message,
            "b.csv:2: not UTF-8 text (byte 4); is it a csv file?"
        );
    }

    #[test]
    fn npy_entries_are_checked() {
        let bytes = npy::to_npy_bytes(1, 2, &[1.0f64, -2.0]);
        let e = parse_bytes(&bytes, "n.npy", Format::Npy, CsvOptions::default()).unwrap_err();
        assert_eq!(
            e.message,
            "n.npy: negative entry -2 at row 0, column 1 (0-based)"
        );
    }
}
