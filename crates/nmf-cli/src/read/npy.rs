//! NumPy `.npy` files (format versions 1.0, 2.0 and 3.0): 2-D arrays of `float32`, `float64`,
//! signed and unsigned integers of 1 to 8 bytes, and `bool`, little- or big-endian, in C or
//! Fortran order. Written as version 1.0, little-endian, C order, `<f4` or `<f8`.
//!
//! The header's Python literal, the element types and their byte orders are read and written
//! by the `npyz` crate. This module keeps what the `nmf` command adds: the check of the
//! preamble and of the data's length (for messages that say what is wrong), the choice of
//! element types a matrix may have, and the conversion to `f64`.

use std::borrow::Cow;

use npyz::{DType, NpyFile, NpyHeader, Order, TypeChar, WriterBuilder};

use crate::CliError;
use crate::error::{excerpt, excerpt_with};
use crate::matrix::{Matrix, alloc_dense, check_not_empty};
use nmf_core::npy_header::{MAX_NESTING, nesting};

const MAGIC: &[u8] = b"\x93NUMPY";

/// Rewrites two spellings of the header that NumPy reads but `npyz` does not: the `L` suffix of
/// Python 2 long integers (`(3L, 4L)`, as NumPy under Python 2 wrote shapes) and the native
/// byte order `=` at the start of a `descr` (made explicit, `<` or `>`). Borrowed when there is
/// neither.
fn normalise_header(text: &[u8]) -> Cow<'_, [u8]> {
    let drop_l = |i: usize| text[i] == b'L' && i > 0 && text[i - 1].is_ascii_digit();
    let native = |i: usize| text[i] == b'=' && i > 0 && matches!(text[i - 1], b'\'' | b'"');
    if !(0..text.len()).any(|i| drop_l(i) || native(i)) {
        return Cow::Borrowed(text);
    }
    let mut out = Vec::with_capacity(text.len());
    for (i, &c) in text.iter().enumerate() {
        if native(i) {
            out.push(if cfg!(target_endian = "big") {
                b'>'
            } else {
                b'<'
            });
        } else if !drop_l(i) {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// What a header's text declares, read before `npyz` does: the shape, and the `descr` when it
/// is a string. `None` when the text is not a dict with a shape of non-negative 64-bit
/// integers (then `npyz` says what is wrong).
///
/// `npyz` multiplies the dimensions without checking for overflow (a panic in debug builds,
/// a wrapped-around size otherwise), so a shape such as 2³² × 2³² must be refused first.
fn declared(text: &[u8]) -> Option<(Vec<u64>, Option<String>)> {
    use py_literal::Value;
    let text = std::str::from_utf8(text).ok()?;
    let Ok(Value::Dict(dict)) = text.strip_suffix('\n').unwrap_or(text).parse::<Value>() else {
        return None;
    };
    // (the last of repeated keys, as npyz reads them into a map)
    let get = |key: &str| {
        dict.iter()
            .rev()
            .find(|(k, _)| k.as_string().is_some_and(|k| k == key))
            .map(|(_, v)| v)
    };
    let dims = match get("shape")? {
        Value::Tuple(d) | Value::List(d) => d,
        _ => return None,
    };
    let shape = dims
        .iter()
        .map(|d| u64::try_from(d.as_integer()?).ok())
        .collect::<Option<Vec<u64>>>()?;
    Some((shape, get("descr").and_then(Value::as_string).cloned()))
}

/// "(3,)", "(2, 2, 2)": a shape as numpy prints it.
fn shape_text(dims: &[u64]) -> String {
    let dims: Vec<String> = dims.iter().map(u64::to_string).collect();
    format!(
        "({}{})",
        dims.join(", "),
        if dims.len() == 1 { "," } else { "" }
    )
}

/// Reads the elements, of type `T`, into `out`: the `p`-th in the file's order at `index(p)`.
fn read_into<T: npyz::Deserialize>(
    npy: NpyFile<&[u8]>,
    out: &mut [f64],
    index: impl Fn(usize) -> usize,
    to_f64: fn(T) -> f64,
) -> std::io::Result<()> {
    for (p, x) in npy.data::<T>().map_err(std::io::Error::other)?.enumerate() {
        out[index(p)] = to_f64(x?);
    }
    Ok(())
}

/// Reads a `.npy` file's bytes into a matrix; `source` names it in messages. The entries are
/// not checked here (see [`Matrix::check_entries`]).
///
/// # Errors
/// One-line [`CliError::data`] messages for a file that is not `.npy`, an unsupported element
/// type (with the supported ones), an array that is not 2-D, or a truncated file.
pub fn parse(bytes: &[u8], source: &str) -> Result<Matrix, CliError> {
    let (dims, data) = parse_nd(bytes, source, 2)?;
    Ok(Matrix::new(dims[0], dims[1], data))
}

/// Reads a 1-D `.npy` array (of the element types [`parse`] reads) into `f64` (64-bit integers
/// beyond 2⁵³ are rounded: callers that need them exact, as indices, check the range).
///
/// # Errors
/// As [`parse`], for an array that is not 1-D.
pub fn parse_vector(bytes: &[u8], source: &str) -> Result<Vec<f64>, CliError> {
    Ok(parse_nd(bytes, source, 1)?.1)
}

/// The preamble and header of a `.npy` file: the parsed header and where the data starts.
/// With `ndim`, a declared shape of another number of dimensions, or whose size overflows, is
/// refused before `npyz` reads the header (see [`declared`]).
pub(crate) fn header_of(
    bytes: &[u8],
    source: &str,
    ndim: Option<usize>,
) -> Result<(NpyHeader, usize), CliError> {
    let err = |m: String| CliError::data(format!("{source}: {m}"));
    // The preamble (magic string, version, header length) is checked here, not left to npyz:
    // its errors ("magic not found for NPY file", "unsupported version: (4, 0)", "failed to
    // fill whole buffer") do not say what the file is or that it is cut short.
    if bytes.len() < 10 || &bytes[..6] != MAGIC {
        return Err(err(
            "not a NumPy .npy file (it does not start with \\x93NUMPY)".into(),
        ));
    }
    let (major, minor) = (bytes[6], bytes[7]);
    let start = match (major, minor) {
        (1, 0) => 10,
        (2 | 3, 0) => 12,
        _ => {
            return Err(err(format!(
                "unsupported .npy format version {major}.{minor}"
            )));
        }
    };
    let truncated = || err("truncated .npy header".into());
    // A little-endian u16 (version 1) or u32 (versions 2 and 3).
    let header_len = (bytes.get(8..start).ok_or_else(truncated)?.iter().rev())
        .fold(0usize, |n, &b| (n << 8) | usize::from(b));
    let data_start = start
        .checked_add(header_len)
        .filter(|&e| e <= bytes.len())
        .ok_or_else(truncated)?;
    let text = normalise_header(&bytes[start..data_start]);
    // The header parser takes time exponential in the nesting of brackets (see
    // nmf_core::npy_header): deeper headers than any array's are refused before parsing.
    let depth = nesting(&text);
    if depth > MAX_NESTING {
        return Err(err(format!(
            "the .npy header nests brackets {depth} deep (at most {MAX_NESTING} are read; a plain \
             array's header nests 2)"
        )));
    }
    if let (Some(ndim), Some((dims, descr))) = (ndim, declared(&text)) {
        if dims.len() != ndim {
            return Err(err(format!(
                "expected a {ndim}-D array, found shape {}",
                shape_text(&dims)
            )));
        }
        if dims
            .iter()
            .try_fold(1u64, |n, &d| n.checked_mul(d))
            .is_none()
        {
            let of = descr.map_or_else(String::new, |d| format!(" of '{}'", excerpt(&d)));
            let dims: Vec<String> = dims.iter().map(u64::to_string).collect();
            return Err(err(format!(
                "a {} array{of} needs more than 2⁶⁴ bytes of data, but the file has {}",
                dims.join("×"),
                bytes.len() - data_start
            )));
        }
    }
    let header = match text {
        Cow::Borrowed(_) => NpyHeader::from_reader(&bytes[..data_start]),
        Cow::Owned(text) => {
            // The same preamble with the new length (never longer than the old one).
            let mut b = bytes[..8].to_vec();
            if start == 10 {
                b.extend_from_slice(&(text.len() as u16).to_le_bytes());
            } else {
                b.extend_from_slice(&(text.len() as u32).to_le_bytes());
            }
            b.extend_from_slice(&text);
            NpyHeader::from_reader(&b[..])
        }
    }
    .map_err(|e| {
        // npyz's syntax errors draw the header over several lines: the first one says where.
        let e = e.to_string();
        let first = e.lines().next().unwrap_or_default();
        let first: Vec<&str> = first.split_whitespace().collect();
        err(format!(
            "cannot parse the .npy header ({})",
            excerpt_with(&first.join(" "), 200)
        ))
    })?;
    Ok((header, data_start))
}

/// Reads an `ndim`-dimensional array (1 or 2) into its dimensions and its values in `f64`,
/// row-major.
fn parse_nd(bytes: &[u8], source: &str, ndim: usize) -> Result<(Vec<usize>, Vec<f64>), CliError> {
    let err = |m: String| CliError::data(format!("{source}: {m}"));
    let (header, data_start) = header_of(bytes, source, Some(ndim))?;
    let descr = match header.dtype() {
        DType::Plain(t) => t,
        DType::Record(_) | DType::Array(..) => {
            return Err(err(
                "unsupported element type: structured arrays are not matrices".into(),
            ));
        }
    };
    let size = descr.size_field();
    let kind = descr.type_char();
    if !matches!(
        (kind, size),
        (TypeChar::Float, 4 | 8)
            | (TypeChar::Int | TypeChar::Uint, 1 | 2 | 4 | 8)
            | (TypeChar::Bool, 1)
    ) {
        return Err(err(format!(
            "unsupported element type '{}' (supported: float32, float64, int8–int64, uint8–uint64, bool)",
            excerpt(&descr.to_string())
        )));
    }
    let (rows, cols) = match (ndim, header.shape()) {
        (2, &[rows, cols]) => (rows, cols),
        (1, &[len]) => (1, len),
        (_, shape) => {
            return Err(err(format!(
                "expected a {ndim}-D array, found shape {}",
                shape_text(shape)
            )));
        }
    };
    // The declared shape is checked against the bytes the file really holds before anything
    // is allocated or looped over: a header of a few bytes may declare 30000×30000 or 0×10¹².
    if ndim == 2 {
        check_not_empty(source, rows, cols)?;
    }
    let payload = &bytes[data_start..];
    let need = rows.checked_mul(cols).and_then(|n| n.checked_mul(size));
    // npyz reads a short payload as an I/O error and ignores a long one: both are errors here,
    // with the sizes.
    if need != Some(payload.len() as u64) {
        let need = need.map_or_else(|| "more than 2⁶⁴".to_string(), |n| n.to_string());
        let shape = if ndim == 2 {
            format!("{rows}×{cols}")
        } else {
            format!("({cols},)")
        };
        return Err(err(format!(
            "a {shape} array of '{descr}' needs {need} bytes of data, but the file has {}",
            payload.len()
        )));
    }
    // (both fit in usize: their product, in bytes, is the payload's length)
    let (rows, cols) = (rows as usize, cols as usize);
    let mut data = alloc_dense(source, rows, cols)?;
    let fortran = header.order() == Order::Fortran;
    let index = move |p: usize| {
        if fortran {
            (p % rows.max(1)) * cols + p / rows.max(1)
        } else {
            p
        }
    };
    let npy = NpyFile::with_header(header, payload);
    let out = &mut data[..];
    match (kind, size) {
        (TypeChar::Float, 4) => read_into::<f32>(npy, out, index, f64::from),
        (TypeChar::Float, _) => read_into::<f64>(npy, out, index, |x| x),
        (TypeChar::Int, 1) => read_into::<i8>(npy, out, index, f64::from),
        (TypeChar::Int, 2) => read_into::<i16>(npy, out, index, f64::from),
        (TypeChar::Int, 4) => read_into::<i32>(npy, out, index, f64::from),
        (TypeChar::Int, _) => read_into::<i64>(npy, out, index, |x| x as f64),
        (TypeChar::Uint, 1) => read_into::<u8>(npy, out, index, f64::from),
        (TypeChar::Uint, 2) => read_into::<u16>(npy, out, index, f64::from),
        (TypeChar::Uint, 4) => read_into::<u32>(npy, out, index, f64::from),
        (TypeChar::Uint, _) => read_into::<u64>(npy, out, index, |x| x as f64),
        _ => read_into::<bool>(npy, out, index, |b| f64::from(u8::from(b))),
    }
    .map_err(|e| err(format!("cannot read the data ({e})")))?;
    let dims = if ndim == 2 {
        vec![rows, cols]
    } else {
        vec![cols]
    };
    Ok((dims, data))
}

/// An element type the `.npy` writer writes.
pub trait NpyElement: npyz::Serialize + Copy {
    /// The numpy `descr`, `<f4` or `<f8`.
    const DESCR: &'static str;
}

impl NpyElement for f32 {
    const DESCR: &'static str = "<f4";
}

impl NpyElement for f64 {
    const DESCR: &'static str = "<f8";
}

/// The bytes of a `.npy` file (version 1.0, little-endian, C order) holding a row-major matrix.
///
/// # Panics
/// If `data.len() != rows * cols`.
pub fn to_npy_bytes<T: NpyElement>(rows: usize, cols: usize, data: &[T]) -> Vec<u8> {
    assert_eq!(data.len(), rows * cols, "to_npy_bytes");
    // Little-endian whatever the machine (npyz's default is the machine's order).
    let dtype = DType::Plain(T::DESCR.parse().expect("a valid type string"));
    let mut out = Vec::with_capacity(128 + std::mem::size_of_val(data));
    let mut w = npyz::WriteOptions::new()
        .dtype(dtype)
        .shape(&[rows as u64, cols as u64])
        .writer(&mut out)
        .begin_nd()
        .expect("writing to memory does not fail");
    w.extend(data.iter().copied())
        .expect("writing to memory does not fail");
    w.finish().expect("writing to memory does not fail");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A `.npy` file of any `descr`, as numpy would write it.
    pub(crate) fn npy_raw(descr: &str, fortran: bool, shape: &str, payload: &[u8]) -> Vec<u8> {
        npy_dict(
            &format!(
                "{{'descr': '{descr}', 'fortran_order': {}, 'shape': {shape}, }}",
                if fortran { "True" } else { "False" }
            ),
            payload,
        )
    }

    /// A `.npy` file (version 1.0) of any header text.
    fn npy_dict(dict: &str, payload: &[u8]) -> Vec<u8> {
        let mut header = dict.to_string();
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
        assert_eq!(e(&full[..11]), "e.npy: truncated .npy header");
        let mut long = full.clone();
        long.push(0);
        assert_eq!(
            e(&long),
            "e.npy: a 1×1 array of '<f8' needs 8 bytes of data, but the file has 9"
        );
        for (version, message) in [([4, 0], "4.0"), ([1, 1], "1.1")] {
            let mut b = full.clone();
            b[6..8].copy_from_slice(&version);
            assert_eq!(
                e(&b),
                format!("e.npy: unsupported .npy format version {message}")
            );
        }
        assert_eq!(
            e(&npy_dict(
                "{'descr': [('a', '<f8')], 'fortran_order': False, 'shape': (1, 1)}",
                &[0; 8]
            )),
            "e.npy: unsupported element type: structured arrays are not matrices"
        );
        assert_eq!(
            e(&npy_dict("{'descr': '<f8', 'shape': (1, 1)}", &[0; 8])),
            "e.npy: cannot parse the .npy header (dict is missing key 'fortran_order')"
        );
        assert_eq!(
            e(&npy_dict("{'descr': '<f8',, }", &[0; 8])),
            "e.npy: cannot parse the .npy header (could not parse Python expression: syntax error: --> 1:17)"
        );
        assert_eq!(
            e(&npy_raw("|b1", false, "(1, 2)", &[1, 2])),
            "e.npy: cannot read the data (invalid value for bool: 2)"
        );
    }

    #[test]
    fn python2_longs_and_native_byte_order() {
        let m = parse(
            &npy_raw("=f8", false, "(1L, 1L)", &2.5f64.to_ne_bytes()),
            "n.npy",
        )
        .unwrap();
        assert_eq!((m.rows, m.cols, m.data), (1, 1, vec![2.5]));
    }

    #[test]
    fn declared_shapes_are_checked_before_allocating() {
        let e = |b: &[u8]| parse(b, "e.npy").unwrap_err().message;
        // A 192-byte file declaring 30000×30000: refused from the sizes, nothing allocated.
        let b = npy_raw("<f8", false, "(30000, 30000)", &[0; 64]);
        assert_eq!(b.len(), 192);
        assert_eq!(
            e(&b),
            "e.npy: a 30000×30000 array of '<f8' needs 7200000000 bytes of data, but the file has 64"
        );
        // Sizes whose product overflows 64 bits.
        assert_eq!(
            e(&npy_raw("<f8", false, "(4294967296, 4294967296)", &[])),
            "e.npy: a 4294967296×4294967296 array of '<f8' needs more than 2⁶⁴ bytes of data, but the file has 0"
        );
        assert_eq!(
            e(&npy_raw("|u1", false, "(18446744073709551615, 2)", &[0; 8])),
            "e.npy: a 18446744073709551615×2 array of '|u1' needs more than 2⁶⁴ bytes of data, but the file has 8"
        );
        // A zero dimension is an empty matrix at once, whatever the other one.
        let t = std::time::Instant::now();
        assert_eq!(
            e(&npy_raw("<f8", false, "(0, 1000000000000)", &[])),
            "e.npy: the matrix is empty (0×1000000000000): it needs at least one row and one column"
        );
        assert_eq!(
            e(&npy_raw("<f8", true, "(18446744073709551615, 0)", &[])),
            "e.npy: the matrix is empty (18446744073709551615×0): it needs at least one row and one column"
        );
        // (a generous bound: a loop over 10¹² columns would take minutes)
        assert!(t.elapsed().as_secs() < 5, "{:?}", t.elapsed());
        // A version-2 header length of 4 GiB in a short file.
        let mut b = to_npy_bytes(1, 1, &[1.0f64]);
        b[6] = 2;
        b.splice(8..10, [0xff, 0xff, 0xff, 0xff]);
        assert_eq!(e(&b), "e.npy: truncated .npy header");
    }

    #[test]
    fn deeply_nested_headers_are_refused_before_parsing() {
        let e = |dict: &str| {
            parse(&npy_dict(dict, &[0; 8]), "e.npy")
                .unwrap_err()
                .message
        };
        let deep = format!(
            "{{'descr': {}'<f8'{}, 'fortran_order': False, 'shape': (1, 1), }}",
            "[".repeat(30),
            "]".repeat(30)
        );
        let start = std::time::Instant::now();
        assert_eq!(
            e(&deep),
            "e.npy: the .npy header nests brackets 31 deep (at most 8 are read; a plain array's \
             header nests 2)"
        );
        // (before the check, 20 brackets took 6 s; the check itself is one pass)
        assert!(start.elapsed().as_secs() < 2);
        // Found by the read_npy fuzz target: a quote after a backslash does not end a
        // string, so the brackets after the string's real end count.
        let escaped = format!("{{'desc\\':-a',{} 'b', 'shape': (1, 1), }}", "{".repeat(30));
        assert!(e(&escaped).contains("nests brackets"));
    }

    #[test]
    fn header_text_is_escaped_in_messages() {
        // The descr of a shape refused before npyz reads it, as the file has it.
        let e = parse(
            &npy_raw("\x1b[2J\x07", false, "(4294967296, 4294967296)", &[]),
            "e.npy",
        )
        .unwrap_err()
        .message;
        assert_eq!(
            e,
            "e.npy: a 4294967296×4294967296 array of '\\u{1b}[2J\\u{7}' needs more than 2⁶⁴ bytes of data, but the file has 0"
        );
    }
}
