//! Sharded runs: which inputs shard K of N processes (`--shard K/N`), and
//! where the shards of one output folder keep their records.
//!
//! The assignment is a pure function of N and the input's *key*: its
//! display path relative to the command-line argument it was found under
//! (see [`shard_key`]). The key's SHA-256, read as a number, modulo N picks
//! the shard. So every shard computes its share alone, on any machine, at
//! any time; adding or removing files moves no other input; and `kurz
//! summarize archive/` and `kurz summarize /mnt/archive/` split alike. One
//! file that yields several inputs (`feed.xml#item-7`) splits by item.
//!
//! Balance is that of a random split: with M inputs the shards hold M/N
//! each, give or take about sqrt(M/N) (1% of 5,000 inputs per shard, 8% of
//! 156); the unit tests bound it over 10,000 synthetic paths.
//!
//! `--shard auto` reads the engine's variables ([`ShardSpec::resolve`]):
//! Slurm job arrays (`SLURM_ARRAY_TASK_ID`, `SLURM_ARRAY_TASK_MIN`,
//! `SLURM_ARRAY_TASK_COUNT`, `SLURM_ARRAY_TASK_STEP`) and Kubernetes
//! Indexed Jobs (`JOB_COMPLETION_INDEX`, with the count from `--shard
//! auto/N` or [`SHARD_COUNT_VAR`]).
//!
//! # Layout of a sharded output folder
//!
//! Results go where an unsharded run puts them. Each shard keeps its own
//! records in [`SHARDS_DIR`] (`<out>/.kurz-shards/`), so no two machines
//! ever append to one file (unsafe on NFS and Lustre):
//!
//! - `K-of-N.jsonl`: the shard's manifest part (lines as in `manifest.jsonl`);
//! - `K-of-N.plan.json`: the inputs assigned to it (see [`ShardPlan`]),
//!   written when it starts;
//! - `K-of-N.lock`: its lock while it runs.
//!
//! `kurz merge` folds the parts into `manifest.jsonl` and, once every
//! shard has run and every input has a result, removes the folder.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::input::{escape_name, InputItem};
use crate::output::{LockError, OutputLock, LOCK_FILE_NAME};

/// Folder inside the output folder that holds the shards' manifest parts,
/// plans and locks.
pub const SHARDS_DIR: &str = ".kurz-shards";

/// Folder inside the output folder where `kurz slurm` keeps the sbatch
/// script it submitted and the tasks' logs.
pub const SLURM_DIR: &str = ".kurz-slurm";

/// Environment variable giving the shard count to `--shard auto` under a
/// Kubernetes Indexed Job (set it to the Job's `completions`).
pub const SHARD_COUNT_VAR: &str = "KURZ_SHARD_COUNT";

/// Most shards a run may be split into.
pub const MAX_SHARDS: u32 = 100_000;

/// One shard of a split: `index` of `count`, 1-based.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Shard {
    /// Which shard, 1..=count.
    pub index: u32,
    /// How many shards.
    pub count: u32,
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// Why a `--shard` value cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShardError {
    /// Not `K/N`, `auto` or `auto/N`.
    #[error("--shard `{0}` is not K/N (e.g. 2/8), auto or auto/N")]
    Syntax(String),
    /// N is 0 or too large.
    #[error("--shard `{text}`: the shard count must be between 1 and {MAX_SHARDS}")]
    Count {
        /// The value given.
        text: String,
    },
    /// K is not in 1..=N.
    #[error("--shard `{text}`: shards are numbered from 1 to {count}")]
    Index {
        /// The value given.
        text: String,
        /// N.
        count: u32,
    },
    /// `auto` without any engine's variables.
    #[error(
        "--shard auto: no shard index in the environment (SLURM_ARRAY_TASK_ID of a Slurm job \
         array, or JOB_COMPLETION_INDEX of a Kubernetes Indexed Job); give --shard K/N"
    )]
    NoEngine,
    /// `auto` under Kubernetes without a count.
    #[error(
        "--shard auto: JOB_COMPLETION_INDEX is set but not the shard count; give --shard auto/N \
         or set {SHARD_COUNT_VAR} to the Job's completions"
    )]
    NoCount,
    /// An engine variable is malformed or inconsistent.
    #[error("--shard auto: {variable}={value:?} {problem}")]
    Variable {
        /// The variable.
        variable: &'static str,
        /// Its value (escaped when shown).
        value: String,
        /// What is wrong with it.
        problem: String,
    },
}

/// A parsed `--shard` value, before the environment is consulted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShardSpec {
    /// `K/N`.
    Fixed(Shard),
    /// `auto` (count from the engine) or `auto/N`.
    Auto(Option<u32>),
}

