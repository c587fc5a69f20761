//! Per-sequence attention state: the keys and values of every position a
//! sequence has seen, one buffer pair per layer.
//!
//! A [`KvCache`] belongs to one worker's sequence; the weights it is used
//! with ([`super::Transformer`]) are shared. Where kurz's CPU kernels run the
//! model the cache holds f16 (half the memory, and half the bytes a decode
//! step reads, like llama.cpp); elsewhere f32. The buffers live on the
//! model's device.

use candle_core::{DType, Result, Tensor};

/// Positions a new cache reserves room for before it grows.
const CHUNK: usize = 1024;

/// Keys and values of every position seen so far, per layer.
#[derive(Debug, Clone)]
pub struct KvCache {
    layers: Vec<candle_nn::kv_cache::KvCache>,
    len: usize,
}

impl KvCache {
    /// An empty cache for `layers` layers of a model with a context of
    /// `context_length` positions; room for the first positions is
    /// reserved on first use, and grows as needed.
    pub(super) fn new(layers: usize, context_length: usize) -> Self {
        let capacity = CHUNK.min(context_length.max(1));
        Self {
            layers: (0..layers)
                .map(|_| candle_nn::kv_cache::KvCache::new(2, capacity))
                .collect(),
            len: 0,
        }
    }

    /// Number of positions held.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no position is held yet.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Number of layers the cache holds positions for.
    pub(super) fn layers(&self) -> usize {
        self.layers.len()
    }

    /// Forgets everything and sizes the buffers, allocated on the next use,
    /// for exactly `positions` positions: a sequence whose length is known
    /// up front (prompt plus answer budget) never grows its buffers, which
    /// would copy them and hold old and new at once.
    pub fn clear_for(&mut self, positions: usize) {
        let positions = positions.max(1);
        for layer in &mut self.layers {
            *layer = candle_nn::kv_cache::KvCache::new(2, positions);
        }
        self.len = 0;
    }

    /// Appends every position of `prefix` (a cache of the same model) to
    /// this cache, which must be empty: the sequence then goes on from
    /// where `prefix` ends (a prompt's cache forked for several
    /// continuations, or a shared prompt opening).
    pub fn extend_from(&mut self, prefix: &KvCache) -> Result<()> {
        if self.len != 0 {
            candle_core::bail!("a prefix can only start an empty cache");
        }
        if self.layers.len() != prefix.layers.len() {
            candle_core::bail!("prefix cache made for another model");
        }
        for (layer, source) in self.layers.iter_mut().zip(&prefix.layers) {
            if let (Some(k), Some(v)) = (source.k()?, source.v()?) {
                // A cache with room to spare hands out a strided view.
                layer.append(&k.contiguous()?, &v.contiguous()?)?;
            }
        }
        self.len = prefix.len;
        Ok(())
    }

    /// Appends the keys and values of new positions (`[1, kv_heads, len,
    /// dim]`) to layer `layer`, in f16 when `half` (else as they are), and
    /// returns all of that layer's keys and values so far. The positions
    /// count once [`Self::advance`] is called after the last layer.
    pub(super) fn append(
        &mut self,
        layer: usize,
        k: &Tensor,
        v: &Tensor,
        half: bool,
    ) -> Result<(Tensor, Tensor)> {
        let Some(cache) = self.layers.get_mut(layer) else {
            candle_core::bail!("no layer {layer} in a cache of {}", self.layers.len());
        };
        if half {
            cache.append(&k.to_dtype(DType::F16)?, &v.to_dtype(DType::F16)?)
        } else {
            cache.append(k, v)
        }
    }

    /// Counts `positions` new positions, appended to every layer.
    pub(super) fn advance(&mut self, positions: usize) {
        self.len += positions;
    }
}

impl Default for KvCache {
    /// A cache for no layers; [`super::Transformer::new_cache`] makes usable
    /// ones.
    fn default() -> Self {
        Self {
            layers: Vec::new(),
            len: 0,
        }
    }
}
