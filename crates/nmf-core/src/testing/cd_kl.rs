//! The KL coordinate-descent properties of the shared suite (issue 11 §5): the lower bound,
//! the penalised KL objective never increasing after any block (each column of H, each row of
//! W), the safeguarded step against a direct one-dimensional minimisation, the KKT conditions
//! after convergence on small problems, bit-identical results on every backend, determinism,
//! and the solver's parameters.
//!
//! Tolerances, with u the unit roundoff of the scalar type and u64 that of f64:
//! - *one block* (a column of H or a row of W): its share of the objective,
//!   `f = Σᵢ kl(vᵢ, λᵢ) + l1·Σx + ½·l2·Σx²` over the lane, is evaluated in f64 from the
//!   exported factors (λ = the lane of WH, an f64 sum of k products: error ≤ k·u64·λ). The
//!   update is, in exact arithmetic, non-increasing (proof in
//!   [`update::cd_kl`](crate::update::cd_kl)); in floating point each coordinate's new value is
//!   rounded to T, which moves f by at most |g(x)|·u·x ≤ u·(Σᵢ wᵢx + Σᵢ vᵢ + l1·x + l2·x²)
//!   (as |g|·x ≤ Σ wᵢx + l1x + l2x² + Σ wᵢvᵢx/λᵢ and wᵢx ≤ λᵢ), so at most u·S for the k
//!   coordinates together with S = Σ v + Σ λ + penalty scale; the rounding of the sums that
//!   choose the step only moves the step near a stationary point, a second-order change. The
//!   bound is the suite's `8·(k+2)·u·S + 16·u64·M` (M = f + S bounds the f64 terms), per block,
//!   with S the larger of before and after.

use proptest::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::common::{U64, all_at_least, export, mat, penalty_weights, start};
use super::{DataCase, data_case, runner, runner_with_cases};
use crate::kernels::kl_term;
use crate::reference::Reference;
use crate::update::{CdKlStep, cd_kl_lane, cd_kl_step};
use crate::{
    CdKlOptions, CdKlSolver, DenseBackend, Loss, MatrixBackend, Nmf, NmfError, Penalty, Scalar,
    Solver,
};

/// Penalty weights relative to the data's scale (as the MU and HALS properties draw them).
fn penalty_of(c: &DataCase, weights: Option<(f64, f64, f64, i32)>) -> Penalty {
    weights.map_or(Penalty::default(), |(aw, ah, ratio, exp)| {
        let scale = c.mean().max(f64::MIN_POSITIVE) * 10f64.powi(exp);
        Penalty::sklearn(c.m, c.n, aw * scale, ah * scale, ratio)
    })
}

/// Newton settings: one step, the default, and many with no early stop.
fn options() -> impl Strategy<Value = CdKlOptions> {
    prop::sample::select(vec![(1usize, 1e-3), (2, 1e-3), (6, 0.0)]).prop_map(
        |(newton_steps, newton_tol)| CdKlOptions {
            newton_steps,
            newton_tol,
        },
    )
}

/// A data case scaled by 2^e (exactly), for tiny and huge magnitudes: e within ±20 in f32,
/// ±60 in f64 (the fit's ε scales with the data).
fn scaled_case<T: Scalar>(max_dim: usize) -> impl Strategy<Value = DataCase> {
    let span = if T::NAME == "f32" { 20 } else { 60 };
    (data_case::<T>(max_dim), -span..=span, any::<bool>()).prop_map(|(mut c, e, scale)| {
        if scale {
            let f = 2f64.powi(e);
            c.v.iter_mut().for_each(|x| *x *= f);
        }
        c
    })
}

