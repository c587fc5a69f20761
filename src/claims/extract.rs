//! Extraction of checkable claims (names, numbers, dates) from an English
//! summary.
//!
//! Order of passes: dates (month/weekday words and their day numbers), then
//! numbers (digits, spelled-out numbers, scale words, percentages), then name
//! runs over the tokens no earlier pass consumed.

use std::collections::HashSet;

use super::lexicon::is_english_word;
use super::normalize::AGE_UNIT;
use super::normalize::{
    date_key, fold_key, is_hyphen, joined, month_en, month_key, name_key, number_values, scale_en,
    scale_up, spelled_en, tokenize, translations, unit_en, unit_symbol, weekday_en, weekday_key,
    Reading, Token, TokenKind,
};
use super::{Claim, ClaimKind};

/// Common English words that start sentences (or are function words); a
/// capitalised token is not a name when it is one of these at a sentence
/// start.
const SENTENCE_STOP: &[&str] = &[
    "a",
    "about",
    "according",
    "additionally",
    "after",
    "against",
    "all",
    "also",
    "although",
    "amid",
    "among",
    "an",
    "and",
    "another",
    "any",
    "around",
    "as",
    "at",
    "authorities",
    "background",
    "based",
    "because",
    "before",
    "being",
    "besides",
    "between",
    "both",
    "but",
    "by",
    "critics",
    "currently",
    "despite",
    "due",
    "during",
    "each",
    "earlier",
    "either",
    "even",
    "every",
    "experts",
    "few",
    "finally",
    "first",
    "following",
    "for",
    "from",
    "further",
    "furthermore",
    "given",
    "he",
    "her",
    "here",
    "his",
    "how",
    "however",
    "i",
    "if",
    "in",
    "including",
    "instead",
    "into",
    "it",
    "its",
    "just",
    "key",
    "last",
    "later",
    "latest",
    "less",
    "like",
    "many",
    "meanwhile",
    "more",
    "moreover",
    "most",
    "much",
    "my",
    "neither",
    "new",
    "next",
    "no",
    "none",
    "nor",
    "not",
    "note",
    "now",
    "of",
    "officials",
    "on",
    "once",
    "only",
    "or",
    "other",
    "our",
    "over",
    "overall",
    "people",
    "per",
    "recently",
    "regarding",
    "reports",
    "residents",
    "second",
    "several",
    "she",
    "since",
    "so",
    "some",
    "sources",
    "still",
    "such",
    "summary",
    "that",
    "the",
    "their",
    "then",
    "there",
    "these",
    "they",
    "third",
    "this",
    "those",
    "though",
    "through",
    "thus",
    "to",
    "today",
    "tomorrow",
    "under",
    "unlike",
    "until",
    "upon",
    "we",
    "what",
    "when",
    "where",
    "whether",
    "which",
    "while",
    "who",
    "whose",
    "why",
    "with",
    "within",
    "without",
    "yet",
    "yesterday",
    "you",
    "your",
];

/// Role, title and institution words, and the common nouns of place names
/// ("Mulde River", "Bielefeld City"): never names, anywhere.
/// They split a run: "NATO Secretary General Mark Rutte" → "NATO", "Mark Rutte".
const ROLE_WORDS: &[&str] = &[
    "admiral",
    "agency",
    "ambassador",
    "army",
    "athlete",
    "biathlete",
    "bishop",
    "cabinet",
    "captain",
    "ceo",
    "chair",
    "chairman",
    "chairwoman",
    "champion",
    "chancellor",
    "chief",
    "city",
    "coach",
    "colonel",
    "commission",
    "commissioner",
    "committee",
    "council",
    "county",
    "court",
    "defence",
    "defender",
    "defense",
    "deputy",
    "director",
    "district",
    "dr",
    "ex",
    "foreign",
    "former",
    "general",
    "goalkeeper",
    "government",
    "governor",
    "gp",
    "head",
    "interior",
    "judge",
    "king",
    "lake",
    "leader",
    "manager",
    "mayor",
    "midfielder",
    "military",
    "minister",
    "ministry",
    "mr",
    "mrs",
    "ms",
    "office",
    "parliament",
    "party",
    "player",
    "police",
    "pope",
    "premier",
    "president",
    "prime",
    "prince",
    "prof",
    "professor",
    "queen",
    "referee",
    "region",
    "regional",
    "republic",
    "river",
    "secretary",
    "senate",
    "senator",
    "speaker",
    "spokesman",
    "spokesperson",
    "spokeswoman",
    "state",
    "striker",
    "substitute",
    "union",
    "vice",
    "winner",
];

