//! The plot of a time-to-quality run: relative error against wall time (log scale), one line
//! per solver through its checkpoints, and the target errors as dashed lines (SVG, drawn with
//! plotters' SVG backend).

use plotters::prelude::*;

use super::Curve;
use super::target::Target;

const COLORS: [RGBColor; 8] = [
    RGBColor(0x1f, 0x77, 0xb4),
    RGBColor(0xd6, 0x27, 0x28),
    RGBColor(0x2c, 0xa0, 0x2c),
    RGBColor(0xff, 0x7f, 0x0e),
    RGBColor(0x94, 0x67, 0xbd),
    RGBColor(0x8c, 0x56, 0x4b),
    RGBColor(0xe3, 0x77, 0xc2),
    RGBColor(0x17, 0xbe, 0xcf),
];

/// The axes' ranges: time (positive, for the log scale) and error, with a margin; `None`
/// when there is no point to draw.
fn ranges(curves: &[Curve], targets: &[Target]) -> Option<((f64, f64), (f64, f64))> {
    let cps: Vec<_> = curves.iter().flat_map(Curve::checkpoints).collect();
    let times = cps.iter().map(|c| c.seconds).filter(|&t| t > 0.0);
    let tmin = times.clone().fold(f64::INFINITY, f64::min);
    let tmax = times.fold(0.0_f64, f64::max);
    if !tmin.is_finite() {
        return None;
    }
    let errs = cps
        .iter()
        .map(|c| c.rel_err)
        .chain(targets.iter().map(|t| t.rel_err))
        .filter(|e| e.is_finite());
    let emin = errs.clone().fold(f64::INFINITY, f64::min);
    let emax = errs.fold(f64::NEG_INFINITY, f64::max);
    let pad = ((emax - emin) * 0.05).max(emax.abs() * 1e-4).max(1e-12);
    Some(((tmin / 1.5, tmax * 1.5), (emin - pad, emax + pad)))
}

/// The SVG, `title` above the plot.
///
/// # Errors
/// plotters' message if drawing fails (it does not with a string backend), or when there is
/// no point with a positive time.
pub fn svg(curves: &[Curve], targets: &[Target], title: &str) -> Result<String, String> {
    let ((t0, t1), (e0, e1)) =
        ranges(curves, targets).ok_or("nothing to plot: no fit with a positive time")?;
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, (900, 560)).into_drawing_area();
        let err = |e: DrawingAreaErrorKind<_>| format!("drawing the plot: {e}");
        root.fill(&WHITE).map_err(err)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(44)
            .y_label_area_size(64)
            .build_cartesian_2d((t0..t1).log_scale(), e0..e1)
            .map_err(err)?;
        chart
            .configure_mesh()
            .x_desc("wall time of the fit, s (log scale)")
            .y_desc("relative error ‖V − WH‖ / ‖V‖")
            .x_label_formatter(&|x| format!("{x}"))
            .y_label_formatter(&|y| format!("{y:.3}"))
            .draw()
            .map_err(err)?;
        for t in targets {
            let label = format!("target {:.4} ({})", t.rel_err, t.label);
            chart
                .draw_series(DashedLineSeries::new(
                    [(t0, t.rel_err), (t1, t.rel_err)],
                    6,
                    4,
                    BLACK.mix(0.6).stroke_width(1),
                ))
                .map_err(err)?
                .label(label)
                .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], BLACK.mix(0.6)));
        }
        for (i, c) in curves.iter().enumerate() {
            let color = COLORS[i % COLORS.len()];
            let pts: Vec<(f64, f64)> = c
                .checkpoints()
                .iter()
                .filter(|p| p.seconds > 0.0 && p.rel_err.is_finite())
                .map(|p| (p.seconds, p.rel_err))
                .collect();
            chart
                .draw_series(LineSeries::new(pts.clone(), color.stroke_width(2)))
                .map_err(err)?
                .label(c.label.clone())
                .legend(move |(x, y)| {
                    PathElement::new([(x, y), (x + 20, y)], color.stroke_width(2))
                });
            chart
                .draw_series(pts.into_iter().map(|p| Circle::new(p, 3, color.filled())))
                .map_err(err)?;
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()
            .map_err(err)?;
        root.present().map_err(err)?;
    }
    Ok(out)
}
