//! [`TensorPass`]: the layer steps of [`super::layer::Pass`] as Candle tensor
//! operations, on whatever device holds the weights.
//!
//! This is the general path: prompts, mixed passes, and every pass on a GPU.
//! Nothing in it assumes CPU storage except where kurz's CPU kernels are
//! present ([`TensorPass::kernels`], only set for CPU models): then products
//! of mapped weights and single-row attention run on them.

use candle_core::{DType, Device, Module, Result, Tensor};

use super::activations;
use super::attention::attend_cache;
use super::config::{Config, RopeStyle};
use super::kv_cache::KvCache;
use super::layer::{
    exactly, native_products, native_weights, Embedding, Linear, Pass, RmsNorm, Span, Vector,
};
use super::quant::{MatMul, QWeight};

/// A forward pass over `[rows, hidden]` tensors.
#[derive(Debug, Clone, Copy)]
pub(super) struct TensorPass<'a> {
    /// The model's shape.
    pub(super) config: &'a Config,
    /// The device the weights and activations live on.
    pub(super) device: &'a Device,
    /// kurz's CPU kernels, where they run the model (CPU only).
    pub(super) kernels: Option<&'a MatMul>,
    /// Whether embedding rows are released after lookup (see
    /// [`Embedding::rows`]).
    pub(super) release_embeddings: bool,
}

impl TensorPass<'_> {
    /// Applies several weight matrices to the same input `xs` (`[.., k]` →
    /// `[.., n]` each); kurz's kernels quantize that input once for all of
    /// them.
    pub(super) fn apply_all(&self, linears: &[&Linear], xs: &Tensor) -> Result<Vec<Tensor>> {
        let native = native_weights(linears);
        let (Some(kernels), Some(weights)) = (self.kernels, native) else {
            // Some of the matrices are in block formats kurz has no kernel
            // for: each goes its own way.
            return linears
                .iter()
                .map(|l| match (l, self.kernels) {
                    // Alone, a native matrix is a group kurz's kernels run.
                    (Linear::Native(_), Some(_)) => self.apply(l, xs),
                    (Linear::Native(_), None) => {
                        candle_core::bail!("mapped weights need kurz's CPU kernels")
                    }
                    (Linear::Candle(m), _) => m.forward(xs),
                })
                .collect();
        };
        let products = self.native_products(kernels, &weights, xs)?;
        products
            .into_iter()
            .zip(weights)
            .map(|(out, w)| self.rows_tensor(out, xs, w))
            .collect()
    }

    /// Applies one weight matrix to `xs` (`[.., k]` → `[.., n]`).
    fn apply(&self, linear: &Linear, xs: &Tensor) -> Result<Tensor> {
        let [out] = exactly(self.apply_all(&[linear], xs)?)?;
        Ok(out)
    }

    /// [`native_products`] of the rows of the tensor `xs` (`[.., k]`).
    fn native_products(
        &self,
        kernels: &MatMul,
        weights: &[&QWeight],
        xs: &Tensor,
    ) -> Result<Vec<Vec<f32>>> {
        let Some(&width) = xs.dims().last() else {
            candle_core::bail!("matmul input has no dimensions");
        };
        let values = xs.flatten_all()?.to_dtype(DType::F32)?.to_vec1::<f32>()?;
        native_products(kernels, weights, &values, width)
    }

    /// `values` (the product of `xs` with `w`) as a tensor shaped like `xs`
    /// with `w.rows()` values in its last dimension.
    fn rows_tensor(&self, values: Vec<f32>, xs: &Tensor, w: &QWeight) -> Result<Tensor> {
        let mut shape = xs.dims().to_vec();
        shape.pop();
        shape.push(w.rows());
        Tensor::from_vec(values, shape, self.device)
    }

    /// Softmax(q·Kᵀ/√d + mask)·V of one sequence's `len` new rows:
    /// `q` is `[1, heads, len, dim]`, `k` and `v` every cached position
    /// (`[1, kv_heads, positions, dim]`); returns `[len, heads * dim]`.
    fn attend_all(&self, q: &Tensor, k: &Tensor, v: &Tensor, span: &Span) -> Result<Tensor> {
        let cfg = self.config;
        let seq_len = span.len;
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
}

