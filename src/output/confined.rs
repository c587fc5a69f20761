//! Writing results inside the output folder without ever leaving it.
//!
//! The output folder the user names may itself be a symlink (their choice),
//! but nothing below it is followed: every sub-folder is created or checked
//! component by component and a symlink there is refused, a symlink at a
//! result's own name is refused too, and the result is written through a
//! temporary file and a rename (see [`super::atomic`]), which never writes
//! through a link.

use std::io::{Error, ErrorKind, Write};
use std::path::{Component, Path, PathBuf};

use super::atomic::replace_in_dir;

/// The message of a refusal to go through a symlink inside the output folder.
fn symlink_refused(path: &Path) -> Error {
    Error::new(
        ErrorKind::InvalidInput,
        format!(
            "{} is a symlink (kurz never writes through symlinks inside the output folder)",
            path.display()
        ),
    )
}

/// Whether `err` is a refusal made by this module (not an I/O failure of
/// the file system).
pub fn is_refusal(err: &Error) -> bool {
    err.kind() == ErrorKind::InvalidInput
}

/// Writes `contents` atomically at `path`, which must lie below `root`
/// (`root.join(relative)`): sub-folders between them are created as needed;
/// a symlink or non-folder among them, or a symlink or folder at `path`, is
/// an error and nothing is written.
pub fn write_under(root: &Path, path: &Path, contents: &[u8]) -> std::io::Result<()> {
    let relative = path.strip_prefix(root).map_err(|_| {
        Error::new(
            ErrorKind::InvalidInput,
            format!("{} is outside {}", path.display(), root.display()),
        )
    })?;
    let dir = create_dirs_under(root, relative.parent().unwrap_or(Path::new("")))?;
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => return Err(symlink_refused(path)),
        Ok(m) if m.is_dir() => {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                format!("{} is a folder", path.display()),
            ))
        }
        _ => {}
    }
    replace_in_dir(&dir, path, |file| file.write_all(contents))
}

/// Creates `root/relative` folder by folder, refusing symlinks and files on
/// the way; returns the full path. `relative` may only have normal
/// components.
pub fn create_dirs_under(root: &Path, relative: &Path) -> std::io::Result<PathBuf> {
    let mut dir = root.to_path_buf();
    for component in relative.components() {
        let Component::Normal(name) = component else {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                format!("{} leaves the output folder", relative.display()),
            ));
        };
        dir.push(name);
        ensure_real_dir(&dir)?;
    }
    Ok(dir)
}

/// Makes sure `dir` is a folder, not a symlink: creates it when missing.
fn ensure_real_dir(dir: &Path) -> std::io::Result<()> {
    for _ in 0..2 {
        match std::fs::symlink_metadata(dir) {
            Ok(m) if m.file_type().is_symlink() => return Err(symlink_refused(dir)),
            Ok(m) if m.is_dir() => return Ok(()),
            Ok(_) => {
                return Err(Error::new(
                    ErrorKind::InvalidInput,
                    format!("{} is a file, not a folder", dir.display()),
                ))
            }
            Err(e) if e.kind() == ErrorKind::NotFound => match std::fs::create_dir(dir) {
                // Another worker made it (or something else appeared):
                // look again.
                Err(e) if e.kind() == ErrorKind::AlreadyExists => continue,
                other => other?,
            },
            Err(e) => return Err(e),
        }
    }
    // Created (or found) in the first round; check what is there now.
    match std::fs::symlink_metadata(dir) {
        Ok(m) if m.is_dir() => Ok(()),
        Ok(_) => Err(symlink_refused(dir)),
        Err(e) => Err(e),
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn creates_folders_and_writes() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("out");
        std::fs::create_dir(&root).unwrap();
        let path = root.join("a/b/c.en.md");
        write_under(&root, &path, b"text").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"text");
        write_under(&root, &path, b"again").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"again");
    }

    #[test]
    fn a_symlinked_sub_folder_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("out");
        let outside = dir.path().join("outside");
        std::fs::create_dir_all(root.join("a")).unwrap();
        std::fs::create_dir(&outside).unwrap();
        symlink(&outside, root.join("a/b")).unwrap();
        let err = write_under(&root, &root.join("a/b/c/d.en.md"), b"x").unwrap_err();
        assert!(is_refusal(&err));
        let message = err.to_string();
        assert!(message.contains("symlink"), "{message}");
        assert!(message.contains(&root.join("a/b").display().to_string()));
        assert_eq!(std::fs::read_dir(&outside).unwrap().count(), 0);
    }

    #[test]
    fn a_symlinked_result_is_refused_and_its_target_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("out");
        std::fs::create_dir(&root).unwrap();
        let victim = dir.path().join("victim");
        std::fs::write(&victim, "keep").unwrap();
        symlink(&victim, root.join("r.en.md")).unwrap();
        let err = write_under(&root, &root.join("r.en.md"), b"x").unwrap_err();
        assert!(err.to_string().contains("symlink"), "{err}");
        assert_eq!(std::fs::read(&victim).unwrap(), b"keep");
        // Also a dangling one and one to a folder.
        symlink(dir.path().join("nowhere"), root.join("d.en.md")).unwrap();
        assert!(write_under(&root, &root.join("d.en.md"), b"x").is_err());
        assert!(!dir.path().join("nowhere").exists());
        symlink(dir.path(), root.join("f.en.md")).unwrap();
        assert!(write_under(&root, &root.join("f.en.md"), b"x").is_err());
    }

    #[test]
    fn the_root_itself_may_be_a_symlink() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real");
        std::fs::create_dir(&real).unwrap();
        let root = dir.path().join("link");
        symlink(&real, &root).unwrap();
        write_under(&root, &root.join("x/y.en.md"), b"ok").unwrap();
        assert_eq!(std::fs::read(real.join("x/y.en.md")).unwrap(), b"ok");
    }

    #[test]
    fn files_in_the_way_and_paths_outside_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("out");
        std::fs::create_dir(&root).unwrap();
        std::fs::write(root.join("a"), "file").unwrap();
        assert!(write_under(&root, &root.join("a/b.en.md"), b"x").is_err());
        std::fs::create_dir(root.join("dir.en.md")).unwrap();
        assert!(write_under(&root, &root.join("dir.en.md"), b"x").is_err());
        assert!(write_under(&root, &dir.path().join("elsewhere.md"), b"x").is_err());
        assert!(write_under(&root, &root.join("../escape.md"), b"x").is_err());
        assert!(!dir.path().join("escape.md").exists());
    }
}
