//! English number conventions in English output.
//!
//! Models copy German number formats into their English answers: "a
//! 2,2-kilometer-long dam", "4,5 Millionen Euro", "1.500 people", "3,5 %".
//! [`english_numbers`] rewrites them the English way ("2.2-kilometer",
//! "4.5 million", "1,500", "3.5%") after cleaning, before the text is
//! written. What it touches, and what not:
//!
//! * **Decimal comma** between digits → point, when the part after the comma
//!   is not exactly three digits ("2,2" → "2.2", "0,75" → "0.75"); an
//!   English thousands group ("1,500", "2,300,000") stays. Three digits
//!   after the comma ("1,125") are read as a German decimal only when the
//!   German source writes that same number on its own, or the integer part
//!   is 0 ("0,125").
//! * **Mixed separators** "1.234,5" → "1,234.5"; English "1,234.5" stays.
//! * **German thousands dots** "1.500" → "1,500", "2.300.000" →
//!   "2,300,000": only groups of exactly three digits after a first group
//!   of 1–3 digits (not starting with 0), and only when the source writes
//!   the same number on its own (so the dot is the source's German
//!   convention, not a version, an English decimal or part of a phone
//!   number).
//! * **Scale and percent words** after a number: "Mio."/"Millionen" →
//!   "million", "Mrd."/"Milliarden" → "billion", "Billionen" → "trillion",
//!   "Prozent" → "percent", "Prozentpunkte" → "percentage points"; and
//!   "3.5 %" → "3.5%".
//! * Never touched: times ("14.30 Uhr", "10:30"), dates ("3.10.2024",
//!   "3. März"), versions ("2.1.3"), lists and ranges with spaces ("2, 3
//!   and 4"), numbers glued to letters ("A7", "B2,5") or to a slash, plus,
//!   underscore or a digit and hyphen before them ("0341/123.456",
//!   "97-123.456", phone numbers).
//!
//! The faithfulness guard reads both conventions (see
//! `crate::claims::normalize::number_values`): "4.5 million" is checked
//! against "4,5 Millionen" and "1,500" against "1.500", so a rewritten
//! number is supported exactly when the copied one was.

use std::collections::HashSet;

/// English text with its numbers rewritten, and how many rewrites were made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rewritten {
    /// The text in English number conventions.
    pub text: String,
    /// Numbers and number words rewritten (0: `text` is the input).
    pub count: usize,
}

/// Rewrites German number conventions in the English `text` (see the
/// module docs); `source` is the German article it was made from, which
/// decides the ambiguous cases.
pub fn english_numbers(text: &str, source: &str) -> Rewritten {
    let standalone = standalone_numbers(source);
    let mut out = String::with_capacity(text.len());
    let mut count = 0;
    let mut rest = text;
    let mut previous: Option<char> = None;
    let mut before_previous: Option<char> = None;
    while let Some(c) = rest.chars().next() {
        if c.is_ascii_digit() {
            let run = number_run(rest);
            let context = Context {
                previous,
                before_previous,
            };
            let (rewritten, used) = match split_thousands(rest, run, context, &standalone) {
                Some((joined, used)) => (joined, used),
                None => (rewrite_run(run, context, &standalone), run.len()),
            };
            if rewritten != rest[..used] {
                count += 1;
            }
            out.push_str(&rewritten);
            rest = &rest[used..];
            let (words, used, changed) = number_words(rest);
            out.push_str(&words);
            count += changed;
            rest = &rest[used..];
            let mut tail = out.chars().rev();
            previous = tail.next();
            before_previous = tail.next();
            continue;
        }
        out.push(c);
        rest = &rest[c.len_utf8()..];
        before_previous = previous;
        previous = Some(c);
    }
    Rewritten { text: out, count }
}

/// The characters before a number run.
#[derive(Debug, Clone, Copy)]
struct Context {
    previous: Option<char>,
    before_previous: Option<char>,
}

impl Context {
    /// Glued to a word or code: "A7", "B2,5", "Tel.0341".
    fn glued(self) -> bool {
        self.previous
            .is_some_and(|c| c.is_alphanumeric() || matches!(c, '.' | ',' | '_'))
    }

    /// Part of a phone number, path or code: after `/`, `+`, `:` or a
    /// hyphen that follows a digit ("97-123.456").
    fn code_like(self) -> bool {
        match self.previous {
            Some('/' | '+' | ':' | '#') => true,
            Some('-' | '\u{2010}' | '\u{2011}') => {
                self.before_previous.is_some_and(|c| c.is_ascii_digit())
            }
            _ => false,
        }
    }
}

