//! The iteration loop allocates nothing: a counting global allocator watches a fit of a
//! 2000×2000 random matrix at rank 50, for every backend and both losses.
//!
//! What is counted: every allocation made by any code (ours and the backends' kernels) between
//! the end of the solver's set-up (where every buffer is allocated once) and the end of the
//! last iteration, including the loss evaluations the fitting loop makes. The first iteration
//! is run before counting starts, because faer's kernels size their thread-local scratch
//! space on their first call; every later iteration must allocate exactly nothing.
//!
//! With faer on one thread the count is exactly zero: that covers all of our loop code, which
//! is the same for every backend. Two kernels allocate inside their own products, which no
//! caller can avoid: faer with several threads gives each thread a little scratch space, and
//! matrixmultiply (behind nalgebra and ndarray) allocates a packing buffer in every product.
//! For those the test asserts that every allocation is of that kind: never matrix-sized for
//! faer, at most one per product and at most the size of matrixmultiply's packing blocks.
//! Sparse and masked V (the passes over their entries, run inside a rayon pool) allocate
//! nothing either.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

use nmf_core::{
    CdKlOptions, CdKlSolver, DenseBackend, HalsOptions, HalsSolver, Loss, MuSolver, Scalar,
};
use nmf_faer::Faer;
use nmf_nalgebra::Nalgebra;
use nmf_ndarray::Ndarray;

struct Counting;
static COUNT: AtomicUsize = AtomicUsize::new(0);
static LARGEST: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator, only counting.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        COUNT.fetch_add(1, Relaxed);
        LARGEST.fetch_max(layout.size(), Relaxed);
        // SAFETY: the caller's contract is forwarded unchanged.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract is forwarded unchanged.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        COUNT.fetch_add(1, Relaxed);
        LARGEST.fetch_max(new_size, Relaxed);
        // SAFETY: the caller's contract is forwarded unchanged.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Runs `f` (a whole count: set-up, warm-up and the counted iterations) on a worker of a rayon
/// pool of its own. The sparse and masked passes spread their blocks by `rayon::join`: called
/// from a worker, `join` pushes its jobs on that worker's deque (stack jobs, a deque of fixed
/// capacity at this depth), and nothing is allocated. Called from outside a pool, each pass
/// would inject a job into the pool's global queue (crossbeam's `Injector`), which allocates a
/// block of 1520 bytes every 63 jobs injected: where those blocks fall would depend on
/// everything run before, not on the loop measured. Here the only injection is `install`'s
/// own, before counting starts, so the count is exactly the loop's.
fn in_pool<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    static POOL: std::sync::OnceLock<rayon::ThreadPool> = std::sync::OnceLock::new();
    POOL.get_or_init(|| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build()
            .expect("a pool of 2 threads")
    })
    .install(f)
}

const M: usize = 2000;
const N: usize = 2000;
const K: usize = 50;
const COUNTED_ITERS: usize = 2;

/// (allocations, largest allocation in bytes) over `COUNTED_ITERS` iterations and one loss
/// evaluation, after one uncounted iteration.
fn count<T: Scalar, B: DenseBackend<T>>(b: &B, loss: Loss) -> (usize, usize) {
    let v = b.from_fn(M, N, |i, j| T::from_f64(((i * 31 + j * 17) % 23) as f64));
    let (w0, h0) = nmf_core::init::random_factors(M, N, K, 11.0, 1);
    let w0 = b.from_fn(M, K, |i, a| T::from_f64(w0[i * K + a]));
    let h0 = b.from_fn(K, N, |a, j| T::from_f64(h0[a * N + j]));
    let mut s = MuSolver::new(b, &v, w0, h0, loss, T::from_f64(1e-10)).unwrap();
    s.step();
    let _ = s.loss();
    COUNT.store(0, Relaxed);
    LARGEST.store(0, Relaxed);
    for _ in 0..COUNTED_ITERS {
        s.step();
    }
    let loss_value = s.loss();
    let counted = (COUNT.load(Relaxed), LARGEST.load(Relaxed));
    assert!(loss_value.is_finite());
    counted
}

