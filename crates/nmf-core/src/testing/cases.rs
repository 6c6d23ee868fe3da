//! Random data matrices for the property suite, drawn widely: zeros, zero rows and columns,
//! sparse patterns, count data, exactly low-rank matrices, entries across many orders of
//! magnitude and a global scale from tiny to huge, every shape up to a bound and every rank
//! from 1 to past min(m, n).

use proptest::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::Scalar;

/// The kind of matrix drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pattern {
    /// Every entry positive, magnitudes spread over orders of magnitude.
    Dense,
    /// Most entries zero (70–95%).
    Sparse,
    /// Dense, with some whole rows and columns set to zero.
    ZeroRowsAndColumns,
    /// All zero.
    AllZero,
    /// Small integer counts (0–5), about half of them zero.
    Counts,
    /// An exact product of non-negative factors of rank r ≤ 3 with some zeros.
    LowRank,
}

/// One drawn case: V (m×n, row-major, in `f64`; convert with `T::from_f64`), a rank k and a
/// seed for the initial factors.
#[derive(Debug, Clone)]
pub struct DataCase {
    /// Rows of V.
    pub m: usize,
    /// Columns of V.
    pub n: usize,
    /// The rank to fit, from 1 to min(m, n) + 2.
    pub k: usize,
    /// V in row-major order, already rounded to the scalar type of the suite.
    pub v: Vec<f64>,
    /// The pattern drawn.
    pub pattern: Pattern,
    /// The seed of the random initialisation.
    pub seed: u64,
}

impl DataCase {
    /// The mean entry of V.
    pub fn mean(&self) -> f64 {
        self.v.iter().sum::<f64>() / self.v.len() as f64
    }
    /// Whether row i of V is all zero.
    pub fn zero_row(&self, i: usize) -> bool {
        self.v[i * self.n..(i + 1) * self.n]
            .iter()
            .all(|&x| x == 0.0)
    }
    /// Whether column j of V is all zero.
    pub fn zero_col(&self, j: usize) -> bool {
        (0..self.m).all(|i| self.v[i * self.n + j] == 0.0)
    }
}

/// Decimal exponents `(per-entry spread, global scale)` such that every product and sum of
/// the updates stays inside the range of `T` (f32: entries within 10^±9 overall).
fn magnitudes<T: Scalar>() -> (i32, i32) {
    if T::unit_roundoff() > 1e-10 {
        (3, 6)
    } else {
        (6, 30)
    }
}

/// Cases with `1 ≤ m, n ≤ max_dim`, for the scalar type `T`.
pub fn data_case<T: Scalar>(max_dim: usize) -> impl Strategy<Value = DataCase> {
    let patterns = prop_oneof![
        3 => Just(Pattern::Dense),
        2 => Just(Pattern::Sparse),
        2 => Just(Pattern::ZeroRowsAndColumns),
        1 => Just(Pattern::AllZero),
        2 => Just(Pattern::Counts),
        2 => Just(Pattern::LowRank),
    ];
    (
        1..=max_dim,
        1..=max_dim,
        patterns,
        any::<u64>(),
        any::<u64>(),
    )
        .prop_flat_map(|(m, n, pattern, data_seed, seed)| {
            (Just((m, n, pattern, data_seed, seed)), 1..=m.min(n) + 2)
        })
        .prop_map(|((m, n, pattern, data_seed, seed), k)| {
            let v = draw_matrix::<T>(m, n, pattern, data_seed);
            DataCase {
                m,
                n,
                k,
                v,
                pattern,
                seed,
            }
        })
}

fn draw_matrix<T: Scalar>(m: usize, n: usize, pattern: Pattern, seed: u64) -> Vec<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (spread, global) = magnitudes::<T>();
    let scale = 10f64.powi(rng.random_range(-global..=global));
    let entry = |rng: &mut ChaCha8Rng| {
        let mantissa: f64 = rng.random_range(1.0..10.0);
        mantissa * 10f64.powi(rng.random_range(-spread..=spread)) * scale
    };
    let mut v: Vec<f64> = match pattern {
        Pattern::Dense | Pattern::ZeroRowsAndColumns => {
            (0..m * n).map(|_| entry(&mut rng)).collect()
        }
        Pattern::Sparse => {
            let density = rng.random_range(0.05..0.3);
            (0..m * n)
                .map(|_| {
                    if rng.random_bool(density) {
                        entry(&mut rng)
                    } else {
                        0.0
                    }
                })
                .collect()
        }
        Pattern::AllZero => vec![0.0; m * n],
        Pattern::Counts => (0..m * n)
            .map(|_| {
                if rng.random_bool(0.5) {
                    0.0
                } else {
                    rng.random_range(1..=5) as f64 * scale
                }
            })
            .collect(),
        Pattern::LowRank => {
            let r = rng.random_range(1..=3usize);
            let mut factor = |len| -> Vec<f64> {
                (0..len)
                    .map(|_| {
                        if rng.random_bool(0.2) {
                            0.0
                        } else {
                            rng.random_range(0.1..2.0)
                        }
                    })
                    .collect()
            };
            let (w, h) = (factor(m * r), factor(r * n));
            (0..m * n)
                .map(|ij| {
                    let (i, j) = (ij / n, ij % n);
                    scale * (0..r).map(|a| w[i * r + a] * h[a * n + j]).sum::<f64>()
                })
                .collect()
        }
    };
    if pattern == Pattern::ZeroRowsAndColumns {
        let rows = rng.random_range(1..=m.div_ceil(2));
        let cols = rng.random_range(1..=n.div_ceil(2));
        for _ in 0..rows {
            let i = rng.random_range(0..m);
            v[i * n..(i + 1) * n].fill(0.0);
        }
        for _ in 0..cols {
            let j = rng.random_range(0..n);
            (0..m).for_each(|i| v[i * n + j] = 0.0);
        }
    }
    // Round to the scalar type, so the f64 copy is exactly what the backend sees.
    v.iter().map(|&x| T::from_f64(x).as_f64()).collect()
}

