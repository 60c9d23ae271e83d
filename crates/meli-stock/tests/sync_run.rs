//! Whole sync runs against the simulator, on PostgreSQL and SQLite: quantities of every kind
//! of listing, a second run after sales, dry runs, the monitoring query and call counts.

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::TestDb;
use common::sync_env::{FAST, SyncEnv};
use meli_sim::ListingKind;
use meli_stock::store::RunOutcome;
use meli_stock::sync::SyncOptions;

/// Every kind of the generator lands with exactly the stock the simulator holds for it.
async fn every_kind_of_listing_lands_with_the_quantity_ml_holds(db: TestDb) {
    // Arrange: products for every listing but four, which stay unmatched
    let env = SyncEnv::new(db, 600, FAST).await;
    let listings = env.listings();
    let kinds: BTreeSet<ListingKind> = listings.iter().map(|l| l.kind).collect();
    assert!(kinds.len() >= 11, "the catalogue misses kinds: {kinds:?}");
    let unmatched: Vec<String> = listings.iter().step_by(150).map(|l| l.id.clone()).collect();
    let keys: Vec<String> = listings
        .iter()
        .map(|l| l.id.clone())
        .filter(|id| !unmatched.contains(id))
        .collect();
    env.add_products(&keys).await;

    // Act
    let report = env.sync_ok().await;

    // Assert: every matched product holds what ML holds for its listing
    let expected: BTreeMap<String, i64> = env
        .expected_by_item()
        .into_iter()
        .filter(|(id, _)| !unmatched.contains(id))
        .collect();
    assert_eq!(env.quantities_by_key().await, expected);
    for kind in [ListingKind::SoldOut, ListingKind::Closed] {
        for listing in listings.iter().filter(|l| l.kind == kind) {
            assert_eq!(
                expected[&listing.id], 0,
                "{kind:?} {} must be 0",
                listing.id
            );
        }
    }
    let paused = listings
        .iter()
        .find(|l| l.kind == ListingKind::PausedBySeller)
        .unwrap();
    assert!(
        expected[&paused.id] > 0,
        "a listing paused by the seller keeps its stock"
    );

    // Assert: the run record
    let record = &report.record;
    assert_eq!(record.outcome, RunOutcome::Success);
    assert!(record.listing_complete);
    assert_eq!(record.items_listed, 600);
    assert_eq!(record.items_read, 600);
    assert_eq!(record.unmatched, unmatched.len() as u64);
    assert_eq!(record.rows_written, keys.len() as u64);
    assert_eq!(record.rows_changed, keys.len() as u64);
    assert_eq!(
        record.api_calls["items_search"], 7,
        "ceil(600/100)+1 scan pages"
    );
    assert_eq!(record.api_calls["items"], 30, "ceil(600/20) multigets");
    let distinct_ups = env.sim.catalogue().user_product_ids();
    assert_eq!(
        record.api_calls["user_product_stock"],
        distinct_ups.len() as u64
    );
    assert_eq!(record.user_products_read, distinct_ups.len() as u64);
    assert_eq!((record.retries, record.rate_limited), (0, 0));

    // Assert: the unmatched items are recorded, and the per-location breakdowns kept
    let report_rows = env
        .db
        .store
        .unmatched(env.sim.config().seller_id)
        .await
        .unwrap();
    let recorded: Vec<String> = report_rows.iter().map(|u| u.row.item_id.clone()).collect();
    assert_eq!(recorded, unmatched);
    let warehouses = env
        .db
        .scalar(&format!(
            "SELECT COUNT(*) FROM {} WHERE location_type = 'seller_warehouse' \
             AND store_id IS NOT NULL",
            env.db.state_table("user_product_stock")
        ))
        .await;
    assert!(warehouses > 0, "multi-origin stores are kept apart");
}

