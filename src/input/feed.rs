//! Feeds (RSS 0.9x/1.0/2.0, Atom, JSON Feed), read with `feed-rs`; no
//! network access: only the file's own text is used.
//!
//! A feed is split into its items when the inputs are found: each item is
//! an input of its own ([`InputSource::FeedItem`](super::InputSource)),
//! shown as `<feed path>#<item id>` and written to
//! `<feed path without extension>/<item slug>.en.<format>`. The id is the
//! item's guid (RSS) or id (Atom, JSON Feed), else its link, else a hash of
//! its title and text, so it stays the same when the feed is read again.
//! Reading an item yields that item's own record (a small JSON object, see
//! [`item_bytes`]), so its checksum, and with it the resume entry, changes
//! only when the item itself does.
//!
//! An item's full content (`content:encoded`, Atom `content`, JSON
//! `content_html`/`content_text`) goes through the same HTML extraction as
//! an HTML file; an item with only a description that is shorter than
//! [`TEASER_WORDS`] words is summarized from it with a warning.

use feed_rs::model::{Entry, Text};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{document_from_text, extract_document, Extracted, InputError, InputKind};

/// A description (without full content) shorter than this many words is a
/// teaser.
pub const TEASER_WORDS: usize = 150;
/// Longest item id shown in full in an input's name; longer ids are cut
/// and end in a hash.
const MAX_SHOWN_ID_CHARS: usize = 160;
/// Longest slug (file name part before the hash) of an item's output.
const MAX_SLUG_CHARS: usize = 60;

const FORMAT: &str = "feed";

fn broken(reason: impl Into<String>) -> InputError {
    InputError::Broken {
        format: FORMAT,
        reason: reason.into(),
    }
}

/// Whether the start of a file looks like a feed: an XML document whose
/// root is `rss`, `feed` or `rdf:RDF`, or a JSON Feed.
pub(super) fn looks_like_feed(head: &[u8]) -> bool {
    let text = String::from_utf8_lossy(head);
    let text = text.trim_start_matches('\u{feff}').trim_start();
    if text.starts_with('{') {
        return text.contains("jsonfeed.org/version");
    }
    if !text.starts_with('<') {
        return false;
    }
    let lower = text.to_lowercase();
    ["<rss", "<feed", "<rdf:rdf"].iter().any(|root| {
        lower.match_indices(root).any(|(i, m)| {
            lower[i + m.len()..]
                .chars()
                .next()
                .is_some_and(|c| c.is_whitespace() || c == '>')
        })
    })
}

/// RSS 0.90's namespace. Its elements are RSS 1.0's (`channel`, `item`,
/// `title`, `link`, `description` in an `rdf:RDF` root), which `feed-rs`
/// reads only in RSS 1.0's namespace, [`RSS_1_0`].
const RSS_0_90: &[u8] = b"http://my.netscape.com/rdf/simple/0.9/";
const RSS_1_0: &[u8] = b"http://purl.org/rss/1.0/";

/// How far into a feed its root element's namespace declarations are
/// looked for.
const ROOT_BYTES: usize = 4096;

/// An RSS 0.90 feed with its namespace declaration renamed to RSS 1.0's,
/// so its items are read; any other feed as it is. Only the namespace as
/// a quoted attribute value counts, so the same address in an item's text
/// is left alone.
fn rss_090_as_rss_1_0(bytes: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    let head = &bytes[..bytes.len().min(ROOT_BYTES)];
    let quoted = |at: usize| {
        let (before, after) = (head.get(at.wrapping_sub(1)), head.get(at + RSS_0_90.len()));
        matches!(before, Some(b'"' | b'\'')) && before == after
    };
    let found = head
        .windows(RSS_0_90.len())
        .enumerate()
        .position(|(at, w)| w == RSS_0_90 && quoted(at));
    match found {
        Some(at) => {
            let mut renamed = Vec::with_capacity(bytes.len());
            renamed.extend_from_slice(&bytes[..at]);
            renamed.extend_from_slice(RSS_1_0);
            renamed.extend_from_slice(&bytes[at + RSS_0_90.len()..]);
            renamed.into()
        }
        None => bytes.into(),
    }
}

