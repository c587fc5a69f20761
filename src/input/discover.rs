//! Finding inputs: explicit files, folders walked recursively (honouring
//! hidden files, `.gitignore` and `.ignore`), and `-` for standard input.

use std::collections::HashSet;
use std::path::{Component, Path, PathBuf};

use ignore::gitignore::{Gitignore, GitignoreBuilder};
use ignore::WalkBuilder;

use super::{InputError, InputItem, InputKind, InputSource, SUPPORTED_EXTENSIONS};

/// Filters for files found while walking folders.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DiscoverOptions {
    /// Glob patterns (gitignore syntax); if any are given, only walked files
    /// matching at least one are taken.
    pub include: Vec<String>,
    /// Glob patterns (gitignore syntax); walked files matching any are dropped.
    pub exclude: Vec<String>,
}

/// A path that was found but will not be processed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedPath {
    /// The path as found or given.
    pub path: PathBuf,
    /// Why it is skipped, e.g. "unsupported extension .pdf (supported: …)".
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
/// standard input. Files with unsupported extensions end up in
/// [`Discovery::skipped`]. A path that does not exist is an error.
///
/// # Errors
///
/// [`InputError::NotFound`] for a missing path, [`InputError::Unreadable`]
/// when a path's metadata cannot be read, [`InputError::InvalidPattern`]
/// for a bad glob and [`InputError::Walk`] when a folder cannot be walked.
pub fn discover(paths: &[PathBuf], options: &DiscoverOptions) -> Result<Discovery, InputError> {
    let filter = Filter::new(options)?;
    let cwd = std::env::current_dir().ok();
    let mut found = Found::default();
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
}

impl Found {
    fn add_file(&mut self, path: &Path, cwd: Option<&Path>) {
        match InputKind::from_path(path) {
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
fn walk(
    root: &Path,
    filter: &Filter,
    cwd: Option<&Path>,
    found: &mut Found,
) -> Result<(), InputError> {
    let walker = WalkBuilder::new(root)
        .require_git(false)
        .git_global(false)
        .hidden(true)
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
        let path = entry.path();
        let is_file = entry.file_type().is_some_and(|t| t.is_file())
            || entry.path_is_symlink() && path.is_file();
        if !is_file {
            continue;
        }
        let relative = path.strip_prefix(root).unwrap_or(path);
        if filter.accepts(relative) {
            found.add_file(path, cwd);
        }
    }
    Ok(())
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

fn unsupported_reason(path: &Path) -> String {
    let supported = SUPPORTED_EXTENSIONS.map(|e| format!(".{e}")).join(", ");
    match path.extension() {
        Some(ext) => format!(
            "unsupported extension .{} (supported: {supported})",
            ext.to_string_lossy()
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
/// under it, with `/` separators.
fn display_path(path: &Path, cwd: Option<&Path>) -> String {
    let shown = match cwd {
        Some(cwd) if path.is_absolute() => path.strip_prefix(cwd).unwrap_or(path),
        _ => path,
    };
    let text = shown.to_string_lossy();
    if std::path::MAIN_SEPARATOR == '/' {
        text.into_owned()
    } else {
        text.replace(std::path::MAIN_SEPARATOR, "/")
    }
}

/// The output path (relative, without extension) for a displayed input path.
///
/// Keeps only normal components (drops `.`, `..`, root and prefix
/// components) and strips the last extension: `a/b.c.html` → `a/b.c`,
/// `/tmp/x.md` → `tmp/x`, `../x/y.md` → `x/y`. Never returns an empty,
/// absolute or `..`-containing path (`input` if nothing is left).
pub fn output_stem_for(display_path: &Path) -> PathBuf {
    let mut parts: Vec<String> = display_path
        .components()
        .filter_map(|c| match c {
            Component::Normal(part) => Some(part.to_string_lossy().into_owned()),
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
            "paper.pdf",
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
            [dir.path().join("noext"), dir.path().join("paper.pdf")]
        );
        assert_eq!(
            d.skipped[1].reason,
            "unsupported extension .pdf (supported: .txt, .md, .markdown, .html, .htm)"
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
        };
        let d = discover(std::slice::from_ref(&root), &only_md).unwrap();
        assert_eq!(rel_displays(&d, &root), ["b.md", "sub/deep/d.markdown"]);

        let by_path = DiscoverOptions {
            include: vec!["sub/**".into()],
            exclude: vec!["*.htm".into(), "deep".into()],
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
        };
        let d = discover(&[dir.path().join("a.txt")], &opts).unwrap();
        assert_eq!(d.inputs.len(), 1);
    }

    #[test]
    fn invalid_glob_is_an_error() {
        let opts = DiscoverOptions {
            include: vec!["a{b".into()],
            exclude: vec![],
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
        let d = discover(&[dir.path().join("paper.pdf")], &DiscoverOptions::default()).unwrap();
        assert!(d.inputs.is_empty());
        assert_eq!(d.skipped.len(), 1);
        assert!(d.skipped[0].reason.contains(".pdf"));
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
}
