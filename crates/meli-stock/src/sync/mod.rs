//! One sync run: list every listing, read what changed, decide every row, write once.
//!
//! The steps, in order:
//! 1. check the seller's inventory schema, then take the seller's lock (a second concurrent
//!    run exits at once with [`Failure::Locked`]);
//! 2. record the run as started;
//! 3. list every item id with one unfiltered scan (every status: active, paused,
//!    under_review, inactive, closed, …), multiget the items 20 a call, and read the
//!    per-location breakdown of the user products [`plan::ReadSelector`] chooses within the
//!    run's budget, all as one pipeline ([`fetch`]); a scan that breaks off or comes back
//!    short makes the listing incomplete and the run fails, writing nothing;
//! 4. compute every managed row ([`plan::build_plan`]), refuse to zero out more than the
//!    configured share of rows, and write everything in one transaction;
//! 5. record the run's figures, also when it fails.
//!
//! A breakdown read that fails (after the client's retries) is not fatal: that user product
//! keeps the multiget's value and the failure is logged and counted as deferred. Every other
//! failure ends the run before anything is written.
//!
//! A dry run does steps 1 to 4 without the write, and appends a run record marked
//! `dry_run` to the ledger; it changes no inventory row and none of the state the next run
//! starts from.

mod fetch;
pub mod plan;
mod report;

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use anyhow::anyhow;
use chrono::Utc;
use meli_api::MeliClient;
use tracing::{debug, info, warn};

pub use report::{ChangeLine, RunJson, SyncReport, peak_rss_kib};

use crate::config::Config;
use crate::error::Failure;
use crate::progress::Progress;
use crate::store::{
    DesiredStock, InventoryLayout, ItemMapRow, LocationStock, RunOutcome, RunRecord, Store,
    SyncState, UnmatchedRow, UserProductRead, WriteSet,
};
use fetch::{FetchSpec, Fetched, StockRead};
use plan::{Line, MatchMode, Plan, PlanInput, PriorKey, PriorUserProduct, ReadSelector, Unit};

/// The item fields every run asks for; everything else is trimmed from multiget bodies.
const ITEM_ATTRIBUTES: &[&str] = &[
    "id",
    "status",
    "sub_status",
    "available_quantity",
    "user_product_id",
    "inventory_id",
    "variations",
];

/// Matching by SKU also needs the item's attributes (where `SELLER_SKU` lives).
const SKU_ATTRIBUTES: &[&str] = &[
    "id",
    "status",
    "sub_status",
    "available_quantity",
    "user_product_id",
    "inventory_id",
    "variations",
    "attributes",
];

/// Disagreements logged one by one at DEBUG; the rest are only counted.
const DISAGREEMENTS_LOGGED: usize = 20;

/// What the caller asked of this run.
#[derive(Clone, Debug, Default)]
pub struct SyncOptions {
    /// Decide everything, write nothing.
    pub dry_run: bool,
    /// Write even when the run zeroes more rows than the guard allows.
    pub allow_mass_zero: bool,
    /// The seller to sync; otherwise the configured one, otherwise `/users/me`.
    pub seller_id: Option<u64>,
}