/// Between two runs buyers buy, one listing sells out, one is restocked, one closes and one
/// disappears; the second run changes exactly those rows, to exactly the right values.
async fn a_second_run_changes_exactly_the_rows_that_changed_on_ml(db: TestDb) {
    // Arrange
    let env = SyncEnv::new(db, 300, FAST).await;
    env.add_products_for_all_items().await;
    let first = env.sync_ok().await;
    let before = env.quantities_by_key().await;
    let listings = env.listings();
    let plain: Vec<_> = listings
        .iter()
        .filter(|l| l.kind == ListingKind::Plain && l.available_quantity > 3)
        .collect();
    let shared = listings
        .iter()
        .find(|l| l.kind == ListingKind::SharedClassic)
        .unwrap();
    let sibling = listings
        .iter()
        .find(|l| {
            l.kind == ListingKind::SharedPremium && l.user_product_id == shared.user_product_id
        })
        .unwrap();
    let sold_out = listings
        .iter()
        .find(|l| l.kind == ListingKind::SoldOut)
        .unwrap();

    env.sim.sell(&plain[0].id, 1).unwrap();
    env.sim.sell(&plain[1].id, 2).unwrap();
    env.sim
        .sell(&plain[2].id, plain[2].available_quantity)
        .unwrap();
    env.sim.sell(&shared.id, 1).unwrap();
    env.sim.restock(&sold_out.id, 7).unwrap();
    env.sim.set_status(&plain[3].id, "closed").unwrap();
    env.sim.delete_item(&plain[4].id).unwrap();

    // Act
    let second = env.sync_ok().await;

    // Assert: exactly these rows moved, to these values
    let after = env.quantities_by_key().await;
    let changed: BTreeMap<&String, (i64, i64)> = after
        .iter()
        .filter(|(key, qty)| before.get(*key) != Some(qty))
        .map(|(key, qty)| (key, (before[key], *qty)))
        .collect();
    let q = |id: &str| before[id];
    let expected: BTreeMap<&String, (i64, i64)> = [
        (&plain[0].id, (q(&plain[0].id), q(&plain[0].id) - 1)),
        (&plain[1].id, (q(&plain[1].id), q(&plain[1].id) - 2)),
        (&plain[2].id, (q(&plain[2].id), 0)),
        (&shared.id, (q(&shared.id), q(&shared.id) - 1)),
        (&sibling.id, (q(&sibling.id), q(&sibling.id) - 1)),
        (&sold_out.id, (0, 7)),
        (&plain[3].id, (q(&plain[3].id), 0)),
        (&plain[4].id, (q(&plain[4].id), 0)),
    ]
    .into_iter()
    .collect();
    assert_eq!(changed, expected);
    assert_eq!(
        after.len(),
        before.len(),
        "the gone listing's row is kept, at 0"
    );

    // Assert: the record and the ledger agree, and only changed user products were read
    let record = &second.record;
    assert_eq!(record.rows_changed, expected.len() as u64);
    assert_eq!(record.rows_zeroed, 3);
    let ledger = env
        .db
        .scalar(&format!(
            "SELECT COUNT(*) FROM {} WHERE run_id = {}",
            env.db.state_table("stock_changes"),
            record.id
        ))
        .await;
    assert_eq!(ledger, expected.len() as i64);
    let item_rows_written = env
        .db
        .scalar(&format!(
            "SELECT COUNT(*) FROM {} WHERE written_by_run = {}",
            env.db.state_table("item_map"),
            record.id
        ))
        .await;
    assert_eq!(
        item_rows_written, 7,
        "the item map is written as a delta: the 7 lines that changed, the gone one deleted"
    );
    let gone_rows = env
        .db
        .scalar(&format!(
            "SELECT COUNT(*) FROM {} WHERE item_id = '{}'",
            env.db.state_table("item_map"),
            plain[4].id
        ))
        .await;
    assert_eq!(gone_rows, 0);
    assert!(
        record.user_products_read <= 6,
        "second run read {} user products for 6 changed ones (first run read {})",
        record.user_products_read,
        first.record.user_products_read
    );
}

/// A dry run lists what a real run would change and writes nothing of it.
async fn a_dry_run_lists_the_changes_and_writes_nothing(db: TestDb) {
    // Arrange
    let env = SyncEnv::new(db, 200, FAST).await;
    env.add_products_for_all_items().await;
    env.sync_ok().await;
    let plain = env
        .listings()
        .into_iter()
        .find(|l| l.kind == ListingKind::Plain && l.available_quantity > 2)
        .unwrap();
    env.sim.sell(&plain.id, 2).unwrap();
    let before = env.snapshot().await;

    // Act
    let dry = env
        .sync(SyncOptions {
            dry_run: true,
            ..SyncOptions::default()
        })
        .await
        .unwrap();

    // Assert: the change is listed, nothing is written, the run is recorded as a dry run
    assert_eq!(dry.changes.len(), 1);
    let change = &dry.changes[0];
    assert_eq!(change.item_id.as_deref(), Some(plain.id.as_str()));
    assert_eq!(change.new, change.old.unwrap() - 2);
    assert_eq!(env.snapshot().await, before);
    let runs = env.runs().await;
    assert!(runs[0].dry_run && runs[0].outcome == RunOutcome::Success);
    assert!(
        dry.summary().contains("would change 1 rows"),
        "{}",
        dry.summary()
    );

    // Act: the real run then writes exactly what the dry run listed
    let real = env.sync_ok().await;

    // Assert
    assert_eq!(real.changes, dry.changes);
    assert_eq!(env.quantities_by_key().await[&plain.id], change.new);
}

