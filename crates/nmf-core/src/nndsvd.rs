//! NNDSVD initialisation (Boutsidis & Gallopoulos 2008) and its variants NNDSVDa and NNDSVDar,
//! as in scikit-learn 1.9 (`sklearn.decomposition._nmf._initialize_nmf`).
//!
//! From the `k` leading singular triplets (σⱼ, uⱼ, vⱼ) of V (see [`crate::svd`]):
//! - component 0 is √σ₀·|u₀| and √σ₀·|v₀| (for a non-negative V the leading singular vectors
//!   can be taken non-negative, Perron–Frobenius);
//! - component j ≥ 1 splits uⱼ and vⱼ into their positive and negative parts, keeps the pair
//!   (x₊, y₊) or (x₋, y₋) with the larger product of norms μ = ‖x‖·‖y‖, and is
//!   √(σⱼ·μ)·x/‖x‖ and √(σⱼ·μ)·y/‖y‖;
//! - entries below [`NNDSVD_EPS`] are set to 0, then [`NndsvdVariant`] decides what replaces
//!   the zeros.
//!
//! **Signs.** A singular pair (uⱼ, vⱼ) is only defined up to a common sign, and every SVD picks
//! its own. NNDSVD does not depend on it: flipping both swaps the positive and negative parts
//! (exactly, entry by entry) and so the two products μ₊ and μ₋, and the same pair is chosen.
//! The one exception is an exact tie μ₊ = μ₋ > 0, where scikit-learn takes the negative parts
//! and so do we; ties do not happen on real data.
//!
//! **Zeros.** A multiplicative update never moves an entry that is 0, so the fit lifts every
//! entry of the initial W and H to at least ε afterwards (as it does for every
//! initialisation); plain NNDSVD zeros therefore start at ε, where they move slowly.
//! NNDSVDa (zeros ← mean(V)) and NNDSVDar (zeros ← small random values) avoid that.

use crate::{Scalar, TruncatedSvd};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

/// Entries of W and H below this are set to 0 before the variant's filling (scikit-learn's
/// `eps` of `_initialize_nmf`, an absolute threshold).
pub const NNDSVD_EPS: f64 = 1e-6;

/// What replaces the zeros of the NNDSVD factors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NndsvdVariant {
    /// Plain NNDSVD: zeros stay (sparse factors; the fit lifts them to ε).
    Nndsvd,
    /// NNDSVDa: zeros become mean(V).
    Nndsvda,
    /// NNDSVDar: zeros become |mean(V)·z/100| with z ~ N(0, 1) from a ChaCha8 generator.
    Nndsvdar,
}

