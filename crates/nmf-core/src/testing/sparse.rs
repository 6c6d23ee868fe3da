//! Sparse V ([`SparseData`]): on every backend and scalar type, the statistics of its data
//! term equal those of the dense data term (Frobenius, KL, and the general β with its loss),
//! every rule that consumes them (MU for Frobenius, KL and β, HALS) keeps the penalised
//! objective from rising after every half-step, with every entry ≥ ε, and a fit of a sparse V
//! follows the fit of its dense copy; so does the KL coordinate descent, swept over the stored
//! entries only.

use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

use super::common::*;
use super::{DataCase, data_case, runner, runner_with_cases};
use crate::sparse::SparseData;
use crate::{
    DataOps, DenseBackend, HalsOptions, HalsSolver, Loss, MuSolver, Nmf, NmfError, Penalty, Scalar,
};

/// The case's V as [`SparseData`] (its non-zeros stored).
pub fn sparse_of<T: Scalar>(c: &DataCase) -> SparseData<T> {
    let (mut r, mut col, mut v) = (vec![], vec![], vec![]);
    for (t, &x) in c.v.iter().enumerate() {
        if x != 0.0 {
            r.push(t / c.n);
            col.push(t % c.n);
            v.push(T::from_f64(x));
        }
    }
    SparseData::from_triplets(c.m, c.n, &r, &col, &v).expect("the suite's V is valid")
}

/// Entry-wise agreement of two computations of sums of at most `len` non-negative terms in
/// different orders: each is within γ_len ≈ len·u of the exact sum, so they differ by at most
/// 2.02·len·u times the larger (len·u ≤ 0.01 here).
fn close(a: &[f64], b: &[f64], len: usize, u: f64, what: &str) -> Result<(), TestCaseError> {
    let g = 2.02 * len as f64 * u;
    for (p, (&x, &y)) in a.iter().zip(b).enumerate() {
        prop_assert!(
            (x - y).abs() <= g * x.abs().max(y.abs()),
            "{what}, entry {p}: {x} (sparse) vs {y} (dense)"
        );
    }
    Ok(())
}

/// The Frobenius and KL statistics of both half-steps, and the products of the randomized SVD,
/// of a sparse V equal those of its dense copy on the same backend, within the rounding of sums
/// of non-negative terms added in another order (the KL ratio adds the k-term rounding of
/// WH: length m + n + 2k); the Gram matrices and the sums of the factors, which do not touch
/// V, are identical.
pub fn check_sparse_statistics<T: Scalar, B: DenseBackend<T>>(b: &B) {
    let u = T::unit_roundoff();
    runner()
        .run(&data_case::<T>(12), |c| {
            let (dv, w, h, _) = start(b, &c);
            let sv = sparse_of::<T>(&c);
            let (m, n, k) = (c.m, c.n, c.k);
            let len = m.max(n) + 2;
            let (mut sw, mut dw) = (
                DataOps::<T, SparseData<T>>::data_work(b, &sv, k, Loss::KullbackLeibler),
                DataOps::<T, B::Mat>::data_work(b, &dv, k, Loss::KullbackLeibler),
            );
            let e = |a: &B::Mat| export(b, a);
            let (mut n1, mut n2, mut g1, mut g2) =
                (b.zeros(k, n), b.zeros(k, n), b.zeros(k, k), b.zeros(k, k));
            <B as DataOps<T, SparseData<T>>>::frobenius_stats_h(
                b, &sv, &mut sw, &w, &mut n1, &mut g1,
            );
            <B as DataOps<T, B::Mat>>::frobenius_stats_h(b, &dv, &mut dw, &w, &mut n2, &mut g2);
            close(&e(&n1), &e(&n2), len, u, "WᵀV")?;
            prop_assert_eq!(e(&g1), e(&g2));
            let (mut m1, mut m2) = (b.zeros(m, k), b.zeros(m, k));
            <B as DataOps<T, SparseData<T>>>::frobenius_stats_w(
                b, &sv, &mut sw, &h, &mut m1, &mut g1,
            );
            <B as DataOps<T, B::Mat>>::frobenius_stats_w(b, &dv, &mut dw, &h, &mut m2, &mut g2);
            close(&e(&m1), &e(&m2), len, u, "VHᵀ")?;
            prop_assert_eq!(e(&g1), e(&g2));
            let (mut s1, mut s2) = (vec![T::zero(); k], vec![T::zero(); k]);
            <B as DataOps<T, SparseData<T>>>::kl_stats_h(b, &sv, &mut sw, &w, &h, &mut n1, &mut s1);
            <B as DataOps<T, B::Mat>>::kl_stats_h(b, &dv, &mut dw, &w, &h, &mut n2, &mut s2);
            close(&e(&n1), &e(&n2), len + 2 * k, u, "Wᵀ(V/WH)")?;
            prop_assert_eq!(&s1, &s2);
            <B as DataOps<T, SparseData<T>>>::kl_stats_w(b, &sv, &mut sw, &w, &h, &mut m1, &mut s1);
            <B as DataOps<T, B::Mat>>::kl_stats_w(b, &dv, &mut dw, &w, &h, &mut m2, &mut s2);
            close(&e(&m1), &e(&m2), len + 2 * k, u, "(V/WH)Hᵀ")?;
            prop_assert_eq!(&s1, &s2);
            <B as DataOps<T, SparseData<T>>>::wt_x(b, &mut n1, &w, &sv);
            <B as DataOps<T, B::Mat>>::wt_x(b, &mut n2, &w, &dv);
            close(&e(&n1), &e(&n2), len, u, "wt_x")?;
            <B as DataOps<T, SparseData<T>>>::x_ht(b, &mut m1, &sv, &h);
            <B as DataOps<T, B::Mat>>::x_ht(b, &mut m2, &dv, &h);
            close(&e(&m1), &e(&m2), len, u, "x_ht")?;
            Ok(())
        })
        .unwrap();
}

