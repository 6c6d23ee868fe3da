//! The distributed data term ([`Distributed`]) on P = 1, 2, 3 processes simulated by threads
//! ([`ThreadGroup`]): on every backend and scalar type, dense and sparse V and observed
//! entries ([`Observed`]), MU (Frobenius, KL, and β = 1.5 for dense V) and HALS, a fit from the
//! same start gives the same W (gathered) and H as the fit on one process to the rounding of
//! the different order of the sums (MU: over the whole fit, [`mu_bound`]; HALS: one H
//! half-step at a time from the same factors, [`hals_h_bound`]), every process ends with the
//! same H bit for bit and the same loss history, and a bad entry in one process's block is
//! the same error on every process, with its global row.

use std::cell::Cell;
use std::sync::{Barrier, Mutex};

use super::common::*;
use crate::distributed::{Collective, Distributed, block_rows};
use crate::masked::Observed;
use crate::sparse::SparseData;
use crate::{DataOps, DenseBackend, HalsOptions, HalsSolver, Loss, Nmf, NmfError, Scalar, Solver};

/// P processes simulated by threads: each thread holds a [`ThreadRank`] of the same group.
/// The all-reduce adds the buffers in rank order (0.0 + b₀ + b₁ + …), so every thread gets the
/// same bits, as nmf-mpi's all-reduce does.
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

/// `(m, n)` of a row-major block as observed entries: the entries whose global place
/// `(first_row + i)·n + j` is not a multiple of 5 are observed (observed zeros included), the
/// others missing.
fn observed<T: Scalar>(d: &[f64], m: usize, n: usize, first_row: usize) -> Observed<T> {
    let (mut r, mut c, mut x) = (vec![], vec![], vec![]);
    for (t, &y) in d.iter().enumerate() {
        if !(first_row * n + t).is_multiple_of(5) {
            r.push(t / n);
            c.push(t % n);
            x.push(T::from_f64(y));
        }
    }
    Observed::from_triplets(m, n, &r, &c, &x).expect("valid observed entries")
}

/// How each process holds its block of V.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layout {
    /// A dense backend matrix.
    Dense,
    /// [`SparseData`] (its non-zeros).
    Sparse,
    /// [`Observed`] entries (see [`observed`]).
    Masked,
}

/// One fit's result, exported: W, H, the loss history, the iterations, and the mean of V
/// as the data term gives it (from which a fit chooses its scale and ε).
type Outcome = (Vec<f64>, Vec<f64>, Vec<f64>, usize, f64);

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
    let mean = b.data_mean(v);
    let model = params.fitting(b, v).start(&w0, &h0).run()?;
    Ok((
        export(b, model.w()),
        export(b, model.h()),
        model.loss_history().iter().map(|r| r.loss).collect(),
        model.n_iter(),
        mean,
    ))
}

