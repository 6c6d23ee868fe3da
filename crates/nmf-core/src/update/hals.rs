//! Hierarchical alternating least squares (HALS; Cichocki & Phan 2009, scikit-learn's `cd`
//! solver) for the Frobenius loss, with the ε lower bound, L1/L2 penalties, the repeated
//! inner sweeps of Gillis & Glineur (2012) and an optional seeded shuffled order.
//!
//! A HALS half-step for H consumes the same statistics as the multiplicative Frobenius
//! half-step, WᵀV (k×n) and WᵀW (k×k), from the data term
//! ([`DataOps::frobenius_stats_h`]); for W, VHᵀ and HHᵀ ([`DataOps::frobenius_stats_w`]). It then sweeps the
//! coordinates of each column of H (each row of W) with
//! [`coordinate_sweep_block`](crate::kernels::coordinate_sweep_block), each coordinate step the exact
//! minimiser of the penalised objective in that coordinate over `{x ≥ ε}`: so the objective
//! cannot rise, whatever the number of sweeps and their order.

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use super::{Evaluation, MuSolver, Penalty};
use crate::kernels::coordinate_sweep_block;
use crate::lane::Lanes;
use crate::{DataOps, Loss, NmfError, Scalar};

/// Settings of the HALS half-steps.
///
/// The inner loop (Gillis & Glineur 2012, "Accelerated multiplicative updates and hierarchical
/// ALS algorithms for nonnegative matrix factorization", Neural Computation 24(4)) repeats the
/// coordinate sweeps of a half-step with the same products while they are cheap against
/// them: at most `⌊1 + α·ρ⌋` sweeps, with ρ the ratio of the flops of the products to those
/// of one sweep (for H: `ρ = 1 + (m·n + m·k)/(n·(k + 1))`, for W:
/// `ρ = 1 + (m·n + n·k)/(m·(k + 1))`, their eq. for HALS), and it stops earlier when a sweep
/// changes the factor by at most `δ` times what the first sweep changed it
/// (`‖X⁽ˡ⁾ − X⁽ˡ⁻¹⁾‖_F ≤ δ·‖X⁽¹⁾ − X⁽⁰⁾‖_F`). `α = 0` gives plain HALS (one sweep).
///
/// ```
/// use nmf_core::HalsOptions;
/// let o = HalsOptions::default();
/// assert_eq!((o.alpha, o.delta, o.shuffle), (0.5, 0.1, false));
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HalsOptions {
    /// α ≥ 0 of the sweep budget `⌊1 + α·ρ⌋` (default 0.5, Gillis & Glineur's choice).
    pub alpha: f64,
    /// δ ∈ [0, 1] of the early stop (default 0.1, theirs).
    pub delta: f64,
    /// Sweep the coordinates in a random order, drawn anew for every sweep (scikit-learn's
    /// `shuffle`); default `false` (the order 0, 1, …, k−1).
    pub shuffle: bool,
    /// The seed of the shuffled order (same seed, same bits).
    pub seed: u64,
}

impl Default for HalsOptions {
    fn default() -> Self {
        Self {
            alpha: 0.5,
            delta: 0.1,
            shuffle: false,
            seed: 0,
        }
    }
}

impl HalsOptions {
    /// Checks α and δ.
    ///
    /// # Errors
    /// [`NmfError::InvalidSolverOption`] naming the option and its value.
    pub fn check(&self) -> Result<(), NmfError> {
        if !(self.alpha.is_finite() && self.alpha >= 0.0) {
            return Err(NmfError::InvalidSolverOption {
                option: "hals alpha (the inner-sweep budget)",
                reason: format!("must be finite and ≥ 0, got {}", self.alpha),
            });
        }
        if !(0.0..=1.0).contains(&self.delta) {
            return Err(NmfError::InvalidSolverOption {
                option: "hals delta (the inner-sweep stop)",
                reason: format!("must be in [0, 1], got {}", self.delta),
            });
        }
        Ok(())
    }
}

/// The state of a HALS run for the Frobenius loss: the factors, the products (shared with
/// [`MuSolver`]'s Frobenius buffers) and the small buffers of the sweeps, all allocated in
/// [`HalsSolver::new`]; the half-steps allocate nothing.
///
/// ```
/// use nmf_core::{HalsOptions, HalsSolver, MatrixBackend, reference::Reference};
/// let b = Reference;
/// let v = b.from_row_major(2, 2, &[1.0_f64, 2.0, 3.0, 4.0]).unwrap();
/// let w0 = b.from_row_major(2, 1, &[1.0, 1.0]).unwrap();
/// let h0 = b.from_row_major(1, 2, &[1.0, 1.0]).unwrap();
/// let mut s = HalsSolver::new(&b, &v, w0, h0, 1e-12, HalsOptions::default()).unwrap();
/// let before = s.loss();
/// s.update_h();
/// let half = s.loss();
/// s.update_w();
/// assert!(half <= before && s.loss() <= half);
/// ```
pub struct HalsSolver<'a, T: Scalar, B: DataOps<T, V>, V> {
    /// Holds W, H, WᵀV / VHᵀ (num_h, num_w), the Gram buffer, the loss evaluation.
    mu: MuSolver<'a, T, B, V>,
    options: HalsOptions,
    /// The Gram matrix plus l2·I, k×k row-major.
    gram: Vec<T>,
    /// The coordinate order of the current sweep.
    order: Vec<usize>,
    /// One squared change per lane (max(m, n)).
    changes: Vec<f64>,
    rng: ChaCha8Rng,
    /// The sweeps made by the last H and W half-steps.
    last_sweeps: (usize, usize),
}

