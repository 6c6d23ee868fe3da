//! Target errors and the time each solver takes to reach them.

use super::{Checkpoint, Curve};

/// A relative error to reach, and where it comes from.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    /// What it is, for the table (`scikit-learn cd, 100 iter.`).
    pub label: String,
    /// The relative error ‖V − WH‖_F / ‖V‖_F.
    pub rel_err: f64,
}

/// When a curve first reaches a target.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Reach {
    /// Reached at the checkpoint of budget `iters` (the first whose error is ≤ the target).
    Reached {
        /// The budget of that checkpoint.
        iters: usize,
        /// Its measured (median) time: an upper bound of the time to the target.
        measured: f64,
        /// The estimated time to the target: linear interpolation in the error between the
        /// previous checkpoint (error above the target) and this one, applied to both time
        /// and iterations. When the first checkpoint already reaches the target there is
        /// nothing to interpolate from, and the estimate is the measured time.
        seconds: f64,
        /// The estimated iterations, interpolated in the same way.
        est_iters: f64,
        /// Whether [`seconds`](Reach::Reached::seconds) is only an upper bound (reached at
        /// the first checkpoint).
        upper_bound: bool,
    },
    /// Not reached by the largest budget measured.
    NotReached {
        /// The largest budget measured.
        iters: usize,
        /// Its time.
        seconds: f64,
        /// Its error (above the target).
        rel_err: f64,
    },
}

impl Reach {
    /// The time to the target (estimated, or an upper bound), if reached.
    pub fn seconds(&self) -> Option<f64> {
        match self {
            Reach::Reached { seconds, .. } => Some(*seconds),
            Reach::NotReached { .. } => None,
        }
    }
}

/// When the checkpoints (in increasing budget) first reach `target`; `None` if there are no
/// checkpoints.
///
/// ```
/// use nmf_bench::quality::Checkpoint;
/// use nmf_bench::quality::target::{Reach, reach};
/// let c = |iters, seconds, rel_err| Checkpoint { iters, n_iter: iters, seconds, rel_err, repeats: 1 };
/// let cps = [c(10, 1.0, 0.60), c(30, 3.0, 0.50)];
/// match reach(&cps, 0.55).unwrap() {
///     Reach::Reached { iters, measured, seconds, est_iters, upper_bound } => {
///         assert_eq!((iters, measured, upper_bound), (30, 3.0, false));
///         assert!((seconds - 2.0).abs() < 1e-12 && (est_iters - 20.0).abs() < 1e-9);
///     }
///     r => panic!("{r:?}"),
/// }
/// assert!(matches!(reach(&cps, 0.4).unwrap(), Reach::NotReached { iters: 30, .. }));
/// ```
pub fn reach(checkpoints: &[Checkpoint], target: f64) -> Option<Reach> {
    let last = checkpoints.last()?;
    let Some(i) = checkpoints.iter().position(|c| c.rel_err <= target) else {
        return Some(Reach::NotReached {
            iters: last.iters,
            seconds: last.seconds,
            rel_err: last.rel_err,
        });
    };
    let c = checkpoints[i];
    if i == 0 {
        return Some(Reach::Reached {
            iters: c.iters,
            measured: c.seconds,
            seconds: c.seconds,
            est_iters: c.iters as f64,
            upper_bound: true,
        });
    }
    let p = checkpoints[i - 1];
    // p.rel_err > target ≥ c.rel_err, so 0 < f ≤ 1.
    let f = (p.rel_err - target) / (p.rel_err - c.rel_err);
    Some(Reach::Reached {
        iters: c.iters,
        measured: c.seconds,
        seconds: p.seconds + f * (c.seconds - p.seconds),
        est_iters: p.iters as f64 + f * (c.iters as f64 - p.iters as f64),
        upper_bound: false,
    })
}

/// The targets: the error of the curve `reference` (for example `sklearn-cd`) at each budget
/// of `at_iters`, as measured in the same run, then the `explicit` errors. A budget the
/// reference did not measure is skipped with a note, as is a missing reference.
pub fn targets(
    curves: &[Curve],
    reference: &str,
    at_iters: &[usize],
    explicit: &[f64],
    notes: &mut Vec<String>,
) -> Vec<Target> {
    let mut out = Vec::new();
    if !at_iters.is_empty() {
        match curves.iter().find(|c| c.solver == reference) {
            None => notes.push(format!(
                "no target errors from {reference}: it did not run (see above)"
            )),
            Some(c) => {
                for &it in at_iters {
                    match c.at(it) {
                        Some(cp) => {
                            if cp.n_iter < it {
                                notes.push(format!(
                                    "{} stopped after {} of {it} iterations; its error there is the target",
                                    c.label, cp.n_iter
                                ));
                            }
                            out.push(Target {
                                label: format!("{}, {it} iter.", c.label),
                                rel_err: cp.rel_err,
                            });
                        }
                        None => notes.push(format!(
                            "no target at {it} iterations: {} was not run with that budget (add it to --iters)",
                            c.label
                        )),
                    }
                }
            }
        }
    }
    for &e in explicit {
        out.push(Target {
            label: "given".to_string(),
            rel_err: e,
        });
    }
    out
}
