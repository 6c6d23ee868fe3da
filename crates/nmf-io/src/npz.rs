//! A SciPy sparse `.npz` file (`scipy.sparse.save_npz`) in the csr format, read by blocks of
//! rows: `indptr` gives where the block's entries are, and only that range of `indices` and
//! `data` is read. Memory is the block's entries.
//!
//! The members of a `.npz` are stored (`save_npz(..., compressed=False)`) or deflated (the
//! default). A stored member is read by seeking to the elements wanted. A deflated one cannot
//! seek: it is inflated forward from where the last block ended (each member has its own
//! decoder), and from its start again when a block before that is asked for, so a pass over
//! consecutive blocks inflates each member once, as reading the whole file would; for
//! access in any order, save the file uncompressed.
//!
//! The csc and coo formats are refused (with how to save the file as csr): their entries are
//! stored by column or in any order, so every block would need a pass over all of them.
//!
//! The checks and their messages are those of the `nmf` command's whole-file reader: the
//! members' types and lengths, `indptr` running from 0 to the number of entries without
//! decreasing, column indices within the matrix, values finite and ≥ 0 (with their row,
//! column and place in `data.npy`). Unsorted columns and repeated entries (which SciPy allows)
//! are sorted and summed.

use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use nmf_core::sparse::Csr;
use nmf_core::streamed::{RowBlock, RowSource};
use nmf_core::{NmfError, Scalar};

use crate::entry::{RowsBuilder, check_range, invalid, io, system};
use crate::npy_header::{self, Elem};

/// The largest index read exactly (indices are read through `f64`).
const MAX_INDEX: f64 = 9_007_199_254_740_992.0; // 2⁵³

/// The most bytes read of the small members (`format.npy`, `shape.npy`).
const SMALL: u64 = 1 << 20;

/// How a member is stored in the zip.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Method {
    Stored,
    Deflated,
}

/// Where a 1-D member is and what it holds.
#[derive(Debug, Clone)]
struct Member {
    name: &'static str,
    method: Method,
    /// The offset of its (compressed) bytes in the file, and their number.
    data_start: u64,
    compressed: u64,
    /// The bytes of its `.npy` preamble and header.
    header: u64,
    elem: Elem,
    len: usize,
}

/// A deflated member's decoder and the element it is at.
struct Inflating {
    reader: Box<dyn Read + Send>,
    pos: usize,
}

impl std::fmt::Debug for Inflating {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Inflating {{ pos: {} }}", self.pos)
    }
}

#[derive(Debug)]
struct State {
    /// For stored members.
    file: File,
    /// For deflated members: `indptr`, `indices`, `data`.
    inflating: [Option<Inflating>; 3],
    bufs: [Vec<u8>; 3],
}

/// An open SciPy csr `.npz` file, read by blocks of rows.
#[derive(Debug)]
pub struct NpzRows {
    path: PathBuf,
    source: String,
    rows: usize,
    cols: usize,
    nnz: usize,
    /// `indptr`, `indices`, `data`.
    members: [Member; 3],
    state: Mutex<State>,
}

/// The text of `format.npy`: a 0-d array of bytes (`|S3`, as SciPy writes it) or of a unicode
/// string (`<U3`).
fn format_string(bytes: &[u8]) -> Result<String, String> {
    let len = npy_header::header_len(bytes).unwrap_or(0).min(bytes.len());
    let header =
        npy_header::parse(&bytes[..len], 0).map_err(|e| format!("cannot read the format ({e})"))?;
    let npyz::DType::Plain(t) = header.dtype() else {
        return Err("the format is not a string".into());
    };
    let payload = &bytes[len..];
    let size = t.size_field() as usize;
    Ok(match t.type_char() {
        npyz::TypeChar::ByteStr => payload[..size.min(payload.len())]
            .iter()
            .take_while(|&&b| b != 0)
            .map(|&b| char::from(b))
            .collect(),
        npyz::TypeChar::UnicodeStr => payload[..(4 * size).min(payload.len())]
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .take_while(|&c| c != 0)
            .map(|c| char::from_u32(c).unwrap_or('?'))
            .collect(),
        _ => return Err("the format is not a string".into()),
    })
}

