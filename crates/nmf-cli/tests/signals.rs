//! End-to-end tests of signals and of standard streams that cannot be written: SIGTERM and
//! SIGHUP stop a run like Ctrl-C (exit code 130, nothing written), also while it reads; a
//! closed pipe or a full disk on stdout or stderr ends the run with exit code 1, never a
//! panic (exit code 101).
#![cfg(unix)]

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

mod common;
use common::stderr;

/// Writes `v.csv`, 60×50: with rank 5 each iteration is fast, and with [`ENDLESS`] a run
/// does not end by itself.
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

const ENDLESS: [&str; 4] = ["--max-iter", "1000000000", "--tol", "0"];

fn spawn(dir: &Path, args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_nmf"))
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn send(child: &Child, signal: libc::c_int) {
    let pid = libc::pid_t::try_from(child.id()).unwrap();
    // SAFETY: kill has no memory-safety preconditions.
    assert_eq!(unsafe { libc::kill(pid, signal) }, 0);
}

/// Waits for `child` at most `limit`, killing it (and failing) past that.
fn wait_at_most(child: &mut Child, limit: Duration) -> std::process::ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            return s;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            panic!("still running after {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Checks that no output and no staging directory exist in `dir` (besides `v.csv`).
fn nothing_written(dir: &Path) {
    let left: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n != "v.csv")
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

/// Starts an endless fit, sends `signal` once it reports its first iterations, and checks
/// that it exits with 130, says how far it got, and writes nothing.
fn signal_stops_the_fit(signal: libc::c_int) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    write_endless_data(dir);
    let mut args = vec!["fit", "v.csv", "-k", "5", "--verbose", "--out", "o"];
    args.extend_from_slice(&ENDLESS);
    let mut child = spawn(dir, &args);
    let mut err = BufReader::new(child.stderr.take().unwrap());
    loop {
        let mut line = String::new();
        assert!(err.read_line(&mut line).unwrap() > 0, "stderr closed");
        if line.starts_with("iteration ") {
            break;
        }
    }
    send(&child, signal);
    let status = wait_at_most(&mut child, Duration::from_secs(30));
    let mut rest = String::new();
    err.read_to_string(&mut rest).unwrap();
    assert_eq!(status.code(), Some(130), "{rest}");
    let last = rest.lines().last().unwrap_or("");
    assert!(
        last.starts_with("error: interrupted (Ctrl-C, SIGTERM or SIGHUP) after ")
            && last.ends_with(" iterations; nothing was written"),
        "{rest}"
    );
    nothing_written(dir);
}

#[test]
fn sigterm_stops_the_fit_and_writes_nothing() {
    signal_stops_the_fit(libc::SIGTERM);
}

#[test]
fn sighup_stops_the_fit_and_writes_nothing() {
    signal_stops_the_fit(libc::SIGHUP);
}

#[test]
fn a_signal_while_reading_ends_the_run() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    // A named pipe as input: nmf blocks reading it, as on a slow or endless file.
    let fifo = dir.join("v.csv");
    let c = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let mut child = spawn(dir, &["fit", "v.csv", "-k", "2", "--out", "o"]);
    // Opening the pipe for writing succeeds once nmf has opened it for reading: it is then
    // reading (its handler installed); the pipe stays open and empty.
    let writer = {
        use std::os::unix::fs::OpenOptionsExt;
        let start = Instant::now();
        loop {
            match std::fs::OpenOptions::new()
                .write(true)
                .custom_flags(libc::O_NONBLOCK)
                .open(&fifo)
            {
                Ok(w) => break w,
                // ENXIO: no reader yet.
                Err(e) if e.raw_os_error() == Some(libc::ENXIO) => {
                    if let Some(status) = child.try_wait().unwrap() {
                        panic!("nmf exited before reading: {status:?}");
                    }
                    assert!(start.elapsed() < Duration::from_secs(30), "nmf never read");
                    std::thread::sleep(Duration::from_millis(10));
                }
                Err(e) => panic!("{e}"),
            }
        }
    };
    let start = Instant::now();
    send(&child, libc::SIGTERM);
    let status = wait_at_most(&mut child, Duration::from_secs(30));
    let took = start.elapsed();
    drop(writer);
    let o = child.wait_with_output().unwrap();
    assert_eq!(status.code(), Some(130), "{}", stderr(&o));
    // Either the reader sees the signal (its read of the pipe is interrupted, and it names the
    // file) or the handler ends the run after its grace period: both say what happened.
    let err = stderr(&o);
    assert!(
        [
            "error: interrupted (Ctrl-C, SIGTERM or SIGHUP); nothing was written\n",
            "error: interrupted (Ctrl-C, SIGTERM or SIGHUP) while reading v.csv; nothing was written\n",
        ]
        .contains(&err.as_str()),
        "{err}"
    );
    // The handler waits 2 s (its grace period) for the run to stop by itself.
    assert!(took < Duration::from_secs(15), "{took:?}");
    nothing_written(dir);
}

