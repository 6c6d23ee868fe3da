//! The [`MatrixBackend`] trait that each linear-algebra crate implements, and [`DataOps`], the
//! operations that touch the data matrix V.
//!
//! The split is what lets V have another type than the factors: W and H are always dense
//! (`MatrixBackend::Mat`), while V is any type `V` for which the backend implements
//! `DataOps<T, V>`. Dense V uses the backend's own matrix type, implemented once for all
//! backends by [`dense_data_ops!`](crate::dense_data_ops); a sparse V (CSR/CSC) only has to
//! implement the handful of [`DataOps`] methods, and the algorithms in [`crate::update`] do not
//! change.
//!
//! # Contracts
//! Every method that takes several matrices requires their shapes to agree; a mismatch is a
//! programming error inside the library and **panics** (the algorithms allocate every buffer
//! with the right shape). User data is checked before it reaches a kernel, and problems with it
//! are returned as [`NmfError`](crate::NmfError) values by the fitting API.

#[allow(unused_imports)] // for the docs
use crate::lane::BlockShape;
use crate::lane::{LaneBlock, LaneBlockMut, Lanes};
use crate::{NmfError, Scalar};

/// What [`MatrixBackend::for_each_lane`] applies to each block of lanes.
pub type LaneFn<'f, T> =
    dyn Fn(&mut LaneBlockMut<'_, T>, &LaneBlock<'_, T>, &mut [f64]) + Sync + 'f;

/// Whether an operand of a product is used as it is or transposed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Trans {
    /// Use the matrix as stored.
    No,
    /// Use its transpose (a free change of strides, never a copy).
    Yes,
}

impl Trans {
    /// The shape of `op(A)` for an `A` of shape `(rows, cols)`.
    ///
    /// ```
    /// use nmf_core::Trans;
    /// assert_eq!(Trans::Yes.apply((2, 3)), (3, 2));
    /// assert_eq!(Trans::No.apply((2, 3)), (2, 3));
    /// ```
    pub fn apply(self, (rows, cols): (usize, usize)) -> (usize, usize) {
        match self {
            Trans::No => (rows, cols),
            Trans::Yes => (cols, rows),
        }
    }
}

/// What a product does with its destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Accum {
    /// `dst = α·op(A)·op(B)`. The destination is never read: it may hold NaN or garbage.
    Replace,
    /// `dst += α·op(A)·op(B)`.
    Add,
}

/// Dense matrix storage and the kernels the multiplicative updates need, for one scalar type.
///
/// A backend is a small value holding settings (such as the number of threads); its matrices
/// are the associated type [`Mat`](MatrixBackend::Mat), for example `faer::Mat<T>`,
/// `nalgebra::DMatrix<T>` or `ndarray::Array2<T>`. Kernels write into caller-owned
/// destinations, so a fit allocates its buffers once and its iterations allocate nothing.
///
/// Required: shapes, construction, export, the product, and the fused elementwise kernels and
/// reductions. Provided: conveniences built on them.
///
/// Entry-wise kernels (the `mu_update*` family, [`kl_ratio_in_place`](Self::kl_ratio_in_place))
/// must give bit-identical results on every backend: each entry is computed by the same
/// sequence of IEEE operations, as written in [`crate::kernels`]. Products and reductions may
/// differ in the order of their additions.
///
/// ```
/// use nmf_core::{MatrixBackend, reference::Reference};
/// let b = Reference;
/// let a = b.from_row_major(2, 3, &[1.0_f64, 2.0, 3.0, 4.0, 5.0, 6.0]).unwrap();
/// assert_eq!(b.shape(&a), (2, 3));
/// assert_eq!(b.to_row_major(&a), vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
/// ```
pub trait MatrixBackend<T: Scalar> {
    /// The dense matrix type of W, H and the work buffers.
    type Mat: Clone + core::fmt::Debug + Send + Sync;

    // ---- shape, construction, export -------------------------------------------------

