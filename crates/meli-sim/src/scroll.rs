//! Open scan scrolls (doc §2.1): the id snapshot taken at scan start, a cursor, and the
//! current `scroll_id`.
//!
//! Assumptions \[A\]: a scroll expires when idle longer than the configured TTL (each page
//! renews it); with rotation on, each page issues a new id and older ids answer 404; a
//! finished scroll (after the `results: []` + `scroll_id: null` page) answers 404.
//! Ids are two standard-base64 parts joined by `:`, so they may contain `+`, `/` and `=`
//! and must be URL-encoded by clients.

use std::collections::HashMap;

use base64::Engine;
use chrono::{DateTime, TimeDelta, Utc};
use rand::Rng;

#[derive(Debug)]
struct Scroll {
    app: String,
    ids: Vec<u64>,
    position: usize,
    last_access: DateTime<Utc>,
}

/// One scan page.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ScrollPage {
    pub(crate) keys: Vec<u64>,
    pub(crate) scroll_id: Option<String>,
    pub(crate) total: usize,
}

#[derive(Debug, Default)]
pub(crate) struct Scrolls {
    open: HashMap<String, Scroll>,
    issued: u64,
}

impl Scrolls {
    fn new_id(&mut self) -> String {
        self.issued += 1;
        let engine = base64::engine::general_purpose::STANDARD;
        let random: [u8; 18] = rand::rng().random();
        let marker = format!("scan;{};{}", self.issued, rand::rng().random::<u32>());
        format!("{}:{}", engine.encode(random), engine.encode(marker))
    }

    /// Drops scrolls idle for `ttl` or longer.
    pub(crate) fn purge(&mut self, now: DateTime<Utc>, ttl: TimeDelta) {
        self.open.retain(|_, s| now - s.last_access < ttl);
    }

    pub(crate) fn open_for(&self, app: &str) -> usize {
        self.open.values().filter(|s| s.app == app).count()
    }

    /// Opens a scroll over `ids` and returns its first page.
    pub(crate) fn start(
        &mut self,
        app: &str,
        ids: Vec<u64>,
        limit: usize,
        now: DateTime<Utc>,
    ) -> ScrollPage {
        let id = self.new_id();
        let scroll = Scroll {
            app: app.to_owned(),
            ids,
            position: 0,
            last_access: now,
        };
        self.open.insert(id.clone(), scroll);
        self.advance(&id, limit, now, false, TimeDelta::MAX)
            .unwrap_or(ScrollPage {
                keys: Vec::new(),
                scroll_id: None,
                total: 0,
            })
    }

    /// The next page of `scroll_id`, or `None` (404) when unknown, stale or expired.
    pub(crate) fn advance(
        &mut self,
        scroll_id: &str,
        limit: usize,
        now: DateTime<Utc>,
        rotate: bool,
        ttl: TimeDelta,
    ) -> Option<ScrollPage> {
        let mut scroll = self.open.remove(scroll_id)?;
        if now - scroll.last_access >= ttl {
            return None;
        }

        let end = (scroll.position + limit).min(scroll.ids.len());
        let keys = scroll.ids[scroll.position..end].to_vec();
        let total = scroll.ids.len();
        if keys.is_empty() {
            return Some(ScrollPage {
                keys,
                scroll_id: None,
                total,
            });
        }

        scroll.position = end;
        scroll.last_access = now;
        let next_id = if rotate {
            self.new_id()
        } else {
            scroll_id.to_owned()
        };
        self.open.insert(next_id.clone(), scroll);
        Some(ScrollPage {
            keys,
            scroll_id: Some(next_id),
            total,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotated_scroll_ends_with_an_empty_page_and_forgets_old_ids() {
        let mut scrolls = Scrolls::default();
        let now = Utc::now();
        let ttl = TimeDelta::minutes(5);

        let first = scrolls.start("1", vec![1, 2, 3], 2, now);
        let first_id = first.scroll_id.clone().unwrap_or_default();
        let second = scrolls.advance(&first_id, 2, now, true, ttl);
        let stale = scrolls.advance(&first_id, 2, now, true, ttl);

        assert_eq!(first.keys, vec![1, 2]);
        let second = second.unwrap_or_else(|| panic!("second page missing"));
        assert_eq!(second.keys, vec![3]);
        assert_eq!(stale, None);
        let last_id = second.scroll_id.unwrap_or_default();
        let last = scrolls.advance(&last_id, 2, now, true, ttl);
        assert_eq!(last.map(|p| (p.keys.len(), p.scroll_id)), Some((0, None)));
        assert_eq!(scrolls.advance(&last_id, 2, now, true, ttl), None);
    }
}
