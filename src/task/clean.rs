//! Turning raw model output into the plain English text kurz writes:
//! preambles and markup stripped, length bound enforced.

use super::chunk::sentences;

/// Line openings that introduce the answer instead of being part of it.
const PREAMBLES: &[&str] = &[
    "here is",
    "here's",
    "sure",
    "certainly",
    "of course",
    "summary:",
    "english summary",
    "the summary",
    "zusammenfassung",
    "translation:",
    "english translation",
    "here are",
];

/// Cleans a generated summary: drops preamble lines ("Here is a summary:"),
/// headings, list markers and emphasis, joins lines into prose and
/// normalises whitespace.
pub fn clean_summary(raw: &str) -> String {
    let mut lines: Vec<String> = raw
        .lines()
        .map(strip_markup)
        .filter(|l| !l.is_empty())
        .collect();
    while let Some(first) = lines.first() {
        if is_preamble(first) {
            lines.remove(0);
        } else {
            break;
        }
    }
    if let Some(first) = lines.first_mut() {
        *first = strip_inline_preamble(first);
    }
    let text = lines.join(" ");
    let text = collapse_whitespace(&text);
    strip_wrapping_quotes(&text)
}

/// Cleans a generated translation of one paragraph: drops a preamble line
/// ("Here is the translation:"), trailing notes ("Note: …") and wrapping
/// quotes, and joins its lines into one paragraph.
pub fn clean_translation(raw: &str) -> String {
    let mut lines: Vec<&str> = raw
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    if lines.len() > 1 && is_preamble(lines[0]) {
        lines.remove(0);
    }
    while lines.len() > 1 && is_trailing_note(lines[lines.len() - 1]) {
        lines.pop();
    }
    let joined = lines.join(" ");
    let joined = strip_inline_preamble(&joined);
    strip_wrapping_quotes(&collapse_whitespace(&joined))
}

fn is_trailing_note(line: &str) -> bool {
    let lower = line.to_lowercase();
    ["note:", "(note:", "translator's note", "please note"]
        .iter()
        .any(|p| lower.starts_with(p))
}

/// Enforces a word bound: text over `max_words` words is cut back to its
/// last complete sentence within the bound (or, when even the first
/// sentence is longer, to `max_words` words ending in "…"). When
/// `incomplete` is set (generation hit its token budget), a trailing
/// unfinished sentence is dropped even within the bound.
pub fn enforce_word_limit(text: &str, max_words: usize, incomplete: bool) -> String {
    let text = text.trim();
    let within = word_count(text) <= max_words;
    let ends_cleanly = ends_sentence(text);
    if within && (ends_cleanly || !incomplete) {
        return text.to_string();
    }
    let mut kept = String::new();
    for sentence in sentences(text) {
        let candidate = if kept.is_empty() {
            sentence.to_string()
        } else {
            format!("{kept} {sentence}")
        };
        if word_count(&candidate) > max_words || !ends_sentence(sentence) {
            break;
        }
        kept = candidate;
    }
    if !kept.is_empty() {
        return kept;
    }
    let words: Vec<&str> = text.split_whitespace().take(max_words).collect();
    let mut cut = words.join(" ");
    cut = cut.trim_end_matches([',', ';', ':']).to_string();
    if !ends_sentence(&cut) {
        cut.push('…');
    }
    cut
}

/// Words generated past the bound before a summary counts as settled: the
/// sentence that crosses the bound has started (and sentences ending within
/// the bound have their next word, which sentence splitting looks at).
const SETTLE_WORDS: usize = 3;

/// Whether the raw model output `raw` is already long enough that more
/// text cannot change its [`enforce_word_limit`]ed summary: once the
/// cleaned text runs `SETTLE_WORDS` words past `max_words`, the kept
/// sentences are fixed and the rest is cut anyway.
pub fn is_past_word_bound(raw: &str, max_words: usize) -> bool {
    word_count(&clean_summary(raw)) > max_words + SETTLE_WORDS
}

/// Number of whitespace-separated words.
pub fn word_count(text: &str) -> usize {
    text.split_whitespace().count()
}

fn ends_sentence(text: &str) -> bool {
    let trimmed = text.trim_end_matches(['"', '\'', '”', '’', ')', '»', '«']);
    trimmed.ends_with(['.', '!', '?', '…'])
}

fn strip_markup(line: &str) -> String {
    let mut l = line.trim();
    l = l.trim_start_matches('#').trim_start();
    for marker in ["- ", "* ", "• ", "> "] {
        if let Some(rest) = l.strip_prefix(marker) {
            l = rest.trim_start();
        }
    }
    l.replace("**", "").replace("__", "")
}

fn is_preamble(line: &str) -> bool {
    if line
        .split_once(':')
        .is_some_and(|(_, tail)| !tail.trim().is_empty())
    {
        return false; // "Summary: text" keeps its text (see strip_inline_preamble)
    }
    let lower = line.to_lowercase();
    let lower = lower.trim_matches(|c: char| c == '*' || c == '"');
    let short_or_colon = lower.ends_with(':') || lower.split_whitespace().count() <= 4;
    PREAMBLES.iter().any(|p| lower.starts_with(p)) && short_or_colon
        || lower == "summary"
        || lower == "english"
}

