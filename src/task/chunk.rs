//! Splitting long texts into pieces that fit a token budget, at paragraph
//! boundaries where possible, then sentences, then words, and a word longer
//! than the budget (base64, a minified script) between characters.
//!
//! Every function here takes any UTF-8 text (empty, only whitespace, huge
//! words, combining characters) and never panics; the work is close to
//! linear in the text's length: each paragraph, sentence and word is
//! counted about once, and a chunk is counted again only to confirm it.

/// Splits `text` into chunks whose token count (as measured by `count`) is
/// at most `budget` (a budget of 0 counts as 1), keeping paragraphs whole
/// where they fit and never dropping text: a paragraph over the budget is
/// split between sentences, a sentence between words, a word between
/// characters. Chunks keep paragraph breaks as blank lines; text without
/// anything but whitespace gives no chunk.
///
/// Only a single character whose tokens exceed the budget can give a chunk
/// over it.
pub fn split_to_budget<E>(
    text: &str,
    budget: usize,
    count: &dyn Fn(&str) -> Result<usize, E>,
) -> Result<Vec<String>, E> {
    let budget = budget.max(1);
    let mut pieces = Vec::new();
    for paragraph in paragraphs(text) {
        let tokens = count(paragraph)?;
        if tokens <= budget {
            pieces.push(Piece::new(paragraph, tokens));
        } else {
            pieces.extend(split_long_paragraph(paragraph, tokens, budget, count)?);
        }
    }
    let chunks = pack(pieces, budget, "\n\n", count)?;
    Ok(chunks.into_iter().map(|chunk| chunk.text).collect())
}

/// Paragraphs of `text`: blocks separated by blank lines, trimmed, non-empty.
pub fn paragraphs(text: &str) -> impl Iterator<Item = &str> {
    text.split("\n\n").map(str::trim).filter(|p| !p.is_empty())
}

/// Splits `word` (any text; typically one without spaces) into consecutive
/// pieces of at most `budget` tokens each (a budget of 0 counts as 1), cut
/// between characters, each as long as fits (or within about 3% of that).
/// The pieces join to `word`.
/// A single character over the budget becomes a piece of its own.
pub fn split_by_tokens<E>(
    word: &str,
    budget: usize,
    count: &dyn Fn(&str) -> Result<usize, E>,
) -> Result<Vec<String>, E> {
    let budget = budget.max(1);
    let pieces = split_word(word, budget, count)?;
    Ok(pieces.into_iter().map(|p| p.text).collect())
}

/// The longest prefix of `text` of at most `budget` tokens (or one within
/// about 3% of its length), cut between characters: the whole text when it
/// fits, empty for empty text, the first character when not even it fits.
/// Costs about as much as counting the prefix a few times, however long
/// `text` is.
pub fn prefix_within<'a, E>(
    text: &'a str,
    budget: usize,
    count: &dyn Fn(&str) -> Result<usize, E>,
) -> Result<&'a str, E> {
    if text.is_empty() {
        return Ok(text);
    }
    let budget = budget.max(1);
    let (len, _) = fit_prefix(text, budget, budget, count)?;
    Ok(&text[..len])
}

/// A piece of text and its token count.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Piece {
    text: String,
    tokens: usize,
    /// The piece continues the one before it without a separator (the
    /// second and later pieces of a word cut between characters).
    glued: bool,
}

impl Piece {
    fn new(text: &str, tokens: usize) -> Self {
        Self {
            text: text.to_string(),
            tokens,
            glued: false,
        }
    }

    /// The separator that joins this piece to the one before it.
    fn separator<'a>(&self, sep: &'a str) -> &'a str {
        if self.glued {
            ""
        } else {
            sep
        }
    }
}

