//! The decoder network of Llama-family GGUF models (`llama`, `qwen2`, `qwen3`).
//!
//! All three architectures share one layout — token embedding, a stack of
//! pre-norm blocks (grouped-query attention with rotary positions, SwiGLU
//! MLP) and a final norm + output projection — and differ only in details:
//! Qwen2 adds biases to the q/k/v projections and rotates "neox" style,
//! Qwen3 normalises q and k per head, Llama rotates interleaved pairs.
//!
//! The weights ([`Transformer`]) are immutable after loading and are shared
//! by reference between all workers; the per-sequence state lives in a
//! [`KvCache`], one per worker.

use candle_core::quantized::{gguf_file, QMatMul, QTensor};
use candle_core::{DType, Device, Layout, Module, Result, Storage, Tensor, D};
use std::io::{Read, Seek};
use std::sync::Arc;

use super::activations;
use super::attention::{attend_one, CachedHeads};
use super::gguf::Metadata;
use super::kernels::CpuKernels;
use super::quant::{MatMul, QWeight, QuantType, QuantizedInput, Usage, WeightBytes};
use super::rows;

/// How rotary position embeddings pair up the dimensions of a head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RopeStyle {
    /// Adjacent pairs (GGML's "normal" rope; Llama GGUF files).
    Interleaved,
    /// First half with second half (GPT-NeoX style; Qwen).
    Neox,
}

/// Shape and hyper-parameters of a decoder, read from GGUF metadata.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// `general.architecture`, e.g. `qwen2`.
    pub architecture: String,
    /// Number of transformer blocks.
    pub block_count: usize,
    /// Width of the residual stream.
    pub embedding_length: usize,
    /// Number of query heads.
    pub head_count: usize,
    /// Number of key/value heads (grouped-query attention).
    pub head_count_kv: usize,
    /// Dimension of one attention head.
    pub head_dim: usize,
    /// Context length the model was trained for.
    pub context_length: usize,
    /// RMS norm epsilon.
    pub rms_norm_eps: f64,
    /// Rotary embedding base frequency.
    pub rope_freq_base: f32,
    /// Rotary pairing.
    pub rope_style: RopeStyle,
}

impl Config {
    /// Reads the configuration of a supported architecture from metadata.
    pub fn from_metadata(md: &Metadata) -> Result<Self> {
        let arch = md.architecture()?;
        let rope_style = match arch.as_str() {
            "llama" => RopeStyle::Interleaved,
            "qwen2" | "qwen3" => RopeStyle::Neox,
            other => candle_core::bail!(
                "unsupported model architecture `{other}` (kurz runs llama, qwen2 and qwen3 GGUF files)"
            ),
        };
        let key = |k: &str| format!("{arch}.{k}");
        let head_count = md.usize(&key("attention.head_count"))?;
        let embedding_length = md.usize(&key("embedding_length"))?;
        let head_dim = match md.opt_usize(&key("attention.key_length"))? {
            Some(d) => d,
            None => embedding_length.checked_div(head_count).unwrap_or(0),
        };
        let config = Self {
            block_count: md.usize(&key("block_count"))?,
            head_count_kv: md
                .opt_usize(&key("attention.head_count_kv"))?
                .unwrap_or(head_count),
            context_length: md.usize(&key("context_length"))?,
            rms_norm_eps: md.f32(&key("attention.layer_norm_rms_epsilon"))? as f64,
            rope_freq_base: md.opt_f32(&key("rope.freq_base"))?.unwrap_or(10_000.0),
            architecture: arch,
            embedding_length,
            head_count,
            head_dim,
            rope_style,
        };
        config.validate()?;
        Ok(config)
    }

    /// Checks that the shape read from a (possibly hostile) file is one the
    /// network can run: no zero sizes or head counts (divisions), key/value
    /// heads that group the query heads evenly, even head dimensions (rotary
    /// pairs), finite norm and rotary constants, and sizes small enough that
    /// buffers derived from them cannot overflow.
    pub fn validate(&self) -> Result<()> {
        const MAX_WIDTH: usize = 1 << 20;
        const MAX_BLOCKS: usize = 4096;
        const MAX_CONTEXT: usize = 1 << 24;
        let fail = |what: String| -> Result<()> {
            candle_core::bail!("invalid model shape in the file's metadata: {what}")
        };
        let c = self;
        if c.block_count == 0 || c.block_count > MAX_BLOCKS {
            return fail(format!("block_count {} (1 to {MAX_BLOCKS})", c.block_count));
        }
        if c.embedding_length == 0 || c.embedding_length > MAX_WIDTH {
            return fail(format!(
                "embedding_length {} (1 to {MAX_WIDTH})",
                c.embedding_length
            ));
        }
        if c.head_count == 0
            || c.head_count_kv == 0
            || !c.head_count.is_multiple_of(c.head_count_kv)
        {
            return fail(format!(
                "{} attention heads cannot share {} key/value heads",
                c.head_count, c.head_count_kv
            ));
        }
        if c.head_dim == 0
            || !c.head_dim.is_multiple_of(2)
            || c.head_dim.saturating_mul(c.head_count) > MAX_WIDTH
        {
            return fail(format!(
                "head dimension {} for {} heads",
                c.head_dim, c.head_count
            ));
        }
        if c.context_length == 0 || c.context_length > MAX_CONTEXT {
            return fail(format!(
                "context_length {} (1 to {MAX_CONTEXT})",
                c.context_length
            ));
        }
        if !(c.rms_norm_eps.is_finite() && c.rms_norm_eps >= 0.0) {
            return fail(format!("rms norm epsilon {}", c.rms_norm_eps));
        }
        if !(c.rope_freq_base.is_finite() && c.rope_freq_base > 0.0) {
            return fail(format!("rope frequency base {}", c.rope_freq_base));
        }
        Ok(())
    }
}

/// RMS normalisation with a learned scale.
#[derive(Debug, Clone)]
struct RmsNorm {
    weight: Vector,
    eps: f32,
}

impl RmsNorm {
    fn forward(&self, xs: &Tensor) -> Result<Tensor> {
        candle_nn::ops::rms_norm(&xs.contiguous()?, &self.weight.tensor, self.eps)
    }

    /// [`Self::forward`] on plain rows.
    fn forward_rows(&self, xs: &[f32]) -> Vec<f32> {
        rows::rms_norm(xs, &self.weight.values, self.eps)
    }
}

