//! A Matrix Market `coordinate` file read by blocks of rows, with memory bounded by the block.
//!
//! **The entries must be sorted by row** (the columns of a row in any order), as
//! `scipy.io.mmwrite` of a csr or coo matrix built row by row, and most exporters, write them.
//! Opening the file makes one pass over it that checks the order, the row indices and the
//! number of entries, and records where the entries of every `s`-th row start (s = 1 for up
//! to 2¹⁹ rows, so the index holds at most 2¹⁹ places, 16 bytes each). Reading rows `a..b`
//! then seeks to the recorded place at or before row `a` (or goes on from where the last
//! block ended, as a pass over consecutive blocks does) and reads up to the first entry of a
//! later row: each pass reads the file once.
//!
//! A file out of order is refused at open with the line where the order breaks and a shell
//! command that sorts it. The alternatives were worse: reading the entries of a block from an
//! unsorted file means scanning the whole file for every block (P passes for P blocks), and
//! sorting it here means a copy of the file or memory in O(nnz).
//!
//! The entries are checked as the `nmf` command's whole-file reader checks them, with the same
//! messages (`file:line:column: ...`): an index outside the matrix, a value that is not a
//! number (an integer, for an `integer` file), negative, NaN or infinite. Repeated entries are
//! summed and zeros are not stored, as there. The values are checked when their block is read
//! (the pass at open reads row indices only), so a bad value stops the first pass that reaches
//! it.
//!
//! Refused, with the reason and what to do: `array` files (stored column by column),
//! `symmetric` and `skew-symmetric` files (each stored entry stands for its mirror too, which
//! belongs to an earlier row: a block would need the whole rest of the file), and
//! gzip-compressed files (which cannot seek).

use std::fs::File;
use std::io::Read;
use std::ops::Range;
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use nmf_core::sparse::Csr;
use nmf_core::streamed::{RowBlock, RowSource};
use nmf_core::{NmfError, Scalar};

use crate::entry::{RowsBuilder, at, check_range, invalid, io, system};
use crate::lines::{LineError, Lines, MAX_LINE};

/// At most this many places are recorded at open.
const MAX_PLACES: usize = 1 << 19;

/// The field of the file's values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Real,
    Integer,
    Pattern,
}

/// An open, indexed Matrix Market coordinate file, read by blocks of rows.
#[derive(Debug)]
pub struct MtxRows {
    source: String,
    rows: usize,
    cols: usize,
    nnz: usize,
    field: Field,
    /// The line of the size line (what the command that sorts the file keeps in front).
    size_line: u64,
    /// Rows between two recorded places.
    stride: usize,
    /// `(offset, line)` of the first entry of a row ≥ `c · stride`, for each `c`
    /// (the end of the file when there is none).
    places: Vec<(u64, u64)>,
    /// The file's length when it was indexed (a file cut short since would otherwise read as
    /// rows without entries).
    len: u64,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    lines: Lines,
    /// `Some(r)`: the next line is the first entry of a row ≥ r (or the end of the file), and
    /// every entry before it is of a row < r.
    next_row: Option<usize>,
}

/// One token of a line: its 1-based character column and its text.
type Token<'a> = (usize, &'a str);

/// Whitespace as the whole-file reader splits on it (`char::is_whitespace` on ASCII).
#[inline]
fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\x0b' | b'\x0c')
}

