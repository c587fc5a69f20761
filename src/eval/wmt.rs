//! Translating a test set line by line with a model, for `kurz eval wmt`.

use crate::stop::StopToken;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use rayon::prelude::*;

use crate::input::Document;
use crate::model::{Model, ModelError};
use crate::task::{translate, TranslateOptions};

/// Translates every line of `sources` (one segment per line) with `jobs`
/// workers; the result has one line per source line, in order, and does
/// not depend on `jobs`. `on_done` is called after each line.
pub fn translate_lines(
    model: &Model,
    sources: &[String],
    options: &TranslateOptions,
    jobs: usize,
    on_done: &(dyn Fn(usize) + Sync),
) -> Result<Vec<String>, ModelError> {
    let results: Vec<Mutex<Option<Result<String, ModelError>>>> =
        sources.iter().map(|_| Mutex::new(None)).collect();
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    (0..jobs.max(1)).into_par_iter().for_each(|_| {
        let mut cache = model.transformer().new_cache();
        loop {
            let i = next.fetch_add(1, Ordering::SeqCst);
            let Some(source) = sources.get(i) else { break };
            let result = translate_line(model, &mut cache, source, options);
            *results[i].lock().unwrap_or_else(|e| e.into_inner()) = Some(result);
            on_done(done.fetch_add(1, Ordering::SeqCst) + 1);
        }
    });
    results
        .into_iter()
        .map(|slot| {
            slot.into_inner()
                .unwrap_or_else(|e| e.into_inner())
                .unwrap_or_else(|| Ok(String::new()))
        })
        .collect()
}

fn translate_line(
    model: &Model,
    cache: &mut crate::model::KvCache,
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
