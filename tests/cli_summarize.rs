//! End-to-end tests of `kurz summarize` with the real SmolLM2-135M test
//! model (preset `smollm2-135m`, fetched once into the test cache).
//!
//! The model runs on the CPU, so the articles are short and the number of
//! model runs is kept small: each test does one scenario with several
//! checks. Every run gets `--model <file>` (no network), `--cache-dir <test
//! cache>` and a private `KURZ_HOME`/`HF_HUB_CACHE`, so nothing touches the
//! user's caches.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;
use sha2::{Digest, Sha256};
use tempfile::TempDir;

/// `sha256` of the smollm2-135m preset file (models/registry.toml).
const TEST_MODEL_SHA256: &str = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53";
const MAX_WORDS: usize = 30;

const RADWEG_TITLE: &str = "Stadtrat beschließt neuen Radweg in Freiburg";
const RADWEG: &str = "Stadtrat beschließt neuen Radweg in Freiburg

Der Gemeinderat der Stadt Freiburg hat am Dienstagabend mit großer Mehrheit den Bau \
eines neuen Radwegs beschlossen. Die Strecke soll zwei Kilometer lang werden und den \
Hauptbahnhof mit dem Campus der Universität verbinden. Nach Angaben der Verwaltung \
kostet das Projekt rund 1,2 Millionen Euro, die Hälfte davon zahlt das Land. Die \
Bauarbeiten sollen im kommenden Frühjahr beginnen und bis zum Herbst abgeschlossen sein.
";

const BAECKEREI_TITLE: &str = "Bäckerei in Kiel feiert hundertjähriges Jubiläum";
const BAECKEREI_MD: &str = "---
title: Front-Matter-Titel, bitte nicht verwenden
autor: Lokalredaktion
datum: 2024-05-02
---

# Bäckerei in Kiel feiert hundertjähriges Jubiläum

Die Bäckerei Hansen in Kiel feiert in diesem Jahr ihr **hundertjähriges** Bestehen. Das
Familienunternehmen wurde 1924 von Heinrich Hansen gegründet und wird heute von seiner
Urenkelin Maria geführt. Zum Jubiläum lädt die Bäckerei am Samstag zu einem Fest auf dem
Marktplatz ein. Die Bäckerei beschäftigt heute 25 Mitarbeiter in drei Filialen.
";

const BUS_TITLE: &str = "Neue Buslinie verbindet Dörfer im Allgäu";
const BUS_HTML: &str = r#"<!DOCTYPE html>
<html lang="de">
<head>
  <meta charset="utf-8">
  <title>Neue Buslinie verbindet Dörfer im Allgäu | Allgäuer Rundschau</title>
  <script>window.dataLayer = []; trackPageView();</script>
</head>
<body>
  <div id="cookie-banner" class="cookie-consent">
    <p>Wir verwenden Cookies, um Ihnen das beste Nutzungserlebnis zu bieten.</p>
    <button>Alle akzeptieren</button>
  </div>
  <header><nav><ul>
    <li><a href="/politik">Politik</a></li><li><a href="/sport">Sportnachrichten</a></li>
    <li><a href="/abo">Jetzt abonnieren</a></li>
  </ul></nav></header>
  <main><article>
    <h1>Neue Buslinie verbindet Dörfer im Allgäu</h1>
    <p>Seit Montag verbindet eine neue Buslinie fünf Dörfer im Oberallgäu mit der Stadt Kempten.
    Die Busse fahren werktags jede Stunde zwischen sechs Uhr morgens und zehn Uhr abends.</p>
    <p>Der Landkreis bezahlt den Betrieb in den ersten drei Jahren mit insgesamt 900.000 Euro.
    Landrätin Sabine Weber sagte, viele ältere Menschen seien bisher auf das Auto angewiesen gewesen.</p>
  </article></main>
  <footer><a href="/impressum">Impressum</a> | <a href="/kontakt">Kontaktformular</a></footer>
</body>
</html>
"#;

const HITZE_TITLE: &str = "Hitzewelle in Süddeutschland";
const HITZE: &str = "Hitzewelle in Süddeutschland

