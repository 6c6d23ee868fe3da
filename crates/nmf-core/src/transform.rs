//! New data with a fitted model: [`NmfModel::transform`] (H for new columns with W fixed, by
//! the driver with [`Fixed::W`]), its options ([`Transforming`], [`TransformParams`]), and
//! [`NmfModel::inverse_transform`].

use core::ops::ControlFlow;

use crate::driver::{NoObserver, Progress};
use crate::update::check_data;
use crate::{
    DataOps, Fixed, MatrixBackend, MatrixRole, Nmf, NmfError, NmfModel, NmfValidParams, Penalty,
    Scalar,
};

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

/// A transform with options, from [`NmfModel::transforming`]: set what differs from the
/// defaults, then [`run`](Self::run).
///
/// - [`params`](Self::params): the iteration budget and stopping rule ([`TransformParams`]);
/// - [`start`](Self::start): a given H0 (k×n′) instead of scikit-learn's constant start;
/// - [`observer`](Self::observer): called after every H half-step with a [`Progress`]
///   (`ControlFlow::Break(())` stops with [`NmfError::Interrupted`]); any `FnMut`, as a
///   transform is a single fit on the calling thread.
///
/// ```
/// use core::ops::ControlFlow;
/// use nmf_core::{MatrixBackend, Nmf, NmfError, TransformParams, reference::Reference};
/// let b = Reference;
/// let v = b.from_fn(4, 3, |i, j| (i + j) as f64 + 1.0);
/// let model = Nmf::params(2).max_iter(50).fit(&b, &v).unwrap();
/// let stop = |pr: &nmf_core::Progress| {
///     if pr.iteration == 5 { ControlFlow::Break(()) } else { ControlFlow::Continue(()) }
/// };
/// let err = model
///     .transforming(&b, &v)
///     .params(TransformParams::default().max_iter(30).tol(0.0))
///     .observer(stop)
///     .run()
///     .unwrap_err();
/// assert_eq!(err, NmfError::Interrupted { iteration: 5 });
/// // From the fit's own H, one half-step keeps it near the fit's.
/// let h = model
///     .transforming(&b, &v)
///     .params(TransformParams::default().max_iter(1))
///     .start(model.h())
///     .run()
///     .unwrap();
/// assert_eq!(b.shape(&h), (2, 3));
/// ```
#[must_use = "a Transforming does nothing until it is run"]
pub struct Transforming<'a, T: Scalar, B: MatrixBackend<T>, V, O = NoObserver> {
    model: &'a NmfModel<T, B>,
    backend: &'a B,
    x: &'a V,
    params: TransformParams,
    start: Option<&'a B::Mat>,
    observer: O,
}

impl<'a, T: Scalar, B: MatrixBackend<T>, V, O> Transforming<'a, T, B, V, O> {
    /// The iteration budget and stopping rule (default [`TransformParams::default`]).
    pub fn params(mut self, params: TransformParams) -> Self {
        self.params = params;
        self
    }
    /// Starts from H0 (k×n′; copied, entries below ε lifted to ε) instead of every entry
    /// equal to `√(mean(X)/k)`. [`run`](Self::run) reports an H0 of the wrong shape, or with
    /// negative or non-finite entries, as for a fit's initial H.
    pub fn start(mut self, h0: &'a B::Mat) -> Self {
        self.start = Some(h0);
        self
    }
    /// Calls `observer` after every H half-step, as [`Fitting::observer`](crate::Fitting::observer)
    /// does after every iteration.
    pub fn observer<F>(self, observer: F) -> Transforming<'a, T, B, V, F>
    where
        F: FnMut(&Progress) -> ControlFlow<()>,
    {
        Transforming {
            model: self.model,
            backend: self.backend,
            x: self.x,
            params: self.params,
            start: self.start,
            observer,
        }
    }
}

impl<T: Scalar, B: DataOps<T, V>, V, O> Transforming<'_, T, B, V, O>
where
    O: FnMut(&Progress) -> ControlFlow<()>,
{
    /// Runs the transform: H for X (see [`NmfModel::transform`]).
    ///
    /// # Errors
    /// As [`NmfModel::transform`]; errors for H0 as for a fit's initial H;
    /// [`NmfError::Interrupted`] when the observer stops it.
    pub fn run(self) -> Result<B::Mat, NmfError> {
        let Transforming {
            model,
            backend,
            x,
            params,
            start,
            observer,
        } = self;
        model.check_rows(backend, x)?;
        let p = model.transform_params(backend, &params)?;
        let fitting = p.fitting(backend, x).observer(observer);
        let model = match start {
            Some(h0) => fitting.start(model.w(), h0).run()?,
            None => {
                let n = backend.data_shape(x).1;
                let k = backend.ncols(model.w());
                // (The mean of the observed entries for masked data: DataOps::data_mean.)
                let mean = backend.data_mean(x);
                let start = T::from_f64((mean / k as f64).sqrt());
                let h0 = backend.from_fn(k, n, |_, _| start);
                fitting.start(model.w(), &h0).run()?
            }
        };
        Ok(model.into_factors().1)
    }
}

impl<T: Scalar, B: MatrixBackend<T>> NmfModel<T, B> {
    fn transform_params(
        &self,
        backend: &B,
        p: &TransformParams,
    ) -> Result<NmfValidParams, NmfError> {
        Nmf::params(backend.ncols(self.w()))
            .loss(self.loss())
            .max_iter(p.max_iter)
            .tol(p.tol)
            .check_every(p.check_every)
            .eps(self.eps().as_f64())
            .fixed(Fixed::W)
            .raise_eps()
            .penalty_weights(Penalty {
                l1_h: self.penalty().l1_h,
                l2_h: self.penalty().l2_h,
                ..Penalty::default()
            })
            .check()
    }

