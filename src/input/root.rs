//! Where output paths start: the input root.
//!
//! Results mirror the inputs relative to one folder, the *root*, the way
//! `tsc --outDir` mirrors sources relative to its `rootDir`:
//!
//! | command | root | output of `x.txt` |
//! |---|---|---|
//! | `kurz summarize /data/archiv/2024` | `/data/archiv/2024` | `kurz-out/politik/x.en.md` |
//! | `kurz summarize /data/a /data/b` | `/data` | `kurz-out/a/x.en.md` |
//! | `kurz summarize /tmp/x.txt` | `/tmp` | `kurz-out/x.en.md` |
//!
//! Without `--root` the root is the deepest folder holding every argument
//! (a folder argument counts as itself, a file as its parent folder).
//! Paths are made absolute against the current folder and cleaned
//! lexically (`.` dropped, `..` removes the component before it), not by
//! resolving symbolic links: a folder reached through a link keeps the
//! link's name, as the user typed it. `--root DIR` pins the root, so adding
//! arguments later does not move outputs; every input must then lie inside
//! it. Standard input has no path and is always written as `stdin`.

use std::path::{Component, Path, PathBuf};

use super::discover::output_stem_for;
use super::{feed, InputItem, InputSource};

/// An input root that cannot be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RootError {
    /// `--root` names nothing, or something that is not a folder.
    #[error("--root {}: not a folder", .root.display())]
    NotAFolder {
        /// The root as given.
        root: PathBuf,
    },
    /// An input lies outside the root.
    #[error(
        "{input} is not inside --root {}; every input must lie in the root folder",
        .root.display()
    )]
    Outside {
        /// The input as displayed.
        input: String,
        /// The root (absolute).
        root: PathBuf,
    },
}

/// `path` made absolute against `cwd` and cleaned lexically: `.` and empty
/// components dropped, `..` removes the component before it (never above
/// the file system root). Symbolic links are not resolved.
pub fn absolute(path: &Path, cwd: &Path) -> PathBuf {
    let joined = if path.is_absolute() {
        path.to_path_buf()
    } else {
        cwd.join(path)
    };
    let mut clean = PathBuf::new();
    for component in joined.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                // `pop` keeps the root: `/..` is `/`.
                if clean.parent().is_some() {
                    clean.pop();
                }
            }
            other => clean.push(other.as_os_str()),
        }
    }
    clean
}

/// The deepest folder holding every path in `paths` (folders count as
/// themselves, anything else as its parent), all made [`absolute`] against
/// `cwd`. `-` (standard input) is left out; `None` when nothing else is
/// given.
pub fn common_root(paths: &[PathBuf], cwd: &Path) -> Option<PathBuf> {
    paths
        .iter()
        .filter(|p| p.as_os_str() != "-")
        .map(|p| {
            let abs = absolute(p, cwd);
            if abs.is_dir() {
                abs
            } else {
                abs.parent().map_or_else(|| abs.clone(), Path::to_path_buf)
            }
        })
        .reduce(|common, next| common_prefix(&common, &next))
}

/// The longest path both `a` and `b` start with (component-wise).
fn common_prefix(a: &Path, b: &Path) -> PathBuf {
    a.components()
        .zip(b.components())
        .take_while(|(x, y)| x == y)
        .map(|(x, _)| x.as_os_str())
        .collect()
}

/// The checked form of `--root DIR`: absolute, clean, an existing folder.
///
/// # Errors
///
/// [`RootError::NotAFolder`] when `root` is not an existing folder.
pub fn pinned_root(root: &Path, cwd: &Path) -> Result<PathBuf, RootError> {
    let abs = absolute(root, cwd);
    if abs.is_dir() {
        Ok(abs)
    } else {
        Err(RootError::NotAFolder {
            root: root.to_path_buf(),
        })
    }
}

/// Whether every input that has a path lies inside `root`.
pub fn contains_all(root: &Path, inputs: &[InputItem], cwd: &Path) -> bool {
    inputs
        .iter()
        .filter_map(|item| item.source.path())
        .all(|path| absolute(path, cwd).starts_with(root))
}

/// Gives every input its output stem relative to `root`: `x` for
/// `root/x.txt`, `feed/<item slug>` for an item of `root/feed.rss`,
/// `stdin` for standard input. Stems never leave the output folder
/// (see [`output_stem_for`]).
///
/// # Errors
///
/// [`RootError::Outside`] for the first input not inside `root`; no stem
/// is changed then.
pub fn set_output_stems(
    inputs: &mut [InputItem],
    root: &Path,
    cwd: &Path,
) -> Result<(), RootError> {
    let stems = inputs
        .iter()
        .map(|item| stem_under(item, root, cwd))
        .collect::<Result<Vec<_>, _>>()?;
    for (item, stem) in inputs.iter_mut().zip(stems) {
        item.output_stem = stem;
    }
    Ok(())
}

