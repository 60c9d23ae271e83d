//! The per-seller run lock on both backends: exclusive while held (also against another
//! process's store), free again after release or drop, and independent per seller.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::TestDb;
use meli_stock::store::Store;

const SELLER: u64 = 2_506_482_242;

async fn second_lock_waits_for_release(db: TestDb) {
    // Arrange: another process, in effect
    let other = db.reconnect().await;
    let held = db
        .store
        .try_lock_seller(SELLER)
        .await
        .unwrap()
        .expect("free at first");

    // Act
    let same_store = db.store.try_lock_seller(SELLER).await.unwrap();
    let other_store = other.try_lock_seller(SELLER).await.unwrap();
    held.release().await.unwrap();
    let after_release = other.try_lock_seller(SELLER).await.unwrap();

    // Assert
    assert!(same_store.is_none());
    assert!(other_store.is_none());
    let after_release = after_release.expect("free after release");
    assert_eq!(after_release.seller_id(), SELLER);
    assert!(!after_release.is_lost());
}

async fn dropping_the_guard_frees_the_lock(db: TestDb) {
    // Arrange
    let held = db.store.try_lock_seller(SELLER).await.unwrap().unwrap();

    // Act
    drop(held);

    // Assert: the release is asynchronous (socket close or spawned delete)
    assert!(
        eventually_free(&db.store).await,
        "lock still held after drop"
    );
}

async fn sellers_lock_independently(db: TestDb) {
    let first = db.store.try_lock_seller(SELLER).await.unwrap();
    let second = db.store.try_lock_seller(SELLER + 1).await.unwrap();

    assert!(first.is_some());
    assert!(second.is_some());
}

async fn eventually_free(store: &Store) -> bool {
    for _ in 0..50 {
        if let Some(lock) = store.try_lock_seller(SELLER).await.unwrap() {
            lock.release().await.unwrap();
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

both_stores!(
    second_lock_waits_for_release,
    dropping_the_guard_frees_the_lock,
    sellers_lock_independently,
);

#[tokio::test]
async fn sqlite_lease_of_a_crashed_process_expires() {
    // Arrange: a lease row as a crashed process leaves it, expired a second ago
    let db = TestDb::sqlite().await;
    let past = chrono::Utc::now().timestamp_millis() - 1000;
    db.execute(&format!(
        "INSERT INTO meli_stock_seller_locks (seller_id, holder, acquired_at, expires_at) \
         VALUES ({SELLER}, 'crashed', 0, {past})"
    ))
    .await;

    // Act
    let lock = db.store.try_lock_seller(SELLER).await.unwrap();

    // Assert
    assert!(lock.is_some(), "an expired lease must be taken over");
    let holder = db.texts("SELECT holder FROM meli_stock_seller_locks").await;
    assert_ne!(holder[0][0].as_deref(), Some("crashed"));
}

#[tokio::test]
async fn sqlite_lease_of_a_live_process_is_respected() {
    // Arrange: a lease another process renewed a moment ago
    let db = TestDb::sqlite().await;
    let future = chrono::Utc::now().timestamp_millis() + 60_000;
    db.execute(&format!(
        "INSERT INTO meli_stock_seller_locks (seller_id, holder, acquired_at, expires_at) \
         VALUES ({SELLER}, 'alive', 0, {future})"
    ))
    .await;

    // Act
    let lock = db.store.try_lock_seller(SELLER).await.unwrap();

    // Assert
    assert!(lock.is_none());
}

#[tokio::test]
async fn postgres_lock_is_an_advisory_lock_visible_in_pg_locks() {
    // Arrange
    let db = TestDb::postgres().await;

    // Act
    let held = db.store.try_lock_seller(SELLER).await.unwrap().unwrap();
    let advisory = "SELECT COUNT(*) FROM pg_locks WHERE locktype = 'advisory' AND granted \
        AND database = (SELECT oid FROM pg_database WHERE datname = current_database())";
    let while_held = db.scalar(advisory).await;
    held.release().await.unwrap();
    let after = db.scalar(advisory).await;

    // Assert
    assert_eq!(while_held, 1);
    assert_eq!(after, 0);
}
