//! PDF: the text layer, page by page, read with `lopdf`.
//!
//! Each page's content stream is interpreted just enough to know where
//! every piece of text stands (text and transformation matrices, font
//! size, glyph widths when the font gives them). Pieces on one baseline
//! make a line, lines are read top to bottom, and lines make paragraphs
//! where the gap between them is larger than the usual line spacing or the
//! font size changes (a heading). A word hyphenated at a line end is joined
//! (`Bundes-` / `regierung` → `Bundesregierung`; `CDU-` / `Politiker` keeps
//! its hyphen). Lines that repeat at the top or bottom of most pages
//! (running headers and footers, with page numbers folded so `Seite 1` and
//! `Seite 2` match) and bare page numbers there are dropped. The title is
//! the document's `/Title` when it has a real one, else the large-type
//! lines that open the first page.
//!
//! What is not read: text inside form XObjects and annotations, and the
//! order of multi-column layouts (lines are read across the page).
//!
//! Hostile files are bounded: the file itself by `--max-bytes`, every
//! decompressed stream and all page content together by
//! [`MAX_CONTENT_BYTES`], the page count by [`MAX_PAGES`], the work per
//! document by [`MAX_OPERATIONS`] content operations, and the time by the
//! run's [`StopToken`], checked between pages and every few thousand
//! operations.

use std::collections::{BTreeMap, HashMap, HashSet};

use lopdf::content::Content;
use lopdf::{Dictionary, Document as PdfDocument, Encoding, LoadOptions, Object, ObjectId};

use super::{document_from_text, Extracted, InputError};
use crate::stop::StopToken;

/// Most pages read from one PDF; a longer one is refused.
pub const MAX_PAGES: usize = 500;
/// Most bytes one stream may decompress to, and all page content of one
/// document together.
pub const MAX_CONTENT_BYTES: usize = 64 << 20;
/// Most content-stream operations interpreted in one document.
pub const MAX_OPERATIONS: usize = 4_000_000;
/// How often (in operations) the stop token is checked within a page.
const CHECK_EVERY: usize = 4096;
/// Deepest graphics-state stack kept (`q` without `Q` beyond it is ignored).
const MAX_STATE_DEPTH: usize = 64;

const FORMAT: &str = "PDF";

/// Extracts the text layer of a PDF.
pub(super) fn extract(bytes: &[u8], stop: &StopToken) -> Result<Extracted, InputError> {
    if !has_pdf_header(bytes) {
        return Err(broken("no %PDF header: not a PDF file"));
    }
    let pdf = load(bytes)?;
    let pages = pdf.get_pages();
    if pages.is_empty() {
        return Err(broken("it has no pages"));
    }
    if pages.len() > MAX_PAGES {
        return Err(InputError::TooManyPages {
            pages: pages.len(),
            limit: MAX_PAGES,
        });
    }
    let mut reader = PageReader::new(&pdf, stop);
    let mut page_lines = Vec::with_capacity(pages.len());
    for page_id in pages.values() {
        stop.check().map_err(InputError::Aborted)?;
        page_lines.push(reader.read_page(*page_id)?);
    }
    if page_lines
        .iter()
        .flatten()
        .all(|l| l.text.trim().is_empty())
    {
        return Err(if reader.missing_content > 0 || !has_eof_marker(bytes) {
            broken("damaged or truncated file: page content is missing")
        } else if reader.undecodable > 0 {
            broken("its fonts cannot be mapped to text (no usable encoding or ToUnicode map)")
        } else {
            InputError::NoTextLayer
        });
    }
    let info = InfoFields::read(&pdf);
    let (title, text) = lay_out(page_lines, info.title);
    let document = document_from_text(title, &text, "PDF")?;
    Ok(Extracted {
        date: info.date,
        ..Extracted::plain(document)
    })
}

fn broken(reason: impl Into<String>) -> InputError {
    InputError::Broken {
        format: FORMAT,
        reason: reason.into(),
    }
}

/// Whether `%PDF-` appears in the first KiB (some files have junk before
/// it, which readers accept).
fn has_pdf_header(bytes: &[u8]) -> bool {
    bytes[..bytes.len().min(1024)]
        .windows(5)
        .any(|w| w == b"%PDF-")
}

/// Whether `%%EOF` ends the file (within its last KiB): a truncated file
/// has lost it.
fn has_eof_marker(bytes: &[u8]) -> bool {
    bytes[bytes.len().saturating_sub(1024)..]
        .windows(5)
        .any(|w| w == b"%%EOF")
}

/// Parses the file, refusing encrypted files that need a password.
fn load(bytes: &[u8]) -> Result<PdfDocument, InputError> {
    let options = LoadOptions {
        max_decompressed_size: Some(MAX_CONTENT_BYTES),
        ..LoadOptions::default()
    };
    match PdfDocument::load_mem_with_options(bytes, options) {
        // Encrypted with an empty user password (a "permissions only" file)
        // is decrypted on load; anything else waits for a password.
        Ok(pdf) if pdf.trailer.has(b"Encrypt") && pdf.encryption_state.is_none() => {
            Err(InputError::Encrypted { format: FORMAT })
        }
        Ok(pdf) => Ok(pdf),
        Err(error) => Err(load_error(&error, bytes)),
    }
}

