//! The `kurz` command-line tool.

mod cli;
mod commands;

use std::process::ExitCode;

use anyhow::Result;
use clap::Parser;

use cli::{Cli, Command};
use kurz::batch::available_cores;

fn main() -> ExitCode {
    let cli = Cli::parse();
    use_all_cores_for_tensor_ops();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("kurz: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Candle sizes its matrix-product thread pool from the number of *physical*
/// cores, which virtual machines often under-report (2 vCPUs → 1 thread).
/// Unless the user chose (CANDLE_NUM_THREADS / RAYON_NUM_THREADS), use every
/// logical core the process may run on.
fn use_all_cores_for_tensor_ops() {
    if std::env::var_os("CANDLE_NUM_THREADS").is_none()
        && std::env::var_os("RAYON_NUM_THREADS").is_none()
    {
        // Called before any other thread exists, so changing the environment is sound.
        std::env::set_var("CANDLE_NUM_THREADS", available_cores().to_string());
    }
}

fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Summarize(args) => commands::run::summarize(args),
        Command::Translate(args) => commands::run::translate(args),
        Command::Models(cmd) => commands::models::models(cmd),
        Command::Eval(cmd) => commands::eval::eval(cmd),
    }
}
