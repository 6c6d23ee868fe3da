//! `nmf-bench quality`: the command line of the time-to-quality mode and its output files.

use std::path::PathBuf;

use clap::Args;

use super::input;
use super::measure::{self, Config, REFERENCE, Report};
use super::{plot, table};

/// Time to quality: relative error ‖V − WH‖_F/‖V‖_F against wall time for this library's
/// solvers and, where installed, scikit-learn (`mu`, `cd`) and RcppML, each from its own
/// default start, on the same V, rank and threads, Frobenius loss, f64.
///
/// Every point is one whole fit with a budget of N iterations and no early stop, timed from
/// the call to the return (start included; interpreter start-up, imports, reading V, one
/// warm-up fit and the error computation excluded), repeated --repeats times (median kept).
/// Writes table.md, plot.svg and samples.json into --out.
#[derive(Debug, Clone, Args)]
pub struct QualityArgs {
    /// The matrix: a CSV, TSV, Matrix Market, NumPy or SciPy .npz file (optionally .gz), or
    /// `digits` for the bundled UCI digits as 1797 images × 64 pixels. A Matrix Market
    /// coordinate file or a .npz stays sparse for every solver (this library's sparse data
    /// term, a CSR matrix for scikit-learn, a dgCMatrix for RcppML) unless --dense.
    #[arg(long, default_value = input::DIGITS)]
    pub input: String,
    /// Make a sparse input dense for every solver.
    #[arg(long)]
    pub dense: bool,
    /// Keep only the first this many rows of the matrix.
    #[arg(long)]
    pub rows: Option<usize>,
    /// Factorize the transpose.
    #[arg(long)]
    pub transpose: bool,
    /// The rank.
    #[arg(short = 'k', long, default_value_t = 20)]
    pub rank: usize,
    /// The solvers, comma-separated, in the order of the tables: this library's (hals, mu, and
    /// hals-plain: HALS without the inner sweeps) and the peers (sklearn-cd, sklearn-mu,
    /// rcppml); peers that are not installed are skipped.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "hals,mu,sklearn-cd,sklearn-mu,rcppml"
    )]
    pub solvers: Vec<String>,
    /// Iteration budgets, comma-separated (each a separate fit from the start).
    #[arg(long, value_delimiter = ',', default_value = "10,30,100,300")]
    pub iters: Vec<usize>,
    /// The budgets at which scikit-learn cd's errors become the targets (added to --iters).
    #[arg(long, value_delimiter = ',', default_value = "30,100")]
    pub target_iters: Vec<usize>,
    /// More target errors, comma-separated.
    #[arg(long, value_delimiter = ',')]
    pub targets: Vec<f64>,
    /// Fits per budget; the median time is reported.
    #[arg(long, default_value_t = 3)]
    pub repeats: usize,
    /// Threads of every solver (faer's pool; BLAS and OpenMP of the peers).
    #[arg(short = 't', long, default_value_t = 2)]
    pub threads: usize,
    /// Seed of the starts that use one (randomized SVD of NNDSVDA, RcppML's random start).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Python interpreter with scikit-learn (default: $NMF_BENCH_PYTHON, else python3).
    #[arg(long)]
    pub python: Option<String>,
    /// R front end with RcppML (default: $NMF_BENCH_RSCRIPT, else Rscript).
    #[arg(long)]
    pub rscript: Option<String>,
    /// Output folder for table.md, plot.svg and samples.json.
    #[arg(long, default_value = "time-to-quality")]
    pub out: PathBuf,
}

impl QualityArgs {
    /// The run's settings.
    pub fn config(&self) -> Config {
        Config {
            k: self.rank,
            iters: self.iters.clone(),
            repeats: self.repeats,
            threads: self.threads,
            solvers: self.solvers.iter().map(|s| s.trim().to_string()).collect(),
            python: crate::sklearn::python(self.python.as_deref()),
            rscript: crate::rcppml::rscript(self.rscript.as_deref()),
            seed: self.seed,
            target_iters: self.target_iters.clone(),
            targets: self.targets.clone(),
        }
    }
}

