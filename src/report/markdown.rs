//! The Markdown digest: a tally, an overview table, then one section per
//! input (title, source, link, date, status and guard verdict, errors,
//! warnings, the summary).
//!
//! Every value is untrusted text and is written so that no Markdown
//! renderer reads markup in it: the characters that open inline markup
//! (`` \ ` * _ [ ] < > | # ! ~ $ ``, and `&` before a possible entity) are
//! backslash-escaped everywhere, so `[x](javascript:…)` is no link,
//! `![](…)` no image, `<script>` no HTML and `|` no table column; each
//! value is one line (whitespace collapsed), and a paragraph that would
//! start a block (`# `, `- `, `+ `, `1. `) has that character escaped too.
//! Only an `http(s)` link of a feed item or e-mail becomes a link, as an
//! autolink (`<https://…>`), after [`Entry::web_link`] checked it.

use super::{one_line, Entry, Report};

/// Renders `report` as Markdown (ends with a newline).
pub fn render(report: &Report) -> String {
    let mut md = String::new();
    md.push_str(&format!("# kurz report: {}\n\n", inline(&report.folder)));
    md.push_str(&header_line(report));
    if report.entries.is_empty() {
        md.push_str("\nNo inputs in the manifest.\n");
        return md;
    }
    md.push('\n');
    md.push_str(&overview_table(report));
    for (i, entry) in report.entries.iter().enumerate() {
        md.push('\n');
        md.push_str(&section(i + 1, entry));
    }
    md
}

/// The tally, the models and the tasks, plus a note on lines left out.
fn header_line(report: &Report) -> String {
    let mut line = format!("{}.", inline(&report.tally()));
    let models = report.models();
    if !models.is_empty() {
        let names: Vec<String> = models.iter().map(|m| inline(m)).collect();
        line.push_str(&format!(" Model: {}.", names.join(", ")));
    }
    let mut tasks: Vec<&str> = report.entries.iter().map(|e| e.task.as_str()).collect();
    tasks.sort_unstable();
    tasks.dedup();
    if !tasks.is_empty() {
        let names: Vec<String> = tasks.iter().map(|t| inline(t)).collect();
        line.push_str(&format!(" Task: {}.", names.join(", ")));
    }
    line.push('\n');
    if !report.problems.is_empty() {
        line.push_str(&format!(
            "\n{} manifest line(s) or file(s) could not be read and were left out (kurz printed each on stderr).\n",
            report.problems.len()
        ));
    }
    line
}

/// `| # | Title | Source | Date | Status | Guard |` with one row per entry.
fn overview_table(report: &Report) -> String {
    let mut table =
        String::from("| # | Title | Source | Date | Status | Guard |\n|--:|---|---|---|---|---|\n");
    for (i, e) in report.entries.iter().enumerate() {
        table.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} |\n",
            i + 1,
            inline(&e.title),
            inline(&e.input),
            e.date.as_deref().map(inline).unwrap_or_default(),
            status_word(e),
            e.guard.as_deref().map(inline).unwrap_or_default(),
        ));
    }
    table
}

/// `ok`, `skipped` or `error`.
fn status_word(entry: &Entry) -> &'static str {
    match entry.status {
        crate::output::Status::Ok => "ok",
        crate::output::Status::Skipped => "skipped",
        crate::output::Status::Error => "error",
    }
}

