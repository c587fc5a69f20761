//! DOCX (Word) and ODT (OpenDocument text): zip archives of XML, read with
//! `zip` and `quick-xml`.
//!
//! The body is read in document order: every paragraph becomes a
//! paragraph, headings too (so they stay paragraph breaks), a table becomes
//! one line per row with its cells joined by ` | `. Footnotes, endnotes and
//! comments are left out (DOCX keeps them in other parts of the archive,
//! which are never read; ODT's `text:note` and `office:annotation` are
//! skipped), and so are tracked deletions, field codes and the fallback
//! copies of drawing content. The title is the document's own (`dc:title`
//! in `docProps/core.xml` or `meta.xml`) when it has a real one, else the
//! first paragraph when it is a title or top-level heading; the date is its
//! creation date from the same part.
//!
//! Archives are bounded: an XML part larger than [`MAX_XML_BYTES`] when
//! decompressed is refused before or while it is inflated. A password-
//! protected DOCX is an OLE container, not a zip, and is reported as
//! encrypted; so is an ODT whose manifest declares encryption.

use std::io::{Cursor, Read};

use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;
use zip::ZipArchive;

use super::{document_from_text, Extracted, InputError};

/// Most bytes one XML part of an archive may inflate to.
pub const MAX_XML_BYTES: u64 = 64 << 20;

/// How one format names the parts of its body.
struct Dialect {
    format: &'static str,
    /// Paragraph elements (local names).
    paragraphs: &'static [&'static str],
    /// Elements whose text is taken (`None`: all text inside paragraphs).
    text: Option<&'static str>,
    /// Elements whose whole subtree is left out.
    skipped: &'static [&'static str],
    /// Elements that stand for a tab, a line break, and (ODT) spaces.
    tab: &'static str,
    line_break: &'static [&'static str],
    spaces: Option<&'static str>,
    row: &'static str,
    cell: &'static str,
    /// Element with a style name, and its attribute.
    style: (&'static str, &'static str),
    /// Heading elements (ODT's `text:h`).
    heading: Option<&'static str>,
}

const DOCX: Dialect = Dialect {
    format: "DOCX",
    paragraphs: &["p"],
    text: Some("t"),
    skipped: &[
        "del",
        "delText",
        "instrText",
        "Fallback",
        "footnoteReference",
        "endnoteReference",
        "commentReference",
    ],
    tab: "tab",
    line_break: &["br", "cr"],
    spaces: None,
    row: "tr",
    cell: "tc",
    style: ("pStyle", "w:val"),
    heading: None,
};

const ODT: Dialect = Dialect {
    format: "ODT",
    paragraphs: &["p", "h"],
    text: None,
    skipped: &[
        "note",
        "annotation",
        "tracked-changes",
        "bookmark-ref",
        "soft-page-break",
        "sequence-decls",
    ],
    tab: "tab",
    line_break: &["line-break"],
    spaces: Some("s"),
    row: "table-row",
    cell: "table-cell",
    style: ("p", "text:style-name"),
    heading: Some("h"),
};

/// Extracts a DOCX.
pub(super) fn extract_docx(bytes: &[u8]) -> Result<Extracted, InputError> {
    let mut archive = open(bytes, &DOCX)?;
    let body = read_part(&mut archive, "word/document.xml", &DOCX)?
        .ok_or_else(|| broken(&DOCX, "no word/document.xml: not a Word document"))?;
    let core = read_part(&mut archive, "docProps/core.xml", &DOCX)?;
    extract_xml(&body, core.as_deref(), &DOCX)
}

/// Extracts an ODT.
pub(super) fn extract_odt(bytes: &[u8]) -> Result<Extracted, InputError> {
    let mut archive = open(bytes, &ODT)?;
    if let Some(manifest) = read_part(&mut archive, "META-INF/manifest.xml", &ODT)? {
        if manifest.contains("encryption-data") {
            return Err(InputError::Encrypted { format: "ODT" });
        }
    }
    let body = read_part(&mut archive, "content.xml", &ODT)?
        .ok_or_else(|| broken(&ODT, "no content.xml: not an OpenDocument text"))?;
    let meta = read_part(&mut archive, "meta.xml", &ODT)?;
    extract_xml(&body, meta.as_deref(), &ODT)
}

