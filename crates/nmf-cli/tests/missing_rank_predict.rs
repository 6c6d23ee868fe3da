//! `nmf fit --missing unobserved --holdout`, `nmf predict` and `nmf rank` end to end.

mod common;

use std::fmt::Write as _;
use std::path::Path;

use common::{nmf, stderr, stdout};

/// A 30×20 matrix of rank 2, entries in [1, 13]: `(1 + i % 3)·(1 + j % 4) + (i % 2)·(1 + j % 3)`.
fn value(i: usize, j: usize) -> f64 {
    ((1 + i % 3) * (1 + j % 4) + (i % 2) * (1 + j % 3)) as f64
}

/// The rank-2 matrix as a Matrix Market coordinate file with about 60% of its entries stored
/// (the others unobserved), and the matrix dense as CSV.
fn write_inputs(dir: &Path) -> usize {
    let (m, n) = (30, 20);
    let mut entries = Vec::new();
    for i in 0..m {
        for j in 0..n {
            if (i * 7 + j * 3) % 5 < 3 {
                entries.push((i, j, value(i, j)));
            }
        }
    }
    let mut mtx = format!(
        "%%MatrixMarket matrix coordinate real general\n{m} {n} {}\n",
        entries.len()
    );
    for (i, j, v) in &entries {
        let _ = writeln!(mtx, "{} {} {v}", i + 1, j + 1);
    }
    std::fs::write(dir.join("ratings.mtx"), mtx).unwrap();
    let mut csv = String::new();
    for i in 0..m {
        let row: Vec<String> = (0..n).map(|j| value(i, j).to_string()).collect();
        csv.push_str(&row.join(","));
        csv.push('\n');
    }
    std::fs::write(dir.join("v.csv"), csv).unwrap();
    entries.len()
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn fit_with_unobserved_entries_reports_the_held_out_error() {
    let dir = tempfile::tempdir().unwrap();
    let nnz = write_inputs(dir.path());
    let o = nmf(
        dir.path(),
        &[
            "fit",
            "ratings.mtx",
            "-k",
            "2",
            "--missing",
            "unobserved",
            "--holdout",
            "0.1",
            "--seed",
            "3",
            "--max-iter",
            "500",
            "--tol",
            "0",
            "-o",
            "out",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("held out"), "{}", stdout(&o));
    let s = json(&dir.path().join("out/summary.json"));
    let h = &s["holdout"];
    let held = (0.1 * nnz as f64).round() as u64;
    assert_eq!(h["count"].as_u64(), Some(held));
    assert_eq!(h["seed"].as_u64(), Some(3));
    assert_eq!(s["input"]["storage"], "observed");
    assert_eq!(s["input"]["nnz"].as_u64(), Some(nnz as u64 - held));
    // An exactly rank-2 matrix with 60% of its entries seen: the held-out entries (mean about
    // 6) are predicted far better than by 0 (RMSE about 7); 0.5 leaves room for an
    // incompletely converged fit, not for a wrong one.
    let rmse = h["rmse"].as_f64().unwrap();
    assert!(rmse < 0.5, "held-out RMSE {rmse}");
}

#[test]
fn missing_and_holdout_errors_name_the_option() {
    let dir = tempfile::tempdir().unwrap();
    write_inputs(dir.path());
    let o = nmf(
        dir.path(),
        &["fit", "v.csv", "-k", "2", "--missing", "unobserved"],
    );
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("--missing unobserved"),
        "{}",
        stderr(&o)
    );
    let o = nmf(
        dir.path(),
        &["fit", "ratings.mtx", "-k", "2", "--holdout", "1.5"],
    );
    assert!(!o.status.success());
    assert!(stderr(&o).contains("--holdout 1.5"), "{}", stderr(&o));
}

#[test]
fn predict_gives_wh_at_the_pairs_and_names_a_bad_line() {
    let dir = tempfile::tempdir().unwrap();
    write_inputs(dir.path());
    let o = nmf(dir.path(), &["fit", "v.csv", "-k", "2", "-o", "fit"]);
    assert!(o.status.success(), "{}", stderr(&o));
    std::fs::write(dir.path().join("pairs.csv"), "row,col\n0,0\n29,19\n5,7\n").unwrap();
    let o = nmf(
        dir.path(),
        &[
            "predict",
            "--model",
            "fit",
            "--pairs",
            "pairs.csv",
            "-o",
            "p.csv",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let model = json(&dir.path().join("fit/model.json"));
    let w: Vec<f64> = serde_json::from_value(model["w"].clone()).unwrap();
    let h: Vec<f64> = serde_json::from_value(model["h"].clone()).unwrap();
    let out = std::fs::read_to_string(dir.path().join("p.csv")).unwrap();
    let mut lines = out.lines();
    assert_eq!(lines.next(), Some("row,col,prediction"));
    for ((i, j), line) in [(0, 0), (29, 19), (5, 7)].into_iter().zip(lines) {
        let p: f64 = line.rsplit(',').next().unwrap().parse().unwrap();
        // The same two products summed in the same order: the same bits.
        let expected = w[i * 2] * h[j] + w[i * 2 + 1] * h[20 + j];
        assert_eq!(p, expected, "{line}");
        assert!(line.starts_with(&format!("{i},{j},")));
    }
    std::fs::write(dir.path().join("bad.csv"), "0,0\n1,1\n30,0\n").unwrap();
    let o = nmf(
        dir.path(),
        &["predict", "--model", "fit", "--pairs", "bad.csv"],
    );
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("bad.csv, line 3: the pair (30, 0) is outside the model's 30×20"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn rank_prints_a_table_and_writes_json_and_svg() {
    let dir = tempfile::tempdir().unwrap();
    write_inputs(dir.path());
    let o = nmf(
        dir.path(),
        &[
            "rank",
            "ratings.mtx",
            "--missing",
            "unobserved",
            "--ranks",
            "1..3",
            "--replicates",
            "2",
            "--max-iter",
            "300",
            "-o",
            "r",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.contains("| rank | train rmse | test rmse ± SE |"),
        "{out}"
    );
    assert!(
        out.contains("smallest rank within one standard error"),
        "{out}"
    );
    let r = json(&dir.path().join("r/rank.json"));
    let ranks = r["ranks"].as_array().unwrap();
    assert_eq!(ranks.len(), 3);
    assert_eq!(ranks[0]["test_errors"].as_array().unwrap().len(), 2);
    // Rank 1 cannot fit a rank-2 matrix; rank 2 can.
    let t = |k: usize| ranks[k]["test_mean"].as_f64().unwrap();
    assert!(t(1) < t(0) / 2.0, "test RMSE by rank: {ranks:?}");
    assert_ne!(r["one_se"].as_u64(), Some(1));
    let svg = std::fs::read_to_string(dir.path().join("r/rank.svg")).unwrap();
    roxmltree::Document::parse(&svg).expect("rank.svg is well-formed XML");
}

#[test]
fn rank_options_out_of_range_are_named() {
    let dir = tempfile::tempdir().unwrap();
    write_inputs(dir.path());
    let o = nmf(
        dir.path(),
        &["rank", "v.csv", "--ranks", "1..2", "--replicates", "0"],
    );
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("--replicates must be at least 1"),
        "{}",
        stderr(&o)
    );
    let o = nmf(dir.path(), &["rank", "v.csv", "--ranks", "3..2"]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("empty"), "{}", stderr(&o));
    assert!(!dir.path().join("nmf-rank").exists());
}

#[test]
fn bad_weights_are_named_with_their_place() {
    let dir = tempfile::tempdir().unwrap();
    write_inputs(dir.path());
    let ones = |m: usize, n: usize| vec![vec!["1"; n].join(","); m].join("\n") + "\n";
    std::fs::write(dir.path().join("short.csv"), ones(29, 20)).unwrap();
    let o = nmf(
        dir.path(),
        &["fit", "v.csv", "-k", "2", "--weights", "short.csv"],
    );
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("--weights short.csv is 29×20, but V is 30×20"),
        "{}",
        stderr(&o)
    );
    let mut rows: Vec<String> = vec![vec!["1"; 20].join(","); 30];
    rows[4] = format!("1,1,-2{}", ",1".repeat(17));
    std::fs::write(dir.path().join("neg.csv"), rows.join("\n") + "\n").unwrap();
    let o = nmf(
        dir.path(),
        &["fit", "v.csv", "-k", "2", "--weights", "neg.csv"],
    );
    assert!(!o.status.success());
    let e = stderr(&o);
    assert!(
        e.contains("neg.csv") && e.contains("row 4, column 2"),
        "{e}"
    );
    std::fs::write(dir.path().join("zero.csv"), ones(30, 20).replace('1', "0")).unwrap();
    let o = nmf(
        dir.path(),
        &["fit", "v.csv", "-k", "2", "--weights", "zero.csv"],
    );
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("no observed entry with a positive weight"),
        "{}",
        stderr(&o)
    );
    // Weights of 1 everywhere: a valid weighted fit.
    std::fs::write(dir.path().join("one.csv"), ones(30, 20)).unwrap();
    let o = nmf(
        dir.path(),
        &[
            "fit",
            "v.csv",
            "-k",
            "2",
            "--weights",
            "one.csv",
            "-o",
            "w1",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
}

/// `--nan missing`: NaN entries and empty cells of a CSV or `.npy` file are the unobserved
/// entries. The ratings of `write_inputs` written densely with the unobserved places empty
/// (CSV) or NaN (`.npy`) are the same observed entries as `ratings.mtx --missing unobserved`,
/// so the fits are the same, to the bit; without the option the first such cell is an error
/// naming it.
#[test]
fn nan_missing_reads_empty_and_nan_cells_as_unobserved() {
    let dir = tempfile::tempdir().unwrap();
    let nnz = write_inputs(dir.path());
    let (m, n) = (30, 20);
    let observed = |i: usize, j: usize| (i * 7 + j * 3) % 5 < 3;
    let mut csv = String::new();
    let mut dense = Vec::with_capacity(m * n);
    for i in 0..m {
        let row: Vec<String> = (0..n)
            .map(|j| match (observed(i, j), j % 2) {
                (true, _) => value(i, j).to_string(),
                (false, 1) => String::new(),
                (false, _) => "NaN".to_string(),
            })
            .collect();
        csv.push_str(&row.join(","));
        csv.push('\n');
        dense.extend((0..n).map(|j| {
            if observed(i, j) {
                value(i, j)
            } else {
                f64::NAN
            }
        }));
    }
    std::fs::write(dir.path().join("holes.csv"), csv).unwrap();
    std::fs::write(
        dir.path().join("holes.npy"),
        nmf_cli::read::npy::to_npy_bytes(m, n, &dense),
    )
    .unwrap();
    let common = [
        "-k",
        "2",
        "--seed",
        "5",
        "--max-iter",
        "50",
        "--tol",
        "0",
        "-q",
    ];
    let fit = |input: &str, out: &str, extra: &[&str]| {
        let mut args = vec!["fit", input, "-o", out];
        args.extend(common);
        args.extend(extra);
        nmf(dir.path(), &args)
    };
    // Without the option: the first hole is an error naming its place.
    let o = fit("holes.csv", "e1", &[]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("holes.csv:1:3: empty field (field 2 of the row)"),
        "{}",
        stderr(&o)
    );
    let o = fit("holes.npy", "e2", &[]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("non-finite entry (NaN) at row 0, column 1 (0-based)"),
        "{}",
        stderr(&o)
    );
    // With it: the same observed entries as the coordinate file, the same fit.
    let o = fit("ratings.mtx", "ref", &["--missing", "unobserved"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let reference = std::fs::read(dir.path().join("ref/W.npy")).unwrap();
    for input in ["holes.csv", "holes.npy"] {
        let out = format!("out-{input}");
        let o = fit(input, &out, &["--nan", "missing"]);
        assert!(o.status.success(), "{input}: {}", stderr(&o));
        let s = json(&dir.path().join(&out).join("summary.json"));
        assert_eq!(s["input"]["storage"], "observed", "{input}");
        assert_eq!(s["input"]["nnz"].as_u64(), Some(nnz as u64), "{input}");
        let w = std::fs::read(dir.path().join(&out).join("W.npy")).unwrap();
        assert!(
            w == reference,
            "{input}: W differs from the coordinate file's fit"
        );
    }
}

/// `--missing zero` with `--holdout` on a sparse input observes every entry, the unstored
/// ones as zeros: the same observed entries, hence the same held-out draw and the same fit to
/// the bit, as the matrix written densely with its zeros; stderr notes the m·n entries.
#[test]
fn missing_zero_on_a_sparse_input_observes_every_entry() {
    let dir = tempfile::tempdir().unwrap();
    let nnz = write_inputs(dir.path());
    let (m, n) = (30, 20);
    let mut csv = String::new();
    for i in 0..m {
        let row: Vec<String> = (0..n)
            .map(|j| {
                if (i * 7 + j * 3) % 5 < 3 {
                    value(i, j).to_string()
                } else {
                    "0".to_string()
                }
            })
            .collect();
        csv.push_str(&row.join(","));
        csv.push('\n');
    }
    std::fs::write(dir.path().join("zeros.csv"), csv).unwrap();
    let fit = |input: &str, out: &str| {
        nmf(
            dir.path(),
            &[
                "fit",
                input,
                "-o",
                out,
                "-k",
                "2",
                "--seed",
                "5",
                "--max-iter",
                "40",
                "--tol",
                "0",
                "--holdout",
                "0.2",
            ],
        )
    };
    let sparse = fit("ratings.mtx", "sparse");
    assert!(sparse.status.success(), "{}", stderr(&sparse));
    assert!(
        stderr(&sparse).contains("--missing zero observes all 30×20 = 600 entries of ratings.mtx")
            && stderr(&sparse).contains(&format!("not only its {nnz} stored ones")),
        "{}",
        stderr(&sparse)
    );
    let dense = fit("zeros.csv", "dense");
    assert!(dense.status.success(), "{}", stderr(&dense));
    let (s, d) = (
        json(&dir.path().join("sparse/summary.json")),
        json(&dir.path().join("dense/summary.json")),
    );
    assert_eq!(s["holdout"]["count"].as_u64(), Some(120));
    assert_eq!(s["holdout"], d["holdout"]);
    for f in ["W.npy", "H.npy"] {
        let (a, b) = (
            std::fs::read(dir.path().join("sparse").join(f)).unwrap(),
            std::fs::read(dir.path().join("dense").join(f)).unwrap(),
        );
        assert!(a == b, "{f} differs between the sparse and the dense input");
    }
}
