//! Minibatch and online NMF ([`crate::minibatch`]): on every backend and scalar type, with and
//! without scikit-learn's penalties (`alpha_W`, `alpha_H`, `l1_ratio`), every entry of W_b and
//! H is finite and ≥ ε, each dictionary update never raises the accumulated (penalised)
//! surrogate and lands on its minimiser (checked entry by entry from the accumulators,
//! independently of the library's own sum), each W_b step never raises the batch's penalised
//! loss, `partial_fit` over the row blocks of V equals one epoch of `fit` bit for bit, and
//! bad parameters and data are errors that name what is wrong.

use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

use super::common::*;
use super::{DataCase, data_case, runner_with_cases};
use crate::minibatch::{MiniBatchNmf, MiniBatchValidParams, surrogate::surrogate_entry};
use crate::sparse::SparseData;
use crate::{DataOps, DenseBackend, Loss, MatrixRole, NmfError, Scalar};

/// A loss for the case: Frobenius, KL and β ∈ {0.5, 1.5, 3} always, Itakura–Saito when V has
/// no zero.
fn loss_of(c: &DataCase) -> Loss {
    let losses = [
        Loss::Frobenius,
        Loss::KullbackLeibler,
        Loss::Beta(1.5),
        Loss::Beta(3.0),
        Loss::Beta(0.5),
        Loss::ItakuraSaito,
    ];
    let l = losses[(c.seed % losses.len() as u64) as usize];
    if l.beta_value() <= 0.0 && c.v.contains(&0.0) {
        Loss::KullbackLeibler
    } else {
        l
    }
}

/// The case's parameters: batch size, forget factor, fresh-restart steps and penalties drawn
/// from the seed (`alpha_W`, `alpha_H` each 0 half of the time, so that about a quarter of the
/// cases have no penalty at all; `l1_ratio` 0, ½ or 1).
fn params_of(c: &DataCase, loss: Loss) -> (MiniBatchValidParams, usize) {
    let bs = 1 + (c.seed / 7 % c.m as u64) as usize;
    let alphas = [0.0, 0.0, 0.02, 0.5];
    let p = MiniBatchNmf::params(c.k)
        .batch_size(bs)
        .loss(loss)
        .forget_factor([0.0, 0.7, 1.0][(c.seed / 3 % 3) as usize])
        .fresh_restarts_max_iter(1 + (c.seed / 11 % 5) as usize)
        .alpha_w(alphas[(c.seed / 13 % 4) as usize])
        .alpha_h(alphas[(c.seed / 17 % 4) as usize])
        .l1_ratio([0.0, 0.5, 1.0][(c.seed / 19 % 3) as usize])
        .seed(c.seed)
        .check()
        .expect("valid parameters");
    (p, bs)
}

/// `|S''(h)|·h²` of one entry of the surrogate `P·φ₁ − Q·φ₂ + L₁h + ½L₂h²` (see
/// [`crate::minibatch::surrogate`]): the factor by which a relative perturbation δ of h moves
/// S at second order (`½|S''|h²δ²`).
fn curvature(beta: f64, p: f64, q: f64, l2: f64, h: f64) -> f64 {
    l2 * h * h + curvature_divergence(beta, p, q, h)
}

fn curvature_divergence(beta: f64, p: f64, q: f64, h: f64) -> f64 {
    if beta == 1.0 {
        q
    } else if beta > 2.0 {
        p * (beta - 1.0) * h.powf(beta)
    } else if beta < 1.0 {
        q * (2.0 - beta) * h.powf(beta - 1.0)
    } else {
        p * (beta - 1.0) * h.powf(beta) + q * (2.0 - beta) * h.powf(beta - 1.0)
    }
}

