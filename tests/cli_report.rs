//! End-to-end tests of `kurz report` on a real run: `kurz summarize` with
//! the SmolLM2-135M test model over a small folder (three articles, one of
//! them with a hostile title, and one binary file that becomes an error
//! entry), then `kurz report` in Markdown, CSV and HTML, on the folder as
//! written, on a copy split into sharded manifest parts, and on folders
//! that are not output folders or hold corrupt lines.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use assert_cmd::Command;
use pulldown_cmark::{Event, Parser, Tag};
use serde_json::Value;

/// A title that is markup in every format the report writes.
const HOSTILE_TITLE: &str =
    "<script>alert(1)</script> Hochwasser in [Sachsen](javascript:alert(2)) | `Pegel` steigt";

const ARTICLES: [(&str, &str); 3] = [
    (
        "in/politik/bruecke.txt",
        "Neue Brücke in Dresden eröffnet\n\nIn Dresden ist am Montag eine neue Brücke über \
         die Elbe eröffnet worden. Der Bau dauerte drei Jahre und kostete 40 Millionen Euro.\n",
    ),
    (
        "in/regional/hochwasser.txt",
        // The title line is followed by a blank line, so it is the title.
        "<script>alert(1)</script> Hochwasser in [Sachsen](javascript:alert(2)) | `Pegel` steigt\n\n\
         Der Pegel der Mulde hat am Sonntag in Grimma einen Höchststand von 7,2 Metern erreicht. \
         Die Stadt hat 300 Helfer im Einsatz.\n",
    ),
    (
        "in/wirtschaft/bibliothek.txt",
        "Bibliothek verlängert Öffnungszeiten\n\nDie Stadtbibliothek Hannover öffnet ab Januar \
         auch sonntags. Die Stadt stellt dafür zwei zusätzliche Mitarbeiter ein.\n",
    ),
];

/// The folder of the one model run all tests share: `<dir>/out` holds the
/// results of `kurz summarize in -o out`.
fn run_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("cli_report-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        for (path, text) in ARTICLES {
            write(&dir.join(path), text.as_bytes());
        }
        write(
            &dir.join("in/kaputt.txt"),
            b"\x00\x01\x02binary\xff\xfe\x00",
        );
        let out = summarize(&dir).output().expect("kurz summarize runs");
        // Exit 2: the binary file failed, the rest is ok.
        assert_eq!(
            out.status.code(),
            Some(2),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        dir
    })
}

fn summarize(dir: &Path) -> std::process::Command {
    let mut cmd = common::isolated_kurz(dir);
    cmd.current_dir(dir)
        .arg("summarize")
        .arg("--model")
        .arg(common::test_model())
        .args(["--max-words", "30", "--jobs", "1", "-o", "out", "in"]);
    cmd
}

fn write(path: &Path, bytes: &[u8]) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, bytes).unwrap();
}

/// `kurz report` with `args`, in `dir`.
fn report(dir: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kurz"));
    cmd.current_dir(dir).arg("report").args(args);
    cmd
}

fn stdout(assert: &assert_cmd::assert::Assert) -> String {
    String::from_utf8(assert.get_output().stdout.clone()).expect("UTF-8 report")
}

fn stderr(assert: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&assert.get_output().stderr).into_owned()
}

/// The rows of `out/manifest.jsonl`, by input.
fn manifest(out: &Path) -> Vec<Value> {
    let text = fs::read_to_string(out.join("manifest.jsonl")).unwrap();
    let mut rows: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    rows.sort_by(|a, b| a["input"].as_str().cmp(&b["input"].as_str()));
    rows
}

fn field<'a>(row: &'a Value, key: &str) -> &'a str {
    row[key].as_str().unwrap_or("")
}

/// The text a Markdown renderer shows of `md`, one string per text event
/// run, joined by newlines at block ends.
fn rendered_text(md: &str) -> String {
    let mut text = String::new();
    for event in Parser::new(md) {
        match event {
            Event::Text(t) => text.push_str(&t),
            Event::SoftBreak | Event::HardBreak | Event::End(_) => text.push('\n'),
            Event::Html(h) | Event::InlineHtml(h) => panic!("raw HTML in the report: {h}"),
            _ => {}
        }
    }
    text
}

