//! SciPy's sparse `.npz` files (`scipy.sparse.save_npz`): a zip of `.npy` members holding the
//! format (`csr`, `csc` or `coo`; SciPy also writes `bsr` and `dia`, which are refused), the
//! shape and the compressed arrays (`data`, `indices`, `indptr`) or the coordinates (`data`,
//! `row`, `col`). Read into compressed sparse rows without a dense intermediate: memory
//! O(nnz + rows). Unsorted indices and repeated entries (which SciPy allows) are sorted and
//! summed.

use std::io::{Cursor, Read};

use nmf_core::sparse::Csr;
use npyz::{DType, TypeChar};

use super::npy;
use crate::CliError;
use crate::error::excerpt;
use crate::matrix::{check_not_empty, describe_invalid, try_reserve, valid_entry};

/// The largest index read exactly (integers are read through `f64`).
const MAX_INDEX: f64 = 9_007_199_254_740_992.0; // 2⁵³

/// Reads a SciPy sparse `.npz` file's bytes into compressed sparse rows; `source` names it in
/// messages; each member may decompress to at most `max_bytes`.
///
/// # Errors
/// One-line [`CliError::data`] messages naming the file and the member: not a zip, a member
/// missing or larger than the limit, an unsupported format, arrays of the wrong type, length
/// or shape, an index out of range (with its position), row pointers that decrease, or a
/// negative, NaN or infinite value (with its row and column, 0-based).
pub fn parse(bytes: &[u8], source: &str, max_bytes: u64) -> Result<Csr<f64>, CliError> {
    let err = |m: String| CliError::data(format!("{source}: {m}"));
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes))
        .map_err(|e| err(format!("not a SciPy sparse .npz file (not a zip: {e})")))?;
    let mut member = |name: &str| -> Result<Vec<u8>, CliError> {
        let file = zip.by_name(name).map_err(|_| {
            err(format!(
                "no {name} in the .npz: is it a SciPy sparse matrix (scipy.sparse.save_npz)?"
            ))
        })?;
        let too_big = || {
            err(format!(
                "{name} decompresses to more than {max_bytes} bytes (--max-input-bytes)"
            ))
        };
        // The declared size first, then what the data really gives (a zip may lie).
        if file.size() > max_bytes {
            return Err(too_big());
        }
        let mut out = Vec::new();
        file.take(max_bytes.saturating_add(1))
            .read_to_end(&mut out)
            .map_err(|e| err(format!("cannot read {name} ({e})")))?;
        if out.len() as u64 > max_bytes {
            return Err(too_big());
        }
        Ok(out)
    };
    let at = |name: &str| format!("{source} ({name})");

    let format = format_string(&member("format.npy")?, &at("format.npy"))?;
    let shape = npy::parse_vector(&member("shape.npy")?, &at("shape.npy"))?;
    let &[rows, cols] = &shape[..] else {
        return Err(err(format!(
            "shape.npy holds {} numbers, a matrix's shape has 2",
            shape.len()
        )));
    };
    let dim = |x: f64, what: &str| -> Result<usize, CliError> {
        if x.fract() == 0.0 && (0.0..MAX_INDEX).contains(&x) {
            Ok(x as usize)
        } else {
            Err(err(format!("shape.npy: the number of {what} is {x}")))
        }
    };
    let (rows, cols) = (dim(rows, "rows")?, dim(cols, "columns")?);
    check_not_empty(source, rows as u64, cols as u64)?;
    let data = npy::parse_vector(&member("data.npy")?, &at("data.npy"))?;
    let nnz = data.len();
    // The arrays of the compressed or coordinate form, as indices.
    let mut index_array = |name: &str, len: Option<usize>, limit: usize| {
        let v = npy::parse_vector(&member(name)?, &at(name))?;
        if let Some(len) = len
            && v.len() != len
        {
            return Err(err(format!(
                "{name} has {} entries, {len} were expected",
                v.len()
            )));
        }
        let mut out = Vec::new();
        try_reserve(&mut out, v.len(), source, &|| format!("the {name} array"))?;
        for (p, &x) in v.iter().enumerate() {
            if !(x.fract() == 0.0 && x >= 0.0 && x <= limit as f64 && x < MAX_INDEX) {
                return Err(err(format!("{name}[{p}] is {x}, outside 0..={}", limit)));
            }
            out.push(x as usize);
        }
        Ok::<_, CliError>(out)
    };
    // Triplets (row, column, value), in the file's order.
    let (ri, ci) = match format.as_str() {
        "coo" => (
            index_array("row.npy", Some(nnz), rows.saturating_sub(1))?,
            index_array("col.npy", Some(nnz), cols.saturating_sub(1))?,
        ),
        "csr" | "csc" => {
            let (major, minor) = if format == "csr" {
                (rows, cols)
            } else {
                (cols, rows)
            };
            let indptr = index_array("indptr.npy", Some(major.saturating_add(1)), nnz)?;
            let indices = index_array("indices.npy", Some(nnz), minor.saturating_sub(1))?;
            if indptr[0] != 0 || indptr[major] != nnz {
                return Err(err(format!(
                    "indptr.npy runs from {} to {}, it must run from 0 to the {nnz} entries",
                    indptr[0], indptr[major]
                )));
            }
            let mut expanded = Vec::new();
            try_reserve(&mut expanded, nnz, source, &|| "the entries' places".into())?;
            for r in 0..major {
                if indptr[r + 1] < indptr[r] {
                    return Err(err(format!(
                        "indptr.npy decreases at {} ({} then {})",
                        r + 1,
                        indptr[r],
                        indptr[r + 1]
                    )));
                }
                expanded.extend(std::iter::repeat_n(r, indptr[r + 1] - indptr[r]));
            }
            if format == "csr" {
                (expanded, indices)
            } else {
                (indices, expanded)
            }
        }
        other => {
            return Err(err(format!(
                "unsupported sparse format '{}' (csr, csc and coo are read; convert with \
                 .tocsr() before save_npz)",
                excerpt(other)
            )));
        }
    };
    if let Some(p) = data.iter().position(|&x| !valid_entry(x)) {
        return Err(err(format!(
            "{} at row {}, column {} (0-based; data.npy[{p}])",
            describe_invalid(data[p]),
            ri[p],
            ci[p]
        )));
    }
    // Built in the place of the triplets, the compressed rows need 16 bytes a row besides them.
    let need = rows.saturating_add(1).saturating_mul(16);
    try_reserve(&mut Vec::<u8>::new(), need, source, &|| {
        format!("a sparse {rows}×{cols} matrix with {nnz} entries")
    })?;
    Csr::from_triplet_vecs(rows, cols, ri, ci, data).map_err(|e| err(e.to_string()))
}