/// Over three epochs of `partial_fit` on the row blocks of the case's V (dense, and sparse
/// for Frobenius and KL), with the case's penalties, after every batch: W_b and H finite and
/// ≥ ε, and for every entry of H the accumulated penalised surrogate at the new value is at
/// most its value at the old one, and at most its value at ε and at the new value moved by
/// ±0.1 % (so the new value is its minimiser over `[ε, ∞)`, the surrogate being convex;
/// unless P = 0 or Q/P overflows, where the entry is kept).
/// The new value is that minimiser in real arithmetic; computed, it is a closed form in `f64`
/// (a few u₆₄ relative) or a root found by Newton's method to within 4u₆₄ (plus the
/// conditioning of the root, which the `f64` term below covers), rounded to T (u relative),
/// so within a relative δ ≤ 8u of the minimiser (or exactly ε when clamped), which raises S
/// by at most `½|S''|h²δ² ≤ 32u²·|S''|h²` (second order, as S' = 0 there); each evaluation of
/// the entry in `f64` (a power, a product, a sum) is within 4u₆₄ of the sizes of its terms.
/// Without penalties, each new entry is also bit for bit the formula of the unpenalised fit,
/// `max(ε, (Q/P)^γ(β))` (the penalties changed nothing there).
pub fn check_minibatch_surrogate_never_increases<T: Scalar, B>(b: &B)
where
    B: DenseBackend<T> + DataOps<T, SparseData<T>>,
{
    let u = T::unit_roundoff();
    runner_with_cases(64)
        .run(&data_case::<T>(9), |c| {
            let loss = loss_of(&c);
            let (params, bs) = params_of(&c, loss);
            run_epochs::<T, B, B::Mat>(b, &c, &params, bs, u, |r| {
                mat(b, r.len(), c.n, &c.v[r.start * c.n..r.end * c.n])
            })?;
            if matches!(loss, Loss::Frobenius | Loss::KullbackLeibler) {
                run_epochs::<T, B, SparseData<T>>(b, &c, &params, bs, u, |r| {
                    let sub = DataCase {
                        m: r.len(),
                        v: c.v[r.start * c.n..r.end * c.n].to_vec(),
                        ..c.clone()
                    };
                    super::sparse::sparse_of::<T>(&sub)
                })?;
            }
            Ok(())
        })
        .unwrap();
}

