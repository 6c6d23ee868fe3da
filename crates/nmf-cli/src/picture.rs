//! The demo's pictures: PNG grids of small images (basis images, digits beside their
//! reconstructions) and an SVG plot of the loss against the iteration, all drawn by hand.

use std::fmt::Write as _;

use crate::CliError;

/// Pixels of the background between tiles.
const BACKGROUND: [u8; 3] = [214, 214, 214];
/// The colour of a tile entry at full intensity (0 is white).
const INK: [u8; 3] = [8, 36, 96];

/// An RGB image being drawn.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Canvas {
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// RGB bytes, row after row.
    pub pixels: Vec<u8>,
}

impl Canvas {
    /// A canvas filled with the background colour.
    pub fn new(width: usize, height: usize) -> Self {
        let mut pixels = Vec::with_capacity(width * height * 3);
        for _ in 0..width * height {
            pixels.extend_from_slice(&BACKGROUND);
        }
        Self {
            width,
            height,
            pixels,
        }
    }

    fn put(&mut self, x: usize, y: usize, rgb: [u8; 3]) {
        if x < self.width && y < self.height {
            let p = (y * self.width + x) * 3;
            self.pixels[p..p + 3].copy_from_slice(&rgb);
        }
    }

    /// Draws a small `rows × cols` image (row-major intensities, 0 white, 1 ink, clamped) at
    /// `(x, y)`, each entry as a `scale × scale` square.
    pub fn tile(&mut self, x: usize, y: usize, rows: usize, cols: usize, v: &[f64], scale: usize) {
        for i in 0..rows {
            for j in 0..cols {
                let t = v[i * cols + j];
                let t = if t.is_finite() {
                    t.clamp(0.0, 1.0)
                } else {
                    0.0
                };
                let rgb = core::array::from_fn(|c| {
                    (255.0 + (f64::from(INK[c]) - 255.0) * t).round() as u8
                });
                for dy in 0..scale {
                    for dx in 0..scale {
                        self.put(x + j * scale + dx, y + i * scale + dy, rgb);
                    }
                }
            }
        }
    }

    /// Encodes the canvas as an 8-bit RGB PNG.
    ///
    /// # Errors
    /// If the encoder fails (a canvas larger than PNG allows).
    pub fn to_png(&self) -> Result<Vec<u8>, CliError> {
        let err = |e: png::EncodingError| CliError::data(format!("cannot encode a PNG: {e}"));
        let (w, h) = (
            u32::try_from(self.width).map_err(|_| CliError::data("picture too wide"))?,
            u32::try_from(self.height).map_err(|_| CliError::data("picture too tall"))?,
        );
        let mut out = Vec::new();
        let mut enc = png::Encoder::new(&mut out, w, h);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        let mut writer = enc.write_header().map_err(err)?;
        writer.write_image_data(&self.pixels).map_err(err)?;
        writer.finish().map_err(err)?;
        Ok(out)
    }
}

/// The layout of a grid of tiles: `scale` pixels per entry, `gap` pixels between and around.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Grid {
    /// Rows of each small image.
    pub img_rows: usize,
    /// Columns of each small image.
    pub img_cols: usize,
    /// Pixels per entry.
    pub scale: usize,
    /// Pixels between tiles and around the grid.
    pub gap: usize,
}

impl Grid {
    fn tile_w(&self) -> usize {
        self.img_cols * self.scale
    }
    fn tile_h(&self) -> usize {
        self.img_rows * self.scale
    }
}

/// A grid of images, `per_row` to a row, each normalised by its own largest entry (so every
/// basis image uses the full range).
pub fn image_grid(images: &[Vec<f64>], per_row: usize, g: Grid) -> Canvas {
    let per_row = per_row.max(1);
    let rows = images.len().div_ceil(per_row).max(1);
    let cols = per_row.min(images.len()).max(1);
    let mut c = Canvas::new(
        g.gap + cols * (g.tile_w() + g.gap),
        g.gap + rows * (g.tile_h() + g.gap),
    );
    for (n, img) in images.iter().enumerate() {
        let max = img.iter().cloned().fold(0.0_f64, f64::max);
        let norm: Vec<f64> = img
            .iter()
            .map(|&x| if max > 0.0 { x / max } else { 0.0 })
            .collect();
        let (r, k) = (n / per_row, n % per_row);
        c.tile(
            g.gap + k * (g.tile_w() + g.gap),
            g.gap + r * (g.tile_h() + g.gap),
            g.img_rows,
            g.img_cols,
            &norm,
            g.scale,
        );
    }
    c
}

