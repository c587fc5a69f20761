//! Reading every manifest row of an output folder and choosing the current
//! row of each input.
//!
//! A folder's rows live in `manifest.jsonl`, in any other `manifest*.jsonl`
//! next to it, and in the manifest parts of sharded runs
//! (`.kurz-shards/*.jsonl`). [`manifest_files`] lists them;
//! [`read_rows`] parses them, turning an unreadable line into a
//! [`LineProblem`] instead of an error; [`current_rows`] keeps one row per
//! input and task.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::output::{ManifestEntry, Status, MANIFEST_FILE_NAME};

use super::ReportError;

/// Folder of the manifest parts a sharded run writes, below the output folder.
pub const SHARD_PARTS_DIR: &str = ".kurz-shards";

/// A manifest line that could not be read as a row; it is left out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineProblem {
    /// The manifest file.
    pub file: PathBuf,
    /// 1-based line number.
    pub line: usize,
    /// Why it was left out.
    pub cause: String,
}

impl std::fmt::Display for LineProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} line {}: not a manifest row ({}); skipped",
            self.file.display(),
            self.line,
            self.cause
        )
    }
}

/// Every manifest row of a folder, in reading order, with the lines left out.
#[derive(Debug, Default)]
pub struct ManifestRows {
    /// The files read, in reading order.
    pub files: Vec<PathBuf>,
    /// The rows, file by file, line by line.
    pub rows: Vec<ManifestEntry>,
    /// Lines that were not rows (torn, corrupt, not UTF-8) and files that
    /// were passed over (symlinks).
    pub problems: Vec<String>,
}

/// The manifest files of output folder `out`: `manifest.jsonl` first, then
/// the other `manifest*.jsonl` files in it and the `*.jsonl` parts in
/// `.kurz-shards/`, each group sorted by name. Only regular files count:
/// a symlink is passed over with a note in `problems` (kurz reads no
/// manifest through a link).
///
/// # Errors
///
/// [`ReportError::NotAFolder`] when `out` is not a folder,
/// [`ReportError::NoManifest`] when it holds no manifest file, and
/// [`ReportError::Read`] when it cannot be listed.
pub fn manifest_files(out: &Path, problems: &mut Vec<String>) -> Result<Vec<PathBuf>, ReportError> {
    if !out.is_dir() {
        return Err(ReportError::NotAFolder(out.to_path_buf()));
    }
    let mut files = Vec::new();
    let mut others = regular_files(out, problems, |name| {
        name != MANIFEST_FILE_NAME && name.starts_with("manifest") && name.ends_with(".jsonl")
    })?;
    let main = out.join(MANIFEST_FILE_NAME);
    if keep_regular(&main, problems) {
        files.push(main);
    }
    files.append(&mut others);
    let parts = out.join(SHARD_PARTS_DIR);
    if parts.is_dir() && !is_symlink(&parts) {
        files.extend(regular_files(&parts, problems, |name| {
            name.ends_with(".jsonl")
        })?);
    }
    if files.is_empty() {
        return Err(ReportError::NoManifest(out.to_path_buf()));
    }
    Ok(files)
}

/// The regular files in `dir` whose UTF-8 names pass `wanted`, sorted.
fn regular_files(
    dir: &Path,
    problems: &mut Vec<String>,
    wanted: impl Fn(&str) -> bool,
) -> Result<Vec<PathBuf>, ReportError> {
    let read_error = |error| ReportError::Read {
        path: dir.to_path_buf(),
        error,
    };
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(read_error)? {
        let entry = entry.map_err(read_error)?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if wanted(name) {
            found.push(entry.path());
        }
    }
    found.sort();
    found.retain(|path| keep_regular(path, problems));
    Ok(found)
}

/// Whether `path` is a regular file (not a symlink); a symlink or anything
/// else that exists gets a note.
fn keep_regular(path: &Path, problems: &mut Vec<String>) -> bool {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_file() => true,
        Ok(m) => {
            let what = if m.file_type().is_symlink() {
                "a symlink (kurz reads no manifest through a link)"
            } else {
                "not a regular file"
            };
            problems.push(format!("{}: {what}; skipped", path.display()));
            false
        }
        Err(_) => false,
    }
}

