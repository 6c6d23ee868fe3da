//! The distributed data term ([`Distributed`]) on P = 1, 2, 3 processes simulated by threads
//! ([`ThreadGroup`]): on every backend and scalar type, dense and sparse V, MU (Frobenius, KL,
//! and β = 1.5 for dense V) and HALS, a fit from the same start gives the same W (gathered) and H as the fit
//! on one process to the rounding of the different order of the sums, every process ends with
//! the same H bit for bit and the same loss history, and a bad entry in one process's block is
//! the same error on every process, with its global row.

use std::sync::{Barrier, Mutex};

use super::common::*;
use crate::distributed::{Collective, Distributed, block_rows};
use crate::sparse::SparseData;
use crate::{DataOps, DenseBackend, Loss, Nmf, NmfError, Scalar, Solver};

/// P processes simulated by threads: each thread holds a [`ThreadRank`] of the same group.
/// The all-reduce adds the buffers in rank order (0.0 + b₀ + b₁ + …), so every thread gets the
/// same bits, as nmf-mpi's reduce-and-broadcast does.
#[derive(Debug)]
pub struct ThreadGroup {
    size: usize,
    slots: Mutex<Vec<Vec<f64>>>,
    barrier: Barrier,
}

impl ThreadGroup {
    /// A group of `size` processes.
    pub fn new(size: usize) -> Self {
        Self {
            size,
            slots: Mutex::new(vec![Vec::new(); size]),
            barrier: Barrier::new(size),
        }
    }
    /// The handle of process `rank`.
    pub fn rank(&self, rank: usize) -> ThreadRank<'_> {
        assert!(rank < self.size);
        ThreadRank { group: self, rank }
    }
}

/// One process of a [`ThreadGroup`] (its [`Collective`]).
#[derive(Debug, Clone, Copy)]
pub struct ThreadRank<'a> {
    group: &'a ThreadGroup,
    rank: usize,
}

impl Collective for ThreadRank<'_> {
    fn rank(&self) -> usize {
        self.rank
    }
    fn size(&self) -> usize {
        self.group.size
    }
    fn all_reduce_sum(&self, buf: &mut [f64]) {
        let g = self.group;
        g.slots.lock().expect("no thread panicked")[self.rank] = buf.to_vec();
        g.barrier.wait();
        {
            let slots = g.slots.lock().expect("no thread panicked");
            for (i, x) in buf.iter_mut().enumerate() {
                *x = slots.iter().fold(0.0, |s, b| s + b[i]);
            }
        }
        // Nobody writes its slot again before everybody has read.
        g.barrier.wait();
    }
}

/// The data of the checks: V (m×n, a few zeros), W0 and H0, in `f64` row-major.
fn problem(m: usize, n: usize, k: usize) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let v = (0..m * n)
        .map(|t| {
            let x = ((t * 7919 + 13) % 101) as f64;
            if x < 15.0 { 0.0 } else { x / 17.0 }
        })
        .collect();
    let w = (0..m * k)
        .map(|t| 0.3 + ((t * 31 + 5) % 23) as f64 / 11.0)
        .collect();
    let h = (0..k * n)
        .map(|t| 0.2 + ((t * 17 + 3) % 19) as f64 / 9.0)
        .collect();
    (v, w, h)
}

/// The rows `rows` of a row-major matrix with `cols` columns.
fn rows_of(a: &[f64], cols: usize, rows: core::ops::Range<usize>) -> Vec<f64> {
    a[rows.start * cols..rows.end * cols].to_vec()
}

/// `(m, n)` of a row-major block as sparse data (its non-zeros stored).
fn sparse<T: Scalar>(d: &[f64], m: usize, n: usize) -> SparseData<T> {
    let (mut r, mut c, mut x) = (vec![], vec![], vec![]);
    for (t, &y) in d.iter().enumerate() {
        if y != 0.0 {
            r.push(t / n);
            c.push(t % n);
            x.push(T::from_f64(y));
        }
    }
    SparseData::from_triplets(m, n, &r, &c, &x).expect("valid sparse data")
}

/// One fit's result, exported: W, H, the loss history, the iterations.
type Outcome = (Vec<f64>, Vec<f64>, Vec<f64>, usize);

