//! Epochs over the row blocks of V ([`MiniBatchValidParams::fit`],
//! [`MiniBatchValidParams::fit_batches`]) and the fitted model ([`MiniBatchModel`]).

use core::ops::Range;

use super::{BatchStep, MiniBatchValidParams, OnlineNmf};
use crate::{DataOps, DenseBackend, Loss, MatrixBackend, MatrixRole, NmfError, Scalar};

/// Where a minibatch fit is, given to the observer of
/// [`MiniBatchValidParams::fit_batches`] after every batch.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MiniBatchProgress {
    /// The epoch (pass over V), from 0.
    pub epoch: usize,
    /// Batches done, over all epochs.
    pub step: usize,
    /// Rows of V done in this epoch.
    pub rows_done: usize,
    /// Rows of V.
    pub rows: usize,
    /// The exponentially weighted average of the batch costs (scikit-learn's), if any.
    pub ewa_cost: Option<f64>,
    /// What the batch did.
    pub batch: BatchStep,
}

/// A fitted minibatch model: W (m×k, each row from the last visit of its batch), the
/// dictionary H (k×n), and how the fit ended.
pub struct MiniBatchModel<T: Scalar, B: MatrixBackend<T>> {
    w: B::Mat,
    online: OnlineNmf<T, B>,
    epochs: usize,
    converged: bool,
}

impl<T: Scalar, B: MatrixBackend<T>> MiniBatchModel<T, B> {
    /// W (m×k).
    pub fn w(&self) -> &B::Mat {
        &self.w
    }
    /// The dictionary H (k×n).
    pub fn h(&self) -> &B::Mat {
        self.online.h().expect("a fit saw at least one batch")
    }
    /// The online state at the end of the fit (to continue with
    /// [`OnlineNmf::partial_fit`], or to [`transform`](OnlineNmf::transform)).
    pub fn online(&self) -> &OnlineNmf<T, B> {
        &self.online
    }
    /// `(W, H, the online state)`.
    pub fn into_parts(self) -> (B::Mat, OnlineNmf<T, B>) {
        (self.w, self.online)
    }
    /// Epochs started.
    pub fn epochs(&self) -> usize {
        self.epochs
    }
    /// Batches done.
    pub fn steps(&self) -> usize {
        self.online.steps()
    }
    /// Whether a stopping rule (`tol` or `max_no_improvement`) ended the fit before
    /// `max_iter` epochs.
    pub fn converged(&self) -> bool {
        self.converged
    }
    /// The lower bound ε.
    pub fn eps(&self) -> T {
        self.online.eps()
    }
    /// The loss.
    pub fn loss(&self) -> Loss {
        self.online.loss()
    }
}

impl<T: Scalar, B: MatrixBackend<T>> core::fmt::Debug for MiniBatchModel<T, B> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("MiniBatchModel")
            .field("online", &self.online)
            .field("epochs", &self.epochs)
            .field("converged", &self.converged)
            .finish_non_exhaustive()
    }
}

/// scikit-learn's stopping rules after each batch but the first.
#[derive(Default)]
struct Convergence {
    ewa: Option<f64>,
    ewa_min: Option<f64>,
    no_improvement: usize,
}

impl Convergence {
    /// Whether to stop after `step` (from 1) with a batch of `rows` of a V of `m` rows.
    fn stop(&mut self, p: &MiniBatchValidParams, step: usize, s: &BatchStep, m: usize) -> bool {
        if step == 1 {
            return false;
        }
        let ewa = match self.ewa {
            None => s.batch_cost,
            Some(e) => {
                let alpha = (s.rows as f64 / (m as f64 + 1.0)).min(1.0);
                e * (1.0 - alpha) + s.batch_cost * alpha
            }
        };
        self.ewa = Some(ewa);
        if p.tol > 0.0 && s.h_change <= p.tol {
            return true;
        }
        match self.ewa_min {
            Some(min) if ewa >= min => self.no_improvement += 1,
            _ => {
                self.no_improvement = 0;
                self.ewa_min = Some(ewa);
            }
        }
        p.max_no_improvement
            .is_some_and(|max| self.no_improvement >= max)
    }
}

/// Adds `offset` to the row of a data error found within a batch.
fn shift_row(e: NmfError, offset: usize) -> NmfError {
    match e {
        NmfError::NegativeEntry {
            matrix,
            row,
            col,
            value,
        } => NmfError::NegativeEntry {
            matrix,
            row: row + offset,
            col,
            value,
        },
        NmfError::NonFiniteEntry {
            matrix,
            row,
            col,
            value,
        } => NmfError::NonFiniteEntry {
            matrix,
            row: row + offset,
            col,
            value,
        },
        NmfError::ZeroEntryForBeta { row, col, beta } => NmfError::ZeroEntryForBeta {
            row: row + offset,
            col,
            beta,
        },
        other => other,
    }
}

