//! The comparison runner on a tiny problem: one row per backend, and the backends agree.
#![allow(missing_docs)]

use nmf_bench::data::Problem;
use nmf_bench::runner::LossKind as Loss;
use nmf_bench::runner::{self, Config};
use nmf_bench::{flops, report};

fn rows(loss: Loss) -> Vec<runner::Row> {
    let p = Problem::new(12, 9, 3, 5);
    let cfg = Config {
        loss,
        iters: 25,
        loss_every: 5,
    };
    let scalars = ["f64".to_string(), "f32".to_string()];
    let mut rows = runner::run_all(&p, &cfg, &scalars, &[1, 2], |_| {});
    runner::fill_diffs(&mut rows, "scikit-learn");
    rows
}

#[test]
fn a_row_per_backend_and_the_backends_agree() {
    for loss in [Loss::Frobenius, Loss::KullbackLeibler] {
        let rows = rows(loss);
        let names: Vec<(&str, &str, usize)> = rows
            .iter()
            .map(|r| (r.backend.as_str(), r.scalar.as_str(), r.threads))
            .collect();
        assert_eq!(
            names,
            [
                ("faer", "f64", 1),
                ("faer", "f64", 2),
                ("nalgebra", "f64", 1),
                ("ndarray", "f64", 1),
                ("faer", "f32", 1),
                ("faer", "f32", 2),
                ("nalgebra", "f32", 1),
                ("ndarray", "f32", 1),
            ]
        );
        for r in &rows {
            let u = if r.scalar == "f64" {
                f64::EPSILON
            } else {
                f64::from(f32::EPSILON)
            } / 2.0;
            let (dw, dh) = (r.diff_w.unwrap(), r.diff_h.unwrap());
            assert!(
                dw <= 8000.0 * u && dh <= 8000.0 * u,
                "{} {}: {dw} {dh}",
                r.backend,
                r.scalar
            );
            assert_eq!(r.iter_times.len(), 25);
            assert!(r.median_iter() > 0.0 && r.product_time > 0.0);
            // Initial loss, every 5 iterations: 6 points, decreasing.
            assert_eq!(r.trace.len(), 6);
            assert!(r.trace.windows(2).all(|w| w[1].1 <= w[0].1 * (1.0 + 1e-5)));
            assert_eq!(r.final_loss, r.trace[5].1);
            let fl = match loss {
                Loss::Frobenius => flops::frobenius_iteration(12, 9, 3),
                Loss::KullbackLeibler => flops::kl_iteration(12, 9, 3, 108),
            };
            assert_eq!(r.flops_per_iter, fl);
        }
        let table = report::markdown(&rows);
        assert_eq!(table.lines().count(), 2 + rows.len());
        for name in ["faer", "nalgebra", "ndarray"] {
            assert!(table.contains(&format!("| {name} | f64 |")), "{table}");
        }
        assert_eq!(report::csv(&rows).lines().count(), 1 + rows.len());
        let svg = report::svg(&rows, "test");
        assert_eq!(svg.matches("<polyline").count(), rows.len());
        let json: serde_json::Value =
            serde_json::from_str(&report::json(&rows, serde_json::json!({}))).unwrap();
        assert_eq!(json["rows"].as_array().unwrap().len(), rows.len());
    }
}

#[test]
fn npy_header_is_aligned() {
    let dir = std::env::temp_dir().join(format!("nmf-bench-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("a.npy");
    nmf_bench::sklearn::write_npy(&path, 2, 3, &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], true).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(&bytes[..8], b"\x93NUMPY\x01\x00");
    let hl = usize::from(u16::from_le_bytes([bytes[8], bytes[9]]));
    assert_eq!((10 + hl) % 64, 0);
    assert_eq!(bytes[9 + hl], b'\n');
    assert_eq!(bytes.len(), 10 + hl + 24);
    assert_eq!(&bytes[10 + hl..14 + hl], &1.0f32.to_le_bytes());
}