/// The fit of `v_local` (this process's rows) from its rows of W0 and H0.
fn fit_on<T: Scalar, B: DataOps<T, V>, V>(
    b: &B,
    params: &crate::NmfValidParams,
    v: &V,
    w0: &[f64],
    h0: &[f64],
    k: usize,
    n: usize,
) -> Result<Outcome, NmfError> {
    let (w0, h0) = (mat(b, w0.len() / k, k, w0), mat(b, k, n, h0));
    let model = params.fitting(b, v).start(&w0, &h0).run()?;
    Ok((
        export(b, model.w()),
        export(b, model.h()),
        model.loss_history().iter().map(|r| r.loss).collect(),
        model.n_iter(),
    ))
}

/// The fit on P simulated processes: each thread wraps its block (dense or sparse) in a
/// [`Distributed`] and fits from its rows of W0; the results of every process, in rank order.
#[allow(clippy::too_many_arguments)]
fn fit_distributed<T: Scalar, B: DenseBackend<T> + Sync>(
    b: &B,
    params: &crate::NmfValidParams,
    p: usize,
    sparse_v: bool,
    v: &[f64],
    w0: &[f64],
    h0: &[f64],
    (m, n, k): (usize, usize, usize),
) -> Vec<Result<Outcome, NmfError>> {
    let group = ThreadGroup::new(p);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..p)
            .map(|r| {
                let group = &group;
                s.spawn(move || {
                    let rows = block_rows(m, p, r);
                    let (vl, wl) = (rows_of(v, n, rows.clone()), rows_of(w0, k, rows.clone()));
                    let comm = group.rank(r);
                    if sparse_v {
                        let local = sparse::<T>(&vl, rows.len(), n);
                        let d = Distributed::<SparseData<T>, _>::new::<T, B>(b, local, comm)?;
                        fit_on::<T, B, Distributed<SparseData<T>, _>>(b, params, &d, &wl, h0, k, n)
                    } else {
                        let local = mat(b, rows.len(), n, &vl);
                        let d = Distributed::<B::Mat, _>::new::<T, B>(b, local, comm)?;
                        fit_on::<T, B, Distributed<B::Mat, _>>(b, params, &d, &wl, h0, k, n)
                    }
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a simulated process panicked"))
            .collect()
    })
}

/// The largest relative difference, entry by entry (scaled by the larger of the two).
fn max_rel(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs() / x.abs().max(y.abs()).max(f64::MIN_POSITIVE))
        .fold(0.0, f64::max)
}

/// The bound on the relative difference of every entry of W and H after `iters` MU
/// iterations between two fits whose sums over the m rows (and the k terms of WH) add in
/// different orders. First order, entry by entry: a statistic that is a sum of non-negative
/// terms, each within relative e of the other fit's, is within e + 2γ (γ = 1.01·(m + n + k)·u,
/// both orders of adding, the KL ratio's WH included); in an H half-step of MU the
/// numerator (WᵀV, Wᵀ(V/WH), Wᵀ(V∘Λ^(β−2))) carries e_W (times 2 for the ratio, 1.5 for
/// Λ^(β−2) at β = 1.5) and the denominator (WᵀWH, the column sums of W, WᵀΛ^(β−1)) the rest,
/// so h·num/den is within 2·e_H + 3·e_W + 4γ of the other (the bound of Frobenius, the
/// largest of the three), and max(ε, ·) does not increase it; the W half-step mirrors it with
/// the new e_H. Each step adds a few roundings of the update itself (counted in 4γ).
pub fn mu_bound(iters: usize, m: usize, n: usize, k: usize, u: f64) -> f64 {
    let g = 4.0 * 1.01 * (m + n + k) as f64 * u;
    let (mut eh, mut ew) = (0.0, 0.0);
    for _ in 0..iters {
        eh = 2.0 * eh + 3.0 * ew + g;
        ew = 2.0 * ew + 3.0 * eh + g;
    }
    eh.max(ew)
}

