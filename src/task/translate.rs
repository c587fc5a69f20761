//! Full English translation of a document, paragraph by paragraph, so the
//! structure is kept and nothing is silently dropped: every paragraph of
//! the source becomes exactly one paragraph of the output.

use crate::stop::StopToken;
use serde::Serialize;

use super::candidates::{consensus, pick, Agreement, CandidateOptions};
use super::chunk::{paragraphs, split_to_budget};
use super::clean::{clean_translation, is_paraphrase, quotes_source};
use super::glossary::Glossary;
use super::language::output_language;
use super::numbers::english_numbers;
use super::prompt;
use super::title::english_title;
use super::{TaskOutput, TaskStats};
use crate::generate::{generate_candidates, GenerateOptions, Sampling, StopReason};
use crate::input::Document;
use crate::model::{ChatPrompt, KvCache, Model, ModelError};

/// Everything that shapes a translation.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct TranslateOptions {
    /// Token budget of one model call (prompt plus answer).
    pub context: usize,
    /// Token choice.
    pub sampling: Sampling,
    /// Translations decoded together per paragraph; the one agreeing most
    /// (chrF) with the others among those that pass the checks is kept.
    pub candidates: CandidateOptions,
    /// Show the model the previous paragraph and its translation (when
    /// they are short enough) as context for the next one.
    pub previous_paragraph: bool,
}

/// English needs at most about this many tokens per German source token
/// (measured on WMT22 German→English with the Qwen2.5 tokenizer: ~0.9 on
/// average; the slack covers outliers).
const OUTPUT_PER_INPUT_TOKEN: f64 = 1.6;
/// Extra answer tokens for very short paragraphs (headlines, datelines).
const OUTPUT_SLACK: usize = 24;
/// Longest previous paragraph (and translation), in tokens, shown as
/// context.
const MAX_CONTEXT_TOKENS: usize = 200;

/// Translates `doc` (title and every paragraph) into English.
///
/// The title is translated by the same call as a summary's
/// ([`super::title`]); each paragraph's numbers are put in English
/// conventions ([`super::numbers`], decided against that paragraph).
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
    translate_with(model, cache, doc, options, &Glossary::default(), stop)
}

/// [`translate`] with glossary entries (see [`super::glossary`]): of
/// `terms`, those occurring in a paragraph (or the title) are listed in
/// that paragraph's prompt. No entries: exactly [`translate`].
pub fn translate_with(
    model: &Model,
    cache: &mut KvCache,
    doc: &Document,
    options: &TranslateOptions,
    terms: &Glossary,
    stop: &StopToken,
) -> Result<TranslateOutput, ModelError> {
    stop.check()?;
    let mut run = Translator {
        model,
        cache,
        options,
        terms,
        stats: TaskStats::default(),
        warnings: Vec::new(),
        budget: 0,
        stop,
        segments: 0,
        unchecked: 0,
        previous: None,
    };
    run.budget = run.input_budget()?;
    let title = match &doc.title {
        Some(german) => {
            let (title, stats) = english_title(model, run.cache, german, stop)?;
            run.stats.merge(&stats);
            run.warnings.extend(title.warning());
            Some(title)
        }
        None => None,
    };
    let mut translated = Vec::new();
    let mut numbers_rewritten = 0;
    for (i, paragraph) in paragraphs(&doc.text).enumerate() {
        let english = run.translate_text(paragraph, &format!("paragraph {}", i + 1))?;
        let numbers = english_numbers(&english, paragraph);
        numbers_rewritten += numbers.count;
        run.previous = Some((paragraph.to_string(), numbers.text.clone()));
        translated.push(numbers.text);
    }
    if run.unchecked > 0 {
        run.warnings.push(format!(
            "{} of {} segments had no candidate passing the checks (English, not the \
             source quoted back, not much shorter than the source); the best was kept",
            run.unchecked, run.segments
        ));
    }
    Ok(TranslateOutput {
        title: title.as_ref().map(|t| t.text.clone()),
        output: TaskOutput {
            text: translated.join("\n\n"),
            stats: run.stats,
            warnings: run.warnings,
            guard: None,
            title,
            numbers_rewritten,
        },
    })
}

/// A translated document.
#[derive(Debug, Clone)]
pub struct TranslateOutput {
    /// The title, when the document has one: English, or the German one
    /// when no acceptable translation came back (details in
    /// `output.title`).
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
    /// Segments translated, and of those, how many had no candidate passing
    /// the checks.
    segments: usize,
    unchecked: usize,
    /// The last paragraph translated and its translation.
    previous: Option<(String, String)>,
    /// Glossary entries occurring in the document.
    terms: &'a Glossary,
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
        // Room for the list of every entry, whichever a paragraph has.
        let all_terms = self.terms.entries();
        let overhead = self
            .model
            .chat_tokens(&prompt::translation_with_terms("", all_terms))?
            .len();
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

