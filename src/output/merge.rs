//! Joining the manifest parts of a sharded run ([`merge`], `kurz merge`)
//! and reporting its progress ([`status`], `kurz status`).
//!
//! Both read `manifest.jsonl`, every part (`.kurz-shards/K-of-N.jsonl`)
//! and every plan (`.kurz-shards/K-of-N.plan.json`, see [`crate::shard`]).
//! The *current row* of an input is its latest outcome (`ok` or `error`,
//! by `finished_at`, file order breaking ties); a `skipped` row only says
//! that an earlier row still holds, so it stands for the input only when
//! no other row is there. Rows of different models or parameters are kept
//! apart, as resume keeps them apart: one current row per input *and*
//! setting.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use super::manifest::{part_files, ManifestEntry, Status, MANIFEST_FILE_NAME};
use super::{remove_temp_leftovers, write_atomic, OutputLock, ResumeIndex};
use crate::shard::{parse_record_name, read_plans, Shard, ShardPlan, SHARDS_DIR};

/// Why a folder cannot be merged or reported on.
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    /// A manifest, part or plan cannot be read, or the result not written.
    #[error("cannot {action} {}: {error}", path.display())]
    Io {
        /// "read" or "write".
        action: &'static str,
        /// The file or folder.
        path: PathBuf,
        /// What went wrong.
        error: std::io::Error,
    },
    /// The folder holds no manifest and no shard records.
    #[error("{} holds no manifest.jsonl and no manifest parts of a sharded run (.kurz-shards/)", .0.display())]
    Empty(PathBuf),
}

/// A model and its parameters: rows of different settings are kept apart.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Setting {
    /// The task (`summarize`, `translate`).
    pub task: String,
    /// The model's SHA-256.
    pub model_sha256: String,
    /// The params, as canonical JSON (keys sorted).
    pub params: String,
}

impl Setting {
    fn of(entry: &ManifestEntry) -> Self {
        Setting {
            task: entry.task.clone(),
            model_sha256: entry.model.sha256.clone(),
            params: entry.params.to_string(),
        }
    }
}

/// Every row of a folder's manifests, and the current one of each input.
#[derive(Debug, Default)]
pub struct Rows {
    /// Current rows: (setting, input) -> row, in no particular order.
    current: HashMap<(Setting, String), (ManifestEntry, usize)>,
    /// Lines that could not be parsed (torn by a kill).
    pub torn: usize,
    /// Plans of the shards.
    pub plans: Vec<ShardPlan>,
    /// Plans that cannot be used, each a message naming its file.
    pub plan_problems: Vec<String>,
}

impl Rows {
    /// Reads `out`'s manifest, parts and plans.
    pub fn load(out: &Path) -> Result<Self, MergeError> {
        let read = |path: &Path, error| MergeError::Io {
            action: "read",
            path: path.to_path_buf(),
            error,
        };
        let index = ResumeIndex::load_all(out).map_err(|e| read(out, e))?;
        let (plans, plan_problems) = read_plans(out).map_err(|e| read(&out.join(SHARDS_DIR), e))?;
        let mut rows = Rows {
            torn: index.torn_lines(),
            plans,
            plan_problems,
            ..Rows::default()
        };
        for (seq, entry) in index.entries().iter().enumerate() {
            rows.offer(entry, seq);
        }
        Ok(rows)
    }

    fn offer(&mut self, entry: &ManifestEntry, seq: usize) {
        let key = (Setting::of(entry), entry.input.clone());
        let replace = match self.current.get(&key) {
            None => true,
            Some((old, _)) => match (
                old.status == Status::Skipped,
                entry.status == Status::Skipped,
            ) {
                (false, true) => false,
                (true, false) => true,
                _ => entry.finished_at >= old.finished_at,
            },
        };
        if replace {
            self.current.insert(key, (entry.clone(), seq));
        }
    }