In weiten Teilen Süddeutschlands sind am Mittwoch Temperaturen von mehr als 35 Grad \
gemessen worden. Der Deutsche Wetterdienst warnte in Bayern und Baden-Württemberg vor \
starker Hitze. Viele Städte öffneten ihre Freibäder länger als sonst. Ärzte rieten \
älteren Menschen, viel Wasser zu trinken und in der Mittagszeit im Haus zu bleiben. \
Erst am Wochenende soll es wieder kühler werden.
";

const LATIN1_TITLE: &str = "Größere Schäden an Brücken in Müllheim";
const LATIN1_TEXT: &str = "Größere Schäden an Brücken in Müllheim\r\n\r\n\
Nach dem schweren Unwetter am Wochenende hat die Stadt Müllheim größere Schäden an drei \
Brücken über den Klemmbach festgestellt. Zwei Brücken müssen für Fußgänger gesperrt \
werden, teilte Bürgermeister Martin Löffler am Montag mit. Die Reparaturen kosten nach \
ersten Schätzungen rund 450.000 Euro. Gutachter prüfen, ob auch die Straßenbrücke \
beschädigt ist.\r\n";

/// A private scratch area: inputs, outputs, `KURZ_HOME`, a Hugging Face
/// cache and a working directory that does not contain the inputs.
struct Scratch {
    dir: TempDir,
}

impl Scratch {
    fn new() -> Scratch {
        let dir = tempfile::tempdir().expect("tempdir");
        for sub in ["home", "hf", "cwd"] {
            fs::create_dir_all(dir.path().join(sub)).unwrap();
        }
        Scratch { dir }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// Writes `bytes` to `rel`, creating parent folders; returns the path.
    fn write(&self, rel: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
        let path = self.path(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, bytes).unwrap();
        path
    }

    /// `kurz` with an isolated environment, run from `<scratch>/cwd`.
    fn kurz(&self) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_kurz"));
        cmd.current_dir(self.path("cwd"))
            .env("KURZ_HOME", self.path("home"))
            .env("HF_HUB_CACHE", self.path("hf"))
            .env_remove("KURZ_MODEL")
            .env_remove("KURZ_KERNELS")
            .env_remove("KURZ_OFFLINE")
            .env_remove("HF_HUB_OFFLINE")
            .env_remove("RUST_LOG");
        cmd
    }

    /// `kurz summarize --model <test model> --cache-dir <test cache>
    /// --max-words 30 --no-guard -o <out>`; more arguments can be added.
    ///
    /// The faithfulness guard is off here: with the tiny test model it
    /// regenerates nearly every summary, which doubles the run time. One
    /// test (`stdin_input_in_txt_format`) runs with the guard on.
    fn summarize(&self, out: &Path) -> Command {
        self.summarize_with(out, MAX_WORDS, false)
    }

    fn summarize_with(&self, out: &Path, max_words: usize, guard: bool) -> Command {
        let mut cmd = self.kurz();
        cmd.arg("summarize")
            .arg("--model")
            .arg(common::test_model())
            .arg("--cache-dir")
            .arg(common::test_cache())
            .args(["--max-words", &max_words.to_string()]);
        if !guard {
            cmd.arg("--no-guard");
        }
        cmd.arg("-o").arg(out);
        cmd
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// All lines of `<out>/manifest.jsonl`, parsed.
fn manifest(out: &Path) -> Vec<Value> {
    let text = fs::read_to_string(out.join("manifest.jsonl")).expect("manifest.jsonl");
    assert!(text.ends_with('\n'), "manifest ends with a newline");
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad line {l:?}: {e}")))
        .collect()
}

/// The manifest line for `input` (its display path); exactly one expected.
fn entry_for<'a>(lines: &'a [Value], input: &Path) -> &'a Value {
    let input = input.to_str().unwrap();
    let found: Vec<&Value> = lines.iter().filter(|l| l["input"] == input).collect();
    assert_eq!(found.len(), 1, "one line for {input} in {lines:#?}");
    found[0]
}

