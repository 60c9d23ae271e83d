//! The stored-token provider from many tasks in one process: one refresh per expiry, a
//! failed commit after ML rotated, and a token expiring in the middle of a run.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use meli_api::ExposeSecret;
use meli_stock::error::Failure;
use meli_stock::progress::Progress;
use meli_stock::sync::{self, SyncOptions};
use meli_stock::tokens::{self, CommitAttempt, CommitHook, ProviderOptions, SellerClient};

use super::helpers::{
    account, assert_one_chain, config, events, prepare_inventory, settings, spawn_sim, token_calls,
    vault,
};
use crate::both_stores;
use crate::common::TestDb;

fn options() -> ProviderOptions {
    ProviderOptions {
        store_retry_delay: Duration::from_millis(10),
        ..ProviderOptions::default()
    }
}

async fn seller(
    store: &meli_stock::store::Store,
    vars: &[(String, String)],
    options: ProviderOptions,
) -> SellerClient {
    let config = config(vars);
    let vault = vault(store).await;
    let seller_id = config.ml.seller_id.unwrap();
    tokens::seller_client(&vault, &config, seller_id, options)
        .await
        .unwrap()
}

async fn twenty_providers_refresh_each_token_once(db: TestDb) {
    // Arrange: 5-second tokens, 20 providers (as 20 processes would hold) on 4 pools
    let sim = spawn_sim(20, Duration::from_secs(5)).await;
    let vars = settings(&sim, &db, true);
    let stores = [
        db.store.clone(),
        db.reconnect().await,
        db.reconnect().await,
        db.reconnect().await,
    ];
    let mut sellers = Vec::new();
    for i in 0..20 {
        sellers.push(seller(&stores[i % stores.len()], &vars, options()).await);
    }

    // Act: every task calls /users/me for 6 seconds, across two expiries
    let deadline = Instant::now() + Duration::from_secs(6);
    let tasks = sellers.into_iter().map(|seller| {
        tokio::spawn(async move {
            let mut calls = 0u32;
            while Instant::now() < deadline {
                seller.client.users_me().await.unwrap();
                calls += 1;
                tokio::time::sleep(Duration::from_millis(25)).await;
            }
            calls
        })
    });
    let calls: u32 = futures::future::join_all(tasks)
        .await
        .into_iter()
        .map(|r| r.unwrap())
        .sum();

    // Assert
    let refreshed = events(&db.store, "refreshed").await;
    assert!(calls >= 20);
    assert_eq!(token_calls(&sim, 400), 0, "no refresh token was used twice");
    assert!(
        refreshed.len() >= 2,
        "tokens were refreshed as they came due"
    );
    assert_eq!(token_calls(&sim, 200), refreshed.len() as u64);
    assert_eq!(
        account(&db.store, &sim).await.refresh_count,
        refreshed.len() as u64
    );
    assert_one_chain(&refreshed);
    let stored = vault(&db.store)
        .await
        .open_pair(&account(&db.store, &sim).await)
        .unwrap();
    assert_eq!(
        stored.refresh_token.unwrap().expose_secret(),
        sim.credentials().refresh_token
    );
}

async fn twenty_concurrent_sync_tasks_share_one_refresh(db: TestDb) {
    // Arrange: the settings' token is due at import, so every run starts by refreshing
    let sim = spawn_sim(40, Duration::from_secs(5)).await;
    prepare_inventory(&db, &sim).await;
    let vars = settings(&sim, &db, true);
    let config = config(&vars);
    let mut sellers = Vec::new();
    for _ in 0..20 {
        sellers.push(seller(&db.store, &vars, options()).await);
    }

    // Act
    // (sync::run's future is not Send, so the runs are polled together on this task)
    let runs = sellers.iter().map(|seller| {
        let options = SyncOptions {
            seller_id: Some(seller.seller_id),
            ..SyncOptions::default()
        };
        let (store, config) = (&db.store, &config);
        async move { sync::run(store, &seller.client, config, &options, &Progress::hidden()).await }
    });
    let results = futures::future::join_all(runs).await;

    // Assert: one run at a time holds the seller; none saw a refused grant
    let mut succeeded = 0;
    for result in results {
        match result {
            Ok(_) => succeeded += 1,
            Err(Failure::Locked { .. }) => {}
            Err(other) => panic!("a run failed: {other}"),
        }
    }
    let refreshed = events(&db.store, "refreshed").await;
    assert!(succeeded >= 1);
    assert_eq!(token_calls(&sim, 400), 0);
    assert_eq!(token_calls(&sim, 200), refreshed.len() as u64);
    assert!(!refreshed.is_empty());
    assert_one_chain(&refreshed);
}

