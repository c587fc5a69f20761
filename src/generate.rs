//! Token generation: prefill the prompt, then decode one token at a time
//! until an end-of-turn token or the token budget.

use std::sync::Arc;
use std::time::Instant;

use candle_transformers::generation::{LogitsProcessor, Sampling as CandleSampling};
use serde::Serialize;

use crate::model::{KvCache, Model, ModelError, PREFILL_CHUNK};
use crate::stop::StopToken;

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

/// A caller's test on the text generated so far: once it says the text is
/// enough, generation stops (with [`StopReason::Enough`]).
#[derive(Clone)]
pub struct EnoughCheck(Arc<dyn Fn(&str) -> bool + Send + Sync>);

impl EnoughCheck {
    /// Wraps a test on the generated text.
    pub fn new(check: impl Fn(&str) -> bool + Send + Sync + 'static) -> Self {
        Self(Arc::new(check))
    }

    fn is_enough(&self, text: &str) -> bool {
        (self.0)(text)
    }
}

impl std::fmt::Debug for EnoughCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EnoughCheck(..)")
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
    /// Token sequences that may never be completed: once the output ends
    /// with all but the last `k` tokens' prefix of a sequence, its next token
    /// is suppressed. (Bans a multi-token word without banning its common
    /// first piece everywhere.)
    pub banned_sequences: Vec<Vec<u32>>,
    /// Stops early once the text is enough for the caller (e.g. a summary
    /// already past its word bound, which kurz trims anyway).
    pub enough: Option<EnoughCheck>,
    /// Leading prompt tokens that many calls share (see
    /// [`crate::model::Model::chat_prompt`]): their keys and values are
    /// computed once per process and copied into later sequences. 0 runs
    /// every prompt token; so does a prefix shorter than
    /// [`MIN_SHARED_PREFIX`] or as long as the prompt.
    pub shared_prefix: usize,
    /// Checked before every model pass (each prompt chunk and each decode
    /// step): once it says stop, generation ends with
    /// [`ModelError::Aborted`]. The default never stops.
    pub stop: StopToken,
}

/// Shortest prefix worth keeping: below this, copying saves next to nothing.
pub const MIN_SHARED_PREFIX: usize = 8;

/// Why generation stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// The model ended its turn.
    EndOfTurn,
    /// The token budget ran out.
    MaxTokens,
    /// The caller's [`EnoughCheck`] said the text was enough.
    Enough,
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
    /// Of those, how many were not run but copied from the keys and values
    /// an earlier call computed (see [`GenerateOptions::shared_prefix`]).
    pub reused_prompt_tokens: usize,
    /// Seconds spent processing the prompt.
    pub prefill_seconds: f64,
    /// Seconds spent generating.
    pub decode_seconds: f64,
    /// Why it stopped.
    pub stop: StopReason,
}

/// Generates a continuation of `prompt` with `model`, using (and clearing
/// first) the worker's `cache`.
///
/// A prompt that leaves no room for one new token in the model's context is
/// refused before any model pass ([`ModelError::PromptTooLong`]); an empty
/// one too. Stops with [`ModelError::Aborted`] as soon as `options.stop`
/// says so (checked before every model pass).
pub fn generate(
    model: &Model,
    cache: &mut KvCache,
    prompt: &[u32],
    options: &GenerateOptions,
) -> Result<Generation, ModelError> {
    let mut generations = generate_candidates(model, cache, prompt, options, &[options.sampling])?;
    generations.pop().ok_or_else(|| {
        ModelError::Inference(candle_core::Error::Msg("no generation was made".into()))
    })
}