    fn check_rows<V>(&self, backend: &B, x: &V) -> Result<(), NmfError>
    where
        B: DataOps<T, V>,
    {
        let (m, n) = check_data(backend, x)?;
        let rows = backend.nrows(self.w());
        if m != rows {
            return Err(NmfError::ShapeMismatch {
                matrix: MatrixRole::V,
                expected: (rows, n),
                found: (m, n),
            });
        }
        Ok(())
    }

    /// H for new data X (m×n′, the same m rows as the training data) with W fixed, with the
    /// default [`TransformParams`]: the short form of
    /// [`transforming`](Self::transforming)`(backend, x).run()`.
    ///
    /// It runs the multiplicative H-updates of the model's loss and ε (raised to the lower
    /// end of [`NmfValidParams::eps_range`] for X if below it, as for an `f64` model applied
    /// in `f32`), from every entry equal to `√(mean(X)/k)` (scikit-learn's start; ε for an
    /// all-zero X), for at most `max_iter` half-steps, under the fit's penalty on H. The
    /// columns of X are the new samples.
    ///
    /// ```
    /// use nmf_core::{MatrixBackend, Nmf, TransformParams, reference::Reference};
    /// let b = Reference;
    /// let v = b.from_row_major(2, 3, &[1.0_f64, 2.0, 3.0, 2.0, 4.0, 6.0]).unwrap();
    /// let model = Nmf::params(1).max_iter(500).tol(0.0).fit(&b, &v).unwrap();
    /// let x = b.from_row_major(2, 1, &[5.0, 10.0]).unwrap(); // a new column, 5 × the pattern
    /// let h = model.transform(&b, &x).unwrap();
    /// let back = b.to_row_major(&model.inverse_transform(&b, &h).unwrap());
    /// assert!((back[0] - 5.0).abs() < 1e-3 && (back[1] - 10.0).abs() < 1e-3);
    /// // With options: no early stop.
    /// let p = TransformParams::default().tol(0.0);
    /// let h = model.transforming(&b, &x).params(p).run().unwrap();
    /// let back = b.to_row_major(&model.inverse_transform(&b, &h).unwrap());
    /// assert!((back[0] - 5.0).abs() < 1e-6 && (back[1] - 10.0).abs() < 1e-6);
    /// ```
    ///
    /// # Errors
    /// As a fit for X (empty, negative or non-finite entries, zeros with β ≤ 0),
    /// [`NmfError::ShapeMismatch`] if X does not have m rows.
    pub fn transform<V>(&self, backend: &B, x: &V) -> Result<B::Mat, NmfError>
    where
        B: DataOps<T, V>,
    {
        self.transforming(backend, x).run()
    }

    /// A transform with options (its own [`TransformParams`], a start H0, an observer): see
    /// [`Transforming`].
    pub fn transforming<'a, V>(&'a self, backend: &'a B, x: &'a V) -> Transforming<'a, T, B, V> {
        Transforming {
            model: self,
            backend,
            x,
            params: TransformParams::default(),
            start: None,
            observer: crate::driver::no_observer,
        }
    }

    /// W·H for an H (k×n′) from [`transform`](Self::transform): the data the model
    /// reconstructs from it.
    ///
    /// # Errors
    /// [`NmfError::ShapeMismatch`] if H does not have k rows.
    pub fn inverse_transform(&self, backend: &B, h: &B::Mat) -> Result<B::Mat, NmfError> {
        let (m, k) = backend.shape(self.w());
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
            self.w(),
            crate::Trans::No,
            h,
            crate::Trans::No,
        );
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use core::ops::ControlFlow;

    use crate::reference::Reference;
    use crate::{MatrixBackend, MatrixRole, Nmf, NmfError, Progress, TransformParams};

    #[test]
    fn transform_options() {
        let b = Reference;
        let v = b.from_fn(5, 4, |i, j| ((i * 4 + j) % 5) as f64 + 1.0);
        let model = Nmf::params(2).max_iter(60).fit(&b, &v).unwrap();
        let x = b.from_fn(5, 3, |i, j| (i + j) as f64 + 0.5);
        // The short form is the builder with the defaults.
        let short = model.transform(&b, &x).unwrap();
        let long = model
            .transforming(&b, &x)
            .params(TransformParams::default())
            .run()
            .unwrap();
        assert_eq!(b.to_row_major(&short), b.to_row_major(&long));
        // The observer sees every half-step of the budget (tol 0 runs them all).
        let mut seen = 0;
        let h = model
            .transforming(&b, &x)
            .params(TransformParams::default().max_iter(17).tol(0.0))
            .observer(|p: &Progress| {
                seen += 1;
                assert_eq!(p.max_iter, 17);
                ControlFlow::Continue(())
            })
            .run()
            .unwrap();
        assert_eq!((seen, b.shape(&h)), (17, (2, 3)));
        // A start is used: from the model's own H on the training data, with no half-step
        // budget left to move it far, the first half-step starts there (the default start
        // would give another H).
        let one = TransformParams::default().max_iter(1);
        let from_h = model
            .transforming(&b, &v)
            .params(one)
            .start(model.h())
            .run()
            .unwrap();
        let from_default = model.transforming(&b, &v).params(one).run().unwrap();
        assert_ne!(b.to_row_major(&from_h), b.to_row_major(&from_default));
        let wrong = b.from_fn(3, 4, |_, _| 1.0);
        assert!(matches!(
            model.transforming(&b, &v).start(&wrong).run(),
            Err(NmfError::ShapeMismatch {
                matrix: MatrixRole::H0,
                expected: (2, 4),
                found: (3, 4)
            })
        ));
    }
}
