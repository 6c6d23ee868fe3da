//! Hostile inputs, end to end (issue 9): crafted files and extreme parameters that once made
//! the `nmf` command hang, exhaust memory, panic, leave mixed outputs or print misleading
//! messages. Each test builds its files in a temporary directory and runs the binary under a
//! time limit (killed and failed if it hangs) and an address-space limit (`ulimit -v` in
//! `sh`, so an allocation sized from a header fails instead of taking the machine's memory),
//! then checks: no exit code 101 (panic), no death by a signal (abort), an `error: …` line that
//! names the problem, and nothing half-written (the output directory holds the whole set of
//! outputs of a run that succeeded, and no file at all after a failure; no hidden temporary
//! files beside it).

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use nmf_cli::read::npy::to_npy_bytes;

/// The address-space limit of most runs: 2 GiB, far above what these small problems need
/// (the binary, its threads' stacks and malloc's arenas take a few hundred MiB of address
/// space) and far below the gigabytes that a declared shape or an unbounded read would take.
const MEMORY: u64 = 2 << 30;

/// The time limit of most runs. They take well under a second once fixed; the limit leaves
/// room for a loaded machine running tests in parallel.
const TIME: Duration = Duration::from_secs(60);

/// How a run ended and what it printed.
struct Run {
    status: ExitStatus,
    stdout: String,
    stderr: String,
}

impl Run {
    /// The exit code (`None` after a signal).
    fn code(&self) -> Option<i32> {
        self.status.code()
    }

    /// Checks that the run neither panicked (exit code 101) nor died by a signal.
    fn assert_no_crash(&self, what: &str) {
        assert_ne!(
            self.code(),
            Some(101),
            "{what}: panicked: {}",
            tail(&self.stderr)
        );
        assert!(
            self.status.signal().is_none(),
            "{what}: killed by signal {:?}: {}",
            self.status.signal(),
            tail(&self.stderr)
        );
    }

    /// Checks that the run failed (not by a crash) and returns its `error: …` line (without
    /// the prefix), which must be the last line of stderr and say something.
    fn error(&self, what: &str) -> String {
        self.assert_no_crash(what);
        assert_ne!(self.code(), Some(0), "{what}: succeeded: {}", self.stdout);
        let last = self.stderr.lines().last().unwrap_or_default();
        let msg = last.strip_prefix("error: ").unwrap_or_else(|| {
            panic!(
                "{what}: the last line of stderr is not an error: {:?}",
                tail(&self.stderr)
            )
        });
        assert!(!msg.trim().is_empty(), "{what}: an empty error");
        msg.to_string()
    }

    /// Checks that the run succeeded.
    fn assert_success(&self, what: &str) {
        self.assert_no_crash(what);
        assert_eq!(self.code(), Some(0), "{what}: {}", tail(&self.stderr));
    }
}

/// The last 2000 bytes of a text, for failure messages.
fn tail(s: &str) -> &str {
    let mut from = s.len().saturating_sub(2000);
    while !s.is_char_boundary(from) {
        from += 1;
    }
    &s[from..]
}

/// `program args` in `dir` under an address-space limit of `memory` bytes (set by `sh`'s
/// `ulimit -v`, in KiB, before it `exec`s the program: the process is the program's).
fn wrapped(dir: &Path, program: &str, args: &[&str], memory: u64) -> Command {
    let mut c = Command::new("sh");
    c.arg("-c")
        .arg(r#"ulimit -v "$1" && shift && exec "$@""#)
        .arg("sh")
        .arg((memory / 1024).to_string())
        .arg(program)
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null());
    c
}

/// The `nmf` command with `args` in `dir` under an address-space limit of `memory` bytes.
fn command(dir: &Path, args: &[&str], memory: u64) -> Command {
    wrapped(dir, env!("CARGO_BIN_EXE_nmf"), args, memory)
}

/// Waits for `child` at most `time`, killing it and failing the test if it takes longer.
fn wait(mut child: Child, time: Duration, what: &str) -> ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("wait for nmf") {
            return status;
        }
        if start.elapsed() > time {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what}: still running after {time:?}: killed");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Reads a pipe to its end on a thread.
fn collect(pipe: Option<impl Read + Send + 'static>) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        if let Some(mut p) = pipe {
            let _ = p.read_to_end(&mut bytes);
        }
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

