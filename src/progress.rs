//! Progress reporting on stderr: an indicatif bar on a terminal, plain log
//! lines otherwise (CI logs, pipes, files).

use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::output::{ManifestEntry, Status};

/// How much kurz says while it works.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verbosity {
    /// Only errors and the final tally.
    Quiet,
    /// A bar (terminal) or one line per file (otherwise).
    Normal,
    /// Also per-file details (tokens, timings, warnings).
    Verbose,
}

/// Reports the progress of a batch.
pub struct Progress {
    verbosity: Verbosity,
    bar: Option<ProgressBar>,
    state: Mutex<Counters>,
}

#[derive(Default)]
struct Counters {
    done: usize,
    total: usize,
    generated_tokens: u64,
    decode_seconds: f64,
    started: Option<Instant>,
}

impl Progress {
    /// A reporter that draws a bar when stderr is a terminal and
    /// `verbosity` is not quiet, and writes log lines otherwise.
    pub fn new(verbosity: Verbosity) -> Self {
        let bar = (verbosity != Verbosity::Quiet && std::io::stderr().is_terminal()).then(|| {
            let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
            let style = ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} files  ETA {eta}  {msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar());
            bar.set_style(style);
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        });
        Self {
            verbosity,
            bar,
            state: Mutex::new(Counters::default()),
        }
    }

    /// Announces how many inputs the batch has.
    pub fn start(&self, total: usize) {
        let mut state = self.lock();
        state.total = total;
        state.started = Some(Instant::now());
        if let Some(bar) = &self.bar {
            bar.set_length(total as u64);
        }
    }

    /// Prints a note (e.g. a skipped path) above the bar or as a log line.
    pub fn note(&self, message: &str) {
        if self.verbosity == Verbosity::Quiet {
            return;
        }
        self.println(&format!("kurz: {message}"));
    }

    /// Prints a warning whatever the verbosity.
    pub fn warn(&self, message: &str) {
        self.println(&format!("kurz: warning: {message}"));
    }

    /// Records one finished input.
    pub fn file_done(&self, entry: &ManifestEntry) {
        let (done, total, rate) = {
            let mut state = self.lock();
            state.done += 1;
            state.generated_tokens += entry.generated_tokens;
            state.decode_seconds += entry.decode_seconds;
            let rate = if state.decode_seconds > 0.0 {
                state.generated_tokens as f64 / state.decode_seconds
            } else {
                0.0
            };
            (state.done, state.total, rate)
        };
        if let Some(bar) = &self.bar {
            bar.set_position(done as u64);
            bar.set_message(format!("{rate:.1} tok/s"));
        }
        let line = describe(entry, done, total);
        match (entry.status, self.verbosity, self.bar.is_some()) {
            (Status::Error, _, _) => self.println(&line),
            (_, Verbosity::Quiet, _) => {}
            (_, Verbosity::Verbose, _) | (_, Verbosity::Normal, false) => self.println(&line),
            (_, Verbosity::Normal, true) => {}
        }
        if self.verbosity != Verbosity::Quiet {
            for warning in &entry.warnings {
                self.println(&format!("kurz: warning: {}: {warning}", entry.input));
            }
        }
    }

    /// Removes the bar.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }

    fn println(&self, line: &str) {
        match &self.bar {
            Some(bar) => bar.suspend(|| eprintln!("{line}")),
            None => {
                let mut err = std::io::stderr().lock();
                let _ = writeln!(err, "{line}");
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Counters> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// One log line for a finished input.
fn describe(entry: &ManifestEntry, done: usize, total: usize) -> String {
    let head = format!("kurz: [{done}/{total}]");
    match entry.status {
        Status::Ok => {
            let rate = if entry.decode_seconds > 0.0 {
                entry.generated_tokens as f64 / entry.decode_seconds
            } else {
                0.0
            };
            format!(
                "{head} ok      {} -> {} ({:.1} s, {} prompt + {} generated tokens, {rate:.1} tok/s)",
                entry.input,
                entry.output.as_deref().unwrap_or("?"),
                entry.seconds,
                entry.prompt_tokens,
                entry.generated_tokens,
            )
        }
        Status::Skipped => format!(
            "{head} skipped {} (already done; --force redoes it)",
            entry.input
        ),
        Status::Error => format!(
            "{head} error   {}: {}",
            entry.input,
            entry.error.as_deref().unwrap_or("unknown error")
        ),
    }
}

/// Byte-level progress of model downloads and hashing: a bar on a terminal,
/// a few log lines otherwise.
pub struct TransferProgress {
    bar: Mutex<Option<ProgressBar>>,
    terminal: bool,
    quiet: bool,
}

impl TransferProgress {
    /// A reporter for stderr; `quiet` silences everything but errors.
    pub fn new(quiet: bool) -> Self {
        Self {
            bar: Mutex::new(None),
            terminal: std::io::stderr().is_terminal(),
            quiet,
        }
    }

    fn bar(&self) -> std::sync::MutexGuard<'_, Option<ProgressBar>> {
        self.bar.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl crate::registry::PullProgress for TransferProgress {
    fn start(&self, what: &str, total_bytes: Option<u64>) {
        if self.quiet {
            return;
        }
        if !self.terminal {
            eprintln!("kurz: {what}");
            return;
        }
        let bar = ProgressBar::with_draw_target(total_bytes, ProgressDrawTarget::stderr());
        let style = ProgressStyle::with_template(
            "{msg} {bar:30} {bytes}/{total_bytes} {bytes_per_sec} ETA {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar());
        bar.set_style(style);
        bar.set_message(what.to_string());
        *self.bar() = Some(bar);
    }

    fn advance(&self, bytes: u64) {
        if let Some(bar) = self.bar().as_ref() {
            bar.inc(bytes);
        }
    }

    fn message(&self, msg: &str) {
        if self.quiet {
            return;
        }
        match self.bar().as_ref() {
            Some(bar) => bar.suspend(|| eprintln!("kurz: {msg}")),
            None => eprintln!("kurz: {msg}"),
        }
    }

    fn finish(&self) {
        if let Some(bar) = self.bar().take() {
            bar.finish_and_clear();
        }
    }
}
