//! Every instruction kurz sends to a model, in one place.
//!
//! Why they read as they do:
//! - The system message fixes the role (a careful news editor) and the
//!   output language; small instruct models otherwise drift into answering
//!   in German or in the article's style.
//! - The article comes first and the instructions follow it: with long
//!   inputs, small models follow what they read last.
//! - The summary instructions are a short numbered list of rules (style
//!   [`PromptStyle::Rules`]): main news first, then details; only names,
//!   numbers and facts the article states; people keep the article's roles.
//!   Of the wordings tried it scored best (below).
//! - "Only facts, names and numbers from the article" is stated plainly;
//!   it measurably cuts invented names (a 1.5B model otherwise "remembers"
//!   people who are not in the text).
//! - Plain prose, no heading/preamble: the output goes straight into files
//!   and a manifest; whatever preamble slips through is stripped by
//!   [`super::clean`].
//!
//! Prompt styles compared (qwen2.5-coder-1.5b, greedy, guard on, over
//! `samples/` and the seed article, against the hand-written references in
//! `tests/fixtures/reference-summaries`; `kurz summarize … --prompt-style S`
//! then `kurz eval summaries --refs …`). Unsupported = names/numbers of the
//! final summaries not found in the article; guard = first attempt clean /
//! repaired by a retry / still unsupported:
//!
//! | style              | ROUGE-1 | ROUGE-2 | ROUGE-L | unsupported | guard pass/repaired/fail |
//! |--------------------|---------|---------|---------|-------------|--------------------------|
//! | paragraph (v1)     | 0.432   | 0.181   | 0.312   | 1/62        | 6/1/1                    |
//! | instructions-first | 0.433   | 0.172   | 0.293   | 0/77        | 6/2/0                    |
//! | **rules** (v2)     | 0.448   | 0.190   | 0.343   | 0/64        | 6/2/0                    |
//! | lead-facts         | 0.408   | 0.145   | 0.278   | 0/61        | 6/2/0                    |
//!
//! Eight articles are a small sample and the mechanical check misses wrong
//! roles (every style called the NATO spokeswoman "Secretary-General" in the
//! seed article): rerun the comparison when a prompt or the model changes.
//!
//! Bump [`PROMPT_VERSION`] whenever a text here changes: it is part of the
//! parameters recorded in the manifest, so resume redoes work done with
//! older prompts.

use serde::Serialize;

use super::glossary::GlossaryEntry;
use crate::model::{Message, Role};

/// Version of the prompt texts; recorded in each manifest entry's params.
/// 3: the title is translated by its own call ([`title_translation`]) and
/// numbers in English output follow English conventions
/// (`super::numbers`).
pub const PROMPT_VERSION: u32 = 3;

const SUMMARY_SYSTEM: &str = "You are a careful news editor. You summarize German news \
articles in English. You only state facts that the article states, and you keep names, \
roles, numbers and dates exactly as the article gives them.";

/// Wordings of the whole-article summary prompt. [`PromptStyle::Rules`]
/// is what kurz uses; the others are kept so that the comparison recorded
/// at the top of this file can be rerun (`kurz summarize --prompt-style
/// STYLE`, a hidden option). The style shapes only the prompt of an article
/// that fits one model call; the part and merge prompts of long articles are
/// shared by all styles.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PromptStyle {
    /// The article, then the instructions as a numbered list of rules.
    #[default]
    Rules,
    /// The article, then the instructions in a short paragraph (the prompt
    /// of version 1).
    Paragraph,
    /// The paragraph's instructions, but before the article.
    InstructionsFirst,
    /// The article, then "one sentence with the main news, then the key
    /// facts and figures".
    LeadFacts,
}

impl PromptStyle {
    /// Every style, the default first.
    pub const ALL: [PromptStyle; 4] = [
        PromptStyle::Rules,
        PromptStyle::Paragraph,
        PromptStyle::InstructionsFirst,
        PromptStyle::LeadFacts,
    ];

    /// The style's name on the command line and in manifests.
    pub fn name(self) -> &'static str {
        match self {
            PromptStyle::Rules => "rules",
            PromptStyle::Paragraph => "paragraph",
            PromptStyle::InstructionsFirst => "instructions-first",
            PromptStyle::LeadFacts => "lead-facts",
        }
    }
}

