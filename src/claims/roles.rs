//! Role claims (issue 16, point 5): a role or title word written directly
//! beside a person's name in the English summary ("Secretary-General Farah
//! Dakhlallah", "Farah Dakhlallah, NATO's spokeswoman") must not contradict
//! the role the German article gives that person ("NATO-Sprecherin Farah
//! Dakhlallah"). See the claims module documentation for the rule and its
//! measurements.

use std::collections::{HashMap, HashSet};

use super::normalize::{fold_both, fold_key, hyphen_joined, joined, tokenize, Token, TokenKind};
use super::{Claim, ClaimKind};

/// A checked role family. English role words map to one; German role words
/// to one or more.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Family {
    Spokes,
    SecretaryGeneral,
    Minister,
    Chancellor,
    Mayor,
    President,
    Executive,
    Coach,
    Judge,
    /// A family relation or form of address ("wife", "Ehemann", "Frau"):
    /// only its gender is checked.
    Kin,
    /// An English organisation word in apposition ("Oberhof, a German
    /// biathlon team"): wrong for a name the article uses only as a place.
    Organisation,
    /// A German role outside the checked families ("Regisseurin").
    Other,
    /// A German role too broad to contradict anything ("Chef", "Leiter").
    Any,
}

/// Grammatical/natural gender of a role word, where it has one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Gender {
    Female,
    Male,
}

/// One role the German article gives a word (a name) at one occurrence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct GermanRole {
    family: Family,
    gender: Option<Gender>,
}

/// English role words checked before or after a name, with their key (the
/// first part of a role claim's `normalized`).
fn english_role(words: &[String]) -> Option<(&'static str, Family, Option<Gender>)> {
    let last = words.last()?.as_str();
    let before = words.len().checked_sub(2).and_then(|i| words.get(i));
    let before = before.map(String::as_str);
    Some(match (before, last) {
        (Some("secretary"), "general") | (Some("general"), "secretary") => {
            ("secretary-general", Family::SecretaryGeneral, None)
        }
        (Some("chief"), "executive") => ("ceo", Family::Executive, None),
        (_, "spokeswoman") => ("spokeswoman", Family::Spokes, Some(Gender::Female)),
        (_, "spokesman") => ("spokesman", Family::Spokes, Some(Gender::Male)),
        (_, "spokesperson") => ("spokesperson", Family::Spokes, None),
        (_, "minister") => ("minister", Family::Minister, None),
        (_, "chancellor") => ("chancellor", Family::Chancellor, None),
        (_, "mayor") => ("mayor", Family::Mayor, None),
        (_, "president") => ("president", Family::President, None),
        (_, "ceo") => ("ceo", Family::Executive, None),
        (_, "coach") => ("coach", Family::Coach, None),
        (_, "judge") => ("judge", Family::Judge, None),
        (_, "wife") => ("wife", Family::Kin, Some(Gender::Female)),
        (_, "husband") => ("husband", Family::Kin, Some(Gender::Male)),
        (_, "widow") => ("widow", Family::Kin, Some(Gender::Female)),
        (_, "widower") => ("widower", Family::Kin, Some(Gender::Male)),
        (_, "mother") => ("mother", Family::Kin, Some(Gender::Female)),
        (_, "father") => ("father", Family::Kin, Some(Gender::Male)),
        (_, "daughter") => ("daughter", Family::Kin, Some(Gender::Female)),
        (_, "son") => ("son", Family::Kin, Some(Gender::Male)),
        (_, "sister") => ("sister", Family::Kin, Some(Gender::Female)),
        (_, "brother") => ("brother", Family::Kin, Some(Gender::Male)),
        (
            _,
            "team" | "club" | "company" | "firm" | "organisation" | "organization" | "association"
            | "federation",
        ) => ("organisation", Family::Organisation, None),
        _ => return None,
    })
}

/// The family of a role claim key.
fn family_of_key(key: &str) -> Option<(Family, Option<Gender>)> {
    english_role(&key.split('-').map(str::to_string).collect::<Vec<_>>())
        .map(|(_, family, gender)| (family, gender))
}

