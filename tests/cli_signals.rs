//! SIGINT and SIGTERM: kurz stops with status 130 / 143 and never prints a
//! panic or backtrace. (The batch finishes the manifest line being written
//! on the first signal; a second signal ends the process at once.)

mod common;

use std::fs;
use std::process::{Child, Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

/// An article long enough to keep the test model busy for many seconds.
fn long_article() -> String {
    let paragraph = "Der Stadtrat von Leipzig hat am Montag nach langer Debatte einen neuen \
        Haushalt beschlossen. Er sieht Investitionen in Schulen, Radwege und den \
        öffentlichen Nahverkehr vor und wurde mit knapper Mehrheit angenommen.\n\n";
    format!("Haushalt beschlossen\n\n{}", paragraph.repeat(120))
}

fn start(dir: &tempfile::TempDir) -> Child {
    let input = dir.path().join("artikel.txt");
    fs::write(&input, long_article()).unwrap();
    Command::new(env!("CARGO_BIN_EXE_kurz"))
        .arg("summarize")
        .arg(&input)
        .arg("-o")
        .arg(dir.path().join("out"))
        .arg("--model")
        .arg(common::test_model())
        .args(["--jobs", "1", "--no-guard", "-q"])
        .env("KURZ_HOME", dir.path().join("home"))
        .env_remove("RUST_BACKTRACE")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn signal(child: &Child, name: &str) {
    // The process may already have ended after the first signal.
    let _ = Command::new("kill")
        .args([format!("-{name}"), child.id().to_string()])
        .status();
}

/// Sends `name` twice and checks the exit status and stderr.
fn interrupted_twice(name: &str, expected: i32) {
    common::test_model();
    let dir = tempfile::tempdir().unwrap();
    let child = start(&dir);
    // Let kurz start and install its handlers (before loading the model).
    sleep(Duration::from_millis(1500));
    let started = Instant::now();
    signal(&child, name);
    sleep(Duration::from_millis(300));
    signal(&child, name);
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(expected), "{name}: {stderr}");
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "{name}: took {:?}",
        started.elapsed()
    );
    for bad in ["panicked", "backtrace", "internal error"] {
        assert!(!stderr.contains(bad), "{name}: {stderr}");
    }
}

#[test]
fn sigint_twice_ends_with_status_130() {
    interrupted_twice("INT", 130);
}

#[test]
fn sigterm_twice_ends_with_status_143() {
    interrupted_twice("TERM", 143);
}

/// kurz reading standard input from this test, which never writes to it.
fn start_on_silent_stdin(dir: &tempfile::TempDir, extra: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_kurz"))
        .args(["summarize", "-", "-q", "--model"])
        .arg(common::test_model())
        .arg("-o")
        .arg(dir.path().join("out"))
        .args(extra)
        .env("KURZ_HOME", dir.path().join("home"))
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Standard input whose writer stays silent: one SIGINT/SIGTERM ends the
/// wait for data at once (status 130/143, no manifest line for the
/// unfinished input), and `--timeout-per-file` ends it with an error entry.
#[test]
fn a_silent_stdin_gives_way_to_one_signal_and_to_the_time_limit() {
    for (name, expected) in [("INT", 130), ("TERM", 143)] {
        let dir = tempfile::tempdir().unwrap();
        let mut child = start_on_silent_stdin(&dir, &[]);
        let writer = child.stdin.take();
        sleep(Duration::from_millis(2000));
        let sent = Instant::now();
        signal(&child, name);
        let output = child.wait_with_output().unwrap();
        drop(writer);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(expected), "{name}: {stderr}");
        assert!(sent.elapsed() < Duration::from_secs(10), "{name}");
        assert!(!stderr.contains("panicked"), "{stderr}");
        let manifest = dir.path().join("out/manifest.jsonl");
        let lines = fs::read_to_string(manifest).unwrap_or_default();
        assert_eq!(lines.lines().count(), 0, "{lines}");
    }

    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let mut child = start_on_silent_stdin(&dir, &["--timeout-per-file", "1"]);
    let writer = child.stdin.take();
    let output = child.wait_with_output().unwrap();
    drop(writer);
    assert_eq!(output.status.code(), Some(2));
    assert!(started.elapsed() < Duration::from_secs(30));
    let manifest = fs::read_to_string(dir.path().join("out/manifest.jsonl")).unwrap();
    assert!(
        manifest.contains("took longer than the 1 s limit (--timeout-per-file)"),
        "{manifest}"
    );
}
