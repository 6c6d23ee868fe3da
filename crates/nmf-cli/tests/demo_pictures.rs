//! The demo's pictures explain themselves, checked on the files `nmf demo` writes: each PNG
//! has its title band and a label band under every image, and the title and labels are drawn
//! (pixels of the text colour there, none elsewhere outside the images); the loss plot's y
//! axis runs from a tick at or below the smallest loss of the history (summary.json) to one at
//! or above the largest, and the final loss is written on the plot.

mod common;

use std::path::Path;

use common::{nmf, stderr};
use nmf_cli::picture::{LABEL_H, TEXT, TEXT_SCALE, fmt_final, text_pixels, title_height};

struct Png {
    width: usize,
    height: usize,
    rgb: Vec<u8>,
}

fn read_png(path: &Path) -> Png {
    let file = std::fs::File::open(path).unwrap();
    let mut reader = png::Decoder::new(std::io::BufReader::new(file))
        .read_info()
        .unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!(info.color_type, png::ColorType::Rgb);
    buf.truncate(info.buffer_size());
    Png {
        width: info.width as usize,
        height: info.height as usize,
        rgb: buf,
    }
}

impl Png {
    /// Pixels of the text colour in `x0..x1` × `y0..y1`.
    fn text_in(&self, (x0, x1): (usize, usize), (y0, y1): (usize, usize)) -> usize {
        (y0..y1)
            .flat_map(|y| (x0..x1).map(move |x| (x, y)))
            .filter(|&(x, y)| self.rgb[(y * self.width + x) * 3..][..3] == TEXT)
            .count()
    }
}

fn run_demo(dir: &Path) -> std::path::PathBuf {
    let o = nmf(dir, &["demo", "--max-iter", "60", "-q"]);
    assert!(o.status.success(), "{}", stderr(&o));
    dir.join("nmf-demo")
}

#[test]
fn the_demo_pngs_carry_their_titles_and_labels() {
    let tmp = tempfile::tempdir().unwrap();
    let d = run_demo(tmp.path());
    let top = title_height(2);

    // basis.png: 16 images, 4 to a row, each 96 pixels square in a 102 × (96 + LABEL_H + 6)
    // cell; the title "16 basis images (columns of W)" / "most used first".
    let b = read_png(&d.join("basis.png"));
    assert_eq!(
        (b.width, b.height),
        (6 + 4 * 102, top + 6 + 4 * (96 + LABEL_H + 6))
    );
    let title = text_pixels("16 basis images (columns of W)", TEXT_SCALE)
        + text_pixels("most used first", TEXT_SCALE);
    assert_eq!(b.text_in((0, b.width), (0, top)), title);
    let mut labels = 0;
    for n in 0..16 {
        let (x, y) = (6 + (n % 4) * 102, top + 6 + (n / 4) * (96 + LABEL_H + 6));
        // Images are never text: the label band holds the whole label, "W[:,c]" for some c.
        let found = b.text_in((x, x + 96), (y + 96, y + 96 + LABEL_H));
        assert!(
            (0..16).any(|c| found == text_pixels(&format!("W[:,{c}]"), TEXT_SCALE)),
            "label of image {n}: {found} pixels"
        );
        assert_eq!(b.text_in((x, x + 96), (y, y + 96)), 0);
        labels += found;
    }
    // No text anywhere else.
    assert_eq!(b.text_in((0, b.width), (0, b.height)), title + labels);

    // reconstructions.png: 20 pairs "original" | "W·h".
    let r = read_png(&d.join("reconstructions.png"));
    assert_eq!(
        (r.width, r.height),
        (18 + 5 * 212, top + 18 + 4 * (96 + LABEL_H + 18))
    );
    for n in 0..20 {
        let (x, y) = (18 + (n % 5) * 212, top + 18 + (n / 5) * (96 + LABEL_H + 18));
        let band = (y + 96, y + 96 + LABEL_H);
        assert_eq!(
            r.text_in((x, x + 96), band),
            text_pixels("original", TEXT_SCALE)
        );
        assert_eq!(
            r.text_in((x + 98, x + 194), band),
            text_pixels("W·h", TEXT_SCALE)
        );
    }
    assert!(r.text_in((0, r.width), (0, top)) > 0, "no title");
}

#[test]
fn the_loss_plot_axis_covers_the_history_and_states_the_final_loss() {
    let tmp = tempfile::tempdir().unwrap();
    let d = run_demo(tmp.path());
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(d.join("summary.json")).unwrap()).unwrap();
    let losses: Vec<f64> = summary["loss_history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["loss"].as_f64().unwrap())
        .collect();
    assert_eq!(losses.len(), 7, "losses at 0, 10, …, 60");
    let min = losses.iter().copied().fold(f64::INFINITY, f64::min);
    let max = losses.iter().copied().fold(0.0, f64::max);

    let svg = std::fs::read_to_string(d.join("loss.svg")).unwrap();
    let doc = roxmltree::Document::parse(&svg).unwrap();
    let ticks: Vec<f64> = doc
        .descendants()
        .filter(|n| n.attribute("class") == Some("y-tick"))
        .map(|n| n.text().unwrap().parse().unwrap())
        .collect();
    assert!(ticks.len() >= 4, "{ticks:?}");
    assert!(
        ticks[0] <= min && max <= ticks[ticks.len() - 1],
        "ticks {ticks:?} do not span the losses {min}..{max}"
    );
    let last = doc
        .descendants()
        .find(|n| n.attribute("class") == Some("final-value"))
        .and_then(|n| n.text())
        .unwrap();
    assert_eq!(last, format!("final: {}", fmt_final(losses[6])));
    // The curve stays inside the plot frame.
    let frame = doc
        .descendants()
        .find(|n| n.has_tag_name("rect") && n.attribute("stroke").is_some())
        .unwrap();
    let y0: f64 = frame.attribute("y").unwrap().parse().unwrap();
    let y1 = y0 + frame.attribute("height").unwrap().parse::<f64>().unwrap();
    let points = doc
        .descendants()
        .find(|n| n.has_tag_name("polyline"))
        .unwrap()
        .attribute("points")
        .unwrap();
    for p in points.split(' ') {
        let y: f64 = p.split(',').nth(1).unwrap().parse().unwrap();
        assert!((y0..=y1).contains(&y), "point {p} outside {y0}..{y1}");
    }
}