fn run_epochs<T: Scalar, B: DataOps<T, V>, V>(
    b: &B,
    c: &DataCase,
    params: &MiniBatchValidParams,
    bs: usize,
    u: f64,
    block: impl Fn(core::ops::Range<usize>) -> V,
) -> Result<(), TestCaseError> {
    let beta = params.loss().beta_value();
    let mut online = params.online::<T, B>(c.n).unwrap().with_total_rows(c.m);
    for epoch in 0..3 {
        for start in (0..c.m).step_by(bs) {
            let r = start..(start + bs).min(c.m);
            let h_old = online.h().map(|h| export(b, h));
            let (w_b, step) = online.partial_fit(b, &block(r.clone())).unwrap();
            let eps = online.eps().as_f64();
            let h_new = export(b, online.h().unwrap());
            let h_old = h_old.unwrap_or_else(|| h_new.clone());
            for (what, x) in [("W_b", export(b, &w_b)), ("H", h_new.clone())] {
                for (p, &y) in x.iter().enumerate() {
                    prop_assert!(
                        y.is_finite() && y >= eps,
                        "{what}[{p}] = {y} < ε = {eps} (epoch {epoch}, rows {r:?}, {:?})",
                        params.loss()
                    );
                }
            }
            if epoch == 0 && start == 0 {
                // The initial H was drawn in this call: h_old is not the start; check the
                // step's own figures only.
                prop_assert!(step.surrogate_after.is_finite());
                continue;
            }
            let (ps, qs) = online.accumulators();
            let (l1, l2) = online.penalty_accumulators();
            let (mut dg, mut terms) = (0.0, 0.0);
            for p in 0..h_new.len() {
                let (after, m_a) = surrogate_entry(beta, ps[p], qs[p], l1, l2, h_new[p]);
                let (before, m_b) = surrogate_entry(beta, ps[p], qs[p], l1, l2, h_old[p]);
                dg += after - before;
                terms += m_a + m_b;
            }
            if params.forget_factor() == 0.0 {
                // With ρ = 0 the surrogate is the batch's auxiliary function G(·, H_old) plus
                // its penalty on H, so F(H_new) − F(H_old) ≤ G(H_new) − G(H_old) for the
                // batch's penalised loss F at W_b (the penalty, exact in both, is the
                // accumulators' L₁, L₂ with ρ = 0): this checks that the surrogate's formulas
                // majorise the loss. Rounding: the two
                // evaluations of F within Evaluation::rise_bound; G's coefficients come from
                // statistics of T (sums of r terms with WH's k-term rounding: within
                // 2(r + k + 4)u relative), which moves G(H_new) − G(H_old) by at most that
                // times the sizes of its terms, plus 4u₆₄ of them for the f64 evaluation.
                let v_b = block(r.clone());
                let k = params.rank();
                let mut work = b.data_work(&v_b, k, params.loss());
                let h_prev = mat(b, k, c.n, &h_old);
                let ev = |d: crate::DataEvaluation| crate::Evaluation {
                    objective: d.loss,
                    scale: d.scale,
                    f64_terms: d.f64_terms,
                };
                let f_old = ev(b.data_evaluate(&v_b, &mut work, &w_b, &h_prev, params.loss()));
                let f_new =
                    ev(b.data_evaluate(&v_b, &mut work, &w_b, online.h().unwrap(), params.loss()));
                let pen = |h: &[f64]| h.iter().map(|&x| l1 * x + 0.5 * l2 * x * x).sum::<f64>();
                let (f_old, f_new) = (
                    crate::Evaluation {
                        objective: f_old.objective + pen(&h_old),
                        ..f_old
                    },
                    crate::Evaluation {
                        objective: f_new.objective + pen(&h_new),
                        ..f_new
                    },
                );
                let rows = r.len() as f64;
                let bound = f_old.rise_bound(&f_new, k, u)
                    + (4.0 * U64 + 2.0 * (rows + k as f64 + 4.0) * u) * terms;
                prop_assert!(
                    f_new.objective - f_old.objective <= dg + bound,
                    "batch loss {} -> {} rose by more than the surrogate's change {dg} \
                     (+{bound}), β = {beta}, rows {r:?}",
                    f_old.objective,
                    f_new.objective
                );
            }
            let gamma = crate::kernels::beta_gamma(beta);
            for p in 0..h_new.len() {
                let s = |h: f64| surrogate_entry(beta, ps[p], qs[p], l1, l2, h);
                let (after, m_a) = s(h_new[p]);
                let curv = curvature(beta, ps[p], qs[p], l2, h_new[p]);
                // When P = 0 (den underflowed in T) or Q/P overflows, the surrogate may have no
                // minimiser and the library keeps the entry (documented): only the comparison
                // with the old value applies.
                let ratio = qs[p] / ps[p];
                let against = [
                    ("the old value", h_old[p]),
                    ("ε", eps),
                    ("+0.1 %", h_new[p] * 1.001),
                    ("−0.1 %", (h_new[p] * 0.999).max(eps)),
                ];
                let n_against = if ratio.is_finite() && ratio.powf(gamma).is_finite() {
                    4
                } else {
                    1
                };
                for &(what, x) in &against[..n_against] {
                    let (other, m_b) = s(x);
                    let bound = 4.0 * U64 * (m_a + m_b) + 32.0 * u * u * curv;
                    prop_assert!(
                        after <= other + bound,
                        "H[{p}]: surrogate {after} at {} > {other} at {x} ({what}) (+{bound}), \
                         P = {}, Q = {}, L = ({l1}, {l2}), β = {beta}, epoch {epoch}, rows {r:?}",
                        h_new[p],
                        ps[p],
                        qs[p]
                    );
                }
                if (l1, l2) == (0.0, 0.0) {
                    let x = if gamma == 1.0 {
                        ratio
                    } else {
                        ratio.powf(gamma)
                    };
                    let want = if x.is_finite() {
                        T::from_f64(x.max(eps)).as_f64()
                    } else {
                        h_old[p]
                    };
                    prop_assert_eq!(
                        h_new[p].to_bits(),
                        want.to_bits(),
                        "H[{}] without penalties is not max(ε, (Q/P)^γ)",
                        p
                    );
                }
            }
        }
    }
    Ok(())
}

