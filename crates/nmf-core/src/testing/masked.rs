//! Masked and weighted data ([`crate::masked`]): on every backend and scalar type, the
//! multiplicative updates (every loss) and masked least squares keep the weighted penalised
//! objective from rising after every half-step with every entry ≥ ε; the weighted half-step is
//! the minimiser of the weighted auxiliary function ([`Subproblem::with_weights`]); a full mask
//! gives the unmasked fit (bit for bit for [`Weighted`], to rounding for [`Observed`]); an
//! entry of weight 0 does not matter (same bits whatever its value); a masked fit recovers an
//! exactly low-rank matrix from part of its entries; predictions and held-out errors are the
//! formulas; bad masks and weights are errors naming their place.
//!
//! Weights are drawn widely: 0/1 masks of any density, whole rows and columns unobserved, a
//! single observed entry, and positive weights over four orders of magnitude mixed with zeros,
//! on the suite's data cases (zeros, empty rows and columns, tiny and huge magnitudes).

use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::common::*;
use super::{DataCase, data_case, runner, runner_with_cases};
use crate::auxiliary::Subproblem;
use crate::masked::{AnlsOptions, AnlsSolver, Observed, Weighted, holdout_error};
use crate::{
    DataOps, DenseBackend, Init, Loss, MatrixRole, MuSolver, Nmf, NmfError, Penalty, Scalar, Solver,
};

/// Weights for an m×n V, row-major, of one of four kinds (`kind % 4`): a 0/1 mask of density
/// 0.2–1; a mask with whole rows and columns unobserved; a single observed entry; positive
/// weights from 10⁻² to 10² with a third of them 0. At least one weight is positive.
pub fn draw_weights(kind: usize, m: usize, n: usize, seed: u64) -> Vec<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut w: Vec<f64> = match kind % 4 {
        0 => {
            let d = rng.random_range(0.2..1.0);
            (0..m * n)
                .map(|_| f64::from(u8::from(rng.random_bool(d))))
                .collect()
        }
        1 => {
            let mut w = vec![1.0; m * n];
            let i = rng.random_range(0..m);
            w[i * n..(i + 1) * n].fill(0.0);
            let j = rng.random_range(0..n);
            (0..m).for_each(|i| w[i * n + j] = 0.0);
            w
        }
        2 => {
            let mut w = vec![0.0; m * n];
            w[rng.random_range(0..m * n)] = 1.0;
            w
        }
        _ => (0..m * n)
            .map(|_| {
                if rng.random_bool(1.0 / 3.0) {
                    0.0
                } else {
                    10f64.powf(rng.random_range(-2.0..2.0))
                }
            })
            .collect(),
    };
    if w.iter().all(|&x| x == 0.0) {
        w[rng.random_range(0..m * n)] = 1.0;
    }
    w
}

/// The case's V with weights `w` as [`Observed`] data: the entries of positive weight for a
/// 0/1 mask (unweighted), every entry with its weight otherwise (weight-0 entries stored).
pub fn observed_of<T: Scalar>(c: &DataCase, w: &[f64]) -> Observed<T> {
    let mask = w.iter().all(|&x| x == 0.0 || x == 1.0);
    let (mut r, mut col, mut v, mut wt) = (vec![], vec![], vec![], vec![]);
    for (t, (&x, &m)) in c.v.iter().zip(w).enumerate() {
        if mask && m == 0.0 {
            continue;
        }
        r.push(t / c.n);
        col.push(t % c.n);
        v.push(T::from_f64(x));
        wt.push(T::from_f64(m));
    }
    if mask {
        Observed::from_triplets(c.m, c.n, &r, &col, &v).expect("valid observed entries")
    } else {
        Observed::from_weighted_triplets(c.m, c.n, &r, &col, &v, &wt).expect("valid weights")
    }
}

/// The case's V with weights `w` as dense [`Weighted`] data.
pub fn weighted_of<T: Scalar, B: DenseBackend<T>>(
    b: &B,
    c: &DataCase,
    w: &[f64],
) -> Weighted<B::Mat> {
    Weighted::new(b, mat(b, c.m, c.n, &c.v), mat(b, c.m, c.n, w)).expect("valid weights")
}

/// The penalty of drawn weights, scaled to the data as in the penalty group.
fn penalty_of(c: &DataCase, weights: Option<(f64, f64, f64, i32)>) -> Penalty {
    weights.map_or(Penalty::default(), |(aw, ah, ratio, exp)| {
        let scale = c.mean().max(f64::MIN_POSITIVE) * 10f64.powi(exp);
        Penalty::sklearn(c.m, c.n, aw * scale, ah * scale, ratio)
    })
}

/// 8 half-steps of a rule on weighted data: after each, the objective has not risen by more
/// than [`Evaluation::rise_bound`](crate::Evaluation::rise_bound) (whose sizes the weighted
/// data terms compute over the weighted entries: the same argument, each term times its
/// weight), and every entry of W and H is finite and ≥ ε.
fn half_steps<T: Scalar, B: DenseBackend<T>>(
    b: &B,
    k: usize,
    eps: T,
    what: &str,
    mut half: impl FnMut(bool),
    mut evaluate: impl FnMut() -> crate::Evaluation,
    factors: impl Fn() -> (B::Mat, B::Mat),
) -> Result<(), TestCaseError> {
    let u = T::unit_roundoff();
    let mut prev = evaluate();
    for step in 0..8 {
        half(step % 2 == 0);
        let next = evaluate();
        let bound = prev.rise_bound(&next, k, u);
        prop_assert!(
            next.objective <= prev.objective + bound,
            "{what}, half-step {step}: {} → {} (bound {bound:e})",
            prev.objective,
            next.objective
        );
        prev = next;
    }
    let (w, h) = factors();
    all_at_least(b, &w, eps, "W")?;
    all_at_least(b, &h, eps, "H")?;
    Ok(())
}

