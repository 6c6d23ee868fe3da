//! Monotonicity and the auxiliary functions: factors stay ≥ ε, the objective never rises after
//! a half-step (Frobenius, KL, every β), the auxiliary-function lemmas, zero rows and columns,
//! and the rounding bounds of [`crate::Evaluation`].
//!
//! Every tolerance is derived from the floating-point accuracy of what is computed; the comment
//! beside each says how. `u` is the unit roundoff of the scalar type (6.0e-8 for f32, 1.1e-16
//! for f64) and `u64` that of f64.

use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::{DataCase, data_case, runner, runner_with_cases};
use crate::auxiliary::Subproblem;
use crate::{DenseBackend, Loss, MuSolver, Nmf, Scalar};

use super::common::*;

/// After every half-step, every entry of W and H is finite and ≥ ε (> 0), for random V with
/// zeros, zero rows and columns, sparse patterns and magnitudes across many orders, and ranks
/// from 1 to past min(m, n).
pub fn check_factors_stay_positive<T: Scalar, B: DenseBackend<T>>(b: &B, loss: Loss) {
    runner()
        .run(&data_case::<T>(16), |c| {
            let (v, w0, h0, eps) = start(b, &c);
            let mut s = MuSolver::new(b, &v, w0, h0, loss, eps).unwrap();
            for it in 0..20 {
                s.update_h();
                all_at_least(
                    b,
                    s.h(),
                    eps,
                    &format!("H after the H half-step of iteration {it}"),
                )?;
                s.update_w();
                all_at_least(
                    b,
                    s.w(),
                    eps,
                    &format!("W after the W half-step of iteration {it}"),
                )?;
            }
            prop_assert!(s.loss().is_finite());
            Ok(())
        })
        .unwrap();
}

/// The loss never increases, checked after every half-step, for both losses.
///
/// Tolerance. In exact arithmetic each half-step leaves the loss no larger. The computed loss
/// is the loss of WH rounded in `T`: each entry of WH is a k-term sum of non-negative products,
/// off by at most γ_k·(WH)ᵢⱼ ≈ k·u·(WH)ᵢⱼ. That moves ½‖V − WH‖² by at most
/// Σ|V − WH|·k·u·WH ≤ k·u·(‖V‖‖WH‖ + ‖WH‖²) ≤ 3k·u·(S + S_WH) with S = ½‖V‖², S_WH = ½‖WH‖²,
/// and moves D(V‖WH) by at most Σ|1 − V/WH|·k·u·WH ≤ k·u·(S + S_WH) with S = ΣV, S_WH = ΣWH.
/// Two evaluations are compared, and the f64 sums add ~2·u64 of the summed magnitudes; the
/// half-step itself is the minimiser of the auxiliary function up to a relative O((m+k)·u)
/// perturbation of each entry, which changes G only at second order (u²). So
/// `loss⁺ ≤ loss + 8·(k+2)·u·(S + S_WH) + 16·u64·M`, where M is the sum of |V log(V/WH)|
/// (the KL terms whose f64 logarithms carry their own rounding). It is absolute, not relative
/// to the loss, so it does not hide an increase when the loss is small.
pub fn check_loss_never_increases<T: Scalar, B: DenseBackend<T>>(b: &B, loss: Loss) {
    runner()
        .run(&data_case::<T>(16), |c| {
            let (v, w0, h0, eps) = start(b, &c);
            let mut s = MuSolver::new(b, &v, w0, h0, loss, eps).unwrap();
            let scales = |s: &MuSolver<'_, T, B, B::Mat>| -> (f64, f64) {
                let wh = product(&export(b, s.w()), &export(b, s.h()), c.m, c.k, c.n);
                match loss {
                    Loss::Frobenius => {
                        let sv: f64 = c.v.iter().map(|x| 0.5 * x * x).sum();
                        (sv + wh.iter().map(|x| 0.5 * x * x).sum::<f64>(), 0.0)
                    }
                    Loss::KullbackLeibler => {
                        let sv: f64 = c.v.iter().sum::<f64>() + wh.iter().sum::<f64>();
                        let m: f64 = c.v.iter().zip(&wh).map(|(&v, &y)| if v > 0.0 { (v * (v / y).ln()).abs() } else { 0.0 }).sum();
                        (sv, m)
                    }
                    other => panic!("check_beta_loss_never_increases covers {other}"),
                }
            };
            let mut prev = s.loss();
            let mut prev_scale = scales(&s);
            for it in 0..20 {
                for half in ["H", "W"] {
                    if half == "H" { s.update_h() } else { s.update_w() }
                    let now = s.loss();
                    let scale = scales(&s);
                    let (sw, mw) = (prev_scale.0.max(scale.0), prev_scale.1.max(scale.1));
                    let tol = 8.0 * (c.k as f64 + 2.0) * T::unit_roundoff() * sw + 16.0 * U64 * mw;
                    prop_assert!(
                        now <= prev + tol,
                        "{loss} rose in the {half} half-step of iteration {it}: {prev} → {now} (by {}, tolerance {tol}; case {:?})",
                        now - prev, c.pattern
                    );
                    prev = now;
                    prev_scale = scale;
                }
            }
            Ok(())
        })
        .unwrap();
}

