//! Hugging Face Hub source, via hf-hub's blocking (ureq) client.
//!
//! Files stay in the shared Hugging Face cache (`HF_HUB_CACHE`, else
//! `HF_HOME/hub`, else `$XDG_CACHE_HOME/huggingface/hub`, else
//! `~/.cache/huggingface/hub`), the same layout the Python tools use.
//!
//! Downloads are bounded: hf-hub copies the response body until the server
//! closes it, so kurz counts the bytes as they arrive and stops one read
//! past the expected size (the preset's, else the size the server
//! announced), removing the partial file.

use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};

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

/// Downloads `file` into the Hugging Face cache and returns its path there;
/// with `expected_size`, refuses a file the server announces with another
/// size and stops a download that runs past it.
pub(crate) fn download(
    file: HfFile<'_>,
    expected_size: Option<u64>,
    progress: &dyn PullProgress,
) -> Result<PathBuf, RegistryError> {
    let dir = hub_cache_dir()
        .ok_or_else(|| file.error("cannot locate the Hugging Face cache; set HF_HOME"))?;
    let endpoint = std::env::var("HF_ENDPOINT").ok();
    download_into(&dir, endpoint, file, expected_size, progress)
}

/// [`download`] into the hub cache `dir`, from `endpoint` when given.
fn download_into(
    dir: &Path,
    endpoint: Option<String>,
    file: HfFile<'_>,
    expected_size: Option<u64>,
    progress: &dyn PullProgress,
) -> Result<PathBuf, RegistryError> {
    let mut builder = ApiBuilder::from_cache(Cache::new(dir.to_path_buf())).with_progress(false);
    if let Some(endpoint) = endpoint {
        builder = builder.with_endpoint(endpoint);
    }
    if let Some(token) = std::env::var("HF_TOKEN").ok().filter(|t| !t.is_empty()) {
        builder = builder.with_token(Some(token));
    }
    let api = builder.build().map_err(|e| file.error(e.to_string()))?;
    let watcher = HubProgress {
        progress,
        expected: expected_size,
        limit: expected_size,
        seen: 0,
    };
    let outcome = panic::catch_unwind(AssertUnwindSafe(|| {
        api.repo(file.hub_repo())
            .download_with_progress(file.file, watcher)
    }));
    match outcome {
        Ok(done) => done.map_err(|e| file.error(e.to_string())),
        Err(payload) => match payload.downcast::<Oversize>() {
            Ok(oversize) => {
                progress.finish();
                remove_partials(&dir.join(file.hub_repo().folder_name()).join("blobs"));
                Err(file.error(oversize.to_string()))
            }
            Err(other) => panic::resume_unwind(other),
        },
    }
}