impl ShardSpec {
    /// Parses `K/N`, `auto` or `auto/N` (spaces around the parts allowed).
    pub fn parse(text: &str) -> Result<Self, ShardError> {
        let syntax = || ShardError::Syntax(text.to_string());
        let (left, right) = match text.split_once('/') {
            Some((l, r)) => (l.trim(), Some(r.trim())),
            None => (text.trim(), None),
        };
        let count = right
            .map(|r| parse_count(r, text).ok_or_else(syntax).and_then(|c| c))
            .transpose()?;
        if left.eq_ignore_ascii_case("auto") {
            return Ok(ShardSpec::Auto(count));
        }
        let count = count.ok_or_else(syntax)?;
        let index: u64 = digits(left).ok_or_else(syntax)?;
        if index == 0 || index > u64::from(count) {
            return Err(ShardError::Index {
                text: text.to_string(),
                count,
            });
        }
        Ok(ShardSpec::Fixed(Shard {
            index: index as u32,
            count,
        }))
    }

    /// The shard this process is, reading `auto`'s variables through `env`
    /// (`std::env::var` in the binary; a map in tests).
    ///
    /// Slurm: with `auto`, the array must be the whole split (K =
    /// (ID − MIN) / STEP + 1, N = COUNT); with `auto/N`, the array task ids
    /// are the shard numbers 1..=N (as `kurz slurm` submits them), so one
    /// task can be resubmitted alone (`sbatch --array=K`). Kubernetes: K =
    /// `JOB_COMPLETION_INDEX` + 1, N from `auto/N` or [`SHARD_COUNT_VAR`].
    pub fn resolve(self, env: impl Fn(&str) -> Option<String>) -> Result<Shard, ShardError> {
        let count = match self {
            ShardSpec::Fixed(shard) => return Ok(shard),
            ShardSpec::Auto(count) => count,
        };
        if let Some(id) = env("SLURM_ARRAY_TASK_ID") {
            return slurm_shard(&id, count, &env);
        }
        if let Some(index) = env("JOB_COMPLETION_INDEX") {
            let count = match count {
                Some(c) => c,
                None => {
                    let value = env(SHARD_COUNT_VAR).ok_or(ShardError::NoCount)?;
                    env_number(SHARD_COUNT_VAR, &value)
                        .filter(|c| (1..=u64::from(MAX_SHARDS)).contains(c))
                        .ok_or_else(|| bad(SHARD_COUNT_VAR, &value, "is not a shard count"))?
                        as u32
                }
            };
            let n = env_number("JOB_COMPLETION_INDEX", &index)
                .ok_or_else(|| bad("JOB_COMPLETION_INDEX", &index, "is not a number"))?;
            return checked("JOB_COMPLETION_INDEX", &index, n + 1, count);
        }
        Err(ShardError::NoEngine)
    }
}

fn slurm_shard(
    id: &str,
    count: Option<u32>,
    env: &impl Fn(&str) -> Option<String>,
) -> Result<Shard, ShardError> {
    let task = env_number("SLURM_ARRAY_TASK_ID", id)
        .ok_or_else(|| bad("SLURM_ARRAY_TASK_ID", id, "is not a number"))?;
    if let Some(count) = count {
        return checked("SLURM_ARRAY_TASK_ID", id, task, count);
    }
    let read = |name: &'static str| -> Result<u64, ShardError> {
        let value = env(name).ok_or_else(|| bad(name, "", "is not set"))?;
        env_number(name, &value).ok_or_else(|| bad(name, &value, "is not a number"))
    };
    let min = read("SLURM_ARRAY_TASK_MIN")?;
    let count = read("SLURM_ARRAY_TASK_COUNT")?;
    let step = match env("SLURM_ARRAY_TASK_STEP") {
        Some(v) => env_number("SLURM_ARRAY_TASK_STEP", &v)
            .filter(|&s| s > 0)
            .ok_or_else(|| bad("SLURM_ARRAY_TASK_STEP", &v, "is not a positive number"))?,
        None => 1,
    };
    if count == 0 || count > u64::from(MAX_SHARDS) {
        return Err(bad(
            "SLURM_ARRAY_TASK_COUNT",
            &count.to_string(),
            "is not a shard count",
        ));
    }
    if task < min || (task - min) % step != 0 {
        return Err(bad(
            "SLURM_ARRAY_TASK_ID",
            id,
            &format!("is not in the array {min}..(step {step}); give --shard auto/N"),
        ));
    }
    checked(
        "SLURM_ARRAY_TASK_ID",
        id,
        (task - min) / step + 1,
        count as u32,
    )
}

/// `Shard { index, count }` when `index` is in 1..=count.
fn checked(
    variable: &'static str,
    value: &str,
    index: u64,
    count: u32,
) -> Result<Shard, ShardError> {
    if (1..=u64::from(count)).contains(&index) {
        Ok(Shard {
            index: index as u32,
            count,
        })
    } else {
        Err(bad(
            variable,
            value,
            &format!("gives shard {index}, not one of 1 to {count}"),
        ))
    }
}

