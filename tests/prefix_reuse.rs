//! Reuse of the shared prompt opening on the real test model (SmolLM2-135M):
//! where a chat prompt splits, and that a sequence started from the stored
//! keys and values generates the same tokens whichever article computed
//! them first.

mod common;

use candle_core::Device;
use kurz::generate::{generate, GenerateOptions, Generation, MIN_SHARED_PREFIX};
use kurz::model::{ChatPrompt, Message, Model};

fn load() -> Model {
    Model::load(&common::test_model(), &Device::Cpu).unwrap()
}

const SYSTEM: &str = "You are a careful news editor. You summarize German news articles \
in English and keep every name and number as the article gives it.";

const ARTICLES: [&str; 2] = [
    "Nach tagelangem Dauerregen hat die Mulde in Grimma ihren Höchststand erreicht. \
     Rund 2.300 Menschen mussten ihre Wohnungen verlassen.",
    "Die Lokführergewerkschaft GDL hat zu einem 48-stündigen Streik aufgerufen. \
     Betroffen sind der Personen- und der Güterverkehr.",
];

fn chat(model: &Model, article: &str) -> ChatPrompt {
    model
        .chat_prompt(&[
            Message::system(SYSTEM),
            Message::user(format!("{article}\n\nSummarize the article in English.")),
        ])
        .unwrap()
}

fn run(model: &Model, prompt: &ChatPrompt) -> Generation {
    let mut cache = model.transformer().new_cache();
    let options = GenerateOptions {
        max_new_tokens: 20,
        shared_prefix: prompt.shared_prefix,
        ..GenerateOptions::default()
    };
    generate(model, &mut cache, &prompt.tokens, &options).unwrap()
}

#[test]
fn the_shared_opening_is_the_system_message_and_template_up_to_the_article() {
    let model = load();
    let [a, b] = ARTICLES.map(|text| chat(&model, text));
    assert_eq!(a.shared_prefix, b.shared_prefix);
    let shared = a.shared_prefix;
    assert!(shared >= MIN_SHARED_PREFIX, "{shared}");
    assert!(shared < a.tokens.len() && shared < b.tokens.len());
    assert_eq!(a.tokens[..shared], b.tokens[..shared]);
    // The opening holds the system message, and no word of the article.
    let opening = model.tokenizer().decode(&a.tokens[..shared]).unwrap();
    assert!(opening.contains("careful news editor"), "{opening:?}");
    assert!(!opening.contains("Mulde"), "{opening:?}");
    // A chat without a user message shares nothing.
    let none = model.chat_prompt(&[Message::system(SYSTEM)]).unwrap();
    assert_eq!(none.shared_prefix, 0);
}

#[test]
fn a_reused_opening_gives_the_tokens_of_one_computed_for_the_article_itself() {
    // First model: article A computes the opening, article B reuses it.
    let first = load();
    let [a, b] = ARTICLES.map(|text| chat(&first, text));
    let a_run = run(&first, &a);
    assert_eq!(a_run.reused_prompt_tokens, 0, "nothing stored yet");
    let b_reused = run(&first, &b);
    assert_eq!(b_reused.reused_prompt_tokens, b.shared_prefix);
    assert_eq!(first.prefixes().len(), 1);
    // Second model: article B computes the opening itself.
    let second = load();
    let b_fresh = run(&second, &b);
    assert_eq!(b_fresh.reused_prompt_tokens, 0);
    assert!(!b_fresh.tokens.is_empty());
    assert_eq!(b_reused.tokens, b_fresh.tokens);
    assert_eq!(b_reused.text, b_fresh.text);
}

#[test]
fn an_opening_starts_only_an_empty_cache() {
    let model = load();
    let transformer = model.transformer();
    let prompt = chat(&model, ARTICLES[0]);
    let opening = &prompt.tokens[..prompt.shared_prefix];
    let mut cache = transformer.new_cache();
    let reused = model
        .prefixes()
        .start_sequence(transformer, opening, &mut cache)
        .unwrap();
    assert!(!reused);
    assert_eq!(cache.len(), opening.len());
    let err = model
        .prefixes()
        .start_sequence(transformer, opening, &mut cache)
        .unwrap_err();
    assert!(err.to_string().contains("empty cache"), "{err}");
    // A fresh cache takes it: copied this time.
    let mut fresh = transformer.new_cache();
    assert!(model
        .prefixes()
        .start_sequence(transformer, opening, &mut fresh)
        .unwrap());
    assert_eq!(fresh.len(), opening.len());
}
