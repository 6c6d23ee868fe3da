//! Matrix Market exchange format (`.mtx`): `matrix coordinate` and `matrix array`, with the
//! fields `real`, `double`, `integer` and `pattern`, and the symmetries `general`,
//! `symmetric` and `skew-symmetric` (whose negative entries are then reported as such).
//! Coordinate entries are 1-based; repeated entries are added, as scipy does.

use std::sync::atomic::AtomicBool;

use super::{CANCEL_EVERY, check_cancel};
use crate::CliError;
use crate::error::excerpt;
use crate::matrix::{
    Matrix, alloc_dense, check_not_empty, describe_invalid, try_reserve, valid_entry,
};
use nmf_core::sparse::Csr;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layout {
    Coordinate,
    Array,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Real,
    Integer,
    Pattern,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Symmetry {
    General,
    Symmetric,
    Skew,
}

/// Whitespace-separated tokens of a line with their 1-based character columns.
fn tokens(line: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut start: Option<usize> = None;
    let mut col = 0usize;
    let mut start_col = 0usize;
    for (b, ch) in line.char_indices() {
        col += 1;
        if ch.is_whitespace() {
            if let Some(s) = start.take() {
                out.push((start_col, &line[s..b]));
            }
        } else if start.is_none() {
            start = Some(b);
            start_col = col;
        }
    }
    if let Some(s) = start {
        out.push((start_col, &line[s..]));
    }
    out
}

fn parse_index(source: &str, line: usize, (col, tok): (usize, &str)) -> Result<usize, CliError> {
    tok.parse::<usize>().map_err(|_| {
        CliError::data(format!(
            "{source}:{line}:{col}: cannot read '{}' as a non-negative integer",
            excerpt(tok)
        ))
    })
}

fn parse_value(
    source: &str,
    line: usize,
    field: Field,
    (col, tok): (usize, &str),
) -> Result<f64, CliError> {
    match field {
        Field::Integer => tok.parse::<i64>().map(|x| x as f64).map_err(|_| {
            CliError::data(format!(
                "{source}:{line}:{col}: cannot read '{}' as an integer (the header says integer)",
                excerpt(tok)
            ))
        }),
        _ => tok.parse::<f64>().map_err(|_| {
            CliError::data(format!(
                "{source}:{line}:{col}: cannot read '{}' as a number",
                excerpt(tok)
            ))
        }),
    }
}

/// Parses a Matrix Market file (already decoded) into a dense matrix; `source` names it in
/// messages. Every entry must be a finite number ≥ 0.
///
/// # Errors
/// One-line [`CliError::data`] messages with `file:line:column` for a bad header, size line,
/// index or value, an index out of range, a negative, NaN or infinite entry (with its row and
/// column, 0-based), or a number of entries other than the size line announces.
pub fn parse(text: &str, source: &str) -> Result<Matrix, CliError> {
    parse_cancellable(text, source, None)
}

/// [`parse`], stopping with [`CliError::interrupted`] when `cancel` is set (checked every
/// few tens of thousands of entries).
///
/// # Errors
/// As [`parse`], and [`CliError::interrupted`].
pub fn parse_cancellable(
    text: &str,
    source: &str,
    cancel: Option<&AtomicBool>,
) -> Result<Matrix, CliError> {
    match parse_with(text, source, cancel, false)? {
        Parsed::Dense(m) => Ok(m),
        Parsed::Triplets { .. } => unreachable!("parse_with(sparse = false) is dense"),
    }
}

/// A matrix read from a Matrix Market file by [`parse_sparse_cancellable`].
#[derive(Debug, Clone, PartialEq)]
pub enum MtxMatrix {
    /// An `array` file: every value is in the file, so the matrix is dense.
    Dense(Matrix),
    /// A `coordinate` file, in compressed sparse rows: repeated entries summed, symmetric
    /// entries mirrored, zeros not stored.
    Sparse(Csr<f64>),
}

/// As [`parse_cancellable`], keeping a `coordinate` file sparse: memory O(nnz) (the entries as
/// triplets, then in compressed rows), never O(rows × columns). An `array` file is dense.
///
/// # Errors
/// As [`parse`], and [`CliError::interrupted`].
pub fn parse_sparse_cancellable(
    text: &str,
    source: &str,
    cancel: Option<&AtomicBool>,
) -> Result<MtxMatrix, CliError> {
    parse_with(text, source, cancel, true)?.finish(source)
}

/// As [`parse_sparse_cancellable`], taking the text by value: it is freed once the entries
/// are read, before the compressed rows are built in the place of the triplets
/// ([`Csr::from_triplet_vecs`]), so the text, the triplets and the compressed rows are never
/// all held at once (the peak is the text and the triplets, 24 bytes an entry).
///
/// # Errors
/// As [`parse_sparse_cancellable`].
pub fn parse_sparse_owned(
    text: String,
    source: &str,
    cancel: Option<&AtomicBool>,
) -> Result<MtxMatrix, CliError> {
    let parsed = parse_with(&text, source, cancel, true)?;
    drop(text);
    parsed.finish(source)
}

/// What the parser read: a dense matrix, or the triplets of a coordinate file read sparse.
enum Parsed {
    Dense(Matrix),
    Triplets {
        nrows: usize,
        ncols: usize,
        rows: Vec<usize>,
        cols: Vec<usize>,
        vals: Vec<f64>,
    },
}

impl Parsed {
    /// The matrix: triplets become compressed rows, built in their place.
    fn finish(self, source: &str) -> Result<MtxMatrix, CliError> {
        match self {
            Parsed::Dense(m) => Ok(MtxMatrix::Dense(m)),
            Parsed::Triplets {
                nrows,
                ncols,
                rows,
                cols,
                vals,
            } => {
                // Built in place, the compressed rows need only 16 bytes a row besides the
                // triplets (the row pointers and a counter each): refused here when the
                // system does not have them (as a dense matrix is).
                let bytes = nrows.saturating_add(1).saturating_mul(16);
                let what = || {
                    format!(
                        "a sparse {nrows}×{ncols} matrix with {} entries",
                        rows.len()
                    )
                };
                try_reserve(&mut Vec::<u8>::new(), bytes, source, &what)?;
                Csr::from_triplet_vecs(nrows, ncols, rows, cols, vals)
                    .map(MtxMatrix::Sparse)
                    .map_err(|e| CliError::data(format!("{source}: {e}")))
            }
        }
    }
}

/// Where the entries of a coordinate file go.
enum Sink {
    Dense {
        data: Vec<f64>,
        cols: usize,
    },
    Triplets {
        rows: Vec<usize>,
        cols: Vec<usize>,
        vals: Vec<f64>,
    },
}

impl Sink {
    #[inline]
    fn add(&mut self, i: usize, j: usize, x: f64) {
        match self {
            Sink::Dense { data, cols } => data[i * *cols + j] += x,
            Sink::Triplets { rows, cols, vals } => {
                rows.push(i);
                cols.push(j);
                vals.push(x);
            }
        }
    }
}

fn parse_with(
    text: &str,
    source: &str,
    cancel: Option<&AtomicBool>,
    sparse: bool,
) -> Result<Parsed, CliError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lines = text
        .split('\n')
        .enumerate()
        .map(|(i, l)| (i + 1, l.strip_suffix('\r').unwrap_or(l)));
    let (_, banner) = lines
        .next()
        .ok_or_else(|| CliError::data(format!("{source}: empty file")))?;
    let toks = tokens(banner);
    let words: Vec<String> = toks.iter().map(|(_, t)| t.to_ascii_lowercase()).collect();
    if words.first().map(String::as_str) != Some("%%matrixmarket") {
        return Err(CliError::data(format!(
            "{source}:1:1: not a Matrix Market file (the first line must start with %%MatrixMarket)"
        )));
    }
    if words.len() != 5 {
        return Err(CliError::data(format!(
            "{source}:1:1: the header needs 4 words after %%MatrixMarket (matrix, coordinate|array, real|integer|pattern, general|symmetric|skew-symmetric), found {}",
            words.len() - 1
        )));
    }
    let bad = |k: usize, what: &str| {
        CliError::data(format!(
            "{source}:1:{}: unsupported {what} '{}'",
            toks[k].0,
            excerpt(toks[k].1)
        ))
    };
    if words[1] != "matrix" {
        return Err(bad(1, "object (only 'matrix' is)"));
    }
    let layout = match words[2].as_str() {
        "coordinate" => Layout::Coordinate,
        "array" => Layout::Array,
        _ => return Err(bad(2, "format (coordinate or array are)")),
    };
    let field = match words[3].as_str() {
        "real" | "double" => Field::Real,
        "integer" => Field::Integer,
        "pattern" if layout == Layout::Coordinate => Field::Pattern,
        _ => return Err(bad(3, "field (real, integer or pattern are)")),
    };
    let symmetry = match words[4].as_str() {
        "general" => Symmetry::General,
        "symmetric" => Symmetry::Symmetric,
        "skew-symmetric" => Symmetry::Skew,
        _ => {
            return Err(bad(
                4,
                "symmetry (general, symmetric or skew-symmetric are)",
            ));
        }
    };

    // Entry tokens, skipping comments and blank lines.
    let mut content = lines.filter(|(_, l)| {
        let t = l.trim_start();
        !t.is_empty() && !t.starts_with('%')
    });
    let (size_line, size_text) = content
        .next()
        .ok_or_else(|| CliError::data(format!("{source}: the size line is missing")))?;
    let size = tokens(size_text);
    let want = if layout == Layout::Coordinate { 3 } else { 2 };
    if size.len() != want {
        return Err(CliError::data(format!(
            "{source}:{size_line}:1: the size line must have {want} numbers ({}), found {}",
            if want == 3 {
                "rows columns entries"
            } else {
                "rows columns"
            },
            size.len()
        )));
    }
    let rows = parse_index(source, size_line, size[0])?;
    let cols = parse_index(source, size_line, size[1])?;
    // Before anything loops over rows or columns (a size line may say 0 × 10¹²).
    check_not_empty(source, rows as u64, cols as u64)?;
    if symmetry != Symmetry::General && rows != cols {
        return Err(CliError::data(format!(
            "{source}:{size_line}:1: a {} matrix must be square, but it is {rows}×{cols}",
            words[4]
        )));
    }
    if layout == Layout::Array {
        // An array file holds every value, each at least one character and a separator:
        // a size line that asks for more than the text can hold is refused before the
        // matrix is allocated (a 50-byte file may declare 30000×30000).
        let (r, c) = (rows as u128, cols as u128);
        let total = match symmetry {
            Symmetry::General => r * c,
            Symmetry::Symmetric => r * (r + 1) / 2,
            Symmetry::Skew => r * (r - 1) / 2,
        };
        let most = (text.len() as u128).div_ceil(2);
        if total > most {
            return Err(CliError::data(format!(
                "{source}: a {rows}×{cols} {} array needs {total} values, but the file ({} bytes) \
                 can hold at most {most}",
                words[4],
                text.len()
            )));
        }
    }
    let sparse = sparse && layout == Layout::Coordinate;
    let mut sink = if sparse {
        Sink::Triplets {
            rows: Vec::new(),
            cols: Vec::new(),
            vals: Vec::new(),
        }
    } else {
        Sink::Dense {
            data: alloc_dense(source, rows, cols)?,
            cols,
        }
    };
    let check = |x: f64, line: usize, col: usize, i: usize, j: usize| {
        if valid_entry(x) {
            Ok(())
        } else {
            Err(CliError::data(format!(
                "{source}:{line}:{col}: {} at row {i}, column {j} (0-based)",
                describe_invalid(x)
            )))
        }
    };

    match layout {
        Layout::Coordinate => {
            let nnz = parse_index(source, size_line, size[2])?;
            let per_line = if field == Field::Pattern { 2 } else { 3 };
            if let Sink::Triplets { rows, cols, vals } = &mut sink {
                // Room for the announced entries, but no more than the text can hold (an entry
                // line has at least 4 bytes: "1 1\n"); symmetric files grow past it.
                let room = nnz.min(text.len() / 4);
                let what = || format!("the {room} entries of a sparse matrix");
                try_reserve(rows, room, source, &what)?;
                try_reserve(cols, room, source, &what)?;
                try_reserve(vals, room, source, &what)?;
            }
            let mut count = 0usize;
            for (lineno, text) in content {
                if count.is_multiple_of(CANCEL_EVERY) {
                    check_cancel(cancel, source)?;
                }
                let t = tokens(text);
                if count == nnz {
                    return Err(CliError::data(format!(
                        "{source}:{lineno}:1: more entries than the {nnz} the size line announces"
                    )));
                }
                if t.len() != per_line {
                    return Err(CliError::data(format!(
                        "{source}:{lineno}:1: an entry must have {per_line} numbers (row column{}), found {}",
                        if per_line == 3 { " value" } else { "" },
                        t.len()
                    )));
                }
                let i = parse_index(source, lineno, t[0])?;
                let j = parse_index(source, lineno, t[1])?;
                for (n, (idx, limit, what)) in [(i, rows, "row"), (j, cols, "column")]
                    .into_iter()
                    .enumerate()
                {
                    if idx == 0 || idx > limit {
                        return Err(CliError::data(format!(
                            "{source}:{lineno}:{}: {what} index {idx} is outside 1..={limit}",
                            t[n].0
                        )));
                    }
                }
                let (i, j) = (i - 1, j - 1);
                let x = if field == Field::Pattern {
                    1.0
                } else {
                    parse_value(source, lineno, field, t[2])?
                };
                let vcol = t.get(2).map_or(t[0].0, |v| v.0);
                check(x, lineno, vcol, i, j)?;
                sink.add(i, j, x);
                if i != j {
                    match symmetry {
                        Symmetry::General => {}
                        Symmetry::Symmetric => sink.add(j, i, x),
                        Symmetry::Skew => check(-x, lineno, vcol, j, i)?,
                    }
                }
                count += 1;
            }
            if count != nnz {
                return Err(CliError::data(format!(
                    "{source}: the size line announces {nnz} entries, but the file has {count}"
                )));
            }
        }
        Layout::Array => {
            let Sink::Dense { data, .. } = &mut sink else {
                unreachable!("array files are read dense");
            };
            // Column-major; symmetric: the lower triangle with the diagonal, skew: without.
            // (rows × cols ≥ 1 entries were allocated, 8 bytes each: these counts fit in usize)
            let from = |j: usize| match symmetry {
                Symmetry::General => 0,
                Symmetry::Symmetric => j,
                Symmetry::Skew => j + 1,
            };
            let total = match symmetry {
                Symmetry::General => rows * cols,
                Symmetry::Symmetric => rows * (rows + 1) / 2,
                Symmetry::Skew => rows * (rows - 1) / 2,
            };
            // The position of the next value.
            let (mut i, mut j) = (from(0), 0);
            let mut count = 0usize;
            for (lineno, text) in content {
                for tok in tokens(text) {
                    if count == total {
                        return Err(CliError::data(format!(
                            "{source}:{lineno}:{}: more values than the {total} a {rows}×{cols} {} array holds",
                            tok.0, words[4]
                        )));
                    }
                    if count.is_multiple_of(CANCEL_EVERY) {
                        check_cancel(cancel, source)?;
                    }
                    // A value is left (count < total), so this stops at a column of the matrix.
                    while i >= rows {
                        j += 1;
                        i = from(j);
                    }
                    let x = parse_value(source, lineno, field, tok)?;
                    check(x, lineno, tok.0, i, j)?;
                    data[i * cols + j] = x;
                    if i != j {
                        match symmetry {
                            Symmetry::General => {}
                            Symmetry::Symmetric => data[j * cols + i] = x,
                            Symmetry::Skew => check(-x, lineno, tok.0, j, i)?,
                        }
                    }
                    i += 1;
                    count += 1;
                }
            }
            if count != total {
                return Err(CliError::data(format!(
                    "{source}: a {rows}×{cols} {} array needs {total} values, but the file has {count}",
                    words[4]
                )));
            }
        }
    }
    Ok(match sink {
        Sink::Dense { data, .. } => Parsed::Dense(Matrix::new(rows, cols, data)),
        Sink::Triplets {
            rows: r,
            cols: c,
            vals,
        } => Parsed::Triplets {
            nrows: rows,
            ncols: cols,
            rows: r,
            cols: c,
            vals,
        },
    })
}