/// A vector of weights (a norm's scale, a bias), as a tensor for Candle's
/// ops and as plain values for the decode path's.
#[derive(Debug, Clone)]
struct Vector {
    tensor: Tensor,
    values: Vec<f32>,
}

impl Vector {
    fn new(tensor: Tensor) -> Result<Self> {
        let values = tensor.flatten_all()?.to_dtype(DType::F32)?.to_vec1()?;
        Ok(Self { tensor, values })
    }
}

/// A weight matrix applied as `x · Wᵀ`: kurz's own kernels over the mapped
/// file where it has them (CPU, supported block formats), Candle's otherwise.
#[derive(Debug, Clone)]
enum Linear {
    Native(QWeight),
    Candle(QMatMul),
}

/// The token embedding table, kept quantized; rows are dequantized on lookup.
#[derive(Debug, Clone)]
enum Embedding {
    Native(QWeight),
    Candle(Arc<QTensor>),
}

/// Reads tensors by name from one GGUF file.
struct TensorSource<'a, R> {
    content: &'a gguf_file::Content,
    reader: &'a mut R,
    device: &'a Device,
    /// The whole file, memory-mapped, when weights may stay in the map.
    map: Option<Arc<memmap2::Mmap>>,
    /// kurz's kernels, which get mapped weights ready for use.
    kernels: Option<&'a MatMul>,
    eps: f32,
}

impl<R: Read + Seek> TensorSource<'_, R> {
    fn has(&self, name: &str) -> bool {
        self.content.tensor_infos.contains_key(name)
    }

    fn qtensor(&mut self, name: &str) -> Result<QTensor> {
        self.content.tensor(self.reader, name, self.device)
    }

    /// The weight in the file's own bytes, when kurz's kernels can use it.
    fn mapped(&self, name: &str) -> Result<Option<QWeight>> {
        let (Some(map), Some(info)) = (&self.map, self.content.tensor_infos.get(name)) else {
            return Ok(None);
        };
        let Some(ty) = QuantType::from_ggml(info.ggml_dtype) else {
            return Ok(None);
        };
        let Ok((rows, cols)) = info.shape.dims2() else {
            return Ok(None);
        };
        let offset = (self.content.tensor_data_offset + info.offset) as usize;
        let len = rows * ty.row_bytes(cols);
        if offset + len > map.len() {
            candle_core::bail!("tensor {name} lies beyond the end of the file");
        }
        let bytes = WeightBytes::Mapped {
            map: map.clone(),
            offset,
            len,
        };
        QWeight::new(ty, rows, cols, bytes).map(Some)
    }

    fn matmul(&mut self, name: &str, usage: Usage) -> Result<Linear> {
        match (self.mapped(name)?, self.kernels) {
            (Some(w), Some(kernels)) => Ok(Linear::Native(kernels.prepare(w, usage)?)),
            _ => Ok(Linear::Candle(QMatMul::from_qtensor(self.qtensor(name)?)?)),
        }
    }

    fn embedding(&mut self, name: &str) -> Result<Embedding> {
        match self.mapped(name)? {
            Some(w) => Ok(Embedding::Native(w)),
            None => Ok(Embedding::Candle(Arc::new(self.qtensor(name)?))),
        }
    }

    fn dense(&mut self, name: &str) -> Result<Vector> {
        Vector::new(self.qtensor(name)?.dequantize(self.device)?)
    }

    fn optional_dense(&mut self, name: &str) -> Result<Option<Vector>> {
        if self.has(name) {
            self.dense(name).map(Some)
        } else {
            Ok(None)
        }
    }

    fn norm(&mut self, name: &str) -> Result<RmsNorm> {
        Ok(RmsNorm {
            weight: self.dense(name)?,
            eps: self.eps,
        })
    }

    fn optional_norm(&mut self, name: &str) -> Result<Option<RmsNorm>> {
        if self.has(name) {
            self.norm(name).map(Some)
        } else {
            Ok(None)
        }
    }
}

#[derive(Debug, Clone)]
struct Attention {
    wq: Linear,
    wk: Linear,
    wv: Linear,
    wo: Linear,
    bq: Option<Vector>,
    bk: Option<Vector>,
    bv: Option<Vector>,
    q_norm: Option<RmsNorm>,
    k_norm: Option<RmsNorm>,
}

#[derive(Debug, Clone)]
struct Mlp {
    gate: Linear,
    up: Linear,
    down: Linear,
}

#[derive(Debug, Clone)]
struct Block {
    attn_norm: RmsNorm,
    attn: Attention,
    ffn_norm: RmsNorm,
    mlp: Mlp,
}

/// A loaded decoder: immutable weights, safe to share between threads.
#[derive(Debug)]
pub struct Transformer {
    config: Config,
    embedding: Embedding,
    blocks: Vec<Block>,
    norm: RmsNorm,
    output: Linear,
    /// Whether the output projection is the embedding table itself (tied
    /// embeddings): then its pages are read every step anyway.
    tied_output: bool,
    /// `[1, head_dim / 2]` rotary frequencies; the angles of the positions
    /// a pass needs are made per pass (a table for the whole context would
    /// hold 16 MB for a 32k-context model).
    inv_freq: Tensor,
    device: Device,
    /// kurz's own kernels and their thread pool (CPU only).
    kernels: Option<MatMul>,
}

/// Per-sequence attention state: keys and values of every position seen so
/// far (in f16 where kurz's CPU kernels run the model, else in f32).
#[derive(Debug, Clone)]
pub struct KvCache {
    layers: Vec<candle_nn::kv_cache::KvCache>,
    len: usize,
}

impl KvCache {
    /// Number of positions held.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no position is held yet.
    pub fn is_empty(&self) -> bool {
        self.len == 0
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
}

impl Default for KvCache {
    /// A cache for no layers; [`Transformer::new_cache`] makes usable ones.
    fn default() -> Self {
        Self {
            layers: Vec::new(),
            len: 0,
        }
    }
}

/// One sequence's share of a [`Transformer::forward_many`] pass.
#[derive(Debug)]
pub struct SequenceStep<'a> {
    /// The new tokens.
    pub tokens: &'a [u32],
    /// The sequence's cache; the tokens' keys and values are appended.
    pub cache: &'a mut KvCache,
}

/// Where one sequence's rows lie in a pass.
struct Span {
    /// Its first row among all the pass's rows.
    row: usize,
    /// Its number of rows (new tokens).
    len: usize,
    /// Causal mask over its new rows, `None` for a single row.
    mask: Option<Tensor>,
    /// `[len, head_dim / 2]` cosines and sines of its rows' rotary angles.
    rope: (Tensor, Tensor),
}