    /// Number of rows of `a`.
    fn nrows(&self, a: &Self::Mat) -> usize;
    /// Number of columns of `a`.
    fn ncols(&self, a: &Self::Mat) -> usize;
    /// `(rows, columns)` of `a`.
    fn shape(&self, a: &Self::Mat) -> (usize, usize) {
        (self.nrows(a), self.ncols(a))
    }
    /// A `rows × cols` matrix with entry `(i, j)` equal to `f(i, j)`.
    // The backend is the factory of its matrices, so the constructors take `&self`.
    #[allow(clippy::wrong_self_convention)]
    fn from_fn(&self, rows: usize, cols: usize, f: impl FnMut(usize, usize) -> T) -> Self::Mat;
    /// A `rows × cols` matrix of zeros.
    fn zeros(&self, rows: usize, cols: usize) -> Self::Mat {
        self.from_fn(rows, cols, |_, _| T::zero())
    }
    /// A matrix from its entries in row-major order.
    ///
    /// # Errors
    /// [`NmfError::DataLength`] if `data.len() != rows * cols`.
    #[allow(clippy::wrong_self_convention)]
    fn from_row_major(&self, rows: usize, cols: usize, data: &[T]) -> Result<Self::Mat, NmfError> {
        if rows.checked_mul(cols) != Some(data.len()) {
            return Err(NmfError::DataLength {
                rows,
                cols,
                len: data.len(),
            });
        }
        Ok(self.from_fn(rows, cols, |i, j| data[i * cols + j]))
    }
    /// The entries of `a` in row-major order.
    fn to_row_major(&self, a: &Self::Mat) -> Vec<T>;

    // ---- products ---------------------------------------------------------------------

    /// `dst = α·op(a)·op(b)` ([`Accum::Replace`], which never reads `dst`) or
    /// `dst += α·op(a)·op(b)` ([`Accum::Add`]). Transposes are flags, never copies.
    ///
    /// # Panics
    /// If the shapes do not agree.
    #[allow(clippy::too_many_arguments)]
    fn matmul(
        &self,
        dst: &mut Self::Mat,
        accum: Accum,
        alpha: T,
        a: &Self::Mat,
        trans_a: Trans,
        b: &Self::Mat,
        trans_b: Trans,
    );

    // ---- fused elementwise kernels ----------------------------------------------------

    /// `dst ← src`.
    ///
    /// # Panics
    /// If the shapes differ.
    fn copy_from(&self, dst: &mut Self::Mat, src: &Self::Mat);
    /// `a ← max(lo, a)` entry by entry (lifts initial factors to the lower bound ε).
    fn clamp_min(&self, a: &mut Self::Mat, lo: T);
    /// The ε-lower-bounded multiplicative step `x ← max(ε, x·num/den)`, entry by entry, as
    /// defined in [`crate::kernels::mu_step`].
    ///
    /// # Panics
    /// If the shapes differ.
    fn mu_update(&self, x: &mut Self::Mat, num: &Self::Mat, den: &Self::Mat, eps: T);
    /// `x_ij ← max(ε, x_ij·num_ij/den_i)`: the denominator is one value per row.
    ///
    /// # Panics
    /// If the shapes differ or `den.len() != rows`.
    fn mu_update_row_den(&self, x: &mut Self::Mat, num: &Self::Mat, den: &[T], eps: T);
    /// `x_ij ← max(ε, x_ij·num_ij/den_j)`: the denominator is one value per column.
    ///
    /// # Panics
    /// If the shapes differ or `den.len() != cols`.
    fn mu_update_col_den(&self, x: &mut Self::Mat, num: &Self::Mat, den: &[T], eps: T);
    /// The ε-lower-bounded step with an L2 penalty, `x ← max(ε, root of l2·x⁺² + den·x⁺ =
    /// x·num)`, entry by entry, as defined in [`crate::kernels::mu_step_l2`] (the KL update
    /// with an L2 penalty).
    ///
    /// # Panics
    /// If the shapes differ.
    fn mu_update_l2(&self, x: &mut Self::Mat, num: &Self::Mat, den: &Self::Mat, l2: T, eps: T);
    /// The ε-lower-bounded β-divergence step `x ← max(ε, x·(num/den)^γ)`, entry by entry, as
    /// defined in [`crate::kernels::mu_step_pow`].
    ///
    /// # Panics
    /// If the shapes differ.
    fn mu_update_pow(&self, x: &mut Self::Mat, num: &Self::Mat, den: &Self::Mat, gamma: T, eps: T);
    /// `(a, b) ← (v·a^(β−2), a^(β−1))` entry by entry, the first exactly 0 where `v` is 0 (see
    /// [`crate::kernels::beta_parts`]): called with `a = WH`, it leaves the two factors of the
    /// β-divergence updates.
    ///
    /// # Panics
    /// If the shapes differ.
    fn beta_parts_in_place(&self, a: &mut Self::Mat, b: &mut Self::Mat, v: &Self::Mat, beta: T);
    /// `r ← v / r` entry by entry, with exactly 0 where `v` is 0 (whatever `r` holds there):
    /// called with `r = WH`, it leaves the KL ratio V/(WH).
    ///
    /// # Panics
    /// If the shapes differ.
    fn kl_ratio_in_place(&self, r: &mut Self::Mat, v: &Self::Mat);

