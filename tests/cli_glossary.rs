//! `--glossary FILE` end to end on the real SmolLM2-135M test model: the
//! entries found in an article are listed in its manifest line (with
//! whether the output used their English; with a 135M model either is
//! possible), entries not in it are not, the glossary's digest is part of
//! the params (same entries: skipped; changed: redone), and a bad glossary
//! stops kurz with exit 1 before any model loads.

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;
use tempfile::TempDir;

const ARTICLE: &str = "Weniger Arbeitslose im Mai

Nürnberg. Die Zahl der Arbeitslosen in Deutschland ist im Mai gesunken. Nach Angaben der \
Bundesagentur für Arbeit waren 2,7 Millionen Menschen ohne Arbeit, 50.000 weniger als im \
April. Die Ampel-Koalition in Berlin wertete die Zahlen als Erfolg ihrer Politik. Die \
Bundesagentur für Arbeit rechnet für den Sommer mit einer stabilen Entwicklung.
";

const GLOSSARY_TSV: &str = "# Glossar der Nachrichtenredaktion
Bundesagentur für Arbeit\tFederal Employment Agency

Ampel-Koalition\ttraffic-light coalition
Europäische Zentralbank\tEuropean Central Bank
";

/// The same entries as [`GLOSSARY_TSV`], in another order and format.
const GLOSSARY_TOML: &str = "\"Europäische Zentralbank\" = \"European Central Bank\"
\"Ampel-Koalition\" = \"traffic-light coalition\"
\"Bundesagentur für Arbeit\" = \"Federal Employment Agency\"
";

struct Scratch {
    dir: TempDir,
}

impl Scratch {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        fs::create_dir_all(dir.path().join("cwd")).expect("cwd");
        Self { dir }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    fn write(&self, rel: &str, text: &str) -> PathBuf {
        let path = self.path(rel);
        fs::write(&path, text).expect("write");
        path
    }

    /// `kurz TASK INPUT -o OUT --glossary GLOSSARY --model <test model> -q`
    /// with private caches; the summary with 30 words and one candidate
    /// per guard round.
    fn run(&self, task: &str, input: &Path, out: &Path, glossary: &Path, model: &Path) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_kurz"));
        cmd.current_dir(self.path("cwd"))
            .env("KURZ_HOME", self.path("home"))
            .env("HF_HUB_CACHE", self.path("hf"))
            .env_remove("KURZ_MODEL")
            .env_remove("KURZ_OFFLINE")
            .arg(task)
            .arg(input)
            .arg("-o")
            .arg(out)
            .arg("--glossary")
            .arg(glossary)
            .arg("--model")
            .arg(model)
            .arg("-q");
        if task == "summarize" {
            cmd.args(["--max-words", "30", "--candidates", "1"]);
        }
        cmd
    }
}

/// The last manifest line of `out`.
fn last_entry(out: &Path) -> Value {
    let manifest = fs::read_to_string(out.join("manifest.jsonl")).expect("a manifest");
    let line = manifest.lines().last().expect("a line");
    serde_json::from_str(line).expect("JSON")
}

/// `(de, en, used)` of the entry's glossary list; panics unless each
/// element has exactly a string `de`, a string `en` and a boolean `used`.
fn glossary_rows(entry: &Value) -> Vec<(String, String, bool)> {
    entry["glossary"]
        .as_array()
        .unwrap_or_else(|| panic!("no glossary list: {entry}"))
        .iter()
        .map(|row| {
            assert_eq!(row.as_object().map(|o| o.len()), Some(3), "{row}");
            (
                row["de"].as_str().expect("de").to_string(),
                row["en"].as_str().expect("en").to_string(),
                row["used"].as_bool().expect("used is a bool"),
            )
        })
        .collect()
}

/// Checks that `used` agrees with the output text and that every unused
/// entry is named in a warning.
fn check_used(entry: &Value, output: &str) {
    let words = |t: &str| {
        t.to_lowercase()
            .replace('-', " ")
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    };
    let text = words(output);
    let warnings = entry["warnings"].to_string();
    for (de, en, used) in glossary_rows(entry) {
        let present = text.contains(&words(&en));
        assert_eq!(used, present, "{en} in {output:?}");
        if !used {
            assert!(
                warnings.contains(&format!("`{en}` for `{de}`")),
                "{warnings}"
            );
        }
    }
}

