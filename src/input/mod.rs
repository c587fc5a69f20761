//! Input handling: finding the files to summarize, reading and decoding
//! them, extracting plain text from text, Markdown, HTML, PDF, DOCX/ODT,
//! e-mail and feeds, and guessing the language of that text.
//!
//! The usual flow is [`discover`] → [`load_document`] for each
//! [`InputItem`]; the steps ([`read_source`], [`extract_bytes`], and for
//! text formats [`decode_bytes`] and [`extract_document`],
//! [`language::detect`]) are public for callers that need them separately.
//!
//! Binary and structured formats have their own modules: `pdf` (text layer
//! of a PDF), `office` (DOCX and ODT), `email` (`.eml`) and `feed` (RSS,
//! Atom and JSON Feed, where every item is an input of its own, see
//! [`InputSource::FeedItem`]). Each ends in the same [`Document`] as text
//! and HTML do, so the rest of kurz does not care where text came from.

mod decode;
mod discover;
mod email;
mod extract;
mod feed;
pub mod language;
mod office;
mod pdf;
pub mod root;
#[cfg(test)]
mod tests_support;

use std::fmt;
use std::path::{Path, PathBuf};

use crate::stop::{Abort, StopToken};

pub use decode::decode_bytes;
pub use discover::{
    discover, escape_name, output_stem_for, unescape_name, DiscoverOptions, Discovery, SkippedPath,
};
pub use extract::extract_document;
pub use language::LanguageGuess;

/// File extensions (lowercase, without the dot) that are read as input.
/// `.xml` and `.json` files are read only when they hold a feed (RSS, Atom
/// or JSON Feed); other such files are skipped as unsupported.
pub const SUPPORTED_EXTENSIONS: [&str; 14] = [
    "txt", "md", "markdown", "html", "htm", "pdf", "docx", "odt", "eml", "rss", "atom", "xml",
    "json", "feed",
];

/// What kurz reads, in words, for messages such as "no input files found
/// (kurz reads …)".
pub const READABLE_FORMATS: &str = ".txt, .md, .markdown, .html, .htm, .pdf, .docx, .odt and \
.eml files, and RSS/Atom/JSON feeds";

/// The `--max-bytes` default (2 MiB), used where no limit is given.
pub const DEFAULT_MAX_BYTES: u64 = 2 * 1024 * 1024;

/// What kind of markup a file holds, from its extension (and, for `.xml`
/// and `.json`, its content).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum InputKind {
    /// Plain text (`.txt`, and standard input).
    Text,
    /// Markdown (`.md`, `.markdown`).
    Markdown,
    /// HTML (`.html`, `.htm`).
    Html,
    /// The text layer of a PDF (`.pdf`).
    Pdf,
    /// A Word document (`.docx`).
    Docx,
    /// An OpenDocument text (`.odt`).
    Odt,
    /// An e-mail message (`.eml`).
    Email,
    /// A whole feed (`.rss`, `.atom`, `.feed`, or `.xml`/`.json` holding a
    /// feed). Discovery splits a readable feed into its items; a feed that
    /// stays whole is one that could not be read or parsed then, and
    /// extracting it reports why.
    Feed,
    /// One item of a feed ([`InputSource::FeedItem`]).
    #[serde(rename = "feed-item")]
    FeedItem,
}

impl InputKind {
    /// The kind for a path's extension (case-insensitive), or `None` if the
    /// extension is missing or not supported. `.xml` and `.json` give
    /// `None` here: whether they hold a feed is decided from their content
    /// (see [`discover`]).
    pub fn from_path(p: &Path) -> Option<InputKind> {
        let ext = p.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "txt" => Some(InputKind::Text),
            "md" | "markdown" => Some(InputKind::Markdown),
            "html" | "htm" => Some(InputKind::Html),
            "pdf" => Some(InputKind::Pdf),
            "docx" => Some(InputKind::Docx),
            "odt" => Some(InputKind::Odt),
            "eml" => Some(InputKind::Email),
            "rss" | "atom" | "feed" => Some(InputKind::Feed),
            _ => None,
        }
    }

    /// Whether the kind's bytes are text that [`decode_bytes`] decodes
    /// before [`extract_document`] (text, Markdown, HTML).
    pub fn is_text(self) -> bool {
        matches!(
            self,
            InputKind::Text | InputKind::Markdown | InputKind::Html
        )
    }
}

