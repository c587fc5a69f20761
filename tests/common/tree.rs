//! Comparing output folders and manifests of two runs of the same work
//! (tests/cli_shard.rs, tests/slurm.rs): every file of a tree, and manifest
//! rows without the fields that differ from run to run.

use std::fs;
use std::path::Path;

use serde_json::Value;

/// Fields that differ between two runs of the same work: timings, and how
/// many prompt tokens the process's prefix cache had from its previous
/// input (the first input of every shard has none).
pub const TIMING_FIELDS: [&str; 6] = [
    "seconds",
    "prefill_seconds",
    "decode_seconds",
    "title_seconds",
    "finished_at",
    "reused_prompt_tokens",
];

/// A manifest row without its [`TIMING_FIELDS`].
pub fn without_timings(mut row: Value) -> Value {
    for field in TIMING_FIELDS {
        row.as_object_mut().unwrap().remove(field);
    }
    row
}

/// The rows of a manifest file, parsed, without their [`TIMING_FIELDS`].
pub fn rows_without_timings(manifest: &Path) -> Vec<Value> {
    fs::read_to_string(manifest)
        .unwrap()
        .lines()
        .map(|l| without_timings(serde_json::from_str(l).unwrap()))
        .collect()
}

/// Every file under `dir` (path relative to `dir` -> bytes), sorted by
/// path; an entry whose relative path `skip` accepts is left out (a
/// folder with all it holds).
pub fn files(dir: &Path, skip: impl Fn(&str) -> bool) -> Vec<(String, Vec<u8>)> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap().flatten() {
            let rel = e
                .path()
                .strip_prefix(dir)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            if skip(&rel) {
                continue;
            }
            if e.file_type().unwrap().is_dir() {
                stack.push(e.path());
            } else {
                found.push((rel, fs::read(e.path()).unwrap()));
            }
        }
    }
    found.sort();
    found
}