impl std::str::FromStr for PromptStyle {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|style| style.name() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = Self::ALL.iter().map(|style| style.name()).collect();
                format!("unknown prompt style `{s}` (known: {})", names.join(", "))
            })
    }
}

/// The instructions of the paragraph and instructions-first styles.
fn summary_instructions(max_words: usize) -> String {
    format!(
        "Write a summary of this article in English, in at most {max_words} words. \
         Start with the main news: who did what, when and where. Give people the roles \
         the article gives them; a spokesperson is not the person they speak for. \
         Use only information from the article; do not guess. \
         Write plain English prose with no title, no bullet points and no introduction."
    )
}

/// Messages asking for an English summary of a whole article, worded as
/// `style` says.
///
/// `names`, when not empty, lists the names the article does contain; it is
/// offered when a first attempt named people or places the article does not.
pub fn summary(
    style: PromptStyle,
    title: Option<&str>,
    article: &str,
    max_words: usize,
    names: &[String],
) -> Vec<Message> {
    let title_line = title.map(|t| format!("Title: {t}\n")).unwrap_or_default();
    let quoted = format!("German article:\n\"\"\"\n{title_line}{article}\n\"\"\"");
    let hint = names_hint(names);
    let user = match style {
        PromptStyle::Paragraph => {
            format!("{quoted}\n\n{}{hint}", summary_instructions(max_words))
        }
        PromptStyle::InstructionsFirst => format!(
            "{}{hint}\n\n{quoted}",
            summary_instructions(max_words)
                .replace("this article", "the German news article below")
        ),
        PromptStyle::Rules => format!(
            "{quoted}\n\nSummarize this article in English. Follow these rules:\n\
             1. Write at most {max_words} words of plain prose: no title, no bullet points, \
             no introduction.\n\
             2. The first sentence gives the main news: who did what, when and where.\n\
             3. Then give the most important details: numbers, dates, reasons, consequences.\n\
             4. Use only names, numbers and facts that the article states; add nothing \
             from elsewhere.\n\
             5. Give people the roles the article gives them; a spokesperson is not the \
             person they speak for.{hint}"
        ),
        PromptStyle::LeadFacts => format!(
            "{quoted}\n\nWrite an English news brief of this article in at most {max_words} \
             words: one opening sentence with the main news (who did what, when and where), \
             then two or three sentences with the key facts and figures. Use only what the \
             article says, with names and numbers exactly as it gives them; a spokesperson \
             is not the person they speak for. Plain prose only: no title, no list, no \
             introduction.{hint}"
        ),
    };
    vec![Message::system(SUMMARY_SYSTEM), Message::user(user)]
}

/// Messages asking for notes on one part of a long article (the "map" step).
pub fn chunk_summary(
    title: Option<&str>,
    part: &str,
    index: usize,
    total: usize,
    max_words: usize,
) -> Vec<Message> {
    let title_line = title
        .map(|t| format!("Title of the article: {t}\n\n"))
        .unwrap_or_default();
    let user = format!(
        "This is part {index} of {total} of a long German news article.\n\n\
         {title_line}Part {index}:\n{part}\n\n\
         Summarize this part in English in at most {max_words} words. Keep the important \
         names, numbers, dates and places exactly as written. Use only what this part \
         says. Write plain prose without any introduction."
    );
    vec![Message::system(SUMMARY_SYSTEM), Message::user(user)]
}

/// Messages asking to merge the partial summaries of a long article into one
/// (the "reduce" step).
pub fn merge_summaries(
    title: Option<&str>,
    partials: &[String],
    max_words: usize,
    names: &[String],
) -> Vec<Message> {
    let title_line = title
        .map(|t| format!("Title of the article: {t}\n\n"))
        .unwrap_or_default();
    let notes = partials
        .iter()
        .enumerate()
        .map(|(i, p)| format!("Part {}: {}", i + 1, p.trim()))
        .collect::<Vec<_>>()
        .join("\n\n");
    let user = format!(
        "Below are summaries of consecutive parts of one German news article.\n\n\
         {title_line}{notes}\n\n\
         Combine them into one English summary of the whole article in at most {max_words} \
         words. Lead with the most important news. Use only facts, names and numbers from \
         the summaries above. Write plain prose: no title, no bullet points, no introduction.{}",
        names_hint(names)
    );
    vec![Message::system(SUMMARY_SYSTEM), Message::user(user)]
}

