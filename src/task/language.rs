//! Checking that model output is English.
//!
//! A small model asked for an English summary or translation sometimes
//! answers in German (or copies the source), now and then in French, Dutch
//! or Spanish. [`check_english`] tells these apart from English, including
//! short texts where whatlang alone is unreliable, by combining two signals:
//!
//! 1. **Function words.** The share of very common English function words
//!    (*the, of, and, to, is, for, that, with, …*) against very common German
//!    ones (*der, und, ist, nicht, mit, für, sich, auch, …*). Words spelled
//!    the same in both languages (*in, an, was, will, war, also, so, man*)
//!    count for neither. German names and numbers stay in a faithful English
//!    text ("Bundesagentur für Arbeit", "Landgericht Münster", "Die Linke"):
//!    numbers are not words here, capitalised German articles inside a
//!    sentence (*Die Linke*, *Der Spiegel*) are taken for names, and the
//!    German function words a name brings are outnumbered by the English
//!    text around it.
//! 2. **whatlang**, restricted to [`ALLOWLIST`] (the languages output goes
//!    wrong into, plus a few scripts), for texts without a clear
//!    function-word verdict and to name a language other than German.
//!
//! Measured on WMT22 de→en general-test (1,984 lines per file; "long" =
//! at least 6 whitespace-separated words, "short" = fewer):
//!
//! | file                      | should be | long lines flagged   | short lines flagged | short: too short to tell |
//! |---------------------------|-----------|----------------------|---------------------|--------------------------|
//! | `ref.A.en`                | English   | 0 / 1,821 (0.00%)    | 0 / 163             | 45                       |
//! | `hyp.Online-B.en`         | English   | 0 / 1,779 (0.00%)    | 0 / 205             | 57                       |
//! | `hyp.JDExploreAcademy.en` | English   | 0 / 1,789 (0.00%)    | 0 / 195             | 51                       |
//! | `src.de`                  | German    | 1,773 / 1,776 (99.8%)| 165 / 208 (79.3%)   | 37                       |
//!
//! The German lines missed are headlines without a function word
//! ("Nordische Kombination: Kombinierer Riiber gewinnt"), greetings
//! ("Hallo an alle,") and one English quotation in the German file.
//! Without the name rules (see `signals`) two English headlines were
//! flagged ("Darmstadt second after first series - Pauli wins in
//! Düsseldorf").
//!
//! (`measure_on_wmt22`, an ignored test, prints these figures.)

use serde::Serialize;
use whatlang::{Detector, Lang};

use crate::input::language::iso_639_1;

/// Result of checking whether a text is English.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "language", rename_all = "snake_case")]
pub enum LanguageCheck {
    /// The text reads as English.
    English,
    /// The text reads as another language.
    NotEnglish {
        /// ISO 639-1 code of the likely language, e.g. `de` (whatlang's
        /// ISO 639-3 code where there is no mapping).
        code: &'static str,
        /// How sure the check is, from 0.0 to 1.0.
        confidence: f64,
    },
    /// Too little text to tell (fewer than [`MIN_WORDS`] words, or a short
    /// text without a clear signal).
    TooShortToTell,
}

impl LanguageCheck {
    /// Whether the text counts as English: English or too short to tell.
    pub fn is_english(&self) -> bool {
        !matches!(self, LanguageCheck::NotEnglish { .. })
    }
}

/// Texts with fewer words than this are never judged.
pub const MIN_WORDS: usize = 3;

/// Texts with fewer words than this, and no clear signal, are too short to
/// tell; longer ones without a clear signal count as English.
const SHORT_WORDS: usize = 6;

/// Minimum share of English function words among the words for the
/// function words alone to call a text English.
const MIN_ENGLISH_DENSITY: f64 = 0.15;

/// Languages whatlang may answer: English, the languages output goes wrong
/// into, and a few other scripts (so that such text is never taken for
/// English).
pub const ALLOWLIST: &[Lang] = &[
    Lang::Eng,
    Lang::Deu,
    Lang::Fra,
    Lang::Spa,
    Lang::Ita,
    Lang::Nld,
    Lang::Por,
    Lang::Pol,
    Lang::Swe,
    Lang::Dan,
    Lang::Nob,
    Lang::Tur,
    Lang::Ces,
    Lang::Rus,
    Lang::Ukr,
    Lang::Cmn,
    Lang::Jpn,
    Lang::Kor,
    Lang::Ara,
];