fn is_symlink(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink())
}

/// Reads every row of every manifest file of `out` (see [`manifest_files`]).
/// A line that is not a row is left out and named in `problems`; blank
/// lines are ignored.
///
/// # Errors
///
/// Those of [`manifest_files`], and [`ReportError::Read`] when a manifest
/// file cannot be read.
pub fn read_rows(out: &Path) -> Result<ManifestRows, ReportError> {
    let mut all = ManifestRows::default();
    all.files = manifest_files(out, &mut all.problems)?;
    for file in &all.files {
        let data = std::fs::read(file).map_err(|error| ReportError::Read {
            path: file.clone(),
            error,
        })?;
        for (index, line) in data.split(|&b| b == b'\n').enumerate() {
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            match serde_json::from_slice::<ManifestEntry>(line) {
                Ok(row) => all.rows.push(row),
                Err(e) => all.problems.push(
                    LineProblem {
                        file: file.clone(),
                        line: index + 1,
                        cause: e.to_string(),
                    }
                    .to_string(),
                ),
            }
        }
    }
    Ok(all)
}

/// One row per input and task: its current row. That is the latest row
/// whose status is `ok` or `error` (latest by `finished_at`, reading order
/// breaking ties); a `skipped` row only says an earlier result still holds
/// (as resume reads the manifest), so it stands for the input only when no
/// other row does. The rows come back in reading order of their first
/// appearance.
pub fn current_rows(rows: Vec<ManifestEntry>) -> Vec<ManifestEntry> {
    let mut order: Vec<(String, String)> = Vec::new();
    let mut chosen: HashMap<(String, String), ManifestEntry> = HashMap::new();
    for row in rows {
        let key = (row.task.clone(), row.input.clone());
        match chosen.get(&key) {
            None => {
                order.push(key.clone());
                chosen.insert(key, row);
            }
            Some(held) if replaces(&row, held) => {
                chosen.insert(key, row);
            }
            Some(_) => {}
        }
    }
    order
        .into_iter()
        .filter_map(|key| chosen.remove(&key))
        .collect()
}

