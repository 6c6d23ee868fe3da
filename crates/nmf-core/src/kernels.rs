//! Entry-wise kernels on contiguous slices, shared by every backend.
//!
//! A backend applies these to the contiguous runs of its storage (whole buffers for
//! contiguous matrices, one column at a time for faer's padded columns). Writing each rule
//! once here is what makes the entry-wise steps bit-identical across backends.
//!
//! The slice kernels are compiled several times (AVX-512, AVX2+FMA, baseline) and the best
//! version for the running CPU is chosen at run time (`multiversion`), so a portable build
//! still runs wide vector code. Entry-wise IEEE operations give the same bits at every vector
//! width (Rust never contracts a multiply and an add into an FMA on its own).

use multiversion::multiversion;

use crate::Scalar;

/// The ε-lower-bounded multiplicative step for one entry: `max(ε, x·num/den)`, computed as
/// `(x·num)/den`.
///
/// This is the exact minimiser over `{h ≥ ε}` of the separable auxiliary function (see
/// [`crate::auxiliary`]), so the loss cannot rise. Two guards keep floating point from
/// breaking that, and neither changes a finite result:
/// - `0/0` (an entry whose numerator and denominator both underflowed) gives NaN, and
///   `max(ε, NaN) = ε`;
/// - `q = +∞` (a denominator that underflowed to 0 under a positive numerator) keeps `x`,
///   which is feasible and leaves the auxiliary function at `F(x)`, so monotonicity holds.
///
/// ```
/// use nmf_core::kernels::mu_step;
/// assert_eq!(mu_step(2.0_f64, 3.0, 4.0, 1e-9), 1.5);
/// assert_eq!(mu_step(2.0_f64, 0.0, 4.0, 1e-9), 1e-9); // a zero numerator lands on ε
/// assert_eq!(mu_step(2.0_f64, 0.0, 0.0, 1e-9), 1e-9); // 0/0
/// assert_eq!(mu_step(2.0_f64, 1.0, 0.0, 1e-9), 2.0); // x/0: keep x
/// ```
#[inline(always)]
pub fn mu_step<T: Scalar>(x: T, num: T, den: T, eps: T) -> T {
    let q = x * num / den;
    let q = if q == T::infinity() { x } else { q };
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
#[inline]
pub fn sum_slice<T: Scalar>(acc: &mut F64Sum, x: &[T]) {
    for &x in x {
        acc.add(x.as_f64());
    }
}

/// Adds `½ Σ (vᵢ − whᵢ)²` to `acc`, in `f64`.
///
/// # Panics
/// If the lengths differ.
#[inline]
pub fn frobenius_slice<T: Scalar>(acc: &mut F64Sum, v: &[T], wh: &[T]) {
    assert!(v.len() == wh.len(), "frobenius_slice: length mismatch");
    for (&v, &wh) in v.iter().zip(wh) {
        let d = v.as_f64() - wh.as_f64();
        acc.add(0.5 * d * d);
    }
}

/// Adds `Σ kl_term(vᵢ, whᵢ)` to `acc`.
///
/// # Panics
/// If the lengths differ.
#[inline]
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