/// The input error for a `lopdf` error.
fn load_error(error: &lopdf::Error, bytes: &[u8]) -> InputError {
    match error {
        lopdf::Error::Decompress(lopdf::DecompressError::MemoryLimitExceeded { .. }) => {
            InputError::Expands {
                format: FORMAT,
                limit: MAX_CONTENT_BYTES as u64,
            }
        }
        lopdf::Error::InvalidPassword
        | lopdf::Error::Decryption(_)
        | lopdf::Error::UnsupportedSecurityHandler(_) => InputError::Encrypted { format: FORMAT },
        _ if declares_encryption(bytes) => InputError::Encrypted { format: FORMAT },
        other => broken(other.to_string()),
    }
}

/// Whether the file's last trailer names an `/Encrypt` dictionary (for
/// files the parser gave up on).
fn declares_encryption(bytes: &[u8]) -> bool {
    let tail = &bytes[bytes.len().saturating_sub(4096)..];
    tail.windows(8).any(|w| w == b"/Encrypt")
}

// ------------------------------------------------------------- metadata

/// What the document information dictionary says.
#[derive(Debug, Default)]
struct InfoFields {
    title: Option<String>,
    date: Option<String>,
}

impl InfoFields {
    fn read(pdf: &PdfDocument) -> InfoFields {
        let Some(info) = pdf
            .trailer
            .get_deref(b"Info", pdf)
            .ok()
            .and_then(|o| o.as_dict().ok())
        else {
            return InfoFields::default();
        };
        let text = |key: &[u8]| {
            info.get_deref(key, pdf)
                .ok()
                .and_then(|o| lopdf::decode_text_string(o).ok())
        };
        InfoFields {
            title: text(b"Title").filter(|t| is_real_title(t)),
            date: text(b"CreationDate").and_then(|d| pdf_date(&d)),
        }
    }
}

/// Whether a `/Title` is a title rather than a producer's placeholder
/// (`Microsoft Word - brief.docx`, `untitled`, a file name).
fn is_real_title(title: &str) -> bool {
    let t = title.trim().to_lowercase();
    let file_like = [".doc", ".docx", ".odt", ".pdf", ".indd", ".rtf", ".txt"]
        .iter()
        .any(|ext| t.ends_with(ext));
    !t.is_empty()
        && t.chars().any(char::is_alphabetic)
        && !file_like
        && !t.starts_with("microsoft word")
        && !matches!(
            t.as_str(),
            "untitled" | "unbenannt" | "ohne titel" | "title"
        )
}

/// A PDF date (`D:20250314093000+01'00'`) as RFC 3339; missing time parts
/// are zero, a missing zone is UTC.
fn pdf_date(raw: &str) -> Option<String> {
    let s = raw.trim().strip_prefix("D:").unwrap_or(raw.trim());
    let digits: String = s.chars().take_while(char::is_ascii_digit).collect();
    if digits.len() < 8 {
        return None;
    }
    let part = |from: usize, len: usize, default: &str| {
        digits
            .get(from..from + len)
            .map_or_else(|| default.to_string(), str::to_string)
    };
    let (month, day) = (part(4, 2, "01"), part(6, 2, "01"));
    let valid = |v: &str, lo: u32, hi: u32| v.parse::<u32>().is_ok_and(|n| (lo..=hi).contains(&n));
    if !valid(&month, 1, 12) || !valid(&day, 1, 31) {
        return None;
    }
    let rest = &s[digits.len()..];
    let zone = match rest.chars().next() {
        Some(sign @ ('+' | '-')) => {
            let z: String = rest[1..].chars().filter(char::is_ascii_digit).collect();
            match (z.get(0..2), z.get(2..4)) {
                (Some(h), m) => format!("{sign}{h}:{}", m.unwrap_or("00")),
                _ => "Z".to_string(),
            }
        }
        _ => "Z".to_string(),
    };
    Some(format!(
        "{}-{month}-{day}T{}:{}:{}{zone}",
        &digits[0..4],
        part(8, 2, "00"),
        part(10, 2, "00"),
        part(12, 2, "00"),
    ))
}

// ------------------------------------------------- content interpretation

/// One line of text on a page: its baseline height, font size (both in
/// page units) and text.
#[derive(Debug, Clone, PartialEq)]
struct Line {
    y: f32,
    size: f32,
    text: String,
}

/// A piece of text drawn by one show operation.
#[derive(Debug, Clone)]
struct Piece {
    x: f32,
    y: f32,
    end_x: f32,
    size: f32,
    text: String,
}

type Matrix = [f32; 6];
const IDENTITY: Matrix = [1.0, 0.0, 0.0, 1.0, 0.0, 0.0];

