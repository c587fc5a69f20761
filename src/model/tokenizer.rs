//! The model's tokenizer, rebuilt from GGUF metadata so that token ids match
//! llama.cpp's for the same text.
//!
//! GGUF files carry the vocabulary (`tokenizer.ggml.tokens`), the BPE merges,
//! the token types and the name of the pre-tokenizer (`tokenizer.ggml.pre`).
//! The pre-tokenizer name selects the split regexes llama.cpp uses; the rest
//! is byte-level BPE as in GPT-2. A `tokenizer.json` next to the model file
//! overrides all of this.

use std::collections::BTreeMap;
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

/// Longest run of non-whitespace (or of whitespace) bytes that untrusted
/// text hands to the pre-tokenizer and BPE in one piece; longer runs are cut
/// at a character boundary and their pieces tokenized one after another.
/// Ordinary words are far shorter, so their ids do not change; a 30 KB
/// "word" (base64, a minified script) no longer costs minutes.
pub const MAX_RUN_BYTES: usize = 256;

/// A text tokenizer plus the special tokens generation needs.
///
/// It holds two tokenizers over the same vocabulary: one that matches the
/// text of control and added tokens (for kurz's own chat-template text) and
/// one that never does (for everything else: article text, titles, file
/// names), so no input can produce a control token.
#[derive(Clone)]
pub struct TextTokenizer {
    inner: Tokenizer,
    plain: Tokenizer,
    bos: Option<u32>,
    add_bos: bool,
    eos: Option<u32>,
    special: BTreeMap<u32, String>,
}

