//! summary.json: what a command read, how it ran and what it wrote, as [`serde::Serialize`]
//! structs. Their fields are declared in alphabetical order, the order in which the file has
//! always listed them (serde_json's maps are sorted), so the file reads the same.

use std::path::PathBuf;
use std::time::Duration;

use nmf_core::Loss;
use serde::Serialize;

use crate::fitting::Fitted;
use crate::settings::{Settings, init_used};

/// The loss as `summary.json` names it: its --loss value, or `beta` (β in the summary).
pub(crate) fn loss_name(l: Loss) -> &'static str {
    match l {
        Loss::Frobenius => "frobenius",
        Loss::KullbackLeibler => "kl",
        Loss::ItakuraSaito => "itakura-saito",
        _ => "beta",
    }
}

/// The loss in messages: `frobenius`, `kl`, `itakura-saito` or `beta(0.5)`.
pub(crate) fn loss_label(l: Loss) -> String {
    match l {
        Loss::Frobenius | Loss::KullbackLeibler | Loss::ItakuraSaito => loss_name(l).into(),
        _ => format!("beta({})", l.beta_value()),
    }
}

/// The input of a command.
#[derive(Debug, Serialize)]
pub(crate) struct InputInfo {
    /// The file's format, or what the demo's embedded data is.
    pub(crate) format: String,
    /// The entries stored (every entry when dense); absent for the demo.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) nnz: Option<usize>,
    /// The file (null for the demo's embedded data).
    pub(crate) path: Option<String>,
    /// `dense` or `sparse`; absent for the demo.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) storage: Option<&'static str>,
}

/// The summary of `nmf fit`, `nmf topics` and `nmf demo`.
#[derive(Debug, Serialize)]
pub(crate) struct FitSummary {
    backend: &'static str,
    command: &'static str,
    converged: bool,
    final_loss: Option<f64>,
    /// The error on the held-out entries (`nmf fit --holdout`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) holdout: Option<crate::masked_input::HoldoutInfo>,
    input: InputInfo,
    iterations: usize,
    loss_history: Vec<HistoryPoint>,
    loss_includes_penalty: bool,
    outputs: Vec<String>,
    parameters: FitParameters,
    scalar: &'static str,
    shapes: FitShapes,
    threads: usize,
    wall_time_seconds: FitTimes,
}

#[derive(Debug, Serialize)]
struct HistoryPoint {
    iteration: usize,
    loss: f64,
}

#[derive(Debug, Serialize)]
struct FitShapes {
    #[serde(rename = "H")]
    h: [usize; 2],
    #[serde(rename = "V")]
    v: [usize; 2],
    #[serde(rename = "W")]
    w: [usize; 2],
}

#[derive(Debug, Serialize)]
struct FitTimes {
    fit: f64,
    read: f64,
    total: f64,
}

#[derive(Debug, Serialize)]
struct FitParameters {
    alpha_h: f64,
    alpha_w: f64,
    beta: f64,
    check_every: usize,
    eps: f64,
    eps_given: bool,
    init: InitInfo,
    init_used: &'static str,
    l1_ratio: f64,
    loss: &'static str,
    max_iter: usize,
    n_init: usize,
    parallel_restarts: usize,
    penalty: PenaltyInfo,
    rank: usize,
    seed: u64,
    solver: String,
    tol: f64,
}

