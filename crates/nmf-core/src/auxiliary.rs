//! The auxiliary functions of Lee & Seung's monotonicity proof, for one column of H (W fixed)
//! or, by symmetry (Vᵀ ≈ HᵀWᵀ), one row of W (H fixed).
//!
//! Both cases are the subproblem "minimise F(x) = loss(v, A·x) over x ≥ ε" for a fixed
//! non-negative matrix A (m×k) and data vector v (m): A = W and v = a column of V for a column
//! of H; A = Hᵀ and v = a row of V for a row of W. A [`Subproblem`] borrows A and v in
//! row-major form, so it works with any backend (export with
//! [`MatrixBackend::to_row_major`](crate::MatrixBackend::to_row_major)). Everything is
//! evaluated in `f64`.
//!
//! An auxiliary function G of F satisfies `G(x, x) = F(x)` and `G(x, xᵗ) ≥ F(x)` (eq. 10);
//! then `x⁺ = argmin G(·, xᵗ)` gives the chain `F(x⁺) ≤ G(x⁺, xᵗ) ≤ G(xᵗ, xᵗ) = F(xᵗ)`
//! (Lemma 1, eq. 11). Both G are separable across the entries x_a and convex in each, so the
//! minimiser over `{x ≥ ε}` is, entry by entry, `max(ε, unconstrained minimiser)`: the
//! ε-bounded update of [`crate::kernels::mu_step`] (Gillis & Glineur 2012; Takahashi & Hibi
//! 2014). [`Subproblem::minimizer`] is that update written independently of the backends, so a
//! test can check a backend's half-step against it.
//!
//! ```
//! use nmf_core::{Loss, auxiliary::Subproblem};
//! // A = [[1, 2], [3, 1]] (row-major), v = [5, 4].
//! let p = Subproblem::h_column(&[1.0_f64, 2.0, 3.0, 1.0], 2, 2, &[5.0, 4.0]);
//! let xt = [1.0, 1.0];
//! for loss in [Loss::Frobenius, Loss::KullbackLeibler] {
//!     let x1 = p.minimizer(loss, &xt, 1e-9);
//!     let (f1, g1, g0, f0) = (p.objective(loss, &x1), p.auxiliary(loss, &x1, &xt),
//!                             p.auxiliary(loss, &xt, &xt), p.objective(loss, &xt));
//!     assert!(f1 <= g1 && g1 <= g0 && (g0 - f0).abs() < 1e-12);
//! }
//! ```

use crate::kernels::kl_term;
use crate::{Loss, Scalar};

/// One column (or row) subproblem: minimise `F(x) = loss(v, A·x)` over `x ≥ ε`, A fixed.
#[derive(Debug, Clone, Copy)]
pub struct Subproblem<'a, T> {
    a: &'a [T],
    m: usize,
    k: usize,
    /// Whether `a` holds Aᵀ (k×m row-major) rather than A (m×k row-major).
    transposed: bool,
    v: &'a [T],
    /// The penalty `l1·Σx + ½·l2·Σx²` (both 0 by default).
    l1: f64,
    l2: f64,
    /// The weights M_i of the entries of v (`None`: all 1).
    weights: Option<&'a [T]>,
}

impl<'a, T: Scalar> Subproblem<'a, T> {
    /// The subproblem of one column of H with W fixed: `w` is W (m×k) in row-major order and
    /// `v` the matching column of V (length m).
    ///
    /// # Panics
    /// If `w.len() != m·k` or `v.len() != m`.
    pub fn h_column(w: &'a [T], m: usize, k: usize, v: &'a [T]) -> Self {
        assert_eq!(w.len(), m * k, "W must be m×k");
        assert_eq!(v.len(), m, "v must have m entries");
        Self {
            a: w,
            m,
            k,
            transposed: false,
            v,
            l1: 0.0,
            l2: 0.0,
            weights: None,
        }
    }

