//! Tests that need every backend at once (this crate has no library API of its own):
//!
//! - `tests/agreement.rs`: from the same V and the same initial factors, faer, nalgebra and
//!   ndarray give the same W and H;
//! - `tests/allocations.rs`: a fit of a 2000×2000 matrix at rank 50 allocates nothing inside
//!   its iteration loop (counted by a global allocator).
#![warn(missing_docs)]
