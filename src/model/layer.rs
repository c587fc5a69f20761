//! The pieces a decoder layer is made of — weight vectors, norms, weight
//! matrices, the embedding table — and [`Pass`], the steps of a layer on one
//! representation of a forward pass's rows.
//!
//! [`super::transformer`] writes each step of a layer (projections, bias,
//! q/k norm, rotary positions, attention, SwiGLU, residual) once, generic
//! over [`Pass`]. Two representations run it:
//! [`TensorPass`](super::tensor_pass::TensorPass), Candle tensors on any
//! device, and [`RowPass`](super::row_pass::RowPass), plain CPU row buffers
//! for decode steps on kurz's kernels. Both give the same bits.

use candle_core::quantized::{QMatMul, QTensor};
use candle_core::{DType, Device, Result, Tensor};
use std::sync::Arc;

use super::kv_cache::KvCache;
use super::quant::{MatMul, QWeight, QuantizedInput};
use super::rows;

/// A vector of weights (a norm's scale, a bias), as a tensor for Candle's
/// ops and as plain values for the row path's.
#[derive(Debug, Clone)]
pub(super) struct Vector {
    pub(super) tensor: Tensor,
    pub(super) values: Vec<f32>,
}

impl Vector {
    pub(super) fn new(tensor: Tensor) -> Result<Self> {
        let values = tensor.flatten_all()?.to_dtype(DType::F32)?.to_vec1()?;
        Ok(Self { tensor, values })
    }
}

/// RMS normalisation with a learned scale.
#[derive(Debug, Clone)]
pub(super) struct RmsNorm {
    pub(super) weight: Vector,
    pub(super) eps: f32,
}

impl RmsNorm {
    /// Normalises the last dimension of `xs` (any device).
    pub(super) fn forward(&self, xs: &Tensor) -> Result<Tensor> {
        candle_nn::ops::rms_norm(&xs.contiguous()?, &self.weight.tensor, self.eps)
    }

    /// [`Self::forward`] on plain rows, with the same bits.
    pub(super) fn forward_rows(&self, xs: &[f32]) -> Vec<f32> {
        rows::rms_norm(xs, &self.weight.values, self.eps)
    }
}

/// A weight matrix applied as `x · Wᵀ`: kurz's own kernels over the mapped
/// file where it has them (CPU, supported block formats), Candle's otherwise.
#[derive(Debug, Clone)]
pub(super) enum Linear {
    Native(QWeight),
    Candle(QMatMul),
}

/// The token embedding table, kept quantized; rows are dequantized on lookup.
#[derive(Debug, Clone)]
pub(super) enum Embedding {
    Native(QWeight),
    Candle(Arc<QTensor>),
}

impl Embedding {
    /// `[tokens, hidden]` embeddings of `tokens` on `device`; `release` as
    /// in [`Self::rows`].
    pub(super) fn tensor(&self, tokens: &[u32], device: &Device, release: bool) -> Result<Tensor> {
        match self {
            Self::Native(w) => Tensor::from_vec(
                self.rows(tokens, device, release)?,
                (tokens.len(), w.cols()),
                device,
            ),
            Self::Candle(table) => table.embedding(&Tensor::new(tokens, device)?),
        }
    }

    /// [`Self::tensor`] as plain rows. With `release`, the pages of a
    /// mapped table's rows are handed back to the page cache after the
    /// lookup (a batch run looks up thousands of distinct tokens; their
    /// pages need not stay this process's memory); a table that is also
    /// the output projection is read every step anyway.
    pub(super) fn rows(&self, tokens: &[u32], device: &Device, release: bool) -> Result<Vec<f32>> {
        match self {
            Self::Native(w) => {
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
                if release {
                    w.release_rows(tokens.iter().map(|&t| t as usize));
                }
                Ok(rows)
            }
            Self::Candle(_) => self
                .tensor(tokens, device, release)?
                .flatten_all()?
                .to_dtype(DType::F32)?
                .to_vec1(),
        }
    }
}

/// The weights of `linears` when kurz's kernels run them all.
pub(super) fn native_weights<'a>(linears: &[&'a Linear]) -> Option<Vec<&'a QWeight>> {
    linears
        .iter()
        .map(|l| match l {
            Linear::Native(w) => Some(w),
            Linear::Candle(_) => None,
        })
        .collect()
}

