//! # nmf-mpi
//!
//! NMF over MPI processes (Open MPI through rsmpi): V and W are split by blocks of rows, H is
//! replicated, and each iteration all-reduces the k×n and k×k statistics of the H half-step
//! (the data term [`nmf_core::Distributed`]; see [`nmf_core::distributed`] for what is summed
//! and why the W half-step needs no communication). Run as
//! `mpirun -np P nmf-mpi fit INPUT -k K ...`; the library gives the pieces the binary is made
//! of:
//! - [`MpiCollective`]: the [`Collective`] of a communicator (one exchange on two ranks, a
//!   reduce to rank 0 and a broadcast on more, so every rank gets the same bits);
//! - [`read`]: each rank reads its block of rows of a `.npy` (seeking to it) or `.mtx` (every
//!   rank scans the file and keeps its rows);
//! - [`start_rows`]: the seeded random start, entry by entry from its global place, so that
//!   the start does not depend on the number of processes;
//! - [`agree`]: every rank learns whether any rank failed, and with which message, so that an
//!   error on one rank stops them all instead of leaving the others waiting in a collective;
//! - [`fit_block`] (in f64) or [`fit_block_as`] (in f32 or f64: the statistics are still
//!   added in f64), [`gather_rows`] and [`write_npy_dir`], or [`write_scatter_dir`] (each
//!   rank writes its rows of W);
//! - [`Block::into_observed`]: a block's stored entries as the observed ones (`--missing
//!   unobserved`), fitted by the multiplicative updates over the observed entries only.
//!
//! [`grid`] distributes V over a pr×pc grid of processes instead (PLANC's 2-D distribution,
//! `nmf-mpi fit --grid PRxPC`): W by rows and H by columns, no factor replicated.

use std::cell::RefCell;
use std::io::{Read, Seek, SeekFrom, Write};
use std::ops::Range;
use std::path::{Path, PathBuf};

use mpi::collective::SystemOperation;
use mpi::topology::SimpleCommunicator;
use mpi::traits::*;
use nmf_core::distributed::block_rows;
use nmf_core::masked::Observed;
use nmf_core::sparse::{Csr, SparseData};
use nmf_core::{
    Collective, DataOps, DenseBackend, Distributed, MatrixBackend, NmfError, NmfModel,
    NmfValidParams, Scalar,
};
use nmf_faer::Faer;

pub mod grid;
pub mod read;

pub use read::Dtype;

/// The [`Collective`] of an MPI communicator. The ranks must agree exactly (the same H, the
/// same loss, the same stopping decision), and MPI_Allreduce does not promise the same bits on
/// every rank, so the all-reduce is explicit: on two ranks, one exchange (each sends its
/// buffer and receives the other's and adds it to its own: b₀ + b₁ = b₁ + b₀ bit for bit, one
/// message each way, at the same time); on more, a reduce to rank 0 followed by a broadcast
/// from it. Its buffer grows to the largest message once, so the iterations allocate nothing.
/// It counts the time spent in the all-reduce, waiting for the other ranks included
/// ([`reduce_seconds`](Self::reduce_seconds)).
pub struct MpiCollective<'a> {
    comm: &'a SimpleCommunicator,
    scratch: RefCell<Vec<f64>>,
    spent: std::cell::Cell<f64>,
}

impl<'a> MpiCollective<'a> {
    /// The collective of `comm`.
    pub fn new(comm: &'a SimpleCommunicator) -> Self {
        Self {
            comm,
            scratch: RefCell::new(Vec::new()),
            spent: std::cell::Cell::new(0.0),
        }
    }
    /// The seconds spent in [`Collective::all_reduce_sum`] so far (communication, additions,
    /// and the wait for the slowest rank).
    pub fn reduce_seconds(&self) -> f64 {
        self.spent.get()
    }
}