/// The fit on P simulated processes: each thread wraps its block (dense, sparse or observed
/// entries) in a [`Distributed`] and fits from its rows of W0; the results of every process,
/// in rank order.
#[allow(clippy::too_many_arguments)]
fn fit_distributed<T: Scalar, B: DenseBackend<T> + Sync>(
    b: &B,
    params: &crate::NmfValidParams,
    p: usize,
    layout: Layout,
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
                    match layout {
                        Layout::Sparse => {
                            let local = sparse::<T>(&vl, rows.len(), n);
                            let d = Distributed::<SparseData<T>, _>::new::<T, B>(b, local, comm)?;
                            fit_on::<T, B, Distributed<SparseData<T>, _>>(
                                b, params, &d, &wl, h0, k, n,
                            )
                        }
                        Layout::Masked => {
                            let local = observed::<T>(&vl, rows.len(), n, rows.start);
                            let d = Distributed::<Observed<T>, _>::new::<T, B>(b, local, comm)?;
                            fit_on::<T, B, Distributed<Observed<T>, _>>(
                                b, params, &d, &wl, h0, k, n,
                            )
                        }
                        Layout::Dense => {
                            let local = mat(b, rows.len(), n, &vl);
                            let d = Distributed::<B::Mat, _>::new::<T, B>(b, local, comm)?;
                            fit_on::<T, B, Distributed<B::Mat, _>>(b, params, &d, &wl, h0, k, n)
                        }
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
/// the same start within [`mu_bound`], for MU (Frobenius, KL, β = 1.5) on dense V, sparse V
/// (Frobenius, KL) and observed entries ([`Observed`], Frobenius and KL: their weighted
/// statistics have the same structure, one factor of W in the numerator, WH and W in the
/// denominator, so the same recurrence holds). Every process ends with the same H, bit for
/// bit, the same loss history and the same number of iterations, HALS (one sweep per
/// half-step) included; on P = 1 the fit is the single-process one bit for bit for dense V and
/// observed entries. HALS is compared with the single fit one half-step at a time
/// ([`check_distributed_hals_half_step`]): its coordinate steps subtract, so an entry-by-entry
/// relative bound such as MU's does not carry over many iterations. The solver ANLS is refused
/// on distributed observed entries.
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
        let bound = mu_bound(iters, m, n, k, u);
        let mu = solver == Solver::Mu;
        // Sparse V and observed entries: Frobenius and KL (sparse V has no general β
        // statistics; HALS refuses weighted data).
        let mut layouts = vec![Layout::Dense];
        if matches!(loss, Loss::Frobenius | Loss::KullbackLeibler) {
            layouts.push(Layout::Sparse);
            if mu {
                layouts.push(Layout::Masked);
            }
        }
        for layout in layouts {
            let single = if layout == Layout::Masked {
                fit_on::<T, B, Observed<T>>(b, &params, &observed::<T>(&v, m, n, 0), &w0, &h0, k, n)
            } else {
                fit_on::<T, B, B::Mat>(b, &params, &mat(b, m, n, &v), &w0, &h0, k, n)
            };
            let single = single.expect("the single fit runs");
            for p in 1..=3 {
                let what = format!("{loss} {solver:?}, P = {p}, {layout:?}");
                let outs: Vec<Outcome> = fit_distributed(b, &params, p, layout, &v, &w0, &h0, rows)
                    .into_iter()
                    .map(|r| r.expect("the distributed fit runs"))
                    .collect();
                let w: Vec<f64> = outs.iter().flat_map(|o| o.0.iter().copied()).collect();
                for o in &outs[1..] {
                    assert_eq!(o.1, outs[0].1, "{what}: H differs between processes");
                    assert_eq!(o.2, outs[0].2, "{what}: loss histories differ");
                    assert_eq!(o.3, outs[0].3, "{what}: iterations differ");
                    assert_eq!(o.4, outs[0].4, "{what}: means of V differ");
                }
                assert_eq!(outs[0].3, single.3, "{what}: iterations");
                // The mean of all of V: m·n (or fewer) non-negative terms added in f64 in
                // another order, each way within γ_{mn} of the exact sum.
                let g = (m * n) as f64 * f64::EPSILON / 2.0;
                let (mean, want) = (outs[0].4, single.4);
                assert!(
                    (mean - want).abs() <= 2.0 * g * want,
                    "{what}: the mean of V is {mean}, on one process {want}"
                );
                if mu {
                    let (ew, eh) = (max_rel(&w, &single.0), max_rel(&outs[0].1, &single.1));
                    assert!(
                        ew <= bound && eh <= bound,
                        "{what}: W within {ew:e}, H within {eh:e} of the single fit, bound {bound:e}"
                    );
                }
                if p == 1 && layout != Layout::Sparse {
                    assert_eq!(w, single.0, "{what}: one process is the plain fit");
                    assert_eq!(outs[0].1, single.1, "{what}: one process is the plain fit");
                }
            }
        }
    }
    // Masked least squares needs a k×k Gram matrix per column: refused, naming MU.
    let params = Nmf::params(k)
        .solver(Solver::Anls)
        .max_iter(2)
        .check()
        .expect("valid");
    for r in fit_distributed(b, &params, 2, Layout::Masked, &v, &w0, &h0, rows) {
        match r {
            Err(NmfError::SolverNotForData { solver, reason, .. }) => {
                assert_eq!(solver, Solver::Anls);
                assert!(reason.contains("mu"), "{reason}");
            }
            other => panic!("ANLS on distributed observed entries: {other:?}"),
        }
    }
}