/// The objective's share of each lane (columns of H for `columns`, else rows of W) and its
/// rounding scales `(f, S)`, in f64 from row-major W (m×k), H (k×n), V (m×n).
#[allow(clippy::too_many_arguments)]
fn lane_objectives(
    v: &[f64],
    w: &[f64],
    h: &[f64],
    (m, n, k): (usize, usize, usize),
    columns: bool,
    (l1, l2): (f64, f64),
) -> Vec<(f64, f64)> {
    let count = if columns { n } else { m };
    (0..count)
        .map(|l| {
            let (mut f, mut s) = (0.0, 0.0);
            let entries = if columns { m } else { n };
            for e in 0..entries {
                let (i, j) = if columns { (e, l) } else { (l, e) };
                let lam: f64 = (0..k).map(|a| w[i * k + a] * h[a * n + j]).sum();
                f += kl_term(v[i * n + j], lam);
                s += v[i * n + j] + lam;
            }
            for a in 0..k {
                let x = if columns { h[a * n + l] } else { w[l * k + a] };
                f += l1 * x + 0.5 * l2 * x * x;
                s += 2.0 * (l1 * x + l2 * x * x);
            }
            (f, s)
        })
        .collect()
}

/// After every half-step, every entry of W and H is finite and ≥ ε, and the share of the
/// penalised KL objective of every block (each column of H after the H half-step, each row of
/// W after the W half-step: a block's sweep changes only its own share) has not risen by more
/// than the bound in the [module docs](self). Drawn widely: zeros, empty rows and columns,
/// counts, low rank, every rank up to min(m, n) + 2, magnitudes 2^±60 (2^±20 in f32),
/// penalties, and the Newton settings.
pub fn check_cd_kl_objective_never_increases<T: Scalar, B: DenseBackend<T>>(b: &B) {
    cd_kl_never_increases::<T, B, B::Mat>(b, &|_, v| v);
}

/// [`check_cd_kl_objective_never_increases`] with V handed to the solver as `data(case, dense
/// V)` makes it (the dense V itself, or its sparse form).
pub(crate) fn cd_kl_never_increases<T: Scalar, B: DenseBackend<T> + crate::DataOps<T, V>, V>(
    b: &B,
    data: &dyn Fn(&DataCase, B::Mat) -> V,
) {
    runner()
        .run(
            &(scaled_case::<T>(10), penalty_weights(), options()),
            |(c, weights, opts)| {
                let pen = penalty_of(&c, weights);
                let (v, w0, h0, eps) = start(b, &c);
                let v = data(&c, v);
                let mut s = CdKlSolver::<T, B, V>::new(b, &v, w0, h0, eps, opts).unwrap();
                s.set_penalty(pen).unwrap();
                let (m, n, k) = (c.m, c.n, c.k);
                let u = T::unit_roundoff();
                for it in 0..8 {
                    for columns in [true, false] {
                        let (l1, l2) = if columns {
                            (pen.l1_h, pen.l2_h)
                        } else {
                            (pen.l1_w, pen.l2_w)
                        };
                        let before = lane_objectives(
                            &c.v,
                            &export(b, s.w()),
                            &export(b, s.h()),
                            (m, n, k),
                            columns,
                            (l1, l2),
                        );
                        if columns {
                            s.update_h()
                        } else {
                            s.update_w()
                        }
                        all_at_least(b, s.w(), eps, "W")?;
                        all_at_least(b, s.h(), eps, "H")?;
                        let after = lane_objectives(
                            &c.v,
                            &export(b, s.w()),
                            &export(b, s.h()),
                            (m, n, k),
                            columns,
                            (l1, l2),
                        );
                        for (l, (&(f0, s0), &(f1, s1))) in before.iter().zip(&after).enumerate() {
                            let scale = s0.max(s1);
                            let tol = 8.0 * (k as f64 + 2.0) * u * scale
                                + 16.0 * U64 * (f0.max(f1) + scale);
                            prop_assert!(f1.is_finite(), "lane {l}: objective {f1}");
                            prop_assert!(
                                f1 <= f0 + tol,
                                "{opts:?}, {pen:?}: the share of {} {l} rose in iteration {it}: \
                                 {f0} → {f1} (by {}, tolerance {tol}; case {:?}, {m}×{n}, k {k})",
                                if columns { "column" } else { "row" },
                                f1 - f0,
                                c.pattern
                            );
                        }
                    }
                }
                Ok(())
            },
        )
        .unwrap();
}

