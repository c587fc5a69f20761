//! Loading a GGUF model: weights, tokenizer and chat template, once per
//! process, shared by every worker.

pub mod activations;
pub mod attention;
pub mod batcher;
pub mod config;
pub mod device;
pub mod gguf;
mod gguf_load;
pub mod kernels;
pub mod kv_cache;
mod layer;
pub mod prefix;
pub mod quant;
mod row_pass;
pub mod rows;
pub mod softmax;
pub mod template;
mod tensor_pass;
pub mod tokenizer;
pub mod transformer;

use std::fs::File;
use std::io::{BufReader, Cursor, Read, Seek};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use candle_core::Device;

pub use batcher::{BatchingStats, Decoder, StepBatcher};
pub use config::Config;
pub use device::{device_name, DeviceChoice, DeviceError, OpenedDevice, DEVICE_VAR};
pub use kernels::{CpuKernels, Isa, KernelsError, KERNELS_VAR};
pub use kv_cache::KvCache;
pub use prefix::PrefixCache;
pub use template::{ChatPart, ChatTemplate, Message, Role, TemplateSource};
pub use tokenizer::{PromptPiece, TextTokenizer};
pub use transformer::{SequenceStep, Transformer};

/// Threads per tensor operation: CANDLE_NUM_THREADS, else
/// RAYON_NUM_THREADS, else every logical core (kurz's `main` sets
/// CANDLE_NUM_THREADS at start, so the first normally decides). kurz's own
/// kernels use this many; Candle's remaining operations read the same
/// variable.
pub fn tensor_threads() -> usize {
    ["CANDLE_NUM_THREADS", "RAYON_NUM_THREADS"]
        .iter()
        .find_map(|var| {
            std::env::var(var)
                .ok()
                .and_then(|v| v.trim().parse::<usize>().ok())
                .filter(|&n| n > 0)
        })
        .unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
        })
}

/// Why a model could not be loaded or run.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// The model file does not exist.
    #[error("model file {} not found", .0.display())]
    NotFound(PathBuf),
    /// The file exists but cannot be read.
    #[error("cannot read model file {}: {source}", path.display())]
    Io {
        /// The model file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The file is not a GGUF file.
    #[error("{} is not a GGUF model file (it does not start with the GGUF magic bytes)", .0.display())]
    NotGguf(PathBuf),
    /// The GGUF file is malformed or its architecture is unsupported.
    #[error("cannot load model {}: {message}", path.display())]
    Invalid {
        /// The model file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The tokenizer cannot be built from the metadata.
    #[error("tokenizer: {0}")]
    Tokenizer(String),
    /// The chat template cannot be compiled or rendered.
    #[error("chat template: {0}")]
    Template(String),
    /// A tensor operation failed while running the model.
    #[error("inference failed: {0}")]
    Inference(#[from] candle_core::Error),
    /// Work stopped early: the run was interrupted or the input ran out of
    /// time.
    #[error("{0}")]
    Aborted(#[from] crate::stop::Abort),
    /// A prompt leaves no room for an answer; it is never sent.
    #[error(
        "the prompt has {tokens} tokens and does not fit the context of {context} tokens \
         with room for an answer"
    )]
    PromptTooLong {
        /// Tokens in the prompt.
        tokens: usize,
        /// The context it had to fit, in tokens.
        context: usize,
    },
}

/// Descriptive facts about a loaded model.
#[derive(Debug, Clone)]
pub struct ModelInfo {
    /// The GGUF file.
    pub path: PathBuf,
    /// The file's name, for manifests.
    pub file_name: String,
    /// `general.name`, when present.
    pub name: Option<String>,
    /// `general.architecture`.
    pub architecture: String,
    /// Size of the file in bytes.
    pub size_bytes: u64,
}

/// A model ready to generate: weights, tokenizer, chat template and the
/// tokens that end a turn.
#[derive(Debug)]
pub struct Model {
    info: ModelInfo,
    transformer: Transformer,
    tokenizer: TextTokenizer,
    template: ChatTemplate,
    stop_tokens: Vec<u32>,
    batcher: StepBatcher,
    prefixes: PrefixCache,
}

/// A rendered, tokenized chat (see [`Model::chat_prompt`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatPrompt {
    /// The prompt's token ids.
    pub tokens: Vec<u32>,
    /// How many leading tokens stay the same whatever the last user
    /// message says: the system message and the template's opening, shared
    /// by every article of a run.
    pub shared_prefix: usize,
}

