//! The demo's pictures: PNG grids of small images (basis images, digits beside their
//! reconstructions), each with a title and a label under every image, and an SVG plot of the
//! loss against the iteration, all drawn by hand.
//!
//! Text in the PNGs uses a built-in 5×7 bitmap font ([`FONT`]: digits, letters and the few
//! signs the labels need) drawn at twice its size: a few dozen lines instead of a font
//! rasteriser and a font file.

use std::fmt::Write as _;

use crate::CliError;

/// Pixels of the background between tiles.
const BACKGROUND: [u8; 3] = [214, 214, 214];
/// The colour of a tile entry at full intensity (0 is white).
const INK: [u8; 3] = [8, 36, 96];
/// The colour of titles and labels.
pub const TEXT: [u8; 3] = [24, 24, 24];

/// Width of a glyph of [`FONT`], in font pixels.
pub const GLYPH_W: usize = 5;
/// Height of a glyph of [`FONT`], in font pixels.
pub const GLYPH_H: usize = 7;
/// Screen pixels per font pixel for titles and labels.
pub const TEXT_SCALE: usize = 2;

/// The bitmap font: each glyph is 7 rows of 5 pixels, `#` drawn, `.` not, rows separated
/// by spaces. A character not in the font is drawn as an empty box.
pub const FONT: &[(char, &str)] = &[
    (' ', "..... ..... ..... ..... ..... ..... ....."),
    ('0', ".###. #...# #..## #.#.# ##..# #...# .###."),
    ('1', "..#.. .##.. ..#.. ..#.. ..#.. ..#.. .###."),
    ('2', ".###. #...# ....# ...#. ..#.. .#... #####"),
    ('3', "##### ...#. ..#.. ...#. ....# #...# .###."),
    ('4', "...#. ..##. .#.#. #..#. ##### ...#. ...#."),
    ('5', "##### #.... ####. ....# ....# #...# .###."),
    ('6', "..##. .#... #.... ####. #...# #...# .###."),
    ('7', "##### ....# ...#. ..#.. .#... .#... .#..."),
    ('8', ".###. #...# #...# .###. #...# #...# .###."),
    ('9', ".###. #...# #...# .#### ....# ...#. .##.."),
    ('a', "..... ..... .###. ....# .#### #...# .####"),
    ('b', "#.... #.... #.##. ##..# #...# #...# ####."),
    ('c', "..... ..... .###. #.... #.... #...# .###."),
    ('d', "....# ....# .##.# #..## #...# #...# .####"),
    ('e', "..... ..... .###. #...# ##### #.... .###."),
    ('f', "..##. .#..# .#... ###.. .#... .#... .#..."),
    ('g', "..... ..... .#### #...# .#### ....# .###."),
    ('h', "#.... #.... #.##. ##..# #...# #...# #...#"),
    ('i', "..#.. ..... .##.. ..#.. ..#.. ..#.. .###."),
    ('j', "...#. ..... ..##. ...#. ...#. #..#. .##.."),
    ('k', "#.... #.... #..#. #.#.. ##... #.#.. #..#."),
    ('l', ".##.. ..#.. ..#.. ..#.. ..#.. ..#.. .###."),
    ('m', "..... ..... ##.#. #.#.# #.#.# #...# #...#"),
    ('n', "..... ..... #.##. ##..# #...# #...# #...#"),
    ('o', "..... ..... .###. #...# #...# #...# .###."),
    ('p', "..... ..... ####. #...# ####. #.... #...."),
    ('q', "..... ..... .##.# #..## .#### ....# ....#"),
    ('r', "..... ..... #.##. ##..# #.... #.... #...."),
    ('s', "..... ..... .###. #.... .###. ....# ####."),
    ('t', ".#... .#... ###.. .#... .#... .#..# ..##."),
    ('u', "..... ..... #...# #...# #...# #..## .##.#"),
    ('v', "..... ..... #...# #...# #...# .#.#. ..#.."),
    ('w', "..... ..... #...# #...# #.#.# #.#.# .#.#."),
    ('x', "..... ..... #...# .#.#. ..#.. .#.#. #...#"),
    ('y', "..... ..... #...# #...# .#### ....# .###."),
    ('z', "..... ..... ##### ...#. ..#.. .#... #####"),
    ('A', ".###. #...# #...# ##### #...# #...# #...#"),
    ('B', "####. #...# #...# ####. #...# #...# ####."),
    ('C', ".###. #...# #.... #.... #.... #...# .###."),
    ('D', "###.. #..#. #...# #...# #...# #..#. ###.."),
    ('E', "##### #.... #.... ####. #.... #.... #####"),
    ('F', "##### #.... #.... ####. #.... #.... #...."),
    ('G', ".###. #...# #.... #.### #...# #...# .####"),
    ('H', "#...# #...# #...# ##### #...# #...# #...#"),
    ('I', ".###. ..#.. ..#.. ..#.. ..#.. ..#.. .###."),
    ('J', "..### ...#. ...#. ...#. ...#. #..#. .##.."),
    ('K', "#...# #..#. #.#.. ##... #.#.. #..#. #...#"),
    ('L', "#.... #.... #.... #.... #.... #.... #####"),
    ('M', "#...# ##.## #.#.# #.#.# #...# #...# #...#"),
    ('N', "#...# #...# ##..# #.#.# #..## #...# #...#"),
    ('O', ".###. #...# #...# #...# #...# #...# .###."),
    ('P', "####. #...# #...# ####. #.... #.... #...."),
    ('Q', ".###. #...# #...# #...# #.#.# #..#. .##.#"),
    ('R', "####. #...# #...# ####. #.#.. #..#. #...#"),
    ('S', ".#### #.... #.... .###. ....# ....# ####."),
    ('T', "##### ..#.. ..#.. ..#.. ..#.. ..#.. ..#.."),
    ('U', "#...# #...# #...# #...# #...# #...# .###."),
    ('V', "#...# #...# #...# #...# #...# .#.#. ..#.."),
    ('W', "#...# #...# #...# #.#.# #.#.# #.#.# .#.#."),
    ('X', "#...# #...# .#.#. ..#.. .#.#. #...# #...#"),
    ('Y', "#...# #...# .#.#. ..#.. ..#.. ..#.. ..#.."),
    ('Z', "##### ....# ...#. ..#.. .#... #.... #####"),
    ('(', "...#. ..#.. .#... .#... .#... ..#.. ...#."),
    (')', ".#... ..#.. ...#. ...#. ...#. ..#.. .#..."),
    ('[', ".###. .#... .#... .#... .#... .#... .###."),
    (']', ".###. ...#. ...#. ...#. ...#. ...#. .###."),
    (':', "..... .##.. .##.. ..... .##.. .##.. ....."),
    (',', "..... ..... ..... ..... .##.. ..#.. .#..."),
    ('.', "..... ..... ..... ..... ..... .##.. .##.."),
    ('-', "..... ..... ..... ##### ..... ..... ....."),
    ('·', "..... ..... ..... ..#.. ..... ..... ....."),
    ('=', "..... ..... ##### ..... ##### ..... ....."),
    ('+', "..... ..#.. ..#.. ##### ..#.. ..#.. ....."),
    ('/', "..... ....# ...#. ..#.. .#... #.... ....."),
    ('#', ".#.#. .#.#. ##### .#.#. ##### .#.#. .#.#."),
    ('\'', "..#.. ..#.. .#... ..... ..... ..... ....."),
    ('_', "..... ..... ..... ..... ..... ..... #####"),
];

