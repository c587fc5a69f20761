//! `kurz report OUT`: one digest of a run (Markdown, CSV or HTML) on
//! stdout or, with `-o FILE`, written atomically to a file.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context};
use kurz::output::write_atomic;
use kurz::progress::{escape_for_terminal, print_stderr};
use kurz::report::{self, Report, SortOrder};

use super::StdoutError;
use crate::cli::{ReportArgs, ReportFormatArg, ReportSortArg};

/// Runs `kurz report`. Unreadable manifest lines are printed as warnings
/// and left out; the exit status is 0 whenever a report was written.
pub fn report(args: ReportArgs) -> anyhow::Result<ExitCode> {
    if args.bom && args.format != ReportFormatArg::Csv {
        bail!("--bom applies to --format csv only");
    }
    let sort = match args.sort {
        ReportSortArg::Path => SortOrder::Path,
        ReportSortArg::Date => SortOrder::Date,
    };
    let digest = Report::load(&args.folder, sort)?;
    for problem in &digest.problems {
        print_stderr(&format!("kurz: warning: {}", escape_for_terminal(problem)));
    }
    let text = match args.format {
        ReportFormatArg::Md => report::markdown::render(&digest),
        ReportFormatArg::Csv => {
            report::csv::render(&digest, args.bom).context("cannot write the CSV report")?
        }
        ReportFormatArg::Html => {
            report::html::render(&digest).context("cannot render the HTML report")?
        }
    };
    match &args.output {
        Some(path) => write_file(path, &text, &digest)?,
        None => write_stdout(&text)?,
    }
    Ok(ExitCode::SUCCESS)
}

/// Writes the report to `path` atomically, refusing to replace one of the
/// manifest files it was read from.
fn write_file(path: &Path, text: &str, digest: &Report) -> anyhow::Result<()> {
    if let Some(manifest) = manifest_at(path, &digest.files) {
        bail!(
            "refusing to write the report over the manifest {}",
            manifest.display()
        );
    }
    write_atomic(path, text.as_bytes())
        .with_context(|| format!("cannot write the report to {}", path.display()))?;
    print_stderr(&format!(
        "kurz: report of {} input{} written to {}",
        digest.entries.len(),
        if digest.entries.len() == 1 { "" } else { "s" },
        escape_for_terminal(&path.display().to_string())
    ));
    Ok(())
}

/// The manifest among `files` that `path` names (the same file, through
/// whatever path), if any.
fn manifest_at<'a>(path: &Path, files: &'a [PathBuf]) -> Option<&'a PathBuf> {
    let target = path.canonicalize().ok()?;
    files
        .iter()
        .find(|f| f.canonicalize().is_ok_and(|f| f == target))
}

/// Writes the report to stdout (a closed pipe ends kurz quietly).
fn write_stdout(text: &str) -> Result<(), StdoutError> {
    let mut out = io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(StdoutError)
}
