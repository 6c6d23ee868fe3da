//! Cyclic coordinate descent for the generalized KL divergence (Hsieh & Dhillon 2011, "Fast
//! coordinate descent methods with variable selection for non-negative matrix
//! factorization", KDD), with safeguarded Newton steps that never raise the objective, the ε
//! lower bound and L1/L2 penalties.
//!
//! # The one-dimensional problem
//! Written for one entry x = h_aj of H (W fixed, the other entries of column j fixed); the rows
//! of W are symmetric (Vᵀ ≈ HᵀWᵀ). With wᵢ = W_ia, vᵢ = V_ij and cᵢ = (WH)_ij − wᵢ·h_aj ≥ 0
//! (the other coordinates' share of column j of WH), the penalised objective as a function of
//! x is, up to a constant,
//!
//! `f(x) = Σᵢ [wᵢ·x − vᵢ·log(cᵢ + wᵢ·x)] + l1·x + ½·l2·x²`  over `{x ≥ ε}`
//!
//! (terms with vᵢ = 0 contribute wᵢ·x only: 0·log is 0). Its derivatives are
//!
//! - `g(x) = f'(x) = Σᵢ wᵢ + l1 + l2·x − Σᵢ wᵢvᵢ/(cᵢ + wᵢx)`,
//! - `g'(x) = l2 + Σᵢ wᵢ²vᵢ/(cᵢ + wᵢx)² ≥ 0` (f is convex, g increasing),
//! - `g''(x) = −2 Σᵢ wᵢ³vᵢ/(cᵢ + wᵢx)³ ≤ 0` (g is concave).
//!
//! # The safeguarded step, and why f never rises
//! From x₀ ≥ ε, with λᵢ = cᵢ + wᵢx₀ (column j of WH), `num = Σᵢ wᵢvᵢ/λᵢ`,
//! `hes = Σᵢ wᵢ²vᵢ/λᵢ²` and `den = Σᵢ wᵢ + l1`, three candidate points:
//!
//! - the Newton point `x_N = x₀ − g(x₀)/g'(x₀)`;
//! - the multiplicative point `x_MU = max(ε, x₀·num/den)` (with `l2 > 0`, the positive root
//!   of `l2·x² + den·x − x₀·num = 0` lifted to ε, [`mu_step_l2`]);
//! - the right-hand safe point `x_R = max(ε, y*)`, y* the positive root of
//!   `l2·y² + (den − num + hes·x₀)·y − hes·x₀² = 0` (with l2 = 0,
//!   `y* = hes·x₀²/(g(x₀) + hes·x₀)`).
//!
//! The step taken is
//!
//! - `x₁ = max(ε, x_N)` when `g(x₀) ≤ 0`,
//! - `x₁ = max(ε, x_N, min(x_MU, x_R))` when `g(x₀) > 0`.
//!
//! **Claim: f(x₁) ≤ f(x₀)** (in exact arithmetic; every case below includes L1, L2, the clamp
//! at ε and a root below ε).
//!
//! 1. *f(x_MU) ≤ f(x₀).* Lee & Seung's bound with the other coordinates lumped into cᵢ: with
//!    αᵢ = wᵢx₀/λᵢ ∈ (0, 1], Jensen's inequality for the convex −log gives
//!    `−log(cᵢ + wᵢx) ≤ −αᵢ·log(wᵢx/αᵢ) − (1 − αᵢ)·log(cᵢ/(1 − αᵢ))`, with equality at
//!    x = x₀ (the second term is absent when cᵢ = 0). So
//!    `G(x) = den·x + ½·l2·x² − x₀·num·log x + const` is ≥ f with G(x₀) = f(x₀), and G is
//!    convex with the single minimiser over `{x ≥ ε}` above (its derivative
//!    `den + l2·x − x₀·num/x` vanishes at the unconstrained root; clamping a convex
//!    function's minimiser to the interval gives the constrained one). So
//!    f(x_MU) ≤ G(x_MU) ≤ G(x₀) = f(x₀). G touches f at x₀, so G'(x₀) = g(x₀).
//! 2. *f(x_R) ≤ f(x₀) when g(x₀) > 0.* For 0 < t ≤ x₀, `cᵢ + wᵢt ≥ (cᵢ + wᵢx₀)·t/x₀` (as
//!    cᵢ ≥ 0), so `f''(t) ≤ l2 + hes·(x₀/t)²`. Taylor's formula with the integral remainder,
//!    `f(y) = f(x₀) + g(x₀)(y − x₀) + ∫_y^x₀ (t − y)·f''(t) dt` for y < x₀, then gives
//!    `f(y) ≤ U(y) = f(x₀) + g(x₀)(y − x₀) + ½·l2·(x₀ − y)² + hes·x₀²·(ln(x₀/y) + y/x₀ − 1)`
//!    on (0, x₀], with U(x₀) = f(x₀). U is convex (`U'' = l2 + hes·x₀²/y² ≥ 0`) and
//!    `y·U'(y) = g(x₀)·y − l2·(x₀ − y)·y − hes·x₀·(x₀ − y)` vanishes at y*, the root above;
//!    U'(x₀) = g(x₀) > 0 puts y* below x₀, so x_R = max(ε, y*) minimises U over [ε, x₀] and
//!    f(x_R) ≤ U(x_R) ≤ U(x₀) = f(x₀). Near the root x_R is nearly the Newton point (its
//!    curvature bound tends to f''(x₀)), so from the right the steps converge fast, where
//!    x_MU alone would converge only linearly.
//! 3. *g(x₀) < 0.* Then some wᵢvᵢ > 0, so g'(x₀) > 0 and x_N > x₀ ≥ ε: x₁ = x_N. As g is
//!    concave, its tangent at x₀ lies above it: g(x_N) ≤ g(x₀) + g'(x₀)(x_N − x₀) = 0. g is
//!    increasing, so g ≤ g(x_N) ≤ 0 on [x₀, x_N]: f does not increase from x₀ to x_N (the
//!    Newton point never passes the root r). f(x₁) ≤ f(x₀).
//! 4. *g(x₀) = 0.* x_N = x₀ and x₁ = x₀.
//! 5. *g(x₀) > 0.* Let s = min(x_MU, x_R): f(s) ≤ f(x₀) by 1 and 2. (a) x₁ ≤ x₀: x_N < x₀
//!    (or is not finite, then left out: a zero g' means f is linear with slope g(x₀) > 0);
//!    ε ≤ x₀; x_R ≤ x₀ by 2; and G'(x₀) = g(x₀) > 0 with G convex puts G's minimiser over
//!    `{x ≥ ε}`, x_MU, at or below x₀. (b) x₁ ≥ s by the max. So x₁ ∈ [s, x₀], and f,
//!    convex, is at most max(f(s), f(x₀)) = f(x₀) on that segment. The root may lie anywhere,
//!    including below ε (then g > 0 on all of `{x ≥ ε}`, f's constrained minimiser is ε, and
//!    x₁ ∈ [s, x₀] still holds); the Newton point may overshoot far left of the root (by
//!    concavity it always lands at or left of it): then s, not x_N, is the max.
//!
//! Several Newton steps on the same coordinate repeat this from the new point, so f decreases
//! at every step; the objective is f plus terms that do not depend on x, so the penalised KL
//! objective never increases after any coordinate step, hence after every column of H and
//! every row of W, whatever the number of steps. (The safeguard the issue first proposed,
//! `max(ε, x_N, x_MU)`, is also monotone by the same argument, but from the right of the root
//! it takes x_MU, a linearly converging step, nearly every time; with x_R a
//! one-dimensional problem is solved to rounding in a handful of steps, see the suite's
//! `check_cd_kl_step_minimises_one_dimension`.)
//!
//! From the left of the root Newton's steps increase monotonically to it (quadratically near
//! it); from the right, the first step lands at x_N ≤ r when that is above x_R and x_MU, and
//! the steps continue from the left.
//!
//! # Floating point
//! - **No division by zero.** Column j of WH, λ, is computed afresh at the start of each
//!   column (`λᵢ = Σ_b w_ib·h_bj`, a sum of non-negative terms in a fixed order, so at least
//!   the rounded `wᵢ·h_aj` of each coordinate), then kept up to date incrementally after each
//!   step, `λᵢ ← max(λᵢ + wᵢ·(x₁ − x₀), wᵢ·x₁)`: the true value is at least wᵢ·x₁, so the floor
//!   only removes cancellation error, and λᵢ ≥ wᵢ·x ≥ ε·wᵢ > 0 for every coordinate x of the
//!   lane. The sums use qᵢ = wᵢ/λᵢ ≤ 1/x (finite, as x ≥ ε and ε is a normal number), so a
//!   zero vᵢ gives exactly 0, and a zero column of W (all wᵢ at ε) is no special case.
//! - **A step that is not finite keeps the entry** (as [`mu_step`]
//!   does): the candidate is taken only if it is a finite number, else x_MU, and x_MU itself
//!   falls back to x₀.
//! - **Bit-identical on every backend.** The sweep ([`cd_kl_lane`]) runs in nmf-core on
//!   slices, every sum in a fixed order (eight interleaved partial sums, combined as
//!   [`gram_dot`](crate::kernels::gram_dot) does), on copies of V (or V's own compressed
//!   arrays) and of the fixed factor that are the same bits on every backend; the backend
//!   only hands over the lanes
//!   ([`MatrixBackend::for_each_lane`](crate::MatrixBackend::for_each_lane)), perhaps on
//!   several threads, and a lane's result does not depend on which thread or block it is in.
//!
//! # Sparse V
//! For V given by its stored entries ([`DataOps::data_compressed`], e.g.
//! [`SparseData`](crate::sparse::SparseData)) nothing above changes but where the sums run.
//! A term with vᵢ = 0 contributes wᵢ·x to f, so to g only wᵢ, already in `den = Σᵢ wᵢ + l1`
//! (Σᵢ wᵢ over all i, the column sum of the fixed factor, computed once per half-step as for
//! dense V), and nothing to `num`, `hes`, g' or g''. So num and hes, the only sums that read
//! V, are the same sums over the stored entries of the lane only, and λᵢ is needed only
//! there. A sparse lane is therefore: the stored indices and values of column j of V (its
//! compressed columns) for a column of H, of row i (its compressed rows) for a row of W; the
//! fixed factor's entries gathered at those indices (k·nnz of the lane, into per-thread
//! scratch); and λ at those indices only, computed and kept up to date exactly as above
//! ([`cd_kl_lane`] runs unchanged on the gathered lane, with the full sums). The functions
//! f, g, g', g'' are the same functions of x, so the proof holds word for word, and so do the
//! floating-point points (the stored λᵢ are the same bits as the dense lane's at those
//! entries: the same products in the same order). Only the order of num's and hes's
//! additions differs from the dense lane's (the zero terms left out shift the other terms
//! between the eight partial sums), so the two agree to rounding, not bit for bit; the
//! sparse sweep is itself bit-identical on every backend and thread count. A sweep costs
//! O(nnz·k) per Newton step, not O(m·n·k).
//!
//! # Memory
//! For dense V, [`CdKlSolver::new`] keeps two copies of V (row-major, for the rows of W, and
//! column-major, for the columns of H: each sweep reads its lanes contiguously), the fixed
//! factor in the layout of the sweep (m·k or k·n), per-thread scratch of max(m, n) + k
//! entries, and [`MuSolver`]'s buffers for the loss evaluation (one m×n): about three m×n
//! matrices besides V, against MU-KL's one. For sparse V it copies nothing of V (it reads
//! V's own compressed rows and columns): the fixed factor, per-thread scratch of
//! (k + 1)·L + k entries, L the most stored entries of a row or column of V, and the sparse
//! data term's O((m + n)·k) buffers; no m×n buffer. WH is never stored whole: each lane
//! computes its own column (row) of WH (at the stored entries only, for sparse V). Nothing is
//! allocated after `new`.
//!
//! # Number of Newton steps
//! Hsieh & Dhillon run a few Newton steps per variable before moving on. Here
//! [`CdKlOptions::newton_steps`] bounds them (default 2) and a coordinate stops early once a
//! step moves it by at most [`CdKlOptions::newton_tol`] of its value (default 1e-3): the
//! later coordinates change its optimum anyway, so solving it exactly is wasted work.