/// The β values the sparse group checks: Itakura–Saito, both sides of KL, and above 2.
const BETAS: [f64; 4] = [0.0, 0.5, 1.5, 3.0];

/// The general β statistics of both half-steps, and the β loss with its evaluation, of a
/// sparse V equal those of its dense copy on the same backend, for β ∈ {0, 0.5, 1.5, 3} (for
/// β ≤ 0 the zeros of V replaced first: the loss is infinite there).
///
/// Tolerances. Statistics: each side forms every λ = (WH)_ij in `T` as a k-term sum (relative
/// γ_k, in its own order), raises it to a power p with |p| ≤ 2 for these β (relative
/// |p|·γ_k + 2u with the power's own rounding), multiplies by v and a factor's entry (2u), and
/// sums at most max(m, n) non-negative terms (γ_len): each side within
/// (len + 2k + 6)·u of the value, so the two agree within `close`'s 2.02·(len + 2k + 6)·u.
/// Entries that overflowed to ∞ on both sides are equal. Loss: the terms are evaluated in
/// `f64` from the same λ's, which differ by γ_k relative between the sides; that moves
/// d_β(v|λ) by λ^(β−1)|λ − v|·γ_k, at most γ_k·(Σλ^β + Σvλ^(β−1)) = γ_k·`scale` of the
/// evaluation; the f64 evaluation adds a few u₆₄ of Σ|terms| ≤ `f64_terms` (see
/// [`beta_term`](crate::kernels::beta_term)). The evaluation's sizes are within the same
/// relative error of each other.
pub fn check_sparse_beta_statistics<T: Scalar, B: DenseBackend<T>>(b: &B) {
    let u = T::unit_roundoff();
    runner_with_cases(64)
        .run(&data_case::<T>(12), |c| {
            for beta in BETAS {
                let mut c = c.clone();
                if beta <= 0.0 {
                    fill_zeros(&mut c.v);
                }
                let (dv, w, h, _) = start(b, &c);
                let sv = sparse_of::<T>(&c);
                let (m, n, k) = (c.m, c.n, c.k);
                let len = m.max(n) + 2 * k + 6;
                let loss = Loss::Beta(beta);
                let (mut sw, mut dw) = (
                    DataOps::<T, SparseData<T>>::data_work(b, &sv, k, loss),
                    DataOps::<T, B::Mat>::data_work(b, &dv, k, loss),
                );
                let e = |a: &B::Mat| -> Vec<f64> {
                    // ∞ on both sides compares equal in `close`; keep it as it is.
                    export(b, a)
                };
                let bt = T::from_f64(beta);
                let (mut n1, mut n2, mut d1, mut d2) =
                    (b.zeros(k, n), b.zeros(k, n), b.zeros(k, n), b.zeros(k, n));
                <B as DataOps<T, SparseData<T>>>::beta_stats_h(
                    b, &sv, &mut sw, &w, &h, bt, &mut n1, &mut d1,
                );
                <B as DataOps<T, B::Mat>>::beta_stats_h(
                    b, &dv, &mut dw, &w, &h, bt, &mut n2, &mut d2,
                );
                close_or_equal(&e(&n1), &e(&n2), len, u, beta, "Wᵀ(V∘Λ^(β−2))")?;
                close_or_equal(&e(&d1), &e(&d2), len, u, beta, "WᵀΛ^(β−1)")?;
                let (mut m1, mut m2, mut f1, mut f2) =
                    (b.zeros(m, k), b.zeros(m, k), b.zeros(m, k), b.zeros(m, k));
                <B as DataOps<T, SparseData<T>>>::beta_stats_w(
                    b, &sv, &mut sw, &w, &h, bt, &mut m1, &mut f1,
                );
                <B as DataOps<T, B::Mat>>::beta_stats_w(
                    b, &dv, &mut dw, &w, &h, bt, &mut m2, &mut f2,
                );
                close_or_equal(&e(&m1), &e(&m2), len, u, beta, "(V∘Λ^(β−2))Hᵀ")?;
                close_or_equal(&e(&f1), &e(&f2), len, u, beta, "Λ^(β−1)Hᵀ")?;
                let l1 = <B as DataOps<T, SparseData<T>>>::data_loss(b, &sv, &mut sw, &w, &h, loss);
                let a =
                    <B as DataOps<T, SparseData<T>>>::data_evaluate(b, &sv, &mut sw, &w, &h, loss);
                let d = <B as DataOps<T, B::Mat>>::data_evaluate(b, &dv, &mut dw, &w, &h, loss);
                prop_assert_eq!(l1.to_bits(), a.loss.to_bits());
                let gk = 1.01 * (k + 2) as f64 * u;
                let tol =
                    2.0 * gk * a.scale.max(d.scale) + 32.0 * U64 * a.f64_terms.max(d.f64_terms);
                prop_assert!(
                    (a.loss - d.loss).abs() <= tol || a.loss == d.loss,
                    "β = {beta}: loss {} (sparse) vs {} (dense), tolerance {tol:e}",
                    a.loss,
                    d.loss
                );
                for (x, y, what) in [
                    (a.scale, d.scale, "scale"),
                    (a.f64_terms, d.f64_terms, "f64_terms"),
                ] {
                    prop_assert!(
                        (x - y).abs() <= 2.02 * len as f64 * u * x.max(y) || x == y,
                        "β = {beta}: {what} {x} (sparse) vs {y} (dense)"
                    );
                }
            }
            Ok(())
        })
        .unwrap();
}