/// `--init` by name, or the files of a custom start.
#[derive(Debug, Serialize)]
#[serde(untagged)]
enum InitInfo {
    Named(&'static str),
    Files { h0: String, w0: String },
}

#[derive(Debug, Serialize)]
struct PenaltyInfo {
    l1_h: f64,
    l1_w: f64,
    l2_h: f64,
    l2_w: f64,
}

impl FitSummary {
    /// The summary of a fit of the `rows`×`cols` V with the settings `s`.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        command: &'static str,
        input: InputInfo,
        s: &Settings,
        (rows, cols): (usize, usize),
        f: &Fitted,
        read_seconds: f64,
        total: Duration,
        outputs: &[String],
    ) -> Self {
        let p = &s.params;
        let penalty = p.penalty(rows, cols);
        let path = |p: &PathBuf| p.display().to_string();
        Self {
            backend: s.backend.name(),
            command,
            converged: f.converged,
            final_loss: f.history.last().map(|r| r.loss),
            holdout: None,
            input,
            iterations: f.n_iter,
            loss_history: f
                .history
                .iter()
                .map(|r| HistoryPoint {
                    iteration: r.iteration,
                    loss: r.loss,
                })
                .collect(),
            loss_includes_penalty: !penalty.is_zero(),
            outputs: outputs.to_vec(),
            parameters: FitParameters {
                alpha_h: s.alpha_h,
                alpha_w: s.alpha_w,
                beta: p.loss().beta_value(),
                check_every: p.check_every(),
                eps: f.eps,
                eps_given: p.eps().is_some(),
                init: match &s.init {
                    None => InitInfo::Named(s.init_arg.name()),
                    Some((w0, h0)) => InitInfo::Files {
                        h0: path(h0),
                        w0: path(w0),
                    },
                },
                init_used: init_used(s, (rows, cols)),
                l1_ratio: s.l1_ratio,
                loss: loss_name(p.loss()),
                max_iter: p.max_iter(),
                n_init: p.n_init(),
                parallel_restarts: s.parallel_restarts,
                penalty: PenaltyInfo {
                    l1_h: penalty.l1_h,
                    l1_w: penalty.l1_w,
                    l2_h: penalty.l2_h,
                    l2_w: penalty.l2_w,
                },
                rank: p.rank(),
                seed: p.seed(),
                solver: p.effective_solver().to_string(),
                tol: p.tol(),
            },
            scalar: s.dtype.name(),
            shapes: FitShapes {
                h: [f.h.rows, f.h.cols],
                v: [rows, cols],
                w: [f.w.rows, f.w.cols],
            },
            threads: f.threads,
            wall_time_seconds: FitTimes {
                fit: f.seconds,
                read: read_seconds,
                total: total.as_secs_f64(),
            },
        }
    }
}

/// The summary of `nmf transform`.
#[derive(Debug, Serialize)]
pub(crate) struct TransformSummary {
    pub(crate) backend: &'static str,
    pub(crate) command: &'static str,
    pub(crate) final_loss: f64,
    pub(crate) input: InputInfo,
    pub(crate) model: ModelInfo,
    pub(crate) outputs: Vec<String>,
    pub(crate) parameters: TransformParameters,
    pub(crate) scalar: &'static str,
    pub(crate) shapes: TransformShapes,
    pub(crate) threads: usize,
    pub(crate) wall_time_seconds: TransformTimes,
}

/// The saved model a transform used.
#[derive(Debug, Serialize)]
pub(crate) struct ModelInfo {
    pub(crate) beta: f64,
    pub(crate) eps: f64,
    pub(crate) loss: &'static str,
    pub(crate) path: String,
    pub(crate) rank: usize,
    pub(crate) scalar: String,
}

/// The options of a transform.
#[derive(Debug, Serialize)]
pub(crate) struct TransformParameters {
    pub(crate) check_every: usize,
    pub(crate) max_iter: usize,
    pub(crate) tol: f64,
}

/// The shapes of X, W and H in a transform.
#[derive(Debug, Serialize)]
pub(crate) struct TransformShapes {
    #[serde(rename = "H")]
    pub(crate) h: [usize; 2],
    #[serde(rename = "W")]
    pub(crate) w: [usize; 2],
    #[serde(rename = "X")]
    pub(crate) x: [usize; 2],
}

/// The times of a transform.
#[derive(Debug, Serialize)]
pub(crate) struct TransformTimes {
    pub(crate) read: f64,
    pub(crate) total: f64,
    pub(crate) transform: f64,
}

/// The summary as the file's text: pretty JSON and a final newline.
pub(crate) fn to_text<S: Serialize>(summary: &S) -> String {
    let mut text = serde_json::to_string_pretty(summary).unwrap_or_else(|_| "{}".into());
    text.push('\n');
    text
}
