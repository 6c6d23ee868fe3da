//! The fitting API: recovery of low-rank data, bad input as errors, determinism, transform,
//! fixed factors and restarts.
//!
//! Every tolerance is derived from the floating-point accuracy of what is computed; the comment
//! beside each says how. `u` is the unit roundoff of the scalar type (6.0e-8 for f32, 1.1e-16
//! for f64) and `u64` that of f64.

use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::{data_case, runner, runner_with_cases};
use crate::{DenseBackend, Loss, MatrixRole, MuSolver, Nmf, NmfError, Scalar};

use super::common::*;

/// An exactly low-rank non-negative V = W*H* (positive factors, r ≤ 3, up to 12×12) is fitted
/// at rank r to a relative error ‖V − WH‖_F/‖V‖_F below 2e-2 after 3000 iterations (best of 3
/// seeds, as a user of a non-convex method would do).
///
/// The bound is about the algorithm, not rounding (which is 1e-7 in f32): multiplicative
/// updates converge sublinearly, and on these problems 3000 iterations reach relative errors
/// from 1e-5 to about 1e-2, 10 000 reach 1e-3 to 1e-8, and 100 000 reach 1e-15 (measured on
/// cases this strategy drew). An update rule with a wrong fixed point stays far above 2e-2.
pub fn check_recovery<T: Scalar, B: DenseBackend<T>>(b: &B, loss: Loss) {
    let strategy = (4usize..=12, 4usize..=12, 1usize..=3, any::<u64>());
    runner_with_cases(64)
        .run(&strategy, |(m, n, r, seed)| {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let w: Vec<f64> = (0..m * r).map(|_| rng.random_range(0.1..1.0)).collect();
            let h: Vec<f64> = (0..r * n).map(|_| rng.random_range(0.1..1.0)).collect();
            let vd = product(&w, &h, m, r, n);
            let v = mat::<T, B>(b, m, n, &vd);
            let norm: f64 = vd.iter().map(|x| x * x).sum::<f64>().sqrt();
            let mut best = f64::INFINITY;
            for s in 0..3 {
                let model = Nmf::params(r)
                    .loss(loss)
                    .max_iter(3000)
                    .tol(0.0)
                    .seed(seed ^ s)
                    .fit(b, &v)
                    .unwrap();
                let wh = product(&export(b, model.w()), &export(b, model.h()), m, r, n);
                let err: f64 = vd
                    .iter()
                    .zip(&wh)
                    .map(|(a, b)| (a - b) * (a - b))
                    .sum::<f64>()
                    .sqrt();
                best = best.min(err / norm);
            }
            prop_assert!(best < 2e-2, "{m}×{n} rank {r}: relative error {best}");
            Ok(())
        })
        .unwrap();
}

