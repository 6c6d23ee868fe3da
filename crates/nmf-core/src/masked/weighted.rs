//! A dense V with a dense weight matrix ([`Weighted`]) and its data term: the β-form
//! statistics `Wᵀ(M∘V∘Λ^(β−2))`, `Wᵀ(M∘Λ^(β−1))` from the backend's products, O(m·n·k) per
//! half-step as dense V's, with two m×n buffers allocated once per fit.
//!
//! Every weight 1 (a full mask) is not weighted data: the data term then forwards every call to
//! the dense data term ([`crate::data::dense`]), so a fit gives the unmasked fit bit for bit.

use super::weighted_parts;
use crate::data::DataEvaluation;
use crate::data::dense::{self, DenseWork};
use crate::kernels::beta_term;
use crate::{
    Accum, DataOps, Loss, MatrixBackend, MatrixRole, NmfError, Scalar, Trans, TruncatedSvd,
};

/// A dense data matrix V (m×n) with non-negative weights M (m×n) of its entries: the loss of a
/// fit is `Σ_ij M_ij·d(V_ij, (WH)_ij)`. A 0/1 mask is the special case of missing values (the
/// value of V where M is 0 plays no part: any finite value ≥ 0 will do).
///
/// ```
/// use nmf_core::{MatrixBackend, Nmf, Solver, masked::Weighted, reference::Reference};
/// let b = Reference;
/// let v = b.from_row_major(2, 2, &[1.0_f64, 2.0, 3.0, 0.0]).unwrap();
/// let mask = b.from_row_major(2, 2, &[1.0, 1.0, 1.0, 0.0]).unwrap(); // (1, 1) missing
/// let data = Weighted::new(&b, v, mask).unwrap();
/// let model = Nmf::params(1).solver(Solver::Mu).max_iter(500).fit(&b, &data).unwrap();
/// // A rank-one matrix through the three observed entries predicts 6 at (1, 1).
/// let p = model.predict(&b, &[1], &[1]).unwrap();
/// assert!((p[0] - 6.0).abs() < 1e-2, "{p:?}");
/// ```
#[derive(Debug, Clone)]
pub struct Weighted<M> {
    v: M,
    weights: M,
    all_ones: bool,
}

impl<M> Weighted<M> {
    /// Checks V and its weights.
    ///
    /// # Errors
    /// [`NmfError::EmptyMatrix`] for an empty V; [`NmfError::ShapeMismatch`] (matrix
    /// [`MatrixRole::Weights`]) when the weights do not have V's shape;
    /// [`NmfError::NegativeEntry`] or [`NmfError::NonFiniteEntry`] naming the first bad entry
    /// of V or of the weights (row-major order); [`NmfError::NothingObserved`] when every weight
    /// is 0.
    pub fn new<T: Scalar, B: MatrixBackend<T, Mat = M>>(
        b: &B,
        v: M,
        weights: M,
    ) -> Result<Self, NmfError> {
        let (m, n) = b.shape(&v);
        if m == 0 || n == 0 {
            return Err(NmfError::EmptyMatrix {
                matrix: MatrixRole::V,
                rows: m,
                cols: n,
            });
        }
        let found = b.shape(&weights);
        if found != (m, n) {
            return Err(NmfError::ShapeMismatch {
                matrix: MatrixRole::Weights,
                expected: (m, n),
                found,
            });
        }
        for (matrix, a) in [(MatrixRole::V, &v), (MatrixRole::Weights, &weights)] {
            if let Some((i, j, x)) = b.first_invalid(a) {
                crate::sparse::csr::check_entry(matrix, i, j, x)?;
            }
        }
        if b.sum(&weights) == 0.0 {
            return Err(NmfError::NothingObserved {
                data: "the weights",
            });
        }
        let not_one = b.reduce(&[&weights], &|_, s, acc| {
            for &x in s[0] {
                if x != T::one() {
                    acc.add(1.0);
                }
            }
        });
        Ok(Self {
            v,
            weights,
            all_ones: not_one == 0.0,
        })
    }

