//! The German source side: an index of words, numbers and dates built once
//! per article, the support checks for claims, and proper-name candidates.

use std::collections::{HashMap, HashSet};

use super::extract::CONNECTORS;
use super::normalize::{
    canonical, date_key, fold_both, fold_key, hyphen_joined, is_hyphen, is_table_german, joined,
    month_de, month_key, name_key, number_values, scale_de, scale_up, spelled_de,
    spelled_unit_adjective_de, split_unit, tokenize, translations, unit_de, unit_symbol,
    weekday_de, weekday_key, Reading, Token, TokenKind, AGE_UNIT, SCALE_UNIT,
};
use super::roles::{index_german_roles, role_supported, GermanRoles};
use super::{Claim, ClaimKind};

/// German inflection endings a source word may add to a claim token
/// ("Trumps", "Ukrainer", "israelische").
const ENDINGS: &[&str] = &[
    "s", "es", "n", "en", "e", "er", "ern", "ens", "sche", "schen",
];

/// Claim tokens at least this long (chars) may sit at the start or end of a
/// German compound ("Hochwasser" in "Hochwasserschutz").
const MIN_COMPOUND_LEN: usize = 5;

/// Index of one German source article. Build once, query per claim.
#[derive(Debug, Clone, Default)]
pub struct SourceIndex {
    /// Folded words, hyphen parts and whole compounds (both umlaut folds).
    words: HashSet<String>,
    /// Words with one inflection ending removed (stem at least 3 chars).
    stems: HashSet<String>,
    /// Sorted unique words, scanned for compound containment.
    vocabulary: Vec<String>,
    /// Canonical numeric values and `H:MM` times.
    numbers: HashSet<String>,
    /// "--MM-DD", "--MM" and "-W-D" keys.
    dates: HashSet<String>,
    /// Units seen after each value in `numbers` (see [`UnitsSeen`]).
    units: HashMap<String, UnitsSeen>,
    /// Values given in years and not as a sum (see [`COMBINING_WORDS`]):
    /// the ones an English age may state.
    ages: HashSet<String>,
    /// Words and stems spelled as cognates (see [`cognate_key`]).
    cognates: HashSet<String>,
    /// The article is set in Germany (see [`GERMAN_SETTING`]).
    german_setting: bool,
    names: Vec<String>,
    /// Roles the article gives each capitalised word (see
    /// [`index_german_roles`]).
    roles: GermanRoles,
}

impl SourceIndex {
    /// Indexes a German source article.
    pub fn new(source_german: &str) -> Self {
        let tokens = tokenize(source_german);
        let mut index = Self::default();
        index.index_words(&tokens, source_german);
        index.index_numbers(&tokens, source_german);
        index.german_setting = tokens
            .iter()
            .any(|t| names_german_place(&fold_key(t.text), t.is_capitalised()));
        index.names = NameFinder::new(&tokens, source_german).find();
        index.roles = index_german_roles(source_german);
        index
    }

    /// True when the source supports the claim. Names: the whole run via the
    /// translation table, or every non-connector token on its own. Numbers
    /// and dates: the normalised value occurs among the source's values.
    /// Roles: the article gives the surname no contradicting role (see the
    /// claims module documentation).
    pub fn supports(&self, claim: &Claim) -> bool {
        match claim.kind {
            ClaimKind::Number => self.supports_number(&claim.normalized),
            ClaimKind::Name if claim.text.trim().is_empty() => {
                self.supports_name(&claim.normalized)
            }
            ClaimKind::Name => self.supports_name(&claim.text),
            ClaimKind::Role => role_supported(claim, &self.roles),
        }
    }

    /// Proper-name candidates found in the source (as written there, in order
    /// of first appearance), for prompting. Heuristic, because German
    /// capitalises all nouns: acronyms, table place names, and capitalised
    /// words not after a determiner/number/adjective that are not function
    /// words, months, weekdays or words with common-noun or role endings.
    pub fn names(&self) -> Vec<String> {
        self.names.clone()
    }

    /// The role the article gives the person with this surname, in English
    /// where kurz checks that role ("NATO spokeswoman" for the article's
    /// "NATO-Sprecherin Farah Dakhlallah"), else as written ("Regisseurin"):
    /// the first one, when it gives any.
    pub fn role_in_article(&self, surname: &str) -> Option<&str> {
        fold_both(surname)
            .iter()
            .find_map(|key| self.roles.words.get(key))
            .and_then(|words| words.first())
            .map(String::as_str)
    }

    // -- indexing -----------------------------------------------------------

    fn add_word(&mut self, word: String) {
        for ending in ENDINGS {
            if let Some(stem) = word.strip_suffix(ending) {
                if stem.chars().count() >= 3 {
                    self.stems.insert(stem.to_string());
                }
            }
        }
        self.words.insert(word);
    }

    fn index_words(&mut self, tokens: &[Token], text: &str) {
        for t in tokens.iter().filter(|t| t.kind == TokenKind::Word) {
            fold_both(t.text).into_iter().for_each(|f| self.add_word(f));
        }
        for (first, last) in compound_units(tokens, text) {
            if first == last {
                continue;
            }
            let whole: String = tokens[first..=last].iter().map(|t| t.text).collect();
            fold_both(&whole).into_iter().for_each(|f| self.add_word(f));
        }
        self.cognates = self
            .words
            .iter()
            .chain(&self.stems)
            .map(|w| cognate_key(w))
            .collect();
        let mut vocabulary: Vec<String> = self.words.iter().cloned().collect();
        vocabulary.sort();
        self.vocabulary = vocabulary;
    }

