//! Finding inputs: explicit files, folders walked recursively (honouring
//! hidden files, `.gitignore` and `.ignore`), and `-` for standard input.
//!
//! Walking a folder takes regular files only: named pipes, sockets and
//! devices are skipped with a note, and so is a symbolic link whose target
//! lies outside the folder that was given (a link to `/etc/shadow` inside an
//! article folder is never read). A path named on the command line is taken
//! whatever it is: that is the user's choice.
//!
//! File names are shown and turned into output paths with [`escape_name`],
//! which keeps every byte of a name that is not valid UTF-8 (as `%XX`), so
//! two different names never share a display name or an output path.

use std::collections::HashSet;
use std::ffi::{OsStr, OsString};
use std::fs::FileType;
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Mutex};

use ignore::gitignore::{Gitignore, GitignoreBuilder};
use ignore::WalkBuilder;

use super::{InputError, InputItem, InputKind, InputSource, SUPPORTED_EXTENSIONS};
use crate::sync::lock;

/// Filters for files found while walking folders.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DiscoverOptions {
    /// Glob patterns (gitignore syntax); if any are given, only walked files
    /// matching at least one are taken.
    pub include: Vec<String>,
    /// Glob patterns (gitignore syntax); walked files matching any are dropped.
    pub exclude: Vec<String>,
    /// Largest feed file read to list its items (`--max-bytes`); `None`
    /// means [`DEFAULT_MAX_BYTES`](super::DEFAULT_MAX_BYTES).
    pub max_bytes: Option<u64>,
}

/// A path that was found but will not be processed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedPath {
    /// The path as found or given.
    pub path: PathBuf,
    /// Why it is skipped, e.g. "unsupported extension .doc (supported: …)".
    pub reason: String,
}

/// The outcome of [`discover`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Discovery {
    /// Inputs to process, sorted by `display` (byte order), without duplicates.
    pub inputs: Vec<InputItem>,
    /// Paths that were found but skipped, sorted by path.
    pub skipped: Vec<SkippedPath>,
}

/// Finds the inputs named by `paths`.
///
/// Each path is a file (taken even if hidden), a folder (walked recursively,
/// skipping hidden and ignored files, filtered by `options`), or `-` for
/// standard input. A feed file (`.rss`, `.atom`, `.feed`, or a regular
/// `.xml`/`.json` file whose start looks like a feed) is read, up to
/// `options.max_bytes`, and split into one input per item
/// ([`InputSource::FeedItem`], shown as `<feed>#<item id>`, output under
/// `<feed without extension>/`); a feed that cannot be read or parsed
/// stays one input, whose processing reports why. A repeated item id is
/// skipped with a note. Files with unsupported extensions end up in
/// [`Discovery::skipped`], and so do, while walking, named pipes, sockets
/// and devices ("not a regular file (fifo)"), symlinks whose target is
/// outside the folder given ("symlink points outside <folder>"), broken
/// symlinks, unreadable folders, and folders whose `.gitignore`/`.ignore`
/// is not a regular file or is over 1 MiB. A path given directly is taken
/// whatever it is. A path that does not exist is an error.
///
/// # Errors
///
/// [`InputError::NotFound`] for a missing path, [`InputError::Unreadable`]
/// when a path's metadata cannot be read, [`InputError::InvalidPattern`]
/// for a bad glob and [`InputError::Walk`] when a folder cannot be walked.
pub fn discover(paths: &[PathBuf], options: &DiscoverOptions) -> Result<Discovery, InputError> {
    let filter = Filter::new(options)?;
    let cwd = std::env::current_dir().ok();
    let mut found = Found {
        max_bytes: options.max_bytes.unwrap_or(super::DEFAULT_MAX_BYTES),
        ..Found::default()
    };
    for path in paths {
        if path.as_os_str() == "-" {
            found.inputs.push((None, InputItem::stdin()));
            continue;
        }
        let meta = std::fs::metadata(path).map_err(|error| match error.kind() {
            std::io::ErrorKind::NotFound => InputError::NotFound { path: path.clone() },
            _ => InputError::Unreadable {
                path: Some(path.clone()),
                error,
            },
        })?;
        if meta.is_dir() {
            walk(path, &filter, cwd.as_deref(), &mut found)?;
        } else {
            found.add_file(path, cwd.as_deref());
        }
    }
    Ok(found.finish())
}

/// Inputs and skipped paths collected so far; inputs carry their canonical
/// path (if known) for de-duplication.
#[derive(Default)]
struct Found {
    inputs: Vec<(Option<PathBuf>, InputItem)>,
    skipped: Vec<SkippedPath>,
    /// Largest feed file read to list its items.
    max_bytes: u64,
}

impl Found {
    fn add_file(&mut self, path: &Path, cwd: Option<&Path>) {
        match InputKind::from_path(path).or_else(|| sniff_feed(path)) {
            Some(InputKind::Feed) => self.add_feed(path, cwd),
            Some(kind) => {
                let canonical = std::fs::canonicalize(path).ok();
                self.inputs.push((canonical, file_item(path, kind, cwd)));
            }
            None => self.skipped.push(SkippedPath {
                path: path.to_path_buf(),
                reason: unsupported_reason(path),
            }),
        }
    }

    /// Adds one input per item of a feed, or the whole feed as one input
    /// when it cannot be read or parsed now (processing it says why).
    fn add_feed(&mut self, path: &Path, cwd: Option<&Path>) {
        let canonical = std::fs::canonicalize(path).ok();
        let whole = file_item(path, InputKind::Feed, cwd);
        let ids = std::fs::metadata(path)
            .is_ok_and(|m| m.is_file())
            .then(|| super::read_source(&whole, self.max_bytes).ok())
            .flatten()
            .and_then(|bytes| super::feed::list_items(&bytes).ok())
            .filter(|ids| !ids.is_empty());
        let Some(ids) = ids else {
            self.inputs.push((canonical, whole));
            return;
        };
        let mut seen = HashSet::new();
        for id in ids {
            let shown = super::feed::shown_id(&id);
            if !seen.insert(id.clone()) {
                self.skipped.push(SkippedPath {
                    path: PathBuf::from(format!("{}#{shown}", whole.display)),
                    reason: "the feed repeats this item id; only its first item is read".into(),
                });
                continue;
            }
            let key = canonical.as_ref().map(|c| {
                let mut key = c.clone().into_os_string();
                key.push("#");
                key.push(&id);
                PathBuf::from(key)
            });
            let item = InputItem {
                display: format!("{}#{shown}", whole.display),
                output_stem: whole.output_stem.join(super::feed::slug(&id)),
                kind: InputKind::FeedItem,
                source: InputSource::FeedItem {
                    path: path.to_path_buf(),
                    id,
                },
            };
            self.inputs.push((key, item));
        }
    }