#[test]
fn markdown_lists_every_input_with_its_summary() {
    let dir = run_dir();
    let rows = manifest(&dir.join("out"));
    assert_eq!(rows.len(), 4);
    let assert = report(dir, &["out"]).assert().success();
    let md = stdout(&assert);
    assert!(stderr(&assert).is_empty(), "{}", stderr(&assert));
    assert!(
        md.starts_with("# kurz report: out\n\n4 inputs: 3 ok, 0 skipped, 1 failed"),
        "{md}"
    );
    let text = rendered_text(&md);
    for row in &rows {
        assert!(
            text.contains(&format!("Source: {}", field(row, "input"))),
            "{text}"
        );
        for paragraph in row["summary"].as_str().unwrap_or("").split("\n\n") {
            let one_line = paragraph.split_whitespace().collect::<Vec<_>>().join(" ");
            assert!(text.contains(&one_line), "{one_line:?} not in\n{text}");
        }
    }
    // The hostile title is shown as text, and it is no link, code or HTML.
    assert!(text.contains(HOSTILE_TITLE), "{text}");
    let links = Parser::new(&md)
        .filter(|e| matches!(e, Event::Start(Tag::Link { .. } | Tag::Image { .. })))
        .count();
    assert_eq!(links, 0, "{md}");
    // The binary file is an error entry with its message.
    let kaputt = rows
        .iter()
        .find(|r| field(r, "input") == "in/kaputt.txt")
        .unwrap();
    assert_eq!(field(kaputt, "status"), "error");
    assert!(text.contains("Status: error"));
    assert!(text.contains("Error: in/kaputt.txt"), "{text}");
    // Ordered by path.
    let positions: Vec<usize> = rows
        .iter()
        .map(|r| {
            md.find(&format!("- Source: {}", field(r, "input")))
                .unwrap()
        })
        .collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{positions:?}");
}

