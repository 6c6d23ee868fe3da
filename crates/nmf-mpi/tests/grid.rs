//! `mpirun -np P nmf-mpi fit --grid PRxPC` on this machine (loopback): the 2-D grid fits
//! (1x1 on one process, 1x2 and 2x1 on 2, 1x3 and 3x1 on 3, 2x2 on 4, oversubscribed) equal
//! the 1-D fit of one process (`-np 1`) to the rounding of the different order of the sums,
//! on a small dense (`.npy`) and sparse (`.mtx`) V, MU (Frobenius, KL, β = 1.5) and HALS; a
//! bad grid and a bad entry in one block end every process with a clear message within
//! seconds. Needs `mpirun` (Open MPI) on the PATH.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

mod common;

use common::{mpirun, problem, write_mtx};

fn max_rel(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs() / x.abs().max(y.abs()).max(f64::MIN_POSITIVE))
        .fold(0.0, f64::max)
}

const M: usize = 40;
const N: usize = 30;
const K: usize = 3;
const ITERS: usize = 5;

/// The fits compared: (input, loss, solver), the input 0 (dense `.npy`) or 1 (sparse
/// `.mtx`): MU and HALS on both, KL on the sparse one, β = 1.5 (MU) on the dense one.
const CASES: [(usize, &str, &str); 6] = [
    (0, "frobenius", "mu"),
    (0, "frobenius", "hals"),
    (0, "beta=1.5", "mu"),
    (1, "frobenius", "mu"),
    (1, "kl", "mu"),
    (1, "frobenius", "hals"),
];

/// `nmf-mpi fit` of `input` on `p` processes (`grid` or the 1-D distribution): W and H.
fn fit(
    p: usize,
    grid: Option<&str>,
    input: &Path,
    (loss, solver): (&str, &str),
    out: &Path,
) -> (Vec<f64>, Vec<f64>) {
    let it = ITERS.to_string();
    let k = K.to_string();
    let mut args = vec![
        "fit",
        input.to_str().unwrap(),
        "-k",
        &k,
        "--solver",
        solver,
        "--max-iter",
        &it,
        "--tol",
        "0",
        "--seed",
        "5",
        "-o",
        out.to_str().unwrap(),
    ];
    match loss.strip_prefix("beta=") {
        Some(b) => args.extend(["--beta", b]),
        None => args.extend(["--loss", loss]),
    }
    if let Some(g) = grid {
        args.extend(["--grid", g]);
    }
    let o = mpirun(p, &args, Duration::from_secs(60));
    let what = format!("{loss} {solver} -np {p} {grid:?} {}", input.display());
    assert!(
        o.status.success(),
        "{what}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let (wr, wc, w) = nmf_mpi::read_npy(&out.join("W.npy")).unwrap();
    let (hr, hc, h) = nmf_mpi::read_npy(&out.join("H.npy")).unwrap();
    assert_eq!((wr, wc, hr, hc), (M, K, K, N), "{what}");
    (w, h)
}

/// The inputs (dense `.npy`, sparse `.mtx`) of the same V, and the 1-D fit of one process
/// (`mpirun -np 1`) of every case: made once for all the tests of this file (which run in
/// parallel), in Cargo's temporary directory for tests.
#[allow(clippy::type_complexity)]
fn reference() -> &'static ([PathBuf; 2], Vec<(Vec<f64>, Vec<f64>)>) {
    static REF: OnceLock<([PathBuf; 2], Vec<(Vec<f64>, Vec<f64>)>)> = OnceLock::new();
    REF.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("nmf-mpi-grid");
        std::fs::create_dir_all(&dir).unwrap();
        let v = problem(M, N);
        let npy = dir.join("v.npy");
        nmf_mpi::write_npy(&npy, M, N, &v).unwrap();
        let mtx = dir.join("v.mtx");
        write_mtx(&mtx, M, N, &v);
        let inputs = [npy, mtx];
        let fits = CASES
            .iter()
            .enumerate()
            .map(|(c, &(i, loss, solver))| {
                let out = dir.join(format!("1d-{c}"));
                fit(1, None, &inputs[i], (loss, solver), &out)
            })
            .collect();
        (inputs, fits)
    })
}

/// Every grid of `grids` (with `p` processes) against the 1-D fit of one process, for every
/// case.
///
/// The bound is the 1-D test's (`mpirun.rs`), derived in `nmf_core::testing::mu_bound`: the
/// grid adds the H half-step's statistics (WᵀV, WᵀW, Wᵀ(V/WH), the column sums of W) over
/// its pr blocks of rows and the W half-step's (VHᵀ, HHᵀ, …) over its pc blocks of columns,
/// in another order than one process adds them; each such sum of non-negative terms is
/// within γ = 1.01·(m + n + k)·u of the exact sum in either order (the γ of `mu_bound`
/// already counts sums over the n columns as well as the m rows), and the first-order
/// recurrence of `mu_bound` propagates it through the multiplicative steps. One more
/// iteration for the start, whose scale √mean(V) is a sum added in another order too. HALS:
/// 100 times it, the margin of the nmf-core and 1-D tests (a coordinate step subtracts, so
/// there is no entry-wise bound of that form).
fn grids_equal_1d(p: usize, grids: &[&str]) {
    let (inputs, fits) = reference();
    let dir = tempfile::tempdir().unwrap();
    let u = f64::EPSILON / 2.0;
    for (c, &(i, loss, solver)) in CASES.iter().enumerate() {
        let bound = nmf_core::testing::mu_bound(ITERS + 1, M, N, K, u)
            * if solver == "hals" { 100.0 } else { 1.0 };
        let (w1, h1) = &fits[c];
        for g in grids {
            let out = dir.path().join(format!("{g}-{c}"));
            let (w, h) = fit(p, Some(g), &inputs[i], (loss, solver), &out);
            let (ew, eh) = (max_rel(&w, w1), max_rel(&h, h1));
            assert!(
                ew <= bound && eh <= bound,
                "{loss} {solver} --grid {g} {}: W within {ew:e}, H within {eh:e} of the 1-D \
                 fit, bound {bound:e}",
                inputs[i].display()
            );
        }
    }
}

