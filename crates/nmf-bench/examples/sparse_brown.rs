//! Time per iteration of a fit of the bundled Brown corpus (500 × 15,820, 255,342 counts)
//! kept sparse against the same fit of its dense copy, for MU (Frobenius, KL) and HALS, on
//! the faer backend: `cargo run --release -p nmf-bench --example sparse_brown [k] [iters]`.
//! Prints the median of 3 runs of each.

use std::time::Instant;

use nmf_cli::read::mtx::{MtxMatrix, parse_sparse_cancellable};
use nmf_faer::{Faer, Loss, MatrixBackend, Nmf, Solver, sparse::SparseData};

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .map(|a| a.parse().unwrap())
        .collect();
    let k = args.first().copied().unwrap_or(20);
    let iters = args.get(1).copied().unwrap_or(30);
    let gz = include_bytes!("../../nmf-cli/data/brown_docterm.mtx.gz");
    let mut text = String::new();
    std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&gz[..]), &mut text).unwrap();
    let Ok(MtxMatrix::Sparse(c)) = parse_sparse_cancellable(&text, "brown", None) else {
        panic!("not sparse")
    };
    let (m, n) = c.shape();
    let mut dense = vec![0.0f64; m * n];
    let view = c.view();
    for i in 0..m {
        let (js, xs) = view.row(i);
        for (&j, &x) in js.iter().zip(xs) {
            dense[i * n + j] = x;
        }
    }
    let b = Faer::default();
    let dv = b.from_row_major(m, n, &dense).unwrap();
    let sv = SparseData::from_csr(c).unwrap();
    println!(
        "Brown corpus {m}×{n}, {} non-zeros, k = {k}, {iters} iterations",
        sv.nnz()
    );
    for (loss, solver) in [
        (Loss::Frobenius, Solver::Mu),
        (Loss::Frobenius, Solver::Hals),
        (Loss::KullbackLeibler, Solver::Mu),
    ] {
        let p = Nmf::params(k)
            .loss(loss)
            .solver(solver)
            .init(nmf_faer::Init::Random)
            .max_iter(iters)
            .tol(0.0)
            .seed(1)
            .check()
            .unwrap();
        let time = |f: &dyn Fn() -> f64| {
            let mut t: Vec<(f64, f64)> = (0..3)
                .map(|_| {
                    let s = Instant::now();
                    let l = f();
                    (s.elapsed().as_secs_f64(), l)
                })
                .collect();
            t.sort_by(|a, b| a.0.total_cmp(&b.0));
            t[1]
        };
        let (ts, ls) = time(&|| p.fit(&b, &sv).unwrap().final_loss());
        let (td, ld) = time(&|| p.fit(&b, &dv).unwrap().final_loss());
        println!(
            "{loss} {solver}: sparse {:.1} ms/iter (loss {ls:.6e}), dense {:.1} ms/iter (loss {ld:.6e}), dense/sparse {:.1}×",
            1e3 * ts / iters as f64,
            1e3 * td / iters as f64,
            td / ts
        );
    }
}
