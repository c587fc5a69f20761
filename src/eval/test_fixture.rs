//! Test helpers: the Python-generated fixture and the optional WMT22 data set.

use std::path::PathBuf;
use std::sync::OnceLock;

use serde_json::Value;

use super::{corpus_bleu, corpus_chrf, read_lines};

/// `tests/fixtures/eval/metrics.json`, parsed once.
pub(crate) fn fixture() -> &'static Value {
    static FIXTURE: OnceLock<Value> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        serde_json::from_str(include_str!("../../tests/fixtures/eval/metrics.json"))
            .expect("metrics.json is valid JSON")
    })
}

/// Names of the inline chrF/BLEU corpora.
pub(crate) fn corpus_case_names() -> Vec<&'static str> {
    let names: Vec<&str> = fixture()["corpus"]
        .as_object()
        .map(|m| m.keys().map(String::as_str).collect())
        .unwrap_or_default();
    assert!(names.len() >= 10, "fixture has the inline corpora");
    names
}

/// Hypotheses and references of one inline corpus.
pub(crate) fn corpus_pairs(name: &str) -> (Vec<String>, Vec<String>) {
    let pairs = fixture()["corpus"][name]["pairs"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let side = |i: usize| -> Vec<String> {
        pairs
            .iter()
            .map(|p| p[i].as_str().unwrap_or_default().to_string())
            .collect()
    };
    (side(0), side(1))
}

/// Asserts `|got - want| <= tol`, naming the case on failure.
pub(crate) fn assert_close(got: f64, want: f64, tol: f64, what: &str) {
    assert!(
        (got - want).abs() <= tol,
        "{what}: got {got:.15}, want {want:.15}"
    );
}

/// The WMT22 de-en directory: `$KURZ_WMT22_DIR`, else `../shared/data/wmt22-de-en`
/// next to the crate; `None` (the caller skips) when absent.
fn wmt_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("KURZ_WMT22_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data/wmt22-de-en")
        });
    dir.join("ref.A.en").is_file().then_some(dir)
}

/// Published numbers (data README, sacrebleu 2.6.0), rounded to 3 decimals:
/// `(system, lines, BLEU, chrF)`.
const WMT_README: [(&str, usize, f64, f64); 3] = [
    ("Online-B", 300, 35.066, 59.129),
    ("JDExploreAcademy", 300, 34.854, 59.383),
    ("Online-B", 1984, 33.251, 58.283),
];

#[test]
fn wmt22_matches_sacrebleu() {
    let Some(dir) = wmt_dir() else {
        println!("skipping wmt22_matches_sacrebleu: ../shared/data/wmt22-de-en not found");
        return;
    };
    let refs = read_lines(dir.join("ref.A.en")).expect("read references");
    let entries = fixture()["wmt"].as_array().cloned().unwrap_or_default();
    assert!(!entries.is_empty(), "fixture has the wmt section");
    for entry in &entries {
        let system = entry["system"].as_str().unwrap_or_default();
        let lines = entry["lines"].as_u64().unwrap_or(0) as usize;
        let hyps = read_lines(dir.join(format!("hyp.{system}.en"))).expect("read hyps");
        let (hyps, refs) = (&hyps[..lines], &refs[..lines]);
        let what = format!("{system} first {lines}");
        let bleu = corpus_bleu(hyps, refs);
        let chrf = corpus_chrf(hyps, refs);
        assert_close(
            bleu.score,
            entry["bleu"].as_f64().unwrap_or(f64::NAN),
            1e-9,
            &what,
        );
        assert_close(
            chrf.score,
            entry["chrf"].as_f64().unwrap_or(f64::NAN),
            1e-9,
            &what,
        );
        assert_eq!(Some(bleu.sys_len), entry["bleu_sys_len"].as_u64(), "{what}");
        assert_eq!(Some(bleu.ref_len), entry["bleu_ref_len"].as_u64(), "{what}");
        if let Some(&(_, _, b, c)) = WMT_README
            .iter()
            .find(|(s, n, _, _)| *s == system && *n == lines)
        {
            assert_close(bleu.score, b, 5e-4, &format!("{what} README BLEU"));
            assert_close(chrf.score, c, 5e-4, &format!("{what} README chrF"));
        }
        println!("{what}: BLEU {:.3} chrF {:.3}", bleu.score, chrf.score);
    }
}
