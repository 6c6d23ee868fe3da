//! The matrix of a time-to-quality run: a file (through the readers of the `nmf` command),
//! kept sparse when it is a Matrix Market `coordinate` or SciPy `.npz` file, or the bundled
//! handwritten digits.

use std::path::Path;

use nmf_cli::matrix::Matrix;
use nmf_cli::read::{Input, ReadOptions, read_input};
use nmf_core::sparse::Csr;

/// The name that selects the bundled digits instead of a file.
pub const DIGITS: &str = "digits";

/// V as the mode measures it: dense (row-major), or compressed sparse rows, which every
/// solver receives without densifying (this library's sparse data term, a SciPy CSR matrix
/// for scikit-learn, a `Matrix::dgCMatrix` for RcppML).
#[derive(Debug, Clone, PartialEq)]
pub enum Data {
    /// Dense entries.
    Dense(Matrix),
    /// Compressed sparse rows.
    Sparse(Csr<f64>),
}

impl Data {
    /// `(rows, columns)`.
    pub fn shape(&self) -> (usize, usize) {
        match self {
            Data::Dense(m) => (m.rows, m.cols),
            Data::Sparse(c) => c.shape(),
        }
    }
    /// The stored entries (every entry when dense).
    pub fn nnz(&self) -> usize {
        match self {
            Data::Dense(m) => m.data.len(),
            Data::Sparse(c) => c.nnz(),
        }
    }
}

impl From<Matrix> for Data {
    fn from(m: Matrix) -> Self {
        Data::Dense(m)
    }
}

/// Loads V densely (a sparse file is made dense), as [`load_data`] with `dense` set.
///
/// # Errors
/// As [`load_data`].
pub fn load(
    source: &str,
    rows: Option<usize>,
    transpose: bool,
) -> Result<(Matrix, String), String> {
    match load_data(source, rows, transpose, true)? {
        (Data::Dense(m), what) => Ok((m, what)),
        (Data::Sparse(_), _) => unreachable!("load_data with dense = true is dense"),
    }
}

/// Loads V: the bundled UCI digits as 1797 images × 64 pixels (one image per row, as
/// scikit-learn's `load_digits().data`) when `source` is [`DIGITS`], else the file at
/// `source` (CSV, TSV, Matrix Market, NumPy or SciPy `.npz`, optionally gzip-compressed; a
/// Matrix Market `coordinate` file or a `.npz` is kept sparse unless `dense`). Then the first
/// `rows` rows if given, then the transpose if `transpose`. Returns V and a description of
/// it for the report.
///
/// # Errors
/// The reader's message (file, line, column or entry) for a file that cannot be read, and a
/// message for `rows` of 0.
pub fn load_data(
    source: &str,
    rows: Option<usize>,
    transpose: bool,
    dense: bool,
) -> Result<(Data, String), String> {
    let (mut v, mut what) = if source == DIGITS {
        let d = nmf_cli::digits::load().map_err(|e| e.to_string())?;
        (
            Data::Dense(d.pixels.transpose()),
            "the bundled UCI handwritten digits (images × pixels)".to_string(),
        )
    } else {
        let path = Path::new(source);
        let (v, _) =
            read_input(path, None, ReadOptions::default(), dense).map_err(|e| e.to_string())?;
        let name = path
            .file_name()
            .map_or_else(|| source.to_string(), |f| f.to_string_lossy().into_owned());
        match v {
            Input::Dense(m) => (Data::Dense(m), name),
            Input::Sparse(c) => (Data::Sparse(c), format!("{name}, kept sparse")),
            Input::Observed(_) => return Err(format!("{source}: masked input is not measured")),
            Input::Rows(_) => return Err(format!("{source}: a streamed input is not measured")),
        }
    };
    if let Some(r) = rows {
        if r == 0 {
            return Err("--rows must be at least 1".to_string());
        }
        if r < v.shape().0 {
            v = match v {
                Data::Dense(m) => {
                    Data::Dense(Matrix::new(r, m.cols, m.data[..r * m.cols].to_vec()))
                }
                Data::Sparse(c) => {
                    let cols = c.shape().1;
                    let (ptr, idx, val) = c.into_parts();
                    let end = ptr[r];
                    Data::Sparse(
                        Csr::from_compressed(
                            r,
                            cols,
                            ptr[..=r].to_vec(),
                            idx[..end].to_vec(),
                            val[..end].to_vec(),
                        )
                        .map_err(|e| e.to_string())?,
                    )
                }
            };
            what = format!("{what}, first {r} rows");
        }
    }
    if transpose {
        v = match v {
            Data::Dense(m) => Data::Dense(m.transpose()),
            Data::Sparse(c) => Data::Sparse(c.transpose().map_err(|e| e.to_string())?),
        };
        what = format!("{what}, transposed");
    }
    Ok((v, what))
}

/// Writes compressed sparse rows as three raw little-endian files that Python's
/// `numpy.fromfile` and R's `readBin` read without a sparse-matrix reader:
/// `{prefix}.ptr` (the row pointers, `i32`), `{prefix}.idx` (the column indices, `i32`) and
/// `{prefix}.val` (the values, `f64`). The compressed columns of V are the compressed rows of
/// Vᵀ (what R's `dgCMatrix` holds).
///
/// # Errors
/// An I/O error, or a matrix with 2³¹ or more entries or columns (beyond `i32`, the index type
/// of R's sparse matrices).
pub fn write_compressed(prefix: &Path, c: nmf_core::sparse::CsrRef<'_, f64>) -> Result<(), String> {
    let name = |ext: &str| {
        let mut p = prefix.as_os_str().to_owned();
        p.push(ext);
        std::path::PathBuf::from(p)
    };
    let io = |p: &Path, e: std::io::Error| format!("{}: {e}", p.display());
    let ints = |xs: &[usize]| -> Result<Vec<u8>, String> {
        let mut out = Vec::with_capacity(xs.len() * 4);
        for &x in xs {
            let y = i32::try_from(x).map_err(|_| {
                format!(
                    "{} entries or columns: beyond the 32-bit indices of R's sparse matrices",
                    x
                )
            })?;
            out.extend_from_slice(&y.to_le_bytes());
        }
        Ok(out)
    };
    let vals: Vec<u8> = c.data().iter().flat_map(|x| x.to_le_bytes()).collect();
    for (ext, bytes) in [
        (".ptr", ints(c.indptr())?),
        (".idx", ints(c.indices())?),
        (".val", vals),
    ] {
        let p = name(ext);
        std::fs::write(&p, bytes).map_err(|e| io(&p, e))?;
    }
    Ok(())
}