    /// The subproblem of one row of W with H fixed: `h` is H (k×n) in row-major order and `v`
    /// the matching row of V (length n). Here A = Hᵀ (n×k), read from `h` without a copy.
    ///
    /// # Panics
    /// If `h.len() != k·n` or `v.len() != n`.
    pub fn w_row(h: &'a [T], k: usize, n: usize, v: &'a [T]) -> Self {
        assert_eq!(h.len(), k * n, "H must be k×n");
        assert_eq!(v.len(), n, "v must have n entries");
        Self {
            a: h,
            m: n,
            k,
            transposed: true,
            v,
            l1: 0.0,
            l2: 0.0,
            weights: None,
        }
    }

    /// The same subproblem with the penalty `l1·Σₐ xₐ + ½·l2·Σₐ xₐ²` added to F (the share of
    /// [`Penalty`](crate::Penalty) that falls on this column of H or row of W: `l1_h, l2_h`
    /// or `l1_w, l2_w`). [`auxiliary`](Self::auxiliary) and [`minimizer`](Self::minimizer)
    /// then give the auxiliary function and the update of
    /// [`MuSolver::set_penalty`](crate::MuSolver::set_penalty) (derivations in
    /// `docs/penalties.md`).
    ///
    /// ```
    /// use nmf_core::{Loss, auxiliary::Subproblem};
    /// let p = Subproblem::h_column(&[1.0_f64, 2.0, 3.0, 1.0], 2, 2, &[5.0, 4.0]).with_penalty(0.5, 2.0);
    /// let xt = [1.0, 1.0];
    /// for loss in [Loss::Frobenius, Loss::KullbackLeibler, Loss::ItakuraSaito, Loss::Beta(1.5)] {
    ///     let x1 = p.minimizer(loss, &xt, 1e-9);
    ///     let (f1, g1, f0) = (p.objective(loss, &x1), p.auxiliary(loss, &x1, &xt), p.objective(loss, &xt));
    ///     assert!(f1 <= g1 && g1 <= f0 * (1.0 + 1e-12));
    /// }
    /// ```
    ///
    /// # Panics
    /// If a weight is negative or not finite.
    pub fn with_penalty(mut self, l1: f64, l2: f64) -> Self {
        assert!(
            l1.is_finite() && l1 >= 0.0 && l2.is_finite() && l2 >= 0.0,
            "penalty weights must be finite and ≥ 0"
        );
        self.l1 = l1;
        self.l2 = l2;
        self
    }

    /// The same subproblem with the weighted loss `Σᵢ Mᵢ·d(vᵢ, (A·x)ᵢ)` ([`crate::masked`]):
    /// `weights` are the weights of the entries of v (the matching column of M for a column
    /// of H, the row for a row of W). Every auxiliary function is a sum over i of per-entry
    /// bounds, so each i-term is multiplied by Mᵢ and stays a bound; their minimisers are the
    /// β-form statistics with weights (Frobenius: `Aᵀ(M∘v)` over `Aᵀ(M∘A·xᵗ)`). KL with
    /// weights is the β path at β = 1 (the update of weighted data,
    /// [`MuSolver::update_h`](crate::MuSolver::update_h)): with an L2 weight its bound and step
    /// are the β path's (exponent 1/2), not the KL root.
    ///
    /// ```
    /// use nmf_core::{Loss, auxiliary::Subproblem};
    /// // Entry 1 of v has weight 0: its value does not matter.
    /// let m = [1.0_f64, 0.0];
    /// let p = Subproblem::h_column(&[1.0_f64, 2.0, 3.0, 1.0], 2, 2, &[5.0, 4.0]).with_weights(&m);
    /// let q = Subproblem::h_column(&[1.0_f64, 2.0, 3.0, 1.0], 2, 2, &[5.0, 400.0]).with_weights(&m);
    /// let xt = [1.0, 1.0];
    /// for loss in [Loss::Frobenius, Loss::KullbackLeibler, Loss::Beta(1.5)] {
    ///     let x1 = p.minimizer(loss, &xt, 1e-9);
    ///     assert_eq!(x1, q.minimizer(loss, &xt, 1e-9));
    ///     // (Frobenius fits row 0 exactly here: F = 0 and G within rounding of it.)
    ///     assert!(p.objective(loss, &x1) <= p.auxiliary(loss, &x1, &xt) + 1e-12);
    ///     assert!(p.auxiliary(loss, &x1, &xt) <= p.objective(loss, &xt) * (1.0 + 1e-12));
    /// }
    /// ```
    ///
    /// # Panics
    /// If `weights` does not have one entry per entry of v, or one is negative or not finite.
    pub fn with_weights(mut self, weights: &'a [T]) -> Self {
        assert_eq!(weights.len(), self.m, "one weight per entry of v");
        assert!(
            weights.iter().all(|w| w.is_finite() && *w >= T::zero()),
            "weights must be finite and ≥ 0"
        );
        self.weights = Some(weights);
        self
    }

