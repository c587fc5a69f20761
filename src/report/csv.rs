//! The CSV digest, written with the `csv` crate (RFC 4180 quoting: a
//! field holding a comma, quote or line break is quoted, quotes doubled).
//!
//! One header row, then one row per input with the columns of [`COLUMNS`];
//! lists (warnings, unsupported claims) are joined with `"; "`. Encoded as
//! UTF-8, optionally preceded by a byte order mark so that Excel reads it
//! as UTF-8. A field that a spreadsheet would run as a formula (starting
//! with `=`, `+`, `-`, `@`, tab or carriage return, as an article title
//! can) gets a leading `'`, the usual guard against CSV formula injection;
//! the manifest keeps the text as it was.

use super::{Entry, Report};
use crate::output::Status;

/// The columns, in order.
pub const COLUMNS: [&str; 15] = [
    "input",
    "title",
    "source_title",
    "link",
    "date",
    "status",
    "guard",
    "unsupported",
    "summary",
    "error",
    "warnings",
    "output",
    "task",
    "model",
    "finished_at",
];

/// The UTF-8 byte order mark written before the header with `bom`.
pub const BOM: &str = "\u{FEFF}";

/// Renders `report` as CSV; with `bom` the text starts with [`BOM`].
///
/// # Errors
///
/// Only those of the `csv` writer, which cannot fail on an in-memory buffer
/// in practice.
pub fn render(report: &Report, bom: bool) -> Result<String, csv::Error> {
    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    writer.write_record(COLUMNS)?;
    for entry in &report.entries {
        writer.write_record(fields(entry).iter().map(|f| defuse_formula(f)))?;
    }
    let bytes = writer.into_inner().map_err(|e| e.into_error())?;
    // Every field is a `String`, so the output is UTF-8.
    let text = String::from_utf8_lossy(&bytes);
    Ok(if bom {
        format!("{BOM}{text}")
    } else {
        text.into_owned()
    })
}

/// The fields of one entry, in the order of [`COLUMNS`].
fn fields(e: &Entry) -> [String; 15] {
    let status = match e.status {
        Status::Ok => "ok",
        Status::Skipped => "skipped",
        Status::Error => "error",
    };
    let opt = |v: &Option<String>| v.clone().unwrap_or_default();
    [
        e.input.clone(),
        e.title.clone(),
        opt(&e.source_title),
        opt(&e.link),
        opt(&e.date),
        status.to_string(),
        opt(&e.guard),
        e.unsupported.join("; "),
        opt(&e.summary),
        opt(&e.error),
        e.warnings.join("; "),
        opt(&e.output),
        e.task.clone(),
        e.model.clone(),
        e.finished_at.clone(),
    ]
}

/// `field` with a leading `'` when a spreadsheet would read it as a
/// formula (first character `=`, `+`, `-`, `@`, tab or carriage return,
/// and more than that one character).
pub fn defuse_formula(field: &str) -> String {
    let risky = field.starts_with(['=', '+', '-', '@', '\t', '\r']) && field.chars().count() > 1;
    if risky {
        format!("'{field}")
    } else {
        field.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::tests::hostile_report;

    fn parse(text: &str) -> Vec<csv::StringRecord> {
        csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(text.as_bytes())
            .records()
            .collect::<Result<_, _>>()
            .expect("valid CSV")
    }

    #[test]
    fn rows_read_back_with_every_field_intact() {
        let report = hostile_report();
        let text = render(&report, false).unwrap();
        assert!(!text.starts_with(BOM));
        let records = parse(&text);
        assert_eq!(records.len(), 5);
        assert_eq!(records[0].iter().collect::<Vec<_>>(), COLUMNS);
        for (record, entry) in records[1..].iter().zip(&report.entries) {
            assert_eq!(record.len(), COLUMNS.len());
            assert_eq!(&record[0], entry.input);
            assert_eq!(&record[1], entry.title);
            assert_eq!(&record[8], entry.summary.as_deref().unwrap_or(""));
        }
        let evil = &records[1];
        assert_eq!(
            &evil[1],
            "<script>alert(1)</script> [click](javascript:alert(2)) | `x` & Co"
        );
        assert!(evil[8].contains("\n\n> not a quote"), "{:?}", &evil[8]);
        assert_eq!(&evil[3], "javascript:alert(3)");
        assert_eq!(&evil[6], "fail");
        assert_eq!(&evil[7], "<Merkel>; 42");
        assert_eq!(&evil[10], "only a teaser | <i>");
        assert_eq!(&records[3][5], "error");
        assert!(records[3][9].starts_with("samples/kaputt.txt: looks like"));
    }

    #[test]
    fn the_bom_comes_first_and_the_rest_is_unchanged() {
        let report = hostile_report();
        let plain = render(&report, false).unwrap();
        let with = render(&report, true).unwrap();
        assert!(with.as_bytes().starts_with(&[0xEF, 0xBB, 0xBF]));
        assert_eq!(&with[BOM.len()..], plain);
    }

    #[test]
    fn formulas_are_defused() {
        let mut report = hostile_report();
        report.entries[0].title = "=HYPERLINK(\"http://x\",\"y\")".into();
        report.entries[1].title = "-2+3".into();
        report.entries[2].title = "@SUM(A1)".into();
        let records = parse(&render(&report, false).unwrap());
        assert_eq!(&records[1][1], "'=HYPERLINK(\"http://x\",\"y\")");
        assert_eq!(&records[2][1], "'-2+3");
        assert_eq!(&records[3][1], "'@SUM(A1)");
        assert_eq!(defuse_formula("-"), "-");
        assert_eq!(defuse_formula("Merkel"), "Merkel");
    }

    #[test]
    fn quoting_follows_rfc_4180() {
        let mut report = hostile_report();
        report.entries.truncate(1);
        report.entries[0].title = "a, \"b\"".into();
        let text = render(&report, false).unwrap();
        assert!(text.contains(",\"a, \"\"b\"\"\","), "{text}");
        assert!(text.ends_with("\r\n"));
    }
}