    /// The current rows grouped by setting (settings in the order their
    /// first row finished), each group sorted by input display path: the
    /// order an unsharded `--jobs 1` run writes them in.
    pub fn ordered(&self) -> Vec<&ManifestEntry> {
        let mut first: HashMap<&Setting, (&str, usize)> = HashMap::new();
        for ((setting, _), (entry, seq)) in &self.current {
            let candidate = (entry.finished_at.as_str(), *seq);
            first
                .entry(setting)
                .and_modify(|f| *f = (*f).min(candidate))
                .or_insert(candidate);
        }
        let mut rows: Vec<(&(&str, usize), &Setting, &str, &ManifestEntry)> = self
            .current
            .iter()
            .map(|((setting, input), (entry, _))| (&first[setting], setting, input.as_str(), entry))
            .collect();
        rows.sort_by(|a, b| (a.0, a.1, a.2.as_bytes()).cmp(&(b.0, b.1, b.2.as_bytes())));
        rows.into_iter().map(|r| r.3).collect()
    }

    /// How many settings the rows hold.
    pub fn settings(&self) -> usize {
        let mut all: Vec<&Setting> = self.current.keys().map(|k| &k.0).collect();
        all.sort();
        all.dedup();
        all.len()
    }

    /// The current row of `input` for `plan`'s task (of `plan`'s setting
    /// when it names one), the latest when several settings have one.
    pub fn row_for(&self, plan: &ShardPlan, input: &str) -> Option<&ManifestEntry> {
        let mut best: Option<&ManifestEntry> = None;
        for ((setting, name), (entry, _)) in &self.current {
            if name != input || setting.task != plan.task {
                continue;
            }
            if let Some(model) = &plan.model_sha256 {
                if &setting.model_sha256 != model {
                    continue;
                }
            }
            if let Some(params) = &plan.params {
                if !super::manifest::params_equal(&entry.params, params) {
                    continue;
                }
            }
            if best.is_none_or(|b| entry.finished_at > b.finished_at) {
                best = Some(entry);
            }
        }
        best
    }

    /// Shards of every split a plan was seen of that have no plan.
    pub fn missing_shards(&self) -> Vec<Shard> {
        let mut counts: Vec<u32> = self.plans.iter().map(|p| p.shard.count).collect();
        counts.sort_unstable();
        counts.dedup();
        let planned: std::collections::HashSet<Shard> =
            self.plans.iter().map(|p| p.shard).collect();
        let mut missing = Vec::new();
        for count in counts {
            for index in 1..=count {
                let shard = Shard { index, count };
                if !planned.contains(&shard) {
                    missing.push(shard);
                }
            }
        }
        missing
    }
}

/// What [`merge`] did and found.
#[derive(Debug, Default)]
pub struct MergeReport {
    /// Rows written to `manifest.jsonl`.
    pub rows: usize,
    /// Of them, `error` rows.
    pub failed: usize,
    /// Distinct models/parameter settings among the rows.
    pub settings: usize,
    /// Planned inputs that have no row yet, with their shard.
    pub unfinished: Vec<(Shard, String)>,
    /// Shards of a split that never ran (no plan).
    pub missing_shards: Vec<Shard>,
    /// Unparsable lines skipped.
    pub torn: usize,
    /// Plans that could not be used.
    pub plan_problems: Vec<String>,
    /// The shards folder was removed (everything was finished).
    pub removed_records: bool,
    /// Temporary files of killed runs removed.
    pub leftovers: usize,
}

impl MergeReport {
    /// Every shard ran and every planned input has a row.
    pub fn complete(&self) -> bool {
        self.unfinished.is_empty()
            && self.missing_shards.is_empty()
            && self.plan_problems.is_empty()
    }
}

/// Writes `out/manifest.jsonl` as one current row per input (and setting),
/// in the order of an unsharded `--jobs 1` run, from the manifest and every
/// part. When the split is complete (every shard ran, every planned input
/// has a row), removes `.kurz-shards/`, so the folder is as an unsharded
/// run leaves it; otherwise keeps it, so a rerun of the missing shards and
/// another merge finish the job. Idempotent. `_lock` is the folder's lock
/// ([`crate::shard::lock_output`] with no shard): no shard runs meanwhile.
pub fn merge(out: &Path, _lock: &OutputLock) -> Result<MergeReport, MergeError> {
    let manifest = out.join(MANIFEST_FILE_NAME);
    let has_parts = !part_files(out)
        .map_err(|error| MergeError::Io {
            action: "read",
            path: out.join(SHARDS_DIR),
            error,
        })?
        .is_empty();
    let rows = Rows::load(out)?;
    if !manifest.is_file() && !has_parts && rows.plans.is_empty() {
        return Err(MergeError::Empty(out.to_path_buf()));
    }
    let ordered = rows.ordered();
    let mut text = Vec::new();
    for entry in &ordered {
        let line = serde_json::to_vec(entry).map_err(|e| MergeError::Io {
            action: "write",
            path: manifest.clone(),
            error: std::io::Error::other(e),
        })?;
        text.extend_from_slice(&line);
        text.push(b'\n');
    }
    write_atomic(&manifest, &text).map_err(|error| MergeError::Io {
        action: "write",
        path: manifest.clone(),
        error,
    })?;
    let mut report = MergeReport {
        rows: ordered.len(),
        failed: ordered.iter().filter(|e| e.status == Status::Error).count(),
        settings: rows.settings(),
        missing_shards: rows.missing_shards(),
        torn: rows.torn,
        plan_problems: rows.plan_problems.clone(),
        ..MergeReport::default()
    };
    for plan in &rows.plans {
        for input in &plan.inputs {
            if rows.row_for(plan, input).is_none() {
                report.unfinished.push((plan.shard, input.clone()));
            }
        }
    }
    report.leftovers = remove_temp_leftovers(out);
    if report.complete() {
        report.removed_records = remove_records(&out.join(SHARDS_DIR));
    }
    Ok(report)
}

