//! NumPy `.npy` files (format versions 1, 2 and 3): 2-D arrays of `float32`, `float64`,
//! signed and unsigned integers of 1 to 8 bytes, and `bool`, little- or big-endian, in C or
//! Fortran order. Written as version 1.0, little-endian, C order, `<f4` or `<f8`.

use crate::CliError;
use crate::matrix::{Matrix, alloc_dense};

const MAGIC: &[u8] = b"\x93NUMPY";

/// The element types read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Float,
    Int,
    Uint,
    Bool,
}

/// A tiny parser of the Python literal dictionary in the header.
struct Lit<'a> {
    s: &'a [u8],
    i: usize,
}

#[derive(Debug, PartialEq)]
enum Value {
    Str(String),
    Bool(bool),
    Tuple(Vec<u64>),
}

impl Lit<'_> {
    fn ws(&mut self) {
        while self.i < self.s.len() && self.s[self.i].is_ascii_whitespace() {
            self.i += 1;
        }
    }
    fn eat(&mut self, c: u8) -> bool {
        self.ws();
        if self.s.get(self.i) == Some(&c) {
            self.i += 1;
            true
        } else {
            false
        }
    }
    fn string(&mut self) -> Option<String> {
        self.ws();
        let q = *self.s.get(self.i)?;
        if q != b'\'' && q != b'"' {
            return None;
        }
        let start = self.i + 1;
        let end = start + self.s[start..].iter().position(|&c| c == q)?;
        self.i = end + 1;
        Some(String::from_utf8_lossy(&self.s[start..end]).into_owned())
    }
    fn value(&mut self) -> Option<Value> {
        self.ws();
        let rest = &self.s[self.i..];
        if rest.starts_with(b"True") {
            self.i += 4;
            return Some(Value::Bool(true));
        }
        if rest.starts_with(b"False") {
            self.i += 5;
            return Some(Value::Bool(false));
        }
        if self.eat(b'(') {
            let mut dims = Vec::new();
            loop {
                if self.eat(b')') {
                    return Some(Value::Tuple(dims));
                }
                self.ws();
                let start = self.i;
                while self.i < self.s.len() && self.s[self.i].is_ascii_digit() {
                    self.i += 1;
                }
                let n = std::str::from_utf8(&self.s[start..self.i])
                    .ok()?
                    .parse()
                    .ok()?;
                dims.push(n);
                self.eat(b'L'); // Python 2 long integers
                if !self.eat(b',') && !matches!(self.s.get(self.i), Some(b')') | Some(b' ')) {
                    return None;
                }
            }
        }
        self.string().map(Value::Str)
    }
    fn dict(&mut self) -> Option<Vec<(String, Value)>> {
        if !self.eat(b'{') {
            return None;
        }
        let mut out = Vec::new();
        loop {
            if self.eat(b'}') {
                return Some(out);
            }
            let key = self.string()?;
            if !self.eat(b':') {
                return None;
            }
            let value = self.value()?;
            out.push((key, value));
            if !self.eat(b',') {
                return self.eat(b'}').then_some(out);
            }
        }
    }
}

