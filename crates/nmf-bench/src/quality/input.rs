//! The matrix of a time-to-quality run: a file (through the readers of the `nmf` command)
//! or the bundled handwritten digits.

use std::path::Path;

use nmf_cli::matrix::Matrix;
use nmf_cli::read::{ReadOptions, read_matrix};

/// The name that selects the bundled digits instead of a file.
pub const DIGITS: &str = "digits";

/// Loads V: the bundled UCI digits as 1797 images × 64 pixels (one image per row, as
/// scikit-learn's `load_digits().data`) when `source` is [`DIGITS`], else the file at
/// `source` (CSV, TSV, Matrix Market or NumPy, optionally gzip-compressed; a sparse Matrix
/// Market file is made dense). Then the first `rows` rows if given, then the transpose if
/// `transpose`. Returns V and a description of it for the report.
///
/// # Errors
/// The reader's message (file, line, column or entry) for a file that cannot be read, and a
/// message for `rows` of 0.
pub fn load(
    source: &str,
    rows: Option<usize>,
    transpose: bool,
) -> Result<(Matrix, String), String> {
    let (mut v, mut what) = if source == DIGITS {
        let d = nmf_cli::digits::load().map_err(|e| e.to_string())?;
        (
            d.pixels.transpose(),
            "the bundled UCI handwritten digits (images × pixels)".to_string(),
        )
    } else {
        let path = Path::new(source);
        let (v, _) = read_matrix(path, None, ReadOptions::default()).map_err(|e| e.to_string())?;
        let name = path
            .file_name()
            .map_or_else(|| source.to_string(), |f| f.to_string_lossy().into_owned());
        (v, name)
    };
    if let Some(r) = rows {
        if r == 0 {
            return Err("--rows must be at least 1".to_string());
        }
        if r < v.rows {
            v = Matrix::new(r, v.cols, v.data[..r * v.cols].to_vec());
            what = format!("{what}, first {r} rows");
        }
    }
    if transpose {
        v = v.transpose();
        what = format!("{what}, transposed");
    }
    Ok((v, what))
}
