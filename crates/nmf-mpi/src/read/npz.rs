//! A rank's block of rows of a SciPy sparse `.npz` file (`scipy.sparse.save_npz`: a zip,
//! deflated or stored, of the `.npy` members `format`, `shape`, `data` and either `indptr` and
//! `indices` (csr, csc) or `row` and `col` (coo)).
//!
//! Every member is read as a stream, element by element, and only the block's entries are
//! kept, so a rank stores its rows' entries and no more:
//! - **csr**: `indptr` gives the range of the block's entries; `indices` and `data` are read
//!   up to the end of that range (the entries before it skipped, not stored).
//! - **csc** and **coo**: the entries of all rows come in column (or any) order, so every rank
//!   reads the whole of `indices`/`row`, `col` and `data` side by side (three readers on the
//!   file) and keeps the entries of its rows.
//!
//! The checks are those of the `.mtx` reader: every index read is checked against the shape,
//! and every kept value must be finite and ≥ 0 (reported with its 0-based row and column and
//! its place in `data.npy`). Repeated entries are summed.

use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::ops::Range;
use std::path::Path;

use nmf_core::sparse::SparseData;

use super::{err, field};
use crate::Block;

type Zip = zip::ZipArchive<BufReader<File>>;

fn open(path: &Path) -> Result<Zip, String> {
    let f = File::open(path).map_err(|e| err(path, e))?;
    zip::ZipArchive::new(BufReader::new(f)).map_err(|e| {
        err(
            path,
            format!("not a SciPy sparse .npz file (not a zip: {e})"),
        )
    })
}

/// The element types an `.npz` member may hold.
#[derive(Debug, Clone, Copy)]
enum Elem {
    F8,
    F4,
    I8,
    I4,
    I2,
    I1,
    U8,
    U4,
    U2,
    U1,
}

impl Elem {
    fn parse(descr: &str) -> Option<Elem> {
        Some(match descr {
            "<f8" => Elem::F8,
            "<f4" => Elem::F4,
            "<i8" => Elem::I8,
            "<i4" => Elem::I4,
            "<i2" => Elem::I2,
            "|i1" => Elem::I1,
            "<u8" => Elem::U8,
            "<u4" => Elem::U4,
            "<u2" => Elem::U2,
            "|u1" => Elem::U1,
            _ => return None,
        })
    }
    fn size(self) -> usize {
        match self {
            Elem::F8 | Elem::I8 | Elem::U8 => 8,
            Elem::F4 | Elem::I4 | Elem::U4 => 4,
            Elem::I2 | Elem::U2 => 2,
            Elem::I1 | Elem::U1 => 1,
        }
    }
    fn decode(self, b: &[u8]) -> f64 {
        let a8 = || -> [u8; 8] { b.try_into().expect("8 bytes") };
        let a4 = || -> [u8; 4] { b.try_into().expect("4 bytes") };
        let a2 = || -> [u8; 2] { b.try_into().expect("2 bytes") };
        match self {
            Elem::F8 => f64::from_le_bytes(a8()),
            Elem::F4 => f32::from_le_bytes(a4()) as f64,
            Elem::I8 => i64::from_le_bytes(a8()) as f64,
            Elem::I4 => i32::from_le_bytes(a4()) as f64,
            Elem::I2 => i16::from_le_bytes(a2()) as f64,
            Elem::I1 => b[0] as i8 as f64,
            Elem::U8 => u64::from_le_bytes(a8()) as f64,
            Elem::U4 => u32::from_le_bytes(a4()) as f64,
            Elem::U2 => u16::from_le_bytes(a2()) as f64,
            Elem::U1 => b[0] as f64,
        }
    }
}