/// Reads a `.npy` file's bytes into a matrix; `source` names it in messages. The entries are
/// not checked here (see [`Matrix::check_entries`]).
///
/// # Errors
/// One-line [`CliError::data`] messages for a file that is not `.npy`, an unsupported element
/// type (with the supported ones), an array that is not 2-D, or a truncated file.
pub fn parse(bytes: &[u8], source: &str) -> Result<Matrix, CliError> {
    let err = |m: String| CliError::data(format!("{source}: {m}"));
    if bytes.len() < 10 || &bytes[..6] != MAGIC {
        return Err(err(
            "not a NumPy .npy file (it does not start with \\x93NUMPY)".into(),
        ));
    }
    let major = bytes[6];
    let (header_len, start) = match major {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10usize),
        2 | 3 if bytes.len() >= 12 => (
            u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
            12,
        ),
        _ => {
            return Err(err(format!(
                "unsupported .npy format version {major}.{}",
                bytes[7]
            )));
        }
    };
    let data_start = start
        .checked_add(header_len)
        .filter(|&e| e <= bytes.len())
        .ok_or_else(|| err("truncated .npy header".into()))?;
    let header = &bytes[start..data_start];
    let dict = Lit { s: header, i: 0 }
        .dict()
        .ok_or_else(|| err("cannot parse the .npy header".into()))?;
    let get = |k: &str| dict.iter().find(|(key, _)| key == k).map(|(_, v)| v);
    let descr = match get("descr") {
        Some(Value::Str(s)) => s.clone(),
        Some(_) => {
            return Err(err(
                "unsupported element type: structured arrays are not matrices".into(),
            ));
        }
        None => return Err(err("the .npy header has no 'descr'".into())),
    };
    let fortran = match get("fortran_order") {
        Some(Value::Bool(b)) => *b,
        _ => return Err(err("the .npy header has no 'fortran_order'".into())),
    };
    let shape = match get("shape") {
        Some(Value::Tuple(t)) => t.clone(),
        _ => return Err(err("the .npy header has no 'shape'".into())),
    };
    let unsupported = || {
        err(format!(
            "unsupported element type '{descr}' (supported: float32, float64, int8–int64, uint8–uint64, bool)"
        ))
    };
    let db = descr.as_bytes();
    if db.len() < 3 {
        return Err(unsupported());
    }
    let big = match db[0] {
        b'<' | b'|' => false,
        b'>' => true,
        b'=' => cfg!(target_endian = "big"),
        _ => return Err(unsupported()),
    };
    let kind = match db[1] {
        b'f' => Kind::Float,
        b'i' => Kind::Int,
        b'u' => Kind::Uint,
        b'b' => Kind::Bool,
        _ => return Err(unsupported()),
    };
    let size: usize = descr[2..].parse().map_err(|_| unsupported())?;
    match (kind, size) {
        (Kind::Float, 4 | 8) | (Kind::Int | Kind::Uint, 1 | 2 | 4 | 8) | (Kind::Bool, 1) => {}
        _ => return Err(unsupported()),
    }
    let [rows, cols] = shape[..] else {
        let dims: Vec<String> = shape.iter().map(u64::to_string).collect();
        return Err(err(format!(
            "expected a 2-D array, found shape ({}{})",
            dims.join(", "),
            if dims.len() == 1 { "," } else { "" }
        )));
    };
    let too_big = || err(format!("a {rows}×{cols} array does not fit in memory"));
    let (rows, cols) = (
        usize::try_from(rows).map_err(|_| too_big())?,
        usize::try_from(cols).map_err(|_| too_big())?,
    );
    let mut data = alloc_dense(source, rows, cols)?;
    let payload = &bytes[data_start..];
    let need = data.len() * size;
    if payload.len() != need {
        return Err(err(format!(
            "a {rows}×{cols} array of '{descr}' needs {need} bytes of data, but the file has {}",
            payload.len()
        )));
    }
    for (p, chunk) in payload.chunks_exact(size).enumerate() {
        let mut b = [0u8; 8];
        b[..size].copy_from_slice(chunk);
        if big {
            b[..size].reverse();
        }
        let x = match (kind, size) {
            (Kind::Float, 4) => f32::from_le_bytes([b[0], b[1], b[2], b[3]]) as f64,
            (Kind::Float, _) => f64::from_le_bytes(b),
            (Kind::Uint | Kind::Bool, _) => u64::from_le_bytes(b) as f64,
            (Kind::Int, _) => {
                // Sign-extend from `size` bytes.
                let shift = 64 - 8 * size as u32;
                ((i64::from_le_bytes(b) << shift) >> shift) as f64
            }
        };
        let (i, j) = if fortran {
            (p % rows.max(1), p / rows.max(1))
        } else {
            (p / cols.max(1), p % cols.max(1))
        };
        data[i * cols + j] = x;
    }
    Ok(Matrix::new(rows, cols, data))
}

/// An element type the `.npy` writer writes.
pub trait NpyElement: Copy {
    /// The numpy `descr`, `<f4` or `<f8`.
    const DESCR: &'static str;
    /// Appends the little-endian bytes.
    fn put(self, out: &mut Vec<u8>);
}

impl NpyElement for f32 {
    const DESCR: &'static str = "<f4";
    fn put(self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_le_bytes());
    }
}

impl NpyElement for f64 {
    const DESCR: &'static str = "<f8";
    fn put(self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_le_bytes());
    }
}