    /// The weight of entry i (1 without weights).
    #[inline]
    fn weight(&self, i: usize) -> f64 {
        self.weights.map_or(1.0, |w| w[i].as_f64())
    }

    /// The loss whose auxiliary function and update apply: KL with weights is the β path at
    /// β = 1 (see [`with_weights`](Self::with_weights)).
    fn rule_loss(&self, loss: Loss) -> Loss {
        if self.weights.is_some() && loss == Loss::KullbackLeibler {
            Loss::Beta(1.0)
        } else {
            loss
        }
    }

    /// `M∘y` (y itself without weights).
    fn weighted(&self, y: &[f64]) -> Vec<f64> {
        y.iter()
            .enumerate()
            .map(|(i, &y)| self.weight(i) * y)
            .collect()
    }

    /// The number of unknowns k.
    pub fn rank(&self) -> usize {
        self.k
    }

    #[inline]
    fn at(&self, i: usize, a: usize) -> f64 {
        let x = if self.transposed {
            self.a[a * self.m + i]
        } else {
            self.a[i * self.k + a]
        };
        x.as_f64()
    }

    fn check_len(&self, x: &[T]) {
        assert_eq!(x.len(), self.k, "x must have k entries");
    }

    /// `(A·x)_i` for every i.
    fn ax(&self, x: &[T]) -> Vec<f64> {
        self.check_len(x);
        (0..self.m)
            .map(|i| (0..self.k).map(|a| self.at(i, a) * x[a].as_f64()).sum())
            .collect()
    }

    /// `Aᵀ·y` for a vector y of length m.
    fn at_y(&self, y: &[f64]) -> Vec<f64> {
        (0..self.k)
            .map(|a| (0..self.m).map(|i| self.at(i, a) * y[i]).sum())
            .collect()
    }

    /// The objective F(x): `½‖v − A·x‖²` (eq. 15), `Σᵢ vᵢ log(vᵢ/(Ax)ᵢ) − vᵢ + (Ax)ᵢ`
    /// (eq. 28, with 0·log 0 = 0) or `Σᵢ d_β(vᵢ|(Ax)ᵢ)`, plus the penalty if one was given
    /// ([`with_penalty`](Self::with_penalty)).
    ///
    /// # Panics
    /// If `x.len() != k`.
    pub fn objective(&self, loss: Loss, x: &[T]) -> f64 {
        self.objective_with_scale(loss, x).0
    }