impl fmt::Display for InputKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            InputKind::Text => "text",
            InputKind::Markdown => "markdown",
            InputKind::Html => "html",
            InputKind::Pdf => "pdf",
            InputKind::Docx => "docx",
            InputKind::Odt => "odt",
            InputKind::Email => "email",
            InputKind::Feed => "feed",
            InputKind::FeedItem => "feed-item",
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
    /// One item of a feed file: the file, as found or given, and the
    /// item's stable id (its guid or Atom id, else its link, else a hash of
    /// its title and text). Reading it reads the feed and yields that
    /// item's own bytes, so each item has its own checksum and resume entry.
    FeedItem {
        /// The feed file.
        path: PathBuf,
        /// The item's id within the feed.
        id: String,
    },
}

impl InputSource {
    /// The file read for this source (the feed file for a feed item);
    /// `None` for standard input.
    pub fn path(&self) -> Option<&Path> {
        match self {
            InputSource::File(path) | InputSource::FeedItem { path, .. } => Some(path),
            InputSource::Stdin => None,
        }
    }
}

/// One input to process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputItem {
    /// Where to read the input from.
    pub source: InputSource,
    /// The path as the user gave it (relative to the current directory where
    /// possible), with `/` separators, escaped with [`escape_name`] (bytes
    /// that are not UTF-8 become `%XX`, reversibly); `-` for standard input.
    pub display: String,
    /// Relative path without extension under the output directory, e.g.
    /// `a/b/c` for `a/b/c.html`; `stdin` for standard input. Never absolute
    /// and never contains `..`, root or prefix components; escaped like
    /// `display`, so different names get different stems.
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
    /// The input is larger than the configured limit. Reading stops after
    /// `limit + 1` bytes, so the full size is only known for regular files.
    #[error("{}", too_large_message(*.bytes, *.limit))]
    TooLarge {
        /// Size of the input in bytes, when known (a regular file's size);
        /// `None` for streams (standard input, pipes, devices), which are
        /// never read past the limit.
        bytes: Option<u64>,
        /// The limit in bytes.
        limit: u64,
    },
    /// HTML or Markdown nests elements deeper than extraction allows.
    #[error("{markup} nested too deeply (more than {limit} levels)")]
    TooDeep {
        /// `HTML` or `Markdown`.
        markup: &'static str,
        /// The deepest nesting accepted.
        limit: usize,
    },
    /// HTML or Markdown has more elements than extraction allows.
    #[error("{markup} has too many elements (more than {limit})")]
    TooManyElements {
        /// `HTML` or `Markdown`.
        markup: &'static str,
        /// The most elements accepted.
        limit: usize,
    },
    /// HTML has so many deeply nested elements that extracting its text
    /// would take too long (the sum of all elements' depths is over the
    /// limit).
    #[error(
        "{markup} has too many elements nested too deeply (their nesting levels add up to more than {limit})"
    )]
    NestingTooCostly {
        /// `HTML`.
        markup: &'static str,
        /// The largest sum of element depths accepted.
        limit: usize,
    },
    /// Reading stopped: the run was interrupted, or the input's time ran
    /// out while it waited for a pipe or standard input to send data.
    #[error("{0}")]
    Aborted(crate::stop::Abort),
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
    /// A PDF whose pages hold no text at all: most likely scanned images.
    #[error("no text layer (scanned PDF?)")]
    NoTextLayer,
    /// The document is encrypted and cannot be opened without a password.
    #[error("encrypted {format} (it cannot be opened without a password)")]
    Encrypted {
        /// `PDF`, `DOCX` or `ODT`.
        format: &'static str,
    },
    /// The file is not a valid document of its format.
    #[error("broken {format}: {reason}")]
    Broken {
        /// `PDF`, `DOCX`, `ODT`, `e-mail` or `feed`.
        format: &'static str,
        /// What is wrong, as the parser said it.
        reason: String,
    },
    /// A PDF has more pages than kurz reads.
    #[error("PDF has {pages} pages, more than the {limit} kurz reads")]
    TooManyPages {
        /// The page count.
        pages: usize,
        /// The most pages read.
        limit: usize,
    },
    /// Compressed content inflates past what kurz decompresses (a
    /// decompression bomb, or a document far larger than any article).
    #[error("{format} content is over {} when decompressed", human_size(*.limit))]
    Expands {
        /// `PDF`, `DOCX` or `ODT`.
        format: &'static str,
        /// The most bytes decompressed.
        limit: u64,
    },
    /// A feed item listed when the inputs were found is gone from the feed
    /// file (the feed changed while kurz ran).
    #[error("item {id:?} is no longer in the feed (it changed since kurz listed its items)")]
    FeedItemGone {
        /// The item's id.
        id: String,
    },
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

