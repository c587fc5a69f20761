//! Checks the mechanically checkable claims of an English summary (names,
//! numbers, dates) against the German source article, to catch invented
//! names and numbers from small models.
//!
//! ```
//! use kurz::claims::{unsupported, SourceIndex};
//! let source = SourceIndex::new("NATO-Chef Rutte traf Trump am Freitag in Palm Beach.");
//! let bad = unsupported("NATO chief Jens Stoltenberg met Trump on Friday.", &source);
//! assert_eq!(bad.len(), 1);
//! assert_eq!(bad[0].text, "Jens Stoltenberg");
//! ```
//!
//! Policy decisions:
//! * Role and title words (Secretary, General, President, Minister,
//!   Chancellor, …) are common nouns and split name runs; they are not
//!   checked.
//! * A multi-word name is supported only if the whole run is (translation
//!   table) or every token is. First names count: "Mark Rutte" is
//!   unsupported when the article only says "Rutte", because the model may
//!   have invented "Mark".
//! * Months, day-month dates and weekdays are [`ClaimKind::Number`] claims
//!   with ISO 8601-style keys: `--MM`, `--MM-DD`, `-W-D` (Monday = 1). A year
//!   next to a date is a separate number claim.
//! * Percent claims carry a `%` suffix in `normalized`; the source only needs
//!   the value.

mod extract;
mod normalize;
mod support;

pub use extract::extract_claims;
pub use support::SourceIndex;

/// What kind of fact a claim asserts.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub enum ClaimKind {
    /// A proper name: person, place, organisation, demonym, acronym.
    Name,
    /// A number, percentage, time, year, date, month or weekday.
    Number,
}

/// One checkable claim found in a summary.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Claim {
    /// Name or number.
    pub kind: ClaimKind,
    /// The claim as written in the summary (possessive `'s` stripped).
    pub text: String,
    /// Comparison key: folded lower-case name ("mark rutte"), canonical
    /// decimal ("7500", "3.2%", "2300000", "10:30") or date key ("--01-20").
    pub normalized: String,
}