/// As [`count`], on a sparse V (about 20% stored; the same values where stored) with the
/// multiplicative updates for `loss` and with HALS (`loss` Frobenius and `hals`), inside a
/// pool ([`in_pool`]).
fn count_sparse(loss: Loss, hals: bool) -> (usize, usize) {
    in_pool(|| count_sparse_here(loss, hals))
}

/// [`count_sparse`] on the calling thread.
fn count_sparse_here(loss: Loss, hals: bool) -> (usize, usize) {
    use nmf_core::MatrixBackend;
    use nmf_core::sparse::SparseData;
    let b = Faer::sequential();
    let (mut r, mut c, mut x) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..M {
        for j in 0..N {
            if (i * 7 + j * 3) % 5 == 0 {
                r.push(i);
                c.push(j);
                x.push(((i * 31 + j * 17) % 23 + 1) as f64);
            }
        }
    }
    let v = SparseData::from_triplets(M, N, &r, &c, &x).unwrap();
    let (w0, h0) = nmf_core::init::random_factors(M, N, K, 2.0, 1);
    let w0 = b.from_fn(M, K, |i, a| w0[i * K + a]);
    let h0 = b.from_fn(K, N, |a, j| h0[a * N + j]);
    let eps = 1e-10;
    let run = |s: &mut dyn FnMut() -> f64| {
        s();
        COUNT.store(0, Relaxed);
        LARGEST.store(0, Relaxed);
        for _ in 0..COUNTED_ITERS {
            s();
        }
        (COUNT.load(Relaxed), LARGEST.load(Relaxed))
    };
    if hals {
        let o = nmf_core::HalsOptions::default();
        let mut s = nmf_core::HalsSolver::new(&b, &v, w0, h0, eps, o).unwrap();
        run(&mut || {
            s.step();
            s.loss()
        })
    } else {
        let mut s = MuSolver::new(&b, &v, w0, h0, loss, eps).unwrap();
        run(&mut || {
            s.step();
            s.loss()
        })
    }
}

/// As [`count_sparse`], on masked data ([`nmf_core::masked::Observed`], the same 20% of the
/// entries observed, with weights): the multiplicative updates for `loss` (`anls` false) or
/// masked least squares with penalties (`anls` true), each iteration followed by the
/// evaluation and the errors on a held-out set (the other entries of one row in five); inside
/// a pool ([`in_pool`]).
fn count_masked(loss: Loss, anls: bool) -> (usize, usize) {
    in_pool(|| count_masked_here(loss, anls))
}

/// [`count_masked`] on the calling thread.
fn count_masked_here(loss: Loss, anls: bool) -> (usize, usize) {
    use nmf_core::masked::{AnlsOptions, AnlsSolver, Observed};
    use nmf_core::{DataOps, MatrixBackend};
    let b = Faer::sequential();
    let (mut r, mut c, mut x, mut wt) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut tr, mut tc, mut tx) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..M {
        for j in 0..N {
            let val = ((i * 31 + j * 17) % 23) as f64;
            if (i * 7 + j * 3) % 5 == 0 {
                r.push(i);
                c.push(j);
                x.push(val);
                wt.push(1.0 + (j % 3) as f64);
            } else if i % 5 == 0 {
                tr.push(i);
                tc.push(j);
                tx.push(val);
            }
        }
    }
    let v = Observed::from_weighted_triplets(M, N, &r, &c, &x, &wt).unwrap();
    let test = Observed::from_triplets(M, N, &tr, &tc, &tx).unwrap();
    let (w0, h0) = nmf_core::init::random_factors(M, N, K, 11.0, 1);
    let w0 = b.from_fn(M, K, |i, a| w0[i * K + a]);
    let h0 = b.from_fn(K, N, |a, j| h0[a * N + j]);
    let eps = 1e-10;
    let mut test_work = DataOps::<f64, Observed<f64>>::data_work(&b, &test, K, loss);
    type Mat = <Faer as MatrixBackend<f64>>::Mat;
    type Errors<'e> = dyn FnMut(&Mat, &Mat) + 'e;
    let mut run = |s: &mut dyn FnMut(&mut Errors<'_>) -> f64| {
        let mut errors = |w: &_, h: &_| {
            let e = b.data_errors(&test, &mut test_work, w, h, loss).unwrap();
            assert!(e.rmse.is_finite());
        };
        s(&mut errors);
        COUNT.store(0, Relaxed);
        LARGEST.store(0, Relaxed);
        for _ in 0..COUNTED_ITERS {
            s(&mut errors);
        }
        (COUNT.load(Relaxed), LARGEST.load(Relaxed))
    };
    if anls {
        let mut s = AnlsSolver::new(&b, &v, w0, h0, eps, AnlsOptions::default()).unwrap();
        s.set_penalty(nmf_core::Penalty::sklearn(M, N, 1e-3, 1e-3, 0.5))
            .unwrap();
        run(&mut |errors| {
            s.step();
            errors(s.w(), s.h());
            s.evaluate().objective
        })
    } else {
        let mut s = MuSolver::new(&b, &v, w0, h0, loss, eps).unwrap();
        run(&mut |errors| {
            s.step();
            errors(s.w(), s.h());
            s.evaluate().objective
        })
    }
}

