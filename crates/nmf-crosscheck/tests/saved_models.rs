//! A model fitted on one backend, saved (JSON and .npz) and loaded into another, transforms
//! the same data to the same H, up to the agreement tolerance of `agreement.rs` (the
//! backends' products add in different orders; 8000·u normwise after 25 half-steps on a
//! well-determined problem, where 8000 = 8 × 25 × (m + n + k ≤ 40)).

use nmf_core::testing::{export, mat, product};
use nmf_core::{DenseBackend, Nmf, SavedModel, TransformParams};
use nmf_faer::Faer;
use nmf_nalgebra::Nalgebra;
use nmf_ndarray::Ndarray;
use proptest::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn transform_on<B: DenseBackend<f64>>(
    b: &B,
    saved: &SavedModel,
    m: usize,
    n: usize,
    v: &[f64],
) -> Vec<f64> {
    let model = saved.into_model::<f64, B>(b).unwrap();
    let x = mat::<f64, B>(b, m, n, v);
    let p = TransformParams::default().max_iter(25).tol(0.0);
    export(b, &model.transforming(b, &x).params(p).run().unwrap())
}

#[test]
fn a_model_saved_from_faer_transforms_the_same_on_every_backend() {
    nmf_core::testing::runner_with_cases(32)
        .run(
            &(3usize..=12, 3usize..=12, any::<u64>(), any::<bool>()),
            |(m, n, seed, npz)| {
                let mut rng = ChaCha8Rng::seed_from_u64(seed);
                let k = rng.random_range(1..m.min(n));
                let wt: Vec<f64> = (0..m * k).map(|_| rng.random_range(0.1..1.0)).collect();
                let ht: Vec<f64> = (0..k * n).map(|_| rng.random_range(0.1..1.0)).collect();
                let v = product(&wt, &ht, m, k, n);
                let f = Faer::default();
                let model = Nmf::params(k)
                    .max_iter(200)
                    .seed(seed)
                    .fit(&f, &mat::<f64, _>(&f, m, n, &v))
                    .unwrap();
                let saved = model.to_saved(&f);
                let loaded = if npz {
                    let mut buf = std::io::Cursor::new(Vec::new());
                    saved.write_npz(&mut buf).unwrap();
                    buf.set_position(0);
                    SavedModel::read_npz(buf).unwrap()
                } else {
                    SavedModel::from_json(&saved.to_json()).unwrap()
                };
                prop_assert_eq!(&loaded, &saved);
                let hf = transform_on(&f, &loaded, m, n, &v);
                let tol = 8000.0 * f64::EPSILON / 2.0;
                for (name, h) in [
                    ("nalgebra", transform_on(&Nalgebra, &loaded, m, n, &v)),
                    ("ndarray", transform_on(&Ndarray, &loaded, m, n, &v)),
                ] {
                    let d: f64 = hf
                        .iter()
                        .zip(&h)
                        .map(|(a, b)| (a - b) * (a - b))
                        .sum::<f64>()
                        .sqrt();
                    let nrm: f64 = hf.iter().map(|a| a * a).sum::<f64>().sqrt();
                    prop_assert!(
                        d <= tol * nrm,
                        "faer vs {name}: transform differs by {:e}",
                        d / nrm
                    );
                }
                Ok(())
            },
        )
        .unwrap();
}
