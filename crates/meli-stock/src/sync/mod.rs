//! One sync run: list every listing, read what changed, decide every row, write once.
//!
//! The steps, in order:
//! 1. check the seller's inventory schema, then take the seller's lock (a second concurrent
//!    run exits at once with [`Failure::Locked`]);
//! 2. record the run as started;
//! 3. list every item id with one unfiltered scan (every status: active, paused,
//!    under_review, inactive, closed, …), multiget the items 20 a call, and read the
//!    per-location breakdown of the user products [`select::ReadSelector`] chooses within the
//!    run's budget, all as one pipeline (the `fetch` module); a scan that breaks off or comes back
//!    short makes the listing incomplete and the run fails, writing nothing;
//! 4. compute every managed row ([`plan::build_plan`]), refuse to zero out more than the
//!    configured share of rows, and write everything in one transaction;
//! 5. record the run's figures, also when it fails.
//!
//! A breakdown read that fails (after the client's retries) is not fatal: that user product
//! keeps the multiget's value and the failure is logged and counted as deferred. Every other
//! failure ends the run before anything is written.
//!
//! [`run_until`] also takes a stop signal: when it fires before the run is done, the run's
//! work is dropped where it stands (an open write transaction rolls back), the run is recorded
//! as failed with a "cancelled" error, and the lock is released, as for any other failure.
//! Known limitation: a stop that lands while the COMMIT itself is in flight cannot know
//! whether it went through; the rows are whole either way, but the run may then be recorded
//! as cancelled although its write committed.
//!
//! A dry run does steps 1 to 4 without the write, and appends a run record marked
//! `dry_run` to the ledger; it changes no inventory row and none of the state the next run
//! starts from.

mod fetch;
pub mod plan;
mod report;
pub mod select;
mod writes;

use std::collections::HashMap;
use std::future::Future;
use std::time::{Duration, Instant};

use anyhow::anyhow;
use chrono::Utc;
use meli_api::{CountersSnapshot, MeliClient};
use tracing::{debug, info, warn};

pub use report::{ChangeLine, RunJson, SyncReport, peak_rss_kib};

use crate::config::Config;
use crate::error::Failure;
use crate::progress::Progress;
use crate::store::{InventoryLayout, RunOutcome, RunRecord, Store, SyncState};
use fetch::FetchSpec;
use plan::{MatchMode, Plan, PlanInput};
use select::{PriorKey, PriorUserProduct, ReadReason, ReadSelector};

/// The item fields every run asks for; everything else is trimmed from multiget bodies.
const ITEM_ATTRIBUTES: &[&str] = &[
    "id",
    "status",
    "sub_status",
    "available_quantity",
    "user_product_id",
    "inventory_id",
    "variations",
    // Last, because only matching by SKU asks for it: `SELLER_SKU` lives among them.
    "attributes",
];

/// The multiget fields a run needs with `mode`.
fn item_attributes(mode: MatchMode) -> &'static [&'static str] {
    match mode {
        MatchMode::Sku => ITEM_ATTRIBUTES,
        MatchMode::Item | MatchMode::Variation => &ITEM_ATTRIBUTES[..ITEM_ATTRIBUTES.len() - 1],
    }
}

/// Changed rows a real run's report lists (a dry run lists them all); the stock-change
/// ledger has every one.
const CHANGES_KEPT: usize = 1000;

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
    /// Where the run's API call counts start, as a snapshot of the client's counters;
    /// `None` starts them with the run. A client built for this one run passes an empty
    /// snapshot, so its set-up calls (a first refresh, `/users/me`) count for the run.
    pub calls_counted_from: Option<CountersSnapshot>,
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
    run_until(
        store,
        client,
        config,
        options,
        progress,
        std::future::pending(),
    )
    .await
}

/// The message of a run stopped by [`run_until`]'s signal.
pub const CANCELLED: &str = "cancelled: meli-stock was stopping and the run did not finish \
                             within the shutdown deadline, so it was rolled back and wrote nothing";

