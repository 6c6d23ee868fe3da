//! The shared property suite of nmf-core, on the faer backend, in f32 and f64, sequential and
//! with threads (products of 127–129 run on several threads).

use nmf_faer::Faer;

nmf_core::backend_test_suite!(faer_f64, Faer::default(), f64);
nmf_core::backend_test_suite!(faer_f32, Faer::default(), f32);
nmf_core::backend_test_suite!(faer_seq_f64, Faer::sequential(), f64);

/// The elementwise passes split across threads above `Faer::PARALLEL_MIN_ELEMENTS` give
/// bit-identical results to the single-threaded backend (each entry is computed by the same
/// operations; only which thread computes it changes). The suite's own matrices are below the
/// threshold, so this test covers the parallel path.
#[test]
fn parallel_elementwise_passes_match_sequential_bitwise() {
    use nmf_core::MatrixBackend;
    let (m, n) = (600, 301);
    let f = |seed: u64| {
        move |i: usize, j: usize| {
            let x = ((i * 7919 + j * 104729 + seed as usize) % 1000) as f64;
            if x < 100.0 { 0.0 } else { x / 37.0 }
        }
    };
    for b in [
        Faer::default(),
        Faer::with_threads(2),
        Faer::with_threads(3),
    ] {
        let s = Faer::sequential();
        let mk = |b: &Faer, seed| MatrixBackend::<f64>::from_fn(b, m, n, f(seed));
        let (x, num, den, v) = (mk(&b, 1), mk(&b, 2), mk(&b, 3), mk(&b, 4));
        let row_den: Vec<f64> = (0..m).map(|i| 1.0 + i as f64).collect();
        let col_den: Vec<f64> = (0..n).map(|j| 2.0 + j as f64).collect();
        type Op = fn(
            &Faer,
            &mut faer::Mat<f64>,
            &faer::Mat<f64>,
            &faer::Mat<f64>,
            &faer::Mat<f64>,
            &[f64],
            &[f64],
        );
        let ops: [(&str, Op); 9] = [
            ("mu_update", |b, x, n, d, _, _, _| {
                b.mu_update(x, n, d, 1e-3)
            }),
            ("mu_update_row_den", |b, x, n, _, _, r, _| {
                b.mu_update_row_den(x, n, r, 1e-3)
            }),
            ("mu_update_col_den", |b, x, n, _, _, _, c| {
                b.mu_update_col_den(x, n, c, 1e-3)
            }),
            ("mu_update_pow", |b, x, n, d, _, _, _| {
                b.mu_update_pow(x, n, d, 0.5, 1e-3)
            }),
            ("mu_update_l2", |b, x, n, d, _, _, _| {
                b.mu_update_l2(x, n, d, 0.25, 1e-3)
            }),
            ("kl_ratio_in_place", |b, x, _, _, v, _, _| {
                b.kl_ratio_in_place(x, v)
            }),
            ("clamp_min", |b, x, _, _, _, _, _| {
                MatrixBackend::<f64>::clamp_min(b, x, 5.0)
            }),
            ("add_scalar", |b, x, _, _, _, _, _| {
                MatrixBackend::<f64>::add_scalar(b, x, 0.5)
            }),
            ("axpy", |b, x, n, _, _, _, _| b.axpy(x, 0.3, n)),
        ];
        for (name, op) in ops {
            let (mut xp, mut xs) = (x.clone(), x.clone());
            op(&b, &mut xp, &num, &den, &v, &row_den, &col_den);
            op(&s, &mut xs, &num, &den, &v, &row_den, &col_den);
            let (p, q) = (
                MatrixBackend::<f64>::to_row_major(&b, &xp),
                MatrixBackend::<f64>::to_row_major(&s, &xs),
            );
            assert!(
                p.iter().zip(&q).all(|(a, c)| a.to_bits() == c.to_bits()),
                "{name} differs with {:?}",
                b.par()
            );
            assert_ne!(
                p,
                MatrixBackend::<f64>::to_row_major(&b, &x),
                "{name} changed nothing"
            );
        }
        // beta_parts_in_place writes two matrices (it ran on one thread before the traversal).
        let bits = |b: &Faer, a: &faer::Mat<f64>| -> Vec<u64> {
            MatrixBackend::<f64>::to_row_major(b, a)
                .iter()
                .map(|x| x.to_bits())
                .collect()
        };
        let (mut ap, mut bp) = (x.clone(), x.clone());
        let (mut aq, mut bq) = (x.clone(), x.clone());
        b.beta_parts_in_place(&mut ap, &mut bp, &v, 0.5);
        s.beta_parts_in_place(&mut aq, &mut bq, &v, 0.5);
        assert_eq!(
            bits(&b, &ap),
            bits(&s, &aq),
            "beta_parts (a), {:?}",
            b.par()
        );
        assert_eq!(
            bits(&b, &bp),
            bits(&s, &bq),
            "beta_parts (b), {:?}",
            b.par()
        );
    }
}

