//! Extracting a title and plain text from text, Markdown and HTML.

use dom_smoothie::{Config, Readability, TextMode};
use pulldown_cmark::{Event, HeadingLevel, Options, Parser, Tag, TagEnd};

use super::{language, Document, InputError, InputKind};

/// Longest first line (in characters) that a text file may have as a title.
const MAX_TITLE_CHARS: usize = 150;
/// Readability output shorter than this (in characters) is checked against
/// the page's visible body text.
const MIN_ARTICLE_CHARS: usize = 250;
/// Elements whose text is never part of a page's visible content.
const CLUTTER_SELECTOR: &str = "script, style, noscript, template, nav, header, footer, aside, \
     form, iframe, svg, button, select, [hidden], [aria-hidden=true], [role=navigation], \
     [role=banner], [role=contentinfo], [class*=cookie], [id*=cookie], [class*=consent], \
     [id*=consent]";

/// Extracts the title and plain text of `text` (already decoded) according
/// to its kind, and guesses the language of the text.
///
/// The title, when one is found, is not repeated at the start of the text.
/// The encoding is set to `UTF-8` (the text is already a Rust string);
/// [`load_document`](super::load_document) replaces it with the detected one. Returns
/// [`InputError::Empty`] when no text is left.
///
/// # Errors
///
/// [`InputError::Empty`] when no text is left after extraction.
pub fn extract_document(text: &str, kind: InputKind) -> Result<Document, InputError> {
    let (title, body) = match kind {
        InputKind::Text => extract_text(text),
        InputKind::Markdown => extract_markdown(text),
        InputKind::Html => extract_html(text),
    };
    let body = normalize_paragraphs(&body);
    if body.is_empty() {
        return Err(InputError::Empty);
    }
    let title = title.map(|t| collapse_spaces(&t)).filter(|t| !t.is_empty());
    Ok(Document {
        title,
        language: language::detect(&body),
        text: body,
        encoding: "UTF-8",
    })
}

/// Trims trailing whitespace from each line, collapses runs of blank lines
/// to a single blank line, and trims blank lines at both ends.
pub fn normalize_paragraphs(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut blank_run = 0usize;
    for line in text.lines().map(str::trim_end) {
        if line.is_empty() {
            blank_run += 1;
            continue;
        }
        if !out.is_empty() {
            out.push_str(if blank_run > 0 { "\n\n" } else { "\n" });
        }
        blank_run = 0;
        out.push_str(line);
    }
    out
}