/// The glyph drawn for a character not in [`FONT`]: an empty box.
const MISSING: &str = "##### #...# #...# #...# #...# #...# #####";

/// The rows of `c`'s glyph (`#` drawn), [`MISSING`] if the font lacks it.
fn glyph(c: char) -> impl Iterator<Item = &'static [u8]> {
    let g = FONT
        .iter()
        .find(|(f, _)| *f == c)
        .map_or(MISSING, |(_, g)| g);
    g.split(' ').map(str::as_bytes)
}

/// Whether [`FONT`] has a glyph for every character of `text`.
pub fn font_covers(text: &str) -> bool {
    text.chars().all(|c| FONT.iter().any(|(f, _)| *f == c))
}

/// Width in pixels of `text` drawn at `scale` (one font pixel between glyphs).
pub fn text_width(text: &str, scale: usize) -> usize {
    let n = text.chars().count();
    (n * (GLYPH_W + 1)).saturating_sub(1) * scale
}

/// Height in pixels of a line of text at `scale`.
pub const fn text_height(scale: usize) -> usize {
    GLYPH_H * scale
}

/// The number of pixels [`Canvas::text`] sets for `text` at `scale` (for tests).
pub fn text_pixels(text: &str, scale: usize) -> usize {
    text.chars()
        .map(|c| glyph(c).flatten().filter(|&&b| b == b'#').count())
        .sum::<usize>()
        * scale
        * scale
}

