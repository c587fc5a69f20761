#!/usr/bin/env python3
"""Writes the format samples in samples/formate/ from the German texts below.

Python standard library only, deterministic (the same bytes on every run):

- pressemitteilung-radschnellweg.pdf: two A4 pages of Helvetica text with a
  running header, a footer "Seite N von 2", a large-type heading, a word
  hyphenated at a line end ("Landes-" / "regierung"), a paragraph that runs
  on from page 1 to page 2, and /Title and /CreationDate in the Info
  dictionary. The PDF objects are written by hand.
- gemeinderat-kita.docx: a Word document (zip of WordprocessingML) with a
  title paragraph, body paragraphs, a sub-heading, a table, a footnote and a
  comment (the last two must not appear in kurz's text).
- streik-nahverkehr.eml: an e-mail in ISO-8859-1, quoted-printable, with
  an RFC 2047 subject, a quoted earlier message and a signature.
- lokalnachrichten.rss: an RSS 2.0 feed with three items: two with full
  HTML text (content:encoded), one with a teaser only.

Usage: scripts/make-samples.py [--out DIR] [--source DIR]
  --out DIR     where to write the samples (default: samples/formate)
  --source DIR  also write the PDF's source text (source of the diff shown
                when comparing kurz's PDF extraction with what was written)
"""

import argparse
import io
import os
import zipfile
from email.charset import Charset, QP
from email.header import Header
from email.mime.text import MIMEText
from email.utils import format_datetime
from datetime import datetime, timezone, timedelta
from xml.sax.saxutils import escape

# --------------------------------------------------------------------- texts

PDF_HEADER = "Landkreis Waldau – Pressestelle – Pressemitteilung 14/2025"
PDF_TITLE = "Radschnellweg zwischen Neustadt und Bergheim: Bau beginnt im Mai"
PDF_PARAGRAPHS = [
    "Der Landkreis Waldau beginnt im Mai mit dem Bau des Radschnellwegs "
    "zwischen Neustadt und Bergheim. Die 11,4 Kilometer lange Strecke soll "
    "Pendlerinnen und Pendlern eine schnelle und sichere Verbindung zwischen "
    "den beiden größten Städten des Kreises bieten. Der Kreistag hatte das "
    "Projekt im Dezember mit 38 zu 9 Stimmen beschlossen.",
    "Die Baukosten liegen nach der aktuellen Planung bei 17,8 Millionen Euro. "
    "Rund 75 Prozent davon übernimmt die Landesregierung aus dem Programm für "
    "den Ausbau von Radwegen, den Rest teilen sich der Landkreis und die "
    "beiden Städte. Landrätin Petra Albers sagte, der Radschnellweg sei das "
    "größte Verkehrsprojekt des Kreises seit dem Bau der Ortsumgehung von "
    "Neustadt vor zwanzig Jahren.",
    "Der Weg wird durchgehend vier Meter breit und beleuchtet. An drei "
    "Stellen entstehen neue Brücken, unter anderem über die Bahnstrecke bei "
    "Kleinfeld. Kreuzungen mit Landstraßen werden so umgebaut, dass Radfahrer "
    "Vorfahrt haben. Während der Bauarbeiten bleibt der bestehende Feldweg "
    "zwischen Kleinfeld und Bergheim bis zum Herbst gesperrt; eine Umleitung "
    "ist ausgeschildert.",
    "Der erste Abschnitt zwischen Neustadt und Kleinfeld soll im Sommer 2026 "
    "fertig sein, die gesamte Strecke Ende 2027. Nach einer Verkehrszählung "
    "des Kreises fahren schon heute an Werktagen rund 1.200 Menschen mit dem "
    "Rad zwischen den beiden Städten. Die Planer rechnen damit, dass es nach "
    "der Eröffnung mehr als doppelt so viele sein werden.",
    "Anwohnerinnen und Anwohner können sich am 24. April um 18 Uhr im "
    "Bürgerhaus Kleinfeld über die Bauarbeiten informieren.",
]
# Words that may be split at a line end, and where (as a typesetter
# would); the layout uses the narrowest width at which one is.
PDF_HYPHENATE = {
    "Landesregierung": ("Landes-", "regierung"),
    "Verkehrsprojekt": ("Verkehrs-", "projekt"),
    "Ortsumgehung": ("Orts-", "umgehung"),
    "Verkehrszählung": ("Verkehrs-", "zählung"),
    "Pendlerinnen": ("Pendle-", "rinnen"),
    "Bauarbeiten": ("Bau-", "arbeiten"),
    "Landstraßen": ("Land-", "straßen"),
    "Kreuzungen": ("Kreu-", "zungen"),
    "Anwohnerinnen": ("Anwohne-", "rinnen"),
}

