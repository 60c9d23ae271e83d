//! The run ledger on both backends: start/finish round trips, failed runs, listing order
//! and filters, and the last successful run.

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;

use common::{SellerSchema, TestDb, at, names, stock_writes};
use meli_stock::store::{RunId, RunOutcome, RunRecord, StoreError};

const SELLER: u64 = 2_506_482_242;

async fn finished_runs_read_back_as_written(db: TestDb) {
    // Arrange
    let id = db.store.start_run(SELLER, at(0), false).await.unwrap();
    let mut record = RunRecord::started(id, SELLER, at(0), false);
    record.finished_at = Some(at(42));
    record.outcome = RunOutcome::Success;
    record.listing_complete = true;
    record.items_listed = 1200;
    record.items_read = 1199;
    record.user_products_read = 310;
    record.rows_written = 1100;
    record.rows_changed = 17;
    record.rows_zeroed = 2;
    record.unmatched = 5;
    record.disagreements = 1;
    record.api_calls = BTreeMap::from([("items".into(), 60), ("user_product_stock".into(), 310)]);
    record.retries = 3;
    record.rate_limited = 1;

    // Act
    db.store.finish_run(&record).await.unwrap();

    // Assert
    let runs = db.store.recent_runs(Some(SELLER), 10).await.unwrap();
    assert_eq!(runs, vec![record.clone()]);
    assert_eq!(db.store.last_success(SELLER).await.unwrap(), Some(record));
}

async fn finish_run_records_a_failed_run(db: TestDb) {
    // Arrange: a run whose apply fails on an id that is not a bigint
    db.create_seller_schema(&SellerSchema::default()).await;
    let layout = db.store.check_inventory(&names()).await.unwrap();
    let id = db.store.start_run(SELLER, at(0), false).await.unwrap();
    let err = db
        .store
        .apply(&layout, &stock_writes(id, SELLER, at(0), &[("oops", 1)]))
        .await
        .expect_err("apply fails");

    // Act
    let mut record = RunRecord::started(id, SELLER, at(0), false);
    record.outcome = RunOutcome::Failed;
    record.error = Some(err.to_string());
    db.store.finish_run(&record).await.unwrap();

    // Assert
    let runs = db.store.recent_runs(None, 5).await.unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].outcome, RunOutcome::Failed);
    assert!(runs[0].finished_at.is_some(), "finish time defaults to now");
    assert!(runs[0].error.as_deref().unwrap().contains("oops"));
    assert_eq!(db.store.last_success(SELLER).await.unwrap(), None);
}

async fn recent_runs_are_newest_first_and_filtered(db: TestDb) {
    // Arrange: three runs of one seller (one dry, one failed) and one of another
    let mut ids = Vec::new();
    for (seconds, dry_run, outcome) in [
        (0, false, RunOutcome::Success),
        (60, true, RunOutcome::Success),
        (120, false, RunOutcome::Failed),
    ] {
        let id = db
            .store
            .start_run(SELLER, at(seconds), dry_run)
            .await
            .unwrap();
        let mut record = RunRecord::started(id, SELLER, at(seconds), dry_run);
        record.outcome = outcome;
        record.finished_at = Some(at(seconds + 5));
        db.store.finish_run(&record).await.unwrap();
        ids.push(id);
    }
    let other = db.store.start_run(99, at(30), false).await.unwrap();

    // Act
    let mine = db.store.recent_runs(Some(SELLER), 2).await.unwrap();
    let all = db.store.recent_runs(None, 10).await.unwrap();
    let last = db.store.last_success(SELLER).await.unwrap().unwrap();

    // Assert
    assert_eq!(
        mine.iter().map(|r| r.id).collect::<Vec<_>>(),
        vec![ids[2], ids[1]]
    );
    assert_eq!(
        all.iter().map(|r| r.id).collect::<Vec<_>>(),
        vec![ids[2], ids[1], other, ids[0]]
    );
    assert_eq!(all[2].outcome, RunOutcome::Running);
    assert_eq!(
        last.id, ids[0],
        "dry and failed runs are not a last success"
    );
}

async fn finishing_an_unknown_run_is_an_error(db: TestDb) {
    let record = RunRecord::started(RunId(424_242), SELLER, at(0), false);

    let err = db.store.finish_run(&record).await.expect_err("no such run");

    assert!(
        matches!(err, StoreError::RunNotFound(RunId(424_242))),
        "{err}"
    );
}

both_stores!(
    finished_runs_read_back_as_written,
    finish_run_records_a_failed_run,
    recent_runs_are_newest_first_and_filtered,
    finishing_an_unknown_run_is_an_error,
);