/// The longest prefix of `text` (which starts with a digit) made of digits
/// and single `.`/`,` separators each followed by a digit.
fn number_run(text: &str) -> &str {
    let bytes = text.as_bytes();
    let mut end = 0;
    while let Some(&b) = bytes.get(end) {
        let separator =
            (b == b'.' || b == b',') && bytes.get(end + 1).is_some_and(u8::is_ascii_digit);
        if !(b.is_ascii_digit() || separator) {
            break;
        }
        end += 1;
    }
    &text[..end]
}

/// Number runs of the German `source` that stand on their own (not glued
/// to a word, not part of a code or phone number).
fn standalone_numbers(source: &str) -> HashSet<&str> {
    let mut found = HashSet::new();
    let mut previous: Option<char> = None;
    let mut before_previous: Option<char> = None;
    let mut rest = source;
    while let Some(c) = rest.chars().next() {
        if c.is_ascii_digit() {
            let run = number_run(rest);
            let context = Context {
                previous,
                before_previous,
            };
            if !context.glued() && !context.code_like() {
                found.insert(run);
            }
            rest = &rest[run.len()..];
            before_previous = run.chars().nth_back(1).or(previous);
            previous = run.chars().last();
            continue;
        }
        rest = &rest[c.len_utf8()..];
        before_previous = previous;
        previous = Some(c);
    }
    found
}

/// A German thousands number the model split with a space ("2, 300" for
/// the source's "2.300"): the joined English form ("2,300") and the bytes
/// of `rest` it replaces. Only when the source writes the number with its
/// dot, so a list ("2, 300 and 400") stays.
fn split_thousands(
    rest: &str,
    run: &str,
    context: Context,
    standalone: &HashSet<&str>,
) -> Option<(String, usize)> {
    if run.contains(['.', ',']) || run.len() > 3 || context.glued() || context.code_like() {
        return None;
    }
    let after = rest.get(run.len()..)?.strip_prefix(", ")?;
    let group = number_run(after);
    let whole = group.len() == 3 && group.bytes().all(|b| b.is_ascii_digit());
    (whole && standalone.contains(format!("{run}.{group}").as_str()))
        .then(|| (format!("{run},{group}"), run.len() + 2 + group.len()))
}

/// `run` in English conventions (unchanged when it already is, or when it
/// cannot be told).
fn rewrite_run(run: &str, context: Context, standalone: &HashSet<&str>) -> String {
    if context.glued() || !run.contains(['.', ',']) {
        return run.to_string();
    }
    let groups: Vec<&str> = run.split(['.', ',']).collect();
    let dots = run.matches('.').count();
    let commas = run.matches(',').count();
    let in_source = !context.code_like() && standalone.contains(run);
    let thousands_groups = |groups: &[&str]| {
        groups
            .first()
            .is_some_and(|g| (1..=3).contains(&g.len()) && !g.starts_with('0') && groups.len() >= 2)
            && groups[1..].iter().all(|g| g.len() == 3)
    };
    match (dots, commas) {
        // "1.234,5": German thousands dots and a decimal comma.
        (d, 1) if d >= 1 => {
            let (int, frac) = run.rsplit_once(',').unwrap_or((run, ""));
            let int_groups: Vec<&str> = int.split('.').collect();
            if thousands_groups(&int_groups) && !context.code_like() {
                format!("{}.{frac}", int_groups.join(","))
            } else {
                run.to_string()
            }
        }
        // "2,2", "0,125"; "1,125" only as the source writes it.
        (0, 1) => {
            let (int, frac) = (groups[0], groups[1]);
            // Phone numbers and codes do not use commas: a range
            // "2,5-3,5" is two decimals.
            let decimal = frac.len() != 3 || int.chars().all(|c| c == '0') || in_source;
            if decimal {
                format!("{int}.{frac}")
            } else {
                run.to_string()
            }
        }
        // "1.500", "2.300.000" as the source writes them.
        (d, 0) if d >= 1 => {
            if thousands_groups(&groups) && in_source {
                groups.join(",")
            } else {
                run.to_string()
            }
        }
        _ => run.to_string(),
    }
}

/// German scale and percent words that may follow a number, and their
/// English forms. A form ending in "." is an abbreviation.
const NUMBER_WORDS: &[(&str, &str)] = &[
    ("Millionen", "million"),
    ("Million", "million"),
    ("Mio.", "million"),
    ("Mio", "million"),
    ("Milliarden", "billion"),
    ("Milliarde", "billion"),
    ("Mrd.", "billion"),
    ("Mrd", "billion"),
    ("Billionen", "trillion"),
    ("Prozentpunkten", "percentage points"),
    ("Prozentpunkte", "percentage points"),
    ("Prozentpunkt", "percentage point"),
    ("Prozent", "percent"),
];