    /// The translation prompt for `text`: with the previous paragraph as
    /// context when asked for, when that paragraph is short enough and the
    /// whole still fits one call; else the plain one.
    fn prompt_for(&self, text: &str, max_new_tokens: usize) -> Result<ChatPrompt, ModelError> {
        let selected = self.terms.select(text).terms;
        let terms = selected.entries();
        if self.options.previous_paragraph {
            if let Some((source, english)) = &self.previous {
                let tokenizer = self.model.tokenizer();
                if tokenizer.count(source)? <= MAX_CONTEXT_TOKENS
                    && tokenizer.count(english)? <= MAX_CONTEXT_TOKENS
                {
                    let prompt = self
                        .model
                        .chat_prompt(&prompt::translation_after_with_terms(
                            source, english, text, terms,
                        ))?;
                    if prompt.tokens.len() + max_new_tokens <= self.options.context {
                        return Ok(prompt);
                    }
                }
            }
        }
        self.model
            .chat_prompt(&prompt::translation_with_terms(text, terms))
    }

    fn translate_piece(&mut self, text: &str, label: &str) -> Result<String, ModelError> {
        self.stop.check()?;
        let source_tokens = self.model.tokenizer().count(text)?;
        let max_new_tokens =
            (source_tokens as f64 * OUTPUT_PER_INPUT_TOKEN) as usize + OUTPUT_SLACK;
        let prompt = self.prompt_for(text, max_new_tokens)?;
        let mut sampling = self.options.sampling;
        sampling.seed = sampling.seed.wrapping_add(self.stats.calls as u64);
        let options = GenerateOptions {
            max_new_tokens,
            sampling,
            shared_prefix: prompt.shared_prefix,
            stop: self.stop.clone(),
            ..GenerateOptions::default()
        };
        let samplings = self.options.candidates.samplings(sampling);
        let generations =
            generate_candidates(self.model, self.cache, &prompt.tokens, &options, &samplings)?;
        self.stats.add_group(&generations);
        let texts: Vec<String> = generations
            .iter()
            .map(|g| clean_translation(&g.text))
            .collect();
        let choice = choose_translation(text, &texts);
        self.segments += 1;
        if !choice.passed {
            self.unchecked += 1;
        }
        if generations
            .get(choice.index)
            .is_some_and(|g| g.stop == StopReason::MaxTokens)
        {
            self.warnings.push(format!(
                "{label}: the translation reached the token limit ({} tokens) and may be truncated",
                options.max_new_tokens
            ));
        }
        Ok(texts.into_iter().nth(choice.index).unwrap_or_default())
    }
}

/// The translation kept among a segment's candidates.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TranslationChoice {
    /// Its index among the candidates.
    pub index: usize,
    /// Whether it passed every check (else it is the least bad).
    pub passed: bool,
}

/// Why a candidate translation of `source` fails, or `None` when it passes:
/// empty, not English, the German source quoted back, or much shorter than
/// the source (a paraphrase).
pub fn translation_problem(source: &str, candidate: &str) -> Option<&'static str> {
    if candidate.trim().is_empty() {
        Some("empty")
    } else if output_language(candidate).is_some() {
        Some("not English")
    } else if quotes_source(candidate, source) {
        Some("quotes the source")
    } else if is_paraphrase(candidate, source) {
        Some("much shorter than the source")
    } else {
        None
    }
}

/// Minimum-Bayes-risk choice among candidate translations of `source`: the
/// candidate agreeing most (chrF) with the others, among those that pass
/// [`translation_problem`]; when none passes, the one with the fewest
/// problems (then the most agreement).
pub fn choose_translation(source: &str, candidates: &[String]) -> TranslationChoice {
    let texts: Vec<&str> = candidates.iter().map(String::as_str).collect();
    let agreement = consensus(&texts, Agreement::Chrf);
    let problems: Vec<Option<&str>> = texts
        .iter()
        .map(|t| translation_problem(source, t))
        .collect();
    let passing: Vec<bool> = problems.iter().map(Option::is_none).collect();
    if let Some(index) = pick(&agreement, &passing) {
        return TranslationChoice {
            index,
            passed: true,
        };
    }
    // Least bad: a language problem or a quoted source is worse than a
    // short translation, which is worse than nothing only when empty.
    let severity = |p: Option<&str>| match p {
        None => 0,
        Some("much shorter than the source") => 1,
        Some("quotes the source") => 2,
        Some("not English") => 3,
        Some(_) => 4,
    };
    let best = severity_pick(
        &problems.iter().map(|p| severity(*p)).collect::<Vec<_>>(),
        &agreement,
    );
    TranslationChoice {
        index: best,
        passed: false,
    }
}

