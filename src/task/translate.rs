//! Full English translation of a document, paragraph by paragraph, so the
//! structure is kept and nothing is silently dropped: every paragraph of
//! the source becomes exactly one paragraph of the output.

use crate::stop::StopToken;
use serde::Serialize;

use super::chunk::{paragraphs, split_to_budget};
use super::clean::clean_translation;
use super::prompt;
use super::{TaskOutput, TaskStats};
use crate::generate::{generate, GenerateOptions, Sampling, StopReason};
use crate::input::Document;
use crate::model::{KvCache, Model, ModelError};

/// Everything that shapes a translation.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct TranslateOptions {
    /// Token budget of one model call (prompt plus answer).
    pub context: usize,
    /// Token choice.
    pub sampling: Sampling,
}

/// English needs at most about this many tokens per German source token
/// (measured on WMT22 German→English with the Qwen2.5 tokenizer: ~0.9 on
/// average; the slack covers outliers).
const OUTPUT_PER_INPUT_TOKEN: f64 = 1.6;
/// Extra answer tokens for very short paragraphs (headlines, datelines).
const OUTPUT_SLACK: usize = 24;

/// Translates `doc` (title and every paragraph) into English.
///
/// The text is never markup for the model (see
/// [`crate::model::Model::chat_tokens`]); a title or paragraph longer than
/// one call's budget is split (between sentences, words, or characters).
/// Stops with [`ModelError::Aborted`] once `stop` says so: it is checked
/// before every model call and every model pass.
pub fn translate(
    model: &Model,
    cache: &mut KvCache,
    doc: &Document,
    options: &TranslateOptions,
    stop: &StopToken,
) -> Result<TranslateOutput, ModelError> {
    stop.check()?;
    let mut run = Translator {
        model,
        cache,
        options,
        stats: TaskStats::default(),
        warnings: Vec::new(),
        budget: 0,
        stop,
    };
    run.budget = run.input_budget()?;
    let title = match &doc.title {
        Some(t) => Some(run.translate_text(t, "title")?),
        None => None,
    };
    let mut translated = Vec::new();
    for (i, paragraph) in paragraphs(&doc.text).enumerate() {
        translated.push(run.translate_text(paragraph, &format!("paragraph {}", i + 1))?);
    }
    Ok(TranslateOutput {
        title,
        output: TaskOutput {
            text: translated.join("\n\n"),
            stats: run.stats,
            warnings: run.warnings,
            guard: None,
        },
    })
}

/// A translated document.
#[derive(Debug, Clone)]
pub struct TranslateOutput {
    /// The translated title, when the document has one.
    pub title: Option<String>,
    /// The translated body and its statistics.
    pub output: TaskOutput,
}

struct Translator<'a> {
    model: &'a Model,
    cache: &'a mut KvCache,
    options: &'a TranslateOptions,
    stats: TaskStats,
    warnings: Vec<String>,
    /// Most source tokens one call takes (the same for every paragraph).
    budget: usize,
    stop: &'a StopToken,
}

impl Translator<'_> {
    /// Translates one paragraph (or the title); one longer than a call's
    /// budget is split at sentence boundaries (words, characters when it
    /// must) and its pieces joined again.
    fn translate_text(&mut self, text: &str, label: &str) -> Result<String, ModelError> {
        let tokenizer = self.model.tokenizer();
        let pieces = split_to_budget(text, self.budget, &|t: &str| tokenizer.count(t))?;
        if pieces.len() > 1 {
            self.stats.chunks += pieces.len();
        }
        let mut out = Vec::with_capacity(pieces.len());
        for piece in &pieces {
            out.push(self.translate_piece(piece, label)?);
        }
        Ok(out.join(" "))
    }

    /// Most source tokens one call can take so that prompt and answer fit.
    fn input_budget(&self) -> Result<usize, ModelError> {
        let overhead = self.model.chat_tokens(&prompt::translation(""))?.len();
        let room = self.options.context.saturating_sub(overhead + OUTPUT_SLACK);
        let budget = (room as f64 / (1.0 + OUTPUT_PER_INPUT_TOKEN)) as usize;
        if budget < 32 {
            return Err(ModelError::Inference(candle_core::Error::Msg(format!(
                "--context {} is too small to translate anything; use at least 512",
                self.options.context
            ))));
        }
        Ok(budget)
    }

    fn translate_piece(&mut self, text: &str, label: &str) -> Result<String, ModelError> {
        self.stop.check()?;
        let source_tokens = self.model.tokenizer().count(text)?;
        let prompt = self.model.chat_prompt(&prompt::translation(text))?;
        let mut sampling = self.options.sampling;
        sampling.seed = sampling.seed.wrapping_add(self.stats.calls as u64);
        let options = GenerateOptions {
            max_new_tokens: (source_tokens as f64 * OUTPUT_PER_INPUT_TOKEN) as usize + OUTPUT_SLACK,
            sampling,
            shared_prefix: prompt.shared_prefix,
            stop: self.stop.clone(),
            ..GenerateOptions::default()
        };
        let generation = generate(self.model, self.cache, &prompt.tokens, &options)?;
        self.stats.add(&generation);
        if generation.stop == StopReason::MaxTokens {
            self.warnings.push(format!(
                "{label}: the translation reached the token limit ({} tokens) and may be truncated",
                options.max_new_tokens
            ));
        }
        Ok(clean_translation(&generation.text))
    }
}
