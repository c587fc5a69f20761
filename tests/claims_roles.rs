//! Precision of the role check (issue 16, point 5): a role word beside a
//! person's name in the summary ("Secretary-General Farah Dakhlallah") must
//! not contradict the role the German article gives that person
//! ("NATO-Sprecherin Farah Dakhlallah").
//!
//! * `reference_summaries_keep_their_roles`: the 28 hand-written reference
//!   summaries (tests/fixtures/reference-summaries) checked against their
//!   German sources; every role flag there is a false positive, so none is
//!   allowed. The seed article (../shared/data/seed/article.de.txt) is
//!   skipped when absent.
//! * `candidate_role_flags` (ignored): lists every role claim of the model
//!   candidates in a summarize manifest (`KURZ_UNIT_MANIFEST`, default
//!   /tmp/m16/n8/manifest.jsonl) with the verdict and the article text
//!   around the surname, for labelling by hand. Skips when the manifest is
//!   absent. Run with
//!   `cargo test --release --test claims_roles -- --ignored --nocapture`.
//!
//! Figures (manifest of 28 articles × 8 candidates from
//! qwen2.5-coder-1.5b, /tmp/m16/n8-manifest-copy.jsonl): references 28
//! checked, 5 role claims, 0 flags; candidates 224, 24 role claims (14
//! before family and organisation words were checked too), 6 flags, all
//! correct by hand (precision 6/6, all on the seed article's spokeswoman;
//! 3 candidates rejected only for a role). See the claims module
//! documentation for the list.

mod common;

use common::references::{
    around, candidate_articles, reference_pairs, source_text, CandidateArticle,
};

use kurz::claims::{role_claims, unsupported, ClaimKind, SourceIndex};

#[test]
fn reference_summaries_keep_their_roles() {
    let (mut checked, mut role_count, mut flags) = (0, 0, Vec::new());
    for (reference, source) in reference_pairs() {
        let (Ok(summary), Some(german)) =
            (std::fs::read_to_string(&reference), source_text(&source))
        else {
            eprintln!("skipped {} (file absent)", reference.display());
            continue;
        };
        let index = SourceIndex::new(&german);
        checked += 1;
        for c in role_claims(&summary) {
            role_count += 1;
            let ok = index.supports(&c);
            eprintln!(
                "{}: {:?} ({}) ok={ok}",
                reference.display(),
                c.text,
                c.normalized
            );
            if !ok {
                flags.push(format!("{}: {:?}", reference.display(), c.text));
            }
        }
    }
    eprintln!(
        "references checked: {checked}, role claims: {role_count}, flags: {}",
        flags.len()
    );
    assert!(checked >= 27, "only {checked} references found");
    assert!(
        flags.is_empty(),
        "false flags on references:\n{}",
        flags.join("\n")
    );
}

#[test]
#[ignore = "needs a summarize manifest with candidates; prints role claims for labelling"]
fn candidate_role_flags() {
    let Some(all) = candidate_articles() else {
        return;
    };
    let (mut candidates, mut role_count, mut flags) = (0, 0, 0);
    let articles = all.len();
    let mut newly_rejected = 0;
    for CandidateArticle {
        input,
        german,
        texts,
    } in &all
    {
        let index = SourceIndex::new(german);
        for (n, text) in texts.iter().enumerate() {
            candidates += 1;
            let bad = unsupported(text, &index);
            if !bad.is_empty() && bad.iter().all(|c| c.kind == ClaimKind::Role) {
                newly_rejected += 1;
            }
            for c in role_claims(text) {
                role_count += 1;
                let ok = index.supports(&c);
                flags += usize::from(!ok);
                let surname = c.normalized.split(' ').nth(1).unwrap_or("");
                let last = c.text.split_whitespace().last().unwrap_or("");
                let context = [surname, last]
                    .iter()
                    .filter(|s| !s.is_empty())
                    .find_map(|s| around(german, s))
                    .unwrap_or_default();
                println!(
                    "{} {input} #{n}: {:?} [{}]\n  DE: {context}",
                    if ok { "ok  " } else { "FLAG" },
                    c.text,
                    c.normalized
                );
            }
        }
    }
    println!(
        "articles: {articles}, candidates: {candidates}, role claims: {role_count}, flags: {flags}, \
         candidates rejected only for roles: {newly_rejected}"
    );
}
