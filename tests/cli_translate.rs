//! `kurz translate` end to end on the real SmolLM2-135M test model: every
//! paragraph of the source comes out as one paragraph of the translation.

mod common;

use std::fs;

use assert_cmd::Command;
use serde_json::Value;

const BRIEF: &str = "Neue Brücke in Dresden eröffnet

Dresden. In Dresden ist am Montag eine neue Brücke über die Elbe eröffnet worden.

Der Bau dauerte drei Jahre und kostete 40 Millionen Euro.

Die Stadt erwartet täglich 12.000 Radfahrer.
";

#[test]
fn translation_keeps_every_paragraph() {
    let (entry, written) = run_translate(&[]);
    assert_eq!(entry["status"], "ok");
    assert_eq!(entry["task"], "translate");
    assert_eq!(entry["params"]["task"], "translate");
    // The title (one call, or two when the first answer was refused) and
    // one call per paragraph.
    let title_attempts = entry["title_attempts"].as_u64().expect("title_attempts");
    assert!((1..=2).contains(&title_attempts), "{entry:#}");
    assert_eq!(entry["model_calls"], 3 + title_attempts, "{entry:#}");
    // The German title is kept in the manifest; the heading is the
    // recorded title: English, or the German one with a warning.
    assert_eq!(entry["source_title"], "Neue Brücke in Dresden eröffnet");
    let heading = entry["title"].as_str().expect("a title");
    assert!(
        written.starts_with(&format!("# {heading}\n\n")),
        "{written}"
    );
    if entry["title_translated"] != true {
        assert_eq!(heading, "Neue Brücke in Dresden eröffnet");
        assert!(
            entry["warnings"]
                .to_string()
                .contains("title not translated: "),
            "{entry:#}"
        );
    }

    assert!(written.ends_with('\n'));
    let (title, body) = written
        .split_once("\n\n")
        .expect("a title line, a blank line, the text");
    assert!(title.starts_with("# ") && title.len() > 2, "{written}");
    let paragraphs: Vec<&str> = body
        .split("\n\n")
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect();
    assert_eq!(paragraphs.len(), 3, "{written}");
    assert!(paragraphs.iter().all(|p| !p.contains('\n')));
    assert_eq!(
        entry["summary"].as_str().unwrap().split("\n\n").count(),
        3,
        "manifest text keeps the structure too"
    );
}

/// Runs `kurz translate` on BRIEF with `extra` arguments; returns the
/// manifest entry and the written translation.
fn run_translate(extra: &[&str]) -> (Value, String) {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("brief.txt");
    fs::write(&input, BRIEF).unwrap();
    let out = dir.path().join("out");
    Command::new(env!("CARGO_BIN_EXE_kurz"))
        .arg("translate")
        .arg(&input)
        .arg("-o")
        .arg(&out)
        .arg("--model")
        .arg(common::test_model())
        .arg("-q")
        .args(extra)
        .env("KURZ_HOME", dir.path().join("home"))
        .current_dir(dir.path())
        .assert()
        .success();
    let manifest = fs::read_to_string(out.join("manifest.jsonl")).unwrap();
    let entry: Value = serde_json::from_str(manifest.lines().next().unwrap()).unwrap();
    let written = fs::read_to_string(out.join(entry["output"].as_str().unwrap())).unwrap();
    (entry, written)
}

/// The manifest entry and the paragraphs of the written translation's body.
fn translate_brief(extra: &[&str]) -> (Value, Vec<String>) {
    let (entry, written) = run_translate(extra);
    let (_, body) = written.split_once("\n\n").unwrap();
    let paragraphs = body
        .split("\n\n")
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(str::to_string)
        .collect();
    (entry, paragraphs)
}

#[test]
fn context_and_candidates_keep_every_paragraph_and_are_recorded() {
    let (plain, plain_paragraphs) = translate_brief(&[]);
    assert_eq!(plain["params"]["candidates"], 1);
    assert_eq!(plain["params"]["with_context"], false);
    assert_eq!(plain_paragraphs.len(), 3);

    // With the previous paragraph as context, the second and third
    // paragraphs' prompts carry the one before them: more prompt tokens,
    // the same calls and paragraphs.
    let (context, paragraphs) = translate_brief(&["--with-context"]);
    assert_eq!(context["status"], "ok");
    assert_eq!(context["params"]["with_context"], true);
    assert_eq!(context["model_calls"], plain["model_calls"]);
    assert_eq!(paragraphs.len(), 3);
    assert!(
        context["prompt_tokens"].as_u64().unwrap() > plain["prompt_tokens"].as_u64().unwrap() + 40,
        "{context:#}\n{plain:#}"
    );
    // The first paragraph has no context: the same translation.
    assert_eq!(paragraphs[0], plain_paragraphs[0]);

    // Three candidates per paragraph, decoded together: one call each,
    // three times the generated tokens' worth of answers at most.
    let (three, paragraphs) = translate_brief(&["--candidates", "3"]);
    assert_eq!(three["params"]["candidates"], 3);
    assert_eq!(three["model_calls"], plain["model_calls"]);
    assert_eq!(paragraphs.len(), 3);
    assert!(
        three["generated_tokens"].as_u64().unwrap() > plain["generated_tokens"].as_u64().unwrap(),
        "{three:#}"
    );
}
