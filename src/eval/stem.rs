//! The Porter stemmer exactly as NLTK implements it (`nltk.stem.porter.PorterStemmer()`
//! in its default `NLTK_EXTENSIONS` mode), which is what `rouge-score` uses with
//! `use_stemmer=True`.
//!
//! This is neither Porter's original 1980 algorithm nor Snowball's Porter2 (the
//! `rust-stemmers` crate): NLTK adds an irregular-forms table, treats 2-letter words
//! specially, and changes steps 1a, 1b, 1c and 2. Each step below mirrors the
//! corresponding NLTK method, including its rule order and its "first matching suffix
//! decides, even if its condition fails" behaviour.

/// A suffix rule: `(suffix, replacement, condition on the stem left after removing suffix)`.
type Rule<'a> = (&'a str, &'a str, &'a dyn Fn(&[char]) -> bool);

/// Stems one word the way NLTK's `PorterStemmer().stem(word)` does.
///
/// The word is lowercased first (Unicode lowercasing, as Python's `str.lower`). Words of
/// one or two characters are returned lowercased but otherwise unchanged.
///
/// ```
/// use kurz::eval::porter_stem;
/// assert_eq!(porter_stem("running"), "run");
/// assert_eq!(porter_stem("generalizations"), "gener");
/// assert_eq!(porter_stem("dying"), "die");
/// ```
pub fn porter_stem(word: &str) -> String {
    let lower = word.to_lowercase();
    if let Some(stem) = irregular_form(&lower) {
        return stem.to_string();
    }
    if word.chars().count() <= 2 {
        return lower;
    }
    let mut w: Vec<char> = lower.chars().collect();
    for step in [step1a, step1b, step1c, step2, step3, step4, step5a, step5b] {
        w = step(&w);
    }
    w.into_iter().collect()
}

/// NLTK's table of irregular forms, looked up before any rule applies.
fn irregular_form(word: &str) -> Option<&'static str> {
    let stem = match word {
        "sky" | "skies" => "sky",
        "dying" => "die",
        "lying" => "lie",
        "tying" => "tie",
        "news" => "news",
        "innings" | "inning" => "inning",
        "outings" | "outing" => "outing",
        "cannings" | "canning" => "canning",
        "howe" => "howe",
        "proceed" => "proceed",
        "exceed" => "exceed",
        "succeed" => "succeed",
        _ => return None,
    };
    Some(stem)
}

fn is_vowel(c: char) -> bool {
    matches!(c, 'a' | 'e' | 'i' | 'o' | 'u')
}

/// `True` when `word[i]` is a consonant: not a vowel, and a `y` only when the letter
/// before it is not a consonant (or it starts the word).
fn is_consonant(word: &[char], i: usize) -> bool {
    if is_vowel(word[i]) {
        return false;
    }
    if word[i] != 'y' {
        return true;
    }
    let mut i = i;
    let mut negate = false;
    while i > 0 && word[i] == 'y' {
        negate = !negate;
        i -= 1;
    }
    // Consonant iff (the first non-'y' letter is a consonant) XOR (odd run of 'y's).
    is_vowel(word[i]) == negate
}

/// Consonant (`true`) / vowel (`false`) flag for every character, in one pass.
fn consonant_flags(word: &[char]) -> Vec<bool> {
    let mut flags: Vec<bool> = Vec::with_capacity(word.len());
    for (i, &c) in word.iter().enumerate() {
        let flag = if is_vowel(c) {
            false
        } else if c == 'y' {
            i == 0 || !flags[i - 1]
        } else {
            true
        };
        flags.push(flag);
    }
    flags
}

/// Porter's measure `m`: the number of vowel→consonant transitions.
fn measure(stem: &[char]) -> usize {
    consonant_flags(stem)
        .windows(2)
        .filter(|pair| !pair[0] && pair[1])
        .count()
}

fn has_positive_measure(stem: &[char]) -> bool {
    measure(stem) > 0
}

fn measure_gt_1(stem: &[char]) -> bool {
    measure(stem) > 1
}

fn contains_vowel(stem: &[char]) -> bool {
    consonant_flags(stem).iter().any(|&consonant| !consonant)
}

/// Condition `*d`: the word ends with a double consonant.
fn ends_double_consonant(word: &[char]) -> bool {
    let n = word.len();
    n >= 2 && word[n - 1] == word[n - 2] && is_consonant(word, n - 1)
}

