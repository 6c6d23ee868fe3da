//! RcppML, where installed (Debian `r-cran-rcppml`): its time-to-quality curve through
//! `Rscript` and `scripts/rcppml_ttq.R`.

use std::io::Write as _;
use std::path::Path;
use std::process::Command;

use crate::quality::{Curve, parse_points};
use crate::sklearn::THREAD_VARS;

/// The script, embedded so the mode works from any directory.
pub const SCRIPT: &str = include_str!("../scripts/rcppml_ttq.R");

/// The R front end to use: `explicit`, else `$NMF_BENCH_RSCRIPT`, else `Rscript`.
pub fn rscript(explicit: Option<&str>) -> String {
    explicit
        .map(str::to_string)
        .or_else(|| std::env::var("NMF_BENCH_RSCRIPT").ok())
        .unwrap_or_else(|| "Rscript".to_string())
}

/// RcppML's version, if `rscript` runs and can load it; `Err` says why not.
///
/// # Errors
/// A message for the user when RcppML has to be skipped.
pub fn available(rscript: &str) -> Result<String, String> {
    let out = Command::new(rscript)
        .args([
            "-e",
            "suppressPackageStartupMessages(library(RcppML)); cat(as.character(packageVersion('RcppML')))",
        ])
        .output()
        .map_err(|e| format!("cannot run {rscript}: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    } else {
        Err(format!(
            "{rscript} cannot load RcppML: {}",
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .rfind(|l| !l.trim().is_empty())
                .unwrap_or("")
                .trim()
        ))
    }
}

/// Writes V (m×n, row-major) column-major as raw little-endian `f64`, what R's `readBin`
/// reads into a matrix.
///
/// # Errors
/// Any I/O error.
pub fn write_col_major(path: &Path, m: usize, n: usize, v: &[f64]) -> std::io::Result<()> {
    assert_eq!(v.len(), m * n, "write_col_major: data length");
    let mut out = Vec::with_capacity(v.len() * 8);
    for j in 0..n {
        for i in 0..m {
            out.extend_from_slice(&v[i * n + j].to_le_bytes());
        }
    }
    std::fs::File::create(path)?.write_all(&out)
}

/// RcppML's curve on V (m×n), read by the script from `v_file`: dense, written by
/// [`write_col_major`], or with `sparse` the prefix of V's compressed columns written by
/// [`crate::quality::input::write_compressed`] (the script builds a `Matrix::dgCMatrix`,
/// which RcppML fits with its sparse code); see `scripts/rcppml_ttq.R` for what is timed. The child runs with
/// every variable of [`THREAD_VARS`] set to `threads`. Returns the curve (solver name
/// `rcppml`) and notes.
///
/// # Errors
/// A message if the script cannot be written or run, fails, or prints something unreadable.
#[allow(clippy::too_many_arguments)] // the front end, the problem and the schedule
pub fn time_to_quality(
    rscript: &str,
    v_file: &Path,
    sparse: bool,
    (m, n): (usize, usize),
    k: usize,
    iters: &[usize],
    repeats: usize,
    threads: usize,
    seed: u64,
) -> Result<(Curve, Vec<String>), String> {
    let dir = v_file.parent().unwrap_or(Path::new("."));
    let script = dir.join("rcppml_ttq.R");
    std::fs::write(&script, SCRIPT).map_err(|e| format!("{}: {e}", script.display()))?;
    let list = iters
        .iter()
        .map(usize::to_string)
        .collect::<Vec<_>>()
        .join(",");
    let mut cmd = Command::new(rscript);
    cmd.arg("--vanilla")
        .arg(&script)
        .arg("--v")
        .arg(v_file)
        .args(["--m", &m.to_string(), "--n", &n.to_string()])
        .args(["--sparse", if sparse { "1" } else { "0" }])
        .args(["--k", &k.to_string(), "--iters", &list])
        .args(["--repeats", &repeats.to_string()])
        .args(["--threads", &threads.to_string()])
        // R's integers are 32-bit: the seed is reduced to fit (the script adds 1).
        .args(["--seed", &(seed % (i32::MAX as u64 - 1)).to_string()]);
    for var in THREAD_VARS {
        cmd.env(var, threads.to_string());
    }
    let out = cmd
        .output()
        .map_err(|e| format!("cannot run {rscript}: {e}"))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return Err(format!(
            "the RcppML script failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let (mut samples, info) = parse_points(&stdout)?;
    let get = |key: &str| {
        info.iter()
            .find(|(k, _)| k == key)
            .map_or("?", |(_, v)| v.as_str())
    };
    let Some(pos) = samples.iter().position(|(s, _)| s == "rcppml") else {
        return Err(format!("the RcppML script printed no point: {stdout}"));
    };
    let (solver, samples) = samples.swap_remove(pos);
    let curve = Curve {
        solver,
        label: format!("RcppML {}", get("RcppML")),
        samples,
    };
    let notes = vec![format!(
        "RcppML {} on R {}: random start (its seed {}), threads {}",
        get("RcppML"),
        get("R"),
        get("seed"),
        get("threads")
    )];
    Ok((curve, notes))
}
