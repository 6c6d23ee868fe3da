//! `nmf demo`: fit the bundled handwritten digits and draw the basis images, digits beside
//! their reconstructions, and the loss curve.

use std::path::PathBuf;
use std::time::Instant;

use nmf_core::Loss;

use crate::cli::{DEMO_MAX_ITER, DEMO_OUT, DemoArgs, LossArg};
use crate::fitting::{Fitted, Sources, describe_run, fit_input};
use crate::interrupt::check as check_interrupt;
use crate::outputs::{write_matrices, write_model};
use crate::read::{Input, ReadOptions};
use crate::settings::{Defaults, Verbosity, print_settings, read_init, settings};
use crate::summary::{FitSummary, InputInfo, to_text};
use crate::write::{self, Staged, check_out};
use crate::{CliError, console, digits, picture};

/// The defaults of `nmf demo`.
const DEMO_DEFAULTS: Defaults = Defaults {
    loss: LossArg::Kl,
    max_iter: DEMO_MAX_ITER,
    tol: 0.0,
    out: DEMO_OUT,
};

/// Where `nmf demo` wrote its pictures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoPictures {
    /// The basis images.
    pub basis: PathBuf,
    /// Digits beside their reconstructions.
    pub reconstructions: PathBuf,
    /// The loss curve.
    pub loss: PathBuf,
}

/// `nmf demo`.
///
/// # Errors
/// Every problem as a one-line [`CliError`].
pub fn demo(args: &DemoArgs) -> Result<(), CliError> {
    let total = Instant::now();
    let s = settings(args.rank, &args.opts, &DEMO_DEFAULTS)?;
    check_out(&s.out, write::Command::Demo, false)?;
    let d = digits::load()?;
    let v = &d.pixels;
    let v_source = "the bundled digits";
    let init = read_init(&s, (v.rows, v.cols), v_source, ReadOptions::default())?;
    let read_seconds = total.elapsed().as_secs_f64();
    check_interrupt("while reading")?;
    print_settings(&s, (v.rows, v.cols), "demo")?;
    let (w0s, h0s) = s
        .init
        .as_ref()
        .map_or((String::new(), String::new()), |(a, b)| {
            (a.display().to_string(), b.display().to_string())
        });
    let sources = Sources {
        v: v_source,
        w0: &w0s,
        h0: &h0s,
    };
    let f = fit_input(
        &s,
        Input::Dense(v.clone()),
        init.as_ref().map(|(a, b)| (a, b)),
        &sources,
    )?;

    let mut staged = Staged::new(&s.out, write::Command::Demo, false)?;
    let mut outputs = write_matrices(&mut staged, &[("W", &f.w), ("H", &f.h)], s.dtype, s.csv)?;
    outputs.extend(write_model(&mut staged, &f.saved, s.model_format)?);
    let pics = ["basis.png", "reconstructions.png", "loss.svg"];
    let (basis, recon, loss) =
        demo_pictures(&f, &d, s.params.loss(), s.alpha_w > 0.0 || s.alpha_h > 0.0)?;
    staged.add(pics[0], &basis)?;
    staged.add(pics[1], &recon)?;
    staged.add(pics[2], loss.as_bytes())?;
    outputs.extend(pics.iter().map(|p| p.to_string()));
    outputs.push("summary.json".into());
    let input = InputInfo {
        format: "embedded UCI handwritten digits (64×1797 pixels by images)".into(),
        nnz: None,
        path: None,
        storage: None,
    };
    let summary = FitSummary::new(
        "demo",
        input,
        &s,
        (v.rows, v.cols),
        &f,
        read_seconds,
        total.elapsed(),
        &outputs,
    );
    staged.add("summary.json", to_text(&summary).as_bytes())?;
    staged.commit()?;
    if s.verbosity != Verbosity::Quiet {
        let dir = &s.out;
        console::out(&format!(
            "Factorized the 64×1797 matrix of handwritten digits (pixels × images) as W (64×{k}) times H ({k}×1797).",
            k = f.w.cols
        ))?;
        console::out(&describe_run(&f, &s))?;
        console::out(&format!(
            "  {}  the {} basis images (columns of W as 8×8 pictures, most used first): strokes and parts of digits",
            dir.join(pics[0]).display(),
            f.w.cols
        ))?;
        console::out(&format!(
            "  {}  20 digits (left) beside their reconstructions W·h (right), each a sum of parts",
            dir.join(pics[1]).display()
        ))?;
        console::out(&format!(
            "  {}  the loss against the iteration",
            dir.join(pics[2]).display()
        ))?;
        let data: Vec<String> = outputs
            .iter()
            .filter(|o| !pics.contains(&o.as_str()))
            .map(|o| dir.join(o).display().to_string())
            .collect();
        let what = if outputs.iter().any(|o| o.starts_with("model.")) {
            format!(
                "the factors, the model (for `nmf transform --model {}`) and the summary",
                dir.display()
            )
        } else {
            "the factors and the summary".to_string()
        };
        console::out(&format!("  {}  {what}", data.join(", ")))?;
    }
    Ok(())
}

