//! Parameters of a minibatch fit: [`MiniBatchNmf::params`] → [`MiniBatchParams`] (setters) →
//! [`MiniBatchValidParams`].

use crate::{Loss, MAX_BETA, NmfError};

/// The entry point of the minibatch (online) fit: [`MiniBatchNmf::params`].
#[derive(Debug, Clone, Copy)]
pub struct MiniBatchNmf;

impl MiniBatchNmf {
    /// The parameters of a minibatch fit at rank `k`, with scikit-learn's defaults
    /// (`batch_size` 1024, `forget_factor` 0.7, no fresh restarts, `fresh_restarts_max_iter`
    /// 30, `max_no_improvement` 10, `tol` 1e-4, `max_iter` 200 epochs, Frobenius loss).
    pub fn params(rank: usize) -> MiniBatchParams {
        MiniBatchParams(MiniBatchValidParams {
            rank,
            batch_size: 1024,
            forget_factor: 0.7,
            fresh_restarts: false,
            fresh_restarts_max_iter: 30,
            max_no_improvement: Some(10),
            tol: 1e-4,
            max_iter: 200,
            loss: Loss::Frobenius,
            eps: None,
            seed: 0,
        })
    }
}

/// Unchecked parameters of a minibatch fit (setters); [`check`](Self::check) validates them.
#[derive(Debug, Clone, PartialEq)]
pub struct MiniBatchParams(MiniBatchValidParams);

/// Validated parameters of a minibatch fit.
#[derive(Debug, Clone, PartialEq)]
pub struct MiniBatchValidParams {
    pub(super) rank: usize,
    pub(super) batch_size: usize,
    pub(super) forget_factor: f64,
    pub(super) fresh_restarts: bool,
    pub(super) fresh_restarts_max_iter: usize,
    pub(super) max_no_improvement: Option<usize>,
    pub(super) tol: f64,
    pub(super) max_iter: usize,
    pub(super) loss: Loss,
    pub(super) eps: Option<f64>,
    pub(super) seed: u64,
}

impl MiniBatchParams {
    /// Rows of V per batch (scikit-learn's samples per minibatch); the last batch of an epoch
    /// may be shorter.
    pub fn batch_size(mut self, n: usize) -> Self {
        self.0.batch_size = n;
        self
    }
    /// The weight ρ₀ of the past: before each batch of r rows of a V of m rows, the
    /// accumulated statistics are multiplied by ρ = ρ₀^(r/m) (ρ₀ itself in
    /// [`OnlineNmf::partial_fit`] when the number of rows is not known), as scikit-learn does.
    /// Finite and ≥ 0.
    pub fn forget_factor(mut self, rho: f64) -> Self {
        self.0.forget_factor = rho;
        self
    }
    /// Whether each batch solves its factor W_b afresh (from a constant start, up to
    /// [`fresh_restarts_max_iter`](Self::fresh_restarts_max_iter) MM steps) in every epoch;
    /// otherwise, after the first epoch, W_b starts from its value of the previous epoch and
    /// takes one MM step.
    pub fn fresh_restarts(mut self, fresh: bool) -> Self {
        self.0.fresh_restarts = fresh;
        self
    }
    /// The most MM steps of a fresh solve of W_b (≥ 1); it stops earlier when the relative
    /// change ‖W_b − W_b′‖/‖W_b‖ is at most `tol`.
    pub fn fresh_restarts_max_iter(mut self, n: usize) -> Self {
        self.0.fresh_restarts_max_iter = n;
        self
    }
    /// Stop after this many batches in a row without improvement of the smoothed batch cost
    /// (`None`: never for this reason). At least 1.
    pub fn max_no_improvement(mut self, n: Option<usize>) -> Self {
        self.0.max_no_improvement = n;
        self
    }
    /// Stop when the relative change of H over one batch, ‖H − H′‖_F/‖H‖_F, is at most `tol`
    /// (0 disables). Finite and ≥ 0.
    pub fn tol(mut self, tol: f64) -> Self {
        self.0.tol = tol;
        self
    }
    /// The most epochs (passes over V) of [`MiniBatchValidParams::fit`]. At least 1.
    pub fn max_iter(mut self, epochs: usize) -> Self {
        self.0.max_iter = epochs;
        self
    }
    /// The loss: any β-divergence with |β| ≤ [`MAX_BETA`] (see [`Loss`]).
    pub fn loss(mut self, loss: Loss) -> Self {
        self.0.loss = loss;
        self
    }
    /// The lower bound ε of every entry of W and H (default: `2u·√(mean/k)` with the mean of
    /// the first batch, as [`NmfValidParams::eps_for`](crate::NmfValidParams::eps_for)).
    pub fn eps(mut self, eps: f64) -> Self {
        self.0.eps = Some(eps);
        self
    }
    /// The seed of the random initial H.
    pub fn seed(mut self, seed: u64) -> Self {
        self.0.seed = seed;
        self
    }

