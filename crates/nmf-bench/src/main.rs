//! The nmf-bench comparison runner: every backend on the same V from the same initial
//! factors, with a Markdown table on stdout and the same rows as CSV/JSON, plus an SVG plot.
#![warn(missing_docs)]

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};
use nmf_bench::data::Problem;
use nmf_bench::runner::{Config, LossKind, Row};
use nmf_bench::{report, runner, sklearn};

#[derive(Debug, Clone, Copy, ValueEnum)]
enum LossArg {
    Frobenius,
    Kl,
}

/// Compare the nmf-rs backends (and scikit-learn, if installed) on one problem.
///
/// V = W*·H* + noise (uniform entries, from --seed); initial factors as `Nmf::params(k).seed(seed)`.
/// Each iteration is timed on its own; between iterations (untimed) the loss is evaluated and
/// the iteration's dominant products are timed once, with the same backend and threads.
#[derive(Debug, Parser)]
#[command(name = "nmf-bench", version, args_conflicts_with_subcommands = true)]
struct Args {
    /// Another mode instead of the comparison runner.
    #[command(subcommand)]
    mode: Option<Mode>,
    /// Rows of V.
    #[arg(short, long, default_value_t = 2000)]
    m: usize,
    /// Columns of V.
    #[arg(short, long, default_value_t = 2000)]
    n: usize,
    /// Rank.
    #[arg(short, long, default_value_t = 50)]
    k: usize,
    /// Loss.
    #[arg(long, value_enum, default_value = "frobenius")]
    loss: LossArg,
    /// Scalar types, comma-separated (f32, f64).
    #[arg(long, value_delimiter = ',', default_value = "f64")]
    scalar: Vec<String>,
    /// Thread counts for the multi-threaded backend (faer) and scikit-learn's BLAS,
    /// comma-separated; nalgebra and ndarray always run on one thread.
    #[arg(short, long, value_delimiter = ',', default_value = "2")]
    threads: Vec<usize>,
    /// Iterations per backend (each one timed).
    #[arg(short, long, default_value_t = 20)]
    iters: usize,
    /// Evaluate the loss (untimed) every this many iterations, for the plot; 0: only at the end.
    #[arg(long, default_value_t = 1)]
    loss_every: usize,
    /// Seed of V and the initial factors.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Python interpreter with scikit-learn (default: $NMF_BENCH_PYTHON, else python3).
    #[arg(long)]
    python: Option<String>,
    /// Skip the scikit-learn row.
    #[arg(long)]
    no_sklearn: bool,
    /// Write the rows as CSV to this file.
    #[arg(long)]
    csv: Option<PathBuf>,
    /// Write the rows (with per-iteration times and loss traces) as JSON to this file.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Write an SVG plot of loss against wall time to this file.
    #[arg(long)]
    svg: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
enum Mode {
    /// Time to quality: error against wall time for every solver and the installed peers.
    Quality(nmf_bench::quality::cli::QualityArgs),
}

fn main() {
    let a = Args::parse();
    let result = match &a.mode {
        Some(Mode::Quality(q)) => nmf_bench::quality::cli::run(q),
        None => run(&a),
    };
    if let Err(e) = result {
        eprintln!("nmf-bench: {e}");
        std::process::exit(1);
    }
}

fn run(a: &Args) -> Result<(), String> {
    if a.iters == 0 || a.k == 0 || a.m == 0 || a.n == 0 {
        return Err("m, n, k and --iters must be positive".into());
    }
    if a.threads.contains(&0) {
        return Err("thread counts must be positive".into());
    }
    if let Some(s) = a.scalar.iter().find(|s| *s != "f32" && *s != "f64") {
        return Err(format!("unknown scalar type {s:?} (expected f32 or f64)"));
    }
    let loss = match a.loss {
        LossArg::Frobenius => LossKind::Frobenius,
        LossArg::Kl => LossKind::KullbackLeibler,
    };
    let cfg = Config {
        loss,
        iters: a.iters,
        loss_every: a.loss_every,
    };
    eprintln!(
        "generating V ({}×{}, rank {}, seed {})…",
        a.m, a.n, a.k, a.seed
    );
    let p = Problem::new(a.m, a.n, a.k, a.seed);
    let show = |r: &Row| {
        eprintln!(
            "  {} {} ×{}: {:.2} ms/iter, loss {:.6e}",
            r.backend,
            r.scalar,
            r.threads,
            r.median_iter() * 1e3,
            r.final_loss
        );
    };
    let mut rows = runner::run_all(&p, &cfg, &a.scalar, &a.threads, show);
    let mut notes = Vec::new();
    if a.no_sklearn {
        notes.push("scikit-learn row skipped (--no-sklearn)".to_string());
    } else {
        let py = sklearn::python(a.python.as_deref());
        match sklearn::available(&py) {
            Err(msg) => {
                eprintln!("skipping the scikit-learn row: {msg}");
                notes.push(format!("scikit-learn row skipped: {msg}"));
            }
            Ok(_) => {
                for s in &a.scalar {
                    for &t in &a.threads {
                        match sklearn::run(&py, &p, &cfg, s, t) {
                            Ok(r) => {
                                show(&r);
                                notes.push(r.note.clone());
                                rows.push(r);
                            }
                            Err(msg) => {
                                eprintln!("skipping the scikit-learn row: {msg}");
                                notes.push(format!("scikit-learn row skipped: {msg}"));
                            }
                        }
                    }
                }
            }
        }
    }
    runner::fill_diffs(&mut rows, "scikit-learn");
    let loss_name = loss.name();
    let command: Vec<String> = std::env::args().collect();
    println!(
        "{}×{}, k = {}, {} loss, {} iterations, seed {}\n",
        a.m, a.n, a.k, loss_name, a.iters, a.seed
    );
    print!("{}", report::markdown(&rows));
    notes.sort();
    notes.dedup();
    for n in &notes {
        println!("\n- {n}");
    }
    println!(
        "\niter ÷ dominant products: median iteration time over the summed median times of the \
         iteration's dominant products (Frobenius: WᵀV, VHᵀ; KL: WH twice, Wᵀ(V/WH), (V/WH)Hᵀ), \
         timed between iterations with the same backend and threads. Max rel. diff: largest \
         ‖X − Y‖_F/‖Y‖_F over the other library rows of the same scalar type (scikit-learn: over \
         the library rows; it updates W before H, so it is not expected to agree to rounding)."
    );
    let meta = serde_json::json!({
        "m": a.m, "n": a.n, "k": a.k, "loss": loss_name, "iterations": a.iters,
        "seed": a.seed, "nnz": p.nnz, "command": command.join(" "), "notes": notes,
    });
    let io = |p: &PathBuf, e: std::io::Error| format!("{}: {e}", p.display());
    if let Some(path) = &a.csv {
        std::fs::write(path, report::csv(&rows)).map_err(|e| io(path, e))?;
    }
    if let Some(path) = &a.json {
        std::fs::write(path, report::json(&rows, meta)).map_err(|e| io(path, e))?;
    }
    if let Some(path) = &a.svg {
        let title = format!(
            "{loss_name} loss, {}×{}, k = {}: loss against iteration time",
            a.m, a.n, a.k
        );
        std::fs::write(path, report::svg(&rows, &title)).map_err(|e| io(path, e))?;
    }
    Ok(())
}
