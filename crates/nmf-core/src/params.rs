//! Parameters of a fit: [`Nmf::params`] → [`NmfParams`] (setters) → [`NmfValidParams`].

use crate::NmfError;

/// The loss minimised.
///
/// [`Loss::beta`] builds any member of the β-divergence family, mapping β = 2 and β = 1 to the
/// dedicated [`Loss::Frobenius`] and [`Loss::KullbackLeibler`] paths (so they give exactly
/// those results).
///
/// ```
/// use nmf_core::Loss;
/// assert_eq!(Loss::beta(2.0), Loss::Frobenius);
/// assert_eq!(Loss::beta(1.0), Loss::KullbackLeibler);
/// assert_eq!(Loss::beta(0.0), Loss::ItakuraSaito);
/// assert_eq!(Loss::beta(0.5), Loss::Beta(0.5));
/// assert_eq!(Loss::ItakuraSaito.beta_value(), 0.0);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Default)]
#[non_exhaustive]
pub enum Loss {
    /// `F = ½‖V − WH‖²_F` (Lee & Seung eq. 2, with the ½ their proof uses; β = 2).
    /// scikit-learn's `reconstruction_err_` is `√(2F)`, see
    /// [`crate::NmfModel::reconstruction_err`].
    #[default]
    Frobenius,
    /// The generalized Kullback–Leibler divergence
    /// `D(V‖WH) = Σ V log(V/WH) − V + WH`, with `0·log 0 = 0` (eq. 3; β = 1).
    KullbackLeibler,
    /// The Itakura–Saito divergence `Σ V/WH − log(V/WH) − 1` (β = 0). V must have no zero
    /// entry (the divergence is infinite there).
    ItakuraSaito,
    /// The β-divergence `Σ d_β(V|WH)`,
    /// `d_β(x|y) = x^β/(β(β−1)) + y^β/β − x·y^(β−1)/(β−1)`, minimised with the updates of
    /// Févotte & Idier (2011) and the exponent γ(β) of
    /// [`beta_gamma`](crate::kernels::beta_gamma). For β ≤ 0, V must have no zero entry.
    /// Prefer [`Loss::beta`], which uses the dedicated paths for β ∈ {0, 1, 2}.
    Beta(f64),
}

impl Loss {
    /// The β-divergence with parameter `beta`: [`Loss::Frobenius`] for 2,
    /// [`Loss::KullbackLeibler`] for 1, [`Loss::ItakuraSaito`] for 0, else [`Loss::Beta`].
    pub fn beta(beta: f64) -> Loss {
        if beta == 2.0 {
            Loss::Frobenius
        } else if beta == 1.0 {
            Loss::KullbackLeibler
        } else if beta == 0.0 {
            Loss::ItakuraSaito
        } else {
            Loss::Beta(beta)
        }
    }

    /// The β of this loss in the β-divergence family.
    pub fn beta_value(&self) -> f64 {
        match self {
            Loss::Frobenius => 2.0,
            Loss::KullbackLeibler => 1.0,
            Loss::ItakuraSaito => 0.0,
            Loss::Beta(b) => *b,
        }
    }
}

impl core::fmt::Display for Loss {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Loss::Frobenius => f.write_str("frobenius"),
            Loss::KullbackLeibler => f.write_str("kl"),
            Loss::ItakuraSaito => f.write_str("itakura-saito"),
            Loss::Beta(b) => write!(f, "beta({b})"),
        }
    }
}

