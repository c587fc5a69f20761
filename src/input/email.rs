//! E-mail messages (`.eml`, RFC 5322 with MIME), read with `mailparse`.
//!
//! The subject is the title, the `Date` header the date. The text is the
//! first `text/plain` part that is not an attachment, else the first such
//! `text/html` part through the HTML extraction; quoted-printable and
//! base64 are undone and the part's charset decoded (the charset becomes
//! the document's encoding). Quoted replies (`>` lines and the `… schrieb:`
//! / `… wrote:` line before them, and everything from an Outlook-style
//! `-----Original Message-----` on) and the signature after a `-- ` line
//! are dropped.
//!
//! Attachments are not summarized: each is named in a warning of the
//! mail's entry. Why: an attachment is a document of its own, usually the
//! same press release as the mail's text or a file kurz does not read;
//! summarizing it inside the mail's input would give one input two outputs,
//! and its resume entry would follow the mail's checksum rather than its
//! own. Saved next to the mail, a PDF or DOCX attachment is one more input.

use mailparse::{DispositionType, ParsedMail};

use super::{document_from_text, extract_document, Extracted, InputError, InputKind};

const FORMAT: &str = "e-mail";

fn broken(reason: impl Into<String>) -> InputError {
    InputError::Broken {
        format: FORMAT,
        reason: reason.into(),
    }
}

/// Extracts an e-mail message.
pub(super) fn extract(bytes: &[u8]) -> Result<Extracted, InputError> {
    let mail = mailparse::parse_mail(bytes).map_err(|e| broken(e.to_string()))?;
    if !has_mail_headers(&mail) {
        return Err(broken(
            "no mail headers (From, To, Subject, Date or Content-Type)",
        ));
    }
    let header = |name: &str| {
        mail.headers
            .iter()
            .find(|h| h.get_key_ref().eq_ignore_ascii_case(name))
            .map(mailparse::MailHeader::get_value)
            .map(|v| v.split_whitespace().collect::<Vec<_>>().join(" "))
            .filter(|v| !v.is_empty())
    };
    let subject = header("Subject");
    let date = header("Date")
        .and_then(|d| mailparse::dateparse(&d).ok())
        .and_then(rfc3339_utc);
    let part = body_part(&mail).ok_or_else(|| broken("no text/plain or text/html part"))?;
    let body = part
        .get_body()
        .map_err(|e| broken(format!("cannot decode the text ({e})")))?;
    let encoding = encoding_name(&part.ctype.charset);
    let text = if part.ctype.mimetype.eq_ignore_ascii_case("text/html") {
        extract_document(&body, InputKind::Html)?.text
    } else {
        // Lone carriage returns (old Mac line ends, or stray ones) too.
        body.replace("\r\n", "\n").replace('\r', "\n")
    };
    let text = without_quotes_and_signature(&text);
    let document = document_from_text(subject, &text, encoding)?;
    Ok(Extracted {
        document,
        link: None,
        date,
        warnings: attachment_notes(&mail),
    })
}

fn has_mail_headers(mail: &ParsedMail<'_>) -> bool {
    mail.headers.iter().any(|h| {
        let key = h.get_key_ref().to_ascii_lowercase();
        matches!(
            key.as_str(),
            "from" | "to" | "subject" | "date" | "content-type" | "message-id"
        )
    })
}

fn is_attachment(part: &ParsedMail<'_>) -> bool {
    let disposition = part.get_content_disposition();
    disposition.disposition == DispositionType::Attachment
        || disposition.params.contains_key("filename")
        || part.ctype.params.contains_key("name")
}

/// The part holding the message text.
fn body_part<'a>(mail: &'a ParsedMail<'a>) -> Option<&'a ParsedMail<'a>> {
    let text_part = |mime: &str| {
        mail.parts().find(|p| {
            p.subparts.is_empty()
                && p.ctype.mimetype.eq_ignore_ascii_case(mime)
                && !is_attachment(p)
        })
    };
    text_part("text/plain").or_else(|| text_part("text/html"))
}

/// The name `encoding_rs` gives a charset label (`UTF-8` for unknown ones,
/// as `mailparse` decodes them).
fn encoding_name(charset: &str) -> &'static str {
    encoding_rs::Encoding::for_label(charset.trim().as_bytes())
        .unwrap_or(encoding_rs::UTF_8)
        .name()
}