/// `f(x) = Σᵢ [wᵢx − vᵢ·log(cᵢ + wᵢx)] + l1·x + ½·l2·x²` (without constants: 0·log = 0) and
/// `g = f'`, in f64.
fn one_d(c: &[f64], w: &[f64], v: &[f64], l1: f64, l2: f64, x: f64) -> (f64, f64) {
    let (mut f, mut g) = (l1 * x + 0.5 * l2 * x * x, l1 + l2 * x);
    for i in 0..c.len() {
        let lam = c[i] + w[i] * x;
        f += w[i] * x - if v[i] == 0.0 { 0.0 } else { v[i] * lam.ln() };
        g += w[i] - if v[i] == 0.0 { 0.0 } else { w[i] * v[i] / lam };
    }
    (f, g)
}

/// The safeguarded step on random one-dimensional problems (zeros in v and in c, tiny and
/// large weights, L1 and L2, starts on both sides of the minimiser and at ε), with its sums
/// computed in T as the sweep computes them:
/// - one step never raises f: `f(x₁) ≤ f(x₀) + tol`, tol = 8·u·S with
///   `S = Σᵢ (wᵢx + vᵢ·|log λᵢ| + λᵢ) + l1·x + l2·x²` at both points (rounding x₁ to T moves f by |g|·u·x ≤ u·S; the f64
///   evaluation adds a few u64·S);
/// - 60 steps reach the minimiser over `{x ≥ ε}` found by bisection on g in f64: f is at
///   most the bisection's f + tol, and the KKT conditions hold, `|g(x)| ≤ τ` or `x = ε` with
///   `g(ε) ≥ −τ`, τ = 64·(len + 4)·u·(Σwᵢ + l1 + l2·x + Σ wᵢvᵢ/λᵢ) (the rounding of the
///   len-term sums of g in T, with room for the last step's rounding, |g'|·u·x ≤ the same
///   scale).
pub fn check_cd_kl_step_minimises_one_dimension<T: Scalar, B: DenseBackend<T>>(_b: &B) {
    runner()
        .run(
            &(1usize..=12, any::<u64>(), 0.0f64..1.0, 0u8..3),
            |(len, seed, zeros, start_kind)| {
                let mut rng = ChaCha8Rng::seed_from_u64(seed);
                let t = |x: f64| T::from_f64(x).as_f64();
                let e: i32 = rng.random_range(-6..=6);
                let scale = 2f64.powi(e);
                let w: Vec<f64> = (0..len)
                    .map(|_| t(rng.random_range(0.01..2.0) * scale))
                    .collect();
                let v: Vec<f64> = (0..len)
                    .map(|_| {
                        if rng.random_bool(zeros) {
                            0.0
                        } else {
                            t(rng.random_range(0.0..5.0) * scale)
                        }
                    })
                    .collect();
                let c: Vec<f64> = (0..len)
                    .map(|_| {
                        if rng.random_bool(0.3) {
                            0.0
                        } else {
                            t(rng.random_range(0.0..3.0) * scale * scale)
                        }
                    })
                    .collect();
                let (l1, l2) = match rng.random_range(0..3) {
                    0 => (0.0, 0.0),
                    1 => (t(rng.random_range(0.0..1.0) * scale), 0.0),
                    _ => (
                        t(rng.random_range(0.0..1.0) * scale),
                        t(rng.random_range(0.0..1.0)),
                    ),
                };
                let eps = t(1e-6 * scale);
                // The minimiser over {x ≥ ε}, by bisection on the increasing g.
                let xstar = if one_d(&c, &w, &v, l1, l2, eps).1 >= 0.0 {
                    eps
                } else {
                    let (mut lo, mut hi) = (eps, 1.0);
                    while one_d(&c, &w, &v, l1, l2, hi).1 < 0.0 {
                        hi *= 2.0;
                    }
                    for _ in 0..200 {
                        let mid = 0.5 * (lo + hi);
                        if one_d(&c, &w, &v, l1, l2, mid).1 < 0.0 {
                            lo = mid
                        } else {
                            hi = mid
                        }
                    }
                    0.5 * (lo + hi)
                };
                let mut x = t(match start_kind {
                    0 => eps,
                    1 => xstar * rng.random_range(1.0..100.0),
                    _ => (xstar * rng.random_range(0.0..1.0)).max(eps),
                });
                let u = T::unit_roundoff();
                let size = |x: f64| -> f64 {
                    let mut s = l1 * x + l2 * x * x;
                    for i in 0..len {
                        let lam = c[i] + w[i] * x;
                        s += w[i] * x
                            + lam
                            + if v[i] == 0.0 {
                                0.0
                            } else {
                                v[i] * lam.ln().abs()
                            };
                    }
                    s
                };
                let gscale = |x: f64| -> f64 {
                    let mut s = l1 + l2 * x;
                    for i in 0..len {
                        s += w[i] + w[i] * v[i] / (c[i] + w[i] * x);
                    }
                    s
                };
                for step in 0..60 {
                    // The sums as the sweep computes them, in T.
                    let (mut sw, mut num, mut hes) = (T::zero(), T::zero(), T::zero());
                    for i in 0..len {
                        let (wi, vi) = (T::from_f64(w[i]), T::from_f64(v[i]));
                        let lam = T::from_f64(c[i]) + wi * T::from_f64(x);
                        let q = wi / lam;
                        sw += wi;
                        num += vi * q;
                        hes += vi * q * q;
                    }
                    let x1 = cd_kl_step(
                        T::from_f64(x),
                        sw,
                        num,
                        hes,
                        T::from_f64(l1),
                        T::from_f64(l2),
                        T::from_f64(eps),
                    )
                    .as_f64();
                    prop_assert!(x1.is_finite() && x1 >= eps, "step {step}: x = {x1}");
                    let (f0, f1) = (
                        one_d(&c, &w, &v, l1, l2, x).0,
                        one_d(&c, &w, &v, l1, l2, x1).0,
                    );
                    let tol = 8.0 * u * size(x).max(size(x1));
                    prop_assert!(
                        f1 <= f0 + tol,
                        "step {step}: f rose from {f0} (x = {x}) to {f1} (x = {x1}), by {}, \
                         tolerance {tol}; minimiser {xstar}",
                        f1 - f0
                    );
                    x = x1;
                }
                let (f, g) = one_d(&c, &w, &v, l1, l2, x);
                let fstar = one_d(&c, &w, &v, l1, l2, xstar).0;
                let tol = 8.0 * u * size(x).max(size(xstar));
                prop_assert!(
                    f <= fstar + tol,
                    "f = {f} at {x}, minimum {fstar} at {xstar}"
                );
                let tau = 64.0 * (len as f64 + 4.0) * u * gscale(x);
                prop_assert!(
                    g.abs() <= tau || (x == eps && g >= -tau),
                    "KKT: g({x}) = {g}, τ = {tau}, ε = {eps}, minimiser {xstar}"
                );
                Ok(())
            },
        )
        .unwrap();
}