    /// V.
    pub fn v(&self) -> &M {
        &self.v
    }
    /// The weights.
    pub fn weights(&self) -> &M {
        &self.weights
    }
    /// Whether every weight is 1 (then the fit is the unweighted fit, bit for bit).
    pub fn is_full(&self) -> bool {
        self.all_ones
    }
}

/// The buffers of a weighted data term: the dense term's when every weight is 1, else two m×n
/// matrices (WH and the weighted parts).
#[derive(Debug, Clone)]
pub struct WeightedWork<T, M> {
    dense: Option<DenseWork<T, M>>,
    a: M,
    b: M,
}

const NOT_WEIGHTED: &str = "weighted data: the rules ask for the β statistics \
                            (DataOps::data_weighted), and the others refuse it";

/// `work.a ← WH`.
fn form_wh<T: Scalar, B: MatrixBackend<T>>(
    b: &B,
    work: &mut WeightedWork<T, B::Mat>,
    w: &B::Mat,
    h: &B::Mat,
) {
    b.matmul(
        &mut work.a,
        Accum::Replace,
        T::one(),
        w,
        Trans::No,
        h,
        Trans::No,
    );
}

/// `Σ f(v, m, λ)` over the entries of positive weight m, with λ the entry of `wh`, in `f64`:
/// one pass over V, the weights and WH.
fn weighted_sum<T: Scalar, B: MatrixBackend<T>>(
    b: &B,
    v: &Weighted<B::Mat>,
    wh: &B::Mat,
    f: &(dyn Fn(f64, f64, f64) -> f64 + Sync),
) -> f64 {
    b.reduce(&[&v.v, &v.weights, wh], &|_, s, acc| {
        for ((&x, &m), &l) in s[0].iter().zip(s[1]).zip(s[2]) {
            if m != T::zero() {
                acc.add(f(x.as_f64(), m.as_f64(), l.as_f64()));
            }
        }
    })
}

/// M∘V, a new m×n matrix (for the products of the randomized SVD of the start).
fn weighted_v<T: Scalar, B: MatrixBackend<T>>(b: &B, v: &Weighted<B::Mat>) -> B::Mat {
    let mut t = b.zeros_like(&v.v);
    b.zip_mut(&mut [&mut t], &[&v.v, &v.weights], &|_, o, i| {
        for ((o, &x), &m) in o[0].iter_mut().zip(i[0]).zip(i[1]) {
            *o = x * m;
        }
    });
    t
}

/// Which half-step's statistics.
#[derive(Clone, Copy)]
enum Half {
    /// H's: `num = Wᵀ(M∘V∘Λ^(β−2))`, `den = Wᵀ(M∘Λ^(β−1))` (k×n).
    H,
    /// W's: `num = (M∘V∘Λ^(β−2))Hᵀ`, `den = (M∘Λ^(β−1))Hᵀ` (m×k).
    W,
}

/// The β statistics of one half-step: `work.a ← M∘V∘Λ^(β−2)`, `work.b ← M∘Λ^(β−1)` with
/// Λ = WH, then their products with W (`Half::H`) or H (`Half::W`) into `num` and `den`.
#[allow(clippy::too_many_arguments)]
fn beta_stats<T: Scalar, B: MatrixBackend<T>>(
    b: &B,
    v: &Weighted<B::Mat>,
    work: &mut WeightedWork<T, B::Mat>,
    w: &B::Mat,
    h: &B::Mat,
    beta: f64,
    (num, den): (&mut B::Mat, &mut B::Mat),
    half: Half,
) {
    form_wh(b, work, w, h);
    b.zip_mut(
        &mut [&mut work.a, &mut work.b],
        &[&v.v, &v.weights],
        &|_, o, i| {
            let (oa, ob) = o.split_at_mut(1);
            for (((a, bb), &x), &m) in oa[0].iter_mut().zip(ob[0].iter_mut()).zip(i[0]).zip(i[1]) {
                (*a, *bb) = weighted_parts(x, *a, m, beta);
            }
        },
    );
    for (out, part) in [(num, &work.a), (den, &work.b)] {
        match half {
            Half::H => b.matmul(
                out,
                Accum::Replace,
                T::one(),
                w,
                Trans::Yes,
                part,
                Trans::No,
            ),
            Half::W => b.matmul(
                out,
                Accum::Replace,
                T::one(),
                part,
                Trans::No,
                h,
                Trans::Yes,
            ),
        }
    }
}