    // ---- lane traversal (coordinate descent) ------------------------------------------

    /// Hands the lanes of `x` (its columns for [`Lanes::Columns`], its rows for
    /// [`Lanes::Rows`]) with the same lanes of `num` to `f`, in one or more blocks of
    /// consecutive lanes: for the block of lanes `l0..l1`, `f(block of x, block of num,
    /// &mut out[l0..l1])`. The blocks are views of the storage ([`BlockShape`] says where each
    /// entry is), never copies; each lane is in exactly one block, so blocks may run on
    /// several threads, but a lane's result must not depend on how the lanes are blocked (the
    /// kernels of [`crate::kernels`] give each lane the same operations in the same order:
    /// bit-identical results on every backend). This is how nmf-core's
    /// [`coordinate_sweep_block`](crate::kernels::coordinate_sweep_block) reaches the columns
    /// of H and the rows of W (HALS).
    ///
    /// # Panics
    /// If the shapes of `x` and `num` differ or `out` does not have one entry per lane.
    fn for_each_lane(
        &self,
        x: &mut Self::Mat,
        num: &Self::Mat,
        lanes: Lanes,
        out: &mut [f64],
        f: &LaneFn<'_, T>,
    );
    /// Writes the entries of `a` into `out` in row-major order, allocating nothing (for the
    /// k×k Gram matrices of the coordinate sweeps).
    ///
    /// # Panics
    /// If `out.len()` is not the number of entries of `a`.
    fn copy_to_row_major(&self, a: &Self::Mat, out: &mut [T]);

    // ---- reductions -----------------------------------------------------------------

    /// `out_i = Σ_j a_ij`.
    ///
    /// # Panics
    /// If `out.len() != rows`.
    fn row_sums(&self, a: &Self::Mat, out: &mut [T]);
    /// `out_j = Σ_i a_ij`.
    ///
    /// # Panics
    /// If `out.len() != cols`.
    fn col_sums(&self, a: &Self::Mat, out: &mut [T]);
    /// `Σ_ij a_ij`, accumulated in `f64`.
    fn sum(&self, a: &Self::Mat) -> f64;
    /// `½ Σ_ij (v_ij − wh_ij)²`, accumulated in `f64`.
    ///
    /// # Panics
    /// If the shapes differ.
    fn frobenius_loss(&self, v: &Self::Mat, wh: &Self::Mat) -> f64;
    /// `Σ_ij v_ij·log(v_ij/wh_ij) − v_ij + wh_ij`, with `0·log 0 = 0`, accumulated in `f64`
    /// (see [`crate::kernels::kl_term`]).
    ///
    /// # Panics
    /// If the shapes differ.
    fn kl_loss(&self, v: &Self::Mat, wh: &Self::Mat) -> f64;
    /// `Σ_ij d_β(v_ij | wh_ij)` in `f64` (see [`crate::kernels::beta_term`]).
    ///
    /// # Panics
    /// If the shapes differ.
    fn beta_loss(&self, v: &Self::Mat, wh: &Self::Mat, beta: f64) -> f64;
    /// The first zero entry in row-major order (the β-divergence with β ≤ 0 is infinite there).
    /// Provided through [`to_row_major`](Self::to_row_major); it runs once per fit.
    fn first_zero(&self, a: &Self::Mat) -> Option<(usize, usize)> {
        let cols = self.ncols(a);
        let idx = self.to_row_major(a).iter().position(|x| *x == T::zero())?;
        Some((idx / cols, idx % cols))
    }
    /// The `k` leading singular triplets of `a`, if this backend has a dense SVD (faer and
    /// nalgebra do); `None` (the default) makes the NNDSVD initialisation use the
    /// backend-agnostic randomized SVD of [`crate::svd`] instead.
    fn truncated_svd(&self, a: &Self::Mat, k: usize) -> Option<TruncatedSvd<T>> {
        let _ = (a, k);
        None
    }
    /// The first entry (in row-major order) that is negative, NaN or infinite, as
    /// `(row, column, value)`.
    fn first_invalid(&self, a: &Self::Mat) -> Option<(usize, usize, T)>;
}

