//! Lee & Seung's multiplicative updates with the ε lower bound, written once for every
//! backend.
//!
//! The update rules (MU for every β here, HALS in [`HalsSolver`]) never touch V: each
//! half-step asks the data term ([`DataOps`], see [`crate::data`]) for its statistics (WᵀV and
//! WᵀW, Wᵀ(V/WH) and the column sums of W, or the two β products), adds the penalties to them
//! with [`add_scalar`](crate::MatrixBackend::add_scalar),
//! [`add_diag`](crate::MatrixBackend::add_diag) and [`axpy`](crate::MatrixBackend::axpy), and
//! applies its entry-wise rule of [`crate::kernels`].
//!
//! [`MuSolver`] owns W, H and every work buffer (the data term's included), allocated once in
//! [`MuSolver::new`]; its half-steps ([`update_h`](MuSolver::update_h),
//! [`update_w`](MuSolver::update_w)) and [`loss`](MuSolver::loss) allocate nothing. The fitting API ([`crate::NmfValidParams::fit`])
//! drives it; researchers can drive it directly to observe every half-step.

mod beta;
pub mod cd_kl;
mod frobenius;
mod hals;
mod kl;

pub use cd_kl::{CdKlOptions, CdKlSolver, CdKlStep, cd_kl_lane, cd_kl_step};
pub use hals::{HalsOptions, HalsSolver};

use crate::{DataOps, Loss, MatrixBackend, MatrixRole, NmfError, Scalar};

/// L1 and L2 penalties on the factors: the objective is
/// `loss + l1_w‖W‖₁ + ½·l2_w‖W‖²_F + l1_h‖H‖₁ + ½·l2_h‖H‖²_F`.
///
/// [`Penalty::sklearn`] gives scikit-learn's scaling of `alpha_W`, `alpha_H` and `l1_ratio`.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
#[cfg_attr(feature = "io", derive(serde::Serialize, serde::Deserialize))]
pub struct Penalty {
    /// L1 weight on W.
    pub l1_w: f64,
    /// L2 weight on W.
    pub l2_w: f64,
    /// L1 weight on H.
    pub l1_h: f64,
    /// L2 weight on H.
    pub l2_h: f64,
}

impl Penalty {
    /// scikit-learn's scaling for V of m rows (samples in its orientation) and n columns
    /// (features): `l1_w = n·α_W·ρ`, `l2_w = n·α_W·(1 − ρ)`, `l1_h = m·α_H·ρ`,
    /// `l2_h = m·α_H·(1 − ρ)` with ρ = `l1_ratio`.
    ///
    /// ```
    /// use nmf_core::Penalty;
    /// let p = Penalty::sklearn(10, 20, 0.5, 0.1, 0.25);
    /// assert_eq!((p.l1_w, p.l2_w, p.l1_h, p.l2_h), (2.5, 7.5, 0.25, 0.75));
    /// ```
    pub fn sklearn(m: usize, n: usize, alpha_w: f64, alpha_h: f64, l1_ratio: f64) -> Penalty {
        let (m, n) = (m as f64, n as f64);
        Penalty {
            l1_w: n * alpha_w * l1_ratio,
            l2_w: n * alpha_w * (1.0 - l1_ratio),
            l1_h: m * alpha_h * l1_ratio,
            l2_h: m * alpha_h * (1.0 - l1_ratio),
        }
    }

    /// Whether every weight is 0.
    pub fn is_zero(&self) -> bool {
        *self == Penalty::default()
    }
}

