//! kurz: offline English summaries and translations of German articles
//! with a local GGUF model run through Candle.
//!
//! The modules follow the pipeline: [`input`] (files → text) →
//! [`model`] (GGUF weights, tokenizer, chat template) → [`generate`]
//! (tokens) → [`task`] (prompts, chunking, cleaning) → [`output`] (files
//! and manifest), with [`batch`] running many inputs in parallel on top and
//! [`registry`] finding, fetching and verifying model files, and
//! [`report`] turning a finished run's manifest into one digest.

pub mod batch;
pub mod claims;
pub mod eval;
pub mod generate;
pub mod input;
pub mod model;
pub mod output;
pub mod progress;
pub mod registry;
pub mod report;
pub mod shard;
pub mod stop;
pub mod sync;
pub mod task;
