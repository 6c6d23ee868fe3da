//! The HALS properties of the shared suite (issue 11 §5): the lower bound, monotonicity of the
//! penalised objective after every half-step (with and without the repeated sweeps and the
//! shuffled order), each coordinate step the exact one-dimensional minimiser over `{x ≥ ε}`,
//! bit-identical sweeps on every backend, and determinism.

use proptest::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::common::{
    U64, all_at_least, export, mat, penalty_scale, penalty_weights, product, start,
};
use super::{DataCase, data_case, runner};
use crate::kernels::coordinate_sweep_block;
use crate::lane::Lanes;
use crate::reference::Reference;
use crate::{
    DenseBackend, HalsOptions, HalsSolver, Loss, MatrixBackend, Nmf, NmfError, Penalty, Scalar,
    Solver,
};

/// Penalty weights relative to the data's scale (as the MU penalty properties draw them).
fn penalty_of(c: &DataCase, weights: Option<(f64, f64, f64, i32)>) -> Penalty {
    weights.map_or(Penalty::default(), |(aw, ah, ratio, exp)| {
        let scale = c.mean().max(f64::MIN_POSITIVE) * 10f64.powi(exp);
        Penalty::sklearn(c.m, c.n, aw * scale, ah * scale, ratio)
    })
}

/// HALS options: plain (α = 0), Gillis & Glineur's defaults, and a long inner loop (α = 4,
/// δ = 0: every sweep of the budget runs), each with and without the shuffled order.
fn options() -> impl Strategy<Value = HalsOptions> {
    (
        prop::sample::select(vec![(0.0, 0.1), (0.5, 0.1), (4.0, 0.0)]),
        any::<bool>(),
        any::<u64>(),
    )
        .prop_map(|((alpha, delta), shuffle, seed)| HalsOptions {
            alpha,
            delta,
            shuffle,
            seed,
        })
}

/// After every HALS half-step (each made of one or more sweeps), every entry of W and H is
/// finite and ≥ ε, and the penalised Frobenius objective has not risen by more than the
/// suite's absolute rounding bound `8·(k+2)·u·S` with S = ½‖V‖² + ½‖WH‖² + P (P the
/// penalty scale, as in `check_regularized_objective_never_increases`). The argument is the
/// one for MU: each coordinate step is the exact minimiser of the objective in that
/// coordinate over {x ≥ ε} (see [`coordinate_sweep`](crate::kernels::coordinate_sweep)), and
/// rounding its inputs (m-term sums in WᵀV and WᵀW) moves the computed minimiser by O(u), which
/// changes the objective only at second order; the evaluation of the objective rounds WH by k·u
/// relative.
pub fn check_hals_objective_never_increases<T: Scalar, B: DenseBackend<T>>(b: &B) {
    runner()
        .run(
            &(data_case::<T>(12), penalty_weights(), options()),
            |(c, weights, opts)| {
                let pen = penalty_of(&c, weights);
                let (v, w0, h0, eps) = start(b, &c);
                let mut s = HalsSolver::new(b, &v, w0, h0, eps, opts).unwrap();
                s.set_penalty(pen).unwrap();
                let scales = |s: &HalsSolver<'_, T, B, B::Mat>| -> f64 {
                    let (w, h) = (export(b, s.w()), export(b, s.h()));
                    let wh = product(&w, &h, c.m, c.k, c.n);
                    c.v.iter().chain(&wh).map(|x| 0.5 * x * x).sum::<f64>()
                        + penalty_scale(&pen, &w, &h)
                };
                let mut prev = s.objective();
                let mut prev_scale = scales(&s);
                for it in 0..12 {
                    for half in ["H", "W"] {
                        if half == "H" {
                            s.update_h()
                        } else {
                            s.update_w()
                        }
                        all_at_least(b, s.w(), eps, "W")?;
                        all_at_least(b, s.h(), eps, "H")?;
                        let now = s.objective();
                        prop_assert!(now.is_finite(), "objective {now}");
                        let scale = scales(&s);
                        let tol =
                            8.0 * (c.k as f64 + 2.0) * T::unit_roundoff() * prev_scale.max(scale);
                        prop_assert!(
                            now <= prev + tol,
                            "HALS {opts:?} with {pen:?}: the objective rose in the {half} \
                             half-step of iteration {it} ({:?} sweeps): {prev} → {now} (by {}, \
                             tolerance {tol}; case {:?})",
                            s.last_sweeps(),
                            now - prev,
                            c.pattern
                        );
                        prev = now;
                        prev_scale = scale;
                    }
                }
                Ok(())
            },
        )
        .unwrap();
}

