//! The batch runner: many inputs, one model, worker threads (see
//! [`run_workers`]), one output file and one manifest line per input,
//! resumable.
//!
//! Each input is processed independently: a bad file (or a bug met while
//! processing it) becomes an `error` entry and the batch goes on. The output
//! folder is locked for the run; results are written inside it only, never
//! through a symlink, each to its own path (see [`assign_output_paths`]). An
//! output file is written (atomically) before its manifest line is appended,
//! and every line is synced, so a killed run loses no finished work and a
//! rerun skips it. A write failure on the output folder (disk full, ...)
//! stops the whole batch at once; an interrupt stops it too, leaving no line
//! for the inputs in flight.

use std::collections::{HashMap, HashSet};
use std::ffi::{OsStr, OsString};
use std::io::Write;
use std::panic::AssertUnwindSafe;
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::input::{
    escape_name, extract_bytes, read_source_until, Document, InputError, InputItem,
};
use crate::model::{KvCache, Model, ModelError};
use crate::output::{
    relative_output_path, remove_temp_leftovers, render, sha256_hex, write_under, Format,
    LockError, ManifestEntry, ManifestWriter, ModelRef, OutputLock, RenderedDoc, ResumeIndex,
    Status, LOCK_FILE_NAME, MANIFEST_FILE_NAME, ROOT_FIELD, TEMP_PREFIX,
};
use crate::progress::Progress;
use crate::shard::{lock_output, part_path, plan_path, write_plan, Shard, SHARDS_DIR, SLURM_DIR};
use crate::stop::{Abort, Interrupt, StopToken};
use crate::sync::lock;
use crate::task::glossary::{Glossary, Selection};
use crate::task::guard::{GuardReport, Verdict};
use crate::task::prompt::{PromptStyle, PROMPT_VERSION};
use crate::task::{summarize_with, translate_with, SummaryOptions, TaskOutput, TranslateOptions};

/// The job to do on each document.
#[derive(Debug, Clone, PartialEq)]
pub enum Task {
    /// An English summary.
    Summarize(SummaryOptions),
    /// A full English translation.
    Translate(TranslateOptions),
}

impl Task {
    /// The task's name in manifests.
    pub fn name(&self) -> &'static str {
        match self {
            Task::Summarize(_) => "summarize",
            Task::Translate(_) => "translate",
        }
    }

    /// Everything about the task that shapes its output.
    fn params(&self, format: Format) -> serde_json::Value {
        let (context, sampling) = match self {
            Task::Summarize(o) => (o.context, o.sampling),
            Task::Translate(o) => (o.context, o.sampling),
        };
        let mut params = json!({
            "task": self.name(),
            "context": context,
            "temperature": sampling.temperature,
            "top_p": sampling.top_p,
            "seed": sampling.seed,
            "format": format.extension(),
            "prompt_version": PROMPT_VERSION,
        });
        if let (Task::Translate(o), Some(map)) = (self, params.as_object_mut()) {
            map.insert("candidates".into(), json!(o.candidates.count));
            map.insert("with_context".into(), json!(o.previous_paragraph));
        }
        if let (Task::Summarize(o), Some(map)) = (self, params.as_object_mut()) {
            map.insert("max_words".into(), json!(o.max_words));
            map.insert("guard".into(), json!(o.guard.enabled));
            map.insert("guard_retries".into(), json!(o.guard.retries));
            map.insert("candidates".into(), json!(o.candidates.count));
            // Recorded only when not the default: the default's text is
            // identified by prompt_version alone.
            if o.style != PromptStyle::default() {
                map.insert("prompt_style".into(), json!(o.style));
            }
        }
        params
    }

    /// Runs the task on one document with the glossary entries occurring
    /// in it (`terms`); its output carries the English title to give the
    /// output file (see [`crate::task::title`]).
    fn run(
        &self,
        model: &Model,
        cache: &mut KvCache,
        doc: &Document,
        terms: &Glossary,
        stop: &StopToken,
    ) -> Result<TaskOutput, ModelError> {
        match self {
            Task::Summarize(options) => summarize_with(model, cache, doc, options, terms, stop),
            Task::Translate(options) => {
                translate_with(model, cache, doc, options, terms, stop).map(|t| t.output)
            }
        }
    }
}

/// How a batch runs and where it writes.
#[derive(Debug, Clone)]
pub struct BatchConfig {
    /// Root of all outputs; nothing is written outside it.
    pub output_dir: PathBuf,
    /// Format of the per-input files.
    pub format: Format,
    /// Redo inputs the manifest says are done.
    pub force: bool,
    /// Inputs processed at once.
    pub jobs: usize,
    /// Inputs larger than this are refused.
    pub max_bytes: u64,
    /// Also print each result to stdout as it finishes.
    pub echo_stdout: bool,
    /// A guard verdict of `fail` makes the entry an error.
    pub strict: bool,
    /// The job.
    pub task: Task,
    /// The run's interrupt (SIGINT/SIGTERM): once raised, no input starts
    /// and the inputs in flight stop without a manifest line.
    pub interrupt: Interrupt,
    /// Time limit of one input (`--timeout-per-file`); an input over it
    /// gets an error entry.
    pub timeout_per_file: Option<Duration>,
    /// The shard this run is (`--shard K/N`): its manifest lines go to its
    /// own part, `.kurz-shards/K-of-N.jsonl`, and its plan is written
    /// first (see [`crate::shard`]); `inputs` are already its share.
    pub shard: Option<Shard>,
    /// The input root output paths are relative to (see
    /// [`crate::input::root`]), recorded in every manifest row as `root`;
    /// `None` for an output folder kept in the layout of kurz before the
    /// root existed (paths as given).
    pub input_root: Option<PathBuf>,
    /// The glossary (`--glossary`): its entries occurring in a document are
    /// given to the model and listed in the document's manifest line.
    pub glossary: Option<Glossary>,
}

