//! The command line's parser on arbitrary argument vectors (`nmf fit|transform|demo` followed
//! by words from a small vocabulary of options and values, or arbitrary text): no panic in
//! parsing or in rendering the error.
#![no_main]

use arbitrary::Arbitrary;
use clap::Parser;
use libfuzzer_sys::fuzz_target;
use nmf_cli::cli::Cli;

/// Options and values that reach the interesting parsers (numbers, enums, conflicts).
const WORDS: &[&str] = &[
    "fit",
    "transform",
    "demo",
    "x.csv",
    "x.npy",
    "-k",
    "--rank",
    "--loss",
    "--beta",
    "--alpha-w",
    "--alpha-h",
    "--l1-ratio",
    "--n-init",
    "--parallel-restarts",
    "--backend",
    "--dtype",
    "--max-iter",
    "--tol",
    "--check-every",
    "--seed",
    "--threads",
    "--eps",
    "--init",
    "--w0",
    "--h0",
    "-o",
    "--out",
    "--csv",
    "--model-format",
    "-q",
    "-v",
    "--quiet",
    "--verbose",
    "--format",
    "--delimiter",
    "--header",
    "--model",
    "-m",
    "--help",
    "--version",
    "0",
    "1",
    "-1",
    "3",
    "1e-300",
    "-1e-300",
    "1e308",
    "-1e308",
    "5e-324",
    "nan",
    "inf",
    "-inf",
    "18446744073709551615",
    "18446744073709551616",
    "9223372036854775808",
    "1000000000",
    "100000000000",
    "kl",
    "frobenius",
    "is",
    "itakura-saito",
    "faer",
    "nalgebra",
    "ndarray",
    "f32",
    "f64",
    "random",
    "nndsvd",
    "nndsvda",
    "nndsvdar",
    "auto",
    "json",
    "npz",
    "both",
    "csv",
    "tsv",
    "mtx",
    "npy",
    "comma",
    "tab",
    "yes",
    "no",
    "--",
    "-",
    "=",
    "--rank=2",
    "--beta=-1e-300",
    "-k2",
    "-k-1",
];

#[derive(Debug, Arbitrary)]
enum Word {
    Known(u8),
    Text(String),
}

fuzz_target!(|words: Vec<Word>| {
    let args = std::iter::once("nmf".to_string()).chain(words.into_iter().map(|w| match w {
        Word::Known(i) => WORDS[usize::from(i) % WORDS.len()].to_string(),
        Word::Text(s) => s,
    }));
    if let Err(e) = Cli::try_parse_from(args) {
        let _ = e.render().to_string();
    }
});
