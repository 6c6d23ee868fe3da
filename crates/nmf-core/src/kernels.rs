//! Entry-wise kernels on contiguous slices, shared by every backend.
//!
//! A backend applies these to the contiguous runs of its storage (whole buffers for
//! contiguous matrices, one column at a time for faer's padded columns). Writing each rule
//! once here is what makes the entry-wise steps bit-identical across backends.
//!
//! The slice kernels are compiled several times (AVX-512, AVX2+FMA, baseline) and the best
//! version for the running CPU is chosen at run time (`multiversion`), so a portable build
//! still runs wide vector code. It matters even for the loss sums, which do not vectorise:
//! legacy-SSE code that runs right after faer's AVX-512 products pays a 2–3× state-transition
//! penalty (measured by nmf-bench), which VEX-encoded code does not. Entry-wise IEEE operations give the same bits at every vector
//! width (Rust never contracts a multiply and an add into an FMA on its own).

use multiversion::multiversion;

use crate::Scalar;

/// The ε-lower-bounded multiplicative step for one entry: `max(ε, x·num/den)`, computed as
/// `(x·num)/den`.
///
/// This is the exact minimiser over `{h ≥ ε}` of the separable auxiliary function (see
/// [`crate::auxiliary`]), so the loss cannot rise. One guard keeps floating point from
/// breaking that without changing any finite result: a step that is not a finite number
/// (`x/0` from a denominator that underflowed to 0, `0/0`, or `∞/∞` from an overflow) keeps
/// `x`. That is always safe: the auxiliary function is a sum of one term per entry, each
/// equal to its share of `F(xᵗ)` at `x = xᵗ` and no larger at its minimiser, so keeping any
/// entries at `xᵗ` while the others move to their minimisers still leaves `G ≤ F(xᵗ)`.
///
/// ```
/// use nmf_core::kernels::mu_step;
/// assert_eq!(mu_step(2.0_f64, 3.0, 4.0, 1e-9), 1.5);
/// assert_eq!(mu_step(2.0_f64, 0.0, 4.0, 1e-9), 1e-9); // a zero numerator lands on ε
/// assert_eq!(mu_step(2.0_f64, 0.0, 0.0, 1e-9), 2.0); // 0/0: keep x
/// assert_eq!(mu_step(2.0_f64, 1.0, 0.0, 1e-9), 2.0); // x/0: keep x
/// assert_eq!(mu_step(2.0_f64, f64::INFINITY, f64::INFINITY, 1e-9), 2.0); // ∞/∞: keep x
/// ```
#[inline(always)]
pub fn mu_step<T: Scalar>(x: T, num: T, den: T, eps: T) -> T {
    let q = x * num / den;
    let q = if q.is_finite() { q } else { x };
    q.max(eps)
}

/// [`mu_step`] over slices: `x_i ← max(ε, x_i·num_i/den_i)`.
///
/// # Panics
/// If the lengths differ.
#[multiversion(targets("x86_64+avx512f+avx512vl+avx512dq+avx512bw", "x86_64+avx2+fma"))]
pub fn mu_step_slice<T: Scalar>(x: &mut [T], num: &[T], den: &[T], eps: T) {
    assert!(
        x.len() == num.len() && x.len() == den.len(),
        "mu_step_slice: length mismatch"
    );
    for ((x, &n), &d) in x.iter_mut().zip(num).zip(den) {
        *x = mu_step(*x, n, d, eps);
    }
}

/// [`mu_step`] with one denominator for the whole slice.
///
/// # Panics
/// If the lengths differ.
#[multiversion(targets("x86_64+avx512f+avx512vl+avx512dq+avx512bw", "x86_64+avx2+fma"))]
pub fn mu_step_slice_scalar_den<T: Scalar>(x: &mut [T], num: &[T], den: T, eps: T) {
    assert!(
        x.len() == num.len(),
        "mu_step_slice_scalar_den: length mismatch"
    );
    for (x, &n) in x.iter_mut().zip(num) {
        *x = mu_step(*x, n, den, eps);
    }
}

/// The ε-lower-bounded step with an L2 penalty for one entry: the positive root of
/// `l2·x⁺² + den·x⁺ − x·num = 0`, lifted to ε, computed without cancellation as
/// `d / (den/2 + hypot(den/2, √l2·√d))` with `d = x·num`.
///
/// With the generalized KL loss, `den = Σᵢ wᵢₐ + l1` and `num = Σᵢ wᵢₐ vᵢ/(WH)ᵢ`, this is the
/// exact minimiser over `{x ≥ ε}` of Lee & Seung's auxiliary function plus the penalty
/// `l1·x + ½·l2·x²`: that sum is `den·x − d·log x + ½·l2·x²` up to a constant, convex in x,
/// and its derivative vanishes at the root. With `l2 = 0` it is [`mu_step`] up to rounding.
/// Guard as in [`mu_step`]: a step that is not a finite number (`0/0`, an overflowing `x·num`,
/// a zero denominator) keeps `x`.
///
/// ```
/// use nmf_core::kernels::mu_step_l2;
/// // l2·x² + den·x − d = 0 with l2 = 1, den = 1, d = x·num = 2·3 = 6: x = 2.
/// assert_eq!(mu_step_l2(2.0_f64, 3.0, 1.0, 1.0, 1e-9), 2.0);
/// assert_eq!(mu_step_l2(2.0_f64, 3.0, 4.0, 0.0, 1e-9), 1.5); // no penalty: x·num/den
/// assert_eq!(mu_step_l2(2.0_f64, 0.0, 4.0, 1.0, 1e-9), 1e-9); // a zero numerator lands on ε
/// ```
#[inline(always)]
pub fn mu_step_l2<T: Scalar>(x: T, num: T, den: T, l2: T, eps: T) -> T {
    let d = x * num;
    let half = den * T::from_f64(0.5);
    let q = d / (half + half.hypot(l2.sqrt() * d.sqrt()));
    let q = if q.is_finite() && d.is_finite() { q } else { x };
    q.max(eps)
}

