//! Alternating non-negative least squares for the masked (weighted) Frobenius loss
//! ([`AnlsSolver`]).
//!
//! With W fixed, `½ Σ_{(i,j)∈Ω} M_ij (v_ij − w_iᵀh_j)² + l1‖H‖₁ + ½·l2‖H‖²` separates over the
//! columns of H: column j minimises
//!
//! `½ xᵀ(G_j + l2·I)x − b_jᵀx + l1·Σx` over `{x ≥ ε}`, with
//! `G_j = Σ_{i∈Ω_j} M_ij w_i w_iᵀ` (k×k) and `b_j = Σ_{i∈Ω_j} M_ij v_ij w_i`,
//!
//! a convex quadratic (HALS does not apply: the Gram matrix changes from column to column).
//! Each column is solved by sweeps of exact coordinate minimisation
//! ([`kernels::coordinate_sweep`](crate::kernels::coordinate_sweep): each coordinate moves to
//! the minimiser of the quadratic over `[ε, ∞)` with the others fixed), warm-started from the
//! current column, so the objective never rises, at every coordinate step. The sweeps stop
//! after [`AnlsOptions::max_sweeps`] or when a sweep moves the column by at most
//! [`AnlsOptions::tol`] relative (`‖Δx‖² ≤ tol²·‖x‖²`). The W half-step is the same on the
//! rows of W with the columns of H. Cost: O(|Ω|·k²) for the Gram matrices and O(sweeps·k²) per
//! column or row, per half-step.
//!
//! A coordinate with a zero diagonal (a column without an observed entry of positive weight,
//! and no L2 weight) keeps its value: the quadratic is then linear in it, with slope l1 ≥ 0,
//! and keeping it never raises the objective.
//!
//! Threads: the columns (rows) are split into the data's fixed blocks, run by recursive
//! `rayon::join`; each column is computed by one call with its own buffers whatever the split,
//! so the result has the same bits for every number of threads. Every buffer (the factors laid
//! out k-contiguous, one k×k Gram matrix and one k-vector per block) is allocated in
//! [`AnlsSolver::new`]; the half-steps allocate nothing.

use core::ops::Range;

use super::{ObservedRef, cols_of, rows_of, write_back};
use crate::lane::{Lane, LaneMut};
use crate::sparse::CsrRef;
use crate::sparse::pass::{PerBlock, PerRow, par_blocks};
use crate::update::{Evaluation, check_data, check_factor};
use crate::{DataOps, Loss, MatrixRole, NmfError, Penalty, Scalar, Solver};

/// The settings of [`AnlsSolver`]'s inner sweeps.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AnlsOptions {
    /// The most coordinate-descent sweeps per column (row) and half-step (≥ 1; default 10).
    pub max_sweeps: usize,
    /// The sweeps of a column stop when one moves it by at most `tol` relative (finite and
    /// ≥ 0; default 1e-3; 0 runs every sweep).
    pub tol: f64,
}

impl Default for AnlsOptions {
    fn default() -> Self {
        AnlsOptions {
            max_sweeps: 10,
            tol: 1e-3,
        }
    }
}

impl AnlsOptions {
    /// Checks the two settings.
    ///
    /// # Errors
    /// [`NmfError::InvalidSolverOption`] naming the option and its value.
    pub fn check(&self) -> Result<(), NmfError> {
        if self.max_sweeps == 0 {
            return Err(NmfError::InvalidSolverOption {
                option: "anls max_sweeps (the coordinate sweeps per column)",
                reason: "must be ≥ 1, got 0".into(),
            });
        }
        if !(self.tol.is_finite() && self.tol >= 0.0) {
            return Err(NmfError::InvalidSolverOption {
                option: "anls tol (the sweeps' relative stop)",
                reason: format!("must be finite and ≥ 0, got {}", self.tol),
            });
        }
        Ok(())
    }
}

/// The state of a masked least-squares run: the factors, their k-contiguous copies and the
/// per-block Gram buffers (see the [module docs](self)).
///
/// ```
/// use nmf_core::{MatrixBackend, masked::{AnlsOptions, AnlsSolver, Observed}, reference::Reference};
/// let b = Reference;
/// let v = Observed::from_triplets(2, 2, &[0, 0, 1], &[0, 1, 0], &[1.0_f64, 2.0, 3.0]).unwrap();
/// let w0 = b.from_row_major(2, 1, &[1.0, 1.0]).unwrap();
/// let h0 = b.from_row_major(1, 2, &[1.0, 1.0]).unwrap();
/// let mut s = AnlsSolver::new(&b, &v, w0, h0, 1e-12, AnlsOptions::default()).unwrap();
/// let before = s.evaluate().objective;
/// for _ in 0..50 { s.step(); }
/// assert!(s.evaluate().objective <= before && s.evaluate().objective < 1e-10);
/// ```
pub struct AnlsSolver<'a, T: Scalar, B: DataOps<T, V>, V> {
    backend: &'a B,
    v: &'a V,
    obs: ObservedRef<'a, T>,
    eps: T,
    w: B::Mat,
    h: B::Mat,
    /// W, m×k row-major.
    w_rows: Vec<T>,
    /// Hᵀ, n×k row-major.
    ht_rows: Vec<T>,
    /// Per block: a k×k Gram matrix and a k-vector.
    scratch: Vec<T>,
    /// 0..k, the order of the coordinates.
    order: Vec<usize>,
    options: AnlsOptions,
    penalty: Penalty,
    work: <B as DataOps<T, V>>::Work,
}