    /// [`objective`](Self::objective) and the sum of the absolute values of the terms it adds
    /// up, `(Ax)ᵢ` included: its rounding error in `f64` is a small multiple of `(m + k)·u`
    /// times that scale.
    ///
    /// # Panics
    /// If `x.len() != k`.
    pub fn objective_with_scale(&self, loss: Loss, x: &[T]) -> (f64, f64) {
        let ax = self.ax(x);
        let (mut f, mut scale) = (0.0, 0.0);
        for (i, (v, &y)) in self.v.iter().map(|v| v.as_f64()).zip(&ax).enumerate() {
            let m = self.weight(i);
            if m == 0.0 {
                continue;
            }
            match loss {
                Loss::Frobenius => {
                    f += m * 0.5 * (v - y) * (v - y);
                    scale += m * 0.5 * (v * v + y * y);
                }
                Loss::KullbackLeibler => {
                    f += m * kl_term(v, y);
                    scale += m
                        * (y + if v == 0.0 {
                            0.0
                        } else {
                            v * (v / y).ln().abs() + v
                        });
                }
                other => {
                    let term = m * crate::kernels::beta_term(v, y, other.beta_value());
                    f += term;
                    scale += term.abs();
                }
            }
        }
        for x in x.iter().map(|x| x.as_f64()) {
            let p = self.l1 * x + 0.5 * self.l2 * x * x;
            f += p;
            scale += p;
        }
        (f, scale)
    }

    /// The auxiliary function G(x, xᵗ), for `xᵗ > 0` entry by entry.
    ///
    /// - Frobenius (eq. 14): `G = F(xᵗ) + (x − xᵗ)ᵀ∇F(xᵗ) + ½ Σ_a K_aa (x_a − xᵗ_a)²`, with
    ///   `∇F(xᵗ) = AᵀA·xᵗ − Aᵀv` and `K_aa = (AᵀA·xᵗ)_a / xᵗ_a` (eq. 13). That it bounds F is
    ///   Lemma 2: `K(xᵗ) − AᵀA` is positive semidefinite (eq. 17–22).
    /// - KL (eq. 26): `G = Σᵢ (vᵢ log vᵢ − vᵢ) + Σ_ia A_ia x_a
    ///   − Σ_ia vᵢ α_ia (log(A_ia x_a) − log α_ia)` with `α_ia = A_ia xᵗ_a / (A·xᵗ)ᵢ` (eq. 30);
    ///   terms with `vᵢ = 0` or `α_ia = 0` are 0 (their limits). That it bounds F is Lemma 3,
    ///   by the convexity of −log (Jensen, eq. 29, 31). It is +∞ where some `x_a = 0` meets a
    ///   positive `vᵢ α_ia`, and where F itself is infinite.
    ///
    /// - β-divergence (Févotte & Idier 2011): with λ = A·x and λᵗ = A·xᵗ, split
    ///   `d_β(v|λ) = c(v) + λ^β/β − v·λ^(β−1)/(β−1)` (`log λ` for the middle term at β = 0,
    ///   `−v·log λ` for the last at β = 1). Each λ-term is bounded by Jensen's inequality with
    ///   the weights `α_ia` where it is convex (`λ^β/β` for β ≥ 1, the last term for β ≤ 2)
    ///   and by its tangent at λᵗ where it is concave.
    /// - Penalties ([`with_penalty`](Self::with_penalty)), with r = x/xᵗ: Frobenius folds
    ///   l2 into the Hessian (`K_aa = ((AᵀA + l2·I)·xᵗ)_a / xᵗ_a`) and bounds `l1·x` by
    ///   `l1·(x²/(2xᵗ) + xᵗ/2)`; KL adds the penalty exactly; β bounds `l1·x` by
    ///   `l1·xᵗ·(r^β + β − 1)/β` (β ≥ 1; exact below) and `½·l2·x²` by
    ///   `½·l2·xᵗ²·(2r^β + β − 2)/β` (β ≥ 2); with `l2 > 0` and β < 2 it keeps `½·l2·x²`,
    ///   bounds `l1·x` by `l1·xᵗ·(r² + 1)/2` and the λ^β/β term by the quadratic
    ///   `λᵗ^β·(1 + (β/2)(r² − 1))/β` per Jensen piece (its tangent piece, for β < 1, by
    ///   `(r² + 1)/2` in place of r). See `docs/penalties.md`.
    ///
    /// # Panics
    /// If `x.len() != k` or `xt.len() != k`.
    pub fn auxiliary(&self, loss: Loss, x: &[T], xt: &[T]) -> f64 {
        self.auxiliary_with_scale(loss, x, xt).0
    }

