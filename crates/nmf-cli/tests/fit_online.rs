//! `nmf fit --batch-size N`: the online fit over row blocks read from a `.npy` file by
//! seeking gives the factors of the library's in-memory minibatch fit of the same matrix with
//! the same parameters, to the bit (the same blocks, in the same order, reach the same
//! computation); inputs it cannot stream are usage errors.

mod common;

use common::{nmf, stderr};
use nmf_cli::matrix::Matrix;
use nmf_cli::read::npy;
use nmf_core::minibatch::MiniBatchNmf;
use nmf_core::{Loss, MatrixBackend};

const M: usize = 37;
const N: usize = 11;

fn data() -> Vec<f64> {
    let mut state: u64 = 99;
    (0..M * N)
        .map(|_| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            f64::from((state >> 40) as u32 % 1000) / 100.0
        })
        .collect()
}

fn read(path: &std::path::Path) -> Matrix {
    npy::parse(&std::fs::read(path).unwrap(), "out").unwrap()
}

#[test]
fn online_fit_of_a_file_equals_the_in_memory_fit() {
    let dir = tempfile::tempdir().unwrap();
    let v = data();
    std::fs::write(dir.path().join("v.npy"), npy::to_npy_bytes(M, N, &v)).unwrap();
    for (loss, loss_arg) in [
        (Loss::Frobenius, "frobenius"),
        (Loss::KullbackLeibler, "kl"),
    ] {
        let o = nmf(
            dir.path(),
            &[
                "fit",
                "v.npy",
                "-k",
                "3",
                "--batch-size",
                "8",
                "--max-iter",
                "4",
                "--tol",
                "0",
                "--seed",
                "5",
                "--loss",
                loss_arg,
                "--backend",
                "nalgebra",
                "--dtype",
                "f64",
                "-o",
                loss_arg,
                "-q",
            ],
        );
        assert!(o.status.success(), "{}", stderr(&o));
        let w = read(&dir.path().join(loss_arg).join("W.npy"));
        let h = read(&dir.path().join(loss_arg).join("H.npy"));
        let b = nmf_nalgebra::Nalgebra;
        let vm = MatrixBackend::<f64>::from_row_major(&b, M, N, &v).unwrap();
        let model = MiniBatchNmf::params(3)
            .batch_size(8)
            .max_iter(4)
            .tol(0.0)
            .seed(5)
            .loss(loss)
            .check()
            .unwrap()
            .fit(&b, &vm)
            .unwrap();
        let bits = |x: &[f64]| x.iter().map(|y| y.to_bits()).collect::<Vec<_>>();
        assert_eq!((w.rows, w.cols, h.rows, h.cols), (M, 3, 3, N));
        assert_eq!(
            bits(&w.data),
            bits(&b.to_row_major(model.w())),
            "{loss_arg} W"
        );
        assert_eq!(
            bits(&h.data),
            bits(&b.to_row_major(model.h())),
            "{loss_arg} H"
        );
        let summary =
            std::fs::read_to_string(dir.path().join(loss_arg).join("summary.json")).unwrap();
        assert!(summary.contains("\"mode\": \"online\""), "{summary}");
    }
}

#[test]
fn inputs_that_cannot_be_streamed_are_usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("v.csv"), "1,2\n3,4\n").unwrap();
    let o = nmf(
        dir.path(),
        &["fit", "v.csv", "-k", "1", "--batch-size", "1"],
    );
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("--batch-size reads a .npy file"),
        "{}",
        stderr(&o)
    );
    // A negative entry is named with its row and column in the file.
    let mut v = data();
    v[20 * N + 4] = -1.0;
    std::fs::write(dir.path().join("neg.npy"), npy::to_npy_bytes(M, N, &v)).unwrap();
    let o = nmf(
        dir.path(),
        &["fit", "neg.npy", "-k", "2", "--batch-size", "8"],
    );
    assert!(!o.status.success());
    assert!(stderr(&o).contains("row 20, column 4"), "{}", stderr(&o));
    assert!(!dir.path().join("nmf-out").exists());
}

