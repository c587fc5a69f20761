//! ROUGE-1, ROUGE-2 and ROUGE-L exactly as Google's `rouge-score` package computes them
//! with `RougeScorer(['rouge1', 'rouge2', 'rougeL'], use_stemmer=True)`.
//!
//! Tokenization follows `rouge_score.tokenize.tokenize`: lowercase, every run of
//! characters outside `[a-z0-9]` becomes a separator (so umlauts and other non-ASCII
//! letters split words and vanish), tokens longer than 3 characters are stemmed with
//! NLTK's Porter stemmer ([`porter_stem`]), and empty tokens are dropped.

use serde::Serialize;

use super::chrf::ngram_counts;
use super::stem::porter_stem;

/// Precision, recall and F1 of one ROUGE variant, each in 0..=1.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct RougeScore {
    /// Share of summary units found in the reference.
    pub precision: f64,
    /// Share of reference units found in the summary.
    pub recall: f64,
    /// Harmonic mean of precision and recall (0 when both are 0).
    pub fmeasure: f64,
}

impl RougeScore {
    /// Builds a score from precision and recall, as `rouge_score.scoring.fmeasure`.
    fn from_precision_recall(precision: f64, recall: f64) -> Self {
        let fmeasure = if precision + recall > 0.0 {
            2.0 * precision * recall / (precision + recall)
        } else {
            0.0
        };
        RougeScore {
            precision,
            recall,
            fmeasure,
        }
    }

    fn add(&mut self, other: &RougeScore) {
        self.precision += other.precision;
        self.recall += other.recall;
        self.fmeasure += other.fmeasure;
    }

    fn divided_by(self, n: f64) -> Self {
        RougeScore {
            precision: self.precision / n,
            recall: self.recall / n,
            fmeasure: self.fmeasure / n,
        }
    }
}

/// ROUGE-1, ROUGE-2 and ROUGE-L of a summary against a reference.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct RougeScores {
    /// Unigram overlap.
    pub rouge1: RougeScore,
    /// Bigram overlap.
    pub rouge2: RougeScore,
    /// Longest common subsequence (sentence-level `rougeL`, not `rougeLsum`).
    pub rouge_l: RougeScore,
}

impl RougeScores {
    fn add(&mut self, other: &RougeScores) {
        self.rouge1.add(&other.rouge1);
        self.rouge2.add(&other.rouge2);
        self.rouge_l.add(&other.rouge_l);
    }

    fn divided_by(self, n: f64) -> Self {
        RougeScores {
            rouge1: self.rouge1.divided_by(n),
            rouge2: self.rouge2.divided_by(n),
            rouge_l: self.rouge_l.divided_by(n),
        }
    }
}

/// Scores `summary` against `reference`, as
/// `RougeScorer(['rouge1','rouge2','rougeL'], use_stemmer=True).score(reference, summary)`
/// (note that rouge-score takes the reference, its "target", first).
pub fn rouge(summary: &str, reference: &str) -> RougeScores {
    let summary = rouge_tokenize(summary);
    let reference = rouge_tokenize(reference);
    RougeScores {
        rouge1: ngram_score(&summary, &reference, 1),
        rouge2: ngram_score(&summary, &reference, 2),
        rouge_l: lcs_score(&summary, &reference),
    }
}

/// Mean precision, recall and F1 over `(summary, reference)` pairs (each averaged
/// separately, in order); all zero for no pairs.
pub fn mean_rouge(pairs: &[(String, String)]) -> RougeScores {
    if pairs.is_empty() {
        return RougeScores::default();
    }
    let mut sum = RougeScores::default();
    for (summary, reference) in pairs {
        sum.add(&rouge(summary, reference));
    }
    sum.divided_by(pairs.len() as f64)
}

/// Tokenizes like `rouge_score.tokenize.tokenize(text, PorterStemmer())`.
pub fn rouge_tokenize(text: &str) -> Vec<String> {
    text.to_lowercase()
        .split(|c: char| !(c.is_ascii_lowercase() || c.is_ascii_digit()))
        .filter(|token| !token.is_empty())
        .map(|token| {
            if token.len() > 3 {
                porter_stem(token)
            } else {
                token.to_string()
            }
        })
        .filter(|token| is_valid_token(token))
        .collect()
}

