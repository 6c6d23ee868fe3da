//! `nmf-mpi fit INPUT -k K ...`, run as `mpirun -np P nmf-mpi fit ...`: each rank reads its
//! block of rows of V (its block of a 2-D grid with `--grid`, see `nmf_mpi::grid`), the
//! ranks fit together (see the crate docs), and rank 0 writes W.npy
//! and H.npy. An error on any rank ends every rank with that message (printed once, by rank
//! 0) and exit code 1.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::{Parser, Subcommand, ValueEnum};
use mpi::topology::SimpleCommunicator;
use mpi::traits::*;
use nmf_core::distributed::block_rows;
use nmf_core::{Loss, Nmf, Solver};
use nmf_mpi::grid::{self, GridSpec};
use nmf_mpi::{Dtype, agree, fit_block_as, gather_rows, read, write_npy_dir, write_scatter_dir};

/// Non-negative matrix factorization V ≈ WH over MPI processes: V and W by blocks of rows,
/// H on every process (or V by blocks on a 2-D grid with --grid). Run as
/// `mpirun -np P nmf-mpi fit INPUT -k K`.
#[derive(Debug, Parser)]
#[command(name = "nmf-mpi", version)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Fit V (a .npy dense matrix, a .mtx coordinate file or a SciPy sparse .npz) and write
    /// W.npy and H.npy.
    Fit(FitArgs),
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum LossArg {
    Frobenius,
    Kl,
    ItakuraSaito,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum SolverArg {
    /// HALS for the Frobenius loss, MU otherwise.
    Auto,
    /// The multiplicative updates (every loss).
    Mu,
    /// Hierarchical ALS, one sweep per half-step (Frobenius only; not with --missing
    /// unobserved).
    Hals,
    /// Refused: masked least squares needs a k×k Gram matrix per column of V over its
    /// observed entries (k²·n values to add over the processes every iteration); --missing
    /// unobserved is fitted by mu.
    Anls,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum DtypeArg {
    /// Single precision (the statistics are still added over the processes in f64).
    F32,
    /// Double precision.
    F64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum MissingArg {
    /// The entries a sparse file does not store are zeros.
    Zero,
    /// The entries a sparse file stores are the observed ones, the others are missing: the
    /// loss is summed over the observed entries only (MU; every entry of a .npy is observed).
    Unobserved,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum InitArg {
    /// Seeded random, entry by entry from its place (the same for any number of processes).
    Random,
    /// Refused: NNDSVD needs the SVD of all of V.
    Nndsvd,
    /// Refused, as nndsvd.
    Nndsvda,
    /// Refused, as nndsvd.
    Nndsvdar,
}

#[derive(Debug, clap::Args)]
struct FitArgs {
    /// V: a .npy file (little-endian f8 or f4, C order; each rank reads its rows only), a
    /// .mtx coordinate file (every rank scans it and keeps its rows) or a SciPy sparse .npz
    /// (csr: each rank reads its rows' range; csc, coo: each rank streams the entries and
    /// keeps its rows').
    input: PathBuf,
    /// The rank k of the factorization.
    #[arg(short = 'k', long)]
    rank: usize,
    /// The loss to minimise [default: frobenius].
    #[arg(long, value_enum)]
    loss: Option<LossArg>,
    /// Minimise the β-divergence with this β instead of a named --loss.
    #[arg(
        long,
        value_name = "X",
        conflicts_with = "loss",
        allow_hyphen_values = true
    )]
    beta: Option<f64>,
    /// The update rule.
    #[arg(long, value_enum, default_value_t = SolverArg::Auto)]
    solver: SolverArg,
    /// The scalar type of the computation and of W.npy and H.npy.
    #[arg(long, value_enum, default_value_t = DtypeArg::F64)]
    dtype: DtypeArg,
    /// What the entries a sparse file does not store are.
    #[arg(long, value_enum, default_value_t = MissingArg::Zero)]
    missing: MissingArg,
    /// The most iterations.
    #[arg(long, value_name = "N", default_value_t = 200)]
    max_iter: usize,
    /// Stop when the loss decreased by at most this fraction over the last --check-every
    /// iterations; 0 runs exactly --max-iter iterations.
    #[arg(
        long,
        value_name = "X",
        default_value_t = 1e-4,
        allow_hyphen_values = true
    )]
    tol: f64,
    /// Evaluate the loss every N iterations.
    #[arg(long, value_name = "N", default_value_t = 10)]
    check_every: usize,
    /// The seed of the random start.
    #[arg(long, value_name = "N", default_value_t = 0)]
    seed: u64,
    /// Threads per process (for the products and the sparse passes).
    #[arg(long, value_name = "N", default_value_t = 1)]
    threads: usize,
    /// The lower bound ε on every entry of W and H [default: from the data, as `nmf fit`].
    #[arg(long, value_name = "X", allow_hyphen_values = true)]
    eps: Option<f64>,
    /// How W and H start.
    #[arg(long, value_enum, default_value_t = InitArg::Random)]
    init: InitArg,
    /// The output directory (replaced in one step by rank 0).
    #[arg(short, long, value_name = "DIR", default_value = "nmf-out")]
    out: PathBuf,
    /// Do not gather W on rank 0: every rank writes its rows as W.rank{p}.npy, and W.parts.json
    /// lists each file's first row and row count (H.npy as without it). Still all or nothing:
    /// the directory appears once every rank's write succeeded. The ranks must share the file
    /// system at --out.
    #[arg(long)]
    scatter_output: bool,
    /// Distribute V over a PR×PC grid of processes (PLANC's 2-D distribution: W by rows and
    /// H by columns, each piece on one process; see the README) instead of by rows. PR·PC
    /// must be the number of processes.
    #[arg(long, value_name = "PRxPC")]
    grid: Option<GridSpec>,
}

