//! The driver: every fit goes through here, whatever its update rule ([`Rule`]): checking and
//! scaling the data, the starts and restarts (in order or on threads), the stopping rule, the
//! observer and interruption, the loss history, and scaling the result back to V's units.
//!
//! The entry points are [`NmfValidParams::fit`] (the short form) and
//! [`NmfValidParams::fitting`], which returns a [`Fitting`] builder for the options (a custom
//! start, an observer, restarts on threads), run by [`Fitting::run`].

use core::marker::PhantomData;
use core::ops::ControlFlow;
use std::borrow::Cow;

use crate::rule::Rule;
use crate::scale::Scaling;
use crate::update::{check_beta, check_data};
use crate::{
    DataOps, Fixed, Loss, LossRecord, MatrixBackend, NmfError, NmfModel, NmfParams, NmfValidParams,
    Scalar,
};

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

/// A held-out set as the fit sees it: the one given, or its rescaled copy.
enum Held<'a, V> {
    Borrowed(&'a V),
    Owned(V),
}

impl<V> Held<'_, V> {
    fn get(&self) -> &V {
        match self {
            Held::Borrowed(v) => v,
            Held::Owned(v) => v,
        }
    }
}

/// `f·a` for a power of two `f` (exact away from overflow), as a new matrix.
pub(crate) fn times<T: Scalar, B: MatrixBackend<T>>(b: &B, a: &B::Mat, f: f64) -> B::Mat {
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

/// What an observer ([`Fitting::observer`], [`Transforming::observer`](crate::Transforming::observer))
/// sees after each iteration.
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

/// The observer of a [`Fitting`] (or [`Transforming`](crate::Transforming)) when none is
/// given: it never stops the fit.
pub type NoObserver = fn(&Progress) -> ControlFlow<()>;

pub(crate) fn no_observer(_: &Progress) -> ControlFlow<()> {
    ControlFlow::Continue(())
}

/// The restarts of a [`Fitting`] run one after the other on the calling thread (the default;
/// the observer may be any `FnMut`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sequential;

/// The restarts of a [`Fitting`] are spread over up to this many threads (set by
/// [`Fitting::threads`]; the observer must be `Fn + Sync`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Threaded(usize);

/// A fit with options, from [`NmfValidParams::fitting`] (or [`NmfParams::fitting`]): set what
/// differs from the defaults, then [`run`](Self::run).
///
/// - [`start`](Self::start): custom initial factors W0 (m×k) and H0 (k×n) instead of the
///   parameters' [`Init`](crate::Init) (scikit-learn's `init='custom'`); a single fit
///   (`n_init` is not used).
/// - [`observer`](Self::observer): called after every iteration with a [`Progress`], for
///   progress bars and cancellation; returning `ControlFlow::Break(())` stops the fit with
///   [`NmfError::Interrupted`].
/// - [`threads`](Self::threads): spread the `n_init` restarts over threads, bit-identical to
///   running them in order.
///
/// Why the observer's bound depends on `threads`: with restarts in order the observer is only
/// ever called from the calling thread, one call at a time, so any `FnMut` will do (one that
/// updates a counter or a progress bar it borrows mutably). With threads, several restarts
/// call it at once from their threads, so it must be `Fn + Sync` (share state through atomics
/// or a `Mutex`), and the backend and V must be `Sync`. The builder tracks which case it is
/// in its type ([`Sequential`] or [`Threaded`]), so the short forms never ask for more than
/// they use: [`observer`](Self::observer) before `threads` takes an `FnMut`, after it an
/// `Fn + Sync`; a sequential fit never needs `Sync` data.
///
/// ```
/// use core::ops::ControlFlow;
/// use nmf_core::{MatrixBackend, Nmf, NmfError, reference::Reference};
/// let b = Reference;
/// let v = b.from_fn(6, 5, |i, j| (i + 2 * j) as f64 + 1.0);
/// let p = Nmf::params(2).max_iter(50).tol(0.0).check().unwrap();
///
/// // From custom factors, counting iterations with an FnMut observer.
/// let (w0, h0) = (b.from_fn(6, 2, |_, _| 1.0), b.from_fn(2, 5, |_, _| 1.0));
/// let mut seen = 0;
/// let model = p
///     .fitting(&b, &v)
///     .start(&w0, &h0)
///     .observer(|_| {
///         seen += 1;
///         ControlFlow::Continue(())
///     })
///     .run()
///     .unwrap();
/// assert_eq!((seen, model.n_iter()), (50, 50));
///
/// // Stopping after 3 iterations.
/// let stop = |pr: &nmf_core::Progress| {
///     if pr.iteration == 3 { ControlFlow::Break(()) } else { ControlFlow::Continue(()) }
/// };
/// let err = p.fitting(&b, &v).observer(stop).run().unwrap_err();
/// assert_eq!(err, NmfError::Interrupted { iteration: 3 });
/// ```
///
/// An observer that needs `FnMut` cannot be used with threads; this does not compile (count
/// with an atomic instead, as in [`threads`](Self::threads)):
///
/// ```compile_fail,E0525
/// # use core::ops::ControlFlow;
/// # use nmf_core::{MatrixBackend, Nmf, reference::Reference};
/// # let b = Reference;
/// # let v = b.from_fn(6, 5, |i, j| (i + 2 * j) as f64 + 1.0);
/// # let p = Nmf::params(2).n_init(2).check().unwrap();
/// let mut seen = 0;
/// let counted = |_: &nmf_core::Progress| {
///     seen += 1;
///     ControlFlow::Continue(())
/// };
/// p.fitting(&b, &v).threads(2).observer(counted).run();
/// ```
#[must_use = "a Fitting does nothing until it is run"]
pub struct Fitting<'a, T: Scalar, B: MatrixBackend<T>, V, O = NoObserver, R = Sequential> {
    params: Result<Cow<'a, NmfValidParams>, NmfError>,
    backend: &'a B,
    v: &'a V,
    start: Option<(&'a B::Mat, &'a B::Mat)>,
    test: Option<&'a V>,
    observer: O,
    mode: R,
    scalar: PhantomData<T>,
}

