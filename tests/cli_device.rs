//! `--device` / `KURZ_DEVICE` on the commands that run a model.

mod common;

use std::path::Path;
use std::process::Output;

use serde_json::Value;

fn article(dir: &Path) -> std::path::PathBuf {
    let path = dir.join("meldung.txt");
    std::fs::write(
        &path,
        "Der Stadtrat von Leipzig hat am Dienstag einen neuen Radweg beschlossen. \
         Die Strecke soll 2027 fertig sein und 4,5 Millionen Euro kosten.\n",
    )
    .unwrap();
    path
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn summarize(dir: &Path, device: Option<&str>, env: Option<&str>) -> Output {
    let mut cmd = common::isolated_kurz(dir);
    cmd.arg("summarize")
        .arg(article(dir))
        .arg("-o")
        .arg(dir.join("out"))
        .arg("-m")
        .arg(common::test_model())
        .args(["--offline", "--jobs", "1", "-q", "--max-words", "20"])
        .env_remove("KURZ_DEVICE");
    if let Some(device) = device {
        cmd.args(["--device", device]);
    }
    if let Some(value) = env {
        cmd.env("KURZ_DEVICE", value);
    }
    cmd.output().unwrap()
}

#[test]
fn unknown_devices_are_refused_with_the_accepted_forms() {
    let dir = tempfile::tempdir().unwrap();
    for (flag, env) in [
        (Some("tpu"), None),
        (Some("cuda:-1"), None),
        (None, Some("cuda:x")),
    ] {
        let out = summarize(dir.path(), flag, env);
        assert_eq!(
            out.status.code(),
            Some(1),
            "{flag:?} {env:?}: {}",
            stderr(&out)
        );
        let err = stderr(&out);
        assert!(err.contains("expected auto, cpu, cuda, cuda:N"), "{err}");
        assert!(!dir.path().join("out/manifest.jsonl").exists());
    }
}

/// A CPU-only build asked for a GPU says it lacks the feature and how to
/// get it, before loading anything.
#[cfg(not(feature = "cuda"))]
#[test]
fn cuda_in_a_cpu_build_is_an_error_saying_which() {
    let dir = tempfile::tempdir().unwrap();
    for (flag, env, named) in [
        (Some("cuda"), None, "cuda:0"),
        (Some("cuda:1"), None, "cuda:1"),
        (None, Some("cuda"), "cuda:0"),
    ] {
        let out = summarize(dir.path(), flag, env);
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        let err = stderr(&out);
        assert!(
            err.contains(&format!(
                "--device {named}: this kurz was built without cuda support; \
                 rebuild with `cargo build --release --features cuda`"
            )),
            "{err}"
        );
    }
}

/// The CPU, asked for by flag or variable, runs and is recorded in the
/// manifest; a CPU-only build's `auto` is the CPU without a note.
#[test]
fn the_manifest_records_the_device_that_ran() {
    for (flag, env) in [
        (Some("cpu"), None),
        (None, Some("cpu")),
        (Some("auto"), None),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let out = summarize(dir.path(), flag, env);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{flag:?} {env:?}: {}",
            stderr(&out)
        );
        let manifest = std::fs::read_to_string(dir.path().join("out/manifest.jsonl")).unwrap();
        let row: Value = serde_json::from_str(manifest.lines().next().unwrap()).unwrap();
        let ran = kurz::model::device_name(&kurz::model::default_device());
        let want = if flag == Some("auto") {
            ran.as_str()
        } else {
            "cpu"
        };
        assert_eq!(row["model"]["device"], want, "{row}");
        if want == "cpu" && !cfg!(any(feature = "cuda", feature = "metal")) {
            assert!(
                !stderr(&out).contains("running on the CPU"),
                "{}",
                stderr(&out)
            );
        }
    }
}

#[test]
fn bench_reports_the_device() {
    let dir = tempfile::tempdir().unwrap();
    let out = common::isolated_kurz(dir.path())
        .arg("bench")
        .arg(article(dir.path()))
        .arg("-m")
        .arg(common::test_model())
        .args([
            "--offline",
            "--json",
            "--threads",
            "1",
            "--max-new-tokens",
            "2",
            "--device",
            "cpu",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["device"], "cpu", "{report}");
}
