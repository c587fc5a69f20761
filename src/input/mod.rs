//! Input handling: finding the files to summarize, reading and decoding
//! them, extracting plain text from text/Markdown/HTML, and guessing the
//! language of that text.
//!
//! The usual flow is [`discover`] → [`load_document`] for each
//! [`InputItem`]; the steps ([`read_source`], [`decode_bytes`],
//! [`extract_document`], [`language::detect`]) are public for callers that
//! need them separately.

mod decode;
mod discover;
mod extract;
pub mod language;

use std::fmt;
use std::path::{Path, PathBuf};

pub use decode::decode_bytes;
pub use discover::{discover, output_stem_for, DiscoverOptions, Discovery, SkippedPath};
pub use extract::extract_document;
pub use language::LanguageGuess;

/// File extensions (lowercase, without the dot) that are read as input.
pub const SUPPORTED_EXTENSIONS: [&str; 5] = ["txt", "md", "markdown", "html", "htm"];

/// What kind of markup a file holds, from its extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum InputKind {
    /// Plain text (`.txt`, and standard input).
    Text,
    /// Markdown (`.md`, `.markdown`).
    Markdown,
    /// HTML (`.html`, `.htm`).
    Html,
}

impl InputKind {
    /// The kind for a path's extension (case-insensitive), or `None` if the
    /// extension is missing or not supported.
    pub fn from_path(p: &Path) -> Option<InputKind> {
        let ext = p.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "txt" => Some(InputKind::Text),
            "md" | "markdown" => Some(InputKind::Markdown),
            "html" | "htm" => Some(InputKind::Html),
            _ => None,
        }
    }
}

impl fmt::Display for InputKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            InputKind::Text => "text",
            InputKind::Markdown => "markdown",
            InputKind::Html => "html",
        })
    }
}

/// Where an input's bytes come from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum InputSource {
    /// A file on disk, as found or given (not canonicalized).
    File(PathBuf),
    /// Standard input (given as `-`).
    Stdin,
}

/// One input to process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputItem {
    /// Where to read the input from.
    pub source: InputSource,
    /// The path as the user gave it (relative to the current directory where
    /// possible), with `/` separators; `-` for standard input.
    pub display: String,
    /// Relative path without extension under the output directory, e.g.
    /// `a/b/c` for `a/b/c.html`; `stdin` for standard input. Never absolute
    /// and never contains `..`, root or prefix components.
    pub output_stem: PathBuf,
    /// The markup kind; standard input is always [`InputKind::Text`].
    pub kind: InputKind,
}

impl InputItem {
    /// The item for standard input.
    pub fn stdin() -> InputItem {
        InputItem {
            source: InputSource::Stdin,
            display: "-".to_string(),
            output_stem: PathBuf::from("stdin"),
            kind: InputKind::Text,
        }
    }
}

/// Text extracted from one input, ready for prompting.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Document {
    /// The title, if one was found (first heading, `<title>`, or a headline
    /// line of a text file). It is not repeated at the start of `text`.
    pub title: Option<String>,
    /// The plain text, paragraphs separated by blank lines, `\n` line endings.
    pub text: String,
    /// Name of the encoding the bytes were decoded from (e.g. `UTF-8`,
    /// `windows-1252`, `UTF-16LE`).
    pub encoding: &'static str,
    /// Guessed language of `text`, if it could be guessed.
    pub language: Option<LanguageGuess>,
}