    fn index_numbers(&mut self, tokens: &[Token], text: &str) {
        for i in 0..tokens.len() {
            match tokens[i].kind {
                TokenKind::Number => self.index_number(tokens, i, text),
                TokenKind::Word => self.index_number_word(tokens, i, text),
                TokenKind::Punct => {}
            }
        }
    }

    /// German scale word ("Millionen") right after token `i`.
    fn scale_after(tokens: &[Token], i: usize, text: &str) -> Option<usize> {
        let (t, next) = (tokens.get(i)?, tokens.get(i + 1)?);
        if next.kind != TokenKind::Word || !joined(text, t, next) {
            return None;
        }
        scale_de(&fold_key(next.text))
    }

    /// Records a value with the unit found after it (`None`: no recognised
    /// unit). With a scale word, the scaled value carries the unit and the
    /// bare value counts as [`SCALE_UNIT`].
    fn insert_value(&mut self, value: String, scale: Option<usize>, unit: Option<&'static str>) {
        if let Some(zeros) = scale {
            let scaled = scale_up(&value, zeros);
            self.note_unit(&scaled, unit);
            self.numbers.insert(scaled);
            self.note_unit(&value, Some(SCALE_UNIT));
        } else {
            self.note_unit(&value, unit);
        }
        self.numbers.insert(value);
    }

    fn note_unit(&mut self, value: &str, unit: Option<&'static str>) {
        let seen = self.units.entry(value.to_string()).or_default();
        match unit {
            Some(u) => {
                seen.units.insert(u);
            }
            None => seen.bare = true,
        }
    }