    /// [`auxiliary`](Self::auxiliary) and the sum of the absolute values of the terms it adds
    /// up (the scale of its rounding error, as in
    /// [`objective_with_scale`](Self::objective_with_scale)).
    ///
    /// # Panics
    /// As [`auxiliary`](Self::auxiliary).
    pub fn auxiliary_with_scale(&self, loss: Loss, x: &[T], xt: &[T]) -> (f64, f64) {
        self.check_len(x);
        self.check_len(xt);
        let xf: Vec<f64> = x.iter().map(|x| x.as_f64()).collect();
        let tf: Vec<f64> = xt.iter().map(|x| x.as_f64()).collect();
        match self.rule_loss(loss) {
            Loss::Frobenius => {
                let axt = self.ax(xt);
                let ata_xt = self.at_y(&self.weighted(&axt));
                let atv = self
                    .at_y(&self.weighted(&self.v.iter().map(|v| v.as_f64()).collect::<Vec<_>>()));
                // F(xᵗ) with its penalty; the bound of l1·x replaces l1·xᵗ below.
                let (mut g, mut scale) = self.objective_with_scale(loss, xt);
                let (l1, l2) = (self.l1, self.l2);
                for a in 0..self.k {
                    let d = xf[a] - tf[a];
                    let hx = ata_xt[a] + l2 * tf[a]; // ((AᵀA + l2·I)·xᵗ)_a
                    let grad = hx - atv[a];
                    let kaa = hx / tf[a];
                    // x·(x/(2xᵗ)), not x²/(2xᵗ): x² underflows for x near a tiny ε.
                    let l1_bound =
                        l1 * (xf[a] * (xf[a] / (2.0 * tf[a])) + 0.5 * tf[a]) - l1 * tf[a];
                    g += d * grad + 0.5 * kaa * d * d + l1_bound;
                    // The L1 bound's terms cancel against l1·xᵗ: all three enter the scale.
                    scale += (d * hx).abs()
                        + (d * atv[a]).abs()
                        + 0.5 * kaa * d * d
                        + l1 * (xf[a] * (xf[a] / (2.0 * tf[a])) + 1.5 * tf[a]);
                }
                (g, scale)
            }
            Loss::KullbackLeibler => {
                let axt = self.ax(xt);
                let (mut g, mut scale) = (0.0, 0.0);
                for (i, &axt_i) in axt.iter().enumerate() {
                    let v = self.v[i].as_f64();
                    let row: f64 = (0..self.k).map(|a| self.at(i, a) * xf[a]).sum();
                    g += row;
                    scale += row;
                    if v == 0.0 {
                        continue;
                    }
                    if axt_i == 0.0 {
                        return (f64::INFINITY, f64::INFINITY); // F(xᵗ) itself is infinite here.
                    }
                    g += v * v.ln() - v;
                    scale += v * v.ln().abs() + v;
                    for a in 0..self.k {
                        let w = self.at(i, a);
                        let alpha = w * tf[a] / axt_i;
                        if alpha == 0.0 {
                            continue;
                        }
                        let (lw, la) = ((w * xf[a]).ln(), alpha.ln());
                        g -= v * alpha * (lw - la);
                        scale += v * alpha * (lw.abs() + la.abs());
                    }
                }
                for &x in &xf {
                    let p = self.l1 * x + 0.5 * self.l2 * x * x;
                    g += p;
                    scale += p;
                }
                (g, scale)
            }
            other => self.beta_auxiliary(other.beta_value(), &xf, &tf),
        }
    }