/// The output path of an input below the folder given on the command
/// line (its input root): `root/a/b/c.md` gives `a/b/c.en.md`.
fn mirrored(rel_stem: &str, ext: &str) -> PathBuf {
    PathBuf::from(format!("{rel_stem}.en.{ext}"))
}

fn words(text: &str) -> usize {
    text.split_whitespace().count()
}

/// Splits a Markdown result into (title, body) and checks its shape.
fn md_parts(content: &str) -> (String, String) {
    let rest = content
        .strip_prefix("# ")
        .unwrap_or_else(|| panic!("md output starts with `# `: {content:?}"));
    let (title, body) = rest
        .split_once("\n\n")
        .unwrap_or_else(|| panic!("title, blank line, body: {content:?}"));
    assert!(content.ends_with('\n'));
    (title.to_string(), body.trim_end().to_string())
}

fn as_u64(v: &Value, field: &str) -> u64 {
    v[field]
        .as_u64()
        .unwrap_or_else(|| panic!("{field} is a number in {v:#}"))
}

fn as_f64(v: &Value, field: &str) -> f64 {
    v[field]
        .as_f64()
        .unwrap_or_else(|| panic!("{field} is a number in {v:#}"))
}

/// Checks one `ok` manifest line against its input file and output file.
fn check_ok_entry(out: &Path, entry: &Value, input: &Path, title: &str, expected_output: &Path) {
    let bytes = fs::read(input).unwrap();
    assert_eq!(entry["status"], "ok", "{entry:#}");
    assert_eq!(entry["input"], input.to_str().unwrap());
    assert_eq!(entry["input_sha256"], sha256_hex(&bytes), "{entry:#}");
    assert_eq!(as_u64(entry, "bytes"), bytes.len() as u64);
    assert_eq!(entry["language"], "de", "{entry:#}");
    assert_eq!(entry["source_title"], title, "{entry:#}");
    let heading = check_english_title(entry);
    assert_eq!(
        entry["output"],
        expected_output.to_str().unwrap(),
        "{entry:#}"
    );
    assert_eq!(entry["model"]["file"], "smollm2-135m.gguf");
    assert_eq!(entry["model"]["sha256"], TEST_MODEL_SHA256);
    // The CPU kernel path that ran (KURZ_KERNELS is unset: the best one).
    let kernels = kurz::model::default_device()
        .is_cpu()
        .then(|| kurz::model::CpuKernels::best().to_string());
    let recorded = entry["model"].get("kernels").and_then(Value::as_str);
    assert_eq!(recorded, kernels.as_deref(), "{entry:#}");
    assert_eq!(entry["params"]["max_words"], MAX_WORDS as u64, "{entry:#}");
    assert_eq!(entry["params"]["task"], "summarize");
    assert_eq!(entry["params"]["guard"], false, "{entry:#}");
    assert!(entry.get("guard").is_none(), "no guard verdict: {entry:#}");
    assert_eq!(entry["task"], "summarize");
    assert!(as_u64(entry, "prompt_tokens") > 0, "{entry:#}");
    assert!(as_u64(entry, "generated_tokens") > 0, "{entry:#}");
    let (seconds, prefill, decode) = (
        as_f64(entry, "seconds"),
        as_f64(entry, "prefill_seconds"),
        as_f64(entry, "decode_seconds"),
    );
    assert!(prefill > 0.0 && decode > 0.0, "{entry:#}");
    assert!(seconds >= prefill + decode - 0.01, "{entry:#}");
    assert!(entry.get("error").is_none(), "{entry:#}");
    assert!(
        entry["finished_at"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z')),
        "{entry:#}"
    );

    let content = fs::read_to_string(out.join(expected_output)).unwrap();
    let (shown_title, body) = md_parts(&content);
    assert_eq!(shown_title, heading);
    assert!(!body.trim().is_empty(), "empty summary in {content:?}");
    assert!(
        words(&body) <= MAX_WORDS,
        "{} words > {MAX_WORDS}: {body:?}",
        words(&body)
    );
    assert_eq!(
        entry["summary"],
        body.as_str(),
        "manifest summary = file body"
    );
}

/// Checks that the entry's `title` (the heading) is an English title, or
/// the German `source_title` kept with a warning that says why; returns it.
fn check_english_title(entry: &Value) -> String {
    let heading = entry["title"].as_str().expect("a title").to_string();
    let german = entry["source_title"].as_str().expect("a source_title");
    let attempts = as_u64(entry, "title_attempts");
    assert!((1..=2).contains(&attempts), "{entry:#}");
    let warned = entry["warnings"].as_array().is_some_and(|w| {
        w.iter().any(|w| {
            w.as_str()
                .is_some_and(|w| w.starts_with("title not translated: "))
        })
    });
    if entry["title_translated"] == true {
        assert_ne!(heading, german, "{entry:#}");
        assert!(!warned, "{entry:#}");
    } else {
        assert_eq!(entry["title_translated"], false, "{entry:#}");
        assert_eq!(heading, german, "{entry:#}");
        assert!(warned, "a kept German title is explained: {entry:#}");
        assert_eq!(attempts, 2, "{entry:#}");
    }
    heading
}

fn mtime(path: &Path) -> SystemTime {
    fs::metadata(path).unwrap().modified().unwrap()
}

/// A folder tree with nested folders, Markdown with front matter, HTML with
/// clutter and an unsupported file; then a resume run, `--force`, and a
/// changed `--max-words`.
#[test]
fn folder_run_mirrors_the_tree_then_resumes() {
    let s = Scratch::new();
    let root = s.path("artikel");
    let c = s.write("artikel/a/b/c.txt", RADWEG);
    let d = s.write("artikel/d.md", BAECKEREI_MD);
    let e = s.write("artikel/e.html", BUS_HTML);
    let doc = s.write("artikel/notes.doc", b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1");
    let out = s.path("out");

    // First run: everything is new.
    s.summarize(&out)
        .arg(&root)
        .assert()
        .code(0)
        .stderr(predicate::str::contains(format!(
            "skipping {}: unsupported extension .doc",
            doc.display()
        )))
        .stderr(predicate::str::contains("3 ok, 0 skipped, 0 failed"));

    let cases = [
        (&c, RADWEG_TITLE, mirrored("a/b/c", "md")),
        (&d, BAECKEREI_TITLE, mirrored("d", "md")),
        (&e, BUS_TITLE, mirrored("e", "md")),
    ];
    let lines = manifest(&out);
    assert_eq!(lines.len(), 3, "one line per supported input: {lines:#?}");
    assert!(
        lines
            .iter()
            .all(|l| !l["input"].as_str().unwrap().ends_with(".doc")),
        "the unsupported file is not in the manifest"
    );
    for (input, title, rel_out) in &cases {
        // e.g. out/a/b/c.en.md
        assert!(out.join(rel_out).is_file(), "{} missing", rel_out.display());
        check_ok_entry(&out, entry_for(&lines, input), input, title, rel_out);
    }
    // Nothing else was written besides the mirrored outputs and the manifest.
    let mut written: Vec<PathBuf> = walk_files(&out)
        .into_iter()
        .map(|p| p.strip_prefix(&out).unwrap().to_path_buf())
        .collect();
    written.sort();
    let mut expected: Vec<PathBuf> = cases.iter().map(|c| c.2.clone()).collect();
    expected.push(PathBuf::from("manifest.jsonl"));
    expected.sort();
    assert_eq!(written, expected);

    let before: Vec<(String, SystemTime)> = cases
        .iter()
        .map(|(_, _, rel)| {
            let p = out.join(rel);
            (fs::read_to_string(&p).unwrap(), mtime(&p))
        })
        .collect();

    // Same command again: all skipped, outputs untouched.
    s.summarize(&out)
        .arg(&root)
        .assert()
        .code(0)
        .stderr(predicate::str::contains("0 ok, 3 skipped, 0 failed"));
    let lines = manifest(&out);
    assert_eq!(lines.len(), 6);
    for ((input, title, rel_out), (content, time)) in cases.iter().zip(&before) {
        let new: Vec<&Value> = lines[3..]
            .iter()
            .filter(|l| l["input"] == input.to_str().unwrap())
            .collect();
        assert_eq!(new.len(), 1);
        let skipped = new[0];
        assert_eq!(skipped["status"], "skipped", "{skipped:#}");
        assert_eq!(skipped["output"], rel_out.to_str().unwrap());
        assert_eq!(skipped["source_title"], *title);
        assert_eq!(skipped["prompt_tokens"], 0);
        assert_eq!(skipped["generated_tokens"], 0);
        let p = out.join(rel_out);
        assert_eq!(&fs::read_to_string(&p).unwrap(), content, "{}", p.display());
        assert_eq!(mtime(&p), *time, "{} was rewritten", p.display());
    }

    // --force redoes it (one file given directly: same display path, so the
    // same manifest key and output path as when found by walking).
    let c_out = out.join(&cases[0].2);
    s.summarize(&out)
        .arg("--force")
        .arg(&c)
        .assert()
        .code(0)
        .stderr(predicate::str::contains("1 ok, 0 skipped, 0 failed"));
    let lines = manifest(&out);
    assert_eq!(lines.len(), 7);
    check_ok_entry(&out, &lines[6], &c, RADWEG_TITLE, &cases[0].2);
    assert!(
        mtime(&c_out) > before[0].1,
        "--force rewrote {}",
        c_out.display()
    );
    for (i, (_, _, rel)) in cases.iter().enumerate().skip(1) {
        assert_eq!(
            mtime(&out.join(rel)),
            before[i].1,
            "only the given file is redone"
        );
    }

    // Another --max-words changes the parameters: not skipped.
    s.summarize_with(&out, 25, false)
        .arg(&d)
        .assert()
        .code(0)
        .stderr(predicate::str::contains("1 ok, 0 skipped, 0 failed"));
    let lines = manifest(&out);
    assert_eq!(lines.len(), 8);
    let last = &lines[7];
    assert_eq!(last["status"], "ok", "{last:#}");
    assert_eq!(last["input"], d.to_str().unwrap());
    assert_eq!(last["params"]["max_words"], 25);
    let summary = last["summary"].as_str().unwrap();
    assert!(!summary.is_empty() && words(summary) <= 25, "{summary:?}");
}

fn walk_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(walk_files(&path));
        } else {
            files.push(path);
        }
    }
    files
}