/// One entry's section: heading, facts as a list, then the summary.
fn section(number: usize, e: &Entry) -> String {
    let mut s = format!("## {number}. {}\n\n", inline(&e.title));
    if let Some(original) = &e.source_title {
        s.push_str(&format!("- Original title: {}\n", inline(original)));
    }
    s.push_str(&format!("- Source: {}\n", inline(&e.input)));
    match (e.web_link(), &e.link) {
        (Some(link), _) => s.push_str(&format!("- Link: <{link}>\n")),
        (None, Some(link)) => s.push_str(&format!("- Link: {}\n", inline(link))),
        (None, None) => {}
    }
    if let Some(date) = &e.date {
        s.push_str(&format!("- Date: {}\n", inline(date)));
    }
    let mut status = format!("- Status: {}", status_word(e));
    if let Some(guard) = &e.guard {
        status.push_str(&format!("; guard: {}", inline(guard)));
    }
    s.push_str(&status);
    s.push('\n');
    if !e.unsupported.is_empty() {
        let claims: Vec<String> = e.unsupported.iter().map(|c| inline(c)).collect();
        s.push_str(&format!("- Unsupported: {}\n", claims.join(", ")));
    }
    if let Some(error) = &e.error {
        s.push_str(&format!("- Error: {}\n", inline(error)));
    }
    for warning in &e.warnings {
        s.push_str(&format!("- Warning: {}\n", inline(warning)));
    }
    s.push('\n');
    let paragraphs = e.paragraphs();
    if paragraphs.is_empty() {
        s.push_str("(no summary)\n");
    }
    for (i, p) in paragraphs.iter().enumerate() {
        if i > 0 {
            s.push('\n');
        }
        s.push_str(&paragraph(p));
        s.push('\n');
    }
    s
}

/// Characters escaped wherever they appear.
const ALWAYS_ESCAPED: &[char] = &[
    '\\', '`', '*', '_', '[', ']', '<', '>', '|', '#', '!', '~', '$',
];