/// `close`, except that entries equal on both sides (∞ from an overflowed power included) pass,
/// and so do entries NaN on both sides: an all-zero V starts from zero factors, where both
/// data terms compute 0·0^(β−1) = 0·∞ at the same entries.
fn close_or_equal(
    a: &[f64],
    b: &[f64],
    len: usize,
    u: f64,
    beta: f64,
    what: &str,
) -> Result<(), TestCaseError> {
    let g = 2.02 * len as f64 * u;
    for (p, (&x, &y)) in a.iter().zip(b).enumerate() {
        prop_assert!(
            x == y || (x.is_nan() && y.is_nan()) || (x - y).abs() <= g * x.abs().max(y.abs()),
            "β = {beta}, {what}, entry {p}: {x} (sparse) vs {y} (dense)"
        );
    }
    Ok(())
}

/// MU with the general β ∈ {0, 0.5, 1.5, 3} on a sparse V (for β ≤ 0 its zeros replaced,
/// the divergence being infinite there) never raises the penalised objective after a
/// half-step beyond the library's rounding bound
/// ([`Evaluation::rise_bound`](crate::Evaluation::rise_bound), from the sizes the sparse
/// evaluation reports, which are the dense ones), and keeps every entry ≥ ε.
pub fn check_sparse_beta_is_monotone<T: Scalar, B: DenseBackend<T>>(b: &B) {
    runner_with_cases(32)
        .run(&(data_case::<T>(12), penalty_weights()), |(c, weights)| {
            let u = T::unit_roundoff();
            for beta in BETAS {
                let mut c = c.clone();
                if beta <= 0.0 {
                    fill_zeros(&mut c.v);
                }
                let (_, w0, h0, eps) = start(b, &c);
                let sv = sparse_of::<T>(&c);
                let pen = weights.map_or(Penalty::default(), |(aw, ah, ratio, exp)| {
                    let scale = c.mean().max(f64::MIN_POSITIVE) * 10f64.powi(exp);
                    Penalty::sklearn(c.m, c.n, aw * scale, ah * scale, ratio)
                });
                let mut s =
                    MuSolver::<T, B, SparseData<T>>::new(b, &sv, w0, h0, Loss::Beta(beta), eps)
                        .unwrap();
                s.set_penalty(pen).unwrap();
                let mut prev = s.evaluate();
                for half in 0..8 {
                    if half % 2 == 0 {
                        s.update_h()
                    } else {
                        s.update_w()
                    }
                    let next = s.evaluate();
                    let bound = prev.rise_bound(&next, c.k, u);
                    prop_assert!(
                        next.objective <= prev.objective + bound,
                        "β = {beta}, half-step {half}: {} → {} (bound {bound:e})",
                        prev.objective,
                        next.objective
                    );
                    prev = next;
                }
                all_at_least(b, s.w(), eps, "W")?;
                all_at_least(b, s.h(), eps, "H")?;
            }
            Ok(())
        })
        .unwrap();
}