/// Prompt tokens processed per forward pass, bounding the attention matrix.
/// Generation's prefill and the shared prompt openings both use it, so a
/// prompt is cut the same way wherever it runs.
pub const PREFILL_CHUNK: usize = 128;

/// Texts of tokens that end an assistant turn in common chat formats.
const END_OF_TURN_TEXTS: &[&str] = &[
    "<|im_end|>",
    "<|endoftext|>",
    "<|eot_id|>",
    "<|end_of_text|>",
    "<end_of_turn>",
    "<|end|>",
];

impl Model {
    /// Loads a GGUF model file onto `device`, with the best CPU kernels
    /// this CPU runs ([`Self::load_with_kernels`]).
    pub fn load(path: &Path, device: &Device) -> Result<Self, ModelError> {
        Self::load_with_kernels(path, device, CpuKernels::best())
    }

    /// Loads a GGUF model file onto `device`; on the CPU, kurz's kernels
    /// run the `cpu` path (the binary takes it from `KURZ_KERNELS`).
    ///
    /// On the CPU the file is memory-mapped and the quantized weights are
    /// used where they lie: loading reads only the metadata and the small
    /// tensors, and every process running the same model shares one copy in
    /// the page cache. Matrix products use [`tensor_threads`] threads.
    pub fn load_with_kernels(
        path: &Path,
        device: &Device,
        cpu: CpuKernels,
    ) -> Result<Self, ModelError> {
        let file = open_gguf(path)?;
        let size_bytes = file.metadata().map(|m| m.len()).unwrap_or(0);
        let threads = tensor_threads();
        if device.is_cpu() {
            // SAFETY: the map is read-only. Like llama.cpp, kurz assumes a
            // model file is not truncated while a model runs from it (model
            // files are replaced by rename, never rewritten in place).
            let map = unsafe { memmap2::Mmap::map(&file) }.map_err(|source| ModelError::Io {
                path: path.to_path_buf(),
                source,
            })?;
            let map = Arc::new(map);
            let mut reader = Cursor::new(&map[..]);
            let map = Some(map.clone());
            Self::from_reader(path, &mut reader, device, map, threads, cpu, size_bytes)
        } else {
            let mut reader = BufReader::new(file);
            Self::from_reader(path, &mut reader, device, None, threads, cpu, size_bytes)
        }
    }

    fn from_reader<R: Read + Seek>(
        path: &Path,
        reader: &mut R,
        device: &Device,
        map: Option<Arc<memmap2::Mmap>>,
        threads: usize,
        cpu: CpuKernels,
        size_bytes: u64,
    ) -> Result<Self, ModelError> {
        let invalid = |e: candle_core::Error| ModelError::Invalid {
            path: path.to_path_buf(),
            message: e.to_string(),
        };
        let content = gguf::read_content(reader).map_err(invalid)?;
        let md = gguf::Metadata::new(&content);
        // The tokenizer is built on a thread of its own while the weights
        // are prepared: both take a good part of the load time.
        let (tokenizer, transformer) = std::thread::scope(|scope| {
            let tokenizer = scope.spawn(|| TextTokenizer::from_gguf(&md, path.parent()));
            let transformer = Transformer::from_gguf(&content, reader, device, map, threads, cpu);
            let tokenizer = tokenizer
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            (tokenizer, transformer)
        });
        let tokenizer = tokenizer?;
        let transformer = transformer.map_err(invalid)?;
        let chat_template = md.opt_string("tokenizer.chat_template").map_err(invalid)?;
        let llama3_vocab = tokenizer.token_id("<|eot_id|>").is_some();
        let template = ChatTemplate::new(
            chat_template,
            llama3_vocab,
            tokenizer.bos_text(),
            tokenizer.eos_text(),
        )?;
        let stop_tokens = stop_tokens(&tokenizer);
        let info = ModelInfo {
            file_name: path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            path: path.to_path_buf(),
            name: md.opt_string("general.name").map_err(invalid)?,
            architecture: transformer.config().architecture.clone(),
            size_bytes,
        };
        Ok(Self {
            info,
            transformer,
            tokenizer,
            template,
            stop_tokens,
            batcher: StepBatcher::default(),
            prefixes: PrefixCache::default(),
        })
    }