/// The first tokens (up to 5) of a line and how many there are in all, or `None` when the line
/// is not UTF-8.
fn tokens(line: &[u8]) -> Option<([Token<'_>; 5], usize)> {
    let mut out = [(0, ""); 5];
    let mut n = 0;
    if line.is_ascii() {
        // (ASCII: the byte offset is the character column)
        let text = std::str::from_utf8(line).ok()?;
        let mut i = 0;
        let b = line;
        while i < b.len() {
            while i < b.len() && is_space(b[i]) {
                i += 1;
            }
            if i == b.len() {
                break;
            }
            let s = i;
            while i < b.len() && !is_space(b[i]) {
                i += 1;
            }
            if n < 5 {
                out[n] = (s + 1, &text[s..i]);
            }
            n += 1;
        }
    } else {
        let text = std::str::from_utf8(line).ok()?;
        let mut start: Option<(usize, usize)> = None;
        let mut col = 0;
        for (b, ch) in text.char_indices() {
            col += 1;
            if ch.is_whitespace() {
                if let Some((s, c)) = start.take() {
                    if n < 5 {
                        out[n] = (c, &text[s..b]);
                    }
                    n += 1;
                }
            } else if start.is_none() {
                start = Some((b, col));
            }
        }
        if let Some((s, c)) = start {
            if n < 5 {
                out[n] = (c, &text[s..]);
            }
            n += 1;
        }
    }
    Some((out, n))
}

/// A blank line or a comment.
fn skipped(line: &[u8]) -> bool {
    match line.iter().position(|&b| !is_space(b)) {
        None => true,
        Some(p) => line[p] == b'%',
    }
}

/// An excerpt of a token for messages, as the `nmf` command writes them: control and format
/// characters escaped, cut after 40 characters.
fn excerpt(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars();
    for (shown, c) in chars.by_ref().enumerate() {
        if shown == 40 {
            let total = shown + 1 + chars.count();
            out.push_str(&format!("… ({total} characters)"));
            return out;
        }
        match c {
            '\\' | '"' | '\'' => out.push(c),
            _ => out.extend(c.escape_debug()),
        }
    }
    out
}

fn parse_index(source: &str, line: u64, (col, tok): Token<'_>) -> Result<usize, NmfError> {
    tok.parse::<usize>().map_err(|_| {
        at(
            source,
            line,
            col,
            format!("cannot read '{}' as a non-negative integer", excerpt(tok)),
        )
    })
}

/// A 1-based index in `1..=limit`, as 0-based.
fn index_in(
    source: &str,
    line: u64,
    tok: Token<'_>,
    limit: usize,
    what: &str,
) -> Result<usize, NmfError> {
    let i = parse_index(source, line, tok)?;
    if i == 0 || i > limit {
        return Err(at(
            source,
            line,
            tok.0,
            format!("{what} index {i} is outside 1..={limit}"),
        ));
    }
    Ok(i - 1)
}

fn line_error(source: &str, e: LineError) -> NmfError {
    match e {
        LineError::Io(e) => system(Path::new(source), &e),
        LineError::TooLong(line) => io(
            format!("{source}:{line}:1"),
            format!(
                "the line is longer than {} MiB: is it a Matrix Market file?",
                MAX_LINE >> 20
            ),
        ),
    }
}

fn not_utf8(source: &str, line: u64) -> NmfError {
    at(source, line, 1, "not UTF-8 text; is it a mtx file?")
}

/// `'path'` for a shell command.
fn quoted(path: &str) -> String {
    format!("'{}'", path.replace('\'', "'\\''"))
}

impl MtxRows {
    /// Opens `path`, checks its header and indexes its rows (one pass over the file).
    ///
    /// # Errors
    /// As [`open_cancellable`](Self::open_cancellable).
    pub fn open(path: &Path) -> Result<Self, NmfError> {
        Self::open_cancellable(path, None)
    }

    /// [`open`](Self::open), stopping with [`NmfError::Interrupted`] when `cancel` becomes
    /// true (checked every 2¹⁶ lines of the pass).
    ///
    /// # Errors
    /// An [`NmfError::Io`] naming the file (and the line and column) for an unreadable file,
    /// a header the whole-file reader refuses, an `array`, symmetric or gzip-compressed file,
    /// a row index that is not a number or outside the matrix, entries out of row order (with
    /// the command that sorts them), or a number of entries other than the size line's.
    pub fn open_cancellable(path: &Path, cancel: Option<&AtomicBool>) -> Result<Self, NmfError> {
        Self::open_with(path, cancel, MAX_PLACES)
    }

    /// [`open_cancellable`](Self::open_cancellable) recording at most `max_places` places.
    fn open_with(
        path: &Path,
        cancel: Option<&AtomicBool>,
        max_places: usize,
    ) -> Result<Self, NmfError> {
        let source = path.display().to_string();
        let src = source.as_str();
        let mut file = File::open(path).map_err(|e| system(path, &e))?;
        let mut magic = Vec::new();
        (&mut file)
            .take(2)
            .read_to_end(&mut magic)
            .map_err(|e| system(path, &e))?;
        if magic == b"\x1f\x8b" {
            return Err(io(
                src,
                "a gzip-compressed file cannot be read by blocks of rows (it cannot seek): \
                 decompress it first (gunzip -k)",
            ));
        }
        let mut lines = Lines::new(file);
        lines.seek(0, 1).map_err(|e| system(path, &e))?;
        let head = |l: &mut Lines| -> Result<Option<Vec<u8>>, NmfError> {
            let line = l
                .peek()
                .map_err(|e| line_error(src, e))?
                .map(<[u8]>::to_vec);
            if line.is_some() {
                l.advance();
            }
            Ok(line)
        };
        let banner = head(&mut lines)?.ok_or_else(|| io(src, "empty file"))?;
        let banner = banner
            .strip_prefix("\u{feff}".as_bytes())
            .unwrap_or(&banner);
        let (toks, count) = tokens(banner).ok_or_else(|| not_utf8(src, 1))?;
        let word = |k: usize| toks[k].1.to_ascii_lowercase();
        if count == 0 || word(0) != "%%matrixmarket" {
            return Err(at(
                src,
                1,
                1,
                "not a Matrix Market file (the first line must start with %%MatrixMarket)",
            ));
        }
        if count != 5 {
            return Err(at(
                src,
                1,
                1,
                format!(
                    "the header needs 4 words after %%MatrixMarket (matrix, coordinate|array, \
                     real|integer|pattern, general|symmetric|skew-symmetric), found {}",
                    count - 1
                ),
            ));
        }
        let bad = |k: usize, what: &str| {
            at(
                src,
                1,
                toks[k].0,
                format!("unsupported {what} '{}'", excerpt(toks[k].1)),
            )
        };
        if word(1) != "matrix" {
            return Err(bad(1, "object (only 'matrix' is)"));
        }
        match word(2).as_str() {
            "coordinate" => {}
            "array" => {
                return Err(at(
                    src,
                    1,
                    toks[2].0,
                    "a Matrix Market array is stored column by column and cannot be read by \
                     blocks of rows: convert it to .npy (or to a coordinate file)",
                ));
            }
            _ => return Err(bad(2, "format (coordinate or array are)")),
        }
        let field = match word(3).as_str() {
            "real" | "double" => Field::Real,
            "integer" => Field::Integer,
            "pattern" => Field::Pattern,
            _ => return Err(bad(3, "field (real, integer or pattern are)")),
        };
        match word(4).as_str() {
            "general" => {}
            s @ ("symmetric" | "skew-symmetric") => {
                return Err(at(
                    src,
                    1,
                    toks[4].0,
                    format!(
                        "a {s} matrix cannot be read by blocks of rows (each stored entry \
                         stands for its mirror too, in an earlier row): write it out in full \
                         (scipy.io.mmwrite(path, A, symmetry='general'))"
                    ),
                ));
            }
            _ => {
                return Err(bad(
                    4,
                    "symmetry (general, symmetric or skew-symmetric are)",
                ));
            }
        }
        // The size line, after comments and blank lines.
        let (size_line, size) = loop {
            let (_, no) = lines.position();
            let Some(l) = head(&mut lines)? else {
                return Err(io(src, "the size line is missing"));
            };
            if !skipped(&l) {
                break (no, l);
            }
        };
        let (t, n) = tokens(&size).ok_or_else(|| not_utf8(src, size_line))?;
        if n != 3 {
            return Err(at(
                src,
                size_line,
                1,
                format!("the size line must have 3 numbers (rows columns entries), found {n}"),
            ));
        }
        let rows = parse_index(src, size_line, t[0])?;
        let cols = parse_index(src, size_line, t[1])?;
        if rows == 0 || cols == 0 {
            return Err(io(
                src,
                format!(
                    "the matrix is empty ({rows}×{cols}): it needs at least one row and one column"
                ),
            ));
        }
        let nnz = parse_index(src, size_line, t[2])?;

        // The pass: row order, row indices, the number of entries, the places.
        let stride = rows.div_ceil(max_places).max(1);
        let mut places: Vec<(u64, u64)> = Vec::with_capacity(rows.div_ceil(stride));
        let mut count = 0usize;
        let mut prev = 0usize; // the last row seen (0-based)
        let mut seen = 0u64;
        loop {
            seen += 1;
            if seen.is_multiple_of(1 << 16) && cancel.is_some_and(|c| c.load(Ordering::Relaxed)) {
                return Err(NmfError::Interrupted { iteration: 0 });
            }
            let (offset, no) = lines.position();
            let Some(l) = lines.peek().map_err(|e| line_error(src, e))? else {
                break;
            };
            if skipped(l) {
                lines.advance();
                continue;
            }
            if count == nnz {
                return Err(at(
                    src,
                    no,
                    1,
                    format!("more entries than the {nnz} the size line announces"),
                ));
            }
            let (t, _) = tokens(l).ok_or_else(|| not_utf8(src, no))?;
            let i = index_in(src, no, t[0], rows, "row")?;
            if i < prev {
                return Err(Self::unsorted(src, no, t[0].0, i, prev, size_line));
            }
            while places.len() * stride <= i {
                places.push((offset, no));
            }
            prev = i;
            count += 1;
            lines.advance();
        }
        if count != nnz {
            return Err(io(
                src,
                format!("the size line announces {nnz} entries, but the file has {count}"),
            ));
        }
        let end = lines.position();
        let len = std::fs::metadata(path).map_err(|e| system(path, &e))?.len();
        while places.len() * stride < rows {
            places.push(end);
        }
        Ok(MtxRows {
            source,
            rows,
            cols,
            nnz,
            field,
            size_line,
            stride,
            places,
            len,
            state: Mutex::new(State {
                lines,
                next_row: None,
            }),
        })
    }

    /// The error for row `i` (0-based) after row `prev`, at `line`, with the command that
    /// sorts the file (the lines up to the size line kept in front).
    fn unsorted(
        src: &str,
        line: u64,
        col: usize,
        i: usize,
        prev: usize,
        size_line: u64,
    ) -> NmfError {
        let sorted = match src.strip_suffix(".mtx") {
            Some(stem) => format!("{stem}.sorted.mtx"),
            None => format!("{src}.sorted"),
        };
        at(
            src,
            line,
            col,
            format!(
                "row {} comes after row {}: reading by blocks of rows needs the entries sorted \
                 by row; sort them with: (head -n {size_line} {f}; tail -n +{} {f} | LC_ALL=C \
                 sort -n -s -k1,1) > {}",
                i + 1,
                prev + 1,
                size_line + 1,
                quoted(&sorted),
                f = quoted(src),
            ),
        )
    }

    /// `(rows, columns)`.
    pub fn shape(&self) -> (usize, usize) {
        (self.rows, self.cols)
    }

    /// The entries the size line announces (repeated ones counted each time).
    pub fn entries(&self) -> usize {
        self.nnz
    }

    /// Rows `rows` as compressed rows, the values in `T`.
    ///
    /// # Errors
    /// As [`RowSource::read_rows`]: an [`NmfError::Io`] with `file:line:column` for a bad
    /// entry.
    pub fn read_csr<T: Scalar>(&self, rows: Range<usize>) -> Result<Csr<T>, NmfError> {
        let src = self.source.as_str();
        check_range(src, &rows, self.rows)?;
        let mut guard = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let state = &mut *guard;
        let len = state.lines.len().map_err(|e| system(Path::new(src), &e))?;
        if len != self.len {
            return Err(io(
                src,
                format!(
                    "the file was {} bytes when it was opened and is {len} now: it changed \
                     while it was being read",
                    self.len
                ),
            ));
        }
        // From where the last block ended when that is at or after the recorded place.
        let c = rows.start / self.stride;
        let go_on = state
            .next_row
            .is_some_and(|r| r <= rows.start && r >= c * self.stride);
        if !go_on {
            let (offset, line) = self.places[c];
            state
                .lines
                .seek(offset, line)
                .map_err(|e| system(Path::new(src), &e))?;
        }
        state.next_row = None;
        let result = self.read_from(&mut state.lines, &rows);
        if result.is_ok() {
            state.next_row = Some(rows.end);
        }
        result?.finish(src, self.cols, rows.start)
    }

    /// Reads the entries of `rows` from the place of a row at or before `rows.start`.
    fn read_from(&self, lines: &mut Lines, rows: &Range<usize>) -> Result<RowsBuilder, NmfError> {
        let src = self.source.as_str();
        let per_line = if self.field == Field::Pattern { 2 } else { 3 };
        let mut out = RowsBuilder::new();
        let mut prev = 0usize;
        loop {
            let (_, no) = lines.position();
            let Some(l) = lines.peek().map_err(|e| line_error(src, e))? else {
                break;
            };
            if skipped(l) {
                lines.advance();
                continue;
            }
            let (t, n) = tokens(l).ok_or_else(|| not_utf8(src, no))?;
            // (the pass at open checked the rows; they are checked again in case the file
            // changed since)
            let i = index_in(src, no, t[0], self.rows, "row")?;
            if i < prev {
                return Err(Self::unsorted(src, no, t[0].0, i, prev, self.size_line));
            }
            prev = i;
            if i < rows.start {
                lines.advance();
                continue;
            }
            if i >= rows.end {
                break;
            }
            if n != per_line {
                return Err(at(
                    src,
                    no,
                    1,
                    format!(
                        "an entry must have {per_line} numbers (row column{}), found {n}",
                        if per_line == 3 { " value" } else { "" }
                    ),
                ));
            }
            let j = index_in(src, no, t[1], self.cols, "column")?;
            let (x, vcol) = match self.field {
                Field::Pattern => (1.0, t[0].0),
                Field::Integer => (
                    t[2].1.parse::<i64>().map_err(|_| {
                        at(
                            src,
                            no,
                            t[2].0,
                            format!(
                                "cannot read '{}' as an integer (the header says integer)",
                                excerpt(t[2].1)
                            ),
                        )
                    })? as f64,
                    t[2].0,
                ),
                Field::Real => (
                    t[2].1.parse::<f64>().map_err(|_| {
                        at(
                            src,
                            no,
                            t[2].0,
                            format!("cannot read '{}' as a number", excerpt(t[2].1)),
                        )
                    })?,
                    t[2].0,
                ),
            };
            if let Some(what) = invalid(x) {
                return Err(at(
                    src,
                    no,
                    vcol,
                    format!("{what} at row {i}, column {j} (0-based)"),
                ));
            }
            out.end_rows_until(i - rows.start, rows.start)?;
            out.push(j, x);
            lines.advance();
        }
        out.end_rows_until(rows.len(), rows.start)?;
        Ok(out)
    }
}

impl<T: Scalar> RowSource<T> for MtxRows {
    fn shape(&self) -> (usize, usize) {
        (self.rows, self.cols)
    }

    fn read_rows(&self, rows: Range<usize>) -> Result<RowBlock<T>, NmfError> {
        self.read_csr(rows).map(RowBlock::Sparse)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nmf_core::sparse::Duplicates;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    const H: &str = "%%MatrixMarket matrix coordinate real general\n";

    fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    /// The blocks over `cuts`, as one matrix (dense, row-major).
    fn concat(r: &MtxRows, cuts: &[usize]) -> Vec<f64> {
        let n = r.shape().1;
        let mut out = Vec::new();
        for w in cuts.windows(2) {
            let c = r.read_csr::<f64>(w[0]..w[1]).unwrap();
            assert_eq!(c.shape(), (w[1] - w[0], n));
            let v = c.view();
            for i in 0..c.shape().0 {
                let mut row = vec![0.0; n];
                let (js, xs) = v.row(i);
                for (&j, &x) in js.iter().zip(xs) {
                    row[j] = x;
                }
                out.extend(row);
            }
        }
        out
    }

    /// Random cuts of 0..m.
    fn cuts(rng: &mut ChaCha8Rng, m: usize) -> Vec<usize> {
        let mut c = vec![0];
        while *c.last().unwrap() < m {
            let last = *c.last().unwrap();
            c.push((last + rng.random_range(1..=m.div_ceil(3).max(1))).min(m));
        }
        c
    }

    /// A random file sorted by row (columns in any order within a row; repeated entries,
    /// comments, blank lines, empty rows), and its matrix from the same triplets.
    #[test]
    fn blocks_concatenate_to_the_matrix() {
        let dir = tempfile::tempdir().unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        for case in 0..20 {
            let (m, n) = (rng.random_range(1..40), rng.random_range(1..12));
            let mut trip = vec![];
            for i in 0..m {
                if rng.random_bool(0.3) {
                    continue;
                }
                for _ in 0..rng.random_range(0..6) {
                    let x = f64::from(rng.random_range(0..40u32)) / 8.0;
                    trip.push((i, rng.random_range(0..n), x));
                }
            }
            let mut text = format!("{H}% a comment\n\n{m} {n} {}\n", trip.len());
            for (p, &(i, j, x)) in trip.iter().enumerate() {
                if p % 7 == 3 {
                    text.push_str("% between entries\n\n");
                }
                text.push_str(&format!("{}  {}\t{x}\r\n", i + 1, j + 1));
            }
            let p = write(dir.path(), &format!("r{case}.mtx"), &text);
            let (ri, ci, vi): (Vec<_>, Vec<_>, Vec<_>) =
                trip.iter().map(|&(i, j, x)| (i, j, x)).fold(
                    (vec![], vec![], vec![]),
                    |(mut a, mut b, mut c), (i, j, x)| {
                        a.push(i);
                        b.push(j);
                        c.push(x);
                        (a, b, c)
                    },
                );
            let want = Csr::from_triplets(m, n, &ri, &ci, &vi, Duplicates::Sum).unwrap();
            let mut dense = vec![0.0; m * n];
            let v = want.view();
            for i in 0..m {
                let (js, xs) = v.row(i);
                for (&j, &x) in js.iter().zip(xs) {
                    dense[i * n + j] = x;
                }
            }
            for places in [MAX_PLACES, 4, 1] {
                let r = MtxRows::open_with(&p, None, places).unwrap();
                assert_eq!((r.shape(), r.entries()), ((m, n), trip.len()));
                for _ in 0..3 {
                    let c = cuts(&mut rng, m);
                    assert_eq!(concat(&r, &c), dense, "case {case}, cuts {c:?}");
                }
                // Blocks in any order (seeks back to the recorded places), and the whole.
                let c = cuts(&mut rng, m);
                for w in c.windows(2).rev() {
                    let block = r.read_csr::<f64>(w[0]..w[1]).unwrap();
                    let want_block = concat(&r, &[w[0], w[1]]);
                    let mut got = vec![0.0; (w[1] - w[0]) * n];
                    let bv = block.view();
                    for i in 0..w[1] - w[0] {
                        let (js, xs) = bv.row(i);
                        for (&j, &x) in js.iter().zip(xs) {
                            got[i * n + j] = x;
                        }
                    }
                    assert_eq!(got, want_block);
                    assert_eq!(got, dense[w[0] * n..w[1] * n]);
                }
                assert_eq!(r.read_csr::<f64>(0..m).unwrap(), want);
            }
        }
    }

    #[test]
    fn integer_and_pattern_fields() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(
            dir.path(),
            "i.mtx",
            "%%MatrixMarket matrix coordinate integer general\n2 2 2\n1 2 7\n2 1 3\n",
        );
        let c = MtxRows::open(&p).unwrap().read_csr::<f32>(0..2).unwrap();
        assert_eq!(c.view().data(), &[7.0f32, 3.0]);
        let p = write(
            dir.path(),
            "p.mtx",
            "%%MatrixMarket matrix coordinate pattern general\n2 3 2\n2 3\n2 1\n",
        );
        let c = MtxRows::open(&p).unwrap().read_csr::<f64>(1..2).unwrap();
        assert_eq!(
            (c.view().indices(), c.view().data()),
            (&[0usize, 2][..], &[1.0, 1.0][..])
        );
    }

    fn open_err(dir: &Path, text: &str) -> String {
        let p = write(dir, "t.mtx", text);
        MtxRows::open(&p)
            .unwrap_err()
            .to_string()
            .replace(&format!("{}/", dir.display()), "")
    }

    fn read_err(dir: &Path, text: &str, rows: Range<usize>) -> String {
        let p = write(dir, "t.mtx", text);
        let r = MtxRows::open(&p).unwrap();
        RowSource::<f64>::read_rows(&r, rows)
            .unwrap_err()
            .to_string()
            .replace(&format!("{}/", dir.display()), "")
    }

    /// The messages of the whole-file reader, with the file's line and column.
    #[test]
    fn bad_entries_name_their_line() {
        let d = tempfile::tempdir().unwrap();
        let d = d.path();
        let rows4 = |bad: &str| format!("{H}4 3 4\n1 1 1\n2 2 1\n3 1 1\n{bad}\n");
        assert_eq!(
            read_err(d, &rows4("4 1 abc"), 0..4),
            "t.mtx:6:5: cannot read 'abc' as a number"
        );
        // Only the block that holds the entry fails.
        assert_eq!(
            read_err(d, &rows4("4 2 -1"), 3..4),
            "t.mtx:6:5: negative entry -1 at row 3, column 1 (0-based)"
        );
        let p = write(d, "ok.mtx", &rows4("4 2 -1"));
        let r = MtxRows::open(&p).unwrap();
        assert!(r.read_csr::<f64>(0..3).is_ok());
        assert!(r.read_csr::<f64>(3..4).is_err());
        // (and the next pass starts clean)
        assert!(r.read_csr::<f64>(0..3).is_ok());
        assert_eq!(
            read_err(d, &rows4("4 2 nan"), 2..4),
            "t.mtx:6:5: non-finite entry (NaN) at row 3, column 1 (0-based)"
        );
        assert_eq!(
            read_err(d, &rows4("4 4 1"), 0..4),
            "t.mtx:6:3: column index 4 is outside 1..=3"
        );
        assert_eq!(
            read_err(d, &rows4("4 1"), 0..4),
            "t.mtx:6:1: an entry must have 3 numbers (row column value), found 2"
        );
        assert_eq!(
            read_err(
                d,
                "%%MatrixMarket matrix coordinate integer general\n1 2 1\n1 2 2.5\n",
                0..1
            ),
            "t.mtx:3:5: cannot read '2.5' as an integer (the header says integer)"
        );
        // f64 entries beyond f32.
        let p = write(d, "big.mtx", &format!("{H}2 1 1\n2 1 1e300\n"));
        let e = RowSource::<f32>::read_rows(&MtxRows::open(&p).unwrap(), 0..2).unwrap_err();
        assert!(
            e.to_string()
                .ends_with("the entry 1e300 at row 1, column 0 (0-based) is beyond the range of f32: read the file as f64"),
            "{e}"
        );
        // Found at open: rows, counts, order.
        assert_eq!(
            open_err(d, &rows4("5 1 1")),
            "t.mtx:6:1: row index 5 is outside 1..=4"
        );
        assert_eq!(
            open_err(d, &format!("{H}2 2 2\n2 1 1\n")),
            "t.mtx: the size line announces 2 entries, but the file has 1"
        );
        assert_eq!(
            open_err(d, &format!("{H}2 2 1\n2 1 1\n1 1 1\n")),
            "t.mtx:4:1: more entries than the 1 the size line announces"
        );
        assert_eq!(
            open_err(d, &format!("{H}% c\n3 2 3\n1 1 1\n3 1 1\n2 2 1\n")),
            "t.mtx:6:1: row 2 comes after row 3: reading by blocks of rows needs the entries \
             sorted by row; sort them with: (head -n 3 't.mtx'; tail -n +4 't.mtx' | LC_ALL=C \
             sort -n -s -k1,1) > 't.sorted.mtx'"
        );
    }

    /// The sort command of the message sorts the file (where a shell and sort exist).
    #[test]
    fn the_sort_hint_sorts() {
        let d = tempfile::tempdir().unwrap();
        let text = format!("{H}% c\n3 2 4\n3 1 1\n1 2 2\n2 2 5\n1 1 3\n");
        let p = write(d.path(), "u.mtx", &text);
        let e = MtxRows::open(&p).unwrap_err().to_string();
        let cmd = e.split("sort them with: ").nth(1).unwrap();
        let ok = std::process::Command::new("sh")
            .arg("-c")
            .arg(cmd)
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            return; // no shell here
        }
        let sorted = d.path().join("u.sorted.mtx");
        let r = MtxRows::open(&sorted).unwrap();
        let c = r.read_csr::<f64>(0..3).unwrap();
        assert_eq!(c.view().indptr(), &[0, 2, 3, 4]);
        assert_eq!(c.view().data(), &[3.0, 2.0, 5.0, 1.0]);
    }

    #[test]
    fn files_that_cannot_be_streamed_are_refused_with_the_reason() {
        let d = tempfile::tempdir().unwrap();
        let d = d.path();
        assert_eq!(
            open_err(
                d,
                "%%MatrixMarket matrix coordinate real symmetric\n2 2 1\n2 1 1\n"
            ),
            "t.mtx:1:39: a symmetric matrix cannot be read by blocks of rows (each stored \
             entry stands for its mirror too, in an earlier row): write it out in full \
             (scipy.io.mmwrite(path, A, symmetry='general'))"
        );
        assert!(
            open_err(d, "%%MatrixMarket matrix array real general\n1 1\n1\n")
                .starts_with("t.mtx:1:23: a Matrix Market array is stored column by column")
        );
        assert_eq!(
            open_err(
                d,
                "%%MatrixMarket matrix coordinate complex general\n1 1 1\n1 1 1 0\n"
            ),
            "t.mtx:1:34: unsupported field (real, integer or pattern are) 'complex'"
        );
        assert_eq!(
            open_err(d, "1 2 3\n"),
            "t.mtx:1:1: not a Matrix Market file (the first line must start with %%MatrixMarket)"
        );
        assert_eq!(
            open_err(d, &format!("{H}0 5 0\n")),
            "t.mtx: the matrix is empty (0×5): it needs at least one row and one column"
        );
        let p = d.join("g.mtx");
        std::fs::write(&p, b"\x1f\x8b\x08\x00").unwrap();
        assert!(
            MtxRows::open(&p)
                .unwrap_err()
                .to_string()
                .contains("gzip-compressed file cannot be read by blocks of rows")
        );
    }

    /// A file cut short after it was opened is an error, not rows without entries.
    #[test]
    fn a_file_cut_after_opening_is_an_error() {
        let d = tempfile::tempdir().unwrap();
        let text = format!("{H}3 2 3\n1 1 1\n2 1 1\n3 2 2\n");
        let p = write(d.path(), "c.mtx", &text);
        let r = MtxRows::open(&p).unwrap();
        assert!(r.read_csr::<f64>(0..3).is_ok());
        std::fs::write(&p, &text[..text.len() - 6]).unwrap();
        let e = r.read_csr::<f64>(0..3).unwrap_err().to_string();
        assert!(
            e.ends_with("now: it changed while it was being read"),
            "{e}"
        );
    }
}