/// Claims of `summary` that the source does not support, in order of first
/// appearance.
pub fn unsupported(summary: &str, source: &SourceIndex) -> Vec<Claim> {
    extract_claims(summary)
        .into_iter()
        .filter(|c| !source.supports(c))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Paraphrase of a dpa/APA article on Rutte meeting Trump.
    const RUTTE: &str = "Bei dem Gespräch am Freitag in Palm Beach in Florida sei es um \
„globale Sicherheitsprobleme“ gegangen, teilte NATO-Sprecherin Farah Dakhlallah am Samstag in \
Brüssel mit. Rutte setzt sich für eine weitere Unterstützung der Ukraine ein. Trump, der am 20. \
Jänner sein Amt antritt, steht den Milliardenhilfen für Kiew ablehnend gegenüber. Rutte hatte \
zwei Tage nach Trumps Sieg bei der US-Präsidentschaftswahl am 5. November gesagt, dass er mit \
ihm über Russland und Nordkorea sprechen wolle. Nach Angaben der USA sind mehr als 10.000 \
nordkoreanische Soldaten in der russischen Grenzregion Kursk stationiert. Rutte warnt vor einer \
Annäherung zwischen Nordkorea, China und dem Iran, der die libanesische Hisbollah-Miliz im Kampf \
gegen Israel unterstützt. Rutte hatte das Amt als NATO-Generalsekretär im Oktober übernommen.";

    fn unsupported_texts(summary: &str) -> Vec<String> {
        let index = SourceIndex::new(RUTTE);
        unsupported(summary, &index)
            .into_iter()
            .map(|c| c.text)
            .collect()
    }

    fn name(text: &str) -> Claim {
        Claim {
            kind: ClaimKind::Name,
            text: text.to_string(),
            normalized: text.to_lowercase(),
        }
    }

    #[test]
    fn stoltenberg_is_the_only_unsupported_claim() {
        assert_eq!(
            unsupported_texts(
                "NATO Secretary-General Jens Stoltenberg met Trump in Palm Beach on Friday."
            ),
            vec!["Jens Stoltenberg"]
        );
    }

    #[test]
    fn fixture_names_are_supported() {
        let index = SourceIndex::new(RUTTE);
        for n in [
            "Rutte",
            "Trump",
            "Palm Beach",
            "Florida",
            "NATO",
            "Farah Dakhlallah",
            "Brussels",
            "Ukraine",
            "North Korea",
            "Kursk",
            "Iran",
            "Hezbollah",
            "Israel",
            "China",
            "Russia",
            "Kyiv",
            "US",
            "U.S.",
            "North Korean",
            "Russian",
            "Ukrainian",
        ] {
            assert!(index.supports(&name(n)), "{n}");
        }
    }

    #[test]
    fn stoltenberg_and_other_inventions_are_not_supported() {
        let index = SourceIndex::new(RUTTE);
        for n in [
            "Stoltenberg",
            "Jens",
            "Biden",
            "Zelensky",
            "Moscow",
            "Germany",
            "Hamas",
        ] {
            assert!(!index.supports(&name(n)), "{n}");
        }
    }

    #[test]
    fn europe_needs_a_european_word_in_the_source() {
        // The fixture never mentions Europa/europäisch, so "Europe" is not
        // mechanically supported by it.
        assert_eq!(unsupported_texts("Rutte warned Europe."), vec!["Europe"]);
        let index = SourceIndex::new("Rutte sprach über die Sicherheit Europas.");
        assert!(unsupported("Rutte warned Europe.", &index).is_empty());
    }

    #[test]
    fn invented_first_name_is_unsupported() {
        assert_eq!(
            unsupported_texts("NATO Secretary General Mark Rutte met Donald Trump."),
            vec!["Mark Rutte", "Donald Trump"]
        );
        let claims = extract_claims("NATO Secretary General Mark Rutte met Trump.");
        let names: Vec<&str> = claims.iter().map(|c| c.text.as_str()).collect();
        assert_eq!(names, vec!["NATO", "Mark Rutte", "Trump"]);
    }

    #[test]
    fn faithful_summary_has_no_unsupported_claims() {
        let summary = "NATO chief Rutte met Trump in Palm Beach, Florida, on Friday, NATO \
spokeswoman Farah Dakhlallah said in Brussels on Saturday. Trump, who takes office on January \
20, opposes billions in aid for Kyiv. Two days after Trump's victory on November 5, Rutte said \
he wanted to discuss Russia and North Korea. According to the US, more than 10,000 North Korean \
soldiers are stationed in the Russian border region of Kursk. Rutte warned of closer ties \
between North Korea, China and Iran, which supports Hezbollah against Israel. Rutte took office \
in October.";
        assert_eq!(unsupported_texts(summary), Vec::<String>::new());
    }

    #[test]
    fn invented_number_is_unsupported() {
        assert_eq!(
            unsupported_texts("More than 12,000 North Korean soldiers are in Kursk."),
            vec!["12,000"]
        );
        assert!(unsupported_texts("More than 10,000 soldiers are in Kursk.").is_empty());
        assert!(unsupported_texts("More than 10.000 soldiers are in Kursk.").is_empty());
    }

    #[test]
    fn wrong_dates_are_unsupported() {
        assert_eq!(
            unsupported_texts("Trump takes office on January 21. Rutte spoke on 5 November."),
            vec!["January 21"]
        );
        assert_eq!(
            unsupported_texts("Rutte took office in September, on a Monday."),
            vec!["September", "Monday"]
        );
        assert!(unsupported_texts("Trump takes office on 20 January.").is_empty());
    }

    #[test]
    fn spelled_number_checked_against_german_words() {
        assert!(unsupported_texts("Rutte spoke two days later.").is_empty());
        assert_eq!(
            unsupported_texts("Rutte spoke three days later."),
            vec!["three"]
        );
    }

    #[test]
    fn percentages_and_scales_end_to_end() {
        let index = SourceIndex::new("Die Inflation lag bei 3,2 Prozent; 2,3 Millionen Menschen.");
        assert!(unsupported("Inflation was 3.2%; 2.3 million people.", &index).is_empty());
        assert!(unsupported("Inflation was 3.2 percent.", &index).is_empty());
        let bad = unsupported("Inflation was 3.5 percent; 2.4 million people.", &index);
        let texts: Vec<&str> = bad.iter().map(|c| c.text.as_str()).collect();
        assert_eq!(texts, vec!["3.5 percent", "2.4 million"]);
    }

    #[test]
    fn names_for_prompting() {
        let names = SourceIndex::new(RUTTE).names();
        for n in [
            "Palm Beach",
            "Florida",
            "NATO",
            "Farah Dakhlallah",
            "Brüssel",
            "Rutte",
            "Ukraine",
            "Trump",
            "Kiew",
            "US",
            "Russland",
            "Nordkorea",
            "USA",
            "Kursk",
            "China",
            "Iran",
            "Hisbollah",
            "Israel",
        ] {
            assert!(names.iter().any(|x| x == n), "missing {n} in {names:?}");
        }
        for n in [
            "Freitag",
            "Gespräch",
            "Angaben",
            "Sieg",
            "Trumps",
            "Jänner",
            "Amt",
        ] {
            assert!(!names.iter().any(|x| x == n), "unexpected {n} in {names:?}");
        }
    }

    #[test]
    fn odd_input_never_panics() {
        let odd = "’s U.S. 1. ,5 ¾ 🙂 e\u{301} 5th Mio. -x- 12:3 10.30.  A.B 2,3,4 ’";
        let samples = [
            odd,
            RUTTE,
            "NATO Secretary-General Jens Stoltenberg met Trump.",
        ];
        for text in samples {
            for (i, _) in text.char_indices().step_by(7) {
                let prefix = &text[..i];
                let index = SourceIndex::new(prefix);
                let _ = unsupported(prefix, &index);
                let _ = index.names();
            }
        }
    }

    #[test]
    fn claims_serialize() {
        fn assert_serialize<T: serde::Serialize>(_: &T) {}
        let claims = extract_claims("Rutte met Trump.");
        assert_serialize(&claims);
        assert_eq!(claims[0].kind, ClaimKind::Name);
    }
}