/// The auxiliary-function lemmas on the subproblems of one column of H and one row of W:
/// `G(xᵗ, xᵗ) = F(xᵗ)`; `G(x', xᵗ) ≥ F(x')` and `G(x⁺, xᵗ) ≤ G(x', xᵗ)` for random feasible
/// x' ≥ ε; the chain `F(x⁺) ≤ G(x⁺, xᵗ) ≤ G(xᵗ, xᵗ) = F(xᵗ)`; and the backend's half-step
/// equals the minimiser x⁺ of [`Subproblem::minimizer`]. In two thirds of the cases with
/// L1/L2 penalties ([`Subproblem::with_penalty`]), which checks their auxiliary functions.
///
/// Tolerances. F and G are evaluated in f64 from sums over m terms of k-term products, so each
/// errs by at most about (m + k + 4)·u64 times the sum of the absolute values of its terms
/// (the `*_with_scale` methods return that sum); 4·(m + k + 4)·u64·(scale_left + scale_right)
/// covers both sides of a comparison. x⁺ is rounded to T once, which changes G only at second
/// order, by at most u²·scale (the first-order term vanishes at an interior minimum, and ε
/// itself is exact): 4·k·u²·scale is added for that. The backend's half-step computes its
/// numerator and denominator with m-term and (m + k)-term sums of non-negative values, so
/// it differs from x⁺ by a relative 2·(2m + k + 4)·u at most; the penalty weights (rounded to
/// T and added) and the roots and powers of the L2 and β steps add 8 to that count.
pub fn check_auxiliary_lemmas<T: Scalar, B: DenseBackend<T>>(b: &B, loss: Loss) {
    runner()
        .run(
            &(
                data_case::<T>(9),
                0usize..4,
                any::<u64>(),
                penalty_weights(),
            ),
            |(c, warmup, seed, weights)| auxiliary_case(b, c, warmup, seed, loss, weights),
        )
        .unwrap();
}

/// [`check_auxiliary_lemmas`] for the general β path ([`Loss::Beta`]), β drawn as in
/// [`check_beta_loss_never_increases`], with and without penalties: this checks the
/// β auxiliary functions and the penalty bounds of `docs/penalties.md` (G ≥ F at random
/// points, G(xᵗ, xᵗ) = F(xᵗ), and the half-step is G's minimiser). The backend's half-step
/// computes powers λ^(β−2) of k-term sums, which amplifies their relative error by |β − 2|,
/// so its tolerance is 2·(2m + (1 + |β − 2|)·k + 12)·u.
pub fn check_auxiliary_lemmas_beta<T: Scalar, B: DenseBackend<T>>(b: &B) {
    runner()
        .run(
            &(
                data_case::<T>(9),
                0usize..4,
                any::<u64>(),
                penalty_weights(),
                betas(),
            ),
            |(mut c, warmup, seed, weights, beta)| {
                if beta <= 0.0 {
                    fill_zeros(&mut c.v);
                }
                auxiliary_case(b, c, warmup, seed, Loss::Beta(beta), weights)
            },
        )
        .unwrap();
}

