//! `kurz bench`: speed figures of the model on real summary prompts, and the
//! prompts themselves for running the identical token sequences in another
//! engine (bench/run.sh compares with llama.cpp that way).
//!
//! For each article the prompt is built as `kurz summarize` builds it for an
//! article that fits one call (same document extraction, same prompt
//! builder, no guard hints), and generation is greedy and stops at an
//! end-of-turn token or the cap, as in `summarize`. Articles that
//! `summarize` would split into chunks are still run as one prompt (marked
//! `"fits": false`) when it fits the model's context.
//!
//! The report names the kernel path that ran (`kernels`: `portable`,
//! `candle`, `avx2` or `avx512`, as `KURZ_KERNELS` chose it; `candle` also
//! where Candle's kernels ran the model on a GPU): figures are only
//! comparable on the same path.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use serde::Serialize;
use serde_json::json;

use super::run::{call_budget, how_to_get_model, resolve};
use super::EXIT_SOME_FAILED;
use crate::cli::BenchArgs;
use crate::outln;
use kurz::generate::{generate, GenerateOptions, Generation, Sampling};
use kurz::input::{discover, load_document, DiscoverOptions, InputItem, READABLE_FORMATS};
use kurz::model::Model;
use kurz::task::prompt::PromptStyle;
use kurz::task::summarize::{answer_token_budget, whole_article_prompt};

/// Tokens generated per article when neither --max-new-tokens nor
/// --summary-budget says otherwise.
const DEFAULT_MAX_NEW_TOKENS: usize = 128;
/// Largest input read, as `summarize`'s default --max-bytes.
const MAX_BYTES: u64 = 2 * 1024 * 1024;

/// One article's figures.
#[derive(Debug, Serialize)]
struct FileResult {
    file: String,
    prompt_tokens: usize,
    /// Whether prompt and answer fit one `summarize` call (else it chunks).
    fits: bool,
    prefill_s: f64,
    prefill_tok_s: f64,
    generated_tokens: usize,
    decode_s: f64,
    decode_tok_s: f64,
    stop: kurz::generate::StopReason,
    /// The generated token ids (to compare with another engine's).
    output_tokens: Vec<u32>,
}

pub fn bench(args: BenchArgs) -> Result<ExitCode> {
    let inputs = find_inputs(&args)?;
    let resolved = resolve(&args.model, args.json)?;
    let started = Instant::now();
    let model = super::load_model(&resolved.path, args.model.device, || {
        how_to_get_model(&args.model)
    })?;
    let load_s = started.elapsed().as_secs_f64();
    let max_words = args.max_words as usize;
    let max_new_tokens = match (args.summary_budget, args.max_new_tokens) {
        (true, _) => answer_token_budget(max_words),
        (false, Some(n)) => n,
        (false, None) => DEFAULT_MAX_NEW_TOKENS,
    };
    let budget = call_budget(args.context, &model);
    let prompts: Vec<(String, Result<Vec<u32>>)> = inputs
        .iter()
        .map(|item| {
            (
                item.display.clone(),
                summary_prompt(&model, item, max_words),
            )
        })
        .collect();
    let fits = |ids: &[u32]| ids.len() + max_new_tokens <= budget;

    if let Some(out) = &args.dump_prompts {
        let failed = dump_prompts(out, &prompts, max_new_tokens, model.stop_tokens(), fits)?;
        return Ok(exit_code(failed));
    }

    let mut cache = model.transformer().new_cache();
    let options = GenerateOptions {
        max_new_tokens,
        sampling: Sampling::greedy(),
        ..GenerateOptions::default()
    };
    let mut results = Vec::new();
    let mut errors = Vec::new();
    for (file, ids) in &prompts {
        let run = ids.as_ref().map_err(|e| anyhow::anyhow!("{e:#}")).and_then(|ids| {
            if ids.len() + max_new_tokens > model.context_length() {
                bail!(
                    "prompt of {} tokens plus {max_new_tokens} new ones exceeds the model's context ({})",
                    ids.len(),
                    model.context_length()
                );
            }
            Ok((generate(&model, &mut cache, ids, &options)?, fits(ids)))
        });
        match run {
            Ok((generation, fits)) => results.push(file_result(file, &generation, fits)),
            Err(e) => {
                warn_line(&format!("{file}: {e:#}"));
                errors.push(json!({ "file": file, "error": format!("{e:#}") }));
            }
        }
    }

    let totals = totals(&results);
    if args.json {
        let report = json!({
            "model": resolved.path,
            "architecture": model.info().architecture,
            "kernels": kernels_name(&model),
            "device": kurz::model::device_name(model.transformer().device()),
            "threads": kurz::model::tensor_threads(),
            "max_new_tokens": max_new_tokens,
            "load_s": load_s,
            "files": results,
            "errors": errors,
            "totals": totals,
        });
        outln!("{report}")?;
    } else {
        print_table(&resolved.path, &model, load_s, &results, &totals)?;
    }
    Ok(exit_code(!errors.is_empty()))
}

/// The kernel path that runs `model`: a [`kurz::model::CpuKernels`] path
/// name, or `candle` where Candle's kernels run it (GPU builds).
fn kernels_name(model: &Model) -> String {
    model
        .transformer()
        .cpu_kernels()
        .map_or_else(|| "candle".to_string(), |k| k.to_string())
}

/// Prints `kurz: <message>` on stderr, control characters escaped (the
/// message names an input file).
fn warn_line(message: &str) {
    kurz::progress::print_stderr(&format!(
        "kurz: {}",
        kurz::progress::escape_for_terminal(message)
    ));
}