impl Pass for TensorPass<'_> {
    /// `[rows, width]`.
    type Rows = Tensor;
    /// `[1, heads, rows, head_dim]`, contiguous.
    type Heads = Tensor;

    fn embed(&self, embedding: &Embedding, tokens: &[u32]) -> Result<Tensor> {
        embedding.tensor(tokens, self.device, self.release_embeddings)
    }

    fn norm(&self, norm: &RmsNorm, xs: &Tensor) -> Result<Tensor> {
        norm.forward(xs)
    }

    fn products<const N: usize>(&self, linears: [&Linear; N], xs: &Tensor) -> Result<[Tensor; N]> {
        exactly(self.apply_all(&linears, xs)?)
    }

    fn add_bias(&self, xs: Tensor, bias: &Vector) -> Result<Tensor> {
        xs.broadcast_add(&bias.tensor)
    }

    fn swiglu(&self, gate: &Linear, up: &Linear, xs: &Tensor) -> Result<Tensor> {
        if let (Some(kernels), Linear::Native(gate), Linear::Native(up)) = (self.kernels, gate, up)
        {
            // kurz's kernels: SwiGLU in place on the products' own buffers.
            let [mut hidden, up_out] = exactly(self.native_products(kernels, &[gate, up], xs)?)?;
            activations::silu_mul(kernels.cpu(), &mut hidden, &up_out);
            return self.rows_tensor(hidden, xs, gate);
        }
        let [gate, up] = exactly(self.apply_all(&[gate, up], xs)?)?;
        candle_nn::ops::silu(&gate)? * up
    }

    fn residual(&self, xs: &mut Tensor, out: Tensor) -> Result<()> {
        *xs = (out + &*xs)?;
        Ok(())
    }

    fn heads(&self, xs: &Tensor, span: &Span, heads: usize) -> Result<Tensor> {
        xs.narrow(0, span.row, span.len)?
            .reshape((1, span.len, heads, self.config.head_dim))?
            .transpose(1, 2)?
            .contiguous()
    }

    fn head_norm(&self, norm: &RmsNorm, xs: Tensor) -> Result<Tensor> {
        norm.forward(&xs)
    }

    fn rope(&self, xs: Tensor, span: &Span) -> Result<Tensor> {
        let (cos, sin) = &span.rope;
        match self.config.rope_style {
            RopeStyle::Interleaved => candle_nn::rotary_emb::rope_i(&xs, cos, sin),
            RopeStyle::Neox => candle_nn::rotary_emb::rope(&xs, cos, sin),
        }
    }

    fn attend(
        &self,
        q: Tensor,
        k: Tensor,
        v: Tensor,
        span: &Span,
        cache: &mut KvCache,
        layer: usize,
    ) -> Result<Tensor> {
        let cfg = self.config;
        let (k, v) = cache.append(layer, &k, &v, self.kernels.is_some())?;
        match (span.len, self.kernels) {
            // One new position on the CPU: the cache is read where it lies.
            (1, Some(kernels)) => {
                let q = q.flatten_all()?.to_vec1::<f32>()?;
                let out = attend_cache(kernels, &q, &k, &v, cfg.head_dim, cfg.head_count_kv)?;
                Tensor::from_vec(out, (1, cfg.head_count * cfg.head_dim), self.device)
            }
            _ => self.attend_all(&q, &k, &v, span),
        }
    }

    fn join(&self, mut outs: Vec<Tensor>) -> Result<Tensor> {
        match outs.len() {
            1 => Ok(outs.swap_remove(0)),
            _ => Tensor::cat(&outs, 0),
        }
    }

    fn last_rows(&self, xs: Tensor, spans: &[Span]) -> Result<Tensor> {
        let last: Vec<u32> = spans.iter().map(|s| (s.row + s.len - 1) as u32).collect();
        xs.index_select(&Tensor::new(last.as_slice(), self.device)?, 0)
    }

    fn logits(&self, xs: Tensor, sequences: usize) -> Result<Vec<Tensor>> {
        let logits = xs.to_dtype(DType::F32)?;
        (0..sequences).map(|i| logits.get(i)).collect()
    }
}
