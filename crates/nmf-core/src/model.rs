//! Fitting ([`NmfValidParams::fit`]) and the fitted model ([`NmfModel`]).

use core::ops::ControlFlow;

use crate::update::{MuSolver, check_data};
use crate::{DataOps, Init, Loss, MatrixBackend, NmfError, NmfParams, NmfValidParams, Scalar};

/// One evaluation of the loss during a fit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LossRecord {
    /// Iterations completed when it was evaluated (0: the initial factors).
    pub iteration: usize,
    /// The loss there, in `f64`.
    pub loss: f64,
}

/// What an observer passed to [`NmfValidParams::fit_observed`] sees after each iteration.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Progress {
    /// Iterations completed (1 after the first).
    pub iteration: usize,
    /// The most iterations of this fit.
    pub max_iter: usize,
    /// The loss, when it was evaluated after this iteration (every `check_every` iterations
    /// and after the last), else `None`.
    pub loss: Option<f64>,
}

/// A fitted factorization V ≈ WH.
pub struct NmfModel<T: Scalar, B: MatrixBackend<T>> {
    w: B::Mat,
    h: B::Mat,
    loss: Loss,
    history: Vec<LossRecord>,
    n_iter: usize,
    converged: bool,
    eps: T,
}

impl<T: Scalar, B: MatrixBackend<T>> Clone for NmfModel<T, B> {
    fn clone(&self) -> Self {
        Self {
            w: self.w.clone(),
            h: self.h.clone(),
            loss: self.loss,
            history: self.history.clone(),
            n_iter: self.n_iter,
            converged: self.converged,
            eps: self.eps,
        }
    }
}

impl<T: Scalar, B: MatrixBackend<T>> core::fmt::Debug for NmfModel<T, B> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("NmfModel")
            .field("loss", &self.loss)
            .field("n_iter", &self.n_iter)
            .field("converged", &self.converged)
            .field("final_loss", &self.final_loss())
            .field("eps", &self.eps)
            .field("w", &self.w)
            .field("h", &self.h)
            .finish()
    }
}

impl<T: Scalar, B: MatrixBackend<T>> NmfModel<T, B> {
    /// W (m×k), every entry finite and ≥ ε.
    pub fn w(&self) -> &B::Mat {
        &self.w
    }
    /// H (k×n), every entry finite and ≥ ε.
    pub fn h(&self) -> &B::Mat {
        &self.h
    }
    /// `(W, H)`, consuming the model.
    pub fn into_factors(self) -> (B::Mat, B::Mat) {
        (self.w, self.h)
    }
    /// The loss minimised.
    pub fn loss(&self) -> Loss {
        self.loss
    }
    /// Every evaluation of the loss: at the initial factors, every `check_every` iterations,
    /// and after the last iteration. Non-increasing (up to rounding).
    pub fn loss_history(&self) -> &[LossRecord] {
        &self.history
    }
    /// The loss at the returned factors (`½‖V − WH‖²` or `D(V‖WH)`).
    pub fn final_loss(&self) -> f64 {
        self.history.last().map_or(f64::NAN, |r| r.loss)
    }
    /// For the Frobenius loss, `‖V − WH‖_F = √(2·final_loss)`, which is scikit-learn's
    /// `reconstruction_err_`; for KL, `√(2·D)`, which is scikit-learn's value for
    /// `beta_loss='kullback-leibler'`.
    pub fn reconstruction_err(&self) -> f64 {
        (2.0 * self.final_loss()).sqrt()
    }
    /// Iterations run.
    pub fn n_iter(&self) -> usize {
        self.n_iter
    }
    /// Whether the stopping rule was met before `max_iter` (see [`NmfValidParams::tol`]).
    pub fn converged(&self) -> bool {
        self.converged
    }
    /// The lower bound ε used.
    pub fn eps(&self) -> T {
        self.eps
    }
    /// The rank k.
    pub fn rank(&self, backend: &B) -> usize {
        backend.ncols(&self.w)
    }
}

