//! `nmf predict`: the fitted WH at (row, column) pairs, from a saved model, without forming
//! WH.

use std::io::Write as _;
use std::path::PathBuf;

use clap::Args;

use crate::cli::parse_size;
use crate::read::{Delimiter, Header, ReadOptions};
use crate::{CliError, console};

/// `nmf predict`.
#[derive(Debug, Args)]
pub struct PredictArgs {
    /// The saved model: a directory written by `nmf fit` (its model.json, else model.npz), or
    /// a model.json or .npz file.
    #[arg(short, long, value_name = "DIR_OR_FILE")]
    pub model: PathBuf,
    /// The pairs: a CSV file with one `row,column` pair (0-based) per line; a first line
    /// that is not two numbers (such as `row,col`) is taken as a header.
    #[arg(long, value_name = "FILE")]
    pub pairs: PathBuf,
    /// Where to write `row,col,prediction` lines [default: standard output].
    #[arg(short, long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// The most bytes the model or the pairs file may hold.
    #[arg(long, value_name = "BYTES", default_value = "4G", value_parser = parse_size)]
    pub max_input_bytes: u64,
}

/// Reads `row,column` pairs, one per line (blank lines skipped, a first line that is not two
/// numbers taken as a header), checked against the model's shape.
///
/// # Errors
/// A [`CliError::data`] naming the file and line (1-based) of a malformed or out-of-range
/// pair.
pub fn parse_pairs(
    text: &str,
    source: &str,
    shape: (usize, usize),
) -> Result<Vec<(usize, usize)>, CliError> {
    let mut pairs = Vec::new();
    for (at, line) in text.lines().enumerate() {
        let line_no = at + 1;
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split([',', '\t']).map(str::trim).collect();
        let nums = match fields.as_slice() {
            [a, b] => a.parse::<usize>().ok().zip(b.parse::<usize>().ok()),
            _ => None,
        };
        let Some((i, j)) = nums else {
            if at == 0 {
                continue;
            }
            return Err(CliError::data(format!(
                "{source}, line {line_no}: expected `row,column` (two whole numbers ≥ 0), found '{}'",
                crate::error::excerpt(line)
            )));
        };
        if i >= shape.0 || j >= shape.1 {
            return Err(CliError::data(format!(
                "{source}, line {line_no}: the pair ({i}, {j}) is outside the model's {}×{} matrix (rows and columns are 0-based)",
                shape.0, shape.1
            )));
        }
        pairs.push((i, j));
    }
    Ok(pairs)
}

/// `nmf predict`.
///
/// # Errors
/// Every problem as a one-line [`CliError`].
pub fn predict(args: &PredictArgs) -> Result<(), CliError> {
    let opts = ReadOptions {
        delimiter: Delimiter::default(),
        header: Header::default(),
        max_bytes: args.max_input_bytes,
        cancel: Some(&crate::interrupt::INTERRUPTED),
        nan_missing: false,
    };
    let (saved, _) = super::transform::load_model(&args.model, &opts)?;
    let source = args.pairs.display().to_string();
    let bytes = crate::read::read_file(&args.pairs, "read the pairs", false, &opts)?;
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| CliError::data(format!("{source}: not UTF-8 text")))?;
    let pairs = parse_pairs(text, &source, (saved.rows, saved.cols))?;
    let k = saved.rank;
    let mut out = String::from("row,col,prediction\n");
    for &(i, j) in &pairs {
        // Σ_a W_ia·H_aj in f64 (W m×k and H k×n, both row-major in the saved model).
        let p: f64 = (0..k)
            .map(|a| saved.w[i * k + a] * saved.h[a * saved.cols + j])
            .sum();
        out.push_str(&format!("{i},{j},{p}\n"));
    }
    match &args.out {
        None => console::out(out.trim_end()),
        Some(path) => {
            let dir = path
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(std::path::Path::new("."));
            let fail = |e: std::io::Error| CliError::io("write the predictions", path, &e);
            let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(fail)?;
            tmp.write_all(out.as_bytes()).map_err(fail)?;
            tmp.persist(path).map_err(|e| fail(e.error))?;
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_parse_with_a_header_and_name_a_bad_line() {
        let p = parse_pairs("row,col\n0,1\n\n2,0\n", "p.csv", (3, 2)).unwrap();
        assert_eq!(p, vec![(0, 1), (2, 0)]);
        let e = parse_pairs("0,1\n3,0\n", "p.csv", (3, 2)).unwrap_err();
        assert_eq!(
            e.message,
            "p.csv, line 2: the pair (3, 0) is outside the model's 3×2 matrix (rows and columns are 0-based)"
        );
        let e = parse_pairs("0,1\n1,x\n", "p.csv", (3, 2)).unwrap_err();
        assert!(
            e.message.starts_with("p.csv, line 2: expected"),
            "{}",
            e.message
        );
    }
}