/// German role-word parts (folded, umlauts expanded) and their families; a
/// word containing a part has that family. Checked in order; all matches
/// count ("ministerpraesident": minister and president).
const GERMAN_ROLES: &[(&str, Family)] = &[
    ("sprecher", Family::Spokes),
    ("generalsekretaer", Family::SecretaryGeneral),
    ("minister", Family::Minister),
    ("kanzler", Family::Chancellor),
    ("buergermeister", Family::Mayor),
    ("rathauschef", Family::Mayor),
    ("stadtoberhaupt", Family::Mayor),
    ("praesident", Family::President),
    ("geschaeftsfuehrer", Family::Executive),
    ("vorstand", Family::Executive),
    ("trainer", Family::Coach),
    ("richter", Family::Judge),
    // Broad words: leaders of anything.
    ("chef", Family::Any),
    ("leiter", Family::Any),
    ("vorsitzend", Family::Any),
    ("spitze", Family::Any),
    ("direktor", Family::Any),
    ("fuehrer", Family::Any),
    ("boss", Family::Any),
    ("oberhaupt", Family::Any),
    ("vize", Family::Any),
    // Titles and offices that coexist with or are translated as other roles
    // ("Professor", "Staatssekretär" as deputy minister, "Senator" as a
    // city-state minister).
    ("professor", Family::Any),
    ("staatssekretaer", Family::Any),
    ("senator", Family::Any),
    // Other roles: evidence of a different role.
    ("regisseur", Family::Other),
    ("intendant", Family::Other),
    ("dezernent", Family::Other),
    ("abgeordnet", Family::Other),
    ("stadtrat", Family::Other),
    ("stadtraetin", Family::Other),
    ("landrat", Family::Other),
    ("landraetin", Family::Other),
    ("bischof", Family::Other),
    ("botschafter", Family::Other),
    ("gouverneur", Family::Other),
    ("kommissar", Family::Other),
    ("anwalt", Family::Other),
    ("anwaeltin", Family::Other),
    ("schauspieler", Family::Other),
    ("saenger", Family::Other),
    ("autor", Family::Other),
    ("spieler", Family::Other),
    ("kapitaen", Family::Other),
    ("pfarrer", Family::Other),
    ("oekonom", Family::Other),
    ("forscher", Family::Other),
    ("wissenschaftler", Family::Other),
    ("kandidat", Family::Other),
];

/// German family words and forms of address (folded, whole words only:
/// "Hofmann" and "Bergmann" are names) and the gender they give the name
/// after them.
const GERMAN_KIN: &[(&str, Gender)] = &[
    ("herr", Gender::Male),
    ("herrn", Gender::Male),
    ("mann", Gender::Male),
    ("ehemann", Gender::Male),
    ("witwer", Gender::Male),
    ("vater", Gender::Male),
    ("sohn", Gender::Male),
    ("bruder", Gender::Male),
    ("lebensgefaehrte", Gender::Male),
    ("lebensgefaehrten", Gender::Male),
    ("frau", Gender::Female),
    ("ehefrau", Gender::Female),
    ("witwe", Gender::Female),
    ("mutter", Gender::Female),
    ("tochter", Gender::Female),
    ("schwester", Gender::Female),
    ("lebensgefaehrtin", Gender::Female),
];

/// Parts of words that contain a role part without being a role.
const NOT_ROLES: &[&str] = &[
    "ministerium",
    "praesidentschaft",
    "praesidium",
    "kanzleramt",
    "berichter",
    "vorstandssitz",
    "spitzen",
];

