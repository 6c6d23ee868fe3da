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
        }
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

    /// The objective F(x): `½‖v − A·x‖²` (eq. 15) or `Σᵢ vᵢ log(vᵢ/(Ax)ᵢ) − vᵢ + (Ax)ᵢ`
    /// (eq. 28, with 0·log 0 = 0).
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
        for (v, &y) in self.v.iter().map(|v| v.as_f64()).zip(&ax) {
            match loss {
                Loss::Frobenius => {
                    f += 0.5 * (v - y) * (v - y);
                    scale += 0.5 * (v * v + y * y);
                }
                Loss::KullbackLeibler => {
                    f += kl_term(v, y);
                    scale += y + if v == 0.0 {
                        0.0
                    } else {
                        v * (v / y).ln().abs() + v
                    };
                }
                other => {
                    let term = crate::kernels::beta_term(v, y, other.beta_value());
                    f += term;
                    scale += term.abs();
                }
            }
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
    /// # Panics
    /// If `x.len() != k` or `xt.len() != k`, or for a loss other than Frobenius and KL (the
    /// β-divergence auxiliary functions are not provided here; [`minimizer`](Self::minimizer)
    /// is).
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
        match loss {
            Loss::Frobenius => {
                let axt = self.ax(xt);
                let ata_xt = self.at_y(&axt);
                let atv = self.at_y(&self.v.iter().map(|v| v.as_f64()).collect::<Vec<_>>());
                let (mut g, mut scale) = self.objective_with_scale(loss, xt);
                for a in 0..self.k {
                    let d = xf[a] - tf[a];
                    let grad = ata_xt[a] - atv[a];
                    let kaa = ata_xt[a] / tf[a];
                    g += d * grad + 0.5 * kaa * d * d;
                    scale += (d * ata_xt[a]).abs() + (d * atv[a]).abs() + 0.5 * kaa * d * d;
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
                (g, scale)
            }
            other => panic!("the auxiliary function of the {other} loss is not provided"),
        }
    }

    /// The minimiser of `G(·, xᵗ)` over `{x ≥ ε}`, entry by entry `max(ε, unconstrained)`:
    ///
    /// - Frobenius (eq. 24–25): `x_a = max(ε, xᵗ_a (Aᵀv)_a / (AᵀA·xᵗ)_a)`;
    /// - KL (eq. 33): `x_a = max(ε, xᵗ_a Σᵢ A_ia vᵢ/(A·xᵗ)ᵢ / Σᵢ A_ia)`, with `vᵢ/(A·xᵗ)ᵢ = 0`
    ///   where `vᵢ = 0`;
    /// - β-divergence (Févotte & Idier 2011): `x_a = max(ε, xᵗ_a (Σᵢ A_ia vᵢ (A·xᵗ)ᵢ^(β−2) /
    ///   Σᵢ A_ia (A·xᵗ)ᵢ^(β−1))^γ(β))`.
    ///
    /// Computed in `f64` and rounded to `T` once, so it is at least as accurate as a backend's
    /// half-step.
    ///
    /// # Panics
    /// If `xt.len() != k`.
    pub fn minimizer(&self, loss: Loss, xt: &[T], eps: T) -> Vec<T> {
        let axt = self.ax(xt);
        let (num, den) = match loss {
            Loss::Frobenius => {
                let v: Vec<f64> = self.v.iter().map(|v| v.as_f64()).collect();
                (self.at_y(&v), self.at_y(&axt))
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
                (self.at_y(&a), self.at_y(&b))
            }
        };
        let gamma = crate::kernels::beta_gamma(loss.beta_value());
        (0..self.k)
            .map(|a| {
                let (x, eps) = (xt[a].as_f64(), eps.as_f64());
                let q = if gamma == 1.0 {
                    crate::kernels::mu_step(x, num[a], den[a], eps)
                } else {
                    crate::kernels::mu_step_pow(x, num[a], den[a], gamma, eps)
                };
                T::from_f64(q).max(T::from_f64(eps))
            })
            .collect()
    }
}