/// The state of a multiplicative-update run: the factors and the buffers of both half-steps.
///
/// ```
/// use nmf_core::{Loss, MatrixBackend, MuSolver, reference::Reference};
/// let b = Reference;
/// let v = b.from_row_major(2, 2, &[1.0_f64, 2.0, 3.0, 4.0]).unwrap();
/// let w0 = b.from_row_major(2, 1, &[1.0, 1.0]).unwrap();
/// let h0 = b.from_row_major(1, 2, &[1.0, 1.0]).unwrap();
/// let mut s = MuSolver::new(&b, &v, w0, h0, Loss::KullbackLeibler, 1e-12).unwrap();
/// let before = s.loss();
/// s.update_h();
/// let half = s.loss();
/// s.update_w();
/// assert!(half <= before && s.loss() <= half);
/// ```
pub struct MuSolver<'a, T: Scalar, B: DataOps<T, V>, V> {
    backend: &'a B,
    v: &'a V,
    loss: Loss,
    eps: T,
    w: B::Mat,
    h: B::Mat,
    /// k×n: WᵀV (Frobenius), Wᵀ(V/WH) (KL) or Wᵀ(V∘Λ^(β−2)) (β).
    num_h: B::Mat,
    /// m×k: VHᵀ, (V/WH)Hᵀ or (V∘Λ^(β−2))Hᵀ.
    num_w: B::Mat,
    /// Frobenius: k×n (WᵀW + l2·I)·H + l1 and m×k W·(HHᵀ + l2·I) + l1; β: k×n WᵀΛ^(β−1) and
    /// m×k Λ^(β−1)Hᵀ plus the penalties (0×0 for KL).
    den_h: B::Mat,
    den_w: B::Mat,
    /// Frobenius only: the k×k Gram matrix WᵀW or HHᵀ (0×0 otherwise).
    gram: B::Mat,
    /// β only: the exponent γ(β).
    gamma: T,
    /// KL only: the k column sums of W or row sums of H (plus l1).
    sums: Vec<T>,
    /// The data term's buffers (for dense V: WH, the KL ratio, the β parts).
    work: <B as DataOps<T, V>>::Work,
    penalty: Penalty,
    /// Weighted data ([`DataOps::data_weighted`]): every loss through the β half-steps.
    weighted: bool,
}

/// The objective at the current factors and the sizes of what its evaluation sums, from which
/// the rounding bound of a comparison of two evaluations follows (see [`MuSolver::evaluate`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Evaluation {
    /// The objective (the loss plus the penalties), in `f64`.
    pub objective: f64,
    /// An upper bound on the scale S + P of the terms whose entries of WH carry the rounding
    /// of `T` (see [`Evaluation::rise_bound`]).
    pub scale: f64,
    /// An upper bound on the sum M of the absolute values of the terms evaluated in `f64`.
    pub f64_terms: f64,
}

impl Evaluation {
    /// The largest rise of the computed objective from `self` to `next` that rounding can
    /// explain when the exact objective did not rise: `8·(k+2)·u·max(S) + 16·u₆₄·max(M)`,
    /// the bound of the shared property suite (see `nmf_core::testing`), with u the unit
    /// roundoff of the scalar type and k the rank. Each evaluation rounds the entries of WH
    /// by at most k·u relative (k-term sums of non-negative products), which moves the loss by
    /// at most k·u·S; the `f64` sums and logarithms add a few u₆₄ of M; the half-steps
    /// themselves are exact minimisers up to perturbations of O(u) per entry, which change the
    /// objective only at second order. The bound is absolute, never relative to the loss, so
    /// it does not hide a rise when the loss is small.
    pub fn rise_bound(&self, next: &Evaluation, rank: usize, unit_roundoff: f64) -> f64 {
        8.0 * (rank as f64 + 2.0) * unit_roundoff * self.scale.max(next.scale)
            + 16.0 * (f64::EPSILON / 2.0) * self.f64_terms.max(next.f64_terms)
    }
}