impl BatchConfig {
    /// The params of every manifest line (compared on resume): the task's,
    /// plus `glossary_sha256` (see [`Glossary::sha256`]) when there is a
    /// glossary, so a changed glossary redoes the work; without one, the
    /// params of runs before glossaries existed.
    fn params(&self) -> serde_json::Value {
        let mut params = self.task.params(self.format);
        if let (Some(glossary), Some(map)) = (&self.glossary, params.as_object_mut()) {
            map.insert("glossary_sha256".into(), json!(glossary.sha256()));
        }
        params
    }
}

/// Why a batch could not run, or could not go on.
#[derive(Debug, thiserror::Error)]
pub enum BatchError {
    /// Another run holds the output folder, or its lock cannot be taken.
    #[error(transparent)]
    Lock(#[from] LockError),
    /// The manifest cannot be opened or read.
    #[error("{}", manifest_message(path, error))]
    Manifest {
        /// The manifest.
        path: PathBuf,
        /// What went wrong (not named `source`: it is part of the message,
        /// and `{:#}` would print a source twice).
        error: std::io::Error,
    },
    /// Writing a result or the manifest failed (disk full, file too large,
    /// read-only, quota, permission): the batch stopped at once.
    #[error("cannot write {}: {error}; the batch stopped (a rerun does the rest)", path.display())]
    Write {
        /// The file that could not be written.
        path: PathBuf,
        /// What went wrong.
        error: std::io::Error,
        /// What was done before the batch stopped.
        report: BatchReport,
    },
    /// The worker threads cannot be started.
    #[error("cannot start {jobs} worker threads: {message}")]
    Threads {
        /// Requested jobs.
        jobs: usize,
        /// What went wrong.
        message: String,
    },
}

fn manifest_message(path: &Path, error: &std::io::Error) -> String {
    if error.kind() == std::io::ErrorKind::InvalidInput {
        // A refusal (a symlink, a folder): its message names the file.
        format!("cannot use the manifest: {error}")
    } else {
        format!("cannot write {}: {error}", path.display())
    }
}

/// Counts of what happened to the inputs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BatchReport {
    /// Inputs processed successfully.
    pub ok: usize,
    /// Inputs skipped because they were already done.
    pub skipped: usize,
    /// Inputs that failed.
    pub failed: usize,
    /// Where the manifest is.
    pub manifest: PathBuf,
    /// The run was interrupted: some inputs were not processed (and have
    /// no manifest line).
    pub interrupted: bool,
}

/// Runs `config.task` over `inputs` with `model`, writing outputs and the
/// manifest under `config.output_dir`, which it locks for the run (see
/// [`OutputLock`] and [`lock_output`]).
pub fn run_batch(
    model: &Model,
    model_ref: &ModelRef,
    inputs: &[InputItem],
    config: &BatchConfig,
    progress: &Progress,
) -> Result<BatchReport, BatchError> {
    let lock = lock_output(&config.output_dir, config.shard)?;
    let resume = load_resume_index(&config.output_dir, config.shard)?;
    run_batch_locked(model, model_ref, inputs, config, progress, &lock, &resume)
}

/// What earlier runs recorded in output folder `out`: `manifest.jsonl` and
/// every shard's part (see [`ResumeIndex::load_all`]). A failure names the
/// manifest this run (or `shard`) writes.
pub fn load_resume_index(out: &Path, shard: Option<Shard>) -> Result<ResumeIndex, BatchError> {
    ResumeIndex::load_all(out).map_err(|error| BatchError::Manifest {
        path: written_manifest(out, shard),
        error,
    })
}

/// The manifest a run of output folder `out` appends to: `manifest.jsonl`,
/// or a shard's own part.
fn written_manifest(out: &Path, shard: Option<Shard>) -> PathBuf {
    match shard {
        Some(shard) => part_path(out, shard),
        None => out.join(MANIFEST_FILE_NAME),
    }
}

