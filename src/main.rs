//! The `kurz` command-line tool.

mod cli;
mod commands;

use std::process::ExitCode;

use anyhow::Result;
use clap::Parser;

use cli::{Cli, Command};
use kurz::batch::available_cores;

fn main() -> ExitCode {
    limit_malloc_arenas();
    let cli = Cli::parse();
    let threads = match &cli.command {
        Command::Bench(args) => args.threads,
        _ => None,
    };
    set_tensor_threads(threads);
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
/// every extra arena ends up holding tens of MB: with `--jobs 2`, one arena
/// instead of several cut peak memory by about 70 MB (6% of the model file)
/// on qwen2.5-coder-1.5b. A `MALLOC_ARENA_MAX` set by the user wins.
fn limit_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        // SAFETY: called first thing in `main`, before any other thread
        // exists; mallopt only tunes the allocator.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, 1);
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

fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Summarize(args) => commands::run::summarize(args),
        Command::Translate(args) => commands::run::translate(args),
        Command::Models(cmd) => commands::models::models(cmd),
        Command::Eval(cmd) => commands::eval::eval(cmd),
        Command::Bench(args) => commands::bench::bench(args),
    }
}