/// Every kind of bad input gives its own error, with the place of the bad entry; ε outside
/// [`NmfValidParams::eps_range`](crate::NmfValidParams::eps_range), |β| above
/// [`MAX_BETA`](crate::MAX_BETA) and ranks whose buffers cannot be allocated are refused.
pub fn check_bad_input<T: Scalar, B: DenseBackend<T>>(b: &B) {
    let strategy = (1usize..=8, 1usize..=8, 1usize..=4, any::<u64>());
    runner()
        .run(&strategy, |(m, n, k, seed)| {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let good: Vec<f64> = (0..m * n).map(|_| rng.random_range(0.0..5.0)).collect();
            let p = Nmf::params(k).max_iter(3);
            let (i, j) = (rng.random_range(0..m), rng.random_range(0..n));
            for bad in [-0.25, f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
                let mut d = good.clone();
                d[i * n + j] = bad;
                let err = p.fit(b, &mat::<T, B>(b, m, n, &d)).err();
                let ok = match err {
                    Some(NmfError::NegativeEntry {
                        matrix: MatrixRole::V,
                        row,
                        col,
                        value,
                    }) => bad == -0.25 && (row, col) == (i, j) && value == bad,
                    Some(NmfError::NonFiniteEntry {
                        matrix: MatrixRole::V,
                        row,
                        col,
                        value,
                    }) => {
                        !bad.is_finite()
                            && (row, col) == (i, j)
                            && (value == bad || (bad.is_nan() && value.is_nan()))
                    }
                    _ => false,
                };
                prop_assert!(ok, "V with {bad} at ({i},{j}): got {err:?}");
            }
            let v = mat::<T, B>(b, m, n, &good);
            prop_assert_eq!(
                p.fit(b, &b.zeros(0, n)).err(),
                Some(NmfError::EmptyMatrix {
                    matrix: MatrixRole::V,
                    rows: 0,
                    cols: n
                })
            );
            prop_assert_eq!(
                p.fit(b, &b.zeros(m, 0)).err(),
                Some(NmfError::EmptyMatrix {
                    matrix: MatrixRole::V,
                    rows: m,
                    cols: 0
                })
            );
            prop_assert_eq!(Nmf::params(0).fit(b, &v).err(), Some(NmfError::ZeroRank));
            prop_assert_eq!(
                p.clone().max_iter(0).fit(b, &v).err(),
                Some(NmfError::ZeroMaxIter)
            );
            prop_assert_eq!(
                p.clone().tol(-1.0).fit(b, &v).err(),
                Some(NmfError::InvalidTol(-1.0))
            );
            prop_assert_eq!(
                p.clone().eps(0.0).fit(b, &v).err(),
                Some(NmfError::InvalidEps(0.0))
            );
            // ε outside its range for the data and scalar, |β| too large, a rank whose buffers
            // cannot be counted or allocated: refused before any iteration.
            let mean = good.iter().map(|&x| T::from_f64(x).as_f64()).sum::<f64>() / (m * n) as f64;
            let (lo, hi) = p.clone().check().unwrap().eps_range::<T>(mean);
            for eps in [1e-300, lo / 4.0, 4.0 * hi] {
                let err = p.clone().eps(eps).fit(b, &v).err();
                prop_assert!(
                    matches!(err, Some(NmfError::EpsOutOfRange { eps: e, .. }) if e == eps),
                    "eps = {eps}: {err:?}"
                );
            }
            prop_assert_eq!(
                p.clone().loss(Loss::Beta(1e3)).fit(b, &v).err(),
                Some(NmfError::BetaOutOfRange {
                    beta: 1e3,
                    max: crate::MAX_BETA
                })
            );
            for rank in [usize::MAX, 1 << 40] {
                let err = Nmf::params(rank).fit(b, &v).err();
                prop_assert!(
                    matches!(err, Some(NmfError::RankTooLarge { rank: r, .. }) if r == rank),
                    "rank {rank}: {err:?}"
                );
            }
            // Custom initial factors: shape, sign and finiteness, on the fit_from path too.
            let w0 = b.from_fn(m, k, |_, _| T::one());
            let h0 = b.from_fn(k, n, |_, _| T::one());
            prop_assert!(p.fit_from(b, &v, &w0, &h0).is_ok());
            let w_bad_shape = b.from_fn(m + 1, k, |_, _| T::one());
            prop_assert_eq!(
                p.fit_from(b, &v, &w_bad_shape, &h0).err(),
                Some(NmfError::ShapeMismatch {
                    matrix: MatrixRole::W0,
                    expected: (m, k),
                    found: (m + 1, k)
                })
            );
            let h_bad_shape = b.from_fn(k, n + 2, |_, _| T::one());
            prop_assert_eq!(
                p.fit_from(b, &v, &w0, &h_bad_shape).err(),
                Some(NmfError::ShapeMismatch {
                    matrix: MatrixRole::H0,
                    expected: (k, n),
                    found: (k, n + 2)
                })
            );
            let (a, c) = (rng.random_range(0..m), rng.random_range(0..k));
            let w_neg = b.from_fn(m, k, |r, s| {
                if (r, s) == (a, c) {
                    T::from_f64(-1.0)
                } else {
                    T::one()
                }
            });
            prop_assert_eq!(
                p.fit_from(b, &v, &w_neg, &h0).err(),
                Some(NmfError::NegativeEntry {
                    matrix: MatrixRole::W0,
                    row: a,
                    col: c,
                    value: -1.0
                })
            );
            let (a, c) = (rng.random_range(0..k), rng.random_range(0..n));
            let h_inf = b.from_fn(k, n, |r, s| {
                if (r, s) == (a, c) {
                    T::infinity()
                } else {
                    T::one()
                }
            });
            prop_assert_eq!(
                p.fit_from(b, &v, &w0, &h_inf).err(),
                Some(NmfError::NonFiniteEntry {
                    matrix: MatrixRole::H0,
                    row: a,
                    col: c,
                    value: f64::INFINITY
                })
            );
            // A bad V is reported before the initial factors are looked at.
            let mut d = good.clone();
            d[0] = -1.0;
            let v_bad = mat::<T, B>(b, m, n, &d);
            let first = p.fit_from(b, &v_bad, &w_neg, &h0).err();
            prop_assert!(
                matches!(
                    first,
                    Some(NmfError::NegativeEntry {
                        matrix: MatrixRole::V,
                        ..
                    })
                ),
                "got {:?}",
                first
            );
            Ok(())
        })
        .unwrap();
}

