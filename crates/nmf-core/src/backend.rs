//! The [`MatrixBackend`] trait that each linear-algebra crate implements: dense storage for
//! W, H and the work buffers, products with transposes as flags, and a few traversals of the
//! storage through which nmf-core applies every entry-wise rule of [`crate::kernels`] (so a
//! backend crate is a thin adapter and the rules are written once).
//!
//! The data matrix V is reached through the data term, [`DataOps`](crate::DataOps) (see
//! [`crate::data`]), so that V can have another type than the factors.
//!
//! # Contracts
//! Every method that takes several matrices requires their shapes to agree; a mismatch is a
//! programming error inside the library and **panics** (the algorithms allocate every buffer
//! with the right shape). User data is checked before it reaches a kernel, and problems with it
//! are returned as [`NmfError`](crate::NmfError) values by the fitting API.

#[allow(unused_imports)] // for the docs
use crate::lane::BlockShape;
use crate::lane::{LaneBlock, LaneBlockMut, Lanes};
use crate::{NmfError, Scalar, kernels};

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

/// Which way a [`Run`] goes through a matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RunAxis {
    /// Along a row: the entries `(row, col), (row, col + 1), …` (row-major storage).
    Row,
    /// Down a column: the entries `(row, col), (row + 1, col), …` (column-major storage).
    Column,
}

/// Where the contiguous slices handed to a traversal closure lie in their matrix: `len`
/// consecutive entries from `(row, col)` along `axis`. The same run is used for every matrix
/// of one traversal (they share a shape), so slice `i` of each is the same entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Run {
    /// The row of the first entry.
    pub row: usize,
    /// The column of the first entry.
    pub col: usize,
    /// The direction of the run.
    pub axis: RunAxis,
    /// The number of entries.
    pub len: usize,
}

impl Run {
    /// The range of rows (for [`RunAxis::Column`]) or columns (for [`RunAxis::Row`]) the
    /// run covers.
    pub fn span(&self) -> core::ops::Range<usize> {
        match self.axis {
            RunAxis::Row => self.col..self.col + self.len,
            RunAxis::Column => self.row..self.row + self.len,
        }
    }
}

/// The most matrices a traversal writes ([`MatrixBackend::zip_mut`]).
pub const MAX_ZIP_OUTS: usize = 2;
/// The most matrices a traversal reads ([`MatrixBackend::zip_mut`], [`MatrixBackend::reduce`],
/// [`MatrixBackend::visit`]).
pub const MAX_ZIP_INS: usize = 3;

/// What [`MatrixBackend::zip_mut`] applies to each run: the run, the slices of the matrices
/// written, the slices of the matrices read (in the order given).
pub type ZipFn<'f, T> = dyn Fn(Run, &mut [&mut [T]], &[&[T]]) + Sync + 'f;
/// What [`MatrixBackend::reduce`] applies to each run: adds its terms to the sum.
pub type ReduceFn<'f, T> = dyn Fn(Run, &[&[T]], &mut crate::kernels::F64Sum) + Sync + 'f;
/// What [`MatrixBackend::visit`] applies to each run, in order, on one thread.
pub type VisitFn<'f, T> = dyn FnMut(Run, &[&[T]]) + 'f;

