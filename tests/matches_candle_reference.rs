//! kurz's own decoder (shared weights, per-worker KV cache) must produce the
//! same greedy tokens as the reference implementations in
//! candle-transformers on real models.

mod common;

use std::path::Path;

use candle_core::{Device, Tensor};
use candle_transformers::models::{quantized_llama, quantized_qwen2};
use kurz::generate::{generate, GenerateOptions};
use kurz::model::{Message, Model};

const STEPS: usize = 40;

fn prompt() -> Vec<Message> {
    vec![
        Message::system("You are a careful news editor."),
        Message::user(
            "Fasse auf Englisch zusammen: Der Bundestag hat am Donnerstag den Haushalt für \
             2025 beschlossen. Finanzministerin Anna Berger sprach von einem Kraftakt; \
             die Opposition kritisierte neue Schulden in Höhe von 51,3 Milliarden Euro.",
        ),
    ]
}

/// Greedy decoding with a candle-transformers model, stopping at `stops`.
fn reference_tokens(
    forward: &mut dyn FnMut(&Tensor, usize) -> candle_core::Result<Tensor>,
    prompt: &[u32],
    stops: &[u32],
) -> Vec<u32> {
    let device = Device::Cpu;
    let input = Tensor::new(prompt, &device).unwrap().unsqueeze(0).unwrap();
    let mut logits = forward(&input, 0).unwrap().squeeze(0).unwrap();
    let mut out = Vec::new();
    for step in 0..STEPS {
        let next = logits.argmax(0).unwrap().to_scalar::<u32>().unwrap();
        if stops.contains(&next) {
            break;
        }
        out.push(next);
        let input = Tensor::new(&[next], &device).unwrap().unsqueeze(0).unwrap();
        logits = forward(&input, prompt.len() + step)
            .unwrap()
            .squeeze(0)
            .unwrap();
    }
    out
}

fn kurz_tokens(model: &Model, prompt: &[u32]) -> Vec<u32> {
    let mut cache = model.transformer().new_cache();
    let options = GenerateOptions {
        max_new_tokens: STEPS,
        ..GenerateOptions::default()
    };
    generate(model, &mut cache, prompt, &options)
        .unwrap()
        .tokens
}

fn compare(path: &Path) {
    let model = Model::load(path, &Device::Cpu).unwrap();
    let prompt = model.chat_tokens(&prompt()).unwrap();
    let ours = kurz_tokens(&model, &prompt);

    let mut file = std::fs::File::open(path).unwrap();
    let content = candle_core::quantized::gguf_file::Content::read(&mut file).unwrap();
    let theirs = match model.info().architecture.as_str() {
        "llama" => {
            let mut m =
                quantized_llama::ModelWeights::from_gguf(content, &mut file, &Device::Cpu).unwrap();
            reference_tokens(&mut |x, p| m.forward(x, p), &prompt, model.stop_tokens())
        }
        "qwen2" => {
            let mut m =
                quantized_qwen2::ModelWeights::from_gguf(content, &mut file, &Device::Cpu).unwrap();
            reference_tokens(&mut |x, p| m.forward(x, p), &prompt, model.stop_tokens())
        }
        other => panic!("no reference implementation for {other}"),
    };
    assert!(!ours.is_empty());
    assert_eq!(
        ours,
        theirs,
        "kurz: {:?}\nreference: {:?}",
        model.tokenizer().decode(&ours),
        model.tokenizer().decode(&theirs)
    );
    // A second generation with a reused cache gives the same tokens.
    let mut cache = model.transformer().new_cache();
    let options = GenerateOptions {
        max_new_tokens: STEPS,
        ..GenerateOptions::default()
    };
    let first = generate(&model, &mut cache, &prompt, &options).unwrap();
    let again = generate(&model, &mut cache, &prompt, &options).unwrap();
    assert_eq!(first.tokens, again.tokens);
}

#[test]
fn smollm2_matches_candle_quantized_llama() {
    compare(&common::test_model());
}

#[test]
fn qwen2_matches_candle_quantized_qwen2() {
    compare(&common::qwen_model());
}