fn bad(variable: &'static str, value: &str, problem: &str) -> ShardError {
    ShardError::Variable {
        variable,
        value: value.chars().take(40).collect(),
        problem: problem.to_string(),
    }
}

/// A count 1..=[`MAX_SHARDS`]; `None` when not a number at all.
fn parse_count(text: &str, whole: &str) -> Option<Result<u32, ShardError>> {
    let n = digits(text)?;
    Some(if (1..=u64::from(MAX_SHARDS)).contains(&n) {
        Ok(n as u32)
    } else {
        Err(ShardError::Count {
            text: whole.to_string(),
        })
    })
}

/// A decimal number of ASCII digits only (at most 9 of them, beyond any
/// shard count).
fn digits(text: &str) -> Option<u64> {
    (!text.is_empty() && text.len() <= 9 && text.bytes().all(|b| b.is_ascii_digit()))
        .then(|| text.parse().ok())
        .flatten()
}

fn env_number(_variable: &str, value: &str) -> Option<u64> {
    digits(value.trim())
}

/// The shard (1..=count) an input with this key belongs to.
pub fn shard_of(key: &str, count: u32) -> u32 {
    let digest = Sha256::digest(key.as_bytes());
    let mut head = [0u8; 8];
    head.copy_from_slice(&digest[..8]);
    (u64::from_be_bytes(head) % u64::from(count.max(1))) as u32 + 1
}

/// The key an input is assigned by: its display path relative to the
/// argument (file or folder) it came from, as given in `args`.
///
/// For a folder argument that is the path below the folder (`2020/a.txt`
/// for `archive/2020/a.txt` found under `archive/`); for a file argument
/// its name, with any `#item` suffix of a feed entry (`feed.xml#item-7`);
/// standard input is `-`. An input under no argument (which discovery does
/// not produce) keys by its whole display path.
pub fn shard_key(display: &str, args: &[PathBuf]) -> String {
    let cwd = std::env::current_dir().ok();
    let mut best: Option<String> = None;
    for arg in args {
        let shown = arg_display(arg, cwd.as_deref());
        if let Some(key) = relative_key(display, &shown) {
            // The innermost argument wins (`a/` and `a/b/` both given).
            if best.as_ref().is_none_or(|b| key.len() < b.len()) {
                best = Some(key);
            }
        }
    }
    best.unwrap_or_else(|| display.to_string())
}

/// `display` relative to an argument shown as `arg`, if it lies under it.
fn relative_key(display: &str, arg: &str) -> Option<String> {
    let arg = arg.trim_end_matches('/');
    if arg.is_empty() || arg == "." {
        return Some(display.strip_prefix("./").unwrap_or(display).to_string());
    }
    if let Some(rest) = display.strip_prefix(arg) {
        if let Some(below) = rest.strip_prefix('/') {
            return Some(below.to_string());
        }
        if rest.is_empty() || rest.starts_with('#') {
            // The argument is the file itself: key by its name.
            let name = arg.rsplit('/').next().unwrap_or(arg);
            return Some(format!("{name}{rest}"));
        }
    }
    None
}

/// An argument as discovery shows paths: relative to `cwd` when absolute
/// and under it, `/`-separated, escaped.
fn arg_display(arg: &Path, cwd: Option<&Path>) -> String {
    let shown = match cwd {
        Some(cwd) if arg.is_absolute() => arg.strip_prefix(cwd).unwrap_or(arg),
        _ => arg,
    };
    let text = escape_name(shown.as_os_str());
    if std::path::MAIN_SEPARATOR == '/' {
        text
    } else {
        text.replace(std::path::MAIN_SEPARATOR, "/")
    }
}

/// The inputs of `shard`, in their order, given the command-line `args`
/// they were discovered from.
pub fn select(inputs: Vec<InputItem>, args: &[PathBuf], shard: Shard) -> Vec<InputItem> {
    inputs
        .into_iter()
        .filter(|item| shard_of(&shard_key(&item.display, args), shard.count) == shard.index)
        .collect()
}

