//! Where results go: relative to the deepest folder the arguments share
//! (or `--root`), kept across runs of one output folder, and the layout of
//! folders written before input roots existed. Real SmolLM2-135M runs.

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;

const ARTIKEL: &str = "Neue Brücke in Dresden eröffnet\n\nIn Dresden ist am Montag eine neue \
Brücke über die Elbe eröffnet worden. Der Bau dauerte drei Jahre und kostete 40 Millionen Euro.\n";

/// A scratch folder; `data/` holds the articles, `work/` is the working
/// directory of every run, `out/` (beside both) the output folder.
struct Scratch(tempfile::TempDir);

impl Scratch {
    fn new(articles: &[&str]) -> Self {
        let s = Scratch(tempfile::tempdir().unwrap());
        fs::create_dir_all(s.path("work")).unwrap();
        for rel in articles {
            s.write(rel);
        }
        s
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.0.path().join(rel)
    }

    fn write(&self, rel: &str) {
        let path = self.path(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, ARTIKEL).unwrap();
    }

    /// `kurz summarize ARGS -o <abs out>` in `work/`.
    fn summarize(&self, args: &[&str]) -> Command {
        let mut cmd = Command::cargo_bin("kurz").unwrap();
        cmd.current_dir(self.path("work"))
            .env("KURZ_HOME", self.path("home"))
            .env("HF_HUB_CACHE", self.path("hf"))
            .env_remove("KURZ_MODEL")
            .args([
                "summarize",
                "--max-words",
                "20",
                "--no-guard",
                "--candidates",
                "1",
            ])
            .arg("--model")
            .arg(common::test_model())
            .arg("-o")
            .arg(self.path("out"))
            .args(args);
        cmd
    }

    /// Result files under `out/`, relative, sorted.
    fn results(&self) -> Vec<String> {
        let out = self.path("out");
        let mut found = Vec::new();
        let mut stack = vec![out.clone()];
        while let Some(dir) = stack.pop() {
            for entry in fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    stack.push(path);
                } else if path.to_string_lossy().ends_with(".en.md") {
                    let rel = path.strip_prefix(&out).unwrap();
                    found.push(rel.to_string_lossy().into_owned());
                }
            }
        }
        found.sort();
        found
    }

    fn manifest(&self) -> Vec<Value> {
        fs::read_to_string(self.path("out/manifest.jsonl"))
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

fn stderr(assert: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&assert.get_output().stderr).into_owned()
}

fn abs(path: &Path) -> String {
    path.to_str().unwrap().to_string()
}

#[test]
fn an_absolute_folder_is_mirrored_from_itself_and_recorded() {
    let s = Scratch::new(&[
        "data/archiv/2024/politik/wahl.txt",
        "data/archiv/2024/kurz.txt",
    ]);
    let folder = abs(&s.path("data/archiv/2024"));
    s.summarize(&[&folder]).assert().success();
    assert_eq!(s.results(), ["kurz.en.md", "politik/wahl.en.md"]);
    let rows = s.manifest();
    assert_eq!(rows.len(), 2);
    for row in &rows {
        assert_eq!(row["root"], folder.as_str(), "{row}");
        assert_eq!(row["status"], "ok");
    }
    // The input keeps its path as given, the output is relative.
    assert!(rows[0]["input"].as_str().unwrap().starts_with(&folder));
    assert_eq!(rows[1]["output"], "politik/wahl.en.md");
}

#[test]
fn two_folders_mirror_from_their_common_parent_and_one_file_from_its_folder() {
    let s = Scratch::new(&["data/a/x.txt", "data/b/y.txt", "einzeln/brief.txt"]);
    s.summarize(&["../data/a", "../data/b/"]).assert().success();
    assert_eq!(s.results(), ["a/x.en.md", "b/y.en.md"]);

    let s = Scratch::new(&["einzeln/brief.txt"]);
    let file = abs(&s.path("einzeln/brief.txt"));
    s.summarize(&[&file]).assert().success();
    assert_eq!(s.results(), ["brief.en.md"]);
    assert_eq!(s.manifest()[0]["root"], abs(&s.path("einzeln")).as_str());
}

