//! The state of an online fit ([`OnlineNmf`]): the dictionary H and the accumulated
//! statistics, updated one batch at a time ([`OnlineNmf::partial_fit`]).

use super::MiniBatchValidParams;
use super::surrogate::{accumulate_and_minimise, surrogate};
use crate::update::check_data;
use crate::{Accum, DataOps, Loss, MatrixBackend, MatrixRole, MuSolver, NmfError, Scalar, Trans};

/// What one batch did (returned by [`OnlineNmf::partial_fit`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BatchStep {
    /// Rows of the batch.
    pub rows: usize,
    /// The batch's penalised loss at (W_b, H) after the W_b steps and before the H update
    /// (`D_β(V_b‖W_b H)` plus the batch's penalties on W_b and H, see
    /// [`MiniBatchValidParams::batch_penalty`]), divided by its rows (scikit-learn's batch
    /// cost).
    pub batch_cost: f64,
    /// The accumulated surrogate (including this batch) at the dictionary before the update.
    pub surrogate_before: f64,
    /// The accumulated surrogate at the updated dictionary (the minimiser over `{H ≥ ε}`).
    pub surrogate_after: f64,
    /// The sum of the absolute values of the surrogate's terms at both points (the size of
    /// the `f64` rounding of the two values).
    pub surrogate_terms: f64,
    /// `‖H − H′‖_F/‖H‖_F` over this batch (H the new dictionary, H′ the old).
    pub h_change: f64,
}

/// The state of an online (minibatch) fit: the dictionary H (k×n), the accumulated
/// statistics P and Q of its surrogate (see [`crate::minibatch`]), and the lower bound ε.
///
/// Made by [`MiniBatchValidParams::online`]; H is drawn at the first batch.
pub struct OnlineNmf<T: Scalar, B: MatrixBackend<T>> {
    pub(super) params: MiniBatchValidParams,
    n: usize,
    total_rows: Option<usize>,
    h: Option<B::Mat>,
    eps: T,
    p: Vec<f64>,
    q: Vec<f64>,
    /// The accumulated weights (L₁, L₂) of the penalty on H (see [`super::surrogate`]).
    pen: (f64, f64),
    steps: usize,
    samples: usize,
}

impl<T: Scalar, B: MatrixBackend<T>> core::fmt::Debug for OnlineNmf<T, B> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("OnlineNmf")
            .field("params", &self.params)
            .field("n", &self.n)
            .field("total_rows", &self.total_rows)
            .field("eps", &self.eps.as_f64())
            .field("steps", &self.steps)
            .field("samples", &self.samples)
            .finish_non_exhaustive()
    }
}

impl MiniBatchValidParams {
    /// An empty online fit of data with `n` columns (features), for
    /// [`OnlineNmf::partial_fit`].
    ///
    /// # Errors
    /// [`NmfError::EmptyMatrix`] for n = 0.
    pub fn online<T: Scalar, B: MatrixBackend<T>>(
        &self,
        n: usize,
    ) -> Result<OnlineNmf<T, B>, NmfError> {
        if n == 0 {
            return Err(NmfError::EmptyMatrix {
                matrix: MatrixRole::V,
                rows: 0,
                cols: 0,
            });
        }
        let kn = self.rank.checked_mul(n).ok_or(NmfError::RankTooLarge {
            rank: self.rank,
            rows: 0,
            cols: n,
            bytes: None,
            gram: false,
        })?;
        Ok(OnlineNmf {
            params: self.clone(),
            n,
            total_rows: None,
            h: None,
            eps: T::zero(),
            p: vec![0.0; kn],
            q: vec![0.0; kn],
            pen: (0.0, 0.0),
            steps: 0,
            samples: 0,
        })
    }
}

impl<T: Scalar, B: MatrixBackend<T>> OnlineNmf<T, B> {
    /// Declares the number of rows m of the whole V, so that the past is weighted by
    /// ρ₀^(min(batch_size, m)/m) per batch, as [`MiniBatchValidParams::fit`] does (else ρ₀).
    pub fn with_total_rows(mut self, m: usize) -> Self {
        self.total_rows = Some(m);
        self
    }