/// As [`count`], for HALS (Frobenius) with its inner sweeps and the shuffled order.
fn count_hals<T: Scalar, B: DenseBackend<T>>(b: &B) -> (usize, usize) {
    let v = b.from_fn(M, N, |i, j| T::from_f64(((i * 31 + j * 17) % 23) as f64));
    let (w0, h0) = nmf_core::init::random_factors(M, N, K, 11.0, 1);
    let w0 = b.from_fn(M, K, |i, a| T::from_f64(w0[i * K + a]));
    let h0 = b.from_fn(K, N, |a, j| T::from_f64(h0[a * N + j]));
    let opts = HalsOptions {
        shuffle: true,
        ..HalsOptions::default()
    };
    let mut s = HalsSolver::new(b, &v, w0, h0, T::from_f64(1e-10), opts).unwrap();
    s.set_penalty(nmf_core::Penalty::sklearn(M, N, 1e-3, 1e-3, 0.5))
        .unwrap();
    s.step();
    let _ = s.evaluate();
    COUNT.store(0, Relaxed);
    LARGEST.store(0, Relaxed);
    for _ in 0..COUNTED_ITERS {
        s.step();
    }
    let e = s.evaluate();
    let counted = (COUNT.load(Relaxed), LARGEST.load(Relaxed));
    assert!(e.objective.is_finite());
    counted
}

/// As [`count`], for the KL coordinate descent (with L1 and L2 penalties), on a smaller V
/// (300×200, rank 10: its sweeps are scalar code, slow in the test profile); its only product
/// is WH in the evaluation.
fn count_cd_kl<T: Scalar, B: DenseBackend<T>>(b: &B) -> (usize, usize) {
    let (m, n) = (300, 200);
    let v = b.from_fn(m, n, |i, j| T::from_f64(((i * 31 + j * 17) % 23) as f64));
    count_cd_kl_on::<T, B, B::Mat>(b, &v, m, n)
}

/// As [`count_cd_kl`], on the same V stored sparse (its zeros, about 1 in 23, left out).
fn count_cd_kl_sparse<T: Scalar, B: DenseBackend<T>>(b: &B) -> (usize, usize) {
    use nmf_core::sparse::SparseData;
    let (m, n) = (300, 200);
    let (mut r, mut c, mut x) = (vec![], vec![], vec![]);
    for i in 0..m {
        for j in 0..n {
            let e = ((i * 31 + j * 17) % 23) as f64;
            if e != 0.0 {
                r.push(i);
                c.push(j);
                x.push(T::from_f64(e));
            }
        }
    }
    let v = SparseData::from_triplets(m, n, &r, &c, &x).unwrap();
    count_cd_kl_on::<T, B, SparseData<T>>(b, &v, m, n)
}

