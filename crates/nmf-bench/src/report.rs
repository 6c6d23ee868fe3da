//! Output of the runner: a Markdown table, CSV, JSON and an SVG plot of loss against time.

use std::fmt::Write as _;

use crate::runner::Row;

fn opt(x: Option<f64>) -> String {
    x.map_or_else(|| "–".to_string(), |d| format!("{d:.1e}"))
}

/// The Markdown table: one line per row.
pub fn markdown(rows: &[Row]) -> String {
    let mut s = String::from(
        "| backend | scalar | threads | time/iter (median) | (fastest) | GFLOP/s | iter ÷ dominant products | final loss | max rel. diff W | max rel. diff H |\n\
         |---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for r in rows {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {:.2} ms | {:.2} ms | {:.1} | {:.2} | {:.6e} | {} | {} |",
            r.backend,
            r.scalar,
            r.threads,
            r.median_iter() * 1e3,
            r.min_iter() * 1e3,
            r.gflops(),
            r.product_ratio(),
            r.final_loss,
            opt(r.diff_w),
            opt(r.diff_h),
        );
    }
    s
}

const CSV_HEADER: &str = "backend,scalar,threads,iterations,median_iter_s,min_iter_s,gflops,dominant_products_s,ratio,final_loss,max_rel_diff_w,max_rel_diff_h,flops_per_iter,note";

/// The rows as CSV, with a header line.
pub fn csv(rows: &[Row]) -> String {
    let mut s = format!("{CSV_HEADER}\n");
    for r in rows {
        let d = |x: Option<f64>| x.map_or_else(String::new, |x| format!("{x:e}"));
        let _ = writeln!(
            s,
            "{},{},{},{},{:e},{:e},{:.3},{:e},{:.4},{:e},{},{},{},\"{}\"",
            r.backend,
            r.scalar,
            r.threads,
            r.iter_times.len(),
            r.median_iter(),
            r.min_iter(),
            r.gflops(),
            r.product_time,
            r.product_ratio(),
            r.final_loss,
            d(r.diff_w),
            d(r.diff_h),
            r.flops_per_iter,
            r.note.replace('"', "'"),
        );
    }
    s
}

/// The rows and the run's description as JSON (per-iteration times and the loss trace
/// included).
pub fn json(rows: &[Row], meta: serde_json::Value) -> String {
    let rows: Vec<serde_json::Value> = rows
        .iter()
        .map(|r| {
            serde_json::json!({
                "backend": r.backend,
                "scalar": r.scalar,
                "threads": r.threads,
                "median_iter_s": r.median_iter(),
                "min_iter_s": r.min_iter(),
                "gflops": r.gflops(),
                "dominant_products_s": r.product_time,
                "ratio": r.product_ratio(),
                "final_loss": r.final_loss,
                "max_rel_diff_w": r.diff_w,
                "max_rel_diff_h": r.diff_h,
                "flops_per_iter": r.flops_per_iter,
                "iter_times_s": r.iter_times,
                "loss_trace": r.trace,
                "note": r.note,
            })
        })
        .collect();
    let v = serde_json::json!({ "run": meta, "rows": rows });
    serde_json::to_string_pretty(&v).expect("JSON") + "\n"
}

const COLORS: [&str; 8] = [
    "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf",
];

/// An SVG plot of the loss (log scale) against cumulative iteration time, one line per row.
pub fn svg(rows: &[Row], title: &str) -> String {
    let (w, h) = (760.0, 460.0);
    let (l, r, t, b) = (80.0, 190.0, 40.0, 50.0);
    let pts = rows.iter().flat_map(|r| r.trace.iter());
    let tmax = pts.clone().map(|p| p.0).fold(0.0_f64, f64::max).max(1e-9);
    let pos: Vec<f64> = pts
        .map(|p| p.1)
        .filter(|&x| x > 0.0 && x.is_finite())
        .collect();
    let lmin = pos.iter().copied().fold(f64::INFINITY, f64::min);
    let lmax = pos.iter().copied().fold(0.0_f64, f64::max);
    let (ylo, yhi) = if pos.is_empty() {
        (0.0, 1.0)
    } else {
        let (a, b) = (lmin.log10(), lmax.log10());
        if b - a < 1e-3 {
            (a - 0.5, b + 0.5)
        } else {
            (a, b)
        }
    };
    let px = |x: f64| l + (w - l - r) * x / tmax;
    let py = |y: f64| t + (h - t - b) * (1.0 - (y.log10() - ylo) / (yhi - ylo));
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" font-family=\"sans-serif\" font-size=\"12\">\n\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n\
         <text x=\"{}\" y=\"22\" text-anchor=\"middle\" font-size=\"14\">{}</text>\n\
         <rect x=\"{l}\" y=\"{t}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"black\"/>\n",
        (w - r + l) / 2.0,
        escape(title),
        w - l - r,
        h - t - b
    );
    for i in 0..=4 {
        let x = tmax * f64::from(i) / 4.0;
        let _ = writeln!(
            s,
            "<text x=\"{:.1}\" y=\"{}\" text-anchor=\"middle\">{:.3}</text>",
            px(x),
            h - b + 18.0,
            x
        );
        let y = 10f64.powf(ylo + (yhi - ylo) * f64::from(i) / 4.0);
        let _ = writeln!(
            s,
            "<text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{:.4e}</text>",
            l - 6.0,
            py(y) + 4.0,
            y
        );
    }
    let _ = writeln!(
        s,
        "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">wall time of the iterations (s)</text>\n\
         <text x=\"16\" y=\"{}\" text-anchor=\"middle\" transform=\"rotate(-90 16 {})\">loss (log scale)</text>",
        (w - r + l) / 2.0,
        h - 10.0,
        (h - b + t) / 2.0,
        (h - b + t) / 2.0
    );
    for (i, row) in rows.iter().enumerate() {
        let c = COLORS[i % COLORS.len()];
        let points: Vec<String> = row
            .trace
            .iter()
            .filter(|p| p.1 > 0.0 && p.1.is_finite())
            .map(|&(x, y)| format!("{:.1},{:.1}", px(x), py(y)))
            .collect();
        let _ = writeln!(
            s,
            "<polyline fill=\"none\" stroke=\"{c}\" stroke-width=\"1.5\" points=\"{}\"/>",
            points.join(" ")
        );
        let ly = t + 16.0 * i as f64 + 10.0;
        let _ = writeln!(
            s,
            "<line x1=\"{}\" y1=\"{ly}\" x2=\"{}\" y2=\"{ly}\" stroke=\"{c}\" stroke-width=\"2\"/>\
             <text x=\"{}\" y=\"{}\">{} {} ×{}</text>",
            w - r + 10.0,
            w - r + 30.0,
            w - r + 35.0,
            ly + 4.0,
            escape(&row.backend),
            row.scalar,
            row.threads
        );
    }
    s.push_str("</svg>\n");
    s
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