/// The same seed gives bit-identical factors on every run.
pub fn check_same_seed<T: Scalar, B: DenseBackend<T>>(b: &B) {
    runner_with_cases(64)
        .run(&data_case::<T>(10), |c| {
            let v = mat::<T, B>(b, c.m, c.n, &c.v);
            let p = Nmf::params(c.k).max_iter(10).seed(c.seed).check().unwrap();
            let (a, bb) = (p.fit(b, &v).unwrap(), p.fit(b, &v).unwrap());
            same_fit(b, &a, &bb)
        })
        .unwrap();
}

/// Two fits with the same factors, bit for bit, and the same loss history.
fn same_fit<T: Scalar, B: DenseBackend<T>>(
    b: &B,
    x: &crate::NmfModel<T, B>,
    y: &crate::NmfModel<T, B>,
) -> Result<(), TestCaseError> {
    prop_assert_eq!(b.to_row_major(x.w()), b.to_row_major(y.w()));
    prop_assert_eq!(b.to_row_major(x.h()), b.to_row_major(y.h()));
    prop_assert_eq!(x.loss_history(), y.loss_history());
    Ok(())
}

/// `transform` with W fixed, after fits with and without L1/L2 penalties (the fit's H
/// weights carry over to the new H): one half-step from the fitted H is exactly the solver's H
/// half-step; more half-steps from the fitted H never increase the objective (tolerance as in
/// [`check_loss_never_increases`](super::check_loss_never_increases)); on the training data,
/// started from the fitted H, 50 half-steps stay within 100 times the first half-step's movement of
/// it (plus rounding); for an exact factorization in small integers, where every operation is
/// exact, the fit and the transform return the factors bit for bit; and `inverse_transform` is W·H.
///
/// Why that bound, and why not a fixed tolerance: the fitted H is a fixed point of the H
/// half-step only at convergence, and multiplicative updates converge slowly, so a fit of 3000
/// iterations can leave H 1e-2 away from the minimiser over H (seen in 3000 drawn cases).
/// What transform must not do is move H by more than the fit's own remaining progress. The
/// steps of the iteration on the convex H-subproblem stay about the size of the first one
/// (50 steps moved H by at most 1.04 × 50 times the first step in 3000 drawn cases), so 100 ×
/// the first step is a bound with a margin of about 2, not a proof.
pub fn check_transform<T: Scalar, B: DenseBackend<T>>(b: &B, loss: Loss) {
    runner_with_cases(64)
        .run(
            &(
                3usize..=12,
                3usize..=12,
                any::<u64>(),
                prop::option::of((0.0f64..0.2, prop::sample::select(vec![0.0, 0.5, 1.0]))),
            ),
            |(m, n, seed, reg)| {
                let (k, vd) = low_rank_case(m, n, seed);
                let v = mat::<T, B>(b, m, n, &vd);
                // With a penalty in some cases: transform keeps the fit's weights on H.
                let mean = vd.iter().sum::<f64>() / (m * n) as f64;
                let (alpha, ratio) = reg.map_or((0.0, 0.0), |(a, r)| (a * mean / k as f64, r));
                let model = Nmf::params(k)
                    .loss(loss)
                    .max_iter(3000)
                    .tol(1e-9)
                    .seed(seed)
                    .alpha_w(alpha)
                    .l1_ratio(ratio)
                    .fit(b, &v)
                    .unwrap();
                let fitted = model.penalty();
                prop_assert_eq!(fitted, crate::Penalty::sklearn(m, n, alpha, alpha, ratio));
                let pen_h = crate::Penalty {
                    l1_h: fitted.l1_h,
                    l2_h: fitted.l2_h,
                    ..Default::default()
                };
                let one = crate::TransformParams::default().max_iter(1).tol(0.0);
                let h1 = model.transform_from(b, &v, model.h(), &one).unwrap();
                // transform runs the solver Auto picks: HALS for Frobenius, MU otherwise.
                let (w, h) = (model.w().clone(), model.h().clone());
                let step = if loss == Loss::Frobenius {
                    let o = crate::HalsOptions::default();
                    let mut s = crate::HalsSolver::new(b, &v, w, h, model.eps(), o).unwrap();
                    s.set_penalty(pen_h).unwrap();
                    s.update_h();
                    s.into_factors().1
                } else {
                    let mut s = MuSolver::new(b, &v, w, h, loss, model.eps()).unwrap();
                    s.set_penalty(pen_h).unwrap();
                    s.update_h();
                    s.into_factors().1
                };
                prop_assert_eq!(
                    b.to_row_major(&h1),
                    b.to_row_major(&step),
                    "one transform half-step"
                );
                let many = crate::TransformParams::default().max_iter(50).tol(0.0);
                let h50 = model.transform_from(b, &v, model.h(), &many).unwrap();
                let loss_of = |h: &B::Mat| {
                    let mut s =
                        MuSolver::new(b, &v, model.w().clone(), h.clone(), loss, model.eps())
                            .unwrap();
                    s.set_penalty(pen_h).unwrap();
                    s.objective()
                };
                let (before, after) = (loss_of(model.h()), loss_of(&h50));
                let wh = product(&export(b, model.w()), &export(b, model.h()), m, k, n);
                let hd = export(b, model.h());
                let scale: f64 = match loss {
                    Loss::Frobenius => vd.iter().chain(&wh).map(|x| 0.5 * x * x).sum::<f64>(),
                    _ => vd.iter().chain(&wh).sum::<f64>(),
                } + pen_h.l1_h * hd.iter().sum::<f64>()
                    + pen_h.l2_h * hd.iter().map(|x| x * x).sum::<f64>();
                let tol = 8.0 * (k as f64 + 2.0) * T::unit_roundoff() * scale;
                prop_assert!(
                    after <= before + tol,
                    "transform raised the objective: {before} → {after} (tolerance {tol})"
                );
                let (h, h2, h1) = (export(b, model.h()), export(b, &h50), export(b, &h1));
                let dist = |a: &[f64], c: &[f64]| {
                    a.iter()
                        .zip(c)
                        .map(|(x, y)| (x - y) * (x - y))
                        .sum::<f64>()
                        .sqrt()
                };
                let (d, d1) = (dist(&h, &h2), dist(&h, &h1));
                let nh: f64 = h.iter().map(|x| x * x).sum::<f64>().sqrt();
                // Rounding: each half-step perturbs each entry by a relative (2m + k + 4)·u.
                let round = 50.0 * 2.0 * (2 * m + k + 4) as f64 * T::unit_roundoff() * nh;
                prop_assert!(
                    d <= 100.0 * d1 + round,
                    "transform moved the fitted H by {:e} (relative), 100 × its first step is {:e}",
                    d / nh,
                    100.0 * d1 / nh
                );
                // An exact factorization in small integers (every product and sum below is exact
                // in f32 and f64, and V/(WH) = 1): the fit from it stays there bit for bit, and
                // transform started from its H returns that H exactly.
                let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x7472_616e);
                let k0 = rng.random_range(1..=m.min(n) + 2);
                let w0: Vec<f64> = (0..m * k0)
                    .map(|_| rng.random_range(1..=4) as f64)
                    .collect();
                let h0: Vec<f64> = (0..k0 * n)
                    .map(|_| rng.random_range(1..=4) as f64)
                    .collect();
                let v0 = mat::<T, B>(b, m, n, &product(&w0, &h0, m, k0, n));
                let (w0m, h0m) = (mat::<T, B>(b, m, k0, &w0), mat::<T, B>(b, k0, n, &h0));
                let exact = Nmf::params(k0)
                    .loss(loss)
                    .max_iter(5)
                    .tol(0.0)
                    .check()
                    .unwrap()
                    .fit_from(b, &v0, &w0m, &h0m)
                    .unwrap();
                prop_assert_eq!(b.to_row_major(exact.w()), b.to_row_major(&w0m));
                prop_assert_eq!(b.to_row_major(exact.h()), b.to_row_major(&h0m));
                let again = exact.transform_from(b, &v0, exact.h(), &many).unwrap();
                prop_assert_eq!(
                    b.to_row_major(&again),
                    b.to_row_major(&h0m),
                    "transform of an exact fit"
                );
                let back = export(b, &model.inverse_transform(b, model.h()).unwrap());
                let want = product(&export(b, model.w()), &h, m, k, n);
                for (x, y) in back.iter().zip(&want) {
                    // One k-term product of non-negative terms: γ_k relative.
                    prop_assert!(
                        (x - y).abs()
                            <= 1.01
                                * k as f64
                                * T::unit_roundoff()
                                * y.abs().max(f64::MIN_POSITIVE)
                                * 2.0
                    );
                }
                Ok(())
            },
        )
        .unwrap();
}