/// [`run_batch`] for a caller that already holds the output folder's lock
/// (taken before loading the model, so a second run fails at once) and has
/// read the folder's manifests since ([`load_resume_index`]; the caller
/// also needs them to place the outputs, and reads them once).
pub fn run_batch_locked(
    model: &Model,
    model_ref: &ModelRef,
    inputs: &[InputItem],
    config: &BatchConfig,
    progress: &Progress,
    _lock: &OutputLock,
    resume: &ResumeIndex,
) -> Result<BatchReport, BatchError> {
    // Other shards may be writing next to us: their temporary files are
    // not leftovers (`kurz merge` removes those of killed shards).
    if config.shard.is_none() {
        let leftovers = remove_temp_leftovers(&config.output_dir);
        if leftovers > 0 {
            progress.note(&format!(
                "removed {leftovers} temporary file(s) an interrupted run left in {}",
                config.output_dir.display()
            ));
        }
    }
    // Output paths in every manifest (parts too) are relative to the
    // output folder.
    let manifest_path = config.output_dir.join(MANIFEST_FILE_NAME);
    let written_path = written_manifest(&config.output_dir, config.shard);
    let manifest_err = |error| BatchError::Manifest {
        path: written_path.clone(),
        error,
    };
    // A symlink there is refused (reading the manifests refused it too).
    let writer = ManifestWriter::open(&written_path).map_err(manifest_err)?;
    if let Some(shard) = config.shard {
        let displays: Vec<String> = inputs.iter().map(|i| i.display.clone()).collect();
        let setting = (model_ref.sha256.clone(), config.params());
        write_plan(
            &config.output_dir,
            shard,
            config.task.name(),
            displays,
            Some(setting),
        )
        .map_err(|error| BatchError::Manifest {
            path: plan_path(&config.output_dir, shard),
            error,
        })?;
    }
    if resume.torn_lines() > 0 {
        progress.note(&format!(
            "ignored {} incomplete line(s) in the manifests of {} (from an interrupted run)",
            resume.torn_lines(),
            config.output_dir.display()
        ));
    }
    let outputs = assign_output_paths(inputs, &config.output_dir, config.format);
    let worker = Worker {
        model,
        model_ref,
        config,
        params: config.params(),
        resume,
        manifest_path: &manifest_path,
        stdout: Mutex::new(()),
    };
    progress.start(inputs.len());
    let tally = Mutex::new(BatchReport {
        manifest: written_path.clone(),
        ..BatchReport::default()
    });
    let failure: Mutex<Option<(PathBuf, std::io::Error)>> = Mutex::new(None);
    // Raised by the user's interrupt (copied by the watcher) or by a write
    // failure: every input's stop token watches it.
    let halt = Interrupt::new();
    let fail = |path: PathBuf, error| {
        lock(&failure).get_or_insert((path, error));
        halt.raise(1);
        Flow::Stop
    };
    let finished = AtomicBool::new(false);
    let started = std::thread::scope(|scope| {
        scope.spawn(|| forward_interrupt(&config.interrupt, &halt, &finished));
        let started = run_workers(
            "kurz-job",
            config.jobs,
            inputs.len(),
            || model.transformer().new_cache(),
            |cache, index| {
                if halt.is_raised() {
                    return Flow::Stop;
                }
                let token = StopToken::new(&halt, config.timeout_per_file);
                match worker.process_guarded(cache, &inputs[index], &outputs[index], &token) {
                    Outcome::Entry(entry) => {
                        if let Err(e) = writer.append(&entry) {
                            return fail(written_path.clone(), e);
                        }
                        count(&mut lock(&tally), entry.status);
                        progress.file_done(&entry);
                        Flow::Continue
                    }
                    Outcome::Interrupted => Flow::Stop,
                    Outcome::WriteFailed(path, e) => fail(path, e),
                }
            },
        );
        finished.store(true, Ordering::SeqCst);
        started
    });
    progress.finish();
    started.map_err(|e| BatchError::Threads {
        jobs: config.jobs,
        message: e.to_string(),
    })?;
    let mut report = lock(&tally).clone();
    report.interrupted = config.interrupt.is_raised();
    if let Some((path, error)) = lock(&failure).take() {
        return Err(BatchError::Write {
            path,
            error,
            report,
        });
    }
    Ok(report)
}