/// Locks output folder `out` for a run: an unsharded run (`shard` `None`)
/// or a merge takes the folder's lock and checks that no shard runs; a
/// shard takes its own lock and checks that no unsharded run holds the
/// folder. So the shards of one split run together, while the same shard
/// twice, or shards beside an unsharded run, are refused (exit 1).
pub fn lock_output(out: &Path, shard: Option<Shard>) -> Result<OutputLock, LockError> {
    let io = |error| LockError::Io {
        dir: out.to_path_buf(),
        error,
    };
    let shards_dir = out.join(SHARDS_DIR);
    match shard {
        None => {
            let lock = OutputLock::acquire(out)?;
            if let Some((shard, holder)) = running_shard(&shards_dir).map_err(io)? {
                return Err(LockError::ShardsRunning {
                    dir: out.to_path_buf(),
                    shard: shard.to_string(),
                    holder,
                });
            }
            Ok(lock)
        }
        Some(shard) => {
            let lock =
                OutputLock::acquire_named(out, &shards_dir, &lock_name(shard), &shard.to_string())?;
            if let Some(holder) = OutputLock::probe(out, LOCK_FILE_NAME).map_err(io)? {
                let pid = holder
                    .strip_prefix("pid ")
                    .and_then(|h| h.split(' ').next())
                    .unwrap_or("unknown")
                    .to_string();
                return Err(LockError::InUse {
                    dir: out.to_path_buf(),
                    pid,
                });
            }
            Ok(lock)
        }
    }
}

/// The first shard whose lock in `shards_dir` is held, and its holder.
fn running_shard(shards_dir: &Path) -> std::io::Result<Option<(Shard, String)>> {
    let entries = match std::fs::read_dir(shards_dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let mut locks: Vec<(Shard, String)> = Vec::new();
    for entry in entries {
        let name = entry?.file_name();
        if let Some((shard, RecordKind::Lock)) = name.to_str().and_then(parse_record_name) {
            locks.push((shard, lock_name(shard)));
        }
    }
    locks.sort();
    for (shard, name) in locks {
        if let Some(holder) = OutputLock::probe(shards_dir, &name)? {
            return Ok(Some((shard, holder)));
        }
    }
    Ok(None)
}

/// File name stem of a shard's records: `K-of-N`.
pub fn record_stem(shard: Shard) -> String {
    format!("{}-of-{}", shard.index, shard.count)
}

/// Path of a shard's manifest part: `<out>/.kurz-shards/K-of-N.jsonl`.
pub fn part_path(out: &Path, shard: Shard) -> PathBuf {
    out.join(SHARDS_DIR)
        .join(format!("{}.jsonl", record_stem(shard)))
}

/// Path of a shard's plan: `<out>/.kurz-shards/K-of-N.plan.json`.
pub fn plan_path(out: &Path, shard: Shard) -> PathBuf {
    out.join(SHARDS_DIR)
        .join(format!("{}.plan.json", record_stem(shard)))
}

/// File name of a shard's lock inside [`SHARDS_DIR`]: `K-of-N.lock`.
pub fn lock_name(shard: Shard) -> String {
    format!("{}.lock", record_stem(shard))
}

/// The shard a record's file name (`K-of-N.jsonl`, `K-of-N.plan.json`,
/// `K-of-N.lock`) belongs to and which kind of record it is.
pub fn parse_record_name(name: &str) -> Option<(Shard, RecordKind)> {
    let (stem, kind) = if let Some(s) = name.strip_suffix(".plan.json") {
        (s, RecordKind::Plan)
    } else if let Some(s) = name.strip_suffix(".jsonl") {
        (s, RecordKind::Part)
    } else if let Some(s) = name.strip_suffix(".lock") {
        (s, RecordKind::Lock)
    } else {
        return None;
    };
    let (k, n) = stem.split_once("-of-")?;
    let (index, count) = (digits(k)?, digits(n)?);
    let valid = (1..=u64::from(MAX_SHARDS)).contains(&count) && (1..=count).contains(&index);
    valid.then_some((
        Shard {
            index: index as u32,
            count: count as u32,
        },
        kind,
    ))
}

/// The kinds of files a shard keeps in [`SHARDS_DIR`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordKind {
    /// `K-of-N.jsonl`.
    Part,
    /// `K-of-N.plan.json`.
    Plan,
    /// `K-of-N.lock`.
    Lock,
}

/// What a shard was given to do, written when it starts
/// (`K-of-N.plan.json`), read by `kurz merge` and `kurz status`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShardPlan {
    /// The shard.
    pub shard: Shard,
    /// `summarize` or `translate`.
    pub task: String,
    /// Display paths of its inputs, in processing order.
    pub inputs: Vec<String>,
    /// When the run started (RFC 3339 UTC).
    pub started_at: String,
    /// Where it ran: `pid@host`.
    pub runner: String,
    /// SHA-256 of its model (absent when nothing was assigned to it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_sha256: Option<String>,
    /// Its params, as in its manifest lines (absent when nothing was
    /// assigned to it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub params: Option<serde_json::Value>,
}