/// `nmf fit --out-of-core ROWS` re-reads the file by blocks every half-step and gives, to
/// the bit, the library's block iteration on the same blocks held in memory (which the
/// shared suite checks against the in-memory MuSolver to rounding: `out_of_core_equals_in_memory`).
#[test]
fn out_of_core_fit_equals_the_block_iteration_in_memory() {
    use nmf_core::minibatch::out_of_core::mu_iteration_by_blocks;
    let dir = tempfile::tempdir().unwrap();
    let v = data();
    std::fs::write(dir.path().join("v.npy"), npy::to_npy_bytes(M, N, &v)).unwrap();
    for (loss, loss_arg) in [
        (Loss::Frobenius, "frobenius"),
        (Loss::KullbackLeibler, "kl"),
    ] {
        let o = nmf(
            dir.path(),
            &[
                "fit",
                "v.npy",
                "-k",
                "3",
                "--out-of-core",
                "8",
                "--max-iter",
                "5",
                "--seed",
                "2",
                "--loss",
                loss_arg,
                "--backend",
                "nalgebra",
                "--dtype",
                "f64",
                "-o",
                loss_arg,
                "-q",
            ],
        );
        assert!(o.status.success(), "{}", stderr(&o));
        let w = read(&dir.path().join(loss_arg).join("W.npy"));
        let h = read(&dir.path().join(loss_arg).join("H.npy"));
        let b = nmf_nalgebra::Nalgebra;
        let blocks: Vec<_> = (0..M).step_by(8).map(|i| i..(i + 8).min(M)).collect();
        let block = |r: std::ops::Range<usize>| {
            MatrixBackend::<f64>::from_row_major(&b, r.len(), N, &v[r.start * N..r.end * N])
        };
        let sum: f64 = blocks
            .iter()
            .map(|r| b.sum(&block(r.clone()).unwrap()))
            .sum();
        let mean = sum / (M * N) as f64;
        let eps = nmf_core::Nmf::params(3)
            .check()
            .unwrap()
            .eps_for(mean, f64::EPSILON / 2.0);
        let (w0, h0) = nmf_core::init::random_factors(M, N, 3, mean, 2);
        let mut wm: Vec<f64> = w0.iter().map(|x| x.max(eps)).collect();
        let mut hm = b.from_fn(3, N, |a, j| h0[a * N + j].max(eps));
        for _ in 0..5 {
            mu_iteration_by_blocks(&b, loss, eps, &blocks, &mut wm, &mut hm, block).unwrap();
        }
        let bits = |x: &[f64]| x.iter().map(|y| y.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&w.data), bits(&wm), "{loss_arg} W");
        assert_eq!(bits(&h.data), bits(&b.to_row_major(&hm)), "{loss_arg} H");
    }
    // The β-divergences other than KL are refused.
    let o = nmf(
        dir.path(),
        &[
            "fit",
            "v.npy",
            "-k",
            "2",
            "--out-of-core",
            "8",
            "--beta",
            "0.5",
        ],
    );
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("--out-of-core runs the multiplicative updates"),
        "{}",
        stderr(&o)
    );
}

/// `data()` with about 60% of its entries zero: a matrix worth storing sparse.
fn sparse_data() -> Vec<f64> {
    data()
        .into_iter()
        .enumerate()
        .map(|(p, x)| if (p * 7 + p / N) % 5 < 3 { 0.0 } else { x })
        .collect()
}

/// The Matrix Market coordinate text of a row-major M×N matrix: its non-zeros, row by row
/// (each value in the shortest form that reads back to it).
fn mtx_text(v: &[f64]) -> String {
    let nz: Vec<(usize, f64)> = v
        .iter()
        .copied()
        .enumerate()
        .filter(|e| e.1 != 0.0)
        .collect();
    let mut s = format!(
        "%%MatrixMarket matrix coordinate real general\n{M} {N} {}\n",
        nz.len()
    );
    for (p, x) in nz {
        s.push_str(&format!("{} {} {x}\n", p / N + 1, p % N + 1));
    }
    s
}