impl Collective for MpiCollective<'_> {
    fn rank(&self) -> usize {
        self.comm.rank() as usize
    }
    fn size(&self) -> usize {
        self.comm.size() as usize
    }
    fn all_reduce_sum(&self, buf: &mut [f64]) {
        let start = std::time::Instant::now();
        let (rank, size) = (self.comm.rank(), self.comm.size());
        let mut s = self.scratch.borrow_mut();
        if s.len() < buf.len() {
            s.resize(buf.len(), 0.0);
        }
        let other = &mut s[..buf.len()];
        if size == 2 {
            let peer = self.comm.process_at_rank(1 - rank);
            mpi::point_to_point::send_receive_into(&buf[..], &peer, other, &peer);
            // Rank 0 adds b₀ + b₁, rank 1 b₁ + b₀: the same bits (IEEE addition commutes;
            // only a sum of three or more depends on the order).
            for (x, &y) in buf.iter_mut().zip(other.iter()) {
                *x += y;
            }
        } else if size > 2 {
            let root = self.comm.process_at_rank(0);
            if rank == 0 {
                root.reduce_into_root(&buf[..], other, SystemOperation::sum());
                buf.copy_from_slice(other);
            } else {
                root.reduce_into(&buf[..], SystemOperation::sum());
            }
            root.broadcast_into(buf);
        }
        self.spent
            .set(self.spent.get() + start.elapsed().as_secs_f64());
    }
}

/// Whether every rank succeeded: each rank says whether it failed (one all-reduce of a flag
/// per rank), and the message of the first rank that failed (in rank order) is broadcast to
/// all. Every rank returns the same: its own value when all succeeded, else that message,
/// prefixed with `rank q: ` when only some ranks failed.
/// Called before every collective phase, so that a rank that failed alone (an unreadable file,
/// a bad line in its block) never leaves the others waiting.
pub fn agree<T>(comm: &SimpleCommunicator, mine: Result<T, String>) -> Result<T, String> {
    let (p, size) = (comm.rank() as usize, comm.size() as usize);
    let mut flags = vec![0.0; size];
    if mine.is_err() {
        flags[p] = 1.0;
    }
    MpiCollective::new(comm).all_reduce_sum(&mut flags);
    let Some(first) = flags.iter().position(|&f| f != 0.0) else {
        return mine;
    };
    let root = comm.process_at_rank(first as i32);
    let mut bytes = match &mine {
        Err(e) if p == first => e.clone().into_bytes(),
        _ => Vec::new(),
    };
    let mut len = [bytes.len() as u64];
    root.broadcast_into(&mut len[..]);
    bytes.resize(len[0] as usize, 0);
    root.broadcast_into(&mut bytes[..]);
    let text = String::from_utf8_lossy(&bytes).into_owned();
    // A failure on some ranks only names the first; one on every rank (a collective check of
    // the fit, a file none can read) is the same message everywhere.
    let failed = flags.iter().filter(|&&f| f != 0.0).count();
    Err(if failed < size {
        format!("rank {first}: {text}")
    } else {
        text
    })
}

/// One uniform number in (0, 1] from `(seed, stream, index)` (SplitMix64 of their mix): the
/// start of an entry depends on its global place only.
fn unit(seed: u64, stream: u64, index: u64) -> f64 {
    let mut z = seed
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add(stream.wrapping_mul(0xD1B5_4A32_D192_ED03))
        .wrapping_add(index.wrapping_mul(0xBF58_476D_1CE4_E5B9));
    for _ in 0..2 {
        z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
    }
    ((z >> 11) + 1) as f64 / (1u64 << 53) as f64
}

/// The seeded start for the rows `rows` of W (row-major, `rows.len()`×k) and all of H (k×n,
/// row-major): entry (i, a) of W is `2·√(mean/k)·U` with U uniform in (0, 1] drawn from
/// `(seed, 0, i·k + a)`, and entry (a, j) of H from `(seed, 1, a·n + j)`; the mean of an entry
/// is √(mean/k), so WH starts at the scale of V. The same W and H for any split of the rows,
/// so P = 1, 2, 3 start alike.
///
/// ```
/// let (w, h) = nmf_mpi::start_rows(0..4, 3, 2, 1.0, 7);
/// let (w2, h2) = nmf_mpi::start_rows(2..4, 3, 2, 1.0, 7);
/// assert_eq!(&w[4..], &w2[..]);
/// assert_eq!(h, h2);
/// ```
pub fn start_rows(
    rows: Range<usize>,
    n: usize,
    k: usize,
    mean: f64,
    seed: u64,
) -> (Vec<f64>, Vec<f64>) {
    let scale = if mean > 0.0 && mean.is_finite() {
        2.0 * (mean / k as f64).sqrt()
    } else {
        1.0
    };
    let w = rows
        .flat_map(|i| (0..k).map(move |a| (i * k + a) as u64))
        .map(|t| scale * unit(seed, 0, t))
        .collect();
    let h = (0..k * n)
        .map(|t| scale * unit(seed, 1, t as u64))
        .collect();
    (w, h)
}