impl<'a, T: Scalar, B: DataOps<T, V>, V> MuSolver<'a, T, B, V> {
    /// Starts a run from `w0` (m×k) and `h0` (k×n), lifting their entries to at least `eps`.
    ///
    /// # Errors
    /// [`NmfError::EmptyMatrix`], [`NmfError::NegativeEntry`] or [`NmfError::NonFiniteEntry`]
    /// for V, W0 or H0; [`NmfError::ShapeMismatch`] if the factors do not fit V;
    /// [`NmfError::ZeroRank`] for k = 0; [`NmfError::InvalidEps`] unless ε is finite and > 0;
    /// [`NmfError::InvalidBeta`] for a non-finite β and [`NmfError::ZeroEntryForBeta`] for a
    /// zero in V when β ≤ 0.
    pub fn new(
        backend: &'a B,
        v: &'a V,
        mut w0: B::Mat,
        mut h0: B::Mat,
        loss: Loss,
        eps: T,
    ) -> Result<Self, NmfError> {
        let (m, n) = check_data(backend, v)?;
        let k = backend.ncols(&w0);
        if k == 0 {
            return Err(NmfError::ZeroRank);
        }
        check_factor(backend, MatrixRole::W0, &w0, (m, k))?;
        check_factor(backend, MatrixRole::H0, &h0, (k, n))?;
        if !(eps.is_finite() && eps > T::zero()) {
            return Err(NmfError::InvalidEps(eps.as_f64()));
        }
        if eps < T::min_positive_value() {
            // A subnormal ε: the denominators at ε would lose their precision.
            return Err(NmfError::EpsOutOfRange {
                eps: eps.as_f64(),
                min: T::min_positive_value().as_f64(),
                max: f64::INFINITY,
                scalar: T::NAME,
            });
        }
        check_beta(backend, v, loss)?;
        backend.clamp_min(&mut w0, eps);
        backend.clamp_min(&mut h0, eps);
        // Weighted data gives every loss's statistics in the β form (see
        // `DataOps::data_weighted`): the buffers of the β path.
        let weighted = backend.data_weighted(v);
        let frob = loss == Loss::Frobenius && !weighted;
        let kl = loss == Loss::KullbackLeibler && !weighted;
        let dh = if kl { (0, 0) } else { (k, n) };
        let dw = if kl { (0, 0) } else { (m, k) };
        let dg = if frob { (k, k) } else { (0, 0) };
        Ok(Self {
            backend,
            v,
            loss,
            eps,
            w: w0,
            h: h0,
            num_h: backend.zeros(k, n),
            num_w: backend.zeros(m, k),
            den_h: backend.zeros(dh.0, dh.1),
            den_w: backend.zeros(dw.0, dw.1),
            gram: backend.zeros(dg.0, dg.1),
            gamma: T::from_f64(crate::kernels::beta_gamma(loss.beta_value())),
            sums: vec![T::zero(); if kl { k } else { 0 }],
            work: backend.data_work(v, k, loss),
            penalty: Penalty::default(),
            weighted,
        })
    }

    /// The H half-step with W fixed: `H ← max(ε, H∘num/den)` (eq. 4 or 5). On weighted data
    /// ([`DataOps::data_weighted`]) every loss takes the β form with β = 2 (Frobenius) or 1
    /// (KL): `num = Wᵀ(M∘V∘Λ^(β−2))`, `den = Wᵀ(M∘Λ^(β−1))` plus the penalties, with the
    /// exponent γ(β) (1 for β ∈ [1, 2]). The weighted auxiliary functions are the unweighted
    /// ones with each entry's term times M_ij, still separable and convex in each entry of H,
    /// so the ε-clamped step stays their exact minimiser.
    pub fn update_h(&mut self) {
        if self.weighted {
            return beta::update_h(self);
        }
        match self.loss {
            Loss::Frobenius => frobenius::update_h(self),
            Loss::KullbackLeibler => kl::update_h(self),
            Loss::ItakuraSaito | Loss::Beta(_) => beta::update_h(self),
        }
    }

    /// The W half-step with H fixed.
    pub fn update_w(&mut self) {
        if self.weighted {
            return beta::update_w(self);
        }
        match self.loss {
            Loss::Frobenius => frobenius::update_w(self),
            Loss::KullbackLeibler => kl::update_w(self),
            Loss::ItakuraSaito | Loss::Beta(_) => beta::update_w(self),
        }
    }

    /// One iteration: H, then W, as Lee & Seung do.
    pub fn step(&mut self) {
        self.update_h();
        self.update_w();
    }

    /// The loss at the current factors, in `f64` (`½‖V − WH‖²`, `D(V‖WH)` or `D_β(V‖WH)`).
    pub fn loss(&mut self) -> f64 {
        let (b, s) = (self.backend, self);
        b.data_loss(s.v, &mut s.work, &s.w, &s.h, s.loss)
    }

