//! V read from where it is stored, a block of rows at a time, so that a matrix larger than
//! memory can be fitted: a [`RowSource`] gives any block of rows on demand (a `.npy`, `.mtx`
//! or `.npz` file, read by the crate that reads files), as a [`RowBlock`], dense or sparse.

mod source;

pub use source::{RowBlock, RowSource};
