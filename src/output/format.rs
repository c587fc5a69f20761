//! Output formats, output path layout and rendering of a finished summary.

use serde::{Deserialize, Serialize};
use std::ffi::OsString;
use std::path::{Component, Path, PathBuf};

/// File format of a written summary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// Markdown: `# Title` heading followed by the body.
    Md,
    /// Plain text: title line, blank line, body.
    Txt,
    /// One pretty-printed JSON object.
    Json,
}

impl Format {
    /// File extension (without dot) used for this format: `md`, `txt` or `json`.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Md => "md",
            Format::Txt => "txt",
            Format::Json => "json",
        }
    }
}

/// File name used when the stem has no usable component at all.
const FALLBACK_STEM: &str = "untitled";

/// Computes where the output for one input goes.
///
/// `output_stem` is the input's path relative to the input root, without its
/// extension. The result is `out_dir/<output_stem>.<suffix>.<ext>`, e.g.
/// `output_path(out, Path::new("a/b/c"), "en", Format::Md)` gives
/// `out/a/b/c.en.md`. An empty `suffix` gives `out/a/b/c.md`.
///
/// Defensively, root, prefix, `.` and `..` components of `output_stem` are
/// dropped and path separators in `suffix` are replaced, so the result always
/// stays inside `out_dir`.
pub fn output_path(out_dir: &Path, output_stem: &Path, suffix: &str, format: Format) -> PathBuf {
    let mut rel = PathBuf::new();
    for comp in output_stem.components() {
        if let Component::Normal(part) = comp {
            rel.push(part);
        }
    }
    let mut file_name: OsString = match rel.file_name() {
        Some(name) => name.to_os_string(),
        None => OsString::from(FALLBACK_STEM),
    };
    rel.pop();
    let suffix: String = suffix
        .chars()
        .map(|c| if c == '/' || c == '\\' { '_' } else { c })
        .collect();
    let suffix = suffix.trim_matches('.');
    if !suffix.is_empty() {
        file_name.push(".");
        file_name.push(suffix);
    }
    file_name.push(".");
    file_name.push(format.extension());
    let result = out_dir.join(rel).join(file_name);
    debug_assert!(
        result.starts_with(out_dir),
        "output path {} escapes {}",
        result.display(),
        out_dir.display()
    );
    result
}

/// Everything needed to render one summary document.
#[derive(Debug, Clone, Copy)]
pub struct RenderedDoc<'a> {
    /// Title of the article (may be multi-line; it is collapsed to one line).
    /// `None` or blank falls back to the source file name without extension.
    pub title: Option<&'a str>,
    /// The generated summary or translation text.
    pub body: &'a str,
    /// Display path of the input file.
    pub source: &'a str,
    /// Model identifier (usually the model file name).
    pub model: &'a str,
    /// Detected language of the input, if known.
    pub language: Option<&'a str>,
}

impl RenderedDoc<'_> {
    /// The title as it is rendered: whitespace (including newlines) collapsed
    /// to single spaces, falling back to the source file stem when missing.
    pub fn display_title(&self) -> String {
        let collapsed = self.title.map(collapse_whitespace).unwrap_or_default();
        if !collapsed.is_empty() {
            return collapsed;
        }
        let stem = Path::new(self.source)
            .file_stem()
            .map(|s| collapse_whitespace(&s.to_string_lossy()))
            .unwrap_or_default();
        if stem.is_empty() {
            FALLBACK_STEM.to_string()
        } else {
            stem
        }
    }
}

