//! Summarizing one document: a single call when the article fits the prompt
//! budget, otherwise map (summarize each chunk) and reduce (merge the
//! partial summaries, recursively if they are still too long).

use crate::stop::StopToken;
use serde::Serialize;

use super::candidates::CandidateOptions;
use super::chunk::{prefix_within, split_to_budget};
use super::clean::{clean_summary, enforce_word_limit, is_past_word_bound};
use super::glossary::Glossary;
use super::guard::{guarded, source_with_glossary, GuardHints, GuardOptions, GuardReport};
use super::language::output_language;
use super::numbers::english_numbers;
use super::prompt::{self, PromptStyle};
use super::title::english_title;
use super::{TaskOutput, TaskStats};
use crate::generate::{generate_candidates, EnoughCheck, GenerateOptions, Sampling, StopReason};
use crate::input::Document;
use crate::model::{ChatPrompt, KvCache, Message, Model, ModelError};

/// Everything that shapes a summary.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct SummaryOptions {
    /// Upper bound on the summary's length in words.
    pub max_words: usize,
    /// Token budget of one model call (prompt plus answer).
    pub context: usize,
    /// Token choice.
    pub sampling: Sampling,
    /// Faithfulness guard settings.
    pub guard: GuardOptions,
    /// Answers decoded together for the final call, chosen among by the
    /// guard and by consensus (with the guard on, from its second round: see
    /// [`super::guard::round_size`]).
    pub candidates: CandidateOptions,
    /// Wording of the whole-article prompt.
    pub style: PromptStyle,
}

/// Fewest words a partial (per-chunk) summary may use.
const MIN_PARTIAL_WORDS: usize = 80;
/// Prompt tokens kept free for the guard's list of the article's names.
const NAMES_HINT_RESERVE: usize = 160;
/// Fewest prompt tokens left for article text before kurz gives up.
const MIN_TEXT_BUDGET: usize = 64;
/// Most tokens of a title quoted in a prompt (every part and merge prompt
/// of a long article repeats it); a longer title is cut and ends in "…".
pub const MAX_TITLE_TOKENS: usize = 128;

/// Token budget for an answer of at most `words` English words: about 1.3
/// tokens per word plus slack, so the model can finish its last sentence
/// before kurz trims.
pub fn answer_token_budget(words: usize) -> usize {
    words * 2 + 24
}

/// The prompt that summarizes `doc` whole in one call (the first attempt;
/// no names hint), as `summarize` sends it.
pub fn whole_article_prompt(
    model: &Model,
    doc: &Document,
    style: PromptStyle,
    max_words: usize,
) -> Result<ChatPrompt, ModelError> {
    let title = prompt_title(model, doc.title.as_deref())?;
    let messages = prompt::summary(style, title.as_deref(), &doc.text, max_words, &[]);
    model.chat_prompt(&messages)
}

/// `title` as prompts quote it: at most [`MAX_TITLE_TOKENS`] tokens.
pub fn prompt_title(model: &Model, title: Option<&str>) -> Result<Option<String>, ModelError> {
    let Some(title) = title else { return Ok(None) };
    let tokenizer = model.tokenizer();
    let count = |t: &str| tokenizer.count(t);
    if count(title)? <= MAX_TITLE_TOKENS {
        return Ok(Some(title.to_string()));
    }
    let cut = prefix_within(title, MAX_TITLE_TOKENS - 1, &count)?;
    Ok(Some(format!("{}…", cut.trim_end())))
}

/// Summarizes `doc` into English within `options.max_words` words; with
/// the guard on, checks the summary's names and numbers against the article
/// and regenerates the final step when some are not in it. (A long
/// article's parts are summarized once; only the merge is redone.) The
/// summary's numbers are then put in English conventions
/// ([`super::numbers`]) and a titled document's title is translated
/// ([`super::title`]).
///
/// The article and title are never markup for the model (see
/// [`Model::chat_tokens`]). Stops with [`ModelError::Aborted`] once `stop`
/// says so: it is checked before every model call and every model pass.
pub fn summarize(
    model: &Model,
    cache: &mut KvCache,
    doc: &Document,
    options: &SummaryOptions,
    stop: &StopToken,
) -> Result<TaskOutput, ModelError> {
    summarize_with(model, cache, doc, options, &Glossary::default(), stop)
}