use std::sync::Mutex;

use multiversion::multiversion;

use super::{Evaluation, MuSolver, Penalty};
use crate::kernels::{F64Sum, mu_step, mu_step_l2};
use crate::lane::Lanes;
use crate::sparse::CsrRef;
use crate::{DataOps, Loss, NmfError, Scalar};

/// Settings of the KL coordinate descent (see the [module docs](self), "Number of Newton
/// steps").
///
/// ```
/// use nmf_core::CdKlOptions;
/// let o = CdKlOptions::default();
/// assert_eq!((o.newton_steps, o.newton_tol), (2, 1e-3));
/// assert!(o.check().is_ok());
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CdKlOptions {
    /// The most safeguarded Newton steps per coordinate and sweep (≥ 1; default 2).
    pub newton_steps: usize,
    /// A coordinate stops early once a step moves it by at most this fraction of its new
    /// value (finite, ≥ 0; default 1e-3; 0 always makes `newton_steps` steps).
    pub newton_tol: f64,
}

impl Default for CdKlOptions {
    fn default() -> Self {
        Self {
            newton_steps: 2,
            newton_tol: 1e-3,
        }
    }
}

impl CdKlOptions {
    /// Checks the two settings.
    ///
    /// # Errors
    /// [`NmfError::InvalidSolverOption`] naming the option and its value.
    pub fn check(&self) -> Result<(), NmfError> {
        if self.newton_steps == 0 {
            return Err(NmfError::InvalidSolverOption {
                option: "cd newton_steps (the Newton steps per coordinate)",
                reason: "must be ≥ 1, got 0".into(),
            });
        }
        if !(self.newton_tol.is_finite() && self.newton_tol >= 0.0) {
            return Err(NmfError::InvalidSolverOption {
                option: "cd newton_tol (the Newton steps' relative stop)",
                reason: format!("must be finite and ≥ 0, got {}", self.newton_tol),
            });
        }
        Ok(())
    }
}

