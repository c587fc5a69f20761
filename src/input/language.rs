//! Guessing the language of extracted text with whatlang.

use whatlang::Lang;

/// How many leading characters of a text are used for detection.
const SAMPLE_CHARS: usize = 2000;

/// A guess at a text's language.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct LanguageGuess {
    /// ISO 639-1 code such as `de` or `en`; whatlang's ISO 639-3 code for
    /// languages without a mapping here.
    pub code: &'static str,
    /// whatlang's confidence, from 0.0 to 1.0.
    pub confidence: f64,
    /// Whether whatlang considers the guess reliable.
    pub reliable: bool,
}

/// Guesses the language of `text` from (at most) its first 2000 characters.
/// Returns `None` when there is too little text to tell.
pub fn detect(text: &str) -> Option<LanguageGuess> {
    let info = whatlang::detect(sample(text))?;
    Some(LanguageGuess {
        code: iso_639_1(info.lang()),
        confidence: info.confidence(),
        reliable: info.is_reliable(),
    })
}

/// The first [`SAMPLE_CHARS`] characters of `text`.
fn sample(text: &str) -> &str {
    match text.char_indices().nth(SAMPLE_CHARS) {
        Some((end, _)) => &text[..end],
        None => text,
    }
}

/// Maps a whatlang language to its ISO 639-1 code, falling back to
/// whatlang's own (ISO 639-3) code.
pub fn iso_639_1(lang: Lang) -> &'static str {
    match lang {
        Lang::Deu => "de",
        Lang::Eng => "en",
        Lang::Fra => "fr",
        Lang::Spa => "es",
        Lang::Ita => "it",
        Lang::Nld => "nl",
        Lang::Pol => "pl",
        Lang::Por => "pt",
        Lang::Rus => "ru",
        Lang::Tur => "tr",
        Lang::Swe => "sv",
        Lang::Dan => "da",
        Lang::Nob => "nb",
        Lang::Fin => "fi",
        Lang::Ces => "cs",
        Lang::Slk => "sk",
        Lang::Slv => "sl",
        Lang::Hrv => "hr",
        Lang::Hun => "hu",
        Lang::Ron => "ro",
        Lang::Ukr => "uk",
        Lang::Ell => "el",
        Lang::Bul => "bg",
        Lang::Lit => "lt",
        Lang::Lav => "lv",
        Lang::Est => "et",
        Lang::Cat => "ca",
        Lang::Ara => "ar",
        Lang::Heb => "he",
        Lang::Jpn => "ja",
        Lang::Kor => "ko",
        Lang::Cmn => "zh",
        Lang::Lat => "la",
        Lang::Epo => "eo",
        other => other.code(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_german() {
        let text = "Die Bundesregierung hat am Mittwoch beschlossen, die Förderung für \
                    erneuerbare Energien deutlich auszubauen. Kritiker bemängeln, dass die \
                    Pläne zu spät kommen und die Kosten für die Verbraucher steigen werden.";
        let guess = detect(text).unwrap();
        assert_eq!(guess.code, "de");
        assert!(guess.reliable);
        assert!(guess.confidence > 0.5);
    }

    #[test]
    fn detects_english() {
        let text = "The federal government decided on Wednesday to significantly expand \
                    support for renewable energy. Critics complain that the plans come too \
                    late and that costs for consumers will rise.";
        let guess = detect(text).unwrap();
        assert_eq!(guess.code, "en");
        assert!(guess.reliable);
    }

    #[test]
    fn empty_text_has_no_guess() {
        assert_eq!(detect(""), None);
        assert_eq!(detect("1234 5678 !!!"), None);
    }

    #[test]
    fn sample_is_char_bounded() {
        let text = "ä".repeat(3000);
        assert_eq!(sample(&text).chars().count(), SAMPLE_CHARS);
        assert_eq!(sample("kurz"), "kurz");
    }

    #[test]
    fn maps_codes() {
        assert_eq!(iso_639_1(Lang::Deu), "de");
        assert_eq!(iso_639_1(Lang::Swe), "sv");
        assert_eq!(iso_639_1(Lang::Dan), "da");
        assert_eq!(iso_639_1(Lang::Tur), "tr");
        // No mapping: whatlang's own code.
        assert_eq!(iso_639_1(Lang::Zul), "zul");
    }
}
