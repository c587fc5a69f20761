//! Keys and values of prompt openings that many calls share.
//!
//! Every summary prompt of a run opens with the same system message and
//! chat-template text. Instead of running those tokens through the model
//! for each article, a batch run computes their keys and values once (on
//! first use) and copies them into each new sequence's cache.
//!
//! A prefix is always computed the same way, from its own tokens alone, so
//! a sequence gets the same bits whichever worker or article computed the
//! prefix first: results do not depend on the order of files or the number
//! of jobs.

use std::sync::{Arc, Mutex, PoisonError};

use candle_core::Result;

use super::transformer::{KvCache, Transformer};

/// Openings kept at once: one per prompt kind of a run (summary, part and
/// merge prompts of long articles, guard retries, translations), with room.
const MAX_PREFIXES: usize = 8;

/// The prefixes computed so far in this process, most recently used last.
#[derive(Debug, Default)]
pub struct PrefixCache {
    entries: Mutex<Vec<Arc<CachedPrefix>>>,
}

/// The tokens of one prefix and their keys and values.
#[derive(Debug)]
struct CachedPrefix {
    tokens: Vec<u32>,
    cache: KvCache,
}

impl PrefixCache {
    /// Fills `cache`, which must be empty, with the keys and values of
    /// `tokens`: copied when this prefix was computed before, computed
    /// (and kept for the next call) otherwise. Returns whether they were
    /// reused.
    pub fn start_sequence(
        &self,
        transformer: &Transformer,
        tokens: &[u32],
        cache: &mut KvCache,
    ) -> Result<bool> {
        if let Some(prefix) = self.find(tokens) {
            cache.extend_from(&prefix.cache)?;
            return Ok(true);
        }
        // Computed outside the lock: workers needing other prefixes never
        // wait for this one. Two workers racing for the same prefix compute
        // the same bits; the first to finish keeps it.
        let mut computed = transformer.new_cache();
        computed.clear_for(tokens.len());
        for chunk in tokens.chunks(super::PREFILL_CHUNK) {
            transformer.forward(chunk, &mut computed)?;
        }
        cache.extend_from(&computed)?;
        self.insert(CachedPrefix {
            tokens: tokens.to_vec(),
            cache: computed,
        });
        Ok(false)
    }

    /// Number of prefixes held.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether no prefix is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Arc<CachedPrefix>>> {
        // The list is valid after any panic: entries are whole or absent.
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn find(&self, tokens: &[u32]) -> Option<Arc<CachedPrefix>> {
        let mut entries = self.lock();
        let at = entries.iter().position(|p| p.tokens == tokens)?;
        let prefix = entries.remove(at);
        entries.push(prefix.clone());
        Some(prefix)
    }

    fn insert(&self, prefix: CachedPrefix) {
        let mut entries = self.lock();
        if entries.iter().any(|p| p.tokens == prefix.tokens) {
            return;
        }
        if entries.len() == MAX_PREFIXES {
            entries.remove(0);
        }
        entries.push(Arc::new(prefix));
    }
}
