//! Crash-safe file replacement: write a temporary file next to the
//! destination, fsync it, rename it over the destination.
//!
//! Temporary files are created exclusively (`O_CREAT|O_EXCL`, which never
//! follows a symlink) with mode `0666` less the process's umask, so a result
//! gets the same permissions as any other file the user creates (and as the
//! manifest). The rename replaces whatever entry has the destination's name
//! (a symlink there is replaced, never followed).

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Prefix of the temporary files created next to the destination while writing.
pub const TEMP_PREFIX: &str = ".kurz-tmp-";

/// Writes `contents` to `path` atomically.
///
/// Parent directories are created as needed. The data is first written to a
/// temporary file (prefix [`TEMP_PREFIX`]) in the same directory, fsynced, and
/// then renamed over `path`, so readers see either the old or the new file,
/// never a partially written one. On error the temporary file is removed.
pub fn write_atomic(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    write_atomic_with(path, |file| file.write_all(contents))
}

/// [`write_atomic`] for contents produced by `write` (large files streamed
/// from elsewhere): `write` fills the temporary file, which is then flushed,
/// fsynced and renamed over `path`.
pub fn write_atomic_with(
    path: &Path,
    write: impl FnOnce(&mut File) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let dir = parent_dir(path);
    std::fs::create_dir_all(dir)?;
    replace_in_dir(dir, path, write)
}