impl MiniBatchValidParams {
    /// Fits a dense V (m×n) by epochs over its blocks of `batch_size` rows, in order (see
    /// [`fit_batches`](Self::fit_batches)). The row blocks are copied out of V (one copy of
    /// V in row-major order is made first).
    ///
    /// # Errors
    /// As [`fit_batches`](Self::fit_batches).
    pub fn fit<T: Scalar, B: DenseBackend<T>>(
        &self,
        b: &B,
        v: &B::Mat,
    ) -> Result<MiniBatchModel<T, B>, NmfError> {
        let (m, n) = b.shape(v);
        let rows = b.to_row_major(v);
        self.fit_batches(
            b,
            m,
            n,
            |r: Range<usize>| b.from_row_major(r.len(), n, &rows[r.start * n..r.end * n]),
            |_| true,
        )
    }

    /// Fits a V of m rows and n columns given by its row blocks: `batch(range)` returns rows
    /// `range` of V in any data type with a data term (dense `B::Mat`, or
    /// [`SparseData`](crate::sparse::SparseData)), read from memory or from a file. Epochs go
    /// over the blocks `0..b, b..2b, …` in order; in the first epoch (and in every epoch with
    /// `fresh_restarts`) each block's W_b is solved afresh as in
    /// [`OnlineNmf::partial_fit`], later from its previous value with one MM step. After
    /// every batch but the first, the fit stops when the relative change of H is at most
    /// `tol` or after `max_no_improvement` batches without a lower smoothed batch cost (its
    /// exponentially weighted average with weight r/(m+1), as scikit-learn's). When that
    /// happens within the first epoch, the rows not reached yet get their W from
    /// [`OnlineNmf::transform`] with the final H (their blocks are read once more, H is not
    /// updated by them), so every row of W is fitted and ≥ ε. `observer` sees every batch
    /// (not those transforms) and stops the fit by returning `false`.
    ///
    /// # Errors
    /// [`NmfError::EmptyMatrix`] for m or n = 0; the errors of `batch`; the data errors of
    /// [`OnlineNmf::partial_fit`] with rows counted in V; [`NmfError::Interrupted`] (with the
    /// batches done) when the observer returns `false`.
    pub fn fit_batches<T, B, V, F, O>(
        &self,
        b: &B,
        m: usize,
        n: usize,
        mut batch: F,
        mut observer: O,
    ) -> Result<MiniBatchModel<T, B>, NmfError>
    where
        T: Scalar,
        B: DataOps<T, V>,
        F: FnMut(Range<usize>) -> Result<V, NmfError>,
        O: FnMut(&MiniBatchProgress) -> bool,
    {
        if m == 0 || n == 0 {
            return Err(NmfError::EmptyMatrix {
                matrix: MatrixRole::V,
                rows: m,
                cols: n,
            });
        }
        let k = self.rank;
        let mk = m.checked_mul(k).ok_or(NmfError::RankTooLarge {
            rank: k,
            rows: m,
            cols: n,
            bytes: None,
            gram: false,
        })?;
        let mut online = self.online::<T, B>(n)?.with_total_rows(m);
        let mut w_all = vec![T::zero(); mk];
        let size = self.batch_size.min(m);
        let mut conv = Convergence::default();
        let (mut converged, mut epochs) = (false, 0);
        // Rows whose W_b has been solved at least once.
        let mut reached = 0;
        'epochs: for epoch in 0..self.max_iter {
            epochs = epoch + 1;
            for start in (0..m).step_by(size) {
                let end = (start + size).min(m);
                let v_b = batch(start..end)?;
                let w_start = if epoch > 0 && !self.fresh_restarts {
                    Some(b.from_row_major(end - start, k, &w_all[start * k..end * k])?)
                } else {
                    None
                };
                let (w_b, s) = online
                    .step(b, &v_b, w_start)
                    .map_err(|e| shift_row(e, start))?;
                b.copy_to_row_major(&w_b, &mut w_all[start * k..end * k]);
                reached = reached.max(end);
                let stop = conv.stop(self, online.steps(), &s, m);
                let progress = MiniBatchProgress {
                    epoch,
                    step: online.steps(),
                    rows_done: end,
                    rows: m,
                    ewa_cost: conv.ewa,
                    batch: s,
                };
                if !observer(&progress) {
                    return Err(NmfError::Interrupted {
                        iteration: online.steps(),
                    });
                }
                if stop {
                    converged = true;
                    break 'epochs;
                }
            }
        }
        // A stopping rule that ends the first epoch early leaves rows never reached: their W
        // is solved with the final H (`transform`, no dictionary update), so that every row
        // has a W ≥ ε fitted to its data.
        for start in (reached..m).step_by(size) {
            let end = (start + size).min(m);
            let v_b = batch(start..end)?;
            let w_b = online.transform(b, &v_b).map_err(|e| shift_row(e, start))?;
            b.copy_to_row_major(&w_b, &mut w_all[start * k..end * k]);
        }
        Ok(MiniBatchModel {
            w: b.from_row_major(m, k, &w_all)?,
            online,
            epochs,
            converged,
        })
    }
}
