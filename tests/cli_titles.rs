//! English titles and English numbers end to end, on the real SmolLM2-135M
//! test model: a summary is headed with an English title (or the German one
//! kept with a warning that says why, never an invented one), the manifest
//! keeps the German original as `source_title`, and a document without a
//! title makes no title call.

mod common;

use std::fs;
use std::path::Path;

use serde_json::Value;

const TITLE: &str = "Hochwasser in Sachsen: Pegel der Mulde erreicht Höchststand";
const ARTICLE: &str = "Hochwasser in Sachsen: Pegel der Mulde erreicht Höchststand

Nach tagelangem Regen hat die Mulde in Grimma am Dienstag einen Pegel von 6,4 Metern \
erreicht. Rund 1.500 Menschen mussten ihre Häuser verlassen. Der 2,2 Kilometer lange \
Schutzdeich hielt dem Wasser stand; sein Bau hatte 4,5 Millionen Euro gekostet.
";

/// A text without a title line: its first paragraph is too long for one.
const UNTITLED: &str = "Nach tagelangem Regen hat die Mulde in Grimma am Dienstag einen Pegel \
von 6,4 Metern erreicht, und rund 1.500 Menschen mussten ihre Häuser verlassen, während der \
Schutzdeich dem Wasser standhielt und die Feuerwehr die ganze Nacht im Einsatz war.\n";

/// Runs `kurz summarize` (test model, no guard, 30 words) on `inputs`
/// under `dir/in`; returns the manifest lines.
fn summarize(dir: &Path, inputs: &[(&str, &str)]) -> Vec<Value> {
    for (name, text) in inputs {
        let path = dir.join("in").join(name);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    }
    let out = dir.join("out");
    let run = common::isolated_kurz(dir)
        .current_dir(dir)
        .arg("summarize")
        .arg("--model")
        .arg(common::test_model())
        .arg("--cache-dir")
        .arg(common::test_cache())
        .args(["--max-words", "30", "--no-guard", "-o"])
        .arg(&out)
        .arg("in")
        .output()
        .expect("kurz runs");
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(0), "{stderr}");
    fs::read_to_string(out.join("manifest.jsonl"))
        .expect("manifest")
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect()
}

fn row<'a>(rows: &'a [Value], input: &str) -> &'a Value {
    rows.iter()
        .find(|r| r["input"] == input)
        .unwrap_or_else(|| panic!("no row for {input}: {rows:#?}"))
}

fn warnings(row: &Value) -> Vec<String> {
    row["warnings"]
        .as_array()
        .map(|w| {
            w.iter()
                .filter_map(|w| w.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn a_summary_is_headed_with_an_english_title_or_says_why_not() {
    let dir = tempfile::tempdir().unwrap();
    let rows = summarize(
        dir.path(),
        &[("hochwasser.txt", ARTICLE), ("ohne-titel.txt", UNTITLED)],
    );
    assert_eq!(rows.len(), 2, "{rows:#?}");

    let titled = row(&rows, "in/hochwasser.txt");
    assert_eq!(titled["status"], "ok", "{titled:#}");
    assert_eq!(titled["source_title"], TITLE, "{titled:#}");
    let heading = titled["title"].as_str().expect("a title");
    let written = fs::read_to_string(
        dir.path()
            .join("out")
            .join(titled["output"].as_str().unwrap()),
    )
    .unwrap();
    assert!(
        written.starts_with(&format!("# {heading}\n\n")),
        "{written}"
    );
    let explained: Vec<String> = warnings(titled)
        .into_iter()
        .filter(|w| w.starts_with("title not translated: "))
        .collect();
    if heading == TITLE {
        // Kept in German: only after both attempts, with the reason.
        assert_eq!(titled["title_translated"], false, "{titled:#}");
        assert_eq!(titled["title_attempts"], 2, "{titled:#}");
        assert_eq!(explained.len(), 1, "{titled:#}");
        assert!(
            explained[0].ends_with("after 2 attempts; the German title is kept"),
            "{titled:#}"
        );
    } else {
        // Translated: checked English, on one line, names from the title.
        assert_eq!(titled["title_translated"], true, "{titled:#}");
        assert!(explained.is_empty(), "{titled:#}");
        assert!(
            !heading.contains('\n') && !heading.starts_with('"'),
            "{heading}"
        );
        assert!(heading.chars().count() <= 160, "{heading}");
        assert_eq!(
            kurz::task::language::output_language(heading),
            None,
            "{heading}"
        );
    }
    assert!(
        titled["title_seconds"].as_f64().is_some_and(|s| s > 0.0),
        "{titled:#}"
    );
    // The summary's numbers are English: no German decimal comma is left.
    let summary = titled["summary"].as_str().unwrap();
    assert!(titled["numbers_rewritten"].is_u64(), "{titled:#}");
    let again = kurz::task::numbers::english_numbers(summary, ARTICLE);
    assert_eq!(again.count, 0, "German number forms left in {summary}");

    // No title: no title call, the file name heads the output.
    let untitled = row(&rows, "in/ohne-titel.txt");
    assert_eq!(untitled["status"], "ok", "{untitled:#}");
    assert!(untitled["title"].is_null(), "{untitled:#}");
    assert!(untitled.get("source_title").is_none(), "{untitled:#}");
    assert!(untitled.get("title_attempts").is_none(), "{untitled:#}");
    assert_eq!(untitled["model_calls"], 1, "{untitled:#}");
    let written = fs::read_to_string(
        dir.path()
            .join("out")
            .join(untitled["output"].as_str().unwrap()),
    )
    .unwrap();
    assert!(written.starts_with("# ohne-titel\n\n"), "{written}");
}
