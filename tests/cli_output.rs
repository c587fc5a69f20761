//! The output folder under hostile or unlucky conditions, with the real
//! SmolLM2-135M test model: symlinks inside `-o`, names that collide, a
//! second run on the same folder, leftovers of a killed run, file modes,
//! and a write failure (a file size limit) in the middle of a batch.

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;

const ARTIKEL: [&str; 3] = [
    "Neue Brücke in Dresden eröffnet\n\nIn Dresden ist am Montag eine neue Brücke über die Elbe \
     eröffnet worden. Der Bau dauerte drei Jahre und kostete 40 Millionen Euro.\n",
    "Bibliothek verlängert Öffnungszeiten\n\nDie Stadtbibliothek Hannover öffnet ab Januar auch \
     sonntags. Die Stadt stellt dafür zwei zusätzliche Mitarbeiter ein.\n",
    "Schwimmbad wird saniert\n\nDas Freibad in Kassel bleibt den ganzen Sommer geschlossen. \
     Die Sanierung der Becken kostet rund 5 Millionen Euro.\n",
];

/// A scratch folder used as the working directory, so inputs and outputs
/// have short relative names (`kurz summarize in` writes `in/a.txt` to
/// `out/a.en.md`).
struct Scratch(tempfile::TempDir);

impl Scratch {
    fn new() -> Self {
        Scratch(tempfile::tempdir().unwrap())
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.0.path().join(rel)
    }

    fn write(&self, rel: &str, text: &str) -> PathBuf {
        let path = self.path(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, text).unwrap();
        path
    }

    /// `kurz summarize` on the test model, `-o out`, run in the scratch folder.
    fn summarize(&self) -> Command {
        Command::from_std(self.summarize_std())
    }

    fn summarize_std(&self) -> std::process::Command {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_kurz"));
        cmd.current_dir(self.0.path())
            .env("KURZ_HOME", self.path("home"))
            .env("HF_HUB_CACHE", self.path("hf"))
            .env_remove("KURZ_MODEL")
            .arg("summarize")
            .arg("--model")
            .arg(common::test_model())
            .args([
                "--max-words",
                "30",
                "--no-guard",
                "--jobs",
                "1",
                "-o",
                "out",
            ]);
        cmd
    }

    fn manifest(&self) -> Vec<Value> {
        let text = fs::read_to_string(self.path("out/manifest.jsonl")).unwrap_or_default();
        assert!(text.is_empty() || text.ends_with('\n'), "{text:?}");
        text.lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("torn line {l:?}: {e}")))
            .collect()
    }
}

fn stderr_of(assert: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&assert.get_output().stderr).into_owned()
}

fn entry<'a>(lines: &'a [Value], input: &str) -> &'a Value {
    let found: Vec<&Value> = lines.iter().filter(|l| l["input"] == input).collect();
    assert_eq!(found.len(), 1, "one line for {input}: {lines:#?}");
    found[0]
}

/// A second run on a folder in use exits 1 naming the holder's pid, before
/// any model work; `--timeout-per-file` is documented.
#[test]
fn a_folder_in_use_is_refused_with_the_holders_pid() {
    let s = Scratch::new();
    s.write("in/a.txt", ARTIKEL[0]);
    fs::create_dir_all(s.path("out")).unwrap();
    let lock = fs::File::create(s.path("out/.kurz.lock")).unwrap();
    lock.try_lock().unwrap();
    fs::write(
        s.path("out/.kurz.lock"),
        format!("{}\n", std::process::id()),
    )
    .unwrap();
    let assert = s.summarize().arg("in").assert().code(1);
    let err = stderr_of(&assert);
    assert!(
        err.contains(&format!(
            "output folder out is in use by another kurz run (pid {})",
            std::process::id()
        )),
        "{err}"
    );
    assert!(!s.path("out/manifest.jsonl").exists());
    drop(lock);

    let help = Command::new(env!("CARGO_BIN_EXE_kurz"))
        .args(["summarize", "--help"])
        .assert()
        .success();
    let help = String::from_utf8_lossy(&help.get_output().stdout).into_owned();
    assert!(help.contains("--timeout-per-file <SECS>"), "{help}");
}

