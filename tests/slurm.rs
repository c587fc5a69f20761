//! kurz on a real Slurm: a one-node cluster from Debian's packages
//! (scripts/slurm/start.sh), a 3-task job array over samples/ submitted by
//! `kurz slurm` with the SmolLM2-135M test model, merged and compared with
//! one unsharded `--jobs 1` run; then one task cancelled mid-run
//! (`scancel JOB_1`), resubmitted alone, and the result checked again.
//!
//! Without the Slurm programs (or not as root) the tests print a SKIPPED
//! line and pass, unless KURZ_REQUIRE_SLURM=1 (as in .ci/run): then they
//! fail.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use serde_json::Value;

/// Quick settings, the same for the array and the reference run.
const SETTINGS: [&str; 8] = [
    "--max-words",
    "30",
    "--no-guard",
    "--candidates",
    "1",
    "--jobs",
    "1",
    "--quiet",
];
const WAIT_LIMIT: Duration = Duration::from_secs(40 * 60);

/// One cluster at a time on this machine.
static SERIAL: Mutex<()> = Mutex::new(());

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A running one-node cluster; stopped on drop.
struct Cluster {
    dir: tempfile::TempDir,
    conf: PathBuf,
}

impl Cluster {
    /// Starts the cluster, or `None` (after a SKIPPED line) when Slurm is
    /// not installed or this is not root and KURZ_REQUIRE_SLURM is not 1.
    fn start(test: &str) -> Option<Cluster> {
        let required = std::env::var("KURZ_REQUIRE_SLURM").is_ok_and(|v| v == "1");
        let missing: Vec<&str> = [
            "munged",
            "mungekey",
            "slurmctld",
            "slurmd",
            "sbatch",
            "squeue",
            "scancel",
            "scontrol",
        ]
        .into_iter()
        .filter(|p| !on_path(p))
        .collect();
        // SAFETY: geteuid has no preconditions.
        let root = unsafe { libc::geteuid() } == 0;
        if !missing.is_empty() || !root {
            let why = if missing.is_empty() {
                "not running as root".to_string()
            } else {
                format!("missing {}", missing.join(", "))
            };
            assert!(
                !required,
                "{test}: KURZ_REQUIRE_SLURM=1 but Slurm cannot run: {why}"
            );
            println!("SKIPPED {test}: no Slurm here ({why}; apt-get install munge slurmctld slurmd slurm-client, run as root)");
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let out = Command::new(repo().join("scripts/slurm/start.sh"))
            .arg(dir.path())
            .output()
            .unwrap();
        let conf = dir.path().join("slurm.conf");
        let cluster = Cluster { dir, conf };
        assert!(
            out.status.success(),
            "start.sh failed: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        Some(cluster)
    }

    fn command(&self, program: &str) -> Command {
        let mut cmd = Command::new(program);
        cmd.env("SLURM_CONF", &self.conf);
        cmd
    }

    /// Runs a Slurm client; its stdout.
    fn run(&self, program: &str, args: &[&str]) -> String {
        let out = self.command(program).args(args).output().unwrap();
        assert!(
            out.status.success(),
            "{program} {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Waits until no task of `job` is pending or running.
    fn wait(&self, job: &str) {
        let started = Instant::now();
        while !self
            .run("squeue", &["-h", "-j", job, "-o", "%i %T"])
            .trim()
            .is_empty()
        {
            assert!(
                started.elapsed() < WAIT_LIMIT,
                "job {job} still running: {}",
                self.logs()
            );
            std::thread::sleep(Duration::from_secs(2));
        }
    }

    /// `JobState` of every task of `job` (`scontrol show job`).
    fn states(&self, job: &str) -> Vec<String> {
        self.run("scontrol", &["-o", "show", "job", job])
            .lines()
            .filter_map(|l| {
                l.split_whitespace()
                    .find_map(|w| w.strip_prefix("JobState="))
            })
            .map(str::to_string)
            .collect()
    }

    fn logs(&self) -> String {
        let mut text = String::new();
        for name in ["slurmctld.log", "slurmd.log"] {
            let log =
                fs::read_to_string(self.dir.path().join("log").join(name)).unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(15).collect();
            text.push_str(&format!(
                "== {name}\n{}\n",
                tail.into_iter().rev().collect::<Vec<_>>().join("\n")
            ));
        }
        text
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = Command::new(repo().join("scripts/slurm/stop.sh"))
            .arg(self.dir.path())
            .status();
    }
}

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|d| d.join(program).is_file()))
}

/// A work folder holding a copy of samples/ (so paths are short and
/// relative, as a user's would be).
fn workspace() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_tree(&repo().join("samples"), &dir.path().join("samples"));
    dir
}

fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for e in fs::read_dir(from).unwrap().flatten() {
        if e.file_type().unwrap().is_dir() {
            copy_tree(&e.path(), &to.join(e.file_name()));
        } else {
            fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

fn kurz(cwd: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kurz"));
    cmd.current_dir(cwd)
        .env("KURZ_HOME", cwd.join("home"))
        .env("HF_HUB_CACHE", cwd.join("hf"))
        .env_remove("KURZ_MODEL")
        .env_remove("SLURM_ARRAY_TASK_ID")
        .env_remove("SLURM_CPUS_PER_TASK");
    cmd
}

/// The unsharded `--jobs 1` run over samples/, once per test process.
fn reference() -> &'static Path {
    static REF: OnceLock<PathBuf> = OnceLock::new();
    REF.get_or_init(|| {
        let dir = workspace().keep();
        common::test_model();
        let out = kurz(&dir)
            .args([
                "summarize",
                "samples",
                "-o",
                "ref",
                "-m",
                common::TEST_PRESET,
                "--offline",
                "--cache-dir",
            ])
            .arg(common::test_cache())
            .args(SETTINGS)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "reference run: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        dir.join("ref")
    })
}

/// `kurz slurm summarize samples -o out --shards 3`; the job id.
fn submit(cluster: &Cluster, cwd: &Path) -> String {
    common::test_model();
    let out = kurz(cwd)
        .env("SLURM_CONF", &cluster.conf)
        .args([
            "slurm",
            "summarize",
            "samples",
            "-o",
            "out",
            "--shards",
            "3",
            "--cpus-per-task",
            "1",
        ])
        .args(["-m", common::TEST_PRESET, "--cache-dir"])
        .arg(common::test_cache())
        .args(SETTINGS)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "kurz slurm: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let job = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(
        !job.is_empty() && job.bytes().all(|b| b.is_ascii_digit()),
        "{job:?}"
    );
    let script = fs::read_to_string(cwd.join("out/.kurz-slurm/kurz-summarize.sbatch")).unwrap();
    assert!(script.contains("#SBATCH --array=1-3"), "{script}");
    assert!(script.contains("--shard auto/3 --offline"), "{script}");
    job
}

fn merge(cwd: &Path) -> (i32, String) {
    let out = kurz(cwd).args(["merge", "out"]).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The rows of `manifest` without timings, and without `root`, which each
/// run records as its own folder: checked here to be the `samples/` beside
/// the output folder (the array's tasks and the reference run live in
/// different scratch folders).
fn rows(manifest: &Path) -> Vec<Value> {
    let samples = manifest.parent().unwrap().parent().unwrap().join("samples");
    common::tree::rows_without_timings(manifest)
        .into_iter()
        .map(|mut row| {
            let root = row.as_object_mut().unwrap().remove("root");
            assert_eq!(root, Some(Value::from(samples.to_str().unwrap())), "{row}");
            row
        })
        .collect()
}

/// The result files of an output folder (no manifest, no Slurm records).
fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    common::tree::files(dir, |rel| {
        rel == "manifest.jsonl" || rel.starts_with(".kurz-slurm")
    })
}

