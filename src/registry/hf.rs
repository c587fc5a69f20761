//! Hugging Face Hub source, via hf-hub's blocking (ureq) client.
//!
//! Files stay in the shared Hugging Face cache (`HF_HUB_CACHE`, else
//! `HF_HOME/hub`, else `$XDG_CACHE_HOME/huggingface/hub`, else
//! `~/.cache/huggingface/hub`), the same layout the Python tools use.

use std::path::PathBuf;

use hf_hub::api::sync::ApiBuilder;
use hf_hub::{Cache, Repo, RepoType};

use super::{PullProgress, RegistryError};

/// A file in a Hugging Face model repository.
#[derive(Debug, Clone, Copy)]
pub(crate) struct HfFile<'a> {
    /// Repository id.
    pub repo: &'a str,
    /// File name inside the repository.
    pub file: &'a str,
    /// Branch, tag or commit.
    pub revision: &'a str,
}

impl HfFile<'_> {
    fn hub_repo(&self) -> Repo {
        Repo::with_revision(
            self.repo.to_string(),
            RepoType::Model,
            self.revision.to_string(),
        )
    }

    fn error(&self, message: impl Into<String>) -> RegistryError {
        RegistryError::Hf {
            repo: self.repo.to_string(),
            file: self.file.to_string(),
            revision: self.revision.to_string(),
            message: message.into(),
        }
    }
}

fn env_path(name: &str) -> Option<PathBuf> {
    std::env::var_os(name)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

/// The Hugging Face hub cache directory, honouring `HF_HUB_CACHE` and
/// `HF_HOME`; `None` when no home directory can be determined.
pub(crate) fn hub_cache_dir() -> Option<PathBuf> {
    if let Some(dir) = env_path("HF_HUB_CACHE") {
        return Some(dir);
    }
    if let Some(home) = env_path("HF_HOME") {
        return Some(home.join("hub"));
    }
    let base = env_path("XDG_CACHE_HOME").or_else(|| dirs::home_dir().map(|h| h.join(".cache")))?;
    Some(base.join("huggingface").join("hub"))
}

/// The path of `file` in the Hugging Face cache, if it is there.
pub(crate) fn cached_file(file: HfFile<'_>) -> Option<PathBuf> {
    let cache = Cache::new(hub_cache_dir()?);
    cache.repo(file.hub_repo()).get(file.file)
}

/// Downloads `file` into the Hugging Face cache and returns its path there.
pub(crate) fn download(
    file: HfFile<'_>,
    progress: &dyn PullProgress,
) -> Result<PathBuf, RegistryError> {
    let dir = hub_cache_dir()
        .ok_or_else(|| file.error("cannot locate the Hugging Face cache; set HF_HOME"))?;
    let mut builder = ApiBuilder::from_cache(Cache::new(dir)).with_progress(false);
    if let Ok(endpoint) = std::env::var("HF_ENDPOINT") {
        builder = builder.with_endpoint(endpoint);
    }
    if let Some(token) = std::env::var("HF_TOKEN").ok().filter(|t| !t.is_empty()) {
        builder = builder.with_token(Some(token));
    }
    let api = builder.build().map_err(|e| file.error(e.to_string()))?;
    api.repo(file.hub_repo())
        .download_with_progress(file.file, HubProgress { progress })
        .map_err(|e| file.error(e.to_string()))
}

/// Adapts [`PullProgress`] to hf-hub's progress trait.
struct HubProgress<'a> {
    progress: &'a dyn PullProgress,
}

impl hf_hub::api::Progress for HubProgress<'_> {
    fn init(&mut self, size: usize, filename: &str) {
        self.progress
            .start(&format!("downloading {filename}"), Some(size as u64));
    }

    fn update(&mut self, size: usize) {
        self.progress.advance(size as u64);
    }

    fn finish(&mut self) {
        self.progress.finish();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cached_file_finds_a_file_in_the_hub_layout() {
        let dir = tempfile::tempdir().expect("tempdir");
        let repo_dir = dir.path().join("models--o--r");
        let snap = repo_dir.join("snapshots").join("abc123");
        std::fs::create_dir_all(&snap).expect("mkdir");
        std::fs::create_dir_all(repo_dir.join("refs")).expect("mkdir");
        std::fs::write(repo_dir.join("refs").join("main"), "abc123").expect("ref");
        std::fs::write(snap.join("m.gguf"), b"GGUF").expect("file");
        let cache = Cache::new(dir.path().to_path_buf());
        let file = HfFile {
            repo: "o/r",
            file: "m.gguf",
            revision: "main",
        };
        assert_eq!(
            cache.repo(file.hub_repo()).get("m.gguf"),
            Some(snap.join("m.gguf"))
        );
        assert_eq!(cache.repo(file.hub_repo()).get("other.gguf"), None);
    }
}
