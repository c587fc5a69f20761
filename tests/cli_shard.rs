//! Sharded runs (`--shard K/N`), `kurz merge` and `kurz status`, with the
//! real SmolLM2-135M test model: bad shard values, an empty shard, locks
//! per shard, and three shards merged into exactly what one unsharded
//! `--jobs 1` run writes.

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;

use common::tree::without_timings;

const ARTIKEL: [&str; 4] = [
    "Neue Brücke in Dresden eröffnet\n\nIn Dresden ist am Montag eine neue Brücke über die Elbe \
     eröffnet worden. Der Bau dauerte drei Jahre und kostete 40 Millionen Euro.\n",
    "Bibliothek verlängert Öffnungszeiten\n\nDie Stadtbibliothek Hannover öffnet ab Januar auch \
     sonntags. Die Stadt stellt dafür zwei zusätzliche Mitarbeiter ein.\n",
    "Schwimmbad wird saniert\n\nDas Freibad in Kassel bleibt den ganzen Sommer geschlossen. \
     Die Sanierung der Becken kostet rund 5 Millionen Euro.\n",
    "Neuer Radweg in Münster\n\nDie Stadt Münster baut einen Radweg entlang des Kanals. \
     Er soll im Herbst fertig sein und 2 Millionen Euro kosten.\n",
];

struct Scratch(tempfile::TempDir);

impl Scratch {
    fn new() -> Self {
        let s = Scratch(tempfile::tempdir().unwrap());
        for (i, text) in ARTIKEL.iter().enumerate() {
            s.write(&format!("in/sub{}/artikel-{i}.txt", i % 2), text);
        }
        s
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.0.path().join(rel)
    }

    fn write(&self, rel: &str, text: &str) {
        let path = self.path(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, text).unwrap();
    }

    fn kurz(&self) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_kurz"));
        cmd.current_dir(self.0.path())
            .env("KURZ_HOME", self.path("home"))
            .env("HF_HUB_CACHE", self.path("hf"))
            .env_remove("KURZ_MODEL")
            .env_remove("SLURM_ARRAY_TASK_ID")
            .env_remove("JOB_COMPLETION_INDEX")
            .env_remove("KURZ_SHARD_COUNT");
        cmd
    }

    /// `kurz summarize in` on the test model, quick settings, `-o OUT`.
    fn summarize(&self, out: &str) -> Command {
        let mut cmd = self.kurz();
        cmd.arg("summarize")
            .arg("in")
            .arg("--model")
            .arg(common::test_model())
            .args(["--max-words", "30", "--no-guard", "--candidates", "1"])
            .args(["--jobs", "1", "-o", out]);
        cmd
    }

    fn rows(&self, manifest: &str) -> Vec<Value> {
        fs::read_to_string(self.path(manifest))
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

fn stderr_of(assert: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&assert.get_output().stderr).into_owned()
}

/// Every file under `dir` (relative path -> bytes), skipping the paths
/// `skip` names.
fn files(dir: &Path, skip: &[&str]) -> Vec<(String, Vec<u8>)> {
    common::tree::files(dir, |rel| skip.contains(&rel))
}

#[test]
fn bad_shard_values_exit_1_with_a_clear_message() {
    let s = Scratch::new();
    let cases = [
        ("0/3", "--shard `0/3`: shards are numbered from 1 to 3"),
        ("4/3", "--shard `4/3`: shards are numbered from 1 to 3"),
        (
            "1/0",
            "--shard `1/0`: the shard count must be between 1 and 100000",
        ),
        ("abc", "--shard `abc` is not K/N (e.g. 2/8), auto or auto/N"),
        ("auto", "--shard auto: no shard index in the environment"),
    ];
    for (value, message) in cases {
        let assert = s
            .kurz()
            .args([
                "summarize",
                "in",
                "-o",
                "out",
                "--offline",
                "--shard",
                value,
            ])
            .assert()
            .code(1);
        let err = stderr_of(&assert);
        assert!(err.contains(message), "{value}: {err}");
    }
    // Kubernetes without a count; a Slurm id outside the split.
    let assert = s
        .kurz()
        .args(["summarize", "in", "-o", "out", "--shard", "auto"])
        .env("JOB_COMPLETION_INDEX", "1")
        .assert()
        .code(1);
    assert!(stderr_of(&assert).contains("set KURZ_SHARD_COUNT"));
    let assert = s
        .kurz()
        .args(["summarize", "in", "-o", "out", "--shard", "auto/3"])
        .env("SLURM_ARRAY_TASK_ID", "7")
        .assert()
        .code(1);
    assert!(
        stderr_of(&assert).contains("SLURM_ARRAY_TASK_ID=\"7\" gives shard 7, not one of 1 to 3")
    );
    assert!(!s.path("out/manifest.jsonl").exists());
}