/// After convergence on small problems, the factors satisfy the KKT conditions of the
/// penalised KL problem over `{W, H ≥ ε}`: with G the gradient in f64 and S_x = the sum of
/// the absolute values of its terms (`Σᵢ wᵢₐ + l1 + l2·h + Σᵢ wᵢₐvᵢⱼ/λᵢⱼ` for h_aj),
/// `G ≥ −τ·S_x` and `G·(x − ε) ≤ τ·S_x·x` (x at its bound or G ≈ 0). Runs up to 20,000
/// iterations and stops earlier once an iteration lowers the objective by at most 1e-15 of
/// it (f64, a few units of rounding; 1e-6 in f32); τ = 1e-4 in f64 (what the fixed point of the sweep reaches on these
/// problems, far above rounding: the gradient's terms carry (m + k)·u relative error) and
/// 2e-2 in f32, where the objective's own rounding, (m + k)·u ≈ 1e-6 relative, stops the
/// progress much earlier.
pub fn check_cd_kl_kkt<T: Scalar, B: DenseBackend<T>>(b: &B) {
    runner_with_cases(48)
        .run(
            &(
                2usize..=6,
                2usize..=6,
                1usize..=3,
                any::<u64>(),
                penalty_weights(),
            ),
            |(m, n, k, seed, weights)| {
                let mut rng = ChaCha8Rng::seed_from_u64(seed);
                let v: Vec<f64> = (0..m * n)
                    .map(|_| {
                        if rng.random_bool(0.2) {
                            0.0
                        } else {
                            T::from_f64(rng.random_range(0.0..4.0)).as_f64()
                        }
                    })
                    .collect();
                let c = DataCase {
                    m,
                    n,
                    k,
                    v: v.clone(),
                    pattern: super::Pattern::Dense,
                    seed,
                };
                let pen = penalty_of(&c, weights);
                let (vm, w0, h0, eps) = start(b, &c);
                let mut s = CdKlSolver::new(b, &vm, w0, h0, eps, CdKlOptions::default()).unwrap();
                s.set_penalty(pen).unwrap();
                let stall = if T::NAME == "f32" { 1e-6 } else { 1e-15 };
                let mut prev = s.objective();
                for _ in 0..20_000 {
                    s.step();
                    let now = s.objective();
                    if prev - now <= stall * prev.abs() {
                        break;
                    }
                    prev = now;
                }
                let tau = if T::NAME == "f32" { 2e-2 } else { 1e-4 };
                let (w, h) = (export(b, s.w()), export(b, s.h()));
                let eps = eps.as_f64();
                let lam: Vec<f64> = (0..m * n)
                    .map(|ij| (0..k).map(|a| w[ij / n * k + a] * h[a * n + ij % n]).sum())
                    .collect();
                // h_aj: Σᵢ w_ia (1 − v_ij/λ_ij) + l1 + l2 h; w_ia: Σⱼ h_aj (1 − v_ij/λ_ij) + …
                for a in 0..k {
                    for j in 0..n {
                        let x = h[a * n + j];
                        let (mut g, mut sc) = (pen.l1_h + pen.l2_h * x, pen.l1_h + pen.l2_h * x);
                        for i in 0..m {
                            let (wi, r) = (w[i * k + a], v[i * n + j] / lam[i * n + j]);
                            g += wi - wi * r;
                            sc += wi + wi * r;
                        }
                        prop_assert!(
                            g >= -tau * sc && g * (x - eps) <= tau * sc * x,
                            "KKT for h[{a}][{j}] = {x} (ε {eps}): gradient {g}, scale {sc}"
                        );
                    }
                }
                for i in 0..m {
                    for a in 0..k {
                        let x = w[i * k + a];
                        let (mut g, mut sc) = (pen.l1_w + pen.l2_w * x, pen.l1_w + pen.l2_w * x);
                        for j in 0..n {
                            let (ha, r) = (h[a * n + j], v[i * n + j] / lam[i * n + j]);
                            g += ha - ha * r;
                            sc += ha + ha * r;
                        }
                        prop_assert!(
                            g >= -tau * sc && g * (x - eps) <= tau * sc * x,
                            "KKT for w[{i}][{a}] = {x} (ε {eps}): gradient {g}, scale {sc}"
                        );
                    }
                }
                Ok(())
            },
        )
        .unwrap();
}