/// Generates one continuation of `prompt` per entry of `samplings` (which
/// replace `options.sampling`), decoded together: the prompt is run once
/// into the worker's `cache`, its keys and values are copied for every
/// further candidate, and each decode step of all unfinished candidates is
/// one batched pass (shared with other workers' steps too).
///
/// Each candidate is exactly what [`generate`] would give with its
/// sampling alone: its values depend only on its own tokens, and its random
/// generator only on its seed. The prompt's timings, and the decode time of
/// the whole group, are carried by the first generation; the others report
/// 0 seconds. Refusals and stops as for [`generate`].
pub fn generate_candidates(
    model: &Model,
    cache: &mut KvCache,
    prompt: &[u32],
    options: &GenerateOptions,
    samplings: &[Sampling],
) -> Result<Vec<Generation>, ModelError> {
    check_fits(prompt.len(), model.context_length())?;
    options.stop.check()?;
    if samplings.is_empty() {
        return Ok(Vec::new());
    }
    let room = model.context_length().saturating_sub(prompt.len());
    let max_new = options.max_new_tokens.min(room);
    // The last generated token is never fed back, hence no `+ 1`.
    cache.clear_for(prompt.len() + max_new);

    let prefill_start = Instant::now();
    let shared = options.shared_prefix;
    let (shared, reused) = if (MIN_SHARED_PREFIX..prompt.len()).contains(&shared) {
        // Before joining the step batcher: other workers need not wait for
        // this sequence while its prefix is computed.
        options.stop.check()?;
        let reused =
            model
                .prefixes()
                .start_sequence(model.transformer(), &prompt[..shared], cache)?;
        (shared, if reused { shared } else { 0 })
    } else {
        (0, 0)
    };
    // Every other model pass goes through the model's step batcher, so the
    // passes of workers generating at the same time are shared.
    let mut decoder = model.decoder();
    let mut logits = None;
    for chunk in prompt[shared..].chunks(PREFILL_CHUNK) {
        options.stop.check()?;
        logits = Some(decoder.step(chunk, cache)?);
    }
    let prefill_seconds = prefill_start.elapsed().as_secs_f64();
    let Some(logits) = logits else {
        return Err(ModelError::Inference(candle_core::Error::Msg(
            "empty prompt".into(),
        )));
    };

    let decode_start = Instant::now();
    let mut forks = Vec::with_capacity(samplings.len() - 1);
    for _ in 1..samplings.len() {
        let mut fork = model.transformer().new_cache();
        fork.clear_for(prompt.len() + max_new);
        fork.extend_from(cache)?;
        forks.push(fork);
    }
    let mut caches: Vec<&mut KvCache> = std::iter::once(cache).chain(forks.iter_mut()).collect();
    let mut candidates: Vec<Candidate> = samplings
        .iter()
        .map(|s| Candidate::new(s, logits.clone()))
        .collect();
    loop {
        let next: Vec<Option<u32>> = candidates
            .iter_mut()
            .map(|c| c.advance(model, options, max_new))
            .collect::<Result<_, _>>()?;
        if next.iter().all(Option::is_none) {
            break;
        }
        options.stop.check()?;
        // One step per unfinished candidate, all in the same pass.
        let tokens: Vec<[u32; 1]> = next.iter().map(|t| [t.unwrap_or(0)]).collect();
        let mut steps: Vec<(&[u32], &mut KvCache)> = next
            .iter()
            .zip(&tokens)
            .zip(caches.iter_mut())
            .filter(|((t, _), _)| t.is_some())
            .map(|((_, token), cache)| (token.as_slice(), &mut **cache))
            .collect();
        let logits = decoder.step_many(&mut steps)?;
        let stepped = next.iter().enumerate().filter(|(_, t)| t.is_some());
        for ((i, _), logits) in stepped.zip(logits) {
            candidates[i].logits = logits;
        }
    }
    drop(decoder);
    let decode_seconds = decode_start.elapsed().as_secs_f64();
    candidates
        .into_iter()
        .enumerate()
        .map(|(i, candidate)| {
            let first = i == 0;
            Ok(Generation {
                text: model.tokenizer().decode(&candidate.tokens)?,
                tokens: candidate.tokens,
                prompt_tokens: prompt.len(),
                reused_prompt_tokens: reused,
                prefill_seconds: if first { prefill_seconds } else { 0.0 },
                decode_seconds: if first { decode_seconds } else { 0.0 },
                stop: candidate.stop.unwrap_or(StopReason::MaxTokens),
            })
        })
        .collect()
}

/// One continuation being decoded.
struct Candidate {
    processor: LogitsProcessor,
    /// Logits for its next token.
    logits: candle_core::Tensor,
    tokens: Vec<u32>,
    /// Set once it is finished.
    stop: Option<StopReason>,
}

