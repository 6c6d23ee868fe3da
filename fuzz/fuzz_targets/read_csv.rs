//! The CSV/TSV reader on arbitrary bytes, with the delimiter, header and format options taken
//! from the first byte: no panic, and a matrix of rows × columns entries or a short one-line
//! error without control characters (see `nmf_fuzz`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use nmf_cli::read::{Delimiter, Format, Header, ReadOptions, parse_bytes};

fuzz_target!(|bytes: &[u8]| {
    let Some((&opts, text)) = bytes.split_first() else {
        return;
    };
    let delimiter = [Delimiter::Auto, Delimiter::Comma, Delimiter::Tab][usize::from(opts & 3) % 3];
    let header = [Header::Auto, Header::Yes, Header::No][usize::from((opts >> 2) & 3) % 3];
    let format = if opts & 16 == 0 {
        Format::Csv
    } else {
        Format::Tsv
    };
    nmf_fuzz::check_read(parse_bytes(
        text,
        nmf_fuzz::SOURCE,
        format,
        ReadOptions {
            delimiter,
            header,
            ..ReadOptions::default()
        },
    ));
});