/// Pairs of images side by side (each original on the left of its reconstruction), `per_row`
/// pairs to a row, all on the common scale `0..=vmax` so that they can be compared.
pub fn pair_grid(pairs: &[(Vec<f64>, Vec<f64>)], per_row: usize, vmax: f64, g: Grid) -> Canvas {
    let per_row = per_row.max(1);
    let inner = (g.gap / 3).max(1); // between the two images of a pair
    let pair_w = 2 * g.tile_w() + inner;
    let gap = 3 * g.gap; // between pairs
    let rows = pairs.len().div_ceil(per_row).max(1);
    let cols = per_row.min(pairs.len()).max(1);
    let mut c = Canvas::new(gap + cols * (pair_w + gap), gap + rows * (g.tile_h() + gap));
    let scaled = |v: &[f64]| -> Vec<f64> {
        v.iter()
            .map(|&x| if vmax > 0.0 { x / vmax } else { 0.0 })
            .collect()
    };
    for (n, (a, b)) in pairs.iter().enumerate() {
        let (r, k) = (n / per_row, n % per_row);
        let x = gap + k * (pair_w + gap);
        let y = gap + r * (g.tile_h() + gap);
        c.tile(x, y, g.img_rows, g.img_cols, &scaled(a), g.scale);
        c.tile(
            x + g.tile_w() + inner,
            y,
            g.img_rows,
            g.img_cols,
            &scaled(b),
            g.scale,
        );
    }
    c
}

/// Width of the loss plot.
pub const SVG_WIDTH: usize = 720;
/// Height of the loss plot.
pub const SVG_HEIGHT: usize = 440;

/// "Nice" tick values covering `[lo, hi]` (steps of 1, 2 or 5 times a power of ten).
fn nice_ticks(lo: f64, hi: f64, target: usize) -> Vec<f64> {
    let span = (hi - lo).max(f64::MIN_POSITIVE);
    let raw = span / target.max(1) as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|&s| s >= raw)
        .unwrap_or(10.0 * mag);
    let mut t = (lo / step).ceil() * step;
    let mut out = Vec::new();
    while t <= hi + step * 1e-9 && out.len() < 100 {
        out.push(if t.abs() < step * 1e-9 { 0.0 } else { t });
        t += step;
    }
    out
}