/// MU on weighted data ([`Weighted`] and [`Observed`]), for Frobenius, KL and a drawn β, with
/// and without penalties: the weighted objective never rises after a half-step, beyond the
/// rounding bound, and the factors stay ≥ ε.
pub fn check_masked_mu_monotone<T: Scalar, B: DenseBackend<T>>(b: &B) {
    runner_with_cases(64)
        .run(
            &(
                data_case::<T>(10),
                0usize..4,
                any::<u64>(),
                penalty_weights(),
                betas(),
            ),
            |(mut c, kind, seed, weights, beta)| {
                let pen = penalty_of(&c, weights);
                for loss in [Loss::Frobenius, Loss::KullbackLeibler, Loss::Beta(beta)] {
                    if loss.beta_value() <= 0.0 {
                        fill_zeros(&mut c.v);
                    }
                    let wts = draw_weights(kind, c.m, c.n, seed);
                    let (_, w0, h0, eps) = start(b, &c);
                    let dense = weighted_of(b, &c, &wts);
                    let obs = observed_of::<T>(&c, &wts);
                    {
                        let s = core::cell::RefCell::new(
                            MuSolver::<T, B, Weighted<B::Mat>>::new(
                                b,
                                &dense,
                                w0.clone(),
                                h0.clone(),
                                loss,
                                eps,
                            )
                            .unwrap(),
                        );
                        s.borrow_mut().set_penalty(pen).unwrap();
                        half_steps(
                            b,
                            c.k,
                            eps,
                            &format!("MU {loss} on dense weights (kind {kind}) {pen:?}"),
                            |h| {
                                if h {
                                    s.borrow_mut().update_h()
                                } else {
                                    s.borrow_mut().update_w()
                                }
                            },
                            || s.borrow_mut().evaluate(),
                            || (s.borrow().w().clone(), s.borrow().h().clone()),
                        )?;
                    }
                    let s = core::cell::RefCell::new(
                        MuSolver::<T, B, Observed<T>>::new(
                            b,
                            &obs,
                            w0.clone(),
                            h0.clone(),
                            loss,
                            eps,
                        )
                        .unwrap(),
                    );
                    s.borrow_mut().set_penalty(pen).unwrap();
                    half_steps(
                        b,
                        c.k,
                        eps,
                        &format!("MU {loss} on observed entries (kind {kind}) {pen:?}"),
                        |h| {
                            if h {
                                s.borrow_mut().update_h()
                            } else {
                                s.borrow_mut().update_w()
                            }
                        },
                        || s.borrow_mut().evaluate(),
                        || (s.borrow().w().clone(), s.borrow().h().clone()),
                    )?;
                }
                Ok(())
            },
        )
        .unwrap();
}

/// Masked least squares ([`AnlsSolver`]) with and without penalties: the weighted Frobenius
/// objective never rises after a half-step beyond the rounding bound, and the factors stay
/// ≥ ε. (Each coordinate step is an exact minimisation of a quadratic whose Gram matrix and
/// right-hand side are computed in T: their rounding perturbs the minimiser by O(u) relative,
/// which changes the objective at second order, as for HALS.)
pub fn check_anls_monotone<T: Scalar, B: DenseBackend<T>>(b: &B) {
    runner_with_cases(64)
        .run(
            &(
                data_case::<T>(10),
                0usize..4,
                any::<u64>(),
                penalty_weights(),
            ),
            |(c, kind, seed, weights)| {
                let pen = penalty_of(&c, weights);
                let wts = draw_weights(kind, c.m, c.n, seed);
                let (_, w0, h0, eps) = start(b, &c);
                let obs = observed_of::<T>(&c, &wts);
                let s = core::cell::RefCell::new(
                    AnlsSolver::<T, B, Observed<T>>::new(
                        b,
                        &obs,
                        w0,
                        h0,
                        eps,
                        AnlsOptions::default(),
                    )
                    .unwrap(),
                );
                s.borrow_mut().set_penalty(pen).unwrap();
                half_steps(
                    b,
                    c.k,
                    eps,
                    &format!("ANLS (kind {kind}) {pen:?}"),
                    |h| {
                        if h {
                            s.borrow_mut().update_h()
                        } else {
                            s.borrow_mut().update_w()
                        }
                    },
                    || s.borrow_mut().evaluate(),
                    || (s.borrow().w().clone(), s.borrow().h().clone()),
                )
            },
        )
        .unwrap();
}

