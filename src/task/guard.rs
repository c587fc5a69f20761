//! The faithfulness guard: a pipeline step after generation that checks
//! every candidate answer — English, not degenerate, every mechanically
//! checkable claim (names, numbers) found in the German source — and picks
//! among the acceptable ones by consensus (see [`super::candidates`]).
//! Only when no candidate is acceptable does the task generate again, with
//! the invented names' tokens suppressed, the source's names offered and,
//! when the answers were not English, a reminder to write English — keeping
//! the best candidate of all rounds.
//!
//! The guard knows nothing about summaries: it wraps any task that can
//! produce candidates from [`GuardHints`].

use serde::Serialize;

use super::candidates::{consensus, pick, Agreement};
use super::clean::word_count;
use super::glossary::Glossary;
use super::language::output_language;
use crate::claims::{fold_key, unsupported, Claim, ClaimKind, SourceIndex};
use crate::model::{ModelError, TextTokenizer};

use super::TaskOutput;

/// Guard settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct GuardOptions {
    /// Whether the guard runs at all. Off, the first round's candidates are
    /// still checked for language and chosen among by consensus, but
    /// unsupported claims do not disqualify and nothing is regenerated.
    pub enabled: bool,
    /// Extra rounds of generation allowed when no candidate is acceptable.
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
    /// The last round's answers were not English: say again that the answer
    /// must be.
    pub remind_english: bool,
}

/// The guard's verdict on one output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// A candidate of the first round was acceptable.
    Pass,
    /// A later round gave an acceptable candidate.
    Repaired,
    /// No candidate was acceptable; the best one is kept.
    Fail,
}

/// One candidate as the guard saw it, for the manifest.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CandidateReport {
    /// The candidate's text.
    pub text: String,
    /// Its length in words.
    pub words: usize,
    /// `en`, or the language it was written in instead.
    pub language: String,
    /// Its names/numbers not found in the source.
    pub unsupported: Vec<String>,
    /// Mean agreement with the other candidates of its round.
    pub consensus: f64,
    /// Why it was not chosen (`None` for the chosen one).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lost: Option<String>,
}

/// What the guard did, for the manifest.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GuardReport {
    /// The verdict.
    pub guard: Verdict,
    /// Rounds of generation made (1 + retries used).
    pub attempts: usize,
    /// Unsupported claims left in the kept candidate (as written).
    pub unsupported: Vec<String>,
    /// Language of the kept candidate (`en` unless every candidate of every
    /// round was written in another language).
    pub output_language: String,
    /// The candidates of the round the kept one came from.
    pub candidates: Vec<CandidateReport>,
    /// Index of the kept candidate among them.
    pub chosen: usize,
    /// Whether the guard was on: off, only the language check and the
    /// consensus choice ran, and `guard` says nothing about claims.
    #[serde(skip)]
    pub enabled: bool,
}

impl GuardReport {
    /// Consensus score of the kept candidate.
    pub fn consensus(&self) -> Option<f64> {
        self.candidates.get(self.chosen).map(|c| c.consensus)
    }
}

/// One round's candidate with the guard's findings.
struct Checked {
    output: TaskOutput,
    unsupported: Vec<Claim>,
    language: Option<&'static str>,
    degenerate: bool,
    consensus: f64,
}

impl Checked {
    fn is_english(&self) -> bool {
        self.language.is_none()
    }

    /// Order of candidates when none is acceptable: usable text first, then
    /// English, then fewer unsupported claims, then more consensus.
    fn rank(&self) -> (bool, bool, usize, std::cmp::Reverse<u64>) {
        (
            self.degenerate,
            !self.is_english(),
            self.unsupported.len(),
            std::cmp::Reverse((self.consensus * 1e6) as u64),
        )
    }
}