/// The settings of one sweep, shared by every lane of a half-step.
#[derive(Debug, Clone, Copy)]
pub struct CdKlStep<T> {
    /// The L1 weight of the factor swept.
    pub l1: T,
    /// Its L2 weight.
    pub l2: T,
    /// The lower bound ε.
    pub eps: T,
    /// The most Newton steps per coordinate (≥ 1).
    pub newton_steps: usize,
    /// The relative change that stops a coordinate's Newton steps.
    pub newton_tol: T,
}

/// The safeguarded step of one coordinate from x₀ (see the [module docs](self)): `sw` is
/// `Σᵢ wᵢ`, `num` is `Σᵢ wᵢvᵢ/λᵢ` and `hes` is `Σᵢ wᵢ²vᵢ/λᵢ²` at x₀. With g(x₀) ≤ 0 it is
/// `max(ε, x_N)`; with g(x₀) > 0, `max(ε, x_N, min(x_MU, x_R))`.
///
/// ```
/// use nmf_core::update::cd_kl_step;
/// // f(x) = 2x − 2·log(x) (w = (1, 1), v = (1, 1), c = 0): minimiser 1; from 1 it stays.
/// assert_eq!(cd_kl_step(1.0_f64, 2.0, 2.0, 2.0, 0.0, 0.0, 1e-9), 1.0);
/// // From 4: g = 2 − 2/4 > 0; Newton: 4 − 1.5/(2/16) = −8; MU: 4·0.5/2 = 1;
/// // x_R = hes·x₀²/(g + hes·x₀) = 2/(1.5 + 0.5) = 1 (exact here: c = 0).
/// assert_eq!(cd_kl_step(4.0_f64, 2.0, 0.5, 0.125, 0.0, 0.0, 1e-9), 1.0);
/// ```
#[inline(always)]
pub fn cd_kl_step<T: Scalar>(x0: T, sw: T, num: T, hes: T, l1: T, l2: T, eps: T) -> T {
    let den = sw + l1;
    let g = den + l2 * x0 - num;
    let xn = x0 - g / (l2 + hes);
    if g <= T::zero() {
        let xmu = || {
            if l2 > T::zero() {
                mu_step_l2(x0, num, den, l2, eps)
            } else {
                mu_step(x0, num, den, eps)
            }
        };
        return if xn.is_finite() { xn.max(eps) } else { xmu() };
    }
    let xmu = if l2 > T::zero() {
        mu_step_l2(x0, num, den, l2, eps)
    } else {
        mu_step(x0, num, den, eps)
    };
    // x_R: the minimiser of the upper bound with curvature l2 + hes·(x₀/t)² on (0, x₀], the
    // positive root of l2·y² + B·y − hes·x₀² = 0, B = den − num + hes·x₀.
    let hx = hes * x0;
    let b = den - num + hx;
    let two = T::one() + T::one();
    let xr = two * hx * x0 / (b + (b * b + two * two * l2 * hx * x0).sqrt());
    let safe = if xr.is_finite() {
        xr.max(eps).min(xmu)
    } else {
        xmu
    };
    if xn.is_finite() {
        xn.max(safe).max(eps)
    } else {
        safe.max(eps)
    }
}