    /// Validates the parameters.
    ///
    /// # Errors
    /// [`NmfError::ZeroRank`], [`NmfError::ZeroMaxIter`], [`NmfError::InvalidTol`],
    /// [`NmfError::InvalidEps`] (not finite or ≤ 0), [`NmfError::InvalidBeta`],
    /// [`NmfError::BetaOutOfRange`], and [`NmfError::InvalidSolverOption`] naming
    /// `batch_size` (0), `forget_factor` (negative or not finite),
    /// `fresh_restarts_max_iter` (0) or `max_no_improvement` (0).
    pub fn check(self) -> Result<MiniBatchValidParams, NmfError> {
        let p = self.0;
        if p.rank == 0 {
            return Err(NmfError::ZeroRank);
        }
        if p.max_iter == 0 {
            return Err(NmfError::ZeroMaxIter);
        }
        if !(p.tol.is_finite() && p.tol >= 0.0) {
            return Err(NmfError::InvalidTol(p.tol));
        }
        if let Some(eps) = p.eps
            && !(eps.is_finite() && eps > 0.0)
        {
            return Err(NmfError::InvalidEps(eps));
        }
        let beta = p.loss.beta_value();
        if !beta.is_finite() {
            return Err(NmfError::InvalidBeta(beta));
        }
        if beta.abs() > MAX_BETA {
            return Err(NmfError::BetaOutOfRange {
                beta,
                max: MAX_BETA,
            });
        }
        let bad = |option: &'static str, reason: String| {
            Err(NmfError::InvalidSolverOption { option, reason })
        };
        if p.batch_size == 0 {
            return bad("batch_size", "must be at least 1, got 0".into());
        }
        if !(p.forget_factor.is_finite() && p.forget_factor >= 0.0) {
            return bad(
                "forget_factor",
                format!("must be finite and ≥ 0, got {}", p.forget_factor),
            );
        }
        if p.fresh_restarts_max_iter == 0 {
            return bad(
                "fresh_restarts_max_iter",
                "must be at least 1, got 0".into(),
            );
        }
        if p.max_no_improvement == Some(0) {
            return bad(
                "max_no_improvement",
                "must be at least 1 (or None to disable), got 0".into(),
            );
        }
        Ok(p)
    }
}

impl MiniBatchValidParams {
    /// The rank k.
    pub fn rank(&self) -> usize {
        self.rank
    }
    /// Rows per batch.
    pub fn batch_size(&self) -> usize {
        self.batch_size
    }
    /// The forget factor ρ₀.
    pub fn forget_factor(&self) -> f64 {
        self.forget_factor
    }
    /// Whether W_b is solved afresh in every epoch.
    pub fn fresh_restarts(&self) -> bool {
        self.fresh_restarts
    }
    /// The most MM steps of a fresh solve of W_b.
    pub fn fresh_restarts_max_iter(&self) -> usize {
        self.fresh_restarts_max_iter
    }
    /// Batches without improvement before stopping.
    pub fn max_no_improvement(&self) -> Option<usize> {
        self.max_no_improvement
    }
    /// The tolerance on the relative change of H.
    pub fn tol(&self) -> f64 {
        self.tol
    }
    /// The most epochs.
    pub fn max_iter(&self) -> usize {
        self.max_iter
    }
    /// The loss.
    pub fn loss(&self) -> Loss {
        self.loss
    }
    /// The ε given, if any.
    pub fn eps(&self) -> Option<f64> {
        self.eps
    }
    /// The seed of the initial H.
    pub fn seed(&self) -> u64 {
        self.seed
    }
}
