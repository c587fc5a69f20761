//! `kurz slurm summarize|translate`: one command on a Slurm login node runs
//! an N-way job array. It pulls the model into the cache once (the tasks
//! run `--offline`), writes a readable sbatch script into
//! `<OUTPUT>/.kurz-slurm/` (kept for the record, and for resubmitting one
//! task with `sbatch --array=K`), and submits it with `sbatch --parsable`.
//!
//! Each task runs the same kurz command line the user typed, less the
//! Slurm options, plus `--shard auto/N --offline` and the cache folder, in
//! the folder `kurz slurm` ran in (`--chdir`), so relative paths hold.

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use anyhow::{bail, Context, Result};

use crate::cli::{RunArgs, SlurmArgs, SlurmCommand};
use crate::outln;
use kurz::output::{now_rfc3339, write_atomic};
use kurz::progress::print_stderr;
use kurz::registry::ModelCache;
use kurz::shard::SLURM_DIR;

/// Options of `kurz slurm` itself, which the tasks do not get: those that
/// take a value, then the flags.
const OWN_OPTIONS: [&str; 5] = [
    "--shards",
    "--cpus-per-task",
    "--partition",
    "--time",
    "--gres",
];
const OWN_FLAGS: [&str; 1] = ["--dry-run"];

/// `kurz slurm ...`.
pub fn slurm(cmd: SlurmCommand) -> Result<ExitCode> {
    let (task, run, slurm, default_out) = match &cmd {
        SlurmCommand::Summarize { args, slurm } => ("summarize", &args.run, slurm, "kurz-out"),
        SlurmCommand::Translate { args, slurm } => {
            ("translate", &args.run, slurm, "kurz-translations")
        }
    };
    if run.shard.is_some() {
        bail!("kurz slurm gives each task its shard itself (--shard auto/N); leave out --shard");
    }
    if run.paths.iter().any(|p| p.as_os_str() == "-") {
        bail!("kurz slurm cannot give standard input (-) to array tasks; name files or folders");
    }
    let output = run.output.clone().unwrap_or_else(|| default_out.into());
    let cwd = std::env::current_dir().context("cannot read the current folder")?;
    let task_args = task_arguments(std::env::args_os().collect(), task)?;
    let cache = ModelCache::from_env(run.model.cache_dir.as_deref());
    let cache_root = absolute(&cwd, cache.root());
    let kurz = std::env::current_exe().context("cannot find the kurz program's path")?;
    let script = sbatch_script(&Script {
        task,
        kurz: &kurz,
        task_args: &task_args,
        slurm,
        cwd: &cwd,
        output: &absolute(&cwd, &output),
        cache: run
            .model
            .cache_dir
            .is_none()
            .then_some(cache_root.as_path()),
    });
    if slurm.dry_run {
        std::io::Write::write_all(&mut std::io::stdout().lock(), &script)
            .map_err(crate::commands::StdoutError)?;
        return Ok(ExitCode::SUCCESS);
    }
    pull_model(run)?;
    let dir = output.join(SLURM_DIR);
    let path = dir.join(format!("kurz-{task}.sbatch"));
    prepare_folders(&output, &dir)?;
    write_atomic(&path, &script).with_context(|| format!("cannot write {}", path.display()))?;
    let job = submit(&path)?;
    outln!("{job}")?;
    print_stderr(&format!(
        "kurz: submitted job array {job} ({} task(s)), script {}; follow it with `kurz status {}`, join the results with `kurz merge {}` when it has ended; redo one task K with `sbatch --array=K {}`",
        slurm.shards,
        path.display(),
        output.display(),
        output.display(),
        path.display()
    ));
    Ok(ExitCode::SUCCESS)
}

/// What the script is made of.
struct Script<'a> {
    task: &'a str,
    kurz: &'a Path,
    task_args: &'a [OsString],
    slurm: &'a SlurmArgs,
    cwd: &'a Path,
    output: &'a Path,
    /// The cache folder to pass (when the user gave none, the one this
    /// process resolved, so tasks use the copy pulled here).
    cache: Option<&'a Path>,
}

/// The sbatch script: comments saying what it is, `#SBATCH` lines, and the
/// one kurz command of each task.
fn sbatch_script(s: &Script<'_>) -> Vec<u8> {
    let n = s.slurm.shards;
    let logs = s.output.join(SLURM_DIR).join("logs");
    let mut text = format!(
        "#!/bin/bash\n\
         # kurz {task} as a Slurm job array of {n} shard(s), written by `kurz slurm`\n\
         # on {now}. Array task K runs shard K of {n} (--shard auto/{n}), offline:\n\
         # the model was pulled into the cache before submitting.\n\
         #\n\
         # Follow:        kurz status {out}\n\
         # Join results:  kurz merge {out}   (when every task has ended)\n\
         # Redo task K:   sbatch --array=K {out}/{SLURM_DIR}/kurz-{task}.sbatch\n\
         #SBATCH --job-name=kurz-{task}\n\
         #SBATCH --array=1-{n}\n\
         #SBATCH --output={logs}/%A_%a.out\n",
        task = s.task,
        now = now_rfc3339(),
        out = shell_word(s.output.as_os_str()),
        logs = logs.display(),
    )
    .into_bytes();
    let mut line = |key: &str, value: &dyn std::fmt::Display| {
        text.extend_from_slice(format!("#SBATCH --{key}={value}\n").as_bytes());
    };
    line("chdir", &s.cwd.display());
    if let Some(c) = s.slurm.cpus_per_task {
        line("cpus-per-task", &c);
    }
    if let Some(p) = &s.slurm.partition {
        line("partition", p);
    }
    if let Some(t) = &s.slurm.time {
        line("time", t);
    }
    if let Some(g) = &s.slurm.gres {
        line("gres", g);
    }
    text.extend_from_slice(b"\nset -eu\nexec");
    let mut words: Vec<OsString> = vec![s.kurz.as_os_str().to_os_string(), s.task.into()];
    words.extend(s.task_args.iter().cloned());
    words.extend([
        "--shard".into(),
        format!("auto/{n}").into(),
        "--offline".into(),
    ]);
    if let Some(cache) = s.cache {
        words.extend(["--cache-dir".into(), cache.as_os_str().to_os_string()]);
    }
    for word in &words {
        text.push(b' ');
        text.extend_from_slice(&shell_word_bytes(word));
    }
    text.push(b'\n');
    text
}