/// `a × b` for PDF's row-vector affine matrices.
fn mul(a: &Matrix, b: &Matrix) -> Matrix {
    [
        a[0] * b[0] + a[1] * b[2],
        a[0] * b[1] + a[1] * b[3],
        a[2] * b[0] + a[3] * b[2],
        a[2] * b[1] + a[3] * b[3],
        a[4] * b[0] + a[5] * b[2] + b[4],
        a[4] * b[1] + a[5] * b[3] + b[5],
    ]
}

fn translate(tx: f32, ty: f32) -> Matrix {
    [1.0, 0.0, 0.0, 1.0, tx, ty]
}

/// A font as far as text extraction needs it.
struct Font<'a> {
    encoding: Encoding<'a>,
    /// Glyph widths (thousandths of the size) for codes from `first_char`.
    widths: Vec<f32>,
    first_char: i64,
    /// Bytes per character code (2 for composite fonts).
    code_bytes: usize,
}

impl Font<'_> {
    /// Width of `bytes` in text space units of size 1.
    fn width(&self, bytes: &[u8]) -> f32 {
        let codes = bytes.chunks(self.code_bytes);
        codes
            .map(|code| {
                let value = code.iter().fold(0i64, |v, b| v << 8 | i64::from(*b));
                usize::try_from(value - self.first_char)
                    .ok()
                    .and_then(|i| self.widths.get(i))
                    .copied()
                    .filter(|w| *w > 0.0)
                    .unwrap_or(500.0)
                    / 1000.0
            })
            .sum()
    }
}

/// The text state while interpreting one page.
struct TextState {
    ctm: Matrix,
    saved: Vec<Matrix>,
    tm: Matrix,
    tlm: Matrix,
    leading: f32,
    size: f32,
    font: Option<Vec<u8>>,
}

impl TextState {
    fn new() -> TextState {
        TextState {
            ctm: IDENTITY,
            saved: Vec::new(),
            tm: IDENTITY,
            tlm: IDENTITY,
            leading: 0.0,
            size: 0.0,
            font: None,
        }
    }

    fn move_line(&mut self, tx: f32, ty: f32) {
        self.tlm = mul(&translate(tx, ty), &self.tlm);
        self.tm = self.tlm;
    }

    /// The text rendering matrix's origin and the font size in page units.
    fn origin(&self) -> (f32, f32, f32) {
        let m = mul(&self.tm, &self.ctm);
        let scale = m[2].hypot(m[3]);
        (m[4], m[5], self.size * scale)
    }
}

/// Reads pages of one document, sharing the content and work budgets.
struct PageReader<'a> {
    pdf: &'a PdfDocument,
    stop: &'a StopToken,
    content_left: usize,
    operations_left: usize,
    /// Strings that no font could decode.
    undecodable: usize,
    /// Pages whose content streams are missing or unreadable.
    missing_content: usize,
}

impl<'a> PageReader<'a> {
    fn new(pdf: &'a PdfDocument, stop: &'a StopToken) -> Self {
        PageReader {
            pdf,
            stop,
            content_left: MAX_CONTENT_BYTES,
            operations_left: MAX_OPERATIONS,
            undecodable: 0,
            missing_content: 0,
        }
    }

    fn read_page(&mut self, page_id: ObjectId) -> Result<Vec<Line>, InputError> {
        let fonts = self.fonts(page_id);
        let contents = self.pdf.get_page_contents(page_id);
        if contents.iter().any(|id| !self.pdf.objects.contains_key(id)) {
            self.missing_content += 1;
        }
        let content = match self
            .pdf
            .get_page_content_with_limit(page_id, self.content_left)
        {
            Ok(content) => content,
            Err(lopdf::Error::Decompress(lopdf::DecompressError::MemoryLimitExceeded {
                ..
            })) => {
                return Err(InputError::Expands {
                    format: FORMAT,
                    limit: MAX_CONTENT_BYTES as u64,
                })
            }
            // A page whose content cannot be read has no text for us.
            Err(_) => {
                self.missing_content += 1;
                return Ok(Vec::new());
            }
        };
        self.content_left = self.content_left.saturating_sub(content.len());
        let pieces = self.interpret(&content, &fonts)?;
        Ok(lines_of(pieces))
    }