DOCX_TITLE = "Gemeinderat beschließt neues Kita-Konzept"
DOCX_BLOCKS = [
    ("title", DOCX_TITLE),
    ("p", "Der Gemeinderat von Hohenfelde hat am Donnerstagabend ein neues "
          "Konzept für die Kinderbetreuung beschlossen. Bis 2027 sollen in der "
          "Gemeinde 120 zusätzliche Kita-Plätze entstehen, davon 45 für Kinder "
          "unter drei Jahren."),
    ("p", "Bürgermeister Jens Hartmann sagte, die Wartelisten seien in den "
          "vergangenen zwei Jahren deutlich länger geworden. Derzeit warten "
          "nach Angaben der Verwaltung 86 Familien auf einen Platz."),
    ("h2", "Neubau am Mühlenweg"),
    ("p", "Der größte Teil der neuen Plätze entsteht in einem Neubau am "
          "Mühlenweg, der im Frühjahr 2026 eröffnen soll. Die Kosten von "
          "6,3 Millionen Euro trägt zu einem Drittel das Land."),
    ("table", [["Einrichtung", "Neue Plätze", "Eröffnung"],
               ["Kita Mühlenweg", "80", "Frühjahr 2026"],
               ["Kita Am Anger (Anbau)", "40", "Herbst 2027"]]),
    ("p_footnote", "Die Elternbeiträge bleiben nach dem Beschluss bis Ende "
                   "2026 unverändert."),
]
DOCX_FOOTNOTE = "Beschluss Nr. 2025/117 des Gemeinderats."
DOCX_COMMENT = "Zahl noch mit dem Jugendamt abstimmen."

EML_SUBJECT = "Warnstreik: Busse und Bahnen stehen am Donnerstag still"
EML_BODY = """Sehr geehrte Damen und Herren,

die Gewerkschaft hat die Beschäftigten der Verkehrsbetriebe Südstadt für
Donnerstag zu einem ganztägigen Warnstreik aufgerufen. Von Betriebsbeginn
um 3.30 Uhr bis Freitag früh fahren voraussichtlich weder Busse noch
Straßenbahnen. Betroffen sind täglich rund 140.000 Fahrgäste.

Die Schulbusse privater Unternehmen fahren nach Plan. Die S-Bahn ist
nicht betroffen, weil sie von einem anderen Unternehmen betrieben wird.
Fahrgäste mit Monatskarten können am Streiktag kostenlos die Leihräder
der Stadt nutzen.

Die Verkehrsbetriebe bedauern die Einschränkungen und empfehlen, sich vor
Fahrtantritt in der App über den aktuellen Stand zu informieren.

Am 11. März 2025 um 16:02 schrieb Redaktion Südstadt-Kurier:
> Können Sie uns sagen, ob die Schulbusse am Donnerstag fahren?
> Viele Eltern haben bei uns angerufen.

Mit freundlichen Grüßen
Sabine Krüger
--\x20
Verkehrsbetriebe Südstadt GmbH, Unternehmenskommunikation
Tel. 0561 123 4567, presse@vb-suedstadt.example
"""