/// The kind of matrix drawn for the extreme-scale properties.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExtremePattern {
    /// Every entry positive, within two orders of magnitude of the scale.
    Dense,
    /// Most entries zero (60–90%), the others within two orders of the scale.
    Sparse,
    /// A single non-zero entry.
    SingleNonZero,
}

/// One case of the extreme-scale properties: V (row-major, rounded to the scalar type) of
/// global scale `10^scale_exp`, a rank, a seed, and whether to fit with the smallest valid ε.
#[derive(Debug, Clone)]
pub struct ExtremeCase {
    /// Rows of V.
    pub m: usize,
    /// Columns of V.
    pub n: usize,
    /// The rank, from 1 to min(m, n) + 2.
    pub k: usize,
    /// V in row-major order, already rounded to the scalar type.
    pub v: Vec<f64>,
    /// The decimal exponent of V's scale, −30…30.
    pub scale_exp: i32,
    /// The pattern drawn.
    pub pattern: ExtremePattern,
    /// The seed of the initialisation.
    pub seed: u64,
    /// Fit with the smallest ε the library accepts for this V
    /// ([`NmfValidParams::eps_range`](crate::NmfValidParams::eps_range)) instead of the default.
    pub smallest_eps: bool,
}

impl ExtremeCase {
    /// The mean entry of V.
    pub fn mean(&self) -> f64 {
        self.v.iter().sum::<f64>() / self.v.len() as f64
    }
}

/// The largest decimal exponent of the extreme scales: 30, in `f64` and in `f32` (whose
/// range, about 10^±38, still holds V's entries at 10^±30 times their spread of 10^±2).
pub fn extreme_exponent<T: Scalar>() -> i32 {
    let _ = T::NAME;
    30
}

/// Extreme cases with `1 ≤ m, n ≤ max_dim`: V of scale 10^e for every e in
/// ±[`extreme_exponent`] (the ends drawn as often as the middle), dense, sparse or with a single
/// non-zero, fitted with the default or the smallest valid ε.
pub fn extreme_case<T: Scalar>(max_dim: usize) -> impl Strategy<Value = ExtremeCase> {
    let top = extreme_exponent::<T>();
    let exps = prop_oneof![
        1 => Just(top),
        1 => Just(-top),
        2 => -top..=top,
    ];
    let patterns = prop_oneof![
        2 => Just(ExtremePattern::Dense),
        1 => Just(ExtremePattern::Sparse),
        1 => Just(ExtremePattern::SingleNonZero),
    ];
    (
        1..=max_dim,
        1..=max_dim,
        exps,
        patterns,
        any::<u64>(),
        any::<u64>(),
        any::<bool>(),
    )
        .prop_flat_map(|(m, n, e, pattern, data_seed, seed, smallest_eps)| {
            (
                Just((m, n, e, pattern, data_seed, seed, smallest_eps)),
                1..=m.min(n) + 2,
            )
        })
        .prop_map(
            |((m, n, scale_exp, pattern, data_seed, seed, smallest_eps), k)| {
                let mut rng = ChaCha8Rng::seed_from_u64(data_seed);
                let scale = 10f64.powi(scale_exp);
                let entry = |rng: &mut ChaCha8Rng| {
                    rng.random_range(1.0..10.0) * 10f64.powi(rng.random_range(-2..=1)) * scale
                };
                let v: Vec<f64> = match pattern {
                    ExtremePattern::Dense => (0..m * n).map(|_| entry(&mut rng)).collect(),
                    ExtremePattern::Sparse => {
                        let density = rng.random_range(0.1..0.4);
                        (0..m * n)
                            .map(|_| {
                                if rng.random_bool(density) {
                                    entry(&mut rng)
                                } else {
                                    0.0
                                }
                            })
                            .collect()
                    }
                    ExtremePattern::SingleNonZero => {
                        let at = rng.random_range(0..m * n);
                        let x = entry(&mut rng);
                        (0..m * n).map(|i| if i == at { x } else { 0.0 }).collect()
                    }
                };
                ExtremeCase {
                    m,
                    n,
                    k,
                    v: v.iter().map(|&x| T::from_f64(x).as_f64()).collect(),
                    scale_exp,
                    pattern,
                    seed,
                    smallest_eps,
                }
            },
        )
}