/// Removes the shard records (parts, plans, locks) and then the folder if
/// nothing else is in it; whether the folder is gone.
fn remove_records(dir: &Path) -> bool {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return !dir.exists();
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let ours = name.to_str().and_then(parse_record_name).is_some();
        if ours && entry.file_type().is_ok_and(|t| t.is_file()) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
    std::fs::remove_dir(dir).is_ok()
}

/// Progress of one shard, for [`status`].
#[derive(Debug, Clone, PartialEq)]
pub struct ShardStatus {
    /// The shard.
    pub shard: Shard,
    /// Inputs assigned to it (0 when it never ran).
    pub inputs: usize,
    /// Of them, with an `ok` (or `skipped`) current row.
    pub done: usize,
    /// Of them, with an `error` current row.
    pub failed: usize,
    /// Whether it runs now, ended, or never ran.
    pub state: RunState,
}

impl ShardStatus {
    /// Inputs with no row yet.
    pub fn remaining(&self) -> usize {
        self.inputs.saturating_sub(self.done + self.failed)
    }
}

/// Whether a shard runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunState {
    /// Its lock file names a live process (`pid N on host H`); on another
    /// host kurz cannot check, and says so.
    Running(String),
    /// Its lock file names a process of this host that is gone (killed).
    Killed(String),
    /// It ran and ended.
    Ended,
    /// No plan: it never ran (or not since the last complete merge).
    NeverRan,
}

impl std::fmt::Display for RunState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RunState::Running(h) => write!(f, "running ({h})"),
            RunState::Killed(h) => write!(f, "killed ({h} is gone)"),
            RunState::Ended => f.write_str("ended"),
            RunState::NeverRan => f.write_str("never ran"),
        }
    }
}

/// What [`status`] found.
#[derive(Debug, Clone)]
pub struct StatusReport {
    /// One line per shard of every split seen, by N then K.
    pub shards: Vec<ShardStatus>,
    /// Current rows in all manifests (every input and setting).
    pub rows: usize,
    /// Of them, `error` rows.
    pub failed_rows: usize,
    /// Inputs finished (ok or error) per hour since the earliest plan
    /// started, when that can be told.
    pub per_hour: Option<f64>,
    /// Seconds until the remaining inputs are done at that rate.
    pub eta_seconds: Option<f64>,
    /// Plans that could not be used, each a message naming its file (their
    /// shards show as never ran).
    pub plan_problems: Vec<String>,
}

