//! [`RowPass`]: the layer steps of [`super::layer::Pass`] on plain row
//! buffers, for decode passes (one new token per sequence) on kurz's CPU
//! kernels. **CPU only**: it exists only where kurz's kernels run the model.
//!
//! Between the matrix products a layer normalizes, adds biases, rotates
//! queries and keys and adds residuals. As Candle tensor ops those cost an
//! allocation, a layout check and a dispatch each, about 3% of a decode pass
//! on the 1.5B model; here they are loops over slices ([`super::rows`]) that
//! give the bits of [`super::tensor_pass::TensorPass`]'s ops.

use candle_core::{Device, Result, Tensor};

use super::activations;
use super::attention::attend_cache;
use super::kv_cache::KvCache;
use super::layer::{
    exactly, native_products, native_weights, Embedding, Linear, Pass, RmsNorm, Span, Vector,
};
use super::quant::MatMul;
use super::rows;
use super::tensor_pass::TensorPass;

/// A decode pass: one row per sequence, so the sequence at a span is the
/// span's row.
#[derive(Debug)]
pub(super) struct RowPass<'a> {
    /// The same pass as tensors, for the products and activations of block
    /// formats kurz has no kernel for.
    tensors: TensorPass<'a>,
    kernels: &'a MatMul,
    /// Rows (sequences) in the pass.
    rows: usize,
    /// Cosines and sines of each row's rotary angles.
    angles: Vec<(Vec<f32>, Vec<f32>)>,
}

impl<'a> RowPass<'a> {
    /// A row pass over `spans`, which must each hold one row, on `kernels`;
    /// `tensors` (a CPU pass) runs what they do not.
    pub(super) fn new(
        tensors: TensorPass<'a>,
        kernels: &'a MatMul,
        spans: &[Span],
    ) -> Result<Self> {
        if spans
            .iter()
            .enumerate()
            .any(|(i, s)| s.len != 1 || s.row != i)
        {
            candle_core::bail!("a row pass takes one row per sequence");
        }
        let angles = spans
            .iter()
            .map(|span| {
                let (cos, sin) = &span.rope;
                Ok((cos.flatten_all()?.to_vec1()?, sin.flatten_all()?.to_vec1()?))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            tensors,
            kernels,
            rows: spans.len(),
            angles,
        })
    }

    /// Rows as a `[rows, width]` CPU tensor.
    fn tensor(&self, xs: &[f32]) -> Result<Tensor> {
        Tensor::from_slice(xs, (self.rows, xs.len() / self.rows), &Device::Cpu)
    }
}

impl Pass for RowPass<'_> {
    /// Row-major rows, one per sequence.
    type Rows = Vec<f32>;
    /// One sequence's row, `heads × head_dim` values.
    type Heads = Vec<f32>;

    fn embed(&self, embedding: &Embedding, tokens: &[u32]) -> Result<Vec<f32>> {
        embedding.rows(tokens, &Device::Cpu, self.tensors.release_embeddings)
    }

    fn norm(&self, norm: &RmsNorm, xs: &Vec<f32>) -> Result<Vec<f32>> {
        Ok(norm.forward_rows(xs))
    }

    fn products<const N: usize>(
        &self,
        linears: [&Linear; N],
        xs: &Vec<f32>,
    ) -> Result<[Vec<f32>; N]> {
        let outs = match native_weights(&linears) {
            Some(weights) => native_products(self.kernels, &weights, xs, xs.len() / self.rows)?,
            None => {
                let xs = self.tensor(xs)?;
                self.tensors
                    .apply_all(&linears, &xs)?
                    .into_iter()
                    .map(|t| {
                        t.flatten_all()?
                            .to_dtype(candle_core::DType::F32)?
                            .to_vec1()
                    })
                    .collect::<Result<Vec<_>>>()?
            }
        };
        exactly(outs)
    }

    fn add_bias(&self, mut xs: Vec<f32>, bias: &Vector) -> Result<Vec<f32>> {
        rows::add_bias(&mut xs, &bias.values);
        Ok(xs)
    }

    fn swiglu(&self, gate: &Linear, up: &Linear, xs: &Vec<f32>) -> Result<Vec<f32>> {
        let [mut hidden, up_out] = self.products([gate, up], xs)?;
        if let (Linear::Native(_), Linear::Native(_)) = (gate, up) {
            activations::silu_mul(self.kernels.cpu(), &mut hidden, &up_out);
            return Ok(hidden);
        }
        let tensor = |v: &[f32]| Tensor::from_slice(v, v.len(), &Device::Cpu);
        (candle_nn::ops::silu(&tensor(&hidden)?)? * tensor(&up_out)?)?.to_vec1()
    }

    fn residual(&self, xs: &mut Vec<f32>, out: Vec<f32>) -> Result<()> {
        rows::add(xs, &out);
        Ok(())
    }

    fn heads(&self, xs: &Vec<f32>, span: &Span, heads: usize) -> Result<Vec<f32>> {
        let width = heads * self.tensors.config.head_dim;
        match xs.get(span.row * width..(span.row + 1) * width) {
            Some(row) => Ok(row.to_vec()),
            None => candle_core::bail!("row {} outside a pass of {} rows", span.row, self.rows),
        }
    }

    fn head_norm(&self, norm: &RmsNorm, xs: Vec<f32>) -> Result<Vec<f32>> {
        Ok(norm.forward_rows(&xs))
    }

    fn rope(&self, mut xs: Vec<f32>, span: &Span) -> Result<Vec<f32>> {
        let Some((cos, sin)) = self.angles.get(span.row) else {
            candle_core::bail!("no rotary angles for row {}", span.row);
        };
        rows::rope(&mut xs, self.tensors.config.rope_style, cos, sin);
        Ok(xs)
    }

    fn attend(
        &self,
        q: Vec<f32>,
        k: Vec<f32>,
        v: Vec<f32>,
        _span: &Span,
        cache: &mut KvCache,
        layer: usize,
    ) -> Result<Vec<f32>> {
        let cfg = self.tensors.config;
        let to_cache = |row: &[f32]| {
            let row: Vec<half::f16> = row.iter().map(|&x| half::f16::from_f32(x)).collect();
            Tensor::from_vec(row, (1, cfg.head_count_kv, 1, cfg.head_dim), &Device::Cpu)
        };
        let (keys, values) = cache.append(layer, &to_cache(&k)?, &to_cache(&v)?, true)?;
        attend_cache(
            self.kernels,
            &q,
            &keys,
            &values,
            cfg.head_dim,
            cfg.head_count_kv,
        )
    }

    fn join(&self, outs: Vec<Vec<f32>>) -> Result<Vec<f32>> {
        Ok(outs.concat())
    }

    fn last_rows(&self, xs: Vec<f32>, _spans: &[Span]) -> Result<Vec<f32>> {
        // Every sequence has one row: it is its last.
        Ok(xs)
    }

    fn logits(&self, xs: Vec<f32>, sequences: usize) -> Result<Vec<Tensor>> {
        let vocab = xs.len() / sequences.max(1);
        xs.chunks_exact(vocab.max(1))
            .map(|row| Tensor::from_slice(row, vocab, &Device::Cpu))
            .collect()
    }
}