/// Runs one sync for one seller and records it.
///
/// # Errors
/// [`Failure::Input`] for a bad inventory schema, [`Failure::Locked`] when another run holds
/// the seller, [`Failure::Reauth`] when ML refuses the grant, [`Failure::Run`] otherwise.
pub async fn run(
    store: &Store,
    client: &MeliClient,
    config: &Config,
    options: &SyncOptions,
    progress: &Progress,
) -> Result<SyncReport, Failure> {
    let layout = store
        .check_inventory(&config.inventory)
        .await
        .map_err(|e| Failure::Input(e.into()))?;

    let seller_id = match options.seller_id.or(config.ml.seller_id) {
        Some(id) => id,
        None => client.users_me().await.map_err(api_failure)?.id,
    };

    let Some(lock) = store
        .try_lock_seller(seller_id)
        .await
        .map_err(|e| Failure::Run(e.into()))?
    else {
        return Err(Failure::Locked { seller_id });
    };

    let started_at = crate::store::now_micros();
    let run_id = store
        .start_run(seller_id, started_at, options.dry_run)
        .await
        .map_err(|e| Failure::Run(e.into()))?;
    let mut record = RunRecord::started(run_id, seller_id, started_at, options.dry_run);
    info!(run_id = %run_id, seller_id, dry_run = options.dry_run, "sync run started");

    let clock = Instant::now();
    let counters_before = client.counters();
    let mut timings = Timings::default();
    let result = execute(
        store,
        client,
        config,
        options,
        progress,
        &layout,
        &mut record,
        &mut timings,
    )
    .await;

    let counters = client.counters().since(&counters_before);
    record.finished_at = Some(Utc::now());
    record.api_calls = counters.by_endpoint();
    record.retries = counters.retries;
    record.rate_limited = counters.rate_limited;
    let elapsed = clock.elapsed();

    let outcome = match result {
        Ok(changes) => {
            record.outcome = RunOutcome::Success;
            info!(
                run_id = %run_id,
                seller_id,
                dry_run = record.dry_run,
                items = record.items_listed,
                user_products_read = record.user_products_read,
                rows_written = record.rows_written,
                rows_changed = record.rows_changed,
                rows_zeroed = record.rows_zeroed,
                unmatched = record.unmatched,
                disagreements = record.disagreements,
                api_calls = counters.total(),
                retries = record.retries,
                rate_limited = record.rate_limited,
                elapsed_ms = elapsed.as_millis() as u64,
                "sync run finished"
            );
            Ok(changes)
        }
        Err(failure) => {
            record.outcome = RunOutcome::Failed;
            record.error = Some(failure.to_string());
            warn!(
                run_id = %run_id,
                seller_id,
                elapsed_ms = elapsed.as_millis() as u64,
                error = %failure,
                "sync run failed"
            );
            Err(failure)
        }
    };

    let finished = store.finish_run(&record).await;
    if let Err(e) = lock.release().await {
        warn!(seller_id, error = %e, "releasing the seller lock failed; it ends with the process");
    }
    finished.map_err(|e| Failure::Run(e.into()))?;

    outcome.map(|changes| SyncReport {
        record,
        changes,
        elapsed,
        write_time: timings.write,
    })
}

/// Durations a caller (the benchmark) wants apart from the whole run.
#[derive(Debug, Default)]
struct Timings {
    write: Option<Duration>,
}

#[allow(clippy::too_many_arguments)]
async fn execute(
    store: &Store,
    client: &MeliClient,
    config: &Config,
    options: &SyncOptions,
    progress: &Progress,
    layout: &InventoryLayout,
    record: &mut RunRecord,
    timings: &mut Timings,
) -> Result<Vec<ChangeLine>, Failure> {
    let seller_id = record.seller_id;
    let state = store
        .load_state(seller_id)
        .await
        .map_err(|e| Failure::Run(e.into()))?;
    let (prior_lines, prior_ups) = prior_of(&state);
    let last_items = last_items(&state);
    // The previous run's view is in the three maps above; a large catalogue's item map is
    // not kept through the run.
    drop(state);

    let now = Utc::now();
    let max_age =
        chrono::Duration::from_std(config.sync.stock_max_age).unwrap_or(chrono::Duration::MAX);
    let selector = ReadSelector::new(
        &prior_lines,
        &prior_ups,
        max_age,
        now,
        config.sync.stock_read_budget.get(),
    );
    let sku = config.sync.match_mode == MatchMode::Sku;
    let spec = FetchSpec {
        seller_id,
        attributes: if sku { SKU_ATTRIBUTES } else { ITEM_ATTRIBUTES },
        include_all_attributes: sku,
        stock_concurrency: config.ml.concurrency,
    };

    let fetched = fetch::fetch(client, &spec, selector, progress).await?;
    record.listing_complete = true;
    record.items_listed = fetched.listed;
    record.items_read = fetched.items_read;
    record.user_products_read = fetched.reads.len() as u64;
    let by_reason = |reason: plan::ReadReason| {
        fetched
            .reads
            .values()
            .filter(|r| r.reason == reason)
            .count()
    };
    debug!(
        changed = by_reason(plan::ReadReason::Changed),
        new = by_reason(plan::ReadReason::New),
        stale = by_reason(plan::ReadReason::Stale),
        gone = fetched.gone.len(),
        "listing and stock reads done"
    );
    if fetched.deferred_reads > 0 || fetched.failed_reads > 0 {
        info!(
            deferred = fetched.deferred_reads,
            failed = fetched.failed_reads,
            budget = config.sync.stock_read_budget.get(),
            "some user products keep the listing's quantity until a later run reads them"
        );
    }

    let products = store
        .load_products(layout)
        .await
        .map_err(|e| Failure::Run(e.into()))?;
    let (_, current) = store
        .load_ml_stock(layout)
        .await
        .map_err(|e| Failure::Run(e.into()))?;
    let read_totals: HashMap<String, i64> = fetched
        .reads
        .iter()
        .map(|(up, read)| (up.clone(), read.stock.total()))
        .collect();
    let mut plan = plan::build_plan(&PlanInput {
        lines: &fetched.lines,
        read_totals: &read_totals,
        products: &products,
        current: &current,
        mode: config.sync.match_mode,
    });
    // The plan holds what it needs of its inputs.
    drop((products, current, read_totals, prior_lines, prior_ups));
    record.unmatched = plan.unmatched.len() as u64;
    record.disagreements = plan.disagreements.len() as u64;
    record.rows_zeroed = plan.zeroed as u64;
    log_disagreements(&plan);

    guard_mass_zero(config, options, &plan)?;

    if options.dry_run {
        record.rows_changed = plan.changes.len() as u64;
        return Ok(report::change_lines(plan.changes));
    }

    // The write set and the change lines take the data over rather than copying it, and the
    // plan goes before the statements are encoded: a large catalogue's data is held once.
    let writes = write_set(record, config, &plan, fetched, &last_items);
    let changes = report::change_lines(std::mem::take(&mut plan.changes));
    drop((plan, last_items));
    let bar = progress.phase("write", Some(writes.desired.len() as u64));
    let started = Instant::now();
    let written = store
        .apply(layout, &writes)
        .await
        .map_err(|e| Failure::Run(e.into()))?;
    timings.write = Some(started.elapsed());
    bar.finish_and_clear();

    record.rows_written = written.rows_written;
    record.rows_changed = written.rows_changed;
    record.rows_zeroed = written.rows_zeroed;
    Ok(changes)
}

