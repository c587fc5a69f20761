//! The `kurz` command-line tool.

mod cli;
mod commands;

use std::process::ExitCode;

use anyhow::Result;
use clap::Parser;

use cli::{Cli, Command};
use kurz::batch::available_cores;

fn main() -> ExitCode {
    tune_malloc();
    let cli = Cli::parse();
    let threads = match &cli.command {
        Command::Bench(args) => args.threads,
        _ => None,
    };
    set_tensor_threads(threads);
    shorten_candle_spinning();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("kurz: error: {e:#}");
            ExitCode::FAILURE
        }
    }
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
/// process may run on. [`kurz::model::tensor_threads`] reads the result.
fn set_tensor_threads(requested: Option<u64>) {
    // Called before any other thread exists, so changing the environment is sound.
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
        Command::Summarize(args) => commands::run::summarize(args, &kurz::stop::Interrupt::new()),
        Command::Translate(args) => commands::run::translate(args, &kurz::stop::Interrupt::new()),
        Command::Models(cmd) => commands::models::models(cmd),
        Command::Eval(cmd) => commands::eval::eval(cmd),
        Command::Bench(args) => commands::bench::bench(args),
    }
}
