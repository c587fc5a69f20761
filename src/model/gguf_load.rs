//! Reading a decoder's weights from a GGUF file: which tensor goes where,
//! which matrices stay in the memory-mapped file for kurz's kernels and
//! which are read into Candle's storage.

use candle_core::quantized::{gguf_file, QMatMul, QTensor};
use candle_core::{Device, Result};
use std::io::{Read, Seek};
use std::sync::Arc;

use super::config::Config;
use super::kernels::CpuKernels;
use super::layer::{Embedding, Linear, RmsNorm, Vector};
use super::quant::{MatMul, QWeight, QuantType, Usage, WeightBytes};
use super::transformer::{Attention, Block, Mlp};

/// The weights of a decoder, as read from a file.
pub(super) struct Weights {
    /// The token embedding table.
    pub(super) embedding: Embedding,
    /// Whether the output projection is the embedding table itself (tied
    /// embeddings).
    pub(super) tied_output: bool,
    /// The output projection.
    pub(super) output: Linear,
    /// The final norm.
    pub(super) norm: RmsNorm,
    /// The blocks, first to last.
    pub(super) blocks: Vec<Block>,
    /// kurz's own kernels and their thread pool, where mapped weights run
    /// on them (CPU only).
    pub(super) kernels: Option<MatMul>,
}

impl Weights {
    /// Reads the weights of a model of shape `config` from `content` (the
    /// parsed header of the file `reader` reads).
    ///
    /// With `map` (the same file, memory-mapped; CPU only) the quantized
    /// matrices stay in the map and run on kurz's own kernels, on the `cpu`
    /// path with `threads` threads: nothing is copied, and processes share
    /// the page cache. Without it, or for block formats kurz has no kernel
    /// for, the tensors are read into Candle's storage on `device`.
    ///
    /// The token embedding stays quantized (rows are dequantized on lookup),
    /// and models with tied embeddings share that one tensor with the output
    /// projection.
    pub(super) fn load<R: Read + Seek>(
        config: &Config,
        content: &gguf_file::Content,
        reader: &mut R,
        device: &Device,
        map: Option<Arc<memmap2::Mmap>>,
        threads: usize,
        cpu: CpuKernels,
    ) -> Result<Self> {
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
            .map(|i| src.block(i))
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            embedding,
            tied_output,
            output,
            norm,
            blocks,
            kernels,
        })
    }
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

    /// The weights of block `i`.
    fn block(&mut self, i: usize) -> Result<Block> {
        let p = format!("blk.{i}");
        let attn = Attention {
            wq: self.matmul(&format!("{p}.attn_q.weight"), Usage::Batched)?,
            wk: self.matmul(&format!("{p}.attn_k.weight"), Usage::Batched)?,
            wv: self.matmul(&format!("{p}.attn_v.weight"), Usage::Batched)?,
            wo: self.matmul(&format!("{p}.attn_output.weight"), Usage::Batched)?,
            bq: self.optional_dense(&format!("{p}.attn_q.bias"))?,
            bk: self.optional_dense(&format!("{p}.attn_k.bias"))?,
            bv: self.optional_dense(&format!("{p}.attn_v.bias"))?,
            q_norm: self.optional_norm(&format!("{p}.attn_q_norm.weight"))?,
            k_norm: self.optional_norm(&format!("{p}.attn_k_norm.weight"))?,
        };
        let mlp = Mlp {
            gate: self.matmul(&format!("{p}.ffn_gate.weight"), Usage::Batched)?,
            up: self.matmul(&format!("{p}.ffn_up.weight"), Usage::Batched)?,
            down: self.matmul(&format!("{p}.ffn_down.weight"), Usage::Batched)?,
        };
        Ok(Block {
            attn_norm: self.norm(&format!("{p}.attn_norm.weight"))?,
            attn,
            ffn_norm: self.norm(&format!("{p}.ffn_norm.weight"))?,
            mlp,
        })
    }
}
