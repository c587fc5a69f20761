//! Token generation: prefill the prompt, then decode one token at a time
//! until an end-of-turn token or the token budget.

use std::time::Instant;

use candle_transformers::generation::{LogitsProcessor, Sampling as CandleSampling};
use serde::Serialize;

use crate::model::{KvCache, Model, ModelError};

/// How the next token is chosen.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Sampling {
    /// 0 means greedy (always the most likely token).
    pub temperature: f64,
    /// Nucleus sampling threshold; `None` samples from all tokens.
    pub top_p: Option<f64>,
    /// Seed of the random generator (used only when sampling).
    pub seed: u64,
}

impl Default for Sampling {
    fn default() -> Self {
        Self::greedy()
    }
}

impl Sampling {
    /// Deterministic decoding: always the most likely token.
    pub fn greedy() -> Self {
        Self {
            temperature: 0.0,
            top_p: None,
            seed: 0,
        }
    }

    /// Whether this picks the most likely token every time.
    pub fn is_greedy(&self) -> bool {
        self.temperature <= 0.0
    }

    fn processor(&self) -> LogitsProcessor {
        let sampling = if self.is_greedy() {
            CandleSampling::ArgMax
        } else {
            match self.top_p {
                Some(p) if p < 1.0 => CandleSampling::TopP {
                    p,
                    temperature: self.temperature,
                },
                _ => CandleSampling::All {
                    temperature: self.temperature,
                },
            }
        };
        LogitsProcessor::from_sampling(self.seed, sampling)
    }
}

/// Limits and choices for one generation.
#[derive(Debug, Clone, Default)]
pub struct GenerateOptions {
    /// Most tokens to generate.
    pub max_new_tokens: usize,
    /// Token choice.
    pub sampling: Sampling,
    /// Token ids that may never be generated.
    pub suppressed_tokens: Vec<u32>,
}

/// Why generation stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// The model ended its turn.
    EndOfTurn,
    /// The token budget ran out.
    MaxTokens,
}

/// The result of one generation, with timings.
#[derive(Debug, Clone)]
pub struct Generation {
    /// The generated text, special tokens left out.
    pub text: String,
    /// Ids of the generated tokens (without the stop token).
    pub tokens: Vec<u32>,
    /// Length of the prompt in tokens.
    pub prompt_tokens: usize,
    /// Seconds spent processing the prompt.
    pub prefill_seconds: f64,
    /// Seconds spent generating.
    pub decode_seconds: f64,
    /// Why it stopped.
    pub stop: StopReason,
}

/// Prompt tokens processed per forward pass, bounding the attention matrix.
const PREFILL_CHUNK: usize = 512;

/// Generates a continuation of `prompt` with `model`, using (and clearing
/// first) the worker's `cache`.
pub fn generate(
    model: &Model,
    cache: &mut KvCache,
    prompt: &[u32],
    options: &GenerateOptions,
) -> Result<Generation, ModelError> {
    let transformer = model.transformer();
    let room = model.context_length().saturating_sub(prompt.len());
    let max_new = options.max_new_tokens.min(room);
    cache.clear();

    let prefill_start = Instant::now();
    let mut logits = None;
    for chunk in prompt.chunks(PREFILL_CHUNK) {
        logits = Some(transformer.forward(chunk, cache)?);
    }
    let prefill_seconds = prefill_start.elapsed().as_secs_f64();
    let Some(mut logits) = logits else {
        return Err(ModelError::Inference(candle_core::Error::Msg(
            "empty prompt".into(),
        )));
    };

    let decode_start = Instant::now();
    let mut processor = options.sampling.processor();
    let mut tokens = Vec::new();
    let mut stop = StopReason::MaxTokens;
    while tokens.len() < max_new {
        let logits_now = suppress(&logits, &options.suppressed_tokens)?;
        let next = processor.sample(&logits_now)?;
        if model.stop_tokens().contains(&next) {
            stop = StopReason::EndOfTurn;
            break;
        }
        tokens.push(next);
        if tokens.len() == max_new {
            break;
        }
        logits = transformer.forward(&[next], cache)?;
    }
    let decode_seconds = decode_start.elapsed().as_secs_f64();
    let text = model.tokenizer().decode(&tokens)?;
    Ok(Generation {
        text,
        tokens,
        prompt_tokens: prompt.len(),
        prefill_seconds,
        decode_seconds,
        stop,
    })
}

/// Sets the logits of `banned` tokens to minus infinity.
fn suppress(
    logits: &candle_core::Tensor,
    banned: &[u32],
) -> Result<candle_core::Tensor, ModelError> {
    if banned.is_empty() {
        return Ok(logits.clone());
    }
    let mut values = logits.to_vec1::<f32>()?;
    for &id in banned {
        if let Some(v) = values.get_mut(id as usize) {
            *v = f32::NEG_INFINITY;
        }
    }
    Ok(candle_core::Tensor::new(values, logits.device())?)
}