/// The inner loop makes at most ⌊1 + α·ρ⌋ sweeps, all of them with δ = 0 (unless a sweep
/// changes nothing), exactly one with α = 0; ρ as in [`HalsOptions`].
pub fn check_hals_sweep_budget<T: Scalar, B: DenseBackend<T>>(b: &B) {
    runner()
        .run(&(data_case::<T>(10), 0.0f64..3.0), |(c, alpha)| {
            let (v, w0, h0, eps) = start(b, &c);
            let (m, n, k) = (c.m as f64, c.n as f64, c.k as f64);
            let rho_h = 1.0 + (m * n + m * k) / (n * (k + 1.0));
            let rho_w = 1.0 + (m * n + n * k) / (m * (k + 1.0));
            for (alpha, delta) in [(0.0, 0.0), (alpha, 0.0), (alpha, 0.5)] {
                let opts = HalsOptions {
                    alpha,
                    delta,
                    ..HalsOptions::default()
                };
                let mut s = HalsSolver::new(b, &v, w0.clone(), h0.clone(), eps, opts).unwrap();
                s.step();
                let (sh, sw) = s.last_sweeps();
                let (bh, bw) = (
                    (1.0 + alpha * rho_h).floor() as usize,
                    (1.0 + alpha * rho_w).floor() as usize,
                );
                prop_assert!(sh >= 1 && sh <= bh && sw >= 1 && sw <= bw);
                if alpha == 0.0 {
                    prop_assert_eq!((sh, sw), (1, 1));
                }
            }
            Ok(())
        })
        .unwrap();
}

/// One HALS half-step with one sweep in the order 0..k, replayed in `f64`: each new entry
/// equals the exact minimiser over {x ≥ ε} of the penalised objective as a function of that
/// entry alone, the others at their values at that moment (those before it in the sweep
/// already updated, as the backend left them). The one-coordinate problem
/// `½‖r − x·w_a‖² + l1·x + ½·l2·x²` (r the residual without coordinate a) is formed from W,
/// H and V in `f64` directly, not from the kernel's incremental form: its minimiser is
/// `max(ε, (⟨r, w_a⟩ − l1)/(‖w_a‖² + l2))`.
///
/// Tolerance: the backend forms WᵀV and WᵀW with m-term sums of non-negative products (each
/// within m·u relative) and the sweep adds k more terms, so the computed numerator is within
/// (m + k + 4)·u·A of the exact one, A the sum of the absolute values of its terms
/// (⟨v, w_a⟩ + l1 + Σ_b G_ab·x_b + G'_aa·x_a); dividing by G'_aa (itself within (m + 2)·u
/// relative) gives 2·(2m + k + 6)·u·A/G'_aa for the step, doubled for safety of the
/// estimate of A. Each entry is compared with the minimiser built on the backend's earlier
/// entries, so errors do not accumulate along the sweep.
pub fn check_hals_coordinate_minimiser<T: Scalar, B: DenseBackend<T>>(b: &B) {
    runner()
        .run(
            &(data_case::<T>(9), 0usize..3, penalty_weights()),
            |(c, warmup, weights)| {
                let pen = penalty_of(&c, weights);
                let (v, w0, h0, eps) = start(b, &c);
                let opts = HalsOptions {
                    alpha: 0.0,
                    ..HalsOptions::default()
                };
                let mut s = HalsSolver::new(b, &v, w0, h0, eps, opts).unwrap();
                s.set_penalty(pen).unwrap();
                for _ in 0..warmup {
                    s.step();
                }
                let (m, n, k) = (c.m, c.n, c.k);
                let epsf = eps.as_f64();
                // H: column j, coordinate a.
                let (w, h_old) = (export(b, s.w()), export(b, s.h()));
                s.update_h();
                let h_new = export(b, s.h());
                for j in 0..n {
                    for a in 0..k {
                        // x_b at the moment coordinate a is updated.
                        let x = |bb: usize| {
                            if bb < a {
                                h_new[bb * n + j]
                            } else {
                                h_old[bb * n + j]
                            }
                        };
                        let (mut num, mut abs, mut g_aa) = (0.0, 0.0, 0.0);
                        for i in 0..m {
                            let wa = w[i * k + a];
                            let others: f64 = (0..k)
                                .filter(|&bb| bb != a)
                                .map(|bb| w[i * k + bb] * x(bb))
                                .sum();
                            let r = c.v[i * n + j] - others;
                            num += r * wa;
                            abs += (c.v[i * n + j] + others + wa * x(a)) * wa;
                            g_aa += wa * wa;
                        }
                        let den = g_aa + pen.l2_h;
                        let want = ((num - pen.l1_h) / den).max(epsf);
                        let got = h_new[a * n + j];
                        let tol = 4.0
                            * (2 * m + k + 6) as f64
                            * T::unit_roundoff()
                            * (abs + pen.l1_h + pen.l2_h * x(a))
                            / den
                            + T::unit_roundoff() * want;
                        prop_assert!(
                            (got - want).abs() <= tol,
                            "H[{a}, {j}]: HALS gave {got}, the exact minimiser is {want} \
                             (tolerance {tol}; {pen:?})"
                        );
                    }
                }
                // W: row i, coordinate a, with the new H.
                let (h, w_old) = (h_new, w);
                s.update_w();
                let w_new = export(b, s.w());
                for i in 0..m {
                    for a in 0..k {
                        let x = |bb: usize| {
                            if bb < a {
                                w_new[i * k + bb]
                            } else {
                                w_old[i * k + bb]
                            }
                        };
                        let (mut num, mut abs, mut g_aa) = (0.0, 0.0, 0.0);
                        for j in 0..n {
                            let ha = h[a * n + j];
                            let others: f64 = (0..k)
                                .filter(|&bb| bb != a)
                                .map(|bb| x(bb) * h[bb * n + j])
                                .sum();
                            num += (c.v[i * n + j] - others) * ha;
                            abs += (c.v[i * n + j] + others + x(a) * ha) * ha;
                            g_aa += ha * ha;
                        }
                        let den = g_aa + pen.l2_w;
                        let want = ((num - pen.l1_w) / den).max(epsf);
                        let got = w_new[i * k + a];
                        let tol = 4.0
                            * (2 * n + k + 6) as f64
                            * T::unit_roundoff()
                            * (abs + pen.l1_w + pen.l2_w * x(a))
                            / den
                            + T::unit_roundoff() * want;
                        prop_assert!(
                            (got - want).abs() <= tol,
                            "W[{i}, {a}]: HALS gave {got}, the exact minimiser is {want} \
                             (tolerance {tol}; {pen:?})"
                        );
                    }
                }
                Ok(())
            },
        )
        .unwrap();
}

