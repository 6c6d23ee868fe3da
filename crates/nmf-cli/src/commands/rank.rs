//! `nmf rank`: choose the rank by cross-validation over held-out entries
//! ([`nmf_core::rank_selection`]), printing a Markdown table and writing rank.json and
//! rank.svg.

use std::fmt::Write as _;
use std::path::PathBuf;

use clap::Args;
use nmf_core::Nmf;
use nmf_core::rank_selection::{RankReport, RankSelection};

use crate::cli::parse_size;
use crate::interrupt::INTERRUPTED;
use crate::masked_input::{Missing, Nan, observed};
use crate::read::{Delimiter, Format, Header, ReadOptions, read_input};
use crate::write::{self, Staged, check_out};
use crate::{CliError, console};

/// The default output directory of `nmf rank`.
pub const RANK_OUT: &str = "nmf-rank";

/// `nmf rank`.
#[derive(Debug, Args)]
#[command(allow_negative_numbers = true)]
pub struct RankArgs {
    /// The matrix V, in any input format of `nmf fit`.
    pub input: PathBuf,
    /// The ranks to try: a range `A..B` (both included) or a list `2,4,8`.
    #[arg(long, value_name = "RANKS", value_parser = parse_ranks, required = true)]
    pub ranks: Ranks,
    /// Fits per rank, each with a different random held-out subset of the observed entries.
    #[arg(long, value_name = "R", default_value_t = 3)]
    pub replicates: usize,
    /// The fraction of the observed entries held out in each replicate.
    #[arg(long, value_name = "F", default_value_t = 0.1)]
    pub holdout: f64,
    /// Consensus restarts per rank on all observed entries (0: none): the cophenetic
    /// correlation and dispersion of the samples' (columns') clustering (Brunet et al. 2004;
    /// Kim & Park 2007).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub consensus: usize,
    /// The first seed: replicate q uses seed + q for its held-out subset and its start.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// How a Matrix Market coordinate or .npz input's unstored entries are read: `zero` (counts)
    /// or `unobserved` (ratings: the stored entries are the observed ones).
    #[arg(long, value_enum, default_value_t)]
    pub missing: Missing,
    /// How NaN entries and empty cells of a CSV or .npy input are read: `error` (refused,
    /// naming the cell) or `missing` (unobserved entries).
    #[arg(long, value_enum, default_value_t)]
    pub nan: Nan,
    /// Regularisation weight of W and H (L2, as `nmf fit --alpha-w X` with --l1-ratio 0):
    /// masked fits of sparse ratings need a little (rows or columns with few observed entries
    /// are otherwise underdetermined).
    #[arg(long, value_name = "X", default_value_t = 0.0)]
    pub alpha: f64,
    /// The most iterations of each fit.
    #[arg(long, value_name = "N", default_value_t = 200)]
    pub max_iter: usize,
    /// The relative-decrease tolerance of each fit's stopping rule.
    #[arg(long, value_name = "X", default_value_t = 1e-4)]
    pub tol: f64,
    /// Threads per fit (0: all cores) [default: all cores].
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// The input's format [default: from the file extension].
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// The field delimiter of CSV input.
    #[arg(long, value_enum, default_value_t)]
    pub delimiter: Delimiter,
    /// Whether CSV input starts with a header line.
    #[arg(long, value_enum, default_value_t)]
    pub header: Header,
    /// The most bytes an input file may hold (after decompression).
    #[arg(long, value_name = "BYTES", default_value = "4G", value_parser = parse_size)]
    pub max_input_bytes: u64,
    /// The output directory (created if needed): rank.json and rank.svg.
    #[arg(short, long, value_name = "DIR", default_value = RANK_OUT)]
    pub out: PathBuf,
}

/// The ranks of `--ranks`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ranks(pub Vec<usize>);

/// Parses `A..B` (inclusive) or `a,b,c` into ranks ≥ 1.
///
/// # Errors
/// A message naming what is wrong.
pub fn parse_ranks(text: &str) -> Result<Ranks, String> {
    let num = |t: &str| {
        t.trim()
            .parse::<usize>()
            .map_err(|_| format!("'{t}' is not a rank (a whole number ≥ 1)"))
    };
    let ranks = if let Some((a, b)) = text.split_once("..") {
        let (a, b) = (num(a)?, num(b.trim_start_matches('='))?);
        if a > b {
            return Err(format!(
                "the range {a}..{b} is empty (write the smaller rank first)"
            ));
        }
        (a..=b).collect()
    } else {
        text.split(',').map(num).collect::<Result<Vec<_>, _>>()?
    };
    if ranks.contains(&0) {
        return Err("ranks must be at least 1".into());
    }
    Ok(Ranks(ranks))
}

