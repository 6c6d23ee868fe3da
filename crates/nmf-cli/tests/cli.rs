//! End-to-end tests: they run the `nmf` binary on small files of every format and check what
//! it writes, prints and exits with.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

mod common;
use common::{nmf, stderr, stdout};

use nmf_cli::matrix::Matrix;
use nmf_cli::read::{Format, ReadOptions, mtx, npy, parse_bytes};

const BACKENDS: &[&str] = &["faer", "nalgebra", "ndarray"];

fn read_npy(path: &Path) -> Matrix {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    npy::parse(&bytes, &path.display().to_string()).unwrap()
}

fn read_json(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// An exactly rank-2 non-negative 6×5 matrix with a zero entry pattern.
fn rank2() -> Matrix {
    let w = [
        [1.0, 0.0],
        [2.0, 1.0],
        [0.0, 3.0],
        [4.0, 1.0],
        [1.0, 1.0],
        [0.0, 2.0],
    ];
    let h = [[1.0, 2.0, 0.0, 1.0, 3.0], [0.0, 1.0, 2.0, 2.0, 1.0]];
    let mut d = Vec::new();
    for row in &w {
        for (a, b) in h[0].iter().zip(&h[1]) {
            d.push(row[0] * a + row[1] * b);
        }
    }
    Matrix::new(6, 5, d)
}

fn product(w: &Matrix, h: &Matrix) -> Matrix {
    assert_eq!(w.cols, h.rows);
    let mut d = vec![0.0; w.rows * h.cols];
    for i in 0..w.rows {
        for j in 0..h.cols {
            d[i * h.cols + j] = (0..w.cols).map(|c| w.get(i, c) * h.get(c, j)).sum();
        }
    }
    Matrix::new(w.rows, h.cols, d)
}

fn rel_err(a: &Matrix, b: &Matrix) -> f64 {
    let num: f64 = a
        .data
        .iter()
        .zip(&b.data)
        .map(|(x, y)| (x - y).powi(2))
        .sum();
    let den: f64 = b.data.iter().map(|y| y * y).sum();
    (num / den).sqrt()
}

fn csv_text(m: &Matrix, delim: &str) -> String {
    let mut s = String::new();
    for i in 0..m.rows {
        let row: Vec<String> = (0..m.cols).map(|j| m.get(i, j).to_string()).collect();
        s.push_str(&row.join(delim));
        s.push('\n');
    }
    s
}

fn mtx_coordinate(m: &Matrix) -> String {
    let mut entries = Vec::new();
    for i in 0..m.rows {
        for j in 0..m.cols {
            if m.get(i, j) != 0.0 {
                entries.push(format!("{} {} {}", i + 1, j + 1, m.get(i, j)));
            }
        }
    }
    format!(
        "%%MatrixMarket matrix coordinate integer general\n% a comment\n{} {} {}\n{}\n",
        m.rows,
        m.cols,
        entries.len(),
        entries.join("\n")
    )
}

/// Writes V in every supported layout; returns the file names.
fn write_every_format(dir: &Path, v: &Matrix) -> Vec<String> {
    let files: Vec<(&str, Vec<u8>)> = vec![
        ("v.csv", csv_text(v, ",").into_bytes()),
        (
            "header.csv",
            format!("a,b,c,d,e\n{}", csv_text(v, ", ")).into_bytes(),
        ),
        ("v.tsv", csv_text(v, "\t").into_bytes()),
        ("tabs.txt", csv_text(v, "\t").into_bytes()),
        ("coord.mtx", mtx_coordinate(v).into_bytes()),
        (
            "array.mtx",
            mtx::to_mtx_array_string(v.rows, v.cols, &v.data).into_bytes(),
        ),
        ("v64.npy", npy::to_npy_bytes(v.rows, v.cols, &v.data)),
        ("v32.npy", {
            let d: Vec<f32> = v.data.iter().map(|&x| x as f32).collect();
            npy::to_npy_bytes(v.rows, v.cols, &d)
        }),
        ("int.npy", {
            // int64, as numpy writes np.array([[...]]) of Python ints.
            let mut b = npy::to_npy_bytes(v.rows, v.cols, &v.data);
            let header_end = b.iter().position(|&c| c == b'\n').unwrap() + 1;
            b.truncate(header_end);
            let text = String::from_utf8(b[10..].to_vec())
                .unwrap()
                .replace("<f8", "<i8");
            let mut out = b[..10].to_vec();
            out.extend_from_slice(text.as_bytes());
            for &x in &v.data {
                out.extend_from_slice(&(x as i64).to_le_bytes());
            }
            out
        }),
    ];
    for (name, bytes) in &files {
        std::fs::write(dir.join(name), bytes).unwrap();
    }
    files.iter().map(|(n, _)| n.to_string()).collect()
}

#[test]
fn fit_reads_every_format_with_every_backend_and_writes_the_factors() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let v = rank2();
    let names = write_every_format(dir, &v);
    for backend in BACKENDS {
        for name in &names {
            let out = format!("out-{backend}-{name}");
            let o = nmf(
                dir,
                &[
                    "fit",
                    name,
                    "--rank",
                    "2",
                    "--backend",
                    backend,
                    // MU: its history decreases by more than 1e-9 relative at every check
                    // here; HALS reaches the rounding floor (loss ~1e-29) within 60
                    // iterations, where the loss moves by rounding only (solver test below).
                    "--solver",
                    "mu",
                    "--max-iter",
                    "3000",
                    "--tol",
                    "0",
                    "--out",
                    &out,
                    "--quiet",
                ],
            );
            assert!(o.status.success(), "{backend} {name}: {}", stderr(&o));
            assert_eq!(stderr(&o), "", "--quiet prints nothing");
            assert_eq!(stdout(&o), "", "--quiet prints nothing");
            let w = read_npy(&dir.join(&out).join("W.npy"));
            let h = read_npy(&dir.join(&out).join("H.npy"));
            assert_eq!((w.rows, w.cols, h.rows, h.cols), (6, 2, 2, 5), "{name}");
            assert!(
                w.data
                    .iter()
                    .chain(&h.data)
                    .all(|x| x.is_finite() && *x > 0.0)
            );
            let err = rel_err(&product(&w, &h), &v);
            assert!(err < 1e-2, "{backend} {name}: relative error {err}");

            let s = read_json(&dir.join(&out).join("summary.json"));
            assert_eq!(s["shapes"]["V"], serde_json::json!([6, 5]));
            assert_eq!(s["shapes"]["W"], serde_json::json!([6, 2]));
            assert_eq!(s["shapes"]["H"], serde_json::json!([2, 5]));
            assert_eq!(s["backend"], *backend);
            assert_eq!(s["scalar"], "f64");
            assert_eq!(s["iterations"], 3000);
            assert_eq!(s["converged"], false);
            assert_eq!(s["parameters"]["rank"], 2);
            assert_eq!(s["parameters"]["loss"], "frobenius");
            assert_eq!(s["parameters"]["tol"], 0.0);
            let history = s["loss_history"].as_array().unwrap();
            assert_eq!(history.len(), 301);
            assert_eq!(history[0]["iteration"], 0);
            assert_eq!(history[300]["iteration"], 3000);
            let losses: Vec<f64> = history
                .iter()
                .map(|r| r["loss"].as_f64().unwrap())
                .collect();
            assert!(losses.windows(2).all(|p| p[1] <= p[0] * (1.0 + 1e-9)));
            assert_eq!(s["final_loss"].as_f64(), losses.last().copied());
            assert!(s["wall_time_seconds"]["fit"].as_f64().unwrap() >= 0.0);
            assert_eq!(
                s["outputs"],
                serde_json::json!(["W.npy", "H.npy", "model.json", "summary.json"])
            );
        }
    }
}