/// [`mu_step_l2`] over slices.
///
/// # Panics
/// If the lengths differ.
#[multiversion(targets("x86_64+avx512f+avx512vl+avx512dq+avx512bw", "x86_64+avx2+fma"))]
pub fn mu_step_l2_slice<T: Scalar>(x: &mut [T], num: &[T], den: &[T], l2: T, eps: T) {
    assert!(
        x.len() == num.len() && x.len() == den.len(),
        "mu_step_l2_slice: length mismatch"
    );
    for ((x, &n), &d) in x.iter_mut().zip(num).zip(den) {
        *x = mu_step_l2(*x, n, d, l2, eps);
    }
}

/// [`mu_step_l2`] with one denominator for the whole slice (the KL update with an L2
/// penalty, whose denominator is one value per row of H or column of W).
///
/// # Panics
/// If the lengths differ.
#[multiversion(targets("x86_64+avx512f+avx512vl+avx512dq+avx512bw", "x86_64+avx2+fma"))]
pub fn mu_step_l2_slice_scalar_den<T: Scalar>(x: &mut [T], num: &[T], den: T, l2: T, eps: T) {
    assert!(
        x.len() == num.len(),
        "mu_step_l2_slice_scalar_den: length mismatch"
    );
    for (x, &n) in x.iter_mut().zip(num) {
        *x = mu_step_l2(*x, n, den, l2, eps);
    }
}

/// `x_i ← x_i + s`.
#[multiversion(targets("x86_64+avx512f+avx512vl+avx512dq+avx512bw", "x86_64+avx2+fma"))]
pub fn add_scalar_slice<T: Scalar>(x: &mut [T], s: T) {
    for x in x {
        *x += s;
    }
}

/// `y_i ← y_i + (α·x_i)` (two roundings, never fused into one FMA).
///
/// # Panics
/// If the lengths differ.
#[multiversion(targets("x86_64+avx512f+avx512vl+avx512dq+avx512bw", "x86_64+avx2+fma"))]
pub fn axpy_slice<T: Scalar>(y: &mut [T], alpha: T, x: &[T]) {
    assert!(y.len() == x.len(), "axpy_slice: length mismatch");
    for (y, &x) in y.iter_mut().zip(x) {
        *y += alpha * x;
    }
}

/// `x_i ← max(lo, x_i)`.
#[multiversion(targets("x86_64+avx512f+avx512vl+avx512dq+avx512bw", "x86_64+avx2+fma"))]
pub fn clamp_min_slice<T: Scalar>(x: &mut [T], lo: T) {
    for x in x {
        *x = x.max(lo);
    }
}

/// The KL ratio for one entry: `v / wh`, and exactly 0 where `v` is 0 (the limit of
/// `v/wh` as `v → 0`, whatever `wh` is).
///
/// ```
/// use nmf_core::kernels::kl_ratio;
/// assert_eq!(kl_ratio(3.0_f32, 1.5), 2.0);
/// assert_eq!(kl_ratio(0.0_f32, 0.0), 0.0);
/// ```
#[inline(always)]
pub fn kl_ratio<T: Scalar>(v: T, wh: T) -> T {
    if v == T::zero() { T::zero() } else { v / wh }
}

/// `r_i ← kl_ratio(v_i, r_i)`.
///
/// # Panics
/// If the lengths differ.
#[multiversion(targets("x86_64+avx512f+avx512vl+avx512dq+avx512bw", "x86_64+avx2+fma"))]
pub fn kl_ratio_slice<T: Scalar>(r: &mut [T], v: &[T]) {
    assert!(r.len() == v.len(), "kl_ratio_slice: length mismatch");
    for (r, &v) in r.iter_mut().zip(v) {
        *r = kl_ratio(v, *r);
    }
}

/// One term of the generalized KL divergence in `f64`: `v·log(v/wh) − v + wh`, and `wh`
/// where `v = 0` (0·log 0 = 0).
///
/// ```
/// use nmf_core::kernels::kl_term;
/// assert_eq!(kl_term(2.0, 2.0), 0.0);
/// assert_eq!(kl_term(0.0, 3.0), 3.0);
/// ```
#[inline(always)]
pub fn kl_term(v: f64, wh: f64) -> f64 {
    if v == 0.0 {
        wh
    } else {
        v * (v / wh).ln() - v + wh
    }
}

/// A compensated (Neumaier) sum in `f64`: its error is at most about `2u·Σ|xᵢ|` whatever the
/// number of terms, so a loss summed over millions of entries is as accurate as its terms.
///
/// ```
/// use nmf_core::kernels::F64Sum;
/// let mut s = F64Sum::default();
/// for x in [1e16, 1.0, -1e16] { s.add(x); }
/// assert_eq!(s.value(), 1.0);
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct F64Sum {
    sum: f64,
    comp: f64,
}

impl F64Sum {
    /// Adds one term.
    #[inline(always)]
    pub fn add(&mut self, x: f64) {
        let t = self.sum + x;
        if self.sum.abs() >= x.abs() {
            self.comp += (self.sum - t) + x;
        } else {
            self.comp += (x - t) + self.sum;
        }
        self.sum = t;
    }
    /// Adds another partial sum.
    #[inline]
    pub fn merge(&mut self, other: F64Sum) {
        self.add(other.sum);
        self.comp += other.comp;
    }
    /// The sum.
    #[inline]
    pub fn value(&self) -> f64 {
        self.sum + self.comp
    }
}

/// Adds `Σ xᵢ` to `acc`.
#[multiversion(targets("x86_64+avx512f+avx512vl+avx512dq+avx512bw", "x86_64+avx2+fma"))]
pub fn sum_slice<T: Scalar>(acc: &mut F64Sum, x: &[T]) {
    for &x in x {
        acc.add(x.as_f64());
    }
}

/// Adds `Σ xᵢ²` to `acc`, in `f64`.
#[multiversion(targets("x86_64+avx512f+avx512vl+avx512dq+avx512bw", "x86_64+avx2+fma"))]
pub fn sq_sum_slice<T: Scalar>(acc: &mut F64Sum, x: &[T]) {
    for &x in x {
        let x = x.as_f64();
        acc.add(x * x);
    }
}

