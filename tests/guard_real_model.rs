//! The faithfulness guard on a real model: a forbidden-name bias changes
//! what the model writes, and the guard keeps the best candidate.

mod common;

use candle_core::Device;
use kurz::generate::{generate, GenerateOptions};
use kurz::model::{Message, Model, TextTokenizer};
use kurz::task::guard::{guarded, GuardHints, GuardOptions, Verdict};
use kurz::task::{TaskOutput, TaskStats};

fn output(text: &str) -> TaskOutput {
    TaskOutput {
        text: text.to_string(),
        stats: TaskStats::default(),
        warnings: Vec::new(),
        guard: None,
        title: None,
        numbers_rewritten: 0,
    }
}

fn tokenizer() -> TextTokenizer {
    TextTokenizer::from_gguf_file(&common::test_model()).unwrap()
}

const SOURCE: &str = "Bei dem Gespräch am Freitag in Palm Beach in Florida sei es um globale \
Sicherheitsprobleme gegangen, teilte NATO-Sprecherin Farah Dakhlallah am Samstag in Brüssel mit. \
Rutte hatte das Amt als NATO-Generalsekretär im Oktober übernommen. Nach Angaben der USA sind \
mehr als 10.000 nordkoreanische Soldaten in der Region Kursk stationiert.";

#[test]
fn a_faithful_first_candidate_passes() {
    let tokenizer = tokenizer();
    let mut calls = 0;
    let (out, report) = guarded(SOURCE, &tokenizer, &GuardOptions::default(), 1, |_, _| {
        calls += 1;
        Ok(vec![output(
            "NATO chief Rutte met in Palm Beach, Florida; 10,000 North Korean soldiers are in Kursk.",
        )])
    })
    .unwrap();
    assert_eq!(calls, 1);
    assert_eq!(report.guard, Verdict::Pass);
    assert_eq!(report.attempts, 1);
    assert!(report.unsupported.is_empty());
    assert!(out.text.contains("Rutte"));
}

#[test]
fn an_invented_name_is_suppressed_and_repaired() {
    let tokenizer = tokenizer();
    let mut seen: Vec<GuardHints> = Vec::new();
    let (out, report) = guarded(
        SOURCE,
        &tokenizer,
        &GuardOptions::default(),
        1,
        |hints, _| {
            seen.push(hints.clone());
            Ok(vec![output(if seen.len() == 1 {
                "NATO Secretary-General Jens Stoltenberg met Trump in Palm Beach."
            } else {
                "NATO Secretary-General Rutte held talks in Palm Beach."
            })])
        },
    )
    .unwrap();
    assert_eq!(report.guard, Verdict::Repaired);
    assert_eq!(report.attempts, 2);
    assert!(out.text.contains("Rutte"));
    // The retry was told which names exist and which tokens to avoid.
    assert!(seen[0].banned_sequences.is_empty());
    assert!(seen[1].source_names.iter().any(|n| n == "Rutte"));
    let banned: Vec<String> = seen[1]
        .banned_sequences
        .iter()
        .map(|s| tokenizer.decode(s).unwrap())
        .collect();
    for word in [" Jens", "Jens", " Stoltenberg", "Stoltenberg", " Trump"] {
        assert!(
            banned.iter().any(|b| b == word),
            "{word:?} not in {banned:?}"
        );
    }
    // Words of names the article contains are never banned.
    assert!(!banned
        .iter()
        .any(|b| b.trim() == "NATO" || b.trim() == "Palm"));
}

#[test]
fn an_unrepairable_output_fails_and_keeps_the_best_candidate() {
    let tokenizer = tokenizer();
    let texts = [
        "Jens Stoltenberg and Olaf Scholz met Joe Biden.",
        "Jens Stoltenberg met Rutte.",
        "Olaf Scholz and Joe Biden met Jens Stoltenberg.",
    ];
    let mut i = 0;
    let (out, report) = guarded(SOURCE, &tokenizer, &GuardOptions::default(), 1, |_, _| {
        i += 1;
        Ok(vec![output(texts[i - 1])])
    })
    .unwrap();
    assert_eq!(report.guard, Verdict::Fail);
    // The second round's invented name was banned already: nothing new to
    // try, so no third round.
    assert_eq!(report.attempts, 2);
    assert_eq!(out.text, texts[1]);
    assert_eq!(report.unsupported, vec!["Jens Stoltenberg".to_string()]);
}

#[test]
fn a_forbidden_name_bias_changes_the_real_models_output() {
    let model = Model::load(&common::test_model(), &Device::Cpu).unwrap();
    let messages = [
        Message::system("You are a helpful assistant."),
        Message::user("Name one famous German composer. Answer with the name only."),
    ];
    let prompt = model.chat_tokens(&messages).unwrap();
    let mut cache = model.transformer().new_cache();
    let free = generate(
        &model,
        &mut cache,
        &prompt,
        &GenerateOptions {
            max_new_tokens: 12,
            ..GenerateOptions::default()
        },
    )
    .unwrap();
    assert!(!free.tokens.is_empty());
    // Ban the first word the model chose: a different answer must come out.
    let banned = free.tokens[0];
    let biased = generate(
        &model,
        &mut cache,
        &prompt,
        &GenerateOptions {
            max_new_tokens: 12,
            banned_sequences: vec![vec![banned]],
            ..GenerateOptions::default()
        },
    )
    .unwrap();
    assert!(!biased.tokens.contains(&banned), "{:?}", biased.text);
    assert_ne!(free.text, biased.text);
}