fn auxiliary_case<T: Scalar, B: DenseBackend<T>>(
    b: &B,
    c: DataCase,
    warmup: usize,
    seed: u64,
    loss: Loss,
    weights: Option<(f64, f64, f64, i32)>,
) -> Result<(), TestCaseError> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let pen = weights.map_or(crate::Penalty::default(), |(aw, ah, ratio, exp)| {
        let scale = c.mean().max(f64::MIN_POSITIVE) * 10f64.powi(exp);
        crate::Penalty::sklearn(c.m, c.n, aw * scale, ah * scale, ratio)
    });
    let (v, w0, h0, eps) = start(b, &c);
    let mut s = MuSolver::new(b, &v, w0, h0, loss, eps).unwrap();
    s.set_penalty(pen).unwrap();
    for _ in 0..warmup {
        s.step();
    }
    let u = T::unit_roundoff();
    let beta = loss.beta_value();
    let general = !matches!(loss, Loss::Frobenius | Loss::KullbackLeibler);
    for side in ["H column", "W row"] {
        let w_t = b.to_row_major(s.w());
        let h_t = b.to_row_major(s.h());
        let v_t: Vec<T> = c.v.iter().map(|&x| T::from_f64(x)).collect();
        let (vec_v, xt, idx): (Vec<T>, Vec<T>, usize);
        let p = if side == "H column" {
            let j = rng.random_range(0..c.n);
            vec_v = (0..c.m).map(|i| v_t[i * c.n + j]).collect();
            xt = (0..c.k).map(|a| h_t[a * c.n + j]).collect();
            idx = j;
            Subproblem::h_column(&w_t, c.m, c.k, &vec_v).with_penalty(pen.l1_h, pen.l2_h)
        } else {
            let i = rng.random_range(0..c.m);
            vec_v = v_t[i * c.n..(i + 1) * c.n].to_vec();
            xt = w_t[i * c.k..(i + 1) * c.k].to_vec();
            idx = i;
            Subproblem::w_row(&h_t, c.k, c.n, &vec_v).with_penalty(pen.l1_w, pen.l2_w)
        };
        let rows = if side == "H column" { c.m } else { c.n };
        let c_eval = 4.0 * (rows + c.k + 4) as f64 * U64;
        let (f_t, sf_t) = p.objective_with_scale(loss, &xt);
        let (g_tt, sg_tt) = p.auxiliary_with_scale(loss, &xt, &xt);
        prop_assert!(
            (g_tt - f_t).abs() <= c_eval * (sf_t + sg_tt),
            "{loss} {pen:?} {side}: G(xᵗ,xᵗ) = {g_tt} ≠ F(xᵗ) = {f_t}"
        );
        let x_plus = p.minimizer(loss, &xt, eps);
        let (f_p, sf_p) = p.objective_with_scale(loss, &x_plus);
        let (g_p, sg_p) = p.auxiliary_with_scale(loss, &x_plus, &xt);
        let round = 4.0 * c.k as f64 * u * u * sg_p;
        prop_assert!(
            f_p <= g_p + c_eval * (sf_p + sg_p),
            "{loss} {pen:?} {side}: F(x⁺) = {f_p} > G(x⁺,xᵗ) = {g_p}"
        );
        prop_assert!(
            g_p <= g_tt + c_eval * (sg_p + sg_tt) + round,
            "{loss} {pen:?} {side}: G(x⁺,xᵗ) = {g_p} > G(xᵗ,xᵗ) = {g_tt}"
        );
        for trial in 0..8 {
            let x: Vec<T> = xt
                .iter()
                .map(|&t| {
                    let f: f64 = rng.random_range(-3.0..3.0);
                    let y = if trial % 4 == 3 {
                        eps.as_f64()
                    } else {
                        t.as_f64() * f.exp()
                    };
                    T::from_f64(y).max(eps)
                })
                .collect();
            let (f_x, sf_x) = p.objective_with_scale(loss, &x);
            let (g_x, sg_x) = p.auxiliary_with_scale(loss, &x, &xt);
            prop_assert!(
                g_x >= f_x - c_eval * (sf_x + sg_x),
                "{loss} {pen:?} {side}: G(x',xᵗ) = {g_x} < F(x') = {f_x} at x' = {x:?}"
            );
            prop_assert!(
                g_p <= g_x + c_eval * (sg_p + sg_x) + round,
                "{loss} {pen:?} {side}: G(x⁺,xᵗ) = {g_p} > G(x',xᵗ) = {g_x} at x' = {x:?}"
            );
        }
        // The backend's half-step gives x⁺.
        let got: Vec<T> = if side == "H column" {
            s.update_h();
            let h = b.to_row_major(s.h());
            (0..c.k).map(|a| h[a * c.n + idx]).collect()
        } else {
            s.update_w();
            b.to_row_major(s.w())[idx * c.k..(idx + 1) * c.k].to_vec()
        };
        let amplify = if general {
            1.0 + (beta - 2.0).abs()
        } else {
            1.0
        };
        // 2m + k + 4 for the sums and the step (see the doc), + 4 for the penalty weights
        // rounded to T and added to the denominator, + 4 for the roots and powers of the L2
        // and β steps (each correctly rounded to within an ulp).
        let rel = 2.0 * (2.0 * rows as f64 + amplify * c.k as f64 + 12.0) * u;
        // The backend's β kernels run at β rounded to T (the exponents β − 1, β − 2 of λ),
        // which moves λ^(β−2) by a relative |ln λ|·u: so the half-step is compared with the
        // minimiser at that β. Its exponent γ is rounded to T too, which moves
        // x⁺ = xᵗ·ratio^γ by a relative |γ·ln ratio|·u = |ln(x⁺/xᵗ)|·u (2u with slack).
        let want_at = match loss {
            Loss::Beta(beta) if T::from_f64(beta).as_f64() != beta => {
                p.minimizer(Loss::Beta(T::from_f64(beta).as_f64()), &xt, eps)
            }
            _ => x_plus.clone(),
        };
        for (a, (g, want)) in got.iter().zip(&want_at).enumerate() {
            let (g, want) = (g.as_f64(), want.as_f64());
            let power = 2.0 * u * (want / xt[a].as_f64()).ln().abs();
            prop_assert!(
                (g - want).abs() <= (rel + power) * want.max(eps.as_f64()),
                "{loss} {pen:?} {side} {idx}, entry {a}: the half-step gives {g}, the minimiser of G is {want}"
            );
        }
    }
    Ok(())
}

