//! `kurz report`: one digest of a run, read from its output folder's
//! manifest, as Markdown, CSV or a self-contained HTML page.
//!
//! [`Report::load`] reads every manifest row of the folder (see [`load`]),
//! keeps the current row of each input, and turns it into an [`Entry`]:
//! title, source (path and, for feed items and e-mails, link), date,
//! summary, guard verdict, errors and warnings. The formats
//! ([`markdown`], [`csv`], [`html`]) treat every value as untrusted text:
//! article titles and summaries can hold markup, and none of it may act as
//! markup in the report.

pub mod csv;
pub mod html;
pub mod load;
pub mod markdown;

use std::io::Read;
use std::path::{Component, Path, PathBuf};

use chrono::{DateTime, NaiveDate};

use crate::output::{ManifestEntry, Status};

pub use load::{current_rows, manifest_files, read_rows, ManifestRows};

/// Most bytes read from one output file when the manifest row holds no
/// summary.
pub const MAX_OUTPUT_FILE_BYTES: u64 = 1024 * 1024;

/// Why no report could be made.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The folder given is missing or not a folder.
    #[error("{} is not a folder", .0.display())]
    NotAFolder(PathBuf),
    /// The folder holds no manifest.
    #[error("no manifest in {} (is it a kurz output folder?)", .0.display())]
    NoManifest(PathBuf),
    /// A manifest or the folder could not be read.
    #[error("cannot read {}: {error}", path.display())]
    Read {
        /// The file or folder.
        path: PathBuf,
        /// What went wrong.
        error: std::io::Error,
    },
}

/// The order of a report's entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortOrder {
    /// By source path (then task).
    #[default]
    Path,
    /// Newest first by the article's date; undated entries last, by path.
    Date,
}

/// One input in a report: its current manifest row, cleaned for display.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// The input path as the run named it.
    pub input: String,
    /// The title (the extracted one, or the input's file name).
    pub title: String,
    /// The original title when the row records one that differs
    /// (`source_title`).
    pub source_title: Option<String>,
    /// The web address of a feed item or e-mail (`link`), as recorded.
    pub link: Option<String>,
    /// When the article was published (`date`), as recorded.
    pub date: Option<String>,
    /// `ok`, `skipped` or `error`.
    pub status: Status,
    /// The guard's verdict (`pass`, `repaired`, `fail`) when it ran.
    pub guard: Option<String>,
    /// Names and numbers the guard found unsupported in the kept summary.
    pub unsupported: Vec<String>,
    /// The summary (or translation): the row's, else its output file's.
    pub summary: Option<String>,
    /// The error message of an `error` row.
    pub error: Option<String>,
    /// Non-fatal warnings.
    pub warnings: Vec<String>,
    /// The output file, relative to the output folder.
    pub output: Option<String>,
    /// `summarize` or `translate`.
    pub task: String,
    /// The model's file name.
    pub model: String,
    /// When the row was written (RFC 3339).
    pub finished_at: String,
}

/// A digest of one output folder.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// The output folder, as given.
    pub folder: String,
    /// One entry per input and task, in the chosen order.
    pub entries: Vec<Entry>,
    /// The manifest files read.
    pub files: Vec<PathBuf>,
    /// Manifest lines and files that were left out, one message each.
    pub problems: Vec<String>,
}

impl Report {
    /// Reads the manifest rows of output folder `out` (see
    /// [`load::read_rows`]), keeps each input's current row
    /// ([`load::current_rows`]) and orders the entries by `sort`.
    ///
    /// # Errors
    ///
    /// Those of [`load::read_rows`]: no folder, no manifest, unreadable
    /// manifest. Corrupt lines are no error (see [`Report::problems`]).
    pub fn load(out: &Path, sort: SortOrder) -> Result<Report, ReportError> {
        let rows = read_rows(out)?;
        let entries = current_rows(rows.rows)
            .iter()
            .map(|row| Entry::from_row(row, out))
            .collect();
        let mut report = Report {
            folder: out.display().to_string(),
            entries,
            files: rows.files,
            problems: rows.problems,
        };
        report.sort(sort);
        Ok(report)
    }