fn too_large_message(bytes: Option<u64>, limit: u64) -> String {
    let max = human_size(limit);
    let Some(bytes) = bytes else {
        return if limit < 1024 {
            format!("input is more than {max}, over the limit (--max-bytes)")
        } else {
            format!("input is more than {max} ({limit} bytes), over the limit (--max-bytes)")
        };
    };
    let size = human_size(bytes);
    if size == max {
        format!("file is {bytes} bytes, over the {limit} bytes limit (--max-bytes)")
    } else {
        format!("file is {size}, over the {max} limit (--max-bytes)")
    }
}

/// Reads the whole input: a file (or device, or named pipe) or standard
/// input.
///
/// At most `max_bytes + 1` bytes are ever read: a regular file larger than
/// the limit is rejected from its size without reading, and any other source
/// is read until one byte past the limit and then left alone (an endless
/// source such as `/dev/zero` or `yes` cannot keep kurz busy). Files are
/// opened so that a named pipe without a writer does not block the open.
///
/// # Errors
///
/// [`InputError::NotFound`], [`InputError::TooLarge`] or
/// [`InputError::Unreadable`].
pub fn read_source(item: &InputItem, max_bytes: u64) -> Result<Vec<u8>, InputError> {
    read_source_until(item, max_bytes, &StopToken::never())
}

/// [`read_source`] that gives up when `stop` says so: a pipe, a device or
/// standard input whose writer sends nothing is waited on in short slices
/// (on Linux), with `stop` checked between them, so neither
/// `--timeout-per-file` nor Ctrl-C has to wait for data that never comes.
///
/// # Errors
///
/// Those of [`read_source`], and [`InputError::Aborted`].
pub fn read_source_until(
    item: &InputItem,
    max_bytes: u64,
    stop: &StopToken,
) -> Result<Vec<u8>, InputError> {
    match &item.source {
        InputSource::File(path) => read_file(path, max_bytes, stop),
        InputSource::FeedItem { path, id } => {
            let bytes = read_file(path, max_bytes, stop)?;
            feed::item_bytes(&bytes, id)
        }
        InputSource::Stdin => {
            let stdin = std::io::stdin().lock();
            read_limited(Watched::shared(stdin, stop), max_bytes).map_err(|error| match error {
                ReadLimitError::Io(error) => {
                    aborted_or(error, |error| InputError::Unreadable { path: None, error })
                }
                ReadLimitError::TooLarge => InputError::TooLarge {
                    bytes: None,
                    limit: max_bytes,
                },
            })
        }
    }
}

/// The [`InputError::Aborted`] a [`Watched`] read ended with, or `other`.
fn aborted_or(
    error: std::io::Error,
    other: impl FnOnce(std::io::Error) -> InputError,
) -> InputError {
    match error.get_ref().and_then(|e| e.downcast_ref::<Abort>()) {
        Some(abort) => InputError::Aborted(*abort),
        None => other(error),
    }
}