/// Most names listed in a retry prompt (keeps it within the reserved room).
const MAX_HINTED_NAMES: usize = 30;

/// " Names in the article: A, B, C." — or nothing.
fn names_hint(names: &[String]) -> String {
    if names.is_empty() {
        return String::new();
    }
    let listed: Vec<&str> = names
        .iter()
        .take(MAX_HINTED_NAMES)
        .map(String::as_str)
        .collect();
    format!(
        " The people, places and organisations named in the article are: {}. Name no others.",
        listed.join(", ")
    )
}

/// Said again at the end of a prompt whose answer came back in another
/// language than English.
const ENGLISH_REMINDER: &str = "Important: write your answer in English only, even though \
the text is German. Do not answer in German or in any other language.";

/// Appends the English reminder to the last user message of `messages`.
pub fn remind_english(messages: &mut [Message]) {
    if let Some(last) = messages.iter_mut().rev().find(|m| m.role == Role::User) {
        last.content.push_str("\n\n");
        last.content.push_str(ENGLISH_REMINDER);
    }
}

/// "Use these English names ..." and one `German → English` line per
/// entry of the glossary that occurs in the text; nothing when none does.
/// The entries were checked when the glossary was read (no line breaks, no
/// markup) and are at most [`super::glossary::MAX_PROMPT_TERMS`] lines.
pub fn glossary_note(terms: &[GlossaryEntry]) -> String {
    if terms.is_empty() {
        return String::new();
    }
    let lines: Vec<String> = terms
        .iter()
        .map(|t| format!("- {} → {}", t.german, t.english))
        .collect();
    format!(
        "Use these English names for these German terms of the text:\n{}",
        lines.join("\n")
    )
}

/// Appends the glossary note (see [`glossary_note`]) to the last user
/// message of `messages`, after the instructions; nothing when `terms` is
/// empty, so prompts without a glossary keep their exact text.
pub fn add_glossary(messages: &mut [Message], terms: &[GlossaryEntry]) {
    if terms.is_empty() {
        return;
    }
    if let Some(last) = messages.iter_mut().rev().find(|m| m.role == Role::User) {
        last.content.push_str("\n\n");
        last.content.push_str(&glossary_note(terms));
    }
}

const TRANSLATION_SYSTEM: &str = "You are a professional translator from German into \
English. You translate news texts completely and faithfully, keeping every name, number and \
date exactly, and you never add comments.";

/// Messages asking for the English translation of one paragraph.
///
/// One paragraph per call keeps the document's structure exact and stops
/// small models from skipping or merging paragraphs.
pub fn translation(text: &str) -> Vec<Message> {
    translation_with_terms(text, &[])
}

/// [`translation`] with the glossary entries that occur in `text`: their
/// list follows the instructions, and the text, labelled, comes last.
/// Without entries, exactly [`translation`].
pub fn translation_with_terms(text: &str, terms: &[GlossaryEntry]) -> Vec<Message> {
    let user = format!(
        "Translate this German text into English. Output only the English translation, \
         as one paragraph, with nothing before or after it.{}",
        text_after_terms(text, terms)
    );
    vec![Message::system(TRANSLATION_SYSTEM), Message::user(user)]
}

/// "\n\n" and the text; with glossary entries, their note first and the
/// text labelled "German text:".
fn text_after_terms(text: &str, terms: &[GlossaryEntry]) -> String {
    if terms.is_empty() {
        format!("\n\n{text}")
    } else {
        format!("\n\n{}\n\nGerman text:\n{text}", glossary_note(terms))
    }
}

/// Messages asking for the English translation of one paragraph, showing
/// the paragraph before it and its translation as context.
pub fn translation_after(previous: &str, previous_english: &str, text: &str) -> Vec<Message> {
    translation_after_with_terms(previous, previous_english, text, &[])
}

/// [`translation_after`] with the glossary entries that occur in `text`
/// (see [`translation_with_terms`]).
pub fn translation_after_with_terms(
    previous: &str,
    previous_english: &str,
    text: &str,
    terms: &[GlossaryEntry],
) -> Vec<Message> {
    let user = format!(
        "For context only, the paragraph before it and its translation (do not translate \
         them again):\nGerman: {previous}\nEnglish: {previous_english}\n\n\
         Now translate this German text into English. Output only the English translation \
         of this text, as one paragraph, with nothing before or after it.{}",
        text_after_terms(text, terms)
    );
    vec![Message::system(TRANSLATION_SYSTEM), Message::user(user)]
}