#[test]
fn same_seed_same_factors_on_every_format_and_f32_output() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let v = rank2();
    write_every_format(dir, &v);
    let run_with = |input: &str, out: &str, seed: &str, extra: &[&str]| {
        let mut args = vec!["fit", input, "-k", "2", "--seed", seed, "--out", out, "-q"];
        args.extend(extra);
        let o = nmf(dir, &args);
        assert!(o.status.success(), "{}", stderr(&o));
        read_npy(&dir.join(out).join("W.npy"))
    };
    let run = |input: &str, out: &str, seed: &str| run_with(input, out, seed, &[]);
    let a = run("v.csv", "a", "7");
    let b = run_with("coord.mtx", "b", "7", &["--dense"]);
    assert_eq!(
        a, b,
        "the same data from CSV and MTX read dense gives the same W"
    );
    // Kept sparse, the products add in another order: the same W to rounding (each entry
    // within 1e-12 relative of its column's largest, far above the u = 1.1e-16 of each
    // product and far below any difference of substance).
    let sparse = run("coord.mtx", "s", "7");
    for (p, (&x, &y)) in sparse.data.iter().zip(&a.data).enumerate() {
        let col_max = (0..a.rows)
            .map(|i| a.data[i * a.cols + p % a.cols])
            .fold(0.0, f64::max);
        assert!(
            (x - y).abs() <= 1e-12 * col_max,
            "entry {p}: sparse {x}, dense {y}"
        );
    }
    let c = run("v.csv", "c", "8");
    assert_ne!(a, c, "another seed gives another W");

    let o = nmf(
        dir,
        &[
            "fit", "v.csv", "-k", "2", "--dtype", "f32", "--out", "f", "-q",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let bytes = std::fs::read(dir.join("f/W.npy")).unwrap();
    assert!(String::from_utf8_lossy(&bytes[..80]).contains("'descr': '<f4'"));
    assert_eq!(read_json(&dir.join("f/summary.json"))["scalar"], "f32");
}

#[test]
fn tol_stops_early_and_zero_tol_runs_max_iter() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    write_every_format(dir, &rank2());
    // Rank 1 of rank-2 data: the loss levels off above 0, so the relative decrease falls.
    let o = nmf(
        dir,
        &[
            "fit",
            "v.csv",
            "-k",
            "1",
            "--max-iter",
            "5000",
            "--tol",
            "1e-4",
            "-q",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let s = read_json(&dir.join("nmf-out/summary.json"));
    assert_eq!(s["converged"], true);
    assert!(s["iterations"].as_u64().unwrap() < 5000);
    let o = nmf(
        dir,
        &[
            "fit",
            "v.csv",
            "-k",
            "2",
            "--max-iter",
            "37",
            "--tol",
            "0",
            "-q",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let s = read_json(&dir.join("nmf-out/summary.json"));
    assert_eq!(
        (s["iterations"].as_u64(), s["converged"].as_bool()),
        (Some(37), Some(false))
    );
}

#[test]
fn csv_output_matches_npy_and_factors_restart_a_fit() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    write_every_format(dir, &rank2());
    let o = nmf(
        dir,
        &[
            "fit", "v.csv", "-k", "2", "--csv", "--loss", "kl", "--out", "o", "-q",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    for name in ["W", "H"] {
        let from_npy = read_npy(&dir.join(format!("o/{name}.npy")));
        let text = std::fs::read(dir.join(format!("o/{name}.csv"))).unwrap();
        let from_csv = parse_bytes(&text, name, Format::Csv, ReadOptions::default()).unwrap();
        assert_eq!(
            from_npy, from_csv,
            "{name}.csv holds the same numbers as {name}.npy"
        );
    }
    let s = read_json(&dir.join("o/summary.json"));
    assert_eq!(s["parameters"]["loss"], "kl");
    assert_eq!(
        s["outputs"],
        serde_json::json!([
            "W.npy",
            "H.npy",
            "W.csv",
            "H.csv",
            "model.json",
            "summary.json"
        ])
    );

    // Custom initialisation from the written factors: the seed then plays no part, and a fit
    // from a fitted model does not raise the loss.
    let restart = |out: &str, seed: &str| {
        let o = nmf(
            dir,
            &[
                "fit",
                "v.csv",
                "-k",
                "2",
                "--loss",
                "kl",
                "--init",
                "custom",
                "--w0",
                "o/W.npy",
                "--h0",
                "o/H.csv",
                "--seed",
                seed,
                "--max-iter",
                "5",
                "--tol",
                "0",
                "--out",
                out,
                "-q",
            ],
        );
        assert!(o.status.success(), "{}", stderr(&o));
        read_json(&dir.join(out).join("summary.json"))
    };
    let (r1, r2) = (restart("r1", "1"), restart("r2", "2"));
    assert_eq!(
        read_npy(&dir.join("r1/W.npy")),
        read_npy(&dir.join("r2/W.npy"))
    );
    let first = r1["loss_history"][0]["loss"].as_f64().unwrap();
    let fitted = s["final_loss"].as_f64().unwrap();
    assert!(
        (first - fitted).abs() <= 1e-9 * fitted.max(1.0),
        "{first} vs {fitted}"
    );
    assert_eq!(r2["parameters"]["init"]["w0"], "o/W.npy");
}

#[test]
fn gzipped_input_and_explicit_format() {
    use std::io::Write;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let v = rank2();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(csv_text(&v, ",").as_bytes()).unwrap();
    std::fs::write(dir.join("v.csv.gz"), gz.finish().unwrap()).unwrap();
    std::fs::write(dir.join("v.data"), csv_text(&v, "\t")).unwrap();
    for (input, extra) in [("v.csv.gz", None), ("v.data", Some("tsv"))] {
        let mut args = vec!["fit", input, "-k", "2", "-q"];
        if let Some(f) = extra {
            args.extend(["--format", f]);
        }
        let o = nmf(dir, &args);
        assert!(o.status.success(), "{input}: {}", stderr(&o));
        assert_eq!(
            read_json(&dir.join("nmf-out/summary.json"))["shapes"]["V"],
            serde_json::json!([6, 5])
        );
    }
}

#[test]
fn progress_is_plain_lines_when_stderr_is_not_a_terminal() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    write_every_format(dir, &rank2());
    let o = nmf(
        dir,
        &["fit", "v.csv", "-k", "2", "--max-iter", "100", "--tol", "0"],
    );
    assert!(o.status.success());
    let err = stderr(&o);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 10, "one line per tenth of the run: {err}");
    assert!(lines[0].starts_with("iteration 10/100  loss "), "{err}");
    assert!(lines[9].starts_with("iteration 100/100  loss "), "{err}");
    assert!(
        lines
            .iter()
            .all(|l| l.contains(" it/s ") && l.ends_with(" left"))
    );
    let out = stdout(&o);
    assert!(out.starts_with("ran 100 iterations (--max-iter)"), "{out}");
    assert!(out.contains("wrote nmf-out/W.npy (6×2)"), "{out}");
    assert!(out.contains("wrote nmf-out/H.npy (2×5)"), "{out}");
    assert!(out.contains("wrote nmf-out/summary.json"), "{out}");

    let o = nmf(
        dir,
        &[
            "fit",
            "v.csv",
            "-k",
            "2",
            "--max-iter",
            "30",
            "--tol",
            "0",
            "--verbose",
            "--check-every",
            "5",
        ],
    );
    assert!(o.status.success());
    let err = stderr(&o);
    assert!(
        err.lines()
            .next()
            .unwrap()
            .starts_with("v.csv: V is 6×5; rank 2, loss frobenius, backend faer"),
        "{err}"
    );
    assert_eq!(
        err.lines().filter(|l| l.starts_with("iteration ")).count(),
        6,
        "{err}"
    );
}

#[test]
fn transform_progress_is_plain_lines_too() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    write_every_format(dir, &rank2());
    fit_summary(dir, "m", &["-k", "2", "--max-iter", "50"]);
    let transform = |extra: &[&str]| {
        let mut args = vec!["transform", "v.csv", "--model", "m", "--tol", "0"];
        args.extend_from_slice(extra);
        let o = nmf(dir, &args);
        assert!(o.status.success(), "{extra:?}: {}", stderr(&o));
        o
    };
    let o = transform(&["--max-iter", "100"]);
    let err = stderr(&o);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 10, "one line per tenth of the run: {err}");
    assert!(lines[0].starts_with("iteration 10/100  loss "), "{err}");
    assert!(lines[9].starts_with("iteration 100/100  loss "), "{err}");
    assert!(
        lines
            .iter()
            .all(|l| l.contains(" it/s ") && l.ends_with(" left"))
    );
    let out = stdout(&o);
    assert!(out.starts_with("transformed 5 samples"), "{out}");
    assert!(out.contains("wrote nmf-transform/H.npy (2×5)"), "{out}");

    // --verbose: the settings, then a line at every loss evaluation.
    let o = transform(&[
        "--verbose",
        "--check-every",
        "5",
        "--max-iter",
        "30",
        "--out",
        "v",
    ]);
    let err = stderr(&o);
    assert!(
        err.lines()
            .next()
            .unwrap()
            .starts_with("v.csv: X is 6×5; model m/model.json"),
        "{err}"
    );
    assert_eq!(
        err.lines().filter(|l| l.starts_with("iteration ")).count(),
        6,
        "{err}"
    );
    // --quiet: nothing at all.
    let o = transform(&["--max-iter", "100", "--quiet", "--out", "q"]);
    assert_eq!((stdout(&o), stderr(&o)), (String::new(), String::new()));
}

/// Runs a command that must fail; checks the exit code, that stderr is exactly one line
/// `error: {message}`, and that no output directory was made.
fn fails(dir: &Path, args: &[&str], code: i32, message: &str) {
    let o = nmf(dir, args);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(code), "{args:?}: {err}");
    assert_eq!(err.lines().count(), 1, "{args:?}: one line, got {err:?}");
    assert_eq!(err.trim_end(), format!("error: {message}"), "{args:?}");
    assert!(
        !dir.join("nmf-out").exists(),
        "{args:?} made an output directory"
    );
}

