//! Each rank's block of rows of V, read from the file without reading the rest where the
//! format allows it:
//! - **`.npy`** (little-endian `f8` or `f4`, C order, 2-D): the header gives the shape, and a
//!   rank seeks to its first row and reads its rows only.
//! - **`.mtx`** (Matrix Market `coordinate`, `real`/`integer`/`pattern`, `general`): the
//!   entries may come in any order, so every rank scans the whole file and keeps the entries
//!   of its rows (the file is read P times in all; its rows' entries only are stored).
//!   Repeated entries are summed.
//! - **`.npz`** (SciPy sparse, `scipy.sparse.save_npz`: csr, csc or coo): see [`npz`]; a csr
//!   rank reads `indptr` and its rows' range of `indices` and `data`, a csc or coo rank reads
//!   the entries as a stream and keeps those of its rows.
//!
//! The values of a `.npy` block are checked by the fit, collectively (a negative, NaN or
//! infinite entry is reported with its global row and column on every rank); those of a `.mtx`
//! file here, with their line; those of a `.npz` file here, with their row, column and place.

use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::ops::Range;
use std::path::Path;

use nmf_core::sparse::SparseData;

use crate::Block;

pub mod npz;

/// The element type of a `.npy` file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dtype {
    /// `<f8`.
    F64,
    /// `<f4`.
    F32,
}

impl Dtype {
    fn size(self) -> usize {
        match self {
            Dtype::F64 => 8,
            Dtype::F32 => 4,
        }
    }
}

/// What a `.npy` header says.
#[derive(Debug, Clone, Copy)]
pub struct NpyHeader {
    /// Rows.
    pub rows: usize,
    /// Columns.
    pub cols: usize,
    /// The element type.
    pub dtype: Dtype,
    /// The byte offset of the data.
    pub offset: u64,
}

pub(crate) fn err(path: &Path, what: impl std::fmt::Display) -> String {
    format!("{}: {what}", path.display())
}

/// The value of `key` in a `.npy` header dict (`'key': value`), as text up to the next `,`
/// outside parentheses.
pub(crate) fn field<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    let at = text.find(&format!("'{key}'"))? + key.len() + 2;
    let rest = text[at..].trim_start().strip_prefix(':')?.trim_start();
    let mut depth = 0;
    for (i, c) in rest.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return Some(&rest[..=i]);
                }
            }
            ',' | '}' if depth == 0 => return Some(rest[..i].trim()),
            _ => {}
        }
    }
    None
}

/// Reads and checks the header of a `.npy` file: a 2-D array of little-endian `f8` or `f4`
/// in C order.
///
/// # Errors
/// The path and what is wrong.
pub fn npy_header(f: &mut impl Read, path: &Path) -> Result<NpyHeader, String> {
    let mut pre = [0u8; 8];
    f.read_exact(&mut pre)
        .map_err(|e| err(path, format!("not a .npy file ({e})")))?;
    if &pre[..6] != b"\x93NUMPY" {
        return Err(err(path, "not a .npy file (no \\x93NUMPY magic)"));
    }
    let (len, start) = match pre[6] {
        1 => {
            let mut l = [0u8; 2];
            f.read_exact(&mut l).map_err(|e| err(path, e))?;
            (u16::from_le_bytes(l) as usize, 10)
        }
        2 | 3 => {
            let mut l = [0u8; 4];
            f.read_exact(&mut l).map_err(|e| err(path, e))?;
            (u32::from_le_bytes(l) as usize, 12)
        }
        v => {
            return Err(err(
                path,
                format!(".npy format version {v} is not supported"),
            ));
        }
    };
    if len > 1 << 20 {
        return Err(err(
            path,
            format!("a .npy header of {len} bytes is too long"),
        ));
    }
    let mut text = vec![0u8; len];
    f.read_exact(&mut text)
        .map_err(|e| err(path, format!("truncated .npy header ({e})")))?;
    let text = String::from_utf8_lossy(&text);
    let descr = field(&text, "descr").ok_or_else(|| err(path, "the .npy header has no 'descr'"))?;
    let dtype = match descr.trim_matches(|c| c == '\'' || c == '"') {
        "<f8" => Dtype::F64,
        "<f4" => Dtype::F32,
        d => {
            return Err(err(
                path,
                format!("element type {d} is not supported by nmf-mpi (little-endian f8 or f4)"),
            ));
        }
    };
    match field(&text, "fortran_order") {
        Some("False") => {}
        Some(_) => {
            return Err(err(
                path,
                "a Fortran-order .npy cannot be read by blocks of rows: save it in C order",
            ));
        }
        None => return Err(err(path, "the .npy header has no 'fortran_order'")),
    }
    let shape = field(&text, "shape").ok_or_else(|| err(path, "the .npy header has no 'shape'"))?;
    let dims: Vec<usize> = shape
        .trim_matches(|c| c == '(' || c == ')')
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse::<usize>())
        .collect::<Result<_, _>>()
        .map_err(|_| err(path, format!("bad .npy shape {shape}")))?;
    let [rows, cols] = dims[..] else {
        return Err(err(
            path,
            format!("V must be a 2-D array, the .npy shape is {shape}"),
        ));
    };
    Ok(NpyHeader {
        rows,
        cols,
        dtype,
        offset: (start + len) as u64,
    })
}