/// "Summary: The Bundestag …" → "The Bundestag …".
fn strip_inline_preamble(line: &str) -> String {
    let lower = line.to_lowercase();
    for label in [
        "summary:",
        "english summary:",
        "zusammenfassung:",
        "translation:",
    ] {
        if lower.starts_with(label) {
            return line[label.len()..].trim().to_string();
        }
    }
    if let Some((head, tail)) = line.split_once(':') {
        let head_lower = head.to_lowercase();
        if (head_lower.starts_with("here is") || head_lower.starts_with("here's"))
            && !tail.trim().is_empty()
        {
            return tail.trim().to_string();
        }
    }
    line.to_string()
}

fn collapse_whitespace(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn strip_wrapping_quotes(text: &str) -> String {
    let t = text.trim();
    let inner = t
        .strip_prefix('"')
        .and_then(|r| r.strip_suffix('"'))
        .filter(|inner| !inner.contains('"'));
    inner.unwrap_or(t).trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Stopping where `is_past_word_bound` first says so gives the same
    /// bounded summary as generating everything.
    #[test]
    fn stopping_past_the_word_bound_changes_nothing() {
        let answers = [
            "Here is a summary:\n\nFloods hit Saxony on Monday. The Mulde river reached 7.8 metres in Grimma, \
             where 2,300 people left their homes. Dr. Meier of the state office said the walls held. \
             The damage is estimated at 40 million euros. Rail lines to Leipzig are closed until Friday. \
             Schools stay shut. Volunteers filled sandbags through the night. More rain is expected.",
            "The GDL union called a 48-hour rail strike starting on Feb. 6 at 2 a.m., affecting passenger \
             and freight trains across Germany, and the operator said that about 80 percent of long-distance \
             trains would not run while regional services would be cut sharply in every state of the country \
             as talks on pay and working hours stalled again this week without any new offer on the table.",
            "- Point one is short.\n- Point two: the council approved 12 million euros for schools, roads and a new \
             swimming pool in the district.\n- Point three is about the mayor, who said the budget was fair. \
             Critics disagreed. The vote was 21 to 9. The plan takes effect in January. Taxes stay the same.",
        ];
        for max_words in [10, 20, 30, 40, 60] {
            for raw in answers {
                let full = enforce_word_limit(&clean_summary(raw), max_words, true);
                let words: Vec<&str> = raw.split(' ').collect();
                let stop = (1..=words.len())
                    .map(|n| words[..n].join(" "))
                    .find(|prefix| is_past_word_bound(prefix, max_words));
                if let Some(prefix) = stop {
                    assert!(prefix.len() < raw.len(), "stopped only at the end");
                    let early = enforce_word_limit(&clean_summary(&prefix), max_words, true);
                    assert_eq!(early, full, "max_words {max_words}, stopped at {prefix:?}");
                } else {
                    assert!(word_count(&full) <= max_words);
                }
            }
        }
    }

    #[test]
    fn a_short_answer_is_never_past_the_bound() {
        assert!(!is_past_word_bound("The council approved the budget.", 60));
        let long = "word ".repeat(64);
        assert!(is_past_word_bound(&long, 60));
        assert!(!is_past_word_bound(&"word ".repeat(63), 60));
    }

    #[test]
    fn strips_preamble_lines_and_markup() {
        let raw = "Here is a summary of the article:\n\n**The Bundestag** passed the budget.\n- It costs 5 billion euros.";
        assert_eq!(
            clean_summary(raw),
            "The Bundestag passed the budget. It costs 5 billion euros."
        );
    }

    #[test]
    fn strips_inline_labels() {
        assert_eq!(clean_summary("Summary: Rain fell."), "Rain fell.");
        assert_eq!(
            clean_summary("Here is the summary: Rain fell in Dresden."),
            "Rain fell in Dresden."
        );
        assert_eq!(clean_summary("# Flood\n\nRain fell."), "Flood Rain fell.");
    }

    #[test]
    fn keeps_sentences_that_merely_start_like_preambles() {
        let s = "Sure enough, the river rose by two metres in Pirna overnight.";
        assert_eq!(clean_summary(s), s);
    }

    #[test]
    fn removes_wrapping_quotes() {
        assert_eq!(clean_summary("\"Rain fell.\""), "Rain fell.");
    }

    #[test]
    fn translation_loses_preamble_and_notes_but_keeps_text() {
        let raw = "Here is the translation:\n\nThe river rose by two metres.\nNote: \"Pegel\" means gauge.";
        assert_eq!(clean_translation(raw), "The river rose by two metres.");
        assert_eq!(
            clean_translation("\"Rain fell.\nIt was cold.\""),
            "Rain fell. It was cold."
        );
    }

    #[test]
    fn word_limit_trims_to_last_complete_sentence() {
        let text = "One two three. Four five six. Seven eight nine ten.";
        assert_eq!(
            enforce_word_limit(text, 7, false),
            "One two three. Four five six."
        );
        assert_eq!(enforce_word_limit(text, 100, false), text);
    }

    #[test]
    fn incomplete_output_loses_its_unfinished_sentence() {
        let text = "The river rose. Officials said that";
        assert_eq!(enforce_word_limit(text, 60, true), "The river rose.");
        assert_eq!(enforce_word_limit(text, 60, false), text);
    }

    #[test]
    fn single_overlong_sentence_is_cut_at_the_bound() {
        let text = "a b c d e f g h";
        assert_eq!(enforce_word_limit(text, 3, true), "a b c…");
        assert!(word_count(&enforce_word_limit(text, 3, true)) <= 3);
    }
}