/// Writes shard `shard`'s plan (its task, the display paths of its inputs
/// and, when known, its model's SHA-256 and params) atomically into the
/// shards folder of `out`.
pub fn write_plan(
    out: &Path,
    shard: Shard,
    task: &str,
    inputs: Vec<String>,
    setting: Option<(String, serde_json::Value)>,
) -> std::io::Result<()> {
    let (model_sha256, params) = setting.unzip();
    let plan = ShardPlan {
        shard,
        task: task.to_string(),
        inputs,
        started_at: crate::output::now_rfc3339(),
        runner: runner_id(),
        model_sha256,
        params,
    };
    let mut text = serde_json::to_vec_pretty(&plan).map_err(std::io::Error::other)?;
    text.push(b'\n');
    crate::output::write_atomic(&plan_path(out, shard), &text)
}

/// Largest plan file read (64 MiB). A plan lists one display path per
/// input (a few hundred bytes each), so this allows well over 100,000
/// inputs per shard; a larger one is refused as a problem, not read.
pub const MAX_PLAN_BYTES: u64 = 64 << 20;

/// Reads a plan file without following a symlink (not even one swapped in
/// after the folder was listed) and without blocking on a FIFO: only a
/// regular file of at most [`MAX_PLAN_BYTES`] is read. The error is a
/// message for the user (the caller names the file).
fn read_plan_file(path: &Path) -> Result<Vec<u8>, String> {
    use std::io::Read;
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC);
    }
    let not_regular = || "is not a regular file (kurz never follows symlinks in .kurz-shards/)";
    let file = options.open(path).map_err(|e| {
        #[cfg(target_os = "linux")]
        if e.raw_os_error() == Some(libc::ELOOP) {
            return not_regular().to_string();
        }
        e.to_string()
    })?;
    let meta = file.metadata().map_err(|e| e.to_string())?;
    if !meta.is_file() {
        return Err(not_regular().into());
    }
    let too_large = || {
        format!(
            "is larger than {} (plans over that size are refused)",
            crate::input::human_size(MAX_PLAN_BYTES)
        )
    };
    if meta.len() > MAX_PLAN_BYTES {
        return Err(too_large());
    }
    let mut bytes = Vec::new();
    file.take(MAX_PLAN_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| e.to_string())?;
    if bytes.len() as u64 > MAX_PLAN_BYTES {
        return Err(too_large());
    }
    Ok(bytes)
}

/// Reads the plans in `out`'s shards folder. A plan that cannot be used
/// (a symlink or other non-regular file, over [`MAX_PLAN_BYTES`], not a
/// plan, or naming another shard than its file name) is returned as a
/// message naming its file.
pub fn read_plans(out: &Path) -> std::io::Result<(Vec<ShardPlan>, Vec<String>)> {
    let dir = out.join(SHARDS_DIR);
    let entries = match std::fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((Vec::new(), Vec::new())),
        Err(e) => return Err(e),
    };
    let mut plans = Vec::new();
    let mut problems = Vec::new();
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name();
        let Some((shard, RecordKind::Plan)) = name.to_str().and_then(parse_record_name) else {
            continue;
        };
        let parsed = read_plan_file(&entry.path())
            .and_then(|b| serde_json::from_slice::<ShardPlan>(&b).map_err(|e| e.to_string()));
        match parsed {
            Ok(plan) if plan.shard == shard => plans.push(plan),
            Ok(_) => problems.push(format!(
                "{}: names another shard than its file name",
                entry.path().display()
            )),
            Err(e) => problems.push(format!("{}: {e}", entry.path().display())),
        }
    }
    plans.sort_by_key(|p| (p.shard.count, p.shard.index));
    Ok((plans, problems))
}

/// `pid@host` of this process, for plans and lock messages.
pub fn runner_id() -> String {
    format!("{}@{}", std::process::id(), host_name())
}