#[test]
fn a_closed_pipe_on_stderr_ends_the_fit_with_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    write_endless_data(dir);
    // `nmf fit … -v 2>&1 | head -1`: stderr is closed after the first line.
    let mut args = vec!["fit", "v.csv", "-k", "5", "--verbose", "--out", "o"];
    args.extend_from_slice(&ENDLESS);
    let mut child = spawn(dir, &args);
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    err.read_line(&mut line).unwrap();
    drop(err);
    let status = wait_at_most(&mut child, Duration::from_secs(60));
    assert_eq!(status.code(), Some(1), "{status:?}");
    let mut out = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    assert_eq!(out, "");
    nothing_written(dir);
}

#[test]
fn a_closed_pipe_on_stdout_ends_the_fit_with_an_error_after_writing() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    write_endless_data(dir);
    // `nmf fit … | head -0`: stdout is closed before the run reports what it wrote.
    let mut child = Command::new(env!("CARGO_BIN_EXE_nmf"))
        .args(["fit", "v.csv", "-k", "2", "--max-iter", "5", "--out", "o"])
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let status = wait_at_most(&mut child, Duration::from_secs(60));
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert_eq!(status.code(), Some(1), "{err}");
    assert!(
        err.ends_with("error: cannot write to standard output: Broken pipe (os error 32)\n"),
        "{err}"
    );
    // The outputs were in place before the report: whole.
    assert!(dir.join("o/W.npy").exists() && dir.join("o/summary.json").exists());
}

/// Runs `nmf` with stdout or stderr (`which`: 1 or 2) on /dev/full.
fn on_dev_full(dir: &Path, args: &[&str], which: u8) -> std::process::Output {
    let full = || {
        std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap()
    };
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_nmf"));
    cmd.args(args).current_dir(dir).stdin(Stdio::null());
    if which == 1 {
        cmd.stdout(full()).stderr(Stdio::piped());
    } else {
        cmd.stdout(Stdio::piped()).stderr(full());
    }
    cmd.output().unwrap()
}

#[test]
fn a_full_disk_on_stdout_or_stderr_is_an_error_not_a_panic() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    write_endless_data(dir);
    // `nmf fit … > /dev/full`: the outputs are written, the report fails.
    let o = on_dev_full(
        dir,
        &["fit", "v.csv", "-k", "2", "--max-iter", "5", "--out", "o"],
        1,
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).ends_with(
            "\nerror: cannot write to standard output: No space left on device (os error 28)\n"
        ),
        "{}",
        stderr(&o)
    );
    assert!(dir.join("o/W.npy").exists() && dir.join("o/summary.json").exists());
    // `nmf fit … -v 2> /dev/full`: the settings line fails, before the fit; nothing written.
    let o = on_dev_full(
        dir,
        &[
            "fit",
            "v.csv",
            "-k",
            "2",
            "-v",
            "--max-iter",
            "5",
            "--out",
            "e",
        ],
        2,
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(!dir.join("e").exists());
    // Help and errors of the command line too.
    let o = on_dev_full(dir, &["--help"], 1);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).starts_with("error: cannot write to standard output: "));
    let o = on_dev_full(dir, &["fit"], 2);
    assert_eq!(o.status.code(), Some(2));
    let o = on_dev_full(dir, &["transform", "v.csv", "--model", "nowhere"], 2);
    assert_eq!(o.status.code(), Some(1));
}

#[test]
fn a_signal_while_writing_removes_the_staged_files_and_keeps_the_previous_set() {
    use nmf_cli::interrupt::INTERRUPTED;
    use nmf_cli::write::{Command as Cmd, Staged};
    use std::sync::atomic::Ordering;
    // The writer as `nmf fit` runs it, in this process: the other tests of this file run the
    // binary, so the flag set here reaches no other test.
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("o");
    let mut s = Staged::new(&out, Cmd::Fit, false).unwrap();
    s.add("W.npy", b"old").unwrap();
    s.commit().unwrap();
    let mut s = Staged::new(&out, Cmd::Fit, false).unwrap();
    s.add("W.npy", &vec![1u8; 9 << 20]).unwrap();
    INTERRUPTED.store(true, Ordering::SeqCst);
    let e = s.add("H.npy", b"h").unwrap_err();
    INTERRUPTED.store(false, Ordering::SeqCst);
    assert_eq!(e.code, 130);
    assert_eq!(
        e.message,
        "interrupted (Ctrl-C, SIGTERM or SIGHUP) while writing; nothing was written"
    );
    drop(s);
    let mut names: Vec<String> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, vec!["o"]);
    assert_eq!(std::fs::read(out.join("W.npy")).unwrap(), b"old");
}