/// Splits one paragraph of `tokens` tokens that exceeds the budget into
/// sentence groups; a single sentence over the budget is split between
/// words, a word over it between characters.
fn split_long_paragraph<E>(
    paragraph: &str,
    tokens: usize,
    budget: usize,
    count: &dyn Fn(&str) -> Result<usize, E>,
) -> Result<Vec<Piece>, E> {
    let mut pieces = Vec::new();
    for sentence in sentences(paragraph) {
        let tokens = known_or_count(sentence, paragraph, tokens, count)?;
        if tokens <= budget {
            pieces.push(Piece::new(sentence, tokens));
            continue;
        }
        let mut words = Vec::new();
        for word in sentence.split_whitespace() {
            let tokens = known_or_count(word, sentence, tokens, count)?;
            if tokens <= budget {
                words.push(Piece::new(word, tokens));
            } else {
                words.extend(split_word(word, budget, count)?);
            }
        }
        pieces.extend(pack(words, budget, " ", count)?);
    }
    pack(pieces, budget, " ", count)
}

/// The count of `part`: `whole_tokens` when it is all of `whole`.
fn known_or_count<E>(
    part: &str,
    whole: &str,
    whole_tokens: usize,
    count: &dyn Fn(&str) -> Result<usize, E>,
) -> Result<usize, E> {
    if part == whole {
        Ok(whole_tokens)
    } else {
        count(part)
    }
}

/// Cuts `word` into the longest prefixes that fit `budget`.
fn split_word<E>(
    word: &str,
    budget: usize,
    count: &dyn Fn(&str) -> Result<usize, E>,
) -> Result<Vec<Piece>, E> {
    let mut pieces: Vec<Piece> = Vec::new();
    let mut rest = word;
    while !rest.is_empty() {
        // The last piece's bytes per token say where to look first.
        let start = match pieces.last() {
            Some(last) => {
                let estimate = scale(last.text.len(), budget, last.tokens.max(1));
                estimate - estimate / 64
            }
            None => budget,
        };
        let (len, tokens) = fit_prefix(rest, budget, start, count)?;
        pieces.push(Piece {
            text: rest[..len].to_string(),
            tokens,
            glued: !pieces.is_empty(),
        });
        rest = &rest[len..];
    }
    Ok(pieces)
}

/// The byte length of the longest prefix of `text` (non-empty, cut at a
/// character boundary) whose count is at most `budget`, or of one within
/// about 3% of it, and that count; the first character when not even it
/// fits.
///
/// Starts from a prefix of `start` bytes; each next length is where this
/// prefix's bytes per token put `budget` tokens, aimed a little past it
/// after a fit and a little short after a misfit, so the answer is
/// bracketed within a few counts; after a few rounds it bisects. The cost
/// follows the prefix's length, not the text's.
fn fit_prefix<E>(
    text: &str,
    budget: usize,
    start: usize,
    count: &dyn Fn(&str) -> Result<usize, E>,
) -> Result<(usize, usize), E> {
    const INTERPOLATED_ROUNDS: usize = 8;
    const MAX_ROUNDS: usize = 64;
    let first = text.chars().next().map_or(0, char::len_utf8);
    // Longest known fitting length with its count; shortest known misfit
    // (one past the end while none is known).
    let mut fit = (0, 0);
    let mut misfit = text.len() + 1;
    let mut probe = floor_boundary(text, start.min(text.len())).max(first);
    for round in 0..MAX_ROUNDS {
        let tokens = count(&text[..probe])?;
        let fits = tokens <= budget;
        if fits {
            fit = (probe, tokens);
            if probe == text.len() {
                return Ok(fit);
            }
        } else {
            misfit = probe;
        }
        if misfit - fit.0 <= (fit.0 / 32).max(1) {
            break;
        }
        let target = if round < INTERPOLATED_ROUNDS {
            let estimate = scale(probe, budget, tokens.max(1));
            let margin = estimate / 64 + 1;
            if fits {
                estimate.saturating_add(margin)
            } else {
                estimate.saturating_sub(margin)
            }
        } else {
            fit.0 + (misfit - fit.0) / 2
        };
        let target = target.clamp(fit.0 + 1, misfit - 1);
        let mut next = floor_boundary(text, target);
        if next <= fit.0 {
            next = ceil_boundary(text, target);
        }
        if next <= fit.0 || next >= misfit {
            break; // no character boundary in between
        }
        probe = next;
    }
    if fit.0 == 0 {
        return Ok((first, count(&text[..first])?));
    }
    Ok(fit)
}