/// This machine's host name (`unknown` when it cannot be read).
pub fn host_name() -> String {
    #[cfg(unix)]
    {
        let mut buf = [0u8; 256];
        // SAFETY: the buffer is valid for its length; gethostname writes at
        // most that many bytes.
        let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
        if rc == 0 {
            let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
            let name = String::from_utf8_lossy(&buf[..end]).into_owned();
            if !name.is_empty() {
                return name;
            }
        }
    }
    "unknown".to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn fixed_specs_parse_and_bad_ones_say_why() {
        assert_eq!(
            ShardSpec::parse("2/8"),
            Ok(ShardSpec::Fixed(Shard { index: 2, count: 8 }))
        );
        assert_eq!(
            ShardSpec::parse(" 1 / 1 "),
            Ok(ShardSpec::Fixed(Shard { index: 1, count: 1 }))
        );
        assert_eq!(ShardSpec::parse("auto"), Ok(ShardSpec::Auto(None)));
        assert_eq!(ShardSpec::parse("AUTO/16"), Ok(ShardSpec::Auto(Some(16))));
        let msg = |t: &str| ShardSpec::parse(t).unwrap_err().to_string();
        assert_eq!(msg("0/3"), "--shard `0/3`: shards are numbered from 1 to 3");
        assert_eq!(msg("4/3"), "--shard `4/3`: shards are numbered from 1 to 3");
        assert_eq!(
            msg("1/0"),
            "--shard `1/0`: the shard count must be between 1 and 100000"
        );
        assert_eq!(
            msg("abc"),
            "--shard `abc` is not K/N (e.g. 2/8), auto or auto/N"
        );
        for bad in [
            "",
            "/",
            "1/",
            "/3",
            "-1/3",
            "1/-3",
            "1.0/3",
            "1/3/4",
            "auto/x",
            "1/99999999999",
        ] {
            assert!(ShardSpec::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn auto_reads_slurm_arrays() {
        let auto = ShardSpec::Auto(None);
        let slurm = env(&[
            ("SLURM_ARRAY_TASK_ID", "12"),
            ("SLURM_ARRAY_TASK_MIN", "10"),
            ("SLURM_ARRAY_TASK_COUNT", "4"),
        ]);
        assert_eq!(auto.resolve(slurm), Ok(Shard { index: 3, count: 4 }));
        let stepped = env(&[
            ("SLURM_ARRAY_TASK_ID", "4"),
            ("SLURM_ARRAY_TASK_MIN", "0"),
            ("SLURM_ARRAY_TASK_COUNT", "3"),
            ("SLURM_ARRAY_TASK_STEP", "2"),
        ]);
        assert_eq!(auto.resolve(stepped), Ok(Shard { index: 3, count: 3 }));
        // auto/N: the task id is the shard number (one task resubmitted).
        let one = env(&[
            ("SLURM_ARRAY_TASK_ID", "2"),
            ("SLURM_ARRAY_TASK_MIN", "2"),
            ("SLURM_ARRAY_TASK_COUNT", "1"),
        ]);
        assert_eq!(
            ShardSpec::Auto(Some(3)).resolve(&one),
            Ok(Shard { index: 2, count: 3 })
        );
        let err = ShardSpec::Auto(Some(3))
            .resolve(env(&[("SLURM_ARRAY_TASK_ID", "0")]))
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "--shard auto: SLURM_ARRAY_TASK_ID=\"0\" gives shard 0, not one of 1 to 3"
        );
        let err = auto
            .resolve(env(&[
                ("SLURM_ARRAY_TASK_ID", "x"),
                ("SLURM_ARRAY_TASK_MIN", "0"),
            ]))
            .unwrap_err();
        assert!(err
            .to_string()
            .contains("SLURM_ARRAY_TASK_ID=\"x\" is not a number"));
        let err = auto
            .resolve(env(&[("SLURM_ARRAY_TASK_ID", "1")]))
            .unwrap_err();
        assert!(err.to_string().contains("SLURM_ARRAY_TASK_MIN"), "{err}");
    }

    #[test]
    fn auto_reads_kubernetes_indexed_jobs() {
        let k8s = env(&[("JOB_COMPLETION_INDEX", "0"), (SHARD_COUNT_VAR, "5")]);
        assert_eq!(
            ShardSpec::Auto(None).resolve(&k8s),
            Ok(Shard { index: 1, count: 5 })
        );
        assert_eq!(
            ShardSpec::Auto(Some(8)).resolve(&k8s),
            Ok(Shard { index: 1, count: 8 })
        );
        let no_count = env(&[("JOB_COMPLETION_INDEX", "4")]);
        assert_eq!(
            ShardSpec::Auto(None).resolve(&no_count),
            Err(ShardError::NoCount)
        );
        let over = env(&[("JOB_COMPLETION_INDEX", "5"), (SHARD_COUNT_VAR, "5")]);
        assert!(ShardSpec::Auto(None).resolve(over).is_err());
        assert_eq!(
            ShardSpec::Auto(None).resolve(env(&[])),
            Err(ShardError::NoEngine)
        );
        assert!(ShardSpec::Auto(None)
            .resolve(env(&[]))
            .unwrap_err()
            .to_string()
            .contains("SLURM_ARRAY_TASK_ID"));
    }

    /// 10,000 synthetic paths: every path in exactly one shard, the same one
    /// every time, and shard sizes within the spread of a random split.
    #[test]
    fn assignment_is_stable_complete_and_balanced() {
        let paths: Vec<String> = (0..10_000)
            .map(|i| format!("{}/{:02}/artikel-{i:05}.html", 2000 + i % 25, i % 12 + 1))
            .collect();
        let mut worst_relative = 0.0f64;
        for count in 2..=64u32 {
            let mut sizes = vec![0usize; count as usize];
            for p in &paths {
                let s = shard_of(p, count);
                assert!((1..=count).contains(&s));
                assert_eq!(shard_of(p, count), s, "stable");
                let owners = (1..=count).filter(|&k| shard_of(p, count) == k).count();
                assert_eq!(owners, 1);
                sizes[(s - 1) as usize] += 1;
            }
            assert_eq!(sizes.iter().sum::<usize>(), paths.len());
            let mean = paths.len() as f64 / f64::from(count);
            let sigma = (mean * (1.0 - 1.0 / f64::from(count))).sqrt();
            for &size in &sizes {
                let off = (size as f64 - mean).abs();
                // 4.5 sigma: a random split passes this nearly always, a
                // skewed function (by length, first letter, ...) does not.
                assert!(off <= 4.5 * sigma, "N={count}: {sizes:?}");
                if count <= 8 {
                    assert!(off / mean <= 0.05, "N={count}: {sizes:?}");
                }
                worst_relative = worst_relative.max(off / mean);
            }
        }
        assert!(worst_relative < 0.35, "{worst_relative}");
        // Known values: the assignment must never change between versions
        // (a change would move finished inputs to other shards).
        assert_eq!(
            (
                shard_of("nachrichten/hochwasser-sachsen.txt", 3),
                shard_of("a.txt", 64)
            ),
            GOLDEN
        );
    }

    const GOLDEN: (u32, u32) = (3, 54);

    #[test]
    fn keys_are_relative_to_the_argument() {
        let args = [PathBuf::from("archive/"), PathBuf::from("one/feed.xml")];
        assert_eq!(shard_key("archive/2020/a.txt", &args), "2020/a.txt");
        assert_eq!(shard_key("one/feed.xml#item-7", &args), "feed.xml#item-7");
        assert_eq!(shard_key("one/feed.xml", &args), "feed.xml");
        assert_eq!(shard_key("-", &[PathBuf::from("-")]), "-");
        assert_eq!(shard_key("./x/a.md", &[PathBuf::from(".")]), "x/a.md");
        assert_eq!(shard_key("elsewhere/b.txt", &args), "elsewhere/b.txt");
        // Nested arguments: the innermost.
        let nested = [PathBuf::from("a"), PathBuf::from("a/b")];
        assert_eq!(shard_key("a/b/c.txt", &nested), "c.txt");
        // A prefix that is not a folder boundary does not count.
        assert_eq!(
            shard_key("archive2/a.txt", &[PathBuf::from("archive")]),
            "archive2/a.txt"
        );
        // An absolute argument under the working folder keys alike.
        let cwd = std::env::current_dir().unwrap();
        assert_eq!(
            shard_key("archive/2020/a.txt", &[cwd.join("archive")]),
            "2020/a.txt"
        );
    }

    #[test]
    fn record_names_round_trip() {
        let s = Shard {
            index: 3,
            count: 16,
        };
        let out = Path::new("/o");
        assert_eq!(
            part_path(out, s),
            Path::new("/o/.kurz-shards/3-of-16.jsonl")
        );
        assert_eq!(
            plan_path(out, s),
            Path::new("/o/.kurz-shards/3-of-16.plan.json")
        );
        assert_eq!(
            parse_record_name("3-of-16.jsonl"),
            Some((s, RecordKind::Part))
        );
        assert_eq!(
            parse_record_name("3-of-16.plan.json"),
            Some((s, RecordKind::Plan))
        );
        assert_eq!(
            parse_record_name(&lock_name(s)),
            Some((s, RecordKind::Lock))
        );
        for bad in [
            "0-of-3.jsonl",
            "4-of-3.jsonl",
            "x-of-3.jsonl",
            "3.jsonl",
            "3-of-16.txt",
        ] {
            assert_eq!(parse_record_name(bad), None, "{bad}");
        }
    }

    /// A valid plan of shard `index`/`count` with these inputs, as JSON.
    fn plan_json(index: u32, count: u32, inputs: &[&str]) -> String {
        serde_json::json!({
            "shard": {"index": index, "count": count},
            "task": "summarize",
            "inputs": inputs,
            "started_at": "2025-01-01T00:00:00Z",
            "runner": "1@host",
        })
        .to_string()
    }

    fn shards_dir() -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        std::fs::create_dir_all(out.join(SHARDS_DIR)).unwrap();
        (dir, out)
    }

    /// Plans with hostile field values are each one problem naming the
    /// file, never a plan (and never a panic); the one good plan is read.
    #[test]
    fn hostile_plans_are_problems_naming_their_file() {
        let (_dir, out) = shards_dir();
        let write = |name: &str, text: &str| {
            std::fs::write(out.join(SHARDS_DIR).join(name), text).unwrap();
        };
        write("1-of-9.plan.json", &plan_json(1, 9, &["a.txt"]));
        write(
            "2-of-9.plan.json",
            r#"{"shard": "2/9", "task": "summarize"}"#,
        );
        write("3-of-9.plan.json", &plan_json(4, 9, &[]));
        write(
            "4-of-9.plan.json",
            &plan_json(4, 9, &[]).replace("\"index\":4", "\"index\":-4"),
        );
        write(
            "5-of-9.plan.json",
            &plan_json(5, 9, &[]).replace("\"count\":9", "\"count\":99999999999"),
        );
        write(
            "6-of-9.plan.json",
            &plan_json(6, 9, &[]).replace("\"index\":6", "\"index\":0"),
        );
        write(
            "7-of-9.plan.json",
            &plan_json(7, 9, &[]).replace("[]", "[1, null]"),
        );
        write("8-of-9.plan.json", "");
        let (plans, mut problems) = read_plans(&out).unwrap();
        assert_eq!(plans.len(), 1, "{plans:?}");
        assert_eq!(plans[0].shard, Shard { index: 1, count: 9 });
        problems.sort();
        assert_eq!(problems.len(), 7, "{problems:#?}");
        for (n, problem) in (2..=8).zip(&problems) {
            let name = format!("{n}-of-9.plan.json");
            assert!(problem.contains(&name), "{problem}");
        }
        assert!(
            problems[1].contains("names another shard than its file name"),
            "{}",
            problems[1]
        );
        assert!(
            problems[2].contains("invalid value: integer `-4`"),
            "{}",
            problems[2]
        );
        assert!(problems[3].contains("99999999999"), "{}", problems[3]);
        // Shard 0 of a plan named 6-of-9 disagrees with the name.
        assert!(
            problems[4].contains("names another shard"),
            "{}",
            problems[4]
        );
    }

    /// Input names are data: path-like, absolute, control and bidi
    /// characters are kept as they are (shown escaped by the commands),
    /// never resolved.
    #[test]
    fn path_like_and_control_input_names_are_kept_verbatim() {
        let (_dir, out) = shards_dir();
        let names = [
            "../../etc/passwd",
            "/etc/shadow",
            "a\u{1b}[31mred\u{202e}txt.exe",
            "\r\n",
        ];
        let mut plan: serde_json::Value = serde_json::from_str(&plan_json(1, 1, &names)).unwrap();
        plan["runner"] = "\u{1b}]0;pwned\u{7}@\u{9b}host".into();
        let plan = plan.to_string();
        std::fs::write(plan_path(&out, Shard { index: 1, count: 1 }), plan).unwrap();
        let (plans, problems) = read_plans(&out).unwrap();
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(plans[0].inputs, names);
        assert_eq!(plans[0].runner, "\u{1b}]0;pwned\u{7}@\u{9b}host");
    }

    /// A plan over MAX_PLAN_BYTES is refused unread (a sparse file, so the
    /// test writes nothing big); one just under the cap with a long input
    /// list is read.
    #[test]
    fn plans_over_the_size_cap_are_refused() {
        let (_dir, out) = shards_dir();
        let big = std::fs::File::create(plan_path(&out, Shard { index: 1, count: 2 })).unwrap();
        big.set_len(MAX_PLAN_BYTES + 1).unwrap();
        let names: Vec<String> = (0..100_000).map(|i| format!("archiv/{i:06}.txt")).collect();
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        std::fs::write(
            plan_path(&out, Shard { index: 2, count: 2 }),
            plan_json(2, 2, &refs),
        )
        .unwrap();
        let (plans, problems) = read_plans(&out).unwrap();
        assert_eq!(plans.len(), 1);
        assert_eq!(plans[0].inputs.len(), 100_000);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0].contains(
                "1-of-2.plan.json: is larger than 64.0 MiB (plans over that size are refused)"
            ),
            "{}",
            problems[0]
        );
    }

    /// A symlinked plan (to a valid plan outside the folder) and a FIFO
    /// are problems, not followed or waited on.
    #[cfg(target_os = "linux")]
    #[test]
    fn symlinked_and_fifo_plans_are_not_read() {
        let (dir, out) = shards_dir();
        let outside = dir.path().join("elsewhere.json");
        std::fs::write(&outside, plan_json(1, 2, &["secret.txt"])).unwrap();
        std::os::unix::fs::symlink(&outside, plan_path(&out, Shard { index: 1, count: 2 }))
            .unwrap();
        let fifo = plan_path(&out, Shard { index: 2, count: 2 });
        let c_path = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: a valid NUL-terminated path; mkfifo only creates a node.
        assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) }, 0);
        let (plans, mut problems) = read_plans(&out).unwrap();
        assert!(plans.is_empty(), "{plans:?}");
        problems.sort();
        assert_eq!(problems.len(), 2, "{problems:?}");
        for p in &problems {
            assert!(
                p.ends_with("is not a regular file (kurz never follows symlinks in .kurz-shards/)"),
                "{p}"
            );
        }
    }
}