/// The weighted auxiliary functions ([`Subproblem::with_weights`]) on one column of H and one
/// row of W of a fit on dense weighted data: `G(xᵗ, xᵗ) = F(xᵗ)`, `G(x', xᵗ) ≥ F(x')` at random
/// feasible x', the chain `F(x⁺) ≤ G(x⁺, xᵗ) ≤ G(xᵗ, xᵗ)`, and the backend's weighted half-step
/// equals the minimiser x⁺, for Frobenius, KL and a drawn β, with and without penalties.
///
/// Tolerances as in [`check_auxiliary_lemmas`](super::check_auxiliary_lemmas): F and G in f64
/// err by at most 4·(rows + k + 4)·u64 times the sum of their terms' absolute values; x⁺
/// rounded to T moves G by at most 4·k·u²·scale; the half-step's sums of non-negative
/// products differ from x⁺ by a relative 2·(2·rows + a·k + 12)·u, with a = 1 + |β − 2| for
/// the powers of the β path, plus 2·rows·u for the weights' products (one more rounding per
/// term in each of the two sums), plus the power's 2u·|ln(x⁺/xᵗ)|.
pub fn check_weighted_auxiliary<T: Scalar, B: DenseBackend<T>>(b: &B) {
    runner()
        .run(
            &(
                data_case::<T>(8),
                0usize..4,
                any::<u64>(),
                penalty_weights(),
                betas(),
                0usize..3,
                0usize..3,
            ),
            |(mut c, kind, seed, weights, beta, which, warmup)| {
                let loss = [Loss::Frobenius, Loss::KullbackLeibler, Loss::Beta(beta)][which];
                if loss.beta_value() <= 0.0 {
                    fill_zeros(&mut c.v);
                }
                let pen = penalty_of(&c, weights);
                let wts = draw_weights(kind, c.m, c.n, seed);
                let data = weighted_of(b, &c, &wts);
                let (_, w0, h0, eps) = start(b, &c);
                let mut s =
                    MuSolver::<T, B, Weighted<B::Mat>>::new(b, &data, w0, h0, loss, eps).unwrap();
                s.set_penalty(pen).unwrap();
                for _ in 0..warmup {
                    s.step();
                }
                let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5eed);
                let u = T::unit_roundoff();
                let v_t: Vec<T> = c.v.iter().map(|&x| T::from_f64(x)).collect();
                let m_t: Vec<T> = wts.iter().map(|&x| T::from_f64(x)).collect();
                for side in ["H column", "W row"] {
                    let (w_t, h_t) = (b.to_row_major(s.w()), b.to_row_major(s.h()));
                    let (vec_v, vec_m, xt, idx, rows): (Vec<T>, Vec<T>, Vec<T>, usize, usize);
                    if side == "H column" {
                        let j = rng.random_range(0..c.n);
                        vec_v = (0..c.m).map(|i| v_t[i * c.n + j]).collect();
                        vec_m = (0..c.m).map(|i| m_t[i * c.n + j]).collect();
                        xt = (0..c.k).map(|a| h_t[a * c.n + j]).collect();
                        (idx, rows) = (j, c.m);
                    } else {
                        let i = rng.random_range(0..c.m);
                        vec_v = v_t[i * c.n..(i + 1) * c.n].to_vec();
                        vec_m = m_t[i * c.n..(i + 1) * c.n].to_vec();
                        xt = w_t[i * c.k..(i + 1) * c.k].to_vec();
                        (idx, rows) = (i, c.n);
                    }
                    let p = if side == "H column" {
                        Subproblem::h_column(&w_t, c.m, c.k, &vec_v)
                            .with_penalty(pen.l1_h, pen.l2_h)
                    } else {
                        Subproblem::w_row(&h_t, c.k, c.n, &vec_v).with_penalty(pen.l1_w, pen.l2_w)
                    };
                    // Every weight 1 is unweighted data (the dense rules, KL's own L2 step).
                    let p = if data.is_full() {
                        p
                    } else {
                        p.with_weights(&vec_m)
                    };
                    let c_eval = 4.0 * (rows + c.k + 4) as f64 * U64;
                    // A row or column without weight leaves only the penalty terms, which are
                    // subnormal for the all-zero cases (ε and the weights scale with V's
                    // mean): each product then errs by up to half the smallest subnormal,
                    // absolutely, so 8·(rows + k + 4) of them are added to every comparison.
                    let tiny = 8.0 * (rows + c.k + 4) as f64 * f64::from_bits(1);
                    let (f_t, sf_t) = p.objective_with_scale(loss, &xt);
                    let (g_tt, sg_tt) = p.auxiliary_with_scale(loss, &xt, &xt);
                    prop_assert!(
                        (g_tt - f_t).abs() <= c_eval * (sf_t + sg_tt) + tiny,
                        "{loss} {side}: G(xᵗ,xᵗ) = {g_tt} ≠ F(xᵗ) = {f_t}"
                    );
                    let x_plus = p.minimizer(loss, &xt, eps);
                    let (f_p, sf_p) = p.objective_with_scale(loss, &x_plus);
                    let (g_p, sg_p) = p.auxiliary_with_scale(loss, &x_plus, &xt);
                    let round = 4.0 * c.k as f64 * u * u * sg_p;
                    prop_assert!(
                        f_p <= g_p + c_eval * (sf_p + sg_p) + tiny,
                        "{loss} {side}: F(x⁺) = {f_p} > G(x⁺,xᵗ) = {g_p}"
                    );
                    prop_assert!(
                        g_p <= g_tt + c_eval * (sg_p + sg_tt) + round + tiny,
                        "{loss} {side}: G(x⁺,xᵗ) = {g_p} > G(xᵗ,xᵗ) = {g_tt}"
                    );
                    for _ in 0..6 {
                        let x: Vec<T> = xt
                            .iter()
                            .map(|&t| {
                                let f: f64 = rng.random_range(-3.0..3.0);
                                T::from_f64(t.as_f64() * f.exp()).max(eps)
                            })
                            .collect();
                        let (f_x, sf_x) = p.objective_with_scale(loss, &x);
                        let (g_x, sg_x) = p.auxiliary_with_scale(loss, &x, &xt);
                        prop_assert!(
                            g_x >= f_x - c_eval * (sf_x + sg_x) - tiny,
                            "{loss} {side}: G(x',xᵗ) = {g_x} < F(x') = {f_x}"
                        );
                    }
                    let got: Vec<T> = if side == "H column" {
                        s.update_h();
                        let h = b.to_row_major(s.h());
                        (0..c.k).map(|a| h[a * c.n + idx]).collect()
                    } else {
                        s.update_w();
                        b.to_row_major(s.w())[idx * c.k..(idx + 1) * c.k].to_vec()
                    };
                    let beta_v = loss.beta_value();
                    let amplify = 1.0 + (beta_v - 2.0).abs();
                    let rel = 2.0 * (3.0 * rows as f64 + amplify * c.k as f64 + 12.0) * u;
                    // The β kernels run at β rounded to T (as in the unweighted check).
                    let want_at = match loss {
                        Loss::Beta(x) if T::from_f64(x).as_f64() != x => {
                            p.minimizer(Loss::Beta(T::from_f64(x).as_f64()), &xt, eps)
                        }
                        _ => x_plus.clone(),
                    };
                    for (a, (g, want)) in got.iter().zip(&want_at).enumerate() {
                        let (g, want) = (g.as_f64(), want.as_f64());
                        let power = 2.0 * u * (want / xt[a].as_f64()).ln().abs();
                        prop_assert!(
                            (g - want).abs() <= (rel + power) * want.max(eps.as_f64()),
                            "{loss} {side} {idx}, entry {a}: half-step {g}, minimiser {want}"
                        );
                    }
                }
                Ok(())
            },
        )
        .unwrap();
}

