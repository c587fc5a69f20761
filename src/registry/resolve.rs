//! Turning a `--model` argument into a local GGUF file.

use std::fs::{self, File};
use std::io::Read;
use std::path::{Path, PathBuf};

use super::{CacheStatus, ModelCache, Preset, PullOptions, PullProgress, Registry, RegistryError};
use crate::output::manifest::Sha256From;

/// The first four bytes of every GGUF file.
const GGUF_MAGIC: &[u8; 4] = b"GGUF";

/// A model file ready to load.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedModel {
    /// The GGUF file.
    pub path: PathBuf,
    /// The preset id, when the model came from a preset.
    pub preset: Option<String>,
    /// The file's sha256 when already known (hashed while resolving, or
    /// from the verified record), so callers need not hash it again.
    pub sha256: Option<String>,
    /// Where `sha256` came from (`None` exactly when `sha256` is).
    pub sha256_from: Option<Sha256From>,
}

/// Resolves a `--model` argument:
///
/// * `None`: the default preset;
/// * an existing file: that file (it must end in `.gguf` or start with the
///   GGUF magic bytes);
/// * an existing directory: the single `.gguf` file inside it;
/// * a preset id: the verified cached file, pulled first when missing
///   (refused with [`RegistryError::OfflineMissing`] when offline); with
///   `opts.verify` a cached file is hashed again whatever its record says;
/// * anything else: [`RegistryError::UnknownModel`].
pub fn resolve_model(
    arg: Option<&str>,
    registry: &Registry,
    cache: &ModelCache,
    opts: &PullOptions,
    progress: &dyn PullProgress,
) -> Result<ResolvedModel, RegistryError> {
    let Some(arg) = arg else {
        return resolve_preset(registry.default_preset(), cache, opts, progress);
    };
    let path = Path::new(arg);
    if path.is_file() {
        return resolve_file(path);
    }
    if path.is_dir() {
        return resolve_file(&single_gguf_in(path)?);
    }
    match registry.get(arg) {
        Some(preset) => resolve_preset(preset, cache, opts, progress),
        None => Err(RegistryError::UnknownModel {
            arg: arg.to_string(),
            known: registry.ids(),
        }),
    }
}

fn resolve_file(path: &Path) -> Result<ResolvedModel, RegistryError> {
    if !has_gguf_extension(path) && !starts_with_gguf_magic(path)? {
        return Err(RegistryError::NotGguf {
            path: path.to_path_buf(),
        });
    }
    Ok(ResolvedModel {
        path: path.to_path_buf(),
        preset: None,
        sha256: None,
        sha256_from: None,
    })
}

fn has_gguf_extension(path: &Path) -> bool {
    path.extension()
        .is_some_and(|ext| ext.eq_ignore_ascii_case("gguf"))
}

fn starts_with_gguf_magic(path: &Path) -> Result<bool, RegistryError> {
    let mut file = File::open(path).map_err(RegistryError::io(format!(
        "could not open {}",
        path.display()
    )))?;
    let mut magic = [0u8; 4];
    match file.read_exact(&mut magic) {
        Ok(()) => Ok(&magic == GGUF_MAGIC),
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Ok(false),
        Err(e) => Err(RegistryError::io(format!(
            "could not read {}",
            path.display()
        ))(e)),
    }
}

/// The only `.gguf` file directly inside `dir`.
fn single_gguf_in(dir: &Path) -> Result<PathBuf, RegistryError> {
    let entries = fs::read_dir(dir).map_err(RegistryError::io(format!(
        "could not list {}",
        dir.display()
    )))?;
    let mut found: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file() && has_gguf_extension(p))
        .collect();
    found.sort();
    match found.len() {
        1 => Ok(found.remove(0)),
        0 => Err(RegistryError::NoGgufInDir {
            dir: dir.to_path_buf(),
        }),
        _ => Err(RegistryError::AmbiguousDir {
            dir: dir.to_path_buf(),
            files: found,
        }),
    }
}