    /// Orders the entries (see [`SortOrder`]).
    pub fn sort(&mut self, order: SortOrder) {
        let by_path = |a: &Entry, b: &Entry| (&a.input, &a.task).cmp(&(&b.input, &b.task));
        match order {
            SortOrder::Path => self.entries.sort_by(by_path),
            SortOrder::Date => self.entries.sort_by(|a, b| {
                let (da, db) = (a.date_key(), b.date_key());
                match (da, db) {
                    (Some(x), Some(y)) => y.cmp(&x).then_with(|| by_path(a, b)),
                    (Some(_), None) => std::cmp::Ordering::Less,
                    (None, Some(_)) => std::cmp::Ordering::Greater,
                    (None, None) => by_path(a, b),
                }
            }),
        }
    }

    /// How many entries have `status`.
    pub fn count(&self, status: Status) -> usize {
        self.entries.iter().filter(|e| e.status == status).count()
    }

    /// How many entries have guard verdict `verdict`.
    pub fn count_guard(&self, verdict: &str) -> usize {
        self.entries
            .iter()
            .filter(|e| e.guard.as_deref() == Some(verdict))
            .count()
    }

    /// The distinct model file names, in order of first appearance.
    pub fn models(&self) -> Vec<&str> {
        let mut models: Vec<&str> = Vec::new();
        for e in &self.entries {
            if !e.model.is_empty() && !models.contains(&e.model.as_str()) {
                models.push(&e.model);
            }
        }
        models
    }

    /// A one-line tally: `3 inputs: 2 ok, 0 skipped, 1 failed; guard: …`.
    pub fn tally(&self) -> String {
        let mut line = format!(
            "{} input{}: {} ok, {} skipped, {} failed",
            self.entries.len(),
            if self.entries.len() == 1 { "" } else { "s" },
            self.count(Status::Ok),
            self.count(Status::Skipped),
            self.count(Status::Error)
        );
        let verdicts: Vec<String> = ["pass", "repaired", "fail"]
            .iter()
            .map(|v| (v, self.count_guard(v)))
            .filter(|(_, n)| *n > 0)
            .map(|(v, n)| format!("{n} {v}"))
            .collect();
        if !verdicts.is_empty() {
            line.push_str(&format!("; guard: {}", verdicts.join(", ")));
        }
        line
    }
}