/// A full mask: [`Weighted`] with every weight 1 gives the dense fit bit for bit (factors and
/// loss history) with every solver; [`Observed`] with every entry stored gives the dense MU
/// fit's loss within 1000·u·S after 50 iterations (S = ½‖V‖² or ΣV), the argument of
/// [`check_sparse_fit_matches_dense`](super::check_sparse_fit_matches_dense): the statistics
/// are the same sums in another order.
pub fn check_full_mask_is_unmasked<T: Scalar, B: DenseBackend<T>>(b: &B) {
    for (m, n, seed) in [(12, 9, 1u64), (7, 16, 2)] {
        let (k, v) = low_rank_case(m, n, seed);
        let c = DataCase {
            m,
            n,
            k,
            v: v.iter().map(|&x| T::from_f64(x).as_f64()).collect(),
            pattern: super::Pattern::LowRank,
            seed,
        };
        let ones = vec![1.0; m * n];
        let dv = mat::<T, B>(b, m, n, &c.v);
        let full = weighted_of(b, &c, &ones);
        assert!(!DataOps::<T, Weighted<B::Mat>>::data_weighted(b, &full));
        let obs = observed_of::<T>(&c, &ones);
        for (loss, solver) in [
            (Loss::Frobenius, Solver::Auto),
            (Loss::Frobenius, Solver::Mu),
            (Loss::KullbackLeibler, Solver::Mu),
            (Loss::KullbackLeibler, Solver::CdKl),
            (Loss::Beta(1.5), Solver::Mu),
        ] {
            let p = Nmf::params(k)
                .loss(loss)
                .solver(solver)
                .max_iter(50)
                .tol(0.0)
                .seed(seed)
                .check()
                .unwrap();
            let d = p.fit(b, &dv).unwrap();
            let f = p.fit::<T, B, Weighted<B::Mat>>(b, &full).unwrap();
            assert_eq!(export(b, d.w()), export(b, f.w()), "{loss} {solver}: W");
            assert_eq!(export(b, d.h()), export(b, f.h()), "{loss} {solver}: H");
            assert_eq!(d.loss_history(), f.loss_history(), "{loss} {solver}");
            if solver != Solver::Mu || loss == Loss::Beta(1.5) {
                continue;
            }
            let p = Nmf::params(k)
                .loss(loss)
                .solver(Solver::Mu)
                .init(Init::Random)
                .max_iter(50)
                .tol(0.0)
                .seed(seed)
                .check()
                .unwrap();
            let d = p.fit(b, &dv).unwrap();
            let o = p.fit::<T, B, Observed<T>>(b, &obs).unwrap();
            let size = if loss == Loss::Frobenius {
                0.5 * c.v.iter().map(|x| x * x).sum::<f64>()
            } else {
                c.v.iter().sum::<f64>()
            };
            let diff = (o.final_loss() - d.final_loss()).abs();
            assert!(
                diff <= 1000.0 * T::unit_roundoff() * size,
                "{m}×{n} {loss}: observed {} vs dense {} (S = {size})",
                o.final_loss(),
                d.final_loss()
            );
        }
    }
}

