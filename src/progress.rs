//! Progress reporting on stderr: an indicatif bar on a terminal, plain log
//! lines otherwise (CI logs, pipes, files).

use std::borrow::Cow;
use std::fmt::Write as _;
use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::output::{ManifestEntry, Status};
use crate::sync::lock;

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

    /// Prints one line, its control characters escaped (file names and
    /// error texts come from untrusted input).
    fn println(&self, line: &str) {
        let line = escape_for_terminal(line);
        match &self.bar {
            Some(bar) => bar.suspend(|| print_stderr(&line)),
            None => print_stderr(&line),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Counters> {
        lock(&self.state)
    }
}

/// Writes `line` and a newline to stderr, ignoring failures: a closed
/// stderr must not stop the batch (`eprintln!` would panic).
pub fn print_stderr(line: &str) {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "{line}");
}

/// `text` with every control character escaped, so that a file name or an
/// error text cannot move the cursor, recolour or clear the terminal, or
/// forge lines: `\t`, `\r` and `\n` for tab, carriage return and newline,
/// `\xHH` for the other ASCII controls (ESC is `\x1b`), `\u{HHHH}` for the
/// C1 controls (such as `\u{9b}`, an 8-bit escape sequence start) and the
/// bidirectional-text controls (which reorder what a name shows). Other
/// characters, backslashes included, stay as they are (as ripgrep prints
/// names). Borrowed when nothing needs escaping.
pub fn escape_for_terminal(text: &str) -> Cow<'_, str> {
    escape_with(text, false)
}

/// [`escape_for_terminal`] that keeps newlines, for multi-line messages
/// (e.g. one line per failed model source) whose parts are untrusted.
pub fn escape_keeping_newlines(text: &str) -> Cow<'_, str> {
    escape_with(text, true)
}

fn escape_with(text: &str, keep_newlines: bool) -> Cow<'_, str> {
    let needs = |c: char| needs_escape(c) && !(keep_newlines && c == '\n');
    if !text.chars().any(needs) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if !needs(c) {
            out.push(c);
            continue;
        }
        match c {
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\n' => out.push_str("\\n"),
            c if c.is_ascii() => {
                let _ = write!(out, "\\x{:02x}", u32::from(c));
            }
            c => {
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
        }
    }
    Cow::Owned(out)
}

/// Characters that must not reach a terminal raw: the C0 and C1 controls,
/// DEL, and the Unicode bidirectional formatting characters.
fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
        )
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
        Status::Error => {
            // The manifest's error names the input already; say it once.
            let error = entry.error.as_deref().unwrap_or("unknown error");
            let prefix = format!("{}: ", entry.input);
            let cause = error.strip_prefix(&prefix).unwrap_or(error);
            format!("{head} error   {}: {cause}", entry.input)
        }
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
        lock(&self.bar)
    }
}

impl crate::registry::PullProgress for TransferProgress {
    fn start(&self, what: &str, total_bytes: Option<u64>) {
        if self.quiet {
            return;
        }
        if !self.terminal {
            print_stderr(&format!("kurz: {}", escape_keeping_newlines(what)));
            return;
        }
        let bar = ProgressBar::with_draw_target(total_bytes, ProgressDrawTarget::stderr());
        let style = ProgressStyle::with_template(
            "{msg} {bar:30} {bytes}/{total_bytes} {bytes_per_sec} ETA {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar());
        bar.set_style(style);
        bar.set_message(escape_for_terminal(what).into_owned());
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
        let line = format!("kurz: {}", escape_keeping_newlines(msg));
        match self.bar().as_ref() {
            Some(bar) => bar.suspend(|| print_stderr(&line)),
            None => print_stderr(&line),
        }
    }

    fn finish(&self) {
        if let Some(bar) = self.bar().take() {
            bar.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_line_names_the_input_once() {
        let line = r#"{"input":"in/deep.html","input_sha256":null,"bytes":null,"language":null,"title":null,"output":null,"summary":null,"model":{"file":"m.gguf","sha256":"00"},"params":{},"prompt_tokens":0,"generated_tokens":0,"seconds":0.0,"prefill_seconds":0.0,"decode_seconds":0.0,"status":"error","error":"in/deep.html: HTML nested too deeply (more than 512 levels)","task":"summarize","finished_at":"2026-12-06T13:16:31Z"}"#;
        let entry: ManifestEntry = serde_json::from_str(line).expect("a manifest line");
        assert_eq!(
            describe(&entry, 1, 2),
            "kurz: [1/2] error   in/deep.html: HTML nested too deeply (more than 512 levels)"
        );
    }

    #[test]
    fn plain_text_is_borrowed() {
        let text = "skipping a/Grüße – “b”.txt: not text \\ ok";
        assert!(matches!(escape_for_terminal(text), Cow::Borrowed(_)));
    }

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(
            escape_for_terminal("evil\x1b[2J\x1b]0;title\x07name.txt"),
            "evil\\x1b[2J\\x1b]0;title\\x07name.txt"
        );
        assert_eq!(escape_for_terminal("a\tb\rc\nd\x7f"), "a\\tb\\rc\\nd\\x7f");
        assert_eq!(escape_for_terminal("csi\u{9b}31m"), "csi\\u{9b}31m");
        assert_eq!(
            escape_for_terminal("invoice\u{202e}fdp.exe"),
            "invoice\\u{202e}fdp.exe"
        );
        assert_eq!(escape_for_terminal("\0"), "\\x00");
    }

    #[test]
    fn multi_line_messages_keep_their_newlines_only() {
        assert_eq!(
            escape_keeping_newlines("failed:\n  - bad\x1b[31m\r\n  - two"),
            "failed:\n  - bad\\x1b[31m\\r\n  - two"
        );
    }

    #[test]
    fn escaped_output_has_no_control_characters() {
        let all: String = (0u32..0x300).filter_map(char::from_u32).collect();
        let escaped = escape_for_terminal(&all);
        assert!(!escaped.chars().any(needs_escape), "{escaped}");
    }
}