/// Adds `½ Σ (vᵢ − whᵢ)²` to `acc`, in `f64`.
///
/// # Panics
/// If the lengths differ.
#[multiversion(targets("x86_64+avx512f+avx512vl+avx512dq+avx512bw", "x86_64+avx2+fma"))]
pub fn frobenius_slice<T: Scalar>(acc: &mut F64Sum, v: &[T], wh: &[T]) {
    assert!(v.len() == wh.len(), "frobenius_slice: length mismatch");
    // Eight compensated sums, term i into sum i mod 8, merged into `acc` in order: eight
    // independent chains, which the compiler vectorises (one chain's latency made this pass
    // cost more than a whole multiplicative iteration on a 5000×784 V). Each is the
    // compensated sum of `F64Sum::add`, written without a branch.
    let (mut sum, mut comp) = ([0.0f64; 8], [0.0f64; 8]);
    let add = |sum: &mut f64, comp: &mut f64, x: f64| {
        let t = *sum + x;
        let (big, small) = if sum.abs() >= x.abs() {
            (*sum, x)
        } else {
            (x, *sum)
        };
        *comp += (big - t) + small;
        *sum = t;
    };
    let ((vc, vr), (wc, wr)) = (v.as_chunks::<8>(), wh.as_chunks::<8>());
    for (v8, w8) in vc.iter().zip(wc) {
        for l in 0..8 {
            let d = v8[l].as_f64() - w8[l].as_f64();
            add(&mut sum[l], &mut comp[l], 0.5 * d * d);
        }
    }
    for (l, (&v, &wh)) in vr.iter().zip(wr).enumerate() {
        let d = v.as_f64() - wh.as_f64();
        add(&mut sum[l], &mut comp[l], 0.5 * d * d);
    }
    for l in 0..8 {
        acc.merge(F64Sum {
            sum: sum[l],
            comp: comp[l],
        });
    }
}

/// Adds `Σ kl_term(vᵢ, whᵢ)` to `acc`.
///
/// # Panics
/// If the lengths differ.
#[multiversion(targets("x86_64+avx512f+avx512vl+avx512dq+avx512bw", "x86_64+avx2+fma"))]
pub fn kl_slice<T: Scalar>(acc: &mut F64Sum, v: &[T], wh: &[T]) {
    assert!(v.len() == wh.len(), "kl_slice: length mismatch");
    for (&v, &wh) in v.iter().zip(wh) {
        acc.add(kl_term(v.as_f64(), wh.as_f64()));
    }
}

/// Whether an entry is acceptable in V or an initial factor: finite and ≥ 0.
#[inline(always)]
pub fn is_valid_entry<T: Scalar>(x: T) -> bool {
    x.is_finite() && x >= T::zero()
}

/// The exponent γ(β) of Févotte & Idier (2011) that makes the β-divergence multiplicative
/// update a majorisation–minimisation step: `1/(2−β)` for β < 1, 1 for 1 ≤ β ≤ 2, `1/(β−1)` for
/// β > 2.
///
/// ```
/// use nmf_core::kernels::beta_gamma;
/// assert_eq!(beta_gamma(0.0), 0.5);
/// assert_eq!(beta_gamma(1.5), 1.0);
/// assert_eq!(beta_gamma(3.0), 0.5);
/// ```
pub fn beta_gamma(beta: f64) -> f64 {
    if beta < 1.0 {
        1.0 / (2.0 - beta)
    } else if beta > 2.0 {
        1.0 / (beta - 1.0)
    } else {
        1.0
    }
}

/// The ε-lower-bounded β-divergence step for one entry: `max(ε, x·(num/den)^γ)`, with the
/// guard of [`mu_step`] (a step that is not a finite number keeps `x`). Like
/// [`mu_step`], it is the exact minimiser over `{x ≥ ε}` of an auxiliary function that is
/// separable and convex in each entry (Févotte & Idier 2011, with the ε bound).
///
/// ```
/// use nmf_core::kernels::mu_step_pow;
/// assert_eq!(mu_step_pow(2.0_f64, 4.0, 1.0, 0.5, 1e-9), 4.0);
/// assert_eq!(mu_step_pow(2.0_f64, 0.0, 1.0, 0.5, 1e-9), 1e-9);
/// ```
#[inline(always)]
pub fn mu_step_pow<T: Scalar>(x: T, num: T, den: T, gamma: T, eps: T) -> T {
    let q = x * (num / den).powf(gamma);
    let q = if q.is_finite() { q } else { x };
    q.max(eps)
}

/// [`mu_step_pow`] over slices.
///
/// # Panics
/// If the lengths differ.
#[multiversion(targets("x86_64+avx512f+avx512vl+avx512dq+avx512bw", "x86_64+avx2+fma"))]
pub fn mu_step_pow_slice<T: Scalar>(x: &mut [T], num: &[T], den: &[T], gamma: T, eps: T) {
    assert!(
        x.len() == num.len() && x.len() == den.len(),
        "mu_step_pow_slice: length mismatch"
    );
    for ((x, &n), &d) in x.iter_mut().zip(num).zip(den) {
        *x = mu_step_pow(*x, n, d, gamma, eps);
    }
}

/// The two V-shaped factors of the β-divergence updates from `λ = (WH)ᵢⱼ`:
/// `(v·λ^(β−2), λ^(β−1))`, the first exactly 0 where `v` is 0.
///
/// ```
/// use nmf_core::kernels::beta_parts;
/// assert_eq!(beta_parts(3.0_f64, 2.0, 1.0), (1.5, 1.0)); // KL: (v/λ, 1)
/// assert_eq!(beta_parts(3.0_f64, 2.0, 2.0), (3.0, 2.0)); // Frobenius: (v, λ)
/// assert_eq!(beta_parts(0.0_f64, 2.0, 0.5).0, 0.0);
/// ```
#[inline(always)]
pub fn beta_parts<T: Scalar>(v: T, lambda: T, beta: T) -> (T, T) {
    let two = T::one() + T::one();
    let a = if v == T::zero() {
        T::zero()
    } else {
        v * lambda.powf(beta - two)
    };
    (a, lambda.powf(beta - T::one()))
}

