//! The progress of a fit or a transform on standard error: a bar on a terminal, plain lines
//! otherwise, nothing with `--quiet`.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::time::Instant;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use nmf_core::Progress;

use crate::settings::Verbosity;
use crate::{CliError, console};

/// The progress display: a bar on a terminal, plain lines otherwise, nothing when quiet.
/// With `--n-init` restarts the bar runs over all of them (the sum of their iterations) and
/// the lines name the restart; with `--parallel-restarts` the restarts report from their own
/// threads, through a [`Mutex`] around the reporter. Its memory does not grow with
/// `--max-iter` or `--n-init`: it keeps only the restarts that may still be running.
pub(crate) struct Reporter {
    mode: Mode,
    verbose: bool,
    max_iter: usize,
    n_init: usize,
    /// How many restarts run at once (1, or the restart threads): restart r counts as over
    /// (all its --max-iter iterations done, or converged) once restart r + lanes has begun,
    /// as restart r + lanes runs on the thread of restart r, after it. (Restarts on other
    /// threads say nothing about r: one thread may be several restarts ahead of another.)
    lanes: usize,
    /// How many restarts are over.
    over: usize,
    /// The restarts begun and not yet over (one per thread): their iterations so far, and
    /// the iteration from which their next plain line is due.
    active: BTreeMap<usize, (usize, usize)>,
    /// The iterations run, over all restarts and threads.
    ran: usize,
    start: Instant,
    /// The first failure to write to standard error: the run stops with it.
    failed: Option<CliError>,
}

enum Mode {
    Silent,
    Bar(ProgressBar),
    Plain,
}

impl Reporter {
    pub(crate) fn new(verbosity: Verbosity, max_iter: usize, n_init: usize, lanes: usize) -> Self {
        let mode = match verbosity {
            Verbosity::Quiet => Mode::Silent,
            _ if std::io::stderr().is_terminal() => {
                let bar = ProgressBar::with_draw_target(
                    Some(max_iter.saturating_mul(n_init) as u64),
                    ProgressDrawTarget::stderr(),
                );
                let style = ProgressStyle::with_template(
                    "{spinner:.green} {elapsed_precise} [{bar:32.cyan/blue}] {pos}/{len} it · loss {msg} · {rate} · {eta} left",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .with_key(
                    "rate",
                    |state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                        let _ = write!(w, "{:.0} it/s", state.per_sec());
                    },
                )
                .progress_chars("=> ");
                bar.set_style(style);
                bar.set_message("…");
                Mode::Bar(bar)
            }
            _ => Mode::Plain,
        };
        let n_init = n_init.max(1);
        Self {
            mode,
            verbose: verbosity == Verbosity::Verbose,
            max_iter,
            n_init,
            lanes: lanes.clamp(1, n_init),
            over: 0,
            active: BTreeMap::new(),
            ran: 0,
            start: Instant::now(),
            failed: None,
        }
    }

    pub(crate) fn is_silent(&self) -> bool {
        matches!(self.mode, Mode::Silent)
    }

    /// The progress over all restarts, in iterations: a restart that is over counts in full
    /// (it may have converged early).
    fn done(&self) -> usize {
        let running: usize = self.active.values().map(|&(it, _)| it).sum();
        self.over
            .saturating_mul(self.max_iter)
            .saturating_add(running)
    }

