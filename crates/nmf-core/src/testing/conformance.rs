//! Kernels and conformance: each backend primitive against a naive `f64` reference, and the
//! elementwise rules bit-identical to [`crate::kernels`] on every backend.
//!
//! Every tolerance is derived from the floating-point accuracy of what is computed; the comment
//! beside each says how. `u` is the unit roundoff of the scalar type (6.0e-8 for f32, 1.1e-16
//! for f64) and `u64` that of f64.

use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::{runner, runner_with_cases};
use crate::reference::Reference;
use crate::{Accum, MatrixBackend, NmfError, Scalar, Trans};

use super::common::*;

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
