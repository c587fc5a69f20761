//! `kurz::input::decode_bytes` on arbitrary bytes: it must return text or an
//! error, never panic, and text it returns must be non-empty with `\n` line
//! endings only.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok((text, _encoding)) = kurz::input::decode_bytes(data) {
        assert!(!text.trim().is_empty(), "decoded text is blank");
        assert!(!text.contains('\r'), "decoded text keeps a carriage return");
    }
});
