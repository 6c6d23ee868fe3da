//! Initial factors.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

/// Random initial factors `(W, H)` in row-major order, as described at
/// [`Init::Random`](crate::Init::Random): every entry `|N(0,1)|·√(mean/k)` from a ChaCha8
/// generator seeded with `seed`, H (k×n) drawn first, then W (m×k), in `f64`.
///
/// The values depend only on `(m, n, k, mean, seed)`, never on the backend or scalar type.
///
/// ```
/// use nmf_core::init::random_factors;
/// let (w, h) = random_factors(3, 4, 2, 8.0, 42);
/// assert_eq!((w.len(), h.len()), (6, 8));
/// assert!(w.iter().chain(&h).all(|&x| x >= 0.0));
/// assert_eq!(random_factors(3, 4, 2, 8.0, 42), (w, h));
/// ```
pub fn random_factors(m: usize, n: usize, k: usize, mean: f64, seed: u64) -> (Vec<f64>, Vec<f64>) {
    let scale = if mean > 0.0 && mean.is_finite() {
        (mean / k as f64).sqrt()
    } else {
        0.0
    };
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut draw = |len: usize| -> Vec<f64> {
        (0..len)
            .map(|_| {
                let z: f64 = StandardNormal.sample(&mut rng);
                scale * z.abs()
            })
            .collect()
    };
    let h = draw(k * n);
    let w = draw(m * k);
    (w, h)
}