/// A reader that, on Linux, waits for data with `poll` in slices of
/// [`Watched::SLICE_MS`] and checks a [`StopToken`] between them; a read
/// stopped that way fails with an I/O error wrapping the [`Abort`].
/// Regular files never wait, so they are read directly.
struct Watched<'a, R> {
    inner: R,
    stop: &'a StopToken,
    /// Reads are non-blocking (a descriptor of kurz's own): read first and
    /// wait only when there is nothing yet. A FIFO that never had a writer
    /// then reads as empty, where `poll` would wait for ever.
    nonblocking: bool,
}

impl<'a, R> Watched<'a, R> {
    const SLICE_MS: i32 = 100;

    /// Watches a descriptor shared with others (standard input): its flags
    /// are left alone, and each read waits for `poll` first.
    fn shared(inner: R, stop: &'a StopToken) -> Self {
        Self {
            inner,
            stop,
            nonblocking: false,
        }
    }
}

#[cfg(target_os = "linux")]
impl<'a> Watched<'a, std::fs::File> {
    /// Watches a file kurz opened itself (a FIFO or a device): it is made
    /// non-blocking, which touches no one else's descriptor.
    fn own(file: std::fs::File, stop: &'a StopToken) -> Self {
        use std::os::unix::io::AsRawFd;
        let fd = file.as_raw_fd();
        // SAFETY: `fd` is open and owned by `file`; F_GETFL/F_SETFL only
        // read and change its status flags.
        let nonblocking = unsafe {
            let flags = libc::fcntl(fd, libc::F_GETFL);
            flags >= 0 && libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK) == 0
        };
        Self {
            inner: file,
            stop,
            nonblocking,
        }
    }
}

#[cfg(not(target_os = "linux"))]
impl<'a> Watched<'a, std::fs::File> {
    fn own(file: std::fs::File, stop: &'a StopToken) -> Self {
        Self::shared(file, stop)
    }
}

#[cfg(target_os = "linux")]
impl<R: std::io::Read + std::os::unix::io::AsRawFd> Watched<'_, R> {
    /// Waits up to one slice for the descriptor to be readable (data, end
    /// of file or an error waiting); whether it is.
    fn wait(&self) -> std::io::Result<bool> {
        let mut fds = libc::pollfd {
            fd: self.inner.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: `fds` is one valid pollfd for the call's duration, and its
        // descriptor is owned by `inner`, open for this whole call.
        match unsafe { libc::poll(&mut fds, 1, Self::SLICE_MS) } {
            n if n > 0 => Ok(true),
            0 => Ok(false),
            _ => {
                let error = std::io::Error::last_os_error();
                match error.kind() {
                    std::io::ErrorKind::Interrupted => Ok(false),
                    _ => Err(error),
                }
            }
        }
    }
}

#[cfg(target_os = "linux")]
impl<R: std::io::Read + std::os::unix::io::AsRawFd> std::io::Read for Watched<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        loop {
            self.stop.check().map_err(std::io::Error::other)?;
            if !self.nonblocking {
                if self.wait()? {
                    return self.inner.read(buf);
                }
                continue;
            }
            match self.inner.read(buf) {
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    self.wait()?;
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                other => return other,
            }
        }
    }
}

#[cfg(not(target_os = "linux"))]
impl<R: std::io::Read> std::io::Read for Watched<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.stop.check().map_err(std::io::Error::other)?;
        self.inner.read(buf)
    }
}

fn read_file(path: &Path, max_bytes: u64, stop: &StopToken) -> Result<Vec<u8>, InputError> {
    let unreadable = |error| InputError::Unreadable {
        path: Some(path.to_path_buf()),
        error,
    };
    let file = open_for_reading(path).map_err(|error| match error.kind() {
        std::io::ErrorKind::NotFound => InputError::NotFound {
            path: path.to_path_buf(),
        },
        _ => unreadable(error),
    })?;
    let meta = file.metadata().map_err(unreadable)?;
    let size = meta.is_file().then_some(meta.len());
    if let Some(bytes) = size.filter(|&len| len > max_bytes) {
        return Err(InputError::TooLarge {
            bytes: Some(bytes),
            limit: max_bytes,
        });
    }
    // The size check above can race with writers, and devices and pipes have
    // no size; the limited read guards against both.
    let read = if meta.is_file() {
        read_limited(file, max_bytes)
    } else {
        read_limited(Watched::own(file, stop), max_bytes)
    };
    read.map_err(|error| match error {
        ReadLimitError::Io(error) => aborted_or(error, unreadable),
        ReadLimitError::TooLarge => InputError::TooLarge {
            bytes: None,
            limit: max_bytes,
        },
    })
}