/// `count` values of `dtype` from little-endian bytes, as `f64`.
///
/// # Errors
/// If the bytes are too few.
pub fn decode(raw: &[u8], dtype: Dtype, count: usize, path: &Path) -> Result<Vec<f64>, String> {
    let size = dtype.size();
    if raw.len() < count * size {
        return Err(err(
            path,
            format!(
                "the .npy data is truncated: {} bytes where {} are needed",
                raw.len(),
                count * size
            ),
        ));
    }
    Ok(raw[..count * size]
        .chunks_exact(size)
        .map(|c| match dtype {
            Dtype::F64 => f64::from_le_bytes(c.try_into().expect("8 bytes")),
            Dtype::F32 => f32::from_le_bytes(c.try_into().expect("4 bytes")) as f64,
        })
        .collect())
}

/// The shape `(rows, cols)` of the matrix in `path` (`.npy`, `.mtx` or `.npz`), from its
/// header (or `shape.npy`) only.
///
/// # Errors
/// The path and what is wrong (unreadable, unknown extension, bad header).
pub fn shape(path: &Path) -> Result<(usize, usize), String> {
    let mut f = std::fs::File::open(path).map_err(|e| err(path, e))?;
    match extension(path)? {
        Kind::Npy => npy_header(&mut f, path).map(|h| (h.rows, h.cols)),
        Kind::Mtx => mtx_header(&mut BufReader::new(f), path).map(|h| (h.rows, h.cols)),
        Kind::Npz => npz::shape(path).map(|(_, m, n)| (m, n)),
    }
}

enum Kind {
    Npy,
    Mtx,
    Npz,
}

fn extension(path: &Path) -> Result<Kind, String> {
    match path.extension().and_then(|e| e.to_str()) {
        Some("npy") => Ok(Kind::Npy),
        Some("mtx") => Ok(Kind::Mtx),
        Some("npz") => Ok(Kind::Npz),
        _ => Err(err(
            path,
            "nmf-mpi reads .npy (dense), .mtx (sparse, coordinate) and .npz (SciPy sparse) files",
        )),
    }
}

/// The rows `rows` of the matrix in `path`: dense for `.npy`, sparse for `.mtx` and `.npz`.
///
/// # Errors
/// The path and what is wrong (with the line of a `.mtx` file).
pub fn block(path: &Path, rows: Range<usize>) -> Result<Block, String> {
    let f = std::fs::File::open(path).map_err(|e| err(path, e))?;
    match extension(path)? {
        Kind::Npy => npy_rows(f, path, rows),
        Kind::Mtx => mtx_rows(f, path, rows),
        Kind::Npz => npz::rows(path, rows),
    }
}