fn stem_under(item: &InputItem, root: &Path, cwd: &Path) -> Result<PathBuf, RootError> {
    let relative = |path: &Path| {
        let abs = absolute(path, cwd);
        match abs.strip_prefix(root) {
            Ok(rel) => Ok(output_stem_for(rel)),
            Err(_) => Err(RootError::Outside {
                input: item.display.clone(),
                root: root.to_path_buf(),
            }),
        }
    };
    match &item.source {
        InputSource::Stdin => Ok(item.output_stem.clone()),
        InputSource::File(path) => relative(path),
        InputSource::FeedItem { path, id } => Ok(relative(path)?.join(feed::slug(id))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::InputKind;

    fn file(path: &str) -> InputItem {
        InputItem {
            source: InputSource::File(PathBuf::from(path)),
            display: path.to_string(),
            output_stem: PathBuf::from("unset"),
            kind: InputKind::Text,
        }
    }

    #[test]
    fn absolute_cleans_lexically() {
        let cwd = Path::new("/home/u/work");
        assert_eq!(
            absolute(Path::new("a/./b"), cwd),
            Path::new("/home/u/work/a/b")
        );
        assert_eq!(absolute(Path::new("../x"), cwd), Path::new("/home/u/x"));
        assert_eq!(absolute(Path::new("/a/b/../c/"), cwd), Path::new("/a/c"));
        assert_eq!(absolute(Path::new("/../../a"), cwd), Path::new("/a"));
        assert_eq!(absolute(Path::new("."), cwd), Path::new("/home/u/work"));
    }

    #[test]
    fn the_root_is_the_deepest_common_folder_of_the_arguments() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        for sub in ["data/archiv/2024/politik", "data/a", "data/b"] {
            std::fs::create_dir_all(d.join(sub)).unwrap();
        }
        std::fs::write(d.join("data/a/x.txt"), "x").unwrap();
        let root = |args: &[&str]| {
            let args: Vec<PathBuf> = args.iter().map(PathBuf::from).collect();
            common_root(&args, d)
        };
        // One folder: itself.
        assert_eq!(
            root(&["data/archiv/2024"]),
            Some(d.join("data/archiv/2024"))
        );
        // Two folders: their common parent.
        assert_eq!(root(&["data/a", "data/b"]), Some(d.join("data")));
        // One file: its folder; a file and a folder: the common one.
        assert_eq!(root(&["data/a/x.txt"]), Some(d.join("data/a")));
        assert_eq!(root(&["data/a/x.txt", "data/b"]), Some(d.join("data")));
        // Absolute and relative spellings of the same place agree.
        let abs = d.join("data/a").display().to_string();
        assert_eq!(root(&[&abs, "data/./a/"]), Some(d.join("data/a")));
        // Standard input does not count.
        assert_eq!(root(&["-"]), None);
        assert_eq!(root(&["-", "data/b"]), Some(d.join("data/b")));
        // A path that does not exist yet counts as a file.
        assert_eq!(root(&["data/nothing.txt"]), Some(d.join("data")));
    }

    #[test]
    fn stems_are_relative_to_the_root_and_stay_inside() {
        let cwd = Path::new("/w");
        let mut inputs = vec![
            file("/data/archiv/2024/politik/x.txt"),
            file("in/a.md"),
            InputItem::stdin(),
            InputItem {
                source: InputSource::FeedItem {
                    path: PathBuf::from("/data/archiv/2024/news.rss"),
                    id: "guid-1".into(),
                },
                display: "/data/archiv/2024/news.rss#guid-1".into(),
                output_stem: PathBuf::from("unset"),
                kind: InputKind::FeedItem,
            },
        ];
        inputs[1].source = InputSource::File(PathBuf::from("../data/archiv/2024/a.md"));
        set_output_stems(&mut inputs, Path::new("/data/archiv/2024"), cwd).unwrap();
        assert_eq!(inputs[0].output_stem, Path::new("politik/x"));
        assert_eq!(inputs[1].output_stem, Path::new("a"));
        assert_eq!(inputs[2].output_stem, Path::new("stdin"));
        assert_eq!(
            inputs[3].output_stem,
            Path::new("news").join(feed::slug("guid-1"))
        );
        // The file system root as the root keeps whole paths, still relative.
        let mut one = vec![file("/etc/x.txt")];
        set_output_stems(&mut one, Path::new("/"), cwd).unwrap();
        assert_eq!(one[0].output_stem, Path::new("etc/x"));
    }

    #[test]
    fn an_input_outside_a_pinned_root_is_an_error_and_changes_nothing() {
        let cwd = Path::new("/w");
        let mut inputs = vec![file("/data/a/x.txt"), file("/elsewhere/y.txt")];
        let err = set_output_stems(&mut inputs, Path::new("/data"), cwd).unwrap_err();
        assert_eq!(
            err.to_string(),
            "/elsewhere/y.txt is not inside --root /data; every input must lie in the root folder"
        );
        assert!(inputs.iter().all(|i| i.output_stem == Path::new("unset")));
        // `..` cannot sneak out: it is resolved before the check.
        let mut sneaky = vec![file("/data/../etc/passwd.txt")];
        assert!(set_output_stems(&mut sneaky, Path::new("/data"), cwd).is_err());
        assert!(!contains_all(Path::new("/data"), &sneaky, cwd));
        assert!(contains_all(Path::new("/data"), &inputs[..1], cwd));
    }

    #[test]
    fn a_pinned_root_must_be_a_folder() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("f.txt"), "x").unwrap();
        assert_eq!(
            pinned_root(Path::new("."), dir.path()),
            Ok(dir.path().to_path_buf())
        );
        assert_eq!(
            pinned_root(Path::new("f.txt"), dir.path())
                .unwrap_err()
                .to_string(),
            "--root f.txt: not a folder"
        );
        assert!(pinned_root(Path::new("missing"), dir.path()).is_err());
    }
}
