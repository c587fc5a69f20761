//! The subcommands, one module each, and their shared way of printing to
//! stdout.

use std::fmt;
use std::io::{self, Write};
use std::path::Path;

use anyhow::Context;
use kurz::model::{CpuKernels, DeviceChoice, KernelsError, Model, KERNELS_VAR};

pub mod bench;
pub mod eval;
pub mod merge;
pub mod models;
pub mod report;
pub mod run;
pub mod slurm;

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

/// Loads the model at `path` on `device` (`--device`), its CPU kernels on
/// the path `KURZ_KERNELS` asks for (the best this CPU runs when unset or
/// `auto`). A device or kernel path that cannot be used is an error of its
/// own, saying why; `context` describes any other failure to load. When
/// `auto` settles for the CPU in a GPU build, one line on stderr says why.
pub fn load_model(
    path: &Path,
    device: DeviceChoice,
    context: impl FnOnce() -> String,
) -> anyhow::Result<Model> {
    let cpu = kernels_from_env()?;
    let opened = device.open()?;
    if let Some(note) = &opened.note {
        eprintln!("kurz: {note}");
    }
    Model::load_with_kernels(path, &opened.device, cpu).with_context(context)
}

/// The kernel path `KURZ_KERNELS` asks for (a value that is not UTF-8 is
/// an unknown one).
fn kernels_from_env() -> Result<CpuKernels, KernelsError> {
    let value = std::env::var_os(KERNELS_VAR).map(|v| v.to_string_lossy().into_owned());
    CpuKernels::from_setting(value.as_deref())
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
