//! The header of a `.npy` file (or member of a `.npz`), checked as the `nmf` command's
//! whole-file reader checks it, with the same messages: the preamble, the nesting of the
//! header's brackets (the parser's time is exponential in it, see
//! [`nmf_core::npy_header`]), the declared shape (refused when its size overflows, before
//! `npyz` multiplies it unchecked), then the header itself through `npyz`.

use std::borrow::Cow;

use npyz::NpyHeader;

use nmf_core::npy_header::{MAX_NESTING, nesting};

const MAGIC: &[u8] = b"\x93NUMPY";

/// The length of the preamble and header, from the first 12 bytes (or fewer): `None` when the
/// bytes do not start a `.npy` file of a known version.
pub(crate) fn header_len(pre: &[u8]) -> Option<usize> {
    if pre.len() < 10 || &pre[..6] != MAGIC {
        return None;
    }
    match (pre[6], pre[7]) {
        (1, 0) => Some(10 + usize::from(u16::from_le_bytes([pre[8], pre[9]]))),
        (2 | 3, 0) if pre.len() >= 12 => {
            Some(12 + u32::from_le_bytes([pre[8], pre[9], pre[10], pre[11]]) as usize)
        }
        _ => None,
    }
}

/// Rewrites the `L` suffix of Python 2 integers and the native byte order `=` (which NumPy
/// reads and `npyz` does not). Borrowed when there is neither.
fn normalise(text: &[u8]) -> Cow<'_, [u8]> {
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

/// The shape a header's text declares, when it is a dict with a shape of non-negative 64-bit
/// integers.
fn declared_shape(text: &[u8]) -> Option<Vec<u64>> {
    use py_literal::Value;
    let text = std::str::from_utf8(text).ok()?;
    let Ok(Value::Dict(dict)) = text.strip_suffix('\n').unwrap_or(text).parse::<Value>() else {
        return None;
    };
    let dims = dict
        .iter()
        .rev()
        .find(|(k, _)| k.as_string().is_some_and(|k| k == "shape"))
        .map(|(_, v)| v)?;
    let (Value::Tuple(d) | Value::List(d)) = dims else {
        return None;
    };
    d.iter()
        .map(|d| u64::try_from(d.as_integer()?).ok())
        .collect()
}

/// "(3,)", "(2, 2, 2)": a shape as numpy prints it.
pub(crate) fn shape_text(dims: &[u64]) -> String {
    let dims: Vec<String> = dims.iter().map(u64::to_string).collect();
    format!(
        "({}{})",
        dims.join(", "),
        if dims.len() == 1 { "," } else { "" }
    )
}

/// The header in `bytes` (the preamble and header, as [`header_len`] measures them), with
/// `ndim` dimensions: the message (without the file's name) of what is wrong otherwise.
pub(crate) fn parse(bytes: &[u8], ndim: usize) -> Result<NpyHeader, String> {
    let Some(len) = header_len(bytes) else {
        return Err(if bytes.len() >= 8 && &bytes[..6] == MAGIC {
            format!("unsupported .npy format version {}.{}", bytes[6], bytes[7])
        } else {
            "not a NumPy .npy file (it does not start with \\x93NUMPY)".into()
        });
    };
    if len > bytes.len() {
        return Err("truncated .npy header".into());
    }
    let start = if bytes[6] == 1 { 10 } else { 12 };
    let text = normalise(&bytes[start..len]);
    let depth = nesting(&text);
    if depth > MAX_NESTING {
        return Err(format!(
            "the .npy header nests brackets {depth} deep (at most {MAX_NESTING} are read; a plain \
             array's header nests 2)"
        ));
    }
    if let Some(dims) = declared_shape(&text) {
        if dims.len() != ndim {
            return Err(format!(
                "expected a {ndim}-D array, found shape {}",
                shape_text(&dims)
            ));
        }
        if dims
            .iter()
            .try_fold(1u64, |n, &d| n.checked_mul(d))
            .is_none()
        {
            let dims: Vec<String> = dims.iter().map(u64::to_string).collect();
            return Err(format!(
                "a {} array needs more than 2⁶⁴ bytes of data",
                dims.join("×")
            ));
        }
    }
    let header = match text {
        Cow::Borrowed(_) => NpyHeader::from_reader(&bytes[..len]),
        Cow::Owned(text) => {
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
        let e = e.to_string();
        let first: Vec<&str> = e
            .lines()
            .next()
            .unwrap_or_default()
            .split_whitespace()
            .collect();
        let mut first = first.join(" ");
        if first.chars().count() > 200 {
            first = first.chars().take(200).collect::<String>() + "…";
        }
        format!("cannot parse the .npy header ({first})")
    })?;
    if header.shape().len() != ndim {
        return Err(format!(
            "expected a {ndim}-D array, found shape {}",
            shape_text(header.shape())
        ));
    }
    Ok(header)
}

/// What an element of a plain array is, and how to read it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Elem {
    kind: Kind,
    /// Bytes.
    pub(crate) size: usize,
    big: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Float,
    Int,
    Uint,
    Bool,
}

impl Elem {
    /// The element type of `header`: floats of 4 or 8 bytes, integers of 1 to 8, `bool`;
    /// `None` for any other.
    pub(crate) fn of(header: &NpyHeader) -> Option<Elem> {
        use npyz::{DType, Endianness, TypeChar};
        let DType::Plain(t) = header.dtype() else {
            return None;
        };
        let size = t.size_field() as usize;
        let kind = match (t.type_char(), size) {
            (TypeChar::Float, 4 | 8) => Kind::Float,
            (TypeChar::Int, 1 | 2 | 4 | 8) => Kind::Int,
            (TypeChar::Uint, 1 | 2 | 4 | 8) => Kind::Uint,
            (TypeChar::Bool, 1) => Kind::Bool,
            _ => return None,
        };
        Some(Elem {
            kind,
            size,
            big: t.endianness() == Endianness::Big,
        })
    }

    /// Floats only.
    pub(crate) fn is_float(self) -> bool {
        self.kind == Kind::Float
    }

    /// The bytes in the order of a little-endian number.
    #[inline]
    fn le<const N: usize>(self, b: &[u8]) -> [u8; N] {
        let mut a: [u8; N] = b[..N].try_into().expect("N bytes");
        if self.big {
            a.reverse();
        }
        a
    }

    /// The element in `b` (its `size` bytes) as `f64` (64-bit integers beyond 2⁵³ rounded).
    #[inline]
    pub(crate) fn value(self, b: &[u8]) -> f64 {
        match (self.kind, self.size) {
            (Kind::Float, 4) => f64::from(f32::from_le_bytes(self.le(b))),
            (Kind::Float, _) => f64::from_le_bytes(self.le(b)),
            (Kind::Int, 1) => f64::from(b[0] as i8),
            (Kind::Int, 2) => f64::from(i16::from_le_bytes(self.le(b))),
            (Kind::Int, 4) => f64::from(i32::from_le_bytes(self.le(b))),
            (Kind::Int, _) => i64::from_le_bytes(self.le(b)) as f64,
            (Kind::Uint, 1) | (Kind::Bool, _) => f64::from(b[0]),
            (Kind::Uint, 2) => f64::from(u16::from_le_bytes(self.le(b))),
            (Kind::Uint, 4) => f64::from(u32::from_le_bytes(self.le(b))),
            (Kind::Uint, _) => u64::from_le_bytes(self.le(b)) as f64,
        }
    }
}