RSS_ITEMS = [
    {
        "guid": "suedstadt-kurier-2025-0311-bibliothek",
        "title": "Stadtbibliothek öffnet künftig auch sonntags",
        "link": "https://suedstadt-kurier.example/lokales/bibliothek-sonntag",
        "date": datetime(2025, 3, 11, 9, 15, tzinfo=timezone(timedelta(hours=1))),
        "teaser": "Ab April können Leserinnen und Leser auch am Sonntag in die Stadtbibliothek.",
        "content": [
            "Die Stadtbibliothek Südstadt öffnet ab dem 6. April auch sonntags. "
            "Von 11 bis 17 Uhr stehen dann der Lesesaal, die Kinderbibliothek "
            "und die Arbeitsplätze zur Verfügung. Ausleihen und Rückgaben sind "
            "an den Automaten möglich.",
            "Möglich macht das ein Förderprogramm des Landes, das die "
            "zusätzlichen Personalkosten von rund 90.000 Euro im Jahr für "
            "zunächst zwei Jahre übernimmt. Bibliotheksleiterin Claudia Brandt "
            "sagte, vor allem Familien und Studierende hätten sich längere "
            "Öffnungszeiten gewünscht.",
            "Die Bibliothek zählte im vergangenen Jahr 312.000 Besuche, zwölf "
            "Prozent mehr als im Jahr davor.",
        ],
    },
    {
        "guid": "suedstadt-kurier-2025-0312-hallenbad",
        "title": "Sanierung des Hallenbads wird teurer",
        "link": "https://suedstadt-kurier.example/lokales/hallenbad-kosten",
        "date": datetime(2025, 3, 12, 17, 40, tzinfo=timezone(timedelta(hours=1))),
        "teaser": "Die Sanierung des Hallenbads am Stadtpark kostet mehr als geplant.",
        "content": [
            "Die Sanierung des Hallenbads am Stadtpark wird deutlich teurer als "
            "geplant. Statt 8,5 Millionen Euro rechnet die Stadt nun mit 11,2 "
            "Millionen Euro. Das geht aus einer Vorlage für den Bauausschuss "
            "hervor, der am Dienstag darüber berät.",
            "Als Gründe nennt die Verwaltung gestiegene Baupreise und Schäden "
            "an der Dachkonstruktion, die erst nach dem Öffnen der Decke "
            "entdeckt wurden. Die Wiedereröffnung verschiebt sich dadurch vom "
            "Herbst 2025 auf den Frühsommer 2026.",
            "Schulen und Vereine trainieren bis dahin weiter im Bad der "
            "Nachbargemeinde Altdorf. Die Stadt zahlt dafür die Busfahrten.",
        ],
    },
    {
        "guid": None,
        "title": "Wochenmarkt zieht vorübergehend auf den Kirchplatz",
        "link": "https://suedstadt-kurier.example/lokales/wochenmarkt-kirchplatz",
        "date": datetime(2025, 3, 13, 7, 5, tzinfo=timezone(timedelta(hours=1))),
        "teaser": "Wegen Bauarbeiten am Rathausplatz findet der Wochenmarkt ab "
                  "Samstag für sechs Wochen auf dem Kirchplatz statt. Die "
                  "Markttage bleiben Mittwoch und Samstag.",
        "content": None,
    },
]

# ----------------------------------------------------------------------- PDF

PAGE_W, PAGE_H = 595, 842
LEFT = 72
BODY_SIZE, LEADING, PAR_GAP = 11, 14.5, 9
LINES_PER_PAGE = 14  # at least this many lines on page 1


def win_ansi(text):
    out = bytearray()
    for c in text:
        special = {"–": 0x96, "—": 0x97, "„": 0x84, "“": 0x93, "”": 0x94, "€": 0x80}
        if c in special:
            out.append(special[c])
        elif ord(c) < 256:
            out.append(ord(c))
        else:
            raise ValueError(f"not in WinAnsiEncoding: {c!r}")
    return bytes(out)


def pdf_string(text):
    raw = win_ansi(text)
    return b"(" + raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)") + b")"


def wrap(paragraph, width=82):
    """Greedy wrap; words in PDF_HYPHENATE are split at a line end when
    only their first part fits."""
    lines, line = [], ""
    for word in paragraph.split():
        candidate = f"{line} {word}" if line else word
        if len(candidate) <= width:
            line = candidate
            continue
        split = PDF_HYPHENATE.get(word.strip(".,;:"))
        if split and len(f"{line} {split[0]}") <= width:
            lines.append(f"{line} {split[0]}")
            line = word.replace(split[0].rstrip("-"), "", 1)
            continue
        lines.append(line)
        line = word
    if line:
        lines.append(line)
    return lines


def pdf_layout():
    """Pages of (y, font, size, text) and the source text."""
    # The narrowest line width (in characters, about 5.5 pt each) that
    # puts a hyphenated word at a line end.
    for width in range(80, 96):
        body = [(i, line) for i, p in enumerate(PDF_PARAGRAPHS) for line in wrap(p, width)]
        if any(line.endswith("-") for _, line in body):
            break
    # Page 1 ends inside a paragraph, so page 2 goes on with it.
    split = next(n for n in range(LINES_PER_PAGE, len(body)) if body[n - 1][0] == body[n][0])
    pages = [body[:split], body[split:]]
    assert pages[1], "the text must reach page 2"
    assert pages[0][-1][0] == pages[1][0][0], "page 2 must go on with page 1's last paragraph"
    assert any(l.endswith("-") for _, l in body), "no hyphenated line"
    laid_out = []
    for n, lines in enumerate(pages, start=1):
        items = [(PAGE_H - 42, "F1", 9, PDF_HEADER)]
        y = PAGE_H - 100
        if n == 1:
            items.append((y, "F2", 16, PDF_TITLE))
            y -= 34
        previous = None
        for paragraph, line in lines:
            if previous is not None and paragraph != previous:
                y -= PAR_GAP
            items.append((y, "F1", BODY_SIZE, line))
            y -= LEADING
            previous = paragraph
        items.append((40, "F1", 9, f"Seite {n} von {len(pages)}"))
        laid_out.append(items)
    return laid_out