/// Reads `out`'s manifests and plans, never writing anything (not even a
/// lock): done / failed / remaining per shard and in total, the rate and
/// the time left. `now` is the current time in Unix seconds.
pub fn status(out: &Path, now: i64) -> Result<StatusReport, MergeError> {
    let rows = Rows::load(out)?;
    let mut shards = Vec::new();
    for plan in &rows.plans {
        let (mut done, mut failed) = (0, 0);
        for input in &plan.inputs {
            match rows.row_for(plan, input).map(|e| e.status) {
                Some(Status::Ok | Status::Skipped) => done += 1,
                Some(Status::Error) => failed += 1,
                None => {}
            }
        }
        shards.push(ShardStatus {
            shard: plan.shard,
            inputs: plan.inputs.len(),
            done,
            failed,
            state: run_state(out, plan.shard),
        });
    }
    // Shards that hold their lock but have not written a plan yet (they
    // are starting), then the ones of those splits that never ran.
    let mut seen: std::collections::HashSet<Shard> = rows.plans.iter().map(|p| p.shard).collect();
    for shard in lock_records(out) {
        if seen.insert(shard) {
            shards.push(ShardStatus {
                shard,
                inputs: 0,
                done: 0,
                failed: 0,
                state: run_state(out, shard),
            });
        }
    }
    let mut counts: Vec<u32> = seen.iter().map(|s| s.count).collect();
    counts.sort_unstable();
    counts.dedup();
    for count in counts {
        for index in 1..=count {
            let shard = Shard { index, count };
            if !seen.contains(&shard) {
                shards.push(ShardStatus {
                    shard,
                    inputs: 0,
                    done: 0,
                    failed: 0,
                    state: RunState::NeverRan,
                });
            }
        }
    }
    shards.sort_by_key(|s| (s.shard.count, s.shard.index));
    let current: Vec<&ManifestEntry> = rows.ordered();
    let start = rows
        .plans
        .iter()
        .filter_map(|p| parse_rfc3339_utc(&p.started_at))
        .min();
    let finished_since = |start: i64| {
        current
            .iter()
            .filter(|e| e.status != Status::Skipped)
            .filter_map(|e| parse_rfc3339_utc(&e.finished_at))
            .filter(|&t| t >= start)
            .count()
    };
    let remaining: usize = shards.iter().map(ShardStatus::remaining).sum();
    let running = shards
        .iter()
        .any(|s| matches!(s.state, RunState::Running(_)));
    let per_hour = start.and_then(|start| {
        let end = if running {
            now
        } else {
            current
                .iter()
                .filter_map(|e| parse_rfc3339_utc(&e.finished_at))
                .max()
                .unwrap_or(now)
        };
        let hours = (end - start) as f64 / 3600.0;
        let n = finished_since(start);
        (hours > 0.0 && n > 0).then(|| n as f64 / hours)
    });
    let eta_seconds = per_hour
        .filter(|_| remaining > 0)
        .map(|rate| remaining as f64 / rate * 3600.0);
    Ok(StatusReport {
        shards,
        rows: current.len(),
        failed_rows: current.iter().filter(|e| e.status == Status::Error).count(),
        per_hour,
        eta_seconds,
        plan_problems: rows.plan_problems.clone(),
    })
}

/// Shards with a lock file in `out`'s shards folder.
fn lock_records(out: &Path) -> Vec<Shard> {
    let Ok(entries) = std::fs::read_dir(out.join(SHARDS_DIR)) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| {
            let name = e.file_name();
            match name.to_str().and_then(parse_record_name) {
                Some((shard, crate::shard::RecordKind::Lock)) => Some(shard),
                _ => None,
            }
        })
        .collect()
}

/// A shard's state from its lock file (read, never locked).
fn run_state(out: &Path, shard: Shard) -> RunState {
    let path = out.join(SHARDS_DIR).join(crate::shard::lock_name(shard));
    let Ok(text) = std::fs::read_to_string(&path) else {
        return RunState::Ended;
    };
    let Some((pid, host)) = super::lock::parse_holder(&text) else {
        // Created, its holder not written yet: starting.
        return RunState::Running("pid unknown".into());
    };
    let this_host = crate::shard::host_name();
    match host {
        Some(h) if h != this_host => {
            RunState::Running(format!("pid {pid} on host {h}, not checked"))
        }
        _ => {
            let holder = format!("pid {pid} on host {this_host}");
            if Path::new("/proc").join(&pid).exists() {
                RunState::Running(holder)
            } else {
                RunState::Killed(holder)
            }
        }
    }
}

/// Unix seconds of an RFC 3339 UTC timestamp as kurz writes them
/// (`2024-03-12T08:05:09Z`); `None` for anything else.
pub fn parse_rfc3339_utc(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    if b.len() != 20
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
        || b[19] != b'Z'
    {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let s = text.get(r)?;
        s.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| s.parse().ok())?
    };
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hh, mm, ss) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) || hh > 23 || mm > 59 || ss > 60 {
        return None;
    }
    // Howard Hinnant's days_from_civil.
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + hh * 3_600 + mm * 60 + ss)
}