/// One epoch of `fit` with the stopping rules off equals `partial_fit` over the same row
/// blocks in the same order (with the number of rows declared, so the past is weighted the
/// same), with the case's penalties: H and every row of W identical to the bit.
pub fn check_minibatch_partial_fit_equals_fit<T: Scalar, B: DenseBackend<T>>(b: &B) {
    runner_with_cases(64)
        .run(&data_case::<T>(9), |c| {
            let (params, bs) = params_of(&c, loss_of(&c));
            let params = MiniBatchNmf::params(c.k)
                .batch_size(bs)
                .alpha_w(params.alpha_w())
                .alpha_h(params.alpha_h())
                .l1_ratio(params.l1_ratio())
                .loss(params.loss())
                .forget_factor(params.forget_factor())
                .fresh_restarts_max_iter(params.fresh_restarts_max_iter())
                .seed(c.seed)
                .max_iter(1)
                .tol(0.0)
                .max_no_improvement(None)
                .check()
                .unwrap();
            let v = mat(b, c.m, c.n, &c.v);
            let model = params.fit(b, &v).unwrap();
            prop_assert_eq!(model.steps(), c.m.div_ceil(bs));
            let mut online = params.online::<T, B>(c.n).unwrap().with_total_rows(c.m);
            let mut w = Vec::new();
            for start in (0..c.m).step_by(bs) {
                let end = (start + bs).min(c.m);
                let block = mat(b, end - start, c.n, &c.v[start * c.n..end * c.n]);
                w.extend(b.to_row_major(&online.partial_fit(b, &block).unwrap().0));
            }
            let bits = |x: Vec<T>| x.iter().map(|y| y.as_f64().to_bits()).collect::<Vec<_>>();
            prop_assert_eq!(
                bits(b.to_row_major(online.h().unwrap())),
                bits(b.to_row_major(model.h()))
            );
            prop_assert_eq!(bits(w), bits(b.to_row_major(model.w())));
            Ok(())
        })
        .unwrap();
}

/// A stopping rule that ends the first epoch early (here `tol` so large that the fit stops
/// after its second batch) leaves rows that no batch reached: their W is the final model's
/// [`transform`](crate::minibatch::OnlineNmf::transform) of their rows (to the bit), so every
/// entry of W is finite and ≥ ε, not the 0 it was allocated with.
pub fn check_minibatch_early_stop_fits_every_row<T: Scalar, B: DenseBackend<T>>(b: &B) {
    runner_with_cases(64)
        .run(&data_case::<T>(9), |c| {
            let bs = 1 + (c.seed % 3) as usize;
            prop_assume!(c.m > 2 * bs);
            let params = MiniBatchNmf::params(c.k)
                .batch_size(bs)
                .loss(loss_of(&c))
                .seed(c.seed)
                .tol(1e300)
                .max_no_improvement(None)
                .check()
                .unwrap();
            let v = mat(b, c.m, c.n, &c.v);
            let model = params.fit(b, &v).unwrap();
            prop_assert!(model.converged());
            prop_assert_eq!(model.steps(), 2);
            let eps = model.eps();
            let w = b.to_row_major(model.w());
            prop_assert!(w.iter().all(|x| x.is_finite() && *x >= eps), "W < ε");
            let (from, k) = (2 * bs, c.k);
            let mut expected = Vec::new();
            for start in (0..c.m - from).step_by(bs) {
                let end = (start + bs).min(c.m - from);
                let block = mat(
                    b,
                    end - start,
                    c.n,
                    &c.v[(from + start) * c.n..(from + end) * c.n],
                );
                expected.extend(b.to_row_major(&model.online().transform(b, &block).unwrap()));
            }
            let bits = |x: &[T]| x.iter().map(|y| y.as_f64().to_bits()).collect::<Vec<_>>();
            prop_assert_eq!(bits(&w[from * k..]), bits(&expected));
            Ok(())
        })
        .unwrap();
}

