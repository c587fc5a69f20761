//! `kurz eval translation` and `kurz eval summaries` on small inputs whose
//! scores are known (no model needed).

use std::fs;

use assert_cmd::Command;
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