/// The combination of eight partial sums used everywhere here (as in
/// [`gram_dot`](crate::kernels::gram_dot)).
#[inline(always)]
fn combine<T: Scalar>(s: &[T; 8]) -> T {
    ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]))
}

/// `(Σᵢ vᵢqᵢ, Σᵢ vᵢqᵢ²)` with `qᵢ = wᵢ/λᵢ`, after first applying the previous coordinate's
/// step to λ when `prev` is given: `λᵢ ← max(λᵢ + pᵢ·d, pᵢ·x)` for `prev = (p, d, x)`.
#[multiversion(targets("x86_64+avx512f+avx512vl+avx512dq+avx512bw", "x86_64+avx2+fma"))]
fn lane_sums<T: Scalar>(lam: &mut [T], w: &[T], v: &[T], prev: Option<(&[T], T, T)>) -> (T, T) {
    let len = lam.len();
    assert!(w.len() == len && v.len() == len, "lane_sums: lengths");
    let (mut s1, mut s2) = ([T::zero(); 8], [T::zero(); 8]);
    let full = len / 8 * 8;
    // Entry i goes to partial sum i mod 8, in increasing i (the tail too).
    let mut add = |l: usize, wi: T, vi: T, li: T| {
        let q = wi / li;
        let vq = vi * q;
        s1[l] += vq;
        s2[l] += vq * q;
    };
    match prev {
        Some((p, d, x)) => {
            assert!(p.len() == len, "lane_sums: lengths");
            let chunks = lam[..full]
                .chunks_exact_mut(8)
                .zip(w[..full].chunks_exact(8))
                .zip(v[..full].chunks_exact(8))
                .zip(p[..full].chunks_exact(8));
            for (((lc, wc), vc), pc) in chunks {
                for l in 0..8 {
                    let li = (lc[l] + pc[l] * d).max(pc[l] * x);
                    lc[l] = li;
                    add(l, wc[l], vc[l], li);
                }
            }
            for l in 0..len - full {
                let i = full + l;
                let li = (lam[i] + p[i] * d).max(p[i] * x);
                lam[i] = li;
                add(l, w[i], v[i], li);
            }
        }
        None => {
            let chunks = lam[..full]
                .chunks_exact(8)
                .zip(w[..full].chunks_exact(8))
                .zip(v[..full].chunks_exact(8));
            for ((lc, wc), vc) in chunks {
                for l in 0..8 {
                    add(l, wc[l], vc[l], lc[l]);
                }
            }
            for l in 0..len - full {
                let i = full + l;
                add(l, w[i], v[i], lam[i]);
            }
        }
    }
    (combine(&s1), combine(&s2))
}