/// The bytes of a `.npy` file (version 1.0, C order) holding a row-major matrix.
///
/// # Panics
/// If `data.len() != rows * cols`.
pub fn to_npy_bytes<T: NpyElement>(rows: usize, cols: usize, data: &[T]) -> Vec<u8> {
    assert_eq!(data.len(), rows * cols, "to_npy_bytes");
    let mut header = format!(
        "{{'descr': '{}', 'fortran_order': False, 'shape': ({rows}, {cols}), }}",
        T::DESCR
    );
    // Pad with spaces so that the data starts at a multiple of 64 bytes, ending in '\n'.
    let total = MAGIC.len() + 4 + header.len() + 1;
    header.push_str(&" ".repeat((64 - total % 64) % 64));
    header.push('\n');
    let mut out = Vec::with_capacity(10 + header.len() + data.len() * 8);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[1, 0]);
    // Headers of version 1.0 are at most 65535 bytes; ours is under 200.
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    for &x in data {
        x.put(&mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A `.npy` file of any `descr`, as numpy would write it.
    pub(crate) fn npy_raw(descr: &str, fortran: bool, shape: &str, payload: &[u8]) -> Vec<u8> {
        let mut header = format!(
            "{{'descr': '{descr}', 'fortran_order': {}, 'shape': {shape}, }}",
            if fortran { "True" } else { "False" }
        );
        let total = 10 + header.len() + 1;
        header.push_str(&" ".repeat((64 - total % 64) % 64));
        header.push('\n');
        let mut out = MAGIC.to_vec();
        out.extend_from_slice(&[1, 0]);
        out.extend_from_slice(&(header.len() as u16).to_le_bytes());
        out.extend_from_slice(header.as_bytes());
        out.extend_from_slice(payload);
        out
    }

    #[test]
    fn writer_round_trips_f32_and_f64() {
        let d64 = [0.1, 2.0, 1.0 / 3.0, 4e-300, 5.0, 6.5];
        let bytes = to_npy_bytes(2, 3, &d64);
        assert_eq!((bytes.len() - d64.len() * 8) % 64, 0);
        let m = parse(&bytes, "x.npy").unwrap();
        assert_eq!((m.rows, m.cols, m.data.as_slice()), (2, 3, &d64[..]));
        let d32 = [0.1_f32, 2.5, 1.0 / 3.0];
        let m = parse(&to_npy_bytes(3, 1, &d32), "x.npy").unwrap();
        assert_eq!((m.rows, m.cols), (3, 1));
        assert_eq!(m.data, d32.map(f64::from));
    }

    #[test]
    fn integer_bool_big_endian_and_fortran() {
        let m = parse(&npy_raw("|u1", false, "(2, 2)", &[1, 2, 3, 255]), "u.npy").unwrap();
        assert_eq!(m.data, vec![1.0, 2.0, 3.0, 255.0]);
        let m = parse(&npy_raw("|i1", false, "(1, 2)", &[5, 0xff]), "i.npy").unwrap();
        assert_eq!(m.data, vec![5.0, -1.0]);
        let mut p = Vec::new();
        for x in [1i64, -7, 1 << 40] {
            p.extend_from_slice(&x.to_le_bytes());
        }
        let m = parse(&npy_raw("<i8", false, "(3, 1)", &p), "i.npy").unwrap();
        assert_eq!(m.data, vec![1.0, -7.0, (1u64 << 40) as f64]);
        let mut p = Vec::new();
        for x in [1u16, 2, 3, 4, 5, 6] {
            p.extend_from_slice(&x.to_be_bytes());
        }
        // Fortran order: the payload is column after column.
        let m = parse(&npy_raw(">u2", true, "(2, 3)", &p), "b.npy").unwrap();
        assert_eq!(m.data, vec![1.0, 3.0, 5.0, 2.0, 4.0, 6.0]);
        let m = parse(&npy_raw("|b1", false, "(1, 2)", &[1, 0]), "b.npy").unwrap();
        assert_eq!(m.data, vec![1.0, 0.0]);
        let mut p = Vec::new();
        for x in [1.5f32, 2.5] {
            p.extend_from_slice(&x.to_be_bytes());
        }
        let m = parse(&npy_raw(">f4", false, "(2, 1)", &p), "f.npy").unwrap();
        assert_eq!(m.data, vec![1.5, 2.5]);
        let mut p = Vec::new();
        for x in [-3i32, 4] {
            p.extend_from_slice(&x.to_le_bytes());
        }
        let m = parse(&npy_raw("<i4", false, "(1L, 2L)", &p), "l.npy").unwrap();
        assert_eq!(m.data, vec![-3.0, 4.0]);
    }

    #[test]
    fn errors() {
        let e = |b: &[u8]| parse(b, "e.npy").unwrap_err().message;
        assert_eq!(
            e(b"hello world, not npy"),
            "e.npy: not a NumPy .npy file (it does not start with \\x93NUMPY)"
        );
        assert_eq!(
            e(&npy_raw("<c16", false, "(1, 1)", &[0; 16])),
            "e.npy: unsupported element type '<c16' (supported: float32, float64, int8–int64, uint8–uint64, bool)"
        );
        assert_eq!(
            e(&npy_raw("<f8", false, "(3,)", &[0; 24])),
            "e.npy: expected a 2-D array, found shape (3,)"
        );
        assert_eq!(
            e(&npy_raw("<f8", false, "(2, 2, 2)", &[0; 64])),
            "e.npy: expected a 2-D array, found shape (2, 2, 2)"
        );
        assert_eq!(
            e(&npy_raw("<f8", false, "(2, 2)", &[0; 24])),
            "e.npy: a 2×2 array of '<f8' needs 32 bytes of data, but the file has 24"
        );
        let full = to_npy_bytes(1, 1, &[1.0f64]);
        assert_eq!(e(&full[..20]), "e.npy: truncated .npy header");
    }
}