/// P = 1 processes whose all-reduce, once armed, multiplies the first `kn` values by
/// `1 + δ` and the rest by `1 − δ`: the statistics WᵀV (k×n) and WᵀW (k×k) of a HALS H
/// half-step, perturbed to check that the comparison of [`check_distributed_hals_half_step`]
/// sees a difference larger than its bound.
#[derive(Debug)]
struct Perturbing {
    kn: usize,
    delta: f64,
    armed: Cell<bool>,
}

impl Collective for Perturbing {
    fn rank(&self) -> usize {
        0
    }
    fn size(&self) -> usize {
        1
    }
    fn all_reduce_sum(&self, buf: &mut [f64]) {
        if self.armed.get() {
            for (i, x) in buf.iter_mut().enumerate() {
                *x *= if i < self.kn {
                    1.0 + self.delta
                } else {
                    1.0 - self.delta
                };
            }
        }
    }
}

/// The bound on `|x_A − x_B|`, entry by entry, between two HALS sweeps (one sweep over the
/// coordinates 0, 1, …, k−1 of each lane, no penalty) from the same factor `x_old` whose
/// statistics differ by at most `dnum` (entry by entry, laid out as the factor) and `dgram`
/// (k×k row-major): `num`, `gram` and `x_new` are run A's. Lane l's coordinate a is at
/// `at(l, a)` in the factor-shaped slices (a column of H: `a·n + l`; a row of W: `l·k + a`);
/// `u` is the unit roundoff of the scalar type.
///
/// Coordinate a of a lane: each run computes ĉ = x_a + (N_a − Σ_b G_ab x_b)/G_aa =
/// (N_a − S_a)/G_aa with S_a = Σ_{b≠a} G_ab x_b (the new x_b for b < a, the old for b > a),
/// then max(ε, ĉ). In exact arithmetic on each run's own statistics:
/// - |G^A_ab x^A_b − G^B_ab x^B_b| ≤ ΔG_ab·x^A_b + (G_ab + ΔG_ab)·e_b (e_b the bound of the
///   earlier coordinate b < a; e_b = 0 for b > a, the same old value), so
///   |Δ(N_a − S_a)| ≤ ΔN_a + Σ_{b≠a} ΔG_ab x^A_b + Σ_{b<a} (G_ab + ΔG_ab) e_b;
/// - dividing by G^B_aa ≥ G_aa − ΔG_aa: |Δĉ| ≤ (|Δ(N_a − S_a)| + |ĉ_A|·ΔG_aa)/(G_aa − ΔG_aa).
///
/// Each run also rounds its own step: the dot product Σ_b G_ab x_b of
/// [`gram_dot`](crate::kernels::gram_dot) (eight partial sums of ⌈k/8⌉ terms, three levels of
/// additions) is within γ_{⌈k/8⌉+3} of its value, then N − dot, ÷G_aa and x_a + · round once
/// each: the step is within r = γ_{⌈k/8⌉+6}·((N_a + S_a + 2G_aa x_a)/G_aa + x_a) of ĉ (x_a
/// the old value), with run B's N, S and G_aa taken at their bounds from run A's. So
/// e_a = |Δĉ| + r_A + r_B, and max(ε, ·) is 1-Lipschitz. The factor 1.01 covers the
/// second-order terms and the rounding of this computation in f64.
#[allow(clippy::too_many_arguments)]
pub fn hals_sweep_bound(
    (lanes, k): (usize, usize),
    at: impl Fn(usize, usize) -> usize,
    num: &[f64],
    dnum: &[f64],
    gram: &[f64],
    dgram: &[f64],
    x_old: &[f64],
    x_new: &[f64],
    u: f64,
) -> Vec<f64> {
    let c = (k.div_ceil(8) + 6) as f64;
    let gamma = c * u / (1.0 - c * u);
    let mut e = vec![0.0; x_old.len()];
    for l in 0..lanes {
        for a in 0..k {
            let (g, dg) = (gram[a * k + a], dgram[a * k + a]);
            let (na, dn, xa) = (num[at(l, a)], dnum[at(l, a)], x_old[at(l, a)]);
            let xb = |b: usize| {
                if b < a {
                    x_new[at(l, b)]
                } else {
                    x_old[at(l, b)]
                }
            };
            let others = || (0..k).filter(|&b| b != a);
            let s: f64 = others().map(|b| gram[a * k + b] * xb(b)).sum();
            let ds: f64 = others().map(|b| dgram[a * k + b] * xb(b)).sum::<f64>()
                + (0..a)
                    .map(|b| (gram[a * k + b] + dgram[a * k + b]) * e[at(l, b)])
                    .sum::<f64>();
            let c_hat = (na - s) / g;
            let dc = (dn + ds + c_hat.abs() * dg) / (g - dg);
            let r_a = gamma * ((na + s + 2.0 * g * xa) / g + xa);
            let r_b = gamma * ((na + dn + s + ds + 2.0 * (g + dg) * xa) / (g - dg) + xa);
            e[at(l, a)] = 1.01 * (dc + r_a + r_b);
        }
    }
    e
}