impl Entry {
    /// The entry of manifest row `row` of output folder `out`. Text is
    /// cleaned with [`clean_text`]; a row without a summary takes it from
    /// its output file when that lies inside `out` (see
    /// [`summary_from_output`]).
    pub fn from_row(row: &ManifestEntry, out: &Path) -> Entry {
        let text = |key: &str| {
            row.extra
                .get(key)
                .and_then(|v| v.as_str())
                .map(clean_text)
                .filter(|s| !s.trim().is_empty())
        };
        let title = row
            .title
            .as_deref()
            .map(|t| one_line(&clean_text(t)))
            .filter(|t| !t.is_empty())
            .unwrap_or_else(|| fallback_title(&row.input));
        let source_title = text("source_title")
            .map(|t| one_line(&t))
            .filter(|t| *t != title);
        let summary = row
            .summary
            .clone()
            .filter(|s| !s.trim().is_empty())
            .or_else(|| {
                row.output
                    .as_deref()
                    .and_then(|o| summary_from_output(out, o))
            })
            .map(|s| clean_text(s.trim()));
        let strings = |key: &str| -> Vec<String> {
            row.extra
                .get(key)
                .and_then(|v| v.as_array())
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_str())
                        .map(clean_text)
                        .collect()
                })
                .unwrap_or_default()
        };
        Entry {
            input: clean_text(&row.input),
            title,
            source_title,
            link: text("link").map(|l| one_line(&l)),
            date: text("date").map(|d| one_line(&d)),
            status: row.status,
            guard: text("guard"),
            unsupported: strings("unsupported"),
            summary,
            error: row.error.as_deref().map(clean_text),
            warnings: row.warnings.iter().map(|w| clean_text(w)).collect(),
            output: row.output.as_deref().map(clean_text),
            task: clean_text(&row.task),
            model: clean_text(&row.model.file),
            finished_at: clean_text(&row.finished_at),
        }
    }

    /// The date as seconds since the epoch, when it reads as RFC 3339,
    /// RFC 2822 or a plain `YYYY-MM-DD` (midnight UTC).
    pub fn date_key(&self) -> Option<i64> {
        let date = self.date.as_deref()?.trim();
        DateTime::parse_from_rfc3339(date)
            .or_else(|_| DateTime::parse_from_rfc2822(date))
            .map(|d| d.timestamp())
            .ok()
            .or_else(|| {
                NaiveDate::parse_from_str(date, "%Y-%m-%d")
                    .ok()
                    .and_then(|d| d.and_hms_opt(0, 0, 0))
                    .map(|d| d.and_utc().timestamp())
            })
    }

    /// The link when it is a plain `http://` or `https://` address (no
    /// spaces, quotes, angle brackets or control characters): the only
    /// links a report makes clickable.
    pub fn web_link(&self) -> Option<&str> {
        let link = self.link.as_deref()?;
        let lower = link.to_ascii_lowercase();
        let scheme = lower.starts_with("http://") || lower.starts_with("https://");
        let clean = link.chars().all(|c| {
            !c.is_whitespace() && !c.is_control() && !matches!(c, '<' | '>' | '"' | '\'' | '`')
        });
        (scheme && clean && link.len() > "https://".len()).then_some(link)
    }

    /// The summary's paragraphs (split at blank lines), each with its
    /// whitespace collapsed to single spaces.
    pub fn paragraphs(&self) -> Vec<String> {
        let Some(summary) = &self.summary else {
            return Vec::new();
        };
        let mut paragraphs = Vec::new();
        let mut current = String::new();
        for line in summary.lines() {
            if line.trim().is_empty() {
                if !current.is_empty() {
                    paragraphs.push(std::mem::take(&mut current));
                }
                continue;
            }
            if !current.is_empty() {
                current.push(' ');
            }
            current.push_str(&one_line(line));
        }
        if !current.is_empty() {
            paragraphs.push(current);
        }
        paragraphs
    }
}

/// The input's file name, as a title of last resort.
fn fallback_title(input: &str) -> String {
    let name = Path::new(input)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| input.to_string());
    let name = one_line(&clean_text(&name));
    if name.is_empty() {
        "(untitled)".to_string()
    } else {
        name
    }
}

/// `text` with its whitespace (newlines included) collapsed to single
/// spaces, trimmed.
pub fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `text` fit for showing: control characters other than newline and tab,
/// and the Unicode bidirectional controls that reorder what a reader sees
/// (U+202A..U+202E, U+2066..U+2069, U+200E, U+200F, U+061C), become U+FFFD;
/// `\r\n` and lone `\r` become `\n`.
pub fn clean_text(text: &str) -> String {
    let text = text.replace("\r\n", "\n").replace('\r', "\n");
    text.chars()
        .map(|c| {
            let bidi = matches!(
                c,
                '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}'
            );
            if (c.is_control() && c != '\n' && c != '\t') || bidi {
                '\u{FFFD}'
            } else {
                c
            }
        })
        .collect()
}