    fn finish(mut self) -> Discovery {
        self.inputs
            .sort_by(|a, b| a.1.display.as_bytes().cmp(b.1.display.as_bytes()));
        let mut seen = HashSet::new();
        let mut stdin_seen = false;
        let mut inputs = Vec::with_capacity(self.inputs.len());
        for (canonical, item) in self.inputs {
            let first = match (&item.source, canonical) {
                (InputSource::Stdin, _) => !std::mem::replace(&mut stdin_seen, true),
                (_, Some(key)) => seen.insert(key),
                (InputSource::File(path), None) => seen.insert(path.clone()),
                (InputSource::FeedItem { .. }, None) => seen.insert(PathBuf::from(&item.display)),
            };
            if first {
                inputs.push(item);
            }
        }
        self.skipped.sort_by(|a, b| a.path.cmp(&b.path));
        self.skipped.dedup();
        Discovery {
            inputs,
            skipped: self.skipped,
        }
    }
}

/// Walks one folder and adds the files it holds.
///
/// The walk itself keeps no recursion on the call stack (a tree of 10,000
/// nested folders is fine; folders whose paths get too long for the system
/// are skipped with a note), and a folder that cannot be read is skipped
/// with a note while the walk goes on.
fn walk(
    root: &Path,
    filter: &Filter,
    cwd: Option<&Path>,
    found: &mut Found,
) -> Result<(), InputError> {
    let canonical_root = std::fs::canonicalize(root)
        .map_err(|error| InputError::Walk(format!("{}: {error}", escape_name(root.as_os_str()))))?;
    if let Some(reason) = bad_ignore_file(root) {
        found.skipped.push(SkippedPath {
            path: root.to_path_buf(),
            reason,
        });
        return Ok(());
    }
    // Folders are checked before the walker reads their ignore files.
    let notes = Arc::new(Mutex::new(Vec::new()));
    let folder_notes = Arc::clone(&notes);
    let walker = WalkBuilder::new(root)
        .require_git(false)
        .git_global(false)
        .hidden(true)
        .follow_links(false)
        .filter_entry(move |entry| {
            if !entry.file_type().is_some_and(|t| t.is_dir()) {
                return true;
            }
            let Some(reason) = bad_ignore_file(entry.path()) else {
                return true;
            };
            lock(&folder_notes).push(SkippedPath {
                path: entry.path().to_path_buf(),
                reason,
            });
            false
        })
        .build();
    for entry in walker {
        let entry = match entry {
            Ok(entry) => entry,
            Err(error) if is_root_error(&error, root) => {
                return Err(InputError::Walk(error.to_string()));
            }
            Err(error) => {
                found.skipped.push(walk_error_skip(&error, root));
                continue;
            }
        };
        let Some(file_type) = entry.file_type() else {
            continue;
        };
        let path = entry.path();
        if file_type.is_dir() || !filter.accepts(path.strip_prefix(root).unwrap_or(path)) {
            continue;
        }
        match classify(path, file_type, &canonical_root, root) {
            Walked::File => found.add_file(path, cwd),
            Walked::Skip(reason) => found.skipped.push(SkippedPath {
                path: path.to_path_buf(),
                reason,
            }),
            Walked::Ignore => {}
        }
    }
    found.skipped.append(&mut lock(&notes));
    Ok(())
}

/// Largest ignore file (`.gitignore`, `.ignore`, `.git/info/exclude`) the
/// walker may read.
const MAX_IGNORE_FILE_BYTES: u64 = 1024 * 1024;
/// The ignore files the walker reads in each folder.
const IGNORE_FILES: [&str; 3] = [".gitignore", ".ignore", ".git/info/exclude"];

/// Why the folder `dir` must not be walked, if one of its ignore files is
/// not a regular file (a named pipe would block the walker, `/dev/zero`
/// would never end) or is implausibly large.
fn bad_ignore_file(dir: &Path) -> Option<String> {
    IGNORE_FILES.iter().find_map(|name| {
        let meta = std::fs::metadata(dir.join(name)).ok()?;
        if let Some(kind) = special_kind(meta.file_type()).or(meta.is_dir().then_some("folder")) {
            return Some(format!("its {name} is not a regular file ({kind})"));
        }
        (meta.len() > MAX_IGNORE_FILE_BYTES).then(|| {
            format!(
                "its {name} is larger than {}",
                super::human_size(MAX_IGNORE_FILE_BYTES)
            )
        })
    })
}

/// What to do with a non-folder entry met while walking.
#[derive(Debug, PartialEq, Eq)]
enum Walked {
    /// A regular file (or a link to one inside the tree): an input candidate.
    File,
    /// Skipped, with the reason shown to the user.
    Skip(String),
    /// Left out silently: a link to a folder inside the tree (which is
    /// walked on its own).
    Ignore,
}

/// Decides about one walked entry of type `file_type` (not followed).
fn classify(path: &Path, file_type: FileType, canonical_root: &Path, root: &Path) -> Walked {
    if !file_type.is_symlink() {
        return match special_kind(file_type) {
            Some(kind) => Walked::Skip(format!("not a regular file ({kind})")),
            None => Walked::File,
        };
    }
    let target = match std::fs::canonicalize(path) {
        Ok(target) => target,
        Err(error) => return Walked::Skip(format!("broken symlink ({error})")),
    };
    if !target.starts_with(canonical_root) {
        return Walked::Skip(format!(
            "symlink points outside {}",
            escape_name(root.as_os_str())
        ));
    }
    match std::fs::metadata(&target) {
        Ok(meta) if meta.is_dir() => Walked::Ignore,
        Ok(meta) => match special_kind(meta.file_type()) {
            Some(kind) => Walked::Skip(format!("not a regular file ({kind})")),
            None => Walked::File,
        },
        Err(error) => Walked::Skip(format!("cannot read symlink target ({error})")),
    }
}

