//! `kurz eval`: translation metrics, and WMT-style runs of the model.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use serde_json::json;

use super::run::{default_jobs, model_ref, resolve};
use crate::cli::{EvalCommand, ModelArgs};
use kurz::eval::{check_parallel, corpus_bleu, corpus_chrf, read_lines, wmt::translate_lines};
use kurz::generate::Sampling;
use kurz::model::{default_device, Model};
use kurz::progress::{Progress, Verbosity};
use kurz::task::TranslateOptions;

/// Runs one `kurz eval` subcommand.
pub fn eval(cmd: EvalCommand) -> Result<ExitCode> {
    match cmd {
        EvalCommand::Translation {
            hyp,
            reference,
            json,
        } => translation(&hyp, &reference, json),
        EvalCommand::Wmt {
            src,
            reference,
            limit,
            save,
            jobs,
            context,
            model,
            json,
        } => wmt(&WmtRun {
            src,
            reference,
            limit,
            save,
            jobs: jobs.map(|j| j as usize).unwrap_or_else(default_jobs),
            context,
            model,
            json,
        }),
    }
}

/// chrF and BLEU of one system against one reference.
#[derive(Debug, Clone, serde::Serialize)]
struct SystemScore {
    system: String,
    lines: usize,
    chrf: f64,
    bleu: f64,
}

fn score(system: &str, hyps: &[String], refs: &[String]) -> Result<SystemScore> {
    check_parallel(hyps, refs)?;
    Ok(SystemScore {
        system: system.to_string(),
        lines: hyps.len(),
        chrf: corpus_chrf(hyps, refs).score,
        bleu: corpus_bleu(hyps, refs).score,
    })
}

fn translation(hyp: &Path, reference: &Path, as_json: bool) -> Result<ExitCode> {
    let hyps = read_lines(hyp)?;
    let refs = read_lines(reference)?;
    let s = score(&hyp.display().to_string(), &hyps, &refs)?;
    print_scores(&[s], as_json);
    Ok(ExitCode::SUCCESS)
}

struct WmtRun {
    src: PathBuf,
    reference: PathBuf,
    limit: Option<usize>,
    save: Option<PathBuf>,
    jobs: usize,
    context: usize,
    model: ModelArgs,
    json: bool,
}

fn wmt(run: &WmtRun) -> Result<ExitCode> {
    let take = |mut lines: Vec<String>| {
        if let Some(n) = run.limit {
            lines.truncate(n);
        }
        lines
    };
    let sources = take(read_lines(&run.src)?);
    let refs = take(read_lines(&run.reference)?);
    if sources.len() != refs.len() {
        bail!(
            "{} has {} lines but {} has {}",
            run.src.display(),
            sources.len(),
            run.reference.display(),
            refs.len()
        );
    }
    let resolved = resolve(&run.model, false)?;
    let progress = Progress::new(Verbosity::Normal);
    let model_name = model_ref(&resolved, &progress)?.file;
    let model = Model::load(&resolved.path, &default_device())
        .with_context(|| format!("cannot load {}", resolved.path.display()))?;
    let options = TranslateOptions {
        context: run.context.min(model.context_length()),
        sampling: Sampling::greedy(),
    };
    let total = sources.len();
    let step = (total / 20).max(1);
    let started = std::time::Instant::now();
    let hyps = translate_lines(&model, &sources, &options, run.jobs, &|done| {
        if done % step == 0 || done == total {
            eprintln!(
                "kurz: translated {done}/{total} lines ({:.0} s)",
                started.elapsed().as_secs_f64()
            );
        }
    })?;
    if let Some(path) = &run.save {
        kurz::output::write_atomic(path, (hyps.join("\n") + "\n").as_bytes())
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    let mut scores = vec![score(&format!("kurz ({model_name})"), &hyps, &refs)?];
    for (name, path) in published_systems(&run.reference) {
        let other = take(read_lines(&path)?);
        if other.len() == refs.len() {
            scores.push(score(&name, &other, &refs)?);
        }
    }
    print_scores(&scores, run.json);
    Ok(ExitCode::SUCCESS)
}

/// `hyp.<system>.en` files next to the reference, sorted by system name.
fn published_systems(reference: &Path) -> Vec<(String, PathBuf)> {
    let dir = reference.parent().unwrap_or_else(|| Path::new("."));
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut systems: Vec<(String, PathBuf)> = entries
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let system = name.strip_prefix("hyp.")?.strip_suffix(".en")?.to_string();
            Some((system, e.path()))
        })
        .collect();
    systems.sort();
    systems
}

fn print_scores(scores: &[SystemScore], as_json: bool) {
    if as_json {
        println!("{}", json!(scores));
        return;
    }
    println!(
        "{:<40} {:>6} {:>8} {:>8}",
        "system", "lines", "chrF2", "BLEU"
    );
    for s in scores {
        println!(
            "{:<40} {:>6} {:>8.2} {:>8.2}",
            s.system, s.lines, s.chrf, s.bleu
        );
    }
}