/// Opens `path` for reading without blocking on a named pipe that has no
/// writer: the file is opened with `O_NONBLOCK` (and `O_NOCTTY`), which is
/// then cleared so that reads wait for data as usual. A pipe without a
/// writer then reads as empty.
#[cfg(target_os = "linux")]
fn open_for_reading(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    use std::os::unix::io::AsRawFd;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)?;
    let fd = file.as_raw_fd();
    // SAFETY: `fd` is an open descriptor owned by `file` for this whole
    // block; F_GETFL/F_SETFL only read and change its status flags.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    if flags < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: as above.
    if unsafe { libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_NONBLOCK) } < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(file)
}

/// Opens `path` for reading. Without `libc` on this platform a named pipe
/// given on the command line blocks until a writer opens it (walked folders
/// never yield pipes).
#[cfg(not(target_os = "linux"))]
fn open_for_reading(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::File::open(path)
}

#[derive(Debug)]
enum ReadLimitError {
    Io(std::io::Error),
    /// More than the limit is available; nothing past `limit + 1` bytes was read.
    TooLarge,
}

/// Reads at most `max_bytes + 1` bytes; returns them if there were no more
/// than `max_bytes`, else [`ReadLimitError::TooLarge`]. The rest of the
/// source is never read.
fn read_limited<R: std::io::Read>(reader: R, max_bytes: u64) -> Result<Vec<u8>, ReadLimitError> {
    use std::io::Read;
    let mut buf = Vec::new();
    reader
        .take(max_bytes.saturating_add(1))
        .read_to_end(&mut buf)
        .map_err(ReadLimitError::Io)?;
    if buf.len() as u64 > max_bytes {
        return Err(ReadLimitError::TooLarge);
    }
    Ok(buf)
}

/// Reads and extracts one input, and guesses its language.
///
/// # Errors
///
/// Any error of [`read_source`] and [`extract_bytes`].
pub fn load_document(item: &InputItem, max_bytes: u64) -> Result<Document, InputError> {
    let bytes = read_source(item, max_bytes)?;
    Ok(extract_bytes(&bytes, item.kind, &StopToken::never())?.document)
}

/// A document extracted from an input, with what its source says about it
/// beyond the text.
#[derive(Debug, Clone, PartialEq)]
pub struct Extracted {
    /// The title and text, ready for prompting.
    pub document: Document,
    /// The web address the text came from: a feed item's link.
    pub link: Option<String>,
    /// When the text was published, RFC 3339, when the source says (a
    /// feed item's date, an e-mail's `Date`, a PDF's or DOCX's creation
    /// date).
    pub date: Option<String>,
    /// Things the reader of the result should know, e.g. that a feed item
    /// had only a teaser, or that an e-mail's attachments were left out.
    pub warnings: Vec<String>,
}

impl Extracted {
    /// The extracted document with nothing more known about its source.
    pub fn plain(document: Document) -> Extracted {
        Extracted {
            document,
            link: None,
            date: None,
            warnings: Vec::new(),
        }
    }

    /// The fields a manifest row records about the source: `format` (the
    /// input kind), and `link` and `date` when known.
    pub fn manifest_fields(&self, kind: InputKind) -> serde_json::Map<String, serde_json::Value> {
        let mut fields = serde_json::Map::new();
        fields.insert("format".into(), kind.to_string().into());
        if let Some(link) = &self.link {
            fields.insert("link".into(), link.clone().into());
        }
        if let Some(date) = &self.date {
            fields.insert("date".into(), date.clone().into());
        }
        fields
    }
}