/// An entry of weight 0 plays no part: changing its value (to 0 or to another value of the
/// data's scale) gives the same factors and loss history bit for bit, for MU with every loss
/// on both data types and for masked least squares.
pub fn check_zero_weight_is_irrelevant<T: Scalar, B: DenseBackend<T>>(b: &B) {
    runner_with_cases(24)
        .run(
            &(data_case::<T>(9), 0usize..4, any::<u64>(), any::<bool>()),
            |(mut c, kind, seed, zero)| {
                fill_zeros(&mut c.v);
                let mut wts = draw_weights(kind, c.m, c.n, seed);
                // Weights, not a mask, so that the observed data stores the weight-0 entries.
                if wts.iter().all(|&x| x == 0.0 || x == 1.0) {
                    wts.iter_mut().filter(|x| **x == 1.0).for_each(|x| *x = 0.5);
                }
                let mut other = c.clone();
                let big = c.v.iter().copied().fold(0.0, f64::max);
                for (x, &m) in other.v.iter_mut().zip(&wts) {
                    if m == 0.0 {
                        *x = if zero {
                            0.0
                        } else {
                            T::from_f64(3.0 * big).as_f64()
                        };
                    }
                }
                for (loss, solver) in [
                    (Loss::Frobenius, Solver::Mu),
                    (Loss::Frobenius, Solver::Anls),
                    (Loss::KullbackLeibler, Solver::Mu),
                    (Loss::Beta(0.5), Solver::Mu),
                ] {
                    let p = Nmf::params(c.k)
                        .loss(loss)
                        .solver(solver)
                        .max_iter(12)
                        .check_every(3)
                        .tol(0.0)
                        .seed(seed)
                        .check()
                        .unwrap();
                    let (a, z) = if solver == Solver::Anls {
                        (
                            p.fit::<T, B, Observed<T>>(b, &observed_of::<T>(&c, &wts))
                                .unwrap(),
                            p.fit::<T, B, Observed<T>>(b, &observed_of::<T>(&other, &wts))
                                .unwrap(),
                        )
                    } else {
                        let (a, z) = (
                            p.fit::<T, B, Weighted<B::Mat>>(b, &weighted_of(b, &c, &wts))
                                .unwrap(),
                            p.fit::<T, B, Weighted<B::Mat>>(b, &weighted_of(b, &other, &wts))
                                .unwrap(),
                        );
                        let (oa, oz) = (
                            p.fit::<T, B, Observed<T>>(b, &observed_of::<T>(&c, &wts))
                                .unwrap(),
                            p.fit::<T, B, Observed<T>>(b, &observed_of::<T>(&other, &wts))
                                .unwrap(),
                        );
                        prop_assert_eq!(export(b, oa.w()), export(b, oz.w()));
                        prop_assert_eq!(export(b, oa.h()), export(b, oz.h()));
                        prop_assert_eq!(oa.loss_history(), oz.loss_history());
                        (a, z)
                    };
                    prop_assert_eq!(export(b, a.w()), export(b, z.w()), "{} {}", loss, solver);
                    prop_assert_eq!(export(b, a.h()), export(b, z.h()), "{} {}", loss, solver);
                    prop_assert_eq!(a.loss_history(), z.loss_history());
                }
                Ok(())
            },
        )
        .unwrap();
}

/// A masked fit recovers an exactly low-rank positive matrix from 60% of its entries: with
/// masked least squares (what [`Solver::Auto`] picks for observed data) at the planted rank,
/// the entries left out are predicted within a relative RMSE of 10⁻³ (f64) or 10⁻² (f32) of
/// their scale, on three fixed cases (20×15 rank ≤ 3 and larger), after at most 2000
/// iterations. This is a recovery, not a rounding bound: it fails if the fit stalls or the
/// prediction is wrong.
pub fn check_masked_recovers_low_rank<T: Scalar, B: DenseBackend<T>>(b: &B) {
    let limit = if T::unit_roundoff() > 1e-10 {
        1e-2
    } else {
        1e-3
    };
    for (m, n, seed) in [(20, 15, 11u64), (30, 24, 12), (16, 40, 13)] {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let k = rng.random_range(1..=3usize);
        let wt: Vec<f64> = (0..m * k).map(|_| rng.random_range(0.2..1.0)).collect();
        let ht: Vec<f64> = (0..k * n).map(|_| rng.random_range(0.2..1.0)).collect();
        let v: Vec<f64> = product(&wt, &ht, m, k, n)
            .iter()
            .map(|&x| T::from_f64(x).as_f64())
            .collect();
        let c = DataCase {
            m,
            n,
            k,
            v,
            pattern: super::Pattern::LowRank,
            seed,
        };
        let all = observed_of::<T>(&c, &vec![1.0; m * n]);
        let (train, test) = all.split(0.4, seed).unwrap();
        let model = Nmf::params(k)
            .max_iter(2000)
            .tol(1e-14)
            .seed(seed)
            .fit::<T, B, Observed<T>>(b, &train)
            .unwrap();
        let e = holdout_error(b, &model, &test).unwrap();
        let scale = (c.v.iter().map(|x| x * x).sum::<f64>() / (m * n) as f64).sqrt();
        assert!(
            e.rmse <= limit * scale,
            "{m}×{n} rank {k}: held-out RMSE {} vs scale {scale} after {} iterations",
            e.rmse,
            model.n_iter()
        );
        // `transform` on masked data (W fixed, masked least squares): H for the training
        // entries again, which predicts the held-out entries as well.
        let h = model
            .transforming::<Observed<T>>(b, &train)
            .params(crate::TransformParams::default().max_iter(2000).tol(1e-14))
            .run()
            .unwrap();
        let (w_t, h_t) = (export(b, model.w()), export(b, &h));
        let wh = product(&w_t, &h_t, m, k, n);
        let x = test.csr();
        let mut sq = 0.0;
        for i in 0..m {
            let (cs, vs) = x.row(i);
            for (&j, &val) in cs.iter().zip(vs) {
                sq += (val.as_f64() - wh[i * n + j]).powi(2);
            }
        }
        let rmse = (sq / test.nnz() as f64).sqrt();
        assert!(
            rmse <= limit * scale,
            "{m}×{n}: transform's held-out RMSE {rmse}"
        );
    }
}