/// An excerpt for messages (control characters escaped, at most 40 characters).
fn excerpt(s: &str) -> String {
    let mut out: String = s.chars().take(40).flat_map(char::escape_debug).collect();
    if s.chars().count() > 40 {
        out.push('…');
    }
    out
}

impl NpzRows {
    /// Opens `path`: reads its format and shape, finds its members and checks that `indptr`
    /// runs from 0 to the number of entries.
    ///
    /// # Errors
    /// An [`NmfError::Io`] naming the file and the member for a file that is not a zip, a
    /// member missing, a format other than csr (csc and coo with how to save the file as csr),
    /// members of the wrong type or length, a compression other than stored or deflated.
    pub fn open(path: &Path) -> Result<Self, NmfError> {
        let source = path.display().to_string();
        let err = |m: String| io(&source, m);
        let file = File::open(path).map_err(|e| system(path, &e))?;
        let mut zip = zip::ZipArchive::new(BufReader::new(file))
            .map_err(|e| err(format!("not a SciPy sparse .npz file (not a zip: {e})")))?;
        let missing = |name: &str| {
            err(format!(
                "no {name} in the .npz: is it a SciPy sparse matrix (scipy.sparse.save_npz)?"
            ))
        };
        let mut small = |name: &str| -> Result<Vec<u8>, NmfError> {
            let f = zip.by_name(name).map_err(|_| missing(name))?;
            let mut out = Vec::new();
            f.take(SMALL)
                .read_to_end(&mut out)
                .map_err(|e| err(format!("cannot read {name} ({e})")))?;
            Ok(out)
        };
        let format = format_string(&small("format.npy")?)
            .map_err(|m| io(format!("{source} (format.npy)"), m))?;
        match format.as_str() {
            "csr" => {}
            "csc" | "coo" => {
                return Err(err(format!(
                    "a SciPy {format} matrix cannot be read by blocks of rows (its entries are \
                     stored {}): save it as csr (scipy.sparse.save_npz(path, A.tocsr()))",
                    if format == "csc" {
                        "column by column"
                    } else {
                        "in any order"
                    }
                )));
            }
            other => {
                return Err(err(format!(
                    "unsupported sparse format '{}' (csr, csc and coo are read; convert with \
                     .tocsr() before save_npz)",
                    excerpt(other)
                )));
            }
        }
        let shape_bytes = small("shape.npy")?;
        let shape = {
            let at = |m: String| io(format!("{source} (shape.npy)"), m);
            let len = npy_header::header_len(&shape_bytes)
                .unwrap_or(0)
                .min(shape_bytes.len());
            let h = npy_header::parse(&shape_bytes[..len], 1).map_err(at)?;
            let elem =
                Elem::of(&h).ok_or_else(|| at("the shape is not an array of numbers".into()))?;
            let payload = &shape_bytes[len..];
            let n = h.shape()[0] as usize;
            if payload.len() < n.saturating_mul(elem.size) {
                return Err(at("the data is cut short".into()));
            }
            payload
                .chunks_exact(elem.size)
                .take(n)
                .map(|c| elem.value(c))
                .collect::<Vec<f64>>()
        };
        let &[rows, cols] = &shape[..] else {
            return Err(err(format!(
                "shape.npy holds {} numbers, a matrix's shape has 2",
                shape.len()
            )));
        };
        let dim = |x: f64, what: &str| -> Result<usize, NmfError> {
            if x.fract() == 0.0 && (0.0..MAX_INDEX).contains(&x) {
                Ok(x as usize)
            } else {
                Err(err(format!("shape.npy: the number of {what} is {x}")))
            }
        };
        let (rows, cols) = (dim(rows, "rows")?, dim(cols, "columns")?);
        if rows == 0 || cols == 0 {
            return Err(err(format!(
                "the matrix is empty ({rows}×{cols}): it needs at least one row and one column"
            )));
        }
        let mut member = |name: &'static str| -> Result<Member, NmfError> {
            let at = |m: String| io(format!("{source} ({name})"), m);
            let mut f = zip.by_name(name).map_err(|_| missing(name))?;
            let method = match f.compression() {
                zip::CompressionMethod::Stored => Method::Stored,
                zip::CompressionMethod::Deflated => Method::Deflated,
                m => {
                    return Err(at(format!(
                        "compression {m} cannot be read (stored or deflated are, as numpy \
                         writes them)"
                    )));
                }
            };
            let (compressed, size) = (f.compressed_size(), f.size());
            let data_start = f
                .data_start()
                .ok_or_else(|| at("the member's data cannot be found in the zip".into()))?;
            let mut pre = Vec::new();
            (&mut f)
                .take(12)
                .read_to_end(&mut pre)
                .map_err(|e| at(format!("cannot read ({e})")))?;
            let hlen = npy_header::header_len(&pre).unwrap_or(pre.len());
            let mut head = pre;
            (&mut f)
                .take((hlen - head.len()) as u64)
                .read_to_end(&mut head)
                .map_err(|e| at(format!("cannot read ({e})")))?;
            let h = npy_header::parse(&head, 1).map_err(at)?;
            let elem = Elem::of(&h)
                .ok_or_else(|| at("unsupported element type (numbers or bool are read)".into()))?;
            let len = h.shape()[0];
            if Some(size)
                != len
                    .checked_mul(elem.size as u64)
                    .and_then(|n| n.checked_add(hlen as u64))
            {
                return Err(at(format!(
                    "{len} entries need {} bytes of data, but the member has {}",
                    len.saturating_mul(elem.size as u64),
                    size.saturating_sub(hlen as u64)
                )));
            }
            let len = usize::try_from(len).map_err(|_| at("too many entries".into()))?;
            Ok(Member {
                name,
                method,
                data_start,
                compressed,
                header: hlen as u64,
                elem,
                len,
            })
        };
        let data = member("data.npy")?;
        let nnz = data.len;
        let indptr = member("indptr.npy")?;
        let indices = member("indices.npy")?;
        for (m, want) in [(&indptr, rows.saturating_add(1)), (&indices, nnz)] {
            if m.len != want {
                return Err(err(format!(
                    "{} has {} entries, {want} were expected",
                    m.name, m.len
                )));
            }
        }
        let file = File::open(path).map_err(|e| system(path, &e))?;
        let me = NpzRows {
            path: path.to_path_buf(),
            source,
            rows,
            cols,
            nnz,
            members: [indptr, indices, data],
            state: Mutex::new(State {
                file,
                inflating: [None, None, None],
                bufs: [Vec::new(), Vec::new(), Vec::new()],
            }),
        };
        {
            let mut st = me.state.lock().unwrap_or_else(|p| p.into_inner());
            me.read_elems(&mut st, 0, 0..1)?;
            let first = me.index(&st.bufs[0], 0, 0, nnz)?;
            me.read_elems(&mut st, 0, rows..rows + 1)?;
            let last = me.index(&st.bufs[0], 0, rows, nnz)?;
            if first != 0 || last != nnz {
                return Err(io(
                    &me.source,
                    format!(
                        "indptr.npy runs from {first} to {last}, it must run from 0 to the \
                         {nnz} entries"
                    ),
                ));
            }
            // (a pass starts at row 0: the decoder starts again from there)
            st.inflating[0] = None;
        }
        Ok(me)
    }

    /// `(rows, columns)`.
    pub fn shape(&self) -> (usize, usize) {
        (self.rows, self.cols)
    }

    /// The stored entries.
    pub fn entries(&self) -> usize {
        self.nnz
    }

    /// Reads elements `range` of member `k` into `st.bufs[k]`.
    fn read_elems(&self, st: &mut State, k: usize, range: Range<usize>) -> Result<(), NmfError> {
        let m = &self.members[k];
        let size = m.elem.size;
        let at = |e: std::io::Error| {
            io(
                format!("{} ({})", self.source, m.name),
                format!("cannot read entries {}..{} ({e})", range.start, range.end),
            )
        };
        let State {
            file,
            inflating,
            bufs,
        } = st;
        let buf = &mut bufs[k];
        buf.resize(range.len() * size, 0);
        match m.method {
            Method::Stored => {
                let offset = m.data_start + m.header + (range.start * size) as u64;
                file.seek(SeekFrom::Start(offset))
                    .and_then(|_| file.read_exact(buf))
                    .map_err(at)?;
            }
            Method::Deflated => {
                let slot = &mut inflating[k];
                if slot.as_ref().is_none_or(|s| s.pos > range.start) {
                    let mut f = File::open(&self.path).map_err(|e| system(&self.path, &e))?;
                    f.seek(SeekFrom::Start(m.data_start)).map_err(at)?;
                    let raw = BufReader::with_capacity(1 << 16, f).take(m.compressed);
                    let mut reader: Box<dyn Read + Send> = Box::new(BufReader::with_capacity(
                        1 << 16,
                        flate2::read::DeflateDecoder::new(raw),
                    ));
                    skip(&mut reader, m.header).map_err(at)?;
                    *slot = Some(Inflating { reader, pos: 0 });
                }
                let s = slot.as_mut().expect("a decoder");
                let result = skip(&mut s.reader, ((range.start - s.pos) * size) as u64)
                    .and_then(|_| s.reader.read_exact(buf));
                if let Err(e) = result {
                    *slot = None;
                    return Err(at(e));
                }
                s.pos = range.end;
            }
        }
        Ok(())
    }

    /// The first element of `buf` (element `place` of member `k`) as an index in `0..=limit`.
    fn index(&self, buf: &[u8], k: usize, place: usize, limit: usize) -> Result<usize, NmfError> {
        let m = &self.members[k];
        let x = m.elem.value(&buf[..m.elem.size]);
        if x.fract() == 0.0 && x >= 0.0 && x <= limit as f64 && x < MAX_INDEX {
            Ok(x as usize)
        } else {
            Err(io(
                &self.source,
                format!("{}[{place}] is {x}, outside 0..={limit}", m.name),
            ))
        }
    }

    /// Rows `rows` as compressed rows, the values in `T`.
    ///
    /// # Errors
    /// As [`RowSource::read_rows`]: an [`NmfError::Io`] naming the file and the member (and
    /// the place in it) for `indptr` decreasing, a column index outside the matrix, a value
    /// negative, NaN, infinite or beyond `T`'s range (with its row and column).
    pub fn read_csr<T: Scalar>(&self, rows: Range<usize>) -> Result<Csr<T>, NmfError> {
        let src = self.source.as_str();
        check_range(src, &rows, self.rows)?;
        let mut guard = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let st = &mut *guard;
        self.read_elems(st, 0, rows.start..rows.end + 1)?;
        let size = self.members[0].elem.size;
        let mut ptr = Vec::with_capacity(rows.len() + 1);
        for (q, c) in st.bufs[0].chunks_exact(size).enumerate() {
            let r = rows.start + q;
            let x = self.index(c, 0, r, self.nnz)?;
            if let Some(&before) = ptr.last()
                && x < before
            {
                return Err(io(
                    src,
                    format!("indptr.npy decreases at {r} ({before} then {x})"),
                ));
            }
            ptr.push(x);
        }
        let (lo, hi) = (ptr[0], ptr[rows.len()]);
        self.read_elems(st, 1, lo..hi)?;
        self.read_elems(st, 2, lo..hi)?;
        let (isize, dsize) = (self.members[1].elem.size, self.members[2].elem.size);
        let data_elem = self.members[2].elem;
        let mut out = RowsBuilder::new();
        for (li, w) in ptr.windows(2).enumerate() {
            let i = rows.start + li;
            for p in w[0]..w[1] {
                let q = p - lo;
                let j = self.index(&st.bufs[1][q * isize..(q + 1) * isize], 1, p, self.cols - 1)?;
                let x = data_elem.value(&st.bufs[2][q * dsize..(q + 1) * dsize]);
                if let Some(what) = invalid(x) {
                    return Err(io(
                        src,
                        format!("{what} at row {i}, column {j} (0-based; data.npy[{p}])"),
                    ));
                }
                out.push(j, x);
            }
            out.end_row(i)?;
        }
        out.finish(src, self.cols, rows.start)
    }
}