/// Symlinks inside `-o` are never written through (a sub-folder: an error
/// entry naming the file; the manifest: exit 1); colliding names get their
/// own outputs; a killed run's temporary files go; results get the
/// manifest's mode.
#[cfg(unix)]
#[test]
fn symlinks_collisions_leftovers_and_modes() {
    use std::os::unix::fs::{symlink, PermissionsExt};
    let s = Scratch::new();
    s.write("in/x/a.md", ARTIKEL[0]);
    s.write("in/x/a.txt", ARTIKEL[1]);
    s.write("in/x/a.md.txt", ARTIKEL[2]);
    s.write("in/sub/b.txt", ARTIKEL[1]);
    let outside = s.path("outside");
    fs::create_dir_all(&outside).unwrap();
    fs::create_dir_all(s.path("out")).unwrap();
    symlink(&outside, s.path("out/sub")).unwrap();
    s.write("out/x/.kurz-tmp-4242-0-0", "left by a killed run");
    s.write("out/.kurz-tmp-1-2-3", "left by a killed run");

    let assert = s.summarize().arg("in").assert().code(2);
    let err = stderr_of(&assert);
    assert!(err.contains("3 ok, 0 skipped, 1 failed"), "{err}");
    assert!(err.contains("removed 2 temporary file(s)"), "{err}");
    assert_eq!(
        fs::read_dir(&outside).unwrap().count(),
        0,
        "nothing outside -o"
    );
    let lines = s.manifest();
    let b = entry(&lines, "in/sub/b.txt");
    let error = b["error"].as_str().unwrap();
    assert!(
        error.starts_with("in/sub/b.txt: cannot write out/sub/b.en.md"),
        "{error}"
    );
    assert!(error.contains("out/sub is a symlink"), "{error}");
    let mut outputs: Vec<&str> = ["in/x/a.md", "in/x/a.txt", "in/x/a.md.txt"]
        .iter()
        .map(|i| entry(&lines, i)["output"].as_str().unwrap())
        .collect();
    outputs.sort_unstable();
    outputs.dedup();
    assert_eq!(outputs.len(), 3, "{outputs:?}");
    assert!(!s.path("out/x/.kurz-tmp-4242-0-0").exists());
    assert!(!s.path("out/.kurz-tmp-1-2-3").exists());
    assert!(
        !s.path("out/.kurz.lock").exists(),
        "the lock goes with the run"
    );
    let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let manifest_mode = mode(&s.path("out/manifest.jsonl"));
    for output in &outputs {
        assert_eq!(mode(&s.path("out").join(output)), manifest_mode, "{output}");
    }

    // The manifest symlinked to another file: exit 1, that file untouched.
    let victim = s.write("victim.jsonl", "keep\n");
    fs::remove_file(s.path("out/manifest.jsonl")).unwrap();
    symlink(&victim, s.path("out/manifest.jsonl")).unwrap();
    let assert = s.summarize().arg("in/x/a.md").assert().code(1);
    let err = stderr_of(&assert);
    assert!(err.contains("symlink"), "{err}");
    assert_eq!(fs::read_to_string(&victim).unwrap(), "keep\n");
}

/// A file size limit (RLIMIT_FSIZE, SIGXFSZ ignored) makes the manifest
/// write fail with EFBIG: the batch stops at once with one "cannot write"
/// message and exit 1, the manifest has no torn line, and a rerun without
/// the limit finishes every input.
#[cfg(target_os = "linux")]
#[test]
fn a_write_failure_stops_the_batch_and_the_rerun_finishes() {
    use std::os::unix::process::CommandExt;
    let s = Scratch::new();
    for (i, text) in ARTIKEL.iter().enumerate() {
        s.write(&format!("in/{i}.txt"), text);
    }
    // Results (a few hundred bytes) fit; the manifest's lines (near 1 KB
    // each) do not all fit.
    let limit: u64 = 1_000;
    let mut std_cmd = s.summarize_std();
    std_cmd.arg("in");
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        std_cmd.pre_exec(move || {
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            let rlim = libc::rlimit {
                rlim_cur: limit,
                rlim_max: limit,
            };
            if libc::setrlimit(libc::RLIMIT_FSIZE, &rlim) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let output = std_cmd.output().unwrap();
    let err = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{err}");
    assert_eq!(err.matches("cannot write").count(), 1, "{err}");
    assert!(
        err.contains("cannot write out/manifest.jsonl: File too large"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
    // Stopped at once: the input whose line failed was the last one
    // through the model (its result is there, its line is not), and no
    // line is torn (`manifest` parses every line).
    let done = s.manifest().len();
    assert!(done < ARTIKEL.len(), "the limit stopped a line");
    let results = fs::read_dir(s.path("out"))
        .unwrap()
        .filter(|e| {
            let name = e.as_ref().unwrap().file_name();
            name.to_string_lossy().ends_with(".en.md")
        })
        .count();
    assert_eq!(results, done + 1, "no input after the failure");

    s.summarize()
        .arg("in")
        .assert()
        .code(0)
        .stderr(predicates::str::contains(format!(
            "{} ok, {done} skipped, 0 failed",
            ARTIKEL.len() - done
        )));
    assert_eq!(s.manifest().len(), done + ARTIKEL.len());
}