impl<'a, T: Scalar, B: MatrixBackend<T>, V, O, R> Fitting<'a, T, B, V, O, R> {
    /// Starts from W0 (m×k) and H0 (k×n) (copied; entries below ε are lifted to ε) instead of
    /// the parameters' [`Init`](crate::Init): a single fit, so `init`, `seed` (except for
    /// HALS's shuffled order) and `n_init` are not used. With [`Fixed::W`] or [`Fixed::H`]
    /// the fixed factor is the one given here.
    ///
    /// Errors of [`run`](Self::run) for W0 and H0: [`NmfError::ShapeMismatch`],
    /// [`NmfError::NegativeEntry`] or [`NmfError::NonFiniteEntry`], naming the matrix.
    pub fn start(mut self, w0: &'a B::Mat, h0: &'a B::Mat) -> Self {
        self.start = Some((w0, h0));
        self
    }

    /// Evaluates the model on a held-out set of one's own at every evaluation of the loss
    /// (as [`NmfParams::holdout`] does with a random one): `test` holds the held-out entries
    /// of V with V's shape (for masked data, [`crate::masked`]: the entries it observes; they
    /// should be missing from V). The errors are in
    /// [`NmfModel::holdout_history`](crate::NmfModel::holdout_history).
    ///
    /// Errors of [`run`](Self::run): [`NmfError::InvalidHoldout`] when `test` does not have
    /// V's shape, is not masked data, or [`NmfParams::holdout`] is set too.
    pub fn test(mut self, test: &'a V) -> Self {
        self.test = Some(test);
        self
    }

