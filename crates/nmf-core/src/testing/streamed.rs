//! V streamed by blocks of rows ([`Streamed`]) from an in-memory [`RowSource`]
//! ([`MemorySource`]): on every backend and scalar type, dense and sparse blocks of 1, 7 and
//! m rows, a fit from the same start equals the in-memory fit to the rounding of the sums'
//! order (MU for Frobenius, KL, β = 1.5 and with an L2 penalty; HALS); a source that fails
//! mid-fit makes the fit return its error; and the stopping rule stops a streamed fit at the
//! iteration where it stops the in-memory one.

use core::ops::Range;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::common::*;
use super::distributed::{hals_h_bound, hals_h_step, mu_bound, worst};
use crate::sparse::{Csr, Duplicates};
use crate::streamed::{RowBlock, RowSource, Streamed};
use crate::{
    DataOps, DenseBackend, HalsOptions, HalsSolver, Loss, Nmf, NmfError, NmfValidParams, Scalar,
    Solver,
};

/// V (m×n, row-major) held in memory and given as [`RowSource`] blocks, dense or sparse (the
/// non-zeros stored), with a read that fails on purpose: the `fail_at`-th call of
/// [`read_rows`](RowSource::read_rows) (1-based) and every later one return
/// [`NmfError::Io`] naming the rows asked for.
#[derive(Debug)]
pub struct MemorySource<T> {
    m: usize,
    n: usize,
    v: Vec<T>,
    sparse: bool,
    fail_at: Option<usize>,
    reads: AtomicUsize,
}

impl<T: Scalar> MemorySource<T> {
    /// V from its `m·n` entries in row-major order, given as dense or sparse blocks.
    pub fn new(m: usize, n: usize, v: &[f64], sparse: bool) -> Self {
        assert_eq!(v.len(), m * n);
        Self {
            m,
            n,
            v: v.iter().map(|&x| T::from_f64(x)).collect(),
            sparse,
            fail_at: None,
            reads: AtomicUsize::new(0),
        }
    }
    /// The same source, failing from its `read`-th read on.
    pub fn failing_at(mut self, read: usize) -> Self {
        self.fail_at = Some(read);
        self
    }
    /// How many blocks were read.
    pub fn reads(&self) -> usize {
        self.reads.load(Ordering::Relaxed)
    }
}

impl<T: Scalar> RowSource<T> for MemorySource<T> {
    fn shape(&self) -> (usize, usize) {
        (self.m, self.n)
    }
    fn read_rows(&self, rows: Range<usize>) -> Result<RowBlock<T>, NmfError> {
        let read = self.reads.fetch_add(1, Ordering::Relaxed) + 1;
        if self.fail_at.is_some_and(|f| read >= f) {
            return Err(NmfError::Io {
                path: "memory".into(),
                message: format!(
                    "read {read} (rows {}..{}) failed on purpose",
                    rows.start, rows.end
                ),
            });
        }
        let n = self.n;
        let data = &self.v[rows.start * n..rows.end * n];
        if !self.sparse {
            return Ok(RowBlock::Dense {
                rows: rows.len(),
                cols: n,
                data: data.to_vec(),
            });
        }
        let (mut r, mut c, mut x) = (vec![], vec![], vec![]);
        for (t, &y) in data.iter().enumerate() {
            if y != T::zero() {
                r.push(t / n);
                c.push(t % n);
                x.push(y);
            }
        }
        Ok(RowBlock::Sparse(Csr::from_triplets(
            rows.len(),
            n,
            &r,
            &c,
            &x,
            Duplicates::Reject,
        )?))
    }
}

/// V (m×n, a few zeros), W0 and H0, in `f64` row-major.
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

/// W, H, the loss history and the iterations of a fit.
type Outcome = (Vec<f64>, Vec<f64>, Vec<f64>, usize, bool);