/// `(a_i, b_i) ← beta_parts(v_i, a_i, β)`: called with `a = WH`.
///
/// # Panics
/// If the lengths differ.
#[multiversion(targets("x86_64+avx512f+avx512vl+avx512dq+avx512bw", "x86_64+avx2+fma"))]
pub fn beta_parts_slice<T: Scalar>(a: &mut [T], b: &mut [T], v: &[T], beta: T) {
    assert!(
        a.len() == b.len() && a.len() == v.len(),
        "beta_parts_slice: length mismatch"
    );
    for ((a, b), &v) in a.iter_mut().zip(b.iter_mut()).zip(v) {
        (*a, *b) = beta_parts(v, *a, beta);
    }
}

/// One term of the β-divergence `d_β(v|y)` in `f64`:
/// `v^β/(β(β−1)) + y^β/β − v·y^(β−1)/(β−1)` for β ∉ {0, 1}, `½(v − y)²` at β = 2 (exactly),
/// [`kl_term`] at β = 1 and `v/y − log(v/y) − 1` (Itakura–Saito) at β = 0. Where `v = 0` and
/// β > 0 it is `y^β/β`; at β ≤ 0 it is +∞ there.
///
/// For `v > 0` it is computed as `v^β·(e₁(β, t) − e₁(β − 1, t))` with `t = ln(y/v)` and
/// `e₁(b, t) = expm1(b·t)/b` (→ `t` as b → 0), the same function rearranged: the three-term
/// form adds terms of size 1/|β| and 1/|β − 1| that cancel, so near β = 0 or β = 1 it loses
/// every digit (at β = 1e-300 it returns `v/y` where the divergence is `v/y − ln(v/y) − 1`).
/// Here the rounding error is a few units of `v^β·(|e₁(β, t)| + |e₁(β − 1, t)|)`, whatever β.
///
/// ```
/// use nmf_core::kernels::beta_term;
/// assert_eq!(beta_term(3.0, 1.0, 2.0), 2.0);
/// assert!((beta_term(2.0, 1.0, 0.0) - (2.0 - 2f64.ln() - 1.0)).abs() < 1e-15);
/// assert!((beta_term(3.0, 1.0, 1.999_999_999) - 2.0).abs() < 1e-6);
/// // Near β = 0 the divergence is Itakura–Saito's, near β = 1 KL's.
/// let is = 2.0 - 2f64.ln() - 1.0;
/// assert!((beta_term(2.0, 1.0, 1e-300) - is).abs() < 1e-15);
/// let kl = 2.0 * 2f64.ln() - 2.0 + 1.0;
/// assert!((beta_term(2.0, 1.0, 1.0 + 1e-15) - kl).abs() < 1e-14);
/// ```
#[inline]
pub fn beta_term(v: f64, y: f64, beta: f64) -> f64 {
    if beta == 2.0 {
        0.5 * (v - y) * (v - y)
    } else if beta == 1.0 {
        kl_term(v, y)
    } else if v == 0.0 {
        if beta > 0.0 {
            y.powf(beta) / beta
        } else {
            f64::INFINITY
        }
    } else if y == 0.0 {
        // (WH ≥ kε² > 0 in a fit; the limits, for completeness)
        if beta > 1.0 {
            v.powf(beta) / (beta * (beta - 1.0))
        } else {
            f64::INFINITY
        }
    } else {
        // t = ln(y/v): through ln_1p near y = v (where y − v is exact), through the logarithms
        // of each where y/v would over- or underflow.
        let t = if (0.5 * v..=2.0 * v).contains(&y) {
            ((y - v) / v).ln_1p()
        } else {
            let r = y / v;
            if r.is_normal() {
                r.ln()
            } else {
                y.ln() - v.ln()
            }
        };
        let f = expm1_over(beta, t) - expm1_over(beta - 1.0, t);
        // f = 0 only at y = v, where v^β may be infinite: the term is 0.
        if f == 0.0 { 0.0 } else { v.powf(beta) * f }
    }
}

/// `expm1(b·t)/b`, and its limit `t` at b = 0, to a few units of its size for every b.
#[inline]
fn expm1_over(b: f64, t: f64) -> f64 {
    let x = b * t;
    if x.abs() < 1e-5 {
        // expm1(x)/b = t·(1 + x/2 + x²/6 + …): the next term, x³/24, is below 1e-16 of it.
        t * (1.0 + x * (0.5 + x / 6.0))
    } else {
        x.exp_m1() / b
    }
}

/// Adds `Σ beta_term(vᵢ, whᵢ, β)` to `acc`.
///
/// # Panics
/// If the lengths differ.
#[multiversion(targets("x86_64+avx512f+avx512vl+avx512dq+avx512bw", "x86_64+avx2+fma"))]
pub fn beta_slice<T: Scalar>(acc: &mut F64Sum, v: &[T], wh: &[T], beta: f64) {
    assert!(v.len() == wh.len(), "beta_slice: length mismatch");
    for (&v, &wh) in v.iter().zip(wh) {
        acc.add(beta_term(v.as_f64(), wh.as_f64(), beta));
    }
}

