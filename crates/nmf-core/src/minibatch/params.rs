//! Parameters of a minibatch fit: [`MiniBatchNmf::params`] → [`MiniBatchParams`] (setters) →
//! [`MiniBatchValidParams`].

use crate::{Loss, MAX_BETA, NmfError, Penalty};

/// The entry point of the minibatch (online) fit: [`MiniBatchNmf::params`].
#[derive(Debug, Clone, Copy)]
pub struct MiniBatchNmf;

impl MiniBatchNmf {
    /// The parameters of a minibatch fit at rank `k`, with scikit-learn's defaults
    /// (`batch_size` 1024, `forget_factor` 0.7, no fresh restarts, `fresh_restarts_max_iter`
    /// 30, `max_no_improvement` 10, `tol` 1e-4, `max_iter` 200 epochs, Frobenius loss, no
    /// penalties: `alpha_W` 0, `alpha_H` `"same"`, `l1_ratio` 0).
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
            alpha_w: 0.0,
            alpha_h: None,
            l1_ratio: 0.0,
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
    pub(super) alpha_w: f64,
    pub(super) alpha_h: Option<f64>,
    pub(super) l1_ratio: f64,
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
    /// [`OnlineNmf::partial_fit`](super::OnlineNmf::partial_fit) when the number of rows is not known), as scikit-learn does.
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
    /// The regularisation weight of W, scikit-learn's `alpha_W` (default 0: none). A batch
    /// of r rows adds `l1_w‖W_b‖₁ + ½·l2_w‖W_b‖²` to its loss with `l1_w = n·α_W·ρ₁`,
    /// `l2_w = n·α_W·(1−ρ₁)` (n the columns of V, ρ₁ = [`l1_ratio`](Self::l1_ratio)): the
    /// full-batch fit's weights ([`Penalty::sklearn`]) on the batch's rows of W. Finite and
    /// ≥ 0.
    pub fn alpha_w(mut self, alpha: f64) -> Self {
        self.0.alpha_w = alpha;
        self
    }
    /// The regularisation weight of H, scikit-learn's `alpha_H` (default: the same as
    /// `alpha_W`, scikit-learn's `"same"`). A batch of r rows adds `r·α_H·(ρ₁‖H‖₁ +
    /// ½(1−ρ₁)‖H‖²)` to the surrogate, forgotten with the batch (see
    /// [`surrogate`](super::surrogate)). Finite and ≥ 0.
    pub fn alpha_h(mut self, alpha: f64) -> Self {
        self.0.alpha_h = Some(alpha);
        self
    }
    /// The share ρ₁ ∈ [0, 1] of L1 in the penalties (scikit-learn's `l1_ratio`, default 0).
    pub fn l1_ratio(mut self, ratio: f64) -> Self {
        self.0.l1_ratio = ratio;
        self
    }

    /// Validates the parameters.
    ///
    /// # Errors
    /// [`NmfError::ZeroRank`], [`NmfError::ZeroMaxIter`], [`NmfError::InvalidTol`],
    /// [`NmfError::InvalidEps`] (not finite or ≤ 0), [`NmfError::InvalidBeta`],
    /// [`NmfError::BetaOutOfRange`], [`NmfError::InvalidRegularization`] (`alpha_W` or
    /// `alpha_H` negative or not finite, `l1_ratio` outside [0, 1], the messages of
    /// [`NmfParams::check`](crate::NmfParams::check)), and [`NmfError::InvalidSolverOption`] naming
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
        let alpha_h = p.alpha_h.unwrap_or(p.alpha_w);
        if !(p.alpha_w.is_finite() && p.alpha_w >= 0.0 && alpha_h.is_finite() && alpha_h >= 0.0) {
            return Err(NmfError::InvalidRegularization {
                reason: format!(
                    "alpha_W and alpha_H must be finite and ≥ 0, got {} and {alpha_h}",
                    p.alpha_w
                ),
            });
        }
        if !(0.0..=1.0).contains(&p.l1_ratio) {
            return Err(NmfError::InvalidRegularization {
                reason: format!("l1_ratio must be in [0, 1], got {}", p.l1_ratio),
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
    /// scikit-learn's `alpha_W`.
    pub fn alpha_w(&self) -> f64 {
        self.alpha_w
    }
    /// scikit-learn's `alpha_H` (resolved: `alpha_W` unless set).
    pub fn alpha_h(&self) -> f64 {
        self.alpha_h.unwrap_or(self.alpha_w)
    }
    /// The share of L1 in the penalties.
    pub fn l1_ratio(&self) -> f64 {
        self.l1_ratio
    }
    /// The penalty weights of a batch of `rows` rows of a V of `n` columns, scikit-learn's
    /// scaling by the batch ([`Penalty::sklearn`] with m = `rows`): `l1_w = n·α_W·ρ₁`,
    /// `l2_w = n·α_W·(1−ρ₁)` on W_b, `l1_h = rows·α_H·ρ₁`, `l2_h = rows·α_H·(1−ρ₁)` on H.
    ///
    /// ```
    /// use nmf_core::minibatch::MiniBatchNmf;
    /// let p = MiniBatchNmf::params(2).alpha_w(0.5).alpha_h(0.1).l1_ratio(0.25);
    /// let pen = p.check().unwrap().batch_penalty(10, 20).unwrap();
    /// assert_eq!((pen.l1_w, pen.l2_w, pen.l1_h, pen.l2_h), (2.5, 7.5, 0.25, 0.75));
    /// ```
    ///
    /// # Errors
    /// [`NmfError::InvalidRegularization`] naming `alpha_W` or `alpha_H` when α times the
    /// columns or rows overflows `f64`.
    pub fn batch_penalty(&self, rows: usize, n: usize) -> Result<Penalty, NmfError> {
        let alpha_h = self.alpha_h();
        let checks = [
            ("alpha_W", self.alpha_w, "columns of V", n),
            ("alpha_H", alpha_h, "rows of the batch", rows),
        ];
        if let Some((name, alpha, what, count)) =
            checks.iter().find(|c| !(c.1 * c.3 as f64).is_finite())
        {
            return Err(NmfError::InvalidRegularization {
                reason: format!(
                    "{name} = {alpha:e} times the {count} {what} (scikit-learn's scaling of the \
                     penalty weights) exceeds the range of f64; use a smaller {name}"
                ),
            });
        }
        Ok(Penalty::sklearn(
            rows,
            n,
            self.alpha_w,
            alpha_h,
            self.l1_ratio,
        ))
    }
}