/// The temp-write-fsync-rename step for a destination whose folder exists:
/// `path` must be a file name inside `dir`. A directory at `path` is an
/// error (nothing is written).
pub(crate) fn replace_in_dir(
    dir: &Path,
    path: &Path,
    write: impl FnOnce(&mut File) -> std::io::Result<()>,
) -> std::io::Result<()> {
    if std::fs::symlink_metadata(path).is_ok_and(|m| m.is_dir()) {
        return Err(std::io::Error::new(
            std::io::ErrorKind::IsADirectory,
            "a folder has that name",
        ));
    }
    let mut tmp = TempFile::create_in(dir)?;
    write(&mut tmp.file)?;
    tmp.file.flush()?;
    tmp.file.sync_all()?;
    std::fs::rename(&tmp.path, path)?;
    tmp.persisted = true;
    // Make the rename itself durable. Directories cannot be opened for
    // syncing on every platform, so errors are ignored.
    #[cfg(unix)]
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// A temporary file that is removed on drop unless it was renamed.
struct TempFile {
    path: PathBuf,
    file: File,
    persisted: bool,
}

impl TempFile {
    /// Creates `<dir>/.kurz-tmp-<pid>-<n>-<nanos>` exclusively, mode 0666
    /// less the umask.
    fn create_in(dir: &Path) -> std::io::Result<Self> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        loop {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.subsec_nanos())
                .unwrap_or(0);
            let n = COUNTER.fetch_add(1, Ordering::Relaxed);
            let path = dir.join(format!(
                "{TEMP_PREFIX}{}-{n}-{nanos:08x}",
                std::process::id()
            ));
            let mut options = OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                options.mode(0o666);
            }
            match options.open(&path) {
                Ok(file) => {
                    return Ok(Self {
                        path,
                        file,
                        persisted: false,
                    })
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e),
            }
        }
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.persisted {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Removes the temporary files ([`TEMP_PREFIX`]) a killed run left anywhere
/// under `root`, without following symlinks; returns how many were removed.
/// Call only while holding the folder's lock (see
/// [`OutputLock`](super::lock::OutputLock)): another run's temporary files
/// are not leftovers.
pub fn remove_temp_leftovers(root: &Path) -> usize {
    let mut removed = 0;
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            // DirEntry::file_type does not follow symlinks.
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            if kind.is_dir() {
                stack.push(entry.path());
            } else if entry
                .file_name()
                .as_encoded_bytes()
                .starts_with(TEMP_PREFIX.as_bytes())
                && std::fs::remove_file(entry.path()).is_ok()
            {
                removed += 1;
            }
        }
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_leftovers(dir: &Path) -> Vec<String> {
        std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with(TEMP_PREFIX))
            .collect()
    }

    #[test]
    fn writes_content_and_creates_parents() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("a/b/c.en.md");
        write_atomic(&target, "Grüße\n".as_bytes()).unwrap();
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "Grüße\n");
        assert!(temp_leftovers(target.parent().unwrap()).is_empty());
    }

    #[test]
    fn overwrites_existing_file() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out.txt");
        std::fs::write(&target, "old content that is longer").unwrap();
        write_atomic(&target, b"new").unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"new");
        assert!(temp_leftovers(dir.path()).is_empty());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn empty_contents() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("empty");
        write_atomic(&target, b"").unwrap();
        assert_eq!(std::fs::metadata(&target).unwrap().len(), 0);
    }

    #[test]
    fn fails_when_target_is_a_directory_and_cleans_up() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("sub");
        std::fs::create_dir(&target).unwrap();
        std::fs::write(target.join("x"), b"x").unwrap();
        assert!(write_atomic(&target, b"data").is_err());
        assert!(temp_leftovers(dir.path()).is_empty());
        assert_eq!(std::fs::read(target.join("x")).unwrap(), b"x");
    }

    #[test]
    fn a_failing_writer_leaves_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out.txt");
        std::fs::write(&target, "old").unwrap();
        let err = write_atomic_with(&target, |f| {
            f.write_all(b"partial")?;
            Err(std::io::Error::other("stream broke"))
        })
        .unwrap_err();
        assert_eq!(err.to_string(), "stream broke");
        assert_eq!(std::fs::read(&target).unwrap(), b"old");
        assert!(temp_leftovers(dir.path()).is_empty());
    }

    #[cfg(unix)]
    #[test]
    fn a_symlink_at_the_destination_is_replaced_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        std::fs::write(&victim, "keep").unwrap();
        let target = dir.path().join("link");
        std::os::unix::fs::symlink(&victim, &target).unwrap();
        write_atomic(&target, b"new").unwrap();
        assert_eq!(std::fs::read(&victim).unwrap(), b"keep");
        assert!(!std::fs::symlink_metadata(&target)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(std::fs::read(&target).unwrap(), b"new");
    }

    /// Results get 0666 less the umask, like any file the user creates
    /// (the umask is read here only to know what to expect).
    #[cfg(unix)]
    #[test]
    fn mode_follows_the_umask() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let plain = dir.path().join("plain");
        File::create(&plain).unwrap();
        let expected = std::fs::metadata(&plain).unwrap().permissions().mode() & 0o777;
        let target = dir.path().join("atomic");
        write_atomic(&target, b"x").unwrap();
        let mode = std::fs::metadata(&target).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, expected, "{mode:o} vs {expected:o}");
    }

    #[test]
    fn leftovers_are_removed_recursively_without_following_symlinks() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("out");
        std::fs::create_dir_all(root.join("a/b")).unwrap();
        std::fs::write(root.join(".kurz-tmp-1-0-0"), "x").unwrap();
        std::fs::write(root.join("a/b/.kurz-tmp-9"), "x").unwrap();
        std::fs::write(root.join("a/keep.en.md"), "x").unwrap();
        let outside = dir.path().join("outside");
        std::fs::create_dir_all(&outside).unwrap();
        std::fs::write(outside.join(".kurz-tmp-other"), "x").unwrap();
        #[cfg(unix)]
        std::os::unix::fs::symlink(&outside, root.join("link")).unwrap();
        assert_eq!(remove_temp_leftovers(&root), 2);
        assert!(root.join("a/keep.en.md").exists());
        assert!(!root.join("a/b/.kurz-tmp-9").exists());
        assert!(outside.join(".kurz-tmp-other").exists());
        assert_eq!(remove_temp_leftovers(&root), 0);
    }
}