/// The fit of V split over P = 1, 2, 3 simulated processes equals the single-process fit from
/// the same start, dense and sparse V, for MU (Frobenius, KL, β = 1.5) within [`mu_bound`],
/// and for HALS (one sweep per half-step) within 100 times the same recurrence (a HALS
/// coordinate step subtracts, so its errors are not bounded entry by entry as MU's: this
/// margin is not derived, it is the tolerance checked). Every process ends with the same H,
/// bit for bit, the same loss history and the same number of iterations; on P = 1 the fit is
/// the single-process one bit for bit for dense V.
pub fn check_distributed_fit_equals_single<T: Scalar, B: DenseBackend<T> + Sync>(b: &B) {
    let u = T::unit_roundoff();
    let (m, n, k) = (13, 9, 3);
    // Few iterations: the first-order bound grows about 12-fold per iteration.
    let iters = if u > 1e-10 { 2 } else { 4 };
    let (v, w0, h0) = problem(m, n, k);
    let rows = (m, n, k);
    let cases = [
        (Loss::Frobenius, Solver::Mu),
        (Loss::KullbackLeibler, Solver::Mu),
        (Loss::Beta(1.5), Solver::Mu),
        (Loss::Frobenius, Solver::Hals),
    ];
    for (loss, solver) in cases {
        let params = Nmf::params(k)
            .loss(loss)
            .solver(solver)
            .hals_acceleration(0.0, 0.1)
            .max_iter(iters)
            .tol(0.0)
            .check()
            .expect("valid parameters");
        let vd = mat(b, m, n, &v);
        let single = fit_on(b, &params, &vd, &w0, &h0, k, n).expect("the single fit runs");
        let bound = mu_bound(iters, m, n, k, u) * if solver == Solver::Hals { 100.0 } else { 1.0 };
        // Sparse V has the Frobenius and KL statistics only (LossNotForData otherwise).
        let sparse_too = matches!(loss, Loss::Frobenius | Loss::KullbackLeibler);
        for sparse_v in [false, true] {
            if sparse_v && !sparse_too {
                continue;
            }
            for p in 1..=3 {
                let what = format!("{loss} {solver:?}, P = {p}, sparse {sparse_v}");
                let outs: Vec<Outcome> =
                    fit_distributed(b, &params, p, sparse_v, &v, &w0, &h0, rows)
                        .into_iter()
                        .map(|r| r.expect("the distributed fit runs"))
                        .collect();
                let w: Vec<f64> = outs.iter().flat_map(|o| o.0.iter().copied()).collect();
                for o in &outs[1..] {
                    assert_eq!(o.1, outs[0].1, "{what}: H differs between processes");
                    assert_eq!(o.2, outs[0].2, "{what}: loss histories differ");
                    assert_eq!(o.3, outs[0].3, "{what}: iterations differ");
                }
                assert_eq!(outs[0].3, single.3, "{what}: iterations");
                let (ew, eh) = (max_rel(&w, &single.0), max_rel(&outs[0].1, &single.1));
                assert!(
                    ew <= bound && eh <= bound,
                    "{what}: W within {ew:e}, H within {eh:e} of the single fit, bound {bound:e}"
                );
                if p == 1 && !sparse_v {
                    assert_eq!(w, single.0, "{what}: one process is the plain fit");
                }
            }
        }
    }
}

/// A negative entry, a NaN, in the rows of process 1 (of 3) is the same error on every
/// process, naming its global row and column: no process goes on alone (which would hang an
/// MPI run).
pub fn check_distributed_bad_entry_everywhere<T: Scalar, B: DenseBackend<T> + Sync>(b: &B) {
    let (m, n, k) = (10, 4, 2);
    let (mut v, w0, h0) = problem(m, n, k);
    let rows1 = block_rows(m, 3, 1);
    let (bad_row, bad_col) = (rows1.start + 1, 2);
    // (Sparse data refuses such values when it is built: nmf-mpi's reader reports them.)
    for (bad, sparse_v) in [(-0.5, false), (f64::NAN, false), (f64::INFINITY, false)] {
        v[bad_row * n + bad_col] = bad;
        let params = Nmf::params(k).max_iter(3).check().expect("valid");
        for r in fit_distributed(b, &params, 3, sparse_v, &v, &w0, &h0, (m, n, k)) {
            match r {
                Err(NmfError::NegativeEntry { row, col, .. })
                | Err(NmfError::NonFiniteEntry { row, col, .. }) => {
                    assert_eq!(
                        (row, col),
                        (bad_row, bad_col),
                        "value {bad}, sparse {sparse_v}"
                    )
                }
                other => panic!(
                    "value {bad}, sparse {sparse_v}: expected the entry's error, got {other:?}"
                ),
            }
        }
    }
}