/// The roles named by German word `word` (one token, or a hyphen compound's
/// last part).
fn german_roles(word: &str) -> Vec<GermanRole> {
    let key = fold_key(word);
    if let Some(&(_, gender)) = GERMAN_KIN.iter().find(|(kin, _)| *kin == key) {
        return vec![GermanRole {
            family: Family::Kin,
            gender: Some(gender),
        }];
    }
    if NOT_ROLES.iter().any(|n| key.contains(n)) && !key.contains("kanzleramtsminister") {
        return Vec::new();
    }
    let female = key.ends_with("in") || key.ends_with("innen") || key.ends_with("frau");
    let mut out = Vec::new();
    for (part, family) in GERMAN_ROLES {
        if key.contains(part) && !out.iter().any(|r: &GermanRole| r.family == *family) {
            // Feminine role nouns are reliable ("Trainerin"); masculine
            // ones are also used for anyone, except for spokespeople.
            let gender = if female {
                Some(Gender::Female)
            } else {
                (*family == Family::Spokes).then_some(Gender::Male)
            };
            out.push(GermanRole {
                family: *family,
                gender,
            });
        }
    }
    out
}

/// German articles and determiners allowed between a name's comma and an
/// appositive role ("Kühn, die Planungsdezernentin").
const GERMAN_DETERMINERS: &[&str] = &[
    "der", "die", "das", "den", "dem", "des", "ein", "eine", "einer", "eines", "einem",
];

/// Roles the German article gives each capitalised word, keyed by both
/// folds of the word (and of it without a genitive "s"). A role counts when
/// its word stands directly before the name (first names may come between:
/// "NATO-Sprecherin Farah Dakhlallah"), in an appositive after it ("Kühn,
/// die Planungsdezernentin"), or before a genitive and a comma ("Sprecherin
/// des Ministeriums, Anna Müller").
pub(crate) fn index_german_roles(text: &str) -> GermanRoles {
    let tokens = tokenize(text);
    let mut out = GermanRoles::default();
    let mut elsewhere = HashSet::new();
    for (j, t) in tokens.iter().enumerate() {
        if !t.is_capitalised() || !german_roles(t.text).is_empty() {
            continue;
        }
        let after_locative = j
            .checked_sub(1)
            .and_then(|p| tokens.get(p))
            .is_some_and(|p| LOCATIVES.contains(&fold_key(p.text).as_str()));
        for key in fold_both(t.text) {
            if after_locative {
                out.places.insert(key);
            } else {
                elsewhere.insert(key);
            }
        }
        let found: Vec<(usize, Vec<GermanRole>)> =
            [role_before(&tokens, j, text), role_after(&tokens, j)]
                .into_iter()
                .flatten()
                .collect();
        if found.is_empty() {
            continue;
        }
        let mut keys = fold_both(t.text);
        if let Some(stem) = t.text.strip_suffix('s').filter(|s| s.chars().count() >= 3) {
            keys.extend(fold_both(stem));
        }
        for key in keys {
            for (word, roles) in &found {
                elsewhere.insert(key.clone());
                out.roles
                    .entry(key.clone())
                    .or_default()
                    .extend(roles.iter().copied());
                let written = role_in_english(&tokens, *word, roles, text);
                let words = out.words.entry(key.clone()).or_default();
                if !words.contains(&written) {
                    words.push(written);
                }
            }
        }
    }
    out.places.retain(|key| !elsewhere.contains(key));
    out
}

/// German prepositions of place: a name only ever written after one of
/// them ("in Oberhof", "nach Oberhof") is a place for the organisation
/// check.
const LOCATIVES: &[&str] = &[
    "in",
    "im",
    "nach",
    "aus",
    "bei",
    "nahe",
    "nördlich",
    "südlich",
];

/// The roles a German article gives its names, by folded name word.
#[derive(Debug, Clone, Default)]
pub(crate) struct GermanRoles {
    /// Role families of each name word.
    pub(crate) roles: HashMap<String, HashSet<GermanRole>>,
    /// The roles in English where their family has an English word, as
    /// the article writes them otherwise ("NATO spokeswoman" for
    /// "NATO-Sprecherin", "Regisseurin"), in order of appearance.
    pub(crate) words: HashMap<String, Vec<String>>,
    /// Capitalised words the article writes only after a preposition of
    /// place ([`LOCATIVES`]), and never with a role.
    pub(crate) places: HashSet<String>,
}

