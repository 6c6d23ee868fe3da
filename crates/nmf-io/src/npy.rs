//! A `.npy` matrix read by blocks of rows, seeking in the file.
//!
//! Only what can be read by rows without a pass over the file: a 2-D `float32` or `float64`
//! array (either byte order) in C order. The header is checked as the `nmf` command's
//! whole-file reader checks it (the same messages), and the file's length must be the
//! header's plus rows × columns × the element's size.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::ops::Range;
use std::path::Path;
use std::sync::Mutex;

use nmf_core::streamed::{RowBlock, RowSource};
use nmf_core::{MatrixRole, NmfError, Scalar};
use npyz::Order;

use crate::entry::{check_range, io, system, to_scalar};
use crate::npy_header::{self, Elem};

/// An open `.npy` file of a C-order float matrix, read by blocks of rows.
#[derive(Debug)]
pub struct NpyRows {
    source: String,
    rows: usize,
    cols: usize,
    elem: Elem,
    data_start: u64,
    /// The file and the bytes of the last block read.
    state: Mutex<(File, Vec<u8>)>,
}

impl NpyRows {
    /// Opens `path` and reads its header.
    ///
    /// # Errors
    /// An [`NmfError::Io`] naming the file for an unreadable file, a header that is not a
    /// `.npy` one, an element type other than float32/float64, Fortran order, an array that is
    /// not 2-D or empty, or a length that does not match the shape.
    pub fn open(path: &Path) -> Result<Self, NmfError> {
        let source = path.display().to_string();
        let err = |m: String| io(&source, m);
        let mut file = File::open(path).map_err(|e| system(path, &e))?;
        let len = file.metadata().map_err(|e| system(path, &e))?.len();
        // The preamble (10 or 12 bytes) says how long the header is.
        let mut pre = Vec::with_capacity(12);
        (&mut file)
            .take(12)
            .read_to_end(&mut pre)
            .map_err(|e| system(path, &e))?;
        let want = npy_header::header_len(&pre)
            .unwrap_or(pre.len())
            .min(len as usize);
        let mut head = vec![0u8; want];
        file.seek(SeekFrom::Start(0))
            .and_then(|_| file.read_exact(&mut head))
            .map_err(|e| system(path, &e))?;
        let header = npy_header::parse(&head, 2).map_err(err)?;
        let data_start = want as u64;
        let elem = Elem::of(&header).filter(|e| e.is_float()).ok_or_else(|| {
            err(format!(
                "reading by blocks of rows needs float32 or float64 entries, not {}: convert \
                 the file (numpy: v.astype('float32')), or read it whole",
                descr(&header)
            ))
        })?;
        if header.order() == Order::Fortran {
            return Err(err(
                "reading by blocks of rows needs a C-order (row-major) array, not Fortran \
                 order: convert the file (numpy.ascontiguousarray), or read it whole"
                    .into(),
            ));
        }
        let &[rows, cols] = header.shape() else {
            unreachable!("npy_header::parse checks the dimensions");
        };
        if rows == 0 || cols == 0 {
            return Err(err(format!(
                "the matrix is empty ({rows}×{cols}): it needs at least one row and one column"
            )));
        }
        let need = rows
            .checked_mul(cols)
            .and_then(|n| n.checked_mul(elem.size as u64))
            .and_then(|n| n.checked_add(data_start));
        if need != Some(len) {
            return Err(err(format!(
                "a {rows}×{cols} array of '{}' needs {} bytes of data, but the file has {}",
                descr(&header),
                rows.saturating_mul(cols).saturating_mul(elem.size as u64),
                len.saturating_sub(data_start)
            )));
        }
        Ok(NpyRows {
            source,
            // (both fit in usize: their product, in bytes, is the file's length)
            rows: rows as usize,
            cols: cols as usize,
            elem,
            data_start,
            state: Mutex::new((file, Vec::new())),
        })
    }

    /// `(rows, columns)`.
    pub fn shape(&self) -> (usize, usize) {
        (self.rows, self.cols)
    }

