//! One catalogue size from start to end: the simulator, the databases, the three measured
//! meli-stock runs, the change of 1% of the stock between them, and the old method.
//!
//! The order, for `N` listings:
//! 1. a simulator with `N` listings and ML's limits times the *cold* factor; a fresh
//!    database with one product per listing;
//! 2. **cold**: the first sync, reading every user product (`MELI_STOCK_STOCK_READ_BUDGET=all`),
//!    so the next run has a breakdown of each to compare with;
//! 3. the **old method** on a sample of the active listings, into a database of its own;
//! 4. a second simulator from the same seed (the same catalogue, ids and quantities) with the
//!    *steady* factor, on which 1% of the listings sell a unit or are restocked;
//! 5. **changed**: the second sync on the first database, with the same budget (the stored
//!    account of the first simulator is removed first: the second one issues its own
//!    tokens, which the run imports);
//! 6. **cold, default budget**: a first sync into another fresh database with meli-stock's
//!    default read budget, what a new user's first run costs.
//!
//! Two factors, because the sim keeps its 80 ms latency while the limits are scaled: a cold
//! run is bound by 100 stock reads a minute and needs a large factor to finish in minutes,
//! while a run that reads few user products is bound by the overall rate, and with a large
//! factor it would instead measure how fast 80 ms pages can follow each other in a scan
//! (each needs the previous page's `scroll_id`). The steady factor keeps that chain well
//! under the rate bound, as it is at ML's real limits.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, ensure};
use meli_sim::{Catalogue, ListingKind, SimConfig, SimHandle};
use tracing::info;

use crate::baseline::{self, BaselineResult};
use crate::bound::{Allowance, CallCheck, CallCounts, Limits, changed_listings, concurrency_for};
use crate::child::{self, ChildRun, ChildSettings};
use crate::database::BenchDb;

/// What every size of a benchmark shares.
#[derive(Clone, Debug)]
pub struct BenchOptions {
    pub sizes: Vec<SizePlan>,
    /// Simulator latency of every ML answer.
    pub latency: Duration,
    /// Uniform +/- jitter around `latency`.
    pub jitter: Duration,
    /// Catalogue generator seed.
    pub seed: u64,
    /// Share of the listings changed between the cold and the changed run.
    pub change_share: f64,
    /// Active listings the old method syncs before its time is extrapolated.
    pub baseline_sample: usize,
    /// A PostgreSQL URL whose server gets the benchmark's databases.
    pub database_url: String,
    /// The `meli-stock` binary run as the sync process.
    pub meli_stock: PathBuf,
}

/// One catalogue size and its scale factors.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SizePlan {
    pub listings: usize,
    /// Factor of ML's limits for the cold run and the old method's simulator.
    pub cold_scale: f64,
    /// Factor for the changed run and the default-budget cold run.
    pub steady_scale: f64,
}

/// The three measured runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunKind {
    Cold,
    Changed,
    ColdDefaultBudget,
}

impl RunKind {
    /// Row label in the report.
    pub fn label(self) -> &'static str {
        match self {
            RunKind::Cold => "cold, every UP read",
            RunKind::Changed => "1% changed",
            RunKind::ColdDefaultBudget => "cold, default budget",
        }
    }
}

/// One measured meli-stock run.
#[derive(Clone, Debug)]
pub struct RunResult {
    pub kind: RunKind,
    pub scale: f64,
    /// The limits of the simulator and of the client in this run.
    pub limits: Limits,
    pub settings: ChildSettings,
    pub child: ChildRun,
    /// What the simulator counted during the run, by (endpoint, status).
    pub sim_requests: BTreeMap<(String, u16), u64>,
    /// The calls the bound counts.
    pub needed: CallCounts,
    pub bound: Duration,
    pub efficiency: f64,
    pub calls: CallCheck,
    /// Rows of the ML warehouse in the database after the run.
    pub rows_in_db: u64,
}