/// `λ ← Σ_a x_a·fixed_a` (rows of `fixed`, in increasing a).
#[multiversion(targets("x86_64+avx512f+avx512vl+avx512dq+avx512bw", "x86_64+avx2+fma"))]
fn lane_product<T: Scalar>(lam: &mut [T], x: &[T], fixed: &[T]) {
    let len = lam.len();
    lam.fill(T::zero());
    for (a, &xa) in x.iter().enumerate() {
        let row = &fixed[a * len..(a + 1) * len];
        for (l, &f) in lam.iter_mut().zip(row) {
            *l += f * xa;
        }
    }
}

/// One cyclic sweep of safeguarded Newton steps over the k coordinates of one lane `x` (a
/// column of H, or a row of W), the penalised KL objective in that lane never rising (see the
/// [module docs](self) for the step and its proof):
///
/// - `fixed` (k·len, row a contiguous) is the fixed factor: row a is column a of W (len = m)
///   for a column of H, row a of H (len = n) for a row of W;
/// - `sums[a]` is `Σ` of row a of `fixed` (`Σᵢ wᵢₐ`);
/// - `v` (len) is the lane of V (column j or row i);
/// - `lam` (len) is scratch: it ends holding the lane of WH at the new `x` (up to rounding).
///
/// Returns `Σ_a (x_a⁺ − x_a)²` in `f64`. Every sum runs in a fixed order, so the result is
/// the same bits wherever it runs.
///
/// ```
/// use nmf_core::update::{CdKlStep, cd_kl_lane};
/// // V = W·h exactly, W = [[1, 0], [0, 1], [1, 1]] (fixed, stored by columns): h → (1, 2).
/// let fixed = [1.0_f64, 0.0, 1.0, 0.0, 1.0, 1.0];
/// let sums = [2.0, 2.0];
/// let v = [1.0, 2.0, 3.0];
/// let (mut x, mut lam) = ([0.5, 0.5], [0.0; 3]);
/// let step = CdKlStep { l1: 0.0, l2: 0.0, eps: 1e-12, newton_steps: 50, newton_tol: 0.0 };
/// for _ in 0..50 {
///     cd_kl_lane(&mut x, &fixed, &sums, &v, &mut lam, &step);
/// }
/// assert!((x[0] - 1.0).abs() < 1e-9 && (x[1] - 2.0).abs() < 1e-9);
/// ```
///
/// # Panics
/// If the lengths do not agree.
pub fn cd_kl_lane<T: Scalar>(
    x: &mut [T],
    fixed: &[T],
    sums: &[T],
    v: &[T],
    lam: &mut [T],
    step: &CdKlStep<T>,
) -> f64 {
    let (k, len) = (x.len(), v.len());
    assert!(
        fixed.len() == k * len && sums.len() == k && lam.len() == len,
        "cd_kl_lane: a lane of {k} against {len} entries needs {k}×{len} fixed entries, {k} \
         sums and {len} of scratch"
    );
    lane_product(lam, x, fixed);
    let mut change = 0.0;
    // The last step not yet applied to λ: (coordinate, x₁ − x₀, x₁).
    let mut pending: Option<(usize, T, T)> = None;
    for a in 0..k {
        let w = &fixed[a * len..(a + 1) * len];
        let start = x[a];
        let mut x0 = start;
        for _ in 0..step.newton_steps.max(1) {
            let prev = pending.map(|(p, d, xp)| (&fixed[p * len..(p + 1) * len], d, xp));
            let (num, hes) = lane_sums(lam, w, v, prev);
            pending = None;
            let x1 = cd_kl_step(x0, sums[a], num, hes, step.l1, step.l2, step.eps);
            let d = x1 - x0;
            if d != T::zero() {
                pending = Some((a, d, x1));
            }
            x0 = x1;
            if d.abs() <= step.newton_tol * x1 {
                break;
            }
        }
        x[a] = x0;
        let d = x0.as_f64() - start.as_f64();
        change += d * d;
    }
    if let Some((p, d, xp)) = pending {
        let w = &fixed[p * len..(p + 1) * len];
        for (l, &wi) in lam.iter_mut().zip(w) {
            *l = (*l + wi * d).max(wi * xp);
        }
    }
    change
}

