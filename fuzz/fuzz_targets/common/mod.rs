//! Checks shared by the `extract_*` targets of the binary formats (PDF,
//! DOCX/ODT, e-mail, feeds), which all end in `kurz::input::extract_bytes`.

use kurz::input::{Extracted, InputError, PARSER_PANICKED};

/// Checks what `extract_bytes` returned beyond "no panic / hang / OOM":
///
/// - a document's text is non-blank and has no `\r`; a title, when there
///   is one, is non-blank;
/// - a `date` is RFC 3339 (the manifest says so);
/// - a panic of a third-party parser was contained as
///   `InputError::Broken` (the batch goes on); the target still fails
///   on it so that the fuzzer reports the input (the parser's panic
///   message and location are printed above the failure).
pub fn check(result: Result<Extracted, InputError>) {
    match result {
        Ok(extracted) => {
            let doc = &extracted.document;
            assert!(!doc.text.trim().is_empty(), "extracted a blank document");
            assert!(!doc.text.contains('\r'), "document text holds \\r");
            if let Some(title) = &doc.title {
                assert!(!title.trim().is_empty(), "blank title {title:?}");
            }
            if let Some(date) = &extracted.date {
                assert!(
                    chrono::DateTime::parse_from_rfc3339(date).is_ok(),
                    "date {date:?} is not RFC 3339"
                );
            }
        }
        Err(InputError::Broken { format, reason }) if reason == PARSER_PANICKED => {
            panic!("contained: the {format} parser panicked on this input (see above)")
        }
        Err(_) => {}
    }
}
