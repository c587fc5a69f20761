//! A list of common English words, to tell a capitalised word that opens a
//! sentence ("Heavy rain fell", "Scientists found") from a name ("Stoltenberg
//! said"). The list is the lower-case part of SCOWL's american-english-small
//! (see `english_words.COPYRIGHT`), so proper names are not in it, though
//! names that are also words ("Trump", "Green", "Mark") are.

/// The words, one per line, sorted bytewise.
const WORDS: &str = include_str!("english_words.txt");

/// True when `folded` (lower case, ASCII) is a common English word.
pub(crate) fn is_english_word(folded: &str) -> bool {
    let bytes = WORDS.as_bytes();
    let (mut lo, mut hi) = (0, bytes.len());
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        let start = bytes[..mid]
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |p| p + 1);
        let end = bytes[start..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(bytes.len(), |p| start + p);
        match WORDS[start..end].cmp(folded) {
            std::cmp::Ordering::Equal => return true,
            std::cmp::Ordering::Less => lo = end + 1,
            std::cmp::Ordering::Greater => hi = start,
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_is_sorted_and_lower_case() {
        let lines: Vec<&str> = WORDS.lines().collect();
        assert!(lines.len() > 30_000);
        assert!(lines.windows(2).all(|w| w[0] < w[1]));
        assert!(lines
            .iter()
            .all(|w| w.len() >= 2 && w.bytes().all(|b| b.is_ascii_lowercase())));
    }

    #[test]
    fn every_listed_word_is_found_and_others_are_not() {
        for word in WORDS.lines() {
            assert!(is_english_word(word), "{word}");
        }
        for word in ["heavy", "scientists", "flooding", "aardvark", "zoos"] {
            assert!(is_english_word(word), "{word}");
        }
        for word in [
            "stoltenberg",
            "biden",
            "dakhlallah",
            "",
            "a",
            "zzzz",
            "heav",
            "heavyy",
        ] {
            assert!(!is_english_word(word), "{word}");
        }
    }
}