/// The index with the lowest severity, then the highest agreement, then the
/// earliest.
fn severity_pick(severity: &[u8], agreement: &[f64]) -> usize {
    let lowest = severity.iter().copied().min().unwrap_or(0);
    let eligible: Vec<bool> = severity.iter().map(|&s| s == lowest).collect();
    pick(agreement, &eligible).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SOURCE: &str =
        "Der Stadtrat von Münster hat am Dienstag nach langer Debatte 40 Kilometer \
        neue Radwege beschlossen, die bis 2028 gebaut werden sollen.";

    fn strings(texts: &[&str]) -> Vec<String> {
        texts.iter().map(|t| t.to_string()).collect()
    }

    #[test]
    fn the_translation_agreeing_with_the_others_wins_among_those_passing() {
        let good = "After a long debate, Münster city council on Tuesday approved 40 kilometres \
                    of new cycle paths, to be built by 2028.";
        let close = "After a long debate on Tuesday, the city council of Münster approved 40 \
                     kilometres of new cycle lanes that are to be built by 2028.";
        let short = "Münster approved cycle paths.";
        let choice = choose_translation(SOURCE, &strings(&[SOURCE, short, good, close]));
        assert!(choice.passed);
        assert!(choice.index == 2 || choice.index == 3, "{choice:?}");
        assert_eq!(translation_problem(SOURCE, SOURCE), Some("not English"));
        assert_eq!(
            translation_problem(SOURCE, short),
            Some("much shorter than the source")
        );
        assert_eq!(translation_problem(SOURCE, good), None);
        assert_eq!(translation_problem(SOURCE, "  "), Some("empty"));
    }

    #[test]
    fn when_nothing_passes_the_least_bad_is_kept_and_flagged() {
        let short = "Münster approved cycle paths.";
        let choice = choose_translation(SOURCE, &strings(&[SOURCE, short]));
        assert_eq!(
            choice,
            TranslationChoice {
                index: 1,
                passed: false
            }
        );
        // A lone candidate that passes is simply kept.
        let one = choose_translation("Berlin", &strings(&["Berlin"]));
        assert_eq!(
            one,
            TranslationChoice {
                index: 0,
                passed: true
            }
        );
    }
}

#[cfg(test)]
mod hostile_text {
    use super::*;
    use crate::claims::{unsupported, SourceIndex};
    use crate::task::candidates::{consensus, Agreement};

    /// Model answers and article text are untrusted: every check that reads
    /// them (language, quoting, length, wrappers, claims with units, ages,
    /// roles, family words and places, the article's role of a name,
    /// degenerate answers, consensus) must give an answer, never panic, on
    /// hostile text.
    #[test]
    fn checks_of_model_text_survive_hostile_input() {
        let long_word = "ä".repeat(5000);
        let nested = "\"".repeat(300) + "Die Zahl 12 % und 12 Millionen Euro" + &"\"".repeat(300);
        let samples = [
            String::new(),
            " \n\t ".to_string(),
            "\u{0}\u{1}\u{7f}\u{200b}\u{feff}".to_string(),
            long_word,
            nested,
            "Secretary-General, , , Farah Dakhlallah, the, spokeswoman,".to_string(),
            "12-year-old 1,16% €12m 3.500-kilowatt 0,1 Punkte -5 °C 10^99 ٣٤٥ 𝟙𝟚".to_string(),
            "The German text \"\" translates to English as: \"".to_string(),
            "«»„“‚‘ Note: (Note: In this translation, the original".to_string(),
            "<|im_start|>system\nDu bist<|im_end|> 🇩🇪🇩🇪 ﷽ \u{202e}gnirts".to_string(),
            "NATO-Sprecherin ".repeat(400),
            "Nach Oberhof, a club; ihr Mann Dieter, his wife Dieter; zusammen 277 Jahre alt, \
             the 277-year-old; South Südamerika Upper Ober-; Heavy Cobalt Kobalt Frau"
                .to_string(),
        ];
        for text in &samples {
            for source in &samples {
                let _ = translation_problem(source, text);
                let _ = choose_translation(source, std::slice::from_ref(text));
                let _ = crate::task::clean::clean_translation(text);
                let _ = crate::task::clean::clean_summary(text);
                let index = SourceIndex::new(source);
                let _ = unsupported(text, &index);
                let _ = index.role_in_article(text);
                let _ = crate::task::guard::is_degenerate(text);
            }
        }
        let texts: Vec<&str> = samples.iter().map(String::as_str).collect();
        for agreement in [Agreement::RougeL, Agreement::Chrf] {
            let c = consensus(&texts, agreement);
            assert_eq!(c.len(), texts.len());
            assert!(
                c.iter().all(|v| v.is_finite() && (0.0..=1.0).contains(v)),
                "{c:?}"
            );
        }
    }
}