fn fit_on<T: Scalar, B: DataOps<T, V>, V>(
    b: &B,
    params: &NmfValidParams,
    v: &V,
    (w0, h0): (&[f64], &[f64]),
    (m, n, k): (usize, usize, usize),
) -> Result<Outcome, NmfError> {
    let (w0, h0) = (mat(b, m, k, w0), mat(b, k, n, h0));
    let model = params.fitting(b, v).start(&w0, &h0).run()?;
    Ok((
        export(b, model.w()),
        export(b, model.h()),
        model.loss_history().iter().map(|r| r.loss).collect(),
        model.n_iter(),
        model.converged(),
    ))
}

fn max_rel(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs() / x.abs().max(y.abs()).max(f64::MIN_POSITIVE))
        .fold(0.0, f64::max)
}

/// A streamed fit of V from the same start equals the in-memory fit, dense and sparse
/// blocks of 1, 7 and m rows, for MU (Frobenius, KL, β = 1.5, and Frobenius with an L2
/// penalty on both factors) within [`mu_bound`]; HALS runs the same iterations and reads every
/// block, its values compared half-step by half-step in [`check_streamed_hals_half_step`].
///
/// The bound is [`mu_bound`]'s (derived there for the distributed fit): a statistic of the H
/// half-step is a sum of non-negative terms over the m rows, which the streamed term adds
/// block by block (each block's partial sum rounded to `T`, then added in `f64` and rounded
/// once) and the in-memory term in one product, so each is within γ_m of the exact sum and
/// they differ by at most 2γ_m relative (a sparse block's kernels add in yet another order,
/// within the same γ); the W half-step's statistics are computed per block from the same rows
/// with the same H, so they differ only through W and H. An L2 penalty adds a non-negative
/// term to each denominator (computed alike on both sides), which does not enlarge a
/// relative difference. A HALS coordinate step subtracts, so no entry-wise bound of this
/// form carries over iterations: its values are checked per half-step, with a derived bound,
/// by [`check_streamed_hals_half_step`]. The losses of the history agree to the same bound,
/// and the iterations are the same.
pub fn check_streamed_fit_equals_in_memory<T: Scalar, B: DenseBackend<T> + Sync>(b: &B) {
    let u = T::unit_roundoff();
    let (m, n, k) = (13, 9, 3);
    let iters = if u > 1e-10 { 2 } else { 4 };
    let (v, w0, h0) = problem(m, n, k);
    let cases: [(Loss, Solver, f64); 5] = [
        (Loss::Frobenius, Solver::Mu, 0.0),
        (Loss::KullbackLeibler, Solver::Mu, 0.0),
        (Loss::Beta(1.5), Solver::Mu, 0.0),
        (Loss::Frobenius, Solver::Mu, 0.05),
        (Loss::Frobenius, Solver::Hals, 0.0),
    ];
    for (loss, solver, alpha) in cases {
        let params = Nmf::params(k)
            .loss(loss)
            .solver(solver)
            .alpha_w(alpha)
            .max_iter(iters)
            .tol(0.0)
            .check()
            .expect("valid parameters");
        let vd = mat(b, m, n, &v);
        let want = fit_on(b, &params, &vd, (&w0, &h0), (m, n, k)).expect("the in-memory fit");
        let bound = mu_bound(iters, m, n, k, u);
        for sparse in [false, true] {
            for rows in [1, 7, m] {
                let what =
                    format!("{loss} {solver:?} α {alpha}, sparse {sparse}, blocks of {rows}");
                let s = Streamed::new(MemorySource::<T>::new(m, n, &v, sparse), rows).unwrap();
                let got = fit_on::<T, B, Streamed<MemorySource<T>>>(
                    b,
                    &params,
                    &s,
                    (&w0, &h0),
                    (m, n, k),
                )
                .unwrap_or_else(|e| panic!("{what}: the streamed fit fails: {e}"));
                assert_eq!(got.3, want.3, "{what}: iterations");
                let (ew, eh, el) = (
                    max_rel(&got.0, &want.0),
                    max_rel(&got.1, &want.1),
                    max_rel(&got.2, &want.2),
                );
                assert!(
                    solver == Solver::Hals || (ew <= bound && eh <= bound && el <= bound),
                    "{what}: W within {ew:e}, H within {eh:e}, losses within {el:e} of the \
                     in-memory fit, bound {bound:e}"
                );
                // Every pass read every block: the checks, each half-step, each evaluation.
                assert!(
                    s.source().reads() >= (2 * iters + 3) * m.div_ceil(rows),
                    "{what}"
                );
            }
        }
    }
}