    /// The β-divergence auxiliary function with its penalty bound (see
    /// [`auxiliary`](Self::auxiliary)); `(G, Σ|terms|)`.
    fn beta_auxiliary(&self, beta: f64, xf: &[f64], tf: &[f64]) -> (f64, f64) {
        let axt: Vec<f64> = (0..self.m)
            .map(|i| (0..self.k).map(|a| self.at(i, a) * tf[a]).sum())
            .collect();
        // With L2 below β = 2 the λ^β/β part is bounded by a quadratic in r (docs/penalties.md).
        let quad = self.l2 > 0.0 && beta < 2.0;
        // λ^β/β (log λ at β = 0) and −v·λ^(β−1)/(β−1) (−v·log λ at β = 1), and their slopes.
        let t1 = |y: f64| {
            if beta == 0.0 {
                y.ln()
            } else {
                y.powf(beta) / beta
            }
        };
        let t2 = |v: f64, y: f64| {
            if beta == 1.0 {
                -v * y.ln()
            } else {
                -v * y.powf(beta - 1.0) / (beta - 1.0)
            }
        };
        let (mut g, mut scale) = (0.0, 0.0);
        let mut add = |t: f64| {
            g += t;
            scale += t.abs();
        };
        for (i, &lt) in axt.iter().enumerate() {
            let v = self.v[i].as_f64();
            // Every term of entry i times its weight (no term at all at weight 0).
            let m = self.weight(i);
            if m == 0.0 {
                continue;
            }
            let add = &mut |t: f64| add(m * t);
            if lt == 0.0 {
                // A zero row of A: λᵢ = 0 whatever x, a constant term of F and G.
                add(crate::kernels::beta_term(v, 0.0, beta));
                continue;
            }
            add(if beta == 0.0 {
                -v.ln() - 1.0
            } else if beta == 1.0 {
                if v > 0.0 { v * v.ln() - v } else { 0.0 }
            } else if v > 0.0 {
                v.powf(beta) / (beta * (beta - 1.0))
            } else {
                0.0
            });
            if beta < 1.0 {
                add(t1(lt)); // concave: the tangent at λᵗ
            }
            if beta > 2.0 && v > 0.0 {
                add(t2(v, lt));
            }
            for a in 0..self.k {
                let w = self.at(i, a);
                if w == 0.0 {
                    continue;
                }
                let (alpha, r) = (w * tf[a] / lt, xf[a] / tf[a]);
                // λ^β/β: Jensen (β ≥ 1) or tangent (β < 1), each piece bounded by a quadratic
                // in r when `quad`. Terms that cancel are added separately, so that the scale
                // (the sum of their absolute values) covers the cancellation.
                let lb = lt.powf(beta);
                match (beta >= 1.0, quad) {
                    (true, false) => add(alpha * t1(lt * r)),
                    (true, true) => {
                        add(alpha * lb * 0.5 * r * r);
                        add(alpha * lb * (1.0 - 0.5 * beta) / beta);
                    }
                    (false, false) => {
                        add(lb / lt * w * xf[a]);
                        add(-lb / lt * w * tf[a]);
                    }
                    (false, true) => {
                        add(lb / lt * w * tf[a] * 0.5 * r * r);
                        add(-lb / lt * w * tf[a] * 0.5);
                    }
                }
                if v > 0.0 {
                    if beta <= 2.0 {
                        add(alpha * t2(v, lt * r)); // convex: Jensen
                    } else {
                        // concave: tangent
                        let slope = -v * lt.powf(beta - 2.0) * w;
                        add(slope * xf[a]);
                        add(-slope * tf[a]);
                    }
                }
            }
        }
        let (l1, l2) = (self.l1, self.l2);
        for (&x, &t) in xf.iter().zip(tf) {
            let rb = (x / t).powf(beta);
            if l2 > 0.0 && beta < 2.0 {
                add(0.5 * l1 * x * (x / t)); // (x² would underflow near a tiny ε)
                add(0.5 * l1 * t);
                add(0.5 * l2 * x * x);
            } else if beta < 1.0 {
                add(l1 * x);
            } else {
                add(l1 * t * rb / beta);
                add(l1 * t * (beta - 1.0) / beta);
                if l2 > 0.0 {
                    add(l2 * t * t * rb / beta);
                    add(0.5 * l2 * t * t * (beta - 2.0) / beta);
                }
            }
        }
        (g, scale)
    }

