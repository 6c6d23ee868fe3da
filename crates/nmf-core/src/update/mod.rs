//! Lee & Seung's multiplicative updates with the ε lower bound, written once for every
//! backend.
//!
//! [`MuSolver`] owns W, H and every work buffer, allocated once in [`MuSolver::new`]; its
//! half-steps ([`update_h`](MuSolver::update_h), [`update_w`](MuSolver::update_w)) and
//! [`loss`](MuSolver::loss) allocate nothing. The fitting API ([`crate::NmfValidParams::fit`])
//! drives it; researchers can drive it directly to observe every half-step.

mod beta;
mod frobenius;
mod kl;

use crate::{DataOps, Loss, MatrixBackend, MatrixRole, NmfError, Scalar};

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
    /// k×n: WᵀV (Frobenius) or Wᵀ(V/WH) (KL).
    num_h: B::Mat,
    /// m×k: VHᵀ or (V/WH)Hᵀ.
    num_w: B::Mat,
    /// Frobenius: k×n WᵀW·H and m×k W·HHᵀ; β: k×n Wᵀ(WH)^(β−1) and m×k (WH)^(β−1)Hᵀ
    /// (0×0 for KL).
    den_h: B::Mat,
    den_w: B::Mat,
    /// Frobenius only: the k×k Gram matrix WᵀW or HHᵀ (0×0 otherwise).
    gram: B::Mat,
    /// β only: the exponent γ(β) and the m×n buffer of (WH)^(β−1).
    gamma: T,
    scratch2: Option<V>,
    /// KL only: the k column sums of W or row sums of H.
    sums: Vec<T>,
    /// Shaped like V: the KL ratio, and WH when the loss is evaluated.
    scratch: V,
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
        check_beta(backend, v, loss)?;
        backend.clamp_min(&mut w0, eps);
        backend.clamp_min(&mut h0, eps);
        let frob = loss == Loss::Frobenius;
        let kl = loss == Loss::KullbackLeibler;
        let general = !frob && !kl;
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
            scratch2: general.then(|| backend.data_buffer(v)),
            sums: vec![T::zero(); if kl { k } else { 0 }],
            scratch: backend.data_buffer(v),
        })
    }

    /// The H half-step with W fixed: `H ← max(ε, H∘num/den)` (eq. 4 or 5).
    pub fn update_h(&mut self) {
        match self.loss {
            Loss::Frobenius => frobenius::update_h(self),
            Loss::KullbackLeibler => kl::update_h(self),
            Loss::ItakuraSaito | Loss::Beta(_) => beta::update_h(self),
        }
    }

    /// The W half-step with H fixed.
    pub fn update_w(&mut self) {
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
        match self.loss {
            Loss::Frobenius => {
                self.backend
                    .data_frobenius_loss(self.v, &self.w, &self.h, &mut self.scratch)
            }
            Loss::KullbackLeibler => {
                self.backend
                    .data_kl_loss(self.v, &self.w, &self.h, &mut self.scratch)
            }
            Loss::ItakuraSaito | Loss::Beta(_) => self.backend.data_beta_loss(
                self.v,
                &self.w,
                &self.h,
                &mut self.scratch,
                self.loss.beta_value(),
            ),
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
