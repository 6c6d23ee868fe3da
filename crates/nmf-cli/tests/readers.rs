//! End-to-end tests of the readers: quoted CSV fields (RFC 4180) and NumPy files of every
//! element type, byte order and layout, plain and gzipped, through the `nmf` binary. Each input
//! must give bit for bit the factors of the same numbers written as plain CSV.
//!
//! And hostile inputs: declared shapes larger than the file, zero dimensions, sizes that wrap
//! around, decompression bombs and endless special files, control characters in cells, saved
//! models that disagree with themselves: each gets a one-line error that names the problem,
//! quickly and without taking the memory it declares.

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

/// A `.npy` file (version 1.0) with any declared shape and payload.
fn npy_declaring(descr: &str, shape: &str, payload: &[u8]) -> Vec<u8> {
    let mut header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
    header.push_str(&" ".repeat((64 - (10 + header.len() + 1) % 64) % 64));
    header.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(payload);
    out
}

/// Runs `nmf` with `args`, which must fail with `code` and one line on stderr: that line,
/// after `error: `. The run must also be quick (none of these inputs needs a second: a
/// generous bound of 20 s still tells a 10-minute spin apart).
fn fails_with(dir: &Path, args: &[&str], code: i32) -> String {
    let t = std::time::Instant::now();
    let o = nmf(dir, args);
    let err = stderr(&o);
    assert!(
        t.elapsed().as_secs() < 20,
        "{args:?} took {:?}",
        t.elapsed()
    );
    assert_eq!(o.status.code(), Some(code), "{args:?}: {err}");
    assert_eq!(err.lines().count(), 1, "{args:?}: one line, got {err:?}");
    err.trim_end()
        .strip_prefix("error: ")
        .unwrap_or_else(|| panic!("{args:?}: {err:?}"))
        .to_string()
}

