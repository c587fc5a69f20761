//! The `kurz` command-line tool.

mod cli;
mod commands;

use std::any::Any;
use std::io;
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use anyhow::Result;
use clap::Parser;

use cli::{Cli, Command};
use kurz::batch::available_cores;
use kurz::progress::{escape_keeping_newlines, print_stderr};
use kurz::stop::Interrupt;

fn main() -> ExitCode {
    tune_malloc();
    install_panic_hook();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return usage_exit(&e),
    };
    let threads = match &cli.command {
        Command::Bench(args) => args.threads,
        _ => None,
    };
    set_tensor_threads(threads);
    shorten_candle_spinning();
    match run(cli) {
        Ok(code) => code,
        Err(e) if commands::is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            print_stderr(&format!(
                "kurz: error: {}",
                escape_keeping_newlines(&format!("{e:#}"))
            ));
            ExitCode::FAILURE
        }
    }
}

/// Prints clap's message for an invalid command line (exit status 1: 2
/// means "some inputs failed") or for --help / --version (exit status 0).
fn usage_exit(error: &clap::Error) -> ExitCode {
    // A closed stdout (`kurz --help | head -1`) is not worth a message.
    let _ = error.print();
    if error.use_stderr() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// Replaces Rust's panic report (thread name, location, "note: run with
/// RUST_BACKTRACE=1") with one line, `kurz: internal error: <message>`.
/// When the user set RUST_BACKTRACE (to anything but 0), the standard
/// report with its backtrace is kept. A `println!` elsewhere that failed
/// because stdout's reader went away ends the process quietly with exit
/// status 0, as a broken pipe does everywhere else.
fn install_panic_hook() {
    let standard = std::panic::take_hook();
    let user_wants_backtrace = std::env::var_os("RUST_BACKTRACE").is_some_and(|v| v != "0");
    std::panic::set_hook(Box::new(move |info| {
        let message = panic_message(info.payload());
        if is_stdout_broken_pipe_panic(message) {
            std::process::exit(0);
        }
        if user_wants_backtrace {
            standard(info);
        } else {
            print_stderr(&format!(
                "kurz: internal error: {}",
                kurz::progress::escape_for_terminal(message)
            ));
        }
    }));
}

/// The text a panic was raised with.
fn panic_message(payload: &(dyn Any + Send)) -> &str {
    if let Some(s) = payload.downcast_ref::<&str>() {
        s
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s
    } else {
        "unknown panic"
    }
}

/// Whether a panic is `println!`'s "failed printing to stdout: Broken pipe".
fn is_stdout_broken_pipe_panic(message: &str) -> bool {
    // The OS's text for EPIPE, as `std::io::Error` shows it.
    message.starts_with("failed printing to stdout") && message.contains("Broken pipe")
}

/// Makes SIGINT and SIGTERM raise `interrupt` (the batch then finishes the
/// manifest line being written and stops); a second such signal ends the
/// process at once with status 128 + the signal (130 / 143).
fn watch_signals(interrupt: &Interrupt) -> io::Result<()> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let second = Arc::new(AtomicBool::new(false));
    for signal in [SIGINT, SIGTERM] {
        // Handlers run in the order they were registered: the shutdown
        // sees `second` as it was before this signal.
        signal_hook::flag::register_conditional_shutdown(
            signal,
            128 + signal,
            Arc::clone(&second),
        )?;
        signal_hook::flag::register(signal, Arc::clone(&second))?;
        signal_hook::flag::register_usize(signal, interrupt.flag(), signal as usize)?;
    }
    Ok(())
}

/// An interrupt flag watching SIGINT and SIGTERM, for the commands that
/// stop cleanly on it. The others keep the default: a signal ends them.
fn interrupt() -> Interrupt {
    let interrupt = Interrupt::new();
    if let Err(e) = watch_signals(&interrupt) {
        print_stderr(&format!(
            "kurz: warning: cannot watch for Ctrl-C ({e}); it will end kurz at once"
        ));
    }
    interrupt
}

/// glibc gives threads that allocate at the same time malloc arenas of
/// their own, and each arena keeps the memory freed into it. kurz's workers
/// and kernel threads allocate large, short-lived activation buffers, so
/// every extra arena ends up holding tens of MB: with `--jobs 2` on
/// qwen2.5-coder-1.5b, one arena cut peak memory from 1.23x to 1.18x the
/// model file. Large buffers stay in that arena (no mmap/munmap and fresh
/// page faults for each one, which the dynamic threshold would otherwise
/// cause), and freed memory is kept for reuse rather than trimmed and
/// faulted in again. Allocator settings the user gives (`MALLOC_ARENA_MAX`
/// and friends) win.
fn tune_malloc() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        const MIB: libc::c_int = 1 << 20;
        let settings = [
            ("MALLOC_ARENA_MAX", libc::M_ARENA_MAX, 1),
            ("MALLOC_MMAP_THRESHOLD_", libc::M_MMAP_THRESHOLD, 256 * MIB),
            ("MALLOC_TRIM_THRESHOLD_", libc::M_TRIM_THRESHOLD, 512 * MIB),
        ];
        for (variable, param, value) in settings {
            if std::env::var_os(variable).is_none() {
                // SAFETY: called first thing in `main`, before any other
                // thread exists; mallopt only tunes the allocator.
                unsafe {
                    libc::mallopt(param, value);
                }
            }
        }
    }
}

