//! What the groups of the suite share: conversions to and from backend matrices, the naive
//! `f64` product, starts, and the generators of penalties and β.
//!
//! Every tolerance is derived from the floating-point accuracy of what is computed; the comment
//! beside each says how. `u` is the unit roundoff of the scalar type (6.0e-8 for f32, 1.1e-16
//! for f64) and `u64` that of f64.

use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::DataCase;
use crate::{DenseBackend, MatrixBackend, Nmf, Scalar};

pub(super) const U64: f64 = f64::EPSILON / 2.0;

/// A backend matrix from `f64` row-major data, rounded to `T`.
pub fn mat<T: Scalar, B: MatrixBackend<T>>(b: &B, rows: usize, cols: usize, d: &[f64]) -> B::Mat {
    assert_eq!(d.len(), rows * cols);
    b.from_fn(rows, cols, |i, j| T::from_f64(d[i * cols + j]))
}

/// A backend matrix exported to `f64`, row-major.
pub fn export<T: Scalar, B: MatrixBackend<T>>(b: &B, a: &B::Mat) -> Vec<f64> {
    b.to_row_major(a).into_iter().map(Scalar::as_f64).collect()
}

/// `W·H` in `f64` from row-major W (m×k) and H (k×n).
pub fn product(w: &[f64], h: &[f64], m: usize, k: usize, n: usize) -> Vec<f64> {
    let mut out = vec![0.0; m * n];
    for i in 0..m {
        for a in 0..k {
            let wia = w[i * k + a];
            for j in 0..n {
                out[i * n + j] += wia * h[a * n + j];
            }
        }
    }
    out
}

/// The case's V, its random initial factors and the default ε, on backend `b`.
pub(super) fn start<T: Scalar, B: DenseBackend<T>>(
    b: &B,
    c: &DataCase,
) -> (B::Mat, B::Mat, B::Mat, T) {
    let eps = Nmf::params(c.k)
        .check()
        .unwrap()
        .eps_for(c.mean(), T::unit_roundoff());
    let (w0, h0) = crate::init::random_factors(c.m, c.n, c.k, c.mean(), c.seed);
    (
        mat(b, c.m, c.n, &c.v),
        mat(b, c.m, c.k, &w0),
        mat(b, c.k, c.n, &h0),
        T::from_f64(eps),
    )
}

pub(super) fn random_vec(rng: &mut ChaCha8Rng, len: usize, zeros: f64) -> Vec<f64> {
    (0..len)
        .map(|_| {
            if rng.random_bool(zeros) {
                0.0
            } else {
                rng.random_range(-1.0..1.0)
            }
        })
        .collect()
}

/// Bitwise equality that also treats two NaNs as equal.
pub(super) trait BitsEq {
    fn to_bits_eq(self, other: Self) -> bool;
}

impl<T: Scalar> BitsEq for T {
    fn to_bits_eq(self, other: T) -> bool {
        (self.is_nan() && other.is_nan()) || self.as_f64().to_bits() == other.as_f64().to_bits()
    }
}

pub(super) fn all_at_least<T: Scalar, B: MatrixBackend<T>>(
    b: &B,
    a: &B::Mat,
    eps: T,
    what: &str,
) -> Result<(), TestCaseError> {
    for (idx, x) in b.to_row_major(a).into_iter().enumerate() {
        prop_assert!(
            x.is_finite() && x >= eps,
            "{what}: entry {idx} is {x}, below ε = {eps} or not finite"
        );
    }
    Ok(())
}

/// Penalty weights for the auxiliary-function checks: none in a third of the cases, else
/// (α_W, α_H, l1_ratio, scale exponent) as in [`check_regularized_objective_never_increases`].
pub(super) fn penalty_weights() -> impl Strategy<Value = Option<(f64, f64, f64, i32)>> {
    prop_oneof![
        1 => Just(None),
        2 => (0.0f64..1.0, 0.0f64..1.0, prop::sample::select(vec![0.0, 0.5, 1.0]), -4i32..=1)
            .prop_map(Some),
    ]
}

/// β drawn from {0, 0.5, 1, 1.5, 2, 3} and from [−0.5, 3.5].
pub(super) fn betas() -> impl Strategy<Value = f64> {
    prop_oneof![
        prop::sample::select(vec![0.0, 0.5, 1.0, 1.5, 2.0, 3.0]),
        -0.5f64..3.5
    ]
}

/// `l1_w·ΣW + l2_w·ΣW² + l1_h·ΣH + l2_h·ΣH²` (twice the L2 terms): a bound on the size of the
/// penalty terms, for the tolerances.
pub(super) fn penalty_scale(pen: &crate::Penalty, w: &[f64], h: &[f64]) -> f64 {
    let sq = |x: &[f64]| x.iter().map(|x| x * x).sum::<f64>();
    pen.l1_w * w.iter().sum::<f64>()
        + pen.l2_w * sq(w)
        + pen.l1_h * h.iter().sum::<f64>()
        + pen.l2_h * sq(h)
}

/// Replaces the zeros of `v` by its smallest positive entry (or 1 if it has none), for the
/// β ≤ 0 divergences, which are infinite at zero data.
pub(super) fn fill_zeros(v: &mut [f64]) {
    let fill = v
        .iter()
        .copied()
        .filter(|&x| x > 0.0)
        .fold(f64::INFINITY, f64::min);
    let fill = if fill.is_finite() { fill } else { 1.0 };
    v.iter_mut().filter(|x| **x == 0.0).for_each(|x| *x = fill);
}

/// The two scales of the β-divergence loss's rounding error at data `v` and model `wh`
/// (see [`check_beta_loss_never_increases`]): `Σ λ^(β−1)|λ − v|` (its sensitivity to
/// relative errors in λ = WH) and the sum of the absolute values of its terms.
pub(super) fn beta_scales(v: &[f64], wh: &[f64], beta: f64) -> (f64, f64) {
    let sens: f64 = v
        .iter()
        .zip(wh)
        .map(|(&v, &y)| y.powf(beta - 1.0) * (y - v).abs())
        .sum();
    let terms: f64 = v
        .iter()
        .zip(wh)
        .map(|(&v, &y)| {
            if beta == 0.0 {
                v / y + (v / y).ln().abs() + 1.0
            } else if beta == 1.0 {
                y + if v > 0.0 {
                    v * (v / y).ln().abs() + v
                } else {
                    0.0
                }
            } else {
                (v.powf(beta) / (beta * (beta - 1.0))).abs()
                    + (y.powf(beta) / beta).abs()
                    + (v * y.powf(beta - 1.0) / (beta - 1.0)).abs()
            }
        })
        .sum();
    (sens, terms)
}

/// A positive, exactly low-rank V (rank below min(m, n)), for the properties that need a
/// well-determined problem: `(m, n, k, V row-major)`.
pub(super) fn low_rank_case(m: usize, n: usize, seed: u64) -> (usize, Vec<f64>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let k = rng.random_range(1..m.min(n));
    let scale = 10f64.powi(rng.random_range(-3..=3));
    let wt: Vec<f64> = (0..m * k).map(|_| rng.random_range(0.1..1.0)).collect();
    let ht: Vec<f64> = (0..k * n)
        .map(|_| rng.random_range(0.1..1.0) * scale)
        .collect();
    (k, product(&wt, &ht, m, k, n))
}
