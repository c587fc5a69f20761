//! A feed's bytes (feed-rs) the way the batch reads them: the item listing
//! that discovery does (`kurz::input::list_feed_items`), then for each
//! listed item its record (`feed_item_bytes`, what `read_source` gives for
//! the item) and its extraction (`extract_bytes(.., InputKind::FeedItem,
//! ..)`). Checked beyond "no panic / hang / OOM":
//!
//! - every listed id is found again by `feed_item_bytes`;
//! - slugs (output file names) are non-empty, do not start with `.` (so
//!   are never `.` or `..`), hold no `/`, `\` or NUL, and different ids get
//!   different slugs;
//! - shown ids (the input's name after `#`, its key in the manifest) hold
//!   no control characters or whitespace, and different ids are shown
//!   differently;
//! - the whole feed as one input (`InputKind::Feed`) is always an error
//!   (it says why it was not split), never a document;
//! - each item's extraction passes `common::check`.
#![no_main]

mod common;

use std::collections::HashMap;

use kurz::input::{extract_bytes, feed_item_bytes, list_feed_items, InputKind};
use kurz::stop::StopToken;
use libfuzzer_sys::fuzz_target;

/// Items extracted per input at most (each one re-parses the feed).
const MAX_ITEMS: usize = 8;

fuzz_target!(|data: &[u8]| {
    let never = StopToken::never();
    let whole = extract_bytes(data, InputKind::Feed, &never);
    assert!(whole.is_err(), "a whole feed became a document");
    common::check(whole);
    let Ok(items) = list_feed_items(data) else {
        return;
    };
    let mut slugs: HashMap<&str, &str> = HashMap::new();
    let mut shown: HashMap<&str, &str> = HashMap::new();
    for item in &items {
        let slug = item.slug.as_str();
        assert!(
            !slug.is_empty() && !slug.starts_with('.') && !slug.contains(['/', '\\', '\0']),
            "unsafe slug {slug:?} for id {:?}",
            item.id
        );
        assert!(
            !item
                .shown
                .chars()
                .any(|c| c.is_control() || c.is_whitespace()),
            "shown id {:?} holds a control character or whitespace",
            item.shown
        );
        if let Some(other) = slugs.insert(slug, &item.id) {
            assert_eq!(other, item.id, "two ids share the slug {slug:?}");
        }
        if let Some(other) = shown.insert(&item.shown, &item.id) {
            assert_eq!(other, item.id, "two ids are shown as {:?}", item.shown);
        }
    }
    for item in items.iter().take(MAX_ITEMS) {
        let record = feed_item_bytes(data, &item.id)
            .unwrap_or_else(|e| panic!("listed item {:?} not found again: {e}", item.id));
        common::check(extract_bytes(&record, InputKind::FeedItem, &never));
    }
});
