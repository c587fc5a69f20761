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
        .env("KURZ_HOME", dir.path().join("home"))
        .current_dir(dir.path())
        .assert()
        .success();

    let manifest = fs::read_to_string(out.join("manifest.jsonl")).unwrap();
    let entry: Value = serde_json::from_str(manifest.lines().next().unwrap()).unwrap();
    assert_eq!(entry["status"], "ok");
    assert_eq!(entry["task"], "translate");
    assert_eq!(entry["params"]["task"], "translate");
    // Title + three paragraphs: four model calls, one per piece.
    assert_eq!(entry["model_calls"], 4);

    let written = fs::read_to_string(out.join(entry["output"].as_str().unwrap())).unwrap();
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
