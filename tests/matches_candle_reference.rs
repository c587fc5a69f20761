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

/// The summary prompt `kurz summarize` builds for the article at `path`.
fn article_prompt(model: &Model, path: &Path) -> Vec<u32> {
    let found = kurz::input::discover(
        &[path.to_path_buf()],
        &kurz::input::DiscoverOptions::default(),
    )
    .unwrap();
    let doc = kurz::input::load_document(&found.inputs[0], 1 << 20).unwrap();
    kurz::task::summarize::whole_article_prompt(
        model,
        &doc,
        kurz::task::prompt::PromptStyle::default(),
        60,
    )
    .unwrap()
    .tokens
}

fn compare(path: &Path) {
    let model = Model::load(path, &Device::Cpu).unwrap();
    let prompt = model.chat_tokens(&prompt()).unwrap();
    compare_prompt(&model, path, &prompt);
}

fn compare_prompt(model: &Model, path: &Path, prompt: &[u32]) {
    let ours = kurz_tokens(model, prompt);

    let mut file = std::fs::File::open(path).unwrap();
    let content = candle_core::quantized::gguf_file::Content::read(&mut file).unwrap();
    let theirs = match model.info().architecture.as_str() {
        "llama" => {
            let mut m =
                quantized_llama::ModelWeights::from_gguf(content, &mut file, &Device::Cpu).unwrap();
            reference_tokens(&mut |x, p| m.forward(x, p), prompt, model.stop_tokens())
        }
        "qwen2" => {
            let mut m =
                quantized_qwen2::ModelWeights::from_gguf(content, &mut file, &Device::Cpu).unwrap();
            reference_tokens(&mut |x, p| m.forward(x, p), prompt, model.stop_tokens())
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
    let first = generate(model, &mut cache, prompt, &options).unwrap();
    let again = generate(model, &mut cache, prompt, &options).unwrap();
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

/// The 0.5B preset's layers mix Q5_0 and Q8_0 projections.
#[test]
fn qwen2_small_with_mixed_block_formats_matches_candle() {
    compare(&common::qwen_small_model());
}

/// Largest difference between kurz's and the reference's logits tolerated
/// on long prompts, for any token (`LOGIT_TOLERANCE`) and on average over
/// the vocabulary (`MEAN_LOGIT_TOLERANCE`). Both engines quantize each
/// layer's input to 8 bits per block but sum in a different order (kurz:
/// 16-row tiles; Candle: its own kernels, which also differ between CPUs);
/// a last-bit difference can move an 8-bit activation by one step, and 28
/// layers carry that forward. Measured on the three prompts below (top
/// logits 14–24): largest difference 0.76, mean 0.06–0.16 per step, at the
/// reference's best token at most 0.21. The bounds leave 30–50% room.
const LOGIT_TOLERANCE: f32 = 1.0;
const MEAN_LOGIT_TOLERANCE: f32 = 0.25;

/// Logits after `prompt` and after each of `continuation`'s tokens, from a
/// step function that takes (tokens, position).
fn forced_logits(
    step: &mut dyn FnMut(&[u32], usize) -> Vec<f32>,
    prompt: &[u32],
    continuation: &[u32],
) -> Vec<Vec<f32>> {
    let mut out = vec![step(prompt, 0)];
    for (i, &t) in continuation.iter().enumerate() {
        out.push(step(&[t], prompt.len() + i));
    }
    out
}

fn argmax(xs: &[f32]) -> usize {
    (0..xs.len()).fold(0, |best, i| if xs[i] > xs[best] { i } else { best })
}

/// Real summary prompts of several hundred tokens (prompt processing in
/// tiles, then decoding) on the default model: the seed news article when
/// `../shared` is present, and two samples. Both engines are fed the same
/// tokens (the reference's greedy answer); at every step the logits must
/// agree within the tolerances above, and kurz's greedy choice must be the
/// reference's or one the reference scores within 0.3 of its best (where
/// two tokens nearly tie, either engine may pick either: on the seed article
/// the two answers part after 20 tokens, "problems" against "issues").
#[test]
fn qwen2_logits_match_candle_on_article_prompts() {
    let path = common::qwen_model();
    let model = Model::load(&path, &Device::Cpu).unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut articles = vec![
        root.join("samples/nachrichten/hochwasser-sachsen.txt"),
        root.join("samples/web/bahnstreik.html"),
    ];
    let seed = root.join("../shared/data/seed/article.de.txt");
    if seed.is_file() {
        articles.push(seed);
    } else {
        eprintln!("../shared absent: the seed article is not compared");
    }
    let mut file = std::fs::File::open(&path).unwrap();
    let content = candle_core::quantized::gguf_file::Content::read(&mut file).unwrap();
    let mut reference =
        quantized_qwen2::ModelWeights::from_gguf(content, &mut file, &Device::Cpu).unwrap();
    for article in articles {
        let prompt = article_prompt(&model, &article);
        assert!(
            prompt.len() > 300,
            "{}: {} tokens",
            article.display(),
            prompt.len()
        );
        let answer = reference_tokens(
            &mut |x, p| reference.forward(x, p),
            &prompt,
            model.stop_tokens(),
        );
        let mut theirs_step = |tokens: &[u32], pos: usize| -> Vec<f32> {
            let input = Tensor::new(tokens, &Device::Cpu)
                .unwrap()
                .unsqueeze(0)
                .unwrap();
            let logits = reference.forward(&input, pos).unwrap();
            logits.flatten_all().unwrap().to_vec1::<f32>().unwrap()
        };
        let theirs = forced_logits(&mut theirs_step, &prompt, &answer);
        let mut cache = model.transformer().new_cache();
        let mut ours_step = |tokens: &[u32], _pos: usize| -> Vec<f32> {
            let logits = model.transformer().forward(tokens, &mut cache).unwrap();
            logits.to_vec1::<f32>().unwrap()
        };
        let ours = forced_logits(&mut ours_step, &prompt, &answer);
        let mut worst = 0f32;
        for (step, (a, b)) in ours.iter().zip(&theirs).enumerate() {
            let diff = a
                .iter()
                .zip(b)
                .map(|(x, y)| (x - y).abs())
                .fold(0f32, f32::max);
            let mean = a.iter().zip(b).map(|(x, y)| (x - y).abs()).sum::<f32>() / a.len() as f32;
            assert!(
                mean <= MEAN_LOGIT_TOLERANCE,
                "{} step {step}: logits differ by {mean} on average",
                article.display()
            );
            worst = worst.max(diff);
            assert!(
                diff <= LOGIT_TOLERANCE,
                "{} step {step}: logits differ by {diff}",
                article.display()
            );
            let (mine, best) = (argmax(a), argmax(b));
            assert!(
                b[mine] >= b[best] - 0.3,
                "{} step {step}: kurz picks {mine}, the reference {best}",
                article.display()
            );
        }
        eprintln!(
            "{}: {} prompt tokens, {} steps, largest logit difference {worst}",
            article.display(),
            prompt.len(),
            ours.len()
        );
    }
}