/// Endings of English common nouns/adverbs; a sentence-initial word with one
/// of them that is not followed by another capitalised word is not a name
/// ("Elections were held", "Initially, ...").
const COMMON_EN_SUFFIXES: &[&str] = &[
    "tion", "tions", "sion", "sions", "ment", "ments", "ness", "ity", "ities", "ings", "ly",
];

/// Endings of English abstract nouns that are not names even inside a
/// capitalised run ("Federal Agency for Employment", "Ministry of
/// Transportation"); only words of at least [`ABSTRACT_NOUN_MIN_LEN`]
/// letters count, which keeps names such as "Clement" or "Trinity".
const ABSTRACT_NOUN_SUFFIXES: &[&str] = &[
    "ment", "ments", "tion", "tions", "sion", "sions", "ity", "ities",
];

/// Shortest word that [`ABSTRACT_NOUN_SUFFIXES`] applies to.
const ABSTRACT_NOUN_MIN_LEN: usize = 8;

/// Lower-case name particles allowed inside a run when a capitalised word
/// follows ("Ursula von der Leyen", "Bashar al-Assad", "Bank of England").
pub(crate) const CONNECTORS: &[&str] = &[
    "al", "bin", "da", "de", "del", "der", "di", "dos", "du", "el", "ibn", "la", "le", "of", "ter",
    "van", "von", "zu",
];

/// Words allowed between a number and its counted noun ("500 new jobs").
const UNIT_MODIFIERS: &[&str] = &[
    "new",
    "more",
    "additional",
    "extra",
    "further",
    "fewer",
    "other",
    "full",
    "part",
    "time",
    "permanent",
    "local",
];

/// Words before "May" that make it the month, not a name or verb.
const DATE_LEAD_INS: &[&str] = &[
    "in",
    "since",
    "until",
    "by",
    "early",
    "late",
    "mid",
    "of",
    "last",
    "next",
    "this",
    "from",
    "through",
    "till",
    "during",
    "end",
    "beginning",
];

/// Extracts name and number claims from an English summary, deduplicated by
/// normalised form, in order of first appearance.
pub fn extract_claims(summary: &str) -> Vec<Claim> {
    let tokens = tokenize(summary);
    let lowercase = tokens
        .iter()
        .filter(|t| t.is_lowercase_word())
        .map(|t| fold_key(t.text))
        .collect();
    let mut ex = Extractor {
        text: summary,
        used: vec![false; tokens.len()],
        tokens,
        lowercase,
        found: Vec::new(),
    };
    ex.dates();
    ex.numbers();
    ex.names();
    ex.finish()
}

struct Extractor<'a> {
    text: &'a str,
    tokens: Vec<Token<'a>>,
    used: Vec<bool>,
    /// Folded forms of words that also occur in lower case.
    lowercase: HashSet<String>,
    found: Vec<(usize, Claim)>,
}