/// Role word `i` in English: the hyphenated parts before it and the English
/// word of its family ("NATO spokeswoman" for "NATO-Sprecherin"), or the
/// German word as written when its family has none.
fn role_in_english(tokens: &[Token], i: usize, roles: &[GermanRole], text: &str) -> String {
    let mut first = i;
    while first > 0 && hyphen_joined(text, &tokens[first - 1], &tokens[first]) {
        first -= 1;
    }
    let families: Vec<Family> = roles.iter().map(|r| r.family).collect();
    let english = if families.contains(&Family::Minister) && families.contains(&Family::President) {
        Some("minister-president")
    } else {
        roles.iter().find_map(english_word)
    };
    match english {
        Some(word) => tokens[first..i]
            .iter()
            .map(|t| t.text)
            .chain([word])
            .collect::<Vec<_>>()
            .join(" "),
        None => text
            .get(tokens[first].start..tokens[i].end)
            .unwrap_or("")
            .to_string(),
    }
}

/// The English word of a checked role family.
fn english_word(role: &GermanRole) -> Option<&'static str> {
    Some(match (role.family, role.gender) {
        (Family::Spokes, Some(Gender::Female)) => "spokeswoman",
        (Family::Spokes, Some(Gender::Male)) => "spokesman",
        (Family::Spokes, None) => "spokesperson",
        (Family::SecretaryGeneral, _) => "secretary-general",
        (Family::Minister, _) => "minister",
        (Family::Chancellor, _) => "chancellor",
        (Family::Mayor, _) => "mayor",
        (Family::President, _) => "president",
        (Family::Executive, _) => "chief executive",
        (Family::Coach, _) => "coach",
        (Family::Judge, _) => "judge",
        (Family::Kin, Some(Gender::Male)) => "a man",
        (Family::Kin, Some(Gender::Female)) => "a woman",
        (Family::Kin | Family::Organisation | Family::Other | Family::Any, _) => return None,
    })
}

/// Roles before name token `j` (with the role word's token): skip up to
/// two joined capitalised non-role words (first names), then a role word;
/// or a role word, a genitive ("des Ministeriums") and a comma before the
/// name.
fn role_before(tokens: &[Token], j: usize, text: &str) -> Option<(usize, Vec<GermanRole>)> {
    let mut i = j;
    for _ in 0..3 {
        let prev = i.checked_sub(1)?;
        let (p, cur) = (&tokens[prev], &tokens[i]);
        if p.kind == TokenKind::Punct && p.is_punct(',') {
            return role_before_genitive(tokens, prev);
        }
        if !p.is_capitalised() || !joined(text, p, cur) {
            return None;
        }
        let roles = german_roles(p.text);
        if !roles.is_empty() {
            return Some((prev, roles));
        }
        i = prev;
    }
    None
}

/// "Role des/der Org(anisation) [Org], Name": `comma` is the comma before
/// the name.
fn role_before_genitive(tokens: &[Token], comma: usize) -> Option<(usize, Vec<GermanRole>)> {
    let mut i = comma;
    for _ in 0..3 {
        let prev = i.checked_sub(1)?;
        let p = &tokens[prev];
        if p.kind != TokenKind::Word {
            return None;
        }
        if matches!(p.text, "des" | "der") {
            let role = prev.checked_sub(1)?;
            let r = tokens.get(role).filter(|r| r.is_capitalised())?;
            let roles = german_roles(r.text);
            return (!roles.is_empty()).then_some((role, roles));
        }
        if !p.is_capitalised() {
            return None;
        }
        i = prev;
    }
    None
}

/// Appositive roles after name token `j` (with the role word's token):
/// ", [determiner] [word] Role".
fn role_after(tokens: &[Token], j: usize) -> Option<(usize, Vec<GermanRole>)> {
    if !tokens.get(j + 1).is_some_and(|t| t.is_punct(',')) {
        return None;
    }
    let mut i = j + 2;
    if tokens
        .get(i)
        .is_some_and(|t| GERMAN_DETERMINERS.contains(&t.text))
    {
        i += 1;
    }
    for k in i..i + 2 {
        let t = tokens.get(k)?;
        if t.kind != TokenKind::Word {
            return None;
        }
        let roles = german_roles(t.text);
        if !roles.is_empty() && t.is_capitalised() {
            // Not a role of this name if another name follows it.
            let next_is_name = tokens
                .get(k + 1)
                .is_some_and(|n| n.is_capitalised() && german_roles(n.text).is_empty());
            return (!next_is_name).then_some((k, roles));
        }
    }
    None
}