/// [`summarize`] with glossary entries (see [`super::glossary`]): `terms`,
/// those of the glossary occurring in the document, are listed after the
/// instructions of every prompt, and the guard counts their English sides
/// as supported. No entries: exactly [`summarize`].
pub fn summarize_with(
    model: &Model,
    cache: &mut KvCache,
    doc: &Document,
    options: &SummaryOptions,
    terms: &Glossary,
    stop: &StopToken,
) -> Result<TaskOutput, ModelError> {
    stop.check()?;
    let article = &doc.text;
    let title = prompt_title(model, doc.title.as_deref())?;
    let title = title.as_deref();
    let no_hints = GuardHints::default();
    let mut prepare = Summarizer::new(model, cache, options, &no_hints, title, stop);
    prepare.terms = terms;
    let material = prepare.material(article)?;
    let prepare_stats = prepare.stats;
    let prepare_warnings = prepare.warnings;
    let finish = |hints: &GuardHints, count: usize| {
        let mut run = Summarizer::new(model, cache, options, hints, title, stop);
        run.terms = terms;
        let candidates = CandidateOptions {
            count,
            ..options.candidates
        };
        let texts = run.finish(&material, candidates)?;
        // The round's statistics go with its first candidate.
        let mut stats = Some(run.stats);
        Ok(texts
            .into_iter()
            .map(|text| TaskOutput {
                text,
                stats: stats.take().unwrap_or_default(),
                warnings: Vec::new(),
                guard: None,
                title: None,
                numbers_rewritten: 0,
            })
            .collect())
    };
    let source = match title {
        Some(title) => format!("{title}\n\n{article}"),
        None => article.clone(),
    };
    let source = source_with_glossary(source, terms);
    let (mut output, report) = guarded(
        &source,
        model.tokenizer(),
        &options.guard,
        options.candidates.count,
        finish,
    )?;
    output.warnings.extend(prepare_warnings);
    if report.output_language != "en" {
        output.warnings.push(format!(
            "the summary is not in English ({}) after {} attempts",
            report.output_language, report.attempts
        ));
    }
    let mut report = report;
    english_numbers_in(&mut output, &mut report, &source);
    output.guard = Some(report);
    output.stats.merge(&prepare_stats);
    if let Some(german) = doc.title.as_deref() {
        let (title, stats) = english_title(model, cache, german, stop)?;
        output.warnings.extend(title.warning());
        output.stats.merge(&stats);
        output.title = Some(title);
    }
    Ok(output)
}

/// Puts the numbers of the kept summary, and of the candidates the guard
/// reports, in English conventions (see [`super::numbers`]); `source` is
/// the German title and article.
fn english_numbers_in(output: &mut TaskOutput, report: &mut GuardReport, source: &str) {
    let numbers = english_numbers(&output.text, source);
    output.text = numbers.text;
    output.numbers_rewritten = numbers.count;
    for candidate in &mut report.candidates {
        candidate.text = english_numbers(&candidate.text, source).text;
    }
}

/// What the final model call works from.
enum Material {
    /// The whole article fits one prompt.
    Whole(String),
    /// Summaries of the parts of a long article.
    Parts(Vec<String>),
}

struct Summarizer<'a> {
    model: &'a Model,
    cache: &'a mut KvCache,
    options: &'a SummaryOptions,
    hints: &'a GuardHints,
    stats: TaskStats,
    warnings: Vec<String>,
    title: Option<&'a str>,
    stop: &'a StopToken,
    /// Glossary entries listed in every prompt (none: no list).
    terms: &'a Glossary,
}