impl NmfValidParams {
    /// Fits V ≈ WH from the initialisation chosen by [`NmfParams::init`](crate::NmfParams::init).
    ///
    /// ```
    /// use nmf_core::{MatrixBackend, Nmf, reference::Reference};
    /// let b = Reference;
    /// // An exactly rank-1 matrix.
    /// let v = b.from_row_major(2, 3, &[1.0, 2.0, 3.0, 2.0, 4.0, 6.0]).unwrap();
    /// let model = Nmf::params(1).max_iter(500).tol(0.0).check().unwrap().fit(&b, &v).unwrap();
    /// assert!(model.final_loss() < 1e-12);
    /// assert_eq!(model.n_iter(), 500);
    /// ```
    ///
    /// # Errors
    /// Any [`NmfError`] for bad V (empty, negative, NaN or infinite entries, with their place),
    /// and [`NmfError::NonFiniteResult`] if the iteration overflowed the scalar type.
    pub fn fit<T: Scalar, B: DataOps<T, V>, V>(
        &self,
        backend: &B,
        v: &V,
    ) -> Result<NmfModel<T, B>, NmfError> {
        self.fit_observed(backend, v, |_| ControlFlow::Continue(()))
    }

    /// As [`fit`](Self::fit), calling `observer` after every iteration (for progress bars and
    /// cancellation). Returning `ControlFlow::Break(())` stops the fit with
    /// [`NmfError::Interrupted`].
    ///
    /// ```
    /// use core::ops::ControlFlow;
    /// use nmf_core::{MatrixBackend, Nmf, NmfError, reference::Reference};
    /// let v = Reference.from_row_major(2, 2, &[1.0_f64, 2.0, 3.0, 4.0]).unwrap();
    /// let p = Nmf::params(1).check().unwrap();
    /// let stop_at_3 = |pr: &nmf_core::Progress| {
    ///     if pr.iteration == 3 { ControlFlow::Break(()) } else { ControlFlow::Continue(()) }
    /// };
    /// assert_eq!(p.fit_observed(&Reference, &v, stop_at_3).unwrap_err(), NmfError::Interrupted { iteration: 3 });
    /// ```
    ///
    /// # Errors
    /// As [`fit`](Self::fit), and [`NmfError::Interrupted`].
    pub fn fit_observed<T: Scalar, B: DataOps<T, V>, V>(
        &self,
        backend: &B,
        v: &V,
        observer: impl FnMut(&Progress) -> ControlFlow<()>,
    ) -> Result<NmfModel<T, B>, NmfError> {
        let (m, n) = check_data(backend, v)?;
        let k = self.rank;
        let mean = backend.data_sum(v) / (m as f64 * n as f64);
        let (w0, h0) = match self.init {
            Init::Random => {
                let (w, h) = crate::init::random_factors(m, n, k, mean, self.seed);
                let to = |rows, cols, d: Vec<f64>| {
                    backend.from_fn(rows, cols, |i, j| T::from_f64(d[i * cols + j]))
                };
                (to(m, k, w), to(k, n, h))
            }
        };
        self.run(backend, v, w0, h0, mean, observer)
    }

    /// Fits V ≈ WH starting from the given W0 (m×k) and H0 (k×n) (copied; entries below ε
    /// are lifted to ε). `init` and `seed` are not used.
    ///
    /// # Errors
    /// As [`fit`](Self::fit), and [`NmfError::ShapeMismatch`], [`NmfError::NegativeEntry`] or
    /// [`NmfError::NonFiniteEntry`] for W0 or H0.
    pub fn fit_from<T: Scalar, B: DataOps<T, V>, V>(
        &self,
        backend: &B,
        v: &V,
        w0: &B::Mat,
        h0: &B::Mat,
    ) -> Result<NmfModel<T, B>, NmfError> {
        self.fit_from_observed(backend, v, w0, h0, |_| ControlFlow::Continue(()))
    }

