//! Killing kurz with SIGKILL in the middle of a batch loses no finished
//! summary, and the rerun skips what was done and finishes the rest.

mod common;

use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

const ARTICLES: [(&str, &str); 3] = [
    (
        "a.txt",
        "Neue Brücke in Dresden eröffnet\n\nIn Dresden ist am Montag eine neue Brücke über die Elbe \
         eröffnet worden. Der Bau dauerte drei Jahre und kostete 40 Millionen Euro.",
    ),
    (
        "b.txt",
        "Bibliothek verlängert Öffnungszeiten\n\nDie Stadtbibliothek Hannover öffnet ab Januar auch \
         sonntags. Die Stadt stellt dafür zwei zusätzliche Mitarbeiter ein.",
    ),
    (
        "c.txt",
        "Schwimmbad wird saniert\n\nDas Freibad in Kassel bleibt den ganzen Sommer geschlossen. \
         Die Sanierung der Becken kostet rund 5 Millionen Euro.",
    ),
];

fn kurz(input: &Path, out: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kurz"));
    cmd.arg("summarize")
        .arg(input)
        .arg("-o")
        .arg(out)
        .arg("--model")
        .arg(common::test_model())
        .args(["--jobs", "1", "--max-words", "30", "--no-guard", "-q"])
        .env("KURZ_HOME", out.join(".kurz-home"));
    cmd
}

fn manifest_lines(out: &Path) -> Vec<Value> {
    fs::read_to_string(out.join("manifest.jsonl"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

#[test]
fn sigkill_loses_no_finished_summary_and_the_rerun_finishes() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("artikel");
    let out = dir.path().join("out");
    fs::create_dir_all(&input).unwrap();
    for (name, text) in ARTICLES {
        fs::write(input.join(name), text).unwrap();
    }

    // Start, wait for the first finished entry, then kill -9.
    let mut child = kurz(&input, &out)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(600);
    while manifest_lines(&out).is_empty() {
        assert!(Instant::now() < deadline, "no summary finished in time");
        assert!(child.try_wait().unwrap().is_none(), "kurz ended early");
        std::thread::sleep(Duration::from_millis(200));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();

    let first_run = manifest_lines(&out);
    assert!(!first_run.is_empty() && first_run.len() < ARTICLES.len());
    let done: Vec<(String, String)> = first_run
        .iter()
        .map(|e| {
            assert_eq!(e["status"], "ok");
            let output = out.join(e["output"].as_str().unwrap());
            let text = fs::read_to_string(&output).expect("finished summary file exists");
            assert!(text.starts_with("# "), "{text}");
            (e["input"].as_str().unwrap().to_string(), text)
        })
        .collect();
    // The rerun skips what was finished and completes the rest.
    let status = kurz(&input, &out).status().unwrap();
    assert!(status.success());
    let all = manifest_lines(&out);
    let rerun = &all[first_run.len()..];
    assert_eq!(rerun.len(), ARTICLES.len());
    for entry in rerun {
        let input = entry["input"].as_str().unwrap();
        let expected = if done.iter().any(|(i, _)| i == input) {
            "skipped"
        } else {
            "ok"
        };
        assert_eq!(entry["status"], expected, "{entry}");
    }
    for (input, text) in &done {
        let entry = rerun
            .iter()
            .find(|e| e["input"] == *input.as_str())
            .unwrap();
        let path = out.join(entry["output"].as_str().unwrap());
        assert_eq!(
            &fs::read_to_string(path).unwrap(),
            text,
            "summary untouched"
        );
    }
    for (name, _) in ARTICLES {
        let stem = name.trim_end_matches(".txt");
        // Results mirror the inputs below the folder given (`artikel/`).
        assert!(
            walk(&out)
                .iter()
                .any(|p| Path::new(p) == out.join(format!("{stem}.en.md"))),
            "{name} has a summary"
        );
    }
}

fn walk(dir: &Path) -> Vec<String> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in fs::read_dir(&d).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                files.push(path.to_string_lossy().into_owned());
            }
        }
    }
    files
}