    /// The dictionary H (k×n), `None` before the first batch.
    pub fn h(&self) -> Option<&B::Mat> {
        self.h.as_ref()
    }
    /// The lower bound ε (0 before the first batch).
    pub fn eps(&self) -> T {
        self.eps
    }
    /// The accumulators `(P, Q)` of the surrogate, row-major k×n (see [`crate::minibatch`]).
    pub fn accumulators(&self) -> (&[f64], &[f64]) {
        (&self.p, &self.q)
    }
    /// The accumulated weights `(L₁, L₂)` of the penalty on H in the surrogate
    /// (`L ← ρ·L + l1_h` per batch; see [`super::surrogate`]); `(0, 0)` without penalties.
    pub fn penalty_accumulators(&self) -> (f64, f64) {
        self.pen
    }
    /// Batches seen.
    pub fn steps(&self) -> usize {
        self.steps
    }
    /// Rows (samples) seen, counted again in every epoch.
    pub fn samples(&self) -> usize {
        self.samples
    }
    /// The loss.
    pub fn loss(&self) -> Loss {
        self.params.loss
    }
    /// The number of columns n.
    pub fn n_features(&self) -> usize {
        self.n
    }

    /// Updates the dictionary with one batch of rows of V (dense `B::Mat` or any data type
    /// with a data term, e.g. [`SparseData`](crate::sparse::SparseData)): W_b is solved
    /// afresh (up to `fresh_restarts_max_iter` MM steps from a constant start), the batch's
    /// statistics join the accumulated ones (the past weighted by ρ) and H moves to the
    /// minimiser of the accumulated surrogate over `{H ≥ ε}`. Returns W_b with what the step
    /// did.
    ///
    /// # Errors
    /// [`NmfError::EmptyMatrix`], [`NmfError::NegativeEntry`] or [`NmfError::NonFiniteEntry`]
    /// (rows counted within the batch), [`NmfError::ShapeMismatch`] when the batch has not n
    /// columns, [`NmfError::ZeroEntryForBeta`], [`NmfError::EpsOutOfRange`] for a subnormal ε.
    pub fn partial_fit<V>(&mut self, b: &B, batch: &V) -> Result<(B::Mat, BatchStep), NmfError>
    where
        B: DataOps<T, V>,
    {
        self.step(b, batch, None)
    }

    /// W for new rows X (r×n) with H fixed: up to `max_iter` MM steps from a constant start
    /// on X's loss plus the penalty on W (`alpha_W`, as scikit-learn's `transform`), stopping
    /// when the relative change of W is at most `tol`.
    ///
    /// # Errors
    /// [`NmfError::InvalidModel`] before the first batch; the data errors of
    /// [`partial_fit`](Self::partial_fit).
    pub fn transform<V>(&self, b: &B, x: &V) -> Result<B::Mat, NmfError>
    where
        B: DataOps<T, V>,
    {
        let Some(h) = self.h.as_ref() else {
            return Err(NmfError::InvalidModel {
                reason: "the minibatch model has seen no batch yet: call partial_fit or fit first"
                    .into(),
            });
        };
        let (r, _) = self.check_batch(b, x)?;
        let w0 = self.constant_start(b, x, r);
        let mut s = self.solver(b, x, w0, h, r)?;
        solve_w(b, &mut s, self.params.max_iter, self.params.tol);
        Ok(s.into_factors().0)
    }