/// One warning naming each attachment left out.
fn attachment_notes(mail: &ParsedMail<'_>) -> Vec<String> {
    mail.parts()
        .filter(|p| p.subparts.is_empty() && is_attachment(p))
        .map(|p| {
            let disposition = p.get_content_disposition();
            let name = disposition
                .params
                .get("filename")
                .or_else(|| p.ctype.params.get("name"))
                .map_or("(unnamed)", String::as_str)
                .chars()
                .filter(|c| !c.is_control())
                .take(200)
                .collect::<String>();
            format!(
                "attachment {name:?} ({}) not summarized: save it and run kurz on it",
                p.ctype.mimetype
            )
        })
        .collect()
}

/// Drops clearly marked quoted replies and the signature.
fn without_quotes_and_signature(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let mut kept: Vec<&str> = Vec::with_capacity(lines.len());
    for (i, line) in lines.iter().enumerate() {
        let trimmed = line.trim_end();
        if trimmed == "--" {
            break;
        }
        if is_original_message_marker(trimmed) {
            break;
        }
        if trimmed.trim_start().starts_with('>') {
            continue;
        }
        let next_quoted = lines[i + 1..]
            .iter()
            .find(|l| !l.trim().is_empty())
            .is_some_and(|l| l.trim_start().starts_with('>'));
        if next_quoted && is_attribution(trimmed) {
            continue;
        }
        kept.push(line);
    }
    kept.join("\n")
}

/// `-----Original Message-----`, `-----Ursprüngliche Nachricht-----`.
fn is_original_message_marker(line: &str) -> bool {
    let l = line.trim().trim_matches('-').trim().to_lowercase();
    line.trim().starts_with("-----")
        && matches!(l.as_str(), "original message" | "ursprüngliche nachricht")
}

/// `Am 3. März 2025 schrieb Anna Schulz <a@b.de>:`, `On …, X wrote:`.
fn is_attribution(line: &str) -> bool {
    let l = line.trim().to_lowercase();
    l.ends_with(':') && (l.contains("schrieb") || l.contains("wrote"))
}