/// Broken inputs become `error` lines and exit status 2, while good inputs
/// (UTF-8 and Latin-1) in the same batch still succeed.
///
/// Tests run as root, where `chmod 000` does not stop reading, and kurz
/// skips dangling symlinks, FIFOs and symlinks out of the tree while walking.
/// A symlink to `/proc/self/mem` is a regular file that everyone, root
/// included, gets EIO from when reading at offset 0; named on the command
/// line (walking skips it: it points outside the folder), it yields a real
/// read error during processing.
#[cfg(target_os = "linux")]
#[test]
fn bad_inputs_become_error_entries_and_exit_2() {
    let s = Scratch::new();
    let root = s.path("eingang");
    let empty = s.write("eingang/leer.txt", b"");
    let mut png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10".to_vec();
    png.extend_from_slice(&[0u8; 64]);
    let binary = s.write("eingang/bild.txt", &png);
    let (latin1_bytes, _, unmappable) = encoding_rs::WINDOWS_1252.encode(LATIN1_TEXT);
    assert!(!unmappable);
    assert!(std::str::from_utf8(&latin1_bytes).is_err(), "not UTF-8");
    assert!(latin1_bytes.contains(&0xDF) && latin1_bytes.contains(&0xFC)); // ß ü
    let latin1 = s.write("eingang/latin1.txt", &latin1_bytes);
    let good = s.write("eingang/gut.txt", HITZE);
    let unreadable = root.join("kaputt.txt");
    std::os::unix::fs::symlink("/proc/self/mem", &unreadable).unwrap();
    let out = s.path("out");

    let assert = s
        .summarize(&out)
        .arg(&root)
        .arg(&unreadable)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("2 ok, 0 skipped, 3 failed"));
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();

    let lines = manifest(&out);
    assert_eq!(lines.len(), 5, "{lines:#?}");
    let errors: [(&PathBuf, &[&str]); 3] = [
        (&empty, &["empty"]),
        (&binary, &["binary", "NUL"]),
        (&unreadable, &["cannot read file", "Input/output error"]),
    ];
    for (input, causes) in errors {
        let entry = entry_for(&lines, input);
        assert_eq!(entry["status"], "error", "{entry:#}");
        let error = entry["error"].as_str().expect("error message");
        assert!(
            error.starts_with(&format!("{}: ", input.display())),
            "{error:?} names the file"
        );
        for cause in causes {
            assert!(error.contains(cause), "{error:?} should mention {cause:?}");
        }
        assert!(entry["output"].is_null() && entry["summary"].is_null());
        assert!(stderr.contains(error), "stderr shows {error:?}:\n{stderr}");
        let name = input.file_name().unwrap().to_str().unwrap();
        assert!(!walk_files(&out)
            .iter()
            .any(|p| p.to_str().unwrap().contains(name.trim_end_matches(".txt"))));
    }
    assert_eq!(entry_for(&lines, &empty)["bytes"], 0);
    assert_eq!(entry_for(&lines, &binary)["input_sha256"], sha256_hex(&png));
    assert!(entry_for(&lines, &unreadable)["input_sha256"].is_null());

    let good_out = mirrored("gut", "md");
    check_ok_entry(
        &out,
        entry_for(&lines, &good),
        &good,
        HITZE_TITLE,
        &good_out,
    );
    assert_eq!(entry_for(&lines, &good)["encoding"], "UTF-8");

    let latin1_out = mirrored("latin1", "md");
    let entry = entry_for(&lines, &latin1);
    check_ok_entry(&out, entry, &latin1, LATIN1_TITLE, &latin1_out);
    assert_eq!(entry["encoding"], "windows-1252", "{entry:#}");
    assert_eq!(entry["input_sha256"], sha256_hex(&latin1_bytes));
    let written = fs::read_to_string(out.join(&latin1_out)).expect("output is UTF-8");
    assert!(
        written.starts_with(&format!("# {}\n\n", entry["title"].as_str().unwrap())),
        "{written:?}"
    );
}