/// This rank's block of V: dense (row-major, `rows.len()`×n), sparse, or observed entries.
pub enum Block {
    /// Dense rows.
    Dense(faer::Mat<f64>),
    /// Sparse rows.
    Sparse(SparseData<f64>),
    /// The observed entries of the rows (the others missing): the loss is summed over them.
    Observed(Observed<f64>),
}

impl Block {
    /// The block as observed entries, as `nmf fit --missing unobserved` reads its input: the
    /// stored entries of a sparse block are the observed ones (the others are missing, not
    /// 0), every entry of a dense block is observed.
    ///
    /// # Errors
    /// A block with no observed entry (nmf-core's message).
    pub fn into_observed(self) -> Result<Block, NmfError> {
        Ok(Block::Observed(match self {
            Block::Observed(o) => o,
            Block::Dense(m) => {
                let (r, c) = (m.nrows(), m.ncols());
                let data: Vec<f64> = (0..r * c).map(|t| m[(t / c, t % c)]).collect();
                drop(m);
                Observed::from_row_major(r, c, &data)?
            }
            Block::Sparse(s) => Observed::from_csr(csr_of(&s, |x| x)?)?,
        }))
    }

    /// The first entry (in row-major order; local row, column, value) whose magnitude
    /// exceeds `max`: for `--dtype f32`, the entries beyond its range.
    pub fn first_beyond(&self, max: f64) -> Option<(usize, usize, f64)> {
        let over = |x: f64| x.abs() > max;
        match self {
            Block::Dense(m) => (0..m.nrows())
                .flat_map(|i| (0..m.ncols()).map(move |j| (i, j)))
                .map(|(i, j)| (i, j, m[(i, j)]))
                .find(|&(_, _, x)| over(x)),
            Block::Sparse(s) => first_stored(s.csr(), over),
            Block::Observed(o) => first_stored(o.csr(), over),
        }
    }
}

/// The first stored entry of `x` (by rows) for which `pred` holds.
fn first_stored(
    x: nmf_core::sparse::CsrRef<'_, f64>,
    pred: impl Fn(f64) -> bool,
) -> Option<(usize, usize, f64)> {
    (0..x.nrows()).find_map(|i| {
        let (cs, vs) = x.row(i);
        cs.iter()
            .zip(vs)
            .find(|&(_, &v)| pred(v))
            .map(|(&j, &v)| (i, j, v))
    })
}

/// A copy of the compressed rows of `s` with each value through `f`.
fn csr_of<T: Scalar>(s: &SparseData<f64>, f: impl Fn(f64) -> T) -> Result<Csr<T>, NmfError> {
    let x = s.csr();
    Csr::from_compressed(
        x.nrows(),
        x.ncols(),
        x.indptr().to_vec(),
        x.indices().to_vec(),
        x.data().iter().map(|&v| f(v)).collect(),
    )
}

/// The scalar types a block is fitted in (`--dtype`): f64 (the block as read) and f32 (a
/// converted copy; check [`Block::first_beyond`] first). The all-reduce adds the statistics in
/// f64 either way.
pub trait BlockScalar: Scalar {
    /// The dense block in this type.
    fn dense(m: faer::Mat<f64>) -> faer::Mat<Self>;
    /// The sparse block in this type.
    ///
    /// # Errors
    /// nmf-core's, if the copy cannot be made.
    fn sparse(s: SparseData<f64>) -> Result<SparseData<Self>, NmfError>;
    /// The observed entries in this type.
    ///
    /// # Errors
    /// nmf-core's, if the copy cannot be made.
    fn observed(o: Observed<f64>) -> Result<Observed<Self>, NmfError>;
}

