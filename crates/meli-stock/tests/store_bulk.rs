//! 100,000 rows through `apply` on both backends: every row lands, counts are exact, and
//! the time taken is printed (`cargo test --release --test store_bulk -- --nocapture`).
//! Speed itself is the benchmark's to measure; here, on PostgreSQL, the write is held to a
//! few dozen statements (set-based, never row at a time), counted from sqlx's statement
//! events. SQLite runs its statements on the connection's own thread, where this test's
//! subscriber does not reach, so there the count is only printed.

#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::{IdKind, SellerSchema, TestDb, at, names, stock_writes};
use meli_stock::store::{ItemMapRow, LocationStock, UserProductRead, WriteSet};
use tracing::instrument::WithSubscriber;
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::{Layer, filter::LevelFilter};

const ROWS: usize = 100_000;
const SELLER: u64 = 2_506_482_242;

/// A run as large as a big seller's: every product, its item-map row, a fifth of the user
/// products re-read.
fn full_run(
    run: meli_stock::store::RunId,
    run_at: i64,
    products: &[(String, String)],
    quantity: impl Fn(usize) -> i64,
) -> WriteSet {
    let desired: Vec<(&str, i64)> = products
        .iter()
        .enumerate()
        .map(|(i, p)| (p.0.as_str(), quantity(i)))
        .collect();
    let mut writes = stock_writes(run, SELLER, at(run_at), &desired);
    writes.item_map = products
        .iter()
        .map(|(id, item)| ItemMapRow {
            item_id: item.clone(),
            variation_id: 0,
            user_product_id: Some(format!("U{item}")),
            status: "active".into(),
            sub_status: vec![],
            available_quantity: Some(1),
            inventory_id: None,
            seller_sku: None,
            product_key: Some(item.clone()),
            product_id: Some(id.clone()),
        })
        .collect();
    writes.user_products = products
        .iter()
        .step_by(5)
        .map(|(_, item)| UserProductRead {
            user_product_id: format!("U{item}"),
            item_quantity_at_read: Some(1),
            version: Some(1),
            read_at: at(run_at),
            locations: vec![
                LocationStock {
                    kind: "selling_address".into(),
                    store_id: None,
                    network_node_id: None,
                    quantity: 1,
                },
                LocationStock {
                    kind: "meli_facility".into(),
                    store_id: None,
                    network_node_id: None,
                    quantity: 2,
                },
            ],
        })
        .collect();
    writes
}

/// Counts the statements sqlx reports (its `sqlx::query` events).
#[derive(Clone, Default)]
struct Statements(Arc<AtomicUsize>);

impl<S: Subscriber> Layer<S> for Statements {
    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        if event.metadata().target() == "sqlx::query" {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Most statements one apply of 100k rows may take: the warehouse row, a few per table,
/// and one per 10,000 rows of the large ones. Row at a time would be 100,000 or more.
const MAX_STATEMENTS: usize = 80;

async fn timed(db: &TestDb, label: &str, writes: &WriteSet) -> (Duration, (u64, u64, u64)) {
    let layout = db.store.check_inventory(&names()).await.unwrap();
    let statements = Statements::default();
    let subscriber =
        tracing_subscriber::registry().with(statements.clone().with_filter(LevelFilter::TRACE));
    let started = Instant::now();
    let report = db
        .store
        .apply(&layout, writes)
        .with_subscriber(subscriber)
        .await
        .unwrap();
    let elapsed = started.elapsed();
    let backend = if db.is_postgres() {
        "postgres"
    } else {
        "sqlite"
    };
    let count = statements.0.load(Ordering::Relaxed);
    eprintln!(
        "{backend}: {label}: {} ms, {count} statements seen",
        elapsed.as_millis()
    );
    if db.is_postgres() {
        assert!(
            (3..=MAX_STATEMENTS).contains(&count),
            "{backend}: {label} took {count} statements"
        );
    }
    (
        elapsed,
        (report.rows_written, report.rows_changed, report.rows_zeroed),
    )
}

async fn apply_writes_100k_rows(db: TestDb) {
    // Arrange
    db.create_seller_schema(&SellerSchema::default()).await;
    let products = db.insert_products(IdKind::Bigint, ROWS).await;
    let runs = [
        db.store.start_run(SELLER, at(0), false).await.unwrap(),
        db.store.start_run(SELLER, at(3600), false).await.unwrap(),
        db.store.start_run(SELLER, at(7200), false).await.unwrap(),
    ];
    let n = ROWS as u64;

    // Act + Assert: stock rows only, all new
    let stock_only = stock_writes(
        runs[0],
        SELLER,
        at(0),
        &products
            .iter()
            .map(|p| (p.0.as_str(), 5))
            .collect::<Vec<_>>(),
    );
    let (_, counts) = timed(&db, "100k new stock rows", &stock_only).await;
    assert_eq!(counts, (n, n, 0));

    // A full run changing every quantity, a tenth of them to zero
    let all_changed = full_run(
        runs[1],
        3600,
        &products,
        |i| if i % 10 == 0 { 0 } else { 6 },
    );
    let (_, counts) = timed(&db, "100k changed rows + item map + 20k UPs", &all_changed).await;
    assert_eq!(counts, (n, n, n / 10));

    // A steady-state run: nothing changed
    let unchanged = full_run(
        runs[2],
        7200,
        &products,
        |i| if i % 10 == 0 { 0 } else { 6 },
    );
    let (_, counts) = timed(&db, "100k unchanged rows + item map + 20k UPs", &unchanged).await;
    assert_eq!(counts, (n, 0, 0));

    // Assert: every row is there with the last run's time
    let (_, last_updated, _, count) = db.monitoring_query().await;
    assert_eq!(count, ROWS as i64);
    assert_eq!(last_updated, at(7200));
    let ledger = format!("SELECT COUNT(*) FROM {}", db.state_table("stock_changes"));
    assert_eq!(db.scalar(&ledger).await, 2 * ROWS as i64);
    let state = db.store.load_state(SELLER).await.unwrap();
    assert_eq!(state.items.len(), ROWS);
    assert_eq!(state.user_products.len(), ROWS / 5);

    // The loaders keep up at this size too
    let layout = db.store.check_inventory(&names()).await.unwrap();
    let started = Instant::now();
    let by_item = db.store.load_products(&layout).await.unwrap();
    let (_, stock) = db.store.load_ml_stock(&layout).await.unwrap();
    eprintln!("loaders: {} ms", started.elapsed().as_millis());
    assert_eq!((by_item.len(), stock.len()), (ROWS, ROWS));
}

both_stores!(apply_writes_100k_rows);