/// Results do not depend on how many files run at once; `--format json`
/// writes a valid JSON object per input.
#[test]
fn jobs_do_not_change_results_and_json_is_valid() {
    let s = Scratch::new();
    let one = s.write("in/eins.txt", RADWEG);
    let two = s.write("in/zwei.txt", HITZE);
    let root = s.path("in");
    let (out1, out2) = (s.path("out1"), s.path("out2"));
    for (out, jobs) in [(&out1, "1"), (&out2, "2")] {
        s.summarize(out)
            .args(["--format", "json", "--jobs", jobs])
            .arg(&root)
            .assert()
            .code(0)
            .stderr(predicate::str::contains("2 ok, 0 skipped, 0 failed"));
    }
    for (input, name, title) in [(&one, "eins", RADWEG_TITLE), (&two, "zwei", HITZE_TITLE)] {
        let rel = mirrored(name, "json");
        let a = fs::read(out1.join(&rel)).unwrap();
        let b = fs::read(out2.join(&rel)).unwrap();
        assert_eq!(
            String::from_utf8_lossy(&a),
            String::from_utf8_lossy(&b),
            "--jobs 1 and --jobs 2 differ for {name}"
        );
        assert_eq!(a, b);
        let json: Value = serde_json::from_slice(&a).expect("valid JSON");
        let recorded = entry_for(&manifest(&out1), input).clone();
        assert_eq!(recorded["source_title"], title);
        assert_eq!(json["title"], recorded["title"]);
        let summary = json["summary"].as_str().expect("summary string");
        assert!(!summary.trim().is_empty() && words(summary) <= MAX_WORDS);
        assert_eq!(json["source"], input.to_str().unwrap());
        assert_eq!(json["model"], "smollm2-135m.gguf");
        assert_eq!(json["language"], "de");
        let lines = manifest(&out1);
        let entry = entry_for(&lines, input);
        assert_eq!(entry["summary"], summary);
        assert_eq!(entry["params"]["format"], "json");
        // The default four candidates, decoded together, the same whatever
        // the number of jobs; the kept one is the summary.
        assert_eq!(entry["params"]["candidates"], 4);
        let candidates = entry["candidates"].as_array().expect("candidates");
        assert_eq!(candidates.len(), 4, "{entry:#}");
        let chosen = as_u64(entry, "chosen") as usize;
        assert_eq!(candidates[chosen]["text"], summary);
        assert!(candidates[chosen].get("lost").is_none(), "{entry:#}");
        assert!(entry["consensus"].is_f64(), "{entry:#}");
        assert!(entry["output_language"].is_string(), "{entry:#}");
        let other = manifest(&out2);
        assert_eq!(entry["candidates"], entry_for(&other, input)["candidates"]);
        assert_eq!(entry["output"], rel.to_str().unwrap());
    }
    // One job: the second file copies the keys and values of the prompt
    // opening the first computed.
    let reused: Vec<u64> = manifest(&out1)
        .iter()
        .map(|e| as_u64(e, "reused_prompt_tokens"))
        .collect();
    assert_eq!(reused.len(), 2);
    assert!(reused.iter().any(|&r| r > 0), "{reused:?}");
}

