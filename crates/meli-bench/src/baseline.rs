//! The method meli-stock replaces, run on the same catalogue for comparison: list the active
//! listings only, then one listing at a time read the item, read its user product's stock,
//! and upsert and commit its row.
//!
//! It goes through the meli-api client at a concurrency of 1, paced at ML's real limits
//! (5 calls a second, 100 stock reads a minute), so it never collects 429s: this is the old
//! method at its best. The item read is a one-id `GET /items?ids=`, the same single call
//! against ML's limits as `GET /items/{id}`. The listing uses the scan, because the offset
//! paging the old script knew stops at 1,000 results. Each row is one `INSERT … ON CONFLICT`
//! in its own transaction on a single connection, as the script did with psycopg2.
//!
//! A whole catalogue would take hours at ML's limits, so the method runs on the first
//! `sample` active listings and [`crate::bound::extrapolate`] scales the time up; the report
//! says so.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result, anyhow};
use chrono::Utc;
use futures::StreamExt;
use meli_api::{ClientConfig, InMemoryTokenProvider, MeliClient, OAuthClient, TokenSet};
use meli_sim::SimHandle;
use secrecy::SecretString;
use sqlx::{Connection, PgConnection};
use tracing::info;

use crate::bound::{self, Estimate, Limits, STOCK_ENDPOINT, Sample};
use crate::database::BenchDb;

/// The upsert of one row, product looked up by its item id, as the old script wrote it.
const UPSERT: &str = "INSERT INTO warehouse_stock \
         (warehouse_id, product_id, quantity, last_updated, updated_by) \
     SELECT w.id, p.id, $2, now(), 'old-script' \
     FROM products p CROSS JOIN warehouses w \
     WHERE p.external_id = $1 AND p.source = 'mercadolibre' AND w.code = 'mercadolibre' \
     ON CONFLICT (warehouse_id, product_id) DO UPDATE SET quantity = EXCLUDED.quantity, \
         last_updated = EXCLUDED.last_updated, updated_by = EXCLUDED.updated_by";

/// What the old method did on its sample, and what the whole catalogue would take.
#[derive(Clone, Debug)]
pub struct BaselineResult {
    /// Active listings of the catalogue (`paging.total` of the active scan).
    pub active: u64,
    pub sample: Sample,
    /// The whole active catalogue, scaled up from the sample.
    pub estimate: Estimate,
    /// Rows the sample upserted.
    pub rows_written: u64,
    /// Calls of the sample by endpoint, retries included.
    pub calls: BTreeMap<String, u64>,
    pub retries: u64,
    pub rate_limited: u64,
    /// The limits the client paced itself at.
    pub limits: Limits,
}

impl BaselineResult {
    /// Whether the sample covered every active listing (no extrapolation).
    pub fn complete(&self) -> bool {
        self.sample.listings >= self.active
    }
}