/// [`NmfModel::predict`](crate::NmfModel::predict) gives WH at the pairs (the k-term sums in
/// T, so within k·u relative of the f64 product of the exported factors: each is a sum of
/// non-negative products), and [`holdout_error`] gives the weighted RMSE, MAE and divergence
/// of its formulas (in f64 from the same predictions: within 4·(k + |Ω'|)·u of them).
pub fn check_predict_and_holdout<T: Scalar, B: DenseBackend<T>>(b: &B) {
    runner_with_cases(64)
        .run(
            &(data_case::<T>(10), 0usize..4, any::<u64>()),
            |(c, kind, seed)| {
                let wts = draw_weights(kind, c.m, c.n, seed);
                let obs = observed_of::<T>(&c, &wts);
                let model = Nmf::params(c.k)
                    .solver(Solver::Mu)
                    .max_iter(5)
                    .seed(seed)
                    .fit::<T, B, Observed<T>>(b, &obs)
                    .unwrap();
                let (w, h) = (export(b, model.w()), export(b, model.h()));
                let wh = product(&w, &h, c.m, c.k, c.n);
                let (rows, cols): (Vec<usize>, Vec<usize>) =
                    (0..c.m * c.n).map(|t| (t / c.n, t % c.n)).unzip();
                let p = model.predict(b, &rows, &cols).unwrap();
                let u = T::unit_roundoff();
                for (t, (&got, &want)) in p.iter().zip(&wh).enumerate() {
                    prop_assert!(
                        (got.as_f64() - want).abs() <= 2.0 * c.k as f64 * u * want,
                        "entry {t}: {got} vs {want}"
                    );
                }
                let e = holdout_error(b, &model, &obs).unwrap();
                let (mut sq, mut ab, mut tot, mut div) = (0.0, 0.0, 0.0, 0.0);
                let x = obs.csr();
                for i in 0..c.m {
                    let (cs, vs) = x.row(i);
                    for (t, (&j, &v)) in cs.iter().zip(vs).enumerate() {
                        let m = obs.weights().map_or(1.0, |w| w[x.indptr()[i] + t].as_f64());
                        let r = v.as_f64() - p[i * c.n + j].as_f64();
                        sq += m * r * r;
                        ab += m * r.abs();
                        div += m * 0.5 * r * r;
                        tot += m;
                    }
                }
                let tol = 4.0 * (c.k + obs.nnz()) as f64 * U64;
                let close = |a: f64, b: f64| (a - b).abs() <= tol * b.abs().max(f64::MIN_POSITIVE);
                prop_assert!(
                    close(e.rmse, (sq / tot).sqrt()),
                    "{:?} vs {}",
                    e,
                    (sq / tot).sqrt()
                );
                prop_assert!(close(e.mae, ab / tot), "{:?} vs {}", e, ab / tot);
                prop_assert!(close(e.divergence, div / tot), "{:?} vs {}", e, div / tot);
                prop_assert_eq!(e.count, obs.nnz());
                Ok(())
            },
        )
        .unwrap();
}