/// The kind of a file that is neither a regular file, a folder nor a link.
fn special_kind(file_type: FileType) -> Option<&'static str> {
    if file_type.is_file() || file_type.is_dir() || file_type.is_symlink() {
        return None;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if file_type.is_fifo() {
            return Some("fifo");
        }
        if file_type.is_socket() {
            return Some("socket");
        }
        if file_type.is_block_device() {
            return Some("block device");
        }
        if file_type.is_char_device() {
            return Some("character device");
        }
    }
    Some("special file")
}

/// Whether a walk error concerns the walked root itself.
fn is_root_error(error: &ignore::Error, root: &Path) -> bool {
    error.depth() == Some(0) || error_path(error).is_some_and(|p| p == root)
}

/// The path a walk error is about, if it names one.
fn error_path(error: &ignore::Error) -> Option<&Path> {
    match error {
        ignore::Error::WithPath { path, .. } => Some(path),
        ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => {
            error_path(err)
        }
        ignore::Error::Loop { child, .. } => Some(child),
        _ => None,
    }
}

fn walk_error_skip(error: &ignore::Error, root: &Path) -> SkippedPath {
    SkippedPath {
        path: error_path(error).unwrap_or(root).to_path_buf(),
        reason: format!("cannot read while walking folder: {error}"),
    }
}

/// The compiled `--include` / `--exclude` globs.
struct Filter {
    include: Option<Gitignore>,
    exclude: Option<Gitignore>,
}

impl Filter {
    fn new(options: &DiscoverOptions) -> Result<Filter, InputError> {
        Ok(Filter {
            include: compile("include", &options.include)?,
            exclude: compile("exclude", &options.exclude)?,
        })
    }

    /// Whether a walked file (path relative to the walked root) passes.
    fn accepts(&self, relative: &Path) -> bool {
        let included = self.include.as_ref().is_none_or(|g| matches(g, relative));
        let excluded = self.exclude.as_ref().is_some_and(|g| matches(g, relative));
        included && !excluded
    }
}

/// Compiles glob patterns with gitignore semantics (a pattern without `/`
/// matches a file or folder name at any depth; `dir/` matches everything
/// under `dir`). `None` when no patterns are given.
fn compile(option: &'static str, patterns: &[String]) -> Result<Option<Gitignore>, InputError> {
    if patterns.is_empty() {
        return Ok(None);
    }
    let mut builder = GitignoreBuilder::new("");
    for pattern in patterns {
        builder
            .add_line(None, pattern)
            .map_err(|e| InputError::InvalidPattern {
                option,
                pattern: pattern.clone(),
                reason: glob_error_reason(&e),
            })?;
    }
    builder
        .build()
        .map(Some)
        .map_err(|e| InputError::InvalidPattern {
            option,
            pattern: patterns.join(" "),
            reason: glob_error_reason(&e),
        })
}

fn glob_error_reason(error: &ignore::Error) -> String {
    match error {
        ignore::Error::Glob { err, .. } => err.clone(),
        other => other.to_string(),
    }
}

/// Whether `relative` (or one of its parent folders, or its file name)
/// matches the compiled globs.
fn matches(globs: &Gitignore, relative: &Path) -> bool {
    if globs
        .matched_path_or_any_parents(relative, false)
        .is_ignore()
    {
        return true;
    }
    relative
        .file_name()
        .is_some_and(|name| globs.matched(Path::new(name), false).is_ignore())
}

/// `Some(Feed)` for a regular `.xml` or `.json` file whose first KiB looks
/// like a feed.
fn sniff_feed(path: &Path) -> Option<InputKind> {
    use std::io::Read;
    let ext = path.extension()?.to_str()?.to_ascii_lowercase();
    if !matches!(ext.as_str(), "xml" | "json") || !std::fs::metadata(path).ok()?.is_file() {
        return None;
    }
    let mut head = Vec::with_capacity(1024);
    std::fs::File::open(path)
        .ok()?
        .take(1024)
        .read_to_end(&mut head)
        .ok()?;
    super::feed::looks_like_feed(&head).then_some(InputKind::Feed)
}

fn unsupported_reason(path: &Path) -> String {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    if let Some("xml" | "json") = ext.as_deref() {
        return "not a feed (.xml and .json files are read only when they hold an RSS, Atom or JSON feed)".to_string();
    }
    let supported = SUPPORTED_EXTENSIONS.map(|e| format!(".{e}")).join(", ");
    match path.extension() {
        Some(ext) => format!(
            "unsupported extension .{} (supported: {supported})",
            escape_name(ext)
        ),
        None => format!("no file extension (supported: {supported})"),
    }
}

fn file_item(path: &Path, kind: InputKind, cwd: Option<&Path>) -> InputItem {
    let display = display_path(path, cwd);
    InputItem {
        source: InputSource::File(path.to_path_buf()),
        output_stem: output_stem_for(Path::new(&display)),
        display,
        kind,
    }
}

/// The path as shown to the user: relative to `cwd` if it is absolute and
/// under it, with `/` separators, escaped with [`escape_name`].
fn display_path(path: &Path, cwd: Option<&Path>) -> String {
    let shown = match cwd {
        Some(cwd) if path.is_absolute() => path.strip_prefix(cwd).unwrap_or(path),
        _ => path,
    };
    let text = escape_name(shown.as_os_str());
    if std::path::MAIN_SEPARATOR == '/' {
        text
    } else {
        text.replace(std::path::MAIN_SEPARATOR, "/")
    }
}

/// Escapes a file name (or a whole path) into a string, reversibly.
///
/// A name that is valid UTF-8 and holds no `%XX` sequence (`%` followed by
/// two uppercase hex digits) is returned unchanged, so ordinary names —
/// `100%.txt` included — look as they are. Any other name is escaped: each
/// byte that is not part of valid UTF-8 becomes `%XX` (uppercase hex) and
/// each `%` becomes `%25`; `bad\xff.txt` becomes `bad%FF.txt` and
/// `50%\xfe.txt` becomes `50%25%FE.txt`. An escaped name always contains a
/// `%XX` sequence and an unchanged one never does, so [`unescape_name`]
/// recovers the original bytes and different names never get the same
/// string. Path separators are kept.
///
/// On platforms whose names are not bytes (Windows), a name that is not
/// valid Unicode is shown lossily.
pub fn escape_name(name: &OsStr) -> String {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        escape_bytes(name.as_bytes())
    }
    #[cfg(not(unix))]
    {
        match name.to_str() {
            Some(text) => escape_bytes(text.as_bytes()),
            None => name.to_string_lossy().into_owned(),
        }
    }
}

