//! `kurz bench` on the real SmolLM2-135M test model: the `--json` report's
//! fields, the prompts written by `--dump-prompts`, the kernel path the
//! report names (`KURZ_KERNELS`), and the exit codes.
//! Only shapes and counts are checked; speed is never asserted here (it is
//! measured by bench/run.sh).

mod common;

use std::fs;
use std::path::Path;

use assert_cmd::Command;
use serde_json::Value;

use kurz::input::{extract_document, InputKind};
use kurz::model::{default_device, CpuKernels, Isa, Model};
use kurz::task::prompt::PromptStyle;
use kurz::task::summarize::whole_article_prompt;

const TITLE: &str = "Neue Brücke in Dresden eröffnet";
const ARTICLE: &str = "Neue Brücke in Dresden eröffnet

In Dresden ist am Montag eine neue Brücke über die Elbe eröffnet worden. Der Bau dauerte \
drei Jahre und kostete 40 Millionen Euro.
";

fn kurz() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kurz"));
    cmd.arg("bench")
        .arg("--model")
        .arg(common::test_model())
        .arg("--offline")
        .env_remove("KURZ_MODEL")
        .env_remove("KURZ_KERNELS")
        .env_remove("CANDLE_NUM_THREADS")
        .env_remove("RAYON_NUM_THREADS");
    cmd
}

fn write_article(dir: &Path) -> std::path::PathBuf {
    let path = dir.join("bruecke.txt");
    fs::write(&path, ARTICLE).unwrap();
    path
}

/// The ids `kurz summarize` would feed for ARTICLE, composed from the
/// library's own pieces.
fn expected_prompt(model: &Model, max_words: usize) -> Vec<u32> {
    let doc = extract_document(ARTICLE, InputKind::Text).unwrap();
    assert_eq!(doc.title.as_deref(), Some(TITLE));
    whole_article_prompt(model, &doc, PromptStyle::default(), max_words)
        .unwrap()
        .tokens
}

fn token_ids(v: &Value) -> Vec<u32> {
    v.as_array()
        .expect("an array of token ids")
        .iter()
        .map(|id| id.as_u64().unwrap() as u32)
        .collect()
}

#[test]
fn json_report_has_every_figure() {
    let dir = tempfile::tempdir().unwrap();
    let input = write_article(dir.path());
    let out = kurz()
        .args(["--threads", "1", "--max-new-tokens", "2", "--json"])
        .arg(&input)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).expect("stdout is one JSON object");
    assert!(report["load_s"].as_f64().unwrap() > 0.0);
    assert_eq!(report["threads"], 1);
    assert_eq!(report["max_new_tokens"], 2);
    assert_eq!(report["errors"].as_array().unwrap().len(), 0);
    let files = report["files"].as_array().unwrap();
    assert_eq!(files.len(), 1);
    let f = &files[0];
    assert!(f["file"].as_str().unwrap().ends_with("bruecke.txt"));
    let model = Model::load(&common::test_model(), &default_device()).unwrap();
    assert_eq!(
        f["prompt_tokens"].as_u64().unwrap() as usize,
        expected_prompt(&model, 60).len()
    );
    assert_eq!(f["fits"], true);
    for key in ["prefill_s", "prefill_tok_s", "decode_s", "decode_tok_s"] {
        assert!(f[key].as_f64().unwrap() >= 0.0, "{key}");
    }
    assert!(f["prefill_tok_s"].as_f64().unwrap() > 0.0);
    let generated = f["generated_tokens"].as_u64().unwrap();
    assert!(generated <= 2);
    assert_eq!(
        f["output_tokens"].as_array().unwrap().len() as u64,
        generated
    );
    let stop = f["stop"].as_str().unwrap();
    assert!(stop == "max_tokens" || stop == "end_of_turn", "{stop}");
    let totals = &report["totals"];
    assert_eq!(totals["files"], 1);
    assert_eq!(totals["prompt_tokens"], f["prompt_tokens"]);
    assert_eq!(totals["generated_tokens"], f["generated_tokens"]);
}