    /// Runs the `n_init` restarts on up to `threads` threads (restart r on thread r mod the
    /// number of threads), never more than `n_init` or the cores available, and halved while
    /// their buffers cannot all be allocated; a thread the system refuses to start runs its
    /// share on the calling thread instead. The result is bit-identical to running them in
    /// order: each restart computes the same values whichever thread runs it, and the best is
    /// chosen in restart order (ties go to the first), as is the error reported if restarts
    /// fail. Each running restart holds its own buffers (about two m×n matrices), and the
    /// backend's own threads are shared among them, so this pays off when the problem is too
    /// small to keep the backend's threads busy. Has no effect with a custom
    /// [`start`](Self::start) (a single fit).
    ///
    /// From here on the observer must be `Fn + Sync`: it is called from the restarts'
    /// threads, with [`Progress::restart`] saying which. `ControlFlow::Break(())` stops that
    /// restart with [`NmfError::Interrupted`], which the fit returns if no earlier restart
    /// failed; to stop them all, break in every restart (for example on a shared flag).
    ///
    /// ```
    /// use core::ops::ControlFlow;
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// use nmf_core::{MatrixBackend, Nmf, reference::Reference};
    /// let b = Reference;
    /// let v = b.from_fn(8, 6, |i, j| ((i * 3 + j * 5) % 7) as f64);
    /// let p = Nmf::params(2).n_init(4).max_iter(50).tol(0.0).check().unwrap();
    /// let calls = AtomicUsize::new(0);
    /// let par = p
    ///     .fitting(&b, &v)
    ///     .threads(2)
    ///     .observer(|_| {
    ///         calls.fetch_add(1, Ordering::Relaxed);
    ///         ControlFlow::Continue(())
    ///     })
    ///     .run()
    ///     .unwrap();
    /// assert_eq!(calls.into_inner(), 4 * 50);
    /// let seq = p.fit(&b, &v).unwrap();
    /// assert_eq!(b.to_row_major(seq.w()), b.to_row_major(par.w()));
    /// assert_eq!(seq.final_loss().to_bits(), par.final_loss().to_bits());
    /// ```
    pub fn threads(self, threads: usize) -> Fitting<'a, T, B, V, O, Threaded> {
        Fitting {
            params: self.params,
            backend: self.backend,
            v: self.v,
            start: self.start,
            test: self.test,
            observer: self.observer,
            mode: Threaded(threads),
            scalar: PhantomData,
        }
    }

    fn with_observer<F>(self, observer: F) -> Fitting<'a, T, B, V, F, R> {
        Fitting {
            params: self.params,
            backend: self.backend,
            v: self.v,
            start: self.start,
            test: self.test,
            observer,
            mode: self.mode,
            scalar: PhantomData,
        }
    }
}

impl<'a, T: Scalar, B: MatrixBackend<T>, V, O> Fitting<'a, T, B, V, O, Sequential> {
    /// Calls `observer` after every iteration (see [`Progress`]); `ControlFlow::Break(())`
    /// stops the fit with [`NmfError::Interrupted`]. Restarts in order call it from the
    /// calling thread only, so any `FnMut` will do.
    pub fn observer<F>(self, observer: F) -> Fitting<'a, T, B, V, F, Sequential>
    where
        F: FnMut(&Progress) -> ControlFlow<()>,
    {
        self.with_observer(observer)
    }
}

impl<'a, T: Scalar, B: MatrixBackend<T>, V, O> Fitting<'a, T, B, V, O, Threaded> {
    /// Calls `observer` after every iteration of every restart, from the thread running it
    /// (so it is `Fn + Sync`; see [`threads`](Fitting::threads)).
    pub fn observer<F>(self, observer: F) -> Fitting<'a, T, B, V, F, Threaded>
    where
        F: Fn(&Progress) -> ControlFlow<()> + Sync,
    {
        self.with_observer(observer)
    }
}