    /// The recognised unit after the number at token `i` (and its scale word,
    /// if `scaled`): a symbol (`%`, `€`, `°`), or a unit word, counted noun or
    /// unit adjective at most two adjective-like words away ("12 Millionen
    /// Euro", "12 Mio. €", "500 neue Stellen", "80-jährige"). Years as dates
    /// ("2024") have none.
    fn unit_after(tokens: &[Token], i: usize, scaled: bool, text: &str) -> Option<&'static str> {
        let t = tokens.get(i)?;
        let year_like = t.text.len() == 4
            && t.text
                .parse::<u16>()
                .is_ok_and(|y| (1800..=2100).contains(&y));
        if year_like && !scaled {
            return None;
        }
        let mut prev = i + usize::from(scaled);
        let mut k = prev + 1;
        if scaled && tokens.get(k).is_some_and(|d| d.is_punct('.')) {
            prev = k;
            k += 1;
        }
        for _ in 0..3 {
            let (p, next) = (tokens.get(prev)?, tokens.get(k)?);
            let gap = text.get(p.span_end..next.start)?;
            let near = gap
                .chars()
                .all(|c| c == ' ' || c == '\u{a0}' || is_hyphen(c))
                && gap.chars().filter(|c| is_hyphen(*c)).count() <= 1;
            if !near {
                return None;
            }
            if next.kind == TokenKind::Punct {
                return unit_symbol(next.text);
            }
            if next.kind != TokenKind::Word {
                return None;
            }
            let key = fold_key(next.text);
            if let Some(unit) = unit_de(&key) {
                return Some(unit);
            }
            let adjective = next.is_lowercase_word()
                && key.chars().count() >= 4
                && ["e", "en", "er", "es", "em"]
                    .iter()
                    .any(|e| key.ends_with(e))
                && !DETERMINERS.contains(&key.as_str())
                && !NOT_ADJECTIVES.contains(&key.as_str());
            if !adjective {
                return None;
            }
            prev = k;
            k += 1;
        }
        None
    }

    fn index_number(&mut self, tokens: &[Token], i: usize, text: &str) {
        let t = &tokens[i];
        let scale = Self::scale_after(tokens, i, text);
        let unit = Self::unit_after(tokens, i, scale.is_some(), text);
        let age = unit == Some("year") && !after_combining_word(tokens, i);
        for value in number_values(t.text, Reading::Source) {
            if age {
                self.ages.insert(value.clone());
            }
            self.insert_value(value, scale, unit);
        }
        let next_is_dot = tokens.get(i + 1).is_some_and(|n| n.is_punct('.'));
        self.numeric_date(t.text, next_is_dot);
        self.time_with_uhr(tokens, i);
        if let Some(day) = t.text.parse::<u8>().ok().filter(|d| (1..=31).contains(d)) {
            let month_at = if next_is_dot { i + 2 } else { i + 1 };
            let month = tokens
                .get(month_at)
                .filter(|m| m.kind == TokenKind::Word)
                .and_then(|m| month_de(&fold_key(m.text)));
            if let Some(month) = month {
                self.dates.insert(date_key(month, day));
            }
        }
    }

    /// "20.01.2025", "20.1." → date (and year).
    fn numeric_date(&mut self, raw: &str, next_is_dot: bool) {
        let parts: Vec<&str> = raw.split('.').collect();
        let (day, month, year) = match parts.as_slice() {
            [d, m] if next_is_dot => (d, m, None),
            [d, m, y] => (d, m, Some(y)),
            _ => return,
        };
        let day = day.parse::<u8>().ok().filter(|d| (1..=31).contains(d));
        let month = month.parse::<u8>().ok().filter(|m| (1..=12).contains(m));
        if let (Some(day), Some(month)) = (day, month) {
            self.dates.insert(date_key(month, day));
            self.dates.insert(month_key(month));
            if let Some(y) = year.filter(|y| y.len() == 4) {
                self.numbers.insert(canonical(y, ""));
            }
        }
    }

    /// "10.30 Uhr" → "10:30"; "10 Uhr" → "10:00".
    fn time_with_uhr(&mut self, tokens: &[Token], i: usize) {
        let uhr = tokens.get(i + 1).is_some_and(|n| fold_key(n.text) == "uhr");
        if !uhr {
            return;
        }
        let raw = tokens[i].text;
        let (hour, minute) = raw.split_once('.').unwrap_or((raw, "00"));
        if hour.len() <= 2 && minute.len() == 2 {
            self.numbers
                .insert(format!("{}:{minute}", canonical(hour, "")));
        }
    }

    fn index_number_word(&mut self, tokens: &[Token], i: usize, text: &str) {
        let key = fold_key(tokens[i].text);
        if let Some(month) = month_de(&key) {
            self.dates.insert(month_key(month));
        } else if let Some(day) = weekday_de(&key) {
            self.dates.insert(weekday_key(day));
        } else if let Some(value) = spelled_de(&key) {
            let scale = Self::scale_after(tokens, i, text);
            let unit = Self::unit_after(tokens, i, scale.is_some(), text);
            if unit == Some("year") && !after_combining_word(tokens, i) {
                self.ages.insert(value.to_string());
            }
            self.insert_value(value.to_string(), scale, unit);
        } else if let Some((value, unit)) = spelled_unit_adjective_de(&key) {
            if unit == "year" {
                self.ages.insert(value.to_string());
            }
            self.insert_value(value.to_string(), None, Some(unit));
        }
    }

    // -- support ------------------------------------------------------------

    fn supports_number(&self, normalized: &str) -> bool {
        if normalized.starts_with('-') {
            return self.dates.contains(normalized);
        }
        let (value, unit) = split_unit(normalized);
        if !self.numbers.contains(value) {
            return false;
        }
        match (unit, self.units.get(value)) {
            // German "Punkte" after a rate are percentage points.
            (Some("%"), Some(seen)) => {
                seen.bare || seen.units.contains("%") || seen.units.contains("point")
            }
            (Some(AGE_UNIT), Some(seen)) => seen.bare || self.ages.contains(value),
            (Some(unit), Some(seen)) => seen.bare || seen.units.contains(unit),
            _ => true,
        }
    }

    fn supports_name(&self, text: &str) -> bool {
        let phrase = name_key(&text.replace(is_hyphen, " "));
        if self.supports_translation(&phrase) || self.supports_compass(&phrase) {
            return true;
        }
        let parts: Vec<&str> = text
            .split(|c: char| c.is_whitespace() || is_hyphen(c))
            .filter(|p| !p.is_empty())
            .collect();
        let content: Vec<&str> = parts
            .iter()
            .copied()
            .filter(|p| !CONNECTORS.contains(&fold_key(p).as_str()))
            .collect();
        let content = if content.is_empty() { parts } else { content };
        !content.is_empty() && content.iter().all(|p| self.supports_token(p))
    }

    fn supports_token(&self, token: &str) -> bool {
        self.supports_translation(&fold_key(token))
            || fold_both(token)
                .iter()
                .any(|f| self.supports_form(f) || self.supports_cognate(f))
    }

    fn supports_translation(&self, key: &str) -> bool {
        if matches!(key, "german" | "germany" | "germans") && self.german_setting {
            return true;
        }
        translations(key).is_some_and(|forms| forms.iter().any(|f| self.supports_german(f)))
    }

    /// A folded token of at least four letters spelled as a German cognate
    /// of a source word: "Cobalt" for "Kobalt", "Phosphat" for "Fosfat".
    fn supports_cognate(&self, form: &str) -> bool {
        let key = cognate_key(form);
        key != form && key.chars().count() >= 4 && self.cognates.contains(&key)
    }

    /// "South America", "northern Germany", "Upper Allgäu": a compass word
    /// (or upper/lower) and a place the article writes as one compound
    /// ("Südamerika", "Norddeutschland", "Oberallgäu").
    fn supports_compass(&self, phrase: &str) -> bool {
        let Some((compass, place)) = phrase.split_once(' ') else {
            return false;
        };
        let prefixes: &[&str] = match compass {
            "north" | "northern" => &["nord"],
            "south" | "southern" => &["sued", "sud"],
            "east" | "eastern" => &["ost"],
            "west" | "western" => &["west"],
            "upper" => &["ober"],
            "lower" => &["unter", "nieder"],
            _ => return false,
        };
        let mut places = vec![cognate_key(place)];
        if let Some(forms) = translations(place) {
            places.extend(
                forms
                    .iter()
                    .flat_map(|f| fold_both(f))
                    .map(|f| cognate_key(&f)),
            );
        }
        self.vocabulary.iter().any(|word| {
            prefixes
                .iter()
                .filter_map(|p| word.strip_prefix(p))
                .map(cognate_key)
                .any(|rest| {
                    places.iter().any(|p| {
                        rest == *p
                            || ENDINGS
                                .iter()
                                .any(|e| rest.strip_suffix(e) == Some(p.as_str()))
                    })
                })
        })
    }

    /// A (possibly multi-word) German form from the table: every word must be
    /// supported.
    fn supports_german(&self, form: &str) -> bool {
        form.split(|c: char| c.is_whitespace() || is_hyphen(c))
            .all(|w| fold_both(w).iter().any(|f| self.supports_form(f)))
    }

    /// One folded token: equal to a source word, a source word minus an
    /// inflection ending, or (≥ 5 chars) the start/end of a compound.
    fn supports_form(&self, form: &str) -> bool {
        if form.is_empty() {
            return false;
        }
        if self.words.contains(form) || self.stems.contains(form) {
            return true;
        }
        form.chars().count() >= MIN_COMPOUND_LEN
            && self.vocabulary.iter().any(|w| compound_contains(w, form))
    }
}