/// The previous run's view, keyed the way the selector looks things up.
fn prior_of(state: &SyncState) -> (HashMap<PriorKey, i64>, HashMap<String, PriorUserProduct>) {
    let lines = state
        .items
        .iter()
        .filter_map(|(key, row)| row.available_quantity.map(|q| (key.clone(), q)))
        .collect();
    let ups = state
        .user_products
        .iter()
        .map(|(id, up)| {
            let prior = PriorUserProduct {
                total: up.total,
                read_at: up.read_at,
            };
            (id.clone(), prior)
        })
        .collect();
    (lines, ups)
}

fn log_disagreements(plan: &Plan) {
    for d in plan.disagreements.iter().take(DISAGREEMENTS_LOGGED) {
        debug!(
            user_product_id = %d.user_product_id,
            item_id = %d.item_id,
            variation_id = d.variation_id,
            reported = d.reported,
            used = d.used,
            "listing quantity differs from its user product's stock"
        );
    }
    if !plan.disagreements.is_empty() {
        warn!(
            disagreements = plan.disagreements.len(),
            "listing quantities disagreed with user-product stock; the location sums were used"
        );
    }
}

/// Refuses a run that would zero out too many rows at once.
fn guard_mass_zero(config: &Config, options: &SyncOptions, plan: &Plan) -> Result<(), Failure> {
    if options.allow_mass_zero || plan.managed == 0 {
        return Ok(());
    }

    let share = plan.zeroed as f64 / plan.managed as f64;
    if plan.zeroed >= config.sync.mass_zero_min_rows && share > config.sync.mass_zero_max {
        return Err(Failure::Run(anyhow!(
            "this run would set {} of the {} rows of the ML warehouse to zero ({:.0}%), more \
             than the {:.0}% allowed, so nothing was written. If ML really holds no stock for \
             them, run again with --allow-mass-zero (or raise MELI_STOCK_MASS_ZERO_MAX)",
            plan.zeroed,
            plan.managed,
            share * 100.0,
            config.sync.mass_zero_max * 100.0
        )));
    }
    Ok(())
}

