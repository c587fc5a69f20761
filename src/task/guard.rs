//! The faithfulness guard: a pipeline step after generation that checks
//! every mechanically checkable claim (names, numbers) of an English output
//! against the German source and, when some are unsupported, has the task
//! generate again with those names' tokens suppressed and the source's
//! names offered — keeping the best candidate.
//!
//! The guard knows nothing about summaries: it wraps any task that can
//! produce a candidate from [`GuardHints`].

use serde::Serialize;

use crate::claims::{unsupported, Claim, SourceIndex};
use crate::model::{ModelError, TextTokenizer};

use super::TaskOutput;

/// Guard settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct GuardOptions {
    /// Whether the guard runs at all.
    pub enabled: bool,
    /// Extra generations allowed when claims are unsupported.
    pub retries: usize,
}

impl Default for GuardOptions {
    fn default() -> Self {
        Self {
            enabled: true,
            retries: 2,
        }
    }
}

/// What a retry may use to do better.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GuardHints {
    /// Token ids the model must not generate (first tokens of invented names).
    pub suppressed_tokens: Vec<u32>,
    /// Names that do occur in the source, to offer in the prompt.
    pub source_names: Vec<String>,
}

/// The guard's verdict on one output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// The first candidate had no unsupported claim.
    Pass,
    /// A retry removed all unsupported claims.
    Repaired,
    /// Unsupported claims remain in the best candidate.
    Fail,
}

/// What the guard did, for the manifest.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GuardReport {
    /// The verdict.
    pub guard: Verdict,
    /// Generations made (1 + retries used).
    pub attempts: usize,
    /// Unsupported claims left in the kept candidate (as written).
    pub unsupported: Vec<String>,
}

/// Runs `attempt` until its output has no unsupported claim or the retries
/// are used up, and returns the best output (fewest unsupported claims,
/// earliest on ties) with statistics of all attempts added up.
pub fn guarded(
    source: &str,
    tokenizer: &TextTokenizer,
    options: &GuardOptions,
    mut attempt: impl FnMut(&GuardHints) -> Result<TaskOutput, ModelError>,
) -> Result<(TaskOutput, GuardReport), ModelError> {
    let index = SourceIndex::new(source);
    let mut hints = GuardHints::default();
    let mut best: Option<(TaskOutput, Vec<Claim>)> = None;
    let mut stats = super::TaskStats::default();
    let mut attempts = 0;
    while attempts <= options.retries {
        let output = attempt(&hints)?;
        attempts += 1;
        stats.merge(&output.stats);
        let bad = unsupported(&output.text, &index);
        let better = best.as_ref().is_none_or(|(_, b)| bad.len() < b.len());
        let done = bad.is_empty();
        extend_hints(&mut hints, &bad, &index, tokenizer);
        if better {
            best = Some((output, bad));
        }
        if done {
            break;
        }
    }
    let Some((mut output, bad)) = best else {
        return Err(ModelError::Inference(candle_core::Error::Msg(
            "guard made no attempt".into(),
        )));
    };
    output.stats = stats;
    let guard = match (bad.is_empty(), attempts) {
        (true, 1) => Verdict::Pass,
        (true, _) => Verdict::Repaired,
        (false, _) => Verdict::Fail,
    };
    let report = GuardReport {
        guard,
        attempts,
        unsupported: bad.into_iter().map(|c| c.text).collect(),
    };
    Ok((output, report))
}

/// Adds the first tokens of unsupported names to the suppressed set (unless
/// that token also begins a name the source does contain) and offers the
/// source's names.
fn extend_hints(
    hints: &mut GuardHints,
    bad: &[Claim],
    index: &SourceIndex,
    tokenizer: &TextTokenizer,
) {
    if hints.source_names.is_empty() {
        hints.source_names = index.names();
    }
    for claim in bad
        .iter()
        .filter(|c| c.kind == crate::claims::ClaimKind::Name)
    {
        for word in claim.text.split_whitespace() {
            for token in name_start_tokens(word, tokenizer) {
                if !starts_a_source_name(token, &hints.source_names, tokenizer)
                    && !hints.suppressed_tokens.contains(&token)
                {
                    hints.suppressed_tokens.push(token);
                }
            }
        }
    }
}

/// First token of `word` as it appears mid-sentence (" Word") and at the
/// start of a text ("Word"), when that token is at least three characters:
/// shorter pieces are too common to ban.
fn name_start_tokens(word: &str, tokenizer: &TextTokenizer) -> Vec<u32> {
    let word = word.trim_matches(|c: char| !c.is_alphanumeric());
    if word.chars().count() < 3 {
        return Vec::new();
    }
    [format!(" {word}"), word.to_string()]
        .iter()
        .filter_map(|variant| {
            let first = *tokenizer.encode_raw(variant).ok()?.first()?;
            let text = tokenizer.decode(&[first]).ok()?;
            (text.trim().chars().count() >= 3).then_some(first)
        })
        .collect()
}

fn starts_a_source_name(token: u32, names: &[String], tokenizer: &TextTokenizer) -> bool {
    names.iter().any(|name| {
        name.split_whitespace()
            .any(|word| name_start_tokens(word, tokenizer).contains(&token))
    })
}