/// The units seen after one value in the source.
#[derive(Debug, Clone, Default)]
struct UnitsSeen {
    /// Some occurrence had no recognised unit: any unit is accepted.
    bare: bool,
    /// Unit keys of the other occurrences.
    units: HashSet<&'static str>,
}

/// German words that make the number after them a sum: "Die drei Tänzer
/// sind zusammen 277 Jahre alt" gives no one an age of 277.
const COMBINING_WORDS: &[&str] = &[
    "zusammen",
    "gemeinsam",
    "insgesamt",
    "zusammengerechnet",
    "addiert",
];

/// One of [`COMBINING_WORDS`] stands at most three words before token `i`,
/// in the same clause.
fn after_combining_word(tokens: &[Token], i: usize) -> bool {
    tokens[i.saturating_sub(3)..i]
        .iter()
        .rev()
        .take_while(|t| t.kind != TokenKind::Punct)
        .any(|t| COMBINING_WORDS.contains(&fold_key(t.text).as_str()))
}

/// Spelling of a folded word with the letters German and English write
/// differently in shared words made equal: "c" as "k", "ph" as "f", and a
/// doubled "k" once ("cobalt" and "kobalt" both give "kobalt").
fn cognate_key(folded: &str) -> String {
    folded
        .replace("ph", "f")
        .replace('c', "k")
        .replace("kk", "k")
}

/// Folded places and institutions that set an article in Germany, so that
/// "German"/"Germany" in its summary is supported even when the article
/// never writes "Deutschland": the 16 Länder (and their adjectives), the
/// largest cities and federal institutions that exist only in Germany.
/// Names that are also common German words ("Essen", "Halle", "Baden") are
/// left out, and so are institutions Austria shares ("Bundesrat",
/// "Landtag").
const GERMAN_SETTING: &[&str] = &[
    // Länder and their adjectives
    "wuerttemberg",
    "bayern",
    "bayerisch",
    "brandenburg",
    "hessen",
    "hessisch",
    "mecklenburg",
    "vorpommern",
    "niedersachsen",
    "niedersaechsisch",
    "nordrhein",
    "westfalen",
    "rheinland",
    "saarland",
    "sachsen",
    "saechsisch",
    "schleswig",
    "holstein",
    "thueringen",
    "thueringer",
    // Cities
    "berlin",
    "hamburg",
    "muenchen",
    "muenchner",
    "koeln",
    "koelner",
    "frankfurt",
    "stuttgart",
    "duesseldorf",
    "leipzig",
    "dortmund",
    "bremen",
    "dresden",
    "hannover",
    "nuernberg",
    "duisburg",
    "bochum",
    "wuppertal",
    "bielefeld",
    "bonn",
    "muenster",
    "mannheim",
    "karlsruhe",
    "augsburg",
    "wiesbaden",
    "gelsenkirchen",
    "aachen",
    "braunschweig",
    "kiel",
    "chemnitz",
    "magdeburg",
    "freiburg",
    "krefeld",
    "mainz",
    "luebeck",
    "erfurt",
    "oberhausen",
    "rostock",
    "kassel",
    "potsdam",
    "saarbruecken",
    "ludwigshafen",
    "oldenburg",
    "osnabrueck",
    "leverkusen",
    "darmstadt",
    "heidelberg",
    "regensburg",
    "paderborn",
    "ingolstadt",
    "wuerzburg",
    "wolfsburg",
    "goettingen",
    "heilbronn",
    "pforzheim",
    "koblenz",
    "bremerhaven",
    "erlangen",
    "jena",
    "trier",
    "cottbus",
    "schwerin",
    // Federal institutions of Germany alone
    "bundestag",
    "bundeswehr",
    "bundesagentur",
    "bundesbank",
    "bundesverfassungsgericht",
    "bundesgerichtshof",
    "bundeskartellamt",
    "bundesnetzagentur",
    "bundeskriminalamt",
];

/// Adjectives among [`GERMAN_SETTING`], which German writes in lower case.
const GERMAN_SETTING_ADJECTIVES: &[&str] =
    &["bayerisch", "hessisch", "niedersaechsisch", "saechsisch"];