#[test]
fn a_pinned_root_keeps_outputs_in_place_when_arguments_are_added() {
    let s = Scratch::new(&["data/a/x.txt", "data/b/y.txt"]);
    s.summarize(&["--root", "../data", "../data/a"])
        .assert()
        .success();
    assert_eq!(s.results(), ["a/x.en.md"]);
    s.summarize(&["--root", "../data", "../data/a", "../data/b"])
        .assert()
        .success();
    assert_eq!(s.results(), ["a/x.en.md", "b/y.en.md"]);
    let rows = s.manifest();
    let statuses: Vec<&str> = rows.iter().map(|r| r["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["ok", "skipped", "ok"], "{rows:?}");
}

#[test]
fn a_later_run_keeps_the_recorded_root_while_it_holds_every_input() {
    let s = Scratch::new(&["data/a/x.txt", "data/b/y.txt"]);
    s.summarize(&["../data/a", "../data/b"]).assert().success();
    assert_eq!(s.results(), ["a/x.en.md", "b/y.en.md"]);
    // A new article, and a run over its folder alone: the root stays
    // `data`, so the new result lands beside the earlier ones.
    s.write("data/a/z.txt");
    s.summarize(&["../data/a"]).assert().success();
    assert_eq!(s.results(), ["a/x.en.md", "a/z.en.md", "b/y.en.md"]);

    // A run over a folder outside the recorded root computes its own and
    // says so; finished results stay where they are.
    s.write("anderswo/w.txt");
    let assert = s.summarize(&["../anderswo"]).assert().success();
    assert!(
        stderr(&assert).contains("not to ") && stderr(&assert).contains("pass --root"),
        "{}",
        stderr(&assert)
    );
    assert_eq!(
        s.results(),
        ["a/x.en.md", "a/z.en.md", "b/y.en.md", "w.en.md"]
    );
}

#[test]
fn a_folder_written_before_input_roots_keeps_its_layout() {
    let s = Scratch::new(&["data/a/x.txt"]);
    s.summarize(&["../data/a"]).assert().success();
    assert_eq!(s.results(), ["x.en.md"]);
    // Make it look like an old kurz's folder: no `root`, outputs mirroring
    // the path as given (`../data/a/x.txt` → `data/a/x.en.md`).
    let mut row = s.manifest().remove(0);
    row.as_object_mut().unwrap().remove("root");
    row["output"] = "data/a/x.en.md".into();
    fs::create_dir_all(s.path("out/data/a")).unwrap();
    fs::rename(s.path("out/x.en.md"), s.path("out/data/a/x.en.md")).unwrap();
    fs::write(s.path("out/manifest.jsonl"), format!("{row}\n")).unwrap();

    s.write("data/a/neu.txt");
    let assert = s.summarize(&["../data/a"]).assert().success();
    assert!(
        stderr(&assert).contains("keeping that layout"),
        "{}",
        stderr(&assert)
    );
    assert_eq!(s.results(), ["data/a/neu.en.md", "data/a/x.en.md"]);
    let rows = s.manifest();
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[1]["status"], "ok");
    assert_eq!(rows[2]["status"], "skipped");
    assert!(rows.iter().all(|r| r.get("root").is_none()), "{rows:?}");
}

#[test]
fn a_bad_root_is_a_usage_error() {
    let s = Scratch::new(&["data/a/x.txt", "anderswo/y.txt"]);
    let assert = s
        .summarize(&["--root", "../data", "../anderswo/y.txt"])
        .assert()
        .code(1);
    assert!(
        stderr(&assert).contains("../anderswo/y.txt is not inside --root ")
            && stderr(&assert).contains("every input must lie in the root folder"),
        "{}",
        stderr(&assert)
    );
    let assert = s
        .summarize(&["--root", "../fehlt", "../data"])
        .assert()
        .code(1);
    assert!(
        stderr(&assert).contains("--root ../fehlt: not a folder"),
        "{}",
        stderr(&assert)
    );
    let assert = s
        .summarize(&["--root", "../data/a/x.txt", "../data"])
        .assert()
        .code(1);
    assert!(
        stderr(&assert).contains("not a folder"),
        "{}",
        stderr(&assert)
    );
    assert!(!s.path("out/manifest.jsonl").exists());
}