#[test]
fn grids_of_two_equal_1d() {
    grids_equal_1d(2, &["1x2", "2x1"]);
}

#[test]
fn grids_of_three_equal_1d() {
    grids_equal_1d(3, &["1x3", "3x1"]);
}

/// The degenerate grid of one process: every exchange has one member.
#[test]
fn grid_1x1_equals_1d() {
    grids_equal_1d(1, &["1x1"]);
}

#[test]
fn grid_2x2_equals_1d() {
    grids_equal_1d(4, &["2x2"]);
}

/// Runs a fit expected to fail on `p` processes: every process exits with `code` within
/// seconds, the message contains `needle`, and no output is written.
fn fails(p: usize, args: &[&str], code: i32, needle: &str, out: &Path) {
    let start = Instant::now();
    let o = mpirun(p, args, Duration::from_secs(30));
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(code), "{args:?}: {err}");
    assert!(err.contains(needle), "{args:?}: {err:?} lacks {needle:?}");
    assert!(
        start.elapsed() < Duration::from_secs(20),
        "{args:?}: took {:?}",
        start.elapsed()
    );
    assert!(!out.exists(), "{args:?}: no output after an error");
}

/// A grid that is not PRxPC (refused by the option's parser on every process), one whose
/// PR·PC is not the number of processes, one with more processes than V has rows, and
/// `--scatter-output` with a grid: every process exits with the reason.
#[test]
fn a_bad_grid_stops_all() {
    let dir = tempfile::tempdir().unwrap();
    let v = problem(3, 8);
    let npy = dir.path().join("v.npy");
    nmf_mpi::write_npy(&npy, 3, 8, &v).unwrap();
    let out = dir.path().join("out");
    let (i, o) = (npy.to_str().unwrap(), out.to_str().unwrap());
    let base = ["fit", i, "-k", "2", "-o", o];
    let with = |g: &'static str| {
        let mut a = base.to_vec();
        a.extend(["--grid", g]);
        a
    };
    fails(2, &with("2by1"), 2, "--grid: expected PRxPC", &out);
    fails(
        2,
        &with("2x2"),
        1,
        "--grid 2x2 needs 4 processes (PR·PC), but mpirun started 2",
        &out,
    );
    fails(4, &with("1x4"), 1, "--grid 1x4: V is 3×8", &out);
    let mut scatter = with("1x2");
    scatter.push("--scatter-output");
    fails(
        2,
        &scatter,
        1,
        "--scatter-output is not available with --grid",
        &out,
    );
    // f32 and observed entries are fitted by rows only: refused, not ignored.
    let mut f32 = with("1x2");
    f32.extend(["--dtype", "f32"]);
    fails(2, &f32, 1, "--grid fits in f64 only", &out);
    let mut missing = with("1x2");
    missing.extend(["--missing", "unobserved"]);
    fails(
        2,
        &missing,
        1,
        "--missing unobserved is fitted by rows only",
        &out,
    );
}

/// A negative entry in block (1, 0) of a 2x2 grid: in a `.mtx` the readers of grid row 1
/// (ranks 2 and 3: they keep the rows of block row 1) find it with its line, in a `.npy` the
/// fit's collective check finds it with its global row and column; every process exits with
/// code 1 within seconds, no output is written.
#[test]
fn a_bad_entry_in_one_block_stops_all() {
    let (m, n) = (9, 6);
    let dir = tempfile::tempdir().unwrap();
    let mut v = problem(m, n);
    // Block rows of a 2x2 grid: 0..5, 5..9; block columns 0..3, 3..6.
    v[6 * n + 1] = -0.5;
    let npy = dir.path().join("bad.npy");
    nmf_mpi::write_npy(&npy, m, n, &v).unwrap();
    let mtx = dir.path().join("bad.mtx");
    write_mtx(&mtx, m, n, &v);
    let out = dir.path().join("out");
    for (input, needle) in [
        (&mtx, "rank 2: ".to_string()),
        (&npy, "negative entry -0.5 at row 6, column 1".into()),
    ] {
        let args = [
            "fit",
            input.to_str().unwrap(),
            "-k",
            "2",
            "--grid",
            "2x2",
            "-o",
            out.to_str().unwrap(),
        ];
        fails(4, &args, 1, &needle, &out);
    }
    let e = String::from_utf8_lossy(
        &mpirun(
            4,
            &[
                "fit",
                mtx.to_str().unwrap(),
                "-k",
                "2",
                "--grid",
                "2x2",
                "-o",
                out.to_str().unwrap(),
            ],
            Duration::from_secs(30),
        )
        .stderr,
    )
    .into_owned();
    assert!(e.contains("V must be finite and ≥ 0"), "{e}");
}