/// Product id -> the item it came from in the previous run, so a product whose listing is
/// gone keeps that item in the ledger.
fn last_items(state: &SyncState) -> HashMap<String, String> {
    let mut last_item: HashMap<String, String> = HashMap::new();
    for row in state.items.values() {
        if let Some(product) = row.product_id.as_deref() {
            last_item
                .entry(product.to_owned())
                .or_insert_with(|| row.item_id.clone());
        }
    }
    last_item
}

/// Everything the run writes, in the store's terms.
fn write_set(
    record: &RunRecord,
    config: &Config,
    plan: &Plan,
    fetched: Fetched,
    last_item: &HashMap<String, String>,
) -> WriteSet {
    let desired = plan
        .desired
        .iter()
        .map(|(product_id, quantity)| {
            let item_id = plan
                .product_items
                .get(product_id)
                .or_else(|| last_item.get(product_id.as_str()))
                .map(String::as_str)
                .unwrap_or_default();
            DesiredStock {
                product_id: product_id.clone(),
                quantity: *quantity,
                item_id: item_id.to_owned(),
            }
        })
        .collect();

    WriteSet {
        run_id: record.id,
        seller_id: record.seller_id,
        run_at: record.started_at,
        updated_by: config.sync.updated_by.clone(),
        desired,
        user_products: user_product_reads(&fetched.lines, fetched.reads),
        item_map: item_map_rows(plan, fetched.lines),
        unmatched: plan
            .unmatched
            .iter()
            .map(|u| UnmatchedRow {
                item_id: u.item_id.clone(),
                variation_id: u.variation_id.unwrap_or(0),
                match_key: Some(u.match_key.clone()).filter(|k| !k.is_empty()),
                status: u.status.clone(),
                available_quantity: Some(u.quantity),
            })
            .collect(),
    }
}

fn item_map_rows(plan: &Plan, lines: Vec<Line>) -> Vec<ItemMapRow> {
    lines
        .into_iter()
        .map(|line| {
            let key = (line.item_id, line.variation_id);
            let (match_key, product_id) = plan.line_products.get(&key).cloned().unwrap_or_default();
            let user_product_id = match line.unit {
                Unit::UserProduct(id) => Some(id),
                Unit::Line { .. } => None,
            };
            ItemMapRow {
                item_id: key.0,
                variation_id: key.1.unwrap_or(0),
                user_product_id,
                status: line.status,
                sub_status: line.sub_status,
                available_quantity: Some(line.reported),
                inventory_id: line.inventory_id,
                seller_sku: line.seller_sku,
                product_key: Some(match_key).filter(|k| !k.is_empty()),
                product_id,
            }
        })
        .collect()
}

fn user_product_reads(lines: &[Line], reads: BTreeMap<String, StockRead>) -> Vec<UserProductRead> {
    let mut reported: HashMap<&str, i64> = HashMap::new();
    for line in lines {
        if let Some(up) = line.user_product_id() {
            let slot = reported.entry(up).or_insert(line.reported);
            *slot = (*slot).max(line.reported);
        }
    }

    reads
        .into_iter()
        .map(|(up, read)| UserProductRead {
            item_quantity_at_read: reported.get(up.as_str()).copied(),
            user_product_id: up,
            version: read.stock.version,
            read_at: read.read_at,
            locations: merged_locations(read.stock.locations),
        })
        .collect()
}

/// The locations of one read, one entry per location key (ML lists each once; a repeat
/// would be summed rather than refused).
fn merged_locations(locations: Vec<meli_api::StockLocation>) -> Vec<LocationStock> {
    let mut out: Vec<LocationStock> = Vec::with_capacity(locations.len());
    for location in locations {
        let entry = LocationStock {
            kind: location.kind,
            store_id: location.store_id,
            network_node_id: location.network_node_id,
            quantity: location.quantity,
        };
        match out
            .iter_mut()
            .find(|l| l.location_key() == entry.location_key())
        {
            Some(existing) => existing.quantity += entry.quantity,
            None => out.push(entry),
        }
    }
    out
}

/// How a client error ends the run.
pub(crate) fn api_failure(e: meli_api::Error) -> Failure {
    if e.is_reauth_required() {
        return Failure::Reauth(anyhow!(e).context(
            "MercadoLibre refused the refresh token, so the seller must authorize the app \
             again: run `meli-stock auth url`, open the link, then `meli-stock auth exchange \
             --code <code>`",
        ));
    }
    Failure::Run(anyhow!(e))
}
