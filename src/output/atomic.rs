//! Crash-safe file replacement.

use std::io::Write;
use std::path::Path;

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
    write: impl FnOnce(&mut std::fs::File) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir)?;
    let mut tmp = tempfile::Builder::new()
        .prefix(TEMP_PREFIX)
        .tempfile_in(dir)?;
    write(tmp.as_file_mut())?;
    tmp.flush()?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    // Best effort: make the rename itself durable. Directories cannot be
    // opened for syncing on every platform, so errors are ignored.
    #[cfg(unix)]
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
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
    }
}
