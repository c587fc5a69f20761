//! Splitting long texts into pieces that fit a token budget, at paragraph
//! boundaries where possible, then sentences, then words.

/// Splits `text` into chunks whose token count (as measured by `count`) is
/// at most `budget`, keeping paragraphs whole where they fit and never
/// dropping text. Chunks keep paragraph breaks as blank lines.
pub fn split_to_budget<E>(
    text: &str,
    budget: usize,
    count: &dyn Fn(&str) -> Result<usize, E>,
) -> Result<Vec<String>, E> {
    let budget = budget.max(1);
    let mut pieces = Vec::new();
    for paragraph in paragraphs(text) {
        if count(paragraph)? <= budget {
            pieces.push(paragraph.to_string());
        } else {
            pieces.extend(split_long_paragraph(paragraph, budget, count)?);
        }
    }
    pack(pieces, budget, "\n\n", count)
}

/// Paragraphs of `text`: blocks separated by blank lines, trimmed, non-empty.
pub fn paragraphs(text: &str) -> impl Iterator<Item = &str> {
    text.split("\n\n").map(str::trim).filter(|p| !p.is_empty())
}

/// Splits one paragraph that exceeds the budget into sentence groups; a
/// single sentence over the budget is split between words.
fn split_long_paragraph<E>(
    paragraph: &str,
    budget: usize,
    count: &dyn Fn(&str) -> Result<usize, E>,
) -> Result<Vec<String>, E> {
    let mut pieces = Vec::new();
    for sentence in sentences(paragraph) {
        if count(sentence)? <= budget {
            pieces.push(sentence.to_string());
        } else {
            let words: Vec<String> = sentence.split_whitespace().map(str::to_string).collect();
            pieces.extend(pack(words, budget, " ", count)?);
        }
    }
    pack(pieces, budget, " ", count)
}

/// Greedily joins consecutive pieces with `sep` while the result fits.
fn pack<E>(
    pieces: Vec<String>,
    budget: usize,
    sep: &str,
    count: &dyn Fn(&str) -> Result<usize, E>,
) -> Result<Vec<String>, E> {
    let mut chunks = Vec::new();
    let mut current = String::new();
    for piece in pieces {
        if current.is_empty() {
            current = piece;
            continue;
        }
        let candidate = format!("{current}{sep}{piece}");
        if count(&candidate)? <= budget {
            current = candidate;
        } else {
            chunks.push(std::mem::replace(&mut current, piece));
        }
    }
    if !current.is_empty() {
        chunks.push(current);
    }
    Ok(chunks)
}

/// Sentences of a German or English paragraph. A sentence ends at `.`, `!`
/// or `?` (optionally followed by closing quotes or brackets) before
/// whitespace and an uppercase letter, digit or opening quote — but not
/// after common abbreviations ("z.B.", "Dr.", "Nr.") or ordinal numbers
/// ("12. März").
pub fn sentences(paragraph: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let chars: Vec<(usize, char)> = paragraph.char_indices().collect();
    for (i, &(pos, c)) in chars.iter().enumerate() {
        if !matches!(c, '.' | '!' | '?') {
            continue;
        }
        let mut j = i + 1;
        while j < chars.len()
            && matches!(chars[j].1, '"' | '\'' | '»' | '«' | '“' | '”' | ')' | '’')
        {
            j += 1;
        }
        if j >= chars.len() || !chars[j].1.is_whitespace() {
            continue;
        }
        let next = chars[j..].iter().find(|(_, ch)| !ch.is_whitespace());
        let Some(&(_, next_char)) = next else {
            continue;
        };
        if !(next_char.is_uppercase()
            || next_char.is_ascii_digit()
            || "\"„»«“'(".contains(next_char))
        {
            continue;
        }
        if c == '.' && is_abbreviation_or_ordinal(&paragraph[start..pos]) {
            continue;
        }
        let end = chars.get(j).map(|&(p, _)| p).unwrap_or(paragraph.len());
        let sentence = paragraph[start..end].trim();
        if !sentence.is_empty() {
            out.push(sentence);
        }
        start = end;
    }
    let rest = paragraph[start..].trim();
    if !rest.is_empty() {
        out.push(rest);
    }
    out
}

