//! `kurz::task::chunk::split_to_budget` with a cheap deterministic token
//! counter (one token per started 4 bytes). The first two input bytes pick
//! the budget (1..=512), the rest is the text (lossy UTF-8).
//!
//! Checked properties:
//! - no text is lost or duplicated: the non-whitespace characters of the
//!   chunks, in order, are those of the text;
//! - every chunk fits the budget, except a chunk that is one single
//!   whitespace-free "word" (the word split by tokens is issue 15 item 2,
//!   fixed in another branch; until then such a chunk is allowed).
#![no_main]

use std::convert::Infallible;

use kurz::task::chunk::{paragraphs, sentences, split_to_budget};
use libfuzzer_sys::fuzz_target;

fn count(s: &str) -> Result<usize, Infallible> {
    Ok(s.len().div_ceil(4))
}

fn non_whitespace(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).collect()
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 2 {
        return;
    }
    let budget = usize::from(u16::from_le_bytes([data[0], data[1]]) % 512) + 1;
    let text = String::from_utf8_lossy(&data[2..]);

    for paragraph in paragraphs(&text) {
        let joined: String = sentences(paragraph).concat();
        assert_eq!(
            non_whitespace(&joined),
            non_whitespace(paragraph),
            "sentences lost text"
        );
    }

    let chunks = match split_to_budget(&text, budget, &count) {
        Ok(chunks) => chunks,
        Err(never) => match never {},
    };
    let rejoined: String = chunks.concat();
    assert_eq!(
        non_whitespace(&rejoined),
        non_whitespace(&text),
        "chunks lost or repeated text"
    );
    for chunk in &chunks {
        assert!(!chunk.trim().is_empty(), "blank chunk");
        let tokens = count(chunk).unwrap_or_default();
        let one_word = !chunk.contains(char::is_whitespace);
        assert!(
            tokens <= budget || one_word,
            "chunk of {tokens} tokens over budget {budget}: {chunk:?}"
        );
    }
});