/// A fixed factor keeps its initial value exactly (lifted to ε), the other one is fitted, and
/// the loss history never increases beyond rounding.
pub fn check_fixed_factor<T: Scalar, B: DenseBackend<T>>(b: &B) {
    runner_with_cases(64)
        .run(&(data_case::<T>(10), any::<bool>()), |(c, fix_w)| {
            let (v, w0, h0, _) = start(b, &c);
            let fixed = if fix_w {
                crate::Fixed::W
            } else {
                crate::Fixed::H
            };
            let model = Nmf::params(c.k)
                .max_iter(20)
                .fixed(fixed)
                .fit_from(b, &v, &w0, &h0)
                .unwrap();
            let eps = model.eps();
            let (kept, given) = if fix_w {
                (model.w(), &w0)
            } else {
                (model.h(), &h0)
            };
            let want: Vec<T> = b
                .to_row_major(given)
                .into_iter()
                .map(|x| x.max(eps))
                .collect();
            prop_assert_eq!(b.to_row_major(kept), want);
            let hist = model.loss_history();
            let sv: f64 = c.v.iter().map(|x| 0.5 * x * x).sum();
            for pair in hist.windows(2) {
                // Loose here (the suite's exact bound is checked per half-step elsewhere):
                // 8·(k+2)·u·(S + S_WH) with S_WH ≤ 2·(loss + S).
                let tol =
                    8.0 * (c.k as f64 + 2.0) * T::unit_roundoff() * (3.0 * sv + 2.0 * pair[0].loss);
                prop_assert!(pair[1].loss <= pair[0].loss + tol);
            }
            Ok(())
        })
        .unwrap();
}

