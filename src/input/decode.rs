//! Turning raw bytes into text: BOM handling, binary detection, encoding
//! detection (UTF-8, else chardetng with a German hint) and line-ending
//! normalisation.

use encoding_rs::{Encoding, UTF_16BE, UTF_16LE, UTF_8};

use super::InputError;

/// How many leading bytes are searched for NUL bytes.
const NUL_SCAN_BYTES: usize = 8 * 1024;
/// Share of control characters (in percent) above which text counts as binary.
const MAX_CONTROL_PERCENT: usize = 10;
/// Texts with fewer characters are only checked for NUL and control
/// characters: shares say little about a few words.
const MIN_JUDGED_CHARS: usize = 64;
/// Share (percent) of U+FFFD, private-use characters and noncharacters
/// above which UTF-8/UTF-16 text counts as binary.
const MAX_JUNK_PERCENT: usize = 10;
/// The same for legacy multi-byte encodings (GBK, Big5, Shift_JIS, ...),
/// where random bytes decode to private-use characters often and real text
/// almost never has them.
const MAX_LEGACY_JUNK_PERCENT: usize = 3;
/// Least share (percent) of ASCII characters (spaces, digits, punctuation,
/// Latin letters) in text decoded from a single-byte legacy encoding: text
/// in any script written with one (Latin, Cyrillic, Greek, Arabic, Hebrew,
/// Thai) has ASCII spaces and punctuation; random high bytes have none.
const MIN_LEGACY_ASCII_PERCENT: usize = 5;
/// In single-byte legacy text with less than this share (per mille) of
/// ASCII whitespace, ...
const MIN_LEGACY_SPACE_PERMILLE: usize = 10;
/// ... more than this share (percent) of non-ASCII symbols (neither
/// letters, digits nor spaces) among the other characters means random bytes.
const MAX_LEGACY_SYMBOL_PERCENT: usize = 10;

/// Decodes raw input bytes to text and returns it with the encoding's name.
///
/// - A UTF-8 BOM is stripped; UTF-16 LE/BE with a BOM are decoded.
/// - A NUL byte in the first 8 KiB (without a UTF-16 BOM), or decoded text
///   that does not look like text (many control, replacement or private-use
///   characters; random high bytes read as a legacy encoding) means
///   [`InputError::Binary`], whose message ends in "not text".
/// - Valid UTF-8 is taken as UTF-8; anything else is detected with
///   chardetng (German hint), and [`InputError::Undecodable`] is returned
///   if that encoding cannot decode it cleanly.
/// - Line endings are normalised to `\n`; no bytes or only whitespace means
///   [`InputError::Empty`].
///
/// # Errors
///
/// [`InputError::Empty`], [`InputError::Binary`] or
/// [`InputError::Undecodable`] as described above.
pub fn decode_bytes(bytes: &[u8]) -> Result<(String, &'static str), InputError> {
    if bytes.is_empty() {
        return Err(InputError::Empty);
    }
    let (text, encoding) = match Encoding::for_bom(bytes) {
        Some((enc, bom_len)) if enc == UTF_16LE || enc == UTF_16BE => {
            (decode_strict(enc, &bytes[bom_len..])?, enc)
        }
        Some((_, bom_len)) => decode_unmarked(&bytes[bom_len..])?,
        None => decode_unmarked(bytes)?,
    };
    check_text_like(&text, encoding)?;
    let text = normalize_line_endings(&text);
    if text.trim().is_empty() {
        return Err(InputError::Empty);
    }
    Ok((text, encoding.name()))
}

/// Decodes bytes that carry no BOM: UTF-8 if valid, else the detected
/// legacy encoding.
fn decode_unmarked(bytes: &[u8]) -> Result<(String, &'static Encoding), InputError> {
    let head = &bytes[..bytes.len().min(NUL_SCAN_BYTES)];
    if head.contains(&0) {
        return Err(InputError::Binary {
            reason: "contains NUL bytes",
        });
    }
    if let Ok(text) = std::str::from_utf8(bytes) {
        return Ok((text.to_owned(), UTF_8));
    }
    let enc = detect_legacy(bytes);
    Ok((decode_strict(enc, bytes)?, enc))
}

/// Guesses a non-UTF-8 encoding, preferring what German text would use.
fn detect_legacy(bytes: &[u8]) -> &'static Encoding {
    let mut detector = chardetng::EncodingDetector::new(chardetng::Iso2022JpDetection::Deny);
    detector.feed(bytes, true);
    detector.guess(Some(b"de"), chardetng::Utf8Detection::Deny)
}

