#!/usr/bin/env python3
"""Writes the seeds of the binary-format fuzz targets (extract_pdf,
extract_office, extract_email, extract_feed): the files of
samples/formate/ and hand-made edge cases (hand-*). Run from fuzz/."""
import io
import zipfile

S = 'seeds/'
F = '../samples/formate/'


def copy(src, dst, prefix=b''):
    with open(F + src, 'rb') as f:
        data = f.read()
    with open(S + dst, 'wb') as f:
        f.write(prefix + data)


def write(dst, data):
    with open(S + dst, 'wb') as f:
        f.write(data.encode() if isinstance(data, str) else data)


def pdf(objs, root=1):
    out = b'%PDF-1.4\n'
    offs = []
    for i, o in enumerate(objs, 1):
        offs.append(len(out))
        out += b'%d 0 obj\n' % i + o + b'\nendobj\n'
    x = len(out)
    out += b'xref\n0 %d\n0000000000 65535 f \n' % (len(objs) + 1)
    for o in offs:
        out += b'%010d 00000 n \n' % o
    out += b'trailer\n<< /Size %d /Root %d 0 R >>\nstartxref\n%d\n%%%%EOF\n' % (
        len(objs) + 1, root, x)
    return out


def zipped(files, method=zipfile.ZIP_DEFLATED):
    b = io.BytesIO()
    with zipfile.ZipFile(b, 'w', method) as zf:
        for n, d in files:
            zf.writestr(n, d)
    return b.getvalue()


# PDF: the sample, a minimal one-page PDF, one whose Pages node is its own
# kid, the sample cut in half.
copy('pressemitteilung-radschnellweg.pdf', 'extract_pdf/pressemitteilung-radschnellweg.pdf')
content = b'BT /F1 12 Tf 72 720 Td (Der Stadtrat hat heute den Haushalt beschlossen.) Tj ET'
objs = [b'<< /Type /Catalog /Pages 2 0 R >>',
        b'<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
        b'<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R '
        b'/Resources << /Font << /F1 5 0 R >> >> >>',
        b'<< /Length %d >>\nstream\n' % len(content) + content + b'\nendstream',
        b'<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>']
write('extract_pdf/hand-minimal.pdf', pdf(objs))
cycle = list(objs)
cycle[1] = b'<< /Type /Pages /Kids [2 0 R 3 0 R] /Count 2 >>'
write('extract_pdf/hand-pages-cycle.pdf', pdf(cycle))
with open(F + 'pressemitteilung-radschnellweg.pdf', 'rb') as f:
    sample = f.read()
