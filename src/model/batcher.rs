//! Multi-sequence batching: the forward passes of every worker that is
//! generating at the same time run as one pass over the weights.
//!
//! Generating one token reads every weight once for a single row of
//! activations, so a lone decode step is bound by memory traffic, not by
//! arithmetic. When several workers generate at once, kurz gathers their
//! work and runs it through [`Transformer::forward_many`]: the weights are
//! read once for all of them. A worker still processing its prompt hands in
//! its next chunk of prompt tokens; the others' single decode steps ride
//! along in the same pass almost for free, since a pass over a prompt chunk
//! is bound by arithmetic and one more row adds little to it.
//!
//! The rule is simple and needs no timer: a worker that starts a
//! generation joins the [`StepBatcher`] (getting a [`Decoder`]); each step
//! waits until every joined worker has handed in its work, and the last one
//! to arrive runs the pass for all. Leaving (dropping the `Decoder`) can
//! complete a pass too, and then the leaver runs it.
//!
//! Batching never changes a result: every value of a sequence depends only
//! on that sequence (see [`Transformer::forward_many`]), and each sequence
//! cuts its prompt into the same chunks whatever runs beside it, so outputs
//! are the same whatever the number of workers and whoever ran beside whom.

use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Condvar, Mutex, MutexGuard};

use candle_core::Tensor;

use super::transformer::{KvCache, SequenceStep, Transformer};
use super::ModelError;

/// Gathers concurrent decode steps into shared passes. One per model.
#[derive(Debug, Default)]
pub struct StepBatcher {
    state: Mutex<State>,
    changed: Condvar,
}

#[derive(Debug, Default)]
struct State {
    /// Workers currently generating (holding a [`Decoder`]).
    decoders: usize,
    /// Workers that have handed in their steps for the next pass.
    arrived: usize,
    /// Steps handed in and not yet run (a worker decoding several
    /// candidates of one prompt hands in one per candidate).
    waiting: Vec<Waiting>,
    /// Results of run steps, by ticket, until their worker collects them.
    done: HashMap<u64, Done>,
    next_ticket: u64,
    /// Passes run and the sequence steps in them, for statistics.
    passes: u64,
    steps: u64,
}

#[derive(Debug)]
struct Waiting {
    ticket: u64,
    tokens: Vec<u32>,
    cache: KvCache,
}

#[derive(Debug)]
struct Done {
    cache: KvCache,
    logits: Result<Tensor, String>,
}

/// How much batching happened so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BatchingStats {
    /// Passes over the weights.
    pub passes: u64,
    /// Sequence steps (a prompt chunk or a decode step) run in them.
    pub steps: u64,
}

impl StepBatcher {
    /// Joins the generating workers; steps go through the returned handle.
    pub fn join<'a>(&'a self, transformer: &'a Transformer) -> Decoder<'a> {
        self.lock().decoders += 1;
        Decoder {
            batcher: self,
            transformer,
        }
    }

    /// Passes and sequence steps run so far.
    pub fn stats(&self) -> BatchingStats {
        let state = self.lock();
        BatchingStats {
            passes: state.passes,
            steps: state.steps,
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        crate::sync::lock(&self.state)
    }

    /// Runs the waiting steps when every generating worker has handed one in;
    /// returns the (re-taken) lock.
    fn run_if_complete<'a>(
        &'a self,
        mut state: MutexGuard<'a, State>,
        transformer: &Transformer,
    ) -> MutexGuard<'a, State> {
        if state.waiting.is_empty() || state.arrived < state.decoders {
            return state;
        }
        let mut batch = std::mem::take(&mut state.waiting);
        state.arrived = 0;
        drop(state);
        let results = run_pass(transformer, &mut batch);
        let mut state = self.lock();
        state.passes += 1;
        state.steps += batch.len() as u64;
        for (waiting, logits) in batch.into_iter().zip(results) {
            let done = Done {
                cache: waiting.cache,
                logits,
            };
            state.done.insert(waiting.ticket, done);
        }
        self.changed.notify_all();
        state
    }
}