fn npy_rows(mut f: std::fs::File, path: &Path, rows: Range<usize>) -> Result<Block, String> {
    let h = npy_header(&mut f, path)?;
    let row_bytes = h.cols * h.dtype.size();
    f.seek(SeekFrom::Start(h.offset + (rows.start * row_bytes) as u64))
        .map_err(|e| err(path, e))?;
    let mut raw = vec![0u8; rows.len() * row_bytes];
    f.read_exact(&mut raw).map_err(|e| {
        err(
            path,
            format!("the .npy data is truncated before row {} ({e})", rows.end),
        )
    })?;
    let data = decode(&raw, h.dtype, rows.len() * h.cols, path)?;
    let n = h.cols;
    Ok(Block::Dense(faer::Mat::from_fn(rows.len(), n, |i, j| {
        data[i * n + j]
    })))
}

/// The block `rows` × `cols` of a `.npy` file (the 2-D grid's block V_ij): each row's
/// columns `cols` only are read (one seek and one read per row).
///
/// # Errors
/// The path and what is wrong (a bad header, data that ends before the block does).
pub fn npy_block(path: &Path, rows: Range<usize>, cols: Range<usize>) -> Result<Block, String> {
    let mut f = std::fs::File::open(path).map_err(|e| err(path, e))?;
    let h = npy_header(&mut f, path)?;
    if rows.end > h.rows || cols.end > h.cols {
        return Err(err(
            path,
            format!(
                "the block {rows:?} × {cols:?} lies outside the {}×{} matrix",
                h.rows, h.cols
            ),
        ));
    }
    let size = h.dtype.size();
    let len = cols.len() * size;
    let mut raw = vec![0u8; rows.len() * len];
    for (t, i) in rows.clone().enumerate() {
        f.seek(SeekFrom::Start(
            h.offset + ((i * h.cols + cols.start) * size) as u64,
        ))
        .and_then(|_| f.read_exact(&mut raw[t * len..(t + 1) * len]))
        .map_err(|e| err(path, format!("the .npy data is truncated in row {i} ({e})")))?;
    }
    let data = decode(&raw, h.dtype, rows.len() * cols.len(), path)?;
    let nj = cols.len();
    Ok(Block::Dense(faer::Mat::from_fn(rows.len(), nj, |i, j| {
        data[i * nj + j]
    })))
}

struct MtxHeader {
    rows: usize,
    cols: usize,
    nnz: usize,
    pattern: bool,
    /// The line of the size line (1-based).
    line: usize,
}

fn mtx_header(r: &mut impl BufRead, path: &Path) -> Result<MtxHeader, String> {
    let mut line = String::new();
    let mut no = 0;
    let mut next = |line: &mut String, no: &mut usize| -> Result<bool, String> {
        line.clear();
        *no += 1;
        Ok(r.read_line(line).map_err(|e| err(path, e))? > 0)
    };
    if !next(&mut line, &mut no)? {
        return Err(err(path, "empty file"));
    }
    let banner: Vec<String> = line.split_whitespace().map(str::to_lowercase).collect();
    if banner.len() != 5 || banner[0] != "%%matrixmarket" || banner[1] != "matrix" {
        return Err(err(
            path,
            "line 1: not a Matrix Market header (%%MatrixMarket matrix ...)",
        ));
    }
    if banner[2] != "coordinate" {
        return Err(err(
            path,
            "line 1: only the coordinate format is read by nmf-mpi (use .npy for dense V)",
        ));
    }
    let pattern = match banner[3].as_str() {
        "real" | "integer" | "double" => false,
        "pattern" => true,
        f => {
            return Err(err(
                path,
                format!("line 1: field {f} is not supported (real, integer, pattern)"),
            ));
        }
    };
    if banner[4] != "general" {
        return Err(err(
            path,
            format!(
                "line 1: symmetry {} is not supported (general only)",
                banner[4]
            ),
        ));
    }
    loop {
        if !next(&mut line, &mut no)? {
            return Err(err(path, "no size line"));
        }
        let t = line.trim();
        if t.is_empty() || t.starts_with('%') {
            continue;
        }
        let v: Vec<usize> = t
            .split_whitespace()
            .map(str::parse)
            .collect::<Result<_, _>>()
            .map_err(|_| err(path, format!("line {no}: bad size line {t:?}")))?;
        let [rows, cols, nnz] = v[..] else {
            return Err(err(
                path,
                format!("line {no}: the size line needs rows, columns, entries"),
            ));
        };
        return Ok(MtxHeader {
            rows,
            cols,
            nnz,
            pattern,
            line: no,
        });
    }
}