/// The old script's monitoring query, verbatim, shows the latest run.
async fn the_monitoring_query_returns_the_latest_run(db: TestDb) {
    // Arrange
    let mut env = SyncEnv::new(db, 120, FAST).await;
    let keys = env.add_products_for_all_items().await;
    env.sync_ok().await;
    env.set("MELI_STOCK_UPDATED_BY", "meli-stock-hourly");

    // Act
    let second = env.sync_ok().await;

    // Assert
    let (name, last_updated, updated_by, count) = env.db.monitoring_query().await;
    assert_eq!(name, "Mercado Libre");
    assert_eq!(last_updated, second.record.started_at);
    assert_eq!(updated_by, "meli-stock-hourly");
    assert_eq!(count, keys.len() as i64);
}

/// Matching by SELLER_SKU: a SKU shared by a classic and a premium listing counts its user
/// product once; variations match their own SKUs.
async fn sku_matching_counts_a_shared_user_product_once(db: TestDb) {
    // Arrange
    let mut env = SyncEnv::new(db, 300, FAST).await;
    env.set("MELI_STOCK_MATCH", "sku");
    let listings = env.listings();
    let totals = env.sim.expected_totals();
    let catalogue = env.sim.catalogue();
    let mut expected: BTreeMap<String, BTreeMap<String, i64>> = BTreeMap::new();
    for listing in &listings {
        let closed = listing.status == "closed";
        if listing.variations.is_empty() {
            let (Some(sku), Some(up)) = (&listing.seller_sku, &listing.user_product_id) else {
                continue;
            };
            let quantity = if closed { 0 } else { totals[&listing.id] };
            let units = expected.entry(sku.clone()).or_default();
            let slot = units.entry(up.clone()).or_insert(0);
            *slot = (*slot).max(quantity);
        }
        for variation in &listing.variations {
            let (Some(sku), Some(up)) = (&variation.seller_sku, &variation.user_product_id) else {
                continue;
            };
            let quantity = if closed {
                0
            } else {
                up_total(&catalogue, &env, up)
            };
            expected
                .entry(sku.clone())
                .or_default()
                .insert(up.clone(), quantity);
        }
    }
    let expected: BTreeMap<String, i64> = expected
        .into_iter()
        .map(|(sku, units)| (sku, units.values().sum()))
        .collect();
    let keys: Vec<String> = expected.keys().cloned().collect();
    env.add_products(&keys).await;

    // Act
    env.sync_ok().await;

    // Assert
    assert_eq!(env.quantities_by_key().await, expected);
    let shared = listings
        .iter()
        .find(|l| l.kind == ListingKind::SharedClassic)
        .unwrap();
    let sku = shared.seller_sku.clone().unwrap();
    assert_eq!(
        expected[&sku], totals[&shared.id],
        "one UP, counted once for its SKU"
    );
}

/// The stock a variation's user product holds, from the simulator's catalogue.
fn up_total(catalogue: &meli_sim::Catalogue, env: &SyncEnv, up: &str) -> i64 {
    let listing = catalogue
        .listings
        .iter()
        .find(|l| {
            l.variations
                .iter()
                .any(|v| v.user_product_id.as_deref() == Some(up))
        })
        .unwrap();
    let variation = listing
        .variations
        .iter()
        .find(|v| v.user_product_id.as_deref() == Some(up))
        .unwrap();
    assert!(env.sim.expected_totals().contains_key(&listing.id));
    variation.available_quantity
}

/// Matching per variation: `{item}-{variation}` keys get their variation's stock.
async fn variation_matching_writes_one_row_per_variation(db: TestDb) {
    // Arrange
    let mut env = SyncEnv::new(db, 300, FAST).await;
    env.set("MELI_STOCK_MATCH", "variation");
    let mut expected = BTreeMap::new();
    for listing in env.listings() {
        if listing.variations.is_empty() {
            let quantity = if listing.status == "closed" {
                0
            } else {
                env.sim.expected_totals()[&listing.id]
            };
            expected.insert(listing.id.clone(), quantity);
        }
        for variation in &listing.variations {
            expected.insert(
                format!("{}-{}", listing.id, variation.id),
                variation.available_quantity,
            );
        }
    }
    let keys: Vec<String> = expected.keys().cloned().collect();
    env.add_products(&keys).await;

    // Act
    let report = env.sync_ok().await;

    // Assert
    assert_eq!(env.quantities_by_key().await, expected);
    assert_eq!(report.record.unmatched, 0);
    assert!(
        expected.keys().any(|k| k.contains('-')),
        "the catalogue has variations"
    );
}

