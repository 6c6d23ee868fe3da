//! Initialisation: the truncated SVD is an SVD, and every initialisation starts a fit.
//!
//! Every tolerance is derived from the floating-point accuracy of what is computed; the comment
//! beside each says how. `u` is the unit roundoff of the scalar type (6.0e-8 for f32, 1.1e-16
//! for f64) and `u64` that of f64.

use proptest::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::{data_case, runner_with_cases};
use crate::{DenseBackend, Nmf, Scalar};

use super::common::*;

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
/// [`check_fixed_factor`](super::check_fixed_factor)), on the suite's wide inputs (zero rows,
/// all-zero V, tiny and huge magnitudes).
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