/// The update rule of a fit.
///
/// Every solver keeps the guarantee: each of its steps exactly minimises the objective (or an
/// auxiliary function of it) over `{x ≥ ε}`, so the objective never increases.
///
/// ```
/// use nmf_core::{Loss, Solver};
/// assert_eq!(Solver::Auto.resolve(Loss::Frobenius), Solver::Hals);
/// assert_eq!(Solver::Auto.resolve(Loss::KullbackLeibler), Solver::Mu);
/// assert_eq!(Solver::Hals.to_string(), "hals");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Solver {
    /// The fastest monotone solver for the loss and data: [`Solver::Hals`] for the Frobenius
    /// loss (with or without penalties; [`Solver::Anls`] on masked observed entries, the
    /// multiplicative updates on dense weights), [`Solver::Mu`] otherwise (for KL too: [`Solver::CdKl`] needs
    /// fewer iterations but was measured slower to a given loss except on large matrices at
    /// tight losses, see `docs/solvers.md`).
    #[default]
    Auto,
    /// The multiplicative updates of Lee & Seung and Févotte & Idier ([`crate::MuSolver`]),
    /// for every loss.
    Mu,
    /// Hierarchical ALS with the ε lower bound and the inner sweeps of Gillis & Glineur
    /// ([`crate::HalsSolver`]), for the Frobenius loss only (scikit-learn's `cd`).
    Hals,
    /// Cyclic coordinate descent with safeguarded Newton steps (Hsieh & Dhillon 2011;
    /// [`crate::CdKlSolver`]), for the KL loss only (else [`NmfError::SolverLossMismatch`]),
    /// on dense V or sparse V (swept over its stored entries, O(nnz·k)); settings with
    /// [`NmfParams::cd_kl_options`]. Each step provably never raises the objective.
    CdKl,
    /// Alternating non-negative least squares for masked or weighted data with the Frobenius
    /// loss ([`crate::masked::AnlsSolver`]: one k×k Gram matrix per column of H and row of W
    /// over its observed entries, solved by exact coordinate descent), on
    /// [`crate::masked::Observed`] data (else [`NmfError::SolverNotForData`]); the Frobenius
    /// loss only (else [`NmfError::SolverLossMismatch`]). [`Solver::Auto`] picks it for
    /// observed data with the Frobenius loss.
    Anls,
}

impl Solver {
    /// The solver that runs for `loss`: [`Solver::Auto`] resolved, any other returned as it
    /// is.
    pub fn resolve(self, loss: Loss) -> Solver {
        match self {
            Solver::Auto if loss == Loss::Frobenius => Solver::Hals,
            Solver::Auto => Solver::Mu,
            other => other,
        }
    }
}

impl core::fmt::Display for Solver {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Solver::Auto => "auto",
            Solver::Mu => "mu",
            Solver::Hals => "hals",
            Solver::CdKl => "cd",
            Solver::Anls => "anls",
        })
    }
}

/// How the initial W and H are chosen when none are given
/// (custom factors go through [`Fitting::start`](crate::Fitting::start)).
///
/// Whatever the choice, entries below ε are lifted to ε before the first iteration (a zero
/// would never move under a multiplicative update).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Init {
    /// scikit-learn's default: [`Init::Nndsvda`] when k ≤ min(m, n), else [`Init::Random`].
    #[default]
    Auto,
    /// Seeded random, scaled like scikit-learn's `init='random'`: every entry is
    /// `|N(0, 1)|·√(mean(V)/k)`, drawn from a ChaCha8 generator seeded with the `seed`
    /// parameter, H first (row-major) then W (row-major), in `f64` and rounded to the scalar
    /// (for a V the fit rescales to V/c², drawn at that scale: √(mean(V)/k)/c).
    /// The same seed gives the same factors on every backend and every run.
    Random,
    /// NNDSVD (Boutsidis & Gallopoulos 2008), from a truncated SVD of V: sparse factors with
    /// exact zeros (lifted to ε). Needs k ≤ min(m, n).
    Nndsvd,
    /// NNDSVD with its zeros filled with mean(V). Needs k ≤ min(m, n).
    Nndsvda,
    /// NNDSVD with its zeros filled with small random values (mean(V)/100·|N(0,1)|, seeded).
    /// Needs k ≤ min(m, n).
    Nndsvdar,
}

impl Init {
    /// The NNDSVD variant, if this is one, after resolving [`Init::Auto`] for rank `k` and a
    /// V of shape m×n.
    pub fn nndsvd_variant(
        self,
        k: usize,
        m: usize,
        n: usize,
    ) -> Option<crate::nndsvd::NndsvdVariant> {
        use crate::nndsvd::NndsvdVariant as N;
        match self {
            Init::Auto if k <= m.min(n) => Some(N::Nndsvda),
            Init::Auto | Init::Random => None,
            Init::Nndsvd => Some(N::Nndsvd),
            Init::Nndsvda => Some(N::Nndsvda),
            Init::Nndsvdar => Some(N::Nndsvdar),
        }
    }
}

