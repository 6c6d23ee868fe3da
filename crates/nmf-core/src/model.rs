//! Fitting ([`NmfValidParams::fit`]) and the fitted model ([`NmfModel`]).

use core::ops::ControlFlow;

use crate::scale::Scaling;
use crate::update::{CdKlSolver, Evaluation, HalsSolver, MuSolver, check_beta, check_data};
use crate::{
    DataOps, Fixed, HalsOptions, Loss, MatrixBackend, MatrixRole, Nmf, NmfError, NmfParams,
    NmfValidParams, Penalty, Scalar, Solver,
};

/// The update rule a fit runs, behind one interface for the driver ([`NmfValidParams::run`]).
/// One per fit, on the stack of `run`: the size difference of the variants does not matter.
#[allow(clippy::large_enum_variant)]
enum Rule<'a, T: Scalar, B: DataOps<T, V>, V> {
    Mu(MuSolver<'a, T, B, V>),
    Hals(HalsSolver<'a, T, B, V>),
    CdKl(CdKlSolver<'a, T, B, V>),
}

impl<T: Scalar, B: DataOps<T, V>, V> Rule<'_, T, B, V> {
    fn set_penalty(&mut self, p: Penalty) -> Result<(), NmfError> {
        match self {
            Rule::Mu(s) => s.set_penalty(p),
            Rule::Hals(s) => s.set_penalty(p),
            Rule::CdKl(s) => s.set_penalty(p),
        }
    }
    fn step(&mut self) {
        match self {
            Rule::Mu(s) => s.step(),
            Rule::Hals(s) => s.step(),
            Rule::CdKl(s) => s.step(),
        }
    }
    fn update_h(&mut self) {
        match self {
            Rule::Mu(s) => s.update_h(),
            Rule::Hals(s) => s.update_h(),
            Rule::CdKl(s) => s.update_h(),
        }
    }
    fn update_w(&mut self) {
        match self {
            Rule::Mu(s) => s.update_w(),
            Rule::Hals(s) => s.update_w(),
            Rule::CdKl(s) => s.update_w(),
        }
    }
    fn evaluate(&mut self) -> Evaluation {
        match self {
            Rule::Mu(s) => s.evaluate(),
            Rule::Hals(s) => s.evaluate(),
            Rule::CdKl(s) => s.evaluate(),
        }
    }
    fn into_factors(self) -> (B::Mat, B::Mat) {
        match self {
            Rule::Mu(s) => s.into_factors(),
            Rule::Hals(s) => s.into_factors(),
            Rule::CdKl(s) => s.into_factors(),
        }
    }
}

/// One evaluation of the loss during a fit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LossRecord {
    /// Iterations completed when it was evaluated (0: the initial factors).
    pub iteration: usize,
    /// The loss there, in `f64`.
    pub loss: f64,
}

/// What every restart of a fit shares (see `NmfValidParams::prepare`).
struct Prepared<T, V> {
    m: usize,
    n: usize,
    /// The mean entry of the data the solver sees (V/c² when rescaled).
    mean: f64,
    /// The power-of-two scale of the fit.
    scaling: Scaling,
    /// V/c², when the data is rescaled.
    scaled: Option<V>,
    /// ε in the solver's units (ε/c).
    eps: T,
    /// The bytes of one restart's buffers (see `NmfValidParams::buffer_bytes`).
    bytes: usize,
    svd: Option<(crate::TruncatedSvd<T>, crate::nndsvd::NndsvdVariant)>,
}

impl<T, V> Prepared<T, V> {
    /// The data the solver works on: V/c² when rescaled, else V.
    fn data<'a>(&'a self, v: &'a V) -> &'a V {
        self.scaled.as_ref().unwrap_or(v)
    }
}

/// `f·a` for a power of two `f` (exact away from overflow), as a new matrix.
fn times<T: Scalar, B: MatrixBackend<T>>(b: &B, a: &B::Mat, f: f64) -> B::Mat {
    let (rows, cols) = b.shape(a);
    let mut out = b.from_fn(rows, cols, |_, _| T::from_f64(1.0 / f));
    // kl_ratio_in_place: out ← a / out = a·f, exactly 0 where a is 0.
    b.kl_ratio_in_place(&mut out, a);
    out
}

