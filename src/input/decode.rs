//! Turning raw bytes into text: BOM handling, binary detection, encoding
//! detection (UTF-8, else chardetng with a German hint) and line-ending
//! normalisation.

use encoding_rs::{Encoding, UTF_16BE, UTF_16LE, UTF_8};

use super::InputError;

/// How many leading bytes are searched for NUL bytes.
const NUL_SCAN_BYTES: usize = 8 * 1024;
/// How many leading characters are checked for control characters.
const CONTROL_SCAN_CHARS: usize = 8 * 1024;
/// Share of control characters (in percent) above which text counts as binary.
const MAX_CONTROL_PERCENT: usize = 10;

/// Decodes raw input bytes to text and returns it with the encoding's name.
///
/// - A UTF-8 BOM is stripped; UTF-16 LE/BE with a BOM are decoded.
/// - A NUL byte in the first 8 KiB (without a UTF-16 BOM) or a high share
///   of control characters means [`InputError::Binary`].
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
            (decode_strict(enc, &bytes[bom_len..])?, enc.name())
        }
        Some((_, bom_len)) => decode_unmarked(&bytes[bom_len..])?,
        None => decode_unmarked(bytes)?,
    };
    check_control_chars(&text)?;
    let text = normalize_line_endings(&text);
    if text.trim().is_empty() {
        return Err(InputError::Empty);
    }
    Ok((text, encoding))
}

/// Decodes bytes that carry no BOM: UTF-8 if valid, else the detected
/// legacy encoding.
fn decode_unmarked(bytes: &[u8]) -> Result<(String, &'static str), InputError> {
    let head = &bytes[..bytes.len().min(NUL_SCAN_BYTES)];
    if head.contains(&0) {
        return Err(InputError::Binary {
            reason: "contains NUL bytes",
        });
    }
    if let Ok(text) = std::str::from_utf8(bytes) {
        return Ok((text.to_owned(), UTF_8.name()));
    }
    let enc = detect_legacy(bytes);
    Ok((decode_strict(enc, bytes)?, enc.name()))
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

/// Fails with [`InputError::Binary`] if too many of the leading characters
/// are control characters other than common whitespace.
fn check_control_chars(text: &str) -> Result<(), InputError> {
    let (mut total, mut control) = (0usize, 0usize);
    for c in text.chars().take(CONTROL_SCAN_CHARS) {
        total += 1;
        if c == '\0' {
            return Err(InputError::Binary {
                reason: "contains NUL characters",
            });
        }
        if c.is_control() && !matches!(c, '\n' | '\r' | '\t' | '\u{0C}') {
            control += 1;
        }
    }
    if control * 100 > total * MAX_CONTROL_PERCENT {
        return Err(InputError::Binary {
            reason: "many control characters",
        });
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
}