/// Runs `nmf args` in `dir` with the given limits, capturing stdout and stderr.
fn run_limited(dir: &Path, args: &[&str], memory: u64, time: Duration) -> Run {
    let what = args.join(" ");
    let mut child = command(dir, args, memory)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("sh runs");
    let out = collect(child.stdout.take());
    let err = collect(child.stderr.take());
    let status = wait(child, time, &what);
    Run {
        status,
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
    }
}

/// Runs `nmf args` in `dir` with the default limits.
fn run(dir: &Path, args: &[&str]) -> Run {
    run_limited(dir, args, MEMORY, TIME)
}

/// The entries of a directory, sorted.
fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|r| {
            r.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// Checks that a failed run left nothing: the directory `dir` holds what it held before
/// (`before`), plus at most the output directory `out`, empty; no hidden temporary file.
fn assert_nothing_written(dir: &Path, before: &[String], out: &str, what: &str) {
    let after = listing(dir);
    let new: Vec<&String> = after.iter().filter(|n| !before.contains(n)).collect();
    for n in &new {
        assert_eq!(
            n.as_str(),
            out,
            "{what}: left {n} beside the output directory"
        );
        let inside = listing(&dir.join(out));
        assert!(inside.is_empty(), "{what}: left {inside:?} in {out}");
    }
}

/// A small positive matrix, m×n, as CSV text (no zero entry, so every loss accepts it).
fn csv_matrix(m: usize, n: usize) -> String {
    let mut s = String::new();
    for i in 0..m {
        let row: Vec<String> = (0..n)
            .map(|j| (1 + (i * 7 + j * 13) % 17).to_string())
            .collect();
        s.push_str(&row.join(","));
        s.push('\n');
    }
    s
}

/// A temporary directory holding `v.csv`, a positive 6×5 matrix.
fn with_small_matrix() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("v.csv"), csv_matrix(6, 5)).unwrap();
    tmp
}

/// The bytes of a version 1.0 `.npy` header with this `descr` and shape, and no data.
fn npy_header(descr: &str, shape: &str) -> Vec<u8> {
    npy_header_literal(&format!("'{descr}'"), shape)
}

/// As [`npy_header`], with the `descr` value written as it is (a Python literal).
fn npy_header_literal(descr: &str, shape: &str) -> Vec<u8> {
    let mut dict = format!("{{'descr': {descr}, 'fortran_order': False, 'shape': {shape}, }}");
    while (10 + dict.len() + 1) % 64 != 0 {
        dict.push(' ');
    }
    dict.push('\n');
    let mut b = b"\x93NUMPY\x01\x00".to_vec();
    b.extend_from_slice(&(dict.len() as u16).to_le_bytes());
    b.extend_from_slice(dict.as_bytes());
    b
}

/// Runs a command that must fail with a message naming `file` and one of `words`, leaving
/// nothing written; returns the message.
fn refused(dir: &Path, args: &[&str], file: &str, words: &[&str]) -> String {
    let before = listing(dir);
    let r = run(dir, args);
    let what = args.join(" ");
    let msg = r.error(&what);
    assert!(
        msg.contains(file),
        "{what}: the message does not name {file}: {msg}"
    );
    assert!(
        words.iter().any(|w| msg.contains(w)),
        "{what}: the message says none of {words:?}: {msg}"
    );
    assert_nothing_written(dir, &before, "o", &what);
    msg
}

// ---- Declared shapes against actual sizes -----------------------------------------------

#[test]
fn npy_declaring_30000_by_30000_without_data_is_refused_before_allocating() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    std::fs::write(d.join("big.npy"), npy_header("<f8", "(30000, 30000)")).unwrap();
    // The 7.2 GB buffer cannot be had under the memory limit: the file's size (no data) must
    // be compared with the shape first, and the message say so in bytes.
    refused(
        d,
        &["fit", "big.npy", "-k", "2", "--out", "o"],
        "big.npy",
        &["bytes"],
    );
}

#[test]
fn mtx_array_declaring_30000_by_30000_with_one_value_is_refused_before_allocating() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    std::fs::write(
        d.join("big.mtx"),
        "%%MatrixMarket matrix array real general\n30000 30000\n1\n",
    )
    .unwrap();
    refused(
        d,
        &["fit", "big.mtx", "-k", "2", "--out", "o"],
        "big.mtx",
        &["values", "entries", "bytes"],
    );
}

