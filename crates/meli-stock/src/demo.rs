//! `meli-stock demo`: the whole product offline, with no credentials and no server.
//!
//! It starts the simulator in-process with a realistic catalogue (every kind of listing the
//! generator knows: plain, Full, Full + own stock, multi-origin, shared user products,
//! legacy variations, sold out, paused by the seller, closed), creates the inventory tables in
//! the embedded SQLite file, adds a product for most listings (some are left unmatched on
//! purpose), and runs a real sync through the real client. Then it sells and restocks a few
//! items on the simulator and syncs again, so the second summary shows exactly those rows
//! changing. It ends with a sample of `warehouse_stock` and the monitoring query.
//!
//! The simulator's limits and the client's are both multiplied by `--scale` (default 200),
//! so a run that takes minutes at ML's real limits takes seconds; the output says so.
//!
//! The demo always uses the embedded SQLite file (`MELI_STOCK_SQLITE_PATH`, default
//! `meli-stock.db`), never `DATABASE_URL`, so it cannot touch a real inventory. It stores the
//! simulator's seller account there like `meli-stock auth exchange` would (encrypted with
//! `MELI_STOCK_KEY` or the local key file `meli-stock.key`), replacing the account of an
//! earlier demo, and syncs with the stored tokens; `meli-stock auth status` shows it after.

use anyhow::{Context, anyhow};
use clap::Args;
use meli_sim::{ListingKind, SimConfig, SimHandle};
use secrecy::SecretString;

use crate::config::{Config, ReadBudget};
use crate::error::Failure;
use crate::progress::Progress;
use crate::store::{EventKind, InventoryLayout, Store, now_micros};
use crate::sync::{self, SyncOptions, SyncReport};
use crate::tokens::{self, NewAccount, Vault};

/// Every how many listings one is left without a product, to show unmatched reporting.
const UNMATCHED_EVERY: usize = 40;

/// Rows of `warehouse_stock` printed at the end.
const SAMPLE_ROWS: u32 = 12;

/// `meli-stock demo` flags.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Listings in the simulated catalogue.
    #[arg(long, default_value_t = 2500)]
    pub items: usize,
    /// Seed of the catalogue generator (the same seed builds the same catalogue).
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Multiplies ML's documented limits, on the simulator and the client alike.
    #[arg(long, default_value_t = 200.0)]
    pub scale: f64,
}

/// Runs the demo and prints what happened.
///
/// # Errors
/// A [`Failure`] when the simulator cannot start, the SQLite file cannot be opened or
/// written, or a sync fails.
pub async fn run(config: &Config, args: &DemoArgs, progress: &Progress) -> Result<(), Failure> {
    if args.items == 0 || !(args.scale.is_finite() && args.scale > 0.0) {
        return Err(Failure::Input(anyhow!(
            "--items must be at least 1 and --scale a positive number"
        )));
    }
    if config.database_url.is_some() {
        outln!(
            "note: the demo ignores DATABASE_URL and uses the embedded file {}",
            config.sqlite_path.display()
        );
    }

    let sim = start_simulator(args).await?;
    outln!(
        "simulated MercadoLibre at {} with {} listings (seed {}), ML's limits x{}",
        sim.base_url(),
        args.items,
        args.seed,
        args.scale
    );

    let store = Store::connect(None, &config.sqlite_path)
        .await
        .map_err(|e| Failure::Input(e.into()))?;
    let init = store
        .init_inventory(&config.inventory)
        .await
        .map_err(|e| Failure::Input(e.into()))?;
    out!("{init}");
    let layout = store
        .check_inventory(&config.inventory)
        .await
        .map_err(|e| Failure::Input(e.into()))?;
    let added = add_products(&store, &layout, &sim).await?;
    outln!(
        "products table: {added} ML products added (1 listing in {UNMATCHED_EVERY} left \
         without one, to show unmatched reporting)"
    );

    let demo_config = demo_config(config, &sim);
    let client = demo_client(&store, &demo_config, &sim).await?;
    let options = SyncOptions {
        seller_id: Some(sim.config().seller_id),
        ..SyncOptions::default()
    };

    outln!("\n== first sync");
    let first = sync::run(&store, &client, &demo_config, &options, progress).await?;
    out!("{}", first.summary());

    let activity = simulate_activity(&sim)?;
    outln!("\n== on the simulator: {activity}");
    outln!("== second sync");
    let second = sync::run(&store, &client, &demo_config, &options, progress).await?;
    out!("{}", second.summary());
    print_changes(&second);

    print_sample(&store, &layout).await?;
    outln!(
        "\nthe data is in {}; try `meli-stock runs` and `meli-stock report unmatched`",
        config.sqlite_path.display()
    );
    store.close().await;
    sim.shutdown().await;
    Ok(())
}

async fn start_simulator(args: &DemoArgs) -> Result<SimHandle, Failure> {
    let config = SimConfig {
        items: args.items,
        seed: args.seed,
        ..SimConfig::default()
    }
    .scaled_limits(args.scale);
    meli_sim::spawn(config)
        .await
        .context("failed to start the simulator")
        .map_err(Failure::Run)
}

/// One product per listing of the seller, except every [`UNMATCHED_EVERY`]th.
async fn add_products(
    store: &Store,
    layout: &InventoryLayout,
    sim: &SimHandle,
) -> Result<u64, Failure> {
    let keys = product_keys(sim, UNMATCHED_EVERY);
    store
        .insert_missing_products(layout, &keys)
        .await
        .map_err(|e| Failure::Run(e.into()))
}

