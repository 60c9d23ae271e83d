//! Listing every item id of a seller with `search_type=scan` (doc §2.1).
//!
//! Each call asks for 100 ids and sends the latest `scroll_id` received (ML's docs say the
//! id stays the same; clients see it change, \[A\]). A scan ends on `results: []` or a null
//! `scroll_id`. Offset paging is never used: it stops at 1000 results. A 404 after the first
//! page means the scroll expired (5 minutes) or was used up: [`Error::ScrollExpired`] (\[A\]: old clients loop until a 404; the docs say null comes
//! back at the end). With no `status` filter the scan covers every status (\[A\]).
//!
//! Known limitation: the ids of one scan are a snapshot taken when it starts, and a
//! failed scan cannot resume; the caller starts a new one.

use futures::StreamExt;
use futures::stream::{self, BoxStream};

use crate::client::{MeliClient, decode};
use crate::endpoint::Endpoint;
use crate::error::Error;
use crate::models::{ScanPage, SearchPage};

/// Ids per scan page: the documented maximum.
const SCAN_LIMIT: &str = "100";

/// Where a running scan is.
struct ScanState {
    client: MeliClient,
    seller_id: u64,
    statuses: Vec<Option<String>>,
    index: usize,
    scroll_id: Option<String>,
    failed: bool,
}

impl MeliClient {
    /// All item ids of a seller with `search_type=scan&limit=100`; `statuses` empty = every
    /// status (no `status` param; one scan). Non-empty: one scan per status, concatenated.
    /// Each stream element is one page. The stream ends (None) only after the final page
    /// (`results: []` or `scroll_id: null`); any failure is yielded as Err and ends it.
    pub fn scan_item_ids(
        &self,
        seller_id: u64,
        statuses: &[&str],
    ) -> BoxStream<'_, Result<ScanPage, Error>> {
        if let Some(bad) = statuses
            .iter()
            .find(|s| crate::client::require_id("status", s).is_err())
        {
            let err = Error::Config(format!("scan status {bad:?} is empty or malformed"));
            return stream::once(async move { Err(err) }).boxed();
        }

        let mut wanted: Vec<Option<String>> = Vec::new();
        for status in statuses {
            let status = Some((*status).to_string());
            if !wanted.contains(&status) {
                wanted.push(status);
            }
        }
        if wanted.is_empty() {
            wanted.push(None);
        }

        let state = ScanState {
            client: self.clone(),
            seller_id,
            statuses: wanted,
            index: 0,
            scroll_id: None,
            failed: false,
        };
        stream::unfold(state, next_page).boxed()
    }

    /// One scan call.
    async fn scan_page(
        &self,
        seller_id: u64,
        status: Option<&str>,
        scroll_id: Option<&str>,
    ) -> Result<SearchPage, Error> {
        let endpoint = Endpoint::ItemsSearch;
        let mut url = self.url(&["users", &seller_id.to_string(), "items", "search"])?;
        {
            let mut query = url.query_pairs_mut();
            query
                .append_pair("search_type", "scan")
                .append_pair("limit", SCAN_LIMIT);
            if let Some(status) = status {
                query.append_pair("status", status);
            }
            if let Some(scroll_id) = scroll_id {
                query.append_pair("scroll_id", scroll_id);
            }
        }

        match self.get(endpoint, url).await {
            Ok(resp) => decode(endpoint, &resp.body),
            Err(Error::NotFound { .. }) if scroll_id.is_some() => Err(Error::ScrollExpired),
            Err(e) => Err(e),
        }
    }
}

/// Fetches pages until one with ids (yielded) or the end of the last scan (None).
async fn next_page(mut state: ScanState) -> Option<(Result<ScanPage, Error>, ScanState)> {
    loop {
        if state.failed {
            return None;
        }
        let status = state.statuses.get(state.index)?.clone();

        let page = state
            .client
            .scan_page(
                state.seller_id,
                status.as_deref(),
                state.scroll_id.as_deref(),
            )
            .await;
        let page = match page {
            Ok(page) => page,
            Err(e) => {
                state.failed = true;
                return Some((Err(e), state));
            }
        };

        if page.results.is_empty() || page.scroll_id.is_none() {
            state.index += 1;
            state.scroll_id = None;
        } else {
            state.scroll_id = page.scroll_id;
        }
        if page.results.is_empty() {
            continue;
        }

        let total = page.paging.and_then(|p| p.total);
        return Some((
            Ok(ScanPage {
                ids: page.results,
                total,
            }),
            state,
        ));
    }
}