/// `out[a] = Σ` of row a of the k×len row-major `fixed`, in `f64` (compensated), rounded.
fn row_sums<T: Scalar>(fixed: &[T], len: usize, out: &mut [T]) {
    for (a, o) in out.iter_mut().enumerate() {
        let mut s = F64Sum::default();
        crate::kernels::sum_slice(&mut s, &fixed[a * len..(a + 1) * len]);
        *o = T::from_f64(s.value());
    }
}

/// `dst (cols×rows) ← srcᵀ` for a rows×cols row-major `src`.
fn transpose<T: Scalar>(src: &[T], rows: usize, cols: usize, dst: &mut [T]) {
    const B: usize = 32;
    for i0 in (0..rows).step_by(B) {
        for j0 in (0..cols).step_by(B) {
            for i in i0..(i0 + B).min(rows) {
                for j in j0..(j0 + B).min(cols) {
                    dst[j * rows + i] = src[i * cols + j];
                }
            }
        }
    }
}

/// The state of a KL coordinate-descent run: the factors (in [`MuSolver`], which also
/// evaluates the loss and keeps the penalties), V in both orders (dense copies, or V's own
/// compressed rows and columns for sparse V), the fixed factor in the
/// sweep's layout and per-thread scratch, all allocated in [`CdKlSolver::new`] (see the
/// [module docs](self), "Memory"); the half-steps allocate nothing.
///
/// ```
/// use nmf_core::{CdKlOptions, CdKlSolver, MatrixBackend, reference::Reference};
/// let b = Reference;
/// let v = b.from_row_major(2, 3, &[1.0_f64, 0.0, 3.0, 4.0, 5.0, 0.5]).unwrap();
/// let w0 = b.from_row_major(2, 1, &[1.0, 1.0]).unwrap();
/// let h0 = b.from_row_major(1, 3, &[1.0, 1.0, 1.0]).unwrap();
/// let mut s = CdKlSolver::new(&b, &v, w0, h0, 1e-12, CdKlOptions::default()).unwrap();
/// let before = s.loss();
/// s.update_h();
/// let half = s.loss();
/// s.update_w();
/// assert!(half <= before && s.loss() <= half);
/// ```
pub struct CdKlSolver<'a, T: Scalar, B: DataOps<T, V>, V> {
    /// W, H, the penalties and the loss evaluation (its num_h / num_w are the companions
    /// that `for_each_lane` asks for; their contents are not used).
    mu: MuSolver<'a, T, B, V>,
    options: CdKlOptions,
    /// V by rows (the lanes of W) and by columns (the lanes of H).
    v: Storage<'a, T>,
    /// The fixed factor in the sweep's layout: Wᵀ (k×m) for H, H (k×n) for W.
    fixed: Vec<T>,
    /// W row-major (m×k), on its way to Wᵀ.
    staging: Vec<T>,
    /// The row sums of `fixed`.
    sums: Vec<T>,
    /// Lane indices in, squared changes out (max(m, n)).
    lanes: Vec<f64>,
    /// Per-thread scratch (λ and a copy of the lane; for sparse V also the fixed factor
    /// gathered at the lane's stored entries).
    scratch: Vec<Mutex<Vec<T>>>,
}

/// V in the two orders of the sweeps.
enum Storage<'a, T> {
    /// Dense copies: V row-major (m×n), row i the lane of row i of W; and V column-major
    /// (n×m row-major), column j the lane of column j of H.
    Dense { rows: Vec<T>, cols: Vec<T> },
    /// V's own compressed rows and columns (borrowed, nothing copied): the stored entries of
    /// row i (column j) are the lane of row i of W (column j of H).
    Sparse {
        rows: CsrRef<'a, T>,
        cols: CsrRef<'a, T>,
    },
}

