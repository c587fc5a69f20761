//! `kurz::input::extract_bytes` for DOCX and ODT (zip + quick-xml) on
//! arbitrary bytes: the first byte chooses the format (even: DOCX, odd:
//! ODT), the rest is the file. See `common::check` for what is checked
//! beyond "no panic / hang / OOM".
#![no_main]

mod common;

use kurz::input::{extract_bytes, InputKind};
use kurz::stop::StopToken;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&choice, file)) = data.split_first() else {
        return;
    };
    let kind = if choice % 2 == 0 {
        InputKind::Docx
    } else {
        InputKind::Odt
    };
    common::check(extract_bytes(file, kind, &StopToken::never()));
});
