//! The HTML digest: one self-contained page (inline CSS; no scripts, no
//! images, fonts or other resources from anywhere), rendered from the
//! template `report.html` with minijinja's HTML auto-escaping, so every
//! value (`<`, `>`, `&`, `"`, `'`, `/`) is text, never markup. As a second
//! line of defence the page's Content-Security-Policy allows nothing but
//! its own inline style: a script that got in anyway would not run, and
//! nothing would load. Only an `http(s)` link of a feed item or e-mail
//! becomes a hyperlink (see [`Entry::web_link`]).

use minijinja::{AutoEscape, Environment};
use serde::Serialize;

use super::{Entry, Report};
use crate::output::Status;

/// The page's template.
const TEMPLATE: &str = include_str!("report.html");

/// What the template shows of one entry.
#[derive(Debug, Serialize)]
struct View<'a> {
    title: &'a str,
    source_title: Option<&'a str>,
    input: &'a str,
    web_link: Option<&'a str>,
    link: Option<&'a str>,
    date: Option<&'a str>,
    status: &'static str,
    guard: Option<&'a str>,
    unsupported: &'a [String],
    error: Option<&'a str>,
    warnings: &'a [String],
    paragraphs: Vec<String>,
}

impl<'a> View<'a> {
    fn of(e: &'a Entry) -> Self {
        View {
            title: &e.title,
            source_title: e.source_title.as_deref(),
            input: &e.input,
            web_link: e.web_link(),
            link: e.link.as_deref(),
            date: e.date.as_deref(),
            status: match e.status {
                Status::Ok => "ok",
                Status::Skipped => "skipped",
                Status::Error => "error",
            },
            guard: e.guard.as_deref(),
            unsupported: &e.unsupported,
            error: e.error.as_deref(),
            warnings: &e.warnings,
            paragraphs: e.paragraphs(),
        }
    }
}

/// Renders `report` as one HTML page.
///
/// # Errors
///
/// A template error, which only a broken build (a bad `report.html`) can
/// cause.
pub fn render(report: &Report) -> Result<String, minijinja::Error> {
    let mut env = Environment::new();
    env.set_auto_escape_callback(|_| AutoEscape::Html);
    env.add_template("report.html", TEMPLATE)?;
    let mut tasks: Vec<&str> = report.entries.iter().map(|e| e.task.as_str()).collect();
    tasks.sort_unstable();
    tasks.dedup();
    let entries: Vec<View> = report.entries.iter().map(View::of).collect();
    env.get_template("report.html")?
        .render(minijinja::context! {
            version => env!("CARGO_PKG_VERSION"),
            folder => report.folder,
            tally => report.tally(),
            models => report.models(),
            tasks => tasks,
            problems => report.problems.len(),
            entries => entries,
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::tests::hostile_report;

    #[test]
    fn hostile_text_is_escaped() {
        let page = render(&hostile_report()).unwrap();
        assert!(!page.contains("<script"), "{page}");
        assert!(page.contains("&lt;script&gt;alert(1)&lt;&#x2f;script&gt;"));
        assert!(page.contains("[click](javascript:alert(2)) | `x` &amp; Co"));
        assert!(!page.contains("<b>") && !page.contains("<i>"));
        assert!(page.contains("&lt;b&gt;bold&lt;&#x2f;b&gt;"));
        assert!(page.contains("only a teaser | &lt;i&gt;"));
        assert!(page.contains("&lt;Merkel&gt;, 42"));
        // The javascript: link is text, the https one a link.
        assert!(!page.contains("href=\"javascript"));
        assert!(page.contains("<dd>javascript:alert(3)</dd>"));
        assert!(page.contains(
            "<a href=\"https:&#x2f;&#x2f;example.org&#x2f;a?b=1&amp;c=2\" rel=\"noopener noreferrer\">"
        ));
        // Control and bidi characters are gone.
        assert!(!page.contains('\u{1b}') && !page.contains('\u{202E}'));
    }

    #[test]
    fn the_page_is_self_contained() {
        let page = render(&hostile_report()).unwrap();
        assert!(page.starts_with("<!DOCTYPE html>"));
        assert!(page.contains(
            "Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'"
        ));
        for forbidden in [
            "<script", "<img", "<link", "<iframe", "src=", "@import", "url(",
        ] {
            assert!(!page.contains(forbidden), "{forbidden} in the page");
        }
        // Every href is an anchor in the page or the one checked https link.
        for (i, _) in page.match_indices("href=\"") {
            let rest = &page[i + 6..];
            assert!(
                rest.starts_with('#') || rest.starts_with("https:"),
                "{}",
                &rest[..40]
            );
        }
    }

    #[test]
    fn every_entry_has_a_row_and_an_article() {
        let report = hostile_report();
        let page = render(&report).unwrap();
        assert_eq!(page.matches("<article ").count(), report.entries.len());
        assert_eq!(
            page.matches("<tr><td class=\"num\">").count(),
            report.entries.len()
        );
        assert!(page.contains("<article id=\"entry-3\" class=\"status-error\">"));
        assert!(page.contains("<p class=\"none\">No summary.</p>"));
        assert!(page.contains("<p>Summary of samples&#x2f;nachrichten&#x2f;hochwasser.txt.</p>"));
        assert!(page.contains("4 inputs: 3 ok, 0 skipped, 1 failed; guard: 2 pass, 1 fail. Model: smollm2-135m.gguf. Task: summarize."));
    }
}