/// The seller changes a shared listing's stock with `PUT /items`; ML copies it to the
/// sibling listing only later. A run in between sees the two disagree, reads the user
/// product, writes its real stock to both products and counts the disagreement.
async fn sibling_listings_that_disagree_are_settled_by_the_user_products_stock(db: TestDb) {
    // Arrange: a propagation delay far longer than the run
    let config = meli_sim::SimConfig {
        items: 200,
        sibling_propagation_delay: std::time::Duration::from_secs(3600),
        ..meli_sim::SimConfig::default()
    }
    .scaled_limits(FAST);
    let env = SyncEnv::with_sim(db, config).await;
    env.add_products_for_all_items().await;
    env.sync_ok().await;
    let listings = env.listings();
    let classic = listings
        .iter()
        .find(|l| l.kind == ListingKind::SharedClassic)
        .unwrap();
    let premium = listings
        .iter()
        .find(|l| {
            l.kind == ListingKind::SharedPremium && l.user_product_id == classic.user_product_id
        })
        .unwrap();
    let url = env
        .sim
        .base_url()
        .join(&format!("items/{}", classic.id))
        .unwrap();
    let response = reqwest::Client::new()
        .put(url)
        .bearer_auth(env.sim.credentials().access_token)
        .json(&serde_json::json!({"available_quantity": 77}))
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "{}", response.status());
    let lagging = env
        .listings()
        .into_iter()
        .find(|l| l.id == premium.id)
        .unwrap();
    assert_ne!(
        lagging.available_quantity, 77,
        "the sibling has not caught up yet"
    );

    // Act
    let report = env.sync_ok().await;

    // Assert
    let quantities = env.quantities_by_key().await;
    assert_eq!(quantities[&classic.id], 77);
    assert_eq!(quantities[&premium.id], 77);
    assert_eq!(report.record.disagreements, 1, "the lagging sibling");
    assert_eq!(report.record.user_products_read, 1);
}

/// Two sellers share the database and its ML warehouse: each run writes its own seller's
/// products and leaves the other seller's rows alone.
async fn two_sellers_sharing_the_warehouse_leave_each_other_alone(db: TestDb) {
    // Arrange: seller B sells on another site, so item ids cannot collide
    let env = SyncEnv::new(db, 150, FAST).await;
    let keys_a = env.add_products_for_all_items().await;
    let sim_b = meli_sim::spawn(
        meli_sim::SimConfig {
            items: 80,
            site: "MLA".to_owned(),
            seller_id: 777_000_111,
            seed: 7,
            ..meli_sim::SimConfig::default()
        }
        .scaled_limits(FAST),
    )
    .await
    .unwrap();
    let keys_b: Vec<String> = sim_b
        .catalogue()
        .listings
        .iter()
        .filter(|l| l.kind != ListingKind::Foreign)
        .map(|l| l.id.clone())
        .collect();
    env.add_products(&keys_b).await;
    let config_b = env.config_for(&sim_b);
    let sync_b = || async {
        let client = common::sync_env::client_for(&sim_b, &config_b);
        let options = SyncOptions::default();
        let progress = meli_stock::progress::Progress::hidden();
        meli_stock::sync::run(&env.db.store, &client, &config_b, &options, &progress)
            .await
            .unwrap()
    };

    // Act
    env.sync_ok().await;
    let b = sync_b().await;
    let a = env.sync_ok().await;

    // Assert
    let quantities = env.quantities_by_key().await;
    assert_eq!(quantities.len(), keys_a.len() + keys_b.len());
    assert_eq!(b.record.rows_written, keys_b.len() as u64);
    assert_eq!(
        a.record.rows_changed, 0,
        "seller A's second run zeroes none of B's rows"
    );
    let b_totals = sim_b.expected_totals();
    let closed: Vec<String> = sim_b
        .catalogue()
        .listings
        .iter()
        .filter(|l| l.status == "closed")
        .map(|l| l.id.clone())
        .collect();
    for key in &keys_b {
        let expected = if closed.contains(key) {
            0
        } else {
            b_totals[key]
        };
        assert_eq!(quantities[key], expected, "{key}");
    }
}

both_stores!(
    two_sellers_sharing_the_warehouse_leave_each_other_alone,
    sibling_listings_that_disagree_are_settled_by_the_user_products_stock,
    every_kind_of_listing_lands_with_the_quantity_ml_holds,
    a_second_run_changes_exactly_the_rows_that_changed_on_ml,
    a_dry_run_lists_the_changes_and_writes_nothing,
    the_monitoring_query_returns_the_latest_run,
    sku_matching_counts_a_shared_user_product_once,
    variation_matching_writes_one_row_per_variation,
);