/// The summary in output file `relative` of output folder `out`, for rows
/// that do not hold it: read only when `relative` is a plain relative path
/// whose real location (symlinks resolved) is a regular file inside `out`,
/// and at most [`MAX_OUTPUT_FILE_BYTES`] of it. A `.json` file gives its
/// `summary` field; a `.md` or `.txt` file its text after the title line
/// and the blank line kurz writes.
pub fn summary_from_output(out: &Path, relative: &str) -> Option<String> {
    let rel = Path::new(relative);
    if rel.components().any(|c| !matches!(c, Component::Normal(_))) {
        return None;
    }
    let root = out.canonicalize().ok()?;
    let path = out.join(rel).canonicalize().ok()?;
    if !path.starts_with(&root) || !path.is_file() {
        return None;
    }
    let mut text = String::new();
    std::fs::File::open(&path)
        .ok()?
        .take(MAX_OUTPUT_FILE_BYTES)
        .read_to_string(&mut text)
        .ok()?;
    let summary = if relative.ends_with(".json") {
        let value: serde_json::Value = serde_json::from_str(&text).ok()?;
        value.get("summary")?.as_str()?.to_string()
    } else {
        let (first, rest) = text.split_once('\n').unwrap_or((&text, ""));
        let looks_like_title = !relative.ends_with(".md") || first.starts_with("# ");
        if looks_like_title {
            rest.trim_start_matches('\n').to_string()
        } else {
            text.clone()
        }
    };
    let summary = summary.trim();
    (!summary.is_empty()).then(|| summary.to_string())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::output::ModelRef;
    use serde_json::json;

    /// A plain `ok` summary row for `input`.
    pub(crate) fn row(input: &str) -> ManifestEntry {
        let mut extra = serde_json::Map::new();
        extra.insert("guard".into(), json!("pass"));
        ManifestEntry {
            input: input.to_string(),
            input_sha256: Some("aa".repeat(32)),
            bytes: Some(100),
            language: Some("de".into()),
            title: Some(format!("Title of {input}")),
            output: Some(format!("{input}.en.md")),
            summary: Some(format!("Summary of {input}.")),
            model: ModelRef {
                file: "smollm2-135m.gguf".into(),
                sha256: "bb".repeat(32),
                sha256_from: None,
                kernels: None,
                device: None,
            },
            params: json!({}),
            prompt_tokens: 10,
            generated_tokens: 5,
            seconds: 1.0,
            prefill_seconds: 0.5,
            decode_seconds: 0.5,
            status: Status::Ok,
            error: None,
            warnings: Vec::new(),
            task: "summarize".into(),
            finished_at: "2026-12-06T21:00:00Z".into(),
            extra,
        }
    }

    /// A report over hostile and ordinary entries, for the format tests.
    pub(crate) fn hostile_report() -> Report {
        let out = Path::new("/nonexistent-kurz-out");
        let mut evil = row("feeds/evil.xml#1");
        evil.title =
            Some("<script>alert(1)</script> [click](javascript:alert(2)) | `x` & Co".into());
        evil.summary = Some(
            "# Not a heading\n\n> not a quote ![img](http://tracker.example/p.gif)\n\n1. not a list <b>bold</b> *em* _u_ ~~s~~ &amp; \\ |pipe|"
                .into(),
        );
        evil.extra
            .insert("link".into(), json!("javascript:alert(3)"));
        evil.extra
            .insert("date".into(), json!("2025-01-14T08:30:00+00:00"));
        evil.extra.insert("guard".into(), json!("fail"));
        evil.extra
            .insert("unsupported".into(), json!(["<Merkel>", "42"]));
        evil.warnings = vec!["only a teaser | <i>".into()];
        let mut feed = row("feeds/news.xml#2");
        feed.title = Some("Kita öffnet\u{202E}gnp.exe".into());
        feed.extra
            .insert("link".into(), json!("https://example.org/a?b=1&c=2"));
        feed.extra
            .insert("date".into(), json!("Tue, 14 Jan 2025 10:00:00 +0000"));
        let mut broken = row("samples/kaputt.txt");
        broken.status = Status::Error;
        broken.summary = None;
        broken.output = None;
        broken.title = None;
        broken.extra.clear();
        broken.error = Some("samples/kaputt.txt: looks like a binary file\u{1b}[31m".into());
        let plain = row("samples/nachrichten/hochwasser.txt");
        let rows = [evil, feed, broken, plain];
        let mut report = Report {
            folder: "kurz-out".into(),
            entries: rows.iter().map(|r| Entry::from_row(r, out)).collect(),
            files: vec![PathBuf::from("kurz-out/manifest.jsonl")],
            problems: Vec::new(),
        };
        report.sort(SortOrder::Path);
        report
    }

    #[test]
    fn entries_are_cleaned_and_fall_back() {
        let report = hostile_report();
        let broken = &report.entries[2];
        assert_eq!(broken.input, "samples/kaputt.txt");
        assert_eq!(broken.title, "kaputt.txt");
        assert!(broken.error.as_deref().unwrap().contains("\u{FFFD}[31m"));
        assert!(!broken.error.as_deref().unwrap().contains('\u{1b}'));
        let feed = &report.entries[1];
        assert_eq!(feed.title, "Kita öffnet\u{FFFD}gnp.exe");
        assert_eq!(feed.web_link(), Some("https://example.org/a?b=1&c=2"));
        assert_eq!(report.entries[0].web_link(), None);
        assert_eq!(
            report.tally(),
            "4 inputs: 3 ok, 0 skipped, 1 failed; guard: 2 pass, 1 fail"
        );
    }

    #[test]
    fn date_order_is_newest_first_and_undated_last() {
        let mut report = hostile_report();
        report.sort(SortOrder::Date);
        let inputs: Vec<_> = report.entries.iter().map(|e| e.input.as_str()).collect();
        assert_eq!(
            inputs,
            [
                "feeds/news.xml#2",
                "feeds/evil.xml#1",
                "samples/kaputt.txt",
                "samples/nachrichten/hochwasser.txt"
            ]
        );
        let mut e = report.entries[0].clone();
        e.date = Some("2025-01-14".into());
        assert_eq!(e.date_key(), Some(1_736_812_800));
        e.date = Some("yesterday".into());
        assert_eq!(e.date_key(), None);
    }

    #[test]
    fn paragraphs_split_at_blank_lines() {
        let mut e = hostile_report().entries[3].clone();
        e.summary = Some("one\ntwo  three\n\n\n four \n".into());
        assert_eq!(e.paragraphs(), ["one two three", "four"]);
        e.summary = None;
        assert!(e.paragraphs().is_empty());
    }

    #[test]
    fn summaries_are_read_from_output_files_inside_the_folder_only() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        std::fs::create_dir_all(out.join("a")).unwrap();
        std::fs::write(out.join("a/x.en.md"), "# Title\n\nThe summary.\n").unwrap();
        std::fs::write(out.join("a/y.en.txt"), "Title\n\nPlain one.\n").unwrap();
        std::fs::write(
            out.join("a/z.en.json"),
            r#"{"title": "T", "summary": "From JSON."}"#,
        )
        .unwrap();
        std::fs::write(dir.path().join("secret.md"), "# s\n\nsecret\n").unwrap();
        assert_eq!(
            summary_from_output(&out, "a/x.en.md").as_deref(),
            Some("The summary.")
        );
        assert_eq!(
            summary_from_output(&out, "a/y.en.txt").as_deref(),
            Some("Plain one.")
        );
        assert_eq!(
            summary_from_output(&out, "a/z.en.json").as_deref(),
            Some("From JSON.")
        );
        assert_eq!(summary_from_output(&out, "../secret.md"), None);
        let absolute = dir.path().join("secret.md");
        assert_eq!(summary_from_output(&out, absolute.to_str().unwrap()), None);
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(dir.path().join("secret.md"), out.join("link.md")).unwrap();
            assert_eq!(summary_from_output(&out, "link.md"), None);
        }
        // A row without a summary takes the file's.
        let mut r = row("a/x.txt");
        r.summary = None;
        r.output = Some("a/x.en.md".into());
        assert_eq!(
            Entry::from_row(&r, &out).summary.as_deref(),
            Some("The summary.")
        );
    }
}