/// A shard that nothing is assigned to ends at once, exit 0, with a note
/// and a plan (so merge knows it ran); no model is needed for that.
#[test]
fn an_empty_shard_ends_with_exit_0_and_a_note() {
    let s = Scratch::new();
    let keys: Vec<String> = (0..4)
        .map(|i| format!("sub{}/artikel-{i}.txt", i % 2))
        .collect();
    let count = 64;
    let empty = (1..=count)
        .find(|&k| {
            keys.iter()
                .all(|key| kurz::shard::shard_of(key, count) != k)
        })
        .unwrap();
    let assert = s
        .kurz()
        .args([
            "summarize",
            "in",
            "-o",
            "out",
            "--offline",
            "-m",
            "no-such-model",
        ])
        .args(["--shard", &format!("{empty}/{count}")])
        .assert()
        .success();
    let err = stderr_of(&assert);
    assert!(
        err.contains(&format!(
            "shard {empty}/{count}: none of the 4 inputs is assigned to this shard; nothing to do"
        )),
        "{err}"
    );
    let plan: Value = serde_json::from_slice(
        &fs::read(s.path(&format!("out/.kurz-shards/{empty}-of-{count}.plan.json"))).unwrap(),
    )
    .unwrap();
    assert_eq!(plan["inputs"], serde_json::json!([]));
}

/// A shard whose lock another process holds is refused naming the holder;
/// merge refuses while a shard runs.
#[test]
fn the_same_shard_twice_is_refused() {
    let s = Scratch::new();
    fs::create_dir_all(s.path("out/.kurz-shards")).unwrap();
    let lock_path = s.path("out/.kurz-shards/2-of-3.lock");
    let lock = fs::File::create(&lock_path).unwrap();
    lock.try_lock().unwrap();
    fs::write(&lock_path, format!("{}\nnode-7\n", std::process::id())).unwrap();
    let assert = s
        .kurz()
        .args([
            "summarize",
            "in",
            "-o",
            "out",
            "--offline",
            "--shard",
            "2/3",
        ])
        .assert()
        .code(1);
    let err = stderr_of(&assert);
    assert!(
        err.contains(&format!(
            "shard 2/3 of output folder out is in use by another kurz run (pid {} on host node-7)",
            std::process::id()
        )),
        "{err}"
    );
    let assert = s.kurz().args(["merge", "out"]).assert().code(1);
    let err = stderr_of(&assert);
    assert!(
        err.contains("output folder out is in use by shard 2/3 (pid "),
        "{err}"
    );
    let assert = s
        .kurz()
        .args(["summarize", "in", "-o", "out", "--offline"])
        .assert()
        .code(1);
    assert!(stderr_of(&assert).contains("in use by shard 2/3"));
    // Status reads while it runs.
    let assert = s.kurz().args(["status", "out"]).assert().success();
    let out = String::from_utf8_lossy(&assert.get_output().stdout).into_owned();
    let line = |shard: &str| {
        out.lines()
            .find(|l| l.starts_with(shard))
            .unwrap_or_else(|| panic!("{shard}: {out}"))
            .to_string()
    };
    assert!(
        line("2/3").ends_with(&format!(
            "running (pid {} on host node-7, not checked)",
            std::process::id()
        )),
        "{out}"
    );
    assert!(line("1/3").ends_with("never ran"), "{out}");
    assert!(line("3/3").ends_with("never ran"), "{out}");
    drop(lock);
}

/// Three shards, one after another, then merge: the same result files,
/// byte for byte, as one unsharded `--jobs 1` run, and the same manifest
/// rows but for timings; resume reads every part; merge is idempotent and
/// removes the shard records; a changed setting is kept apart.
#[test]
fn three_shards_merge_into_the_unsharded_result() {
    let s = Scratch::new();
    s.summarize("ref").assert().success();
    for k in 1..=3 {
        s.summarize("out")
            .args(["--shard", &format!("{k}/3")])
            .assert()
            .success();
    }
    // Status: every input done.
    let assert = s.kurz().args(["status", "out"]).assert().success();
    let table = String::from_utf8_lossy(&assert.get_output().stdout).into_owned();
    let total = table
        .lines()
        .find(|l| l.starts_with("total"))
        .unwrap()
        .to_string();
    let numbers: Vec<&str> = total.split_whitespace().collect();
    assert_eq!(numbers, ["total", "4", "4", "0", "0"], "{table}");
    // An unsharded rerun (and a shard's) skips what the parts hold.
    let assert = s
        .summarize("out")
        .args(["--shard", "2/3"])
        .assert()
        .success();
    assert!(
        stderr_of(&assert).contains("0 ok,"),
        "{}",
        stderr_of(&assert)
    );

    let assert = s.kurz().args(["merge", "out"]).assert().success();
    assert!(stderr_of(&assert).contains("merged 4 row(s) (0 failed)"));
    assert!(!s.path("out/.kurz-shards").exists());
    let reference = files(&s.path("ref"), &["manifest.jsonl"]);
    assert_eq!(reference.len(), 4);
    assert_eq!(files(&s.path("out"), &["manifest.jsonl"]), reference);
    let merged = s.rows("out/manifest.jsonl");
    let want = s.rows("ref/manifest.jsonl");
    assert_eq!(
        merged.into_iter().map(without_timings).collect::<Vec<_>>(),
        want.into_iter().map(without_timings).collect::<Vec<_>>()
    );
    let once = fs::read(s.path("out/manifest.jsonl")).unwrap();
    s.kurz().args(["merge", "out"]).assert().success();
    assert_eq!(fs::read(s.path("out/manifest.jsonl")).unwrap(), once);

    // Another setting on one shard: merge keeps the two apart and says so.
    s.summarize("out")
        .args(["--guard-retries", "1", "--shard", "1/1"])
        .assert()
        .success();
    let assert = s.kurz().args(["merge", "out"]).assert().success();
    let err = stderr_of(&assert);
    assert!(
        err.contains("2 different models or parameter settings"),
        "{err}"
    );
    assert_eq!(s.rows("out/manifest.jsonl").len(), 8);
}