/// MU or HALS behind one interface, for the monotonicity check (one at a time, on the stack:
/// the size difference does not matter).
#[allow(clippy::large_enum_variant)]
enum Rule<'a, T: Scalar, B: DenseBackend<T>> {
    Mu(MuSolver<'a, T, B, SparseData<T>>),
    Hals(HalsSolver<'a, T, B, SparseData<T>>),
}

impl<T: Scalar, B: DenseBackend<T>> Rule<'_, T, B> {
    fn set_penalty(&mut self, p: Penalty) {
        match self {
            Rule::Mu(s) => s.set_penalty(p).unwrap(),
            Rule::Hals(s) => s.set_penalty(p).unwrap(),
        }
    }
    fn half_step(&mut self, h: bool) {
        match (self, h) {
            (Rule::Mu(s), true) => s.update_h(),
            (Rule::Mu(s), false) => s.update_w(),
            (Rule::Hals(s), true) => s.update_h(),
            (Rule::Hals(s), false) => s.update_w(),
        }
    }
    fn evaluate(&mut self) -> crate::Evaluation {
        match self {
            Rule::Mu(s) => s.evaluate(),
            Rule::Hals(s) => s.evaluate(),
        }
    }
    fn factors(&self) -> (&B::Mat, &B::Mat) {
        match self {
            Rule::Mu(s) => (s.w(), s.h()),
            Rule::Hals(s) => (s.w(), s.h()),
        }
    }
}

