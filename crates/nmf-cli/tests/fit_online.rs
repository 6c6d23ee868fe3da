//! `nmf fit --batch-size N`: the online fit over row blocks read from a `.npy` file by
//! seeking gives the factors of the library's in-memory minibatch fit of the same matrix with
//! the same parameters, to the bit (the same blocks, in the same order, reach the same
//! computation); inputs it cannot stream are usage errors. `nmf fit --out-of-core ROWS` is
//! the ordinary fit on V re-read by row blocks: equal to the in-memory fit to the rounding of
//! the sums' order, and a file that changes under it stops it with an error.

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

/// The first-order bound on the relative difference of every entry of W and H after `iters`
/// iterations between two fits from the same start whose sums over the m rows add in
/// different orders (the in-memory products, and the out-of-core sums over row blocks added
/// in f64): nmf_core::testing::mu_bound, derived there (each statistic within 2γ, γ =
/// 1.01·(m + n + k)·u, of the other; an H half-step of MU carries 2·e_H + 3·e_W + 4γ, the W
/// half-step mirrors it). HALS is checked within 100 times it, as the shared suite does (a
/// coordinate step subtracts: a margin, not derived).
fn mu_bound(iters: usize, m: usize, n: usize, k: usize, u: f64) -> f64 {
    let g = 4.0 * 1.01 * (m + n + k) as f64 * u;
    let (mut eh, mut ew) = (0.0, 0.0);
    for _ in 0..iters {
        eh = 2.0 * eh + 3.0 * ew + g;
        ew = 2.0 * ew + 3.0 * eh + g;
    }
    eh.max(ew)
}

fn max_rel(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs() / x.abs().max(y.abs()).max(f64::MIN_POSITIVE))
        .fold(0.0, f64::max)
}

/// A start for `--init custom` at rank `k`: `w0.npy` (M×k) and `h0.npy` (k×N) in `dir`.
fn write_start(dir: &std::path::Path, k: usize) {
    let w0: Vec<f64> = (0..M * k)
        .map(|t| 0.3 + ((t * 31 + 5) % 23) as f64 / 11.0)
        .collect();
    let h0: Vec<f64> = (0..k * N)
        .map(|t| 0.2 + ((t * 17 + 3) % 19) as f64 / 9.0)
        .collect();
    std::fs::write(dir.join("w0.npy"), npy::to_npy_bytes(M, k, &w0)).unwrap();
    std::fs::write(dir.join("h0.npy"), npy::to_npy_bytes(k, N, &h0)).unwrap();
}

/// `nmf fit --out-of-core ROWS` is the ordinary fit with V re-read from the file by blocks at
/// every pass: from the same start (--init custom) and ε, it gives the in-memory fit's W and
/// H to the rounding of the sums' order ([`mu_bound`]) for MU (Frobenius, KL, β = 1.5, with
/// penalties) and HALS, with the same iterations, and writes the same files (the model
/// included).
#[test]
fn out_of_core_fit_equals_the_in_memory_fit() {
    let dir = tempfile::tempdir().unwrap();
    let v = data();
    let k = 3;
    std::fs::write(dir.path().join("v.npy"), npy::to_npy_bytes(M, N, &v)).unwrap();
    write_start(dir.path(), k);
    let iters = 4;
    let cases: [(&str, &[&str]); 5] = [
        ("mu_frobenius", &["--solver", "mu", "--loss", "frobenius"]),
        ("mu_kl", &["--solver", "mu", "--loss", "kl"]),
        ("mu_beta", &["--solver", "mu", "--beta", "1.5"]),
        ("mu_penalty", &["--solver", "mu", "--alpha-w", "0.05"]),
        ("hals", &["--solver", "hals"]),
    ];
    for (name, opts) in cases {
        let fit = |out: &str, extra: &[&str]| {
            let iters = iters.to_string();
            let mut a = vec![
                "fit",
                "v.npy",
                "-k",
                "3",
                "--init",
                "custom",
                "--w0",
                "w0.npy",
                "--h0",
                "h0.npy",
                "--eps",
                "1e-9",
                "--max-iter",
                &iters,
                "--tol",
                "0",
                "--backend",
                "nalgebra",
                "--dtype",
                "f64",
                "-o",
                out,
                "-q",
            ];
            a.extend_from_slice(opts);
            a.extend_from_slice(extra);
            let o = nmf(dir.path(), &a);
            assert!(o.status.success(), "{name} {extra:?}: {}", stderr(&o));
        };
        let mem = format!("{name}_mem");
        fit(&mem, &[]);
        let bound =
            mu_bound(iters, M, N, k, f64::EPSILON / 2.0) * if name == "hals" { 100.0 } else { 1.0 };
        for rows in ["1", "8", "37"] {
            let ooc = format!("{name}_ooc{rows}");
            fit(&ooc, &["--out-of-core", rows]);
            for f in ["W", "H"] {
                let a = read(&dir.path().join(&ooc).join(format!("{f}.npy")));
                let b = read(&dir.path().join(&mem).join(format!("{f}.npy")));
                let e = max_rel(&a.data, &b.data);
                assert!(
                    e <= bound,
                    "{name}, blocks of {rows}: {f} within {e:e}, bound {bound:e}"
                );
            }
            let files = |d: &str| {
                let mut f: Vec<_> = std::fs::read_dir(dir.path().join(d))
                    .unwrap()
                    .map(|e| e.unwrap().file_name())
                    .collect();
                f.sort();
                f
            };
            assert_eq!(files(&ooc), files(&mem), "{name}: the same outputs");
            let summary: serde_json::Value = serde_json::from_str(
                &std::fs::read_to_string(dir.path().join(&ooc).join("summary.json")).unwrap(),
            )
            .unwrap();
            assert_eq!(summary["iterations"], iters, "{name}");
            assert_eq!(summary["input"]["storage"], "streamed", "{name}");
        }
    }
}