/// Whether `row`, read after `held`, becomes the current row instead.
fn replaces(row: &ManifestEntry, held: &ManifestEntry) -> bool {
    match (
        row.status == Status::Skipped,
        held.status == Status::Skipped,
    ) {
        (true, false) => false,
        (false, true) => true,
        _ => row.finished_at >= held.finished_at,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::tests::row;

    fn write(path: &Path, text: &str) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    fn line(input: &str, status: Status, finished_at: &str) -> String {
        let mut r = row(input);
        r.status = status;
        r.finished_at = finished_at.into();
        serde_json::to_string(&r).unwrap() + "\n"
    }

    #[test]
    fn a_folder_without_a_manifest_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let err = read_rows(dir.path()).unwrap_err();
        assert!(matches!(err, ReportError::NoManifest(_)), "{err}");
        assert!(err.to_string().contains("is it a kurz output folder?"));
        let missing = dir.path().join("nope");
        let err = read_rows(&missing).unwrap_err();
        assert!(matches!(err, ReportError::NotAFolder(_)), "{err}");
    }

    #[test]
    fn parts_and_other_manifests_are_read_after_the_main_one() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path();
        write(
            &out.join("manifest.jsonl"),
            &line("a", Status::Ok, "2026-01-01T00:00:00Z"),
        );
        write(
            &out.join("manifest-2.jsonl"),
            &line("b", Status::Ok, "2026-01-01T00:00:00Z"),
        );
        write(
            &out.join(".kurz-shards/2-of-2.jsonl"),
            &line("d", Status::Ok, "2026-01-01T00:00:00Z"),
        );
        write(
            &out.join(".kurz-shards/1-of-2.jsonl"),
            &line("c", Status::Ok, "2026-01-01T00:00:00Z"),
        );
        write(&out.join(".kurz-shards/1-of-2.plan.json"), "{}");
        write(
            &out.join("notes.jsonl"),
            &line("x", Status::Ok, "2026-01-01T00:00:00Z"),
        );
        let rows = read_rows(out).unwrap();
        let inputs: Vec<_> = rows.rows.iter().map(|r| r.input.as_str()).collect();
        assert_eq!(inputs, ["a", "b", "c", "d"]);
        assert!(rows.problems.is_empty(), "{:?}", rows.problems);
        // Parts alone are enough.
        std::fs::remove_file(out.join("manifest.jsonl")).unwrap();
        std::fs::remove_file(out.join("manifest-2.jsonl")).unwrap();
        assert_eq!(read_rows(out).unwrap().rows.len(), 2);
    }

    #[test]
    fn corrupt_lines_are_named_and_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("manifest.jsonl");
        let good = line("a", Status::Ok, "2026-01-01T00:00:00Z");
        let text = format!(
            "{good}\n{{\"input\": 3}}\nnot json\n{}",
            &good[..good.len() / 2]
        );
        let mut bytes = text.into_bytes();
        bytes.extend_from_slice(b"\n\xff\xfe\n");
        std::fs::write(&path, bytes).unwrap();
        let rows = read_rows(dir.path()).unwrap();
        assert_eq!(rows.rows.len(), 1);
        assert_eq!(rows.problems.len(), 4, "{:?}", rows.problems);
        assert!(rows.problems[0].contains("manifest.jsonl line 3: not a manifest row"));
        assert!(rows.problems[3].contains("line 6"));
    }

    #[cfg(unix)]
    #[test]
    fn a_symlinked_manifest_is_not_read() {
        let dir = tempfile::tempdir().unwrap();
        let elsewhere = dir.path().join("elsewhere.jsonl");
        write(
            &elsewhere,
            &line("secret", Status::Ok, "2026-01-01T00:00:00Z"),
        );
        let out = dir.path().join("out");
        std::fs::create_dir(&out).unwrap();
        std::os::unix::fs::symlink(&elsewhere, out.join("manifest.jsonl")).unwrap();
        let mut problems = Vec::new();
        let err = manifest_files(&out, &mut problems).unwrap_err();
        assert!(matches!(err, ReportError::NoManifest(_)));
        assert!(problems[0].contains("symlink"), "{problems:?}");
    }

    #[test]
    fn the_current_row_is_the_latest_outcome() {
        let mk = |input: &str, status, at: &str| {
            let mut r = row(input);
            r.status = status;
            r.finished_at = at.into();
            r
        };
        let rows = vec![
            mk("a", Status::Ok, "2026-01-01T00:00:00Z"),
            mk("b", Status::Error, "2026-01-01T00:00:00Z"),
            mk("a", Status::Skipped, "2026-01-03T00:00:00Z"),
            mk("b", Status::Ok, "2026-01-02T00:00:00Z"),
            // An older line read later (another shard) does not win.
            mk("c", Status::Ok, "2026-01-05T00:00:00Z"),
            mk("c", Status::Error, "2026-01-04T00:00:00Z"),
            mk("d", Status::Skipped, "2026-01-01T00:00:00Z"),
        ];
        let current = current_rows(rows);
        let got: Vec<_> = current
            .iter()
            .map(|r| (r.input.as_str(), r.status, r.finished_at.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("a", Status::Ok, "2026-01-01T00:00:00Z"),
                ("b", Status::Ok, "2026-01-02T00:00:00Z"),
                ("c", Status::Ok, "2026-01-05T00:00:00Z"),
                ("d", Status::Skipped, "2026-01-01T00:00:00Z"),
            ]
        );
        // The same input under another task is its own row.
        let mut t = row("a");
        t.task = "translate".into();
        assert_eq!(current_rows(vec![row("a"), t]).len(), 2);
    }
}