/// `-` reads the article from standard input; `--format txt` writes plain
/// text without Markdown. This run keeps the faithfulness guard on (the
/// default), so its verdict is in the manifest.
#[test]
fn stdin_input_in_txt_format() {
    let s = Scratch::new();
    let out = s.path("out");
    s.summarize_with(&out, MAX_WORDS, true)
        .args(["--format", "txt", "-"])
        .write_stdin(HITZE)
        .assert()
        .code(0)
        .stderr(predicate::str::contains("1 ok, 0 skipped, 0 failed"));
    let path = out.join("stdin.en.txt");
    let content = fs::read_to_string(&path).expect("stdin.en.txt");
    assert!(!content.contains('#'), "{content:?}");
    let (title, body) = content.split_once("\n\n").expect("title, blank line, body");
    let body = body.trim_end();
    assert!(!body.is_empty() && words(body) <= MAX_WORDS, "{body:?}");
    let lines = manifest(&out);
    assert_eq!(lines.len(), 1);
    let entry = &lines[0];
    assert_eq!(entry["input"], "-");
    assert_eq!(entry["source_title"], HITZE_TITLE);
    assert_eq!(title, check_english_title(entry));
    assert_eq!(entry["status"], "ok");
    assert_eq!(entry["output"], "stdin.en.txt");
    assert_eq!(entry["input_sha256"], sha256_hex(HITZE.as_bytes()));
    assert_eq!(entry["summary"], body);
    assert_eq!(entry["params"]["guard"], true);
    assert!(
        ["pass", "repaired", "fail"].contains(&entry["guard"].as_str().unwrap_or_default()),
        "guard verdict: {entry:#}"
    );
    let attempts = as_u64(entry, "attempts");
    assert!(
        (1..=3).contains(&attempts),
        "at most 1 + 2 retries: {entry:#}"
    );
    // The summary's rounds and the title's calls.
    assert_eq!(
        as_u64(entry, "model_calls"),
        attempts + as_u64(entry, "title_attempts"),
        "{entry:#}"
    );
    assert_eq!(
        walk_files(&out).len(),
        2,
        "only stdin.en.txt and the manifest"
    );
}

