//! The 2-D grid distribution of PLANC (Kannan, Ballard & Park 2016, "A high-performance
//! parallel algorithm for nonnegative matrix factorization"), `nmf-mpi fit --grid PRxPC`.
//!
//! # The layout
//! The P = pr·pc processes form a pr×pc grid; process (i, j) is rank `i·pc + j`. V is cut into
//! pr blocks of rows and pc blocks of columns ([`block_rows`](nmf_core::distributed::block_rows) both ways), and process (i, j)
//! holds the block V_ij (m_i × n_j) only. W is cut like V's rows into W_i, and W_i again
//! into pc pieces, one per process of grid row i; H is cut like V's columns into H_j, and H_j
//! again into pr pieces, one per process of grid column j. Each process owns one piece of W
//! (about m/P rows) and one of H (about n/P columns): no factor is replicated. W's pieces in
//! rank order are its rows in order; H's pieces taken grid column by grid column (j, then i)
//! are its columns in order.
//!
//! # One iteration
//! The H half-step needs WᵀV and WᵀW: WᵀV restricted to the columns of block j is
//! Σ_i W_iᵀ V_ij, a sum over grid column j. So process (i, j)
//! 1. all-gathers W_i from the pieces of its grid row (`MPI_Allgatherv`, m_i·k values);
//! 2. computes the partial products W_iᵀV_ij (k×n_j) and W_iᵀW_i (k×k) with the wrapped data
//!    term of V_ij (dense: faer's products; sparse: nmf-core's CSR kernels);
//! 3. reduce-scatters W_iᵀV_ij in its grid column (`MPI_Reduce_scatter_block`, the pieces
//!    padded to the largest): each process receives the k columns of its own piece of H,
//!    summed over the grid column;
//! 4. all-reduces W_iᵀW_i in its grid column (Σ_i W_iᵀW_i = WᵀW, k×k);
//! 5. updates its piece of H with the rule of the fit (MU or HALS: both act column by column
//!    of H, so a piece is updated from its columns of the statistics alone).
//!
//! The W half-step mirrors it: all-gather H_j in the grid column, V_ij H_jᵀ (m_i×k) and
//! H_jH_jᵀ, reduce-scatter and all-reduce in the grid row, update the piece of W row by row.
//! KL and the other β gather both factors (their statistics need WH at V's entries) and
//! reduce-scatter their k×n_j (m_i×k) statistics the same way; the column sums of W (row
//! sums of H) are all-reduced in place of the Gram matrices. The loss is the sum over blocks
//! of each block's loss at (W_i, H_j) (gathered anew), all-reduced over all processes.
//!
//! All of this is one data term ([`GridData`], implementing [`DataOps`]
//! for faer): the fit is nmf-core's own driver and rules, unchanged, with the same ε lower
//! bound, stopping rule, loss history and checks as the 1-D fit. Sums across processes are in
//! `f64`; the k×k sums and the loss go through [`MpiCollective`] (reduce and broadcast), so
//! every process sees the same loss and takes the same stopping decision.
//!
//! # Communication per iteration (words and messages, per process)
//! With P = pr·pc and V m×n (Frobenius), the all-gathers move (1 − 1/pc)·m_i·k ≈ mk/pr and
//! (1 − 1/pr)·n_j·k ≈ nk/pc words, the reduce-scatters the same, and the two k×k all-reduces
//! about 4k²: about 2(mk/pr + nk/pc) + 4k² words in six collectives of O(log P) messages
//! each, against the 1-D distribution's one all-reduce of the k×n and k×k statistics, about
//! 2nk words. On a square grid (pr = pc = √P) that is 2(m + n)k/√P, which falls with P where
//! the 1-D cost does not. The Gram matrices come from the gathered W_i and H_j (the wrapped
//! data term computes them with the products), so each grid row repeats W_iᵀW_i and each
//! grid column H_jH_jᵀ: 2k²(m/pr + n/pc) flops per process, where PLANC sums the Gram
//! matrices of the pieces over all P processes.
//!
//! # Rounding
//! WᵀV is summed over the pr blocks of rows and VHᵀ over the pc blocks of columns, each in
//! another order than one process adds them: the same reordering of sums over m and n that
//! the 1-D fit's bound (`nmf_core::testing::mu_bound`) already covers, so the fit equals
//! the single-process one to that bound.