/// The `k` leading singular triplets of an m×n matrix, `A ≈ U·diag(σ)·Vᵀ`, in row-major
/// order, singular values non-increasing.
#[derive(Debug, Clone, PartialEq)]
pub struct TruncatedSvd<T> {
    /// U (m×k), orthonormal columns.
    pub u: Vec<T>,
    /// σ (k), non-negative, non-increasing.
    pub s: Vec<T>,
    /// Vᵀ (k×n), orthonormal rows.
    pub vt: Vec<T>,
    /// m.
    pub rows: usize,
    /// n.
    pub cols: usize,
    /// k.
    pub rank: usize,
}

impl<T: Scalar> TruncatedSvd<T> {
    /// The same SVD with each pair (u_j, v_j) given the sign that makes the entry of u_j of
    /// largest magnitude positive (the first such entry on ties): singular vectors are defined
    /// up to a common sign, so two correct SVDs compare equal (to rounding) after this.
    ///
    /// ```
    /// use nmf_core::TruncatedSvd;
    /// let svd = TruncatedSvd { u: vec![-0.6_f64, -0.8], s: vec![5.0], vt: vec![-1.0, 0.0], rows: 2, cols: 2, rank: 1 };
    /// let c = svd.with_canonical_signs();
    /// assert_eq!((c.u, c.vt), (vec![0.6, 0.8], vec![1.0, 0.0]));
    /// ```
    pub fn with_canonical_signs(mut self) -> Self {
        let (m, n, k) = (self.rows, self.cols, self.rank);
        for j in 0..k {
            let big = (0..m)
                .map(|i| self.u[i * k + j])
                .fold(T::zero(), |b, x| if x.abs() > b.abs() { x } else { b });
            if big < T::zero() {
                (0..m).for_each(|i| self.u[i * k + j] = -self.u[i * k + j]);
                self.vt[j * n..(j + 1) * n]
                    .iter_mut()
                    .for_each(|x| *x = -*x);
            }
        }
        self
    }
}