impl Extractor<'_> {
    fn adjacent(&self, a: usize, b: usize) -> bool {
        match (self.tokens.get(a), self.tokens.get(b)) {
            (Some(x), Some(y)) => b == a + 1 && joined(self.text, x, y),
            _ => false,
        }
    }

    fn word_key(&self, i: usize) -> Option<String> {
        self.tokens
            .get(i)
            .filter(|t| t.kind == TokenKind::Word)
            .map(|t| fold_key(t.text))
    }

    fn emit(&mut self, first: usize, last: usize, kind: ClaimKind, normalized: String) {
        let (Some(a), Some(b)) = (self.tokens.get(first), self.tokens.get(last)) else {
            return;
        };
        let end = if kind == ClaimKind::Name {
            b.end
        } else {
            b.span_end
        };
        let text = self.text.get(a.start..end).unwrap_or("").to_string();
        for flag in self.used.iter_mut().take(last + 1).skip(first) {
            *flag = true;
        }
        let claim = Claim {
            kind,
            text,
            normalized,
        };
        self.found.push((a.start, claim));
    }

    fn finish(mut self) -> Vec<Claim> {
        self.found.sort_by_key(|(pos, _)| *pos);
        let mut seen = HashSet::new();
        self.found
            .into_iter()
            .map(|(_, c)| c)
            .filter(|c| seen.insert(c.normalized.clone()))
            .collect()
    }

    // -- dates --------------------------------------------------------------

    fn dates(&mut self) {
        for i in 0..self.tokens.len() {
            let Some(key) = self.word_key(i) else {
                continue;
            };
            if self.used[i] || !self.tokens[i].is_capitalised() {
                continue;
            }
            if let Some(day) = weekday_en(&key) {
                self.emit(i, i, ClaimKind::Number, weekday_key(day));
            } else if let Some(month) = month_en(&key) {
                self.month_at(i, month, &key);
            }
        }
    }

    fn month_at(&mut self, i: usize, month: u8, key: &str) {
        if let Some((first, last, day)) = self.day_near(i) {
            self.emit(first, last, ClaimKind::Number, date_key(month, day));
        } else if key != "may" || self.may_is_month(i) {
            self.emit(i, i, ClaimKind::Number, month_key(month));
        }
    }

    /// A day-of-month number (1–31, plain digits, possibly ordinal).
    fn day_value(&self, i: usize) -> Option<u8> {
        let t = self.tokens.get(i)?;
        if t.kind != TokenKind::Number || self.used[i] || t.text.len() > 2 {
            return None;
        }
        t.text.parse::<u8>().ok().filter(|d| (1..=31).contains(d))
    }

    /// Finds "March 12", "12 March", "12th of March" around month token `i`.
    fn day_near(&self, i: usize) -> Option<(usize, usize, u8)> {
        if self.adjacent(i, i + 1) {
            if let Some(d) = self.day_value(i + 1) {
                return Some((i, i + 1, d));
            }
        }
        let before = i.checked_sub(1)?;
        if self.adjacent(before, i) {
            if let Some(d) = self.day_value(before) {
                return Some((before, i, d));
            }
        }
        let of_before = before.checked_sub(1)?;
        let is_of = self.word_key(before).as_deref() == Some("of");
        let chain = self.adjacent(of_before, before) && self.adjacent(before, i);
        let day = self.day_value(of_before).filter(|_| is_of && chain)?;
        Some((of_before, i, day))
    }

    /// "May" is a month only after a date lead-in or before a year.
    fn may_is_month(&self, i: usize) -> bool {
        let lead_in = i
            .checked_sub(1)
            .and_then(|p| self.word_key(p))
            .is_some_and(|k| DATE_LEAD_INS.contains(&k.as_str()));
        let year_after = self
            .tokens
            .get(i + 1)
            .is_some_and(|t| t.kind == TokenKind::Number && t.text.len() == 4);
        lead_in || year_after
    }

    // -- numbers ------------------------------------------------------------

    fn numbers(&mut self) {
        let mut i = 0;
        while i < self.tokens.len() {
            match self.number_at(i) {
                Some((last, value)) => {
                    let (last, mut normalized) = self.with_suffixes(last, value);
                    let (mut first, mut end) = (i, last);
                    if let Some((from, to, unit)) = self.unit_of(i, last, &normalized) {
                        normalized = format!("{normalized} {unit}");
                        (first, end) = (from, to);
                    }
                    self.emit(first, end, ClaimKind::Number, normalized);
                    i = end + 1;
                }
                None => i += 1,
            }
        }
    }

    /// Value of the number starting at token `i` and its last token.
    fn number_at(&self, i: usize) -> Option<(usize, String)> {
        if self.used.get(i).copied().unwrap_or(true) {
            return None;
        }
        let t = self.tokens.get(i)?;
        if t.kind == TokenKind::Number {
            let value = number_values(t.text, Reading::Summary).into_iter().next()?;
            return Some((i, value));
        }
        let key = self.word_key(i)?;
        if let Some(v) = spelled_en(&key) {
            return self.spelled_at(i, &key, v);
        }
        let zeros = scale_en(&key).filter(|_| key != "mn" && key != "bn")?;
        Some((i, scale_up("1", zeros)))
    }

    /// Spelled-out number at `i` ("two", "twenty-five"); skips idiomatic
    /// "one" ("one of", "no one").
    fn spelled_at(&self, i: usize, key: &str, value: u64) -> Option<(usize, String)> {
        if key == "one" && self.idiomatic_one(i) {
            return None;
        }
        let unit = self
            .word_key(i + 1)
            .and_then(|k| spelled_en(&k))
            .filter(|u| *u < 10 && value >= 20 && self.adjacent(i, i + 1));
        match unit {
            Some(u) => Some((i + 1, (value + u).to_string())),
            None => Some((i, value.to_string())),
        }
    }

    fn idiomatic_one(&self, i: usize) -> bool {
        let next = self.word_key(i + 1).unwrap_or_default();
        let prev = i
            .checked_sub(1)
            .and_then(|p| self.word_key(p))
            .unwrap_or_default();
        ["of", "another"].contains(&next.as_str())
            || ["no", "any", "every", "each", "the", "this", "that", "which"]
                .contains(&prev.as_str())
    }

    /// Applies a following scale word and percent marker.
    fn with_suffixes(&self, mut last: usize, mut value: String) -> (usize, String) {
        if value.contains(':') {
            return (last, value);
        }
        if let Some(zeros) = self.word_key(last + 1).and_then(|k| scale_en(&k)) {
            if self.is_close(last, last + 1) {
                value = scale_up(&value, zeros);
                last += 1;
            }
        }
        if let Some(end) = self.percent_after(last) {
            value.push('%');
            last = end;
        }
        (last, value)
    }

    /// Like `adjacent` but also allows no gap at all ("5bn").
    fn is_close(&self, a: usize, b: usize) -> bool {
        self.adjacent(a, b)
            || matches!((self.tokens.get(a), self.tokens.get(b)), (Some(x), Some(y)) if x.span_end == y.start)
    }

    /// Last token of "%", "percent", "per cent", "percentage points".
    fn percent_after(&self, last: usize) -> Option<usize> {
        let next = self.tokens.get(last + 1)?;
        if next.is_punct('%') {
            return Some(last + 1);
        }
        match self.word_key(last + 1)?.as_str() {
            "percent" => Some(last + 1),
            "percentage" => match self.word_key(last + 2).as_deref() {
                Some("point" | "points") if self.adjacent(last + 1, last + 2) => Some(last + 2),
                _ => Some(last + 1),
            },
            "per" if self.word_key(last + 2).as_deref() == Some("cent") => Some(last + 2),
            _ => None,
        }
    }

    /// The unit or counted noun of the number at tokens `first..=last`, with
    /// the token range the claim then covers: a currency symbol right before
    /// it ("€12 million"), or a unit word after it, up to two modifiers away
    /// ("40 kilometres", "277-year-old", "500 new jobs", "35 °C"). Times,
    /// percentages (marked already), ordinals, decades and years as dates
    /// ("2024") get none, and so does a number with an unknown suffix glued
    /// to it ("€12m": "m" could be million or metres).
    fn unit_of(
        &self,
        first: usize,
        last: usize,
        normalized: &str,
    ) -> Option<(usize, usize, &'static str)> {
        if normalized.contains(':') || normalized.ends_with('%') {
            return None;
        }
        let head = self.tokens.get(first)?;
        if head.kind == TokenKind::Number {
            let suffixed = head.span_end != head.end;
            let year_like = first == last
                && head.text.len() == 4
                && head
                    .text
                    .parse::<u16>()
                    .is_ok_and(|y| (1800..=2100).contains(&y));
            if suffixed || year_like {
                return None;
            }
        }
        let glued = self.tokens.get(last + 1).filter(|n| {
            n.kind == TokenKind::Word
                && self.tokens.get(last).is_some_and(|t| t.span_end == n.start)
        });
        if let Some(g) = glued {
            let unit = unit_en(&fold_key(g.text))?;
            return Some((first, last + 1, unit));
        }
        if let Some(prev) = first.checked_sub(1) {
            let symbol = self.tokens.get(prev).filter(|p| p.kind == TokenKind::Punct);
            if let Some(unit) = symbol.and_then(|p| unit_symbol(p.text)) {
                let close = self.text.get(self.tokens[prev].end..head.start);
                if close.is_some_and(|gap| gap.chars().all(|c| c == ' ')) {
                    return Some((prev, last, unit));
                }
            }
        }
        self.unit_after(last).map(|(to, unit)| (first, to, unit))
    }

    /// A unit word or symbol after the number ending at token `last`, with
    /// the unit's last token.
    fn unit_after(&self, last: usize) -> Option<(usize, &'static str)> {
        let next = self.tokens.get(last + 1)?;
        if next.kind == TokenKind::Punct {
            let unit = unit_symbol(next.text).filter(|u| *u != "%")?;
            let gap = self.text.get(self.tokens[last].span_end..next.start)?;
            if !gap.chars().all(|c| c == ' ') {
                return None;
            }
            let celsius = self.word_key(last + 2).as_deref() == Some("c")
                && self.tokens[last + 2].start == next.end;
            return Some((last + 1 + usize::from(celsius), unit));
        }
        let mut k = last + 1;
        while k <= last + 2
            && self.adjacent(k - 1, k)
            && self
                .word_key(k)
                .is_some_and(|w| UNIT_MODIFIERS.contains(&w.as_str()))
        {
            k += 1;
        }
        if !self.adjacent(k - 1, k) {
            return None;
        }
        let unit = unit_en(&self.word_key(k)?)?;
        let following = self.word_key(k + 1).filter(|_| self.adjacent(k, k + 1));
        match (unit, following.as_deref()) {
            // An age: "277-year-old", "80 years old".
            ("year", Some("old")) => Some((k + 1, AGE_UNIT)),
            ("kw" | "mw" | "gw" | "tw", Some("hour" | "hours")) => Some((k + 1, unit)),
            _ => Some((k, unit)),
        }
    }

    // -- names --------------------------------------------------------------

    fn is_name_token(&self, i: usize) -> bool {
        let Some(t) = self.tokens.get(i) else {
            return false;
        };
        if self.used[i] || !t.is_capitalised() {
            return false;
        }
        let key = fold_key(t.text);
        if key.chars().count() < 2 || ROLE_WORDS.contains(&key.as_str()) || is_abstract_noun(&key) {
            return false;
        }
        if weekday_en(&key).is_some() || (month_en(&key).is_some() && key != "may") {
            return false;
        }
        !(t.sentence_start && self.common_sentence_starter(i, &key))
    }

    /// A sentence-initial word that is not a name: one from the stop list,
    /// or a word that no further name word follows ("Heavy rain fell",
    /// "Scientists found", "Finance Minister …") and that is a common
    /// English word ([`is_english_word`]), occurs in lower case elsewhere in
    /// the summary, or has a common-noun ending. Acronyms ("NATO said") and
    /// names of the translation table ("Germany plans") are always claims.
    /// The price: a lone surname that is also an English word ("Trump
    /// said") is not claimed at a sentence start.
    fn common_sentence_starter(&self, i: usize, key: &str) -> bool {
        if SENTENCE_STOP.contains(&key) {
            return true;
        }
        let Some(t) = self.tokens.get(i) else {
            return false;
        };
        let acronym = t.text.chars().count() >= 2 && !t.text.chars().any(char::is_lowercase);
        if acronym || translations(key).is_some() {
            return false;
        }
        let next_is_name = self.adjacent(i, i + 1) && self.is_name_token(i + 1);
        let common_suffix =
            key.chars().count() >= 6 && COMMON_EN_SUFFIXES.iter().any(|s| key.ends_with(s));
        !next_is_name && (is_english_word(key) || self.lowercase.contains(key) || common_suffix)
    }

    fn is_connector(&self, i: usize) -> bool {
        self.tokens
            .get(i)
            .is_some_and(|t| !self.used[i] && t.is_lowercase_word() && CONNECTORS.contains(&t.text))
    }

    /// Index of the next run member after `j`, with any connectors skipped.
    fn extend_run(&self, j: usize) -> Option<usize> {
        let mut k = j + 1;
        if !self.adjacent(j, k) {
            return None;
        }
        while self.is_connector(k) && self.adjacent(k, k + 1) {
            k += 1;
        }
        self.is_name_token(k).then_some(k)
    }

    /// Multi-word table entries that contain role words or lower-case
    /// particles ("European Union", "United States", "Alternative for
    /// Germany") are claimed whole before role words split runs.
    fn table_names(&mut self) {
        for i in 0..self.tokens.len() {
            let longest = (1..=3).rev().find(|&len| self.table_span(i, i + len));
            if let Some(len) = longest {
                let key = self.span_key(i, i + len);
                self.emit(i, i + len, ClaimKind::Name, key);
            }
        }
    }

    fn span_key(&self, first: usize, last: usize) -> String {
        let (Some(a), Some(b)) = (self.tokens.get(first), self.tokens.get(last)) else {
            return String::new();
        };
        name_key(
            &self
                .text
                .get(a.start..b.end)
                .unwrap_or("")
                .replace(is_hyphen, " "),
        )
    }

    /// Tokens `first..=last` are adjacent, unused, start and end capitalised,
    /// and form a key of the translation table.
    fn table_span(&self, first: usize, last: usize) -> bool {
        let ends = [first, last]
            .iter()
            .all(|&k| self.tokens.get(k).is_some_and(Token::is_capitalised));
        ends && (first..=last).all(|k| self.used.get(k) == Some(&false))
            && (first..last).all(|k| self.adjacent(k, k + 1))
            && translations(&self.span_key(first, last)).is_some()
    }

    fn names(&mut self) {
        self.table_names();
        let mut i = 0;
        while i < self.tokens.len() {
            if !self.is_name_token(i) {
                i += 1;
                continue;
            }
            let mut last = i;
            while let Some(next) = self.extend_run(last) {
                last = next;
            }
            let end = self.tokens[last].end;
            let text = self.text.get(self.tokens[i].start..end).unwrap_or("");
            let normalized = name_key(text);
            self.emit(i, last, ClaimKind::Name, normalized);
            i = last + 1;
        }
    }
}

