//! The Markdown tables of a time-to-quality run.

use std::fmt::Write as _;

use super::target::{Reach, Target, reach};
use super::{Checkpoint, Curve};

/// Seconds for a table: three significant digits, in s or ms.
///
/// ```
/// use nmf_bench::quality::table::secs;
/// assert_eq!(secs(2.8149), "2.81 s");
/// assert_eq!(secs(0.0123), "12.3 ms");
/// assert_eq!(secs(0.00012), "0.120 ms");
/// assert_eq!(secs(123.4), "123 s");
/// ```
pub fn secs(s: f64) -> String {
    let (x, unit) = if s < 1.0 { (s * 1e3, "ms") } else { (s, "s") };
    let digits = if x >= 100.0 {
        0
    } else if x >= 10.0 {
        1
    } else if x >= 1.0 {
        2
    } else {
        3
    };
    format!("{x:.digits$} {unit}")
}

fn cell(c: &Checkpoint) -> String {
    let stopped = if c.n_iter < c.iters {
        format!(" (stopped at {})", c.n_iter)
    } else {
        String::new()
    };
    format!("{:.4} ({}){stopped}", c.rel_err, secs(c.seconds))
}

/// The error against iterations table: one row per curve, one column per budget, each cell
/// `relative error (median time)`; `–` where a curve has no such budget.
pub fn errors(curves: &[Curve]) -> String {
    let mut budgets: Vec<usize> = curves
        .iter()
        .flat_map(|c| c.samples.iter().map(|s| s.iters))
        .collect();
    budgets.sort_unstable();
    budgets.dedup();
    let mut s = String::from("| solver |");
    for b in &budgets {
        let _ = write!(s, " {b} iter. |");
    }
    s.push_str("\n|---|");
    s.push_str(&"---|".repeat(budgets.len()));
    s.push('\n');
    for c in curves {
        let cps = c.checkpoints();
        let _ = write!(s, "| {} |", c.label);
        for b in &budgets {
            match cps.iter().find(|cp| cp.iters == *b) {
                Some(cp) => {
                    let _ = write!(s, " {} |", cell(cp));
                }
                None => s.push_str(" – |"),
            }
        }
        s.push('\n');
    }
    s
}

fn reach_cell(r: Option<Reach>) -> String {
    match r {
        None => "–".to_string(),
        Some(Reach::Reached {
            seconds,
            est_iters,
            upper_bound: true,
            ..
        }) => format!("≤ {} (≤ {est_iters:.0} it.)", secs(seconds)),
        Some(Reach::Reached {
            seconds, est_iters, ..
        }) => format!("{} (≈ {est_iters:.0} it.)", secs(seconds)),
        Some(Reach::NotReached {
            iters,
            seconds,
            rel_err,
        }) => format!("> {} (not in {iters} it.: {rel_err:.4})", secs(seconds)),
    }
}

/// The time-to-target table: one row per curve, for each target the time to reach it
/// ([`reach`]) and its ratio to the time of the curve `reference` (for example
/// `sklearn-cd`) to the same target.
pub fn times(curves: &[Curve], targets: &[Target], reference: &str) -> String {
    let mut s = String::from("| solver |");
    for t in targets {
        let _ = write!(s, " to {:.4} ({}) | ÷ {reference} |", t.rel_err, t.label);
    }
    s.push_str("\n|---|");
    s.push_str(&"---|---:|".repeat(targets.len()));
    s.push('\n');
    let reference_cps = curves
        .iter()
        .find(|c| c.solver == reference)
        .map(Curve::checkpoints);
    for c in curves {
        let cps = c.checkpoints();
        let _ = write!(s, "| {} |", c.label);
        for t in targets {
            let r = reach(&cps, t.rel_err);
            let base = reference_cps
                .as_ref()
                .and_then(|rc| reach(rc, t.rel_err))
                .and_then(|r| r.seconds());
            let ratio = match (r.and_then(|r| r.seconds()), base, r) {
                (Some(x), Some(b), _) if b > 0.0 => format!("{:.2}", x / b),
                (None, Some(b), Some(Reach::NotReached { seconds, .. })) if b > 0.0 => {
                    format!("> {:.2}", seconds / b)
                }
                _ => "–".to_string(),
            };
            let _ = write!(s, " {} | {ratio} |", reach_cell(r));
        }
        s.push('\n');
    }
    s
}