/// [`hals_sweep_bound`] for an H half-step (the lanes are the n columns of the k×n H,
/// row-major) whose statistics N = WᵀV and G = WᵀW differ by at most `delta` relative, entry
/// by entry (sums of non-negative terms).
pub fn hals_h_bound(
    num: &[f64],
    gram: &[f64],
    h_old: &[f64],
    h_new: &[f64],
    (k, n): (usize, usize),
    delta: f64,
    u: f64,
) -> Vec<f64> {
    let dnum: Vec<f64> = num.iter().map(|x| delta * x).collect();
    let dgram: Vec<f64> = gram.iter().map(|x| delta * x).collect();
    hals_sweep_bound(
        (n, k),
        |l, a| a * n + l,
        num,
        &dnum,
        gram,
        &dgram,
        h_old,
        h_new,
        u,
    )
}

/// Where `|a − b|` exceeds `bound` most: `(entry, |a − b|, bound)`.
pub(super) fn worst(a: &[f64], b: &[f64], bound: &[f64]) -> (usize, f64, f64) {
    (0..a.len())
        .map(|t| (t, (a[t] - b[t]).abs(), bound[t]))
        .max_by(|x, y| (x.1 - x.2).total_cmp(&(y.1 - y.2)))
        .expect("entries")
}

/// One HALS H half-step on `v` from (W0, H0): the new H, exported.
pub(super) fn hals_h_step<T: Scalar, B: DataOps<T, V>, V>(
    b: &B,
    v: &V,
    w0: B::Mat,
    h0: B::Mat,
    eps: T,
    opts: HalsOptions,
) -> Vec<f64> {
    let mut hals = HalsSolver::new(b, v, w0, h0, eps, opts).expect("the HALS half-step starts");
    hals.update_h();
    export(b, hals.h())
}