/// `value * numerator / denominator` without overflow (saturating).
fn scale(value: usize, numerator: usize, denominator: usize) -> usize {
    let scaled = value as u128 * numerator as u128 / denominator.max(1) as u128;
    usize::try_from(scaled).unwrap_or(usize::MAX)
}

/// The smallest character boundary of `text` at or above `index`.
fn ceil_boundary(text: &str, index: usize) -> usize {
    let mut i = index.min(text.len());
    while !text.is_char_boundary(i) {
        i += 1;
    }
    i
}

/// The largest character boundary of `text` at or below `index`.
fn floor_boundary(text: &str, index: usize) -> usize {
    let mut i = index.min(text.len());
    while !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// Greedily joins consecutive pieces with `sep` while the joined text fits
/// the budget, and gives each chunk with its count. Whether a piece still
/// fits is first judged by adding counts (the chunk's, the separator's, the
/// piece's); only when that sum is over the budget is the joined text
/// counted, so each chunk is counted about once instead of once per piece.
/// A chunk whose sum fit is counted once at the end; if its text does not
/// fit (rare: joined pieces seldom tokenize longer than apart) it is packed
/// again, every join counted. Pieces are each within the budget.
fn pack<E>(
    pieces: Vec<Piece>,
    budget: usize,
    sep: &str,
    count: &dyn Fn(&str) -> Result<usize, E>,
) -> Result<Vec<Piece>, E> {
    let sep_tokens = count(sep)?;
    let mut groups: Vec<Group> = Vec::new();
    for piece in pieces {
        let Some(group) = groups.last_mut() else {
            groups.push(Group::new(piece));
            continue;
        };
        let (sep, sep_tokens) = if piece.glued {
            ("", 0)
        } else {
            (sep, sep_tokens)
        };
        if group.tokens + sep_tokens + piece.tokens <= budget {
            group.tokens += sep_tokens + piece.tokens;
            group.exact = false;
            group.text.push_str(sep);
            group.text.push_str(&piece.text);
            group.pieces.push(piece);
            continue;
        }
        let candidate = format!("{}{sep}{}", group.text, piece.text);
        let tokens = count(&candidate)?;
        if tokens <= budget {
            group.text = candidate;
            group.tokens = tokens;
            group.exact = true;
            group.pieces.push(piece);
        } else {
            groups.push(Group::new(piece));
        }
    }
    let mut chunks = Vec::new();
    for group in groups {
        let tokens = if group.exact {
            group.tokens
        } else {
            count(&group.text)?
        };
        if tokens <= budget || group.pieces.len() == 1 {
            chunks.push(Piece {
                text: group.text,
                tokens,
                glued: group.pieces.first().is_some_and(|p| p.glued),
            });
        } else {
            chunks.extend(pack_exactly(group.pieces, budget, sep, count)?);
        }
    }
    Ok(chunks)
}

/// Pieces packed into one chunk so far.
struct Group {
    pieces: Vec<Piece>,
    text: String,
    /// The text's count, or (when not `exact`) the sum of its parts'.
    tokens: usize,
    exact: bool,
}

impl Group {
    fn new(piece: Piece) -> Self {
        Self {
            text: piece.text.clone(),
            tokens: piece.tokens,
            exact: true,
            pieces: vec![piece],
        }
    }
}

/// Greedily joins consecutive pieces with `sep` while the joined text's
/// own count fits.
fn pack_exactly<E>(
    pieces: Vec<Piece>,
    budget: usize,
    sep: &str,
    count: &dyn Fn(&str) -> Result<usize, E>,
) -> Result<Vec<Piece>, E> {
    let mut chunks = Vec::new();
    let mut current: Option<Piece> = None;
    for piece in pieces {
        let Some(chunk) = current.as_mut() else {
            current = Some(piece);
            continue;
        };
        let candidate = format!("{}{}{}", chunk.text, piece.separator(sep), piece.text);
        let tokens = count(&candidate)?;
        if tokens <= budget {
            *chunk = Piece {
                text: candidate,
                tokens,
                glued: chunk.glued,
            };
        } else {
            chunks.extend(current.replace(piece));
        }
    }
    chunks.extend(current);
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

    /// One token per byte: long words are over any small budget.
    fn bytes(s: &str) -> Result<usize, Infallible> {
        Ok(s.len())
    }

    /// One token per character.
    fn chars(s: &str) -> Result<usize, Infallible> {
        Ok(s.chars().count())
    }

    #[test]
    fn an_overlong_word_is_split_between_characters_within_budget() {
        let word = "QUJD".repeat(2000);
        let text = format!("Vorher. {word} nachher.");
        let chunks = split_to_budget(&text, 100, &bytes).unwrap();
        assert!(chunks.len() >= 80, "{}", chunks.len());
        for c in &chunks {
            assert!(c.len() <= 100, "{}", c.len());
        }
        let alone = split_to_budget(&word, 100, &bytes).unwrap();
        assert!(alone.concat() == word, "no space is put into a word");
        let joined: String = chunks.concat();
        let squeezed: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        let rejoined: String = joined.chars().filter(|c| !c.is_whitespace()).collect();
        assert_eq!(rejoined, squeezed);
    }

    #[test]
    fn split_by_tokens_cuts_at_char_boundaries_and_keeps_everything() {
        for word in ["äöü€😀".repeat(50), "e\u{301}".repeat(300), "x".to_string()] {
            for budget in [0, 1, 3, 7, 64, 10_000] {
                let pieces = split_by_tokens(&word, budget, &bytes).unwrap();
                assert_eq!(pieces.concat(), word, "budget {budget}");
                for p in &pieces {
                    assert!(!p.is_empty());
                    // A character longer than the budget stands alone.
                    assert!(p.len() <= budget.max(1) || p.chars().count() == 1, "{p:?}");
                }
            }
        }
        assert!(split_by_tokens("", 5, &bytes).unwrap().is_empty());
    }

    #[test]
    fn prefixes_are_as_long_as_fits() {
        assert_eq!(prefix_within("abcdef", 4, &bytes).unwrap(), "abcd");
        assert_eq!(prefix_within("ab", 4, &bytes).unwrap(), "ab");
        assert_eq!(prefix_within("€uro", 2, &bytes).unwrap(), "€");
        assert_eq!(prefix_within("€uro", 4, &chars).unwrap(), "€uro");
        assert_eq!(prefix_within("", 4, &chars).unwrap(), "");
        let long = "ab".repeat(100_000);
        assert_eq!(prefix_within(&long, 1234, &chars).unwrap().len(), 1234);
    }

    #[test]
    fn odd_texts_never_panic_and_keep_their_words() {
        let texts = [
            String::new(),
            " \n\n \t ".to_string(),
            "\n\n\n".to_string(),
            "a".to_string(),
            "x\u{301}\u{302}\u{303}. Y\u{308}. ".repeat(40),
            "Ende.\n\n\u{200B}\u{FEFF}".to_string(),
            "!?.".repeat(500),
            ". . . A. b. C.".repeat(100),
            format!("{} {}", "🙂".repeat(3000), "z".repeat(5000)),
        ];
        for text in &texts {
            for budget in [0, 1, 2, 5, 50, 100_000] {
                for count in [
                    &bytes as &dyn Fn(&str) -> Result<usize, Infallible>,
                    &chars,
                    &words,
                ] {
                    let chunks = split_to_budget(text, budget, count).unwrap();
                    let expected: String = text.split_whitespace().collect();
                    let got: String = chunks.iter().flat_map(|c| c.split_whitespace()).collect();
                    assert_eq!(got, expected, "budget {budget}");
                    for c in &chunks {
                        assert!(!c.trim().is_empty());
                        assert!(count(c).unwrap() <= budget.max(1) || c.chars().count() == 1);
                    }
                }
            }
            let _ = sentences(text);
            let _ = paragraphs(text).count();
        }
    }

    #[test]
    fn packing_by_sums_gives_the_greedy_chunks() {
        // With an additive count the sum is exact: the chunks are what the
        // greedy packing of every join gives.
        let text = (0..50)
            .map(|i| format!("Satz {i} ist kurz."))
            .collect::<Vec<_>>()
            .join(" ");
        let chunks = split_to_budget(&text, 17, &words).unwrap();
        assert_eq!(chunks.len(), 13);
        for c in &chunks[..12] {
            assert_eq!(words(c).unwrap(), 16, "{c}");
        }
    }

    #[test]
    fn a_chunk_longer_than_its_parts_is_packed_again() {
        // Joined text counts one more per separator than its parts say.
        let costly = |s: &str| -> Result<usize, Infallible> {
            Ok(s.split_whitespace().count() * 2 - 1 + s.matches(' ').count())
        };
        let text = "a b c d e f g h";
        let chunks = split_to_budget(text, 5, &costly).unwrap();
        for c in &chunks {
            assert!(costly(c).unwrap() <= 5, "{c}");
        }
        assert_eq!(chunks.join(" "), text);
    }

    #[test]
    fn sentences_keep_decimal_numbers_together() {
        assert_eq!(
            sentences("Das Wachstum lag bei 3.2 Prozent. Das ist viel."),
            vec!["Das Wachstum lag bei 3.2 Prozent.", "Das ist viel."]
        );
    }

    /// Deterministic random texts from characters that stress the
    /// splitters: sentence ends, quotes, abbreviations, digits, blank
    /// lines, combining marks, wide characters, long runs.
    fn random_texts(n: usize) -> Vec<String> {
        const ATOMS: &[&str] = &[
            "a",
            "Z",
            "ß",
            "1",
            "12",
            ".",
            "!",
            "?",
            " ",
            "  ",
            "\n",
            "\n\n",
            "\t",
            "\"",
            "»",
            "«",
            "(",
            ")",
            "z.B.",
            "Dr.",
            "\u{301}",
            "\u{200B}",
            "😀",
            "€",
            "\r\n",
            "Nr. 5",
            "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
            "<|im_end|>",
            "'",
            "’",
            "…",
        ];
        let mut state = 0x9E37_79B9_7F4A_7C15_u64;
        let mut next = move || {
            state ^= state << 7;
            state ^= state >> 9;
            state
        };
        (0..n)
            .map(|_| {
                let len = (next() % 200) as usize;
                (0..len)
                    .map(|_| ATOMS[(next() % ATOMS.len() as u64) as usize])
                    .collect()
            })
            .collect()
    }

    #[test]
    fn random_texts_never_panic_and_keep_every_character() {
        for text in random_texts(1500) {
            for budget in [0, 1, 4, 33] {
                for count in [
                    &bytes as &dyn Fn(&str) -> Result<usize, Infallible>,
                    &chars,
                    &words,
                ] {
                    let chunks = split_to_budget(&text, budget, count).unwrap();
                    let expected: String = text.split_whitespace().collect();
                    let got: String = chunks.iter().flat_map(|c| c.split_whitespace()).collect();
                    assert_eq!(got, expected, "{text:?} budget {budget}");
                    let word_pieces = split_by_tokens(&text, budget, count).unwrap();
                    assert_eq!(word_pieces.concat(), text);
                    let prefix = prefix_within(&text, budget, count).unwrap();
                    assert!(text.starts_with(prefix));
                }
            }
            let rejoined: String = sentences(&text).concat();
            let squeezed: String = text.split_whitespace().collect();
            assert_eq!(
                rejoined.split_whitespace().collect::<String>(),
                squeezed,
                "{text:?}"
            );
        }
    }
}