/// Removes hf-hub's partial downloads (`blobs/*.part`) of one repository
/// after a download was stopped; hf-hub would otherwise resume from them.
fn remove_partials(blobs: &Path) {
    let Ok(entries) = std::fs::read_dir(blobs) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().is_some_and(|e| e == "part") {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// Why a download was stopped: raised inside hf-hub's copy loop with
/// [`panic::resume_unwind`] (which runs no panic hook) and caught in
/// [`download_into`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
enum Oversize {
    /// The server announced a size other than the expected one.
    #[error("the server announces {announced} bytes, expected {expected}; nothing was downloaded")]
    Announced {
        /// The announced size.
        announced: u64,
        /// The expected size.
        expected: u64,
    },
    /// More bytes arrived than the limit.
    #[error("the download ran past the expected {limit} bytes; stopped after {seen}")]
    Streamed {
        /// The expected (or announced) size.
        limit: u64,
        /// Bytes received when it stopped.
        seen: u64,
    },
}

/// Adapts [`PullProgress`] to hf-hub's progress trait, and stops the
/// download once it runs past `limit`.
struct HubProgress<'a> {
    progress: &'a dyn PullProgress,
    /// The preset's size, when known.
    expected: Option<u64>,
    /// The most bytes accepted: `expected`, else the announced size.
    limit: Option<u64>,
    /// Bytes received so far (including a resumed part).
    seen: u64,
}

impl hf_hub::api::Progress for HubProgress<'_> {
    fn init(&mut self, size: usize, filename: &str) {
        let announced = size as u64;
        if let Some(expected) = self.expected.filter(|&e| e != announced) {
            panic::resume_unwind(Box::new(Oversize::Announced {
                announced,
                expected,
            }));
        }
        self.limit = Some(self.expected.unwrap_or(announced));
        self.seen = 0;
        self.progress
            .start(&format!("downloading {filename}"), Some(announced));
    }

    fn update(&mut self, size: usize) {
        self.seen = self.seen.saturating_add(size as u64);
        if let Some(limit) = self.limit.filter(|&l| self.seen > l) {
            panic::resume_unwind(Box::new(Oversize::Streamed {
                limit,
                seen: self.seen,
            }));
        }
        self.progress.advance(size as u64);
    }

    fn finish(&mut self) {
        self.progress.finish();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::NoProgress;
    use std::io::{BufRead, BufReader, Write};
    use std::net::{TcpListener, TcpStream};

    /// Answers hf-hub's two requests: the metadata probe (`Range:
    /// bytes=0-0`, answered with `announced` as the size) and the download,
    /// whose body is `body_len` bytes without a length, ended by closing the
    /// connection (or cut short when the client goes away).
    fn serve(announced: u64, body_len: u64) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let address = listener.local_addr().expect("address");
        std::thread::spawn(move || {
            for stream in listener.incoming().take(2) {
                let Ok(stream) = stream else { return };
                answer(stream, announced, body_len);
            }
        });
        format!("http://{address}")
    }

    fn answer(mut stream: TcpStream, announced: u64, body_len: u64) {
        let mut reader = BufReader::new(stream.try_clone().expect("clone"));
        let mut probe = false;
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                break;
            }
            probe |= line.to_ascii_lowercase().starts_with("range: bytes=0-0");
        }
        if probe {
            let head = format!(
                "HTTP/1.1 206 Partial Content\r\nx-repo-commit: 0123abcd\r\netag: \"e1\"\r\n\
                 content-range: bytes 0-0/{announced}\r\ncontent-length: 1\r\nconnection: close\r\n\r\nG"
            );
            let _ = stream.write_all(head.as_bytes());
            return;
        }
        let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nconnection: close\r\n\r\n");
        let chunk = vec![b'x'; 64 * 1024];
        let mut sent = 0;
        while sent < body_len {
            if stream.write_all(&chunk).is_err() {
                return;
            }
            sent += chunk.len() as u64;
        }
    }

    fn file() -> HfFile<'static> {
        HfFile {
            repo: "o/r",
            file: "m.gguf",
            revision: "main",
        }
    }

    #[test]
    fn an_endless_download_stops_at_the_expected_size() {
        let dir = tempfile::tempdir().expect("tempdir");
        let endpoint = serve(100_000, 1 << 30);
        let err = download_into(
            dir.path(),
            Some(endpoint),
            file(),
            Some(100_000),
            &NoProgress,
        )
        .expect_err("too large");
        let text = err.to_string();
        assert!(
            text.contains("ran past the expected 100000 bytes"),
            "{text}"
        );
        let blobs = dir.path().join("models--o--r").join("blobs");
        let left: Vec<_> = std::fs::read_dir(&blobs)
            .map(|d| d.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        assert!(
            left.iter()
                .all(|p| p.extension().is_none_or(|e| e != "part")),
            "{left:?}"
        );
    }

    #[test]
    fn without_a_preset_size_the_announced_size_bounds_the_download() {
        let dir = tempfile::tempdir().expect("tempdir");
        let endpoint = serve(5_000, 1 << 30);
        let err = download_into(dir.path(), Some(endpoint), file(), None, &NoProgress)
            .expect_err("too large");
        assert!(err.to_string().contains("expected 5000 bytes"), "{err}");
    }

    #[test]
    fn a_wrongly_announced_size_downloads_nothing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let endpoint = serve(1 << 40, 1 << 30);
        let err = download_into(dir.path(), Some(endpoint), file(), Some(1000), &NoProgress)
            .expect_err("wrong size");
        assert!(
            err.to_string()
                .contains("announces 1099511627776 bytes, expected 1000"),
            "{err}"
        );
    }

    #[test]
    fn a_download_of_the_expected_size_completes() {
        let dir = tempfile::tempdir().expect("tempdir");
        let endpoint = serve(65_536, 65_536);
        let path = download_into(
            dir.path(),
            Some(endpoint),
            file(),
            Some(65_536),
            &NoProgress,
        )
        .expect("downloaded");
        assert_eq!(std::fs::metadata(path).expect("stat").len(), 65_536);
    }

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