/// The products of `rows` (`width` values each) with each of `weights` on
/// kurz's kernels, as flat row-major buffers; the input is quantized once
/// for all of them.
pub(super) fn native_products(
    kernels: &MatMul,
    weights: &[&QWeight],
    rows: &[f32],
    width: usize,
) -> Result<Vec<Vec<f32>>> {
    let input = QuantizedInput::new(rows, width)?;
    kernels.matmul_all(weights.iter().copied(), &input)
}

/// `N` results, or an error naming what went missing.
pub(super) fn exactly<T, const N: usize>(items: Vec<T>) -> Result<[T; N]> {
    items
        .try_into()
        .map_err(|_| candle_core::Error::Msg(format!("expected {N} products")))
}

/// Where one sequence's rows lie in a pass.
#[derive(Debug)]
pub(super) struct Span {
    /// Its first row among all the pass's rows.
    pub(super) row: usize,
    /// Its number of rows (new tokens).
    pub(super) len: usize,
    /// Causal mask over its new rows, `None` for a single row.
    pub(super) mask: Option<Tensor>,
    /// `[len, head_dim / 2]` cosines and sines of its rows' rotary angles.
    pub(super) rope: (Tensor, Tensor),
}

/// The steps of a decoder layer on one representation of a pass's rows
/// (`Rows`: every sequence's rows one after another). Every step gives the
/// same bits in every representation.
pub(super) trait Pass {
    /// All rows of the pass, or one sequence's.
    type Rows;
    /// One sequence's rows of queries, keys or values, split into heads.
    type Heads;

    /// The embeddings of `tokens`.
    fn embed(&self, embedding: &Embedding, tokens: &[u32]) -> Result<Self::Rows>;

    /// RMS normalisation of every row.
    fn norm(&self, norm: &RmsNorm, xs: &Self::Rows) -> Result<Self::Rows>;

    /// The products of the rows with each of `linears` (on kurz's kernels
    /// the input is quantized once for all of them).
    fn products<const N: usize>(
        &self,
        linears: [&Linear; N],
        xs: &Self::Rows,
    ) -> Result<[Self::Rows; N]>;

    /// Adds `bias` to every row.
    fn add_bias(&self, xs: Self::Rows, bias: &Vector) -> Result<Self::Rows>;

    /// `silu(xs · gateᵀ) * (xs · upᵀ)`, the gated hidden rows of an MLP.
    fn swiglu(&self, gate: &Linear, up: &Linear, xs: &Self::Rows) -> Result<Self::Rows>;

    /// The residual connection: `xs = out + xs`.
    fn residual(&self, xs: &mut Self::Rows, out: Self::Rows) -> Result<()>;

    /// The rows of the sequence at `span` of a projection with `heads`
    /// heads.
    fn heads(&self, xs: &Self::Rows, span: &Span, heads: usize) -> Result<Self::Heads>;

    /// RMS normalisation of every head.
    fn head_norm(&self, norm: &RmsNorm, xs: Self::Heads) -> Result<Self::Heads>;

    /// Rotary position embedding of the heads of the sequence at `span`.
    fn rope(&self, xs: Self::Heads, span: &Span) -> Result<Self::Heads>;

    /// Appends the keys `k` and values `v` of the sequence at `span` to
    /// layer `layer` of its `cache`, and returns the attention of its
    /// queries `q` over everything that layer holds, as rows.
    fn attend(
        &self,
        q: Self::Heads,
        k: Self::Heads,
        v: Self::Heads,
        span: &Span,
        cache: &mut KvCache,
        layer: usize,
    ) -> Result<Self::Rows>;

    /// The sequences' rows (from [`Self::attend`]) as the rows of the pass.
    fn join(&self, outs: Vec<Self::Rows>) -> Result<Self::Rows>;

    /// Each sequence's last row.
    fn last_rows(&self, xs: Self::Rows, spans: &[Span]) -> Result<Self::Rows>;

    /// One row per sequence as a `[vocab]` f32 tensor each.
    fn logits(&self, xs: Self::Rows, sequences: usize) -> Result<Vec<Tensor>>;
}
