//! Extracting a title and plain text from text, Markdown and HTML (the
//! other formats read bytes: see [`extract_bytes`](super::extract_bytes)).

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
/// HTML and Markdown are refused when they nest deeper than
/// [`MAX_MARKUP_DEPTH`] or hold more than [`MAX_MARKUP_ELEMENTS`]
/// elements; HTML is checked in a linear pre-scan before it is parsed and
/// again on the parsed tree, before any recursive code walks it. Any input
/// gives a result or an error (no panic, no unbounded recursion).
///
/// # Errors
///
/// [`InputError::Empty`] when no text is left after extraction;
/// [`InputError::TooDeep`] and [`InputError::TooManyElements`] for markup
/// over the limits.
pub fn extract_document(text: &str, kind: InputKind) -> Result<Document, InputError> {
    let (title, body) = match kind {
        InputKind::Text => extract_text(text),
        InputKind::Markdown => extract_markdown(text)?,
        InputKind::Html => extract_html(text)?,
        // The other kinds read bytes; text given for them is their bytes.
        _ => {
            return super::extract_bytes(text.as_bytes(), kind, &crate::stop::StopToken::never())
                .map(|e| e.document)
        }
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
/// title from the first H1 (or first heading). Refused when elements nest
/// deeper than [`MAX_MARKUP_DEPTH`] or there are more than
/// [`MAX_MARKUP_ELEMENTS`] (pulldown-cmark itself is not recursive; the
/// limits keep what follows bounded).
fn extract_markdown(text: &str) -> Result<(Option<String>, String), InputError> {
    let options = Options::ENABLE_TABLES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_FOOTNOTES
        | Options::ENABLE_YAML_STYLE_METADATA_BLOCKS
        | Options::ENABLE_PLUSES_DELIMITED_METADATA_BLOCKS;
    let mut collector = MarkdownText::default();
    let (mut depth, mut elements) = (0usize, 0usize);
    for event in Parser::new_ext(text, options) {
        match &event {
            Event::Start(_) => {
                depth += 1;
                elements += 1;
            }
            Event::End(_) => depth = depth.saturating_sub(1),
            _ => {}
        }
        if depth > MAX_MARKUP_DEPTH {
            return Err(InputError::TooDeep {
                markup: "Markdown",
                limit: MAX_MARKUP_DEPTH,
            });
        }
        if elements > MAX_MARKUP_ELEMENTS {
            return Err(InputError::TooManyElements {
                markup: "Markdown",
                limit: MAX_MARKUP_ELEMENTS,
            });
        }
        collector.event(event);
    }
    Ok(collector.finish())
}

// ---------------------------------------------------------------- html

/// HTML: the main article found by readability, or the page's visible body
/// text (without clutter) when readability finds less than
/// [`MIN_ARTICLE_CHARS`]. Pages over the markup limits are refused first.
fn extract_html(html: &str) -> Result<(Option<String>, String), InputError> {
    prescan_html(html)?;
    let article = readability_article(html)?;
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
    Ok((title, text))
}

/// Title and formatted text of the article readability finds, if any. The
/// parsed tree is checked against the markup limits before readability
/// (which recurses over the tree) runs.
fn readability_article(html: &str) -> Result<Option<(String, String)>, InputError> {
    let config = Config {
        text_mode: TextMode::Formatted,
        ..Config::default()
    };
    let Ok(mut readability) = Readability::new(html, None, Some(config)) else {
        return Ok(None);
    };
    check_parsed_tree(&readability)?;
    Ok(readability
        .parse()
        .ok()
        .map(|article| (article.title, article.text_content.to_string())))
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

// ------------------------------------------------------- markup limits

/// Deepest element nesting accepted in HTML and Markdown. Chromium's HTML
/// parser caps the DOM at the same depth; real articles nest less than 100.
pub const MAX_MARKUP_DEPTH: usize = 512;
/// Most elements accepted in one HTML or Markdown input (a long real
/// article has a few thousand; a 2 MiB page rarely 50,000).
pub const MAX_MARKUP_ELEMENTS: usize = 200_000;
/// Most work a parsed HTML page may ask of readability, measured as the sum
/// of every element's depth (readability's scoring visits each element's
/// ancestors and subtrees, so its time grows with this sum). A 2 MiB
/// encyclopaedia page stays under 2,000,000; 2 MiB of 500-deep `<div>`
/// chains would be 47,000,000 (about 40 s).
pub const MAX_HTML_NESTING_SUM: usize = 5_000_000;

/// Elements with no content and no end tag.
const VOID_ELEMENTS: [&str; 18] = [
    "area", "base", "basefont", "bgsound", "br", "col", "embed", "frame", "hr", "img", "input",
    "keygen", "link", "meta", "param", "source", "track", "wbr",
];
/// Elements whose content is not markup (skipped up to their end tag).
const RAW_TEXT_ELEMENTS: [&str; 10] = [
    "script",
    "style",
    "textarea",
    "title",
    "xmp",
    "iframe",
    "noembed",
    "noframes",
    "noscript",
    "plaintext",
];
/// Formatting elements, which the HTML parser re-opens inside later blocks
/// when they are left unclosed.
const FORMATTING_ELEMENTS: [&str; 14] = [
    "a", "b", "big", "code", "em", "font", "i", "nobr", "s", "small", "strike", "strong", "tt", "u",
];
/// Elements that end an open `<p>` when they start.
const CLOSES_P: [&str; 36] = [
    "address",
    "article",
    "aside",
    "blockquote",
    "center",
    "details",
    "dialog",
    "dir",
    "div",
    "dl",
    "fieldset",
    "figcaption",
    "figure",
    "footer",
    "form",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "header",
    "hgroup",
    "listing",
    "main",
    "menu",
    "nav",
    "ol",
    "p",
    "pre",
    "search",
    "section",
    "summary",
    "table",
    "ul",
    "li",
];
/// Elements that bound the search for an end tag's element (the parser's
/// "default scope", plus the foreign-content integration points).
const SCOPE_BOUNDARIES: [&str; 16] = [
    "applet",
    "caption",
    "html",
    "table",
    "td",
    "th",
    "marquee",
    "object",
    "template",
    "foreignobject",
    "desc",
    "mi",
    "mo",
    "mn",
    "ms",
    "mtext",
];
/// End tags that are searched in "table scope" (only `html`, `table`,
/// `template` bound them).
const TABLE_SCOPE_END_TAGS: [&str; 7] = ["table", "tbody", "thead", "tfoot", "tr", "td", "th"];

/// An open element as the pre-scan sees it.
struct Open {
    name: String,
    /// How many tree levels it stands for: table cells and rows also count
    /// the `tbody`/`tr` the parser inserts when they are missing.
    weight: usize,
}

/// A cheap, linear, non-recursive pass over HTML that over-estimates the
/// nesting depth and element count the HTML parser will produce, so that
/// hostile pages are refused before the (quadratic in depth) parser and the
/// (recursive) readability code see them.
#[derive(Default)]
struct HtmlScan {
    open: Vec<Open>,
    depth: usize,
    elements: usize,
    /// Open `svg`/`math` elements (where `<x/>` really self-closes).
    foreign: usize,
    /// Formatting elements closed implicitly, which the parser re-opens
    /// (nested) before later content.
    dangling_formatting: usize,
}

impl HtmlScan {
    fn check(&self) -> Result<(), InputError> {
        if self.depth + self.dangling_formatting > MAX_MARKUP_DEPTH {
            return Err(InputError::TooDeep {
                markup: "HTML",
                limit: MAX_MARKUP_DEPTH,
            });
        }
        if self.elements > MAX_MARKUP_ELEMENTS {
            return Err(InputError::TooManyElements {
                markup: "HTML",
                limit: MAX_MARKUP_ELEMENTS,
            });
        }
        Ok(())
    }

    fn push(&mut self, name: String, weight: usize) {
        if matches!(name.as_str(), "svg" | "math") {
            self.foreign += 1;
        }
        self.depth += weight;
        self.open.push(Open { name, weight });
    }

    fn pop(&mut self) -> Option<Open> {
        let top = self.open.pop()?;
        self.depth -= top.weight;
        if matches!(top.name.as_str(), "svg" | "math") {
            self.foreign -= 1;
        }
        Some(top)
    }

    fn top_is(&self, names: &[&str]) -> bool {
        self.open
            .last()
            .is_some_and(|top| names.contains(&top.name.as_str()))
    }

    /// Text: the parser may re-open every dangling formatting element.
    fn text(&mut self) {
        self.elements += self.dangling_formatting;
    }

    fn start_tag(&mut self, name: String, self_closing: bool) {
        self.elements += 1 + self.dangling_formatting;
        if VOID_ELEMENTS.contains(&name.as_str()) || (self_closing && self.foreign > 0) {
            return;
        }
        self.close_implied(&name);
        let weight = match name.as_str() {
            "td" | "th" if !self.top_is(&["tr"]) => 3,
            "tr" if !self.top_is(&["tbody", "thead", "tfoot"]) => 2,
            _ => 1,
        };
        self.push(name, weight);
    }

    /// Pops the elements a start tag ends implicitly (a new `<li>` ends
    /// the open one, a `<div>` ends an open `<p>`, ...).
    fn close_implied(&mut self, name: &str) {
        let closes: &[&str] = match name {
            "li" => &["li", "p"],
            "dd" | "dt" => &["dd", "dt", "p"],
            "td" | "th" => &["td", "th"],
            "tr" => &["td", "th", "tr"],
            "tbody" | "thead" | "tfoot" => &["td", "th", "tr", "tbody", "thead", "tfoot"],
            "option" => &["option"],
            "optgroup" => &["option", "optgroup"],
            n if CLOSES_P.contains(&n) => &["p"],
            _ => &[],
        };
        while self.top_is(closes) {
            self.pop_implicitly();
        }
    }

    fn pop_implicitly(&mut self) {
        if let Some(open) = self.pop() {
            if FORMATTING_ELEMENTS.contains(&open.name.as_str()) {
                self.dangling_formatting += 1;
            }
        }
    }

    fn end_tag(&mut self, name: &str) {
        if matches!(name, "html" | "body" | "head") {
            return;
        }
        let table_scope = TABLE_SCOPE_END_TAGS.contains(&name);
        let bounds = |open: &str| {
            if table_scope {
                return matches!(open, "html" | "table" | "template");
            }
            SCOPE_BOUNDARIES.contains(&open)
                || (name == "li" && matches!(open, "ol" | "ul"))
                || (name == "p" && open == "button")
        };
        let found = self
            .open
            .iter()
            .rev()
            .position(|open| open.name == name || bounds(&open.name))
            .map(|from_top| self.open.len() - 1 - from_top)
            .filter(|&at| self.open[at].name == name);
        let formatting = FORMATTING_ELEMENTS.contains(&name);
        match found {
            // A formatting element closed out of order: the parser's
            // adoption agency keeps (copies of) the elements above it open,
            // so nothing is popped here.
            Some(at) if formatting && at + 1 != self.open.len() => {}
            Some(at) => {
                while self.open.len() > at + 1 {
                    self.pop_implicitly();
                }
                self.pop();
            }
            None if formatting => {
                self.dangling_formatting = self.dangling_formatting.saturating_sub(1);
            }
            // A stray end tag; `</p>` and `</br>` make an element.
            None => self.elements += 1,
        }
    }
}

/// Checks `html` against [`MAX_MARKUP_DEPTH`] and [`MAX_MARKUP_ELEMENTS`]
/// with [`HtmlScan`], in one linear pass.
fn prescan_html(html: &str) -> Result<(), InputError> {
    let bytes = html.as_bytes();
    let mut scan = HtmlScan::default();
    let mut i = 0;
    while i < bytes.len() {
        let Some(lt) = find_byte(bytes, i, b'<') else {
            if has_text(&bytes[i..]) {
                scan.text();
            }
            break;
        };
        if has_text(&bytes[i..lt]) {
            scan.text();
        }
        i = scan_markup(bytes, lt, &mut scan);
        scan.check()?;
    }
    scan.check()
}

/// Handles the markup starting at `bytes[lt] == b'<'`; returns where
/// scanning goes on.
fn scan_markup(bytes: &[u8], lt: usize, scan: &mut HtmlScan) -> usize {
    let rest = &bytes[lt..];
    if rest.starts_with(b"<!--") {
        return find_seq(bytes, lt + 4, b"-->").map_or(bytes.len(), |end| end + 3);
    }
    match rest.get(1) {
        Some(b'!' | b'?') => find_byte(bytes, lt + 1, b'>').map_or(bytes.len(), |gt| gt + 1),
        Some(b'/') if rest.get(2).is_some_and(u8::is_ascii_alphabetic) => {
            let (name, after) = tag_name(bytes, lt + 2);
            scan.end_tag(&name);
            find_byte(bytes, after, b'>').map_or(bytes.len(), |gt| gt + 1)
        }
        Some(c) if c.is_ascii_alphabetic() => {
            let (name, after) = tag_name(bytes, lt + 1);
            let (end, self_closing) = skip_attributes(bytes, after);
            let raw = RAW_TEXT_ELEMENTS.contains(&name.as_str()) && !self_closing;
            let raw_end = raw.then(|| skip_raw_text(bytes, end, &name));
            scan.start_tag(name, self_closing);
            if let Some(raw_end) = raw_end {
                // The raw-text element is closed by its end tag.
                scan.pop();
                return raw_end;
            }
            end
        }
        _ => lt + 1,
    }
}

/// The lowercased tag name starting at `start`, and where it ends.
fn tag_name(bytes: &[u8], start: usize) -> (String, usize) {
    let end = bytes[start..]
        .iter()
        .position(|&b| b.is_ascii_whitespace() || b == b'/' || b == b'>')
        .map_or(bytes.len(), |n| start + n);
    let name = String::from_utf8_lossy(&bytes[start..end]).to_ascii_lowercase();
    (name, end)
}

/// Skips a start tag's attributes (quoted values may hold `>`); returns the
/// position after the closing `>` and whether the tag ended with `/>`.
fn skip_attributes(bytes: &[u8], mut i: usize) -> (usize, bool) {
    let mut after_equals = false;
    while i < bytes.len() {
        match bytes[i] {
            b'>' => return (i + 1, i > 0 && bytes[i - 1] == b'/'),
            quote @ (b'"' | b'\'') if after_equals => {
                i = find_byte(bytes, i + 1, quote).map_or(bytes.len(), |q| q + 1);
                after_equals = false;
                continue;
            }
            b'=' => after_equals = true,
            b if b.is_ascii_whitespace() => {}
            _ => after_equals = false,
        }
        i += 1;
    }
    (bytes.len(), false)
}

/// Skips the content of a raw-text element up to and including its end tag.
fn skip_raw_text(bytes: &[u8], mut i: usize, name: &str) -> usize {
    if name == "plaintext" {
        return bytes.len();
    }
    while let Some(lt) = find_seq(bytes, i, b"</") {
        let candidate = bytes.get(lt + 2..lt + 2 + name.len());
        if candidate.is_some_and(|c| c.eq_ignore_ascii_case(name.as_bytes())) {
            return find_byte(bytes, lt + 2, b'>').map_or(bytes.len(), |gt| gt + 1);
        }
        i = lt + 2;
    }
    bytes.len()
}

fn find_byte(bytes: &[u8], from: usize, byte: u8) -> Option<usize> {
    bytes
        .get(from..)?
        .iter()
        .position(|&b| b == byte)
        .map(|n| from + n)
}

fn find_seq(bytes: &[u8], from: usize, seq: &[u8]) -> Option<usize> {
    bytes
        .get(from..)?
        .windows(seq.len())
        .position(|w| w == seq)
        .map(|n| from + n)
}

fn has_text(bytes: &[u8]) -> bool {
    bytes.iter().any(|b| !b.is_ascii_whitespace())
}

/// Checks the parsed page's real depth and element count, iteratively,
/// before any recursive code walks it.
fn check_parsed_tree(page: &Readability) -> Result<(), InputError> {
    let (mut elements, mut nesting_sum) = (0usize, 0usize);
    let mut stack = vec![(page.doc.root(), 0usize)];
    while let Some((node, depth)) = stack.pop() {
        if depth > MAX_MARKUP_DEPTH {
            return Err(InputError::TooDeep {
                markup: "HTML",
                limit: MAX_MARKUP_DEPTH,
            });
        }
        if node.is_element() {
            elements += 1;
            if elements > MAX_MARKUP_ELEMENTS {
                return Err(InputError::TooManyElements {
                    markup: "HTML",
                    limit: MAX_MARKUP_ELEMENTS,
                });
            }
            nesting_sum += depth;
            if nesting_sum > MAX_HTML_NESTING_SUM {
                return Err(InputError::NestingTooCostly {
                    markup: "HTML",
                    limit: MAX_HTML_NESTING_SUM,
                });
            }
        }
        stack.extend(node.children_it(false).map(|child| (child, depth + 1)));
    }
    Ok(())
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

    // ------------------------------------------------- hostile markup

    /// Extracts on a thread with a 2 MiB stack, like kurz's workers; a
    /// stack overflow would abort the test binary.
    fn on_worker_stack(text: String, kind: InputKind) -> Result<Document, InputError> {
        std::thread::Builder::new()
            .stack_size(2 << 20)
            .spawn(move || extract_document(&text, kind))
            .unwrap()
            .join()
            .expect("extraction panicked")
    }

    fn assert_refused(text: String, kind: InputKind, needle: &str) {
        let len = text.len();
        match on_worker_stack(text, kind) {
            Err(e) => assert!(e.to_string().contains(needle), "{len} bytes: {e}"),
            Ok(d) => panic!("{len} bytes accepted: {} chars", d.text.len()),
        }
    }

    #[test]
    fn deeply_nested_html_is_refused() {
        let deep = "nested too deeply";
        assert_refused("<div>".repeat(50_000), InputKind::Html, deep);
        assert_refused(
            format!("{}x{}", "<div>".repeat(600), "</div>".repeat(600)),
            InputKind::Html,
            deep,
        );
        // `<div/>` is not self-closing in HTML: it nests.
        assert_refused("<div/>".repeat(400_000), InputKind::Html, deep);
        // Misnested formatting, table scope and list-item scope tricks.
        assert_refused("<b><div></b>".repeat(100_000), InputKind::Html, deep);
        assert_refused(
            "<div><table><td></div>".repeat(50_000),
            InputKind::Html,
            deep,
        );
        assert_refused("<ul><li><ul></li>".repeat(50_000), InputKind::Html, deep);
        assert_refused("<table><tr><td>".repeat(100_000), InputKind::Html, deep);
        assert_refused("<b>x".repeat(400_000), InputKind::Html, deep);
        assert_refused("<a>".repeat(700_000), InputKind::Html, deep);
        assert_refused(
            format!("<svg>{}</svg>", "<g>".repeat(10_000)),
            InputKind::Html,
            deep,
        );
    }

    #[test]
    fn html_with_too_many_elements_is_refused() {
        assert_refused(
            "<p>x</p>".repeat(MAX_MARKUP_ELEMENTS + 10),
            InputKind::Html,
            "too many elements",
        );
        // Unclosed formatting elements are re-opened before every later
        // block; the pre-scan counts what the parser would build.
        let mut dangling = String::from("<div>");
        for i in 0..400 {
            dangling.push_str(&format!("<b id={i}>"));
        }
        dangling.push_str("</div>");
        dangling.push_str(&"<p>x</p>".repeat(1_000));
        assert_refused(dangling, InputKind::Html, "too many elements");
    }

    #[test]
    fn many_deep_chains_are_refused_as_too_costly() {
        let chain = format!("{}x{}", "<div>".repeat(500), "</div>".repeat(500));
        let err = on_worker_stack(chain.repeat(200), InputKind::Html).unwrap_err();
        assert!(matches!(err, InputError::NestingTooCostly { .. }), "{err}");
        assert!(err.to_string().contains("nested too deeply"), "{err}");
        assert!(err.to_string().contains("too many elements"), "{err}");
    }

    #[test]
    fn big_but_flat_html_is_accepted() {
        let d = on_worker_stack("<p>Ein Satz.</p>".repeat(100_000), InputKind::Html).unwrap();
        assert_eq!(d.text.matches("Ein Satz.").count(), 100_000);
        let d = on_worker_stack(
            format!("<ul>{}</ul>", "<li>Punkt".repeat(50_000)),
            InputKind::Html,
        )
        .unwrap();
        assert!(d.text.contains("Punkt"));
        // Self-closing tags inside SVG do close.
        let svg = format!(
            "<p>Text davor.</p><svg>{}</svg>",
            "<path d=\"1\"/>".repeat(50_000)
        );
        assert_eq!(
            on_worker_stack(svg, InputKind::Html).unwrap().text,
            "Text davor."
        );
        // Depth just under the limit is fine.
        let deep_ok = format!("{}Tief.{}", "<div>".repeat(400), "</div>".repeat(400));
        assert_eq!(
            on_worker_stack(deep_ok, InputKind::Html).unwrap().text,
            "Tief."
        );
    }

    #[test]
    fn markup_in_scripts_comments_and_attributes_is_not_counted() {
        let html = format!(
            "<script>var s = \"{}\";</script><!-- {} --><div title=\"{}\">Inhalt.</div>",
            "<div>".repeat(5_000),
            "<div>".repeat(5_000),
            "<div>".repeat(5_000)
        );
        assert_eq!(
            on_worker_stack(html, InputKind::Html).unwrap().text,
            "Inhalt."
        );
    }

    #[test]
    fn unclosed_paragraphs_and_cells_of_real_pages_are_fine() {
        let rows: String = (0..2_000)
            .map(|i| format!("<tr><td>{i}<td>Wert {i}"))
            .collect();
        let html = format!(
            "<html><body>{}<table>{rows}</table>{}</body></html>",
            "<p>Absatz ohne Ende".repeat(2_000),
            "<ul><li>a<li>b<li>c</ul>".repeat(500)
        );
        assert!(on_worker_stack(html, InputKind::Html).is_ok());
    }

    #[test]
    fn html_garbage_shapes_complete() {
        for html in [
            "<<<<<<".repeat(100_000),
            "<!--".repeat(100_000),
            "<!".repeat(100_000),
            "</".repeat(100_000),
            "<a b='".repeat(100_000),
            "<script>".repeat(100_000),
            "<plaintext><div>".repeat(1_000),
            format!("<div {}>x</div>", "a=\"b\" ".repeat(100_000)),
            "&amp;&#x110000;&#0;&".repeat(50_000),
        ] {
            // Any outcome but a panic or an overflow is fine.
            let _ = on_worker_stack(html, InputKind::Html);
        }
    }

    #[test]
    fn deeply_nested_markdown_is_refused() {
        let deep = "nested too deeply";
        assert_refused(
            format!("{}Text\n", ">".repeat(50_000)),
            InputKind::Markdown,
            deep,
        );
        assert_refused(
            format!("{}Text\n", "- ".repeat(5_000)),
            InputKind::Markdown,
            deep,
        );
    }

    #[test]
    fn markdown_with_too_many_elements_is_refused() {
        assert_refused(
            "*a* ".repeat(MAX_MARKUP_ELEMENTS + 10),
            InputKind::Markdown,
            "too many elements",
        );
    }

    #[test]
    fn markdown_garbage_shapes_complete() {
        for md in [
            "[".repeat(500_000),
            format!("{}x{}", "[".repeat(50_000), "](u)".repeat(50_000)),
            format!("{}x{}", "![".repeat(50_000), "](u)".repeat(50_000)),
            format!("{}x{}", "*_".repeat(50_000), "_*".repeat(50_000)),
            format!("{}x{}", "*".repeat(50_000), "*".repeat(50_000)),
            "*a ".repeat(200_000),
            "`".repeat(200_000),
            "![".repeat(200_000),
            "[^a]: ".repeat(100_000),
            format!("|a|\n|-|\n{}", "|x".repeat(200_000)),
            "<div>".repeat(200_000),
            (0..1_000)
                .map(|i| format!("{}- x\n", " ".repeat(2 * i)))
                .collect(),
        ] {
            let _ = on_worker_stack(md, InputKind::Markdown);
        }
    }

    #[test]
    fn nested_markdown_within_limits_is_fine() {
        let d = doc(&format!("{}Zitat\n", "> ".repeat(100)), InputKind::Markdown);
        assert_eq!(d.text, "Zitat");
    }

    /// Pseudo-random documents made of markup fragments.
    fn soup(fragments: &[&str], seed: u64, len: usize) -> String {
        let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        (0..len)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                fragments[usize::try_from(state % fragments.len() as u64).unwrap()]
            })
            .collect()
    }

    #[test]
    fn html_tag_soup_never_panics() {
        let fragments = [
            "<div>",
            "</div>",
            "<b>",
            "</b>",
            "<i id=x>",
            "</i>",
            "<table>",
            "<tr>",
            "<td>",
            "</table>",
            "<p>",
            "</p>",
            "<li>",
            "<ul>",
            "</ul>",
            "<svg>",
            "<path/>",
            "</svg>",
            "<math>",
            "<!--",
            "-->",
            "<script>",
            "</script>",
            "<title>",
            "</title>",
            "<h1>",
            "</h1>",
            "<a href='",
            "'>",
            "</a>",
            "&amp;",
            "&#x0;",
            "Wort ",
            "\n\n",
            "<",
            ">",
            "</",
            "<template>",
            "</template>",
            "<select><option>",
            "<frameset>",
            "<br/>",
            "ä€",
            "<body>",
            "</html>",
            "<plaintext>",
            "<textarea>",
        ];
        for seed in 0..300 {
            let html = soup(&fragments, seed, 300);
            let _ = on_worker_stack(html, InputKind::Html);
        }
    }

    #[test]
    fn markdown_soup_never_panics() {
        let fragments = [
            "> ", "- ", "* ", "1. ", "*", "_", "**", "[", "](", ")", "![", "`", "```", "\n",
            "\n\n", "#", "# ", "|", "|-|", "---", "+++", "<div>", "</div>", "Wort ", "  ", "\t",
            "[^1]", "[^1]: ", ":", "~~", "- [ ] ", "&amp;", "\\", "<", "ä€",
        ];
        for seed in 0..300 {
            let md = soup(&fragments, seed, 300);
            let _ = on_worker_stack(md, InputKind::Markdown);
            let _ = on_worker_stack(soup(&fragments, seed + 1000, 300), InputKind::Text);
        }
    }
}
