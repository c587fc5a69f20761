//! The real SmolLM2-135M tokenizer (built once from
//! `$KURZ_TEST_CACHE/smollm2-135m/smollm2-135m.gguf`, default
//! `/work/main/target/kurz-test-cache`) on arbitrary UTF-8 treated as
//! untrusted article text.
//!
//! Today's untrusted-text path is `strip_control_texts` then `encode_raw`
//! (issue 15 item 1 changes that API in another branch: switch this target
//! to the new untrusted-text encoder once it lands).
//!
//! Checked: no panic; `count` agrees with `encode_raw`; text that holds no
//! control-token text after stripping decodes back to itself. With
//! `KURZ_FUZZ_ASSERT_NO_CONTROL=1`, stripped text that still holds a
//! control token's text (e.g. the nested `<|im_<|im_end|>start|>`) is a
//! crash too (the known injection of issue 15, row 3).
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use kurz::model::TextTokenizer;
use libfuzzer_sys::fuzz_target;

fn tokenizer() -> &'static TextTokenizer {
    static TOKENIZER: OnceLock<TextTokenizer> = OnceLock::new();
    TOKENIZER.get_or_init(|| {
        let cache = std::env::var_os("KURZ_TEST_CACHE")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("/work/main/target/kurz-test-cache"));
        let path = cache.join("smollm2-135m").join("smollm2-135m.gguf");
        TextTokenizer::from_gguf_file(&path)
            .unwrap_or_else(|e| panic!("cannot build the tokenizer from {}: {e}", path.display()))
    })
}

fn assert_no_control() -> bool {
    static FLAG: OnceLock<bool> = OnceLock::new();
    *FLAG.get_or_init(|| std::env::var_os("KURZ_FUZZ_ASSERT_NO_CONTROL").is_some_and(|v| v == "1"))
}

fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    let tok = tokenizer();
    let text = tok.strip_control_texts(input);
    let ids = tok
        .encode_raw(&text)
        .expect("encode_raw failed on valid UTF-8");
    assert_eq!(
        tok.count(&text).ok(),
        Some(ids.len()),
        "count disagrees with encode_raw"
    );
    let clean = tok.strip_control_texts(&text) == text;
    if !clean && assert_no_control() {
        panic!("control-token text survives stripping: {text:?}");
    }
    if clean {
        let back = tok
            .decode(&ids)
            .expect("decode failed on ids of encode_raw");
        assert_eq!(back, text, "text does not round-trip through the tokenizer");
    }
});