/// English words allowed between a name's comma and an appositive role
/// ("Dakhlallah, the NATO spokeswoman").
const ENGLISH_DETERMINERS: &[&str] = &["the", "a", "an", "its", "his", "her", "their"];

/// Role claims of an English summary: a checked role word directly before a
/// capitalised name ("Secretary-General Farah Dakhlallah", "his wife Anna")
/// or in an appositive after it ("Farah Dakhlallah, NATO's spokeswoman").
/// `normalized` is the role key and the folded surname
/// ("secretary-general dakhlallah").
pub fn role_claims(summary: &str) -> Vec<Claim> {
    let tokens = tokenize(summary);
    let keys: Vec<String> = tokens.iter().map(|t| fold_key(t.text)).collect();
    let mut out: Vec<Claim> = Vec::new();
    let mut j = 0;
    while j < tokens.len() {
        let Some(end) = name_run(&tokens, &keys, j, summary) else {
            j += 1;
            continue;
        };
        let surname = keys[end].clone();
        let found = role_prefix(&tokens, &keys, j, summary)
            .map(|(start, key)| (start, end, key))
            .or_else(|| role_suffix(&tokens, &keys, end).map(|(last, key)| (j, last, key)));
        if let Some((first, last, key)) = found {
            let text = summary
                .get(tokens[first].start..tokens[last].end)
                .unwrap_or("")
                .to_string();
            let normalized = format!("{key} {surname}");
            if !out.iter().any(|c| c.normalized == normalized) {
                out.push(Claim {
                    kind: ClaimKind::Role,
                    text,
                    normalized,
                });
            }
        }
        j = end + 1;
    }
    out
}

/// End of the capitalised name run starting at `j` (up to four joined
/// capitalised words that are not role words), or `None`.
fn name_run(tokens: &[Token], keys: &[String], j: usize, text: &str) -> Option<usize> {
    let is_name = |i: usize| {
        tokens.get(i).is_some_and(|t| {
            t.is_capitalised()
                && english_role(std::slice::from_ref(&keys[i])).is_none()
                && !matches!(keys[i].as_str(), "secretary" | "general" | "chief")
        })
    };
    if !is_name(j) {
        return None;
    }
    let mut end = j;
    while end + 1 < tokens.len()
        && end < j + 3
        && is_name(end + 1)
        && !tokens[end].possessive
        && joined(text, &tokens[end], &tokens[end + 1])
    {
        end += 1;
    }
    Some(end)
}

/// A role word (one or two tokens) joined directly before the name at `j`.
fn role_prefix(
    tokens: &[Token],
    keys: &[String],
    j: usize,
    text: &str,
) -> Option<(usize, &'static str)> {
    let one = j.checked_sub(1)?;
    if !joined(text, &tokens[one], &tokens[j]) || tokens[one].kind != TokenKind::Word {
        return None;
    }
    if let Some(two) = one.checked_sub(1) {
        let first_of_pair = matches!(keys[two].as_str(), "secretary" | "general" | "chief");
        if first_of_pair && joined(text, &tokens[two], &tokens[one]) {
            let pair = [keys[two].clone(), keys[one].clone()];
            if let Some((key, Family::SecretaryGeneral | Family::Executive, _)) =
                english_role(&pair)
            {
                return Some((two, key));
            }
        }
    }
    english_role(std::slice::from_ref(&keys[one])).map(|(key, _, _)| (one, key))
}