fn broken(dialect: &Dialect, reason: impl Into<String>) -> InputError {
    InputError::Broken {
        format: dialect.format,
        reason: reason.into(),
    }
}

/// Opens the zip archive; an OLE container (an encrypted DOCX, or an old
/// binary `.doc` renamed) is reported as what it is.
fn open<'a>(
    bytes: &'a [u8],
    dialect: &Dialect,
) -> Result<ZipArchive<Cursor<&'a [u8]>>, InputError> {
    const OLE: [u8; 8] = [0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];
    if bytes.starts_with(&OLE) {
        let marker: Vec<u8> = "EncryptedPackage"
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect();
        if bytes.windows(marker.len()).any(|w| w == marker) {
            return Err(InputError::Encrypted {
                format: dialect.format,
            });
        }
        return Err(broken(
            dialect,
            "an OLE compound file (an old binary .doc?), not a zip archive",
        ));
    }
    ZipArchive::new(Cursor::new(bytes))
        .map_err(|e| broken(dialect, format!("not a readable zip archive ({e})")))
}

/// One part of the archive as text, bounded by [`MAX_XML_BYTES`]; `None`
/// if the archive has no such part.
fn read_part(
    archive: &mut ZipArchive<Cursor<&[u8]>>,
    name: &str,
    dialect: &Dialect,
) -> Result<Option<String>, InputError> {
    let mut file = match archive.by_name(name) {
        Ok(file) => file,
        Err(zip::result::ZipError::FileNotFound) => return Ok(None),
        Err(zip::result::ZipError::UnsupportedArchive(why))
            if why.contains("assword") || why.contains("crypt") =>
        {
            return Err(InputError::Encrypted {
                format: dialect.format,
            })
        }
        Err(e) => return Err(broken(dialect, format!("cannot read {name}: {e}"))),
    };
    let too_large = || InputError::Expands {
        format: dialect.format,
        limit: MAX_XML_BYTES,
    };
    if file.size() > MAX_XML_BYTES {
        return Err(too_large());
    }
    let mut bytes = Vec::new();
    (&mut file)
        .take(MAX_XML_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| broken(dialect, format!("cannot read {name}: {e}")))?;
    if bytes.len() as u64 > MAX_XML_BYTES {
        return Err(too_large());
    }
    Ok(Some(String::from_utf8_lossy(&bytes).into_owned()))
}

/// The text of the body XML and the title, from the metadata part or the
/// opening heading.
fn extract_xml(body: &str, meta: Option<&str>, dialect: &Dialect) -> Result<Extracted, InputError> {
    let mut blocks = body_blocks(body, dialect)?;
    let meta_title = meta.and_then(metadata_title);
    let opening = blocks.first().filter(|b| b.heading).map(|b| b.text.clone());
    let title = match (meta_title, opening) {
        (Some(meta), Some(head)) if same(&meta, &head) => {
            blocks.remove(0);
            Some(meta)
        }
        (Some(meta), _) => Some(meta),
        (None, Some(head)) => {
            blocks.remove(0);
            Some(head)
        }
        (None, None) => None,
    };
    let text = blocks
        .iter()
        .map(|b| b.text.as_str())
        .collect::<Vec<_>>()
        .join("\n\n");
    let document = document_from_text(title, &text, "UTF-8")?;
    Ok(Extracted {
        date: meta.and_then(metadata_date),
        ..Extracted::plain(document)
    })
}

fn same(a: &str, b: &str) -> bool {
    let fold = |s: &str| {
        s.split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .to_lowercase()
    };
    fold(a) == fold(b)
}

/// A paragraph (or a table, one line per row) of the body.
#[derive(Debug, Clone, PartialEq)]
struct Block {
    text: String,
    /// A title or heading paragraph.
    heading: bool,
}