/// What a fit that streams V cannot do is a usage error naming the option, before anything
/// is written.
#[test]
fn out_of_core_refusals_are_usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("v.npy"), npy::to_npy_bytes(M, N, &data())).unwrap();
    std::fs::write(dir.path().join("v.csv"), "1,2\n3,4\n").unwrap();
    for (args, want) in [
        (&["v.npy", "--out-of-core", "0"][..], "at least 1 row"),
        (
            &[
                "v.npy",
                "--out-of-core",
                "8",
                "--solver",
                "cd",
                "--loss",
                "kl",
            ],
            "--solver cd",
        ),
        (
            &["v.npy", "--out-of-core", "8", "--holdout", "0.1"],
            "V in memory",
        ),
        (
            &["v.csv", "--out-of-core", "1"],
            "other inputs are fitted in memory",
        ),
    ] {
        let mut a = vec!["fit", "-k", "2"];
        a.extend_from_slice(args);
        let o = nmf(dir.path(), &a);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(want), "{args:?}: {}", stderr(&o));
        assert!(!dir.path().join("nmf-out").exists());
    }
}

/// A file cut short, or an entry made negative, while the fit re-reads it: the fit stops with
/// an error that names the file and the rows (or the entry), and writes nothing.
#[test]
fn out_of_core_file_changed_mid_fit_is_an_error_and_writes_nothing() {
    use std::io::{Seek, SeekFrom, Write};
    let (m, n) = (2000, 40);
    let v: Vec<f64> = (0..m * n).map(|t| 1.0 + (t % 13) as f64).collect();
    let bytes = npy::to_npy_bytes(m, n, &v);
    let data_start = (bytes.len() - m * n * 8) as u64;
    for (what, want) in [
        ("cut", "changed or cut short"),
        ("negative", "negative entry"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v.npy");
        std::fs::write(&path, &bytes).unwrap();
        // Blocks of one row and no end: the fit is still running when the file changes.
        let child = std::process::Command::new(env!("CARGO_BIN_EXE_nmf"))
            .current_dir(dir.path())
            .args([
                "fit",
                "v.npy",
                "-k",
                "2",
                "--out-of-core",
                "1",
                "--max-iter",
                "1000000",
                "--tol",
                "0",
                "--backend",
                "nalgebra",
                "-q",
            ])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(1500));
        let mut f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
        if what == "cut" {
            f.set_len(data_start + (m * n * 8 / 2) as u64).unwrap();
        } else {
            // Row 1500, column 7 becomes -1.
            f.seek(SeekFrom::Start(data_start + ((1500 * n + 7) * 8) as u64))
                .unwrap();
            f.write_all(&(-1.0f64).to_le_bytes()).unwrap();
        }
        drop(f);
        let o = child.wait_with_output().unwrap();
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(1), "{what}: {err}");
        assert!(err.contains("v.npy") && err.contains(want), "{what}: {err}");
        if what == "negative" {
            assert!(err.contains("row 1500, column 7"), "{err}");
        }
        assert!(
            !dir.path().join("nmf-out").exists(),
            "{what}: nothing is written"
        );
    }
}