/// The sweeps through the backend's [`MatrixBackend::for_each_lane`] give the same bits as
/// through the reference backend, for the columns of a k×n and the rows of an m×k matrix,
/// with random values, a random Gram matrix and a random coordinate order; and a HALS fit is
/// deterministic: the same parameters and seed give the same bits, with and without the
/// shuffled order.
pub fn check_hals_agreement_and_determinism<T: Scalar, B: DenseBackend<T>>(b: &B)
where
    Reference: MatrixBackend<T>,
{
    let r = Reference;
    runner()
        .run(
            &(1usize..=20, 1usize..=40, any::<u64>()),
            |(k, len, seed)| {
                let mut rng = ChaCha8Rng::seed_from_u64(seed);
                let draw = |rng: &mut ChaCha8Rng, count: usize| -> Vec<f64> {
                    (0..count).map(|_| rng.random_range(0.0..2.0)).collect()
                };
                let g: Vec<f64> = draw(&mut rng, k * k);
                // A symmetric Gram matrix with a positive diagonal.
                let mut gram = vec![T::zero(); k * k];
                for a in 0..k {
                    for bb in 0..k {
                        gram[a * k + bb] = T::from_f64(
                            g[a.min(bb) * k + a.max(bb)] + if a == bb { 1.0 } else { 0.0 },
                        );
                    }
                }
                let mut order: Vec<usize> = (0..k).collect();
                rand::seq::SliceRandom::shuffle(&mut order[..], &mut rng);
                let (l1, eps) = (T::from_f64(0.1), T::from_f64(1e-6));
                for lanes in [Lanes::Columns, Lanes::Rows] {
                    let (rows, cols, count) = match lanes {
                        Lanes::Columns => (k, len, len),
                        Lanes::Rows => (len, k, len),
                    };
                    let (x0, num) = (draw(&mut rng, rows * cols), draw(&mut rng, rows * cols));
                    let (mut xb, nb) = (mat(b, rows, cols, &x0), mat(b, rows, cols, &num));
                    let (mut xr, nr) = (mat(&r, rows, cols, &x0), mat(&r, rows, cols, &num));
                    let (mut ob, mut or) = (vec![0.0; count], vec![0.0; count]);
                    let sweep = |x: &mut crate::lane::LaneBlockMut<'_, T>,
                                 n: &crate::lane::LaneBlock<'_, T>,
                                 out: &mut [f64]| {
                        coordinate_sweep_block(x, n, &gram, l1, eps, &order, out)
                    };
                    b.for_each_lane(&mut xb, &nb, lanes, &mut ob, &sweep);
                    r.for_each_lane(&mut xr, &nr, lanes, &mut or, &sweep);
                    let (xb, xr) = (b.to_row_major(&xb), r.to_row_major(&xr));
                    prop_assert!(
                        xb.iter().zip(&xr).all(|(p, q)| p.to_bits_eq(*q)),
                        "{lanes:?}: the sweep differs from the reference"
                    );
                    prop_assert!(ob.iter().zip(&or).all(|(p, q)| p.to_bits() == q.to_bits()));
                }
                Ok(())
            },
        )
        .unwrap();
    // Determinism of whole fits.
    let c = {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let v: Vec<f64> = (0..12 * 9).map(|_| rng.random_range(0.0..3.0)).collect();
        (12, 9, v)
    };
    let v = mat(b, c.0, c.1, &c.2);
    for shuffle in [false, true] {
        let p = Nmf::params(4)
            .solver(Solver::Hals)
            .shuffle(shuffle)
            .seed(3)
            .max_iter(30)
            .tol(0.0)
            .n_init(2)
            .init(crate::Init::Random);
        let (one, two) = (p.fit(b, &v).unwrap(), p.fit(b, &v).unwrap());
        assert_eq!(
            b.to_row_major(one.w()),
            b.to_row_major(two.w()),
            "shuffle {shuffle}"
        );
        assert_eq!(
            b.to_row_major(one.h()),
            b.to_row_major(two.h()),
            "shuffle {shuffle}"
        );
        assert_eq!(one.final_loss().to_bits(), two.final_loss().to_bits());
    }
}