    /// The page's fonts by resource name.
    fn fonts(&self, page_id: ObjectId) -> HashMap<Vec<u8>, Font<'a>> {
        let Ok(dicts) = self.pdf.get_page_fonts(page_id) else {
            return HashMap::new();
        };
        dicts
            .into_iter()
            .filter_map(|(name, dict)| Some((name, self.font(dict)?)))
            .collect()
    }

    fn font(&self, dict: &'a Dictionary) -> Option<Font<'a>> {
        let encoding = dict
            .get_font_encoding_with_limit(self.pdf, MAX_CONTENT_BYTES)
            .ok()?;
        let composite = dict
            .get(b"Subtype")
            .and_then(Object::as_name)
            .is_ok_and(|s| s == b"Type0");
        let widths = dict
            .get_deref(b"Widths", self.pdf)
            .and_then(Object::as_array)
            .map(|a| a.iter().map(|w| w.as_float().unwrap_or(0.0)).collect())
            .unwrap_or_default();
        let first_char = dict.get(b"FirstChar").and_then(Object::as_i64).unwrap_or(0);
        Some(Font {
            encoding,
            widths,
            first_char,
            code_bytes: if composite { 2 } else { 1 },
        })
    }

    /// Runs the content operations and collects the text pieces drawn.
    fn interpret(
        &mut self,
        content: &[u8],
        fonts: &HashMap<Vec<u8>, Font<'_>>,
    ) -> Result<Vec<Piece>, InputError> {
        let mut state = TextState::new();
        let mut pieces = Vec::new();
        for (n, operation) in Content::decode_iter(content).enumerate() {
            // A content stream that stops parsing keeps what came before.
            let Ok(operation) = operation else { break };
            if self.operations_left == 0 {
                return Err(InputError::Broken {
                    format: FORMAT,
                    reason: format!("more than {MAX_OPERATIONS} drawing operations"),
                });
            }
            self.operations_left -= 1;
            if n % CHECK_EVERY == CHECK_EVERY - 1 {
                self.stop.check().map_err(InputError::Aborted)?;
            }
            let nums: Vec<f32> = operation
                .operands
                .iter()
                .map(|o| o.as_float().unwrap_or(0.0))
                .collect();
            let num = |i: usize| nums.get(i).copied().unwrap_or(0.0);
            match operation.operator.as_str() {
                "q" if state.saved.len() < MAX_STATE_DEPTH => state.saved.push(state.ctm),
                "Q" => state.ctm = state.saved.pop().unwrap_or(state.ctm),
                "cm" if nums.len() == 6 => {
                    state.ctm = mul(
                        &[num(0), num(1), num(2), num(3), num(4), num(5)],
                        &state.ctm,
                    );
                }
                "BT" => {
                    state.tm = IDENTITY;
                    state.tlm = IDENTITY;
                }
                "Tf" => {
                    state.font = operation
                        .operands
                        .first()
                        .and_then(|o| o.as_name().ok())
                        .map(<[u8]>::to_vec);
                    state.size = num(1);
                }
                "TL" => state.leading = num(0),
                "Td" => state.move_line(num(0), num(1)),
                "TD" => {
                    state.leading = -num(1);
                    state.move_line(num(0), num(1));
                }
                "Tm" if nums.len() == 6 => {
                    state.tlm = [num(0), num(1), num(2), num(3), num(4), num(5)];
                    state.tm = state.tlm;
                }
                "T*" => state.move_line(0.0, -state.leading),
                "Tj" | "TJ" => self.show(&mut state, fonts, &operation.operands, &mut pieces),
                "'" => {
                    state.move_line(0.0, -state.leading);
                    self.show(&mut state, fonts, &operation.operands, &mut pieces);
                }
                "\"" => {
                    state.move_line(0.0, -state.leading);
                    let text = operation.operands.get(2).cloned().into_iter();
                    self.show(&mut state, fonts, &text.collect::<Vec<_>>(), &mut pieces);
                }
                _ => {}
            }
        }
        Ok(pieces)
    }

    /// A `Tj`/`TJ`: decodes the strings with the current font, records the
    /// piece and advances the text matrix by its width.
    fn show(
        &mut self,
        state: &mut TextState,
        fonts: &HashMap<Vec<u8>, Font<'_>>,
        operands: &[Object],
        pieces: &mut Vec<Piece>,
    ) {
        let Some(font) = state.font.as_ref().and_then(|f| fonts.get(f)) else {
            self.undecodable += 1;
            return;
        };
        let (x, y, size) = state.origin();
        let mut text = String::new();
        let mut advance = 0.0f32;
        let items = match operands {
            [Object::Array(items)] => items.as_slice(),
            other => other,
        };
        for item in items {
            match item {
                Object::String(bytes, _) => {
                    match PdfDocument::decode_text(&font.encoding, bytes) {
                        Ok(s) => text.push_str(&s),
                        Err(_) => self.undecodable += 1,
                    }
                    advance += font.width(bytes) * state.size;
                }
                number => {
                    let adjust = number.as_float().unwrap_or(0.0);
                    // A large negative adjustment is a word gap.
                    if adjust < -200.0 && !text.ends_with(' ') {
                        text.push(' ');
                    }
                    advance -= adjust / 1000.0 * state.size;
                }
            }
        }
        let before = state.origin().0;
        state.tm = mul(&translate(advance, 0.0), &state.tm);
        let end_x = state.origin().0.max(before);
        if !text.is_empty() {
            pieces.push(Piece {
                x,
                y,
                end_x,
                size,
                text,
            });
        }
    }
}

