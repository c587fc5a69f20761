//! `kurz summarize` and `kurz translate`: discover inputs, load the model
//! once, run the batch, map the outcome to an exit status.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};

use super::EXIT_SOME_FAILED;
use crate::cli::{ModelArgs, RunArgs, SummarizeArgs, TranslateArgs};
use kurz::batch::{
    load_resume_index, run_batch_locked, BatchConfig, BatchError, BatchReport, Task,
};
use kurz::generate::Sampling;
use kurz::input::root::{common_root, contains_all, pinned_root, set_output_stems};
use kurz::input::{discover, DiscoverOptions, InputItem, READABLE_FORMATS};
use kurz::model::Model;
use kurz::output::manifest::Sha256From;
use kurz::output::{sha256_file, ModelRef, RecordedRoot, ResumeIndex};
use kurz::progress::{Progress, TransferProgress, Verbosity};
use kurz::registry::{resolve_model, ModelCache, PullOptions, Registry, ResolvedModel};
use kurz::shard::{lock_output, select, write_plan, Shard, ShardSpec};
use kurz::stop::Interrupt;
use kurz::task::candidates::{
    CandidateOptions, DEFAULT_CANDIDATES, DEFAULT_TRANSLATION_CANDIDATES,
};
use kurz::task::guard::GuardOptions;
use kurz::task::Glossary;
use kurz::task::{SummaryOptions, TranslateOptions};

/// Largest default prompt budget: beyond it, CPU inference slows sharply.
const DEFAULT_CONTEXT_CAP: usize = 4096;

/// `kurz summarize`; `interrupt` is raised by SIGINT/SIGTERM.
pub fn summarize(args: SummarizeArgs, interrupt: &Interrupt) -> Result<ExitCode> {
    let run = &args.run;
    let sampling = sampling(run)?;
    let max_words = args.max_words as usize;
    let guard = GuardOptions {
        enabled: !args.no_guard,
        retries: args.guard_retries as usize,
    };
    let output = run.output.clone().unwrap_or_else(|| "kurz-out".into());
    let strict = args.strict;
    let style = args.prompt_style.unwrap_or_default();
    let candidates = candidate_options(run, DEFAULT_CANDIDATES);
    run_task(run, &output, strict, interrupt, |context| {
        Task::Summarize(SummaryOptions {
            max_words,
            context,
            sampling,
            guard,
            candidates,
            style,
        })
    })
}

/// The `--candidates` settings, `default` candidates when not given.
fn candidate_options(run: &RunArgs, default: usize) -> CandidateOptions {
    CandidateOptions {
        count: run.candidates.unwrap_or(default),
        temperature: run.candidate_temperature,
        ..CandidateOptions::default()
    }
}

/// `kurz translate`; `interrupt` is raised by SIGINT/SIGTERM.
pub fn translate(args: TranslateArgs, interrupt: &Interrupt) -> Result<ExitCode> {
    let run = &args.run;
    let sampling = sampling(run)?;
    let output = run
        .output
        .clone()
        .unwrap_or_else(|| "kurz-translations".into());
    let candidates = candidate_options(run, DEFAULT_TRANSLATION_CANDIDATES);
    let previous_paragraph = args.with_context;
    run_task(run, &output, false, interrupt, |context| {
        Task::Translate(TranslateOptions {
            context,
            sampling,
            candidates,
            previous_paragraph,
        })
    })
}