/// The text of `format.npy`: a 0-d array of bytes (`|S3`, as SciPy writes it) or of a unicode
/// string (`<U3`).
fn format_string(bytes: &[u8], source: &str) -> Result<String, CliError> {
    let err = |m: String| CliError::data(format!("{source}: {m}"));
    let header = npyz::NpyFile::new(bytes)
        .map_err(|e| err(format!("cannot read the format ({e})")))?
        .header()
        .clone();
    let DType::Plain(t) = header.dtype() else {
        return Err(err("the format is not a string".into()));
    };
    if !header.shape().is_empty() {
        return Err(err("the format is not a single string".into()));
    }
    let size = t.size_field() as usize;
    let payload = bytes
        .len()
        .checked_sub(size.max(1))
        .map(|start| &bytes[start..])
        .ok_or_else(|| err("the format is cut short".into()))?;
    let text: String = match t.type_char() {
        TypeChar::ByteStr => payload[payload.len() - size..]
            .iter()
            .take_while(|&&b| b != 0)
            .map(|&b| char::from(b))
            .collect(),
        TypeChar::UnicodeStr => {
            let chars = &payload[payload.len().saturating_sub(4 * size)..];
            chars
                .chunks_exact(4)
                .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .take_while(|&c| c != 0)
                .map(|c| char::from_u32(c).unwrap_or('?'))
                .collect()
        }
        _ => return Err(err("the format is not a string".into())),
    };
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use nmf_core::sparse::Duplicates;
    use std::io::Write;

    /// A version-1.0 `.npy` with this header dict and payload.
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

    /// A 1-D `<f8` array.
    fn vec_npy(v: &[f64]) -> Vec<u8> {
        let payload: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
        let dict = format!(
            "{{'descr': '<f8', 'fortran_order': False, 'shape': ({},), }}",
            v.len()
        );
        npy_raw(&dict, &payload)
    }

    /// A 1-D `<i4` array (SciPy's index type for small matrices).
    fn ints(v: &[usize]) -> Vec<u8> {
        let payload: Vec<u8> = v.iter().flat_map(|&x| (x as i32).to_le_bytes()).collect();
        let dict = format!(
            "{{'descr': '<i4', 'fortran_order': False, 'shape': ({},), }}",
            v.len()
        );
        npy_raw(&dict, &payload)
    }

    /// A 0-d `|S` array, as SciPy writes the format.
    fn format_npy(f: &str) -> Vec<u8> {
        let dict = format!(
            "{{'descr': '|S{}', 'fortran_order': False, 'shape': (), }}",
            f.len()
        );
        npy_raw(&dict, f.as_bytes())
    }

    fn npz(members: &[(&str, Vec<u8>)]) -> Vec<u8> {
        let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
        for (name, bytes) in members {
            zip.start_file(*name, zip::write::SimpleFileOptions::default())
                .unwrap();
            zip.write_all(bytes).unwrap();
        }
        zip.finish().unwrap().into_inner()
    }

    /// [[1, 0, 2], [0, 0, 3]] in each of SciPy's three formats, with an unsorted row and a
    /// repeated entry in the compressed ones.
    #[test]
    fn csr_csc_and_coo_give_the_same_matrix() {
        let want = Csr::from_triplets(
            2,
            3,
            &[0, 0, 1],
            &[0, 2, 2],
            &[1.0, 2.0, 3.0],
            Duplicates::Sum,
        )
        .unwrap();
        let shape = ints(&[2, 3]);
        let csr = npz(&[
            ("format.npy", format_npy("csr")),
            ("shape.npy", shape.clone()),
            ("data.npy", vec_npy(&[2.0, 1.0, 1.0, 2.0])),
            ("indices.npy", ints(&[2, 0, 2, 2])),
            ("indptr.npy", ints(&[0, 2, 4])),
        ]);
        assert_eq!(parse(&csr, "m.npz", 1 << 20).unwrap(), want);
        let csc = npz(&[
            ("format.npy", format_npy("csc")),
            ("shape.npy", shape.clone()),
            ("data.npy", vec_npy(&[1.0, 2.0, 3.0])),
            ("indices.npy", ints(&[0, 0, 1])),
            ("indptr.npy", ints(&[0, 1, 1, 3])),
        ]);
        assert_eq!(parse(&csc, "m.npz", 1 << 20).unwrap(), want);
        let coo = npz(&[
            ("format.npy", format_npy("coo")),
            ("shape.npy", shape),
            ("data.npy", vec_npy(&[3.0, 1.0, 2.0])),
            ("row.npy", ints(&[1, 0, 0])),
            ("col.npy", ints(&[2, 0, 2])),
        ]);
        assert_eq!(parse(&coo, "m.npz", 1 << 20).unwrap(), want);
    }

    #[test]
    fn bad_files_are_clear_errors() {
        let e = |b: &[u8]| parse(b, "m.npz", 1 << 20).unwrap_err().message;
        assert!(e(b"PK not really").starts_with("m.npz: not a SciPy sparse .npz file"));
        let base = |fmt: &str, data: Vec<u8>, idx: Vec<u8>, ptr: Vec<u8>| {
            npz(&[
                ("format.npy", format_npy(fmt)),
                ("shape.npy", ints(&[2, 3])),
                ("data.npy", data),
                ("indices.npy", idx),
                ("indptr.npy", ptr),
            ])
        };
        let ok_data = || vec_npy(&[1.0, 2.0, 3.0]);
        assert_eq!(
            e(&base("bsr", ok_data(), ints(&[0, 2, 2]), ints(&[0, 2, 3]))),
            "m.npz: unsupported sparse format 'bsr' (csr, csc and coo are read; convert with .tocsr() before save_npz)"
        );
        assert_eq!(
            e(&base("csr", ok_data(), ints(&[0, 3, 2]), ints(&[0, 2, 3]))),
            "m.npz: indices.npy[1] is 3, outside 0..=2"
        );
        assert_eq!(
            e(&base("csr", ok_data(), ints(&[0, 2, 2]), ints(&[0, 2]))),
            "m.npz: indptr.npy has 2 entries, 3 were expected"
        );
        assert_eq!(
            e(&base(
                "csc",
                ok_data(),
                ints(&[0, 1, 1]),
                ints(&[0, 2, 1, 3])
            )),
            "m.npz: indptr.npy decreases at 2 (2 then 1)"
        );
        assert_eq!(
            e(&base("csr", ok_data(), ints(&[0, 2, 2]), ints(&[1, 2, 3]))),
            "m.npz: indptr.npy runs from 1 to 3, it must run from 0 to the 3 entries"
        );
        assert_eq!(
            e(&base(
                "csr",
                vec_npy(&[1.0, -2.0, 3.0]),
                ints(&[0, 2, 2]),
                ints(&[0, 2, 3])
            )),
            "m.npz: negative entry -2 at row 0, column 2 (0-based; data.npy[1])"
        );
        assert!(
            e(&base(
                "csr",
                vec_npy(&[1.0, f64::NAN, 3.0]),
                ints(&[0, 2, 2]),
                ints(&[0, 2, 3])
            ))
            .contains("non-finite entry (NaN) at row 0, column 2")
        );
        let no_ptr = npz(&[
            ("format.npy", format_npy("csr")),
            ("shape.npy", ints(&[2, 3])),
            ("data.npy", ok_data()),
            ("indices.npy", ints(&[0, 2, 2])),
        ]);
        assert!(e(&no_ptr).starts_with("m.npz: no indptr.npy in the .npz"));
        // A member larger than the limit.
        let big = base("csr", ok_data(), ints(&[0, 2, 2]), ints(&[0, 2, 3]));
        assert!(
            parse(&big, "m.npz", 100)
                .unwrap_err()
                .message
                .contains("decompresses to more than 100 bytes")
        );
    }

    /// The streamed reader of `nmf-io` gives, block by block over random cuts, the matrix this
    /// reader gives for csr files with unsorted and repeated columns and empty rows, stored and
    /// deflated; and the same message for a bad entry.
    #[test]
    fn streamed_row_blocks_concatenate_to_the_whole_matrix() {
        let mut state = 5u64;
        let mut below = |n: usize| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((state >> 33) % n as u64) as usize
        };
        let dir = tempfile::tempdir().unwrap();
        for case in 0..12 {
            let (m, n) = (1 + below(25), 1 + below(8));
            let (mut ptr, mut idx, mut val) = (vec![0], vec![], vec![]);
            for _ in 0..m {
                for _ in 0..below(5) {
                    idx.push(below(n));
                    val.push(below(9) as f64 / 2.0);
                }
                ptr.push(idx.len());
            }
            let members = [
                ("format.npy", format_npy("csr")),
                ("shape.npy", ints(&[m, n])),
                ("data.npy", vec_npy(&val)),
                ("indices.npy", ints(&idx)),
                ("indptr.npy", ints(&ptr)),
            ];
            let bytes = if case % 2 == 0 {
                npz(&members)
            } else {
                let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
                for (name, b) in &members {
                    let o = zip::write::SimpleFileOptions::default()
                        .compression_method(zip::CompressionMethod::Stored);
                    zip.start_file(*name, o).unwrap();
                    zip.write_all(b).unwrap();
                }
                zip.finish().unwrap().into_inner()
            };
            let whole = parse(&bytes, "m.npz", 1 << 20).unwrap();
            let path = dir.path().join(format!("m{case}.npz"));
            std::fs::write(&path, &bytes).unwrap();
            let r = nmf_io::NpzRows::open(&path).unwrap();
            assert_eq!(r.shape(), whole.shape());
            let w = whole.view();
            for _ in 0..3 {
                let mut start = 0;
                while start < m {
                    let end = (start + 1 + below(m.div_ceil(3))).min(m);
                    let b = r.read_csr::<f64>(start..end).unwrap();
                    for i in start..end {
                        assert_eq!(b.view().row(i - start), w.row(i), "case {case} row {i}");
                    }
                    start = end;
                }
            }
        }
        // A bad entry: the same message.
        let bad = npz(&[
            ("format.npy", format_npy("csr")),
            ("shape.npy", ints(&[2, 3])),
            ("data.npy", vec_npy(&[1.0, -2.0, 3.0])),
            ("indices.npy", ints(&[0, 2, 2])),
            ("indptr.npy", ints(&[0, 2, 3])),
        ]);
        let whole = parse(&bad, "m.npz", 1 << 20).unwrap_err().message;
        let path = dir.path().join("m.npz");
        std::fs::write(&path, &bad).unwrap();
        let streamed = nmf_io::NpzRows::open(&path)
            .and_then(|r| r.read_csr::<f64>(0..2))
            .unwrap_err()
            .to_string()
            .replace(&path.display().to_string(), "m.npz");
        assert_eq!(streamed, whole);
    }
}
