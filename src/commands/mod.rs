//! The subcommands, one module each.

pub mod bench;
pub mod eval;
pub mod models;
pub mod run;

/// Exit status when some inputs failed but the batch ran.
pub const EXIT_SOME_FAILED: u8 = 2;