#[test]
fn mtx_coordinate_of_30000_by_30000_with_one_entry_is_fitted_sparse_or_refused_dense() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    std::fs::write(
        d.join("sparse.mtx"),
        "%%MatrixMarket matrix coordinate real general\n30000 30000 1\n1 1 1.5\n",
    )
    .unwrap();
    // Kept sparse, it is fitted within the memory limit (compressed rows and O((m+n)·k)
    // buffers), all outputs written.
    let r = run_limited(
        d,
        &[
            "fit",
            "sparse.mtx",
            "-k",
            "2",
            "--max-iter",
            "20",
            "--out",
            "s",
            "-q",
        ],
        MEMORY,
        TIME,
    );
    assert_eq!(r.code(), Some(0), "sparse fit: {}", r.stderr);
    assert!(d.join("s").join("W.npy").exists() && d.join("s").join("H.npy").exists());
    // Read dense (7.2 GB) it is beyond the memory limit: a clear error naming the shape, not
    // an abort.
    refused(
        d,
        &["fit", "sparse.mtx", "-k", "2", "--dense", "--out", "o"],
        "sparse.mtx",
        &["30000"],
    );
}

#[test]
fn npy_header_with_deeply_nested_brackets_is_refused_at_once() {
    // Found by the read_npy fuzz target: the header parser's time doubles with every nested
    // `[` (6 s for 20 of them), so 30 in a 128-byte file would take hours.
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let mut bytes = npy_header_literal(&format!("{}'<f8'", "[".repeat(30)), "(1, 1)");
    bytes.extend_from_slice(&[0; 8]);
    std::fs::write(d.join("nested.npy"), bytes).unwrap();
    let before = listing(d);
    let args = ["fit", "nested.npy", "-k", "1", "--out", "o"];
    let r = run_limited(d, &args, MEMORY, Duration::from_secs(20));
    let msg = r.error("nested brackets");
    assert!(
        msg.contains("nested.npy") && msg.contains("header"),
        "{msg}"
    );
    assert_nothing_written(d, &before, "o", "nested brackets");
}

/// The words of a message about an empty matrix.
const EMPTY: &[&str] = &["empty", "0×", "zero"];

#[test]
fn npy_of_0_by_10e12_is_empty_at_once() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    std::fs::write(d.join("e.npy"), npy_header("<f8", "(0, 1000000000000)")).unwrap();
    std::fs::write(d.join("f.npy"), npy_header("<f8", "(1000000000000, 0)")).unwrap();
    refused(
        d,
        &["fit", "e.npy", "-k", "1", "--out", "o"],
        "e.npy",
        EMPTY,
    );
    refused(
        d,
        &["fit", "f.npy", "-k", "1", "--out", "o"],
        "f.npy",
        EMPTY,
    );
}

#[test]
fn mtx_of_0_by_10e12_is_empty_at_once() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    std::fs::write(
        d.join("c.mtx"),
        "%%MatrixMarket matrix coordinate real general\n0 1000000000000 0\n",
    )
    .unwrap();
    std::fs::write(
        d.join("a.mtx"),
        "%%MatrixMarket matrix array real general\n0 1000000000000\n",
    )
    .unwrap();
    refused(
        d,
        &["fit", "c.mtx", "-k", "1", "--out", "o"],
        "c.mtx",
        EMPTY,
    );
    refused(
        d,
        &["fit", "a.mtx", "-k", "1", "--out", "o"],
        "a.mtx",
        EMPTY,
    );
}

#[test]
fn model_json_whose_rows_times_rank_wraps_is_refused() {
    let tmp = with_small_matrix();
    let d = tmp.path();
    let fit = run(d, &["fit", "v.csv", "-k", "2", "--out", "m", "-q"]);
    fit.assert_success("fit");
    let mut model: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("m/model.json")).unwrap()).unwrap();
    // rows = 2⁶³ and rank 2: rows × rank wraps to 0 in 64 bits, which W's zero values match.
    model["rows"] = serde_json::json!(1u64 << 63);
    model["w"] = serde_json::json!([]);
    std::fs::write(d.join("wrap.json"), model.to_string()).unwrap();
    // rows = 2⁶⁴ − 1 and rank 0 (an empty W) with the rank of H unchanged.
    model["rows"] = serde_json::json!(u64::MAX);
    model["rank"] = serde_json::json!(0);
    std::fs::write(d.join("zero.json"), model.to_string()).unwrap();
    for file in ["wrap.json", "zero.json"] {
        refused(
            d,
            &["transform", "v.csv", "--model", file, "--out", "o"],
            file,
            &["rows", "rank", "shape", "W"],
        );
    }
}

// ---- Unbounded reads -----------------------------------------------------------------