/// Everything measured at one size.
#[derive(Clone, Debug)]
pub struct SizeResult {
    pub plan: SizePlan,
    /// Listings of the seller in the catalogue (every status).
    pub listings: usize,
    /// Active listings, the only ones the old method sees.
    pub active: usize,
    /// Distinct user products behind the listings.
    pub user_products: usize,
    /// Products inserted (one per listing).
    pub products: u64,
    /// Listings sold or restocked before the changed run.
    pub changed: usize,
    pub runs: Vec<RunResult>,
    pub baseline: BaselineResult,
}

impl SizeResult {
    /// The run of `kind`.
    pub fn run(&self, kind: RunKind) -> Option<&RunResult> {
        self.runs.iter().find(|r| r.kind == kind)
    }
}

/// Runs every step of one size. Databases are dropped at the end, also on failure.
///
/// # Errors
/// A simulator, database or sync failure, naming the step.
pub async fn run_size(options: &BenchOptions, plan: SizePlan) -> Result<SizeResult> {
    let mut databases = Vec::new();
    let result = run_steps(options, plan, &mut databases).await;
    for db in databases {
        db.drop_database().await;
    }
    result
}

async fn run_steps(
    options: &BenchOptions,
    plan: SizePlan,
    databases: &mut Vec<BenchDb>,
) -> Result<SizeResult> {
    let n = plan.listings;
    info!(
        listings = n,
        scale = plan.cold_scale,
        "starting the simulator"
    );
    let cold_sim = spawn(options, n, plan.cold_scale).await?;
    let catalogue = cold_sim.catalogue();
    let keys = item_ids(&catalogue);

    databases.push(BenchDb::create(&options.database_url, "sync").await?);
    let products = databases[0].add_products(&keys).await?;
    let cold = measure(
        options,
        &cold_sim,
        &databases[0],
        RunKind::Cold,
        plan.cold_scale,
    )
    .await?;

    info!(listings = n, sample = options.baseline_sample, "old method");
    databases.push(BenchDb::create(&options.database_url, "old").await?);
    databases[1].add_products(&keys).await?;
    let baseline = baseline::run(
        &cold_sim,
        &databases[1],
        options.baseline_sample,
        Limits::ML,
    )
    .await
    .context("the old method failed")?;
    cold_sim.shutdown().await;

    let steady_sim = spawn(options, n, plan.steady_scale).await?;
    ensure!(
        steady_sim.catalogue() == catalogue,
        "the second simulator did not rebuild the same catalogue from seed {}",
        options.seed
    );
    let changed = change_stock(&steady_sim, &catalogue, options.change_share)?;
    // The second simulator has its own tokens; the first one's stored account would be
    // refused (invalid_grant), so it goes and the next run imports the new pair.
    databases[0].forget_accounts().await?;
    let scale = plan.steady_scale;
    let second = measure(options, &steady_sim, &databases[0], RunKind::Changed, scale).await?;

    databases.push(BenchDb::create(&options.database_url, "default").await?);
    databases[2].add_products(&keys).await?;
    let kind = RunKind::ColdDefaultBudget;
    let default_budget = measure(options, &steady_sim, &databases[2], kind, scale).await?;
    steady_sim.shutdown().await;

    Ok(SizeResult {
        plan,
        listings: keys.len(),
        active: catalogue
            .listings
            .iter()
            .filter(|l| l.kind != ListingKind::Foreign && l.status == "active")
            .count(),
        user_products: user_products(&catalogue),
        products,
        changed,
        runs: vec![cold, second, default_budget],
        baseline,
    })
}

async fn spawn(options: &BenchOptions, listings: usize, scale: f64) -> Result<SimHandle> {
    let config = SimConfig {
        items: listings,
        seed: options.seed,
        latency: options.latency,
        latency_jitter: options.jitter,
        ..SimConfig::default()
    }
    .scaled_limits(scale);
    meli_sim::spawn(config)
        .await
        .context("failed to start the simulator")
}

