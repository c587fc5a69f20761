//! Stopping work early: a user's interrupt (Ctrl-C, SIGTERM) and the time
//! limit of one input (`--timeout-per-file`).
//!
//! The batch runner gives each input a [`StopToken`]; generation checks it
//! between prompt chunks and decode steps, so an input stops within one
//! model pass of the signal or the deadline.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Why work stopped early.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Abort {
    /// The user interrupted the run (SIGINT or SIGTERM).
    #[error("interrupted")]
    Interrupted,
    /// The input took longer than its time limit.
    #[error("took longer than the {} s limit (--timeout-per-file)", .0.as_secs_f64())]
    TimedOut(Duration),
}

/// Set when the run should stop, holding the number of the signal that
/// asked for it (0 while none did); shared by every worker and the signal
/// handlers (`signal_hook::flag::register_usize` sets it).
#[derive(Debug, Clone, Default)]
pub struct Interrupt(Arc<AtomicUsize>);

impl Interrupt {
    /// A flag that is not set.
    pub fn new() -> Self {
        Self::default()
    }

    /// The shared value, for signal handlers to set to their signal number.
    pub fn flag(&self) -> Arc<AtomicUsize> {
        Arc::clone(&self.0)
    }

    /// Asks every holder to stop, as signal `signal` would.
    pub fn raise(&self, signal: i32) {
        let value = usize::try_from(signal).unwrap_or(0).max(1);
        self.0.store(value, Ordering::SeqCst);
    }

    /// Whether a stop was asked for.
    pub fn is_raised(&self) -> bool {
        self.0.load(Ordering::SeqCst) != 0
    }

    /// The signal that asked for the stop, if one did.
    pub fn signal(&self) -> Option<i32> {
        match self.0.load(Ordering::SeqCst) {
            0 => None,
            n => i32::try_from(n).ok(),
        }
    }

    /// The exit status of a process stopped by this interrupt: 128 plus the
    /// signal number (130 for SIGINT, 143 for SIGTERM), as shells report it.
    pub fn exit_status(&self) -> Option<u8> {
        self.signal().and_then(|s| u8::try_from(128 + s).ok())
    }
}

/// What one piece of work checks to know whether to go on: the run's
/// interrupt and, optionally, a deadline of its own.
#[derive(Debug, Clone, Default)]
pub struct StopToken {
    interrupt: Interrupt,
    deadline: Option<(Instant, Duration)>,
}

impl StopToken {
    /// A token that never stops (tests, evaluation, benchmarks).
    pub fn never() -> Self {
        Self::default()
    }

    /// A token that stops when `interrupt` is raised or, with a `limit`,
    /// once `limit` has passed from now.
    pub fn new(interrupt: &Interrupt, limit: Option<Duration>) -> Self {
        Self {
            interrupt: interrupt.clone(),
            deadline: limit.map(|l| (Instant::now() + l, l)),
        }
    }

    /// `Err` with the reason once the work should stop.
    pub fn check(&self) -> Result<(), Abort> {
        if self.interrupt.is_raised() {
            return Err(Abort::Interrupted);
        }
        match self.deadline {
            Some((at, limit)) if Instant::now() >= at => Err(Abort::TimedOut(limit)),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_stops_until_interrupted() {
        assert_eq!(StopToken::never().check(), Ok(()));
        let interrupt = Interrupt::new();
        let token = StopToken::new(&interrupt, None);
        assert_eq!(token.check(), Ok(()));
        interrupt.raise(2);
        assert_eq!(token.check(), Err(Abort::Interrupted));
        assert_eq!(interrupt.signal(), Some(2));
        assert_eq!(interrupt.exit_status(), Some(130));
    }

    #[test]
    fn deadline_passes() {
        let token = StopToken::new(&Interrupt::new(), Some(Duration::ZERO));
        let err = token.check().unwrap_err();
        assert_eq!(err, Abort::TimedOut(Duration::ZERO));
        let long = StopToken::new(&Interrupt::new(), Some(Duration::from_secs(3600)));
        assert_eq!(long.check(), Ok(()));
        assert_eq!(
            Abort::TimedOut(Duration::from_secs(90)).to_string(),
            "took longer than the 90 s limit (--timeout-per-file)"
        );
    }
}
