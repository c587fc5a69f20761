//! `kurz eval`: translation metrics, and WMT-style runs of the model.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use serde_json::json;

use super::run::{default_jobs, model_ref, resolve};
use crate::cli::{EvalCommand, ModelArgs};
use std::collections::BTreeMap;

use kurz::claims::{extract_claims, SourceIndex};
use kurz::eval::{
    check_parallel, corpus_bleu, corpus_chrf, read_lines, rouge, wmt::translate_lines, RougeScores,
};
use kurz::generate::Sampling;
use kurz::input::{load_document, output_stem_for, InputItem, InputKind, InputSource};
use kurz::output::{ManifestEntry, ResumeIndex, Status, MANIFEST_FILE_NAME};
use kurz::progress::{Progress, Verbosity};
use kurz::task::candidates::CandidateOptions;
use kurz::task::TranslateOptions;

/// Runs one `kurz eval` subcommand.
pub fn eval(cmd: EvalCommand) -> Result<ExitCode> {
    match cmd {
        EvalCommand::Translation {
            hyp,
            reference,
            json,
        } => translation(&hyp, &reference, json),
        EvalCommand::Summaries {
            summaries: dir,
            refs,
            json,
        } => summaries(&dir, refs.as_deref(), json),
        EvalCommand::Wmt {
            src,
            reference,
            limit,
            save,
            jobs,
            context,
            candidates,
            candidate_temperature,
            with_context,
            model,
            json,
        } => wmt(&WmtRun {
            src,
            reference,
            limit,
            save,
            jobs: jobs.map(|j| j as usize).unwrap_or_else(default_jobs),
            context,
            candidates,
            candidate_temperature,
            with_context,
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
    candidates: usize,
    candidate_temperature: f64,
    with_context: bool,
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
    // Compared before --limit: files of different lengths are not a test
    // set, whatever part of them is used.
    let sources = read_lines(&run.src)?;
    let refs = read_lines(&run.reference)?;
    if sources.len() != refs.len() {
        bail!(
            "{} has {} lines but {} has {}",
            run.src.display(),
            sources.len(),
            run.reference.display(),
            refs.len()
        );
    }
    let sources = take(sources);
    let refs = take(refs);
    let resolved = resolve(&run.model, false)?;
    let progress = Progress::new(Verbosity::Normal);
    let model_name = model_ref(&resolved, &progress)?.file;
    let model = super::load_model(&resolved.path, run.model.device, || {
        format!("cannot load {}", resolved.path.display())
    })?;
    let options = TranslateOptions {
        context: run.context.min(model.context_length()),
        sampling: Sampling::greedy(),
        candidates: CandidateOptions {
            count: run.candidates,
            temperature: run.candidate_temperature,
            ..CandidateOptions::default()
        },
        previous_paragraph: run.with_context,
    };
    let total = sources.len();
    let step = (total / 20).max(1);
    let started = std::time::Instant::now();
    let jobs = if run.with_context { 1 } else { run.jobs };
    let hyps = translate_lines(&model, &sources, &options, jobs, &|done| {
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
        } else {
            eprintln!(
                "kurz: skipping {}: {} lines, the reference has {}",
                path.display(),
                other.len(),
                refs.len()
            );
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

/// Per-summary faithfulness and ROUGE figures.
#[derive(Debug, Clone, serde::Serialize)]
struct SummaryEval {
    input: String,
    claims: usize,
    unsupported: Vec<String>,
    guard: Option<String>,
    rouge: Option<RougeScores>,
}

fn summaries(dir: &Path, refs: Option<&Path>, as_json: bool) -> Result<ExitCode> {
    let manifest = dir.join(MANIFEST_FILE_NAME);
    let index = ResumeIndex::load(&manifest)
        .with_context(|| format!("cannot read {}", manifest.display()))?;
    let mut latest: BTreeMap<String, &ManifestEntry> = BTreeMap::new();
    for entry in index.entries() {
        if entry.task == "summarize" && entry.status != Status::Error && entry.summary.is_some() {
            latest.insert(entry.input.clone(), entry);
        }
    }
    if latest.is_empty() {
        bail!("{} lists no summaries", manifest.display());
    }
    let mut rows = Vec::new();
    for (input, entry) in latest {
        rows.push(evaluate_summary(&input, entry, refs)?);
    }
    print_summary_eval(&rows, as_json);
    Ok(ExitCode::SUCCESS)
}

fn evaluate_summary(
    input: &str,
    entry: &ManifestEntry,
    refs: Option<&Path>,
) -> Result<SummaryEval> {
    let summary = entry.summary.clone().unwrap_or_default();
    let item = InputItem {
        source: InputSource::File(PathBuf::from(input)),
        display: input.to_string(),
        output_stem: output_stem_for(Path::new(input)),
        kind: InputKind::from_path(Path::new(input)).unwrap_or(InputKind::Text),
    };
    let doc = load_document(&item, u64::MAX)
        .with_context(|| format!("cannot read the source article {input}"))?;
    let source = match &doc.title {
        Some(t) => format!("{t}\n\n{}", doc.text),
        None => doc.text.clone(),
    };
    let index = SourceIndex::new(&source);
    let claims = extract_claims(&summary);
    let unsupported = claims
        .iter()
        .filter(|c| !index.supports(c))
        .map(|c| c.text.clone())
        .collect();
    let rouge = match refs {
        Some(dir) => reference_for(dir, &item.output_stem)
            .map(|r| {
                std::fs::read_to_string(&r).with_context(|| format!("cannot read {}", r.display()))
            })
            .transpose()?
            .map(|r| rouge(&summary, &r)),
        None => None,
    };
    Ok(SummaryEval {
        input: input.to_string(),
        claims: claims.len(),
        unsupported,
        guard: entry
            .extra
            .get("guard")
            .and_then(|g| g.as_str())
            .map(str::to_string),
        rouge,
    })
}

/// The reference summary for an input, by its output stem.
fn reference_for(dir: &Path, stem: &Path) -> Option<PathBuf> {
    ["txt", "md", "en.txt", "en.md"]
        .iter()
        .map(|ext| {
            let mut p = dir.join(stem).into_os_string();
            p.push(format!(".{ext}"));
            PathBuf::from(p)
        })
        .find(|p| p.is_file())
}

fn print_summary_eval(rows: &[SummaryEval], as_json: bool) {
    let claims: usize = rows.iter().map(|r| r.claims).sum();
    let unsupported: usize = rows.iter().map(|r| r.unsupported.len()).sum();
    let with_unsupported = rows.iter().filter(|r| !r.unsupported.is_empty()).count();
    let repaired = rows
        .iter()
        .filter(|r| r.guard.as_deref() == Some("repaired"))
        .count();
    let scored: Vec<&RougeScores> = rows.iter().filter_map(|r| r.rouge.as_ref()).collect();
    let mean = |f: &dyn Fn(&RougeScores) -> f64| {
        if scored.is_empty() {
            None
        } else {
            Some(scored.iter().map(|s| f(s)).sum::<f64>() / scored.len() as f64)
        }
    };
    let totals = json!({
        "summaries": rows.len(),
        "claims": claims,
        "unsupported_claims": unsupported,
        "unsupported_rate": if claims > 0 { unsupported as f64 / claims as f64 } else { 0.0 },
        "summaries_with_unsupported": with_unsupported,
        "guard_repaired": repaired,
        "with_reference": scored.len(),
        "rouge1_f": mean(&|s| s.rouge1.fmeasure),
        "rouge2_f": mean(&|s| s.rouge2.fmeasure),
        "rougeL_f": mean(&|s| s.rouge_l.fmeasure),
    });
    if as_json {
        println!("{}", json!({"totals": totals, "summaries": rows}));
        return;
    }
    for r in rows {
        let rouge = r
            .rouge
            .as_ref()
            .map(|s| {
                format!(
                    "R1 {:.3} R2 {:.3} RL {:.3}",
                    s.rouge1.fmeasure, s.rouge2.fmeasure, s.rouge_l.fmeasure
                )
            })
            .unwrap_or_default();
        println!(
            "{:<50} claims {:>3}  unsupported {:>2} {:<30} guard {:<8} {rouge}",
            r.input,
            r.claims,
            r.unsupported.len(),
            format!("{:?}", r.unsupported),
            r.guard.as_deref().unwrap_or("-"),
        );
    }
    println!(
        "\n{}",
        serde_json::to_string_pretty(&totals).unwrap_or_default()
    );
}