/// Over two epochs of `partial_fit` with the case's penalties (and `tol` 0, so that a fresh
/// solve takes all its `fresh_restarts_max_iter` steps), before every batch but the first:
/// each W_b step of [`OnlineNmf::batch_solver`](crate::minibatch::OnlineNmf::batch_solver)
/// never raises the batch's penalised loss (beyond [`Evaluation::rise_bound`](crate::Evaluation::rise_bound),
/// the rounding of two evaluations, absolute and not relative to the loss) and keeps W_b
/// finite and ≥ ε, and `partial_fit` then returns that solver's W_b to the bit (the steps
/// checked are the fit's).
pub fn check_minibatch_w_steps_never_increase<T: Scalar, B: DenseBackend<T>>(b: &B) {
    let u = T::unit_roundoff();
    runner_with_cases(64)
        .run(&data_case::<T>(9), |c| {
            let loss = loss_of(&c);
            let (p, bs) = params_of(&c, loss);
            let params = MiniBatchNmf::params(c.k)
                .batch_size(bs)
                .loss(loss)
                .forget_factor(p.forget_factor())
                .fresh_restarts_max_iter(p.fresh_restarts_max_iter())
                .alpha_w(p.alpha_w())
                .alpha_h(p.alpha_h())
                .l1_ratio(p.l1_ratio())
                .tol(0.0)
                .seed(c.seed)
                .check()
                .unwrap();
            let mut online = params.online::<T, B>(c.n).unwrap().with_total_rows(c.m);
            let block = |start: usize| {
                let end = (start + bs).min(c.m);
                mat(b, end - start, c.n, &c.v[start * c.n..end * c.n])
            };
            online.partial_fit(b, &block(0)).unwrap();
            for start in (0..c.m).step_by(bs).skip(1).chain((0..c.m).step_by(bs)) {
                let v_b = block(start);
                let mut s = online.batch_solver(b, &v_b).unwrap();
                let eps = s.eps().as_f64();
                let mut before = s.evaluate();
                for step in 0..params.fresh_restarts_max_iter() {
                    s.update_w();
                    let after = s.evaluate();
                    let bound = before.rise_bound(&after, c.k, u);
                    prop_assert!(
                        after.objective <= before.objective + bound,
                        "W_b step {step}: penalised batch loss {} -> {} (+{bound}), {loss:?}, \
                         α_W = {}, α_H = {}, l1_ratio = {}, rows {start}..",
                        before.objective,
                        after.objective,
                        params.alpha_w(),
                        params.alpha_h(),
                        params.l1_ratio()
                    );
                    for (i, &y) in export(b, s.w()).iter().enumerate() {
                        prop_assert!(y.is_finite() && y >= eps, "W_b[{i}] = {y} < ε = {eps}");
                    }
                    before = after;
                }
                let w_solver = export(b, s.w());
                drop(s);
                let (w_b, _) = online.partial_fit(b, &v_b).unwrap();
                let bits = |x: Vec<f64>| x.iter().map(|y| y.to_bits()).collect::<Vec<_>>();
                prop_assert_eq!(bits(export(b, &w_b)), bits(w_solver));
            }
            Ok(())
        })
        .unwrap();
}