/// Runs rounds of `attempt` (each giving the number of candidates it is
/// asked for, see [`round_size`]) until a
/// round has an acceptable candidate — English, not degenerate and, with
/// the guard on, without unsupported claims — or the retries are used up,
/// or a round leaves nothing new to try (the same hints would give the same
/// candidates again: generation is deterministic for a given seed).
/// Returns the acceptable candidate with the highest consensus, else the
/// best-ranked one of all rounds, with the statistics of all rounds added up.
pub fn guarded(
    source: &str,
    tokenizer: &TextTokenizer,
    options: &GuardOptions,
    candidates: usize,
    mut attempt: impl FnMut(&GuardHints, usize) -> Result<Vec<TaskOutput>, ModelError>,
) -> Result<(TaskOutput, GuardReport), ModelError> {
    let index = SourceIndex::new(source);
    let mut hints = GuardHints::default();
    let mut best: Option<(Vec<Checked>, usize)> = None;
    let mut stats = super::TaskStats::default();
    let mut attempts = 0;
    let rounds = if options.enabled {
        options.retries + 1
    } else {
        1
    };
    while attempts < rounds {
        let outputs = attempt(&hints, round_size(options, candidates, attempts))?;
        attempts += 1;
        for output in &outputs {
            stats.merge(&output.stats);
        }
        let checked = check_round(outputs, &index);
        let acceptable: Vec<bool> = checked
            .iter()
            .map(|c| {
                !c.degenerate && c.is_english() && (!options.enabled || c.unsupported.is_empty())
            })
            .collect();
        let consensus: Vec<f64> = checked.iter().map(|c| c.consensus).collect();
        if let Some(chosen) = pick(&consensus, &acceptable) {
            best = Some((checked, chosen));
            break;
        }
        let Some(leader) = (0..checked.len()).min_by_key(|&i| checked[i].rank()) else {
            continue;
        };
        let better = best
            .as_ref()
            .is_none_or(|(kept, k)| checked[leader].rank() < kept[*k].rank());
        let before = hints.clone();
        for candidate in &checked {
            extend_hints(&mut hints, &candidate.unsupported, &index, tokenizer);
        }
        hints.remind_english |= checked.iter().all(|c| !c.is_english());
        if better {
            best = Some((checked, leader));
        }
        if hints == before {
            // Same prompt, bans and seeds: the same candidates again.
            break;
        }
    }
    let Some((checked, chosen)) = best else {
        return Err(ModelError::Inference(candle_core::Error::Msg(
            "guard made no attempt".into(),
        )));
    };
    let kept = &checked[chosen];
    let clean = kept.unsupported.is_empty() || !options.enabled;
    let guard = match (clean && kept.is_english() && !kept.degenerate, attempts) {
        (true, 1) => Verdict::Pass,
        (true, _) => Verdict::Repaired,
        (false, _) => Verdict::Fail,
    };
    let unsupported = kept.unsupported.iter().map(|c| c.text.clone()).collect();
    let output_language = kept.language.unwrap_or("en").to_string();
    let candidates = reports(&checked, chosen, options.enabled);
    let mut output = checked
        .into_iter()
        .nth(chosen)
        .map(|c| c.output)
        .ok_or_else(|| {
            ModelError::Inference(candle_core::Error::Msg("no candidate kept".into()))
        })?;
    output.stats = stats;
    let report = GuardReport {
        guard,
        attempts,
        unsupported,
        output_language,
        candidates,
        chosen,
        enabled: options.enabled,
    };
    Ok((output, report))
}

/// The text the guard checks an output against: `source`, and after it
/// the English sides of the glossary entries given to the model (`terms`),
/// one per line, so that the names and numbers in them count as supported
/// ("Federal Employment Agency" for "Bundesagentur für Arbeit") and are
/// offered by name in a retry. No entries: `source` as it is.
pub fn source_with_glossary(source: String, terms: &Glossary) -> String {
    if terms.is_empty() {
        return source;
    }
    format!("{source}\n\n{}", terms.english_text())
}

/// Candidates asked of round `round` (from 0) when `candidates` are wanted:
/// with the guard on, the first round is the greedy answer alone (most
/// articles pass with it, at the cost of one generation) and only the
/// rounds after a failure decode `candidates` together; with the guard off
/// the one round decodes them all.
pub fn round_size(options: &GuardOptions, candidates: usize, round: usize) -> usize {
    if options.enabled && round == 0 {
        1
    } else {
        candidates.max(1)
    }
}

