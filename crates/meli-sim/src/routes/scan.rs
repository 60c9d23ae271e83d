//! `search_type=scan` (doc §2.1): a snapshot of the matching ids taken at scan start, paged
//! with `scroll_id`. See [`crate::scroll`] for expiry and rotation.
//!
//! `offset` together with `scroll_id` answers 400 [D:429]. More open scrolls of one app than
//! `max_open_scrolls` makes a new scan answer 429 (doc §2.1 "many open scrolls"; the number
//! is \[A\]). `paging.total` is the snapshot size [R:phpscan].

use std::collections::HashMap;

use axum::Json;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::search::search_body;
use crate::catalogue::SearchQuery;
use crate::clock::delta;
use crate::errors::MlError;
use crate::state::{Sim, lock};

pub(crate) fn scan(
    sim: &Sim,
    app: &str,
    params: &HashMap<String, String>,
    query: SearchQuery,
    limit: usize,
) -> Result<Response, MlError> {
    let now = sim.clock.now();
    let ttl = delta(sim.config.scroll_ttl);

    let page = match params.get("scroll_id") {
        Some(scroll_id) => {
            if params.contains_key("offset") {
                return Err(MlError::bad_request(
                    "offset cannot be used together with scroll_id",
                ));
            }
            lock(&sim.scrolls)
                .advance(scroll_id, limit, now, sim.config.rotate_scroll_ids, ttl)
                .ok_or_else(|| MlError::not_found("scroll_id not found or expired"))?
        }
        None => {
            let open = {
                let mut scrolls = lock(&sim.scrolls);
                scrolls.purge(now, ttl);
                scrolls.open_for(app)
            };
            if open >= sim.config.max_open_scrolls {
                return Ok(crate::gate::too_many_requests(None));
            }

            let (_, keys) = sim.world().index.query(&query, 0, usize::MAX);
            lock(&sim.scrolls).start(app, keys, limit, now)
        }
    };

    let site = &sim.config.site;
    let results: Vec<String> = page.keys.iter().map(|k| format!("{site}{k}")).collect();
    let mut body = search_body(sim.config.seller_id, params, results);
    body["paging"] = json!({"limit": limit, "total": page.total});
    body["scroll_id"] = json!(page.scroll_id);
    Ok(Json(body).into_response())
}
