//! The properties. Every tolerance is derived from the floating-point accuracy of what is
//! computed; the comment beside each says how. `u` is the unit roundoff of the scalar type
//! (6.0e-8 for f32, 1.1e-16 for f64) and `u64` that of f64.

use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::{DataCase, ExtremeCase, data_case, extreme_case, runner, runner_with_cases};
use crate::auxiliary::Subproblem;
use crate::reference::Reference;
use crate::{
    Accum, DenseBackend, Loss, MatrixBackend, MatrixRole, MuSolver, Nmf, NmfError, Scalar, Trans,
};

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

fn random_vec(rng: &mut ChaCha8Rng, len: usize, zeros: f64) -> Vec<f64> {
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

/// The product kernel against a naive `f64` reference, for every transpose combination,
/// replace and accumulate, shapes 1–5, 15–17 and 127–129, with a NaN-filled destination under
/// [`Accum::Replace`] (which must never read it).
pub fn check_matmul<T: Scalar, B: MatrixBackend<T>>(b: &B) {
    let dims = prop::sample::select(vec![1usize, 2, 3, 4, 5, 15, 16, 17, 127, 128, 129]);
    let alphas = prop::sample::select(vec![1.0f64, -1.0, 0.5, 3.0]);
    let strategy = (
        dims.clone(),
        dims.clone(),
        dims,
        any::<(bool, bool, bool)>(),
        alphas,
        any::<u64>(),
    );
    runner_with_cases(128)
        .run(&strategy, |(m, n, k, (ta, tb, add), alpha, seed)| {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let (ta, tb) = (if ta { Trans::Yes } else { Trans::No }, if tb { Trans::Yes } else { Trans::No });
            let (ar, ac) = ta.apply((m, k));
            let (br, bc) = tb.apply((k, n));
            let a = random_vec(&mut rng, m * k, 0.1);
            let bb = random_vec(&mut rng, k * n, 0.1);
            let d0 = random_vec(&mut rng, m * n, 0.0);
            let am = mat::<T, B>(b, ar, ac, &a);
            let bm = mat::<T, B>(b, br, bc, &bb);
            let (a, bb) = (export(b, &am), export(b, &bm));
            let mut dst = if add { mat::<T, B>(b, m, n, &d0) } else { b.from_fn(m, n, |_, _| T::nan()) };
            let d0 = if add { export(b, &dst) } else { vec![0.0; m * n] };
            let accum = if add { Accum::Add } else { Accum::Replace };
            b.matmul(&mut dst, accum, T::from_f64(alpha), &am, ta, &bm, tb);
            let got = export(b, &dst);
            let at = |i: usize, p: usize| if ta == Trans::Yes { a[p * ac + i] } else { a[i * ac + p] };
            let bt = |p: usize, j: usize| if tb == Trans::Yes { bb[j * bc + p] } else { bb[p * bc + j] };
            for i in 0..m {
                for j in 0..n {
                    let (mut s, mut abs) = (0.0, 0.0);
                    for p in 0..k {
                        s += at(i, p) * bt(p, j);
                        abs += (at(i, p) * bt(p, j)).abs();
                    }
                    let want = d0[i * n + j] + alpha * s;
                    // A k-term dot product in any order (blocked, FMA) errs by at most
                    // γ_k·Σ|a||b| ≤ 1.01·k·u·Σ|a||b|; scaling by α and adding dst add two
                    // roundings of at most u·(|α|Σ|a||b| + |dst|) each.
                    let tol = (1.01 * k as f64 + 2.0) * T::unit_roundoff()
                        * (alpha.abs() * abs + d0[i * n + j].abs());
                    let g = got[i * n + j];
                    prop_assert!(
                        (g - want).abs() <= tol,
                        "{m}×{k}·{k}×{n} {ta:?}/{tb:?} {accum:?}: entry ({i},{j}) is {g}, want {want} ± {tol}"
                    );
                }
            }
            Ok(())
        })
        .unwrap();
}

/// The fused elementwise kernels and reductions against the [`Reference`] backend: the
/// entry-wise kernels bit for bit (they evaluate the same IEEE operations), the sums within
/// their rounding error; also construction, export and [`MatrixBackend::first_invalid`].
pub fn check_elementwise<T: Scalar, B: MatrixBackend<T>>(b: &B)
where
    Reference: MatrixBackend<T>,
{
    let r = Reference;
    let strategy = (1usize..=40, 1usize..=40, any::<u64>());
    runner()
        .run(&strategy, |(rows, cols, seed)| {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let len = rows * cols;
            let pos = |rng: &mut ChaCha8Rng, zeros: f64| -> Vec<f64> {
                (0..len)
                    .map(|_| {
                        if rng.random_bool(zeros) {
                            0.0
                        } else {
                            rng.random_range(1.0..10.0) * 10f64.powi(rng.random_range(-3..=3))
                        }
                    })
                    .collect()
            };
            let (x, num, den, v) = (
                pos(&mut rng, 0.0),
                pos(&mut rng, 0.2),
                pos(&mut rng, 0.1),
                pos(&mut rng, 0.3),
            );
            let eps = T::from_f64(1e-4);
            let same = |name: &str, got: Vec<T>, want: Vec<T>| -> Result<(), TestCaseError> {
                for (idx, (g, w)) in got.iter().zip(&want).enumerate() {
                    prop_assert!(
                        g.to_bits_eq(*w),
                        "{name}: entry {idx} is {g}, the reference gives {w}"
                    );
                }
                Ok(())
            };
            // Construction and export round-trip exactly.
            let xm = mat::<T, B>(b, rows, cols, &x);
            prop_assert_eq!(b.shape(&xm), (rows, cols));
            let xt: Vec<T> = x.iter().map(|&x| T::from_f64(x)).collect();
            prop_assert_eq!(
                b.to_row_major(&b.from_row_major(rows, cols, &xt).unwrap()),
                xt.clone()
            );
            prop_assert_eq!(
                b.from_row_major(rows, cols + 1, &xt).err(),
                Some(NmfError::DataLength {
                    rows,
                    cols: cols + 1,
                    len
                })
            );
            let (nb, db, vb) = (
                mat::<T, B>(b, rows, cols, &num),
                mat::<T, B>(b, rows, cols, &den),
                mat::<T, B>(b, rows, cols, &v),
            );
            let (nr, dr, vr) = (
                mat::<T, Reference>(&r, rows, cols, &num),
                mat::<T, Reference>(&r, rows, cols, &den),
                mat::<T, Reference>(&r, rows, cols, &v),
            );
            let xr = mat::<T, Reference>(&r, rows, cols, &x);
            // mu_update, with zero numerators and zero denominators (the guards).
            let (mut xb, mut xrr) = (xm.clone(), xr.clone());
            b.mu_update(&mut xb, &nb, &db, eps);
            r.mu_update(&mut xrr, &nr, &dr, eps);
            same("mu_update", b.to_row_major(&xb), r.to_row_major(&xrr))?;
            let row_den: Vec<T> = (0..rows).map(|i| T::from_f64(den[i])).collect();
            let col_den: Vec<T> = (0..cols).map(|j| T::from_f64(den[j])).collect();
            let (mut xb, mut xrr) = (xm.clone(), xr.clone());
            b.mu_update_row_den(&mut xb, &nb, &row_den, eps);
            r.mu_update_row_den(&mut xrr, &nr, &row_den, eps);
            same(
                "mu_update_row_den",
                b.to_row_major(&xb),
                r.to_row_major(&xrr),
            )?;
            let (mut xb, mut xrr) = (xm.clone(), xr.clone());
            b.mu_update_col_den(&mut xb, &nb, &col_den, eps);
            r.mu_update_col_den(&mut xrr, &nr, &col_den, eps);
            same(
                "mu_update_col_den",
                b.to_row_major(&xb),
                r.to_row_major(&xrr),
            )?;
            // mu_update_l2 (KL with an L2 penalty), with l2 = 0 and l2 > 0 over many scales.
            for l2 in [0.0, 1e-3, 1.0, 1e3] {
                let (mut xb, mut xrr) = (xm.clone(), xr.clone());
                b.mu_update_l2(&mut xb, &nb, &db, T::from_f64(l2), eps);
                r.mu_update_l2(&mut xrr, &nr, &dr, T::from_f64(l2), eps);
                same("mu_update_l2", b.to_row_major(&xb), r.to_row_major(&xrr))?;
            }
            // mu_update_pow, at the exponents of the β updates.
            for gamma in [0.5, 1.0, 0.4, 2.0 / 3.0] {
                let (mut xb, mut xrr) = (xm.clone(), xr.clone());
                b.mu_update_pow(&mut xb, &nb, &db, T::from_f64(gamma), eps);
                r.mu_update_pow(&mut xrr, &nr, &dr, T::from_f64(gamma), eps);
                same("mu_update_pow", b.to_row_major(&xb), r.to_row_major(&xrr))?;
            }
            // beta_parts_in_place, with zeros in V (→ exactly 0 in the first part).
            for beta in [0.0, 0.5, 1.5, 3.0] {
                let (mut ab, mut ar) = (xm.clone(), xr.clone());
                let (mut bb, mut br) = (xm.clone(), xr.clone());
                b.beta_parts_in_place(&mut ab, &mut bb, &vb, T::from_f64(beta));
                r.beta_parts_in_place(&mut ar, &mut br, &vr, T::from_f64(beta));
                same(
                    "beta_parts_in_place (a)",
                    b.to_row_major(&ab),
                    r.to_row_major(&ar),
                )?;
                same(
                    "beta_parts_in_place (b)",
                    b.to_row_major(&bb),
                    r.to_row_major(&br),
                )?;
            }
            // kl_ratio with zeros in V (→ exactly 0) and in the denominator.
            let (mut rb, mut rr) = (db.clone(), dr.clone());
            b.kl_ratio_in_place(&mut rb, &vb);
            r.kl_ratio_in_place(&mut rr, &vr);
            same(
                "kl_ratio_in_place",
                b.to_row_major(&rb),
                r.to_row_major(&rr),
            )?;
            let (mut cb, mut cr) = (xm.clone(), xr.clone());
            b.clamp_min(&mut cb, T::from_f64(2.0));
            r.clamp_min(&mut cr, T::from_f64(2.0));
            same("clamp_min", b.to_row_major(&cb), r.to_row_major(&cr))?;
            let mut cp = b.zeros(rows, cols);
            b.copy_from(&mut cp, &xm);
            same("copy_from", b.to_row_major(&cp), xt.clone())?;
            // Row and column sums in T: an l-term sum of non-negative terms in any order errs
            // by at most γ_l·Σx ≤ 1.01·l·u·Σx.
            let u = T::unit_roundoff();
            let mut rs = vec![T::zero(); rows];
            b.row_sums(&xm, &mut rs);
            for (i, s) in rs.iter().enumerate() {
                let want: f64 = (0..cols).map(|j| x_t(&x, i * cols + j)).sum();
                prop_assert!(
                    (s.as_f64() - want).abs() <= 1.01 * cols as f64 * u * want,
                    "row_sums[{i}]"
                );
            }
            let mut cs = vec![T::zero(); cols];
            b.col_sums(&xm, &mut cs);
            for (j, s) in cs.iter().enumerate() {
                let want: f64 = (0..rows).map(|i| x_t(&x, i * cols + j)).sum();
                prop_assert!(
                    (s.as_f64() - want).abs() <= 1.01 * rows as f64 * u * want,
                    "col_sums[{j}]"
                );
            }
            // f64 reductions: compensated sums are within about 2·u64·Σ|terms| of the exact
            // value whatever the order; each term (a difference, a square, a log) adds a few
            // more u64 of its own size: 8·u64·Σ|terms| covers both.
            let close = |name: &str, got: f64, want: f64, abs: f64| -> Result<(), TestCaseError> {
                prop_assert!(
                    (got - want).abs() <= 8.0 * U64 * abs,
                    "{name}: {got} vs {want}"
                );
                Ok(())
            };
            let (xr64, vr64) = (export(b, &xm), export(b, &vb));
            close("sum", b.sum(&xm), r.sum(&xr), xr64.iter().sum())?;
            let fro_abs: f64 = xr64.iter().zip(&vr64).map(|(a, b)| a * a + b * b).sum();
            close(
                "frobenius_loss",
                b.frobenius_loss(&vb, &xm),
                r.frobenius_loss(&vr, &xr),
                fro_abs,
            )?;
            let kl_abs: f64 = vr64
                .iter()
                .zip(&xr64)
                .map(|(&v, &y)| {
                    y + if v > 0.0 {
                        v * (v / y).ln().abs() + v
                    } else {
                        0.0
                    }
                })
                .sum();
            close("kl_loss", b.kl_loss(&vb, &xm), r.kl_loss(&vr, &xr), kl_abs)?;
            // first_invalid finds the first bad entry in row-major order.
            prop_assert_eq!(b.first_invalid(&xm), None);
            let at = rng.random_range(0..len);
            let bad = [-1.0, f64::NAN, f64::INFINITY][rng.random_range(0..3)];
            let mut xbad = x.clone();
            xbad[at] = bad;
            if at + 1 < len {
                xbad[len - 1] = -5.0; // a later bad entry must not be reported first
            }
            let found = b.first_invalid(&mat::<T, B>(b, rows, cols, &xbad));
            let Some((i, j, val)) = found else {
                return Err(TestCaseError::fail("first_invalid missed an entry"));
            };
            prop_assert_eq!((i, j), (at / cols, at % cols));
            prop_assert!(val.as_f64().to_bits() == bad.to_bits() || (bad.is_nan() && val.is_nan()));
            Ok(())
        })
        .unwrap();
}

fn x_t(x: &[f64], idx: usize) -> f64 {
    x[idx]
}

/// Bitwise equality that also treats two NaNs as equal.
trait BitsEq {
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

/// Penalty weights for the auxiliary-function checks: none in a third of the cases, else
/// (α_W, α_H, l1_ratio, scale exponent) as in [`check_regularized_objective_never_increases`].
pub(super) fn penalty_weights() -> impl Strategy<Value = Option<(f64, f64, f64, i32)>> {
    prop_oneof![
        1 => Just(None),
        2 => (0.0f64..1.0, 0.0f64..1.0, prop::sample::select(vec![0.0, 0.5, 1.0]), -4i32..=1)
            .prop_map(Some),
    ]
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

/// β drawn from {0, 0.5, 1, 1.5, 2, 3} and from [−0.5, 3.5].
fn betas() -> impl Strategy<Value = f64> {
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

/// 15 iterations of the general β path ([`Loss::Beta`]) with the penalty `pen`, asserting after
/// every half-step that the objective is finite and has not risen beyond the tolerance of
/// [`check_beta_loss_never_increases`] (plus 8·(k+2)·u·P for the penalty terms P), and at the
/// end that the factors are ≥ ε. For β ≤ 0 the zeros of V are replaced first.
fn beta_objective_case<T: Scalar, B: DenseBackend<T>>(
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

/// Replaces the zeros of `v` by its smallest positive entry (or 1 if it has none), for the
/// β ≤ 0 divergences, which are infinite at zero data.
fn fill_zeros(v: &mut [f64]) {
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
fn beta_scales(v: &[f64], wh: &[f64], beta: f64) -> (f64, f64) {
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

/// A positive, exactly low-rank V (rank below min(m, n)), for the properties that need a
/// well-determined problem: `(m, n, k, V row-major)`.
fn low_rank_case(m: usize, n: usize, seed: u64) -> (usize, Vec<f64>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let k = rng.random_range(1..m.min(n));
    let scale = 10f64.powi(rng.random_range(-3..=3));
    let wt: Vec<f64> = (0..m * k).map(|_| rng.random_range(0.1..1.0)).collect();
    let ht: Vec<f64> = (0..k * n)
        .map(|_| rng.random_range(0.1..1.0) * scale)
        .collect();
    (k, product(&wt, &ht, m, k, n))
}

/// `transform` with W fixed, after fits with and without L1/L2 penalties (the fit's H
/// weights carry over to the new H): one half-step from the fitted H is exactly the solver's H
/// half-step; more half-steps from the fitted H never increase the objective (tolerance as in
/// [`check_loss_never_increases`]); on the training data, started from the fitted H, 50
/// half-steps stay within 100 times the first half-step's movement of it (plus rounding); for
/// an exact factorization in small integers, where every operation is exact, the fit and the
/// transform return the factors bit for bit; and `inverse_transform` is W·H.
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

/// With L1 and L2 penalties (pure L1, pure L2 and half of each), the penalised objective of
/// the Frobenius or KL loss never increases, after every half-step. Tolerance as in [`check_loss_never_increases`], plus the rounding of
/// the penalty terms: each is a sum of non-negative entries times a weight, off by a few
/// (len)·u of its value, covered by 8·(k+2)·u·P with P the penalty total and len ≤ the
/// number of entries absorbed in the (k+2) factor's slack (the sums are compensated in f64).
pub fn check_regularized_objective_never_increases<T: Scalar, B: DenseBackend<T>>(
    b: &B,
    loss: Loss,
) {
    let weights = (
        0.0f64..1.0,
        0.0f64..1.0,
        prop::sample::select(vec![0.0, 0.5, 1.0]),
        -4i32..=1,
    );
    runner()
        .run(&(data_case::<T>(12), weights), |(c, (aw, ah, ratio, exp))| {
            // Weights relative to the data's scale, so the penalties matter at every scale.
            let scale = c.mean().max(f64::MIN_POSITIVE) * 10f64.powi(exp);
            let pen = crate::Penalty::sklearn(c.m, c.n, aw * scale, ah * scale, ratio);
            let (v, w0, h0, eps) = start(b, &c);
            let mut s = MuSolver::new(b, &v, w0, h0, loss, eps).unwrap();
            s.set_penalty(pen).unwrap();
            let scales = |s: &MuSolver<'_, T, B, B::Mat>| -> f64 {
                let (w, h) = (export(b, s.w()), export(b, s.h()));
                let wh = product(&w, &h, c.m, c.k, c.n);
                let base: f64 = match loss {
                    Loss::Frobenius => c.v.iter().chain(&wh).map(|x| 0.5 * x * x).sum(),
                    _ => c.v.iter().chain(&wh).sum::<f64>()
                        + c.v.iter().zip(&wh).map(|(&v, &y)| if v > 0.0 { (v * (v / y).ln()).abs() } else { 0.0 }).sum::<f64>(),
                };
                base + penalty_scale(&pen, &w, &h)
            };
            let mut prev = s.objective();
            let mut prev_scale = scales(&s);
            for it in 0..15 {
                for half in ["H", "W"] {
                    if half == "H" { s.update_h() } else { s.update_w() }
                    let now = s.objective();
                    let scale = scales(&s);
                    let tol = 8.0 * (c.k as f64 + 2.0) * T::unit_roundoff() * prev_scale.max(scale);
                    prop_assert!(
                        now <= prev + tol,
                        "{loss} with {pen:?}: the objective rose in the {half} half-step of iteration {it}: {prev} → {now} (tolerance {tol})"
                    );
                    prev = now;
                    prev_scale = scale;
                }
            }
            Ok(())
        })
        .unwrap();
}

/// With L1 and L2 penalties (pure L1, pure L2 and half of each), the penalised objective of
/// the general β path never increases, after every half-step, for β drawn as in
/// [`check_beta_loss_never_increases`] (which gives the tolerance of the loss terms), plus
/// 8·(k+2)·u·P for the penalty terms, as in [`check_regularized_objective_never_increases`].
pub fn check_regularized_beta_objective_never_increases<T: Scalar, B: DenseBackend<T>>(b: &B) {
    let weights = (
        0.0f64..1.0,
        0.0f64..1.0,
        prop::sample::select(vec![0.0, 0.5, 1.0]),
        -4i32..=1,
    );
    runner()
        .run(
            &(data_case::<T>(12), betas(), weights),
            |(c, beta, (aw, ah, ratio, exp))| {
                let scale = c.mean().max(f64::MIN_POSITIVE) * 10f64.powi(exp);
                let pen = crate::Penalty::sklearn(c.m, c.n, aw * scale, ah * scale, ratio);
                beta_objective_case(b, c, beta, pen)
            },
        )
        .unwrap();
}

/// The share of entries of W and H at the lower bound ε (exactly sparse, for a
/// multiplicative method) after a fit.
fn share_at_eps<T: Scalar, B: DenseBackend<T>>(b: &B, model: &crate::NmfModel<T, B>) -> f64 {
    let all: Vec<T> = b
        .to_row_major(model.w())
        .into_iter()
        .chain(b.to_row_major(model.h()))
        .collect();
    all.iter().filter(|&&x| x == model.eps()).count() as f64 / all.len() as f64
}

/// An L1 penalty makes the factors sparser: from the same start, fits with `l1_ratio = 1` and
/// α_W = α_H = 0.5·mean(V)/k have more entries at ε in total than the fits without, and at
/// least as many in at least 3/4 of the cases. (Not in every case: the penalty changes the
/// path of a non-convex iteration, which can end in another local minimum.)
pub fn check_l1_sparsity<T: Scalar, B: DenseBackend<T>>(b: &B, loss: Loss) {
    let totals = std::cell::Cell::new((0.0, 0.0, 0usize, 0usize));
    runner_with_cases(32)
        .run(&(4usize..=12, 4usize..=12, any::<u64>()), |(m, n, seed)| {
            let (k, vd) = low_rank_case(m, n, seed);
            let k = (k + 1).min(m.min(n));
            let v = mat::<T, B>(b, m, n, &vd);
            let mean = vd.iter().sum::<f64>() / (m * n) as f64;
            let p = Nmf::params(k).loss(loss).max_iter(300).tol(0.0).seed(seed);
            let plain = p.clone().fit(b, &v).unwrap();
            let l1 = p
                .alpha_w(0.5 * mean / k as f64)
                .l1_ratio(1.0)
                .fit(b, &v)
                .unwrap();
            let (sp, sl) = (share_at_eps(b, &plain), share_at_eps(b, &l1));
            let (a, c, ok, cases) = totals.get();
            totals.set((a + sp, c + sl, ok + usize::from(sl >= sp), cases + 1));
            Ok(())
        })
        .unwrap();
    let (plain_total, l1_total, ok, cases) = totals.get();
    assert!(
        l1_total > plain_total,
        "L1 did not make the factors sparser ({plain_total} vs {l1_total})"
    );
    assert!(
        4 * ok >= 3 * cases,
        "L1 made the factors at least as sparse in only {ok} of {cases} cases"
    );
}

/// The truncated SVD that the NNDSVD initialisations use ([`crate::svd::truncated_svd`]: the
/// backend's own when it has one, else the randomized SVD, exact here because
/// min(m, n) ≤ 11 ≤ k + 10) is an SVD, on the suite's non-negative inputs (zero rows and
/// columns, all-zero, rank-deficient, magnitudes across many orders) and every k from 0 to
/// min(m, n): σ non-negative and non-increasing; U's columns and V's rows orthonormal;
/// UᵀAV = diag(σ); and, with k = min(m, n), Σσ² = ‖A‖²_F (together these say A = UΣVᵀ). The
/// k leading values equal those of the full SVD.
///
/// Tolerance: the SVDs used (faer's, nalgebra's, one-sided Jacobi) are backward stable, with
/// errors a small multiple of max(m, n)·u·‖A‖ in their working precision (u of T or of f64),
/// and the results are rounded to T once; 16·(m + n)·u_T, relative to 1 for orthonormality
/// and to ‖A‖_F (‖A‖²_F for Σσ²) otherwise, covers both.
pub fn check_truncated_svd<T: Scalar, B: DenseBackend<T>>(b: &B) {
    runner_with_cases(128)
        .run(&(data_case::<T>(11), any::<u64>()), |(c, seed)| {
            let (m, n) = (c.m, c.n);
            let a = mat::<T, B>(b, m, n, &c.v);
            let af: Vec<f64> = b.to_row_major(&a).into_iter().map(Scalar::as_f64).collect();
            let norm2: f64 = af.iter().map(|x| x * x).sum();
            let norm = norm2.sqrt();
            let tol = 16.0 * (m + n) as f64 * T::unit_roundoff();
            let p = m.min(n);
            let full = crate::svd::truncated_svd(b, &a, p, seed);
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            for k in [p, rng.random_range(0..=p)] {
                let svd = if k == p {
                    full.clone()
                } else {
                    crate::svd::truncated_svd(b, &a, k, seed)
                };
                prop_assert_eq!((svd.rows, svd.cols, svd.rank), (m, n, k));
                prop_assert_eq!((svd.u.len(), svd.s.len(), svd.vt.len()), (m * k, k, k * n));
                let f = |x: &[T]| -> Vec<f64> { x.iter().map(|x| x.as_f64()).collect() };
                let (u, sv, vt) = (f(&svd.u), f(&svd.s), f(&svd.vt));
                prop_assert!(sv.iter().all(|&x| x >= 0.0), "σ = {sv:?}");
                prop_assert!(sv.windows(2).all(|w| w[0] >= w[1]), "σ not sorted: {sv:?}");
                for (j, (&x, &y)) in sv.iter().zip(&f(&full.s)).enumerate() {
                    prop_assert!(
                        (x - y).abs() <= tol * norm,
                        "σ_{j} = {x} with k = {k}, {y} in the full SVD"
                    );
                }
                for i in 0..k {
                    for j in 0..k {
                        let uu: f64 = (0..m).map(|r| u[r * k + i] * u[r * k + j]).sum();
                        let vv: f64 = (0..n).map(|c| vt[i * n + c] * vt[j * n + c]).sum();
                        let want = if i == j { 1.0 } else { 0.0 };
                        prop_assert!((uu - want).abs() <= tol, "(UᵀU)_{i}{j} = {uu}, k = {k}");
                        prop_assert!((vv - want).abs() <= tol, "(VᵀV)_{i}{j} = {vv}, k = {k}");
                        // (UᵀAV)_ij
                        let uav: f64 = (0..m)
                            .map(|r| {
                                u[r * k + i]
                                    * (0..n).map(|c| af[r * n + c] * vt[j * n + c]).sum::<f64>()
                            })
                            .sum();
                        let want = if i == j { sv[i] } else { 0.0 };
                        prop_assert!(
                            (uav - want).abs() <= tol * norm,
                            "(UᵀAV)_{i}{j} = {uav}, want {want}, k = {k}"
                        );
                    }
                }
                if k == p {
                    let ss: f64 = sv.iter().map(|x| x * x).sum();
                    prop_assert!(
                        (ss - norm2).abs() <= tol * norm2,
                        "Σσ² = {ss}, ‖A‖² = {norm2}"
                    );
                }
            }
            Ok(())
        })
        .unwrap();
}

/// Every initialisation (auto, random, nndsvd, nndsvda, nndsvdar) gives a fit whose factors
/// are finite and ≥ ε and whose loss history never increases (tolerance as in
/// [`check_fixed_factor`]), on the suite's wide inputs (zero rows, all-zero V, tiny and huge
/// magnitudes).
pub fn check_initialisations<T: Scalar, B: DenseBackend<T>>(b: &B) {
    use crate::Init;
    runner_with_cases(64)
        .run(
            &(
                data_case::<T>(10),
                prop::sample::select(vec![
                    Init::Auto,
                    Init::Random,
                    Init::Nndsvd,
                    Init::Nndsvda,
                    Init::Nndsvdar,
                ]),
            ),
            |(c, init)| {
                let k = c.k.min(c.m.min(c.n));
                let v = mat::<T, B>(b, c.m, c.n, &c.v);
                let model = Nmf::params(k)
                    .init(init)
                    .max_iter(20)
                    .seed(c.seed)
                    .fit(b, &v)
                    .unwrap();
                let eps = model.eps();
                for x in b
                    .to_row_major(model.w())
                    .into_iter()
                    .chain(b.to_row_major(model.h()))
                {
                    prop_assert!(x.is_finite() && x >= eps, "{init:?}: entry {x}");
                }
                let sv: f64 = c.v.iter().map(|x| 0.5 * x * x).sum();
                for pair in model.loss_history().windows(2) {
                    let tol = 8.0
                        * (k as f64 + 2.0)
                        * T::unit_roundoff()
                        * (3.0 * sv + 2.0 * pair[0].loss);
                    prop_assert!(
                        pair[1].loss <= pair[0].loss + tol,
                        "{init:?}: {:?}",
                        model.loss_history()
                    );
                }
                Ok(())
            },
        )
        .unwrap();
}

/// The guarantee at extreme scales, through the fitting API: V of scale 10^e for e across
/// ±30, in `f64` and in `f32` (both ends drawn often), dense, sparse or with a single
/// non-zero, fitted with the default ε or the smallest the library accepts
/// ([`NmfValidParams::eps_range`](crate::NmfValidParams::eps_range)), from random and
/// NNDSVDA starts, without or with an L1 or L2 penalty whose share of the objective does not
/// depend on the scale: every fit succeeds, its factors are finite and ≥ ε, and the objective
/// after j + 1 iterations is at most the objective after j (for j < 6) plus the rounding bound
/// of [`check_loss_never_increases`] (or [`check_beta_loss_never_increases`]), plus
/// 8·(k+2)·u·P for the penalty terms as in [`check_regularized_objective_never_increases`].
///
/// The bound is computed from V and the returned factors, in V's units: 8·(k+2)·u·S + 16·u64·M
/// with S and M the sizes of the loss's terms (not the loss). The library fits V/c² for
/// extreme V; the loss and S then both carry the factor c^(2β) exactly, so the bound is the
/// same relative to the scaled problem's terms. For β ≤ 0 the zeros of V (infinite loss there)
/// are replaced by 10⁻³ times its smallest non-zero (by the scale if V is all zero).
pub fn check_extreme_scales<T: Scalar, B: DenseBackend<T>>(b: &B, loss: Loss) {
    runner_with_cases(128)
        .run(
            &(extreme_case::<T>(8), any::<bool>(), extreme_penalty()),
            |(c, random, pen)| extreme_scale_case(b, c, loss, random, pen),
        )
        .unwrap();
}

/// No penalty in half the cases; else pure L1 or pure L2 (`l1_ratio` 1 or 0) with the weight
/// a·mean(V)^(β−½) or a·mean(V)^(β−1), a ∈ [0, 1): the weights that keep the penalty's share
/// of the objective the same at every scale of V (with W, H ∝ √mean(V), the loss scales as
/// mean^β, ‖W‖₁ as mean^½ and ‖W‖² as mean).
fn extreme_penalty() -> impl Strategy<Value = Option<(f64, bool)>> {
    prop_oneof![
        1 => Just(None),
        1 => (0.0f64..1.0, any::<bool>()).prop_map(Some),
    ]
}

/// [`check_extreme_scales`] for the β-divergences: Itakura–Saito and β drawn as in
/// [`check_beta_loss_never_increases`] (through [`Loss::beta`], so the dedicated paths at
/// β = 0, 1, 2).
pub fn check_extreme_scales_beta<T: Scalar, B: DenseBackend<T>>(b: &B) {
    let betas = prop_oneof![1 => Just(0.0), 3 => betas()];
    runner_with_cases(128)
        .run(
            &(
                extreme_case::<T>(8),
                any::<bool>(),
                betas,
                extreme_penalty(),
            ),
            |(c, random, beta, pen)| extreme_scale_case(b, c, Loss::beta(beta), random, pen),
        )
        .unwrap();
}

fn extreme_scale_case<T: Scalar, B: DenseBackend<T>>(
    b: &B,
    mut c: ExtremeCase,
    loss: Loss,
    random: bool,
    penalty: Option<(f64, bool)>,
) -> Result<(), TestCaseError> {
    let beta = loss.beta_value();
    if beta <= 0.0 {
        let fill =
            c.v.iter()
                .copied()
                .filter(|&x| x > 0.0)
                .fold(f64::INFINITY, f64::min)
                * 1e-3;
        // An all-zero V (a sparse draw) becomes constant at the scale.
        let fill = if fill.is_finite() {
            fill
        } else {
            10f64.powi(c.scale_exp)
        };
        let fill = T::from_f64(fill).as_f64();
        c.v.iter_mut()
            .filter(|x| **x == 0.0)
            .for_each(|x| *x = fill);
    }
    let v = mat::<T, B>(b, c.m, c.n, &c.v);
    let init = if random {
        crate::Init::Random
    } else {
        crate::Init::Auto
    };
    let mut p = Nmf::params(c.k).loss(loss).init(init).tol(0.0).seed(c.seed);
    if c.smallest_eps {
        let (lo, _) = p.clone().check().unwrap().eps_range::<T>(c.mean());
        p = p.eps(lo);
    }
    if let Some((a, l1)) = penalty {
        let power = if l1 { beta - 0.5 } else { beta - 1.0 };
        let alpha = a * c.mean().max(f64::MIN_POSITIVE).powf(power);
        p = p.alpha_w(alpha).l1_ratio(if l1 { 1.0 } else { 0.0 });
    }
    let u = T::unit_roundoff();
    let mut prev: Option<(f64, f64, f64)> = None;
    for iters in 1..=6 {
        let model = match p.clone().max_iter(iters).fit(b, &v) {
            Ok(model) => model,
            Err(e) => {
                return Err(TestCaseError::fail(format!(
                    "{loss} at 1e{} ({:?}, k = {}, smallest ε: {}): {e}",
                    c.scale_exp, c.pattern, c.k, c.smallest_eps
                )));
            }
        };
        let eps = model.eps();
        all_at_least(b, model.w(), eps, "W")?;
        all_at_least(b, model.h(), eps, "H")?;
        let (w, h) = (export(b, model.w()), export(b, model.h()));
        let wh = product(&w, &h, c.m, c.k, c.n);
        let (s, m) = match loss {
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
        let (s, m) = (s + penalty_scale(&model.penalty(), &w, &h), m);
        let now = model.final_loss();
        prop_assert!(now.is_finite(), "{loss}: the loss is {now}");
        if let Some((before, s0, m0)) = prev {
            let tol = 8.0 * (c.k as f64 + 2.0) * u * s.max(s0) + 16.0 * U64 * m.max(m0);
            prop_assert!(
                now <= before + tol,
                "{loss} at 1e{} ({:?}, k = {}, smallest ε: {}): the loss rose from {before:e} \
                 after {} iterations to {now:e} after {iters} (tolerance {tol:e})",
                c.scale_exp,
                c.pattern,
                c.k,
                c.smallest_eps,
                iters - 1
            );
        }
        prev = Some((now, s, m));
    }
    Ok(())
}

/// The sizes that [`MuSolver::evaluate`] returns bound the exact ones the suite's tolerances
/// use, so the library's own check ([`crate::NmfError::ObjectiveIncreased`]) never fires where
/// the suite's bound holds: `scale ≥ S + P` and `f64_terms ≥ M`, with S, M and P computed
/// exactly in `f64` from V and WH as in [`check_loss_never_increases`],
/// [`check_beta_loss_never_increases`] and [`check_regularized_objective_never_increases`],
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