    /// Adds L1/L2 penalties to the objective (before the first half-step, or between
    /// half-steps). The half-steps then minimise an auxiliary function of the penalised
    /// objective, which stays non-increasing for every loss and every weight (derivations in
    /// `docs/penalties.md`; written for H, W is symmetric):
    /// - Frobenius: `H ← max(ε, H∘WᵀV / ((WᵀW + l2·I)H + l1))`, the Lee–Seung bound with the
    ///   Hessian WᵀW + l2·I and the linear L1 term majorised with curvature l1/hᵗ (the same
    ///   update as scikit-learn's);
    /// - KL: with L1 only `H ← max(ε, H∘Wᵀ(V/WH) / (Wᵀ1 + l1))`; with L2 each entry is the
    ///   positive root of `l2·h² + (Wᵀ1 + l1)·h − hᵗ·[Wᵀ(V/WH)] = 0` lifted to ε
    ///   ([`kernels::mu_step_l2`](crate::kernels::mu_step_l2)): in both cases the exact
    ///   minimiser of Lee & Seung's auxiliary function plus the penalty;
    /// - other β: `H ← max(ε, H∘(num / (den + l1 + l2·H))^γ')` with Févotte & Idier's num and
    ///   den, and γ' = γ(β), except γ' = 1/(3 − β) when `l2 > 0` and β < 2 (the penalty's
    ///   curvature then dominates the divergence's, and the bound is built on h²).
    ///
    /// scikit-learn's L2 update for KL and β < 2 (`den + l2·H` with exponent γ(β)) is not
    /// derived from an auxiliary function, so its objective can rise; these updates minimise
    /// the same objective with that guarantee.
    ///
    /// # Errors
    /// [`NmfError::InvalidRegularization`] for negative or non-finite weights.
    pub fn set_penalty(&mut self, penalty: Penalty) -> Result<(), NmfError> {
        let weights = [
            ("l1_w (the L1 weight on W)", penalty.l1_w),
            ("l2_w (the L2 weight on W)", penalty.l2_w),
            ("l1_h (the L1 weight on H)", penalty.l1_h),
            ("l2_h (the L2 weight on H)", penalty.l2_h),
        ];
        if let Some((name, w)) = weights.iter().find(|(_, w)| !(w.is_finite() && *w >= 0.0)) {
            return Err(NmfError::InvalidRegularization {
                reason: format!("the penalty weight {name} must be finite and ≥ 0, got {w}"),
            });
        }
        self.penalty = penalty;
        Ok(())
    }

    /// The penalties in force.
    pub fn penalty(&self) -> Penalty {
        self.penalty
    }

    /// The objective: [`loss`](Self::loss) plus the penalties (equal to the loss without them).
    pub fn objective(&mut self) -> f64 {
        self.loss() + self.penalty_value()
    }

    /// The penalty terms `l1_w‖W‖₁ + ½·l2_w‖W‖² + l1_h‖H‖₁ + ½·l2_h‖H‖²` at the current
    /// factors (0 without penalties).
    fn penalty_value(&self) -> f64 {
        let (p, b) = (self.penalty, self.backend);
        if p.is_zero() {
            return 0.0;
        }
        // The factors are ≥ ε > 0, so ‖x‖₁ = Σx.
        p.l1_w * b.sum(&self.w)
            + p.l2_w * 0.5 * b.sq_norm(&self.w)
            + p.l1_h * b.sum(&self.h)
            + p.l2_h * 0.5 * b.sq_norm(&self.h)
    }

