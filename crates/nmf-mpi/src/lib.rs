//! # nmf-mpi
//!
//! NMF over MPI processes (Open MPI through rsmpi): V and W are split by blocks of rows, H is
//! replicated, and each iteration all-reduces the k×n and k×k statistics of the H half-step
//! (the data term [`nmf_core::Distributed`]; see [`nmf_core::distributed`] for what is summed
//! and why the W half-step needs no communication). Run as
//! `mpirun -np P nmf-mpi fit INPUT -k K ...`; the library gives the pieces the binary is made
//! of:
//! - [`MpiCollective`]: the [`Collective`] of a communicator (reduce to rank 0, then broadcast,
//!   so every rank gets the same bits);
//! - [`read`]: each rank reads its block of rows of a `.npy` (seeking to it) or `.mtx` (every
//!   rank scans the file and keeps its rows);
//! - [`start_rows`]: the seeded random start, entry by entry from its global place, so that
//!   the start does not depend on the number of processes;
//! - [`agree`]: every rank learns whether any rank failed, and with which message, so that an
//!   error on one rank stops them all instead of leaving the others waiting in a collective;
//! - [`fit_block`], [`gather_rows`] and [`write_npy_dir`], or [`write_scatter_dir`] (each
//!   rank writes its rows of W).
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
use nmf_core::sparse::SparseData;
use nmf_core::{
    Collective, DataOps, Distributed, MatrixBackend, NmfError, NmfModel, NmfValidParams,
};
use nmf_faer::Faer;

pub mod grid;
pub mod read;

/// The [`Collective`] of an MPI communicator. The all-reduce is a reduce to rank 0 followed by
/// a broadcast from it: MPI_Allreduce does not promise the same bits on every rank, and the
/// ranks must agree exactly (the same H, the same loss, the same stopping decision). Its
/// buffer grows to the largest message once, so the iterations allocate nothing.
pub struct MpiCollective<'a> {
    comm: &'a SimpleCommunicator,
    scratch: RefCell<Vec<f64>>,
}

impl<'a> MpiCollective<'a> {
    /// The collective of `comm`.
    pub fn new(comm: &'a SimpleCommunicator) -> Self {
        Self {
            comm,
            scratch: RefCell::new(Vec::new()),
        }
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
        let root = self.comm.process_at_rank(0);
        if self.comm.size() > 1 {
            if self.comm.rank() == 0 {
                let mut s = self.scratch.borrow_mut();
                if s.len() < buf.len() {
                    s.resize(buf.len(), 0.0);
                }
                let out = &mut s[..buf.len()];
                root.reduce_into_root(&buf[..], out, SystemOperation::sum());
                buf.copy_from_slice(out);
            } else {
                root.reduce_into(&buf[..], SystemOperation::sum());
            }
            root.broadcast_into(buf);
        }
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

/// This rank's block of V: dense (row-major, `rows.len()`×n) or sparse.
pub enum Block {
    /// Dense rows.
    Dense(faer::Mat<f64>),
    /// Sparse rows.
    Sparse(SparseData<f64>),
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
}

/// Fits V split over the ranks of `comm` (this rank holds `block`, the rows `rows` of V)
/// from the start of [`start_rows`] with `seed`. Collective. Errors are the same on every
/// rank (the checks of V are collective: a bad entry anywhere is reported with its global
/// row on every rank).
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
    let coll = MpiCollective::new(comm);
    match block {
        Block::Dense(v) => {
            let d = Distributed::<faer::Mat<f64>, _>::new::<f64, Faer>(b, v, &coll)?;
            fit_on::<faer::Mat<f64>>(b, &d, rows, params, seed)
        }
        Block::Sparse(v) => {
            let d = Distributed::<SparseData<f64>, _>::new::<f64, Faer>(b, v, &coll)?;
            fit_on::<SparseData<f64>>(b, &d, rows, params, seed)
        }
    }
}

fn fit_on<V>(
    b: &Faer,
    d: &Distributed<V, &MpiCollective<'_>>,
    rows: Range<usize>,
    params: &NmfValidParams,
    seed: u64,
) -> Result<Fitted, NmfError>
where
    Faer: DataOps<f64, V>,
{
    let (_, n) = d.global_shape();
    let k = params.rank();
    let mean = DataOps::<f64, Distributed<V, _>>::data_mean(b, d);
    let m_local = rows.len();
    let (w0, h0) = start_rows(rows, n, k, mean, seed);
    let w0 = MatrixBackend::<f64>::from_row_major(b, m_local, k, &w0)?;
    let h0 = MatrixBackend::<f64>::from_row_major(b, k, n, &h0)?;
    let model: NmfModel<f64, Faer> = params
        .fitting::<f64, Faer, Distributed<V, &MpiCollective<'_>>>(b, d)
        .start(&w0, &h0)
        .run()?;
    Ok(Fitted {
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

/// A `.npy` file (format 1.0, little-endian f64, C order) of a rows×cols matrix.
fn npy_bytes(rows: usize, cols: usize, data: &[f64]) -> Vec<u8> {
    let mut header =
        format!("{{'descr': '<f8', 'fortran_order': False, 'shape': ({rows}, {cols}), }}");
    // Magic (6) + version (2) + length (2) + header + '\n', a multiple of 64.
    while !(10 + header.len() + 1).is_multiple_of(64) {
        header.push(' ');
    }
    header.push('\n');
    let mut out = Vec::with_capacity(10 + header.len() + 8 * data.len());
    out.extend_from_slice(b"\x93NUMPY\x01\x00");
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    for x in data {
        out.extend_from_slice(&x.to_le_bytes());
    }
    out
}

/// Writes a rows×cols matrix (row-major `data`) as a `.npy` file (`<f8`, C order).
///
/// # Errors
/// The path and the system's message.
pub fn write_npy(path: &Path, rows: usize, cols: usize, data: &[f64]) -> Result<(), String> {
    std::fs::write(path, npy_bytes(rows, cols, data))
        .map_err(|e| format!("{}: {e}", path.display()))
}

/// Writes `W.npy` (m×k) and `H.npy` (k×n) into `dir` in one step: into a new directory beside
/// it, which then takes its place (an existing `dir` is moved aside first and removed after),
/// so `dir` never holds one new file and one old.
///
/// # Errors
/// The path and the system's message.
pub fn write_npy_dir(
    dir: &Path,
    w: (&[f64], usize, usize),
    h: (&[f64], usize, usize),
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
        f.write_all(&npy_bytes(r, c, data))
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
/// system). Collective; every rank returns the same.
///
/// # Errors
/// The path and the system's message, prefixed with the rank when only some ranks failed.
pub fn write_scatter_dir(
    comm: &SimpleCommunicator,
    dir: &Path,
    w_local: &[f64],
    (m, k): (usize, usize),
    (h, n): (&[f64], usize),
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
        f.write_all(&npy_bytes(r, c, data))
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