impl<'a, T: Scalar, B: DataOps<T, V>, V> AnlsSolver<'a, T, B, V> {
    /// Starts a run from `w0` (m×k) and `h0` (k×n), lifting their entries to at least `eps`.
    ///
    /// # Errors
    /// [`NmfError::SolverNotForData`] for data without observed entries to sweep
    /// ([`DataOps::data_observed`]: [`Observed`](super::Observed) has them); as
    /// [`MuSolver::new`](crate::MuSolver::new) for V, the factors and ε;
    /// [`NmfError::InvalidSolverOption`] for bad options.
    pub fn new(
        backend: &'a B,
        v: &'a V,
        mut w0: B::Mat,
        mut h0: B::Mat,
        eps: T,
        options: AnlsOptions,
    ) -> Result<Self, NmfError> {
        options.check()?;
        let (m, n) = check_data(backend, v)?;
        let Some(obs) = backend.data_observed(v) else {
            return Err(NmfError::SolverNotForData {
                solver: Solver::Anls,
                data: "this data type",
                reason: "it sweeps the observed entries of V, given as masked::Observed; use \
                         the solver mu for dense weights"
                    .into(),
            });
        };
        let k = backend.ncols(&w0);
        if k == 0 {
            return Err(NmfError::ZeroRank);
        }
        check_factor(backend, MatrixRole::W0, &w0, (m, k))?;
        check_factor(backend, MatrixRole::H0, &h0, (k, n))?;
        if !(eps.is_finite() && eps >= T::min_positive_value()) {
            return Err(NmfError::InvalidEps(eps.as_f64()));
        }
        backend.clamp_min(&mut w0, eps);
        backend.clamp_min(&mut h0, eps);
        let blocks = obs.row_blocks.len().max(obs.col_blocks.len());
        Ok(Self {
            backend,
            v,
            obs,
            eps,
            w: w0,
            h: h0,
            w_rows: vec![T::zero(); m * k],
            ht_rows: vec![T::zero(); n * k],
            scratch: vec![T::zero(); blocks * (k * k + k)],
            order: (0..k).collect(),
            options,
            penalty: Penalty::default(),
            work: backend.data_work(v, k, Loss::Frobenius),
        })
    }

    /// Sets the L1/L2 penalties (`l1` joins the linear term, `l2` the Gram diagonal: each
    /// coordinate step stays exact).
    ///
    /// # Errors
    /// [`NmfError::InvalidRegularization`] for negative or non-finite weights.
    pub fn set_penalty(&mut self, penalty: Penalty) -> Result<(), NmfError> {
        for (name, w) in [
            ("l1_w (the L1 weight on W)", penalty.l1_w),
            ("l2_w (the L2 weight on W)", penalty.l2_w),
            ("l1_h (the L1 weight on H)", penalty.l1_h),
            ("l2_h (the L2 weight on H)", penalty.l2_h),
        ] {
            if !(w.is_finite() && w >= 0.0) {
                return Err(NmfError::InvalidRegularization {
                    reason: format!("the penalty weight {name} must be finite and ≥ 0, got {w}"),
                });
            }
        }
        self.penalty = penalty;
        Ok(())
    }

    /// The H half-step: every column of H minimises its masked least-squares problem by
    /// coordinate sweeps.
    pub fn update_h(&mut self) {
        self.half_step(true);
    }

    /// The W half-step: every row of W minimises its masked least-squares problem.
    pub fn update_w(&mut self) {
        self.half_step(false);
    }

    /// The H half-step (`on_h`: the lanes are the columns of H, the rows of Vᵀ) or the W
    /// half-step (the rows of W, the rows of V), each lane by one call of [`Ctx::solve`]
    /// whatever the threads.
    fn half_step(&mut self, on_h: bool) {
        let b = self.backend;
        let k = b.ncols(&self.w);
        rows_of(b, &self.w, &mut self.w_rows);
        cols_of(b, &self.h, &mut self.ht_rows);
        let p = self.penalty;
        let ((l1, l2), (x, weights), blocks, lanes, other) = if on_h {
            let (o, l) = (&self.w_rows, &mut self.ht_rows);
            (
                (p.l1_h, p.l2_h),
                self.obs.by_cols(),
                self.obs.col_blocks,
                l,
                o,
            )
        } else {
            let (o, l) = (&self.ht_rows, &mut self.w_rows);
            (
                (p.l1_w, p.l2_w),
                self.obs.by_rows(),
                self.obs.row_blocks,
                l,
                o,
            )
        };
        let ctx = Ctx {
            x,
            weights,
            other,
            k,
            l1: T::from_f64(l1),
            l2: T::from_f64(l2),
            eps: self.eps,
            order: &self.order,
            options: self.options,
        };
        // Each block's lanes (k apiece) and its own Gram matrix and right-hand side.
        let parts = (
            PerRow(&mut lanes[..], k),
            PerBlock(&mut self.scratch[..], k * k + k),
        );
        par_blocks(blocks, parts, &|r, (lanes, scratch)| {
            ctx.solve(r, lanes.0, scratch.0)
        });
        if on_h {
            write_back(b, &mut self.h, &self.ht_rows, k, true);
        } else {
            write_back(b, &mut self.w, &self.w_rows, k, false);
        }
    }