/// Ctrl-C (SIGINT) during an out-of-core fit whose passes read a block at a time: exit code
/// 130, the interruption said, nothing written.
#[cfg(unix)]
#[test]
fn out_of_core_ctrl_c_stops_with_nothing_written() {
    let (m, n) = (2000, 40);
    let v: Vec<f64> = (0..m * n).map(|t| 1.0 + (t % 13) as f64).collect();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("v.npy"), npy::to_npy_bytes(m, n, &v)).unwrap();
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_nmf"))
        .current_dir(dir.path())
        .args([
            "fit",
            "v.npy",
            "-k",
            "2",
            "--out-of-core",
            "1",
            "--max-iter",
            "1000000",
            "--tol",
            "0",
            "--backend",
            "nalgebra",
            "-q",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let pid = libc::pid_t::try_from(child.id()).unwrap();
    // SAFETY: kill has no memory-safety preconditions.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGINT) }, 0);
    let start = std::time::Instant::now();
    let o = child.wait_with_output().unwrap();
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(130), "{err}");
    assert!(
        err.contains("interrupted") && err.contains("nothing was written"),
        "{err}"
    );
    // Stopped at the next block read (a pass here takes well under this).
    assert!(start.elapsed() < std::time::Duration::from_secs(10));
    assert!(!dir.path().join("nmf-out").exists());
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

/// `--out-of-core` streams a row-sorted `.mtx` and a csr `.npz` too (sparse blocks through
/// nmf-io): from the same start, W and H are the in-memory sparse fit's to the rounding of the
/// sums' order ([`mu_bound`]; HALS 100 times it, a margin as above), MU (Frobenius, KL) and
/// HALS, and summary.json names the format.
#[test]
fn out_of_core_streams_mtx_and_npz_as_the_in_memory_sparse_fit() {
    let dir = tempfile::tempdir().unwrap();
    let v = sparse_data();
    let k = 3;
    std::fs::write(dir.path().join("v.mtx"), mtx_text(&v)).unwrap();
    std::fs::write(dir.path().join("v.npz"), npz_bytes(&v)).unwrap();
    write_start(dir.path(), k);
    let iters = 4;
    let cases: [(&str, &[&str]); 3] = [
        ("mu_frobenius", &["--solver", "mu", "--loss", "frobenius"]),
        ("mu_kl", &["--solver", "mu", "--loss", "kl"]),
        ("hals", &["--solver", "hals"]),
    ];
    for (name, opts) in cases {
        let fit = |input: &str, out: &str, extra: &[&str]| {
            let iters = iters.to_string();
            let mut a = vec![
                "fit",
                input,
                "-k",
                "3",
                "--init",
                "custom",
                "--w0",
                "w0.npy",
                "--h0",
                "h0.npy",
                "--eps",
                "1e-9",
                "--max-iter",
                &iters,
                "--tol",
                "0",
                "-o",
                out,
                "-q",
            ];
            a.extend_from_slice(opts);
            a.extend_from_slice(extra);
            let o = nmf(dir.path(), &a);
            assert!(
                o.status.success(),
                "{name} {input} {extra:?}: {}",
                stderr(&o)
            );
        };
        let mem = format!("{name}_mem");
        fit("v.mtx", &mem, &[]);
        let bound =
            mu_bound(iters, M, N, k, f64::EPSILON / 2.0) * if name == "hals" { 100.0 } else { 1.0 };
        for input in ["v.mtx", "v.npz"] {
            let ooc = format!("{name}_{input}_ooc");
            fit(input, &ooc, &["--out-of-core", "8"]);
            for f in ["W", "H"] {
                let a = read(&dir.path().join(&ooc).join(format!("{f}.npy")));
                let b = read(&dir.path().join(&mem).join(format!("{f}.npy")));
                let e = max_rel(&a.data, &b.data);
                assert!(
                    e <= bound,
                    "{name}, {input}: {f} within {e:e}, bound {bound:e}"
                );
            }
            let summary: serde_json::Value = serde_json::from_str(
                &std::fs::read_to_string(dir.path().join(&ooc).join("summary.json")).unwrap(),
            )
            .unwrap();
            let format = input.trim_start_matches("v.");
            assert_eq!(summary["input"]["format"], format, "{name} {input}");
        }
    }
}
