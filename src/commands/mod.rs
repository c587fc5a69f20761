//! The subcommands, one module each, and their shared way of printing to
//! stdout.

use std::fmt;
use std::io::{self, Write};

pub mod bench;
pub mod eval;
pub mod models;
pub mod run;

/// Exit status when some inputs failed but the batch ran.
pub const EXIT_SOME_FAILED: u8 = 2;

/// Writing to stdout failed. A broken pipe (the reader went away, as in
/// `kurz models list | head -1`) ends kurz quietly with exit status 0 (see
/// [`is_broken_pipe`]); any other failure is an error.
#[derive(Debug, thiserror::Error)]
#[error("cannot write to stdout: {0}")]
pub struct StdoutError(#[source] pub io::Error);

/// Writes one line to stdout, flushing it, and returns a write failure as
/// a [`StdoutError`] instead of panicking as `println!` does.
pub fn print_line(args: fmt::Arguments<'_>) -> Result<(), StdoutError> {
    let mut out = io::stdout().lock();
    out.write_fmt(args)
        .and_then(|()| out.write_all(b"\n"))
        .and_then(|()| out.flush())
        .map_err(StdoutError)
}

/// `println!` that returns a [`StdoutError`] instead of panicking; use
/// with `?`.
#[macro_export]
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::commands::print_line(format_args!($($arg)*))
    };
}

/// Whether `error` comes from stdout's reader having gone away: the one
/// failure kurz ends on quietly, with exit status 0, as ripgrep does.
pub fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<StdoutError>()
            .is_some_and(|e| e.0.kind() == io::ErrorKind::BrokenPipe)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use anyhow::Context;

    #[test]
    fn only_a_broken_stdout_pipe_is_quiet() {
        let broken = || StdoutError(io::Error::from(io::ErrorKind::BrokenPipe));
        let wrapped = Err::<(), _>(broken()).context("listing presets");
        assert!(is_broken_pipe(&wrapped.unwrap_err()));
        let full = anyhow::Error::new(StdoutError(io::Error::from(io::ErrorKind::StorageFull)));
        assert!(!is_broken_pipe(&full));
        assert!(full.to_string().starts_with("cannot write to stdout"));
        // A broken pipe elsewhere (a child process, a socket) is an error.
        let other = anyhow::Error::new(io::Error::from(io::ErrorKind::BrokenPipe));
        assert!(!is_broken_pipe(&other));
    }
}