/// The raw header of a `.npy` member: its `descr` (unquoted) and its dimensions.
fn header(r: &mut impl Read, at: &str) -> Result<(String, Vec<usize>), String> {
    let bad = |what: String| format!("{at}: {what}");
    let mut pre = [0u8; 8];
    r.read_exact(&mut pre)
        .map_err(|e| bad(format!("not a .npy member ({e})")))?;
    if &pre[..6] != b"\x93NUMPY" {
        return Err(bad("not a .npy member (no \\x93NUMPY magic)".into()));
    }
    let len = match pre[6] {
        1 => {
            let mut l = [0u8; 2];
            r.read_exact(&mut l).map_err(|e| bad(e.to_string()))?;
            u16::from_le_bytes(l) as usize
        }
        2 | 3 => {
            let mut l = [0u8; 4];
            r.read_exact(&mut l).map_err(|e| bad(e.to_string()))?;
            u32::from_le_bytes(l) as usize
        }
        v => return Err(bad(format!(".npy format version {v} is not supported"))),
    };
    if len > 1 << 20 {
        return Err(bad(format!("a .npy header of {len} bytes is too long")));
    }
    let mut text = vec![0u8; len];
    r.read_exact(&mut text)
        .map_err(|e| bad(format!("truncated .npy header ({e})")))?;
    let text = String::from_utf8_lossy(&text);
    let descr = field(&text, "descr")
        .ok_or_else(|| bad("the .npy header has no 'descr'".into()))?
        .trim_matches(|c| c == '\'' || c == '"')
        .to_string();
    let shape =
        field(&text, "shape").ok_or_else(|| bad("the .npy header has no 'shape'".into()))?;
    let dims = shape
        .trim_matches(|c| c == '(' || c == ')')
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse::<usize>())
        .collect::<Result<_, _>>()
        .map_err(|_| bad(format!("bad .npy shape {shape}")))?;
    Ok((descr, dims))
}

/// A 1-D numeric member read element by element.
struct Stream<R> {
    r: R,
    elem: Elem,
    len: usize,
    pos: usize,
    buf: [u8; 8],
    at: String,
}

impl<R: Read> Stream<R> {
    fn new(mut r: R, at: String, len: Option<usize>) -> Result<Self, String> {
        let (descr, dims) = header(&mut r, &at)?;
        let elem = Elem::parse(&descr).ok_or_else(|| {
            format!("{at}: element type {descr} is not supported (little-endian numbers)")
        })?;
        let [n] = dims[..] else {
            return Err(format!(
                "{at}: a 1-D array was expected, the shape is {dims:?}"
            ));
        };
        if let Some(len) = len
            && n != len
        {
            return Err(format!("{at}: {n} entries where {len} were expected"));
        }
        Ok(Self {
            r,
            elem,
            len: n,
            pos: 0,
            buf: [0; 8],
            at,
        })
    }
    /// The next element (the caller reads at most `len`).
    fn next(&mut self) -> Result<f64, String> {
        let b = &mut self.buf[..self.elem.size()];
        self.r.read_exact(b).map_err(|e| {
            format!(
                "{}: the data is truncated at entry {} of {} ({e})",
                self.at, self.pos, self.len
            )
        })?;
        self.pos += 1;
        Ok(self.elem.decode(b))
    }
    /// The next element as an index in `0..limit`.
    fn index(&mut self, limit: usize) -> Result<usize, String> {
        let p = self.pos;
        let x = self.next()?;
        if x.fract() == 0.0 && x >= 0.0 && x < limit as f64 {
            Ok(x as usize)
        } else {
            Err(format!("{}: [{p}] is {x}, outside 0..{limit}", self.at))
        }
    }
    /// Skips `count` elements.
    fn skip(&mut self, count: usize) -> Result<(), String> {
        let bytes = (count * self.elem.size()) as u64;
        let got = std::io::copy(&mut (&mut self.r).take(bytes), &mut std::io::sink())
            .map_err(|e| format!("{}: {e}", self.at))?;
        if got < bytes {
            return Err(format!("{}: the data is truncated", self.at));
        }
        self.pos += count;
        Ok(())
    }
}