/// Why an input cannot be used. Messages do not name the file (the caller
/// adds it), except [`InputError::NotFound`].
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    /// A path given by the user does not exist.
    #[error("no such file or directory: {}", .path.display())]
    NotFound {
        /// The path as given.
        path: PathBuf,
    },
    /// Reading failed; `path` is `None` for standard input.
    #[error("cannot read {}: {error}", if .path.is_some() { "file" } else { "standard input" })]
    Unreadable {
        /// The file that could not be read (`None` for standard input).
        path: Option<PathBuf>,
        /// The underlying I/O error.
        error: std::io::Error,
    },
    /// The input has no text (no bytes, only whitespace, or no text left
    /// after removing markup).
    #[error("file is empty (no text left after removing whitespace and markup)")]
    Empty,
    /// The input looks like binary data, not text.
    #[error("looks like a binary file ({reason}), not text")]
    Binary {
        /// What gave it away, e.g. "contains NUL bytes".
        reason: &'static str,
    },
    /// The bytes are not valid in the encoding that was detected.
    #[error("cannot decode text as {encoding} (invalid byte sequences)")]
    Undecodable {
        /// Name of the detected encoding.
        encoding: &'static str,
    },
    /// The input is larger than the configured limit.
    #[error("{}", too_large_message(*.bytes, *.limit))]
    TooLarge {
        /// Size of the input in bytes.
        bytes: u64,
        /// The limit in bytes.
        limit: u64,
    },
    /// An `--include`/`--exclude` glob is invalid.
    #[error("invalid --{option} pattern {pattern:?}: {reason}")]
    InvalidPattern {
        /// `include` or `exclude`.
        option: &'static str,
        /// The pattern as given.
        pattern: String,
        /// Why it is invalid.
        reason: String,
    },
    /// A folder could not be walked at all.
    #[error("cannot walk folder: {0}")]
    Walk(String),
}

/// Formats a byte count for people: bytes, KiB or MiB with one decimal.
pub fn human_size(bytes: u64) -> String {
    const KIB: f64 = 1024.0;
    const MIB: f64 = 1024.0 * 1024.0;
    // Precision loss only matters for sizes far beyond any text file.
    #[allow(clippy::cast_precision_loss)]
    let b = bytes as f64;
    if bytes < 1024 {
        format!("{bytes} bytes")
    } else if b < MIB {
        format!("{:.1} KiB", b / KIB)
    } else {
        format!("{:.1} MiB", b / MIB)
    }
}

fn too_large_message(bytes: u64, limit: u64) -> String {
    let (size, max) = (human_size(bytes), human_size(limit));
    if size == max {
        format!("file is {bytes} bytes, over the {limit} bytes limit (--max-bytes)")
    } else {
        format!("file is {size}, over the {max} limit (--max-bytes)")
    }
}

/// Reads the whole input: a file or all of standard input.
///
/// A file's size is checked against `max_bytes` before it is read; standard
/// input is read up to the limit and then drained to report its size.
///
/// # Errors
///
/// [`InputError::NotFound`], [`InputError::TooLarge`] or
/// [`InputError::Unreadable`].
pub fn read_source(item: &InputItem, max_bytes: u64) -> Result<Vec<u8>, InputError> {
    match &item.source {
        InputSource::File(path) => read_file(path, max_bytes),
        InputSource::Stdin => {
            read_limited(std::io::stdin().lock(), max_bytes).map_err(|error| match error {
                ReadLimitError::Io(error) => InputError::Unreadable { path: None, error },
                ReadLimitError::TooLarge(bytes) => InputError::TooLarge {
                    bytes,
                    limit: max_bytes,
                },
            })
        }
    }
}

fn read_file(path: &Path, max_bytes: u64) -> Result<Vec<u8>, InputError> {
    let unreadable = |error| InputError::Unreadable {
        path: Some(path.to_path_buf()),
        error,
    };
    let meta = std::fs::metadata(path).map_err(|error| match error.kind() {
        std::io::ErrorKind::NotFound => InputError::NotFound {
            path: path.to_path_buf(),
        },
        _ => unreadable(error),
    })?;
    if meta.is_file() && meta.len() > max_bytes {
        return Err(InputError::TooLarge {
            bytes: meta.len(),
            limit: max_bytes,
        });
    }
    // The size check above can race with writers, or the path may be a pipe;
    // the limited read guards against both.
    let file = std::fs::File::open(path).map_err(unreadable)?;
    read_limited(file, max_bytes).map_err(|error| match error {
        ReadLimitError::Io(error) => unreadable(error),
        ReadLimitError::TooLarge(bytes) => InputError::TooLarge {
            bytes,
            limit: max_bytes,
        },
    })
}

