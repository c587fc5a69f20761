//! The shape and hyper-parameters of a decoder, read from a GGUF file's
//! metadata and checked before any buffer is sized from them.

use candle_core::Result;

use super::gguf::Metadata;

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

#[cfg(test)]
mod tests {
    use super::*;

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
}