fn resolve_preset(
    preset: &Preset,
    cache: &ModelCache,
    opts: &PullOptions,
    progress: &dyn PullProgress,
) -> Result<ResolvedModel, RegistryError> {
    let verified = match cache.status(preset) {
        CacheStatus::Cached { .. } | CacheStatus::Unverified { .. } if opts.verify => {
            cache.verify_now(preset, progress)?
        }
        CacheStatus::Cached { .. } | CacheStatus::Unverified { .. } => {
            cache.ensure_verified_sha(preset, progress)?
        }
        CacheStatus::Missing if opts.is_offline() => {
            return Err(RegistryError::OfflineMissing {
                id: preset.id.clone(),
            })
        }
        CacheStatus::Missing => cache.pull_sha(preset, opts, progress)?,
    };
    Ok(ResolvedModel {
        path: verified.path,
        preset: Some(preset.id.clone()),
        sha256: Some(verified.sha256),
        sha256_from: Some(verified.sha256_from),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::cache::tests::path_preset;
    use crate::registry::NoProgress;

    fn offline() -> PullOptions {
        PullOptions {
            offline: true,
            ..PullOptions::default()
        }
    }

    struct Fixture {
        dir: tempfile::TempDir,
        registry: Registry,
        cache: ModelCache,
    }

    fn fixture() -> Fixture {
        let dir = tempfile::tempdir().expect("tempdir");
        let source = dir.path().join("source.bin");
        fs::write(&source, b"GGUF preset data").expect("write");
        let preset = path_preset("tiny", &source, b"GGUF preset data", true);
        let registry = Registry {
            presets: vec![preset],
        };
        let cache = ModelCache::new(dir.path().join("cache"));
        Fixture {
            dir,
            registry,
            cache,
        }
    }

    fn resolve(f: &Fixture, arg: Option<&str>) -> Result<ResolvedModel, RegistryError> {
        resolve_model(arg, &f.registry, &f.cache, &offline(), &NoProgress)
    }

    #[test]
    fn existing_gguf_file_is_used_as_is() {
        let f = fixture();
        let file = f.dir.path().join("model.GGUF");
        fs::write(&file, b"not even magic").expect("write");
        let arg = file.to_string_lossy().into_owned();
        let got = resolve(&f, Some(&arg)).expect("resolves");
        assert_eq!(got.path, file);
        assert_eq!((got.preset, got.sha256), (None, None));
    }

    #[test]
    fn file_without_extension_needs_the_magic() {
        let f = fixture();
        let magic = f.dir.path().join("weights.bin");
        fs::write(&magic, b"GGUF\x03\x00").expect("write");
        let arg = magic.to_string_lossy().into_owned();
        assert_eq!(resolve(&f, Some(&arg)).expect("magic ok").path, magic);

        let text = f.dir.path().join("notes.txt");
        fs::write(&text, b"hi").expect("write");
        let arg = text.to_string_lossy().into_owned();
        let err = resolve(&f, Some(&arg)).expect_err("not gguf");
        assert!(matches!(err, RegistryError::NotGguf { .. }), "{err:?}");
    }

    #[test]
    fn directory_with_one_zero_or_two_ggufs() {
        let f = fixture();
        let models = f.dir.path().join("models");
        fs::create_dir(&models).expect("mkdir");
        let arg = models.to_string_lossy().into_owned();

        let err = resolve(&f, Some(&arg)).expect_err("empty dir");
        assert!(matches!(err, RegistryError::NoGgufInDir { .. }), "{err:?}");

        fs::write(models.join("a.gguf"), b"GGUF").expect("write");
        fs::write(models.join("readme.md"), b"x").expect("write");
        assert_eq!(
            resolve(&f, Some(&arg)).expect("one gguf").path,
            models.join("a.gguf")
        );

        fs::write(models.join("b.gguf"), b"GGUF").expect("write");
        let text = resolve(&f, Some(&arg)).expect_err("two ggufs").to_string();
        assert!(text.contains("a.gguf") && text.contains("b.gguf"), "{text}");
    }

    #[test]
    fn cached_preset_id_resolves_to_the_verified_file() {
        let f = fixture();
        let preset = f.registry.get("tiny").expect("preset");
        let pulled = f.cache.pull(preset, &offline(), &NoProgress).expect("pull");
        let got = resolve(&f, Some("tiny")).expect("resolves");
        assert_eq!(got.path, pulled);
        assert_eq!(got.preset.as_deref(), Some("tiny"));
        assert_eq!(got.sha256, preset.sha256);
        assert_eq!(resolve(&f, None).expect("default").path, pulled);
    }

    #[test]
    fn verify_option_hashes_a_file_its_record_vouches_for() {
        let f = fixture();
        let preset = f.registry.get("tiny").expect("preset");
        f.cache.pull(preset, &offline(), &NoProgress).expect("pull");
        let trusted = resolve(&f, Some("tiny")).expect("resolves");
        assert_eq!(trusted.sha256_from, Some(Sha256From::CacheRecord));
        let verify = PullOptions {
            verify: true,
            ..offline()
        };
        let checked = resolve_model(Some("tiny"), &f.registry, &f.cache, &verify, &NoProgress)
            .expect("verified");
        assert_eq!(checked.sha256_from, Some(Sha256From::Computed));
        assert_eq!(checked.sha256, trusted.sha256);
        let file = f.dir.path().join("model.gguf");
        fs::write(&file, b"GGUF").expect("write");
        let arg = file.to_string_lossy().into_owned();
        let plain = resolve_model(Some(&arg), &f.registry, &f.cache, &verify, &NoProgress)
            .expect("a plain file");
        assert_eq!((plain.sha256, plain.sha256_from), (None, None));
    }

    #[test]
    fn missing_preset_is_pulled_when_online() {
        let f = fixture();
        let online = PullOptions::default();
        if online.is_offline() {
            return; // offline forced by the environment
        }
        let got = resolve_model(Some("tiny"), &f.registry, &f.cache, &online, &NoProgress)
            .expect("pulled");
        assert_eq!(fs::read(got.path).expect("read"), b"GGUF preset data");
    }

    #[test]
    fn offline_missing_names_the_pull_command() {
        let f = fixture();
        let err = resolve(&f, Some("tiny")).expect_err("offline and not cached");
        assert!(
            matches!(err, RegistryError::OfflineMissing { .. }),
            "{err:?}"
        );
        assert!(err.to_string().contains("kurz models pull tiny"), "{err}");
    }

    #[test]
    fn unknown_id_lists_presets_and_mentions_paths() {
        let f = fixture();
        let err = resolve(&f, Some("no-such-model")).expect_err("unknown");
        let text = err.to_string();
        assert!(text.contains("`no-such-model`"), "{text}");
        assert!(text.contains("known presets: tiny"), "{text}");
        assert!(text.contains("no file or directory exists"), "{text}");
    }
}