#[test]
fn every_error_is_one_line_with_its_exit_code() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    write_every_format(d, &rank2());
    std::fs::write(d.join("bad.csv"), "1,2,3\n4,5x,6\n").unwrap();
    std::fs::write(d.join("ragged.tsv"), "1\t2\n3\t4\t5\n").unwrap();
    std::fs::write(d.join("neg.csv"), "x,y\n1,2\n3,-0.5\n").unwrap();
    std::fs::write(d.join("nan.csv"), "1,NaN\n").unwrap();
    std::fs::write(
        d.join("inf.mtx"),
        "%%MatrixMarket matrix coordinate real general\n2 2 1\n2 2 inf\n",
    )
    .unwrap();
    std::fs::write(
        d.join("bad.mtx"),
        "%%MatrixMarket matrix coordinate real general\n2 2 1\n1 3 1\n",
    )
    .unwrap();
    std::fs::write(
        d.join("neg.npy"),
        npy::to_npy_bytes(2, 2, &[1.0f64, 2.0, -3.0, 4.0]),
    )
    .unwrap();
    std::fs::write(
        d.join("nan.npy"),
        npy::to_npy_bytes(1, 2, &[1.0f32, f32::NAN]),
    )
    .unwrap();
    std::fs::write(
        d.join("inf.npy"),
        npy::to_npy_bytes(1, 2, &[f64::NEG_INFINITY, 0.0]),
    )
    .unwrap();
    std::fs::write(d.join("not.npy"), "1,2\n").unwrap();
    std::fs::write(d.join("w0.csv"), "1,1\n1,1\n1,1\n").unwrap();
    std::fs::write(d.join("h0.csv"), "1,1,1,1,1\n1,1,1,1,1\n").unwrap();
    std::fs::write(d.join("w0bad.csv"), "1,1\n1,-1\n1,1\n1,1\n1,1\n1,1\n").unwrap();
    std::fs::create_dir(d.join("dir.csv")).unwrap();

    let fit = |input: &'static str| vec!["fit", input, "-k", "2"];
    let with = |mut a: Vec<&'static str>, extra: &[&'static str]| {
        a.extend_from_slice(extra);
        a
    };
    // Files.
    fails(
        d,
        &fit("missing.csv"),
        1,
        "cannot read 'missing.csv': No such file or directory (os error 2)",
    );
    fails(
        d,
        &fit("dir.csv"),
        1,
        "cannot read 'dir.csv': Is a directory (os error 21)",
    );
    fails(
        d,
        &fit("v.dat"),
        2,
        "cannot tell the format of 'v.dat' from its extension: name it .csv, .tsv, .mtx, .npy or .npz, or pass --format csv|tsv|mtx|npy|npz",
    );
    fails(
        d,
        &fit("not.npy"),
        1,
        "not.npy: not a NumPy .npy file (it does not start with \\x93NUMPY)",
    );
    // Malformed values: file, line and column.
    fails(
        d,
        &fit("bad.csv"),
        1,
        "bad.csv:2:3: cannot read '5x' as a number",
    );
    fails(
        d,
        &fit("ragged.tsv"),
        1,
        "ragged.tsv:2:5: expected 2 fields as on line 1, found 3",
    );
    fails(
        d,
        &fit("bad.mtx"),
        1,
        "bad.mtx:3:3: column index 3 is outside 1..=2",
    );
    // Negative, NaN and infinite entries: row and column.
    fails(
        d,
        &fit("neg.csv"),
        1,
        "neg.csv:3:3: negative entry -0.5 at row 1, column 1 (0-based)",
    );
    fails(
        d,
        &fit("nan.csv"),
        1,
        "nan.csv:1:3: non-finite entry (NaN) at row 0, column 1 (0-based)",
    );
    fails(
        d,
        &fit("inf.mtx"),
        1,
        "inf.mtx:3:5: non-finite entry (inf) at row 1, column 1 (0-based)",
    );
    fails(
        d,
        &fit("neg.npy"),
        1,
        "neg.npy: negative entry -3 at row 1, column 0 (0-based)",
    );
    fails(
        d,
        &fit("nan.npy"),
        1,
        "nan.npy: non-finite entry (NaN) at row 0, column 1 (0-based)",
    );
    fails(
        d,
        &fit("inf.npy"),
        1,
        "inf.npy: non-finite entry (-inf) at row 0, column 0 (0-based)",
    );
    // Custom W0/H0 whose shape does not fit, or whose entries are bad.
    let custom = |w0: &'static str, h0: &'static str| {
        with(fit("v.csv"), &["--init", "custom", "--w0", w0, "--h0", h0])
    };
    fails(
        d,
        &custom("w0.csv", "h0.csv"),
        1,
        "w0.csv: W0 is 3×2, but V (6×5 in v.csv) and rank 2 require 6×2",
    );
    fails(
        d,
        &custom("w0bad.csv", "w0.csv"),
        1,
        "w0bad.csv:2:3: negative entry -1 at row 1, column 1 (0-based)",
    );
    fails(
        d,
        &custom("v.csv", "h0.csv"),
        1,
        "v.csv: W0 is 6×5, but V (6×5 in v.csv) and rank 2 require 6×2",
    );
    fails(
        d,
        &with(fit("v.csv"), &["--init", "custom", "--w0", "w0.csv"]),
        2,
        "--init custom needs both --w0 FILE and --h0 FILE",
    );
    fails(
        d,
        &with(fit("v.csv"), &["--w0", "w0.csv", "--h0", "h0.csv"]),
        2,
        "--w0 and --h0 are used only with --init custom",
    );
    // Bad option values.
    fails(
        d,
        &with(fit("v.csv"), &["--loss", "l2"]),
        2,
        "invalid value 'l2' for '--loss <LOSS>' [possible values: frobenius, kl, itakura-saito]",
    );
    fails(
        d,
        &with(fit("v.csv"), &["--backend", "torch"]),
        2,
        "invalid value 'torch' for '--backend <BACKEND>' [possible values: faer, nalgebra, ndarray]",
    );
    fails(
        d,
        &with(fit("v.csv"), &["--dtype", "f16"]),
        2,
        "invalid value 'f16' for '--dtype <DTYPE>' [possible values: f32, f64]",
    );
    fails(
        d,
        &with(fit("v.csv"), &["--init", "svd"]),
        2,
        "invalid value 'svd' for '--init <INIT>' [possible values: random, auto, nndsvd, nndsvda, nndsvdar, custom]",
    );
    fails(
        d,
        &with(fit("v.csv"), &["--format", "xlsx"]),
        2,
        "invalid value 'xlsx' for '--format <FORMAT>' [possible values: csv, tsv, mtx, npy, npz]",
    );
    fails(
        d,
        &with(fit("v.csv"), &["--max-iter", "many"]),
        2,
        "invalid value 'many' for '--max-iter <N>': invalid digit found in string",
    );
    fails(
        d,
        &with(fit("v.csv"), &["--tol", "-1"]),
        2,
        "--tol must be finite and ≥ 0, got -1",
    );
    fails(
        d,
        &with(fit("v.csv"), &["--eps", "0"]),
        2,
        "--eps must be finite and > 0, got 0",
    );
    fails(
        d,
        &with(fit("v.csv"), &["--max-iter", "0"]),
        2,
        "--max-iter must be at least 1",
    );
    fails(
        d,
        &["fit", "v.csv", "-k", "0"],
        2,
        "--rank must be at least 1",
    );
    fails(
        d,
        &["fit", "v.csv"],
        2,
        "the following required arguments were not provided: --rank <RANK>",
    );
    fails(
        d,
        &with(fit("v.csv"), &["--quiet", "--verbose"]),
        2,
        "the argument '--quiet' cannot be used with '--verbose'",
    );
    fails(
        d,
        &["frobnicate"],
        2,
        "unrecognized subcommand 'frobnicate'",
    );
}

#[test]
fn a_failure_keeps_earlier_outputs_whole_and_leaves_no_temporary_file() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    write_every_format(dir, &rank2());
    let o = nmf(dir, &["fit", "v.csv", "-k", "2", "--out", "o", "-q"]);
    assert!(o.status.success());
    let before: Vec<Vec<u8>> = ["W.npy", "H.npy", "model.json", "summary.json"]
        .iter()
        .map(|f| std::fs::read(dir.join("o").join(f)).unwrap())
        .collect();
    std::fs::write(dir.join("big.csv"), "1e300,1\n1,1\n").unwrap();
    let o = nmf(
        dir,
        &["fit", "big.csv", "-k", "1", "--dtype", "f32", "--out", "o"],
    );
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        stderr(&o).trim_end(),
        "error: big.csv: the entry 1e300 at row 0, column 0 (0-based) is beyond the range of f32; use --dtype f64 or rescale the data"
    );
    let after: Vec<Vec<u8>> = ["W.npy", "H.npy", "model.json", "summary.json"]
        .iter()
        .map(|f| std::fs::read(dir.join("o").join(f)).unwrap())
        .collect();
    assert_eq!(before, after);
    let names: Vec<_> = std::fs::read_dir(dir.join("o"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    // The four outputs and the manifest of the set; no staging directory beside it.
    assert_eq!(names.len(), 5, "{names:?}");
    assert!(dir.join("o/.nmf-output.json").exists());
    let staging: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".nmf-"))
        .collect();
    assert!(staging.is_empty(), "{staging:?}");
}

/// Writes `v.csv`, 60×50: with rank 5 each iteration is fast, and with `--max-iter
/// 1000000000 --tol 0` a run is endless without Ctrl-C.
fn write_endless_data(dir: &Path) {
    let mut text = String::new();
    for i in 0..60 {
        let row: Vec<String> = (0..50)
            .map(|j| ((i * 7 + j * 13) % 17).to_string())
            .collect();
        text.push_str(&row.join(","));
        text.push('\n');
    }
    std::fs::write(dir.join("v.csv"), text).unwrap();
}

/// Runs `nmf` with these arguments (writing into `--out o`), presses Ctrl-C once it reports
/// its first iterations, and checks that it exits with 130, says so on its last line and
/// leaves nothing in `o`.
fn ctrl_c_writes_nothing(dir: &Path, args: &[&str]) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_nmf"))
        .args(args)
        .args(["--out", "o"])
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut seen = Vec::new();
    // Wait until the run reports its first iterations, then press Ctrl-C.
    loop {
        let mut line = String::new();
        assert!(
            err.read_line(&mut line).unwrap() > 0,
            "{args:?}: stderr closed: {seen:?}"
        );
        let started = line.starts_with("iteration ") || line.starts_with("restart ");
        seen.push(line);
        if started {
            break;
        }
    }
    let kill = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut err, &mut rest).unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130), "{args:?}: {rest}");
    let last = rest.lines().last().unwrap_or("");
    assert!(
        last.starts_with("error: interrupted (Ctrl-C, SIGTERM or SIGHUP) after ")
            && last.ends_with(" iterations; nothing was written"),
        "{args:?}: {rest}"
    );
    let out = dir.join("o");
    let left: Vec<PathBuf> = if out.exists() {
        std::fs::read_dir(&out)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect()
    } else {
        Vec::new()
    };
    assert!(left.is_empty(), "{args:?}: files left behind: {left:?}");
}

const ENDLESS: [&str; 4] = ["--max-iter", "1000000000", "--tol", "0"];

#[test]
fn ctrl_c_stops_the_fit_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    write_endless_data(dir);
    let mut args = vec!["fit", "v.csv", "-k", "5", "--verbose"];
    args.extend_from_slice(&ENDLESS);
    ctrl_c_writes_nothing(dir, &args);
}