/// The demo's three pictures: basis PNG, reconstructions PNG, loss SVG.
fn demo_pictures(
    f: &Fitted,
    d: &digits::Digits,
    loss: Loss,
    penalised: bool,
) -> Result<(Vec<u8>, Vec<u8>, String), CliError> {
    let (w, h) = (&f.w, &f.h);
    let k = w.cols;
    let side = digits::SIDE;
    let grid = picture::Grid {
        img_rows: side,
        img_cols: side,
        scale: 12,
        gap: 6,
    };
    // Basis images, ordered by their share of the reconstruction: Σ_i W_ik · Σ_j H_kj.
    let mut order: Vec<(usize, f64)> = (0..k)
        .map(|c| {
            let ws: f64 = (0..w.rows).map(|i| w.get(i, c)).sum();
            let hs: f64 = (0..h.cols).map(|j| h.get(c, j)).sum();
            (c, ws * hs)
        })
        .collect();
    order.sort_by(|a, b| b.1.total_cmp(&a.1));
    let images: Vec<Vec<f64>> = order
        .iter()
        .map(|&(c, _)| (0..w.rows).map(|i| w.get(i, c)).collect())
        .collect();
    let per_row = (k as f64).sqrt().ceil() as usize;
    let labels: Vec<String> = order.iter().map(|&(c, _)| format!("W[:,{c}]")).collect();
    let title = [
        format!(
            "{k} basis image{} (columns of W)",
            if k == 1 { "" } else { "s" }
        ),
        "most used first".to_string(),
    ];
    let basis = picture::image_grid(&images, &labels, per_row, grid, &title).to_png()?;

    // Two examples of each digit: originals beside W·H[:, j].
    let mut picked = Vec::new();
    for round in 0..2 {
        for digit in 0..10u8 {
            if let Some(j) = d
                .labels
                .iter()
                .enumerate()
                .filter(|(_, l)| **l == digit)
                .map(|(j, _)| j)
                .nth(round)
            {
                picked.push(j);
            }
        }
    }
    let v = &d.pixels;
    let pairs: Vec<(Vec<f64>, Vec<f64>)> = picked
        .iter()
        .map(|&j| {
            let orig = (0..v.rows).map(|i| v.get(i, j)).collect();
            let rec = (0..w.rows)
                .map(|i| (0..k).map(|c| w.get(i, c) * h.get(c, j)).sum())
                .collect();
            (orig, rec)
        })
        .collect();
    let title = [
        format!("{} digits beside their NMF reconstructions", pairs.len()),
        "left: original, right: W·h, a sum of basis images".to_string(),
    ];
    let recon = picture::pair_grid(&pairs, 5, 16.0, grid, &title, ("original", "W·h")).to_png()?;

    let points: Vec<(usize, f64)> = f.history.iter().map(|r| (r.iteration, r.loss)).collect();
    let (title, label) = match loss {
        Loss::KullbackLeibler => (
            "nmf demo: KL divergence D(V‖WH) of the digits".to_string(),
            "D(V‖WH)".to_string(),
        ),
        Loss::Frobenius => (
            "nmf demo: ½‖V − WH‖² of the digits".to_string(),
            "½‖V − WH‖²".to_string(),
        ),
        Loss::ItakuraSaito => (
            "nmf demo: Itakura–Saito divergence of the digits".to_string(),
            "D_IS(V‖WH)".to_string(),
        ),
        _ => (
            format!(
                "nmf demo: β-divergence (β = {}) of the digits",
                loss.beta_value()
            ),
            "D_β(V‖WH)".to_string(),
        ),
    };
    let (title, label) = if penalised {
        (
            format!("{title}, with regularisation"),
            format!("{label} + penalty"),
        )
    } else {
        (title, label)
    };
    let svg = picture::loss_svg(&points, &title, &label);
    Ok((basis, recon, svg))
}