/// HALS on V split over P = 2, 3 simulated processes (dense and sparse blocks): along the
/// single-process fit's iterates (W_t, H_t), t = 0, 1, 2, 3, one H half-step (one sweep) from
/// (W_t, H_t) with the statistics WᵀV and WᵀW all-reduced gives the single process's H within
/// [`hals_h_bound`] entry by entry, with δ the relative difference of the two ways of summing
/// over the m rows: each within γ_{m+2} of the exact sum (the local sums of m_p terms, their
/// f64 sum, the rounding back to the scalar type; nonnegative terms), so δ = 2γ_{m+2}/(1 − γ).
/// The bound is not vacuous: the same half-step with the statistics perturbed by 20δ (WᵀV up,
/// WᵀW down, through a perturbing all-reduce) stays within the bound for 20δ and leaves the
/// bound for δ.
pub fn check_distributed_hals_half_step<T: Scalar, B: DenseBackend<T> + Sync>(b: &B) {
    let u = T::unit_roundoff();
    let (m, n, k) = (23, 9, 4);
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
            .expect("the single HALS starts");
    for t in 0..4 {
        let (wt, ht) = (export(b, path.w()), export(b, path.h()));
        // Run A: the single process, and its statistics.
        let ha =
            hals_h_step::<T, B, B::Mat>(b, &vd, mat(b, m, k, &wt), mat(b, k, n, &ht), eps, opts);
        let mut work = DataOps::<T, B::Mat>::data_work(b, &vd, k, Loss::Frobenius);
        let (mut num, mut gram) = (b.zeros(k, n), b.zeros(k, k));
        b.frobenius_stats_h(&vd, &mut work, &mat(b, m, k, &wt), &mut num, &mut gram);
        let (num, gram) = (export(b, &num), export(b, &gram));
        let bound = hals_h_bound(&num, &gram, &ht, &ha, (k, n), delta, u);
        // Run B: P processes.
        for p in 2..=3 {
            for layout in [Layout::Dense, Layout::Sparse] {
                let group = ThreadGroup::new(p);
                let hs: Vec<Vec<f64>> = std::thread::scope(|s| {
                    let handles: Vec<_> = (0..p)
                        .map(|r| {
                            let (group, v, wt, ht) = (&group, &v, &wt, &ht);
                            s.spawn(move || {
                                let rows = block_rows(m, p, r);
                                let (vl, wl) =
                                    (rows_of(v, n, rows.clone()), rows_of(wt, k, rows.clone()));
                                let (w0, h0) = (mat(b, rows.len(), k, &wl), mat(b, k, n, ht));
                                let comm = group.rank(r);
                                if layout == Layout::Sparse {
                                    let local = sparse::<T>(&vl, rows.len(), n);
                                    let d = Distributed::<SparseData<T>, _>::new::<T, B>(
                                        b, local, comm,
                                    )
                                    .expect("shapes");
                                    hals_h_step::<T, B, Distributed<SparseData<T>, _>>(
                                        b, &d, w0, h0, eps, opts,
                                    )
                                } else {
                                    let local = mat(b, rows.len(), n, &vl);
                                    let d = Distributed::<B::Mat, _>::new::<T, B>(b, local, comm)
                                        .expect("shapes");
                                    hals_h_step::<T, B, Distributed<B::Mat, _>>(
                                        b, &d, w0, h0, eps, opts,
                                    )
                                }
                            })
                        })
                        .collect();
                    handles
                        .into_iter()
                        .map(|h| h.join().expect("no panic"))
                        .collect()
                });
                for h in &hs[1..] {
                    assert_eq!(
                        h, &hs[0],
                        "iterate {t}, P = {p}, {layout:?}: H differs between processes"
                    );
                }
                let (at, diff, bd) = worst(&hs[0], &ha, &bound);
                assert!(
                    diff <= bd,
                    "iterate {t}, P = {p}, {layout:?}: H entry {at} differs by {diff:e}, bound {bd:e}"
                );
            }
        }
        // The same half-step with the statistics perturbed by 20δ.
        let big = 20.0 * delta;
        let perturbing = Perturbing {
            kn: k * n,
            delta: big,
            armed: Cell::new(false),
        };
        let d = Distributed::<B::Mat, _>::new::<T, B>(b, mat(b, m, n, &v), &perturbing)
            .expect("shapes");
        let mut hals = HalsSolver::<T, B, Distributed<B::Mat, _>>::new(
            b,
            &d,
            mat(b, m, k, &wt),
            mat(b, k, n, &ht),
            eps,
            opts,
        )
        .expect("starts");
        perturbing.armed.set(true);
        hals.update_h();
        let hp = export(b, hals.h());
        // The perturbed statistics are the single's times 1 ± 20δ, rounded once more.
        let big_bound = hals_h_bound(&num, &gram, &ht, &ha, (k, n), big + 2.0 * u, u);
        let (at, diff, bd) = worst(&hp, &ha, &big_bound);
        assert!(
            diff <= bd,
            "iterate {t}, perturbed: entry {at} differs by {diff:e}, bound {bd:e}"
        );
        let (at, diff, bd) = worst(&hp, &ha, &bound);
        assert!(
            diff > bd,
            "iterate {t}: statistics perturbed by 20δ move H at most {diff:e} (entry {at}), within the bound for δ ({bd:e}): the bound does not see them"
        );
        path.step();
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
        let layout = if sparse_v {
            Layout::Sparse
        } else {
            Layout::Dense
        };
        v[bad_row * n + bad_col] = bad;
        let params = Nmf::params(k).max_iter(3).check().expect("valid");
        for r in fit_distributed(b, &params, 3, layout, &v, &w0, &h0, (m, n, k)) {
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
