//! `kurz::input::extract_document(.., InputKind::Html)` on what
//! `decode_bytes` makes of arbitrary bytes (the path every input file
//! takes): it must return a document or an error, never panic or hang.
#![no_main]

use kurz::input::{decode_bytes, extract_document, InputKind};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok((text, _)) = decode_bytes(data) else {
        return;
    };
    if let Ok(doc) = extract_document(&text, InputKind::Html) {
        assert!(!doc.text.is_empty(), "extracted an empty document");
    }
});
