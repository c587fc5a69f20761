//! Builders of small PDF, DOCX and ODT files for the unit tests: written
//! object by object (PDF) or as zip archives of XML, like the sample
//! generator `scripts/make-samples.py` does.

pub mod pdf {
    use std::io::Write;

    /// One page: lines of text as (baseline y, font size, text).
    pub struct PdfPage {
        pub lines: Vec<(f32, f32, String)>,
    }

    /// A character in WinAnsiEncoding (Latin-1 plus a few), `?` if none.
    fn win_ansi(c: char) -> u8 {
        match c {
            '–' => 0x96,
            '—' => 0x97,
            '„' => 0x84,
            '“' => 0x93,
            '”' => 0x94,
            '€' => 0x80,
            c if (c as u32) < 256 => c as u8,
            _ => b'?',
        }
    }

    fn pdf_string(text: &str) -> Vec<u8> {
        let mut out = vec![b'('];
        for c in text.chars() {
            let b = win_ansi(c);
            if matches!(b, b'(' | b')' | b'\\') {
                out.push(b'\\');
            }
            out.push(b);
        }
        out.push(b')');
        out
    }

    /// Writes objects (numbered from 1) and a trailer with an xref table.
    pub fn assemble(objects: &[Vec<u8>], trailer_extra: &str) -> Vec<u8> {
        let mut out = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n".to_vec();
        let mut offsets = Vec::new();
        for (i, body) in objects.iter().enumerate() {
            offsets.push(out.len());
            writeln!(out, "{} 0 obj", i + 1).unwrap();
            out.extend_from_slice(body);
            out.extend_from_slice(b"\nendobj\n");
        }
        let xref = out.len();
        write!(out, "xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).unwrap();
        for o in offsets {
            writeln!(out, "{o:010} 00000 n ").unwrap();
        }
        write!(
            out,
            "trailer\n<< /Size {} /Root 1 0 R {trailer_extra} >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .unwrap();
        out
    }

    fn stream(dict_extra: &str, data: &[u8]) -> Vec<u8> {
        let mut body = format!("<< /Length {} {dict_extra} >>\nstream\n", data.len()).into_bytes();
        body.extend_from_slice(data);
        body.extend_from_slice(b"\nendstream");
        body
    }

    /// A PDF with Helvetica text; `title` goes into the Info dictionary
    /// (as UTF-16BE). Objects: 1 catalog, 2 pages, 3 font, 4 info, then a
    /// page and its content per page.
    pub fn simple_pdf(pages: &[PdfPage], title: Option<&str>) -> Vec<u8> {
        let first_page = 5;
        let kids: Vec<String> = (0..pages.len())
            .map(|i| format!("{} 0 R", first_page + 2 * i))
            .collect();
        let mut objects = vec![
            b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
            format!(
                "<< /Type /Pages /Kids [{}] /Count {} >>",
                kids.join(" "),
                pages.len()
            )
            .into_bytes(),
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"
                .to_vec(),
        ];
        let info = match title {
            Some(t) => {
                let hex: String = std::iter::once(0xFEFFu16)
                    .chain(t.encode_utf16())
                    .map(|u| format!("{u:04X}"))
                    .collect();
                format!("<< /Title <{hex}> /CreationDate (D:20250314093000+01'00') >>")
            }
            None => "<< /Producer (kurz tests) >>".to_string(),
        };
        objects.push(info.into_bytes());
        for (i, page) in pages.iter().enumerate() {
            let content_id = first_page + 2 * i + 1;
            objects.push(
                format!(
                    "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 3 0 R >> >> /Contents {content_id} 0 R >>"
                )
                .into_bytes(),
            );
            let mut content = Vec::new();
            if page.lines.is_empty() {
                // A scanned page: an image, no text.
                content.extend_from_slice(b"q 595 0 0 842 0 0 cm /Im1 Do Q");
            }
            for (y, size, text) in &page.lines {
                write!(content, "BT /F1 {size} Tf 72 {y} Td ").unwrap();
                content.extend(pdf_string(text));
                content.extend_from_slice(b" Tj ET\n");
            }
            objects.push(stream("", &content));
        }
        assemble(&objects, "/Info 4 0 R")
    }

    /// A one-page PDF encrypted with the standard handler and a user
    /// password that is not empty (its check value matches no password
    /// kurz could try).
    pub fn encrypted_pdf() -> Vec<u8> {
        let objects = vec![
            b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
            b"<< /Type /Pages /Kids [4 0 R] /Count 1 >>".to_vec(),
            format!(
                "<< /Filter /Standard /V 1 /R 2 /O <{}> /U <{}> /P -4 >>",
                "A1".repeat(32),
                "5B".repeat(32)
            )
            .into_bytes(),
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 5 0 R >>".to_vec(),
            stream("", b"\x8a\x17\x99\x02garbled ciphertext"),
        ];
        assemble(
            &objects,
            "/Encrypt 3 0 R /ID [<0123456789ABCDEF0123456789ABCDEF> <0123456789ABCDEF0123456789ABCDEF>]",
        )
    }

    /// A one-page PDF whose content stream inflates to `inflated` bytes.
    pub fn bomb_pdf(inflated: usize) -> Vec<u8> {
        let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
        let block = vec![b' '; 1 << 20];
        let mut left = inflated;
        while left > 0 {
            let n = left.min(block.len());
            encoder.write_all(&block[..n]).unwrap();
            left -= n;
        }
        let compressed = encoder.finish().unwrap();
        let objects = vec![
            b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_vec(),
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>".to_vec(),
            stream("/Filter /FlateDecode", &compressed),
        ];
        assemble(&objects, "")
    }
}

pub mod office {
    use std::io::{Cursor, Write};
    use zip::write::SimpleFileOptions;

    fn archive(parts: &[(&str, &str)]) -> Vec<u8> {
        let mut out = Cursor::new(Vec::new());
        let mut zip = zip::ZipWriter::new(&mut out);
        let options =
            SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
        for (name, text) in parts {
            zip.start_file(*name, options).unwrap();
            zip.write_all(text.as_bytes()).unwrap();
        }
        zip.finish().unwrap();
        out.into_inner()
    }

    /// A DOCX with `document` as `word/document.xml` and, if given, `core`
    /// as `docProps/core.xml`.
    pub fn docx(document: &str, core: Option<&str>) -> Vec<u8> {
        let mut parts = vec![
            ("[Content_Types].xml", "<Types/>"),
            ("word/document.xml", document),
        ];
        if let Some(core) = core {
            parts.push(("docProps/core.xml", core));
        }
        archive(&parts)
    }

    /// An ODT with `content` as `content.xml`, optional `meta.xml`, and a
    /// manifest that declares encryption when `encrypted`.
    pub fn odt(content: &str, meta: Option<&str>, encrypted: bool) -> Vec<u8> {
        let manifest = if encrypted {
            r#"<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0"><manifest:file-entry manifest:full-path="content.xml"><manifest:encryption-data manifest:checksum-type="SHA1"/></manifest:file-entry></manifest:manifest>"#
        } else {
            r#"<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0"/>"#
        };
        let mut parts = vec![
            ("mimetype", "application/vnd.oasis.opendocument.text"),
            ("META-INF/manifest.xml", manifest),
            ("content.xml", content),
        ];
        if let Some(meta) = meta {
            parts.push(("meta.xml", meta));
        }
        archive(&parts)
    }
}