#[test]
fn declared_shapes_are_checked_against_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    // 192 bytes declaring 30000×30000 (once 6.9 GB allocated before noticing).
    let big = npy_declaring("<f8", "(30000, 30000)", &[0; 64]);
    assert_eq!(big.len(), 192);
    std::fs::write(dir.join("big.npy"), &big).unwrap();
    assert_eq!(
        failure(dir, "big.npy"),
        "big.npy: a 30000×30000 array of '<f8' needs 7200000000 bytes of data, but the file has 64"
    );
    // 0 × 10¹² (once 100% CPU for minutes) and (2⁶⁴−1) × 0 (once a panic).
    for (name, shape, shown) in [
        ("wide.npy", "(0, 1000000000000)", "0×1000000000000"),
        (
            "wrap.npy",
            "(18446744073709551615, 0)",
            "18446744073709551615×0",
        ),
    ] {
        std::fs::write(dir.join(name), npy_declaring("<f8", shape, &[])).unwrap();
        assert_eq!(
            failure(dir, name),
            format!(
                "{name}: the matrix is empty ({shown}): it needs at least one row and one column"
            )
        );
    }
    std::fs::write(
        dir.join("wide.mtx"),
        "%%MatrixMarket matrix coordinate real general\n0 1000000000000 0\n",
    )
    .unwrap();
    assert_eq!(
        failure(dir, "wide.mtx"),
        "wide.mtx: the matrix is empty (0×1000000000000): it needs at least one row and one column"
    );
    // One entry of a 10⁶×10⁶ matrix: read dense (8 TB) it is refused with the memory it
    // needs, not an abort; kept sparse it is fitted (16 MB for W and H).
    std::fs::write(
        dir.join("one.mtx"),
        "%%MatrixMarket matrix coordinate real general\n1000000 1000000 1\n1 1 1\n",
    )
    .unwrap();
    let o = nmf(dir, &["fit", "one.mtx", "-k", "2", "--dense", "-q"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(
        e.starts_with(
            "error: one.mtx: a dense 1000000×1000000 matrix needs 8.0 TB (8000000000000 bytes) of memory, "
        ),
        "{e}"
    );
    let o = nmf(
        dir,
        &[
            "fit",
            "one.mtx",
            "-k",
            "2",
            "--max-iter",
            "5",
            "--out",
            "one",
            "-q",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn decompression_and_special_files_are_capped() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    // 256 MiB of one CSV digit, gzipped to about 250 kB.
    let bomb = gzip(&vec![b'1'; 256 << 20]);
    assert!(bomb.len() < 1 << 20, "{}", bomb.len());
    std::fs::write(dir.join("bomb.csv.gz"), &bomb).unwrap();
    let e = fails_with(
        dir,
        &["fit", "bomb.csv.gz", "-k", "2", "--max-input-bytes", "16M"],
        1,
    );
    assert_eq!(
        e,
        "bomb.csv.gz: decompresses to more than 16.8 MB (16777216 bytes) (--max-input-bytes 16777216); raise --max-input-bytes to read it"
    );
    if Path::new("/dev/zero").exists() {
        let e = fails_with(
            dir,
            &[
                "fit",
                "/dev/zero",
                "--format",
                "npy",
                "-k",
                "2",
                "--max-input-bytes",
                "1M",
            ],
            1,
        );
        assert_eq!(
            e,
            "/dev/zero: holds more than 1.0 MB (1048576 bytes) (--max-input-bytes 1048576); raise --max-input-bytes to read it"
        );
    }
    // A bad limit is a usage error.
    let e = fails_with(
        dir,
        &["fit", "v.csv", "-k", "2", "--max-input-bytes", "lots"],
        2,
    );
    assert!(e.contains("'lots'"), "{e}");
}

#[test]
fn cells_are_escaped_and_cut_in_messages() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    // A terminal escape (clear screen, set the title, ring the bell) in a cell.
    std::fs::write(dir.join("esc.csv"), "1,2\n3,\u{1b}[2J\u{1b}]0;x\u{7}\n").unwrap();
    let o = nmf(dir, &["fit", "esc.csv", "-k", "1"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        !o.stderr.iter().any(|&b| b == 0x1b || b == 0x07),
        "control bytes reached stderr: {:?}",
        stderr(&o)
    );
    assert_eq!(
        stderr(&o).trim_end(),
        "error: esc.csv:2:3: cannot read '\\u{1b}[2J\\u{1b}]0;x\\u{7}' as a number"
    );
    // A 10 MB bad field gives a short line.
    let mut text = b"1,2\n3,".to_vec();
    text.extend(std::iter::repeat_n(b'x', 10 << 20));
    text.push(b'\n');
    std::fs::write(dir.join("long.csv"), &text).unwrap();
    let e = failure(dir, "long.csv");
    assert_eq!(
        e,
        format!(
            "long.csv:2:3: cannot read '{}… (10485760 characters)' as a number",
            "x".repeat(40)
        )
    );
}

#[test]
fn negative_numbers_in_scientific_notation_are_values() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::write(dir.join("v.csv"), "1,2,3\n4,5,6\n2,1,2\n").unwrap();
    for beta in ["-1e-300", "-0.5", "-1E+2"] {
        let o = nmf(
            dir,
            &[
                "fit",
                "v.csv",
                "-k",
                "1",
                "--beta",
                beta,
                "--max-iter",
                "5",
                "-q",
                "--out",
                "o",
            ],
        );
        let err = stderr(&o);
        assert!(
            !err.contains("unexpected argument") && !err.contains("--beta <X>"),
            "--beta {beta}: {err}"
        );
    }
    let o = nmf(
        dir,
        &[
            "fit",
            "v.csv",
            "-k",
            "1",
            "--beta",
            "-0.5",
            "--max-iter",
            "5",
            "-q",
            "--out",
            "o",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn rejected_parameters_name_their_option() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::write(dir.join("v.csv"), "1,2,3\n4,5,6\n2,1,2\n").unwrap();
    // An ε below f32's range (it would be 0 there).
    let e = fails_with(
        dir,
        &[
            "fit", "v.csv", "-k", "1", "--eps", "1e-50", "--dtype", "f32",
        ],
        2,
    );
    assert!(e.starts_with("--eps"), "{e}");
    assert!(e.contains("too small for a fit in f32"), "{e}");
    assert!(e.contains("smallest normal f32"), "{e}");
    // Penalty weights that overflow once scaled by the size of V.
    let e = fails_with(dir, &["fit", "v.csv", "-k", "1", "--alpha-w", "1e308"], 2);
    assert!(e.starts_with("--alpha-w"), "{e}");
    assert!(!e.contains("Penalty {"), "a debug dump: {e}");
}

/// The .npz of `fit --model-format npz` rewritten with every member deflated, as
/// numpy.savez_compressed writes it.
fn deflated(npz: &[u8]) -> Vec<u8> {
    use std::io::Read;
    let mut zin = zip::ZipArchive::new(std::io::Cursor::new(npz)).unwrap();
    let mut zout = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for i in 0..zin.len() {
        let mut f = zin.by_index(i).unwrap();
        let mut bytes = Vec::new();
        f.read_to_end(&mut bytes).unwrap();
        zout.start_file(f.name().unwrap().to_string(), opts)
            .unwrap();
        zout.write_all(&bytes).unwrap();
    }
    zout.finish().unwrap().into_inner()
}

#[test]
fn saved_models_deflated_or_corrupt() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::write(dir.join("v.csv"), plain_csv(&V)).unwrap();
    let o = nmf(
        dir,
        &[
            "fit",
            "v.csv",
            "-k",
            "2",
            "--max-iter",
            "20",
            "--model-format",
            "both",
            "-q",
            "--out",
            "m",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let stored = std::fs::read(dir.join("m/model.npz")).unwrap();
    std::fs::write(dir.join("deflated.npz"), deflated(&stored)).unwrap();
    let transform = |model: &str, out: &str| {
        nmf(
            dir,
            &[
                "transform",
                "v.csv",
                "--model",
                model,
                "--max-iter",
                "10",
                "-q",
                "--out",
                out,
            ],
        )
    };
    let o = transform("m/model.npz", "t1");
    assert!(o.status.success(), "{}", stderr(&o));
    let o = transform("deflated.npz", "t2");
    assert!(o.status.success(), "deflated: {}", stderr(&o));
    assert_eq!(
        read_output(&dir.join("t1/H.npy")),
        read_output(&dir.join("t2/H.npy"))
    );
    // rows × rank wraps around to 0 in 64 bits, with no W.
    let mut json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("m/model.json")).unwrap()).unwrap();
    json["rows"] = serde_json::json!(1u64 << 63);
    json["rank"] = serde_json::json!(2);
    json["w"] = serde_json::json!([]);
    std::fs::write(dir.join("wrap.json"), json.to_string()).unwrap();
    let e = fails_with(
        dir,
        &[
            "transform",
            "v.csv",
            "--model",
            "wrap.json",
            "-q",
            "--out",
            "t3",
        ],
        1,
    );
    assert!(e.starts_with("wrap.json: "), "{e}");
    assert!(!dir.join("t3").exists());
    // --max-input-bytes applies to the model too.
    let e = fails_with(
        dir,
        &[
            "transform",
            "v.csv",
            "--model",
            "m",
            "--max-input-bytes",
            "100",
            "-q",
            "--out",
            "t4",
        ],
        1,
    );
    assert_eq!(
        e,
        format!(
            "{}: holds more than 100 bytes (--max-input-bytes 100); raise --max-input-bytes to read it",
            Path::new("m").join("model.json").display()
        )
    );
}
