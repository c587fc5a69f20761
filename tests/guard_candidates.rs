//! The guard's choice among candidates, driven by scripted candidates (the
//! tokenizer is SmolLM2's, for the bans): an acceptable candidate ends the
//! rounds, consensus decides among acceptable ones, and a round is
//! generated again only when none is acceptable.

mod common;

use std::cell::RefCell;

use kurz::model::{ModelError, TextTokenizer};
use kurz::task::guard::{guarded, GuardHints, GuardOptions, Verdict};
use kurz::task::{TaskOutput, TaskStats};

const SOURCE: &str = "Stadtrat beschließt Radwege\n\nDer Stadtrat von Münster hat am Dienstag \
    40 Kilometer neue Radwege beschlossen. Oberbürgermeister Lewe sprach von einem \
    wichtigen Schritt. Die Kosten liegen bei 12 Millionen Euro.";

fn tokenizer() -> TextTokenizer {
    TextTokenizer::from_gguf_file(&common::test_model()).unwrap()
}

fn outputs(texts: &[&str]) -> Vec<TaskOutput> {
    texts
        .iter()
        .map(|t| TaskOutput {
            text: t.to_string(),
            stats: TaskStats {
                calls: 1,
                ..TaskStats::default()
            },
            warnings: Vec::new(),
            guard: None,
            title: None,
            numbers_rewritten: 0,
        })
        .collect()
}

/// Runs the guard over scripted rounds; returns its result and the hints
/// each round was asked with.
fn run(
    rounds: &[&[&str]],
    options: GuardOptions,
) -> (TaskOutput, kurz::task::guard::GuardReport, Vec<GuardHints>) {
    let seen = RefCell::new(Vec::new());
    let (output, report) = guarded(SOURCE, &tokenizer(), &options, 4, |hints, count| {
        let mut seen = seen.borrow_mut();
        // The first round of a guarded run is the greedy answer alone.
        let first = seen.is_empty();
        assert_eq!(count, if first && options.enabled { 1 } else { 4 });
        let round = rounds.get(seen.len()).copied().unwrap_or(&[]);
        seen.push(hints.clone());
        Ok::<_, ModelError>(outputs(round))
    })
    .unwrap();
    (output, report, seen.into_inner())
}

const GOOD_A: &str = "The city council of Münster approved 40 kilometres of new cycle lanes on Tuesday. They cost 12 million euros.";
const GOOD_B: &str = "Münster's city council approved 40 kilometres of new cycle lanes on Tuesday, costing 12 million euros.";
const GOOD_ODD: &str = "Lewe called it an important step.";
const INVENTED: &str = "Mayor Schmidt of Bielefeld approved 55 kilometres of cycle lanes.";
const GERMAN: &str = "Der Stadtrat von Münster hat am Dienstag 40 Kilometer neue Radwege beschlossen, die 12 Millionen Euro kosten.";

#[test]
fn consensus_picks_among_acceptable_candidates_in_one_round() {
    let (output, report, hints) = run(
        &[&[GOOD_ODD, INVENTED, GOOD_A, GOOD_B]],
        GuardOptions::default(),
    );
    assert_eq!(hints.len(), 1, "an acceptable candidate ends the rounds");
    assert_eq!(report.guard, Verdict::Pass);
    assert_eq!(report.attempts, 1);
    assert_eq!(report.candidates.len(), 4);
    assert!(report.chosen == 2 || report.chosen == 3, "{report:?}");
    assert_eq!(output.text, report.candidates[report.chosen].text);
    assert!(report.candidates[report.chosen].lost.is_none());
    assert_eq!(
        report.candidates[1].lost.as_deref(),
        Some("unsupported names, numbers or roles")
    );
    assert!(report.candidates[1]
        .unsupported
        .iter()
        .any(|u| u.contains("Bielefeld")));
    assert_eq!(
        report.candidates[0].lost.as_deref(),
        Some("lower consensus")
    );
    assert_eq!(report.output_language, "en");
    assert_eq!(output.stats.calls, 4);
}

#[test]
fn a_round_without_acceptable_candidates_is_generated_again_with_bans() {
    let (output, report, hints) = run(
        &[&[INVENTED, INVENTED], &[GOOD_A, INVENTED]],
        GuardOptions::default(),
    );
    assert_eq!(hints.len(), 2);
    assert!(hints[0].banned_sequences.is_empty());
    assert!(
        !hints[1].banned_sequences.is_empty(),
        "invented names are banned"
    );
    assert!(hints[1].source_names.iter().any(|n| n.contains("Münster")));
    assert!(!hints[1].remind_english);
    assert_eq!(report.guard, Verdict::Repaired);
    assert_eq!((report.attempts, report.chosen), (2, 0));
    assert_eq!(output.text, GOOD_A);
}

#[test]
fn german_answers_are_never_ok_and_bring_an_english_reminder() {
    let (output, report, hints) = run(
        &[&[GERMAN, GERMAN], &[GERMAN], &[GERMAN]],
        GuardOptions::default(),
    );
    // The second round brings the reminder; after it nothing new is left to
    // try (the same prompt would give the same answers): no third round.
    assert_eq!(hints.len(), 2);
    assert!(!hints[0].remind_english && hints[1].remind_english);
    assert_eq!(report.attempts, 2);
    assert_eq!(report.guard, Verdict::Fail);
    assert_eq!(report.output_language, "de");
    assert_eq!(output.text, GERMAN);
    assert_eq!(report.candidates[0].language, "de");

    // An English candidate in a later round is kept.
    let (output, report, _) = run(&[&[GERMAN], &[GERMAN, GOOD_B]], GuardOptions::default());
    assert_eq!(report.guard, Verdict::Repaired);
    assert_eq!(output.text, GOOD_B);
    assert_eq!(
        report.candidates[0].lost.as_deref(),
        Some("not English (de)")
    );

    // With the guard off nothing is regenerated, but English still wins.
    let off = GuardOptions {
        enabled: false,
        retries: 2,
    };
    let (output, report, hints) = run(&[&[GERMAN, INVENTED]], off);
    assert_eq!(hints.len(), 1);
    assert_eq!(output.text, INVENTED);
    assert_eq!(report.guard, Verdict::Pass);
}

#[test]
fn the_best_candidate_of_all_rounds_is_kept_when_none_is_acceptable() {
    let worse = "Mayor Schmidt of Bielefeld and Hamm approved 55 kilometres for 99 million euros.";
    let (output, report, hints) = run(&[&[INVENTED], &[worse], &[worse]], GuardOptions::default());
    assert_eq!(hints.len(), 3);
    assert_eq!(report.guard, Verdict::Fail);
    assert_eq!(output.text, INVENTED, "fewest unsupported claims");
    assert!(!report.unsupported.is_empty());
    assert_eq!(output.stats.calls, 3);
}