enum ReadLimitError {
    Io(std::io::Error),
    TooLarge(u64),
}

/// Reads at most `max_bytes`; if there is more, drains the rest to learn the
/// full size and reports it.
fn read_limited<R: std::io::Read>(
    mut reader: R,
    max_bytes: u64,
) -> Result<Vec<u8>, ReadLimitError> {
    use std::io::Read;
    let mut buf = Vec::new();
    (&mut reader)
        .take(max_bytes.saturating_add(1))
        .read_to_end(&mut buf)
        .map_err(ReadLimitError::Io)?;
    let read = buf.len() as u64;
    if read <= max_bytes {
        return Ok(buf);
    }
    let rest = std::io::copy(&mut reader, &mut std::io::sink()).map_err(ReadLimitError::Io)?;
    Err(ReadLimitError::TooLarge(read + rest))
}

/// Reads, decodes and extracts one input, and guesses its language.
///
/// # Errors
///
/// Any error of [`read_source`], [`decode_bytes`] and [`extract_document`].
pub fn load_document(item: &InputItem, max_bytes: u64) -> Result<Document, InputError> {
    let bytes = read_source(item, max_bytes)?;
    let (text, encoding) = decode_bytes(&bytes)?;
    let mut doc = extract_document(&text, item.kind)?;
    doc.encoding = encoding;
    Ok(doc)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn file_item(path: &Path, kind: InputKind) -> InputItem {
        InputItem {
            source: InputSource::File(path.to_path_buf()),
            display: path.display().to_string(),
            output_stem: PathBuf::from("x"),
            kind,
        }
    }

    #[test]
    fn kind_from_extension_is_case_insensitive() {
        assert_eq!(
            InputKind::from_path(Path::new("a.txt")),
            Some(InputKind::Text)
        );
        assert_eq!(
            InputKind::from_path(Path::new("a/b.MD")),
            Some(InputKind::Markdown)
        );
        assert_eq!(
            InputKind::from_path(Path::new("x.Markdown")),
            Some(InputKind::Markdown)
        );
        assert_eq!(
            InputKind::from_path(Path::new("x.HTM")),
            Some(InputKind::Html)
        );
        assert_eq!(
            InputKind::from_path(Path::new("x.html")),
            Some(InputKind::Html)
        );
        assert_eq!(InputKind::from_path(Path::new("x.pdf")), None);
        assert_eq!(InputKind::from_path(Path::new("README")), None);
        assert_eq!(InputKind::from_path(Path::new(".txt")), None);
    }

    #[test]
    fn kind_displays_lowercase() {
        let kinds = [InputKind::Text, InputKind::Markdown, InputKind::Html];
        let names: Vec<String> = kinds.iter().map(ToString::to_string).collect();
        assert_eq!(names, ["text", "markdown", "html"]);
    }

    #[test]
    fn error_messages_are_clear() {
        let msg = |e: InputError| e.to_string();
        assert_eq!(
            msg(InputError::TooLarge {
                bytes: 3_355_443,
                limit: 2 * 1024 * 1024
            }),
            "file is 3.2 MiB, over the 2.0 MiB limit (--max-bytes)"
        );
        assert_eq!(
            msg(InputError::TooLarge {
                bytes: 2 * 1024 * 1024 + 1,
                limit: 2 * 1024 * 1024
            }),
            "file is 2097153 bytes, over the 2097152 bytes limit (--max-bytes)"
        );
        assert_eq!(
            msg(InputError::Binary {
                reason: "contains NUL bytes"
            }),
            "looks like a binary file (contains NUL bytes), not text"
        );
        assert_eq!(
            msg(InputError::Undecodable {
                encoding: "windows-1252"
            }),
            "cannot decode text as windows-1252 (invalid byte sequences)"
        );
        assert!(msg(InputError::Empty).starts_with("file is empty"));
        let io = std::io::Error::new(std::io::ErrorKind::PermissionDenied, "permission denied");
        assert_eq!(
            msg(InputError::Unreadable {
                path: Some("a.txt".into()),
                error: io
            }),
            "cannot read file: permission denied"
        );
        let io = std::io::Error::other("broken pipe");
        assert_eq!(
            msg(InputError::Unreadable {
                path: None,
                error: io
            }),
            "cannot read standard input: broken pipe"
        );
        assert_eq!(
            msg(InputError::NotFound {
                path: "nope/x.md".into()
            }),
            "no such file or directory: nope/x.md"
        );
    }

    #[test]
    fn human_sizes() {
        assert_eq!(human_size(0), "0 bytes");
        assert_eq!(human_size(1023), "1023 bytes");
        assert_eq!(human_size(1536), "1.5 KiB");
        assert_eq!(human_size(5 * 1024 * 1024), "5.0 MiB");
    }

    #[test]
    fn read_source_checks_size_before_reading() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.txt");
        std::fs::write(&path, vec![b'a'; 2000]).unwrap();
        let item = file_item(&path, InputKind::Text);
        match read_source(&item, 1000) {
            Err(InputError::TooLarge { bytes, limit }) => {
                assert_eq!((bytes, limit), (2000, 1000));
            }
            other => panic!("expected TooLarge, got {other:?}"),
        }
        assert_eq!(read_source(&item, 2000).unwrap().len(), 2000);
    }

    #[test]
    fn read_source_missing_file_is_not_found() {
        let dir = tempfile::tempdir().unwrap();
        let item = file_item(&dir.path().join("gone.txt"), InputKind::Text);
        assert!(matches!(
            read_source(&item, 1000),
            Err(InputError::NotFound { .. })
        ));
    }

    #[test]
    fn read_source_directory_is_unreadable() {
        let dir = tempfile::tempdir().unwrap();
        let item = file_item(dir.path(), InputKind::Text);
        let err = read_source(&item, 1000).unwrap_err();
        assert!(
            matches!(err, InputError::Unreadable { path: Some(_), .. }),
            "{err:?}"
        );
        assert!(err.to_string().starts_with("cannot read file: "));
    }

    #[test]
    fn read_limited_reports_full_size() {
        let data = vec![b'x'; 5000];
        match read_limited(&data[..], 100) {
            Err(ReadLimitError::TooLarge(n)) => assert_eq!(n, 5000),
            _ => panic!("expected TooLarge"),
        }
        assert!(matches!(read_limited(&data[..], 5000), Ok(v) if v.len() == 5000));
    }

    #[test]
    fn load_document_end_to_end_latin1_markdown() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("artikel.md");
        let mut f = std::fs::File::create(&path).unwrap();
        // "# Ärger um Öl\r\n\r\nDie Müller GmbH aus der Hauptstraße ..." in Latin-1.
        f.write_all(b"# \xC4rger um \xD6l\r\n\r\nDie M\xFCller GmbH aus der Hauptstra\xDFe hat am Montag mitgeteilt, dass sie wegen der gestiegenen Preise f\xFCr \xD6l und Gas ihre Produktion im Werk deutlich reduzieren wird.\r\n")
            .unwrap();
        drop(f);
        let doc = load_document(&file_item(&path, InputKind::Markdown), 1 << 20).unwrap();
        assert_eq!(doc.title.as_deref(), Some("Ärger um Öl"));
        assert!(doc.text.starts_with("Die Müller GmbH aus der Hauptstraße"));
        assert!(!doc.text.contains('\r'));
        assert_eq!(doc.encoding, "windows-1252");
        assert_eq!(doc.language.map(|l| l.code), Some("de"));
    }

    #[test]
    fn load_document_rejects_html_without_text() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("leer.html");
        std::fs::write(
            &path,
            "<html><head><script>var x = 1;</script></head><body></body></html>",
        )
        .unwrap();
        assert!(matches!(
            load_document(&file_item(&path, InputKind::Html), 1 << 20),
            Err(InputError::Empty)
        ));
    }
}
