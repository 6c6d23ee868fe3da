//! scikit-learn, where installed: the comparison runner's row (`scripts/sklearn_mu.py` on the
//! same V and initial factors) and the time-to-quality curves of its `mu` and `cd` solvers
//! (`scripts/sklearn_ttq.py`, [`time_to_quality`]).

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::data::Problem;
use crate::quality::{Curve, parse_points};
use crate::runner::{Config, LossKind, Row};

/// The script, embedded so the runner works from any directory.
pub const SCRIPT: &str = include_str!("../scripts/sklearn_mu.py");

/// The time-to-quality script, embedded likewise.
pub const TTQ_SCRIPT: &str = include_str!("../scripts/sklearn_ttq.py");

/// The environment variables that set the threads of the BLAS and OpenMP pools a peer may
/// use, each set to the run's thread count.
pub const THREAD_VARS: [&str; 4] = [
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "BLIS_NUM_THREADS",
];

/// Writes a row-major matrix as a NumPy `.npy` file (format 1.0), in `f32` (`<f4`) or `f64`
/// (`<f8`), rounding to nearest.
///
/// # Errors
/// Any I/O error.
pub fn write_npy(
    path: &Path,
    rows: usize,
    cols: usize,
    x: &[f64],
    f32: bool,
) -> std::io::Result<()> {
    assert_eq!(x.len(), rows * cols, "write_npy: data length");
    let descr = if f32 { "<f4" } else { "<f8" };
    let mut header =
        format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': ({rows}, {cols}), }}");
    // magic (6) + version (2) + header length (2) + header, a multiple of 64, ending in '\n'.
    let total = (10 + header.len() + 1).div_ceil(64) * 64;
    header.push_str(&" ".repeat(total - 10 - header.len() - 1));
    header.push('\n');
    let mut out = Vec::with_capacity(total + x.len() * 8);
    out.extend_from_slice(b"\x93NUMPY\x01\x00");
    out.extend_from_slice(
        &u16::try_from(header.len())
            .expect("short header")
            .to_le_bytes(),
    );
    out.extend_from_slice(header.as_bytes());
    for &v in x {
        if f32 {
            out.extend_from_slice(&(v as f32).to_le_bytes());
        } else {
            out.extend_from_slice(&v.to_le_bytes());
        }
    }
    std::fs::File::create(path)?.write_all(&out)
}

fn read_f64(path: &Path) -> std::io::Result<Vec<f64>> {
    let bytes = std::fs::read(path)?;
    Ok(bytes
        .chunks_exact(8)
        .map(|c| f64::from_le_bytes(c.try_into().expect("8 bytes")))
        .collect())
}

/// The Python interpreter to use: `explicit`, else `$NMF_BENCH_PYTHON`, else `python3`.
pub fn python(explicit: Option<&str>) -> String {
    explicit
        .map(str::to_string)
        .or_else(|| std::env::var("NMF_BENCH_PYTHON").ok())
        .unwrap_or_else(|| "python3".to_string())
}