/// The inverse of [`escape_name`]: a string without a `%XX` sequence is
/// the name itself; otherwise every `%XX` is decoded to its byte (a `%` not
/// followed by two uppercase hex digits stays as it is).
pub fn unescape_name(escaped: &str) -> OsString {
    let bytes = unescape_bytes(escaped);
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStringExt;
        OsString::from_vec(bytes)
    }
    #[cfg(not(unix))]
    {
        OsString::from(String::from_utf8_lossy(&bytes).into_owned())
    }
}

fn escape_bytes(bytes: &[u8]) -> String {
    if let Ok(text) = std::str::from_utf8(bytes) {
        if !has_escape(text.as_bytes()) {
            return text.to_owned();
        }
    }
    let mut out = String::with_capacity(bytes.len() + 8);
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            if c == '%' {
                out.push_str("%25");
            } else {
                out.push(c);
            }
        }
        for &byte in chunk.invalid() {
            push_escaped(&mut out, byte);
        }
    }
    out
}

fn push_escaped(out: &mut String, byte: u8) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    out.push('%');
    out.push(char::from(HEX[usize::from(byte >> 4)]));
    out.push(char::from(HEX[usize::from(byte & 0xF)]));
}

fn unescape_bytes(escaped: &str) -> Vec<u8> {
    let bytes = escaped.as_bytes();
    if !has_escape(bytes) {
        return bytes.to_vec();
    }
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match escape_at(bytes, i) {
            Some(byte) => {
                out.push(byte);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    out
}

/// Whether `bytes` holds a `%XX` sequence (uppercase hex).
fn has_escape(bytes: &[u8]) -> bool {
    (0..bytes.len()).any(|i| escape_at(bytes, i).is_some())
}

/// The byte of a `%XX` sequence (uppercase hex) starting at `i`, if any.
fn escape_at(bytes: &[u8], i: usize) -> Option<u8> {
    match bytes.get(i..i + 3)? {
        [b'%', hi, lo] => Some(upper_hex(*hi)? << 4 | upper_hex(*lo)?),
        _ => None,
    }
}

fn upper_hex(digit: u8) -> Option<u8> {
    match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'A'..=b'F' => Some(digit - b'A' + 10),
        _ => None,
    }
}

/// The output path (relative, without extension) for a displayed input path.
///
/// Keeps only normal components (drops `.`, `..`, root and prefix
/// components), escapes components that are not valid UTF-8 with
/// [`escape_name`] (a display path is escaped already and stays as it is)
/// and strips the last extension: `a/b.c.html` → `a/b.c`,
/// `/tmp/x.md` → `tmp/x`, `../x/y.md` → `x/y`. Never returns an empty,
/// absolute or `..`-containing path (`input` if nothing is left).
pub fn output_stem_for(display_path: &Path) -> PathBuf {
    let mut parts: Vec<String> = display_path
        .components()
        .filter_map(|c| match c {
            Component::Normal(part) => Some(
                part.to_str()
                    .map_or_else(|| escape_name(part), str::to_owned),
            ),
            _ => None,
        })
        .collect();
    let Some(last) = parts.pop() else {
        return PathBuf::from("input");
    };
    parts.push(strip_extension(&last));
    parts.iter().collect()
}

/// Removes the last extension of a file name; a name that would become
/// empty or only dots has its dots replaced by `_` instead.
fn strip_extension(name: &str) -> String {
    let stem = match name.rfind('.') {
        Some(dot) if dot > 0 => &name[..dot],
        _ => name,
    };
    if stem.chars().all(|c| c == '.') {
        name.replace('.', "_")
    } else {
        stem.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn stem(p: &str) -> PathBuf {
        output_stem_for(Path::new(p))
    }

    #[test]
    fn stem_relative_paths() {
        assert_eq!(stem("a/b/c.html"), PathBuf::from("a/b/c"));
        assert_eq!(stem("a.txt"), PathBuf::from("a"));
        assert_eq!(stem("./a.txt"), PathBuf::from("a"));
        assert_eq!(stem("a/b.c.html"), PathBuf::from("a/b.c"));
        assert_eq!(stem("notes/README"), PathBuf::from("notes/README"));
    }

    #[test]
    fn stem_drops_parent_components() {
        assert_eq!(stem("../x/y.md"), PathBuf::from("x/y"));
        assert_eq!(stem("a/../../b.txt"), PathBuf::from("a/b"));
        assert_eq!(stem("../../z.html"), PathBuf::from("z"));
        assert_eq!(stem("./../a/./b.md"), PathBuf::from("a/b"));
    }

    #[test]
    fn stem_of_absolute_path_is_relative() {
        let s = stem("/tmp/articles/x.md");
        assert_eq!(s, PathBuf::from("tmp/articles/x"));
        assert!(s.is_relative());
        assert!(!stem("/x.md").has_root());
    }

    #[test]
    fn stem_is_never_empty_or_dots() {
        assert_eq!(stem(""), PathBuf::from("input"));
        assert_eq!(stem("/"), PathBuf::from("input"));
        assert_eq!(stem(".."), PathBuf::from("input"));
        assert_eq!(stem("a/..md"), PathBuf::from("a/__md"));
        assert_eq!(stem(".hidden.md"), PathBuf::from(".hidden"));
        assert_eq!(stem(".profile"), PathBuf::from(".profile"));
    }

    #[test]
    fn stems_never_escape() {
        for p in [
            "../../../etc/passwd.txt",
            "/../a.md",
            "a/./../.././b/../c.md",
            "...",
        ] {
            let s = stem(p);
            assert!(s.is_relative(), "{p}");
            assert!(
                s.components().all(|c| matches!(c, Component::Normal(_))),
                "{p} -> {s:?}"
            );
        }
    }

    /// A folder with a mix of files for the walking tests.
    fn tree() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for f in [
            "a.txt",
            "b.md",
            "sub/c.html",
            "sub/deep/d.markdown",
            "sub/e.HTM",
            "drafts/f.md",
            "paper.doc",
            "noext",
            ".hidden.md",
            ".secret/g.md",
            "ignored.md",
            "build/h.md",
        ] {
            let path = root.join(f);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, "Text").unwrap();
        }
        fs::write(root.join(".gitignore"), "ignored.md\n").unwrap();
        fs::write(root.join(".ignore"), "build/\n").unwrap();
        dir
    }

    fn rel_displays(d: &Discovery, root: &Path) -> Vec<String> {
        let prefix = format!(
            "{}/",
            display_path(root, std::env::current_dir().ok().as_deref())
        );
        d.inputs
            .iter()
            .map(|i| {
                i.display
                    .strip_prefix(&prefix)
                    .unwrap_or(&i.display)
                    .to_string()
            })
            .collect()
    }

    #[test]
    fn walks_folder_respecting_hidden_and_ignore_files() {
        let dir = tree();
        let d = discover(&[dir.path().to_path_buf()], &DiscoverOptions::default()).unwrap();
        assert_eq!(
            rel_displays(&d, dir.path()),
            [
                "a.txt",
                "b.md",
                "drafts/f.md",
                "sub/c.html",
                "sub/deep/d.markdown",
                "sub/e.HTM"
            ]
        );
        let kinds: Vec<InputKind> = d.inputs.iter().map(|i| i.kind).collect();
        assert_eq!(
            kinds,
            [
                InputKind::Text,
                InputKind::Markdown,
                InputKind::Markdown,
                InputKind::Html,
                InputKind::Markdown,
                InputKind::Html
            ]
        );
        let skipped: Vec<&Path> = d.skipped.iter().map(|s| s.path.as_path()).collect();
        assert_eq!(
            skipped,
            [dir.path().join("noext"), dir.path().join("paper.doc")]
        );
        assert_eq!(
            d.skipped[1].reason,
            "unsupported extension .doc (supported: .txt, .md, .markdown, .html, .htm, .pdf, .docx, .odt, .eml, .rss, .atom, .xml, .json, .feed)"
        );
        assert!(d.skipped[0].reason.starts_with("no file extension"));
    }

    #[test]
    fn output_stems_follow_display() {
        let dir = tree();
        let d = discover(&[dir.path().to_path_buf()], &DiscoverOptions::default()).unwrap();
        for item in &d.inputs {
            assert_eq!(item.output_stem, output_stem_for(Path::new(&item.display)));
            assert!(item.output_stem.is_relative());
        }
        let c = d
            .inputs
            .iter()
            .find(|i| i.display.ends_with("sub/c.html"))
            .unwrap();
        assert!(c.output_stem.ends_with("sub/c"));
    }

    #[test]
    fn include_and_exclude_filter_walked_files() {
        let dir = tree();
        let root = dir.path().to_path_buf();
        let only_md = DiscoverOptions {
            include: vec!["*.md".into(), "*.markdown".into()],
            exclude: vec!["drafts/".into()],
            max_bytes: None,
        };
        let d = discover(std::slice::from_ref(&root), &only_md).unwrap();
        assert_eq!(rel_displays(&d, &root), ["b.md", "sub/deep/d.markdown"]);

        let by_path = DiscoverOptions {
            include: vec!["sub/**".into()],
            exclude: vec!["*.htm".into(), "deep".into()],
            max_bytes: None,
        };
        let d = discover(std::slice::from_ref(&root), &by_path).unwrap();
        // Globs are case-sensitive, so `*.htm` does not drop `e.HTM`.
        assert_eq!(rel_displays(&d, &root), ["sub/c.html", "sub/e.HTM"]);
    }

    #[test]
    fn filters_do_not_apply_to_explicit_files() {
        let dir = tree();
        let opts = DiscoverOptions {
            include: vec![],
            exclude: vec!["*.txt".into()],
            max_bytes: None,
        };
        let d = discover(&[dir.path().join("a.txt")], &opts).unwrap();
        assert_eq!(d.inputs.len(), 1);
    }

    #[test]
    fn invalid_glob_is_an_error() {
        let opts = DiscoverOptions {
            include: vec!["a{b".into()],
            exclude: vec![],
            max_bytes: None,
        };
        let err = discover(&[], &opts).unwrap_err();
        assert!(
            matches!(
                err,
                InputError::InvalidPattern {
                    option: "include",
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(err
            .to_string()
            .starts_with("invalid --include pattern \"a{b\": "));
    }

    #[test]
    fn explicit_hidden_file_is_taken() {
        let dir = tree();
        let d = discover(
            &[dir.path().join(".hidden.md")],
            &DiscoverOptions::default(),
        )
        .unwrap();
        assert_eq!(d.inputs.len(), 1);
        assert_eq!(d.inputs[0].kind, InputKind::Markdown);
        assert!(d.inputs[0].output_stem.ends_with(".hidden"));
    }

    #[test]
    fn explicit_unsupported_file_is_skipped() {
        let dir = tree();
        let d = discover(&[dir.path().join("paper.doc")], &DiscoverOptions::default()).unwrap();
        assert!(d.inputs.is_empty());
        assert_eq!(d.skipped.len(), 1);
        assert!(d.skipped[0].reason.contains(".doc"));
    }

    #[test]
    fn missing_path_is_not_found() {
        let dir = tree();
        let missing = dir.path().join("nope");
        match discover(std::slice::from_ref(&missing), &DiscoverOptions::default()) {
            Err(InputError::NotFound { path }) => assert_eq!(path, missing),
            other => panic!("expected NotFound, got {other:?}"),
        }
    }

    #[test]
    fn duplicates_are_removed() {
        let dir = tree();
        let a = dir.path().join("a.txt");
        let a_again = dir.path().join("sub/../a.txt");
        let d = discover(
            &[a.clone(), dir.path().to_path_buf(), a_again, a],
            &DiscoverOptions::default(),
        )
        .unwrap();
        let count = d
            .inputs
            .iter()
            .filter(|i| i.display.ends_with("a.txt"))
            .count();
        assert_eq!(count, 1);
        assert_eq!(d.inputs.len(), 6);
    }

    #[test]
    fn stdin_dash() {
        let d = discover(
            &[PathBuf::from("-"), PathBuf::from("-")],
            &DiscoverOptions::default(),
        )
        .unwrap();
        assert_eq!(d.inputs, [InputItem::stdin()]);
        assert_eq!(d.inputs[0].display, "-");
        assert_eq!(d.inputs[0].output_stem, PathBuf::from("stdin"));
        assert_eq!(d.inputs[0].kind, InputKind::Text);
    }

    #[test]
    fn results_are_sorted_by_display_bytes() {
        let dir = tempfile::tempdir().unwrap();
        for f in ["b.txt", "B.txt", "a-b.txt", "a/z.txt", "ä.txt"] {
            let path = dir.path().join(f);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, "x").unwrap();
        }
        let d = discover(&[dir.path().to_path_buf()], &DiscoverOptions::default()).unwrap();
        assert_eq!(
            rel_displays(&d, dir.path()),
            ["B.txt", "a-b.txt", "a/z.txt", "b.txt", "ä.txt"]
        );
    }

    #[test]
    fn display_relative_to_cwd() {
        let cwd = Path::new("/home/u/work");
        assert_eq!(
            display_path(Path::new("/home/u/work/a/b.md"), Some(cwd)),
            "a/b.md"
        );
        assert_eq!(display_path(Path::new("/etc/x.md"), Some(cwd)), "/etc/x.md");
        assert_eq!(display_path(Path::new("./a.md"), Some(cwd)), "./a.md");
        assert_eq!(display_path(Path::new("../a.md"), None), "../a.md");
    }

    // ------------------------------------------------------------- feeds

    const FEED: &str = r#"<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>
<item><guid>eins</guid><title>A</title><description>Text A</description></item>
<item><guid>../../etc/zwei</guid><title>B</title><description>Text B</description></item>
<item><guid>eins</guid><title>A again</title><description>Text A2</description></item>
</channel></rss>"#;

    #[test]
    fn feeds_are_split_into_items() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::write(root.join("news.rss"), FEED).unwrap();
        fs::write(root.join("sniffed.xml"), FEED).unwrap();
        fs::write(root.join("data.xml"), "<?xml version=\"1.0\"?><data/>").unwrap();
        fs::write(root.join("package.json"), "{\"name\": \"x\"}").unwrap();
        let d = walk_one(root);
        let shown = rel_displays(&d, root);
        assert_eq!(
            shown,
            [
                "news.rss#../../etc/zwei",
                "news.rss#eins",
                "sniffed.xml#../../etc/zwei",
                "sniffed.xml#eins"
            ]
        );
        for item in &d.inputs {
            assert_eq!(item.kind, InputKind::FeedItem);
            let InputSource::FeedItem { path, id } = &item.source else {
                panic!("not a feed item: {item:?}");
            };
            assert!(path.ends_with("news.rss") || path.ends_with("sniffed.xml"));
            assert!(item.display.ends_with(id.as_str()));
            // Stems stay under the output folder: one folder per feed.
            let parts: Vec<_> = item.output_stem.components().collect();
            assert!(
                parts.iter().all(|c| matches!(c, Component::Normal(_))),
                "{item:?}"
            );
            let parent = item.output_stem.parent().unwrap();
            assert!(
                parent.ends_with("news") || parent.ends_with("sniffed"),
                "{item:?}"
            );
        }
        let stems: HashSet<&Path> = d.inputs.iter().map(|i| i.output_stem.as_path()).collect();
        assert_eq!(stems.len(), 4);
        assert_eq!(
            skip_reason(&d, &root.join("data.xml")),
            Some("not a feed (.xml and .json files are read only when they hold an RSS, Atom or JSON feed)")
        );
        assert!(skip_reason(&d, &root.join("package.json")).is_some());
        let repeated = d
            .skipped
            .iter()
            .filter(|s| s.reason.starts_with("the feed repeats this item id"))
            .count();
        assert_eq!(repeated, 2, "{:?}", d.skipped);
    }

    #[test]
    fn unreadable_feeds_stay_whole() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::write(root.join("big.rss"), FEED).unwrap();
        fs::write(root.join("broken.atom"), "<feed><entry>").unwrap();
        let options = DiscoverOptions {
            max_bytes: Some(100),
            ..DiscoverOptions::default()
        };
        let d = discover(&[root.to_path_buf()], &options).unwrap();
        assert_eq!(rel_displays(&d, root), ["big.rss", "broken.atom"]);
        assert!(d.inputs.iter().all(|i| i.kind == InputKind::Feed));
        assert!(d
            .inputs
            .iter()
            .all(|i| matches!(i.source, InputSource::File(_))));
    }

    // ------------------------------------------------ walking: file types

    fn skip_reason<'a>(d: &'a Discovery, path: &Path) -> Option<&'a str> {
        d.skipped
            .iter()
            .find(|s| s.path == path)
            .map(|s| s.reason.as_str())
    }

    fn walk_one(root: &Path) -> Discovery {
        discover(&[root.to_path_buf()], &DiscoverOptions::default()).unwrap()
    }

    #[cfg(target_os = "linux")]
    use crate::input::tests::make_fifo;

    #[cfg(target_os = "linux")]
    #[test]
    fn walked_fifo_and_socket_are_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::write(root.join("ok.txt"), "Text").unwrap();
        make_fifo(&root.join("pipe.txt"));
        let _listener = std::os::unix::net::UnixListener::bind(root.join("sock.md")).unwrap();
        let d = walk_one(root);
        assert_eq!(rel_displays(&d, root), ["ok.txt"]);
        assert_eq!(
            skip_reason(&d, &root.join("pipe.txt")),
            Some("not a regular file (fifo)")
        );
        assert_eq!(
            skip_reason(&d, &root.join("sock.md")),
            Some("not a regular file (socket)")
        );
    }

    #[cfg(unix)]
    #[test]
    fn walked_symlinks_out_of_the_tree_are_skipped() {
        use std::os::unix::fs::symlink;
        let outside = tempfile::tempdir().unwrap();
        fs::write(outside.path().join("secret.txt"), "Geheim").unwrap();
        fs::create_dir(outside.path().join("folder")).unwrap();
        fs::write(outside.path().join("folder/more.txt"), "Mehr").unwrap();
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::write(root.join("a.txt"), "Text").unwrap();
        symlink(outside.path().join("secret.txt"), root.join("shadow.txt")).unwrap();
        symlink("/dev/zero", root.join("zero.txt")).unwrap();
        symlink(outside.path().join("folder"), root.join("linked")).unwrap();
        symlink("../../../../../../../../etc/passwd", root.join("up.txt")).unwrap();
        symlink(root.join("missing.txt"), root.join("dangling.txt")).unwrap();
        let d = walk_one(root);
        assert_eq!(rel_displays(&d, root), ["a.txt"]);
        let outside_note = format!("symlink points outside {}", root.display());
        for name in ["shadow.txt", "zero.txt", "linked", "up.txt"] {
            assert_eq!(
                skip_reason(&d, &root.join(name)),
                Some(outside_note.as_str()),
                "{name}: {:?}",
                d.skipped
            );
        }
        assert!(skip_reason(&d, &root.join("dangling.txt"))
            .is_some_and(|r| r.starts_with("broken symlink (")));
    }

    #[cfg(unix)]
    #[test]
    fn walked_symlinks_inside_the_tree_are_taken_once() {
        use std::os::unix::fs::symlink;
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::create_dir(root.join("sub")).unwrap();
        fs::write(root.join("sub/a.txt"), "Text").unwrap();
        symlink("sub/a.txt", root.join("alias.txt")).unwrap();
        symlink(root.join("sub"), root.join("subalias")).unwrap();
        let d = walk_one(root);
        // The link and its target are one input (the first by display).
        assert_eq!(rel_displays(&d, root), ["alias.txt"]);
        assert!(d.skipped.is_empty(), "{:?}", d.skipped);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn walked_symlink_to_fifo_inside_is_skipped() {
        use std::os::unix::fs::symlink;
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        make_fifo(&root.join("pipe"));
        symlink("pipe", root.join("pipe.md")).unwrap();
        let d = walk_one(root);
        assert!(d.inputs.is_empty());
        assert_eq!(
            skip_reason(&d, &root.join("pipe.md")),
            Some("not a regular file (fifo)")
        );
    }

    #[cfg(unix)]
    #[test]
    fn walking_through_a_symlinked_root_works() {
        use std::os::unix::fs::symlink;
        let dir = tree();
        let links = tempfile::tempdir().unwrap();
        let root = links.path().join("articles");
        symlink(dir.path(), &root).unwrap();
        let d = walk_one(&root);
        assert_eq!(d.inputs.len(), 6, "{:?}", d.skipped);
    }

    #[cfg(unix)]
    #[test]
    fn explicit_symlink_out_of_any_tree_is_read() {
        use std::os::unix::fs::symlink;
        let outside = tempfile::tempdir().unwrap();
        fs::write(outside.path().join("x.txt"), "Text").unwrap();
        let dir = tempfile::tempdir().unwrap();
        let link = dir.path().join("link.txt");
        symlink(outside.path().join("x.txt"), &link).unwrap();
        let d = discover(&[link], &DiscoverOptions::default()).unwrap();
        assert_eq!(d.inputs.len(), 1);
        assert!(d.skipped.is_empty());
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn unreadable_subfolder_is_a_note_and_the_walk_goes_on() {
        use std::os::unix::fs::PermissionsExt;
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } == 0 {
            return; // root reads everything
        }
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::create_dir(root.join("locked")).unwrap();
        fs::write(root.join("locked/x.txt"), "Text").unwrap();
        fs::write(root.join("ok.txt"), "Text").unwrap();
        fs::set_permissions(root.join("locked"), fs::Permissions::from_mode(0o000)).unwrap();
        let d = walk_one(root);
        fs::set_permissions(root.join("locked"), fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(rel_displays(&d, root), ["ok.txt"]);
        assert!(d
            .skipped
            .iter()
            .any(|s| s.reason.starts_with("cannot read while walking folder")));
    }

    /// Creates `depth` nested folders named `d` under `root` (with
    /// `*at` calls: the full path is far longer than `PATH_MAX`), and a file
    /// `x.txt` at the bottom.
    #[cfg(target_os = "linux")]
    fn nest(root: &Path, depth: usize) {
        use std::os::unix::ffi::OsStrExt;
        let c = std::ffi::CString::new(root.as_os_str().as_bytes()).unwrap();
        let name = c"d";
        // SAFETY: plain *at calls on descriptors this function owns and
        // closes; all paths are valid NUL-terminated strings.
        unsafe {
            let mut fd = libc::open(c.as_ptr(), libc::O_DIRECTORY | libc::O_RDONLY);
            assert!(fd >= 0);
            for _ in 0..depth {
                assert_eq!(libc::mkdirat(fd, name.as_ptr(), 0o755), 0);
                let next = libc::openat(fd, name.as_ptr(), libc::O_DIRECTORY | libc::O_RDONLY);
                assert!(next >= 0);
                libc::close(fd);
                fd = next;
            }
            let file = libc::openat(fd, c"x.txt".as_ptr(), libc::O_CREAT | libc::O_WRONLY, 0o644);
            assert!(file >= 0);
            libc::close(file);
            libc::close(fd);
        }
    }

    /// Removes what [`nest`] made, bottom up, without recursion.
    #[cfg(target_os = "linux")]
    fn unnest(root: &Path, depth: usize) {
        use std::os::unix::ffi::OsStrExt;
        let c = std::ffi::CString::new(root.as_os_str().as_bytes()).unwrap();
        // SAFETY: as in `nest`.
        unsafe {
            let mut fds = vec![libc::open(c.as_ptr(), libc::O_DIRECTORY | libc::O_RDONLY)];
            for _ in 0..depth {
                let last = *fds.last().unwrap();
                fds.push(libc::openat(
                    last,
                    c"d".as_ptr(),
                    libc::O_DIRECTORY | libc::O_RDONLY,
                ));
            }
            let mut fd = fds.pop().unwrap();
            libc::unlinkat(fd, c"x.txt".as_ptr(), 0);
            libc::close(fd);
            while let Some(parent) = fds.pop() {
                libc::unlinkat(parent, c"d".as_ptr(), libc::AT_REMOVEDIR);
                fd = parent;
                libc::close(fd);
            }
        }
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn ten_thousand_nested_folders_do_not_overflow() {
        const DEPTH: usize = 10_000;
        let dir = tempfile::tempdir().unwrap();
        nest(dir.path(), DEPTH);
        fs::write(dir.path().join("top.txt"), "Text").unwrap();
        let root = dir.path().to_path_buf();
        // Test threads have small stacks (2 MiB), like kurz's workers.
        let d = std::thread::Builder::new()
            .stack_size(2 << 20)
            .spawn(move || walk_one(&root))
            .unwrap()
            .join()
            .expect("walking a deep tree panicked or overflowed");
        unnest(dir.path(), DEPTH);
        assert!(rel_displays(&d, dir.path()).contains(&"top.txt".to_string()));
        // The bottom is beyond PATH_MAX: a note, not an error.
        assert!(!d.skipped.is_empty());
    }

    // ------------------------------------------------------ name escaping

    #[cfg(unix)]
    fn os(bytes: &[u8]) -> OsString {
        use std::os::unix::ffi::OsStringExt;
        OsString::from_vec(bytes.to_vec())
    }

    #[cfg(unix)]
    #[test]
    fn escape_examples() {
        let esc = |b: &[u8]| escape_name(&os(b));
        assert_eq!(esc(b"plain.txt"), "plain.txt");
        assert_eq!(esc("Grüße.md".as_bytes()), "Grüße.md");
        assert_eq!(esc(b"100%.txt"), "100%.txt");
        assert_eq!(esc(b"50%ab.txt"), "50%ab.txt");
        assert_eq!(esc(b"bad\xff.txt"), "bad%FF.txt");
        assert_eq!(esc(b"bad\xfe.txt"), "bad%FE.txt");
        assert_eq!(esc(b"50%\xfe.txt"), "50%25%FE.txt");
        assert_eq!(esc(b"dir/sub\x80/a.md"), "dir/sub%80/a.md");
        // A literal `%XX` in a valid name is escaped, so it cannot be
        // mistaken for the escape of a byte.
        assert_eq!(esc(b"bad%FF.txt"), "bad%25FF.txt");
        assert_ne!(esc(b"bad%FF.txt"), esc(b"bad\xff.txt"));
        // Valid UTF-8 around invalid bytes is kept as characters.
        assert_eq!(esc(b"\xc3\xa4\xff"), "ä%FF");
        assert_eq!(esc(b"\xc3"), "%C3");
    }

    #[cfg(unix)]
    #[test]
    fn escape_round_trips_and_is_injective() {
        let mut names: Vec<Vec<u8>> = [
            &b""[..],
            b"%",
            b"%%",
            b"%2",
            b"%25",
            b"%2525",
            b"%ff",
            b"%FF",
            b"%\xff",
            b"\xff%",
            b"%F\xff",
            b"a%4",
            b"a%41\xc3",
            b"\xe2\x82",
            "€%".as_bytes(),
        ]
        .iter()
        .map(|b| b.to_vec())
        .collect();
        // Pseudo-random names over a small alphabet rich in `%`, hex digits
        // and stray UTF-8 bytes.
        let alphabet = b"%%%25AFaf0\xff\xc3\xa4\xe2\x82\xac/.x";
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..20_000 {
            let mut name = Vec::new();
            for _ in 0..(state % 9) {
                state = state
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1);
                name.push(alphabet[usize::try_from(state >> 33).unwrap() % alphabet.len()]);
            }
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1);
            names.push(name);
        }
        let mut seen = std::collections::HashMap::new();
        for name in &names {
            let escaped = escape_name(&os(name));
            assert_eq!(unescape_name(&escaped), os(name), "{escaped:?}");
            if let Some(other) = seen.insert(escaped.clone(), name.clone()) {
                assert_eq!(&other, name, "two names escape to {escaped:?}");
            }
        }
    }

    #[cfg(unix)]
    #[test]
    fn non_utf8_names_get_distinct_displays_and_stems() {
        use std::os::unix::ffi::OsStrExt;
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for name in [&b"bad\xff.txt"[..], b"bad\xfe.txt", b"bad%FF.txt"] {
            fs::write(root.join(OsStr::from_bytes(name)), "Text").unwrap();
        }
        let d = walk_one(root);
        assert_eq!(
            rel_displays(&d, root),
            ["bad%25FF.txt", "bad%FE.txt", "bad%FF.txt"]
        );
        let stems: HashSet<&Path> = d.inputs.iter().map(|i| i.output_stem.as_path()).collect();
        assert_eq!(stems.len(), 3);
        for item in &d.inputs {
            let InputSource::File(path) = &item.source else {
                panic!("not a file")
            };
            let shown = Path::new(&item.display);
            assert_eq!(
                unescape_name(shown.file_name().unwrap().to_str().unwrap()),
                path.file_name().unwrap()
            );
            assert!(item.output_stem.to_str().is_some());
        }
    }

    #[cfg(unix)]
    #[test]
    fn stem_of_a_raw_non_utf8_path_is_escaped() {
        use std::os::unix::ffi::OsStrExt;
        let p = Path::new(OsStr::from_bytes(b"dir\xff/a\xfe.md"));
        assert_eq!(output_stem_for(p), PathBuf::from("dir%FF/a%FE"));
        assert_eq!(stem("already%FF.md"), PathBuf::from("already%FF"));
    }

    #[cfg(unix)]
    #[test]
    fn folders_with_hostile_ignore_files_are_skipped() {
        use std::os::unix::fs::symlink;
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::write(root.join("ok.txt"), "Text").unwrap();
        for sub in ["zero", "pipe", "big"] {
            fs::create_dir(root.join(sub)).unwrap();
            fs::write(root.join(sub).join("x.txt"), "Text").unwrap();
        }
        symlink("/dev/zero", root.join("zero/.gitignore")).unwrap();
        #[cfg(target_os = "linux")]
        make_fifo(&root.join("pipe/.ignore"));
        fs::write(root.join("big/.gitignore"), vec![b'#'; 2 << 20]).unwrap();
        let d = walk_one(root);
        assert_eq!(rel_displays(&d, root), ["ok.txt"]);
        assert_eq!(
            skip_reason(&d, &root.join("zero")),
            Some("its .gitignore is not a regular file (character device)")
        );
        #[cfg(target_os = "linux")]
        assert_eq!(
            skip_reason(&d, &root.join("pipe")),
            Some("its .ignore is not a regular file (fifo)")
        );
        assert_eq!(
            skip_reason(&d, &root.join("big")),
            Some("its .gitignore is larger than 1.0 MiB")
        );
        // The same at the top of the walk.
        let d = walk_one(&root.join("zero"));
        assert!(d.inputs.is_empty());
        assert_eq!(d.skipped.len(), 1);
    }
}