fn mtx_rows(f: std::fs::File, path: &Path, rows: Range<usize>) -> Result<Block, String> {
    let mut r = BufReader::with_capacity(1 << 20, f);
    let h = mtx_header(&mut r, path)?;
    let (mut ri, mut ci, mut vi) = (Vec::new(), Vec::new(), Vec::new());
    let mut line = String::new();
    let (mut no, mut seen) = (h.line, 0usize);
    loop {
        line.clear();
        if r.read_line(&mut line).map_err(|e| err(path, e))? == 0 {
            break;
        }
        no += 1;
        let t = line.trim();
        if t.is_empty() || t.starts_with('%') {
            continue;
        }
        seen += 1;
        let mut it = t.split_whitespace();
        let bad = |what: &str| err(path, format!("line {no}: {what} in {t:?}"));
        let i: usize = it
            .next()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| bad("bad row"))?;
        let j: usize = it
            .next()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| bad("bad column"))?;
        if i == 0 || i > h.rows || j == 0 || j > h.cols {
            return Err(bad(&format!(
                "entry outside the {}×{} matrix (1-based)",
                h.rows, h.cols
            )));
        }
        if !rows.contains(&(i - 1)) {
            continue;
        }
        let x: f64 = if h.pattern {
            1.0
        } else {
            it.next()
                .and_then(|s| s.parse().ok())
                .ok_or_else(|| bad("bad value"))?
        };
        if !(x.is_finite() && x >= 0.0) {
            return Err(bad(&format!(
                "V must be finite and ≥ 0, entry ({i}, {j}) (1-based) is {x}"
            )));
        }
        ri.push(i - 1 - rows.start);
        ci.push(j - 1);
        vi.push(x);
    }
    if seen != h.nnz {
        return Err(err(
            path,
            format!("the size line says {} entries, the file has {seen}", h.nnz),
        ));
    }
    SparseData::from_triplets(rows.len(), h.cols, &ri, &ci, &vi)
        .map(Block::Sparse)
        .map_err(|e| err(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn npy(dir: &Path, name: &str, header: &str, data: &[f64]) -> std::path::PathBuf {
        let mut h = header.to_string();
        while !(10 + h.len() + 1).is_multiple_of(64) {
            h.push(' ');
        }
        h.push('\n');
        let mut b = b"\x93NUMPY\x01\x00".to_vec();
        b.extend_from_slice(&(h.len() as u16).to_le_bytes());
        b.extend_from_slice(h.as_bytes());
        for x in data {
            b.extend_from_slice(&x.to_le_bytes());
        }
        let p = dir.join(name);
        std::fs::write(&p, b).unwrap();
        p
    }

    /// A block of rows of a `.npy` is those rows, whichever rows.
    #[test]
    fn npy_block_is_its_rows() {
        let dir = tempfile::tempdir().unwrap();
        let data: Vec<f64> = (0..20).map(|x| x as f64).collect();
        let p = npy(
            dir.path(),
            "v.npy",
            "{'descr': '<f8', 'fortran_order': False, 'shape': (5, 4), }",
            &data,
        );
        assert_eq!(shape(&p).unwrap(), (5, 4));
        let Block::Dense(m) = block(&p, 2..4).unwrap() else {
            panic!("dense")
        };
        assert_eq!((m.nrows(), m.ncols()), (2, 4));
        for i in 0..2 {
            for j in 0..4 {
                assert_eq!(m[(i, j)], data[(2 + i) * 4 + j]);
            }
        }
    }

    /// A block of rows and columns of a `.npy` is that block; one beyond the data is refused.
    #[test]
    fn npy_block_is_its_rows_and_columns() {
        let dir = tempfile::tempdir().unwrap();
        let data: Vec<f64> = (0..20).map(|x| x as f64).collect();
        let p = npy(
            dir.path(),
            "v.npy",
            "{'descr': '<f8', 'fortran_order': False, 'shape': (5, 4), }",
            &data,
        );
        let Block::Dense(m) = npy_block(&p, 1..4, 2..4).unwrap() else {
            panic!("dense")
        };
        assert_eq!((m.nrows(), m.ncols()), (3, 2));
        for i in 0..3 {
            for j in 0..2 {
                assert_eq!(m[(i, j)], data[(1 + i) * 4 + 2 + j]);
            }
        }
        let e = npy_block(&p, 1..6, 0..1).err().expect("refused");
        assert!(e.contains("outside the 5×4 matrix"), "{e}");
        let t = npy(
            dir.path(),
            "t.npy",
            "{'descr': '<f8', 'fortran_order': False, 'shape': (3, 2), }",
            &[1.0; 5],
        );
        let e = npy_block(&t, 2..3, 1..2).err().expect("refused");
        assert!(e.contains("truncated in row 2"), "{e}");
    }

    /// Headers that cannot be read by rows are refused with the reason.
    #[test]
    fn npy_refusals_say_why() {
        let dir = tempfile::tempdir().unwrap();
        let cases = [
            (
                "{'descr': '<f8', 'fortran_order': True, 'shape': (2, 2), }",
                "Fortran-order",
            ),
            (
                "{'descr': '<i8', 'fortran_order': False, 'shape': (2, 2), }",
                "element type <i8",
            ),
            (
                "{'descr': '<f8', 'fortran_order': False, 'shape': (4,), }",
                "2-D",
            ),
        ];
        for (i, (h, needle)) in cases.iter().enumerate() {
            let p = npy(dir.path(), &format!("b{i}.npy"), h, &[0.0; 4]);
            let e = block(&p, 0..1).err().expect("refused");
            assert!(e.contains(needle), "{e:?} lacks {needle:?}");
        }
        // Truncated data: the rows asked for are not all there.
        let p = npy(
            dir.path(),
            "t.npy",
            "{'descr': '<f8', 'fortran_order': False, 'shape': (3, 2), }",
            &[1.0; 4],
        );
        let e = block(&p, 1..3).err().expect("refused");
        assert!(e.contains("truncated before row 3"), "{e}");
    }

    /// A `.mtx` block keeps its rows' entries (any order in the file, duplicates summed), and
    /// a bad line is reported with its number, whether or not its row is in the block.
    #[test]
    fn mtx_block_and_line_errors() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("v.mtx");
        let text = "%%MatrixMarket matrix coordinate real general\n% c\n4 3 5\n4 1 2\n1 1 1\n2 3 5\n2 3 1\n3 2 7\n";
        std::fs::write(&p, text).unwrap();
        let Block::Sparse(s) = block(&p, 1..3).unwrap() else {
            panic!("sparse")
        };
        assert_eq!(s.shape(), (2, 3));
        let csr = s.csr();
        let mut got = vec![];
        for i in 0..2 {
            let (cols, vals) = csr.row(i);
            got.extend(cols.iter().zip(vals).map(|(&j, &x)| (i, j, x)));
        }
        assert_eq!(got, vec![(0, 2, 6.0), (1, 1, 7.0)]);
        for (bad, needle) in [
            ("5 1 1", "line 4: entry outside the 4×3 matrix"),
            ("2 1 -1", "line 4: V must be finite and ≥ 0"),
            ("2 x 1", "line 4: bad column"),
        ] {
            let t = format!("%%MatrixMarket matrix coordinate real general\n% c\n4 3 1\n{bad}\n");
            std::fs::write(&p, t).unwrap();
            let e = block(&p, 1..2).err().expect("refused");
            assert!(e.contains(needle), "{e:?} lacks {needle:?}");
        }
        std::fs::write(
            &p,
            "%%MatrixMarket matrix coordinate real general\n4 3 2\n1 1 1\n",
        )
        .unwrap();
        let e = block(&p, 0..4).err().expect("refused");
        assert!(e.contains("says 2 entries, the file has 1"), "{e}");
    }
}
