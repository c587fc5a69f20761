//! `kurz eval translation` and `kurz eval summaries` on small inputs whose
//! scores are known (no model needed), and `kurz eval wmt` on a tiny
//! synthetic test set with the SmolLM2 test model.

mod common;

use std::fs;
use std::path::Path;

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::{json, Value};

fn kurz() -> Command {
    Command::new(env!("CARGO_BIN_EXE_kurz"))
}

#[test]
fn translation_scores_are_perfect_for_identical_text_and_lower_otherwise() {
    let dir = tempfile::tempdir().unwrap();
    let reference = dir.path().join("ref.en");
    let same = dir.path().join("same.en");
    let other = dir.path().join("other.en");
    fs::write(
        &reference,
        "The river rose by two metres.\nRain fell in Dresden.\n",
    )
    .unwrap();
    fs::write(
        &same,
        "The river rose by two metres.\nRain fell in Dresden.\n",
    )
    .unwrap();
    fs::write(&other, "The water went up.\nIt rained in Saxony.\n").unwrap();

    let score = |hyp: &std::path::Path| -> Value {
        let out = kurz()
            .args(["eval", "translation", "--json", "--hyp"])
            .arg(hyp)
            .arg("--ref")
            .arg(&reference)
            .assert()
            .success();
        let v: Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
        v[0].clone()
    };
    let perfect = score(&same);
    assert_eq!(perfect["lines"], 2);
    assert!((perfect["chrf"].as_f64().unwrap() - 100.0).abs() < 1e-9);
    assert!((perfect["bleu"].as_f64().unwrap() - 100.0).abs() < 1e-9);
    let worse = score(&other);
    assert!(worse["chrf"].as_f64().unwrap() < 50.0);
    assert!(worse["bleu"].as_f64().unwrap() < 20.0);

    // Files of different lengths are an error, not a silent partial score.
    fs::write(&other, "One line only.\n").unwrap();
    kurz()
        .args(["eval", "translation", "--hyp"])
        .arg(&other)
        .arg("--ref")
        .arg(&reference)
        .assert()
        .failure()
        .stderr(predicates::str::contains(
            "1 hypothesis lines but 2 reference lines",
        ));
}

#[test]
fn summaries_report_unsupported_claims_and_rouge() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    fs::create_dir_all(root.join("artikel")).unwrap();
    fs::write(
        root.join("artikel/nato.txt"),
        "Rutte trifft Trump\n\nNATO-Generalsekretär Rutte hat am Freitag in Palm Beach \
         den künftigen US-Präsidenten Trump getroffen.",
    )
    .unwrap();
    fs::create_dir_all(root.join("refs/artikel")).unwrap();
    fs::write(
        root.join("refs/artikel/nato.txt"),
        "NATO chief Rutte met Trump in Palm Beach on Friday.",
    )
    .unwrap();
    let entry = |summary: &str| {
        json!({
            "input": "artikel/nato.txt", "input_sha256": "x", "bytes": 1, "language": "de",
            "title": "Rutte trifft Trump", "output": "artikel/nato.en.md", "summary": summary,
            "model": {"file": "m", "sha256": "s"}, "params": {}, "prompt_tokens": 1,
            "generated_tokens": 1, "seconds": 1.0, "prefill_seconds": 0.5,
            "decode_seconds": 0.5, "status": "ok", "task": "summarize",
            "finished_at": "2026-01-01T00:00:00Z", "guard": "fail"
        })
    };
    let out = root.join("out");
    fs::create_dir_all(&out).unwrap();
    // Two runs for the same input: the later entry counts.
    let lines = [
        entry("NATO chief Rutte met Trump in Palm Beach on Friday."),
        entry("NATO chief Jens Stoltenberg met Trump in Palm Beach."),
    ];
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    fs::write(out.join("manifest.jsonl"), text).unwrap();

    let assert = kurz()
        .current_dir(root)
        .args([
            "eval",
            "summaries",
            "--json",
            "--summaries",
            "out",
            "--refs",
            "refs",
        ])
        .assert()
        .success();
    let v: Value = serde_json::from_slice(&assert.get_output().stdout).unwrap();
    let totals = &v["totals"];
    assert_eq!(totals["summaries"], 1);
    assert_eq!(totals["unsupported_claims"], 1);
    assert_eq!(totals["summaries_with_unsupported"], 1);
    assert_eq!(
        v["summaries"][0]["unsupported"],
        json!(["Jens Stoltenberg"])
    );
    assert_eq!(totals["with_reference"], 1);
    let r1 = totals["rouge1_f"].as_f64().unwrap();
    assert!(r1 > 0.5 && r1 < 1.0, "{r1}");
}

/// chrF/BLEU of `hyp` against `reference` as `kurz eval translation` reports them.
fn translation_score(hyp: &Path, reference: &Path) -> Value {
    let out = kurz()
        .args(["eval", "translation", "--json", "--hyp"])
        .arg(hyp)
        .arg("--ref")
        .arg(reference)
        .assert()
        .success();
    let v: Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    v[0].clone()
}

fn assert_same_scores(row: &Value, expected: &Value) {
    for metric in ["chrf", "bleu"] {
        let (got, want) = (
            row[metric].as_f64().unwrap(),
            expected[metric].as_f64().unwrap(),
        );
        assert!((got - want).abs() < 1e-9, "{metric}: {row} vs {expected}");
    }
}

