//! `nmf transform` on a sparse X: a Matrix Market coordinate file or a SciPy `.npz` stays
//! sparse (summary.json says so, with its non-zeros), gives the H of the same matrix read
//! dense to rounding, and a bad sparse X is a one-line error naming the entry's place.

mod common;

use std::io::Write;
use std::path::Path;

use common::{nmf, stderr};
use nmf_cli::matrix::Matrix;
use nmf_cli::read::npy;

const M: usize = 40;
const N: usize = 60;

/// A 40×60 count matrix, about 15% non-zero (a fixed linear congruential sequence), with
/// row 7 and column 11 empty.
fn counts() -> Matrix {
    let mut state: u64 = 12345;
    let mut next = || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 33) as u32
    };
    let mut d = vec![0.0; M * N];
    for i in 0..M {
        for j in 0..N {
            let r = next();
            if i != 7 && j != 11 && r % 100 < 15 {
                d[i * N + j] = f64::from(1 + next() % 9);
            }
        }
    }
    Matrix::new(M, N, d)
}

fn csv_text(m: &Matrix) -> String {
    let mut s = String::new();
    for i in 0..m.rows {
        let row: Vec<String> = (0..m.cols).map(|j| m.get(i, j).to_string()).collect();
        s.push_str(&row.join(","));
        s.push('\n');
    }
    s
}

/// The non-zeros as (row, column, value), row by row.
fn triplets(m: &Matrix) -> Vec<(usize, usize, f64)> {
    let mut t = Vec::new();
    for i in 0..m.rows {
        for j in 0..m.cols {
            if m.get(i, j) != 0.0 {
                t.push((i, j, m.get(i, j)));
            }
        }
    }
    t
}

fn mtx_text(m: &Matrix) -> String {
    let t = triplets(m);
    let mut s = format!(
        "%%MatrixMarket matrix coordinate real general\n{} {} {}\n",
        m.rows,
        m.cols,
        t.len()
    );
    for (i, j, x) in t {
        s.push_str(&format!("{} {} {x}\n", i + 1, j + 1));
    }
    s
}

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

fn vec_npy(v: &[f64]) -> Vec<u8> {
    let payload: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
    let dict = format!(
        "{{'descr': '<f8', 'fortran_order': False, 'shape': ({},), }}",
        v.len()
    );
    npy_raw(&dict, &payload)
}

fn ints_npy(v: &[usize]) -> Vec<u8> {
    let payload: Vec<u8> = v.iter().flat_map(|&x| (x as i32).to_le_bytes()).collect();
    let dict = format!(
        "{{'descr': '<i4', 'fortran_order': False, 'shape': ({},), }}",
        v.len()
    );
    npy_raw(&dict, &payload)
}