/// Zero rows of V give rows of W equal to ε, zero columns give columns of H equal to ε, and
/// an all-zero V gives W = H = ε, exactly, after a fit; and every factor is finite.
pub fn check_zero_rows_and_columns<T: Scalar, B: DenseBackend<T>>(b: &B, loss: Loss) {
    runner()
        .run(&data_case::<T>(10), |c| {
            let v = mat::<T, B>(b, c.m, c.n, &c.v);
            let params = Nmf::params(c.k)
                .loss(loss)
                .max_iter(5)
                .seed(c.seed)
                .check()
                .unwrap();
            let model = params.fit(b, &v).unwrap();
            let eps = model.eps();
            let (w, h) = (b.to_row_major(model.w()), b.to_row_major(model.h()));
            prop_assert!(w.iter().chain(&h).all(|x| x.is_finite() && *x >= eps));
            for i in (0..c.m).filter(|&i| c.zero_row(i)) {
                prop_assert!(
                    w[i * c.k..(i + 1) * c.k].iter().all(|&x| x == eps),
                    "row {i} of W is not ε"
                );
            }
            for j in (0..c.n).filter(|&j| c.zero_col(j)) {
                prop_assert!(
                    (0..c.k).all(|a| h[a * c.n + j] == eps),
                    "column {j} of H is not ε"
                );
            }
            Ok(())
        })
        .unwrap();
}