/// Where the walker is in the body.
#[derive(Default)]
struct Walk {
    /// Depth inside a skipped subtree (0: not skipping).
    skipping: usize,
    /// Depth inside text elements (DOCX `w:t`).
    in_text: usize,
    /// The paragraph being read, if any, and whether it is a heading.
    paragraph: Option<(String, bool)>,
    /// Open tables: rows read so far and the cells of the current row.
    tables: Vec<(Vec<String>, Vec<String>)>,
    blocks: Vec<Block>,
}

impl Walk {
    fn push_text(&mut self, text: &str, dialect: &Dialect) {
        let wanted = self.skipping == 0 && (dialect.text.is_none() || self.in_text > 0);
        if let (true, Some((paragraph, _))) = (wanted, self.paragraph.as_mut()) {
            paragraph.push_str(text);
        }
    }

    /// Whitespace from a tab, a line break or a space element: taken in
    /// any open paragraph, even outside text elements.
    fn push_space(&mut self, space: &str) {
        if let (0, Some((paragraph, _))) = (self.skipping, self.paragraph.as_mut()) {
            paragraph.push_str(space);
        }
    }

    fn start_paragraph(&mut self, heading: bool) {
        self.paragraph = Some((String::new(), heading));
    }

    /// Ends a paragraph: into the current table cell, or a block.
    fn end_paragraph(&mut self) {
        let Some((text, heading)) = self.paragraph.take() else {
            return;
        };
        let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
        if text.is_empty() {
            return;
        }
        match self.tables.last_mut() {
            Some((_, cells)) => match cells.last_mut() {
                Some(cell) if !cell.is_empty() => {
                    cell.push(' ');
                    cell.push_str(&text);
                }
                Some(cell) => cell.push_str(&text),
                None => cells.push(text),
            },
            None => self.blocks.push(Block { text, heading }),
        }
    }

    fn end_row(&mut self) {
        if let Some((rows, cells)) = self.tables.last_mut() {
            let cells: Vec<String> = std::mem::take(cells)
                .into_iter()
                .filter(|c| !c.is_empty())
                .collect();
            if !cells.is_empty() {
                rows.push(cells.join(" | "));
            }
        }
    }

    /// Ends a table: its rows become a block, or, in a nested table, the
    /// text of the enclosing cell.
    fn end_table(&mut self) {
        let Some((rows, _)) = self.tables.pop() else {
            return;
        };
        if rows.is_empty() {
            return;
        }
        match self.tables.last_mut() {
            Some((_, cells)) => match cells.last_mut() {
                Some(cell) => {
                    if !cell.is_empty() {
                        cell.push(' ');
                    }
                    cell.push_str(&rows.join("; "));
                }
                None => cells.push(rows.join("; ")),
            },
            None => self.blocks.push(Block {
                text: rows.join("\n"),
                heading: false,
            }),
        }
    }
}

/// Whether a paragraph style names a title or heading (Word's built-in
/// names in English and German, LibreOffice's `Title`/`Heading_20_1`).
fn is_heading_style(style: &str) -> bool {
    let s = style.to_lowercase();
    ["heading", "berschrift", "title", "titel"]
        .iter()
        .any(|h| s.contains(h))
        && !s.contains("subtitle")
        && !s.contains("untertitel")
}

fn attribute(e: &BytesStart<'_>, name: &str) -> Option<String> {
    e.try_get_attribute(name)
        .ok()
        .flatten()
        .map(|a| a.value.into_owned())
}