/// Discovers inputs, loads the model, runs the batch and maps the outcome
/// to an exit status: 0 all done, 2 some inputs failed, 128+signal when
/// interrupted (after the tally line); an error (exit 1) when the output
/// folder is in use or cannot be written.
fn run_task(
    run: &RunArgs,
    output: &Path,
    strict: bool,
    interrupt: &Interrupt,
    task: impl Fn(usize) -> Task,
) -> Result<ExitCode> {
    let verbosity = verbosity(run);
    let progress = Progress::new(verbosity);
    // A usage error: checked before inputs are looked for or a model loads.
    let glossary = run.glossary.as_deref().map(Glossary::load).transpose()?;
    if let (Some(glossary), Some(path), Verbosity::Verbose) = (&glossary, &run.glossary, verbosity)
    {
        progress.note(&format!(
            "glossary {}: {} entries",
            path.display(),
            glossary.entries().len()
        ));
    }
    let shard = shard_of_run(run)?;
    let mut inputs = find_inputs(run, output, &progress)?;
    let cwd = std::env::current_dir().context("cannot read the current folder")?;
    // A usage error, so checked before the output folder is made.
    let pinned_root = run
        .root
        .as_deref()
        .map(|root| pin_root(root, &mut inputs, &cwd))
        .transpose()?;
    // Locked before the model loads, so a second run fails at once; the
    // manifests are read once, under the lock, for the layout and resume.
    let lock = lock_output(output, shard)?;
    let resume = load_resume_index(output, shard)?;
    let input_root = match pinned_root {
        Some(root) => Some(root),
        None => place_outputs(run, output, &resume, &mut inputs, &cwd, &progress)?,
    };
    if let Some(shard) = shard {
        let found = inputs.len();
        inputs = select(inputs, &run.paths, shard);
        if inputs.is_empty() {
            // Recorded, so merge and status know this shard ran.
            let task_name = task(0).name();
            write_plan(output, shard, task_name, Vec::new(), None).with_context(|| {
                format!(
                    "cannot write the plan of shard {shard} in {}",
                    output.display()
                )
            })?;
            progress.note(&format!(
                "shard {shard}: none of the {found} inputs is assigned to this shard; nothing to do"
            ));
            return Ok(ExitCode::SUCCESS);
        }
        if verbosity == Verbosity::Verbose {
            progress.note(&format!(
                "shard {shard}: {} of {found} inputs",
                inputs.len()
            ));
        }
    }
    let resolved = resolve(&run.model, verbosity == Verbosity::Quiet)?;
    let started = std::time::Instant::now();
    let model = super::load_model(&resolved.path, run.model.device, || {
        how_to_get_model(&run.model)
    })?;
    let model_ref = ModelRef {
        kernels: model.transformer().cpu_kernels().map(|k| k.to_string()),
        device: Some(kurz::model::device_name(model.transformer().device())),
        ..model_ref(&resolved, &progress)?
    };
    if verbosity == Verbosity::Verbose {
        progress.note(&format!(
            "loaded {} ({}) in {:.2} s",
            resolved.path.display(),
            model.info().architecture,
            started.elapsed().as_secs_f64()
        ));
    }
    let context = call_budget(run.context, &model);
    let config = BatchConfig {
        output_dir: output.to_path_buf(),
        format: run.format.into(),
        force: run.force,
        jobs: run.jobs.map(|j| j as usize).unwrap_or_else(default_jobs),
        max_bytes: run.max_bytes,
        echo_stdout: run.stdout,
        strict,
        task: task(context),
        interrupt: interrupt.clone(),
        timeout_per_file: run.timeout_per_file,
        shard,
        input_root,
        glossary,
    };
    let outcome = run_batch_locked(
        &model, &model_ref, &inputs, &config, &progress, &lock, &resume,
    );
    let report = match outcome {
        Ok(report) => report,
        Err(BatchError::Write {
            path,
            error,
            report,
        }) => {
            print_tally(&report, Verbosity::Normal);
            return Err(BatchError::Write {
                path,
                error,
                report,
            }
            .into());
        }
        Err(e) => return Err(e.into()),
    };
    print_tally(&report, verbosity);
    if report.interrupted {
        return Ok(ExitCode::from(interrupt.exit_status().unwrap_or(130)));
    }
    Ok(if report.failed > 0 {
        ExitCode::from(EXIT_SOME_FAILED)
    } else {
        ExitCode::SUCCESS
    })
}