/// One sweep of exact coordinate minimisation (HALS) over a lane `x` of k entries (a column
/// of H or a row of W) against a k×k Gram matrix: for each coordinate `a` in `order`,
///
/// `x_a ← max(ε, x_a + (num_a − l1 − Σ_b G'_ab·x_b) / G'_aa)`, with `G' = G + l2·I`
///
/// (`gram` holds G' in row-major order, the L2 weight already on its diagonal; the sum, with
/// the entries already updated in this sweep, is [`gram_dot`]'s: eight interleaved partial
/// sums, so that it is not one long chain of dependent additions).
///
/// For H's column j (G = WᵀW, num = (WᵀV)_{·j}) the objective
/// `½‖V − WH‖² + l1‖H‖₁ + ½·l2‖H‖²`, as a function of h_aj alone, is
/// `½(G_aa + l2)·x² − (num_a − Σ_{b≠a} G_ab h_bj − l1)·x + const` (‖H‖₁ = ΣH as H ≥ ε > 0),
/// a convex parabola whose minimiser over `{x ≥ ε}` is the clamped vertex
/// `max(ε, (num_a − l1 − Σ_{b≠a} G_ab h_bj)/(G_aa + l2))`, which is the expression above
/// (add and subtract G'_aa·x_a). So each coordinate step is an exact minimisation and the
/// penalised objective cannot rise. The same holds for W's row i with G = HHᵀ and
/// num = (VHᵀ)_{i·}. This is scikit-learn's `_update_cdnmf_fast` (which clamps at 0) with
/// the ε lower bound.
///
/// A step that is not a finite number (a G'_aa that underflowed to 0, an overflow) keeps
/// `x_a`, which never raises the objective, as in [`mu_step`].
///
/// Returns `Σ_a (x_a⁺ − x_a)²` in `f64`, the squared size of the change (for the stopping
/// rule of the repeated sweeps).
///
/// ```
/// use nmf_core::kernels::coordinate_sweep;
/// use nmf_core::lane::{Lane, LaneMut};
/// // G = [[2, 1], [1, 2]], num = [3, 3]: the minimiser of ½xᵀGx − numᵀx is (1, 1).
/// let (g, num, mut x) = ([2.0_f64, 1.0, 1.0, 2.0], [3.0, 3.0], [1.0, 1.0]);
/// let change = coordinate_sweep(&mut LaneMut::from_slice(&mut x, 2, 1), &Lane::from_slice(&num, 2, 1), &g, 0.0, 1e-9, &[0, 1]);
/// assert_eq!((x, change), ([1.0, 1.0], 0.0));
/// ```
///
/// # Panics
/// If `gram.len() != k²`, `num.len() != k`, or `order` holds an index ≥ k.
#[inline]
pub fn coordinate_sweep<T: Scalar>(
    x: &mut crate::lane::LaneMut<'_, T>,
    num: &crate::lane::Lane<'_, T>,
    gram: &[T],
    l1: T,
    eps: T,
    order: &[usize],
) -> f64 {
    let k = x.len();
    assert!(
        gram.len() == k * k && num.len() == k,
        "coordinate_sweep: a lane of {k} needs a {k}×{k} Gram matrix and {k} numerators"
    );
    let mut change = 0.0;
    if let (Some(xs), Some(ns)) = (x.as_mut_slice(), num.as_slice()) {
        // Contiguous lane (a column of a column-major H, a row of a row-major W): the same
        // operations on slices.
        return sweep_contiguous(xs, ns, gram, l1, eps, order);
    }
    for &a in order {
        let row = &gram[a * k..(a + 1) * k];
        let dot = gram_dot(row, |b| x.get(b));
        let xa = x.get(a);
        let new = coordinate_step(xa, num.get(a), l1, dot, row[a], eps);
        let d = new.as_f64() - xa.as_f64();
        change += d * d;
        x.set(a, new);
    }
    change
}

/// The contiguous-lane path of [`coordinate_sweep`], compiled for several instruction sets
/// like the slice kernels (the same operations in the same order on each).
#[multiversion(targets("x86_64+avx512f+avx512vl+avx512dq+avx512bw", "x86_64+avx2+fma"))]
fn sweep_contiguous<T: Scalar>(
    xs: &mut [T],
    ns: &[T],
    gram: &[T],
    l1: T,
    eps: T,
    order: &[usize],
) -> f64 {
    let k = xs.len();
    let mut change = 0.0;
    for &a in order {
        let row = &gram[a * k..(a + 1) * k];
        let dot = gram_dot(row, |b| xs[b]);
        let xa = xs[a];
        let new = coordinate_step(xa, ns[a], l1, dot, row[a], eps);
        let d = new.as_f64() - xa.as_f64();
        change += d * d;
        xs[a] = new;
    }
    change
}

/// `x_a + (num − l1 − dot)/g_aa` lifted to ε, or `x_a` if that is not a finite number (see
/// [`coordinate_sweep`]).
#[inline(always)]
fn coordinate_step<T: Scalar>(xa: T, num: T, l1: T, dot: T, g_aa: T, eps: T) -> T {
    let cand = xa + (num - l1 - dot) / g_aa;
    if cand.is_finite() { cand.max(eps) } else { xa }
}

/// `Σ_b row_b·x(b)` as [`coordinate_sweep`] computes it: eight partial sums, entry b going to
/// sum b mod 8, each in increasing b, combined as ((s0+s1)+(s2+s3))+((s4+s5)+(s6+s7)). A
/// fixed order, so the same bits for a contiguous and a strided lane and on every backend.
///
/// ```
/// use nmf_core::kernels::gram_dot;
/// let row = [1.0_f64; 10];
/// let x = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0];
/// assert_eq!(gram_dot(&row, |b| x[b]), 55.0);
/// ```
#[inline(always)]
pub fn gram_dot<T: Scalar>(row: &[T], x: impl Fn(usize) -> T) -> T {
    let mut s = [T::zero(); 8];
    let full = row.len() / 8 * 8;
    let mut b = 0;
    while b < full {
        for (l, acc) in s.iter_mut().enumerate() {
            *acc += row[b + l] * x(b + l);
        }
        b += 8;
    }
    for (l, acc) in s.iter_mut().enumerate().take(row.len() - full) {
        *acc += row[full + l] * x(full + l);
    }
    ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]))
}