/// Very common English words that are not also common German words.
const ENGLISH_WORDS: &[&str] = &[
    "the", "of", "and", "to", "is", "for", "on", "that", "with", "as", "by", "at", "from", "it",
    "its", "it's", "this", "be", "are", "were", "has", "have", "had", "not", "but", "or", "which",
    "who", "their", "they", "he", "she", "his", "her", "been", "would", "said", "after", "about",
    "more", "than", "into", "there", "what", "when", "can", "a", "we", "you", "i", "my", "our",
    "do", "does", "did", "these", "those", "should", "could", "if", "no", "all", "out", "up",
    "because", "how", "why", "them", "your", "over", "being", "just", "only", "very", "some",
    "any", "other", "then", "now", "where", "while", "before", "against", "between", "without",
    "don't", "can't", "isn't", "i'm", "we're", "you're", "they're", "that's", "there's",
];

/// Very common German words that are not also common English words.
const GERMAN_WORDS: &[&str] = &[
    "der",
    "die",
    "das",
    "und",
    "ist",
    "nicht",
    "mit",
    "für",
    "von",
    "den",
    "dem",
    "des",
    "ein",
    "eine",
    "einen",
    "einem",
    "einer",
    "eines",
    "auf",
    "sich",
    "auch",
    "es",
    "zu",
    "im",
    "dass",
    "daß",
    "werden",
    "wird",
    "wurde",
    "wurden",
    "sind",
    "nach",
    "bei",
    "aus",
    "um",
    "über",
    "noch",
    "wie",
    "oder",
    "aber",
    "nur",
    "vom",
    "zum",
    "zur",
    "sein",
    "hat",
    "haben",
    "kann",
    "mehr",
    "als",
    "wenn",
    "schon",
    "jetzt",
    "ich",
    "wir",
    "sie",
    "er",
    "ihr",
    "mich",
    "mir",
    "uns",
    "habe",
    "hatte",
    "waren",
    "kein",
    "keine",
    "sehr",
    "durch",
    "gegen",
    "unter",
    "bis",
    "seit",
    "diese",
    "dieser",
    "dieses",
    "doch",
    "muss",
    "soll",
    "bereits",
    "immer",
    "wieder",
    "gibt",
    "können",
    "ohne",
    "vor",
    "wegen",
    "zwischen",
    "beim",
    "ins",
    "dann",
    "weil",
    "denn",
    "ob",
    "hier",
    "dabei",
    "sowie",
    "sollen",
    "wollen",
    "mein",
    "meine",
    "dich",
    "ihn",
    "ihm",
    "ihre",
    "seine",
    "seiner",
    "ihrer",
    "unsere",
    "unser",
    "geht",
    "gut",
    "neue",
    "neuen",
    "etwa",
    "mal",
    "euch",
    "warum",
    "welche",
    "welcher",
    "welches",
    "dies",
    "bitte",
    "danke",
    "zunächst",
    "erstmals",
    "davon",
    "daran",
    "dafür",
    "damit",
    "darauf",
    "trotzdem",
    "deshalb",
    "allerdings",
    "jedoch",
    "weitere",
    "ihrem",
    "ihren",
    "seinem",
    "seinen",
    "nichts",
    "viele",
    "vielen",
];

/// Articles that, capitalised inside a sentence, start a German name
/// ("Die Linke", "Der Spiegel") rather than German text.
const NAME_ARTICLES: &[&str] = &["die", "der", "das", "den", "dem", "des"];

/// Function-word counts of a text.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Signals {
    /// Words (runs of letters; numbers are not words).
    words: usize,
    /// English function words.
    english: usize,
    /// German function words outside names.
    german: usize,
    /// German function words that look like parts of names.
    german_in_names: usize,
}

impl Signals {
    /// English function words per word.
    fn english_density(&self) -> f64 {
        self.english as f64 / self.words.max(1) as f64
    }
}