/// The count of [`count_cd_kl`] for V of either storage.
fn count_cd_kl_on<T: Scalar, B: nmf_core::DataOps<T, V>, V>(
    b: &B,
    v: &V,
    m: usize,
    n: usize,
) -> (usize, usize) {
    let k = 10;
    let (w0, h0) = nmf_core::init::random_factors(m, n, k, 11.0, 1);
    let w0 = b.from_fn(m, k, |i, a| T::from_f64(w0[i * k + a]));
    let h0 = b.from_fn(k, n, |a, j| T::from_f64(h0[a * n + j]));
    let opts = CdKlOptions::default();
    let mut s = CdKlSolver::<T, B, V>::new(b, v, w0, h0, T::from_f64(1e-10), opts).unwrap();
    s.set_penalty(nmf_core::Penalty::sklearn(m, n, 1e-3, 1e-3, 0.5))
        .unwrap();
    s.step();
    let _ = s.evaluate();
    COUNT.store(0, Relaxed);
    LARGEST.store(0, Relaxed);
    for _ in 0..COUNTED_ITERS {
        s.step();
    }
    let e = s.evaluate();
    let counted = (COUNT.load(Relaxed), LARGEST.load(Relaxed));
    assert!(e.objective.is_finite());
    counted
}

/// Products per HALS iteration: 4 (WᵀV, WᵀW, VHᵀ, HHᵀ; the sweeps make none), one more
/// for WH in the evaluation.
const HALS_PRODUCTS: usize = 4 * COUNTED_ITERS + 1;

/// Products per iteration: Frobenius 6 (WᵀV, WᵀW, WᵀW·H, VHᵀ, HHᵀ, W·HHᵀ), KL 4 (WH twice,
/// Wᵀ(V/WH), (V/WH)Hᵀ); one more for WH in the loss evaluation.
fn products(loss: Loss) -> usize {
    let per_iter = if loss == Loss::Frobenius { 6 } else { 4 };
    per_iter * COUNTED_ITERS + 1
}

/// matrixmultiply's packing buffer is at most KC×(MC + NC) entries of the scalar
/// (its largest blocking, 256×(64 + 4096) ≈ 1M entries, i.e. 8 MiB for f64) plus alignment.
const PACKING_BYTES: usize = 8 << 20;

/// faer's parallel products give each thread some scratch space of their own; nothing of that
/// is matrix-sized (the smallest buffer of the fit, a column block of 50×2000 f64, is 800 KB).
const THREAD_SCRATCH_BYTES: usize = 64 << 10;