/// Dense matrix storage for one scalar type: shapes, products and a few traversals of the
/// storage, from which nmf-core builds everything else.
///
/// A backend is a small value holding settings (such as the number of threads); its matrices
/// are the associated type [`Mat`](MatrixBackend::Mat), for example `faer::Mat<T>`,
/// `nalgebra::DMatrix<T>` or `ndarray::Array2<T>`. Everything writes into caller-owned
/// destinations, so a fit allocates its buffers once and its iterations allocate nothing.
///
/// Required (the thin adapter a backend crate writes): shapes, construction, the product
/// [`matmul`](Self::matmul) (transposes as flags), and the traversals
/// [`zip_mut`](Self::zip_mut) (entry-wise maps, parallel where the backend is),
/// [`reduce`](Self::reduce) (`f64` sums with a blocking fixed by the shape) and
/// [`visit`](Self::visit) (in order, on one thread), plus [`for_each_lane`](Self::for_each_lane)
/// for the coordinate sweeps. Provided, written once here: the entry-wise kernels of the
/// multiplicative updates (the `mu_update*` family, [`kl_ratio_in_place`](Self::kl_ratio_in_place),
/// [`beta_parts_in_place`](Self::beta_parts_in_place)), [`add_scalar`](Self::add_scalar),
/// [`axpy`](Self::axpy), [`add_diag`](Self::add_diag), [`sq_norm`](Self::sq_norm), the
/// losses and the row and column sums. A backend may override a provided method with a
/// faster one that gives the same results.
///
/// Entry-wise results are bit-identical on every backend: each entry is computed by the same
/// sequence of IEEE operations, as written in [`crate::kernels`], whatever runs the storage
/// is cut into. Products and `f64` reductions may differ in the order of their additions.
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
    /// A matrix of zeros shaped like `a`, stored like `a` where the backend has a choice (so
    /// that traversals of the two hand contiguous runs): the data term's buffers for V.
    fn zeros_like(&self, a: &Self::Mat) -> Self::Mat {
        let (rows, cols) = self.shape(a);
        self.zeros(rows, cols)
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
    fn to_row_major(&self, a: &Self::Mat) -> Vec<T> {
        let (rows, cols) = self.shape(a);
        let mut out = vec![T::zero(); rows * cols];
        self.copy_to_row_major(a, &mut out);
        out
    }

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

    // ---- traversals (required) --------------------------------------------------------

    /// Hands the storage of `outs` (written) and `ins` (read), all of one shape, to `f` as
    /// runs of contiguous entries: `f(run, slices of outs, slices of ins)`, every entry in
    /// exactly one run. The runs may be handed to several threads at once and in any order,
    /// so `f` must treat each entry on its own (which the kernels of [`crate::kernels`] do:
    /// the result then does not depend on how the storage is cut). Where the matrices do not
    /// share a contiguous layout, a backend hands runs of one entry.
    ///
    /// # Panics
    /// If the shapes differ, `outs` is empty or longer than [`MAX_ZIP_OUTS`], or `ins` is
    /// longer than [`MAX_ZIP_INS`].
    fn zip_mut(&self, outs: &mut [&mut Self::Mat], ins: &[&Self::Mat], f: &ZipFn<'_, T>);
    /// `Σ` over runs of what `f` adds to an [`F64Sum`](crate::kernels::F64Sum), for the
    /// matrices `ins` of one shape. The runs are grouped into blocks fixed by the shape
    /// alone (never by the number of threads), each block summed on its own and the blocks
    /// merged in order: the same bits on any number of threads.
    ///
    /// # Panics
    /// If the shapes differ, or `ins` is empty or longer than [`MAX_ZIP_INS`].
    fn reduce(&self, ins: &[&Self::Mat], f: &ReduceFn<'_, T>) -> f64;
    /// Hands the runs of `ins` (one shape) to `f` on the calling thread, in storage order:
    /// row-major order for runs along rows, column-major order for runs down columns (so
    /// that, for each row, its entries come in increasing column order, and for each column
    /// in increasing row order).
    ///
    /// # Panics
    /// If the shapes differ, or `ins` is empty or longer than [`MAX_ZIP_INS`].
    fn visit(&self, ins: &[&Self::Mat], f: &mut VisitFn<'_, T>);

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

    // ---- entry-wise operations (provided) -----------------------------------------------

    /// `dst ← src`.
    ///
    /// # Panics
    /// If the shapes differ.
    fn copy_from(&self, dst: &mut Self::Mat, src: &Self::Mat) {
        self.zip_mut(&mut [dst], &[src], &|_, o, i| o[0].copy_from_slice(i[0]));
    }
    /// `a ← max(lo, a)` entry by entry (lifts initial factors to the lower bound ε).
    fn clamp_min(&self, a: &mut Self::Mat, lo: T) {
        self.zip_mut(&mut [a], &[], &|_, o, _| kernels::clamp_min_slice(o[0], lo));
    }
    /// `a ← a + s` entry by entry (an L1 weight added to a denominator).
    fn add_scalar(&self, a: &mut Self::Mat, s: T) {
        self.zip_mut(&mut [a], &[], &|_, o, _| kernels::add_scalar_slice(o[0], s));
    }
    /// `y ← y + α·x` entry by entry, computed as `y + (α·x)`.
    ///
    /// # Panics
    /// If the shapes differ.
    fn axpy(&self, y: &mut Self::Mat, alpha: T, x: &Self::Mat) {
        self.zip_mut(&mut [y], &[x], &|_, o, i| {
            kernels::axpy_slice(o[0], alpha, i[0])
        });
    }
    /// `a_ii ← a_ii + s` on the diagonal (an L2 weight added to a Gram matrix).
    fn add_diag(&self, a: &mut Self::Mat, s: T) {
        self.zip_mut(&mut [a], &[], &|run, o, _| {
            // The diagonal entry of this run, if it has one.
            let (fixed, span) = match run.axis {
                RunAxis::Row => (run.row, run.span()),
                RunAxis::Column => (run.col, run.span()),
            };
            if span.contains(&fixed) {
                o[0][fixed - span.start] += s;
            }
        });
    }
    /// `Σ_ij a_ij²` in `f64`.
    fn sq_norm(&self, a: &Self::Mat) -> f64 {
        self.reduce(&[a], &|_, i, acc| kernels::sq_sum_slice(acc, i[0]))
    }
    /// The ε-lower-bounded multiplicative step `x ← max(ε, x·num/den)`, entry by entry, as
    /// defined in [`crate::kernels::mu_step`].
    ///
    /// # Panics
    /// If the shapes differ.
    fn mu_update(&self, x: &mut Self::Mat, num: &Self::Mat, den: &Self::Mat, eps: T) {
        self.zip_mut(&mut [x], &[num, den], &|_, o, i| {
            kernels::mu_step_slice(o[0], i[0], i[1], eps)
        });
    }
    /// `x_ij ← max(ε, x_ij·num_ij/den_i)`: the denominator is one value per row.
    ///
    /// # Panics
    /// If the shapes differ or `den.len() != rows`.
    fn mu_update_row_den(&self, x: &mut Self::Mat, num: &Self::Mat, den: &[T], eps: T) {
        assert_eq!(
            den.len(),
            self.nrows(x),
            "mu_update_row_den: one denominator per row"
        );
        self.zip_mut(&mut [x], &[num], &|run, o, i| match run.axis {
            RunAxis::Row => kernels::mu_step_slice_scalar_den(o[0], i[0], den[run.row], eps),
            RunAxis::Column => kernels::mu_step_slice(o[0], i[0], &den[run.span()], eps),
        });
    }
    /// `x_ij ← max(ε, x_ij·num_ij/den_j)`: the denominator is one value per column.
    ///
    /// # Panics
    /// If the shapes differ or `den.len() != cols`.
    fn mu_update_col_den(&self, x: &mut Self::Mat, num: &Self::Mat, den: &[T], eps: T) {
        assert_eq!(
            den.len(),
            self.ncols(x),
            "mu_update_col_den: one denominator per column"
        );
        self.zip_mut(&mut [x], &[num], &|run, o, i| match run.axis {
            RunAxis::Column => kernels::mu_step_slice_scalar_den(o[0], i[0], den[run.col], eps),
            RunAxis::Row => kernels::mu_step_slice(o[0], i[0], &den[run.span()], eps),
        });
    }
    /// The ε-lower-bounded step with an L2 penalty, `x ← max(ε, root of l2·x⁺² + den·x⁺ =
    /// x·num)`, entry by entry, as defined in [`crate::kernels::mu_step_l2`].
    ///
    /// # Panics
    /// If the shapes differ.
    fn mu_update_l2(&self, x: &mut Self::Mat, num: &Self::Mat, den: &Self::Mat, l2: T, eps: T) {
        self.zip_mut(&mut [x], &[num, den], &|_, o, i| {
            kernels::mu_step_l2_slice(o[0], i[0], i[1], l2, eps)
        });
    }
    /// The ε-lower-bounded β-divergence step `x ← max(ε, x·(num/den)^γ)`, entry by entry, as
    /// defined in [`crate::kernels::mu_step_pow`].
    ///
    /// # Panics
    /// If the shapes differ.
    fn mu_update_pow(&self, x: &mut Self::Mat, num: &Self::Mat, den: &Self::Mat, gamma: T, eps: T) {
        self.zip_mut(&mut [x], &[num, den], &|_, o, i| {
            kernels::mu_step_pow_slice(o[0], i[0], i[1], gamma, eps)
        });
    }
    /// `(a, b) ← (v·a^(β−2), a^(β−1))` entry by entry, the first exactly 0 where `v` is 0 (see
    /// [`crate::kernels::beta_parts`]): called with `a = WH`, it leaves the two factors of the
    /// β-divergence updates.
    ///
    /// # Panics
    /// If the shapes differ.
    fn beta_parts_in_place(&self, a: &mut Self::Mat, b: &mut Self::Mat, v: &Self::Mat, beta: T) {
        self.zip_mut(&mut [a, b], &[v], &|_, o, i| {
            let [a, b] = o else {
                unreachable!("two outputs")
            };
            kernels::beta_parts_slice(a, b, i[0], beta)
        });
    }
    /// `r ← v / r` entry by entry, with exactly 0 where `v` is 0 (whatever `r` holds there):
    /// called with `r = WH`, it leaves the KL ratio V/(WH).
    ///
    /// # Panics
    /// If the shapes differ.
    fn kl_ratio_in_place(&self, r: &mut Self::Mat, v: &Self::Mat) {
        self.zip_mut(&mut [r], &[v], &|_, o, i| {
            kernels::kl_ratio_slice(o[0], i[0])
        });
    }

    // ---- reductions (provided) ----------------------------------------------------------

    /// Writes the entries of `a` into `out` in row-major order, allocating nothing (for the
    /// k×k Gram matrices of the coordinate sweeps).
    ///
    /// # Panics
    /// If `out.len()` is not the number of entries of `a`.
    fn copy_to_row_major(&self, a: &Self::Mat, out: &mut [T]) {
        let cols = self.ncols(a);
        assert_eq!(out.len(), self.nrows(a) * cols, "copy_to_row_major: length");
        self.visit(&[a], &mut |run, i| match run.axis {
            RunAxis::Row => {
                let at = run.row * cols + run.col;
                out[at..at + run.len].copy_from_slice(i[0]);
            }
            RunAxis::Column => {
                for (r, &x) in i[0].iter().enumerate() {
                    out[(run.row + r) * cols + run.col] = x;
                }
            }
        });
    }
    /// `out_i = Σ_j a_ij`, added in increasing j on every backend.
    ///
    /// # Panics
    /// If `out.len() != rows`.
    fn row_sums(&self, a: &Self::Mat, out: &mut [T]) {
        assert_eq!(out.len(), self.nrows(a), "row_sums: one output per row");
        out.fill(T::zero());
        self.visit(&[a], &mut |run, i| match run.axis {
            RunAxis::Row => {
                out[run.row] = i[0].iter().fold(out[run.row], |s, &x| s + x);
            }
            RunAxis::Column => {
                for (o, &x) in out[run.span()].iter_mut().zip(i[0]) {
                    *o += x;
                }
            }
        });
    }
    /// `out_j = Σ_i a_ij`, added in increasing i on every backend.
    ///
    /// # Panics
    /// If `out.len() != cols`.
    fn col_sums(&self, a: &Self::Mat, out: &mut [T]) {
        assert_eq!(out.len(), self.ncols(a), "col_sums: one output per column");
        out.fill(T::zero());
        self.visit(&[a], &mut |run, i| match run.axis {
            RunAxis::Column => {
                out[run.col] = i[0].iter().fold(out[run.col], |s, &x| s + x);
            }
            RunAxis::Row => {
                for (o, &x) in out[run.span()].iter_mut().zip(i[0]) {
                    *o += x;
                }
            }
        });
    }
    /// `Σ_ij a_ij`, accumulated in `f64`.
    fn sum(&self, a: &Self::Mat) -> f64 {
        self.reduce(&[a], &|_, i, acc| kernels::sum_slice(acc, i[0]))
    }
    /// `½ Σ_ij (v_ij − wh_ij)²`, accumulated in `f64`.
    ///
    /// # Panics
    /// If the shapes differ.
    fn frobenius_loss(&self, v: &Self::Mat, wh: &Self::Mat) -> f64 {
        self.reduce(&[v, wh], &|_, i, acc| {
            kernels::frobenius_slice(acc, i[0], i[1])
        })
    }
    /// `Σ_ij v_ij·log(v_ij/wh_ij) − v_ij + wh_ij`, with `0·log 0 = 0`, accumulated in `f64`
    /// (see [`crate::kernels::kl_term`]).
    ///
    /// # Panics
    /// If the shapes differ.
    fn kl_loss(&self, v: &Self::Mat, wh: &Self::Mat) -> f64 {
        self.reduce(&[v, wh], &|_, i, acc| kernels::kl_slice(acc, i[0], i[1]))
    }
    /// `Σ_ij d_β(v_ij | wh_ij)` in `f64` (see [`crate::kernels::beta_term`]).
    ///
    /// # Panics
    /// If the shapes differ.
    fn beta_loss(&self, v: &Self::Mat, wh: &Self::Mat, beta: f64) -> f64 {
        self.reduce(&[v, wh], &|_, i, acc| {
            kernels::beta_slice(acc, i[0], i[1], beta)
        })
    }
    /// The first zero entry in row-major order (the β-divergence with β ≤ 0 is infinite there).
    fn first_zero(&self, a: &Self::Mat) -> Option<(usize, usize)> {
        self.first_where(a, |x| x == T::zero())
            .map(|(i, j, _)| (i, j))
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
    fn first_invalid(&self, a: &Self::Mat) -> Option<(usize, usize, T)> {
        self.first_where(a, |x| !kernels::is_valid_entry(x))
    }
    /// The first entry (in row-major order) where `bad` holds, as `(row, column, value)`.
    fn first_where(&self, a: &Self::Mat, bad: impl Fn(T) -> bool) -> Option<(usize, usize, T)> {
        let mut best: Option<(usize, usize, T)> = None;
        self.visit(&[a], &mut |run, i| {
            if let Some(p) = i[0].iter().position(|&x| bad(x)) {
                let (r, c) = match run.axis {
                    RunAxis::Row => (run.row, run.col + p),
                    RunAxis::Column => (run.row + p, run.col),
                };
                if best.is_none_or(|(br, bc, _)| (r, c) < (br, bc)) {
                    best = Some((r, c, i[0][p]));
                }
            }
        });
        best
    }
}

/// Checks the operands of a traversal from their shapes (written first, then read): one
/// shape, and no more than [`MAX_ZIP_OUTS`] written and [`MAX_ZIP_INS`] read. For backend
/// crates; returns the common shape.
///
/// # Panics
/// As [`MatrixBackend::zip_mut`].
pub fn check_zip(
    outs: usize,
    ins: usize,
    mut shapes: impl Iterator<Item = (usize, usize)>,
    what: &str,
) -> (usize, usize) {
    assert!(
        outs <= MAX_ZIP_OUTS,
        "{what}: more than {MAX_ZIP_OUTS} outputs"
    );
    assert!(ins <= MAX_ZIP_INS, "{what}: more than {MAX_ZIP_INS} inputs");
    let shape = shapes.next().expect("a traversal has operands");
    for s in shapes {
        assert!(
            s == shape,
            "{what}: shapes {}×{} and {}×{} differ",
            shape.0,
            shape.1,
            s.0,
            s.1
        );
    }
    shape
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
