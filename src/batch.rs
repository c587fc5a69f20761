//! The batch runner: many inputs, one model, rayon workers, one output file
//! and one manifest line per input, resumable.
//!
//! Each input is processed independently: a bad file becomes an `error`
//! entry and the batch goes on. An output file is written (atomically)
//! before its manifest line is appended, and every line is synced, so a
//! killed run loses no finished work and a rerun skips it.

use crate::stop::StopToken;
use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use serde_json::json;

use crate::input::{decode_bytes, extract_document, read_source, Document, InputError, InputItem};
use crate::model::{KvCache, Model, ModelError};
use crate::output::{
    output_path, relative_output_path, render, sha256_hex, write_atomic, Format, ManifestEntry,
    ManifestWriter, ModelRef, RenderedDoc, ResumeIndex, Status, MANIFEST_FILE_NAME,
};
use crate::progress::Progress;
use crate::task::guard::{GuardReport, Verdict};
use crate::task::prompt::{PromptStyle, PROMPT_VERSION};
use crate::task::{summarize, translate, SummaryOptions, TaskOutput, TranslateOptions};

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
        if let (Task::Summarize(o), Some(map)) = (self, params.as_object_mut()) {
            map.insert("max_words".into(), json!(o.max_words));
            map.insert("guard".into(), json!(o.guard.enabled));
            map.insert("guard_retries".into(), json!(o.guard.retries));
            // Recorded only when not the default: the default's text is
            // identified by prompt_version alone.
            if o.style != PromptStyle::default() {
                map.insert("prompt_style".into(), json!(o.style));
            }
        }
        params
    }

    /// Runs the task on one document; returns the text and the title to
    /// give the output file (translations translate the title too).
    fn run(
        &self,
        model: &Model,
        cache: &mut KvCache,
        doc: &Document,
    ) -> Result<(TaskOutput, Option<String>), ModelError> {
        match self {
            Task::Summarize(options) => summarize(model, cache, doc, options, &StopToken::never())
                .map(|out| (out, doc.title.clone())),
            Task::Translate(options) => translate(model, cache, doc, options, &StopToken::never())
                .map(|t| (t.output, t.title)),
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
}

/// Why a batch could not run at all.
#[derive(Debug, thiserror::Error)]
pub enum BatchError {
    /// The output directory or manifest cannot be created or written.
    #[error("cannot write to output directory {}: {source}", dir.display())]
    Output {
        /// The output directory.
        dir: PathBuf,
        /// The underlying error.
        source: std::io::Error,
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
}

/// Runs `config.task` over `inputs` with `model`, writing outputs and the
/// manifest under `config.output_dir`.
pub fn run_batch(
    model: &Model,
    model_ref: &ModelRef,
    inputs: &[InputItem],
    config: &BatchConfig,
    progress: &Progress,
) -> Result<BatchReport, BatchError> {
    let out_err = |source| BatchError::Output {
        dir: config.output_dir.clone(),
        source,
    };
    std::fs::create_dir_all(&config.output_dir).map_err(out_err)?;
    let manifest_path = config.output_dir.join(MANIFEST_FILE_NAME);
    let resume = ResumeIndex::load(&manifest_path).map_err(out_err)?;
    if resume.torn_lines() > 0 {
        progress.note(&format!(
            "ignored {} incomplete line(s) in {} (from an interrupted run)",
            resume.torn_lines(),
            manifest_path.display()
        ));
    }
    let writer = ManifestWriter::open(&manifest_path).map_err(out_err)?;
    let outputs = assign_output_paths(inputs, &config.output_dir, config.format);
    let worker = Worker {
        model,
        model_ref,
        config,
        params: config.task.params(config.format),
        resume: &resume,
        manifest_path: &manifest_path,
        stdout: Mutex::new(()),
    };
    progress.start(inputs.len());
    let tally = Mutex::new(BatchReport {
        manifest: manifest_path.clone(),
        ..BatchReport::default()
    });
    let write_failure: Mutex<Option<std::io::Error>> = Mutex::new(None);
    let next = AtomicUsize::new(0);
    // `jobs` workers pull inputs from a shared queue. They are plain
    // threads, not tasks of a work-stealing pool: a worker waits for model
    // passes (run on the kernels' own pool, shared through the step
    // batcher), and a pool thread that waits may start another queued task
    // on top of its own, which would then wait for the very pass it blocks.
    let started = std::thread::scope(|scope| {
        for job in 0..config.jobs.max(1) {
            let spawned = std::thread::Builder::new()
                .name(format!("kurz-job-{job}"))
                .spawn_scoped(scope, || {
                    let mut cache = model.transformer().new_cache();
                    loop {
                        let index = next.fetch_add(1, Ordering::SeqCst);
                        let (Some(item), Some(out_path)) = (inputs.get(index), outputs.get(index))
                        else {
                            break;
                        };
                        let entry = worker.process(&mut cache, item, out_path);
                        if let Err(e) = writer.append(&entry) {
                            lock(&write_failure).get_or_insert(e);
                        }
                        count(&mut lock(&tally), entry.status);
                        progress.file_done(&entry);
                    }
                });
            if let Err(e) = spawned {
                // Stop the queue: the workers already running finish the
                // file they hold.
                next.store(inputs.len(), Ordering::SeqCst);
                return Err(e);
            }
        }
        Ok(())
    });
    progress.finish();
    started.map_err(|e| BatchError::Threads {
        jobs: config.jobs,
        message: e.to_string(),
    })?;
    if let Some(e) = lock(&write_failure).take() {
        return Err(out_err(e));
    }
    let report = lock(&tally).clone();
    Ok(report)
}

/// Logical cores available to this process.
pub fn available_cores() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn count(report: &mut BatchReport, status: Status) {
    match status {
        Status::Ok => report.ok += 1,
        Status::Skipped => report.skipped += 1,
        Status::Error => report.failed += 1,
    }
}

/// Output path of every input; when two inputs would share one (`a.md` and
/// `a.txt`), each of them keeps its extension in the name (`a.md.en.md`).
pub fn assign_output_paths(inputs: &[InputItem], out_dir: &Path, format: Format) -> Vec<PathBuf> {
    let plain: Vec<PathBuf> = inputs
        .iter()
        .map(|i| output_path(out_dir, &i.output_stem, "en", format))
        .collect();
    let mut uses: HashMap<&PathBuf, usize> = HashMap::new();
    for p in &plain {
        *uses.entry(p).or_default() += 1;
    }
    inputs
        .iter()
        .zip(&plain)
        .map(|(item, path)| {
            if uses[path] == 1 {
                return path.clone();
            }
            let ext = Path::new(&item.display)
                .extension()
                .map(|e| e.to_string_lossy().into_owned())
                .unwrap_or_default();
            let mut stem = item.output_stem.clone().into_os_string();
            stem.push(format!(".{ext}"));
            output_path(out_dir, Path::new(&stem), "en", format)
        })
        .collect()
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
    #[error("cannot write {}: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl Worker<'_> {
    fn process(&self, cache: &mut KvCache, item: &InputItem, out_path: &Path) -> ManifestEntry {
        let started = Instant::now();
        let mut entry = self.blank_entry(item);
        if let Err(e) = self.process_into(&mut entry, cache, item, out_path) {
            entry.status = Status::Error;
            entry.error = Some(format!("{}: {e}", item.display));
        }
        if entry.status != Status::Skipped {
            entry.seconds = started.elapsed().as_secs_f64();
        }
        entry.finished_at = crate::output::now_rfc3339();
        entry
    }

    fn process_into(
        &self,
        entry: &mut ManifestEntry,
        cache: &mut KvCache,
        item: &InputItem,
        out_path: &Path,
    ) -> Result<(), ItemError> {
        let bytes = read_source(item, self.config.max_bytes)?;
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
        let (text, encoding) = decode_bytes(&bytes)?;
        let mut doc = extract_document(&text, item.kind)?;
        doc.encoding = encoding;
        entry.title = doc.title.clone();
        entry.language = doc.language.as_ref().map(|l| l.code.to_string());
        entry.warnings.extend(language_warning(&doc));
        let (result, title) = self.config.task.run(self.model, cache, &doc)?;
        self.write_output(item, &doc, title.as_deref(), &result.text, out_path)?;
        entry.output = Some(relative_output_path(self.manifest_path, out_path));
        entry.summary = Some(result.text.clone());
        entry.prompt_tokens = result.stats.prompt_tokens;
        entry.generated_tokens = result.stats.generated_tokens;
        entry.prefill_seconds = result.stats.prefill_seconds;
        entry.decode_seconds = result.stats.decode_seconds;
        entry.warnings.extend(result.warnings);
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

    /// Puts the guard's verdict into the entry; with `--strict`, an
    /// unrepaired summary makes it an error.
    fn record_guard(&self, entry: &mut ManifestEntry, item: &InputItem, report: &GuardReport) {
        entry.extra.insert("guard".into(), json!(report.guard));
        entry
            .extra
            .insert("attempts".into(), json!(report.attempts));
        entry
            .extra
            .insert("unsupported".into(), json!(report.unsupported));
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
        write_atomic(out_path, rendered.as_bytes()).map_err(|source| ItemError::Write {
            path: out_path.to_path_buf(),
            source,
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
            extra: serde_json::Map::new(),
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
