//! Python string semantics that the reference implementations rely on.

/// Whether Python's `str.split()` / `str.strip()` treat `c` as whitespace.
///
/// That is Unicode `White_Space` (what Rust's [`char::is_whitespace`] tests) plus the
/// ASCII separators U+001C..U+001F, which Python also splits on.
pub(crate) fn is_py_whitespace(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// Python's `s.split()`: runs of whitespace separate, no empty pieces.
pub(crate) fn py_split(s: &str) -> impl Iterator<Item = &str> {
    s.split(is_py_whitespace).filter(|piece| !piece.is_empty())
}

/// Python's `''.join(s.split())`: the characters of `s` without any whitespace.
pub(crate) fn strip_py_whitespace(s: &str) -> impl Iterator<Item = char> + '_ {
    s.chars().filter(|&c| !is_py_whitespace(c))
}

/// Python's `s.rstrip()`.
pub(crate) fn py_rstrip(s: &str) -> &str {
    s.trim_end_matches(is_py_whitespace)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_whitespace() {
        assert!(is_py_whitespace('\u{a0}'));
        assert!(is_py_whitespace('\u{1f}'));
        assert!(is_py_whitespace('\u{85}'));
        assert!(!is_py_whitespace('\u{200b}'));
        assert_eq!(
            py_split(" a\tb\u{2009}c  ").collect::<Vec<_>>(),
            ["a", "b", "c"]
        );
        assert_eq!(py_rstrip("x \u{3000}\n"), "x");
    }
}