/// Which factor, if any, keeps its initial value during a fit.
///
/// With [`Fixed::W`] only H is updated: that is how [`NmfModel::transform`](crate::NmfModel::transform)
/// finds H for new data. Give the fixed factor with
/// [`Fitting::start`](crate::Fitting::start) (entries below ε are lifted to ε).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Fixed {
    /// Both factors are updated (H, then W, every iteration).
    #[default]
    None,
    /// W is fixed; every iteration updates H.
    W,
    /// H is fixed; every iteration updates W.
    H,
}

/// The largest |β| a fit accepts. The β updates raise the entries λ of WH to the powers β − 1
/// and β − 2; beyond |β| = 100 those overflow or underflow `f64` as soon as the entries of V
/// differ by more than a factor of about 2^(1024/98) ≈ 1400, and the exponent γ(β) ≈ 1/|β| of
/// the update leaves the factors almost where they are.
pub const MAX_BETA: f64 = 100.0;

/// The entry point, in the style of linfa: `Nmf::params(rank)` starts a parameter set.
///
/// ```
/// use nmf_core::{Loss, Nmf};
/// let params = Nmf::params(4).loss(Loss::KullbackLeibler).max_iter(300).seed(7);
/// assert_eq!(params.rank(), 4);
/// assert!(params.check().is_ok());
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Nmf;

impl Nmf {
    /// Default parameters for a factorization of rank `k` (unchecked until
    /// [`NmfParams::check`] or a fit).
    pub fn params(rank: usize) -> NmfParams {
        NmfParams(NmfValidParams {
            rank,
            loss: Loss::Frobenius,
            max_iter: 200,
            tol: 1e-4,
            check_every: 10,
            init: Init::Auto,
            seed: 0,
            eps: None,
            fixed: Fixed::None,
            n_init: 1,
            alpha_w: 0.0,
            alpha_h: None,
            l1_ratio: 0.0,
            penalty_override: None,
            eps_raised: false,
            solver: Solver::Auto,
            hals: crate::HalsOptions::default(),
            cd_kl: crate::CdKlOptions::default(),
            anls: crate::masked::AnlsOptions::default(),
            holdout: None,
        })
    }
}

/// Parameters of a fit, not yet validated. Every setter takes and returns `self`.
///
/// Defaults (as scikit-learn's `NMF` where it has the setting): loss [`Loss::Frobenius`],
/// [`Solver::Auto`] (HALS for Frobenius, as scikit-learn's default `cd`; the multiplicative
/// updates otherwise), `max_iter` 200, `tol` 1e-4, `check_every` 10, [`Init::Auto`] (NNDSVDA
/// when the rank allows, else random), `seed` 0, and ε chosen from the data
/// ([`NmfValidParams::eps_for`]).
#[derive(Debug, Clone, PartialEq)]
pub struct NmfParams(NmfValidParams);

/// Validated parameters: every value is in range. Obtained from [`NmfParams::check`].
#[derive(Debug, Clone, PartialEq)]
pub struct NmfValidParams {
    pub(crate) rank: usize,
    pub(crate) loss: Loss,
    pub(crate) max_iter: usize,
    pub(crate) tol: f64,
    pub(crate) check_every: usize,
    pub(crate) init: Init,
    pub(crate) seed: u64,
    pub(crate) eps: Option<f64>,
    pub(crate) fixed: Fixed,
    pub(crate) n_init: usize,
    pub(crate) alpha_w: f64,
    pub(crate) alpha_h: Option<f64>,
    pub(crate) l1_ratio: f64,
    /// Penalty weights used as they are, instead of scaling α by the data's shape (for
    /// `transform`, which keeps the fit's per-entry weights on H).
    pub(crate) penalty_override: Option<crate::Penalty>,
    /// An ε below [`NmfValidParams::eps_range`] is raised to its lower end instead of refused
    /// (for `transform`, whose ε is the model's: an `f64` model's ε can be below what `f32`
    /// can use).
    pub(crate) eps_raised: bool,
    pub(crate) solver: Solver,
    /// α, δ and `shuffle` of HALS (its seed is set from `seed` per restart).
    pub(crate) hals: crate::HalsOptions,
    /// The Newton steps of the KL coordinate descent.
    pub(crate) cd_kl: crate::CdKlOptions,
    /// The inner sweeps of masked least squares.
    pub(crate) anls: crate::masked::AnlsOptions,
    /// The fraction of the observed entries held out, and the seed of their draw.
    pub(crate) holdout: Option<(f64, u64)>,
}