/// Extracts the document from an input's bytes (as [`read_source`] returns
/// them) according to its kind: text formats are decoded and extracted as
/// [`decode_bytes`] and [`extract_document`] do; PDF, DOCX, ODT, e-mail and
/// feed items by their own readers. `stop` is checked between pages of a
/// PDF, so `--timeout-per-file` and Ctrl-C bound a slow document.
///
/// # Errors
///
/// Those of [`decode_bytes`] and [`extract_document`]; for the other
/// formats [`InputError::Broken`], [`InputError::Encrypted`],
/// [`InputError::NoTextLayer`], [`InputError::TooManyPages`],
/// [`InputError::Expands`], [`InputError::Empty`] and
/// [`InputError::Aborted`].
pub fn extract_bytes(
    bytes: &[u8],
    kind: InputKind,
    stop: &StopToken,
) -> Result<Extracted, InputError> {
    match kind {
        InputKind::Text | InputKind::Markdown | InputKind::Html => {
            let (text, encoding) = decode_bytes(bytes)?;
            let mut document = extract_document(&text, kind)?;
            document.encoding = encoding;
            Ok(Extracted::plain(document))
        }
        InputKind::Pdf => guarded("PDF", || pdf::extract(bytes, stop)),
        InputKind::Docx => guarded("DOCX", || office::extract_docx(bytes)),
        InputKind::Odt => guarded("ODT", || office::extract_odt(bytes)),
        InputKind::Email => guarded("e-mail", || email::extract(bytes)),
        InputKind::Feed => guarded("feed", || feed::extract_whole(bytes)),
        InputKind::FeedItem => guarded("feed", || feed::extract_item(bytes)),
    }
}

/// The reason of [`InputError::Broken`] when a third-party parser
/// panicked on an input (the panic was contained).
pub const PARSER_PANICKED: &str = "its parser failed on malformed data";

/// Runs a third-party parser on untrusted bytes: a panic in it (a bug
/// that a malformed file triggered) becomes [`InputError::Broken`] for
/// that file instead of an internal error.
fn guarded(
    format: &'static str,
    parse: impl FnOnce() -> Result<Extracted, InputError>,
) -> Result<Extracted, InputError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(parse)).unwrap_or_else(|_| {
        Err(InputError::Broken {
            format,
            reason: PARSER_PANICKED.into(),
        })
    })
}

/// One item of a feed as discovery lists it (see [`list_feed_items`]).
#[doc(hidden)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedItemListing {
    /// The item's stable id (guid, id, link, or a hash of its text).
    pub id: String,
    /// The id as shown after `#` in the input's name (controls escaped,
    /// long ids cut).
    pub shown: String,
    /// The file name part of the item's output (no path separator, never
    /// starts with `.`).
    pub slug: String,
}

/// The items of a feed's bytes as discovery lists them, in feed order,
/// repeated ids included (discovery reads only the first). An entry
/// point for the `extract_feed` fuzz target; the batch goes through
/// [`discover`] and [`read_source`].
///
/// # Errors
///
/// [`InputError::Broken`] when the bytes are not a feed.
#[doc(hidden)]
pub fn list_feed_items(bytes: &[u8]) -> Result<Vec<FeedItemListing>, InputError> {
    feed::listing(bytes)
}

/// The bytes an item input of a feed reads as (what [`read_source`] gives
/// for [`InputSource::FeedItem`], and [`extract_bytes`] with
/// [`InputKind::FeedItem`] takes). An entry point for the `extract_feed`
/// fuzz target.
///
/// # Errors
///
/// [`InputError::Broken`] when the bytes are not a feed,
/// [`InputError::FeedItemGone`] when no item has the id `id`.
#[doc(hidden)]
pub fn feed_item_bytes(feed_bytes: &[u8], id: &str) -> Result<Vec<u8>, InputError> {
    feed::item_bytes(feed_bytes, id)
}

