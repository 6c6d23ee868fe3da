//! The fitted model ([`NmfModel`]): its factors, what the fit recorded, and its loss on data
//! ([`NmfModel::score`]).

use crate::driver::times;
use crate::scale::Scaling;
use crate::update::{check_beta, check_data};
use crate::{DataOps, Loss, MatrixBackend, MatrixRole, MuSolver, NmfError, Penalty, Scalar};

/// One evaluation of the loss during a fit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LossRecord {
    /// Iterations completed when it was evaluated (0: the initial factors).
    pub iteration: usize,
    /// The loss there, in `f64`.
    pub loss: f64,
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
    penalty: Penalty,
    holdout: Vec<crate::masked::HoldoutRecord>,
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
            penalty: self.penalty,
            holdout: self.holdout.clone(),
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
    #[allow(clippy::too_many_arguments)] // one per field, for the driver and the loader
    pub(crate) fn from_parts(
        w: B::Mat,
        h: B::Mat,
        loss: Loss,
        history: Vec<LossRecord>,
        n_iter: usize,
        converged: bool,
        eps: T,
        penalty: Penalty,
    ) -> Self {
        Self {
            w,
            h,
            loss,
            history,
            n_iter,
            converged,
            eps,
            penalty,
            holdout: Vec::new(),
        }
    }

    /// The model with the held-out errors its fit recorded.
    pub(crate) fn with_holdout(mut self, holdout: Vec<crate::masked::HoldoutRecord>) -> Self {
        self.holdout = holdout;
        self
    }

    /// The errors on the held-out entries ([`NmfParams::holdout`](crate::NmfParams::holdout)
    /// or [`Fitting::test`](crate::Fitting::test)) at every evaluation of the loss (the
    /// iterations of [`loss_history`](Self::loss_history)); empty without a held-out set.
    pub fn holdout_history(&self) -> &[crate::masked::HoldoutRecord] {
        &self.holdout
    }

    /// The errors of the final factors on the held-out entries (RMSE, MAE, mean divergence),
    /// if the fit had a held-out set.
    pub fn holdout(&self) -> Option<crate::masked::HoldoutError> {
        self.holdout.last().map(|r| r.error)
    }
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
    /// The penalty weights of the fit (all 0 without regularisation).
    /// [`transform`](Self::transform) applies the H weights (`l1_h`, `l2_h`) to the new H, as
    /// scikit-learn's `transform` applies the penalty of the factor it solves for.
    pub fn penalty(&self) -> Penalty {
        self.penalty
    }
    /// Every evaluation of the loss (with regularisation, of the penalised objective): at the
    /// initial factors, every `check_every` iterations, and after the last iteration, in V's
    /// units. Non-increasing up to the rounding bound of the evaluation: a larger rise ends
    /// the fit with [`NmfError::ObjectiveIncreased`](crate::NmfError::ObjectiveIncreased).
    pub fn loss_history(&self) -> &[LossRecord] {
        &self.history
    }
    /// The loss at the returned factors (`½‖V − WH‖²`, `D(V‖WH)`, `D_β(V‖WH)`; with
    /// regularisation, plus the penalties).
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
    /// Whether the stopping rule was met before `max_iter` (see [`NmfValidParams::tol`](crate::NmfValidParams::tol)).
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

impl<T: Scalar, B: MatrixBackend<T>> NmfModel<T, B> {
    /// The model's values `(WH)_ij` at the pairs `(rows[p], cols[p])`, without forming WH:
    /// O(m·k + n·k) to lay out the factors and O(k) per pair, each a sum of k products in
    /// `T` in increasing order of the factor (the same bits as [`masked`](crate::masked)'s
    /// statistics). For a masked fit, the predictions of the missing entries.
    ///
    /// ```
    /// use nmf_core::{MatrixBackend, Nmf, reference::Reference};
    /// let b = Reference;
    /// let v = b.from_fn(3, 4, |i, j| ((i + 1) * (j + 1)) as f64);
    /// let model = Nmf::params(1).fit(&b, &v).unwrap();
    /// let p = model.predict(&b, &[2, 0], &[3, 1]).unwrap();
    /// assert!((p[0] - 12.0).abs() < 1e-6 && (p[1] - 2.0).abs() < 1e-6);
    /// assert!(model.predict(&b, &[3], &[0]).is_err()); // row 3 of a 3×4 model
    /// ```
    ///
    /// # Errors
    /// [`NmfError::PairLengths`] when `rows` and `cols` differ in length;
    /// [`NmfError::IndexOutOfRange`] naming the first pair outside the m×n matrix.
    pub fn predict(&self, backend: &B, rows: &[usize], cols: &[usize]) -> Result<Vec<T>, NmfError> {
        if rows.len() != cols.len() {
            return Err(NmfError::PairLengths {
                rows: rows.len(),
                cols: cols.len(),
            });
        }
        let (m, n) = (backend.nrows(&self.w), backend.ncols(&self.h));
        if let Some((position, (&row, &col))) = rows
            .iter()
            .zip(cols)
            .enumerate()
            .find(|(_, (i, j))| **i >= m || **j >= n)
        {
            return Err(NmfError::IndexOutOfRange {
                position,
                row,
                col,
                rows: m,
                cols: n,
            });
        }
        let k = backend.ncols(&self.w);
        let w = backend.to_row_major(&self.w);
        let mut ht = vec![T::zero(); n * k];
        crate::masked::cols_of(backend, &self.h, &mut ht);
        Ok(rows
            .iter()
            .zip(cols)
            .map(|(&i, &j)| crate::masked::dot(&w[i * k..i * k + k], &ht[j * k..j * k + k]))
            .collect())
    }