/// The address-space limit of the unbounded-read tests: 3 GiB, room for a decompression
/// limit of up to about 2 GiB (a default limit above that needs the test to pass the flag).
const MEMORY_READS: u64 = 3 << 30;

/// The words of a message about a capped read ("out of memory", what a read stopped by the
/// address-space limit says, is not one of them: the read must stop at a limit of its own).
const CAPPED: &[&str] = &["limit", "large", "bytes", "GB", "GiB", "MB", "MiB"];

#[test]
fn gzip_bomb_is_capped() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    // One gzip member of 64 MiB of zero bytes (about 64 KiB), repeated 256 times: 16 GiB once
    // decompressed (a multi-member gzip is one stream to `gzip -d`), from a 16 MiB file.
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..64 {
        enc.write_all(&zeros).unwrap();
    }
    let member = enc.finish().unwrap();
    let mut f = std::io::BufWriter::new(std::fs::File::create(d.join("bomb.csv.gz")).unwrap());
    for _ in 0..256 {
        f.write_all(&member).unwrap();
    }
    f.flush().unwrap();
    drop(f);
    let before = listing(d);
    let args = ["fit", "bomb.csv.gz", "-k", "1", "--out", "o"];
    let r = run_limited(d, &args, MEMORY_READS, TIME);
    let msg = r.error("gzip bomb");
    assert!(msg.contains("bomb.csv.gz"), "{msg}");
    assert!(
        CAPPED.iter().any(|w| msg.contains(w)) || msg.contains("number"),
        "the message says none of {CAPPED:?}: {msg}"
    );
    assert_nothing_written(d, &before, "o", "gzip bomb");
}

#[test]
fn dev_zero_as_input_is_capped() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let before = listing(d);
    let args = [
        "fit",
        "/dev/zero",
        "--format",
        "csv",
        "-k",
        "1",
        "--out",
        "o",
    ];
    let r = run_limited(d, &args, MEMORY_READS, TIME);
    let msg = r.error("/dev/zero");
    assert!(msg.contains("/dev/zero"), "{msg}");
    assert!(
        CAPPED.iter().any(|w| msg.contains(w)) || msg.contains("number"),
        "the message says none of {CAPPED:?}: {msg}"
    );
    assert_nothing_written(d, &before, "o", "/dev/zero");
}

// ---- Extreme parameters ------------------------------------------------------------------

#[test]
fn absurd_ranks_are_refused_with_the_memory_they_need() {
    let tmp = with_small_matrix();
    let d = tmp.path();
    for k in ["1000000000", "9223372036854775808"] {
        let before = listing(d);
        let args = ["fit", "v.csv", "-k", k, "--out", "o"];
        let r = run(d, &args);
        let what = args.join(" ");
        let msg = r.error(&what);
        assert!(
            msg.contains("rank") || msg.contains("-k"),
            "{what}: the message does not name the rank: {msg}"
        );
        assert_nothing_written(d, &before, "o", &what);
    }
}

#[test]
fn huge_max_iter_does_not_preallocate() {
    let tmp = with_small_matrix();
    let d = tmp.path();
    // A tolerance of 1% stops a rank-2 fit of a 6×5 matrix within a few hundred iterations:
    // the run ends at once unless something is sized by --max-iter.
    let r = run(
        d,
        &[
            "fit",
            "v.csv",
            "-k",
            "2",
            "--max-iter",
            "100000000000",
            "--tol",
            "1e-2",
            "--out",
            "o",
            "-q",
        ],
    );
    r.assert_success("--max-iter 100000000000");
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("o/summary.json")).unwrap()).unwrap();
    assert_eq!(summary["converged"], serde_json::json!(true), "{summary}");
}

#[test]
fn thousands_of_parallel_restarts_run_or_fail_cleanly() {
    let tmp = with_small_matrix();
    let d = tmp.path();
    let before = listing(d);
    let args = [
        "fit",
        "v.csv",
        "-k",
        "2",
        "--n-init",
        "5000",
        "--parallel-restarts",
        "5000",
        "--max-iter",
        "1",
        "--out",
        "o",
        "-q",
    ];
    let r = run(d, &args);
    r.assert_no_crash("5000 restarts");
    if r.code() == Some(0) {
        assert_eq!(listing(&d.join("o")), FIT_OUTPUTS);
    } else {
        // A clear refusal is acceptable too, naming the option.
        let msg = r.error("5000 restarts");
        assert!(msg.contains("restarts") || msg.contains("thread"), "{msg}");
        assert_nothing_written(d, &before, "o", "5000 restarts");
    }
}