/// A word of a text, for [`signals`].
struct Word<'a> {
    /// The word, lowercased, with typographic apostrophes made plain.
    lower: String,
    /// The word as written.
    text: &'a str,
    /// Whether it opens a sentence (or a quotation, or follows a colon).
    sentence_start: bool,
}

impl Word<'_> {
    fn capitalised(&self) -> bool {
        self.text.chars().next().is_some_and(char::is_uppercase)
    }
}

/// The words of `text`: runs of letters, digits, apostrophes and hyphens
/// holding at least one letter.
fn words(text: &str) -> Vec<Word<'_>> {
    let mut words = Vec::new();
    let mut sentence_start = true;
    let mut rest = text;
    while !rest.is_empty() {
        let start = rest
            .char_indices()
            .find(|&(_, c)| c.is_alphabetic())
            .map_or(rest.len(), |(i, _)| i);
        if rest[..start].contains(['.', '!', '?', ':', '\n', '"', '“', '„', '»', '«']) {
            sentence_start = true;
        }
        rest = &rest[start..];
        let end = rest
            .char_indices()
            .find(|&(_, c)| !(c.is_alphanumeric() || c == '\'' || c == '’' || c == '-'))
            .map_or(rest.len(), |(i, _)| i);
        let word = rest[..end].trim_end_matches(['\'', '’', '-']);
        rest = &rest[end..];
        if word.is_empty() {
            continue;
        }
        words.push(Word {
            lower: word.to_lowercase().replace('’', "'"),
            text: word,
            sentence_start,
        });
        sentence_start = false;
    }
    words
}

/// Counts the words and function words of `text`. In a text with English
/// function words, a German function word that is part of a name does not
/// count: a capitalised article inside a
/// sentence ("Die Linke") or a lowercase function word between two
/// capitalised words ("Bundesagentur für Arbeit", "Umwelt und
/// Verbraucherschutz").
fn signals(text: &str) -> Signals {
    let words = words(text);
    let mut s = Signals {
        words: words.len(),
        ..Signals::default()
    };
    for (i, word) in words.iter().enumerate() {
        let lower = word.lower.as_str();
        if ENGLISH_WORDS.contains(&lower) {
            s.english += 1;
        }
        if !GERMAN_WORDS.contains(&lower) {
            continue;
        }
        let name_article =
            word.capitalised() && !word.sentence_start && NAME_ARTICLES.contains(&lower);
        let capitalised_at = |j: Option<usize>| {
            j.and_then(|j| words.get(j))
                .is_some_and(|w| w.capitalised() && (j != Some(i + 1) || !w.sentence_start))
        };
        let inside_name = !word.capitalised()
            && !word.sentence_start
            && capitalised_at(i.checked_sub(1))
            && capitalised_at(Some(i + 1));
        if name_article || inside_name {
            s.german_in_names += 1;
        } else {
            s.german += 1;
        }
    }
    // Without a single English function word, the "names" are German text
    // ("Tote durch Tornados").
    if s.english == 0 {
        s.german += std::mem::take(&mut s.german_in_names);
    }
    s
}

/// whatlang's guess among [`ALLOWLIST`]: language and confidence.
fn whatlang_guess(text: &str) -> Option<(Lang, f64)> {
    let detector = Detector::with_allowlist(ALLOWLIST.to_vec());
    let sample: String = text.chars().take(2000).collect();
    detector
        .detect(&sample)
        .map(|info| (info.lang(), info.confidence()))
}