impl<T: Scalar, B: DataOps<T, V>, V, O> Fitting<'_, T, B, V, O, Sequential>
where
    O: FnMut(&Progress) -> ControlFlow<()>,
{
    /// Runs the fit: the restarts in order, or the single fit from a custom start.
    ///
    /// # Errors
    /// As [`NmfValidParams::fit`]; [`NmfError::Interrupted`] when the observer stops it; for
    /// a custom start, errors for W0 and H0 (see [`start`](Fitting::start)); from
    /// [`NmfParams::fitting`], the parameter errors of [`NmfParams::check`].
    pub fn run(self) -> Result<NmfModel<T, B>, NmfError> {
        let Fitting {
            params,
            backend,
            v,
            start,
            test,
            mut observer,
            ..
        } = self;
        let params = params?;
        match start {
            Some((w0, h0)) => params.run_from(backend, v, test, w0, h0, &mut observer),
            None => params.run_restarts(backend, v, test, &mut observer),
        }
    }
}

impl<T: Scalar, B, V, O> Fitting<'_, T, B, V, O, Threaded>
where
    B: DataOps<T, V> + Sync,
    V: Sync,
    O: Fn(&Progress) -> ControlFlow<()> + Sync,
{
    /// Runs the fit: the restarts on threads (see [`threads`](Fitting::threads)), or the
    /// single fit from a custom start on the calling thread.
    ///
    /// # Errors
    /// As the sequential [`run`](Fitting::run).
    pub fn run(self) -> Result<NmfModel<T, B>, NmfError> {
        let Fitting {
            params,
            backend,
            v,
            start,
            test,
            observer,
            mode: Threaded(threads),
            ..
        } = self;
        let params = params?;
        match start {
            Some((w0, h0)) => params.run_from(backend, v, test, w0, h0, &mut |p| observer(p)),
            None => params.run_parallel(backend, v, test, threads, &observer),
        }
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

    /// As [`NmfValidParams::fitting`]; the parameters are validated here and a parameter
    /// error is returned by [`Fitting::run`].
    pub fn fitting<'a, T: Scalar, B: DataOps<T, V>, V>(
        &self,
        backend: &'a B,
        v: &'a V,
    ) -> Fitting<'a, T, B, V> {
        Fitting {
            params: self.clone().check().map(Cow::Owned),
            backend,
            v,
            start: None,
            test: None,
            observer: no_observer,
            mode: Sequential,
            scalar: PhantomData,
        }
    }
}