/// Groups pieces into lines (same baseline, within a third of the font
/// size), ordered top to bottom; pieces on a line are joined with a space
/// where there is a gap between them.
fn lines_of(pieces: Vec<Piece>) -> Vec<Line> {
    let mut lines: Vec<(Line, f32)> = Vec::new();
    for piece in pieces {
        let tolerance = (piece.size.abs() / 3.0).max(0.5);
        match lines.last_mut() {
            Some((line, end_x)) if (line.y - piece.y).abs() <= tolerance => {
                let gap = piece.x - *end_x;
                let touching = gap.abs() < piece.size.abs() * 0.15;
                let spaced = line.text.ends_with(char::is_whitespace)
                    || piece.text.starts_with(char::is_whitespace);
                if !(touching || spaced) {
                    line.text.push(' ');
                }
                line.text.push_str(&piece.text);
                line.size = line.size.max(piece.size.abs());
                *end_x = piece.end_x;
            }
            _ => lines.push((
                Line {
                    y: piece.y,
                    size: piece.size.abs(),
                    text: piece.text,
                },
                piece.end_x,
            )),
        }
    }
    let mut lines: Vec<Line> = lines
        .into_iter()
        .map(|(mut line, _)| {
            line.text = line
                .text
                .replace('\u{a0}', " ")
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ");
            line
        })
        .filter(|line| !line.text.is_empty())
        .collect();
    lines.sort_by(|a, b| b.y.total_cmp(&a.y));
    lines
}

// ------------------------------------------------------------- layout

/// Lines at the top and at the bottom of a page that may be running
/// headers or footers.
const EDGE_LINES: usize = 2;

/// Drops running headers/footers and page numbers, joins lines into
/// paragraphs, and picks the title. Returns the title and the text.
fn lay_out(mut pages: Vec<Vec<Line>>, info_title: Option<String>) -> (Option<String>, String) {
    drop_running_lines(&mut pages);
    let body_size = body_font_size(&pages);
    let heading = opening_heading(&pages, body_size);
    let heading_text = heading.map(|n| join_heading(&pages[0][..n]));
    let (title, skip) = match (info_title, heading_text) {
        (Some(info), Some(head)) if fold(&info) == fold(&head) => (Some(info), heading),
        (Some(info), _) => (Some(info), None),
        (None, Some(head)) => (Some(head), heading),
        (None, None) => (None, None),
    };
    if let (Some(n), Some(first)) = (skip, pages.first_mut()) {
        first.drain(..n);
    }
    (title, paragraphs(&pages, body_size))
}

/// The line text with digits folded and case and spacing ignored, so
/// `Seite 1 von 2` and `Seite 2 von 2` compare equal.
fn running_key(text: &str) -> String {
    let folded: String = text
        .to_lowercase()
        .chars()
        .map(|c| if c.is_ascii_digit() { '#' } else { c })
        .collect();
    let mut key = folded.split_whitespace().collect::<Vec<_>>().join(" ");
    while key.contains("##") {
        key = key.replace("##", "#");
    }
    key
}

/// Whether a line is only a page number (`3`, `- 3 -`, `Seite 3`,
/// `Seite 3 von 7`, `3/7`, `Page 3 of 7`).
fn is_page_number(text: &str) -> bool {
    let key = running_key(text);
    let key = key.trim_matches(|c: char| c == '-' || c == '–' || c == ' ' || c == '|');
    let key = key
        .strip_prefix("seite")
        .or_else(|| key.strip_prefix("page"))
        .or_else(|| key.strip_prefix("s."))
        .unwrap_or(key)
        .trim();
    matches!(
        key,
        "#" | "# von #" | "# of #" | "#/#" | "# / #" | "#von#" | "# /#" | "#/ #"
    )
}

/// Indexes of the lines that may be running headers or footers on a page.
fn edge_indexes(len: usize) -> impl Iterator<Item = usize> {
    let top = 0..len.min(EDGE_LINES);
    let bottom = len.saturating_sub(EDGE_LINES).max(len.min(EDGE_LINES))..len;
    top.chain(bottom)
}

/// Removes lines at the page edges that repeat (digits folded) on most
/// pages, and bare page numbers there.
fn drop_running_lines(pages: &mut [Vec<Line>]) {
    let mut seen_on: HashMap<String, usize> = HashMap::new();
    for page in pages.iter() {
        let keys: HashSet<String> = edge_indexes(page.len())
            .map(|i| running_key(&page[i].text))
            .collect();
        for key in keys {
            *seen_on.entry(key).or_default() += 1;
        }
    }
    let most = (pages.len() / 2 + 1).max(2);
    let repeated: HashSet<&String> = seen_on
        .iter()
        .filter(|(_, n)| **n >= most)
        .map(|(k, _)| k)
        .collect();
    for page in pages.iter_mut() {
        let drop: HashSet<usize> = edge_indexes(page.len())
            .filter(|&i| {
                let text = &page[i].text;
                repeated.contains(&running_key(text)) || is_page_number(text)
            })
            .collect();
        let mut i = 0;
        page.retain(|_| {
            i += 1;
            !drop.contains(&(i - 1))
        });
    }
}

/// The font size most of the text is set in (by characters).
// Sizes are small numbers kept in tenths of a point.
#[allow(clippy::cast_possible_truncation, clippy::cast_precision_loss)]
fn body_font_size(pages: &[Vec<Line>]) -> f32 {
    let mut by_size: BTreeMap<i64, usize> = BTreeMap::new();
    for line in pages.iter().flatten() {
        // Tenths of a point, so sizes compare exactly.
        let key = (line.size * 10.0).round() as i64;
        *by_size.entry(key).or_default() += line.text.chars().count();
    }
    by_size
        .into_iter()
        .max_by_key(|(_, chars)| *chars)
        .map_or(0.0, |(size, _)| size as f32 / 10.0)
}