/// Space above and below the title lines, and between them.
const TITLE_PAD: usize = 8;
const TITLE_LINE_GAP: usize = 6;
/// The band under each image that holds its label.
pub const LABEL_H: usize = GLYPH_H * TEXT_SCALE + 6;

/// Height of the band that holds `lines` title lines (0 for none).
pub fn title_height(lines: usize) -> usize {
    if lines == 0 {
        0
    } else {
        TITLE_PAD + lines * text_height(TEXT_SCALE) + (lines - 1) * TITLE_LINE_GAP + 2
    }
}

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

    /// Draws `text` with its top-left corner at `(x, y)`, each font pixel as a `scale × scale`
    /// square (what falls outside the canvas is cut).
    pub fn text(&mut self, x: usize, y: usize, text: &str, scale: usize, rgb: [u8; 3]) {
        for (n, c) in text.chars().enumerate() {
            let x0 = x + n * (GLYPH_W + 1) * scale;
            for (row, bits) in glyph(c).enumerate() {
                for (col, _) in bits.iter().enumerate().filter(|(_, b)| **b == b'#') {
                    for dy in 0..scale {
                        for dx in 0..scale {
                            self.put(x0 + col * scale + dx, y + row * scale + dy, rgb);
                        }
                    }
                }
            }
        }
    }

    /// Draws `text` centred in the band `x..x + width` (at the label scale, or at half of it
    /// when it would not fit), top at `y`.
    fn text_centred(&mut self, x: usize, width: usize, y: usize, text: &str) {
        let scale = if text_width(text, TEXT_SCALE) <= width {
            TEXT_SCALE
        } else {
            1
        };
        let w = text_width(text, scale);
        let y = y + (text_height(TEXT_SCALE) - text_height(scale)) / 2;
        self.text(x + width.saturating_sub(w) / 2, y, text, scale, TEXT);
    }

    /// Draws the title lines centred at the top (the band of [`title_height`]).
    fn title(&mut self, lines: &[String]) {
        for (i, line) in lines.iter().enumerate() {
            let y = TITLE_PAD + i * (text_height(TEXT_SCALE) + TITLE_LINE_GAP);
            self.text_centred(0, self.width, y, line);
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

/// The width of a canvas for a grid `grid_w` wide under these title lines: wide enough for
/// both (the grid is centred).
fn canvas_width(grid_w: usize, title: &[String], gap: usize) -> usize {
    title
        .iter()
        .map(|l| text_width(l, TEXT_SCALE) + 2 * gap)
        .fold(grid_w, usize::max)
}

/// A grid of images, `per_row` to a row, each normalised by its own largest entry (so every
/// basis image uses the full range), under the `title` lines, with `labels[i]` under image i.
///
/// Size: `width = max(gap + cols·(tile_w + gap), widest title line + 2·gap)`,
/// `height = title_height(lines) + gap + rows·(tile_h + LABEL_H + gap)`.
pub fn image_grid(
    images: &[Vec<f64>],
    labels: &[String],
    per_row: usize,
    g: Grid,
    title: &[String],
) -> Canvas {
    let per_row = per_row.max(1);
    let rows = images.len().div_ceil(per_row).max(1);
    let cols = per_row.min(images.len()).max(1);
    let (cell_w, cell_h) = (g.tile_w() + g.gap, g.tile_h() + LABEL_H + g.gap);
    let grid_w = g.gap + cols * cell_w;
    let top = title_height(title.len());
    let mut c = Canvas::new(
        canvas_width(grid_w, title, g.gap),
        top + g.gap + rows * cell_h,
    );
    c.title(title);
    let left = (c.width - grid_w) / 2;
    for (n, img) in images.iter().enumerate() {
        let max = img.iter().cloned().fold(0.0_f64, f64::max);
        let norm: Vec<f64> = img
            .iter()
            .map(|&x| if max > 0.0 { x / max } else { 0.0 })
            .collect();
        let (r, k) = (n / per_row, n % per_row);
        let (x, y) = (left + g.gap + k * cell_w, top + g.gap + r * cell_h);
        c.tile(x, y, g.img_rows, g.img_cols, &norm, g.scale);
        if let Some(label) = labels.get(n) {
            c.text_centred(x, g.tile_w(), y + g.tile_h() + 3, label);
        }
    }
    c
}

/// Pairs of images side by side (each original on the left of its reconstruction), `per_row`
/// pairs to a row, all on the common scale `0..=vmax` so that they can be compared, under the
/// `title` lines, with `labels.0` under every left image and `labels.1` under every right one.
///
/// Size: with `inner = max(gap / 3, 1)` between the two images of a pair and `3·gap` between
/// pairs, `width = max(3·gap + cols·(2·tile_w + inner + 3·gap), widest title line + 2·gap)`,
/// `height = title_height(lines) + 3·gap + rows·(tile_h + LABEL_H + 3·gap)`.
pub fn pair_grid(
    pairs: &[(Vec<f64>, Vec<f64>)],
    per_row: usize,
    vmax: f64,
    g: Grid,
    title: &[String],
    labels: (&str, &str),
) -> Canvas {
    let per_row = per_row.max(1);
    let inner = (g.gap / 3).max(1); // between the two images of a pair
    let pair_w = 2 * g.tile_w() + inner;
    let gap = 3 * g.gap; // between pairs
    let rows = pairs.len().div_ceil(per_row).max(1);
    let cols = per_row.min(pairs.len()).max(1);
    let (cell_w, cell_h) = (pair_w + gap, g.tile_h() + LABEL_H + gap);
    let grid_w = gap + cols * cell_w;
    let top = title_height(title.len());
    let mut c = Canvas::new(
        canvas_width(grid_w, title, g.gap),
        top + gap + rows * cell_h,
    );
    c.title(title);
    let left = (c.width - grid_w) / 2;
    let scaled = |v: &[f64]| -> Vec<f64> {
        v.iter()
            .map(|&x| if vmax > 0.0 { x / vmax } else { 0.0 })
            .collect()
    };
    for (n, (a, b)) in pairs.iter().enumerate() {
        let (r, k) = (n / per_row, n % per_row);
        let x = left + gap + k * cell_w;
        let y = top + gap + r * cell_h;
        let x2 = x + g.tile_w() + inner;
        c.tile(x, y, g.img_rows, g.img_cols, &scaled(a), g.scale);
        c.tile(x2, y, g.img_rows, g.img_cols, &scaled(b), g.scale);
        let label_y = y + g.tile_h() + 3;
        c.text_centred(x, g.tile_w(), label_y, labels.0);
        c.text_centred(x2, g.tile_w(), label_y, labels.1);
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

/// The y axis of the loss plot: its range `lo..=hi` (in data units) and its ticks, the first
/// at `lo` ≤ the smallest loss and the last at `hi` ≥ the largest, so that the axis covers
/// every point and each can be read off it.
#[derive(Debug, Clone, PartialEq)]
pub struct Axis {
    /// Whether the scale is logarithmic.
    pub log: bool,
    /// The bottom of the axis (the first tick).
    pub lo: f64,
    /// The top of the axis (the last tick).
    pub hi: f64,
    /// The ticks, increasing, from `lo` to `hi`.
    pub ticks: Vec<f64>,
}

/// The y axis for values from `y_min` to `y_max`: logarithmic when they are positive and span
/// more than a factor of 3, with ticks at 1, 2 and 5 (or finer, or only powers of ten over
/// many decades) times powers of ten; linear otherwise, with "nice" steps. Either way the end
/// ticks enclose the data.
pub fn y_axis(y_min: f64, y_max: f64) -> Axis {
    let (y_min, y_max) = if y_min.is_finite() && y_max.is_finite() && y_min <= y_max {
        (y_min, y_max)
    } else {
        (0.0, 1.0)
    };
    if y_min > 0.0 && y_max / y_min > 3.0 {
        return log_axis(y_min, y_max);
    }
    let span = (y_max - y_min).max(y_max.abs() * 1e-6).max(1e-12);
    let raw = span / 5.0;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|&s| s >= raw)
        .unwrap_or(10.0 * mag);
    // Ticks at i·step for i from i0 to i1, the first ≤ y_min and the last ≥ y_max (the
    // division and the product round, so both ends are checked on the products).
    let tick = |i: i64| i as f64 * step;
    let (mut i0, mut i1) = ((y_min / step).floor() as i64, (y_max / step).ceil() as i64);
    while tick(i0) > y_min {
        i0 -= 1;
    }
    while tick(i1) < y_max {
        i1 += 1;
    }
    let i1 = i1.max(i0 + 1);
    let ticks: Vec<f64> = (i0..=i1).map(tick).collect();
    Axis {
        log: false,
        lo: ticks[0],
        hi: ticks[ticks.len() - 1],
        ticks,
    }
}

/// The most ticks on the y axis (labels 13 pixels high on a 340-pixel axis).
const MAX_TICKS: usize = 10;

/// A logarithmic axis for `0 < y_min`, `y_max > 3·y_min`: among the tick sets 1-2-5,
/// 1-2-3-5-7 and 1…9 times the powers of ten, the one whose end ticks enclose the data most
/// tightly with 4 to [`MAX_TICKS`] ticks; over too many decades for those, powers of ten, every
/// `p`-th for the smallest `p` that gives at most [`MAX_TICKS`].
fn log_axis(y_min: f64, y_max: f64) -> Axis {
    let (e0, e1) = (
        y_min.log10().floor() as i32 - 1,
        y_max.log10().ceil() as i32 + 1,
    );
    let enclosing = |all: Vec<f64>| -> Axis {
        let lo = all
            .iter()
            .copied()
            .filter(|&t| t <= y_min)
            .fold(0.0, f64::max);
        let hi = all
            .iter()
            .copied()
            .filter(|&t| t >= y_max)
            .fold(f64::INFINITY, f64::min);
        let ticks: Vec<f64> = all.into_iter().filter(|&t| lo <= t && t <= hi).collect();
        Axis {
            log: true,
            lo,
            hi,
            ticks,
        }
    };
    let sets: [&[f64]; 3] = [
        &[1.0, 2.0, 5.0],
        &[1.0, 2.0, 3.0, 5.0, 7.0],
        &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0],
    ];
    let best = sets
        .iter()
        .map(|set| {
            enclosing(
                (e0..=e1)
                    .flat_map(|e| set.iter().map(move |&m| m * 10f64.powi(e)))
                    .collect(),
            )
        })
        .filter(|a| (4..=MAX_TICKS).contains(&a.ticks.len()))
        .min_by(|a, b| (a.hi / a.lo).total_cmp(&(b.hi / b.lo)));
    if let Some(axis) = best {
        return axis;
    }
    let mut p = 1;
    loop {
        let axis = enclosing(
            (e0.div_euclid(p)..=e1.div_euclid(p) + 1)
                .map(|i| 10f64.powi(i * p))
                .collect(),
        );
        if axis.ticks.len() <= MAX_TICKS {
            return axis;
        }
        p += 1;
    }
}

/// An SVG line plot of the loss (`(iteration, loss)` points) against the iteration, on the
/// axis of [`y_axis`], with the final loss marked and written beside the end of the curve.
/// The y tick labels have `class="y-tick"`, the final value `class="final-value"`.
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
    let axis = y_axis(y_min, y_max);
    let f = |y: f64| if axis.log { y.log10() } else { y };
    let (lo, hi) = (f(axis.lo), f(axis.hi));
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
    for &v in &axis.ticks {
        let y = sy(v);
        let _ = writeln!(
            s,
            r##"<line x1="{left}" x2="{}" y1="{y:.1}" y2="{y:.1}" stroke="#e4e4e4"/><text class="y-tick" x="{}" y="{:.1}" text-anchor="end">{}</text>"##,
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
        if axis.log { " (log scale)" } else { "" }
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
    if let Some(&(x, y)) = pts.last() {
        let (px, py) = (sx(x), sy(y));
        // Above the end of the curve, or below it when the end is near the top.
        let ty = if py - top > 24.0 {
            py - 10.0
        } else {
            py + 20.0
        };
        let _ = writeln!(
            s,
            r##"<circle cx="{px:.2}" cy="{py:.2}" r="4" fill="#1f5fa8"/><text class="final-value" x="{:.2}" y="{ty:.2}" text-anchor="end">final: {}</text>"##,
            px - 4.0,
            fmt_final(y)
        );
    }
    s.push_str("</svg>\n");
    s
}

/// The final loss, with four significant digits.
pub fn fmt_final(v: f64) -> String {
    if v != 0.0 && (1e-3..1e4).contains(&v.abs()) {
        let digits = 3 - v.abs().log10().floor() as i32;
        format!("{v:.*}", digits.max(0) as usize)
    } else {
        format!("{v:.3e}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const G: Grid = Grid {
        img_rows: 8,
        img_cols: 8,
        scale: 12,
        gap: 6,
    };

    /// The number of pixels of colour `rgb` in the rectangle `x0..x1` × `y0..y1`.
    fn count(
        c: &Canvas,
        (x0, x1): (usize, usize),
        (y0, y1): (usize, usize),
        rgb: [u8; 3],
    ) -> usize {
        (y0..y1)
            .flat_map(|y| (x0..x1).map(move |x| (x, y)))
            .filter(|&(x, y)| {
                let p = (y * c.width + x) * 3;
                c.pixels[p..p + 3] == rgb
            })
            .count()
    }

    #[test]
    fn the_font_is_well_formed() {
        for (i, (c, g)) in FONT.iter().enumerate() {
            let rows: Vec<&str> = g.split(' ').collect();
            assert_eq!(rows.len(), GLYPH_H, "{c:?}");
            assert!(
                rows.iter()
                    .all(|r| r.len() == GLYPH_W && r.bytes().all(|b| b == b'#' || b == b'.')),
                "{c:?}"
            );
            assert!(
                FONT[..i].iter().all(|(d, _)| d != c),
                "{c:?} is in the font twice"
            );
            // Every glyph but the space draws something.
            assert_eq!(g.contains('#'), *c != ' ', "{c:?}");
        }
        assert!(font_covers("16 basis images (columns of W)"));
        assert!(font_covers("W[:,15] original W·h: left, right"));
        assert!(!font_covers("é"));
        // '1' at scale 1: the glyph's pixels exactly, at its place.
        let mut c = Canvas::new(7, 9);
        c.text(1, 1, "1", 1, TEXT);
        let drawn: Vec<String> = (1..8)
            .map(|y| {
                (1..6)
                    .map(|x| {
                        let p = (y * c.width + x) * 3;
                        if c.pixels[p..p + 3] == TEXT { '#' } else { '.' }
                    })
                    .collect()
            })
            .collect();
        assert_eq!(drawn.join(" "), "..#.. .##.. ..#.. ..#.. ..#.. ..#.. .###.");
        assert_eq!(count(&c, (0, 7), (0, 9), TEXT), text_pixels("1", 1));
        assert_eq!((text_width("ab", 2), text_height(2)), (22, 14));
    }

    #[test]
    fn the_basis_grid_has_a_title_and_a_label_under_every_image() {
        let imgs = vec![vec![1.0; 64]; 16];
        let labels: Vec<String> = (0..16).map(|c| format!("W[:,{c}]")).collect();
        let title = [
            "16 basis images (columns of W)".to_string(),
            "most used first".to_string(),
        ];
        let c = image_grid(&imgs, &labels, 4, G, &title);
        // Title band 8 + 2·14 + 6 + 2 = 44; then 6 + 4 rows of (96 + 20 + 6).
        assert_eq!(title_height(2), 44);
        assert_eq!((c.width, c.height), (6 + 4 * 102, 44 + 6 + 4 * 122));
        assert_eq!(c.pixels.len(), c.width * c.height * 3);
        // The title band holds exactly the pixels of the two lines, and no ink.
        let band = (0, title_height(2));
        let title_px = text_pixels(&title[0], TEXT_SCALE) + text_pixels(&title[1], TEXT_SCALE);
        assert_eq!(count(&c, (0, c.width), band, TEXT), title_px);
        // Each label band (under its tile, 20 pixels high) holds exactly its label.
        for (n, label) in labels.iter().enumerate() {
            let (r, k) = (n / 4, n % 4);
            let (x, y) = (6 + k * 102, 44 + 6 + r * 122);
            assert_eq!(c.pixels[(y * c.width + x) * 3..][..3], INK, "tile {n}");
            let found = count(&c, (x - 3, x + 99), (y + 96, y + 96 + LABEL_H), TEXT);
            assert_eq!(found, text_pixels(label, TEXT_SCALE), "label {label}");
            assert!(found > 0);
        }
        // The margin is background; the whole picture encodes.
        assert_eq!(c.pixels[..3], BACKGROUND);
        assert_eq!(&c.to_png().unwrap()[1..4], b"PNG");
    }

    #[test]
    fn a_grid_narrower_than_its_title_widens_to_fit_it() {
        let title = ["1 basis image (columns of W)".to_string()];
        let c = image_grid(&[vec![0.5; 64]], &["W[:,0]".to_string()], 1, G, &title);
        assert_eq!(c.width, text_width(&title[0], TEXT_SCALE) + 2 * 6);
        assert_eq!(c.height, title_height(1) + 6 + 122);
        let all = count(&c, (0, c.width), (0, c.height), TEXT);
        assert_eq!(
            all,
            text_pixels(&title[0], TEXT_SCALE) + text_pixels("W[:,0]", TEXT_SCALE)
        );
    }

    #[test]
    fn pairs_are_labelled_original_and_reconstruction() {
        let pairs = vec![(vec![16.0; 64], vec![8.0; 64]); 20];
        let title = ["20 digits beside their NMF reconstructions".to_string()];
        let c = pair_grid(&pairs, 5, 16.0, G, &title, ("original", "W·h"));
        // Pairs 2·96 + 2 wide, 18 pixels between; rows of 96 + 20 + 18.
        assert_eq!(
            (c.width, c.height),
            (18 + 5 * 212, title_height(1) + 18 + 4 * 134)
        );
        let top = title_height(1);
        for n in 0..20 {
            let (r, k) = (n / 5, n % 5);
            let (x, y) = (18 + k * 212, top + 18 + r * 134);
            let band = (y + 96, y + 96 + LABEL_H);
            assert_eq!(
                count(&c, (x, x + 96), band, TEXT),
                text_pixels("original", TEXT_SCALE)
            );
            assert_eq!(
                count(&c, (x + 98, x + 194), band, TEXT),
                text_pixels("W·h", TEXT_SCALE)
            );
            // The original at full intensity, the reconstruction at half.
            assert_eq!(c.pixels[(y * c.width + x) * 3..][..3], INK);
            assert_ne!(c.pixels[(y * c.width + x + 98) * 3..][..3], INK);
        }
        assert_eq!(
            count(&c, (0, c.width), (0, top), TEXT),
            text_pixels(&title[0], TEXT_SCALE)
        );
    }

    #[test]
    fn the_y_axis_encloses_the_data_between_its_end_ticks() {
        let cases = [
            (6.31e4, 5.52e5, true),
            (1.0, 1e9, true),
            (0.9, 3.1, true),
            (1e-300, 1e-290, true),
            (2e-25, 1e3, true),
            (3.0, 700.0, true),
            (1234.0, 1300.0, false),
            (2.0, 2.0, false),
            (0.0, 7.5, false),
            (1.5, 2.0, false),
        ];
        for (min, max, log) in cases {
            let a = y_axis(min, max);
            assert_eq!(a.log, log, "{min}..{max}");
            assert_eq!(a.ticks.first(), Some(&a.lo), "{min}..{max}: {a:?}");
            assert_eq!(a.ticks.last(), Some(&a.hi), "{min}..{max}: {a:?}");
            assert!(a.lo <= min && a.hi >= max, "{min}..{max}: {a:?}");
            assert!(a.ticks.windows(2).all(|t| t[0] < t[1]), "{a:?}");
            assert!(a.ticks.len() >= 2, "{a:?}");
            if log {
                assert!((4..=MAX_TICKS).contains(&a.ticks.len()), "{a:?}");
                // The axis is not much longer than the data (in decades).
                let (data, axis) = ((max / min).log10(), (a.hi / a.lo).log10());
                assert!(axis <= 2.0 * data + 1.0, "{a:?}");
            }
        }
        // The demo's KL run, from 5.4e5 down to 5.7e4.
        assert_eq!(
            y_axis(5.67e4, 5.4e5).ticks,
            vec![5e4, 7e4, 1e5, 2e5, 3e5, 5e5, 7e5]
        );
        // 28 decades: every fourth power of ten, 1e-28 to 1e4 (every third would be 11).
        let a = y_axis(2e-25, 1e3);
        assert_eq!(a.ticks.len(), 9, "{a:?}");
        assert!(
            a.ticks
                .windows(2)
                .all(|t| (t[1] / t[0] / 1e4 - 1.0).abs() < 1e-12)
        );
    }

    /// The y tick values, the final value's text, and the plot's y range in pixels.
    fn parse_svg(s: &str) -> (Vec<f64>, String, Vec<f64>) {
        let doc = roxmltree::Document::parse(s).unwrap();
        let ticks = doc
            .descendants()
            .filter(|n| n.attribute("class") == Some("y-tick"))
            .map(|n| n.text().unwrap().parse::<f64>().unwrap())
            .collect();
        let last = doc
            .descendants()
            .find(|n| n.attribute("class") == Some("final-value"))
            .map(|n| n.text().unwrap().to_string())
            .unwrap_or_default();
        let ys = doc
            .descendants()
            .find(|n| n.has_tag_name("polyline"))
            .unwrap()
            .attribute("points")
            .unwrap()
            .split(' ')
            .filter(|p| !p.is_empty())
            .map(|p| p.split(',').nth(1).unwrap().parse::<f64>().unwrap())
            .collect();
        (ticks, last, ys)
    }

    #[test]
    fn the_loss_plot_covers_every_point_and_writes_the_final_value() {
        let pts: Vec<(usize, f64)> = (0..=40)
            .map(|i| (i * 10, 6.3e4 + 4.9e5 / (1 + i * i) as f64))
            .collect();
        let s = loss_svg(&pts, "KL <divergence>", "loss");
        assert!(s.contains("(log scale)"));
        let (ticks, last, ys) = parse_svg(&s);
        let (min, max) = (pts[40].1, pts[0].1);
        assert!(
            ticks[0] <= min && *ticks.last().unwrap() >= max,
            "{ticks:?}"
        );
        assert_eq!(last, format!("final: {}", fmt_final(min)));
        assert_eq!(last, "final: 6.331e4"); // 6.3e4 + 4.9e5 / 1601
        assert_eq!(ys.len(), 41);
        // Every point inside the plot area (y from 44 to 384).
        assert!(ys.iter().all(|&y| (44.0..=384.0).contains(&y)), "{ys:?}");
        // Linear scale, a flat history, and degenerate input.
        let flat = loss_svg(&[(0, 2.0), (10, 1.5)], "t", "loss");
        assert!(!flat.contains("log scale"));
        let (ticks, last, _) = parse_svg(&flat);
        assert!(
            ticks[0] <= 1.5 && *ticks.last().unwrap() >= 2.0,
            "{ticks:?}"
        );
        assert_eq!(last, "final: 1.500");
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
        assert_eq!(fmt_final(63301.2), "6.330e4");
        assert_eq!(fmt_final(0.5), "0.5000");
        assert_eq!(fmt_final(1234.56), "1235");
    }
}