/// Bad masks, weights, pairs and solver choices are errors naming what is wrong and where.
pub fn check_bad_weights_are_errors<T: Scalar, B: DenseBackend<T>>(b: &B) {
    let v = mat::<T, B>(b, 3, 4, &[1.0; 12]);
    let w = |d: &[f64]| mat::<T, B>(b, 3, 4, d);
    let mut d = vec![1.0; 12];
    // Wrong shape.
    let e = Weighted::new(b, v.clone(), mat::<T, B>(b, 4, 3, &[1.0; 12])).unwrap_err();
    assert_eq!(
        e,
        NmfError::ShapeMismatch {
            matrix: MatrixRole::Weights,
            expected: (3, 4),
            found: (4, 3)
        }
    );
    assert!(e.to_string().contains("the weights is 4×3"), "{e}");
    // Negative, NaN, infinite: the place named.
    d[6] = -0.5;
    let e = Weighted::new(b, v.clone(), w(&d)).unwrap_err();
    assert!(
        matches!(
            e,
            NmfError::NegativeEntry {
                matrix: MatrixRole::Weights,
                row: 1,
                col: 2,
                ..
            }
        ),
        "{e}"
    );
    assert!(
        e.to_string()
            .contains("the weights has a negative entry -0.5 at row 1, column 2")
    );
    d[6] = f64::NAN;
    assert!(matches!(
        Weighted::new(b, v.clone(), w(&d)).unwrap_err(),
        NmfError::NonFiniteEntry {
            matrix: MatrixRole::Weights,
            row: 1,
            col: 2,
            ..
        }
    ));
    // All zero.
    assert_eq!(
        Weighted::new(b, v.clone(), w(&[0.0; 12])).unwrap_err(),
        NmfError::NothingObserved {
            data: "the weights"
        }
    );
    // Observed entries: a bad weight, a repeated place, nothing observed, an index outside.
    let t = |x: f64| T::from_f64(x);
    let e = Observed::from_weighted_triplets(
        3,
        4,
        &[0, 2],
        &[1, 3],
        &[t(1.0), t(2.0)],
        &[t(1.0), t(-1.0)],
    )
    .unwrap_err();
    assert!(
        matches!(
            e,
            NmfError::NegativeEntry {
                matrix: MatrixRole::Weights,
                row: 2,
                col: 3,
                ..
            }
        ),
        "{e}"
    );
    let e = Observed::from_weighted_triplets(3, 4, &[0], &[1], &[t(1.0)], &[t(f64::INFINITY)])
        .unwrap_err();
    assert!(matches!(
        e,
        NmfError::NonFiniteEntry {
            matrix: MatrixRole::Weights,
            row: 0,
            col: 1,
            ..
        }
    ));
    let e = Observed::from_triplets(3, 4, &[1, 0, 1], &[2, 0, 2], &[t(1.0), t(2.0), t(3.0)])
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("triplets 0 and 2 are both at row 1, column 2"),
        "{e}"
    );
    let e = Observed::from_triplets(3, 4, &[3], &[0], &[t(1.0)]).unwrap_err();
    assert!(
        e.to_string().contains("triplet 0 is at row 3, column 0"),
        "{e}"
    );
    let e = Observed::<T>::from_triplets(3, 4, &[], &[], &[]).unwrap_err();
    assert_eq!(
        e,
        NmfError::NothingObserved {
            data: "the observed entries"
        }
    );
    let e = Observed::from_weighted_triplets(3, 4, &[0], &[1], &[t(1.0)], &[t(0.0)]).unwrap_err();
    assert_eq!(
        e,
        NmfError::NothingObserved {
            data: "the weights"
        }
    );
    let e = Observed::from_triplets(3, 4, &[0], &[1], &[t(-2.0)]).unwrap_err();
    assert!(matches!(
        e,
        NmfError::NegativeEntry {
            matrix: MatrixRole::V,
            row: 0,
            col: 1,
            ..
        }
    ));
    // A dense matrix with NaN for the missing entries.
    let nan = T::from_f64(f64::NAN);
    let e = Observed::from_row_major(2, 2, &[t(1.0), nan, t(f64::INFINITY), t(1.0)]).unwrap_err();
    assert!(
        matches!(
            e,
            NmfError::NonFiniteEntry {
                matrix: MatrixRole::V,
                row: 1,
                col: 0,
                ..
            }
        ),
        "{e}"
    );
    assert_eq!(
        Observed::from_row_major(2, 2, &[nan; 4]).unwrap_err(),
        NmfError::NothingObserved {
            data: "the observed entries"
        }
    );
    assert!(matches!(
        Observed::from_row_major(2, 2, &[t(1.0); 3]).unwrap_err(),
        NmfError::DataLength { len: 3, .. }
    ));
    // Solvers that cannot take weights, and ANLS where it does not apply.
    let obs = Observed::from_triplets(
        3,
        4,
        &[0, 1, 2, 2],
        &[0, 1, 2, 3],
        &[t(1.0), t(2.0), t(3.0), t(0.0)],
    )
    .unwrap();
    let mut half = vec![1.0; 12];
    half[0] = 0.5;
    let dense = Weighted::new(b, v.clone(), w(&half)).unwrap();
    for (loss, solver) in [
        (Loss::Frobenius, Solver::Hals),
        (Loss::KullbackLeibler, Solver::CdKl),
    ] {
        let p = Nmf::params(2).loss(loss).solver(solver).check().unwrap();
        for e in [
            p.fit::<T, B, Observed<T>>(b, &obs).unwrap_err(),
            p.fit::<T, B, Weighted<B::Mat>>(b, &dense).unwrap_err(),
        ] {
            assert!(
                matches!(e, NmfError::SolverNotForData { solver: s, .. } if s == solver),
                "{e}"
            );
        }
    }
    let p = Nmf::params(2).solver(Solver::Anls).check().unwrap();
    assert!(matches!(
        p.fit::<T, B, Weighted<B::Mat>>(b, &dense).unwrap_err(),
        NmfError::SolverNotForData { .. }
    ));
    assert!(matches!(
        p.fit(b, &v).unwrap_err(),
        NmfError::SolverNotForData { .. }
    ));
    assert!(matches!(
        Nmf::params(2)
            .loss(Loss::KullbackLeibler)
            .solver(Solver::Anls)
            .check()
            .unwrap_err(),
        NmfError::SolverLossMismatch { .. }
    ));
    // β ≤ 0 refuses an observed 0, but not a missing one.
    let e = Nmf::params(1)
        .loss(Loss::ItakuraSaito)
        .fit::<T, B, Observed<T>>(b, &obs)
        .unwrap_err();
    assert!(
        matches!(e, NmfError::ZeroEntryForBeta { row: 2, col: 3, .. }),
        "{e}"
    );
    // Predictions outside the matrix and held-out fractions out of range.
    let model = Nmf::params(1).fit::<T, B, Observed<T>>(b, &obs).unwrap();
    let e = model.predict(b, &[0, 2, 1], &[0, 4, 9]).unwrap_err();
    assert_eq!(
        e,
        NmfError::IndexOutOfRange {
            position: 1,
            row: 2,
            col: 4,
            rows: 3,
            cols: 4
        }
    );
    assert!(
        e.to_string()
            .contains("pair 1 is at row 2, column 4, outside the 3×4 matrix")
    );
    assert_eq!(
        model.predict(b, &[0], &[]).unwrap_err(),
        NmfError::PairLengths { rows: 1, cols: 0 }
    );
    for f in [0.0, 1.0, f64::NAN, 0.01] {
        assert!(
            matches!(
                obs.split(f, 1).unwrap_err(),
                NmfError::InvalidHoldout { .. }
            ),
            "{f}"
        );
    }
}