/// Opens the member `name` of `path` as a stream of its own: the archive gives the member's
/// place and compression, and a fresh handle on the file reads (and inflates) it, so that
/// several members can be read side by side.
fn member(path: &Path, name: &str, len: Option<usize>) -> Result<Stream<Box<dyn Read>>, String> {
    let at = format!("{} ({name})", path.display());
    let mut z = open(path)?;
    let (method, size, start) = {
        let f = z.by_name(name).map_err(|_| {
            err(
                path,
                format!(
                    "no {name} in the .npz: is it a SciPy sparse matrix (scipy.sparse.save_npz)?"
                ),
            )
        })?;
        (f.compression(), f.compressed_size(), f.data_start())
    };
    let start = start.ok_or_else(|| format!("{at}: the member's data cannot be found"))?;
    let mut f = File::open(path).map_err(|e| err(path, e))?;
    f.seek(SeekFrom::Start(start))
        .map_err(|e| format!("{at}: {e}"))?;
    let raw = BufReader::new(f).take(size);
    let r: Box<dyn Read> = match method {
        zip::CompressionMethod::Stored => Box::new(raw),
        zip::CompressionMethod::Deflated => {
            Box::new(BufReader::new(flate2::read::DeflateDecoder::new(raw)))
        }
        m => {
            return Err(format!(
                "{at}: compression {m} is not supported (stored or deflated, as numpy writes)"
            ));
        }
    };
    Stream::new(r, at, len)
}

/// The format (`csr`, `csc`, `coo`) and shape of the `.npz` at `path`.
///
/// # Errors
/// The path and what is wrong.
pub fn shape(path: &Path) -> Result<(String, usize, usize), String> {
    let mut z = open(path)?;
    let mut small = |name: &str| -> Result<Vec<u8>, String> {
        let mut f = z.by_name(name).map_err(|_| {
            err(
                path,
                format!(
                    "no {name} in the .npz: is it a SciPy sparse matrix (scipy.sparse.save_npz)?"
                ),
            )
        })?;
        let mut out = Vec::new();
        (&mut f)
            .take(1 << 20)
            .read_to_end(&mut out)
            .map_err(|e| err(path, format!("cannot read {name} ({e})")))?;
        Ok(out)
    };
    let fmt_bytes = small("format.npy")?;
    let shape_bytes = small("shape.npy")?;
    let at = |name: &str| format!("{} ({name})", path.display());
    let mut r = &fmt_bytes[..];
    let (descr, dims) = header(&mut r, &at("format.npy"))?;
    if !dims.is_empty() {
        return Err(format!("{}: a 0-d string was expected", at("format.npy")));
    }
    let format = if let Some(n) = descr.strip_prefix("|S") {
        let n: usize = n.parse().unwrap_or(0);
        String::from_utf8_lossy(&r[..n.min(r.len())])
            .trim_end_matches('\0')
            .to_string()
    } else if let Some(n) = descr.strip_prefix("<U") {
        let n: usize = n.parse().unwrap_or(0);
        r[..(4 * n).min(r.len())]
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes(c.try_into().expect("4 bytes")))
            .take_while(|&c| c != 0)
            .filter_map(char::from_u32)
            .collect()
    } else {
        return Err(format!(
            "{}: element type {descr} is not a string",
            at("format.npy")
        ));
    };
    let mut s = Stream::new(&shape_bytes[..], at("shape.npy"), Some(2))?;
    let rows = s.index(usize::MAX)?;
    let cols = s.index(usize::MAX)?;
    if !matches!(format.as_str(), "csr" | "csc" | "coo") {
        return Err(err(
            path,
            format!(
                "unsupported sparse format '{}' (csr, csc and coo are read; convert with \
                 .tocsr() before save_npz)",
                format.chars().take(20).collect::<String>()
            ),
        ));
    }
    Ok((format, rows, cols))
}