/// Writes a matrix in Matrix Market `array real general` form (column-major), each value in
/// the shortest form that reads back to the same number.
pub fn to_mtx_array_string<T: core::fmt::Display>(rows: usize, cols: usize, data: &[T]) -> String {
    use core::fmt::Write;
    let mut s = String::from("%%MatrixMarket matrix array real general\n");
    let _ = writeln!(s, "{rows} {cols}");
    for j in 0..cols {
        for i in 0..rows {
            let _ = writeln!(s, "{}", data[i * cols + j]);
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Parses `text` dense, and checks that the sparse reader gives the same matrix or the same
    /// error (except where only the dense matrix is too large for memory).
    fn p(text: &str) -> Result<Matrix, CliError> {
        let dense = parse(text, "t.mtx");
        let sparse = parse_sparse_cancellable(text, "t.mtx", None);
        match (&dense, sparse) {
            (Ok(d), Ok(MtxMatrix::Sparse(c))) => assert_eq!(&densify(&c), d),
            (Ok(d), Ok(MtxMatrix::Dense(m))) => assert_eq!(&m, d),
            (Err(e), Ok(MtxMatrix::Sparse(_))) if e.message.contains("of memory") => {}
            (Err(e), Err(f)) if e.message.contains("of memory") => {
                assert!(f.message.contains("of memory"), "{f:?}")
            }
            (Err(e), Err(f)) => assert_eq!(e.message, f.message),
            (d, s) => panic!("dense {d:?} but sparse {s:?}"),
        }
        dense
    }

    fn densify(c: &Csr<f64>) -> Matrix {
        let (rows, cols) = c.shape();
        let mut data = vec![0.0; rows * cols];
        let v = c.view();
        for i in 0..rows {
            let (js, xs) = v.row(i);
            for (&j, &x) in js.iter().zip(xs) {
                data[i * cols + j] = x;
            }
        }
        Matrix::new(rows, cols, data)
    }

    /// The bundled Brown corpus (500 documents × 15,820 terms, 255,342 counts) reads sparse,
    /// with every count in place (the dense reader gives the same matrix).
    #[test]
    fn the_brown_corpus_reads_sparse() {
        let gz = include_bytes!("../../data/brown_docterm.mtx.gz");
        let mut text = String::new();
        std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&gz[..]), &mut text)
            .unwrap();
        let Ok(MtxMatrix::Sparse(c)) = parse_sparse_cancellable(&text, "brown", None) else {
            panic!("not sparse");
        };
        assert_eq!((c.shape(), c.nnz()), ((500, 15_820), 255_342));
        let total: f64 = c.view().data().iter().sum();
        let dense = parse(&text, "brown").unwrap();
        assert_eq!(densify(&c), dense);
        assert_eq!(total, dense.data.iter().sum::<f64>());
        // From the text by value (compressed rows built in place of the triplets): the same.
        let owned = parse_sparse_owned(text, "brown", None).unwrap();
        assert_eq!(owned, MtxMatrix::Sparse(c));
    }

    #[test]
    fn coordinate_files_stay_sparse() {
        // 10⁶ × 10⁶ with two entries: 8 TB dense, a few bytes sparse.
        let text = "%%MatrixMarket matrix coordinate real general\n1000000 1000000 3\n\
                    5 7 1.5\n1000000 1 2\n5 7 0.5\n";
        let Ok(MtxMatrix::Sparse(c)) = parse_sparse_cancellable(text, "t.mtx", None) else {
            panic!("not sparse");
        };
        assert_eq!(c.shape(), (1_000_000, 1_000_000));
        assert_eq!(c.nnz(), 2);
        assert_eq!(c.view().row(4), (&[6usize][..], &[2.0][..]));
        // Explicit zeros are not stored; a symmetric file is mirrored.
        let text = "%%MatrixMarket matrix coordinate real symmetric\n3 3 3\n2 1 4\n3 3 0\n1 1 1\n";
        let Ok(MtxMatrix::Sparse(c)) = parse_sparse_cancellable(text, "t.mtx", None) else {
            panic!("not sparse");
        };
        assert_eq!(c.view().data(), &[1.0, 4.0, 4.0]);
        // An array file is dense.
        let text = "%%MatrixMarket matrix array real general\n1 2\n1\n2\n";
        assert!(matches!(
            parse_sparse_cancellable(text, "t.mtx", None),
            Ok(MtxMatrix::Dense(_))
        ));
    }

    #[test]
    fn coordinate_real_integer_pattern() {
        let m = p(
            "%%MatrixMarket matrix coordinate real general\n% c\n2 3 3\n1 1 1.5\n2 3 2\n1 1 0.5\n",
        )
        .unwrap();
        assert_eq!((m.rows, m.cols), (2, 3));
        assert_eq!(m.data, vec![2.0, 0.0, 0.0, 0.0, 0.0, 2.0]);
        let m = p("%%MatrixMarket matrix coordinate integer general\n2 2 1\n2 1 7\n").unwrap();
        assert_eq!(m.data, vec![0.0, 0.0, 7.0, 0.0]);
        let m = p("%%MatrixMarket matrix coordinate pattern general\n2 2 2\n1 2\n2 2\n").unwrap();
        assert_eq!(m.data, vec![0.0, 1.0, 0.0, 1.0]);
        let m =
            p("%%MatrixMarket matrix coordinate real symmetric\n2 2 2\n1 1 1\n2 1 3\n").unwrap();
        assert_eq!(m.data, vec![1.0, 3.0, 3.0, 0.0]);
    }

    #[test]
    fn array_general_and_symmetric() {
        let m = p("%%MatrixMarket matrix array real general\n2 3\n1\n2\n3\n4\n5 6\n").unwrap();
        assert_eq!(m.data, vec![1.0, 3.0, 5.0, 2.0, 4.0, 6.0]);
        let m = p("%%MatrixMarket matrix array integer symmetric\n2 2\n1\n2\n3\n").unwrap();
        assert_eq!(m.data, vec![1.0, 2.0, 2.0, 3.0]);
    }

    #[test]
    fn errors_have_line_and_column() {
        let h = "%%MatrixMarket matrix coordinate real general\n";
        assert_eq!(
            p(&format!("{h}2 2 1\n1 1 abc\n")).unwrap_err().message,
            "t.mtx:3:5: cannot read 'abc' as a number"
        );
        assert_eq!(
            p(&format!("{h}2 2 1\n3 1 1\n")).unwrap_err().message,
            "t.mtx:3:1: row index 3 is outside 1..=2"
        );
        assert_eq!(
            p(&format!("{h}2 2 1\n1 0 1\n")).unwrap_err().message,
            "t.mtx:3:3: column index 0 is outside 1..=2"
        );
        assert_eq!(
            p(&format!("{h}2 2 1\n2 1 -1\n")).unwrap_err().message,
            "t.mtx:3:5: negative entry -1 at row 1, column 0 (0-based)"
        );
        assert_eq!(
            p(&format!("{h}2 2 2\n2 1 1\n")).unwrap_err().message,
            "t.mtx: the size line announces 2 entries, but the file has 1"
        );
        assert_eq!(
            p(&format!("{h}2 2 1\n2 1 1\n1 1 1\n")).unwrap_err().message,
            "t.mtx:4:1: more entries than the 1 the size line announces"
        );
        assert_eq!(
            p("%%MatrixMarket matrix array integer general\n1 2\n1\n2.5\n")
                .unwrap_err()
                .message,
            "t.mtx:4:1: cannot read '2.5' as an integer (the header says integer)"
        );
        assert_eq!(
            p("%%MatrixMarket matrix array real general\n1 2\n1\nnan\n")
                .unwrap_err()
                .message,
            "t.mtx:4:1: non-finite entry (NaN) at row 0, column 1 (0-based)"
        );
        assert_eq!(
            p("%%MatrixMarket matrix coordinate complex general\n1 1 1\n1 1 1 0\n")
                .unwrap_err()
                .message,
            "t.mtx:1:34: unsupported field (real, integer or pattern are) 'complex'"
        );
        assert_eq!(
            p("1 2 3\n").unwrap_err().message,
            "t.mtx:1:1: not a Matrix Market file (the first line must start with %%MatrixMarket)"
        );
        assert_eq!(
            p("%%MatrixMarket matrix coordinate real skew-symmetric\n2 2 1\n2 1 1\n")
                .unwrap_err()
                .message,
            "t.mtx:3:5: negative entry -1 at row 0, column 1 (0-based)"
        );
        assert!(
            p(&format!("{h}100000000000 100000000000 0\n"))
                .unwrap_err()
                .message
                .ends_with("more than any computer can address")
        );
    }

    #[test]
    fn parsing_stops_when_cancelled() {
        let cancel = AtomicBool::new(true);
        for text in [
            "%%MatrixMarket matrix coordinate real general\n1 1 1\n1 1 1\n",
            "%%MatrixMarket matrix array real general\n1 1\n1\n",
        ] {
            let e = parse_cancellable(text, "t.mtx", Some(&cancel)).unwrap_err();
            assert_eq!(e.code, crate::error::EXIT_INTERRUPTED, "{text}");
            assert_eq!(
                e.message,
                "interrupted (Ctrl-C, SIGTERM or SIGHUP) while reading t.mtx; nothing was written"
            );
        }
    }

    #[test]
    fn writer_round_trips() {
        let data = [0.25_f64, 1.0 / 3.0, 7.0, 1e-30, 0.0, 5.5];
        let m = p(&to_mtx_array_string(3, 2, &data)).unwrap();
        assert_eq!((m.rows, m.cols), (3, 2));
        assert_eq!(m.data, data);
    }

    #[test]
    fn declared_sizes_are_bounded() {
        let h = "%%MatrixMarket matrix coordinate real general\n";
        let t = std::time::Instant::now();
        assert_eq!(
            p(&format!("{h}0 1000000000000 0\n")).unwrap_err().message,
            "t.mtx: the matrix is empty (0×1000000000000): it needs at least one row and one column"
        );
        assert_eq!(
            p("%%MatrixMarket matrix array real general\n1000000000000 0\n")
                .unwrap_err()
                .message,
            "t.mtx: the matrix is empty (1000000000000×0): it needs at least one row and one column"
        );
        // (a loop over 10¹² columns would take minutes)
        assert!(t.elapsed().as_secs() < 5, "{:?}", t.elapsed());
        // One entry of a 10⁶×10⁶ dense matrix: 8 TB, refused with what it needs.
        let e = p(&format!("{h}1000000 1000000 1\n1 1 1\n"))
            .unwrap_err()
            .message;
        assert!(
            e.starts_with(
                "t.mtx: a dense 1000000×1000000 matrix needs 8.0 TB (8000000000000 bytes) of memory, "
            ),
            "{e}"
        );
        // A product that overflows 64 bits.
        let e = p(&format!("{h}18446744073709551615 2 1\n1 1 1\n"))
            .unwrap_err()
            .message;
        assert!(e.ends_with("more than any computer can address"), "{e}");
        // A size beyond 64 bits.
        assert_eq!(
            p(&format!("{h}18446744073709551616 2 1\n"))
                .unwrap_err()
                .message,
            "t.mtx:2:1: cannot read '18446744073709551616' as a non-negative integer"
        );
    }

    #[test]
    fn array_sizes_beyond_the_text_are_refused_before_allocating() {
        let text = "%%MatrixMarket matrix array real general\n30000 30000\n1\n";
        assert_eq!(
            p(text).unwrap_err().message,
            format!(
                "t.mtx: a 30000×30000 general array needs 900000000 values, but the file ({} \
                 bytes) can hold at most {}",
                text.len(),
                text.len().div_ceil(2)
            )
        );
        // The bound is only an upper bound: a file that is merely short still says how short.
        assert_eq!(
            p("%%MatrixMarket matrix array real general\n2 2\n1 2 3\n")
                .unwrap_err()
                .message,
            "t.mtx: a 2×2 general array needs 4 values, but the file has 3"
        );
    }

    #[test]
    fn skew_symmetric_array_and_too_many_values() {
        let a = "%%MatrixMarket matrix array real skew-symmetric\n3 3\n";
        // The strict lower triangle, column after column: (1,0), (2,0), (2,1).
        assert_eq!(p(&format!("{a}0\n0\n0\n")).unwrap().data, vec![0.0; 9]);
        assert_eq!(
            p(&format!("{a}0\n0\n2\n")).unwrap_err().message,
            "t.mtx:5:1: negative entry -2 at row 1, column 2 (0-based)"
        );
        assert_eq!(
            p(&format!("{a}0 0 0 0\n")).unwrap_err().message,
            "t.mtx:3:7: more values than the 3 a 3×3 skew-symmetric array holds"
        );
        assert_eq!(
            p(&format!("{a}0 0\n")).unwrap_err().message,
            "t.mtx: a 3×3 skew-symmetric array needs 3 values, but the file has 2"
        );
        let m = p("%%MatrixMarket matrix array real symmetric\n3 3\n1 2 3 4 5 6\n").unwrap();
        assert_eq!(m.data, vec![1.0, 2.0, 3.0, 2.0, 4.0, 5.0, 3.0, 5.0, 6.0]);
        // A 1×1 skew-symmetric array holds no value.
        let m = p("%%MatrixMarket matrix array real skew-symmetric\n1 1\n").unwrap();
        assert_eq!(m.data, vec![0.0]);
    }

    #[test]
    fn tokens_are_escaped_and_cut_in_messages() {
        let h = "%%MatrixMarket matrix coordinate real general\n";
        assert_eq!(
            p(&format!("{h}1 1 1\n1 1 \u{1b}]0;pwned\u{7}\n"))
                .unwrap_err()
                .message,
            "t.mtx:3:5: cannot read '\\u{1b}]0;pwned\\u{7}' as a number"
        );
        let long = "7".repeat(100_000) + "x";
        assert_eq!(
            p(&format!("{h}1 1 1\n{long} 1 1\n")).unwrap_err().message,
            format!(
                "t.mtx:3:1: cannot read '{}… (100001 characters)' as a non-negative integer",
                "7".repeat(40)
            )
        );
        assert_eq!(
            p("%%MatrixMarket matrix coordinate real \u{9b}31m\n1 1 1\n")
                .unwrap_err()
                .message,
            "t.mtx:1:39: unsupported symmetry (general, symmetric or skew-symmetric are) '\\u{9b}31m'"
        );
    }

    /// A small deterministic generator (no dependency for it).
    struct Lcg(u64);
    impl Lcg {
        fn below(&mut self, n: usize) -> usize {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((self.0 >> 33) % n as u64) as usize
        }
    }

    /// The blocks of rows that `nmf_io::MtxRows` streams from `text` (written to a file),
    /// over random cuts, row for row the matrix this reader reads whole.
    fn blocks_equal_the_whole(text: &str, rng: &mut Lcg) {
        let Ok(MtxMatrix::Sparse(whole)) = parse_sparse_cancellable(text, "t.mtx", None) else {
            panic!("not sparse");
        };
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.mtx");
        std::fs::write(&path, text).unwrap();
        let r = nmf_io::MtxRows::open(&path).unwrap();
        let (m, _) = whole.shape();
        assert_eq!(r.shape(), whole.shape());
        let w = whole.view();
        for _ in 0..4 {
            let mut start = 0;
            while start < m {
                let end = (start + 1 + rng.below(m.div_ceil(4))).min(m);
                let b = r.read_csr::<f64>(start..end).unwrap();
                let bv = b.view();
                for i in start..end {
                    assert_eq!(
                        bv.row(i - start),
                        w.row(i),
                        "row {i} of block {start}..{end}"
                    );
                }
                start = end;
            }
        }
    }

    /// The streamed reader of `nmf-io` gives, block by block, the matrix this reader gives:
    /// the Brown corpus (sorted by row, as distributed) and random files with repeated
    /// entries, explicit zeros, comments and empty rows; and the same message for a bad entry.
    #[test]
    fn streamed_row_blocks_concatenate_to_the_whole_matrix() {
        let mut rng = Lcg(11);
        let gz = include_bytes!("../../data/brown_docterm.mtx.gz");
        let mut text = String::new();
        std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&gz[..]), &mut text)
            .unwrap();
        blocks_equal_the_whole(&text, &mut rng);
        for field in ["real", "integer", "pattern"] {
            for _ in 0..5 {
                let (m, n) = (1 + rng.below(30), 1 + rng.below(9));
                let mut lines = vec![];
                for i in 1..=m {
                    for _ in 0..rng.below(4) {
                        let x = rng.below(5);
                        lines.push(match field {
                            "pattern" => format!("{i} {}", 1 + rng.below(n)),
                            "integer" => format!("{i} {} {x}", 1 + rng.below(n)),
                            _ => format!("{i} {} {}", 1 + rng.below(n), x as f64 / 4.0),
                        });
                    }
                    if rng.below(3) == 0 {
                        lines.push("% a comment".into());
                    }
                }
                let entries = lines.iter().filter(|l| !l.starts_with('%')).count();
                let text = format!(
                    "%%MatrixMarket matrix coordinate {field} general\n{m} {n} {entries}\n{}\n",
                    lines.join("\n")
                );
                blocks_equal_the_whole(&text, &mut rng);
            }
        }
        // A bad entry: the same message, file:line:column.
        let h = "%%MatrixMarket matrix coordinate real general\n";
        for bad in ["2 1 -1", "2 1 abc", "2 4 1", "3 1 1", "2 1 inf", "2 1"] {
            let text = format!("{h}2 3 2\n1 1 1\n{bad}\n");
            let whole = parse(&text, "t.mtx").unwrap_err().message;
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("t.mtx");
            std::fs::write(&path, &text).unwrap();
            let streamed = nmf_io::MtxRows::open(&path)
                .and_then(|r| r.read_csr::<f64>(0..2))
                .unwrap_err()
                .to_string()
                .replace(&path.display().to_string(), "t.mtx");
            assert_eq!(streamed, whole, "{bad}");
        }
    }
}