#[test]
fn csv_reads_back_row_for_row() {
    let dir = run_dir();
    let rows = manifest(&dir.join("out"));
    let target = dir.join("csv/report.csv");
    let assert = report(
        dir,
        &["out", "--format", "csv", "-o", "csv/report.csv", "--bom"],
    )
    .assert()
    .success();
    assert!(stdout(&assert).is_empty());
    assert!(stderr(&assert).contains("report of 4 inputs written to csv/report.csv"));
    let bytes = fs::read(&target).unwrap();
    assert!(bytes.starts_with(&[0xEF, 0xBB, 0xBF]), "no BOM");
    let mut reader = csv::Reader::from_reader(&bytes[3..]);
    let header = reader.headers().unwrap().clone();
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(records.len(), rows.len());
    for (record, row) in records.iter().zip(&rows) {
        assert_eq!(&record[col("input")], field(row, "input"));
        assert_eq!(&record[col("status")], field(row, "status"));
        assert_eq!(&record[col("summary")], field(row, "summary").trim());
        assert_eq!(&record[col("error")], field(row, "error"));
        assert_eq!(&record[col("guard")], field(row, "guard"));
        if row["title"].is_string() {
            assert_eq!(&record[col("title")], field(row, "title"));
        }
    }
    // The English title, or the German one when it was kept; the German
    // original is in `source_title` whenever the two differ.
    assert!(records
        .iter()
        .any(|r| &r[col("title")] == HOSTILE_TITLE || &r[col("source_title")] == HOSTILE_TITLE));
    // No temporary file is left next to the report.
    let names: Vec<_> = fs::read_dir(dir.join("csv"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["report.csv"]);
}

/// `text` escaped as minijinja's HTML auto-escaping does.
fn html_escaped(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#x27;")
        .replace('/', "&#x2f;")
}

#[test]
fn html_shows_every_summary_escaped_and_runs_nothing() {
    let dir = run_dir();
    let rows = manifest(&dir.join("out"));
    let page = stdout(&report(dir, &["out", "--format", "html"]).assert().success());
    assert!(page.starts_with("<!DOCTYPE html>"));
    for row in &rows {
        if let Some(summary) = row["summary"].as_str() {
            for paragraph in summary.split("\n\n") {
                let one_line = paragraph.split_whitespace().collect::<Vec<_>>().join(" ");
                assert!(
                    page.contains(&format!("<p>{}</p>", html_escaped(&one_line))),
                    "{one_line:?} not in the page"
                );
            }
        }
        assert!(page.contains(&html_escaped(field(row, "input"))));
    }
    assert!(page.contains(&html_escaped(HOSTILE_TITLE)));
    assert!(!page.contains("<script"), "a script tag in the page");
    assert_eq!(page.matches("<article ").count(), rows.len());
}

#[test]
fn a_sharded_folder_and_reruns_give_one_row_per_input() {
    let dir = run_dir();
    let copy = dir.join("sharded");
    let _ = fs::remove_dir_all(&copy);
    fs::create_dir_all(copy.join(".kurz-shards")).unwrap();
    let text = fs::read_to_string(dir.join("out/manifest.jsonl")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let (a, b) = lines.split_at(2);
    fs::write(copy.join(".kurz-shards/1-of-2.jsonl"), a.join("\n") + "\n").unwrap();
    fs::write(copy.join(".kurz-shards/2-of-2.jsonl"), b.join("\n") + "\n").unwrap();
    let md_parts = stdout(&report(dir, &["sharded"]).assert().success());
    // A rerun's lines (all skipped here, copied with a later time) change
    // nothing: every input once, with its result.
    let mut rerun = String::new();
    for line in &lines {
        let mut row: Value = serde_json::from_str(line).unwrap();
        if row["status"] == "ok" {
            row["status"] = "skipped".into();
            row["finished_at"] = "2999-01-01T00:00:00Z".into();
        }
        rerun.push_str(&(row.to_string() + "\n"));
    }
    fs::write(copy.join("manifest.jsonl"), rerun).unwrap();
    let md_rerun = stdout(&report(dir, &["sharded"]).assert().success());
    let md_out = stdout(&report(dir, &["out"]).assert().success());
    let body = |md: &str| md.split_once('\n').unwrap().1.to_string();
    assert_eq!(body(&md_parts), body(&md_out));
    assert_eq!(body(&md_rerun), body(&md_out));
}

#[test]
fn corrupt_lines_are_skipped_with_a_warning() {
    let dir = run_dir();
    let copy = dir.join("corrupt");
    let _ = fs::remove_dir_all(&copy);
    fs::create_dir_all(&copy).unwrap();
    let mut text = fs::read(dir.join("out/manifest.jsonl")).unwrap();
    text.extend_from_slice(b"{\"input\": \"half a line\x1b[31m\n\xff\xfe not utf-8\n");
    fs::write(copy.join("manifest.jsonl"), text).unwrap();
    let assert = report(dir, &["corrupt", "--format", "csv"])
        .assert()
        .success();
    let err = stderr(&assert);
    assert!(
        err.contains("kurz: warning: corrupt/manifest.jsonl line 5: not a manifest row"),
        "{err}"
    );
    assert!(err.contains("line 6: not a manifest row"), "{err}");
    assert!(
        !err.contains('\u{1b}'),
        "unescaped control character: {err:?}"
    );
    let out = stdout(&assert);
    let records = csv::Reader::from_reader(out.as_bytes()).records().count();
    assert_eq!(records, 4);
    let md = stdout(&report(dir, &["corrupt"]).assert().success());
    assert!(
        md.contains("2 manifest line(s) or file(s) could not be read"),
        "{md}"
    );
}

#[test]
fn folders_without_a_manifest_are_refused() {
    let scratch = tempfile::tempdir().unwrap();
    fs::create_dir(scratch.path().join("empty")).unwrap();
    let assert = report(scratch.path(), &["empty"]).assert().code(1);
    let err = stderr(&assert);
    assert!(
        err.contains("kurz: error: no manifest in empty (is it a kurz output folder?)"),
        "{err}"
    );
    assert!(stdout(&assert).is_empty());
    let assert = report(scratch.path(), &["missing"]).assert().code(1);
    assert!(stderr(&assert).contains("kurz: error: missing is not a folder"));
    // A file given as OUT.
    fs::write(scratch.path().join("file.txt"), "x").unwrap();
    report(scratch.path(), &["file.txt"]).assert().code(1);
}

#[test]
fn options_are_checked_and_the_manifest_is_never_overwritten() {
    let dir = run_dir();
    let assert = report(dir, &["out", "--bom"]).assert().code(1);
    assert!(stderr(&assert).contains("--bom applies to --format csv only"));
    let before = fs::read(dir.join("out/manifest.jsonl")).unwrap();
    let assert = report(dir, &["out", "-o", "out/./manifest.jsonl"])
        .assert()
        .code(1);
    assert!(
        stderr(&assert).contains("refusing to write the report over the manifest"),
        "{}",
        stderr(&assert)
    );
    assert_eq!(fs::read(dir.join("out/manifest.jsonl")).unwrap(), before);
    // A folder in the way of -o: an error naming it, nothing written.
    fs::create_dir_all(dir.join("taken.md")).unwrap();
    let assert = report(dir, &["out", "-o", "taken.md"]).assert().code(1);
    assert!(stderr(&assert).contains("cannot write the report to taken.md"));
    // --sort date on undated articles is the path order.
    let by_date = stdout(&report(dir, &["out", "--sort", "date"]).assert().success());
    let by_path = stdout(&report(dir, &["out"]).assert().success());
    assert_eq!(by_date, by_path);
}