/// The Markdown report: what was run, the error table, the time-to-target table and the
/// notes.
pub fn markdown(what: &str, m: usize, n: usize, cfg: &Config, r: &Report) -> String {
    let mut s = format!(
        "V: {what}, {m}×{n}; rank {}, Frobenius loss, f64, {} thread(s), median of {} fit(s) \
         per budget.\n\nRelative error ‖V − WH‖_F/‖V‖_F (median wall time of the fit):\n\n",
        cfg.k, cfg.threads, cfg.repeats
    );
    s.push_str(&table::errors(&r.curves));
    if !r.targets.is_empty() {
        s.push_str(
            "\nTime to reach each target error (interpolated between the two budgets around \
             it; ≤: reached at the first budget):\n\n",
        );
        s.push_str(&table::times(&r.curves, &r.targets, REFERENCE));
    }
    if !r.notes.is_empty() {
        s.push('\n');
        for n in &r.notes {
            s.push_str(&format!("- {n}\n"));
        }
    }
    s
}

/// The raw samples and settings as JSON.
pub fn json(what: &str, m: usize, n: usize, cfg: &Config, r: &Report, command: &str) -> String {
    let curves: Vec<_> = r
        .curves
        .iter()
        .map(|c| {
            let samples: Vec<_> = c
                .samples
                .iter()
                .map(|s| {
                    serde_json::json!({"iters": s.iters, "n_iter": s.n_iter,
                                       "seconds": s.seconds, "rel_err": s.rel_err})
                })
                .collect();
            serde_json::json!({"solver": c.solver, "label": c.label, "samples": samples})
        })
        .collect();
    let targets: Vec<_> = r
        .targets
        .iter()
        .map(|t| serde_json::json!({"label": t.label, "rel_err": t.rel_err}))
        .collect();
    let v = serde_json::json!({
        "input": what, "m": m, "n": n, "rank": cfg.k, "threads": cfg.threads,
        "repeats": cfg.repeats, "seed": cfg.seed, "command": command,
        "curves": curves, "targets": targets, "notes": r.notes,
    });
    serde_json::to_string_pretty(&v).expect("JSON") + "\n"
}

/// Runs the mode: loads V, measures, prints the Markdown report on stdout (progress on
/// stderr) and writes the files.
///
/// # Errors
/// A message for bad settings, an unreadable input, a failed fit of this library or an
/// output that cannot be written.
pub fn run(a: &QualityArgs) -> Result<(), String> {
    let cfg = a.config();
    cfg.check()?;
    let (v, what) = input::load_data(&a.input, a.rows, a.transpose, a.dense)?;
    let (rows, cols) = v.shape();
    let what = match &v {
        input::Data::Sparse(c) => format!(
            "{what} ({} non-zeros, {:.2}%)",
            c.nnz(),
            100.0 * c.nnz() as f64 / (rows as f64 * cols as f64)
        ),
        input::Data::Dense(_) => what,
    };
    eprintln!("V: {what}, {rows}×{cols}");
    let report = measure::run_data(&v, &cfg, |line| eprintln!("{line}"))?;
    let md = markdown(&what, rows, cols, &cfg, &report);
    print!("{md}");
    let command: Vec<String> = std::env::args().collect();
    let title = format!("{what} ({rows}×{cols}), rank {}", cfg.k);
    let svg = plot::svg(&report.curves, &report.targets, &title)?;
    let io = |p: &PathBuf, e: std::io::Error| format!("{}: {e}", p.display());
    std::fs::create_dir_all(&a.out).map_err(|e| io(&a.out, e))?;
    let md_file = format!("{md}\nCommand: `{}`\n", command.join(" "));
    for (name, text) in [
        ("table.md", md_file),
        ("plot.svg", svg),
        (
            "samples.json",
            json(&what, rows, cols, &cfg, &report, &command.join(" ")),
        ),
    ] {
        let p = a.out.join(name);
        std::fs::write(&p, text).map_err(|e| io(&p, e))?;
    }
    eprintln!(
        "wrote {}/{{table.md,plot.svg,samples.json}}",
        a.out.display()
    );
    Ok(())
}