/// One meli-stock run in a child process, with the simulator's counters around it.
async fn measure(
    options: &BenchOptions,
    sim: &SimHandle,
    db: &BenchDb,
    kind: RunKind,
    scale: f64,
) -> Result<RunResult> {
    let config = sim.config();
    let limits = Limits {
        requests_per_second: config.rps,
        stock_reads_per_minute: f64::from(config.user_product_stock_rpm),
    };
    let settings = ChildSettings {
        requests_per_second: config.rps,
        stock_reads_per_minute: config.user_product_stock_rpm,
        concurrency: concurrency_for(config.rps, options.latency + options.jitter),
        read_budget: (kind != RunKind::ColdDefaultBudget).then(|| "all".to_owned()),
    };
    info!(
        run = kind.label(),
        scale,
        concurrency = settings.concurrency,
        "sync run"
    );

    let before = sim.counters();
    let child = child::run_sync(&options.meli_stock, sim, &db.url, &settings)
        .await
        .with_context(|| format!("the {} run failed", kind.label()))?;
    let after = sim.counters();
    let sim_requests: BTreeMap<(String, u16), u64> = after
        .requests
        .iter()
        .filter_map(|(key, n)| {
            let delta = n - before.requests.get(key).copied().unwrap_or(0);
            (delta > 0).then(|| (key.clone(), delta))
        })
        .collect();

    let needed = CallCounts::needed(&sim_requests);
    let bound = limits.lower_bound(needed);
    let efficiency = crate::bound::efficiency(bound, child.wall);
    let output = &child.output;
    let allowance = Allowance::for_run(output.items_listed, output.user_products_read);
    let calls = CallCheck::new(allowance, output.data_calls(), output.retries);
    let rows_in_db = db.stock_rows().await?;
    info!(
        run = kind.label(),
        wall_s = child.wall.as_secs_f64(),
        bound_s = bound.as_secs_f64(),
        efficiency,
        "sync run measured"
    );

    Ok(RunResult {
        kind,
        scale,
        limits,
        settings,
        child,
        sim_requests,
        needed,
        bound,
        efficiency,
        calls,
        rows_in_db,
    })
}

/// The seller's item ids (the products' match keys).
fn item_ids(catalogue: &Catalogue) -> Vec<String> {
    catalogue
        .listings
        .iter()
        .filter(|l| l.kind != ListingKind::Foreign)
        .map(|l| l.id.clone())
        .collect()
}

/// Distinct user products of the seller's listings and variations.
fn user_products(catalogue: &Catalogue) -> usize {
    let mut ups = std::collections::BTreeSet::new();
    for listing in catalogue
        .listings
        .iter()
        .filter(|l| l.kind != ListingKind::Foreign)
    {
        ups.extend(listing.user_product_id.as_deref());
        ups.extend(
            listing
                .variations
                .iter()
                .filter_map(|v| v.user_product_id.as_deref()),
        );
    }
    ups.len()
}

/// Sells one unit of (or, when fewer than two are left, restocks) `share` of the listings,
/// spread evenly over the catalogue. Returns how many changed.
fn change_stock(sim: &SimHandle, catalogue: &Catalogue, share: f64) -> Result<usize> {
    let candidates: Vec<_> = catalogue
        .listings
        .iter()
        .filter(|l| l.kind != ListingKind::Foreign && l.status != "closed")
        .collect();
    let wanted = changed_listings(item_ids(catalogue).len(), share).min(candidates.len());
    let step = (candidates.len() / wanted.max(1)).max(1);

    let mut changed = 0;
    for listing in candidates.iter().step_by(step).take(wanted) {
        if listing.available_quantity >= 2 {
            sim.sell(&listing.id, 1)?;
        } else {
            sim.restock(&listing.id, 5)?;
        }
        changed += 1;
    }
    info!(changed, "stock changed on the simulator");
    Ok(changed)
}
