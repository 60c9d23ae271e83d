//! A 10,000-listing catalogue at ML's documented limits (5 requests a second, 100 stock
//! reads a minute), on PostgreSQL: the run makes no call beyond the scan pages, the
//! multigets and the stock reads it chose, and the client's pacing draws no 429.
//!
//! This test takes about two minutes: that is the limit's doing, 601 listing calls at 5 a
//! second.

#![allow(clippy::unwrap_used)]

mod common;

use common::TestDb;
use common::sync_env::SyncEnv;

#[tokio::test]
async fn ten_thousand_listings_at_default_limits_stay_within_the_call_budget() {
    // Arrange: ML's limits on both sides; 30 breakdown reads keep the test short
    let mut env = SyncEnv::new(TestDb::postgres().await, 10_000, 1.0).await;
    env.set("MELI_STOCK_STOCK_READ_BUDGET", "30");
    let keys = env.add_products_for_all_items().await;

    // Act
    let report = env.sync_ok().await;

    // Assert
    let record = &report.record;
    let calls = &record.api_calls;
    eprintln!(
        "10k listings at default limits: {:.1} s, calls {calls:?}, retries {}, 429s {}",
        report.elapsed.as_secs_f64(),
        record.retries,
        record.rate_limited
    );
    assert_eq!(record.items_listed, 10_000);
    assert_eq!(calls["items_search"], 10_000_u64.div_ceil(100) + 1);
    assert_eq!(calls["items"], 10_000_u64.div_ceil(20));
    assert_eq!(calls["user_product_stock"], record.user_products_read);
    assert_eq!(record.user_products_read, 30);
    let total: u64 = calls.values().sum();
    assert_eq!(total, 101 + 500 + 30, "no other call: {calls:?}");
    assert_eq!(record.rate_limited, 0);
    assert_eq!(record.rows_written, keys.len() as u64);
    assert_eq!(env.quantities_by_key().await, env.expected_by_item());
}