/// Joins all whitespace runs into single spaces and trims.
fn collapse_spaces(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

// ---------------------------------------------------------------- text

/// Plain text: the first line becomes the title if it looks like a headline.
fn extract_text(text: &str) -> (Option<String>, String) {
    let text = normalize_paragraphs(text);
    match split_text_title(&text) {
        Some((title, rest)) => (Some(title), rest.to_string()),
        None => (None, text),
    }
}

/// Splits off a headline first line: short, not ending like a sentence or
/// clause, with more text after it, and either followed by a blank line, a
/// `===`/`---` underline, or marked with `#` or written in capitals.
fn split_text_title(text: &str) -> Option<(String, &str)> {
    let (first, rest) = text.split_once('\n')?;
    let (underlined, rest) = match rest.split_once('\n') {
        Some((next, after)) if is_underline(next) => (true, after),
        _ => (false, rest),
    };
    let blank_after = rest.starts_with('\n');
    let marked = first.starts_with('#');
    let title = first.trim_start_matches('#').trim();
    let looks_like_title = title.chars().count() <= MAX_TITLE_CHARS
        && title.chars().any(char::is_alphabetic)
        && !title.ends_with(['.', ',', ';', ':']);
    let headline = underlined || blank_after || marked || is_all_caps(title);
    let rest = rest.trim_start_matches('\n');
    (looks_like_title && headline && !rest.is_empty()).then(|| (title.to_string(), rest))
}

fn is_underline(line: &str) -> bool {
    let line = line.trim();
    line.len() >= 3 && (line.bytes().all(|b| b == b'=') || line.bytes().all(|b| b == b'-'))
}

fn is_all_caps(line: &str) -> bool {
    let mut letters = line.chars().filter(|c| c.is_alphabetic()).peekable();
    letters.peek().is_some() && letters.all(char::is_uppercase)
}

// ------------------------------------------------------------ markdown

/// A block of Markdown text: a paragraph, heading, list item or table row.
struct Block {
    text: String,
    heading: Option<HeadingLevel>,
    /// The list or table the block belongs to; consecutive blocks of the
    /// same list or table are joined by single newlines.
    group: Option<usize>,
}

/// Collects plain-text blocks from pulldown-cmark events.
#[derive(Default)]
struct MarkdownText {
    blocks: Vec<Block>,
    current: String,
    /// Nesting depth of content that is dropped (code, HTML, images, front matter).
    skip: usize,
    lists: usize,
    table_rows: bool,
    /// Counts top-level lists and tables, to tell them apart.
    groups: usize,
    heading: Option<HeadingLevel>,
}

impl MarkdownText {
    fn event(&mut self, event: Event<'_>) {
        match event {
            Event::Start(tag) => self.start(&tag),
            Event::End(tag) => self.end(tag),
            Event::Text(text) | Event::Code(text) if self.skip == 0 => self.current.push_str(&text),
            Event::SoftBreak if self.skip == 0 => self.current.push(' '),
            Event::HardBreak if self.skip == 0 => self.current.push('\n'),
            Event::Rule => self.flush(),
            _ => {}
        }
    }

    fn start(&mut self, tag: &Tag<'_>) {
        match tag {
            Tag::CodeBlock(_) | Tag::HtmlBlock | Tag::MetadataBlock(_) | Tag::Image { .. } => {
                self.skip += 1;
            }
            Tag::Heading { level, .. } => {
                self.flush();
                self.heading = Some(*level);
            }
            Tag::List(_) => {
                self.flush();
                if self.lists == 0 {
                    self.groups += 1;
                }
                self.lists += 1;
            }
            Tag::Table(_) => {
                self.flush();
                self.groups += 1;
            }
            Tag::TableHead | Tag::TableRow => {
                self.flush();
                self.table_rows = true;
            }
            Tag::Paragraph | Tag::Item | Tag::BlockQuote(_) => self.flush(),
            _ => {}
        }
    }

    fn end(&mut self, tag: TagEnd) {
        match tag {
            TagEnd::CodeBlock | TagEnd::HtmlBlock | TagEnd::MetadataBlock(_) | TagEnd::Image => {
                self.skip = self.skip.saturating_sub(1);
            }
            TagEnd::List(_) => {
                self.flush();
                self.lists = self.lists.saturating_sub(1);
            }
            TagEnd::TableCell => self.current.push('\t'),
            TagEnd::TableHead | TagEnd::TableRow => {
                self.flush();
                self.table_rows = false;
            }
            TagEnd::Heading(_)
            | TagEnd::Paragraph
            | TagEnd::Item
            | TagEnd::BlockQuote(_)
            | TagEnd::Table
            | TagEnd::FootnoteDefinition => self.flush(),
            _ => {}
        }
    }

    /// Ends the current block, if it has any text.
    fn flush(&mut self) {
        let heading = self.heading.take();
        let text = std::mem::take(&mut self.current);
        let text = text.trim();
        if text.is_empty() {
            return;
        }
        self.blocks.push(Block {
            text: text.to_string(),
            heading,
            group: (self.lists > 0 || self.table_rows).then_some(self.groups),
        });
    }

    /// Removes the title block (first H1, else first heading) and joins the rest.
    fn finish(mut self) -> (Option<String>, String) {
        self.flush();
        let title_index = self
            .blocks
            .iter()
            .position(|b| b.heading == Some(HeadingLevel::H1))
            .or_else(|| self.blocks.iter().position(|b| b.heading.is_some()));
        let title = title_index.map(|i| self.blocks.remove(i).text);
        (title, join_blocks(&self.blocks))
    }
}

fn join_blocks(blocks: &[Block]) -> String {
    let mut out = String::new();
    let mut previous_group = None;
    for block in blocks {
        if !out.is_empty() {
            let same_group = block.group.is_some() && block.group == previous_group;
            out.push_str(if same_group { "\n" } else { "\n\n" });
        }
        out.push_str(&block.text);
        previous_group = block.group;
    }
    out
}

/// Markdown: plain text of paragraphs, headings, list items and tables;
/// title from the first H1 (or first heading).
fn extract_markdown(text: &str) -> (Option<String>, String) {
    let options = Options::ENABLE_TABLES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_FOOTNOTES
        | Options::ENABLE_YAML_STYLE_METADATA_BLOCKS
        | Options::ENABLE_PLUSES_DELIMITED_METADATA_BLOCKS;
    let mut collector = MarkdownText::default();
    for event in Parser::new_ext(text, options) {
        collector.event(event);
    }
    collector.finish()
}

// ---------------------------------------------------------------- html

/// HTML: the main article found by readability, or the page's visible body
/// text (without clutter) when readability finds less than
/// [`MIN_ARTICLE_CHARS`].
fn extract_html(html: &str) -> (Option<String>, String) {
    let article = readability_article(html);
    let article_chars = article.as_ref().map_or(0, |(_, text)| text.chars().count());
    let (title, text) = match article {
        Some(found) if article_chars >= MIN_ARTICLE_CHARS => found,
        // Too little for an article: take the page's visible text instead,
        // keeping readability's title (it also looks at metadata).
        Some((title, _)) if !title.trim().is_empty() => (title, visible_text(html).1),
        _ => visible_text(html),
    };
    let title = Some(title).filter(|t| !t.trim().is_empty());
    let text = strip_leading_title(&normalize_paragraphs(&text), title.as_deref());
    (title, text)
}

/// Title and formatted text of the article readability finds, if any.
fn readability_article(html: &str) -> Option<(String, String)> {
    let config = Config {
        text_mode: TextMode::Formatted,
        ..Config::default()
    };
    let mut readability = Readability::new(html, None, Some(config)).ok()?;
    let article = readability.parse().ok()?;
    Some((article.title, article.text_content.to_string()))
}

/// The page title (`<title>`, else the first `<h1>`) and the text of
/// `<body>` without scripts, navigation, headers, footers, asides and
/// cookie banners.
fn visible_text(html: &str) -> (String, String) {
    let Ok(page) = Readability::new(html, None, None) else {
        return (String::new(), String::new());
    };
    let doc = &page.doc;
    let mut title = doc.select("head title").text().trim().to_string();
    if title.is_empty() {
        title = doc.select("h1").first().text().trim().to_string();
    }
    doc.select(CLUTTER_SELECTOR).remove();
    let text = doc.select("body").formatted_text().to_string();
    (title, text)
}

/// Drops the first paragraph of `text` if it just repeats the title.
fn strip_leading_title(text: &str, title: Option<&str>) -> String {
    let Some(title) = title else {
        return text.to_string();
    };
    match text.split_once("\n\n") {
        Some((first, rest)) if collapse_spaces(first) == collapse_spaces(title) => rest.to_string(),
        _ => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(text: &str, kind: InputKind) -> Document {
        extract_document(text, kind).unwrap()
    }

    // ------------------------------------------------------------ text

    #[test]
    fn text_title_followed_by_blank_line() {
        let d = doc(
            "Ärger um Öl in der Hauptstraße\n\nDie Müller GmbH hat Ärger.\nZweite Zeile.   \n\n\n\nNeuer Absatz.\n",
            InputKind::Text,
        );
        assert_eq!(d.title.as_deref(), Some("Ärger um Öl in der Hauptstraße"));
        assert_eq!(
            d.text,
            "Die Müller GmbH hat Ärger.\nZweite Zeile.\n\nNeuer Absatz."
        );
        assert_eq!(d.encoding, "UTF-8");
    }

    #[test]
    fn text_first_sentence_is_not_a_title() {
        let d = doc("Die Müller GmbH hat Ärger.\n\nMehr Text.", InputKind::Text);
        assert_eq!(d.title, None);
        assert_eq!(d.text, "Die Müller GmbH hat Ärger.\n\nMehr Text.");
    }

    #[test]
    fn text_line_running_into_paragraph_is_not_a_title() {
        let d = doc(
            "Die Müller GmbH hat heute\nmitgeteilt, dass es Ärger gibt.",
            InputKind::Text,
        );
        assert_eq!(d.title, None);
        assert!(d.text.starts_with("Die Müller GmbH hat heute\n"));
    }

    #[test]
    fn text_underlined_caps_and_hash_headlines() {
        let d = doc(
            "Ölpreis steigt\n==============\nDer Preis steigt.",
            InputKind::Text,
        );
        assert_eq!(d.title.as_deref(), Some("Ölpreis steigt"));
        assert_eq!(d.text, "Der Preis steigt.");

        let d = doc("ÄRGER UM ÖL\nDer Preis steigt.", InputKind::Text);
        assert_eq!(d.title.as_deref(), Some("ÄRGER UM ÖL"));
        assert_eq!(d.text, "Der Preis steigt.");

        let d = doc("# Ölpreis steigt\nDer Preis steigt.", InputKind::Text);
        assert_eq!(d.title.as_deref(), Some("Ölpreis steigt"));
    }

    #[test]
    fn text_long_first_line_is_not_a_title() {
        let long = "Wort ".repeat(40);
        let d = doc(&format!("{long}\n\nRest"), InputKind::Text);
        assert_eq!(d.title, None);
    }

    #[test]
    fn text_single_line_stays_text() {
        let d = doc("Nur eine Überschrift", InputKind::Text);
        assert_eq!(d.title, None);
        assert_eq!(d.text, "Nur eine Überschrift");
    }

    #[test]
    fn text_language_is_detected() {
        let d = doc(
            "Die Bundesregierung hat am Mittwoch beschlossen, die Förderung für erneuerbare \
             Energien deutlich auszubauen. Kritiker bemängeln die hohen Kosten.",
            InputKind::Text,
        );
        assert_eq!(d.language.map(|l| l.code), Some("de"));
    }

    #[test]
    fn whitespace_only_text_is_empty() {
        assert!(matches!(
            extract_document(" \n\n \t\n", InputKind::Text),
            Err(InputError::Empty)
        ));
    }

    #[test]
    fn paragraphs_are_normalised() {
        assert_eq!(
            normalize_paragraphs("\n\n a  \n\n\n\nb\t\nc\n\n"),
            " a\n\nb\nc"
        );
    }

    // -------------------------------------------------------- markdown

    const MARKDOWN: &str = "---\ntitle: Meta-Titel\ntags: [x]\n---\n\n\
        # Ärger um *Öl*\n\n\
        Die **Müller GmbH** aus der [Hauptstraße](https://example.com/strasse) hat\n\
        Ärger mit dem `Öl`-Lieferanten.\n\n\
        ![Ein Foto vom Werk](werk.png)\n\n\
        <div class=\"ad\">Werbung hier</div>\n\n\
        ## Die Gründe\n\n\
        - Preise steigen\n\
        - Lieferungen *fehlen*\n  - verschachtelt\n\n\
        ```rust\nfn main() {}\n```\n\n\
        | Firma | Umsatz |\n|-------|--------|\n| Müller | 5 Mio. |\n\n\
        > Ein Zitat vom Chef.\n\n\
        1. Erstens\n2. Zweitens\n";

    #[test]
    fn markdown_title_is_first_h1() {
        let d = doc(MARKDOWN, InputKind::Markdown);
        assert_eq!(d.title.as_deref(), Some("Ärger um Öl"));
        assert!(
            !d.text.contains("Ärger um Öl\n"),
            "title repeated: {}",
            d.text
        );
    }

    #[test]
    fn markdown_text_is_plain() {
        let d = doc(MARKDOWN, InputKind::Markdown);
        let expected = "Die Müller GmbH aus der Hauptstraße hat Ärger mit dem Öl-Lieferanten.\n\n\
            Die Gründe\n\n\
            Preise steigen\nLieferungen fehlen\nverschachtelt\n\n\
            Firma\tUmsatz\nMüller\t5 Mio.\n\n\
            Ein Zitat vom Chef.\n\n\
            Erstens\nZweitens";
        assert_eq!(d.text, expected);
        for absent in [
            "Meta-Titel",
            "https://",
            "Foto",
            "Werbung",
            "fn main",
            "**",
            "|",
            "---",
        ] {
            assert!(!d.text.contains(absent), "{absent:?} in {:?}", d.text);
        }
    }

    #[test]
    fn markdown_title_falls_back_to_first_heading() {
        let d = doc(
            "Intro text.\n\n## Zwischentitel\n\nMehr.",
            InputKind::Markdown,
        );
        assert_eq!(d.title.as_deref(), Some("Zwischentitel"));
        assert_eq!(d.text, "Intro text.\n\nMehr.");
        let d = doc("Kein Titel hier.\n\nMehr.", InputKind::Markdown);
        assert_eq!(d.title, None);
    }

    #[test]
    fn markdown_rule_later_in_text_is_not_front_matter() {
        let d = doc("Absatz eins.\n\n---\n\nAbsatz zwei.\n", InputKind::Markdown);
        assert_eq!(d.text, "Absatz eins.\n\nAbsatz zwei.");
    }

    #[test]
    fn markdown_loose_list_items_stay_on_own_lines() {
        let d = doc("* eins\n\n* zwei\n\nDanach.", InputKind::Markdown);
        assert_eq!(d.text, "eins\nzwei\n\nDanach.");
    }

    #[test]
    fn markdown_only_code_is_empty() {
        assert!(matches!(
            extract_document("```\ncode\n```\n", InputKind::Markdown),
            Err(InputError::Empty)
        ));
    }

    // ------------------------------------------------------------ html

    const ARTICLE_PARAGRAPHS: [&str; 5] = [
        "Die Müller GmbH aus Stuttgart hat am Montag angekündigt, ihre Produktion im Werk an der Hauptstraße deutlich zu drosseln.",
        "Grund dafür seien die stark gestiegenen Preise für Öl und Gas, teilte ein Unternehmenssprecher auf Anfrage mit.",
        "Betroffen sind nach Angaben des Betriebsrats rund 400 Beschäftigte, die nun Kurzarbeit fürchten müssen.",
        "Die Gewerkschaft reagierte mit scharfer Kritik und sprach von einem Ärgernis für die gesamte Region.",
        "Eine Entscheidung über weitere Schritte soll bis Ende des Monats fallen, hieß es aus Unternehmenskreisen.",
    ];

    fn news_page() -> String {
        let paragraphs: String = ARTICLE_PARAGRAPHS
            .iter()
            .map(|p| format!("<p>{}</p>\n", encode_umlauts(p)))
            .collect();
        format!(
            r#"<!DOCTYPE html>
<html lang="de">
<head>
  <meta charset="utf-8">
  <title>&Auml;rger um &Ouml;l: M&uuml;ller GmbH drosselt Produktion | Stuttgarter Tagesblatt</title>
  <style>body {{ font-family: sans-serif; }} .menu {{ color: red; }}</style>
  <script>window.dataLayer = [{{"seite": "artikel"}}]; trackPageView();</script>
</head>
<body>
  <div id="cookie-banner" class="cookie-consent">
    <p>Wir verwenden Cookies, um Ihnen das beste Nutzungserlebnis zu bieten. Mit der Nutzung stimmen Sie zu.</p>
    <button>Alle akzeptieren</button> <a href="/datenschutz">Datenschutzeinstellungen</a>
  </div>
  <header class="site-header">
    <a href="/" class="logo">Stuttgarter Tagesblatt</a>
    <nav class="main-menu">
      <ul>
        <li><a href="/politik">Politik</a></li>
        <li><a href="/wirtschaft">Wirtschaft</a></li>
        <li><a href="/sport">Sportnachrichten</a></li>
        <li><a href="/kultur">Kulturressort</a></li>
        <li><a href="/abo">Jetzt abonnieren</a></li>
      </ul>
    </nav>
  </header>
  <main>
    <article class="article">
      <h1>&Auml;rger um &Ouml;l: M&uuml;ller GmbH drosselt Produktion</h1>
      <div class="article-body">
{paragraphs}      </div>
    </article>
    <aside class="sidebar">
      <h3>Mehr zum Thema</h3>
      <ul>
        <li><a href="/a1">Ölpreis erreicht Rekordhoch</a></li>
        <li><a href="/a2">Gaspreise belasten Mittelstand</a></li>
      </ul>
    </aside>
  </main>
  <footer class="site-footer">
    <a href="/impressum">Impressum</a> | <a href="/kontakt">Kontaktformular</a> | <a href="/agb">AGB</a>
    <p>&copy; 2024 Stuttgarter Tagesblatt Verlagsgesellschaft</p>
  </footer>
  <script>console.log("analytics geladen");</script>
</body>
</html>"#
        )
    }

    /// Writes the umlauts as named entities, as many CMSs do.
    fn encode_umlauts(text: &str) -> String {
        text.replace('ä', "&auml;")
            .replace('ö', "&ouml;")
            .replace('ü', "&uuml;")
            .replace('Ä', "&Auml;")
            .replace('ß', "&szlig;")
    }

    #[test]
    fn html_news_page_keeps_only_the_article() {
        let d = doc(&news_page(), InputKind::Html);
        for p in ARTICLE_PARAGRAPHS {
            assert!(d.text.contains(p), "missing {p:?} in {:?}", d.text);
        }
        for clutter in [
            "Cookies",
            "akzeptieren",
            "Datenschutz",
            "Sportnachrichten",
            "Kulturressort",
            "abonnieren",
            "Mehr zum Thema",
            "Rekordhoch",
            "Impressum",
            "Kontaktformular",
            "Verlagsgesellschaft",
            "trackPageView",
            "analytics",
            "font-family",
            "&auml;",
            "&uuml;",
            "&szlig;",
        ] {
            assert!(!d.text.contains(clutter), "{clutter:?} in {:?}", d.text);
        }
        let paragraphs: Vec<&str> = d.text.split("\n\n").collect();
        assert_eq!(paragraphs, ARTICLE_PARAGRAPHS);
    }

    #[test]
    fn html_news_page_title_and_language() {
        let d = doc(&news_page(), InputKind::Html);
        assert_eq!(
            d.title.as_deref(),
            Some("Ärger um Öl: Müller GmbH drosselt Produktion")
        );
        assert_eq!(d.language.map(|l| l.code), Some("de"));
    }

    #[test]
    fn html_short_page_falls_back_to_body_text() {
        let html = "<html><head><title>Kurz &amp; b&uuml;ndig</title></head><body>\
            <nav><a href=\"/\">Startseite</a></nav>\
            <p>Ein kurzer Hinweis f&uuml;r Leser.</p>\
            <script>var x = 1;</script>\
            <footer>Impressum</footer></body></html>";
        let d = doc(html, InputKind::Html);
        assert_eq!(d.title.as_deref(), Some("Kurz & bündig"));
        assert_eq!(d.text, "Ein kurzer Hinweis für Leser.");
    }

    #[test]
    fn html_without_title_uses_h1() {
        let html = "<body><h1>Gro&szlig;e &Uuml;berschrift</h1><p>Ein Satz.</p></body>";
        let d = doc(html, InputKind::Html);
        assert_eq!(d.title.as_deref(), Some("Große Überschrift"));
        assert_eq!(d.text, "Ein Satz.");
    }

    #[test]
    fn html_fragment_without_markup() {
        let d = doc("Nur Text, kein HTML.", InputKind::Html);
        assert_eq!(d.text, "Nur Text, kein HTML.");
    }

    #[test]
    fn html_without_text_is_empty() {
        let html = "<html><head><title></title><style>p{}</style></head>\
            <body><script>alert(1)</script><nav>Menü</nav></body></html>";
        assert!(matches!(
            extract_document(html, InputKind::Html),
            Err(InputError::Empty)
        ));
    }
}