/// The factors after a few iterations are the same bits on this backend as on the reference
/// backend (the sweep runs in nmf-core on copies that are the same bits everywhere), and the
/// same bits on a second run (determinism); [`cd_kl_lane`] gives the same bits as the
/// solver's lanes, and a fit through `Solver::CdKl` gives the same factors as the solver
/// driven directly.
pub fn check_cd_kl_agreement_and_determinism<T: Scalar, B: DenseBackend<T>>(b: &B)
where
    Reference: DenseBackend<T>,
{
    let r = Reference;
    runner_with_cases(64)
        .run(&(scaled_case::<T>(14), options()), |(c, opts)| {
            let run = |v: &B::Mat, w0: B::Mat, h0: B::Mat, eps: T| {
                let mut s = CdKlSolver::new(b, v, w0, h0, eps, opts).unwrap();
                for _ in 0..3 {
                    s.step();
                }
                (b.to_row_major(s.w()), b.to_row_major(s.h()))
            };
            let (v, w0, h0, eps) = start(b, &c);
            let first = run(&v, w0.clone(), h0.clone(), eps);
            let second = run(&v, w0, h0, eps);
            let (vr, w0r, h0r, _) = start(&r, &c);
            let mut sr = CdKlSolver::new(&r, &vr, w0r, h0r, eps, opts).unwrap();
            for _ in 0..3 {
                sr.step();
            }
            let reference = (r.to_row_major(sr.w()), r.to_row_major(sr.h()));
            let bits = |x: &[T]| x.iter().map(|x| x.as_f64().to_bits()).collect::<Vec<_>>();
            prop_assert!(
                bits(&first.0) == bits(&second.0) && bits(&first.1) == bits(&second.1),
                "two runs differ"
            );
            prop_assert!(
                bits(&first.0) == bits(&reference.0) && bits(&first.1) == bits(&reference.1),
                "the backend differs from the reference ({:?}, {}×{}, k {})",
                c.pattern,
                c.m,
                c.n,
                c.k
            );
            Ok(())
        })
        .unwrap();
    // A V large enough for a threaded backend to sweep W's rows on several threads (faer
    // splits lanes when W has 2^14 entries or more): still the reference's bits.
    {
        let (m, n, k) = (2000, 40, 10);
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let v: Vec<f64> = (0..m * n)
            .map(|_| {
                if rng.random_bool(0.3) {
                    0.0
                } else {
                    rng.random_range(0.0..3.0)
                }
            })
            .collect();
        let c = DataCase {
            m,
            n,
            k,
            v,
            pattern: super::Pattern::Sparse,
            seed: 5,
        };
        let (v, w0, h0, eps) = start(b, &c);
        let mut s = CdKlSolver::new(b, &v, w0, h0, eps, CdKlOptions::default()).unwrap();
        let (vr, w0r, h0r, _) = start(&r, &c);
        let mut sr = CdKlSolver::new(&r, &vr, w0r, h0r, eps, CdKlOptions::default()).unwrap();
        for _ in 0..2 {
            s.step();
            sr.step();
        }
        let bits = |x: Vec<T>| x.iter().map(|x| x.as_f64().to_bits()).collect::<Vec<_>>();
        assert!(
            bits(b.to_row_major(s.w())) == bits(r.to_row_major(sr.w()))
                && bits(b.to_row_major(s.h())) == bits(r.to_row_major(sr.h())),
            "2000×40, rank 10: the backend differs from the reference"
        );
    }
    // The lane kernel against the solver: one H half-step is cd_kl_lane on every column.
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let (m, n, k) = (9, 7, 3);
    let v: Vec<f64> = (0..m * n).map(|_| rng.random_range(0.0..3.0)).collect();
    let w: Vec<f64> = (0..m * k).map(|_| rng.random_range(0.1..1.0)).collect();
    let h: Vec<f64> = (0..k * n).map(|_| rng.random_range(0.1..1.0)).collect();
    let eps = T::from_f64(1e-6);
    let vm = mat(b, m, n, &v);
    let mut s = CdKlSolver::new(
        b,
        &vm,
        mat(b, m, k, &w),
        mat(b, k, n, &h),
        eps,
        CdKlOptions::default(),
    )
    .unwrap();
    s.update_h();
    let got = b.to_row_major(s.h());
    let tt = |x: &[f64]| x.iter().map(|&x| T::from_f64(x)).collect::<Vec<T>>();
    let (vt, wt, ht) = (tt(&v), tt(&w), tt(&h));
    let fixed: Vec<T> = (0..k * m).map(|am| wt[am % m * k + am / m]).collect();
    let sums: Vec<T> = (0..k)
        .map(|a| T::from_f64(fixed[a * m..(a + 1) * m].iter().map(|x| x.as_f64()).sum()))
        .collect();
    let o = CdKlOptions::default();
    let step = CdKlStep {
        l1: T::zero(),
        l2: T::zero(),
        eps,
        newton_steps: o.newton_steps,
        newton_tol: T::from_f64(o.newton_tol),
    };
    let mut lam = vec![T::zero(); m];
    for j in 0..n {
        let mut x: Vec<T> = (0..k).map(|a| ht[a * n + j]).collect();
        let col: Vec<T> = (0..m).map(|i| vt[i * n + j]).collect();
        cd_kl_lane(&mut x, &fixed, &sums, &col, &mut lam, &step);
        for a in 0..k {
            assert_eq!(
                x[a].as_f64().to_bits(),
                got[a * n + j].as_f64().to_bits(),
                "h[{a}][{j}]: cd_kl_lane and the solver differ"
            );
        }
    }
    // A fit with Solver::CdKl runs the same solver.
    let p = Nmf::params(k)
        .loss(Loss::KullbackLeibler)
        .solver(Solver::CdKl)
        .max_iter(5)
        .tol(0.0)
        .eps(1e-6);
    let (w0, h0) = (mat(b, m, k, &w), mat(b, k, n, &h));
    let model = p
        .check()
        .unwrap()
        .fitting(b, &vm)
        .start(&w0, &h0)
        .run()
        .unwrap();
    let mut s = CdKlSolver::new(b, &vm, w0, h0, eps, CdKlOptions::default()).unwrap();
    for _ in 0..5 {
        s.step();
    }
    assert_eq!(b.to_row_major(model.w()), b.to_row_major(s.w()));
    assert_eq!(b.to_row_major(model.h()), b.to_row_major(s.h()));
}