/// The most stored entries in one row of `x`.
fn longest_row<T>(x: &CsrRef<'_, T>) -> usize {
    x.indptr()
        .windows(2)
        .map(|p| p[1] - p[0])
        .max()
        .unwrap_or(0)
}

impl<'a, T: Scalar, B: DataOps<T, V>, V> CdKlSolver<'a, T, B, V> {
    /// Validates the data and the initial factors as [`MuSolver::new`] does for the KL loss,
    /// copies V in both orders (dense V; sparse V is read in place) and allocates every
    /// buffer.
    ///
    /// # Errors
    /// As [`MuSolver::new`]; [`NmfError::InvalidSolverOption`] for bad options, or for a data
    /// type that gives neither dense entries ([`DataOps::data_to_row_major`]) nor compressed
    /// ones ([`DataOps::data_compressed`]).
    pub fn new(
        backend: &'a B,
        v: &'a V,
        w0: B::Mat,
        h0: B::Mat,
        eps: T,
        options: CdKlOptions,
    ) -> Result<Self, NmfError> {
        options.check()?;
        let mu = MuSolver::new(backend, v, w0, h0, Loss::KullbackLeibler, eps)?;
        let (m, k) = backend.shape(&mu.w);
        let n = backend.ncols(&mu.h);
        let (storage, len) = if let Some((rows, cols)) = backend.data_compressed(v) {
            // λ, the lane of x, and the fixed factor gathered at the longest lane's entries.
            let most = longest_row(&rows).max(longest_row(&cols));
            (Storage::Sparse { rows, cols }, most * (k + 1) + k)
        } else {
            let mut v_rows = vec![T::zero(); m * n];
            if !backend.data_to_row_major(v, &mut v_rows) {
                return Err(NmfError::InvalidSolverOption {
                    option: "solver cd (coordinate descent for KL)",
                    reason: "this data type gives neither dense nor compressed entries (use mu)"
                        .into(),
                });
            }
            let mut v_cols = vec![T::zero(); m * n];
            transpose(&v_rows, m, n, &mut v_cols);
            let storage = Storage::Dense {
                rows: v_rows,
                cols: v_cols,
            };
            (storage, m.max(n) + k)
        };
        let threads = std::thread::available_parallelism().map_or(1, |t| t.get());
        Ok(Self {
            mu,
            options,
            v: storage,
            fixed: vec![T::zero(); k * m.max(n)],
            staging: vec![T::zero(); m * k],
            sums: vec![T::zero(); k],
            lanes: vec![0.0; m.max(n)],
            scratch: (0..threads)
                .map(|_| Mutex::new(vec![T::zero(); len]))
                .collect(),
        })
    }

    /// Sets the penalties (see [`MuSolver::set_penalty`]): the L1 weight adds to g and to the
    /// denominator of x_MU, the L2 weight to g and g' (see the [module docs](self)).
    ///
    /// # Errors
    /// [`NmfError::InvalidRegularization`] for negative or non-finite weights.
    pub fn set_penalty(&mut self, penalty: Penalty) -> Result<(), NmfError> {
        self.mu.set_penalty(penalty)
    }

    /// The H half-step with W fixed: one sweep of every column of H.
    pub fn update_h(&mut self) {
        let b = self.mu.backend;
        let (m, k) = b.shape(&self.mu.w);
        let n = b.ncols(&self.mu.h);
        b.copy_to_row_major(&self.mu.w, &mut self.staging);
        transpose(&self.staging, m, k, &mut self.fixed[..k * m]);
        let (l1, l2) = (self.mu.penalty.l1_h, self.mu.penalty.l2_h);
        self.sweep(Lanes::Columns, n, m, l1, l2);
    }

    /// The W half-step with H fixed: one sweep of every row of W.
    pub fn update_w(&mut self) {
        let b = self.mu.backend;
        let (m, k) = b.shape(&self.mu.w);
        let n = b.ncols(&self.mu.h);
        b.copy_to_row_major(&self.mu.h, &mut self.fixed[..k * n]);
        let (l1, l2) = (self.mu.penalty.l1_w, self.mu.penalty.l2_w);
        self.sweep(Lanes::Rows, m, n, l1, l2);
    }

    /// One iteration: [`update_h`](Self::update_h), then [`update_w`](Self::update_w).
    pub fn step(&mut self) {
        self.update_h();
        self.update_w();
    }