/// The NNDSVD initial factors `(W, H)`, W m×k and H k×n in row-major order, in `f64`, from
/// the truncated SVD `svd` of V (rank k, m×n); `mean_v` is the mean of V's entries (used by
/// [`NndsvdVariant::Nndsvda`] and [`NndsvdVariant::Nndsvdar`]), `seed` seeds the ChaCha8
/// generator of [`NndsvdVariant::Nndsvdar`] (which fills the zeros of W in row-major order,
/// then those of H). See the [module documentation](self).
///
/// This follows scikit-learn 1.9's `_initialize_nmf` step by step (the unit tests compare
/// with numbers it printed), with one difference: a component with σⱼ·μ = 0 (a zero singular
/// value's vectors, or vectors whose chosen parts are zero) is a zero column of W and row of
/// H, where scikit-learn divides 0 by 0 and returns NaN. Every entry is finite and ≥ 0.
///
/// # Panics
/// If the lengths of `svd.u`, `svd.s`, `svd.vt` do not match its `rows`, `cols` and `rank`.
///
/// ```
/// use nmf_core::nndsvd::{NndsvdVariant, nndsvd_factors};
/// use nmf_core::{MatrixBackend, reference::Reference, svd::randomized_svd};
/// // A rank-one V = a·bᵀ is reproduced exactly by one component.
/// let v = Reference.from_row_major(2, 3, &[1.0_f64, 2.0, 3.0, 2.0, 4.0, 6.0]).unwrap();
/// let svd = randomized_svd(&Reference, &v, 1, 0);
/// let (w, h) = nndsvd_factors(&svd, NndsvdVariant::Nndsvd, 3.0, 0);
/// assert!((w[1] * h[2] - 6.0).abs() < 1e-12);
/// ```
pub fn nndsvd_factors<T: Scalar>(
    svd: &TruncatedSvd<T>,
    variant: NndsvdVariant,
    mean_v: f64,
    seed: u64,
) -> (Vec<f64>, Vec<f64>) {
    let (m, n, k) = (svd.rows, svd.cols, svd.rank);
    assert!(
        svd.u.len() == m * k && svd.s.len() == k && svd.vt.len() == k * n,
        "nndsvd_factors: a rank-{k} SVD of a {m}×{n} matrix has {}×{k}, {k} and {k}×{} entries",
        m,
        n
    );
    let mut w = vec![0.0; m * k];
    let mut h = vec![0.0; k * n];
    for j in 0..k {
        let x: Vec<f64> = (0..m).map(|i| svd.u[i * k + j].as_f64()).collect();
        let y: Vec<f64> = svd.vt[j * n..(j + 1) * n]
            .iter()
            .map(|v| v.as_f64())
            .collect();
        let sigma = svd.s[j].as_f64();
        let (wj, hj) = if j == 0 {
            // The leading singular triplet is non-negative (up to sign).
            let root = sigma.sqrt();
            (
                x.iter().map(|a| root * a.abs()).collect::<Vec<_>>(),
                y.iter().map(|a| root * a.abs()).collect::<Vec<_>>(),
            )
        } else {
            component(&x, &y, sigma)
        };
        for (i, a) in wj.into_iter().enumerate() {
            w[i * k + j] = a;
        }
        h[j * n..(j + 1) * n].copy_from_slice(&hj);
    }
    for a in w.iter_mut().chain(h.iter_mut()) {
        if *a < NNDSVD_EPS {
            *a = 0.0;
        }
    }
    match variant {
        NndsvdVariant::Nndsvd => {}
        NndsvdVariant::Nndsvda => {
            for a in w.iter_mut().chain(h.iter_mut()) {
                if *a == 0.0 {
                    *a = mean_v;
                }
            }
        }
        NndsvdVariant::Nndsvdar => {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            for a in w.iter_mut().chain(h.iter_mut()) {
                if *a == 0.0 {
                    let z: f64 = StandardNormal.sample(&mut rng);
                    *a = (mean_v * z / 100.0).abs();
                }
            }
        }
    }
    (w, h)
}