/// The rows `rows` of the `.npz` at `path`.
///
/// # Errors
/// The path, the member and what is wrong.
pub fn rows(path: &Path, rows: Range<usize>) -> Result<Block, String> {
    let (format, m, n) = shape(path)?;
    let (mut ri, mut ci, mut vi) = (Vec::new(), Vec::new(), Vec::new());
    let check = |x: f64, p: usize, i: usize, j: usize| -> Result<f64, String> {
        if x.is_finite() && x >= 0.0 {
            Ok(x)
        } else {
            Err(err(
                path,
                format!(
                    "V must be finite and ≥ 0, entry ({i}, {j}) (0-based; data.npy[{p}]) is {x}"
                ),
            ))
        }
    };
    match format.as_str() {
        "csr" => {
            let mut ip = member(path, "indptr.npy", Some(m + 1))?;
            // The block's pointers; those before and after are checked to increase too.
            let mut local = Vec::with_capacity(rows.len() + 1);
            let mut prev = 0;
            let mut nnz = 0;
            for r in 0..=m {
                let x = ip.index(usize::MAX)?;
                if r == 0 && x != 0 {
                    return Err(format!("{}: indptr[0] is {x}, not 0", ip.at));
                }
                if x < prev {
                    return Err(format!(
                        "{}: indptr decreases at {r} ({prev} then {x})",
                        ip.at
                    ));
                }
                prev = x;
                if (rows.start..=rows.end).contains(&r) {
                    local.push(x);
                }
                nnz = x;
            }
            let (lo, hi) = (local[0], local[rows.len()]);
            let mut ix = member(path, "indices.npy", Some(nnz))?;
            let mut dx = member(path, "data.npy", Some(nnz))?;
            ix.skip(lo)?;
            dx.skip(lo)?;
            for (li, w) in local.windows(2).enumerate() {
                for p in w[0]..w[1] {
                    let j = ix.index(n)?;
                    let x = check(dx.next()?, p, rows.start + li, j)?;
                    ri.push(li);
                    ci.push(j);
                    vi.push(x);
                }
            }
            debug_assert_eq!(ix.pos, hi);
        }
        "csc" => {
            let mut ip = member(path, "indptr.npy", Some(n + 1))?;
            let mut ptr = Vec::with_capacity(n + 1);
            for c in 0..=n {
                let x = ip.index(usize::MAX)?;
                let prev = ptr.last().copied().unwrap_or(0);
                if (c == 0 && x != 0) || x < prev {
                    return Err(format!(
                        "{}: indptr[{c}] is {x}, after {prev}: it must start at 0 and never \
                         decrease",
                        ip.at
                    ));
                }
                ptr.push(x);
            }
            let nnz = ptr[n];
            let mut ix = member(path, "indices.npy", Some(nnz))?;
            let mut dx = member(path, "data.npy", Some(nnz))?;
            for (j, w) in ptr.windows(2).enumerate() {
                for p in w[0]..w[1] {
                    let i = ix.index(m)?;
                    let x = dx.next()?;
                    if rows.contains(&i) {
                        ri.push(i - rows.start);
                        ci.push(j);
                        vi.push(check(x, p, i, j)?);
                    }
                }
            }
        }
        _ => {
            let mut dx = member(path, "data.npy", None)?;
            let nnz = dx.len;
            let mut rx = member(path, "row.npy", Some(nnz))?;
            let mut cx = member(path, "col.npy", Some(nnz))?;
            for p in 0..nnz {
                let (i, j, x) = (rx.index(m)?, cx.index(n)?, dx.next()?);
                if rows.contains(&i) {
                    ri.push(i - rows.start);
                    ci.push(j);
                    vi.push(check(x, p, i, j)?);
                }
            }
        }
    }
    SparseData::from_triplets(rows.len(), n, &ri, &ci, &vi)
        .map(Block::Sparse)
        .map_err(|e| err(path, e))
}