#[test]
fn ctrl_c_stops_parallel_restarts_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    write_endless_data(dir);
    // Every restart is endless: all of them must stop, on every thread.
    let mut args = vec![
        "fit",
        "v.csv",
        "-k",
        "5",
        "--n-init",
        "4",
        "--parallel-restarts",
        "2",
    ];
    args.extend_from_slice(&ENDLESS);
    ctrl_c_writes_nothing(dir, &args);
}

#[test]
fn ctrl_c_stops_the_transform_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    write_endless_data(dir);
    fit_summary(dir, "m", &["-k", "5", "--max-iter", "20"]);
    let mut args = vec!["transform", "v.csv", "--model", "m"];
    args.extend_from_slice(&ENDLESS);
    ctrl_c_writes_nothing(dir, &args);
}

fn png_size(path: &Path) -> (u32, u32) {
    let file = std::fs::File::open(path).unwrap();
    let mut reader = png::Decoder::new(std::io::BufReader::new(file))
        .read_info()
        .unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    (info.width, info.height)
}

#[test]
fn demo_writes_three_pictures_and_says_where() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let o = nmf(dir, &["demo", "--max-iter", "20"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    // Every file written is printed (but the set's hidden manifest, nmf's own bookkeeping).
    let d = dir.join("nmf-demo");
    let mut written: Vec<String> = std::fs::read_dir(&d)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name != nmf_cli::write::MANIFEST)
        .collect();
    written.sort();
    assert_eq!(
        written,
        [
            "H.npy",
            "W.npy",
            "basis.png",
            "loss.svg",
            "model.json",
            "reconstructions.png",
            "summary.json"
        ]
    );
    for f in &written {
        assert!(out.contains(&format!("nmf-demo/{f}")), "{f} not in {out}");
    }
    // 16 basis images of 8×8 at 12 pixels per pixel, 4 to a row, 6-pixel gaps, under a
    // title band of two lines (44 pixels), each with a 20-pixel label band.
    assert_eq!(
        png_size(&d.join("basis.png")),
        (6 + 4 * 102, 44 + 6 + 4 * 122)
    );
    // 20 pairs, 5 to a row: each pair 2·96 + 2 wide, 18-pixel gaps, the same bands.
    assert_eq!(
        png_size(&d.join("reconstructions.png")),
        (18 + 5 * 212, 44 + 18 + 4 * 134)
    );
    let svg = std::fs::read_to_string(d.join("loss.svg")).unwrap();
    let doc = roxmltree::Document::parse(&svg).unwrap();
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "svg");
    assert_eq!(
        (root.attribute("width"), root.attribute("height")),
        (Some("720"), Some("440"))
    );
    let poly = doc
        .descendants()
        .find(|n| n.has_tag_name("polyline"))
        .unwrap();
    assert_eq!(
        poly.attribute("points").unwrap().split(' ').count(),
        3,
        "losses at 0, 10, 20"
    );
    let s = read_json(&d.join("summary.json"));
    assert_eq!(s["command"], "demo");
    assert_eq!(s["shapes"]["V"], serde_json::json!([64, 1797]));
    assert_eq!(s["shapes"]["W"], serde_json::json!([64, 16]));
    assert_eq!(s["parameters"]["loss"], "kl");
    assert_eq!(s["iterations"], 20);
    assert_eq!(read_npy(&d.join("W.npy")).cols, 16);
}

#[test]
fn demo_takes_the_fit_options() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    for backend in BACKENDS {
        let out = format!("d-{backend}");
        let o = nmf(
            dir,
            &[
                "demo",
                "-k",
                "5",
                "--max-iter",
                "10",
                "--loss",
                "frobenius",
                "--dtype",
                "f32",
                "--backend",
                backend,
                "--out",
                &out,
                "-q",
            ],
        );
        assert!(o.status.success(), "{}", stderr(&o));
        assert_eq!(stdout(&o), "");
        let d = dir.join(&out);
        // 3 to a row, 2 rows; the picture widens to its title "5 basis images (columns of
        // W)" (29 characters of 12 pixels less 2, and 6-pixel margins).
        assert_eq!(
            png_size(&d.join("basis.png")),
            (29 * 12 - 2 + 12, 44 + 6 + 2 * 122)
        );
        let s = read_json(&d.join("summary.json"));
        assert_eq!(
            (s["scalar"].as_str(), s["backend"].as_str()),
            (Some("f32"), Some(*backend))
        );
        assert_eq!(s["parameters"]["loss"], "frobenius");
    }
}