/// Reads and drops `n` bytes.
fn skip(r: &mut dyn Read, n: u64) -> std::io::Result<()> {
    let got = std::io::copy(&mut r.take(n), &mut std::io::sink())?;
    if got < n {
        return Err(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            "the member is cut short",
        ));
    }
    Ok(())
}

impl<T: Scalar> RowSource<T> for NpzRows {
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
    use std::io::{Cursor, Write};

    fn npy_raw(dict: &str, payload: &[u8]) -> Vec<u8> {
        let mut h = dict.as_bytes().to_vec();
        while !(10 + h.len() + 1).is_multiple_of(64) {
            h.push(b' ');
        }
        h.push(b'\n');
        let mut out = b"\x93NUMPY\x01\x00".to_vec();
        out.extend_from_slice(&(h.len() as u16).to_le_bytes());
        out.extend_from_slice(&h);
        out.extend_from_slice(payload);
        out
    }

    fn f8(v: &[f64]) -> Vec<u8> {
        let payload: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
        npy_raw(
            &format!(
                "{{'descr': '<f8', 'fortran_order': False, 'shape': ({},), }}",
                v.len()
            ),
            &payload,
        )
    }

    /// Big-endian 32-bit integers (SciPy's index type, in the other byte order).
    fn i4(v: &[usize]) -> Vec<u8> {
        let payload: Vec<u8> = v.iter().flat_map(|&x| (x as i32).to_be_bytes()).collect();
        npy_raw(
            &format!(
                "{{'descr': '>i4', 'fortran_order': False, 'shape': ({},), }}",
                v.len()
            ),
            &payload,
        )
    }