def pdf_bytes():
    pages = pdf_layout()
    objects = []

    def add(body):
        objects.append(body)
        return len(objects)

    catalog = add(None)
    page_tree = add(None)
    font = add(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>")
    bold = add(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>")
    title_hex = ("FEFF" + PDF_TITLE.encode("utf-16-be").hex().upper()).encode()
    info = add(b"<< /Title <" + title_hex + b"> /Author (Landkreis Waldau) "
               b"/CreationDate (D:20250314093000+01'00') /Producer (kurz make-samples.py) >>")
    kids = []
    for items in pages:
        content = bytearray()
        for y, font_name, size, text in items:
            content += f"BT /{font_name} {size} Tf {LEFT} {y:g} Td ".encode()
            content += pdf_string(text) + b" Tj ET\n"
        stream = add(b"<< /Length %d >>\nstream\n" % len(content) + bytes(content) + b"\nendstream")
        kids.append(add(
            f"<< /Type /Page /Parent {page_tree} 0 R /MediaBox [0 0 {PAGE_W} {PAGE_H}] "
            f"/Resources << /Font << /F1 {font} 0 R /F2 {bold} 0 R >> >> "
            f"/Contents {stream} 0 R >>".encode()))
    objects[catalog - 1] = f"<< /Type /Catalog /Pages {page_tree} 0 R >>".encode()
    objects[page_tree - 1] = (
        f"<< /Type /Pages /Kids [{' '.join(f'{k} 0 R' for k in kids)}] /Count {len(kids)} >>".encode())

    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for offset in offsets:
        out += f"{offset:010d} 00000 n \n".encode()
    out += (f"trailer\n<< /Size {len(objects) + 1} /Root {catalog} 0 R /Info {info} 0 R >>\n"
            f"startxref\n{xref}\n%%EOF\n").encode()
    return bytes(out)


def pdf_source_text():
    return PDF_TITLE + "\n\n" + "\n\n".join(PDF_PARAGRAPHS) + "\n"

# ---------------------------------------------------------------------- DOCX

W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
FIXED_ZIP_TIME = (2025, 3, 14, 9, 30, 0)


def w_run(text):
    return f'<w:r><w:t xml:space="preserve">{escape(text)}</w:t></w:r>'


def w_par(text, style=None, extra=""):
    ppr = f'<w:pPr><w:pStyle w:val="{style}"/></w:pPr>' if style else ""
    return f"<w:p>{ppr}{w_run(text)}{extra}</w:p>"


def docx_document():
    parts = []
    for kind, value in DOCX_BLOCKS:
        if kind == "title":
            parts.append(w_par(value, "Title"))
        elif kind == "h2":
            parts.append(w_par(value, "Heading2"))
        elif kind == "p":
            parts.append(w_par(value))
        elif kind == "p_footnote":
            # A commented range and a footnote reference: neither is text.
            parts.append(
                '<w:p><w:commentRangeStart w:id="0"/>' + w_run(value) +
                '<w:commentRangeEnd w:id="0"/><w:r><w:commentReference w:id="0"/></w:r>'
                '<w:r><w:rPr><w:rStyle w:val="FootnoteReference"/></w:rPr>'
                '<w:footnoteReference w:id="1"/></w:r></w:p>')
        elif kind == "table":
            rows = "".join(
                "<w:tr>" + "".join(f"<w:tc>{w_par(cell)}</w:tc>" for cell in row) + "</w:tr>"
                for row in value)
            parts.append(f"<w:tbl><w:tblPr/>{rows}</w:tbl>")
    return (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            f'<w:document xmlns:w="{W_NS}"><w:body>{"".join(parts)}'
            f'<w:sectPr/></w:body></w:document>')


def docx_bytes():
    content_types = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>'
        '<Override PartName="/word/footnotes.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.footnotes+xml"/>'
        '<Override PartName="/word/comments.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.comments+xml"/>'
        '<Override PartName="/docProps/core.xml" ContentType="application/vnd.openxmlformats-package.core-properties+xml"/>'
        '</Types>')
    rels = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/>'
        '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties" Target="docProps/core.xml"/>'
        '</Relationships>')
    doc_rels = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/footnotes" Target="footnotes.xml"/>'
        '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/comments" Target="comments.xml"/>'
        '</Relationships>')
    footnotes = (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<w:footnotes xmlns:w="{W_NS}">'
        f'<w:footnote w:id="1">{w_par(DOCX_FOOTNOTE)}</w:footnote></w:footnotes>')
    comments = (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<w:comments xmlns:w="{W_NS}">'
        f'<w:comment w:id="0" w:author="Redaktion">{w_par(DOCX_COMMENT)}</w:comment></w:comments>')
    core = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        f'<dc:title>{escape(DOCX_TITLE)}</dc:title><dc:creator>Gemeinde Hohenfelde</dc:creator>'
        '<dcterms:created xsi:type="dcterms:W3CDTF">2025-03-14T09:30:00Z</dcterms:created>'
        '</cp:coreProperties>')
    files = [
        ("[Content_Types].xml", content_types),
        ("_rels/.rels", rels),
        ("word/document.xml", docx_document()),
        ("word/_rels/document.xml.rels", doc_rels),
        ("word/footnotes.xml", footnotes),
        ("word/comments.xml", comments),
        ("docProps/core.xml", core),
    ]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in files:
            info = zipfile.ZipInfo(name, FIXED_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, text.encode("utf-8"))
    return buffer.getvalue()