fn fmt_tick(v: f64) -> String {
    if v == 0.0 {
        "0".into()
    } else if (1e-3..1e4).contains(&v.abs()) {
        let s = format!("{v:.3}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        let s = format!("{v:.1e}");
        s.replace(".0e", "e")
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// An SVG line plot of the loss (`(iteration, loss)` points) against the iteration, on a
/// logarithmic axis when the loss spans more than a factor of 20 (and is positive).
pub fn loss_svg(points: &[(usize, f64)], title: &str, y_label: &str) -> String {
    let (w, h) = (SVG_WIDTH as f64, SVG_HEIGHT as f64);
    let (left, right, top, bottom) = (90.0, 24.0, 44.0, 56.0);
    let (pw, ph) = (w - left - right, h - top - bottom);
    let pts: Vec<(f64, f64)> = points
        .iter()
        .filter(|(_, l)| l.is_finite())
        .map(|&(i, l)| (i as f64, l))
        .collect();
    let x_max = pts.iter().map(|p| p.0).fold(1.0, f64::max);
    let y_min = pts.iter().map(|p| p.1).fold(f64::INFINITY, f64::min);
    let y_max = pts.iter().map(|p| p.1).fold(f64::NEG_INFINITY, f64::max);
    let (y_min, y_max) = if y_min.is_finite() {
        (y_min, y_max)
    } else {
        (0.0, 1.0)
    };
    let log = y_min > 0.0 && y_max / y_min > 3.0;
    let (f, lo, hi): (fn(f64) -> f64, f64, f64) = if log {
        let (a, b) = (y_min.log10(), y_max.log10());
        let pad = (b - a) * 0.04;
        (f64::log10, a - pad, b + pad)
    } else {
        let pad = ((y_max - y_min) * 0.05).max(y_max.abs() * 1e-6).max(1e-12);
        (|x| x, (y_min - pad).max(0.0).min(y_min), y_max + pad)
    };
    let sx = |x: f64| left + pw * x / x_max;
    let sy = |y: f64| top + ph * (1.0 - (f(y) - lo) / (hi - lo).max(f64::MIN_POSITIVE));

    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{SVG_WIDTH}" height="{SVG_HEIGHT}" viewBox="0 0 {SVG_WIDTH} {SVG_HEIGHT}" font-family="sans-serif" font-size="13">"#
    );
    let _ = writeln!(s, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(
        s,
        r#"<text x="{}" y="26" text-anchor="middle" font-size="16">{}</text>"#,
        w / 2.0,
        escape(title)
    );
    // Grid lines and ticks.
    let y_ticks: Vec<f64> = if log {
        // 1, 2 and 5 times the powers of ten in range; every power only over many decades,
        // every multiple when the range is narrow.
        let in_range = |m: &[f64]| -> Vec<f64> {
            (lo.floor() as i32..=hi.ceil() as i32)
                .flat_map(|e| m.iter().map(move |&k| k * 10f64.powi(e)))
                .filter(|&v| (lo..=hi).contains(&v.log10()))
                .collect()
        };
        let mut t = in_range(if hi - lo > 4.0 {
            &[1.0]
        } else {
            &[1.0, 2.0, 5.0]
        });
        if t.len() < 4 {
            t = in_range(&[1.0, 2.0, 3.0, 5.0, 7.0]);
        }
        if t.len() < 4 {
            t = in_range(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0]);
        }
        t
    } else {
        nice_ticks(lo, hi, 6)
    };
    for &v in &y_ticks {
        let y = sy(v);
        let _ = writeln!(
            s,
            r##"<line x1="{left}" x2="{}" y1="{y:.1}" y2="{y:.1}" stroke="#e4e4e4"/><text x="{}" y="{:.1}" text-anchor="end">{}</text>"##,
            left + pw,
            left - 8.0,
            y + 4.0,
            fmt_tick(v)
        );
    }
    for v in nice_ticks(0.0, x_max, 8) {
        let x = sx(v);
        let _ = writeln!(
            s,
            r##"<line x1="{x:.1}" x2="{x:.1}" y1="{top}" y2="{}" stroke="#e4e4e4"/><text x="{x:.1}" y="{}" text-anchor="middle">{}</text>"##,
            top + ph,
            top + ph + 20.0,
            fmt_tick(v)
        );
    }
    let _ = writeln!(
        s,
        r##"<rect x="{left}" y="{top}" width="{pw}" height="{ph}" fill="none" stroke="#333"/>"##
    );
    let _ = writeln!(
        s,
        r#"<text x="{}" y="{}" text-anchor="middle">iteration</text>"#,
        left + pw / 2.0,
        h - 14.0
    );
    let _ = writeln!(
        s,
        r#"<text transform="translate(22 {}) rotate(-90)" text-anchor="middle">{}{}</text>"#,
        top + ph / 2.0,
        escape(y_label),
        if log { " (log scale)" } else { "" }
    );
    let line: Vec<String> = pts
        .iter()
        .map(|&(x, y)| format!("{:.2},{:.2}", sx(x), sy(y)))
        .collect();
    let _ = writeln!(
        s,
        r##"<polyline fill="none" stroke="#1f5fa8" stroke-width="2" points="{}"/>"##,
        line.join(" ")
    );
    s.push_str("</svg>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_sizes() {
        let g = Grid {
            img_rows: 8,
            img_cols: 8,
            scale: 10,
            gap: 4,
        };
        let imgs = vec![vec![1.0; 64]; 16];
        let c = image_grid(&imgs, 4, g);
        assert_eq!((c.width, c.height), (4 + 4 * 84, 4 + 4 * 84));
        assert_eq!(c.pixels.len(), c.width * c.height * 3);
        // The first tile's corner is full ink; the margin is background.
        assert_eq!(c.pixels[..3], BACKGROUND);
        let p = (4 * c.width + 4) * 3;
        assert_eq!(c.pixels[p..p + 3], INK);
        let png = c.to_png().unwrap();
        assert_eq!(&png[1..4], b"PNG");
    }

    #[test]
    fn svg_is_well_formed_and_log_scaled_for_wide_ranges() {
        let pts: Vec<(usize, f64)> = (0..=10)
            .map(|i| (i * 10, 1e4 / (1 + i * i) as f64))
            .collect();
        let s = loss_svg(&pts, "KL <divergence>", "loss");
        let doc = roxmltree::Document::parse(&s).unwrap();
        assert_eq!(doc.root_element().attribute("width"), Some("720"));
        assert!(s.contains("(log scale)"));
        let poly = doc
            .descendants()
            .find(|n| n.has_tag_name("polyline"))
            .unwrap();
        assert_eq!(poly.attribute("points").unwrap().split(' ').count(), 11);
        let flat = loss_svg(&[(0, 2.0), (10, 1.5)], "t", "loss");
        assert!(!flat.contains("log scale"));
        roxmltree::Document::parse(&flat).unwrap();
        // Degenerate input still gives a valid document.
        roxmltree::Document::parse(&loss_svg(&[], "t", "l")).unwrap();
        roxmltree::Document::parse(&loss_svg(&[(0, 0.0)], "t", "l")).unwrap();
    }

    #[test]
    fn ticks() {
        assert_eq!(
            nice_ticks(0.0, 100.0, 5),
            vec![0.0, 20.0, 40.0, 60.0, 80.0, 100.0]
        );
        assert_eq!(fmt_tick(0.5), "0.5");
        assert_eq!(fmt_tick(1e6), "1e6");
        assert_eq!(fmt_tick(70000.0), "7e4");
        assert_eq!(fmt_tick(2500.0), "2500");
        assert_eq!(fmt_tick(2.5e-5), "2.5e-5");
    }
}