    /// The loss of the model on data V (m×n, the shape of WH): `½‖V − WH‖²`, `D(V‖WH)` or
    /// `D_β(V‖WH)` for the model's [`loss`](Self::loss), in `f64` and in V's units, **without**
    /// the penalties (see [`score_penalized`](Self::score_penalized) for the objective with
    /// them). Lower is better. On the training data of an unpenalised fit it is the
    /// [`final_loss`](Self::final_loss), bit for bit for the multiplicative updates and HALS,
    /// whose fits evaluate it the same way. For held-out data, as rank selection needs.
    ///
    /// It is computed as the fit computes its losses: V with a mean outside the range where
    /// the scalar type is safe is evaluated as V/c² with W/c and H/c (c a power of two, exact)
    /// and the loss multiplied back by c^(2β), in `f64` (see the crate docs, "In floating
    /// point"). It costs one m×n buffer and the products of one loss evaluation.
    ///
    /// ```
    /// use nmf_core::{MatrixBackend, Nmf, NmfError, Solver, reference::Reference};
    /// let b = Reference;
    /// let v = b.from_fn(4, 3, |i, j| (i + j) as f64 + 1.0);
    /// let model = Nmf::params(2).solver(Solver::Mu).max_iter(50).fit(&b, &v).unwrap();
    /// assert_eq!(model.score(&b, &v).unwrap(), model.final_loss());
    /// let wrong = b.from_fn(4, 2, |_, _| 1.0);
    /// assert!(matches!(model.score(&b, &wrong), Err(NmfError::ShapeMismatch { .. })));
    /// ```
    ///
    /// # Errors
    /// For V as for a fit: [`NmfError::EmptyMatrix`], [`NmfError::NegativeEntry`] or
    /// [`NmfError::NonFiniteEntry`] (with the row and column),
    /// [`NmfError::ZeroEntryForBeta`] (or [`NmfError::EntryBelowRange`] once rescaled) for a
    /// zero where β ≤ 0 makes the loss infinite; [`NmfError::ShapeMismatch`] (matrix V) when
    /// V is not m×n; [`NmfError::NonFiniteResult`] when the loss in V's units exceeds the
    /// range of `f64`.
    pub fn score<V>(&self, backend: &B, v: &V) -> Result<f64, NmfError>
    where
        B: DataOps<T, V>,
    {
        self.evaluate_on(backend, v, false)
    }

    /// As [`score`](Self::score), plus the model's [`penalty`](Self::penalty) terms
    /// `l1_w‖W‖₁ + ½·l2_w‖W‖² + l1_h‖H‖₁ + ½·l2_h‖H‖²`: the objective the fit minimised (its
    /// [`final_loss`](Self::final_loss) on the training data). Equal to `score` without
    /// penalties.
    ///
    /// # Errors
    /// As [`score`](Self::score).
    pub fn score_penalized<V>(&self, backend: &B, v: &V) -> Result<f64, NmfError>
    where
        B: DataOps<T, V>,
    {
        self.evaluate_on(backend, v, true)
    }

