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
//!
//! This file is the model: its weights, and one pass through it
//! ([`Transformer::forward_many`] → `block` → `attention`, `mlp`), each
//! step written once. The steps run on one of two representations of the
//! rows (`layer::Pass`): Candle tensors on any device (`TensorPass`, for
//! prompts and every pass on a GPU), or plain CPU rows on kurz's kernels
//! (`RowPass`, decode steps on the CPU), with the same bits. Around it: the
//! shape ([`super::config`]), the cache ([`super::kv_cache`]), reading the
//! weights (`gguf_load`) and the pieces of a layer (`layer`).

use candle_core::quantized::gguf_file;
use candle_core::{DType, Device, Result, Tensor, D};
use std::io::{Read, Seek};
use std::sync::Arc;

use super::gguf::Metadata;
use super::gguf_load::Weights;
use super::kernels::CpuKernels;
use super::layer::{Embedding, Linear, Pass, RmsNorm, Span, Vector};
use super::quant::MatMul;
use super::row_pass::RowPass;
use super::tensor_pass::TensorPass;

pub use super::config::{Config, RopeStyle};
pub use super::kv_cache::KvCache;

/// Self-attention weights of one block.
#[derive(Debug, Clone)]
pub(super) struct Attention {
    pub(super) wq: Linear,
    pub(super) wk: Linear,
    pub(super) wv: Linear,
    pub(super) wo: Linear,
    /// Projection biases (Qwen2).
    pub(super) bq: Option<Vector>,
    pub(super) bk: Option<Vector>,
    pub(super) bv: Option<Vector>,
    /// Per-head query and key norms (Qwen3).
    pub(super) q_norm: Option<RmsNorm>,
    pub(super) k_norm: Option<RmsNorm>,
}

/// SwiGLU MLP weights of one block.
#[derive(Debug, Clone)]
pub(super) struct Mlp {
    pub(super) gate: Linear,
    pub(super) up: Linear,
    pub(super) down: Linear,
}

/// One pre-norm block: attention, then MLP, each around a residual.
#[derive(Debug, Clone)]
pub(super) struct Block {
    pub(super) attn_norm: RmsNorm,
    pub(super) attn: Attention,
    pub(super) ffn_norm: RmsNorm,
    pub(super) mlp: Mlp,
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

/// One sequence's share of a [`Transformer::forward_many`] pass.
#[derive(Debug)]
pub struct SequenceStep<'a> {
    /// The new tokens.
    pub tokens: &'a [u32],
    /// The sequence's cache; the tokens' keys and values are appended.
    pub cache: &'a mut KvCache,
}