/// Component j ≥ 1: the positive or negative parts of (x, y) with the larger norm product μ,
/// normalised and scaled by √(σ·μ).
fn component(x: &[f64], y: &[f64], sigma: f64) -> (Vec<f64>, Vec<f64>) {
    let pos = |a: &[f64]| a.iter().map(|&v| v.max(0.0)).collect::<Vec<_>>();
    let neg = |a: &[f64]| a.iter().map(|&v| v.min(0.0).abs()).collect::<Vec<_>>();
    let norm = |a: &[f64]| a.iter().map(|v| v * v).sum::<f64>().sqrt();
    let (xp, yp, xn, yn) = (pos(x), pos(y), neg(x), neg(y));
    let (xp_nrm, yp_nrm, xn_nrm, yn_nrm) = (norm(&xp), norm(&yp), norm(&xn), norm(&yn));
    let (mp, mn) = (xp_nrm * yp_nrm, xn_nrm * yn_nrm);
    let (a, b, a_nrm, b_nrm, mu) = if mp > mn {
        (xp, yp, xp_nrm, yp_nrm, mp)
    } else {
        (xn, yn, xn_nrm, yn_nrm, mn)
    };
    let lbd = (sigma * mu).sqrt();
    if lbd.is_nan() || lbd <= 0.0 {
        // μ = 0 (then some norm is 0: scikit-learn's 0/0) or σ = 0: a zero component.
        return (vec![0.0; x.len()], vec![0.0; y.len()]);
    }
    (
        a.iter().map(|v| lbd * (v / a_nrm)).collect(),
        b.iter().map(|v| lbd * (v / b_nrm)).collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MatrixBackend;
    use crate::reference::Reference;
    use crate::svd::randomized_svd;

    /// The 6×5 matrix of the scikit-learn comparison. Its singular values
    /// 11.150, 8.084, 6.111, 4.143, 3.436 are well separated (the smallest gap, σ₄ − σ₅ ≈ 0.71,
    /// is 6% of σ₁), the positive/negative choices are far from ties (μ₊ vs μ₋: 0.546/0.451,
    /// 0.732/0.264, 0.355/0.639, 0.804/0.194), and no entry of W or H is near the 10⁻⁶
    /// threshold (the smallest positive one is 0.087).
    const X: [f64; 30] = [
        5., 1., 0., 2., 3., //
        0., 4., 1., 0., 2., //
        3., 0., 6., 1., 0., //
        1., 2., 0., 7., 1., //
        0., 1., 3., 0., 8., //
        2., 0., 1., 4., 0.,
    ];
    const MEAN_X: f64 = 58.0 / 30.0;

    // Printed once by scikit-learn 1.9.1 (not run by the tests):
    //   from sklearn.decomposition._nmf import _initialize_nmf
    //   W, H = _initialize_nmf(X, k, init="nndsvd", random_state=0)
    //   print(W.ravel().tolist(), H.ravel().tolist())
    // NNDSVDa is the same with the zeros replaced by X.mean() = 58/30 (checked below).
    const SK_W3: [f64; 18] = [
        1.5131741379271553,
        0.306765609078571,
        0.0,
        0.7942919689092787,
        0.0,
        0.0,
        1.2113888112899114,
        0.08709763624939867,
        2.106417024343457,
        1.4980569474830658,
        1.7158869455488917,
        0.0,
        1.9019951729591862,
        0.0,
        0.0,
        0.9489958492134953,
        1.168486191921619,
        0.19061766734376664,
    ];
    const SK_H3: [f64; 15] = [
        1.3090176270289131,
        0.8599190001934949,
        1.3199159181459044,
        1.6609358673963754,
        2.0485453648932515,
        0.6696080165712928,
        0.0,
        0.0,
        1.9907145028641426,
        0.0,
        0.9674240459645076,
        0.0,
        1.880802618787305,
        0.0,
        0.0,
    ];
    const SK_W5: [f64; 30] = [
        1.5131741379271544,
        0.30676560907857153,
        0.0,
        1.6265550776873101,
        0.5059662678366954,
        0.7942919689092794,
        0.0,
        0.0,
        0.0,
        1.5783435734824451,
        1.211388811289911,
        0.08709763624939575,
        2.1064170243434543,
        0.0,
        0.1248072460431705,
        1.498056947483066,
        1.7158869455488928,
        0.0,
        0.0,
        0.0,
        1.9019951729591853,
        0.0,
        0.0,
        0.0,
        0.0,
        0.9489958492134946,
        1.1684861919216187,
        0.19061766734376792,
        0.0,
        0.0,
    ];
    const SK_H5: [f64; 25] = [
        1.3090176270289153,
        0.8599190001934961,
        1.3199159181459057,
        1.6609358673963768,
        2.0485453648932523,
        0.6696080165712924,
        0.0,
        0.0,
        1.990714502864143,
        0.0,
        0.9674240459645075,
        0.0,
        1.8808026187873024,
        0.0,
        0.0,
        1.580851711976887,
        0.0,
        0.0,
        0.0,
        0.38286980226980166,
        0.5332338649840151,
        1.5742962853418092,
        0.0,
        0.0,
        0.0,
    ];

    fn svd_of_x(k: usize) -> TruncatedSvd<f64> {
        let v = Reference.from_row_major(6, 5, &X).unwrap();
        randomized_svd(&Reference, &v, k, 42)
    }

    /// Our SVD and LAPACK's differ only by rounding. A singular vector moves by about
    /// u·σ₁/gap ≤ u·11.2/0.71 ≈ 16u per unit of rounding in V (with (m + n) = 11 roundings
    /// per product), and W, H scale it by √σ₁ ≈ 3.3: 11·16·3.3·u ≈ 6·10⁻¹⁴, and a safety
    /// factor of 16 gives 10⁻¹² (scikit-learn's own k = 3 and k = 5 runs differ by 10⁻¹⁵).
    const TOL: f64 = 1e-12;

    fn assert_close(ours: &[f64], expected: &[f64], what: &str) {
        assert_eq!(ours.len(), expected.len());
        for (i, (a, b)) in ours.iter().zip(expected).enumerate() {
            assert!(
                (a - b).abs() <= TOL,
                "{what}[{i}]: {a} vs scikit-learn {b} (difference {:e})",
                (a - b).abs()
            );
            // Zeros are where scikit-learn has zeros, exactly.
            assert_eq!(*a == 0.0, *b == 0.0, "{what}[{i}]: zero pattern");
        }
    }

    #[test]
    fn matches_scikit_learn() {
        for (k, w_sk, h_sk) in [(3, &SK_W3[..], &SK_H3[..]), (5, &SK_W5[..], &SK_H5[..])] {
            let svd = svd_of_x(k);
            let (w, h) = nndsvd_factors(&svd, NndsvdVariant::Nndsvd, MEAN_X, 0);
            assert_close(&w, w_sk, &format!("nndsvd k={k} W"));
            assert_close(&h, h_sk, &format!("nndsvd k={k} H"));
            let (wa, ha) = nndsvd_factors(&svd, NndsvdVariant::Nndsvda, MEAN_X, 0);
            let fill = |x: &[f64]| -> Vec<f64> {
                x.iter()
                    .map(|&a| if a == 0.0 { MEAN_X } else { a })
                    .collect()
            };
            let close = |a: &[f64], b: &[f64]| a.iter().zip(b).all(|(x, y)| (x - y).abs() <= TOL);
            assert!(
                close(&wa, &fill(w_sk)) && close(&ha, &fill(h_sk)),
                "nndsvda k={k}"
            );
        }
        // scikit-learn's NNDSVDa W for k = 3, row 0, printed: the zero became X.mean().
        let (wa, _) = nndsvd_factors(&svd_of_x(3), NndsvdVariant::Nndsvda, MEAN_X, 0);
        assert!((wa[2] - 1.9333333333333333).abs() <= TOL);
    }

    #[test]
    fn invariant_under_sign_flips_of_singular_pairs() {
        let svd = svd_of_x(5);
        for variant in [
            NndsvdVariant::Nndsvd,
            NndsvdVariant::Nndsvda,
            NndsvdVariant::Nndsvdar,
        ] {
            let expected = nndsvd_factors(&svd, variant, MEAN_X, 7);
            // Every subset of the five pairs.
            for mask in 1..32_u32 {
                let mut flipped = svd.clone();
                for j in (0..5).filter(|j| mask & (1 << j) != 0) {
                    (0..6).for_each(|i| flipped.u[i * 5 + j] = -flipped.u[i * 5 + j]);
                    flipped.vt[j * 5..(j + 1) * 5]
                        .iter_mut()
                        .for_each(|x| *x = -*x);
                }
                assert_eq!(
                    nndsvd_factors(&flipped, variant, MEAN_X, 7),
                    expected,
                    "{variant:?}, flips {mask:05b}"
                );
            }
        }
    }

    #[test]
    fn first_component_and_rank_one() {
        let svd = svd_of_x(2);
        let (w, h) = nndsvd_factors(&svd, NndsvdVariant::Nndsvd, MEAN_X, 0);
        let root = svd.s[0].sqrt();
        for i in 0..6 {
            assert_eq!(w[i * 2], root * svd.u[i * 2].abs());
        }
        for (hc, vc) in h.iter().zip(&svd.vt[..5]) {
            assert_eq!(*hc, root * vc.abs());
        }
        // V = a·bᵀ ≥ 0 is reproduced by its one component.
        let (a, b) = ([1.0, 0.5, 2.0, 0.0], [3.0, 1.0, 4.0]);
        let v: Vec<f64> = a
            .iter()
            .flat_map(|x| b.iter().map(move |y| x * y))
            .collect();
        let svd = randomized_svd(
            &Reference,
            &Reference.from_row_major(4, 3, &v).unwrap(),
            1,
            0,
        );
        let (w, h) = nndsvd_factors(&svd, NndsvdVariant::Nndsvd, 0.0, 0);
        for i in 0..4 {
            for c in 0..3 {
                assert!((w[i] * h[c] - v[i * 3 + c]).abs() < 1e-14);
            }
        }
        assert_eq!(w[3], 0.0);
    }

    #[test]
    fn nndsvdar_fills_zeros_with_small_seeded_values() {
        let svd = svd_of_x(3);
        let (w0, h0) = nndsvd_factors(&svd, NndsvdVariant::Nndsvd, MEAN_X, 0);
        let (w, h) = nndsvd_factors(&svd, NndsvdVariant::Nndsvdar, MEAN_X, 5);
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        for (a, b) in w0.iter().chain(&h0).zip(w.iter().chain(&h)) {
            if *a == 0.0 {
                let z: f64 = StandardNormal.sample(&mut rng);
                assert_eq!(*b, (MEAN_X * z / 100.0).abs());
                assert!(*b < MEAN_X / 20.0);
            } else {
                assert_eq!(a, b);
            }
        }
        assert_eq!(
            (w.clone(), h.clone()),
            nndsvd_factors(&svd, NndsvdVariant::Nndsvdar, MEAN_X, 5)
        );
        assert_ne!(
            (w, h),
            nndsvd_factors(&svd, NndsvdVariant::Nndsvdar, MEAN_X, 6)
        );
    }

    #[test]
    fn zero_matrix_gives_finite_zero_factors() {
        let v = Reference.zeros(4, 3);
        let svd: TruncatedSvd<f64> = randomized_svd(&Reference, &v, 3, 0);
        for variant in [
            NndsvdVariant::Nndsvd,
            NndsvdVariant::Nndsvda,
            NndsvdVariant::Nndsvdar,
        ] {
            let (w, h) = nndsvd_factors(&svd, variant, 0.0, 1);
            assert!(w.iter().chain(&h).all(|&x| x == 0.0), "{variant:?}");
        }
    }

    #[test]
    fn f32_svd_and_nonnegativity() {
        let x32: Vec<f32> = X.iter().map(|&x| x as f32).collect();
        let v = Reference.from_row_major(6, 5, &x32).unwrap();
        let svd = randomized_svd(&Reference, &v, 4, 1);
        for variant in [
            NndsvdVariant::Nndsvd,
            NndsvdVariant::Nndsvda,
            NndsvdVariant::Nndsvdar,
        ] {
            let (w, h) = nndsvd_factors(&svd, variant, MEAN_X, 1);
            assert!(w.iter().chain(&h).all(|&x| x >= 0.0 && x.is_finite()));
            assert!(w.iter().chain(&h).all(|&x| x == 0.0 || x >= NNDSVD_EPS));
        }
        let (w, _) = nndsvd_factors(&svd, NndsvdVariant::Nndsvd, MEAN_X, 0);
        assert!((w[0] - SK_W5[0]).abs() < 1e-5);
    }
}