/// The folded word is a [`GERMAN_SETTING`] entry, perhaps with an
/// inflection or adjective ending ("Bayerns", "Hamburger",
/// "Württembergs"); only the adjectives may be in lower case.
fn names_german_place(folded: &str, capitalised: bool) -> bool {
    let entries: &[&str] = if capitalised {
        GERMAN_SETTING
    } else {
        GERMAN_SETTING_ADJECTIVES
    };
    entries.iter().any(|place| {
        folded
            .strip_prefix(place)
            .is_some_and(|rest| rest.len() <= 3 && rest.chars().all(|c| c.is_ascii_lowercase()))
    })
}

/// `part` begins the compound `word`, or ends it (before an inflection
/// ending). Middle occurrences are rejected to stay precise.
fn compound_contains(word: &str, part: &str) -> bool {
    if word.len() <= part.len() {
        return false;
    }
    word.starts_with(part)
        || word.ends_with(part)
        || ENDINGS
            .iter()
            .filter_map(|e| word.strip_suffix(e))
            .any(|stem| stem.len() > part.len() && stem.ends_with(part))
}

/// Groups word tokens joined by inner hyphens into (first, last) ranges.
fn compound_units(tokens: &[Token], text: &str) -> Vec<(usize, usize)> {
    let mut units = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        if tokens[i].kind != TokenKind::Word {
            i += 1;
            continue;
        }
        let mut last = i;
        while tokens
            .get(last + 1)
            .is_some_and(|n| n.kind == TokenKind::Word && hyphen_joined(text, &tokens[last], n))
        {
            last += 1;
        }
        units.push((i, last));
        i = last + 1;
    }
    units
}

// ---------------------------------------------------------------------------
// Proper-name candidates in German text
// ---------------------------------------------------------------------------

/// Capitalised German function words (sentence starters).
const GERMAN_STOP: &[&str] = &[
    "aber",
    "alle",
    "allerdings",
    "als",
    "am",
    "an",
    "andere",
    "auch",
    "auf",
    "aus",
    "ausserdem",
    "bei",
    "beim",
    "bereits",
    "bis",
    "bisher",
    "da",
    "dabei",
    "daher",
    "damit",
    "dann",
    "darauf",
    "das",
    "dass",
    "dem",
    "demnach",
    "den",
    "denn",
    "dennoch",
    "der",
    "des",
    "deshalb",
    "die",
    "dies",
    "diese",
    "dieser",
    "dieses",
    "doch",
    "dort",
    "durch",
    "ebenfalls",
    "ein",
    "eine",
    "einem",
    "einen",
    "einer",
    "eines",
    "er",
    "erst",
    "es",
    "fuer",
    "gegen",
    "hier",
    "ich",
    "ihr",
    "ihre",
    "im",
    "in",
    "ins",
    "insgesamt",
    "jede",
    "jeder",
    "jedoch",
    "jetzt",
    "kein",
    "keine",
    "laut",
    "man",
    "mehr",
    "mit",
    "nach",
    "nicht",
    "noch",
    "nun",
    "nur",
    "ob",
    "oder",
    "ohne",
    "schon",
    "sein",
    "seine",
    "seit",
    "sie",
    "so",
    "trotz",
    "ueber",
    "um",
    "und",
    "unter",
    "viele",
    "vom",
    "von",
    "vor",
    "waehrend",
    "was",
    "wegen",
    "weil",
    "weitere",
    "wenn",
    "wer",
    "wie",
    "wir",
    "wo",
    "zudem",
    "zuletzt",
    "zum",
    "zur",
    "zuvor",
    "zwischen",
];

/// Lower-case words that mark the next noun as a common noun.
const DETERMINERS: &[&str] = &[
    "der", "die", "das", "den", "dem", "des", "ein", "eine", "einer", "einem", "einen", "eines",
    "kein", "keine", "keinen", "keinem", "keiner", "sein", "seine", "seinen", "seinem", "seiner",
    "ihr", "ihre", "ihren", "ihrem", "ihrer", "unser", "unsere", "dieser", "diese", "diesen",
    "diesem", "dieses", "jeder", "jede", "jeden", "jedem", "alle", "allen", "viele", "vielen",
    "mehrere", "einige", "am", "im", "zum", "zur", "vom", "beim", "ins", "ans",
];

/// Lower-case words ending like adjectives that are not adjectives.
const NOT_ADJECTIVES: &[&str] = &[
    "gegen",
    "zwischen",
    "ueber",
    "unter",
    "hinter",
    "wegen",
    "neben",
    "oder",
    "aber",
    "sowie",
    "gegenueber",
    "ohne",
    "seien",
    "waren",
    "wollen",
];

/// Frequent common nouns that appear without article after prepositions.
const COMMON_NOUNS: &[&str] = &[
    "angaben",
    "ansicht",
    "anfang",
    "amt",
    "beginn",
    "berichten",
    "dollar",
    "ende",
    "euro",
    "frieden",
    "gespraech",
    "hause",
    "hilfe",
    "informationen",
    "jahr",
    "jahre",
    "jahren",
    "kampf",
    "krieg",
    "land",
    "leute",
    "menschen",
    "mitte",
    "monaten",
    "ort",
    "polizei",
    "prozent",
    "rande",
    "seite",
    "sieg",
    "soldaten",
    "stadt",
    "stunden",
    "tage",
    "tagen",
    "uhr",
    "welt",
    "wochen",
    "zeit",
];