/// [`coordinate_sweep`] on every lane of a block, the squared change of lane `l` in `out[l]`.
/// It sweeps groups of 8 lanes (16 in `f32`) at once, coordinate by coordinate, which the
/// compiler vectorises across the lanes: in place when the lanes are adjacent in memory
/// (`lane_stride` 1: the rows of a column-major W, the columns of a row-major H), otherwise
/// (the columns of a column-major H, the rows of a row-major W) through a copy of the group
/// on the stack, laid out so that entry `a` of the group's lanes is contiguous (lanes of more
/// than 128 entries that are not adjacent are swept one at a time instead). Each lane still
/// sees exactly the operations of [`coordinate_sweep`] in the same order (the partial sums of
/// [`gram_dot`], then the step), so the result has the same bits either way, on every
/// backend.
///
/// ```
/// use nmf_core::kernels::coordinate_sweep_block;
/// use nmf_core::lane::{BlockShape, LaneBlock, LaneBlockMut};
/// // Two lanes of length 2, adjacent (lane_stride 1): entry a of lane l at l + 2a.
/// let shape = BlockShape { lanes: 2, len: 2, lane_stride: 1, coord_stride: 2 };
/// let (g, num, mut x) = ([2.0_f64, 1.0, 1.0, 2.0], [3.0, 3.0, 3.0, 3.0], [1.0, 1.0, 1.0, 1.0]);
/// let mut out = [9.0; 2];
/// coordinate_sweep_block(&mut LaneBlockMut::from_slice(&mut x, shape), &LaneBlock::from_slice(&num, shape), &g, 0.0, 1e-9, &[0, 1], &mut out);
/// assert_eq!((x, out), ([1.0; 4], [0.0; 2]));
/// ```
///
/// # Panics
/// If the shapes of `x` and `num` differ (lanes and length), `out` has not one entry per
/// lane, or as [`coordinate_sweep`].
#[allow(clippy::too_many_arguments)]
pub fn coordinate_sweep_block<T: Scalar>(
    x: &mut crate::lane::LaneBlockMut<'_, T>,
    num: &crate::lane::LaneBlock<'_, T>,
    gram: &[T],
    l1: T,
    eps: T,
    order: &[usize],
    out: &mut [f64],
) {
    let (sx, sn) = (x.shape(), num.shape());
    assert!(
        sx.lanes == sn.lanes && sx.len == sn.len && out.len() == sx.lanes,
        "coordinate_sweep_block: shapes {sx:?}, {sn:?} and {} results",
        out.len()
    );
    let k = sx.len;
    if k == 0 || ((sx.lane_stride != 1 || sn.lane_stride != 1) && k > STAGE_MAX_K) {
        // (No coordinate, or lanes too long to stage: one lane at a time.)
        for (l, o) in out.iter_mut().enumerate() {
            *o = coordinate_sweep(&mut x.lane(l), &num.lane(l), gram, l1, eps, order);
        }
        return;
    }
    assert!(
        gram.len() == k * k,
        "coordinate_sweep_block: a {k}×{k} Gram matrix"
    );
    for &a in order {
        assert!(a < k, "coordinate_sweep_block: coordinate {a} of {k}");
    }
    let (xp, np) = (x.as_mut_ptr(), num.as_ptr());
    // SAFETY: every entry the kernel reaches is (l, a) at l·lane_stride + a·coord_stride with
    // l < lanes and a < k (the order is checked above), an entry of the block; x's entries
    // are distinct (LaneBlockMut's contract) and exclusively borrowed, num's shared, for the
    // whole call.
    unsafe { sweep_groups(xp, sx, np, sn, gram, l1, eps, order, out) }
}

/// The longest lanes the staged path of [`coordinate_sweep_block`] copies to the stack
/// ([`STAGE_LEN`] entries: 16 KiB in `f64`); longer lanes that are not adjacent are swept one
/// at a time.
const STAGE_MAX_K: usize = 128;

/// The stack buffer of the staged path: a group of lanes (at most 32) of at most
/// [`STAGE_MAX_K`] entries.
const STAGE_LEN: usize = 32 * STAGE_MAX_K;

/// The lane-group path of [`coordinate_sweep_block`], compiled for several instruction sets
/// like the slice kernels: groups of `G` lanes (8 in `f64`, 16 in `f32`: one 512-bit vector)
/// are swept together, coordinate by coordinate, by [`sweep_group`], which the compiler
/// vectorises across the lanes. Adjacent lanes (`lane_stride` 1: the rows of a column-major
/// W, the columns of a row-major H) are swept in place; other lanes (the columns of a
/// column-major H, whose entries are contiguous but whose lanes are not) are first copied,
/// `G` lanes at a time, into a stack buffer laid out coordinate by coordinate, and copied
/// back after the sweep: `k·G` reads and writes against the `k²·G` products of the sweep.
/// The lanes left over (fewer than `G`) are swept one at a time by [`coordinate_sweep`]. Each
/// lane gets the operations of [`coordinate_sweep`] in the same order wherever it is swept.
///
/// # Safety
/// Entry (l, a) of x at `xp + l·lane_stride + a·coord_stride` (shape `xs`) and of num at
/// `np + …` (shape `ns`) for l < lanes, a < len must be valid (x's for writing, exclusively,
/// distinct entries at distinct places); `xs` and `ns` have the same lanes and length, at
/// most [`STAGE_MAX_K`] coordinates unless both `lane_stride`s are 1; `order` holds indices
/// < len; `gram` has len² entries; `out` one entry per lane.
#[allow(clippy::too_many_arguments)]
#[multiversion(targets("x86_64+avx512f+avx512vl+avx512dq+avx512bw", "x86_64+avx2+fma"))]
unsafe fn sweep_groups<T: Scalar>(
    xp: *mut T,
    xs: crate::lane::BlockShape,
    np: *const T,
    ns: crate::lane::BlockShape,
    gram: &[T],
    l1: T,
    eps: T,
    order: &[usize],
    out: &mut [f64],
) {
    // Two vectors per partial sum (16 vector accumulators) with AVX-512's 32 registers, so
    // that two independent halves of the group hide each other's latency; with AVX2's 16
    // registers, 16 bytes... one 256-bit vector pair per partial sum.
    let wide = multiversion::target::target_cfg_f!(target_feature = "avx512f");
    let small = core::mem::size_of::<T>() <= 4;
    // SAFETY: the caller's contract.
    unsafe {
        match (wide, small) {
            (true, true) => sweep_groups_of::<T, 32>(xp, xs, np, ns, gram, l1, eps, order, out),
            (true, false) | (false, true) => {
                sweep_groups_of::<T, 16>(xp, xs, np, ns, gram, l1, eps, order, out)
            }
            (false, false) => sweep_groups_of::<T, 8>(xp, xs, np, ns, gram, l1, eps, order, out),
        }
    }
}

