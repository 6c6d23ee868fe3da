//! The subcommands, one module each: [`fit`](fit::fit), [`topics`](topics::topics),
//! [`transform`](transform::transform), [`demo`](demo::demo), [`rank`](rank::rank) and
//! [`predict`](predict::predict). What they share lives in
//! the crate's other modules: the settings of a fit, the progress display, the one dispatch
//! over backend × scalar type × storage, the fit itself, the outputs and summary.json.

pub mod demo;
pub mod fit;
pub(crate) mod fit_masked;
mod fit_online;
pub mod predict;
pub mod rank;
pub mod topics;
pub mod transform;

pub use demo::{DemoPictures, demo};
pub use fit::fit;
pub use predict::predict;
pub use rank::rank;
pub use topics::topics;
pub use transform::transform;
