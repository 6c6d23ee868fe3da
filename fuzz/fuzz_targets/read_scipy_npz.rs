//! The SciPy sparse `.npz` reader on arbitrary bytes: no panic, and valid compressed rows or a
//! short one-line error (see `nmf_fuzz`).
//!
//! A file may rightly declare a matrix with far more rows than it holds entries (compressed
//! rows need 8 bytes a row): inputs whose `shape.npy` declares more than [`MAX_ROWS`] rows or
//! columns are skipped, since libFuzzer's malloc limit would report the allocation even when
//! the reader handles its failure.
#![no_main]

use std::io::{Cursor, Read};

use libfuzzer_sys::fuzz_target;
use nmf_cli::read::{npy, scipy_npz};

/// 2²² rows: 32 MiB of row pointers.
const MAX_ROWS: f64 = (1u64 << 22) as f64;

/// Whether `shape.npy` declares a dimension above [`MAX_ROWS`].
fn huge(bytes: &[u8]) -> bool {
    let Ok(mut zip) = zip::ZipArchive::new(Cursor::new(bytes)) else {
        return false;
    };
    let Ok(file) = zip.by_name("shape.npy") else {
        return false;
    };
    let mut shape = Vec::new();
    if file.take(1 << 16).read_to_end(&mut shape).is_err() {
        return false;
    }
    npy::parse_vector(&shape, "shape").is_ok_and(|s| s.iter().any(|&d| d > MAX_ROWS))
}

fuzz_target!(|bytes: &[u8]| {
    if huge(bytes) {
        return;
    }
    nmf_fuzz::check_sparse(scipy_npz::parse(bytes, nmf_fuzz::SOURCE, 1 << 24));
});
