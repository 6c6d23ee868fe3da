//! End-to-end tests of the outputs as a set: a failed, concurrent or killed run never leaves a
//! partial or mixed output directory, and nmf never replaces files it did not write.
#![cfg(unix)]

use std::path::Path;
use std::process::{Command, Stdio};

mod common;
use common::{nmf, stderr};

use nmf_cli::read::npy;

const MANIFEST: &str = ".nmf-output.json";

/// Writes `v.csv`, a positive 12×9 matrix.
fn write_data(dir: &Path) {
    let mut text = String::new();
    for i in 0..12 {
        let row: Vec<String> = (0..9)
            .map(|j| (1 + (i * 5 + j * 3) % 11).to_string())
            .collect();
        text.push_str(&row.join(","));
        text.push('\n');
    }
    std::fs::write(dir.join("v.csv"), text).unwrap();
}

fn read_json(path: &Path) -> serde_json::Value {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_slice(&bytes).unwrap()
}

/// The names in `dir`, sorted.
fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// The bytes of every file in `dir`, by name.
fn contents(dir: &Path) -> Vec<(String, Vec<u8>)> {
    names(dir)
        .into_iter()
        .map(|n| {
            let b = std::fs::read(dir.join(&n)).unwrap();
            (n, b)
        })
        .collect()
}