/// Problems that stop a run before any model work: exit status 1 and a
/// message that says what is wrong and what to do. No inference involved.
#[test]
fn setup_errors_exit_1_with_clear_messages() {
    let s = Scratch::new();
    let article = s.write("in/artikel.txt", HITZE);
    let out = s.path("out");
    let run = |model: &str, extra: &[&str], input: &Path| {
        let assert = s
            .kurz()
            .arg("summarize")
            .args(["--model", model, "--cache-dir"])
            .arg(s.path("empty-cache"))
            .args(extra)
            .arg("-o")
            .arg(&out)
            .arg(input)
            .assert()
            .code(1)
            .stdout(predicate::str::is_empty());
        let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
        assert!(
            stderr.lines().any(|l| l.starts_with("kurz: error: ")),
            "{stderr}"
        );
        stderr
    };

    // A model path that does not exist.
    let err = run("/nonexistent.gguf", &[], &article);
    assert!(err.contains("/nonexistent.gguf"), "{err}");
    assert!(err.contains("no file or directory exists"), "{err}");
    assert!(err.contains("smollm2-135m"), "lists the presets: {err}");
    assert!(
        err.contains("`kurz models pull <id>`"),
        "says how to get a model: {err}"
    );

    // A file that is not a GGUF model.
    let notes = s.write("notizen.bin", "Das ist kein Modell.\n");
    let err = run(notes.to_str().unwrap(), &[], &article);
    assert!(err.contains(notes.to_str().unwrap()), "{err}");
    assert!(err.contains("is not a GGUF model"), "{err}");

    // A .gguf name with other contents.
    let fake = s.write("kaputt.gguf", "Das ist auch kein Modell, nur Text.\n");
    let err = run(fake.to_str().unwrap(), &[], &article);
    assert!(err.contains(fake.to_str().unwrap()), "{err}");
    assert!(err.contains("is not a GGUF model file"), "{err}");

    // An input path that does not exist.
    let missing = s.path("in/gibt-es-nicht.txt");
    let err = run(common::test_model().to_str().unwrap(), &[], &missing);
    assert!(
        err.contains(&format!("no such file or directory: {}", missing.display())),
        "{err}"
    );

    // A preset that is not cached, offline.
    let err = run("smollm2-135m", &["--offline"], &article);
    assert!(err.contains("kurz models pull smollm2-135m"), "{err}");
    assert!(err.contains("offline"), "{err}");
    assert!(
        !s.path("empty-cache/smollm2-135m/smollm2-135m.gguf")
            .exists(),
        "nothing downloaded offline"
    );

    // Nothing was summarized.
    assert!(!out.join("manifest.jsonl").exists());
}