impl<'a, T: Scalar, B: DataOps<T, V>, V> HalsSolver<'a, T, B, V> {
    /// Validates the data and the initial factors as [`MuSolver::new`] does for the
    /// Frobenius loss, and allocates every buffer.
    ///
    /// # Errors
    /// As [`MuSolver::new`], and [`NmfError::InvalidSolverOption`] for bad options.
    pub fn new(
        backend: &'a B,
        v: &'a V,
        w0: B::Mat,
        h0: B::Mat,
        eps: T,
        options: HalsOptions,
    ) -> Result<Self, NmfError> {
        options.check()?;
        let mut mu = MuSolver::new(backend, v, w0, h0, Loss::Frobenius, eps)?;
        // The sweeps replace the denominators WᵀW·H and W·HHᵀ: drop those buffers.
        mu.den_h = backend.zeros(0, 0);
        mu.den_w = backend.zeros(0, 0);
        let (m, k) = backend.shape(&mu.w);
        let n = backend.ncols(&mu.h);
        Ok(Self {
            mu,
            options,
            gram: vec![T::zero(); k * k],
            order: (0..k).collect(),
            changes: vec![0.0; m.max(n)],
            rng: ChaCha8Rng::seed_from_u64(options.seed ^ 0x6861_6c73),
            last_sweeps: (0, 0),
        })
    }

    /// Sets the penalties (see [`MuSolver::set_penalty`]); L1 is subtracted from the
    /// numerator and L2 added to the Gram diagonal of each sweep (see
    /// [`coordinate_sweep`](crate::kernels::coordinate_sweep)).
    ///
    /// # Errors
    /// [`NmfError::InvalidRegularization`] for negative or non-finite weights.
    pub fn set_penalty(&mut self, penalty: Penalty) -> Result<(), NmfError> {
        self.mu.set_penalty(penalty)
    }

    /// The H half-step with W fixed: WᵀV and WᵀW, then the coordinate sweeps of every column
    /// of H (at most `⌊1 + α·ρ_H⌋`, see [`HalsOptions`]).
    pub fn update_h(&mut self) {
        let (b, mu) = (self.mu.backend, &mut self.mu);
        b.frobenius_stats_h(mu.v, &mut mu.work, &mu.w, &mut mu.num_h, &mut mu.gram);
        let (m, k) = b.shape(&self.mu.w);
        let n = b.ncols(&self.mu.h);
        let rho = 1.0 + (m as f64 * n as f64 + m as f64 * k as f64) / (n as f64 * (k as f64 + 1.0));
        let (l1, l2) = (self.mu.penalty.l1_h, self.mu.penalty.l2_h);
        self.last_sweeps.0 = self.sweeps(Lanes::Columns, rho, l1, l2);
    }

    /// The W half-step with H fixed: VHᵀ and HHᵀ, then the coordinate sweeps of every row of
    /// W (at most `⌊1 + α·ρ_W⌋`).
    pub fn update_w(&mut self) {
        let (b, mu) = (self.mu.backend, &mut self.mu);
        b.frobenius_stats_w(mu.v, &mut mu.work, &mu.h, &mut mu.num_w, &mut mu.gram);
        let (m, k) = b.shape(&self.mu.w);
        let n = b.ncols(&self.mu.h);
        let rho = 1.0 + (m as f64 * n as f64 + n as f64 * k as f64) / (m as f64 * (k as f64 + 1.0));
        let (l1, l2) = (self.mu.penalty.l1_w, self.mu.penalty.l2_w);
        self.last_sweeps.1 = self.sweeps(Lanes::Rows, rho, l1, l2);
    }

    /// One iteration: [`update_h`](Self::update_h), then [`update_w`](Self::update_w).
    pub fn step(&mut self) {
        self.update_h();
        self.update_w();
    }

    /// The repeated sweeps of one half-step on the products in `mu.gram` and `num_h`/`num_w`;
    /// returns how many were made.
    fn sweeps(&mut self, lanes: Lanes, rho: f64, l1: f64, l2: f64) -> usize {
        let b = self.mu.backend;
        let k = self.order.len();
        b.copy_to_row_major(&self.mu.gram, &mut self.gram);
        let l2 = T::from_f64(l2);
        for a in 0..k {
            self.gram[a * k + a] += l2;
        }
        let (l1, eps) = (T::from_f64(l1), self.mu.eps);
        let budget = (1.0 + self.options.alpha * rho).floor().max(1.0);
        let budget = if budget < 1e9 {
            budget as usize
        } else {
            1_000_000_000
        };
        let count = match lanes {
            Lanes::Columns => b.ncols(&self.mu.h),
            Lanes::Rows => b.nrows(&self.mu.w),
        };
        let (x, num) = match lanes {
            Lanes::Columns => (&mut self.mu.h, &self.mu.num_h),
            Lanes::Rows => (&mut self.mu.w, &self.mu.num_w),
        };
        let changes = &mut self.changes[..count];
        let mut first = 0.0;
        let mut made = 0;
        while made < budget {
            if self.options.shuffle {
                self.order.shuffle(&mut self.rng);
            }
            let (gram, order) = (&self.gram[..], &self.order[..]);
            b.for_each_lane(x, num, lanes, changes, &|xb, nb, out| {
                coordinate_sweep_block(xb, nb, gram, l1, eps, order, out)
            });
            made += 1;
            // In lane order: the same bits on any number of threads.
            let change = changes.iter().sum::<f64>().sqrt();
            if made == 1 {
                first = change;
            }
            if change <= self.options.delta * first || first == 0.0 {
                break;
            }
        }
        made
    }

    /// The sweeps made by the last H and the last W half-step.
    pub fn last_sweeps(&self) -> (usize, usize) {
        self.last_sweeps
    }

    /// `½‖V − WH‖²_F` at the current factors (see [`MuSolver::loss`]).
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
    pub fn options(&self) -> HalsOptions {
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