/// The operations of the multiplicative updates that involve the data matrix V, of type `V`.
///
/// For dense V (`V = Self::Mat`) every backend gets them from
/// [`dense_data_ops!`](crate::dense_data_ops). A sparse V implements them directly; the
/// buffer for the KL ratio V/(WH) has V's type too (for a sparse V it keeps V's pattern).
pub trait DataOps<T: Scalar, V>: MatrixBackend<T> {
    /// `(rows, columns)` of V.
    fn data_shape(&self, v: &V) -> (usize, usize);
    /// The first stored entry (in row-major order) that is negative, NaN or infinite.
    fn data_first_invalid(&self, v: &V) -> Option<(usize, usize, T)>;
    /// `Σ_ij v_ij`, accumulated in `f64`.
    fn data_sum(&self, v: &V) -> f64;
    /// The `k` leading singular triplets of V from the backend's own SVD, if it has one.
    fn data_truncated_svd(&self, v: &V, k: usize) -> Option<TruncatedSvd<T>>;
    /// The first stored zero (in row-major order); for a sparse V, an entry not stored.
    fn data_first_zero(&self, v: &V) -> Option<(usize, usize)>;
    /// A buffer shaped like V (contents unspecified), for the KL ratio and loss evaluation.
    fn data_buffer(&self, v: &V) -> V;
    /// `dst = Wᵀ·X` (k×n) for X of V's type (V itself or the KL ratio).
    ///
    /// # Panics
    /// If the shapes do not agree.
    fn wt_x(&self, dst: &mut Self::Mat, w: &Self::Mat, x: &V);
    /// `dst = X·Hᵀ` (m×k) for X of V's type.
    ///
    /// # Panics
    /// If the shapes do not agree.
    fn x_ht(&self, dst: &mut Self::Mat, x: &V, h: &Self::Mat);
    /// `r = V / (WH)` entry by entry, exactly 0 where V is 0.
    ///
    /// # Panics
    /// If the shapes do not agree.
    fn kl_ratio(&self, r: &mut V, v: &V, w: &Self::Mat, h: &Self::Mat);
    /// `a = V·(WH)^(β−2)` (0 where V is 0) and `b = (WH)^(β−1)`, entry by entry.
    ///
    /// # Panics
    /// If the shapes do not agree.
    #[allow(clippy::too_many_arguments)]
    fn beta_parts(&self, a: &mut V, b: &mut V, v: &V, w: &Self::Mat, h: &Self::Mat, beta: T);
    /// `D_β(V‖WH)` in `f64`; `scratch` is overwritten.
    fn data_beta_loss(
        &self,
        v: &V,
        w: &Self::Mat,
        h: &Self::Mat,
        scratch: &mut V,
        beta: f64,
    ) -> f64;
    /// `½‖V − WH‖²_F` in `f64`; `scratch` (from [`data_buffer`](Self::data_buffer)) is
    /// overwritten.
    fn data_frobenius_loss(&self, v: &V, w: &Self::Mat, h: &Self::Mat, scratch: &mut V) -> f64;
    /// `D(V‖WH)` in `f64`; `scratch` is overwritten.
    fn data_kl_loss(&self, v: &V, w: &Self::Mat, h: &Self::Mat, scratch: &mut V) -> f64;
    /// A new buffer holding `V / d`, entry by entry, for a power of two `d` (so exact): the
    /// data of a fit rescaled for floating point (see the crate docs, "The guarantee"). Made
    /// once per fit, and only for data whose mean lies outside the range where the fit is
    /// safe as it is. `None` (the default) if this data type cannot be rescaled; the fit
    /// then runs on V as it is.
    fn data_scaled(&self, v: &V, d: T) -> Option<V> {
        let _ = (v, d);
        None
    }
    /// Writes V's entries into `out` (m·n of them) in row-major order and returns `true`, for
    /// the rules that sweep V's rows and columns themselves (KL coordinate descent,
    /// [`CdKlSolver`](crate::CdKlSolver)); `false` (the default) if this data type has no
    /// dense entries to give, leaving `out` as it was.
    ///
    /// # Panics
    /// If `out.len()` is not m·n (for a data type that writes).
    fn data_to_row_major(&self, v: &V, out: &mut [T]) -> bool {
        let _ = (v, out);
        false
    }
}

/// `dst = W·H` inside [`dense_data_ops!`] (not part of the API).
#[doc(hidden)]
#[macro_export]
macro_rules! __dense_wh {
    ($self:ident, $t:ty, $dst:ident, $w:ident, $h:ident) => {
        <Self as $crate::MatrixBackend<$t>>::matmul(
            $self,
            $dst,
            $crate::Accum::Replace,
            <$t as $crate::num_traits::One>::one(),
            $w,
            $crate::Trans::No,
            $h,
            $crate::Trans::No,
        )
    };
}