// ---- Messages ----------------------------------------------------------------------------

/// Checks that stderr is short and holds no control character but its line ends.
fn assert_clean_stderr(r: &Run, what: &str) {
    assert!(
        r.stderr.len() <= 2048,
        "{what}: {} bytes on stderr: {:?}…",
        r.stderr.len(),
        &r.stderr[..200.min(r.stderr.len())]
    );
    if let Some(c) = r.stderr.chars().find(|&c| c.is_control() && c != '\n') {
        panic!(
            "{what}: the control character {c:?} reached stderr: {:?}",
            r.stderr
        );
    }
}

#[test]
fn control_characters_in_a_csv_cell_are_escaped_in_the_message() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    // An escape sequence (red text, clear screen), a bell and a backspace in a cell.
    std::fs::write(d.join("esc.csv"), "1,2\n3,\x1b[31m\x1b[2J\x07\x08x\n").unwrap();
    let before = listing(d);
    let r = run(d, &["fit", "esc.csv", "-k", "1", "--out", "o"]);
    let msg = r.error("control characters");
    assert_clean_stderr(&r, "control characters");
    assert!(msg.contains("esc.csv"), "{msg}");
    assert!(
        msg.contains("number"),
        "the message does not say what is wrong: {msg}"
    );
    assert_nothing_written(d, &before, "o", "control characters");
}

#[test]
fn a_1_mb_csv_field_gives_a_short_message() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let mut text = String::from("1,2\n3,");
    text.push_str(&"x".repeat(1 << 20));
    text.push('\n');
    std::fs::write(d.join("long.csv"), text).unwrap();
    let before = listing(d);
    let r = run(d, &["fit", "long.csv", "-k", "1", "--out", "o"]);
    let msg = r.error("1 MB field");
    assert_clean_stderr(&r, "1 MB field");
    assert!(msg.contains("long.csv"), "{msg}");
    assert!(
        msg.contains("number"),
        "the message does not say what is wrong: {msg}"
    );
    assert_nothing_written(d, &before, "o", "1 MB field");
}

#[test]
fn negative_beta_in_scientific_notation_parses() {
    let tmp = with_small_matrix();
    let d = tmp.path();
    let r = run(
        d,
        &[
            "fit", "v.csv", "-k", "2", "--beta", "-1e-300", "--out", "o", "-q",
        ],
    );
    r.assert_no_crash("--beta -1e-300");
    assert!(
        !r.stderr.contains("unexpected argument"),
        "--beta -1e-300 is read as a flag: {}",
        r.stderr
    );
    if r.code() != Some(0) {
        let msg = r.error("--beta -1e-300");
        assert!(msg.contains("beta"), "{msg}");
    }
}

#[test]
fn eps_that_underflows_f32_names_eps_and_f32() {
    let tmp = with_small_matrix();
    let d = tmp.path();
    let before = listing(d);
    let args = [
        "fit", "v.csv", "-k", "2", "--eps", "1e-50", "--dtype", "f32", "--out", "o",
    ];
    let r = run(d, &args);
    let msg = r.error("--eps 1e-50 --dtype f32");
    assert!(msg.contains("eps") && msg.contains("f32"), "{msg}");
    assert_nothing_written(d, &before, "o", "--eps 1e-50");
}

#[test]
fn huge_eps_in_f64_is_not_blamed_on_the_dtype() {
    let tmp = with_small_matrix();
    let d = tmp.path();
    let before = listing(d);
    let args = [
        "fit", "v.csv", "-k", "2", "--eps", "1e200", "--out", "o", "-q",
    ];
    let r = run(d, &args);
    r.assert_no_crash("--eps 1e200");
    if r.code() != Some(0) {
        let msg = r.error("--eps 1e200");
        assert!(
            msg.contains("eps"),
            "the message does not name --eps: {msg}"
        );
        assert!(
            !msg.contains("use f64") && !msg.contains("--dtype f64"),
            "the run is already in f64: {msg}"
        );
        assert_nothing_written(d, &before, "o", "--eps 1e200");
    }
}

#[test]
fn huge_alpha_w_gives_no_debug_struct() {
    let tmp = with_small_matrix();
    let d = tmp.path();
    let before = listing(d);
    let args = [
        "fit",
        "v.csv",
        "-k",
        "2",
        "--alpha-w",
        "1e308",
        "--out",
        "o",
        "-q",
    ];
    let r = run(d, &args);
    r.assert_no_crash("--alpha-w 1e308");
    if r.code() != Some(0) {
        let msg = r.error("--alpha-w 1e308");
        assert!(
            msg.contains("alpha"),
            "the message does not name --alpha-w: {msg}"
        );
        assert!(
            !msg.contains('{') && !msg.contains("l1_w:") && !msg.contains("Penalty"),
            "a debug struct in the message: {msg}"
        );
        assert_nothing_written(d, &before, "o", "--alpha-w 1e308");
    }
}