/// One piece of a rendered chat prompt (see [`TextTokenizer::encode_chat`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PromptPiece<'a> {
    /// Text of the chat template itself: control tokens written in it
    /// (`<|im_start|>`) become control tokens.
    Markup(&'a str),
    /// A message's content: tokenized as plain text, whatever it contains.
    Text(&'a str),
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
        let special = special_tokens(&inner, &tokens, types.as_deref());
        let plain = plain_tokenizer(&inner)?;
        Ok(Self {
            inner,
            plain,
            bos: bos.map(|b| b as u32),
            add_bos,
            eos: eos.map(|e| e as u32),
            special,
        })
    }

    /// Reads only the metadata of a GGUF file and builds its tokenizer
    /// (no weights are loaded).
    pub fn from_gguf_file(path: &Path) -> Result<Self, ModelError> {
        let mut file = std::fs::File::open(path).map_err(|e| ModelError::Io {
            path: path.to_path_buf(),
            source: e,
        })?;
        let content = super::gguf::read_content(&mut file).map_err(|e| ModelError::Invalid {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        Self::from_gguf(&Metadata::new(&content), path.parent())
    }

    /// Tokenizes a rendered chat: [`PromptPiece::Markup`] with control
    /// tokens matched, [`PromptPiece::Text`] as plain text (see
    /// [`Self::encode_text`]). Adds the BOS token when the model asks for it
    /// and the prompt does not already start with it.
    pub fn encode_chat(&self, pieces: &[PromptPiece<'_>]) -> Result<Vec<u32>, ModelError> {
        let mut ids = Vec::new();
        for piece in pieces {
            match piece {
                PromptPiece::Markup(text) => ids.extend(self.encode_raw(text)?),
                PromptPiece::Text(text) => ids.extend(self.encode_text(text)?),
            }
        }
        if let (true, Some(bos)) = (self.add_bos, self.bos) {
            if ids.first() != Some(&bos) {
                ids.insert(0, bos);
            }
        }
        Ok(ids)
    }

    /// Tokenizes trusted text (a chat template's own text), matching the
    /// text of control and added tokens written in it, as llama.cpp does
    /// with `parse_special`. Never use it for input: see
    /// [`Self::encode_text`].
    pub fn encode_raw(&self, text: &str) -> Result<Vec<u32>, ModelError> {
        encode_with(&self.inner, text)
    }

    /// Tokenizes untrusted text (article text, titles, file names): the text
    /// of a control or added token written in it (`<|im_end|>`) is spelled
    /// out in ordinary tokens, so the result never holds a token for which
    /// [`Self::is_special`] is true. Runs longer than [`MAX_RUN_BYTES`] are
    /// tokenized piece by piece, which bounds the tokenizer's time and
    /// memory on any input.
    pub fn encode_text(&self, text: &str) -> Result<Vec<u32>, ModelError> {
        let mut ids = Vec::new();
        for piece in bounded_pieces(text, MAX_RUN_BYTES) {
            ids.extend(encode_with(&self.plain, piece)?);
        }
        Ok(ids)
    }

    /// Whether `id` is a control or added token (`<|im_start|>`, `<|endoftext|>`,
    /// user-defined tokens): one that [`Self::encode_text`] never produces.
    pub fn is_special(&self, id: u32) -> bool {
        self.special.contains_key(&id)
    }

    /// Every control and added token, by id, with its text.
    pub fn special_tokens(&self) -> &BTreeMap<u32, String> {
        &self.special
    }

    /// Turns token ids back into text, leaving out special tokens.
    pub fn decode(&self, ids: &[u32]) -> Result<String, ModelError> {
        self.inner
            .decode(ids, true)
            .map_err(|e| ModelError::Tokenizer(e.to_string()))
    }

    /// Number of tokens of untrusted `text` (as [`Self::encode_text`]
    /// gives them; without BOS).
    pub fn count(&self, text: &str) -> Result<usize, ModelError> {
        self.encode_text(text).map(|ids| ids.len())
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

/// Control tokens (GGUF type 3) and every added token of the tokenizer.
fn special_tokens(
    tokenizer: &Tokenizer,
    tokens: &[String],
    types: Option<&[i64]>,
) -> BTreeMap<u32, String> {
    let mut special: BTreeMap<u32, String> = tokenizer
        .get_added_tokens_decoder()
        .into_iter()
        .map(|(id, token)| (id, token.content))
        .collect();
    if let Some(types) = types {
        for (id, (text, &kind)) in tokens.iter().zip(types).enumerate() {
            if kind == TOKEN_TYPE_CONTROL || kind == TOKEN_TYPE_USER_DEFINED {
                special.entry(id as u32).or_insert_with(|| text.clone());
            }
        }
    }
    special
}

/// A copy of `tokenizer` that matches no added token in text: every added
/// token is registered as special and special tokens are encoded as text.
fn plain_tokenizer(tokenizer: &Tokenizer) -> Result<Tokenizer, ModelError> {
    let mut plain = tokenizer.clone();
    let mut added: Vec<(u32, AddedToken)> =
        tokenizer.get_added_tokens_decoder().into_iter().collect();
    added.sort_by_key(|(id, _)| *id);
    let as_special = added.into_iter().map(|(_, mut token)| {
        token.special = true;
        token
    });
    plain
        .add_special_tokens(as_special.collect::<Vec<_>>())
        .map_err(|e| ModelError::Tokenizer(e.to_string()))?;
    plain.set_encode_special_tokens(true);
    Ok(plain)
}

fn encode_with(tokenizer: &Tokenizer, text: &str) -> Result<Vec<u32>, ModelError> {
    tokenizer
        .encode(text, false)
        .map(|e| e.get_ids().to_vec())
        .map_err(|e| ModelError::Tokenizer(e.to_string()))
}

/// Splits `text` so that no piece holds a run of non-whitespace or of
/// whitespace characters longer than `max_run` bytes (a longer run is cut
/// at the last character boundary within the limit). Text without such
/// runs is one piece. Pieces are never empty and join to `text`.
pub fn bounded_pieces(text: &str, max_run: usize) -> Vec<&str> {
    let max_run = max_run.max(4);
    let mut pieces = Vec::new();
    let mut piece_start = 0;
    let mut run_start = 0;
    let mut run_space = None;
    for (pos, c) in text.char_indices() {
        let space = c.is_whitespace();
        if run_space != Some(space) {
            run_space = Some(space);
            run_start = pos;
        }
        if pos + c.len_utf8() - run_start > max_run {
            // `c` would make the run too long: cut before it.
            if pos > piece_start {
                pieces.push(&text[piece_start..pos]);
            }
            piece_start = pos;
            run_start = pos;
        }
    }
    if piece_start < text.len() {
        pieces.push(&text[piece_start..]);
    }
    pieces
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_text_is_one_piece() {
        let text = "Der Pegel stieg am 12. März auf 7,20 Meter.\n\nhttps://example.org/a/b";
        assert_eq!(bounded_pieces(text, MAX_RUN_BYTES), vec![text]);
        assert!(bounded_pieces("", MAX_RUN_BYTES).is_empty());
    }

    #[test]
    fn long_runs_are_cut_at_char_boundaries() {
        for text in [
            "A".repeat(1000),
            " ".repeat(1000),
            format!("x {} y", "ü€😀".repeat(300)),
            "e\u{301}".repeat(400),
        ] {
            let pieces = bounded_pieces(&text, 16);
            assert_eq!(pieces.concat(), text);
            for piece in &pieces {
                assert!(!piece.is_empty());
                let mut run = 0;
                let mut last = None;
                for c in piece.chars() {
                    if last != Some(c.is_whitespace()) {
                        run = 0;
                        last = Some(c.is_whitespace());
                    }
                    run += c.len_utf8();
                    assert!(run <= 16, "{piece:?}");
                }
            }
        }
    }
}