/// Discovers the articles as `summarize` does (folders recursively).
fn find_inputs(args: &BenchArgs) -> Result<Vec<InputItem>> {
    let discovery = discover(&args.paths, &DiscoverOptions::default())?;
    for skipped in &discovery.skipped {
        warn_line(&format!(
            "skipping {}: {}",
            skipped.path.display(),
            skipped.reason
        ));
    }
    if discovery.inputs.is_empty() {
        bail!("no input files found (kurz reads {READABLE_FORMATS})");
    }
    Ok(discovery.inputs)
}

/// The token ids `kurz summarize` feeds the model for `item` read as one
/// whole article (the guard's first attempt, or with --no-guard). The bench
/// runs every one of them: it measures the engine on whole prompts, where
/// `summarize` copies the keys and values of the shared opening.
fn summary_prompt(model: &Model, item: &InputItem, max_words: usize) -> Result<Vec<u32>> {
    let doc = load_document(item, MAX_BYTES)?;
    Ok(whole_article_prompt(model, &doc, PromptStyle::default(), max_words)?.tokens)
}

/// Writes one JSON line per article; returns whether some failed.
fn dump_prompts(
    out: &Path,
    prompts: &[(String, Result<Vec<u32>>)],
    max_new_tokens: usize,
    stop_tokens: &[u32],
    fits: impl Fn(&[u32]) -> bool,
) -> Result<bool> {
    let file =
        std::fs::File::create(out).with_context(|| format!("cannot create {}", out.display()))?;
    let mut w = std::io::BufWriter::new(file);
    let mut failed = false;
    for (name, ids) in prompts {
        match ids {
            Ok(ids) => {
                let line = json!({
                    "file": name,
                    "prompt_tokens": ids,
                    "max_new_tokens": max_new_tokens,
                    "stop_tokens": stop_tokens,
                    "fits": fits(ids),
                });
                writeln!(w, "{line}")?;
            }
            Err(e) => {
                warn_line(&format!("{name}: {e:#}"));
                failed = true;
            }
        }
    }
    w.flush()
        .with_context(|| format!("cannot write {}", out.display()))?;
    Ok(failed)
}

fn file_result(file: &str, g: &Generation, fits: bool) -> FileResult {
    FileResult {
        file: file.to_string(),
        prompt_tokens: g.prompt_tokens,
        fits,
        prefill_s: g.prefill_seconds,
        prefill_tok_s: rate(g.prompt_tokens, g.prefill_seconds),
        generated_tokens: g.tokens.len(),
        decode_s: g.decode_seconds,
        decode_tok_s: rate(g.tokens.len(), g.decode_seconds),
        stop: g.stop,
        output_tokens: g.tokens.clone(),
    }
}

/// Sums over all articles; rates are total tokens over total seconds.
fn totals(results: &[FileResult]) -> serde_json::Value {
    let prompt: usize = results.iter().map(|r| r.prompt_tokens).sum();
    let generated: usize = results.iter().map(|r| r.generated_tokens).sum();
    let prefill_s: f64 = results.iter().map(|r| r.prefill_s).sum();
    let decode_s: f64 = results.iter().map(|r| r.decode_s).sum();
    json!({
        "files": results.len(),
        "prompt_tokens": prompt,
        "prefill_s": prefill_s,
        "prefill_tok_s": rate(prompt, prefill_s),
        "generated_tokens": generated,
        "decode_s": decode_s,
        "decode_tok_s": rate(generated, decode_s),
    })
}

fn rate(tokens: usize, seconds: f64) -> f64 {
    if seconds > 0.0 {
        tokens as f64 / seconds
    } else {
        0.0
    }
}

fn print_table(
    path: &Path,
    model: &Model,
    load_s: f64,
    results: &[FileResult],
    totals: &serde_json::Value,
) -> Result<(), super::StdoutError> {
    outln!(
        "model {} ({}), device: {}, kernels: {}, {} threads, loaded in {load_s:.2} s",
        kurz::progress::escape_for_terminal(&path.display().to_string()),
        model.info().architecture,
        kurz::model::device_name(model.transformer().device()),
        kernels_name(model),
        kurz::model::tensor_threads()
    )?;
    outln!(
        "{:<40} {:>7} {:>9} {:>9} {:>5} {:>8} {:>8}  stop",
        "file",
        "prompt",
        "prefill s",
        "tok/s",
        "gen",
        "decode s",
        "tok/s"
    )?;
    for r in results {
        let stop = match r.stop {
            kurz::generate::StopReason::EndOfTurn => "eos",
            kurz::generate::StopReason::MaxTokens => "cap",
            kurz::generate::StopReason::Enough => "enough",
        };
        outln!(
            "{:<40} {:>7} {:>9.2} {:>9.1} {:>5} {:>8.2} {:>8.1}  {stop}{}",
            kurz::progress::escape_for_terminal(&r.file),
            r.prompt_tokens,
            r.prefill_s,
            r.prefill_tok_s,
            r.generated_tokens,
            r.decode_s,
            r.decode_tok_s,
            if r.fits {
                ""
            } else {
                " (summarize would chunk)"
            }
        )?;
    }
    let f = |k: &str| totals[k].as_f64().unwrap_or(0.0);
    outln!(
        "{:<40} {:>7} {:>9.2} {:>9.1} {:>5} {:>8.2} {:>8.1}",
        "total",
        f("prompt_tokens"),
        f("prefill_s"),
        f("prefill_tok_s"),
        f("generated_tokens"),
        f("decode_s"),
        f("decode_tok_s")
    )
}

fn exit_code(some_failed: bool) -> ExitCode {
    if some_failed {
        ExitCode::from(EXIT_SOME_FAILED)
    } else {
        ExitCode::SUCCESS
    }
}
