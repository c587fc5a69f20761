//! One run per output folder: `<out>/.kurz.lock`, locked with `flock`.
//!
//! The kernel drops the lock when the holding process ends, however it
//! ends, so a killed run never leaves a stale lock behind. The file holds
//! the holder's pid, for the message a second run prints. A run that ends
//! normally removes the file (while still holding the lock); a run that
//! finds the file replaced or removed after locking it starts over, so two
//! runs can never both hold a lock.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// File name of the lock inside the output folder.
pub const LOCK_FILE_NAME: &str = ".kurz.lock";

/// Why the output folder could not be locked.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another process holds the lock.
    #[error("output folder {} is in use by another kurz run (pid {pid})", dir.display())]
    InUse {
        /// The output folder.
        dir: PathBuf,
        /// The holder's pid as its lock file says (`unknown` when it has not
        /// written it yet).
        pid: String,
    },
    /// The lock file cannot be created, opened or locked.
    // Not named `source`: the error is part of this message, and a source
    // would make `{:#}` print it twice.
    #[error("cannot write to output folder {} (its lock file .kurz.lock): {error}", dir.display())]
    Io {
        /// The output folder.
        dir: PathBuf,
        /// The underlying error.
        error: std::io::Error,
    },
}

/// The held lock of one output folder; released (and its file removed) on
/// drop, and by the kernel when the process ends.
#[derive(Debug)]
pub struct OutputLock {
    file: File,
    path: PathBuf,
}

impl OutputLock {
    /// Creates `dir` if needed and takes its lock without waiting.
    pub fn acquire(dir: &Path) -> Result<Self, LockError> {
        let io = |error| LockError::Io {
            dir: dir.to_path_buf(),
            error,
        };
        std::fs::create_dir_all(dir).map_err(io)?;
        let path = dir.join(LOCK_FILE_NAME);
        // A lock file removed or replaced between our open and our lock
        // belonged to a run that just ended: open it again.
        for _ in 0..100 {
            let mut file = open_no_follow(&path).map_err(io)?;
            match file.try_lock() {
                Ok(()) => {}
                Err(std::fs::TryLockError::WouldBlock) => {
                    return Err(LockError::InUse {
                        dir: dir.to_path_buf(),
                        pid: holder_pid(&mut file),
                    })
                }
                Err(std::fs::TryLockError::Error(e)) => return Err(io(e)),
            }
            if !same_file(&file, &path) {
                continue;
            }
            write_pid(&mut file).map_err(io)?;
            return Ok(Self { file, path });
        }
        Err(io(std::io::Error::other(
            "the lock file keeps changing under kurz",
        )))
    }

    /// Path of the lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for OutputLock {
    fn drop(&mut self) {
        // Removed while still locked: a run that opened this file meanwhile
        // sees it is gone once it gets the lock, and starts over.
        if same_file(&self.file, &self.path) {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Opens (creating) the lock file for reading and writing, refusing a
/// symlink.
fn open_no_follow(path: &Path) -> std::io::Result<File> {
    if std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("{} is a symlink", path.display()),
        ));
    }
    let mut options = OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o666);
        #[cfg(target_os = "linux")]
        options.custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC);
    }
    let file = options.open(path)?;
    if !file.metadata()?.is_file() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("{} is not a regular file", path.display()),
        ));
    }
    Ok(file)
}

/// Whether `path` still names the open `file`.
fn same_file(file: &File, path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        match (file.metadata(), std::fs::symlink_metadata(path)) {
            (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
            _ => false,
        }
    }
    #[cfg(not(unix))]
    {
        let _ = file;
        path.is_file()
    }
}

fn write_pid(file: &mut File) -> std::io::Result<()> {
    file.set_len(0)?;
    file.seek(SeekFrom::Start(0))?;
    file.write_all(format!("{}\n", std::process::id()).as_bytes())?;
    file.flush()
}

/// The pid the holder wrote, waiting briefly for a holder that has just
/// taken the lock to write it.
fn holder_pid(file: &mut File) -> String {
    for _ in 0..20 {
        let mut text = String::new();
        if file.seek(SeekFrom::Start(0)).is_ok() && file.take(64).read_to_string(&mut text).is_ok()
        {
            let pid = text.trim();
            if !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit()) {
                return pid.to_string();
            }
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    "unknown".to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_names_the_holder_and_release_frees_it() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let lock = OutputLock::acquire(&out).unwrap();
        assert_eq!(
            std::fs::read_to_string(lock.path()).unwrap().trim(),
            std::process::id().to_string()
        );
        let err = OutputLock::acquire(&out).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "output folder {} is in use by another kurz run (pid {})",
                out.display(),
                std::process::id()
            )
        );
        drop(lock);
        assert!(!out.join(LOCK_FILE_NAME).exists(), "removed on release");
        let again = OutputLock::acquire(&out).unwrap();
        drop(again);
    }

    #[test]
    fn a_stale_lock_file_is_taken_over() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(LOCK_FILE_NAME), "999999999\n").unwrap();
        let lock = OutputLock::acquire(dir.path()).unwrap();
        assert_eq!(
            std::fs::read_to_string(lock.path()).unwrap().trim(),
            std::process::id().to_string()
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_symlinked_lock_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        std::fs::write(&victim, "keep").unwrap();
        let out = dir.path().join("out");
        std::fs::create_dir(&out).unwrap();
        std::os::unix::fs::symlink(&victim, out.join(LOCK_FILE_NAME)).unwrap();
        let err = OutputLock::acquire(&out).unwrap_err();
        assert!(err.to_string().contains("symlink"), "{err}");
        assert_eq!(std::fs::read(&victim).unwrap(), b"keep");
    }

    #[test]
    fn many_threads_never_hold_it_together() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let dir = tempfile::tempdir().unwrap();
        let holders = AtomicUsize::new(0);
        let wins = AtomicUsize::new(0);
        std::thread::scope(|s| {
            for _ in 0..8 {
                s.spawn(|| {
                    for _ in 0..50 {
                        if let Ok(lock) = OutputLock::acquire(dir.path()) {
                            assert_eq!(holders.fetch_add(1, Ordering::SeqCst), 0);
                            wins.fetch_add(1, Ordering::SeqCst);
                            holders.fetch_sub(1, Ordering::SeqCst);
                            drop(lock);
                        }
                    }
                });
            }
        });
        assert!(wins.load(Ordering::SeqCst) > 0);
    }
}
