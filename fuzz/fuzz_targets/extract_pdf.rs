//! `kurz::input::extract_bytes(.., InputKind::Pdf, ..)` (lopdf, then kurz's
//! text-layer reader) on arbitrary bytes, the path a `.pdf` input takes:
//! a document or an error, never a panic or hang. See `common::check`
//! for what is checked beyond that.
#![no_main]

mod common;

use kurz::input::{extract_bytes, InputKind};
use kurz::stop::StopToken;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    common::check(extract_bytes(data, InputKind::Pdf, &StopToken::never()));
});