/// Bit equality for the scalar types of the suite.
trait BitsEq {
    fn to_bits_eq(self, other: Self) -> bool;
}
impl<T: Scalar> BitsEq for T {
    fn to_bits_eq(self, other: T) -> bool {
        self.as_f64().to_bits() == other.as_f64().to_bits()
    }
}

/// The solver choice: `Auto` runs HALS for Frobenius (the same bits as `Solver::Hals`) and
/// MU for other losses (the same bits as `Solver::Mu`); HALS with another loss is refused
/// with [`NmfError::SolverLossMismatch`], naming both; bad α or δ are refused too.
pub fn check_solver_choice<T: Scalar, B: DenseBackend<T>>(b: &B) {
    let v = b.from_fn(7, 5, |i, j| T::from_f64(((i * 5 + j * 3) % 7) as f64 + 0.5));
    let p = |loss: Loss, solver: Solver| Nmf::params(2).loss(loss).solver(solver).max_iter(20);
    for (loss, same) in [
        (Loss::Frobenius, Solver::Hals),
        (Loss::KullbackLeibler, Solver::Mu),
    ] {
        let auto = p(loss, Solver::Auto).fit(b, &v).unwrap();
        let pinned = p(loss, same).fit(b, &v).unwrap();
        assert_eq!(
            b.to_row_major(auto.w()),
            b.to_row_major(pinned.w()),
            "{loss}"
        );
        assert_eq!(auto.final_loss().to_bits(), pinned.final_loss().to_bits());
    }
    let e = p(Loss::KullbackLeibler, Solver::Hals)
        .fit(b, &v)
        .unwrap_err();
    assert_eq!(
        e,
        NmfError::SolverLossMismatch {
            solver: Solver::Hals,
            loss: Loss::KullbackLeibler,
            supported: "frobenius"
        }
    );
    assert!(
        e.to_string().contains("hals") && e.to_string().contains("kl"),
        "{e}"
    );
    for (alpha, delta) in [(-1.0, 0.1), (f64::NAN, 0.1), (0.5, 1.5)] {
        let e = p(Loss::Frobenius, Solver::Hals)
            .hals_acceleration(alpha, delta)
            .fit(b, &v)
            .unwrap_err();
        assert!(matches!(e, NmfError::InvalidSolverOption { .. }), "{e}");
    }
    // HALS and MU minimise the same objective: both fits end far below the start.
    let hals = p(Loss::Frobenius, Solver::Hals).fit(b, &v).unwrap();
    let mu = p(Loss::Frobenius, Solver::Mu).fit(b, &v).unwrap();
    for m in [&hals, &mu] {
        let h = m.loss_history();
        assert!(h.last().unwrap().loss < h[0].loss);
    }
    let _ = U64;
}
