//! A `.npy` matrix read by blocks of rows, seeking in the file: the input of the online fit
//! (`nmf fit --batch-size`), which never holds more than one block of V in memory.
//!
//! Only what can be read by rows without a pass over the file: a 2-D `float32` or `float64`
//! array (either byte order) in C order. The header is checked as [`super::npy`] checks it
//! (the same messages), and the file's length must be the header's plus rows × columns ×
//! the element's size.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::ops::Range;
use std::path::Path;

use npyz::{DType, Endianness, Order, TypeChar};

use crate::CliError;
use crate::matrix::check_not_empty;

/// An open `.npy` file of a C-order float matrix, read by rows.
#[derive(Debug)]
pub struct NpyRows {
    file: File,
    source: String,
    rows: usize,
    cols: usize,
    /// 4 or 8.
    size: usize,
    big_endian: bool,
    data_start: u64,
    buf: Vec<u8>,
}

impl NpyRows {
    /// Opens `path` (named `source` in messages) and reads its header.
    ///
    /// # Errors
    /// A [`CliError`] for an unreadable file, a header [`super::npy`] refuses, an element
    /// type other than float32/float64, Fortran order, or a length that does not match the
    /// shape.
    pub fn open(path: &Path, source: &str) -> Result<Self, CliError> {
        let err = |m: String| CliError::data(format!("{source}: {m}"));
        let mut file = File::open(path).map_err(|e| CliError::io("cannot open", path, &e))?;
        let len = file
            .metadata()
            .map_err(|e| CliError::io("cannot read", path, &e))?
            .len();
        // The preamble (10 or 12 bytes) says how long the header is.
        let mut pre = [0u8; 12];
        let got =
            read_up_to(&mut file, &mut pre).map_err(|e| CliError::io("cannot read", path, &e))?;
        let start = if got >= 8 && pre[6] == 1 { 10 } else { 12 };
        let header_len = if got < start {
            0
        } else if start == 10 {
            usize::from(u16::from_le_bytes([pre[8], pre[9]]))
        } else {
            u32::from_le_bytes([pre[8], pre[9], pre[10], pre[11]]) as usize
        };
        let want = (start + header_len).min(len as usize);
        let mut head = vec![0u8; want];
        file.seek(SeekFrom::Start(0))
            .and_then(|_| file.read_exact(&mut head))
            .map_err(|e| CliError::io("cannot read", path, &e))?;
        let (header, data_start) = super::npy::header_of(&head, source, Some(2))?;
        let DType::Plain(descr) = header.dtype() else {
            return Err(err(
                "unsupported element type: structured arrays are not matrices".into(),
            ));
        };
        let size = descr.size_field() as usize;
        if !(descr.type_char() == TypeChar::Float && matches!(size, 4 | 8)) {
            return Err(err(format!(
                "reading by row blocks (--batch-size) needs float32 or float64 entries, not \
                 '{descr}': convert the file, or fit it without --batch-size"
            )));
        }
        if header.order() == Order::Fortran {
            return Err(err(
                "reading by row blocks (--batch-size) needs a C-order (row-major) array, not \
                 Fortran order: convert the file (numpy.ascontiguousarray), or fit it without \
                 --batch-size"
                    .into(),
            ));
        }
        let &[rows, cols] = header.shape() else {
            return Err(err("expected a 2-D array".into()));
        };
        check_not_empty(source, rows, cols)?;
        let need = rows
            .checked_mul(cols)
            .and_then(|n| n.checked_mul(size as u64))
            .and_then(|n| n.checked_add(data_start as u64));
        if need != Some(len) {
            return Err(err(format!(
                "a {rows}×{cols} array of '{descr}' needs {} bytes of data, but the file has {}",
                rows.saturating_mul(cols).saturating_mul(size as u64),
                len.saturating_sub(data_start as u64)
            )));
        }
        Ok(NpyRows {
            file,
            source: source.to_string(),
            rows: rows as usize,
            cols: cols as usize,
            size,
            big_endian: descr.endianness() == Endianness::Big,
            data_start: data_start as u64,
            buf: Vec::new(),
        })
    }

    /// `(rows, columns)`.
    pub fn shape(&self) -> (usize, usize) {
        (self.rows, self.cols)
    }

    /// Reads rows `range` into `out` (row-major, `range.len() × cols` values), converted by
    /// `convert`, which refuses an entry by returning an error (given its value, row in the
    /// file and column).
    ///
    /// # Errors
    /// An I/O error, or `convert`'s.
    pub fn read_block<T>(
        &mut self,
        range: Range<usize>,
        out: &mut Vec<T>,
        convert: impl Fn(f64, usize, usize) -> Result<T, CliError>,
    ) -> Result<(), CliError> {
        let (cols, size) = (self.cols, self.size);
        let bytes = range.len() * cols * size;
        self.buf.resize(bytes, 0);
        let at = self.data_start + (range.start * cols * size) as u64;
        self.file
            .seek(SeekFrom::Start(at))
            .and_then(|_| self.file.read_exact(&mut self.buf))
            .map_err(|e| CliError::io("cannot read", Path::new(&self.source), &e))?;
        out.clear();
        out.reserve(range.len() * cols);
        for (p, c) in self.buf.chunks_exact(size).enumerate() {
            let x = match (size, self.big_endian) {
                (4, false) => f64::from(f32::from_le_bytes(c.try_into().expect("4 bytes"))),
                (4, true) => f64::from(f32::from_be_bytes(c.try_into().expect("4 bytes"))),
                (_, false) => f64::from_le_bytes(c.try_into().expect("8 bytes")),
                (_, true) => f64::from_be_bytes(c.try_into().expect("8 bytes")),
            };
            out.push(convert(x, range.start + p / cols, p % cols)?);
        }
        Ok(())
    }
}

/// Reads as many bytes as the file has, up to `buf.len()`.
fn read_up_to(file: &mut File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match file.read(&mut buf[got..])? {
            0 => break,
            n => got += n,
        }
    }
    Ok(got)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::read::npy::to_npy_bytes;

    /// Blocks read by seeking are the rows of the file, exactly (f32 → f64 is exact).
    #[test]
    fn blocks_are_rows() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("v.npy");
        let data: Vec<f32> = (0..35).map(|x| x as f32 * 0.5).collect();
        std::fs::write(&p, to_npy_bytes(7, 5, &data)).unwrap();
        let mut r = NpyRows::open(&p, "v.npy").unwrap();
        assert_eq!(r.shape(), (7, 5));
        let mut out = Vec::new();
        r.read_block(2..5, &mut out, |x, _, _| Ok(x)).unwrap();
        let want: Vec<f64> = data[10..25].iter().map(|&x| f64::from(x)).collect();
        assert_eq!(out, want);
        let e = r
            .read_block(6..7, &mut out, |x, i, j| {
                if x > 16.0 {
                    Err(CliError::data(format!("bad {x} at {i}, {j}")))
                } else {
                    Ok(x)
                }
            })
            .unwrap_err();
        assert_eq!(e.message, "bad 16.5 at 6, 3");
        // A file cut short is refused at open, with the sizes.
        let bytes = to_npy_bytes(7, 5, &data);
        std::fs::write(&p, &bytes[..bytes.len() - 4]).unwrap();
        let e = NpyRows::open(&p, "v.npy").unwrap_err();
        assert!(
            e.message
                .contains("needs 140 bytes of data, but the file has 136"),
            "{}",
            e.message
        );
    }
}