    /// Rows `rows` into `out` (row-major), each entry checked and converted to `T`.
    ///
    /// # Errors
    /// As [`RowSource::read_rows`].
    pub fn read_into<T: Scalar>(
        &self,
        rows: Range<usize>,
        out: &mut Vec<T>,
    ) -> Result<(), NmfError> {
        check_range(&self.source, &rows, self.rows)?;
        let (cols, size) = (self.cols, self.elem.size);
        let mut guard = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let (file, buf) = &mut *guard;
        buf.resize(rows.len() * cols * size, 0);
        let at = self.data_start + (rows.start * cols * size) as u64;
        file.seek(SeekFrom::Start(at))
            .and_then(|_| file.read_exact(buf))
            .map_err(|e| {
                io(
                    &self.source,
                    format!(
                        "cannot read rows {}..{} ({e}): was the file changed or cut short since \
                         it was opened?",
                        rows.start, rows.end
                    ),
                )
            })?;
        out.clear();
        out.reserve(rows.len() * cols);
        for (p, c) in buf.chunks_exact(size).enumerate() {
            let x = self.elem.value(c);
            let (i, j) = (rows.start + p / cols, p % cols);
            if !x.is_finite() {
                return Err(NmfError::NonFiniteEntry {
                    matrix: MatrixRole::V,
                    row: i,
                    col: j,
                    value: x,
                });
            }
            if x < 0.0 {
                return Err(NmfError::NegativeEntry {
                    matrix: MatrixRole::V,
                    row: i,
                    col: j,
                    value: x,
                });
            }
            out.push(to_scalar(x, i, j).map_err(|m| io(&self.source, m))?);
        }
        Ok(())
    }
}

/// The element type as numpy writes it (`'<f8'`).
fn descr(h: &npyz::NpyHeader) -> String {
    match h.dtype() {
        npyz::DType::Plain(t) => format!("'{t}'"),
        _ => "a structured type".into(),
    }
}

impl<T: Scalar> RowSource<T> for NpyRows {
    fn shape(&self) -> (usize, usize) {
        (self.rows, self.cols)
    }