// ---- Broken pipes and full disks ---------------------------------------------------------

/// The files of a successful default fit, with the manifest of the set (sorted: '.' first).
const FIT_OUTPUTS: [&str; 5] = [
    nmf_cli::write::MANIFEST,
    "H.npy",
    "W.npy",
    "model.json",
    "summary.json",
];

/// Checks that `o` holds either every output of a fit or nothing at all.
fn assert_whole_or_nothing(d: &Path, before: &[String], what: &str, succeeded: bool) {
    if succeeded || d.join("o").join("summary.json").exists() {
        assert_eq!(listing(&d.join("o")), FIT_OUTPUTS, "{what}");
        let after = listing(d);
        let new: Vec<&String> = after.iter().filter(|n| !before.contains(n)).collect();
        assert_eq!(new, ["o"], "{what}: left files beside the output directory");
    } else {
        assert_nothing_written(d, before, "o", what);
    }
}

#[test]
fn broken_pipe_on_stdout_and_stderr_is_not_a_panic() {
    // As `nmf fit … -v 2>&1 | head -1`: one pipe for both, whose reader has gone. (It is
    // closed at once rather than after a line, so that every write fails, however fast the
    // run.)
    let tmp = with_small_matrix();
    let d = tmp.path();
    let before = listing(d);
    let (reader, writer) = std::io::pipe().unwrap();
    let mut c = command(d, &["fit", "v.csv", "-k", "2", "-v", "--out", "o"], MEMORY);
    c.stdout(writer.try_clone().unwrap()).stderr(writer);
    let child = c.spawn().unwrap();
    drop(c); // the parent's copies of the write end
    drop(reader);
    let status = wait(child, TIME, "| head -1");
    let r = Run {
        status,
        stdout: String::new(),
        stderr: String::new(),
    };
    r.assert_no_crash("| head -1");
    assert_whole_or_nothing(d, &before, "| head -1", status.success());
}

#[test]
fn broken_pipe_on_stderr_is_not_a_panic() {
    let tmp = with_small_matrix();
    let d = tmp.path();
    let before = listing(d);
    let mut child = command(d, &["fit", "v.csv", "-k", "2", "-v", "--out", "o"], MEMORY)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stderr.take());
    let status = wait(child, TIME, "2>broken pipe");
    let r = Run {
        status,
        stdout: String::new(),
        stderr: String::new(),
    };
    r.assert_no_crash("2>broken pipe");
    assert_whole_or_nothing(d, &before, "2>broken pipe", status.success());
}

#[test]
fn full_disk_on_stdout_is_an_error_not_a_panic() {
    let tmp = with_small_matrix();
    let d = tmp.path();
    let before = listing(d);
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .expect("/dev/full");
    let child = command(d, &["fit", "v.csv", "-k", "2", "--out", "o"], MEMORY)
        .stdout(full)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut child = child;
    let err = collect(child.stderr.take());
    let status = wait(child, TIME, ">/dev/full");
    let r = Run {
        status,
        stdout: String::new(),
        stderr: err.join().unwrap(),
    };
    // What `nmf fit` prints to stdout cannot be written: an error, not a silent success.
    let msg = r.error(">/dev/full");
    assert!(
        msg.contains("stdout") || msg.contains("output") || msg.contains("space"),
        "the message does not say what failed: {msg}"
    );
    assert_whole_or_nothing(d, &before, ">/dev/full", false);
}

// ---- Models and outputs ------------------------------------------------------------------