/// Parses a feed, with ids only from the feed itself (`feed-rs` would make
/// up random ones otherwise; [`stable_id`] fills the gaps). A panic in
/// `feed-rs` (a bug that a malformed feed triggered) becomes
/// [`InputError::Broken`]: discovery lists a feed's items outside the
/// batch's per-file guard, so a panic here would end the whole run.
fn parse(bytes: &[u8]) -> Result<feed_rs::model::Feed, InputError> {
    let parser = feed_rs::parser::Builder::new()
        .id_generator(|_, _, _| String::new())
        .build();
    let bytes = rss_090_as_rss_1_0(bytes);
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| parser.parse(&*bytes)))
        .map_err(|_| broken(super::PARSER_PANICKED))?
        .map_err(|e| broken(e.to_string()))
}

/// The ids of a feed's items, in feed order (the first of any duplicates).
pub(super) fn list_items(bytes: &[u8]) -> Result<Vec<String>, InputError> {
    let feed = parse(bytes)?;
    Ok(feed.entries.iter().map(stable_id).collect())
}

/// A feed's items as discovery lists them: for each item, in feed order
/// and duplicates included, its id, the id as shown in the input's name
/// ([`shown_id`]) and the file name part of its output ([`slug`]).
/// Public (hidden) for the `extract_feed` fuzz target only.
pub(super) fn listing(bytes: &[u8]) -> Result<Vec<super::FeedItemListing>, InputError> {
    Ok(list_items(bytes)?
        .into_iter()
        .map(|id| super::FeedItemListing {
            shown: shown_id(&id),
            slug: slug(&id),
            id,
        })
        .collect())
}

/// The item's id: its own, else its link, else a hash of its title and
/// text.
fn stable_id(entry: &Entry) -> String {
    let own = entry.id.trim();
    if !own.is_empty() {
        return own.to_string();
    }
    if let Some(link) = first_link(entry) {
        return link;
    }
    let mut hasher = Sha256::new();
    for part in [
        entry.title.as_ref().map(|t| t.content.as_str()),
        entry.summary.as_ref().map(|t| t.content.as_str()),
        entry.content.as_ref().and_then(|c| c.body.as_deref()),
    ] {
        hasher.update(part.unwrap_or("").as_bytes());
        hasher.update([0]);
    }
    format!("sha256:{}", &hex(&hasher.finalize())[..16])
}

fn first_link(entry: &Entry) -> Option<String> {
    let alternate = entry
        .links
        .iter()
        .find(|l| l.rel.as_deref().is_none_or(|r| r == "alternate"));
    alternate
        .or(entry.links.first())
        .map(|l| l.href.trim().to_string())
        .filter(|h| !h.is_empty())
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// The item id as shown in an input's name: control characters,
/// whitespace and `%` itself escaped as `%XX` (so `a b` and `a%20b` stay
/// apart: the name is the input's key in the manifest), and an id longer than
/// [`MAX_SHOWN_ID_CHARS`] cut and ended with a hash of the whole id (so
/// different ids stay different).
pub(super) fn shown_id(id: &str) -> String {
    let mut out = String::new();
    for c in id.chars() {
        if c.is_control() || c.is_whitespace() || c == '%' {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("%{b:02X}"));
            }
        } else {
            out.push(c);
        }
    }
    if out.chars().count() <= MAX_SHOWN_ID_CHARS {
        return out;
    }
    let cut: String = out.chars().take(MAX_SHOWN_ID_CHARS - 17).collect();
    format!("{cut}~{}", &hex(&Sha256::digest(id.as_bytes()))[..16])
}

/// A file name part for an item's output: the id's last readable part
/// (without a URL scheme and `www.`; ASCII letters, digits, `-`, `_`, `.`;
/// anything else becomes `-`) and
/// eight hex digits of its hash. Never empty, never starts with `.`, never
/// holds a path separator.
pub(super) fn slug(id: &str) -> String {
    let readable = id.split_once("://").map_or(id, |(_, rest)| rest);
    let readable = readable.strip_prefix("www.").unwrap_or(readable);
    let mut cleaned = String::new();
    for c in readable.chars() {
        let keep = c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
        let c = if keep { c } else { '-' };
        if !(c == '-' && cleaned.ends_with('-')) {
            cleaned.push(c);
        }
    }
    // The end of an id (a URL's last path part) tells items apart best.
    let start = cleaned.len().saturating_sub(MAX_SLUG_CHARS);
    let tail = cleaned[start..].trim_matches(|c| matches!(c, '-' | '.' | '_'));
    let hash = &hex(&Sha256::digest(id.as_bytes()))[..8];
    if tail.is_empty() {
        format!("item-{hash}")
    } else {
        format!("{tail}-{hash}")
    }
}