/// Implements [`DataOps<T, Self::Mat>`](DataOps) (dense V) from a backend's
/// [`MatrixBackend`] kernels. Use it inside the impl block, naming the scalar type parameter:
///
/// ```ignore
/// impl<T: MyScalar> nmf_core::DataOps<T, MyMat<T>> for MyBackend {
///     nmf_core::dense_data_ops!(T);
/// }
/// ```
///
/// (A blanket impl over every backend would forbid a backend from also implementing
/// `DataOps` for a sparse type, so each backend opts in with this one line.)
#[macro_export]
macro_rules! dense_data_ops {
    ($t:ty) => {
        fn data_shape(&self, v: &<Self as $crate::MatrixBackend<$t>>::Mat) -> (usize, usize) {
            <Self as $crate::MatrixBackend<$t>>::shape(self, v)
        }
        fn data_first_invalid(
            &self,
            v: &<Self as $crate::MatrixBackend<$t>>::Mat,
        ) -> Option<(usize, usize, $t)> {
            <Self as $crate::MatrixBackend<$t>>::first_invalid(self, v)
        }
        fn data_sum(&self, v: &<Self as $crate::MatrixBackend<$t>>::Mat) -> f64 {
            <Self as $crate::MatrixBackend<$t>>::sum(self, v)
        }
        fn data_truncated_svd(
            &self,
            v: &<Self as $crate::MatrixBackend<$t>>::Mat,
            k: usize,
        ) -> Option<$crate::TruncatedSvd<$t>> {
            <Self as $crate::MatrixBackend<$t>>::truncated_svd(self, v, k)
        }
        fn data_first_zero(
            &self,
            v: &<Self as $crate::MatrixBackend<$t>>::Mat,
        ) -> Option<(usize, usize)> {
            <Self as $crate::MatrixBackend<$t>>::first_zero(self, v)
        }
        fn beta_parts(
            &self,
            a: &mut <Self as $crate::MatrixBackend<$t>>::Mat,
            b: &mut <Self as $crate::MatrixBackend<$t>>::Mat,
            v: &<Self as $crate::MatrixBackend<$t>>::Mat,
            w: &<Self as $crate::MatrixBackend<$t>>::Mat,
            h: &<Self as $crate::MatrixBackend<$t>>::Mat,
            beta: $t,
        ) {
            $crate::__dense_wh!(self, $t, a, w, h);
            <Self as $crate::MatrixBackend<$t>>::beta_parts_in_place(self, a, b, v, beta)
        }
        fn data_beta_loss(
            &self,
            v: &<Self as $crate::MatrixBackend<$t>>::Mat,
            w: &<Self as $crate::MatrixBackend<$t>>::Mat,
            h: &<Self as $crate::MatrixBackend<$t>>::Mat,
            scratch: &mut <Self as $crate::MatrixBackend<$t>>::Mat,
            beta: f64,
        ) -> f64 {
            $crate::__dense_wh!(self, $t, scratch, w, h);
            <Self as $crate::MatrixBackend<$t>>::beta_loss(self, v, scratch, beta)
        }
        fn data_buffer(
            &self,
            v: &<Self as $crate::MatrixBackend<$t>>::Mat,
        ) -> <Self as $crate::MatrixBackend<$t>>::Mat {
            let (m, n) = <Self as $crate::MatrixBackend<$t>>::shape(self, v);
            <Self as $crate::MatrixBackend<$t>>::zeros(self, m, n)
        }
        fn wt_x(
            &self,
            dst: &mut <Self as $crate::MatrixBackend<$t>>::Mat,
            w: &<Self as $crate::MatrixBackend<$t>>::Mat,
            x: &<Self as $crate::MatrixBackend<$t>>::Mat,
        ) {
            <Self as $crate::MatrixBackend<$t>>::matmul(
                self,
                dst,
                $crate::Accum::Replace,
                <$t as $crate::num_traits::One>::one(),
                w,
                $crate::Trans::Yes,
                x,
                $crate::Trans::No,
            )
        }
        fn x_ht(
            &self,
            dst: &mut <Self as $crate::MatrixBackend<$t>>::Mat,
            x: &<Self as $crate::MatrixBackend<$t>>::Mat,
            h: &<Self as $crate::MatrixBackend<$t>>::Mat,
        ) {
            <Self as $crate::MatrixBackend<$t>>::matmul(
                self,
                dst,
                $crate::Accum::Replace,
                <$t as $crate::num_traits::One>::one(),
                x,
                $crate::Trans::No,
                h,
                $crate::Trans::Yes,
            )
        }
        fn kl_ratio(
            &self,
            r: &mut <Self as $crate::MatrixBackend<$t>>::Mat,
            v: &<Self as $crate::MatrixBackend<$t>>::Mat,
            w: &<Self as $crate::MatrixBackend<$t>>::Mat,
            h: &<Self as $crate::MatrixBackend<$t>>::Mat,
        ) {
            $crate::__dense_wh!(self, $t, r, w, h);
            <Self as $crate::MatrixBackend<$t>>::kl_ratio_in_place(self, r, v)
        }
        fn data_frobenius_loss(
            &self,
            v: &<Self as $crate::MatrixBackend<$t>>::Mat,
            w: &<Self as $crate::MatrixBackend<$t>>::Mat,
            h: &<Self as $crate::MatrixBackend<$t>>::Mat,
            scratch: &mut <Self as $crate::MatrixBackend<$t>>::Mat,
        ) -> f64 {
            $crate::__dense_wh!(self, $t, scratch, w, h);
            <Self as $crate::MatrixBackend<$t>>::frobenius_loss(self, v, scratch)
        }
        fn data_scaled(
            &self,
            v: &<Self as $crate::MatrixBackend<$t>>::Mat,
            d: $t,
        ) -> Option<<Self as $crate::MatrixBackend<$t>>::Mat> {
            let (m, n) = <Self as $crate::MatrixBackend<$t>>::shape(self, v);
            let mut out = <Self as $crate::MatrixBackend<$t>>::from_fn(self, m, n, |_, _| d);
            // kl_ratio_in_place: out ← v / out, exactly 0 where v is 0.
            <Self as $crate::MatrixBackend<$t>>::kl_ratio_in_place(self, &mut out, v);
            Some(out)
        }
        fn data_to_row_major(
            &self,
            v: &<Self as $crate::MatrixBackend<$t>>::Mat,
            out: &mut [$t],
        ) -> bool {
            <Self as $crate::MatrixBackend<$t>>::copy_to_row_major(self, v, out);
            true
        }
        fn data_kl_loss(
            &self,
            v: &<Self as $crate::MatrixBackend<$t>>::Mat,
            w: &<Self as $crate::MatrixBackend<$t>>::Mat,
            h: &<Self as $crate::MatrixBackend<$t>>::Mat,
            scratch: &mut <Self as $crate::MatrixBackend<$t>>::Mat,
        ) -> f64 {
            $crate::__dense_wh!(self, $t, scratch, w, h);
            <Self as $crate::MatrixBackend<$t>>::kl_loss(self, v, scratch)
        }
    };
}

/// A backend whose data matrix V is its own dense matrix type: what every backend crate
/// provides, and the bound to write when generic over backends with dense data.
///
/// ```
/// use nmf_core::{DenseBackend, Nmf, NmfError, Scalar, reference::Reference};
/// fn rank_one_loss<T: Scalar, B: DenseBackend<T>>(b: &B, v: &B::Mat) -> Result<f64, NmfError> {
///     Ok(Nmf::params(1).fit(b, v)?.final_loss())
/// }
/// let v = nmf_core::MatrixBackend::<f64>::from_row_major(&Reference, 1, 2, &[1.0, 2.0]).unwrap();
/// assert!(rank_one_loss(&Reference, &v).unwrap() < 1e-10);
/// ```
pub trait DenseBackend<T: Scalar>:
    MatrixBackend<T> + DataOps<T, <Self as MatrixBackend<T>>::Mat>
{
}

impl<T: Scalar, B> DenseBackend<T> for B where
    B: MatrixBackend<T> + DataOps<T, <B as MatrixBackend<T>>::Mat>
{
}