/// Words that may follow "Mio."/"Mrd." without the dot ending a sentence.
const UNIT_AFTER_SCALE: &[&str] = &[
    "Euro",
    "Dollar",
    "US-Dollar",
    "Franken",
    "Pfund",
    "Menschen",
    "Einwohner",
    "Tonnen",
];

/// The text right after a number: `" Mio."`, `" Prozent"`, `" %"` in English
/// form; returns the replacement, the bytes of `rest` it replaces and the
/// number of rewrites (0 or 1).
fn number_words(rest: &str) -> (String, usize, usize) {
    let Some(after_space) = rest.strip_prefix([' ', '\u{a0}', '\u{202f}']) else {
        return (String::new(), 0, 0);
    };
    if after_space.starts_with('%') {
        return ("%".to_string(), rest.len() - after_space.len() + 1, 1);
    }
    for (german, english) in NUMBER_WORDS {
        let Some(after) = after_space.strip_prefix(german) else {
            continue;
        };
        if after.chars().next().is_some_and(char::is_alphanumeric) {
            continue;
        }
        let used = rest.len() - after.len();
        let keep_dot = german.ends_with('.') && ends_sentence(after);
        let dot = if keep_dot { "." } else { "" };
        return (format!(" {english}{dot}"), used, 1);
    }
    (String::new(), 0, 0)
}

