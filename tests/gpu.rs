//! The tensor path a GPU runs gives the CPU's greedy answer (issue 20).
//!
//! On a GPU kurz runs its device-generic tensor path: the weights as Candle
//! quantized tensors, multiplied by Candle's kernels, the KV cache on the
//! device. Two ways to check it against kurz's CPU path (its own kernels
//! on the memory-mapped file):
//!
//! - on the CPU, everywhere: the same tensor path built without the map
//!   runs on Candle's CPU kernels — every line of the GPU's forward pass
//!   except the device's kernels themselves;
//! - on a GPU, where this build has `cuda` (or `metal`) and the machine a
//!   GPU. Elsewhere those tests print one `SKIPPED <test>: <why>` line and
//!   pass; `KURZ_REQUIRE_GPU=1` makes a missing GPU a failure instead.
//!
//! What is compared: the first 40 greedy tokens of a summary prompt on
//! SmolLM2-135M and the 0.5B preset. The two sides quantize activations in
//! different block sizes and sum in different orders, so their logits
//! differ by rounding: every logit of the prompt's last position must be
//! within [`LOGIT_TOLERANCE`], and the tokens must be equal up to the first
//! step where the reference's top two logits are closer than
//! [`CLEAR_MARGIN`] (there either token is a correct greedy choice).

mod common;

use std::io::Write;
use std::path::Path;

use candle_core::Device;
use kurz::model::{gguf, tensor_threads, CpuKernels, DeviceChoice, Message, Model, Transformer};

const STEPS: usize = 40;
/// Largest allowed difference between a reference and a candidate logit
/// for the prompt's last position (logits of these models span about ±30).
/// Measured on the CPU: up to 0.54 on SmolLM2 (Q4_1), below 0.5 on the
/// 0.5B preset (Q5_0/Q8_0).
const LOGIT_TOLERANCE: f32 = 1.0;
/// A step whose top two reference logits are closer than this may pick
/// either token on the other path; the comparison stops there.
const CLEAR_MARGIN: f32 = 0.5;

/// The GPU, or why the GPU tests cannot run here.
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

/// The tensor path on `device`: the weights read from the file as Candle
/// quantized tensors (no memory map, so not kurz's kernels).
fn tensor_path(path: &Path, device: &Device) -> Transformer {
    let mut file = std::fs::File::open(path).unwrap();
    let content = gguf::read_content(&mut file).unwrap();
    let threads = tensor_threads();
    Transformer::from_gguf(
        &content,
        &mut file,
        device,
        None,
        threads,
        CpuKernels::best(),
    )
    .unwrap()
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

fn to_vec(logits: candle_core::Tensor) -> Vec<f32> {
    logits.flatten_all().unwrap().to_vec1::<f32>().unwrap()
}

fn argmax(xs: &[f32]) -> u32 {
    let mut best = 0;
    for (i, x) in xs.iter().enumerate() {
        if *x > xs[best] {
            best = i;
        }
    }
    best as u32
}

/// The gap between the best and second-best logit.
fn margin(logits: &[f32]) -> f32 {
    let mut sorted = logits.to_vec();
    sorted.sort_by(|a, b| b.total_cmp(a));
    sorted[0] - sorted[1]
}

/// One greedy step's choice and how clear it was.
struct Step {
    token: u32,
    margin: f32,
}

/// Greedy decoding with `transformer`: the prompt's last logits and each
/// step's token until a stop token or [`STEPS`].
fn greedy(transformer: &Transformer, prompt: &[u32], stops: &[u32]) -> (Vec<f32>, Vec<Step>) {
    let mut cache = transformer.new_cache();
    let first = to_vec(transformer.forward(prompt, &mut cache).unwrap());
    let mut logits = first.clone();
    let mut steps = Vec::new();
    while steps.len() < STEPS {
        let token = argmax(&logits);
        if stops.contains(&token) {
            break;
        }
        steps.push(Step {
            token,
            margin: margin(&logits),
        });
        logits = to_vec(transformer.forward(&[token], &mut cache).unwrap());
    }
    (first, steps)
}

/// Compares `candidate` with kurz's CPU path on the model at `path`.
fn compare(test: &str, path: &Path, candidate: &Transformer) {
    let reference = Model::load(path, &Device::Cpu).unwrap();
    assert!(reference.transformer().cpu_kernels().is_some());
    assert!(
        candidate.cpu_kernels().is_none(),
        "{test}: the candidate must be the tensor path"
    );
    let tokens = prompt(&reference);
    let stops = reference.stop_tokens();
    let (want_first, want) = greedy(reference.transformer(), &tokens, stops);
    let (got_first, got) = greedy(candidate, &tokens, stops);

    let worst = want_first
        .iter()
        .zip(&got_first)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    assert!(
        worst <= LOGIT_TOLERANCE,
        "{test}: logits differ by up to {worst}"
    );

    let tokens_of = |steps: &[Step]| steps.iter().map(|s| s.token).collect::<Vec<_>>();
    for (i, (w, g)) in want.iter().zip(&got).enumerate() {
        if w.margin < CLEAR_MARGIN {
            let _ = writeln!(
                std::io::stderr(),
                "{test}: compared {i} tokens (then a near tie)"
            );
            return;
        }
        assert_eq!(
            w.token,
            g.token,
            "{test}: token {i} differs\nCPU kernels: {:?}\ntensor path: {:?}",
            tokens_of(&want),
            tokens_of(&got)
        );
    }
    assert_eq!(
        want.len(),
        got.len(),
        "{test}: the answers end at different steps"
    );
    assert!(!want.is_empty());
}

fn on_gpu(test: &str, path: &Path) {
    let Some(device) = gpu() else {
        // Written to stderr directly: the test harness captures `eprintln!`
        // of passing tests, and a skip must be visible.
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED {test}: no GPU in this build or on this machine (see tests/gpu.rs)"
        );
        return;
    };
    let candidate = tensor_path(path, &device);
    assert!(!candidate.device().is_cpu());
    compare(test, path, &candidate);
}

#[test]
fn smollm2_tensor_path_on_the_cpu_gives_the_kernels_answer() {
    let path = common::test_model();
    let candidate = tensor_path(&path, &Device::Cpu);
    compare("smollm2 tensor path on the CPU", &path, &candidate);
}

#[test]
fn qwen2_small_tensor_path_on_the_cpu_gives_the_kernels_answer() {
    let path = common::qwen_small_model();
    let candidate = tensor_path(&path, &Device::Cpu);
    compare(
        "qwen2.5-coder-0.5b tensor path on the CPU",
        &path,
        &candidate,
    );
}

#[test]
fn smollm2_greedy_tokens_equal_on_gpu_and_cpu() {
    on_gpu(
        "smollm2_greedy_tokens_equal_on_gpu_and_cpu",
        &common::test_model(),
    );
}

#[test]
fn qwen2_small_greedy_tokens_equal_on_gpu_and_cpu() {
    on_gpu(
        "qwen2_small_greedy_tokens_equal_on_gpu_and_cpu",
        &common::qwen_small_model(),
    );
}