impl Candidate {
    fn new(sampling: &Sampling, logits: candle_core::Tensor) -> Self {
        Self {
            processor: sampling.processor(),
            logits,
            tokens: Vec::new(),
            stop: None,
        }
    }

    /// Chooses the next token; returns it when it must be run through the
    /// model (the candidate goes on), `None` when the candidate is finished.
    fn advance(
        &mut self,
        model: &Model,
        options: &GenerateOptions,
        max_new: usize,
    ) -> Result<Option<u32>, ModelError> {
        if self.stop.is_some() {
            return Ok(None);
        }
        if self.tokens.len() >= max_new {
            self.stop = Some(StopReason::MaxTokens);
            return Ok(None);
        }
        let banned = banned_now(&self.tokens, options);
        let logits = suppress(&self.logits, &banned)?;
        let next = self.processor.sample(&logits)?;
        if model.stop_tokens().contains(&next) {
            self.stop = Some(StopReason::EndOfTurn);
            return Ok(None);
        }
        self.tokens.push(next);
        if self.tokens.len() == max_new {
            self.stop = Some(StopReason::MaxTokens);
            return Ok(None);
        }
        if let Some(check) = &options.enough {
            if check.is_enough(&model.tokenizer().decode(&self.tokens)?) {
                self.stop = Some(StopReason::Enough);
                return Ok(None);
            }
        }
        Ok(Some(next))
    }
}

/// `Ok` when a prompt of `tokens` tokens leaves room for at least one new
/// token in a context of `context` tokens.
pub fn check_fits(tokens: usize, context: usize) -> Result<(), ModelError> {
    if tokens == 0 {
        return Err(ModelError::Inference(candle_core::Error::Msg(
            "empty prompt".into(),
        )));
    }
    if tokens >= context {
        return Err(ModelError::PromptTooLong { tokens, context });
    }
    Ok(())
}

/// The tokens that may not come next: the always-suppressed ones, plus the
/// continuation of every banned sequence whose prefix the output ends with.
fn banned_now(generated: &[u32], options: &GenerateOptions) -> Vec<u32> {
    let mut banned = options.suppressed_tokens.clone();
    for seq in &options.banned_sequences {
        if seq.len() == 1 {
            banned.push(seq[0]);
            continue;
        }
        for k in 1..seq.len() {
            if generated.ends_with(&seq[..k]) {
                banned.push(seq[k]);
            }
        }
    }
    banned
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

#[cfg(test)]
mod tests {
    use super::*;

    fn options(tokens: Vec<u32>, seqs: Vec<Vec<u32>>) -> GenerateOptions {
        GenerateOptions {
            max_new_tokens: 10,
            sampling: Sampling::greedy(),
            suppressed_tokens: tokens,
            banned_sequences: seqs,
            enough: None,
            shared_prefix: 0,
            stop: StopToken::never(),
        }
    }

    #[test]
    fn prompts_must_leave_room_for_an_answer() {
        assert!(check_fits(10, 11).is_ok());
        let err = check_fits(11, 11).unwrap_err();
        assert!(matches!(
            err,
            ModelError::PromptTooLong {
                tokens: 11,
                context: 11
            }
        ));
        assert!(err
            .to_string()
            .contains("does not fit the context of 11 tokens"));
        assert!(check_fits(0, 11).is_err());
    }

    #[test]
    fn single_token_sequences_are_always_banned() {
        let o = options(vec![7], vec![vec![3]]);
        assert_eq!(banned_now(&[], &o), vec![7, 3]);
    }

    #[test]
    fn multi_token_sequences_ban_only_their_continuation() {
        let o = options(vec![], vec![vec![10, 11, 12]]);
        assert!(banned_now(&[], &o).is_empty());
        assert_eq!(banned_now(&[5, 10], &o), vec![11]);
        assert_eq!(banned_now(&[10, 11], &o), vec![12]);
        assert!(banned_now(&[10, 5], &o).is_empty());
    }

    #[test]
    fn greedy_sampling_is_default() {
        assert!(Sampling::default().is_greedy());
        assert!(!Sampling {
            temperature: 0.7,
            top_p: Some(0.9),
            seed: 1
        }
        .is_greedy());
    }
}