/// Checks that `out` holds exactly one run's outputs: the files its manifest lists (with
/// their sizes and CRC-32), which are the summary's outputs, with W and H of the summary's
/// shapes; returns the summary.
fn check_one_set(out: &Path) -> serde_json::Value {
    let manifest = read_json(&out.join(MANIFEST));
    let summary = read_json(&out.join("summary.json"));
    let listed: Vec<String> = manifest["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap().to_string())
        .collect();
    let mut expected = listed.clone();
    expected.push(MANIFEST.to_string());
    expected.sort();
    assert_eq!(names(out), expected, "{}", out.display());
    let mut outputs: Vec<String> = summary["outputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap().to_string())
        .collect();
    outputs.sort();
    let mut sorted = listed.clone();
    sorted.sort();
    assert_eq!(outputs, sorted);
    for f in manifest["files"].as_array().unwrap() {
        let bytes = std::fs::read(out.join(f["name"].as_str().unwrap())).unwrap();
        let mut crc = flate2::Crc::new();
        crc.update(&bytes);
        assert_eq!(f["bytes"].as_u64(), Some(bytes.len() as u64), "{f}");
        assert_eq!(f["crc32"].as_u64(), Some(u64::from(crc.sum())), "{f}");
    }
    for m in ["W", "H"] {
        let path = out.join(format!("{m}.npy"));
        if path.exists() {
            let a = npy::parse(&std::fs::read(&path).unwrap(), m).unwrap();
            assert_eq!(
                serde_json::json!([a.rows, a.cols]),
                summary["shapes"][m],
                "{m}.npy against summary.json"
            );
        }
    }
    if out.join("model.json").exists() {
        let model = read_json(&out.join("model.json"));
        assert_eq!(model["rank"], summary["parameters"]["rank"]);
    }
    summary
}

/// Checks that no staging directory of nmf remains in `dir`.
fn no_staging_left(dir: &Path) {
    let left: Vec<String> = names(dir)
        .into_iter()
        .filter(|n| n.contains(".nmf-"))
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

#[test]
fn an_output_that_cannot_be_written_keeps_the_previous_set_whole() {
    use std::os::unix::process::CommandExt;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    write_data(dir);
    let o = nmf(dir, &["fit", "v.csv", "-k", "3", "--out", "o", "-q"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let before = contents(&dir.join("o"));
    let size = |f: &str| std::fs::metadata(dir.join("o").join(f)).unwrap().len();
    // model.json (W and H as text) is written after W.npy and H.npy and is larger than
    // either: a file-size limit between them lets W.npy and H.npy be written and makes
    // model.json fail ("File too large"), the model.json that could not be written.
    let limit = size("W.npy").max(size("H.npy")) + 1;
    assert!(size("model.json") > limit);
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_nmf"));
    cmd.args(["fit", "v.csv", "-k", "3", "--seed", "7", "--out", "o", "-q"])
        .current_dir(dir)
        .stdin(Stdio::null());
    // SAFETY: setrlimit and signal are async-signal-safe, as pre_exec requires.
    unsafe {
        cmd.pre_exec(move || {
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            let lim = libc::rlimit {
                rlim_cur: limit,
                rlim_max: limit,
            };
            if libc::setrlimit(libc::RLIMIT_FSIZE, &lim) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let o = cmd.output().unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let err = stderr(&o);
    assert_eq!(
        err,
        "error: cannot write 'o/model.json': File too large (os error 27)\n"
    );
    assert_eq!(contents(&dir.join("o")), before);
    no_staging_left(dir);
}

#[test]
fn concurrent_runs_into_one_directory_leave_one_whole_set() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    write_data(dir);
    // Two kinds of run that differ in every file: the rank (shapes of W and H), the model's
    // format (model.json or model.npz) and CSV copies.
    let a = ["fit", "v.csv", "-k", "2", "--out", "o", "-q"];
    let b = [
        "fit",
        "v.csv",
        "-k",
        "4",
        "--model-format",
        "npz",
        "--csv",
        "--out",
        "o",
        "-q",
    ];
    let mut ranks = Vec::new();
    for _ in 0..12 {
        let spawn = |args: &[&str]| {
            Command::new(env!("CARGO_BIN_EXE_nmf"))
                .args(args)
                .current_dir(dir)
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        };
        let (ca, cb) = (spawn(&a), spawn(&b));
        for c in [ca, cb] {
            let o = c.wait_with_output().unwrap();
            assert!(o.status.success(), "{}", stderr(&o));
        }
        let s = check_one_set(&dir.join("o"));
        let rank = s["parameters"]["rank"].as_u64().unwrap();
        let out = dir.join("o");
        assert_eq!(out.join("model.npz").exists(), rank == 4);
        assert_eq!(out.join("model.json").exists(), rank == 2);
        ranks.push(rank);
        no_staging_left(dir);
    }
    assert!(ranks.iter().all(|&r| r == 2 || r == 4));
}

#[test]
fn outputs_of_another_format_go_with_their_set() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    write_data(dir);
    let fit = |args: &[&str]| {
        let mut all = vec!["fit", "v.csv", "--out", "m", "-q"];
        all.extend_from_slice(args);
        let o = nmf(dir, &all);
        assert!(o.status.success(), "{}", stderr(&o));
    };
    fit(&["-k", "2", "--model-format", "both", "--csv"]);
    fit(&["-k", "3", "--model-format", "npz"]);
    assert_eq!(
        names(&dir.join("m")),
        vec![MANIFEST, "H.npy", "W.npy", "model.npz", "summary.json"]
    );
    check_one_set(&dir.join("m"));
    // transform --model m reads the model of the latest fit (rank 3), not an older one.
    let o = nmf(
        dir,
        &["transform", "v.csv", "--model", "m", "--out", "t", "-q"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let s = check_one_set(&dir.join("t"));
    assert_eq!(s["model"]["rank"], 3);
    no_staging_left(dir);
}

#[test]
fn transform_replaces_a_fit_only_with_force() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    write_data(dir);
    let o = nmf(dir, &["fit", "v.csv", "-k", "2", "--out", "m", "-q"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let before = contents(&dir.join("m"));
    let o = nmf(dir, &["transform", "v.csv", "--model", "m", "--out", "m"]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        stderr(&o),
        "error: --out 'm' holds the outputs of `nmf fit` (its W, H, model and summary); \
         `nmf transform` would replace them all: choose another --out, or add --force to \
         replace them\n"
    );
    assert_eq!(contents(&dir.join("m")), before);
    // A transform's own directory is replaced without asking.
    for _ in 0..2 {
        let o = nmf(
            dir,
            &["transform", "v.csv", "--model", "m", "--out", "t", "-q"],
        );
        assert!(o.status.success(), "{}", stderr(&o));
    }
    let o = nmf(
        dir,
        &[
            "transform",
            "v.csv",
            "--model",
            "m",
            "--out",
            "m",
            "--force",
            "-q",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let s = check_one_set(&dir.join("m"));
    assert_eq!(s["command"], "transform");
    assert_eq!(
        names(&dir.join("m")),
        vec![MANIFEST, "H.npy", "summary.json"]
    );
    no_staging_left(dir);
}

#[test]
fn files_nmf_did_not_write_are_never_touched() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    write_data(dir);
    // A directory of the user's.
    std::fs::create_dir(dir.join("mine")).unwrap();
    std::fs::write(dir.join("mine/notes.txt"), "mine").unwrap();
    let o = nmf(dir, &["fit", "v.csv", "-k", "2", "--out", "mine"]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        stderr(&o),
        "error: --out 'mine' holds 'notes.txt', which nmf did not write; nmf replaces its \
         output directory as a whole and never touches other files: choose another --out (a \
         new or empty directory, or one written by nmf)\n"
    );
    assert_eq!(names(&dir.join("mine")), vec!["notes.txt"]);
    // The current directory.
    let o = nmf(dir, &["fit", "v.csv", "-k", "2", "--out", "."]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).starts_with("error: --out '.' is the current directory or contains it;"),
        "{}",
        stderr(&o)
    );
    // A file added to an output directory: the set is no longer only nmf's.
    let o = nmf(dir, &["fit", "v.csv", "-k", "2", "--out", "o", "-q"]);
    assert!(o.status.success());
    std::fs::write(dir.join("o/W.csv"), "mine").unwrap();
    let o = nmf(dir, &["fit", "v.csv", "-k", "2", "--out", "o", "-q"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("holds 'W.csv', which nmf did not write"));
    assert_eq!(std::fs::read(dir.join("o/W.csv")).unwrap(), b"mine");
    // An empty directory is used.
    std::fs::create_dir(dir.join("empty")).unwrap();
    let o = nmf(dir, &["fit", "v.csv", "-k", "2", "--out", "empty", "-q"]);
    assert!(o.status.success(), "{}", stderr(&o));
    check_one_set(&dir.join("empty"));
    // A directory written before manifests existed (nmf's names, a summary naming the
    // command) is replaced.
    std::fs::create_dir(dir.join("old")).unwrap();
    for f in ["W.npy", "H.npy", "model.npz"] {
        std::fs::copy(
            dir.join("o").join(f.replace("npz", "json")),
            dir.join("old").join(f),
        )
        .unwrap();
    }
    std::fs::write(dir.join("old/summary.json"), r#"{"command": "fit"}"#).unwrap();
    let o = nmf(dir, &["fit", "v.csv", "-k", "2", "--out", "old", "-q"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!dir.join("old/model.npz").exists());
    check_one_set(&dir.join("old"));
    no_staging_left(dir);
}

#[test]
fn staging_left_by_a_killed_run_is_removed() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    write_data(dir);
    // What a run killed while writing leaves: its staging directory with some outputs and
    // its manifest, no longer locked.
    let dead = dir.join(".o.nmf-Ab3dE6gH");
    std::fs::create_dir(&dead).unwrap();
    std::fs::write(dead.join(MANIFEST), "").unwrap();
    std::fs::write(dead.join("W.npy"), vec![0u8; 1000]).unwrap();
    // One killed before it wrote its manifest, and one holding a file nmf would not write.
    let bare = dir.join(".o.nmf-0000abcd");
    std::fs::create_dir(&bare).unwrap();
    std::fs::write(bare.join("H.npy"), "partial").unwrap();
    let odd = dir.join(".o.nmf-zzzzzzzz");
    std::fs::create_dir(&odd).unwrap();
    std::fs::write(odd.join("summary.json"), "{").unwrap();
    std::fs::write(odd.join("keep.txt"), "mine").unwrap();
    // Another output directory's staging is not this run's business.
    let other = dir.join(".p.nmf-Ab3dE6gH");
    std::fs::create_dir(&other).unwrap();
    std::fs::write(other.join("W.npy"), "w").unwrap();
    let o = nmf(dir, &["fit", "v.csv", "-k", "2", "--out", "o", "-q"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!dead.exists() && !bare.exists());
    assert_eq!(names(&odd), vec!["keep.txt"]);
    assert_eq!(names(&other), vec!["W.npy"]);
    check_one_set(&dir.join("o"));
}

#[test]
fn a_run_killed_while_writing_leaves_the_previous_set_and_the_next_run_cleans_up() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    write_data(dir);
    let o = nmf(dir, &["fit", "v.csv", "-k", "2", "--out", "o", "-q"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let before = contents(&dir.join("o"));
    // A run whose process is killed (SIGXFSZ, by default fatal) when model.json exceeds a
    // file-size limit: killed while writing, with W.npy and H.npy staged.
    use std::os::unix::process::CommandExt;
    let limit = std::fs::metadata(dir.join("o/W.npy")).unwrap().len() + 1;
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_nmf"));
    cmd.args(["fit", "v.csv", "-k", "2", "--seed", "3", "--out", "o"])
        .current_dir(dir)
        .stdin(Stdio::null());
    // SAFETY: setrlimit and signal are async-signal-safe, as pre_exec requires.
    unsafe {
        cmd.pre_exec(move || {
            libc::signal(libc::SIGXFSZ, libc::SIG_DFL);
            let lim = libc::rlimit {
                rlim_cur: limit,
                rlim_max: limit,
            };
            if libc::setrlimit(libc::RLIMIT_FSIZE, &lim) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let o = cmd.output().unwrap();
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(o.status.signal(), Some(libc::SIGXFSZ), "{}", stderr(&o));
    assert_eq!(contents(&dir.join("o")), before);
    let staged: Vec<String> = names(dir)
        .into_iter()
        .filter(|n| n.starts_with(".o.nmf-"))
        .collect();
    assert_eq!(staged.len(), 1, "{staged:?}");
    let o = nmf(dir, &["fit", "v.csv", "-k", "2", "--out", "o", "-q"]);
    assert!(o.status.success(), "{}", stderr(&o));
    no_staging_left(dir);
    // The same fit again: the same factors and model (the summary's times differ).
    let same = |c: &[(String, Vec<u8>)]| -> Vec<(String, Vec<u8>)> {
        c.iter()
            .filter(|(n, _)| ["W.npy", "H.npy", "model.json"].contains(&n.as_str()))
            .cloned()
            .collect()
    };
    assert_eq!(same(&contents(&dir.join("o"))), same(&before));
    check_one_set(&dir.join("o"));
}