async fn a_failed_commit_keeps_the_rotated_pair_and_the_next_run_works(db: TestDb) {
    // Arrange: the first commit after a refresh fails, as a dropped connection would
    let sim = spawn_sim(40, Duration::from_secs(21_600)).await;
    prepare_inventory(&db, &sim).await;
    let vars = settings(&sim, &db, true);
    let attempts = Arc::new(Mutex::new(Vec::new()));
    let seen = attempts.clone();
    let hook: CommitHook = Arc::new(move |attempt: CommitAttempt| {
        seen.lock().unwrap().push(attempt.attempt);
        if attempt.attempt == 1 {
            Err("injected commit failure".to_owned())
        } else {
            Ok(())
        }
    });
    let first = seller(
        &db.store,
        &vars,
        ProviderOptions {
            commit_hook: Some(hook),
            ..options()
        },
    )
    .await;

    // Act: the first request refreshes the imported token; its first commit fails
    first.client.users_me().await.unwrap();

    // Assert: stored on the retry, ML rotated once
    assert_eq!(*attempts.lock().unwrap(), vec![1, 2]);
    assert_eq!(token_calls(&sim, 200), 1);
    let stored = vault(&db.store)
        .await
        .open_pair(&account(&db.store, &sim).await)
        .unwrap();
    assert_eq!(
        stored.refresh_token.unwrap().expose_secret(),
        sim.credentials().refresh_token
    );
    assert_eq!(events(&db.store, "refreshed").await.len(), 1);

    // Act: the next run, in effect another process, still with the settings' old token
    let next = seller(&db.reconnect().await, &vars, options()).await;
    let report = sync::run(
        &db.store,
        &next.client,
        &config(&vars),
        &SyncOptions::default(),
        &Progress::hidden(),
    )
    .await
    .unwrap();
    next.provider.refresh_now().await.unwrap();

    // Assert
    assert!(report.record.rows_written > 0);
    assert_eq!(token_calls(&sim, 400), 0);
    assert_eq!(token_calls(&sim, 200), 2);
}

async fn an_access_token_expiring_mid_run_is_refreshed_once(db: TestDb) {
    // Arrange: a stored, fresh token; it expires after the run's third multiget
    let sim = spawn_sim(200, Duration::from_secs(21_600)).await;
    prepare_inventory(&db, &sim).await;
    let vars = settings(&sim, &db, true);
    let seller = seller(&db.store, &vars, options()).await;
    seller.client.users_me().await.unwrap();
    assert_eq!(token_calls(&sim, 200), 1);
    sim.faults()
        .for_endpoint("items")
        .expire_access_tokens_after(3);

    // Act
    let report = sync::run(
        &db.store,
        &seller.client,
        &config(&vars),
        &SyncOptions::default(),
        &Progress::hidden(),
    )
    .await
    .unwrap();

    // Assert: requests made with the expired token got 401; one refresh served them all
    assert!(sim.counters().get("items", 401) >= 1);
    assert_eq!(token_calls(&sim, 200), 2);
    assert_eq!(token_calls(&sim, 400), 0);
    assert_eq!(account(&db.store, &sim).await.refresh_count, 2);
    assert!(report.record.rows_written > 0);
    assert_eq!(
        report.record.items_listed,
        sim.catalogue().listings.len() as u64 - foreign(&sim)
    );
}

fn foreign(sim: &meli_sim::SimHandle) -> u64 {
    sim.catalogue()
        .listings
        .iter()
        .filter(|l| l.kind == meli_sim::ListingKind::Foreign)
        .count() as u64
}

both_stores!(
    twenty_providers_refresh_each_token_once,
    twenty_concurrent_sync_tasks_share_one_refresh,
    a_failed_commit_keeps_the_rotated_pair_and_the_next_run_works,
    an_access_token_expiring_mid_run_is_refreshed_once,
);

#[tokio::test]
async fn postgres_commit_failing_in_the_database_after_rotation_is_retried() {
    // Arrange: a deferred trigger makes the first commit that updates an account fail
    // inside PostgreSQL itself
    let db = TestDb::postgres().await;
    let sim = spawn_sim(20, Duration::from_secs(21_600)).await;
    db.execute(
        "CREATE SEQUENCE meli_stock.commits_seen;
         CREATE FUNCTION meli_stock.fail_first_commit() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN
             IF nextval('meli_stock.commits_seen') = 1 THEN
                 RAISE EXCEPTION 'injected commit failure';
             END IF;
             RETURN NULL;
         END $$;
         CREATE CONSTRAINT TRIGGER fail_first_commit AFTER UPDATE ON meli_stock.accounts
             DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
             EXECUTE FUNCTION meli_stock.fail_first_commit();",
    )
    .await;
    let vars = settings(&sim, &db, true);
    let seller = seller(&db.store, &vars, options()).await;

    // Act
    seller.client.users_me().await.unwrap();

    // Assert: three commits updated the account: the refresh (failed), its retry, and the
    // site learnt afterwards; one rotation, stored
    let commits = db
        .scalar("SELECT last_value FROM meli_stock.commits_seen")
        .await;
    assert_eq!(commits, 3);
    assert_eq!(events(&db.store, "refreshed").await.len(), 1);
    assert_eq!(token_calls(&sim, 200), 1);
    let stored = vault(&db.store)
        .await
        .open_pair(&account(&db.store, &sim).await)
        .unwrap();
    assert_eq!(
        stored.refresh_token.unwrap().expose_secret(),
        sim.credentials().refresh_token
    );
}