/// The command line after `kurz slurm <task>`, without `kurz slurm`'s own
/// options (`--opt value` and `--opt=value`); everything after `--` is
/// kept as it is.
fn task_arguments(argv: Vec<OsString>, task: &str) -> Result<Vec<OsString>> {
    let start = argv
        .iter()
        .position(|a| a == "slurm")
        .and_then(|i| argv.get(i + 1).filter(|t| *t == task).map(|_| i + 2))
        .context("cannot find `slurm <task>` on the command line")?;
    let mut kept = Vec::new();
    let mut rest = argv.into_iter().skip(start);
    while let Some(arg) = rest.next() {
        if arg == "--" {
            kept.push(arg);
            kept.extend(rest);
            break;
        }
        let text = arg.to_string_lossy();
        let name = text.split('=').next().unwrap_or("");
        if OWN_FLAGS.contains(&name) {
            continue;
        }
        if OWN_OPTIONS.contains(&name) {
            if !text.contains('=') {
                rest.next();
            }
            continue;
        }
        kept.push(arg);
    }
    Ok(kept)
}

/// Pulls the model the tasks will use into the cache now (they run
/// offline), by resolving it as a run would.
fn pull_model(run: &RunArgs) -> Result<()> {
    let resolved = super::run::resolve(&run.model, run.quiet)
        .with_context(|| super::run::how_to_get_model(&run.model))?;
    print_stderr(&format!(
        "kurz: model ready for the tasks: {}",
        resolved.path.display()
    ));
    Ok(())
}

/// Creates the output folder and `.kurz-slurm/logs` in it (Slurm does not
/// create the folder of a log), refusing symlinks there.
fn prepare_folders(output: &Path, dir: &Path) -> Result<()> {
    std::fs::create_dir_all(output)
        .with_context(|| format!("cannot create output folder {}", output.display()))?;
    for folder in [dir.to_path_buf(), dir.join("logs")] {
        if std::fs::symlink_metadata(&folder).is_ok_and(|m| !m.is_dir()) {
            bail!(
                "{} is not a folder (a symlink?); kurz writes only inside the output folder",
                folder.display()
            );
        }
        std::fs::create_dir_all(&folder)
            .with_context(|| format!("cannot create {}", folder.display()))?;
    }
    Ok(())
}

/// Runs `sbatch --parsable SCRIPT`; the job id.
fn submit(script: &Path) -> Result<String> {
    let out = Command::new("sbatch")
        .arg("--parsable")
        .arg(script)
        .output()
        .context("cannot run sbatch (is this a Slurm login node?)")?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        bail!(
            "sbatch refused {} ({}): {}",
            script.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let job = stdout.trim().split(';').next().unwrap_or("").to_string();
    if job.is_empty() || !job.bytes().all(|b| b.is_ascii_digit()) {
        bail!("sbatch gave no job id (it printed {:?})", stdout.trim());
    }
    Ok(job)
}

fn absolute(cwd: &Path, path: &Path) -> PathBuf {
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        cwd.join(path)
    }
}

/// A word for bash: as it is when made of safe characters, else in single
/// quotes.
fn shell_word(word: &OsStr) -> String {
    String::from_utf8_lossy(&shell_word_bytes(word)).into_owned()
}

fn shell_word_bytes(word: &OsStr) -> Vec<u8> {
    let bytes = word.as_encoded_bytes();
    let safe = !bytes.is_empty()
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || b"_.:,=+-/@%".contains(b));
    if safe {
        return bytes.to_vec();
    }
    let mut quoted = vec![b'\''];
    for &b in bytes {
        if b == b'\'' {
            quoted.extend_from_slice(b"'\\''");
        } else {
            quoted.push(b);
        }
    }
    quoted.push(b'\'');
    quoted
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(args: &[&str]) -> Vec<OsString> {
        args.iter().map(OsString::from).collect()
    }

    #[test]
    fn own_options_are_dropped_and_the_rest_kept() {
        let argv = os(&[
            "kurz",
            "slurm",
            "summarize",
            "archive/",
            "--shards",
            "16",
            "-o",
            "/o",
            "--cpus-per-task=8",
            "--dry-run",
            "--partition",
            "p",
            "--max-words",
            "40",
            "--",
            "--shards",
        ]);
        assert_eq!(
            task_arguments(argv, "summarize").unwrap(),
            os(&[
                "archive/",
                "-o",
                "/o",
                "--max-words",
                "40",
                "--",
                "--shards"
            ])
        );
    }

    #[test]
    fn words_are_quoted_for_bash() {
        assert_eq!(shell_word(OsStr::new("a/b-c.txt")), "a/b-c.txt");
        assert_eq!(shell_word(OsStr::new("a b")), "'a b'");
        assert_eq!(shell_word(OsStr::new("it's $(x)")), "'it'\\''s $(x)'");
        assert_eq!(shell_word(OsStr::new("")), "''");
    }
}