/// HALS on V streamed by blocks (dense and sparse blocks of 1, 7 and m rows): along the
/// in-memory fit's iterates (W_t, H_t), t = 0, 1, 2, 3, one H half-step (one sweep) from
/// (W_t, H_t) gives the in-memory H within [`hals_h_bound`] entry by entry, with δ the relative
/// difference of the two ways of summing WᵀV and WᵀW over the m rows: the streamed term adds
/// each block's partial sum (rounded to the scalar type) in `f64` and rounds once, the
/// in-memory term makes one product; each is within γ_{m+2} of the exact sum of the
/// non-negative terms, so δ = 2γ_{m+2}/(1 − γ) (the bound of the distributed fit, whose sums
/// split over processes as these split over blocks). The bound is not vacuous: it is checked
/// against statistics perturbed by 20δ in [`check_distributed_hals_half_step`](super::check_distributed_hals_half_step).
pub fn check_streamed_hals_half_step<T: Scalar, B: DenseBackend<T> + Sync>(b: &B) {
    let u = T::unit_roundoff();
    let (m, n, k) = (13, 9, 3);
    let (v, w0, h0) = problem(m, n, k);
    let gm = (m + 2) as f64 * u / (1.0 - (m + 2) as f64 * u);
    let delta = 2.0 * gm / (1.0 - gm);
    let vd = mat(b, m, n, &v);
    let opts = HalsOptions {
        alpha: 0.0,
        ..HalsOptions::default()
    };
    let eps = T::from_f64(1e-6);
    let mut path =
        HalsSolver::<T, B, B::Mat>::new(b, &vd, mat(b, m, k, &w0), mat(b, k, n, &h0), eps, opts)
            .expect("the in-memory HALS starts");
    for t in 0..4 {
        let (wt, ht) = (export(b, path.w()), export(b, path.h()));
        let want =
            hals_h_step::<T, B, B::Mat>(b, &vd, mat(b, m, k, &wt), mat(b, k, n, &ht), eps, opts);
        let mut work = DataOps::<T, B::Mat>::data_work(b, &vd, k, Loss::Frobenius);
        let (mut num, mut gram) = (b.zeros(k, n), b.zeros(k, k));
        b.frobenius_stats_h(&vd, &mut work, &mat(b, m, k, &wt), &mut num, &mut gram);
        let (num, gram) = (export(b, &num), export(b, &gram));
        let bound = hals_h_bound(&num, &gram, &ht, &want, (k, n), delta, u);
        for sparse in [false, true] {
            for rows in [1, 7, m] {
                let s = Streamed::new(MemorySource::<T>::new(m, n, &v, sparse), rows).unwrap();
                let got = hals_h_step::<T, B, Streamed<MemorySource<T>>>(
                    b,
                    &s,
                    mat(b, m, k, &wt),
                    mat(b, k, n, &ht),
                    eps,
                    opts,
                );
                let (at, diff, bd) = worst(&got, &want, &bound);
                assert!(
                    diff <= bd,
                    "iterate {t}, sparse {sparse}, blocks of {rows}: H entry {at} differs by \
                     {diff:e}, bound {bd:e}"
                );
            }
        }
        path.update_h();
        path.update_w();
    }
}