impl<T: Scalar, B: MatrixBackend<T>> DataOps<T, Weighted<B::Mat>> for B {
    type Work = WeightedWork<T, B::Mat>;

    fn data_shape(&self, v: &Weighted<B::Mat>) -> (usize, usize) {
        self.shape(&v.v)
    }
    fn data_first_invalid(&self, v: &Weighted<B::Mat>) -> Option<(usize, usize, T)> {
        self.first_invalid(&v.v)
    }
    fn data_sum(&self, v: &Weighted<B::Mat>) -> f64 {
        if v.all_ones {
            return self.sum(&v.v);
        }
        self.reduce(&[&v.v, &v.weights], &|_, s, acc| {
            for (&x, &m) in s[0].iter().zip(s[1]) {
                acc.add(x.as_f64() * m.as_f64());
            }
        })
    }
    fn data_mean(&self, v: &Weighted<B::Mat>) -> f64 {
        let (m, n) = self.shape(&v.v);
        if v.all_ones {
            return self.data_sum(v) / (m as f64 * n as f64);
        }
        self.data_sum(v) / self.sum(&v.weights)
    }
    fn data_weighted(&self, v: &Weighted<B::Mat>) -> bool {
        !v.all_ones
    }
    fn data_holdout(
        &self,
        v: &Weighted<B::Mat>,
        fraction: f64,
        seed: u64,
    ) -> Result<(Weighted<B::Mat>, Weighted<B::Mat>), NmfError> {
        // The entries of positive weight are the observed ones: a fraction of them keep their
        // weight in the test set and get weight 0 for training.
        let (m, n) = self.shape(&v.v);
        let weights = self.to_row_major(&v.weights);
        let observed: Vec<usize> = (0..m * n).filter(|&p| weights[p] > T::zero()).collect();
        let count = (fraction * observed.len() as f64).round() as usize;
        if !(fraction > 0.0 && fraction < 1.0) || count == 0 || count == observed.len() {
            return Err(NmfError::InvalidHoldout {
                reason: format!(
                    "a fraction {fraction} of {} entries of positive weight holds out {count}: \
                     both the training and the held-out set need at least one entry",
                    observed.len()
                ),
            });
        }
        let mut rng = <rand_chacha::ChaCha8Rng as rand::SeedableRng>::seed_from_u64(seed);
        let mut train = weights.clone();
        let mut test = vec![T::zero(); m * n];
        for q in rand::seq::index::sample(&mut rng, observed.len(), count) {
            let p = observed[q];
            test[p] = weights[p];
            train[p] = T::zero();
        }
        let make = |w: &[T]| -> Result<Weighted<B::Mat>, NmfError> {
            Weighted::new(self, v.v.clone(), self.from_row_major(m, n, w)?)
        };
        Ok((make(&train)?, make(&test)?))
    }
    fn data_errors(
        &self,
        v: &Weighted<B::Mat>,
        work: &mut Self::Work,
        w: &Self::Mat,
        h: &Self::Mat,
        loss: Loss,
    ) -> Option<super::HoldoutError> {
        if v.all_ones {
            // (Not a held-out set: every entry observed; its work has no m×n buffer.)
            return None;
        }
        let beta = loss.beta_value();
        form_wh(self, work, w, h);
        let sum = |f: &(dyn Fn(f64, f64, f64) -> f64 + Sync)| weighted_sum(self, v, &work.a, f);
        let total = sum(&|_, m, _| m);
        Some(super::HoldoutError {
            count: sum(&|_, _, _| 1.0) as usize,
            rmse: (sum(&|x, m, l| m * (x - l) * (x - l)) / total).sqrt(),
            mae: sum(&|x, m, l| m * (x - l).abs()) / total,
            divergence: sum(&|x, m, l| m * beta_term(x, l, beta)) / total,
        })
    }
    fn data_truncated_svd(&self, v: &Weighted<B::Mat>, k: usize) -> Option<TruncatedSvd<T>> {
        if v.all_ones {
            self.truncated_svd(&v.v, k)
        } else {
            None
        }
    }
    fn data_first_zero(&self, v: &Weighted<B::Mat>) -> Option<(usize, usize)> {
        if v.all_ones {
            return self.first_zero(&v.v);
        }
        // The first 0 of V with a positive weight, in row-major order.
        let mut best: Option<(usize, usize)> = None;
        self.visit(&[&v.v, &v.weights], &mut |run, s| {
            for (t, (&x, &m)) in s[0].iter().zip(s[1]).enumerate() {
                if x == T::zero() && m > T::zero() {
                    let at = match run.axis {
                        crate::RunAxis::Row => (run.row, run.col + t),
                        crate::RunAxis::Column => (run.row + t, run.col),
                    };
                    if best.is_none_or(|b| at < b) {
                        best = Some(at);
                    }
                }
            }
        });
        best
    }
    fn wt_x(&self, dst: &mut Self::Mat, w: &Self::Mat, v: &Weighted<B::Mat>) {
        let t = weighted_v(self, v);
        self.matmul(dst, Accum::Replace, T::one(), w, Trans::Yes, &t, Trans::No);
    }
    fn x_ht(&self, dst: &mut Self::Mat, v: &Weighted<B::Mat>, h: &Self::Mat) {
        let t = weighted_v(self, v);
        self.matmul(dst, Accum::Replace, T::one(), &t, Trans::No, h, Trans::Yes);
    }
    fn data_scaled(&self, v: &Weighted<B::Mat>, d: T) -> Option<Weighted<B::Mat>> {
        let (m, n) = self.shape(&v.v);
        let mut out = self.from_fn(m, n, |_, _| d);
        // out ← v / out, exactly 0 where v is 0 (as dense V's data_scaled).
        self.kl_ratio_in_place(&mut out, &v.v);
        Some(Weighted {
            v: out,
            weights: v.weights.clone(),
            all_ones: v.all_ones,
        })
    }
    fn data_to_row_major(&self, v: &Weighted<B::Mat>, out: &mut [T]) -> bool {
        if v.all_ones {
            self.copy_to_row_major(&v.v, out);
        }
        v.all_ones
    }
    fn data_bytes(
        &self,
        v: &Weighted<B::Mat>,
        _k: usize,
        loss: Loss,
        scaled: bool,
        svd: bool,
    ) -> Option<usize> {
        let (m, n) = self.shape(&v.v);
        let mn = m.checked_mul(n)?;
        let copies = if v.all_ones {
            1 + usize::from(!matches!(loss, Loss::Frobenius | Loss::KullbackLeibler))
        } else {
            2
        } + 2 * usize::from(scaled);
        let scalars = mn.checked_mul(copies)?.checked_mul(size_of::<T>())?;
        scalars.checked_add(if svd { mn.checked_mul(8)? } else { 0 })
    }
    fn data_work(&self, v: &Weighted<B::Mat>, k: usize, loss: Loss) -> Self::Work {
        if v.all_ones {
            WeightedWork {
                dense: Some(dense::work(self, &v.v, k, loss)),
                a: self.zeros(0, 0),
                b: self.zeros(0, 0),
            }
        } else {
            WeightedWork {
                dense: None,
                a: self.zeros_like(&v.v),
                b: self.zeros_like(&v.v),
            }
        }
    }
    fn frobenius_stats_h(
        &self,
        v: &Weighted<B::Mat>,
        _work: &mut Self::Work,
        w: &Self::Mat,
        num: &mut Self::Mat,
        gram: &mut Self::Mat,
    ) {
        assert!(v.all_ones, "{NOT_WEIGHTED}");
        dense::frobenius_stats_h(self, &v.v, w, num, gram)
    }
    fn frobenius_stats_w(
        &self,
        v: &Weighted<B::Mat>,
        _work: &mut Self::Work,
        h: &Self::Mat,
        num: &mut Self::Mat,
        gram: &mut Self::Mat,
    ) {
        assert!(v.all_ones, "{NOT_WEIGHTED}");
        dense::frobenius_stats_w(self, &v.v, h, num, gram)
    }
    fn kl_stats_h(
        &self,
        v: &Weighted<B::Mat>,
        work: &mut Self::Work,
        w: &Self::Mat,
        h: &Self::Mat,
        num: &mut Self::Mat,
        sums: &mut [T],
    ) {
        let d = work.dense.as_mut().expect(NOT_WEIGHTED);
        dense::kl_stats_h(self, &v.v, d, w, h, num, sums)
    }
    fn kl_stats_w(
        &self,
        v: &Weighted<B::Mat>,
        work: &mut Self::Work,
        w: &Self::Mat,
        h: &Self::Mat,
        num: &mut Self::Mat,
        sums: &mut [T],
    ) {
        let d = work.dense.as_mut().expect(NOT_WEIGHTED);
        dense::kl_stats_w(self, &v.v, d, w, h, num, sums)
    }
    fn beta_stats_h(
        &self,
        v: &Weighted<B::Mat>,
        work: &mut Self::Work,
        w: &Self::Mat,
        h: &Self::Mat,
        beta: T,
        num: &mut Self::Mat,
        den: &mut Self::Mat,
    ) {
        if let Some(d) = work.dense.as_mut() {
            return dense::beta_stats_h(self, &v.v, d, w, h, beta, num, den);
        }
        beta_stats(self, v, work, w, h, beta.as_f64(), (num, den), Half::H);
    }
    fn beta_stats_w(
        &self,
        v: &Weighted<B::Mat>,
        work: &mut Self::Work,
        w: &Self::Mat,
        h: &Self::Mat,
        beta: T,
        num: &mut Self::Mat,
        den: &mut Self::Mat,
    ) {
        if let Some(d) = work.dense.as_mut() {
            return dense::beta_stats_w(self, &v.v, d, w, h, beta, num, den);
        }
        beta_stats(self, v, work, w, h, beta.as_f64(), (num, den), Half::W);
    }
    fn data_loss(
        &self,
        v: &Weighted<B::Mat>,
        work: &mut Self::Work,
        w: &Self::Mat,
        h: &Self::Mat,
        loss: Loss,
    ) -> f64 {
        if let Some(d) = work.dense.as_mut() {
            return dense::loss(self, &v.v, d, w, h, loss);
        }
        self.data_evaluate(v, work, w, h, loss).loss
    }
    fn data_evaluate(
        &self,
        v: &Weighted<B::Mat>,
        work: &mut Self::Work,
        w: &Self::Mat,
        h: &Self::Mat,
        loss: Loss,
    ) -> DataEvaluation {
        if let Some(d) = work.dense.as_mut() {
            return dense::evaluate(self, &v.v, d, w, h, loss);
        }
        let beta = loss.beta_value();
        form_wh(self, work, w, h);
        // One pass per sum (an evaluation is every check_every iterations).
        let sum = |f: &(dyn Fn(f64, f64, f64) -> f64 + Sync)| weighted_sum(self, v, &work.a, f);
        let value = sum(&|x, m, l| m * beta_term(x, l, beta));
        let (scale, f64_terms) = match loss {
            Loss::Frobenius => (sum(&|x, m, l| m * 0.5 * (x * x + l * l)), value),
            Loss::KullbackLeibler => {
                let s = sum(&|x, m, l| m * (x + l));
                let t = sum(&|x, m, l| {
                    let log = if x == 0.0 {
                        0.0
                    } else {
                        (x * (x / l).ln()).abs()
                    };
                    m * (log + x + l)
                });
                (s, t)
            }
            Loss::ItakuraSaito | Loss::Beta(_) => {
                let bb = sum(&|_, m, l| m * l.powf(beta));
                let c = sum(&|x, m, l| m * x * l.powf(beta - 1.0));
                return crate::data::beta_evaluation(value, bb, c, beta);
            }
        };
        DataEvaluation {
            loss: value,
            scale,
            f64_terms,
        }
    }
}
