//! The model's tokenizer, rebuilt from GGUF metadata so that token ids match
//! llama.cpp's for the same text.
//!
//! GGUF files carry the vocabulary (`tokenizer.ggml.tokens`), the BPE merges,
//! the token types and the name of the pre-tokenizer (`tokenizer.ggml.pre`).
//! The pre-tokenizer name selects the split regexes llama.cpp uses; the rest
//! is byte-level BPE as in GPT-2. A `tokenizer.json` next to the model file
//! overrides all of this.

use std::collections::HashSet;
use std::path::Path;

use tokenizers::decoders::byte_level::ByteLevel as ByteLevelDecoder;
use tokenizers::models::bpe::BPE;
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::pre_tokenizers::sequence::Sequence;
use tokenizers::pre_tokenizers::split::{Split, SplitPattern};
use tokenizers::pre_tokenizers::PreTokenizerWrapper;
use tokenizers::{AddedToken, SplitDelimiterBehavior, Tokenizer};

use super::gguf::Metadata;
use super::ModelError;

/// GGUF token type of control tokens such as `<|im_end|>`.
const TOKEN_TYPE_CONTROL: i64 = 3;
/// GGUF token type of user-defined tokens, matched as wholes in any text.
const TOKEN_TYPE_USER_DEFINED: i64 = 4;

/// GPT-2's split regex, also used by many byte-level BPE models.
const GPT2_SPLIT: &str = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)";
/// Qwen2's split regex (single digits), as llama.cpp writes it.
const QWEN2_SPLIT: &str = r"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
/// Llama 3's split regex (digits in groups of up to three).
const LLAMA3_SPLIT: &str = r"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

/// A text tokenizer plus the special tokens generation needs.
#[derive(Clone)]
pub struct TextTokenizer {
    inner: Tokenizer,
    bos: Option<u32>,
    add_bos: bool,
    eos: Option<u32>,
    control_texts: Vec<String>,
}

impl std::fmt::Debug for TextTokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TextTokenizer")
            .field("vocab_size", &self.inner.get_vocab_size(true))
            .field("bos", &self.bos)
            .field("eos", &self.eos)
            .finish()
    }
}

impl TextTokenizer {
    /// Builds the tokenizer from GGUF metadata, or loads `tokenizer.json`
    /// from `override_dir` when such a file exists there.
    pub fn from_gguf(md: &Metadata, override_dir: Option<&Path>) -> Result<Self, ModelError> {
        let bad = |e: candle_core::Error| ModelError::Tokenizer(e.to_string());
        let tokens = md.strings("tokenizer.ggml.tokens").map_err(bad)?;
        let types = md.opt_ints("tokenizer.ggml.token_type").map_err(bad)?;
        let bos = md.opt_usize("tokenizer.ggml.bos_token_id").map_err(bad)?;
        let eos = md.opt_usize("tokenizer.ggml.eos_token_id").map_err(bad)?;
        let add_bos = md
            .opt_bool("tokenizer.ggml.add_bos_token")
            .map_err(bad)?
            .unwrap_or(false);
        let json = override_dir
            .map(|d| d.join("tokenizer.json"))
            .filter(|p| p.is_file());
        let inner = match json {
            Some(path) => Tokenizer::from_file(&path).map_err(|e| {
                ModelError::Tokenizer(format!("cannot load {}: {e}", path.display()))
            })?,
            None => build_bpe(md, &tokens, types.as_deref())?,
        };
        let control_texts = special_texts(&tokens, types.as_deref());
        Ok(Self {
            inner,
            bos: bos.map(|b| b as u32),
            add_bos,
            eos: eos.map(|e| e as u32),
            control_texts,
        })
    }