/// The β-divergence loss never increases, after every half-step of the general β path
/// ([`Loss::Beta`]), for β drawn from {0, 0.5, 1, 1.5, 2, 3} and from [−0.5, 3.5]. For β ≤ 0
/// the zeros of V are replaced by positive values (the divergence is infinite there).
///
/// Tolerance, as for [`check_loss_never_increases`]: a relative error of k·u in each entry λ
/// of WH moves d_β(v|λ) by |∂d/∂λ|·k·u·λ = λ^(β−1)|λ − v|·k·u, so the computed loss of WH in
/// `T` is off by at most k·u·S with S = Σ λ^(β−1)|λ − v| (2·(k+2)·u·S for two evaluations
/// with slack: 8·(k+2)·u·S); the f64 evaluation of the terms (powers, logarithms) adds a few
/// u64 of Σ|terms| (16·u64 with slack). The half-step is the exact minimiser of a convex
/// auxiliary function up to O(u) relative perturbations of each entry, which change it only at
/// second order.
pub fn check_beta_loss_never_increases<T: Scalar, B: DenseBackend<T>>(b: &B) {
    runner()
        .run(&(data_case::<T>(12), betas()), |(c, beta)| {
            beta_objective_case(b, c, beta, crate::Penalty::default())
        })
        .unwrap();
}

/// 15 iterations of the general β path ([`Loss::Beta`]) with the penalty `pen`, asserting after
/// every half-step that the objective is finite and has not risen beyond the tolerance of
/// [`check_beta_loss_never_increases`] (plus 8·(k+2)·u·P for the penalty terms P), and at the
/// end that the factors are ≥ ε. For β ≤ 0 the zeros of V are replaced first.
pub(super) fn beta_objective_case<T: Scalar, B: DenseBackend<T>>(
    b: &B,
    mut c: DataCase,
    beta: f64,
    pen: crate::Penalty,
) -> Result<(), TestCaseError> {
    if beta <= 0.0 {
        fill_zeros(&mut c.v);
    }
    let (v, w0, h0, eps) = start(b, &c);
    let mut s = MuSolver::new(b, &v, w0, h0, Loss::Beta(beta), eps).unwrap();
    s.set_penalty(pen).unwrap();
    let scales = |s: &MuSolver<'_, T, B, B::Mat>| -> (f64, f64) {
        let (w, h) = (export(b, s.w()), export(b, s.h()));
        let wh = product(&w, &h, c.m, c.k, c.n);
        let (sens, terms) = beta_scales(&c.v, &wh, beta);
        let p = penalty_scale(&pen, &w, &h);
        (sens + p, terms + p)
    };
    let mut prev = s.objective();
    let mut prev_scale = scales(&s);
    for it in 0..15 {
        for half in ["H", "W"] {
            if half == "H" {
                s.update_h()
            } else {
                s.update_w()
            }
            let now = s.objective();
            let scale = scales(&s);
            let (s1, s2) = (prev_scale.0.max(scale.0), prev_scale.1.max(scale.1));
            let tol = 8.0 * (c.k as f64 + 2.0) * T::unit_roundoff() * s1 + 16.0 * U64 * s2;
            prop_assert!(
                now.is_finite(),
                "β = {beta} with {pen:?}: the objective became {now}"
            );
            prop_assert!(
                now <= prev + tol,
                "β = {beta} with {pen:?}: the objective rose in the {half} half-step of iteration {it}: {prev} → {now} (by {}, tolerance {tol}; case {:?})",
                now - prev,
                c.pattern
            );
            prev = now;
            prev_scale = scale;
        }
    }
    all_at_least(b, s.w(), eps, "W")?;
    all_at_least(b, s.h(), eps, "H")?;
    Ok(())
}

