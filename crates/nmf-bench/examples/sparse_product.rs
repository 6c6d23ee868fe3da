//! The sparse × dense products of a sparse fit, hand-written (nmf-core's `sparse::spmm_rows`
//! on the calling thread for 1 thread; `sparse::spmm_par`, the same kernel over blocks of rows
//! on rayon's pool, the pass the sparse data term runs, for 2) against faer's generic
//! sparse × dense product (`faer::sparse::linalg::matmul::sparse_dense_matmul`), on the same
//! compressed arrays, rank 20, `f64`:
//!
//! - `V·Hᵀ` (m×k, the W half-step): V by rows times Hᵀ (n×k);
//! - `(WᵀV)ᵀ = Vᵀ·W` (n×k, the H half-step): V by columns (the rows of Vᵀ) times W (m×k).
//!
//! Each side gets its factor in its own layout (row-major n×k or m×k for the hand-written
//! kernel, faer's column-major `Mat` for faer), made before timing. Matrices: the bundled
//! Brown corpus (500 × 15,820, 255,342 counts) and random 10,000 × 5,000 matrices at 0.1%, 1%
//! and 10% density. Threads: 1 and 2, each in a child process with `RAYON_NUM_THREADS` set
//! (rayon's global pool is sized once per process); faer's sparse × dense product runs on one
//! thread whatever `Par` it is given (faer 0.24 ignores it), so its two columns measure the
//! same thing twice. Each figure is the median of repeated calls, the two sides alternated
//! call by call so that a change in the machine's load hits both.
//!
//! Reading the figures: at 1 thread both run on the calling thread, each evicting the other's
//! data from the core's caches (as the other passes of a fit would): a kernel against a
//! kernel. At 2 threads the hand-written pass runs on rayon's workers, which are woken for
//! every call (on a loaded machine that alone can cost more than a small product) and run on
//! another core than faer's calling thread, which keeps its data in its own caches between
//! calls: there the small products measure the scheduler as much as the kernels.
//!
//! `cargo run --release -p nmf-bench --example sparse_product`

use std::process::Command;
use std::time::Instant;

use nmf_core::sparse::{Csr, CsrRef, Duplicates, row_blocks, spmm_par, spmm_rows};
use nmf_faer::faer::sparse::linalg::matmul::sparse_dense_matmul;
use nmf_faer::faer::sparse::{SparseRowMatRef, SymbolicSparseRowMatRef};
use nmf_faer::faer::{Accum, Mat, Par};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const K: usize = 20;

/// The Brown corpus from the bundled Matrix Market file (coordinate, 1-based, counts).
fn brown() -> Csr<f64> {
    let gz = include_bytes!("../../nmf-cli/data/brown_docterm.mtx.gz");
    let mut text = String::new();
    std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&gz[..]), &mut text)
        .expect("the bundled file is gzip text");
    let mut lines = text.lines().filter(|l| !l.starts_with('%'));
    let size: Vec<usize> = lines
        .next()
        .expect("a size line")
        .split_whitespace()
        .map(|x| x.parse().expect("a size"))
        .collect();
    let (mut r, mut c, mut v) = (vec![], vec![], vec![]);
    for l in lines {
        let mut f = l.split_whitespace();
        let mut next = || f.next().expect("three fields");
        r.push(next().parse::<usize>().expect("a row") - 1);
        c.push(next().parse::<usize>().expect("a column") - 1);
        v.push(next().parse::<f64>().expect("a value"));
    }
    assert_eq!(v.len(), size[2], "the file's entry count");
    Csr::from_triplets(size[0], size[1], &r, &c, &v, Duplicates::Sum).expect("a valid matrix")
}

/// A random m×n matrix with about `density`·m·n stored entries, uniform in [0.5, 5).
fn random(m: usize, n: usize, density: f64, seed: u64) -> Csr<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let nnz = (density * (m * n) as f64).round() as usize;
    let (mut r, mut c, mut v) = (
        Vec::with_capacity(nnz),
        Vec::with_capacity(nnz),
        Vec::with_capacity(nnz),
    );
    for _ in 0..nnz {
        r.push(rng.random_range(0..m));
        c.push(rng.random_range(0..n));
        v.push(rng.random_range(0.5..5.0));
    }
    Csr::from_triplets(m, n, &r, &c, &v, Duplicates::Sum).expect("a valid matrix")
}