/// After every half-step on a sparse V, every entry of W and H is finite and ≥ ε, and the
/// penalised objective has not risen by more than the library's rounding bound
/// ([`Evaluation::rise_bound`](crate::Evaluation::rise_bound), whose sizes the sparse data
/// term widens by the rounding of its closed forms for the unstored entries), for MU with
/// Frobenius and KL and for HALS (with its repeated sweeps), with and without penalties.
pub fn check_sparse_rules_are_monotone<T: Scalar, B: DenseBackend<T>>(b: &B) {
    runner_with_cases(64)
        .run(&(data_case::<T>(12), penalty_weights()), |(c, weights)| {
            let (_, w0, h0, eps) = start(b, &c);
            let sv = sparse_of::<T>(&c);
            let pen = weights.map_or(Penalty::default(), |(aw, ah, ratio, exp)| {
                let scale = c.mean().max(f64::MIN_POSITIVE) * 10f64.powi(exp);
                Penalty::sklearn(c.m, c.n, aw * scale, ah * scale, ratio)
            });
            let u = T::unit_roundoff();
            for rule in 0..3 {
                let loss = if rule == 1 {
                    Loss::KullbackLeibler
                } else {
                    Loss::Frobenius
                };
                let mut s = if rule < 2 {
                    Rule::Mu(
                        MuSolver::<T, B, SparseData<T>>::new(
                            b,
                            &sv,
                            w0.clone(),
                            h0.clone(),
                            loss,
                            eps,
                        )
                        .unwrap(),
                    )
                } else {
                    let o = HalsOptions::default();
                    Rule::Hals(
                        HalsSolver::<T, B, SparseData<T>>::new(
                            b,
                            &sv,
                            w0.clone(),
                            h0.clone(),
                            eps,
                            o,
                        )
                        .unwrap(),
                    )
                };
                s.set_penalty(pen);
                let mut prev = s.evaluate();
                for half in 0..8 {
                    s.half_step(half % 2 == 0);
                    let next = s.evaluate();
                    let bound = prev.rise_bound(&next, c.k, u);
                    prop_assert!(
                        next.objective <= prev.objective + bound,
                        "rule {rule} ({loss}), half-step {half}: {} → {} (bound {bound:e})",
                        prev.objective,
                        next.objective
                    );
                    prev = next;
                }
                let (w, h) = s.factors();
                all_at_least(b, w, eps, "W")?;
                all_at_least(b, h, eps, "H")?;
            }
            Ok(())
        })
        .unwrap();
}

/// The KL coordinate descent on a sparse V (each lane swept over its stored entries, the
/// fixed factor gathered there) keeps every block's share of the penalised objective from
/// rising beyond the bound of the dense property, and every entry ≥ ε, on the same widely
/// drawn cases (zeros, empty rows and columns, a single non-zero, all-zero V, magnitudes
/// 2^±60, penalties, Newton settings): see
/// [`check_cd_kl_objective_never_increases`](super::check_cd_kl_objective_never_increases).
pub fn check_sparse_cd_kl_is_monotone<T: Scalar, B: DenseBackend<T>>(b: &B) {
    super::cd_kl::cd_kl_never_increases::<T, B, SparseData<T>>(b, &|c, _| sparse_of::<T>(c));
}

/// A fit of a sparse V (every solver: HALS and MU for Frobenius, MU and coordinate descent for
/// KL) reaches the loss of the same fit of its dense copy within 1000·u·S after 50 iterations,
/// S the size of the loss's terms (½‖V‖² for Frobenius, ΣV for KL): the two differ only in
/// the order of the additions (of the products; for coordinate descent, of each lane's two
/// sums, whose zero terms the sparse lane leaves out), a relative u in each statistic, so
/// each half-step's result differs by O(u) relative and the loss, whose terms have size S, by
/// O(u·S) per iteration; 50 iterations of a few such terms stay well within 1000·u·S.
/// (Relative to the loss itself there is no such bound: these exactly low-rank cases reach
/// losses near 0.) Coordinate descent runs with `newton_tol = 0`, a fixed number of Newton
/// steps: its early stop compares a step with a threshold, a choice that a rounding
/// difference could flip, moving x by up to `newton_tol` of its value, far above rounding.
pub fn check_sparse_fit_matches_dense<T: Scalar, B: DenseBackend<T>>(b: &B) {
    for (m, n, seed) in [(20, 15, 1u64), (9, 30, 2), (40, 8, 3)] {
        let (k, v) = low_rank_case(m, n, seed);
        // Zero a third of the entries, as a count matrix would be.
        let v: Vec<f64> = v
            .iter()
            .enumerate()
            .map(|(t, &x)| {
                if (t * 7 + seed as usize).is_multiple_of(3) {
                    0.0
                } else {
                    x
                }
            })
            .collect();
        let c = DataCase {
            m,
            n,
            k,
            v: v.iter().map(|&x| T::from_f64(x).as_f64()).collect(),
            pattern: super::Pattern::Sparse,
            seed,
        };
        let sv = sparse_of::<T>(&c);
        let dv = mat::<T, B>(b, m, n, &c.v);
        for (loss, solver) in [
            (Loss::Frobenius, crate::Solver::Hals),
            (Loss::Frobenius, crate::Solver::Mu),
            (Loss::KullbackLeibler, crate::Solver::Mu),
            (Loss::KullbackLeibler, crate::Solver::CdKl),
        ] {
            let p = Nmf::params(k)
                .loss(loss)
                .solver(solver)
                .cd_kl_options(crate::CdKlOptions {
                    newton_steps: 2,
                    newton_tol: 0.0,
                })
                .max_iter(50)
                .tol(0.0)
                .seed(seed)
                .check()
                .unwrap();
            let a = p.fit::<T, B, SparseData<T>>(b, &sv).unwrap();
            let d = p.fit(b, &dv).unwrap();
            let size = if loss == Loss::Frobenius {
                0.5 * c.v.iter().map(|x| x * x).sum::<f64>()
            } else {
                c.v.iter().sum::<f64>()
            };
            let diff = (a.final_loss() - d.final_loss()).abs();
            assert!(
                diff <= 1000.0 * T::unit_roundoff() * size,
                "{m}×{n} {loss} {solver}: sparse {} vs dense {} (S = {size})",
                a.final_loss(),
                d.final_loss()
            );
        }
    }
}