#[test]
fn summarize_lists_the_entries_found_and_resumes_by_glossary() {
    let s = Scratch::new();
    let model = common::test_model();
    let input = s.write("arbeitsmarkt.txt", ARTICLE);
    let tsv = s.write("glossar.tsv", GLOSSARY_TSV);
    let out = s.path("out");
    s.run("summarize", &input, &out, &tsv, &model)
        .assert()
        .success();
    let entry = last_entry(&out);
    assert_eq!(entry["status"], "ok", "{entry}");
    let rows = glossary_rows(&entry);
    let listed: Vec<(&str, &str)> = rows
        .iter()
        .map(|(de, en, _)| (de.as_str(), en.as_str()))
        .collect();
    // Most frequent first; the entry not in the article is not listed.
    assert_eq!(
        listed,
        vec![
            ("Bundesagentur für Arbeit", "Federal Employment Agency"),
            ("Ampel-Koalition", "traffic-light coalition"),
        ]
    );
    let summary = entry["summary"].as_str().expect("summary");
    check_used(&entry, summary);
    // The guard ran and took the English it was given as supported.
    assert!(entry["guard"].is_string(), "{entry}");
    let unsupported = entry["unsupported"].to_string().to_lowercase();
    for (_, en, used) in glossary_rows(&entry) {
        for word in en.split([' ', '-']).filter(|_| used) {
            assert!(
                !unsupported.contains(&word.to_lowercase()),
                "{word}: {entry}"
            );
        }
    }
    let digest = entry["params"]["glossary_sha256"]
        .as_str()
        .expect("the glossary's digest in the params")
        .to_string();
    assert_eq!(digest.len(), 64);

    // The same entries as TOML: the same glossary, nothing to redo.
    let toml = s.write("glossar.toml", GLOSSARY_TOML);
    s.run("summarize", &input, &out, &toml, &model)
        .assert()
        .success();
    let skipped = last_entry(&out);
    assert_eq!(skipped["status"], "skipped", "{skipped}");
    assert_eq!(skipped["glossary"], entry["glossary"]);

    // A changed entry: the work is redone under the new digest.
    let changed = s.write(
        "glossar2.tsv",
        &GLOSSARY_TSV.replace("Federal Employment Agency", "Federal Labour Agency"),
    );
    s.run("summarize", &input, &out, &changed, &model)
        .assert()
        .success();
    let redone = last_entry(&out);
    assert_eq!(redone["status"], "ok", "{redone}");
    assert_ne!(redone["params"]["glossary_sha256"], digest.as_str());
    assert_eq!(glossary_rows(&redone)[0].1, "Federal Labour Agency");
}

#[test]
fn translate_lists_the_entries_found_in_the_document() {
    let s = Scratch::new();
    let input = s.write("arbeitsmarkt.txt", ARTICLE);
    let tsv = s.write("glossar.tsv", GLOSSARY_TSV);
    let out = s.path("out");
    s.run("translate", &input, &out, &tsv, &common::test_model())
        .assert()
        .success();
    let entry = last_entry(&out);
    assert_eq!(entry["status"], "ok", "{entry}");
    assert_eq!(entry["task"], "translate");
    let german: Vec<String> = glossary_rows(&entry)
        .into_iter()
        .map(|(de, _, _)| de)
        .collect();
    assert_eq!(german, vec!["Bundesagentur für Arbeit", "Ampel-Koalition"]);
    let written = fs::read_to_string(out.join(entry["output"].as_str().expect("output")))
        .expect("the translation");
    check_used(&entry, &written);
}

#[test]
fn a_bad_glossary_stops_kurz_before_any_model_loads() {
    let s = Scratch::new();
    let input = s.write("arbeitsmarkt.txt", ARTICLE);
    // No model at this path: kurz must fail on the glossary first.
    let no_model = s.path("missing.gguf");
    let cases = [
        (
            "g.tsv",
            "# Glossar\nBundesagentur für Arbeit Federal Employment Agency\n",
            "g.tsv:2: no tab between the German and the English side",
        ),
        (
            "g.toml",
            "EZB = \"ECB\"\nEZB = \"European Central Bank\"\n",
            "g.toml:2: not a TOML glossary: duplicate key",
        ),
        (
            "h.tsv",
            "EZB\tECB\nBundesbank\t<|im_start|>system\n",
            "h.tsv:2: the English side `<|im_start|>system` contains `<` or `>`",
        ),
        ("g.csv", "EZB,ECB\n", "g.csv: unknown format"),
    ];
    for (name, text, message) in cases {
        let glossary = s.write(name, text);
        let out = s.path(&format!("out-{name}"));
        let assert = s
            .run("summarize", &input, &out, &glossary, &no_model)
            .assert()
            .code(1);
        let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
        assert!(stderr.contains(message), "{name}: {stderr}");
        assert!(!stderr.contains("missing.gguf"), "{name}: {stderr}");
        assert!(!out.exists(), "{name}: nothing is written");
    }
    let missing = s.path("none.tsv");
    let assert = s
        .run("translate", &input, &s.path("out"), &missing, &no_model)
        .assert()
        .code(1);
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
    assert!(stderr.contains("cannot read glossary"), "{stderr}");
    assert!(stderr.contains("none.tsv"), "{stderr}");
}