/// A document from already extracted plain text (paragraphs separated by
/// blank lines) and an optional title: normalized, its language guessed.
///
/// # Errors
///
/// [`InputError::Empty`] when no text is left.
pub(crate) fn document_from_text(
    title: Option<String>,
    text: &str,
    encoding: &'static str,
) -> Result<Document, InputError> {
    let text = extract::normalize_paragraphs(text);
    if text.is_empty() {
        return Err(InputError::Empty);
    }
    let title = title
        .map(|t| t.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|t| !t.is_empty());
    Ok(Document {
        title,
        language: language::detect(&text),
        text,
        encoding,
    })
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
        assert_eq!(
            InputKind::from_path(Path::new("x.PDF")),
            Some(InputKind::Pdf)
        );
        assert_eq!(
            InputKind::from_path(Path::new("n.rss")),
            Some(InputKind::Feed)
        );
        assert_eq!(InputKind::from_path(Path::new("x.xml")), None);
        assert_eq!(InputKind::from_path(Path::new("x.doc")), None);
        assert_eq!(InputKind::from_path(Path::new("README")), None);
        assert_eq!(InputKind::from_path(Path::new(".txt")), None);
    }

    #[test]
    fn kind_displays_lowercase() {
        let kinds = [
            InputKind::Text,
            InputKind::Markdown,
            InputKind::Html,
            InputKind::Pdf,
            InputKind::Docx,
            InputKind::Odt,
            InputKind::Email,
            InputKind::Feed,
            InputKind::FeedItem,
        ];
        let names: Vec<String> = kinds.iter().map(ToString::to_string).collect();
        assert_eq!(
            names,
            [
                "text",
                "markdown",
                "html",
                "pdf",
                "docx",
                "odt",
                "email",
                "feed",
                "feed-item"
            ]
        );
        for kind in kinds {
            assert_eq!(
                serde_json::to_value(kind).unwrap(),
                serde_json::Value::String(kind.to_string())
            );
        }
    }

    #[test]
    fn error_messages_are_clear() {
        let msg = |e: InputError| e.to_string();
        assert_eq!(
            msg(InputError::TooLarge {
                bytes: Some(3_355_443),
                limit: 2 * 1024 * 1024
            }),
            "file is 3.2 MiB, over the 2.0 MiB limit (--max-bytes)"
        );
        assert_eq!(
            msg(InputError::TooLarge {
                bytes: Some(2 * 1024 * 1024 + 1),
                limit: 2 * 1024 * 1024
            }),
            "file is 2097153 bytes, over the 2097152 bytes limit (--max-bytes)"
        );
        assert_eq!(
            msg(InputError::TooLarge {
                bytes: None,
                limit: 2 * 1024 * 1024
            }),
            "input is more than 2.0 MiB (2097152 bytes), over the limit (--max-bytes)"
        );
        assert_eq!(
            msg(InputError::TooLarge {
                bytes: None,
                limit: 100
            }),
            "input is more than 100 bytes, over the limit (--max-bytes)"
        );
        assert_eq!(
            msg(InputError::TooDeep {
                markup: "HTML",
                limit: 512
            }),
            "HTML nested too deeply (more than 512 levels)"
        );
        assert_eq!(
            msg(InputError::TooManyElements {
                markup: "Markdown",
                limit: 1000
            }),
            "Markdown has too many elements (more than 1000)"
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
                assert_eq!((bytes, limit), (Some(2000), 1000));
            }
            other => panic!("expected TooLarge, got {other:?}"),
        }
        assert_eq!(read_source(&item, 2000).unwrap().len(), 2000);
    }

    /// A FIFO whose writer stays open but never writes: the read ends when
    /// the deadline passes or the run is interrupted, not when data comes.
    #[cfg(target_os = "linux")]
    #[test]
    fn a_silent_pipe_gives_up_on_the_stop_token() {
        use crate::stop::Interrupt;
        use std::time::{Duration, Instant};
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("silent.txt");
        make_fifo(&fifo);
        // Held open read-write: a writer that never writes and never closes.
        let _writer = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&fifo)
            .unwrap();
        let item = file_item(&fifo, InputKind::Text);

        let started = Instant::now();
        let deadline = StopToken::new(&Interrupt::new(), Some(Duration::from_millis(300)));
        match read_source_until(&item, 1000, &deadline) {
            Err(InputError::Aborted(Abort::TimedOut(_))) => {}
            other => panic!("expected a timeout, got {other:?}"),
        }
        assert!(started.elapsed() < Duration::from_secs(10));

        let interrupt = Interrupt::new();
        interrupt.raise(15);
        let err = read_source_until(&item, 1000, &StopToken::new(&interrupt, None)).unwrap_err();
        assert!(
            matches!(err, InputError::Aborted(Abort::Interrupted)),
            "{err:?}"
        );
        assert_eq!(err.to_string(), "interrupted");
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

    /// An endless reader that counts the bytes it hands out.
    struct Endless {
        handed_out: u64,
    }

    impl std::io::Read for Endless {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            buf.fill(b'y');
            self.handed_out += buf.len() as u64;
            Ok(buf.len())
        }
    }

    #[test]
    fn read_limited_stops_one_byte_past_the_limit() {
        let data = vec![b'x'; 5000];
        assert!(matches!(
            read_limited(&data[..], 100),
            Err(ReadLimitError::TooLarge)
        ));
        assert!(matches!(read_limited(&data[..], 5000), Ok(v) if v.len() == 5000));
        assert!(matches!(
            read_limited(&data[..], 4999),
            Err(ReadLimitError::TooLarge)
        ));
        assert!(matches!(read_limited(&b""[..], 0), Ok(v) if v.is_empty()));
        assert!(matches!(
            read_limited(&b"a"[..], 0),
            Err(ReadLimitError::TooLarge)
        ));
    }

    #[test]
    fn read_limited_never_drains_an_endless_source() {
        let mut endless = Endless { handed_out: 0 };
        assert!(matches!(
            read_limited(&mut endless, 10_000),
            Err(ReadLimitError::TooLarge)
        ));
        // `Take` never asks for more than the remaining `limit + 1` bytes.
        assert_eq!(endless.handed_out, 10_001);
    }

    #[test]
    fn dev_zero_is_too_large_without_a_size() {
        let item = file_item(Path::new("/dev/zero"), InputKind::Text);
        match read_source(&item, 4096) {
            Err(
                e @ InputError::TooLarge {
                    bytes: None,
                    limit: 4096,
                },
            ) => {
                assert!(e.to_string().contains("(--max-bytes)"), "{e}");
                assert!(
                    e.to_string().starts_with("input is more than 4.0 KiB"),
                    "{e}"
                );
            }
            other => panic!("expected TooLarge, got {other:?}"),
        }
    }

    /// Creates a named pipe (also used by `discover`'s tests).
    #[cfg(target_os = "linux")]
    pub(super) fn make_fifo(path: &Path) {
        use std::os::unix::ffi::OsStrExt;
        let c = std::ffi::CString::new(path.as_os_str().as_bytes()).unwrap();
        // SAFETY: `c` is a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn fifo_without_writer_does_not_block() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pipe.txt");
        make_fifo(&path);
        let item = file_item(&path, InputKind::Text);
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(read_source(&item, 1000).map(|b| b.len()));
        });
        let got = rx
            .recv_timeout(std::time::Duration::from_secs(20))
            .expect("opening a FIFO without a writer blocked");
        assert_eq!(got.unwrap(), 0);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn fifo_with_endless_writer_stops_at_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("endless.txt");
        make_fifo(&path);
        // Opening read-write never blocks on Linux; the writer thread keeps
        // the pipe full (and stays blocked in `write` once the test is done).
        let mut writer = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .unwrap();
        std::thread::spawn(move || {
            use std::io::Write;
            while writer.write_all(&[b'y'; 4096]).is_ok() {}
        });
        let item = file_item(&path, InputKind::Text);
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(read_source(&item, 100_000));
        });
        let got = rx
            .recv_timeout(std::time::Duration::from_secs(20))
            .expect("reading an endless FIFO did not stop");
        assert!(
            matches!(
                got,
                Err(InputError::TooLarge {
                    bytes: None,
                    limit: 100_000
                })
            ),
            "{got:?}"
        );
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