    fn read_rows(&self, rows: Range<usize>) -> Result<RowBlock<T>, NmfError> {
        let mut data = Vec::new();
        self.read_into(rows.clone(), &mut data)?;
        Ok(RowBlock::Dense {
            rows: rows.len(),
            cols: self.cols,
            data,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A version-1.0 `.npy` with this `descr` and shape, and the payload.
    fn npy(descr: &str, fortran: bool, shape: &str, payload: &[u8]) -> Vec<u8> {
        let mut h = format!(
            "{{'descr': '{descr}', 'fortran_order': {}, 'shape': {shape}, }}",
            if fortran { "True" } else { "False" }
        )
        .into_bytes();
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

    fn write(dir: &Path, name: &str, bytes: &[u8]) -> std::path::PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    }

    /// Blocks read by seeking are the rows of the file, exactly, in either byte order and
    /// either element size, whatever the block boundaries.
    #[test]
    fn blocks_are_rows() {
        let dir = tempfile::tempdir().unwrap();
        let data: Vec<f64> = (0..35).map(|x| f64::from(x) * 0.5).collect();
        let le4: Vec<u8> = data
            .iter()
            .flat_map(|&x| (x as f32).to_le_bytes())
            .collect();
        let be8: Vec<u8> = data.iter().flat_map(|&x| x.to_be_bytes()).collect();
        for (name, bytes) in [
            ("le4.npy", npy("<f4", false, "(7, 5)", &le4)),
            ("be8.npy", npy(">f8", false, "(7, 5)", &be8)),
        ] {
            let r = NpyRows::open(&write(dir.path(), name, &bytes)).unwrap();
            assert_eq!(r.shape(), (7, 5));
            for cuts in [vec![0, 7], vec![0, 2, 5, 7], vec![0, 1, 2, 3, 4, 5, 6, 7]] {
                let mut all: Vec<f64> = Vec::new();
                for w in cuts.windows(2) {
                    let RowBlock::Dense { rows, cols, data } =
                        RowSource::<f64>::read_rows(&r, w[0]..w[1]).unwrap()
                    else {
                        panic!("dense");
                    };
                    assert_eq!((rows, cols), (w[1] - w[0], 5));
                    all.extend(data);
                }
                assert_eq!(all, data, "{name} {cuts:?}");
            }
            // Out of order, and as f32 (exact: halves of small integers).
            let RowBlock::Dense { data: d, .. } = RowSource::<f32>::read_rows(&r, 5..6).unwrap()
            else {
                panic!("dense");
            };
            assert_eq!(d, [12.5f32, 13.0, 13.5, 14.0, 14.5]);
        }
    }

    #[test]
    fn bad_entries_are_named_by_their_row_in_v() {
        let dir = tempfile::tempdir().unwrap();
        let mut data: Vec<f64> = vec![1.0; 12];
        data[7] = -2.0;
        data[10] = f64::NAN;
        let bytes: Vec<u8> = data.iter().flat_map(|x| x.to_le_bytes()).collect();
        let r = NpyRows::open(&write(
            dir.path(),
            "v.npy",
            &npy("<f8", false, "(4, 3)", &bytes),
        ))
        .unwrap();
        let e = RowSource::<f64>::read_rows(&r, 2..4).unwrap_err();
        assert_eq!(
            e.to_string(),
            "V has a negative entry -2 at row 2, column 1 (0-based)"
        );
        let e = RowSource::<f64>::read_rows(&r, 3..4).unwrap_err();
        assert_eq!(
            e.to_string(),
            "V has a non-finite entry (NaN) at row 3, column 1 (0-based)"
        );
        assert!(RowSource::<f64>::read_rows(&r, 0..2).is_ok());
        // An f64 beyond f32's range, read as f32.
        let bytes: Vec<u8> = [1.0, 1e300]
            .iter()
            .flat_map(|x: &f64| x.to_le_bytes())
            .collect();
        let p = write(dir.path(), "big.npy", &npy("<f8", false, "(2, 1)", &bytes));
        let r = NpyRows::open(&p).unwrap();
        let e = RowSource::<f32>::read_rows(&r, 0..2).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "{}: the entry 1e300 at row 1, column 0 (0-based) is beyond the range of f32: \
                 read the file as f64",
                p.display()
            )
        );
        assert!(RowSource::<f64>::read_rows(&r, 0..2).is_ok());
        // A block outside the matrix is an error, not a panic.
        assert!(RowSource::<f64>::read_rows(&r, 1..3).is_err());
    }

    #[test]
    fn files_that_cannot_be_read_by_rows_are_refused_with_the_reason() {
        let dir = tempfile::tempdir().unwrap();
        let f8 = vec![0u8; 4 * 8];
        let cases = [
            (npy("<f8", true, "(2, 2)", &f8), "not Fortran order"),
            (
                npy("<i8", false, "(2, 2)", &f8),
                "float32 or float64 entries, not '<i8'",
            ),
            (
                npy("<f8", false, "(4,)", &f8),
                "expected a 2-D array, found shape (4,)",
            ),
            (
                npy("<f8", false, "(0, 2)", &[]),
                "the matrix is empty (0×2)",
            ),
            (
                npy("<f8", false, "(2, 2)", &f8[..31]),
                "needs 32 bytes of data, but the file has 31",
            ),
            (
                npy("<f8", false, "(4294967296, 4294967296)", &f8),
                "needs more than 2⁶⁴ bytes",
            ),
            (b"PK\x03\x04 not npy".to_vec(), "not a NumPy .npy file"),
        ];
        for (i, (bytes, needle)) in cases.iter().enumerate() {
            let p = write(dir.path(), &format!("b{i}.npy"), bytes);
            let e = NpyRows::open(&p).unwrap_err().to_string();
            assert!(e.starts_with(&format!("{}: ", p.display())), "{e}");
            assert!(e.contains(needle), "{e:?} lacks {needle:?}");
        }
        let e = NpyRows::open(&dir.path().join("missing.npy"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("missing.npy: cannot read ("), "{e}");
    }
}