    /// The [`objective`](Self::objective) with upper bounds on the sizes that its rounding
    /// error is proportional to ([`Evaluation::rise_bound`] turns two of them into the largest
    /// rise rounding can explain). Written for the loss L and the penalty terms P ≥ 0:
    /// - Frobenius: S = ½‖V‖² + ½‖WH‖² ≤ 3·½‖V‖² + 2L (as ½‖WH‖² ≤ (‖V‖ + ‖V − WH‖)²/2);
    /// - KL: S = ΣV + ΣWH (ΣWH from the column sums of W and row sums of H), and the `f64`
    ///   terms M = Σ|V log(V/WH)| ≤ L + ΣV + ΣWH;
    /// - other β: S = Σ λ^(β−1)|λ − v| ≤ B + C with B = Σλ^β and C = Σ v·λ^(β−1) (λ = WH,
    ///   from one more pass of the β kernels), and M ≤ L + 2B/|β| + 2C/|β−1| (the identity
    ///   L = A/(β(β−1)) + B/β − C/(β−1) with A = Σv^β bounds |A/(β(β−1))|; at β = 0 and 1,
    ///   L + 2B + 2C);
    ///
    /// and P = l1·ΣW + l2·ΣW² + … ≤ 2·(penalty terms) joins S. It costs about one more loss
    /// evaluation for the general β path, a few O(mk + kn) sums otherwise, and allocates
    /// nothing (the data term computes ½‖V‖² or ΣV at its first call, into a number).
    pub fn evaluate(&mut self) -> Evaluation {
        let pen = self.penalty_value();
        let (b, s) = (self.backend, &mut *self);
        let data = b.data_evaluate(s.v, &mut s.work, &s.w, &s.h, s.loss);
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
    /// The lower bound ε.
    pub fn eps(&self) -> T {
        self.eps
    }
    /// The loss being minimised.
    pub fn loss_kind(&self) -> Loss {
        self.loss
    }
    /// The rank k.
    pub fn rank(&self) -> usize {
        self.backend.ncols(&self.w)
    }
    /// The final factors `(W, H)`.
    pub fn into_factors(self) -> (B::Mat, B::Mat) {
        (self.w, self.h)
    }
}

/// Checks V: not empty, every stored entry finite and ≥ 0. Returns its shape.
pub(crate) fn check_data<T: Scalar, B: DataOps<T, V>, V>(
    backend: &B,
    v: &V,
) -> Result<(usize, usize), NmfError> {
    let (m, n) = backend.data_shape(v);
    if m == 0 || n == 0 {
        return Err(NmfError::EmptyMatrix {
            matrix: MatrixRole::V,
            rows: m,
            cols: n,
        });
    }
    entry_error(MatrixRole::V, backend.data_first_invalid(v))?;
    Ok((m, n))
}

/// Checks that the loss can be evaluated on V: a finite β, and no zero in V when β ≤ 0.
pub(crate) fn check_beta<T: Scalar, B: DataOps<T, V>, V>(
    backend: &B,
    v: &V,
    loss: Loss,
) -> Result<(), NmfError> {
    let beta = loss.beta_value();
    if !beta.is_finite() {
        return Err(NmfError::InvalidBeta(beta));
    }
    if beta <= 0.0
        && let Some((row, col)) = backend.data_first_zero(v)
    {
        return Err(NmfError::ZeroEntryForBeta { row, col, beta });
    }
    // After the zeros: a β ≤ 0 refuses a V with zeros whatever its storage.
    backend.data_supports(v, loss)?;
    Ok(())
}

/// Checks an initial factor's shape and entries.
pub(crate) fn check_factor<T: Scalar, B: MatrixBackend<T>>(
    backend: &B,
    matrix: MatrixRole,
    a: &B::Mat,
    expected: (usize, usize),
) -> Result<(), NmfError> {
    let found = backend.shape(a);
    if found != expected {
        return Err(NmfError::ShapeMismatch {
            matrix,
            expected,
            found,
        });
    }
    entry_error(matrix, backend.first_invalid(a))
}

fn entry_error<T: Scalar>(
    matrix: MatrixRole,
    bad: Option<(usize, usize, T)>,
) -> Result<(), NmfError> {
    match bad {
        None => Ok(()),
        Some((row, col, x)) if x.is_finite() => Err(NmfError::NegativeEntry {
            matrix,
            row,
            col,
            value: x.as_f64(),
        }),
        Some((row, col, x)) => Err(NmfError::NonFiniteEntry {
            matrix,
            row,
            col,
            value: x.as_f64(),
        }),
    }
}
