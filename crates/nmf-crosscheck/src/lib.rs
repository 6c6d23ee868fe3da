//! Tests that need every backend at once (this crate has no library API of its own):
//!
//! - `tests/agreement.rs`: from the same V and the same initial factors, faer, nalgebra and
//!   ndarray give the same W and H;
//! - `tests/allocations.rs`: a fit of a 2000×2000 matrix at rank 50 allocates nothing inside
//!   its iteration loop (counted by a global allocator);
//! - `tests/saved_models.rs`: a model saved from faer transforms the same in every backend;
//! - `tests/reexports.rs`: every backend crate re-exports nmf-core's whole public API;
//! - the Rust examples of the READMEs, compiled and run as doctests of [`ReadmeDoctests`]
//!   and [`CliReadmeDoctests`] (this crate depends on the three backends with feature `io`,
//!   as a user following the README would).
#![warn(missing_docs)]

/// The root README.md: each ```` ```rust ```` block is a doctest (`cargo test --doc -p
/// nmf-crosscheck`), so an example that stops compiling or fails fails the test suite.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
pub struct ReadmeDoctests;

/// crates/nmf-cli/README.md, for any Rust example it holds (its `sh` blocks are not run).
#[cfg(doctest)]
#[doc = include_str!("../../nmf-cli/README.md")]
pub struct CliReadmeDoctests;
