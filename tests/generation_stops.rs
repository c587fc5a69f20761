//! Generation and the tasks honour a `StopToken` on the real test model
//! (SmolLM2-135M): a passed deadline or a raised interrupt ends the work
//! with `ModelError::Aborted`, between model passes; a far deadline changes
//! nothing.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use candle_core::Device;
use kurz::generate::{generate, EnoughCheck, GenerateOptions, Generation};
use kurz::input::Document;
use kurz::model::{Message, Model, ModelError};
use kurz::stop::{Abort, Interrupt, StopToken};
use kurz::task::guard::GuardOptions;
use kurz::task::prompt::PromptStyle;
use kurz::task::{summarize, translate, SummaryOptions, TranslateOptions};

fn load() -> Model {
    Model::load(&common::test_model(), &Device::Cpu).unwrap()
}

const ARTICLE: &str = "Nach tagelangem Dauerregen hat die Mulde in Grimma ihren \
Höchststand erreicht. Rund 2.300 Menschen mussten ihre Wohnungen verlassen.\n\n\
Die Feuerwehr war mit 400 Kräften im Einsatz. Der Pegel soll ab Freitag sinken.";

fn prompt(model: &Model) -> Vec<u32> {
    model
        .chat_tokens(&[Message::user(format!(
            "{ARTICLE}\n\nSummarize the article in English."
        ))])
        .unwrap()
}

fn run(model: &Model, prompt: &[u32], stop: StopToken) -> Result<Generation, ModelError> {
    let mut cache = model.transformer().new_cache();
    let options = GenerateOptions {
        max_new_tokens: 16,
        stop,
        ..GenerateOptions::default()
    };
    generate(model, &mut cache, prompt, &options)
}

fn timed_out(err: &ModelError) -> bool {
    matches!(err, ModelError::Aborted(Abort::TimedOut(_)))
}

fn interrupted(err: &ModelError) -> bool {
    matches!(err, ModelError::Aborted(Abort::Interrupted))
}

#[test]
fn a_passed_deadline_or_an_interrupt_stops_generation_and_a_far_one_changes_nothing() {
    let model = load();
    let prompt = prompt(&model);
    let start = Instant::now();
    let zero = StopToken::new(&Interrupt::new(), Some(Duration::ZERO));
    let err = run(&model, &prompt, zero).unwrap_err();
    assert!(timed_out(&err), "{err}");
    assert!(err.to_string().contains("(--timeout-per-file)"), "{err}");
    let interrupt = Interrupt::new();
    interrupt.raise(2);
    let err = run(&model, &prompt, StopToken::new(&interrupt, None)).unwrap_err();
    assert!(interrupted(&err), "{err}");
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "{:?}",
        start.elapsed()
    );

    let free = run(&model, &prompt, StopToken::never()).unwrap();
    let far = StopToken::new(&Interrupt::new(), Some(Duration::from_secs(3600)));
    let bounded = run(&model, &prompt, far).unwrap();
    assert!(!free.tokens.is_empty());
    assert_eq!(free.tokens, bounded.tokens);
    assert_eq!(free.text, bounded.text);
}

#[test]
fn an_interrupt_during_decoding_stops_before_the_next_step() {
    let model = load();
    let prompt = prompt(&model);
    let interrupt = Interrupt::new();
    let seen = Arc::new(AtomicUsize::new(0));
    // The caller's check runs after each generated token: it raises the
    // interrupt after the third, as a signal arriving mid-answer would.
    let enough = {
        let interrupt = interrupt.clone();
        let seen = Arc::clone(&seen);
        EnoughCheck::new(move |_| {
            if seen.fetch_add(1, Ordering::SeqCst) + 1 == 3 {
                interrupt.raise(15);
            }
            false
        })
    };
    let mut cache = model.transformer().new_cache();
    let options = GenerateOptions {
        max_new_tokens: 64,
        enough: Some(enough),
        stop: StopToken::new(&interrupt, None),
        ..GenerateOptions::default()
    };
    let err = generate(&model, &mut cache, &prompt, &options).unwrap_err();
    assert!(interrupted(&err), "{err}");
    assert_eq!(
        seen.load(Ordering::SeqCst),
        3,
        "no step after the interrupt"
    );
    assert_eq!(interrupt.exit_status(), Some(143));
}

fn doc() -> Document {
    Document {
        title: Some("Hochwasser in Grimma".into()),
        text: ARTICLE.into(),
        encoding: "UTF-8",
        language: None,
    }
}

fn summary_options() -> SummaryOptions {
    SummaryOptions {
        max_words: 40,
        context: 2048,
        sampling: Default::default(),
        guard: GuardOptions::default(),
        candidates: Default::default(),
        style: PromptStyle::default(),
    }
}

#[test]
fn summarize_and_translate_stop_when_told() {
    let model = load();
    let mut cache = model.transformer().new_cache();
    let translate_options = TranslateOptions {
        context: 2048,
        sampling: Default::default(),
        candidates: Default::default(),
        previous_paragraph: false,
    };
    let start = Instant::now();
    let zero = StopToken::new(&Interrupt::new(), Some(Duration::ZERO));
    let err = summarize(&model, &mut cache, &doc(), &summary_options(), &zero).unwrap_err();
    assert!(timed_out(&err), "{err}");
    let err = translate(&model, &mut cache, &doc(), &translate_options, &zero).unwrap_err();
    assert!(timed_out(&err), "{err}");
    let interrupt = Interrupt::new();
    interrupt.raise(2);
    let raised = StopToken::new(&interrupt, None);
    let err = summarize(&model, &mut cache, &doc(), &summary_options(), &raised).unwrap_err();
    assert!(interrupted(&err), "{err}");
    let err = translate(&model, &mut cache, &doc(), &translate_options, &raised).unwrap_err();
    assert!(interrupted(&err), "{err}");
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "{:?}",
        start.elapsed()
    );

    // A deadline that passes while the model works: the task stops at the
    // next check, well before it would have finished.
    let soon = StopToken::new(&Interrupt::new(), Some(Duration::from_millis(1)));
    let err = translate(&model, &mut cache, &doc(), &translate_options, &soon).unwrap_err();
    assert!(timed_out(&err), "{err}");

    // A far deadline gives the summary an unbounded run gives.
    let free = summarize(
        &model,
        &mut cache,
        &doc(),
        &summary_options(),
        &StopToken::never(),
    )
    .unwrap();
    let far = StopToken::new(&Interrupt::new(), Some(Duration::from_secs(3600)));
    let bounded = summarize(&model, &mut cache, &doc(), &summary_options(), &far).unwrap();
    assert_eq!(free.text, bounded.text);
    assert_eq!(free.stats.generated_tokens, bounded.stats.generated_tokens);
}