/// Positions a new cache reserves room for before it grows.
const KV_CACHE_CHUNK: usize = 1024;

impl Transformer {
    /// Loads the weights of a supported architecture from a GGUF file.
    ///
    /// With `map` (the same file, memory-mapped; CPU only) the quantized
    /// matrices stay in the map and run on kurz's own kernels, on the
    /// `cpu` path with `threads` threads: nothing is copied, and processes
    /// share the page cache. Without it, or for block formats kurz has no kernel for, the
    /// tensors are read into Candle's storage.
    ///
    /// The token embedding stays quantized (rows are dequantized on lookup),
    /// and models with tied embeddings share that one tensor with the output
    /// projection.
    pub fn from_gguf<R: Read + Seek>(
        content: &gguf_file::Content,
        reader: &mut R,
        device: &Device,
        map: Option<Arc<memmap2::Mmap>>,
        threads: usize,
        cpu: CpuKernels,
    ) -> Result<Self> {
        let md = Metadata::new(content);
        let config = Config::from_metadata(&md)?;
        let map = map.filter(|_| device.is_cpu());
        let kernels = match map {
            Some(_) => Some(MatMul::new(threads, cpu)?),
            None => None,
        };
        let mut src = TensorSource {
            content,
            reader,
            device,
            map,
            kernels: kernels.as_ref(),
            eps: config.rms_norm_eps as f32,
        };
        let embedding = src.embedding("token_embd.weight")?;
        let tied_output = !src.has("output.weight");
        let output = if !tied_output {
            src.matmul("output.weight", Usage::SingleRow)?
        } else {
            match (&embedding, &kernels) {
                (Embedding::Native(w), Some(kernels)) => {
                    Linear::Native(kernels.prepare(w.clone(), Usage::SingleRow)?)
                }
                (Embedding::Candle(t), _) => Linear::Candle(QMatMul::from_arc(t.clone())?),
                (Embedding::Native(_), None) => {
                    candle_core::bail!("mapped weights need kurz's CPU kernels")
                }
            }
        };
        let norm = src.norm("output_norm.weight")?;
        let blocks = (0..config.block_count)
            .map(|i| load_block(&mut src, i))
            .collect::<Result<Vec<_>>>()?;
        let inv_freq = rope_frequencies(&config, device)?;
        Ok(Self {
            config,
            embedding,
            blocks,
            norm,
            output,
            tied_output,
            inv_freq,
            device: device.clone(),
            kernels,
        })
    }

    /// The model's shape and hyper-parameters.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The device the weights live on.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// The path kurz's CPU kernels run, or `None` where Candle's kernels
    /// run the model (GPU builds).
    pub fn cpu_kernels(&self) -> Option<CpuKernels> {
        self.kernels.as_ref().map(MatMul::cpu)
    }

    /// A fresh, empty attention cache for one sequence.
    pub fn new_cache(&self) -> KvCache {
        let capacity = KV_CACHE_CHUNK.min(self.config.context_length.max(1));
        KvCache {
            layers: (0..self.config.block_count)
                .map(|_| candle_nn::kv_cache::KvCache::new(2, capacity))
                .collect(),
            len: 0,
        }
    }

    /// Runs `tokens` at the positions following those already in `cache`,
    /// appends their keys and values to it, and returns the logits
    /// (a `[vocab]` f32 tensor) predicting the token after the last one.
    pub fn forward(&self, tokens: &[u32], cache: &mut KvCache) -> Result<Tensor> {
        let mut logits = self.forward_many(&mut [SequenceStep { tokens, cache }])?;
        logits
            .pop()
            .ok_or_else(|| candle_core::Error::Msg("forward returned no logits".into()))
    }