/// [`sweep_groups`] with groups of `G` lanes (`G` ≤ 16).
///
/// # Safety
/// As [`sweep_groups`].
#[allow(clippy::too_many_arguments)]
#[inline(always)]
unsafe fn sweep_groups_of<T: Scalar, const G: usize>(
    xp: *mut T,
    xs: crate::lane::BlockShape,
    np: *const T,
    ns: crate::lane::BlockShape,
    gram: &[T],
    l1: T,
    eps: T,
    order: &[usize],
    out: &mut [f64],
) {
    let (lanes, k) = (xs.lanes, xs.len);
    let (xls, xcs) = (xs.lane_stride, xs.coord_stride);
    let full = lanes / G * G;
    let (nls, ncs) = (ns.lane_stride, ns.coord_stride);
    let (staged, num_staged) = (xls != 1, nls != 1);
    // Written (entries a·G + l, a < k, l < G) before they are read.
    let mut stage = [core::mem::MaybeUninit::<T>::uninit(); STAGE_LEN];
    let mut num_stage = [core::mem::MaybeUninit::<T>::uninit(); STAGE_LEN];
    let mut l0 = 0;
    while l0 < full {
        // SAFETY (whole block): lanes l0..l0 + G < lanes of x and num, coordinates < k (the
        // caller's contract); a stage holds G·k ≤ STAGE_LEN entries when used.
        unsafe {
            let base = xp.offset(l0 as isize * xls);
            let (gp, gcs) = if staged {
                for a in 0..k {
                    for l in 0..G {
                        stage[a * G + l].write(*base.offset(l as isize * xls + a as isize * xcs));
                    }
                }
                (stage.as_mut_ptr().cast::<T>(), G as isize)
            } else {
                (base, xcs)
            };
            let nbase = np.offset(l0 as isize * nls);
            let (gnp, gncs) = if num_staged {
                for a in 0..k {
                    for l in 0..G {
                        num_stage[a * G + l]
                            .write(*nbase.offset(l as isize * nls + a as isize * ncs));
                    }
                }
                (num_stage.as_ptr().cast::<T>(), G as isize)
            } else {
                (nbase, ncs)
            };
            sweep_group::<T, G>(
                gp,
                gcs,
                gnp,
                gncs,
                k,
                gram,
                l1,
                eps,
                order,
                &mut out[l0..l0 + G],
            );
            if staged {
                for a in 0..k {
                    for l in 0..G {
                        *base.offset(l as isize * xls + a as isize * xcs) =
                            stage[a * G + l].assume_init();
                    }
                }
            }
        }
        l0 += G;
    }
    for (l, o) in out.iter_mut().enumerate().skip(full) {
        // SAFETY: lane l < lanes of x and num, its k entries valid (the caller's contract),
        // x's exclusively borrowed; no other reference to them is live.
        let (mut xl, nl) = unsafe {
            (
                crate::lane::LaneMut::from_raw_parts(xp.offset(l as isize * xls), k, xcs),
                crate::lane::Lane::from_raw_parts(
                    np.offset(l as isize * ns.lane_stride),
                    k,
                    ns.coord_stride,
                ),
            )
        };
        *o = coordinate_sweep(&mut xl, &nl, gram, l1, eps, order);
    }
}

/// One sweep of `G` lanes whose entries `a` lie together: entry a of lane l at
/// `xp + a·xcs + l` (num's at `np + a·ncs + l`). For each coordinate in `order`, the eight
/// partial sums of [`gram_dot`] (entry b into sum b mod 8, in increasing b, combined as
/// there) are formed for all `G` lanes at once, then each lane takes the step of
/// [`coordinate_sweep`]: per lane, the operations of [`coordinate_sweep`] in the same order.
/// The squared change of lane l goes to `out[l]`.
///
/// # Safety
/// Those entries must be valid for a < k, l < G (x's for writing, exclusively); `order`
/// holds indices < k; `gram` has k² entries; `out` has G entries.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
unsafe fn sweep_group<T: Scalar, const G: usize>(
    xp: *mut T,
    xcs: isize,
    np: *const T,
    ncs: isize,
    k: usize,
    gram: &[T],
    l1: T,
    eps: T,
    order: &[usize],
    out: &mut [f64],
) {
    let mut change = [0.0f64; G];
    // SAFETY: entry a of the G lanes, a < k (the caller's contract).
    let at = |a: usize| unsafe { xp.offset(a as isize * xcs) };
    for &a in order {
        let row = &gram[a * k..(a + 1) * k];
        let (chunks, rest) = row.as_chunks::<8>();
        let mut s = [[T::zero(); G]; 8];
        // (No bounds check in these loops, so that the partial sums stay in registers.)
        for (c, g8) in chunks.iter().enumerate() {
            for (i, si) in s.iter_mut().enumerate() {
                // SAFETY: entry 8c + i < k of the G lanes; no mutable reference is live.
                let xb = unsafe { &*(at(8 * c + i) as *const [T; G]) };
                for (acc, &v) in si.iter_mut().zip(xb) {
                    *acc += g8[i] * v;
                }
            }
        }
        let full = chunks.len() * 8;
        for (i, si) in s.iter_mut().enumerate() {
            if i < rest.len() {
                // SAFETY: as above, entry full + i < k.
                let xb = unsafe { &*(at(full + i) as *const [T; G]) };
                for (acc, &v) in si.iter_mut().zip(xb) {
                    *acc += rest[i] * v;
                }
            }
        }
        let gaa = row[a];
        // SAFETY: entry a < k of the G lanes, x's exclusively ours; no other reference to
        // them is live.
        let (xa, na) = unsafe {
            (
                &mut *(at(a) as *mut [T; G]),
                &*(np.offset(a as isize * ncs) as *const [T; G]),
            )
        };
        for l in 0..G {
            let dot = ((s[0][l] + s[1][l]) + (s[2][l] + s[3][l]))
                + ((s[4][l] + s[5][l]) + (s[6][l] + s[7][l]));
            let old = xa[l];
            let new = coordinate_step(old, na[l], l1, dot, gaa, eps);
            let d = new.as_f64() - old.as_f64();
            change[l] += d * d;
            xa[l] = new;
        }
    }
    out.copy_from_slice(&change);
}

#[cfg(test)]
mod tests {
    use super::beta_term;

    /// The three-term form, in f64, where it is accurate: β away from 0 and 1, moderate v, y.
    fn three_terms(v: f64, y: f64, beta: f64) -> f64 {
        v.powf(beta) / (beta * (beta - 1.0)) + y.powf(beta) / beta
            - v * y.powf(beta - 1.0) / (beta - 1.0)
    }