/// Copies the user's interrupt into `halt` until `finished`.
fn forward_interrupt(interrupt: &Interrupt, halt: &Interrupt, finished: &AtomicBool) {
    while !finished.load(Ordering::SeqCst) {
        if let Some(signal) = interrupt.signal() {
            halt.raise(signal);
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Stack of each worker thread: generous, as defence in depth against deep
/// recursion on hostile input (parsers bound their depth themselves).
pub const WORKER_STACK_BYTES: usize = 64 << 20;

/// What a worker does after one item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Take the next item.
    Continue,
    /// Take no more items, in this worker or any other (items in flight in
    /// other workers finish).
    Stop,
}

/// Runs `work(state, index)` for every index in `0..items` on `jobs` worker
/// threads named `<name>-<n>`, each with its own `state` from `init` (a
/// model's KV cache), pulling indices from a shared counter in order.
///
/// The workers are plain threads, not tasks of a work-stealing pool (rayon):
/// a worker waits for model passes (run on the kernels' own pool, shared
/// through the step batcher), and a pool thread that waits may start another
/// queued task on top of its own, which would then wait for the very pass it
/// blocks. Returns an error when a thread cannot be started (the workers
/// already running finish the item they hold and stop).
pub fn run_workers<S>(
    name: &str,
    jobs: usize,
    items: usize,
    init: impl Fn() -> S + Sync,
    work: impl Fn(&mut S, usize) -> Flow + Sync,
) -> std::io::Result<()> {
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    std::thread::scope(|scope| {
        for job in 0..jobs.clamp(1, items.max(1)) {
            let spawned = std::thread::Builder::new()
                .name(format!("{name}-{job}"))
                .stack_size(WORKER_STACK_BYTES)
                .spawn_scoped(scope, || {
                    let mut state = init();
                    while !stop.load(Ordering::SeqCst) {
                        let index = next.fetch_add(1, Ordering::SeqCst);
                        if index >= items {
                            break;
                        }
                        if work(&mut state, index) == Flow::Stop {
                            stop.store(true, Ordering::SeqCst);
                        }
                    }
                });
            if let Err(e) = spawned {
                stop.store(true, Ordering::SeqCst);
                return Err(e);
            }
        }
        Ok(())
    })
}

/// Logical cores available to this process.
pub fn available_cores() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

fn count(report: &mut BatchReport, status: Status) {
    match status {
        Status::Ok => report.ok += 1,
        Status::Skipped => report.skipped += 1,
        Status::Error => report.failed += 1,
    }
}

/// Output path of every input, all different, whatever the inputs' names:
/// `<out>/<stem>.en.<format>` when no other input claims that path (or a
/// folder of that name); otherwise the input's extension joins the name
/// (`a.md` and `a.txt` give `a.md.en.md` and `a.txt.en.md`), then a number
/// (`a.md-2.en.md`) when that is taken too. Names kurz uses in the output
/// folder itself (the manifest, the lock, temporary files) are never given
/// out: such a component gets a leading `_`. The result depends only on the
/// set of inputs, not on their order or the number of jobs.
pub fn assign_output_paths(inputs: &[InputItem], out_dir: &Path, format: Format) -> Vec<PathBuf> {
    let suffix = format!(".en.{}", format.extension());
    let parts: Vec<(PathBuf, OsString)> =
        inputs.iter().map(|i| split_stem(&i.output_stem)).collect();
    let file = |dir: &Path, name: &OsStr, extra: &str| {
        let mut file_name = name.to_os_string();
        file_name.push(extra);
        file_name.push(&suffix);
        dir.join(file_name)
    };
    // Folders the outputs need are never file names.
    let mut taken: HashSet<OsString> = parts
        .iter()
        .flat_map(|(dir, _)| dir.ancestors().map(path_key))
        .collect();
    let plain: Vec<PathBuf> = parts.iter().map(|(d, n)| file(d, n, "")).collect();
    let mut uses: HashMap<OsString, usize> = HashMap::new();
    for p in &plain {
        *uses.entry(path_key(p)).or_default() += 1;
    }
    let mut assigned: Vec<Option<PathBuf>> = vec![None; inputs.len()];
    for (slot, p) in assigned.iter_mut().zip(&plain) {
        let key = path_key(p);
        if uses[&key] == 1 && !taken.contains(&key) {
            taken.insert(key);
            *slot = Some(p.clone());
        }
    }
    let mut order: Vec<usize> = (0..inputs.len()).collect();
    order.sort_by(|&a, &b| inputs[a].display.cmp(&inputs[b].display).then(a.cmp(&b)));
    for i in order {
        if assigned[i].is_some() {
            continue;
        }
        let (dir, name) = &parts[i];
        let ext = Path::new(&inputs[i].display)
            .extension()
            .map(|e| format!(".{}", e.to_string_lossy()))
            .unwrap_or_default();
        let candidates = (1..).map(|n| match n {
            1 => ext.clone(),
            n => format!("{ext}-{n}"),
        });
        for extra in candidates.filter(|e| !e.is_empty()) {
            let candidate = file(dir, name, &extra);
            if taken.insert(path_key(&candidate)) {
                assigned[i] = Some(candidate);
                break;
            }
        }
    }
    assigned
        .into_iter()
        .map(|p| out_dir.join(p.unwrap_or_default()))
        .collect()
}

/// Splits an output stem into its folder and file name, dropping all but
/// normal components and renaming those kurz's own files could clash with.
fn split_stem(stem: &Path) -> (PathBuf, OsString) {
    let mut parts: Vec<OsString> = stem
        .components()
        .filter_map(|c| match c {
            Component::Normal(part) => Some(part.to_os_string()),
            _ => None,
        })
        .collect();
    let name = parts.pop().unwrap_or_else(|| OsString::from("untitled"));
    let top_level_reserved = [MANIFEST_FILE_NAME, LOCK_FILE_NAME, SHARDS_DIR, SLURM_DIR];
    let mut dir = PathBuf::new();
    for (depth, part) in parts.into_iter().enumerate() {
        let reserved = depth == 0
            && top_level_reserved
                .iter()
                .any(|r| path_key(Path::new(r)) == path_key(Path::new(&part)));
        dir.push(unreserved(part, reserved));
    }
    (dir, unreserved(name, false))
}

/// `part` with a leading `_` when it is `reserved` or looks like one of
/// kurz's temporary files.
fn unreserved(part: OsString, reserved: bool) -> OsString {
    let temp = part
        .as_encoded_bytes()
        .to_ascii_lowercase()
        .starts_with(TEMP_PREFIX.as_bytes());
    if reserved || temp {
        let mut renamed = OsString::from("_");
        renamed.push(part);
        renamed
    } else {
        part
    }
}

/// How the file system compares a path: case-insensitively where that is
/// the usual default (macOS, Windows), exactly elsewhere.
fn path_key(path: &Path) -> OsString {
    if cfg!(any(target_os = "macos", target_os = "windows")) {
        OsString::from(path.to_string_lossy().to_lowercase())
    } else {
        path.as_os_str().to_os_string()
    }
}

struct Worker<'a> {
    model: &'a Model,
    model_ref: &'a ModelRef,
    config: &'a BatchConfig,
    params: serde_json::Value,
    resume: &'a ResumeIndex,
    manifest_path: &'a Path,
    stdout: Mutex<()>,
}

/// What went wrong with one input.
#[derive(Debug, thiserror::Error)]
enum ItemError {
    #[error(transparent)]
    Input(#[from] InputError),
    #[error("{0}")]
    Model(#[from] ModelError),
    /// The result could not be written for a reason of this input's own
    /// (a symlink or folder in the way, a name too long): an error entry.
    #[error("cannot write {}: {error}", path.display())]
    Write {
        path: PathBuf,
        error: std::io::Error,
    },
    /// Writing failed for a reason that will fail every input (disk full,
    /// read-only, ...): the batch stops.
    #[error("cannot write {}: {error}", path.display())]
    OutputFolder {
        path: PathBuf,
        error: std::io::Error,
    },
}

/// What became of one input.
enum Outcome {
    /// Its manifest line.
    Entry(Box<ManifestEntry>),
    /// It stopped on an interrupt: no line, no further inputs.
    Interrupted,
    /// The output folder cannot be written: the batch stops.
    WriteFailed(PathBuf, std::io::Error),
}

/// Whether a write error will fail every other input too, so the batch
/// should stop rather than record it and go on.
fn fails_every_write(error: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(
        error.kind(),
        StorageFull | FileTooLarge | ReadOnlyFilesystem | QuotaExceeded | PermissionDenied
    )
}

/// The text of a panic's payload, on one line.
fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    let text = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_string());
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The entry of an input that ended at this moment: its wall time (a
/// skipped input keeps the time of the run that did it) and end time.
fn finished(mut entry: ManifestEntry, started: Instant) -> Outcome {
    if entry.status != Status::Skipped {
        entry.seconds = started.elapsed().as_secs_f64();
    }
    entry.finished_at = crate::output::now_rfc3339();
    Outcome::Entry(Box::new(entry))
}

impl Worker<'_> {
    /// [`process`](Self::process), with a panic (a bug) caught and turned
    /// into an error entry: the batch goes on, with a fresh cache.
    fn process_guarded(
        &self,
        cache: &mut KvCache,
        item: &InputItem,
        out_path: &Path,
        stop: &StopToken,
    ) -> Outcome {
        let started = Instant::now();
        let run = std::panic::catch_unwind(AssertUnwindSafe(|| {
            self.process(cache, item, out_path, stop)
        }));
        run.unwrap_or_else(|payload| {
            *cache = self.model.transformer().new_cache();
            let mut entry = self.blank_entry(item);
            entry.error = Some(format!(
                "{}: internal error: {}",
                item.display,
                panic_message(payload.as_ref())
            ));
            finished(entry, started)
        })
    }

    fn process(
        &self,
        cache: &mut KvCache,
        item: &InputItem,
        out_path: &Path,
        stop: &StopToken,
    ) -> Outcome {
        let started = Instant::now();
        let mut entry = self.blank_entry(item);
        match self.process_into(&mut entry, cache, item, out_path, stop) {
            Ok(()) => {}
            Err(
                ItemError::Model(ModelError::Aborted(Abort::Interrupted))
                | ItemError::Input(InputError::Aborted(Abort::Interrupted)),
            ) => return Outcome::Interrupted,
            Err(ItemError::OutputFolder { path, error }) => {
                return Outcome::WriteFailed(path, error)
            }
            Err(e) => {
                entry.status = Status::Error;
                entry.error = Some(format!("{}: {e}", item.display));
            }
        }
        finished(entry, started)
    }

    fn process_into(
        &self,
        entry: &mut ManifestEntry,
        cache: &mut KvCache,
        item: &InputItem,
        out_path: &Path,
        stop: &StopToken,
    ) -> Result<(), ItemError> {
        let bytes = read_source_until(item, self.config.max_bytes, stop)?;
        let sha = sha256_hex(&bytes);
        entry.input_sha256 = Some(sha.clone());
        entry.bytes = Some(bytes.len() as u64);
        if !self.config.force {
            if let Some(done) = self.resume.finished(
                self.config.task.name(),
                &item.display,
                &sha,
                &self.model_ref.sha256,
                &self.params,
            ) {
                *entry = ManifestEntry {
                    status: Status::Skipped,
                    seconds: 0.0,
                    prefill_seconds: 0.0,
                    decode_seconds: 0.0,
                    prompt_tokens: 0,
                    generated_tokens: 0,
                    warnings: Vec::new(),
                    ..done.clone()
                };
                return Ok(());
            }
        }
        let extracted = extract_bytes(&bytes, item.kind, stop)?;
        entry.extra.extend(extracted.manifest_fields(item.kind));
        entry.warnings.extend(extracted.warnings);
        let doc = extracted.document;
        let encoding = doc.encoding;
        entry.title = doc.title.clone();
        entry.language = doc.language.as_ref().map(|l| l.code.to_string());
        entry.warnings.extend(language_warning(&doc));
        let terms = self.glossary_terms(&doc);
        let result = self
            .config
            .task
            .run(self.model, cache, &doc, &terms.terms, stop)?;
        let title = result.title.as_ref().map(|t| t.text.as_str());
        self.write_output(item, &doc, title, &result.text, out_path)?;
        record_english(entry, &result);
        entry.output = Some(relative_output_path(self.manifest_path, out_path));
        entry.summary = Some(result.text.clone());
        entry.prompt_tokens = result.stats.prompt_tokens;
        entry.generated_tokens = result.stats.generated_tokens;
        entry.prefill_seconds = result.stats.prefill_seconds;
        entry.decode_seconds = result.stats.decode_seconds;
        entry.warnings.extend(result.warnings);
        self.record_glossary(entry, &terms, &result.text, title);
        entry.extra.insert("encoding".into(), json!(encoding));
        entry
            .extra
            .insert("model_calls".into(), json!(result.stats.calls));
        entry
            .extra
            .insert("chunks".into(), json!(result.stats.chunks));
        entry.extra.insert(
            "reused_prompt_tokens".into(),
            json!(result.stats.reused_prompt_tokens),
        );
        entry.status = Status::Ok;
        if let Some(report) = &result.guard {
            self.record_guard(entry, item, report);
        }
        if self.config.echo_stdout {
            self.echo(item, &result.text);
        }
        Ok(())
    }

    /// The glossary entries occurring in `doc` (title and text), to give
    /// the model; none without a glossary.
    fn glossary_terms(&self, doc: &Document) -> Selection {
        let Some(glossary) = &self.config.glossary else {
            return Selection::default();
        };
        match &doc.title {
            Some(title) => glossary.select(&format!("{title}\n\n{}", doc.text)),
            None => glossary.select(&doc.text),
        }
    }

    /// With a glossary, lists the entries given to the model in the entry
    /// (`glossary`: German, English, whether the output `text` — and a
    /// translated `title` — used the English) and warns of those it did
    /// not use.
    fn record_glossary(
        &self,
        entry: &mut ManifestEntry,
        terms: &Selection,
        text: &str,
        title: Option<&str>,
    ) {
        if self.config.glossary.is_none() {
            return;
        }
        let output = match (&self.config.task, title) {
            (Task::Translate(_), Some(title)) => format!("{title}\n\n{text}"),
            _ => text.to_string(),
        };
        let (uses, warnings) = terms.report(&output);
        entry.extra.insert("glossary".into(), json!(uses));
        entry.warnings.extend(warnings);
    }

    /// Puts the guard's verdict (when it was on) and the candidates into
    /// the entry; with `--strict`, an unrepaired summary makes it an error.
    fn record_guard(&self, entry: &mut ManifestEntry, item: &InputItem, report: &GuardReport) {
        if report.enabled {
            entry.extra.insert("guard".into(), json!(report.guard));
            entry
                .extra
                .insert("attempts".into(), json!(report.attempts));
            entry
                .extra
                .insert("unsupported".into(), json!(report.unsupported));
        }
        entry
            .extra
            .insert("output_language".into(), json!(report.output_language));
        entry
            .extra
            .insert("candidates".into(), json!(report.candidates));
        entry.extra.insert("chosen".into(), json!(report.chosen));
        entry
            .extra
            .insert("consensus".into(), json!(report.consensus()));
        if self.config.strict && report.guard == Verdict::Fail {
            entry.status = Status::Error;
            entry.error = Some(format!(
                "{}: the summary names things the article does not ({}) and the guard could not repair it (--strict)",
                item.display,
                report.unsupported.join(", ")
            ));
        }
    }

    fn write_output(
        &self,
        item: &InputItem,
        doc: &Document,
        title: Option<&str>,
        text: &str,
        out_path: &Path,
    ) -> Result<(), ItemError> {
        let rendered = render(
            self.config.format,
            &RenderedDoc {
                title,
                body: text,
                source: &item.display,
                model: &self.model_ref.file,
                language: doc.language.as_ref().map(|l| l.code),
            },
        );
        write_under(&self.config.output_dir, out_path, rendered.as_bytes()).map_err(|error| {
            let path = out_path.to_path_buf();
            if fails_every_write(&error) {
                ItemError::OutputFolder { path, error }
            } else {
                ItemError::Write { path, error }
            }
        })
    }

    fn echo(&self, item: &InputItem, text: &str) {
        let _guard = lock(&self.stdout);
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "==> {} <==\n{text}\n", item.display);
        let _ = out.flush();
    }

    fn blank_entry(&self, item: &InputItem) -> ManifestEntry {
        ManifestEntry {
            input: item.display.clone(),
            input_sha256: None,
            bytes: None,
            language: None,
            title: None,
            output: None,
            summary: None,
            model: self.model_ref.clone(),
            params: self.params.clone(),
            prompt_tokens: 0,
            generated_tokens: 0,
            seconds: 0.0,
            prefill_seconds: 0.0,
            decode_seconds: 0.0,
            status: Status::Error,
            error: None,
            warnings: Vec::new(),
            task: self.config.task.name().to_string(),
            finished_at: String::new(),
            extra: self
                .config
                .input_root
                .iter()
                .map(|root| (ROOT_FIELD.to_string(), json!(escape_name(root.as_os_str()))))
                .collect(),
        }
    }
}

/// A warning when the input does not look German.
fn language_warning(doc: &Document) -> Option<String> {
    let lang = doc.language.as_ref()?;
    (lang.code != "de" && lang.reliable).then(|| {
        format!(
            "input looks like `{}`, not German (confidence {:.2}); processed anyway",
            lang.code, lang.confidence
        )
    })
}

/// Records the English title and the number rewriting of `result` in the
/// entry: `title` is the heading written (English, or the German title when
/// it could not be translated), `source_title` the German original,
/// `title_translated`, `title_attempts` (model calls) and `title_seconds`
/// (their time);
/// `numbers_rewritten` counts numbers put in English conventions.
fn record_english(entry: &mut ManifestEntry, result: &TaskOutput) {
    if let Some(title) = &result.title {
        entry.title = Some(title.text.clone());
        entry
            .extra
            .insert("source_title".into(), json!(title.source));
        entry
            .extra
            .insert("title_translated".into(), json!(title.translated));
        entry
            .extra
            .insert("title_attempts".into(), json!(title.attempts));
        entry
            .extra
            .insert("title_seconds".into(), json!(title.seconds));
        entry
            .extra
            .insert("title_prompt_tokens".into(), json!(title.prompt_tokens));
    }
    entry.extra.insert(
        "numbers_rewritten".into(),
        json!(result.numbers_rewritten + result.title.as_ref().map_or(0, |t| t.numbers_rewritten)),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::{InputKind, InputSource};

    fn item(display: &str, stem: &str) -> InputItem {
        InputItem {
            source: InputSource::File(PathBuf::from(display)),
            display: display.into(),
            output_stem: PathBuf::from(stem),
            kind: InputKind::Text,
        }
    }

    #[test]
    fn output_paths_mirror_the_input_tree() {
        let inputs = [item("a/b/c.html", "a/b/c"), item("d.txt", "d")];
        let paths = assign_output_paths(&inputs, Path::new("out"), Format::Md);
        assert_eq!(
            paths,
            vec![
                PathBuf::from("out/a/b/c.en.md"),
                PathBuf::from("out/d.en.md")
            ]
        );
    }

    #[test]
    fn params_name_the_prompt_style_only_when_not_the_default() {
        let task = |style| {
            Task::Summarize(SummaryOptions {
                max_words: 60,
                context: 4096,
                sampling: crate::generate::Sampling::greedy(),
                guard: Default::default(),
                candidates: Default::default(),
                style,
            })
        };
        let default = task(PromptStyle::default()).params(Format::Md);
        assert_eq!(default["prompt_version"], PROMPT_VERSION);
        assert!(default.get("prompt_style").is_none(), "{default}");
        let other = task(PromptStyle::Paragraph).params(Format::Md);
        assert_eq!(other["prompt_style"], "paragraph");
        assert_ne!(other, default);
    }

    #[test]
    fn a_glossary_adds_its_digest_to_the_params_and_only_then() {
        let mut config = BatchConfig {
            output_dir: PathBuf::from("out"),
            format: Format::Md,
            force: false,
            jobs: 1,
            max_bytes: 1 << 20,
            echo_stdout: false,
            strict: false,
            task: Task::Translate(TranslateOptions {
                context: 4096,
                sampling: crate::generate::Sampling::greedy(),
                candidates: Default::default(),
                previous_paragraph: false,
            }),
            interrupt: Interrupt::new(),
            timeout_per_file: None,
            shard: None,
            input_root: None,
            glossary: None,
        };
        assert_eq!(config.params(), config.task.params(Format::Md));
        let glossary = Glossary::parse(
            b"EZB\tECB\n",
            crate::task::glossary::GlossaryFormat::Tsv,
            Path::new("g.tsv"),
        )
        .unwrap();
        let digest = glossary.sha256();
        config.glossary = Some(glossary);
        let params = config.params();
        assert_eq!(params["glossary_sha256"], digest);
        let mut without = params.clone();
        without.as_object_mut().unwrap().remove("glossary_sha256");
        assert_eq!(without, config.task.params(Format::Md));
    }

    #[test]
    fn every_input_gets_its_own_output() {
        let inputs = [
            item("in/a.md", "in/a"),
            item("in/a.txt", "in/a"),
            item("in/a.md.txt", "in/a.md"),
        ];
        let paths = assign_output_paths(&inputs, Path::new("out"), Format::Md);
        assert_eq!(
            paths,
            vec![
                PathBuf::from("out/in/a.md-2.en.md"),
                PathBuf::from("out/in/a.txt.en.md"),
                PathBuf::from("out/in/a.md.en.md"),
            ]
        );
    }

    #[test]
    fn kurz_own_names_and_folders_are_never_given_out() {
        let inputs = [
            item("manifest.jsonl/x.txt", "manifest.jsonl/x"),
            item(".kurz.lock/y.txt", ".kurz.lock/y"),
            item(".kurz-shards/s.txt", ".kurz-shards/s"),
            item(".kurz-slurm/t.txt", ".kurz-slurm/t"),
            item("d/.kurz-tmp-1.txt", "d/.kurz-tmp-1"),
            item(".kurz-tmp-dir/z.txt", ".kurz-tmp-dir/z"),
            item("b.txt", "b"),
            item("b.en.md/c.txt", "b.en.md/c"),
            item("-", "stdin"),
            item("stdin.txt", "stdin"),
        ];
        let paths = assign_output_paths(&inputs, Path::new("out"), Format::Md);
        assert_eq!(
            paths,
            [
                "out/_manifest.jsonl/x.en.md",
                "out/_.kurz.lock/y.en.md",
                "out/_.kurz-shards/s.en.md",
                "out/_.kurz-slurm/t.en.md",
                "out/d/_.kurz-tmp-1.en.md",
                "out/_.kurz-tmp-dir/z.en.md",
                "out/b.txt.en.md",
                "out/b.en.md/c.en.md",
                "out/stdin-2.en.md",
                "out/stdin.txt.en.md",
            ]
            .map(PathBuf::from)
        );
    }

    /// A small deterministic generator (xorshift) for the property test.
    struct Rng(u64);

    impl Rng {
        fn below(&mut self, n: usize) -> usize {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            (self.0 % n as u64) as usize
        }
    }

    /// Random sets of names made of parts that collide easily: all outputs
    /// differ, none is a folder another output needs, none is one of kurz's
    /// own names, and the assignment does not depend on the inputs' order.
    #[test]
    fn outputs_are_distinct_for_random_name_sets() {
        const PARTS: [&str; 12] = [
            "a",
            "b",
            ".md",
            ".txt",
            ".en",
            ".html",
            "-2",
            ".kurz-tmp-",
            "manifest.jsonl",
            ".kurz.lock",
            "x.en.md",
            "stdin",
        ];
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        for round in 0..500 {
            let mut displays: Vec<String> = Vec::new();
            for _ in 0..1 + rng.below(12) {
                let depth = rng.below(3);
                let mut comps = Vec::new();
                for _ in 0..=depth {
                    let name: String = (0..1 + rng.below(3))
                        .map(|_| PARTS[rng.below(PARTS.len())])
                        .collect();
                    comps.push(name);
                }
                let display = comps.join("/");
                if !displays.contains(&display) {
                    displays.push(display);
                }
            }
            let inputs: Vec<InputItem> = displays
                .iter()
                .map(|d| {
                    let stem = crate::input::output_stem_for(Path::new(d));
                    item(d, stem.to_str().unwrap())
                })
                .collect();
            let out = Path::new("/out");
            let paths = assign_output_paths(&inputs, out, Format::Md);
            let unique: HashSet<&PathBuf> = paths.iter().collect();
            assert_eq!(
                unique.len(),
                paths.len(),
                "round {round}: {displays:?} -> {paths:?}"
            );
            let folders: HashSet<&Path> = paths
                .iter()
                .flat_map(|p| p.parent().unwrap().ancestors())
                .collect();
            for p in &paths {
                assert!(p.starts_with(out), "{p:?}");
                assert!(!folders.contains(p.as_path()), "{p:?} is also a folder");
                let rel = p.strip_prefix(out).unwrap();
                let top = rel.components().next().unwrap().as_os_str();
                assert!(top != MANIFEST_FILE_NAME && top != LOCK_FILE_NAME, "{p:?}");
                assert!(
                    rel.components()
                        .all(|c| !c.as_os_str().to_string_lossy().starts_with(TEMP_PREFIX)),
                    "{p:?}"
                );
            }
            // Same inputs in another order: the same path for each input.
            let mut shuffled: Vec<usize> = (0..inputs.len()).collect();
            for i in (1..shuffled.len()).rev() {
                shuffled.swap(i, rng.below(i + 1));
            }
            let reordered: Vec<InputItem> = shuffled.iter().map(|&i| inputs[i].clone()).collect();
            let again = assign_output_paths(&reordered, out, Format::Md);
            for (k, &i) in shuffled.iter().enumerate() {
                assert_eq!(
                    again[k], paths[i],
                    "round {round}: order changed {displays:?}"
                );
            }
        }
    }

    #[test]
    fn workers_take_every_item_once_and_stop_when_asked() {
        let seen = Mutex::new(Vec::new());
        run_workers(
            "t",
            3,
            50,
            || 0usize,
            |count, i| {
                *count += 1;
                lock(&seen).push(i);
                Flow::Continue
            },
        )
        .unwrap();
        let mut seen = seen.into_inner().unwrap();
        seen.sort_unstable();
        assert_eq!(seen, (0..50).collect::<Vec<_>>());

        let taken = AtomicUsize::new(0);
        run_workers(
            "t",
            4,
            1000,
            || (),
            |(), i| {
                taken.fetch_add(1, Ordering::SeqCst);
                if i == 5 {
                    Flow::Stop
                } else {
                    Flow::Continue
                }
            },
        )
        .unwrap();
        // Item 5 stops the queue; at most the items in flight then finish.
        assert!(taken.load(Ordering::SeqCst) < 20, "{taken:?}");
        // No items: no work; more jobs than items is fine.
        run_workers("t", 8, 0, || (), |(), _| unreachable!()).unwrap();
    }

    #[test]
    fn workers_are_named_and_have_a_large_stack() {
        fn depth(n: usize) -> usize {
            // About 4 KiB of stack per call, kept by black_box.
            let buf = std::hint::black_box([0u8; 4096]);
            if n == 0 {
                buf[0] as usize
            } else {
                depth(n - 1) + buf[n % 4096] as usize
            }
        }
        let names = Mutex::new(Vec::new());
        run_workers(
            "kurz-job",
            2,
            2,
            || (),
            |(), _| {
                lock(&names).push(std::thread::current().name().unwrap().to_string());
                // ~16 MiB deep: more than the default 2 MiB thread stack.
                assert_eq!(depth(4000), 0);
                Flow::Continue
            },
        )
        .unwrap();
        let mut names = names.into_inner().unwrap();
        names.sort();
        names.dedup();
        assert!(
            names.iter().all(|n| n.starts_with("kurz-job-")),
            "{names:?}"
        );
    }

    #[test]
    fn panics_become_one_line_and_write_errors_are_classified() {
        let payload = std::panic::catch_unwind(|| panic!("bad\nthing {}", 42)).unwrap_err();
        assert_eq!(panic_message(payload.as_ref()), "bad thing 42");
        let payload = std::panic::catch_unwind(|| std::panic::panic_any(7u8)).unwrap_err();
        assert_eq!(panic_message(payload.as_ref()), "a panic without a message");
        use std::io::{Error, ErrorKind};
        for kind in [
            ErrorKind::StorageFull,
            ErrorKind::FileTooLarge,
            ErrorKind::ReadOnlyFilesystem,
            ErrorKind::QuotaExceeded,
            ErrorKind::PermissionDenied,
        ] {
            assert!(fails_every_write(&Error::from(kind)), "{kind:?}");
        }
        for kind in [
            ErrorKind::InvalidInput,
            ErrorKind::IsADirectory,
            ErrorKind::InvalidFilename,
        ] {
            assert!(!fails_every_write(&Error::from(kind)), "{kind:?}");
        }
        let e = BatchError::Write {
            path: PathBuf::from("out/a.en.md"),
            error: Error::from(ErrorKind::StorageFull),
            report: BatchReport::default(),
        };
        let shown = format!("{:#}", anyhow::Error::from(e));
        assert_eq!(shown.matches("cannot write").count(), 1, "{shown}");
        assert_eq!(shown.matches("out/a.en.md").count(), 1, "{shown}");
    }

    #[test]
    fn colliding_outputs_keep_their_extensions() {
        let inputs = [item("a.md", "a"), item("a.txt", "a"), item("b.txt", "b")];
        let paths = assign_output_paths(&inputs, Path::new("out"), Format::Txt);
        assert_eq!(
            paths,
            vec![
                PathBuf::from("out/a.md.en.txt"),
                PathBuf::from("out/a.txt.en.txt"),
                PathBuf::from("out/b.en.txt")
            ]
        );
    }
}