    /// Runs several sequences in one pass: each step's tokens at the
    /// positions following its own cache. The weight products take the rows
    /// of all sequences together (one pass over the weights for all of
    /// them); attention stays within each sequence. Returns each sequence's
    /// next-token logits, in order.
    ///
    /// Every value depends only on its own sequence: the same tokens and
    /// cache give the same bits whether a sequence runs alone or beside
    /// others.
    pub fn forward_many(&self, steps: &mut [SequenceStep<'_>]) -> Result<Vec<Tensor>> {
        let mut spans = Vec::with_capacity(steps.len());
        let mut all_tokens = Vec::new();
        for step in steps.iter() {
            let len = step.tokens.len();
            if len == 0 {
                candle_core::bail!("forward called with no tokens");
            }
            if step.cache.layers.len() != self.blocks.len() {
                candle_core::bail!("forward called with a cache made for another model");
            }
            let start = step.cache.len;
            if start + len > self.config.context_length {
                candle_core::bail!(
                    "sequence of {} tokens exceeds the model's context of {}",
                    start + len,
                    self.config.context_length
                );
            }
            spans.push(Span {
                row: all_tokens.len(),
                len,
                mask: causal_mask(len, start, &self.device)?,
                rope: self.rope_angles(start, len)?,
            });
            all_tokens.extend_from_slice(step.tokens);
        }
        if spans.is_empty() {
            return Ok(Vec::new());
        }
        match &self.kernels {
            // The whole pass runs on a thread of the kernels' pool, so the
            // hundreds of products and attention calls in it start their
            // parallel work from inside the pool rather than each handing
            // it over from outside and waiting to be woken.
            Some(kernels) => kernels.install(|| {
                if spans.iter().all(|span| span.len == 1) {
                    self.decode_layers(kernels, &all_tokens, steps, &spans)
                } else {
                    self.run_layers(&all_tokens, steps, &spans)
                }
            }),
            None => self.run_layers(&all_tokens, steps, &spans),
        }
    }

    /// The body of [`Self::forward_many`], once the steps are checked.
    fn run_layers(
        &self,
        all_tokens: &[u32],
        steps: &mut [SequenceStep<'_>],
        spans: &[Span],
    ) -> Result<Vec<Tensor>> {
        let mut xs = self.embed(all_tokens)?;
        for (layer, block) in self.blocks.iter().enumerate() {
            xs = self.block_forward(block, layer, &xs, steps, spans)?;
        }
        for (step, span) in steps.iter_mut().zip(spans) {
            step.cache.len += span.len;
        }
        let last_rows: Vec<u32> = spans.iter().map(|s| (s.row + s.len - 1) as u32).collect();
        let last = xs.index_select(&Tensor::new(last_rows.as_slice(), &self.device)?, 0)?;
        let last = self.norm.forward(&last)?;
        let logits = self.apply(&self.output, &last)?.to_dtype(DType::F32)?;
        (0..spans.len()).map(|i| logits.get(i)).collect()
    }

    /// [`Self::run_layers`] for a pass in which every sequence brings one
    /// token (a decode step) on kurz's kernels: the rows stay plain buffers
    /// from layer to layer, and the small ops between the products run on
    /// them ([`rows`]) with the bits Candle's ops give in `run_layers`.
    fn decode_layers(
        &self,
        kernels: &MatMul,
        tokens: &[u32],
        steps: &mut [SequenceStep<'_>],
        spans: &[Span],
    ) -> Result<Vec<Tensor>> {
        let angles = spans
            .iter()
            .map(|span| {
                let (cos, sin) = &span.rope;
                Ok((cos.flatten_all()?.to_vec1()?, sin.flatten_all()?.to_vec1()?))
            })
            .collect::<Result<Vec<(Vec<f32>, Vec<f32>)>>>()?;
        let mut xs = self.embed_rows(tokens)?;
        for (layer, block) in self.blocks.iter().enumerate() {
            self.decode_block(kernels, block, layer, &mut xs, steps, &angles)?;
        }
        for step in steps.iter_mut() {
            step.cache.len += 1;
        }
        let normed = self.norm.forward_rows(&xs);
        let [logits] = self.products(
            kernels,
            [&self.output],
            &normed,
            self.config.embedding_length,
        )?;
        let vocab = logits.len() / tokens.len();
        logits
            .chunks_exact(vocab)
            .map(|row| Tensor::from_slice(row, vocab, &self.device))
            .collect()
    }

    /// One block of [`Self::decode_layers`]: `xs` holds one row per step,
    /// at the position following its cache.
    fn decode_block(
        &self,
        kernels: &MatMul,
        block: &Block,
        layer: usize,
        xs: &mut [f32],
        steps: &mut [SequenceStep<'_>],
        angles: &[(Vec<f32>, Vec<f32>)],
    ) -> Result<()> {
        let cfg = &self.config;
        let attn = &block.attn;
        let normed = block.attn_norm.forward_rows(xs);
        let [mut q, mut k, mut v] = self.products(
            kernels,
            [&attn.wq, &attn.wk, &attn.wv],
            &normed,
            cfg.embedding_length,
        )?;
        for (ys, bias) in [(&mut q, &attn.bq), (&mut k, &attn.bk), (&mut v, &attn.bv)] {
            if let Some(bias) = bias {
                rows::add_bias(ys, &bias.values);
            }
        }
        if let Some(norm) = &attn.q_norm {
            q = norm.forward_rows(&q);
        }
        if let Some(norm) = &attn.k_norm {
            k = norm.forward_rows(&k);
        }
        let q_width = cfg.head_count * cfg.head_dim;
        let kv_width = cfg.head_count_kv * cfg.head_dim;
        let mut mixed = Vec::with_capacity(q.len());
        let rows_of = q
            .chunks_exact_mut(q_width)
            .zip(k.chunks_exact_mut(kv_width));
        for ((step, (cos, sin)), ((q, k), v)) in steps
            .iter_mut()
            .zip(angles)
            .zip(rows_of.zip(v.chunks_exact(kv_width)))
        {
            rows::rope(q, cfg.rope_style, cos, sin);
            rows::rope(k, cfg.rope_style, cos, sin);
            let to_cache = |row: &[f32]| {
                let row: Vec<half::f16> = row.iter().map(|&x| half::f16::from_f32(x)).collect();
                Tensor::from_vec(row, (1, cfg.head_count_kv, 1, cfg.head_dim), &self.device)
            };
            let (keys, values) = step.cache.layers[layer].append(&to_cache(k)?, &to_cache(v)?)?;
            mixed.extend(self.attend_cached(kernels, q, &keys, &values)?);
        }
        let [attended] = self.products(kernels, [&attn.wo], &mixed, q_width)?;
        rows::add(xs, &attended);
        let normed = block.ffn_norm.forward_rows(xs);
        let mlp = self.mlp_rows(kernels, &block.mlp, &normed)?;
        rows::add(xs, &mlp);
        Ok(())
    }

    /// [`Self::mlp`] on plain rows of the hidden width.
    fn mlp_rows(&self, kernels: &MatMul, mlp: &Mlp, xs: &[f32]) -> Result<Vec<f32>> {
        let width = self.config.embedding_length;
        let rows = xs.len() / width;
        let [mut hidden, up] = self.products(kernels, [&mlp.gate, &mlp.up], xs, width)?;
        match (&mlp.gate, &mlp.up) {
            (Linear::Native(_), Linear::Native(_)) => {
                activations::silu_mul(kernels.cpu(), &mut hidden, &up)
            }
            _ => {
                let tensor = |v: &[f32]| Tensor::from_slice(v, v.len(), &self.device);
                hidden = (candle_nn::ops::silu(&tensor(&hidden)?)? * tensor(&up)?)?.to_vec1()?;
            }
        }
        let [down] = self.products(kernels, [&mlp.down], &hidden, hidden.len() / rows)?;
        Ok(down)
    }

    /// The products of the rows `xs` (`width` values each) with each of
    /// `linears`, as plain buffers; kurz's kernels quantize the input once
    /// for all of theirs.
    fn products<const N: usize>(
        &self,
        kernels: &MatMul,
        linears: [&Linear; N],
        xs: &[f32],
        width: usize,
    ) -> Result<[Vec<f32>; N]> {
        let native = native_weights(&linears[..]);
        let outs = match native {
            Some(weights) => {
                let input = QuantizedInput::new(xs, width)?;
                kernels.matmul_all(weights.iter().copied(), &input)?
            }
            None => {
                let xs = Tensor::from_slice(xs, (xs.len() / width, width), &self.device)?;
                linears
                    .iter()
                    .map(|l| {
                        self.apply(l, &xs)?
                            .flatten_all()?
                            .to_dtype(DType::F32)?
                            .to_vec1()
                    })
                    .collect::<Result<Vec<_>>>()?
            }
        };
        outs.try_into()
            .map_err(|_| candle_core::Error::Msg("a product went missing".into()))
    }

    /// `[seq, hidden]` embeddings of `tokens`.
    fn embed(&self, tokens: &[u32]) -> Result<Tensor> {
        match &self.embedding {
            Embedding::Native(w) => Tensor::from_vec(
                self.embed_rows(tokens)?,
                (tokens.len(), w.cols()),
                &self.device,
            ),
            Embedding::Candle(table) => table.embedding(&Tensor::new(tokens, &self.device)?),
        }
    }

    /// [`Self::embed`] as plain rows.
    fn embed_rows(&self, tokens: &[u32]) -> Result<Vec<f32>> {
        match &self.embedding {
            Embedding::Native(w) => {
                let width = w.cols();
                let mut rows = vec![0f32; tokens.len() * width];
                for (&token, row) in tokens.iter().zip(rows.chunks_exact_mut(width)) {
                    let token = token as usize;
                    if token >= w.rows() {
                        candle_core::bail!(
                            "token id {token} is outside the vocabulary of {}",
                            w.rows()
                        );
                    }
                    w.dequantize_row(token, row);
                }
                if !self.tied_output {
                    // A batch run looks up thousands of distinct tokens;
                    // their pages need not stay this process's memory.
                    w.release_rows(tokens.iter().map(|&t| t as usize));
                }
                Ok(rows)
            }
            Embedding::Candle(_) => self
                .embed(tokens)?
                .flatten_all()?
                .to_dtype(DType::F32)?
                .to_vec1(),
        }
    }

    /// Applies one weight matrix to `xs` (`[.., k]` → `[.., n]`).
    fn apply(&self, linear: &Linear, xs: &Tensor) -> Result<Tensor> {
        let mut out = self.apply_all(&[linear], xs)?;
        Ok(out.remove(0))
    }

    /// Applies several weight matrices to the same input; kurz's kernels
    /// quantize that input once for all of them.
    fn apply_all(&self, linears: &[&Linear], xs: &Tensor) -> Result<Vec<Tensor>> {
        let native = native_weights(linears);
        let (Some(kernels), Some(weights)) = (&self.kernels, native) else {
            // Some of the matrices are in block formats kurz has no kernel
            // for: each goes its own way.
            return linears
                .iter()
                .map(|l| match (l, &self.kernels) {
                    // Alone, a native matrix is a group kurz's kernels run.
                    (Linear::Native(_), Some(_)) => self.apply(l, xs),
                    (Linear::Native(_), None) => {
                        candle_core::bail!("mapped weights need kurz's CPU kernels")
                    }
                    (Linear::Candle(m), _) => m.forward(xs),
                })
                .collect();
        };
        let products = native_products(kernels, &weights, xs)?;
        products
            .into_iter()
            .zip(weights)
            .map(|(out, w)| self.rows_tensor(out, xs, w))
            .collect()
    }

    /// `values` (the product of `xs` with `w`) as a tensor shaped like `xs`
    /// with `w.rows()` values in its last dimension.
    fn rows_tensor(&self, values: Vec<f32>, xs: &Tensor, w: &QWeight) -> Result<Tensor> {
        let mut shape = xs.dims().to_vec();
        shape.pop();
        shape.push(w.rows());
        Tensor::from_vec(values, shape, &self.device)
    }

    fn mlp(&self, mlp: &Mlp, xs: &Tensor) -> Result<Tensor> {
        if let (Some(kernels), Linear::Native(gate), Linear::Native(up)) =
            (&self.kernels, &mlp.gate, &mlp.up)
        {
            // kurz's kernels: SwiGLU in place on the products' own buffers.
            let [mut hidden, up_out]: [Vec<f32>; 2] = native_products(kernels, &[gate, up], xs)?
                .try_into()
                .map_err(|_| candle_core::Error::Msg("expected two projections".into()))?;
            activations::silu_mul(kernels.cpu(), &mut hidden, &up_out);
            return self.apply(&mlp.down, &self.rows_tensor(hidden, xs, gate)?);
        }
        let [gate, up]: [Tensor; 2] = self
            .apply_all(&[&mlp.gate, &mlp.up], xs)?
            .try_into()
            .map_err(|_| candle_core::Error::Msg("expected two projections".into()))?;
        let hidden = (candle_nn::ops::silu(&gate)? * up)?;
        self.apply(&mlp.down, &hidden)
    }

    fn block_forward(
        &self,
        block: &Block,
        layer: usize,
        xs: &Tensor,
        steps: &mut [SequenceStep<'_>],
        spans: &[Span],
    ) -> Result<Tensor> {
        let normed = block.attn_norm.forward(xs)?;
        let attn = self.attention(&block.attn, &normed, layer, steps, spans)?;
        let xs = (attn + xs)?;
        let mlp = self.mlp(&block.mlp, &block.ffn_norm.forward(&xs)?)?;
        mlp + xs
    }

    /// Self-attention of the rows `xs` (`[rows, hidden]`, the sequences'
    /// rows one after another): projections over all rows at once,
    /// attention sequence by sequence.
    fn attention(
        &self,
        attn: &Attention,
        xs: &Tensor,
        layer: usize,
        steps: &mut [SequenceStep<'_>],
        spans: &[Span],
    ) -> Result<Tensor> {
        let [q, k, v]: [Tensor; 3] = self
            .apply_all(&[&attn.wq, &attn.wk, &attn.wv], xs)?
            .try_into()
            .map_err(|_| candle_core::Error::Msg("expected three projections".into()))?;
        let q = add_bias(q, attn.bq.as_ref())?;
        let k = add_bias(k, attn.bk.as_ref())?;
        let v = add_bias(v, attn.bv.as_ref())?;
        let mut outs = Vec::with_capacity(spans.len());
        for (step, span) in steps.iter_mut().zip(spans) {
            let rows = |t: &Tensor| t.narrow(0, span.row, span.len);
            let cache = &mut step.cache.layers[layer];
            outs.push(self.attend(attn, &rows(&q)?, &rows(&k)?, &rows(&v)?, span, cache)?);
        }
        let out = match outs.len() {
            1 => outs.swap_remove(0),
            _ => Tensor::cat(&outs, 0)?,
        };
        self.apply(&attn.wo, &out)
    }

    /// Attention within one sequence: its `len` new rows of projected
    /// queries, keys and values (`[len, heads * dim]`) at positions from
    /// `span.start`; appends the keys and values to `cache` and returns
    /// `[len, heads * dim]`.
    fn attend(
        &self,
        attn: &Attention,
        q: &Tensor,
        k: &Tensor,
        v: &Tensor,
        span: &Span,
        cache: &mut candle_nn::kv_cache::KvCache,
    ) -> Result<Tensor> {
        let cfg = &self.config;
        let seq_len = span.len;
        let q = split_heads(q, seq_len, cfg.head_count, cfg.head_dim)?;
        let k = split_heads(k, seq_len, cfg.head_count_kv, cfg.head_dim)?;
        let v = split_heads(v, seq_len, cfg.head_count_kv, cfg.head_dim)?;
        let q = match &attn.q_norm {
            Some(norm) => norm.forward(&q)?,
            None => q,
        };
        let k = match &attn.k_norm {
            Some(norm) => norm.forward(&k)?,
            None => k,
        };
        let q = self.rotate(&q, span)?;
        let k = self.rotate(&k, span)?;
        let (k, v) = match &self.kernels {
            // kurz's CPU path keeps the cache in f16, like llama.cpp: half
            // the memory, and half the bytes each decode step reads.
            Some(_) => cache.append(&k.to_dtype(DType::F16)?, &v.to_dtype(DType::F16)?)?,
            None => cache.append(&k, &v)?,
        };
        if let (1, Some(kernels)) = (seq_len, &self.kernels) {
            return self.decode_attention(kernels, &q, &k, &v);
        }
        // `[kv_heads, positions, dim]` in f32.
        let k = k.to_dtype(DType::F32)?.squeeze(0)?.contiguous()?;
        let v = v.to_dtype(DType::F32)?.squeeze(0)?.contiguous()?;
        let positions = k.dim(1)?;
        // The query heads of a group share one key/value head: their rows
        // go together against it (`[kv_heads, group * seq, ..]`) instead of
        // the keys and values being copied once per query head. The scale
        // goes on the (smaller) queries.
        let group_rows = cfg.head_count / cfg.head_count_kv * seq_len;
        let scale = 1.0 / (cfg.head_dim as f64).sqrt();
        let q = (q * scale)?.reshape((cfg.head_count_kv, group_rows, cfg.head_dim))?;
        let scores = q
            .matmul(&k.t()?)?
            .reshape((cfg.head_count, seq_len, positions))?;
        let scores = match &span.mask {
            Some(mask) => scores.broadcast_add(mask)?,
            None => scores,
        };
        let probs = candle_nn::ops::softmax_last_dim(&scores)?.reshape((
            cfg.head_count_kv,
            group_rows,
            positions,
        ))?;
        probs
            .matmul(&v)?
            .reshape((cfg.head_count, seq_len, cfg.head_dim))?
            .transpose(0, 1)?
            .reshape((seq_len, cfg.head_count * cfg.head_dim))
    }

    /// Attention of a single new position, reading the cache in place.
    fn decode_attention(
        &self,
        kernels: &MatMul,
        q: &Tensor,
        k: &Tensor,
        v: &Tensor,
    ) -> Result<Tensor> {
        let cfg = &self.config;
        let q = q.flatten_all()?.to_vec1::<f32>()?;
        let out = self.attend_cached(kernels, &q, k, v)?;
        Tensor::from_vec(out, (1, cfg.head_count * cfg.head_dim), &self.device)
    }

    /// Attention of the query row `q` (`heads × dim`) over the f16 keys `k`
    /// and values `v` (`[1, kv_heads, positions, dim]`) where they lie.
    fn attend_cached(
        &self,
        kernels: &MatMul,
        q: &[f32],
        k: &Tensor,
        v: &Tensor,
    ) -> Result<Vec<f32>> {
        let cfg = &self.config;
        let (k_storage, k_layout) = k.storage_and_layout();
        let (v_storage, v_layout) = v.storage_and_layout();
        let (Storage::Cpu(k_data), Storage::Cpu(v_data)) = (&*k_storage, &*v_storage) else {
            candle_core::bail!("in-place decode attention runs on the CPU");
        };
        let keys = cached_heads(k_data.as_slice::<half::f16>()?, k_layout)?;
        let values = cached_heads(v_data.as_slice::<half::f16>()?, v_layout)?;
        let scale = 1.0 / (cfg.head_dim as f32).sqrt();
        let (dim, kv_heads, cpu) = (cfg.head_dim, cfg.head_count_kv, kernels.cpu());
        Ok(kernels.install(|| attend_one(cpu, q, dim, keys, values, kv_heads, scale)))
    }

    fn rotate(&self, xs: &Tensor, span: &Span) -> Result<Tensor> {
        let (cos, sin) = &span.rope;
        match self.config.rope_style {
            RopeStyle::Interleaved => candle_nn::rotary_emb::rope_i(xs, cos, sin),
            RopeStyle::Neox => candle_nn::rotary_emb::rope(xs, cos, sin),
        }
    }

    /// Cosines and sines (`[len, head_dim / 2]` each) of the rotary angles
    /// of positions `start..start + len`.
    fn rope_angles(&self, start: usize, len: usize) -> Result<(Tensor, Tensor)> {
        let positions = Tensor::arange(start as u32, (start + len) as u32, &self.device)?
            .to_dtype(DType::F32)?
            .reshape((len, 1))?;
        let angles = positions.matmul(&self.inv_freq)?;
        Ok((angles.cos()?, angles.sin()?))
    }
}

/// The weights of `linears` when kurz's kernels run them all.
fn native_weights<'a>(linears: &[&'a Linear]) -> Option<Vec<&'a QWeight>> {
    linears
        .iter()
        .map(|l| match l {
            Linear::Native(w) => Some(w),
            Linear::Candle(_) => None,
        })
        .collect()
}

/// The products of the rows of `xs` (`[.., k]`) with each of `weights` on
/// kurz's kernels, as flat row-major buffers; the input is quantized once
/// for all of them.
fn native_products(kernels: &MatMul, weights: &[&QWeight], xs: &Tensor) -> Result<Vec<Vec<f32>>> {
    let Some(&width) = xs.dims().last() else {
        candle_core::bail!("matmul input has no dimensions");
    };
    let values = xs.flatten_all()?.to_dtype(DType::F32)?.to_vec1::<f32>()?;
    let input = QuantizedInput::new(&values, width)?;
    kernels.matmul_all(weights.iter().copied(), &input)
}

fn load_block<R: Read + Seek>(src: &mut TensorSource<'_, R>, i: usize) -> Result<Block> {
    let p = format!("blk.{i}");
    let attn = Attention {
        wq: src.matmul(&format!("{p}.attn_q.weight"), Usage::Batched)?,
        wk: src.matmul(&format!("{p}.attn_k.weight"), Usage::Batched)?,
        wv: src.matmul(&format!("{p}.attn_v.weight"), Usage::Batched)?,
        wo: src.matmul(&format!("{p}.attn_output.weight"), Usage::Batched)?,
        bq: src.optional_dense(&format!("{p}.attn_q.bias"))?,
        bk: src.optional_dense(&format!("{p}.attn_k.bias"))?,
        bv: src.optional_dense(&format!("{p}.attn_v.bias"))?,
        q_norm: src.optional_norm(&format!("{p}.attn_q_norm.weight"))?,
        k_norm: src.optional_norm(&format!("{p}.attn_k_norm.weight"))?,
    };
    let mlp = Mlp {
        gate: src.matmul(&format!("{p}.ffn_gate.weight"), Usage::Batched)?,
        up: src.matmul(&format!("{p}.ffn_up.weight"), Usage::Batched)?,
        down: src.matmul(&format!("{p}.ffn_down.weight"), Usage::Batched)?,
    };
    Ok(Block {
        attn_norm: src.norm(&format!("{p}.attn_norm.weight"))?,
        attn,
        ffn_norm: src.norm(&format!("{p}.ffn_norm.weight"))?,
        mlp,
    })
}

/// A `[1, kv_heads, len, dim]` cache view as strided rows.
fn cached_heads<'a>(data: &'a [half::f16], layout: &Layout) -> Result<CachedHeads<'a>> {
    let (dims, stride) = (layout.dims(), layout.stride());
    if dims.len() != 4 || dims[0] != 1 || stride[3] != 1 {
        candle_core::bail!("unexpected key/value cache layout {dims:?} / {stride:?}");
    }
    Ok(CachedHeads {
        data: &data[layout.start_offset()..],
        head_stride: stride[1],
        pos_stride: stride[2],
        len: dims[2],
    })
}

fn add_bias(ys: Tensor, bias: Option<&Vector>) -> Result<Tensor> {
    match bias {
        Some(bias) => ys.broadcast_add(&bias.tensor),
        None => Ok(ys),
    }
}

/// `[seq, heads * dim]` → `[1, heads, seq, dim]`, contiguous.
fn split_heads(xs: &Tensor, seq: usize, heads: usize, dim: usize) -> Result<Tensor> {
    xs.reshape((1, seq, heads, dim))?
        .transpose(1, 2)?
        .contiguous()
}

/// An additive mask hiding future positions, or `None` for a single token.
fn causal_mask(seq_len: usize, start: usize, device: &Device) -> Result<Option<Tensor>> {
    if seq_len == 1 {
        return Ok(None);
    }
    let total = start + seq_len;
    let mask: Vec<f32> = (0..seq_len)
        .flat_map(|i| {
            (0..total).map(move |j| {
                if j > start + i {
                    f32::NEG_INFINITY
                } else {
                    0.0
                }
            })
        })
        .collect();
    Tensor::from_slice(&mask, (seq_len, total), device).map(Some)
}

/// `[1, head_dim / 2]` rotary frequencies `base^(-2i / head_dim)`.
fn rope_frequencies(cfg: &Config, device: &Device) -> Result<Tensor> {
    let half = cfg.head_dim / 2;
    let inv_freq: Vec<f32> = (0..half)
        .map(|i| {
            1.0 / cfg
                .rope_freq_base
                .powf(2.0 * i as f32 / cfg.head_dim as f32)
        })
        .collect();
    Tensor::from_vec(inv_freq, (1, half), device)
}

/// Index of the largest logit (greedy choice); ties go to the lowest id.
pub fn argmax(logits: &Tensor) -> Result<u32> {
    logits.argmax(D::Minus1)?.to_scalar::<u32>()
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::quantized::gguf_file::Value;
    use candle_core::quantized::GgmlDType;
    use candle_transformers::models::quantized_llama;

    const WIDTH: usize = 256;
    const FFN: usize = 512;
    const VOCAB: usize = 300;
    const BLOCKS: usize = 2;

    fn good_config() -> Config {
        Config {
            architecture: "llama".into(),
            block_count: 2,
            embedding_length: 256,
            head_count: 8,
            head_count_kv: 2,
            head_dim: 32,
            context_length: 2048,
            rms_norm_eps: 1e-5,
            rope_freq_base: 10_000.0,
            rope_style: RopeStyle::Interleaved,
        }
    }

    #[test]
    fn hostile_shapes_are_refused_before_any_division() {
        assert!(good_config().validate().is_ok());
        type Spoil = fn(&mut Config);
        let bad: Vec<(&str, Spoil)> = vec![
            ("heads", |c| c.head_count = 0),
            ("heads", |c| c.head_count_kv = 0),
            ("heads", |c| c.head_count_kv = 3),
            ("head dimension", |c| c.head_dim = 0),
            ("head dimension", |c| c.head_dim = 33),
            ("head dimension", |c| c.head_dim = 1 << 40),
            ("block_count", |c| c.block_count = 0),
            ("embedding_length", |c| c.embedding_length = usize::MAX),
            ("context_length", |c| c.context_length = 0),
            ("context_length", |c| c.context_length = usize::MAX),
            ("epsilon", |c| c.rms_norm_eps = f64::NAN),
            ("rope", |c| c.rope_freq_base = f32::INFINITY),
        ];
        for (word, spoil) in bad {
            let mut c = good_config();
            spoil(&mut c);
            let err = c.validate().unwrap_err().to_string();
            assert!(
                err.contains("invalid model shape") && err.contains(word),
                "{err}"
            );
        }
    }

    /// Deterministic pseudo-random values in `[-scale, scale)`.
    fn values(n: usize, seed: u64, scale: f32) -> Vec<f32> {
        let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        (0..n)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                ((state >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0) * scale
            })
            .collect()
    }

