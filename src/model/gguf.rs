//! Typed access to GGUF metadata.

use candle_core::quantized::gguf_file::{Content, Value};
use candle_core::Result;

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
