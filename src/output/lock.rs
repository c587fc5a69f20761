//! One run per output folder: `<out>/.kurz.lock`, locked with `flock`; and
//! one run per shard of a sharded run: `<out>/.kurz-shards/K-of-N.lock`
//! (see [`OutputLock::acquire_named`]), so the shards of one array share the
//! folder while the same shard twice is refused.
//!
//! On NFS, Linux turns `flock` into a POSIX lock that the server keeps
//! (NLM for NFSv3, built into NFSv4), so the lock holds across machines; on
//! Lustre it does when the clients mount with `-o flock` (with
//! `localflock` it holds on one machine only, and two machines running the
//! same shard would both write: give each shard to one task). The lock file
//! holds the holder's pid and host name for the message a second run prints.
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
    /// Another process runs the same shard on this folder.
    #[error("shard {shard} of output folder {} is in use by another kurz run ({holder})", dir.display())]
    ShardInUse {
        /// The output folder.
        dir: PathBuf,
        /// The shard, `K/N`.
        shard: String,
        /// `pid N on host H` as its lock file says.
        holder: String,
    },
    /// A shard of a sharded run is running on this folder, so an unsharded
    /// run or a merge must wait.
    #[error("output folder {} is in use by shard {shard} ({holder}); wait for the shards to end (`kurz status {}`)", dir.display(), dir.display())]
    ShardsRunning {
        /// The output folder.
        dir: PathBuf,
        /// The running shard, `K/N`.
        shard: String,
        /// `pid N on host H`.
        holder: String,
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
        Self::acquire_in(dir, dir, LOCK_FILE_NAME, |file| LockError::InUse {
            dir: dir.to_path_buf(),
            pid: holder(file).0,
        })
    }

    /// Takes the lock of shard `shard` (`K/N`) of output folder `dir`: the
    /// file `name` in `lock_dir` (a folder inside `dir`, created if needed,
    /// never a symlink), without waiting.
    pub fn acquire_named(
        dir: &Path,
        lock_dir: &Path,
        name: &str,
        shard: &str,
    ) -> Result<Self, LockError> {
        Self::acquire_in(dir, lock_dir, name, |file| {
            let (pid, host) = holder(file);
            LockError::ShardInUse {
                dir: dir.to_path_buf(),
                shard: shard.to_string(),
                holder: match host {
                    Some(host) => format!("pid {pid} on host {host}"),
                    None => format!("pid {pid}"),
                },
            }
        })
    }

    /// Whether the lock file `name` in `lock_dir` is held by a process
    /// (never creates it); `Some(holder)`, as its file says, when it is. A
    /// free lock is taken for an instant, so call it only where a run
    /// starting at that moment may be refused (merge, a run's own start).
    pub fn probe(lock_dir: &Path, name: &str) -> std::io::Result<Option<String>> {
        let path = lock_dir.join(name);
        let mut file = match OpenOptions::new().read(true).open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        match file.try_lock_shared() {
            Ok(()) => Ok(None),
            Err(std::fs::TryLockError::WouldBlock) => {
                let (pid, host) = holder(&mut file);
                Ok(Some(match host {
                    Some(host) => format!("pid {pid} on host {host}"),
                    None => format!("pid {pid}"),
                }))
            }
            Err(std::fs::TryLockError::Error(e)) => Err(e),
        }
    }

    fn acquire_in(
        dir: &Path,
        lock_dir: &Path,
        name: &str,
        in_use: impl Fn(&mut File) -> LockError,
    ) -> Result<Self, LockError> {
        let io = |error| LockError::Io {
            dir: dir.to_path_buf(),
            error,
        };
        std::fs::create_dir_all(lock_dir).map_err(io)?;
        if std::fs::symlink_metadata(lock_dir).is_ok_and(|m| !m.is_dir()) {
            return Err(io(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("{} is not a folder (a symlink?)", lock_dir.display()),
            )));
        }
        let path = lock_dir.join(name);
        // A lock file removed or replaced between our open and our lock
        // belonged to a run that just ended: open it again.
        for _ in 0..100 {
            let mut file = open_no_follow(&path).map_err(io)?;
            match file.try_lock() {
                Ok(()) => {}
                Err(std::fs::TryLockError::WouldBlock) => return Err(in_use(&mut file)),
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
    let host = crate::shard::host_name();
    file.write_all(format!("{}\n{host}\n", std::process::id()).as_bytes())?;
    file.flush()
}

/// The pid (and host, when written) the holder wrote, waiting briefly for
/// a holder that has just taken the lock to write them.
fn holder(file: &mut File) -> (String, Option<String>) {
    for _ in 0..20 {
        let mut text = String::new();
        if file.seek(SeekFrom::Start(0)).is_ok() && file.take(400).read_to_string(&mut text).is_ok()
        {
            if let Some(found) = parse_holder(&text) {
                return found;
            }
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    ("unknown".to_string(), None)
}

/// `pid` on the first line, an optional host name on the second (shown
/// only when it is a plain host name).
pub(crate) fn parse_holder(text: &str) -> Option<(String, Option<String>)> {
    let mut lines = text.lines();
    let pid = lines.next()?.trim();
    if pid.is_empty() || pid.len() > 10 || !pid.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let host = lines.next().map(str::trim).filter(|h| {
        !h.is_empty()
            && h.len() <= 253
            && h.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b'_')
    });
    Some((pid.to_string(), host.map(str::to_string)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_names_the_holder_and_release_frees_it() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let lock = OutputLock::acquire(&out).unwrap();
        let text = std::fs::read_to_string(lock.path()).unwrap();
        assert_eq!(
            parse_holder(&text),
            Some((
                std::process::id().to_string(),
                Some(crate::shard::host_name())
            ))
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
        let text = std::fs::read_to_string(lock.path()).unwrap();
        assert_eq!(
            text.lines().next(),
            Some(std::process::id().to_string().as_str())
        );
    }

    #[test]
    fn shard_locks_are_per_shard_and_name_the_holder() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let locks = out.join(".kurz-shards");
        let one = OutputLock::acquire_named(&out, &locks, "1-of-2.lock", "1/2").unwrap();
        let two = OutputLock::acquire_named(&out, &locks, "2-of-2.lock", "2/2").unwrap();
        let err = OutputLock::acquire_named(&out, &locks, "1-of-2.lock", "1/2").unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "shard 1/2 of output folder {} is in use by another kurz run (pid {} on host {})",
                out.display(),
                std::process::id(),
                crate::shard::host_name()
            )
        );
        let held = OutputLock::probe(&locks, "1-of-2.lock").unwrap();
        assert_eq!(
            held,
            Some(format!(
                "pid {} on host {}",
                std::process::id(),
                crate::shard::host_name()
            ))
        );
        // The folder lock is another lock.
        drop(OutputLock::acquire(&out).unwrap());
        drop(one);
        assert_eq!(OutputLock::probe(&locks, "1-of-2.lock").unwrap(), None);
        assert!(!locks.join("1-of-2.lock").exists(), "probe creates nothing");
        drop(two);
    }

    #[test]
    fn holders_parse_with_and_without_a_host() {
        assert_eq!(parse_holder("12\n"), Some(("12".into(), None)));
        assert_eq!(
            parse_holder("12\nnode-7.cluster\n"),
            Some(("12".into(), Some("node-7.cluster".into())))
        );
        assert_eq!(parse_holder("12\n\x1b[2J\n"), Some(("12".into(), None)));
        assert_eq!(parse_holder("x\n"), None);
        assert_eq!(parse_holder(""), None);
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