/// A WMT-like folder: three German lines, a reference and published
/// systems' outputs (`hyp.<system>.en`), one of them too short to score.
fn wmt_folder(root: &Path) -> std::path::PathBuf {
    let dir = root.join("wmt");
    fs::create_dir_all(&dir).unwrap();
    let write = |name: &str, lines: &[&str]| {
        let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
        fs::write(dir.join(name), text).unwrap();
    };
    write(
        "src.de",
        &[
            "Der Zug nach Berlin fährt um acht Uhr ab.",
            "Die Stadt Köln baut eine neue Brücke.",
            "Morgen regnet es in Hamburg.",
        ],
    );
    write(
        "ref.A.en",
        &[
            "The train to Berlin leaves at eight o'clock.",
            "The city of Cologne is building a new bridge.",
            "Tomorrow it will rain in Hamburg.",
        ],
    );
    write(
        "hyp.Alpha.en",
        &[
            "The train to Berlin departs at eight.",
            "Cologne builds a new bridge.",
            "Tomorrow it will rain in Hamburg.",
        ],
    );
    write(
        "hyp.Beta.en",
        &[
            "The train to Berlin leaves at eight o'clock.",
            "The town Cologne builds one new bridge.",
            "Hamburg gets rain.",
        ],
    );
    write("hyp.Short.en", &["Only one line."]);
    dir
}

#[test]
fn wmt_translates_the_first_lines_and_scores_them_beside_published_systems() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = wmt_folder(tmp.path());
    let saved = tmp.path().join("kurz.en");
    let assert = kurz()
        .env("KURZ_HOME", tmp.path().join("home"))
        .args([
            "eval",
            "wmt",
            "--json",
            "--offline",
            "--limit",
            "2",
            "--src",
        ])
        .arg(dir.join("src.de"))
        .arg("--ref")
        .arg(dir.join("ref.A.en"))
        .arg("--save")
        .arg(&saved)
        .arg("--model")
        .arg(common::test_model())
        .assert()
        .success()
        .stderr(
            predicates::str::contains("skipping").and(predicates::str::contains(
                "hyp.Short.en: 1 lines, the reference has 2",
            )),
        );
    let rows: Vec<Value> = serde_json::from_slice(&assert.get_output().stdout).unwrap();
    let systems: Vec<&str> = rows.iter().map(|r| r["system"].as_str().unwrap()).collect();
    assert_eq!(systems.len(), 3, "{systems:?}");
    assert!(systems[0].starts_with("kurz ("), "{systems:?}");
    assert_eq!(&systems[1..], ["Alpha", "Beta"]);
    for row in &rows {
        assert_eq!(row["lines"], 2, "{row}");
        assert!(row["chrf"].is_number() && row["bleu"].is_number(), "{row}");
    }

    // --limit 2 means the first two lines: the published systems score
    // exactly as `eval translation` scores their first two lines, which
    // differs from their score on all three.
    let first_two = |name: &str| {
        let path = tmp.path().join(format!("first2.{name}"));
        let lines: Vec<String> = fs::read_to_string(dir.join(name))
            .unwrap()
            .lines()
            .take(2)
            .map(|l| format!("{l}\n"))
            .collect();
        fs::write(&path, lines.concat()).unwrap();
        path
    };
    let reference = first_two("ref.A.en");
    for (row, system) in rows[1..].iter().zip(["Alpha", "Beta"]) {
        let hyp = format!("hyp.{system}.en");
        assert_same_scores(row, &translation_score(&first_two(&hyp), &reference));
        let whole = translation_score(&dir.join(&hyp), &dir.join("ref.A.en"));
        assert!((whole["chrf"].as_f64().unwrap() - row["chrf"].as_f64().unwrap()).abs() > 1e-6);
    }

    // --save wrote the two translations that were scored.
    let text = fs::read_to_string(&saved).unwrap();
    assert_eq!(text.lines().count(), 2, "{text:?}");
    assert!(text.ends_with('\n'));
    assert_same_scores(&rows[0], &translation_score(&saved, &reference));
}

#[test]
fn wmt_refuses_source_and_reference_of_different_lengths() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = wmt_folder(tmp.path());
    fs::write(dir.join("ref.A.en"), "One.\nTwo.\n").unwrap();
    // Checked before --limit and before any model is looked for.
    kurz()
        .env("KURZ_HOME", tmp.path().join("home"))
        .args(["eval", "wmt", "--offline", "--limit", "2", "--src"])
        .arg(dir.join("src.de"))
        .arg("--ref")
        .arg(dir.join("ref.A.en"))
        .assert()
        .code(1)
        .stderr(
            predicates::str::contains("src.de has 3 lines but")
                .and(predicates::str::contains("ref.A.en has 2")),
        );
}

/// `--jobs 2` runs two lines at once on the batch runner's worker threads
/// and gives the same translations, in the same order, as `--jobs 1`.
#[test]
fn wmt_with_two_jobs_matches_one_job() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = wmt_folder(tmp.path());
    let run = |jobs: &str| {
        let saved = tmp.path().join(format!("kurz.{jobs}.en"));
        kurz()
            .env("KURZ_HOME", tmp.path().join("home"))
            .args([
                "eval",
                "wmt",
                "--json",
                "--offline",
                "--jobs",
                jobs,
                "--src",
            ])
            .arg(dir.join("src.de"))
            .arg("--ref")
            .arg(dir.join("ref.A.en"))
            .arg("--save")
            .arg(&saved)
            .arg("--model")
            .arg(common::test_model())
            .assert()
            .success()
            .stderr(predicates::str::contains("translated 3/3 lines"));
        fs::read_to_string(saved).unwrap()
    };
    let two = run("2");
    let lines: Vec<&str> = two.lines().collect();
    assert_eq!(lines.len(), 3, "{two:?}");
    assert!(lines.iter().all(|l| !l.trim().is_empty()), "{two:?}");
    assert_eq!(two, run("1"), "--jobs 2 and --jobs 1 differ");
}