/// rouge-score's final check `^[a-z0-9]+$`.
fn is_valid_token(token: &str) -> bool {
    !token.is_empty()
        && token
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

/// `_score_ngrams`: clipped n-gram overlap; empty sides count as 1 in the denominator.
fn ngram_score(summary: &[String], reference: &[String], n: usize) -> RougeScore {
    let summary_counts = ngram_counts(summary, n);
    let reference_counts = ngram_counts(reference, n);
    let overlap: u64 = reference_counts
        .iter()
        .map(|(ngram, &count)| count.min(summary_counts.get(ngram).copied().unwrap_or(0)))
        .sum();
    let summary_total: u64 = summary_counts.values().sum();
    let reference_total: u64 = reference_counts.values().sum();
    RougeScore::from_precision_recall(
        overlap as f64 / summary_total.max(1) as f64,
        overlap as f64 / reference_total.max(1) as f64,
    )
}

/// `_score_lcs`: longest-common-subsequence precision and recall; 0 if either is empty.
fn lcs_score(summary: &[String], reference: &[String]) -> RougeScore {
    if summary.is_empty() || reference.is_empty() {
        return RougeScore::default();
    }
    let lcs = lcs_length(reference, summary) as f64;
    RougeScore::from_precision_recall(lcs / summary.len() as f64, lcs / reference.len() as f64)
}

/// Length of the longest common subsequence, with two rows of the DP table.
fn lcs_length(a: &[String], b: &[String]) -> usize {
    let mut previous = vec![0usize; b.len() + 1];
    let mut current = vec![0usize; b.len() + 1];
    for x in a {
        for (j, y) in b.iter().enumerate() {
            current[j + 1] = if x == y {
                previous[j] + 1
            } else {
                previous[j + 1].max(current[j])
            };
        }
        std::mem::swap(&mut previous, &mut current);
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::test_fixture::{assert_close, fixture};
    use serde_json::Value;

    fn assert_score(got: &RougeScore, want: &Value, what: &str) {
        let num = |key: &str| want[key].as_f64().unwrap_or(f64::NAN);
        assert_close(got.precision, num("precision"), 1e-12, what);
        assert_close(got.recall, num("recall"), 1e-12, what);
        assert_close(got.fmeasure, num("fmeasure"), 1e-12, what);
    }

    fn assert_scores(got: &RougeScores, want: &Value, what: &str) {
        assert_score(&got.rouge1, &want["rouge1"], &format!("{what} rouge1"));
        assert_score(&got.rouge2, &want["rouge2"], &format!("{what} rouge2"));
        assert_score(&got.rouge_l, &want["rougeL"], &format!("{what} rougeL"));
    }

    fn text(v: &Value) -> String {
        v.as_str().unwrap_or_default().to_string()
    }

    fn tokens(v: &Value) -> Vec<String> {
        v.as_array()
            .map(|a| a.iter().map(text).collect())
            .unwrap_or_default()
    }

    fn cases() -> Vec<Value> {
        fixture()["rouge"].as_array().cloned().unwrap_or_default()
    }

    #[test]
    fn matches_rouge_score_on_inline_pairs() {
        let cases = cases();
        assert!(cases.len() >= 15);
        for case in &cases {
            let (summary, reference) = (text(&case["summary"]), text(&case["reference"]));
            assert_eq!(rouge_tokenize(&summary), tokens(&case["summary_tokens"]));
            assert_eq!(
                rouge_tokenize(&reference),
                tokens(&case["reference_tokens"])
            );
            assert_scores(&rouge(&summary, &reference), case, &summary);
        }
    }

    #[test]
    fn mean_matches_fixture() {
        let pairs: Vec<(String, String)> = cases()
            .iter()
            .map(|c| (text(&c["summary"]), text(&c["reference"])))
            .collect();
        assert_scores(&mean_rouge(&pairs), &fixture()["rouge_mean"], "mean");
        assert_eq!(mean_rouge(&[]), RougeScores::default());
    }

    #[test]
    fn tokenizer_matches_fixture() {
        let fx = fixture();
        let map = fx["rouge_tokenize"]
            .as_object()
            .cloned()
            .unwrap_or_default();
        assert!(!map.is_empty());
        for (input, want) in &map {
            assert_eq!(rouge_tokenize(input), tokens(want), "{input}");
        }
    }

    #[test]
    fn identical_texts_score_one() {
        let s = rouge("The cats were running.", "the cat was running!");
        assert_eq!(s.rouge1.precision, 0.75);
        assert_eq!(rouge("a b c", "a b c").rouge_l.fmeasure, 1.0);
    }
}