/// `Solver::CdKl` with a loss other than KL and bad Newton settings are errors naming what is
/// wrong; a KL fit with it lowers the objective and records "cd".
pub fn check_cd_kl_parameters<T: Scalar, B: DenseBackend<T>>(b: &B) {
    let v = b.from_fn(7, 5, |i, j| T::from_f64(((i * 5 + j * 3) % 7) as f64 + 0.5));
    let p = |loss: Loss| Nmf::params(2).loss(loss).solver(Solver::CdKl).max_iter(20);
    for loss in [Loss::Frobenius, Loss::ItakuraSaito, Loss::Beta(0.5)] {
        let e = p(loss).fit(b, &v).unwrap_err();
        assert_eq!(
            e,
            NmfError::SolverLossMismatch {
                solver: Solver::CdKl,
                loss,
                supported: "kl"
            }
        );
        assert!(e.to_string().contains("cd"), "{e}");
    }
    for (steps, tol) in [(0, 1e-3), (2, -1.0), (2, f64::NAN)] {
        let o = CdKlOptions {
            newton_steps: steps,
            newton_tol: tol,
        };
        let e = p(Loss::KullbackLeibler)
            .cd_kl_options(o)
            .fit(b, &v)
            .unwrap_err();
        assert!(
            matches!(e, NmfError::InvalidSolverOption { option, .. } if option.contains("newton")),
            "{e}"
        );
    }
    let model = p(Loss::KullbackLeibler).fit(b, &v).unwrap();
    let h = model.loss_history();
    assert!(h.last().unwrap().loss < h[0].loss);
    assert_eq!(Solver::CdKl.to_string(), "cd");
    assert_eq!(Solver::CdKl.resolve(Loss::KullbackLeibler), Solver::CdKl);
}
