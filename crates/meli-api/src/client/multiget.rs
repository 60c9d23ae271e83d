//! Reading listings by id with the multiget `GET /items?ids=` (doc §3.1).
//!
//! Ids go 20 a call (the documented maximum; more is assumed to be refused, \[A\]). Up to
//! `max_concurrency` calls run at once and results come back in input order. Per-id
//! failures (404 unknown, 403 foreign) arrive inside a 200 and are returned as
//! [`ItemResult`]s, not as errors; a failed call fails the whole read.

use futures::{StreamExt, TryStreamExt, stream};

use crate::client::{MeliClient, decode, require_id};
use crate::endpoint::Endpoint;
use crate::error::{Error, redact};
use crate::models::{Item, ItemError, ItemResult, MultigetEntry, parse_error_body};

/// Ids per multiget call.
pub const MULTIGET_MAX_IDS: usize = 20;

impl MeliClient {
    /// Multiget, chunked by 20 ids a call, up to `max_concurrency` chunks in flight, results
    /// in input order. `attributes` empty = full bodies; otherwise `attributes=` trims them.
    /// `include_all_attributes` adds `include_attributes=all` (variation attributes, where
    /// the per-variation `SELLER_SKU` lives).
    ///
    /// # Errors
    /// [`Error::Config`] for an empty or malformed id; any request [`Error`] of a chunk;
    /// `Decode` when an answer is not one `{code, body}` per requested id in order.
    pub async fn items(
        &self,
        ids: &[String],
        attributes: &[&str],
        include_all_attributes: bool,
    ) -> Result<Vec<ItemResult>, Error> {
        for id in ids {
            require_id("item id", id)?;
        }
        for attribute in attributes {
            require_id("attribute", attribute)?;
        }
        let attributes = attributes.join(",");
        let concurrency = self.config().max_concurrency;

        // Chunks are copied so each call's future owns its ids: a future borrowing the
        // closure's argument is not provably `Send`, and callers run syncs on spawned tasks.
        let chunks: Vec<Vec<ItemResult>> = stream::iter(ids.chunks(MULTIGET_MAX_IDS))
            .map(<[String]>::to_vec)
            .map(|chunk| {
                let attributes = &attributes;
                async move {
                    self.items_chunk(&chunk, attributes, include_all_attributes)
                        .await
                }
            })
            .buffered(concurrency)
            .try_collect()
            .await?;
        Ok(chunks.into_iter().flatten().collect())
    }

    async fn items_chunk(
        &self,
        ids: &[String],
        attributes: &str,
        include_all_attributes: bool,
    ) -> Result<Vec<ItemResult>, Error> {
        let endpoint = Endpoint::Items;
        let mut url = self.url(&["items"])?;
        {
            let mut query = url.query_pairs_mut();
            query.append_pair("ids", &ids.join(","));
            if !attributes.is_empty() {
                query.append_pair("attributes", attributes);
            }
            if include_all_attributes {
                query.append_pair("include_attributes", "all");
            }
        }

        let resp = self.get(endpoint, url).await?;
        let entries: Vec<MultigetEntry> = decode(endpoint, &resp.body)?;
        if entries.len() != ids.len() {
            return Err(Error::Decode {
                endpoint,
                message: format!(
                    "multiget answered {} entries for {} ids starting at {}",
                    entries.len(),
                    ids.len(),
                    ids.first().map_or("", String::as_str)
                ),
            });
        }

        ids.iter()
            .zip(entries)
            .map(|(id, entry)| item_result(id, entry))
            .collect()
    }
}

/// One multiget element for the requested `id`.
fn item_result(id: &str, entry: MultigetEntry) -> Result<ItemResult, Error> {
    let endpoint = Endpoint::Items;

    if entry.code != 200 {
        let (error, message) = parse_error_body(&entry.body);
        let outcome = Err(ItemError {
            code: entry.code,
            error,
            message,
        });
        return Ok(ItemResult {
            id: id.to_string(),
            outcome,
        });
    }

    let mut item: Item = serde_json::from_value(entry.body).map_err(|e| Error::Decode {
        endpoint,
        message: format!("item {id} body: {}", redact(&e.to_string(), 160)),
    })?;
    if item.id.is_empty() {
        item.id = id.to_string();
    } else if item.id != id {
        return Err(Error::Decode {
            endpoint,
            message: format!(
                "multiget answered item {} where {id} was requested",
                item.id
            ),
        });
    }
    Ok(ItemResult {
        id: id.to_string(),
        outcome: Ok(item),
    })
}