impl BlockScalar for f64 {
    fn dense(m: faer::Mat<f64>) -> faer::Mat<f64> {
        m
    }
    fn sparse(s: SparseData<f64>) -> Result<SparseData<f64>, NmfError> {
        Ok(s)
    }
    fn observed(o: Observed<f64>) -> Result<Observed<f64>, NmfError> {
        Ok(o)
    }
}

impl BlockScalar for f32 {
    fn dense(m: faer::Mat<f64>) -> faer::Mat<f32> {
        faer::Mat::from_fn(m.nrows(), m.ncols(), |i, j| m[(i, j)] as f32)
    }
    fn sparse(s: SparseData<f64>) -> Result<SparseData<f32>, NmfError> {
        SparseData::from_csr(csr_of(&s, |x| x as f32)?)
    }
    fn observed(o: Observed<f64>) -> Result<Observed<f32>, NmfError> {
        let x = o.csr();
        let csr = Csr::from_compressed(
            x.nrows(),
            x.ncols(),
            x.indptr().to_vec(),
            x.indices().to_vec(),
            x.data().iter().map(|&v| v as f32).collect(),
        )?;
        match o.weights() {
            Some(w) => Observed::from_csr_weighted(csr, w.iter().map(|&v| v as f32).collect()),
            None => Observed::from_csr(csr),
        }
    }
}

/// The fitted factors of this rank: its rows of W (row-major), all of H (row-major), the loss
/// history `(iteration, loss)`, the iterations and whether the fit converged.
#[derive(Debug, Clone)]
pub struct Fitted {
    /// This rank's rows of W, row-major.
    pub w: Vec<f64>,
    /// H (k×n), row-major; the same on every rank.
    pub h: Vec<f64>,
    /// `(iteration, loss)` at every evaluation.
    pub history: Vec<(usize, f64)>,
    /// The iterations run.
    pub n_iter: usize,
    /// Whether the stopping rule (tol) ended the fit.
    pub converged: bool,
    /// The seconds this rank spent in the fit's all-reduces ([`MpiCollective::reduce_seconds`]).
    pub reduce_seconds: f64,
}

/// Fits V split over the ranks of `comm` (this rank holds `block`, the rows `rows` of V)
/// from the start of [`start_rows`] with `seed`, in f64. Collective. Errors are the same on
/// every rank (the checks of V are collective: a bad entry anywhere is reported with its
/// global row on every rank).
///
/// # Errors
/// Any [`NmfError`] of the fit.
pub fn fit_block(
    comm: &SimpleCommunicator,
    b: &Faer,
    block: Block,
    rows: Range<usize>,
    params: &NmfValidParams,
    seed: u64,
) -> Result<Fitted, NmfError> {
    fit_block_as::<f64>(comm, b, block, rows, params, seed)
}

/// [`fit_block`] in the scalar type `T` (f32 or f64): the block is converted to `T` (for f32,
/// check [`Block::first_beyond`] first: an entry beyond its range would be an infinite
/// entry), the local statistics are computed in `T` and added across the ranks in f64
/// (nmf-core's [`Distributed`]); W and H are returned in f64 (exactly). Observed entries
/// ([`Block::Observed`]) are fitted by the multiplicative updates (`Solver::Auto` picks them;
/// `Solver::Anls` is refused by nmf-core, see [`nmf_core::distributed`]). Collective.
///
/// # Errors
/// Any [`NmfError`] of the conversion or the fit.
pub fn fit_block_as<T: BlockScalar>(
    comm: &SimpleCommunicator,
    b: &Faer,
    block: Block,
    rows: Range<usize>,
    params: &NmfValidParams,
    seed: u64,
) -> Result<Fitted, NmfError>
where
    Faer: DenseBackend<T> + MatrixBackend<T, Mat = faer::Mat<T>>,
{
    let coll = MpiCollective::new(comm);
    // The conversion fails only when its copy cannot be allocated; if it fails on one rank,
    // the others must not wait in the fit's first collective: every rank learns it.
    let local = convert::<T>(block);
    let mut failed = [if local.is_err() { 1.0 } else { 0.0 }];
    coll.all_reduce_sum(&mut failed);
    let local = match local {
        Err(e) => return Err(e),
        Ok(_) if failed[0] != 0.0 => {
            return Err(NmfError::TooLarge {
                what: format!("the {} copy of another process's block", T::NAME),
                bytes: None,
            });
        }
        Ok(l) => l,
    };
    match local {
        Local::Dense(v) => {
            let d = Distributed::<faer::Mat<T>, _>::new::<T, Faer>(b, v, &coll)?;
            fit_on::<T, faer::Mat<T>>(b, &d, rows, params, seed)
        }
        Local::Sparse(v) => {
            let d = Distributed::<SparseData<T>, _>::new::<T, Faer>(b, v, &coll)?;
            fit_on::<T, SparseData<T>>(b, &d, rows, params, seed)
        }
        Local::Observed(v) => {
            let d = Distributed::<Observed<T>, _>::new::<T, Faer>(b, v, &coll)?;
            fit_on::<T, Observed<T>>(b, &d, rows, params, seed)
        }
    }
}