fn collapse_whitespace(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Renders `doc` in the given format. The result always ends with `\n`.
///
/// * `md`: `# <title>\n\n<body>\n`
/// * `txt`: `<title>\n\n<body>\n`
/// * `json`: pretty object with `title`, `summary`, `source`, `model`,
///   `language` (null when unknown), followed by `\n`.
///
/// Trailing whitespace of the body is trimmed.
pub fn render(format: Format, doc: &RenderedDoc) -> String {
    let title = doc.display_title();
    let body = doc.body.trim_end();
    match format {
        Format::Md => format!("# {title}\n\n{body}\n"),
        Format::Txt => format!("{title}\n\n{body}\n"),
        Format::Json => {
            let value = serde_json::json!({
                "title": title,
                "summary": body,
                "source": doc.source,
                "model": doc.model,
                "language": doc.language,
            });
            // `{:#}` is serde_json's infallible pretty printer for `Value`.
            format!("{value:#}\n")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc<'a>(title: Option<&'a str>, body: &'a str) -> RenderedDoc<'a> {
        RenderedDoc {
            title,
            body,
            source: "nachrichten/hochwasser-sachsen.txt",
            model: "qwen2.5-1.5b-instruct-q4_k_m.gguf",
            language: Some("de"),
        }
    }

    #[test]
    fn extensions_and_serde_names() {
        assert_eq!(Format::Md.extension(), "md");
        assert_eq!(Format::Txt.extension(), "txt");
        assert_eq!(Format::Json.extension(), "json");
        assert_eq!(serde_json::to_string(&Format::Json).unwrap(), "\"json\"");
        let f: Format = serde_json::from_str("\"md\"").unwrap();
        assert_eq!(f, Format::Md);
    }

    #[test]
    fn output_path_layout() {
        let out = Path::new("/out");
        assert_eq!(
            output_path(out, Path::new("a/b/c"), "en", Format::Md),
            PathBuf::from("/out/a/b/c.en.md")
        );
        assert_eq!(
            output_path(out, Path::new("c"), "", Format::Json),
            PathBuf::from("/out/c.json")
        );
        assert_eq!(
            output_path(out, Path::new("report.v2"), "en", Format::Txt),
            PathBuf::from("/out/report.v2.en.txt")
        );
    }

    #[test]
    fn output_path_strips_escaping_components() {
        let out = Path::new("out");
        assert_eq!(
            output_path(out, Path::new("../../etc/passwd"), "en", Format::Md),
            PathBuf::from("out/etc/passwd.en.md")
        );
        assert_eq!(
            output_path(out, Path::new("/abs/x"), "en", Format::Md),
            PathBuf::from("out/abs/x.en.md")
        );
        assert_eq!(
            output_path(out, Path::new("a/./b/.."), "en", Format::Md),
            PathBuf::from("out/a/b.en.md")
        );
        assert_eq!(
            output_path(out, Path::new(".."), "../x", Format::Md),
            PathBuf::from("out/untitled._x.md")
        );
        assert_eq!(
            output_path(out, Path::new("a"), "x/y", Format::Md),
            PathBuf::from("out/a.x_y.md")
        );
    }

    #[test]
    fn markdown_render() {
        let s = render(
            Format::Md,
            &doc(Some("Hochwasser\n in  Sachsen"), "Body.\n\n"),
        );
        assert_eq!(s, "# Hochwasser in Sachsen\n\nBody.\n");
    }

    #[test]
    fn title_falls_back_to_file_stem() {
        let s = render(Format::Md, &doc(None, "Body"));
        assert_eq!(s, "# hochwasser-sachsen\n\nBody\n");
        let s = render(Format::Txt, &doc(Some("  \n "), "Body"));
        assert_eq!(s, "hochwasser-sachsen\n\nBody\n");
    }

    #[test]
    fn txt_render() {
        let s = render(Format::Txt, &doc(Some("Titel"), "Zeile 1\nZeile 2"));
        assert_eq!(s, "Titel\n\nZeile 1\nZeile 2\n");
    }

    #[test]
    fn json_render() {
        let s = render(
            Format::Json,
            &doc(Some("Flut"), "Zusammenfassung \"zitiert\"\n"),
        );
        assert!(s.ends_with("}\n"));
        assert!(s.contains("\n  \"title\""), "pretty printed: {s}");
        let v: serde_json::Value = serde_json::from_str(&s).unwrap();
        assert_eq!(v["title"], "Flut");
        assert_eq!(v["summary"], "Zusammenfassung \"zitiert\"");
        assert_eq!(v["source"], "nachrichten/hochwasser-sachsen.txt");
        assert_eq!(v["model"], "qwen2.5-1.5b-instruct-q4_k_m.gguf");
        assert_eq!(v["language"], "de");
        assert_eq!(v.as_object().unwrap().len(), 5);

        let mut d = doc(None, "x");
        d.language = None;
        let v: serde_json::Value = serde_json::from_str(&render(Format::Json, &d)).unwrap();
        assert!(v["language"].is_null());
        assert_eq!(v["title"], "hochwasser-sachsen");
    }
}
