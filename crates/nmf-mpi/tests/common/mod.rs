//! What the mpirun tests share: running `mpirun -np P nmf-mpi ...` with a time limit.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The nmf-mpi binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_nmf-mpi");

/// Runs `mpirun -np p nmf-mpi args...`, killed (and the test failed) after `limit`. Each run
/// has its own session directory (`orte_tmpdir_base`): Open MPI 4 creates `/tmp/ompi.HOST.UID`
/// otherwise, and two runs starting together (the tests run in parallel) race on it and one
/// fails with "mkdir ... File exists".
pub fn mpirun(p: usize, args: &[&str], limit: Duration) -> Output {
    let session = tempfile::tempdir().unwrap();
    let mut child = Command::new("mpirun")
        .args([
            "--allow-run-as-root",
            "--oversubscribe",
            "-np",
            &p.to_string(),
            BIN,
        ])
        .args(args)
        .env("OMPI_MCA_btl", "self,vader,tcp")
        .env("OMPI_MCA_orte_tmpdir_base", session.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("mpirun runs (Open MPI installed?)");
    let start = Instant::now();
    loop {
        if child.try_wait().expect("wait").is_some() {
            return child.wait_with_output().expect("output");
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let out = child.wait_with_output().expect("output");
            panic!(
                "mpirun -np {p} {args:?} still running after {limit:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// V (m×n) with about a fifth of its entries zero.
pub fn problem(m: usize, n: usize) -> Vec<f64> {
    (0..m * n)
        .map(|t| {
            let x = ((t * 7919 + 13) % 101) as f64;
            if x < 20.0 { 0.0 } else { x / 17.0 }
        })
        .collect()
}

/// V as a coordinate `.mtx`, in column-major order (a rank's or block's rows are spread over
/// the whole file).
pub fn write_mtx(path: &Path, m: usize, n: usize, v: &[f64]) {
    let mut s = String::from("%%MatrixMarket matrix coordinate real general\n% test\n");
    let nnz = v.iter().filter(|&&x| x != 0.0).count();
    s += &format!("{m} {n} {nnz}\n");
    for j in 0..n {
        for i in 0..m {
            let x = v[i * n + j];
            if x != 0.0 {
                s += &format!("{} {} {x:e}\n", i + 1, j + 1);
            }
        }
    }
    std::fs::write(path, s).unwrap();
}