/// The SciPy csr `.npz` (deflated, as `save_npz` writes by default) of a row-major M×N matrix.
fn npz_bytes(v: &[f64]) -> Vec<u8> {
    use std::io::Write;
    fn npy1(descr: &str, n: usize, payload: &[u8]) -> Vec<u8> {
        let shape = if descr.starts_with("|S") {
            "()".to_string()
        } else {
            format!("({n},)")
        };
        let mut h = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}")
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
    let ints = |x: &[usize]| -> Vec<u8> {
        let b: Vec<u8> = x.iter().flat_map(|&i| (i as i32).to_le_bytes()).collect();
        npy1("<i4", x.len(), &b)
    };
    let (mut ptr, mut idx, mut val) = (vec![0], vec![], vec![]);
    for i in 0..M {
        for j in 0..N {
            if v[i * N + j] != 0.0 {
                idx.push(j);
                val.push(v[i * N + j]);
            }
        }
        ptr.push(idx.len());
    }
    let data: Vec<u8> = val.iter().flat_map(|x| x.to_le_bytes()).collect();
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, bytes) in [
        ("format.npy", npy1("|S3", 0, b"csr")),
        ("shape.npy", ints(&[M, N])),
        ("data.npy", npy1("<f8", val.len(), &data)),
        ("indices.npy", ints(&idx)),
        ("indptr.npy", ints(&ptr)),
    ] {
        let o = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        zip.start_file(name, o).unwrap();
        zip.write_all(&bytes).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

/// The online fit streams a sorted `.mtx` and a csr `.npz` in sparse blocks and gives the
/// factors of the same fit of the `.npy` of the same matrix, in dense blocks, to rounding.
///
/// Tolerance: the sparse and dense data terms compute the same products, the sparse one
/// skipping zeros (adding a zero is exact) and summing in another order: each product entry
/// within n·u = 11·2⁻⁵³ ≈ 1.2e-15 relatively. The multiplicative updates carry such errors
/// from step to step (4 epochs of 5 batches, each with its inner W solve, about 10³ products
/// in all) without amplifying them by more than a modest factor near their fixed point:
/// 1e-9 of the largest entry is 10⁶ times the per-product bound, and far below any difference
/// a wrong block (a row missed, an entry doubled) makes, which is of order 1e-2.
#[test]
fn online_fit_of_mtx_and_npz_equals_that_of_the_npy() {
    let dir = tempfile::tempdir().unwrap();
    let v = sparse_data();
    std::fs::write(dir.path().join("v.npy"), npy::to_npy_bytes(M, N, &v)).unwrap();
    std::fs::write(dir.path().join("v.mtx"), mtx_text(&v)).unwrap();
    std::fs::write(dir.path().join("v.npz"), npz_bytes(&v)).unwrap();
    for loss in ["frobenius", "kl"] {
        let fit = |input: &str| {
            let out = format!("{loss}-{input}");
            let o = nmf(
                dir.path(),
                &[
                    "fit",
                    input,
                    "-k",
                    "3",
                    "--batch-size",
                    "8",
                    "--max-iter",
                    "4",
                    "--tol",
                    "0",
                    "--seed",
                    "5",
                    "--loss",
                    loss,
                    "--backend",
                    "nalgebra",
                    "--dtype",
                    "f64",
                    "-o",
                    &out,
                    "-q",
                ],
            );
            assert!(o.status.success(), "{input}: {}", stderr(&o));
            let summary =
                std::fs::read_to_string(dir.path().join(&out).join("summary.json")).unwrap();
            (
                read(&dir.path().join(&out).join("W.npy")),
                read(&dir.path().join(&out).join("H.npy")),
                summary,
            )
        };
        let (w, h, _) = fit("v.npy");
        for input in ["v.mtx", "v.npz"] {
            let (ws, hs, summary) = fit(input);
            assert!(summary.contains("\"storage\": \"sparse\""), "{summary}");
            for (name, a, b) in [("W", &w, &ws), ("H", &h, &hs)] {
                assert_eq!((a.rows, a.cols), (b.rows, b.cols));
                let scale = a.data.iter().fold(0.0f64, |s, x| s.max(x.abs()));
                let worst = a
                    .data
                    .iter()
                    .zip(&b.data)
                    .fold(0.0f64, |s, (x, y)| s.max((x - y).abs()));
                assert!(
                    worst <= 1e-9 * scale,
                    "{loss} {input} {name}: differs by {worst:e} (largest entry {scale})"
                );
            }
        }
    }
}

/// A `.mtx` whose entries are not sorted by row is refused before the fit, with the line
/// and the command that sorts it; nothing is written.
#[test]
fn an_unsorted_mtx_is_refused_with_the_sort_command() {
    let dir = tempfile::tempdir().unwrap();
    let text = "%%MatrixMarket matrix coordinate real general\n3 2 3\n1 1 1\n3 2 2\n2 1 4\n";
    std::fs::write(dir.path().join("u.mtx"), text).unwrap();
    let o = nmf(
        dir.path(),
        &["fit", "u.mtx", "-k", "1", "--batch-size", "2"],
    );
    assert!(!o.status.success());
    assert_eq!(
        stderr(&o).trim_end(),
        "error: u.mtx:5:1: row 2 comes after row 3: reading by blocks of rows needs the \
         entries sorted by row; sort them with: (head -n 2 'u.mtx'; tail -n +3 'u.mtx' | \
         LC_ALL=C sort -n -s -k1,1) > 'u.sorted.mtx'"
    );
    assert!(!dir.path().join("nmf-out").exists());
}

/// A bad entry in the third batch stops the fit when that batch is read, with the entry's
/// line and column in the file, and nothing is written.
#[test]
fn a_bad_entry_in_the_third_batch_names_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let mut v = sparse_data();
    // Row 18 is in the third batch of 8 rows (16..24).
    let p = (0..N).map(|j| 18 * N + j).find(|&p| v[p] != 0.0).unwrap();
    v[p] = 12345.0;
    let text = mtx_text(&v).replace(" 12345\n", " -2.5\n");
    let line = text.lines().position(|l| l.ends_with(" -2.5")).unwrap() + 1;
    std::fs::write(dir.path().join("v.mtx"), &text).unwrap();
    let o = nmf(
        dir.path(),
        &[
            "fit",
            "v.mtx",
            "-k",
            "2",
            "--batch-size",
            "8",
            "--max-iter",
            "1",
        ],
    );
    assert!(!o.status.success());
    let col = format!("19 {} ", p % N + 1).len() + 1;
    // (the last line: the indexing of the file and the progress come before)
    assert_eq!(
        stderr(&o).trim_end().lines().last().unwrap_or_default(),
        format!(
            "error: v.mtx:{line}:{col}: negative entry -2.5 at row 18, column {} (0-based)",
            p % N
        )
    );
    assert!(!dir.path().join("nmf-out").exists());
}