/// The shard `--shard` names (reading the engine's variables for `auto`);
/// `None` without `--shard`.
fn shard_of_run(run: &RunArgs) -> Result<Option<Shard>> {
    let Some(text) = &run.shard else {
        return Ok(None);
    };
    let spec = ShardSpec::parse(text)?;
    Ok(Some(spec.resolve(|name| std::env::var(name).ok())?))
}

/// Token budget of one model call: `--context` if given, else the model's
/// context capped at [`DEFAULT_CONTEXT_CAP`]; never more than the model's.
pub(crate) fn call_budget(context: Option<u64>, model: &Model) -> usize {
    let budget = match context {
        Some(c) => c as usize,
        None => DEFAULT_CONTEXT_CAP,
    };
    budget.min(model.context_length())
}

pub(crate) fn sampling(run: &RunArgs) -> Result<Sampling> {
    if !(0.0..=10.0).contains(&run.temperature) {
        bail!("--temperature must be between 0 and 10");
    }
    if let Some(p) = run.top_p {
        if !(p > 0.0 && p <= 1.0) {
            bail!("--top-p must be in (0, 1]");
        }
    }
    Ok(Sampling {
        temperature: run.temperature,
        top_p: run.top_p,
        seed: run.seed,
    })
}

pub(crate) fn verbosity(run: &RunArgs) -> Verbosity {
    match (run.quiet, run.verbose) {
        (true, _) => Verbosity::Quiet,
        (_, true) => Verbosity::Verbose,
        _ => Verbosity::Normal,
    }
}

/// Files processed at once by default: one. Every file's matrix products
/// already use every core. Several jobs share passes over the weights (see
/// `model::batcher`), and that pays off only moderately on a small CPU:
/// measured on 2 cores with qwen2.5-coder-1.5b over bench/articles/ (20
/// articles, guard off), `--jobs 1` 319 s, `--jobs 2` 299 s, `--jobs 3`
/// 285 s, while peak memory grows from 1.16x the model file to 1.20x and
/// 1.24x (an earlier sweep: 290, 279, 252 s, and `--jobs 4` 263 s at
/// 1.51x). With the later kernels, over 6 of those articles: 83, 76 and
/// 66 s at 1.13x, 1.17x and 1.23x. Prompt processing, most of the work,
/// is compute-bound and shares nothing. One job keeps memory lowest;
/// `--jobs 3` is the faster choice where memory is plentiful.
pub(crate) fn default_jobs() -> usize {
    1
}

