//! End-to-end tests of the readers: quoted CSV fields (RFC 4180) and NumPy files of every
//! element type, byte order and layout, plain and gzipped, through the `nmf` binary. Each input
//! must give bit for bit the factors of the same numbers written as plain CSV.

use std::io::Write;
use std::path::Path;

mod common;
use common::{nmf, stderr};

use npyz::WriterBuilder;

/// A 4×3 non-negative matrix of small integers (exact in every element type), row-major.
const V: [u8; 12] = [1, 2, 0, 3, 1, 4, 0, 5, 2, 6, 0, 1];
/// A 0/1 matrix, for `bool` files.
const B: [u8; 12] = [1, 0, 1, 0, 1, 1, 1, 1, 0, 0, 0, 1];

/// Plain comma-separated text of a 4×3 matrix.
fn plain_csv(m: &[u8; 12]) -> String {
    m.chunks(3)
        .map(|r| format!("{},{},{}\n", r[0], r[1], r[2]))
        .collect()
}

/// A `.npy` file written by npyz: `data` in the file's order, as `descr` (e.g. `>i2`).
fn npy<T: npyz::Serialize + Copy>(
    descr: &str,
    shape: &[u64],
    order: npyz::Order,
    data: &[T],
) -> Vec<u8> {
    let mut out = Vec::new();
    let mut w = npyz::WriteOptions::<T>::new()
        .dtype(npyz::DType::Plain(descr.parse().unwrap()))
        .shape(shape)
        .order(order)
        .writer(&mut out)
        .begin_nd()
        .unwrap();
    w.extend(data.iter().copied()).unwrap();
    w.finish().unwrap();
    out
}

/// A matrix's entries as `T`, row-major.
fn as_t<T>(m: &[u8; 12], f: impl Fn(u8) -> T) -> Vec<T> {
    m.iter().map(|&x| f(x)).collect()
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(bytes).unwrap();
    gz.finish().unwrap()
}

/// An output file read with npyz (not with the reader under test): its dtype, shape and order
/// as written, and its entries.
fn read_output(path: &Path) -> (String, Vec<u64>, npyz::Order, Vec<f64>) {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let npy = npyz::NpyFile::new(&bytes[..]).unwrap();
    let descr = npy.dtype().descr();
    let (shape, order) = (npy.shape().to_vec(), npy.order());
    let data = if descr == "'<f4'" {
        npy.into_vec::<f32>()
            .unwrap()
            .into_iter()
            .map(f64::from)
            .collect()
    } else {
        npy.into_vec::<f64>().unwrap()
    };
    (descr, shape, order, data)
}

/// Fits `input` (rank 2, the default seed) into the directory `out` of `dir`; returns W and H.
fn fit(dir: &Path, input: &str, out: &str, extra: &[&str]) -> (Vec<f64>, Vec<f64>) {
    let mut args = vec![
        "fit",
        input,
        "-k",
        "2",
        "--max-iter",
        "50",
        "--out",
        out,
        "-q",
    ];
    args.extend_from_slice(extra);
    let o = nmf(dir, &args);
    assert!(o.status.success(), "{input}: {}", stderr(&o));
    let (wd, ws, wo, w) = read_output(&dir.join(out).join("W.npy"));
    let (hd, hs, ho, h) = read_output(&dir.join(out).join("H.npy"));
    assert_eq!((ws, hs), (vec![4, 2], vec![2, 3]), "{input}");
    assert_eq!((wo, ho), (npyz::Order::C, npyz::Order::C), "{input}");
    assert_eq!(wd, hd);
    let dtype = if extra.contains(&"f32") {
        "'<f4'"
    } else {
        "'<f8'"
    };
    assert_eq!(wd, dtype, "{input}");
    (w, h)
}

/// Runs a fit that must fail on its input: the one-line message after `error: `.
fn failure(dir: &Path, input: &str) -> String {
    let o = nmf(dir, &["fit", input, "-k", "2", "-q"]);
    assert_eq!(o.status.code(), Some(1), "{input}: {}", stderr(&o));
    let err = stderr(&o);
    assert_eq!(err.lines().count(), 1, "{input}: one line, got {err:?}");
    err.trim_end()
        .strip_prefix("error: ")
        .unwrap_or_else(|| panic!("{input}: {err:?}"))
        .to_string()
}