    /// A tiny Llama with random weights, written as GGUF: 2 blocks of width
    /// 256, 4 query heads over 2 key/value heads of 64, an MLP of 512 and a
    /// vocabulary of 300. The query projections are Q5_K, a format kurz has
    /// no kernel for (Candle runs them), beside Q8_0 keys and values: each
    /// layer's projections mix kurz's kernels and Candle's.
    fn tiny_llama() -> tempfile::NamedTempFile {
        let dev = Device::Cpu;
        let mut seed = 0;
        let mut tensor = |rows: usize, cols: usize, dtype: GgmlDType, scale: f32, offset: f32| {
            seed += 1;
            let data: Vec<f32> = values(rows * cols, seed, scale)
                .into_iter()
                .map(|v| v + offset)
                .collect();
            let shape: Vec<usize> = if rows == 1 {
                vec![cols]
            } else {
                vec![rows, cols]
            };
            let dense = Tensor::from_vec(data, shape, &dev).expect("tensor");
            QTensor::quantize(&dense, dtype).expect("quantize")
        };
        let mut tensors = vec![
            (
                "token_embd.weight".to_string(),
                tensor(VOCAB, WIDTH, GgmlDType::Q8_0, 1.0, 0.0),
            ),
            (
                "output_norm.weight".to_string(),
                tensor(1, WIDTH, GgmlDType::F32, 0.2, 1.0),
            ),
            (
                "output.weight".to_string(),
                tensor(VOCAB, WIDTH, GgmlDType::Q6K, 0.1, 0.0),
            ),
        ];
        for b in 0..BLOCKS {
            let shapes = [
                ("attn_q", WIDTH, WIDTH, GgmlDType::Q5K),
                ("attn_k", WIDTH / 2, WIDTH, GgmlDType::Q8_0),
                ("attn_v", WIDTH / 2, WIDTH, GgmlDType::Q8_0),
                ("attn_output", WIDTH, WIDTH, GgmlDType::Q4K),
                ("ffn_gate", FFN, WIDTH, GgmlDType::Q4K),
                ("ffn_up", FFN, WIDTH, GgmlDType::Q4K),
                ("ffn_down", WIDTH, FFN, GgmlDType::Q6K),
            ];
            for (name, rows, cols, dtype) in shapes {
                let t = tensor(rows, cols, dtype, 0.1, 0.0);
                tensors.push((format!("blk.{b}.{name}.weight"), t));
            }
            for name in ["attn_norm", "ffn_norm"] {
                let t = tensor(1, WIDTH, GgmlDType::F32, 0.2, 1.0);
                tensors.push((format!("blk.{b}.{name}.weight"), t));
            }
        }
        let u32 = |v: usize| Value::U32(v as u32);
        let metadata = [
            ("general.architecture", Value::String("llama".into())),
            ("llama.block_count", u32(BLOCKS)),
            ("llama.embedding_length", u32(WIDTH)),
            ("llama.attention.head_count", u32(4)),
            ("llama.attention.head_count_kv", u32(2)),
            ("llama.rope.dimension_count", u32(WIDTH / 4)),
            ("llama.context_length", u32(128)),
            ("llama.attention.layer_norm_rms_epsilon", Value::F32(1e-5)),
            ("llama.rope.freq_base", Value::F32(10_000.0)),
        ];
        let metadata: Vec<(&str, &Value)> = metadata.iter().map(|(k, v)| (*k, v)).collect();
        let tensors: Vec<(&str, &QTensor)> = tensors.iter().map(|(k, t)| (k.as_str(), t)).collect();
        let mut file = tempfile::NamedTempFile::new().expect("temp file");
        gguf_file::write(file.as_file_mut(), &metadata, &tensors).expect("write gguf");
        file
    }