/// `nmf rank`.
///
/// # Errors
/// Every problem as a one-line [`CliError`].
pub fn rank(args: &RankArgs) -> Result<(), CliError> {
    check_out(&args.out, write::Command::Rank, false)?;
    let opts = ReadOptions {
        delimiter: args.delimiter,
        header: args.header,
        max_bytes: args.max_input_bytes,
        cancel: Some(&INTERRUPTED),
        nan_missing: args.nan == Nan::Missing,
    };
    let source = args.input.display().to_string();
    let (input, _) = read_input(&args.input, args.format, opts, false)?;
    let v = observed(input, args.missing, &source)?;
    crate::dispatch::limit_threads(args.threads)?;
    let b = nmf_faer::Faer::with_threads(args.threads.unwrap_or(0));
    let selection = RankSelection::new(args.ranks.0.clone())
        .replicates(args.replicates)
        .holdout(args.holdout)
        .seed(args.seed)
        .consensus(args.consensus);
    let (max_iter, tol, alpha) = (args.max_iter, args.tol, args.alpha);
    let report = selection
        .run(&b, &v, |k| {
            Nmf::params(k)
                .max_iter(max_iter)
                .tol(tol)
                .alpha_w(alpha)
                .alpha_h(alpha)
        })
        .map_err(|e| match e {
            nmf_core::NmfError::InvalidSolverOption { option, reason } => {
                CliError::usage(format!("--{option} {reason}"))
            }
            nmf_core::NmfError::InvalidHoldout { reason } => {
                CliError::usage(format!("--holdout: {reason}"))
            }
            e => CliError::data(format!("{source}: {e}")),
        })?;
    let mut staged = Staged::new(&args.out, write::Command::Rank, false)?;
    let mut json = serde_json::to_string_pretty(&report_json(&report, args, v.shape(), v.nnz()))
        .unwrap_or_else(|_| "{}".into());
    json.push('\n');
    staged.add("rank.json", json.as_bytes())?;
    staged.add("rank.svg", plot(&report).as_bytes())?;
    let paths = staged.commit()?;
    console::out(table(&report).trim_end())?;
    for p in &paths {
        console::out(&format!("wrote {}", p.display()))?;
    }
    Ok(())
}

/// The Markdown table and the chosen ranks.
pub fn table(r: &RankReport) -> String {
    let consensus = r.ranks.iter().any(|s| s.consensus.is_some());
    let mut t = String::new();
    let m = r.measure;
    let _ = write!(t, "| rank | train {m} | test {m} ± SE |");
    if consensus {
        t.push_str(" cophenetic | dispersion |");
    }
    t.push_str("\n|---:|---:|---:|");
    if consensus {
        t.push_str("---:|---:|");
    }
    t.push('\n');
    for s in &r.ranks {
        let _ = write!(
            t,
            "| {} | {:.4} | {:.4} ± {:.4} |",
            s.rank, s.train.mean, s.test.mean, s.test.se
        );
        if let Some(c) = &s.consensus {
            let _ = write!(t, " {:.4} | {:.4} |", c.cophenetic, c.dispersion);
        }
        t.push('\n');
    }
    let _ = writeln!(
        t,
        "\nlowest mean test {m}: rank {}; smallest rank within one standard error of it: rank {}",
        r.best, r.one_se
    );
    t
}

