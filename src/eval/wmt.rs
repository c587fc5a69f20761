//! Translating a test set line by line with a model, for `kurz eval wmt`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use crate::batch::{run_workers, Flow};
use crate::input::Document;
use crate::model::{KvCache, Model, ModelError};
use crate::stop::StopToken;
use crate::sync::lock;
use crate::task::{translate, TranslateOptions};

/// Translates every line of `sources` (one segment per line) with `jobs`
/// workers (the batch runner's threads, each with its own cache); the
/// result has one line per source line, in order, and does not depend on
/// `jobs`. `on_done` is called after each line. The first failing line
/// stops the run and its error is returned.
pub fn translate_lines(
    model: &Model,
    sources: &[String],
    options: &TranslateOptions,
    jobs: usize,
    on_done: &(dyn Fn(usize) + Sync),
) -> Result<Vec<String>, ModelError> {
    if options.previous_paragraph {
        return translate_in_order(model, sources, options, on_done);
    }
    let results: Vec<Mutex<Option<String>>> = sources.iter().map(|_| Mutex::new(None)).collect();
    let failure: Mutex<Option<(usize, ModelError)>> = Mutex::new(None);
    let done = AtomicUsize::new(0);
    run_workers(
        "kurz-wmt",
        jobs,
        sources.len(),
        || model.transformer().new_cache(),
        |cache, i| match translate_line(model, cache, &sources[i], options) {
            Ok(line) => {
                *lock(&results[i]) = Some(line);
                on_done(done.fetch_add(1, Ordering::SeqCst) + 1);
                Flow::Continue
            }
            Err(e) => {
                let mut first = lock(&failure);
                // The earliest line's error, whatever order workers fail in.
                if first.as_ref().is_none_or(|(at, _)| i < *at) {
                    *first = Some((i, e));
                }
                Flow::Stop
            }
        },
    )
    .map_err(|e| {
        ModelError::Inference(candle_core::Error::Msg(format!(
            "cannot start {jobs} worker threads: {e}"
        )))
    })?;
    if let Some((_, e)) = lock(&failure).take() {
        return Err(e);
    }
    Ok(results
        .into_iter()
        .map(|slot| {
            slot.into_inner()
                .unwrap_or_else(|e| e.into_inner())
                .unwrap_or_default()
        })
        .collect())
}

/// Translates the lines as paragraphs of one document, in order, so each
/// gets the line before it and its translation as context (see
/// [`TranslateOptions::previous_paragraph`]); `on_done` is called once, at
/// the end.
fn translate_in_order(
    model: &Model,
    sources: &[String],
    options: &TranslateOptions,
    on_done: &(dyn Fn(usize) + Sync),
) -> Result<Vec<String>, ModelError> {
    let lines: Vec<(usize, String)> = sources
        .iter()
        .enumerate()
        .map(|(i, l)| (i, one_line(l)))
        .filter(|(_, l)| !l.is_empty())
        .collect();
    let doc = Document {
        title: None,
        text: lines
            .iter()
            .map(|(_, l)| l.as_str())
            .collect::<Vec<_>>()
            .join("\n\n"),
        encoding: "UTF-8",
        language: None,
    };
    let mut cache = model.transformer().new_cache();
    let out = translate(model, &mut cache, &doc, options, &StopToken::never())?;
    let translated: Vec<&str> = out.output.text.split("\n\n").collect();
    if translated.len() != lines.len() {
        return Err(ModelError::Inference(candle_core::Error::Msg(format!(
            "{} lines gave {} translated paragraphs",
            lines.len(),
            translated.len()
        ))));
    }
    let mut result = vec![String::new(); sources.len()];
    for ((i, _), english) in lines.iter().zip(translated) {
        result[*i] = one_line(english);
    }
    on_done(sources.len());
    Ok(result)
}

/// `text` with its whitespace runs made single spaces.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn translate_line(
    model: &Model,
    cache: &mut KvCache,
    source: &str,
    options: &TranslateOptions,
) -> Result<String, ModelError> {
    if source.trim().is_empty() {
        return Ok(String::new());
    }
    let doc = Document {
        title: None,
        text: source.trim().to_string(),
        encoding: "UTF-8",
        language: None,
    };
    let out = translate(model, cache, &doc, options, &StopToken::never())?;
    // A test-set segment is one line: keep the translation on one line.
    Ok(out
        .output
        .text
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" "))
}
