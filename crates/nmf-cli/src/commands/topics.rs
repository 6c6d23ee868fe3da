//! `nmf topics`: a fit of a document-term matrix that prints the top terms of each component
//! and writes topics.json (see [`crate::topics`]); the fit of `nmf fit` with `--vocab`
//! required.

use crate::CliError;
use crate::cli::FitArgs;

/// `nmf topics`.
///
/// # Errors
/// Every problem as a one-line [`CliError`]; a usage error without `--vocab` (which the
/// command line requires).
pub fn topics(args: &FitArgs) -> Result<(), CliError> {
    if args.vocab.is_none() {
        return Err(CliError::usage(
            "nmf topics needs --vocab FILE: one term per line, one line per column of V",
        ));
    }
    super::fit::fit_as(args, "topics")
}
