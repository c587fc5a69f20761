//! `kurz::input::extract_bytes(.., InputKind::Email, ..)` (mailparse, then
//! the HTML or text part through kurz's extraction) on arbitrary bytes,
//! the path an `.eml` input takes. See `common::check` for what is
//! checked beyond "no panic / hang / OOM".
#![no_main]

mod common;

use kurz::input::{extract_bytes, InputKind};
use kurz::stop::StopToken;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    common::check(extract_bytes(data, InputKind::Email, &StopToken::never()));
});