/// A zip archive of these members, each compressed with deflate (as
/// `numpy.savez_compressed` writes them). Local headers, central directory, end record.
fn deflated_zip(members: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut central = Vec::new();
    for (name, data) in members {
        let mut enc = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
        enc.write_all(data).unwrap();
        let packed = enc.finish().unwrap();
        let mut crc = flate2::Crc::new();
        crc.update(data);
        let offset = out.len() as u32;
        // (version needed 2.0, flags 0, method 8 = deflate, time 0, date 1980-01-01)
        let common = |b: &mut Vec<u8>| {
            for v in [20u16, 0, 8, 0, 0x21] {
                b.extend_from_slice(&v.to_le_bytes());
            }
            for v in [crc.sum(), packed.len() as u32, data.len() as u32] {
                b.extend_from_slice(&v.to_le_bytes());
            }
            b.extend_from_slice(&(name.len() as u16).to_le_bytes());
            b.extend_from_slice(&0u16.to_le_bytes()); // extra field length
        };
        out.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
        common(&mut out);
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(&packed);
        central.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
        central.extend_from_slice(&20u16.to_le_bytes()); // version made by
        common(&mut central);
        // comment length, disk, internal and external attributes, offset of the local header
        for v in [0u16, 0, 0] {
            central.extend_from_slice(&v.to_le_bytes());
        }
        central.extend_from_slice(&0u32.to_le_bytes());
        central.extend_from_slice(&offset.to_le_bytes());
        central.extend_from_slice(name.as_bytes());
    }
    let cd_offset = out.len() as u32;
    out.extend_from_slice(&central);
    out.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    let n = members.len() as u16;
    for v in [0u16, 0, n, n] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out.extend_from_slice(&(central.len() as u32).to_le_bytes());
    out.extend_from_slice(&cd_offset.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out
}

#[test]
fn deflate_compressed_model_npz_is_readable() {
    let tmp = with_small_matrix();
    let d = tmp.path();
    run(d, &["fit", "v.csv", "-k", "2", "--out", "m", "-q"]).assert_success("fit");
    let model = nmf_core::SavedModel::load(d.join("m/model.json")).unwrap();
    let mut meta = model.clone();
    meta.w.clear();
    meta.h.clear();
    let zip = deflated_zip(&[
        ("W.npy", to_npy_bytes(model.rows, model.rank, &model.w)),
        ("H.npy", to_npy_bytes(model.rank, model.cols, &model.h)),
        ("model.json", meta.to_json().into_bytes()),
    ]);
    std::fs::write(d.join("deflated.npz"), zip).unwrap();
    // The same transform from the JSON model and from the deflated .npz: the same H.
    for (model, out) in [("m/model.json", "tj"), ("deflated.npz", "tz")] {
        run(
            d,
            &["transform", "v.csv", "--model", model, "--out", out, "-q"],
        )
        .assert_success(model);
    }
    assert_eq!(
        std::fs::read(d.join("tj/H.npy")).unwrap(),
        std::fs::read(d.join("tz/H.npy")).unwrap()
    );
}

#[test]
fn transform_into_a_fits_directory_is_refused() {
    let tmp = with_small_matrix();
    let d = tmp.path();
    run(d, &["fit", "v.csv", "-k", "2", "--out", "o", "-q"]).assert_success("fit");
    let read_all = || -> Vec<Vec<u8>> {
        FIT_OUTPUTS
            .iter()
            .map(|f| std::fs::read(d.join("o").join(f)).unwrap())
            .collect()
    };
    let before = read_all();
    let r = run(d, &["transform", "v.csv", "--model", "o", "--out", "o"]);
    let msg = r.error("transform into the fit's directory");
    assert!(
        msg.contains("overwrite") || msg.contains("fit"),
        "the message does not say why: {msg}"
    );
    assert_eq!(listing(&d.join("o")), FIT_OUTPUTS);
    assert!(read_all() == before, "the fit's files changed");
}

#[test]
fn sigterm_during_a_fit_leaves_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    std::fs::write(d.join("v.csv"), csv_matrix(60, 50)).unwrap();
    let before = listing(d);
    let args = [
        "fit",
        "v.csv",
        "-k",
        "5",
        "--max-iter",
        "1000000000",
        "--tol",
        "0",
        "-v",
        "--out",
        "o",
    ];
    let mut child = command(d, &args, MEMORY)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut seen = String::new();
    // Wait until the iterations run, then send SIGTERM.
    loop {
        let mut line = String::new();
        assert!(
            err.read_line(&mut line).unwrap() > 0,
            "stderr closed: {seen}"
        );
        seen.push_str(&line);
        if line.starts_with("iteration ") {
            break;
        }
    }
    let kill = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let rest = collect(Some(err));
    let status = wait(child, TIME, "SIGTERM");
    let r = Run {
        status,
        stdout: String::new(),
        stderr: seen + &rest.join().unwrap(),
    };
    // As Ctrl-C: an exit with an error line, not death by the signal, and nothing written.
    r.error("SIGTERM");
    assert_nothing_written(d, &before, "o", "SIGTERM");
}

// ---- The guarantee at extreme scales -----------------------------------------------------

