//! kurz: offline English summaries and translations of German articles
//! with a local GGUF model run through Candle.

pub mod generate;
pub mod model;
pub mod output;