impl NmfParams {
    /// The loss to minimise.
    pub fn loss(mut self, loss: Loss) -> Self {
        self.0.loss = loss;
        self
    }
    /// The most iterations (one iteration updates H, then W). Reaching it is not an error:
    /// the model reports `converged() == false`. Must be ≥ 1.
    pub fn max_iter(mut self, max_iter: usize) -> Self {
        self.0.max_iter = max_iter;
        self
    }
    /// The relative-decrease tolerance of the stopping rule (see [`NmfValidParams::tol`]).
    /// Must be finite and ≥ 0; 0 runs exactly `max_iter` iterations.
    pub fn tol(mut self, tol: f64) -> Self {
        self.0.tol = tol;
        self
    }
    /// Evaluate the loss (and the stopping rule) every this many iterations. Must be ≥ 1.
    pub fn check_every(mut self, every: usize) -> Self {
        self.0.check_every = every;
        self
    }
    /// How to initialise W and H.
    pub fn init(mut self, init: Init) -> Self {
        self.0.init = init;
        self
    }
    /// The seed of the random initialisation.
    pub fn seed(mut self, seed: u64) -> Self {
        self.0.seed = seed;
        self
    }
    /// The lower bound ε on every entry of W and H (must be finite and > 0, and, when
    /// fitting, inside [`NmfValidParams::eps_range`] for the data and scalar type); by default
    /// it is chosen from the data ([`NmfValidParams::eps_for`]).
    pub fn eps(mut self, eps: f64) -> Self {
        self.0.eps = Some(eps);
        self
    }
    /// Keep one factor fixed at its initial value (see [`Fixed`]).
    pub fn fixed(mut self, fixed: Fixed) -> Self {
        self.0.fixed = fixed;
        self
    }
    /// Run this many fits from the random initialisation, with seeds `seed`, `seed + 1`, …,
    /// and keep the one with the lowest final loss (the first on a tie). Deterministic given
    /// the seed; the fits run one after the other, or on threads with
    /// [`Fitting::threads`](crate::Fitting::threads) (bit-identical). Must be ≥ 1; custom initial factors
    /// ([`Fitting::start`](crate::Fitting::start)) make a single fit. With an SVD-based
    /// initialisation (including [`Init::Auto`] when it picks nndsvda) every restart starts
    /// from the same factors, except for nndsvdar's random fill: use [`Init::Random`] for
    /// restarts that explore.
    pub fn n_init(mut self, n_init: usize) -> Self {
        self.0.n_init = n_init;
        self
    }
    /// The regularisation weight of W, scikit-learn's `alpha_W` (default 0: none). The
    /// objective gains `l1_w‖W‖₁ + ½·l2_w‖W‖²` with `l1_w = n·α_W·ρ`, `l2_w = n·α_W·(1−ρ)`
    /// (ρ = [`l1_ratio`](Self::l1_ratio), n the columns of V), scikit-learn's scaling
    /// ([`Penalty::sklearn`](crate::Penalty::sklearn)). Every loss supports L1 and L2, each
    /// with an update that keeps the penalised objective non-increasing; see
    /// [`MuSolver::set_penalty`](crate::MuSolver::set_penalty).
    ///
    /// ```
    /// use nmf_core::{Loss, Nmf, reference::Reference, MatrixBackend};
    /// let b = Reference;
    /// let v = b.from_fn(6, 5, |i, j| ((i * 5 + j) % 7) as f64 + 0.5);
    /// let model = Nmf::params(2)
    ///     .loss(Loss::KullbackLeibler)
    ///     .alpha_w(0.01)
    ///     .l1_ratio(0.5) // half L1, half L2
    ///     .seed(1)
    ///     .fit(&b, &v)
    ///     .unwrap();
    /// // The history records the penalised objective, which never rises.
    /// let h = model.loss_history();
    /// assert!(h.windows(2).all(|p| p[1].loss <= p[0].loss * (1.0 + 1e-12)));
    /// ```
    pub fn alpha_w(mut self, alpha: f64) -> Self {
        self.0.alpha_w = alpha;
        self
    }
    /// The regularisation weight of H, scikit-learn's `alpha_H`: `l1_h = m·α_H·ρ`,
    /// `l2_h = m·α_H·(1−ρ)`. By default the same as `alpha_W` (scikit-learn's `"same"`).
    pub fn alpha_h(mut self, alpha: f64) -> Self {
        self.0.alpha_h = Some(alpha);
        self
    }
    /// The share ρ ∈ [0, 1] of L1 in the penalties (scikit-learn's `l1_ratio`, default 0).
    pub fn l1_ratio(mut self, ratio: f64) -> Self {
        self.0.l1_ratio = ratio;
        self
    }
    /// The update rule ([`Solver::Auto`] by default: HALS for the Frobenius loss, the
    /// multiplicative updates otherwise; for weighted data ([`crate::masked`]) masked least
    /// squares for the Frobenius loss on observed entries, the multiplicative updates
    /// otherwise). [`Solver::Hals`] with another loss than Frobenius,
    /// and [`Solver::CdKl`] with another loss than KL, are refused by
    /// [`check`](Self::check) ([`NmfError::SolverLossMismatch`]).
    pub fn solver(mut self, solver: Solver) -> Self {
        self.0.solver = solver;
        self
    }
    /// Masked least squares only ([`Solver::Anls`]): the most coordinate sweeps per column
    /// (row) and half-step, and their relative stop (see
    /// [`AnlsOptions`](crate::masked::AnlsOptions); default 10 and 1e-3).
    pub fn anls_options(mut self, options: crate::masked::AnlsOptions) -> Self {
        self.0.anls = options;
        self
    }
    /// Holds out a reproducible random `fraction` of the observed entries (drawn from
    /// `seed`, the same set for every restart) from the fit, and reports the model's error
    /// on them ([`NmfModel::holdout`](crate::NmfModel::holdout), RMSE and MAE and the mean
    /// divergence), at every evaluation of the loss too
    /// ([`NmfModel::holdout_history`](crate::NmfModel::holdout_history)), so over-fitting
    /// is visible. For masked or weighted data ([`crate::masked`]); other data is refused
    /// with [`NmfError::InvalidHoldout`]. A test set of one's own:
    /// [`Fitting::test`](crate::Fitting::test). `fraction` must lie in (0, 1)
    /// ([`check`](Self::check)).
    ///
    /// ```
    /// use nmf_core::{Nmf, masked::Observed, reference::Reference};
    /// let (rows, cols): (Vec<usize>, Vec<usize>) = (0..60).map(|t| (t / 6, t % 6)).unzip();
    /// let vals: Vec<f64> = rows.iter().zip(&cols).map(|(&i, &j)| ((i + 1) * (j + 1)) as f64).collect();
    /// let v = Observed::from_triplets(10, 6, &rows, &cols, &vals).unwrap();
    /// let model = Nmf::params(1).holdout(0.2, 3).max_iter(300).fit(&Reference, &v).unwrap();
    /// let e = model.holdout().unwrap();
    /// assert_eq!(e.count, 12);
    /// assert!(e.rmse < 1e-3); // a rank-one matrix: the held-out entries are predicted
    /// assert_eq!(model.holdout_history().len(), model.loss_history().len());
    /// ```
    pub fn holdout(mut self, fraction: f64, seed: u64) -> Self {
        self.0.holdout = Some((fraction, seed));
        self
    }
    /// HALS only: sweep the coordinates in a random order drawn anew for every sweep
    /// (scikit-learn's `shuffle`), seeded by [`seed`](Self::seed) (restart r uses seed + r),
    /// so deterministic; default `false`.
    pub fn shuffle(mut self, shuffle: bool) -> Self {
        self.0.hals.shuffle = shuffle;
        self
    }
    /// HALS only: α ≥ 0 and δ ∈ [0, 1] of the repeated inner sweeps (see
    /// [`HalsOptions`](crate::HalsOptions); default 0.5 and 0.1, α = 0 for plain HALS).
    pub fn hals_acceleration(mut self, alpha: f64, delta: f64) -> Self {
        self.0.hals.alpha = alpha;
        self.0.hals.delta = delta;
        self
    }
    /// KL coordinate descent only: its Newton steps per coordinate (see
    /// [`CdKlOptions`](crate::CdKlOptions); default at most 2, stopping at a relative change of
    /// 1e-3).
    pub fn cd_kl_options(mut self, options: crate::CdKlOptions) -> Self {
        self.0.cd_kl = options;
        self
    }
    /// The rank k.
    pub fn rank(&self) -> usize {
        self.0.rank
    }
    /// Uses these penalty weights as they are (see `penalty_override`).
    pub(crate) fn penalty_weights(mut self, p: crate::Penalty) -> Self {
        self.0.penalty_override = Some(p);
        self
    }
    /// Raise an ε below its range to the lower end (see `eps_raised`).
    pub(crate) fn raise_eps(mut self) -> Self {
        self.0.eps_raised = true;
        self
    }
    /// Validates the parameters.
    ///
    /// # Errors
    /// [`NmfError::ZeroRank`], [`NmfError::ZeroMaxIter`], [`NmfError::ZeroCheckEvery`],
    /// [`NmfError::InvalidTol`], [`NmfError::InvalidEps`], [`NmfError::InvalidBeta`],
    /// [`NmfError::BetaOutOfRange`] (|β| above [`MAX_BETA`]),
    /// [`NmfError::SolverLossMismatch`] ([`Solver::Hals`] with a loss other than Frobenius,
    /// [`Solver::CdKl`] with a loss other than KL) or [`NmfError::InvalidSolverOption`]
    /// (HALS's α or δ, or the coordinate descent's Newton settings, out of range).
    pub fn check(self) -> Result<NmfValidParams, NmfError> {
        let p = self.0;
        if let Loss::Beta(b) = p.loss {
            if !b.is_finite() {
                return Err(NmfError::InvalidBeta(b));
            }
            if b.abs() > MAX_BETA {
                return Err(NmfError::BetaOutOfRange {
                    beta: b,
                    max: MAX_BETA,
                });
            }
        }
        if p.solver == Solver::Hals && p.loss != Loss::Frobenius {
            return Err(NmfError::SolverLossMismatch {
                solver: p.solver,
                loss: p.loss,
                supported: "frobenius",
            });
        }
        if p.solver == Solver::Anls && p.loss != Loss::Frobenius {
            return Err(NmfError::SolverLossMismatch {
                solver: p.solver,
                loss: p.loss,
                supported: "frobenius",
            });
        }
        if p.solver == Solver::CdKl && p.loss != Loss::KullbackLeibler {
            return Err(NmfError::SolverLossMismatch {
                solver: p.solver,
                loss: p.loss,
                supported: "kl",
            });
        }
        p.hals.check()?;
        p.cd_kl.check()?;
        p.anls.check()?;
        if let Some((f, _)) = p.holdout
            && !(f > 0.0 && f < 1.0)
        {
            return Err(NmfError::InvalidHoldout {
                reason: format!("the held-out fraction must lie in (0, 1), got {f}"),
            });
        }
        if p.rank == 0 {
            return Err(NmfError::ZeroRank);
        }
        if p.max_iter == 0 {
            return Err(NmfError::ZeroMaxIter);
        }
        if p.check_every == 0 {
            return Err(NmfError::ZeroCheckEvery);
        }
        if p.n_init == 0 {
            return Err(NmfError::ZeroNInit);
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
        if !(p.tol.is_finite() && p.tol >= 0.0) {
            return Err(NmfError::InvalidTol(p.tol));
        }
        if let Some(eps) = p.eps
            && !(eps.is_finite() && eps > 0.0)
        {
            return Err(NmfError::InvalidEps(eps));
        }
        Ok(p)
    }
}

impl NmfValidParams {
    /// The rank k.
    pub fn rank(&self) -> usize {
        self.rank
    }
    /// The loss.
    pub fn loss(&self) -> Loss {
        self.loss
    }
    /// The most iterations.
    pub fn max_iter(&self) -> usize {
        self.max_iter
    }
    /// The tolerance of the stopping rule. The loss L is evaluated at the initial factors
    /// and after every `check_every` iterations; with `L_prev` the previous evaluation, the fit
    /// stops as converged when `tol > 0` and `L_prev − L ≤ tol · L_prev` (a relative decrease
    /// of at most `tol` over the last `check_every` iterations, which includes an exact fit,
    /// `L = 0`). With `tol = 0` it runs `max_iter` iterations. A rise `L > L_prev` within the
    /// rounding bound of the evaluation ([`Evaluation::rise_bound`](crate::Evaluation::rise_bound))
    /// counts as convergence; a larger rise is the error
    /// [`NmfError::ObjectiveIncreased`], never convergence.
    pub fn tol(&self) -> f64 {
        self.tol
    }
    /// How often the loss is evaluated.
    pub fn check_every(&self) -> usize {
        self.check_every
    }
    /// The initialisation.
    pub fn init(&self) -> Init {
        self.init
    }
    /// The seed.
    pub fn seed(&self) -> u64 {
        self.seed
    }
    /// The solver asked for (see [`Solver::resolve`] for the one that runs).
    pub fn solver(&self) -> Solver {
        self.solver
    }
    /// The solver that runs: [`Solver::Auto`] resolved for the loss.
    pub fn effective_solver(&self) -> Solver {
        self.solver.resolve(self.loss)
    }
    /// The settings of the KL coordinate descent.
    pub fn cd_kl_options(&self) -> crate::CdKlOptions {
        self.cd_kl
    }
    /// The HALS settings (the seed there is unused: each restart seeds from `seed`).
    pub fn hals_options(&self) -> crate::HalsOptions {
        self.hals
    }
    /// Which factor is fixed.
    pub fn fixed(&self) -> Fixed {
        self.fixed
    }
    /// The number of random restarts.
    pub fn n_init(&self) -> usize {
        self.n_init
    }
    /// The penalties for V of m rows and n columns ([`Penalty::sklearn`](crate::Penalty::sklearn)).
    pub fn penalty(&self, m: usize, n: usize) -> crate::Penalty {
        if let Some(p) = self.penalty_override {
            return p;
        }
        let alpha_h = self.alpha_h.unwrap_or(self.alpha_w);
        crate::Penalty::sklearn(m, n, self.alpha_w, alpha_h, self.l1_ratio)
    }
    /// The penalties for V of m rows and n columns, checked: every weight finite.
    ///
    /// # Errors
    /// [`NmfError::InvalidRegularization`], naming `alpha_W` or `alpha_H` and its value,
    /// when α times the number of columns or rows overflows `f64`.
    pub(crate) fn checked_penalty(&self, m: usize, n: usize) -> Result<crate::Penalty, NmfError> {
        let p = self.penalty(m, n);
        if self.penalty_override.is_some() {
            return Ok(p);
        }
        let alpha_h = self.alpha_h.unwrap_or(self.alpha_w);
        // The weights are α times the number of columns (W) or rows (H), times ρ or 1 − ρ.
        let bad = [
            ("alpha_W", self.alpha_w, "columns", n),
            ("alpha_H", alpha_h, "rows", m),
        ];
        match bad.iter().find(|b| !(b.1 * b.3 as f64).is_finite()) {
            None => Ok(p),
            Some((name, alpha, what, count)) => Err(NmfError::InvalidRegularization {
                reason: format!(
                    "{name} = {alpha:e} times the {count} {what} of V (scikit-learn's scaling \
                     of the penalty weights) exceeds the range of f64; use a smaller {name}"
                ),
            }),
        }
    }
    /// The range `[min, max]` of ε that a fit in scalar type `T` accepts for a V with the given
    /// mean entry: at most `1024·√mean(V)` (ε bounds every entry of W and H from below; far
    /// above the factors' typical size √(mean/k) it makes WH ≥ k·ε² dwarf the data), and at
    /// least 2^-40 (9.1e-13) in `f32` or 2^-330 (4.6e-100) in `f64`, times √mean(V) when
    /// V is rescaled (mean(V) outside about 2^±17 in `f32`, 2^±65 in `f64`; see the crate
    /// docs): then ε³, on V scaled to entries near 1, is a normal number, so the denominators
    /// of the updates keep their precision. The default ε ([`eps_for`](Self::eps_for)) is
    /// raised to `min` if it is below.
    ///
    /// ```
    /// use nmf_core::Nmf;
    /// let p = Nmf::params(2).check().unwrap();
    /// let (lo, hi) = p.eps_range::<f32>(1.0);
    /// assert_eq!((lo, hi), (2f64.powi(-40), 1024.0));
    /// // A V of mean 2^60 is fitted as V/2^60: ε scales with it.
    /// assert_eq!(p.eps_range::<f32>(2f64.powi(60)), (2f64.powi(-10), 2f64.powi(40)));
    /// ```
    pub fn eps_range<T: crate::Scalar>(&self, mean_v: f64) -> (f64, f64) {
        crate::scale::Scaling::for_mean::<T>(mean_v).eps_range::<T>()
    }
    /// The ε given with [`NmfParams::eps`], if any.
    pub fn eps(&self) -> Option<f64> {
        self.eps
    }
    /// The lower bound ε used for data with the given mean entry and scalar unit roundoff `u`.
    ///
    /// Unless set explicitly, `ε = 2u·√(mean(V)/k)`: the machine epsilon of the scalar type
    /// (`2u`: 1.2e-7 for f32, 2.2e-16 for f64) times the typical size of a factor entry (the
    /// scale of the random initialisation). So ε scales with the data, is far below any entry
    /// that matters, and stays well above underflow (the smallest denominator, about
    /// `m·ε³`, is a normal number on the data the solver sees, which V rescaled when its mean
    /// is extreme, see the crate docs). For an all-zero V (mean 0) the scale 1 is used. A fit raises
    /// this default to the lower end of [`eps_range`](Self::eps_range) if it is below (an
    /// explicit ε outside that range is an error).
    ///
    /// ```
    /// use nmf_core::Nmf;
    /// let p = Nmf::params(4).check().unwrap();
    /// let eps = p.eps_for(16.0, f64::EPSILON / 2.0);
    /// assert_eq!(eps, f64::EPSILON * 2.0);
    /// assert_eq!(Nmf::params(4).eps(1e-3).check().unwrap().eps_for(16.0, 1e-8), 1e-3);
    /// ```
    pub fn eps_for(&self, mean_v: f64, unit_roundoff: f64) -> f64 {
        if let Some(eps) = self.eps {
            return eps;
        }
        let scale = (mean_v / self.rank as f64).sqrt();
        let scale = if scale > 0.0 && scale.is_finite() {
            scale
        } else {
            1.0
        };
        2.0 * unit_roundoff * scale
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        let p = Nmf::params(3).check().unwrap();
        assert_eq!(p.rank(), 3);
        assert_eq!(p.loss(), Loss::Frobenius);
        assert_eq!(p.max_iter(), 200);
        assert_eq!(p.tol(), 1e-4);
        assert_eq!(p.check_every(), 10);
        assert_eq!(p.eps(), None);
        assert_eq!(p.init(), Init::Auto);
        use crate::nndsvd::NndsvdVariant;
        assert_eq!(
            Init::Auto.nndsvd_variant(3, 5, 4),
            Some(NndsvdVariant::Nndsvda)
        );
        assert_eq!(Init::Auto.nndsvd_variant(5, 5, 4), None);
    }