/// A Unix time as RFC 3339 in UTC.
fn rfc3339_utc(seconds: i64) -> Option<String> {
    let days = seconds.div_euclid(86_400);
    let rest = seconds.rem_euclid(86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (0..=9999).contains(&year).then(|| {
        format!(
            "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
            rest / 3600,
            rest / 60 % 60,
            rest % 60
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A Latin-1, quoted-printable message with a quoted reply, a
    /// signature and a PDF attachment.
    #[test]
    fn lone_carriage_returns_become_line_ends() {
        // The fuzzer's finding: text/plain with bare `\r` line ends.
        let found = include_bytes!("../../fuzz/regressions/extract_email/cr-in-text.eml");
        if let Ok(extracted) = extract(found) {
            assert!(!extracted.document.text.contains('\r'));
        }
        let mail =
            b"Subject: Test\r\nContent-Type: text/plain\r\n\r\nErste Zeile.\rZweite Zeile.\r\n";
        let text = extract(mail).unwrap().document.text;
        assert!(!text.contains('\r'), "{text:?}");
        assert!(
            text.contains("Erste Zeile.") && text.contains("Zweite Zeile."),
            "{text:?}"
        );
    }

    fn latin1_mail() -> Vec<u8> {
        let mut mail = b"From: Pressestelle <presse@example.org>\r\n\
To: redaktion@example.org\r\n\
Subject: =?ISO-8859-1?Q?Stra=DFensperrung_in_der_Altstadt?=\r\n\
Date: Mon, 3 Mar 2025 10:15:00 +0100\r\n\
MIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=\"XYZ\"\r\n\
\r\n\
--XYZ\r\n\
Content-Type: text/plain; charset=ISO-8859-1\r\n\
Content-Transfer-Encoding: quoted-printable\r\n\
\r\n\
Die Hauptstra=DFe wird ab Montag f=FCr drei Wochen gesperrt. Grund sind Arbe=\r\n\
iten an der Fernw=E4rmeleitung.\r\n\
\r\n\
Am 1. M=E4rz 2025 schrieb Anna Schulz:\r\n\
> Wann beginnt die Sperrung?\r\n\
\r\n\
-- \r\n\
Pressestelle der Stadt\r\n\
Tel. 0123 456\r\n\
--XYZ\r\n\
Content-Type: application/pdf; name=\"mitteilung.pdf\"\r\n\
Content-Disposition: attachment; filename=\"mitteilung.pdf\"\r\n\
Content-Transfer-Encoding: base64\r\n\
\r\n\
JVBERi0xLjQK\r\n\
--XYZ--\r\n"
            .to_vec();
        mail.shrink_to_fit();
        mail
    }

    #[test]
    fn latin1_quoted_printable_mail() {
        let got = extract(&latin1_mail()).unwrap();
        let doc = &got.document;
        assert_eq!(
            doc.title.as_deref(),
            Some("Straßensperrung in der Altstadt")
        );
        assert_eq!(
            doc.text,
            "Die Hauptstraße wird ab Montag für drei Wochen gesperrt. Grund sind Arbeiten an der Fernwärmeleitung."
        );
        assert_eq!(doc.encoding, "windows-1252");
        assert_eq!(got.date.as_deref(), Some("2025-03-03T09:15:00Z"));
        assert_eq!(
            got.warnings,
            ["attachment \"mitteilung.pdf\" (application/pdf) not summarized: save it and run kurz on it"]
        );
    }

    #[test]
    fn html_only_mail_and_outlook_reply() {
        let mail = "From: a@example.org\r\nSubject: Kita\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n"
            .to_string()
            + &base64_lines("<html><body><p>Die Kita am Park öffnet im Mai.</p><p>-----Original Message-----</p><p>Alte Nachricht</p></body></html>");
        let got = extract(mail.as_bytes()).unwrap();
        assert_eq!(got.document.title.as_deref(), Some("Kita"));
        assert_eq!(got.document.text, "Die Kita am Park öffnet im Mai.");
        assert_eq!(got.document.encoding, "UTF-8");
        assert!(got.warnings.is_empty());
    }

    fn base64_lines(text: &str) -> String {
        const ALPHABET: &[u8; 64] =
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut out = String::new();
        for chunk in text.as_bytes().chunks(3) {
            let b = [
                chunk[0],
                *chunk.get(1).unwrap_or(&0),
                *chunk.get(2).unwrap_or(&0),
            ];
            let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
            for i in 0..4 {
                if i <= chunk.len() {
                    out.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]));
                } else {
                    out.push('=');
                }
            }
        }
        out + "\r\n"
    }

    #[test]
    fn broken_mails_say_why() {
        let err = extract(b"just some text\nwithout headers").unwrap_err();
        assert!(err.to_string().starts_with("broken e-mail: "), "{err}");
        let only_attachment = "From: a@example.org\r\nSubject: x\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=a.pdf\r\n\r\nJVBERi0=\r\n";
        let err = extract(only_attachment.as_bytes()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "broken e-mail: no text/plain or text/html part"
        );
        let empty = "From: a@example.org\r\nSubject: x\r\n\r\n> only a quote\r\n";
        assert!(matches!(extract(empty.as_bytes()), Err(InputError::Empty)));
    }

    #[test]
    fn quotes_and_signatures() {
        let text = "Hallo,\n\nhier die Meldung.\n\nOn Mon, 3 Mar 2025, Bob wrote:\n> alt\n> alt\n\nNoch ein Satz.\n-- \nSignatur";
        assert_eq!(
            without_quotes_and_signature(text),
            "Hallo,\n\nhier die Meldung.\n\n\nNoch ein Satz."
        );
        // Not an attribution when nothing quoted follows.
        assert_eq!(
            without_quotes_and_signature("Der Minister schrieb:\nDas Zitat."),
            "Der Minister schrieb:\nDas Zitat."
        );
    }

    #[test]
    fn unix_times() {
        assert_eq!(rfc3339_utc(0).as_deref(), Some("1970-01-01T00:00:00Z"));
        assert_eq!(
            rfc3339_utc(1_740_993_300).as_deref(),
            Some("2025-03-03T09:15:00Z")
        );
        assert_eq!(
            rfc3339_utc(951_782_400).as_deref(),
            Some("2000-02-29T00:00:00Z")
        );
        assert_eq!(rfc3339_utc(i64::MAX), None);
    }
}