/// Open MPI's parameter that makes a process waiting in a collective yield the processor
/// between polls instead of spinning on it.
const YIELD_WHEN_IDLE: &str = "OMPI_MCA_mpi_yield_when_idle";

fn main() -> ExitCode {
    // A rank that waits for the others in the all-reduce busy-polls by default; on a machine
    // whose cores are shared (more processes than cores, or other work) the spinning takes the
    // processor from the rank it waits for. Yield instead, unless the user chose otherwise
    // (`--mca mpi_yield_when_idle 0`). Read by Open MPI at initialisation; other MPIs ignore it.
    if std::env::var_os(YIELD_WHEN_IDLE).is_none() {
        // SAFETY: no other thread exists yet (MPI and the thread pools start below).
        unsafe { std::env::set_var(YIELD_WHEN_IDLE, "1") };
    }
    let Some(universe) = mpi::initialize() else {
        eprintln!("nmf-mpi: error: MPI could not be initialised (already initialised?)");
        return ExitCode::from(1);
    };
    let world = universe.world();
    // A panic on one rank would leave the others waiting in a collective: end them all.
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        default_hook(info);
        SimpleCommunicator::world().abort(101);
    }));
    let rank0 = world.rank() == 0;
    let code = match Cli::try_parse() {
        Err(e) => {
            if rank0 {
                let _ = e.print();
            }
            e.exit_code() as u8
        }
        Ok(cli) => match run(&world, cli) {
            Ok(()) => 0,
            Err(msg) => {
                if rank0 {
                    eprintln!("nmf-mpi: error: {msg}");
                }
                1
            }
        },
    };
    drop(universe);
    ExitCode::from(code)
}

