//! The grid's iterations allocate nothing: a counting global allocator watches the rules of
//! nmf-core (MU for Frobenius, KL and β = 1.5; HALS) on the grid data term, dense and sparse
//! blocks, on a 1x2 and a 2x1 grid of two processes, as `crates/nmf-crosscheck/tests/
//! allocations.rs` does for one process: after the first iteration (where faer and the
//! collectives' staging buffers reach their sizes) two more iterations and a loss evaluation
//! must allocate nothing (faer on one thread). Open MPI's own buffers are C allocations, not
//! counted: what is counted is this crate's packing and exchanges and the rules around them.
//!
//! The test runs itself under `mpirun -np 2` (the processes are this test binary, filtered to
//! this test, told apart by an environment variable). Needs `mpirun` (Open MPI) on the PATH.

use std::alloc::{GlobalAlloc, Layout, System};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::time::{Duration, Instant};

use mpi::traits::*;
use nmf_core::sparse::SparseData;
use nmf_core::{Collective, DataOps, HalsOptions, HalsSolver, Loss, MatrixBackend, MuSolver};
use nmf_faer::Faer;
use nmf_mpi::MpiCollective;
use nmf_mpi::grid::{GridComm, GridData, GridSpec, Layout as GridLayout, start_pieces};

struct Counting;
static COUNT: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator, only counting.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        COUNT.fetch_add(1, Relaxed);
        // SAFETY: the caller's contract is forwarded unchanged.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract is forwarded unchanged.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        COUNT.fetch_add(1, Relaxed);
        // SAFETY: the caller's contract is forwarded unchanged.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const CHILD: &str = "NMF_MPI_GRID_ALLOCATIONS_CHILD";
const M: usize = 60;
const N: usize = 50;
const K: usize = 5;

/// V (M×N) with about a fifth of its entries zero.
fn problem() -> Vec<f64> {
    (0..M * N)
        .map(|t| {
            let x = ((t * 7919 + 13) % 101) as f64;
            if x < 20.0 { 0.0 } else { x / 17.0 }
        })
        .collect()
}

/// Allocations over two iterations and one loss evaluation, after a first iteration.
fn count<V>(b: &Faer, d: &GridData<'_, V>, l: &GridLayout, loss: Loss, hals: bool) -> usize
where
    Faer: DataOps<f64, V>,
{
    let mean = DataOps::<f64, GridData<'_, V>>::data_mean(b, d);
    let (w0, h0) = start_pieces(l, K, mean, 1);
    let (rows, cols) = (l.w_rows(l.i, l.j).len(), l.h_cols(l.i, l.j).len());
    let w0 = b.from_row_major(rows, K, &w0).unwrap();
    let h0 = b.from_row_major(K, cols, &h0).unwrap();
    let eps = 1e-10;
    if hals {
        let options = HalsOptions {
            alpha: 0.0,
            ..HalsOptions::default()
        };
        let mut s =
            HalsSolver::<f64, Faer, GridData<'_, V>>::new(b, d, w0, h0, eps, options).unwrap();
        s.step();
        let before = COUNT.load(Relaxed);
        s.step();
        s.step();
        std::hint::black_box(s.evaluate());
        COUNT.load(Relaxed) - before
    } else {
        let mut s = MuSolver::<f64, Faer, GridData<'_, V>>::new(b, d, w0, h0, loss, eps).unwrap();
        s.step();
        let before = COUNT.load(Relaxed);
        s.step();
        s.step();
        std::hint::black_box(s.evaluate());
        COUNT.load(Relaxed) - before
    }
}

/// One process of the `mpirun` run: every case on every grid; the counts of all processes
/// are summed (every process makes the same calls, so none waits alone) and each process
/// checks the sums.
fn child() {
    let universe = mpi::initialize().expect("MPI initialises");
    let world = universe.world();
    let b = Faer::sequential();
    let v = problem();
    let cases = [
        (Loss::Frobenius, false),
        (Loss::KullbackLeibler, false),
        (Loss::Beta(1.5), false),
        (Loss::Frobenius, true),
    ];
    let mut counts = Vec::new();
    for spec in ["1x2", "2x1"] {
        let spec: GridSpec = spec.parse().unwrap();
        spec.check(world.size() as usize, M, N).unwrap();
        let g = GridComm::new(&world, spec, M, N);
        let l = g.layout;
        let (rows, cols) = (l.rows(), l.cols());
        let dense = faer::Mat::from_fn(rows.len(), cols.len(), |i, j| {
            v[(rows.start + i) * N + cols.start + j]
        });
        let (mut ri, mut ci, mut vi) = (vec![], vec![], vec![]);
        for i in 0..rows.len() {
            for j in 0..cols.len() {
                let x = dense[(i, j)];
                if x != 0.0 {
                    ri.push(i);
                    ci.push(j);
                    vi.push(x);
                }
            }
        }
        let sparse = SparseData::from_triplets(rows.len(), cols.len(), &ri, &ci, &vi).unwrap();
        let dd = GridData::new(dense, &g).unwrap();
        let ds = GridData::new(sparse, &g).unwrap();
        for (loss, hals) in cases {
            counts.push((
                format!("{spec} dense {loss} hals={hals}"),
                count(&b, &dd, &l, loss, hals),
            ));
            counts.push((
                format!("{spec} sparse {loss} hals={hals}"),
                count(&b, &ds, &l, loss, hals),
            ));
        }
    }
    let mut sums: Vec<f64> = counts.iter().map(|c| c.1 as f64).collect();
    MpiCollective::new(&world).all_reduce_sum(&mut sums);
    let bad: Vec<String> = counts
        .iter()
        .zip(&sums)
        .filter(|(_, s)| **s != 0.0)
        .map(|((what, _), s)| format!("{what}: {s} allocations"))
        .collect();
    assert!(bad.is_empty(), "iterations allocated: {bad:?}");
}

#[test]
fn grid_iterations_allocate_nothing() {
    if std::env::var_os(CHILD).is_some() {
        return child();
    }
    let session = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    let mut run = Command::new("mpirun")
        .args(["--allow-run-as-root", "--oversubscribe", "-np", "2"])
        .arg(&exe)
        .args([
            "--exact",
            "grid_iterations_allocate_nothing",
            "--test-threads=1",
            "--nocapture",
        ])
        .env(CHILD, "1")
        .env("OMPI_MCA_btl", "self,vader,tcp")
        .env("OMPI_MCA_orte_tmpdir_base", session.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("mpirun runs (Open MPI installed?)");
    let start = Instant::now();
    while run.try_wait().unwrap().is_none() {
        if start.elapsed() > Duration::from_secs(60) {
            let _ = run.kill();
            panic!("mpirun still running after 60 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = run.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