    fn format_npy(f: &str) -> Vec<u8> {
        npy_raw(
            &format!(
                "{{'descr': '|S{}', 'fortran_order': False, 'shape': (), }}",
                f.len()
            ),
            f.as_bytes(),
        )
    }

    fn npz(members: &[(&str, Vec<u8>)], deflate: bool) -> Vec<u8> {
        let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let method = if deflate {
            zip::CompressionMethod::Deflated
        } else {
            zip::CompressionMethod::Stored
        };
        for (name, bytes) in members {
            zip.start_file(
                *name,
                zip::write::SimpleFileOptions::default().compression_method(method),
            )
            .unwrap();
            zip.write_all(bytes).unwrap();
        }
        zip.finish().unwrap().into_inner()
    }

    fn csr_npz(
        m: usize,
        n: usize,
        ptr: &[usize],
        idx: &[usize],
        data: &[f64],
        deflate: bool,
    ) -> Vec<u8> {
        npz(
            &[
                ("format.npy", format_npy("csr")),
                ("shape.npy", i4(&[m, n])),
                ("data.npy", f8(data)),
                ("indices.npy", i4(idx)),
                ("indptr.npy", i4(ptr)),
            ],
            deflate,
        )
    }

    fn dense(c: &Csr<f64>) -> Vec<f64> {
        let (m, n) = c.shape();
        let mut out = vec![0.0; m * n];
        let v = c.view();
        for i in 0..m {
            let (js, xs) = v.row(i);
            for (&j, &x) in js.iter().zip(xs) {
                out[i * n + j] = x;
            }
        }
        out
    }