/// `nmf fit --batch-size` takes `nmf fit`'s penalty options (--alpha-w, --alpha-h,
/// --l1-ratio) and gives, to the bit, the library's minibatch fit with scikit-learn's
/// `alpha_W`, `alpha_H`, `l1_ratio`; a bad value is the full-batch fit's usage error.
#[test]
fn online_fit_takes_the_penalty_options() {
    let dir = tempfile::tempdir().unwrap();
    let v = data();
    std::fs::write(dir.path().join("v.npy"), npy::to_npy_bytes(M, N, &v)).unwrap();
    let args = [
        "fit",
        "v.npy",
        "-k",
        "3",
        "--batch-size",
        "8",
        "--max-iter",
        "3",
        "--tol",
        "0",
        "--seed",
        "2",
        "--loss",
        "kl",
        "--alpha-w",
        "0.05",
        "--alpha-h",
        "0.2",
        "--l1-ratio",
        "0.5",
        "--backend",
        "nalgebra",
        "--dtype",
        "f64",
        "-o",
        "pen",
        "-q",
    ];
    let o = nmf(dir.path(), &args);
    assert!(o.status.success(), "{}", stderr(&o));
    let w = read(&dir.path().join("pen").join("W.npy"));
    let h = read(&dir.path().join("pen").join("H.npy"));
    let b = nmf_nalgebra::Nalgebra;
    let vm = MatrixBackend::<f64>::from_row_major(&b, M, N, &v).unwrap();
    let fit = |alpha_w: f64, alpha_h: f64| {
        MiniBatchNmf::params(3)
            .batch_size(8)
            .max_iter(3)
            .tol(0.0)
            .seed(2)
            .loss(Loss::KullbackLeibler)
            .alpha_w(alpha_w)
            .alpha_h(alpha_h)
            .l1_ratio(0.5)
            .check()
            .unwrap()
            .fit(&b, &vm)
            .unwrap()
    };
    let model = fit(0.05, 0.2);
    let bits = |x: &[f64]| x.iter().map(|y| y.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&w.data), bits(&b.to_row_major(model.w())));
    assert_eq!(bits(&h.data), bits(&b.to_row_major(model.h())));
    // The penalties did something: the unpenalised fit's H differs.
    assert_ne!(bits(&h.data), bits(&b.to_row_major(fit(0.0, 0.0).h())));
    let summary = std::fs::read_to_string(dir.path().join("pen").join("summary.json")).unwrap();
    assert!(summary.contains("\"alpha_h\": 0.2"), "{summary}");
    // Bad values: the usage errors of `nmf fit`.
    for (opt, bad, says) in [
        ("--alpha-w", "-1", "--alpha-w must be finite and ≥ 0"),
        ("--alpha-h", "NaN", "--alpha-h must be finite and ≥ 0"),
        ("--l1-ratio", "1.5", "--l1-ratio must be in [0, 1]"),
    ] {
        let mut a: Vec<&str> = args.to_vec();
        let at = a.iter().position(|x| *x == opt).unwrap();
        a[at + 1] = bad;
        let out = a.len() - 2;
        a[out] = "bad";
        let o = nmf(dir.path(), &a);
        assert_eq!(o.status.code(), Some(2), "{opt} {bad}: {}", stderr(&o));
        assert!(stderr(&o).contains(says), "{}", stderr(&o));
        assert!(!dir.path().join("bad").exists());
    }
}