/// Runs the old method on the first `sample` active listings of `sim`, writing into `db`.
///
/// # Errors
/// A client, simulator or database failure; the old method has no partial success.
pub async fn run(
    sim: &SimHandle,
    db: &BenchDb,
    sample: usize,
    limits: Limits,
) -> Result<BaselineResult> {
    let client = client(sim, limits)?;
    let seller_id = sim.config().seller_id;

    let listing_started = Instant::now();
    let mut pages = client.scan_item_ids(seller_id, &["active"]);
    let mut ids: Vec<String> = Vec::new();
    let mut active = None;
    while ids.len() < sample {
        match pages.next().await {
            Some(page) => {
                let page = page.context("the active listing failed")?;
                active = active.or(page.total);
                ids.extend(page.ids);
            }
            None => break,
        }
    }
    drop(pages);
    ids.truncate(sample);
    let listing_time = listing_started.elapsed();
    let after_listing = client.counters();

    let mut conn = PgConnection::connect(&db.url)
        .await
        .with_context(|| format!("failed to connect to {}", db.name))?;
    let started = Instant::now();
    let mut rows_written = 0;
    for id in &ids {
        let quantity = read_quantity(&client, id).await?;
        let mut tx = conn.begin().await.context("failed to begin a row")?;
        let done = sqlx::query(UPSERT)
            .bind(id)
            .bind(quantity)
            .execute(&mut *tx)
            .await
            .with_context(|| format!("failed to upsert the row of {id}"))?;
        tx.commit().await.context("failed to commit a row")?;
        rows_written += done.rows_affected();
    }
    let per_listing_time = started.elapsed();
    conn.close().await.ok();

    let counters = client.counters();
    let listing_calls = counters.since(&after_listing).total();
    let sample = Sample {
        listings: ids.len() as u64,
        pages: after_listing.calls(meli_api::Endpoint::ItemsSearch),
        listing_time,
        per_listing_time,
        listing_calls,
    };
    let active = active.unwrap_or(ids.len() as u64);
    let estimate = bound::extrapolate(&sample, active);
    info!(
        active,
        sampled = sample.listings,
        seconds = per_listing_time.as_secs_f64(),
        "old method sample done"
    );
    Ok(BaselineResult {
        active,
        sample,
        estimate,
        rows_written,
        calls: counters.by_endpoint(),
        retries: counters.retries,
        rate_limited: counters.rate_limited,
        limits,
    })
}

/// One item read, then one stock read of its user product (the item-level one, else the
/// first variation's); a listing without a user product keeps its own quantity.
async fn read_quantity(client: &MeliClient, id: &str) -> Result<i64> {
    let mut results = client
        .items(&[id.to_owned()], &[], false)
        .await
        .with_context(|| format!("failed to read item {id}"))?;
    let result = results
        .pop()
        .ok_or_else(|| anyhow!("the read of item {id} came back empty"))?;
    let item = result
        .outcome
        .map_err(|e| anyhow!("ML answered {} for item {id}", e.code))?;

    let user_product = item.user_product_id.clone().or_else(|| {
        item.variations
            .iter()
            .find_map(|v| v.user_product_id.clone())
    });
    let Some(user_product) = user_product else {
        return Ok(item.available_quantity.unwrap_or(0));
    };
    match client.user_product_stock(&user_product).await {
        Ok(stock) => Ok(stock.total()),
        Err(meli_api::Error::NotFound { .. }) => Ok(0),
        Err(e) => Err(anyhow!(e).context(format!("failed to read the stock of {user_product}"))),
    }
}

/// A client at concurrency 1 paced at `limits`, holding the simulator's tokens.
fn client(sim: &SimHandle, limits: Limits) -> Result<MeliClient> {
    let credentials = sim.credentials();
    let config = ClientConfig {
        base_url: sim.base_url(),
        requests_per_second: limits.requests_per_second,
        user_product_stock_per_minute: limits.stock_reads_per_minute.round().max(1.0) as u32,
        max_concurrency: 1,
        ..ClientConfig::default()
    };
    let oauth = OAuthClient::new(
        &config,
        credentials.app_id.clone(),
        SecretString::from(credentials.secret.clone()),
    )?;
    let tokens = TokenSet {
        access_token: SecretString::from(credentials.access_token.clone()),
        refresh_token: Some(SecretString::from(credentials.refresh_token.clone())),
        expires_at: Utc::now()
            + chrono::Duration::seconds(sim.config().access_token_ttl.as_secs() as i64),
        user_id: credentials.seller_id,
        scope: Some("offline_access read write".to_owned()),
    };
    let provider = InMemoryTokenProvider::new(oauth, tokens);
    Ok(MeliClient::new(config, Arc::new(provider))?)
}

/// Stock reads among the sample's calls.
pub fn stock_reads(result: &BaselineResult) -> u64 {
    result.calls.get(STOCK_ENDPOINT).copied().unwrap_or(0)
}