    /// Random csr arrays (unsorted columns, repeats, empty rows), stored and deflated: blocks
    /// over random cuts, and in reverse order, concatenate to the matrix of the triplets.
    #[test]
    fn blocks_concatenate_to_the_matrix() {
        let dir = tempfile::tempdir().unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        for case in 0..16 {
            let (m, n) = (rng.random_range(1..30), rng.random_range(1..10));
            let (mut ptr, mut idx, mut data, mut ri) = (vec![0], vec![], vec![], vec![]);
            for i in 0..m {
                for _ in 0..rng.random_range(0..5) {
                    idx.push(rng.random_range(0..n));
                    data.push(f64::from(rng.random_range(0..30u32)) / 4.0);
                    ri.push(i);
                }
                ptr.push(idx.len());
            }
            let want = dense(&Csr::from_triplets(m, n, &ri, &idx, &data, Duplicates::Sum).unwrap());
            for deflate in [false, true] {
                let p = dir.path().join(format!("r{case}{deflate}.npz"));
                std::fs::write(&p, csr_npz(m, n, &ptr, &idx, &data, deflate)).unwrap();
                let r = NpzRows::open(&p).unwrap();
                assert_eq!((r.shape(), r.entries()), ((m, n), idx.len()));
                for pass in 0..3 {
                    let mut cuts = vec![0];
                    while *cuts.last().unwrap() < m {
                        let l = *cuts.last().unwrap();
                        cuts.push((l + rng.random_range(1..=m.div_ceil(3))).min(m));
                    }
                    let mut blocks: Vec<(usize, Vec<f64>)> = cuts
                        .windows(2)
                        .map(|w| (w[0], dense(&r.read_csr::<f64>(w[0]..w[1]).unwrap())))
                        .collect();
                    if pass == 2 {
                        // In reverse order: every deflated member starts again.
                        blocks = cuts
                            .windows(2)
                            .rev()
                            .map(|w| (w[0], dense(&r.read_csr::<f64>(w[0]..w[1]).unwrap())))
                            .collect();
                        blocks.sort_by_key(|b| b.0);
                    }
                    let all: Vec<f64> = blocks.into_iter().flat_map(|b| b.1).collect();
                    assert_eq!(all, want, "case {case} deflate {deflate} cuts {cuts:?}");
                }
            }
        }
    }