    /// The multiplicative-update solver of W_b for a batch, as [`partial_fit`](Self::partial_fit)
    /// starts it: from the constant start `√(mean(V_b)/k)` with the current H fixed and the
    /// batch's penalties ([`MiniBatchValidParams::batch_penalty`]); its
    /// [`update_w`](MuSolver::update_w) steps are the fit's W_b steps (a fresh solve takes up to
    /// `fresh_restarts_max_iter` of them) and its [`objective`](MuSolver::objective) is the
    /// batch's penalised loss. For observing the W_b steps.
    ///
    /// # Errors
    /// [`NmfError::InvalidModel`] before the first batch; the data errors of
    /// [`partial_fit`](Self::partial_fit); [`NmfError::InvalidRegularization`] when a penalty
    /// weight overflows.
    pub fn batch_solver<'a, V>(
        &'a self,
        b: &'a B,
        batch: &'a V,
    ) -> Result<MuSolver<'a, T, B, V>, NmfError>
    where
        B: DataOps<T, V>,
    {
        let Some(h) = self.h.as_ref() else {
            return Err(NmfError::InvalidModel {
                reason: "the minibatch model has seen no batch yet: call partial_fit or fit first"
                    .into(),
            });
        };
        let (r, _) = self.check_batch(b, batch)?;
        let w0 = self.constant_start(b, batch, r);
        self.solver(b, batch, w0, h, r)
    }

    /// The W_b solver from `w0` with `h` fixed and the penalties of a batch of `r` rows.
    fn solver<'a, V>(
        &self,
        b: &'a B,
        batch: &'a V,
        w0: B::Mat,
        h: &B::Mat,
        r: usize,
    ) -> Result<MuSolver<'a, T, B, V>, NmfError>
    where
        B: DataOps<T, V>,
    {
        let pen = self.params.batch_penalty(r, self.n)?;
        let mut s = MuSolver::new(b, batch, w0, copy(b, h), self.params.loss, self.eps)?;
        if !pen.is_zero() {
            s.set_penalty(pen)?;
        }
        Ok(s)
    }

    fn check_batch<V>(&self, b: &B, batch: &V) -> Result<(usize, usize), NmfError>
    where
        B: DataOps<T, V>,
    {
        let (r, n) = check_data(b, batch)?;
        self.check_width(r, n)?;
        Ok((r, n))
    }

    /// The batch's shape with only its number of columns checked (its entries are checked
    /// by [`MuSolver::new`] before any of them is used).
    fn check_width(&self, r: usize, n: usize) -> Result<(), NmfError> {
        if n != self.n {
            return Err(NmfError::ShapeMismatch {
                matrix: MatrixRole::V,
                expected: (r, self.n),
                found: (r, n),
            });
        }
        Ok(())
    }

    /// W_b's constant start `√(mean(V_b)/k)` (scikit-learn's), lifted to ε by the solver.
    fn constant_start<V>(&self, b: &B, batch: &V, r: usize) -> B::Mat
    where
        B: DataOps<T, V>,
    {
        let k = self.params.rank;
        let mean = b.data_sum(batch) / (r as f64 * self.n as f64);
        let x = T::from_f64((mean / k as f64).sqrt());
        b.from_fn(r, k, |_, _| x)
    }

    /// One batch: W_b from `w_start` with one MM step, or afresh; then the dictionary.
    pub(super) fn step<V>(
        &mut self,
        b: &B,
        batch: &V,
        w_start: Option<B::Mat>,
    ) -> Result<(B::Mat, BatchStep), NmfError>
    where
        B: DataOps<T, V>,
    {
        // The first batch's entries are checked here, as they set the initial H and ε; a
        // later batch's are checked once, by the solver of W_b, before any of them is used
        // (the constant start's sum of a bad batch is never used: the solver refuses it
        // first), which saves a pass over every batch.
        let (r, n) = if self.h.is_none() {
            self.check_batch(b, batch)?
        } else {
            let (r, n) = b.data_shape(batch);
            self.check_width(r, n)?;
            (r, n)
        };
        let (k, loss) = (self.params.rank, self.params.loss);
        // (before anything changes: a weight that overflows leaves the state as it was)
        let pen = self.params.batch_penalty(r, n)?;
        if self.h.is_none() {
            self.h = Some(self.initial_h(b, batch, r)?);
        }
        let h = self.h.as_ref().expect("set above");
        let (w0, steps) = match w_start {
            Some(w) => (w, 1),
            None => (
                self.constant_start(b, batch, r),
                self.params.fresh_restarts_max_iter,
            ),
        };
        let mut s = self.solver(b, batch, w0, h, r)?;
        solve_w(b, &mut s, steps, self.params.tol);
        // The penalised batch loss (the loss itself without penalties).
        let batch_cost = s.objective() / r as f64;
        let (w_b, _) = s.into_factors();

        // The batch's statistics at (W_b, H).
        let mut work = b.data_work(batch, k, loss);
        let (mut num, mut den) = (b.zeros(k, n), b.zeros(k, n));
        match loss {
            Loss::Frobenius => {
                let mut gram = b.zeros(k, k);
                b.frobenius_stats_h(batch, &mut work, &w_b, &mut num, &mut gram);
                b.matmul(
                    &mut den,
                    Accum::Replace,
                    T::one(),
                    &gram,
                    Trans::No,
                    h,
                    Trans::No,
                );
            }
            Loss::KullbackLeibler => {
                let mut sums = vec![T::zero(); k];
                b.kl_stats_h(batch, &mut work, &w_b, h, &mut num, &mut sums);
                den = b.from_fn(k, n, |a, _| sums[a]);
            }
            _ => {
                let beta = T::from_f64(loss.beta_value());
                b.beta_stats_h(batch, &mut work, &w_b, h, beta, &mut num, &mut den);
            }
        }
        drop(work);
        let (num, den, h_old) = (
            b.to_row_major(&num),
            b.to_row_major(&den),
            b.to_row_major(h),
        );
        let rho = match self.total_rows {
            Some(m) => self
                .params
                .forget_factor
                .powf(self.params.batch_size.min(m) as f64 / m as f64),
            None => self.params.forget_factor,
        };
        let beta = loss.beta_value();
        let mut h_new = vec![T::zero(); h_old.len()];
        // The penalty on H joins the surrogate with the batch and is forgotten with it.
        self.pen = (rho * self.pen.0 + pen.l1_h, rho * self.pen.1 + pen.l2_h);
        accumulate_and_minimise(
            beta,
            rho,
            self.eps,
            &mut self.p,
            &mut self.q,
            self.pen,
            &num,
            &den,
            &h_old,
            &mut h_new,
        );
        let (before, m1) = surrogate(beta, &self.p, &self.q, self.pen, &h_old);
        let (after, m2) = surrogate(beta, &self.p, &self.q, self.pen, &h_new);
        let (mut diff, mut norm) = (0.0, 0.0);
        for (x, y) in h_new.iter().zip(&h_old) {
            let (x, y) = (x.as_f64(), y.as_f64());
            diff += (x - y) * (x - y);
            norm += x * x;
        }
        self.h = Some(b.from_row_major(k, n, &h_new)?);
        self.steps += 1;
        self.samples += r;
        Ok((
            w_b,
            BatchStep {
                rows: r,
                batch_cost,
                surrogate_before: before,
                surrogate_after: after,
                surrogate_terms: m1 + m2,
                h_change: (diff / norm).sqrt(),
            },
        ))
    }

    /// The initial dictionary: seeded random like [`Init::Random`](crate::Init::Random) at the
    /// scale of the first batch, lifted to ε; ε from the first batch unless given.
    fn initial_h<V>(&mut self, b: &B, batch: &V, r: usize) -> Result<B::Mat, NmfError>
    where
        B: DataOps<T, V>,
    {
        let k = self.params.rank;
        let mean = b.data_sum(batch) / (r as f64 * self.n as f64);
        let eps = match self.params.eps {
            Some(e) => e,
            None => crate::Nmf::params(k)
                .check()?
                .eps_for(mean, T::unit_roundoff()),
        };
        self.eps = T::from_f64(eps);
        if !(self.eps > T::zero() && self.eps.is_finite()) || self.eps < T::min_positive_value() {
            return Err(NmfError::EpsOutOfRange {
                eps,
                min: T::min_positive_value().as_f64(),
                max: f64::INFINITY,
                scalar: T::NAME,
            });
        }
        let (_, h) = crate::init::random_factors(0, self.n, k, mean, self.params.seed);
        let eps = self.eps;
        Ok(b.from_fn(k, self.n, |a, j| T::from_f64(h[a * self.n + j]).max(eps)))
    }
}