    /// Sweeps the `count` lanes of H (columns) or W (rows), each against `len` entries of V.
    fn sweep(&mut self, lanes: Lanes, count: usize, len: usize, l1: f64, l2: f64) {
        let b = self.mu.backend;
        let k = self.sums.len();
        let fixed = &self.fixed[..k * len];
        row_sums(fixed, len, &mut self.sums);
        let step = CdKlStep {
            l1: T::from_f64(l1),
            l2: T::from_f64(l2),
            eps: self.mu.eps,
            newton_steps: self.options.newton_steps,
            newton_tol: T::from_f64(self.options.newton_tol),
        };
        let (x, companion) = match lanes {
            Lanes::Columns => (&mut self.mu.h, &self.mu.num_h),
            Lanes::Rows => (&mut self.mu.w, &self.mu.num_w),
        };
        // The lanes of V: dense (len entries each) or compressed (the stored entries).
        let (dense, compressed) = match (&self.v, lanes) {
            (Storage::Dense { cols, .. }, Lanes::Columns) => (&cols[..], None),
            (Storage::Dense { rows, .. }, Lanes::Rows) => (&rows[..], None),
            (Storage::Sparse { cols, .. }, Lanes::Columns) => (&[][..], Some(*cols)),
            (Storage::Sparse { rows, .. }, Lanes::Rows) => (&[][..], Some(*rows)),
        };
        let out = &mut self.lanes[..count];
        for (l, o) in out.iter_mut().enumerate() {
            *o = l as f64;
        }
        let (sums, scratch) = (&self.sums[..], &self.scratch[..]);
        b.for_each_lane(x, companion, lanes, out, &|xb, _, out| {
            let mut guard = lock_free_slot(scratch, out.first().map_or(0, |&l| l as usize));
            let (lane, rest) = guard.split_at_mut(k);
            for (l, o) in out.iter_mut().enumerate() {
                // The lane's index, as written above (exact in f64).
                let j = *o as usize;
                let mut xl = xb.lane(l);
                for (a, e) in lane.iter_mut().enumerate() {
                    *e = xl.get(a);
                }
                *o = match compressed {
                    None => {
                        let vj = &dense[j * len..(j + 1) * len];
                        cd_kl_lane(lane, fixed, sums, vj, &mut rest[..len], &step)
                    }
                    Some(x) => {
                        // The same lane restricted to the stored entries: V's values there,
                        // the fixed factor gathered at their indices, the full sums.
                        let (idx, vals) = x.row(j);
                        let nz = idx.len();
                        let (lam, gathered) = rest.split_at_mut(nz);
                        let gathered = &mut gathered[..k * nz];
                        for (g, f) in gathered
                            .chunks_exact_mut(nz.max(1))
                            .zip(fixed.chunks_exact(len))
                        {
                            for (e, &i) in g.iter_mut().zip(idx) {
                                *e = f[i];
                            }
                        }
                        cd_kl_lane(lane, gathered, sums, vals, lam, &step)
                    }
                };
                for (a, &e) in lane.iter().enumerate() {
                    xl.set(a, e);
                }
            }
        });
    }

    /// The KL divergence `D(V‖WH)` at the current factors (see [`MuSolver::loss`]).
    pub fn loss(&mut self) -> f64 {
        self.mu.loss()
    }

    /// The penalised objective (see [`MuSolver::objective`]).
    pub fn objective(&mut self) -> f64 {
        self.mu.objective()
    }

    /// The objective with its rounding scales (see [`MuSolver::evaluate`]).
    pub fn evaluate(&mut self) -> Evaluation {
        self.mu.evaluate()
    }

    /// The settings.
    pub fn options(&self) -> CdKlOptions {
        self.options
    }
    /// The current W (m×k).
    pub fn w(&self) -> &B::Mat {
        self.mu.w()
    }
    /// The current H (k×n).
    pub fn h(&self) -> &B::Mat {
        self.mu.h()
    }
    /// The lower bound ε.
    pub fn eps(&self) -> T {
        self.mu.eps()
    }
    /// The penalties in force.
    pub fn penalty(&self) -> Penalty {
        self.mu.penalty()
    }
    /// The final factors `(W, H)`.
    pub fn into_factors(self) -> (B::Mat, B::Mat) {
        self.mu.into_factors()
    }
}

/// A free scratch buffer: the first one not in use, starting from `hint`, or else (more
/// blocks at once than buffers) waits for buffer `hint`.
fn lock_free_slot<T>(slots: &[Mutex<Vec<T>>], hint: usize) -> std::sync::MutexGuard<'_, Vec<T>> {
    let count = slots.len();
    for o in 0..count {
        match slots[(hint + o) % count].try_lock() {
            Ok(g) => return g,
            // A panic elsewhere left it locked-and-released: its contents are scratch.
            Err(std::sync::TryLockError::Poisoned(p)) => return p.into_inner(),
            Err(std::sync::TryLockError::WouldBlock) => {}
        }
    }
    slots[hint % count]
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
