//! Temporary: replaced by the output-language check (issue 16).

/// `None` when `text` is English (or too short to tell), else its language.
pub fn output_language(text: &str) -> Option<&'static str> {
    match crate::input::language::detect(text) {
        Some(g) if g.reliable && g.code != "en" => Some(g.code),
        _ => None,
    }
}