/// A block in the scalar type of the fit.
enum Local<T: Scalar> {
    Dense(faer::Mat<T>),
    Sparse(SparseData<T>),
    Observed(Observed<T>),
}

fn convert<T: BlockScalar>(block: Block) -> Result<Local<T>, NmfError> {
    Ok(match block {
        Block::Dense(m) => Local::Dense(T::dense(m)),
        Block::Sparse(s) => Local::Sparse(T::sparse(s)?),
        Block::Observed(o) => Local::Observed(T::observed(o)?),
    })
}

fn fit_on<T: Scalar, V>(
    b: &Faer,
    d: &Distributed<V, &MpiCollective<'_>>,
    rows: Range<usize>,
    params: &NmfValidParams,
    seed: u64,
) -> Result<Fitted, NmfError>
where
    Faer: DataOps<T, V>,
{
    let (_, n) = d.global_shape();
    let k = params.rank();
    let mean = DataOps::<T, Distributed<V, _>>::data_mean(b, d);
    let m_local = rows.len();
    let (w0, h0) = start_rows(rows, n, k, mean, seed);
    let to_t = |a: Vec<f64>| a.into_iter().map(T::from_f64).collect::<Vec<T>>();
    let w0 = MatrixBackend::<T>::from_row_major(b, m_local, k, &to_t(w0))?;
    let h0 = MatrixBackend::<T>::from_row_major(b, k, n, &to_t(h0))?;
    let model: NmfModel<T, Faer> = params
        .fitting::<T, Faer, Distributed<V, &MpiCollective<'_>>>(b, d)
        .start(&w0, &h0)
        .run()?;
    let export = |a: &<Faer as MatrixBackend<T>>::Mat| {
        MatrixBackend::<T>::to_row_major(b, a)
            .into_iter()
            .map(|x| x.as_f64())
            .collect()
    };
    Ok(Fitted {
        w: export(model.w()),
        h: export(model.h()),
        history: model
            .loss_history()
            .iter()
            .map(|r| (r.iteration, r.loss))
            .collect(),
        n_iter: model.n_iter(),
        converged: model.converged(),
        reduce_seconds: d.comm().reduce_seconds(),
    })
}

/// All of W (m×k, row-major) on rank 0 (`Some`), from every rank's rows (`local`, the rows of
/// [`block_rows`]`(m, size, rank)`); `None` on the other ranks. Collective.
pub fn gather_rows(
    comm: &SimpleCommunicator,
    local: &[f64],
    m: usize,
    k: usize,
) -> Option<Vec<f64>> {
    let size = comm.size() as usize;
    if comm.rank() != 0 {
        comm.process_at_rank(0).send(local);
        return None;
    }
    let mut all = vec![0.0; m * k];
    all[..local.len()].copy_from_slice(local);
    for q in 1..size {
        let r = block_rows(m, size, q);
        comm.process_at_rank(q as i32)
            .receive_into(&mut all[r.start * k..r.end * k]);
    }
    Some(all)
}