/// `text` as one line of Markdown text that renders as exactly these
/// characters and no markup: whitespace collapsed, markup characters
/// backslash-escaped.
pub fn inline(text: &str) -> String {
    let text = one_line(text);
    let mut out = String::with_capacity(text.len() + 8);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        let entity = c == '&'
            && chars
                .peek()
                .is_some_and(|n| n.is_ascii_alphanumeric() || *n == '#');
        if ALWAYS_ESCAPED.contains(&c) || entity {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// `text` as a paragraph: [`inline`], and a start that would open a list
/// item (`-`, `+`, `1.`, `1)`) escaped as well.
pub fn paragraph(text: &str) -> String {
    let escaped = inline(text);
    if escaped.starts_with(['-', '+']) {
        return format!("\\{escaped}");
    }
    let digits = escaped.chars().take_while(char::is_ascii_digit).count();
    if digits > 0 && escaped[digits..].starts_with(['.', ')']) {
        return format!("{}\\{}", &escaped[..digits], &escaped[digits..]);
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::tests::hostile_report;
    use pulldown_cmark::{Event, Options, Parser, Tag};

    /// Every event a CommonMark + GFM-tables parser finds in `md`.
    fn events(md: &str) -> Vec<Event<'_>> {
        Parser::new_ext(md, Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH).collect()
    }

    #[test]
    fn hostile_text_is_never_markup() {
        let md = render(&hostile_report());
        for event in events(&md) {
            match event {
                Event::Html(h) | Event::InlineHtml(h) => panic!("raw HTML {h:?} in\n{md}"),
                Event::Code(c) => panic!("code span {c:?}"),
                Event::Start(Tag::Link { dest_url, .. }) => {
                    assert!(dest_url.starts_with("https://"), "link to {dest_url}")
                }
                Event::Start(Tag::Image { .. }) => panic!("an image in\n{md}"),
                Event::Start(Tag::Emphasis | Tag::Strong | Tag::Strikethrough) => {
                    panic!("emphasis in\n{md}")
                }
                _ => {}
            }
        }
        // Headings are ours only: the title and the 4 entries.
        let headings = events(&md)
            .iter()
            .filter(|e| matches!(e, Event::Start(Tag::Heading { .. })))
            .count();
        assert_eq!(headings, 5, "{md}");
        // No block quote, ordered list or code block anywhere; the lists are
        // the facts lists (one per entry, unordered).
        let ev = events(&md);
        assert!(!ev
            .iter()
            .any(|e| matches!(e, Event::Start(Tag::BlockQuote(_)))));
        assert!(!ev
            .iter()
            .any(|e| matches!(e, Event::Start(Tag::CodeBlock(_)))));
        assert!(!ev
            .iter()
            .any(|e| matches!(e, Event::Start(Tag::List(Some(_))))));
        let lists = ev
            .iter()
            .filter(|e| matches!(e, Event::Start(Tag::List(None))))
            .count();
        assert_eq!(lists, 4);
    }

    #[test]
    fn the_text_reads_back_unchanged() {
        let md = render(&hostile_report());
        let text: String = events(&md)
            .into_iter()
            .filter_map(|e| match e {
                Event::Text(t) => Some(t.into_string()),
                _ => None,
            })
            .collect();
        for expected in [
            "<script>alert(1)</script> [click](javascript:alert(2)) | `x` & Co",
            "# Not a heading",
            "> not a quote ![img](http://tracker.example/p.gif)",
            "1. not a list <b>bold</b> *em* _u_ ~~s~~ &amp; \\ |pipe|",
            "Link: javascript:alert(3)",
            "Unsupported: <Merkel>, 42",
            "Warning: only a teaser | <i>",
        ] {
            assert!(text.contains(expected), "{expected:?} not in {text:?}");
        }
    }

    #[test]
    fn the_table_has_one_row_per_entry_and_six_cells() {
        let md = render(&hostile_report());
        let mut rows = 0;
        let mut cells = 0;
        for e in events(&md) {
            match e {
                Event::Start(Tag::TableRow) => rows += 1,
                Event::Start(Tag::TableCell) => cells += 1,
                _ => {}
            }
        }
        assert_eq!(rows, 4, "{md}");
        assert_eq!(cells, 6 * 5, "{md}");
        assert!(md.contains("| 3 | kaputt.txt | samples/kaputt.txt |  | error |  |"));
    }

    #[test]
    fn sections_hold_the_facts() {
        let md = render(&hostile_report());
        assert!(md.starts_with("# kurz report: kurz-out\n\n4 inputs: 3 ok, 0 skipped, 1 failed; guard: 2 pass, 1 fail. Model: smollm2-135m.gguf. Task: summarize.\n"), "{md}");
        assert!(md.contains("- Link: <https://example.org/a?b=1&c=2>\n"));
        assert!(md.contains("- Date: Tue, 14 Jan 2025 10:00:00 +0000\n"));
        assert!(md.contains("- Status: error\n- Error: samples/kaputt.txt: looks like a binary file\u{FFFD}\\[31m\n\n(no summary)\n"));
        assert!(md.contains("## 4. Title of samples/nachrichten/hochwasser.txt\n\n- Source: samples/nachrichten/hochwasser.txt\n- Status: ok; guard: pass\n\nSummary of samples/nachrichten/hochwasser.txt.\n"), "{md}");
    }

    #[test]
    fn paragraph_starts_are_escaped() {
        assert_eq!(paragraph("- a"), "\\- a");
        assert_eq!(paragraph("+ a"), "\\+ a");
        assert_eq!(paragraph("12. a"), "12\\. a");
        assert_eq!(paragraph("3) a"), "3\\) a");
        assert_eq!(paragraph("2024 war gut."), "2024 war gut.");
        assert_eq!(paragraph("# h"), "\\# h");
        assert_eq!(inline("AT&T &amp; R & D"), "AT\\&T \\&amp; R & D");
        assert_eq!(inline("a\n\n b"), "a b");
    }

    #[test]
    fn an_empty_report_says_so() {
        let mut report = hostile_report();
        report.entries.clear();
        report.problems.push("x".into());
        let md = render(&report);
        assert!(md.contains("0 inputs: 0 ok, 0 skipped, 0 failed."));
        assert!(md.contains("1 manifest line(s) or file(s) could not be read"));
        assert!(md.ends_with("No inputs in the manifest.\n"));
    }
}