#[test]
fn threads_eps_and_csv_options_reach_the_fit() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    write_every_format(dir, &rank2());
    let o = nmf(
        dir,
        &[
            "fit",
            "v.csv",
            "-k",
            "3",
            "--threads",
            "1",
            "--eps",
            "0.01",
            "--out",
            "t",
            "-q",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let s = read_json(&dir.join("t/summary.json"));
    assert_eq!(s["threads"], 1);
    assert_eq!(s["parameters"]["eps"], 0.01);
    assert_eq!(s["parameters"]["eps_given"], true);

    // --threads sizes the process's thread pool, sparse passes included: three threads on a
    // sparse input are three (not the machine's cores), as summary.json reports from the pool.
    let o = nmf(
        dir,
        &[
            "fit",
            "coord.mtx",
            "-k",
            "2",
            "--threads",
            "3",
            "--max-iter",
            "5",
            "--out",
            "t3",
            "-q",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let s = read_json(&dir.join("t3/summary.json"));
    assert_eq!(s["threads"], 3);
    assert_eq!(s["input"]["storage"], "sparse");
    let w = read_npy(&dir.join("t/W.npy"));
    let h = read_npy(&dir.join("t/H.npy"));
    assert!(
        w.data.iter().chain(&h.data).all(|&x| x >= 0.01),
        "ε bounds every entry"
    );
    let s = {
        let o = nmf(dir, &["fit", "v.csv", "-k", "3", "--out", "d", "-q"]);
        assert!(o.status.success());
        read_json(&dir.join("d/summary.json"))
    };
    assert_eq!(s["parameters"]["eps_given"], false);
    assert!(s["parameters"]["eps"].as_f64().unwrap() < 1e-12);

    // --threads with a one-thread backend is accepted with a warning (not with --quiet).
    let o = nmf(
        dir,
        &[
            "fit",
            "v.csv",
            "-k",
            "2",
            "--backend",
            "ndarray",
            "--threads",
            "2",
            "--max-iter",
            "10",
            "--tol",
            "0",
        ],
    );
    assert!(o.status.success());
    assert!(stderr(&o).starts_with(
        "warning: ndarray's dense products run on one thread; --threads applies to faer's \
         products and to the passes over sparse or masked V\n"
    ));
    assert_eq!(read_json(&dir.join("nmf-out/summary.json"))["threads"], 1);

    // The CSV options: a header read as data, a header given, a delimiter given.
    let o = nmf(dir, &["fit", "header.csv", "-k", "2", "--header", "no"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        stderr(&o),
        "error: header.csv:1:1: cannot read 'a' as a number\n"
    );
    std::fs::write(
        dir.join("numbers-header.csv"),
        format!("1,2,3,4,5\n{}", csv_text(&rank2(), ",")),
    )
    .unwrap();
    let o = nmf(
        dir,
        &[
            "fit",
            "numbers-header.csv",
            "-k",
            "2",
            "--header",
            "yes",
            "-q",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        read_json(&dir.join("nmf-out/summary.json"))["shapes"]["V"],
        serde_json::json!([6, 5])
    );
    // (With commas, the first line is one field that is not a number: a header.)
    let o = nmf(dir, &["fit", "v.tsv", "-k", "2", "--delimiter", "comma"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        stderr(&o),
        "error: v.tsv:2:1: cannot read '2\\t5\\t2\\t4\\t7' as a number\n"
    );
}

/// The summary of a quiet fit of `v.csv` with these extra options, written to `out`.
fn fit_summary(dir: &Path, out: &str, extra: &[&str]) -> serde_json::Value {
    let mut args = vec!["fit", "v.csv", "--out", out, "-q"];
    args.extend_from_slice(extra);
    let o = nmf(dir, &args);
    assert!(o.status.success(), "{extra:?}: {}", stderr(&o));
    read_json(&dir.join(out).join("summary.json"))
}

fn losses(s: &serde_json::Value) -> Vec<f64> {
    s["loss_history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["loss"].as_f64().unwrap())
        .collect()
}

/// `--solver`: auto is HALS for frobenius and MU for kl, recorded in summary.json as the
/// solver used; an explicit choice gives the same factors as auto's; hals with kl and cd with
/// frobenius are usage errors naming both options.
#[test]
fn solver_is_chosen_and_recorded() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    write_every_format(dir, &rank2());
    let base = ["-k", "2", "--max-iter", "30", "--tol", "0"];
    let run = |out: &str, extra: &[&str]| {
        let mut args = base.to_vec();
        args.extend_from_slice(extra);
        fit_summary(dir, out, &args)
    };
    for (out, extra, used) in [
        ("auto", &[][..], "hals"),
        ("hals", &["--solver", "hals"][..], "hals"),
        ("mu", &["--solver", "mu"][..], "mu"),
        ("auto-kl", &["--loss", "kl"][..], "mu"),
        ("mu-kl", &["--loss", "kl", "--solver", "mu"][..], "mu"),
        ("cd-kl", &["--loss", "kl", "--solver", "cd"][..], "cd"),
    ] {
        let s = run(out, extra);
        assert_eq!(s["parameters"]["solver"], used, "{extra:?}");
        // The library's absolute rounding bound 8·(k+2)·u·S (S ≤ 3·½‖V‖² + 2·L₀, k = 2):
        // HALS reaches the rounding floor of this exact rank-2 V quickly, where a relative
        // bound would be meaningless.
        let l = losses(&s);
        let half_v2: f64 = rank2().data.iter().map(|x| 0.5 * x * x).sum();
        let tol = 8.0 * 4.0 * (f64::EPSILON / 2.0) * (3.0 * half_v2 + 2.0 * l[0]);
        assert!(l.windows(2).all(|p| p[1] <= p[0] + tol), "{extra:?}: {l:?}");
    }
    // HALS is the faster rule: after 30 iterations from the same start it is far below MU.
    let last = |out: &str| {
        *losses(&read_json(&dir.join(out).join("summary.json")))
            .last()
            .unwrap()
    };
    assert!(
        last("hals") < 1e-3 * last("mu"),
        "{} vs {}",
        last("hals"),
        last("mu")
    );
    for (a, b) in [("auto", "hals"), ("auto-kl", "mu-kl")] {
        assert_eq!(
            read_npy(&dir.join(a).join("W.npy")),
            read_npy(&dir.join(b).join("W.npy"))
        );
    }
    assert_ne!(
        read_npy(&dir.join("hals/W.npy")),
        read_npy(&dir.join("mu/W.npy"))
    );
    fails(
        dir,
        &[
            "fit", "v.csv", "-k", "2", "--loss", "kl", "--solver", "hals",
        ],
        2,
        "--solver hals supports only --loss frobenius, not kl: use --solver mu or auto",
    );
    fails(
        dir,
        &["fit", "v.csv", "-k", "2", "--solver", "cd"],
        2,
        "--solver cd supports only --loss kl, not frobenius: use --solver mu or auto",
    );
    // cd on a coordinate .mtx runs on V kept sparse (each lane over its stored entries) and
    // gives the dense fit's W to rounding: the two differ only in the order of each lane's
    // two sums (the zero terms left out), so each entry within 1e-12 relative of its
    // column's largest, far above the u = 1.1e-16 of each sum and far below any difference
    // of substance. newton_tol is not settable here; its early stop did not flip on this
    // small exact case (a flip would move an entry by up to 1e-3 of itself, and fail this).
    let cd = |input: &str, out: &str| {
        let args = [
            "fit",
            input,
            "-k",
            "2",
            "--loss",
            "kl",
            "--solver",
            "cd",
            "--init",
            "random",
            "--seed",
            "3",
            "--max-iter",
            "30",
            "--tol",
            "0",
            "--out",
            out,
            "-q",
        ];
        let o = nmf(dir, &args);
        assert!(o.status.success(), "{input}: {}", stderr(&o));
        let s = read_json(&dir.join(out).join("summary.json"));
        assert_eq!(s["parameters"]["solver"], "cd", "{input}");
        (s, read_npy(&dir.join(out).join("W.npy")))
    };
    let (sd, wd) = cd("v.csv", "cd-dense");
    let (ss, ws) = cd("coord.mtx", "cd-sparse");
    assert_eq!(sd["input"]["storage"], "dense");
    assert_eq!(ss["input"]["storage"], "sparse");
    for (p, (&x, &y)) in ws.data.iter().zip(&wd.data).enumerate() {
        let col_max = (0..wd.rows)
            .map(|i| wd.data[i * wd.cols + p % wd.cols])
            .fold(0.0, f64::max);
        assert!(
            (x - y).abs() <= 1e-12 * col_max,
            "cd, entry {p}: sparse {x}, dense {y}"
        );
    }
}

#[test]
fn beta_selects_the_divergence() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    write_every_format(dir, &rank2());
    // Strictly positive data for the Itakura–Saito divergence.
    let mut pos = rank2();
    pos.data.iter_mut().for_each(|x| *x += 1.0);
    std::fs::write(dir.join("pos.csv"), csv_text(&pos, ",")).unwrap();

    // β = 2 and β = 1 are exactly --loss frobenius and --loss kl.
    let s = fit_summary(dir, "b2", &["-k", "2", "--beta", "2"]);
    assert_eq!(s["parameters"]["loss"], "frobenius");
    assert_eq!(s["parameters"]["beta"], 2.0);
    let s = fit_summary(dir, "fro", &["-k", "2"]);
    assert_eq!(s["parameters"]["beta"], 2.0, "the default is β = 2");
    assert_eq!(
        read_npy(&dir.join("b2/W.npy")),
        read_npy(&dir.join("fro/W.npy"))
    );
    let s = fit_summary(dir, "b1", &["-k", "2", "--beta", "1"]);
    assert_eq!(s["parameters"]["loss"], "kl");
    fit_summary(dir, "kl", &["-k", "2", "--loss", "kl"]);
    assert_eq!(
        read_npy(&dir.join("b1/W.npy")),
        read_npy(&dir.join("kl/W.npy"))
    );

    // Another β: its own divergence, recorded, with a non-increasing loss, and other factors.
    for beta in ["0.5", "1.5", "3"] {
        let out = format!("b{beta}");
        let s = fit_summary(dir, &out, &["-k", "2", "--beta", beta, "--tol", "0"]);
        assert_eq!(s["parameters"]["loss"], "beta");
        assert_eq!(s["parameters"]["beta"], beta.parse::<f64>().unwrap());
        // Non-increasing up to rounding (the loss falls to ~1e-7 of its start: exact data).
        let l = losses(&s);
        let slack = 1e-12 * l[0];
        assert!(
            l.windows(2).all(|p| p[1] <= p[0] * (1.0 + 1e-9) + slack),
            "{l:?}"
        );
        assert!(l.last().unwrap() < &(l[0] * 0.5), "β = {beta}: {l:?}");
        assert_ne!(
            read_npy(&dir.join(&out).join("W.npy")),
            read_npy(&dir.join("fro/W.npy"))
        );
    }

    // Itakura–Saito, by name (or `is`) or as β = 0, on data without zeros.
    for (out, opts) in [
        ("is1", ["--loss", "itakura-saito"]),
        ("is2", ["--loss", "is"]),
        ("is3", ["--beta", "0"]),
    ] {
        let mut args = vec!["fit", "pos.csv", "-k", "2", "--out", out, "-q"];
        args.extend_from_slice(&opts);
        let o = nmf(dir, &args);
        assert!(o.status.success(), "{opts:?}: {}", stderr(&o));
        let s = read_json(&dir.join(out).join("summary.json"));
        assert_eq!(s["parameters"]["loss"], "itakura-saito");
        assert_eq!(s["parameters"]["beta"], 0.0);
    }
    assert_eq!(
        read_npy(&dir.join("is1/W.npy")),
        read_npy(&dir.join("is3/W.npy"))
    );

    // The message names the loss.
    let o = nmf(
        dir,
        &["fit", "v.csv", "-k", "2", "--beta", "0.5", "--out", "m"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains(": beta(0.5) loss "), "{}", stdout(&o));
}

/// How many entries equal the smallest one (the lower bound ε, where L1 pushes entries).
fn at_minimum(m: &Matrix) -> usize {
    let min = m.data.iter().copied().fold(f64::INFINITY, f64::min);
    m.data.iter().filter(|&&x| x <= min * (1.0 + 1e-9)).count()
}

#[test]
fn regularisation_reaches_the_fit() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    write_every_format(dir, &rank2());
    let plain = fit_summary(dir, "plain", &["-k", "3"]);
    assert_eq!(plain["parameters"]["alpha_w"], 0.0);
    assert_eq!(plain["parameters"]["alpha_h"], 0.0);
    assert_eq!(plain["parameters"]["l1_ratio"], 0.0);
    assert_eq!(plain["loss_includes_penalty"], false);

    // L1 on both factors (--alpha-h defaults to --alpha-w): sparser W.
    let l1 = fit_summary(
        dir,
        "l1",
        &["-k", "3", "--alpha-w", "0.2", "--l1-ratio", "1"],
    );
    let p = &l1["parameters"];
    assert_eq!(
        (
            p["alpha_w"].as_f64(),
            p["alpha_h"].as_f64(),
            p["l1_ratio"].as_f64()
        ),
        (Some(0.2), Some(0.2), Some(1.0))
    );
    // scikit-learn's scaling: l1_w = n·α_W·ρ, l1_h = m·α_H·ρ for V of 6×5.
    assert_eq!(p["penalty"]["l1_w"], 5.0 * 0.2);
    assert_eq!(p["penalty"]["l1_h"], 6.0 * 0.2);
    assert_eq!(p["penalty"]["l2_w"], 0.0);
    assert_eq!(l1["loss_includes_penalty"], true);
    let sparse = at_minimum(&read_npy(&dir.join("l1/W.npy")));
    let dense = at_minimum(&read_npy(&dir.join("plain/W.npy")));
    assert!(
        sparse >= dense + 3,
        "L1 sets more entries of W to the bound: {sparse} against {dense}"
    );

    // L2 and a separate --alpha-h; KL with L1.
    let s = fit_summary(
        dir,
        "l2",
        &[
            "-k",
            "3",
            "--alpha-w",
            "0.1",
            "--alpha-h",
            "0.05",
            "--tol",
            "0",
        ],
    );
    let p = &s["parameters"];
    assert_eq!(
        (p["alpha_h"].as_f64(), p["l1_ratio"].as_f64()),
        (Some(0.05), Some(0.0))
    );
    assert_eq!(p["penalty"]["l2_w"], 5.0 * 0.1);
    let l = losses(&s);
    assert!(l.windows(2).all(|p| p[1] <= p[0] * (1.0 + 1e-9)), "{l:?}");
    assert_ne!(
        read_npy(&dir.join("l2/W.npy")),
        read_npy(&dir.join("plain/W.npy"))
    );
    let s = fit_summary(
        dir,
        "kl1",
        &[
            "-k",
            "3",
            "--loss",
            "kl",
            "--alpha-w",
            "0.1",
            "--l1-ratio",
            "1",
        ],
    );
    assert_eq!(s["parameters"]["loss"], "kl");
    assert_eq!(s["parameters"]["alpha_w"], 0.1);

    // L2 with KL and with another β: the penalised objective never rises (the history is
    // compared with a relative 1e-9, far above the f64 rounding of a 6×5 objective).
    for (name, loss) in [("kl2", ["--loss", "kl"]), ("beta2", ["--beta", "0.5"])] {
        let mut args = vec![
            "-k",
            "3",
            "--alpha-w",
            "0.1",
            "--l1-ratio",
            "0.5",
            "--tol",
            "0",
        ];
        args.extend_from_slice(&loss);
        let s = fit_summary(dir, name, &args);
        assert_eq!(s["parameters"]["penalty"]["l2_w"], 5.0 * 0.1 * 0.5);
        assert_eq!(s["loss_includes_penalty"], true);
        let l = losses(&s);
        assert!(
            l.windows(2).all(|p| p[1] <= p[0] * (1.0 + 1e-9)),
            "{name}: {l:?}"
        );
    }
}

#[test]
fn n_init_keeps_the_best_of_its_restarts() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    write_every_format(dir, &rank2());
    let common = ["-k", "3", "--max-iter", "30", "--tol", "0"];
    let single: Vec<f64> = (0..4)
        .map(|seed| {
            let seed = seed.to_string();
            let mut args = common.to_vec();
            args.extend_from_slice(&["--seed", &seed]);
            let s = fit_summary(dir, &format!("s{seed}"), &args);
            assert_eq!(s["parameters"]["n_init"], 1);
            s["final_loss"].as_f64().unwrap()
        })
        .collect();
    let mut args = common.to_vec();
    args.extend_from_slice(&["--n-init", "4"]);
    let s = fit_summary(dir, "best", &args);
    assert_eq!(s["parameters"]["n_init"], 4);
    let best = single.iter().copied().fold(f64::INFINITY, f64::min);
    assert_eq!(s["final_loss"].as_f64(), Some(best), "{single:?}");
    let which = single.iter().position(|&l| l == best).unwrap();
    assert_eq!(
        read_npy(&dir.join("best/W.npy")),
        read_npy(&dir.join(format!("s{which}/W.npy"))),
        "the kept fit is the restart with seed --seed + {which}"
    );

    // Progress lines name the restart.
    let o = nmf(
        dir,
        &[
            "fit",
            "v.csv",
            "-k",
            "2",
            "--n-init",
            "2",
            "--max-iter",
            "20",
            "--tol",
            "0",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("restart 1/2: iteration 20/20"), "{err}");
    assert!(err.contains("restart 2/2: iteration 20/20"), "{err}");
    assert!(
        stdout(&o).contains("(best of 2 restarts)"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn parallel_restarts_give_the_sequential_result() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    write_every_format(dir, &rank2());
    let bytes = |out: &str, f: &str| std::fs::read(dir.join(out).join(f)).unwrap();
    for (backend, dtype) in [("faer", "f64"), ("nalgebra", "f32"), ("ndarray", "f64")] {
        let common = [
            "-k",
            "3",
            "--max-iter",
            "30",
            "--tol",
            "0",
            "--n-init",
            "4",
            "--backend",
            backend,
            "--dtype",
            dtype,
        ];
        let seq = format!("seq-{backend}");
        let s = fit_summary(dir, &seq, &common);
        assert_eq!(s["parameters"]["parallel_restarts"], 0);
        // Two threads for four restarts, and more threads than restarts.
        for threads in ["2", "8"] {
            let par = format!("par{threads}-{backend}");
            let mut args = common.to_vec();
            args.extend_from_slice(&["--parallel-restarts", threads]);
            let p = fit_summary(dir, &par, &args);
            assert_eq!(
                p["parameters"]["parallel_restarts"],
                threads.parse::<u64>().unwrap()
            );
            for f in ["W.npy", "H.npy", "model.json"] {
                assert!(
                    bytes(&seq, f) == bytes(&par, f),
                    "{backend} {dtype}, {threads} threads: {f} differs"
                );
            }
            assert_eq!(p["final_loss"], s["final_loss"], "{backend}");
            assert!(p["final_loss"].as_f64().is_some());
            assert_eq!(p["loss_history"], s["loss_history"], "{backend}");
            assert_eq!(p["iterations"], s["iterations"], "{backend}");
        }
    }

    // Progress: every restart reports, naming itself; the summary line says how it ran.
    let o = nmf(
        dir,
        &[
            "fit",
            "v.csv",
            "-k",
            "2",
            "--n-init",
            "4",
            "--parallel-restarts",
            "2",
            "--max-iter",
            "20",
            "--tol",
            "0",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let err = stderr(&o);
    for r in 1..=4 {
        assert!(
            err.contains(&format!("restart {r}/4: iteration 20/20  loss ")),
            "{err}"
        );
    }
    // (On a machine of one core, the restarts run one at a time, with a warning.)
    assert!(
        err.lines()
            .filter(|l| !l.starts_with("warning: --parallel-restarts 2: running 1 restart "))
            .all(|l| l.starts_with("restart ") && l.ends_with(" left")),
        "{err}"
    );
    // At most one restart thread per core.
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(2));
    let on = if threads == 1 {
        "on 1 thread".to_string()
    } else {
        format!("on {threads} threads")
    };
    assert!(
        stdout(&o).contains(&format!("(best of 4 restarts, {on})")),
        "{}",
        stdout(&o)
    );
    // Quiet prints nothing from any thread.
    let o = nmf(
        dir,
        &[
            "fit",
            "v.csv",
            "-k",
            "2",
            "--n-init",
            "3",
            "--parallel-restarts",
            "3",
            "--out",
            "q",
            "-q",
        ],
    );
    assert!(o.status.success());
    assert_eq!((stdout(&o), stderr(&o)), (String::new(), String::new()));
    // No more threads than cores (nor restarts): 5000 threads asked for, a warning, and the
    // run goes on.
    let o = nmf(
        dir,
        &[
            "fit",
            "v.csv",
            "-k",
            "2",
            "--n-init",
            "5000",
            "--parallel-restarts",
            "5000",
            "--max-iter",
            "2",
            "--out",
            "many",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let threads = cores.min(5000);
    assert_eq!(
        stderr(&o).lines().next().unwrap(),
        format!(
            "warning: --parallel-restarts 5000: running {threads} restart{} at a time, one per core",
            if threads == 1 { "" } else { "s" }
        )
    );
    assert!(
        stdout(&o).contains(&format!(
            "(best of 5000 restarts, on {threads} thread{})",
            if threads == 1 { "" } else { "s" }
        )),
        "{}",
        stdout(&o)
    );
    // Without restarts there is nothing to parallelise: a warning, and the same fit.
    let o = nmf(
        dir,
        &[
            "fit",
            "v.csv",
            "-k",
            "2",
            "--parallel-restarts",
            "2",
            "--out",
            "one",
        ],
    );
    assert!(o.status.success());
    assert_eq!(
        stderr(&o).lines().next(),
        Some(
            "warning: --parallel-restarts runs the --n-init restarts in parallel; with --n-init 1 \
             it has no effect"
        )
    );
}

#[test]
fn bad_beta_regularisation_and_restarts_are_one_line_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    write_every_format(d, &rank2());
    std::fs::write(d.join("w0.csv"), "1,1\n1,1\n1,1\n1,1\n1,1\n1,1\n").unwrap();
    std::fs::write(d.join("h0.csv"), "1,1,1,1,1\n1,1,1,1,1\n").unwrap();
    let fit = |extra: &[&'static str]| {
        let mut a = vec!["fit", "v.csv", "-k", "2"];
        a.extend_from_slice(extra);
        a
    };
    // Zeros in V with β ≤ 0: a data error (1) naming the file and the first zero.
    let zero = |beta: &str| {
        format!(
            "v.csv: V has a zero at row 0, column 2 (0-based), but the β-divergence with β = {beta} \
             is infinite at zero entries: use β > 0, or add a small offset to V"
        )
    };
    fails(d, &fit(&["--beta", "0"]), 1, &zero("0"));
    fails(d, &fit(&["--loss", "is"]), 1, &zero("0"));
    fails(d, &fit(&["--beta", "-0.5"]), 1, &zero("-0.5"));
    fails(
        d,
        &["fit", "coord.mtx", "-k", "2", "--beta", "-0.5"],
        1,
        &zero("-0.5").replace("v.csv", "coord.mtx"),
    );
    fails(
        d,
        &["demo", "--beta", "0"],
        1,
        "the bundled digits: V has a zero at row 0, column 0 (0-based), but the β-divergence \
         with β = 0 is infinite at zero entries: use β > 0, or add a small offset to V",
    );
    // Parameters: a bad command line (2), before any file is read.
    fails(
        d,
        &fit(&["--beta", "1", "--loss", "kl"]),
        2,
        "the argument '--beta <X>' cannot be used with '--loss <LOSS>'",
    );
    fails(
        d,
        &fit(&["--beta", "inf"]),
        2,
        "--beta must be a finite number, got inf",
    );
    fails(
        d,
        &fit(&["--alpha-w", "-1"]),
        2,
        "--alpha-w must be finite and ≥ 0, got -1",
    );
    fails(
        d,
        &fit(&["--alpha-w", "1", "--alpha-h", "nan"]),
        2,
        "--alpha-h must be finite and ≥ 0, got NaN",
    );
    fails(
        d,
        &fit(&["--l1-ratio", "1.5"]),
        2,
        "--l1-ratio must be in [0, 1], got 1.5",
    );
    fails(
        d,
        &fit(&["--n-init", "0"]),
        2,
        "--n-init must be at least 1",
    );
    fails(
        d,
        &fit(&[
            "--n-init", "3", "--init", "custom", "--w0", "w0.csv", "--h0", "h0.csv",
        ]),
        2,
        "--n-init restarts from random starts: --init custom starts the same way every time; \
         use --init random or nndsvdar",
    ); // --parallel-restarts takes a count of threads (0: sequential).
    for (bad, why) in [
        ("-1", "invalid digit found in string"),
        ("two", "invalid digit found in string"),
        ("1.5", "invalid digit found in string"),
        ("", "cannot parse integer from empty string"),
        (
            "99999999999999999999999",
            "number too large to fit in target type",
        ),
    ] {
        fails(
            d,
            &fit(&["--n-init", "2", "--parallel-restarts", bad]),
            2,
            &format!("invalid value '{bad}' for '--parallel-restarts <N>': {why}"),
        );
    }
    fails(
        d,
        &fit(&["--parallel-restarts"]),
        2,
        "a value is required for '--parallel-restarts <N>' but none was supplied",
    );
}

#[test]
fn fit_saves_the_model_and_transform_recovers_h() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    write_every_format(dir, &rank2());
    let long = ["--max-iter", "3000", "--tol", "0"];
    let mut args = vec!["-k", "2", "--model-format", "both"];
    args.extend_from_slice(&long);
    let s = fit_summary(dir, "m", &args);
    assert_eq!(
        s["outputs"],
        serde_json::json!(["W.npy", "H.npy", "model.json", "model.npz", "summary.json"])
    );
    let model = read_json(&dir.join("m/model.json"));
    assert_eq!(model["format"], "nmf-rs model");
    assert_eq!(
        (model["rows"].as_u64(), model["rank"].as_u64()),
        (Some(6), Some(2))
    );
    assert_eq!(model["beta"], 2.0);
    let fitted_w = read_npy(&dir.join("m/W.npy"));
    let fitted_h = read_npy(&dir.join("m/H.npy"));
    let saved_w: Vec<f64> = model["w"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect();
    assert_eq!(saved_w, fitted_w.data, "model.json holds W exactly");
    // (The same data, seed and options: "n" below is the same fit as "m".)
    for (format, out) in [("npz", "n"), ("none", "z")] {
        let mut args = vec!["-k", "2", "--model-format", format];
        args.extend_from_slice(&long);
        let s = fit_summary(dir, out, &args);
        let has = |f: &str| dir.join(out).join(f).exists();
        assert_eq!(
            (has("model.json"), has("model.npz")),
            (false, format == "npz")
        );
        assert_eq!(
            s["outputs"].as_array().unwrap().len(),
            3 + usize::from(format == "npz")
        );
    }

    // Transforming the training data with W fixed finds the fitted H again. Not exactly: the
    // transform starts H afresh (every entry √(mean/k)) and both runs stop after a finite
    // number of multiplicative steps, which approach the entries that should be 0 (here ≈ ε)
    // slowly; with W of full column rank the Frobenius problem in H has one minimiser, so
    // both land close to it: 1% relative (Frobenius norm) is loose for 3000 steps.
    for (model, backend, out) in [
        ("m", "faer", "t1"),
        ("m/model.json", "nalgebra", "t2"),
        ("m/model.npz", "ndarray", "t3"),
        ("n", "faer", "t4"),
    ] {
        let mut args = vec![
            "transform",
            "v.csv",
            "--model",
            model,
            "--backend",
            backend,
            "--out",
            out,
            "--csv",
            "-q",
        ];
        args.extend_from_slice(&long);
        let o = nmf(dir, &args);
        assert!(o.status.success(), "{model}: {}", stderr(&o));
        assert_eq!(stdout(&o), "");
        let h = read_npy(&dir.join(out).join("H.npy"));
        assert_eq!((h.rows, h.cols), (2, 5));
        let err = rel_err(&h, &fitted_h);
        assert!(
            err < 1e-2,
            "{model} with {backend}: H differs by {err} (relative)"
        );
        let err = rel_err(&product(&fitted_w, &h), &rank2());
        assert!(err < 1e-2, "W·H reconstructs V: {err}");
        let text = std::fs::read(dir.join(out).join("H.csv")).unwrap();
        let from_csv = parse_bytes(&text, "H", Format::Csv, ReadOptions::default()).unwrap();
        assert_eq!(from_csv, h);
        let s = read_json(&dir.join(out).join("summary.json"));
        assert_eq!(s["command"], "transform");
        assert_eq!(s["backend"], backend);
        assert_eq!(s["shapes"]["X"], serde_json::json!([6, 5]));
        assert_eq!(s["shapes"]["H"], serde_json::json!([2, 5]));
        assert_eq!(s["model"]["loss"], "frobenius");
        assert_eq!(s["parameters"]["max_iter"], 3000);
        assert!(s["final_loss"].as_f64().unwrap() < 1e-3);
        assert_eq!(
            s["outputs"],
            serde_json::json!(["H.npy", "H.csv", "summary.json"])
        );
    }

    // New samples: three columns, one of them twice an old one; f32 from an f64 model.
    let v = rank2();
    let cols = [0, 3, 4];
    let mut x = Vec::new();
    for i in 0..v.rows {
        for (c, &j) in cols.iter().enumerate() {
            x.push(v.get(i, j) * if c == 2 { 2.0 } else { 1.0 });
        }
    }
    let x = Matrix::new(v.rows, 3, x);
    std::fs::write(dir.join("x.npy"), npy::to_npy_bytes(6, 3, &x.data)).unwrap();
    let o = nmf(
        dir,
        &[
            "transform",
            "x.npy",
            "-m",
            "m",
            "--dtype",
            "f32",
            "--max-iter",
            "3000",
            "--tol",
            "0",
            "--out",
            "new",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).starts_with("transformed 3 samples with the rank-2 model in m/model.json"),
        "{}",
        stdout(&o)
    );
    let h = read_npy(&dir.join("new/H.npy"));
    assert_eq!(read_json(&dir.join("new/summary.json"))["scalar"], "f32");
    let err = rel_err(&product(&fitted_w, &h), &x);
    assert!(err < 1e-2, "new samples are reconstructed: {err}");

    // A KL model transforms with the KL updates.
    fit_summary(dir, "kl", &["-k", "2", "--loss", "kl"]);
    let o = nmf(
        dir,
        &["transform", "v.csv", "-m", "kl", "--out", "tkl", "-q"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        read_json(&dir.join("tkl/summary.json"))["model"]["loss"],
        "kl"
    );
}

/// Like [`fails`], for `nmf transform` (whose default output directory is nmf-transform).
fn transform_fails(dir: &Path, args: &[&str], code: i32, message: &str) {
    let o = nmf(dir, args);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(code), "{args:?}: {err}");
    assert_eq!(err.trim_end(), format!("error: {message}"), "{args:?}");
    assert_eq!(err.lines().count(), 1, "{args:?}: one line, got {err:?}");
    assert!(
        !dir.join("nmf-transform").exists(),
        "{args:?} wrote outputs"
    );
}

#[test]
fn transform_errors_are_one_line() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    write_every_format(d, &rank2());
    fit_summary(d, "m", &["-k", "2", "--model-format", "both"]);
    fit_summary(d, "none", &["-k", "2", "--model-format", "none"]);
    std::fs::write(d.join("x3.csv"), "1,2\n3,4\n5,6\n").unwrap();
    std::fs::write(d.join("pos.csv"), "1,2\n3,4\n5,6\n1,2\n3,4\n5,6\n").unwrap();
    std::fs::write(d.join("bad.json"), "{ \"format\": \"nmf-rs model\", ").unwrap();
    let mut text = std::fs::read_to_string(d.join("m/model.json")).unwrap();
    text = text.replacen("\"rank\": 2", "\"rank\": 3", 1);
    std::fs::write(d.join("shape.json"), text).unwrap();
    let npz = std::fs::read(d.join("m/model.npz")).unwrap();
    std::fs::write(d.join("cut.npz"), &npz[..npz.len() / 2]).unwrap();
    std::fs::write(d.join("binary.json"), [0xff, 0xfe, 0x00]).unwrap();

    // Data that does not fit the model.
    transform_fails(
        d,
        &["transform", "x3.csv", "-m", "m"],
        1,
        "x3.csv: X is 3×2, but the model in m/model.json has W of 6×2: X needs 6 rows, as the \
         training data had (its columns are the samples; transpose it if they are its rows)",
    );
    transform_fails(
        d,
        &["transform", "missing.csv", "-m", "m"],
        1,
        "cannot read 'missing.csv': No such file or directory (os error 2)",
    );
    // Missing or corrupt models.
    transform_fails(
        d,
        &["transform", "v.csv", "-m", "nowhere"],
        1,
        "cannot read the model 'nowhere': No such file or directory (os error 2)",
    );
    transform_fails(
        d,
        &["transform", "v.csv", "-m", "none"],
        1,
        "none: no model.json or model.npz in this directory; `nmf fit … --out none` writes one",
    );
    transform_fails(
        d,
        &["transform", "v.csv", "-m", "bad.json"],
        1,
        "bad.json: invalid saved model: bad JSON: EOF while parsing a value at line 1 column 28",
    );
    transform_fails(
        d,
        &["transform", "v.csv", "-m", "shape.json"],
        1,
        "shape.json: invalid saved model: W has 12 values, its shape needs 18",
    );
    transform_fails(
        d,
        &["transform", "v.csv", "-m", "binary.json"],
        1,
        "binary.json: not a saved model (neither JSON text nor a .npz zip)",
    );
    let o = nmf(d, &["transform", "v.csv", "-m", "cut.npz"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).starts_with("error: cut.npz: invalid saved model: not a zip/.npz file"),
        "{}",
        stderr(&o)
    );
    transform_fails(
        d,
        &["transform", "v.csv", "-m", "v.csv"],
        1,
        "v.csv: invalid saved model: bad JSON: invalid type: integer `1`, expected struct \
         SavedModel at line 1 column 1",
    );
    // Bad options.
    transform_fails(
        d,
        &["transform", "v.csv"],
        2,
        "the following required arguments were not provided: --model <DIR_OR_FILE>",
    );
    transform_fails(
        d,
        &["transform", "v.csv", "-m", "m", "--max-iter", "0"],
        2,
        "--max-iter must be at least 1",
    );
    transform_fails(
        d,
        &["transform", "v.csv", "-m", "m", "--tol", "-1"],
        2,
        "--tol must be finite and ≥ 0, got -1",
    );
    // An Itakura–Saito model and data with a zero.
    let o = nmf(
        d,
        &[
            "fit", "pos.csv", "-k", "1", "--loss", "is", "--out", "is", "-q",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    transform_fails(
        d,
        &["transform", "v.csv", "-m", "is"],
        1,
        "v.csv: V has a zero at row 0, column 2 (0-based), but the β-divergence with β = 0 is \
         infinite at zero entries: use β > 0, or add a small offset to V",
    );
}

#[test]
fn every_initialisation_reaches_the_fit() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    write_every_format(dir, &rank2());
    let w = |out: &str| read_npy(&dir.join(out).join("W.npy"));
    let inits = ["random", "auto", "nndsvd", "nndsvda", "nndsvdar"];
    for init in inits {
        for seed in ["0", "1"] {
            let out = format!("{init}-{seed}");
            let s = fit_summary(
                dir,
                &out,
                &[
                    "-k",
                    "2",
                    "--init",
                    init,
                    "--seed",
                    seed,
                    "--max-iter",
                    "5",
                    "--tol",
                    "0",
                ],
            );
            assert_eq!(s["parameters"]["init"], init);
            let used = if init == "auto" { "nndsvda" } else { init };
            assert_eq!(s["parameters"]["init_used"], used, "rank 2 ≤ min(6, 5)");
        }
    }
    // The default is random.
    fit_summary(
        dir,
        "default",
        &["-k", "2", "--max-iter", "5", "--tol", "0"],
    );
    assert_eq!(w("default"), w("random-0"));
    // NNDSVD and NNDSVDa are deterministic; random and NNDSVDar follow the seed.
    for init in ["auto", "nndsvd", "nndsvda"] {
        assert_eq!(w(&format!("{init}-0")), w(&format!("{init}-1")), "{init}");
    }
    for init in ["random", "nndsvdar"] {
        assert_ne!(w(&format!("{init}-0")), w(&format!("{init}-1")), "{init}");
    }
    // Each starts elsewhere (after 5 iterations the factors still show it).
    assert_eq!(w("auto-0"), w("nndsvda-0"));
    for (i, a) in inits.iter().enumerate().filter(|(_, a)| **a != "auto") {
        for b in inits[i + 1..].iter().filter(|b| **b != "auto") {
            assert_ne!(w(&format!("{a}-0")), w(&format!("{b}-0")), "{a} and {b}");
        }
    }
    // With the default 200 iterations, NNDSVDa's start ends closer to this exact rank-2 data
    // than seed 0's random start (1.4e-3 against 6.8e-3: deterministic, both being seeded).
    let loss = |init: &str| {
        let s = fit_summary(dir, &format!("long-{init}"), &["-k", "2", "--init", init]);
        s["final_loss"].as_f64().unwrap()
    };
    let (random, nndsvda) = (loss("random"), loss("nndsvda"));
    assert!(nndsvda < random, "{nndsvda} against {random}");

    // Above min(m, n), auto falls back to random; the NNDSVD family refuses.
    let s = fit_summary(
        dir,
        "auto6",
        &["-k", "6", "--init", "auto", "--max-iter", "5"],
    );
    assert_eq!(s["parameters"]["init_used"], "random");
    fit_summary(dir, "random6", &["-k", "6", "--max-iter", "5"]);
    assert_eq!(w("auto6"), w("random6"));
    for init in ["nndsvd", "nndsvda", "nndsvdar"] {
        fails(
            dir,
            &["fit", "v.csv", "-k", "6", "--init", init],
            2,
            &format!(
                "--init {init} needs --rank (6) at most min(m, n) = 5 for the 6×5 V in v.csv; \
                 use --init random or a lower --rank"
            ),
        );
    }
    // Restarts need random starts.
    let s = fit_summary(
        dir,
        "ar3",
        &["-k", "2", "--init", "nndsvdar", "--n-init", "3"],
    );
    assert_eq!(s["parameters"]["n_init"], 3);
    for init in ["auto", "nndsvd", "nndsvda"] {
        fails(
            dir,
            &["fit", "v.csv", "-k", "2", "--init", init, "--n-init", "2"],
            2,
            &format!(
                "--n-init restarts from random starts: --init {init} starts the same way every \
                 time; use --init random or nndsvdar"
            ),
        );
    }
    fails(
        dir,
        &[
            "fit", "v.csv", "-k", "2", "--init", "nndsvd", "--w0", "v.csv",
        ],
        2,
        "--w0 and --h0 are used only with --init custom",
    );
}

/// A Matrix Market coordinate file (the bundled Brown corpus, 500 × 15,820 with 255,342
/// counts) is fitted sparse, and summary.json says so; `--dense` fits the same matrix dense to
/// the same loss (the two differ only in the order of the products' additions: 1e-9 relative
/// after 10 iterations is far above that rounding and far below any real difference); a
/// β-divergence on sparse input is a usage error that names --dense.
#[test]
fn sparse_input_is_fitted_sparse() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let data = concat!(env!("CARGO_MANIFEST_DIR"), "/data/brown_docterm.mtx.gz");
    std::fs::copy(data, dir.join("brown.mtx.gz")).unwrap();
    let mut losses = Vec::new();
    for (out, extra) in [("sparse", None), ("dense", Some("--dense"))] {
        let mut args = vec![
            "fit",
            "brown.mtx.gz",
            "-k",
            "4",
            "--loss",
            "kl",
            "--max-iter",
            "10",
            "--tol",
            "0",
            "--init",
            "random",
            "--out",
            out,
            "--quiet",
        ];
        args.extend(extra);
        let o = nmf(dir, &args);
        assert!(o.status.success(), "{out}: {}", stderr(&o));
        let summary: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(dir.join(out).join("summary.json")).unwrap(),
        )
        .unwrap();
        assert_eq!(summary["input"]["storage"], out);
        let nnz = if out == "sparse" {
            255_342
        } else {
            500 * 15_820
        };
        assert_eq!(summary["input"]["nnz"], nnz);
        assert_eq!(summary["shapes"]["V"], serde_json::json!([500, 15_820]));
        losses.push(summary["final_loss"].as_f64().unwrap());
    }
    assert!(
        (losses[0] - losses[1]).abs() <= 1e-9 * losses[1],
        "sparse {} vs dense {}",
        losses[0],
        losses[1]
    );
    let o = nmf(
        dir,
        &[
            "fit",
            "brown.mtx.gz",
            "-k",
            "2",
            "--beta",
            "1.5",
            "--max-iter",
            "3",
            "--out",
            "b15",
            "--quiet",
        ],
    );
    // The general β on sparse V (WH formed in blocks of rows: O(m·n·k) per half-step).
    assert!(o.status.success(), "{}", stderr(&o));
}

/// `--vocab` and `--doc-labels` on the bundled Brown corpus: topics.json holds k topics of
/// `--top-terms` terms from the vocabulary (weights in (0, 1], largest first) and each
/// document's dominant topic with its label; the topics are printed; a vocabulary of the
/// wrong length is a one-line error naming the file, with nothing written.
#[test]
fn vocab_gives_topics() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    for f in ["mtx", "cols.txt", "rows.txt"] {
        let name = format!("brown_docterm.{f}.gz");
        let from = format!("{}/data/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::copy(from, dir.join(&name)).unwrap();
    }
    let o = nmf(
        dir,
        &[
            "fit",
            "brown_docterm.mtx.gz",
            "-k",
            "6",
            "--loss",
            "kl",
            "--max-iter",
            "30",
            "--vocab",
            "brown_docterm.cols.txt.gz",
            "--doc-labels",
            "brown_docterm.rows.txt.gz",
            "--top-terms",
            "7",
            "--out",
            "t",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert_eq!(
        out.lines().filter(|l| l.starts_with("topic ")).count(),
        6,
        "{out}"
    );
    let j: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("t/topics.json")).unwrap()).unwrap();
    let topics = j["topics"].as_array().unwrap();
    assert_eq!(topics.len(), 6);
    for t in topics {
        let terms = t["terms"].as_array().unwrap();
        assert_eq!(terms.len(), 7);
        let w: Vec<f64> = terms
            .iter()
            .map(|x| x["weight"].as_f64().unwrap())
            .collect();
        assert!(
            w.windows(2).all(|p| p[0] >= p[1]) && w[0] <= 1.0 && w[6] > 0.0,
            "{w:?}"
        );
        assert!(
            terms
                .iter()
                .all(|x| x["term"].as_str().unwrap().chars().all(char::is_alphabetic))
        );
    }
    let docs = j["documents"].as_array().unwrap();
    assert_eq!(docs.len(), 500);
    assert_eq!(docs[0]["document"], "ca01\tnews");
    assert!(docs.iter().all(|d| d["topic"].as_u64().unwrap() < 6));
    // A vocabulary one line short.
    std::fs::write(dir.join("short.txt"), "a\nb\n").unwrap();
    let o = nmf(
        dir,
        &[
            "fit",
            "brown_docterm.mtx.gz",
            "-k",
            "2",
            "--vocab",
            "short.txt",
            "--out",
            "s",
        ],
    );
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        stderr(&o).trim_end(),
        "error: short.txt: 2 lines, but the matrix has 15820 columns: one line per column"
    );
    assert!(!dir.join("s").exists());
}