impl Transformer {
    /// Loads the weights of a supported architecture from a GGUF file.
    ///
    /// With `map` (the same file, memory-mapped; CPU only) the quantized
    /// matrices stay in the map and run on kurz's own kernels, on the
    /// `cpu` path with `threads` threads: nothing is copied, and processes
    /// share the page cache. Without it, or for block formats kurz has no
    /// kernel for, the tensors are read into Candle's storage.
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
        let config = Config::from_metadata(&Metadata::new(content))?;
        let weights = Weights::load(&config, content, reader, device, map, threads, cpu)?;
        let inv_freq = rope_frequencies(&config, device)?;
        Ok(Self {
            config,
            embedding: weights.embedding,
            blocks: weights.blocks,
            norm: weights.norm,
            output: weights.output,
            tied_output: weights.tied_output,
            inv_freq,
            device: device.clone(),
            kernels: weights.kernels,
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
        KvCache::new(self.config.block_count, self.config.context_length)
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
    /// others, and whichever representation of the rows runs the pass.
    pub fn forward_many(&self, steps: &mut [SequenceStep<'_>]) -> Result<Vec<Tensor>> {
        let mut spans = Vec::with_capacity(steps.len());
        let mut all_tokens = Vec::new();
        for step in steps.iter() {
            spans.push(self.span(step, all_tokens.len())?);
            all_tokens.extend_from_slice(step.tokens);
        }
        if spans.is_empty() {
            return Ok(Vec::new());
        }
        let tensors = TensorPass {
            config: &self.config,
            device: &self.device,
            kernels: self.kernels.as_ref(),
            release_embeddings: !self.tied_output,
        };
        match &self.kernels {
            // The whole pass runs on a thread of the kernels' pool, so the
            // hundreds of products and attention calls in it start their
            // parallel work from inside the pool rather than each handing
            // it over from outside and waiting to be woken.
            Some(kernels) => kernels.install(|| {
                if spans.iter().all(|span| span.len == 1) {
                    let rows = RowPass::new(tensors, kernels, &spans)?;
                    self.run(&rows, &all_tokens, steps, &spans)
                } else {
                    self.run(&tensors, &all_tokens, steps, &spans)
                }
            }),
            None => self.run(&tensors, &all_tokens, steps, &spans),
        }
    }

    /// Checks one step of a pass whose rows so far number `row`, and places
    /// it: its rows, causal mask and rotary angles.
    fn span(&self, step: &SequenceStep<'_>, row: usize) -> Result<Span> {
        let len = step.tokens.len();
        if len == 0 {
            candle_core::bail!("forward called with no tokens");
        }
        if step.cache.layers() != self.blocks.len() {
            candle_core::bail!("forward called with a cache made for another model");
        }
        let start = step.cache.len();
        if start + len > self.config.context_length {
            candle_core::bail!(
                "sequence of {} tokens exceeds the model's context of {}",
                start + len,
                self.config.context_length
            );
        }
        Ok(Span {
            row,
            len,
            mask: causal_mask(len, start, &self.device)?,
            rope: self.rope_angles(start, len)?,
        })
    }

    /// The body of [`Self::forward_many`] once the steps are placed:
    /// embedding, the blocks, then the final norm and output projection of
    /// each sequence's last row.
    fn run<P: Pass>(
        &self,
        pass: &P,
        tokens: &[u32],
        steps: &mut [SequenceStep<'_>],
        spans: &[Span],
    ) -> Result<Vec<Tensor>> {
        let mut xs = pass.embed(&self.embedding, tokens)?;
        for (layer, block) in self.blocks.iter().enumerate() {
            self.block(pass, block, layer, &mut xs, steps, spans)?;
        }
        for (step, span) in steps.iter_mut().zip(spans) {
            step.cache.advance(span.len);
        }
        let last = pass.last_rows(xs, spans)?;
        let last = pass.norm(&self.norm, &last)?;
        let [logits] = pass.products([&self.output], &last)?;
        pass.logits(logits, spans.len())
    }

    /// One pre-norm block over all rows of the pass.
    fn block<P: Pass>(
        &self,
        pass: &P,
        block: &Block,
        layer: usize,
        xs: &mut P::Rows,
        steps: &mut [SequenceStep<'_>],
        spans: &[Span],
    ) -> Result<()> {
        let normed = pass.norm(&block.attn_norm, xs)?;
        let attended = self.attention(pass, &block.attn, &normed, layer, steps, spans)?;
        pass.residual(xs, attended)?;
        let normed = pass.norm(&block.ffn_norm, xs)?;
        let out = self.mlp(pass, &block.mlp, &normed)?;
        pass.residual(xs, out)
    }

    /// Self-attention of the rows `xs`: projections over all rows at once,
    /// then sequence by sequence its heads (normed where the model norms
    /// them), rotated, appended to its cache and attended over it.
    fn attention<P: Pass>(
        &self,
        pass: &P,
        attn: &Attention,
        xs: &P::Rows,
        layer: usize,
        steps: &mut [SequenceStep<'_>],
        spans: &[Span],
    ) -> Result<P::Rows> {
        let cfg = &self.config;
        let [mut q, mut k, mut v] = pass.products([&attn.wq, &attn.wk, &attn.wv], xs)?;
        if let Some(bias) = &attn.bq {
            q = pass.add_bias(q, bias)?;
        }
        if let Some(bias) = &attn.bk {
            k = pass.add_bias(k, bias)?;
        }
        if let Some(bias) = &attn.bv {
            v = pass.add_bias(v, bias)?;
        }
        let mut outs = Vec::with_capacity(spans.len());
        for (step, span) in steps.iter_mut().zip(spans) {
            let mut q = pass.heads(&q, span, cfg.head_count)?;
            let mut k = pass.heads(&k, span, cfg.head_count_kv)?;
            let v = pass.heads(&v, span, cfg.head_count_kv)?;
            if let Some(norm) = &attn.q_norm {
                q = pass.head_norm(norm, q)?;
            }
            if let Some(norm) = &attn.k_norm {
                k = pass.head_norm(norm, k)?;
            }
            let q = pass.rope(q, span)?;
            let k = pass.rope(k, span)?;
            outs.push(pass.attend(q, k, v, span, step.cache, layer)?);
        }
        let mixed = pass.join(outs)?;
        let [out] = pass.products([&attn.wo], &mixed)?;
        Ok(out)
    }

    /// The MLP: `down(silu(gate(x)) * up(x))`.
    fn mlp<P: Pass>(&self, pass: &P, mlp: &Mlp, xs: &P::Rows) -> Result<P::Rows> {
        let hidden = pass.swiglu(&mlp.gate, &mlp.up, xs)?;
        let [out] = pass.products([&mlp.down], &hidden)?;
        Ok(out)
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
    use candle_core::quantized::{GgmlDType, QTensor};
    use candle_transformers::models::quantized_llama;

    const WIDTH: usize = 256;
    const FFN: usize = 512;
    const VOCAB: usize = 300;
    const BLOCKS: usize = 2;

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
        tiny_model("llama")
    }

    /// [`tiny_llama`]'s layout as architecture `arch`: `qwen2` adds q/k/v
    /// biases, `qwen3` per-head q/k norms.
    fn tiny_model(arch: &str) -> tempfile::NamedTempFile {
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
            if arch == "qwen2" {
                for (name, width) in [
                    ("attn_q", WIDTH),
                    ("attn_k", WIDTH / 2),
                    ("attn_v", WIDTH / 2),
                ] {
                    let t = tensor(1, width, GgmlDType::F32, 0.5, 0.0);
                    tensors.push((format!("blk.{b}.{name}.bias"), t));
                }
            }
            if arch == "qwen3" {
                for name in ["attn_q_norm", "attn_k_norm"] {
                    let t = tensor(1, WIDTH / 4, GgmlDType::F32, 0.2, 1.0);
                    tensors.push((format!("blk.{b}.{name}.weight"), t));
                }
            }
        }
        let u32 = |v: usize| Value::U32(v as u32);
        let key = |k: &str| format!("{arch}.{k}");
        let metadata = [
            (
                "general.architecture".to_string(),
                Value::String(arch.into()),
            ),
            (key("block_count"), u32(BLOCKS)),
            (key("embedding_length"), u32(WIDTH)),
            (key("attention.head_count"), u32(4)),
            (key("attention.head_count_kv"), u32(2)),
            (key("rope.dimension_count"), u32(WIDTH / 4)),
            (key("context_length"), u32(128)),
            (key("attention.layer_norm_rms_epsilon"), Value::F32(1e-5)),
            (key("rope.freq_base"), Value::F32(10_000.0)),
        ];
        let metadata: Vec<(&str, &Value)> = metadata.iter().map(|(k, v)| (k.as_str(), v)).collect();
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

    fn load(file: &tempfile::NamedTempFile) -> Transformer {
        let mut reader = std::fs::File::open(file.path()).unwrap();
        let content = gguf_file::Content::read(&mut reader).unwrap();
        // SAFETY: the temporary file is not modified while mapped.
        let map = Arc::new(unsafe { memmap2::Mmap::map(&reader) }.unwrap());
        let cpu = CpuKernels::best();
        Transformer::from_gguf(&content, &mut reader, &Device::Cpu, Some(map), 2, cpu).unwrap()
    }

    fn bits(t: &Tensor) -> Vec<u32> {
        let values: Vec<f32> = t.to_vec1().unwrap();
        values.into_iter().map(f32::to_bits).collect()
    }

    /// A decode step runs on the row pass when every sequence brings one
    /// token, and on the tensor pass beside a sequence that brings more:
    /// both must give its logits to the bit, through every step a layer
    /// has (biases for qwen2, head norms for qwen3, both rotary styles).
    #[test]
    fn row_and_tensor_passes_give_the_same_bits_in_every_architecture() {
        for arch in ["llama", "qwen2", "qwen3"] {
            let model = load(&tiny_model(arch));
            let block = &model.blocks[0];
            assert_eq!(block.attn.bq.is_some(), arch == "qwen2", "{arch} biases");
            assert_eq!(block.attn.q_norm.is_some(), arch == "qwen3", "{arch} norms");
            let mut alone = model.new_cache();
            let mut beside = model.new_cache();
            let mut other = model.new_cache();
            let prompt = [1u32, 5, 9, 200, 17];
            model.forward(&prompt, &mut alone).unwrap();
            model.forward(&prompt, &mut beside).unwrap();
            model.forward(&[4, 8], &mut other).unwrap();
            for (i, token) in [7u32, 99, 299].into_iter().enumerate() {
                let rows = model.forward(&[token], &mut alone).unwrap();
                let mut steps = [
                    SequenceStep {
                        tokens: &[token],
                        cache: &mut beside,
                    },
                    SequenceStep {
                        tokens: &[3, 11],
                        cache: &mut other,
                    },
                ];
                let tensors = model.forward_many(&mut steps).unwrap();
                assert_eq!(bits(&rows), bits(&tensors[0]), "{arch} step {i}");
            }
            assert_eq!(alone.len(), beside.len());
        }
    }
}