/// What kurz keeps of one feed item: the bytes a feed item input reads as.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct ItemRecord {
    id: String,
    title: Option<String>,
    link: Option<String>,
    /// Published (else updated) date, RFC 3339.
    date: Option<String>,
    /// Full content, and whether it is HTML.
    content: Option<(String, bool)>,
    /// Description or summary, and whether it is HTML.
    summary: Option<(String, bool)>,
}

fn text_of(text: &Text) -> (String, bool) {
    let html = text.content_type.to_string().contains("html");
    (text.content.clone(), html)
}

fn record(entry: &Entry) -> ItemRecord {
    let content = entry.content.as_ref().and_then(|c| {
        let html = c.content_type.to_string().contains("html");
        c.body.clone().map(|b| (b, html))
    });
    ItemRecord {
        id: stable_id(entry),
        title: entry.title.as_ref().map(|t| plain_title(&text_of(t))),
        link: first_link(entry),
        date: entry.published.or(entry.updated).map(|d| d.to_rfc3339()),
        content: content.filter(|(b, _)| !b.trim().is_empty()),
        summary: entry
            .summary
            .as_ref()
            .map(text_of)
            .filter(|(s, _)| !s.trim().is_empty()),
    }
}

/// A title as plain text (tags of an HTML title removed).
fn plain_title((title, html): &(String, bool)) -> String {
    if !html {
        return title.clone();
    }
    let mut out = String::new();
    let mut in_tag = false;
    for c in title.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out
}

/// The record of the item `id` of a feed, as JSON bytes.
pub(super) fn item_bytes(feed_bytes: &[u8], id: &str) -> Result<Vec<u8>, InputError> {
    let feed = parse(feed_bytes)?;
    let entry = feed
        .entries
        .iter()
        .find(|e| stable_id(e) == id)
        .ok_or_else(|| InputError::FeedItemGone { id: id.to_string() })?;
    serde_json::to_vec(&record(entry)).map_err(|e| broken(e.to_string()))
}

/// Extracts one feed item from its record ([`item_bytes`]).
pub(super) fn extract_item(bytes: &[u8]) -> Result<Extracted, InputError> {
    let item: ItemRecord = serde_json::from_slice(bytes)
        .map_err(|e| broken(format!("not a feed item record ({e})")))?;
    let mut warnings = Vec::new();
    let text = match (&item.content, &item.summary) {
        (Some(content), _) => body_text(content)?,
        (None, Some(summary)) => {
            let text = body_text(summary)?;
            let words = text.split_whitespace().count();
            if words < TEASER_WORDS {
                warnings.push(format!(
                    "feed item has only a teaser ({words} words, no full text); summarized from it"
                ));
            }
            text
        }
        (None, None) => return Err(InputError::Empty),
    };
    let document = document_from_text(item.title.clone(), &text, "UTF-8")?;
    Ok(Extracted {
        document,
        link: item.link,
        date: item.date,
        warnings,
    })
}

/// The plain text of an item's content or description.
fn body_text((body, html): &(String, bool)) -> Result<String, InputError> {
    let kind = if *html || looks_like_html(body) {
        InputKind::Html
    } else {
        InputKind::Text
    };
    let doc = extract_document(body, kind)?;
    // A text body's first line is not a title here: the item has its own.
    Ok(match (kind, doc.title) {
        (InputKind::Text, Some(title)) => format!("{title}\n\n{}", doc.text),
        _ => doc.text,
    })
}

/// RSS descriptions are often HTML without saying so.
fn looks_like_html(body: &str) -> bool {
    let lower = body.to_lowercase();
    ["<p>", "<p ", "<br", "<div", "<a ", "</"]
        .iter()
        .any(|t| lower.contains(t))
}