/// Whether `bytes` can be allocated at all: a reservation that is dropped at once, never
/// touched (the system refuses single allocations far above the memory it has).
fn can_allocate(bytes: usize) -> bool {
    Vec::<u8>::new().try_reserve_exact(bytes).is_ok()
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
    /// Which of the `n_init` restarts is running (0-based).
    pub restart: usize,
    /// The number of restarts.
    pub n_init: usize,
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
    #[cfg_attr(not(feature = "io"), allow(dead_code))]
    #[allow(clippy::too_many_arguments)] // one per field, for the loader only
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
        }
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
    /// Any [`NmfError`] for bad V (empty, negative, NaN or infinite entries, with their place);
    /// [`NmfError::EpsOutOfRange`], [`NmfError::InvalidRegularization`] (penalty weights that
    /// overflow) or [`NmfError::RankTooLarge`] (buffers that cannot be allocated) before the
    /// first iteration; [`NmfError::ObjectiveIncreased`] if the objective rose beyond rounding
    /// and [`NmfError::NonFiniteResult`] if the loss or the factors left the range of the
    /// scalar type (see the crate docs, "In floating point").
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
        mut observer: impl FnMut(&Progress) -> ControlFlow<()>,
    ) -> Result<NmfModel<T, B>, NmfError> {
        let prep = self.prepare(backend, v, true)?;
        let data = prep.data(v);
        let mut best: Option<NmfModel<T, B>> = None;
        for restart in 0..self.n_init {
            let (w0, h0) = self.start(backend, &prep, restart);
            let model = self.run(backend, data, &prep, w0, h0, restart, &mut observer)?;
            if best
                .as_ref()
                .is_none_or(|b| model.final_loss() < b.final_loss())
            {
                best = Some(model);
            }
        }
        Ok(best.expect("n_init ≥ 1 is checked by NmfParams::check"))
    }

    /// As [`fit`](Self::fit), with the [`n_init`](crate::NmfParams::n_init) restarts spread
    /// over up to `threads` threads (restart r runs on thread r mod the number of threads),
    /// never more than `n_init` or the cores available, and halved while their buffers cannot
    /// all be allocated; a thread the system refuses to start runs its share on the calling
    /// thread instead. The result is
    /// bit-identical to [`fit`](Self::fit): each restart computes the same values whichever
    /// thread runs it, and the best is chosen in restart order (ties go to the first), as is
    /// the error reported if restarts fail. Each running restart holds its own buffers (about
    /// two m×n matrices), and the backend's own threads are shared among them, so this pays
    /// off when the problem is too small to keep the backend's threads busy.
    ///
    /// ```
    /// use nmf_core::{MatrixBackend, Nmf, reference::Reference};
    /// let b = Reference;
    /// let v = b.from_fn(8, 6, |i, j| ((i * 3 + j * 5) % 7) as f64);
    /// let p = Nmf::params(2).n_init(4).max_iter(50).check().unwrap();
    /// let (seq, par) = (p.fit(&b, &v).unwrap(), p.fit_parallel(&b, &v, 2).unwrap());
    /// assert_eq!(b.to_row_major(seq.w()), b.to_row_major(par.w()));
    /// assert_eq!(seq.final_loss(), par.final_loss());
    /// ```
    ///
    /// # Errors
    /// As [`fit`](Self::fit).
    pub fn fit_parallel<T: Scalar, B, V>(
        &self,
        backend: &B,
        v: &V,
        threads: usize,
    ) -> Result<NmfModel<T, B>, NmfError>
    where
        B: DataOps<T, V> + Sync,
        B::Mat: Send,
        V: Sync,
    {
        self.fit_parallel_observed(backend, v, threads, |_| ControlFlow::Continue(()))
    }

    /// As [`fit_parallel`](Self::fit_parallel), calling `observer` after every iteration of
    /// every restart, from the thread running it (so it is `Fn + Sync`; [`Progress::restart`]
    /// says which restart). `ControlFlow::Break(())` stops that restart with
    /// [`NmfError::Interrupted`], which the fit returns if no earlier restart failed; to stop
    /// them all, break in every restart (for example on a shared flag).
    ///
    /// ```
    /// use core::ops::ControlFlow;
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// use nmf_core::{MatrixBackend, Nmf, reference::Reference};
    /// let v = Reference.from_fn(5, 4, |i, j| (i + 2 * j) as f64 + 1.0);
    /// let p = Nmf::params(2).n_init(3).max_iter(20).tol(0.0).check().unwrap();
    /// let calls = AtomicUsize::new(0);
    /// p.fit_parallel_observed(&Reference, &v, 2, |_| {
    ///     calls.fetch_add(1, Ordering::Relaxed);
    ///     ControlFlow::Continue(())
    /// })
    /// .unwrap();
    /// assert_eq!(calls.into_inner(), 3 * 20);
    /// ```
    ///
    /// # Errors
    /// As [`fit_parallel`](Self::fit_parallel), and [`NmfError::Interrupted`].
    pub fn fit_parallel_observed<T: Scalar, B, V>(
        &self,
        backend: &B,
        v: &V,
        threads: usize,
        observer: impl Fn(&Progress) -> ControlFlow<()> + Sync,
    ) -> Result<NmfModel<T, B>, NmfError>
    where
        B: DataOps<T, V> + Sync,
        B::Mat: Send,
        V: Sync,
    {
        let observer = &observer;
        let prep = self.prepare(backend, v, true)?;
        let data = prep.data(v);
        // No more threads than restarts or cores, and no more than whose buffers can be
        // allocated together (each running restart holds its own).
        let cores = std::thread::available_parallelism().map_or(1, |c| c.get());
        let mut threads = threads.clamp(1, self.n_init).min(cores);
        while threads > 1 && !prep.bytes.checked_mul(threads).is_some_and(can_allocate) {
            threads /= 2;
        }
        let prep = &prep;
        // Each thread keeps only the best of its restarts (lowest loss, the first on a tie)
        // and stops at its first error: memory does not grow with n_init.
        type Share<M> = (Option<(usize, M)>, Option<(usize, NmfError)>);
        let work = |t: usize| -> Share<NmfModel<T, B>> {
            let mut best: Option<(usize, NmfModel<T, B>)> = None;
            for restart in (t..self.n_init).step_by(threads) {
                let (w0, h0) = self.start(backend, prep, restart);
                let mut go = |p: &Progress| observer(p);
                match self.run(backend, data, prep, w0, h0, restart, &mut go) {
                    Err(e) => return (best, Some((restart, e))),
                    Ok(model) => {
                        if best
                            .as_ref()
                            .is_none_or(|(_, b)| model.final_loss() < b.final_loss())
                        {
                            best = Some((restart, model));
                        }
                    }
                }
            }
            (best, None)
        };
        let work = &work;
        let shares: Vec<Share<NmfModel<T, B>>> = std::thread::scope(|scope| {
            // A thread that cannot be spawned (the system's limit) runs its share here.
            let mut here = Vec::new();
            let handles: Vec<_> = (0..threads)
                .filter_map(|t| {
                    match std::thread::Builder::new().spawn_scoped(scope, move || work(t)) {
                        Ok(h) => Some(h),
                        Err(_) => {
                            here.push(t);
                            None
                        }
                    }
                })
                .collect();
            let mut shares: Vec<_> = here.into_iter().map(work).collect();
            for h in handles {
                match h.join() {
                    Ok(r) => shares.push(r),
                    Err(panic) => std::panic::resume_unwind(panic),
                }
            }
            shares
        });
        // As the sequential fit: the error of the first failing restart, else the lowest
        // loss, the first restart on a tie.
        let mut first_error: Option<(usize, NmfError)> = None;
        let mut best: Option<(usize, NmfModel<T, B>)> = None;
        for (share_best, share_error) in shares {
            if let Some((r, e)) = share_error
                && first_error.as_ref().is_none_or(|(f, _)| r < *f)
            {
                first_error = Some((r, e));
            }
            if let Some((r, m)) = share_best
                && best.as_ref().is_none_or(|(br, b)| {
                    m.final_loss() < b.final_loss() || (m.final_loss() == b.final_loss() && r < *br)
                })
            {
                best = Some((r, m));
            }
        }
        if let Some((_, e)) = first_error {
            return Err(e);
        }
        let best = best.map(|(_, m)| m);
        Ok(best.expect("n_init ≥ 1 is checked by NmfParams::check"))
    }

    /// Checks V and the parameters that depend on it (β against zeros, the penalty weights,
    /// ε against its range, the rank against memory), chooses the scale of the fit and makes
    /// the scaled copy of V if needed, and computes what every restart shares: the mean and,
    /// for the NNDSVD starts (`with_svd`), one truncated SVD (only nndsvdar's fill depends
    /// on the seed), all of the data the solver sees.
    fn prepare<T: Scalar, B: DataOps<T, V>, V>(
        &self,
        backend: &B,
        v: &V,
        with_svd: bool,
    ) -> Result<Prepared<T, V>, NmfError> {
        let (m, n) = check_data(backend, v)?;
        check_beta(backend, v, self.loss)?;
        let k = self.rank;
        let mean_v = backend.data_sum(v) / (m as f64 * n as f64);
        let variant = if with_svd {
            self.init.nndsvd_variant(k, m, n)
        } else {
            None
        };
        if variant.is_some() && k > m.min(n) {
            return Err(NmfError::RankTooLargeForSvdInit {
                init: self.init,
                rank: k,
                rows: m,
                cols: n,
            });
        }
        let mut scaling = Scaling::for_mean::<T>(mean_v);
        let (bytes, gram) = self.buffer_bytes::<T>(m, n, scaling.applied(), variant.is_some());
        let Some(bytes) = bytes.filter(|&b| can_allocate(b)) else {
            return Err(NmfError::RankTooLarge {
                rank: k,
                rows: m,
                cols: n,
                bytes,
                gram,
            });
        };
        self.checked_penalty(m, n)?;
        // ε (in V's units) for a scale, checked against its range: before the scaled copy is
        // made, and again if the data type cannot be rescaled.
        let eps_at = |scaling: &Scaling| -> Result<f64, NmfError> {
            let (lo, hi) = scaling.eps_range::<T>();
            match self.eps {
                Some(eps) if eps < lo && self.eps_raised => Ok(lo),
                Some(eps) if !(lo..=hi).contains(&eps) => Err(NmfError::EpsOutOfRange {
                    eps,
                    min: lo,
                    max: hi,
                    scalar: T::NAME,
                }),
                Some(eps) => Ok(eps),
                None => Ok(self.eps_for(mean_v, T::unit_roundoff()).clamp(lo, hi)),
            }
        };
        let mut eps = eps_at(&scaling)?;
        let c = scaling.factor();
        let scaled = if scaling.applied() {
            backend.data_scaled(v, T::from_f64(c * c))
        } else {
            None
        };
        if scaled.is_none() && scaling.applied() {
            scaling = scaling.without_rescaling();
            eps = eps_at(&scaling)?;
        }
        // Entries far below the mean can underflow to 0 in V/c², which β ≤ 0 cannot take.
        if let Some(scaled) = &scaled
            && self.loss.beta_value() <= 0.0
            && let Some((row, col)) = backend.data_first_zero(scaled)
        {
            return Err(NmfError::EntryBelowRange {
                row,
                col,
                mean: mean_v,
                beta: self.loss.beta_value(),
                scalar: T::NAME,
            });
        }
        let c = scaling.factor();
        let eps = T::from_f64(eps / c);
        let mean = mean_v / (c * c);
        let data = scaled.as_ref().unwrap_or(v);
        // The backend's own SVD is exact but computes every singular triplet; when k is well
        // below min(m, n), the randomized SVD is far faster and as accurate as NNDSVD needs.
        let svd = variant.map(|variant| {
            let svd = if m.min(n) <= 4 * (k + crate::svd::OVERSAMPLES) {
                crate::svd::truncated_svd(backend, data, k, self.seed)
            } else {
                crate::svd::randomized_svd(backend, data, k, self.seed)
            };
            (svd, variant)
        });
        Ok(Prepared {
            m,
            n,
            mean,
            scaling,
            scaled,
            eps,
            bytes,
            svd,
        })
    }

    /// The bytes one restart allocates for a V of m×n (not counting V itself), and whether
    /// k×k matrices are among them: W, H, their numerators and denominators (and the zero
    /// matrices of the penalties), the Gram matrix and identity (Frobenius, penalties), the
    /// m×n buffers (one, two for the general β path, plus the scaled copy of V), and the
    /// initialisation in `f64` ((m + n)·(k + 12) for the factors and the SVD's, plus m·n for
    /// the SVD's copy of V). `None` when the count overflows `usize`.
    fn buffer_bytes<T: Scalar>(
        &self,
        m: usize,
        n: usize,
        scaled: bool,
        svd: bool,
    ) -> (Option<usize>, bool) {
        let k = self.rank;
        let penalised = self.alpha_w > 0.0 || self.alpha_h.is_some_and(|a| a > 0.0);
        let gram = self.loss == Loss::Frobenius || penalised;
        let general = !matches!(self.loss, Loss::Frobenius | Loss::KullbackLeibler);
        let count = || -> Option<usize> {
            let factors = m.checked_mul(k)?.checked_add(k.checked_mul(n)?)?;
            let mut elems = factors.checked_mul(if penalised { 5 } else { 4 })?;
            if gram {
                elems = elems.checked_add(k.checked_mul(k)?.checked_mul(2)?)?;
            }
            let mn = m.checked_mul(n)?;
            // KL coordinate descent keeps V in both orders besides.
            let cd = 2 * usize::from(self.effective_solver() == Solver::CdKl);
            let copies = 1 + usize::from(general) + usize::from(scaled) + cd;
            elems = elems.checked_add(mn.checked_mul(copies)?)?;
            let mut f64s = m.checked_add(n)?.checked_mul(k.checked_add(12)?)?;
            if svd {
                f64s = f64s.checked_add(mn)?;
            }
            elems
                .checked_mul(core::mem::size_of::<T>())?
                .checked_add(f64s.checked_mul(8)?)
        };
        (count(), gram)
    }

    /// The initial factors of restart `restart` (seed `seed + restart`), in the solver's units.
    fn start<T: Scalar, B: MatrixBackend<T>, V>(
        &self,
        backend: &B,
        prep: &Prepared<T, V>,
        restart: usize,
    ) -> (B::Mat, B::Mat) {
        let (m, n, k) = (prep.m, prep.n, self.rank);
        let seed = self.seed.wrapping_add(restart as u64);
        let (w, h) = match &prep.svd {
            Some((svd, variant)) => crate::nndsvd::nndsvd_factors(svd, *variant, prep.mean, seed),
            None => crate::init::random_factors(m, n, k, prep.mean, seed),
        };
        let to = |rows, cols, d: Vec<f64>| {
            backend.from_fn(rows, cols, |i, j| T::from_f64(d[i * cols + j]))
        };
        (to(m, k, w), to(k, n, h))
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
        let prep = self.prepare(backend, v, false)?;
        let (m, n) = (prep.m, prep.n);
        // Shapes are checked here against the rank (MuSolver checks them against each other),
        // and entries before they are scaled (so that a bad entry is reported as given).
        crate::update::check_factor(backend, crate::MatrixRole::W0, w0, (m, self.rank))?;
        crate::update::check_factor(backend, crate::MatrixRole::H0, h0, (self.rank, n))?;
        let (w0, h0) = if prep.scaling.applied() {
            let f = 1.0 / prep.scaling.factor();
            (times(backend, w0, f), times(backend, h0, f))
        } else {
            (w0.clone(), h0.clone())
        };
        let mut observer = observer;
        self.run(backend, prep.data(v), &prep, w0, h0, 0, &mut observer)
    }

    /// One fit from (W0, H0) in the solver's units on the data the solver sees (V/c² when
    /// rescaled), returning the model in V's units.
    #[allow(clippy::too_many_arguments)]
    fn run<T: Scalar, B: DataOps<T, V>, V>(
        &self,
        backend: &B,
        v: &V,
        prep: &Prepared<T, V>,
        w0: B::Mat,
        h0: B::Mat,
        restart: usize,
        observer: &mut impl FnMut(&Progress) -> ControlFlow<()>,
    ) -> Result<NmfModel<T, B>, NmfError> {
        let mut solver = match self.effective_solver() {
            Solver::Hals => {
                // Restart r shuffles from seed + r, as its random start is drawn.
                let options = HalsOptions {
                    seed: self.seed.wrapping_add(restart as u64),
                    ..self.hals
                };
                Rule::Hals(HalsSolver::new(backend, v, w0, h0, prep.eps, options)?)
            }
            Solver::CdKl => Rule::CdKl(CdKlSolver::new(backend, v, w0, h0, prep.eps, self.cd_kl)?),
            _ => Rule::Mu(MuSolver::new(backend, v, w0, h0, self.loss, prep.eps)?),
        };
        let beta = self.loss.beta_value();
        let scaling = prep.scaling;
        let penalty = self.checked_penalty(prep.m, prep.n)?;
        solver.set_penalty(scaling.penalty(penalty, beta))?;
        let to_user = scaling.objective_factor(beta);
        let (k, u) = (self.rank, T::unit_roundoff());
        // Grown as needed: never sized from max_iter, which may be huge.
        let cap = (self.max_iter / self.check_every)
            .saturating_add(2)
            .min(1024);
        let mut history = Vec::with_capacity(cap);
        let record = |iteration: usize, objective: f64| -> Result<LossRecord, NmfError> {
            let loss = objective * to_user;
            if loss.is_finite() {
                return Ok(LossRecord { iteration, loss });
            }
            let reason = if objective.is_finite() {
                format!(
                    "the loss in V's own units exceeds the range of f64 (the fit runs on V/2^{}, \
                     where it is {objective:e}, and the loss scales as V's scale to the power \
                     β = {beta}); rescale V",
                    2 * scaling.exponent()
                )
            } else {
                format!(
                    "an intermediate value of the updates left the range of {}: the entries of \
                     V span too many orders of magnitude for β = {beta} in {}{}",
                    T::NAME,
                    T::NAME,
                    if T::NAME == "f32" { "; use f64" } else { "" }
                )
            };
            Err(NmfError::NonFiniteResult {
                iteration,
                loss,
                scalar: T::NAME,
                reason,
            })
        };
        let mut prev = solver.evaluate();
        history.push(record(0, prev.objective)?);
        let mut converged = false;
        let mut n_iter = 0;
        for it in 1..=self.max_iter {
            match self.fixed {
                Fixed::None => solver.step(),
                Fixed::W => solver.update_h(),
                Fixed::H => solver.update_w(),
            }
            n_iter = it;
            let mut now = None;
            if it % self.check_every == 0 || it == self.max_iter {
                let e = solver.evaluate();
                history.push(record(it, e.objective)?);
                let bound = prev.rise_bound(&e, k, u);
                if e.objective > prev.objective + bound {
                    return Err(NmfError::ObjectiveIncreased {
                        iteration: it,
                        before: prev.objective * to_user,
                        after: e.objective * to_user,
                        bound: bound * to_user,
                        scalar: T::NAME,
                    });
                }
                now = Some(e);
            }
            let progress = Progress {
                iteration: it,
                max_iter: self.max_iter,
                loss: now.map(|e| e.objective * to_user),
                restart,
                n_init: self.n_init,
            };
            if observer(&progress).is_break() {
                return Err(NmfError::Interrupted { iteration: it });
            }
            if let Some(e) = now {
                // A rise within the rounding bound is a relative decrease ≤ 0 ≤ tol.
                if self.tol > 0.0 && prev.objective - e.objective <= self.tol * prev.objective {
                    converged = true;
                    break;
                }
                prev = e;
            }
        }
        let (w, h) = solver.into_factors();
        let c = scaling.factor();
        let (w, h) = if scaling.applied() {
            (times(backend, &w, c), times(backend, &h, c))
        } else {
            (w, h)
        };
        // A finite loss implies finite WH; the factors are checked too, so NaN never leaves.
        for a in [&w, &h] {
            if backend.first_invalid(a).is_some() {
                return Err(NmfError::NonFiniteResult {
                    iteration: n_iter,
                    loss: f64::NAN,
                    scalar: T::NAME,
                    reason: format!(
                        "W or H, scaled back from the fit on V/2^{} by 2^{}, exceed the range \
                         of {}",
                        2 * scaling.exponent(),
                        scaling.exponent(),
                        T::NAME
                    ),
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
            eps: T::from_f64(prep.eps.as_f64() * c),
            penalty,
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

/// Settings of [`NmfModel::transform`]: its own iteration budget and stopping rule (the same
/// rule as a fit, see [`NmfValidParams::tol`]).
///
/// ```
/// use nmf_core::TransformParams;
/// let p = TransformParams::default().max_iter(500).tol(1e-6);
/// assert_eq!((p.max_iter, p.tol, p.check_every), (500, 1e-6, 10));
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TransformParams {
    /// The most iterations (H half-steps); default 200.
    pub max_iter: usize,
    /// The relative-decrease tolerance; default 1e-4; 0 runs `max_iter` half-steps.
    pub tol: f64,
    /// How often the loss is evaluated; default 10.
    pub check_every: usize,
}

impl Default for TransformParams {
    fn default() -> Self {
        Self {
            max_iter: 200,
            tol: 1e-4,
            check_every: 10,
        }
    }
}

impl TransformParams {
    /// Sets `max_iter`.
    pub fn max_iter(mut self, max_iter: usize) -> Self {
        self.max_iter = max_iter;
        self
    }
    /// Sets `tol`.
    pub fn tol(mut self, tol: f64) -> Self {
        self.tol = tol;
        self
    }
    /// Sets `check_every`.
    pub fn check_every(mut self, check_every: usize) -> Self {
        self.check_every = check_every;
        self
    }
}

impl<T: Scalar, B: MatrixBackend<T>> NmfModel<T, B> {
    fn transform_params(
        &self,
        backend: &B,
        p: &TransformParams,
    ) -> Result<NmfValidParams, NmfError> {
        Nmf::params(backend.ncols(&self.w))
            .loss(self.loss)
            .max_iter(p.max_iter)
            .tol(p.tol)
            .check_every(p.check_every)
            .eps(self.eps.as_f64())
            .fixed(Fixed::W)
            .raise_eps()
            .penalty_weights(Penalty {
                l1_h: self.penalty.l1_h,
                l2_h: self.penalty.l2_h,
                ..Penalty::default()
            })
            .check()
    }

    fn check_rows<V>(&self, backend: &B, x: &V) -> Result<(), NmfError>
    where
        B: DataOps<T, V>,
    {
        let (m, n) = check_data(backend, x)?;
        let rows = backend.nrows(&self.w);
        if m != rows {
            return Err(NmfError::ShapeMismatch {
                matrix: MatrixRole::V,
                expected: (rows, n),
                found: (m, n),
            });
        }
        Ok(())
    }

    /// H for new data X (m×n′, the same m rows as the training data) with W fixed: the
    /// multiplicative H-updates of the model's loss and ε (raised to the lower end of
    /// [`NmfValidParams::eps_range`] for X if below it, as for an `f64` model applied in
    /// `f32`), from every entry equal to
    /// `√(mean(X)/k)` (scikit-learn's start; ε for an all-zero X), for at most
    /// `params.max_iter` half-steps. The columns of X are the new samples.
    ///
    /// ```
    /// use nmf_core::{MatrixBackend, Nmf, TransformParams, reference::Reference};
    /// let b = Reference;
    /// let v = b.from_row_major(2, 3, &[1.0_f64, 2.0, 3.0, 2.0, 4.0, 6.0]).unwrap();
    /// let model = Nmf::params(1).max_iter(500).tol(0.0).fit(&b, &v).unwrap();
    /// let x = b.from_row_major(2, 1, &[5.0, 10.0]).unwrap(); // a new column, 5 × the pattern
    /// let h = model.transform(&b, &x, &TransformParams::default().tol(0.0)).unwrap();
    /// let back = b.to_row_major(&model.inverse_transform(&b, &h).unwrap());
    /// assert!((back[0] - 5.0).abs() < 1e-6 && (back[1] - 10.0).abs() < 1e-6);
    /// ```
    ///
    /// # Errors
    /// As a fit for X (empty, negative or non-finite entries, zeros with β ≤ 0),
    /// [`NmfError::ShapeMismatch`] if X does not have m rows, and invalid `params`.
    pub fn transform<V>(
        &self,
        backend: &B,
        x: &V,
        params: &TransformParams,
    ) -> Result<B::Mat, NmfError>
    where
        B: DataOps<T, V>,
    {
        self.transform_observed(backend, x, params, |_| ControlFlow::Continue(()))
    }

    /// As [`transform`](Self::transform), calling `observer` after every H half-step, as
    /// [`NmfValidParams::fit_observed`] does after every iteration (for progress bars and
    /// cancellation; `ControlFlow::Break(())` stops with [`NmfError::Interrupted`]).
    ///
    /// ```
    /// use core::ops::ControlFlow;
    /// use nmf_core::{MatrixBackend, Nmf, NmfError, TransformParams, reference::Reference};
    /// let b = Reference;
    /// let v = b.from_fn(4, 3, |i, j| (i + j) as f64 + 1.0);
    /// let model = Nmf::params(2).max_iter(50).fit(&b, &v).unwrap();
    /// let p = TransformParams::default().max_iter(30).tol(0.0);
    /// let stop = |pr: &nmf_core::Progress| {
    ///     if pr.iteration == 5 { ControlFlow::Break(()) } else { ControlFlow::Continue(()) }
    /// };
    /// let err = model.transform_observed(&b, &v, &p, stop).unwrap_err();
    /// assert_eq!(err, NmfError::Interrupted { iteration: 5 });
    /// ```
    ///
    /// # Errors
    /// As [`transform`](Self::transform), and [`NmfError::Interrupted`].
    pub fn transform_observed<V>(
        &self,
        backend: &B,
        x: &V,
        params: &TransformParams,
        observer: impl FnMut(&Progress) -> ControlFlow<()>,
    ) -> Result<B::Mat, NmfError>
    where
        B: DataOps<T, V>,
    {
        self.check_rows(backend, x)?;
        let (m, n) = backend.data_shape(x);
        let k = backend.ncols(&self.w);
        let mean = backend.data_sum(x) / (m as f64 * n as f64);
        let start = T::from_f64((mean / k as f64).sqrt());
        let h0 = backend.from_fn(k, n, |_, _| start);
        self.transform_from_observed(backend, x, &h0, params, observer)
    }

    /// As [`transform`](Self::transform), starting from a given H0 (k×n′).
    ///
    /// # Errors
    /// As [`transform`](Self::transform), and errors for H0 as for a fit's initial H.
    pub fn transform_from<V>(
        &self,
        backend: &B,
        x: &V,
        h0: &B::Mat,
        params: &TransformParams,
    ) -> Result<B::Mat, NmfError>
    where
        B: DataOps<T, V>,
    {
        self.transform_from_observed(backend, x, h0, params, |_| ControlFlow::Continue(()))
    }

    /// As [`transform_from`](Self::transform_from), with an observer as in
    /// [`transform_observed`](Self::transform_observed).
    ///
    /// # Errors
    /// As [`transform_from`](Self::transform_from), and [`NmfError::Interrupted`].
    pub fn transform_from_observed<V>(
        &self,
        backend: &B,
        x: &V,
        h0: &B::Mat,
        params: &TransformParams,
        observer: impl FnMut(&Progress) -> ControlFlow<()>,
    ) -> Result<B::Mat, NmfError>
    where
        B: DataOps<T, V>,
    {
        self.check_rows(backend, x)?;
        let p = self.transform_params(backend, params)?;
        Ok(p.fit_from_observed(backend, x, &self.w, h0, observer)?.h)
    }

    /// W·H for an H (k×n′) from [`transform`](Self::transform): the data the model
    /// reconstructs from it.
    ///
    /// # Errors
    /// [`NmfError::ShapeMismatch`] if H does not have k rows.
    pub fn inverse_transform(&self, backend: &B, h: &B::Mat) -> Result<B::Mat, NmfError> {
        let (m, k) = backend.shape(&self.w);
        let (kh, n) = backend.shape(h);
        if kh != k {
            return Err(NmfError::ShapeMismatch {
                matrix: MatrixRole::H,
                expected: (k, n),
                found: (kh, n),
            });
        }
        let mut out = backend.zeros(m, n);
        backend.matmul(
            &mut out,
            crate::Accum::Replace,
            T::one(),
            &self.w,
            crate::Trans::No,
            h,
            crate::Trans::No,
        );
        Ok(out)
    }
}