/// A `.npy` file (format 1.0, little-endian `dtype`, C order) of a rows×cols matrix (f64
/// values; for f32, values of an f32 fit, so exact).
fn npy_bytes(rows: usize, cols: usize, data: &[f64], dtype: Dtype) -> Vec<u8> {
    let descr = match dtype {
        Dtype::F64 => "<f8",
        Dtype::F32 => "<f4",
    };
    let mut header =
        format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': ({rows}, {cols}), }}");
    // Magic (6) + version (2) + length (2) + header + '\n', a multiple of 64.
    while !(10 + header.len() + 1).is_multiple_of(64) {
        header.push(' ');
    }
    header.push('\n');
    let mut out = Vec::with_capacity(10 + header.len() + 8 * data.len());
    out.extend_from_slice(b"\x93NUMPY\x01\x00");
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    for &x in data {
        match dtype {
            Dtype::F64 => out.extend_from_slice(&x.to_le_bytes()),
            Dtype::F32 => out.extend_from_slice(&(x as f32).to_le_bytes()),
        }
    }
    out
}

/// Writes a rows×cols matrix (row-major `data`) as a `.npy` file (`<f8`, C order).
///
/// # Errors
/// The path and the system's message.
pub fn write_npy(path: &Path, rows: usize, cols: usize, data: &[f64]) -> Result<(), String> {
    std::fs::write(path, npy_bytes(rows, cols, data, Dtype::F64))
        .map_err(|e| format!("{}: {e}", path.display()))
}

/// Writes `W.npy` (m×k) and `H.npy` (k×n), in `dtype` (`<f8` or `<f4`, the scalar type of the
/// fit), into `dir` in one step: into a new directory beside it, which then takes its place
/// (an existing `dir` is moved aside first and removed after), so `dir` never holds one new
/// file and one old.
///
/// # Errors
/// The path and the system's message.
pub fn write_npy_dir(
    dir: &Path,
    w: (&[f64], usize, usize),
    h: (&[f64], usize, usize),
    dtype: Dtype,
) -> Result<(), String> {
    let fail = |p: &Path, e: std::io::Error| format!("{}: {e}", p.display());
    let name = dir
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "nmf-out".into());
    let parent = match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&parent).map_err(|e| fail(&parent, e))?;
    let pid = std::process::id();
    let tmp = parent.join(format!(".{name}.tmp-{pid}"));
    std::fs::create_dir(&tmp).map_err(|e| fail(&tmp, e))?;
    for (file, (data, r, c)) in [("W.npy", w), ("H.npy", h)] {
        let path = tmp.join(file);
        let mut f = std::fs::File::create(&path).map_err(|e| fail(&path, e))?;
        f.write_all(&npy_bytes(r, c, data, dtype))
            .and_then(|_| f.sync_all())
            .map_err(|e| fail(&path, e))?;
    }
    let old = parent.join(format!(".{name}.old-{pid}"));
    let had = dir.exists();
    if had {
        std::fs::rename(dir, &old).map_err(|e| fail(dir, e))?;
    }
    std::fs::rename(&tmp, dir).map_err(|e| fail(dir, e))?;
    if had {
        std::fs::remove_dir_all(&old).map_err(|e| fail(&old, e))?;
    }
    Ok(())
}

/// The name of the JSON file that lists the parts of W written by [`write_scatter_dir`].
pub const W_PARTS: &str = "W.parts.json";

/// The file of rank `p`'s rows of W written by [`write_scatter_dir`].
pub fn w_part_name(p: usize) -> String {
    format!("W.rank{p}.npy")
}

/// The text of [`W_PARTS`] for W (m×k) split over `size` ranks: W's shape and, for each rank in
/// order, its file, first row and row count.
pub fn w_parts_json(m: usize, k: usize, size: usize) -> String {
    let parts: Vec<String> = (0..size)
        .map(|p| {
            let r = block_rows(m, size, p);
            format!(
                "    {{\"file\": \"{}\", \"first_row\": {}, \"rows\": {}}}",
                w_part_name(p),
                r.start,
                r.len()
            )
        })
        .collect();
    format!(
        "{{\n  \"rows\": {m},\n  \"cols\": {k},\n  \"parts\": [\n{}\n  ]\n}}\n",
        parts.join(",\n")
    )
}