/// A whole feed as one input: only when it could not be split into items
/// while the inputs were found, so this reports why.
pub(super) fn extract_whole(bytes: &[u8]) -> Result<Extracted, InputError> {
    let items = list_items(bytes)?;
    if items.is_empty() {
        return Err(broken("it lists no items"));
    }
    Err(broken(format!(
        "its {} items are read one by one only from a regular file (not a pipe or device)",
        items.len()
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    const RSS: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel>
<title>Lokalnachrichten</title><link>https://example.org/</link><description>Neues</description>
<item><title>Stadtrat beschließt Haushalt</title><link>https://example.org/haushalt</link>
<guid isPermaLink="false">lokal-2025-0001</guid><pubDate>Tue, 14 Jan 2025 09:30:00 +0100</pubDate>
<description>Kurz: Der Haushalt steht.</description>
<content:encoded><![CDATA[<p>Der Stadtrat hat am Montagabend den Haushalt für 2025 beschlossen.</p><p>Die Schulden steigen um 4,5 Millionen Euro.</p>]]></content:encoded></item>
<item><title>Neue Buslinie</title><link>https://example.org/bus</link>
<description>&lt;p&gt;Ab März fährt die Linie 7 auch am Sonntag.&lt;/p&gt;</description></item>
<item><title>Ohne Link</title><description>Ein Text ohne Link und ohne Kennung.</description></item>
</channel></rss>"#;

    #[test]
    fn sniffs_feeds() {
        assert!(looks_like_feed(
            b"<?xml version=\"1.0\"?>\n<rss version=\"2.0\">"
        ));
        assert!(looks_like_feed(
            b"\xef\xbb\xbf<feed xmlns=\"http://www.w3.org/2005/Atom\">"
        ));
        assert!(looks_like_feed(b"<rdf:RDF xmlns:rdf=\"x\">"));
        assert!(looks_like_feed(
            br#"{"version": "https://jsonfeed.org/version/1.1", "items": []}"#
        ));
        assert!(!looks_like_feed(b"<?xml version=\"1.0\"?><feedback/>"));
        assert!(!looks_like_feed(b"<html><body>rss</body></html>"));
        assert!(!looks_like_feed(br#"{"name": "package"}"#));
    }

    #[test]
    fn items_get_stable_ids() {
        let ids = list_items(RSS.as_bytes()).unwrap();
        assert_eq!(ids[0], "lokal-2025-0001");
        assert_eq!(ids[1], "https://example.org/bus");
        assert!(ids[2].starts_with("sha256:"), "{}", ids[2]);
        // The same on every read.
        assert_eq!(list_items(RSS.as_bytes()).unwrap(), ids);
    }

    #[test]
    fn full_item_with_link_and_date() {
        let bytes = item_bytes(RSS.as_bytes(), "lokal-2025-0001").unwrap();
        let got = extract_item(&bytes).unwrap();
        assert_eq!(
            got.document.title.as_deref(),
            Some("Stadtrat beschließt Haushalt")
        );
        assert_eq!(
            got.document.text,
            "Der Stadtrat hat am Montagabend den Haushalt für 2025 beschlossen.\n\nDie Schulden steigen um 4,5 Millionen Euro."
        );
        assert_eq!(got.link.as_deref(), Some("https://example.org/haushalt"));
        assert_eq!(got.date.as_deref(), Some("2025-01-14T08:30:00+00:00"));
        assert!(got.warnings.is_empty());
    }

    #[test]
    fn teaser_item_is_summarized_with_a_warning() {
        let bytes = item_bytes(RSS.as_bytes(), "https://example.org/bus").unwrap();
        let got = extract_item(&bytes).unwrap();
        assert_eq!(
            got.document.text,
            "Ab März fährt die Linie 7 auch am Sonntag."
        );
        assert_eq!(
            got.warnings,
            ["feed item has only a teaser (9 words, no full text); summarized from it"]
        );
    }

    #[test]
    fn a_vanished_item_and_broken_feeds_are_errors() {
        let err = item_bytes(RSS.as_bytes(), "gone").unwrap_err();
        assert_eq!(
            err.to_string(),
            "item \"gone\" is no longer in the feed (it changed since kurz listed its items)"
        );
        let err = list_items(b"<rss version=\"2.0\"><channel><item><title>x</ti").unwrap_err();
        assert!(err.to_string().starts_with("broken feed: "), "{err}");
        let err = list_items(b"not a feed at all").unwrap_err();
        assert!(err.to_string().starts_with("broken feed: "), "{err}");
        let empty = "<rss version=\"2.0\"><channel><title>t</title></channel></rss>";
        assert_eq!(
            extract_whole(empty.as_bytes()).unwrap_err().to_string(),
            "broken feed: it lists no items"
        );
    }

    #[test]
    fn atom_and_json_feed() {
        let atom = r#"<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>T</title><id>urn:feed</id><updated>2025-02-01T10:00:00Z</updated>
<entry><title type="html">Kita &lt;b&gt;öffnet&lt;/b&gt;</title><id>urn:uuid:1234</id><updated>2025-02-01T10:00:00Z</updated>
<link href="https://example.org/kita"/><content type="html">&lt;p&gt;Die neue Kita öffnet im Mai mit 80 Plätzen.&lt;/p&gt;</content></entry></feed>"#;
        let bytes = item_bytes(atom.as_bytes(), "urn:uuid:1234").unwrap();
        let got = extract_item(&bytes).unwrap();
        assert_eq!(got.document.title.as_deref(), Some("Kita öffnet"));
        assert_eq!(
            got.document.text,
            "Die neue Kita öffnet im Mai mit 80 Plätzen."
        );
        assert_eq!(got.link.as_deref(), Some("https://example.org/kita"));
        let json = r#"{"version": "https://jsonfeed.org/version/1.1", "title": "T",
            "items": [{"id": "7", "title": "Freibad", "content_text": "Das Freibad öffnet am 1. Mai.", "date_published": "2025-04-20T08:00:00+02:00"}]}"#;
        assert_eq!(list_items(json.as_bytes()).unwrap(), ["7"]);
        let got = extract_item(&item_bytes(json.as_bytes(), "7").unwrap()).unwrap();
        assert_eq!(got.document.text, "Das Freibad öffnet am 1. Mai.");
        assert_eq!(got.date.as_deref(), Some("2025-04-20T06:00:00+00:00"));
    }

    #[test]
    fn rdf_feeds_rss_1_0_and_0_90_list_their_items() {
        let rss10 = r#"<?xml version="1.0" encoding="utf-8"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel rdf:about="https://example.org/rss"><title>Lokales</title><link>https://example.org/</link><description>Nachrichten</description>
<items><rdf:Seq><rdf:li rdf:resource="https://example.org/a"/><rdf:li rdf:resource="https://example.org/b"/></rdf:Seq></items></channel>
<item rdf:about="https://example.org/a"><title>Brücke gesperrt</title><link>https://example.org/a</link><description>Die Brücke am Hafen bleibt bis Freitag gesperrt.</description><dc:date>2025-03-11T08:00:00+01:00</dc:date></item>
<item rdf:about="https://example.org/b"><title>Markt verlegt</title><link>https://example.org/b</link><description>Der Wochenmarkt zieht auf den Kirchplatz.</description></item>
</rdf:RDF>"#;
        assert_eq!(
            list_items(rss10.as_bytes()).unwrap(),
            ["https://example.org/a", "https://example.org/b"]
        );
        let got = extract_item(&item_bytes(rss10.as_bytes(), "https://example.org/a").unwrap());
        let got = got.unwrap();
        assert_eq!(got.document.title.as_deref(), Some("Brücke gesperrt"));
        assert_eq!(
            got.document.text,
            "Die Brücke am Hafen bleibt bis Freitag gesperrt."
        );
        let rss090 = r#"<?xml version="1.0"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://my.netscape.com/rdf/simple/0.9/">
<channel><title>Lokales</title><link>https://example.org/</link><description>Nachrichten</description></channel>
<item><title>Freibad öffnet</title><link>https://example.org/freibad</link><description>Das Freibad öffnet am 1. Mai.</description></item>
</rdf:RDF>"#;
        assert_eq!(
            list_items(rss090.as_bytes()).unwrap(),
            ["https://example.org/freibad"]
        );
        let got = item_bytes(rss090.as_bytes(), "https://example.org/freibad").unwrap();
        let got = extract_item(&got).unwrap();
        assert_eq!(got.document.title.as_deref(), Some("Freibad öffnet"));
        assert_eq!(got.document.text, "Das Freibad öffnet am 1. Mai.");
    }

    #[test]
    fn the_rss_0_90_address_in_item_text_is_left_alone() {
        let rss2 = r#"<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>
<item><guid>n1</guid><title>Alt</title><description>Siehe http://my.netscape.com/rdf/simple/0.9/ und "http://my.netscape.com/rdf/simple/0.9/ dazu.</description></item>
</channel></rss>"#;
        assert!(matches!(
            rss_090_as_rss_1_0(rss2.as_bytes()),
            std::borrow::Cow::Borrowed(_)
        ));
        let got = extract_item(&item_bytes(rss2.as_bytes(), "n1").unwrap()).unwrap();
        assert_eq!(
            got.document.text,
            "Siehe http://my.netscape.com/rdf/simple/0.9/ und \"http://my.netscape.com/rdf/simple/0.9/ dazu."
        );
        // The address at the very start or end of the bytes: no panic.
        for bytes in [RSS_0_90, b"\"http://my.netscape.com/rdf/simple/0.9/"] {
            assert!(matches!(
                rss_090_as_rss_1_0(bytes),
                std::borrow::Cow::Borrowed(_)
            ));
        }
    }

    #[test]
    fn shown_ids_and_slugs_are_safe() {
        assert_eq!(shown_id("lokal-1"), "lokal-1");
        assert_eq!(shown_id("a b\nc\u{1b}[31m"), "a%20b%0Ac%1B[31m");
        // Distinct ids are shown distinctly: `%` is escaped too.
        assert_eq!(shown_id("a%20b"), "a%2520b");
        assert_ne!(shown_id("a b"), shown_id("a%20b"));
        let long = "x".repeat(500);
        let shown = shown_id(&long);
        assert_eq!(shown.chars().count(), MAX_SHOWN_ID_CHARS);
        assert_ne!(shown, shown_id(&"x".repeat(501)));
        for id in [
            "../../etc/passwd",
            "/abs",
            ".",
            "..",
            "",
            "a/b\\c",
            "ä ö ü",
            "https://example.org/politik/haushalt-2025?id=7",
        ] {
            let s = slug(id);
            assert!(!s.is_empty() && !s.starts_with('.'), "{id}: {s}");
            assert!(
                !s.contains('/') && !s.contains('\\') && s != "..",
                "{id}: {s}"
            );
            assert!(
                s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)),
                "{s}"
            );
        }
        assert!(slug("https://example.org/politik/haushalt-2025?id=7")
            .starts_with("example.org-politik-haushalt-2025-id-7-"));
        assert_ne!(slug("a?b"), slug("a!b"));
    }

    /// The `extract_feed` fuzz target's properties on its hand-made seeds
    /// (duplicate, path-like, control-character and `%` ids): listed ids
    /// are found again, slugs are safe file names, and distinct ids get
    /// distinct slugs and distinct shown ids.
    #[test]
    fn fuzz_seed_feeds_list_safe_distinct_items() {
        let seeds: [(&[u8], usize); 3] = [
            (
                include_bytes!("../../fuzz/seeds/extract_feed/hand-json.json"),
                6,
            ),
            (
                include_bytes!("../../fuzz/seeds/extract_feed/hand-rss-hostile.rss"),
                5,
            ),
            (
                include_bytes!("../../fuzz/seeds/extract_feed/hand-atom.xml"),
                3,
            ),
        ];
        for (seed, count) in seeds {
            let items = listing(seed).unwrap();
            assert_eq!(items.len(), count);
            let mut distinct: Vec<&crate::input::FeedItemListing> = Vec::new();
            for item in &items {
                let slug = item.slug.as_str();
                assert!(
                    !slug.is_empty() && !slug.starts_with('.') && !slug.contains(['/', '\\', '\0']),
                    "{slug:?}"
                );
                assert!(!item
                    .shown
                    .chars()
                    .any(|c| c.is_control() || c.is_whitespace()));
                assert!(item_bytes(seed, &item.id).is_ok(), "{:?}", item.id);
                if distinct.iter().all(|d| d.id != item.id) {
                    assert!(distinct
                        .iter()
                        .all(|d| d.slug != item.slug && d.shown != item.shown));
                    distinct.push(item);
                }
            }
        }
        let hostile = listing(include_bytes!(
            "../../fuzz/seeds/extract_feed/hand-rss-hostile.rss"
        ))
        .unwrap();
        let shown: Vec<&str> = hostile.iter().map(|i| i.shown.as_str()).collect();
        assert!(
            shown.contains(&"a%20b") && shown.contains(&"a%2520b"),
            "{shown:?}"
        );
    }

    #[test]
    fn deeply_nested_item_markup_does_not_overflow() {
        let depth = 100_000;
        let nested = format!("{}Text{}", "<div>".repeat(depth), "</div>".repeat(depth));
        let feed = format!(
            "<rss version=\"2.0\"><channel><title>t</title><item><guid>g</guid><title>x</title><description>{}</description></item></channel></rss>",
            nested.replace('<', "&lt;").replace('>', "&gt;")
        );
        let run = std::thread::Builder::new()
            .stack_size(2 << 20)
            .spawn(move || {
                let bytes = item_bytes(feed.as_bytes(), "g")?;
                extract_item(&bytes).map(|e| e.document.text)
            })
            .unwrap()
            .join()
            .expect("feed extraction overflowed its stack");
        // Refused by the HTML limits, or read: either way no crash.
        if let Err(e) = run {
            assert!(matches!(e, InputError::TooDeep { .. }), "{e:?}");
        }
    }
}
