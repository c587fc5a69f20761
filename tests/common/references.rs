//! The hand-written reference summaries and their German sources, and the
//! model candidates of a summarize manifest, for the claim-check precision
//! tests (tests/claims_units.rs, tests/claims_roles.rs).

use std::path::{Path, PathBuf};

use kurz::input::{load_document, InputItem, InputKind, InputSource};

/// Manifest whose candidates the ignored listing tests read:
/// `$KURZ_UNIT_MANIFEST`, else the measurement run's path.
pub fn candidate_manifest() -> String {
    std::env::var("KURZ_UNIT_MANIFEST").unwrap_or_else(|_| "/tmp/m16/n8/manifest.jsonl".to_string())
}

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The article as the guard sees it (title, blank line, text), loaded with
/// the crate's own input pipeline (HTML extraction, Latin-1 decoding).
pub fn source_text(path: &Path) -> Option<String> {
    let kind = InputKind::from_path(path)?;
    let item = InputItem {
        source: InputSource::File(path.to_path_buf()),
        display: path.display().to_string(),
        output_stem: PathBuf::from("x"),
        kind,
    };
    let doc = load_document(&item, 16 << 20).ok()?;
    Some(match doc.title {
        Some(title) => format!("{title}\n\n{}", doc.text),
        None => doc.text,
    })
}

/// (reference file, German source) pairs; the source path is relative to
/// the repository root.
pub fn reference_pairs() -> Vec<(PathBuf, PathBuf)> {
    let refs = repo().join("tests/fixtures/reference-summaries");
    let mut pairs = Vec::new();
    let samples = [
        "samples/blog/energiewende.md",
        "samples/lang/haushaltsdebatte.txt",
        "samples/nachrichten/hochwasser-sachsen.txt",
        "samples/pressemitteilung-stadtwerke.txt",
        "samples/regional/gemeinderat-latin1.txt",
        "samples/web/bahnstreik.html",
        "samples/wirtschaft/kurzarbeit.txt",
    ];
    for source in samples {
        let stem = Path::new(source).with_extension("en.txt");
        pairs.push((refs.join(stem), repo().join(source)));
    }
    pairs.push((
        refs.join("shared/data/seed/article.de.en.txt"),
        repo().join("../shared/data/seed/article.de.txt"),
    ));
    if let Ok(entries) = std::fs::read_dir(refs.join("bench/articles")) {
        let mut names: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
        names.sort();
        for r in names {
            let Some(name) = r.file_name().and_then(|n| n.to_str()) else {
                continue;
            };
            if let Some(stem) = name.strip_suffix(".en.txt") {
                pairs.push((r.clone(), repo().join(format!("bench/articles/{stem}.txt"))));
            }
        }
    }
    pairs
}

/// Up to 160 characters of `text` around the first occurrence of `needle`.
pub fn around(text: &str, needle: &str) -> Option<String> {
    let at = text.find(needle)?;
    let mut start = at.saturating_sub(80);
    while !text.is_char_boundary(start) {
        start -= 1;
    }
    let mut end = (at + needle.len() + 80).min(text.len());
    while !text.is_char_boundary(end) {
        end += 1;
    }
    Some(text.get(start..end)?.replace('\n', " "))
}

/// One article of a summarize manifest with its German source and the
/// texts of its candidates.
pub struct CandidateArticle {
    pub input: String,
    pub german: String,
    pub texts: Vec<String>,
}

/// The articles of the candidate manifest ([`candidate_manifest`]) whose
/// source is present; `None` (with a note) when the manifest is absent.
pub fn candidate_articles() -> Option<Vec<CandidateArticle>> {
    let manifest = candidate_manifest();
    let Ok(rows) = std::fs::read_to_string(&manifest) else {
        eprintln!("skipped: {manifest} absent");
        return None;
    };
    let mut articles = Vec::new();
    for row in rows
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
    {
        let Some(input) = row["input"].as_str() else {
            continue;
        };
        let Some(german) = source_text(&repo().join(input)) else {
            eprintln!("skipped {input}: source absent");
            continue;
        };
        let texts = row["candidates"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|c| c["text"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        articles.push(CandidateArticle {
            input: input.to_string(),
            german,
            texts,
        });
    }
    Some(articles)
}