/// Walks the body XML into blocks.
fn body_blocks(xml: &str, dialect: &Dialect) -> Result<Vec<Block>, InputError> {
    let mut reader = Reader::from_str(xml);
    let mut walk = Walk::default();
    loop {
        let event = reader
            .read_event()
            .map_err(|e| broken(dialect, format!("invalid XML ({e})")))?;
        match event {
            Event::Start(e) => start(&mut walk, &e, dialect, false),
            Event::Empty(e) => {
                start(&mut walk, &e, dialect, true);
            }
            Event::End(e) => end(&mut walk, e.local_name().as_ref(), dialect),
            Event::Text(t) => walk.push_text(&t.xml10_content(), dialect),
            Event::CData(t) => walk.push_text(&t.xml10_content(), dialect),
            Event::GeneralRef(r) => {
                let c = match r.resolve_char_ref() {
                    Ok(Some(c)) => Some(c),
                    _ => match &*r {
                        "amp" => Some('&'),
                        "lt" => Some('<'),
                        "gt" => Some('>'),
                        "quot" => Some('"'),
                        "apos" => Some('\''),
                        _ => None,
                    },
                };
                if let Some(c) = c {
                    walk.push_text(c.encode_utf8(&mut [0; 4]), dialect);
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    walk.end_paragraph();
    while !walk.tables.is_empty() {
        walk.end_row();
        walk.end_table();
    }
    Ok(walk.blocks)
}

/// An opening (or, with `empty`, self-closing) element.
fn start(walk: &mut Walk, e: &BytesStart<'_>, dialect: &Dialect, empty: bool) {
    let local = e.local_name();
    let name = local.as_ref();
    if walk.skipping > 0 {
        walk.skipping += usize::from(!empty);
        return;
    }
    if dialect.skipped.contains(&name) {
        walk.skipping = usize::from(!empty);
        return;
    }
    if dialect.paragraphs.contains(&name) {
        walk.end_paragraph();
        let heading = dialect.heading == Some(name)
            || (name == dialect.style.0
                && attribute(e, dialect.style.1).is_some_and(|s| is_heading_style(&s)));
        walk.start_paragraph(heading);
        if empty {
            walk.end_paragraph();
        }
        return;
    }
    if name == dialect.style.0 {
        // DOCX: `w:pStyle` inside `w:pPr` of the open paragraph.
        if let (Some(style), Some((_, heading))) =
            (attribute(e, dialect.style.1), walk.paragraph.as_mut())
        {
            *heading |= is_heading_style(&style);
        }
    }
    match name {
        n if Some(n) == dialect.text => walk.in_text += usize::from(!empty),
        n if n == dialect.tab => walk.push_space(" "),
        n if dialect.line_break.contains(&n) => walk.push_space("\n"),
        n if Some(n) == dialect.spaces => {
            let count = attribute(e, "text:c")
                .and_then(|c| c.parse::<usize>().ok())
                .unwrap_or(1)
                .min(64);
            walk.push_space(&" ".repeat(count));
        }
        "tbl" | "table" if !empty => walk.tables.push((Vec::new(), Vec::new())),
        n if n == dialect.cell && !empty => {
            if let Some((_, cells)) = walk.tables.last_mut() {
                cells.push(String::new());
            }
        }
        _ => {}
    }
}

/// A closing element.
fn end(walk: &mut Walk, name: &str, dialect: &Dialect) {
    if walk.skipping > 0 {
        walk.skipping -= 1;
        return;
    }
    match name {
        n if dialect.paragraphs.contains(&n) => walk.end_paragraph(),
        n if Some(n) == dialect.text => walk.in_text = walk.in_text.saturating_sub(1),
        n if n == dialect.row => {
            walk.end_paragraph();
            walk.end_row();
        }
        "tbl" | "table" => {
            walk.end_paragraph();
            walk.end_table();
        }
        _ => {}
    }
}

/// The text of the first element named `local` (any namespace) in a
/// metadata part.
fn metadata_field(xml: &str, local: &str) -> Option<String> {
    let mut reader = Reader::from_str(xml);
    let mut inside = false;
    let mut value = String::new();
    loop {
        match reader.read_event().ok()? {
            Event::Start(e) if e.local_name().as_ref() == local => inside = true,
            Event::End(e) if e.local_name().as_ref() == local => break,
            Event::Text(t) if inside => value.push_str(&t.xml10_content()),
            Event::GeneralRef(r) if inside => {
                let c = match &*r {
                    "amp" => '&',
                    "lt" => '<',
                    "gt" => '>',
                    "quot" => '"',
                    "apos" => '\'',
                    _ => r.resolve_char_ref().ok().flatten()?,
                };
                value.push(c);
            }
            Event::Eof => break,
            _ => {}
        }
    }
    let value = value.split_whitespace().collect::<Vec<_>>().join(" ");
    (!value.is_empty()).then_some(value)
}

/// `dc:title` from `docProps/core.xml` or `meta.xml`, when it is a real
/// title (not empty, not a file name or placeholder).
fn metadata_title(xml: &str) -> Option<String> {
    let title = metadata_field(xml, "title")?;
    let lower = title.to_lowercase();
    let placeholder = [".doc", ".docx", ".odt", ".dotx"]
        .iter()
        .any(|e| lower.ends_with(e))
        || matches!(
            lower.as_str(),
            "untitled" | "unbenannt" | "titel" | "title" | "dokument1"
        )
        || !title.chars().any(char::is_alphabetic);
    (!placeholder).then_some(title)
}

/// The creation date (`dcterms:created` in DOCX, `meta:creation-date` in
/// ODT) in RFC 3339, as the manifest's `date` is.
///
/// DOCX writes `2025-04-01T10:00:00Z`; ODT writes local time without an
/// offset (`2025-04-01T10:00:00`, often with fractional seconds). A time
/// without an offset is taken as UTC (the document does not say which zone
/// it means; the date is what a digest shows); fractional seconds are
/// dropped; a bare date is midnight UTC. Anything that is not a valid
/// date gives `None`.
fn metadata_date(xml: &str) -> Option<String> {
    let raw = metadata_field(xml, "created").or_else(|| metadata_field(xml, "creation-date"))?;
    rfc3339_date(raw.trim())
}

fn rfc3339_date(raw: &str) -> Option<String> {
    let day = chrono::NaiveDate::parse_from_str(raw.get(..10)?, "%Y-%m-%d").ok()?;
    let rest = &raw[10..];
    let with_zone = |time: chrono::NaiveTime, zone: &str| {
        let text = format!("{day}T{}{zone}", time.format("%H:%M:%S"));
        chrono::DateTime::parse_from_rfc3339(&text)
            .is_ok()
            .then_some(text)
    };
    let Some(time_part) = rest.strip_prefix('T') else {
        return rest.is_empty().then(|| format!("{day}T00:00:00Z"));
    };
    let time = chrono::NaiveTime::parse_from_str(time_part.get(..8)?, "%H:%M:%S").ok()?;
    let zone = time_part[8..].trim_start_matches(|c: char| c == '.' || c.is_ascii_digit());
    match zone {
        "" => with_zone(time, "Z"),
        "z" | "Z" => with_zone(time, "Z"),
        _ => with_zone(time, zone),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::tests_support::office::{docx, odt};

    const BODY_START: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>"#;
    const BODY_END: &str = "</w:body></w:document>";

    #[test]
    fn metadata_dates_become_rfc3339() {
        let cases = [
            ("2025-04-01T10:00:00Z", Some("2025-04-01T10:00:00Z")),
            ("2025-04-01T10:00:00", Some("2025-04-01T10:00:00Z")),
            (
                "2025-04-01T10:00:00.123456789",
                Some("2025-04-01T10:00:00Z"),
            ),
            (
                "2025-04-01T10:00:00+02:00",
                Some("2025-04-01T10:00:00+02:00"),
            ),
            ("2025-04-01", Some("2025-04-01T00:00:00Z")),
            ("2025-13-01T10:00:00", None),
            ("2025-04-01T25:00:00", None),
            ("2025-04-01T10:00:00+99:99", None),
            ("2025-04-01xyz", None),
            ("2025-04-01T10", None),
            ("gestern", None),
            ("", None),
        ];
        for (raw, want) in cases {
            assert_eq!(rfc3339_date(raw).as_deref(), want, "{raw:?}");
        }
        // The fuzzer's finding: an ODT date without an offset.
        let found = include_bytes!("../../fuzz/regressions/extract_office/odt-date-without-offset");
        if let Ok(extracted) = extract_odt(&found[1..]) {
            if let Some(date) = &extracted.date {
                assert!(
                    chrono::DateTime::parse_from_rfc3339(date).is_ok(),
                    "{date:?}"
                );
            }
        }
    }

    fn para(style: Option<&str>, runs: &str) -> String {
        let ppr = style.map_or(String::new(), |s| {
            format!(r#"<w:pPr><w:pStyle w:val="{s}"/></w:pPr>"#)
        });
        format!("<w:p>{ppr}{runs}</w:p>")
    }

    fn run(text: &str) -> String {
        format!(r#"<w:r><w:t xml:space="preserve">{text}</w:t></w:r>"#)
    }

    #[test]
    fn docx_paragraphs_headings_tables_in_order() {
        let body = [
            para(Some("Title"), &run("Stadtwerke senken Gaspreis")),
            para(None, &(run("Die Stadtwerke ") + &run("Musterstadt senken den Preis &amp; die Grundgebühr."))),
            para(Some("Heading2"), &run("Was sich ändert")),
            r#"<w:tbl><w:tr><w:tc><w:p><w:r><w:t>Tarif</w:t></w:r></w:p></w:tc><w:tc><w:p><w:r><w:t>Preis</w:t></w:r></w:p></w:tc></w:tr><w:tr><w:tc><w:p><w:r><w:t>Basis</w:t></w:r></w:p></w:tc><w:tc><w:p><w:r><w:t>9,8 ct</w:t></w:r></w:p></w:tc></w:tr></w:tbl>"#.to_string(),
            para(None, &(run("Der neue Preis gilt ab März.") + r#"<w:r><w:footnoteReference w:id="1"/></w:r>"# + r#"<w:del><w:r><w:delText>gelöscht</w:delText></w:r></w:del>"#)),
        ]
        .concat();
        let xml = format!("{BODY_START}{body}{BODY_END}");
        let got = extract_docx(&docx(&xml, None)).unwrap().document;
        assert_eq!(got.title.as_deref(), Some("Stadtwerke senken Gaspreis"));
        assert_eq!(
            got.text,
            "Die Stadtwerke Musterstadt senken den Preis & die Grundgebühr.\n\nWas sich ändert\n\n\
             Tarif | Preis\nBasis | 9,8 ct\n\nDer neue Preis gilt ab März."
        );
    }

    #[test]
    fn docx_core_title_wins() {
        let xml = format!(
            "{BODY_START}{}{}{BODY_END}",
            para(None, &run("Erster Absatz des Textes.")),
            para(None, &run("Zweiter Absatz."))
        );
        let core = r#"<cp:coreProperties xmlns:cp="x" xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>Neue Kita eröffnet</dc:title></cp:coreProperties>"#;
        let got = extract_docx(&docx(&xml, Some(core))).unwrap();
        assert_eq!(got.date, None);
        let got = got.document;
        assert_eq!(got.title.as_deref(), Some("Neue Kita eröffnet"));
        assert!(got.text.starts_with("Erster Absatz"));
        let dated = core.replace(
            "</cp:coreProperties>",
            r#"<dcterms:created xmlns:dcterms="t">2025-03-14T09:30:00Z</dcterms:created></cp:coreProperties>"#,
        );
        let got = extract_docx(&docx(&xml, Some(&dated))).unwrap();
        assert_eq!(got.date.as_deref(), Some("2025-03-14T09:30:00Z"));
        let undated = dated.replace("2025-03-14T09:30:00Z", "gestern");
        assert_eq!(
            extract_docx(&docx(&xml, Some(&undated))).unwrap().date,
            None
        );
        let placeholder = core.replace("Neue Kita eröffnet", "Dokument1");
        let got = extract_docx(&docx(&xml, Some(&placeholder)))
            .unwrap()
            .document;
        assert_eq!(got.title, None);
    }

    #[test]
    fn broken_encrypted_and_oversized_docx() {
        let err = extract_docx(b"PK\x03\x04 not really a zip").unwrap_err();
        assert!(
            err.to_string()
                .starts_with("broken DOCX: not a readable zip archive"),
            "{err}"
        );
        let mut ole = vec![0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];
        ole.extend(vec![0u8; 512]);
        ole.extend("EncryptedPackage".encode_utf16().flat_map(u16::to_le_bytes));
        let err = extract_docx(&ole).unwrap_err();
        assert_eq!(
            err.to_string(),
            "encrypted DOCX (it cannot be opened without a password)"
        );
        ole.truncate(520);
        let err = extract_docx(&ole).unwrap_err();
        assert!(err.to_string().contains("old binary .doc"), "{err}");
        let empty_zip = docx_without_body();
        let err = extract_docx(&empty_zip).unwrap_err();
        assert_eq!(
            err.to_string(),
            "broken DOCX: no word/document.xml: not a Word document"
        );
        // A part that inflates past the limit is refused (a zip bomb).
        let huge = format!(
            "{BODY_START}{}{BODY_END}",
            " ".repeat(usize::try_from(MAX_XML_BYTES).unwrap() + 10)
        );
        let err = extract_docx(&docx(&huge, None)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "DOCX content is over 64.0 MiB when decompressed"
        );
        let err = extract_docx(&docx(
            &format!("{BODY_START}<w:p><w:r><w:t>x</w:r></w:p>{BODY_END}"),
            None,
        ))
        .unwrap_err();
        assert!(
            err.to_string().starts_with("broken DOCX: invalid XML"),
            "{err}"
        );
        let err = extract_docx(&docx(&format!("{BODY_START}{BODY_END}"), None)).unwrap_err();
        assert!(matches!(err, InputError::Empty), "{err:?}");
    }

    fn docx_without_body() -> Vec<u8> {
        use std::io::Write;
        let mut out = Cursor::new(Vec::new());
        let mut zip = zip::ZipWriter::new(&mut out);
        zip.start_file("readme.txt", zip::write::SimpleFileOptions::default())
            .unwrap();
        zip.write_all(b"x").unwrap();
        zip.finish().unwrap();
        out.into_inner()
    }

    #[test]
    fn odt_headings_spaces_notes_and_meta() {
        let content = r#"<?xml version="1.0" encoding="UTF-8"?>
<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0"><office:body><office:text>
<text:h text:outline-level="1">Freibad öffnet früher</text:h>
<text:p>Das Freibad<text:s text:c="2"/>öffnet am 1. Mai.<text:note><text:note-citation>1</text:note-citation><text:note-body><text:p>Fußnote</text:p></text:note-body></text:note></text:p>
<office:annotation><text:p>Kommentar</text:p></office:annotation>
<table:table><table:table-row><table:table-cell><text:p>Erwachsene</text:p></table:table-cell><table:table-cell><text:p>4 Euro</text:p></table:table-cell></table:table-row></table:table>
</office:text></office:body></office:document-content>"#;
        let got = extract_odt(&odt(content, None, false)).unwrap().document;
        assert_eq!(got.title.as_deref(), Some("Freibad öffnet früher"));
        assert_eq!(
            got.text,
            "Das Freibad öffnet am 1. Mai.\n\nErwachsene | 4 Euro"
        );
        let err = extract_odt(&odt(content, None, true)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "encrypted ODT (it cannot be opened without a password)"
        );
    }

    #[test]
    fn heading_styles() {
        for s in [
            "Heading1",
            "heading 2",
            "berschrift1",
            "Title",
            "Titel",
            "Heading_20_1",
        ] {
            assert!(is_heading_style(s), "{s}");
        }
        for s in ["Normal", "Subtitle", "Untertitel", "ListParagraph"] {
            assert!(!is_heading_style(s), "{s}");
        }
    }
}