/// A shard that never ran, and inputs a killed shard did not finish, are
/// reported by merge (exit 2), which keeps the records for the rerun.
#[test]
fn merge_reports_missing_shards_and_unfinished_inputs() {
    let s = Scratch::new();
    s.summarize("out")
        .args(["--shard", "2/2"])
        .assert()
        .success();
    let plan: Value =
        serde_json::from_slice(&fs::read(s.path("out/.kurz-shards/2-of-2.plan.json")).unwrap())
            .unwrap();
    let mine = plan["inputs"].as_array().unwrap().len();
    // Lose one of its results, as a shard killed before its line would.
    let part = s.path("out/.kurz-shards/2-of-2.jsonl");
    let text = fs::read_to_string(&part).unwrap();
    let kept: Vec<&str> = text.lines().skip(1).collect();
    fs::write(
        &part,
        kept.iter().map(|l| format!("{l}\n")).collect::<String>(),
    )
    .unwrap();
    let assert = s.kurz().args(["merge", "out"]).assert().code(2);
    let err = stderr_of(&assert);
    assert!(err.contains("shard 1/2 never ran"), "{err}");
    assert!(
        err.contains("shard 2/2 has not finished 1 input(s): in/"),
        "{err}"
    );
    assert!(s.path("out/.kurz-shards/2-of-2.jsonl").exists());
    assert_eq!(s.rows("out/manifest.jsonl").len(), mine - 1);
}

/// Shard records with hostile values, no model needed: control, ANSI and
/// bidi characters in input names, runner and a broken plan reach the
/// terminal escaped; a symlinked plan is named, not followed; merge and
/// status write nothing outside OUT.
#[test]
fn hostile_shard_records_are_escaped_and_stay_inside_out() {
    let s = Scratch(tempfile::tempdir().unwrap());
    let red = "\u{1b}[31mred\u{202e}gpj.exe";
    let plan = serde_json::json!({
        "shard": {"index": 1, "count": 3},
        "task": "summarize",
        "inputs": ["../../etc/passwd", "/etc/shadow", red],
        "started_at": "garbage",
        "runner": "\u{1b}]0;title\u{7}@host",
    });
    s.write("out/.kurz-shards/1-of-3.plan.json", &plan.to_string());
    s.write(
        "out/.kurz-shards/2-of-3.plan.json",
        r#"{"shard": "\u001b[2J\u009b"}"#,
    );
    s.write(
        "elsewhere.json",
        &plan.to_string().replace("\"index\":1", "\"index\":3"),
    );
    std::os::unix::fs::symlink(
        s.path("elsewhere.json"),
        s.path("out/.kurz-shards/3-of-3.plan.json"),
    )
    .unwrap();
    let outside = files(s.0.path(), &["out"]);
    let raw = |text: &str| text.contains(['\u{1b}', '\u{9b}', '\u{202e}', '\u{7}']);

    let status = s.kurz().args(["status", "out"]).assert().success();
    let (out, err) = (
        String::from_utf8_lossy(&status.get_output().stdout).into_owned(),
        stderr_of(&status),
    );
    assert!(!raw(&out) && !raw(&err), "{out:?}\n{err:?}");
    assert!(
        err.contains(r#"2-of-3.plan.json: invalid type: string "\u{1b}[2J\u{9b}""#),
        "{err}"
    );
    assert!(
        err.contains(
            "3-of-3.plan.json: is not a regular file (kurz never follows symlinks in .kurz-shards/)"
        ),
        "{err}"
    );
    let row: Vec<&str> = out
        .lines()
        .find(|l| l.starts_with("1/3 "))
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    assert_eq!(row, ["1/3", "3", "0", "0", "3", "ended"], "{out}");

    let merge = s.kurz().args(["merge", "out"]).assert().code(2);
    let err = stderr_of(&merge);
    assert!(!raw(&err), "{err:?}");
    assert!(
        err.contains(
            "shard 1/3 has not finished 3 input(s): ../../etc/passwd, /etc/shadow, \\x1b[31mred\\u{202e}gpj.exe"
        ),
        "{err}"
    );
    assert!(err.contains("cannot use shard plan "), "{err}");
    assert!(
        s.path("out/.kurz-shards/1-of-3.plan.json").exists(),
        "kept: incomplete"
    );
    assert_eq!(
        files(s.0.path(), &["out"]),
        outside,
        "nothing outside out changed"
    );
}