    #[test]
    fn bad_files_are_clear_errors() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("m.npz");
        let open = |bytes: Vec<u8>| {
            std::fs::write(&p, bytes).unwrap();
            NpzRows::open(&p).map_err(|e| e.to_string().replace(&p.display().to_string(), "m.npz"))
        };
        let read = |bytes: Vec<u8>, rows: Range<usize>| {
            open(bytes).and_then(|r| {
                RowSource::<f64>::read_rows(&r, rows)
                    .map(|_| ())
                    .map_err(|e| e.to_string().replace(&p.display().to_string(), "m.npz"))
            })
        };
        let ok = [1.0, 2.0, 3.0];
        assert_eq!(
            read(csr_npz(2, 3, &[0, 2, 3], &[0, 3, 2], &ok, true), 0..2).unwrap_err(),
            "m.npz: indices.npy[1] is 3, outside 0..=2"
        );
        // (only the block that holds it)
        assert!(read(csr_npz(2, 3, &[0, 2, 3], &[0, 2, 3], &ok, true), 0..1).is_ok());
        assert_eq!(
            read(csr_npz(3, 3, &[0, 2, 1, 3], &[0, 2, 2], &ok, false), 0..3).unwrap_err(),
            "m.npz: indptr.npy decreases at 2 (2 then 1)"
        );
        assert_eq!(
            open(csr_npz(2, 3, &[1, 2, 3], &[0, 2, 2], &ok, false)).unwrap_err(),
            "m.npz: indptr.npy runs from 1 to 3, it must run from 0 to the 3 entries"
        );
        assert_eq!(
            open(csr_npz(2, 3, &[0, 2], &[0, 2, 2], &ok, false)).unwrap_err(),
            "m.npz: indptr.npy has 2 entries, 3 were expected"
        );
        assert_eq!(
            read(
                csr_npz(2, 3, &[0, 2, 3], &[0, 2, 2], &[1.0, -2.0, 3.0], true),
                0..2
            )
            .unwrap_err(),
            "m.npz: negative entry -2 at row 0, column 2 (0-based; data.npy[1])"
        );
        assert_eq!(
            read(
                csr_npz(
                    2,
                    3,
                    &[0, 2, 3],
                    &[0, 2, 2],
                    &[1.0, 2.0, f64::INFINITY],
                    true
                ),
                1..2
            )
            .unwrap_err(),
            "m.npz: non-finite entry (inf) at row 1, column 2 (0-based; data.npy[2])"
        );
        for (f, how) in [("csc", "column by column"), ("coo", "in any order")] {
            let e = open(npz(
                &[("format.npy", format_npy(f)), ("shape.npy", i4(&[2, 3]))],
                false,
            ))
            .unwrap_err();
            assert_eq!(
                e,
                format!(
                    "m.npz: a SciPy {f} matrix cannot be read by blocks of rows (its entries \
                     are stored {how}): save it as csr (scipy.sparse.save_npz(path, A.tocsr()))"
                )
            );
        }
        assert!(
            open(npz(
                &[
                    ("format.npy", format_npy("csr")),
                    ("shape.npy", i4(&[2, 3]))
                ],
                false
            ))
            .unwrap_err()
            .starts_with("m.npz: no data.npy in the .npz")
        );
        assert!(
            open(b"PK not a zip".to_vec())
                .unwrap_err()
                .starts_with("m.npz: not a SciPy sparse .npz file")
        );
    }
}