/// The item ids of the simulated seller's listings that get a product: all but every
/// `unmatched_every`th, which stays unmatched to show the report.
pub fn product_keys(sim: &SimHandle, unmatched_every: usize) -> Vec<String> {
    sim.catalogue()
        .listings
        .iter()
        .filter(|l| l.kind != ListingKind::Foreign)
        .enumerate()
        .filter(|(i, _)| (i + 1) % unmatched_every != 0)
        .map(|(_, l)| l.id.clone())
        .collect()
}

/// The user's settings pointed at the simulator, with its app, its limits and every
/// breakdown read.
fn demo_config(config: &Config, sim: &SimHandle) -> Config {
    let sim_config = sim.config();
    let credentials = sim.credentials();
    let mut demo = config.clone();
    demo.ml.api_url = sim.base_url();
    demo.ml.seller_id = Some(sim_config.seller_id);
    demo.ml.app_id = Some(credentials.app_id.clone());
    demo.ml.secret = Some(SecretString::from(credentials.secret.clone()));
    demo.ml.access_token = None;
    demo.ml.refresh_token = None;
    demo.ml.requests_per_second = sim_config.rps;
    demo.ml.stock_reads_per_minute = sim_config.user_product_stock_rpm;
    demo.ml.concurrency = demo.ml.concurrency.max(16);
    demo.sync.stock_read_budget = ReadBudget::Unlimited;
    demo
}

/// Stores the simulator's account (as a code exchange would) and builds a client on the
/// stored tokens.
async fn demo_client(
    store: &Store,
    config: &Config,
    sim: &SimHandle,
) -> Result<meli_api::MeliClient, Failure> {
    let vault = Vault::open(store, config).await?;
    let credentials = sim.credentials();
    let issued_at = now_micros();
    let ttl = chrono::Duration::from_std(sim.config().access_token_ttl).unwrap_or_default();
    let tokens = meli_api::TokenSet {
        access_token: SecretString::from(credentials.access_token.clone()),
        refresh_token: Some(SecretString::from(credentials.refresh_token.clone())),
        expires_at: issued_at + ttl,
        user_id: credentials.seller_id,
        scope: Some("offline_access read write".to_owned()),
    };
    let account = NewAccount {
        seller_id: credentials.seller_id,
        app_id: &credentials.app_id,
        site_id: Some(&sim.config().site),
        nickname: Some("demo seller"),
        tokens: &tokens,
        issued_at,
        known_issue_time: true,
    };
    vault
        .save_account(
            account,
            EventKind::Authorized,
            "demo simulator account",
            true,
        )
        .await?;

    let options = tokens::provider_options(config);
    let seller = tokens::seller_client(&vault, config, credentials.seller_id, options).await?;
    Ok(seller.client)
}

/// Sells a few units, sells out a few listings and restocks one, as buyers and the seller
/// would between two runs. Returns a one-line description.
fn simulate_activity(sim: &SimHandle) -> Result<String, Failure> {
    let catalogue = sim.catalogue();
    let plain: Vec<_> = catalogue
        .listings
        .iter()
        .filter(|l| {
            l.kind == ListingKind::Plain && l.status == "active" && l.available_quantity > 2
        })
        .collect();
    let sold_out: Vec<_> = catalogue
        .listings
        .iter()
        .filter(|l| l.kind == ListingKind::SoldOut)
        .collect();

    let fail = |e: anyhow::Error| Failure::Run(e.context("the simulated activity failed"));
    let mut sales = 0;
    for listing in plain.iter().take(10) {
        sim.sell(&listing.id, 1).map_err(fail)?;
        sales += 1;
    }
    let mut sell_outs = 0;
    for listing in plain.iter().skip(10).take(3) {
        sim.sell(&listing.id, listing.available_quantity)
            .map_err(fail)?;
        sell_outs += 1;
    }
    let mut restocks = 0;
    if let Some(listing) = sold_out.first() {
        sim.restock(&listing.id, 12).map_err(fail)?;
        restocks += 1;
    }
    Ok(format!(
        "{sales} sales of one unit, {sell_outs} listings sold out (ML pauses them), \
         {restocks} sold-out listing restocked (ML reactivates it)"
    ))
}

fn print_changes(report: &SyncReport) {
    if report.changes.is_empty() {
        return;
    }
    outln!("rows changed by the second sync:");
    for change in report.changes.iter().take(20) {
        let old = change
            .old
            .map_or_else(|| "none".to_owned(), |o| o.to_string());
        outln!(
            "  product {:<6} item {:<14} {:>4} -> {}",
            change.product_id,
            change.item_id.as_deref().unwrap_or("(gone)"),
            old,
            change.new
        );
    }
}

async fn print_sample(store: &Store, layout: &InventoryLayout) -> Result<(), Failure> {
    let sample = store
        .ml_stock_sample(layout, SAMPLE_ROWS)
        .await
        .map_err(|e| Failure::Run(e.into()))?;
    outln!("\nwarehouse_stock (Mercado Libre warehouse, first {SAMPLE_ROWS} products):");
    outln!(
        "  {:<8} {:<16} {:>8}  {:<32} updated_by",
        "product",
        "external_id",
        "quantity",
        "last_updated"
    );
    for row in sample {
        outln!(
            "  {:<8} {:<16} {:>8}  {:<32} {}",
            row.product_id,
            row.match_key.unwrap_or_default(),
            row.quantity,
            row.last_updated.unwrap_or_default(),
            row.updated_by.unwrap_or_default()
        );
    }

    if let Some(fresh) = store
        .freshness(layout)
        .await
        .map_err(|e| Failure::Run(e.into()))?
    {
        outln!(
            "\nmonitoring query: warehouse {:?}, last_updated {}, updated_by {}, {} products",
            fresh.warehouse,
            fresh.last_updated.unwrap_or_default(),
            fresh.updated_by.unwrap_or_default(),
            fresh.rows
        );
    }
    Ok(())
}
