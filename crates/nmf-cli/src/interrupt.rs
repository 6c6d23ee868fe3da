//! Ctrl-C, SIGTERM and SIGHUP, all handled alike.
//!
//! The handler (installed by [`install_handler`]) sets [`INTERRUPTED`] and then depends on
//! the phase of the run:
//!
//! - **Working** (reading, decompressing, initialising, iterating): nothing is written yet.
//!   The fit's and the transform's observers see the flag after the current iteration and the
//!   command returns an error saying after how many; if the main thread has not finished
//!   within [`GRACE`] (a reader on a huge file, an SVD initialisation), the handler itself
//!   prints `error: interrupted …; nothing was written` and exits with
//!   [`EXIT_INTERRUPTED`] (130).
//! - **Writing** (the outputs are being staged in their temporary directory, see
//!   [`write`](crate::write)): the writer checks the flag between files and between chunks of
//!   a file; it removes its temporary directory and the command exits with 130, the previous
//!   outputs untouched. Once the directory is swapped in, the run completes normally.
//! - **Done** (the outputs are in place, or the command is printing its final error): the
//!   handler does nothing more.
//!
//! A second signal exits at once with 130; if it comes while writing, the temporary
//! directory stays behind and the next run into the same `--out` removes it.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use crate::CliError;
use crate::error::EXIT_INTERRUPTED;

/// Set by the handler at the first Ctrl-C, SIGTERM or SIGHUP.
pub static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// How long the handler lets the main thread stop by itself (with a message that says how
/// far the fit got) before it exits the process.
pub const GRACE: Duration = Duration::from_secs(2);

/// The words for the signals in messages.
pub const SIGNALS: &str = "Ctrl-C, SIGTERM or SIGHUP";

/// Where the run is, for the handler.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Working,
    Writing,
    Done,
}

static PHASE: Mutex<Phase> = Mutex::new(Phase::Working);

fn phase() -> MutexGuard<'static, Phase> {
    PHASE.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Installs the handler of Ctrl-C, SIGTERM and SIGHUP (see the module documentation).
pub fn install_handler() {
    let _ = ctrlc::set_handler(|| {
        if INTERRUPTED.swap(true, Ordering::SeqCst) {
            std::process::exit(i32::from(EXIT_INTERRUPTED));
        }
        let deadline = Instant::now() + GRACE;
        loop {
            {
                let p = phase();
                if *p != Phase::Working {
                    return;
                }
                if Instant::now() >= deadline {
                    let _ = writeln!(
                        std::io::stderr(),
                        "error: interrupted ({SIGNALS}); nothing was written"
                    );
                    // The lock is held: the main thread cannot begin writing meanwhile.
                    std::process::exit(i32::from(EXIT_INTERRUPTED));
                }
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    });
}

/// Whether a signal arrived.
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// An error if a signal arrived; `when` says what the run was doing ("while reading").
///
/// # Errors
/// [`CliError::interrupted`] (exit code 130) after a signal.
pub fn check(when: &str) -> Result<(), CliError> {
    if interrupted() {
        Err(CliError::interrupted(format!(
            "interrupted ({SIGNALS}) {when}; nothing was written"
        )))
    } else {
        Ok(())
    }
}

/// Enters the writing phase, unless a signal arrived (then the error of [`check`]).
///
/// # Errors
/// [`CliError::interrupted`] after a signal.
pub fn begin_writing() -> Result<(), CliError> {
    let mut p = phase();
    check("before writing")?;
    if *p == Phase::Working {
        *p = Phase::Writing;
    }
    Ok(())
}

/// The run is over (the outputs are in place, or its error is being printed): the handler
/// no longer exits the process.
pub fn done() {
    *phase() = Phase::Done;
}
