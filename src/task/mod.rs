//! What kurz asks of the model for one document — prompts, chunking of long
//! texts, cleaning of the answers — independent of files and batches.

pub mod candidates;
pub mod chunk;
pub mod clean;
pub mod glossary;
pub mod guard;
pub mod language;
pub mod numbers;
pub mod prompt;
pub mod summarize;
pub mod title;
pub mod translate;

use crate::generate::Generation;

pub use glossary::{Glossary, GlossaryEntry, GlossaryError};
pub use summarize::{summarize, summarize_with, SummaryOptions};
pub use translate::{translate, translate_with, TranslateOptions, TranslateOutput};

/// Token counts and timings added up over all model calls for one document.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TaskStats {
    /// Model calls made.
    pub calls: usize,
    /// Chunks a long input was split into (0 when it fit in one prompt).
    pub chunks: usize,
    /// Prompt tokens over all calls.
    pub prompt_tokens: u64,
    /// Of those, the tokens of shared prompt openings whose keys and values
    /// were copied rather than computed again.
    pub reused_prompt_tokens: u64,
    /// Generated tokens over all calls.
    pub generated_tokens: u64,
    /// Seconds spent on prompt processing.
    pub prefill_seconds: f64,
    /// Seconds spent generating.
    pub decode_seconds: f64,
}

impl TaskStats {
    /// Adds the counts and timings of another run of the task.
    pub fn merge(&mut self, other: &TaskStats) {
        self.calls += other.calls;
        self.chunks = self.chunks.max(other.chunks);
        self.prompt_tokens += other.prompt_tokens;
        self.reused_prompt_tokens += other.reused_prompt_tokens;
        self.generated_tokens += other.generated_tokens;
        self.prefill_seconds += other.prefill_seconds;
        self.decode_seconds += other.decode_seconds;
    }

    /// Adds the counts and timings of one call's candidates (generated
    /// together: one call, its prompt counted once).
    pub fn add_group(&mut self, generations: &[Generation]) {
        let Some(first) = generations.first() else {
            return;
        };
        self.add(first);
        for g in &generations[1..] {
            self.generated_tokens += g.tokens.len() as u64;
            self.prefill_seconds += g.prefill_seconds;
            self.decode_seconds += g.decode_seconds;
        }
    }

    /// Adds one generation's counts and timings.
    pub fn add(&mut self, g: &Generation) {
        self.calls += 1;
        self.prompt_tokens += g.prompt_tokens as u64;
        self.reused_prompt_tokens += g.reused_prompt_tokens as u64;
        self.generated_tokens += g.tokens.len() as u64;
        self.prefill_seconds += g.prefill_seconds;
        self.decode_seconds += g.decode_seconds;
    }
}

/// The result of a task on one document.
#[derive(Debug, Clone)]
pub struct TaskOutput {
    /// The English text to write.
    pub text: String,
    /// Counts and timings.
    pub stats: TaskStats,
    /// Non-fatal problems to record in the manifest.
    pub warnings: Vec<String>,
    /// What the faithfulness guard did, when it ran.
    pub guard: Option<guard::GuardReport>,
    /// The document's title, when it has one: English, or the German
    /// original when no acceptable translation came back (see
    /// [`title`]).
    pub title: Option<title::EnglishTitle>,
    /// Numbers of `text` rewritten to English conventions (see
    /// [`numbers`]).
    pub numbers_rewritten: usize,
}
