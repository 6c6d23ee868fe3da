//! `nmf topics` on the bundled Brown corpus (500 documents × 15,820 terms, kept sparse): the
//! topics printed and in topics.json are those of `nmf fit --vocab` with the same options,
//! and --vocab is required.

mod common;

use std::path::Path;

use common::{nmf, stderr, stdout};

fn copy_brown(dir: &Path) {
    for f in ["mtx", "cols.txt", "rows.txt"] {
        let name = format!("brown_docterm.{f}.gz");
        let from = format!("{}/data/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::copy(from, dir.join(&name)).unwrap();
    }
}

fn read_json(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

#[test]
fn topics_of_the_brown_corpus() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    copy_brown(dir);
    let args = |command: &'static str, out: &'static str| {
        vec![
            command,
            "brown_docterm.mtx.gz",
            "--vocab",
            "brown_docterm.cols.txt.gz",
            "--doc-labels",
            "brown_docterm.rows.txt.gz",
            "-k",
            "3",
            "--top-terms",
            "5",
            "--loss",
            "kl",
            "--max-iter",
            "10",
            "--tol",
            "0",
            "--out",
            out,
        ]
    };
    let o = nmf(dir, &args("topics", "t"));
    assert!(o.status.success(), "{}", stderr(&o));
    let printed: Vec<String> = stdout(&o)
        .lines()
        .filter(|l| l.starts_with("topic "))
        .map(String::from)
        .collect();
    assert_eq!(printed.len(), 3, "{}", stdout(&o));
    for (a, line) in printed.iter().enumerate() {
        // `topic 0 (33.3%): five terms`
        let (head, terms) = line.split_once("): ").unwrap();
        assert!(head.starts_with(&format!("topic {a} (")), "{line}");
        assert_eq!(terms.split(' ').count(), 5, "{line}");
    }
    let j = read_json(&dir.join("t/topics.json"));
    let topics = j["topics"].as_array().unwrap();
    assert_eq!(topics.len(), 3);
    let share: f64 = topics.iter().map(|t| t["share"].as_f64().unwrap()).sum();
    // Three shares of ΣWH, each rounded once and summed: within a few u of 1.
    assert!((share - 1.0).abs() <= 8.0 * f64::EPSILON, "{share}");
    for (t, line) in topics.iter().zip(&printed) {
        let terms: Vec<&str> = t["terms"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["term"].as_str().unwrap())
            .collect();
        assert_eq!(terms.len(), 5);
        assert!(line.ends_with(&terms.join(" ")), "{line} against {terms:?}");
    }
    let docs = j["documents"].as_array().unwrap();
    assert_eq!(docs.len(), 500);
    assert_eq!(docs[0]["document"], "ca01\tnews");
    let s = read_json(&dir.join("t/summary.json"));
    assert_eq!(s["command"], "topics");
    assert_eq!(s["input"]["storage"], "sparse");
    assert_eq!(s["input"]["nnz"], 255_342);
    assert_eq!(s["iterations"], 10);
    for f in [
        "W.npy",
        "H.npy",
        "model.json",
        "topics.json",
        "summary.json",
    ] {
        assert!(dir.join("t").join(f).exists(), "{f}");
    }

    // `nmf fit --vocab` with the same options: the same topics, bit for bit.
    let o = nmf(dir, &args("fit", "f"));
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        std::fs::read(dir.join("f/topics.json")).unwrap(),
        std::fs::read(dir.join("t/topics.json")).unwrap()
    );
    assert_eq!(read_json(&dir.join("f/summary.json"))["command"], "fit");
}

#[test]
fn topics_requires_a_vocabulary() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    copy_brown(dir);
    let o = nmf(
        dir,
        &["topics", "brown_docterm.mtx.gz", "-k", "3", "-o", "t"],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let e = stderr(&o);
    assert_eq!(e.lines().count(), 1, "{e}");
    assert!(e.contains("--vocab <FILE>"), "{e}");
    assert!(!dir.join("t").exists());
}