/// Decodes without BOM sniffing; any malformed sequence is an error.
fn decode_strict(enc: &'static Encoding, bytes: &[u8]) -> Result<String, InputError> {
    let (text, had_errors) = enc.decode_without_bom_handling(bytes);
    if had_errors {
        return Err(InputError::Undecodable {
            encoding: enc.name(),
        });
    }
    Ok(text.into_owned())
}

/// Character counts that tell text from binary data.
#[derive(Debug, Default)]
struct CharStats {
    total: usize,
    /// Control characters other than `\n`, `\r`, `\t` and form feed.
    control: usize,
    /// U+FFFD, private-use characters and noncharacters.
    junk: usize,
    ascii: usize,
    ascii_space: usize,
    /// Non-ASCII characters that are neither letters, digits nor spaces.
    symbols: usize,
}

impl CharStats {
    fn of(text: &str) -> CharStats {
        let mut stats = CharStats::default();
        for c in text.chars() {
            stats.total += 1;
            if c.is_ascii() {
                stats.ascii += 1;
                stats.ascii_space += usize::from(c.is_ascii_whitespace());
            } else if !c.is_alphanumeric() && !c.is_whitespace() {
                stats.symbols += 1;
            }
            if c.is_control() && !matches!(c, '\n' | '\r' | '\t' | '\u{0C}') {
                stats.control += 1;
            }
            stats.junk += usize::from(is_junk(c));
        }
        stats
    }

    /// Whether `part` is more than `percent` percent of `whole`.
    fn over(part: usize, whole: usize, percent: usize) -> bool {
        part * 100 > whole * percent
    }
}

/// U+FFFD, private-use characters and noncharacters: what decoding
/// garbage produces, and almost never in real text.
fn is_junk(c: char) -> bool {
    let u = u32::from(c);
    c == '\u{FFFD}'
        || (0xE000..=0xF8FF).contains(&u)
        || u >= 0xF_0000
        || (0xFDD0..=0xFDEF).contains(&u)
        || u & 0xFFFE == 0xFFFE
}

/// Fails with [`InputError::Binary`] ("... not text") when decoded text
/// does not look like text: NUL or many control characters (any length);
/// and, from [`MIN_JUDGED_CHARS`] characters on, many replacement or
/// private-use characters, or — for single-byte legacy encodings — almost
/// no ASCII, or no spaces and many stray symbols (random bytes decoded as
/// windows-1252 and the like). Text in any language passes, including
/// scripts without spaces (Chinese, Japanese) and tables of numbers.
fn check_text_like(text: &str, encoding: &'static Encoding) -> Result<(), InputError> {
    if text.contains('\0') {
        return Err(InputError::Binary {
            reason: "contains NUL characters",
        });
    }
    let stats = CharStats::of(text);
    let binary = |reason| Err(InputError::Binary { reason });
    if CharStats::over(stats.control, stats.total, MAX_CONTROL_PERCENT) {
        return binary("many control characters");
    }
    if stats.total < MIN_JUDGED_CHARS {
        return Ok(());
    }
    let unicode = encoding == UTF_8 || encoding == UTF_16LE || encoding == UTF_16BE;
    let max_junk = if unicode || encoding.is_single_byte() {
        MAX_JUNK_PERCENT
    } else {
        MAX_LEGACY_JUNK_PERCENT
    };
    if CharStats::over(stats.junk, stats.total, max_junk) {
        return binary("many replacement or private-use characters");
    }
    if unicode || !encoding.is_single_byte() {
        return Ok(());
    }
    if !CharStats::over(stats.ascii, stats.total, MIN_LEGACY_ASCII_PERCENT) {
        return binary("almost no ASCII letters, digits or spaces: random bytes");
    }
    let spaced = stats.ascii_space * 1000 >= stats.total * MIN_LEGACY_SPACE_PERMILLE;
    let others = stats.total - stats.ascii_space;
    if !spaced && CharStats::over(stats.symbols, others, MAX_LEGACY_SYMBOL_PERCENT) {
        return binary("no word spacing and many stray symbols: random bytes");
    }
    Ok(())
}