fn find_inputs(run: &RunArgs, output: &Path, progress: &Progress) -> Result<Vec<InputItem>> {
    let options = DiscoverOptions {
        include: run.include.clone(),
        exclude: run.exclude.clone(),
        max_bytes: Some(run.max_bytes),
    };
    let discovery = discover(&run.paths, &options)?;
    for skipped in &discovery.skipped {
        progress.note(&format!(
            "skipping {}: {}",
            skipped.path.display(),
            skipped.reason
        ));
    }
    let inputs = without_outputs(discovery.inputs, output);
    if inputs.is_empty() {
        bail!(
            "no input files found in {} (kurz reads {READABLE_FORMATS})",
            run.paths
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    Ok(inputs)
}

/// `--root DIR`: every input's output stem relative to DIR, which must be
/// an existing folder holding every input.
fn pin_root(root: &Path, inputs: &mut [InputItem], cwd: &Path) -> Result<PathBuf> {
    let root = pinned_root(root, cwd)?;
    set_output_stems(inputs, &root, cwd)?;
    Ok(root)
}

/// Chooses the input root the outputs mirror (see [`kurz::input::root`])
/// when `--root` is not given, and gives every input its output stem below
/// it. The root an earlier run of `output` recorded (in `earlier`, its
/// manifests) is kept when it holds every input, so adding an argument
/// moves no finished output; otherwise the deepest folder holding every
/// argument (the current folder for standard input alone). An output folder
/// written by a kurz without input roots keeps its layout (paths as given):
/// `None`.
fn place_outputs(
    run: &RunArgs,
    output: &Path,
    earlier: &ResumeIndex,
    inputs: &mut [InputItem],
    cwd: &Path,
    progress: &Progress,
) -> Result<Option<PathBuf>> {
    let computed = common_root(&run.paths, cwd).unwrap_or_else(|| cwd.to_path_buf());
    let root = match earlier.recorded_root() {
        RecordedRoot::AsGiven => {
            progress.note(&format!(
                "{} was written by an earlier kurz that mirrored input paths as given; \
                 keeping that layout (use --root DIR or a new output folder for \
                 paths relative to DIR)",
                output.display()
            ));
            return Ok(None);
        }
        RecordedRoot::Root(recorded) if contains_all(&recorded, inputs, cwd) => recorded,
        RecordedRoot::Root(recorded) => {
            if recorded != computed {
                progress.note(&format!(
                    "results are placed below {} relative to {}, not to {} as in the \
                     earlier run of this folder (not every input lies there); finished \
                     inputs keep their files; pass --root to choose",
                    output.display(),
                    computed.display(),
                    recorded.display()
                ));
            }
            computed
        }
        RecordedRoot::Nothing => computed,
    };
    set_output_stems(inputs, &root, cwd)?;
    Ok(Some(root))
}

/// Drops inputs that live inside the output directory (kurz's own results
/// when the output folder sits inside an input folder).
fn without_outputs(inputs: Vec<InputItem>, output: &Path) -> Vec<InputItem> {
    let Ok(out) = output.canonicalize() else {
        return inputs;
    };
    inputs
        .into_iter()
        .filter(|item| match item.source.path() {
            Some(p) => !p.canonicalize().is_ok_and(|c| c.starts_with(&out)),
            None => true,
        })
        .collect()
}

pub(crate) fn resolve(args: &ModelArgs, quiet: bool) -> Result<ResolvedModel> {
    let registry = Registry::builtin()?;
    let cache = ModelCache::from_env(args.cache_dir.as_deref());
    let options = PullOptions {
        force: false,
        offline: args.offline,
        verify: args.verify_model,
    };
    let progress = TransferProgress::new(quiet);
    Ok(resolve_model(
        args.model.as_deref(),
        &registry,
        &cache,
        &options,
        &progress,
    )?)
}

pub(crate) fn how_to_get_model(args: &ModelArgs) -> String {
    match &args.model {
        Some(m) => format!(
            "cannot use model `{m}`; give a valid .gguf file or a preset id (`kurz models list`)"
        ),
        None => "cannot use the default model; try `kurz models verify` and `kurz models pull --force <id>`".to_string(),
    }
}

/// The model's name and sha256 for manifests (hashing the file when no
/// verified digest is known), and whether the digest was computed now or
/// read from the cache record; `kernels` is for the caller that loaded the
/// model to fill in.
pub(crate) fn model_ref(resolved: &ResolvedModel, progress: &Progress) -> Result<ModelRef> {
    let (sha256, sha256_from) = match &resolved.sha256 {
        Some(sha) => (
            sha.clone(),
            resolved.sha256_from.unwrap_or(Sha256From::CacheRecord),
        ),
        None => {
            progress.note(&format!("hashing {}", resolved.path.display()));
            let sha = sha256_file(&resolved.path)
                .with_context(|| format!("cannot read model file {}", resolved.path.display()))?;
            (sha, Sha256From::Computed)
        }
    };
    let file = resolved
        .preset
        .clone()
        .or_else(|| {
            resolved
                .path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
        })
        .unwrap_or_default();
    Ok(ModelRef {
        file,
        sha256,
        sha256_from: Some(sha256_from),
        kernels: None,
        device: None,
    })
}

fn print_tally(report: &BatchReport, verbosity: Verbosity) {
    if verbosity == Verbosity::Quiet && report.failed == 0 && !report.interrupted {
        return;
    }
    if report.interrupted {
        eprintln!("kurz: interrupted; a rerun does the inputs that were not finished");
    }
    eprintln!(
        "kurz: {} ok, {} skipped, {} failed; manifest: {}",
        report.ok,
        report.skipped,
        report.failed,
        report.manifest.display()
    );
}