/// Whether the word before a period makes it an abbreviation or ordinal.
fn is_abbreviation_or_ordinal(before: &str) -> bool {
    const ABBREVIATIONS: &[&str] = &[
        "z.b", "bzw", "ca", "dr", "prof", "nr", "str", "usw", "vgl", "u.a", "d.h", "etc", "mio",
        "mrd", "jh", "abs", "st", "evtl", "ggf", "inkl", "mr", "mrs", "ms", "vs", "e.v", "s",
        "bspw", "sog", "ggü", "zzgl", "jan", "feb", "aug", "sept", "okt", "nov", "dez",
    ];
    let word = before
        .rsplit(|c: char| c.is_whitespace() || c == '(')
        .next()
        .unwrap_or("");
    if word.is_empty() {
        return false;
    }
    if word.chars().all(|c| c.is_ascii_digit()) && word.len() <= 2 {
        return true; // "12. März", "3. Liga"
    }
    if word.chars().count() == 1 && word.chars().all(char::is_uppercase) {
        return true; // initials: "Angela M. Schmidt"
    }
    let lower = word.to_lowercase();
    ABBREVIATIONS.contains(&lower.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::convert::Infallible;

    fn words(s: &str) -> Result<usize, Infallible> {
        Ok(s.split_whitespace().count())
    }

    #[test]
    fn short_text_is_one_chunk() {
        let chunks = split_to_budget("Ein Satz.\n\nNoch einer.", 100, &words).unwrap();
        assert_eq!(chunks, vec!["Ein Satz.\n\nNoch einer."]);
    }

    #[test]
    fn paragraphs_are_packed_within_budget_and_nothing_is_lost() {
        let text = (0..20)
            .map(|i| format!("Absatz {i} hat genau sechs Wörter."))
            .collect::<Vec<_>>()
            .join("\n\n");
        let chunks = split_to_budget(&text, 20, &words).unwrap();
        assert!(chunks.len() > 1);
        for c in &chunks {
            assert!(words(c).unwrap() <= 20, "{c}");
        }
        let rejoined: Vec<&str> = chunks.iter().flat_map(|c| paragraphs(c)).collect();
        let original: Vec<&str> = paragraphs(&text).collect();
        assert_eq!(rejoined, original);
    }

    #[test]
    fn long_paragraph_splits_at_sentences() {
        let text = "Erster Satz hier. Zweiter Satz dort. Dritter Satz jetzt.";
        let chunks = split_to_budget(text, 4, &words).unwrap();
        assert_eq!(
            chunks,
            vec![
                "Erster Satz hier.",
                "Zweiter Satz dort.",
                "Dritter Satz jetzt."
            ]
        );
    }

    #[test]
    fn overlong_sentence_splits_between_words() {
        let text = "eins zwei drei vier fünf sechs sieben";
        let chunks = split_to_budget(text, 3, &words).unwrap();
        assert_eq!(chunks, vec!["eins zwei drei", "vier fünf sechs", "sieben"]);
    }

    #[test]
    fn sentences_respect_abbreviations_and_ordinals() {
        let p =
            "Am 12. März sprach Dr. Müller z.B. über Nr. 5 und mehr. Danach ging er. \"Gut!\" Sagte sie.";
        assert_eq!(
            sentences(p),
            vec![
                "Am 12. März sprach Dr. Müller z.B. über Nr. 5 und mehr.",
                "Danach ging er.",
                "\"Gut!\"",
                "Sagte sie."
            ]
        );
    }

    #[test]
    fn sentences_keep_decimal_numbers_together() {
        assert_eq!(
            sentences("Das Wachstum lag bei 3.2 Prozent. Das ist viel."),
            vec!["Das Wachstum lag bei 3.2 Prozent.", "Das ist viel."]
        );
    }
}