/// Checks every candidate of a round and scores its consensus.
fn check_round(outputs: Vec<TaskOutput>, index: &SourceIndex) -> Vec<Checked> {
    let texts: Vec<&str> = outputs.iter().map(|o| o.text.as_str()).collect();
    let agreement = consensus(&texts, Agreement::RougeL);
    outputs
        .into_iter()
        .zip(agreement)
        .map(|(output, consensus)| Checked {
            unsupported: unsupported(&output.text, index),
            language: output_language(&output.text),
            degenerate: is_degenerate(&output.text),
            consensus,
            output,
        })
        .collect()
}

/// The manifest's view of a round: each candidate and why it lost.
fn reports(checked: &[Checked], chosen: usize, guard_on: bool) -> Vec<CandidateReport> {
    checked
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let lost = if i == chosen {
                None
            } else if c.degenerate {
                Some("degenerate (empty or repeating itself)".to_string())
            } else if let Some(code) = c.language {
                Some(format!("not English ({code})"))
            } else if guard_on && !c.unsupported.is_empty() {
                Some("unsupported names, numbers or roles".to_string())
            } else {
                Some("lower consensus".to_string())
            };
            CandidateReport {
                text: c.output.text.clone(),
                words: word_count(&c.output.text),
                language: c.language.unwrap_or("en").to_string(),
                unsupported: c.unsupported.iter().map(|u| u.text.clone()).collect(),
                consensus: (c.consensus * 1e4).round() / 1e4,
                lost,
            }
        })
        .collect()
}

/// Whether `text` is empty, repeats a four-word phrase three times or more —
/// the usual failure of a small model pushed off its preferred words — or
/// is a list rather than prose (a comma for every three words or fewer, as
/// when the model echoes the names offered in a retry prompt).
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
    let commas = text.matches(',').count();
    if words.len() >= 8 && commas * 3 >= words.len() {
        return true;
    }
    let mut seen: std::collections::HashMap<&[String], usize> = std::collections::HashMap::new();
    words.windows(4).any(|w| {
        let n = seen.entry(w).or_default();
        *n += 1;
        *n >= 3
    })
}