    /// One iteration: H, then W.
    pub fn step(&mut self) {
        self.update_h();
        self.update_w();
    }

    /// The objective (the weighted loss plus the penalties) and the sizes of its rounding,
    /// as [`MuSolver::evaluate`](crate::MuSolver::evaluate).
    pub fn evaluate(&mut self) -> Evaluation {
        let (p, b) = (self.penalty, self.backend);
        let pen = if p.is_zero() {
            0.0
        } else {
            p.l1_w * b.sum(&self.w)
                + p.l2_w * 0.5 * b.sq_norm(&self.w)
                + p.l1_h * b.sum(&self.h)
                + p.l2_h * 0.5 * b.sq_norm(&self.h)
        };
        let data = b.data_evaluate(self.v, &mut self.work, &self.w, &self.h, Loss::Frobenius);
        Evaluation {
            objective: data.loss + pen,
            scale: data.scale + 2.0 * pen,
            f64_terms: data.f64_terms,
        }
    }

    /// The current W (m×k).
    pub fn w(&self) -> &B::Mat {
        &self.w
    }
    /// The current H (k×n).
    pub fn h(&self) -> &B::Mat {
        &self.h
    }
    /// The final factors `(W, H)`.
    pub fn into_factors(self) -> (B::Mat, B::Mat) {
        (self.w, self.h)
    }
}

/// What every lane's subproblem of one half-step shares.
struct Ctx<'c, T> {
    /// V (W half-step) or Vᵀ (H half-step): lane r's observed entries are row r.
    x: CsrRef<'c, T>,
    weights: Option<&'c [T]>,
    /// The fixed factor, k-contiguous rows indexed by the column indices of `x`.
    other: &'c [T],
    k: usize,
    l1: T,
    l2: T,
    eps: T,
    order: &'c [usize],
    options: AnlsOptions,
}

impl<T: Scalar> Ctx<'_, T> {
    /// Solves lanes `r` (their entries in `lanes`, k apiece) with one block's `scratch`.
    fn solve(&self, r: Range<usize>, lanes: &mut [T], scratch: &mut [T]) {
        let k = self.k;
        let (gram, rhs) = scratch[..k * k + k].split_at_mut(k * k);
        let first = r.start;
        let tol2 = self.options.tol * self.options.tol;
        for row in r {
            let (cs, vs) = self.x.row(row);
            let start = self.x.indptr()[row];
            let ws = self.weights.map(|w| &w[start..start + cs.len()]);
            normal_equations(cs, vs, ws, self.other, k, gram, rhs);
            for a in 0..k {
                gram[a * k + a] += self.l2;
            }
            let o = (row - first) * k;
            let x = &mut lanes[o..o + k];
            for _ in 0..self.options.max_sweeps {
                let change = crate::kernels::coordinate_sweep(
                    &mut LaneMut::from_slice(x, k, 1),
                    &Lane::from_slice(rhs, k, 1),
                    gram,
                    self.l1,
                    self.eps,
                    self.order,
                );
                let size: f64 = x.iter().map(|a| a.as_f64() * a.as_f64()).sum();
                if change <= tol2 * size {
                    break;
                }
            }
        }
    }
}

/// `gram = Σ_t m_t·y_t·y_tᵀ` (k×k, row-major) and `rhs = Σ_t m_t·v_t·y_t` over the entries
/// `t` of one lane, with `y_t` the row `cs[t]` of `other` (k-contiguous) and `m_t` its weight
/// (1 without weights). The full square is accumulated (both triangles: symmetric exactly
/// without weights, to the rounding of `m·y_a` with them, which the coordinate steps do not
/// need), with contiguous inner loops of length k that the compiler vectorises; compiled for
/// several instruction sets like the kernels of [`crate::kernels`].
#[multiversion::multiversion(targets(
    "x86_64+avx512f+avx512vl+avx512dq+avx512bw",
    "x86_64+avx2+fma"
))]
fn normal_equations<T: Scalar>(
    cs: &[usize],
    vs: &[T],
    ws: Option<&[T]>,
    other: &[T],
    k: usize,
    gram: &mut [T],
    rhs: &mut [T],
) {
    gram.fill(T::zero());
    rhs.fill(T::zero());
    for (t, (&c, &v)) in cs.iter().zip(vs).enumerate() {
        let m = ws.map_or(T::one(), |w| w[t]);
        let y = &other[c * k..c * k + k];
        for (a, &ya) in y.iter().enumerate() {
            let s = m * ya;
            rhs[a] += s * v;
            for (g, &yc) in gram[a * k..a * k + k].iter_mut().zip(y) {
                *g += s * yc;
            }
        }
    }
}