# --------------------------------------------------------------------- e-mail


def eml_bytes():
    charset = Charset("iso-8859-1")
    charset.body_encoding = QP
    message = MIMEText(EML_BODY, "plain", charset)
    message["From"] = (Header("Verkehrsbetriebe Südstadt", "iso-8859-1").encode()
                       + " <presse@vb-suedstadt.example>")
    message["To"] = "redaktion@suedstadt-kurier.example"
    message["Subject"] = Header(EML_SUBJECT, "iso-8859-1")
    message["Date"] = format_datetime(datetime(2025, 3, 12, 8, 45, tzinfo=timezone(timedelta(hours=1))))
    message["Message-ID"] = "<20250312084500.streik@vb-suedstadt.example>"
    return message.as_bytes()

# ------------------------------------------------------------------------ RSS


def rss_bytes():
    items = []
    for item in RSS_ITEMS:
        parts = [f"<title>{escape(item['title'])}</title>",
                 f"<link>{escape(item['link'])}</link>"]
        if item["guid"]:
            parts.append(f'<guid isPermaLink="false">{escape(item["guid"])}</guid>')
        parts.append(f"<pubDate>{format_datetime(item['date'])}</pubDate>")
        parts.append(f"<description>{escape(item['teaser'])}</description>")
        if item["content"]:
            html = "".join(f"<p>{escape(p)}</p>" for p in item["content"])
            parts.append(f"<content:encoded><![CDATA[{html}]]></content:encoded>")
        items.append("<item>" + "".join(parts) + "</item>")
    feed = ('<?xml version="1.0" encoding="UTF-8"?>\n'
            '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/">\n'
            "<channel><title>Südstadt-Kurier – Lokales</title>"
            "<link>https://suedstadt-kurier.example/lokales</link>"
            "<description>Nachrichten aus der Südstadt</description><language>de</language>\n"
            + "\n".join(items) + "\n</channel></rss>\n")
    return feed.encode("utf-8")

# ----------------------------------------------------------------------- main


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=os.path.join("samples", "formate"))
    parser.add_argument("--source", help="also write the PDF's source text here")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    outputs = {
        "pressemitteilung-radschnellweg.pdf": pdf_bytes(),
        "gemeinderat-kita.docx": docx_bytes(),
        "streik-nahverkehr.eml": eml_bytes(),
        "lokalnachrichten.rss": rss_bytes(),
    }
    for name, data in outputs.items():
        with open(os.path.join(args.out, name), "wb") as f:
            f.write(data)
        print(f"{os.path.join(args.out, name)}: {len(data)} bytes")
    if args.source:
        os.makedirs(args.source, exist_ok=True)
        path = os.path.join(args.source, "pressemitteilung-radschnellweg.source.txt")
        with open(path, "w", encoding="utf-8") as f:
            f.write(pdf_source_text())
        print(f"{path}: source text of the PDF")


if __name__ == "__main__":
    main()