    fn evaluate_on<V>(&self, backend: &B, v: &V, penalised: bool) -> Result<f64, NmfError>
    where
        B: DataOps<T, V>,
    {
        let (m, n) = check_data(backend, v)?;
        let expected = (backend.nrows(&self.w), backend.ncols(&self.h));
        if (m, n) != expected {
            return Err(NmfError::ShapeMismatch {
                matrix: MatrixRole::V,
                expected,
                found: (m, n),
            });
        }
        check_beta(backend, v, self.loss)?;
        let beta = self.loss.beta_value();
        // The scale a fit on this V would use (see `NmfValidParams::prepare`).
        let mean = backend.data_mean(v);
        let mut scaling = Scaling::for_mean::<T>(mean);
        let c = scaling.factor();
        let scaled = if scaling.applied() {
            backend.data_scaled(v, T::from_f64(c * c))
        } else {
            None
        };
        if scaled.is_none() {
            scaling = scaling.without_rescaling();
        }
        if let Some(scaled) = &scaled
            && beta <= 0.0
            && let Some((row, col)) = backend.data_first_zero(scaled)
        {
            return Err(NmfError::EntryBelowRange {
                row,
                col,
                mean,
                beta,
                scalar: T::NAME,
            });
        }
        let data = scaled.as_ref().unwrap_or(v);
        let c = scaling.factor();
        let (w, h) = if scaling.applied() {
            (
                times(backend, &self.w, 1.0 / c),
                times(backend, &self.h, 1.0 / c),
            )
        } else {
            (self.w.clone(), self.h.clone())
        };
        // The factors are ≥ ε, so ε/c lifts nothing (the smallest normal number where ε/c
        // would be subnormal, which the solver refuses).
        let eps = T::from_f64(self.eps.as_f64() / c).max(T::min_positive_value());
        let mut solver = MuSolver::new(backend, data, w, h, self.loss, eps)?;
        if penalised {
            solver.set_penalty(scaling.penalty(self.penalty, beta))?;
        }
        let objective = solver.objective();
        let value = objective * scaling.objective_factor(beta);
        if value.is_finite() {
            return Ok(value);
        }
        Err(NmfError::NonFiniteResult {
            iteration: 0,
            loss: value,
            scalar: T::NAME,
            reason: if objective.is_finite() {
                format!(
                    "the model's loss on this V, in V's own units, exceeds the range of f64 \
                     (it is {objective:e} on V/2^{}, and scales as V's scale to the power \
                     β = {beta}); rescale V",
                    2 * scaling.exponent()
                )
            } else {
                format!(
                    "the model's loss on this V left the range of {}: V and WH are too far \
                     apart for β = {beta}",
                    T::NAME
                )
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::reference::Reference;
    use crate::{Fixed, Loss, MatrixBackend, MatrixRole, Nmf, NmfError, NmfModel, Scalar, Solver};

    /// A model with the given exact factors of V (row-major): a fit from them with W fixed
    /// and one H half-step, which keeps H where it is up to rounding (the multiplicative
    /// ratio is 1 at an exact factorization).
    fn exact_model<T: Scalar>(
        w: &[f64],
        h: &[f64],
        v: &<Reference as MatrixBackend<T>>::Mat,
        loss: Loss,
    ) -> NmfModel<T, Reference> {
        let b = Reference;
        let (m, n) = b.shape(v);
        let k = w.len() / m;
        let w0 = b.from_fn(m, k, |i, j| T::from_f64(w[i * k + j]));
        let h0 = b.from_fn(k, n, |i, j| T::from_f64(h[i * n + j]));
        Nmf::params(k)
            .loss(loss)
            .solver(Solver::Mu)
            .fixed(Fixed::W)
            .max_iter(1)
            .fitting(&b, v)
            .start(&w0, &h0)
            .run()
            .unwrap()
    }

    fn score_of_an_exact_rank_one_fit<T: Scalar>() {
        let b = Reference;
        let (w, h) = ([1.0, 2.0, 3.0], [2.0, 1.0, 4.0, 0.5]);
        let vals: Vec<f64> = (0..12).map(|e| w[e / 4] * h[e % 4]).collect();
        let v = b.from_fn(3, 4, |i, j| T::from_f64(vals[i * 4 + j]));
        for loss in [Loss::Frobenius, Loss::KullbackLeibler, Loss::beta(1.5)] {
            let model = exact_model::<T>(&w, &h, &v, loss);
            let score = model.score(&b, &v).unwrap();
            // The entries are small integers and halves: V, W and WH are exact in f32 and f64.
            // The H half-step multiplies by num/den, each a sum of m = 3 products of powers of
            // exact values (each power within u, each product and sum adding u): both within
            // (m + 2)·u relative, their ratio within (2m + 5)·u = 11u, and H after the product
            // and the lift within 12u. So (WH)_ij = (1 + δ)·v_ij with |δ| ≤ 12u, and
            // d_β(v | (1 + δ)v) ≈ ½·v^β·δ² (the second derivative in y at y = v is v^(β−2)),
            // with v^β ≤ 12² for β ≤ 2 (v ≤ 12): over the 12 entries at most
            // 12·½·144·(12u)², doubled for the remainder of the quadratic approximation.
            let u = T::unit_roundoff();
            let tol = 12.0 * 144.0 * (12.0 * u).powi(2);
            assert!(
                (0.0..=tol).contains(&score),
                "{loss} in {}: score {score:e} of an exact fit, tolerance {tol:e}",
                T::NAME
            );
        }
    }

    #[test]
    fn exact_rank_one_fit_scores_zero() {
        score_of_an_exact_rank_one_fit::<f32>();
        score_of_an_exact_rank_one_fit::<f64>();
    }

    /// On V + E for an exact model of V, the Frobenius score is ½‖E‖², exactly (small
    /// integers), also at a scale where the fit and the score rescale V (V·2^200 in f64:
    /// mean(V) beyond 2^65), where it is ½‖E‖²·2^400, still exact.
    #[test]
    fn frobenius_score_of_a_perturbed_matrix() {
        let b = Reference;
        let (w, h) = ([1.0, 2.0, 3.0], [2.0, 1.0, 4.0, 3.0]);
        for scale_exp in [0, 100] {
            let c = 2f64.powi(scale_exp);
            let ws: Vec<f64> = w.iter().map(|x| x * c).collect();
            let hs: Vec<f64> = h.iter().map(|x| x * c).collect();
            let exact = b.from_fn(3, 4, |i, j| ws[i] * hs[j]);
            let model = exact_model::<f64>(&ws, &hs, &exact, Loss::Frobenius);
            assert_eq!(model.score(&b, &exact).unwrap(), 0.0);
            let e = [1.0, 0.0, -2.0, 0.0, 0.0, 3.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0];
            let v = b.from_fn(3, 4, |i, j| ws[i] * hs[j] + e[i * 4 + j] * c * c);
            // ½(1 + 4 + 9 + 1) = 7.5, times c⁴ in V's units.
            assert_eq!(model.score(&b, &v).unwrap(), 7.5 * c.powi(4));
        }
    }

    /// On the training data the score is the final loss (the same evaluation), and the
    /// penalised score the final objective; without penalties both are equal.
    #[test]
    fn score_on_training_data_is_the_final_loss() {
        let b = Reference;
        let v = b.from_fn(6, 5, |i, j| ((i * 5 + j) % 7) as f64 + 0.5);
        for loss in [Loss::Frobenius, Loss::KullbackLeibler, Loss::ItakuraSaito] {
            let plain = Nmf::params(2)
                .loss(loss)
                .solver(Solver::Mu)
                .max_iter(30)
                .fit(&b, &v)
                .unwrap();
            assert_eq!(plain.score(&b, &v).unwrap(), plain.final_loss());
            assert_eq!(plain.score_penalized(&b, &v).unwrap(), plain.final_loss());
            let pen = Nmf::params(2)
                .loss(loss)
                .solver(Solver::Mu)
                .alpha_w(0.1)
                .l1_ratio(0.5)
                .max_iter(30)
                .fit(&b, &v)
                .unwrap();
            assert_eq!(pen.score_penalized(&b, &v).unwrap(), pen.final_loss());
            assert!(pen.score(&b, &v).unwrap() < pen.final_loss());
        }
    }

    #[test]
    fn score_errors_name_the_problem() {
        let b = Reference;
        let v = b.from_fn(4, 3, |i, j| (i + j) as f64 + 1.0);
        let model = Nmf::params(2).max_iter(10).fit(&b, &v).unwrap();
        let wide = b.from_fn(4, 5, |_, _| 1.0);
        assert_eq!(
            model.score(&b, &wide).unwrap_err(),
            NmfError::ShapeMismatch {
                matrix: MatrixRole::V,
                expected: (4, 3),
                found: (4, 5)
            }
        );
        let tall = b.from_fn(5, 3, |_, _| 1.0);
        assert!(matches!(
            model.score(&b, &tall),
            Err(NmfError::ShapeMismatch {
                matrix: MatrixRole::V,
                found: (5, 3),
                ..
            })
        ));
        let bad = b.from_fn(4, 3, |i, j| if (i, j) == (2, 1) { -1.0 } else { 1.0 });
        assert_eq!(
            model.score(&b, &bad).unwrap_err(),
            NmfError::NegativeEntry {
                matrix: MatrixRole::V,
                row: 2,
                col: 1,
                value: -1.0
            }
        );
        let nan = b.from_fn(4, 3, |i, j| if (i, j) == (0, 2) { f64::NAN } else { 1.0 });
        assert!(matches!(
            model.score(&b, &nan),
            Err(NmfError::NonFiniteEntry {
                matrix: MatrixRole::V,
                row: 0,
                col: 2,
                ..
            })
        ));
        let is = Nmf::params(2)
            .loss(Loss::ItakuraSaito)
            .max_iter(10)
            .fit(&b, &v)
            .unwrap();
        let zero = b.from_fn(4, 3, |i, j| if (i, j) == (3, 0) { 0.0 } else { 1.0 });
        assert_eq!(
            is.score(&b, &zero).unwrap_err(),
            NmfError::ZeroEntryForBeta {
                row: 3,
                col: 0,
                beta: 0.0
            }
        );
    }
}