/// Endings of German common nouns (folded).
const COMMON_SUFFIXES: &[&str] = &[
    "ung", "ungen", "heit", "heiten", "keit", "keiten", "schaft", "schaften", "ion", "ionen",
    "taet", "ismus", "nis", "nisse", "tum", "ling", "chen", "ment", "enz", "anz", "ik", "probleme",
    "hilfen", "wahl", "wahlen", "gesetz",
];

/// Endings of German role nouns (folded): "NATO-Sprecherin", "Kremlchef".
const ROLE_SUFFIXES: &[&str] = &[
    "praesident",
    "praesidentin",
    "kanzler",
    "kanzlerin",
    "minister",
    "ministerin",
    "sprecher",
    "sprecherin",
    "sekretaer",
    "sekretaerin",
    "chef",
    "chefin",
    "vorsitzende",
    "vorsitzender",
    "botschafter",
    "botschafterin",
    "buergermeister",
    "buergermeisterin",
    "abgeordnete",
    "abgeordneter",
    "fuehrer",
    "koenig",
    "koenigin",
    "direktor",
    "direktorin",
    "leiter",
    "leiterin",
    "politiker",
    "politikerin",
    "experte",
    "expertin",
];

fn is_acronym(word: &str) -> bool {
    word.chars().count() >= 2 && word.chars().all(|c| c.is_uppercase())
}

fn has_suffix(key: &str, suffixes: &[&str]) -> bool {
    suffixes
        .iter()
        .any(|s| key.len() >= s.len() + 2 && key.ends_with(s))
        || suffixes.contains(&key)
}

/// A folded capitalised word that is certainly not a proper name.
fn is_common_german(key: &str) -> bool {
    GERMAN_STOP.contains(&key)
        || COMMON_NOUNS.contains(&key)
        || month_de(key).is_some()
        || weekday_de(key).is_some()
        || spelled_de(key).is_some()
        || scale_de(key).is_some()
        || has_suffix(key, COMMON_SUFFIXES)
        || has_suffix(key, ROLE_SUFFIXES)
}

/// Finds proper-name candidates in German text.
///
/// Rules: all-caps acronyms ("NATO", "USA", also inside compounds like
/// "US-Präsidentschaftswahl"); forms from the translation table ("Ukraine",
/// "Iran", "Kiew"); capitalised words not preceded by a determiner, a number
/// or (unless another capitalised word follows) an adjective-like word, and
/// not a function word, month, weekday, number word, frequent common noun or
/// word with a common-noun/role ending. Adjacent candidates form one name
/// ("Palm Beach", "Farah Dakhlallah"); a genitive "Trumps" yields "Trump"
/// and ends the run ("Trumps Sieg" is not a name).
struct NameFinder<'a, 'b> {
    tokens: &'b [Token<'a>],
    text: &'a str,
    /// Folded capitalised words, to recognise genitive "-s".
    capitalised: HashSet<String>,
    out: Vec<String>,
    run: Vec<String>,
    prev_last: Option<usize>,
    after_genitive: bool,
}