#[test]
fn quoted_csv_fields_read_as_plain_ones() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::write(dir.join("plain.csv"), plain_csv(&V)).unwrap();
    let rows = plain_csv(&V);
    let files = [
        // Every field quoted, some with spaces inside or around the quotes.
        (
            "quoted.csv",
            "\"1\",\"2\",\"0\"\n\"3\", \"1\" ,\" 4 \"\r\n\"0\",5,\"2.0\"\n\"6e0\",\"0\",\"1\"\n"
                .to_string(),
        ),
        // A quoted header cell holding the delimiter.
        ("delim.csv", format!("\"a,b\",\"c\",d\n{rows}")),
        // A doubled quote inside a quoted header cell.
        (
            "escaped.csv",
            format!("\"say \"\"hi\"\"\",b,\"c\"\"\"\n{rows}"),
        ),
        // A line break inside a quoted header cell, and a comment line.
        (
            "multiline.csv",
            format!("\"two\nlines\",b,c\n# note\n{rows}"),
        ),
        // Tab-separated with a quoted tab in the header.
        (
            "quoted.tsv",
            format!(
                "\"a\tb\"\t\"c\"\td\n{}",
                rows.replace(',', "\t").replace("5", "\"5\"")
            ),
        ),
        // Detected as tab-separated: the comma is inside quotes.
        (
            "detected.txt",
            format!("\"a,b\"\tc\td\n{}", rows.replace(',', "\t")),
        ),
    ];
    let expected = fit(dir, "plain.csv", "plain", &[]);
    for (name, text) in &files {
        std::fs::write(dir.join(name), text).unwrap();
        let out = format!("out-{name}");
        assert_eq!(fit(dir, name, &out, &[]), expected, "{name}");
        let s: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.join(&out).join("summary.json")).unwrap())
                .unwrap();
        assert_eq!(s["shapes"]["V"], serde_json::json!([4, 3]), "{name}");
    }
    // A quoted number on the first line makes it data, not a header.
    std::fs::write(
        dir.join("numbers.csv"),
        format!("\"9\",\"9\",\"9\"\n{rows}"),
    )
    .unwrap();
    let o = nmf(dir, &["fit", "numbers.csv", "-k", "2", "--out", "n", "-q"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let (_, shape, _, _) = read_output(&dir.join("n/W.npy"));
    assert_eq!(shape, vec![5, 2]);
}

#[test]
fn errors_in_quoted_fields_name_line_and_column() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    for (name, text, message) in [
        (
            "word.csv",
            "\"a,b\",c,d\n1,2,0\n3,\"x\",4\n",
            "word.csv:3:4: cannot read 'x' as a number",
        ),
        (
            "comma.csv",
            "1,2,0\n3,\"1,5\",4\n",
            "comma.csv:2:4: cannot read '1,5' as a number",
        ),
        (
            "neg.csv",
            "a,b,c\n1,2,0\n3,1,\"-4\"\n",
            "neg.csv:3:6: negative entry -4 at row 1, column 2 (0-based)",
        ),
        // The line counts the line break inside the quoted header cell.
        (
            "nan.csv",
            "\"two\nlines\",b,c\n1,2,\"NaN\"\n",
            "nan.csv:3:6: non-finite entry (NaN) at row 0, column 2 (0-based)",
        ),
        (
            "empty.csv",
            "1,2,0\n3,\"\",4\n",
            "empty.csv:2:4: empty field (field 2 of the row)",
        ),
        (
            "ragged.csv",
            "1,2,0\n3,\"1\"\r\n",
            "ragged.csv:2:6: expected 3 fields as on line 1, found 2",
        ),
        (
            "long.csv",
            "1,2,0\n3,1,4,\"5,6\"\n",
            "long.csv:2:8: expected 3 fields as on line 1, found 4",
        ),
        (
            "junk.csv",
            "1,2,0\n3,\"1\"5,4\n",
            "junk.csv:2:6: text after the closing quote of a field",
        ),
        (
            "open.csv",
            "1,2,0\n3,\"1,4\n0,5,2\n",
            "open.csv:2:3: the quoted field is not closed before the end of the file",
        ),
    ] {
        std::fs::write(dir.join(name), text).unwrap();
        assert_eq!(failure(dir, name), message);
    }
}

