//! The Matrix Market reader on arbitrary bytes: no panic, and a matrix of rows × columns
//! entries or a short one-line error (see `nmf_fuzz`).
//!
//! A coordinate file may rightly declare a dense matrix far larger than itself (one entry in a
//! 30000 × 30000 matrix is 7.2 GB once dense): such inputs are skipped when the size line
//! declares more than [`MAX_DENSE`] entries, since libFuzzer's malloc limit would report the
//! allocation even when the reader handles its failure. An array file must hold every entry,
//! so it is never skipped: its declared size has to be checked against the text.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nmf_cli::read::{Format, ReadOptions, parse_bytes};

/// 2²² entries: 32 MiB dense, well under libFuzzer's default malloc limit of 2 GiB.
const MAX_DENSE: u128 = 1 << 22;

/// Whether the text is a coordinate file whose size line declares more than [`MAX_DENSE`]
/// entries (a rough scan, as the reader reads it: the first line that is neither blank nor a
/// `%` comment after the banner, split at Unicode whitespace as the reader splits it).
fn huge_coordinate(bytes: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return false;
    };
    let mut lines = text.split('\n');
    let banner = lines.next().unwrap_or_default().to_ascii_lowercase();
    if !banner.contains("coordinate") {
        return false;
    }
    let Some(size) = lines.find(|l| {
        let t = l.trim_start();
        !t.is_empty() && !t.starts_with('%')
    }) else {
        return false;
    };
    let dims: Vec<u128> = size
        .split_whitespace()
        .take(2)
        .map(|t| t.parse::<u128>().unwrap_or(0))
        .collect();
    dims.len() == 2 && dims[0].saturating_mul(dims[1]) > MAX_DENSE
}

fuzz_target!(|bytes: &[u8]| {
    if huge_coordinate(bytes) {
        return;
    }
    nmf_fuzz::check_read(parse_bytes(
        bytes,
        nmf_fuzz::SOURCE,
        Format::Mtx,
        ReadOptions::default(),
    ));
    // The sparse reader of coordinate files, on the same text.
    if let Ok(text) = std::str::from_utf8(bytes) {
        match nmf_cli::read::mtx::parse_sparse_cancellable(text, nmf_fuzz::SOURCE, None) {
            Ok(nmf_cli::read::mtx::MtxMatrix::Sparse(c)) => nmf_fuzz::check_sparse(Ok(c)),
            Ok(nmf_cli::read::mtx::MtxMatrix::Dense(m)) => nmf_fuzz::check_read(Ok(m)),
            Err(e) => nmf_fuzz::check_sparse(Err(e)),
        }
    }
});