/// β = 2 and β = 1 name the dedicated Frobenius and KL paths ([`Loss::beta`]), and the
/// general β path run at β = 2 and β = 1 agrees with them: after 25 iterations from the same
/// start, ‖W_β − W‖_F ≤ 8000·u·‖W‖_F and the same for H. The two compute the same
/// quantities in different orders (Wᵀ(WH) against (WᵀW)H, powers equal to 1 or λ), so they
/// differ by rounding, which compounds as in the cross-backend agreement test; the problems
/// are well determined (positive data of rank below min(m, n), fitted at that rank).
pub fn check_beta_path_matches_dedicated<T: Scalar, B: DenseBackend<T>>(b: &B) {
    assert_eq!(Loss::beta(2.0), Loss::Frobenius);
    assert_eq!(Loss::beta(1.0), Loss::KullbackLeibler);
    runner_with_cases(64)
        .run(&(3usize..=12, 3usize..=12, any::<u64>()), |(m, n, seed)| {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let k = rng.random_range(1..m.min(n));
            let wt: Vec<f64> = (0..m * k).map(|_| rng.random_range(0.1..1.0)).collect();
            let ht: Vec<f64> = (0..k * n).map(|_| rng.random_range(0.1..1.0)).collect();
            let vd = product(&wt, &ht, m, k, n);
            let (w0, h0) =
                crate::init::random_factors(m, n, k, vd.iter().sum::<f64>() / (m * n) as f64, seed);
            let v = mat::<T, B>(b, m, n, &vd);
            let run = |loss: Loss| {
                let mut s = MuSolver::new(
                    b,
                    &v,
                    mat(b, m, k, &w0),
                    mat(b, k, n, &h0),
                    loss,
                    T::from_f64(1e-12),
                )
                .unwrap();
                for _ in 0..25 {
                    s.step();
                }
                (export(b, s.w()), export(b, s.h()))
            };
            let rel = |a: &[f64], b: &[f64]| {
                let d: f64 = a
                    .iter()
                    .zip(b)
                    .map(|(x, y)| (x - y) * (x - y))
                    .sum::<f64>()
                    .sqrt();
                d / a.iter().map(|x| x * x).sum::<f64>().sqrt()
            };
            let tol = 8000.0 * T::unit_roundoff();
            for (dedicated, beta) in [(Loss::Frobenius, 2.0), (Loss::KullbackLeibler, 1.0)] {
                let (a, g) = (run(dedicated), run(Loss::Beta(beta)));
                let (dw, dh) = (rel(&a.0, &g.0), rel(&a.1, &g.1));
                prop_assert!(
                    dw <= tol && dh <= tol,
                    "β = {beta}: W differs by {dw:e}, H by {dh:e} from {dedicated}"
                );
            }
            Ok(())
        })
        .unwrap();
}