    #[test]
    fn beta_term_agrees_with_the_three_term_form_away_from_0_and_1() {
        for beta in [-0.5, 0.5, 1.5, 3.0, 3.5] {
            for (v, y) in [
                (1.0_f64, 2.0_f64),
                (3.0, 0.25),
                (0.7, 0.7),
                (5.0, 4.0),
                (1e-3, 10.0),
            ] {
                let (a, b) = (beta_term(v, y, beta), three_terms(v, y, beta));
                // Each form rounds to a few units (u = 2⁻⁵³) of the size S of the three terms
                // (powf, ln and expm1 are each within an ulp or two, and each term carries at
                // most four roundings): 64u·S bounds both errors together.
                let size = v.powf(beta) / (beta * (beta - 1.0)).abs()
                    + y.powf(beta) / beta.abs()
                    + v * y.powf(beta - 1.0) / (beta - 1.0).abs();
                let bound = 64.0 * f64::EPSILON / 2.0 * size;
                assert!(
                    (a - b).abs() <= bound,
                    "β = {beta}, v = {v}, y = {y}: {a} vs {b}"
                );
            }
        }
    }

    #[test]
    fn beta_term_near_0_and_1_is_the_limit_divergence() {
        // The limits: Itakura–Saito at β → 0 and KL at β → 1, to first order in β or β − 1
        // (d/dβ of the term is O(t²·v^β), here below 10), so |β| ≤ 1e-12 moves it by 1e-11.
        for (v, y) in [(2.0_f64, 1.0_f64), (1.0, 3.0), (1e-5, 1e-3), (1e10, 3e10)] {
            let is = v / y - (v / y).ln() - 1.0;
            let kl = v * (v / y).ln() - v + y;
            for d in [1e-300, -1e-300, 1e-200, 1e-12] {
                let scale = 1.0 + is.abs();
                assert!((beta_term(v, y, d) - is).abs() < 1e-11 * scale, "β = {d}");
                let scale = 1.0 + kl.abs() + v + y;
                assert!(
                    (beta_term(v, y, 1.0 + d) - kl).abs() < 1e-11 * scale,
                    "β = 1 + {d}"
                );
            }
        }
    }
}

/// The lane-group paths of `coordinate_sweep_block` (in place, staged, the lanes left over)
/// against `coordinate_sweep` one lane at a time: the same bits.
#[cfg(test)]
mod sweep_tests {
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    use super::{coordinate_sweep, coordinate_sweep_block};
    use crate::Scalar;
    use crate::lane::{BlockShape, Lane, LaneBlock, LaneBlockMut, LaneMut};

    fn check<T: Scalar>(lanes: usize, k: usize, seed: u64) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut draw = |n: usize, lo: f64, hi: f64| -> Vec<T> {
            (0..n)
                .map(|_| T::from_f64(rng.random_range(lo..hi)))
                .collect()
        };
        let g = draw(k * k, 0.0, 1.0);
        let mut gram = vec![T::zero(); k * k];
        for a in 0..k {
            for b in 0..k {
                gram[a * k + b] = g[a.min(b) * k + a.max(b)];
            }
            gram[a * k + a] += T::from_f64(k as f64);
        }
        let x0 = draw(lanes * k, 0.0, 3.0);
        let num = draw(lanes * k, -1.0, 5.0);
        let mut order: Vec<usize> = (0..k).collect();
        rand::seq::SliceRandom::shuffle(&mut order[..], &mut ChaCha8Rng::seed_from_u64(seed));
        let (l1, eps) = (T::from_f64(0.25), T::from_f64(1e-6));
        // Lane by lane, from lane-major copies (entry a of lane l at l·k + a).
        let mut want = x0.clone();
        let mut want_out = vec![0.0; lanes];
        for l in 0..lanes {
            want_out[l] = coordinate_sweep(
                &mut LaneMut::from_slice(&mut want[l * k..(l + 1) * k], k, 1),
                &Lane::from_slice(&num[l * k..(l + 1) * k], k, 1),
                &gram,
                l1,
                eps,
                &order,
            );
        }
        // Adjacent lanes (entry a of lane l at l + a·lanes) and lanes of contiguous entries.
        let adjacent = BlockShape {
            lanes,
            len: k,
            lane_stride: 1,
            coord_stride: lanes as isize,
        };
        let contiguous = BlockShape {
            lanes,
            len: k,
            lane_stride: k as isize,
            coord_stride: 1,
        };
        let at = |s: BlockShape, l: usize, a: usize| {
            (l as isize * s.lane_stride + a as isize * s.coord_stride) as usize
        };
        for (xs, ns) in [
            (adjacent, adjacent),
            (contiguous, contiguous),
            (adjacent, contiguous),
            (contiguous, adjacent),
        ] {
            let mut x = vec![T::zero(); lanes * k];
            let mut n = vec![T::zero(); lanes * k];
            for l in 0..lanes {
                for a in 0..k {
                    x[at(xs, l, a)] = x0[l * k + a];
                    n[at(ns, l, a)] = num[l * k + a];
                }
            }
            let mut out = vec![0.0; lanes];
            coordinate_sweep_block(
                &mut LaneBlockMut::from_slice(&mut x, xs),
                &LaneBlock::from_slice(&n, ns),
                &gram,
                l1,
                eps,
                &order,
                &mut out,
            );
            for l in 0..lanes {
                for a in 0..k {
                    assert!(
                        // (f32 → f64 is exact: equal bits in f64 are equal bits in f32.)
                        x[at(xs, l, a)].as_f64().to_bits() == want[l * k + a].as_f64().to_bits(),
                        "{} lanes {lanes}, k {k}, {xs:?}/{ns:?}: lane {l}, entry {a}",
                        T::NAME
                    );
                }
                assert_eq!(out[l].to_bits(), want_out[l].to_bits(), "lane {l}");
            }
        }
    }

    /// Lane counts around the group sizes (8, 16, 32), lengths around the eight partial sums
    /// and beyond the staged path's 128.
    #[test]
    fn grouped_sweeps_give_the_bits_of_one_lane_at_a_time() {
        let mut seed = 0;
        for lanes in [1, 7, 8, 15, 16, 17, 33, 70] {
            for k in [1, 2, 7, 8, 9, 17, 20, 130] {
                seed += 1;
                check::<f64>(lanes, k, seed);
                check::<f32>(lanes, k, seed);
            }
        }
    }
}