/// Writes W without gathering it (`--scatter-output`), all or nothing, into `dir`: every rank
/// writes its rows (`w_local`, row-major, the rows of [`block_rows`]`(m, size, rank)`) as
/// `W.rank{p}.npy`, rank 0 writes `H.npy` (k×n) and [`W_PARTS`]. The files go into a new
/// directory beside `dir` (made by rank 0, whose process id names it), which rank 0 renames
/// to `dir` once every rank has said its write succeeded (an existing `dir` is moved aside
/// first and removed after); after a failure on any rank, rank 0 removes it and `dir` is
/// untouched. The ranks must see the same file system at `dir` (one machine, or a shared file
/// system). The files are in `dtype`. Collective; every rank returns the same.
///
/// # Errors
/// The path and the system's message, prefixed with the rank when only some ranks failed.
pub fn write_scatter_dir(
    comm: &SimpleCommunicator,
    dir: &Path,
    w_local: &[f64],
    (m, k): (usize, usize),
    (h, n): (&[f64], usize),
    dtype: Dtype,
) -> Result<(), String> {
    let fail = |p: &Path, e: std::io::Error| format!("{}: {e}", p.display());
    let (rank, size) = (comm.rank() as usize, comm.size() as usize);
    let name = dir
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "nmf-out".into());
    let parent = match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let mut pid = [std::process::id() as u64];
    comm.process_at_rank(0).broadcast_into(&mut pid[..]);
    let tmp = parent.join(format!(".{name}.tmp-{}", pid[0]));
    let made = if rank == 0 {
        std::fs::create_dir_all(&parent)
            .map_err(|e| fail(&parent, e))
            .and_then(|()| std::fs::create_dir(&tmp).map_err(|e| fail(&tmp, e)))
    } else {
        Ok(())
    };
    agree(comm, made)?;
    let write = |file: &str, r: usize, c: usize, data: &[f64]| -> Result<(), String> {
        let path = tmp.join(file);
        let mut f = std::fs::File::create(&path).map_err(|e| fail(&path, e))?;
        f.write_all(&npy_bytes(r, c, data, dtype))
            .and_then(|_| f.sync_all())
            .map_err(|e| fail(&path, e))
    };
    let rows = block_rows(m, size, rank);
    let mut mine = write(&w_part_name(rank), rows.len(), k, w_local);
    if rank == 0 && mine.is_ok() {
        mine = write("H.npy", k, n, h).and_then(|()| {
            let path = tmp.join(W_PARTS);
            std::fs::write(&path, w_parts_json(m, k, size)).map_err(|e| fail(&path, e))
        });
    }
    // Every write done (or not) before rank 0 renames: one decision for all.
    let written = agree(comm, mine);
    let result = if rank != 0 {
        written
    } else {
        let swapped = written.and_then(|()| {
            let old = parent.join(format!(".{name}.old-{}", pid[0]));
            let had = dir.exists();
            if had {
                std::fs::rename(dir, &old).map_err(|e| fail(dir, e))?;
            }
            std::fs::rename(&tmp, dir).map_err(|e| fail(dir, e))?;
            if had {
                std::fs::remove_dir_all(&old).map_err(|e| fail(&old, e))?;
            }
            Ok(())
        });
        if swapped.is_err() && tmp.exists() {
            let _ = std::fs::remove_dir_all(&tmp);
        }
        swapped
    };
    // The others learn whether the rename succeeded.
    agree(comm, result)
}

/// Reads a `.npy` file written by [`write_npy_dir`] (or numpy: `<f8`, C order): `(rows,
/// cols, row-major data)`. For the tests and for checking a result.
///
/// # Errors
/// The path and what is wrong.
pub fn read_npy(path: &Path) -> Result<(usize, usize, Vec<f64>), String> {
    let mut f = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let h = read::npy_header(&mut f, path)?;
    f.seek(SeekFrom::Start(h.offset))
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let mut raw = Vec::new();
    f.read_to_end(&mut raw)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let data = read::decode(&raw, h.dtype, h.rows * h.cols, path)?;
    Ok((h.rows, h.cols, data))
}