/// A long English word with an abstract-noun ending that the translation
/// table does not know as a name.
fn is_abstract_noun(key: &str) -> bool {
    key.chars().count() >= ABSTRACT_NOUN_MIN_LEN
        && ABSTRACT_NOUN_SUFFIXES.iter().any(|s| key.ends_with(s))
        && translations(key).is_none()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(summary: &str) -> Vec<String> {
        extract_claims(summary)
            .into_iter()
            .map(|c| c.text)
            .collect()
    }

    fn normalized(summary: &str) -> Vec<String> {
        extract_claims(summary)
            .into_iter()
            .map(|c| c.normalized)
            .collect()
    }

    #[test]
    fn long_abstract_nouns_are_not_names() {
        assert_eq!(
            texts("The Federal Agency for Employment in Stuttgart and the Ministry of Transportation."),
            vec!["Federal", "Stuttgart"]
        );
        assert_eq!(
            texts("Pope Clement met Trinity Lopez."),
            vec!["Clement", "Trinity Lopez"]
        );
    }

    #[test]
    fn role_words_split_runs() {
        assert_eq!(
            texts("NATO Secretary General Mark Rutte met Trump."),
            vec!["NATO", "Mark Rutte", "Trump"]
        );
    }

    #[test]
    fn hyphenated_roles_are_not_names() {
        assert_eq!(
            texts("NATO Secretary-General Jens Stoltenberg met Trump."),
            vec!["NATO", "Jens Stoltenberg", "Trump"]
        );
    }

    #[test]
    fn sentence_initial_stop_words_are_skipped() {
        assert_eq!(
            texts("The meeting took place. After that, Rutte left. However, Trump stayed."),
            vec!["Rutte", "Trump"]
        );
    }

    #[test]
    fn sentence_initial_word_used_in_lower_case_is_common() {
        assert_eq!(
            texts("Soldiers arrived. The soldiers left."),
            Vec::<String>::new()
        );
        assert_eq!(
            texts("Elections follow. Initially, Rutte agreed."),
            vec!["Rutte"]
        );
        assert_eq!(texts("Soldiers Trump sent."), vec!["Soldiers Trump"]);
    }

    #[test]
    fn possessive_is_stripped_and_breaks_run() {
        let claims = extract_claims("Biden's Palm Beach estate hosted talks.");
        let t: Vec<&str> = claims.iter().map(|c| c.text.as_str()).collect();
        assert_eq!(t, vec!["Biden", "Palm Beach"]);
        assert_eq!(claims[1].normalized, "palm beach");
    }

    #[test]
    fn connectors_join_only_before_capitalised_words() {
        assert_eq!(
            texts("It met Ursula von der Leyen and Bashar al-Assad in the Bank of England."),
            vec!["Ursula von der Leyen", "Bashar al-Assad", "Bank of England"]
        );
        assert_eq!(texts("It was Rutte of all people."), vec!["Rutte"]);
    }

    #[test]
    fn acronyms_count_as_names() {
        assert_eq!(
            texts("It involves NATO, the EU and the U.S. government."),
            vec!["NATO", "EU", "U.S."]
        );
        assert_eq!(normalized("It involves the U.S. too."), vec!["us"]);
    }

    #[test]
    fn dates_in_all_orders() {
        assert_eq!(
            normalized("Biden leaves office on January 20, 2025. He won on 5 November."),
            vec!["biden", "--01-20", "2025", "--11-05"]
        );
        assert_eq!(normalized("It ends on the 12th of March."), vec!["--03-12"]);
        assert_eq!(
            normalized("Rutte took office in October."),
            vec!["rutte", "--10"]
        );
    }

    #[test]
    fn weekdays_are_date_claims() {
        let claims = extract_claims("They met on Friday.");
        assert_eq!(claims.len(), 1);
        assert_eq!(claims[0].kind, ClaimKind::Number);
        assert_eq!(claims[0].normalized, "-W-5");
    }

    #[test]
    fn table_phrases_with_role_words_stay_whole() {
        assert_eq!(
            texts("The European Union, the United States and Alternative for Germany met."),
            vec!["European Union", "United States", "Alternative for Germany"]
        );
    }

    #[test]
    fn may_is_a_month_only_in_date_context() {
        assert_eq!(normalized("Elections are held in May."), vec!["--05"]);
        assert_eq!(normalized("It met Theresa May."), vec!["theresa may"]);
    }

    #[test]
    fn numbers_with_scale_and_percent() {
        assert_eq!(
            normalized("About 2.3 million people, 3.2 percent, 7,500 troops and 5%."),
            vec!["2300000 person", "3.2%", "7500", "5%"]
        );
        assert_eq!(normalized("It costs $5bn."), vec!["5000000000 usd"]);
        assert_eq!(normalized("It rose 1.5 per cent."), vec!["1.5%"]);
    }

    #[test]
    fn spelled_numbers() {
        assert_eq!(
            normalized("Two days later, twenty-five people and a thousand soldiers came."),
            vec!["2 day", "25 person", "1000"]
        );
        assert_eq!(
            normalized("He is one of the leaders."),
            Vec::<String>::new()
        );
    }

    #[test]
    fn years_decades_and_times() {
        assert_eq!(
            normalized("In 2024 and the 1990s, at 10:30."),
            vec!["2024", "1990", "10:30"]
        );
    }

    #[test]
    fn claims_are_deduplicated_in_order() {
        assert_eq!(
            texts("Rutte met Trump. Trump's team met Rutte again in 2024 and 2024."),
            vec!["Rutte", "Trump", "2024"]
        );
    }

    #[test]
    fn claim_text_is_as_written() {
        let claims = extract_claims("Some 10,000 North Korean soldiers are in Kursk.");
        let t: Vec<&str> = claims.iter().map(|c| c.text.as_str()).collect();
        assert_eq!(t, vec!["10,000", "North Korean", "Kursk"]);
        assert_eq!(claims[0].normalized, "10000");
    }

    #[test]
    fn empty_and_noise_inputs() {
        assert!(extract_claims("").is_empty());
        assert!(extract_claims("... -- !!").is_empty());
        assert!(extract_claims("lower case only, no claims here").is_empty());
    }
}