/// Converts `\r\n` and lone `\r` to `\n`.
fn normalize_line_endings(text: &str) -> String {
    if !text.contains('\r') {
        return text.to_owned();
    }
    text.replace("\r\n", "\n").replace('\r', "\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// "Straße, Müller, Ärger, Öl" and more, encoded as ISO-8859-1.
    const LATIN1: &[u8] = b"Die M\xFCller GmbH in der Hauptstra\xDFe hat \xC4rger mit dem \xD6l-Lieferanten. Stra\xDFe gesperrt!\r\nGr\xFC\xDFe aus M\xFCnchen, sch\xF6ne Gr\xFC\xDFe.\r\n";

    #[test]
    fn latin1_german_is_windows_1252() {
        let (text, enc) = decode_bytes(LATIN1).unwrap();
        assert_eq!(enc, "windows-1252");
        for word in [
            "Straße", "Müller", "Ärger", "Öl", "Grüße", "München", "schöne",
        ] {
            assert!(text.contains(word), "{word} missing in {text:?}");
        }
        assert!(!text.contains('\r'));
        assert!(!text.contains('\u{FFFD}'));
    }

    #[test]
    fn short_latin1_word_still_decodes() {
        let (text, enc) = decode_bytes(b"Stra\xDFe").unwrap();
        assert_eq!(text, "Straße");
        assert_eq!(enc, "windows-1252");
    }

    #[test]
    fn plain_utf8() {
        let (text, enc) = decode_bytes("Ärger über Öl in der Straße".as_bytes()).unwrap();
        assert_eq!(text, "Ärger über Öl in der Straße");
        assert_eq!(enc, "UTF-8");
    }

    #[test]
    fn utf8_bom_is_stripped() {
        let mut bytes = vec![0xEF, 0xBB, 0xBF];
        bytes.extend_from_slice("Grüße\r\naus Köln".as_bytes());
        let (text, enc) = decode_bytes(&bytes).unwrap();
        assert_eq!(text, "Grüße\naus Köln");
        assert_eq!(enc, "UTF-8");
    }

    #[test]
    fn utf16_le_with_bom() {
        let mut bytes = vec![0xFF, 0xFE];
        for unit in "Ärger über Öl\r\nStraße".encode_utf16() {
            bytes.extend_from_slice(&unit.to_le_bytes());
        }
        let (text, enc) = decode_bytes(&bytes).unwrap();
        assert_eq!(text, "Ärger über Öl\nStraße");
        assert_eq!(enc, "UTF-16LE");
    }

    #[test]
    fn utf16_be_with_bom() {
        let mut bytes = vec![0xFE, 0xFF];
        for unit in "Müller".encode_utf16() {
            bytes.extend_from_slice(&unit.to_be_bytes());
        }
        assert_eq!(
            decode_bytes(&bytes).unwrap(),
            ("Müller".to_string(), "UTF-16BE")
        );
    }

    #[test]
    fn utf16_with_odd_trailing_byte_is_undecodable() {
        let bytes = [0xFF, 0xFE, b'a', 0, b'b'];
        assert!(matches!(
            decode_bytes(&bytes),
            Err(InputError::Undecodable {
                encoding: "UTF-16LE"
            })
        ));
    }

    #[test]
    fn png_header_is_binary() {
        let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\x01\0\0\0\x01\0\x08\x06\0\0\0";
        let err = decode_bytes(png).unwrap_err();
        assert!(matches!(err, InputError::Binary { .. }), "{err:?}");
        assert!(err.to_string().contains("NUL"));
    }

    #[test]
    fn control_heavy_bytes_are_binary() {
        let bytes: Vec<u8> = (0..400u32)
            .map(|i| if i % 3 == 0 { 0x01 } else { b'a' })
            .collect();
        assert!(matches!(
            decode_bytes(&bytes),
            Err(InputError::Binary { .. })
        ));
    }

    #[test]
    fn a_few_control_chars_are_tolerated() {
        let text = format!("{}\u{7}{}", "Hallo Welt. ".repeat(20), "Ende");
        assert!(decode_bytes(text.as_bytes()).is_ok());
    }

    #[test]
    fn empty_and_whitespace_only_are_empty() {
        assert!(matches!(decode_bytes(b""), Err(InputError::Empty)));
        assert!(matches!(
            decode_bytes(b"  \r\n\t \n"),
            Err(InputError::Empty)
        ));
        assert!(matches!(
            decode_bytes(b"\xEF\xBB\xBF"),
            Err(InputError::Empty)
        ));
        assert!(matches!(decode_bytes(b"\xFF\xFE"), Err(InputError::Empty)));
    }

    #[test]
    fn line_endings_normalised() {
        assert_eq!(normalize_line_endings("a\r\nb\rc\n"), "a\nb\nc\n");
        assert_eq!(normalize_line_endings("no change"), "no change");
    }

    // ------------------------------------------------ text-likeness

    const SAMPLES: [(&str, &str); 9] = [
        ("de", "Die Bundesregierung hat am Mittwoch beschlossen, die Förderung für erneuerbare Energien deutlich auszubauen. Kritiker bemängeln die hohen Kosten für Verbraucher und Industrie – „zu teuer“, sagen sie."),
        ("fr", "Le gouvernement a annoncé mercredi une réforme ambitieuse du système de retraite, qui suscite déjà de vives critiques de la part des syndicats français : « inacceptable », disent-ils."),
        ("pl", "Rząd ogłosił w środę nowy program wsparcia dla przedsiębiorców, którzy ucierpieli z powodu wysokich cen energii. Związki zawodowe krytykują ten pomysł."),
        ("ru", "Правительство в среду объявило о новой программе поддержки предпринимателей, пострадавших от высоких цен на энергию. Профсоюзы критикуют эту идею."),
        ("el", "Η κυβέρνηση ανακοίνωσε την Τετάρτη ένα νέο πρόγραμμα στήριξης για τις επιχειρήσεις που επλήγησαν από τις υψηλές τιμές της ενέργειας."),
        ("zh", "政府周三宣布了一项新的支持计划，帮助受到能源价格上涨影响的企业。工会批评了这一想法，认为它对普通工人的帮助太少。专家表示，该计划的效果仍有待观察。"),
        ("ja", "政府は水曜日、エネルギー価格の高騰で打撃を受けた企業を支援する新しいプログラムを発表した。労働組合はこの案を批判している。専門家は効果を見極める必要があると述べた。"),
        ("ar", "أعلنت الحكومة يوم الأربعاء عن برنامج جديد لدعم الشركات التي تضررت من ارتفاع أسعار الطاقة. وانتقدت النقابات هذه الفكرة بشدة."),
        ("he", "הממשלה הודיעה ביום רביעי על תוכנית חדשה לתמיכה בעסקים שנפגעו ממחירי האנרגיה הגבוהים. האיגודים מתחו ביקורת על הרעיון."),
    ];

    fn assert_text(bytes: &[u8], what: &str) -> (String, &'static str) {
        match decode_bytes(bytes) {
            Ok(decoded) => decoded,
            Err(e) => panic!("{what}: rejected: {e}"),
        }
    }

    fn assert_not_text(bytes: &[u8], what: &str) {
        match decode_bytes(bytes) {
            Err(e @ InputError::Binary { .. }) => {
                assert!(e.to_string().ends_with(", not text"), "{what}: {e}");
            }
            Err(e) => panic!("{what}: expected Binary, got {e}"),
            Ok((_, enc)) => panic!("{what}: accepted as {enc}"),
        }
    }

    #[test]
    fn real_text_in_many_languages_is_text_in_utf8() {
        for (lang, text) in SAMPLES {
            for repeat in [1, 20] {
                let long = [text; 20][..repeat].join("\n\n");
                let (decoded, enc) = assert_text(long.as_bytes(), lang);
                assert_eq!((decoded.as_str(), enc), (long.as_str(), "UTF-8"), "{lang}");
            }
        }
    }

    #[test]
    fn real_text_in_legacy_encodings_is_not_refused() {
        let cases: [(&str, &'static Encoding); 11] = [
            ("de", encoding_rs::WINDOWS_1252),
            ("fr", encoding_rs::WINDOWS_1252),
            ("pl", encoding_rs::WINDOWS_1250),
            ("pl", encoding_rs::ISO_8859_2),
            ("ru", encoding_rs::WINDOWS_1251),
            ("ru", encoding_rs::KOI8_R),
            ("el", encoding_rs::WINDOWS_1253),
            ("ar", encoding_rs::WINDOWS_1256),
            ("he", encoding_rs::WINDOWS_1255),
            ("zh", encoding_rs::GBK),
            ("ja", encoding_rs::SHIFT_JIS),
        ];
        for (lang, enc) in cases {
            let text = SAMPLES.iter().find(|(l, _)| *l == lang).unwrap().1;
            for repeat in [1, 10] {
                let long = [text; 10][..repeat].join("\n\n");
                let (bytes, _, unmappable) = enc.encode(&long);
                assert!(!unmappable, "{lang} in {}", enc.name());
                let what = format!("{lang} in {} x{repeat}", enc.name());
                // Detection may pick a sibling encoding (chardetng is told
                // to expect German); what matters here is that it is text.
                assert_text(&bytes, &what);
            }
        }
    }

    #[test]
    fn tables_numbers_and_symbols_are_text() {
        let prices: String = (0..200).map(|i| format!("{i},99 €\n")).collect();
        let weather: String = (0..200).map(|i| format!("{}°C ", i % 40)).collect();
        let table: String = (0..100)
            .map(|i| format!("{i}\t{}\t{}%\t§ {i}\n", i * 1234, i % 100))
            .collect();
        let csv: String = (0..50)
            .map(|i| format!("{i};Müller;{};Straße;{}\n", "x".repeat(120), i * 7))
            .collect();
        for (what, text) in [
            ("prices", prices),
            ("weather", weather),
            ("table", table),
            ("csv", csv),
        ] {
            assert_text(text.as_bytes(), &format!("{what} utf-8"));
            let (bytes, _, _) = encoding_rs::WINDOWS_1252.encode(&text);
            assert_text(&bytes, &format!("{what} windows-1252"));
        }
        assert_text("Ölpreis".as_bytes(), "short");
        assert_text(b"\xD6lpreis", "short latin1");
        assert_text("東京".as_bytes(), "short cjk");
    }

    /// Deterministic pseudo-random bytes in `lo..=hi`.
    fn random_bytes(seed: u64, len: usize, lo: u8, hi: u8) -> Vec<u8> {
        let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        let span = u64::from(hi - lo) + 1;
        (0..len)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                lo + u8::try_from(state % span).unwrap()
            })
            .collect()
    }

    #[test]
    fn random_high_bytes_are_not_text() {
        for seed in 1..=20 {
            for len in [200, 5_000, 50_000] {
                let bytes = random_bytes(seed, len, 0x80, 0xFF);
                let what = format!("seed {seed}, {len} bytes");
                assert_not_text(&bytes, &what);
            }
        }
        assert_not_text(&random_bytes(7, 50_000, 0x80, 0xFF), "50 KB 0x80-0xFF");
    }

    #[test]
    fn random_printable_bytes_are_not_text() {
        for seed in 1..=10 {
            let bytes = random_bytes(seed, 20_000, 0x21, 0xFF);
            assert_not_text(&bytes, &format!("seed {seed}"));
        }
    }

    #[test]
    fn unicode_junk_is_not_text() {
        let pua: String = "\u{E000}\u{E123}\u{F8FF}".repeat(100);
        assert_not_text(pua.as_bytes(), "private use");
        let replacement = format!("Hallo {}", "\u{FFFD}".repeat(100));
        assert_not_text(replacement.as_bytes(), "replacement characters");
        let c1: String = "a\u{85}\u{9F}".repeat(100);
        assert_not_text(c1.as_bytes(), "C1 controls");
        let mut utf16 = vec![0xFF, 0xFE];
        for unit in "\u{E000}\u{F000}".repeat(100).encode_utf16() {
            utf16.extend_from_slice(&unit.to_le_bytes());
        }
        assert_not_text(&utf16, "UTF-16 private use");
        // A few icons from an icon font in real text are fine.
        let icons = format!("{} \u{F101} \u{F102}", SAMPLES[0].1);
        assert_text(icons.as_bytes(), "icons");
    }

    #[test]
    fn decode_bytes_never_panics_on_odd_inputs() {
        let mut inputs: Vec<Vec<u8>> = vec![
            vec![0xEF, 0xBB],
            vec![0xFE],
            vec![0xFF, 0xFE, 0x00, 0xD8],
            vec![0xFE, 0xFF, 0xD8, 0x00, 0xDC],
            vec![0xEF, 0xBB, 0xBF, 0x00],
            vec![b'\r'; 10],
            vec![0x1B; 100],
        ];
        for seed in 0..200 {
            let len = usize::try_from(seed * 7 % 300).unwrap();
            inputs.push(random_bytes(seed, len, 0, 0xFF));
        }
        for bytes in inputs {
            let _ = decode_bytes(&bytes);
        }
    }
}