/// Runs one pass over `batch`, turning an error or a panic into an error
/// for every step (each worker then reports it for its own input).
fn run_pass(transformer: &Transformer, batch: &mut [Waiting]) -> Vec<Result<Tensor, String>> {
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        let mut steps: Vec<SequenceStep<'_>> = batch
            .iter_mut()
            .map(|w| SequenceStep {
                tokens: &w.tokens,
                cache: &mut w.cache,
            })
            .collect();
        transformer.forward_many(&mut steps)
    }));
    let failure = match outcome {
        Ok(Ok(logits)) if logits.len() == batch.len() => {
            return logits.into_iter().map(Ok).collect()
        }
        Ok(Ok(_)) => "a batched pass returned the wrong number of results".to_string(),
        Ok(Err(e)) => e.to_string(),
        Err(_) => "a batched pass panicked".to_string(),
    };
    batch.iter().map(|_| Err(failure.clone())).collect()
}

/// A worker's membership among the generating workers; leaves on drop.
#[derive(Debug)]
pub struct Decoder<'a> {
    batcher: &'a StepBatcher,
    transformer: &'a Transformer,
}

impl Decoder<'_> {
    /// Runs `tokens` (a prompt chunk, or one generated token) at the next
    /// positions of `cache`, together with the steps of the other
    /// generating workers; returns the logits after the last token.
    pub fn step(&mut self, tokens: &[u32], cache: &mut KvCache) -> Result<Tensor, ModelError> {
        let mut logits = self.step_many(&mut [(tokens, cache)])?;
        logits.pop().ok_or_else(|| {
            ModelError::Inference(candle_core::Error::Msg("a pass returned no logits".into()))
        })
    }

    /// Runs several sequences' steps (e.g. the candidates of one prompt,
    /// each with its own cache) in the same pass as the other workers'
    /// steps; returns each sequence's logits after its last token, in
    /// order. Every result is the one [`Decoder::step`] would give alone.
    pub fn step_many(
        &mut self,
        steps: &mut [(&[u32], &mut KvCache)],
    ) -> Result<Vec<Tensor>, ModelError> {
        if steps.is_empty() {
            return Ok(Vec::new());
        }
        let batcher = self.batcher;
        let mut state = batcher.lock();
        let first = state.next_ticket;
        for (tokens, cache) in steps.iter_mut() {
            let ticket = state.next_ticket;
            state.next_ticket += 1;
            state.waiting.push(Waiting {
                ticket,
                tokens: tokens.to_vec(),
                cache: std::mem::take(*cache),
            });
        }
        state.arrived += 1;
        let last = state.next_ticket - 1;
        loop {
            if state.done.contains_key(&last) {
                break;
            }
            state = batcher.run_if_complete(state, self.transformer);
            if !state.done.contains_key(&last) {
                state = batcher
                    .changed
                    .wait(state)
                    .unwrap_or_else(|e| e.into_inner());
            }
        }
        // All of one worker's steps run in the same pass.
        let mut results = Vec::with_capacity(steps.len());
        let mut failure = None;
        for ((_, cache), ticket) in steps.iter_mut().zip(first..) {
            let Some(done) = state.done.remove(&ticket) else {
                failure.get_or_insert_with(|| "a step of a pass went missing".to_string());
                continue;
            };
            **cache = done.cache;
            match done.logits {
                Ok(logits) => results.push(logits),
                Err(e) => {
                    failure.get_or_insert(e);
                }
            }
        }
        match failure {
            Some(e) => Err(ModelError::Inference(candle_core::Error::Msg(e))),
            None => Ok(results),
        }
    }
}

impl Drop for Decoder<'_> {
    fn drop(&mut self) {
        let mut state = self.batcher.lock();
        state.decoders -= 1;
        // The others may now all be waiting for this worker.
        let _state = self.batcher.run_if_complete(state, self.transformer);
    }
}