/// Messages asking for the English translation of an article's title (one
/// short, greedy call; see `super::title`). `retry` adds the reminders
/// given when a first answer was not an acceptable English title.
pub fn title_translation(title: &str, retry: bool) -> Vec<Message> {
    let mut user = format!(
        "Translate this German news headline into English. Output only the English \
         headline in sentence case (capitalise only the first word and names), on one \
         line, with no quotes and nothing before or after it.\n\n{title}"
    );
    if retry {
        user.push_str(
            "\n\nKeep every name and number exactly as in the German headline and add \
             nothing. ",
        );
        user.push_str(ENGLISH_REMINDER);
    }
    vec![Message::system(TRANSLATION_SYSTEM), Message::user(user)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_prompt_carries_article_title_and_bound() {
        let m = summary(
            PromptStyle::Rules,
            Some("Hochwasser"),
            "Der Pegel stieg.",
            42,
            &[],
        );
        assert_eq!(m.len(), 2);
        assert!(m[1].content.contains("Title: Hochwasser\nDer Pegel stieg."));
        assert!(m[1].content.contains("Der Pegel stieg."));
        assert!(m[1].content.contains("at most 42 words"));
    }

    #[test]
    fn paragraph_style_is_the_prompt_of_version_1() {
        // Kept verbatim so that the comparison at the top stays reproducible.
        let m = summary(PromptStyle::Paragraph, Some("T"), "A.", 60, &[]);
        assert_eq!(
            m[1].content,
            "German article:\n\"\"\"\nTitle: T\nA.\n\"\"\"\n\nWrite a summary of this article \
             in English, in at most 60 words. Start with the main news: who did what, when and \
             where. Give people the roles the article gives them; a spokesperson is not the \
             person they speak for. Use only information from the article; do not guess. Write \
             plain English prose with no title, no bullet points and no introduction."
        );
    }

    #[test]
    fn every_style_carries_article_bound_and_names_and_parses_from_its_name() {
        for style in PromptStyle::ALL {
            let m = summary(
                style,
                Some("Hochwasser"),
                "Der Pegel stieg.",
                42,
                &["Grimma".into()],
            );
            assert_eq!(m[0].content, SUMMARY_SYSTEM);
            let user = &m[1].content;
            assert!(
                user.contains("Title: Hochwasser\nDer Pegel stieg."),
                "{style:?}"
            );
            assert!(user.contains("at most 42 words"), "{style:?}");
            assert!(
                user.contains("named in the article are: Grimma."),
                "{style:?}"
            );
            assert_eq!(style.name().parse::<PromptStyle>(), Ok(style));
        }
        let first = summary(
            PromptStyle::InstructionsFirst,
            None,
            "Der Pegel stieg.",
            42,
            &[],
        );
        assert!(first[1]
            .content
            .starts_with("Write a summary of the German news article below"));
        assert!(first[1].content.ends_with("Der Pegel stieg.\n\"\"\""));
        assert!("bogus"
            .parse::<PromptStyle>()
            .unwrap_err()
            .contains("lead-facts"));
    }

    #[test]
    fn names_are_offered_only_when_given() {
        let plain = summary(PromptStyle::Rules, None, "Text.", 40, &[]);
        assert!(!plain[1].content.contains("named in the article are"));
        let hinted = summary(
            PromptStyle::Rules,
            None,
            "Text.",
            40,
            &["Rutte".into(), "Trump".into()],
        );
        assert!(hinted[1]
            .content
            .contains("named in the article are: Rutte, Trump. Name no others."));
    }

    #[test]
    fn the_context_prompt_shows_the_previous_paragraph_then_the_text() {
        let m = translation_after("Der Pegel stieg.", "The level rose.", "Er fiel.");
        assert_eq!(m[0].content, TRANSLATION_SYSTEM);
        let user = &m[1].content;
        let context = user.find("German: Der Pegel stieg.\nEnglish: The level rose.");
        let text = user.rfind("Er fiel.");
        assert!(
            context.is_some() && text.is_some() && context < text,
            "{user}"
        );
        assert!(user.ends_with("\n\nEr fiel."));
    }

    #[test]
    fn the_english_reminder_ends_the_last_user_message() {
        let mut m = summary(PromptStyle::Rules, None, "Text.", 40, &[]);
        let before = m[1].content.clone();
        remind_english(&mut m);
        assert_eq!(m[0].content, SUMMARY_SYSTEM);
        assert!(m[1].content.starts_with(&before));
        assert!(m[1].content.ends_with(ENGLISH_REMINDER));
    }

    fn terms() -> Vec<GlossaryEntry> {
        vec![GlossaryEntry {
            german: "Bundesagentur für Arbeit".into(),
            english: "Federal Employment Agency".into(),
        }]
    }

    #[test]
    fn the_glossary_follows_the_instructions_and_only_when_given() {
        let plain = summary(PromptStyle::Rules, None, "Text.", 40, &[]);
        let mut with = plain.clone();
        add_glossary(&mut with, &[]);
        assert_eq!(with, plain, "no entries: the prompt of today");
        add_glossary(&mut with, &terms());
        assert!(with[1].content.starts_with(&plain[1].content));
        assert!(with[1].content.ends_with(
            "\n\nUse these English names for these German terms of the text:\n\
             - Bundesagentur für Arbeit → Federal Employment Agency"
        ));
        assert_eq!(with[0], plain[0]);
    }

    #[test]
    fn a_prompt_lists_only_the_entries_its_article_has() {
        use crate::task::glossary::{Glossary, GlossaryFormat};
        let glossary = Glossary::parse(
            "Bundesagentur für Arbeit\tFederal Employment Agency\n\
             Europäische Zentralbank\tEuropean Central Bank\n\
             Ampel-Koalition\ttraffic-light coalition\n"
                .as_bytes(),
            GlossaryFormat::Tsv,
            std::path::Path::new("g.tsv"),
        )
        .unwrap();
        let article = "Die Ampelkoalitionen stritten über die Zahlen der Bundesagentur für Arbeit.";
        let mut m = summary(PromptStyle::Rules, None, article, 40, &[]);
        add_glossary(&mut m, glossary.select(article).terms.entries());
        let user = &m[1].content;
        assert!(user.contains("- Bundesagentur für Arbeit → Federal Employment Agency"));
        assert!(user.contains("- Ampel-Koalition → traffic-light coalition"));
        assert!(!user.contains("Central Bank"), "{user}");
        assert!(user.find("Summarize this article") < user.find("Use these English names"));
    }

    #[test]
    fn translation_prompts_list_terms_before_the_labelled_text() {
        assert_eq!(
            translation_with_terms("Er kam.", &[]),
            translation("Er kam.")
        );
        assert!(translation("Er kam.")[1]
            .content
            .ends_with("before or after it.\n\nEr kam."));
        let m = translation_with_terms("Die Bundesagentur für Arbeit meldet.", &terms());
        assert!(m[1].content.ends_with(
            "- Bundesagentur für Arbeit → Federal Employment Agency\n\n\
             German text:\nDie Bundesagentur für Arbeit meldet."
        ));
        let after = translation_after_with_terms("A.", "A.", "Die Bundesagentur.", &terms());
        assert!(after[1]
            .content
            .contains("Federal Employment Agency\n\nGerman text:\nDie"));
        assert_eq!(
            translation_after_with_terms("A.", "B.", "C.", &[]),
            translation_after("A.", "B.", "C.")
        );
    }

    #[test]
    fn merge_prompt_numbers_the_parts() {
        let m = merge_summaries(None, &["A.".into(), "B.".into()], 60, &[]);
        assert!(m[1].content.contains("Part 1: A.\n\nPart 2: B."));
        assert!(!m[1].content.contains("Title of the article"));
    }

    #[test]
    fn the_title_prompt_ends_with_the_title_and_a_retry_reminds() {
        let first = title_translation("Hochwasser in Sachsen", false);
        assert_eq!(first[0].content, TRANSLATION_SYSTEM);
        assert!(first[1].content.ends_with("\n\nHochwasser in Sachsen"));
        let retry = title_translation("Hochwasser in Sachsen", true);
        assert!(retry[1].content.starts_with(&first[1].content));
        assert!(retry[1].content.ends_with(ENGLISH_REMINDER));
    }
}