/// [`run`], stopped when `stop` completes first: the run is then rolled back, recorded as
/// failed with the [`CANCELLED`] error, and its lock released.
///
/// # Errors
/// As [`run`]; a stopped run is [`Failure::Run`] with the [`CANCELLED`] message.
pub async fn run_until(
    store: &Store,
    client: &MeliClient,
    config: &Config,
    options: &SyncOptions,
    progress: &Progress,
    stop: impl Future<Output = ()>,
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
    let counters_before = options
        .calls_counted_from
        .clone()
        .unwrap_or_else(|| client.counters());
    let mut timings = Timings::default();
    let work = execute(
        store,
        client,
        config,
        options,
        progress,
        &layout,
        &mut record,
        &mut timings,
    );
    // Dropping the unfinished work drops any open write transaction, which rolls it back.
    let result = tokio::select! {
        biased;
        result = work => result,
        () = stop => Err(Failure::Run(anyhow!(CANCELLED))),
    };

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
    let mut state = store
        .load_state(seller_id)
        .await
        .map_err(|e| Failure::Run(e.into()))?;
    let (prior_lines, prior_ups) = prior_of(&state);
    let prior_items = writes::PriorItems::of(&state);
    let claimed_by_others = std::mem::take(&mut state.claimed_by_others);
    // The previous run's view is in the maps above; a large catalogue's item map is not
    // kept through the run.
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
        attributes: item_attributes(config.sync.match_mode),
        include_all_attributes: sku,
        stock_concurrency: config.ml.concurrency,
    };

    let fetched = fetch::fetch(client, &spec, selector, progress).await?;
    record.listing_complete = true;
    record.items_listed = fetched.listed;
    record.items_read = fetched.items_read;
    record.user_products_read = fetched.reads.len() as u64;
    let by_reason = |reason: ReadReason| {
        fetched
            .reads
            .values()
            .filter(|r| r.reason == reason)
            .count()
    };
    debug!(
        changed = by_reason(ReadReason::Changed),
        new = by_reason(ReadReason::New),
        stale = by_reason(ReadReason::Stale),
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
        claimed_by_others: &claimed_by_others,
        mode: config.sync.match_mode,
    });
    // The plan holds what it needs of its inputs.
    drop((
        products,
        current,
        read_totals,
        prior_lines,
        prior_ups,
        claimed_by_others,
    ));
    record.unmatched = plan.unmatched.len() as u64;
    record.disagreements = plan.disagreements.len() as u64;
    record.rows_zeroed = plan.zeroed as u64;
    log_disagreements(&plan);

    guard_mass_zero(config, options, &plan)?;

    if options.dry_run {
        record.rows_changed = plan.changes.len() as u64;
        return Ok(report::change_lines(plan.changes, None));
    }

    // The write set and the change lines take the data over rather than copying it, and the
    // plan goes before the statements are encoded: a large catalogue's data is held once.
    let writes = writes::write_set(
        record,
        &config.sync.updated_by,
        &plan,
        fetched,
        &prior_items,
    );
    let changes = report::change_lines(std::mem::take(&mut plan.changes), Some(CHANGES_KEPT));
    drop((plan, prior_items));
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

/// How a client error ends the run.
pub(crate) fn api_failure(e: meli_api::Error) -> Failure {
    if e.is_reauth_required() {
        return Failure::Reauth(anyhow!(e).context(
            "MercadoLibre refused the refresh token, so the seller must authorize the app \
             again: run `meli-stock auth url`, open the link, then `meli-stock auth exchange \
             --code <code>`",
        ));
    }
    if matches!(e, meli_api::Error::InvalidClient { .. }) {
        return Failure::Input(anyhow!(e).context(
            "MercadoLibre refused the app's credentials: check ML_APP_ID and ML_SECRET \
             (the application's client id and secret)",
        ));
    }
    Failure::Run(anyhow!(e))
}