/// The help texts work and document every option.
#[test]
fn help_lists_every_option() {
    let s = Scratch::new();
    let text = |args: &[&str]| {
        let assert = s.kurz().args(args).assert().success();
        String::from_utf8_lossy(&assert.get_output().stdout).into_owned()
    };
    let top = text(&["--help"]);
    for word in [
        "summarize",
        "translate",
        "models",
        "eval",
        "--version",
        "--help",
    ] {
        assert!(top.contains(word), "kurz --help lacks {word}:\n{top}");
    }
    let summarize = text(&["summarize", "--help"]);
    for option in [
        "--max-words",
        "--no-guard",
        "--guard-retries",
        "--candidates",
        "--strict",
        "--output",
        "-o,",
        "--model",
        "--offline",
        "--cache-dir",
        "--jobs",
        "--format",
        "--stdout",
        "--force",
        "--include",
        "--exclude",
        "--context",
        "--temperature",
        "--top-p",
        "--seed",
        "--max-bytes",
        "--quiet",
        "--verbose",
        "KURZ_MODEL",
        "manifest.jsonl",
        "[default: 60]",
        "kurz-out",
    ] {
        assert!(
            summarize.contains(option),
            "kurz summarize --help lacks {option}:\n{summarize}"
        );
    }
    for value in ["md", "txt", "json"] {
        assert!(summarize.contains(value), "{value}:\n{summarize}");
    }
    let models = text(&["models", "--help"]);
    for sub in ["list", "pull", "verify", "path", "rm"] {
        assert!(
            models.contains(sub),
            "kurz models --help lacks {sub}:\n{models}"
        );
    }
    let pull = text(&["models", "pull", "--help"]);
    for option in ["--force", "--cache-dir", "--offline"] {
        assert!(
            pull.contains(option),
            "kurz models pull --help lacks {option}:\n{pull}"
        );
    }
    let version = text(&["--version"]);
    assert!(version.starts_with("kurz "), "{version}");
}