    /// Reads only the metadata of a GGUF file and builds its tokenizer
    /// (no weights are loaded).
    pub fn from_gguf_file(path: &Path) -> Result<Self, ModelError> {
        let mut file = std::fs::File::open(path).map_err(|e| ModelError::Io {
            path: path.to_path_buf(),
            source: e,
        })?;
        let content = candle_core::quantized::gguf_file::Content::read(&mut file).map_err(|e| {
            ModelError::Invalid {
                path: path.to_path_buf(),
                message: e.to_string(),
            }
        })?;
        Self::from_gguf(&Metadata::new(&content), path.parent())
    }

    /// Tokenizes `text`, matching special tokens written in it (as in a
    /// rendered chat template). Adds the BOS token when the model asks for it
    /// and the text does not already start with it.
    pub fn encode_prompt(&self, text: &str) -> Result<Vec<u32>, ModelError> {
        let mut ids = self.encode_raw(text)?;
        if let (true, Some(bos)) = (self.add_bos, self.bos) {
            if ids.first() != Some(&bos) {
                ids.insert(0, bos);
            }
        }
        Ok(ids)
    }

    /// Tokenizes `text` without adding anything.
    pub fn encode_raw(&self, text: &str) -> Result<Vec<u32>, ModelError> {
        self.inner
            .encode(text, false)
            .map(|e| e.get_ids().to_vec())
            .map_err(|e| ModelError::Tokenizer(e.to_string()))
    }

    /// Turns token ids back into text, leaving out special tokens.
    pub fn decode(&self, ids: &[u32]) -> Result<String, ModelError> {
        self.inner
            .decode(ids, true)
            .map_err(|e| ModelError::Tokenizer(e.to_string()))
    }

    /// Number of tokens in `text` (without BOS).
    pub fn count(&self, text: &str) -> Result<usize, ModelError> {
        self.encode_raw(text).map(|ids| ids.len())
    }

    /// The id of a token given by its exact text, if the vocabulary has it.
    pub fn token_id(&self, text: &str) -> Option<u32> {
        self.inner.token_to_id(text)
    }

    /// The text of a token id.
    pub fn token_text(&self, id: u32) -> Option<String> {
        self.inner.id_to_token(id)
    }

    /// The end-of-sequence token id from the metadata.
    pub fn eos(&self) -> Option<u32> {
        self.eos
    }

    /// The beginning-of-sequence token id from the metadata.
    pub fn bos(&self) -> Option<u32> {
        self.bos
    }

    /// The text of the BOS token, for chat templates.
    pub fn bos_text(&self) -> String {
        self.bos
            .and_then(|b| self.token_text(b))
            .unwrap_or_default()
    }

    /// The text of the EOS token, for chat templates.
    pub fn eos_text(&self) -> String {
        self.eos
            .and_then(|e| self.token_text(e))
            .unwrap_or_default()
    }

    /// Removes the text of control tokens (e.g. `<|im_start|>`) from
    /// untrusted input, so an article cannot inject chat-structure tokens
    /// into a prompt.
    pub fn strip_control_texts(&self, text: &str) -> String {
        let mut out = text.to_string();
        for special in &self.control_texts {
            if out.contains(special.as_str()) {
                out = out.replace(special.as_str(), "");
            }
        }
        out
    }

    /// Size of the vocabulary including added tokens.
    pub fn vocab_size(&self) -> usize {
        self.inner.get_vocab_size(true)
    }
}

/// The split regexes llama.cpp applies, in order, for a pre-tokenizer name.
fn split_patterns(pre: &str) -> Result<Vec<&'static str>, ModelError> {
    Ok(match pre {
        "qwen2" | "stablelm2" | "hunyuan" => vec![QWEN2_SPLIT],
        "llama3" | "llama-v3" | "llama-bpe" | "falcon3" | "pixtral" | "dbrx" | "smaug-bpe" => {
            vec![LLAMA3_SPLIT]
        }
        "smollm" | "codeshell" | "exaone" | "minerva-7b" => vec![r"\p{N}", GPT2_SPLIT],
        "default" | "gpt2" | "gpt-2" | "mpt" | "olmo" | "jais" => vec![GPT2_SPLIT],
        other => {
            return Err(ModelError::Tokenizer(format!(
                "unsupported pre-tokenizer `{other}`; put the model's tokenizer.json next to the GGUF file"
            )))
        }
    })
}