write('extract_pdf/hand-truncated.pdf', sample[:len(sample) // 2])

# Office: the first byte chooses the format (0: DOCX, 1: ODT).
copy('gemeinderat-kita.docx', 'extract_office/docx-gemeinderat-kita', b'\0')
ODT_NS = ('xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
          'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
          'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0"')
odt_content = f'''<?xml version="1.0" encoding="UTF-8"?>
<office:document-content {ODT_NS}><office:body><office:text>
<text:h text:outline-level="1">Neue Buslinie</text:h><text:p>Ab Mai fährt der Bus<text:s text:c="3"/>alle<text:tab/>zehn Minuten.<text:note><text:p>Fußnote</text:p></text:note></text:p>
<table:table><table:table-row><table:table-cell><text:p>Linie</text:p></table:table-cell><table:table-cell><text:p>7</text:p></table:table-cell></table:table-row></table:table>
</office:text></office:body></office:document-content>'''
meta = '''<?xml version="1.0" encoding="UTF-8"?><office:document-meta xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:meta="urn:oasis:names:tc:opendocument:xmlns:meta:1.0"><office:meta><dc:title>Buslinie</dc:title><meta:creation-date>2025-04-01T10:00:00</meta:creation-date></office:meta></office:document-meta>'''
MIME = ('mimetype', 'application/vnd.oasis.opendocument.text')
write('extract_office/odt-hand-buslinie',
      b'\1' + zipped([MIME, ('content.xml', odt_content), ('meta.xml', meta)]))
write('extract_office/odt-hand-stored',
      b'\1' + zipped([MIME, ('content.xml', odt_content)], zipfile.ZIP_STORED))
manifest = '''<?xml version="1.0" encoding="UTF-8"?><manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0"><manifest:file-entry manifest:full-path="content.xml"><manifest:encryption-data/></manifest:file-entry></manifest:manifest>'''
write('extract_office/odt-hand-encrypted',
      b'\1' + zipped([MIME, ('content.xml', 'x'), ('META-INF/manifest.xml', manifest)]))
docx_doc = '''<?xml version="1.0"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body><w:p><w:pPr><w:pStyle w:val="Title"/></w:pPr><w:r><w:t>Kita</w:t></w:r></w:p><w:p><w:r><w:t xml:space="preserve">Der Rat </w:t></w:r><w:r><w:tab/><w:t>tagt.</w:t><w:br/></w:r><w:del><w:r><w:delText>alt</w:delText></w:r></w:del></w:p></w:body></w:document>'''
write('extract_office/docx-hand-small', b'\0' + zipped([('word/document.xml', docx_doc)]))
# 1 MiB of spaces in one paragraph, deflated to about 1 KiB.
write('extract_office/docx-hand-spaces',
      b'\0' + zipped([('word/document.xml', docx_doc.replace('tagt.', 'tagt.' + ' ' * (1 << 20)))]))

# E-mail
copy('streik-nahverkehr.eml', 'extract_email/streik-nahverkehr.eml')
write('extract_email/hand-multipart.eml', b'''From: Presse <presse@example.org>
To: redaktion@example.org
Subject: =?utf-8?q?Stra=C3=9Fenfest_am_Samstag?=
Date: Tue, 14 Jan 2025 09:30:00 +0100
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="XX"

--XX
Content-Type: multipart/alternative; boundary="YY"

--YY
Content-Type: text/plain; charset=iso-8859-1
Content-Transfer-Encoding: quoted-printable

Am Samstag findet das Stra=DFenfest statt.
--YY
Content-Type: text/html; charset=utf-8
Content-Transfer-Encoding: base64

PHA+QW0gU2Ftc3RhZyBmaW5kZXQgZGFzIFN0cmHDn2VuZmVzdCBzdGF0dC48L3A+
--YY--
--XX
Content-Type: application/pdf; name="plan.pdf"
Content-Disposition: attachment; filename="plan.pdf"
Content-Transfer-Encoding: base64

JVBERi0xLjQK
--XX--
''')
write('extract_email/hand-rfc822-nested.eml', b'''Subject: Fwd: Meldung
Content-Type: message/rfc822

Subject: Meldung
Date: garbage date
Content-Type: text/plain; charset=utf-8

Die Br\xc3\xbccke bleibt gesperrt.
''')

# Feeds
copy('lokalnachrichten.rss', 'extract_feed/lokalnachrichten.rss')
write('extract_feed/hand-atom.xml', '''<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>T</title><id>urn:x</id><updated>2025-01-01T00:00:00Z</updated>
<entry><id>urn:uuid:1</id><title type="html">&lt;b&gt;Brücke&lt;/b&gt;</title><updated>2025-01-02T00:00:00Z</updated><content type="html">&lt;p&gt;Die Brücke ist gesperrt.&lt;/p&gt;</content></entry>
<entry><title>Ohne Id</title><link href="https://example.org/a/../../b"/><summary>Kurz.</summary></entry>
<entry><title>Nur Text</title><summary type="text">Hash-Id aus Titel und Text.</summary></entry>
</feed>''')
write('extract_feed/hand-json.json', '''{"version": "https://jsonfeed.org/version/1.1", "title": "T",
"items": [{"id": "../../etc/passwd", "title": "Pfad", "content_text": "Ein Text.", "date_published": "2025-04-20T08:00:00+02:00"},
{"id": "7", "content_html": "<p>Das Freibad öffnet.</p>"}, {"id": "7", "content_text": "Doppelt."},
{"id": " \\u001b[31mrot\\u202e ", "summary": "Steuerzeichen."}, {"id": "."}, {"id": "..", "content_text": "x"}]}''')
write('extract_feed/hand-rss-hostile.rss', '''<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>
<item><guid>/etc/passwd</guid><description>&lt;p&gt;Absolut.&lt;/p&gt;</description><pubDate>not a date</pubDate></item>
<item><guid>a b</guid><description>Leerzeichen</description></item><item><guid>a%20b</guid><description>Prozent</description></item>
<item><guid>C:\\Windows\\x</guid><description>Backslash</description></item>
<item><description/></item>
</channel></rss>''')
write('extract_feed/hand-rdf.rdf', '''<?xml version="1.0"?><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/"><channel rdf:about="x"><title>T</title></channel><item rdf:about="https://example.org/1"><title>Eins</title><description>Erster Eintrag.</description></item></rdf:RDF>''')
