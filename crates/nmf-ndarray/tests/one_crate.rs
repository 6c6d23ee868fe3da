//! The README's whole flow through this one crate: `use nmf_ndarray::…` is the only import
//! (nmf-core is reached only through this crate's re-exports). Fit, observe, restart, fix a
//! factor, regularise, transform, save (JSON and .npz, feature `io`, which the
//! self-dev-dependency in Cargo.toml turns on for the tests), and load into another
//! backend: this backend in the other scalar type (f32), and nmf-core's reference backend
//! re-exported as `nmf_ndarray::reference::Reference`.
//!
//! Every comparison is exact: saving writes W and H as f64 and loading rounds once, so a
//! model loaded as f64 has the same bits, one loaded as f32 has each entry rounded to f32
//! (`x as f32`), and the same backend given the same inputs computes the same bits.

use core::ops::ControlFlow;
use std::path::PathBuf;

use nmf_ndarray::reference::Reference;
use nmf_ndarray::{
    FORMAT, Fixed, Init, Loss, LossRecord, MatrixBackend, MatrixRole, Ndarray, Nmf, NmfError,
    NmfModel, NmfParams, NmfValidParams, Penalty, Progress, SavedModel, TransformParams, VERSION,
    ndarray::Array2,
};

/// V (8×6) = W·H with positive W (8×2), H (2×6): exactly of rank 2.
fn entry(i: usize, j: usize) -> f64 {
    let w = [1.0 + i as f64, 8.0 - i as f64];
    let h = [1.0 + (j % 3) as f64, 0.5 + j as f64];
    w[0] * h[0] + w[1] * h[1]
}

/// A file in the system's temporary directory, removed when dropped.
struct TempFile(PathBuf);

impl TempFile {
    fn new(name: &str) -> Self {
        Self(std::env::temp_dir().join(format!(
            "nmf_ndarray-one-crate-{}-{name}",
            std::process::id()
        )))
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn row_major<T: nmf_ndarray::Scalar, B: MatrixBackend<T>>(b: &B, a: &B::Mat) -> Vec<T> {
    b.to_row_major(a)
}

#[test]
fn the_readme_flow_through_one_crate() -> Result<(), Box<dyn std::error::Error>> {
    let b = Ndarray;
    let v = Array2::from_shape_fn((8, 6), |(i, j)| entry(i, j));

    // Fit, with an observer (Progress) and the history (LossRecord).
    let params: NmfParams = Nmf::params(2)
        .loss(Loss::KullbackLeibler)
        .init(Init::Random)
        .seed(7)
        .max_iter(300)
        .tol(0.0);
    let valid: NmfValidParams = params.clone().check()?;
    let mut seen = 0;
    let model: NmfModel<f64, Ndarray> = valid
        .fitting(&b, &v)
        .observer(|p: &Progress| {
            seen += 1;
            assert_eq!(p.iteration, seen);
            ControlFlow::Continue(())
        })
        .run()?;
    assert_eq!((seen, model.n_iter()), (300, 300));
    let history: &[LossRecord] = model.loss_history();
    assert_eq!(history.first().map(|r| r.iteration), Some(0));
    assert_eq!(history.last().map(|r| r.iteration), Some(300));
    // An exactly rank-2 V: 300 iterations take the loss far below its start (the property
    // suites check the monotonicity itself, with its rounding bound).
    assert!(model.final_loss() < 1e-3 * history[0].loss);
    assert_eq!(model.penalty(), Penalty::default());
    // Its loss on data: on the training data, the final loss (the same evaluation).
    assert_eq!(model.score(&b, &v)?, model.final_loss());
    let (w, h) = (model.w(), model.h());
    assert_eq!((b.shape(w), b.shape(h)), ((8, 2), (2, 6)));

    // Restarts: the best of 3 is no worse than the first alone (the same seed).
    let best = params.n_init(3).fit(&b, &v)?;
    assert!(best.final_loss() <= model.final_loss());

    // A fixed factor is kept exactly.
    let fixed = Nmf::params(2)
        .fixed(Fixed::W)
        .max_iter(20)
        .fitting(&b, &v)
        .start(model.w(), model.h())
        .run()?;
    assert_eq!(row_major(&b, fixed.w()), row_major(&b, model.w()));

    // Regularisation: scikit-learn's scaling, n·α_W·ρ for L1 on W (n = 6 columns).
    let sparse = Nmf::params(2).alpha_w(0.5).l1_ratio(1.0).fit(&b, &v)?;
    assert_eq!(sparse.penalty(), Penalty::sklearn(8, 6, 0.5, 0.5, 1.0));
    assert_eq!(sparse.penalty().l1_w, 6.0 * 0.5);

    // Transform new samples (new columns with V's 8 rows), and a clear error for 7 rows.
    let x = Array2::from_shape_fn((8, 3), |(i, j)| entry(i, j + 2));
    let tp = TransformParams::default().max_iter(50).tol(0.0);
    let hx = model.transforming(&b, &x).params(tp).run()?;
    assert_eq!(b.shape(&hx), (2, 3));
    assert!(row_major(&b, &hx).iter().all(|e| e.is_finite() && *e > 0.0));
    let wrong = Array2::from_shape_fn((7, 3), |(i, j)| entry(i, j));
    match model.transforming(&b, &wrong).params(tp).run() {
        Err(NmfError::ShapeMismatch {
            matrix: MatrixRole::V,
            ..
        }) => {}
        other => panic!("expected a shape error for V, got {other:?}"),
    }

    // Save as JSON and .npz, load into this backend in f64 (the same bits, the same
    // transform), in f32 (rounded once), and into the reference backend.
    for name in ["model.json", "model.npz"] {
        let file = TempFile::new(name);
        model.to_saved(&b).save(&file.0)?;
        let saved = SavedModel::load(&file.0)?;
        assert_eq!((saved.format.as_str(), saved.version), (FORMAT, VERSION));

        let same: NmfModel<f64, Ndarray> = saved.into_model(&b)?;
        assert_eq!(row_major(&b, same.w()), row_major(&b, model.w()));
        assert_eq!(row_major(&b, same.h()), row_major(&b, model.h()));
        assert_eq!(
            row_major(&b, &same.transforming(&b, &x).params(tp).run()?),
            row_major(&b, &hx)
        );

        let single = saved.into_model::<f32, _>(&b)?;
        let rounded: Vec<f32> = row_major(&b, model.w()).iter().map(|&e| e as f32).collect();
        assert_eq!(row_major(&b, single.w()), rounded);
        assert_eq!(single.loss(), Loss::KullbackLeibler);

        let reference = saved.into_model::<f64, _>(&Reference)?;
        assert_eq!(
            Reference.to_row_major(reference.w()),
            row_major(&b, model.w())
        );
        assert_eq!(
            Reference.to_row_major(reference.h()),
            row_major(&b, model.h())
        );
    }
    let missing = TempFile::new("missing.json");
    match SavedModel::load(&missing.0) {
        Err(NmfError::Io { path, .. }) => assert!(path.ends_with("missing.json"), "{path}"),
        other => panic!("expected an I/O error, got {other:?}"),
    }
    Ok(())
}