/// Checks a successful run's loss history (in `o/summary.json`): no evaluation above the
/// previous one by more than `rise` relative; returns the history.
fn assert_history_never_rises(d: &Path, rise: f64, what: &str) -> Vec<f64> {
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("o/summary.json")).unwrap()).unwrap();
    let losses: Vec<f64> = summary["loss_history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["loss"].as_f64().unwrap())
        .collect();
    for p in losses.windows(2) {
        assert!(
            p[1] <= p[0] + rise * p[0].abs(),
            "{what}: the loss rose from {:e} to {:e} (converged: {})",
            p[0],
            p[1],
            summary["converged"]
        );
    }
    losses
}

#[test]
fn itakura_saito_in_f32_on_data_of_1e30_keeps_the_guarantee_or_says_it_cannot() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    // A 30×20 positive matrix times 10³⁰ (within f32's range, 3.4e38).
    let mut v = Vec::new();
    for i in 0..30u64 {
        for j in 0..20u64 {
            v.push((1 + (i * 7919 + j * 104_729) % 97) as f64 * 1e30);
        }
    }
    std::fs::write(d.join("v.npy"), to_npy_bytes(30, 20, &v)).unwrap();
    let before = listing(d);
    let args = [
        "fit",
        "v.npy",
        "-k",
        "3",
        "--loss",
        "itakura-saito",
        "--dtype",
        "f32",
        "--out",
        "o",
        "-q",
    ];
    let r = run(d, &args);
    if r.code() == Some(0) {
        // Between two evaluations (10 iterations) each of the 150 entries of W and H is
        // rounded once per iteration, moving the loss by about u = 6e-8 of its scale:
        // 150·10·u ≈ 9e-5. A rise of over 1e-3 is not rounding.
        assert_history_never_rises(d, 1e-3, "IS f32 ×1e30");
    } else {
        let msg = r.error("IS f32 ×1e30");
        assert!(
            msg.contains("loss") || msg.contains("iteration") || msg.contains("f32"),
            "{msg}"
        );
        assert_nothing_written(d, &before, "o", "IS f32 ×1e30");
    }
}

#[test]
fn beta_half_with_the_smallest_eps_keeps_the_guarantee_or_names_eps() {
    // 6×5 matrices with a single non-zero entry: 1 at (0, 0) with rank 1 (the loss rose from
    // about 1 to 9e161, reported as converged), 46 at (0, 0) with rank 2 (a loss of −4e34).
    for (value, k) in [("1", "1"), ("46", "2")] {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        let mut text = String::new();
        for i in 0..6 {
            let row: Vec<&str> = (0..5)
                .map(|j| if (i, j) == (0, 0) { value } else { "0" })
                .collect();
            text.push_str(&row.join(","));
            text.push('\n');
        }
        std::fs::write(d.join("v.csv"), text).unwrap();
        let before = listing(d);
        let args = [
            "fit", "v.csv", "-k", k, "--beta", "0.5", "--eps", "5e-324", "--init", "random",
            "--out", "o", "-q",
        ];
        let what = args.join(" ");
        let r = run(d, &args);
        if r.code() == Some(0) {
            // f64: a rise beyond 1e-9 of the loss is not rounding (u = 1.1e-16, at most 22
            // entries in W and H, 10 iterations between evaluations).
            let losses = assert_history_never_rises(d, 1e-9, &what);
            // A β-divergence is ≥ 0; its computed sum may fall below 0 by the rounding of
            // its terms, each at most about the initial loss.
            let floor = -1e-9 * losses[0].abs();
            assert!(
                losses.iter().all(|&l| l >= floor),
                "{what}: a negative loss: {losses:?}"
            );
        } else {
            let msg = r.error(&what);
            assert!(msg.contains("eps"), "{what}: {msg}");
            assert_nothing_written(d, &before, "o", &what);
        }
    }
}

/// Guards the harness itself: the wrapper of [`command`] applies the memory limit (as the
/// kernel reports it for the process it runs), so the tests above do test bounded memory.
#[test]
fn the_memory_limit_is_applied() {
    let tmp = tempfile::tempdir().unwrap();
    let out = wrapped(tmp.path(), "cat", &["/proc/self/limits"], MEMORY)
        .output()
        .unwrap();
    let limits = String::from_utf8_lossy(&out.stdout);
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max address space"))
        .unwrap_or_else(|| panic!("no address-space line in {limits}"));
    let soft: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(soft[3], MEMORY.to_string(), "{line}");
}