impl<'a, 'b> NameFinder<'a, 'b> {
    fn new(tokens: &'b [Token<'a>], text: &'a str) -> Self {
        let capitalised = tokens
            .iter()
            .filter(|t| t.is_capitalised())
            .map(|t| fold_key(t.text))
            .collect();
        Self {
            tokens,
            text,
            capitalised,
            out: Vec::new(),
            run: Vec::new(),
            prev_last: None,
            after_genitive: false,
        }
    }

    fn find(mut self) -> Vec<String> {
        for (first, last) in compound_units(self.tokens, self.text) {
            self.unit(first, last);
        }
        self.flush();
        let mut seen = HashSet::new();
        self.out
            .into_iter()
            .filter(|n| seen.insert(name_key(n)))
            .collect()
    }

    fn flush(&mut self) {
        if !self.run.is_empty() {
            self.out.push(self.run.join(" "));
            self.run.clear();
        }
    }

    fn unit(&mut self, first: usize, last: usize) {
        let continues = self.prev_last.is_some_and(|p| {
            p + 1 == first && joined(self.text, &self.tokens[p], &self.tokens[first])
        });
        let head_ok = self.is_name_head(first, last);
        if !head_ok || (self.after_genitive && continues) {
            self.flush();
            if !head_ok {
                (first..last).for_each(|p| self.part(p));
            }
            self.prev_last = None;
            self.after_genitive = false;
            return;
        }
        if !continues {
            self.flush();
        }
        self.prev_last = Some(last);
        self.after_genitive = false;
        let whole = self
            .text
            .get(self.tokens[first].start..self.tokens[last].end)
            .unwrap_or("");
        if let Some(stem) = self.genitive_stem(first, last) {
            self.flush();
            self.out.push(stem.to_string());
            self.after_genitive = true;
            return;
        }
        self.run.push(whole.to_string());
    }

    /// "Trumps" when "Trump" also occurs capitalised.
    fn genitive_stem(&self, first: usize, last: usize) -> Option<&'a str> {
        let stem = self.tokens.get(last)?.text.strip_suffix('s')?;
        let known = first == last && self.capitalised.contains(&fold_key(stem));
        known.then_some(stem)
    }

    /// Non-final part of a compound: "NATO" in "NATO-Sprecherin".
    fn part(&mut self, p: usize) {
        let Some(t) = self.tokens.get(p).filter(|t| t.is_capitalised()) else {
            return;
        };
        let key = fold_key(t.text);
        let plain = !is_common_german(&key) && !key.ends_with('s') && key.chars().count() >= 3;
        if is_acronym(t.text) || is_table_german(&key) || plain {
            self.out.push(t.text.to_string());
        }
    }

    fn is_name_head(&self, first: usize, last: usize) -> bool {
        let Some(t) = self.tokens.get(last).filter(|t| t.is_capitalised()) else {
            return false;
        };
        let key = fold_key(t.text);
        if key.chars().count() < 2 {
            return false;
        }
        if is_acronym(t.text) {
            return true;
        }
        if is_common_german(&key) {
            return false;
        }
        is_table_german(&key) || self.in_name_position(first, last)
    }

    /// Not after a determiner, a number, or an adjective-like word (unless
    /// another capitalised word follows, as in "sagte Olaf Scholz").
    fn in_name_position(&self, first: usize, last: usize) -> bool {
        let Some(prev) = first.checked_sub(1).and_then(|p| self.tokens.get(p)) else {
            return true;
        };
        if prev.kind == TokenKind::Number {
            return false;
        }
        if prev.kind != TokenKind::Word {
            return true;
        }
        let key = fold_key(prev.text);
        if DETERMINERS.contains(&key.as_str()) || spelled_de(&key).is_some() {
            return false;
        }
        if !prev.is_lowercase_word() {
            return true;
        }
        let adjective_like = ["e", "en", "er", "es", "em"]
            .iter()
            .any(|e| key.ends_with(e))
            && key.chars().count() >= 4
            && !NOT_ADJECTIVES.contains(&key.as_str());
        !adjective_like || self.capitalised_follows(last)
    }

    fn capitalised_follows(&self, last: usize) -> bool {
        match (self.tokens.get(last), self.tokens.get(last + 1)) {
            (Some(a), Some(b)) => b.is_capitalised() && joined(self.text, a, b),
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(text: &str) -> Claim {
        Claim {
            kind: ClaimKind::Name,
            text: text.to_string(),
            normalized: name_key(text),
        }
    }

    fn number(normalized: &str) -> Claim {
        Claim {
            kind: ClaimKind::Number,
            text: normalized.to_string(),
            normalized: normalized.to_string(),
        }
    }

    #[test]
    fn inflection_endings_are_tolerated() {
        let idx = SourceIndex::new("Trumps Sieg. Die israelische Armee. Merkels Nachfolger.");
        assert!(idx.supports(&name("Trump")));
        assert!(idx.supports(&name("Israeli")));
        assert!(idx.supports(&name("Merkel")));
        assert!(!idx.supports(&name("Merz")));
    }

    #[test]
    fn umlauts_fold_both_ways() {
        let idx = SourceIndex::new("In München und Düsseldorf.");
        assert!(idx.supports(&name("Muenchen")));
        assert!(idx.supports(&name("Dusseldorf")));
        assert!(idx.supports(&name("Düsseldorf")));
    }

    #[test]
    fn diacritics_are_removed() {
        let idx = SourceIndex::new("Trainer Kovačević sagte.");
        assert!(idx.supports(&name("Kovacevic")));
    }

    #[test]
    fn compound_containment_needs_five_letters_and_an_edge() {
        let idx = SourceIndex::new("Der Hochwasserschutz und die NATO-Sprecherin im Westeuropa.");
        assert!(idx.supports(&name("Hochwasser")));
        assert!(idx.supports(&name("NATO")));
        assert!(!idx.supports(&name("Wasser")), "middle of a compound");
        let idx = SourceIndex::new("Die Natoland-Frage.");
        assert!(!idx.supports(&name("Nat")));
    }

    #[test]
    fn translation_table_supports_names() {
        let idx = SourceIndex::new(
            "In Brüssel, München, Köln und Wien; Selenskyj in Kiew; Moskau; Sachsen, Bayern.",
        );
        for n in [
            "Brussels", "Munich", "Cologne", "Vienna", "Zelensky", "Kyiv", "Kiev", "Moscow",
            "Saxony", "Bavaria",
        ] {
            assert!(idx.supports(&name(n)), "{n}");
        }
    }

    #[test]
    fn demonyms_supported_by_place_or_adjective() {
        let idx = SourceIndex::new(
            "Deutschland und die russischen Truppen in der Ukraine; die USA und Europa.",
        );
        for n in [
            "German",
            "Germans",
            "Russian",
            "Ukrainian",
            "American",
            "European",
        ] {
            assert!(idx.supports(&name(n)), "{n}");
        }
        assert!(!idx.supports(&name("French")));
    }

    #[test]
    fn demonym_nouns_and_new_table_entries_are_supported() {
        let idx = SourceIndex::new(
            "Die Schwedin Elin Lindqvist gewann den Weltcup. Die Stadt setzt KI ein; \
             ein Franzose und eine Polin.",
        );
        for n in ["Swedish", "Swede", "World Cup", "AI", "French", "Polish"] {
            assert!(idx.supports(&name(n)), "{n}");
        }
        assert!(!idx.supports(&name("Norwegian")));
    }

    #[test]
    fn cognates_spelled_with_c_or_ph_are_supported() {
        let idx = SourceIndex::new("Akkus ohne Lithium, Kobalt und Nickel; Kanada liefert Fosfat.");
        for n in ["Cobalt", "Canada", "Phosfat", "Nickel"] {
            assert!(idx.supports(&name(n)), "{n}");
        }
        for n in ["Cobra", "Carl", "Colt"] {
            assert!(!idx.supports(&name(n)), "{n}");
        }
    }

    #[test]
    fn compass_compounds_support_two_word_places() {
        let idx = SourceIndex::new(
            "Ein Schiff aus Südamerika erreichte Norddeutschland; Hagel im Oberallgäu.",
        );
        for n in [
            "South America",
            "Northern Germany",
            "North Germany",
            "Upper Allgäu",
        ] {
            assert!(idx.supports(&name(n)), "{n}");
        }
        for n in [
            "North America",
            "South Germany",
            "Eastern Europe",
            "South Korea",
            "Lower Allgäu",
        ] {
            assert!(!idx.supports(&name(n)), "{n}");
        }
    }

    #[test]
    fn german_is_supported_by_a_german_setting() {
        for article in [
            "Die Regionaldirektion in Stuttgart meldete weniger Arbeitslose.",
            "Der Mietspiegel für Frankfurt steigt.",
            "Der bayerische Landtag tagte.",
            "Der Bundestag beschloss das Gesetz.",
            "Die Hamburger Behörden reagierten.",
        ] {
            let idx = SourceIndex::new(article);
            for n in ["German", "Germany", "German Bundestag"] {
                assert_eq!(
                    idx.supports(&name(n)),
                    n != "German Bundestag" || article.contains("Bundestag"),
                    "{n} in {article}"
                );
            }
        }
        for article in [
            "Der Bundesrat in Wien beschloss das Gesetz.",
            "In Paris streikten die Eisenbahner.",
            "Beim Essen in der Halle gab es Streit.",
        ] {
            let idx = SourceIndex::new(article);
            assert!(!idx.supports(&name("German")), "{article}");
        }
    }

    #[test]
    fn spelled_numbers_fused_with_a_unit_adjective() {
        let idx = SourceIndex::new("In einer sechsmonatigen Testphase und zweijährigen Frist.");
        assert!(idx.supports(&number("6 month")));
        assert!(idx.supports(&number("2 year")));
        assert!(!idx.supports(&number("6 year")));
        assert!(!idx.supports(&number("3 month")));
    }

    #[test]
    fn multi_word_german_forms_need_all_words() {
        let idx = SourceIndex::new("Im Weißen Haus und bei den Vereinten Nationen.");
        assert!(idx.supports(&name("White House")));
        assert!(idx.supports(&name("United Nations")));
        let idx = SourceIndex::new("Das Haus.");
        assert!(!idx.supports(&name("White House")));
    }

    #[test]
    fn numbers_in_german_notation() {
        let idx = SourceIndex::new(
            "Mehr als 10.000 Soldaten, 3,2 Prozent, 2,3 Millionen Euro, 2.300 Menschen, 7 Mrd.",
        );
        for v in [
            "10000",
            "3.2",
            "3.2%",
            "2300000",
            "2300",
            "2.3",
            "7000000000",
        ] {
            assert!(idx.supports(&number(v)), "{v}");
        }
        assert!(!idx.supports(&number("12000")));
        assert!(
            !idx.supports(&number("7000000000000")),
            "Mrd. is not a trillion"
        );
    }

    #[test]
    fn german_billion_is_a_trillion() {
        let idx = SourceIndex::new("Eine Billion Euro und zwei Milliarden.");
        assert!(idx.supports(&number("1000000000000")));
        assert!(idx.supports(&number("2000000000")));
        assert!(!idx.supports(&number("1000000000")));
    }

    #[test]
    fn spelled_german_numbers() {
        let idx = SourceIndex::new("Zwei Tage, zwölf Stunden, fünfundzwanzig Leute, hundert.");
        for v in ["2", "12", "25", "100"] {
            assert!(idx.supports(&number(v)), "{v}");
        }
        assert!(!idx.supports(&number("3")));
    }

    #[test]
    fn german_dates_and_numeric_dates() {
        let idx = SourceIndex::new("Am 12. März, am 20.01.2025 und am 3.10. sowie im Mai.");
        for v in ["--03-12", "--03", "--01-20", "2025", "--10-03", "--05"] {
            assert!(idx.supports(&number(v)), "{v}");
        }
        assert!(!idx.supports(&number("--03-13")));
    }

    #[test]
    fn weekdays_and_compounds() {
        let idx = SourceIndex::new("Am Freitagabend und am Samstag.");
        assert!(idx.supports(&number("-W-5")));
        assert!(idx.supports(&number("-W-6")));
        assert!(!idx.supports(&number("-W-1")));
    }

    #[test]
    fn times_with_uhr() {
        let idx = SourceIndex::new("Um 10.30 Uhr und um 18 Uhr.");
        assert!(idx.supports(&number("10:30")));
        assert!(idx.supports(&number("18:00")));
    }

    #[test]
    fn names_heuristic_on_simple_text() {
        let idx = SourceIndex::new(
            "Das Treffen fand in Berlin statt, sagte Olaf Scholz. Die Regierung schweigt.",
        );
        assert_eq!(idx.names(), vec!["Berlin", "Olaf Scholz"]);
    }
}