/// The 3×4 count matrix the backends' sparse-input adapters are tested on, as triplets
/// `(row, column, value)`: 5 stored entries, the fourth at (2, 0).
pub const SPARSE_INPUT: [(usize, usize, f64); 5] = [
    (0, 0, 2.0),
    (0, 3, 1.0),
    (1, 1, 4.0),
    (2, 0, 1.0),
    (2, 2, 3.0),
];

/// Triplets `(row, column, value)` of an adapter's test input.
pub type SparseInputTriplets = [(usize, usize, f64)];

/// [`SPARSE_INPUT`] as a dense 3×4 matrix, row-major.
pub fn sparse_input_dense() -> Vec<f64> {
    let mut d = vec![0.0; 12];
    for (i, j, v) in SPARSE_INPUT {
        d[i * 4 + j] = v;
    }
    d
}

/// The entries of `v` as dense row-major matrices, read from its rows and from its columns:
/// an adapter that reads its input right gives the input's dense matrix twice.
pub fn dense_of_both(v: &SparseData<f64>) -> (Vec<f64>, Vec<f64>) {
    let (m, n) = v.shape();
    let (mut a, mut b) = (vec![0.0; m * n], vec![0.0; m * n]);
    for i in 0..m {
        let (cs, vs) = v.csr().row(i);
        for (&j, &x) in cs.iter().zip(vs) {
            a[i * n + j] = x;
        }
    }
    for j in 0..n {
        let (rs, vs) = v.csc().row(j);
        for (&i, &x) in rs.iter().zip(vs) {
            b[i * n + j] = x;
        }
    }
    (a, b)
}

/// A backend's sparse-input adapter checks values as [`CsrRef::new`](crate::sparse::CsrRef::new)
/// does: with the entry at (2, 0) of [`SPARSE_INPUT`] made −1, NaN and +∞ in turn, `errors`
/// (the errors of every entry point of the adapter on those triplets, at least one) gives
/// [`NmfError::NegativeEntry`] for −1 and [`NmfError::NonFiniteEntry`] for the others, each at
/// row 2, column 0 of V.
///
/// # Panics
/// On any other error or place, or when `errors` gives none.
pub fn check_sparse_input_bad_values(errors: &dyn Fn(&SparseInputTriplets) -> Vec<NmfError>) {
    for (bad, is_negative) in [(-1.0, true), (f64::NAN, false), (f64::INFINITY, false)] {
        let mut t = SPARSE_INPUT;
        t[3].2 = bad;
        let found = errors(&t);
        assert!(!found.is_empty(), "{bad}: no entry point was tried");
        for e in found {
            match e {
                NmfError::NegativeEntry { row, col, .. } if is_negative => {
                    assert_eq!((row, col), (2, 0), "{bad}")
                }
                NmfError::NonFiniteEntry { row, col, .. } if !is_negative => {
                    assert_eq!((row, col), (2, 0), "{bad}")
                }
                e => panic!("{bad}: {e}"),
            }
        }
    }
}