/// Checks whether `text` is English.
///
/// German by function words: at least two German function words and more
/// than twice as many as English ones, or German function words, no
/// English ones and whatlang agreeing on German (for texts of 6 words or
/// more: not finding English). English by function words:
/// at least two English function words, at least twice as many as German
/// ones, and at least [`MIN_ENGLISH_DENSITY`] of all words. Otherwise
/// whatlang decides: English, or another language when it is confident
/// (0.5, or 0.9 for texts shorter than 6 words; German only with a German
/// function word or without English ones); a text still undecided is
/// too short to tell below 6 words and English from there on.
pub fn check_english(text: &str) -> LanguageCheck {
    let s = signals(text);
    if s.words < MIN_WORDS {
        return LanguageCheck::TooShortToTell;
    }
    let guess = whatlang_guess(text);
    if s.german >= 2 && s.german > 2 * s.english {
        let share = s.german as f64 / (s.german + s.english) as f64;
        return LanguageCheck::NotEnglish {
            code: "de",
            confidence: share,
        };
    }
    let short = s.words < SHORT_WORDS;
    let whatlang_german = guess.is_some_and(|(lang, _)| lang == Lang::Deu);
    let whatlang_english = guess.is_some_and(|(lang, _)| lang == Lang::Eng);
    if s.german >= 1 && s.english == 0 && (whatlang_german || !short && !whatlang_english) {
        return LanguageCheck::NotEnglish {
            code: "de",
            confidence: guess.map_or(0.5, |(_, c)| c.max(0.5)),
        };
    }
    if s.english >= 2 && s.english >= 2 * s.german && s.english_density() >= MIN_ENGLISH_DENSITY {
        return LanguageCheck::English;
    }
    match guess {
        Some((Lang::Eng, _)) => LanguageCheck::English,
        // German without a German function word but with English ones is
        // English around German names.
        Some((lang, confidence))
            if confidence >= if short { 0.9 } else { 0.5 }
                && s.english_density() < MIN_ENGLISH_DENSITY
                && !(lang == Lang::Deu && s.german == 0 && s.english > 0) =>
        {
            LanguageCheck::NotEnglish {
                code: iso_639_1(lang),
                confidence,
            }
        }
        _ if short => LanguageCheck::TooShortToTell,
        _ => LanguageCheck::English,
    }
}

/// `None` when `text` counts as English (see [`is_english`]), else the
/// code of the language it reads as (`de`, `fr`, …): the guard's and the
/// translator's view of an answer.
pub fn output_language(text: &str) -> Option<&'static str> {
    match check_english(text) {
        LanguageCheck::NotEnglish { code, .. } => Some(code),
        _ => None,
    }
}