/// Inputs of the report's shards, by shard, for messages.
pub fn by_shard(unfinished: &[(Shard, String)]) -> BTreeMap<Shard, Vec<&str>> {
    let mut map: BTreeMap<Shard, Vec<&str>> = BTreeMap::new();
    for (shard, input) in unfinished {
        map.entry(*shard).or_default().push(input);
    }
    map
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::manifest::{ManifestWriter, ModelRef};
    use crate::shard::{lock_output, part_path, write_plan};
    use serde_json::json;

    fn entry(input: &str, status: Status, at: &str, max_words: u32) -> ManifestEntry {
        ManifestEntry {
            input: input.into(),
            input_sha256: Some("aa".repeat(32)),
            bytes: Some(10),
            language: Some("de".into()),
            title: None,
            output: Some(format!("{input}.en.md")),
            summary: Some(format!("summary of {input}")),
            model: ModelRef {
                file: "m".into(),
                sha256: "bb".repeat(32),
                sha256_from: None,
                kernels: None,
                device: None,
            },
            params: json!({"task": "summarize", "max_words": max_words}),
            prompt_tokens: 1,
            generated_tokens: 1,
            seconds: 1.5,
            prefill_seconds: 1.0,
            decode_seconds: 0.5,
            status,
            error: (status == Status::Error).then(|| format!("{input}: broken")),
            warnings: vec![],
            task: "summarize".into(),
            finished_at: at.into(),
            extra: Default::default(),
        }
    }

    fn append(path: &Path, entries: &[ManifestEntry]) {
        let w = ManifestWriter::open(path).unwrap();
        for e in entries {
            w.append(e).unwrap();
        }
    }

    fn plan(out: &Path, shard: Shard, inputs: &[&str]) {
        write_plan(
            out,
            shard,
            "summarize",
            inputs.iter().map(|s| s.to_string()).collect(),
            None,
        )
        .unwrap();
    }

    const T1: &str = "2026-01-01T10:00:00Z";
    const T2: &str = "2026-01-01T10:00:05Z";
    const T3: &str = "2026-01-01T10:01:00Z";

    #[test]
    fn merge_takes_the_latest_outcome_in_input_order_and_cleans_up() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path();
        let (s1, s2) = (Shard { index: 1, count: 2 }, Shard { index: 2, count: 2 });
        plan(out, s1, &["b.txt", "a.txt"]);
        plan(out, s2, &["c.txt"]);
        append(
            &part_path(out, s1),
            &[
                entry("b.txt", Status::Error, T1, 60),
                entry("b.txt", Status::Ok, T2, 60),
                entry("a.txt", Status::Ok, T1, 60),
                // A rerun's skipped row does not hide the ok row.
                entry("a.txt", Status::Skipped, T3, 60),
            ],
        );
        append(
            &part_path(out, s2),
            &[entry("c.txt", Status::Error, T2, 60)],
        );
        let lock = lock_output(out, None).unwrap();
        let report = merge(out, &lock).unwrap();
        assert!(report.complete(), "{report:?}");
        assert!(report.removed_records);
        assert_eq!((report.rows, report.failed, report.settings), (3, 1, 1));
        assert!(!out.join(SHARDS_DIR).exists());
        let text = std::fs::read_to_string(out.join(MANIFEST_FILE_NAME)).unwrap();
        let rows: Vec<ManifestEntry> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let view: Vec<(&str, Status)> = rows.iter().map(|r| (r.input.as_str(), r.status)).collect();
        assert_eq!(
            view,
            [
                ("a.txt", Status::Ok),
                ("b.txt", Status::Ok),
                ("c.txt", Status::Error)
            ]
        );
        assert_eq!(rows[0].finished_at, T1, "the ok row, not the skipped one");
        // Idempotent: byte for byte.
        let again = merge(out, &lock).unwrap();
        assert_eq!(again.rows, 3);
        assert_eq!(
            std::fs::read_to_string(out.join(MANIFEST_FILE_NAME)).unwrap(),
            text
        );
    }

    #[test]
    fn merge_reports_unfinished_inputs_missing_shards_and_settings() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path();
        let s1 = Shard { index: 1, count: 3 };
        plan(out, s1, &["a.txt", "b.txt"]);
        append(
            &part_path(out, s1),
            &[
                entry("a.txt", Status::Ok, T1, 60),
                entry("a.txt", Status::Ok, T2, 90),
            ],
        );
        let lock = lock_output(out, None).unwrap();
        let report = merge(out, &lock).unwrap();
        assert!(!report.complete());
        assert_eq!(report.unfinished, vec![(s1, "b.txt".to_string())]);
        assert_eq!(
            report.missing_shards,
            vec![Shard { index: 2, count: 3 }, Shard { index: 3, count: 3 }]
        );
        // Two settings (max_words 60 and 90): both kept, in the order they ran.
        assert_eq!((report.rows, report.settings), (2, 2));
        let text = std::fs::read_to_string(out.join(MANIFEST_FILE_NAME)).unwrap();
        let words: Vec<u64> = text
            .lines()
            .map(|l| {
                serde_json::from_str::<ManifestEntry>(l).unwrap().params["max_words"]
                    .as_u64()
                    .unwrap()
            })
            .collect();
        assert_eq!(words, [60, 90]);
        assert!(out.join(SHARDS_DIR).exists(), "kept until complete");
        // Nothing at all: an error naming the folder.
        let empty = tempfile::tempdir().unwrap();
        let lock = lock_output(empty.path(), None).unwrap();
        let err = merge(empty.path(), &lock).unwrap_err();
        assert!(err.to_string().contains("holds no manifest.jsonl"), "{err}");
    }

    #[test]
    fn merge_refuses_while_a_shard_runs() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path();
        let s = Shard { index: 2, count: 4 };
        let held = lock_output(out, Some(s)).unwrap();
        let err = lock_output(out, None).unwrap_err();
        assert!(
            err.to_string().contains("is in use by shard 2/4 (pid "),
            "{err}"
        );
        // And a shard refuses while the folder is locked.
        drop(held);
        let folder = lock_output(out, None).unwrap();
        let err = lock_output(out, Some(s)).unwrap_err();
        assert!(
            err.to_string()
                .contains("is in use by another kurz run (pid "),
            "{err}"
        );
        drop(folder);
    }

    #[test]
    fn status_counts_per_shard_and_reads_only() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path();
        let (s1, s2) = (Shard { index: 1, count: 2 }, Shard { index: 2, count: 2 });
        plan(out, s1, &["a.txt", "b.txt", "c.txt"]);
        append(
            &part_path(out, s1),
            &[
                entry("a.txt", Status::Ok, T3, 60),
                entry("b.txt", Status::Error, T3, 60),
            ],
        );
        let before: Vec<_> = std::fs::read_dir(out.join(SHARDS_DIR))
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        let now = parse_rfc3339_utc(T3).unwrap();
        let report = status(out, now).unwrap();
        let after: Vec<_> = std::fs::read_dir(out.join(SHARDS_DIR))
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert_eq!(before.len(), after.len(), "status writes nothing");
        assert_eq!(report.shards.len(), 2);
        let one = &report.shards[0];
        assert_eq!(
            (one.inputs, one.done, one.failed, one.remaining()),
            (3, 1, 1, 1)
        );
        assert_eq!(one.state, RunState::Ended);
        assert_eq!(report.shards[1].shard, s2);
        assert_eq!(report.shards[1].state, RunState::NeverRan);
        assert_eq!(report.rows, 2);
        // Two finished since the plan started (now-ish), so a rate exists.
        assert!(report.per_hour.is_some() || report.eta_seconds.is_none());
    }

    /// Every file under `root` (relative path, bytes), symlinks as their
    /// target.
    fn tree(root: &Path) -> Vec<(PathBuf, Vec<u8>)> {
        let mut all = Vec::new();
        let mut stack = vec![root.to_path_buf()];
        while let Some(dir) = stack.pop() {
            for e in std::fs::read_dir(&dir).unwrap().flatten() {
                let t = e.file_type().unwrap();
                let rel = e.path().strip_prefix(root).unwrap().to_path_buf();
                if t.is_dir() {
                    stack.push(e.path());
                } else if t.is_symlink() {
                    let target = std::fs::read_link(e.path()).unwrap();
                    all.push((rel, target.into_os_string().into_encoded_bytes()));
                } else {
                    all.push((rel, std::fs::read(e.path()).unwrap()));
                }
            }
        }
        all.sort();
        all
    }

    /// Plans and rows with hostile values (path-like and absolute input
    /// names and outputs, control characters, garbage timestamps): merge
    /// and status neither fail nor touch anything outside the folder; the
    /// names are carried as data.
    #[test]
    fn hostile_plans_and_rows_stay_inside_the_folder() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        std::fs::create_dir(&out).unwrap();
        std::fs::write(dir.path().join("victim.md"), "keep").unwrap();
        let s1 = Shard { index: 1, count: 2 };
        let names = ["../../etc/passwd", "/etc/shadow", "\u{1b}[2J\u{202e}x"];
        plan(&out, s1, &names);
        let mut rows = vec![
            entry("../../etc/passwd", Status::Ok, "garbage", 60),
            entry("/etc/shadow", Status::Ok, "", 60),
            entry(
                "\u{1b}[2J\u{202e}x",
                Status::Error,
                "9999-99-99T99:99:99Z",
                60,
            ),
        ];
        rows[0].output = Some("../victim.md".into());
        let victim = dir.path().join("victim.md").display().to_string();
        rows[1].output = Some(victim);
        append(&part_path(&out, s1), &rows);
        let outside_before = tree(dir.path())
            .into_iter()
            .filter(|(p, _)| !p.starts_with("out"))
            .collect::<Vec<_>>();
        let now = parse_rfc3339_utc(T3).unwrap();
        let report = status(&out, now).unwrap();
        assert_eq!(report.shards.len(), 2);
        assert_eq!((report.shards[0].done, report.shards[0].failed), (2, 1));
        // No row finished at a readable time: no rate.
        assert_eq!(report.per_hour, None);
        let lock = lock_output(&out, None).unwrap();
        let merged = merge(&out, &lock).unwrap();
        assert_eq!((merged.rows, merged.failed), (3, 1));
        assert!(merged.unfinished.is_empty());
        assert_eq!(merged.missing_shards, vec![Shard { index: 2, count: 2 }]);
        let text = std::fs::read_to_string(out.join(MANIFEST_FILE_NAME)).unwrap();
        let inputs: Vec<String> = text
            .lines()
            .map(|l| serde_json::from_str::<ManifestEntry>(l).unwrap().input)
            .collect();
        let mut expected: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        expected.sort();
        let mut got = inputs.clone();
        got.sort();
        assert_eq!(got, expected);
        drop(lock);
        let outside_after = tree(dir.path())
            .into_iter()
            .filter(|(p, _)| !p.starts_with("out"))
            .collect::<Vec<_>>();
        assert_eq!(outside_before, outside_after);
    }

    /// A plan of a 100,000-shard split (the most there may be) is read in
    /// reasonable time: status lists every shard, merge names the missing
    /// ones (the command prints only the first few).
    #[test]
    fn a_plan_of_the_largest_split_is_handled() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path();
        let max = crate::shard::MAX_SHARDS;
        plan(
            out,
            Shard {
                index: max,
                count: max,
            },
            &["a.txt"],
        );
        let report = status(out, 0).unwrap();
        assert_eq!(report.shards.len(), max as usize);
        assert_eq!(report.shards.last().unwrap().inputs, 1);
        let lock = lock_output(out, None).unwrap();
        let merged = merge(out, &lock).unwrap();
        assert_eq!(merged.missing_shards.len(), max as usize - 1);
        assert_eq!(merged.unfinished.len(), 1);
    }

    /// Status says which plans it could not use.
    #[test]
    fn status_reports_plan_problems() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path();
        std::fs::create_dir(out.join(SHARDS_DIR)).unwrap();
        std::fs::write(
            out.join(SHARDS_DIR).join("1-of-1.plan.json"),
            "{\"shard\": 1}",
        )
        .unwrap();
        let report = status(out, 0).unwrap();
        assert_eq!(report.plan_problems.len(), 1);
        assert!(
            report.plan_problems[0].contains("1-of-1.plan.json: invalid type"),
            "{:?}",
            report.plan_problems
        );
    }

    #[test]
    fn timestamps_parse_back() {
        for t in [0i64, 951_868_799, 1_710_230_709, 4_102_444_800] {
            assert_eq!(
                parse_rfc3339_utc(&super::super::format_rfc3339_utc(t)),
                Some(t)
            );
        }
        for bad in [
            "",
            "2024-13-01T00:00:00Z",
            "2024-03-12 08:05:09Z",
            "2024-03-12T08:05:09+01:00",
        ] {
            assert_eq!(parse_rfc3339_utc(bad), None, "{bad}");
        }
    }
}
