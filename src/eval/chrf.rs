//! Corpus-level chrF exactly as sacrebleu 2.x computes it with `CHRF()` defaults:
//! character n-grams of order 1..=6, no word n-grams, beta = 2, whitespace removed,
//! mixed case, `eps_smoothing=False`.
//!
//! Statistics (hypothesis, reference and matching n-gram counts per order) are summed
//! over all segments first. The score is then computed as sacrebleu does without eps
//! smoothing: precision and recall are averaged over the *effective* orders (those with
//! both hypothesis and reference n-grams), and the F-beta of those two averages is the
//! score, on a 0..100 scale.

use std::collections::HashMap;
use std::hash::Hash;

use serde::Serialize;

use super::text::strip_py_whitespace;

/// Character n-gram order of sacrebleu's default chrF.
pub const CHRF_CHAR_ORDER: usize = 6;
/// Recall weight of sacrebleu's default chrF (chrF2).
pub const CHRF_BETA: u32 = 2;

/// Summed n-gram counts of one order, as sacrebleu's `[hyp, ref, match]` triple.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct NgramStats {
    /// Hypothesis n-grams (counted only for segments whose reference has n-grams of
    /// this order, as sacrebleu does).
    pub hyp: u64,
    /// Reference n-grams.
    pub reference: u64,
    /// Clipped matches: per n-gram, the smaller of the two counts.
    pub matched: u64,
}

impl NgramStats {
    fn add(&mut self, other: NgramStats) {
        self.hyp += other.hyp;
        self.reference += other.reference;
        self.matched += other.matched;
    }
}

/// A corpus chrF score with the statistics it was computed from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChrfScore {
    /// chrF2 on a 0..100 scale (unrounded; sacrebleu prints it with 2 decimals).
    pub score: f64,
    /// Character n-gram order (6).
    pub char_order: usize,
    /// Recall weight beta (2).
    pub beta: u32,
    /// Corpus statistics for orders 1..=`char_order` (index 0 is unigrams).
    pub stats: Vec<NgramStats>,
}

/// Corpus-level chrF of `hyps` against one reference per line, as
/// `sacrebleu.metrics.CHRF().corpus_score(hyps, [refs])`.
///
/// Lines are paired in order; if the slices differ in length only the common prefix
/// is scored (as sacrebleu's Python API does; check with
/// [`check_parallel`](super::check_parallel) first to reject such input). An empty corpus
/// scores 0.
pub fn corpus_chrf(hyps: &[String], refs: &[String]) -> ChrfScore {
    let mut stats = vec![NgramStats::default(); CHRF_CHAR_ORDER];
    for (hyp, reference) in hyps.iter().zip(refs) {
        let segment = segment_stats(hyp, reference, CHRF_CHAR_ORDER);
        for (total, seg) in stats.iter_mut().zip(segment) {
            total.add(seg);
        }
    }
    ChrfScore {
        score: f_score(&stats, CHRF_BETA),
        char_order: CHRF_CHAR_ORDER,
        beta: CHRF_BETA,
        stats,
    }
}

/// Per-order statistics of one segment pair (whitespace removed from both sides).
fn segment_stats(hyp: &str, reference: &str, max_order: usize) -> Vec<NgramStats> {
    let hyp: Vec<char> = strip_py_whitespace(hyp).collect();
    let reference: Vec<char> = strip_py_whitespace(reference).collect();
    (1..=max_order)
        .map(|n| match_stats(&ngram_counts(&hyp, n), &ngram_counts(&reference, n)))
        .collect()
}

/// Counts of all length-`n` windows of `items`.
pub(crate) fn ngram_counts<T: Eq + Hash>(items: &[T], n: usize) -> HashMap<&[T], u64> {
    let mut counts = HashMap::new();
    if n > 0 {
        for window in items.windows(n) {
            *counts.entry(window).or_insert(0) += 1;
        }
    }
    counts
}

/// sacrebleu's `_get_match_statistics`: note the hypothesis count is 0 when the
/// reference has no n-grams of this order.
fn match_stats<K: Eq + Hash>(hyp: &HashMap<K, u64>, reference: &HashMap<K, u64>) -> NgramStats {
    let mut hyp_count = 0;
    let mut matched = 0;
    for (ngram, &count) in hyp {
        hyp_count += count;
        if let Some(&ref_count) = reference.get(ngram) {
            matched += count.min(ref_count);
        }
    }
    NgramStats {
        hyp: if reference.is_empty() { 0 } else { hyp_count },
        reference: reference.values().sum(),
        matched,
    }
}

/// sacrebleu's `CHRF._compute_f_score` with `eps_smoothing=False`, operation for
/// operation so the floating-point result is identical.
fn f_score(stats: &[NgramStats], beta: u32) -> f64 {
    let factor = f64::from(beta * beta);
    let mut avg_prec = 0.0;
    let mut avg_rec = 0.0;
    let mut effective_order = 0u32;
    for s in stats {
        if s.hyp > 0 && s.reference > 0 {
            avg_prec += s.matched as f64 / s.hyp as f64;
            avg_rec += s.matched as f64 / s.reference as f64;
            effective_order += 1;
        }
    }
    if effective_order == 0 {
        return 0.0;
    }
    avg_prec /= f64::from(effective_order);
    avg_rec /= f64::from(effective_order);
    if avg_prec + avg_rec == 0.0 {
        return 0.0;
    }
    let mut score = (1.0 + factor) * avg_prec * avg_rec;
    score /= (factor * avg_prec) + avg_rec;
    100.0 * score
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::test_fixture::{assert_close, corpus_case_names, corpus_pairs, fixture};

    #[test]
    fn matches_sacrebleu_on_inline_cases() {
        let fx = fixture();
        for name in corpus_case_names() {
            let (hyps, refs) = corpus_pairs(name);
            let got = corpus_chrf(&hyps, &refs);
            let want = &fx["corpus"][name]["chrf"];
            assert_close(
                got.score,
                want["score"].as_f64().unwrap_or(f64::NAN),
                1e-9,
                name,
            );
            for (order, s) in got.stats.iter().enumerate() {
                let w = &want["stats"][order];
                let triple = [w[0].as_u64(), w[1].as_u64(), w[2].as_u64()];
                assert_eq!(
                    [Some(s.hyp), Some(s.reference), Some(s.matched)],
                    triple,
                    "{name} order {}",
                    order + 1
                );
            }
        }
    }

    #[test]
    fn empty_corpus_scores_zero() {
        assert_eq!(corpus_chrf(&[], &[]).score, 0.0);
    }

    #[test]
    fn identical_text_scores_100() {
        let lines = vec!["Grüße aus Köln!".to_string()];
        assert!((corpus_chrf(&lines, &lines).score - 100.0).abs() < 1e-12);
    }
}