use std::path::Path;
use std::time::Instant;

use mpi::topology::{Color, SimpleCommunicator};
use mpi::traits::*;
use nmf_core::sparse::SparseData;
use nmf_core::{DataOps, MatrixBackend, NmfError, NmfModel, NmfValidParams};
use nmf_faer::Faer;

use crate::{Block, MpiCollective, agree, read, write_npy_dir};

mod exchange;
mod layout;
mod term;

pub use layout::{GridSpec, Layout};
pub use term::{GridData, GridWork};

/// The communicators of a grid: all processes, this process's grid row (ranked by grid
/// column) and its grid column (ranked by grid row).
pub struct GridComm {
    /// All processes (a duplicate of the world's).
    pub world: SimpleCommunicator,
    /// The pc processes of this grid row; rank j.
    pub row: SimpleCommunicator,
    /// The pr processes of this grid column; rank i.
    pub col: SimpleCommunicator,
    /// Where each piece lies.
    pub layout: Layout,
}

impl GridComm {
    /// Splits `world` into the rows and columns of the grid `spec` for V m×n. Collective.
    /// `spec` must have passed [`GridSpec::check`].
    pub fn new(world: &SimpleCommunicator, spec: GridSpec, m: usize, n: usize) -> Self {
        let layout = Layout::new(spec, world.rank() as usize, m, n);
        let split = |c: usize| {
            world
                .split_by_color(Color::with_value(c as i32))
                .expect("a defined colour gives a communicator")
        };
        let row = split(layout.i);
        let col = split(layout.j);
        Self {
            world: world.duplicate(),
            row,
            col,
            layout,
        }
    }
}

/// This process's block V_ij of the matrix in `path`. A `.npy` block is read alone (each of
/// its rows' columns, [`read::npy_block`]); a `.mtx` or `.npz` block is the block of rows the
/// 1-D path reads ([`read::block`]: its rows' entries only are stored) with its columns kept,
/// so a sparse process holds its rows' entries for a moment.
///
/// # Errors
/// The reader's (the path, and the line of a `.mtx` file).
pub fn read_block(path: &Path, layout: &Layout) -> Result<Block, String> {
    if path.extension().is_some_and(|e| e == "npy") {
        return read::npy_block(path, layout.rows(), layout.cols());
    }
    let cols = layout.cols();
    match read::block(path, layout.rows())? {
        Block::Dense(d) => Ok(Block::Dense(faer::Mat::from_fn(
            d.nrows(),
            cols.len(),
            |r, c| d[(r, cols.start + c)],
        ))),
        Block::Sparse(s) => {
            let (mi, csr) = (s.shape().0, s.csr());
            let (mut ri, mut ci, mut vi) = (Vec::new(), Vec::new(), Vec::new());
            for r in 0..mi {
                let (idx, vals) = csr.row(r);
                for (&c, &x) in idx.iter().zip(vals) {
                    if cols.contains(&c) {
                        ri.push(r);
                        ci.push(c - cols.start);
                        vi.push(x);
                    }
                }
            }
            SparseData::from_triplets(mi, cols.len(), &ri, &ci, &vi)
                .map(Block::Sparse)
                .map_err(|e| format!("{}: {e}", path.display()))
        }
        Block::Observed(_) => Err(format!(
            "{}: observed entries are distributed by rows only (drop --grid)",
            path.display()
        )),
    }
}

/// The seeded start of process (i, j): its rows of W and its columns of H (k × len,
/// row-major), the entries of [`start_rows`](crate::start_rows) at the same global places,
/// so the grid starts where the 1-D fit starts.
pub fn start_pieces(layout: &Layout, k: usize, mean: f64, seed: u64) -> (Vec<f64>, Vec<f64>) {
    // W's entries do not depend on n; H's are drawn here for the piece's columns only.
    let (w, _) = crate::start_rows(layout.w_rows(layout.i, layout.j), 0, k, mean, seed);
    let scale = if mean > 0.0 && mean.is_finite() {
        2.0 * (mean / k as f64).sqrt()
    } else {
        1.0
    };
    let cols = layout.h_cols(layout.i, layout.j);
    let n = layout.n;
    let h = (0..k)
        .flat_map(|a| cols.clone().map(move |c| (a * n + c) as u64))
        .map(|t| scale * crate::unit(seed, 1, t))
        .collect();
    (w, h)
}