/// `scipy.sparse.save_npz` of the matrix in COO form (values as given, so a test can put a
/// bad one in).
fn coo_npz(rows: usize, cols: usize, t: &[(usize, usize, f64)]) -> Vec<u8> {
    let format = npy_raw(
        "{'descr': '|S3', 'fortran_order': False, 'shape': (), }",
        b"coo",
    );
    let members = [
        ("format.npy", format),
        ("shape.npy", ints_npy(&[rows, cols])),
        (
            "row.npy",
            ints_npy(&t.iter().map(|e| e.0).collect::<Vec<_>>()),
        ),
        (
            "col.npy",
            ints_npy(&t.iter().map(|e| e.1).collect::<Vec<_>>()),
        ),
        (
            "data.npy",
            vec_npy(&t.iter().map(|e| e.2).collect::<Vec<_>>()),
        ),
    ];
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, bytes) in members {
        zip.start_file(name, zip::write::SimpleFileOptions::default())
            .unwrap();
        zip.write_all(&bytes).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

fn read_npy(path: &Path) -> Matrix {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    npy::parse(&bytes, &path.display().to_string()).unwrap()
}

fn read_json(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// The largest difference between two H, each entry against the largest entry of its row of
/// the dense H (the scale of that component).
fn max_rel_diff(a: &Matrix, b: &Matrix) -> f64 {
    assert_eq!((a.rows, a.cols), (b.rows, b.cols));
    let mut worst: f64 = 0.0;
    for r in 0..b.rows {
        let scale = (0..b.cols).map(|c| b.get(r, c)).fold(0.0, f64::max);
        for c in 0..b.cols {
            worst = worst.max((a.get(r, c) - b.get(r, c)).abs() / scale);
        }
    }
    worst
}

#[test]
fn sparse_transform_equals_dense_transform() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let v = counts();
    std::fs::write(dir.join("v.csv"), csv_text(&v)).unwrap();
    std::fs::write(dir.join("v.mtx"), mtx_text(&v)).unwrap();
    std::fs::write(dir.join("v.npz"), coo_npz(M, N, &triplets(&v))).unwrap();
    let nnz = triplets(&v).len();
    // The transform runs T H-updates (--tol 0: the same number both ways). Each entry of an
    // update's numerator and denominator is a sum of at most M + K non-negative terms
    // (W^T V or W^T (V / WH) over the M rows, WH over the K components), so adding them in
    // another order changes it by at most (M + K)·u relative (u = 2^-53), and the ratio by
    // twice that; over T updates these add up to first order: 2·T·(M + K)·u relative to the
    // entry, bounded here against its component's largest entry.
    const T: usize = 100;
    const K: usize = 3;
    let u = f64::EPSILON / 2.0;
    let tol = 2.0 * T as f64 * (M + K) as f64 * u;
    // β = 1.5 too: its statistics raise WH to the powers β − 2 and β − 1, both of size at
    // most 1, so a relative change of WH by K·u moves them by at most K·u and the bound holds.
    for (loss, flag, value) in [
        ("frobenius", "--loss", "frobenius"),
        ("kl", "--loss", "kl"),
        ("beta1.5", "--beta", "1.5"),
    ] {
        let model = format!("m-{loss}");
        let o = nmf(
            dir,
            &[
                "fit",
                "v.csv",
                "-k",
                "3",
                flag,
                value,
                "--max-iter",
                "50",
                "-q",
                "-o",
                &model,
            ],
        );
        assert!(o.status.success(), "{}", stderr(&o));
        let run = |input: &str, out: &str, extra: &[&str]| {
            let mut args = vec![
                "transform",
                input,
                "-m",
                &model,
                "--max-iter",
                "100",
                "--tol",
                "0",
                "-q",
                "-o",
                out,
            ];
            args.extend(extra);
            let o = nmf(dir, &args);
            assert!(o.status.success(), "{input} {extra:?}: {}", stderr(&o));
            let s = read_json(&dir.join(out).join("summary.json"));
            (read_npy(&dir.join(out).join("H.npy")), s)
        };
        let (dense, s) = run("v.csv", &format!("{loss}-csv"), &[]);
        assert_eq!(s["input"]["storage"], "dense");
        assert_eq!(s["input"]["nnz"], M * N);
        let (forced, s) = run("v.mtx", &format!("{loss}-forced"), &["--dense"]);
        assert_eq!(s["input"]["storage"], "dense");
        assert_eq!(forced.data, dense.data, "the .mtx read dense is the CSV");
        let dense_loss = s["final_loss"].as_f64().unwrap();
        for input in ["v.mtx", "v.npz"] {
            let (sparse, s) = run(input, &format!("{loss}-{input}"), &[]);
            assert_eq!(s["input"]["storage"], "sparse", "{input}");
            assert_eq!(s["input"]["nnz"], nnz, "{input}");
            assert_eq!(s["shapes"]["X"], serde_json::json!([M, N]));
            let d = max_rel_diff(&sparse, &dense);
            assert!(d <= tol, "{loss} {input}: {d:e} > {tol:e}");
            let l = s["final_loss"].as_f64().unwrap();
            assert!(
                (l - dense_loss).abs() <= tol * dense_loss,
                "{loss} {input}: loss {l} against {dense_loss}"
            );
        }
    }
}

#[test]
fn bad_sparse_input_names_its_place() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let v = counts();
    std::fs::write(dir.join("v.csv"), csv_text(&v)).unwrap();
    let o = nmf(
        dir,
        &[
            "fit",
            "v.csv",
            "-k",
            "2",
            "--max-iter",
            "5",
            "-q",
            "-o",
            "m",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let header = "%%MatrixMarket matrix coordinate real general\n";
    let cases: [(&str, Vec<u8>, String); 4] = [
        (
            "row.mtx",
            format!("{header}{M} {N} 2\n1 1 1\n41 2 3\n").into_bytes(),
            format!("row.mtx:4:1: row index 41 is outside 1..={M}"),
        ),
        (
            "neg.mtx",
            format!("{header}{M} {N} 2\n1 1 1\n3 5 -2\n").into_bytes(),
            "neg.mtx:4:5: negative entry -2 at row 2, column 4 (0-based)".into(),
        ),
        (
            "col.npz",
            coo_npz(M, N, &[(0, 0, 1.0), (2, 60, 3.0)]),
            format!("col.npz: col.npy[1] is 60, outside 0..={}", N - 1),
        ),
        (
            "neg.npz",
            coo_npz(M, N, &[(0, 0, 1.0), (2, 4, -2.0)]),
            "neg.npz: negative entry -2 at row 2, column 4 (0-based; data.npy[1])".into(),
        ),
    ];
    for (name, bytes, want) in cases {
        std::fs::write(dir.join(name), bytes).unwrap();
        let out = format!("t-{name}");
        let o = nmf(dir, &["transform", name, "-m", "m", "-o", &out]);
        assert_eq!(o.status.code(), Some(1), "{name}: {}", stderr(&o));
        let e = stderr(&o);
        assert_eq!(e.lines().count(), 1, "{e}");
        assert_eq!(e.trim_end(), format!("error: {want}"));
        assert!(!dir.join(&out).exists(), "{name}: nothing is written");
    }
}