fn build_bpe(
    md: &Metadata,
    tokens: &[String],
    types: Option<&[i64]>,
) -> Result<Tokenizer, ModelError> {
    let bad = |e: candle_core::Error| ModelError::Tokenizer(e.to_string());
    let model = md.string("tokenizer.ggml.model").map_err(bad)?;
    if model != "gpt2" {
        return Err(ModelError::Tokenizer(format!(
            "tokenizer model `{model}` is not supported (only byte-level BPE, `gpt2`); \
             put the model's tokenizer.json next to the GGUF file"
        )));
    }
    let pre = md
        .opt_string("tokenizer.ggml.pre")
        .map_err(bad)?
        .unwrap_or_else(|| "default".to_string());
    let merges = md
        .strings("tokenizer.ggml.merges")
        .map_err(bad)?
        .into_iter()
        .map(|m| match m.split_once(' ') {
            Some((a, b)) => Ok((a.to_string(), b.to_string())),
            None => Err(ModelError::Tokenizer(format!("malformed merge `{m}`"))),
        })
        .collect::<Result<Vec<_>, _>>()?;
    let vocab: tokenizers::models::bpe::Vocab = tokens
        .iter()
        .enumerate()
        .map(|(id, t)| (t.clone(), id as u32))
        .collect();
    let ignore_merges = matches!(pre.as_str(), "llama3" | "llama-v3" | "llama-bpe");
    let bpe = BPE::builder()
        .vocab_and_merges(vocab, merges)
        .ignore_merges(ignore_merges)
        .build()
        .map_err(|e| ModelError::Tokenizer(e.to_string()))?;
    let mut steps: Vec<PreTokenizerWrapper> = Vec::new();
    for pattern in split_patterns(&pre)? {
        let split = Split::new(
            SplitPattern::Regex(pattern.to_string()),
            SplitDelimiterBehavior::Isolated,
            false,
        )
        .map_err(|e| ModelError::Tokenizer(e.to_string()))?;
        steps.push(split.into());
    }
    steps.push(ByteLevel::new(false, false, false).into());
    let mut tokenizer = Tokenizer::new(bpe);
    tokenizer
        .with_pre_tokenizer(Some(Sequence::new(steps)))
        .with_decoder(Some(ByteLevelDecoder::default()));
    add_special_tokens(&mut tokenizer, tokens, types)?;
    Ok(tokenizer)
}

/// Registers control and user-defined tokens so their text is matched as a
/// whole instead of being split by BPE, like llama.cpp's special-token pass.
fn add_special_tokens(
    tokenizer: &mut Tokenizer,
    tokens: &[String],
    types: Option<&[i64]>,
) -> Result<(), ModelError> {
    let Some(types) = types else { return Ok(()) };
    let mut control = Vec::new();
    let mut user = Vec::new();
    for (text, &kind) in tokens.iter().zip(types) {
        match kind {
            TOKEN_TYPE_CONTROL => control.push(AddedToken::from(text.clone(), true)),
            TOKEN_TYPE_USER_DEFINED => user.push(AddedToken::from(text.clone(), false)),
            _ => {}
        }
    }
    let added = |e: tokenizers::Error| ModelError::Tokenizer(e.to_string());
    tokenizer.add_special_tokens(control).map_err(added)?;
    tokenizer.add_tokens(user).map_err(added)?;
    Ok(())
}

fn special_texts(tokens: &[String], types: Option<&[i64]>) -> Vec<String> {
    let Some(types) = types else {
        return Vec::new();
    };
    let mut seen = HashSet::new();
    tokens
        .iter()
        .zip(types)
        .filter(|(text, &kind)| kind == TOKEN_TYPE_CONTROL && !text.is_empty())
        .filter(|(text, _)| seen.insert(text.as_str()))
        .map(|(text, _)| text.clone())
        .collect()
}