/// The fitted pieces of one process: its rows of W (row-major), its columns of H (k × len,
/// row-major), the loss history `(iteration, loss)` (the same on every process), the
/// iterations and whether the fit converged.
#[derive(Debug, Clone)]
pub struct GridFitted {
    /// This process's rows of W ([`Layout::w_rows`]), row-major.
    pub w: Vec<f64>,
    /// This process's columns of H ([`Layout::h_cols`]), k × len, row-major.
    pub h: Vec<f64>,
    /// `(iteration, loss)` at every evaluation.
    pub history: Vec<(usize, f64)>,
    /// The iterations run.
    pub n_iter: usize,
    /// Whether the stopping rule (tol) ended the fit.
    pub converged: bool,
}

/// Fits V on the grid `g` (this process holds `block`, its V_ij) from the start of
/// [`start_pieces`] with `seed`. Collective; errors are the same on every process (the
/// checks of V are collective: a bad entry anywhere is reported with its global row and
/// column).
///
/// # Errors
/// Any [`NmfError`] of the fit; [`NmfError::ShapeMismatch`] if `block` is not m_i × n_j.
pub fn fit_grid(
    g: &GridComm,
    b: &Faer,
    block: Block,
    params: &NmfValidParams,
    seed: u64,
) -> Result<GridFitted, NmfError> {
    match block {
        Block::Dense(v) => fit_on(b, &GridData::new(v, g)?, params, seed),
        Block::Sparse(v) => fit_on(b, &GridData::new(v, g)?, params, seed),
        Block::Observed(_) => Err(NmfError::SolverNotForData {
            solver: params.solver(),
            data: "observed entries on a 2-D grid",
            reason: "masked data is distributed by rows only: fit it without --grid".into(),
        }),
    }
}

fn fit_on<V>(
    b: &Faer,
    d: &GridData<'_, V>,
    params: &NmfValidParams,
    seed: u64,
) -> Result<GridFitted, NmfError>
where
    Faer: DataOps<f64, V>,
{
    let layout = d.layout();
    let k = params.rank();
    let mean = DataOps::<f64, GridData<'_, V>>::data_mean(b, d);
    let (w0, h0) = start_pieces(&layout, k, mean, seed);
    let (mw, nh) = (
        layout.w_rows(layout.i, layout.j).len(),
        layout.h_cols(layout.i, layout.j).len(),
    );
    let w0 = MatrixBackend::<f64>::from_row_major(b, mw, k, &w0)?;
    let h0 = MatrixBackend::<f64>::from_row_major(b, k, nh, &h0)?;
    let model: NmfModel<f64, Faer> = params
        .fitting::<f64, Faer, GridData<'_, V>>(b, d)
        .start(&w0, &h0)
        .run()?;
    Ok(GridFitted {
        w: MatrixBackend::<f64>::to_row_major(b, model.w()),
        h: MatrixBackend::<f64>::to_row_major(b, model.h()),
        history: model
            .loss_history()
            .iter()
            .map(|r| (r.iteration, r.loss))
            .collect(),
        n_iter: model.n_iter(),
        converged: model.converged(),
    })
}

/// All of W (m×k, row-major) and H (k×n, row-major) on rank 0 (`Some`) from every process's
/// pieces; `None` on the others. Collective.
pub fn gather_factors(g: &GridComm, f: &GridFitted, k: usize) -> Option<(Vec<f64>, Vec<f64>)> {
    let (world, l) = (&g.world, &g.layout);
    if world.rank() != 0 {
        let root = world.process_at_rank(0);
        root.send(&f.w[..]);
        root.send(&f.h[..]);
        return None;
    }
    let (m, n) = (l.m, l.n);
    let (mut w, mut h) = (vec![0.0; m * k], vec![0.0; k * n]);
    let mut piece = Vec::new();
    for q in 0..world.size() as usize {
        let (i, j) = l.place(q);
        let (rows, cols) = (l.w_rows(i, j), l.h_cols(i, j));
        let wq = &mut w[rows.start * k..rows.end * k];
        piece.resize(k * cols.len(), 0.0);
        if q == 0 {
            wq.copy_from_slice(&f.w);
            piece.copy_from_slice(&f.h);
        } else {
            let from = world.process_at_rank(q as i32);
            from.receive_into(wq);
            from.receive_into(&mut piece[..]);
        }
        for a in 0..k {
            h[a * n + cols.start..a * n + cols.end]
                .copy_from_slice(&piece[a * cols.len()..(a + 1) * cols.len()]);
        }
    }
    Some((w, h))
}