/// The sizes that [`MuSolver::evaluate`] returns bound the exact ones the suite's tolerances
/// use, so the library's own check ([`crate::NmfError::ObjectiveIncreased`]) never fires where
/// the suite's bound holds: `scale ≥ S + P` and `f64_terms ≥ M`, with S, M and P computed
/// exactly in `f64` from V and WH as in [`check_loss_never_increases`],
/// [`check_beta_loss_never_increases`] and
/// [`check_regularized_objective_never_increases`](super::check_regularized_objective_never_increases),
/// for every loss, with and without penalties, after 0–3 iterations; and its objective is
/// [`MuSolver::objective`].
///
/// Tolerance: the bounds are sums of the same non-negative terms computed in `T` (column and
/// row sums, powers), so they may fall below the exact ones by a relative
/// 4·(m + n + k + 4)·u at most (the `f64` sums add a few u64), plus |ln λ|·(|β| + 2)·u for
/// the powers λ^β taken at β rounded to `T`, plus the terms that underflow `T`: less than its
/// smallest normal number each.
pub fn check_evaluation_bounds<T: Scalar, B: DenseBackend<T>>(b: &B) {
    let losses = prop_oneof![
        1 => Just(Loss::Frobenius),
        1 => Just(Loss::KullbackLeibler),
        2 => betas().prop_map(Loss::Beta),
    ];
    runner_with_cases(128)
        .run(
            &(data_case::<T>(9), losses, 0usize..4, penalty_weights()),
            |(mut c, loss, warmup, weights)| {
                let beta = loss.beta_value();
                if beta <= 0.0 {
                    fill_zeros(&mut c.v);
                }
                let pen = weights.map_or(crate::Penalty::default(), |(aw, ah, ratio, exp)| {
                    let scale = c.mean().max(f64::MIN_POSITIVE) * 10f64.powi(exp);
                    crate::Penalty::sklearn(c.m, c.n, aw * scale, ah * scale, ratio)
                });
                let (v, w0, h0, eps) = start(b, &c);
                let mut s = MuSolver::new(b, &v, w0, h0, loss, eps).unwrap();
                s.set_penalty(pen).unwrap();
                for _ in 0..warmup {
                    s.step();
                }
                let e = s.evaluate();
                let objective = s.objective();
                prop_assert_eq!(e.objective, objective);
                let (w, h) = (export(b, s.w()), export(b, s.h()));
                let wh = product(&w, &h, c.m, c.k, c.n);
                let (sens, terms) = match loss {
                    Loss::Frobenius => (c.v.iter().chain(&wh).map(|x| 0.5 * x * x).sum(), 0.0),
                    Loss::KullbackLeibler => (
                        c.v.iter().chain(&wh).sum(),
                        c.v.iter()
                            .zip(&wh)
                            .map(|(&v, &y)| {
                                if v > 0.0 {
                                    (v * (v / y).ln()).abs()
                                } else {
                                    0.0
                                }
                            })
                            .sum(),
                    ),
                    _ => beta_scales(&c.v, &wh, beta),
                };
                let want = sens + penalty_scale(&pen, &w, &h);
                let u = T::unit_roundoff();
                // The β bounds raise λ to the exponent β rounded to T (as (β + 1) − 1), which
                // moves λ^β by a relative |ln λ|·(|β| + 2)·u.
                let ln_max = wh.iter().map(|y| y.ln().abs()).fold(0.0, f64::max);
                let power = if matches!(loss, Loss::Beta(_)) {
                    ln_max * (beta.abs() + 2.0) * u
                } else {
                    0.0
                };
                let slack = 1.0 - 4.0 * (c.m + c.n + c.k + 4) as f64 * u - power;
                // Terms below the smallest normal number of T (or of f64, for subnormal penalty
                // weights) can be lost entirely: at most that much each.
                let entries = (c.m * c.n + c.m * c.k + c.k * c.n) as f64;
                let abs = 4.0 * entries * T::min_positive_value().as_f64();
                prop_assert!(
                    e.scale >= slack * want - abs,
                    "{loss} {pen:?}: scale {} below the exact S + P = {want}",
                    e.scale
                );
                prop_assert!(
                    e.f64_terms >= slack * terms - abs,
                    "{loss}: f64 terms {} below the exact M = {terms}",
                    e.f64_terms
                );
                Ok(())
            },
        )
        .unwrap();
}