/// A copy of a backend matrix.
fn copy<T: Scalar, B: MatrixBackend<T>>(b: &B, a: &B::Mat) -> B::Mat {
    let mut out = b.zeros_like(a);
    b.copy_from(&mut out, a);
    out
}

/// Up to `steps` W half-steps (each the exact minimiser of an auxiliary function of the
/// batch's loss over `{W ≥ ε}`, so the batch's loss never rises), stopping when the relative
/// change ‖W − W′‖/‖W‖ is at most `tol` (checked only when more than one step is allowed).
fn solve_w<T: Scalar, B: DataOps<T, V>, V>(
    b: &B,
    s: &mut MuSolver<'_, T, B, V>,
    steps: usize,
    tol: f64,
) {
    let mut prev = if steps > 1 && tol > 0.0 {
        Some(copy(b, s.w()))
    } else {
        None
    };
    for _ in 0..steps {
        s.update_w();
        if let Some(p) = prev.as_mut() {
            let change = b.reduce(&[s.w(), p], &|_, x, acc| {
                for (a, c) in x[0].iter().zip(x[1]) {
                    let d = a.as_f64() - c.as_f64();
                    acc.add(d * d);
                }
            });
            let norm = b.sq_norm(s.w());
            b.copy_from(p, s.w());
            if change <= tol * tol * norm {
                break;
            }
        }
    }
}
