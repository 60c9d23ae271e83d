//! What a run does when it cannot be trusted, on PostgreSQL and SQLite: an incomplete
//! listing, garbage from ML, a mass of zeros, a second concurrent run, failing stock reads
//! and 429 bursts.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::TestDb;
use common::sync_env::{FAST, SyncEnv};
use meli_sim::{ListingKind, SimConfig};
use meli_stock::error::Failure;
use meli_stock::store::RunOutcome;
use meli_stock::sync::SyncOptions;

/// A first run, then sales on ML so that a second run would change rows.
async fn synced_with_pending_changes(db: TestDb, items: usize) -> SyncEnv {
    let env = SyncEnv::new(db, items, FAST).await;
    env.add_products_for_all_items().await;
    env.sync_ok().await;
    for listing in env
        .listings()
        .iter()
        .filter(|l| l.kind == ListingKind::Plain && l.available_quantity > 1)
        .take(5)
    {
        env.sim.sell(&listing.id, 1).unwrap();
    }
    env
}

/// The scan breaks off after two pages: the listing is incomplete, nothing is written and
/// the failed run is recorded.
async fn a_scan_that_breaks_off_writes_nothing(db: TestDb) {
    // Arrange: after the first two pages every scan call fails, beyond the client's retries
    let env = synced_with_pending_changes(db, 500).await;
    let before = env.snapshot().await;
    env.sim
        .faults()
        .for_endpoint("items_search")
        .after(2)
        .fail_next(50, 503);

    // Act
    let failure = env.sync(SyncOptions::default()).await.unwrap_err();

    // Assert
    assert!(matches!(failure, Failure::Run(_)), "{failure}");
    assert_eq!(failure.exit_code(), 1);
    let message = failure.to_string();
    assert!(message.contains("incomplete"), "{message}");
    assert!(message.contains("broke off after 200 items"), "{message}");
    assert_eq!(env.snapshot().await, before, "nothing may be written");
    let run = &env.runs().await[0];
    assert_eq!(run.outcome, RunOutcome::Failed);
    assert!(!run.listing_complete);
    assert!(run.error.as_deref().unwrap().contains("incomplete"));
    assert!(run.api_calls["items_search"] >= 3);
}

/// A multiget body that is not JSON fails the run with a decode error, writing nothing.
async fn garbage_from_ml_fails_the_run_without_writing(db: TestDb) {
    // Arrange: every multiget answer truncated, on every attempt
    let env = synced_with_pending_changes(db, 200).await;
    let before = env.snapshot().await;
    env.sim.faults().for_endpoint("items").malformed_next(1000);

    // Act
    let failure = env.sync(SyncOptions::default()).await.unwrap_err();

    // Assert
    assert_eq!(failure.exit_code(), 1);
    let message = failure.to_string();
    assert!(
        message.contains("items response could not be decoded"),
        "{message}"
    );
    assert!(message.contains("nothing was written"), "{message}");
    assert_eq!(env.snapshot().await, before);
    assert_eq!(env.runs().await[0].outcome, RunOutcome::Failed);
}

/// A run that would zero out more than 20% of the rows is refused; `--allow-mass-zero`
/// lets it through.
async fn the_mass_zero_guard_refuses_until_allowed(db: TestDb) {
    // Arrange: 40 of about 100 rows sell out
    let env = SyncEnv::new(db, 100, FAST).await;
    let keys = env.add_products_for_all_items().await;
    env.sync_ok().await;
    let selling: Vec<_> = env
        .listings()
        .into_iter()
        .filter(|l| l.kind == ListingKind::Plain && l.available_quantity > 0)
        .take(40)
        .collect();
    assert_eq!(selling.len(), 40);
    for listing in &selling {
        env.sim
            .sell(&listing.id, listing.available_quantity)
            .unwrap();
    }
    let before = env.snapshot().await;

    // Act
    let refused = env.sync(SyncOptions::default()).await.unwrap_err();

    // Assert
    let message = refused.to_string();
    assert_eq!(refused.exit_code(), 1);
    assert!(message.contains("--allow-mass-zero"), "{message}");
    assert!(
        message.contains(&format!("of the {} rows", keys.len())),
        "{message}"
    );
    assert_eq!(env.snapshot().await, before);

    // Act
    let allowed = env
        .sync(SyncOptions {
            allow_mass_zero: true,
            ..SyncOptions::default()
        })
        .await
        .unwrap();

    // Assert
    assert_eq!(allowed.record.rows_zeroed, 40);
    let quantities = env.quantities_by_key().await;
    assert!(selling.iter().all(|l| quantities[&l.id] == 0));
}

