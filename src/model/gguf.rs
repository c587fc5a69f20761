//! Typed access to GGUF metadata.

use candle_core::quantized::gguf_file::{Content, Value};
use candle_core::Result;
use std::io::{Read, Seek};

/// Reads a GGUF file's header, metadata and tensor table.
///
/// Model files come from elsewhere and Candle's reader is not hardened
/// against every hostile header: a `general.alignment` of 0 makes it divide
/// by zero (found by `fuzz/`, regression `fuzz/regressions/gguf/`). Such a
/// panic becomes an error here, so a bad model file is a clear message,
/// never a crashed run.
pub fn read_content<R: Read + Seek>(reader: &mut R) -> Result<Content> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| Content::read(reader))) {
        Ok(result) => result,
        Err(payload) => {
            let why = payload
                .downcast_ref::<&str>()
                .map(|s| (*s).to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown reason".into());
            Err(candle_core::Error::Msg(format!(
                "malformed GGUF header (the reader failed: {why})"
            )))
        }
    }
}

/// A read-only view of a GGUF file's key/value metadata.
pub struct Metadata<'a> {
    content: &'a Content,
}

impl<'a> Metadata<'a> {
    /// Wraps the metadata of parsed GGUF content.
    pub fn new(content: &'a Content) -> Self {
        Self { content }
    }

    /// The raw value of `key`, if present.
    pub fn get(&self, key: &str) -> Option<&'a Value> {
        self.content.metadata.get(key)
    }

    fn required(&self, key: &str) -> Result<&'a Value> {
        self.get(key)
            .ok_or_else(|| candle_core::Error::Msg(format!("GGUF metadata has no `{key}`")))
    }

    /// `general.architecture`.
    pub fn architecture(&self) -> Result<String> {
        self.string("general.architecture")
    }

    /// A required string value.
    pub fn string(&self, key: &str) -> Result<String> {
        self.required(key)?.to_string().cloned()
    }

    /// An optional string value.
    pub fn opt_string(&self, key: &str) -> Result<Option<String>> {
        self.get(key).map(|v| v.to_string().cloned()).transpose()
    }

    /// A required unsigned integer value of any width.
    pub fn usize(&self, key: &str) -> Result<usize> {
        as_usize(key, self.required(key)?)
    }

    /// An optional unsigned integer value of any width.
    pub fn opt_usize(&self, key: &str) -> Result<Option<usize>> {
        self.get(key).map(|v| as_usize(key, v)).transpose()
    }

    /// A required float value.
    pub fn f32(&self, key: &str) -> Result<f32> {
        self.required(key)?.to_f32()
    }

    /// An optional float value.
    pub fn opt_f32(&self, key: &str) -> Result<Option<f32>> {
        self.get(key).map(|v| v.to_f32()).transpose()
    }

    /// An optional boolean value.
    pub fn opt_bool(&self, key: &str) -> Result<Option<bool>> {
        self.get(key).map(|v| v.to_bool()).transpose()
    }

    /// A required array of strings.
    pub fn strings(&self, key: &str) -> Result<Vec<String>> {
        self.required(key)?
            .to_vec()?
            .iter()
            .map(|v| v.to_string().cloned())
            .collect()
    }

    /// An optional array of integers (e.g. token types).
    pub fn opt_ints(&self, key: &str) -> Result<Option<Vec<i64>>> {
        let Some(value) = self.get(key) else {
            return Ok(None);
        };
        value
            .to_vec()?
            .iter()
            .map(|v| as_i64(key, v))
            .collect::<Result<Vec<_>>>()
            .map(Some)
    }
}

fn as_i64(key: &str, value: &Value) -> Result<i64> {
    Ok(match value {
        Value::U8(v) => *v as i64,
        Value::I8(v) => *v as i64,
        Value::U16(v) => *v as i64,
        Value::I16(v) => *v as i64,
        Value::U32(v) => *v as i64,
        Value::I32(v) => *v as i64,
        Value::U64(v) => *v as i64,
        Value::I64(v) => *v,
        other => candle_core::bail!("GGUF metadata `{key}` is not an integer: {other:?}"),
    })
}

fn as_usize(key: &str, value: &Value) -> Result<usize> {
    let v = as_i64(key, value)?;
    usize::try_from(v)
        .map_err(|_| candle_core::Error::Msg(format!("GGUF metadata `{key}` is negative: {v}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::quantized::gguf_file;

    fn gguf_with(metadata: &[(&str, Value)]) -> Vec<u8> {
        let mut bytes = std::io::Cursor::new(Vec::new());
        let metadata: Vec<(&str, &Value)> = metadata.iter().map(|(k, v)| (*k, v)).collect();
        gguf_file::write(&mut bytes, &metadata, &[]).expect("write gguf");
        bytes.into_inner()
    }

    #[test]
    fn alignment_zero_is_an_error_not_a_panic() {
        let arch = ("general.architecture", Value::String("llama".into()));
        let good = gguf_with(std::slice::from_ref(&arch));
        let content = read_content(&mut std::io::Cursor::new(good)).expect("valid header");
        assert_eq!(Metadata::new(&content).architecture().unwrap(), "llama");

        let bad = gguf_with(&[arch, ("general.alignment", Value::U32(0))]);
        let err = read_content(&mut std::io::Cursor::new(bad)).unwrap_err();
        assert!(err.to_string().contains("malformed GGUF header"), "{err}");
    }

    #[test]
    fn truncated_headers_are_errors_or_the_same_header() {
        let good = gguf_with(&[("general.architecture", Value::String("qwen2".into()))]);
        let mut errors = 0;
        for len in 0..good.len() {
            match read_content(&mut std::io::Cursor::new(&good[..len])) {
                // Only the alignment padding after the metadata may go.
                Ok(content) => assert_eq!(Metadata::new(&content).architecture().unwrap(), "qwen2"),
                Err(_) => errors += 1,
            }
        }
        assert!(errors > 40, "{errors} of {} cuts refused", good.len());
    }

    /// The inputs `fuzz/` found (see fuzz/README.md, findings 1 and 2).
    #[test]
    fn fuzz_regressions_are_clear_errors() {
        let alignment_zero = include_bytes!("../../fuzz/regressions/gguf/hand-alignment-zero.gguf");
        let err = read_content(&mut std::io::Cursor::new(&alignment_zero[..])).unwrap_err();
        assert!(err.to_string().contains("malformed GGUF header"), "{err}");

        let head_count_zero =
            include_bytes!("../../fuzz/regressions/gguf/hand-head-count-zero.gguf");
        let content = read_content(&mut std::io::Cursor::new(&head_count_zero[..])).unwrap();
        // Once a division by zero; now an error (here: the keys missing
        // beside the zero head count; `Config::validate` is tested with
        // complete shapes in `transformer`).
        assert!(crate::model::Config::from_metadata(&Metadata::new(&content)).is_err());
    }
}
