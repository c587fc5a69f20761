//! Corpus-level BLEU exactly as sacrebleu 2.x computes it with `BLEU()` defaults:
//! the `13a` tokenizer (mteval-v13a), n-grams up to 4, `exp` smoothing, mixed case,
//! no effective order, brevity penalty over the whole corpus.

use serde::Serialize;

use super::chrf::ngram_counts;
use super::text::{py_rstrip, py_split};

/// Maximum n-gram order of sacrebleu's default BLEU.
pub const BLEU_MAX_ORDER: usize = 4;

/// A corpus BLEU score with its sufficient statistics.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BleuScore {
    /// BLEU on a 0..100 scale (unrounded; sacrebleu prints it with 2 decimals).
    pub score: f64,
    /// Clipped n-gram matches for orders 1..=4.
    pub counts: [u64; BLEU_MAX_ORDER],
    /// Hypothesis n-grams for orders 1..=4.
    pub totals: [u64; BLEU_MAX_ORDER],
    /// Modified n-gram precisions in percent (after `exp` smoothing).
    pub precisions: [f64; BLEU_MAX_ORDER],
    /// Brevity penalty.
    pub bp: f64,
    /// Hypothesis length in 13a tokens.
    pub sys_len: u64,
    /// Reference length in 13a tokens.
    pub ref_len: u64,
}

impl BleuScore {
    /// Hypothesis/reference length ratio (0 when the reference is empty), as sacrebleu
    /// reports it.
    pub fn ratio(&self) -> f64 {
        if self.ref_len == 0 {
            0.0
        } else {
            self.sys_len as f64 / self.ref_len as f64
        }
    }
}

/// Corpus-level BLEU of `hyps` against one reference per line, as
/// `sacrebleu.metrics.BLEU().corpus_score(hyps, [refs])`.
///
/// Lines are paired in order; if the slices differ in length only the common prefix is
/// scored (as sacrebleu's Python API does; check with
/// [`check_parallel`](super::check_parallel) first to reject such input). An empty corpus
/// scores 0.
pub fn corpus_bleu(hyps: &[String], refs: &[String]) -> BleuScore {
    let mut stats = Stats::default();
    for (hyp, reference) in hyps.iter().zip(refs) {
        stats.add_segment(
            &tokenize_13a(py_rstrip(hyp)),
            &tokenize_13a(py_rstrip(reference)),
        );
    }
    compute_bleu(&stats)
}

/// Summed sufficient statistics of a corpus.
#[derive(Debug, Default)]
struct Stats {
    sys_len: u64,
    ref_len: u64,
    counts: [u64; BLEU_MAX_ORDER],
    totals: [u64; BLEU_MAX_ORDER],
}

impl Stats {
    /// Adds one tokenized segment pair.
    fn add_segment(&mut self, hyp: &str, reference: &str) {
        let hyp: Vec<&str> = py_split(hyp).collect();
        let reference: Vec<&str> = py_split(reference).collect();
        self.sys_len += hyp.len() as u64;
        self.ref_len += reference.len() as u64;
        for n in 1..=BLEU_MAX_ORDER {
            let ref_counts = ngram_counts(&reference, n);
            for (ngram, count) in ngram_counts(&hyp, n) {
                self.totals[n - 1] += count;
                if let Some(&ref_count) = ref_counts.get(ngram) {
                    self.counts[n - 1] += count.min(ref_count);
                }
            }
        }
    }
}

/// sacrebleu's `BLEU.compute_bleu` with `smooth_method='exp'`, operation for operation.
fn compute_bleu(stats: &Stats) -> BleuScore {
    let bp = brevity_penalty(stats.sys_len, stats.ref_len);
    let mut precisions = [0.0; BLEU_MAX_ORDER];
    let mut score = 0.0;
    if stats.counts.iter().any(|&c| c > 0) {
        let mut smooth_mteval = 1.0;
        let orders = stats.counts.iter().zip(&stats.totals);
        for (precision, (&correct, &total)) in precisions.iter_mut().zip(orders) {
            if total == 0 {
                break;
            }
            *precision = if correct == 0 {
                smooth_mteval *= 2.0;
                100.0 / (smooth_mteval * total as f64)
            } else {
                100.0 * correct as f64 / total as f64
            };
        }
        let log_sum: f64 = precisions.iter().map(|&p| floored_log(p)).sum();
        score = bp * (log_sum / BLEU_MAX_ORDER as f64).exp();
    }
    BleuScore {
        score,
        counts: stats.counts,
        totals: stats.totals,
        precisions,
        bp,
        sys_len: stats.sys_len,
        ref_len: stats.ref_len,
    }
}

/// `exp(1 - ref/sys)` when the hypothesis is shorter than the reference, else 1.
fn brevity_penalty(sys_len: u64, ref_len: u64) -> f64 {
    if sys_len >= ref_len {
        1.0
    } else if sys_len == 0 {
        0.0
    } else {
        (1.0 - ref_len as f64 / sys_len as f64).exp()
    }
}

/// sacrebleu's `my_log`: `ln(x)`, with `ln(0)` floored to -9999999999.
fn floored_log(x: f64) -> f64 {
    if x == 0.0 {
        -9_999_999_999.0
    } else {
        x.ln()
    }
}