/// What [`fit_file`] did: the fit's summary and its times.
#[derive(Debug, Clone)]
pub struct GridRun {
    /// The iterations run.
    pub n_iter: usize,
    /// Whether the stopping rule (tol) ended the fit.
    pub converged: bool,
    /// The last loss evaluated (NaN if none).
    pub loss: f64,
    /// Seconds spent reading the blocks.
    pub t_read: f64,
    /// Seconds spent fitting.
    pub t_fit: f64,
}

/// `nmf-mpi fit --grid PRxPC`: checks the grid against the processes and V's shape `(m,
/// n)`, reads this process's block of `input`, fits, and writes W.npy and H.npy (gathered)
/// into `out` from rank 0, as the 1-D path does. Collective; every process returns the same
/// (an error on one process stops all of them with its message, see [`agree`]).
///
/// # Errors
/// The grid's, the reader's, the fit's or the writer's message.
#[allow(clippy::too_many_arguments)]
pub fn fit_file(
    world: &SimpleCommunicator,
    spec: GridSpec,
    input: &Path,
    (m, n): (usize, usize),
    b: &Faer,
    params: &NmfValidParams,
    seed: u64,
    out: &Path,
) -> Result<GridRun, String> {
    // The same inputs on every process: the same answer, no need to agree.
    spec.check(world.size() as usize, m, n)?;
    let g = GridComm::new(world, spec, m, n);
    let t0 = Instant::now();
    let block = agree(world, read_block(input, &g.layout))?;
    let t_read = t0.elapsed().as_secs_f64();
    let t1 = Instant::now();
    let fitted = fit_grid(&g, b, block, params, seed).map_err(|e| e.to_string());
    let fitted = agree(world, fitted)?;
    let t_fit = t1.elapsed().as_secs_f64();
    let k = params.rank();
    let written = match gather_factors(&g, &fitted, k) {
        Some((w, h)) => write_npy_dir(out, (&w, m, k), (&h, k, n), crate::Dtype::F64),
        None => Ok(()),
    };
    agree(world, written)?;
    Ok(GridRun {
        n_iter: fitted.n_iter,
        converged: fitted.converged,
        loss: fitted.history.last().map_or(f64::NAN, |r| r.1),
        t_read,
        t_fit,
    })
}

/// The [`MpiCollective`] of each of the grid's communicators.
pub(crate) struct Collectives<'g> {
    pub(crate) world: MpiCollective<'g>,
    pub(crate) row: MpiCollective<'g>,
    pub(crate) col: MpiCollective<'g>,
}

impl<'g> Collectives<'g> {
    pub(crate) fn new(g: &'g GridComm) -> Self {
        Self {
            world: MpiCollective::new(&g.world),
            row: MpiCollective::new(&g.row),
            col: MpiCollective::new(&g.col),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The grid's start is the 1-D start at the same global places.
    #[test]
    fn start_pieces_are_the_1d_start() {
        let (m, n, k, mean, seed) = (13, 10, 3, 2.5, 9);
        let (w, h) = crate::start_rows(0..m, n, k, mean, seed);
        let spec = GridSpec { rows: 2, cols: 3 };
        for q in 0..6 {
            let l = Layout::new(spec, q, m, n);
            let (wp, hp) = start_pieces(&l, k, mean, seed);
            let (rows, cols) = (l.w_rows(l.i, l.j), l.h_cols(l.i, l.j));
            assert_eq!(&wp[..], &w[rows.start * k..rows.end * k]);
            for a in 0..k {
                assert_eq!(
                    &hp[a * cols.len()..(a + 1) * cols.len()],
                    &h[a * n + cols.start..a * n + cols.end]
                );
            }
        }
    }
}