/// No glossary entries.
static NO_TERMS: std::sync::LazyLock<Glossary> = std::sync::LazyLock::new(Glossary::default);

impl<'a> Summarizer<'a> {
    fn new(
        model: &'a Model,
        cache: &'a mut KvCache,
        options: &'a SummaryOptions,
        hints: &'a GuardHints,
        title: Option<&'a str>,
        stop: &'a StopToken,
    ) -> Self {
        Self {
            model,
            cache,
            options,
            hints,
            stats: TaskStats::default(),
            warnings: Vec::new(),
            title,
            stop,
            terms: &NO_TERMS,
        }
    }
}

impl Summarizer<'_> {
    /// The article itself when it fits one prompt (leaving room for the
    /// guard's list of names), otherwise the summaries of its parts.
    fn material(&mut self, article: &str) -> Result<Material, ModelError> {
        let max_words = self.options.max_words;
        let probe = prompt::summary(self.options.style, self.title, "", max_words, &[]);
        let budget = self
            .text_budget(&probe, max_words)?
            .saturating_sub(NAMES_HINT_RESERVE);
        if self.count(article)? <= budget {
            return Ok(Material::Whole(article.to_string()));
        }
        self.map_chunks(article).map(Material::Parts)
    }

    /// The final call: summarize the whole article, or merge the parts;
    /// one text per candidate.
    fn finish(
        &mut self,
        material: &Material,
        candidates: CandidateOptions,
    ) -> Result<Vec<String>, ModelError> {
        let max_words = self.options.max_words;
        match material {
            Material::Whole(article) => {
                let messages = prompt::summary(
                    self.options.style,
                    self.title,
                    article,
                    max_words,
                    &self.hints.source_names,
                );
                self.ask_candidates(messages, max_words, candidates)
            }
            Material::Parts(parts) => self.reduce(parts.clone(), candidates),
        }
    }

    /// Summarizes each chunk of a long article.
    fn map_chunks(&mut self, article: &str) -> Result<Vec<String>, ModelError> {
        let words = self.partial_words();
        let probe = prompt::chunk_summary(self.title, "", 99, 99, words);
        let budget = self.text_budget(&probe, words)?;
        let chunks = self.split(article, budget)?;
        self.stats.chunks += chunks.len();
        let total = chunks.len();
        chunks
            .iter()
            .enumerate()
            .map(|(i, chunk)| {
                self.ask_english(
                    prompt::chunk_summary(self.title, chunk, i + 1, total, words),
                    words,
                    &format!("part {}", i + 1),
                )
            })
            .collect()
    }

    /// Merges partial summaries into one (one text per candidate); when
    /// they do not fit one prompt, merges them group by group first.
    fn reduce(
        &mut self,
        mut partials: Vec<String>,
        candidates: CandidateOptions,
    ) -> Result<Vec<String>, ModelError> {
        let max_words = self.options.max_words;
        loop {
            let messages =
                prompt::merge_summaries(self.title, &partials, max_words, &self.hints.source_names);
            let prompt_tokens = self.model.chat_tokens(&self.with_terms(&messages))?.len();
            if prompt_tokens + answer_token_budget(max_words) <= self.options.context
                || partials.len() <= 1
            {
                return self.ask_candidates(messages, max_words, candidates);
            }
            let words = self.partial_words();
            let joined = partials.join("\n\n");
            let probe = prompt::merge_summaries(self.title, &[String::new()], words, &[]);
            let budget = self.text_budget(&probe, words)?;
            let groups = self.split(&joined, budget)?;
            if groups.len() >= partials.len() {
                // No progress possible: merge what fits into the final prompt.
                return self.ask_candidates(messages, max_words, candidates);
            }
            partials = groups
                .iter()
                .enumerate()
                .map(|(i, g)| {
                    let parts: Vec<String> = g.split("\n\n").map(str::to_string).collect();
                    self.ask_english(
                        prompt::merge_summaries(self.title, &parts, words, &[]),
                        words,
                        &format!("merged group {}", i + 1),
                    )
                })
                .collect::<Result<_, _>>()?;
        }
    }

    fn partial_words(&self) -> usize {
        self.options.max_words.max(MIN_PARTIAL_WORDS)
    }

    /// `messages` with the glossary entries after the instructions.
    fn with_terms(&self, messages: &[Message]) -> Vec<Message> {
        let mut messages = messages.to_vec();
        prompt::add_glossary(&mut messages, self.terms.entries());
        messages
    }

    /// Tokens left for text in a prompt shaped like `empty_prompt` (with
    /// the glossary entries).
    fn text_budget(&self, empty_prompt: &[Message], words: usize) -> Result<usize, ModelError> {
        let overhead = self
            .model
            .chat_tokens(&self.with_terms(empty_prompt))?
            .len();
        let budget = self
            .options
            .context
            .saturating_sub(overhead + answer_token_budget(words));
        if budget < MIN_TEXT_BUDGET {
            return Err(ModelError::Inference(candle_core::Error::Msg(format!(
                "--context {} leaves only {budget} tokens for text; use a larger --context or a smaller --max-words",
                self.options.context
            ))));
        }
        Ok(budget)
    }

    fn count(&self, text: &str) -> Result<usize, ModelError> {
        self.model.tokenizer().count(text)
    }

    fn split(&self, text: &str, budget: usize) -> Result<Vec<String>, ModelError> {
        let tokenizer = self.model.tokenizer();
        split_to_budget(text, budget, &|t: &str| tokenizer.count(t))
    }

    /// One model call for an intermediate text (a part's or a group's
    /// summary): the greedy answer, asked again with a reminder when it is
    /// not English; a warning names `label` when it still is not.
    fn ask_english(
        &mut self,
        mut messages: Vec<Message>,
        max_words: usize,
        label: &str,
    ) -> Result<String, ModelError> {
        let single = CandidateOptions::single();
        let mut answer = self.ask_candidates(messages.clone(), max_words, single)?;
        let mut text = answer.pop().unwrap_or_default();
        if output_language(&text).is_some() {
            prompt::remind_english(&mut messages);
            answer = self.ask_candidates(messages, max_words, single)?;
            text = answer.pop().unwrap_or_default();
            if let Some(code) = output_language(&text) {
                self.warnings
                    .push(format!("{label}: the summary is not in English ({code})"));
            }
        }
        Ok(text)
    }

    /// One model call with `candidates` answers decoded together: generate,
    /// clean, bound the length.
    fn ask_candidates(
        &mut self,
        mut messages: Vec<Message>,
        max_words: usize,
        candidates: CandidateOptions,
    ) -> Result<Vec<String>, ModelError> {
        self.stop.check()?;
        prompt::add_glossary(&mut messages, self.terms.entries());
        if self.hints.remind_english {
            prompt::remind_english(&mut messages);
        }
        let prompt = self.model.chat_prompt(&messages)?;
        let mut sampling = self.options.sampling;
        sampling.seed = sampling.seed.wrapping_add(self.stats.calls as u64);
        let options = GenerateOptions {
            max_new_tokens: answer_token_budget(max_words),
            sampling,
            suppressed_tokens: Vec::new(),
            banned_sequences: self.hints.banned_sequences.clone(),
            // Words past the bound would be trimmed away: stop generating.
            enough: Some(EnoughCheck::new(move |text| {
                is_past_word_bound(text, max_words)
            })),
            shared_prefix: prompt.shared_prefix,
            stop: self.stop.clone(),
        };
        let samplings = candidates.samplings(sampling);
        let generations =
            generate_candidates(self.model, self.cache, &prompt.tokens, &options, &samplings)?;
        self.stats.add_group(&generations);
        Ok(generations
            .iter()
            .map(|g| {
                let cleaned = clean_summary(&g.text);
                let incomplete = g.stop != StopReason::EndOfTurn;
                enforce_word_limit(&cleaned, max_words, incomplete)
            })
            .collect())
    }
}