// One test function: the counter is global, so nothing else may run while it counts.
#[test]
fn iterations_allocate_nothing() {
    for loss in [Loss::Frobenius, Loss::KullbackLeibler] {
        // The loop code is the same for every backend; with faer on one thread no kernel
        // allocates either, so this is the whole loop: exactly zero.
        let (n, _) = count::<f64, _>(&Faer::sequential(), loss);
        assert_eq!(
            n, 0,
            "faer (one thread) f64, {loss}: {n} allocations inside the loop"
        );
        let (n, _) = count::<f32, _>(&Faer::sequential(), loss);
        assert_eq!(
            n, 0,
            "faer (one thread) f32, {loss}: {n} allocations inside the loop"
        );
        let (n, largest) = count::<f64, _>(&Faer::default(), loss);
        eprintln!(
            "faer (threads), {loss}: {n} allocations in {COUNTED_ITERS} iterations, largest {largest} bytes"
        );
        assert!(
            largest <= THREAD_SCRATCH_BYTES,
            "faer (threads), {loss}: an allocation of {largest} bytes"
        );
        for (name, (n, largest)) in [
            ("nalgebra", count::<f64, _>(&Nalgebra, loss)),
            ("ndarray", count::<f64, _>(&Ndarray, loss)),
        ] {
            eprintln!(
                "{name}, {loss}: {n} allocations in {COUNTED_ITERS} iterations, largest {largest} bytes"
            );
            assert!(
                n <= products(loss) && largest <= PACKING_BYTES,
                "{name}, {loss}: {n} allocations (at most {} products), largest {largest} bytes",
                products(loss)
            );
        }
    }
    // HALS (with penalties, the inner sweeps and the shuffled order).
    let (n, _) = count_hals::<f64, _>(&Faer::sequential());
    assert_eq!(
        n, 0,
        "HALS, faer (one thread) f64: {n} allocations inside the loop"
    );
    let (n, _) = count_hals::<f32, _>(&Faer::sequential());
    assert_eq!(
        n, 0,
        "HALS, faer (one thread) f32: {n} allocations inside the loop"
    );
    let (n, largest) = count_hals::<f64, _>(&Faer::default());
    eprintln!("HALS, faer (threads): {n} allocations, largest {largest} bytes");
    assert!(
        largest <= THREAD_SCRATCH_BYTES,
        "HALS, faer (threads): an allocation of {largest} bytes"
    );
    for (name, (n, largest)) in [
        ("nalgebra", count_hals::<f64, _>(&Nalgebra)),
        ("ndarray", count_hals::<f64, _>(&Ndarray)),
    ] {
        eprintln!("HALS, {name}: {n} allocations, largest {largest} bytes");
        assert!(
            n <= HALS_PRODUCTS && largest <= PACKING_BYTES,
            "HALS, {name}: {n} allocations (at most {HALS_PRODUCTS} products), largest {largest} bytes"
        );
    }
    // Sparse V (faer on one thread; the passes over the entries spread over a pool's threads by
    // `join`, run from inside the pool, see `in_pool`): nothing is allocated in the iterations
    // or the loss evaluation, for the general β too (its blocks of WH are made once with the
    // data term's work).
    for (name, loss, hals) in [
        ("MU Frobenius", Loss::Frobenius, false),
        ("MU KL", Loss::KullbackLeibler, false),
        // The general β forms WH in blocks of rows made with the data term's work.
        ("MU β = 1.5", Loss::Beta(1.5), false),
        ("HALS", Loss::Frobenius, true),
    ] {
        let (n, largest) = count_sparse(loss, hals);
        assert_eq!(
            n, 0,
            "sparse V, {name}: {n} allocations inside the loop (largest {largest} bytes)"
        );
    }
    // Masked data (as sparse V): nothing is allocated in the iterations, the evaluations or
    // the held-out errors.
    for (name, loss, anls) in [
        ("MU Frobenius", Loss::Frobenius, false),
        ("MU KL", Loss::KullbackLeibler, false),
        ("MU β = 1.5", Loss::Beta(1.5), false),
        ("ANLS", Loss::Frobenius, true),
    ] {
        let (n, largest) = count_masked(loss, anls);
        assert_eq!(
            n, 0,
            "masked V, {name}: {n} allocations inside the loop (largest {largest} bytes)"
        );
    }
    // KL coordinate descent (with penalties): the sweeps allocate nothing on any backend; the
    // one product (WH in the evaluation) may pack.
    for (name, (n, largest)) in [
        (
            "faer (one thread) f64",
            count_cd_kl::<f64, _>(&Faer::sequential()),
        ),
        (
            "faer (one thread) f32",
            count_cd_kl::<f32, _>(&Faer::sequential()),
        ),
        (
            "faer (one thread) f64, sparse V",
            count_cd_kl_sparse::<f64, _>(&Faer::sequential()),
        ),
    ] {
        assert_eq!(
            n, 0,
            "CD-KL, {name}: {n} allocations inside the loop ({largest} bytes)"
        );
    }
    let (n, largest) = count_cd_kl::<f64, _>(&Faer::default());
    eprintln!("CD-KL, faer (threads): {n} allocations, largest {largest} bytes");
    assert!(
        largest <= THREAD_SCRATCH_BYTES,
        "CD-KL, faer (threads): an allocation of {largest} bytes"
    );
    for (name, (n, largest)) in [
        ("nalgebra", count_cd_kl::<f64, _>(&Nalgebra)),
        ("ndarray", count_cd_kl::<f64, _>(&Ndarray)),
    ] {
        eprintln!("CD-KL, {name}: {n} allocations, largest {largest} bytes");
        assert!(
            n <= 1 && largest <= PACKING_BYTES,
            "CD-KL, {name}: {n} allocations (at most 1 product), largest {largest} bytes"
        );
    }
}