/// The loss and sum reductions give the same bits on any number of threads: their blocks of
/// columns are fixed by the shape, and the partial sums are merged in block order. 600×301
/// has three blocks of about 65536 entries.
#[test]
fn parallel_reductions_match_sequential_bitwise() {
    use nmf_core::MatrixBackend;
    let (m, n) = (600, 301);
    let s = Faer::sequential();
    let v = MatrixBackend::<f64>::from_fn(&s, m, n, |i, j| {
        let x = ((i * 7919 + j * 104729) % 1000) as f64;
        if x < 100.0 { 0.0 } else { x / 37.0 }
    });
    let wh = MatrixBackend::<f64>::from_fn(&s, m, n, |i, j| 1.0 + ((i * 31 + j * 17) % 97) as f64);
    let all = |b: &Faer| {
        [
            MatrixBackend::<f64>::sum(b, &v),
            MatrixBackend::<f64>::frobenius_loss(b, &v, &wh),
            MatrixBackend::<f64>::kl_loss(b, &v, &wh),
            MatrixBackend::<f64>::beta_loss(b, &v, &wh, 0.5),
        ]
        .map(f64::to_bits)
    };
    let want = all(&s);
    for b in [
        Faer::with_threads(2),
        Faer::with_threads(3),
        Faer::default(),
    ] {
        assert_eq!(all(&b), want, "{:?}", b.par());
    }
}

/// HALS sweeps the columns of H on several threads when H is large: each column's sweep is
/// the same operations either way, so the sweep has the same bits on any number of threads
/// (here a 16×6000 H, above the parallel threshold).
#[test]
fn parallel_hals_sweeps_match_sequential_bitwise() {
    use nmf_core::kernels::coordinate_sweep_block;
    use nmf_core::{Lanes, MatrixBackend};
    let (k, n) = (16, 6000);
    let s = Faer::sequential();
    let x0 = MatrixBackend::<f64>::from_fn(&s, k, n, |a, j| {
        ((a * 7919 + j * 104729) % 1000) as f64 / 37.0
    });
    let num = MatrixBackend::<f64>::from_fn(&s, k, n, |a, j| ((a * 31 + j * 17) % 97) as f64);
    let gram: Vec<f64> = (0..k * k)
        .map(|x| {
            if x / k == x % k {
                40.0
            } else {
                ((x * 7) % 5) as f64
            }
        })
        .collect();
    let order: Vec<usize> = (0..k).collect();
    let sweep =
        |x: &mut nmf_core::lane::LaneBlockMut<'_, f64>,
         nl: &nmf_core::lane::LaneBlock<'_, f64>,
         out: &mut [f64]| { coordinate_sweep_block(x, nl, &gram, 0.5, 1e-9, &order, out) };
    let run = |b: &Faer| {
        let mut x = x0.clone();
        let mut out = vec![0.0; n];
        b.for_each_lane(&mut x, &num, Lanes::Columns, &mut out, &sweep);
        let x: Vec<u64> = MatrixBackend::<f64>::to_row_major(b, &x)
            .into_iter()
            .map(f64::to_bits)
            .collect();
        (x, out.into_iter().map(f64::to_bits).collect::<Vec<_>>())
    };
    let want = run(&s);
    for b in [Faer::with_threads(2), Faer::with_threads(3)] {
        assert!(run(&b) == want, "{:?}", b.par());
    }
}