/// Tokenizes one line like sacrebleu's `Tokenizer13a` (mteval-v13a): drops `<skipped>`,
/// joins `-\n` hyphenation, unescapes `&quot; &amp; &lt; &gt;`, splits off punctuation
/// (but not `.`/`,` inside numbers, nor `'`), and normalises whitespace to single spaces.
pub fn tokenize_13a(line: &str) -> String {
    let mut line = line
        .replace("<skipped>", "")
        .replace("-\n", "")
        .replace('\n', " ");
    if line.contains('&') {
        line = line
            .replace("&quot;", "\"")
            .replace("&amp;", "&")
            .replace("&lt;", "<")
            .replace("&gt;", ">");
    }
    tokenize_regexp(&format!(" {line} "))
}

/// sacrebleu's `TokenizerRegexp`: four regex substitutions, then whitespace collapse.
fn tokenize_regexp(line: &str) -> String {
    let chars: Vec<char> = line.chars().collect();
    let mut spaced = Vec::with_capacity(chars.len() * 2);
    // r'([\{-\~\[-\` -\&\(-\+\:-\@\/])' -> r' \1 '
    for c in chars {
        if is_13a_symbol(c) {
            spaced.extend([' ', c, ' ']);
        } else {
            spaced.push(c);
        }
    }
    let is_digit = |c: char| c.is_ascii_digit();
    let is_period_comma = |c: char| c == '.' || c == ',';
    // r'([^0-9])([\.,])' -> r'\1 \2 '
    let spaced = substitute_pairs(
        &spaced,
        |a, b| !is_digit(a) && is_period_comma(b),
        |a, b| [Some(a), Some(' '), Some(b), Some(' ')],
    );
    // r'([\.,])([^0-9])' -> r' \1 \2'
    let spaced = substitute_pairs(
        &spaced,
        |a, b| is_period_comma(a) && !is_digit(b),
        |a, b| [Some(' '), Some(a), Some(' '), Some(b)],
    );
    // r'([0-9])(-)' -> r'\1 \2 '
    let spaced = substitute_pairs(
        &spaced,
        |a, b| is_digit(a) && b == '-',
        |a, b| [Some(a), Some(' '), Some(b), Some(' ')],
    );
    let spaced: String = spaced.into_iter().collect();
    py_split(&spaced).collect::<Vec<_>>().join(" ")
}

/// The characters of the first 13a regex class: ASCII punctuation except `' , - .`,
/// plus the space.
fn is_13a_symbol(c: char) -> bool {
    matches!(c, '{'..='~' | '['..='`' | ' '..='&' | '('..='+' | ':'..='@' | '/')
}

/// Python's `re.sub` for a pattern of two single-character classes: scans left to
/// right and replaces non-overlapping matching pairs.
fn substitute_pairs(
    chars: &[char],
    matches: impl Fn(char, char) -> bool,
    replace: impl Fn(char, char) -> [Option<char>; 4],
) -> Vec<char> {
    let mut out = Vec::with_capacity(chars.len() + chars.len() / 2);
    let mut i = 0;
    while i < chars.len() {
        match chars.get(i + 1) {
            Some(&next) if matches(chars[i], next) => {
                out.extend(replace(chars[i], next).into_iter().flatten());
                i += 2;
            }
            _ => {
                out.push(chars[i]);
                i += 1;
            }
        }
    }
    out
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
            let got = corpus_bleu(&hyps, &refs);
            let want = &fx["corpus"][name]["bleu"];
            let num = |v: &serde_json::Value| v.as_f64().unwrap_or(f64::NAN);
            assert_close(got.score, num(&want["score"]), 1e-9, name);
            assert_close(got.bp, num(&want["bp"]), 1e-12, name);
            assert_eq!(Some(got.sys_len), want["sys_len"].as_u64(), "{name}");
            assert_eq!(Some(got.ref_len), want["ref_len"].as_u64(), "{name}");
            for n in 0..BLEU_MAX_ORDER {
                assert_eq!(Some(got.counts[n]), want["counts"][n].as_u64(), "{name}");
                assert_eq!(Some(got.totals[n]), want["totals"][n].as_u64(), "{name}");
                assert_close(got.precisions[n], num(&want["precisions"][n]), 1e-9, name);
            }
        }
    }

    #[test]
    fn tokenizer_13a_examples() {
        assert_eq!(
            tokenize_13a("Hello, world! It costs $1,000.50 (approx.)."),
            "Hello , world ! It costs $ 1,000.50 ( approx . ) ."
        );
        assert_eq!(tokenize_13a("10-20 a-b it's"), "10 - 20 a-b it's");
        assert_eq!(tokenize_13a("Tom &amp; Jerry<skipped>"), "Tom & Jerry");
        assert_eq!(tokenize_13a("   "), "");
    }

    #[test]
    fn empty_corpus_scores_zero() {
        let score = corpus_bleu(&[], &[]);
        assert_eq!(score.score, 0.0);
        assert_eq!(score.ratio(), 0.0);
    }
}