fn run(world: &SimpleCommunicator, cli: Cli) -> Result<(), String> {
    let Cmd::Fit(a) = cli.cmd;
    let (rank, size) = (world.rank() as usize, world.size() as usize);
    let loss = match (a.beta, a.loss) {
        (Some(b), _) => Loss::Beta(b),
        (None, None | Some(LossArg::Frobenius)) => Loss::Frobenius,
        (None, Some(LossArg::Kl)) => Loss::KullbackLeibler,
        (None, Some(LossArg::ItakuraSaito)) => Loss::ItakuraSaito,
    };
    let solver = match a.solver {
        SolverArg::Auto => Solver::Auto,
        SolverArg::Mu => Solver::Mu,
        SolverArg::Hals => Solver::Hals,
        SolverArg::Anls => {
            return Err(
                "--solver anls: masked least squares is not distributed (its H half-step needs \
                 a k×k Gram matrix per column over the column's observed entries); use \
                 --solver mu (or auto), which fits --missing unobserved over the processes"
                    .into(),
            );
        }
    };
    if !matches!(a.init, InitArg::Random) {
        return Err(
            "--init: NNDSVD needs the SVD of all of V, which nmf-mpi does not compute; \
                    use --init random (seeded, the same for any number of processes)"
                .into(),
        );
    }
    let mut p = Nmf::params(a.rank)
        .loss(loss)
        .solver(solver)
        // One HALS sweep per half-step: the repeated sweeps' budget and early stop depend on
        // the local rows (see nmf_core::distributed).
        .hals_acceleration(0.0, 0.1)
        .max_iter(a.max_iter)
        .tol(a.tol)
        .check_every(a.check_every)
        .seed(a.seed);
    if let Some(eps) = a.eps {
        p = p.eps(eps);
    }
    let params = p.check().map_err(|e| e.to_string())?;
    if a.threads == 0 {
        return Err("--threads must be at least 1".into());
    }
    // The sparse passes run on rayon's global pool: one per process, of --threads threads.
    let _ = rayon::ThreadPoolBuilder::new()
        .num_threads(a.threads)
        .build_global();
    let b = nmf_faer::Faer::with_threads(a.threads);

    let (m, n) = agree(world, read::shape(&a.input))?;
    if let Some(spec) = a.grid {
        if a.scatter_output {
            return Err("--scatter-output is not available with --grid (W is gathered)".into());
        }
        if a.dtype != DtypeArg::F64 {
            return Err("--grid fits in f64 only: leave out --dtype f32, or drop --grid".into());
        }
        if a.missing != MissingArg::Zero {
            return Err(
                "--missing unobserved is fitted by rows only: drop --grid (the 1-D distribution)"
                    .into(),
            );
        }
        let r = grid::fit_file(world, spec, &a.input, (m, n), &b, &params, a.seed, &a.out)?;
        if rank == 0 {
            eprintln!(
                "nmf-mpi: {size} processes on a {spec} grid, V {m}×{n}, k = {}, {loss}: {} \
                 iterations{}, loss {:e}; read {:.3} s, fit {:.3} s; wrote {}",
                a.rank,
                r.n_iter,
                if r.converged { " (converged)" } else { "" },
                r.loss,
                r.t_read,
                r.t_fit,
                a.out.display()
            );
        }
        return Ok(());
    }
    if size > m {
        return Err(format!(
            "{}: V has {m} rows, fewer than the {size} processes (each needs at least one row)",
            a.input.display()
        ));
    }
    let rows = block_rows(m, size, rank);
    let t0 = Instant::now();
    let read = read::block(&a.input, rows.clone()).and_then(|block| {
        let block = match a.missing {
            MissingArg::Zero => block,
            MissingArg::Unobserved => block
                .into_observed()
                .map_err(|e| format!("{}: rows {rows:?}: {e}", a.input.display()))?,
        };
        match (a.dtype, block.first_beyond(f32::MAX as f64)) {
            (DtypeArg::F32, Some((i, j, x))) => Err(format!(
                "{}: the entry {x:e} at row {}, column {j} (0-based) is beyond the range of \
                 f32; use --dtype f64 or rescale the data",
                a.input.display(),
                rows.start + i
            )),
            _ => Ok(block),
        }
    });
    let block = agree(world, read)?;
    let t_read = t0.elapsed().as_secs_f64();
    let t1 = Instant::now();
    let fitted = match a.dtype {
        DtypeArg::F32 => fit_block_as::<f32>(world, &b, block, rows, &params, a.seed),
        DtypeArg::F64 => fit_block_as::<f64>(world, &b, block, rows, &params, a.seed),
    };
    let fitted = agree(world, fitted.map_err(|e| e.to_string()))?;
    let t_fit = t1.elapsed().as_secs_f64();
    let k = a.rank;
    let dtype = match a.dtype {
        DtypeArg::F32 => Dtype::F32,
        DtypeArg::F64 => Dtype::F64,
    };
    if a.scatter_output {
        write_scatter_dir(world, &a.out, &fitted.w, (m, k), (&fitted.h, n), dtype)?;
    } else {
        let w = gather_rows(world, &fitted.w, m, k);
        let written = match &w {
            Some(w) => write_npy_dir(&a.out, (w, m, k), (&fitted.h, k, n), dtype),
            None => Ok(()),
        };
        agree(world, written)?;
    }
    if rank == 0 {
        let last = fitted.history.last().map_or(f64::NAN, |r| r.1);
        eprintln!(
            "nmf-mpi: {size} processes, V {m}×{n}, k = {k}, {loss}: {} iterations{}, loss {last:e}; \
             read {t_read:.3} s, fit {t_fit:.3} s (of which all-reduce {:.3} s on rank 0, \
             waiting included); wrote {}",
            fitted.n_iter,
            if fitted.converged { " (converged)" } else { "" },
            fitted.reduce_seconds,
            a.out.display()
        );
    }
    Ok(())
}
