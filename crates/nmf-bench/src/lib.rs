//! # nmf-bench
//!
//! Benchmarks of the nmf-rs backends (faer, nalgebra, ndarray).
//!
//! - `cargo bench -p nmf-bench [-- FILTER]`: criterion groups `products`, `elementwise`,
//!   `iteration_frobenius`, `iteration_kl` and `fit`, over backends, scalar types and shapes
//!   (see `benches/nmf.rs`).
//! - `cargo run --release -p nmf-bench -- --help`: the comparison runner, every backend on the
//!   same problem from the same initial factors, against the time of the dominant products
//!   and, where installed, scikit-learn.
//! - `cargo run --release -p nmf-bench -- quality --help`: time to quality, relative error
//!   against wall time for this library's solvers, scikit-learn (`mu`, `cd`) and RcppML,
//!   each from its own default start ([`quality`]).
//!
//! The library part holds what both share: the problem ([`data`]), the exact flop counts
//! ([`flops`]), the measurements ([`runner`]), their output ([`report`]), the scikit-learn
//! row and curves ([`sklearn`]), RcppML's curve ([`rcppml`]) and the time-to-quality mode
//! ([`quality`]).
#![warn(missing_docs)]

pub mod data;
pub mod flops;
pub mod quality;
pub mod rcppml;
pub mod report;
pub mod runner;
pub mod sklearn;

/// The shapes `(name, m, n, k)` the criterion benchmarks use.
pub const SHAPES: [(&str, usize, usize, usize); 5] = [
    ("500x500k10", 500, 500, 10),
    ("2000x2000k50", 2000, 2000, 50),
    ("5000x2000k50", 5000, 2000, 50),
    ("tall20000x200k20", 20000, 200, 20),
    ("wide200x20000k20", 200, 20000, 20),
];