/// Held-out evaluation through the fit: [`NmfParams::holdout`](crate::NmfParams::holdout) on
/// observed data fits the training part of [`Observed::split`] (the same factors, bit for bit,
/// as a fit of that part alone), records the held-out error at every evaluation of the loss,
/// and its final error is [`holdout_error`] of the model on the held-out part (the same sums
/// of the same predictions; the fit's are computed on V/c² and multiplied back by c², exact
/// powers of two, so within 4·|Ω'|·u64 relative); a test set of one's own
/// ([`Fitting::test`](crate::Fitting::test)) gives the same record; dense weights hold out too;
/// data without missing entries, a test set of another shape, both settings at once and a
/// fraction outside (0, 1) are errors.
pub fn check_holdout_fit<T: Scalar, B: DenseBackend<T>>(b: &B) {
    runner_with_cases(16)
        .run(&(data_case::<T>(10), any::<u64>()), |(c, seed)| {
            let wts = vec![1.0; c.m * c.n];
            let obs = observed_of::<T>(&c, &wts);
            let Ok((train, test)) = obs.split(0.25, seed) else {
                // Too few entries to hold any out (or to keep any): refused by the fit too.
                let e = Nmf::params(c.k)
                    .holdout(0.25, seed)
                    .fit::<T, B, Observed<T>>(b, &obs);
                let refused = matches!(e, Err(NmfError::InvalidHoldout { .. }));
                prop_assert!(refused, "{:?}", e.err());
                return Ok(());
            };
            let p = Nmf::params(c.k)
                .solver(Solver::Mu)
                .max_iter(20)
                .check_every(5)
                .seed(seed);
            let with = p
                .clone()
                .holdout(0.25, seed)
                .fit::<T, B, Observed<T>>(b, &obs)
                .unwrap();
            let alone = p.clone().fit::<T, B, Observed<T>>(b, &train).unwrap();
            prop_assert_eq!(export(b, with.w()), export(b, alone.w()));
            prop_assert_eq!(with.loss_history(), alone.loss_history());
            let hist = with.holdout_history();
            prop_assert_eq!(hist.len(), with.loss_history().len());
            for (r, l) in hist.iter().zip(with.loss_history()) {
                prop_assert_eq!(r.iteration, l.iteration);
            }
            let last = with.holdout().unwrap();
            let direct = holdout_error(b, &with, &test).unwrap();
            let tol = 4.0 * test.nnz() as f64 * U64;
            let close = |a: f64, x: f64| (a - x).abs() <= tol * x.abs();
            prop_assert!(close(last.rmse, direct.rmse), "{:?} vs {:?}", last, direct);
            prop_assert!(close(last.mae, direct.mae), "{:?} vs {:?}", last, direct);
            prop_assert!(
                close(last.divergence, direct.divergence),
                "{:?} vs {:?}",
                last,
                direct
            );
            let own = p
                .clone()
                .check()
                .unwrap()
                .fitting::<T, B, Observed<T>>(b, &train)
                .test(&test)
                .run()
                .unwrap();
            prop_assert_eq!(own.holdout_history(), hist);
            Ok(())
        })
        .unwrap();
    // Dense weights hold out their entries of positive weight.
    let (k, v) = low_rank_case(8, 7, 5);
    let c = DataCase {
        m: 8,
        n: 7,
        k,
        v: v.iter().map(|&x| T::from_f64(x).as_f64()).collect(),
        pattern: super::Pattern::LowRank,
        seed: 5,
    };
    let mut wts = vec![1.0; 56];
    wts[3] = 0.0;
    let dense = weighted_of(b, &c, &wts);
    let m = Nmf::params(k)
        .holdout(0.2, 1)
        .fit::<T, B, Weighted<B::Mat>>(b, &dense)
        .unwrap();
    assert_eq!(m.holdout().unwrap().count, 11); // round(0.2·55)
    // Errors.
    let dv = mat::<T, B>(b, 8, 7, &c.v);
    assert!(matches!(
        Nmf::params(k).holdout(0.2, 1).fit(b, &dv).unwrap_err(),
        NmfError::InvalidHoldout { .. }
    ));
    assert!(matches!(
        Nmf::params(k).holdout(1.5, 1).check().unwrap_err(),
        NmfError::InvalidHoldout { .. }
    ));
    let obs = observed_of::<T>(&c, &vec![1.0; 56]);
    let other = Observed::from_triplets(3, 7, &[0], &[0], &[T::one()]).unwrap();
    let p = Nmf::params(k).check().unwrap();
    let e = p
        .fitting::<T, B, Observed<T>>(b, &obs)
        .test(&other)
        .run()
        .unwrap_err();
    assert!(
        e.to_string().contains("the test set is 3×7, V is 8×7"),
        "{e}"
    );
    let p = Nmf::params(k).holdout(0.2, 1).check().unwrap();
    let e = p
        .fitting::<T, B, Observed<T>>(b, &obs)
        .test(&obs)
        .run()
        .unwrap_err();
    assert!(e.to_string().contains("choose one"), "{e}");
}

/// Masked fits give the same bits on any number of threads: the data's blocks are made for
/// the pool it is built in (1 or 3 threads here), and each column or row of a pass is
/// computed by one call whatever the blocks (MU on observed entries for every loss, and
/// masked least squares).
pub fn check_masked_threads_bit_identical<T: Scalar, B: DenseBackend<T> + Sync>(b: &B) {
    let (k, v) = low_rank_case(23, 17, 9);
    let c = DataCase {
        m: 23,
        n: 17,
        k,
        v: v.iter().map(|&x| T::from_f64(x).as_f64()).collect(),
        pattern: super::Pattern::LowRank,
        seed: 9,
    };
    let wts = draw_weights(3, c.m, c.n, 4);
    let fit = |threads: usize, loss: Loss, solver: Solver| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            let obs = observed_of::<T>(&c, &wts);
            let p = Nmf::params(k)
                .loss(loss)
                .solver(solver)
                .max_iter(30)
                .seed(2);
            let m = p.fit::<T, B, Observed<T>>(b, &obs).unwrap();
            (export(b, m.w()), export(b, m.h()), m.final_loss())
        })
    };
    for (loss, solver) in [
        (Loss::Frobenius, Solver::Anls),
        (Loss::Frobenius, Solver::Mu),
        (Loss::KullbackLeibler, Solver::Mu),
        (Loss::Beta(1.5), Solver::Mu),
    ] {
        let one = fit(1, loss, solver);
        let three = fit(3, loss, solver);
        assert_eq!(one.0, three.0, "{loss} {solver}: W");
        assert_eq!(one.1, three.1, "{loss} {solver}: H");
        assert_eq!(one.2.to_bits(), three.2.to_bits(), "{loss} {solver}: loss");
    }
}