#[test]
fn dumped_prompts_are_the_summary_prompts() {
    let dir = tempfile::tempdir().unwrap();
    let input = write_article(dir.path());
    let dump = dir.path().join("prompts.jsonl");
    kurz()
        .args(["--summary-budget", "--max-words", "20", "--dump-prompts"])
        .arg(&dump)
        .arg(&input)
        .assert()
        .success();
    let text = fs::read_to_string(&dump).unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1);
    let line = &lines[0];
    // `summarize --max-words 20` caps answers at 2 * 20 + 24 tokens.
    assert_eq!(line["max_new_tokens"], 64);
    assert_eq!(line["fits"], true);
    let ids = token_ids(&line["prompt_tokens"]);
    let model = Model::load(&common::test_model(), &default_device()).unwrap();
    assert_eq!(ids, expected_prompt(&model, 20));
    // ChatML, as SmolLM2's template renders it: `<|im_start|>system\n…`.
    let tokenizer = model.tokenizer();
    assert_eq!(Some(ids[0]), tokenizer.token_id("<|im_start|>"));
    assert_eq!(tokenizer.token_text(ids[1]).as_deref(), Some("system"));
    assert_eq!(token_ids(&line["stop_tokens"]), model.stop_tokens());
}

#[test]
fn exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    // Nothing to read: nothing runs.
    kurz().arg(dir.path().join("missing.txt")).assert().code(1);
    // Conflicting caps: a usage error (exit 1, clap's message).
    let input = write_article(dir.path());
    kurz()
        .args(["--summary-budget", "--max-new-tokens", "5"])
        .arg(&input)
        .assert()
        .code(1)
        .stderr(predicates::str::contains("cannot be used with"));
    // A prompt longer than the model's context fails that file only
    // (before any generation).
    let long = dir.path().join("long.txt");
    fs::write(&long, ARTICLE.repeat(300)).unwrap();
    let out = kurz().arg("--json").arg(&long).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["files"].as_array().unwrap().len(), 0);
    let error = report["errors"][0]["error"].as_str().unwrap();
    assert!(error.contains("exceeds the model's context"), "{error}");
}

/// The kernel path the report should name when `KURZ_KERNELS` asks for
/// `cpu`: Candle's kernels run GPU builds whatever it says.
fn expected_kernels(cpu: CpuKernels) -> String {
    if default_device().is_cpu() {
        cpu.to_string()
    } else {
        "candle".to_string()
    }
}

#[test]
fn the_report_names_the_kernels_that_ran() {
    let dir = tempfile::tempdir().unwrap();
    let input = write_article(dir.path());
    let bench = |kernels: Option<&str>, json: bool| {
        let mut cmd = kurz();
        cmd.args(["--threads", "1", "--max-new-tokens", "2"]);
        if json {
            cmd.arg("--json");
        }
        if let Some(value) = kernels {
            cmd.env("KURZ_KERNELS", value);
        }
        let out = cmd.arg(&input).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "KURZ_KERNELS={kernels:?}: {stderr}");
        String::from_utf8(out.stdout).unwrap()
    };
    let json = |text: String| -> Value { serde_json::from_str(&text).unwrap() };
    // Unset and `auto`: the best path this CPU runs, in the table too.
    let best = expected_kernels(CpuKernels::best());
    assert_eq!(json(bench(Some("auto"), true))["kernels"], best);
    let table = bench(None, false);
    let header = table.lines().next().unwrap();
    assert!(header.contains(&format!("kernels: {best},")), "{header}");
    // Every path this CPU runs, forced; the portable one runs anywhere.
    for cpu in CpuKernels::available() {
        let report = json(bench(Some(cpu.isa().name()), true));
        assert_eq!(report["kernels"], expected_kernels(cpu));
        assert_eq!(report["errors"].as_array().unwrap().len(), 0);
        assert!(report["totals"]["prefill_tok_s"].as_f64().unwrap() > 0.0);
    }
}

#[test]
fn kernels_that_cannot_run_are_an_error_naming_the_variable() {
    let dir = tempfile::tempdir().unwrap();
    let input = write_article(dir.path());
    let out = kurz()
        .env("KURZ_KERNELS", "bogus")
        .arg("--json")
        .arg(&input)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty(), "no report after the error");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(
            "kurz: error: KURZ_KERNELS=bogus: unknown kernel path; expected portable, candle, avx2, avx512 or auto"
        ),
        "{stderr}"
    );
    // A path this CPU lacks the features for (none on a CPU with AVX-512
    // VNNI) names what is missing.
    for isa in Isa::ALL {
        if CpuKernels::new(isa).is_ok() {
            continue;
        }
        let out = kurz()
            .env("KURZ_KERNELS", isa.name())
            .arg(&input)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1));
        let stderr = String::from_utf8_lossy(&out.stderr);
        let expected = format!("KURZ_KERNELS={isa}: this CPU lacks ");
        assert!(stderr.contains(&expected), "{stderr}");
    }
}