/// How many lines open the first page in type clearly larger than the
/// body's (a heading), if any, when body text follows.
fn opening_heading(pages: &[Vec<Line>], body_size: f32) -> Option<usize> {
    let first = pages.first()?;
    let n = first
        .iter()
        .take_while(|l| l.size >= body_size * 1.15)
        .take(4)
        .count();
    (n > 0 && pages.iter().flatten().count() > n).then_some(n)
}

fn join_heading(lines: &[Line]) -> String {
    let mut text = String::new();
    for line in lines {
        join_line(&mut text, &line.text);
    }
    text
}

fn fold(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// Joins the lines of all pages into paragraphs separated by blank lines.
fn paragraphs(pages: &[Vec<Line>], body_size: f32) -> String {
    let spacing = usual_spacing(pages);
    let mut out = String::new();
    let mut previous: Option<&Line> = None;
    for (page_no, page) in pages.iter().enumerate() {
        for (i, line) in page.iter().enumerate() {
            let new_page = i == 0 && page_no > 0;
            let breaks = match previous {
                None => false,
                Some(prev) => {
                    let size_changed = (prev.size - line.size).abs() > body_size * 0.1;
                    let gap = prev.y - line.y;
                    size_changed
                        || if new_page {
                            !continues(&prev.text)
                        } else {
                            gap > spacing * 1.4 || gap < 0.0
                        }
                }
            };
            if breaks {
                out.push_str("\n\n");
            }
            if out.is_empty() || out.ends_with('\n') {
                out.push_str(&line.text);
            } else {
                join_line(&mut out, &line.text);
            }
            previous = Some(line);
        }
    }
    out
}

/// The usual distance between consecutive lines set in the same size.
fn usual_spacing(pages: &[Vec<Line>]) -> f32 {
    let mut gaps: Vec<f32> = pages
        .iter()
        .flat_map(|p| p.windows(2))
        .filter(|w| (w[0].size - w[1].size).abs() < 0.5)
        .map(|w| w[0].y - w[1].y)
        .filter(|g| *g > 0.0)
        .collect();
    if gaps.is_empty() {
        return f32::MAX;
    }
    gaps.sort_by(f32::total_cmp);
    // The lower median: lines within paragraphs outnumber the gaps between.
    gaps[(gaps.len() - 1) / 2]
}

/// Whether the first line of a page continues the last paragraph of the
/// page before: that paragraph's last line ends without a sentence end.
/// (Whether the next line starts in lowercase says nothing in German.)
fn continues(prev: &str) -> bool {
    !prev.ends_with(['.', '!', '?', ':', '"', '“', '”', '«', '»'])
}

/// Words after a line-end hyphen that show it was a suspended compound
/// (`Lebensmittel- und Getränkeindustrie`), not a word split.
const CONJUNCTIONS: [&str; 9] = [
    "und", "oder", "bzw.", "sowie", "bis", "als", "wie", "noch", "statt",
];

/// Appends a line to the text: a word hyphenated at the line end is
/// joined (the hyphen dropped when the next line goes on in lowercase, kept
/// before a capital as in `CDU-Politiker`); otherwise a space separates.
fn join_line(out: &mut String, line: &str) {
    if out.is_empty() {
        out.push_str(line);
        return;
    }
    if let Some(stem) = out.strip_suffix('\u{ad}') {
        let len = stem.len();
        out.truncate(len);
        out.push_str(line);
        return;
    }
    let hyphenated = out.ends_with('-')
        && out[..out.len() - 1]
            .chars()
            .next_back()
            .is_some_and(char::is_alphabetic);
    let next_word = line.split_whitespace().next().unwrap_or("");
    if hyphenated && !CONJUNCTIONS.contains(&next_word) {
        if next_word.starts_with(char::is_lowercase) {
            out.pop();
        }
        out.push_str(line);
    } else {
        out.push(' ');
        out.push_str(line);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::tests_support::pdf::{simple_pdf, PdfPage};

    fn text_of(pdf: &[u8]) -> Result<Extracted, InputError> {
        extract(pdf, &StopToken::never())
    }

    fn page(lines: &[(f32, f32, &str)]) -> PdfPage {
        PdfPage {
            lines: lines
                .iter()
                .map(|(y, size, text)| (*y, *size, (*text).to_string()))
                .collect(),
        }
    }

    #[test]
    fn two_pages_with_running_header_and_hyphenation() {
        let pages = [
            page(&[
                (800.0, 9.0, "Pressestelle Landkreis Musterstadt"),
                (760.0, 18.0, "Neue Brücke über die Mulde"),
                (
                    730.0,
                    11.0,
                    "Der Kreistag hat am Dienstag den Bau einer neuen",
                ),
                (
                    716.0,
                    11.0,
                    "Brücke beschlossen. Die Kosten trägt die Bundes-",
                ),
                (702.0, 11.0, "regierung zu zwei Dritteln."),
                (60.0, 9.0, "Seite 1 von 2"),
            ]),
            page(&[
                (800.0, 9.0, "Pressestelle Landkreis Musterstadt"),
                (
                    730.0,
                    11.0,
                    "Der Bau soll im Frühjahr beginnen, sagte der CDU-",
                ),
                (716.0, 11.0, "Politiker Klaus Meier."),
                (60.0, 9.0, "Seite 2 von 2"),
            ]),
        ];
        let got = text_of(&simple_pdf(&pages, None)).unwrap();
        let doc = got.document;
        assert_eq!(doc.title.as_deref(), Some("Neue Brücke über die Mulde"));
        assert_eq!(
            doc.text,
            "Der Kreistag hat am Dienstag den Bau einer neuen Brücke beschlossen. Die Kosten \
             trägt die Bundesregierung zu zwei Dritteln.\n\nDer Bau soll im Frühjahr beginnen, \
             sagte der CDU-Politiker Klaus Meier."
        );
        assert_eq!(doc.encoding, "PDF");
    }

    #[test]
    fn info_title_wins_and_its_heading_is_not_repeated() {
        let pages = [page(&[
            (760.0, 18.0, "Haushalt 2025"),
            (
                730.0,
                11.0,
                "Der Stadtrat hat den Haushalt für das kommende Jahr beschlossen.",
            ),
        ])];
        let got = text_of(&simple_pdf(&pages, Some("Haushalt 2025"))).unwrap();
        assert_eq!(got.document.title.as_deref(), Some("Haushalt 2025"));
        assert!(
            got.document.text.starts_with("Der Stadtrat"),
            "{}",
            got.document.text
        );
    }

    #[test]
    fn paragraph_gap_and_suspended_compound() {
        let pages = [page(&[
            (730.0, 11.0, "Die Lebensmittel-"),
            (716.0, 11.0, "und Getränkeindustrie wächst."),
            (690.0, 11.0, "Ein zweiter Absatz folgt hier."),
        ])];
        let got = text_of(&simple_pdf(&pages, None)).unwrap();
        assert_eq!(
            got.document.text,
            "Die Lebensmittel- und Getränkeindustrie wächst.\n\nEin zweiter Absatz folgt hier."
        );
    }

    #[test]
    fn scanned_pdf_has_no_text_layer() {
        let pages = [page(&[]), page(&[])];
        let err = text_of(&simple_pdf(&pages, None)).unwrap_err();
        assert!(matches!(err, InputError::NoTextLayer), "{err:?}");
        assert_eq!(err.to_string(), "no text layer (scanned PDF?)");
    }

    #[test]
    fn broken_pdfs_say_why() {
        let err = text_of(b"hello, not a pdf").unwrap_err();
        assert_eq!(
            err.to_string(),
            "broken PDF: no %PDF header: not a PDF file"
        );
        let good = simple_pdf(&[page(&[(700.0, 11.0, "Text")])], None);
        let err = text_of(&good[..good.len() / 3]).unwrap_err();
        assert!(err.to_string().starts_with("broken PDF: "), "{err}");
        let mut garbage = b"%PDF-1.4\n".to_vec();
        garbage.extend(std::iter::repeat_n(b'x', 5000));
        let err = text_of(&garbage).unwrap_err();
        assert!(err.to_string().starts_with("broken PDF: "), "{err}");
    }

    #[test]
    fn encrypted_pdf_is_refused() {
        let pdf = crate::input::tests_support::pdf::encrypted_pdf();
        let err = text_of(&pdf).unwrap_err();
        assert!(
            matches!(err, InputError::Encrypted { format: "PDF" }),
            "{err:?}"
        );
        assert_eq!(
            err.to_string(),
            "encrypted PDF (it cannot be opened without a password)"
        );
    }

    #[test]
    fn a_deflate_bomb_is_bounded() {
        let pdf = crate::input::tests_support::pdf::bomb_pdf(MAX_CONTENT_BYTES + 1024);
        let started = std::time::Instant::now();
        let err = text_of(&pdf).unwrap_err();
        assert!(
            matches!(err, InputError::Expands { format: "PDF", .. }),
            "{err:?}"
        );
        assert_eq!(
            err.to_string(),
            "PDF content is over 64.0 MiB when decompressed"
        );
        assert!(started.elapsed() < std::time::Duration::from_secs(30));
    }

    #[test]
    fn too_many_pages_are_refused() {
        let pages: Vec<PdfPage> = (0..=MAX_PAGES)
            .map(|_| page(&[(700.0, 11.0, "x")]))
            .collect();
        let err = text_of(&simple_pdf(&pages, None)).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "PDF has {} pages, more than the {MAX_PAGES} kurz reads",
                MAX_PAGES + 1
            )
        );
    }

    #[test]
    fn an_expired_stop_token_stops_between_pages() {
        use crate::stop::{Abort, Interrupt};
        let interrupt = Interrupt::new();
        interrupt.raise(2);
        let pdf = simple_pdf(&[page(&[(700.0, 11.0, "Text")])], None);
        let err = extract(&pdf, &StopToken::new(&interrupt, None)).unwrap_err();
        assert!(
            matches!(err, InputError::Aborted(Abort::Interrupted)),
            "{err:?}"
        );
    }

    /// Truncated and corrupted copies of the sample PDF: each gives text
    /// or an error, quickly, and never panics.
    #[test]
    fn mangled_pdfs_fail_cleanly_and_quickly() {
        let sample: &[u8] =
            include_bytes!("../../samples/formate/pressemitteilung-radschnellweg.pdf");
        let started = std::time::Instant::now();
        let mut state: u64 = 0x2545_F491_4F6C_DD1D;
        let mut next = |n: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            usize::try_from(state % n as u64).unwrap()
        };
        for round in 0..400 {
            let mut bytes = sample.to_vec();
            match round % 4 {
                0 => bytes.truncate(next(sample.len())),
                1 => {
                    for _ in 0..1 + next(20) {
                        let at = next(bytes.len());
                        bytes[at] = u8::try_from(next(256)).unwrap();
                    }
                }
                2 => {
                    let from = next(bytes.len());
                    let to = from + next(bytes.len() - from);
                    let chunk = bytes[from..to].to_vec();
                    let at = next(bytes.len());
                    bytes.splice(at..at, chunk);
                }
                _ => {
                    let at = next(bytes.len());
                    bytes.drain(at..(at + next(64)).min(bytes.len()));
                }
            }
            let got = std::panic::catch_unwind(|| text_of(&bytes));
            assert!(got.is_ok(), "round {round} panicked");
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(60),
            "{:?}",
            started.elapsed()
        );
    }

    #[test]
    fn the_sample_reads_as_written() {
        let sample: &[u8] =
            include_bytes!("../../samples/formate/pressemitteilung-radschnellweg.pdf");
        let got = text_of(sample).unwrap();
        assert_eq!(
            got.document.title.as_deref(),
            Some("Radschnellweg zwischen Neustadt und Bergheim: Bau beginnt im Mai")
        );
        let text = &got.document.text;
        assert!(
            !text.contains("Pressestelle"),
            "running header kept: {text}"
        );
        assert!(!text.contains("Seite 1"), "page number kept: {text}");
        assert!(text.contains("Kreuzungen mit Landstraßen"), "{text}");
        assert!(
            text.contains("zwischen Kleinfeld und Bergheim bis zum Herbst gesperrt"),
            "the paragraph across the page break is one: {text}"
        );
        assert_eq!(text.split("\n\n").count(), 5, "{text}");
        assert_eq!(got.date.as_deref(), Some("2025-03-14T09:30:00+01:00"));
    }

    #[test]
    fn page_numbers_and_running_keys() {
        for n in [
            "3",
            "- 3 -",
            "Seite 3",
            "Seite 3 von 7",
            "3/7",
            "Page 3 of 7",
            "– 12 –",
        ] {
            assert!(is_page_number(n), "{n}");
        }
        for n in ["3 Tote bei Unfall", "Seite an Seite", "Stand: 3. März"] {
            assert!(!is_page_number(n), "{n}");
        }
        assert_eq!(
            running_key("Seite 1 von 12"),
            running_key("Seite 10 von 12")
        );
    }

    #[test]
    fn line_joins() {
        let join = |a: &str, b: &str| {
            let mut s = a.to_string();
            join_line(&mut s, b);
            s
        };
        assert_eq!(
            join("die Bundes-", "regierung sagt"),
            "die Bundesregierung sagt"
        );
        assert_eq!(join("der CDU-", "Politiker"), "der CDU-Politiker");
        assert_eq!(
            join("Lebensmittel-", "und Getränke"),
            "Lebensmittel- und Getränke"
        );
        assert_eq!(join("Preis von 3 -", "4 Euro"), "Preis von 3 - 4 Euro");
        assert_eq!(join("Ab\u{ad}", "satz"), "Absatz");
        assert_eq!(join("Ende.", "Neu"), "Ende. Neu");
    }

    #[test]
    fn pdf_dates() {
        assert_eq!(
            pdf_date("D:20250314093000+01'00'").as_deref(),
            Some("2025-03-14T09:30:00+01:00")
        );
        assert_eq!(
            pdf_date("D:20250314").as_deref(),
            Some("2025-03-14T00:00:00Z")
        );
        assert_eq!(pdf_date("D:2025"), None);
        assert_eq!(pdf_date("D:20251399"), None);
        assert_eq!(pdf_date("garbage"), None);
    }

    #[test]
    fn placeholder_titles_are_not_titles() {
        assert!(is_real_title("Neue Brücke über die Mulde"));
        for t in [
            "Microsoft Word - brief.docx",
            "untitled",
            "scan_0001.pdf",
            "  ",
            "123",
        ] {
            assert!(!is_real_title(t), "{t}");
        }
    }
}