/// Whether `python` can import scikit-learn, numpy and threadpoolctl; `Err` says why not.
///
/// # Errors
/// A message for the user when the row has to be skipped.
pub fn available(python: &str) -> Result<String, String> {
    let out = Command::new(python)
        .args([
            "-c",
            "import sklearn, numpy, threadpoolctl; print(sklearn.__version__)",
        ])
        .output()
        .map_err(|e| format!("cannot run {python}: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    } else {
        Err(format!(
            "{python} cannot import scikit-learn: {}",
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .last()
                .unwrap_or("")
        ))
    }
}

/// Runs scikit-learn on `p` in `scalar` (`"f32"`/`"f64"`) with `threads` BLAS threads.
///
/// # Errors
/// A message if the script cannot be written, run or understood.
pub fn run(
    python: &str,
    p: &Problem,
    cfg: &Config,
    scalar: &str,
    threads: usize,
) -> Result<Row, String> {
    let dir: PathBuf = std::env::temp_dir().join(format!("nmf-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let f32 = scalar == "f32";
    let io = |e: std::io::Error| format!("{}: {e}", dir.display());
    write_npy(&dir.join("v.npy"), p.m, p.n, &p.v, f32).map_err(io)?;
    write_npy(&dir.join("w0.npy"), p.m, p.k, &p.w0, f32).map_err(io)?;
    write_npy(&dir.join("h0.npy"), p.k, p.n, &p.h0, f32).map_err(io)?;
    let script = dir.join("sklearn_mu.py");
    std::fs::write(&script, SCRIPT).map_err(io)?;
    let loss = match cfg.loss {
        LossKind::Frobenius => "frobenius",
        LossKind::KullbackLeibler => "kl",
    };
    let out = Command::new(python)
        .arg(&script)
        .arg("--dir")
        .arg(&dir)
        .args(["--loss", loss])
        .args(["--iters", &cfg.iters.to_string()])
        .args(["--threads", &threads.to_string()])
        .args(["--loss-every", &cfg.loss_every.to_string()])
        .output()
        .map_err(|e| format!("cannot run {python}: {e}"))?;
    if !out.status.success() {
        let _ = std::fs::remove_dir_all(&dir);
        return Err(format!(
            "scikit-learn script failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    let j: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap_or(""))
        .map_err(|e| format!("scikit-learn script output: {e}: {stdout}"))?;
    let w = read_f64(&dir.join("w.f64")).map_err(io)?;
    let h = read_f64(&dir.join("h.f64")).map_err(io)?;
    let _ = std::fs::remove_dir_all(&dir);
    let nums = |key: &str| -> Vec<f64> {
        j[key]
            .as_array()
            .map(|a| a.iter().filter_map(serde_json::Value::as_f64).collect())
            .unwrap_or_default()
    };
    let trace = j["trace"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|p| Some((p[0].as_f64()?, p[1].as_f64()?)))
                .collect()
        })
        .unwrap_or_default();
    let arch: Vec<String> = j["blas"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|b| {
                    format!(
                        "{} {} {}",
                        b["internal_api"].as_str().unwrap_or("?"),
                        b["version"].as_str().unwrap_or("?"),
                        b["architecture"].as_str().unwrap_or("")
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let note = format!(
        "scikit-learn {} numpy {}; BLAS: {}; OPENBLAS_CORETYPE={}; timing: {}",
        j["sklearn"].as_str().unwrap_or("?"),
        j["numpy"].as_str().unwrap_or("?"),
        arch.join(", "),
        j["openblas_coretype"].as_str().unwrap_or("?"),
        j["timing"].as_str().unwrap_or("?"),
    );
    let flops_per_iter = cfg.loss.iteration_flops(p);
    let iter_times = nums("iter_times");
    if iter_times.is_empty() || w.len() != p.m * p.k || h.len() != p.k * p.n {
        return Err(format!("scikit-learn script output incomplete: {stdout}"));
    }
    Ok(Row {
        backend: "scikit-learn".to_string(),
        scalar: scalar.to_string(),
        threads,
        iter_times,
        product_time: j["product_time"].as_f64().unwrap_or(f64::NAN),
        flops_per_iter,
        trace,
        final_loss: j["final_loss"].as_f64().unwrap_or(f64::NAN),
        w,
        h,
        diff_w: None,
        diff_h: None,
        note,
    })
}

/// Where the time-to-quality script reads V.
#[derive(Debug, Clone, PartialEq)]
pub enum TtqInput {
    /// A dense `f64` `.npy` file ([`write_npy`]).
    Dense(PathBuf),
    /// Compressed sparse rows written by [`crate::quality::input::write_compressed`] under
    /// this prefix, with V's `(rows, columns)`: the script builds a SciPy CSR matrix.
    Csr(PathBuf, (usize, usize)),
}

/// The time-to-quality curves of scikit-learn's `solvers` (`"cd"`, `"mu"`) on V, read by
/// the script from `input` (dense `f64`, or CSR kept sparse): see `scripts/sklearn_ttq.py` for what is timed. The child
/// runs with every variable of [`THREAD_VARS`] set to `threads` and under
/// `threadpool_limits(threads)`. Returns the curves (solver names `sklearn-cd`,
/// `sklearn-mu`) and notes (versions, BLAS, start).
///
/// # Errors
/// A message if the script cannot be written or run, fails, or prints something unreadable.
#[allow(clippy::too_many_arguments)] // the interpreter, the problem and the schedule
pub fn time_to_quality(
    python: &str,
    input: &TtqInput,
    k: usize,
    iters: &[usize],
    repeats: usize,
    threads: usize,
    solvers: &[&str],
    seed: u64,
) -> Result<(Vec<Curve>, Vec<String>), String> {
    let v_path = match input {
        TtqInput::Dense(p) | TtqInput::Csr(p, _) => p,
    };
    let dir = v_path.parent().unwrap_or(Path::new("."));
    let script = dir.join("sklearn_ttq.py");
    std::fs::write(&script, TTQ_SCRIPT).map_err(|e| format!("{}: {e}", script.display()))?;
    let list = |x: &[usize]| x.iter().map(usize::to_string).collect::<Vec<_>>().join(",");
    let mut cmd = Command::new(python);
    cmd.arg(&script);
    match input {
        TtqInput::Dense(p) => cmd.arg("--v").arg(p),
        TtqInput::Csr(p, (m, n)) => cmd
            .arg("--csr")
            .arg(p)
            .args(["--shape", &format!("{m},{n}")]),
    };
    cmd.args(["--k", &k.to_string()])
        .args(["--iters", &list(iters)])
        .args(["--repeats", &repeats.to_string()])
        .args(["--threads", &threads.to_string()])
        .args(["--solvers", &solvers.join(",")])
        .args(["--seed", &seed.to_string()]);
    for var in THREAD_VARS {
        cmd.env(var, threads.to_string());
    }
    let out = cmd
        .output()
        .map_err(|e| format!("cannot run {python}: {e}"))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return Err(format!(
            "the scikit-learn script failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let (samples, info) = parse_points(&stdout)?;
    let get = |key: &str| {
        info.iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect::<Vec<_>>()
            .join("; ")
    };
    let version = get("scikit-learn");
    let curves: Vec<Curve> = samples
        .into_iter()
        .map(|(solver, samples)| Curve {
            label: format!(
                "scikit-learn {version} {}",
                solver.strip_prefix("sklearn-").unwrap_or(&solver)
            ),
            solver,
            samples,
        })
        .collect();
    if curves.is_empty() {
        return Err(format!(
            "the scikit-learn script printed no point: {stdout}"
        ));
    }
    let notes = vec![format!(
        "scikit-learn {version}, numpy {}, Python {}: start {} (init=None), BLAS {}, \
         OPENBLAS_CORETYPE={}",
        get("numpy"),
        get("python"),
        get("init"),
        get("BLAS"),
        get("OPENBLAS_CORETYPE"),
    )];
    Ok((curves, notes))
}