/// The merged folder equals the reference: result files byte for byte,
/// manifest rows but for timings.
fn assert_same_as_reference(cwd: &Path) {
    let reference = reference();
    let want = files(reference);
    // One result file per input with an `ok` row: samples/ holds articles
    // in every input format (7 text/HTML files, a PDF, a DOCX, an e-mail
    // and a feed of three items).
    let ok_rows = fs::read_to_string(reference.join("manifest.jsonl"))
        .unwrap()
        .lines()
        .filter(|line| serde_json::from_str::<Value>(line).unwrap()["status"] == "ok")
        .count();
    assert!(want.len() >= 7, "samples/ has at least 7 articles");
    assert_eq!(want.len(), ok_rows, "one result file per ok input");
    let got = files(&cwd.join("out"));
    let names = |f: &[(String, Vec<u8>)]| f.iter().map(|x| x.0.clone()).collect::<Vec<_>>();
    assert_eq!(names(&got), names(&want));
    for ((name, a), (_, b)) in got.iter().zip(&want) {
        assert!(
            a == b,
            "{name} differs:\n{}\n---\n{}",
            String::from_utf8_lossy(a),
            String::from_utf8_lossy(b)
        );
    }
    assert_eq!(
        rows(&cwd.join("out/manifest.jsonl")),
        rows(&reference.join("manifest.jsonl"))
    );
}

#[test]
fn a_three_task_array_merges_into_the_unsharded_result() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let Some(cluster) = Cluster::start("a_three_task_array_merges_into_the_unsharded_result")
    else {
        return;
    };
    let started = Instant::now();
    let work = workspace();
    let job = submit(&cluster, work.path());
    reference();
    cluster.wait(&job);
    let states = cluster.states(&job);
    assert_eq!(states, ["COMPLETED"; 3], "{}", cluster.logs());
    let (code, err) = merge(work.path());
    assert_eq!(code, 0, "{err}");
    assert!(!work.path().join("out/.kurz-shards").exists());
    assert_same_as_reference(work.path());
    println!(
        "slurm array test: {:.0} s wall (the reference run included when this test ran first)",
        started.elapsed().as_secs_f64()
    );
}

#[test]
fn a_cancelled_task_resubmitted_alone_completes_the_result() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let Some(cluster) = Cluster::start("a_cancelled_task_resubmitted_alone_completes_the_result")
    else {
        return;
    };
    let started = Instant::now();
    let work = workspace();
    let job = submit(&cluster, work.path());
    // Task 1: cancel it once its first result is in.
    let part = work.path().join("out/.kurz-shards/1-of-3.jsonl");
    let task = format!("{job}_1");
    while fs::read_to_string(&part).map_or(0, |t| t.lines().count()) < 1 {
        assert!(
            started.elapsed() < WAIT_LIMIT,
            "task 1 wrote nothing: {}",
            cluster.logs()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    cluster.run("scancel", &[&task]);
    cluster.wait(&job);
    let done = fs::read_to_string(&part).unwrap().lines().count();
    let plan = work.path().join("out/.kurz-shards/1-of-3.plan.json");
    let plan: Value = serde_json::from_str(&fs::read_to_string(plan).unwrap()).unwrap();
    let assigned = plan["inputs"].as_array().unwrap().len();
    let (code, err) = merge(work.path());
    if done < assigned {
        assert_eq!(code, 2, "{err}");
        assert!(err.contains("shard 1/3 has not finished"), "{err}");
    }
    // Resubmit task 1 alone with the script kurz slurm wrote.
    let script = work.path().join("out/.kurz-slurm/kurz-summarize.sbatch");
    let again = cluster.run(
        "sbatch",
        &["--parsable", "--array=1", script.to_str().unwrap()],
    );
    let again = again.trim().split(';').next().unwrap().to_string();
    cluster.wait(&again);
    assert_eq!(cluster.states(&again), ["COMPLETED"], "{}", cluster.logs());
    let (code, err) = merge(work.path());
    assert_eq!(code, 0, "{err}");
    assert_same_as_reference(work.path());
    println!(
        "slurm cancel test: {:.0} s wall; task 1 had {done} of {assigned} done when cancelled",
        started.elapsed().as_secs_f64()
    );
}
