//! `kurz merge` and `kurz status`: join the manifest parts of a sharded
//! run, and report its progress (see [`kurz::output::merge`]).

use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;

use super::EXIT_SOME_FAILED;
use crate::outln;
use kurz::output::merge::{by_shard, merge as merge_folder, status as folder_status};
use kurz::output::MANIFEST_FILE_NAME;
use kurz::progress::{escape_for_terminal, print_stderr};
use kurz::shard::lock_output;

/// Most unfinished inputs named per shard in merge's report.
const NAMED_PER_SHARD: usize = 5;

/// Most shards that never ran named one per line in merge's report (a
/// plan of a 100,000-shard split would otherwise print 99,999 lines).
const NAMED_MISSING_SHARDS: usize = 20;

/// `kurz merge OUTPUT`: exit 0 when complete, 2 when inputs failed or are
/// unfinished or shards never ran.
pub fn merge(output: &Path) -> Result<ExitCode> {
    if !output.is_dir() {
        anyhow::bail!("{} is not a folder", output.display());
    }
    let lock = lock_output(output, None)?;
    let report = merge_folder(output, &lock)?;
    let note = |text: &str| print_stderr(&format!("kurz: {}", escape_for_terminal(text)));
    if report.settings > 1 {
        note(&format!(
            "the manifests hold results of {} different models or parameter settings; merge keeps them apart, as resume does (one row per input and setting, grouped by setting)",
            report.settings
        ));
    }
    if report.torn > 0 {
        note(&format!(
            "ignored {} incomplete line(s) (from killed runs)",
            report.torn
        ));
    }
    if report.leftovers > 0 {
        note(&format!(
            "removed {} temporary file(s) killed runs left",
            report.leftovers
        ));
    }
    for problem in &report.plan_problems {
        note(&format!("cannot use shard plan {problem}"));
    }
    for shard in report.missing_shards.iter().take(NAMED_MISSING_SHARDS) {
        note(&format!(
            "shard {shard} never ran (or not since the last complete merge): no plan in .kurz-shards/"
        ));
    }
    let more = report
        .missing_shards
        .len()
        .saturating_sub(NAMED_MISSING_SHARDS);
    if more > 0 {
        note(&format!(
            "and {more} more shard(s) never ran (kurz status lists them all)"
        ));
    }
    for (shard, inputs) in by_shard(&report.unfinished) {
        let named: Vec<&str> = inputs.iter().take(NAMED_PER_SHARD).copied().collect();
        let more = inputs.len().saturating_sub(NAMED_PER_SHARD);
        note(&format!(
            "shard {shard} has not finished {} input(s): {}{}",
            inputs.len(),
            named.join(", "),
            if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            }
        ));
    }
    let state = if report.complete() {
        "complete; shard records removed"
    } else {
        "incomplete; rerun the shards named above, then merge again"
    };
    note(&format!(
        "merged {} row(s) ({} failed) into {}: {state}",
        report.rows,
        report.failed,
        output.join(MANIFEST_FILE_NAME).display(),
    ));
    Ok(if report.complete() && report.failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_SOME_FAILED)
    })
}

/// `kurz status OUTPUT`: a table on stdout.
pub fn status(output: &Path) -> Result<ExitCode> {
    if !output.is_dir() {
        anyhow::bail!("{} is not a folder", output.display());
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let report = folder_status(output, now)?;
    for problem in &report.plan_problems {
        print_stderr(&format!(
            "kurz: {}",
            escape_for_terminal(&format!("cannot use shard plan {problem}"))
        ));
    }
    outln!(
        "{:<12} {:>8} {:>8} {:>8} {:>10}  state",
        "shard",
        "inputs",
        "done",
        "failed",
        "remaining"
    )?;
    let (mut inputs, mut done, mut failed, mut remaining) = (0, 0, 0, 0);
    for s in &report.shards {
        outln!(
            "{:<12} {:>8} {:>8} {:>8} {:>10}  {}",
            s.shard.to_string(),
            s.inputs,
            s.done,
            s.failed,
            s.remaining(),
            escape_for_terminal(&s.state.to_string())
        )?;
        inputs += s.inputs;
        done += s.done;
        failed += s.failed;
        remaining += s.remaining();
    }
    outln!(
        "{:<12} {:>8} {:>8} {:>8} {:>10}",
        "total",
        inputs,
        done,
        failed,
        remaining
    )?;
    if report.shards.is_empty() {
        outln!(
            "no sharded run in {}; its manifests hold {} current row(s), {} failed",
            output.display(),
            report.rows,
            report.failed_rows
        )?;
    }
    match report.per_hour {
        Some(rate) => outln!("rate: {rate:.1} articles/hour")?,
        None => outln!("rate: not known yet")?,
    }
    match report.eta_seconds {
        Some(eta) => outln!("time left: {} at that rate", human_seconds(eta))?,
        None if remaining == 0 => outln!("time left: none, every input has a result")?,
        None => outln!("time left: not known yet")?,
    }
    Ok(ExitCode::SUCCESS)
}

/// `1 h 05 min`, `12 min`, `40 s`.
fn human_seconds(seconds: f64) -> String {
    let s = seconds.max(0.0).round() as u64;
    match s {
        0..=119 => format!("{s} s"),
        120..=3599 => format!("{} min", s / 60),
        _ => format!("{} h {:02} min", s / 3600, s % 3600 / 60),
    }
}