#[test]
fn npy_of_every_element_type_reads_as_csv() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::write(dir.join("v.csv"), plain_csv(&V)).unwrap();
    std::fs::write(dir.join("b.csv"), plain_csv(&B)).unwrap();
    let (c, f) = (npyz::Order::C, npyz::Order::Fortran);
    let shape = [4, 3];
    // Column after column, for Fortran order.
    let by_cols: [u8; 12] = std::array::from_fn(|p| V[(p % 4) * 3 + p / 4]);
    let files = [
        ("f64.npy", npy("<f8", &shape, c, &as_t(&V, f64::from))),
        ("f32.npy", npy("<f4", &shape, c, &as_t(&V, f32::from))),
        ("f64be.npy", npy(">f8", &shape, c, &as_t(&V, f64::from))),
        (
            "fortran.npy",
            npy("<f8", &shape, f, &as_t(&by_cols, f64::from)),
        ),
        ("i64.npy", npy("<i8", &shape, c, &as_t(&V, i64::from))),
        ("i32.npy", npy("<i4", &shape, c, &as_t(&V, i32::from))),
        ("i16be.npy", npy(">i2", &shape, c, &as_t(&V, i16::from))),
        ("i8.npy", npy("|i1", &shape, c, &as_t(&V, |x| x as i8))),
        ("u8.npy", npy("|u1", &shape, c, &V)),
        ("u16.npy", npy("<u2", &shape, f, &as_t(&by_cols, u16::from))),
        ("u32.npy", npy("<u4", &shape, c, &as_t(&V, u32::from))),
        ("u64.npy", npy("<u8", &shape, c, &as_t(&V, u64::from))),
    ];
    let expected = fit(dir, "v.csv", "csv", &[]);
    let expected32 = fit(dir, "v.csv", "csv32", &["--dtype", "f32"]);
    for (name, bytes) in &files {
        std::fs::write(dir.join(name), bytes).unwrap();
        assert_eq!(
            fit(dir, name, &format!("out-{name}"), &[]),
            expected,
            "{name}"
        );
        let out = format!("out32-{name}");
        assert_eq!(
            fit(dir, name, &out, &["--dtype", "f32"]),
            expected32,
            "{name}"
        );
    }
    std::fs::write(
        dir.join("bool.npy"),
        npy("|b1", &shape, c, &as_t(&B, |x| x == 1)),
    )
    .unwrap();
    assert_eq!(
        fit(dir, "bool.npy", "bool", &[]),
        fit(dir, "b.csv", "b", &[])
    );

    // The factors written are read back as input.
    std::fs::copy(dir.join("csv/W.npy"), dir.join("w.npy")).unwrap();
    let o = nmf(dir, &["fit", "w.npy", "-k", "1", "--out", "again", "-q"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let s: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("again/summary.json")).unwrap()).unwrap();
    assert_eq!(s["shapes"]["V"], serde_json::json!([4, 2]));
}

#[test]
fn gzipped_npy_reads_as_plain() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let bytes = npy("<f4", &[4, 3], npyz::Order::C, &as_t(&V, f32::from));
    std::fs::write(dir.join("v.npy"), &bytes).unwrap();
    std::fs::write(dir.join("v.npy.gz"), gzip(&bytes)).unwrap();
    std::fs::write(dir.join("V.NPY.GZ"), gzip(&bytes)).unwrap();
    let expected = fit(dir, "v.npy", "plain", &[]);
    assert_eq!(fit(dir, "v.npy.gz", "gz", &[]), expected);
    assert_eq!(fit(dir, "V.NPY.GZ", "upper", &[]), expected);
    // A gzipped file of another format is read by its inner extension.
    std::fs::write(dir.join("v.csv.gz"), gzip(plain_csv(&V).as_bytes())).unwrap();
    assert_eq!(fit(dir, "v.csv.gz", "csvgz", &[]), expected);
    // A corrupt one is an error about the file.
    let mut bad = gzip(&bytes);
    bad.truncate(bad.len() / 2);
    std::fs::write(dir.join("bad.npy.gz"), bad).unwrap();
    assert!(
        failure(dir, "bad.npy.gz").starts_with("bad.npy.gz: cannot decompress: "),
        "truncated gzip"
    );
}
