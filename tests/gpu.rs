//! The model on a GPU gives the CPU's greedy answer (issue 20).
//!
//! These tests need a binary built with `--features cuda` (or `metal`) and a
//! GPU. Elsewhere each prints one `SKIPPED <test>: <why>` line on stderr and
//! passes: there is nothing to compare against. Set `KURZ_REQUIRE_GPU=1` to
//! make a missing GPU a failure instead (for a machine that must have one).
//!
//! What is compared: the first 40 greedy tokens of a summary prompt, CPU
//! (kurz's own kernels) against the GPU (Candle's CUDA/Metal kernels), on
//! SmolLM2-135M and the 0.5B preset. Both quantize activations to 8 bits
//! but in different block sizes and sum in different orders, so the logits
//! differ by rounding; the tokens must still be equal where the CPU's top
//! token leads the runner-up clearly (by more than [`CLEAR_MARGIN`]), and
//! every GPU logit is within [`LOGIT_TOLERANCE`] of the CPU's on the prompt.

mod common;

use std::io::Write;
use std::path::Path;

use candle_core::Device;
use kurz::generate::{generate, GenerateOptions};
use kurz::model::{DeviceChoice, Message, Model};

const STEPS: usize = 40;
/// Largest allowed difference between a CPU and a GPU logit for the
/// prompt's last position (logits of these models span about ±30).
const LOGIT_TOLERANCE: f32 = 0.5;
/// A step whose top two CPU logits are closer than this may pick either
/// token on the other device; the comparison stops there.
const CLEAR_MARGIN: f32 = 0.5;

/// The GPU, or why these tests cannot run here.
fn gpu() -> Option<Device> {
    let choice = if cfg!(feature = "metal") {
        DeviceChoice::Metal
    } else {
        DeviceChoice::Cuda(0)
    };
    match choice.open() {
        Ok(opened) => Some(opened.device),
        Err(why) => {
            if std::env::var_os("KURZ_REQUIRE_GPU").is_some_and(|v| v == "1") {
                panic!("KURZ_REQUIRE_GPU=1 but no GPU: {why}");
            }
            None
        }
    }
}

fn prompt(model: &Model) -> Vec<u32> {
    let messages = vec![
        Message::system("You are a careful news editor."),
        Message::user(
            "Fasse auf Englisch zusammen: Der Bundestag hat am Donnerstag den Haushalt für \
             2025 beschlossen. Finanzministerin Anna Berger sprach von einem Kraftakt; \
             die Opposition kritisierte neue Schulden in Höhe von 51,3 Milliarden Euro.",
        ),
    ];
    model.chat_tokens(&messages).unwrap()
}

fn greedy(model: &Model, prompt: &[u32]) -> Vec<u32> {
    let mut cache = model.transformer().new_cache();
    let options = GenerateOptions {
        max_new_tokens: STEPS,
        ..GenerateOptions::default()
    };
    generate(model, &mut cache, prompt, &options)
        .unwrap()
        .tokens
}

/// The last position's logits for `tokens`.
fn last_logits(model: &Model, tokens: &[u32]) -> Vec<f32> {
    let mut cache = model.transformer().new_cache();
    let logits = model.transformer().forward(tokens, &mut cache).unwrap();
    logits.flatten_all().unwrap().to_vec1::<f32>().unwrap()
}

/// The gap between the best and second-best logit.
fn margin(logits: &[f32]) -> f32 {
    let mut sorted = logits.to_vec();
    sorted.sort_by(|a, b| b.total_cmp(a));
    sorted[0] - sorted[1]
}

fn compare(test: &str, path: &Path) {
    let Some(device) = gpu() else {
        // Written to stderr directly: the test harness captures `eprintln!`
        // of passing tests, and a skip must be visible.
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED {test}: no GPU in this build or on this machine (see tests/gpu.rs)"
        );
        return;
    };
    let cpu = Model::load(path, &Device::Cpu).unwrap();
    let gpu = Model::load(path, &device).unwrap();
    assert!(!gpu.transformer().device().is_cpu());
    let tokens = prompt(&cpu);
    assert_eq!(
        tokens,
        prompt(&gpu),
        "the prompt does not depend on the device"
    );

    let (cpu_logits, gpu_logits) = (last_logits(&cpu, &tokens), last_logits(&gpu, &tokens));
    let worst = cpu_logits
        .iter()
        .zip(&gpu_logits)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    assert!(
        worst <= LOGIT_TOLERANCE,
        "{test}: logits differ by up to {worst}"
    );

    let (cpu_answer, gpu_answer) = (greedy(&cpu, &tokens), greedy(&gpu, &tokens));
    // Compare up to the first step where the CPU's choice was a near tie.
    let mut context = tokens.clone();
    for (step, (&c, &g)) in cpu_answer.iter().zip(&gpu_answer).enumerate() {
        let logits = last_logits(&cpu, &context);
        if margin(&logits) < CLEAR_MARGIN {
            eprintln!("{test}: stopped comparing at step {step} (near tie on the CPU)");
            return;
        }
        assert_eq!(
            c, g,
            "{test}: token {step} differs (CPU {cpu_answer:?}, GPU {gpu_answer:?})"
        );
        context.push(c);
    }
    assert_eq!(
        cpu_answer.len(),
        gpu_answer.len(),
        "{test}: answers end at different steps"
    );
}

#[test]
fn smollm2_greedy_tokens_equal_on_gpu_and_cpu() {
    compare(
        "smollm2_greedy_tokens_equal_on_gpu_and_cpu",
        &common::test_model(),
    );
}

#[test]
fn qwen2_small_greedy_tokens_equal_on_gpu_and_cpu() {
    compare(
        "qwen2_small_greedy_tokens_equal_on_gpu_and_cpu",
        &common::qwen_small_model(),
    );
}