/// Two runs of one seller at once: one runs, the other stops at once with the lock error.
async fn a_second_concurrent_run_is_turned_away(db: TestDb) {
    // Arrange: a slow simulator, so the first run holds the lock for a while
    let config = SimConfig {
        items: 150,
        latency: Duration::from_millis(60),
        ..SimConfig::default()
    }
    .scaled_limits(FAST);
    let env = SyncEnv::with_sim(db, config).await;
    env.add_products_for_all_items().await;

    // Act
    let (a, b) = tokio::join!(env.sync(SyncOptions::default()), async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        env.sync(SyncOptions::default()).await
    });

    // Assert
    assert!(a.is_ok(), "{:?}", a.err().map(|e| e.to_string()));
    let failure = b.unwrap_err();
    assert!(matches!(failure, Failure::Locked { .. }), "{failure}");
    assert_eq!(failure.exit_code(), 3);
    assert!(failure.to_string().contains("in progress"));
    assert_eq!(
        env.runs().await.len(),
        1,
        "the turned-away run records nothing"
    );
}

/// Stock reads that keep failing do not fail the run: those user products keep the
/// listing's quantity, which is still right.
async fn failing_stock_reads_fall_back_to_the_listing_quantity(db: TestDb) {
    // Arrange: two attempts a request keep the failing reads' backoff short
    let mut env = SyncEnv::new(db, 100, FAST).await;
    env.set("MELI_STOCK_MAX_ATTEMPTS", "2");
    env.add_products_for_all_items().await;
    env.sim
        .faults()
        .for_endpoint("user_product_stock")
        .fail_next(100_000, 500);

    // Act
    let report = env.sync_ok().await;

    // Assert
    assert_eq!(report.record.user_products_read, 0);
    assert_eq!(env.quantities_by_key().await, env.expected_by_item());
    let kept = env
        .db
        .scalar(&format!(
            "SELECT COUNT(*) FROM {}",
            env.db.state_table("user_products")
        ))
        .await;
    assert_eq!(kept, 0, "no breakdown is recorded for a failed read");
}

/// 429 bursts, with and without `Retry-After`, and a 503 are retried; the run completes
/// with the right numbers and counts them.
async fn rate_limits_and_server_errors_are_retried(db: TestDb) {
    // Arrange
    let env = SyncEnv::new(db, 200, FAST).await;
    env.add_products_for_all_items().await;
    let faults = env.sim.faults();
    faults.for_endpoint("items").rate_limit_next(2, Some(1));
    faults.for_endpoint("items").rate_limit_next(1, None);
    faults.for_endpoint("items_search").fail_next(1, 503);

    // Act
    let report = env.sync_ok().await;

    // Assert
    assert_eq!(env.quantities_by_key().await, env.expected_by_item());
    assert_eq!(report.record.rate_limited, 3);
    assert_eq!(report.record.retries, 4);
    assert_eq!(report.record.api_calls["items"], 10 + 3);
    let seen = env.sim.counters();
    assert_eq!(seen.requests.get(&("items".to_owned(), 429)), Some(&3));
}

both_stores!(
    a_scan_that_breaks_off_writes_nothing,
    garbage_from_ml_fails_the_run_without_writing,
    the_mass_zero_guard_refuses_until_allowed,
    a_second_concurrent_run_is_turned_away,
    failing_stock_reads_fall_back_to_the_listing_quantity,
    rate_limits_and_server_errors_are_retried,
);