    /// The minimiser of `G(·, xᵗ)` over `{x ≥ ε}`, entry by entry `max(ε, unconstrained)`:
    ///
    /// - Frobenius (eq. 24–25): `x_a = max(ε, xᵗ_a (Aᵀv)_a / ((AᵀA·xᵗ)_a + l2·xᵗ_a + l1))`;
    /// - KL (eq. 33): `x_a = max(ε, xᵗ_a Σᵢ A_ia vᵢ/(A·xᵗ)ᵢ / (Σᵢ A_ia + l1))`, with
    ///   `vᵢ/(A·xᵗ)ᵢ = 0` where `vᵢ = 0`; with `l2 > 0`, the positive root of
    ///   `l2·x² + (Σᵢ A_ia + l1)·x − xᵗ_a Σᵢ A_ia vᵢ/(A·xᵗ)ᵢ = 0`;
    /// - β-divergence (Févotte & Idier 2011): `x_a = max(ε, xᵗ_a (Σᵢ A_ia vᵢ (A·xᵗ)ᵢ^(β−2) /
    ///   (Σᵢ A_ia (A·xᵗ)ᵢ^(β−1) + l1 + l2·xᵗ_a))^γ)` with γ = γ(β), or 1/(3 − β) when
    ///   `l2 > 0` and β < 2.
    ///
    /// (The penalty terms are 0 unless [`with_penalty`](Self::with_penalty) set them.)
    /// Computed in `f64` and rounded to `T` once, so it is at least as accurate as a backend's
    /// half-step.
    ///
    /// # Panics
    /// If `xt.len() != k`.
    pub fn minimizer(&self, loss: Loss, xt: &[T], eps: T) -> Vec<T> {
        let loss = self.rule_loss(loss);
        let axt = self.ax(xt);
        let (num, den) = match loss {
            Loss::Frobenius => {
                let v: Vec<f64> = self.v.iter().map(|v| v.as_f64()).collect();
                (
                    self.at_y(&self.weighted(&v)),
                    self.at_y(&self.weighted(&axt)),
                )
            }
            Loss::KullbackLeibler => {
                let ratio: Vec<f64> = self
                    .v
                    .iter()
                    .zip(&axt)
                    .map(|(&v, &y)| if v == T::zero() { 0.0 } else { v.as_f64() / y })
                    .collect();
                (self.at_y(&ratio), self.at_y(&vec![1.0; self.m]))
            }
            other => {
                let beta = other.beta_value();
                let (a, b): (Vec<f64>, Vec<f64>) = self
                    .v
                    .iter()
                    .zip(&axt)
                    .map(|(&v, &y)| crate::kernels::beta_parts(v.as_f64(), y, beta))
                    .unzip();
                (self.at_y(&self.weighted(&a)), self.at_y(&self.weighted(&b)))
            }
        };
        let beta = loss.beta_value();
        let gamma = if self.l2 > 0.0 && beta < 2.0 && loss != Loss::KullbackLeibler {
            1.0 / (3.0 - beta)
        } else {
            crate::kernels::beta_gamma(beta)
        };
        (0..self.k)
            .map(|a| {
                let (x, eps) = (xt[a].as_f64(), eps.as_f64());
                let q = if loss == Loss::KullbackLeibler {
                    crate::kernels::mu_step_l2(x, num[a], den[a] + self.l1, self.l2, eps)
                } else {
                    let den = den[a] + self.l1 + self.l2 * x;
                    if gamma == 1.0 {
                        crate::kernels::mu_step(x, num[a], den, eps)
                    } else {
                        crate::kernels::mu_step_pow(x, num[a], den, gamma, eps)
                    }
                };
                T::from_f64(q).max(T::from_f64(eps))
            })
            .collect()
    }
}