/// An appositive role after the name ending at `end`: ", [the|NATO's|...]
/// [word] [word] role" not followed by another name.
fn role_suffix(tokens: &[Token], keys: &[String], end: usize) -> Option<(usize, &'static str)> {
    if !tokens.get(end + 1)?.is_punct(',') {
        return None;
    }
    let mut i = end + 2;
    if ENGLISH_DETERMINERS.contains(&keys.get(i)?.as_str()) {
        i += 1;
    }
    for k in i..i + 3 {
        let t = tokens.get(k)?;
        if t.kind != TokenKind::Word {
            return None;
        }
        let pair = [keys[k.saturating_sub(1)].clone(), keys[k].clone()];
        let role = english_role(&pair).or_else(|| english_role(std::slice::from_ref(&keys[k])));
        if let Some((key, _, _)) = role {
            let followed_by_name = tokens.get(k + 1).is_some_and(|n| n.is_capitalised());
            return (!followed_by_name).then_some((k, key));
        }
    }
    None
}

/// True unless the article gives the claim's person roles and none of them
/// is compatible with the claimed role: a role from another checked family
/// or an "other" role, no broad role ("Chef"), and for spokespeople with a
/// gendered English word, a German word of the other gender only. A family
/// word ("his wife Dieter Schroth") is unsupported only when the article
/// gives the person the other gender ("ihr Mann Dieter Schroth"). An
/// organisation word ("Oberhof, a German biathlon team") is unsupported
/// when the article writes the name only after a preposition of place.
pub(crate) fn role_supported(claim: &Claim, article: &GermanRoles) -> bool {
    let Some((key, surname)) = claim.normalized.split_once(' ') else {
        return true;
    };
    let Some((family, gender)) = family_of_key(key) else {
        return true;
    };
    if family == Family::Organisation {
        return !fold_both(surname)
            .iter()
            .any(|k| article.places.contains(k));
    }
    let found: HashSet<GermanRole> = fold_both(surname)
        .iter()
        .filter_map(|k| article.roles.get(k))
        .flatten()
        .copied()
        .collect();
    if family == Family::Kin {
        // Only a gender the article gives (a family word, a form of address,
        // a feminine role noun, "Sprecher") contradicts a family word.
        return !found
            .iter()
            .any(|r| matches!((r.gender, gender), (Some(a), Some(b)) if a != b));
    }
    // "Frau Berger" says nothing about her office.
    let found: Vec<&GermanRole> = found.iter().filter(|r| r.family != Family::Kin).collect();
    if found.is_empty() || found.iter().any(|r| r.family == Family::Any) {
        return true;
    }
    found.iter().any(|r| {
        r.family == family && (gender.is_none() || r.gender.is_none() || r.gender == gender)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(summary: &str, article: &str) -> Vec<String> {
        let roles = index_german_roles(article);
        role_claims(summary)
            .into_iter()
            .filter(|c| !role_supported(c, &roles))
            .map(|c| c.text)
            .collect()
    }

    const DAKHLALLAH: &str = "Das teilte NATO-Sprecherin Farah Dakhlallah am Samstag mit. \
Rutte hatte das Amt als NATO-Generalsekretär im Oktober übernommen.";

    #[test]
    fn spokeswoman_called_secretary_general_is_flagged() {
        assert_eq!(
            check(
                "NATO Secretary-General Farah Dakhlallah said they met.",
                DAKHLALLAH
            ),
            vec!["Secretary-General Farah Dakhlallah"]
        );
        assert_eq!(
            check("Minister Farah Dakhlallah spoke.", DAKHLALLAH),
            vec!["Minister Farah Dakhlallah"]
        );
    }

    #[test]
    fn matching_roles_pass() {
        for summary in [
            "NATO spokeswoman Farah Dakhlallah said they met.",
            "Farah Dakhlallah, NATO's spokeswoman, said they met.",
            "Secretary General Rutte met Trump.",
            "President Trump met Rutte.",
        ] {
            assert!(check(summary, DAKHLALLAH).is_empty(), "{summary}");
        }
    }

    #[test]
    fn gendered_spokesperson_is_checked() {
        assert_eq!(
            check("NATO spokesman Farah Dakhlallah said so.", DAKHLALLAH),
            vec!["spokesman Farah Dakhlallah"]
        );
    }

    #[test]
    fn appositive_roles_are_flagged() {
        assert_eq!(
            check(
                "Farah Dakhlallah, the NATO Secretary General, said so.",
                DAKHLALLAH
            ),
            vec!["Farah Dakhlallah, the NATO Secretary General"]
        );
    }

    #[test]
    fn broad_or_missing_german_roles_never_flag() {
        let article = "NATO-Chef Mark Rutte traf Trump. Kühn sagte, das sei gut.";
        for summary in [
            "Secretary-General Mark Rutte met Trump.",
            "Mayor Kühn said it was good.",
            "Chancellor Trump met Rutte.",
        ] {
            assert!(check(summary, article).is_empty(), "{summary}");
        }
    }

    #[test]
    fn german_compounds_and_appositives_give_roles() {
        let article = "Bundesinnenministerin Nancy Faeser sprach. Oberbürgermeister Mike \
Josef lobte. Kühn, die Planungsdezernentin der Stadt, stellte vor. Die Sprecherin des \
Ministeriums, Anna Berger, schwieg. Ministerpräsident Michael Kretschmer kam.";
        assert!(check("Minister Nancy Faeser spoke.", article).is_empty());
        assert!(check("Mayor Mike Josef praised it.", article).is_empty());
        assert!(check("President Michael Kretschmer came.", article).is_empty());
        assert!(check("Minister Kretschmer came.", article).is_empty());
        assert_eq!(
            check("Chancellor Nancy Faeser spoke.", article),
            vec!["Chancellor Nancy Faeser"]
        );
        assert_eq!(check("Mayor Kühn said so.", article), vec!["Mayor Kühn"]);
        assert_eq!(
            check("Judge Anna Berger said nothing.", article),
            vec!["Judge Anna Berger"]
        );
    }

    #[test]
    fn family_words_must_keep_the_gender_the_article_gives() {
        let article = "Die Biathletin Lena Hofbauer und ihr Mann Dieter Schroth feierten. \
Frau Anna Berger und Herr Paul Weber kamen. Bürgermeister Hofmann lobte.";
        assert_eq!(
            check("Hofbauer and his wife Dieter Schroth celebrated.", article),
            vec!["wife Dieter Schroth"]
        );
        assert_eq!(
            check("Paul Weber, her husband, came.", article).len(),
            0,
            "a husband is male like Herr Weber"
        );
        assert_eq!(
            check("Her father Anna Berger came.", article),
            vec!["father Anna Berger"]
        );
        assert_eq!(
            check("His wife Lena Hofbauer celebrated.", article).len(),
            0,
            "Biathletin is feminine"
        );
        for summary in [
            "Her husband Dieter Schroth celebrated.",
            "His son Hofmann praised it.",
            "Minister Anna Berger came.",
        ] {
            assert!(check(summary, article).is_empty(), "{summary}");
        }
        assert!(
            german_roles("Hofmann").is_empty() && german_roles("Bergmann").is_empty(),
            "names ending in -mann are not family words"
        );
    }

    #[test]
    fn places_are_not_made_organisations() {
        let article = "Beim Weltcup in Oberhof siegte Lena Hofbauer. Nach Oberhof reisten \
Tausende. Der SC Partenkirchen jubelte; Partenkirchen feierte. Die Firma Bosch in Stuttgart.";
        assert_eq!(
            check("Oberhof, a German biathlon team, won.", article),
            vec!["Oberhof, a German biathlon team"]
        );
        for summary in [
            "Partenkirchen, a German club, celebrated.",
            "Bosch, a German company, is in Stuttgart.",
            "Lena Hofbauer, the team's best, won in Oberhof.",
        ] {
            assert!(check(summary, article).is_empty(), "{summary}");
        }
    }

    #[test]
    fn ministry_is_not_a_minister() {
        assert!(german_roles("Bundesministerium").is_empty());
        assert!(german_roles("Berichterstatter").is_empty());
        assert!(!german_roles("Kanzleramtsminister").is_empty());
    }
}