impl NmfValidParams {
    /// Fits V ≈ WH from the initialisation chosen by [`NmfParams::init`](crate::NmfParams::init),
    /// the best of the `n_init` restarts run in order: the short form of
    /// [`fitting`](Self::fitting)`(backend, v).run()`.
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
        self.run_restarts(backend, v, None, &mut no_observer)
    }

    /// A fit with options (a custom start, an observer, restarts on threads): see
    /// [`Fitting`]. `params.fitting(&b, &v).run()` is [`fit`](Self::fit).
    pub fn fitting<'a, T: Scalar, B: DataOps<T, V>, V>(
        &'a self,
        backend: &'a B,
        v: &'a V,
    ) -> Fitting<'a, T, B, V> {
        Fitting {
            params: Ok(Cow::Borrowed(self)),
            backend,
            v,
            start: None,
            test: None,
            observer: no_observer,
            mode: Sequential,
            scalar: PhantomData,
        }
    }

    /// The `n_init` restarts in order; the best (lowest final loss, the first on a tie), or
    /// the error of the first that fails.
    fn run_restarts<T: Scalar, B: DataOps<T, V>, V>(
        &self,
        backend: &B,
        v: &V,
        test: Option<&V>,
        observer: &mut impl FnMut(&Progress) -> ControlFlow<()>,
    ) -> Result<NmfModel<T, B>, NmfError> {
        let split = self.split(backend, v, test)?;
        let (v, test) = match &split {
            Some((train, held)) => (train, Some(held)),
            None => (v, test),
        };
        let prep = self.prepare(backend, v, true)?;
        let held = self.held_out(backend, &prep, test)?;
        let data = prep.data(v);
        let mut best: Option<NmfModel<T, B>> = None;
        for restart in 0..self.n_init {
            let (w0, h0) = self.start(backend, &prep, restart);
            let model = self.run(
                backend,
                data,
                &prep,
                held.as_ref().map(Held::get),
                w0,
                h0,
                restart,
                observer,
            )?;
            if best
                .as_ref()
                .is_none_or(|b| model.final_loss() < b.final_loss())
            {
                best = Some(model);
            }
        }
        Ok(best.expect("n_init ≥ 1 is checked by NmfParams::check"))
    }

    /// The `n_init` restarts on up to `threads` threads (see [`Fitting::threads`]).
    fn run_parallel<T: Scalar, B, V>(
        &self,
        backend: &B,
        v: &V,
        test: Option<&V>,
        threads: usize,
        observer: &(impl Fn(&Progress) -> ControlFlow<()> + Sync),
    ) -> Result<NmfModel<T, B>, NmfError>
    where
        B: DataOps<T, V> + Sync,
        V: Sync,
    {
        let split = self.split(backend, v, test)?;
        let (v, test) = match &split {
            Some((train, held)) => (train, Some(held)),
            None => (v, test),
        };
        let prep = self.prepare(backend, v, true)?;
        let held = self.held_out(backend, &prep, test)?;
        let held = held.as_ref().map(Held::get);
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
                match self.run(backend, data, prep, held, w0, h0, restart, &mut go) {
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
        let mean_v = backend.data_mean(v);
        // A data term that reads V as the fit goes (streamed from a file) reports here a read
        // that failed during the checks' passes (DataOps::data_error).
        backend.data_error(v)?;
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
        let data_bytes = backend.data_bytes(v, k, self.loss, scaling.applied(), variant.is_some());
        let dense_v = backend.data_compressed(v).is_none();
        let (bytes, gram) = self.buffer_bytes::<T>(m, n, data_bytes, dense_v);
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
        // The SVD's passes over a streamed V.
        backend.data_error(data)?;
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

    /// The training and held-out parts of V when [`NmfParams::holdout`] is set (refused
    /// together with a test set of one's own).
    fn split<T: Scalar, B: DataOps<T, V>, V>(
        &self,
        backend: &B,
        v: &V,
        test: Option<&V>,
    ) -> Result<Option<(V, V)>, NmfError> {
        let Some((fraction, seed)) = self.holdout else {
            return Ok(None);
        };
        if test.is_some() {
            return Err(NmfError::InvalidHoldout {
                reason: "both a random held-out fraction (holdout) and a test set of one's \
                         own (test) were given: choose one"
                    .into(),
            });
        }
        check_data(backend, v)?;
        backend.data_holdout(v, fraction, seed).map(Some)
    }

    /// The held-out set in the solver's units (V/c² when the fit is rescaled), checked
    /// against V's shape and entries.
    fn held_out<'t, T: Scalar, B: DataOps<T, V>, V>(
        &self,
        backend: &B,
        prep: &Prepared<T, V>,
        test: Option<&'t V>,
    ) -> Result<Option<Held<'t, V>>, NmfError> {
        let Some(t) = test else {
            return Ok(None);
        };
        let shape = check_data(backend, t)?;
        if shape != (prep.m, prep.n) {
            return Err(NmfError::InvalidHoldout {
                reason: format!(
                    "the test set is {}×{}, V is {}×{}: they must have the same shape",
                    shape.0, shape.1, prep.m, prep.n
                ),
            });
        }
        if !prep.scaling.applied() {
            return Ok(Some(Held::Borrowed(t)));
        }
        let c = prep.scaling.factor();
        match backend.data_scaled(t, T::from_f64(c * c)) {
            Some(scaled) => Ok(Some(Held::Owned(scaled))),
            None => Err(NmfError::InvalidHoldout {
                reason: "V is rescaled for the fit, and the test set's type cannot be".into(),
            }),
        }
    }

    /// The bytes one restart allocates for a V of m×n (not counting V itself), and whether
    /// k×k matrices are among them: W, H, their numerators and denominators (and the zero
    /// matrices of the penalties), the Gram matrix and identity (Frobenius, penalties), the
    /// data term's buffers (`data_bytes`, from [`DataOps::data_bytes`]: for dense V the m×n
    /// buffers, the scaled copy and the SVD's copy), KL coordinate descent's two copies of V
    /// when `dense_v` (sparse V is swept in place, with O(max(m, n)·k) scratch per thread),
    /// and the initialisation in `f64` ((m + n)·(k + 12) for the factors and the SVD's).
    /// `None` when the count overflows `usize`.
    fn buffer_bytes<T: Scalar>(
        &self,
        m: usize,
        n: usize,
        data_bytes: Option<usize>,
        dense_v: bool,
    ) -> (Option<usize>, bool) {
        let k = self.rank;
        let penalised = self.alpha_w > 0.0 || self.alpha_h.is_some_and(|a| a > 0.0);
        let gram = self.loss == Loss::Frobenius || penalised;
        let count = || -> Option<usize> {
            let factors = m.checked_mul(k)?.checked_add(k.checked_mul(n)?)?;
            let mut elems = factors.checked_mul(if penalised { 5 } else { 4 })?;
            if gram {
                elems = elems.checked_add(k.checked_mul(k)?.checked_mul(2)?)?;
            }
            // KL coordinate descent keeps V in both orders besides (dense V only).
            let cd = 2 * usize::from(self.effective_solver() == crate::Solver::CdKl && dense_v);
            elems = elems.checked_add(m.checked_mul(n)?.checked_mul(cd)?)?;
            let f64s = m.checked_add(n)?.checked_mul(k.checked_add(12)?)?;
            elems
                .checked_mul(core::mem::size_of::<T>())?
                .checked_add(f64s.checked_mul(8)?)?
                .checked_add(data_bytes?)
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

    /// One fit from the given W0 and H0 (see [`Fitting::start`]).
    fn run_from<T: Scalar, B: DataOps<T, V>, V>(
        &self,
        backend: &B,
        v: &V,
        test: Option<&V>,
        w0: &B::Mat,
        h0: &B::Mat,
        observer: &mut impl FnMut(&Progress) -> ControlFlow<()>,
    ) -> Result<NmfModel<T, B>, NmfError> {
        let split = self.split(backend, v, test)?;
        let (v, test) = match &split {
            Some((train, held)) => (train, Some(held)),
            None => (v, test),
        };
        let prep = self.prepare(backend, v, false)?;
        let held = self.held_out(backend, &prep, test)?;
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
        let held = held.as_ref().map(Held::get);
        self.run(backend, prep.data(v), &prep, held, w0, h0, 0, observer)
    }

    /// One fit from (W0, H0) in the solver's units on the data the solver sees (V/c² when
    /// rescaled), returning the model in V's units.
    #[allow(clippy::too_many_arguments)]
    fn run<T: Scalar, B: DataOps<T, V>, V>(
        &self,
        backend: &B,
        v: &V,
        prep: &Prepared<T, V>,
        test: Option<&V>,
        w0: B::Mat,
        h0: B::Mat,
        restart: usize,
        observer: &mut impl FnMut(&Progress) -> ControlFlow<()>,
    ) -> Result<NmfModel<T, B>, NmfError> {
        let mut solver = Rule::new(self, backend, v, w0, h0, prep.eps, restart)?;
        // The held-out set's own buffers, made once; its errors at every evaluation, in V's
        // units.
        let mut test = test.map(|t| (t, backend.data_work(t, self.rank, self.loss)));
        let c2 = prep.scaling.factor() * prep.scaling.factor();
        let to_user_test = prep.scaling.objective_factor(self.loss.beta_value());
        let mut holdout = Vec::new();
        let mut held_out = |solver: &Rule<'_, T, B, V>, iteration: usize| -> Result<(), NmfError> {
            if let Some((t, work)) = test.as_mut() {
                let (w, h) = solver.factors();
                let error = backend
                    .data_errors(t, work, w, h, self.loss)
                    .ok_or_else(|| NmfError::InvalidHoldout {
                        reason: "the test set must be masked or weighted data \
                                 (masked::Observed or masked::Weighted), whose entries say \
                                 which are held out"
                            .into(),
                    })?;
                holdout.push(crate::masked::HoldoutRecord {
                    iteration,
                    error: error.in_units(c2, to_user_test),
                });
            }
            Ok(())
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
        // A read of V that failed (streamed V, DataOps::data_error) is the fit's error: after
        // every evaluation and every iteration, before anything computed from it is used.
        backend.data_error(v)?;
        history.push(record(0, prev.objective)?);
        held_out(&solver, 0)?;
        let mut converged = false;
        let mut n_iter = 0;
        for it in 1..=self.max_iter {
            match self.fixed {
                Fixed::None => solver.step(),
                Fixed::W => solver.update_h(),
                Fixed::H => solver.update_w(),
            }
            n_iter = it;
            backend.data_error(v)?;
            let mut now = None;
            if it % self.check_every == 0 || it == self.max_iter {
                let e = solver.evaluate();
                backend.data_error(v)?;
                history.push(record(it, e.objective)?);
                held_out(&solver, it)?;
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
        Ok(NmfModel::from_parts(
            w,
            h,
            self.loss,
            history,
            n_iter,
            converged,
            T::from_f64(prep.eps.as_f64() * c),
            penalty,
        )
        .with_holdout(holdout))
    }
}

#[cfg(test)]
mod tests {
    use core::ops::ControlFlow;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use crate::reference::Reference;
    use crate::{Fixed, Init, Loss, MatrixBackend, MatrixRole, Nmf, NmfError, Progress, Solver};

    fn data() -> Vec<f64> {
        (0..8 * 6).map(|i| ((i * 7) % 11) as f64 + 0.5).collect()
    }

    #[test]
    fn fit_is_fitting_run() {
        let b = Reference;
        let v = b.from_row_major(8, 6, &data()).unwrap();
        let p = Nmf::params(3).max_iter(40).check().unwrap();
        let short = p.fit(&b, &v).unwrap();
        let long = p.fitting(&b, &v).run().unwrap();
        assert_eq!(b.to_row_major(short.w()), b.to_row_major(long.w()));
        assert_eq!(short.loss_history(), long.loss_history());
        // The unchecked parameters: the same fit, and a parameter error from run.
        let unchecked = Nmf::params(3).max_iter(40).fitting(&b, &v).run().unwrap();
        assert_eq!(unchecked.loss_history(), short.loss_history());
        let err = Nmf::params(0).fitting(&b, &v).run().unwrap_err();
        assert_eq!(err, NmfError::ZeroRank);
    }

    /// A custom start is used as given: the first recorded loss is the loss at (W0, H0), and
    /// a fixed W stays W0 bit for bit; a wrong shape names the factor.
    #[test]
    fn custom_start() {
        let b = Reference;
        let v = b.from_row_major(8, 6, &data()).unwrap();
        let w0 = b.from_fn(8, 2, |i, j| (i + j) as f64 + 1.0);
        let h0 = b.from_fn(2, 6, |i, j| (2 * i + j) as f64 + 1.0);
        let p = Nmf::params(2)
            .solver(Solver::Mu)
            .max_iter(5)
            .fixed(Fixed::W)
            .check()
            .unwrap();
        let model = p.fitting(&b, &v).start(&w0, &h0).run().unwrap();
        assert_eq!(b.to_row_major(model.w()), b.to_row_major(&w0));
        // The loss at the start, computed here: ½‖V − W0H0‖² with small integers and halves,
        // every product and sum exact in f64 (all below 2^20), so the solver's evaluation
        // (the same operations, in another order) is exact too.
        let (vr, wr, hr) = (data(), b.to_row_major(&w0), b.to_row_major(&h0));
        let mut start = 0.0;
        for i in 0..8 {
            for j in 0..6 {
                let wh: f64 = (0..2).map(|a| wr[i * 2 + a] * hr[a * 6 + j]).sum();
                start += 0.5 * (vr[i * 6 + j] - wh).powi(2);
            }
        }
        assert_eq!(model.loss_history()[0].loss, start);
        let wrong = b.from_fn(7, 2, |_, _| 1.0);
        assert_eq!(
            p.fitting(&b, &v).start(&wrong, &h0).run().unwrap_err(),
            NmfError::ShapeMismatch {
                matrix: MatrixRole::W0,
                expected: (8, 2),
                found: (7, 2)
            }
        );
    }

    #[test]
    fn observer_sees_every_iteration_and_can_stop() {
        let b = Reference;
        let v = b.from_row_major(8, 6, &data()).unwrap();
        let p = Nmf::params(2)
            .max_iter(30)
            .tol(0.0)
            .check_every(10)
            .check()
            .unwrap();
        let mut seen = Vec::new();
        let model = p
            .fitting(&b, &v)
            .observer(|pr: &Progress| {
                seen.push((pr.iteration, pr.loss.is_some()));
                ControlFlow::Continue(())
            })
            .run()
            .unwrap();
        assert_eq!(seen.len(), 30);
        assert!(seen.iter().enumerate().all(|(i, &(it, _))| it == i + 1));
        let evaluated: Vec<usize> = seen.iter().filter(|s| s.1).map(|s| s.0).collect();
        assert_eq!(evaluated, [10, 20, 30]);
        assert_eq!(model.n_iter(), 30);
        let stop = |pr: &Progress| {
            if pr.iteration == 7 {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        };
        for err in [
            p.fitting(&b, &v).observer(stop).run().unwrap_err(),
            p.fitting(&b, &v)
                .threads(2)
                .observer(stop)
                .run()
                .unwrap_err(),
        ] {
            assert_eq!(err, NmfError::Interrupted { iteration: 7 });
        }
    }

    /// Restarts on threads give the sequential result bit for bit, for every thread count,
    /// and the observer (Fn + Sync there) is called once per iteration of every restart.
    #[test]
    fn threads_are_bit_identical_to_sequential() {
        let b = Reference;
        let v = b.from_row_major(8, 6, &data()).unwrap();
        for loss in [Loss::Frobenius, Loss::KullbackLeibler] {
            let p = Nmf::params(3)
                .loss(loss)
                .init(Init::Random)
                .n_init(5)
                .max_iter(25)
                .seed(3)
                .check()
                .unwrap();
            let mut seq_calls = 0;
            let seq = p
                .fitting(&b, &v)
                .observer(|_| {
                    seq_calls += 1;
                    ControlFlow::Continue(())
                })
                .run()
                .unwrap();
            for threads in [1, 2, 3, 8] {
                let calls = AtomicUsize::new(0);
                let par = p
                    .fitting(&b, &v)
                    .threads(threads)
                    .observer(|_| {
                        calls.fetch_add(1, Ordering::Relaxed);
                        ControlFlow::Continue(())
                    })
                    .run()
                    .unwrap();
                assert_eq!(b.to_row_major(seq.w()), b.to_row_major(par.w()));
                assert_eq!(b.to_row_major(seq.h()), b.to_row_major(par.h()));
                assert_eq!(seq.loss_history(), par.loss_history());
                assert_eq!(calls.into_inner(), seq_calls);
            }
        }
    }
}
