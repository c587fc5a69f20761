//! `kurz models`: list, pull, verify, locate and remove model files.

use std::process::ExitCode;

use anyhow::{bail, Context, Result};

use super::EXIT_SOME_FAILED;
use crate::cli::{CacheArgs, ModelsCommand};
use crate::outln;
use kurz::progress::{escape_for_terminal as esc, print_stderr, TransferProgress};
use kurz::registry::{CacheStatus, ModelCache, PullOptions, Registry, VerifyOutcome};

pub fn models(cmd: ModelsCommand) -> Result<ExitCode> {
    let registry = Registry::builtin()?;
    match cmd {
        ModelsCommand::List(cache) => models_list(&registry, &cache),
        ModelsCommand::Pull { ids, force, cache } => models_pull(&registry, &ids, force, &cache),
        ModelsCommand::Verify { ids, cache } => models_verify(&registry, &ids, &cache),
        ModelsCommand::Path { id, cache } => {
            let preset = preset(&registry, &id)?;
            let store = ModelCache::from_env(cache.cache_dir.as_deref());
            match store.status(preset) {
                // Raw, for scripts (`$(kurz models path <id>)`).
                CacheStatus::Cached { path } | CacheStatus::Unverified { path } => {
                    outln!("{}", path.display())?;
                    Ok(ExitCode::SUCCESS)
                }
                CacheStatus::Missing => {
                    bail!("{id} is not cached; fetch it with `kurz models pull {id}`")
                }
            }
        }
        ModelsCommand::Rm { id, cache } => {
            let preset = preset(&registry, &id)?;
            let store = ModelCache::from_env(cache.cache_dir.as_deref());
            if store.remove(preset)? {
                print_stderr(&format!("kurz: removed {id}"));
            } else {
                print_stderr(&format!("kurz: {id} was not cached"));
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn preset<'r>(registry: &'r Registry, id: &str) -> Result<&'r kurz::registry::Preset> {
    registry.get(id).with_context(|| {
        format!(
            "unknown model preset `{id}`; known presets: {}",
            registry.ids().join(", ")
        )
    })
}

fn models_list(registry: &Registry, cache: &CacheArgs) -> Result<ExitCode> {
    let store = ModelCache::from_env(cache.cache_dir.as_deref());
    outln!(
        "{:<22} {:>9}  {:<7} {:<10} {:<8} RECOMMENDED FOR",
        "ID",
        "SIZE",
        "ARCH",
        "QUANT",
        "CACHED"
    )?;
    for p in &registry.presets {
        let (cached, path) = match store.status(p) {
            CacheStatus::Cached { path } => ("yes", Some(path)),
            CacheStatus::Unverified { path } => ("unverif.", Some(path)),
            CacheStatus::Missing => ("no", None),
        };
        let size = p
            .size
            .map(|s| format!("{:.2} GB", s as f64 / 1e9))
            .unwrap_or_else(|| "?".into());
        let default = if p.default { " (default)" } else { "" };
        outln!(
            "{:<22} {:>9}  {:<7} {:<10} {:<8} {}{default}",
            p.id,
            size,
            p.architecture,
            p.quantization,
            cached,
            p.recommended
        )?;
        if let Some(path) = path {
            outln!("{:<22} {}", "", esc(&path.display().to_string()))?;
        }
    }
    outln!("\ncache: {}", esc(&store.root().display().to_string()))?;
    Ok(ExitCode::SUCCESS)
}

fn models_pull(
    registry: &Registry,
    ids: &[String],
    force: bool,
    cache: &CacheArgs,
) -> Result<ExitCode> {
    let store = ModelCache::from_env(cache.cache_dir.as_deref());
    let options = PullOptions {
        force,
        offline: cache.offline,
        verify: false,
    };
    let progress = TransferProgress::new(false);
    let ids = if ids.is_empty() {
        vec![registry.default_preset().id.clone()]
    } else {
        ids.to_vec()
    };
    for id in &ids {
        let preset = preset(registry, id)?;
        let path = store.pull(preset, &options, &progress)?;
        outln!("{}", path.display())?;
    }
    Ok(ExitCode::SUCCESS)
}

fn models_verify(registry: &Registry, ids: &[String], cache: &CacheArgs) -> Result<ExitCode> {
    let store = ModelCache::from_env(cache.cache_dir.as_deref());
    let presets: Vec<_> = if ids.is_empty() {
        registry.presets.iter().collect()
    } else {
        ids.iter()
            .map(|id| preset(registry, id))
            .collect::<Result<_>>()?
    };
    // Always hashes every file again, whatever its cache record says.
    let progress = TransferProgress::new(false);
    let mut corrupt = false;
    for p in presets {
        match store.verify_with(p, &progress)? {
            VerifyOutcome::Ok { path, .. } => outln!("ok       {:<22} {}", p.id, shown(&path))?,
            VerifyOutcome::Missing => outln!("missing  {}", p.id)?,
            VerifyOutcome::Corrupt {
                path,
                expected,
                actual,
            } => {
                corrupt = true;
                outln!(
                    "corrupt  {:<22} {} (expected {expected}, found {actual}; `kurz models pull --force {}` fetches it again)",
                    p.id,
                    shown(&path),
                    p.id
                )?;
            }
        }
    }
    Ok(if corrupt {
        ExitCode::from(EXIT_SOME_FAILED)
    } else {
        ExitCode::SUCCESS
    })
}

/// A path for a human-readable table: control characters escaped.
fn shown(path: &std::path::Path) -> String {
    esc(&path.display().to_string()).into_owned()
}
