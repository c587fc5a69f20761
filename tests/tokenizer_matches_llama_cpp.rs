//! kurz's tokenizer, rebuilt from GGUF metadata, must give exactly the token
//! ids llama.cpp gives for the same text.
//!
//! The expected ids are in `tests/fixtures/tokens/<model>.json`, written once
//! by `scripts/make-token-fixture.py` with llama-cpp-python (see that script
//! for how to regenerate them). Cases from `../shared/data` store only the
//! SHA-256 of their text; they are re-read from there and skipped (with a
//! note) when that folder is absent.

mod common;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use kurz::model::TextTokenizer;
use serde::Deserialize;
use sha2::{Digest, Sha256};

#[derive(Debug, Deserialize)]
struct Fixture {
    model: String,
    gguf_sha256: String,
    llama_cpp_python: String,
    command: String,
    cases: Vec<Case>,
}

#[derive(Debug, Deserialize)]
struct Case {
    source: String,
    #[serde(default)]
    encoding: Option<String>,
    #[serde(default)]
    text: Option<String>,
    text_sha256: String,
    ids: Vec<u32>,
}

/// Lines of `src.de` in the fixture, read once.
struct Shared {
    seed: String,
    wmt_lines: Vec<String>,
}

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn shared_dir() -> PathBuf {
    repo().join("..").join("shared").join("data")
}

fn load_shared() -> Option<Shared> {
    let dir = shared_dir();
    if !dir.is_dir() {
        return None;
    }
    let read = |p: PathBuf| {
        std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("cannot read {}: {e}", p.display()))
    };
    let seed = read(dir.join("seed").join("article.de.txt"));
    let src = read(dir.join("wmt22-de-en").join("src.de"));
    let wmt_lines = src.split('\n').map(str::to_string).collect();
    Some(Shared { seed, wmt_lines })
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .fold(String::new(), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

fn file_sha256(path: &Path) -> String {
    let mut file =
        std::fs::File::open(path).unwrap_or_else(|e| panic!("cannot open {}: {e}", path.display()));
    let mut hasher = Sha256::new();
    std::io::copy(&mut file, &mut hasher)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    hasher.finalize().iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// Decodes a sample file the way the fixture script read it.
fn read_sample(path: &Path, encoding: Option<&str>) -> String {
    let bytes =
        std::fs::read(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    match encoding.unwrap_or("utf-8") {
        "utf-8" => String::from_utf8(bytes)
            .unwrap_or_else(|e| panic!("{} is not UTF-8: {e}", path.display())),
        // ISO-8859-1 maps each byte to the code point of the same value.
        "latin-1" => bytes.iter().map(|&b| char::from(b)).collect(),
        other => panic!("{}: unknown encoding {other}", path.display()),
    }
}

/// The text of a case, or `None` when it comes from absent shared data.
fn case_text(case: &Case, shared: Option<&Shared>) -> Option<String> {
    if let Some(text) = &case.text {
        return Some(text.clone());
    }
    if let Some(rest) = case.source.strip_prefix("shared:") {
        let shared = shared?;
        if rest == "seed/article.de.txt" {
            return Some(shared.seed.clone());
        }
        if let Some(n) = rest.strip_prefix("wmt22-de-en/src.de:") {
            let n: usize = n.parse().expect("line number");
            return Some(
                shared
                    .wmt_lines
                    .get(n - 1)
                    .unwrap_or_else(|| panic!("src.de has no line {n}"))
                    .clone(),
            );
        }
        panic!("unknown shared source {}", case.source);
    }
    Some(read_sample(
        &repo().join(&case.source),
        case.encoding.as_deref(),
    ))
}

/// A window of ids around `pos`, each with its decoded text.
fn window(tok: &TextTokenizer, ids: &[u32], pos: usize) -> String {
    let start = pos.saturating_sub(4);
    let end = (pos + 8).min(ids.len());
    let mut out = String::new();
    if start > 0 {
        out.push_str("… ");
    }
    for (i, &id) in ids.iter().enumerate().take(end).skip(start) {
        // A token holding part of a UTF-8 sequence decodes to U+FFFD: show
        // its byte-level vocabulary entry instead.
        let text = match tok.decode(&[id]) {
            Ok(t) if !t.contains('\u{FFFD}') => t,
            _ => tok.token_text(id).unwrap_or_else(|| "?".to_string()),
        };
        let mark = if i == pos { ">>" } else { "" };
        let _ = write!(out, "{mark}{id}:{text:?} ");
    }
    if end < ids.len() {
        out.push('…');
    }
    out
}

fn check_fixture(id: &str, gguf: &Path) {
    let fixture_path = repo()
        .join("tests")
        .join("fixtures")
        .join("tokens")
        .join(format!("{id}.json"));
    let json = std::fs::read_to_string(&fixture_path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", fixture_path.display()));
    let fixture: Fixture = serde_json::from_str(&json)
        .unwrap_or_else(|e| panic!("bad fixture {}: {e}", fixture_path.display()));
    assert_eq!(fixture.model, id);
    eprintln!(
        "{id}: {} cases from llama-cpp-python {} ({})",
        fixture.cases.len(),
        fixture.llama_cpp_python,
        fixture.command
    );
    let actual_sha = file_sha256(gguf);
    if actual_sha != fixture.gguf_sha256 {
        eprintln!(
            "note: {} has sha256 {actual_sha}, the fixture was made from {}; \
             comparing anyway (the tokenizer metadata is usually the same)",
            gguf.display(),
            fixture.gguf_sha256
        );
    }

    let tok = TextTokenizer::from_gguf_file(gguf)
        .unwrap_or_else(|e| panic!("cannot build the tokenizer of {}: {e}", gguf.display()));
    let shared = load_shared();
    let mut skipped = 0;
    let mut checked = 0;
    let mut failures = Vec::new();
    for case in &fixture.cases {
        let Some(text) = case_text(case, shared.as_ref()) else {
            skipped += 1;
            continue;
        };
        if sha256_hex(text.as_bytes()) != case.text_sha256 {
            failures.push(format!(
                "{}: text differs from the one the fixture was made from; regenerate with `{}`",
                case.source, fixture.command
            ));
            continue;
        }
        checked += 1;
        let ids = tok
            .encode_raw(&text)
            .unwrap_or_else(|e| panic!("{}: encode failed: {e}", case.source));
        if ids == case.ids {
            continue;
        }
        let pos = ids
            .iter()
            .zip(&case.ids)
            .position(|(a, b)| a != b)
            .unwrap_or(ids.len().min(case.ids.len()));
        eprintln!(
            "MISMATCH {} (kurz {} ids, llama.cpp {} ids), first difference at {pos}:\n  \
             llama.cpp: {}\n  kurz:      {}",
            case.source,
            ids.len(),
            case.ids.len(),
            window(&tok, &case.ids, pos),
            window(&tok, &ids, pos),
        );
        failures.push(format!("{}: ids differ at position {pos}", case.source));
    }
    if skipped > 0 {
        eprintln!(
            "{id}: skipped {skipped} cases from {} (absent)",
            shared_dir().display()
        );
    }
    eprintln!(
        "{id}: {checked} cases checked, {} failed, {skipped} skipped",
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "{id}: {} of {checked} cases do not match llama.cpp:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn smollm2_tokens_match_llama_cpp() {
    check_fixture("smollm2-135m", &common::test_model());
}

#[test]
fn qwen25_coder_tokens_match_llama_cpp() {
    check_fixture("qwen2.5-coder-1.5b", &common::qwen_model());
}