/// Bad parameters and data are errors naming what is wrong; the fit itself stops by its
/// rules and by its observer.
pub fn check_minibatch_parameters<T: Scalar, B: DenseBackend<T>>(b: &B) {
    let p = || MiniBatchNmf::params(2);
    let option = |e: NmfError| match e {
        NmfError::InvalidSolverOption { option, .. } => option,
        other => panic!("expected InvalidSolverOption, got {other:?}"),
    };
    assert_eq!(option(p().batch_size(0).check().unwrap_err()), "batch_size");
    for ff in [-0.5, f64::NAN, f64::INFINITY] {
        assert_eq!(
            option(p().forget_factor(ff).check().unwrap_err()),
            "forget_factor"
        );
    }
    assert_eq!(
        option(p().fresh_restarts_max_iter(0).check().unwrap_err()),
        "fresh_restarts_max_iter"
    );
    assert_eq!(
        option(p().max_no_improvement(Some(0)).check().unwrap_err()),
        "max_no_improvement"
    );
    assert_eq!(
        MiniBatchNmf::params(0).check().unwrap_err(),
        NmfError::ZeroRank
    );
    assert_eq!(p().max_iter(0).check().unwrap_err(), NmfError::ZeroMaxIter);
    // Penalties: the full-batch fit's errors, naming the parameter and its value.
    let reg = |e: NmfError| match e {
        NmfError::InvalidRegularization { reason } => reason,
        other => panic!("expected InvalidRegularization, got {other:?}"),
    };
    for a in [-0.1, f64::NAN, f64::INFINITY] {
        let r = reg(p().alpha_w(a).check().unwrap_err());
        assert!(
            r.starts_with("alpha_W and alpha_H must be finite and ≥ 0"),
            "{r}"
        );
        let r = reg(p().alpha_w(0.1).alpha_h(a).check().unwrap_err());
        assert!(r.contains(&format!("got 0.1 and {a}")), "{r}");
    }
    for l in [-0.5, 1.5, f64::NAN] {
        let r = reg(p().l1_ratio(l).check().unwrap_err());
        assert_eq!(r, format!("l1_ratio must be in [0, 1], got {l}"));
    }
    // A weight that overflows once scaled by the batch's rows is refused at that batch.
    let big = p().alpha_h(1e308).check().unwrap();
    let r = reg(big.batch_penalty(10, 3).unwrap_err());
    assert!(
        r.starts_with("alpha_H = 1e308 times the 10 rows of the batch"),
        "{r}"
    );
    let mut online = big.online::<T, B>(3).unwrap();
    assert!(matches!(
        online.partial_fit(b, &mat(b, 10, 3, &[1.0; 30])),
        Err(NmfError::InvalidRegularization { .. })
    ));
    assert!(matches!(
        p().tol(-1.0).check().unwrap_err(),
        NmfError::InvalidTol(_)
    ));
    assert!(matches!(
        p().eps(0.0).check().unwrap_err(),
        NmfError::InvalidEps(_)
    ));
    assert!(matches!(
        p().loss(Loss::Beta(f64::NAN)).check().unwrap_err(),
        NmfError::InvalidBeta(_)
    ));
    assert!(matches!(
        p().loss(Loss::Beta(1e3)).check().unwrap_err(),
        NmfError::BetaOutOfRange { .. }
    ));
    let params = p().batch_size(2).max_iter(3).check().unwrap();
    assert!(matches!(
        params.online::<T, B>(0),
        Err(NmfError::EmptyMatrix { .. })
    ));
    // Before any batch there is no dictionary to transform with.
    let online = params.online::<T, B>(3).unwrap();
    let x = mat(b, 2, 3, &[1.0; 6]);
    assert!(matches!(
        online.transform(b, &x),
        Err(NmfError::InvalidModel { .. })
    ));
    // A batch with the wrong number of columns.
    let mut online = params.online::<T, B>(3).unwrap();
    online.partial_fit(b, &x).unwrap();
    let y = mat(b, 2, 4, &[1.0; 8]);
    assert_eq!(
        online.partial_fit(b, &y).unwrap_err(),
        NmfError::ShapeMismatch {
            matrix: MatrixRole::V,
            expected: (2, 3),
            found: (2, 4)
        }
    );
    // A negative entry is named with its row in V, not in its batch.
    let mut d = vec![1.0; 15];
    d[3 * 3 + 1] = -2.0;
    let v = mat(b, 5, 3, &d);
    match params.fit(b, &v).unwrap_err() {
        NmfError::NegativeEntry { row, col, .. } => assert_eq!((row, col), (3, 1)),
        other => panic!("expected NegativeEntry, got {other:?}"),
    }
    // Non-finite data.
    d[3 * 3 + 1] = f64::NAN;
    let v = mat(b, 5, 3, &d);
    assert!(matches!(
        params.fit(b, &v).unwrap_err(),
        NmfError::NonFiniteEntry { row: 3, col: 1, .. }
    ));
    // The observer stops the fit: an error, never a half-fitted model.
    d[3 * 3 + 1] = 1.0;
    let v = mat(b, 5, 3, &d);
    let rows = b.to_row_major(&v);
    let e = params
        .fit_batches(
            b,
            5,
            3,
            |r| b.from_row_major(r.len(), 3, &rows[r.start * 3..r.end * 3]),
            |pr| pr.step < 2,
        )
        .err()
        .unwrap();
    assert_eq!(e, NmfError::Interrupted { iteration: 2 });
    // transform after a fit: W for new rows, ≥ ε.
    let model = params.fit(b, &v).unwrap();
    let w = model.online().transform(b, &x).unwrap();
    assert_eq!(b.shape(&w), (2, 2));
    let eps = model.eps();
    assert!(
        b.to_row_major(&w)
            .iter()
            .all(|&x| x >= eps && x.is_finite())
    );
    // max_iter epochs at most; the steps are counted.
    assert!(model.epochs() <= 3 && model.steps() <= 9);
}
