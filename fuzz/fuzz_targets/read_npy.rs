//! The `.npy` reader on arbitrary bytes: no panic, no allocation beyond what the bytes hold,
//! and a matrix of rows × columns entries or a short one-line error (see `nmf_fuzz`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use nmf_cli::read::{Format, ReadOptions, parse_bytes};

fuzz_target!(|bytes: &[u8]| {
    nmf_fuzz::check_read(parse_bytes(
        bytes,
        nmf_fuzz::SOURCE,
        Format::Npy,
        ReadOptions::default(),
    ));
});