    /// Shows `p`; false once standard error cannot be written (see `failed`).
    pub(crate) fn update(&mut self, p: &Progress) -> bool {
        if self.failed.is_some() {
            return false;
        }
        let r = p.restart.min(self.n_init - 1);
        if !self.active.contains_key(&r)
            && let Some(before) = r.checked_sub(self.lanes)
            && self.active.remove(&before).is_some()
        {
            // Restart r follows `before` on its thread: `before` is over (counted in full).
            self.over += 1;
        }
        let state = self.active.entry(r).or_insert((0, 0));
        self.ran = self.ran.saturating_add(p.iteration.saturating_sub(state.0));
        state.0 = p.iteration;
        let next_line = state.1;
        let restart = if self.n_init > 1 {
            format!("restart {}/{}: ", r + 1, self.n_init)
        } else {
            String::new()
        };
        match &self.mode {
            Mode::Silent => {}
            Mode::Bar(bar) => {
                bar.set_position(self.done() as u64);
                if let Some(l) = p.loss {
                    bar.set_message(format!("{restart}{l:.6e}"));
                    if self.verbose {
                        bar.println(format!("{restart}iteration {}: loss {l:.6e}", p.iteration));
                    }
                }
            }
            Mode::Plain => {
                // A line at every loss evaluation past each tenth of the run (every one with
                // --verbose), and at the end.
                if let Some(l) = p.loss
                    && (self.verbose || p.iteration >= next_line || p.iteration == self.max_iter)
                {
                    let secs = self.start.elapsed().as_secs_f64();
                    // The rate counts the iterations run, over all threads; the time left
                    // is for the iterations of the restarts that are not over.
                    let rate = self.ran as f64 / secs.max(1e-9);
                    let left = self
                        .max_iter
                        .saturating_mul(self.n_init)
                        .saturating_sub(self.done()) as f64
                        / rate;
                    let line = format!(
                        "{restart}iteration {}/{}  loss {l:.6e}  {rate:.1} it/s  {} left",
                        p.iteration,
                        self.max_iter,
                        fmt_duration(left)
                    );
                    if let Err(e) = console::err(&line) {
                        self.failed = Some(e);
                        return false;
                    }
                    let step = (self.max_iter / 10).max(1);
                    if let Some(state) = self.active.get_mut(&r) {
                        state.1 = (p.iteration / step).saturating_add(1).saturating_mul(step);
                    }
                }
            }
        }
        true
    }

    pub(crate) fn finish(&self) {
        if let Mode::Bar(bar) = &self.mode {
            bar.finish_and_clear();
        }
    }

    /// The failure to write to standard error, if any.
    pub(crate) fn take_failure(&mut self) -> Option<CliError> {
        self.failed.take()
    }
}

fn fmt_duration(secs: f64) -> String {
    if !secs.is_finite() {
        "?".into()
    } else if secs < 60.0 {
        format!("{secs:.1} s")
    } else {
        let s = secs.round() as u64;
        format!("{}m{:02}s", s / 60, s % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_sums_the_restarts() {
        let p = |restart, iteration| Progress {
            iteration,
            max_iter: 10,
            loss: None,
            restart,
            n_init: 4,
        };
        // One after another: earlier restarts are over (even when they converged early).
        let mut r = Reporter::new(Verbosity::Quiet, 10, 4, 0);
        r.update(&p(0, 4));
        assert_eq!(r.done(), 4);
        r.update(&p(1, 3));
        assert_eq!(r.done(), 10 + 3);
        // Two at a time: restart 2 begins when restart 0 is over.
        let mut r = Reporter::new(Verbosity::Quiet, 10, 4, 2);
        r.update(&p(0, 5));
        r.update(&p(1, 3));
        assert_eq!(r.done(), 5 + 3);
        r.update(&p(2, 1));
        assert_eq!(r.done(), 10 + 3 + 1);
        r.update(&p(1, 10));
        r.update(&p(3, 2));
        assert_eq!(r.done(), 10 + 10 + 1 + 2);
        // One thread may run ahead: restarts 1 and 3 (thread 1) before restart 0 (thread 0)
        // reports; restart 0 is still running, and only restart 1 is over.
        let mut r = Reporter::new(Verbosity::Quiet, 10, 4, 2);
        r.update(&p(1, 10));
        r.update(&p(3, 4));
        assert_eq!(r.done(), 10 + 4);
        r.update(&p(0, 6));
        assert_eq!(r.done(), 10 + 4 + 6);
        r.update(&p(2, 1));
        assert_eq!(r.done(), 10 + 10 + 4 + 1);
    }

    #[test]
    fn durations() {
        assert_eq!(fmt_duration(1.34), "1.3 s");
        assert_eq!(fmt_duration(125.0), "2m05s");
        assert_eq!(fmt_duration(f64::INFINITY), "?");
    }
}