/// A source that fails at its 3rd read, or at a read in the middle of the iterations, makes
/// the fit return that error (no model, no NaN), dense and sparse blocks, MU and HALS, from
/// a custom start and from the driver's random and NNDSVDA starts (a failure during the
/// randomized SVD's passes included).
pub fn check_streamed_read_error_stops_the_fit<T: Scalar, B: DenseBackend<T> + Sync>(b: &B) {
    let (m, n, k) = (13, 9, 3);
    let (v, w0, h0) = problem(m, n, k);
    for solver in [Solver::Mu, Solver::Hals] {
        let params = Nmf::params(k)
            .solver(solver)
            .init(crate::Init::Random)
            .max_iter(50)
            .tol(0.0)
            .check()
            .expect("valid parameters");
        for sparse in [false, true] {
            for (rows, fail_at) in [(m, 3), (4, 3), (4, 37), (1, 300)] {
                let what = format!("{solver:?}, sparse {sparse}, blocks of {rows}, read {fail_at}");
                let src = MemorySource::<T>::new(m, n, &v, sparse).failing_at(fail_at);
                let s = Streamed::new(src, rows).unwrap();
                let from_start = fit_on::<T, B, Streamed<MemorySource<T>>>(
                    b,
                    &params,
                    &s,
                    (&w0, &h0),
                    (m, n, k),
                );
                match from_start {
                    Err(NmfError::Io { message, .. }) => assert!(
                        message.contains(&format!("read {fail_at} ")),
                        "{what}: {message}"
                    ),
                    other => panic!("{what}: expected the read's error, got {other:?}"),
                }
                // The failing read was the last one: nothing went on after it.
                assert_eq!(s.source().reads(), fail_at, "{what}");
                // And with the driver's own starts: random, and NNDSVDA, whose randomized SVD
                // reads V several times (a failure there must not reach the start).
                for init in [crate::Init::Random, crate::Init::Nndsvda] {
                    let params = Nmf::params(k)
                        .solver(solver)
                        .init(init)
                        .max_iter(50)
                        .tol(0.0)
                        .check()
                        .expect("valid parameters");
                    let src = MemorySource::<T>::new(m, n, &v, sparse).failing_at(fail_at);
                    let s = Streamed::new(src, rows).unwrap();
                    match params.fit::<T, B, Streamed<MemorySource<T>>>(b, &s) {
                        Err(NmfError::Io { .. }) => {}
                        other => {
                            panic!("{what}, {init:?}: expected the read's error, got {other:?}")
                        }
                    }
                }
            }
        }
    }
}

/// The stopping rule stops a streamed fit at the iteration where it stops the in-memory fit,
/// on a case where the relative decrease crosses `tol` far from the rounding of the sums:
/// the fits agree to [`mu_bound`]-sized differences, and the decrease at the stopping
/// iteration and the one before are checked to be further than that from `tol`.
pub fn check_streamed_stops_with_in_memory<T: Scalar, B: DenseBackend<T> + Sync>(b: &B) {
    let (m, n, k) = (13, 9, 3);
    let (v, w0, h0) = problem(m, n, k);
    let u = T::unit_roundoff();
    let tol = if u > 1e-10 { 1e-2 } else { 1e-3 };
    let params = Nmf::params(k)
        .solver(Solver::Mu)
        .max_iter(500)
        .tol(tol)
        .check()
        .expect("valid parameters");
    let vd = mat(b, m, n, &v);
    let want = fit_on(b, &params, &vd, (&w0, &h0), (m, n, k)).expect("the in-memory fit");
    assert!(want.4, "the in-memory fit converges before max_iter");
    let dec = |h: &[f64], i: usize| (h[i - 1] - h[i]) / h[i - 1];
    let last = want.2.len() - 1;
    // A clear case: the last decrease is well below tol and the one before well above.
    assert!(dec(&want.2, last) < 0.9 * tol && dec(&want.2, last - 1) > 1.1 * tol);
    for sparse in [false, true] {
        for rows in [1, 7, m] {
            let s = Streamed::new(MemorySource::<T>::new(m, n, &v, sparse), rows).unwrap();
            let got =
                fit_on::<T, B, Streamed<MemorySource<T>>>(b, &params, &s, (&w0, &h0), (m, n, k))
                    .expect("the streamed fit");
            assert_eq!(
                (got.3, got.4),
                (want.3, want.4),
                "sparse {sparse}, blocks of {rows}: iterations and convergence"
            );
        }
    }
}