    /// Facts about the model file.
    pub fn info(&self) -> &ModelInfo {
        &self.info
    }

    /// The network.
    pub fn transformer(&self) -> &Transformer {
        &self.transformer
    }

    /// Joins the workers generating with this model: while several generate
    /// at once, their forward passes are shared (see [`batcher`]). Hold the
    /// handle only while generating: the others wait for its next step.
    pub fn decoder(&self) -> Decoder<'_> {
        self.batcher.join(&self.transformer)
    }

    /// Keys and values of the prompt openings computed so far.
    pub fn prefixes(&self) -> &PrefixCache {
        &self.prefixes
    }

    /// How many forward passes ran, and how many sequence steps they held.
    pub fn batching_stats(&self) -> BatchingStats {
        self.batcher.stats()
    }

    /// The tokenizer.
    pub fn tokenizer(&self) -> &TextTokenizer {
        &self.tokenizer
    }

    /// The chat template.
    pub fn template(&self) -> &ChatTemplate {
        &self.template
    }

    /// Token ids that end generation.
    pub fn stop_tokens(&self) -> &[u32] {
        &self.stop_tokens
    }

    /// The context window the model was trained for, in tokens.
    pub fn context_length(&self) -> usize {
        self.transformer.config().context_length
    }

    /// Renders a chat with the model's template and tokenizes it: the
    /// template's own text with its control tokens, every message's content
    /// as plain text (see [`TextTokenizer::encode_text`]), so nothing a
    /// message says can become a control token.
    pub fn chat_tokens(&self, messages: &[Message]) -> Result<Vec<u32>, ModelError> {
        let parts = self.template.render_parts(messages)?;
        let pieces: Vec<PromptPiece<'_>> = parts
            .iter()
            .map(|part| match part {
                ChatPart::Markup(text) => PromptPiece::Markup(text),
                ChatPart::Text(text) => PromptPiece::Text(text),
            })
            .collect();
        self.tokenizer.encode_chat(&pieces)
    }

    /// [`Self::chat_tokens`], and how many of the tokens do not depend on
    /// the text of the last user message: those the same chat with that
    /// message emptied starts with too. The count depends on this chat
    /// alone (never on other prompts), so where a prompt is split for
    /// reuse is the same in every run.
    pub fn chat_prompt(&self, messages: &[Message]) -> Result<ChatPrompt, ModelError> {
        let tokens = self.chat_tokens(messages)?;
        let mut blank = messages.to_vec();
        let shared_prefix = match blank.iter_mut().rev().find(|m| m.role == Role::User) {
            Some(last) => {
                last.content.clear();
                let opening = self.chat_tokens(&blank)?;
                tokens
                    .iter()
                    .zip(&opening)
                    .take_while(|(a, b)| a == b)
                    .count()
            }
            None => 0,
        };
        Ok(ChatPrompt {
            tokens,
            shared_prefix,
        })
    }
}

fn open_gguf(path: &Path) -> Result<File, ModelError> {
    let mut file = File::open(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => ModelError::NotFound(path.to_path_buf()),
        _ => ModelError::Io {
            path: path.to_path_buf(),
            source: e,
        },
    })?;
    if file.metadata().map(|m| m.is_dir()).unwrap_or(false) {
        return Err(ModelError::NotGguf(path.to_path_buf()));
    }
    let mut magic = [0u8; 4];
    if file.read_exact(&mut magic).is_err() || &magic != b"GGUF" {
        return Err(ModelError::NotGguf(path.to_path_buf()));
    }
    // Reopen so the GGUF reader starts at offset 0.
    File::open(path).map_err(|e| ModelError::Io {
        path: path.to_path_buf(),
        source: e,
    })
}

fn stop_tokens(tokenizer: &TextTokenizer) -> Vec<u32> {
    let mut stops: Vec<u32> = tokenizer.eos().into_iter().collect();
    for text in END_OF_TURN_TEXTS {
        if let Some(id) = tokenizer.token_id(text) {
            if !stops.contains(&id) {
                stops.push(id);
            }
        }
    }
    stops
}

/// The device `--device auto` picks: the first GPU this build supports and
/// the machine has, otherwise the CPU.
pub fn default_device() -> Device {
    DeviceChoice::Auto
        .open()
        .map_or(Device::Cpu, |opened| opened.device)
}