    /// As [`fit_from`](Self::fit_from), with an observer as in
    /// [`fit_observed`](Self::fit_observed).
    ///
    /// # Errors
    /// As [`fit_from`](Self::fit_from), and [`NmfError::Interrupted`].
    pub fn fit_from_observed<T: Scalar, B: DataOps<T, V>, V>(
        &self,
        backend: &B,
        v: &V,
        w0: &B::Mat,
        h0: &B::Mat,
        observer: impl FnMut(&Progress) -> ControlFlow<()>,
    ) -> Result<NmfModel<T, B>, NmfError> {
        let (m, n) = check_data(backend, v)?;
        let mean = backend.data_sum(v) / (m as f64 * n as f64);
        // Shapes are checked here against the rank (MuSolver checks them against each other).
        crate::update::check_factor(backend, crate::MatrixRole::W0, w0, (m, self.rank))?;
        crate::update::check_factor(backend, crate::MatrixRole::H0, h0, (self.rank, n))?;
        self.run(backend, v, w0.clone(), h0.clone(), mean, observer)
    }

    fn run<T: Scalar, B: DataOps<T, V>, V>(
        &self,
        backend: &B,
        v: &V,
        w0: B::Mat,
        h0: B::Mat,
        mean: f64,
        mut observer: impl FnMut(&Progress) -> ControlFlow<()>,
    ) -> Result<NmfModel<T, B>, NmfError> {
        let eps = T::from_f64(self.eps_for(mean, T::unit_roundoff()));
        let mut solver = MuSolver::new(backend, v, w0, h0, self.loss, eps)?;
        let mut history = Vec::with_capacity(self.max_iter / self.check_every + 2);
        let finite = |iteration: usize, loss: f64| {
            if loss.is_finite() {
                Ok(LossRecord { iteration, loss })
            } else {
                Err(NmfError::NonFiniteResult {
                    iteration,
                    loss,
                    scalar: T::NAME,
                })
            }
        };
        let mut prev = solver.loss();
        history.push(finite(0, prev)?);
        let mut converged = false;
        let mut n_iter = 0;
        for it in 1..=self.max_iter {
            solver.step();
            n_iter = it;
            let mut loss = None;
            if it % self.check_every == 0 || it == self.max_iter {
                let l = solver.loss();
                history.push(finite(it, l)?);
                loss = Some(l);
            }
            let progress = Progress {
                iteration: it,
                max_iter: self.max_iter,
                loss,
            };
            if observer(&progress).is_break() {
                return Err(NmfError::Interrupted { iteration: it });
            }
            if let Some(l) = loss {
                if self.tol > 0.0 && prev - l <= self.tol * prev {
                    converged = true;
                    break;
                }
                prev = l;
            }
        }
        let (w, h) = solver.into_factors();
        // A finite loss implies finite WH; the factors are checked too, so NaN never leaves.
        for a in [&w, &h] {
            if backend.first_invalid(a).is_some() {
                return Err(NmfError::NonFiniteResult {
                    iteration: n_iter,
                    loss: f64::NAN,
                    scalar: T::NAME,
                });
            }
        }
        Ok(NmfModel {
            w,
            h,
            loss: self.loss,
            history,
            n_iter,
            converged,
            eps,
        })
    }
}

impl NmfParams {
    /// Validates the parameters, then [`NmfValidParams::fit`].
    ///
    /// # Errors
    /// A parameter error from [`NmfParams::check`], or any error of [`NmfValidParams::fit`].
    pub fn fit<T: Scalar, B: DataOps<T, V>, V>(
        &self,
        backend: &B,
        v: &V,
    ) -> Result<NmfModel<T, B>, NmfError> {
        self.clone().check()?.fit(backend, v)
    }

    /// Validates the parameters, then [`NmfValidParams::fit_from`].
    ///
    /// # Errors
    /// As [`NmfValidParams::fit_from`], and parameter errors.
    pub fn fit_from<T: Scalar, B: DataOps<T, V>, V>(
        &self,
        backend: &B,
        v: &V,
        w0: &B::Mat,
        h0: &B::Mat,
    ) -> Result<NmfModel<T, B>, NmfError> {
        self.clone().check()?.fit_from(backend, v, w0, h0)
    }
}