/// Whether an abbreviation's dot followed by `after` also ends a sentence:
/// at the end of the text or a line, or before a capitalised word that is
/// not a currency or counted noun ("4,5 Mio. Euro").
fn ends_sentence(after: &str) -> bool {
    if after.trim_start_matches([' ', '\t']).is_empty() || after.starts_with('\n') {
        return true;
    }
    let next = after.trim_start();
    let word: String = next
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '-')
        .collect();
    word.chars().next().is_some_and(char::is_uppercase) && !UNIT_AFTER_SCALE.contains(&&*word)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::claims::{unsupported, SourceIndex};

    /// The article the examples come from: German conventions throughout.
    const SOURCE: &str = "Der 2,2 Kilometer lange Deich kostet 4,5 Millionen Euro. \
        1.500 Menschen mussten ihre Häuser verlassen, 2.300.000 Euro Schaden. \
        Die Arbeitslosenquote stieg um 0,3 Prozentpunkte auf 5,8 Prozent. \
        Der Zinssatz liegt bei 1,125 Prozent. Am 3. März um 14.30 Uhr, \
        am 3.10.2024, Version 2.1.3, Telefon 0341/123.456 oder 0341 97-123.456. \
        Es kamen 1.234,5 Tonnen zusammen, 3,5 % mehr, 4,5 Mio. Euro, 2 Mrd. Euro.";

    fn en(text: &str) -> String {
        english_numbers(text, SOURCE).text
    }

    #[test]
    fn decimal_commas_become_points() {
        assert_eq!(
            en("The 2,2-kilometer-long dam costs 4,5 million euros."),
            "The 2.2-kilometer-long dam costs 4.5 million euros."
        );
        assert_eq!(
            en("It rose by 0,3 points to 5,8%."),
            "It rose by 0.3 points to 5.8%."
        );
        assert_eq!(en("0,125 and 3,14159"), "0.125 and 3.14159");
        // A range, with and without spaces.
        assert_eq!(en("2,5 bis 3,5 Meter"), "2.5 bis 3.5 Meter");
        assert_eq!(en("a 2,5-3,5 meter rise"), "a 2.5-3.5 meter rise");
        // A negative number.
        assert_eq!(en("at -4,5 degrees"), "at -4.5 degrees");
    }

    #[test]
    fn german_scale_and_percent_words_become_english() {
        assert_eq!(en("4,5 Millionen Euro"), "4.5 million Euro");
        assert_eq!(en("4,5 Mio. Euro were paid"), "4.5 million Euro were paid");
        assert_eq!(en("They paid 4,5 Mio."), "They paid 4.5 million.");
        assert_eq!(
            en("They paid 2 Mrd. The city"),
            "They paid 2 billion. The city"
        );
        assert_eq!(
            en("2 Milliarden and 1 Milliarde"),
            "2 billion and 1 billion"
        );
        assert_eq!(en("3 Billionen"), "3 trillion");
        assert_eq!(en("rose 5,8 Prozent"), "rose 5.8 percent");
        assert_eq!(en("0,3 Prozentpunkte"), "0.3 percentage points");
        assert_eq!(en("3,5 % more"), "3.5% more");
        assert_eq!(en("3,5\u{a0}% more"), "3.5% more");
        let r = english_numbers("4,5 Mio. Euro und 3,5 %", SOURCE);
        assert_eq!(r.count, 4, "{r:?}");
        // Not after a number, or part of a longer word: untouched.
        assert_eq!(
            en("Prozent and Millionenstadt"),
            "Prozent and Millionenstadt"
        );
        assert_eq!(en("5 Millionenstädte"), "5 Millionenstädte");
    }

    #[test]
    fn german_thousands_dots_become_commas_only_as_the_source_writes_them() {
        assert_eq!(en("1.500 people had to leave"), "1,500 people had to leave");
        assert_eq!(en("damage of 2.300.000 euros"), "damage of 2,300,000 euros");
        assert_eq!(en("1.234,5 tonnes"), "1,234.5 tonnes");
        // Not in the source: a dot might be an English decimal; left alone.
        assert_eq!(en("about 7.500 people"), "about 7.500 people");
        let r = english_numbers("1.500 people", "Es kamen 1.500 Menschen.");
        assert_eq!((r.text.as_str(), r.count), ("1,500 people", 1));
    }

    #[test]
    fn a_thousands_number_split_by_a_space_is_joined_only_as_the_source_writes_it() {
        let r = english_numbers("Mulde peaks - 2, 300 evacuated", "2.300 Menschen evakuiert");
        assert_eq!(
            (r.text.as_str(), r.count),
            ("Mulde peaks - 2,300 evacuated", 1)
        );
        // A list stays: the source has no "2.300".
        for text in ["sizes 2, 300 and 400", "2, 3000", "2, 30"] {
            let r = english_numbers(text, "Größen 2, 300 und 400");
            assert_eq!((r.text.as_str(), r.count), (text, 0), "{text}");
        }
    }

    #[test]
    fn three_digits_after_a_comma_are_a_decimal_only_as_the_source_writes_them() {
        // The source writes "1,125 Prozent": a German decimal.
        assert_eq!(en("a rate of 1,125 percent"), "a rate of 1.125 percent");
        // English thousands stay.
        assert_eq!(
            en("1,500 people and 2,300,000 euros"),
            "1,500 people and 2,300,000 euros"
        );
        assert_eq!(en("1,234.5 tonnes"), "1,234.5 tonnes");
        let r = english_numbers("1,500 people", "1.500 Menschen");
        assert_eq!((r.text.as_str(), r.count), ("1,500 people", 0));
    }

    #[test]
    fn times_dates_versions_phones_and_lists_are_left_alone() {
        for text in [
            "at 14.30 Uhr on 3. März",
            "at 14.30 on 3.10.2024",
            "on 3. March, at 10:30",
            "version 2.1.3 and 1.2",
            "call 0341/123.456 or 0341 97-123.456 or +49.341",
            "numbers 2, 3 and 4; 2,3,4; 7, 500",
            "the A7 and B2,5 and Tel.0341,5",
            "in 2024 the 12th of 3",
            "",
        ] {
            let r = english_numbers(text, SOURCE);
            assert_eq!((r.text.as_str(), r.count), (text, 0), "{text}");
        }
    }

    #[test]
    fn multibyte_text_around_numbers_survives() {
        let r = english_numbers("Größe: 2,5 m² – über 1.500 Menschen 😀", SOURCE);
        assert_eq!(r.text, "Größe: 2.5 m² – über 1,500 Menschen 😀");
        assert_eq!(r.count, 2);
        // Hostile input: never panics.
        for text in [
            "9".repeat(10_000),
            "1.".repeat(5000),
            "1,".repeat(5000) + "%",
        ] {
            let _ = english_numbers(&text, &text);
        }
    }

    /// A rewritten number is supported by the German article exactly when
    /// the copied German form was: both directions of the guard's reading.
    #[test]
    fn the_guard_matches_rewritten_numbers_to_the_german_article() {
        let index = SourceIndex::new(SOURCE);
        for copied in [
            "The 2,2-kilometer-long dam costs 4,5 million euros.",
            "1.500 people left; damage of 2.300.000 euros.",
            "Unemployment rose by 0,3 percentage points to 5,8 percent.",
            "4,5 Mio. euros and 1.234,5 tonnes",
        ] {
            let rewritten = en(copied);
            assert_ne!(rewritten, copied);
            assert!(unsupported(&rewritten, &index).is_empty(), "{rewritten}");
        }
        // English forms in the article are matched by the same summary too.
        let english_source = SourceIndex::new("Es kamen 4.5 million und 1,500 Menschen.");
        assert!(unsupported("4.5 million and 1,500 people", &english_source).is_empty());
        // A wrong number stays unsupported after the rewrite.
        let wrong = en("The dam costs 4,6 million euros.");
        assert_eq!(wrong, "The dam costs 4.6 million euros.");
        assert!(!unsupported(&wrong, &index).is_empty());
    }
}