/// Whether `text` counts as English: [`check_english`] finds it English
/// or too short to tell (a three-word title is never rejected).
pub fn is_english(text: &str) -> bool {
    check_english(text).is_english()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn not_english(text: &str) -> Option<&'static str> {
        match check_english(text) {
            LanguageCheck::NotEnglish { code, .. } => Some(code),
            _ => None,
        }
    }

    #[test]
    fn english_summary_full_of_german_names_is_english() {
        let texts = [
            "The Bundesagentur für Arbeit reported that unemployment fell to 5.3 percent in \
             October, the lowest level since 2019.",
            "The Landgericht Münster sentenced the 45-year-old to six years in prison for \
             fraud; the Staatsanwaltschaft had asked for eight.",
            "Die Linke and Bündnis 90/Die Grünen voted against the bill in the Bundestag, \
             while the CDU/CSU and the FDP supported it.",
            "According to the Institut der deutschen Wirtschaft, the Deutsche Bahn will invest \
             12 billion euros in the Stuttgart 21 project by 2025.",
            "Der Spiegel reported that the Bundesamt für Migration und Flüchtlinge in Nürnberg \
             had approved 40,000 applications.",
            "Bundesministerium für Wirtschaft und Klimaschutz head Robert Habeck met the \
             Verband der Chemischen Industrie in Frankfurt am Main.",
            "Bayern München beat Borussia Mönchengladbach 3-1 at the Allianz Arena.",
        ];
        for text in texts {
            assert_eq!(check_english(text), LanguageCheck::English, "{text}");
            assert!(is_english(text));
        }
    }

    #[test]
    fn german_summary_is_not_english() {
        let text = "Die Bundesagentur für Arbeit meldet, dass die Arbeitslosigkeit im Oktober \
                    auf 5,3 Prozent gesunken ist.";
        assert_eq!(not_english(text), Some("de"));
        assert!(!is_english(text));
        // Short German sentences too.
        assert_eq!(not_english("Das ist nicht gut."), Some("de"));
        assert_eq!(not_english("Er hat sich nicht gemeldet."), Some("de"));
    }

    #[test]
    fn other_languages_are_not_english() {
        let french = "Le gouvernement a annoncé une nouvelle loi sur les retraites, \
                      qui sera présentée au parlement la semaine prochaine.";
        assert_eq!(not_english(french), Some("fr"));
        let spanish = "El gobierno anunció una nueva ley sobre las pensiones, que será \
                       presentada en el parlamento la próxima semana.";
        assert_eq!(not_english(spanish), Some("es"));
        let dutch = "De regering heeft een nieuwe wet over de pensioenen aangekondigd, \
                     die volgende week aan het parlement wordt voorgelegd.";
        assert_eq!(not_english(dutch), Some("nl"));
    }

    #[test]
    fn very_short_text_is_too_short_to_tell() {
        for text in ["", "Berlin", "Olaf Scholz", "2023", "Flood in Grimma"] {
            let check = check_english(text);
            assert!(
                matches!(
                    check,
                    LanguageCheck::TooShortToTell | LanguageCheck::English
                ),
                "{text}: {check:?}"
            );
            assert!(is_english(text), "{text}");
        }
        assert_eq!(check_english("Berlin"), LanguageCheck::TooShortToTell);
        assert_eq!(
            check_english("Landgericht Münster"),
            LanguageCheck::TooShortToTell
        );
    }

    #[test]
    fn serializes_with_a_tag() {
        let json = serde_json::to_string(&LanguageCheck::NotEnglish {
            code: "de",
            confidence: 1.0,
        })
        .unwrap_or_default();
        assert_eq!(
            json,
            r#"{"language":"not_english","code":"de","confidence":1.0}"#
        );
        let json = serde_json::to_string(&LanguageCheck::English).unwrap_or_default();
        assert_eq!(json, r#"{"language":"english"}"#);
    }

    #[test]
    fn counts_function_words_not_names() {
        let s = signals("Voters chose Die Linke, and the Agentur für Arbeit agreed in 2025.");
        // "Die Linke" and "für" between capitalised words belong to names;
        // "2025" is no word.
        assert_eq!(
            (s.words, s.english, s.german, s.german_in_names),
            (11, 2, 0, 2)
        );
        // Without English words they are German text after all.
        let s = signals("Sie wählt Die Linke und die Grünen. Die Wahl ist 2025.");
        assert_eq!(
            (s.words, s.english, s.german, s.german_in_names),
            (10, 0, 6, 0)
        );
        let s = signals("It's the 3rd time they're here.");
        assert_eq!((s.words, s.english), (6, 3));
    }

    /// Measures the check on WMT22 de→en (in `../shared/data`, skipped when
    /// absent): English lines flagged and German lines caught, for lines
    /// of at least 6 words and shorter ones.
    #[test]
    #[ignore = "reads ../shared/data; prints the figures in the module doc"]
    fn measure_on_wmt22() {
        let dir = std::path::Path::new("../shared/data/wmt22-de-en");
        if !dir.is_dir() {
            eprintln!("skipped: {} not found", dir.display());
            return;
        }
        for (file, english) in [
            ("ref.A.en", true),
            ("hyp.Online-B.en", true),
            ("hyp.JDExploreAcademy.en", true),
            ("src.de", false),
        ] {
            let Ok(text) = std::fs::read_to_string(dir.join(file)) else {
                eprintln!("skipped: {file} unreadable");
                continue;
            };
            // [short, long]: lines, flagged, too short to tell.
            let mut counts = [[0usize; 3]; 2];
            for line in text.lines() {
                let long = usize::from(line.split_whitespace().count() >= SHORT_WORDS);
                let check = check_english(line);
                counts[long][0] += 1;
                if !check.is_english() {
                    counts[long][1] += 1;
                    if english {
                        eprintln!("  flagged {check:?}: {line}");
                    }
                } else if !english {
                    eprintln!("  missed {check:?}: {line}");
                }
                if check == LanguageCheck::TooShortToTell {
                    counts[long][2] += 1;
                }
            }
            for (name, [n, flagged, short]) in [("long", counts[1]), ("short", counts[0])] {
                eprintln!(
                    "{file} {name}: {flagged}/{n} flagged ({:.2}%), {short} too short to tell",
                    100.0 * flagged as f64 / n.max(1) as f64
                );
            }
        }
    }
}
