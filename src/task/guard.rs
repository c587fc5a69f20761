//! The faithfulness guard: a pipeline step after generation that checks
//! every mechanically checkable claim (names, numbers) of an English output
//! against the German source and, when some are unsupported, has the task
//! generate again with those names' tokens suppressed and the source's
//! names offered — keeping the best candidate.
//!
//! The guard knows nothing about summaries: it wraps any task that can
//! produce a candidate from [`GuardHints`].

use serde::Serialize;

use crate::claims::{unsupported, Claim, ClaimKind, SourceIndex};
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
    /// Token sequences of invented names (with and without a leading space)
    /// that the model must not write again.
    pub banned_sequences: Vec<Vec<u32>>,
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
        let better = best
            .as_ref()
            .is_none_or(|(kept, b)| rank(&output.text, &bad) < rank(&kept.text, b));
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

/// Order of candidates: usable text before degenerate text (empty, or
/// stuck repeating itself), then fewer unsupported claims.
fn rank(text: &str, bad: &[Claim]) -> (bool, usize) {
    (is_degenerate(text), bad.len())
}

/// Whether `text` is empty or repeats a four-word phrase three times or
/// more — the usual failure of a small model pushed off its preferred words.
pub fn is_degenerate(text: &str) -> bool {
    let words: Vec<String> = text
        .split_whitespace()
        .map(|w| {
            w.trim_matches(|c: char| !c.is_alphanumeric())
                .to_lowercase()
        })
        .collect();
    if words.is_empty() {
        return true;
    }
    let mut seen: std::collections::HashMap<&[String], usize> = std::collections::HashMap::new();
    words.windows(4).any(|w| {
        let n = seen.entry(w).or_default();
        *n += 1;
        *n >= 3
    })
}

/// Bans the token sequences of unsupported names' words (unless a word also
/// occurs in a name of the source) and offers the source's names.
fn extend_hints(
    hints: &mut GuardHints,
    bad: &[Claim],
    index: &SourceIndex,
    tokenizer: &TextTokenizer,
) {
    if hints.source_names.is_empty() {
        hints.source_names = index.names();
    }
    let source_words: Vec<String> = hints
        .source_names
        .iter()
        .flat_map(|n| n.split_whitespace().map(str::to_lowercase))
        .collect();
    for claim in bad.iter().filter(|c| c.kind == ClaimKind::Name) {
        for word in claim.text.split_whitespace() {
            let word = word.trim_matches(|c: char| !c.is_alphanumeric());
            if word.chars().count() < 2 || source_words.contains(&word.to_lowercase()) {
                continue;
            }
            for seq in word_sequences(word, tokenizer) {
                if !hints.banned_sequences.contains(&seq) {
                    hints.banned_sequences.push(seq);
                }
            }
        }
    }
}

/// Token ids of `word` as written mid-sentence (" Word") and at the start
/// of a text ("Word").
fn word_sequences(word: &str, tokenizer: &TextTokenizer) -> Vec<Vec<u32>> {
    [format!(" {word}"), word.to_string()]
        .iter()
        .filter_map(|variant| tokenizer.encode_text(variant).ok())
        .filter(|ids| !ids.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repetition_and_emptiness_are_degenerate() {
        assert!(is_degenerate(""));
        assert!(is_degenerate(
            "The article: the main news. The article: the main news. The article: the main news."
        ));
        assert!(!is_degenerate(
            "Rutte met Trump in Palm Beach. They discussed security. Rutte supports Ukraine."
        ));
    }
}