fn report_json(
    r: &RankReport,
    args: &RankArgs,
    shape: (usize, usize),
    observed: usize,
) -> serde_json::Value {
    let ranks: Vec<_> = r
        .ranks
        .iter()
        .map(|s| {
            let mut o = serde_json::json!({
                "rank": s.rank,
                "train_mean": s.train.mean,
                "train_se": s.train.se,
                "test_mean": s.test.mean,
                "test_se": s.test.se,
                "train_errors": s.train_errors,
                "test_errors": s.test_errors,
                "test_mae": s.test_details.iter().map(|e| e.mae).collect::<Vec<_>>(),
            });
            if let Some(c) = &s.consensus {
                o["cophenetic"] = c.cophenetic.into();
                o["dispersion"] = c.dispersion.into();
            }
            o
        })
        .collect();
    serde_json::json!({
        "command": "rank",
        "input": args.input.display().to_string(),
        "shape": [shape.0, shape.1],
        "observed": observed,
        "missing": args.missing.name(),
        "measure": r.measure,
        "replicates": args.replicates,
        "holdout": args.holdout,
        "seed": args.seed,
        "consensus": args.consensus,
        "alpha": args.alpha,
        "max_iter": args.max_iter,
        "tol": args.tol,
        "ranks": ranks,
        "best": r.best,
        "one_se": r.one_se,
    })
}

/// rank.svg: mean train and test error per rank, the test error with ±1 SE bars.
pub fn plot(r: &RankReport) -> String {
    use plotters::prelude::*;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (640, 420)).into_drawing_area();
        let _ = root.fill(&WHITE);
        let lo_rank = r.ranks.iter().map(|s| s.rank).min().unwrap_or(1) as f64;
        let hi_rank = r.ranks.iter().map(|s| s.rank).max().unwrap_or(1) as f64;
        let values = r.ranks.iter().flat_map(|s| {
            [
                s.train.mean,
                s.test.mean - s.test.se,
                s.test.mean + s.test.se,
            ]
        });
        let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), x| {
            (a.min(x), b.max(x))
        });
        let pad = ((hi - lo) * 0.05).max(1e-12);
        let chart = ChartBuilder::on(&root)
            .caption(
                format!("nmf rank: {} by rank", r.measure),
                ("sans-serif", 18),
            )
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(64)
            .build_cartesian_2d((lo_rank - 0.5)..(hi_rank + 0.5), (lo - pad)..(hi + pad));
        let Ok(mut chart) = chart else {
            return svg_fallback();
        };
        let _ = chart
            .configure_mesh()
            .x_desc("rank")
            .y_desc(r.measure)
            .disable_x_mesh()
            .draw();
        let train: Vec<(f64, f64)> = r
            .ranks
            .iter()
            .map(|s| (s.rank as f64, s.train.mean))
            .collect();
        let test: Vec<(f64, f64)> = r
            .ranks
            .iter()
            .map(|s| (s.rank as f64, s.test.mean))
            .collect();
        if let Ok(a) = chart.draw_series(LineSeries::new(train, BLUE.stroke_width(2))) {
            a.label("train")
                .legend(|(x, y)| PathElement::new([(x, y), (x + 18, y)], BLUE));
        }
        if let Ok(a) = chart.draw_series(LineSeries::new(test, RED.stroke_width(2))) {
            a.label("test ± SE")
                .legend(|(x, y)| PathElement::new([(x, y), (x + 18, y)], RED));
        }
        let _ = chart.draw_series(r.ranks.iter().map(|s| {
            let x = s.rank as f64;
            PathElement::new(
                [(x, s.test.mean - s.test.se), (x, s.test.mean + s.test.se)],
                RED,
            )
        }));
        let _ = chart.draw_series(
            [r.best, r.one_se]
                .iter()
                .filter_map(|k| r.ranks.iter().find(|s| s.rank == *k))
                .map(|s| Circle::new((s.rank as f64, s.test.mean), 5, RED.filled())),
        );
        let _ = chart
            .configure_series_labels()
            .border_style(BLACK)
            .background_style(WHITE)
            .draw();
        let _ = root.present();
    }
    svg
}

fn svg_fallback() -> String {
    "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"640\" height=\"420\"/>\n".into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranks_parse_as_ranges_and_lists() {
        assert_eq!(parse_ranks("2..5").unwrap().0, vec![2, 3, 4, 5]);
        assert_eq!(parse_ranks("2,4,8").unwrap().0, vec![2, 4, 8]);
        assert!(parse_ranks("5..2").unwrap_err().contains("empty"));
        assert!(parse_ranks("0..2").unwrap_err().contains("at least 1"));
        assert!(parse_ranks("a").unwrap_err().contains("'a'"));
    }
}