    #[test]
    fn each_invalid_setting_has_its_error() {
        assert_eq!(Nmf::params(0).check(), Err(NmfError::ZeroRank));
        assert_eq!(
            Nmf::params(2).max_iter(0).check(),
            Err(NmfError::ZeroMaxIter)
        );
        assert_eq!(
            Nmf::params(2).check_every(0).check(),
            Err(NmfError::ZeroCheckEvery)
        );
        assert_eq!(
            Nmf::params(2).tol(-1e-3).check(),
            Err(NmfError::InvalidTol(-1e-3))
        );
        assert!(matches!(
            Nmf::params(2).tol(f64::NAN).check(),
            Err(NmfError::InvalidTol(t)) if t.is_nan()
        ));
        assert_eq!(
            Nmf::params(2).tol(f64::INFINITY).check(),
            Err(NmfError::InvalidTol(f64::INFINITY))
        );
        assert_eq!(
            Nmf::params(2).eps(0.0).check(),
            Err(NmfError::InvalidEps(0.0))
        );
        assert_eq!(
            Nmf::params(2).eps(-1.0).check(),
            Err(NmfError::InvalidEps(-1.0))
        );
        assert_eq!(
            Nmf::params(2).eps(f64::INFINITY).check(),
            Err(NmfError::InvalidEps(f64::INFINITY))
        );
    }

    #[test]
    fn boundary_values_are_accepted() {
        let p = Nmf::params(1)
            .max_iter(1)
            .check_every(1)
            .tol(0.0)
            .eps(f64::MIN_POSITIVE);
        assert!(p.check().is_ok());
    }

    #[test]
    fn default_eps_scales_with_the_data() {
        let p = Nmf::params(4).check().unwrap();
        let u = f32::EPSILON as f64 / 2.0;
        let small = p.eps_for(4e-6, u);
        let large = p.eps_for(4e6, u);
        assert!((large / small - 1e6).abs() < 1e-6);
        // An all-zero V falls back to scale 1.
        assert_eq!(p.eps_for(0.0, u), 2.0 * u);
    }
}
