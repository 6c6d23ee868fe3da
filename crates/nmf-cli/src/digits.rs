//! The handwritten digits bundled with the command: the test set of the UCI "Optical
//! Recognition of Handwritten Digits" data set (E. Alpaydin and C. Kaynak, 1998, CC BY 4.0; see
//! `data/README.md`): 1797 images of 8×8 pixels, each pixel a count from 0 to 16.

use crate::CliError;
use crate::matrix::Matrix;
use crate::read::{Delimiter, Header, csv};

/// The gzip-compressed CSV: 1797 rows of 64 pixels (row-major 8×8) and the digit.
pub const DIGITS_CSV_GZ: &[u8] = include_bytes!("../data/digits.csv.gz");

/// Side of an image, in pixels.
pub const SIDE: usize = 8;

/// The digits as NMF data.
#[derive(Debug, Clone, PartialEq)]
pub struct Digits {
    /// The 64×1797 pixels-by-images matrix: column `j` is image `j`, row-major 8×8.
    pub pixels: Matrix,
    /// The digit shown by each image (0–9).
    pub labels: Vec<u8>,
}

/// Decompresses and parses the bundled digits.
///
/// # Errors
/// Only if the embedded file were corrupt (a bug, checked by the tests).
pub fn load() -> Result<Digits, CliError> {
    use std::io::Read;
    let mut text = String::new();
    flate2::read::GzDecoder::new(DIGITS_CSV_GZ)
        .read_to_string(&mut text)
        .map_err(|e| CliError::data(format!("the embedded digits are corrupt: {e}")))?;
    let all = csv::parse(&text, "digits.csv", Delimiter::Comma, Header::No)?;
    if all.cols != SIDE * SIDE + 1 {
        return Err(CliError::data(format!(
            "the embedded digits have {} columns, not 65",
            all.cols
        )));
    }
    let n = all.rows;
    let mut pixels = Vec::with_capacity(SIDE * SIDE * n);
    for p in 0..SIDE * SIDE {
        for i in 0..n {
            pixels.push(all.get(i, p));
        }
    }
    let labels = (0..n).map(|i| all.get(i, SIDE * SIDE) as u8).collect();
    Ok(Digits {
        pixels: Matrix::new(SIDE * SIDE, n, pixels),
        labels,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_digits_are_64_by_1797() {
        let d = load().unwrap();
        assert_eq!((d.pixels.rows, d.pixels.cols), (64, 1797));
        assert_eq!(d.labels.len(), 1797);
        assert!(d.labels.iter().all(|&l| l <= 9));
        for digit in 0..10 {
            assert!(d.labels.contains(&digit));
        }
        assert!(
            d.pixels
                .data
                .iter()
                .all(|&x| (0.0..=16.0).contains(&x) && x.fract() == 0.0)
        );
        // The first image's second row (pixels 8..16) from the file: 0,0,13,15,10,15,5,0.
        let row1: Vec<f64> = (8..16).map(|p| d.pixels.get(p, 0)).collect();
        assert_eq!(row1, vec![0.0, 0.0, 13.0, 15.0, 10.0, 15.0, 5.0, 0.0]);
        assert_eq!(d.labels[0], 0);
    }
}
