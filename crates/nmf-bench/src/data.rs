//! The benchmark problem: a fixed non-negative V and fixed initial factors, from a seed.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// A benchmark problem, in row-major `f64` (converted to each scalar type by rounding).
#[derive(Debug, Clone)]
pub struct Problem {
    /// Rows of V.
    pub m: usize,
    /// Columns of V.
    pub n: usize,
    /// The rank of the factorization.
    pub k: usize,
    /// V (m×n), row-major.
    pub v: Vec<f64>,
    /// Initial W (m×k), row-major.
    pub w0: Vec<f64>,
    /// Initial H (k×n), row-major.
    pub h0: Vec<f64>,
    /// Number of nonzero entries of V.
    pub nnz: usize,
    /// The mean of V.
    pub mean: f64,
}

impl Problem {
    /// `V = W*·H* + N`: W* (m×k) and H* (k×n) with entries uniform in [0, 1) and a noise N
    /// uniform in [0, 0.1·k/4), all from a ChaCha8 generator seeded with `seed`; then the
    /// initial factors of `nmf_core::init::random_factors(m, n, k, mean(V), seed)`, the ones
    /// `Nmf::params(k).seed(seed)` would use. Every entry of V is positive.
    ///
    /// ```
    /// let p = nmf_bench::data::Problem::new(4, 3, 2, 1);
    /// assert_eq!((p.v.len(), p.w0.len(), p.h0.len(), p.nnz), (12, 8, 6, 12));
    /// assert_eq!(p.v, nmf_bench::data::Problem::new(4, 3, 2, 1).v);
    /// ```
    pub fn new(m: usize, n: usize, k: usize, seed: u64) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x6e6d_662d_6265_6e63);
        let ws: Vec<f64> = (0..m * k).map(|_| rng.random::<f64>()).collect();
        let hs: Vec<f64> = (0..k * n).map(|_| rng.random::<f64>()).collect();
        let noise = 0.1 * k as f64 / 4.0;
        let mut v: Vec<f64> = (0..m * n).map(|_| noise * rng.random::<f64>()).collect();
        for i in 0..m {
            let row = &mut v[i * n..(i + 1) * n];
            for l in 0..k {
                let a = ws[i * k + l];
                for (x, &h) in row.iter_mut().zip(&hs[l * n..(l + 1) * n]) {
                    *x += a * h;
                }
            }
        }
        let nnz = v.iter().filter(|&&x| x != 0.0).count();
        let mean = v.iter().sum::<f64>() / (m * n) as f64;
        let (w0, h0) = nmf_core::init::random_factors(m, n, k, mean, seed);
        Self {
            m,
            n,
            k,
            v,
            w0,
            h0,
            nnz,
            mean,
        }
    }
}