    fn assert_close(ours: &Tensor, theirs: &Tensor, what: &str) {
        let ours: Vec<f32> = ours.flatten_all().unwrap().to_vec1().unwrap();
        let theirs: Vec<f32> = theirs.flatten_all().unwrap().to_vec1().unwrap();
        assert_eq!(ours.len(), VOCAB, "{what}");
        let largest = theirs.iter().fold(0f32, |m, x| m.max(x.abs()));
        assert!(largest > 0.1, "{what}: reference logits all near zero");
        let diff = ours
            .iter()
            .zip(&theirs)
            .fold(0f32, |m, (a, b)| m.max((a - b).abs()));
        // Both quantize activations per block but sum in different orders,
        // and kurz caches keys and values in f16 where Candle keeps f32: on
        // these random weights the logits differ by a few percent of the
        // largest. A wrong matrix, row or position would be off by the
        // logits' own size.
        assert!(
            diff <= 0.06 * largest,
            "{what}: difference {diff} (largest logit {largest})"
        );
        let argmax = |xs: &[f32]| (0..xs.len()).fold(0, |b, i| if xs[i] > xs[b] { i } else { b });
        assert_eq!(argmax(&ours), argmax(&theirs), "{what}: greedy choice");
    }

    #[test]
    fn layers_mixing_kurz_and_candle_kernels_match_candles_llama() {
        let file = tiny_llama();
        let mut reader = std::fs::File::open(file.path()).unwrap();
        let content = gguf_file::Content::read(&mut reader).unwrap();
        // SAFETY: the temporary file is not modified while mapped.
        let map = Arc::new(unsafe { memmap2::Mmap::map(&reader) }.unwrap());
        let model = Transformer::from_gguf(
            &content,
            &mut reader,
            &Device::Cpu,
            Some(map),
            2,
            CpuKernels::best(),
        )
        .unwrap();
        let attn = &model.blocks[0].attn;
        assert!(
            matches!(attn.wq, Linear::Candle(_)),
            "Q5_K should run on Candle"
        );
        assert!(
            matches!(attn.wk, Linear::Native(_)),
            "Q8_0 should run on kurz's kernels"
        );
        let mut reference =
            quantized_llama::ModelWeights::from_gguf(content, &mut reader, &Device::Cpu).unwrap();
        let mut run_reference = |tokens: &[u32], position: usize| {
            let input = Tensor::new(tokens, &Device::Cpu)
                .unwrap()
                .unsqueeze(0)
                .unwrap();
            reference
                .forward(&input, position)
                .unwrap()
                .squeeze(0)
                .unwrap()
        };

        // A prompt (the general path), then single tokens (the decode path).
        let prompt = [1u32, 5, 9, 200, 17, 42, 3, 250];
        let mut cache = model.new_cache();
        let ours = model.forward(&prompt, &mut cache).unwrap();
        assert_close(&ours, &run_reference(&prompt, 0), "prompt");
        for (i, token) in [7u32, 99, 299].into_iter().enumerate() {
            let ours = model.forward(&[token], &mut cache).unwrap();
            let theirs = run_reference(&[token], prompt.len() + i);
            assert_close(&ours, &theirs, &format!("decode step {i}"));
        }
        assert_eq!(cache.len(), prompt.len() + 3);
    }
}