/// Bans the token sequences of the words of unsupported names and of
/// contradicted roles ("Secretary-General" in "Secretary-General Farah
/// Dakhlallah"), unless a word also occurs in a name of the source, and
/// offers the source's names.
fn extend_hints(
    hints: &mut GuardHints,
    bad: &[Claim],
    index: &SourceIndex,
    tokenizer: &TextTokenizer,
) {
    if hints.source_names.is_empty() {
        hints.source_names = index.names();
    }
    annotate_roles(&mut hints.source_names, bad, index);
    let source_words: Vec<String> = hints
        .source_names
        .iter()
        .flat_map(|n| n.split_whitespace().map(str::to_lowercase))
        .collect();
    for claim in bad
        .iter()
        .filter(|c| matches!(c.kind, ClaimKind::Name | ClaimKind::Role))
    {
        // A role's words are banned one by one, so that "Secretary General"
        // does not come back for a banned "Secretary-General".
        let words: Vec<&str> = match claim.kind {
            ClaimKind::Role => claim
                .text
                .split(|c: char| c.is_whitespace() || c == '-')
                .collect(),
            _ => claim.text.split_whitespace().collect(),
        };
        for word in words {
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

/// Gives the offered names of people whose role a claim contradicted the
/// role the article writes beside them: "Farah Dakhlallah (NATO
/// spokeswoman)" for "NATO-Sprecherin". A ban on the wrong role word alone
/// leaves a small model to guess another one, and given the German word it
/// copies it ("NATO-Specherin").
fn annotate_roles(names: &mut Vec<String>, bad: &[Claim], index: &SourceIndex) {
    for claim in bad.iter().filter(|c| c.kind == ClaimKind::Role) {
        let Some((_, surname)) = claim.normalized.split_once(' ') else {
            continue;
        };
        let Some(role) = index.role_in_article(surname) else {
            continue;
        };
        let surname_key = fold_key(surname);
        let named = names.iter_mut().find(|n| {
            n.split_whitespace()
                .next_back()
                .is_some_and(|last| fold_key(last) == surname_key)
        });
        match named {
            Some(name) if name.contains(" (") => {}
            Some(name) => *name = format!("{name} ({role})"),
            None => {
                let written = claim
                    .text
                    .split(|c: char| c.is_whitespace() || c == ',')
                    .find(|w| fold_key(w) == surname_key)
                    .unwrap_or(surname);
                names.push(format!("{written} ({role})"));
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
    fn contradicted_roles_are_offered_as_the_article_writes_them() {
        let article = "Das teilte NATO-Sprecherin Farah Dakhlallah am Samstag in Brüssel mit. \
                       Rutte traf Trump.";
        let index = SourceIndex::new(article);
        let bad = unsupported(
            "NATO Secretary-General Farah Dakhlallah said Rutte met Trump.",
            &index,
        );
        assert!(bad.iter().any(|c| c.kind == ClaimKind::Role), "{bad:?}");
        let mut names = vec!["Farah Dakhlallah".to_string(), "Rutte".to_string()];
        annotate_roles(&mut names, &bad, &index);
        assert_eq!(names, vec!["Farah Dakhlallah (NATO spokeswoman)", "Rutte"]);
        annotate_roles(&mut names, &bad, &index);
        assert_eq!(
            names[0], "Farah Dakhlallah (NATO spokeswoman)",
            "annotated once"
        );
        let mut unnamed = Vec::new();
        annotate_roles(&mut unnamed, &bad, &index);
        assert_eq!(unnamed, vec!["Dakhlallah (NATO spokeswoman)"]);
    }

    #[test]
    fn role_annotation_survives_hostile_text() {
        let hostile = [
            String::new(),
            "\u{0}\u{202e} , , -".to_string(),
            "Secretary-General ".repeat(300),
            "NATO-Sprecherin Farah Dakhlallah, ihr Mann Ä-Ö, Frau \u{feff}".to_string(),
        ];
        for article in &hostile {
            let index = SourceIndex::new(article);
            for summary in &hostile {
                let bad = unsupported(summary, &index);
                let mut names = index.names();
                annotate_roles(&mut names, &bad, &index);
                annotate_roles(&mut names, &bad, &index);
                assert!(
                    names.iter().all(|n| n.matches(" (").count() <= 1),
                    "{names:?}"
                );
            }
        }
    }

    #[test]
    fn the_english_of_glossary_entries_counts_as_supported() {
        let article = "Nach Angaben der Bundesagentur für Arbeit sank die Zahl der \
                       Arbeitslosen im Mai. Die Ampel-Koalition lobte den Bericht.";
        let summary = "The Federal Employment Agency of Nuremberg said unemployment fell \
                       in May; the 3-party coalition praised it.";
        let bare = unsupported(summary, &SourceIndex::new(article));
        let bare: Vec<&str> = bare.iter().map(|c| c.text.as_str()).collect();
        assert!(bare.iter().any(|c| c.contains("Nuremberg")), "{bare:?}");
        assert!(bare.iter().any(|c| c.contains('3')), "{bare:?}");
        let glossary = Glossary::parse(
            "Bundesagentur für Arbeit\tFederal Employment Agency of Nuremberg\n\
             Ampel-Koalition\tthe 3-party coalition\n"
                .as_bytes(),
            super::super::glossary::GlossaryFormat::Tsv,
            std::path::Path::new("g.tsv"),
        )
        .unwrap();
        let terms = glossary.select(article).terms;
        assert_eq!(terms.entries().len(), 2);
        let source = source_with_glossary(article.to_string(), &terms);
        let checked = unsupported(summary, &SourceIndex::new(&source));
        assert!(checked.is_empty(), "{checked:?}");
        assert_eq!(
            source_with_glossary(article.to_string(), &Glossary::default()),
            article
        );
    }

    #[test]
    fn repetition_and_emptiness_are_degenerate() {
        assert!(is_degenerate(""));
        assert!(is_degenerate(
            "The article: the main news. The article: the main news. The article: the main news."
        ));
        assert!(!is_degenerate(
            "Rutte met Trump in Palm Beach. They discussed security. Rutte supports Ukraine."
        ));
        assert!(is_degenerate(
            "Nato, Farah Dakhlallah, Rutte, Ukraine, Trump, Kiew, Russia, Lasten, Deutschland, USA"
        ));
        assert!(!is_degenerate(
            "Rutte, the NATO chief, met Trump, who takes office in January, in Palm Beach, \
             Florida, on Friday to discuss Ukraine."
        ));
    }
}