/// Candle sizes its matrix-product thread pool from the number of *physical*
/// cores, which virtual machines often under-report (2 vCPUs → 1 thread).
/// With `requested` (`kurz bench --threads N`) use N threads, for Candle's
/// products and Rayon's global pool alike; otherwise, unless the user chose
/// (CANDLE_NUM_THREADS / RAYON_NUM_THREADS), use every logical core the
/// process may run on; in a Slurm task, `SLURM_CPUS_PER_TASK` threads.
/// [`kurz::model::tensor_threads`] reads the result.
fn set_tensor_threads(requested: Option<u64>) {
    // Called before any other thread exists, so changing the environment is sound.
    // A Slurm task uses the CPUs it was given (sbatch --cpus-per-task).
    let requested = requested.or_else(slurm_cpus_per_task);
    if let Some(n) = requested {
        std::env::set_var("CANDLE_NUM_THREADS", n.to_string());
        std::env::set_var("RAYON_NUM_THREADS", n.to_string());
        return;
    }
    if std::env::var_os("CANDLE_NUM_THREADS").is_none()
        && std::env::var_os("RAYON_NUM_THREADS").is_none()
    {
        std::env::set_var("CANDLE_NUM_THREADS", available_cores().to_string());
    }
}

/// `SLURM_CPUS_PER_TASK` when it is a number from 1 to 1024 (Slurm sets it
/// for a task given --cpus-per-task); a value the user set for Candle or
/// Rayon wins, and any other value is ignored with a warning.
fn slurm_cpus_per_task() -> Option<u64> {
    if std::env::var_os("CANDLE_NUM_THREADS").is_some()
        || std::env::var_os("RAYON_NUM_THREADS").is_some()
    {
        return None;
    }
    let value = std::env::var_os("SLURM_CPUS_PER_TASK")?;
    let text = value.to_string_lossy();
    match text.trim().parse::<u64>() {
        Ok(n) if (1..=1024).contains(&n) => Some(n),
        _ => {
            print_stderr(&format!(
                "kurz: warning: ignoring SLURM_CPUS_PER_TASK={:?} (not a number from 1 to 1024)",
                text.chars().take(40).collect::<String>()
            ));
            None
        }
    }
}

/// Candle runs large elementwise operations (prompt processing) on a pool
/// of its own whose threads then spin for a while, waiting for more. Here
/// they would spin on the cores kurz's matrix kernels need next, so they
/// park almost at once. Measured on 2 cores, prompt of 916 tokens: 103–108
/// tokens/s with Candle's default spin of 25,000 against 110–111 with 50.
/// A value the user sets (`CANDLE_BARRIER_POOL_SPIN_LIMIT`) wins.
fn shorten_candle_spinning() {
    const VARIABLE: &str = "CANDLE_BARRIER_POOL_SPIN_LIMIT";
    if std::env::var_os(VARIABLE).is_none() {
        // Called before any other thread exists, so changing the environment is sound.
        std::env::set_var(VARIABLE, "50");
    }
}

fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Summarize(args) => commands::run::summarize(args, &interrupt()),
        Command::Translate(args) => commands::run::translate(args, &interrupt()),
        Command::Models(cmd) => commands::models::models(cmd),
        Command::Eval(cmd) => commands::eval::eval(cmd),
        Command::Bench(args) => commands::bench::bench(args),
        Command::Merge(args) => commands::merge::merge(&args.output),
        Command::Status(args) => commands::merge::status(&args.output),
        Command::Slurm(cmd) => commands::slurm::slurm(cmd),
        Command::Report(args) => commands::report::report(args),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_println_broken_pipe_panics_only() {
        let broken = "failed printing to stdout: Broken pipe (os error 32)";
        assert!(is_stdout_broken_pipe_panic(broken), "{broken}");
        assert!(!is_stdout_broken_pipe_panic(
            "failed printing to stdout: No space left on device (os error 28)"
        ));
        assert!(!is_stdout_broken_pipe_panic(
            "index out of bounds: Broken pipe"
        ));
    }

    #[test]
    fn panic_messages_are_read_from_both_payload_kinds() {
        let text: Box<dyn Any + Send> = Box::new("static text");
        assert_eq!(panic_message(text.as_ref()), "static text");
        let owned: Box<dyn Any + Send> = Box::new(String::from("formatted 7"));
        assert_eq!(panic_message(owned.as_ref()), "formatted 7");
        let other: Box<dyn Any + Send> = Box::new(7u8);
        assert_eq!(panic_message(other.as_ref()), "unknown panic");
    }
}
