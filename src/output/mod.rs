//! Output side of `kurz`: atomic file writes, writes confined to the output
//! folder, the folder's lock, content hashing, rendering of summaries into
//! the supported output formats, and the machine-readable `manifest.jsonl`
//! (including resume support).

pub mod atomic;
pub mod confined;
pub mod format;
pub mod hash;
pub mod lock;
pub mod manifest;
pub mod merge;

pub use atomic::{remove_temp_leftovers, write_atomic, write_atomic_with, TEMP_PREFIX};
pub use confined::write_under;
pub use format::{output_path, render, Format, RenderedDoc};
pub use hash::{sha256_file, sha256_hex, to_hex};
pub use lock::{LockError, OutputLock, LOCK_FILE_NAME};
pub use manifest::{
    civil_from_days, format_rfc3339_utc, now_rfc3339, relative_output_path, ManifestEntry,
    ManifestWriter, ModelRef, RecordedRoot, ResumeIndex, Status, MANIFEST_FILE_NAME, ROOT_FIELD,
};