/// Condition `*o`: the word ends consonant-vowel-consonant, the last not `w`, `x` or `y`
/// (NLTK also accepts a two-letter vowel-consonant word).
fn ends_cvc(word: &[char]) -> bool {
    let n = word.len();
    let three = n >= 3
        && is_consonant(word, n - 3)
        && !is_consonant(word, n - 2)
        && is_consonant(word, n - 1)
        && !matches!(word[n - 1], 'w' | 'x' | 'y');
    let two = n == 2 && !is_consonant(word, 0) && is_consonant(word, 1);
    three || two
}

fn ends_with(word: &[char], suffix: &str) -> bool {
    let n = suffix.len();
    word.len() >= n && word[word.len() - n..].iter().copied().eq(suffix.chars())
}

/// `word` without its last `n` characters, followed by `replacement`.
fn replace_end(word: &[char], n: usize, replacement: &str) -> Vec<char> {
    let mut out = word[..word.len() - n].to_vec();
    out.extend(replacement.chars());
    out
}

/// Applies the first rule whose suffix matches; if its condition fails the word is
/// returned unchanged and no later rule is tried (NLTK's `_apply_rule_list`).
fn apply_rules(word: &[char], rules: &[Rule<'_>]) -> Vec<char> {
    for &(suffix, replacement, condition) in rules {
        if ends_with(word, suffix) {
            let stem = &word[..word.len() - suffix.len()];
            return if condition(stem) {
                replace_end(word, suffix.len(), replacement)
            } else {
                word.to_vec()
            };
        }
    }
    word.to_vec()
}

fn always(_: &[char]) -> bool {
    true
}

/// Step 1a: plurals (`sses`, `ies`, `ss`, `s`), with NLTK's 4-letter `ies` → `ie`.
fn step1a(word: &[char]) -> Vec<char> {
    if word.len() == 4 && ends_with(word, "ies") {
        return replace_end(word, 3, "ie");
    }
    apply_rules(
        word,
        &[
            ("sses", "ss", &always),
            ("ies", "i", &always),
            ("ss", "ss", &always),
            ("s", "", &always),
        ],
    )
}

/// Step 1b: `eed`, `ed`, `ing`, with NLTK's `ied` handling and the tidy-up rules.
fn step1b(word: &[char]) -> Vec<char> {
    if ends_with(word, "ied") {
        let replacement = if word.len() == 4 { "ie" } else { "i" };
        return replace_end(word, 3, replacement);
    }
    if ends_with(word, "eed") {
        let stem = &word[..word.len() - 3];
        return if measure(stem) > 0 {
            replace_end(word, 3, "ee")
        } else {
            word.to_vec()
        };
    }
    for suffix in ["ed", "ing"] {
        if ends_with(word, suffix) {
            let stem = &word[..word.len() - suffix.len()];
            if contains_vowel(stem) {
                return step1b_tidy(stem);
            }
        }
    }
    word.to_vec()
}

/// The second part of step 1b, run after `ed` or `ing` was removed.
fn step1b_tidy(stem: &[char]) -> Vec<char> {
    for (suffix, replacement) in [("at", "ate"), ("bl", "ble"), ("iz", "ize")] {
        if ends_with(stem, suffix) {
            return replace_end(stem, suffix.len(), replacement);
        }
    }
    if ends_double_consonant(stem) {
        let last = stem[stem.len() - 1];
        return if matches!(last, 'l' | 's' | 'z') {
            stem.to_vec()
        } else {
            stem[..stem.len() - 1].to_vec()
        };
    }
    if measure(stem) == 1 && ends_cvc(stem) {
        return replace_end(stem, 0, "e");
    }
    stem.to_vec()
}

/// Step 1c: `y` → `i` after a consonant, unless the stem is a single letter (NLTK rule).
fn step1c(word: &[char]) -> Vec<char> {
    let condition = |stem: &[char]| stem.len() > 1 && is_consonant(stem, stem.len() - 1);
    apply_rules(word, &[("y", "i", &condition)])
}

/// Step 2: double suffixes such as `ational` → `ate`, with NLTK's `alli`, `fulli` and
/// `logi` extensions.
fn step2(word: &[char]) -> Vec<char> {
    if ends_with(word, "alli") && has_positive_measure(&word[..word.len() - 4]) {
        return step2(&replace_end(word, 4, "al"));
    }
    // The 'l' of 'logi' stays with the stem when measuring (NLTK extension).
    let logi = |_: &[char]| has_positive_measure(&word[..word.len() - 3]);
    let m = &has_positive_measure;
    apply_rules(
        word,
        &[
            ("ational", "ate", m),
            ("tional", "tion", m),
            ("enci", "ence", m),
            ("anci", "ance", m),
            ("izer", "ize", m),
            ("bli", "ble", m),
            ("alli", "al", m),
            ("entli", "ent", m),
            ("eli", "e", m),
            ("ousli", "ous", m),
            ("ization", "ize", m),
            ("ation", "ate", m),
            ("ator", "ate", m),
            ("alism", "al", m),
            ("iveness", "ive", m),
            ("fulness", "ful", m),
            ("ousness", "ous", m),
            ("aliti", "al", m),
            ("iviti", "ive", m),
            ("biliti", "ble", m),
            ("fulli", "ful", m),
            ("logi", "log", &logi),
        ],
    )
}

/// Step 3: `icate`, `ative`, `alize`, `iciti`, `ical`, `ful`, `ness`.
fn step3(word: &[char]) -> Vec<char> {
    let m = &has_positive_measure;
    apply_rules(
        word,
        &[
            ("icate", "ic", m),
            ("ative", "", m),
            ("alize", "al", m),
            ("iciti", "ic", m),
            ("ical", "ic", m),
            ("ful", "", m),
            ("ness", "", m),
        ],
    )
}

/// Step 4: removes suffixes such as `ance`, `ment`, `ion` when the measure exceeds 1.
fn step4(word: &[char]) -> Vec<char> {
    let m = &measure_gt_1;
    let ion = |stem: &[char]| measure(stem) > 1 && matches!(stem.last(), Some('s' | 't'));
    apply_rules(
        word,
        &[
            ("al", "", m),
            ("ance", "", m),
            ("ence", "", m),
            ("er", "", m),
            ("ic", "", m),
            ("able", "", m),
            ("ible", "", m),
            ("ant", "", m),
            ("ement", "", m),
            ("ment", "", m),
            ("ent", "", m),
            ("ion", "", &ion),
            ("ou", "", m),
            ("ism", "", m),
            ("ate", "", m),
            ("iti", "", m),
            ("ous", "", m),
            ("ive", "", m),
            ("ize", "", m),
        ],
    )
}

/// Step 5a: drops a final `e` when `m > 1`, or when `m = 1` and the stem is not `*o`.
fn step5a(word: &[char]) -> Vec<char> {
    if ends_with(word, "e") {
        let stem = &word[..word.len() - 1];
        let m = measure(stem);
        if m > 1 || (m == 1 && !ends_cvc(stem)) {
            return stem.to_vec();
        }
    }
    word.to_vec()
}

/// Step 5b: `ll` → `l` when the measure (of the word less one `l`) exceeds 1.
fn step5b(word: &[char]) -> Vec<char> {
    if ends_with(word, "ll") && measure(&word[..word.len() - 1]) > 1 {
        return word[..word.len() - 1].to_vec();
    }
    word.to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::test_fixture::fixture;

    #[test]
    fn matches_nltk_on_fixture_words() {
        let stems = fixture()["stem"]
            .as_object()
            .expect("stem section is an object");
        assert!(stems.len() > 100);
        for (word, expected) in stems {
            assert_eq!(porter_stem(word), expected.as_str().unwrap_or(""), "{word}");
        }
    }

    #[test]
    fn paper_examples() {
        let cases = [
            ("caresses", "caress"),
            ("ponies", "poni"),
            ("motoring", "motor"),
            ("hopping", "hop"),
            ("filing", "file"),
            ("relational", "relat"),
            ("controll", "control"),
        ];
        for (word, stem) in cases {
            assert_eq!(porter_stem(word), stem, "{word}");
        }
    }

    #[test]
    fn short_and_odd_words() {
        assert_eq!(porter_stem("Is"), "is");
        assert_eq!(porter_stem(""), "");
        assert_eq!(porter_stem("yyyyyyyy"), porter_stem("yyyyyyyy"));
        assert_eq!(porter_stem("Running"), "run");
        assert_eq!(porter_stem("müllers"), "müller");
    }
}