/// Restarts spread over threads ([`crate::NmfValidParams::fit_parallel`]) give bit for bit
/// the factors and loss history of the sequential [`fit`](crate::NmfValidParams::fit), for
/// 1–5 restarts on 1–4 threads, with random and NNDSVDAR starts.
pub fn check_parallel_restarts<T: Scalar, B: DenseBackend<T> + Sync>(b: &B)
where
    B::Mat: Send,
{
    runner_with_cases(32)
        .run(
            &(data_case::<T>(8), 1usize..=5, 1usize..=4, any::<bool>()),
            |(c, n_init, threads, svd)| {
                let v = mat::<T, B>(b, c.m, c.n, &c.v);
                let init = if svd && c.k <= c.m.min(c.n) {
                    crate::Init::Nndsvdar
                } else {
                    crate::Init::Random
                };
                let p = Nmf::params(c.k)
                    .init(init)
                    .max_iter(15)
                    .seed(c.seed)
                    .n_init(n_init)
                    .check()
                    .unwrap();
                let seq = p.fit(b, &v).unwrap();
                let par = p.fit_parallel(b, &v, threads).unwrap();
                same_fit(b, &seq, &par)
            },
        )
        .unwrap();
}

/// `n_init` restarts return exactly the best of the single fits with seeds `seed`, `seed + 1`, ….
pub fn check_restarts<T: Scalar, B: DenseBackend<T>>(b: &B) {
    runner_with_cases(32)
        .run(&(data_case::<T>(8), 1usize..=4), |(c, n_init)| {
            let v = mat::<T, B>(b, c.m, c.n, &c.v);
            let p = Nmf::params(c.k)
                .init(crate::Init::Random)
                .max_iter(15)
                .seed(c.seed);
            let best = p.clone().n_init(n_init).fit(b, &v).unwrap();
            let singles: Vec<f64> = (0..n_init as u64)
                .map(|r| {
                    p.clone()
                        .seed(c.seed.wrapping_add(r))
                        .fit(b, &v)
                        .unwrap()
                        .final_loss()
                })
                .collect();
            let min = singles.iter().copied().fold(f64::INFINITY, f64::min);
            prop_assert_eq!(best.final_loss(), min, "restarts {:?}", singles);
            Ok(())
        })
        .unwrap();
}