/// faer's view of the same compressed rows.
fn faer_view(x: CsrRef<'_, f64>) -> SparseRowMatRef<'_, usize, f64> {
    let sym =
        SymbolicSparseRowMatRef::new_checked(x.nrows(), x.ncols(), x.indptr(), None, x.indices());
    SparseRowMatRef::new(sym, x.data())
}

/// Median seconds per call of `ours` and `faer`, alternated, over at least 5 calls each and
/// about 0.4 s in all (at most 200 calls each).
fn time_pair(ours: &mut dyn FnMut(), faer: &mut dyn FnMut()) -> (f64, f64) {
    ours();
    faer();
    let (mut a, mut b) = (Vec::new(), Vec::new());
    let start = Instant::now();
    while a.len() < 5 || (start.elapsed().as_secs_f64() < 0.4 && a.len() < 200) {
        let t = Instant::now();
        ours();
        a.push(t.elapsed().as_secs_f64());
        let t = Instant::now();
        faer();
        b.push(t.elapsed().as_secs_f64());
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    (median(&mut a), median(&mut b))
}

/// One product X·B (X r×c sparse, B c×k): hand-written against faer; checks that both give
/// the same matrix (within the rounding of sums of c non-negative terms).
fn measure(x: CsrRef<'_, f64>, threads: usize, seed: u64) -> (f64, f64) {
    let (r, c) = x.shape();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let b_rows: Vec<f64> = (0..c * K).map(|_| rng.random_range(0.1..1.0)).collect();
    let b_faer = Mat::from_fn(c, K, |j, a| b_rows[j * K + a]);
    let blocks = row_blocks(x, 4 * threads);
    let fx = faer_view(x);
    let par = if threads == 1 {
        Par::Seq
    } else {
        Par::rayon(threads)
    };
    let mut out = vec![0.0; r * K];
    let mut dst = Mat::<f64>::zeros(r, K);
    // One thread: the kernel on the calling thread; two: the pass on rayon's pool (whose
    // workers must be woken for each call: on a loaded machine that wake-up can cost more
    // than a small product).
    let (ours, faer) = time_pair(
        &mut || {
            if threads == 1 {
                spmm_rows(x, 0..r, &b_rows, K, &mut out, nmf_core::Accum::Replace)
            } else {
                spmm_par(x, &blocks, &b_rows, K, &mut out)
            }
        },
        &mut || sparse_dense_matmul(dst.as_mut(), Accum::Replace, fx, b_faer.as_ref(), 1.0, par),
    );
    let tol = 2.1 * c as f64 * f64::EPSILON;
    for i in 0..r {
        for a in 0..K {
            let (p, q) = (out[i * K + a], dst[(i, a)]);
            assert!(
                (p - q).abs() <= tol * p.abs().max(q.abs()),
                "({i}, {a}): {p} vs {q}"
            );
        }
    }
    (ours, faer)
}

/// The matrices, by name.
fn matrices() -> Vec<(String, Csr<f64>)> {
    let mut out = vec![("Brown 500×15820".to_string(), brown())];
    for (d, name) in [(0.001, "0.1%"), (0.01, "1%"), (0.1, "10%")] {
        out.push((
            format!("random 10000×5000 {name}"),
            random(10_000, 5_000, d, 7),
        ));
    }
    out
}

/// The child: every measurement at the thread count of rayon's global pool, one line each:
/// `matrix<TAB>product<TAB>nnz<TAB>ours seconds<TAB>faer seconds`.
fn child() {
    let threads = rayon_threads();
    for (name, x) in matrices() {
        let xt = x.transpose().expect("the transpose fits in memory");
        for (product, m, seed) in [("V·Hᵀ", x.view(), 1), ("(WᵀV)ᵀ = Vᵀ·W", xt.view(), 2)]
        {
            let (ours, faer) = measure(m, threads, seed);
            println!("{name}\t{product}\t{}\t{ours}\t{faer}", m.nnz());
        }
    }
}

/// The threads of rayon's global pool, as set for this process.
fn rayon_threads() -> usize {
    std::env::var("RAYON_NUM_THREADS")
        .ok()
        .and_then(|t| t.parse().ok())
        .expect("the child runs with RAYON_NUM_THREADS set")
}

fn main() {
    if std::env::args().nth(1).as_deref() == Some("--child") {
        child();
        return;
    }
    let exe = std::env::current_exe().expect("this program's path");
    let runs: Vec<Vec<Vec<String>>> = [1, 2]
        .iter()
        .map(|t| {
            let o = Command::new(&exe)
                .arg("--child")
                .env("RAYON_NUM_THREADS", t.to_string())
                .output()
                .expect("the child runs");
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
            String::from_utf8(o.stdout)
                .expect("UTF-8")
                .lines()
                .map(|l| l.split('\t').map(str::to_string).collect())
                .collect()
        })
        .collect();
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "Sparse × dense products, rank {K}, f64: milliseconds per call (median), and faer's time \
         over the hand-written one's. Load average at the end: {}",
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    );
    println!(
        "| matrix | product | nnz | hand-written, 1 thread | faer, 1 thread | faer / hand | hand-written, 2 threads | faer, 2 threads | faer / hand |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for (one, two) in runs[0].iter().zip(&runs[1]) {
        let ms = |s: &str| s.parse::<f64>().expect("seconds") * 1e3;
        let (o1, f1, o2, f2) = (ms(&one[3]), ms(&one[4]), ms(&two[3]), ms(&two[4]));
        println!(
            "| {} | {} | {} | {o1:.3} | {f1:.3} | {:.1}× | {o2:.3} | {f2:.3} | {:.1}× |",
            one[0],
            one[1],
            one[2],
            f1 / o1,
            f2 / o2
        );
    }
}
